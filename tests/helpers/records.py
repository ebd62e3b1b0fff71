"""Accounts and orders made up for store tests, with distinctive personal data and secrets."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from hyreka_plugin_amazon.contract import Account, Address, Order, OrderLine, OrderStatus
from hyreka_plugin_amazon.secret import Secret

CLIENT_SECRET = "amzn1.oa2-cs.v1.q7Zr3xKpW9sEcUr1tYsEcReT"
REFRESH_TOKEN = "Atzr|IwEBIQ7zR3xKpW9mRefReShToKeN"
BUYER_NAME = "Quirinia Vollzugsprüferin"


def make_account(account_id: str = "acc-1", name: str = "Shop DE") -> Account:
    return Account(
        id=account_id,
        name=name,
        connector="amazon",
        region="eu",
        marketplace_ids=("A1PA6795UKMFR9",),
        client_id="amzn1.application-oa2-client.abc",
        client_secret=Secret(CLIENT_SECRET),
        refresh_token=Secret(REFRESH_TOKEN),
        endpoint="http://127.0.0.1:8080",
    )


def make_order(
    order_id: str,
    status: OrderStatus = OrderStatus.OPEN,
    *,
    name: str = BUYER_NAME,
    last_updated: datetime | None = None,
) -> Order:
    billing = Address(name, ("Zollhafenweg 7",), "40212", "Düsseldorf", "DE", phone="+4917055")
    return Order(
        amazon_order_id=order_id,
        status=status,
        marketplace_id="A1PA6795UKMFR9",
        sales_channel="Amazon.de",
        fulfillment_channel="MFN",
        currency="EUR",
        purchase_date=datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
        lines=(OrderLine("11", "SKU-TASSE", "Kaffeetasse", 2, Decimal("19.80"), Decimal("3.16")),),
        billing_address=billing,
        shipping_address=billing,
        buyer_email="qv.vollzug@marketplace.amazon.de",
        last_updated=last_updated,
    )
