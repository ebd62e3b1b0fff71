"""Whether a poller (``hyreka-amazon run``) is running on a data folder, and whether workers
(``hyreka-amazon worker``) are alive on a PostgreSQL database.

Each poller holds a shared ``flock`` on ``poller.lock`` in the data folder for as long as it
runs; the operating system releases it when the process ends, however it ends. A command that
must not run beside a poller (``rotate-key`` with the key in the environment, which a running
poller cannot follow) asks for the lock exclusively and gets it only when no poller holds it.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from typing import BinaryIO, Final

POLLER_LOCK: Final = "poller.lock"


def hold_poller_presence(folder: Path) -> BinaryIO:
    """Mark a poller as running on ``folder`` until the returned file is closed."""
    fd = os.open(folder / POLLER_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    handle = os.fdopen(fd, "rb+")
    fcntl.flock(handle, fcntl.LOCK_SH)
    return handle


def poller_running(folder: Path) -> bool:
    """True while a poller holds its presence on ``folder``."""
    try:
        fd = os.open(folder / POLLER_LOCK, os.O_RDONLY)
    except FileNotFoundError:
        return False
    with os.fdopen(fd, "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


# A worker whose last heartbeat is older than this is not counted (procrastinate's default
# heartbeat is 10 s; three missed beats mark a worker stalled).
WORKER_SILENCE_S: Final = 60


def workers_alive(database_url: str | None, *, silence_s: float = WORKER_SILENCE_S) -> bool:
    """True while a worker (``hyreka-amazon worker``) on this PostgreSQL database sent a
    heartbeat in the last ``silence_s`` seconds; False without a database or its schema."""
    if database_url is None:
        return False
    import psycopg  # only for a PostgreSQL store

    try:
        with psycopg.connect(database_url, connect_timeout=5) as conn:
            row = conn.execute(
                "SELECT 1 FROM procrastinate_workers"
                " WHERE last_heartbeat > now() - make_interval(secs => %s) LIMIT 1",
                (silence_s,),
            ).fetchone()
    except psycopg.Error:  # no procrastinate schema yet (no worker ever ran), or unreachable
        return False
    return row is not None
