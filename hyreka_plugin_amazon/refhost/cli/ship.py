"""``hyreka-amazon ship``: "Versand bestätigen", and ``ship --retry`` for what is pending.

``ship ORDER_ID --carrier CODE --tracking NUMBER`` records the package in the host's outbox and
sends it at once. Exit 0: Amazon confirmed it; 1: refused (the reason is printed; correct it
with ``--package N`` and send again); 75 (EX_TEMPFAIL): Amazon could not be reached, the
shipment stays pending for ``ship --retry``, the next ``sync`` or ``run``.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from hyreka_plugin_amazon.contract import ShipmentOutcome, ShipmentState
from hyreka_plugin_amazon.refhost.cli.common import CliError, say
from hyreka_plugin_amazon.refhost.cli.helptexts import parsing_language
from hyreka_plugin_amazon.refhost.i18n.texts import translate
from hyreka_plugin_amazon.refhost.paths import data_dir
from hyreka_plugin_amazon.refhost.safety.terminal import json_text, printable
from hyreka_plugin_amazon.refhost.services import shipping
from hyreka_plugin_amazon.refhost.services.opening import open_folder

# 06.12.2026 (and 6.12.2026), with a time 06.12.2026 14:30 (strptime takes one digit too)
GERMAN_DATES = ("%d.%m.%Y", "%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S")
EXIT_REFUSED = 1
EXIT_PENDING = 75  # sysexits' EX_TEMPFAIL: try again later


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Register ``ship`` on the ``hyreka-amazon`` parser."""
    ship = sub.add_parser(
        "ship",
        parents=[common],
        help='"{button}": send carrier and tracking number of a package to Amazon',
        description=(
            "Records the package and confirms it to Amazon at once. Without --item every item "
            "with what is left of it goes into the package. A package Amazon could not take "
            "stays pending and is sent again by `ship --retry`, `sync` and `run`, always with "
            "the same package number (Amazon treats it as an edit, never a second package)."
        ),
    )
    ship.add_argument("order_id", nargs="?", metavar="ORDER_ID")
    ship.add_argument("--carrier", help="Amazon's carrier code or a known name (DHL, DPD ...)")
    ship.add_argument("--carrier-name", help='the carrier\'s name (needed with "Other")')
    ship.add_argument("--method", help="the shipping method, e.g. 'DHL Paket'")
    ship.add_argument("--tracking", help="the tracking number")
    ship.add_argument(
        "--ship-date",
        type=_ship_date,
        help="2026-12-06, 06.12.2026 or ISO 8601 with a time (default: now; without a zone: "
        "local time)",
    )
    ship.add_argument(
        "--item",
        action="append",
        type=_item,
        default=None,
        metavar="ORDER_ITEM_ID=QTY",
        help="an item and its quantity in the package (repeatable; default: all left)",
    )
    ship.add_argument("--account", help="the account (default: the one that has the order)")
    ship.add_argument(
        "--package", type=_positive, default=0, metavar="N", help="correct package N and resend"
    )
    ship.add_argument("--retry", action="store_true", help="send every pending confirmation")
    ship.add_argument(
        "--withdraw",
        action="store_true",
        help="withdraw refused package N of the order (with --package N) instead of correcting it",
    )
    ship.add_argument("--json", action="store_true")
    ship.set_defaults(func=cmd_ship)


def cmd_ship(args: argparse.Namespace) -> int:
    if args.retry:
        if args.order_id or args.carrier or args.tracking or args.item or args.package:
            raise CliError(translate("cli.ship_retry_alone", args.lang))
        return _retry(args)
    if args.withdraw:
        return _withdraw(args)
    missing = [
        flag
        for flag, value in (("ORDER_ID", args.order_id), ("--carrier", args.carrier),
                            ("--tracking", args.tracking))
        if not value
    ]  # fmt: skip
    if missing:
        raise CliError(translate("cli.ship_needs", args.lang, missing=", ".join(missing)))
    with open_folder(data_dir(args.data)) as host:
        outcome = shipping.ship(
            host,
            args.order_id,
            carrier=args.carrier,
            tracking_number=args.tracking,
            account_name=args.account,
            carrier_name=args.carrier_name,
            shipping_method=args.method,
            ship_date=args.ship_date,
            items=args.item,
            package_id=args.package,
            lang=args.lang,
        )
    if args.json:
        print(json_text(_outcome_json(outcome)))
    else:
        print(_line(outcome, args.lang))
    return _exit_code([outcome])


def _withdraw(args: argparse.Namespace) -> int:
    if not args.order_id or not args.package or args.carrier or args.tracking or args.item:
        raise CliError(translate("cli.ship.withdraw_needs", args.lang))
    with open_folder(data_dir(args.data)) as host:
        shipping.withdraw(host, args.order_id, args.package, account_name=args.account)
    print(
        translate(
            "cli.ship.withdrawn", args.lang, order=printable(args.order_id), package=args.package
        )
    )
    return 0


def _retry(args: argparse.Namespace) -> int:
    with open_folder(data_dir(args.data)) as host:
        outcomes = shipping.send_pending(host, args.account, lang=args.lang)
    if args.json:
        print(json_text([_outcome_json(o) for o in outcomes]))
        return _exit_code(outcomes)
    if not outcomes:
        print(translate("cli.ship_nothing_pending", args.lang))
        return 0
    for outcome in outcomes:
        order = printable(outcome.amazon_order_id)
        print(f"{order} #{outcome.package_id}  {_line(outcome, args.lang)}")
    counts = {state: sum(o.state is state for o in outcomes) for state in ShipmentState}
    print(
        translate(
            "cli.ship_summary",
            args.lang,
            confirmed=counts[ShipmentState.CONFIRMED],
            refused=counts[ShipmentState.REFUSED],
            pending=counts[ShipmentState.RETRY],
        )
    )
    return _exit_code(outcomes)


def _line(outcome: ShipmentOutcome, lang: str) -> str:
    """The outcome in one line; its message (Amazon's reason, too) ``printable``."""
    message = printable(outcome.message)
    if outcome.state is ShipmentState.CONFIRMED:
        return f"{translate('cli.ok', lang)}: {message}"
    if outcome.state is ShipmentState.REFUSED:
        return f"{translate('cli.failed', lang)}: {message}"
    return translate("cli.ship_pending", lang, package=outcome.package_id, message=message)


def _outcome_json(outcome: ShipmentOutcome) -> dict[str, Any]:
    return {
        "amazon_order_id": outcome.amazon_order_id,
        "package_id": outcome.package_id,
        "state": "pending" if outcome.state is ShipmentState.RETRY else outcome.state.value,
        "code": outcome.code,
        "message": outcome.message,
        "needs_reauthorization": outcome.needs_reauthorization,
    }


def _exit_code(outcomes: Sequence[ShipmentOutcome]) -> int:
    states = {o.state for o in outcomes}
    if ShipmentState.REFUSED in states:
        return EXIT_REFUSED
    if ShipmentState.RETRY in states:
        return EXIT_PENDING
    return 0


def _ship_date(text: str) -> datetime:
    """ISO 8601 (``2026-12-06``, ``2026-12-06T10:00:00+01:00``) or the German way of writing a
    day (``06.12.2026``, ``6.12.2026``, with a time ``06.12.2026 14:30``); without a zone the
    local time."""
    value = None
    with contextlib.suppress(ValueError):
        value = datetime.fromisoformat(text.strip())
    for layout in GERMAN_DATES:
        if value is None:
            with contextlib.suppress(ValueError):
                value = datetime.strptime(text.strip(), layout)
    if value is None:
        raise argparse.ArgumentTypeError(say("cli.arg.ship_date", parsing_language(), value=text))
    return value if value.tzinfo else value.astimezone()


def _item(text: str) -> tuple[str, int]:
    item_id, _, quantity = text.partition("=")
    if not item_id.strip() or not quantity.strip().isdigit() or int(quantity) < 1:
        raise argparse.ArgumentTypeError(say("cli.arg.ship_item", parsing_language(), value=text))
    return item_id.strip(), int(quantity)


def _positive(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(
            say("cli.arg.ship_package", parsing_language(), value=text)
        )
    return int(text)
