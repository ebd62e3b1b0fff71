"""``hyreka-amazon orders``: the imported orders as a table, JSON or CSV.

The table shows per order its id, date, marketplace, status, where the bill goes (city and
country; with ``--names`` the billing name, like an export) and its total in the run's
language (``22,49 €`` in German, ``€22.49`` in English), then its lines with shipping
and discounts, so the lines add up to the total. ``--limit``/``--offset`` page through many
orders. Exports (``--format json|csv``) carry no personal data either (addresses keep city
and country) unless ``--names`` asks for it: then they are whole, and written to the audit
log (format and count only).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Final, TextIO

from hyreka_plugin_amazon.contract import Order, OrderLine, OrderStatus
from hyreka_plugin_amazon.refhost.cli.common import open_host, say
from hyreka_plugin_amazon.refhost.cli.helptexts import non_negative, parsing_language
from hyreka_plugin_amazon.refhost.i18n import formatting
from hyreka_plugin_amazon.refhost.i18n.texts import DEFAULT_LOCALE, plural, translate
from hyreka_plugin_amazon.refhost.safety.csvcells import csv_cell
from hyreka_plugin_amazon.refhost.safety.terminal import json_text, printable
from hyreka_plugin_amazon.refhost.services import accounts
from hyreka_plugin_amazon.refhost.services import orders as order_reads

CSV_COLUMNS: Final = (
    "amazon_order_id", "purchase_date", "marketplace", "status", "billing_name",
    "billing_street", "billing_postcode", "billing_city", "billing_country", "total",
    "currency", "lines", "skus",
)  # fmt: skip
# ``--csv-dialect``: ``excel`` (commas, a decimal point: machine-readable, the English runs'
# default) or ``excel-de`` (semicolons, a decimal comma, UTF-8 with a BOM: what a German
# spreadsheet opens as columns and numbers; the German runs' default)
CSV_DIALECTS: Final = ("excel", "excel-de")
BOM: Final = "\ufeff"
STATUS_TEXT: Final = {
    OrderStatus.OPEN: "cli.status_word.open",
    OrderStatus.PENDING: "cli.status_word.pending",
    OrderStatus.SHIPPED: "cli.status_word.shipped",
    OrderStatus.CANCELLED: "cli.status_word.cancelled",
}


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Register ``orders`` on the ``hyreka-amazon`` parser."""
    orders = sub.add_parser("orders", parents=[common], help="list imported orders")
    orders.add_argument(
        "--status",
        type=status_of,
        metavar="STATUS",
        help="open, pending, shipped or cancelled (also as the table words them)",
    )
    orders.add_argument("--account")
    orders.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="table (default), json or csv (one row per order); personal data only with --names",
    )
    orders.add_argument("--json", action="store_true", help="the same as --format json")
    orders.add_argument(
        "--csv-dialect",
        choices=CSV_DIALECTS,
        help="excel: commas and a decimal point; excel-de: semicolons, a decimal comma and a "
        "BOM, for German spreadsheets (default: excel-de with --lang de, else excel)",
    )
    orders.add_argument(
        "--names",
        action="store_true",
        help="show buyers' names (in the table; in exports also addresses, phones, e-mail): "
        "personal data, recorded in the audit log",
    )
    orders.add_argument("--limit", type=non_negative, metavar="N", help="show at most N orders")
    orders.add_argument(
        "--offset", type=non_negative, default=0, metavar="N", help="skip the first N orders"
    )
    orders.set_defaults(func=cmd_orders)


def cmd_orders(args: argparse.Namespace) -> int:
    status = args.status
    chosen = "json" if args.json else args.format
    with open_host(args) as host:
        listing = order_reads.listing(
            host,
            account_name=args.account,
            status=status,
            offset=args.offset,
            limit=args.limit,
            names=args.names,
            shown_as=chosen,
        )
        orders, total = listing.orders, listing.total
        codes_of = accounts.marketplace_codes(*accounts.connectors(host))
        shaped = order_reads.with_packages(host, orders) if chosen == "json" else []
    if chosen == "json":
        print(json_text(shaped))
    elif chosen == "csv":
        dialect = args.csv_dialect or ("excel-de" if args.lang == "de" else "excel")
        write_csv(orders, sys.stdout, marketplace_code=codes_of, dialect=dialect)
    else:
        print_orders(orders, sys.stdout, args.lang, marketplace_code=codes_of, names=args.names)
        if len(orders) != total:
            last = args.offset + len(orders)
            print(
                translate(
                    "cli.orders_page",
                    args.lang,
                    first=min(args.offset + 1, last),
                    last=last,
                    total=total,
                    next=last,
                )
            )
    return 0


# ------------------------------------------------------------------------------ output


def print_orders(
    orders: Sequence[Order],
    out: TextIO,
    lang: str = DEFAULT_LOCALE,
    *,
    marketplace_code: Callable[[str | None], str] | None = None,
    names: bool = False,
) -> None:
    """One row per order (id, date, marketplace, status, billing city and country or with
    ``names`` the billing name, total), then its lines with shipping and discounts; last the
    count. Buyers' names only when asked for: CLI output carries no personal data. Every row
    is ``printable``: report text (titles, SKUs, cities, names) prints inert."""
    code_of = marketplace_code or (lambda marketplace_id: marketplace_id or "-")
    for order in orders:
        when = order.purchase_date.date().isoformat() if order.purchase_date else "-"
        billing = order.billing_address
        if billing is None:
            name = translate("cli.no_billing", lang)
        elif names:
            name = billing.name or billing.company or "-"
        else:
            name = translate(
                "cli.bill_to", lang, city=billing.city or "-", country=billing.country_code or "-"
            )
        status = translate(STATUS_TEXT[order.status], lang)
        total = money(order.total, order.currency, lang)
        row = (
            f"{order.amazon_order_id}  {when}  {code_of(order.marketplace_id):<3}  "
            f"{status:<18}  {name}  {total}"
        )
        print(printable(row), file=out)
        for line in order.lines:
            print("    " + printable(line_text(line, order.currency, lang)), file=out)
    print(plural("cli.orders", len(orders), lang), file=out)


def line_text(line: OrderLine, currency: str | None, lang: str) -> str:
    """``2 × SKU Title: 44,98 €, Versand 4,99 €, Rabatt -5,00 €`` (the parts that are not 0)."""
    parts = [money(line.item_price, currency, lang)]
    extras = (
        ("cli.line.shipping", line.shipping_price),
        ("cli.line.discount", line.item_promotion_discount),
        ("cli.line.shipping_discount", line.ship_promotion_discount),
    )
    for message_id, amount in extras:
        if amount:
            parts.append(translate(message_id, lang, amount=money(amount, currency, lang)))
    title = f" {line.title}" if line.title else ""
    return f"{line.quantity} × {line.sku or '-'}{title}: " + ", ".join(parts)


def money(amount: Decimal | None, currency: str | None, lang: str = DEFAULT_LOCALE) -> str:
    """``22,49 €`` (German), ``€22.49`` (English): the console's format (``i18n.formatting``);
    an amount the report did not have (None) ``-``."""
    return formatting.money(amount, currency, lang)


def write_csv(
    orders: Sequence[Order],
    out: TextIO,
    *,
    marketplace_code: Callable[[str | None], str] | None = None,
    dialect: str = "excel",
) -> None:
    """One row per order (ISO dates; the SKUs of its lines joined by ``, ``); ``dialect`` one
    of CSV_DIALECTS. Every cell goes through ``csv_cell`` (no formula reaches a spreadsheet);
    street and postcode are as empty as the name when the orders come without personal
    data."""
    code_of = marketplace_code or (lambda marketplace_id: marketplace_id or "")
    german = dialect == "excel-de"
    if german:
        out.write(BOM)
    writer = csv.writer(out, delimiter=";" if german else ",", lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for order in orders:
        billing = order.billing_address
        total = order.total
        writer.writerow(
            csv_cell(value)
            for value in (
                order.amazon_order_id,
                order.purchase_date.isoformat() if order.purchase_date else "",
                code_of(order.marketplace_id),
                order.status.value,
                (billing.name or "") if billing else "",
                ", ".join(billing.lines) if billing else "",
                (billing.postal_code or "") if billing else "",
                (billing.city or "") if billing else "",
                (billing.country_code or "") if billing else "",
                str(total).replace(".", ",") if german and total is not None else total,
                order.currency or "",
                len(order.lines),
                ", ".join(line.sku for line in order.lines if line.sku),
            )
        )


def status_of(text: str) -> OrderStatus:
    """A ``type=`` for ``--status``: the status (``open``), or its word in the table of the
    run's language (``offen``, ``wartet auf Zahlung``), any case."""
    lang = parsing_language()
    wanted = " ".join(text.split()).casefold()
    for status in OrderStatus:
        if wanted in (status.value, translate(STATUS_TEXT[status], lang).casefold()):
            return status
    named = {status.value: translate(STATUS_TEXT[status], lang) for status in OrderStatus}
    words = ", ".join(code if word == code else f"{code} ({word})" for code, word in named.items())
    raise argparse.ArgumentTypeError(say("cli.arg.status", lang, value=text, choices=words))
