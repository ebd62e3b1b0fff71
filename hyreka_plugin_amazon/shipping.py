"""Shipping confirmation: the host's shipments -> Amazon's confirmShipment, one call a package
(and one getOrder before a package of "everything left", to leave out what Amazon counts as
shipped already).

Every shipment is checked before Amazon is called (carrier code, items, quantities, tracking
number, package number, marketplace, an order the host knows is cancelled); what fails is
refused with a message the seller can act on and costs no call. A package Amazon accepts is
confirmed; what Amazon refuses is refused with Amazon's reason; when Amazon cannot be reached,
throttles or refuses the credentials, this and every later shipment of the call are left to
be retried (the host sends them again with the same package number, which Amazon treats as
the same package, never as a second one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from hyreka_plugin_amazon import messages
from hyreka_plugin_amazon.carriers import OTHER, UnknownCarrierError, carrier_code
from hyreka_plugin_amazon.contract import (
    Account,
    HostServices,
    OrderStatus,
    Shipment,
    ShipmentItem,
    ShipmentOutcome,
    ShipmentState,
)
from hyreka_plugin_amazon.diagnostics import failure_detail, login_failure
from hyreka_plugin_amazon.outbox import MAX_TRACKING_NUMBER
from hyreka_plugin_amazon.spapi import SpApiClient, errors


@dataclass(frozen=True)
class _Package:
    """What confirmShipment is sent for one shipment, checked."""

    marketplace_id: str
    carrier_code: str
    carrier_name: str | None
    shipping_method: str | None
    tracking_number: str
    ship_date: datetime
    items: tuple[tuple[str, int], ...]


class _Refused(Exception):
    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params: dict[str, object] = params


def confirm_shipments(
    account: Account,
    shipments: Sequence[Shipment],
    host: HostServices,
    *,
    client: SpApiClient | None = None,
) -> list[ShipmentOutcome]:
    """One outcome per shipment, in order (see the module's description)."""
    outcomes: list[ShipmentOutcome] = []
    halted: ShipmentOutcome | None = None
    for shipment in shipments:
        try:
            request = _prepare(account, shipment, host)
        except _Refused as refusal:
            outcomes.append(
                _outcome(account, shipment, ShipmentState.REFUSED, refusal.code, refusal.params)
            )
            continue
        if halted is not None:  # Amazon is out of reach: leave the rest for the next attempt
            outcomes.append(_again(halted, shipment))
            continue
        client = client or SpApiClient.for_account(account)
        try:
            if shipment.all_items:
                request = _left_at_amazon(client, shipment, request)
            client.confirm_shipment(
                shipment.amazon_order_id,
                marketplace_id=request.marketplace_id,
                package_reference_id=shipment.package_id,
                carrier_code=request.carrier_code,
                carrier_name=request.carrier_name,
                shipping_method=request.shipping_method,
                tracking_number=request.tracking_number,
                ship_date=request.ship_date,
                items=request.items,
            )
        except _Refused as refusal:
            outcomes.append(
                _outcome(account, shipment, ShipmentState.REFUSED, refusal.code, refusal.params)
            )
            continue
        except errors.ShipmentRefusedError as exc:
            outcomes.append(
                _outcome(
                    account, shipment, ShipmentState.REFUSED, "ship.refused", detail=exc.details
                )
            )
            continue
        except errors.SpApiError as exc:
            halted = _failure(account, shipment, exc)
            outcomes.append(halted)
            continue
        package = shipment.package_id
        confirmed = _outcome(
            account, shipment, ShipmentState.CONFIRMED, "ship.confirmed", package=package
        )
        asked = tuple((item.order_item_id, item.quantity) for item in shipment.items)
        if request.items != asked:
            held = tuple(ShipmentItem(item_id, quantity) for item_id, quantity in request.items)
            confirmed = dataclasses.replace(confirmed, items=held)
        outcomes.append(confirmed)
    return outcomes


def _left_at_amazon(client: SpApiClient, shipment: Shipment, request: _Package) -> _Package:
    """The package of an all-items shipment without what Amazon counts as shipped already
    (items shipped in Seller Central, outside the host): one getOrder call. The units this
    package holds at Amazon already (a re-send) count as left for it. _Refused when nothing
    is left."""
    order = client.get_order(shipment.amazon_order_id, included_data=("FULFILLMENT", "PACKAGES"))
    reference = str(shipment.package_id)
    own: dict[str, int] = {}
    for package in order.get("packages") or ():
        if str(package.get("packageReferenceId")) == reference:
            for item in package.get("packageItems") or ():
                item_id = str(item.get("orderItemId"))
                own[item_id] = own.get(item_id, 0) + int(item.get("quantity") or 0)
    unfulfilled: dict[str, int] = {}
    for item in order.get("orderItems") or ():
        fulfillment = item.get("fulfillment") or {}
        if "quantityUnfulfilled" in fulfillment:
            unfulfilled[str(item.get("orderItemId"))] = int(fulfillment["quantityUnfulfilled"])
    items = []
    for item_id, quantity in request.items:
        left = unfulfilled.get(item_id, quantity) + own.get(item_id, 0)
        if min(quantity, left) > 0:
            items.append((item_id, min(quantity, left)))
    if not items:
        raise _Refused("ship.nothing_left_at_amazon")
    return dataclasses.replace(request, items=tuple(items))


def _prepare(account: Account, shipment: Shipment, host: HostServices) -> _Package:
    """The checked package, or _Refused."""
    try:
        code = carrier_code(shipment.carrier)
    except UnknownCarrierError as exc:
        closest = ", ".join(exc.suggestions) or "-"
        raise _Refused("ship.unknown_carrier", carrier=shipment.carrier, closest=closest) from None
    carrier_name = (shipment.carrier_name or "").strip() or None
    if code == OTHER and carrier_name is None:
        raise _Refused("ship.carrier_name_missing")
    tracking = shipment.tracking_number.strip()
    if not tracking or len(tracking) > MAX_TRACKING_NUMBER or not tracking.isprintable():
        raise _Refused("ship.bad_tracking")
    if shipment.package_id < 1:
        raise _Refused("ship.bad_package")
    if shipment.ship_date.tzinfo is None:
        raise _Refused("ship.bad_date")
    if not shipment.items:
        raise _Refused("ship.no_items")
    order = host.get_order(account.id, shipment.amazon_order_id)
    if order is not None and order.fulfillment_channel == "AFN":
        raise _Refused("ship.fulfilled_by_amazon")
    if order is not None and order.status is OrderStatus.CANCELLED:
        raise _Refused("ship.order_cancelled")
    lines = {line.order_item_id: line.quantity for line in order.lines} if order else {}
    seen: set[str] = set()
    for item in shipment.items:
        if item.quantity < 1 or item.order_item_id in seen:
            raise _Refused("ship.bad_quantity", item=item.order_item_id)
        seen.add(item.order_item_id)
        if order is not None and item.order_item_id not in lines:
            raise _Refused("ship.unknown_item", item=item.order_item_id)
        if order is not None and item.quantity > lines[item.order_item_id]:
            raise _Refused(
                "ship.too_many", item=item.order_item_id, ordered=lines[item.order_item_id]
            )
    marketplace_id = shipment.marketplace_id or (order.marketplace_id if order else None)
    if marketplace_id is None and len(account.marketplace_ids) == 1:
        marketplace_id = account.marketplace_ids[0]
    if marketplace_id is None:
        raise _Refused("ship.no_marketplace")
    return _Package(
        marketplace_id=marketplace_id,
        carrier_code=code,
        carrier_name=carrier_name,
        shipping_method=(shipment.shipping_method or "").strip() or None,
        tracking_number=tracking,
        ship_date=shipment.ship_date,
        items=tuple((item.order_item_id, item.quantity) for item in shipment.items),
    )


def _failure(account: Account, shipment: Shipment, exc: errors.SpApiError) -> ShipmentOutcome:
    """Amazon did not take the package for a reason of its own or of the credentials."""
    state = ShipmentState.RETRY
    if isinstance(exc, errors.AuthenticationError):
        detail = login_failure(exc, account).message
        return _outcome(
            account, shipment, state, "ship.auth_failed", reauthorize=True, detail=detail
        )
    if isinstance(exc, errors.ThrottledError):
        return _outcome(account, shipment, state, "ship.throttled")
    if isinstance(exc, errors.AccessDeniedError):
        return _outcome(account, shipment, state, "ship.access_denied")
    detail = failure_detail(exc, account.locale)
    return _outcome(account, shipment, state, "ship.unavailable", detail=detail)


def _again(first: ShipmentOutcome, shipment: Shipment) -> ShipmentOutcome:
    return ShipmentOutcome(
        amazon_order_id=shipment.amazon_order_id,
        package_id=shipment.package_id,
        state=first.state,
        message=first.message,
        code=first.code,
        needs_reauthorization=first.needs_reauthorization,
    )


def _outcome(
    account: Account,
    shipment: Shipment,
    state: ShipmentState,
    code: str,
    params: dict[str, object] | None = None,
    *,
    reauthorize: bool = False,
    **more: object,
) -> ShipmentOutcome:
    params = {**(params or {}), **more}
    return ShipmentOutcome(
        amazon_order_id=shipment.amazon_order_id,
        package_id=shipment.package_id,
        state=state,
        message=messages.translate(code, account.locale, **params),
        code=code,
        needs_reauthorization=reauthorize,
    )
