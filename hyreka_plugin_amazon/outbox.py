"""What the host sends back to Amazon through the connector, part of the contract (and
re-exported by ``contract``): shipping confirmations, each package with its outcome."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class ShipmentItem:
    """An order item and how many of it are in the package."""

    order_item_id: str
    quantity: int


@dataclass(frozen=True)
class Shipment:
    """One package the host shipped, to be confirmed to Amazon with carrier and tracking.

    ``package_id`` is the host's own number for the package, a positive integer that stays
    the same for every attempt: Amazon treats the same package again as an edit, so sending
    a shipment twice never makes two packages. ``carrier`` is a carrier code (Amazon's, or a
    name the connector knows, such as "Deutsche Post"); with the code "Other" Amazon needs
    ``carrier_name``. ``marketplace_id`` None: the order's, as the host stored it.

    ``all_items``: the seller asked to ship everything left of the order, and ``items`` is what
    the host counts as left. Amazon may count more as shipped (items shipped in Seller Central,
    outside the host): the connector leaves those out and says in the outcome's ``items``
    which items the package holds.
    """

    amazon_order_id: str
    package_id: int
    carrier: str
    tracking_number: str
    ship_date: datetime
    items: tuple[ShipmentItem, ...]
    carrier_name: str | None = None
    shipping_method: str | None = None
    marketplace_id: str | None = None
    all_items: bool = False


class ShipmentState(enum.StrEnum):
    """What became of a shipment the connector was asked to confirm."""

    CONFIRMED = "confirmed"  # Amazon has the package
    REFUSED = "refused"  # wrong as given: correct it, then send it again
    RETRY = "retry"  # Amazon could not be reached or asked to wait: send it again later


@dataclass(frozen=True)
class ShipmentOutcome:
    """The outcome of one shipment; ``message`` says what to do (in the account's language).

    ``code`` is a stable message id (``ship.unknown_carrier``); ``needs_reauthorization``
    as in LoginResult (nothing is sent until the seller re-authorises). ``items``: what the
    package holds when the connector left out items of an ``all_items`` shipment that Amazon
    counts as shipped already (None: as asked).
    """

    amazon_order_id: str
    package_id: int
    state: ShipmentState
    message: str = ""
    code: str = "ship.confirmed"
    needs_reauthorization: bool = False
    items: tuple[ShipmentItem, ...] | None = None  # the package's items when not as asked
