"""``hyreka-amazon run`` and ``hyreka-amazon status``: background polling and what it did.

``run`` keeps the host polling in the foreground until SIGINT or SIGTERM, printing one line
per finished sync (account, outcome, counts, next run; never personal data), then stops within
``--stop-timeout`` seconds. ``status`` shows every account's polling, from any process, and
whether the audit log is intact; on PostgreSQL also which workers (``hyreka-amazon worker``)
are alive, and when they sync next.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TextIO

from hyreka_plugin_amazon.refhost.background import scheduling
from hyreka_plugin_amazon.refhost.background.poller import (
    DEFAULT_STOP_TIMEOUT_S,
    PERSONAL_DATA_DAYS,
    FinishedSync,
    Poller,
)
from hyreka_plugin_amazon.refhost.background.presence import (
    WorkerSeen,
    hold_poller_presence,
    workers_seen,
)
from hyreka_plugin_amazon.refhost.cli.common import open_host
from hyreka_plugin_amazon.refhost.cli.helptexts import non_negative
from hyreka_plugin_amazon.refhost.cli.render import audit_line, print_finished
from hyreka_plugin_amazon.refhost.cli.render import clock_time as _time
from hyreka_plugin_amazon.refhost.i18n.texts import DEFAULT_LOCALE, plural, translate
from hyreka_plugin_amazon.refhost.safety.terminal import json_text, printable
from hyreka_plugin_amazon.refhost.services import auditing, opening, polling
from hyreka_plugin_amazon.refhost.services.polling import AccountStatus, SyncRun

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Register ``run`` and ``status`` on the ``hyreka-amazon`` parser."""
    run = sub.add_parser(
        "run",
        parents=[common],
        help="poll every enabled account in the background until Ctrl+C (or SIGTERM)",
        description=(
            "Runs the host's background polling in the foreground: each enabled account is "
            "synchronised at the interval its connector sets (an account setting; `status` "
            "shows it), less often after failures, not at all after the credentials were "
            "refused until they change. Account changes "
            "are picked up within a minute. Ctrl+C or SIGTERM stops it: running syncs are "
            "cancelled (what they imported stays) and it exits within --stop-timeout seconds."
        ),
    )
    run.add_argument(
        "--jitter",
        type=non_negative,
        default=scheduling.DEFAULT_JITTER_S,
        metavar="SECONDS",
        help="spread of the accounts' run times (default: %(default)s)",
    )
    run.add_argument(
        "--retention-days",
        type=non_negative,
        default=PERSONAL_DATA_DAYS,
        metavar="DAYS",
        help="the daily purge removes personal data of orders closed longer ago "
        "(default: %(default)s)",
    )
    run.add_argument(
        "--stop-timeout",
        type=float,
        default=DEFAULT_STOP_TIMEOUT_S,
        metavar="SECONDS",
        help="how long a stop waits for running syncs (default: %(default)s)",
    )
    run.set_defaults(func=cmd_run)

    status = sub.add_parser(
        "status", parents=[common], help="per account: last sync, next sync, backoff, history"
    )
    status.add_argument("--json", action="store_true", help="print JSON (with the history)")
    status.add_argument(
        "--history",
        type=non_negative,
        default=0,
        metavar="N",
        help="also list the N syncs of each account before its last one",
    )
    status.set_defaults(func=cmd_status)


def cmd_run(args: argparse.Namespace) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():  # asked twice: do not wait any longer
            os._exit(130)
        stop.set()

    previous = {signum: signal.signal(signum, on_signal) for signum in STOP_SIGNALS}
    host = open_host(args)
    presence = hold_poller_presence(host.data_dir)  # rotate-key from the environment waits
    printing = threading.Lock()  # syncs of several accounts finish in parallel

    def on_finished(done: FinishedSync) -> None:
        with printing:
            print_finished(done, sys.stdout, args.lang)

    poller = Poller(
        host, jitter_s=args.jitter, retention_days=args.retention_days, on_finished=on_finished
    )
    try:
        poller.start()
        accounts = sum(1 for s in poller.status(history=0) if s.polling)
        started = plural("cli.run.started", accounts, args.lang)
        print(started, file=sys.stderr, flush=True)
        stop.wait()
        print(translate("cli.run.stopping", args.lang), file=sys.stderr, flush=True)
        if not poller.stop(timeout_s=args.stop_timeout):
            # A sync did not end in time: it is abandoned (its lease expires, the next sync
            # repeats its window); exit now instead of waiting for its thread.
            print(translate("cli.run.abandoned", args.lang), file=sys.stderr, flush=True)
            sys.stdout.flush()
            os._exit(0)
        print(translate("cli.run.stopped", args.lang), file=sys.stderr, flush=True)
    finally:
        if poller.scheduler.running:
            poller.stop(timeout_s=args.stop_timeout)
        host.close()
        presence.close()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    with open_host(args) as host:
        statuses = polling.statuses(host, history=max(args.history + 1, 10 if args.json else 1))
        audit = None if args.json else auditing.verify(host)
        url = opening.shared_database(host)
        workers = workers_seen(url) if url is not None and not args.json else None
    if audit is None:
        print(json_text([s.as_dict() for s in statuses]))
    else:
        print_status(statuses, sys.stdout, history=args.history, lang=args.lang, workers=workers)
        print(audit_line(audit, args.lang))
    return 0


# ------------------------------------------------------------------------------ output


def print_status(
    statuses: Sequence[AccountStatus],
    out: TextIO,
    *,
    history: int = 0,
    lang: str = DEFAULT_LOCALE,
    workers: Sequence[WorkerSeen] | None = None,
) -> None:
    """``workers``: on PostgreSQL, the workers seen there (alive or silent); None on SQLite."""
    if workers is not None:
        _print_workers(workers, out, lang)
    alive = workers is not None and any(w.alive for w in workers)
    if not statuses:
        print(translate("cli.no_accounts", lang), file=out)
    for status in statuses:
        polling = _polling(status, lang, workers=None if workers is None else alive)
        print(f"{printable(status.account_name)}  {polling}", file=out)
        last = status.last_run
        shown = _run_line(last, lang) if last else translate("cli.status.none_yet", lang)
        print("  " + printable(translate("cli.status.last", lang, run=shown)), file=out)
        if status.message:
            print(f"  ! {printable(status.message)}", file=out)
        for warning in last.warnings if last else ():
            print(f"  ! {printable(warning)}", file=out)
        for run in status.history[1 : history + 1]:
            before = translate("cli.status.before", lang, run=_run_line(run, lang))
            print("  " + printable(before), file=out)


def _print_workers(workers: Sequence[WorkerSeen], out: TextIO, lang: str) -> None:
    alive = [printable(w.name) for w in workers if w.alive]
    if alive:
        print(translate("cli.status.workers_alive", lang, names=", ".join(alive)), file=out)
    else:
        print(translate("cli.status.no_workers", lang), file=out)
    for worker in workers:
        if not worker.alive:
            seen = _time(worker.last_seen)
            text = translate(
                "cli.status.worker_silent", lang, name=printable(worker.name), time=seen
            )
            print(f"  ! {text}", file=out)


def _polling(status: AccountStatus, lang: str, *, workers: bool | None = None) -> str:
    """``workers``: None on SQLite; on PostgreSQL whether a worker is alive (it syncs the
    account when due, which ``status`` then estimates)."""
    if not status.polling:
        text = translate("cli.status.off", lang)
    elif status.paused:
        text = translate("cli.status.paused", lang)
    else:
        text = translate("cli.status.every", lang, minutes=status.effective_minutes)
        if status.effective_minutes != status.interval_minutes:
            text += translate(
                "cli.status.backed_off",
                lang,
                failures=status.consecutive_failures,
                minutes=status.interval_minutes,
            )
        if status.next_run:
            text += translate("cli.status.next", lang, time=_time(status.next_run))
        elif workers:
            text += translate("cli.status.next_worker", lang, time=_time(_worker_next(status)))
        elif workers is not None:
            text += translate("cli.status.no_worker", lang)
        else:
            text += translate("cli.status.not_running", lang)
    return text + (translate("cli.status.running", lang) if status.running else "")


def _worker_next(status: AccountStatus) -> datetime:
    """When a worker syncs the account next: its last run's start plus the interval (backoff
    included), or now (the next dispatch) when that has passed or it never ran."""
    now = datetime.now(UTC)
    last = status.last_run
    if last is None:
        return now
    return max(now, last.started_at + timedelta(minutes=status.effective_minutes))


TRIGGERS = {  # how a run started -> its word in the history (else "manual")
    "schedule": "cli.trigger.schedule",
    "worker": "cli.trigger.worker",
    "console": "cli.trigger.console",
}


def _run_line(run: SyncRun, lang: str) -> str:
    trigger = translate(TRIGGERS.get(run.trigger, "cli.trigger.manual"), lang)
    if run.finished_at is None:
        return translate("cli.status.unfinished", lang, time=_time(run.started_at), trigger=trigger)
    counts = translate(
        "cli.counts",
        lang,
        created=run.created,
        updated=run.updated,
        unchanged=run.unchanged,
        failed=plural("cli.n.failed_rows", run.failed_rows, lang),
    )
    seconds = (run.finished_at - run.started_at).total_seconds()
    return f"{_time(run.started_at)} ({trigger}, {seconds:.0f} s) {run.code}  {counts}"
