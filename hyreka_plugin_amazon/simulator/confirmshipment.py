"""Orders v0 ``confirmShipment``: the seller tells Amazon carrier and tracking of one package.

Validated as Amazon does (ordersV0.json, spapi-notes): the order exists for this seller, is
seller-fulfilled, paid and not cancelled; the marketplace is the order's; the package
reference is a positive integer; the carrier code is one of Amazon's (or "Other" with a
name); the ship date is ISO 8601; every item belongs to the order and no quantity exceeds what
is left to ship. 204 without a body.

The package reference is the package, within the order (ordersV0.json, PackageReferenceId:
"uniquely identifies a package within the scope of an order"): the same reference sent again
unchanged (a retry after a lost answer) changes nothing, with other details it edits that
package; only a new reference makes a second package, counted against what is left.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hyreka_plugin_amazon.simulator.clock import parse_iso
from hyreka_plugin_amazon.simulator.ordermodel import AmazonState, SimOrder, SimPackage
from hyreka_plugin_amazon.simulator.state import SimulatorState
from hyreka_plugin_amazon.simulator.vocabulary import (
    ApiError,
    Request,
    Response,
    Route,
    invalid_input,
    route,
)
from hyreka_plugin_amazon.spapi.carriers import CARRIER_CODES, OTHER


def confirm_shipment(state: SimulatorState, req: Request) -> Response:
    """POST /orders/v0/orders/{orderId}/shipmentConfirmation."""
    now = state.clock.now()
    body = req.json()
    if not isinstance(body, dict) or not isinstance(body.get("packageDetail"), dict):
        raise invalid_input("The body needs marketplaceId and packageDetail.")
    detail: dict[str, Any] = body["packageDetail"]
    with state.lock:
        order = state.orders.get(req.params["orderId"])
        if order is None or order.seller_id != req.seller_id or order.purchase_date > now:
            raise ApiError(404, "NotFound", "The requested order was not found.")
        if body.get("marketplaceId") != order.marketplace.id:
            raise invalid_input("marketplaceId is not the order's marketplace.")
        if order.fulfillment_channel != "MFN":
            raise invalid_input("The order is fulfilled by Amazon.")
        amazon_state = order.state(now)
        if amazon_state is AmazonState.CANCELED:
            raise invalid_input("The order is cancelled.")
        if amazon_state is AmazonState.PENDING:
            raise invalid_input("The order is pending and cannot be shipped yet.")
        package = _package(order, detail, now)
        order.packages = [
            p for p in order.packages if p.package_reference_id != package.package_reference_id
        ]
        order.packages.append(package)
        _mark_items(order, now)
    return Response(204)


def _package(order: SimOrder, detail: dict[str, Any], now: datetime) -> SimPackage:
    reference = detail.get("packageReferenceId")
    if not isinstance(reference, str) or not reference.isdigit() or int(reference) < 1:
        raise invalid_input("packageReferenceId must be a positive integer.")
    carrier = detail.get("carrierCode")
    if carrier not in CARRIER_CODES:
        raise invalid_input(f"Invalid carrierCode: {str(carrier)[:40]!r}.")
    name = detail.get("carrierName")
    if carrier == OTHER and not (isinstance(name, str) and name.strip()):
        raise invalid_input("carrierName is required when carrierCode is Other.")
    tracking = detail.get("trackingNumber")
    if not isinstance(tracking, str) or not tracking.strip():
        raise invalid_input("trackingNumber is required.")
    try:
        ship_date = parse_iso(str(detail.get("shipDate")))
    except ValueError:
        raise invalid_input("shipDate must be an ISO 8601 date-time.") from None
    items = _items(order, detail.get("orderItems"), reference)
    method = detail.get("shippingMethod")
    return SimPackage(
        package_reference_id=reference,
        carrier_code=str(carrier),
        carrier_name=name if isinstance(name, str) else None,
        shipping_method=method if isinstance(method, str) else None,
        tracking_number=tracking,
        ship_date=ship_date,
        items=items,
        confirmed_at=now,
    )


def _items(order: SimOrder, raw: Any, reference: str) -> dict[str, int]:
    """The package's items, each belonging to the order, within what is left to ship."""
    if not isinstance(raw, list) or not raw:
        raise invalid_input("orderItems must list at least one item.")
    ordered = {item.order_item_id: item for item in order.items}
    items: dict[str, int] = {}
    for entry in raw:
        item_id = entry.get("orderItemId") if isinstance(entry, dict) else None
        quantity = entry.get("quantity") if isinstance(entry, dict) else None
        if item_id not in ordered:
            raise invalid_input(f"orderItemId {str(item_id)[:20]!r} is not in the order.")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
            raise invalid_input("quantity must be a positive integer.")
        items[item_id] = items.get(item_id, 0) + quantity
    for item_id, quantity in items.items():
        item = ordered[item_id]
        others = sum(
            p.items.get(item_id, 0) for p in order.packages if p.package_reference_id != reference
        )
        by_hand = item.shipped_at is not None and item_id not in _packaged(order)
        left = 0 if by_hand else item.quantity - others
        if quantity > left:
            raise invalid_input(
                f"quantity for orderItemId {item_id} exceeds what is left ({left})."
            )
    return items


def _packaged(order: SimOrder) -> set[str]:
    """Items that packages of the order hold (the others were shipped without one)."""
    return {item_id for p in order.packages for item_id in p.items}


def _mark_items(order: SimOrder, now: datetime) -> None:
    """An item whose whole quantity is in packages is shipped; an edit may take that back."""
    in_packages: dict[str, int] = {}
    for package in order.packages:
        for item_id, quantity in package.items.items():
            in_packages[item_id] = in_packages.get(item_id, 0) + quantity
    for item in order.items:
        if item.order_item_id not in in_packages:
            continue
        covered = in_packages[item.order_item_id] >= item.quantity
        if covered and item.shipped_at is None:
            item.shipped_at = now
        elif not covered:
            item.shipped_at = None


ROUTES: tuple[Route[SimulatorState], ...] = (
    route(
        "POST",
        "/orders/v0/orders/{orderId}/shipmentConfirmation",
        "confirmShipment",
        confirm_shipment,
        auth=True,
    ),
)
