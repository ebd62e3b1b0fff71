"""Report rows grouped into orders: ReportOrder (one order as one report shows it), or
OrderErrors (an order not imported, with its errors by row and column).

The reader brings the rows of one order together wherever they stand in the file
(``regroup``); ``grouped`` groups them for this module's ``read_orders`` and for
``statuses.read_statuses``.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

from marshmallow import ValidationError

from hyreka_plugin_amazon.contract import Address, Order, OrderLine, OrderStatus
from hyreka_plugin_amazon.reports.addresses import AddressMapper, default_map_address
from hyreka_plugin_amazon.reports.catalogue import Layout
from hyreka_plugin_amazon.reports.codes import CURRENCIES
from hyreka_plugin_amazon.reports.reader import ReportReader, Row, RowError
from hyreka_plugin_amazon.reports.rows import (
    CACHE_SIZE,
    MONEY_FIELDS,
    AllOrdersItemSchema,
    AllOrdersOrderSchema,
    Amounts,
    AmountsSchema,
    FbaItemSchema,
    FbaOrderSchema,
    ItemSchema,
    OrderSchema,
    PromotionSchema,
    RowLoader,
    add_amounts,
    validation_errors,
)

CONFLICTING_ITEM = "the order item appears twice with different values"
CONFLICTING_SHIPMENT = "the shipment item appears twice with different values"


class _Unset(enum.Enum):
    """A keyword argument not given (None is a value)."""

    UNSET = enum.auto()


_UNSET = _Unset.UNSET


@dataclass(slots=True)  # not frozen: a frozen dataclass of 20 fields costs 2 us to build
class ReportOrder:
    """One order as one report shows it: its rows grouped, order fields from the first row.

    Its repr leaves out the buyer's personal data (e-mail, company, VAT id, addresses).
    Readers make one per order and nothing changes it afterwards.
    """

    amazon_order_id: str
    rows: tuple[int, ...]
    purchase_date: datetime | None
    payments_date: datetime | None
    last_updated: datetime | None
    order_status: str | None  # all-orders order-status as written ("Pending", "Shipped" ...)
    item_statuses: tuple[str, ...]  # all-orders item-status values, () for other reports
    fulfillment_channel: Literal["MFN", "AFN"] | None
    sales_channel: str | None
    marketplace_id: str | None
    currency: str | None
    buyer_email: str | None = dataclasses.field(repr=False)
    is_business_order: bool
    purchase_order_number: str | None
    buyer_company_name: str | None = dataclasses.field(repr=False)
    buyer_tax_registration_id: str | None = dataclasses.field(repr=False)
    lines: tuple[OrderLine, ...]
    billing_address: Address | None = dataclasses.field(repr=False)
    shipping_address: Address | None = dataclasses.field(repr=False)
    has_billing_columns: bool

    def to_order(
        self,
        status: OrderStatus,
        *,
        fulfillment_channel: Literal["MFN", "AFN"] | _Unset | None = _UNSET,
        last_updated: datetime | _Unset | None = _UNSET,
    ) -> Order:
        """The host's Order; ``fulfillment_channel`` and ``last_updated`` replace this
        report's values when given (the status report knows them better)."""
        return Order(
            amazon_order_id=self.amazon_order_id,
            status=status,
            marketplace_id=self.marketplace_id,
            sales_channel=self.sales_channel,
            fulfillment_channel=(
                self.fulfillment_channel
                if isinstance(fulfillment_channel, _Unset)
                else fulfillment_channel
            ),
            currency=self.currency,
            purchase_date=self.purchase_date,
            lines=self.lines,
            billing_address=self.billing_address,
            shipping_address=self.shipping_address,
            buyer_email=self.buyer_email,
            is_business_order=self.is_business_order,
            purchase_order_number=self.purchase_order_number,
            buyer_company_name=self.buyer_company_name,
            buyer_tax_registration_id=self.buyer_tax_registration_id,
            last_updated=self.last_updated if isinstance(last_updated, _Unset) else last_updated,
            billing_address_missing=not self.has_billing_columns or self.billing_address is None,
        )


@dataclass(frozen=True)
class OrderErrors:
    """An order not imported: all its rows, and the errors keyed by row and column."""

    amazon_order_id: str | None
    rows: tuple[int, ...]
    errors: tuple[RowError, ...]

    def row_errors(self) -> tuple[RowError, ...]:
        """``errors`` plus one for each row of the order without an error of its own, by row."""
        failed = {error.row for error in self.errors}
        first = min((row for row in failed if row is not None), default=None)
        extra = [
            RowError(row, None, f"not imported: row {first} of this order failed")
            for row in self.rows
            if row not in failed
        ]
        return tuple(sorted((*self.errors, *extra), key=lambda error: error.row or 0))


_ORDER_SCHEMAS: Mapping[Layout, type[OrderSchema]] = {
    Layout.ORDERS_INVOICING: OrderSchema,
    Layout.ORDERS: OrderSchema,
    Layout.UNSHIPPED: OrderSchema,
    Layout.ALL_ORDERS: AllOrdersOrderSchema,
    Layout.FBA_SHIPMENTS: FbaOrderSchema,
}
_ITEM_SCHEMAS: Mapping[Layout, type[AmountsSchema]] = {
    Layout.ORDERS_INVOICING: ItemSchema,
    Layout.ORDERS: ItemSchema,
    Layout.UNSHIPPED: ItemSchema,
    Layout.ALL_ORDERS: AllOrdersItemSchema,
    Layout.FBA_SHIPMENTS: FbaItemSchema,
}
_DISCOUNTS = ("item_promotion_discount", "ship_promotion_discount")
_MONEY = tuple(name for name, _ in MONEY_FIELDS)


class Interned:
    """One tuple object for equal tuples of item statuses (a few combinations repeat over many
    orders, so a large report's orders share them)."""

    def __init__(self) -> None:
        self._tuples: dict[tuple[str, ...], tuple[str, ...]] = {}

    def __call__(self, statuses: list[str]) -> tuple[str, ...]:
        found = tuple(statuses)
        if len(self._tuples) >= CACHE_SIZE:
            self._tuples.clear()
        return self._tuples.setdefault(found, found)


class _Loaders:
    """The loaders and column names of one report."""

    def __init__(
        self,
        reader: ReportReader,
        map_address: AddressMapper | None,
        default_marketplace_id: str | None,
    ) -> None:
        layout = reader.layout
        columns = reader.header
        self.layout = layout
        self.has_billing_columns = reader.has_billing_columns
        self.map_address = map_address
        self.default_marketplace_id = default_marketplace_id
        self.id_column = layout.order_id_column
        self.order = RowLoader(_ORDER_SCHEMAS[layout](), columns)
        self.item = RowLoader(_ITEM_SCHEMAS[layout](), columns)
        self.promotion = RowLoader(PromotionSchema(), columns)
        self.amounts = Amounts(columns)
        item_fields = self.item.schema.fields
        self.item_id_column = (
            None if layout is Layout.ALL_ORDERS else str(item_fields["order_item_id"].data_key)
        )
        self.quantity_column = str(item_fields["quantity"].data_key)
        self.currency_column = "currency" if "currency" in columns else None
        self.columns = self.order.columns | self.item.columns | self.promotion.columns
        self.item_statuses = Interned()


class _Group:
    """The rows of one order while they are read."""

    __slots__ = (
        "billing",
        "errors",
        "head",
        "item_statuses",
        "items",
        "loaders",
        "order_id",
        "rows",
        "shipments",
        "shipping",
        "skus",
    )

    def __init__(self, order_id: str, loaders: _Loaders) -> None:
        self.order_id = order_id
        self.loaders = loaders
        self.rows: list[int] = []
        self.errors: list[RowError] = []
        self.head: dict[str, Any] | None = None
        self.billing: Address | None = None
        self.shipping: Address | None = None
        self.items: dict[str, dict[str, Any]] = {}
        self.skus: dict[str | None, int] = {}
        self.shipments: dict[str, set[str]] = {}  # FBA: the shipment items of each item
        self.item_statuses: list[str] = []

    def add(self, row: Row) -> None:
        number = row.number
        values = row.values
        loaders = self.loaders
        self.rows.append(number)
        if row.errors:
            self.errors.extend(row.errors)
        if len(self.rows) == 1:
            self._load_head(number, values)
        elif loaders.currency_column is not None:
            self._check_currency(number, values.get(loaders.currency_column))
        item_column = loaders.item_id_column
        if item_column is not None:
            known = self.items.get(values.get(item_column) or "")
            if known is not None and values.get(loaders.quantity_column) is None:
                self._fold(number, known, values)
                return
        try:
            item = loaders.item.load(values)
        except ValidationError as exc:
            self.errors.extend(validation_errors(number, exc))
            return
        if item_column is None:
            status = item.pop("item_status")
            if status is not None:
                self.item_statuses.append(status)
            sku = item["sku"]
            position = self.skus[sku] = self.skus.get(sku, 0) + 1
            item["order_item_id"] = f"{sku or ''}#{position}"
        loaders.amounts.settle(item, values)
        if loaders.layout is Layout.FBA_SHIPMENTS:
            self._add_shipment(number, item)
            return
        known = self.items.get(item["order_item_id"])
        if known is None:
            self.items[item["order_item_id"]] = item
        elif item != known:  # one item, two versions: which is Amazon's is anyone's guess
            self.errors.append(RowError(number, item_column, CONFLICTING_ITEM))

    def _add_shipment(self, number: int, item: dict[str, Any]) -> None:
        """A row of the FBA shipments report: one shipment of an order item. An item shipped
        in several shipments is one line, its quantities and amounts summed; the same
        shipment item twice with different values is a conflict."""
        item_id = item["order_item_id"]
        shipment = item.pop("shipment_item_id")
        shipments = self.shipments.setdefault(item_id, set())
        if shipment is not None and shipment in shipments:
            column = "shipment-item-id"
            self.errors.append(RowError(number, column, CONFLICTING_SHIPMENT))
            return
        if shipment is not None:
            shipments.add(shipment)
        known = self.items.get(item_id)
        if known is None:
            self.items[item_id] = item
            return
        known["quantity"] += item["quantity"]
        for name in _MONEY:
            known[name] = add_amounts(known[name], item[name])

    def _load_head(self, number: int, values: Mapping[str, str | None]) -> None:
        loaders = self.loaders
        try:
            head = self.head = loaders.order.load(values)
        except ValidationError as exc:
            self.errors.extend(validation_errors(number, exc))
            return
        if head["marketplace_id"] is None:
            # finish() falls back to a ReportContext's default marketplace; setting it here is
            # the same and spares entering a context (~3 us) for every order
            head["marketplace_id"] = loaders.default_marketplace_id
        map_address = loaders.map_address
        if map_address is None:
            return
        try:
            if loaders.has_billing_columns:
                self.billing = map_address(values, "billing")
            self.shipping = map_address(values, "shipping")
        except Exception as exc:  # a host's mapper: its message may quote the address
            self.errors.append(
                RowError(number, None, f"address mapping failed ({type(exc).__name__})")
            )

    def _check_currency(self, number: int, currency: str | None) -> None:
        head = self.head
        if currency is None or head is None or head["currency"] == currency:
            return
        if currency not in CURRENCIES:
            column = self.loaders.currency_column
            self.errors.append(RowError(number, column, "not an ISO 4217 currency code"))
        elif head["currency"] is None:
            head["currency"] = currency  # the first row's item was cancelled: no price
        else:
            column = self.loaders.currency_column
            self.errors.append(RowError(number, column, "currency differs from the order's"))

    def _fold(self, number: int, item: dict[str, Any], values: Mapping[str, str | None]) -> None:
        """Add a promotion continuation row's discounts to its item's line."""
        try:
            more = self.loaders.promotion.load(values)
        except ValidationError as exc:
            self.errors.extend(validation_errors(number, exc))
            return
        for name in _DISCOUNTS:
            item[name] = add_amounts(item[name], more[name])

    def result(self) -> ReportOrder | OrderErrors:
        head = self.head
        if self.errors or head is None:
            return OrderErrors(self.order_id, tuple(self.rows), tuple(self.errors))
        return ReportOrder(
            amazon_order_id=head["amazon_order_id"],
            rows=tuple(self.rows),
            purchase_date=head["purchase_date"],
            payments_date=head["payments_date"],
            last_updated=head["last_updated"],
            order_status=head["order_status"],
            item_statuses=self.loaders.item_statuses(self.item_statuses),
            fulfillment_channel=head["fulfillment_channel"],
            sales_channel=head["sales_channel"],
            marketplace_id=head["marketplace_id"],
            currency=head["currency"],
            buyer_email=head["buyer_email"],
            is_business_order=head["is_business_order"],
            purchase_order_number=head["purchase_order_number"],
            buyer_company_name=head["buyer_company_name"],
            buyer_tax_registration_id=head["buyer_tax_registration_id"],
            lines=tuple(OrderLine(**item) for item in self.items.values()),
            billing_address=self.billing,
            shipping_address=self.shipping,
            has_billing_columns=self.loaders.has_billing_columns,
        )


def read_orders(
    reader: ReportReader,
    *,
    default_marketplace_id: str | None = None,
    map_address: AddressMapper | None = default_map_address,
) -> Iterator[ReportOrder | OrderErrors]:
    """The orders of a report, one ReportOrder or OrderErrors each, in file order.

    ``map_address`` None: no addresses (billing and shipping None). Only the columns the
    schemas read are taken from each row, which makes wide reports (all-orders) faster;
    ``map_address`` gets an order's first row with every column.

    All rows with one order id form one order, wherever they stand in the file (the reader
    brings them together). If any row of an
    order fails, the whole order is yielded as OrderErrors, never in part. A row without an
    order id is an OrderErrors of its own, yielded at once (it does not end the open order).

    One line per item id (order-item-id; FBA amazon-order-item-id). A later row of the same
    item without a quantity is a promotion continuation row: its discounts are added to the
    line; one with a quantity adds quantity and amounts in the FBA shipments report (an item
    shipped in several shipments; the same shipment-item-id twice with different values fails
    the order: ``CONFLICTING_SHIPMENT``); in the other reports it is the same line again:
    folded when its values are the same, else the order fails (``CONFLICTING_ITEM``).
    Amounts the report does not say are None (``rows.Amounts``). The
    all-orders report has no item id: each row is a line with the id f"{sku}#{n}", n counting
    that SKU's rows within the order from 1 (stable while Amazon keeps the row order).
    """
    loaders = _Loaders(reader, map_address, default_marketplace_id)
    # the first row of an order, whose addresses are mapped, with every column (a host's
    # mapping may read any); the others with the columns the schemas read
    rows = reader.rows(loaders.columns, whole_first=map_address is not None)

    def start(order_id: str) -> _Group:
        return _Group(order_id, loaders)

    for group in grouped(rows, loaders.id_column, start):
        yield group if isinstance(group, OrderErrors) else group.result()


class _Grouping(Protocol):
    order_id: str

    def add(self, row: Row) -> None: ...


_G = TypeVar("_G", bound=_Grouping)


def grouped(
    rows: Iterable[Row], id_column: str, start: Callable[[str], _G]
) -> Iterator[_G | OrderErrors]:
    """The rows grouped by order (consecutive rows with one order id: the reader yields the
    rows of one order together), each group complete when yielded; ``start(order_id)`` makes
    a group. A row without an order id is an OrderErrors of its own, yielded at once."""
    group: _G | None = None
    for row in rows:
        order_id = row.values.get(id_column)
        if order_id is None:
            missing = RowError(row.number, id_column, "order id is missing")
            yield OrderErrors(None, (row.number,), (*row.errors, missing))
            continue
        if group is None or order_id != group.order_id:
            if group is not None:
                yield group
            group = start(order_id)
        group.add(row)
    if group is not None:
        yield group
