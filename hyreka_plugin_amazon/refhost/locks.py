"""One sync per account at a time, across threads and processes sharing the host's database.

A lease row per account in the same SQLite file: taken in an IMMEDIATE transaction, renewed
while the sync runs, released at the end; a lease whose holder died (no renewal) expires.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

DEFAULT_TTL_S = 120.0


class AccountBusyError(RuntimeError):
    """Another sync of the same account holds the lease."""

    def __init__(self, account_id: str) -> None:
        super().__init__(f"a sync of account {account_id!r} is already running")
        self.account_id = account_id


class AccountLocks:
    """Leases on accounts, stored in the table ``sync_locks`` of the host's SQLite file."""

    def __init__(
        self,
        db_path: Path,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db_path = db_path
        self.ttl_s = ttl_s
        self.clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        with self._connect() as db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS sync_locks ("
                " account_id TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at REAL NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.db_path, timeout=30, isolation_level=None)
        db.execute("PRAGMA busy_timeout = 30000")
        return db

    def try_acquire(self, account_id: str, token: str) -> bool:
        """Take the lease if it is free or expired; True when ``token`` now holds it."""
        now = self.clock()
        db = self._connect()
        try:
            db.execute("BEGIN IMMEDIATE")
            row = db.execute(
                "SELECT owner, expires_at FROM sync_locks WHERE account_id = ?", (account_id,)
            ).fetchone()
            if row is not None and row[0] != token and row[1] > now:
                db.execute("ROLLBACK")
                return False
            db.execute(
                "INSERT INTO sync_locks (account_id, owner, expires_at) VALUES (?, ?, ?)"
                " ON CONFLICT (account_id) DO UPDATE SET owner = excluded.owner,"
                " expires_at = excluded.expires_at",
                (account_id, token, now + self.ttl_s),
            )
            db.execute("COMMIT")
            return True
        finally:
            db.close()

    def renew(self, account_id: str, token: str) -> bool:
        with self._connect() as db:
            cursor = db.execute(
                "UPDATE sync_locks SET expires_at = ? WHERE account_id = ? AND owner = ?",
                (self.clock() + self.ttl_s, account_id, token),
            )
            return cursor.rowcount == 1

    def release(self, account_id: str, token: str) -> None:
        with self._connect() as db:
            db.execute(
                "DELETE FROM sync_locks WHERE account_id = ? AND owner = ?", (account_id, token)
            )

    def holder(self, account_id: str) -> str | None:
        """Who holds an unexpired lease on the account, or None."""
        with self._connect() as db:
            row = db.execute(
                "SELECT owner, expires_at FROM sync_locks WHERE account_id = ?", (account_id,)
            ).fetchone()
        if row is None or row[1] <= self.clock():
            return None
        return str(row[0])

    @contextmanager
    def hold(self, account_id: str) -> Iterator[str]:
        """Hold the account's lease for the block, renewing it; AccountBusyError if taken."""
        token = f"{self.owner}:{uuid.uuid4().hex[:8]}"
        if not self.try_acquire(account_id, token):
            raise AccountBusyError(account_id)
        stop = threading.Event()

        def keep_alive() -> None:
            while not stop.wait(self.ttl_s / 3):
                self.renew(account_id, token)

        renewer = threading.Thread(target=keep_alive, name=f"lease-{account_id}", daemon=True)
        renewer.start()
        try:
            yield token
        finally:
            stop.set()
            renewer.join(timeout=5)
            self.release(account_id, token)
