""" "Versand bestätigen": a package into the outbox and to Amazon at once, and sending what is
pending. Outcomes' messages are in the run's or request's language (``lang``).

What the seller types (carrier, carrier name, shipping method, tracking number) is checked
here, for every face, before anything is stored or sent: as the connector checks a tracking
number (at most ``MAX_TEXT`` characters, printable: no control or formatting characters such
as escape sequences, line breaks or U+202E). A refusal names the field, never echoes the value.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Final

from hyreka_plugin_amazon.contract import Account, ShipmentOutcome
from hyreka_plugin_amazon.outbox import MAX_TRACKING_NUMBER
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.services import auditing
from hyreka_plugin_amazon.refhost.services.errors import ServiceError

MAX_TEXT: Final = MAX_TRACKING_NUMBER  # characters, as the connector checks a tracking number
# field -> the text id of its refusal
_REFUSALS: Final = {
    "carrier": "cli.ship.bad_carrier",
    "carrier_name": "cli.ship.bad_carrier_name",
    "shipping_method": "cli.ship.bad_method",
    "tracking_number": "cli.ship.bad_tracking",
}


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
    sent again shows the first submit's outcome.

    ``cli.ship.bad_*`` (a ServiceError naming the ``field``) for a carrier, carrier name,
    shipping method or tracking number that is too long or not printable; ``input.required``
    without a carrier or tracking number. Nothing is stored or sent then."""
    carrier = checked_text("carrier", carrier, required=True) or ""
    tracking_number = checked_text("tracking_number", tracking_number, required=True) or ""
    carrier_name = checked_text("carrier_name", carrier_name)
    shipping_method = checked_text("shipping_method", shipping_method)
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


def withdraw(
    host: ReferenceHost, amazon_order_id: str, package_id: int, *, account_name: str | None = None
) -> None:
    """The seller withdraws a refused package instead of correcting it: it leaves the outbox
    (what it held counts as left to ship again). Audited as ``shipment.withdrawn``.
    ServiceError when the order has no refused package of that number (one that is pending
    or confirmed stays: Amazon may have it)."""
    account = shipping_account(host, amazon_order_id, account_name)
    if not host.store.withdraw_shipment(account.id, amazon_order_id, package_id):
        raise ServiceError("cli.ship.not_withdrawable", order=amazon_order_id, package=package_id)
    auditing.record(
        host, "shipment.withdrawn", account=account.name, order=amazon_order_id, package=package_id
    )


def send_pending(
    host: ReferenceHost, account_name: str | None = None, *, lang: str | None = None
) -> list[ShipmentOutcome]:
    """Send every pending shipment (of one account, or of all); their outcomes."""
    return host.send_pending_shipments(account_name, locale=lang)


def checked_text(field: str, value: str | None, *, required: bool = False) -> str | None:
    """``value`` without blanks around it (None when empty), if it is usable as the shipment's
    ``field``: at most ``MAX_TEXT`` characters, every one printable. ServiceError if not."""
    text = (value or "").strip()
    if not text:
        if required:
            raise ServiceError("input.required", field=field)
        return None
    if len(text) > MAX_TEXT or not text.isprintable():
        raise ServiceError(_REFUSALS[field], field=field, maximum=MAX_TEXT)
    return text
