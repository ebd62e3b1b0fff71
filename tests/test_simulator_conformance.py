"""The simulator's requests and responses against Amazon's models (../shared/spapi-models/).

Every call below goes through ConformingClient, which checks the request (path, method, path and
query parameters with their types, formats and csv arrays, body) and the response (declared
status, rate-limit header, body schema with strict properties and formats, request id) against
the Swagger 2.0 model of the operation. The checks themselves are tested first.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from helpers.shared import MODELS, needs
from helpers.sim import (
    ALL_ORDERS,
    DE,
    FR,
    INVOICING,
    LIMIT_HEADER,
    LONG_AGO,
    TIMEOUT,
    ConformingClient,
    SpapiModels,
    add_fault,
)

from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.routing import ROUTES

pytestmark = needs(MODELS)

START = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
PARTICIPATIONS = "/sellers/v1/marketplaceParticipations"
REPORTS = "/reports/2021-06-30/reports"
RDT = "/tokens/2021-03-01/restrictedDataToken"
ORDERS = "/orders/2026-01-01/orders"
EVERYTHING = ",".join(
    ("BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION", "FULFILLMENT",
     "PACKAGES", "TAX", "PAYMENT", "FULFILLMENT_ORDERS")
)  # fmt: skip


@pytest.fixture(scope="module")
def models() -> SpapiModels:
    return SpapiModels()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(orders=60, seed=21, time_scale=0, start_time=START) as running:
        yield running


@pytest.fixture
def client(sim: Simulator, models: SpapiModels) -> ConformingClient:
    return ConformingClient(sim, models)


def test_routes_are_the_models_operations(models: SpapiModels) -> None:
    """Every operation of the models kept beside the repository. The Feeds API's model is not
    among them: Amazon's SDK checks those routes (``test_conformance_amzn_sdk``)."""
    amazon = [
        r
        for r in ROUTES
        if not r.operation.startswith("_")
        and r.operation not in ("lwaToken", "download", "upload")
        and not r.pattern.pattern.startswith("^/feeds/")
    ]
    assert {r.operation for r in amazon} == {
        "getMarketplaceParticipations", "createReport", "getReport", "getReportDocument",
        "createRestrictedDataToken", "searchOrders", "getOrder", "getReports", "cancelReport",
        "getOrders", "getOrderItems", "getOrderItemsBuyerInfo", "getOrderAddress",
        "getOrderBuyerInfo", "confirmShipment",
    }  # fmt: skip
    for route in amazon:
        operations = [
            o
            for o in models.every
            if o.operation_id == route.operation
            and o.method == route.method
            and route.pattern.match(o.template)
        ]
        assert len(operations) == 1, (route.operation, route.pattern.pattern)


DOCUMENT = "/reports/2021-06-30/documents/amzn1.spdoc.1.4.eu.x"
SPEC = {"reportType": INVOICING, "marketplaceIds": [DE]}


@pytest.mark.parametrize(
    ("operation", "path", "query", "body", "problem"),
    [
        ("searchOrders", ORDERS, {"createdAfter": ["soon"]}, None, "is not a 'date-time'"),
        ("searchOrders", ORDERS, {"createdAfter": ["2026-08-03"]}, None, "date-time"),
        ("searchOrders", ORDERS, {"includedData": ["BUYER", "TAX"]}, None, "csv expected"),
        ("searchOrders", ORDERS, {"fulfillmentStatuses": ["OPEN"]}, None, "not one of"),
        ("searchOrders", ORDERS, {"nextToken": ["x"]}, None, "undeclared"),
        ("searchOrders", ORDERS, {"maxResultsPerPage": ["ten"]}, None, "of type 'integer'"),
        ("getReportDocument", DOCUMENT, {"enableContentEncodingUrlHeader": ["1"]}, None, "bool"),
        ("getReport", f"{REPORTS}/1", {}, {}, "takes no body"),
        ("createReport", REPORTS, {}, None, "body is required"),
        ("createReport", REPORTS, {}, {"reportType": INVOICING}, "'marketplaceIds' is a required"),
        ("createReport", REPORTS, {}, {**SPEC, "dataStartTime": "yesterday"}, "date-time"),
        ("createReport", REPORTS, {}, {**SPEC, "reportOption": {}}, "'reportOption' was unexp"),
        ("createRestrictedDataToken", RDT, {}, {"restrictedResources": [{}]}, "'method' is a"),
    ],
)
def test_the_request_check_refuses_what_the_models_forbid(
    models: SpapiModels,
    operation: str,
    path: str,
    query: dict[str, list[str]],
    body: Any,
    problem: str,
) -> None:
    headers = {"x-amz-access-token": "Atza|x", "Content-Type": "application/json"}
    raw = None if body is None else json.dumps(body).encode()
    with pytest.raises(AssertionError, match=re.escape(problem)):
        models.check_request(models.operations[operation], path, query, headers, raw)


@pytest.mark.parametrize(
    ("status", "headers", "body", "problem"),
    [
        (429, {LIMIT_HEADER: "2"}, {"errors": []}, "must not carry"),
        (403, {LIMIT_HEADER: "2"}, {"errors": []}, "must not carry"),
        (200, {}, {"reportId": "1"}, "no x-amzn-RateLimit-Limit"),
        (404, {LIMIT_HEADER: "2"}, {"errors": [{"code": "NotFound"}]}, "'message' is a required"),
        (200, {LIMIT_HEADER: "2"}, {"reportId": "1"}, "'reportType' is a required"),
        (418, {}, {}, "declares no 418"),
    ],
)
def test_the_response_check_refuses_what_the_models_forbid(
    models: SpapiModels, status: int, headers: dict[str, str], body: Any, problem: str
) -> None:
    response = requests.Response()
    response.status_code = status
    response.headers.update(
        {"x-amzn-RequestId": "r", "Content-Type": "application/json", **headers}
    )
    response._content = json.dumps(body).encode()
    with pytest.raises(AssertionError, match=re.escape(problem)):
        models.check_response(models.operations["getReport"], response)


def test_sellers(sim: Simulator, client: ConformingClient) -> None:
    assert client.call("GET", PARTICIPATIONS).status_code == 200
    assert client.call("GET", PARTICIPATIONS, token="Atza|forged").status_code == 403
    add_fault(sim, "internal_error")
    assert client.call("GET", PARTICIPATIONS).status_code == 500
    add_fault(sim, "unavailable")
    assert client.call("GET", PARTICIPATIONS).status_code == 503
    statuses = [client.call("GET", PARTICIPATIONS).status_code for _ in range(15)]
    assert statuses[-1] == 429


def test_missing_token_answer_conforms(sim: Simulator, models: SpapiModels) -> None:
    response = requests.get(sim.url + PARTICIPATIONS, timeout=TIMEOUT)
    models.check_response(models.operations["getMarketplaceParticipations"], response)
    assert response.status_code == 403


def test_reports_and_tokens(sim: Simulator, client: ConformingClient) -> None:
    _reports_flow(sim, client)


def _reports_flow(sim: Simulator, client: ConformingClient) -> None:
    report_id = client.create_report(INVOICING, [DE, FR])
    path = f"{REPORTS}/{report_id}"
    seen = set()
    for _ in range(5):
        seen.add(client.call("GET", path).json()["processingStatus"])
        sim.clock.advance(0.6)
    assert seen == {"IN_QUEUE", "IN_PROGRESS", "DONE"}
    document_id = client.call("GET", path).json()["reportDocumentId"]
    document_path = f"/reports/2021-06-30/documents/{document_id}"
    assert client.call("GET", document_path).status_code == 403  # no RDT
    rdt = client.rdt(document_path)
    assert client.call("GET", document_path, token=rdt).status_code == 200
    encoded = client.call(
        "GET", document_path, token=rdt, params={"enableContentEncodingUrlHeader": "true"}
    )
    download = requests.get(encoded.json()["url"], timeout=TIMEOUT)
    assert download.headers["Content-Encoding"] == "gzip"
    assert download.content.decode("cp1252").startswith("order-id\t")  # requests gunzipped it
    assert client.call("GET", "/reports/2021-06-30/documents/amzn1.spdoc.nope").status_code == 404
    assert client.call("GET", f"{REPORTS}/999").status_code == 404
    assert (
        client.call(
            "POST", REPORTS, json={"reportType": INVOICING, "marketplaceIds": ["X"]}
        ).status_code
        == 400
    )
    assert client.call("POST", RDT, json={"restrictedResources": []}).status_code == 400
    resources = {"restrictedResources": [{"method": "GET", "path": document_path}]}
    assert client.call("POST", RDT, json=resources, token="Atza|forged").status_code == 403
    add_fault(sim, "restricted_role_missing", on="rdt")
    role_missing = client.call("POST", RDT, json=resources)
    assert role_missing.status_code == 400  # Amazon refuses the RDT with 400, not 403
    assert role_missing.json()["errors"][0]["code"] == "InvalidInput"
    add_fault(sim, "restricted_role_missing", on="create")
    assert (
        client.call(
            "POST", REPORTS, json={"reportType": INVOICING, "marketplaceIds": [DE]}
        ).status_code
        == 403
    )


def test_terminal_report_statuses(sim: Simulator, client: ConformingClient) -> None:
    add_fault(sim, "report_fatal")
    fatal = client.wait_report(client.create_report(ALL_ORDERS))
    assert (fatal["processingStatus"], "reportDocumentId" in fatal) == ("FATAL", True)
    assert (
        client.call("GET", f"/reports/2021-06-30/documents/{fatal['reportDocumentId']}").status_code
        == 200
    )
    cancelled = client.wait_report(
        client.create_report(INVOICING, start="2020-01-01T00:00:00Z", end="2020-01-02T00:00:00Z")
    )
    assert cancelled["processingStatus"] == "CANCELLED"


def test_create_report_throttled(client: ConformingClient) -> None:
    body = {
        "reportType": ALL_ORDERS,
        "marketplaceIds": [DE],
        "dataStartTime": LONG_AGO,
        "reportOptions": {"ShowSalesChannel": "true"},
    }
    statuses = [client.call("POST", REPORTS, json=body).status_code for _ in range(16)]
    assert statuses == [202] * 15 + [429]


def test_orders(client: ConformingClient) -> None:
    _orders_flow(client)


def _orders_flow(client: ConformingClient) -> None:
    params = {"createdAfter": LONG_AGO, "includedData": EVERYTHING, "maxResultsPerPage": "25"}
    page = client.call("GET", ORDERS, params=params).json()
    orders = page["orders"]
    while "pagination" in page:
        page = client.call(
            "GET",
            ORDERS,
            params={
                "createdAfter": LONG_AGO,  # the model: the other parameters as before
                "paginationToken": page["pagination"]["nextToken"],
                "includedData": EVERYTHING,
            },
        ).json()
        orders += page["orders"]
    assert len(orders) == 60
    statuses = {o["fulfillment"]["fulfillmentStatus"] for o in orders}
    assert {"PENDING", "UNSHIPPED", "SHIPPED", "CANCELLED"} <= statuses
    for order in orders[:10]:
        single = client.call(
            "GET", f"{ORDERS}/{order['orderId']}", params={"includedData": EVERYTHING}
        )
        assert single.json()["order"] == order
    filtered = {
        "lastUpdatedAfter": LONG_AGO,
        "fulfillmentStatuses": "UNSHIPPED,PARTIALLY_SHIPPED",
        "fulfilledBy": "MERCHANT",
        "marketplaceIds": f"{DE},{FR}",
    }
    assert client.call("GET", ORDERS, params=filtered).status_code == 200
    too_recent = {"createdAfter": "2026-08-03T11:59:00Z"}  # later than the default "before"
    assert client.call("GET", ORDERS, params=too_recent).status_code == 400
    assert client.call("GET", f"{ORDERS}/302-0000000-0000000").status_code == 404
    statuses_seen = [
        client.call("GET", ORDERS, params={"createdAfter": LONG_AGO}).status_code for _ in range(20)
    ]
    assert statuses_seen[-1] == 429


def test_every_operation_and_answer_was_checked(sim: Simulator, models: SpapiModels) -> None:
    """One pass over the connector's operations with the answers each must handle."""
    client = ConformingClient(sim, models)
    _reports_flow(sim, client)
    requests.delete(f"{sim.url}/_simulator/faults", timeout=TIMEOUT)
    _orders_flow(client)
    checked = set(client.checked)
    for expected in [
        ("createReport", 202), ("createReport", 400), ("createReport", 403),
        ("getReport", 200), ("getReport", 404),
        ("getReportDocument", 200), ("getReportDocument", 403), ("getReportDocument", 404),
        ("createRestrictedDataToken", 200), ("createRestrictedDataToken", 400),
        ("createRestrictedDataToken", 403),
        ("searchOrders", 200), ("searchOrders", 400), ("searchOrders", 429),
        ("getOrder", 200), ("getOrder", 404),
    ]:  # fmt: skip
        assert expected in checked, expected
