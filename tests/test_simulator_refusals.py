"""Issue 17: the simulator answers where Amazon answers, and refuses where Amazon refuses.

Restricted Data Tokens only for restricted resources, the missing restricted role as Amazon's
400, operations Amazon has and the simulator lacks named as such, getReports and cancelReport
(and the connector cancelling its reports when a sync is cancelled), the searchOrders page
token's rule, and credential and URL lifetimes in wall time under a fast clock.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pluggy
import pytest
import requests
from helpers.accounts import simulator_account
from helpers.memory_host import MemoryHost
from helpers.shared import MODELS, needs
from helpers.sim import (
    ALL_ORDERS,
    DE,
    INVOICING,
    LONG_AGO,
    SHIPPING,
    TIMEOUT,
    ConformingClient,
    SimClient,
    SpapiModels,
    add_fault,
)

from hyreka_plugin_amazon import hookspecs
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.routing import ROUTES
from hyreka_plugin_amazon.simulator.unsimulated import NOT_SIMULATED
from hyreka_plugin_amazon.sync import sync_account

START = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
RDT = "/tokens/2021-03-01/restrictedDataToken"
REPORTS = "/reports/2021-06-30/reports"
SEARCH = "/orders/2026-01-01/orders"
BAD_DOCUMENT = {
    "code": "InvalidInput",
    "message": "Invalid or unsupported document ID found",
    "details": "",
}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(orders=40, seed=17, time_scale=0, start_time=START) as running:
        yield running


@pytest.fixture
def client(sim: Simulator) -> SimClient:
    return SimClient(sim)


def _rdt(client: SimClient, path: str, method: str = "GET") -> requests.Response:
    body = {"restrictedResources": [{"method": method, "path": path}]}
    return client.call("POST", RDT, json=body)


def _error(response: requests.Response) -> dict[str, Any]:
    errors: list[dict[str, Any]] = response.json()["errors"]
    assert len(errors) == 1
    return errors[0]


# ------------------------------------------------------------- createRestrictedDataToken


def test_no_rdt_for_a_document_that_is_not_restricted(client: SimClient) -> None:
    report = client.wait_report(client.create_report(ALL_ORDERS))
    refused = _rdt(client, f"/reports/2021-06-30/documents/{report['reportDocumentId']}")
    assert refused.status_code == 400
    assert _error(refused) == BAD_DOCUMENT


def test_no_rdt_for_an_unknown_document_or_a_reports_path(client: SimClient) -> None:
    unknown = _rdt(client, "/reports/2021-06-30/documents/amzn1.spdoc.1.4.eu.nothing.T1")
    assert (unknown.status_code, _error(unknown)) == (400, BAD_DOCUMENT)
    report_id = client.create_report(SHIPPING, [DE])
    for path in (REPORTS, f"{REPORTS}/{report_id}"):
        refused = _rdt(client, path)
        assert (refused.status_code, _error(refused)) == (400, BAD_DOCUMENT)
    other = _rdt(client, "/sellers/v1/marketplaceParticipations")
    assert other.status_code == 400
    assert _error(other)["code"] == "InvalidInput"


def test_no_rdt_for_another_sellers_document(sim: Simulator, client: SimClient) -> None:
    report = client.wait_report(client.create_report(SHIPPING, [DE]))
    seller = sim.add_seller(marketplaces=("DE",), orders=3)
    stranger = SimClient(sim, seller.seller_id)
    refused = _rdt(stranger, f"/reports/2021-06-30/documents/{report['reportDocumentId']}")
    assert (refused.status_code, _error(refused)) == (400, BAD_DOCUMENT)


def test_rdt_for_a_restricted_document_and_for_orders_v0(client: SimClient) -> None:
    report = client.wait_report(client.create_report(INVOICING, [DE]))
    assert _rdt(client, f"/reports/2021-06-30/documents/{report['reportDocumentId']}").ok
    for path in ("/orders/v0/orders", "/orders/v0/orders/{orderId}/address"):
        granted = _rdt(client, path)
        assert granted.status_code == 200, granted.text
        assert granted.json()["expiresIn"] == 3600


def test_missing_restricted_role_is_amazons_400(sim: Simulator, client: SimClient) -> None:
    add_fault(sim, "restricted_role_missing", on="rdt")
    refused = _rdt(client, "/orders/v0/orders/{orderId}/address")
    assert refused.status_code == 400
    assert _error(refused) == {
        "code": "InvalidInput",
        "message": "Application do not have access to some or all requested resource",
        "details": "",
    }


# ------------------------------------------------------------------ not simulated


def test_operations_amazon_has_are_named_not_simulated(client: SimClient) -> None:
    account = client.call("GET", "/sellers/v1/account")
    assert account.status_code == 501
    assert _error(account)["code"] == "NotSimulated"
    assert "getAccount" in _error(account)["message"]
    schedules = client.call("GET", "/reports/2021-06-30/schedules")
    assert "getReportSchedules" in _error(schedules)["message"]
    finances = client.call("GET", "/finances/v0/financialEvents")
    assert finances.status_code == 501
    assert "Finances" in _error(finances)["message"]
    verify = client.call("PATCH", "/orders/v0/orders/302-1234567-1234567/regulatedInfo", json={})
    assert "updateVerificationStatus" in _error(verify)["message"]
    # a path no SP-API has stays Amazon's gateway answer
    nothing = client.call("GET", "/reports/2021-06-30/nothing")
    assert (nothing.status_code, _error(nothing)["code"]) == (403, "MissingAuthenticationToken")


@needs(MODELS)
def test_every_modelled_operation_is_served_or_named() -> None:
    """Each operation of Amazon's models here is served by a route or named not simulated."""
    models = SpapiModels()
    modelled = {(o.method, o.template, o.operation_id) for o in models.every}
    models_notifications = json.loads((MODELS / "notifications.json").read_text("utf-8"))
    for template, methods in models_notifications["paths"].items():
        for method, spec in methods.items():
            if isinstance(spec, dict) and "operationId" in spec:
                modelled.add((method.upper(), template, spec["operationId"]))
    served = {
        (o_method, template, operation)
        for o_method, template, operation in modelled
        for r in ROUTES
        if r.operation == operation and r.method == o_method and r.pattern.match(template)
    }
    assert modelled - served == set(NOT_SIMULATED)


# ---------------------------------------------------------- getReports, cancelReport


def test_get_reports_pages_and_filters(client: SimClient) -> None:
    ids = [client.create_report(ALL_ORDERS) for _ in range(3)]
    ids.append(client.create_report(SHIPPING, [DE]))
    first = client.call("GET", REPORTS, params={"reportTypes": ALL_ORDERS, "pageSize": "2"})
    assert first.status_code == 200, first.text
    page = first.json()
    assert [r["reportId"] for r in page["reports"]] == ids[2:0:-1]  # newest first
    alone = client.call("GET", REPORTS, params={"nextToken": page["nextToken"]}).json()
    assert [r["reportId"] for r in alone["reports"]] == ids[:1]
    assert "nextToken" not in alone
    mixed = {"nextToken": page["nextToken"], "reportTypes": ALL_ORDERS}
    assert client.call("GET", REPORTS, params=mixed).status_code == 400  # the model's rule
    assert client.call("GET", REPORTS).status_code == 400  # reportTypes or nextToken
    queued = client.call(
        "GET", REPORTS, params={"reportTypes": SHIPPING, "processingStatuses": "IN_QUEUE"}
    ).json()
    assert [r["reportId"] for r in queued["reports"]] == ids[3:]


def test_cancel_report_only_in_queue(sim: Simulator, client: SimClient) -> None:
    queued = client.create_report(SHIPPING, [DE])
    cancelled = client.call("DELETE", f"{REPORTS}/{queued}")
    assert (cancelled.status_code, cancelled.content) == (200, b"")
    report = client.call("GET", f"{REPORTS}/{queued}").json()
    assert report["processingStatus"] == "CANCELLED"
    assert "reportDocumentId" not in report
    listed = client.call(
        "GET", REPORTS, params={"reportTypes": SHIPPING, "processingStatuses": "CANCELLED"}
    ).json()
    assert [r["reportId"] for r in listed["reports"]] == [queued]
    done = client.wait_report(client.create_report(SHIPPING, [DE]))
    late = client.call("DELETE", f"{REPORTS}/{done['reportId']}")
    assert (late.status_code, _error(late)["code"]) == (400, "InvalidInput")
    assert client.call("DELETE", f"{REPORTS}/1").status_code == 404


@needs(MODELS)
def test_report_list_and_cancel_conform(sim: Simulator) -> None:
    client = ConformingClient(sim, SpapiModels())
    report_id = client.create_report(ALL_ORDERS)
    client.call("GET", REPORTS, params={"reportTypes": ALL_ORDERS, "pageSize": "1"})
    client.call("DELETE", f"{REPORTS}/{report_id}")
    client.call("GET", REPORTS, params={"reportTypes": "NOPE"})
    assert {("getReports", 200), ("cancelReport", 200), ("getReports", 400)} <= set(client.checked)


class _CancellingHost(MemoryHost):
    def cancel_requested(self, account_id: str) -> bool:
        return True


def test_a_cancelled_sync_cancels_its_reports() -> None:
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.load_setuptools_entrypoints(hookspecs.PROJECT)
    with Simulator(orders=10, seed=3, time_scale=0, report_delay_s=60) as sim:
        account = simulator_account(sim, marketplaces=("DE",))
        host = _CancellingHost(pm)
        result = sync_account(
            account,
            host,
            map_address=lambda row, kind: host.map_address(row=row, kind=kind, account=account),
        )
        assert (result.ok, result.code) == (False, "sync.cancelled")
        seller = sim.default_seller.seller_id
        statuses = [r.status(sim.clock.now()) for r in sim.reports.of_seller(seller)]
        assert statuses == ["CANCELLED", "CANCELLED"]
        assert sim.stats.snapshot()[seller]["cancelReport"]["200"] == 2


# ---------------------------------------------------------------- searchOrders pages


def test_search_orders_page_token_needs_the_same_filters(client: SimClient) -> None:
    first = {"createdAfter": LONG_AGO, "maxResultsPerPage": "5"}
    token = client.call("GET", SEARCH, params=first).json()["pagination"]["nextToken"]
    changed = {"createdAfter": "2026-01-01T00:00:00Z", "paginationToken": token}
    refused = client.call("GET", SEARCH, params=changed)
    assert (refused.status_code, _error(refused)["code"]) == (400, "InvalidInput")
    added = {**first, "fulfilledBy": "MERCHANT", "paginationToken": token}
    assert client.call("GET", SEARCH, params=added).status_code == 400
    same = {"createdAfter": LONG_AGO, "paginationToken": token, "maxResultsPerPage": "7"}
    same["includedData"] = "BUYER"  # page size and datasets may change
    page = client.call("GET", SEARCH, params=same)
    assert page.status_code == 200, page.text
    assert len(page.json()["orders"]) == 7


# ------------------------------------------------------------ fast clock, wall time


def test_a_fast_clock_expires_orders_not_credentials() -> None:
    """At 3600 simulated seconds per wall second, tokens, RDTs and URLs still live in wall
    time: a client that caches them by its own clock is not refused a second later."""
    with Simulator(orders=10, seed=4, time_scale=3600, report_delay_s=2) as sim:
        client = SimClient(sim)
        token = client.token
        report = client.wait_report(client.create_report(SHIPPING, [DE]))
        path = f"/reports/2021-06-30/documents/{report['reportDocumentId']}"
        rdt = client.rdt(path)
        url = client.call("GET", path, token=rdt).json()["url"]
        before = sim.clock.now()
        time.sleep(1.05)  # 1.05 wall seconds: 63 simulated minutes
        assert (sim.clock.now() - before).total_seconds() > 3600
        participations = "/sellers/v1/marketplaceParticipations"
        assert client.call("GET", participations, token=token).status_code == 200
        assert client.call("GET", path, token=rdt).status_code == 200
        assert requests.get(url, timeout=TIMEOUT).status_code == 200


def test_lifetimes_still_end_in_wall_time(sim: Simulator, client: SimClient) -> None:
    wall = [500.0]
    sim.tokens.wall = lambda: wall[0]
    sim.reports.wall = lambda: wall[0]
    report = client.wait_report(client.create_report(ALL_ORDERS))
    url = client.document(report["reportDocumentId"], restricted=False)["url"]
    wall[0] += 300
    assert requests.get(url, timeout=TIMEOUT).status_code == 403
    wall[0] += 3300
    refused = client.call("GET", "/sellers/v1/marketplaceParticipations")
    assert _error(refused)["code"] == "Unauthorized"


def test_admin_clock_still_drives_orders(sim: Simulator) -> None:
    """The clock still moves orders: report windows and order times follow simulated time."""
    sim.clock.advance(3 * 86400)
    placed = sim.add_order(marketplace="DE")
    assert placed["purchase_date"].startswith("2026-08-06")
