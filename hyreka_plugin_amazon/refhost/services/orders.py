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
import unicodedata
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final, Literal

from hyreka_plugin_amazon.contract import Account, Address, DocumentType, Order, OrderStatus
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.i18n.formatting import day_bounds
from hyreka_plugin_amazon.refhost.services import auditing
from hyreka_plugin_amazon.refhost.services.accounts import get
from hyreka_plugin_amazon.refhost.store import OrderSummary, StoredShipment

ORDERS_PER_PAGE = 50


@dataclass(frozen=True)
class OrderListing:
    """A slice of the orders (``offset``, at most ``limit``) and how many match in all."""

    orders: tuple[Order, ...]
    total: int
    account: Account | None


class SortKey(StrEnum):
    """The order list's sortable columns."""

    DATE = "date"
    ID = "id"
    MARKETPLACE = "marketplace"
    STATUS = "status"
    BUYER = "buyer"
    TOTAL = "total"


ALL_STATUSES: Final = "all"  # the query string's status for "alle"
INVOICE_MISSING: Final = "missing"  # the query string's invoice=missing: "Rechnung fehlt"


@dataclass(frozen=True)
class OrderQuery:
    """What an order list shows of one account: a status (None: all; open by default), the
    purchase days from ``first_day`` to ``last_day`` (the seller's days, inclusive), a search
    (order id, buyer, city, SKU or product title; every word must be found), the sort column
    and direction, and the page. ``from_args``/``as_args`` keep it in a query string."""

    status: OrderStatus | None = OrderStatus.OPEN
    first_day: date | None = None
    last_day: date | None = None
    search: str = ""
    sort: SortKey = SortKey.DATE
    descending: bool = True
    page: int = 1
    per_page: int = ORDERS_PER_PAGE
    invoice_missing: bool = False  # "Rechnung fehlt": shipped, no accepted invoice

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> OrderQuery:
        """The query of a query string (``status``, ``from``, ``to``, ``q``, ``sort``,
        ``dir``, ``page``); what does not parse is left at its default."""
        wanted = args.get("status")
        status: OrderStatus | None = OrderStatus.OPEN
        invoice_missing = args.get("invoice") == INVOICE_MISSING
        if invoice_missing:
            status = OrderStatus.SHIPPED
        elif wanted == ALL_STATUSES:
            status = None
        elif wanted in set(OrderStatus):
            status = OrderStatus(wanted)
        sort = args.get("sort", "")
        key = SortKey(sort) if sort in set(SortKey) else SortKey.DATE
        direction = args.get("dir")
        descending = direction == "desc" if direction in ("asc", "desc") else key is SortKey.DATE
        return cls(
            status=status,
            first_day=_day(args.get("from")),
            last_day=_day(args.get("to")),
            search=args.get("q", "").strip()[:200],
            sort=key,
            descending=descending,
            page=max(1, _number(args.get("page"), 1)),
            invoice_missing=invoice_missing,
        )

    def as_args(self) -> dict[str, str]:
        """The query string of this query (what ``from_args`` reads back to it)."""
        args = {
            "status": self.status.value if self.status else ALL_STATUSES,
            "sort": self.sort.value,
            "dir": "desc" if self.descending else "asc",
            "page": str(self.page),
        }
        if self.first_day:
            args["from"] = self.first_day.isoformat()
        if self.last_day:
            args["to"] = self.last_day.isoformat()
        if self.search:
            args["q"] = self.search
        if self.invoice_missing:
            args["invoice"] = INVOICE_MISSING
        return args

    def but(self, **changes: Any) -> OrderQuery:
        """This query changed (a filter, sort or search change goes back to page 1)."""
        if "page" not in changes:
            changes["page"] = 1
        return replace(self, **changes)

    def sorted_by(self, key: SortKey) -> OrderQuery:
        """Sorted by ``key``: the other direction when it is sorted by it already, else
        newest (dates) or A to Z first."""
        if key is self.sort:
            return self.but(descending=not self.descending)
        return self.but(sort=key, descending=key is SortKey.DATE)

    def matches(self, order: Order) -> bool:
        """Whether the search finds ``order`` (every word in its id, buyer, city, SKU or
        title; case and accents as typed aside from case)."""
        words = _fold(self.search).split()
        if not words:
            return True
        haystack = searchable(order)
        return all(word in haystack for word in words)


@dataclass(frozen=True)
class OrderPage:
    """One page of an account's orders after the query's filter, search and sort."""

    orders: tuple[Order, ...]
    query: OrderQuery  # the page is the one shown (within 1..pages)
    pages: int
    total: int  # the orders that match
    counts: dict[OrderStatus, int]  # the account's orders by status (for the filter)

    @property
    def page(self) -> int:
        return self.query.page


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


def find_orders(
    host: ReferenceHost,
    account_id: str,
    query: OrderQuery,
    *,
    zone: tzinfo = UTC,
    marketplace_code: Callable[[str | None], str] | None = None,
) -> OrderPage:
    """The page of ``account_id``'s orders ``query`` asks for, its days in ``zone``; sorted by
    marketplace as ``marketplace_code`` names them. Audited as ``orders.view`` when it shows
    any (their buyers).

    Filters, sorting and paging use the store's plain columns; only the page's orders are
    decrypted. Personal data is encrypted at rest, so a search (or sorting by buyer) decrypts
    the orders the filters leave in memory and looks there (benchmarks/console_search.py).
    """
    account = get(host, account_id)
    summaries = host.store.order_summaries(account.id)
    counts = dict(Counter(s.status for s in summaries))
    start, end = day_bounds(query.first_day, query.last_day, zone)
    invoiced = _invoiced(host, account.id) if query.invoice_missing else set()
    chosen = [
        s
        for s in summaries
        if (query.status is None or s.status is query.status)
        and _within(s.purchase_date, start, end)
        and s.amazon_order_id not in invoiced
    ]
    if query.search.strip() or query.sort is SortKey.BUYER:
        wanted = {s.amazon_order_id for s in chosen}
        found = [
            order
            for order in host.store.iter_orders(
                account_id=account.id, status=query.status, keep=_prefilter(query.search)
            )
            if order.amazon_order_id in wanted and query.matches(order)
        ]
        found.sort(key=_order_key(query.sort, marketplace_code), reverse=query.descending)
        pages, shown_query = _paging(query, len(found))
        first = (shown_query.page - 1) * query.per_page
        shown = tuple(found[first : first + query.per_page])
        total = len(found)
    else:
        chosen.sort(key=_summary_key(query.sort, marketplace_code), reverse=query.descending)
        pages, shown_query = _paging(query, len(chosen))
        first = (shown_query.page - 1) * query.per_page
        ids = [s.amazon_order_id for s in chosen[first : first + query.per_page]]
        orders = (host.store.get_order(account.id, i) for i in ids)
        shown = tuple(order for order in orders if order is not None)
        total = len(chosen)
    if shown:
        auditing.record(host, "orders.view", account=account.name, page="list", orders=len(shown))
    return OrderPage(shown, shown_query, pages, total, counts)


def _invoiced(host: ReferenceHost, account_id: str) -> set[str]:
    """The orders of the account with an invoice Amazon accepted."""
    accepted = host.store.list_invoices(account_id, state="accepted")
    return {i.amazon_order_id for i in accepted if i.document_type is DocumentType.INVOICE}


def searchable(order: Order) -> str:
    """What the search looks in, folded: the order id, buyer (company, billing and shipping
    names), cities, SKUs and product titles."""
    parts: list[str | None] = [order.amazon_order_id, order.buyer_company_name]
    for address in (order.billing_address, order.shipping_address):
        if address is not None:
            parts += [address.name, address.company, address.city]
    for line in order.lines:
        parts += [line.sku, line.title]
    return _fold("\n".join(p for p in parts if p))


def _prefilter(search: str) -> Callable[[str], bool] | None:
    """A quick first look at an order's decrypted JSON text: only orders that hold every word
    somewhere are parsed (and then searched in the right fields). None when there is no word,
    or a word JSON would write escaped."""
    words = _fold(search).split()
    if not words or any('"' in w or "\\" in w for w in words):
        return None

    def keep(text: str) -> bool:
        folded = _fold(text)
        return all(word in folded for word in words)

    return keep


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _within(moment: datetime | None, start: datetime | None, end: datetime | None) -> bool:
    if start is None and end is None:
        return True
    if moment is None:
        return False
    return (start is None or moment >= start) and (end is None or moment < end)


def _paging(query: OrderQuery, total: int) -> tuple[int, OrderQuery]:
    pages = max(1, -(-total // query.per_page))
    return pages, replace(query, page=min(max(1, query.page), pages))


_STATUS_ORDER: Final = {status: n for n, status in enumerate(OrderStatus)}
_EARLIEST: Final = datetime.min.replace(tzinfo=UTC)


def _summary_key(
    key: SortKey, code: Callable[[str | None], str] | None
) -> Callable[[OrderSummary], tuple[Any, ...]]:
    named = code or (lambda marketplace_id: marketplace_id or "")
    columns: dict[SortKey, Callable[[OrderSummary], Any]] = {
        SortKey.DATE: lambda s: s.purchase_date or _EARLIEST,
        SortKey.ID: lambda s: s.amazon_order_id,
        SortKey.MARKETPLACE: lambda s: named(s.marketplace_id),
        SortKey.STATUS: lambda s: _STATUS_ORDER[s.status],
        SortKey.TOTAL: lambda s: (s.total is None, s.total or Decimal(0)),  # unknown last
    }
    column = columns[key]
    return lambda s: (column(s), s.purchase_date or _EARLIEST, s.amazon_order_id)


def _order_key(
    key: SortKey, code: Callable[[str | None], str] | None
) -> Callable[[Order], tuple[Any, ...]]:
    if key is SortKey.BUYER:
        return lambda o: (_fold(buyer(o)), o.purchase_date or _EARLIEST, o.amazon_order_id)
    summary_key = _summary_key(key, code)
    return lambda o: summary_key(_summary(o))


def _summary(order: Order) -> OrderSummary:
    return OrderSummary(
        order.amazon_order_id,
        order.status,
        order.marketplace_id,
        order.fulfillment_channel,
        order.currency,
        order.purchase_date,
        order.total,
        order.billing_address_missing,
    )


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _number(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


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


def shipped_by_packages(detail: OrderDetail) -> Literal["shipped", "partly_shipped"] | None:
    """What Amazon's confirmations of the host's packages make of an open order at once,
    before the next sync reads Amazon's status: ``shipped`` when confirmed packages hold
    every item of it in full, ``partly_shipped`` when they hold some; None when none is
    confirmed (or the order is not open: its own status says it)."""
    if detail.order.status is not OrderStatus.OPEN:
        return None
    confirmed = [p for p in detail.packages if p.state == "confirmed"]
    if not confirmed:
        return None
    held: dict[str, int] = {}
    for package in confirmed:
        if not package.shipment.items:  # a package of every item
            return "shipped"
        for item in package.shipment.items:
            held[item.order_item_id] = held.get(item.order_item_id, 0) + item.quantity
    every = all(held.get(line.order_item_id, 0) >= line.quantity for line in detail.order.lines)
    return "shipped" if every else "partly_shipped"


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
