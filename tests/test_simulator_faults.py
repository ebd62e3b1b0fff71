"""Every fault of the simulator, switched on through the admin API, and what it answers."""

from __future__ import annotations

import gzip
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from helpers.feeds import FeedClient, charged, invoices_at_amazon, options, order_in
from helpers.sim import ALL_ORDERS, DE, INVOICING, SHIPPING, TIMEOUT, SimClient, add_fault

from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.faults import (
    FAULT_PARAMS,
    FaultError,
    FaultStore,
    parse_cli_fault,
)
from hyreka_plugin_amazon.simulator.ordermodel import AmazonState

START = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
PARTICIPATIONS = "/sellers/v1/marketplaceParticipations"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(orders=60, seed=11, time_scale=0, start_time=START) as running:
        yield running


@pytest.fixture
def client(sim: Simulator) -> SimClient:
    return SimClient(sim)


def _error(response: requests.Response) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["errors"][0]
    return error


def _download(client: SimClient, report_type: str) -> requests.Response:
    report = client.wait_report(client.create_report(report_type, [DE]))
    assert report["processingStatus"] == "DONE", report
    document = client.document(report["reportDocumentId"], report_type != ALL_ORDERS)
    return requests.get(document["url"], timeout=TIMEOUT)


# ---------------------------------------------------------------------------------------------
# Login with Amazon and request faults


def test_lwa_invalid_client(sim: Simulator, client: SimClient) -> None:
    add_fault(sim, "lwa_invalid_client")
    refused = client.lwa()
    assert refused.status_code == 401
    assert refused.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed",
    }
    assert client.lwa().status_code == 200  # one-shot by default


def test_lwa_invalid_grant(sim: Simulator, client: SimClient) -> None:
    add_fault(sim, "lwa_invalid_grant")
    refused = client.lwa()
    assert refused.status_code == 400
    assert refused.json()["error"] == "invalid_grant"


def test_token_expired_mid_sync(sim: Simulator, client: SimClient) -> None:
    old = client.token
    assert client.call("GET", PARTICIPATIONS).status_code == 200
    add_fault(sim, "token_expired")
    refused = client.call("GET", PARTICIPATIONS)
    assert refused.status_code == 403
    assert _error(refused)["code"] == "Unauthorized"
    assert client.call("GET", PARTICIPATIONS, token=old).status_code == 403  # stays expired
    fresh = client.lwa().json()["access_token"]
    assert client.call("GET", PARTICIPATIONS, token=fresh).status_code == 200


def test_throttle_burst(sim: Simulator, client: SimClient) -> None:
    report_id = client.create_report(ALL_ORDERS)
    add_fault(sim, "throttle", count=3, operation="getReport")
    path = f"/reports/2021-06-30/reports/{report_id}"
    for _ in range(3):
        throttled = client.call("GET", path)
        assert throttled.status_code == 429
        assert _error(throttled) == {
            "code": "QuotaExceeded",
            "message": "You exceeded your quota for the requested resource.",
            "details": "",
        }
        assert "x-amzn-RateLimit-Limit" not in throttled.headers
    assert client.call("GET", PARTICIPATIONS).status_code == 200  # other operations unharmed
    ok = client.call("GET", path)
    assert ok.status_code == 200
    assert ok.headers["x-amzn-RateLimit-Limit"] == "2"


def test_internal_error(sim: Simulator, client: SimClient) -> None:
    add_fault(sim, "internal_error")
    failed = client.call("GET", PARTICIPATIONS)
    assert failed.status_code == 500
    assert _error(failed) == {
        "code": "InternalFailure",
        "message": "We encountered an internal error. Please try again.",
        "details": "",
    }
    assert client.call("GET", PARTICIPATIONS).status_code == 200


def test_unavailable(sim: Simulator, client: SimClient) -> None:
    add_fault(sim, "unavailable", operation="createReport")
    failed = client.call(
        "POST",
        "/reports/2021-06-30/reports",
        json={"reportType": ALL_ORDERS, "marketplaceIds": [DE]},
    )
    assert failed.status_code == 503
    assert _error(failed)["code"] == "ServiceUnavailable"


def test_invalid_input(sim: Simulator, client: SimClient) -> None:
    add_fault(sim, "invalid_input", operation="getMarketplaceParticipations")
    refused = client.call("GET", PARTICIPATIONS)
    assert refused.status_code == 400
    assert _error(refused) == {"code": "InvalidInput", "message": "Invalid Input", "details": ""}
    assert refused.headers["x-amzn-RateLimit-Limit"] == "0.016"  # Amazon sends it on 400
    assert client.call("GET", PARTICIPATIONS).status_code == 200


def test_not_found(sim: Simulator, client: SimClient) -> None:
    add_fault(sim, "not_found", operation="searchOrders", count=2)
    search = "/orders/2026-01-01/orders"
    params = {"createdAfter": "2026-08-01T00:00:00Z"}
    for _ in range(2):
        missing = client.call("GET", search, params=params)
        assert missing.status_code == 404
        assert _error(missing)["code"] == "NotFound"
        assert missing.headers["x-amzn-RateLimit-Limit"] == "0.0056"
    assert client.call("GET", search, params=params).status_code == 200


def test_drop_connection(sim: Simulator, client: SimClient) -> None:
    client.token  # noqa: B018 (fetch the token before the fault)
    add_fault(sim, "drop_connection")
    with pytest.raises(requests.ConnectionError):
        client.call("GET", PARTICIPATIONS)
    assert client.call("GET", PARTICIPATIONS).status_code == 200


def _open_mfn(sim: Simulator) -> dict[str, Any]:
    return next(
        o
        for o in sim.ground_truth(packages=True)
        if o["fulfillment_channel"] == "MFN" and o["status"] == "open" and not o["packages"]
    )


def _confirmation(order: dict[str, Any], tracking: str) -> dict[str, Any]:
    return {
        "marketplaceId": order["marketplace_id"],
        "packageDetail": {
            "packageReferenceId": "1",
            "carrierCode": "DHL",
            "trackingNumber": tracking,
            "shipDate": "2026-08-03T10:00:00Z",
            "orderItems": [
                {"orderItemId": line["order_item_id"], "quantity": line["quantity"]}
                for line in order["lines"]
            ],
        },
    }


def _packages(sim: Simulator, order_id: str) -> list[str]:
    order = next(o for o in sim.ground_truth(packages=True) if o["amazon_order_id"] == order_id)
    return [p["tracking_number"] for p in order["packages"]]


def test_lost_response_processes_the_request_and_drops_the_answer(
    sim: Simulator, client: SimClient
) -> None:
    order = _open_mfn(sim)
    path = f"/orders/v0/orders/{order['amazon_order_id']}/shipmentConfirmation"
    client.token  # noqa: B018 (fetch the token before the fault)
    add_fault(sim, "lost_response", operation="confirmShipment")
    with pytest.raises(requests.ConnectionError):
        client.call("POST", path, json=_confirmation(order, "0034043416"))
    assert _packages(sim, order["amazon_order_id"]) == ["0034043416"]  # Amazon has it
    # an answer Amazon refuses is no accepted request: the fault waits for one
    add_fault(sim, "lost_response", operation="confirmShipment", status=500)
    refused = client.call("POST", path, json={"marketplaceId": order["marketplace_id"]})
    assert refused.status_code == 400
    error = client.call("POST", path, json=_confirmation(order, "0034043417"))
    assert error.status_code == 500
    assert _error(error)["code"] == "InternalFailure"
    assert _packages(sim, order["amazon_order_id"]) == ["0034043417"]  # the same package 1
    assert client.call("GET", PARTICIPATIONS).status_code == 200  # each fired once


def test_lost_response_only_for_the_named_operation_and_after_its_delay(
    sim: Simulator, client: SimClient
) -> None:
    client.token  # noqa: B018
    add_fault(sim, "lost_response", operation="getMarketplaceParticipations", delay=0.3)
    assert client.lwa().status_code == 200
    started = time.monotonic()
    with pytest.raises(requests.ConnectionError):
        client.call("GET", PARTICIPATIONS)
    assert time.monotonic() - started >= 0.3
    assert client.call("GET", PARTICIPATIONS).status_code == 200


def test_slow_response_runs_into_the_read_timeout(sim: Simulator, client: SimClient) -> None:
    client.token  # noqa: B018
    add_fault(sim, "slow_response", delay=0.5)
    with pytest.raises(requests.ReadTimeout):
        client.session.get(
            sim.url + PARTICIPATIONS, headers={"x-amz-access-token": client.token}, timeout=0.1
        )


def test_request_faults_reach_lwa_and_download_only_when_named(
    sim: Simulator, client: SimClient
) -> None:
    add_fault(sim, "internal_error", rate=1.0)  # every SP-API call, until cleared
    assert client.lwa().status_code == 200
    assert client.call("GET", PARTICIPATIONS).status_code == 500
    requests.delete(f"{sim.url}/_simulator/faults", timeout=TIMEOUT)
    add_fault(sim, "unavailable", operation="lwaToken")
    assert client.lwa().status_code == 503


# ---------------------------------------------------------------------------------------------
# Report faults


def test_report_fatal_with_error_document(sim: Simulator, client: SimClient) -> None:
    add_fault(sim, "report_fatal", message="Die Berichtsverarbeitung ist fehlgeschlagen.")
    report = client.wait_report(client.create_report(INVOICING, [DE]))
    assert report["processingStatus"] == "FATAL"
    document = client.document(report["reportDocumentId"])
    body = gzip.decompress(requests.get(document["url"], timeout=TIMEOUT).content)
    assert body.decode("utf-8") == "Die Berichtsverarbeitung ist fehlgeschlagen.\n"


def test_report_cancelled(sim: Simulator, client: SimClient) -> None:
    add_fault(sim, "report_cancelled")
    report = client.wait_report(client.create_report(INVOICING, [DE]))
    assert report["processingStatus"] == "CANCELLED"
    assert "reportDocumentId" not in report


def test_order_reports_not_enabled(sim: Simulator, client: SimClient) -> None:
    add_fault(sim, "order_reports_not_enabled", rate=1.0)
    all_orders = client.wait_report(client.create_report(ALL_ORDERS, [DE]))
    assert all_orders["processingStatus"] == "DONE"
    for report_type in (INVOICING, SHIPPING):
        report = client.wait_report(client.create_report(report_type, [DE]))
        assert report["processingStatus"] == "FATAL"
        assert "reportDocumentId" not in report


def test_billing_columns_disabled(sim: Simulator, client: SimClient) -> None:
    add_fault(sim, "billing_columns_disabled")
    header, rows = client.fetch(INVOICING, marketplaces=[DE]).table()
    assert not [c for c in header if c.startswith("bill-")]
    assert "buyer-name" in header
    assert rows
    header, _ = client.fetch(INVOICING, marketplaces=[DE]).table()
    assert "bill-address-1" in header  # one-shot


@pytest.mark.parametrize("stage", ["create", "rdt", "document"])
def test_restricted_role_missing(sim: Simulator, client: SimClient, stage: str) -> None:
    report_id = client.create_report(INVOICING, [DE]) if stage != "create" else None
    add_fault(sim, "restricted_role_missing", on=stage)
    if stage == "create":
        refused = client.call(
            "POST",
            "/reports/2021-06-30/reports",
            json={"reportType": INVOICING, "marketplaceIds": [DE]},
        )
        assert refused.status_code == 403
        assert _error(refused) == {
            "code": "Unauthorized",
            "message": "Access to the resource is forbidden",
            "details": "",
        }
        return
    assert report_id is not None
    report = client.wait_report(report_id)
    path = f"/reports/2021-06-30/documents/{report['reportDocumentId']}"
    body = {"restrictedResources": [{"method": "GET", "path": path}]}
    rdt = client.call("POST", "/tokens/2021-03-01/restrictedDataToken", json=body)
    if stage == "rdt":  # Amazon's answer: 400 InvalidInput, not 403
        assert rdt.status_code == 400
        assert _error(rdt) == {
            "code": "InvalidInput",
            "message": "Application do not have access to some or all requested resource",
            "details": "",
        }
        return
    refused = client.call("GET", path, token=rdt.json()["restrictedDataToken"])
    assert refused.status_code == 403
    assert "restricted role" in _error(refused)["details"]


def test_header_only(sim: Simulator, client: SimClient) -> None:
    add_fault(sim, "header_only")
    download = client.fetch(INVOICING, marketplaces=[DE])
    assert download.text.count("\n") == 1
    assert download.text.startswith("order-id\torder-item-id\t")


def test_malformed_rows(sim: Simulator, client: SimClient) -> None:
    add_fault(sim, "malformed_rows")
    raw = gzip.decompress(_download(client, INVOICING).content)
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw[3:].decode("cp1252")
    lines = text.split("\r\n")
    assert lines[-1] == ""
    header = lines[0].split("\t")
    priced = [dict(zip(header, line.split("\t"), strict=False)) for line in lines[1:5]]
    assert priced[0]["order-id"] == ""
    assert "," in priced[1]["item-price"]
    assert "." not in priced[1]["item-price"]
    assert priced[2]["purchase-date"][2] == "."
    assert "T" not in priced[2]["purchase-date"]
    assert lines[4].count("\t") == len(header)  # one field too many


def test_malformed_rows_of_chosen_kinds(sim: Simulator, client: SimClient) -> None:
    add_fault(sim, "malformed_rows", kinds="bad_date")
    raw = gzip.decompress(_download(client, ALL_ORDERS).content)
    lines = raw.decode("cp1252").split("\n")
    header = lines[0].split("\t")
    first = dict(zip(header, lines[1].split("\t"), strict=True))
    assert "T" not in first["purchase-date"]
    assert first["amazon-order-id"]
    assert "\r" not in raw.decode("cp1252")


# ---------------------------------------------------------------------------------------------
# Download faults


def test_double_gzip(sim: Simulator, client: SimClient) -> None:
    add_fault(sim, "double_gzip")
    download = _download(client, INVOICING)
    assert download.headers["Content-Encoding"] == "gzip"
    # requests undid the transport layer; the GZIP document is still compressed once
    assert gzip.decompress(download.content).decode("cp1252").startswith("order-id\t")


def test_truncated_gzip(sim: Simulator, client: SimClient) -> None:
    add_fault(sim, "truncated_gzip")
    with pytest.raises(EOFError):
        gzip.decompress(_download(client, INVOICING).content)


def test_url_expired(sim: Simulator, client: SimClient) -> None:
    add_fault(sim, "url_expired")
    expired = _download(client, INVOICING)
    assert expired.status_code == 403
    assert "<Message>Request has expired</Message>" in expired.text


def test_charset_missing(sim: Simulator, client: SimClient) -> None:
    add_fault(sim, "charset_missing")
    assert _download(client, INVOICING).headers["Content-Type"] == "text/plain"


def test_charset_wrong(sim: Simulator, client: SimClient) -> None:
    add_fault(sim, "charset_wrong")
    download = _download(client, INVOICING)
    assert download.headers["Content-Type"] == "text/plain; charset=UTF-8"
    with pytest.raises(UnicodeDecodeError):
        gzip.decompress(download.content).decode("utf-8")


# ---------------------------------------------------------------------------------------------
# The fault admin API


def test_fault_admin_api(sim: Simulator, client: SimClient) -> None:
    url = f"{sim.url}/_simulator/faults"
    first = add_fault(sim, "throttle", count=2, operation="getReport")
    add_fault(sim, "internal_error", rate=0.5, seller_id=sim.default_seller.seller_id)
    listed = requests.get(url, timeout=TIMEOUT).json()["faults"]
    assert [(f["name"], f["count"]) for f in listed] == [("throttle", 2), ("internal_error", None)]
    assert requests.delete(f"{url}/{first['id']}", timeout=TIMEOUT).json() == {"removed": 1}
    assert requests.delete(f"{url}/{first['id']}", timeout=TIMEOUT).status_code == 404
    outcomes = [client.call("GET", PARTICIPATIONS).status_code for _ in range(14)]
    assert 500 in outcomes
    assert 200 in outcomes
    assert requests.delete(url, timeout=TIMEOUT).json() == {"removed": 1}
    assert requests.get(url, timeout=TIMEOUT).json() == {"faults": []}


@pytest.mark.parametrize(
    "spec",
    [
        {"name": "no_such_fault"},
        {"name": "throttle", "delay": 3},
        {"name": "throttle", "rate": 2},
        {"name": "throttle", "count": 0},
        {"name": "restricted_role_missing", "on": "download"},
        {"name": "malformed_rows", "kinds": "bad_date+emoji"},
        {"name": "slow_response", "delay": "soon"},
        {"name": "lost_response", "status": 404},
        {"name": "lost_response", "delay": 500},
    ],
)
def test_bad_fault_specifications_are_refused(sim: Simulator, spec: dict[str, Any]) -> None:
    response = requests.post(f"{sim.url}/_simulator/faults", json=spec, timeout=TIMEOUT)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "InvalidInput"


def test_invoice_role_missing_refuses_create_feed_with_403(sim: Simulator) -> None:
    client = FeedClient(sim)
    order = order_in(sim, AmazonState.SHIPPED)
    add_fault(sim, "invoice_role_missing")
    document = client.feed_document()
    opts = options(order, "R-1", charged(sim, order))
    refused = client.create_feed(document["feedDocumentId"], opts, order.marketplace.id)
    assert (refused.status_code, _error(refused)["code"]) == (403, "Unauthorized")
    assert client.upload(order, opts).errors == []  # once: the next feed goes through


def test_vcs_account_refuses_the_invoice_in_the_report(sim: Simulator) -> None:
    client = FeedClient(sim)
    order = order_in(sim, AmazonState.SHIPPED)
    add_fault(sim, "vcs_account", count=2)
    opts = options(order, "R-1", charged(sim, order))
    for _ in range(2):
        [error] = client.upload(order, opts).errors
        assert "Amazon will generate the invoice" in error
    assert invoices_at_amazon(sim) == []


def test_feed_fatal_ends_the_feed_fatal_with_its_message(sim: Simulator) -> None:
    client = FeedClient(sim)
    order = order_in(sim, AmazonState.SHIPPED)
    add_fault(sim, "feed_fatal", message="Try again.")
    verdict = client.upload(order, options(order, "R-1", charged(sim, order)))
    assert (verdict.feed["processingStatus"], verdict.errors) == ("FATAL", ["Try again."])


def test_lost_response_on_create_feed_keeps_the_feed(sim: Simulator) -> None:
    client = FeedClient(sim)
    order = order_in(sim, AmazonState.SHIPPED)
    add_fault(sim, "lost_response", operation="createFeed")
    document = client.feed_document()
    client.put(document["url"], b"%PDF-1.7 x")
    opts = options(order, "R-1", charged(sim, order))
    with pytest.raises(requests.ConnectionError):
        client.create_feed(document["feedDocumentId"], opts, order.marketplace.id)
    sim.clock.advance(5)
    assert [i["invoice_number"] for i in invoices_at_amazon(sim)] == ["R-1"]


def test_cli_fault_syntax() -> None:
    assert parse_cli_fault("throttle:count=3,operation=getReport") == {
        "name": "throttle",
        "count": 3,
        "operation": "getReport",
    }
    slow = parse_cli_fault("slow_response:delay=1.5,rate=0.2")
    assert slow == {"name": "slow_response", "delay": 1.5, "rate": 0.2}
    kinds = parse_cli_fault("malformed_rows:kinds=crlf+bom")
    assert kinds == {"name": "malformed_rows", "kinds": "crlf+bom"}
    with pytest.raises(FaultError, match="key=value"):
        parse_cli_fault("throttle:count")


def test_every_fault_has_a_test_here() -> None:
    tests = [name for name in globals() if name.startswith("test_")]
    untested = [f for f in FAULT_PARAMS if not any(t.startswith(f"test_{f}") for t in tests)]
    assert not untested


@pytest.mark.parametrize("name", sorted(FAULT_PARAMS))
def test_every_fault_can_be_switched_on_from_the_command_line(name: str) -> None:
    store = FaultStore()
    once = store.add(parse_cli_fault(f"{name}:count=2,seller_id=A1"))
    assert (once.count, once.rate, once.seller_id) == (2, 1.0, "A1")
    sometimes = store.add(parse_cli_fault(f"{name}:rate=0.25"))
    assert (sometimes.count, sometimes.rate) == (None, 0.25)
    assert [f["name"] for f in store.active()] == [name, name]


def test_faults_from_the_constructor() -> None:
    with Simulator(orders=5, time_scale=0, faults=[{"name": "lwa_invalid_grant"}]) as sim:
        assert SimClient(sim).lwa().status_code == 400


def test_authorization_denied_sends_the_browser_back_with_access_denied() -> None:
    with Simulator(orders=1, time_scale=0, faults=[{"name": "authorization_denied"}]) as sim:
        query = {
            "application_id": sim.application_id,
            "state": "st",
            "redirect_uri": "http://127.0.0.1:9/callback",
        }
        first = requests.get(sim.consent_url(), params=query, allow_redirects=False, timeout=5)
        back = parse_qs(urlsplit(first.headers["Location"]).query)
        assert (back["error"], back["state"]) == (["access_denied"], ["st"])
        assert "spapi_oauth_code" not in back
        shown = requests.get(sim.consent_url(), params=query, allow_redirects=False, timeout=5)
        assert shown.status_code == 200  # the fault fired once: the page is back
