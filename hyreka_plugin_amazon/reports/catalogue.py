"""The report types this connector knows: for each its layout, whether its documents are
restricted (need a Restricted Data Token), whether it carries billing columns, its role in a
sync, and the restricted role a developer needs for it (Amazon's SP-API documentation:
"Order Reports" and "Order reports attributes").

Everything else asks here: the sync (which report to request, whether bill-* columns are
expected), the client (whether to get an RDT), the diagnostics (which role a 403 asks for),
the reader (each layout's id column and required columns) and the simulator.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Final


class Layout(enum.StrEnum):
    """The columns of a report's header (the id column, quantity column and status differ)."""

    ORDERS_INVOICING = "orders-invoicing"  # the order report with bill-* columns
    ORDERS = "orders"  # the order report without bill-* columns
    UNSHIPPED = "unshipped"  # the actionable (unshipped) order report
    ALL_ORDERS = "all-orders"  # the all-orders report (statuses, no personal data)
    FBA_SHIPMENTS = "fba-shipments"  # Amazon-fulfilled shipments

    @property
    def order_id_column(self) -> str:
        if self in (Layout.ALL_ORDERS, Layout.FBA_SHIPMENTS):
            return "amazon-order-id"
        return "order-id"


class Role(enum.StrEnum):
    """What a report is for."""

    ORDERS = "orders"  # orders eligible for fulfilment, with items, prices and addresses
    UNSHIPPED = "unshipped"  # orders still to ship
    STATUSES = "statuses"  # every order's status, no personal data
    FBA_SHIPMENTS = "fba-shipments"  # Amazon-fulfilled sales, shipped
    OTHER = "other"  # restricted reports this connector does not read


@dataclass(frozen=True, slots=True)
class ReportType:
    """One of Amazon's report types as this connector knows it."""

    name: str  # Amazon's reportType
    role: Role
    layout: Layout | None  # None: a report this connector does not read
    restricted: bool  # its documents need a Restricted Data Token
    billing_columns: bool  # carries bill-* columns (when the seller switched them on)
    data_role: str | None = None  # the restricted role a developer needs, where named


ORDER_REPORT_EU: Final = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"
ORDER_REPORT_OTHER: Final = "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING"
STATUS_REPORT: Final = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"

_INVOICING_ROLE = "Tax Invoicing (Restricted)"
_SHIPPING_ROLE = "Direct-to-Consumer Shipping (Restricted)"
_TAX_ROLE = "Tax Remittance (Restricted)"


def _order_report(name: str, layout: Layout, billing: bool, data_role: str) -> ReportType:
    return ReportType(name, Role.ORDERS, layout, True, billing, data_role)


def _entries() -> dict[str, ReportType]:
    entries = [
        _order_report(ORDER_REPORT_EU, Layout.ORDERS_INVOICING, True, _INVOICING_ROLE),
        _order_report(ORDER_REPORT_OTHER, Layout.ORDERS, False, _SHIPPING_ROLE),
        _order_report("GET_FLAT_FILE_ORDER_REPORT_DATA_TAX", Layout.ORDERS, False, _TAX_ROLE),
        ReportType(
            name="GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING",
            role=Role.UNSHIPPED,
            layout=Layout.UNSHIPPED,
            restricted=True,
            billing_columns=False,
            data_role=_SHIPPING_ROLE,
        ),
    ]
    entries += [
        ReportType(
            name=name,
            role=Role.STATUSES,
            layout=Layout.ALL_ORDERS,
            restricted=False,
            billing_columns=False,
        )
        for name in (STATUS_REPORT, "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL")
    ]
    entries += [
        ReportType(
            name=f"GET_AMAZON_FULFILLED_SHIPMENTS_DATA_{kind}",
            role=Role.FBA_SHIPMENTS,
            layout=Layout.FBA_SHIPMENTS,
            restricted=True,
            billing_columns=kind == "INVOICING",
        )
        for kind in ("INVOICING", "TAX")
    ]
    entries += [
        ReportType(name=name, role=Role.OTHER, layout=None, restricted=True, billing_columns=False)
        for name in (
            "GET_FLAT_FILE_ORDERS_RECONCILIATION_DATA_TAX",
            "GET_FLAT_FILE_ORDERS_RECONCILIATION_DATA_INVOICING",
            "GET_FLAT_FILE_ORDERS_RECONCILIATION_DATA_SHIPPING",
            "GET_ORDER_REPORT_DATA_INVOICING",
            "GET_ORDER_REPORT_DATA_TAX",
            "GET_ORDER_REPORT_DATA_SHIPPING",
            "GET_EASYSHIP_DOCUMENTS",
            "GET_GST_MTR_B2B_CUSTOM",
            "GET_VAT_TRANSACTION_DATA",
            "SC_VAT_TAX_REPORT",
        )
    ]
    return {entry.name: entry for entry in entries}


REPORT_TYPES: Final[Mapping[str, ReportType]] = _entries()

# Report types whose documents need a Restricted Data Token (Amazon's "Tokens API Use Case
# Guide", restricted report types).
RESTRICTED_REPORT_TYPES: Final = frozenset(
    name for name, entry in REPORT_TYPES.items() if entry.restricted
)
# Order reports that carry bill-* columns.
BILLING_REPORTS: Final = frozenset(
    name
    for name, entry in REPORT_TYPES.items()
    if entry.billing_columns and entry.role is Role.ORDERS
)
# The restricted role each order report needs (Amazon's "Order reports" page).
DATA_ROLES: Final[Mapping[str, str]] = {
    name: entry.data_role for name, entry in REPORT_TYPES.items() if entry.data_role
}
EITHER_ORDER_ROLE: Final = f"{_INVOICING_ROLE} / {_SHIPPING_ROLE}"


_ORDER_REPORT = ("order-id", "order-item-id", "purchase-date", "sku", "quantity-purchased")
_PRICES = ("currency", "item-price")

# Columns without which a layout's orders cannot be built (a subset check: Amazon adds columns).
REQUIRED_COLUMNS: Final[Mapping[Layout, tuple[str, ...]]] = {
    Layout.ORDERS_INVOICING: (
        *_ORDER_REPORT,
        *_PRICES,
        "bill-address-1",
        "bill-city",
        "bill-postal-code",
        "bill-country",
    ),
    Layout.ORDERS: (*_ORDER_REPORT, *_PRICES),
    Layout.UNSHIPPED: _ORDER_REPORT,
    Layout.ALL_ORDERS: (
        "amazon-order-id",
        "purchase-date",
        "last-updated-date",
        "order-status",
        "fulfillment-channel",
        "sku",
        "item-status",
        "quantity",
        *_PRICES,
    ),
    Layout.FBA_SHIPMENTS: (
        "amazon-order-id",
        "amazon-order-item-id",
        "purchase-date",
        "sku",
        "quantity-shipped",
        *_PRICES,
    ),
}


def layout_of_header(columns: Collection[str]) -> Layout | None:
    """The layout a header's columns belong to, by its telling columns; None when it has
    neither an order-id nor an amazon-order-id column (required columns are not checked)."""
    if "amazon-order-id" in columns:
        if "amazon-order-item-id" in columns or "shipment-id" in columns:
            return Layout.FBA_SHIPMENTS
        return Layout.ALL_ORDERS
    if "order-id" in columns:
        if "quantity-to-ship" in columns or "days-past-promise" in columns:
            return Layout.UNSHIPPED
        if any(name.startswith("bill-") for name in columns):
            return Layout.ORDERS_INVOICING
        return Layout.ORDERS
    return None
