""" "Versand bestätigen": a package into the outbox and to Amazon at once, and sending what is
pending. Outcomes' messages are in the run's or request's language (``lang``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from hyreka_plugin_amazon.contract import Account, ShipmentOutcome
from hyreka_plugin_amazon.refhost.host import ReferenceHost


def shipping_account(
    host: ReferenceHost, amazon_order_id: str, account_name: str | None
) -> Account:
    """The named account, else the one that has the order, else the only one."""
    return host.shipping_account(amazon_order_id, account_name)


def ship(
    host: ReferenceHost,
    amazon_order_id: str,
    *,
    carrier: str,
    tracking_number: str,
    account_name: str | None = None,
    carrier_name: str | None = None,
    shipping_method: str | None = None,
    ship_date: datetime | None = None,
    items: Sequence[tuple[str, int]] | None = None,
    package_id: int = 0,
    lang: str | None = None,
    request_token: str | None = None,
) -> ShipmentOutcome:
    """Record the package and confirm it to Amazon, exactly once (see ``ReferenceHost.ship``):
    the same confirmation again uses its package; ``request_token`` (a form's one-time token)
    sent again shows the first submit's outcome."""
    _, outcome = host.ship(
        amazon_order_id,
        carrier=carrier,
        tracking_number=tracking_number,
        account_name=shipping_account(host, amazon_order_id, account_name).name,
        carrier_name=carrier_name,
        shipping_method=shipping_method,
        ship_date=ship_date,
        items=items,
        package_id=package_id,
        locale=lang,
        request_token=request_token,
    )
    return outcome


def send_pending(
    host: ReferenceHost, account_name: str | None = None, *, lang: str | None = None
) -> list[ShipmentOutcome]:
    """Send every pending shipment (of one account, or of all); their outcomes."""
    return host.send_pending_shipments(account_name, locale=lang)
