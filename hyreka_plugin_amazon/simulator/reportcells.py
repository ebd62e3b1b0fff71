"""Cells the simulator's flat-file reports share: dates, amounts, address lines and the
address columns of the order and FBA shipments reports (same names in both layouts)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from hyreka_plugin_amazon.simulator.ordermodel import SimOrder

Row = dict[str, str]
CENT = Decimal("0.01")
PLACEHOLDER = "--"  # what Amazon.co.jp writes for an empty city or address line


def lines(prefix: str, values: Sequence[str]) -> Row:
    """``prefix1`` .. ``prefix3`` from up to three address lines (missing ones empty)."""
    return {f"{prefix}{n}": values[n - 1] if n <= len(values) else "" for n in (1, 2, 3)}


def date(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""


def money(value: Decimal) -> str:
    return format(value, "f")


def addresses(order: SimOrder) -> Row:
    """The shipping and billing address columns, ``recipient-name`` to ``bill-country``."""
    ship, bill = order.ship_address, order.bill_address
    return {
        "recipient-name": order.recipient_name,
        **lines("ship-address-", ship.lines),
        "ship-city": ship.city,
        "ship-state": ship.state,
        "ship-postal-code": ship.postal_code,
        "ship-country": ship.country_code,
        "ship-phone-number": order.ship_phone,
        **lines("bill-address-", bill.lines),
        "bill-city": bill.city,
        "bill-state": bill.state,
        "bill-postal-code": bill.postal_code,
        "bill-country": bill.country_code,
    }


def placeholders(cells: Row) -> Row:
    """Address cells as Amazon.co.jp writes them: an empty city, or an empty second or third
    line of a filled address, is ``--``."""
    found = dict(cells)
    for prefix in ("ship-", "bill-"):
        if not found.get(f"{prefix}address-1"):
            continue  # no address at all (Japan's FBA report leaves bill-* empty)
        for name in (f"{prefix}city", f"{prefix}address-2", f"{prefix}address-3"):
            if not found.get(name):
                found[name] = PLACEHOLDER
    return found
