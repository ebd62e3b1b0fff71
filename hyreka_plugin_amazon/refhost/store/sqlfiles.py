"""The store's SQL, written out once per backend in ``sql/`` beside this module.

Each backend (``Dialect``) has two files, read once per process:

- ``<dialect>_schema.sql``: its tables, keys and indexes (``ddl``);
- ``<dialect>.sql``: every statement the store runs, each under a name (``queries``): the
  same names in both files, each written in its backend's own SQL (parameters, JSON lists,
  locking), never translated from the other.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from importlib import resources
from typing import Literal, NamedTuple

_PACKAGE = "hyreka_plugin_amazon.refhost.store"
Dialect = Literal["sqlite", "postgresql"]
DIALECTS: tuple[Dialect, ...] = ("sqlite", "postgresql")

_ADDED_COLUMN = re.compile(r"ALTER TABLE (\w+) ADD COLUMN (?:IF NOT EXISTS )?(\w+) ")
_STATEMENT_END = re.compile(r";[ \t]*$", re.MULTILINE)


class AddedColumn(NamedTuple):
    """A column added after its table was released: run ``statement`` where it is missing."""

    table: str
    column: str
    statement: str


@dataclass(frozen=True)
class Schema:
    """A backend's DDL: ``creates`` make what is missing; ``added_columns`` bring an older
    database's tables up to date (run only where the column is missing)."""

    creates: tuple[str, ...]
    added_columns: tuple[AddedColumn, ...]


def read(name: str) -> str:
    """The text of ``sql/<name>`` in the installed package."""
    return resources.files(_PACKAGE).joinpath("sql", name).read_text(encoding="utf-8")


def statements(text: str) -> list[str]:
    """The statements of a file: full-line comments dropped, split at a ``;`` ending a line."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return [part.strip() for part in _STATEMENT_END.split("\n".join(lines)) if part.strip()]


@functools.cache
def ddl(dialect: Dialect) -> Schema:
    """The schema of ``dialect`` (read once)."""
    creates: list[str] = []
    added: list[AddedColumn] = []
    for statement in statements(read(f"{dialect}_schema.sql")):
        match = _ADDED_COLUMN.match(statement)
        if match is None:
            creates.append(statement)
        else:
            added.append(AddedColumn(match[1], match[2], statement))
    return Schema(tuple(creates), tuple(added))
