"""Background syncs shared by many processes: procrastinate workers on the host's PostgreSQL.

``hyreka-amazon worker`` runs one worker (``cli_worker``). Its tasks:

- ``hyreka.dispatch``, periodic (once a period, however many workers run: procrastinate
  defers a periodic task once per tick): defers a sync for every account that is due (polling
  on, not paused, its last run started an interval ago or never).
- ``hyreka.sync_account``: one sync of one account, deferred with ``lock`` and
  ``queueing_lock`` named after the account, so that an account never has two syncs running
  (jobs with one lock run one after another) nor more than one waiting (a second deferral is
  refused: ``AlreadyEnqueued``).

Jobs are taken with ``FOR UPDATE SKIP LOCKED`` (procrastinate's ``fetch_job``).

A killed worker: its jobs stay ``doing`` until a live worker finds it stalled (no heartbeat
for three heartbeats, ``stalled_after_s``); every worker looks once a heartbeat (and the
dispatcher once a period) and puts such jobs back in the queue. The account's lease, which a
worker's sync holds for ``lease_ttl_s`` (three heartbeats, at least ``MIN_LEASE_S``) and
renews every third of it, has then expired or is about to: a job that was interrupted once
(``attempts`` > 0) waits for the lease (checking every ``LEASE_POLL_S``) instead of ending
as "already running"; a fresh job that meets a held lease ends so, as before (a manual sync
runs). So a killed worker's accounts are synced again within

    max(3 heartbeats, lease) + 1 heartbeat + one job poll (min(5 s, heartbeat))

which with the defaults (heartbeat 10 s, dispatch 60 s) is 45 s, within the promised three
heartbeats plus one dispatch period (90 s). The sync itself loses nothing (orders commit
before the cursor moves, upserts are idempotent); a lease of a dead process on the same
machine is even taken over at once.

A PostgreSQL restart or outage: procrastinate's worker stops when its listener, heartbeat or
job fetch loses the database, and a sync whose store connection is gone ends its job
(``DatabaseLost``, retried later). The worker (``run_worker``) then waits for the database
with backoff (1 s doubling to 30 s), reopens the host (a new store connection) and runs on;
only a database unreachable for ``give_up_after_s`` ends it (``DatabaseUnavailable``: exit 75,
EX_TEMPFAIL, for a service manager to restart it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import procrastinate
import psycopg
from procrastinate import exceptions as procrastinate_errors
from procrastinate import jobs as procrastinate_jobs
from procrastinate.job_context import JobContext
from procrastinate.retry import RetryStrategy
from procrastinate.schema import SchemaManager

from hyreka_plugin_amazon.contract import SyncResult
from hyreka_plugin_amazon.refhost.background import presence
from hyreka_plugin_amazon.refhost.background.poller import FinishedSync, Poller
from hyreka_plugin_amazon.refhost.i18n import texts
from hyreka_plugin_amazon.refhost.services import accounts, opening, runs
from hyreka_plugin_amazon.refhost.services.errors import ServiceError
from hyreka_plugin_amazon.refhost.services.opening import ReferenceHost
from hyreka_plugin_amazon.refhost.store.errors import StoreError
from hyreka_plugin_amazon.refhost.store.leases import DEFAULT_TTL_S
from hyreka_plugin_amazon.refhost.store.leases_pg import PgAccountLocks

log = logging.getLogger(__name__)

TRIGGER: Final = "worker"
SYNC_TASK: Final = "hyreka.sync_account"
DISPATCH_TASK: Final = "hyreka.dispatch"
EXIT_TEMPFAIL: Final = 75  # sysexits.h EX_TEMPFAIL: the database is unreachable, try again
MIN_LEASE_S: Final = 10.0  # a worker's lease lasts three heartbeats, never less than this
LEASE_POLL_S: Final = 0.5  # how often an interrupted account's job looks at its lease
RECONNECT_FIRST_S: Final = 1.0  # backoff while the database is away: 1, 2, 4 ... 30 s
RECONNECT_MAX_S: Final = 30.0
DEFAULT_GIVE_UP_S: Final = 900.0  # a database away this long ends the worker (exit 75)
_DATABASE_LOST_RETRIES: Final = 20  # a job ended by a lost database runs again this often
_POOL_WAIT_S: Final = 10.0  # psycopg_pool's default (30 s) keeps a stopping worker waiting
_SCHEMA_LOCK: Final = 7_146_121_619  # pg_advisory_lock key: one worker installs the schema
_RUNS_FOR_PLAN: Final = 12


class DatabaseLost(RuntimeError):
    """A job's sync lost the store's database connection (the job runs again later)."""


class DatabaseUnavailable(RuntimeError):
    """The database stayed unreachable for longer than the worker waits (exit 75)."""

    def __init__(self, seconds: float, detail: str) -> None:
        super().__init__(f"the database is unreachable for {seconds:.0f} s: {detail}")
        self.seconds = seconds
        self.detail = detail


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


def database_lost(exc: BaseException) -> bool:
    """Whether ``exc`` (or what caused it) says the database cannot be reached: a psycopg
    connection error (a restart, a refused connection, a pool timeout) or the store's
    "cannot connect"."""
    seen: BaseException | None = exc
    for _ in range(10):  # the chain of causes, as far as it is sensible to follow
        if seen is None:
            return False
        if isinstance(seen, (psycopg.OperationalError, psycopg.InterfaceError)):
            return True
        if isinstance(seen, StoreError) and getattr(seen, "text_id", None) == "store.pg_connect":
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def first_line(exc: BaseException) -> str:
    """An error's first line, short: what a worker prints about a lost database."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:200]


@dataclass
class WorkerSetup:
    """What one worker process runs with."""

    host: ReferenceHost
    dispatch_s: int  # see cli_worker's defaults
    heartbeat_s: float
    on_finished: Callable[[FinishedSync], None] | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    # called (from a job's thread) when a sync found the store's connection lost
    on_database_lost: Callable[[BaseException], None] | None = None

    @property
    def stalled_after_s(self) -> float:
        """A worker without a heartbeat for this long is taken as dead (three missed beats)."""
        return 3 * self.heartbeat_s

    @property
    def lease_ttl_s(self) -> float:
        """How long the account lease of a worker's sync lasts unless renewed."""
        return max(self.stalled_after_s, MIN_LEASE_S)

    @property
    def lease_wait_s(self) -> float:
        """How long an interrupted account's job waits for its lease: any holder's lease
        (a manual sync's lasts ``DEFAULT_TTL_S``) has expired by then unless it is alive."""
        return max(DEFAULT_TTL_S, self.lease_ttl_s) + self.heartbeat_s


class WorkerLeases(PgAccountLocks):
    """The account leases of a worker's syncs: they last ``ttl_s`` (the worker's
    ``lease_ttl_s``); a renewal that cannot reach the database counts as a lost lease (the
    sync stops) instead of ending the renewing thread with a traceback."""

    def renew(self, account_id: str, token: str) -> bool:
        try:
            return super().renew(account_id, token)
        except psycopg.Error as exc:
            log.warning("lease of account %s not renewed: %s", account_id, first_line(exc))
            return False


def database_url(host: ReferenceHost) -> str:
    url = opening.shared_database(host)
    if url is None:
        raise ValueError(
            "workers share a PostgreSQL database: give --database postgresql://... (or set "
            "HYREKA_AMAZON_DATABASE); with SQLite, use `hyreka-amazon run`"
        )
    return url


def with_worker_leases(setup: WorkerSetup) -> WorkerSetup:
    """The setup with its host's account leases tied to the worker's heartbeat."""
    opening.use_leases(setup.host, WorkerLeases(database_url(setup.host), ttl_s=setup.lease_ttl_s))
    return setup


def install_schema(url: str) -> None:
    """Create procrastinate's tables and the worker list once (workers starting together wait
    for the first)."""
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))
        try:
            row = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
            if row is None or row[0] is None:
                conn.execute(SchemaManager.get_schema())
            conn.execute(presence.WORKERS_TABLE_SQL)
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
    app = procrastinate.App(  # a connection waited for at most _POOL_WAIT_S (an outage)
        connector=procrastinate.PsycopgConnector(
            conninfo=url, min_size=1, max_size=4, timeout=_POOL_WAIT_S
        )
    )
    poller = Poller(setup.host, clock=setup.clock)
    printing = threading.Lock()
    again = RetryStrategy(
        max_attempts=_DATABASE_LOST_RETRIES,
        wait=max(1, round(setup.heartbeat_s)),
        retry_exceptions=[DatabaseLost],
    )

    @app.task(name=SYNC_TASK, pass_context=True, retry=again)
    def sync_account(context: JobContext, account_id: str) -> str:
        """One sync of the account, as a scheduled sync of ``run`` would. A job run again
        after its worker died (or the database went away) waits for the account's lease."""
        interrupted = context.job.attempts > 0
        wait = setup.lease_wait_s if interrupted else 0.0
        result = run_sync(setup, poller, account_id, printing, wait_for_lease_s=wait)
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
    """Put the jobs of workers without a recent heartbeat back in the queue (several workers
    may find the same job: one puts it back, the others skip it). A stalled job whose account
    has a job waiting already is ended instead (the waiting one syncs the account)."""
    stalled = await app.job_manager.get_stalled_jobs(seconds_since_heartbeat=stalled_after_s)
    count = 0
    for job in stalled:
        try:
            await app.job_manager.retry_job(job)
        except procrastinate_errors.UniqueViolation:
            await app.job_manager.finish_job(
                job, status=procrastinate_jobs.Status.FAILED, delete_job=True
            )
            log.warning("job %s of a stalled worker ended: its account has one waiting", job.id)
            continue
        except procrastinate_errors.ConnectorException as exc:
            if database_lost(exc):
                raise
            log.info("job %s of a stalled worker was taken care of elsewhere", job.id)
            continue
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
    setup: WorkerSetup,
    poller: Poller,
    account_id: str,
    printing: threading.Lock,
    *,
    wait_for_lease_s: float = 0.0,
) -> SyncResult | None:
    """The job of one account: a sync with trigger "worker", its outcome printed.

    ``wait_for_lease_s``: while another holds the account's lease, look again every
    ``LEASE_POLL_S`` for that long (a job whose first run was interrupted: the holder may be
    its dead worker, whose lease expires) instead of ending as busy at once. A sync that lost
    the store's database raises ``DatabaseLost`` after telling ``setup.on_database_lost``.
    """
    try:
        return _run_sync(setup, poller, account_id, printing, wait_for_lease_s)
    except Exception as exc:
        if not database_lost(exc):
            raise
        log.warning("sync of account %s lost the database: %s", account_id, first_line(exc))
        if setup.on_database_lost is not None:
            setup.on_database_lost(exc)
        raise DatabaseLost(first_line(exc)) from None


def _run_sync(
    setup: WorkerSetup,
    poller: Poller,
    account_id: str,
    printing: threading.Lock,
    wait_for_lease_s: float,
) -> SyncResult | None:
    host = setup.host
    try:
        account = accounts.get(host, account_id)
    except ServiceError:
        return None  # removed since it was deferred
    started = setup.clock()
    give_up = time.monotonic() + wait_for_lease_s
    while True:
        try:
            result = runs.sync(host, account_id, trigger=TRIGGER)  # the account's language
        except Exception as exc:  # one account's crash must not fail the job queue's bookkeeping
            if database_lost(exc):
                raise
            log.error("sync of account %s raised %s", account_id, type(exc).__name__)
            detail = type(exc).__name__
            result = SyncResult(
                ok=False,
                code="sync.error",
                message=texts.translate("sync.error", account.locale, detail=detail),
            )
        if result.code != "sync.busy" or time.monotonic() >= give_up:
            break
        time.sleep(LEASE_POLL_S)  # the holder may be a dead worker: its lease runs out
        started = setup.clock()
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


# ------------------------------------------------------------------------------ the worker


def worker_name(name: str | None) -> str:
    """The worker's name in ``status`` and procrastinate's logs: ``--name``, else host:pid."""
    return name or f"{socket.gethostname()}:{os.getpid()}"


def run_worker(
    setup: WorkerSetup,
    *,
    concurrency: int,
    name: str | None = None,
    give_up_after_s: float = DEFAULT_GIVE_UP_S,
    reopen: Callable[[], ReferenceHost] | None = None,
    on_event: Callable[[str, Mapping[str, object]], None] | None = None,
) -> None:
    """Run a worker in the foreground until SIGINT or SIGTERM: it returns once the running
    syncs ended (a second signal exits at once, status 130). Rides out database outages
    (``on_event`` hears of them: a text id of the host catalog and its parameters); raises
    ``DatabaseUnavailable`` when the database stays away for ``give_up_after_s``.

    ``reopen`` makes the host anew after an outage (the store's connection does not survive
    a database restart); by default the same data folder and database URL.
    """
    url = database_url(setup.host)
    install_schema(url)
    supervisor = _Supervisor(
        setup,
        url=url,
        concurrency=concurrency,
        name=worker_name(name),
        give_up_after_s=give_up_after_s,
        reopen=reopen or _reopener(setup.host),
        on_event=on_event or (lambda text_id, params: None),
    )
    asyncio.run(supervisor.run())


def _reopener(host: ReferenceHost) -> Callable[[], ReferenceHost]:
    url = opening.shared_database(host)

    def reopen() -> ReferenceHost:
        return opening.open_folder(host.data_dir, database=url)

    return reopen


class _Supervisor:
    """Runs procrastinate's worker, again after each database outage, until stopped."""

    def __init__(
        self,
        setup: WorkerSetup,
        *,
        url: str,
        concurrency: int,
        name: str,
        give_up_after_s: float,
        reopen: Callable[[], ReferenceHost],
        on_event: Callable[[str, Mapping[str, object]], None],
    ) -> None:
        self.setup = setup
        self.url = url
        self.name = name
        self.id = f"{name}:{uuid.uuid4().hex[:8]}"
        self.give_up_after_s = give_up_after_s
        self.reopen = reopen
        self.on_event = on_event
        self.options: dict[str, Any] = {
            "concurrency": concurrency,
            "name": name,
            "update_heartbeat_interval": setup.heartbeat_s,
            "stalled_worker_timeout": setup.stalled_after_s,
            "delete_jobs": "successful",
            "fetch_job_polling_interval": min(5.0, setup.heartbeat_s),
            "install_signal_handlers": False,  # ours: a stop is not an outage
        }
        self.stopping = asyncio.Event()
        self.current: asyncio.Task[None] | None = None
        self.lost: str | None = None  # why the running cycle ends: the database went away
        self.announced = False  # the outage was said
        self.outage_since = 0.0  # time.monotonic() when it was
        self.loop: asyncio.AbstractEventLoop | None = None

    async def run(self) -> None:
        self.loop = asyncio.get_running_loop()
        handlers = self._install_signal_handlers()
        own_host = False  # the first host is the caller's; later ones are ours to close
        try:
            await asyncio.to_thread(
                presence.worker_signs_in, self.url, self.id, self.name, self.setup.heartbeat_s
            )
            while not self.stopping.is_set():
                detail = await self._cycle()
                if self.stopping.is_set() or detail is None:
                    break
                host = await self._back(detail)
                if host is None:
                    break
                if own_host:
                    with contextlib.suppress(Exception):
                        self.setup.host.close()
                self.setup = replace(self.setup, host=host)
                own_host = True
                self.on_event("worker.database_back", {})
        finally:
            for signum in handlers:
                self.loop.remove_signal_handler(signum)
            if own_host:
                with contextlib.suppress(Exception):
                    self.setup.host.close()
            with contextlib.suppress(Exception):
                await asyncio.to_thread(presence.worker_signs_out, self.url, self.id)

    async def _back(self, detail: str) -> ReferenceHost | None:
        """Once the database answers again: the host opened anew (None: stopped meanwhile).
        ``DatabaseUnavailable`` after ``give_up_after_s`` without it."""
        since = self.outage_since
        while True:
            if not await self._wait_for_database(detail, since):
                return None
            try:
                host = await asyncio.to_thread(self.reopen)
            except Exception as exc:
                if not database_lost(exc):
                    raise
                detail = first_line(exc)
                continue
            try:
                await asyncio.to_thread(install_schema, self.url)
                await asyncio.to_thread(
                    presence.worker_signs_in, self.url, self.id, self.name, self.setup.heartbeat_s
                )
            except Exception as exc:
                with contextlib.suppress(Exception):
                    host.close()
                if not database_lost(exc):
                    raise
                detail = first_line(exc)
                continue
            return host

    async def _cycle(self) -> str | None:
        """Run procrastinate's worker until it stops: None when asked to, else what took the
        database away."""
        self.lost = None
        setup = with_worker_leases(replace(self.setup, on_database_lost=self._job_lost_database))
        self.setup = setup
        app = build_app(setup).app
        self.announced = False
        # procrastinate stops on a failed side task, and logs why: said at once
        heard = _SideTaskFailure(self._announce)
        logging.getLogger("procrastinate.worker").addHandler(heard)
        try:
            async with app.open_async():
                self.current = asyncio.create_task(app.run_worker_async(**self.options))
                beat = asyncio.create_task(self._beat(app))
                try:
                    await asyncio.wait({self.current})
                finally:
                    beat.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await beat
                failure = None if self.current.cancelled() else self.current.exception()
                if failure is not None:
                    raise failure
        except Exception as exc:
            if self.stopping.is_set():
                return None
            if not database_lost(exc):
                raise
            detail = self.lost or heard.detail or first_line(exc)
        else:
            if self.stopping.is_set():
                return None
            # it stopped on its own: a side task (listener, heartbeat) lost the database
            detail = self.lost or heard.detail or "-"
        finally:
            self.current = None
            logging.getLogger("procrastinate.worker").removeHandler(heard)
        self._announce(detail)
        return detail

    def _announce(self, detail: str) -> None:
        """Say once per outage that the database went away (procrastinate then waits for the
        running syncs before the worker reconnects); the outage counts from here."""
        if not self.announced:
            self.announced = True
            self.outage_since = time.monotonic()
            self.on_event("worker.database_lost", {"detail": detail, "seconds": 1})

    async def _beat(self, app: procrastinate.App) -> None:
        """Every heartbeat: this worker's sign of life, and the jobs of dead workers back in
        the queue (not only at the next dispatch)."""
        while True:
            await asyncio.sleep(self.setup.heartbeat_s)
            try:
                await asyncio.to_thread(presence.worker_alive, self.url, self.id)
                await recover_stalled(app, self.setup.stalled_after_s)
            except Exception as exc:  # the outage is noticed by procrastinate's worker
                log.info("worker heartbeat: %s", first_line(exc))

    def _job_lost_database(self, exc: BaseException) -> None:
        """A sync found the store's connection gone (called from the job's thread): the
        running cycle ends, the host is opened anew."""
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self._end_cycle, first_line(exc))

    def _end_cycle(self, detail: str) -> None:
        if self.lost is None:
            self.lost = detail
        if self.current is not None and not self.current.done():
            self.current.cancel()  # procrastinate stops after its running jobs

    async def _wait_for_database(self, detail: str, since: float) -> bool:
        """Wait (backoff) until the database answers: True; False when stopped meanwhile;
        ``DatabaseUnavailable`` once it is away ``give_up_after_s`` (counted from ``since``)."""
        delay = RECONNECT_FIRST_S
        while True:
            waited = time.monotonic() - since
            if waited >= self.give_up_after_s:
                raise DatabaseUnavailable(waited, detail)
            delay = min(delay, max(self.give_up_after_s - waited, 0.1))
            if delay > RECONNECT_FIRST_S:  # the first wait was announced with the outage
                self.on_event("worker.database_lost", {"detail": detail, "seconds": round(delay)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=delay)
            if self.stopping.is_set():
                return False
            try:
                await asyncio.to_thread(_probe, self.url)
            except Exception as exc:
                if not database_lost(exc):
                    raise
                detail = first_line(exc)
                delay = min(delay * 2, RECONNECT_MAX_S)
                continue
            return True

    def _install_signal_handlers(self) -> list[int]:
        if threading.current_thread() is not threading.main_thread():
            return []
        assert self.loop is not None
        for signum in (signal.SIGINT, signal.SIGTERM):
            self.loop.add_signal_handler(signum, self._on_signal)
        return [signal.SIGINT, signal.SIGTERM]

    def _on_signal(self) -> None:
        if self.stopping.is_set():  # asked twice: do not wait for the running syncs
            sys.stdout.flush()
            os._exit(130)
        self.stopping.set()
        if self.current is not None and not self.current.done():
            self.current.cancel()  # procrastinate stops after its running jobs


_PSYCOPG_ERROR: Final = re.compile(r"^psycopg[\w.]*Error: (.+)$", re.MULTILINE)


class _SideTaskFailure(logging.Handler):
    """Hears why procrastinate's worker stopped on its own: the exception of the side task
    (listener, heartbeat, periodic deferrer) it logs before stopping."""

    def __init__(self, heard: Callable[[str], None]) -> None:
        super().__init__(logging.ERROR)
        self.detail: str | None = None
        self.heard = heard

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "action", None) != "side_task_failed" or self.detail is not None:
            return
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None:
            cause = exc.__cause__ or exc.__context__
            self.detail = first_line(cause if cause is not None else exc)
        else:  # the host's log redaction has turned the exception into (redacted) text
            found = _PSYCOPG_ERROR.search(record.exc_text or "")
            self.detail = found.group(1).strip()[:200] if found is not None else "-"
        self.heard(self.detail)


def _probe(url: str) -> None:
    with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
        conn.execute("SELECT 1")
