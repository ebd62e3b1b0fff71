"""The simulator's confirmShipment over loopback HTTP, every exchange checked against ordersV0.json.

A package lands once per reference (a repeat edits it), the order moves to PartiallyShipped
and Shipped, and the admin truth, the v2026 ``includedData=PACKAGES`` and the all-orders
report show it; what Amazon refuses is refused with ``InvalidInput``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from helpers.shared import MODELS, needs
from helpers.sim import ALL_ORDERS, TIMEOUT, ConformingClient, SimClient, SpapiModels

from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.ordermodel import AmazonState, SimOrder

pytestmark = needs(MODELS)

START = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
ORDERS_V0 = "/orders/v0/orders"


@pytest.fixture(scope="module")
def models() -> SpapiModels:
    return SpapiModels()


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(orders=80, seed=5, time_scale=0, start_time=START) as running:
        yield running


@pytest.fixture
def client(sim: Simulator, models: SpapiModels) -> ConformingClient:
    return ConformingClient(sim, models)


def open_mfn(sim: Simulator) -> SimOrder:
    now = sim.clock.now()
    for order in sim.orders.values():
        if (
            order.fulfillment_channel == "MFN"
            and order.purchase_date <= now
            and order.state(now) is AmazonState.UNSHIPPED
        ):
            return order
    raise AssertionError("the seed has no such order")


def body(order: SimOrder, reference: str = "1", **detail: Any) -> dict[str, Any]:
    items = detail.pop("items", [(i.order_item_id, i.quantity) for i in order.items])
    package = {
        "packageReferenceId": reference,
        "carrierCode": "DHL",
        "shippingMethod": "DHL Paket",
        "trackingNumber": "00340434161234567890",
        "shipDate": "2026-08-03T10:00:00Z",
        "orderItems": [{"orderItemId": i, "quantity": q} for i, q in items],
    } | detail
    return {"marketplaceId": order.marketplace.id, "packageDetail": package}


def confirm(client: SimClient, order_id: str, payload: dict[str, Any]) -> requests.Response:
    return client.call("POST", f"{ORDERS_V0}/{order_id}/shipmentConfirmation", json=payload)


def truth(sim: Simulator, order_id: str) -> dict[str, Any]:
    orders = requests.get(f"{sim.url}/_simulator/orders", timeout=TIMEOUT).json()["orders"]
    found: dict[str, Any] = next(o for o in orders if o["amazon_order_id"] == order_id)
    return found


def test_a_confirmation_lands_once_and_a_repeat_edits_it(
    sim: Simulator, client: ConformingClient
) -> None:
    order = open_mfn(sim)
    first = confirm(client, order.order_id, body(order))
    assert (first.status_code, first.content) == (204, b"")
    assert first.headers["x-amzn-RateLimit-Limit"] == "2"
    again = confirm(client, order.order_id, body(order, trackingNumber="NEW123"))
    assert again.status_code == 204
    packages = truth(sim, order.order_id)["packages"]
    assert packages == [
        {
            "package_reference_id": "1",
            "carrier_code": "DHL",
            "carrier_name": None,
            "shipping_method": "DHL Paket",
            "tracking_number": "NEW123",
            "ship_date": "2026-08-03T10:00:00+00:00",
            "items": [
                {"order_item_id": i.order_item_id, "quantity": i.quantity} for i in order.items
            ],
        }
    ]
    assert truth(sim, order.order_id)["status"] == "shipped"
    assert ("confirmShipment", 204) in client.checked


def test_partial_shipments_keep_the_order_open_until_everything_is_packed(
    sim: Simulator, client: ConformingClient
) -> None:
    order = open_mfn(sim)
    item = order.items[0]
    with sim.lock:  # three of the first item, whatever the seed generated
        item.quantity = 3
    rest = [(i.order_item_id, i.quantity) for i in order.items if i is not item]
    part = body(order, "1", items=[(item.order_item_id, 1)])
    assert confirm(client, order.order_id, part).status_code == 204
    assert order.state(sim.clock.now()) is AmazonState.PARTIALLY_SHIPPED
    assert truth(sim, order.order_id)["status"] == "open"
    too_many = body(order, "2", items=[(item.order_item_id, item.quantity)])
    refused = confirm(client, order.order_id, too_many)
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] == "InvalidInput"
    last = [(item.order_item_id, item.quantity - 1), *rest]
    assert confirm(client, order.order_id, body(order, "2", items=last)).status_code == 204
    assert order.state(sim.clock.now()) is AmazonState.SHIPPED
    assert [p["package_reference_id"] for p in truth(sim, order.order_id)["packages"]] == ["1", "2"]
    single = client.call(
        "GET", f"/orders/2026-01-01/orders/{order.order_id}", params={"includedData": "PACKAGES"}
    ).json()["order"]
    assert [p["packageReferenceId"] for p in single["packages"]] == ["1", "2"]
    assert single["packages"][0]["carrier"] == "DHL"
    assert single["packages"][0]["packageItems"] == [
        {"orderItemId": item.order_item_id, "quantity": 1}
    ]
    assert ("getOrder", 200) in client.checked


def test_the_all_orders_report_shows_the_confirmed_order_shipped(
    sim: Simulator, client: ConformingClient
) -> None:
    order = open_mfn(sim)
    assert confirm(client, order.order_id, body(order)).status_code == 204
    download = SimClient(sim).fetch(ALL_ORDERS, marketplaces=[order.marketplace.id])
    _, rows = download.table()
    mine = [r for r in rows if r["amazon-order-id"] == order.order_id]
    assert mine
    assert {r["order-status"] for r in mine} == {"Shipped"}


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"carrierCode": "Schneckenpost"}, "carrierCode"),
        ({"carrierCode": "Other"}, "carrierName"),
        ({"shipDate": "02/21/2022"}, "shipDate"),
        ({"packageReferenceId": "0"}, "packageReferenceId"),
        ({"packageReferenceId": "A1"}, "packageReferenceId"),
        ({"items": [("00000000000000", 1)]}, "orderItemId"),
        ({"items": [("ITEM", 0)]}, "quantity"),
        ({"trackingNumber": " "}, "trackingNumber"),
    ],
)
def test_what_amazon_refuses_is_refused_and_changes_nothing(
    sim: Simulator, client: ConformingClient, change: dict[str, Any], reason: str
) -> None:
    order = open_mfn(sim)
    if change.get("items") == [("ITEM", 0)]:
        change = {"items": [(order.items[0].order_item_id, 0)]}
    reference = change.pop("packageReferenceId", "1")
    payload = body(order, reference, **change)
    # a date that is no ISO 8601 date-time breaks the model itself: sent unchecked
    sender = SimClient(sim) if reason == "shipDate" else client
    response = confirm(sender, order.order_id, payload)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == "InvalidInput"
    assert reason in error["details"]
    assert truth(sim, order.order_id)["packages"] == []
    assert order.state(sim.clock.now()) is AmazonState.UNSHIPPED


def test_other_with_a_name_is_accepted(sim: Simulator, client: ConformingClient) -> None:
    order = open_mfn(sim)
    payload = body(order, carrierCode="Other", carrierName="Spedition Meier")
    assert confirm(client, order.order_id, payload).status_code == 204
    assert truth(sim, order.order_id)["packages"][0]["carrier_name"] == "Spedition Meier"


def test_orders_that_cannot_ship_are_refused(sim: Simulator, client: ConformingClient) -> None:
    now = sim.clock.now()
    afn = next(
        o for o in sim.orders.values() if o.fulfillment_channel == "AFN" and o.purchase_date <= now
    )
    assert confirm(client, afn.order_id, body(afn)).status_code == 400
    cancelled = next(o for o in sim.orders.values() if o.state(now) is AmazonState.CANCELED)
    response = confirm(client, cancelled.order_id, body(cancelled))
    assert response.status_code == 400
    assert "cancelled" in response.json()["errors"][0]["details"]
    order = open_mfn(sim)
    missing = confirm(client, "999-0000000-0000000", body(order))
    assert missing.status_code == 404
    wrong_market = body(order)
    wrong_market["marketplaceId"] = (
        "A13V1IB3VIYZZH" if order.marketplace.code != "FR" else "A1PA6795UKMFR9"
    )
    assert confirm(client, order.order_id, wrong_market).status_code == 400


def test_faults_reach_confirm_shipment(sim: Simulator, client: ConformingClient) -> None:
    order = open_mfn(sim)
    for name, status in (("internal_error", 500), ("throttle", 429), ("unavailable", 503)):
        fault = {"name": name, "operation": "confirmShipment"}
        assert requests.post(f"{sim.url}/_simulator/faults", json=fault, timeout=TIMEOUT).ok
        assert confirm(client, order.order_id, body(order)).status_code == status
    assert truth(sim, order.order_id)["packages"] == []
    assert confirm(client, order.order_id, body(order)).status_code == 204
    assert len(truth(sim, order.order_id)["packages"]) == 1
