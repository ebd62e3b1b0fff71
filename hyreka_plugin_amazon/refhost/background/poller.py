"""The reference host's background polling: one scheduler job per enabled account.

Used by ``hyreka-amazon run``. The schedule follows the accounts (re-read every minute or on
``refresh``); a failing account backs off without holding up the others; an authentication
failure pauses the account until its credentials change or a manual sync succeeds. What the
poller knows (next run, pause) is kept in the store, so ``hyreka-amazon status`` in another
process shows it too.
"""

from __future__ import annotations

import collections
import json
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from hyreka_plugin_amazon.contract import Account, PollingInfo, SyncResult
from hyreka_plugin_amazon.refhost.background import scheduling
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.i18n import texts
from hyreka_plugin_amazon.refhost.manager import NoConnectorError
from hyreka_plugin_amazon.refhost.store import AccountNotFoundError, SyncRun

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
NEXT_RUN_KEY: Final = "refhost.poll.next_run"
PAUSED_KEY: Final = "refhost.poll.paused"
# Ended by the host (stop), not by the account: neither a failure nor a success.
NEUTRAL_CODES: Final = frozenset({"sync.cancelled"})
_RUNS_FOR_BACKOFF = 12  # enough to reach the backoff cap


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


@dataclass(frozen=True)
class AccountStatus:
    """What the seller sees of one account's polling."""

    account_id: str
    account_name: str
    polling: bool  # the account's setting ``polling`` is on
    interval_minutes: int  # the account's own interval
    effective_minutes: int  # with backoff after failures
    consecutive_failures: int
    paused: bool  # authentication failed: waits for new credentials
    running: bool  # a sync of the account runs now (in any process)
    next_run: datetime | None
    message: str | None  # why it is paused or backed off (the last run's message)
    history: tuple[SyncRun, ...]  # newest first

    @property
    def last_run(self) -> SyncRun | None:
        return self.history[0] if self.history else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "account": self.account_name,
            "polling": self.polling,
            "interval_minutes": self.interval_minutes,
            "effective_minutes": self.effective_minutes,
            "consecutive_failures": self.consecutive_failures,
            "paused": self.paused,
            "running": self.running,
            "next_run": _iso(self.next_run),
            "message": self.message,
            "last_run": _run_dict(self.last_run) if self.last_run else None,
            "history": [_run_dict(run) for run in self.history],
        }


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
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._active: collections.Counter[str] = collections.Counter()  # jobs running now
        # a plan is read and applied as one step, so that a refresh never undoes a backoff
        self._planning = threading.RLock()
        self._polling_infos: dict[str, PollingInfo | None] = {}  # by connector id

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
        for account in self.host.store.list_accounts():
            self.host.store.set_state(account.id, NEXT_RUN_KEY, None)
        return ended

    def join(self, timeout_s: float | None = None) -> bool:
        """Wait until no job of this poller runs; False when ``timeout_s`` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._active, timeout=timeout_s)

    # ---------------------------------------------------------------- jobs

    def refresh(self) -> None:
        """Make the jobs follow the accounts: added, removed, disabled, interval, credentials."""
        with self._job(REFRESH_JOB), self._planning:
            accounts = self.host.store.list_accounts()
            plans = [self._plan(account) for account in accounts]
            scheduling.apply_plans(
                self.scheduler, plans, self.run_account, jitter_s=self.jitter_s, now=self.clock()
            )
            for account in accounts:
                self._publish_next_run(account.id)

    def run_account(self, account_id: str) -> SyncResult | None:
        """The job of one account: a sync with trigger "schedule", then its next run."""
        if self._cancel.is_set():
            return None
        with self._job(account_id):
            try:
                if self.host.store.follow_key_file():
                    log.info("the vault key changed (rotate-key): using the new key")
                account = self.host.store.get_account(account_id)
            except AccountNotFoundError:
                self.refresh()  # removed meanwhile
                return None
            except Exception as exc:  # e.g. VaultError: recorded, so that status shows it
                return self._record_failure(account_id, exc)
            started = self.clock()
            try:
                result = self.host.sync(account_id, trigger=TRIGGER, cancel_event=self._cancel)
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
                self._pause(account, result)
            with self._planning:
                plan = self._plan(account)
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
            store = self.host.store
            store.finish_run(store.start_run(account_id, TRIGGER), result)
        except Exception as again:  # the history itself cannot be written: the log says it
            log.error("cannot record the failure of account %s: %s", account_id, type(again))
        return result

    def purge(self) -> None:
        """The daily retention job: personal data of orders closed long ago is removed."""
        with self._job(PURGE_JOB):
            purged = self.host.store.purge_personal_data(
                now=self.clock(), after_days=self.retention_days
            )
            log.info("retention: personal data of %d closed orders removed", len(purged))

    # ---------------------------------------------------------------- visibility

    def status(self, *, history: int = 10) -> list[AccountStatus]:
        """Every account's polling: last runs, next run, backoff, pause."""
        store = self.host.store
        statuses = []
        for account in store.list_accounts():
            runs = store.list_runs(account.id, limit=max(history, _RUNS_FOR_BACKOFF))
            plan = self._plan(account, runs)
            failures = consecutive_failures(runs)
            message = None
            if plan.paused or failures:
                message = next((r.message for r in runs if _decisive(r)), None)
            statuses.append(
                AccountStatus(
                    account_id=account.id,
                    account_name=account.name,
                    polling=plan.enabled,
                    interval_minutes=self._interval_minutes(account),
                    effective_minutes=plan.interval_minutes,
                    consecutive_failures=failures,
                    paused=plan.paused,
                    running=self.host.locks.holder(account.id) is not None,
                    next_run=self._next_run(account.id) if plan.enabled else None,
                    message=message,
                    history=tuple(runs[:history]),
                )
            )
        return statuses

    def plan(self, account: Account, runs: Sequence[SyncRun] | None = None) -> scheduling.PollPlan:
        """The account's polling plan now (interval with backoff, enabled, paused), for hosts
        that schedule without this poller's scheduler (``hyreka-amazon worker``)."""
        return self._plan(account, runs)

    def pause_if_refused(self, account: Account, result: SyncResult) -> None:
        """After a sync that needs re-authorisation, pause the account's polling."""
        if result.needs_reauthorization:
            self._pause(account, result)

    # ---------------------------------------------------------------- internals

    def _plan(self, account: Account, runs: Sequence[SyncRun] | None = None) -> scheduling.PollPlan:
        if runs is None:
            runs = self.host.store.list_runs(account.id, limit=_RUNS_FOR_BACKOFF)
        return scheduling.plan_for(
            account,
            self._polling(account),
            consecutive_failures=consecutive_failures(runs),
            paused=self._still_paused(account, runs),
        )

    def _polling(self, account: Account) -> PollingInfo | None:
        """How the account's connector wants it polled (None: not at all, or no such plugin)."""
        if account.connector not in self._polling_infos:
            try:
                polling = self.host.plugins.connector(account.connector).polling
            except NoConnectorError:
                polling = None
            self._polling_infos[account.connector] = polling
        return self._polling_infos[account.connector]

    def _interval_minutes(self, account: Account) -> int:
        polling = self._polling(account)
        return 0 if polling is None else polling.interval_minutes(account.settings)

    def _pause(self, account: Account, result: SyncResult) -> None:
        """Remember the credentials that were refused: polling waits until they change."""
        record = {"code": result.code, "credentials": self._fingerprint(account)}
        self.host.store.set_state(account.id, PAUSED_KEY, json.dumps(record))
        log.warning("polling of account %s paused: authentication failed", account.id)

    def _still_paused(self, account: Account, runs: Sequence[SyncRun]) -> bool:
        raw = self.host.store.get_state(account.id, PAUSED_KEY)
        if raw is None:
            return False
        record = json.loads(raw)
        last = next((r for r in runs if _decisive(r)), None)
        changed = self._fingerprint(account) != record.get("credentials")
        if changed or (last is not None and last.ok):
            self.host.store.set_state(account.id, PAUSED_KEY, None)
            log.info("polling of account %s resumed", account.id)
            return False
        return True

    def _fingerprint(self, account: Account) -> str:
        """A keyed HMAC (vault key) of what the seller changes on re-authorising."""
        parts = (
            account.client_id,
            account.client_secret.reveal(),
            account.refresh_token.reveal(),
            account.endpoint or "",
            account.token_url or "",
            account.region,
        )
        return self.host.store.mac("\0".join(parts).encode()).hex()

    def _next_run(self, account_id: str) -> datetime | None:
        if self._scheduler is not None and self._scheduler.running:
            return scheduling.next_run(self.scheduler, account_id)
        stored = self.host.store.get_state(account_id, NEXT_RUN_KEY)
        return datetime.fromisoformat(stored) if stored else None

    def _publish_next_run(self, account_id: str) -> datetime | None:
        """Keep the next run in the store, for ``status`` in other processes."""
        next_run = scheduling.next_run(self.scheduler, account_id)
        value = _iso(next_run)
        if self.host.store.get_state(account_id, NEXT_RUN_KEY) != value:
            self.host.store.set_state(account_id, NEXT_RUN_KEY, value)
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


def consecutive_failures(runs: Sequence[SyncRun]) -> int:
    """Failed runs in a row, newest first, until a successful one (cancelled ones do not count)."""
    failures = 0
    for run in runs:
        if not _decisive(run):
            continue
        if run.ok:
            break
        failures += 1
    return failures


def _decisive(run: SyncRun) -> bool:
    return run.finished_at is not None and run.code not in NEUTRAL_CODES


def _iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _run_dict(run: SyncRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "trigger": run.trigger,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "ok": run.ok,
        "code": run.code,
        "message": run.message,
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "failed_rows": run.failed_rows,
        "api_calls": run.api_calls,
        "warnings": list(run.warnings),
    }
