"""``hyreka-amazon invoice``: "Rechnung hochladen", ``invoice --retry`` for what is pending, and
``hyreka-amazon invoices``: the invoice outbox.

``invoice ORDER_ID --file PATH --number NUMBER`` records the invoice in the host's outbox and
uploads it at once. Exit 0: Amazon accepted it; 1: refused (the reason is printed; correct
the file or number and upload again); 2: the input was wrong (nothing stored or sent); 75
(EX_TEMPFAIL): Amazon could not be reached or is still checking it: the invoice stays queued
for ``invoice --retry``, the next ``sync`` or ``run``, and is never sent twice.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hyreka_plugin_amazon.contract import (
    InvoiceOutcome,
    InvoiceState,
)
from hyreka_plugin_amazon.refhost.cli.common import CliError
from hyreka_plugin_amazon.refhost.i18n.texts import translate
from hyreka_plugin_amazon.refhost.paths import data_dir
from hyreka_plugin_amazon.refhost.safety.terminal import json_text, printable
from hyreka_plugin_amazon.refhost.services import invoicing
from hyreka_plugin_amazon.refhost.services.opening import open_folder

EXIT_REFUSED = 1
EXIT_PENDING = 75  # sysexits' EX_TEMPFAIL: try again later
_STATE_NAMES = {
    InvoiceState.ACCEPTED: "accepted",
    InvoiceState.REFUSED: "refused",
    InvoiceState.UPLOADED: "uploaded",
    InvoiceState.RETRY: "pending",
}


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Register ``invoice`` and ``invoices`` on the ``hyreka-amazon`` parser."""
    invoice = sub.add_parser(
        "invoice",
        parents=[common],
        help='"Rechnung hochladen": upload an invoice PDF to an Amazon order',
        description=(
            "Records the invoice and uploads it to Amazon at once, through Amazon's VAT "
            "invoice feed. Order, number and type identify it: the same again is never a "
            "second document at Amazon. One Amazon could not take stays queued and is sent by "
            "`invoice --retry`, `sync` and `run`. Totals default to what Amazon charged."
        ),
    )
    invoice.add_argument("order_id", nargs="?", metavar="ORDER_ID")
    invoice.add_argument("--file", type=Path, metavar="PATH", help="the invoice as a PDF file")
    invoice.add_argument("--number", metavar="NUMBER", help="the invoice number")
    invoice.add_argument(
        "--total", metavar="AMOUNT", help="the invoice's total with VAT (default: the order's)"
    )
    invoice.add_argument(
        "--vat", metavar="AMOUNT", help="the invoice's VAT (default: the order's, as imported)"
    )
    invoice.add_argument(
        "--type",
        default="invoice",
        choices=invoicing.DOCUMENT_TYPES,
        help="invoice or credit-note (default: invoice)",
    )
    invoice.add_argument(
        "--transaction-id", metavar="ID", help="a credit note's refund transaction at Amazon"
    )
    invoice.add_argument("--account", help="the account (default: the one that has the order)")
    invoice.add_argument("--retry", action="store_true", help="send every queued invoice")
    invoice.add_argument(
        "--withdraw",
        action="store_true",
        help="withdraw a refused invoice (ORDER_ID --number NUMBER) instead of correcting it",
    )
    invoice.add_argument("--json", action="store_true")
    invoice.set_defaults(func=cmd_invoice)

    listing = sub.add_parser(
        "invoices",
        parents=[common],
        help="list the invoices uploaded to Amazon and where each stands",
        description="The invoice outbox: each invoice with its state and Amazon's reason.",
    )
    listing.add_argument("--account", help="only this account's invoices")
    listing.add_argument("--state", choices=invoicing.STATES, help="only invoices in this state")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_invoices)


def cmd_invoice(args: argparse.Namespace) -> int:
    if args.retry:
        given = (args.order_id, args.file, args.number, args.total, args.vat, args.transaction_id,
                 args.withdraw)  # fmt: skip
        if any(given):
            raise CliError(translate("cli.invoice.retry_alone", args.lang))
        return _retry(args)
    if args.withdraw:
        return _withdraw(args)
    missing = [
        flag
        for flag, value in (("ORDER_ID", args.order_id), ("--file", args.file),
                            ("--number", args.number))
        if not value
    ]  # fmt: skip
    if missing:
        raise CliError(translate("cli.invoice.needs", args.lang, missing=", ".join(missing)))
    with open_folder(data_dir(args.data)) as host:
        done = invoicing.upload(
            host,
            args.order_id,
            path=args.file,
            number=args.number,
            total=args.total,
            vat=args.vat,
            document_type=args.type,
            transaction_id=args.transaction_id,
            account_name=args.account,
            lang=args.lang,
        )
    if args.json:
        print(json_text(done.stored.as_dict()))
    else:
        print(_line(done.outcome, args.lang))
    return _exit_code([done.outcome])


def _withdraw(args: argparse.Namespace) -> int:
    if not args.order_id or not args.number or args.file or args.retry:
        raise CliError(translate("cli.invoice.withdraw_needs", args.lang))
    with open_folder(data_dir(args.data)) as host:
        invoicing.withdraw(
            host,
            args.order_id,
            number=args.number,
            document_type=args.type,
            account_name=args.account,
        )
    print(
        translate(
            "cli.invoice.withdrawn",
            args.lang,
            order=printable(args.order_id),
            number=printable(args.number),
        )
    )
    return 0


def _retry(args: argparse.Namespace) -> int:
    with open_folder(data_dir(args.data)) as host:
        outcomes = invoicing.send_pending(host, args.account, lang=args.lang)
    if args.json:
        print(json_text([_outcome_json(o) for o in outcomes]))
        return _exit_code(outcomes)
    if not outcomes:
        print(translate("cli.invoice.nothing_pending", args.lang))
        return 0
    for outcome in outcomes:
        order, number = printable(outcome.amazon_order_id), printable(outcome.invoice_number)
        print(f"{order} {number}  {_line(outcome, args.lang)}")
    counts = {state: sum(o.state is state for o in outcomes) for state in InvoiceState}
    print(
        translate(
            "cli.invoice.summary",
            args.lang,
            accepted=counts[InvoiceState.ACCEPTED],
            refused=counts[InvoiceState.REFUSED],
            pending=counts[InvoiceState.RETRY] + counts[InvoiceState.UPLOADED],
        )
    )
    return _exit_code(outcomes)


def cmd_invoices(args: argparse.Namespace) -> int:
    with open_folder(data_dir(args.data)) as host:
        rows = invoicing.list_invoices(host, args.account, state=args.state)
    if args.json:
        print(json_text([row.as_dict() for row in rows]))
        return 0
    if not rows:
        print(translate("cli.invoice.none", args.lang))
        return 0
    for row in rows:
        state = translate(f"cli.invoice.state.{row.state}", args.lang)
        line = (
            f"{row.amazon_order_id}  {row.invoice_number}  {row.document_type.value}  {state}"
            f"  {row.feed_id or '-'}"
        )
        if row.state == "refused" and row.reason:
            line += f"  {row.reason}"
        print(printable(line))
    return 0


def _line(outcome: InvoiceOutcome, lang: str) -> str:
    """The outcome in one line; its message (Amazon's reason, too) ``printable``."""
    message = printable(outcome.message)
    if outcome.state is InvoiceState.ACCEPTED:
        return f"{translate('cli.ok', lang)}: {message}"
    if outcome.state is InvoiceState.REFUSED:
        return f"{translate('cli.failed', lang)}: {message}"
    return translate("cli.invoice.pending", lang, message=message)


def _outcome_json(outcome: InvoiceOutcome) -> dict[str, Any]:
    return {
        "amazon_order_id": outcome.amazon_order_id,
        "invoice_number": outcome.invoice_number,
        "document_type": outcome.document_type.value,
        "state": _STATE_NAMES[outcome.state],
        "reason": outcome.message,
        "feed_id": outcome.feed_id,
        "code": outcome.code,
        "needs_reauthorization": outcome.needs_reauthorization,
    }


def _exit_code(outcomes: Sequence[InvoiceOutcome]) -> int:
    states = {o.state for o in outcomes}
    if InvoiceState.REFUSED in states:
        return EXIT_REFUSED
    if states & {InvoiceState.RETRY, InvoiceState.UPLOADED}:
        return EXIT_PENDING
    return 0
