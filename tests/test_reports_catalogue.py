"""The report catalogue: Amazon's facts about report types, stated once and read by all."""

from __future__ import annotations

import pytest

from hyreka_plugin_amazon.reports import catalogue
from hyreka_plugin_amazon.reports.catalogue import (
    BILLING_REPORTS,
    DATA_ROLES,
    ORDER_REPORT_EU,
    ORDER_REPORT_OTHER,
    REPORT_TYPES,
    RESTRICTED_REPORT_TYPES,
    STATUS_REPORT,
    Layout,
    Role,
)
from hyreka_plugin_amazon.reports.reader import detect_layout
from hyreka_plugin_amazon.simulator import flatfiles

# The restricted report types of Amazon's tokens guide (spapi-notes 5.1).
AMAZON_RESTRICTED = {
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_INVOICING",
    "GET_AMAZON_FULFILLED_SHIPMENTS_DATA_TAX",
    "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING",
    "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING",
    "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
    "GET_FLAT_FILE_ORDER_REPORT_DATA_TAX",
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
}


def test_restricted_report_types_are_amazons() -> None:
    assert RESTRICTED_REPORT_TYPES == AMAZON_RESTRICTED


def test_every_entry_is_keyed_by_its_name_and_read_reports_have_a_layout() -> None:
    for name, entry in REPORT_TYPES.items():
        assert entry.name == name
        assert (entry.layout is None) == (entry.role is Role.OTHER)
        if entry.billing_columns:
            assert entry.layout in (Layout.ORDERS_INVOICING, Layout.FBA_SHIPMENTS)


def test_only_the_status_reports_are_free_of_personal_data() -> None:
    unrestricted = {name for name, entry in REPORT_TYPES.items() if not entry.restricted}
    assert unrestricted == {
        name for name, entry in REPORT_TYPES.items() if entry.role is Role.STATUSES
    }
    assert STATUS_REPORT in unrestricted


def test_the_sync_s_reports() -> None:
    eu, other = REPORT_TYPES[ORDER_REPORT_EU], REPORT_TYPES[ORDER_REPORT_OTHER]
    assert (eu.role, eu.layout, eu.billing_columns) == (Role.ORDERS, Layout.ORDERS_INVOICING, True)
    assert (other.role, other.layout, other.billing_columns) == (Role.ORDERS, Layout.ORDERS, False)
    assert REPORT_TYPES[STATUS_REPORT].layout is Layout.ALL_ORDERS
    assert {ORDER_REPORT_EU} == BILLING_REPORTS


def test_each_order_report_names_the_role_it_needs() -> None:
    assert DATA_ROLES == {
        ORDER_REPORT_EU: "Tax Invoicing (Restricted)",
        ORDER_REPORT_OTHER: "Direct-to-Consumer Shipping (Restricted)",
        "GET_FLAT_FILE_ORDER_REPORT_DATA_TAX": "Tax Remittance (Restricted)",
        "GET_FLAT_FILE_ACTIONABLE_ORDER_DATA_SHIPPING": "Direct-to-Consumer Shipping (Restricted)",
    }
    assert set(catalogue.EITHER_ORDER_ROLE.split(" / ")) == {
        DATA_ROLES[ORDER_REPORT_EU],
        DATA_ROLES[ORDER_REPORT_OTHER],
    }


@pytest.mark.parametrize("report_type", sorted(flatfiles.REPORT_TYPES))
def test_the_simulator_serves_reports_as_the_catalogue_describes_them(report_type: str) -> None:
    entry = REPORT_TYPES[report_type]
    assert detect_layout(flatfiles.header(report_type)) is entry.layout
    assert (report_type in flatfiles.RESTRICTED_REPORT_TYPES) is entry.restricted
    assert (report_type in flatfiles.ORDER_REPORT_TYPES) is (entry.role is Role.ORDERS)


def test_an_invoicing_report_without_billing_columns_reads_as_the_plain_order_report() -> None:
    header = flatfiles.header(ORDER_REPORT_EU, billing=False)
    assert detect_layout(header) is Layout.ORDERS
