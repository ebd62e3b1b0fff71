"""The per-account leases of ``leases`` in a PostgreSQL store: the same rules, PostgreSQL's
statements (``sql/postgresql.sql``), each on a connection of its own in autocommit.

A lease is taken with one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE`` (free, expired or
already ours), which checks the condition against the row's latest version under its lock, so
two processes racing for it cannot both win; a lease whose holder's process is gone from this
host is taken over at once, as with SQLite (``leases.dead_holder``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from hyreka_plugin_amazon.refhost.store.leases import DEFAULT_TTL_S, AccountLocks


class PgAccountLocks(AccountLocks):
    """Leases on accounts in the table ``sync_locks`` of the host's PostgreSQL database."""

    def __init__(
        self, url: str, *, ttl_s: float = DEFAULT_TTL_S, clock: Callable[[], float] = time.time
    ) -> None:
        super().__init__("postgresql", ttl_s=ttl_s, clock=clock)
        self.url = url

    def _run(self, sql: str, params: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        import psycopg
        from psycopg.rows import dict_row

        with psycopg.connect(
            self.url, autocommit=True, connect_timeout=10, row_factory=dict_row
        ) as conn:
            cursor = conn.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description else []
