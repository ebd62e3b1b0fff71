"""The reference host's storage: one SQLite file, secrets and personal data encrypted.

Plain columns hold only what is not personal (ids, status, marketplace, amounts, dates,
country); each order's full record is one encrypted JSON payload, with an HMAC of it
(keyed from the vault) so an unchanged order is recognised without decrypting. Every
encrypted row names the id of the key it is under, which makes key rotation resumable.

``upsert_order`` commits each order. A sync's host services (``HostAdapter``) stage orders
instead (``stage_order``): they are committed together, ``STAGE_ORDERS`` at a time or once the
first has waited ``STAGE_SECONDS``, and before any other write or listing (so before the
sync's ``record_problems`` and ``set_state``: its cursor moves only after every order of the
window is committed); ``get_order`` sees staged orders, ``get_state`` commits nothing. Staged
orders lost in a crash are imported again by the next sync (its cursor did not move).
"""

from __future__ import annotations

import base64
import dataclasses
import hmac
import json
import os
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple

from hyreka_plugin_amazon.contract import (
    Account,
    Address,
    Order,
    OrderLine,
    OrderStatus,
    Problem,
    Progress,
    SyncResult,
    UpsertOutcome,
)
from hyreka_plugin_amazon.refhost.checkpointer import Checkpointer
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.vault import Vault

DB_FILE = "hyreka.sqlite3"
SCHEMA_VERSION = 1
CLOSED_STATUSES = frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED})

_KEY_CHECK = b"hyreka-amazon key check"
_FERNET_VERSION = b"\x80"  # the first byte of a (base64-decoded) Fernet token
_BATCH = 500
KNOWN_IDS = 50_000  # a sync reads at most this many stored order ids up front (a few MB)
STAGE_ORDERS = 2000  # staged orders committed in one transaction (fewer index page writes)
STAGE_SECONDS = 1.0  # the longest a staged order waits for its commit while orders come in
CHECKPOINT_AFTER = 500  # a commit of this many staged orders asks for a background checkpoint

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
    recorded_at TEXT NOT NULL
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
    api_calls TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX sync_runs_by_account ON sync_runs (account_id, id);
"""

# The values come from _order_values() and Store.upsert_order, in this order.
_UPSERT_ORDER = """
INSERT INTO orders (
    account_id, amazon_order_id, created_at, status, marketplace_id, fulfillment_channel,
    currency, purchase_date, last_updated, total, line_count, country_code,
    billing_address_missing, payload, payload_mac, key_id, closed_at, purged_at, updated_at
) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (account_id, amazon_order_id) DO UPDATE SET
    status = excluded.status,
    marketplace_id = excluded.marketplace_id,
    fulfillment_channel = excluded.fulfillment_channel,
    currency = excluded.currency,
    purchase_date = excluded.purchase_date,
    last_updated = excluded.last_updated,
    total = excluded.total,
    line_count = excluded.line_count,
    country_code = excluded.country_code,
    billing_address_missing = excluded.billing_address_missing,
    payload = excluded.payload,
    payload_mac = excluded.payload_mac,
    key_id = excluded.key_id,
    closed_at = excluded.closed_at,
    purged_at = excluded.purged_at,
    updated_at = excluded.updated_at
"""


# What decides an upsert: (payload_mac, key_id, closed_at, purged_at) of the stored row.
_RowState = tuple[bytes, str, str | None, str | None]


class _Staged(NamedTuple):
    """An order waiting for its commit: what ``stage_order`` saw and prepared.

    Atoms only (text, bytes, numbers), no Order objects: the garbage collector stops tracking
    such a tuple at its first look, so the thousands of orders that wait for a commit do not
    lengthen every full collection (at 130,000 orders these had cost ~10% of a sync).
    """

    account_id: str
    amazon_order_id: str
    seen: _RowState | None  # the stored row when staged (None: no row)
    columns: tuple[Any, ...]  # _order_values() of the order as it will be stored
    closed: bool  # its status is shipped or cancelled
    payload: bytes  # the JSON of the order as it will be stored (anonymised when purged)
    mac: bytes

    @classmethod
    def of(
        cls, account_id: str, stored: Order, seen: _RowState | None, payload: bytes, mac: bytes
    ) -> _Staged:
        closed = stored.status in CLOSED_STATUSES
        columns = _order_values(stored)
        return cls(account_id, stored.amazon_order_id, seen, columns, closed, payload, mac)

    def order(self) -> Order:
        """The order as it will be stored, read back from its JSON."""
        return Order.from_dict(json.loads(self.payload))


class StoreError(Exception):
    """The store cannot do what was asked; the message says why."""


class AccountExistsError(StoreError):
    """An account with this name (or id) already exists."""


class AccountNotFoundError(StoreError, LookupError):
    """No account has this name or id."""


@dataclass(frozen=True)
class SyncRun:
    """One sync in the history; ``finished_at`` and ``ok`` are None while it runs."""

    id: int
    account_id: str
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    ok: bool | None
    code: str | None
    message: str | None
    created: int
    updated: int
    unchanged: int
    failed_rows: int
    api_calls: dict[str, int]


class Store:
    """Accounts, orders, per-account state, problems and sync runs; safe to share by threads."""

    def __init__(
        self, path: Path, vault: Vault, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        """Open (creating when new) the database at ``path``; fails on a wrong vault key."""
        self.path = Path(path)
        self._vault = vault
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._staged: dict[tuple[str, str], _Staged] = {}
        self._staged_since = 0.0
        self._known_accounts: set[str] = set()
        # What get_order just found of a row (None: no row), for the stage_order that follows
        self._looked_up: dict[tuple[str, str], _RowState | None] = {}
        self._checkpointer = Checkpointer(self.path)
        if not self.path.exists():
            # SQLite gives the -wal and -shm files the mode of the database file.
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            self._db.row_factory = sqlite3.Row
            for pragma in (
                # A new database gets 16 KB pages (an order row is ~1.3 KB): fewer pages per
                # commit and fewer WAL frames. An existing database keeps its page size.
                "page_size = 16384",
                "journal_mode = WAL",
                "synchronous = NORMAL",
                "foreign_keys = ON",
                "temp_store = MEMORY",
                "secure_delete = FAST",
                "trusted_schema = OFF",
                "busy_timeout = 10000",
            ):
                self._db.execute(f"PRAGMA {pragma}")
            self._migrate()
            self._check_key()
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def open(
        cls,
        data_dir: Path,
        *,
        env: Mapping[str, str] = os.environ,
        clock: Callable[[], datetime] | None = None,
    ) -> Store:
        """The store of a data folder, with the vault of that folder."""
        path = Path(data_dir) / DB_FILE
        # A new key next to existing data would lock that data away: only a new store gets one.
        vault = Vault.open(Path(data_dir), env=env, create=not path.exists())
        return cls(path, vault, clock=clock)

    def close(self) -> None:
        """Commit the staged orders and close the database."""
        with self._lock:
            try:
                self._commit_staged()
            finally:
                self._checkpointer.close()
                self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"

    def mac(self, data: bytes) -> bytes:
        """HMAC-SHA256 under the vault's key: compare secrets later without storing them."""
        return self._vault.mac(data)

    # ----------------------------------------------------------------------------------------
    # Plumbing

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, after the staged orders are committed."""
        with self._lock:
            self._commit_staged()
            self._looked_up.clear()
            with self._transaction() as db:
                yield db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[sqlite3.Row]:
        """Rows of a query, after the staged orders are committed."""
        with self._lock:
            self._commit_staged()
            return self._db.execute(sql, params).fetchall()

    def _peek(self, sql: str, params: Sequence[Any] = ()) -> list[sqlite3.Row]:
        """Rows of a query that staged orders do not affect (the caller checks them)."""
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _now(self) -> str:
        return _ts(self._clock())

    def _migrate(self) -> None:
        with self._write() as db:
            exists = db.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
            ).fetchone()
            if not exists:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
                return
            version = db.execute("SELECT version FROM schema_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"{self.path} was written by a newer hyreka-plugin-amazon (schema {version}, "
                f"this one knows {SCHEMA_VERSION}); upgrade the package"
            )

    def _check_key(self) -> None:
        """Fail at once, before any write, when the vault cannot read this store."""
        row = self._read("SELECT value FROM meta WHERE name = 'key_check'")
        if row:
            self._vault.decrypt(row[0]["value"])
            return
        with self._write() as db:
            db.execute(
                "INSERT INTO meta (name, value, key_id) VALUES ('key_check', ?, ?)",
                (self._vault.encrypt(_KEY_CHECK), self._vault.key_id),
            )

    # ----------------------------------------------------------------------------------------
    # Accounts

    def add_account(self, account: Account) -> None:
        now = self._now()
        try:
            with self._write() as db:
                db.execute(
                    "INSERT INTO accounts (id, name, connector, region, marketplace_ids, client_id,"
                    " client_secret, refresh_token, endpoint, token_url, settings, locale, key_id,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (account.id, account.name, *self._account_values(account), now, now),
                )
        except sqlite3.IntegrityError:
            raise AccountExistsError(
                f"an account named {account.name!r} or with id {account.id!r} already exists"
            ) from None

    def update_account(self, account: Account) -> None:
        try:
            with self._write() as db:
                changed = db.execute(
                    "UPDATE accounts SET name = ?, connector = ?, region = ?, marketplace_ids = ?,"
                    " client_id = ?, client_secret = ?, refresh_token = ?, endpoint = ?,"
                    " token_url = ?, settings = ?, locale = ?, key_id = ?, updated_at = ?"
                    " WHERE id = ?",
                    (account.name, *self._account_values(account), self._now(), account.id),
                ).rowcount
        except sqlite3.IntegrityError:
            raise AccountExistsError(f"an account named {account.name!r} already exists") from None
        if not changed:
            raise AccountNotFoundError(f"no account with id {account.id!r}")

    def _account_values(self, account: Account) -> tuple[Any, ...]:
        return (
            account.connector,
            account.region,
            json.dumps(list(account.marketplace_ids)),
            account.client_id,
            self._vault.encrypt_text(account.client_secret.reveal()),
            self._vault.encrypt_text(account.refresh_token.reveal()),
            account.endpoint,
            account.token_url,
            json.dumps(dict(account.settings)),
            account.locale,
            self._vault.key_id,
        )

    def get_account(self, name_or_id: str) -> Account:
        rows = self._read(
            "SELECT * FROM accounts WHERE id = ? UNION ALL SELECT * FROM accounts WHERE name = ?",
            (name_or_id, name_or_id),
        )
        if not rows:
            raise AccountNotFoundError(f"no account named {name_or_id!r} or with that id")
        return self._account(rows[0])

    def list_accounts(self) -> list[Account]:
        return [self._account(row) for row in self._read("SELECT * FROM accounts ORDER BY name")]

    def remove_account(self, name_or_id: str) -> None:
        """Remove the account with its orders, state, problems and sync runs."""
        account_id = self.get_account(name_or_id).id
        with self._write() as db:
            db.execute("DELETE FROM accounts WHERE id = ?", (account_id,))
            self._known_accounts.discard(account_id)

    def _account(self, row: sqlite3.Row) -> Account:
        return Account(
            id=row["id"],
            name=row["name"],
            connector=row["connector"],
            region=row["region"],
            marketplace_ids=tuple(json.loads(row["marketplace_ids"])),
            client_id=row["client_id"],
            client_secret=Secret(self._vault.decrypt_text(row["client_secret"])),
            refresh_token=Secret(self._vault.decrypt_text(row["refresh_token"])),
            endpoint=row["endpoint"],
            token_url=row["token_url"],
            settings=json.loads(row["settings"]),
            locale=row["locale"],
        )

    # ----------------------------------------------------------------------------------------
    # Orders

    def upsert_order(self, account_id: str, order: Order) -> UpsertOutcome:
        """Store the order and commit; "unchanged" (nothing written) when it is identical."""
        try:
            with self._write() as db:
                return self._upsert(db, account_id, order, self._now())
        except sqlite3.IntegrityError:
            raise AccountNotFoundError(f"no account with id {account_id!r}") from None

    def stage_order(self, account_id: str, order: Order) -> UpsertOutcome:
        """Like ``upsert_order``, but the write waits for the next commit of staged orders.

        The outcome is decided now, against the stored order (or the one staged before).
        Staged orders are committed ``STAGE_ORDERS`` at a time, when the first has waited
        ``STAGE_SECONDS`` (checked here), and before any other use of the store.
        """
        with self._lock:
            self._check_account(account_id)
            key = (account_id, order.amazon_order_id)
            earlier = self._staged.get(key)
            if earlier is not None:
                seen = earlier.seen
            elif key in self._looked_up:  # the sync looked it up just before: no need to again
                seen = self._looked_up.pop(key)
            else:
                seen = self._row_state(self._db, *key)
            stored, payload, mac = self._prepare(order, seen)
            if earlier is not None:
                if hmac.compare_digest(earlier.mac, mac):
                    return "unchanged"
                outcome: UpsertOutcome = "updated"
            else:
                outcome = self._outcome(key, seen, payload, mac)
                if outcome == "unchanged":
                    return outcome
                if not self._staged:
                    self._staged_since = time.monotonic()
            self._staged[key] = _Staged.of(account_id, stored, seen, payload, mac)
            if (
                len(self._staged) >= STAGE_ORDERS
                or time.monotonic() - self._staged_since >= STAGE_SECONDS
            ):
                self._commit_staged()
            return outcome

    def _commit_staged(self) -> None:
        """Write the staged orders in one transaction (each as ``upsert_order`` would when its
        row changed since it was staged); they are dropped when that fails."""
        if not self._staged:
            return
        staged, self._staged = self._staged, {}
        self._looked_up.clear()
        now = self._now()
        try:
            with self._transaction() as db:
                rows = self._row_states(db, staged)
                as_seen = [entry for key, entry in staged.items() if rows.get(key) == entry.seen]
                db.executemany(_UPSERT_ORDER, [self._values(e, e.seen, now) for e in as_seen])
                for key, entry in staged.items():
                    if rows.get(key) != entry.seen:  # another process purged, rotated or wrote
                        self._upsert(db, entry.account_id, entry.order(), now)
        except sqlite3.IntegrityError:
            self._known_accounts.clear()
            raise AccountNotFoundError("the account of staged orders was removed") from None
        if len(staged) >= CHECKPOINT_AFTER:
            self._checkpointer.nudge()  # a large sync: move the WAL on while it goes on

    def _check_account(self, account_id: str) -> None:
        if account_id in self._known_accounts:
            return
        if not self._db.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone():
            raise AccountNotFoundError(f"no account with id {account_id!r}")
        self._known_accounts.add(account_id)

    def _upsert(
        self, db: sqlite3.Connection, account_id: str, order: Order, now: str
    ) -> UpsertOutcome:
        """Compare with the stored order and write it when it differs (in a transaction)."""
        seen = self._row_state(db, account_id, order.amazon_order_id)
        stored, payload, mac = self._prepare(order, seen)
        outcome = self._outcome((account_id, order.amazon_order_id), seen, payload, mac)
        if outcome != "unchanged":
            entry = _Staged.of(account_id, stored, seen, payload, mac)
            db.execute(_UPSERT_ORDER, self._values(entry, seen, now))
        return outcome

    def _row_state(
        self, db: sqlite3.Connection, account_id: str, amazon_order_id: str
    ) -> _RowState | None:
        row = db.execute(
            "SELECT payload_mac, key_id, closed_at, purged_at FROM orders"
            " WHERE account_id = ? AND amazon_order_id = ?",
            (account_id, amazon_order_id),
        ).fetchone()
        return None if row is None else (row[0], row[1], row[2], row[3])

    def _row_states(
        self, db: sqlite3.Connection, keys: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], _RowState]:
        """``_row_state`` of many (account id, order id) keys, one query per account."""
        by_account: dict[str, list[str]] = {}
        for account_id, amazon_order_id in keys:
            by_account.setdefault(account_id, []).append(amazon_order_id)
        found: dict[tuple[str, str], _RowState] = {}
        for account_id, ids in by_account.items():
            for row in db.execute(
                "SELECT amazon_order_id, payload_mac, key_id, closed_at, purged_at FROM orders"
                " WHERE account_id = ? AND amazon_order_id IN (SELECT value FROM json_each(?))",
                (account_id, json.dumps(ids)),
            ):
                found[(account_id, row[0])] = (row[1], row[2], row[3], row[4])
        return found

    def _prepare(self, order: Order, seen: _RowState | None) -> tuple[Order, bytes, bytes]:
        """The order as it is stored, its payload and the payload's MAC."""
        if seen is not None and seen[3] and order.status in CLOSED_STATUSES:
            # Its personal data is purged; a report overlap must not bring it back.
            order = anonymised(order)
        payload = _order_json(order)
        return order, payload, self._vault.mac(payload)

    def _outcome(
        self, key: tuple[str, str], seen: _RowState | None, payload: bytes, mac: bytes
    ) -> UpsertOutcome:
        if seen is None:
            return "created"
        if seen[1] == self._vault.key_id:
            return "unchanged" if hmac.compare_digest(seen[0], mac) else "updated"
        (sealed,) = self._db.execute(  # stored under an older key, mid-rotation
            "SELECT payload FROM orders WHERE account_id = ? AND amazon_order_id = ?", key
        ).fetchone()
        return "unchanged" if json.loads(self._unseal(sealed)) == json.loads(payload) else "updated"

    def _values(self, entry: _Staged, row: _RowState | None, now: str) -> tuple[Any, ...]:
        """The parameters of ``_UPSERT_ORDER`` for an order whose stored row is ``row``."""
        closed = entry.closed
        closed_at = ((row[2] if row is not None else None) or now) if closed else None
        purged_at = row[3] if row is not None and closed else None  # kept while anonymised
        return (
            entry.account_id,
            entry.amazon_order_id,
            now,
            *entry.columns,
            self._seal(entry.payload),
            entry.mac,
            self._vault.key_id,
            closed_at,
            purged_at,
            now,
        )

    def get_order(
        self, account_id: str, amazon_order_id: str, *, stored: Collection[str] | None = None
    ) -> Order | None:
        """The stored order (or the staged one), or None.

        ``stored``: the account's ids from ``stored_order_ids``; an id not in it is taken as
        not stored without asking SQLite (if another process stores it meanwhile, the commit
        of staged orders finds it and writes over it, as with any order staged as new).
        """
        key = (account_id, amazon_order_id)
        with self._lock:
            staged = self._staged.get(key)
            if staged is not None:
                return staged.order()
            if stored is not None and amazon_order_id not in stored:
                rows = []
            else:
                rows = self._peek(
                    "SELECT payload, payload_mac, key_id, closed_at, purged_at FROM orders"
                    " WHERE account_id = ? AND amazon_order_id = ?",
                    key,
                )
            if len(self._looked_up) >= 2 * STAGE_ORDERS:
                self._looked_up.clear()
            # stage_order trusts this row state (the commit of staged orders checks it again)
            self._looked_up[key] = (
                (rows[0][1], rows[0][2], rows[0][3], rows[0][4]) if rows else None
            )
            if not rows:
                return None
        return self._order(rows[0]["payload"])

    def stored_order_ids(self, account_id: str, limit: int) -> set[str] | None:
        """The ids of the account's stored orders, or None when there are more than ``limit``."""
        rows = self._read(
            "SELECT amazon_order_id FROM orders WHERE account_id = ? LIMIT ?",
            (account_id, limit + 1),
        )
        return {row[0] for row in rows} if len(rows) <= limit else None

    def list_orders(
        self, *, account_id: str | None = None, status: OrderStatus | None = None
    ) -> list[Order]:
        """The orders, in the order they were first stored."""
        return list(self.iter_orders(account_id=account_id, status=status))

    def iter_orders(
        self,
        *,
        account_id: str | None = None,
        status: OrderStatus | None = None,
        batch_size: int = _BATCH,
    ) -> Iterator[Order]:
        """Like ``list_orders``, fetching ``batch_size`` rows at a time."""
        last = 0
        while True:
            rows = self._read(
                "SELECT rowid, payload FROM orders WHERE rowid > :last"
                " AND (:account IS NULL OR account_id = :account)"
                " AND (:status IS NULL OR status = :status)"
                " ORDER BY rowid LIMIT :limit",
                {
                    "last": last,
                    "account": account_id,
                    "status": status.value if status else None,
                    "limit": batch_size,
                },
            )
            if not rows:
                return
            for row in rows:
                yield self._order(row["payload"])
            last = rows[-1]["rowid"]

    def order_ids_by_status(self, account_id: str, statuses: Collection[OrderStatus]) -> set[str]:
        rows = self._read(
            "SELECT amazon_order_id FROM orders WHERE account_id = ?"
            " AND status IN (SELECT value FROM json_each(?))",
            (account_id, json.dumps([OrderStatus(s).value for s in statuses])),
        )
        return {row["amazon_order_id"] for row in rows}

    def _order(self, sealed: bytes) -> Order:
        return Order.from_dict(json.loads(self._unseal(sealed)))

    def _seal(self, payload: bytes) -> bytes:
        """An order payload encrypted (AES-256-GCM, ``Vault.seal``)."""
        return self._vault.seal(payload)

    def _unseal(self, sealed: bytes) -> bytes:
        if sealed[:1] == _FERNET_VERSION:  # older stores: a zlib payload in a binary Fernet token
            return zlib.decompress(self._vault.decrypt(base64.urlsafe_b64encode(sealed)))
        return self._vault.decrypt(sealed)

    # ----------------------------------------------------------------------------------------
    # Per-account state and problems

    def get_state(self, account_id: str, key: str) -> str | None:
        rows = self._peek(
            "SELECT value FROM state WHERE account_id = ? AND key = ?", (account_id, key)
        )
        return rows[0]["value"] if rows else None

    def set_state(self, account_id: str, key: str, value: str | None) -> None:
        """Store (None: remove) the value, committed at once."""
        with self._write() as db:
            if value is None:
                db.execute("DELETE FROM state WHERE account_id = ? AND key = ?", (account_id, key))
            else:
                db.execute(
                    "INSERT INTO state (account_id, key, value) VALUES (?, ?, ?)"
                    " ON CONFLICT (account_id, key) DO UPDATE SET value = excluded.value",
                    (account_id, key, value),
                )

    def record_problems(self, account_id: str, problems: Sequence[Problem]) -> None:
        """Replace the account's open problems with these."""
        now = self._now()
        with self._write() as db:
            db.execute("DELETE FROM problems WHERE account_id = ?", (account_id,))
            db.executemany(
                "INSERT INTO problems (account_id, amazon_order_id, row_number, column_name,"
                " reason, recorded_at) VALUES (?, ?, ?, ?, ?, ?)",
                [(account_id, p.amazon_order_id, p.row, p.column, p.reason, now) for p in problems],
            )

    def list_problems(self, account_id: str) -> list[Problem]:
        rows = self._read(
            "SELECT amazon_order_id, row_number, column_name, reason FROM problems"
            " WHERE account_id = ? ORDER BY id",
            (account_id,),
        )
        return [
            Problem(
                reason=row["reason"],
                amazon_order_id=row["amazon_order_id"],
                row=row["row_number"],
                column=row["column_name"],
            )
            for row in rows
        ]

    def dismiss_problem(self, account_id: str, amazon_order_id: str) -> None:
        """Unlist the order's problems (the connector records the dismissal: dismiss_problem)."""
        with self._write() as db:
            db.execute(
                "DELETE FROM problems WHERE account_id = ? AND amazon_order_id = ?",
                (account_id, amazon_order_id),
            )

    # ----------------------------------------------------------------------------------------
    # Sync runs

    def start_run(self, account_id: str, trigger: str) -> int:
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO sync_runs (account_id, trigger, started_at) VALUES (?, ?, ?)",
                (account_id, trigger, self._now()),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def finish_run(self, run_id: int, result: SyncResult) -> None:
        """Record the outcome; ``result.message`` must not carry personal data."""
        with self._write() as db:
            changed = db.execute(
                "UPDATE sync_runs SET finished_at = ?, ok = ?, code = ?, message = ?, created = ?,"
                " updated = ?, unchanged = ?, failed_rows = ?, api_calls = ? WHERE id = ?",
                (
                    self._now(),
                    result.ok,
                    result.code,
                    result.message,
                    result.created,
                    result.updated,
                    result.unchanged,
                    result.failed_rows,
                    json.dumps(result.api_calls, sort_keys=True),
                    run_id,
                ),
            ).rowcount
        if not changed:
            raise StoreError(f"no sync run with id {run_id}")

    def list_runs(self, account_id: str | None = None, limit: int = 20) -> list[SyncRun]:
        """The latest runs, newest first."""
        rows = self._read(
            "SELECT * FROM sync_runs WHERE (:account IS NULL OR account_id = :account)"
            " ORDER BY id DESC LIMIT :limit",
            {"account": account_id, "limit": limit},
        )
        return [
            SyncRun(
                id=row["id"],
                account_id=row["account_id"],
                trigger=row["trigger"],
                started_at=_dt(row["started_at"]),
                finished_at=_dt(row["finished_at"]) if row["finished_at"] else None,
                ok=None if row["ok"] is None else bool(row["ok"]),
                code=row["code"],
                message=row["message"],
                created=row["created"],
                updated=row["updated"],
                unchanged=row["unchanged"],
                failed_rows=row["failed_rows"],
                api_calls=json.loads(row["api_calls"]),
            )
            for row in rows
        ]

    # ----------------------------------------------------------------------------------------
    # Retention and key rotation

    def purge_personal_data(
        self, *, now: datetime, after_days: int = 30, dry_run: bool = False
    ) -> list[str]:
        """Anonymise shipped and cancelled orders closed more than ``after_days`` ago.

        "Closed" is the order's last update at Amazon, else when the host first saw it closed.
        Addresses keep only their country; buyer e-mail, company and VAT id go; ids, amounts,
        dates, lines and status stay. Returns the affected order ids (``dry_run``: would be).
        """
        cutoff = _ts(now - timedelta(days=after_days))
        rows = self._read(
            "SELECT rowid, amazon_order_id FROM orders WHERE purged_at IS NULL"
            " AND status IN (?, ?) AND COALESCE(last_updated, closed_at) < ? ORDER BY rowid",
            (OrderStatus.SHIPPED.value, OrderStatus.CANCELLED.value, cutoff),
        )
        if dry_run or not rows:
            return [row["amazon_order_id"] for row in rows]
        purged_at = _ts(now)
        for start in range(0, len(rows), _BATCH):
            with self._write() as db:
                for row in rows[start : start + _BATCH]:
                    (payload,) = db.execute(
                        "SELECT payload FROM orders WHERE rowid = ?", (row["rowid"],)
                    ).fetchone()
                    self._rewrite_payload(
                        db, row["rowid"], _order_json(anonymised(self._order(payload)))
                    )
                    db.execute(
                        "UPDATE orders SET purged_at = ? WHERE rowid = ?", (purged_at, row["rowid"])
                    )
        self._checkpoint()
        return [row["amazon_order_id"] for row in rows]

    def rotate_key(self, vault: Vault, *, batch_size: int = _BATCH) -> int:
        """Re-encrypt every value not under ``vault``'s primary key; returns the rows rewritten.

        Each batch commits; after an interruption, call again: rows already under the primary
        key are skipped, the others still decrypt with the old key. The store uses ``vault``
        from now on (once it proved it reads this store).
        """
        key_id = vault.key_id
        with self._write() as db:
            (check,) = db.execute("SELECT value FROM meta WHERE name = 'key_check'").fetchone()
            db.execute(
                "UPDATE meta SET value = ?, key_id = ? WHERE name = 'key_check'",
                (vault.rotate(check), key_id),
            )
        self._vault = vault
        rotated = 0
        with self._write() as db:
            for row in db.execute(
                "SELECT id, client_secret, refresh_token FROM accounts WHERE key_id != ?",
                (key_id,),
            ).fetchall():
                db.execute(
                    "UPDATE accounts SET client_secret = ?, refresh_token = ?, key_id = ?"
                    " WHERE id = ?",
                    (vault.rotate(row[1]), vault.rotate(row[2]), key_id, row[0]),
                )
                rotated += 1
        last = 0
        while True:
            with self._write() as db:
                rows = db.execute(
                    "SELECT rowid, payload FROM orders WHERE rowid > ? AND key_id != ?"
                    " ORDER BY rowid LIMIT ?",
                    (last, key_id, batch_size),
                ).fetchall()
                for rowid, payload in rows:
                    self._rewrite_payload(db, rowid, self._unseal(payload))
            if not rows:
                break
            rotated += len(rows)
            last = rows[-1][0]
        self._checkpoint()
        return rotated

    def _rewrite_payload(self, db: sqlite3.Connection, rowid: int, payload: bytes) -> None:
        vault = self._vault
        db.execute(
            "UPDATE orders SET payload = ?, payload_mac = ?, key_id = ?, updated_at = ?"
            " WHERE rowid = ?",
            (self._seal(payload), vault.mac(payload), vault.key_id, self._now(), rowid),
        )

    def _checkpoint(self) -> None:
        """Move the WAL into the database and empty it, so replaced values leave the WAL too."""
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


class HostAdapter:
    """The host services for one sync on top of a Store.

    All of hookspecs.HostServices except ``map_address``, which needs the host's plugin
    manager: the host subclasses this and adds it.
    """

    def __init__(
        self,
        store: Store,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        cancel_event: threading.Event | None = None,
    ) -> None:
        self._store = store
        self._on_progress = on_progress
        self._cancel_event = cancel_event
        self._stored: dict[str, set[str] | None] = {}  # per account, see get_order

    def upsert_order(self, account_id: str, order: Order) -> UpsertOutcome:
        """Staged: committed with the next orders, at the latest by ``set_state``."""
        outcome = self._store.stage_order(account_id, order)
        stored = self._stored.get(account_id)
        if stored is not None:
            stored.add(order.amazon_order_id)
        return outcome

    def get_order(self, account_id: str, amazon_order_id: str) -> Order | None:
        """Answers "not stored" from the ids read at the sync's first look-up (a query per
        order otherwise, ~7 us) and the orders staged since, unless the account has more than
        ``KNOWN_IDS`` orders."""
        if account_id not in self._stored:
            self._stored[account_id] = self._store.stored_order_ids(account_id, KNOWN_IDS)
        stored = self._stored[account_id]
        return self._store.get_order(account_id, amazon_order_id, stored=stored)

    def get_state(self, account_id: str, key: str) -> str | None:
        return self._store.get_state(account_id, key)

    def set_state(self, account_id: str, key: str, value: str | None) -> None:
        self._store.set_state(account_id, key, value)

    def record_problems(self, account_id: str, problems: Sequence[Problem]) -> None:
        self._store.record_problems(account_id, problems)

    def report_progress(self, progress: Progress) -> None:
        if self._on_progress is not None:
            self._on_progress(progress)

    def cancel_requested(self, account_id: str) -> bool:
        return self._cancel_event is not None and self._cancel_event.is_set()


def anonymised(order: Order) -> Order:
    """The order without personal data: addresses keep only their country."""
    return dataclasses.replace(
        order,
        billing_address=_country_only(order.billing_address),
        shipping_address=_country_only(order.shipping_address),
        buyer_email=None,
        buyer_company_name=None,
        buyer_tax_registration_id=None,
    )


def _country_only(address: Address | None) -> Address | None:
    if address is None:
        return None
    return Address(None, (), None, None, address.country_code)


def _order_values(order: Order) -> tuple[Any, ...]:
    address = order.shipping_address or order.billing_address
    return (
        order.status.value,
        order.marketplace_id,
        order.fulfillment_channel,
        order.currency,
        _ts(order.purchase_date) if order.purchase_date else None,
        _ts(order.last_updated) if order.last_updated else None,
        format(order.total, "f"),
        len(order.lines),
        address.country_code if address else None,
        order.billing_address_missing,
    )


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # made once: faster


_str = json.encoder.encode_basestring  # what _ENCODER uses for strings (ensure_ascii=False)


def _text(value: str | None) -> str:
    return "null" if value is None else _str(value)


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return _str(value)
    if type(value) is int:  # not bool; json writes ints as repr does
        return repr(value)
    return _ENCODER.encode(value)


def _address_json(address: Address | None) -> str:
    if address is None:
        return "null"
    lines = ",".join(map(_str, address.lines))
    return (
        f'{{"name":{_text(address.name)},"company":{_text(address.company)},"lines":[{lines}],'
        f'"postal_code":{_text(address.postal_code)},"city":{_text(address.city)},'
        f'"state":{_text(address.state)},"country_code":{_text(address.country_code)},'
        f'"phone":{_text(address.phone)}}}'
    )


def _line_json(line: OrderLine) -> str:
    return (
        f'{{"order_item_id":{_scalar(line.order_item_id)},"sku":{_text(line.sku)},'
        f'"title":{_text(line.title)},"quantity":{_scalar(line.quantity)},'
        f'"item_price":"{line.item_price:f}","item_tax":"{line.item_tax:f}",'
        f'"shipping_price":"{line.shipping_price:f}","shipping_tax":"{line.shipping_tax:f}",'
        f'"item_promotion_discount":"{line.item_promotion_discount:f}",'
        f'"ship_promotion_discount":"{line.ship_promotion_discount:f}"}}'
    )


def _order_json(order: Order) -> bytes:
    """``_dumps(order.as_record())``, byte for byte, without the dicts in between."""
    purchase, updated = order.purchase_date, order.last_updated
    lines = ",".join(map(_line_json, order.lines))
    text = (
        f'{{"amazon_order_id":{_scalar(order.amazon_order_id)},'
        f'"marketplace_id":{_text(order.marketplace_id)},'
        f'"sales_channel":{_text(order.sales_channel)},'
        f'"status":{_str(order.status.value)},'
        f'"fulfillment_channel":{_text(order.fulfillment_channel)},'
        f'"currency":{_text(order.currency)},'
        f'"purchase_date":{_text(purchase.isoformat() if purchase else None)},'
        f'"is_business_order":{"true" if order.is_business_order else "false"},'
        f'"purchase_order_number":{_text(order.purchase_order_number)},'
        f'"buyer_company_name":{_text(order.buyer_company_name)},'
        f'"buyer_tax_registration_id":{_text(order.buyer_tax_registration_id)},'
        f'"buyer_email":{_text(order.buyer_email)},"lines":[{lines}],'
        f'"billing_address":{_address_json(order.billing_address)},'
        f'"shipping_address":{_address_json(order.shipping_address)},'
        f'"last_updated":{_text(updated.isoformat() if updated else None)},'
        f'"billing_address_missing":{"true" if order.billing_address_missing else "false"}}}'
    )
    return text.encode("utf-8")


def _ts(value: datetime) -> str:
    """A sortable UTC text form of an aware datetime."""
    if value.tzinfo is None:
        raise ValueError("datetimes given to the store must be timezone-aware")
    if value.tzinfo is not UTC:  # reports' times are mostly UTC already
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)
