"""``hyreka-amazon worker``: one procrastinate worker syncing accounts of a PostgreSQL store.

Run as many as the accounts need, on one machine or several (they share the database named by
``--database`` or ``HYREKA_AMAZON_DATABASE``, and the vault key through ``HYREKA_AMAZON_KEY``).
Prints one line per finished sync, as ``run`` does; SIGINT or SIGTERM stops it after the syncs
it runs (a second one at once).
"""

from __future__ import annotations

import argparse
import sys

from hyreka_plugin_amazon.refhost.background.poller import FinishedSync
from hyreka_plugin_amazon.refhost.cli.render import print_finished
from hyreka_plugin_amazon.refhost.i18n.texts import translate
from hyreka_plugin_amazon.refhost.paths import data_dir
from hyreka_plugin_amazon.refhost.services import accounts, opening

DEFAULT_DISPATCH_S = 60  # due accounts are deferred within a minute
DEFAULT_HEARTBEAT_S = 10.0  # procrastinate's default heartbeat


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
            "HYREKA_AMAZON_DATABASE). Jobs of a killed worker are taken up by another within "
            "a few heartbeats. Ctrl+C or SIGTERM stops it after its running syncs."
        ),
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
    worker.add_argument("--name", help="the worker's name in procrastinate's tables")
    worker.set_defaults(func=cmd_worker)


def cmd_worker(args: argparse.Namespace) -> int:
    from hyreka_plugin_amazon.refhost.background.workers import WorkerSetup, cron_every, run_worker

    cron_every(args.dispatch_every)  # a period it cannot express is an error before connecting
    if args.heartbeat <= 0:
        raise ValueError("--heartbeat must be positive")

    def on_finished(done: FinishedSync) -> None:
        print_finished(done, sys.stdout, args.lang)

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
        run_worker(setup, concurrency=args.concurrency, name=args.name)
    print(translate("worker.stopped", args.lang), file=sys.stderr, flush=True)
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value
