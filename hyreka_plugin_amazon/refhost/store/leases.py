"""One sync per account at a time, across threads and processes sharing the host's database.

A lease row per account in the host's database (the table ``sync_locks`` of its schema): taken
in one statement (free, expired or already ours), renewed while the sync runs, released at
the end; a lease whose holder died (no renewal) expires. A
holder's token names its host and process id: when that process is gone from this host (a
``kill -9``), the lease is taken over at once instead of after its expiry, and the new lease
says so (``Lease.taken_over_from``).
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any

from hyreka_plugin_amazon.refhost.store.sqlfiles import Dialect, queries

DEFAULT_TTL_S = 120.0

log = logging.getLogger(__name__)


class AccountBusyError(RuntimeError):
    """Another sync of the same account holds the lease."""

    def __init__(self, account_id: str) -> None:
        super().__init__(f"a sync of account {account_id!r} is already running")
        self.account_id = account_id


class Lease:
    """A held lease, renewed in the background until ``release``; ``lost`` is set when a
    renewal finds it taken over (its holder stalled longer than the lease lasts)."""

    def __init__(
        self, locks: AccountLocks, account_id: str, token: str, taken_over_from: int | None = None
    ) -> None:
        self.account_id = account_id
        self.token = token
        self.taken_over_from = taken_over_from  # pid of a dead holder whose lease this took
        self.lost = threading.Event()
        self._locks = locks
        self._stop = threading.Event()
        self._renewer = threading.Thread(
            target=self._keep_alive, name=f"lease-{account_id}", daemon=True
        )
        self._renewer.start()

    def _keep_alive(self) -> None:
        while not self._stop.wait(self._locks.ttl_s / 3):
            if not self._locks.renew(self.account_id, self.token):
                self.lost.set()
                return

    def release(self) -> None:
        self._stop.set()
        self._renewer.join(timeout=5)
        self._locks.release(self.account_id, self.token)

    def __enter__(self) -> Lease:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"Lease({self.account_id!r})"


class AccountLocks(ABC):
    """Leases on accounts, in the table ``sync_locks`` of the host's database (part of its
    schema): the rules, the same on every backend. A backend runs each statement of its
    dialect alone, in a transaction of its own (``_run``): ``SqliteAccountLocks`` here,
    ``PgAccountLocks`` in ``leases_pg``."""

    def __init__(
        self, dialect: Dialect, *, ttl_s: float = DEFAULT_TTL_S, clock: Callable[[], float]
    ) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self.owner = owner_name()
        self._sql = queries(dialect)

    @abstractmethod
    def _run(self, sql: str, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        """The rows of one statement, run and committed on its own."""

    def try_acquire(self, account_id: str, token: str) -> bool:
        """Take the lease if it is free, expired or its holder's process is gone; True when
        ``token`` now holds it."""
        return self._take(account_id, token)[0]

    def _take(self, account_id: str, token: str) -> tuple[bool, int | None]:
        """(taken, pid of the dead holder whose unexpired lease was taken over, if any)."""
        now = self.clock()
        take = {
            "account_id": account_id,
            "owner": token,
            "expires_at": now + self.ttl_s,
            "now": now,
            "replaces": token,
        }
        if self._run(self._sql.lease_take, take):
            return True, None
        rows = self._run(self._sql.lease_holder, {"account_id": account_id})
        if not rows:  # released meanwhile
            return bool(self._run(self._sql.lease_take, take)), None
        dead = dead_holder(str(rows[0]["owner"]))
        if dead is None:
            return False, None
        if not self._run(self._sql.lease_take, {**take, "replaces": rows[0]["owner"]}):
            return False, None  # someone else took it over first
        log.warning("took over the lease of a sync whose process %d has ended", dead)
        return True, dead

    def renew(self, account_id: str, token: str) -> bool:
        """Extend the lease; False when ``token`` no longer holds it."""
        renew = {"account_id": account_id, "owner": token, "expires_at": self.clock() + self.ttl_s}
        return bool(self._run(self._sql.lease_renew, renew))

    def release(self, account_id: str, token: str) -> None:
        self._run(self._sql.lease_release, {"account_id": account_id, "owner": token})

    def holder(self, account_id: str) -> str | None:
        """Who holds an unexpired lease on the account, or None."""
        rows = self._run(self._sql.lease_holder, {"account_id": account_id})
        if not rows or rows[0]["expires_at"] <= self.clock():
            return None
        return str(rows[0]["owner"])

    def acquire(self, account_id: str) -> Lease | None:
        """The account's lease, renewed until released; None when another holder has it."""
        token = f"{self.owner}:{uuid.uuid4().hex[:8]}"
        taken, dead = self._take(account_id, token)
        if not taken:
            return None
        return Lease(self, account_id, token, taken_over_from=dead)

    @contextmanager
    def hold(self, account_id: str) -> Iterator[Lease]:
        """Hold the account's lease for the block; AccountBusyError if it is taken."""
        lease = self.acquire(account_id)
        if lease is None:
            raise AccountBusyError(account_id)
        with lease:
            yield lease


class SqliteAccountLocks(AccountLocks):
    """Leases in the host's SQLite file, each statement on a connection of its own (a lease
    is renewed while the store's connection is busy with a long commit)."""

    def __init__(
        self, db_path: Path, *, ttl_s: float = DEFAULT_TTL_S, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__("sqlite", ttl_s=ttl_s, clock=clock)
        self.db_path = db_path

    def _run(self, sql: str, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        with closing(sqlite3.connect(self.db_path, timeout=30, isolation_level=None)) as db:
            db.row_factory = sqlite3.Row
            rows: list[Mapping[str, Any]] = db.execute(sql, params).fetchall()
            return rows


def owner_name() -> str:
    """This process's name in lease tokens: host, process id, a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def dead_holder(owner: str) -> int | None:
    """The process id in a lease token of this host whose process no longer exists, or None
    (another host, a live or foreign process, a token not made by ``acquire``)."""
    parts = owner.rsplit(":", 3)
    if len(parts) != 4 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return None
    pid = int(parts[1])
    if pid == os.getpid():
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return pid
    except OSError:  # exists, owned by another user
        return None
    return None
