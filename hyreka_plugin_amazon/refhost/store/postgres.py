"""The store on PostgreSQL (psycopg 3): the connection and the migration.

The store's statements are written out for PostgreSQL in ``sql/postgresql.sql`` and its tables
in ``sql/postgresql_schema.sql`` (beside SQLite's): ``PgConnection`` runs them as they are,
offering the few methods of a ``sqlite3.Connection`` the store uses.

The vault key never enters the database: it stays in ``HYREKA_AMAZON_KEY`` or the key file of
the data folder, as with SQLite.

The database's password is best left out of the URL: libpq (under psycopg) then takes it from
``PGPASSWORD`` or the password file (``PGPASSFILE``, default ``~/.pgpass``), and the host
passes the URL on untouched. Wherever a URL or a driver's message is shown, every form of a
password in it (the URL's user info, a ``password=`` parameter, percent-encoded or not, with
spaces) is masked (``redacted``, ``masked``), and every error of the driver becomes a
``StoreError``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus, unquote, unquote_plus, urlsplit

from hyreka_plugin_amazon.refhost.store.errors import StoreError
from hyreka_plugin_amazon.refhost.store.sqlfiles import ddl

if TYPE_CHECKING:
    import psycopg

DATABASE_ENV = "HYREKA_AMAZON_DATABASE"
URL_SCHEMES = ("postgresql", "postgres")
PG_SCHEMA_VERSION = 2  # the same tables as SQLite's schema 2 (1: before data keys)

# Migrations after schema 1: {version: DDL}, applied in order inside the migration's transaction.
PG_MIGRATIONS: dict[int, str] = {}

_REWRITABLE = frozenset({"account_keys", "order_keys"})  # the tables rewrite_tables takes
_MIGRATION_LOCK = 7_146_121_618  # pg_advisory_xact_lock key: one process migrates at a time


def is_database_url(text: str) -> bool:
    """Whether ``text`` names a PostgreSQL database (``postgresql://...``)."""
    try:
        return urlsplit(text).scheme in URL_SCHEMES
    except ValueError:  # e.g. an unclosed "[" of an IPv6 address
        return text.split("://", 1)[0].lower() in URL_SCHEMES


# Where a password can be in a URL or a libpq connection string, read without a URL parser (a
# URL libpq refuses must be masked as well): the user info up to the last "@", a "password="
# query parameter, a "password=" keyword.
_USER_INFO = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://([^:@]*):(.*)@", re.DOTALL)
_QUERY_PASSWORD = re.compile(r"[?&]password=([^&#]*)", re.IGNORECASE)
_KEYWORD_PASSWORD = re.compile(r"(?:^|\s)password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)
MASK = "***"


def password_forms(url: str) -> list[str]:
    """Every form in which the password of ``url`` can appear in a text (as given, decoded,
    encoded), longest first; empty without a password."""
    found: list[str] = []
    user_info = _USER_INFO.match(url)
    if user_info:
        found.append(user_info.group(2))
    found += _QUERY_PASSWORD.findall(url)
    found += [value.strip("'") for value in _KEYWORD_PASSWORD.findall(url)]
    forms: set[str] = set()
    for given in filter(None, found):
        plain = unquote(given)
        forms |= {given, plain, unquote_plus(given), quote(plain, safe=""), quote_plus(plain)}
    return sorted(filter(None, forms), key=len, reverse=True)


def has_password(url: str) -> bool:
    """Whether ``url`` carries a password (in its user info or a ``password=`` parameter)."""
    return bool(password_forms(url))


def masked(text: str, url: str) -> str:
    """``text`` (a message, the URL itself) with every form of ``url``'s password masked."""
    for form in password_forms(url):
        text = text.replace(form, MASK)
    return text


def redacted(url: str) -> str:
    """The URL without its password (the user stays), for messages and reprs."""
    shown = url
    user_info = _USER_INFO.match(url)
    if user_info:
        shown = shown[: user_info.start(2)] + MASK + shown[user_info.end(2) :]
    shown = _QUERY_PASSWORD.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)] + MASK, shown)
    shown = _KEYWORD_PASSWORD.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)] + MASK, shown)
    return masked(shown, url)  # whatever form is left elsewhere


class PgConnection:
    """One psycopg connection used as the store uses a ``sqlite3.Connection``.

    Autocommit, so that the ``begin_write``/``commit``/``rollback`` statements frame the
    transactions as with SQLite; rows are dicts read by column name.
    """

    def __init__(self, url: str) -> None:
        import psycopg
        from psycopg.rows import dict_row

        self.url = url
        try:
            self._conn: psycopg.Connection[dict[str, Any]] = psycopg.connect(
                url, autocommit=True, row_factory=dict_row, connect_timeout=10
            )
        except (psycopg.Error, ValueError) as exc:  # a refused URL too: never a traceback
            raise connect_error(url, exc) from None
        self._lock = threading.RLock()
        try:
            migrate(self._conn)
        except psycopg.Error as exc:
            self._conn.close()
            raise StoreError(
                f"the database {redacted(url)} cannot be used: {masked(_first_line(exc), url)}",
                text_id="store.pg_failed",
                url=redacted(url),
                detail=masked(_first_line(exc), url),
            ) from None
        except BaseException:
            self._conn.close()
            raise

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
        """Run one statement of ``sql/postgresql.sql`` with its parameters (always passed, so
        that ``%%`` is a percent sign in every statement); returns a cursor (``fetchone``,
        ``fetchall``, ``rowcount``)."""
        with self._lock:
            return self._conn.execute(sql, params)

    def executemany(self, sql: str, seq: Iterable[Sequence[Any] | Mapping[str, Any]]) -> None:
        if isinstance(seq, Sequence) and not seq:
            return  # nothing to write: no pipeline round trip
        with self._lock, self._conn.cursor() as cursor:
            cursor.executemany(sql, seq)

    def rewrite_tables(self, tables: Sequence[str]) -> bool:
        """``VACUUM FULL`` each table (outside a transaction): PostgreSQL writes its live rows
        into a new file and drops the old one, so its dead tuples leave the table files.
        False when the server skipped one (a role that does not own it: it only warns)."""
        import psycopg

        skipped: list[str] = []

        def on_notice(diagnostic: psycopg.errors.Diagnostic) -> None:
            if diagnostic.severity_nonlocalized == "WARNING":
                skipped.append(diagnostic.message_primary or "")

        with self._lock:
            self._conn.add_notice_handler(on_notice)
            try:
                for table in tables:
                    if table not in _REWRITABLE:
                        raise ValueError(f"not a key table: {table!r}")
                    self._conn.execute(f"VACUUM FULL {table}".encode())
            except psycopg.errors.InsufficientPrivilege:
                return False
            finally:
                self._conn.remove_notice_handler(on_notice)
        return not skipped

    @property
    def in_transaction(self) -> bool:
        """As ``sqlite3.Connection.in_transaction``: a transaction is open."""
        from psycopg.pq import TransactionStatus

        return self._conn.info.transaction_status != TransactionStatus.IDLE

    def close(self) -> None:
        self._conn.close()


def migrate(conn: psycopg.Connection[dict[str, Any]]) -> None:
    """Create what is missing of the schema (``sql/postgresql_schema.sql``): every table of a
    new database, the tables and columns added since an older one was made; apply later
    migrations; refuse a newer schema.

    Several workers may start at once: an advisory lock makes one of them migrate.
    """
    schema = ddl("postgresql")
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        exists = conn.execute("SELECT to_regclass('schema_version') AS t").fetchone()
        if exists is None or exists["t"] is None:
            version = PG_SCHEMA_VERSION
            new = True
        else:
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            version = int(row["version"]) if row else PG_SCHEMA_VERSION
            new = False
        latest = max([PG_SCHEMA_VERSION, *PG_MIGRATIONS])
        if version <= latest:
            for statement in schema.creates:
                conn.execute(statement)
            columns = {
                (row["table_name"], row["column_name"])
                for row in conn.execute(
                    "SELECT table_name, column_name FROM information_schema.columns"
                    " WHERE table_schema = current_schema()"
                )
            }
            for added in schema.added_columns:
                if (added.table, added.column) not in columns:
                    conn.execute(added.statement)
            if new:
                conn.execute(
                    "INSERT INTO schema_version (version) VALUES (%s)", (PG_SCHEMA_VERSION,)
                )
            elif version < PG_SCHEMA_VERSION:  # older packages refuse a store they cannot read
                conn.execute("UPDATE schema_version SET version = %s", (PG_SCHEMA_VERSION,))
                version = PG_SCHEMA_VERSION
        for target in sorted(v for v in PG_MIGRATIONS if v > version):
            conn.execute(PG_MIGRATIONS[target])
            conn.execute("UPDATE schema_version SET version = %s", (target,))
            version = target
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
    except (psycopg.Error, ValueError) as exc:
        raise connect_error(url, exc) from None


def connect_error(url: str, exc: BaseException) -> StoreError:
    """The error for a database that cannot be reached with ``url`` (a refused URL, a server
    down, a wrong password), its password masked everywhere."""
    detail = masked(_first_line(exc), url)
    return StoreError(
        f"cannot connect to the database {redacted(url)}: {detail}; is the server running and "
        "the URL right?",
        text_id="store.pg_connect",
        url=redacted(url),
        detail=detail,
    )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
