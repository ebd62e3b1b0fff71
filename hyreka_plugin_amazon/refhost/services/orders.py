"""Orders as the faces show them: the CLI's listing and exports, the console's pages and an
order with its packages, the buyer's name.

What shows buyers' names or addresses is written to the audit log where it is read, for every
face: ``orders.export`` (the CLI's ``--format json|csv`` and ``--names``) and ``orders.view``
(the console's order list with the buyer column and an order's addresses); format and count
only, never who.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hyreka_plugin_amazon.contract import Account, Order, OrderStatus
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.services import auditing
from hyreka_plugin_amazon.refhost.services.accounts import get
from hyreka_plugin_amazon.refhost.store import StoredShipment

ORDERS_PER_PAGE = 50


@dataclass(frozen=True)
class OrderListing:
    """A slice of the orders (``offset``, at most ``limit``) and how many match in all."""

    orders: tuple[Order, ...]
    total: int
    account: Account | None


@dataclass(frozen=True)
class OrderPage:
    """One page of an account's orders, newest first, after the status filter and search."""

    orders: tuple[Order, ...]
    page: int
    pages: int
    total: int


@dataclass(frozen=True)
class OrderDetail:
    """One order with its packages and what no package holds yet (item id -> quantity)."""

    order: Order
    packages: tuple[StoredShipment, ...]
    left: dict[str, int]


def listing(
    host: ReferenceHost,
    *,
    account_name: str | None = None,
    status: OrderStatus | None = None,
    offset: int = 0,
    limit: int | None = None,
    export: str | None = None,
) -> OrderListing:
    """The orders (of one account) with ``status``, oldest first, from ``offset``; with
    ``export`` (what carries personal data: ``json``, ``csv``, ``table-names``) audited as
    ``orders.export``."""
    account = get(host, account_name) if account_name else None
    found = host.store.iter_orders(account_id=account.id if account else None, status=status)
    stop = None if limit is None else offset + limit
    orders: list[Order] = []
    total = 0  # every order that matches, for the page line
    for total, order in enumerate(found, start=1):
        if offset < total and (stop is None or total <= stop):
            orders.append(order)
    if export is not None:
        auditing.record(
            host,
            "orders.export",
            account=account.name if account else None,
            format=export,
            orders=len(orders),
        )
    return OrderListing(tuple(orders), total, account)


def order_page(
    host: ReferenceHost,
    account_id: str,
    *,
    status: OrderStatus | None = None,
    search: str = "",
    page: int = 1,
    per_page: int = ORDERS_PER_PAGE,
) -> OrderPage:
    """The orders of ``account_id`` with ``status`` whose id contains ``search``, paged, with
    their buyers: audited as ``orders.view`` when it shows any."""
    account = get(host, account_id)
    needle = search.strip().lower()
    found = [
        order
        for order in host.store.iter_orders(account_id=account.id, status=status)
        if needle in order.amazon_order_id.lower()
    ]
    found.reverse()
    pages = max(1, -(-len(found) // per_page))
    page = min(max(1, page), pages)
    start = (page - 1) * per_page
    shown = tuple(found[start : start + per_page])
    if shown:
        auditing.record(host, "orders.view", account=account.name, page="list", orders=len(shown))
    return OrderPage(shown, page, pages, len(found))


def order_detail(host: ReferenceHost, account_id: str, amazon_order_id: str) -> OrderDetail | None:
    """The order with its packages and what is left to ship; None when it is not imported.
    Shows its addresses: audited as ``orders.view``."""
    account = get(host, account_id)
    order = host.store.get_order(account.id, amazon_order_id)
    if order is None:
        return None
    auditing.record(host, "orders.view", account=account.name, page="order", orders=1)
    packages = tuple(host.store.list_shipments(account.id, amazon_order_id))
    return OrderDetail(order, packages, items_left(host, account.id, order))


def get_order(host: ReferenceHost, account_id: str, amazon_order_id: str) -> Order | None:
    """The imported order (nothing shown: not audited), None when it is not imported."""
    return host.store.get_order(get(host, account_id).id, amazon_order_id)


def items_left(host: ReferenceHost, account_id: str, order: Order) -> dict[str, int]:
    """Each item's quantity no package holds yet; none when every item is in a package."""
    try:
        return dict(host.items_left(account_id, order.amazon_order_id, order))
    except ValueError:
        return {}


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
