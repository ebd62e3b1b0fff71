"""Amazon's usage plans in the simulator: token buckets on the simulated clock, stats, clock API."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
from helpers.sim import ALL_ORDERS, DE, FR, TIMEOUT, SimClient, add_fault

from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.ratelimits import USAGE_PLANS

START = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
PARTICIPATIONS = "/sellers/v1/marketplaceParticipations"
REPORTS = "/reports/2021-06-30/reports"
SEARCH = "/orders/2026-01-01/orders"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(orders=30, seed=2, time_scale=0, start_time=START) as running:
        yield running


@pytest.fixture
def client(sim: Simulator) -> SimClient:
    return SimClient(sim)


def _stats(sim: Simulator) -> dict[str, dict[str, dict[str, int]]]:
    response = requests.get(f"{sim.url}/_simulator/stats", timeout=TIMEOUT)
    assert response.status_code == 200
    sellers: dict[str, dict[str, dict[str, int]]] = response.json()["sellers"]
    return sellers


def test_get_report_burst_then_refill(sim: Simulator, client: SimClient) -> None:
    report_id = client.create_report(ALL_ORDERS)
    path = f"/reports/2021-06-30/reports/{report_id}"
    statuses = [client.call("GET", path).status_code for _ in range(20)]
    assert statuses == [200] * 15 + [429] * 5  # burst 15
    sim.clock.advance(2.5)  # rate 2/s: five tokens
    statuses = [client.call("GET", path).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


def test_rate_limit_header_only_on_success_and_client_errors(
    sim: Simulator, client: SimClient
) -> None:
    ok = client.call("GET", PARTICIPATIONS)
    assert ok.headers["x-amzn-RateLimit-Limit"] == "0.016"
    created = client.call(
        "POST",
        "/reports/2021-06-30/reports",
        json={"reportType": ALL_ORDERS, "marketplaceIds": [DE]},
    )
    assert (created.status_code, created.headers["x-amzn-RateLimit-Limit"]) == (202, "0.0167")
    bad = client.call("POST", "/reports/2021-06-30/reports", json={"reportType": "NOPE"})
    assert (bad.status_code, bad.headers["x-amzn-RateLimit-Limit"]) == (400, "0.0167")
    missing = client.call("GET", "/reports/2021-06-30/reports/1")
    assert (missing.status_code, missing.headers["x-amzn-RateLimit-Limit"]) == (404, "2")
    forbidden = client.call("GET", PARTICIPATIONS, token="Atza|forged")
    assert forbidden.status_code == 403
    assert "x-amzn-RateLimit-Limit" not in forbidden.headers
    assert "x-amzn-RateLimit-Limit" not in client.lwa().headers
    for fault, status in (("internal_error", 500), ("unavailable", 503)):
        add_fault(sim, fault)
        failed = client.call("GET", PARTICIPATIONS)
        assert failed.status_code == status
        assert "x-amzn-RateLimit-Limit" not in failed.headers
    answers = [client.call("GET", PARTICIPATIONS) for _ in range(15)]
    # one token went to the first call; the faults were answered before the bucket
    assert [a.status_code for a in answers] == [200] * 14 + [429]
    assert "x-amzn-RateLimit-Limit" not in answers[-1].headers


def test_buckets_are_per_operation(client: SimClient) -> None:
    for _ in range(15):
        assert client.call("GET", PARTICIPATIONS).status_code == 200
    assert client.call("GET", PARTICIPATIONS).status_code == 429
    body = {"restrictedResources": [{"method": "GET", "path": "/orders/v0/orders/{orderId}"}]}
    assert (
        client.call("POST", "/tokens/2021-03-01/restrictedDataToken", json=body).status_code == 200
    )


def test_rate_limits_can_be_switched_off() -> None:
    with Simulator(orders=5, time_scale=0, rate_limits=False) as sim:
        client = SimClient(sim)
        assert {client.call("GET", PARTICIPATIONS).status_code for _ in range(20)} == {200}


@pytest.mark.slow
def test_a_simulated_day_of_polling(sim: Simulator, client: SimClient) -> None:
    """A day of polling in seconds: the clock jumps a minute at a time, the buckets decide.

    The busy seller asks for two reports (status and order report, as a sync does) every minute
    and searches orders every two minutes, more than Amazon allows; a quiet seller does both
    every 15 minutes.
    """
    quiet = SimClient(sim, sim.add_seller(marketplaces=["FR"], orders=5).seller_id)
    requests.delete(f"{sim.url}/_simulator/stats", timeout=TIMEOUT)
    day, minutes = 24 * 3600, 24 * 60
    # seller, marketplace, minutes between report requests, reports each time, between searches
    plans = ((client, DE, 1, 2, 2), (quiet, FR, 15, 1, 15))
    for minute in range(1, minutes + 1):
        now = sim.clock.advance(60)
        for seller, marketplace, report_every, reports, search_every in plans:
            if seller.token_expires_soon():
                seller.refresh()
            if minute % report_every == 0:
                start = (now - timedelta(minutes=10)).isoformat()
                body = {"reportType": ALL_ORDERS, "marketplaceIds": [marketplace]}
                for _ in range(reports):
                    seller.call("POST", REPORTS, json=body | {"dataStartTime": start})
            if minute % search_every == 0:
                since = (now - timedelta(minutes=30)).isoformat()
                seller.call("GET", SEARCH, params={"lastUpdatedAfter": since})
    stats = _stats(sim)
    busy, calm = stats[sim.default_seller.seller_id], stats[_quiet_id(sim)]
    # a bucket allows its burst plus its rate times 86400 s a day (Amazon's published plans)
    allowed = {"createReport": 15 + 0.0167 * day, "searchOrders": 20 + 0.0056 * day}
    for operation, demand in (("createReport", 2 * minutes), ("searchOrders", minutes // 2)):
        counts = busy[operation]
        ok = counts["202" if operation == "createReport" else "200"]
        assert counts["calls"] == demand
        assert allowed[operation] - 2 <= ok <= allowed[operation]
        assert counts["throttled"] == counts["429"] == demand - ok
    # the quiet seller's buckets are its own: under its rate, never throttled
    assert calm["createReport"] == {"calls": minutes // 15, "202": minutes // 15, "throttled": 0}
    assert calm["searchOrders"] == {"calls": minutes // 15, "200": minutes // 15, "throttled": 0}
    for seller_stats in (busy, calm):
        assert seller_stats["lwaToken"]["calls"] in (24, 25)  # a new access token every hour


def _quiet_id(sim: Simulator) -> str:
    return next(s for s in sim.sellers if s != sim.default_seller.seller_id)


def test_stats_count_per_seller_and_operation(sim: Simulator, client: SimClient) -> None:
    client.call("GET", PARTICIPATIONS)
    client.call("GET", PARTICIPATIONS, token="Atza|forged")
    stats = _stats(sim)
    mine = stats[sim.default_seller.seller_id]
    assert mine["getMarketplaceParticipations"] == {"calls": 1, "200": 1, "throttled": 0}
    assert mine["lwaToken"]["200"] == 1
    assert stats["anonymous"]["getMarketplaceParticipations"]["403"] == 1
    assert requests.delete(f"{sim.url}/_simulator/stats", timeout=TIMEOUT).json() == {"sellers": {}}
    assert _stats(sim) == {}


def test_clock_admin_api(sim: Simulator) -> None:
    url = f"{sim.url}/_simulator/clock"
    assert requests.get(url, timeout=TIMEOUT).json() == {
        "now": "2026-08-03T12:00:00Z",
        "time_scale": 0.0,
    }
    moved = requests.post(url, json={"advance_seconds": 3600}, timeout=TIMEOUT).json()
    assert moved["now"] == "2026-08-03T13:00:00Z"
    scaled = requests.post(url, json={"time_scale": 60}, timeout=TIMEOUT).json()
    assert scaled["time_scale"] == 60.0
    assert sim.clock.time_scale == 60.0
    assert requests.post(url, json={"advance_seconds": -5}, timeout=TIMEOUT).status_code == 400
    assert requests.post(url, json={"time_scale": "fast"}, timeout=TIMEOUT).status_code == 400


def test_usage_plans_are_amazons_published_figures() -> None:
    """spapi-notes 3.1, 4, 6.5, 6.6: the simulator's own table (the client keeps its own)."""
    assert {op: (plan.rate, plan.burst) for op, plan in USAGE_PLANS.items()} == {
        "createReport": (0.0167, 15),
        "getReport": (2.0, 15),
        "getReportDocument": (0.0167, 15),
        "createRestrictedDataToken": (1.0, 10),
        "getMarketplaceParticipations": (0.016, 15),
        "searchOrders": (0.0056, 20),
        "getOrder": (0.5, 30),
        "getReports": (0.0222, 10),
        "cancelReport": (0.0222, 10),
        "getOrders": (0.0167, 20),
        "getOrderItems": (0.5, 30),
        "getOrderAddress": (0.5, 30),
        "getOrderBuyerInfo": (0.5, 30),
        "getOrderItemsBuyerInfo": (0.5, 30),
        "confirmShipment": (2.0, 10),
        "createFeedDocument": (0.5, 15),
        "createFeed": (0.0083, 15),
        "getFeed": (2.0, 15),
        "getFeeds": (0.0222, 10),
        "getFeedDocument": (0.0222, 10),
    }
