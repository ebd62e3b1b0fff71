"""The SP-API simulator over real HTTP: LWA, Sellers, the report flow, ground truth, admin."""

from __future__ import annotations

import argparse
import gzip
import re
import shlex
import signal
import subprocess
import sys
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
import requests
from helpers.shared import REAL_REPORTS, in_ci, require
from helpers.sim import (
    ALL_ORDERS,
    DE,
    EU5,
    FR,
    INVOICING,
    LONG_AGO,
    SHIPPING,
    TIMEOUT,
    SimClient,
)

from hyreka_plugin_amazon.contract import Address, Order, OrderLine, OrderStatus
from hyreka_plugin_amazon.simulator import SellerCredentials, SimClock, Simulator
from hyreka_plugin_amazon.simulator.cli import add_arguments, run
from hyreka_plugin_amazon.spapi.regions import marketplace_by_sales_channel

START = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
REAL_ALL_ORDERS = REAL_REPORTS / "eu-allorders-nbneorigin-2.txt"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(orders=120, seed=7, time_scale=0, start_time=START) as running:
        yield running


@pytest.fixture
def client(sim: Simulator) -> SimClient:
    return SimClient(sim)


# ---------------------------------------------------------------------------------------------
# Login with Amazon


def test_token_exchange_form_encoded(client: SimClient) -> None:
    response = client.lwa()
    assert response.status_code == 200
    body = response.json()
    assert body["access_token"].startswith("Atza|")
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 3600
    assert body["refresh_token"] == client.creds.refresh_token
    assert response.headers["Cache-Control"] == "no-store"


def test_token_exchange_json(sim: Simulator) -> None:
    creds = sim.credentials
    body = {
        "grant_type": "refresh_token",
        "refresh_token": creds.refresh_token,
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
    }
    response = requests.post(sim.token_url, json=body, timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.json()["access_token"].startswith("Atza|")


@pytest.mark.parametrize(
    ("override", "status", "error", "description"),
    [
        ({"client_secret": "wrong"}, 401, "invalid_client", "Client authentication failed"),
        (
            {"client_id": "amzn1.application-oa2-client.x"},
            401,
            "invalid_client",
            "Client authentication failed",
        ),
        (
            {"refresh_token": "Atzr|revoked"},
            400,
            "invalid_grant",
            "The request has an invalid grant parameter : refresh_token",
        ),
        (
            {"refresh_token": ""},
            400,
            "invalid_request",
            "The request is missing a required parameter : refresh_token",
        ),
        (
            {"grant_type": "password"},
            400,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server",
        ),
    ],
)
def test_token_exchange_errors(
    client: SimClient, override: dict[str, str], status: int, error: str, description: str
) -> None:
    response = client.lwa(**override)
    assert response.status_code == status
    assert response.json() == {"error": error, "error_description": description}


def test_credentials_look_like_amazons_and_hide_the_secrets(sim: Simulator) -> None:
    creds = sim.credentials
    assert isinstance(creds, SellerCredentials)
    assert creds.client_id.startswith("amzn1.application-oa2-client.")
    assert creds.refresh_token.startswith("Atzr|")
    assert creds.client_secret not in repr(creds)
    assert creds.refresh_token not in repr(creds)


# ---------------------------------------------------------------------------------------------
# Access tokens


def test_missing_access_token(sim: Simulator) -> None:
    response = requests.get(f"{sim.url}/sellers/v1/marketplaceParticipations", timeout=TIMEOUT)
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    error = {
        "code": "MissingAuthenticationToken",
        "message": "Access to requested resource is denied.",
    }
    assert response.json() == {"errors": [error]}
    uuid.UUID(response.headers["x-amzn-RequestId"])


def test_invalid_and_expired_access_tokens(sim: Simulator, client: SimClient) -> None:
    expected = {
        "errors": [
            {
                "code": "Unauthorized",
                "message": "Access to requested resource is denied.",
                "details": "The access token you provided is revoked, malformed or invalid.",
            }
        ]
    }
    wall = [1000.0]  # tokens expire in wall time (issue 17); a stand-in wall clock moves it
    sim.tokens.wall = lambda: wall[0]
    path = "/sellers/v1/marketplaceParticipations"
    bad = client.call("GET", path, token="Atza|forged")
    assert (bad.status_code, bad.json()) == (403, expected)
    assert client.call("GET", path).status_code == 200
    wall[0] += 3599
    assert client.call("GET", path).status_code == 200
    wall[0] += 1
    expired = client.call("GET", path)
    assert (expired.status_code, expired.json()) == (403, expected)


def test_unknown_path_answers_like_amazons_gateway(client: SimClient) -> None:
    response = client.call("GET", "/orders/v1/nothing")
    assert response.status_code == 403
    assert response.json()["errors"][0]["code"] == "MissingAuthenticationToken"


def test_date_header_follows_the_simulator_clock(sim: Simulator, client: SimClient) -> None:
    sim.clock.advance(86400)
    response = client.call("GET", "/sellers/v1/marketplaceParticipations")
    assert (
        abs((parsedate_to_datetime(response.headers["Date"]) - sim.clock.now()).total_seconds()) < 2
    )


# ---------------------------------------------------------------------------------------------
# Sellers


def test_marketplace_participations(client: SimClient) -> None:
    response = client.call("GET", "/sellers/v1/marketplaceParticipations")
    assert response.status_code == 200
    payload = response.json()["payload"]
    assert [p["marketplace"]["id"] for p in payload] == EU5
    germany = payload[0]
    assert germany["marketplace"] == {
        "id": DE,
        "name": "Amazon.de",
        "countryCode": "DE",
        "defaultCurrencyCode": "EUR",
        "defaultLanguageCode": "de_DE",
        "domainName": "www.amazon.de",
    }
    assert germany["participation"] == {"isParticipating": True, "hasSuspendedListings": False}
    uk = payload[4]["marketplace"]
    assert (uk["countryCode"], uk["defaultCurrencyCode"]) == ("GB", "GBP")


# ---------------------------------------------------------------------------------------------
# Reports


def test_report_flow_end_to_end(sim: Simulator, client: SimClient) -> None:
    report_id = client.create_report(INVOICING, [DE, FR])
    path = f"/reports/2021-06-30/reports/{report_id}"
    queued = client.call("GET", path).json()
    assert queued["processingStatus"] == "IN_QUEUE"
    assert queued["dataStartTime"] == "2000-01-01T00:00:00+00:00"
    assert queued["dataEndTime"] == queued["createdTime"] == "2026-08-03T12:00:00+00:00"
    assert queued["marketplaceIds"] == [DE, FR]
    assert "reportDocumentId" not in queued
    sim.clock.advance(1)
    assert client.call("GET", path).json()["processingStatus"] == "IN_PROGRESS"
    sim.clock.advance(1)
    done = client.call("GET", path).json()
    assert done["processingStatus"] == "DONE"
    assert done["processingEndTime"] == "2026-08-03T12:00:02+00:00"
    document_path = f"/reports/2021-06-30/documents/{done['reportDocumentId']}"

    rdt = client.rdt(document_path)
    assert rdt.startswith("Atz.sprdt|")
    document = client.call("GET", document_path, token=rdt).json()
    assert document["reportDocumentId"] == done["reportDocumentId"]
    assert document["compressionAlgorithm"] == "GZIP"

    download = requests.get(document["url"], timeout=TIMEOUT)  # no SP-API headers
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "text/plain; charset=Cp1252"
    assert "Content-Encoding" not in download.headers
    text = gzip.decompress(download.content).decode("cp1252")
    lines = text.split("\n")
    assert lines[0].split("\t")[:4] == [
        "order-id",
        "order-item-id",
        "purchase-date",
        "payments-date",
    ]
    for column in (
        "bill-address-1",
        "bill-country",
        "buyer-company-name",
        "is-business-order",
        "sales-channel",
        "delivery-Instructions",
        "item-promotion-id",
    ):
        assert column in lines[0].split("\t")
    assert lines[-1] == ""
    assert all(line.count("\t") == lines[0].count("\t") for line in lines[1:-1])
    assert re.search("[äöüßÄÖÜéèàçñ]", text), "EU names and streets carry accents"


def test_restricted_document_needs_an_rdt_for_exactly_its_path(client: SimClient) -> None:
    report = client.wait_report(client.create_report(SHIPPING, [DE]))
    document_path = f"/reports/2021-06-30/documents/{report['reportDocumentId']}"
    assert client.call("GET", document_path).status_code == 403  # the plain access token
    another = client.wait_report(client.create_report(SHIPPING, [DE]))
    other = client.rdt(f"/reports/2021-06-30/documents/{another['reportDocumentId']}")
    refused = client.call("GET", document_path, token=other)
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "Unauthorized"
    rdt = client.rdt(document_path)
    assert client.call("GET", document_path, token=rdt).status_code == 200
    # an RDT opens only its resources, not other operations
    assert client.call("GET", "/sellers/v1/marketplaceParticipations", token=rdt).status_code == 403


def test_restricted_data_token_expires_after_an_hour(sim: Simulator, client: SimClient) -> None:
    report = client.wait_report(client.create_report(SHIPPING, [DE]))
    document_path = f"/reports/2021-06-30/documents/{report['reportDocumentId']}"
    wall = [1000.0]  # RDTs expire in wall time (issue 17); a stand-in wall clock moves it
    sim.tokens.wall = lambda: wall[0]
    rdt = client.rdt(document_path)
    wall[0] += 3599
    assert client.call("GET", document_path, token=rdt).status_code == 200
    wall[0] += 1
    expired = client.call("GET", document_path, token=rdt)
    assert expired.status_code == 403
    assert expired.json()["errors"][0]["code"] == "Unauthorized"


def test_all_orders_document_is_not_restricted(client: SimClient) -> None:
    report = client.wait_report(client.create_report(ALL_ORDERS))
    response = client.call("GET", f"/reports/2021-06-30/documents/{report['reportDocumentId']}")
    assert response.status_code == 200


def test_download_url_expires_after_five_minutes(sim: Simulator, client: SimClient) -> None:
    report = client.wait_report(client.create_report(ALL_ORDERS))
    wall = [1000.0]  # URLs expire in wall time (issue 17); a stand-in wall clock moves it
    sim.reports.wall = lambda: wall[0]
    url = client.document(report["reportDocumentId"], restricted=False)["url"]
    wall[0] += 299
    assert requests.get(url, timeout=TIMEOUT).status_code == 200
    wall[0] += 1
    expired = requests.get(url, timeout=TIMEOUT)
    assert expired.status_code == 403
    assert expired.headers["Content-Type"] == "application/xml"
    assert "<Code>AccessDenied</Code><Message>Request has expired</Message>" in expired.text
    fresh = client.document(report["reportDocumentId"], restricted=False)["url"]
    assert requests.get(fresh, timeout=TIMEOUT).status_code == 200


def test_report_without_data_is_cancelled(client: SimClient) -> None:
    report_id = client.create_report(
        INVOICING, start="2020-01-01T00:00:00Z", end="2020-02-01T00:00:00Z"
    )
    report = client.wait_report(report_id)
    assert report["processingStatus"] == "CANCELLED"
    assert "reportDocumentId" not in report


@pytest.mark.parametrize(
    "body",
    [
        {"reportType": "GET_NO_SUCH_REPORT", "marketplaceIds": [DE]},
        {"marketplaceIds": [DE]},
        {"reportType": INVOICING},
        {"reportType": INVOICING, "marketplaceIds": []},
        {"reportType": INVOICING, "marketplaceIds": ["ATVPDKIKX0DER"]},
        {"reportType": INVOICING, "marketplaceIds": [DE], "dataEndTime": "2026-08-03T12:00:01Z"},
        {"reportType": INVOICING, "marketplaceIds": [DE], "dataStartTime": "2026-08-02T00:00:00Z",
         "dataEndTime": "2026-08-01T00:00:00Z"},
        {"reportType": INVOICING, "marketplaceIds": [DE], "dataStartTime": "yesterday"},
    ],
)  # fmt: skip
def test_create_report_validation(client: SimClient, body: dict[str, Any]) -> None:
    response = client.call("POST", "/reports/2021-06-30/reports", json=body)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert (error["code"], error["message"]) == ("InvalidInput", "Invalid Input")


def test_unknown_report_is_not_found(client: SimClient) -> None:
    assert client.call("GET", "/reports/2021-06-30/reports/123").status_code == 404


def test_rdt_request_validation(client: SimClient) -> None:
    bodies: list[dict[str, Any]] = [
        {},
        {"restrictedResources": []},
        {"restrictedResources": [{"method": "GET"}]},
        {"restrictedResources": [{"method": "PATCH", "path": "/x"}]},
    ]
    for body in bodies:
        response = client.call("POST", "/tokens/2021-03-01/restrictedDataToken", json=body)
        assert response.status_code == 400
        assert response.json()["errors"][0]["code"] == "InvalidInput"


def test_non_eu_report_is_utf8() -> None:
    with Simulator(orders=20, seed=3, time_scale=0, marketplaces=["US"]) as us:
        download = SimClient(us).fetch(ALL_ORDERS, marketplaces=["ATVPDKIKX0DER"])
    assert download.content_type == "text/plain; charset=UTF-8"


# ---------------------------------------------------------------------------------------------
# Ground truth and report content


def _read_orders(
    order_rows: list[dict[str, str]], status_rows: list[dict[str, str]]
) -> dict[str, dict[str, Any]]:
    """A minimal reader following the team's column conventions (BRIEF)."""
    statuses = {row["amazon-order-id"]: row["order-status"] for row in status_rows}
    grouped: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in order_rows:
        grouped[row["order-id"]].append(row)
    result = {}
    for order_id, rows in grouped.items():
        lines: dict[str, dict[str, Any]] = {}
        for row in rows:
            item = row["order-item-id"]
            if item in lines:  # a promotion continuation row
                assert row["product-name"] == row["sku"] == row["item-price"] == ""
                lines[item]["item_promotion_discount"] += Decimal(row["item-promotion-discount"])
                continue
            lines[item] = {
                "order_item_id": item,
                "sku": row["sku"] or None,
                "title": row["product-name"] or None,
                "quantity": int(row["quantity-purchased"]),
                **{
                    key.replace("-", "_"): Decimal(row[key] or "0")
                    for key in (
                        "item-price",
                        "item-tax",
                        "shipping-price",
                        "shipping-tax",
                        "item-promotion-discount",
                        "ship-promotion-discount",
                    )
                },
            }
        first = rows[0]
        market = marketplace_by_sales_channel(first["sales-channel"])
        status = {"Shipped": OrderStatus.SHIPPED, "Cancelled": OrderStatus.CANCELLED}.get(
            statuses[order_id], OrderStatus.OPEN
        )
        order = Order(
            amazon_order_id=order_id,
            status=status,
            marketplace_id=market.id if market else None,
            sales_channel=first["sales-channel"],
            fulfillment_channel=None,
            currency=first["currency"],
            purchase_date=datetime.fromisoformat(first["purchase-date"]),
            lines=tuple(OrderLine(**line) for line in lines.values()),
            billing_address=_address(
                first,
                "bill",
                first["buyer-name"],
                "buyer-phone-number",
                first["buyer-company-name"],
            ),
            shipping_address=_address(
                first, "ship", first["recipient-name"], "ship-phone-number", ""
            ),
            buyer_email=first["buyer-email"],
            is_business_order=first["is-business-order"] == "true",
            purchase_order_number=first["purchase-order-number"] or None,
            buyer_company_name=first["buyer-company-name"] or None,
            buyer_tax_registration_id=first["buyer-tax-registration-id"] or None,
        )
        result[order_id] = order.as_dict()
    return result


def _address(row: dict[str, str], kind: str, name: str, phone: str, company: str) -> Address:
    lines = [row[f"{kind}-address-{n}"].strip() for n in (1, 2, 3)]
    return Address(
        name=name or None,
        company=company or None,
        lines=tuple(line for line in lines if line),
        postal_code=row[f"{kind}-postal-code"] or None,
        city=row[f"{kind}-city"] or None,
        state=row[f"{kind}-state"] or None,
        country_code=row[f"{kind}-country"] or None,
        phone=row[phone] or None,
    )


def test_a_correct_reader_reproduces_the_ground_truth(client: SimClient, sim: Simulator) -> None:
    _, order_rows = client.fetch(INVOICING).table()
    _, status_rows = client.fetch(ALL_ORDERS).table()
    fulfilment = {r["amazon-order-id"]: r["fulfillment-channel"] for r in status_rows}
    read = _read_orders(order_rows, status_rows)
    for order_id, order in read.items():
        order["fulfillment_channel"] = {"Amazon": "AFN", "Merchant": "MFN"}[fulfilment[order_id]]
    truth = {o["amazon_order_id"]: o for o in sim.ground_truth()}
    # the order report lists seller-fulfilled orders only (README "FBA orders")
    assert set(read) == {
        k
        for k, o in truth.items()
        if o["status"] in ("open", "shipped") and o["fulfillment_channel"] == "MFN"
    }
    for order_id, order in read.items():
        assert order == truth[order_id], order_id
    # the order report keeps an order's rows together
    ids = [row["order-id"] for row in order_rows]
    assert len(set(ids)) == len([i for n, i in enumerate(ids) if n == 0 or ids[n - 1] != i])


def test_generated_orders_are_varied_and_realistic(client: SimClient, sim: Simulator) -> None:
    truth = sim.ground_truth()
    statuses = Counter(o["status"] for o in truth)
    assert set(statuses) == {"pending", "open", "shipped", "cancelled"}
    assert 0.03 < statuses["pending"] / len(truth) < 0.2
    assert {o["marketplace_id"] for o in truth} == set(EU5)
    assert {o["fulfillment_channel"] for o in truth} == {"AFN", "MFN"}
    business = [o for o in truth if o["is_business_order"]]
    assert business
    assert all(o["buyer_company_name"] and o["buyer_tax_registration_id"] for o in business)
    assert any(o["purchase_order_number"] for o in business)
    assert any(o["billing_address"]["lines"] != o["shipping_address"]["lines"] for o in truth)
    assert any(len(o["lines"]) > 1 for o in truth)
    assert {line["quantity"] for o in truth for line in o["lines"]} <= {1, 2, 3}
    assert any(Decimal(line["item_promotion_discount"]) < 0 for o in truth for line in o["lines"])
    for order in truth:
        assert re.fullmatch(r"\d{3}-\d{7}-\d{7}", order["amazon_order_id"])
        assert order["buyer_email"].endswith("@marketplace." + order["sales_channel"].lower())
        assert all(re.fullmatch(r"\d{14}", line["order_item_id"]) for line in order["lines"])
        purchase = datetime.fromisoformat(order["purchase_date"])
        assert (START - purchase).days < 14
        str(order).encode("cp1252")  # every text survives Amazon's EU charset
    _, rows = client.fetch(INVOICING).table()
    items = Counter((r["order-id"], r["order-item-id"]) for r in rows)
    assert max(items.values()) == 2, "some items carry a promotion continuation row"


def test_generation_is_seeded() -> None:
    def truth(seed: int) -> list[dict[str, Any]]:
        return Simulator(orders=30, seed=seed, time_scale=0, start_time=START).ground_truth()

    assert truth(5) == truth(5)
    assert truth(5) != truth(6)


def test_all_orders_report_statuses(client: SimClient, sim: Simulator) -> None:
    header, rows = client.fetch(ALL_ORDERS).table()
    if REAL_ALL_ORDERS.exists() or in_ci():  # the real header, where it is at hand
        with require(REAL_ALL_ORDERS).open(encoding="utf-8") as real:
            assert header == real.readline().rstrip("\n").split("\t")
    assert header[0] == "amazon-order-id"
    assert header[-1] == "invoice-business-tax-office "
    assert "buyer-name" not in header
    assert "ship-address-1" not in header
    truth = {o["amazon_order_id"]: o for o in sim.ground_truth()}
    assert {r["amazon-order-id"] for r in rows} == set(truth)
    expected_status = {
        "pending": "Pending",
        "open": "Pending",
        "shipped": "Shipped",
        "cancelled": "Cancelled",
    }
    for row in rows:
        order = truth[row["amazon-order-id"]]
        assert row["order-status"] == expected_status[order["status"]]
        assert (
            row["fulfillment-channel"]
            == {"AFN": "Amazon", "MFN": "Merchant"}[order["fulfillment_channel"]]
        )
        priced = order["status"] in ("open", "shipped")
        assert bool(row["item-price"]) is priced
        assert bool(row["currency"]) is priced
        if order["status"] == "pending":
            assert row["item-status"] == "Unshipped"
    item_statuses = Counter(r["item-status"] for r in rows if r["order-status"] == "Pending")
    assert item_statuses["Unshipped"] > 0


def test_cancel_and_ship_show_in_the_all_orders_report(sim: Simulator, client: SimClient) -> None:
    open_orders = [o["amazon_order_id"] for o in sim.ground_truth() if o["status"] == "open"]
    pending = next(o["amazon_order_id"] for o in sim.ground_truth() if o["status"] == "pending")
    to_ship, to_cancel = open_orders[:2]
    sim.clock.advance(600)
    before = sim.clock.now().isoformat()
    sim.clock.advance(60)
    shipped = requests.post(f"{sim.url}/_simulator/orders/{to_ship}/ship", timeout=TIMEOUT)
    assert shipped.status_code == 200
    assert shipped.json()["order"]["status"] == "shipped"
    assert sim.cancel_order(to_cancel)["status"] == "cancelled"
    refused = requests.post(f"{sim.url}/_simulator/orders/{pending}/ship", timeout=TIMEOUT)
    assert refused.status_code == 409
    assert (
        requests.post(f"{sim.url}/_simulator/orders/{to_ship}/cancel", timeout=TIMEOUT).status_code
        == 409
    )
    sim.clock.advance(60)

    _, rows = client.fetch(ALL_ORDERS, start=before).table()
    by_id = {r["amazon-order-id"]: r for r in rows}
    assert set(by_id) == {to_ship, to_cancel}
    assert by_id[to_ship]["order-status"] == "Shipped"
    assert by_id[to_cancel]["order-status"] == "Cancelled"
    assert by_id[to_ship]["last-updated-date"] == "2026-08-03T12:11:00+00:00"
    _, order_rows = client.fetch(INVOICING).table()
    assert to_cancel not in {r["order-id"] for r in order_rows}
    truth = {o["amazon_order_id"]: o["status"] for o in sim.ground_truth()}
    assert (truth[to_ship], truth[to_cancel]) == ("shipped", "cancelled")


def test_admin_ground_truth_matches_the_python_api(sim: Simulator) -> None:
    response = requests.get(f"{sim.url}/_simulator/orders", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.json() == {"orders": sim.ground_truth(packages=True, invoices=True)}
    assert Order.from_dict(response.json()["orders"][0]).as_dict() == sim.ground_truth()[0]


# ---------------------------------------------------------------------------------------------
# Clock and command line


def test_clock_scales_and_advances() -> None:
    clock = SimClock(START, time_scale=0)
    assert clock.now() == START
    assert clock.advance(90) == datetime(2026, 8, 3, 12, 1, 30, tzinfo=UTC)
    clock.time_scale = 3600
    assert clock.now() > datetime(2026, 8, 3, 12, 1, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)


def test_cli_prints_settings_follows_its_options_and_stops_on_sigterm() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--orders", "5", "--marketplace", "DE", "--marketplace", "FR"])
    assert (args.orders, args.marketplace, args.port) == (5, ["DE", "FR"], 0)
    script = (
        "import argparse, sys\n"
        "from hyreka_plugin_amazon.simulator import cli\n"
        "p = argparse.ArgumentParser(); cli.add_arguments(p)\n"
        "sys.exit(cli.run(p.parse_args(sys.argv[1:])))\n"
    )
    command = [sys.executable, "-c", script, "--orders", "5", "--marketplace", "DE"]
    command += ["--fault", "lwa_invalid_client:count=1", "--time-scale", "0"]
    command += ["--report-delay", "600", "--no-rate-limits"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            lines = [proc.stdout.readline().rstrip("\n") for _ in range(5)]
            settings = dict(line.split("=", 1) for line in lines)
            assert list(settings) == [
                "SPAPI_ENDPOINT",
                "LWA_TOKEN_URL",
                "AMAZON_LWA_CLIENT_ID",
                "AMAZON_LWA_CLIENT_SECRET",
                "AMAZON_REFRESH_TOKEN",
            ]
            assert settings["AMAZON_REFRESH_TOKEN"].startswith("'Atzr|")  # shell-quoted
            assert settings["SPAPI_ENDPOINT"].startswith("http://127.0.0.1:")
            form = {
                "grant_type": "refresh_token",
                "refresh_token": shlex.split(settings["AMAZON_REFRESH_TOKEN"])[0],
                "client_id": shlex.split(settings["AMAZON_LWA_CLIENT_ID"])[0],
                "client_secret": shlex.split(settings["AMAZON_LWA_CLIENT_SECRET"])[0],
            }
            url = settings["LWA_TOKEN_URL"]
            assert requests.post(url, data=form, timeout=TIMEOUT).status_code == 401  # --fault
            token = requests.post(url, data=form, timeout=TIMEOUT).json()["access_token"]
            base = shlex.split(settings["SPAPI_ENDPOINT"])[0]
            _cli_simulator_follows_its_options(base, {"x-amz-access-token": token})
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()


def _cli_simulator_follows_its_options(base: str, headers: dict[str, str]) -> None:
    """``--no-rate-limits``: no 429 past the burst; ``--report-delay 600`` on a stopped clock."""
    participations = f"{base}/sellers/v1/marketplaceParticipations"
    statuses = {requests.get(participations, headers=headers, timeout=TIMEOUT).status_code}
    statuses |= {requests.get(participations, headers=headers, timeout=TIMEOUT).status_code
                 for _ in range(15)}  # fmt: skip
    assert statuses == {200}
    spec = {"reportType": ALL_ORDERS, "marketplaceIds": [DE], "dataStartTime": LONG_AGO}
    created = requests.post(
        f"{base}/reports/2021-06-30/reports", json=spec, headers=headers, timeout=TIMEOUT
    )
    report = f"{base}/reports/2021-06-30/reports/{created.json()['reportId']}"
    seen = []
    for advance in (0, 599, 1):
        requests.post(f"{base}/_simulator/clock", json={"advance_seconds": advance}, timeout=5)
        answer = requests.get(report, headers=headers, timeout=TIMEOUT).json()
        seen.append(answer["processingStatus"])
    assert seen == ["IN_QUEUE", "IN_PROGRESS", "DONE"]


def test_cli_refuses_bad_options(capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert run(parser.parse_args(["--fault", "earthquake"])) == 2
    assert run(parser.parse_args(["--marketplace", "DE", "--marketplace", "US"])) == 2
    assert run(parser.parse_args(["--report-delay", "-1"])) == 2
    assert "unknown fault 'earthquake'" in capsys.readouterr().err


def test_reprs_carry_no_personal_data(sim: Simulator) -> None:
    order = next(iter(sim.orders.values()))
    assert repr(order) == f"SimOrder({order.order_id!r})"
    assert order.buyer_name not in repr(order.ship_address) + repr(sim.default_seller)
    assert sim.credentials.refresh_token not in repr(sim.default_seller)
