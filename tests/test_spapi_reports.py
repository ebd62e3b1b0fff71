"""Reports lifecycle (create, poll, DONE/CANCELLED/FATAL/timeout), RDTs and Orders v2026-01-01."""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from helpers.spapi_fake import expect_token, make_seller
from pytest_httpserver import HTTPServer

from hyreka_plugin_amazon.spapi import (
    BadRequestError,
    Report,
    ReportFatalError,
    ReportTimeoutError,
)

REPORTS = "/reports/2021-06-30/reports"
INVOICING = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"
ALL_ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"
DE = "A1PA6795UKMFR9"
RDT_PATH = "/tokens/2021-03-01/restrictedDataToken"
ORDERS = "/orders/2026-01-01/orders"


def report_json(status: str, report_type: str = ALL_ORDERS, **extra: str) -> dict[str, Any]:
    return {
        "reportId": "R1",
        "reportType": report_type,
        "processingStatus": status,
        "marketplaceIds": [DE],
        "dataStartTime": "2026-11-01T00:00:00Z",
        "dataEndTime": "2026-11-20T00:00:00+00:00",
        "createdTime": "2026-11-20T10:00:00.123Z",
        **extra,
    }


def serve_statuses(httpserver: HTTPServer, *reports: Mapping[str, Any]) -> None:
    """getReport answers these in order, then repeats the last."""
    for report in reports[:-1]:
        httpserver.expect_oneshot_request(f"{REPORTS}/R1").respond_with_json(report)
    httpserver.expect_request(f"{REPORTS}/R1").respond_with_json(reports[-1])


def test_create_report_sends_amazons_specification(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    httpserver.expect_request(REPORTS, method="POST").respond_with_json(
        {"reportId": "ID323"}, status=202
    )
    seller = make_seller(httpserver)
    report_id = seller.client.create_report(
        INVOICING,
        [DE],
        data_start_time=datetime(2026, 11, 1, 1, 30, tzinfo=timezone(timedelta(hours=1))),
        data_end_time=datetime(2026, 11, 20, tzinfo=UTC),
        report_options={"ShowSalesChannel": "true"},
    )
    assert report_id == "ID323"
    (request, _) = httpserver.log[-1]
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.get_data()) == {
        "reportType": INVOICING,
        "marketplaceIds": [DE],
        "dataStartTime": "2026-11-01T00:30:00Z",
        "dataEndTime": "2026-11-20T00:00:00Z",
        "reportOptions": {"ShowSalesChannel": "true"},
    }


def test_naive_times_are_refused(httpserver: HTTPServer) -> None:
    with pytest.raises(ValueError, match="timezone"):
        make_seller(httpserver).client.create_report(
            INVOICING, [DE], data_start_time=datetime(2026, 11, 1)
        )


def test_wait_for_report_polls_with_growing_intervals_until_done(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    serve_statuses(
        httpserver,
        report_json("IN_QUEUE"),
        report_json("IN_PROGRESS"),
        report_json("IN_PROGRESS"),
        report_json("IN_PROGRESS"),
        report_json("DONE", reportDocumentId="amzn1.spdoc.1.4.eu.D1"),
    )
    seller = make_seller(httpserver)
    seen: list[str] = []
    report = seller.client.wait_for_report(
        "R1",
        poll_interval=15,
        max_interval=40,
        on_status=lambda r: seen.append(r.processing_status),
    )
    assert seen == ["IN_QUEUE", "IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS", "DONE"]
    assert seller.clock.sleeps == [15.0, 22.5, 33.75, 40.0]
    assert report == Report(
        report_id="R1",
        report_type=ALL_ORDERS,
        processing_status="DONE",
        report_document_id="amzn1.spdoc.1.4.eu.D1",
        data_start_time=datetime(2026, 11, 1, tzinfo=UTC),
        data_end_time=datetime(2026, 11, 20, tzinfo=UTC),
        created_time=datetime(2026, 11, 20, 10, 0, 0, 123000, tzinfo=UTC),
        marketplace_ids=(DE,),
    )


def test_a_tick_runs_every_second_of_a_wait(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    serve_statuses(httpserver, report_json("IN_PROGRESS"), report_json("DONE"))
    seller = make_seller(httpserver)
    ticks: list[str] = []
    seller.client.wait_for_report("R1", poll_interval=3.5, tick=lambda: ticks.append("tick"))
    assert seller.clock.sleeps == [1.0, 1.0, 1.0, 0.5]  # the 3.5 s wait in slices
    assert len(ticks) == 4


def test_what_a_tick_raises_ends_the_wait_at_once(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    serve_statuses(httpserver, report_json("IN_PROGRESS"))
    seller = make_seller(httpserver)

    class Stop(Exception):
        pass

    def tick() -> None:
        if sum(seller.clock.sleeps) >= 2:  # "stop" pressed two seconds into the wait
            raise Stop

    with pytest.raises(Stop):
        seller.client.wait_for_report("R1", poll_interval=60, tick=tick)
    assert seller.clock.sleeps == [1.0, 1.0]  # not 60 s
    assert seller.client.calls["getReport"] == 1


def test_cancelled_report_is_returned_as_no_data(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    serve_statuses(httpserver, report_json("IN_PROGRESS"), report_json("CANCELLED"))
    report = make_seller(httpserver).client.wait_for_report("R1")
    assert report.processing_status == "CANCELLED"
    assert report.report_document_id is None


def test_report_still_running_at_the_deadline_times_out(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    serve_statuses(httpserver, report_json("IN_PROGRESS"))
    seller = make_seller(httpserver)
    with pytest.raises(ReportTimeoutError) as caught:
        seller.client.wait_for_report("R1", poll_interval=15, max_interval=60, deadline=100)
    assert sum(seller.clock.sleeps) == pytest.approx(100)
    assert seller.clock.sleeps[-1] == pytest.approx(100 - 15 - 22.5 - 33.75)
    assert caught.value.code == "IN_PROGRESS"
    assert caught.value.retryable
    assert seller.client.calls["getReport"] == len(seller.clock.sleeps) + 1


def test_fatal_report_raises_with_its_error_document(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    doc_id = "amzn1.spdoc.1.4.eu.ERR"
    serve_statuses(httpserver, report_json("FATAL", reportDocumentId=doc_id))
    error_text = json.dumps({"errorDetails": "Report generation failed: date range too long"})
    url = httpserver.url_for("/s3/error") + "?X-Amz-Signature=x"
    httpserver.expect_request(f"/reports/2021-06-30/documents/{doc_id}").respond_with_json(
        {"reportDocumentId": doc_id, "url": url, "compressionAlgorithm": "GZIP"}
    )
    httpserver.expect_request("/s3/error").respond_with_data(
        gzip.compress(error_text.encode()), content_type="application/json"
    )
    seller = make_seller(httpserver)
    with pytest.raises(ReportFatalError) as caught:
        seller.client.wait_for_report("R1")
    exc = caught.value
    assert exc.document_text == error_text
    assert "date range too long" in str(exc)
    assert (exc.report_id, exc.code) == ("R1", "FATAL")
    assert seller.client.calls["download"] == 1


def test_fatal_restricted_report_reads_its_error_document_with_an_rdt(
    httpserver: HTTPServer,
) -> None:
    expect_token(httpserver)
    doc_id = "amzn1.spdoc.1.4.eu.ERR2"
    serve_statuses(httpserver, report_json("FATAL", INVOICING, reportDocumentId=doc_id))
    httpserver.expect_request(RDT_PATH, method="POST").respond_with_json(
        {"payload": {"restrictedDataToken": "Atz.sprdt|made-up", "expiresIn": 3600}}
    )
    url = httpserver.url_for("/s3/error2")
    httpserver.expect_request(
        f"/reports/2021-06-30/documents/{doc_id}",
        headers={"x-amz-access-token": "Atz.sprdt|made-up"},
    ).respond_with_json({"reportDocumentId": doc_id, "url": url})
    httpserver.expect_request("/s3/error2").respond_with_data("x" * 5000 + "\n")
    seller = make_seller(httpserver)
    with pytest.raises(ReportFatalError) as caught:
        seller.client.wait_for_report("R1")
    assert caught.value.document_text == "x" * 2000
    assert seller.client.calls["createRestrictedDataToken"] == 1


def test_fatal_report_without_document(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    serve_statuses(httpserver, report_json("FATAL"))
    with pytest.raises(ReportFatalError, match="no error document") as caught:
        make_seller(httpserver).client.wait_for_report("R1")
    assert caught.value.document_text is None


def test_fatal_report_whose_error_document_is_gone(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    doc_id = "amzn1.spdoc.1.4.eu.GONE"
    serve_statuses(httpserver, report_json("FATAL", reportDocumentId=doc_id))
    httpserver.expect_request(f"/reports/2021-06-30/documents/{doc_id}").respond_with_json(
        {"errors": [{"code": "NotFound", "message": "not found"}]}, status=404
    )
    with pytest.raises(ReportFatalError) as caught:
        make_seller(httpserver).client.wait_for_report("R1")
    assert caught.value.document_text is None


def test_rdt_is_requested_for_exactly_one_resource(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    httpserver.expect_request(RDT_PATH, method="POST").respond_with_json(
        {"restrictedDataToken": "Atz.sprdt|made-up", "expiresIn": 3600}
    )
    token = make_seller(httpserver).client.create_restricted_data_token("/orders/v0/orders/1")
    assert token.reveal() == "Atz.sprdt|made-up"
    assert "made-up" not in repr(token)
    (request, _) = httpserver.log[-1]
    assert json.loads(request.get_data()) == {
        "restrictedResources": [{"method": "GET", "path": "/orders/v0/orders/1"}]
    }


def test_rdt_refused_for_missing_role(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    httpserver.expect_request(RDT_PATH, method="POST").respond_with_json(
        {
            "errors": [
                {
                    "code": "InvalidInput",
                    "message": "Application does not have access to one or more requested "
                    "data elements: [buyerTaxInformation]",
                }
            ]
        },
        status=400,
    )
    with pytest.raises(BadRequestError, match="buyerTaxInformation") as caught:
        make_seller(httpserver).client.create_restricted_data_token("/x")
    assert caught.value.code == "InvalidInput"


# ------------------------------------------------------------------------ Orders v2026-01-01


def test_search_orders_follows_the_next_token(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    httpserver.expect_oneshot_request(ORDERS).respond_with_json(
        {"orders": [{"orderId": "302-1"}, {"orderId": "302-2"}], "pagination": {"nextToken": "N2"}}
    )
    httpserver.expect_oneshot_request(ORDERS).respond_with_json(
        {"orders": [{"orderId": "302-3"}], "createdBefore": "2026-11-20T00:00:00Z"}
    )
    seller = make_seller(httpserver)
    orders = seller.client.search_orders(
        marketplace_ids=[DE, "A13V1IB3VIYZZH"],
        last_updated_after=datetime(2026, 11, 1, tzinfo=UTC),
        fulfillment_statuses=["UNSHIPPED", "PARTIALLY_SHIPPED"],
        included_data=["BUYER", "RECIPIENT"],
        max_results_per_page=2,
    )
    assert [order["orderId"] for order in orders] == ["302-1", "302-2", "302-3"]
    first, second = (request.args.to_dict() for request, _ in httpserver.log[1:])
    assert first == {
        "marketplaceIds": f"{DE},A13V1IB3VIYZZH",
        "lastUpdatedAfter": "2026-11-01T00:00:00Z",
        "fulfillmentStatuses": "UNSHIPPED,PARTIALLY_SHIPPED",
        "includedData": "BUYER,RECIPIENT",
        "maxResultsPerPage": "2",
    }
    assert second == {**first, "paginationToken": "N2"}
    assert seller.client.calls["searchOrders"] == 2


def test_search_orders_needs_exactly_one_start(httpserver: HTTPServer) -> None:
    client = make_seller(httpserver).client
    now = datetime.now(UTC)
    with pytest.raises(ValueError, match="exactly one"):
        client.search_orders(marketplace_ids=[DE])
    with pytest.raises(ValueError, match="exactly one"):
        client.search_orders(marketplace_ids=[DE], created_after=now, last_updated_after=now)
    assert client.calls == {}


def test_get_order_returns_amazons_order(httpserver: HTTPServer) -> None:
    expect_token(httpserver)
    httpserver.expect_request(f"{ORDERS}/302-1234567-1234567").respond_with_json(
        {"order": {"orderId": "302-1234567-1234567", "salesChannel": {"marketplaceId": DE}}}
    )
    order = make_seller(httpserver).client.get_order(
        "302-1234567-1234567", included_data=["FULFILLMENT"]
    )
    assert order["orderId"] == "302-1234567-1234567"
    (request, _) = httpserver.log[-1]
    assert request.args["includedData"] == "FULFILLMENT"
