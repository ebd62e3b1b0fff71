"""The simulated FBA shipments report (``GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING``).

Amazon's flat-file order reports list seller-fulfilled orders only; FBA sales with their
billing addresses come from this report (README "FBA orders"). It lists the shipped items of
Amazon-fulfilled orders, one row per shipment item, selected by shipment date within the
requested window, with the real header of spapi-notes 5.2 (e). The simulator ships an FBA
order item by item (each item one shipment, ``SimItem.shipped_at``); Amazon's lag of one to
three hours between a shipment and its row is not simulated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta

from hyreka_plugin_amazon.simulator.ordermodel import SimItem, SimOrder
from hyreka_plugin_amazon.simulator.reportcells import Row, addresses, date, money

FBA_SHIPMENTS = "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING"

HEADER = (
    "amazon-order-id", "merchant-order-id", "shipment-id", "shipment-item-id",
    "amazon-order-item-id", "merchant-order-item-id", "purchase-date", "payments-date",
    "shipment-date", "reporting-date", "buyer-email", "buyer-name", "buyer-phone-number", "sku",
    "product-name", "quantity-shipped", "currency", "item-price", "item-tax", "shipping-price",
    "shipping-tax", "gift-wrap-price", "gift-wrap-tax", "ship-service-level", "recipient-name",
    "ship-address-1", "ship-address-2", "ship-address-3", "ship-city", "ship-state",
    "ship-postal-code", "ship-country", "ship-phone-number", "bill-address-1", "bill-address-2",
    "bill-address-3", "bill-city", "bill-state", "bill-postal-code", "bill-country",
    "item-promotion-discount", "ship-promotion-discount", "carrier", "tracking-number",
    "estimated-arrival-date", "fulfillment-center-id", "fulfillment-channel", "sales-channel",
)  # fmt: skip

_CENTERS = {"DE": "LEJ1", "FR": "ORY1", "IT": "MXP5", "ES": "MAD4", "UK": "LTN1", "GB": "LTN1"}


def select(
    orders: Iterable[SimOrder],
    start: datetime,
    end: datetime,
    marketplace_ids: Sequence[str],
    now: datetime,
) -> list[tuple[SimOrder, list[SimItem]]]:
    """Amazon-fulfilled orders with items shipped within ``[start, end]`` (by ``now``), with
    those items, in order of their first shipment in the window."""
    chosen = []
    for order in orders:
        if order.fulfillment_channel != "AFN" or order.marketplace.id not in marketplace_ids:
            continue
        items = [
            item
            for item in order.items
            if item.shipped(now) and item.shipped_at is not None and start <= item.shipped_at <= end
        ]
        if items:
            chosen.append((order, items))
    chosen.sort(key=lambda pair: (min(_shipped(i) for i in pair[1]), pair[0].order_id))
    return chosen


def rows(chosen: Iterable[tuple[SimOrder, list[SimItem]]]) -> Iterator[Row]:
    """One row per shipped item; an order's rows are adjacent (as Amazon writes them)."""
    for order, items in chosen:
        for item in items:
            yield _row(order, item)


def _row(order: SimOrder, item: SimItem) -> Row:
    shipped = _shipped(item)
    shipment = _digest(f"{order.order_id}/{shipped.isoformat()}")
    center = _CENTERS.get(order.marketplace.code, "LEJ1")
    return {
        "amazon-order-id": order.order_id,
        "shipment-id": f"D{shipment[:8]}",
        "shipment-item-id": f"D{_digest(item.order_item_id)[:10]}",
        "amazon-order-item-id": item.order_item_id,
        "purchase-date": date(order.purchase_date),
        "payments-date": date(order.payments_date),
        "shipment-date": date(shipped),
        "reporting-date": date(shipped),
        "buyer-email": order.buyer_email,
        "buyer-name": order.buyer_name,
        "buyer-phone-number": order.buyer_phone,
        "sku": item.sku,
        "product-name": item.title,
        "quantity-shipped": str(item.quantity),
        "currency": order.currency,
        "item-price": money(item.item_price),
        "item-tax": money(item.item_tax),
        "shipping-price": money(item.shipping_price),
        "shipping-tax": money(item.shipping_tax),
        "ship-service-level": order.ship_service_level,
        **addresses(order),
        # one total per shipment item, negative (the fixture and real files write it so)
        "item-promotion-discount": money(item.item_promotion_discount) if item.promotions else "",
        "ship-promotion-discount": (
            money(item.ship_promotion.discount) if item.ship_promotion else ""
        ),
        "carrier": "DHL" if order.marketplace.code == "DE" else "AMZN",
        "tracking-number": f"JJD{shipment[8:20].upper()}",
        "estimated-arrival-date": date(shipped + timedelta(days=2)),
        "fulfillment-center-id": center,
        "fulfillment-channel": "AFN",
        "sales-channel": order.marketplace.domain,
    }


def _shipped(item: SimItem) -> datetime:
    assert item.shipped_at is not None  # select() takes shipped items only
    return item.shipped_at


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
