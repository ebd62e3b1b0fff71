"""Several seller accounts at once in the simulator, and a basic account the API refuses."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from helpers.sim import ALL_ORDERS, DE, INVOICING, TIMEOUT, SimClient, add_fault

from hyreka_plugin_amazon.simulator import Simulator

START = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
PARTICIPATIONS = "/sellers/v1/marketplaceParticipations"
US, JP = "ATVPDKIKX0DER", "A1VC38T7YXB528"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(orders=20, seed=5, time_scale=0, start_time=START) as running:
        yield running


def _add_seller(sim: Simulator, **spec: Any) -> dict[str, Any]:
    response = requests.post(f"{sim.url}/_simulator/sellers", json=spec, timeout=TIMEOUT)
    assert response.status_code == 201, response.text
    seller: dict[str, Any] = response.json()["seller"]
    return seller


def test_sellers_in_several_regions(sim: Simulator) -> None:
    us = _add_seller(sim, marketplaces=["US"], orders=10)
    jp = _add_seller(sim, marketplaces=["JP"], orders=5)
    assert (us["region"], jp["region"]) == ("na", "fe")
    assert us["credentials"]["refresh_token"] != sim.credentials.refresh_token
    us_client = SimClient(sim, us["seller_id"])
    payload = us_client.call("GET", PARTICIPATIONS).json()["payload"]
    assert [p["marketplace"]["id"] for p in payload] == [US]
    # a seller sees only its own marketplaces and orders
    refused = us_client.call(
        "POST",
        "/reports/2021-06-30/reports",
        json={"reportType": ALL_ORDERS, "marketplaceIds": [DE]},
    )
    assert refused.status_code == 400
    _, rows = us_client.fetch(ALL_ORDERS, marketplaces=[US]).table()
    us_truth = sim.ground_truth(us["seller_id"])
    assert len(us_truth) == 10
    assert {r["amazon-order-id"] for r in rows} == {o["amazon_order_id"] for o in us_truth}
    listed = requests.get(f"{sim.url}/_simulator/sellers", timeout=TIMEOUT).json()["sellers"]
    assert [s["seller_id"] for s in listed] == [
        sim.default_seller.seller_id,
        us["seller_id"],
        jp["seller_id"],
    ]
    by_seller = requests.get(
        f"{sim.url}/_simulator/orders", params={"seller_id": jp["seller_id"]}, timeout=TIMEOUT
    )
    assert len(by_seller.json()["orders"]) == 5


def test_regional_hosts_refuse_other_regions_tokens(sim: Simulator) -> None:
    us = _add_seller(sim, marketplaces=["US"], orders=3)
    assert us["endpoint"] == sim.region_url("na") == f"{sim.url}/na"
    eu_client, us_client = SimClient(sim), SimClient(sim, us["seller_id"])
    for client, home, abroad in ((eu_client, "eu", "na"), (us_client, "na", "fe")):
        at_home = requests.get(
            f"{sim.region_url(home)}{PARTICIPATIONS}",
            headers={"x-amz-access-token": client.token},
            timeout=TIMEOUT,
        )
        assert at_home.status_code == 200
        away = requests.get(
            f"{sim.region_url(abroad)}{PARTICIPATIONS}",
            headers={"x-amz-access-token": client.token},
            timeout=TIMEOUT,
        )
        assert away.status_code == 403
        assert away.json()["errors"][0]["code"] == "Unauthorized"
    # an RDT names the operation's path, the same at every host
    report = eu_client.wait_report(eu_client.create_report(INVOICING, [DE]))
    document_path = f"/reports/2021-06-30/documents/{report['reportDocumentId']}"
    document = requests.get(
        f"{sim.region_url('eu')}{document_path}",
        headers={"x-amz-access-token": eu_client.rdt(document_path)},
        timeout=TIMEOUT,
    )
    assert document.status_code == 200
    with pytest.raises(ValueError, match="unknown region"):
        sim.region_url("mars")


def test_each_seller_has_its_own_buckets(sim: Simulator) -> None:
    other = _add_seller(sim, marketplaces=["FR"], orders=3)
    first, second = SimClient(sim), SimClient(sim, other["seller_id"])
    assert [first.call("GET", PARTICIPATIONS).status_code for _ in range(16)][-1] == 429
    assert second.call("GET", PARTICIPATIONS).status_code == 200


def test_sellers_of_the_same_app(sim: Simulator) -> None:
    other = _add_seller(sim, marketplaces=["IT"], orders=3, same_app=True)
    creds = other["credentials"]
    assert creds["client_id"] == sim.credentials.client_id
    assert creds["refresh_token"] != sim.credentials.refresh_token
    client = SimClient(sim, other["seller_id"])
    payload = client.call("GET", PARTICIPATIONS).json()["payload"]
    assert [p["marketplace"]["countryCode"] for p in payload] == ["IT"]


def test_faults_can_target_one_seller(sim: Simulator) -> None:
    other = _add_seller(sim, marketplaces=["ES"], orders=3)
    add_fault(sim, "internal_error", rate=1.0, seller_id=other["seller_id"])
    assert SimClient(sim).call("GET", PARTICIPATIONS).status_code == 200
    assert SimClient(sim, other["seller_id"]).call("GET", PARTICIPATIONS).status_code == 500


def test_a_basic_seller_account_is_refused(sim: Simulator) -> None:
    basic = _add_seller(sim, marketplaces=["DE"], orders=2, professional=False)
    client = SimClient(sim, basic["seller_id"])
    assert client.lwa().status_code == 200  # the login itself works
    refused = client.call("GET", PARTICIPATIONS)
    assert refused.status_code == 403
    error = refused.json()["errors"][0]
    assert error["code"] == "Unauthorized"
    assert "Professional" in error["details"]


@pytest.mark.parametrize(
    "spec",
    [
        {"marketplaces": []},
        {"marketplaces": ["DE", "US"]},
        {"marketplaces": ["XX"]},
        {"orders": "many"},
    ],
)
def test_bad_seller_specifications(sim: Simulator, spec: dict[str, Any]) -> None:
    response = requests.post(f"{sim.url}/_simulator/sellers", json=spec, timeout=TIMEOUT)
    assert response.status_code == 400
