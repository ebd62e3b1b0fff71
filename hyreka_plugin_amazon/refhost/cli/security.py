"""``hyreka-amazon rotate-key`` and ``hyreka-amazon purge``: the vault key and retention.

Both open the store only with the key its data was encrypted with (a wrong or missing key
stops them before anything is written) and print counts and order ids, never personal data.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from datetime import UTC, datetime

from hyreka_plugin_amazon.refhost.background.poller import PERSONAL_DATA_DAYS
from hyreka_plugin_amazon.refhost.background.presence import poller_running
from hyreka_plugin_amazon.refhost.cli.common import (
    database_of,
    error_text,
    has_store,
    open_host,
    say,
)
from hyreka_plugin_amazon.refhost.cli.helptexts import non_negative
from hyreka_plugin_amazon.refhost.i18n.texts import translate
from hyreka_plugin_amazon.refhost.paths import data_dir
from hyreka_plugin_amazon.refhost.safety.terminal import printable
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV, VaultError
from hyreka_plugin_amazon.refhost.services import maintenance
from hyreka_plugin_amazon.refhost.services.errors import (
    AccountBusyError,
    ServiceError,
    StoreError,
    WalNotClearedError,
)

ENV_REFUSALS = ("cli.rotate.env_help", "cli.rotate.poller_running")  # said without a prefix


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Register ``rotate-key`` and ``purge`` on the ``hyreka-amazon`` parser."""
    rotate = sub.add_parser(
        "rotate-key",
        parents=[common],
        help="re-encrypt all stored secrets and orders under a new vault key",
        description=(
            "Adds a new key to the key file, re-encrypts every stored value under it and then "
            "drops the old key. Safe to interrupt: run it again to finish. Refused while a "
            "sync runs; restart the host's background polling afterwards (it keeps the key it "
            f"started with). With {KEY_ENV} set, explains how to rotate there."
        ),
    )
    rotate.set_defaults(func=cmd_rotate_key)
    purge = sub.add_parser(
        "purge",
        parents=[common],
        help="remove buyers' personal data of orders closed longer than the retention period",
        description=(
            "Anonymises shipped and cancelled orders closed more than --days days ago: names, "
            "addresses, phones, e-mails and VAT ids go; ids, amounts, dates, country and lines "
            "stay for accounting."
        ),
    )
    purge.add_argument(
        "--days",
        type=non_negative,
        default=PERSONAL_DATA_DAYS,
        help=f"retention period after shipment or cancellation (default: {PERSONAL_DATA_DAYS})",
    )
    purge.add_argument(
        "--dry-run", action="store_true", help="only show which orders it would anonymise"
    )
    purge.set_defaults(func=cmd_purge)


def cmd_rotate_key(args: argparse.Namespace) -> int:
    folder = data_dir(args.data, create=False)
    if not has_store(args):
        return _fail(say("cli.rotate.no_store", args.lang, folder=folder))

    def notify(event: str, values: Mapping[str, object]) -> None:
        if event == "lease-taken-over":  # a sync killed mid-way: say whose lease
            print(
                f"account {printable(values['account'])}: took over the lease of a sync that "
                f"ended without releasing it (process {printable(values['pid'])})"
            )
        else:
            print(say(event, args.lang, **values))

    try:
        rotation = maintenance.rotate_key(
            folder, database_of(args), poller_running=lambda: poller_running(folder), notify=notify
        )
    except ServiceError as exc:
        if exc.text_id in ENV_REFUSALS:
            print(error_text(exc, args.lang), file=sys.stderr)
            return 2
        return _fail(error_text(exc, args.lang))
    except (VaultError, StoreError) as exc:
        return _fail(error_text(exc, args.lang))
    except AccountBusyError as exc:
        return _fail(f"{printable(exc)}; " + translate("cli.rotate.busy", args.lang))
    except KeyboardInterrupt:
        print(translate("cli.rotate.interrupted", args.lang), file=sys.stderr)
        return 130
    if rotation.source == "environment":
        print(translate("cli.rotate.env_done", args.lang, count=rotation.values, env=KEY_ENV))
    else:
        print(say("cli.rotate.done", args.lang, count=rotation.values, file=rotation.key_file))
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    folder = data_dir(args.data, create=False)
    if not has_store(args):
        print(say("cli.purge.no_store", args.lang, folder=folder))
        return 0
    try:
        with open_host(args) as host:  # the command is the seller's explicit request
            purge = maintenance.purge(
                host, now=_utcnow(), after_days=args.days, dry_run=args.dry_run, confirmed=True
            )
    except (WalNotClearedError, VaultError, StoreError) as exc:
        return _fail(error_text(exc, args.lang))
    facts = {"count": len(purge.orders), "days": args.days}
    if args.dry_run:
        print(translate("cli.purge.would", args.lang, **facts))
    else:
        print(translate("cli.purge.done", args.lang, **facts))
    for amazon_order_id in purge.orders:
        print(f"  {printable(amazon_order_id)}")
    return 0


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _fail(message: str) -> int:
    print(f"hyreka-amazon: {message}", file=sys.stderr)
    return 2
