"""Orders API v0 (deprecated, served by Amazon until 2027-03-27): the reads, per ``ordersV0.json``.

``getOrders``, ``getOrder``, ``getOrderItems``, ``getOrderAddress``, ``getOrderBuyerInfo`` and
``getOrderItemsBuyerInfo``, answered from the same orders as the reports and Orders v2026. The
v0 address is the shipping address (v0 has no billing address). Buyers' personal data needs a
Restricted Data Token, as on Amazon: with an access token ``ShippingAddress`` carries only
city, region, postal code and country, and ``BuyerInfo`` and names are left out; an RDT opens
them for its paths (``getOrders``/``getOrder`` with the data elements ``shippingAddress`` and
``buyerInfo``; ``getOrderAddress`` and ``getOrderBuyerInfo`` by the path alone).
"""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Any

from hyreka_plugin_amazon.simulator.clock import parse_iso, zulu
from hyreka_plugin_amazon.simulator.ordermodel import AmazonState, SimItem, SimOrder
from hyreka_plugin_amazon.simulator.ordersapi import MIN_LAG, TOKEN_LIFETIME
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

STATUSES = ("PendingAvailability", "Pending", "Unshipped", "PartiallyShipped", "Shipped",
            "InvoiceUnconfirmed", "Canceled", "Unfulfillable")  # fmt: skip
ORDER_ID = re.compile(r"^\d{3}-\d{7}-\d{7}$")
CATEGORIES = {"Standard": "Standard", "Expedited": "Expedited", "NextDay": "NextDay"}
MAX_IDS = 50
ZERO = Decimal(0)


def get_orders(state: SimulatorState, req: Request) -> Response:
    """GET /orders/v0/orders."""
    now = state.clock.now()
    size = req.arg("MaxResultsPerPage") or "100"
    if not size.isdigit() or not 1 <= int(size) <= 100:
        raise invalid_input("MaxResultsPerPage must be between 1 and 100.")
    marketplaces = req.args("MarketplaceIds")
    if not marketplaces:
        raise invalid_input("MarketplaceIds is required.")
    token = req.arg("NextToken")
    if token:  # the next page of the first request's result; the filters stay as they were
        page = state.pages.take(token, req.seller_id, now)
        if page is None:
            raise invalid_input("Invalid NextToken.")
    else:
        page = _first_page(state, req, marketplaces, now)
    chunk = page.order_ids[page.offset : page.offset + int(size)]
    with state.lock:
        orders = [order_json(state.orders[oid], now, req) for oid in chunk]
    payload: dict[str, Any] = {"Orders": orders}
    if page.before_key:
        payload[page.before_key] = zulu(page.before)
    rest = page.offset + int(size)
    if rest < len(page.order_ids):
        following = Page(
            req.seller_id, page.order_ids, rest, now + TOKEN_LIFETIME, page.before_key, page.before
        )
        payload["NextToken"] = state.pages.put(following)
    return json_response(200, {"payload": payload})


def _first_page(
    state: SimulatorState, req: Request, marketplaces: list[str], now: datetime
) -> Page:
    seller = state.sellers[req.seller_id]
    if len(marketplaces) > MAX_IDS or set(marketplaces) - {m.id for m in seller.marketplaces}:
        raise invalid_input("MarketplaceIds must name up to 50 of the seller's marketplaces.")
    ids = req.args("AmazonOrderIds")
    if len(ids) > MAX_IDS:
        raise invalid_input("AmazonOrderIds must list at most 50 order ids.")
    created_after, updated_after = _when(req, "CreatedAfter"), _when(req, "LastUpdatedAfter")
    created_before, updated_before = _when(req, "CreatedBefore"), _when(req, "LastUpdatedBefore")
    if not ids and (created_after is None) == (updated_after is None):
        raise invalid_input("Exactly one of CreatedAfter and LastUpdatedAfter is required.")
    by_created = updated_after is None
    if (created_after or created_before) and (updated_after or updated_before):
        raise invalid_input("Created dates cannot be combined with LastUpdated dates.")
    after = created_after or updated_after
    before = (created_before if by_created else updated_before) or now - MIN_LAG
    if before > now - MIN_LAG:
        raise invalid_input("The before date must be at least two minutes before the request time.")
    if after is not None and before < after:
        raise invalid_input("The before date must not be earlier than the after date.")
    statuses = req.args("OrderStatuses")
    if set(statuses) - set(STATUSES):
        raise invalid_input(f"OrderStatuses must be of {', '.join(STATUSES)}.")
    channels = req.args("FulfillmentChannels")
    if set(channels) - {"AFN", "MFN"}:
        raise invalid_input("FulfillmentChannels must be AFN or MFN.")
    matched: list[tuple[datetime, str]] = []
    with state.lock:
        for order in state.orders.values():
            if order.seller_id != req.seller_id or order.purchase_date > now:
                continue
            when = order.purchase_date if by_created else order.last_updated(now)
            if ids and order.order_id not in ids:
                continue
            if after is not None and not after <= when <= before:
                continue
            if order.marketplace.id not in marketplaces:
                continue
            if statuses and order.state(now).value not in statuses:
                continue
            if channels and order.fulfillment_channel not in channels:
                continue
            matched.append((when, order.order_id))
    matched.sort()
    before_key = "" if after is None else "CreatedBefore" if by_created else "LastUpdatedBefore"
    return Page(
        req.seller_id, [oid for _, oid in matched], 0, now + TOKEN_LIFETIME, before_key, before
    )


def get_order(state: SimulatorState, req: Request) -> Response:
    """GET /orders/v0/orders/{orderId}."""
    now = state.clock.now()
    with state.lock:
        order = _order(state, req, now)
        return json_response(200, {"payload": order_json(order, now, req)})


def get_order_items(state: SimulatorState, req: Request) -> Response:
    """GET /orders/v0/orders/{orderId}/orderItems: every item on one page."""
    now = state.clock.now()
    with state.lock:
        order = _order(state, req, now)
        items = [_item_json(order, item, now) for item in order.items]
    return json_response(200, {"payload": {"AmazonOrderId": order.order_id, "OrderItems": items}})


def get_order_address(state: SimulatorState, req: Request) -> Response:
    """GET /orders/v0/orders/{orderId}/address: the shipping address."""
    now = state.clock.now()
    with state.lock:
        order = _order(state, req, now)
        payload: dict[str, Any] = {"AmazonOrderId": order.order_id}
        if _shippable(order, now):
            payload["ShippingAddress"] = _address(order, full=_rdt(req))
        if order.buyer_company_name and _rdt(req):
            payload["BuyerCompanyName"] = order.buyer_company_name
    return json_response(200, {"payload": payload})


def get_order_buyer_info(state: SimulatorState, req: Request) -> Response:
    """GET /orders/v0/orders/{orderId}/buyerInfo."""
    now = state.clock.now()
    with state.lock:
        order = _order(state, req, now)
        payload = {"AmazonOrderId": order.order_id, **(_buyer(order) if _rdt(req) else {})}
    return json_response(200, {"payload": payload})


def get_order_items_buyer_info(state: SimulatorState, req: Request) -> Response:
    """GET /orders/v0/orders/{orderId}/orderItems/buyerInfo (no gift wrap, no customisation)."""
    now = state.clock.now()
    with state.lock:
        order = _order(state, req, now)
        items = [{"OrderItemId": item.order_item_id} for item in order.items]
    return json_response(200, {"payload": {"AmazonOrderId": order.order_id, "OrderItems": items}})


def order_json(order: SimOrder, now: datetime, req: Request) -> dict[str, Any]:
    """The v0 ``Order``; PII as far as the request's RDT opens it (its data elements)."""
    state = order.state(now)
    afn = order.fulfillment_channel == "AFN"
    shipped = sum(item.quantity for item in order.items if item.shipped(now))
    ordered = sum(item.quantity for item in order.items)
    data: dict[str, Any] = {
        "AmazonOrderId": order.order_id,
        "PurchaseDate": zulu(order.purchase_date),
        "LastUpdateDate": zulu(order.last_updated(now)),
        "OrderStatus": state.value,
        "FulfillmentChannel": order.fulfillment_channel,
        "SalesChannel": order.marketplace.domain,
        "ShipServiceLevel": order.ship_service_level,
        "NumberOfItemsShipped": shipped,
        "NumberOfItemsUnshipped": 0 if state is AmazonState.CANCELED else ordered - shipped,
        "PaymentMethod": "Other",
        "MarketplaceId": order.marketplace.id,
        "ShipmentServiceLevelCategory": CATEGORIES.get(order.ship_service_level, "Standard"),
        "OrderType": "StandardOrder",
        "IsBusinessOrder": order.is_business_order,
        "IsPrime": False,
        "IsPremiumOrder": False,
        "IsGlobalExpressEnabled": False,
        "IsReplacementOrder": False,
        "IsSoldByAB": False,
        "IsISPU": False,
        "IsAccessPointOrder": False,
        "HasRegulatedItems": False,
    }
    if state not in (AmazonState.PENDING, AmazonState.CANCELED):
        total = sum((i.item_price + i.shipping_price + _discount(i) for i in order.items), ZERO)
        data["OrderTotal"] = _money(total, order.currency)
        data["PaymentMethodDetails"] = ["Standard"]
    if _shippable(order, now):
        full = _rdt(req, "shippingAddress")
        data["ShippingAddress"] = _address(order, full=full, phone=not afn)
    if _rdt(req, "buyerInfo"):
        data["BuyerInfo"] = _buyer(order)
    return data


def _item_json(order: SimOrder, item: SimItem, now: datetime) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ASIN": item.asin,
        "SellerSKU": item.sku,
        "OrderItemId": item.order_item_id,
        "Title": item.title,
        "QuantityOrdered": item.quantity,
        "QuantityShipped": item.quantity if item.shipped(now) else 0,
        "ProductInfo": {"NumberOfItems": "1"},
        "IsGift": "false",
        "ConditionId": "New",
        "ConditionSubtypeId": "New",
    }
    if order.state(now) is AmazonState.PENDING:  # Amazon shows no prices before payment
        return data
    currency = order.currency
    ship_discount = item.ship_promotion.discount if item.ship_promotion else Decimal(0)
    data |= {
        "ItemPrice": _money(item.item_price, currency),
        "ItemTax": _money(item.item_tax, currency),
        "ShippingPrice": _money(item.shipping_price, currency),
        "ShippingTax": _money(item.shipping_tax, currency),
        "ShippingDiscount": _money(-ship_discount, currency),
        "ShippingDiscountTax": _money(Decimal("0.00"), currency),
        "PromotionDiscount": _money(-item.item_promotion_discount, currency),
        "PromotionDiscountTax": _money(Decimal("0.00"), currency),
    }
    promotions = [p.promotion_id for p in item.promotions]
    if item.ship_promotion:
        promotions.append(item.ship_promotion.promotion_id)
    if promotions:
        data["PromotionIds"] = promotions
    if item.price_designation:
        data["PriceDesignation"] = "BusinessPrice"
    return data


def _address(order: SimOrder, *, full: bool, phone: bool = True) -> dict[str, str]:
    ship = order.ship_address
    address: dict[str, str] = {}
    if full:
        address["Name"] = order.recipient_name
        for n, line in enumerate(ship.lines, start=1):
            address[f"AddressLine{n}"] = line
    address["City"] = ship.city
    if ship.state:
        address["StateOrRegion"] = ship.state
    address |= {"PostalCode": ship.postal_code, "CountryCode": ship.country_code}
    if full and phone and order.ship_phone:
        address["Phone"] = order.ship_phone
    address["AddressType"] = "Commercial" if order.is_business_order else "Residential"
    return address


def _buyer(order: SimOrder) -> dict[str, str]:
    buyer = {"BuyerEmail": order.buyer_email, "BuyerName": order.buyer_name}
    if order.purchase_order_number:
        buyer["PurchaseOrderNumber"] = order.purchase_order_number
    return buyer


def _rdt(req: Request, element: str | None = None) -> bool:
    """Whether the request came with an RDT (that names ``element``, when given)."""
    if not req.token_paths:
        return False
    return element is None or element in req.data_elements


def _shippable(order: SimOrder, now: datetime) -> bool:
    """v0 shows a shipping address for Unshipped, PartiallyShipped and Shipped orders."""
    return order.state(now) not in (AmazonState.PENDING, AmazonState.CANCELED)


def _order(state: SimulatorState, req: Request, now: datetime) -> SimOrder:
    order_id = req.params["orderId"]
    if not ORDER_ID.match(order_id):
        raise invalid_input(f"Invalid AmazonOrderId: {order_id}")
    order = state.orders.get(order_id)
    if order is None or order.seller_id != req.seller_id or order.purchase_date > now:
        raise ApiError(404, "NotFound", "The requested order was not found.", "")
    return order


def _discount(item: SimItem) -> Decimal:
    ship = item.ship_promotion.discount if item.ship_promotion else Decimal(0)
    return item.item_promotion_discount + ship


def _money(value: Decimal, currency: str) -> dict[str, str]:
    return {"CurrencyCode": currency, "Amount": format(value, "f")}


def _when(req: Request, name: str) -> datetime | None:
    value = req.arg(name)
    if value is None:
        return None
    try:
        return parse_iso(value)
    except ValueError:
        raise invalid_input(f"{name} must be an ISO 8601 date-time.") from None


ROUTES: tuple[Route[SimulatorState], ...] = (
    route("GET", "/orders/v0/orders", "getOrders", get_orders, auth=True),
    route("GET", "/orders/v0/orders/{orderId}", "getOrder", get_order, auth=True),
    route(
        "GET", "/orders/v0/orders/{orderId}/orderItems", "getOrderItems", get_order_items, auth=True
    ),
    route(
        "GET",
        "/orders/v0/orders/{orderId}/orderItems/buyerInfo",
        "getOrderItemsBuyerInfo",
        get_order_items_buyer_info,
        auth=True,
    ),
    route(
        "GET",
        "/orders/v0/orders/{orderId}/address",
        "getOrderAddress",
        get_order_address,
        auth=True,
    ),
    route(
        "GET",
        "/orders/v0/orders/{orderId}/buyerInfo",
        "getOrderBuyerInfo",
        get_order_buyer_info,
        auth=True,
    ),
)
