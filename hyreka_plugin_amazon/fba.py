"""FBA (Amazon-fulfilled) orders: the account setting and the rules of their import.

Amazon's flat-file order reports list seller-fulfilled orders only; an Amazon-fulfilled sale
reaches the Warenwirtschaft through ``GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING`` (FBA
shipments, with billing and shipping addresses, by shipment date). With the account setting
``fba_orders`` on (the default in the EU, where that report exists) each sync requests it over
its window beside the two other reports and imports its orders as SHIPPED (``sync.py`` reads
it; this module decides). The guarantees are the order import's:

- An FBA order is imported only once Amazon has shipped all of it (the status report says
  ``Shipped``); one shipped in part waits, and the window is held, so a later sync reads all
  its shipments again from the window's start and imports the order whole.
- An Amazon-fulfilled order the status report calls shipped (or in part) that the FBA report
  of the window does not list is left behind: the window is held (Amazon adds shipments to the
  report one to three hours, rarely 24 hours, after they leave); after ``FBA_REPORT_LAG`` it is
  recorded as a problem (retried by every sync, dismissible by the seller).
- A known order is updated, never duplicated: its lines are merged by order item id.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final, Literal

from hyreka_plugin_amazon.connector import FBA_ORDERS_SETTING
from hyreka_plugin_amazon.contract import Account, Order, OrderStatus, Problem
from hyreka_plugin_amazon.reports.catalogue import Layout
from hyreka_plugin_amazon.reports.reader import HeaderError, ReportReader
from hyreka_plugin_amazon.reports.statuses import StatusEntry, all_orders_status, items_shipping

FBA_REPORT: Final = "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING"
FBA_REPORT_MAX_DAYS: Final = 30  # Amazon: "up to one month" per request
FBA_REPORT_LAG: Final = timedelta(hours=24)  # "one to three hours, rarely 24 hours"
NOT_IN_FBA_REPORT: Final = (
    "shipped by Amazon, but not in the FBA shipments report of the window (switch the "
    "report's restricted role on, or dismiss the problem)"
)

FbaHold = Literal["fba partly shipped", "fba shipments missing", "status unknown"]

_TRUE = frozenset({"true", "1", "yes", "on", "ja"})
_FALSE = frozenset({"false", "0", "no", "off", "nein"})


def fba_orders_enabled(account: Account) -> bool:
    """Whether a sync imports FBA orders: the setting, else on in the EU."""
    value = account.settings.get(FBA_ORDERS_SETTING)
    if value is None or not value.strip():
        return account.region.lower() == "eu"
    text = value.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"the account setting {FBA_ORDERS_SETTING} must be true or false")


def report_start(window_start: datetime, now: datetime) -> datetime:
    """The FBA report's start: the window's, at most ``FBA_REPORT_MAX_DAYS`` back."""
    return max(window_start, now - timedelta(days=FBA_REPORT_MAX_DAYS) + timedelta(minutes=5))


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with one order of the FBA report: import it with ``status``, or count it
    as ``outcome`` ("waiting" / "skipped"); ``hold`` keeps the window open."""

    status: OrderStatus | None
    outcome: Literal["waiting", "skipped"] = "waiting"
    hold: FbaHold | None = None


def decide(entry: StatusEntry | None, known: Order | None) -> Decision:
    """An FBA order's fate from its status report entry and the host's copy."""
    if entry is not None:
        status = all_orders_status(entry.order_status)
        if status is OrderStatus.SHIPPED:
            return Decision(OrderStatus.SHIPPED)
        if status is OrderStatus.CANCELLED:  # the rest of a partly shipped order cancelled
            return Decision(status) if known is not None else Decision(None, "skipped")
        return Decision(None, "waiting", "fba partly shipped")  # more shipments to come
    if known is not None and known.status in (OrderStatus.SHIPPED, OrderStatus.CANCELLED):
        return Decision(known.status)  # read again in the overlap: nothing changed
    return Decision(None, "waiting", "status unknown")


def merged(known: Order | None, order: Order) -> Order:
    """``order`` (from the FBA report) over the host's copy: lines merged by item id (the
    report's replace the known ones), what the FBA report lacks (B2B fields) kept."""
    if known is None:
        return order
    lines = {line.order_item_id: line for line in known.lines}
    lines.update((line.order_item_id, line) for line in order.lines)
    return dataclasses.replace(
        order,
        lines=tuple(lines.values()),
        billing_address=order.billing_address or known.billing_address,
        shipping_address=order.shipping_address or known.shipping_address,
        buyer_email=order.buyer_email or known.buyer_email,
        is_business_order=order.is_business_order or known.is_business_order,
        purchase_order_number=order.purchase_order_number or known.purchase_order_number,
        buyer_company_name=order.buyer_company_name or known.buyer_company_name,
        buyer_tax_registration_id=(
            order.buyer_tax_registration_id or known.buyer_tax_registration_id
        ),
        billing_address_missing=order.billing_address_missing and known.billing_address_missing,
    )


def shipped_by_amazon(entry: StatusEntry) -> bool:
    """Whether the status report says Amazon shipped (some of) this FBA order."""
    if entry.fulfillment_channel != "AFN":
        return False
    status = all_orders_status(entry.order_status)
    return status is OrderStatus.SHIPPED or items_shipping(entry.item_statuses)


@dataclass
class LeftBehind:
    """FBA orders shipped by Amazon that the FBA report of the window did not list."""

    recent: list[str] = dataclasses.field(default_factory=list)  # may still come: hold
    problems: list[Problem] = dataclasses.field(default_factory=list)  # overdue


def left_behind(
    statuses: Mapping[str, StatusEntry],
    listed: set[str],
    known_status: Callable[[str], OrderStatus | None],
    window_end: datetime,
) -> LeftBehind:
    """The orders the status report calls shipped by Amazon, not ``listed`` in the FBA report
    and not already shipped in the host (``known_status``: the host's status of an order)."""
    found = LeftBehind()
    for order_id, entry in statuses.items():
        if order_id in listed or not shipped_by_amazon(entry):
            continue
        if known_status(order_id) in (OrderStatus.SHIPPED, OrderStatus.CANCELLED):
            continue
        updated = entry.last_updated
        if updated is None or window_end - updated < FBA_REPORT_LAG:
            found.recent.append(order_id)
        else:
            found.problems.append(Problem(NOT_IN_FBA_REPORT, order_id))
    return found


def check_layout(reader: ReportReader) -> None:
    """The FBA report's header must be the FBA shipments layout (HeaderError otherwise)."""
    if reader.layout is not Layout.FBA_SHIPMENTS:
        raise HeaderError(f"the FBA report is a {reader.layout} report, not FBA shipments")
