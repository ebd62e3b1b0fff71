"""The host contract: secrets never show, orders serialise to the documented JSON shape."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hyreka_plugin_amazon.contract import Address, Order, OrderLine, OrderStatus
from hyreka_plugin_amazon.secret import Secret


def test_secret_hides_its_value_everywhere() -> None:
    secret = Secret("Atzr|made-up-refresh-token")
    assert "made-up" not in repr(secret)
    assert "made-up" not in str(secret)
    assert "made-up" not in f"{secret}"
    assert secret.reveal() == "Atzr|made-up-refresh-token"


def test_order_as_dict_has_the_documented_shape() -> None:
    order = Order(
        amazon_order_id="302-1234567-1234567",
        status=OrderStatus.OPEN,
        marketplace_id="A1PA6795UKMFR9",
        sales_channel="Amazon.de",
        fulfillment_channel="MFN",
        currency="EUR",
        purchase_date=datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
        lines=(OrderLine("1", "SKU-1", "Tasse", 2, Decimal("19.80"), Decimal("3.16")),),
        billing_address=Address("Jürgen Groß", ("Hauptstraße 1",), "10115", "Berlin", "DE"),
        shipping_address=None,
    )
    data = order.as_dict()
    assert data["status"] == "open"
    assert data["purchase_date"] == "2026-11-20T10:00:00+00:00"
    assert data["lines"][0]["item_price"] == "19.80"
    assert data["billing_address"]["city"] == "Berlin"
    assert data["shipping_address"] is None
    assert order.total == Decimal("19.80")


def test_order_round_trips_through_its_record() -> None:
    order = Order(
        amazon_order_id="028-0000001-0000001",
        status=OrderStatus.CANCELLED,
        marketplace_id="A13V1IB3VIYZZH",
        sales_channel="Amazon.fr",
        fulfillment_channel="AFN",
        currency="EUR",
        purchase_date=datetime(2026, 11, 1, 8, 30, tzinfo=UTC),
        lines=(
            OrderLine(
                "0012", "S", "Crème", 1, Decimal("17"), item_promotion_discount=Decimal("-1.5")
            ),
        ),
        billing_address=None,
        shipping_address=Address(
            "Hélène", ("1 rue de la Paix", "bâtiment K"), "75002", "Paris", "FR"
        ),
        billing_address_missing=True,
        last_updated=datetime(2026, 11, 2, tzinfo=UTC),
    )
    assert Order.from_dict(order.as_record()) == order


def test_reprs_of_orders_and_addresses_carry_no_personal_data() -> None:
    address = Address(
        "Jürgen Groß",
        ("Hauptstraße 5",),
        "80331",
        "München",
        "DE",
        company="Groß GmbH",
        phone="+49 89 1234567",
    )
    order = Order(
        amazon_order_id="302-1234567-1234567",
        status=OrderStatus.OPEN,
        marketplace_id="A1PA6795UKMFR9",
        sales_channel="Amazon.de",
        fulfillment_channel="MFN",
        currency="EUR",
        purchase_date=None,
        lines=(),
        billing_address=address,
        shipping_address=address,
        buyer_email="abc123@marketplace.amazon.de",
        purchase_order_number="PO-4711",
        buyer_company_name="Groß GmbH",
        buyer_tax_registration_id="DE123456789",
    )
    text = repr(order)
    assert "302-1234567-1234567" in text
    assert "'DE'" in text
    for personal in (
        "Jürgen",
        "Hauptstraße",
        "80331",
        "München",
        "Groß",
        "+49",
        "abc123",
        "PO-4711",
        "DE123456789",
    ):
        assert personal not in text
