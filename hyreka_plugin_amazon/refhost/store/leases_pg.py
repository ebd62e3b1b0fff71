"""The per-account lease of ``locks`` in a PostgreSQL store: the same rules, one statement each.

A lease is taken with one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` (free, expired or
already ours), so two processes racing for it cannot both win; a lease whose holder's process
is gone from this host is taken over at once, as with SQLite (``locks.dead_holder``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from hyreka_plugin_amazon.refhost.store.leases import (
    DEFAULT_TTL_S,
    AccountLocks,
    dead_holder,
    owner_name,
)

log = logging.getLogger(__name__)

_TAKE = (
    "INSERT INTO sync_locks (account_id, owner, expires_at) VALUES (%s, %s, %s)"
    " ON CONFLICT (account_id) DO UPDATE SET owner = excluded.owner,"
    " expires_at = excluded.expires_at"
    " WHERE sync_locks.expires_at <= %s OR sync_locks.owner = %s OR sync_locks.owner = %s"
    " RETURNING owner"
)


class PgAccountLocks(AccountLocks):
    """Leases on accounts in the table ``sync_locks`` of the host's PostgreSQL database."""

    def __init__(
        self, url: str, *, ttl_s: float = DEFAULT_TTL_S, clock: Callable[[], float] = time.time
    ) -> None:
        import psycopg

        # Not AccountLocks.__init__: it opens a SQLite file, this has none.
        self.url = url
        self.ttl_s = ttl_s
        self.clock = clock
        self.owner = owner_name()
        self._psycopg = psycopg
        self._create_table()

    def _execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
            cursor = conn.execute(sql.encode(), params)
            rows: list[tuple[Any, ...]] = cursor.fetchall() if cursor.description else []
            return rows

    def _create_table(self) -> None:
        self._execute(
            "CREATE TABLE IF NOT EXISTS sync_locks ("
            " account_id TEXT PRIMARY KEY, owner TEXT NOT NULL,"
            " expires_at DOUBLE PRECISION NOT NULL)"
        )

    def _take(self, account_id: str, token: str) -> tuple[bool, int | None]:
        now = self.clock()
        expires = now + self.ttl_s
        if self._execute(_TAKE, (account_id, token, expires, now, token, token)):
            return True, None
        holder = self._execute("SELECT owner FROM sync_locks WHERE account_id = %s", (account_id,))
        if not holder:  # released meanwhile
            return bool(self._execute(_TAKE, (account_id, token, expires, now, token, token))), None
        owner = str(holder[0][0])
        dead = dead_holder(owner)
        if dead is None:
            return False, None
        if not self._execute(_TAKE, (account_id, token, expires, now, token, owner)):
            return False, None  # someone else took it over first
        log.warning("took over the lease of a sync whose process %d has ended", dead)
        return True, dead

    def renew(self, account_id: str, token: str) -> bool:
        return bool(
            self._execute(
                "UPDATE sync_locks SET expires_at = %s WHERE account_id = %s AND owner = %s"
                " RETURNING owner",
                (self.clock() + self.ttl_s, account_id, token),
            )
        )

    def release(self, account_id: str, token: str) -> None:
        self._execute(
            "DELETE FROM sync_locks WHERE account_id = %s AND owner = %s", (account_id, token)
        )

    def holder(self, account_id: str) -> str | None:
        rows = self._execute(
            "SELECT owner, expires_at FROM sync_locks WHERE account_id = %s", (account_id,)
        )
        if not rows or rows[0][1] <= self.clock():
            return None
        return str(rows[0][0])
