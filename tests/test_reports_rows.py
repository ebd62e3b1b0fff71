"""Report rows -> host objects: cells, schemas, the fast loader, addresses, order grouping."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Literal

import pytest
from helpers.shared import REAL_REPORTS, require
from marshmallow import ValidationError

from hyreka_plugin_amazon.contract import Address, OrderStatus
from hyreka_plugin_amazon.reports.addresses import AddressMapper, default_map_address
from hyreka_plugin_amazon.reports.cells import Channel, Count, Discount, Flag, Money, Timestamp
from hyreka_plugin_amazon.reports.orders import OrderErrors, ReportOrder, read_orders
from hyreka_plugin_amazon.reports.reader import (
    ReportReader,
    RowError,
    open_report_file,
)
from hyreka_plugin_amazon.reports.rows import (
    AllOrdersItemSchema,
    AllOrdersOrderSchema,
    FbaItemSchema,
    FbaOrderSchema,
    ItemSchema,
    OrderSchema,
    PromotionSchema,
    ReportContext,
    RowLoader,
    RowSchema,
)
from hyreka_plugin_amazon.reports.statuses import (
    ItemStatusSchema,
    StatusSchema,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REAL = REAL_REPORTS
DE = "A1PA6795UKMFR9"

COLUMNS = [
    "order-id",
    "order-item-id",
    "purchase-date",
    "payments-date",
    "buyer-email",
    "buyer-name",
    "buyer-phone-number",
    "sku",
    "product-name",
    "quantity-purchased",
    "currency",
    "item-price",
    "item-tax",
    "shipping-price",
    "shipping-tax",
    "recipient-name",
    "ship-address-1",
    "ship-address-2",
    "ship-address-3",
    "ship-city",
    "ship-state",
    "ship-postal-code",
    "ship-country",
    "ship-phone-number",
    "bill-address-1",
    "bill-address-2",
    "bill-address-3",
    "bill-city",
    "bill-state",
    "bill-postal-code",
    "bill-country",
    "item-promotion-discount",
    "ship-promotion-discount",
    "sales-channel",
    "is-business-order",
]


def line(**cells: str) -> str:
    named = {key.replace("_", "-"): value for key, value in cells.items()}
    assert set(named) <= set(COLUMNS)
    return "\t".join(named.get(column, "") for column in COLUMNS)


def oid(number: str) -> str:
    """A short order id of a test ("1") as Amazon writes it ("302-0000000-0000001")."""
    return f"302-0000000-{int(number):07d}" if number else ""


def iid(letter: str) -> str:
    """A short order item id of a test ("a") as Amazon writes it ("61200000000001")."""
    return f"6120000000000{ord(letter) - 96}"


def item_row(order_id: str, item_id: str, **cells: str) -> str:
    """A row of ``COLUMNS`` for the test's order "1" and item "a" (``oid``, ``iid``)."""
    base = {
        "order_id": oid(order_id),
        "order_item_id": iid(item_id),
        "purchase_date": "2026-11-20T10:00:00+00:00",
        "sku": "SKU-1",
        "quantity_purchased": "1",
        "currency": "EUR",
        "item_price": "10.00",
        "ship_city": "Bonn",
        "ship_country": "DE",
        "bill_city": "Bonn",
        "bill_country": "DE",
        "sales_channel": "Amazon.de",
    }
    return line(**(base | cells))


def orders_of(
    *rows: str, map_address: AddressMapper = default_map_address
) -> list[ReportOrder | OrderErrors]:
    return list(read_orders(ReportReader(["\t".join(COLUMNS), *rows]), map_address=map_address))


def read_fixture(name: str) -> list[ReportOrder | OrderErrors]:
    lines, _ = open_report_file(FIXTURES / name)
    return list(read_orders(ReportReader(lines), default_marketplace_id=DE))


def only_orders(items: list[ReportOrder | OrderErrors]) -> dict[str, ReportOrder]:
    return {item.amazon_order_id: item for item in items if isinstance(item, ReportOrder)}


# --- cells --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [("9.90", "9.90"), ("17", "17"), ("-0.84", "-0.84"), ("0.00", "0.00"), (".5", "0.5")],
)
def test_money_is_exactly_as_written(text: str, value: str) -> None:
    parsed = Money().parse(text)
    assert parsed == Decimal(value)
    assert str(parsed) == str(Decimal(text))


@pytest.mark.parametrize("text", ["1e3", "NaN", "Infinity", "1_000", "EUR 5", "--1", "9,90 EUR"])
def test_money_refuses_what_is_not_a_plain_number(text: str) -> None:
    with pytest.raises(ValueError, match=r"^not a number$"):
        Money().parse(text)


@pytest.mark.parametrize("text", ["9,90", "-4,90", "1.234,50"])
def test_money_with_a_decimal_comma_names_the_spreadsheet(text: str) -> None:
    with pytest.raises(ValueError, match=r"^a decimal comma, not a point \(opened and saved in a "):
        Money().parse(text)


def test_discounts_are_negative_whatever_the_report_writes() -> None:
    assert Discount().parse("-0.84") == Decimal("-0.84")
    assert Discount().parse("1.67") == Decimal("-1.67")  # the all-orders report writes them so
    assert str(Discount().parse("0.0")) == "0.0"  # never "-0.0"


def test_counts() -> None:
    assert Count().parse("3") == 3
    for text in ("2.0", "-1", "zwei"):
        with pytest.raises(ValueError, match="not a whole number"):
            Count().parse(text)


def test_timestamps_are_aware() -> None:
    assert Timestamp().parse("2017-09-23T14:18:23-07:00") == datetime(
        2017, 9, 23, 14, 18, 23, tzinfo=timezone(timedelta(hours=-7))
    )
    assert Timestamp().parse("2026-11-20T10:00:00Z") == datetime(2026, 11, 20, 10, tzinfo=UTC)
    with pytest.raises(ValueError, match="date without a UTC offset"):
        Timestamp().parse("2026-11-20T10:00:00")
    with pytest.raises(ValueError, match=r"^a date as a spreadsheet writes it \("):
        Timestamp().parse("17.05.2011")
    with pytest.raises(ValueError, match=r"^a date as a spreadsheet writes it \("):
        Timestamp().parse("6/5/2017 6:57")
    with pytest.raises(ValueError, match=r"^not a date$"):
        Timestamp().parse("Waltraud Eichhorn")


def test_flags_and_channels() -> None:
    assert Flag().parse("TRUE") is True
    assert Flag().parse("false") is False
    with pytest.raises(ValueError, match="not true or false"):
        Flag().parse("ja")
    assert Channel().parse("Amazon") == "AFN"
    assert Channel().parse("Merchant") == "MFN"
    assert Channel().parse("MFN") == "MFN"
    with pytest.raises(ValueError, match="not Amazon or Merchant"):
        Channel().parse("Courier")


# --- schemas ------------------------------------------------------------------------------


def test_schema_errors_are_keyed_by_column_and_never_quote_the_cell() -> None:
    with pytest.raises(ValidationError) as caught:
        ItemSchema().load(
            {"order-item-id": " ", "quantity-purchased": "Erika Mustermann", "item-price": "x"}
        )
    assert caught.value.messages == {
        "order-item-id": ["value is missing"],
        "quantity-purchased": ["not a whole number"],
        "item-price": ["not a number"],
    }


def test_unknown_columns_are_ignored_and_cells_normalised() -> None:
    loaded = PromotionSchema().load({"item-promotion-discount": " -1.00 ", "something-new": "x"})
    assert loaded == {"item_promotion_discount": Decimal("-1.00"), "ship_promotion_discount": 0}


def test_marketplace_from_sales_channel_else_the_contexts_default() -> None:
    row = {"order-id": oid("1"), "sales-channel": "Amazon.fr"}
    assert OrderSchema().load(row)["marketplace_id"] == "A13V1IB3VIYZZH"
    row["sales-channel"] = "Non-Amazon"
    assert OrderSchema().load(row)["marketplace_id"] is None
    with ReportContext({"default_marketplace_id": DE}):
        assert OrderSchema().load(row)["marketplace_id"] == DE


def _all_rows() -> list[tuple[str, Mapping[str, str | None], tuple[str, ...]]]:
    paths = sorted(FIXTURES.glob("*.txt")) + sorted(require(REAL).glob("*.txt"))
    found = []
    for path in paths:
        if path.name.startswith("listings"):
            continue
        lines, _ = open_report_file(path)
        reader = ReportReader(lines)
        found += [(path.name, row.values, reader.header) for row in reader]
    return found


@pytest.mark.slow
@pytest.mark.parametrize(
    "schema",
    [
        OrderSchema(),
        AllOrdersOrderSchema(),
        FbaOrderSchema(),
        ItemSchema(),
        AllOrdersItemSchema(),
        FbaItemSchema(),
        PromotionSchema(),
        StatusSchema(),
        ItemStatusSchema(),
    ],
    ids=lambda schema: type(schema).__name__,
)
def test_the_fast_loader_agrees_with_schema_load(schema: RowSchema) -> None:
    rows = _all_rows()
    assert len(rows) > 2000
    loader_by_header: dict[tuple[str, ...], RowLoader] = {}
    outcomes = {"valid": 0, "invalid": 0}
    with ReportContext({"default_marketplace_id": DE}):
        for name, values, header in rows:
            loader = loader_by_header.setdefault(header, RowLoader(schema, header))
            expected: object
            loaded: object
            try:
                expected = schema.load(values)
            except ValidationError as exc:
                expected = ("invalid", exc.messages)
            try:
                loaded = loader.load(values)
            except ValidationError as exc:
                loaded = ("invalid", exc.messages)
            assert loaded == expected, name
            outcomes["invalid" if isinstance(expected, tuple) else "valid"] += 1
    assert outcomes["valid"] > 0
    assert sum(outcomes.values()) > 2000


def test_the_fast_loader_agrees_beyond_its_cache_and_on_bad_cells() -> None:
    header = ("order-item-id", "sku", "quantity-purchased", "item-price", "item-tax")
    schema = ItemSchema()
    loader = RowLoader(schema, header)
    rows: list[dict[str, str | None]] = []
    for n in range(2 * 4096 + 10):  # more distinct prices than a cell's value cache holds
        price = f"{n}.{n % 100:02d}" if n % 997 else "1,5"  # now and then a bad price
        quantity = None if n % 1009 == 0 else str(1 + n % 3)  # now and then none (required)
        rows.append(
            {
                "order-item-id": f"{n}" if n % 991 else f"{n}E+13",  # now and then a bad id
                "sku": None,
                "quantity-purchased": quantity,
                "item-price": price,
                "item-tax": "0.19" if n % 2 else None,
            }
        )
    bad = 0
    for values in rows:
        try:
            expected: object = schema.load(values)
        except ValidationError as exc:
            expected = exc.messages
            bad += 1
        try:
            loaded: object = loader.load(values)
        except ValidationError as exc:
            loaded = exc.messages
        assert loaded == expected
    assert bad > 10
    absent = RowLoader(schema, ("order-item-id", "quantity-purchased", "item-price"))
    assert absent.load({"order-item-id": "7", "quantity-purchased": "2", "item-price": "3"}) == (
        schema.load({"order-item-id": "7", "quantity-purchased": "2", "item-price": "3"})
    )


# --- addresses ----------------------------------------------------------------------------


def test_shipping_address() -> None:
    row = {
        "recipient-name": "Jürgen Groß",
        "ship-address-1": "Hauptstraße 5",
        "ship-address-2": None,
        "ship-address-3": " Hinterhaus ",
        "ship-city": "Köln",
        "ship-postal-code": "50667",
        "ship-country": "DE",
        "ship-phone-number": "",
        "buyer-company-name": "not used for shipping",
    }
    assert default_map_address(row, "shipping") == Address(
        name="Jürgen Groß",
        lines=("Hauptstraße 5", "Hinterhaus"),
        postal_code="50667",
        city="Köln",
        country_code="DE",
    )
    assert (
        default_map_address({"recipient-name": "X", "ship-service-level": "Std"}, "shipping")
        is None
    )


def test_billing_address_name_company_and_phone() -> None:
    row = {
        "buyer-name": "Dörte Weiß",
        "buyer-company-name": "Müller & Söhne GmbH",
        "buyer-phone-number": "0911 5550202",
        "bill-address-1": "Industriestraße 12",
        "bill-city": "Nürnberg",
        "bill-state": "Bayern",
        "bill-postal-code": "90411",
        "bill-country": "DE",
        "ship-phone-number": "not used for billing",
    }
    billing = default_map_address(row, "billing")
    assert billing == Address(
        name="Dörte Weiß",
        lines=("Industriestraße 12",),
        postal_code="90411",
        city="Nürnberg",
        country_code="DE",
        state="Bayern",
        company="Müller & Söhne GmbH",
        phone="0911 5550202",
    )
    named = default_map_address(row | {"bill-name": "Buchhaltung"}, "billing")
    assert named is not None
    assert named.name == "Buchhaltung"
    empty = {key: (None if key.startswith("bill-") else value) for key, value in row.items()}
    assert default_map_address(empty, "billing") is None


# --- orders -------------------------------------------------------------------------------


def test_invoicing_fixture_orders() -> None:
    orders = only_orders(read_fixture("orders-invoicing-eu-cp1252.txt"))
    assert len(orders) == 5
    first = orders["302-1000001-0000001"]
    assert first.rows == (1,)
    assert first.marketplace_id == DE
    assert first.purchase_date == datetime(2026, 11, 20, 9, 15, 2, tzinfo=UTC)
    assert first.billing_address is not None
    assert first.billing_address.name == "Jürgen Groß"
    assert first.billing_address.lines == ("Straße des 17. Juni 3",)
    assert first.shipping_address is not None
    assert first.shipping_address.city == "Köln"
    (only,) = first.lines
    assert (only.quantity, only.item_price, only.shipping_price) == (
        2,
        Decimal("19.90"),
        Decimal("4.90"),
    )

    b2b = orders["302-1000002-0000002"]
    assert b2b.rows == (2, 3, 4)  # row 3 is the promotion continuation row
    assert b2b.is_business_order is True
    assert (b2b.purchase_order_number, b2b.buyer_tax_registration_id) == ("PO-4711", "DE123456789")
    assert b2b.buyer_company_name == "Müller & Söhne GmbH"
    assert b2b.billing_address is not None
    assert b2b.billing_address.company == "Müller & Söhne GmbH"
    assert b2b.billing_address.lines == ("Industriestraße 12", "Geschäftsgebäude B", "3. OG")
    screws, nuts = b2b.lines
    assert screws.order_item_id == "61200000000201"
    assert screws.quantity == 3
    assert screws.item_price == Decimal("44.97")
    assert screws.item_promotion_discount == Decimal("-3.00")  # -2.00 and the continuation's -1.00
    assert screws.ship_promotion_discount == Decimal("-4.90")
    assert nuts.item_promotion_discount == 0
    assert b2b.purchase_date is not None
    assert b2b.purchase_date.utcoffset() == timedelta(hours=1)

    french = orders["171-1000003-0000003"]
    assert french.rows == (5,)  # row 6 repeats row 5 byte for byte
    assert len(french.lines) == 1
    assert str(french.lines[0].shipping_price) == "3"
    assert french.marketplace_id == "A13V1IB3VIYZZH"

    no_billing = orders["404-1000004-0000004"]
    assert no_billing.billing_address is None
    assert no_billing.to_order(OrderStatus.OPEN).billing_address_missing is True
    assert first.to_order(OrderStatus.OPEN).billing_address_missing is False

    assert orders["406-1000005-0000005"].lines[0].order_item_id == "0938446464647"


def test_shipping_layout_has_no_billing() -> None:
    orders = only_orders(read_fixture("orders-shipping-us.txt"))
    first = orders["113-2000001-0000001"]
    assert first.billing_address is None
    assert not first.has_billing_columns
    assert first.to_order(OrderStatus.OPEN).billing_address_missing is True
    assert first.shipping_address is not None
    assert first.shipping_address.state == "WA"
    assert [line.sku for line in first.lines] == ["MUG-12OZ", "COASTER-4"]
    assert first.lines[0].title == 'Mug 12 oz "World\'s Best Dad"'
    assert first.marketplace_id == "ATVPDKIKX0DER"
    ragged = orders["113-2000002-0000002"]  # no sales-channel cell: the default marketplace
    assert (ragged.sales_channel, ragged.marketplace_id) == (None, DE)


def test_fba_item_shipped_in_two_shipments_is_one_line() -> None:
    (order,) = only_orders(read_fixture("fba-shipments-invoicing.txt")).values()
    assert order.fulfillment_channel == "AFN"
    assert order.rows == (1, 2)
    (item,) = order.lines
    assert (item.quantity, item.item_price, item.item_tax) == (3, Decimal("38.97"), Decimal("6.22"))
    assert item.item_promotion_discount == Decimal("-3.90")
    assert order.billing_address is not None
    assert order.billing_address.name == "Søren Ærø"


def test_all_orders_lines_statuses_and_ids() -> None:
    orders = only_orders(read_fixture("all-orders-statuses.txt"))
    pending = orders["302-5000001-0000001"]
    assert (pending.order_status, pending.item_statuses) == ("Pending", ("Unshipped",))
    assert pending.currency is None
    assert pending.lines[0].item_price is None  # a pending order has no price yet: unknown
    assert pending.to_order(OrderStatus.PENDING).total is None
    assert pending.billing_address is None
    assert pending.shipping_address is not None
    assert pending.shipping_address.city == "München"
    assert pending.shipping_address.name is None
    assert orders["302-5000002-0000002"].item_statuses == ("Shipping", "Shipped")
    same_sku = orders["302-5000005-0000005"]
    assert [line.order_item_id for line in same_sku.lines] == ["SKU-C#1", "SKU-C#2"]
    assert [line.quantity for line in same_sku.lines] == [1, 2]
    fba = orders["302-5000003-0000003"]
    assert fba.fulfillment_channel == "AFN"
    assert orders["302-5000001-0000001"].fulfillment_channel == "MFN"
    assert fba.lines[0].ship_promotion_discount == Decimal("-0.55")
    assert fba.to_order(OrderStatus.SHIPPED).total == Decimal("8.33")  # 10 + 0.55 - 1.67 - 0.55
    assert orders["302-5000006-0000006"].marketplace_id == DE  # Non-Amazon
    assert orders["302-5000004-0000004"].item_statuses == ()


def test_without_address_mapping_orders_are_the_same_but_for_addresses() -> None:
    lines, _ = open_report_file(FIXTURES / "all-orders-statuses.txt")
    plain = list(read_orders(ReportReader(lines), default_marketplace_id=DE, map_address=None))
    expected = read_fixture("all-orders-statuses.txt")
    assert plain == [
        dataclasses.replace(item, billing_address=None, shipping_address=None)
        if isinstance(item, ReportOrder)
        else item
        for item in expected
    ]
    assert all(item.shipping_address is None for item in only_orders(plain).values())


def test_to_order_takes_the_channel_and_last_update_it_is_given() -> None:
    order = next(iter(only_orders(read_fixture("all-orders-statuses.txt")).values()))
    later = datetime(2026, 12, 1, tzinfo=UTC)
    changed = order.to_order(OrderStatus.OPEN, fulfillment_channel=None, last_updated=later)
    assert changed == dataclasses.replace(
        order.to_order(OrderStatus.OPEN), fulfillment_channel=None, last_updated=later
    )


def test_a_report_order_s_repr_shows_no_personal_data() -> None:
    orders = only_orders(read_fixture("orders-invoicing-eu-cp1252.txt")).values()
    business = [order for order in orders if order.buyer_company_name]
    assert business
    for order in business:
        text = repr(order)
        assert order.amazon_order_id in text
        addresses = [a for a in (order.billing_address, order.shipping_address) if a is not None]
        assert addresses
        personal = [order.buyer_email, order.buyer_company_name, order.buyer_tax_registration_id]
        for address in addresses:
            personal += [address.name, address.company, address.phone, address.postal_code]
            personal += [address.city, *address.lines]
        for value in personal:
            assert not value or value not in text


def test_equal_statuses_of_many_orders_share_one_object() -> None:
    orders = list(only_orders(read_fixture("all-orders-statuses.txt")).values())
    pending = [order for order in orders if order.order_status == "Pending"]
    assert len(pending) > 1
    assert all(order.order_status is pending[0].order_status for order in pending)
    shipped = [order for order in orders if order.item_statuses == ("Shipped",)]
    assert len(shipped) > 1
    assert all(order.item_statuses is shipped[0].item_statuses for order in shipped)
    euro = [order.currency for order in orders if order.currency == "EUR"]
    assert len(euro) > 1
    assert all(currency is euro[0] for currency in euro)


def test_currency_of_a_later_row_and_currency_conflicts() -> None:
    (order,) = orders_of(
        item_row("1", "a", currency="", item_price=""), item_row("1", "b", currency="GBP")
    )
    assert isinstance(order, ReportOrder)
    assert order.currency == "GBP"
    (conflict,) = orders_of(item_row("1", "a"), item_row("1", "b", currency="GBP"))
    assert isinstance(conflict, OrderErrors)
    assert conflict.errors == (RowError(2, "currency", "currency differs from the order's"),)


def test_one_bad_row_fails_its_whole_order_and_only_it() -> None:
    items = orders_of(
        item_row("1", "a"),
        item_row("2", "a"),
        item_row("2", "b", item_tax="1,60"),
        item_row("3", "a"),
    )
    assert [type(item).__name__ for item in items] == ["ReportOrder", "OrderErrors", "ReportOrder"]
    failed = items[1]
    assert isinstance(failed, OrderErrors)
    assert (failed.amazon_order_id, failed.rows) == (oid("2"), (2, 3))
    comma = "a decimal comma, not a point (opened and saved in a spreadsheet?)"
    assert failed.errors == (RowError(3, "item-tax", comma),)
    assert failed.row_errors() == (
        RowError(2, None, "not imported: row 3 of this order failed"),
        RowError(3, "item-tax", comma),
    )


def test_order_level_errors_come_from_the_first_row() -> None:
    (failed,) = orders_of(item_row("1", "a", purchase_date="2026-11-20"), item_row("1", "b"))
    assert isinstance(failed, OrderErrors)
    assert failed.errors == (RowError(1, "purchase-date", "date without a UTC offset"),)


def test_rows_of_an_order_far_apart_are_one_order() -> None:
    first, second = orders_of(
        item_row("1", "a"), item_row("2", "a"), item_row("1", "b"), item_row("1", "c")
    )
    assert isinstance(first, ReportOrder)
    assert isinstance(second, ReportOrder)
    assert (first.amazon_order_id, first.rows) == (oid("1"), (1, 3, 4))
    assert [line.order_item_id for line in first.lines] == [iid("a"), iid("b"), iid("c")]
    assert (second.amazon_order_id, second.rows) == (oid("2"), (2,))


def test_a_row_without_order_id() -> None:
    missing, good = orders_of(item_row("1", "a"), item_row("", "b"), item_row("1", "c"))
    assert isinstance(good, ReportOrder)  # the row without id does not split order 1
    assert good.rows == (1, 3)
    assert missing == OrderErrors(None, (2,), (RowError(2, "order-id", "order id is missing"),))


def test_a_continuation_row_first_is_an_error() -> None:
    (failed,) = orders_of(item_row("1", "a", quantity_purchased="", sku=""))
    assert isinstance(failed, OrderErrors)
    assert failed.errors == (RowError(1, "quantity-purchased", "value is missing"),)


def test_a_failing_address_mapper_never_leaks_its_message() -> None:
    def mapper(row: Mapping[str, str | None], kind: Literal["billing", "shipping"]) -> Address:
        raise RuntimeError(f"cannot map {row['recipient-name']}")

    items = list(
        read_orders(
            ReportReader(["\t".join(COLUMNS), item_row("1", "a", recipient_name="Erika Muster")]),
            map_address=mapper,
        )
    )
    (failed,) = items
    assert isinstance(failed, OrderErrors)
    assert failed.errors == (RowError(1, None, "address mapping failed (RuntimeError)"),)


def test_a_custom_mapper_gets_the_whole_row() -> None:
    seen: list[tuple[str, str | None]] = []

    def mapper(row: Mapping[str, str | None], kind: Literal["billing", "shipping"]) -> None:
        seen.append((kind, row.get("buyer-phone-number")))

    orders_of(item_row("1", "a", buyer_phone_number="0228 555"), map_address=mapper)
    assert seen == [("billing", "0228 555"), ("shipping", "0228 555")]


def test_a_mapper_gets_every_column_of_an_order_s_first_row() -> None:
    """The reader keeps only the schemas' columns of an order's later rows; the first row,
    whose addresses are mapped, keeps them all (a host's mapping may read any column)."""
    rows: list[dict[str, str | None]] = []

    def mapper(row: Mapping[str, str | None], kind: Literal["billing", "shipping"]) -> None:
        rows.append(dict(row))

    first = item_row("1", "a", buyer_phone_number="0228 555", ship_address_2="Hinterhaus")
    orders = orders_of(
        first, item_row("1", "b"), item_row("2", "a", ship_address_2="2. OG"), map_address=mapper
    )
    assert [len(order.lines) for order in orders if isinstance(order, ReportOrder)] == [2, 1]
    assert [set(row) for row in rows] == [set(COLUMNS)] * 4
    assert [row["ship-address-2"] for row in rows] == ["Hinterhaus"] * 2 + ["2. OG"] * 2
    assert [row["buyer-phone-number"] for row in rows] == ["0228 555"] * 2 + [None] * 2
    reader = ReportReader(["\t".join(COLUMNS), first, item_row("1", "b"), item_row("2", "a")])
    read = list(reader.rows({"order-id", "sku"}, whole_first=True))
    assert [set(row.values) for row in read] == [set(COLUMNS), {"order-id", "sku"}, set(COLUMNS)]


def test_unshipped_real_report_has_no_prices() -> None:
    path = require(REAL / "us-unshipped-littlesnaf-1.txt")
    lines, _ = open_report_file(path)
    orders = only_orders(list(read_orders(ReportReader(lines))))
    assert len(orders) == 3
    multi = orders["111-0687106-4490606"]
    assert [line.order_item_id for line in multi.lines] == ["140273890772122", "140273890772121"]
    assert {line.item_price for line in multi.lines} == {None}  # no price columns: unknown
    assert multi.to_order(OrderStatus.OPEN).prices_missing
    assert multi.currency is None
    assert multi.marketplace_id == "ATVPDKIKX0DER"
    assert multi.payments_date == datetime(2025, 9, 24, 12, 2, 50, tzinfo=UTC)
