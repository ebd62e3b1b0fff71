"""The simulator's orders: Amazon's view of each order, with its life cycle as event times.

An order's state at a moment follows from its event times: payment authorised
(``payments_date``), items shipped, cancelled. Reports, the Orders API and the ground truth are
all derived from these objects at a given ``now``, so they always agree.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

from hyreka_plugin_amazon.contract import Address, Order, OrderLine, OrderStatus
from hyreka_plugin_amazon.spapi.regions import Marketplace


class AmazonState(enum.Enum):
    """Where an order stands at Amazon (Orders API terms)."""

    PENDING = "Pending"  # payment not authorised
    UNSHIPPED = "Unshipped"
    PARTIALLY_SHIPPED = "PartiallyShipped"
    SHIPPED = "Shipped"
    CANCELED = "Canceled"


HOST_STATUS = {
    AmazonState.PENDING: OrderStatus.PENDING,
    AmazonState.UNSHIPPED: OrderStatus.OPEN,
    AmazonState.PARTIALLY_SHIPPED: OrderStatus.OPEN,
    AmazonState.SHIPPED: OrderStatus.SHIPPED,
    AmazonState.CANCELED: OrderStatus.CANCELLED,
}


@dataclass(repr=False)  # addresses are personal data: no repr
class PostalAddress:
    """Street lines (non-empty, at most three), city, state, postal code, country."""

    lines: tuple[str, ...]
    city: str
    postal_code: str
    country_code: str
    state: str = ""


@dataclass
class Promotion:
    promotion_id: str
    discount: Decimal  # negative, as the order report writes it


@dataclass
class SimItem:
    """One order item; money amounts are totals for the quantity."""

    order_item_id: str
    sku: str
    asin: str
    title: str
    quantity: int
    item_price: Decimal
    item_tax: Decimal
    shipping_price: Decimal
    shipping_tax: Decimal
    promotions: list[Promotion] = field(default_factory=list)  # item promotions, 0-2
    ship_promotion: Promotion | None = None
    price_designation: str = ""
    shipped_at: datetime | None = None
    gift_wrap_price: Decimal = Decimal("0.00")  # FBA items only (the FBA report has them)
    gift_wrap_tax: Decimal = Decimal("0.00")
    points_granted: Decimal | None = None  # Japan's FBA items: Amazon points, one per yen

    def shipped(self, now: datetime) -> bool:
        return self.shipped_at is not None and self.shipped_at <= now

    @property
    def item_promotion_discount(self) -> Decimal:
        return sum((p.discount for p in self.promotions), Decimal("0"))


@dataclass(repr=False)  # the tracking number is the seller's, but no repr needs it
class SimPackage:
    """A package the seller confirmed (confirmShipment); a repeated reference replaces it."""

    package_reference_id: str
    carrier_code: str
    carrier_name: str | None
    shipping_method: str | None
    tracking_number: str
    ship_date: datetime
    items: dict[str, int]  # order item id -> quantity
    confirmed_at: datetime

    def as_json(self) -> dict[str, object]:
        """The admin truth's shape (``GET /_simulator/orders``)."""
        return {
            "package_reference_id": self.package_reference_id,
            "carrier_code": self.carrier_code,
            "carrier_name": self.carrier_name,
            "shipping_method": self.shipping_method,
            "tracking_number": self.tracking_number,
            "ship_date": self.ship_date.isoformat(),
            "items": [{"order_item_id": i, "quantity": q} for i, q in self.items.items()],
        }


@dataclass(repr=False)
class SimOrder:
    """An order as Amazon holds it; its repr shows the id only (the rest is personal data)."""

    order_id: str
    seller_id: str
    marketplace: Marketplace
    fulfillment_channel: Literal["MFN", "AFN"]
    purchase_date: datetime
    payments_date: datetime | None  # when payment was authorised (eligible for fulfilment)
    buyer_email: str
    buyer_name: str
    buyer_phone: str
    recipient_name: str
    ship_phone: str
    ship_address: PostalAddress
    bill_address: PostalAddress
    ship_service_level: str
    items: list[SimItem]
    is_business_order: bool = False
    purchase_order_number: str = ""
    buyer_company_name: str = ""
    buyer_tax_registration_id: str = ""
    buyer_tax_registration_country: str = ""
    cancelled_at: datetime | None = None
    touched_at: datetime | None = None  # a change without a state change (admin API)
    packages: list[SimPackage] = field(default_factory=list)  # confirmed by the seller

    def __repr__(self) -> str:
        return f"SimOrder({self.order_id!r})"

    def state(self, now: datetime) -> AmazonState:
        if self.cancelled_at is not None and self.cancelled_at <= now:
            return AmazonState.CANCELED
        if self.payments_date is None or self.payments_date > now:
            return AmazonState.PENDING
        shipped = sum(item.shipped(now) for item in self.items)
        if shipped == len(self.items):
            return AmazonState.SHIPPED
        some = shipped or any(p.confirmed_at <= now for p in self.packages)
        return AmazonState.PARTIALLY_SHIPPED if some else AmazonState.UNSHIPPED

    def eligible(self, now: datetime) -> bool:
        """Payment authorised by ``now`` (the order reports list only such orders)."""
        return self.payments_date is not None and self.payments_date <= now

    def last_updated(self, now: datetime) -> datetime:
        events = [self.purchase_date, self.payments_date, self.cancelled_at, self.touched_at]
        events += [package.confirmed_at for package in self.packages]
        events += [item.shipped_at for item in self.items]
        return max(e for e in events if e is not None and e <= now)

    @property
    def currency(self) -> str:
        return self.marketplace.currency

    def host_order(self, now: datetime) -> Order:
        """The order in the host's shape, following the team's column conventions."""
        bill = self.bill_address
        return Order(
            amazon_order_id=self.order_id,
            status=HOST_STATUS[self.state(now)],
            marketplace_id=self.marketplace.id,
            sales_channel=self.marketplace.domain,
            fulfillment_channel=self.fulfillment_channel,
            currency=self.currency,
            purchase_date=self.purchase_date,
            lines=tuple(
                OrderLine(
                    order_item_id=item.order_item_id,
                    sku=item.sku,
                    title=item.title,
                    quantity=item.quantity,
                    item_price=item.item_price,
                    item_tax=item.item_tax,
                    shipping_price=item.shipping_price,
                    shipping_tax=item.shipping_tax,
                    item_promotion_discount=item.item_promotion_discount,
                    ship_promotion_discount=(
                        item.ship_promotion.discount if item.ship_promotion else Decimal("0")
                    ),
                    # only the FBA shipments report has gift-wrap columns (Japan's, points)
                    **(_fba_amounts(item) if self.fulfillment_channel == "AFN" else {}),
                )
                for item in self.items
            ),
            billing_address=Address(
                name=_none(self.buyer_name),
                company=_none(self.buyer_company_name),
                lines=bill.lines,
                postal_code=_none(bill.postal_code),
                city=_none(bill.city),
                state=_none(bill.state),
                country_code=_none(bill.country_code),
                phone=_none(self.buyer_phone),
            ),
            shipping_address=Address(
                name=_none(self.recipient_name),
                lines=self.ship_address.lines,
                postal_code=_none(self.ship_address.postal_code),
                city=_none(self.ship_address.city),
                state=_none(self.ship_address.state),
                country_code=_none(self.ship_address.country_code),
                phone=_none(self.ship_phone),
            ),
            buyer_email=self.buyer_email,
            is_business_order=self.is_business_order,
            purchase_order_number=_none(self.purchase_order_number),
            buyer_company_name=_none(self.buyer_company_name),
            buyer_tax_registration_id=_none(self.buyer_tax_registration_id),
            last_updated=self.last_updated(now),
        )


def _fba_amounts(item: SimItem) -> dict[str, Decimal | None]:
    return {
        "gift_wrap_price": item.gift_wrap_price,
        "gift_wrap_tax": item.gift_wrap_tax,
        "points_granted": item.points_granted,
    }


def _none(value: str) -> str | None:
    return value or None
