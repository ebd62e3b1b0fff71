"""What a manually imported report may change of an order the store already holds.

A report file a seller downloaded by hand may be older than what the syncs stored since, or
carry less (the all-orders report has no personal data and no item ids). So an import:

- never moves an order backwards in its lifecycle (pending -> open -> shipped/cancelled): a
  file saved while an order was open does not reopen it once it is shipped or cancelled;
- never overrides newer data: an order whose stored last update is later than the report's
  is left as it is;
- never erases what the report does not carry: a field the report leaves empty (addresses,
  e-mail, fulfilment channel, last update ...) keeps its stored value, a report without
  personal data and item ids (all-orders) never replaces addresses, buyer data or lines, and
  one without prices (unshipped orders) never replaces lines with prices.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

from hyreka_plugin_amazon.contract import Order, OrderStatus

STAGE: Final = {
    OrderStatus.PENDING: 0,
    OrderStatus.OPEN: 1,
    OrderStatus.SHIPPED: 2,
    OrderStatus.CANCELLED: 2,
}
LAYOUTS_WITHOUT_PERSONAL_DATA: Final = frozenset({"all-orders"})  # nor item ids
_PERSONAL: Final = (
    "billing_address",
    "shipping_address",
    "buyer_email",
    "purchase_order_number",
    "buyer_company_name",
    "buyer_tax_registration_id",
    "lines",
)
_KEPT_WHEN_EMPTY: Final = (
    "marketplace_id",
    "sales_channel",
    "fulfillment_channel",
    "currency",
    "purchase_date",
    "billing_address",
    "shipping_address",
    "buyer_email",
    "purchase_order_number",
    "buyer_company_name",
    "buyer_tax_registration_id",
    "last_updated",
)


def merged_import(known: Order | None, imported: Order, *, layout: str) -> Order | None:
    """The order to store for ``imported`` (read from a report of ``layout``) when the store
    holds ``known``; None when the stored order is newer and stays as it is."""
    if known is None:
        return imported
    if (
        known.last_updated is not None
        and imported.last_updated is not None
        and imported.last_updated < known.last_updated
    ):
        return None  # a sync stored a later state of this order
    changes: dict[str, Any] = {
        name: getattr(known, name)
        for name in _KEPT_WHEN_EMPTY
        if getattr(imported, name) is None and getattr(known, name) is not None
    }
    if STAGE[imported.status] < STAGE[known.status]:
        changes["status"] = known.status
    if layout in LAYOUTS_WITHOUT_PERSONAL_DATA:  # its partial addresses and sku lines
        changes.update({name: getattr(known, name) for name in _PERSONAL})
        changes["billing_address_missing"] = known.billing_address_missing
    elif known.lines and not imported.lines:
        changes["lines"] = known.lines
    elif imported.prices_missing and known.lines and not known.prices_missing:
        changes["lines"] = known.lines  # a report without prices (unshipped orders)
    if "billing_address" in changes:
        changes["billing_address_missing"] = known.billing_address_missing
    return dataclasses.replace(imported, **changes) if changes else imported
