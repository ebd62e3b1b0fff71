"""The simulated FBA shipments report (``GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING``).

Amazon's flat-file order reports list seller-fulfilled orders only; FBA sales with their
billing addresses come from this report (README "FBA orders"). It lists the shipped items of
Amazon-fulfilled orders, one row per shipment item, selected by shipment date within the
requested window, with the real header of spapi-notes 5.2 (e) (Japan's adds points-granted),
sorted by shipment. The simulator ships an FBA order item by item (``SimItem.shipped_at``),
some items of several units in two shipments from two fulfilment centres; gift wrap and
Japan's points are in their columns, Japan's empty city and address lines are Amazon's
placeholder ``--``. Amazon's lag of one to three hours between a shipment and its row is not
simulated.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from hyreka_plugin_amazon.simulator.ordermodel import SimItem, SimOrder
from hyreka_plugin_amazon.simulator.reportcells import (
    CENT,
    Row,
    addresses,
    date,
    money,
    placeholders,
)

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
HEADER_JP = (*HEADER, "points-granted")  # Amazon.co.jp's report adds the points granted

# two fulfilment centres per marketplace: a split item's shipments come from both
_CENTERS = {
    "DE": ("LEJ1", "DTM2"),
    "FR": ("ORY1", "LYS1"),
    "IT": ("MXP5", "FCO1"),
    "ES": ("MAD4", "BCN1"),
    "UK": ("LTN1", "MAN1"),
    "GB": ("LTN1", "MAN1"),
    "JP": ("HND3", "KIX2"),
}


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
    """One row per shipment of an item, sorted by shipment as Amazon sorts this report (by
    shipment date, then shipment id): the rows of an order shipped in several shipments
    stand apart. An item of two or more units is now and then shipped from two fulfilment
    centres (``split``): two rows, quantities and amounts divided between them."""
    found = [row for order, items in chosen for item in items for row in _rows(order, item)]
    found.sort(key=lambda row: (row["shipment-date"], row["shipment-id"]))
    return iter(found)


def split(item: SimItem) -> bool:
    """Whether Amazon ships this item in two shipments (decided by its id)."""
    return item.quantity > 1 and int(_digest(item.order_item_id)[:4], 16) % 2 == 0


def _rows(order: SimOrder, item: SimItem) -> Iterator[Row]:
    if not split(item):
        yield _row(order, item, item.quantity, 0)
        return
    first = item.quantity // 2
    yield _row(order, item, first, 0)
    yield _row(order, item, item.quantity - first, 1)


_AMOUNTS = ("item_price", "item_tax", "shipping_price", "shipping_tax", "gift_wrap_price",
            "gift_wrap_tax")  # fmt: skip


def _part(item: SimItem, quantity: int, part: int, currency: str) -> dict[str, Decimal]:
    """The amounts of ``quantity`` units of ``item`` in its shipment ``part`` (0 or 1): the
    first part's share rounded to the currency's step, the second the rest (they add up)."""
    amounts = {name: getattr(item, name) for name in _AMOUNTS}
    amounts["item_promotion_discount"] = item.item_promotion_discount
    amounts["ship_promotion_discount"] = (
        item.ship_promotion.discount if item.ship_promotion else Decimal("0")
    )
    if item.points_granted is not None:
        amounts["points_granted"] = item.points_granted
    if quantity == item.quantity:
        return amounts
    step = Decimal("1") if currency == "JPY" else CENT
    first = item.quantity - quantity if part else quantity  # the first shipment's units
    shares = {k: (v * first / item.quantity).quantize(step) for k, v in amounts.items()}
    return shares if part == 0 else {k: amounts[k] - shares[k] for k in amounts}


def _row(order: SimOrder, item: SimItem, quantity: int, part: int) -> Row:
    shipped = _shipped(item)
    shipment = _digest(f"{order.order_id}/{shipped.isoformat()}/{part}")
    centers = _CENTERS.get(order.marketplace.code, ("LEJ1", "DTM2"))
    amounts = _part(item, quantity, part, order.currency)
    japan = order.marketplace.code == "JP"
    points = amounts.get("points_granted")
    return {
        "amazon-order-id": order.order_id,
        "shipment-id": f"D{shipment[:8]}",
        "shipment-item-id": f"D{_digest(f'{item.order_item_id}/{part}')[:10]}",
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
        "quantity-shipped": str(quantity),
        "currency": order.currency,
        "item-price": money(amounts["item_price"]),
        "item-tax": money(amounts["item_tax"]),
        "shipping-price": money(amounts["shipping_price"]),
        "shipping-tax": money(amounts["shipping_tax"]),
        "gift-wrap-price": money(amounts["gift_wrap_price"]),
        "gift-wrap-tax": money(amounts["gift_wrap_tax"]),
        "ship-service-level": order.ship_service_level,
        **(placeholders(addresses(order)) if japan else addresses(order)),
        # one total per shipment item, negative (the fixture and real files write it so)
        "item-promotion-discount": (
            money(amounts["item_promotion_discount"]) if item.promotions else ""
        ),
        "ship-promotion-discount": (
            money(amounts["ship_promotion_discount"]) if item.ship_promotion else ""
        ),
        "carrier": {"DE": "DHL", "JP": "YAMATO"}.get(order.marketplace.code, "AMZN"),
        "tracking-number": f"JJD{shipment[8:20].upper()}",
        "estimated-arrival-date": date(shipped + timedelta(days=2)),
        "fulfillment-center-id": centers[part],
        "fulfillment-channel": "AFN",
        "sales-channel": order.marketplace.domain,
        "points-granted": money(points) if points is not None else "",
    }


def _shipped(item: SimItem) -> datetime:
    assert item.shipped_at is not None  # select() takes shipped items only
    return item.shipped_at


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
