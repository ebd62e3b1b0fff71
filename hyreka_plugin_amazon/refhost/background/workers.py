"""Background syncs shared by many processes: procrastinate workers on the host's PostgreSQL.

``hyreka-amazon worker`` runs one worker (``cli_worker``). Its tasks:

- ``hyreka.dispatch``, periodic (once a period, however many workers run: procrastinate
  defers a periodic task once per tick): defers a sync for every account that is due (polling
  on, not paused, its last run started an interval ago or never), and gives the jobs of workers
  that stopped sending heartbeats back to the queue (procrastinate's stalled-job recovery).
- ``hyreka.sync_account``: one sync of one account, deferred with ``lock`` and
  ``queueing_lock`` named after the account, so that an account never has two syncs running
  (jobs with one lock run one after another) nor more than one waiting (a second deferral is
  refused: ``AlreadyEnqueued``).

Jobs are taken with ``FOR UPDATE SKIP LOCKED`` (procrastinate's ``fetch_job``). A killed
worker's job stays ``doing`` until the dispatcher finds its worker stalled (no heartbeat for
``stalled_after_s``) and retries it; the sync itself loses nothing (orders commit before the
cursor moves, upserts are idempotent), and the account's lease, held by a dead process of this
host, is taken over at once.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import procrastinate
import psycopg
from procrastinate import exceptions as procrastinate_errors
from procrastinate.schema import SchemaManager

from hyreka_plugin_amazon.contract import SyncResult
from hyreka_plugin_amazon.refhost.background.poller import FinishedSync, Poller
from hyreka_plugin_amazon.refhost.i18n import texts
from hyreka_plugin_amazon.refhost.services import accounts, opening, runs
from hyreka_plugin_amazon.refhost.services.errors import ServiceError
from hyreka_plugin_amazon.refhost.services.opening import ReferenceHost

log = logging.getLogger(__name__)

TRIGGER: Final = "worker"
SYNC_TASK: Final = "hyreka.sync_account"
DISPATCH_TASK: Final = "hyreka.dispatch"
_SCHEMA_LOCK: Final = 7_146_121_619  # pg_advisory_lock key: one worker installs the schema
_RUNS_FOR_PLAN: Final = 12


def lock_name(account_id: str) -> str:
    """The procrastinate lock and queueing lock of an account's syncs."""
    return f"hyreka-account:{account_id}"


def cron_every(seconds: int) -> str:
    """A procrastinate cron (6th field: seconds) that fires every ``seconds``."""
    if seconds <= 0:
        raise ValueError("the dispatch period must be positive")
    if seconds < 60:
        if 60 % seconds:
            raise ValueError("a dispatch period under a minute must divide 60 seconds")
        return f"* * * * * */{seconds}"
    if seconds % 60:
        raise ValueError("a dispatch period over a minute must be whole minutes")
    return f"*/{seconds // 60} * * * *"


@dataclass
class WorkerSetup:
    """What one worker process runs with."""

    host: ReferenceHost
    dispatch_s: int  # see cli_worker's defaults
    heartbeat_s: float
    on_finished: Callable[[FinishedSync], None] | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    @property
    def stalled_after_s(self) -> float:
        """A worker without a heartbeat for this long is taken as dead (three missed beats)."""
        return 3 * self.heartbeat_s


def database_url(host: ReferenceHost) -> str:
    url = opening.shared_database(host)
    if url is None:
        raise ValueError(
            "workers share a PostgreSQL database: give --database postgresql://... (or set "
            "HYREKA_AMAZON_DATABASE); with SQLite, use `hyreka-amazon run`"
        )
    return url


def install_schema(url: str) -> None:
    """Create procrastinate's tables once (workers starting together wait for the first)."""
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))
        try:
            row = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if row is None or row[0] is None:
                conn.execute(SchemaManager.get_schema())
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))


@dataclass
class WorkerApp:
    """A worker's procrastinate app and how to defer an account's sync through it."""

    app: procrastinate.App
    defer_sync: Callable[[str], Awaitable[bool]]  # False: one is waiting already


def build_app(setup: WorkerSetup) -> WorkerApp:
    """The procrastinate app of a worker (or of a process that only defers syncs)."""
    url = database_url(setup.host)
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=url, min_size=1, max_size=4)
    )
    poller = Poller(setup.host, clock=setup.clock)
    printing = threading.Lock()

    @app.task(name=SYNC_TASK)
    def sync_account(account_id: str) -> str:
        """One sync of the account, as a scheduled sync of ``run`` would."""
        result = run_sync(setup, poller, account_id, printing)
        return result.code if result is not None else "gone"

    async def defer_sync(account_id: str) -> bool:
        try:
            await sync_account.configure(
                lock=lock_name(account_id), queueing_lock=lock_name(account_id)
            ).defer_async(account_id=account_id)
        except procrastinate_errors.AlreadyEnqueued:
            return False  # one is waiting already
        return True

    @app.periodic(cron=cron_every(setup.dispatch_s), periodic_id="accounts")
    @app.task(name=DISPATCH_TASK, queueing_lock=DISPATCH_TASK)
    async def dispatch(timestamp: int) -> int:
        """Defer the due accounts' syncs; give stalled workers' jobs back to the queue."""
        recovered = await recover_stalled(app, setup.stalled_after_s)
        due = await asyncio.to_thread(due_accounts, setup.host, poller, setup.clock())
        deferred = 0
        for account_id in due:
            deferred += await defer_sync(account_id)
        log.info(
            "dispatch: %d account(s) due, %d deferred, %d stalled job(s) retried",
            len(due),
            deferred,
            recovered,
        )
        return deferred

    return WorkerApp(app, defer_sync)


async def recover_stalled(app: procrastinate.App, stalled_after_s: float) -> int:
    """Put the jobs of workers without a recent heartbeat back in the queue."""
    stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after_s)
    count = 0
    for job in stalled:
        await app.job_manager.retry_job(job)
        log.warning("job %s of a stalled worker is queued again", job.id)
        count += 1
    return count


def due_accounts(host: ReferenceHost, poller: Poller, now: datetime) -> list[str]:
    """Accounts whose sync is due: polling on, not paused, last run an interval ago or never."""
    due = []
    for account in poller.planner.accounts():
        latest = poller.planner.runs(account.id, limit=_RUNS_FOR_PLAN)
        plan = poller.plan(account, latest)
        if not plan.enabled or plan.paused:
            continue
        if not latest or latest[0].started_at + timedelta(minutes=plan.interval_minutes) <= now:
            due.append(account.id)
    return due


def run_sync(
    setup: WorkerSetup, poller: Poller, account_id: str, printing: threading.Lock
) -> SyncResult | None:
    """The job of one account: a sync with trigger "worker", its outcome printed."""
    host = setup.host
    try:
        account = accounts.get(host, account_id)
    except ServiceError:
        return None  # removed since it was deferred
    started = setup.clock()
    try:  # in the seller's language: the account's own, never a run's
        result = runs.sync(host, account_id, trigger=TRIGGER)
    except Exception as exc:  # one account's crash must not fail the job queue's bookkeeping
        log.error("sync of account %s raised %s", account_id, type(exc).__name__)
        detail = type(exc).__name__
        result = SyncResult(
            ok=False,
            code="sync.error",
            message=texts.translate("sync.error", account.locale, detail=detail),
        )
    poller.pause_if_refused(account, result)
    plan = poller.plan(account)
    finished = setup.clock()
    if setup.on_finished is not None and result.code != "sync.busy":
        with printing:
            setup.on_finished(
                FinishedSync(
                    account_id=account_id,
                    account_name=account.name,
                    started=started,
                    finished=finished,
                    result=result,
                    next_run=None if plan.paused else started + _minutes(plan.interval_minutes),
                    interval_minutes=plan.interval_minutes,
                    paused=plan.paused,
                )
            )
    return result


def _minutes(value: int) -> timedelta:
    return timedelta(minutes=value)


def run_worker(setup: WorkerSetup, *, concurrency: int, name: str | None = None) -> None:
    """Run a worker in the foreground until SIGINT or SIGTERM (procrastinate's handlers)."""
    url = database_url(setup.host)
    install_schema(url)
    app = build_app(setup).app
    options: dict[str, Any] = {
        "concurrency": concurrency,
        "update_heartbeat_interval": setup.heartbeat_s,
        "stalled_worker_timeout": setup.stalled_after_s,
        "delete_jobs": "successful",
        "fetch_job_polling_interval": min(5.0, setup.heartbeat_s),
    }
    if name is not None:
        options["name"] = name
    app.run_worker(**options)
