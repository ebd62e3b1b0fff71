"""Checkpoints of the store's write-ahead log in a thread of their own.

SQLite in WAL mode appends each commit to the ``-wal`` file; a checkpoint copies those pages
into the database file and waits for the disk twice (``fsync`` of the log and of the
database). Left to the writing connection (``wal_autocheckpoint``), that happens inside the
commit that crosses the threshold, so a sync of 100,000 orders stops for the disk every few
thousand orders. The ``Checkpointer`` runs ``PRAGMA wal_checkpoint(PASSIVE)`` on its own
connection when the store nudges it after a large commit: the copy and the waits run while
the sync goes on (SQLite releases the GIL), and a PASSIVE checkpoint never blocks a writer.
The writing connection keeps its automatic checkpoint as a backstop.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)


class Checkpointer:
    """Checkpoints the WAL of the database at ``path`` when nudged (its thread starts at the
    first nudge, so a store that only reads never starts one)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.checkpoints = 0  # completed PRAGMA calls, for tests and figures

    def nudge(self) -> None:
        """Ask for a checkpoint soon (several nudges while one runs make one more)."""
        with self._lock:
            if self._stopping:
                return
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="hyreka-store-checkpoint", daemon=True
                )
                self._thread.start()
        self._wake.set()

    def close(self) -> None:
        """Stop the thread after the checkpoint in progress, and close its connection."""
        with self._lock:
            self._stopping = True
            thread = self._thread
        self._wake.set()
        if thread is not None:
            thread.join()

    def _run(self) -> None:
        try:
            db = sqlite3.connect(self._path, isolation_level=None)
        except sqlite3.Error as exc:  # the writer's own checkpoints go on
            log.warning("no background checkpoints: %s", type(exc).__name__)
            return
        try:
            db.execute("PRAGMA busy_timeout = 10000")
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                try:
                    db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error as exc:  # the writer's own checkpoint still runs
                    log.warning("background checkpoint failed: %s", type(exc).__name__)
        finally:
            db.close()
