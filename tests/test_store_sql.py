"""The store's SQL seam: each backend's statements written out in its own file
(``sql/sqlite.sql``, ``sql/postgresql.sql``), the same names with the same parameters, run as
written: nothing in a statement or a value is rewritten on the way to the database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from helpers.records import make_account

from hyreka_plugin_amazon.contract import Problem
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV
from hyreka_plugin_amazon.refhost.store import Store
from hyreka_plugin_amazon.refhost.store.postgres import DATABASE_ENV
from hyreka_plugin_amazon.refhost.store.sqlfiles import (
    DIALECTS,
    SqlFileError,
    named_statements,
    queries,
    read,
)

_LITERAL = re.compile(r"'(?:[^']|'')*'")
_PARAMETERS = {  # dialect -> (named parameter, positional parameter)
    "sqlite": (re.compile(r"(?<![:\w]):(\w+)"), re.compile(r"\?")),
    "postgresql": (re.compile(r"%\((\w+)\)s"), re.compile(r"(?<!%)%s")),
}
TRICKY = "where? :x 100% %s %(x)s '; -- \\"  # what a regex rewrite of SQL would have mangled


def parameters(dialect: str, statement: str) -> tuple[set[str], int]:
    """The named parameters of a statement and how many positional ones it has (literals
    left out)."""
    named, positional = _PARAMETERS[dialect]
    bare = _LITERAL.sub("''", statement)
    return set(named.findall(bare)), len(positional.findall(bare))


def test_both_backends_name_the_same_statements_with_the_same_parameters() -> None:
    sqlite = named_statements(read("sqlite.sql"))
    postgres = named_statements(read("postgresql.sql"))
    assert sqlite.keys() == postgres.keys()
    for name, statement in sqlite.items():
        assert parameters("sqlite", statement) == parameters("postgresql", postgres[name]), name
        # each file in its own dialect only
        assert not parameters("postgresql", statement)[0], name
        assert not parameters("sqlite", postgres[name])[0], name
    assert queries("postgresql").begin_write != queries("sqlite").begin_write


def test_a_statement_file_names_each_statement_once() -> None:
    with pytest.raises(SqlFileError, match="twice"):
        named_statements("-- name: a\nSELECT 1;\n-- name: a\nSELECT 2;\n")
    with pytest.raises(SqlFileError, match="2 statements"):
        named_statements("-- name: a\nSELECT 1;\nSELECT 2;\n")
    assert named_statements("-- name: a\n-- a comment\nSELECT 1\n  AS one;\n") == {
        "a": "SELECT 1\n  AS one"
    }


@pytest.fixture(params=DIALECTS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    env = {KEY_ENV: Fernet.generate_key().decode()}
    if request.param == "postgresql":
        env[DATABASE_ENV] = request.getfixturevalue("postgres_url")
    with Store.open(tmp_path, env=env) as opened:
        opened.add_account(make_account())
        yield opened


def test_a_literal_with_question_marks_colons_and_percent_signs_survives(store: Store) -> None:
    literal = {  # the same statement written out in each dialect
        "sqlite": "-- name: echo\nSELECT 'where? :x 100%' AS text, :value AS value;",
        "postgresql": "-- name: echo\nSELECT 'where? :x 100%%' AS text, %(value)s AS value;",
    }
    dialect = "postgresql" if store.is_postgres else "sqlite"
    statement = named_statements(literal[dialect])["echo"]
    row = store._db.execute(statement, {"value": TRICKY}).fetchone()
    assert (row["text"], row["value"]) == ("where? :x 100%", TRICKY)


def test_values_with_question_marks_colons_and_percent_signs_are_stored_as_given(
    store: Store,
) -> None:
    store.set_state("acc-1", TRICKY, TRICKY)
    assert store.get_state("acc-1", TRICKY) == TRICKY
    problem = Problem(reason=TRICKY, amazon_order_id=TRICKY, column=TRICKY, row=1)
    store.record_problems("acc-1", [problem])
    assert store.list_problems("acc-1") == [problem]
    store.dismiss_problem("acc-1", TRICKY)
    assert store.list_problems("acc-1") == []
