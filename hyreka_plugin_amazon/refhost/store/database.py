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
from typing import Any, Self

from hyreka_plugin_amazon.refhost.store import fencing
from hyreka_plugin_amazon.refhost.store.checkpointer import Checkpointer
from hyreka_plugin_amazon.refhost.store.errors import StoreDamagedError
from hyreka_plugin_amazon.refhost.store.fencing import Fence
from hyreka_plugin_amazon.refhost.store.schema import DB_FILE, connect, ts
from hyreka_plugin_amazon.refhost.vault import KEY_FILE, Vault

_KEY_CHECK = b"hyreka-amazon key check"
_FERNET_VERSION = b"\x80"  # the first byte of a (base64-decoded) Fernet token
BATCH = 500  # rows read, purged or rotated per query or transaction


class Database:
    """The SQLite connection shared by the store's parts; safe to share by threads."""

    def __init__(
        self, path: Path, vault: Vault, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        """Open (creating when new) the database at ``path``; fails on a wrong vault key."""
        self.path = Path(path)
        self._vault = vault
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._checkpointer = Checkpointer(self.path)
        try:
            self._db = connect(self.path)
        except sqlite3.DatabaseError as exc:
            raise damaged(self.path, exc) from None
        try:
            self._check_key()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise damaged(self.path, exc) from None
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
    ) -> Self:
        """The store of a data folder, with the vault of that folder."""
        path = Path(data_dir) / DB_FILE
        check_not_lost(path)
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
        return f"Store({str(self.path)!r})"

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
    def _write(self, fence: Fence | None = None) -> Iterator[sqlite3.Connection]:
        """A write transaction, after the staged orders are committed; with a ``fence``, it
        commits only while the fence's lease holds (else LeaseLostError, nothing written)."""
        with self._lock:
            self._commit_staged()
            self._forget_lookups()
            with self._transaction() as db:
                fencing.check(db, fence)
                yield db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:  # SQLite ends it itself on a full disk (SQLITE_FULL)
                    self._db.execute("ROLLBACK")
                raise
            try:
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise

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
        return ts(self._clock())

    def _checkpoint(self) -> None:
        """Move the WAL into the database and empty it, so replaced values leave the WAL too."""
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


def check_not_lost(path: Path) -> None:
    """Refuse to start a new, empty store where one existed: the database is missing or
    empty (0 bytes) while its key file or write-ahead log says data was stored there."""
    if path.exists() and path.stat().st_size > 0:
        return
    traces = [p.name for p in (path.with_name(KEY_FILE), Path(f"{path}-wal")) if p.exists()]
    if not traces:
        return  # a new store
    state = "is empty (0 bytes)" if path.exists() else "is missing"
    raise StoreDamagedError(
        "missing",
        str(path),
        f"the database {path} {state}, but {' and '.join(traces)} beside it show that data "
        "was stored there: restore the database from a backup. Nothing was changed; to start "
        f"an empty store on purpose, move {' and '.join(traces)} away first.",
    )


def damaged(path: Path, exc: sqlite3.DatabaseError) -> StoreDamagedError:
    """The error for a database SQLite cannot open or read (SQLite's text names no data)."""
    text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return StoreDamagedError(
            "readonly",
            str(path),
            f"the database {path} cannot be written ({text}): check that its folder is on a "
            "writable file system with free space and that this user may write there. "
            "Nothing was changed.",
        )
    return StoreDamagedError(
        "damaged",
        str(path),
        f"the database {path} is damaged ({text}): restore it from a backup. Nothing was "
        "changed; the damaged file is left as it is.",
    )
