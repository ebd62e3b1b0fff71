"""Order statuses: the one mapping of Amazon's all-orders statuses to the host's, the status a
report's layout implies, and the reader of the all-orders status report.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal

from marshmallow import ValidationError

from hyreka_plugin_amazon.contract import OrderStatus
from hyreka_plugin_amazon.reports.catalogue import Layout
from hyreka_plugin_amazon.reports.cells import Channel, Code, OrderId, Timestamp
from hyreka_plugin_amazon.reports.orders import Interned, OrderErrors, grouped
from hyreka_plugin_amazon.reports.reader import HeaderError, ReportReader, Row, RowError
from hyreka_plugin_amazon.reports.rows import RowLoader, RowSchema, validation_errors

# all-orders order-status (spaces and case ignored) -> host status. "Pending" is every order
# not yet shipped, paid or not: the all-orders report alone cannot tell payment-pending from
# ready-to-ship (its item-status says Unshipped either way), so a Pending order stays pending
# unless something else says it is ready: the order report, which lists only orders eligible
# for fulfilment, or an item already (being) shipped.
ALL_ORDERS_STATUS: Final = {
    "pending": OrderStatus.PENDING,
    "pendingavailability": OrderStatus.PENDING,
    "unshipped": OrderStatus.OPEN,
    "partiallyshipped": OrderStatus.OPEN,
    "shipped": OrderStatus.SHIPPED,
    "invoiceunconfirmed": OrderStatus.SHIPPED,
    "cancelled": OrderStatus.CANCELLED,
    "canceled": OrderStatus.CANCELLED,
}
# all-orders item-status values that say an order was ready to ship (it is partly shipped).
SHIPPING_ITEM_STATUSES: Final = frozenset({"shipping", "shipped"})

# The status of every order in a report of these layouts: the order reports and the
# unshipped report list only orders ready to ship, FBA shipments are shipped. The all-orders
# report says it per order.
LAYOUT_STATUS: Final = {
    Layout.ORDERS_INVOICING: OrderStatus.OPEN,
    Layout.ORDERS: OrderStatus.OPEN,
    Layout.UNSHIPPED: OrderStatus.OPEN,
    Layout.FBA_SHIPMENTS: OrderStatus.SHIPPED,
}


def all_orders_status(order_status: str | None) -> OrderStatus | None:
    """The host status of an all-orders ``order-status`` ("Pending", "Partially Shipped" ...);
    None for a status this connector does not know, or none."""
    return ALL_ORDERS_STATUS.get((order_status or "").replace(" ", "").lower())


def items_shipping(item_statuses: Iterable[str]) -> bool:
    """Whether an item of the order is shipping or shipped (the order was ready to ship)."""
    return any(status.lower() in SHIPPING_ITEM_STATUSES for status in item_statuses)


# --------------------------------------------------------------------------------------------
# The status report


class StatusSchema(RowSchema):
    """What a sync reads of an order in the all-orders report (from the order's first row)."""

    amazon_order_id = OrderId(data_key="amazon-order-id", required=True)
    order_status = Code(data_key="order-status", required=True)
    fulfillment_channel = Channel(data_key="fulfillment-channel", load_default=None)
    last_updated = Timestamp(data_key="last-updated-date", load_default=None)


class ItemStatusSchema(RowSchema):
    """The status of one item row of the all-orders report."""

    item_status = Code(data_key="item-status", load_default=None)


@dataclass(slots=True)  # not frozen: cheaper to build (one per order), nothing changes it
class StatusEntry:
    """One order as the all-orders report shows its status (no personal data)."""

    amazon_order_id: str
    order_status: str  # as written ("Pending", "Shipped" ...)
    item_statuses: tuple[str, ...]
    fulfillment_channel: Literal["MFN", "AFN"] | None
    last_updated: datetime | None


class _StatusGroup:
    """The rows of one order of the status report while they are read."""

    __slots__ = ("errors", "head", "item_statuses", "order_id", "reader", "rows")

    def __init__(self, order_id: str, reader: _StatusReader) -> None:
        self.order_id = order_id
        self.reader = reader
        self.rows: list[int] = []
        self.errors: list[RowError] = []
        self.head: dict[str, Any] | None = None
        self.item_statuses: list[str] = []

    def add(self, row: Row) -> None:
        number = row.number
        self.rows.append(number)
        if row.errors:
            self.errors.extend(row.errors)
        try:
            if not self.head:
                self.head = self.reader.head.load(row.values)
            status = self.reader.item.load(row.values)["item_status"]
        except ValidationError as exc:
            self.errors.extend(validation_errors(number, exc))
            return
        if status is not None:
            self.item_statuses.append(status)

    def result(self) -> StatusEntry | OrderErrors:
        head = self.head
        if self.errors or head is None:
            return OrderErrors(self.order_id, tuple(self.rows), tuple(self.errors))
        return StatusEntry(
            head["amazon_order_id"],
            head["order_status"],
            self.reader.item_statuses(self.item_statuses),
            head["fulfillment_channel"],
            head["last_updated"],
        )


class _StatusReader:
    """The loaders of one status report."""

    def __init__(self, reader: ReportReader) -> None:
        if reader.layout is not Layout.ALL_ORDERS:
            raise HeaderError(f"the status report is a {reader.layout} report, not all-orders")
        self.id_column = reader.layout.order_id_column
        self.head = RowLoader(StatusSchema(), reader.header)
        self.item = RowLoader(ItemStatusSchema(), reader.header)
        self.columns = self.head.columns | self.item.columns
        self.item_statuses = Interned()

    def start(self, order_id: str) -> _StatusGroup:
        return _StatusGroup(order_id, self)


def read_statuses(reader: ReportReader) -> Iterator[StatusEntry | OrderErrors]:
    """The orders of an all-orders report as statuses, in file order (HeaderError for any
    other layout).

    Only the columns a status is made of are read and checked: amazon-order-id, order-status
    (required), fulfillment-channel and last-updated-date from an order's first row,
    item-status from each row; a wrong price elsewhere in the row is not this reader's concern
    (``read_orders`` checks every column it imports). Rows are grouped as ``read_orders``
    groups them (all rows of an order id together): an order with any row in error is an
    OrderErrors; a row without an order id is one of its own.
    """
    statuses = _StatusReader(reader)  # checks the layout now, not at the first row
    groups = grouped(reader.rows(statuses.columns), statuses.id_column, statuses.start)
    return (group if isinstance(group, OrderErrors) else group.result() for group in groups)
