"""The mapping from SP-API errors to the seller's message, cause by cause (no network)."""

from __future__ import annotations

import dataclasses

import pytest

from hyreka_plugin_amazon import diagnostics, messages
from hyreka_plugin_amazon.connector import CONNECTOR_ID
from hyreka_plugin_amazon.contract import Account
from hyreka_plugin_amazon.reports.reader import HeaderError
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.spapi import errors

INVOICING = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"
SHIPPING = "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING"
ALL_ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"

ACCOUNT = Account(
    id="shop",
    name="shop",
    connector=CONNECTOR_ID,
    region="eu",
    marketplace_ids=("A1PA6795UKMFR9",),
    client_id="amzn1.application-oa2-client.x",
    client_secret=Secret("cs"),
    refresh_token=Secret("Atzr|x"),
)


def fatal(report_type: str, document: str | None) -> errors.ReportFatalError:
    return errors.ReportFatalError(
        "report 1 failed", report_id="1", report_type=report_type, document_text=document
    )


def denied(operation: str, details: str = "Access to requested resource is denied.") -> Exception:
    return errors.AccessDeniedError(
        f"{operation} failed: {details}", operation=operation, status=403
    )


@pytest.mark.parametrize("report_type", [INVOICING, SHIPPING])
def test_an_order_report_fatal_without_document_means_txt_reports_are_not_enabled(
    report_type: str,
) -> None:
    found = diagnostics.sync_failure(fatal(report_type, None), ACCOUNT)
    assert found.code == "sync.order_reports_not_enabled"
    assert "TXT" in found.message
    assert "Amazon-Verkäuferservice" in found.message


def test_other_fatal_reports_quote_amazons_error_document() -> None:
    found = diagnostics.sync_failure(fatal(INVOICING, "Report failed.\n  Try again.\n"), ACCOUNT)
    assert found.code == "sync.report_fatal"
    assert "„Report failed. Try again.“" in found.message
    assert diagnostics.sync_failure(fatal(ALL_ORDERS, None), ACCOUNT).code == "sync.report_fatal"


@pytest.mark.parametrize(
    ("order_report", "role"),
    [
        (INVOICING, "Tax Invoicing (Restricted)"),
        (SHIPPING, "Direct-to-Consumer Shipping (Restricted)"),
        (None, "Tax Invoicing (Restricted) / Direct-to-Consumer Shipping (Restricted)"),
    ],
)
@pytest.mark.parametrize(
    "operation", ["createReport", "createRestrictedDataToken", "getReportDocument"]
)
def test_a_403_on_the_order_report_names_the_role_to_request(
    order_report: str | None, role: str, operation: str
) -> None:
    found = diagnostics.sync_failure(denied(operation), ACCOUNT, order_report=order_report)
    assert found.code == "sync.restricted_role_missing"
    assert f"„{role}“" in found.message


def test_a_403_elsewhere_sends_the_seller_to_the_test_login() -> None:
    found = diagnostics.sync_failure(denied("getReport"), ACCOUNT, order_report=INVOICING)
    assert found.code == "sync.access_denied"
    assert not found.needs_reauthorization


def test_login_causes_during_a_sync_carry_the_login_advice() -> None:
    grant = errors.InvalidGrantError("invalid_grant", operation="lwaToken", status=400)
    found = diagnostics.sync_failure(grant, ACCOUNT)
    assert found.code == "sync.auth_failed"
    assert found.needs_reauthorization
    assert messages.translate("login.invalid_grant") in found.message
    basic = denied("createReport", "denied (The selling partner account is an Individual account)")
    found = diagnostics.sync_failure(basic, ACCOUNT)
    assert found.code == "sync.auth_failed"
    assert messages.translate("login.basic_account") in found.message


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (errors.ReportTimeoutError("slow"), "sync.report_timeout"),
        (errors.ThrottledError("429"), "sync.throttled"),
        (errors.ServerError("503", status=503), "sync.unavailable"),
        (errors.TransportError("refused"), "sync.unavailable"),
        (errors.DocumentTruncatedError("short"), "sync.document_error"),
        (HeaderError("missing column order-id"), "sync.header_error"),
        (errors.BadRequestError("400"), "sync.error"),
    ],
)
def test_every_other_sync_failure_has_its_message(exc: Exception, code: str) -> None:
    found = diagnostics.sync_failure(exc, ACCOUNT)
    assert found.code == code
    english = diagnostics.sync_failure(exc, dataclasses.replace(ACCOUNT, locale="en"))
    before_placeholder = messages.translate(code, "en", detail="\0").split("\0")[0]
    assert english.message.startswith(before_placeholder)


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (errors.InvalidClientError("x", operation="lwaToken"), "login.invalid_client"),
        (errors.InvalidGrantError("x", operation="lwaToken"), "login.invalid_grant"),
        (denied("getMarketplaceParticipations"), "login.access_denied"),
        (errors.ThrottledError("429"), "login.throttled"),
        (errors.TransportError("refused", operation="lwaToken"), "login.unreachable"),
        (errors.ServerError("503", status=503), "login.unavailable"),
        (errors.BadRequestError("400 InvalidInput"), "login.error"),
    ],
)
def test_login_failures(exc: errors.SpApiError, code: str) -> None:
    assert diagnostics.login_failure(exc, ACCOUNT).code == code


def test_an_unreachable_token_endpoint_is_named_by_its_host() -> None:
    lwa = errors.TransportError("refused", operation="lwaToken")
    assert "api.amazon.com" in diagnostics.login_failure(lwa, ACCOUNT).message
    spapi = errors.TransportError("refused", operation="getMarketplaceParticipations")
    assert "sellingpartnerapi-eu.amazon.com" in diagnostics.login_failure(spapi, ACCOUNT).message
