"""The ground floor of the store: one connection, its lock, the vault and the clock.

Every part of the store (accounts, orders, history, maintenance) writes through ``_write`` and
reads through ``_read``, which first commit the orders staged for a commit (see ``orders``).
"""

from __future__ import annotations

import base64
import os
import sqlite3
import threading
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from hyreka_plugin_amazon.refhost.store.checkpointer import Checkpointer
from hyreka_plugin_amazon.refhost.store.errors import StoreError
from hyreka_plugin_amazon.refhost.store.postgres import (
    DATABASE_ENV,
    PgConnection,
    has_key_check,
    is_database_url,
    redacted,
)
from hyreka_plugin_amazon.refhost.store.schema import DB_FILE, connect, ts
from hyreka_plugin_amazon.refhost.vault import Vault

_KEY_CHECK = b"hyreka-amazon key check"
_FERNET_VERSION = b"\x80"  # the first byte of a (base64-decoded) Fernet token
BATCH = 500  # rows read, purged or rotated per query or transaction

Row = Mapping[str, Any]
"""A row read by column name (``sqlite3.Row``, or a dict from PostgreSQL)."""


class Connection(Protocol):
    """What the store uses of a database connection: ``sqlite3.Connection`` or ``PgConnection``."""

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ..., /) -> Any: ...

    def executemany(self, sql: str, seq: Sequence[Sequence[Any]], /) -> Any: ...

    def close(self) -> None: ...


class Database:
    """The connection shared by the store's parts (SQLite, or PostgreSQL when ``path`` is a
    ``postgresql://`` URL); safe to share by threads."""

    def __init__(
        self, path: Path | str, vault: Vault, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        """Open (creating when new) the database at ``path``; fails on a wrong vault key."""
        self.url: str | None = str(path) if is_database_url(str(path)) else None
        self._path = None if self.url is not None else Path(path)
        self._vault = vault
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._checkpointer: Checkpointer | None = None
        self._db: Connection
        if self.url is not None:
            import psycopg

            self._db = PgConnection(self.url)
            self._integrity_errors: tuple[type[Exception], ...] = (psycopg.IntegrityError,)
        else:
            assert self._path is not None
            self._checkpointer = Checkpointer(self._path)
            self._db = connect(self._path)
            self._integrity_errors = (sqlite3.IntegrityError,)
        try:
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
        database: str | None = None,
    ) -> Self:
        """The store of a data folder, with the vault of that folder.

        ``database`` (else ``HYREKA_AMAZON_DATABASE``): a ``postgresql://`` URL to keep the
        data in instead of the folder's SQLite file; the vault key stays out of it.
        """
        url = database or env.get(DATABASE_ENV, "").strip() or None
        if url is not None and not is_database_url(url):
            raise StoreError(
                f"--database / {DATABASE_ENV} must be a postgresql:// URL, not {url[:20]!r}..."
            )
        if url is not None:
            # A new key next to existing data would lock that data away: only a new store
            # gets one.
            vault = Vault.open(Path(data_dir), env=env, create=not has_key_check(url))
            return cls(url, vault, clock=clock)
        path = Path(data_dir) / DB_FILE
        vault = Vault.open(Path(data_dir), env=env, create=not path.exists())
        return cls(path, vault, clock=clock)

    @property
    def path(self) -> Path:
        """The SQLite file; a PostgreSQL store has none (``url``)."""
        if self._path is None:
            raise StoreError("the store is on PostgreSQL: it has no database file")
        return self._path

    @property
    def is_postgres(self) -> bool:
        return self.url is not None

    def close(self) -> None:
        """Commit the staged orders and close the database."""
        with self._lock:
            try:
                self._commit_staged()
            finally:
                if self._checkpointer is not None:
                    self._checkpointer.close()
                self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = redacted(self.url) if self.url is not None else str(self._path)
        return f"Store({where!r})"

    def mac(self, data: bytes) -> bytes:
        """HMAC-SHA256 under the vault's key: compare secrets later without storing them."""
        return self._vault.mac(data)

    # Hooks for the orders part, which stages writes and remembers look-ups between them.

    def _commit_staged(self) -> None:
        """Write what waits for a commit; nothing waits at this level."""

    def _forget_lookups(self) -> None:
        """Drop what was remembered of rows that a write may change; nothing at this level."""

    # Transactions and queries

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """A write transaction, after the staged orders are committed."""
        with self._lock:
            self._commit_staged()
            self._forget_lookups()
            with self._transaction() as db:
                yield db

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Row]:
        """Rows of a query, after the staged orders are committed."""
        with self._lock:
            self._commit_staged()
            rows: list[Row] = self._db.execute(sql, params).fetchall()
            return rows

    def _peek(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        """Rows of a query that staged orders do not affect (the caller checks them)."""
        with self._lock:
            rows: list[Row] = self._db.execute(sql, params).fetchall()
            return rows

    def _now(self) -> str:
        return ts(self._clock())

    def _checkpoint(self) -> None:
        """Move the WAL into the database and empty it, so replaced values leave the WAL too."""
        if self._checkpointer is None:  # PostgreSQL: its own WAL, vacuum and checkpoints
            return
        with self._lock:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")

    # Encryption

    def _check_key(self) -> None:
        """Fail at once, before any write, when the vault cannot read this store."""
        rows = self._read("SELECT value FROM meta WHERE name = 'key_check'")
        if rows:
            self._vault.decrypt(rows[0]["value"])
            return
        with self._write() as db:
            db.execute(
                "INSERT INTO meta (name, value, key_id) VALUES ('key_check', ?, ?)",
                (self._vault.encrypt(_KEY_CHECK), self._vault.key_id),
            )

    def _seal(self, payload: bytes) -> bytes:
        """An order payload encrypted (AES-256-GCM, ``Vault.seal``)."""
        return self._vault.seal(payload)

    def _unseal(self, sealed: bytes) -> bytes:
        if sealed[:1] == _FERNET_VERSION:  # older stores: a zlib payload in a binary Fernet token
            return zlib.decompress(self._vault.decrypt(base64.urlsafe_b64encode(sealed)))
        return self._vault.decrypt(sealed)
