"""Statuses: the one status mapping, and the all-orders status report read by itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers.shared import REAL_REPORTS, require

from hyreka_plugin_amazon.contract import OrderStatus
from hyreka_plugin_amazon.reports.catalogue import Layout
from hyreka_plugin_amazon.reports.orders import OrderErrors, read_orders
from hyreka_plugin_amazon.reports.reader import (
    HeaderError,
    ReportReader,
    RowError,
    open_report_file,
)
from hyreka_plugin_amazon.reports.statuses import (
    LAYOUT_STATUS,
    StatusEntry,
    all_orders_status,
    items_shipping,
    read_statuses,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REAL = REAL_REPORTS


# --- the status mapping ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "status"),
    [
        ("Pending", OrderStatus.PENDING),
        ("PendingAvailability", OrderStatus.PENDING),
        ("Unshipped", OrderStatus.OPEN),
        ("Partially Shipped", OrderStatus.OPEN),
        ("PartiallyShipped", OrderStatus.OPEN),
        ("Shipped", OrderStatus.SHIPPED),
        ("InvoiceUnconfirmed", OrderStatus.SHIPPED),
        ("Cancelled", OrderStatus.CANCELLED),
        ("Canceled", OrderStatus.CANCELLED),
        ("Shipping", None),
        ("", None),
        (None, None),
    ],
)
def test_all_orders_statuses_map_to_the_hosts(written: str | None, status: OrderStatus) -> None:
    assert all_orders_status(written) is status


def test_an_item_shipping_or_shipped_says_the_order_was_ready() -> None:
    assert items_shipping(("Unshipped", "Shipped"))
    assert items_shipping(("shipping",))
    assert not items_shipping(("Unshipped", "Cancelled"))
    assert not items_shipping(())


def test_every_layout_but_all_orders_implies_one_status() -> None:
    assert set(LAYOUT_STATUS) == set(Layout) - {Layout.ALL_ORDERS}
    assert LAYOUT_STATUS[Layout.FBA_SHIPMENTS] is OrderStatus.SHIPPED
    assert {LAYOUT_STATUS[layout] for layout in LAYOUT_STATUS} == {
        OrderStatus.OPEN,
        OrderStatus.SHIPPED,
    }


# --- the status report ----------------------------------------------------------------------


def _statuses_by_read_orders(path: Path) -> list[StatusEntry | OrderErrors]:
    """What read_statuses must give, from the full read (orders without a status fail)."""
    lines, _ = open_report_file(path)
    found: list[StatusEntry | OrderErrors] = []
    for item in read_orders(ReportReader(lines), map_address=None):
        if isinstance(item, OrderErrors):
            found.append(item)
        elif item.order_status is None:
            error = RowError(item.rows[0], "order-status", "value is missing")
            found.append(OrderErrors(item.amazon_order_id, item.rows, (error,)))
        else:
            found.append(
                StatusEntry(
                    item.amazon_order_id,
                    item.order_status,
                    item.item_statuses,
                    item.fulfillment_channel,
                    item.last_updated,
                )
            )
    return found


@pytest.mark.parametrize(
    "path",
    [
        FIXTURES / "all-orders-statuses.txt",
        REAL / "eu-allorders-nbneorigin-1.txt",
        REAL / "eu-allorders-nbneorigin-2.txt",
    ],
    ids=lambda path: path.name,
)
def test_statuses_are_what_the_full_read_says(path: Path) -> None:
    require(path)
    lines, _ = open_report_file(path)
    statuses = list(read_statuses(ReportReader(lines)))
    assert statuses == _statuses_by_read_orders(path)
    assert sum(isinstance(item, StatusEntry) for item in statuses) > 0


def _status_lines(column: str, value: str) -> list[str]:
    """The all-orders fixture with ``column`` of its first data row set to ``value``."""
    header, first, *rest = (FIXTURES / "all-orders-statuses.txt").read_text("utf-8").splitlines()
    cells = first.split("\t")
    cells[header.split("\t").index(column)] = value
    return [header, "\t".join(cells), *rest]


def test_a_status_ignores_columns_it_does_not_read() -> None:
    lines = _status_lines("item-price", "9,x0")  # read_orders would fail this order
    assert isinstance(next(read_orders(ReportReader(lines), map_address=None)), OrderErrors)
    first = next(read_statuses(ReportReader(lines)))
    assert isinstance(first, StatusEntry)
    assert first.order_status == "Pending"


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("order-status", "", "value is missing"),
        ("last-updated-date", "yesterday", "not a date"),
        ("fulfillment-channel", "Drone", "not Amazon or Merchant"),
    ],
)
def test_a_bad_status_cell_fails_its_order_and_reading_goes_on(
    column: str, value: str, reason: str
) -> None:
    statuses = list(read_statuses(ReportReader(_status_lines(column, value))))
    first = statuses[0]
    assert isinstance(first, OrderErrors)
    assert first.errors == (RowError(1, column, reason),)
    assert statuses[1:] == list(read_statuses(ReportReader(_status_lines(column, "x"))))[1:]
    assert all(isinstance(item, StatusEntry) for item in statuses[1:])


def test_status_rows_grouped_like_orders() -> None:
    header, first, second, *_ = (
        (FIXTURES / "all-orders-statuses.txt").read_text("utf-8").splitlines()
    )
    without_id = "\t" + second.split("\t", 1)[1]
    surplus = second + "\tsurplus"
    reader = ReportReader([header, first, without_id, surplus, first])
    items = list(read_statuses(reader))
    # a row without an id is yielded at once, before the order around it ends; the first
    # order's row 4 joins it (and, byte for byte its row 1, is a duplicate)
    assert [type(item) for item in items] == [OrderErrors, StatusEntry, OrderErrors]
    missing, _, wide = items
    assert isinstance(missing, OrderErrors)
    assert missing.errors == (RowError(2, "amazon-order-id", "order id is missing"),)
    assert isinstance(wide, OrderErrors)
    assert wide.errors == (RowError(3, None, "row has 33 fields, header has 32"),)
    assert reader.duplicates_skipped == 1


def test_statuses_come_only_from_an_all_orders_report() -> None:
    lines, _ = open_report_file(FIXTURES / "orders-invoicing-eu-cp1252.txt")
    with pytest.raises(HeaderError, match="not all-orders"):
        read_statuses(ReportReader(lines))
