"""Syncs started from the console: one background thread per account, with live progress."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hyreka_plugin_amazon.contract import Progress, SyncResult
from hyreka_plugin_amazon.refhost.services import runs
from hyreka_plugin_amazon.refhost.services.opening import ReferenceHost

log = logging.getLogger(__name__)

# Where each phase starts on the progress bar (percent); importing fills the rest by count.
PHASE_START = {"requesting": 5, "processing": 20, "downloading": 50, "importing": 70, "done": 100}


@dataclass
class SyncJob:
    """One sync of one account as the console shows it."""

    account_id: str
    lang: str  # of the request that started it: the connector's messages speak it
    cancel: threading.Event = field(default_factory=threading.Event)
    progress: Progress | None = None
    result: SyncResult | None = None
    failed: bool = False
    finished: threading.Event = field(default_factory=threading.Event)
    ended_at: datetime | None = None  # when it finished (UTC)

    def percent(self) -> int:
        if self.finished.is_set():
            return 100
        if self.progress is None:
            return 0
        start = PHASE_START[self.progress.phase]
        if self.progress.phase == "importing" and self.progress.total:
            share = min(1.0, self.progress.done / self.progress.total)
            return start + int((100 - start) * share)
        return start

    def as_dict(self) -> dict[str, Any]:
        progress = self.progress
        return {
            "running": not self.finished.is_set(),
            "cancelling": self.cancel.is_set(),
            "phase": progress.phase if progress else "waiting",
            "message": progress.message if progress else "",
            "done": progress.done if progress else 0,
            "total": progress.total if progress else None,
            "percent": self.percent(),
        }


class SyncJobs:
    """The console's running and finished syncs, by account id."""

    def __init__(self, host: ReferenceHost) -> None:
        self._host = host
        self._jobs: dict[str, SyncJob] = {}
        self._lock = threading.Lock()

    def start(self, account_id: str, lang: str) -> SyncJob:
        """Start a sync of the account unless one started here is still running; its
        messages in ``lang``."""
        with self._lock:
            job = self._jobs.get(account_id)
            if job is not None and not job.finished.is_set():
                return job
            job = SyncJob(account_id, lang)
            self._jobs[account_id] = job
        thread = threading.Thread(
            target=self._run, args=(job,), name=f"console-sync-{account_id}", daemon=True
        )
        thread.start()
        return job

    def get(self, account_id: str) -> SyncJob | None:
        with self._lock:
            return self._jobs.get(account_id)

    def forget(self, account_id: str) -> None:
        with self._lock:
            self._jobs.pop(account_id, None)

    def cancel_all(self) -> None:
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            job.cancel.set()

    def _run(self, job: SyncJob) -> None:
        def report(progress: Progress) -> None:
            job.progress = progress

        try:
            job.result = runs.sync(
                self._host,
                job.account_id,
                lang=job.lang,
                trigger="console",
                on_progress=report,
                cancel_event=job.cancel,
            )
        except Exception as exc:  # the thread must end with a state the page can show
            job.failed = True
            log.error("console sync of account %s failed: %s", job.account_id, type(exc).__name__)
        finally:
            job.ended_at = datetime.now(UTC)
            job.finished.set()
