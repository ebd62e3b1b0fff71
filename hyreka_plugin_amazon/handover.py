"""The sync's hand-over rules, pure functions tested without I/O: an order's host status from
Amazon's statuses, and what a report without billing columns keeps of the host's order."""

from __future__ import annotations

import dataclasses

from hyreka_plugin_amazon.contract import Order, OrderStatus
from hyreka_plugin_amazon.reports.statuses import StatusEntry, all_orders_status, items_shipping


def decide_status(
    entry: StatusEntry | None, *, in_order_report: bool, known: Order | None
) -> OrderStatus:
    """Amazon's statuses -> the host's, following the rules in README.md (How a sync works)."""
    if entry is not None:
        status = all_orders_status(entry.order_status)
        if status in (OrderStatus.SHIPPED, OrderStatus.CANCELLED, OrderStatus.OPEN):
            return status
        if items_shipping(entry.item_statuses):  # partly shipped: it was ready to ship
            return OrderStatus.OPEN
    elif known is not None and known.status in (OrderStatus.SHIPPED, OrderStatus.CANCELLED):
        return known.status  # nothing says otherwise: a closed order stays closed
    if in_order_report or (known is not None and known.status is OrderStatus.OPEN):
        return OrderStatus.OPEN
    return OrderStatus.PENDING


def kept_billing(known: Order, order: Order) -> Order:
    """``order`` from a report without bill-* columns (the seller switched "Fakturierung" off,
    or Amazon left them out) with the billing address the host already has: a report that
    does not carry billing addresses never erases one (``sync.billing_missing`` warns)."""
    if known.billing_address is None or order.billing_address is not None:
        return order
    return dataclasses.replace(
        order,
        billing_address=known.billing_address,
        billing_address_missing=known.billing_address_missing,
    )
