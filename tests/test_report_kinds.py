"""Issue 23: every row and every cent as Amazon wrote it. For each kind of file that used to
import wrongly, a file of that kind (``fixtures/``, written from Amazon's documented column
lists and public layouts) is read as a person reading it would: orders, items with summed
quantities, every amount, addresses, no invented prices, refused ids with their cause.
The same kinds through a sync against the simulator are in ``test_report_kinds_sync.py``."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest
from helpers.records import make_account

from hyreka_plugin_amazon.contract import Order
from hyreka_plugin_amazon.importing import ImportedReport, read_report_file
from hyreka_plugin_amazon.refhost.app import ReferenceHost
from hyreka_plugin_amazon.reports.catalogue import Layout

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DE = "A1PA6795UKMFR9"


def by_id(report: ImportedReport) -> dict[str, Order]:
    return {order.amazon_order_id: order for order in report.orders}


def errors_by_row(report: ImportedReport) -> dict[int | None, tuple[str | None, str]]:
    return {error.row: (error.column, error.reason) for error in report.errors}


# --------------------------------------------------------------------------------------------
# 1. Rows of one order far apart; one item in two shipments


def test_fba_shipments_of_one_order_far_apart_are_one_order_with_summed_items() -> None:
    report = read_report_file(FIXTURES / "fba-shipments-split-de.txt")
    assert report.layout is Layout.FBA_SHIPMENTS
    orders = by_id(report)
    assert sorted(orders) == ["028-4100001-0000001", "028-4100002-0000002"]
    split = orders["028-4100001-0000001"]  # rows 1, 2 and 4: shipments of 17 and 18 Nov
    cup, coasters = split.lines
    assert (cup.order_item_id, cup.quantity) == ("33300000000201", 3)  # 2 + 1 shipped
    assert (cup.item_price, cup.item_tax) == (Decimal("59.97"), Decimal("9.57"))
    assert (cup.gift_wrap_price, cup.gift_wrap_tax) == (Decimal("5.97"), Decimal("0.96"))
    assert cup.item_promotion_discount == Decimal("-6.00")
    assert (coasters.order_item_id, coasters.quantity) == ("33300000000202", 1)
    assert (coasters.shipping_price, coasters.ship_promotion_discount) == (
        Decimal("4.90"),
        Decimal("-4.90"),
    )
    # what Amazon charged: items 59.97 + 9.90, gift wrap 5.97, shipping 4.90 less promotions
    assert split.total == Decimal("59.97") + Decimal("9.90") + Decimal("5.97") - Decimal("6.00")
    assert split.billing_address is not None
    assert split.billing_address.lines == ("Postfach 11 02 33",)
    assert report.duplicates_skipped == 1  # order B's row repeated byte for byte (row 6)
    assert orders["028-4100002-0000002"].lines[0].quantity == 2
    # the same shipment item twice with different quantities: which one is Amazon's?
    assert errors_by_row(report) == {
        5: (None, "not imported: row 7 of this order failed"),
        7: ("shipment-item-id", "the shipment item appears twice with different values"),
    }
    assert report.warnings == ()


# --------------------------------------------------------------------------------------------
# 2. Every money column the buyer paid


def test_gift_wrap_shipping_and_promotions_all_reach_the_order() -> None:
    report = read_report_file(FIXTURES / "all-orders-gift-wrap.txt", default_marketplace_id=DE)
    shipped = by_id(report)["302-6100001-0000001"]
    cups, tea = shipped.lines
    assert (cups.gift_wrap_price, cups.gift_wrap_tax) == (Decimal("3.98"), Decimal("0.64"))
    assert cups.item_promotion_discount == Decimal("-2.60")  # positive in this report
    assert (tea.gift_wrap_price, tea.gift_wrap_tax) == (Decimal("0"), Decimal("0"))  # empty
    assert (tea.shipping_price, tea.shipping_tax) == (Decimal("4.90"), Decimal("0.78"))
    assert tea.ship_promotion_discount == Decimal("-4.90")
    assert cups.points_granted is None  # no such column: not said, not 0
    # 25.98 + 5.95 items, 3.98 gift wrap, 4.90 shipping, less 2.60 and 4.90 promotions
    assert shipped.total == Decimal("33.31")
    assert not shipped.prices_missing


def test_a_money_column_the_connector_does_not_know_is_a_warning_naming_it(
    tmp_path: Path,
) -> None:
    text = (FIXTURES / "all-orders-gift-wrap.txt").read_text("utf-8").splitlines()
    widened = [text[0] + "\tgift-wrap-discount", *(line + "\t0.50" for line in text[1:])]
    path = tmp_path / "widened.txt"
    path.write_text("\n".join(widened) + "\n", "utf-8")
    report = read_report_file(path)
    assert len(report.orders) == 2  # the orders import; the amounts of that column do not
    (warning,) = (w for w in report.warnings if "gift-wrap-discount" in w["en"])
    assert warning["en"].startswith("The report has money columns this connector does not know")
    assert warning["de"].startswith("Der Bericht hat Betragsspalten, die dieser Connector")
    assert "gift-wrap-discount" in warning["de"]


# --------------------------------------------------------------------------------------------
# 3. No invented prices


def test_a_report_without_price_columns_imports_no_prices() -> None:
    report = read_report_file(FIXTURES / "unshipped-orders-de.txt", default_marketplace_id=DE)
    assert report.layout is Layout.UNSHIPPED
    assert report.errors == []
    orders = by_id(report)
    assert len(orders) == 2
    for order in orders.values():
        assert order.prices_missing
        assert order.total is None
        assert order.currency is None
        for line in order.lines:
            assert all(getattr(line, name) is None for name in ("item_price", "item_tax",
                       "shipping_price", "gift_wrap_price", "item_promotion_discount"))  # fmt: skip
        assert order.as_dict()["prices_missing"] is True
        assert order.as_dict()["lines"][0]["item_price"] is None
    two = orders["028-7100001-0000001"]
    assert [(line.sku, line.quantity) for line in two.lines] == [("LED-E27-4P", 2), ("USB-C-2M", 1)]
    (warning,) = report.warnings
    assert "2 order(s)" in warning["en"]
    assert "unknown, not 0" in warning["en"]
    assert "unbekannt, nicht 0" in warning["de"]


def test_a_pending_order_of_the_all_orders_report_has_no_prices() -> None:
    report = read_report_file(FIXTURES / "all-orders-gift-wrap.txt")
    pending = by_id(report)["302-6100002-0000002"]
    assert pending.prices_missing
    assert pending.total is None
    assert pending.lines[0].item_price is None
    assert report.warnings[0]["en"].startswith("The report has no prices for 1 order(s)")


@pytest.mark.parametrize("name", ["all-orders-gift-wrap.txt", "fba-shipments-split-de.txt"])
def test_stored_and_read_back_the_amounts_stay(name: str) -> None:
    for order in read_report_file(FIXTURES / name).orders:
        assert Order.from_dict(order.as_record()) == order


def test_importing_a_report_without_prices_keeps_the_prices_the_host_has(
    refhost: ReferenceHost,
) -> None:
    account = make_account()
    refhost.store.add_account(account)
    unshipped = FIXTURES / "unshipped-orders-de.txt"
    (order, _) = sorted(read_report_file(unshipped).orders, key=lambda o: o.amazon_order_id)
    priced = dataclasses.replace(
        order,
        currency="EUR",
        lines=tuple(
            dataclasses.replace(line, item_price=Decimal("15.49"), item_tax=Decimal("2.47"))
            for line in order.lines
        ),
    )
    refhost.store.upsert_order(account.id, priced)  # what a sync stored from the order report
    _, counts = refhost.import_report(unshipped, account_name=account.name)
    assert counts["created"] == 1
    stored = refhost.store.get_order(account.id, order.amazon_order_id)
    assert stored is not None
    assert (stored.lines, stored.currency) == (priced.lines, "EUR")  # never a price erased
    assert stored.total == Decimal("15.49") * 2
    other = refhost.store.get_order(account.id, "028-7100002-0000002")
    assert other is not None
    assert other.prices_missing
    assert other.total is None
