"""Importing hand-downloaded report files: the real ones, and synthetic fixtures."""

from __future__ import annotations

import json
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

import pytest
from helpers.shared import REAL_REPORTS, needs

from hyreka_plugin_amazon.contract import Order, OrderStatus
from hyreka_plugin_amazon.importing import ImportedReport, read_report_file
from hyreka_plugin_amazon.reports.catalogue import Layout
from hyreka_plugin_amazon.reports.reader import HeaderError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REAL = REAL_REPORTS
REAL_FILES = sorted(REAL.glob("*.txt")) if REAL.is_dir() else []
needs_real = needs(REAL)
DE = "A1PA6795UKMFR9"

# personal values written into the broken fixture (names, streets, phones, e-mails, VAT ids)
PERSONAL = (
    "Käthe",
    "Schäfer",
    "Lindenallee",
    "5550199",
    "b1@marketplace",
    "Ottilie",
    "Vogelsang",
    "Waltraud",
    "Eichhorn",
    "Rüdiger",
    "Heinzelmann",
)


def by_id(report: ImportedReport) -> dict[str, Order]:
    return {order.amazon_order_id: order for order in report.orders}


def text_of(order: Order) -> str:
    return json.dumps(order.as_dict(), ensure_ascii=False)


def rows_by_order(path: Path) -> dict[str, set[int]]:
    """Row numbers of each order id, found without the reader (exact duplicates left out)."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    rows: dict[str, set[int]] = defaultdict(set)
    seen: set[str] = set()
    for number, line in enumerate(text.splitlines()[1:], 1):
        if line.strip() and line not in seen:
            rows[line.split("\t")[0]].add(number)
            seen.add(line)
    return rows


@needs_real
@pytest.mark.parametrize("path", REAL_FILES, ids=lambda path: path.name)
def test_every_real_order_is_imported_or_its_rows_reported(path: Path) -> None:
    report = read_report_file(path, default_marketplace_id=DE)
    expected = rows_by_order(path)
    failed_rows = {error.row for error in report.errors}
    imported = by_id(report)
    assert len(imported) == len(report.orders)  # no order twice
    for order_id, rows in expected.items():
        if order_id in imported:
            assert not rows & failed_rows, order_id
        else:
            assert rows <= failed_rows, order_id
    for order in report.orders:
        assert order.purchase_date is not None
        assert order.purchase_date.utcoffset() is not None
        assert order.lines
        assert order.marketplace_id


@needs_real
def test_real_all_orders_report_counts_and_statuses() -> None:
    path = REAL / "eu-allorders-nbneorigin-2.txt"
    report = read_report_file(path)
    assert (report.layout, report.charset) == (Layout.ALL_ORDERS, "utf-8")
    assert report.duplicates_skipped == 5
    assert len(rows_by_order(path)) == 2063
    assert len(report.orders) == 2063  # every order of Amazon's own file imports
    assert report.errors == []

    # statuses per order, counted from the file directly
    header = path.read_text("utf-8").splitlines()[0].split("\t")
    column = header.index("order-status")
    expected: dict[str, str] = {}
    for line in path.read_text("utf-8").splitlines()[1:]:
        cells = line.split("\t")
        expected[cells[0]] = cells[column]
    names = {"Shipped": "shipped", "Cancelled": "cancelled", "Pending": "pending"}
    assert {order.amazon_order_id: order.status.value for order in report.orders} == {
        order_id: names[status] for order_id, status in expected.items()
    }
    assert any(order.is_business_order and order.buyer_company_name for order in report.orders)
    assert any(order.buyer_tax_registration_id == "FR06523987014" for order in report.orders)
    lines_per_order: dict[int, int] = defaultdict(int)
    for order in report.orders:
        lines_per_order[len(order.lines)] += 1
    assert max(lines_per_order) == 3  # the 4-line order had one exact duplicate
    channels = {order.fulfillment_channel for order in report.orders}
    assert channels == {"AFN", "MFN"}
    non_amazon = [order for order in report.orders if order.sales_channel == "Non-Amazon"]
    assert len(non_amazon) == 2
    assert {order.marketplace_id for order in non_amazon} == {None}  # no default given


@needs_real
def test_real_spreadsheet_resave() -> None:
    report = read_report_file(REAL / "eu-allorders-nbneorigin-1.txt")
    assert report.duplicates_skipped == 1
    assert len(report.orders) == 20
    assert report.errors == []
    assert {order.is_business_order for order in report.orders} == {False}  # from "FALSE"
    titles = [line.title or "" for order in report.orders for line in order.lines]
    # CSV quoting from the spreadsheet is kept as literal text: Amazon's own files never quote
    assert any(title.startswith('"Plaque commémorative personnalisable,') for title in titles)


@needs_real
def test_real_cp1252_reports_decode_accents() -> None:
    report = read_report_file(REAL / "fr-orders-akretion-1.txt")
    assert report.charset == "cp1252"
    assert len(report.orders) == 10
    text = " ".join(text_of(order) for order in report.orders)
    for word in ("Orléans", "Hélène", "bâtiment K", "cité Joly"):
        assert word in text
    multi = by_id(report)["408-6015720-8565128"]
    assert len(multi.lines) == 2
    assert multi.billing_address is None
    assert multi.billing_address_missing
    single = read_report_file(REAL / "fr-orders-akretion-2.txt").orders[0]
    assert single.shipping_address is not None
    assert single.shipping_address.city == "ESPANèS"
    assert str(single.lines[0].shipping_price) == "17"
    assert single.lines[0].quantity == 2


@needs_real
def test_real_uk_file_whose_order_id_is_not_amazons_is_refused_with_the_reason(
    tmp_path: Path,
) -> None:
    # the public file's anonymised order id has 3-8-6 digits: not one Amazon writes
    report = read_report_file(REAL / "uk-orders-yomajo-1.txt")
    assert report.orders == []
    assert [(e.row, e.column, e.reason) for e in report.errors] == [
        (1, "order-id", "not an Amazon order id (3-7-7 digits)")
    ]
    fixed = (
        REAL.joinpath("uk-orders-yomajo-1.txt")
        .read_bytes()
        .replace(b"111-31313131-775566", b"111-3131313-1775566")
    )
    (tmp_path / "fixed.txt").write_bytes(fixed)
    (order,) = read_report_file(tmp_path / "fixed.txt").orders
    assert order.lines[0].order_item_id == "0938446464647"  # a leading zero, kept
    assert order.marketplace_id == "A1F83G8C2ARO7P"
    assert order.currency == "GBP"
    assert order.shipping_address is not None
    assert order.shipping_address.city == "Almuñécar"
    assert order.status is OrderStatus.OPEN


@needs_real
def test_real_unshipped_report_with_ragged_rows() -> None:
    report = read_report_file(REAL / "us-unshipped-littlesnaf-1.txt")
    assert report.layout is Layout.UNSHIPPED
    assert len(report.orders) == 3
    assert report.errors == []
    assert {order.status for order in report.orders} == {OrderStatus.OPEN}
    assert {order.currency for order in report.orders} == {None}


def test_invoicing_fixture_in_cp1252() -> None:
    report = read_report_file(FIXTURES / "orders-invoicing-eu-cp1252.txt")
    assert (report.layout, report.charset) == (Layout.ORDERS_INVOICING, "cp1252")
    assert report.duplicates_skipped == 1
    assert report.errors == []
    assert len(report.orders) == 5
    assert {order.status for order in report.orders} == {OrderStatus.OPEN}
    text = " ".join(text_of(order) for order in report.orders)
    for word in ("Jürgen Groß", "Straße des 17. Juni 3", "Müller & Söhne GmbH", "Orléans"):
        assert word in text
    assert "Versandkostenfrei ab 29 €" not in text  # promotion ids are not part of an order
    b2b = by_id(report)["302-1000002-0000002"]
    assert b2b.billing_address is not None
    assert b2b.billing_address.company == "Müller & Söhne GmbH"
    assert b2b.total == Decimal("44.97") + Decimal("4.90") + Decimal("6.49") - 3 - Decimal("4.90")


def test_broken_rows_are_reported_and_good_orders_imported() -> None:
    report = read_report_file(FIXTURES / "orders-broken.txt", default_marketplace_id=DE)
    assert report.charset == "utf-8-sig"
    assert sorted(by_id(report)) == [
        "302-3000001-0000001",
        "302-3000011-0000011",
        "302-3000013-0000013",
    ]
    good = by_id(report)["302-3000011-0000011"]
    assert str(good.lines[0].item_price) == "17"
    no_billing = by_id(report)["302-3000013-0000013"]
    assert no_billing.billing_address is None
    assert no_billing.billing_address_missing
    errors = [error.as_dict() for error in report.errors]
    first_error = {error["row"]: (error["column"], error["reason"]) for error in reversed(errors)}
    assert first_error == {
        2: ("order-id", "order id is missing"),
        3: ("item-price", "not a number"),
        4: ("purchase-date", "not a date"),
        5: (None, "row has 48 fields, header has 47"),
        6: ("purchase-date", "date without a UTC offset"),
        8: (None, "not imported: row 9 of this order failed"),
        9: ("quantity-purchased", "not a whole number"),
        10: ("is-business-order", "not true or false"),
    }
    far_apart = by_id(report)["302-3000001-0000001"]  # rows 1 and 12: one order
    assert [line.order_item_id for line in far_apart.lines] == ["70000000000001", "70000000000012"]
    assert all(set(error) == {"row", "column", "reason"} for error in errors)
    json.dumps(report.as_dict())  # the JSON shape of `hyreka-amazon import-report`


def test_no_personal_data_in_any_reason() -> None:
    report = read_report_file(FIXTURES / "orders-broken.txt")
    reasons = " ".join(error.reason for error in report.errors)
    assert reasons
    for value in PERSONAL:
        assert value not in reasons
    # the personal values really are in the file, and some in the failing rows' cells
    raw = (FIXTURES / "orders-broken.txt").read_text("utf-8-sig")
    assert all(value in raw for value in PERSONAL)


def test_header_only_file_imports_nothing_without_error() -> None:
    report = read_report_file(FIXTURES / "orders-header-only.txt")
    assert (report.orders, report.errors, report.duplicates_skipped) == ([], [], 0)
    assert report.layout is Layout.ORDERS_INVOICING


def test_unknown_header_is_a_header_error() -> None:
    with pytest.raises(HeaderError, match="order-id nor an amazon-order-id"):
        read_report_file(FIXTURES / "listings-not-an-order-report.txt")


def test_all_orders_statuses() -> None:
    report = read_report_file(FIXTURES / "all-orders-statuses.txt")
    statuses = {order.amazon_order_id: order.status for order in report.orders}
    assert statuses == {
        "302-5000001-0000001": OrderStatus.PENDING,  # Pending + Unshipped: paid or not, unknown
        "302-5000002-0000002": OrderStatus.PENDING,  # Pending + Shipping
        "302-5000003-0000003": OrderStatus.SHIPPED,
        "302-5000004-0000004": OrderStatus.CANCELLED,
        "302-5000005-0000005": OrderStatus.OPEN,  # Unshipped
        "302-5000006-0000006": OrderStatus.OPEN,  # PartiallyShipped
    }
    assert [error.as_dict() for error in report.errors] == [
        {"row": 9, "column": "order-status", "reason": "unknown order status"}
    ]


def test_fba_shipments_are_shipped() -> None:
    report = read_report_file(FIXTURES / "fba-shipments-invoicing.txt")
    (order,) = report.orders
    assert order.status is OrderStatus.SHIPPED
    assert order.fulfillment_channel == "AFN"
    assert not order.billing_address_missing


def test_a_given_charset_wins() -> None:
    report = read_report_file(FIXTURES / "orders-invoicing-eu-cp1252.txt", charset="latin-1")
    assert report.charset == "iso8859-1"
    text = " ".join(text_of(order) for order in report.orders)
    assert "Jürgen" in text  # Latin-1 and cp1252 agree on letters
    assert "„Grüße" not in text  # but not on cp1252's quotes
