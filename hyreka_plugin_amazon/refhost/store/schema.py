"""The store's SQLite database: its migration (the tables are in ``sql/sqlite_schema.sql``),
the connection's settings and the text form of the times it stores."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from hyreka_plugin_amazon.refhost.store.errors import StoreError
from hyreka_plugin_amazon.refhost.store.sqlfiles import ddl

DB_FILE = "hyreka.sqlite3"
SCHEMA_VERSION = 2  # 2: data keys (account_keys, order_keys); 1 reads no record of 2
BUSY_TIMEOUT_MS = 10000

_PRAGMAS = (
    # A new database gets 16 KB pages (an order row is ~1.3 KB): fewer pages per commit and
    # fewer WAL frames. An existing database keeps its page size.
    "page_size = 16384",
    "journal_mode = WAL",
    "synchronous = NORMAL",
    "foreign_keys = ON",
    "temp_store = MEMORY",
    # ON, not FAST: FAST leaves freed pages in the file, so a removed account's orders stayed
    # readable with the key. ON overwrites every freed page with zeros.
    "secure_delete = ON",
    "trusted_schema = OFF",
    f"busy_timeout = {BUSY_TIMEOUT_MS}",
)


def connect(path: Path) -> sqlite3.Connection:
    """A connection to the database at ``path`` (created, owner-only, when new), configured
    and migrated to this package's schema."""
    if not path.exists():
        # SQLite gives the -wal and -shm files the mode of the database file.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        db.row_factory = sqlite3.Row
        for pragma in _PRAGMAS:
            db.execute(f"PRAGMA {pragma}")
        _migrate(db, path)
    except BaseException:
        db.close()
        raise
    return db


def _migrate(db: sqlite3.Connection, path: Path) -> None:
    """Create what is missing of the schema (``sql/sqlite_schema.sql``): every table of a new
    database, the tables and columns added since an older one was made; refuse a database
    written by a newer schema."""
    schema = ddl("sqlite")
    db.execute("BEGIN IMMEDIATE")
    try:
        exists = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        if exists:
            version: int = db.execute("SELECT version FROM schema_version").fetchone()["version"]
        else:
            version = SCHEMA_VERSION
        if version <= SCHEMA_VERSION:
            for statement in schema.creates:
                db.execute(statement)
            for added in schema.added_columns:
                have = {row["name"] for row in db.execute(f"PRAGMA table_info({added.table})")}
                if added.column not in have:
                    db.execute(added.statement)
            if not exists:
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            elif version < SCHEMA_VERSION:  # older packages refuse a store they cannot read
                db.execute("UPDATE schema_version SET version = ?", (SCHEMA_VERSION,))
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer hyreka-plugin-amazon (schema {version}, "
            f"this one knows {SCHEMA_VERSION}); upgrade the package",
            text_id="store.newer_schema",
            version=version,
            known=SCHEMA_VERSION,
        )


def ts(value: datetime) -> str:
    """A sortable UTC text form of an aware datetime."""
    if value.tzinfo is None:
        raise ValueError("datetimes given to the store must be timezone-aware")
    if value.tzinfo is not UTC:  # reports' times are mostly UTC already
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")


def dt(value: str) -> datetime:
    """The datetime of a text written by ``ts``."""
    return datetime.fromisoformat(value)
