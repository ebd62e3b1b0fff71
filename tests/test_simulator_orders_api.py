"""Orders API v2026-01-01 of the simulator, consistent with the ground truth; order admin."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests
from helpers.sim import ALL_ORDERS, FR, INVOICING, LONG_AGO, TIMEOUT, SimClient

from hyreka_plugin_amazon.contract import Order
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.clock import zulu

START = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
SEARCH = "/orders/2026-01-01/orders"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(orders=80, seed=4, time_scale=0, start_time=START, rate_limits=False) as running:
        yield running


@pytest.fixture
def client(sim: Simulator) -> SimClient:
    return SimClient(sim)


def _search(client: SimClient, **params: Any) -> list[dict[str, Any]]:
    """All pages of a search."""
    orders: list[dict[str, Any]] = []
    query: dict[str, Any] = dict(params)
    while True:
        response = client.call("GET", SEARCH, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        orders += body["orders"]
        token = body.get("pagination", {}).get("nextToken")
        if token is None:
            return orders
        query = {  # the model: every parameter as before but the page size and datasets
            **{k: v for k, v in params.items() if k not in ("maxResultsPerPage", "includedData")},
            "paginationToken": token,
            "maxResultsPerPage": params.get("maxResultsPerPage", 100),
        }


def test_search_pages_through_every_order(sim: Simulator, client: SimClient) -> None:
    first = client.call("GET", SEARCH, params={"createdAfter": LONG_AGO, "maxResultsPerPage": 30})
    body = first.json()
    assert len(body["orders"]) == 30
    assert body["createdBefore"] == "2026-08-03T11:58:00Z"  # two minutes before now
    assert "nextToken" in body["pagination"]
    found = _search(client, createdAfter=LONG_AGO, maxResultsPerPage=30)
    assert [o["orderId"] for o in found] == [o["amazon_order_id"] for o in sim.ground_truth()]
    created = [o["createdTime"] for o in found]
    assert created == sorted(created)


def test_search_by_status_matches_the_ground_truth(sim: Simulator, client: SimClient) -> None:
    found = _search(
        client, createdAfter=LONG_AGO, fulfillmentStatuses="UNSHIPPED,PARTIALLY_SHIPPED"
    )
    open_orders = {o["amazon_order_id"] for o in sim.ground_truth() if o["status"] == "open"}
    assert {o["orderId"] for o in found} == open_orders
    afn = _search(client, createdAfter=LONG_AGO, fulfilledBy="AMAZON")
    truth_afn = {
        o["amazon_order_id"] for o in sim.ground_truth() if o["fulfillment_channel"] == "AFN"
    }
    assert {o["orderId"] for o in afn} == truth_afn


def test_included_data_agrees_with_the_ground_truth(sim: Simulator, client: SimClient) -> None:
    status = {
        "PENDING": "pending",
        "UNSHIPPED": "open",
        "PARTIALLY_SHIPPED": "open",
        "SHIPPED": "shipped",
        "CANCELLED": "cancelled",
    }
    found = _search(
        client, createdAfter=LONG_AGO, includedData="BUYER,RECIPIENT,PROCEEDS,FULFILLMENT"
    )
    truth = {o["amazon_order_id"]: o for o in sim.ground_truth()}
    for order in found:
        expected = truth[order["orderId"]]
        assert status[order["fulfillment"]["fulfillmentStatus"]] == expected["status"]
        assert order["salesChannel"]["marketplaceId"] == expected["marketplace_id"]
        assert order["buyer"]["buyerName"] == expected["billing_address"]["name"]
        assert [i["orderItemId"] for i in order["orderItems"]] == [
            line["order_item_id"] for line in expected["lines"]
        ]
        if expected["status"] in ("pending", "cancelled"):
            assert "proceeds" not in order
            assert "recipient" not in order
            assert all("price" not in i["product"] for i in order["orderItems"])
            continue
        address = order["recipient"]["deliveryAddress"]
        shipping = expected["shipping_address"]
        assert address["name"] == shipping["name"]
        assert [address.get(f"addressLine{n}") for n in (1, 2, 3)][
            : len(shipping["lines"])
        ] == shipping["lines"]
        assert (address["postalCode"], address["city"], address["countryCode"]) == (
            shipping["postal_code"],
            shipping["city"],
            shipping["country_code"],
        )
        total = Order.from_dict(expected).total
        assert Decimal(order["proceeds"]["grandTotal"]["amount"]) == total
        assert order["proceeds"]["grandTotal"]["currencyCode"] == expected["currency"]


def test_last_updated_search_sees_a_shipment(sim: Simulator, client: SimClient) -> None:
    target = next(o["amazon_order_id"] for o in sim.ground_truth() if o["status"] == "open")
    sim.clock.advance(3600)
    mark = sim.clock.now().isoformat()
    sim.ship_order(target)
    early = client.call("GET", SEARCH, params={"lastUpdatedAfter": mark})
    assert early.status_code == 400  # "before" defaults to two minutes ago, before "after"
    sim.clock.advance(180)
    found = _search(client, lastUpdatedAfter=mark, includedData="FULFILLMENT")
    assert [(o["orderId"], o["fulfillment"]["fulfillmentStatus"]) for o in found] == [
        (target, "SHIPPED")
    ]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"createdAfter": LONG_AGO, "lastUpdatedAfter": LONG_AGO},
        {"createdAfter": LONG_AGO, "lastUpdatedBefore": "2026-08-01T00:00:00Z"},
        {"createdAfter": LONG_AGO, "createdBefore": "2026-08-03T11:59:00Z"},
        {"createdAfter": "2026-08-02T00:00:00Z", "createdBefore": "2026-08-01T00:00:00Z"},
        {"createdAfter": "last week"},
        {"createdAfter": LONG_AGO, "fulfillmentStatuses": "OPEN"},
        {"createdAfter": LONG_AGO, "fulfilledBy": "SELLER"},
        {"createdAfter": LONG_AGO, "maxResultsPerPage": "0"},
        {"createdAfter": LONG_AGO, "includedData": "EVERYTHING"},
        {"createdAfter": LONG_AGO, "marketplaceIds": "ATVPDKIKX0DER"},
        {"paginationToken": "forged"},
    ],
)
def test_search_validation(client: SimClient, params: dict[str, str]) -> None:
    response = client.call("GET", SEARCH, params=params)
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "InvalidInput"


def test_get_order(sim: Simulator, client: SimClient) -> None:
    truth = sim.ground_truth()[0]
    response = client.call(
        "GET", f"{SEARCH}/{truth['amazon_order_id']}", params={"includedData": "BUYER"}
    )
    assert response.status_code == 200
    order = response.json()["order"]
    assert order["orderId"] == truth["amazon_order_id"]
    assert order["buyer"]["buyerName"] == truth["billing_address"]["name"]
    assert client.call("GET", f"{SEARCH}/302-0000000-0000000").status_code == 404


def test_pagination_token_expires_after_a_day(sim: Simulator, client: SimClient) -> None:
    body = client.call(
        "GET", SEARCH, params={"createdAfter": LONG_AGO, "maxResultsPerPage": 5}
    ).json()
    token = body["pagination"]["nextToken"]
    sim.clock.advance(24 * 3600)
    client.refresh()
    again = {"createdAfter": LONG_AGO, "paginationToken": token}
    assert client.call("GET", SEARCH, params=again).status_code == 400


# ---------------------------------------------------------------------------------------------
# Orders through the admin API and over time


def test_add_an_order(sim: Simulator, client: SimClient) -> None:
    url = f"{sim.url}/_simulator/orders"
    response = requests.post(url, json={"status": "open", "marketplace": "FR"}, timeout=TIMEOUT)
    assert response.status_code == 201
    added = response.json()["order"]
    assert (added["status"], added["marketplace_id"], added["sales_channel"]) == (
        "open",
        FR,
        "Amazon.fr",
    )
    assert added in sim.ground_truth()
    _, rows = client.fetch(INVOICING, marketplaces=[FR]).table()
    assert added["amazon_order_id"] in {r["order-id"] for r in rows}
    for status in ("pending", "shipped", "cancelled"):
        made = requests.post(
            url, json={"status": status, "fulfillment_channel": "AFN"}, timeout=TIMEOUT
        )
        assert (made.json()["order"]["status"], made.json()["order"]["fulfillment_channel"]) == (
            status,
            "AFN",
        )
    for bad in (
        {"status": "lost"},
        {"marketplace": "US"},
        {"seller_id": "nobody"},
        {"fulfillment_channel": "X"},
    ):
        assert requests.post(url, json=bad, timeout=TIMEOUT).status_code == 400


def test_unknown_order_admin_actions(sim: Simulator) -> None:
    response = requests.post(
        f"{sim.url}/_simulator/orders/302-0000000-0000000/ship", timeout=TIMEOUT
    )
    assert response.status_code == 404


def test_orders_move_on_with_the_clock_when_asked() -> None:
    with Simulator(orders=60, seed=9, time_scale=0, start_time=START, lifecycle=True) as sim:
        before = {o["amazon_order_id"]: o["status"] for o in sim.ground_truth()}
        assert len(before) == 60
        sim.clock.advance(3 * 86400)
        after = {o["amazon_order_id"]: o["status"] for o in sim.ground_truth()}
    assert len(after) > len(before)  # new orders came in
    moved = {oid for oid, status in before.items() if after[oid] != status}
    assert any(before[oid] == "pending" and after[oid] in ("open", "shipped") for oid in moved)
    assert any(before[oid] == "open" and after[oid] == "shipped" for oid in moved)


def test_orders_stand_still_by_default(sim: Simulator) -> None:
    before = sim.ground_truth()
    sim.clock.advance(5 * 86400)
    assert sim.ground_truth() == before


def test_orders_api_and_reports_agree_as_orders_move_on() -> None:
    """At each moment, searchOrders by last update lists what the all-orders report lists,
    with the same status, and every order the order report lists is ready to ship (or shipped)."""
    report_status = {"PENDING": "Pending", "UNSHIPPED": "Pending", "PARTIALLY_SHIPPED": "Pending",
                     "SHIPPED": "Shipped", "CANCELLED": "Cancelled"}  # fmt: skip
    with Simulator(
        orders=40, seed=12, time_scale=0, start_time=START, lifecycle=True, rate_limits=False
    ) as sim:
        client = SimClient(sim)
        seen = set()
        for _ in range(4):
            sim.clock.advance(8 * 3600)
            client.refresh()
            before = sim.clock.now() - timedelta(minutes=2)
            after = before - timedelta(days=1)
            window = {"lastUpdatedAfter": zulu(after), "lastUpdatedBefore": zulu(before)}
            api = {
                o["orderId"]: report_status[o["fulfillment"]["fulfillmentStatus"]]
                for o in _search(client, **window, includedData="FULFILLMENT")
            }
            start, end = zulu(after), zulu(before)
            _, rows = client.fetch(ALL_ORDERS, start=start, end=end).table()
            assert api == {r["amazon-order-id"]: r["order-status"] for r in rows}
            seen |= set(api.values())
            _, paid = client.fetch(INVOICING, start=start, end=end).table()
            for order_id in sorted({r["order-id"] for r in paid})[:5]:
                order = client.call(
                    "GET", f"{SEARCH}/{order_id}", params={"includedData": "FULFILLMENT"}
                ).json()["order"]
                status = order["fulfillment"]["fulfillmentStatus"]
                assert status in ("UNSHIPPED", "PARTIALLY_SHIPPED", "SHIPPED")
    assert seen == {"Pending", "Shipped", "Cancelled"}


def test_items_shipped_in_seller_central_and_in_packages_count_as_fulfilled(
    sim: Simulator, client: SimClient
) -> None:
    now = sim.clock.now()
    unshipped = [
        o
        for o in sim.orders.values()
        if o.fulfillment_channel == "MFN" and o.state(now).value == "Unshipped"
    ]
    several = next(o for o in unshipped if len(o.items) >= 2)  # one item shipped by hand
    pair = next(o for o in unshipped if o.items[0].quantity >= 2)  # one unit in a package
    ship = f"{sim.url}/_simulator/orders/{several.order_id}/ship"
    assert requests.post(ship, json={"items": ["nope"]}, timeout=TIMEOUT).status_code == 400
    assert requests.post(ship, json={"items": "all"}, timeout=TIMEOUT).status_code == 400
    shipped = requests.post(ship, json={"items": [several.items[0].order_item_id]}, timeout=TIMEOUT)
    assert shipped.status_code == 200
    assert shipped.json()["order"]["status"] == "open"  # partly shipped: still the seller's
    confirm = client.call(
        "POST",
        f"/orders/v0/orders/{pair.order_id}/shipmentConfirmation",
        json={
            "marketplaceId": pair.marketplace.id,
            "packageDetail": {
                "packageReferenceId": "1",
                "carrierCode": "DHL",
                "trackingNumber": "T1",
                "shipDate": zulu(now),
                "orderItems": [{"orderItemId": pair.items[0].order_item_id, "quantity": 1}],
            },
        },
    )
    assert confirm.status_code == 204, confirm.text

    def fulfilled(order_id: str) -> list[tuple[int, int]]:
        response = client.call(
            "GET", f"{SEARCH}/{order_id}", params={"includedData": "FULFILLMENT"}
        )
        items = response.json()["order"]["orderItems"]
        return [
            (i["fulfillment"]["quantityFulfilled"], i["fulfillment"]["quantityUnfulfilled"])
            for i in items
        ]

    assert fulfilled(several.order_id) == [
        (i.quantity, 0) if n == 0 else (0, i.quantity) for n, i in enumerate(several.items)
    ]
    assert fulfilled(pair.order_id)[0] == (1, pair.items[0].quantity - 1)
