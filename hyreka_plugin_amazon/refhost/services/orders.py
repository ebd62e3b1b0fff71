"""Orders as the faces show them: pages of an account's orders, an order with its packages,
the buyer's name; reads only (exports that carry personal data are audited)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hyreka_plugin_amazon.contract import Order, OrderStatus
from hyreka_plugin_amazon.refhost.host import ReferenceHost

ORDERS_PER_PAGE = 50


@dataclass(frozen=True)
class OrderPage:
    """One page of an account's orders, newest first, after the status filter and search."""

    orders: tuple[Order, ...]
    page: int
    pages: int
    total: int


def order_page(
    host: ReferenceHost,
    account_id: str,
    *,
    status: OrderStatus | None = None,
    search: str = "",
    page: int = 1,
    per_page: int = ORDERS_PER_PAGE,
) -> OrderPage:
    """The orders of ``account_id`` with ``status`` whose id contains ``search``, paged."""
    needle = search.strip().lower()
    found = [
        order
        for order in host.store.iter_orders(account_id=account_id, status=status)
        if needle in order.amazon_order_id.lower()
    ]
    found.reverse()
    pages = max(1, -(-len(found) // per_page))
    page = min(max(1, page), pages)
    start = (page - 1) * per_page
    return OrderPage(tuple(found[start : start + per_page]), page, pages, len(found))


def buyer(order: Order) -> str:
    """Who bought: the company of a business order, else the billing (or shipping) name."""
    if order.buyer_company_name:
        return order.buyer_company_name
    for address in (order.billing_address, order.shipping_address):
        if address is not None and address.name:
            return address.name
    return "-"


def with_packages(host: ReferenceHost, orders: Sequence[Order]) -> list[dict[str, Any]]:
    """Each order as a dict (``orders --json``) with its ``packages`` and their state."""
    packages: dict[str, list[dict[str, Any]]] = {}
    for stored in host.store.list_shipments():
        packages.setdefault(stored.shipment.amazon_order_id, []).append(stored.as_dict())
    return [{**o.as_dict(), "packages": packages.get(o.amazon_order_id, [])} for o in orders]
