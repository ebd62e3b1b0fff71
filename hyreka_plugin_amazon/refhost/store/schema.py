"""The store's database: its tables (DDL), their migration, the connection's settings and the
text form of the times it stores."""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from hyreka_plugin_amazon.refhost.store.errors import StoreError

DB_FILE = "hyreka.sqlite3"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 10000

# Columns added within a schema version (table, column, its definition): a database written
# before them gets them when opened; older code ignores them.
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("sync_runs", "warnings", "TEXT NOT NULL DEFAULT '[]'"),
    ("problems", "messages", "TEXT NOT NULL DEFAULT '{}'"),  # the reason in the seller's words
)

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

_SCHEMA = """
CREATE TABLE schema_version (version INTEGER NOT NULL);
CREATE TABLE meta (
    name TEXT PRIMARY KEY,
    value BLOB NOT NULL,        -- encrypted
    key_id TEXT NOT NULL
);
CREATE TABLE accounts (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    connector TEXT NOT NULL,
    region TEXT NOT NULL,
    marketplace_ids TEXT NOT NULL,  -- JSON list
    client_id TEXT NOT NULL,
    client_secret BLOB NOT NULL,    -- encrypted
    refresh_token BLOB NOT NULL,    -- encrypted
    endpoint TEXT,
    token_url TEXT,
    settings TEXT NOT NULL,         -- JSON object, not secret
    locale TEXT NOT NULL,
    key_id TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE orders (
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
    billing_address_missing INTEGER NOT NULL,
    payload BLOB NOT NULL,          -- Order.as_record() JSON, encrypted (Vault.seal)
    payload_mac BLOB NOT NULL,      -- HMAC-SHA256 of the plaintext payload
    key_id TEXT NOT NULL,
    closed_at TEXT,                 -- when the host first saw it shipped or cancelled
    purged_at TEXT,                 -- when its personal data was removed
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (account_id, amazon_order_id)
);
CREATE INDEX orders_by_status ON orders (account_id, status);
CREATE TABLE state (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (account_id, key)
);
CREATE TABLE problems (
    id INTEGER PRIMARY KEY,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    amazon_order_id TEXT,
    row_number INTEGER,
    column_name TEXT,
    reason TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    messages TEXT NOT NULL DEFAULT '{}'  -- JSON: language -> the reason in the seller's words
);
CREATE INDEX problems_by_account ON problems (account_id);
CREATE TABLE sync_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    trigger TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT,
    ok INTEGER,
    code TEXT,
    message TEXT,
    created INTEGER NOT NULL DEFAULT 0,
    updated INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    failed_rows INTEGER NOT NULL DEFAULT 0,
    api_calls TEXT NOT NULL DEFAULT '{}',
    warnings TEXT NOT NULL DEFAULT '[]'  -- JSON list of the seller's warning texts
);
CREATE INDEX sync_runs_by_account ON sync_runs (account_id, id);
"""

# Tables added after schema 1. Each is created when missing, whatever the version: an older
# package ignores a table it does not know, so an additive table needs no version of its own.
ADDITIONS = """
CREATE TABLE IF NOT EXISTS shipments (
    account_id TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    package_id INTEGER NOT NULL,    -- the host's package number, Amazon's packageReferenceId
    amazon_order_id TEXT NOT NULL,
    state TEXT NOT NULL,            -- pending, confirmed or refused
    carrier TEXT NOT NULL,
    carrier_name TEXT,
    shipping_method TEXT,
    tracking_number TEXT NOT NULL,  -- the seller's own shipping data, no buyer's
    ship_date TEXT NOT NULL,
    items TEXT NOT NULL,            -- JSON [[order_item_id, quantity], ...]
    code TEXT,                      -- the last outcome's message id and text
    message TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    confirmed_at TEXT,
    PRIMARY KEY (account_id, package_id)
);
CREATE INDEX IF NOT EXISTS shipments_by_order ON shipments (account_id, amazon_order_id);
CREATE INDEX IF NOT EXISTS shipments_by_state ON shipments (account_id, state);
"""


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
    """Create the tables of a new database; refuse one written by a newer schema."""
    db.execute("BEGIN IMMEDIATE")
    try:
        exists = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        if exists:
            version: int = db.execute("SELECT version FROM schema_version").fetchone()["version"]
            for table, column, definition in ADDED_COLUMNS:
                have = {row["name"] for row in db.execute(f"PRAGMA table_info({table})")}
                if column not in have:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
        else:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    db.execute(statement)
            db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            version = SCHEMA_VERSION
        if version <= SCHEMA_VERSION:
            for statement in ADDITIONS.split(";"):
                if statement.strip():
                    db.execute(statement)
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
