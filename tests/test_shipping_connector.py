"""The connector's shipping confirmation: carriers, the checks before Amazon is called, and
confirmShipment through the real client against the simulator (on the simulator's clock)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from helpers.accounts import simulator_account
from helpers.fault_harness import SimTime
from helpers.memory_host import MemoryHost
from helpers.shared import MODELS, needs
from helpers.sim import TIMEOUT, SpapiModels, add_fault

from hyreka_plugin_amazon.carriers import (
    ALIASES,
    CARRIER_CODES,
    UnknownCarrierError,
    carrier_code,
    closest,
)
from hyreka_plugin_amazon.contract import (
    Account,
    Shipment,
    ShipmentItem,
    ShipmentState,
)
from hyreka_plugin_amazon.refhost.manager import make_plugin_manager
from hyreka_plugin_amazon.shipping import confirm_shipments
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.ordermodel import AmazonState, SimOrder
from hyreka_plugin_amazon.spapi import SpApiClient
from hyreka_plugin_amazon.spapi.ratelimit import RateLimiter

START = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
SHIP_DATE = datetime(2026, 8, 3, 9, 30, tzinfo=UTC)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(orders=60, seed=7, time_scale=0, start_time=START) as running:
        yield running


@pytest.fixture
def account(sim: Simulator) -> Account:
    return simulator_account(sim)


def client_for(sim: Simulator, account: Account) -> SpApiClient:
    time = SimTime(sim)
    return SpApiClient.for_account(
        account, sleep=time.sleep, monotonic=time.monotonic, rate_limiter=RateLimiter()
    )


def open_mfn(sim: Simulator, skip: int = 0) -> SimOrder:
    now = sim.clock.now()
    found = [
        o
        for o in sim.orders.values()
        if o.fulfillment_channel == "MFN"
        and o.purchase_date <= now
        and o.state(now) is AmazonState.UNSHIPPED
    ]
    return found[skip]


def shipment(order: SimOrder, package_id: int = 1, **change: object) -> Shipment:
    fields: dict[str, object] = {
        "amazon_order_id": order.order_id,
        "package_id": package_id,
        "carrier": "dhl paket",
        "tracking_number": "00340434161234567890",
        "ship_date": SHIP_DATE,
        "items": tuple(ShipmentItem(i.order_item_id, i.quantity) for i in order.items),
        "marketplace_id": order.marketplace.id,
    } | change
    return Shipment(**fields)  # type: ignore[arg-type]


def packages(sim: Simulator, order_id: str) -> list[dict[str, object]]:
    orders = requests.get(f"{sim.url}/_simulator/orders", timeout=TIMEOUT).json()["orders"]
    found: list[dict[str, object]] = next(
        o["packages"] for o in orders if o["amazon_order_id"] == order_id
    )
    return found


# ------------------------------------------------------------------------------ carriers


def test_german_names_map_to_amazons_codes() -> None:
    assert carrier_code("dhl") == "DHL"
    assert carrier_code("DHL Paket") == "DHL"
    assert carrier_code("  deutsche   post ") == "Deutsche Post"
    assert carrier_code("Warenpost") == "Deutsche Post"
    assert carrier_code("DPD") == "DPD"
    assert carrier_code("Hermes Germany") == "Hermes Logistik Gruppe"
    assert carrier_code("gls") == "GLS"
    assert carrier_code("UPS") == "UPS"
    assert carrier_code("fedex") == "FedEx"
    assert carrier_code("sonstige") == "Other"
    assert set(ALIASES.values()) <= set(CARRIER_CODES)
    assert len(set(CARRIER_CODES)) == len(CARRIER_CODES)


def test_an_unknown_carrier_names_the_closest_known() -> None:
    with pytest.raises(UnknownCarrierError) as caught:
        carrier_code("DHX")
    assert "DHL" in caught.value.suggestions
    assert "DHL" in str(caught.value)
    assert "Hermes Logistik Gruppe" in closest("Hermes Paketshop")
    with pytest.raises(UnknownCarrierError):
        carrier_code("   ")


# ------------------------------------------------------------------------------ confirming


def test_a_confirmation_lands_once(sim: Simulator, account: Account) -> None:
    order = open_mfn(sim)
    client = client_for(sim, account)
    host = MemoryHost(make_plugin_manager())
    outcomes = confirm_shipments(account, [shipment(order)], host, client=client)
    assert [o.state for o in outcomes] == [ShipmentState.CONFIRMED]
    assert outcomes[0].code == "ship.confirmed"
    again = confirm_shipments(account, [shipment(order)], host, client=client)
    assert again[0].state is ShipmentState.CONFIRMED
    found = packages(sim, order.order_id)
    assert len(found) == 1
    assert found[0]["carrier_code"] == "DHL"
    assert found[0]["ship_date"] == "2026-08-03T09:30:00+00:00"
    assert client.calls["confirmShipment"] == 2


def test_refusals_before_amazon_cost_no_call(sim: Simulator, account: Account) -> None:
    order = open_mfn(sim)
    client = client_for(sim, account)
    host = MemoryHost(make_plugin_manager())
    first = order.items[0]
    refused = [
        shipment(order, carrier="Schneckenpost"),
        shipment(order, carrier="Other"),
        shipment(order, tracking_number=" "),
        shipment(order, package_id=0),
        shipment(order, items=()),
        shipment(order, items=(ShipmentItem(first.order_item_id, 0),)),
        shipment(order, ship_date=datetime(2026, 8, 3, 9, 30)),
    ]
    outcomes = confirm_shipments(account, refused, host, client=client)
    assert [o.state for o in outcomes] == [ShipmentState.REFUSED] * len(refused)
    assert [o.code for o in outcomes] == [
        "ship.unknown_carrier",
        "ship.carrier_name_missing",
        "ship.bad_tracking",
        "ship.bad_package",
        "ship.no_items",
        "ship.bad_quantity",
        "ship.bad_date",
    ]
    assert "DHL" not in outcomes[0].message or "Schneckenpost" in outcomes[0].message
    assert "Schneckenpost" in outcomes[0].message
    assert client.calls["confirmShipment"] == 0
    assert packages(sim, order.order_id) == []


def test_items_are_checked_against_the_hosts_order(sim: Simulator, account: Account) -> None:
    order = open_mfn(sim)
    host = MemoryHost(make_plugin_manager())
    host.upsert_order(account.id, order.host_order(sim.clock.now()))
    client = client_for(sim, account)
    first = order.items[0]
    outcomes = confirm_shipments(
        account,
        [
            shipment(order, items=(ShipmentItem("12345678901234", 1),)),
            shipment(order, items=(ShipmentItem(first.order_item_id, first.quantity + 1),)),
            shipment(order, marketplace_id=None),  # the host's order names it
        ],
        host,
        client=client,
    )
    assert [o.code for o in outcomes] == ["ship.unknown_item", "ship.too_many", "ship.confirmed"]
    assert client.calls["confirmShipment"] == 1


def test_amazons_refusal_is_passed_on_with_its_reason(sim: Simulator, account: Account) -> None:
    order = open_mfn(sim)
    client = client_for(sim, account)
    host = MemoryHost(make_plugin_manager())
    wrong = "A13V1IB3VIYZZH" if order.marketplace.code != "FR" else "A1PA6795UKMFR9"
    outcome = confirm_shipments(account, [shipment(order, marketplace_id=wrong)], host,
                                client=client)[0]  # fmt: skip
    assert outcome.state is ShipmentState.REFUSED
    assert outcome.code == "ship.refused"
    assert "marketplaceId" in outcome.message


@pytest.mark.parametrize("fault", ["internal_error", "drop_connection", "throttle"])
def test_faults_leave_the_shipment_to_retry_and_never_double_it(
    sim: Simulator, account: Account, fault: str
) -> None:
    order, later = open_mfn(sim), open_mfn(sim, skip=1)
    client = SpApiClient.for_account(
        account,
        sleep=SimTime(sim).sleep,
        monotonic=SimTime(sim).monotonic,
        rate_limiter=RateLimiter(),
        max_attempts=2,
    )
    host = MemoryHost(make_plugin_manager())
    add_fault(sim, fault, operation="confirmShipment", count=2)
    outcomes = confirm_shipments(account, [shipment(order), shipment(later)], host, client=client)
    assert [o.state for o in outcomes] == [ShipmentState.RETRY, ShipmentState.RETRY]
    assert outcomes[1].code == outcomes[0].code
    assert client.calls["confirmShipment"] == 2  # the second waits: Amazon was out of reach
    outcomes = confirm_shipments(account, [shipment(order), shipment(later)], host, client=client)
    assert [o.state for o in outcomes] == [ShipmentState.CONFIRMED] * 2
    assert len(packages(sim, order.order_id)) == 1
    assert len(packages(sim, later.order_id)) == 1


def test_refused_credentials_ask_for_reauthorisation(sim: Simulator, account: Account) -> None:
    order = open_mfn(sim)
    add_fault(sim, "lwa_invalid_grant")
    host = MemoryHost(make_plugin_manager())
    outcome = confirm_shipments(account, [shipment(order)], host, client=client_for(sim, account))[
        0
    ]
    assert outcome.state is ShipmentState.RETRY
    assert outcome.needs_reauthorization
    assert outcome.code == "ship.auth_failed"


@needs(MODELS)
def test_the_clients_requests_conform_to_orders_v0(sim: Simulator, account: Account) -> None:
    """Every confirmShipment our client sends (with and without the optional fields, and the
    answers 204, 400 and 429) is checked against ordersV0.json."""
    responses: list[requests.Response] = []
    session = requests.Session()

    def keep(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        responses.append(response)

    session.hooks["response"].append(keep)
    time = SimTime(sim)
    client = SpApiClient.for_account(
        account,
        session=session,
        sleep=time.sleep,
        monotonic=time.monotonic,
        rate_limiter=RateLimiter(),
        max_attempts=1,
    )
    host = MemoryHost(make_plugin_manager())
    order, other = open_mfn(sim), open_mfn(sim, skip=1)
    wrong = "A13V1IB3VIYZZH" if order.marketplace.code != "FR" else "A1PA6795UKMFR9"
    add_fault(sim, "throttle", operation="confirmShipment", count=1)
    shipments = [
        shipment(other),  # 429, left to retry
    ]
    confirm_shipments(account, shipments, host, client=client)
    shipments = [
        shipment(order, carrier="Other", carrier_name="Spedition Meier", shipping_method="LKW"),
        shipment(other, marketplace_id=wrong),
        shipment(other),
    ]
    outcomes = confirm_shipments(account, shipments, host, client=client)
    assert [o.state for o in outcomes] == [
        ShipmentState.CONFIRMED,
        ShipmentState.REFUSED,
        ShipmentState.CONFIRMED,
    ]
    models = SpapiModels()
    seen = set()
    for response in responses:
        if urlsplit(response.request.url or "").path == "/auth/o2/token":
            continue
        seen.add((models.check_exchange(response).operation_id, response.status_code))
    assert seen == {("confirmShipment", 204), ("confirmShipment", 400), ("confirmShipment", 429)}


def test_the_transport_retries_a_confirmation_into_one_package(
    sim: Simulator, account: Account
) -> None:
    """Two 500s and a dropped connection inside one call: the one retry policy repeats the
    same package reference until Amazon takes it; Amazon holds it once."""
    order = open_mfn(sim)
    add_fault(sim, "internal_error", operation="confirmShipment", count=2)
    add_fault(sim, "drop_connection", operation="confirmShipment", count=1)
    client = client_for(sim, account)
    host = MemoryHost(make_plugin_manager())
    outcome = confirm_shipments(account, [shipment(order)], host, client=client)[0]
    assert outcome.state is ShipmentState.CONFIRMED
    assert client.calls["confirmShipment"] == 4
    assert len(packages(sim, order.order_id)) == 1


def test_an_fba_order_is_refused_before_amazon(sim: Simulator, account: Account) -> None:
    now = sim.clock.now()
    afn = next(
        o for o in sim.orders.values() if o.fulfillment_channel == "AFN" and o.purchase_date <= now
    )
    host = MemoryHost(make_plugin_manager())
    host.upsert_order(account.id, afn.host_order(now))
    client = client_for(sim, account)
    outcome = confirm_shipments(account, [shipment(afn)], host, client=client)[0]
    assert (outcome.state, outcome.code) == (ShipmentState.REFUSED, "ship.fulfilled_by_amazon")
    assert client.calls["confirmShipment"] == 0
