"""``hyreka-amazon worker``: one procrastinate worker syncing accounts of a PostgreSQL store.

Run as many as the accounts need, on one machine or several (they share the database named by
``--database`` or ``HYREKA_AMAZON_DATABASE``, and the vault key through ``HYREKA_AMAZON_KEY``).
Prints one line per finished sync, as ``run`` does; SIGINT or SIGTERM stops it after the syncs
it runs (a second one at once). A database outage (a PostgreSQL restart) is ridden out: it
says so, waits with backoff and runs on; only a database away for ``--give-up-after`` seconds
ends it, with exit status 75 (EX_TEMPFAIL), for a service manager to start it again.

Exit status: 0 stopped by SIGINT or SIGTERM; 2 wrong input (no PostgreSQL, a bad option);
3 a missing extra (``[postgres]``); 75 the database unreachable (at start, or longer than
``--give-up-after``); 130 a second SIGINT or SIGTERM (running syncs abandoned).
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping

from hyreka_plugin_amazon.refhost.background.poller import FinishedSync
from hyreka_plugin_amazon.refhost.cli.render import print_finished
from hyreka_plugin_amazon.refhost.i18n.texts import translate
from hyreka_plugin_amazon.refhost.paths import data_dir
from hyreka_plugin_amazon.refhost.services import accounts, opening

DEFAULT_DISPATCH_S = 60  # due accounts are deferred within a minute
DEFAULT_HEARTBEAT_S = 10.0  # procrastinate's default heartbeat
DEFAULT_GIVE_UP_S = 900  # a database away for 15 minutes ends the worker (exit 75)
EXIT_CODES = (
    "exit status: 0 stopped by SIGINT/SIGTERM; 2 wrong input; 3 a missing extra; "
    "75 the database unreachable (at start, or longer than --give-up-after); "
    "130 a second SIGINT/SIGTERM"
)


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Register ``worker`` on the ``hyreka-amazon`` parser (procrastinate is imported only
    when the command runs)."""
    worker = sub.add_parser(
        "worker",
        parents=[common],
        help="sync accounts as one of several workers sharing a PostgreSQL database",
        description=(
            "A procrastinate worker: every due account gets a sync job (one per account at a "
            "time), taken by whichever worker is free. Needs --database postgresql://... (or "
            "HYREKA_AMAZON_DATABASE). A killed worker's accounts are synced again by another "
            "within three heartbeats plus one dispatch period. A database restart is ridden out "
            "(reconnecting with backoff). Ctrl+C or SIGTERM stops it after its running syncs."
        ),
        epilog=EXIT_CODES,
    )
    worker.add_argument(
        "--concurrency",
        type=_positive_int,
        default=4,
        metavar="N",
        help="syncs this worker runs at once (default: %(default)s)",
    )
    worker.add_argument(
        "--dispatch-every",
        type=_positive_int,
        default=DEFAULT_DISPATCH_S,
        metavar="SECONDS",
        help="how often due accounts are looked for, across all workers (default: %(default)s)",
    )
    worker.add_argument(
        "--heartbeat",
        type=float,
        default=DEFAULT_HEARTBEAT_S,
        metavar="SECONDS",
        help="worker heartbeat; a worker silent for three is taken as dead and its jobs run "
        "again elsewhere (default: %(default)s)",
    )
    worker.add_argument(
        "--give-up-after",
        type=_positive_int,
        default=DEFAULT_GIVE_UP_S,
        metavar="SECONDS",
        help="a database unreachable this long ends the worker with exit status 75 "
        "(default: %(default)s)",
    )
    worker.add_argument(
        "--name", help="the worker's name in `status` and the logs (default: host:process id)"
    )
    worker.set_defaults(func=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    from hyreka_plugin_amazon.refhost.background.workers import (
        EXIT_TEMPFAIL,
        DatabaseUnavailable,
        WorkerSetup,
        cron_every,
        run_worker,
    )

    cron_every(args.dispatch_every)  # a period it cannot express is an error before connecting
    if args.heartbeat <= 0:
        raise ValueError("--heartbeat must be positive")
    if not args.verbose:  # the worker says what matters itself; --verbose shows the rest
        for noisy in ("procrastinate", "asyncio", "psycopg"):
            logging.getLogger(noisy).addHandler(logging.NullHandler())
            logging.getLogger(noisy).propagate = False

    def on_finished(done: FinishedSync) -> None:
        print_finished(done, sys.stdout, args.lang)

    def on_event(text_id: str, params: Mapping[str, object]) -> None:
        print(translate(text_id, args.lang, **params), file=sys.stderr, flush=True)

    with opening.open_folder(data_dir(args.data), database=args.database) as host:
        if opening.shared_database(host) is None:
            raise ValueError(translate("worker.needs_postgres", args.lang))
        setup = WorkerSetup(
            host,
            dispatch_s=args.dispatch_every,
            heartbeat_s=args.heartbeat,
            on_finished=on_finished,
        )
        count = len(accounts.listing(host))
        started = translate(
            "worker.started", args.lang, accounts=count, concurrency=args.concurrency
        )
        print(started, file=sys.stderr, flush=True)
        try:
            run_worker(
                setup,
                concurrency=args.concurrency,
                name=args.name,
                give_up_after_s=args.give_up_after,
                on_event=on_event,
            )
        except DatabaseUnavailable as exc:
            text = translate(
                "worker.database_gave_up", args.lang, seconds=round(exc.seconds), detail=exc.detail
            )
            print(f"hyreka-amazon: {text}", file=sys.stderr, flush=True)
            return EXIT_TEMPFAIL
    print(translate("worker.stopped", args.lang), file=sys.stderr, flush=True)
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
