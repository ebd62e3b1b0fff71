"""Orders as the faces show them: the CLI's listing and exports, the console's pages and an
order with its packages, the buyer's name.

The CLI's listing and exports carry no personal data unless the seller asks for it
(``names``, the CLI's ``--names``): without it each order comes as ``without_personal_data``
makes it (city and country of its addresses, as the table shows where the bill goes; no
names, companies, street lines, postal codes, phones, e-mail or VAT id), whatever the format.

What shows buyers' names or addresses is written to the audit log where it is read, for every
face: ``orders.export`` (the CLI's ``--names`` in any format) and ``orders.view`` (the
console's order list with the buyer column and an order's addresses); format and count only,
never who.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hyreka_plugin_amazon.contract import Account, Address, Order, OrderStatus
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
    names: bool = False,
    shown_as: str = "table",
) -> OrderListing:
    """The orders (of one account) with ``status``, oldest first, from ``offset``; without
    personal data (``without_personal_data``) unless ``names``, which is audited as
    ``orders.export`` with the format they are shown in (``shown_as``: ``table``, ``json``
    or ``csv``; the table as ``table-names``) and the count."""
    account = get(host, account_name) if account_name else None
    found = host.store.iter_orders(account_id=account.id if account else None, status=status)
    stop = None if limit is None else offset + limit
    orders: list[Order] = []
    total = 0  # every order that matches, for the page line
    for total, order in enumerate(found, start=1):
        if offset < total and (stop is None or total <= stop):
            orders.append(order if names else without_personal_data(order))
    if names:
        auditing.record(
            host,
            "orders.export",
            account=account.name if account else None,
            format="table-names" if shown_as == "table" else shown_as,
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


def without_personal_data(order: Order) -> Order:
    """The order as listings and exports show it unless names are asked for: its addresses
    keep city, state and country (where it goes); names, companies, street lines, postal
    codes, phones, the buyer's e-mail, company and VAT id are left out (None)."""
    return dataclasses.replace(
        order,
        billing_address=_where_only(order.billing_address),
        shipping_address=_where_only(order.shipping_address),
        buyer_email=None,
        buyer_company_name=None,
        buyer_tax_registration_id=None,
    )


def _where_only(address: Address | None) -> Address | None:
    if address is None:
        return None
    return Address(
        name=None,
        lines=(),
        postal_code=None,
        city=address.city,
        country_code=address.country_code,
        state=address.state,
    )


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
