"""Orders API v2026-01-01: ``searchOrders`` (with its page tokens) and ``getOrder``, answered
from the same orders as the reports."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from hyreka_plugin_amazon.simulator.clock import parse_iso, zulu
from hyreka_plugin_amazon.simulator.ordermodel import AmazonState, SimItem, SimOrder, SimPackage
from hyreka_plugin_amazon.simulator.pagination import Page
from hyreka_plugin_amazon.simulator.state import SimulatorState
from hyreka_plugin_amazon.simulator.vocabulary import (
    ApiError,
    Request,
    Response,
    Route,
    invalid_input,
    json_response,
    route,
)

FULFILLMENT_STATUS = {
    AmazonState.PENDING: "PENDING",
    AmazonState.UNSHIPPED: "UNSHIPPED",
    AmazonState.PARTIALLY_SHIPPED: "PARTIALLY_SHIPPED",
    AmazonState.SHIPPED: "SHIPPED",
    AmazonState.CANCELED: "CANCELLED",
}
ALL_STATUSES = ("PENDING_AVAILABILITY", *FULFILLMENT_STATUS.values(), "UNFULFILLABLE")
INCLUDED_DATA = (
    "BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION", "FULFILLMENT",
    "PACKAGES", "TAX", "PAYMENT", "FULFILLMENT_ORDERS",
)  # fmt: skip
SERVICE_LEVELS = {"Standard": "STANDARD", "Expedited": "EXPEDITED", "NextDay": "NEXT_DAY"}
MIN_LAG = timedelta(minutes=2)  # "...Before" must be at least two minutes before now
TOKEN_LIFETIME = timedelta(hours=24)


def search_orders(state: SimulatorState, req: Request) -> Response:
    """GET /orders/2026-01-01/orders."""
    now = state.clock.now()
    page_size = _page_size(req)
    included = _included(req)
    token = req.arg("paginationToken")
    if token:
        page = state.pages.take(token, req.seller_id, now)
        if page is None:
            raise invalid_input("The paginationToken is invalid or has expired.")
        if _filters(req) != page.filters:
            raise invalid_input(
                "All parameters other than maxResultsPerPage and includedData must have the "
                "values of the request that generated the paginationToken."
            )
    else:
        page = _first_page(state, req, now)
    chunk = page.order_ids[page.offset : page.offset + page_size]
    with state.lock:
        orders = [order_json(state.orders[oid], now, included) for oid in chunk]
    body: dict[str, Any] = {"orders": orders, page.before_key: zulu(page.before)}
    rest = page.offset + page_size
    if rest < len(page.order_ids):
        following = Page(
            req.seller_id,
            page.order_ids,
            rest,
            now + TOKEN_LIFETIME,
            page.before_key,
            page.before,
            page.filters,
        )
        body["pagination"] = {"nextToken": state.pages.put(following)}
    return json_response(200, body)


def get_order(state: SimulatorState, req: Request) -> Response:
    """GET /orders/2026-01-01/orders/{orderId}."""
    now = state.clock.now()
    included = _included(req)
    with state.lock:
        order = state.orders.get(req.params["orderId"])
        if order is None or order.seller_id != req.seller_id or order.purchase_date > now:
            raise ApiError(404, "NotFound", "The requested order was not found.")
        return json_response(200, {"order": order_json(order, now, included)})


def _first_page(state: SimulatorState, req: Request, now: datetime) -> Page:
    created_after, updated_after = _when(req, "createdAfter"), _when(req, "lastUpdatedAfter")
    created_before, updated_before = _when(req, "createdBefore"), _when(req, "lastUpdatedBefore")
    if (created_after is None) == (updated_after is None):
        raise invalid_input("Exactly one of createdAfter and lastUpdatedAfter must be provided.")
    by_created = created_after is not None
    if (by_created and updated_before) or (not by_created and created_before):
        raise invalid_input(
            "createdBefore and lastUpdatedBefore cannot be combined with the other."
        )
    after = created_after or updated_after
    assert after is not None
    before = (created_before if by_created else updated_before) or now - MIN_LAG
    if before > now - MIN_LAG:
        raise invalid_input("The before date must be at least two minutes before the request time.")
    if before < after:
        raise invalid_input("The before date must not be earlier than the after date.")
    seller = state.sellers[req.seller_id]
    marketplaces = req.args("marketplaceIds") or [m.id for m in seller.marketplaces]
    if len(marketplaces) > 50 or set(marketplaces) - {m.id for m in seller.marketplaces}:
        raise invalid_input("marketplaceIds must name up to 50 of the seller's marketplaces.")
    statuses = req.args("fulfillmentStatuses")
    if set(statuses) - set(ALL_STATUSES):
        raise invalid_input(f"fulfillmentStatuses must be of {', '.join(ALL_STATUSES)}.")
    fulfilled_by = req.args("fulfilledBy")
    if set(fulfilled_by) - {"MERCHANT", "AMAZON"}:
        raise invalid_input("fulfilledBy must be MERCHANT or AMAZON.")
    channels = {{"MERCHANT": "MFN", "AMAZON": "AFN"}[f] for f in fulfilled_by}
    matched: list[tuple[datetime, str]] = []
    with state.lock:
        for order in state.orders.values():
            if order.seller_id != req.seller_id or order.purchase_date > now:
                continue
            when = order.purchase_date if by_created else order.last_updated(now)
            if not after <= when <= before or order.marketplace.id not in marketplaces:
                continue
            if statuses and FULFILLMENT_STATUS[order.state(now)] not in statuses:
                continue
            if channels and order.fulfillment_channel not in channels:
                continue
            matched.append((when, order.order_id))
    matched.sort()
    before_key = "createdBefore" if by_created else "lastUpdatedBefore"
    ids = [oid for _, oid in matched]
    return Page(req.seller_id, ids, 0, now + TOKEN_LIFETIME, before_key, before, _filters(req))


# searchOrders' paginationToken: "All other parameters must be provided with the same values
# that were provided with the request that generated this token, with the exception of
# maxResultsPerPage and includedData" (orders_2026-01-01.json, PaginationToken)
_PAGE_FREE = frozenset({"paginationToken", "maxResultsPerPage", "includedData"})


def _filters(req: Request) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return tuple(
        (name, tuple(sorted(req.args(name))))
        for name in sorted(req.query)
        if name not in _PAGE_FREE
    )


def order_json(order: SimOrder, now: datetime, included: set[str]) -> dict[str, Any]:
    """The v2026-01-01 ``Order`` object with the requested datasets."""
    state = order.state(now)
    priced = state not in (AmazonState.PENDING, AmazonState.CANCELED)
    currency = order.currency
    afn = order.fulfillment_channel == "AFN"
    data: dict[str, Any] = {
        "orderId": order.order_id,
        "createdTime": zulu(order.purchase_date),
        "lastUpdatedTime": zulu(order.last_updated(now)),
        "programs": ["AMAZON_BUSINESS"] if order.is_business_order else [],
        "salesChannel": {
            "channelName": "AMAZON",
            "marketplaceId": order.marketplace.id,
            "marketplaceName": order.marketplace.domain,
        },
    }
    if "BUYER" in included:
        buyer = {"buyerName": order.buyer_name}
        if not afn:
            buyer["buyerEmail"] = order.buyer_email
        if order.buyer_company_name:
            buyer["buyerCompanyName"] = order.buyer_company_name
        if order.purchase_order_number:
            buyer["buyerPurchaseOrderNumber"] = order.purchase_order_number
        data["buyer"] = buyer
    if "RECIPIENT" in included and priced:
        data["recipient"] = {"deliveryAddress": _delivery_address(order, afn)}
    if "PROCEEDS" in included and priced:
        item_total = sum((i.item_price for i in order.items), Decimal("0"))
        shipping = sum((i.shipping_price for i in order.items), Decimal("0"))
        tax = sum((i.item_tax + i.shipping_tax for i in order.items), Decimal("0"))
        discount = sum((_discount(i) for i in order.items), Decimal("0"))
        breakdowns = [("ITEM", item_total), ("SHIPPING", shipping), ("TAX", tax)]
        if discount:
            breakdowns.append(("DISCOUNT", discount))
        data["proceeds"] = {
            "grandTotal": _money(item_total + shipping + discount, currency),
            "breakdowns": [
                {"type": kind, "subtotal": _money(value, currency)} for kind, value in breakdowns
            ],
        }
    if "FULFILLMENT" in included:
        data["fulfillment"] = {
            "fulfillmentStatus": FULFILLMENT_STATUS[state],
            "fulfilledBy": "AMAZON" if afn else "MERCHANT",
            "fulfillmentServiceLevel": SERVICE_LEVELS.get(order.ship_service_level, "STANDARD"),
        }
    if "PACKAGES" in included and not afn:
        data["packages"] = [_package_json(p) for p in order.packages if p.confirmed_at <= now]
    items = []
    for item in order.items:
        product: dict[str, Any] = {"asin": item.asin, "title": item.title, "sellerSku": item.sku}
        if priced:
            unit = (item.item_price / item.quantity).quantize(Decimal("0.01"))
            product["price"] = {"unitPrice": _money(unit, currency)}
            if item.price_designation:
                product["price"]["priceDesignation"] = "BUSINESS_PRICE"
        entry: dict[str, Any] = {
            "orderItemId": item.order_item_id,
            "quantityOrdered": item.quantity,
            "product": product,
        }
        if "PROCEEDS" in included and priced:
            parts = [("ITEM", item.item_price), ("SHIPPING", item.shipping_price)]
            parts.append(("TAX", item.item_tax + item.shipping_tax))
            if _discount(item):
                parts.append(("DISCOUNT", _discount(item)))
            total = item.item_price + item.shipping_price + _discount(item)
            entry["proceeds"] = {
                "proceedsTotal": _money(total, currency),
                "breakdowns": [{"type": k, "subtotal": _money(v, currency)} for k, v in parts],
            }
        if "PROMOTION" in included and (item.promotions or item.ship_promotion):
            promos = [p.promotion_id for p in item.promotions]
            if item.ship_promotion:
                promos.append(item.ship_promotion.promotion_id)
            entry["promotion"] = {"breakdowns": [{"promotionId": p} for p in promos]}
        if "FULFILLMENT" in included:
            shipped = _units_fulfilled(order, item, now)
            open_units = 0 if state is AmazonState.CANCELED else item.quantity - shipped
            entry["fulfillment"] = {"quantityFulfilled": shipped, "quantityUnfulfilled": open_units}
        items.append(entry)
    data["orderItems"] = items
    return data


def _units_fulfilled(order: SimOrder, item: SimItem, now: datetime) -> int:
    """Units of the item Amazon counts as shipped: all of an item shipped without a package
    (in Seller Central), else the units in the order's confirmed packages."""
    in_packages = sum(
        p.items.get(item.order_item_id, 0) for p in order.packages if p.confirmed_at <= now
    )
    if item.shipped(now) and in_packages == 0:
        return item.quantity
    return min(item.quantity, in_packages)


def _package_json(package: SimPackage) -> dict[str, Any]:
    data: dict[str, Any] = {
        "packageReferenceId": package.package_reference_id,
        "createdTime": zulu(package.confirmed_at),
        "packageStatus": {"status": "SHIPPED"},
        "carrier": package.carrier_name or package.carrier_code,
        "shipTime": zulu(package.ship_date),
        "trackingNumber": package.tracking_number,
        "packageItems": [{"orderItemId": i, "quantity": q} for i, q in package.items.items()],
    }
    if package.shipping_method:
        data["shippingService"] = package.shipping_method
    return data


def _delivery_address(order: SimOrder, afn: bool) -> dict[str, str]:
    ship = order.ship_address
    address = {"name": order.recipient_name}
    for n, line in enumerate(ship.lines, start=1):
        address[f"addressLine{n}"] = line
    address |= {"city": ship.city, "postalCode": ship.postal_code, "countryCode": ship.country_code}
    if ship.state:
        address["stateOrRegion"] = ship.state
    if order.ship_phone and not afn:  # Amazon suppresses the phone of FBA orders
        address["phone"] = order.ship_phone
    address["addressType"] = "COMMERCIAL" if order.is_business_order else "RESIDENTIAL"
    return address


def _discount(item: SimItem) -> Decimal:
    ship = item.ship_promotion.discount if item.ship_promotion else Decimal("0")
    return item.item_promotion_discount + ship


def _money(value: Decimal, currency: str) -> dict[str, str]:
    return {"amount": format(value, "f"), "currencyCode": currency}


def _when(req: Request, name: str) -> datetime | None:
    value = req.arg(name)
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise invalid_input(f"{name} must be an ISO 8601 date-time.") from None


def _page_size(req: Request) -> int:
    value = req.arg("maxResultsPerPage") or "100"
    if not value.isdigit() or not 1 <= int(value) <= 100:
        raise invalid_input("maxResultsPerPage must be between 1 and 100.")
    return int(value)


def _included(req: Request) -> set[str]:
    included = set(req.args("includedData"))
    if included - set(INCLUDED_DATA):
        raise invalid_input(f"includedData must be of {', '.join(INCLUDED_DATA)}.")
    return included


ROUTES: tuple[Route[SimulatorState], ...] = (
    route("GET", "/orders/2026-01-01/orders", "searchOrders", search_orders, auth=True),
    route("GET", "/orders/2026-01-01/orders/{orderId}", "getOrder", get_order, auth=True),
)
