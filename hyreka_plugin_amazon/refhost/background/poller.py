"""The reference host's background polling: one scheduler job per enabled account.

Used by ``hyreka-amazon run``. The schedule follows the accounts (re-read every minute or on
``refresh``); a failing account backs off without holding up the others; an authentication
failure pauses the account until its credentials change or a manual sync succeeds. What the
poller knows (next run, pause) is kept in the store, so ``hyreka-amazon status`` in another
process shows it too.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Final

from hyreka_plugin_amazon.contract import Account, SyncResult
from hyreka_plugin_amazon.refhost.background import scheduling
from hyreka_plugin_amazon.refhost.i18n import texts
from hyreka_plugin_amazon.refhost.services import accounts, maintenance, runs
from hyreka_plugin_amazon.refhost.services.errors import ServiceError
from hyreka_plugin_amazon.refhost.services.opening import ReferenceHost
from hyreka_plugin_amazon.refhost.services.polling import AccountStatus, Planner, SyncRun

if TYPE_CHECKING:  # APScheduler is imported when a scheduler is made (``status`` needs none)
    from apscheduler.schedulers.background import BackgroundScheduler

log = logging.getLogger(__name__)

TRIGGER: Final = "schedule"
REFRESH_JOB: Final = "hyreka-amazon-host:accounts"
PURGE_JOB: Final = "hyreka-amazon-host:purge"
# Buyers' personal data of closed orders is kept this long (Amazon's Data Protection Policy:
# at most 30 days after the order is delivered), then purged.
PERSONAL_DATA_DAYS: Final = 30
DEFAULT_STOP_TIMEOUT_S: Final = 30.0


@dataclass(frozen=True)
class FinishedSync:
    """One scheduled sync that ran (times in the poller's clock)."""

    account_id: str
    account_name: str
    started: datetime
    finished: datetime
    result: SyncResult
    next_run: datetime | None
    interval_minutes: int  # until the next run, backoff included
    paused: bool


class Poller:
    """Background syncs of every enabled account on an APScheduler BackgroundScheduler.

    ``clock`` is the poller's time (next runs, backoff, the retention purge); tests pass the
    simulator's clock and drive the scheduler, started paused, themselves.
    """

    def __init__(
        self,
        host: ReferenceHost,
        *,
        scheduler: BackgroundScheduler | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        jitter_s: int = scheduling.DEFAULT_JITTER_S,
        refresh_s: float = 60.0,
        retention_days: int = PERSONAL_DATA_DAYS,
        on_finished: Callable[[FinishedSync], None] | None = None,
    ) -> None:
        self.host = host
        self._scheduler = scheduler
        self.clock = clock
        self.jitter_s = jitter_s
        self.refresh_s = refresh_s
        self.retention_days = retention_days
        self.on_finished = on_finished
        self.planner = Planner(host)  # plans, pauses and next runs, kept in the store
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._active: collections.Counter[str] = collections.Counter()  # jobs running now
        # a plan is read and applied as one step, so that a refresh never undoes a backoff
        self._planning = threading.RLock()

    @property
    def scheduler(self) -> BackgroundScheduler:
        """The APScheduler scheduler, made on first use."""
        if self._scheduler is None:
            self._scheduler = scheduling.make_scheduler()
        return self._scheduler

    # ---------------------------------------------------------------- life cycle

    def start(self, *, paused: bool = False) -> None:
        """Schedule every enabled account, the account refresh and the daily purge; start."""
        from apscheduler.triggers.interval import IntervalTrigger

        now = self.clock()
        self.scheduler.start(paused=paused)
        self.refresh()
        self.scheduler.add_job(
            self.refresh,
            IntervalTrigger(
                seconds=self.refresh_s, start_date=now + timedelta(seconds=self.refresh_s)
            ),
            id=REFRESH_JOB,
            name="re-read accounts",
            replace_existing=True,
        )
        self.scheduler.add_job(
            self.purge,
            IntervalTrigger(days=1, start_date=now, timezone=UTC),
            id=PURGE_JOB,
            name="retention purge",
            replace_existing=True,
        )

    def stop(self, timeout_s: float = DEFAULT_STOP_TIMEOUT_S) -> bool:
        """Ask running syncs to cancel, wait up to ``timeout_s`` for them, shut down.

        False when a sync did not end in time: it is abandoned (its lease expires, its run
        stays unfinished; nothing it handed over is lost, the next sync repeats its window).
        """
        self._cancel.set()
        if self._scheduler is not None and self._scheduler.running:
            self.scheduler.pause()
        ended = self.join(timeout_s)
        if self._scheduler is not None and self._scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.planner.forget_next_runs()
        return ended

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait until no job of this poller runs; False when ``timeout_s`` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._active, timeout=timeout_s)

    # ---------------------------------------------------------------- jobs

    def refresh(self) -> None:
        """Make the jobs follow the accounts: added, removed, disabled, interval, credentials."""
        with self._job(REFRESH_JOB), self._planning:
            known = self.planner.accounts()
            plans = [self.planner.plan(account) for account in known]
            scheduling.apply_plans(
                self.scheduler, plans, self.run_account, jitter_s=self.jitter_s, now=self.clock()
            )
            for account in known:
                self._publish_next_run(account.id)

    def run_account(self, account_id: str) -> SyncResult | None:
        """The job of one account: a sync with trigger "schedule", then its next run."""
        if self._cancel.is_set():
            return None
        with self._job(account_id):
            try:
                if maintenance.follow_key_file(self.host):
                    log.info("the vault key changed (rotate-key): using the new key")
                account = accounts.get(self.host, account_id)
            except ServiceError:
                self.refresh()  # removed meanwhile
                return None
            except Exception as exc:  # e.g. VaultError: recorded, so that status shows it
                return self._record_failure(account_id, exc)
            started = self.clock()
            try:
                # in the seller's language: the account's own, never a run's
                result = runs.sync(
                    self.host, account_id, trigger=TRIGGER, cancel_event=self._cancel
                )
            except Exception as exc:  # one account's crash must not stop the others
                log.error("scheduled sync of account %s raised %s", account_id, type(exc).__name__)
                detail = type(exc).__name__
                result = SyncResult(
                    ok=False,
                    code="sync.error",
                    message=texts.translate("sync.error", account.locale, detail=detail),
                )
            if result.code == "sync.busy":
                return result  # a manual sync runs: it is that one's outcome that counts
            if result.needs_reauthorization:
                self.planner.pause(account, result)
            with self._planning:
                plan = self.planner.plan(account)
                next_run = None
                if not self._cancel.is_set():  # stopping: the schedule is left as it is
                    scheduling.apply_plan(
                        self.scheduler,
                        plan,
                        self.run_account,
                        jitter_s=self.jitter_s,
                        now=self.clock(),
                    )
                    next_run = self._publish_next_run(account_id)
            log.info("scheduled sync of account %s: %s", account_id, result.code)
            if self.on_finished is not None:
                self.on_finished(
                    FinishedSync(
                        account_id=account_id,
                        account_name=account.name,
                        started=started,
                        finished=self.clock(),
                        result=result,
                        next_run=next_run,
                        interval_minutes=plan.interval_minutes,
                        paused=plan.paused,
                    )
                )
            return result

    def _record_failure(self, account_id: str, exc: Exception) -> SyncResult:
        """A job that failed before its sync started, as a failed run in the history."""
        log.error("scheduled sync of account %s failed: %s", account_id, type(exc).__name__)
        result = SyncResult(
            ok=False,
            code="sync.error",
            message=texts.translate("sync.error", "en", detail=type(exc).__name__),
        )
        try:
            self.planner.record_failure(account_id, TRIGGER, result)
        except Exception as again:  # the history itself cannot be written: the log says it
            log.error("cannot record the failure of account %s: %s", account_id, type(again))
        return result

    def purge(self) -> None:
        """The daily retention job: personal data of orders closed long ago is removed."""
        with self._job(PURGE_JOB):
            purged = maintenance.purge(
                self.host, now=self.clock(), after_days=self.retention_days, confirmed=True
            )
            log.info("retention: personal data of %d closed orders removed", len(purged.orders))

    # ---------------------------------------------------------------- visibility

    def status(self, *, history: int = 10) -> list[AccountStatus]:
        """Every account's polling: last runs, next run, backoff, pause."""
        return self.planner.statuses(history=history, next_run=self._next_run)

    def plan(self, account: Account, runs: Sequence[SyncRun] | None = None) -> scheduling.PollPlan:
        """The account's polling plan now (interval with backoff, enabled, paused), for hosts
        that schedule without this poller's scheduler (``hyreka-amazon worker``)."""
        return self.planner.plan(account, runs)

    def pause_if_refused(self, account: Account, result: SyncResult) -> None:
        """After a sync that needs re-authorisation, pause the account's polling."""
        if result.needs_reauthorization:
            self.planner.pause(account, result)

    # ---------------------------------------------------------------- internals

    def _next_run(self, account_id: str) -> datetime | None:
        if self._scheduler is not None and self._scheduler.running:
            return scheduling.next_run(self.scheduler, account_id)
        return self.planner.stored_next_run(account_id)

    def _publish_next_run(self, account_id: str) -> datetime | None:
        """Keep the next run in the store, for ``status`` in other processes."""
        next_run = scheduling.next_run(self.scheduler, account_id)
        self.planner.publish_next_run(account_id, next_run)
        return next_run

    @contextmanager
    def _job(self, name: str) -> Iterator[None]:
        """Count the block as a running job; ``stop`` waits until none is left."""
        with self._idle:
            self._active[name] += 1
        try:
            yield
        finally:
            with self._idle:
                self._active[name] -= 1
                if not self._active[name]:
                    del self._active[name]
                self._idle.notify_all()
