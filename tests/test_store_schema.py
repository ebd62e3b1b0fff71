"""One schema per backend (``sql/sqlite_schema.sql``, ``sql/postgresql_schema.sql``), checked
against each other on a real SQLite file and a real PostgreSQL database: the same tables, the
same columns with compatible types, nullability and defaults, the same keys, unique
constraints, indexes and foreign keys."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from hyreka_plugin_amazon.refhost.store.postgres import PgConnection
from hyreka_plugin_amazon.refhost.store.schema import connect

# PostgreSQL's column types and the SQLite type each stands for.
COMPATIBLE = {
    "text": "TEXT",
    "integer": "INTEGER",
    "bigint": "INTEGER",
    "boolean": "INTEGER",  # SQLite keeps flags as 0 and 1
    "bytea": "BLOB",
    "double precision": "REAL",
}
# SQLite numbers the rows of a table without an INTEGER PRIMARY KEY itself (rowid); the
# PostgreSQL schema writes that column out, with a unique index of its own.
IMPLICIT_ROWID = ("orders", "rowid")


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # SQLite's declared type
    not_null: bool
    default: str | None  # as SQL text; "generated" for a key the database numbers


@dataclass
class Shape:
    """What a schema is made of, in terms both backends share."""

    columns: dict[str, list[Column]]
    unique: set[tuple[str, tuple[str, ...]]]  # (table, columns): primary keys and unique ones
    indexes: set[tuple[str, str, tuple[str, ...]]]  # (table, name, columns), not unique
    # (table, column, the table and column it refers to, what a delete there does)
    foreign_keys: set[tuple[str, str, str, str, str]]


def sqlite_shape(path: Path) -> Shape:
    connect(path).close()
    with closing(sqlite3.connect(path)) as db:
        tables = [
            row[0]
            for row in db.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        shape = Shape({}, set(), set(), set())
        for table in tables:
            info = db.execute(f"PRAGMA table_info({table})").fetchall()
            keys = tuple(row[1] for row in sorted((r for r in info if r[5]), key=lambda r: r[5]))
            generated = len(keys) == 1 and any(r[1] == keys[0] and r[2] == "INTEGER" for r in info)
            shape.columns[table] = [
                Column(
                    name=row[1],
                    type=row[2],
                    not_null=bool(row[3]) or row[1] in keys,  # a key is never NULL here
                    default="generated" if generated and row[1] in keys else row[4],
                )
                for row in info
            ]
            if keys:
                shape.unique.add((table, keys))
            for _, name, unique, _origin, _partial in db.execute(f"PRAGMA index_list({table})"):
                columns = tuple(r[2] for r in db.execute(f"PRAGMA index_info({name})"))
                if unique:
                    shape.unique.add((table, columns))
                else:
                    shape.indexes.add((table, name, columns))
            for row in db.execute(f"PRAGMA foreign_key_list({table})"):
                shape.foreign_keys.add((table, row[3], row[2], row[4], row[6]))
    return shape


def postgres_shape(url: str) -> Shape:
    PgConnection(url).close()
    shape = Shape({}, set(), set(), set())
    with psycopg.connect(url) as conn:
        for table, name, data_type, nullable, default in conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable, column_default"
            " FROM information_schema.columns WHERE table_schema = current_schema()"
            " ORDER BY table_name, ordinal_position"
        ):
            if (table, name) == IMPLICIT_ROWID:
                continue
            shape.columns.setdefault(table, []).append(
                Column(
                    name=name,
                    type=COMPATIBLE[data_type],
                    not_null=nullable == "NO",
                    default=_pg_default(default),
                )
            )
        for table, name, unique, columns in conn.execute(
            "SELECT t.relname, i.relname, x.indisunique, ARRAY("
            "  SELECT a.attname FROM unnest(x.indkey) WITH ORDINALITY AS k(attnum, n)"
            "  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum ORDER BY k.n)"
            " FROM pg_index x JOIN pg_class t ON t.oid = x.indrelid"
            " JOIN pg_class i ON i.oid = x.indexrelid"
            " JOIN pg_namespace s ON s.oid = t.relnamespace WHERE s.nspname = current_schema()"
        ):
            if (table, tuple(columns)) == (IMPLICIT_ROWID[0], (IMPLICIT_ROWID[1],)):
                continue
            if unique:
                shape.unique.add((table, tuple(columns)))
            else:
                shape.indexes.add((table, name, tuple(columns)))
        on_delete = {"a": "NO ACTION", "c": "CASCADE", "r": "RESTRICT", "n": "SET NULL"}
        for table, column, to_table, to_column, action in conn.execute(
            "SELECT c.conrelid::regclass::text, a.attname, c.confrelid::regclass::text,"
            " b.attname, c.confdeltype FROM pg_constraint c"
            " JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]"
            " JOIN pg_attribute b ON b.attrelid = c.confrelid AND b.attnum = c.confkey[1]"
            " WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace"
        ):
            shape.foreign_keys.add((table, column, to_table, to_column, on_delete[action]))
    return shape


def _pg_default(default: Any) -> str | None:
    if default is None:
        return None
    text = str(default)
    if text.startswith("nextval("):
        return "generated"
    return text.removesuffix("::text")


@pytest.fixture
def shapes(tmp_path: Path, postgres_url: str) -> tuple[Shape, Shape]:
    return sqlite_shape(tmp_path / "store.sqlite3"), postgres_shape(postgres_url)


def test_both_backends_have_the_same_tables_and_columns(shapes: tuple[Shape, Shape]) -> None:
    sqlite, postgres = shapes
    assert sorted(sqlite.columns) == sorted(postgres.columns)
    for table, columns in sqlite.columns.items():
        assert columns == postgres.columns[table], table
    assert "sync_locks" in sqlite.columns  # the leases are part of the schema


def test_both_backends_have_the_same_keys_indexes_and_foreign_keys(
    shapes: tuple[Shape, Shape],
) -> None:
    sqlite, postgres = shapes
    assert sqlite.unique == postgres.unique
    assert sqlite.indexes == postgres.indexes
    assert sqlite.foreign_keys == postgres.foreign_keys
    assert ("shipments", ("account_id", "package_id")) in sqlite.unique


def test_an_older_database_gets_the_tables_and_columns_added_since(
    tmp_path: Path, postgres_url: str, shapes: tuple[Shape, Shape]
) -> None:
    sqlite, postgres = shapes
    path = tmp_path / "store.sqlite3"
    with closing(sqlite3.connect(path)) as db:  # as an older version left it
        db.execute("ALTER TABLE sync_runs DROP COLUMN warnings")
        db.execute("DROP TABLE sync_locks")
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE sync_runs DROP COLUMN warnings")
        conn.execute("DROP TABLE sync_locks")
    assert sqlite_shape(path) == sqlite
    assert postgres_shape(postgres_url) == postgres
