"""The store on PostgreSQL (psycopg 3): the connection, the SQL dialect seam and the migration.

The store's parts write their SQL once, in SQLite's dialect (``?`` and ``:name`` parameters,
``json_each``, ``BEGIN IMMEDIATE``). ``PgConnection`` offers the few methods of a
``sqlite3.Connection`` the store uses and turns each statement into PostgreSQL's dialect once
(``pg_sql``, cached), so SQLite keeps its own code path and speed. The tables are the same as
SQLite's (``PG_SCHEMA``), with PostgreSQL's types: ``BYTEA`` for encrypted values, ``BOOLEAN``
for flags, ``BIGSERIAL`` for ids, and a ``rowid`` column in ``orders`` (SQLite's implicit one).

The vault key never enters the database: it stays in ``HYREKA_AMAZON_KEY`` or the key file of
the data folder, as with SQLite.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from hyreka_plugin_amazon.refhost.store.errors import StoreError
from hyreka_plugin_amazon.refhost.store.schema import ADDED_COLUMNS, ADDITIONS

if TYPE_CHECKING:
    import psycopg

DATABASE_ENV = "HYREKA_AMAZON_DATABASE"
URL_SCHEMES = ("postgresql", "postgres")
PG_SCHEMA_VERSION = 1  # the same tables as SQLite's schema 1

PG_SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE meta (
    name TEXT PRIMARY KEY,
    value BYTEA NOT NULL,
    key_id TEXT NOT NULL
);
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    connector TEXT NOT NULL,
    region TEXT NOT NULL,
    marketplace_ids TEXT NOT NULL,
    client_id TEXT NOT NULL,
    client_secret BYTEA NOT NULL,
    refresh_token BYTEA NOT NULL,
    endpoint TEXT,
    token_url TEXT,
    settings TEXT NOT NULL,
    locale TEXT NOT NULL,
    key_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE orders (
    rowid BIGSERIAL NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    amazon_order_id TEXT NOT NULL,
    status TEXT NOT NULL,
    marketplace_id TEXT,
    fulfillment_channel TEXT,
    currency TEXT,
    purchase_date TEXT,
    last_updated TEXT,
    total TEXT NOT NULL,
    line_count INTEGER NOT NULL,
    country_code TEXT,
    billing_address_missing BOOLEAN NOT NULL,
    payload BYTEA NOT NULL,
    payload_mac BYTEA NOT NULL,
    key_id TEXT NOT NULL,
    closed_at TEXT,
    purged_at TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    PRIMARY KEY (account_id, amazon_order_id)
);
CREATE UNIQUE INDEX orders_by_rowid ON orders (rowid);
CREATE INDEX orders_by_status ON orders (account_id, status);
CREATE TABLE state (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (account_id, key)
);
CREATE TABLE problems (
    id BIGSERIAL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    amazon_order_id TEXT,
    row_number INTEGER,
    column_name TEXT,
    reason TEXT NOT NULL,
    recorded_at TEXT NOT NULL
);
CREATE INDEX problems_by_account ON problems (account_id);
CREATE TABLE sync_runs (
    id BIGSERIAL PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    trigger TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    ok BOOLEAN,
    code TEXT,
    message TEXT,
    created INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    failed_rows INTEGER NOT NULL DEFAULT 0,
    api_calls TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX sync_runs_by_account ON sync_runs (account_id, id);
"""

# Migrations after schema 1: {version: DDL}, applied in order inside the migration's transaction.
PG_MIGRATIONS: dict[int, str] = {}

_MIGRATION_LOCK = 7_146_121_618  # pg_advisory_xact_lock key: one process migrates at a time

_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")
_NAMED_IS_NULL = re.compile(r"(?<![:\w]):([A-Za-z_]\w*) IS NULL")
_JSON_EACH = re.compile(r"json_each\(\?\)")


def is_database_url(text: str) -> bool:
    """Whether ``text`` names a PostgreSQL database (``postgresql://...``)."""
    return urlsplit(text).scheme in URL_SCHEMES


def redacted(url: str) -> str:
    """The URL without its password, for messages and reprs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    return urlunsplit(parts._replace(netloc="***@" + netloc[-1] if len(netloc) == 2 else ""))


@functools.lru_cache(maxsize=512)
def pg_sql(sql: str) -> str:
    """A statement of the store's SQLite dialect in PostgreSQL's.

    ``?`` becomes ``%s``, ``:name`` becomes ``%(name)s``, ``:name IS NULL`` and ``? IS NULL``
    (optional text filters) ``%(name)s::text IS NULL`` and ``%s::text IS NULL``,
    ``json_each(?)`` (a JSON list parameter) ``json_array_elements_text(%s::json)``,
    ``BEGIN IMMEDIATE`` (SQLite's writer lock) a plain ``BEGIN``: PostgreSQL locks the rows
    a transaction writes.
    """
    if sql.strip().upper() == "BEGIN IMMEDIATE":
        return "BEGIN"
    sql = sql.replace("%", "%%")
    sql = _JSON_EACH.sub("json_array_elements_text(%s::json)", sql)
    sql = _NAMED_IS_NULL.sub(r"%(\1)s::text IS NULL", sql)  # the store's optional filters
    sql = sql.replace("? IS NULL", "%s::text IS NULL")
    sql = _NAMED.sub(r"%(\1)s", sql)
    return sql.replace("?", "%s")


class _NoRows:
    """The result of a statement PostgreSQL has no use for (SQLite's PRAGMAs)."""

    rowcount = 0

    def fetchone(self) -> None:
        return None

    def fetchall(self) -> list[Any]:
        return []

    def __iter__(self) -> Iterator[Any]:
        return iter(())


class PgConnection:
    """One psycopg connection behaving as the store uses a ``sqlite3.Connection``.

    Autocommit, so that ``BEGIN``/``COMMIT``/``ROLLBACK`` statements frame the transactions as
    with SQLite; rows are dicts read by column name.
    """

    def __init__(self, url: str) -> None:
        import psycopg
        from psycopg.rows import dict_row

        self.url = url
        try:
            self._conn: psycopg.Connection[dict[str, Any]] = psycopg.connect(
                url, autocommit=True, row_factory=dict_row, connect_timeout=10
            )
        except psycopg.OperationalError as exc:
            raise StoreError(
                f"cannot connect to the database {redacted(url)}: "
                f"{_first_line(exc)}; is the server running and the URL right?",
                text_id="store.pg_connect",
                url=redacted(url),
                detail=_first_line(exc),
            ) from None
        self._lock = threading.RLock()
        try:
            migrate(self._conn)
        except BaseException:
            self._conn.close()
            raise

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
        """Run one statement; returns a cursor (``fetchone``, ``fetchall``, ``rowcount``)."""
        if sql.lstrip().upper().startswith("PRAGMA"):
            return _NoRows()
        with self._lock:
            return self._conn.execute(pg_sql(sql), params or None)

    def executemany(self, sql: str, seq: Sequence[Sequence[Any]]) -> None:
        if not seq:
            return
        with self._lock, self._conn.cursor() as cursor:
            cursor.executemany(pg_sql(sql), seq)

    @property
    def in_transaction(self) -> bool:
        """As ``sqlite3.Connection.in_transaction``: a transaction is open."""
        from psycopg.pq import TransactionStatus

        return self._conn.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        self._conn.close()


def migrate(conn: psycopg.Connection[dict[str, Any]]) -> None:
    """Create the tables of a new database, apply later migrations, refuse a newer schema.

    Several workers may start at once: an advisory lock makes one of them migrate.
    """
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        exists = conn.execute("SELECT to_regclass('schema_version') AS t").fetchone()
        if exists is None or exists["t"] is None:
            for statement in PG_SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (PG_SCHEMA_VERSION,))
            version = PG_SCHEMA_VERSION
        else:
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            version = int(row["version"]) if row else PG_SCHEMA_VERSION
        latest = max([PG_SCHEMA_VERSION, *PG_MIGRATIONS])
        for target in sorted(v for v in PG_MIGRATIONS if v > version):
            conn.execute(PG_MIGRATIONS[target])
            conn.execute("UPDATE schema_version SET version = %s", (target,))
            version = target
        if version <= latest:  # additive tables and columns, as for SQLite (the DDL suits both)
            for statement in ADDITIONS.split(";"):
                if statement.strip():
                    conn.execute(statement)
            for table, column, definition in ADDED_COLUMNS:
                conn.execute(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS {column} {definition}")
    if version > latest:
        raise StoreError(
            f"the database was written by a newer hyreka-plugin-amazon (schema {version}, "
            f"this one knows {latest}); upgrade the package",
            text_id="store.newer_schema",
            version=version,
            known=latest,
        )


def has_key_check(url: str) -> bool:
    """Whether the database at ``url`` already holds encrypted data (a vault key check)."""
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            row = conn.execute("SELECT to_regclass('meta')").fetchone()
            if row is None or row[0] is None:
                return False
            found = conn.execute("SELECT 1 FROM meta WHERE name = 'key_check'").fetchone()
            return found is not None
    except psycopg.OperationalError as exc:
        raise StoreError(
            f"cannot connect to the database {redacted(url)}: {_first_line(exc)}",
            text_id="store.pg_connect",
            url=redacted(url),
            detail=_first_line(exc),
        ) from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
