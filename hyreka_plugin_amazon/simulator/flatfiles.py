"""Flat-file report content: the order reports (with and without billing) and all-orders report
(the FBA shipments report is ``fbashipments.py``'s).

Layouts follow spapi-notes 5.2: the EU invoicing layout (b) with the B2B columns appended,
the shipping layout without ``bill-*``, and the real 91-column all-orders header (whose last
name carries a trailing space, as Amazon writes it).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime

from hyreka_plugin_amazon.reports import catalogue
from hyreka_plugin_amazon.simulator import fbashipments
from hyreka_plugin_amazon.simulator.ordermodel import AmazonState, SimItem, SimOrder
from hyreka_plugin_amazon.simulator.reportcells import Row, addresses, date, money

# The report types the simulator serves; what Amazon says of them is the catalogue's.
INVOICING = catalogue.ORDER_REPORT_EU
SHIPPING = catalogue.ORDER_REPORT_OTHER
ALL_ORDERS = catalogue.STATUS_REPORT
FBA_SHIPMENTS = fbashipments.FBA_SHIPMENTS
REPORT_TYPES = frozenset({INVOICING, SHIPPING, ALL_ORDERS, FBA_SHIPMENTS})
ORDER_REPORT_TYPES = frozenset(
    name for name in REPORT_TYPES if catalogue.REPORT_TYPES[name].role is catalogue.Role.ORDERS
)
RESTRICTED_REPORT_TYPES = REPORT_TYPES & catalogue.RESTRICTED_REPORT_TYPES

BILL_COLUMNS = (
    "bill-address-1", "bill-address-2", "bill-address-3", "bill-city", "bill-state",
    "bill-postal-code", "bill-country",
)  # fmt: skip
INVOICING_HEADER = (
    "order-id", "order-item-id", "purchase-date", "payments-date", "buyer-email", "buyer-name",
    "buyer-phone-number", "sku", "product-name", "quantity-purchased", "currency", "item-price",
    "item-tax", "shipping-price", "shipping-tax", "ship-service-level", "recipient-name",
    "ship-address-1", "ship-address-2", "ship-address-3", "ship-city", "ship-state",
    "ship-postal-code", "ship-country", "ship-phone-number", *BILL_COLUMNS,
    "item-promotion-discount", "item-promotion-id", "ship-promotion-discount",
    "ship-promotion-id", "delivery-start-date", "delivery-end-date", "delivery-time-zone",
    "delivery-Instructions", "sales-channel", "is-business-order", "purchase-order-number",
    "price-designation", "buyer-company-name", "buyer-tax-registration-id",
    "buyer-tax-registration-country",
)  # fmt: skip
SHIPPING_HEADER = tuple(c for c in INVOICING_HEADER if c not in BILL_COLUMNS)
ALL_ORDERS_HEADER = (
    "amazon-order-id", "merchant-order-id", "purchase-date", "last-updated-date", "order-status",
    "fulfillment-channel", "sales-channel", "order-channel", "url", "ship-service-level",
    "product-name", "sku", "asin", "number-of-items", "item-status", "tax-collection-model",
    "tax-collection-responsible-party", "quantity", "currency", "item-price", "item-tax",
    "shipping-price", "shipping-tax", "gift-wrap-price", "gift-wrap-tax",
    "item-promotion-discount", "ship-promotion-discount", "address-type", "ship-city",
    "ship-state", "ship-postal-code", "ship-country", "promotion-ids", "payment-method-details",
    "item-extensions-data", "is-business-order", "purchase-order-number", "price-designation",
    "fulfilled-by", "buyer-company-name", "buyer-cst-number", "buyer-vat-number",
    "buyer-tax-registration-id", "buyer-tax-registration-country",
    "buyer-tax-registration-type", "customized-url", "customized-page", "is-heavy-or-bulky",
    "is-replacement-order", "is-exchange-order", "original-order-id", "is-amazon-invoiced",
    "vat-exclusive-item-price", "vat-exclusive-shipping-price", "vat-exclusive-giftwrap-price",
    "licensee-name", "license-number", "license-state", "license-expiration-date", "is-iba",
    "buyer-citizen-name", "buyer-citizen-id", "is-transparency",
    "default-ship-from-address-name", "default-ship-from-address-field-1",
    "default-ship-from-address-field-2", "default-ship-from-address-field-3",
    "default-ship-from-city", "default-ship-from-state", "default-ship-from-country",
    "default-ship-from-postal-code", "actual-ship-from-address-name",
    "actual-ship-from-address-field-1", "actual-ship-from-address-field-2",
    "actual-ship-from-address-field-3", "actual-ship-from-city", "actual-ship-from-state",
    "actual-ship-from-country", "actual-ship-from-postal-code", "is-ispu-order",
    "store-chain-store-id", "is-pickup-point-order", "pickup-point-type",
    "is-buyer-requested-cancellation", "buyer-requested-cancel-reason", "ioss-number",
    "order-invoice-type", "invoice-business-legal-name", "invoice-business-address",
    "invoice-business-tax-id", "invoice-business-tax-office ",
)  # fmt: skip


def header(report_type: str, *, billing: bool = True, japan: bool = False) -> tuple[str, ...]:
    if report_type == ALL_ORDERS:
        return ALL_ORDERS_HEADER
    if report_type == FBA_SHIPMENTS:
        return fbashipments.HEADER_JP if japan else fbashipments.HEADER
    if catalogue.REPORT_TYPES[report_type].billing_columns and billing:
        return INVOICING_HEADER
    return SHIPPING_HEADER


def select(
    report_type: str,
    orders: Iterable[SimOrder],
    start: datetime,
    end: datetime,
    marketplace_ids: Sequence[str],
    now: datetime,
) -> list[SimOrder]:
    """The orders a report over ``[start, end]`` lists, as of ``now``.

    Order reports select seller-fulfilled (MFN) orders by the moment payment was authorised
    and leave cancelled orders out (Amazon's order reports list seller-fulfilled orders only:
    README "FBA orders"); the all-orders report selects every order by last update.
    """
    chosen = []
    for order in orders:
        if order.marketplace.id not in marketplace_ids or order.purchase_date > now:
            continue
        if report_type == ALL_ORDERS:
            if start <= order.last_updated(now) <= end:
                chosen.append(order)
        elif (
            order.fulfillment_channel == "MFN"
            and order.payments_date is not None
            and start <= order.payments_date <= end
            and order.state(now) is not AmazonState.CANCELED
        ):
            chosen.append(order)
    return chosen


def rows(report_type: str, orders: Iterable[SimOrder], now: datetime) -> Iterator[Row]:
    """The report's data rows: one per item (plus promotion continuation rows)."""
    for order in orders:
        for item in order.items:
            if report_type == ALL_ORDERS:
                yield _all_orders_row(order, item, now)
            else:
                yield from _order_report_rows(order, item)


def render(columns: Sequence[str], data: Iterable[Row], *, newline: str = "\n") -> str:
    """Tab-separated text, header first, no quoting (as Amazon writes flat files)."""
    lines = ["\t".join(columns)]
    lines.extend("\t".join(row.get(c, "") for c in columns) for row in data)
    return newline.join(lines) + newline


def malform(data: list[Row], kinds: set[str], id_column: str) -> list[Row]:
    """Break the first priced rows, one fault kind per row, as a sloppy export would."""
    broken = [dict(row) for row in data]
    targets = iter(row for row in broken if row.get("item-price"))
    for kind in ("missing_order_id", "bad_number", "bad_date", "extra_tab"):
        row = next(targets, None) if kind in kinds else None
        if row is None:
            continue
        if kind == "missing_order_id":
            row[id_column] = ""
        elif kind == "bad_number":
            row["item-price"] = row["item-price"].replace(".", ",")
        elif kind == "bad_date":
            row["purchase-date"] = datetime.fromisoformat(row["purchase-date"]).strftime(
                "%d.%m.%Y %H:%M:%S"
            )
        else:
            title = row["product-name"]
            row["product-name"] = f"{title[:10]}\t{title[10:]}"
    return broken


def _order_report_rows(order: SimOrder, item: SimItem) -> Iterator[Row]:
    first_promo = item.promotions[0] if item.promotions else None
    row: Row = {
        "order-id": order.order_id,
        "order-item-id": item.order_item_id,
        "purchase-date": date(order.purchase_date),
        "payments-date": date(order.payments_date),
        "buyer-email": order.buyer_email,
        "buyer-name": order.buyer_name,
        "buyer-phone-number": order.buyer_phone,
        "sku": item.sku,
        "product-name": item.title,
        "quantity-purchased": str(item.quantity),
        "currency": order.currency,
        "item-price": money(item.item_price),
        "item-tax": money(item.item_tax),
        "shipping-price": money(item.shipping_price),
        "shipping-tax": money(item.shipping_tax),
        "ship-service-level": order.ship_service_level,
        **addresses(order),
        "item-promotion-discount": money(first_promo.discount) if first_promo else "",
        "item-promotion-id": first_promo.promotion_id if first_promo else "",
        "ship-promotion-discount": (
            money(item.ship_promotion.discount) if item.ship_promotion else ""
        ),
        "ship-promotion-id": item.ship_promotion.promotion_id if item.ship_promotion else "",
        "sales-channel": order.marketplace.domain,
        "is-business-order": _bool(order.is_business_order),
        "purchase-order-number": order.purchase_order_number,
        "price-designation": item.price_designation,
        "buyer-company-name": order.buyer_company_name,
        "buyer-tax-registration-id": order.buyer_tax_registration_id,
        "buyer-tax-registration-country": order.buyer_tax_registration_country,
    }
    yield row
    for promo in item.promotions[1:]:
        yield {
            "order-id": order.order_id,
            "order-item-id": item.order_item_id,
            "item-promotion-discount": money(promo.discount),
            "item-promotion-id": promo.promotion_id,
        }


def _all_orders_row(order: SimOrder, item: SimItem, now: datetime) -> Row:
    state = order.state(now)
    afn = order.fulfillment_channel == "AFN"
    priced = state not in (AmazonState.PENDING, AmazonState.CANCELED)
    if state is AmazonState.CANCELED:
        order_status, item_status = "Cancelled", "Cancelled" if afn else ""
    elif state is AmazonState.SHIPPED:
        order_status, item_status = "Shipped", "Shipped"
    elif item.shipped(now):
        order_status, item_status = "Pending", "Shipped"
    else:
        partly = state is AmazonState.PARTIALLY_SHIPPED
        order_status, item_status = "Pending", "Shipping" if partly else "Unshipped"
    promotions = [p.promotion_id for p in item.promotions]
    if item.ship_promotion:
        promotions.append(item.ship_promotion.promotion_id)
    ship = order.ship_address
    return {
        "amazon-order-id": order.order_id,
        "merchant-order-id": order.order_id if afn else "",
        "purchase-date": date(order.purchase_date),
        "last-updated-date": date(order.last_updated(now)),
        "order-status": order_status,
        "fulfillment-channel": "Amazon" if afn else "Merchant",
        "sales-channel": order.marketplace.domain,
        "order-channel": "" if afn else "WebsiteOrderChannel",
        "ship-service-level": order.ship_service_level,
        "product-name": item.title,
        "sku": item.sku,
        "asin": item.asin,
        "number-of-items": "" if afn else str(len(order.items)),
        "item-status": item_status,
        "quantity": "0" if state is AmazonState.CANCELED else str(item.quantity),
        "currency": order.currency if priced else "",
        "item-price": money(item.item_price) if priced else "",
        "item-tax": money(item.item_tax) if priced else "",
        "shipping-price": money(item.shipping_price) if priced and item.shipping_price else "",
        "shipping-tax": money(item.shipping_tax) if priced and item.shipping_price else "",
        "gift-wrap-price": money(item.gift_wrap_price) if priced and item.gift_wrap_price else "",
        "gift-wrap-tax": money(item.gift_wrap_tax) if priced and item.gift_wrap_price else "",
        # the all-orders report writes discounts as positive amounts (real files do)
        "item-promotion-discount": (
            money(-item.item_promotion_discount) if priced and item.promotions else ""
        ),
        "ship-promotion-discount": (
            money(-item.ship_promotion.discount) if priced and item.ship_promotion else ""
        ),
        "address-type": "Commercial" if order.is_business_order else "Residential",
        "ship-city": ship.city,
        "ship-state": ship.state,
        "ship-postal-code": ship.postal_code,
        "ship-country": ship.country_code,
        "promotion-ids": ",".join(promotions),
        "payment-method-details": "Standard",
        "is-business-order": _bool(order.is_business_order),
        "purchase-order-number": order.purchase_order_number,
        "price-designation": item.price_designation,
        "buyer-company-name": order.buyer_company_name,
        "buyer-tax-registration-id": order.buyer_tax_registration_id,
        "buyer-tax-registration-country": order.buyer_tax_registration_country,
        "is-heavy-or-bulky": "false",
        "is-replacement-order": "false",
        "is-exchange-order": "false",
        "is-amazon-invoiced": "true",
        "is-iba": "false",
        "is-transparency": "false",
        "is-ispu-order": "false",
        "is-pickup-point-order": "false",
        "is-buyer-requested-cancellation": "false",
    }


def _bool(value: bool) -> str:
    return "true" if value else "false"
