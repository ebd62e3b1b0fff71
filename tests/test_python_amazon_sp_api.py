"""python-amazon-sp-api, a client nobody here wrote, against the simulator over loopback.

The report flow (create, poll, RDT, download, decode), Orders v0 (with and without an RDT) and
Orders v2026-01-01, with every SP-API response the client receives validated against Amazon's
models. The client's endpoint and LWA token URL point at the simulator, so nothing leaves the
machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from helpers.shared import MODELS, needs
from helpers.sim import INVOICING, SpapiModels

from hyreka_plugin_amazon.simulator import Simulator

sp_api = pytest.importorskip("sp_api", reason="python-amazon-sp-api is a test dependency")

from sp_api.api import Orders, Reports, Tokens  # noqa: E402
from sp_api.auth import AccessTokenClient  # noqa: E402
from sp_api.base import Marketplaces  # noqa: E402

pytestmark = needs(MODELS)

START = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
DE = "A1PA6795UKMFR9"


class Exchanges:
    """Every SP-API exchange the client makes, checked against Amazon's models."""

    def __init__(self, models: SpapiModels) -> None:
        self.models = models
        self.checked: list[tuple[str, int]] = []
        self.transports: list[Any] = []  # the clients' httpx transports, closed after the test

    def close(self) -> None:
        for transport in self.transports:
            transport._client.close()

    def check(self, response: httpx.Response) -> None:
        path = urlsplit(str(response.request.url)).path
        response.read()
        operation = self.models.check_answer(
            response.request.method, path, response.status_code, response.content
        )
        assert response.headers.get("x-amzn-RequestId")
        self.checked.append((operation.operation_id, response.status_code))


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(orders=30, seed=23, time_scale=0, start_time=START) as running:
        yield running


@pytest.fixture
def exchanges() -> Iterator[Exchanges]:
    seen = Exchanges(SpapiModels())
    yield seen
    seen.close()


def _client(cls: Any, sim: Simulator, exchanges: Exchanges, **kwargs: Any) -> Any:
    """A python-amazon-sp-api client whose SP-API endpoint and LWA URL are the simulator's."""
    split = urlsplit(sim.token_url)

    class SimulatorLwa(AccessTokenClient):  # type: ignore[misc]
        scheme = f"{split.scheme}://"
        host = split.netloc

    creds = sim.credentials
    client = cls(
        Marketplaces.DE,
        credentials={
            "refresh_token": creds.refresh_token,
            "lwa_app_id": creds.client_id,
            "lwa_client_secret": creds.client_secret,
        },
        auth_token_client_class=SimulatorLwa,
        **kwargs,
    )
    client.endpoint = sim.url
    exchanges.transports += [client._transport, client._auth._transport]
    request = client._transport.request

    def checked(*args: Any, **kw: Any) -> httpx.Response:
        response: httpx.Response = request(*args, **kw)
        exchanges.check(response)
        return response

    client._transport.request = checked
    return client


def test_report_flow(sim: Simulator, exchanges: Exchanges) -> None:
    reports = _client(Reports, sim, exchanges)
    created = reports.create_report(
        reportType=INVOICING, marketplaceIds=[DE], dataStartTime="2026-07-01T00:00:00Z"
    )
    report_id = created.payload["reportId"]
    for _ in range(10):
        report = reports.get_report(report_id).payload
        if report["processingStatus"] == "DONE":
            break
        sim.clock.advance(1)
    assert report["processingStatus"] == "DONE"
    document_id = report["reportDocumentId"]
    path = f"/reports/2021-06-30/documents/{document_id}"
    tokens = _client(Tokens, sim, exchanges)
    rdt = tokens.create_restricted_data_token(
        restrictedResources=[{"method": "GET", "path": path}]
    ).payload["restrictedDataToken"]
    restricted = _client(Reports, sim, exchanges, restricted_data_token=rdt)
    document = restricted.get_report_document(document_id, download=True).payload["document"]
    header, *rows = document.splitlines()
    assert header.startswith("order-id\torder-item-id\t")
    assert "bill-address-1" in header
    truth = {o["amazon_order_id"] for o in sim.ground_truth() if o["marketplace_id"] == DE}
    assert {row.split("\t")[0] for row in rows} <= truth
    assert rows
    listed = reports.get_reports(reportTypes=[INVOICING]).payload["reports"]
    assert [r["reportId"] for r in listed] == [report_id]
    assert {("createReport", 202), ("getReport", 200), ("createRestrictedDataToken", 200),
            ("getReportDocument", 200), ("getReports", 200)} <= set(exchanges.checked)  # fmt: skip


def test_orders_v0(sim: Simulator, exchanges: Exchanges) -> None:
    orders = _client(Orders, sim, exchanges)  # Orders() calls v0 by default
    found: list[dict[str, Any]] = []
    page = orders.get_orders(CreatedAfter="2000-01-01T00:00:00Z", MaxResultsPerPage=10).payload
    found += page["Orders"]
    while page.get("NextToken"):
        page = orders.get_orders(NextToken=page["NextToken"]).payload
        found += page["Orders"]
    truth = {o["amazon_order_id"]: o for o in sim.ground_truth() if o["marketplace_id"] == DE}
    assert {o["AmazonOrderId"] for o in found} == set(truth)
    shippable = [o for o in found if o["OrderStatus"] in ("Unshipped", "Shipped")]
    assert shippable
    assert all("Name" not in o["ShippingAddress"] for o in shippable)  # no RDT, no PII
    assert all("BuyerInfo" not in o for o in found)
    one = shippable[0]["AmazonOrderId"]
    items = orders.get_order_items(one).payload["OrderItems"]
    assert [i["OrderItemId"] for i in items] == [
        line["order_item_id"] for line in truth[one]["lines"]
    ]
    assert orders.get_order(one).payload["AmazonOrderId"] == one
    assert orders.get_order_address(one).payload["AmazonOrderId"] == one
    assert orders.get_order_buyer_info(one).payload == {"AmazonOrderId": one}
    assert orders.get_order_items_buyer_info(one).payload["AmazonOrderId"] == one
    with_pii = orders.get_orders(
        CreatedAfter="2000-01-01T00:00:00Z",
        RestrictedResources=["buyerInfo", "shippingAddress"],
    ).payload["Orders"]
    named = {o["AmazonOrderId"]: o for o in with_pii}[one]
    assert named["ShippingAddress"]["Name"] == truth[one]["shipping_address"]["name"]
    assert named["BuyerInfo"]["BuyerEmail"] == truth[one]["buyer_email"]
    assert {"getOrders", "getOrder", "getOrderItems", "getOrderAddress", "getOrderBuyerInfo",
            "getOrderItemsBuyerInfo", "createRestrictedDataToken"} <= {
        name for name, status in exchanges.checked if status == 200
    }  # fmt: skip


def test_orders_v2026(sim: Simulator, exchanges: Exchanges) -> None:
    orders = _client(Orders, sim, exchanges, version="2026-01-01")
    page = orders.search_orders(
        createdAfter="2000-01-01T00:00:00Z", marketplaceIds=[DE], includedData=["BUYER"]
    ).payload
    found = page["orders"]
    truth = {o["amazon_order_id"] for o in sim.ground_truth() if o["marketplace_id"] == DE}
    assert {o["orderId"] for o in found} == truth
    one = found[0]["orderId"]
    assert orders.get_order(one).payload["order"]["orderId"] == one
    assert {("searchOrders", 200), ("getOrder", 200)} <= set(exchanges.checked)
