"""Whether a poller or worker runs: kept in ``services.presence`` (the status a seller reads
asks it); here for the poller and the commands that hold or test it, and the workers' own
sign-in table (``hyreka-amazon worker`` processes on a PostgreSQL database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from hyreka_plugin_amazon.refhost.services.presence import (
    POLLER_LOCK,
    WORKER_SILENCE_S,
    hold_poller_presence,
    poller_running,
    workers_alive,
)

__all__ = [
    "POLLER_LOCK",
    "WORKER_SILENCE_S",
    "WorkerSeen",
    "hold_poller_presence",
    "poller_running",
    "worker_alive",
    "worker_signs_in",
    "worker_signs_out",
    "workers_alive",
    "workers_seen",
]


# ------------------------------------------------------------------------------ workers

# ``hyreka-amazon worker`` processes sharing a PostgreSQL database sign in here (procrastinate's
# own worker table has neither names nor heartbeat settings): each updates ``last_seen`` every
# heartbeat, removes its row when it stops; a killed one's row stays, silent, for a day.
WORKERS_TABLE_SQL: Final = (
    "CREATE TABLE IF NOT EXISTS hyreka_workers ("
    " id TEXT PRIMARY KEY, name TEXT NOT NULL, heartbeat_s DOUBLE PRECISION NOT NULL,"
    " started_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),"
    " last_seen TIMESTAMPTZ NOT NULL DEFAULT NOW())"
)
SILENT_KEPT: Final = timedelta(days=1)


@dataclass(frozen=True)
class WorkerSeen:
    """A worker as ``status`` shows it: alive while its last sign of life is younger than
    three of its heartbeats."""

    name: str
    heartbeat_s: float
    started_at: datetime
    last_seen: datetime
    alive: bool


def workers_seen(url: str) -> list[WorkerSeen]:
    """The workers of the PostgreSQL database at ``url`` that were seen within a day, alive
    first (none when no worker ever ran there)."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        found = conn.execute("SELECT to_regclass('hyreka_workers')").fetchone()
        if found is None or found[0] is None:
            return []
        rows = conn.execute(
            "SELECT name, heartbeat_s, started_at, last_seen,"
            " last_seen > NOW() - make_interval(secs => 3 * heartbeat_s)"
            " FROM hyreka_workers WHERE last_seen > NOW() - make_interval(secs => %s)"
            " ORDER BY 5 DESC, name",
            (SILENT_KEPT.total_seconds(),),
        ).fetchall()
    return [WorkerSeen(str(n), float(h), s, seen, bool(alive)) for n, h, s, seen, alive in rows]


def worker_signs_in(url: str, worker_id: str, name: str, heartbeat_s: float) -> None:
    """Record a starting worker (and forget workers silent for longer than a day)."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(WORKERS_TABLE_SQL)
        conn.execute(
            "DELETE FROM hyreka_workers WHERE last_seen < NOW() - make_interval(secs => %s)",
            (SILENT_KEPT.total_seconds(),),
        )
        conn.execute(
            "INSERT INTO hyreka_workers (id, name, heartbeat_s) VALUES (%s, %s, %s)"
            " ON CONFLICT (id) DO UPDATE SET last_seen = NOW()",
            (worker_id, name, heartbeat_s),
        )


def worker_alive(url: str, worker_id: str) -> None:
    """A worker's heartbeat."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        conn.execute("UPDATE hyreka_workers SET last_seen = NOW() WHERE id = %s", (worker_id,))


def worker_signs_out(url: str, worker_id: str) -> None:
    """A worker that stops cleanly leaves no row behind."""
    import psycopg

    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        conn.execute("DELETE FROM hyreka_workers WHERE id = %s", (worker_id,))
