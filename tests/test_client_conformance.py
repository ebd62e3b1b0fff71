"""Our SP-API client and a full sync against the simulator, every exchange checked against Amazon.

A recording ``requests.Session`` (a response hook, handed to SpApiClient as ``session=``) keeps
every response the client got together with the request it sent. Each SP-API exchange is then
checked against the Swagger 2.0 models in ../shared/spapi-models/ (helpers.sim.SpapiModels:
path, method, typed query parameters, body schema; status, rate-limit header, body schema);
the LWA exchange and the document downloads against spapi-notes sections 1 and 3.5.
The client runs on the simulator's clock: its sleeps advance simulated time.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from helpers.accounts import simulator_account
from helpers.shared import MODELS, needs
from helpers.sim import (
    DE,
    EU5,
    INVOICING,
    SpapiModels,
    add_fault,
    fba_shipped,
    sim_open,
)

from hyreka_plugin_amazon.login import check_login
from hyreka_plugin_amazon.refhost.host import ReferenceHost, SyncHost
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.spapi import SpApiClient, SpApiError
from hyreka_plugin_amazon.spapi.ratelimit import RateLimiter
from hyreka_plugin_amazon.sync import sync_account

pytestmark = needs(MODELS)

START = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
OPERATIONS = (
    "getMarketplaceParticipations", "createReport", "getReport", "createRestrictedDataToken",
    "getReportDocument", "searchOrders", "getOrder",
)  # fmt: skip
EVERYTHING = ("BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION",
              "FULFILLMENT", "PACKAGES", "TAX", "PAYMENT", "FULFILLMENT_ORDERS")  # fmt: skip
# the simulator's fault behind each error answer, switched on for one request
ERROR_FAULTS = {
    400: "invalid_input",
    403: "token_expired",
    404: "not_found",
    429: "throttle",
    500: "internal_error",
    503: "unavailable",
}
SUCCESS = {"createReport": 202}  # every other operation answers 200
LWA_FIELDS = {"grant_type", "refresh_token", "client_id", "client_secret"}


class Recorder:
    """A session that keeps every response (and so its request) the client gets."""

    def __init__(self) -> None:
        self.session = requests.Session()
        self.session.hooks["response"].append(self._keep)
        self.responses: list[requests.Response] = []

    def _keep(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.responses.append(response)

    def check(self, models: SpapiModels) -> set[tuple[str, int]]:
        """Check every exchange; the (operation, status) pairs seen."""
        seen: set[tuple[str, int]] = set()
        for response in self.responses:
            path = urlsplit(response.request.url or "").path
            if path == "/auth/o2/token":
                _check_lwa(response)
                seen.add(("lwaToken", response.status_code))
            elif path.startswith("/_download/"):
                _check_download(response)
                seen.add(("download", response.status_code))
            else:
                operation = models.check_exchange(response)
                seen.add((operation.operation_id, response.status_code))
        return seen


def _check_lwa(response: requests.Response) -> None:
    """spapi-notes 1: a form-encoded refresh-token grant with exactly the four fields."""
    request = response.request
    assert request.method == "POST"
    assert request.headers["Content-Type"].startswith("application/x-www-form-urlencoded")
    body = request.body.decode() if isinstance(request.body, bytes) else str(request.body)
    form = parse_qs(body, keep_blank_values=True)
    assert set(form) == LWA_FIELDS
    assert form["grant_type"] == ["refresh_token"]
    assert "x-amz-access-token" not in request.headers


def _check_download(response: requests.Response) -> None:
    """spapi-notes 3.5: the pre-signed URL is fetched with a plain GET, no SP-API headers."""
    request = response.request
    assert request.method == "GET"
    assert request.body is None
    assert "x-amz-access-token" not in request.headers


@pytest.fixture(scope="module")
def models() -> SpapiModels:
    return SpapiModels()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(
        orders=40, seed=31, time_scale=0, start_time=START, report_delay_s=20
    ) as running:
        yield running


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    recording = Recorder()
    yield recording
    recording.session.close()


def _client(sim: Simulator, recorder: Recorder) -> SpApiClient:
    """Our client on the simulator's clock, with its own rate-limit buckets."""

    def sleep(seconds: float) -> None:
        sim.clock.advance(seconds)

    creds = sim.credentials
    return SpApiClient(
        client_id=creds.client_id,
        client_secret=Secret(creds.client_secret),
        refresh_token=Secret(creds.refresh_token),
        region="eu",
        endpoint=sim.url,
        token_url=sim.token_url,
        session=recorder.session,
        sleep=sleep,
        monotonic=lambda: sim.clock.now().timestamp(),
        max_wait=3600.0,
        rate_limiter=RateLimiter(),
    )


def _attempt(call: Callable[[], object]) -> None:
    """Call; an SP-API error is an answer like any other here (the exchange is what counts)."""
    with contextlib.suppress(SpApiError):
        call()


def test_login_and_a_full_sync_conform(
    sim: Simulator, models: SpapiModels, recorder: Recorder, refhost: ReferenceHost
) -> None:
    account = replace(
        simulator_account(sim),
        settings={"poll_interval": "5", "max_poll_interval": "15", "report_deadline": "600"},
    )
    refhost.store.add_account(account)
    client = _client(sim, recorder)
    assert check_login(account, client=client).ok
    host = SyncHost(refhost.store, refhost.plugins)
    result = sync_account(
        account,
        host,
        map_address=lambda row, kind: host.map_address(row=row, kind=kind, account=account),
        client=client,
        now=sim.clock.now,
    )
    assert result.ok, result.message
    # the EU account imports FBA orders as shipped beside the seller's open orders
    assert result.created == len(sim_open(sim)) + len(fba_shipped(sim))
    assert result.created > 5
    seen = recorder.check(models)
    assert seen == {
        ("lwaToken", 200),
        ("getMarketplaceParticipations", 200),
        ("createReport", 202),
        ("getReport", 200),
        ("createRestrictedDataToken", 200),
        ("getReportDocument", 200),
        ("download", 200),
    }
    polls = sum("/reports/2021-06-30/reports/" in (r.request.url or "") for r in recorder.responses)
    assert polls >= 4  # both reports went IN_QUEUE, IN_PROGRESS, DONE


def test_every_operation_conforms_in_success_and_each_error(
    sim: Simulator, models: SpapiModels, recorder: Recorder
) -> None:
    client = _client(sim, recorder)
    since = START - timedelta(days=60)
    report_id = client.create_report(INVOICING, [DE], data_start_time=since)
    report = client.wait_for_report(report_id, poll_interval=10)
    assert report.report_document_id is not None
    document_id = report.report_document_id
    document_path = f"/reports/2021-06-30/documents/{document_id}"
    order_id = sim.ground_truth()[0]["amazon_order_id"]
    calls: dict[str, Callable[[], object]] = {
        "getMarketplaceParticipations": client.get_marketplace_participations,
        "createReport": lambda: client.create_report(INVOICING, [DE], data_start_time=since),
        "getReport": lambda: client.get_report(report_id),
        "createRestrictedDataToken": lambda: client.create_restricted_data_token(document_path),
        "getReportDocument": lambda: client.get_report_document(document_id, restricted=True),
        "searchOrders": lambda: list(
            client.search_orders(
                marketplace_ids=EU5,
                created_after=since,
                included_data=EVERYTHING,
                max_results_per_page=25,
            )
        ),
        "getOrder": lambda: client.get_order(order_id, included_data=EVERYTHING),
    }
    assert set(calls) == set(OPERATIONS)
    for operation, call in calls.items():
        call()
        for fault in ERROR_FAULTS.values():
            add_fault(sim, fault, operation=operation)
            _attempt(call)
    assert sim.faults.active() == []  # every fault struck
    seen = recorder.check(models)
    for operation in OPERATIONS:
        for status in (SUCCESS.get(operation, 200), *ERROR_FAULTS):
            assert (operation, status) in seen, (operation, status)


def test_every_parameter_the_client_can_send_conforms(
    sim: Simulator, models: SpapiModels, recorder: Recorder
) -> None:
    client = _client(sim, recorder)
    since, until = START - timedelta(days=30), START - timedelta(minutes=5)
    updated = client.search_orders(
        marketplace_ids=[DE, "A13V1IB3VIYZZH"],
        last_updated_after=since,
        last_updated_before=until,
        fulfillment_statuses=("UNSHIPPED", "PARTIALLY_SHIPPED"),
        fulfilled_by=("MERCHANT",),
        included_data=("BUYER", "RECIPIENT"),
        max_results_per_page=5,
    )
    created = client.search_orders(
        marketplace_ids=EU5, created_after=since, created_before=until, fulfilled_by=("AMAZON",)
    )
    assert list(updated)
    assert list(created)
    client.create_report(
        INVOICING,
        [DE],
        data_start_time=since,
        data_end_time=until,
        report_options={"ShowSalesChannel": "true"},
    )
    seen = recorder.check(models)
    assert {("searchOrders", 200), ("createReport", 202)} <= seen
    sent = parse_qs(urlsplit(recorder.responses[1].request.url or "").query)
    assert sorted(sent) == [
        "fulfilledBy", "fulfillmentStatuses", "includedData", "lastUpdatedAfter",
        "lastUpdatedBefore", "marketplaceIds", "maxResultsPerPage",
    ]  # fmt: skip


def test_the_simulators_own_errors_conform(
    sim: Simulator, models: SpapiModels, recorder: Recorder
) -> None:
    """Errors the simulator gives by itself, not by a request fault, and terminal reports."""
    client = _client(sim, recorder)
    missing_document = "amzn1.spdoc.1.4.eu.00000000-0000-0000-0000-000000000000.T1"
    _attempt(lambda: client.get_report("0"))
    _attempt(lambda: client.get_order("302-0000000-0000000"))
    _attempt(lambda: client.get_report_document(missing_document, restricted=False))
    _attempt(lambda: client.create_report(INVOICING, ["ATVPDKIKX0DER"]))  # not the seller's
    add_fault(sim, "restricted_role_missing", on="rdt")
    _attempt(lambda: client.create_restricted_data_token("/orders/v0/orders/{orderId}"))
    for stage in ("create", "document"):
        add_fault(sim, "restricted_role_missing", on=stage)
    _attempt(lambda: client.create_report(INVOICING, [DE]))
    for fault in ("report_fatal", "report_cancelled"):
        add_fault(sim, fault)
        report_id = client.create_report(
            INVOICING, [DE], data_start_time=START - timedelta(days=30)
        )
        _attempt(lambda: client.wait_for_report(report_id, poll_interval=10))  # noqa: B023
    seen = recorder.check(models)
    assert {
        ("getReport", 404),
        ("getOrder", 404),
        ("getReportDocument", 404),
        ("createReport", 400),
        ("createReport", 403),
        ("createRestrictedDataToken", 400),  # the restricted role missing, as on Amazon
        ("download", 200),  # the FATAL report's error document
    } <= seen
    statuses = {
        r.json().get("processingStatus")
        for r in recorder.responses
        if "/reports/2021-06-30/reports/" in (r.request.url or "") and r.ok
    }
    assert {"IN_QUEUE", "IN_PROGRESS", "FATAL", "CANCELLED"} <= statuses


def test_a_sync_through_faults_conforms(
    sim: Simulator, models: SpapiModels, recorder: Recorder, refhost: ReferenceHost
) -> None:
    """A sync that meets throttling, server errors and an expired token on its way."""
    account = replace(
        simulator_account(sim),
        settings={"poll_interval": "5", "max_poll_interval": "15", "report_deadline": "600"},
    )
    refhost.store.add_account(account)
    met = {
        ("createReport", "unavailable"): 503,
        ("createReport", "throttle"): 429,
        ("getReport", "internal_error"): 500,
        ("getReport", "token_expired"): 403,
        ("createRestrictedDataToken", "throttle"): 429,
        ("getReportDocument", "unavailable"): 503,
    }
    for operation, fault in met:
        add_fault(sim, fault, operation=operation)
    host = SyncHost(refhost.store, refhost.plugins)
    result = sync_account(
        account,
        host,
        map_address=lambda row, kind: host.map_address(row=row, kind=kind, account=account),
        client=_client(sim, recorder),
        now=sim.clock.now,
    )
    assert result.ok, result.message
    # the EU account imports FBA orders as shipped beside the seller's open orders
    assert result.created == len(sim_open(sim)) + len(fba_shipped(sim))
    assert sim.faults.active() == []
    seen = recorder.check(models)
    assert {(operation, status) for (operation, _), status in met.items()} <= seen
