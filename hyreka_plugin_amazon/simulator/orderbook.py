"""The order book: every seller's orders, generated at start, changed by the admin actions.

The admin actions (place an order, cancel it, ship it) and the ground truth the tests compare
against all go through here, under the book's lock, on the simulator clock.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from hyreka_plugin_amazon.simulator.generator import OrderGenerator
from hyreka_plugin_amazon.simulator.ordermodel import AmazonState, SimOrder
from hyreka_plugin_amazon.simulator.sellers import Seller
from hyreka_plugin_amazon.simulator.vocabulary import ApiError
from hyreka_plugin_amazon.spapi.regions import Marketplace

HOST_STATUSES = ("pending", "open", "shipped", "cancelled")
LIFECYCLE_SPAN = timedelta(days=14)  # with a life cycle, as many orders again come over this


class OrderBook:
    """The orders by id; ``lock`` guards them and every change to them."""

    def __init__(self, seed: int, *, lifecycle: bool) -> None:
        self.orders: dict[str, SimOrder] = {}
        self.lock = threading.RLock()
        self.lifecycle = lifecycle
        self._generator = OrderGenerator(seed)

    def populate(
        self, seller: Seller, market: tuple[Marketplace, ...], count: int, now: datetime
    ) -> None:
        """``count`` orders of the seller placed before ``now`` (and, with a life cycle,
        ``count`` more still to come)."""
        generate = self._generator.generate
        with self.lock:
            orders = generate(count, seller.seller_id, market, now, settle=not self.lifecycle)
            if self.lifecycle:
                orders += generate(
                    count, seller.seller_id, market, now + LIFECYCLE_SPAN, settle=False
                )
            self.orders.update((o.order_id, o) for o in orders)

    def ground_truth(
        self, now: datetime, seller_id: str | None = None, *, packages: bool = False
    ) -> list[dict[str, Any]]:
        """Every order placed by ``now`` with Amazon's current status, as ``Order.as_dict``;
        ``packages`` adds each order's confirmed ``packages`` (the admin API's shape)."""
        with self.lock:
            orders = [
                o for o in self.orders.values() if seller_id is None or o.seller_id == seller_id
            ]
            orders.sort(key=lambda o: (o.purchase_date, o.order_id))
            return [_truth(o, now, packages) for o in orders if o.purchase_date <= now]

    def cancel(self, order_id: str, now: datetime) -> dict[str, Any]:
        """Amazon cancels the order now (only orders not shipped at all can be cancelled)."""
        with self.lock:
            order = self._placed(order_id, now)
            if order.state(now) not in (AmazonState.PENDING, AmazonState.UNSHIPPED):
                raise _conflict(f"an order in state {order.state(now).value} cannot be cancelled")
            order.cancelled_at = now
            return order.host_order(now).as_dict()

    def ship(
        self, order_id: str, now: datetime, items: Collection[str] | None = None
    ) -> dict[str, Any]:
        """The seller (or Amazon, for FBA) ships every item not yet shipped, now, without a
        package (in Seller Central); ``items``: only these order item ids."""
        with self.lock:
            order = self._placed(order_id, now)
            state = order.state(now)
            if state not in (AmazonState.UNSHIPPED, AmazonState.PARTIALLY_SHIPPED):
                raise _conflict(f"an order in state {state.value} cannot be shipped")
            known = {item.order_item_id for item in order.items}
            unknown = sorted(set(items or ()) - known)
            if unknown:
                message = f"orderItemId {unknown[0]!r} is not in the order."
                raise ApiError(400, "InvalidInput", message)
            for item in order.items:
                if not item.shipped(now) and (items is None or item.order_item_id in items):
                    item.shipped_at = now
            return order.host_order(now).as_dict()

    def add(
        self,
        seller: Seller,
        market: Marketplace,
        now: datetime,
        *,
        status: str,
        fulfillment_channel: str | None,
    ) -> dict[str, Any]:
        """A new generated order placed now, in the host ``status`` asked for; an "open" order
        without a ``fulfillment_channel`` is seller-fulfilled (one the seller must ship), other
        statuses leave the channel to the generator."""
        if status not in HOST_STATUSES:
            raise ValueError("status must be pending, open, shipped or cancelled")
        if fulfillment_channel not in (None, "MFN", "AFN"):
            raise ValueError("fulfillment_channel must be MFN or AFN")
        with self.lock:
            order = self._generator.order(seller.seller_id, market, now)
            if fulfillment_channel is None and status == "open":
                fulfillment_channel = "MFN"
            if fulfillment_channel is not None:
                order.fulfillment_channel = "AFN" if fulfillment_channel == "AFN" else "MFN"
            if status != "pending":
                order.payments_date = order.purchase_date
            if status == "shipped":
                for item in order.items:
                    item.shipped_at = now
            if status == "cancelled":
                order.cancelled_at = now
            self.orders[order.order_id] = order
            return order.host_order(now).as_dict()

    def _placed(self, order_id: str, now: datetime) -> SimOrder:
        order = self.orders.get(order_id)
        if order is None or order.purchase_date > now:  # not yet placed
            raise ApiError(404, "NotFound", "No order with this id.")
        return order


def open_for_seller(order: dict[str, Any]) -> bool:
    """Whether a ground-truth order (``ground_truth``'s shape) is open for the seller: Amazon
    says Unshipped or PartiallyShipped and the seller ships it. Amazon ships FBA orders, so they
    are never open for the seller (a connector imports them once shipped)."""
    return bool(order["status"] == "open" and order["fulfillment_channel"] == "MFN")


def _truth(order: SimOrder, now: datetime, packages: bool) -> dict[str, Any]:
    data = order.host_order(now).as_dict()
    if packages:
        data["packages"] = [p.as_json() for p in order.packages if p.confirmed_at <= now]
    return data


def _conflict(details: str) -> ApiError:
    return ApiError(409, "Conflict", "The order cannot change this way.", details)
