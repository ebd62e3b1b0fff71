"""Orders API v0 reads in the simulator, every exchange checked against ``ordersV0.json``.

v0 is deprecated but served by Amazon until 2027-03-27, and most clients call it. Buyers'
personal data needs a Restricted Data Token, as on Amazon.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from helpers.shared import MODELS, needs
from helpers.sim import DE, LONG_AGO, ConformingClient, SpapiModels

from hyreka_plugin_amazon.simulator import Simulator

pytestmark = needs(MODELS)

START = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
V0 = "/orders/v0/orders"
RDT = "/tokens/2021-03-01/restrictedDataToken"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(orders=50, seed=31, time_scale=0, start_time=START) as running:
        yield running


@pytest.fixture
def client(sim: Simulator) -> ConformingClient:
    return ConformingClient(sim, SpapiModels())


def _truth(sim: Simulator) -> dict[str, dict[str, Any]]:
    return {o["amazon_order_id"]: o for o in sim.ground_truth()}


def _rdt(client: ConformingClient, path: str, elements: list[str] | None = None) -> str:
    resource: dict[str, Any] = {"method": "GET", "path": path}
    if elements:
        resource["dataElements"] = elements
    response = client.call("POST", RDT, json={"restrictedResources": [resource]})
    assert response.status_code == 200, response.text
    return str(response.json()["restrictedDataToken"])


def test_get_orders_pages_through_every_order(sim: Simulator, client: ConformingClient) -> None:
    params = {"MarketplaceIds": DE, "CreatedAfter": LONG_AGO, "MaxResultsPerPage": "7"}
    response = client.call("GET", V0, params=params)
    assert response.status_code == 200, response.text
    assert response.headers["x-amzn-RateLimit-Limit"] == "0.0167"
    payload = response.json()["payload"]
    found = payload["Orders"]
    assert payload["CreatedBefore"] == "2026-08-03T11:58:00Z"
    while "NextToken" in payload:
        following = {"MarketplaceIds": DE, "NextToken": payload["NextToken"]}
        page = client.call("GET", V0, params=following)
        payload = page.json()["payload"]
        found += payload["Orders"]
    truth = {k: v for k, v in _truth(sim).items() if v["marketplace_id"] == "A1PA6795UKMFR9"}
    assert [o["AmazonOrderId"] for o in found].count(found[0]["AmazonOrderId"]) == 1
    assert {o["AmazonOrderId"] for o in found} == set(truth)
    statuses = {o["OrderStatus"] for o in found}
    assert {"Pending", "Unshipped", "Shipped", "Canceled"} <= statuses
    for order in found:
        if order["OrderStatus"] in ("Pending", "Canceled"):
            assert "ShippingAddress" not in order
            assert "OrderTotal" not in order
        else:  # without an RDT: where, not who
            assert set(order["ShippingAddress"]) <= {
                "City", "StateOrRegion", "PostalCode", "CountryCode", "AddressType"
            }  # fmt: skip
        assert "BuyerInfo" not in order


def test_get_orders_filters_and_refusals(client: ConformingClient) -> None:
    unshipped = client.call(
        "GET",
        V0,
        params={
            "MarketplaceIds": DE,
            "LastUpdatedAfter": LONG_AGO,
            "OrderStatuses": "Unshipped",
            "FulfillmentChannels": "MFN",
        },
    ).json()["payload"]
    assert unshipped["Orders"]
    assert {(o["OrderStatus"], o["FulfillmentChannel"]) for o in unshipped["Orders"]} == {
        ("Unshipped", "MFN")
    }
    assert "LastUpdatedBefore" in unshipped
    for wrong in (
        {"CreatedAfter": LONG_AGO},  # MarketplaceIds missing
        {"MarketplaceIds": DE},  # neither CreatedAfter nor LastUpdatedAfter
        {"MarketplaceIds": DE, "CreatedAfter": LONG_AGO, "LastUpdatedAfter": LONG_AGO},
        {"MarketplaceIds": DE, "CreatedAfter": LONG_AGO, "CreatedBefore": "2026-08-03T11:59:30Z"},
        {"MarketplaceIds": DE, "CreatedAfter": LONG_AGO, "OrderStatuses": "Open"},
        {"MarketplaceIds": DE, "CreatedAfter": LONG_AGO, "MaxResultsPerPage": "101"},
    ):
        refused = client.models.find("GET", V0)  # the request itself may break the model
        response = client.session.get(
            client.sim.url + V0, params=wrong, headers={"x-amz-access-token": client.token}
        )
        client.models.check_response(refused, response)
        assert response.status_code == 400, wrong
        assert response.json()["errors"][0]["code"] == "InvalidInput"


def test_order_items_and_prices(sim: Simulator, client: ConformingClient) -> None:
    truth = _truth(sim)
    one = next(o for o in truth.values() if o["status"] == "open" and len(o["lines"]) > 1)
    order_id = one["amazon_order_id"]
    order = client.call("GET", f"{V0}/{order_id}").json()["payload"]
    assert order["OrderStatus"] in ("Unshipped", "PartiallyShipped")
    items = client.call("GET", f"{V0}/{order_id}/orderItems").json()["payload"]
    assert items["AmazonOrderId"] == order_id
    assert [i["OrderItemId"] for i in items["OrderItems"]] == [
        line["order_item_id"] for line in one["lines"]
    ]
    for item, line in zip(items["OrderItems"], one["lines"], strict=True):
        assert item["QuantityOrdered"] == line["quantity"]
        assert item["ItemPrice"]["Amount"] == line["item_price"]
    pending = next(o for o in truth.values() if o["status"] == "pending")
    bare = client.call("GET", f"{V0}/{pending['amazon_order_id']}/orderItems").json()["payload"]
    assert all("ItemPrice" not in i for i in bare["OrderItems"])  # no prices before payment
    assert client.call("GET", f"{V0}/302-0000000-0000000").status_code == 404
    assert client.call("GET", f"{V0}/nonsense/orderItems").status_code == 400


def test_personal_data_needs_an_rdt(sim: Simulator, client: ConformingClient) -> None:
    truth = _truth(sim)
    one = next(o for o in truth.values() if o["status"] == "open")
    order_id = one["amazon_order_id"]
    address = f"{V0}/{order_id}/address"
    buyer = f"{V0}/{order_id}/buyerInfo"
    plain = client.call("GET", address).json()["payload"]["ShippingAddress"]
    assert "Name" not in plain
    assert "AddressLine1" not in plain
    assert plain["PostalCode"] == one["shipping_address"]["postal_code"]
    assert client.call("GET", buyer).json()["payload"] == {"AmazonOrderId": order_id}
    generic = _rdt(client, f"{V0}/{{orderId}}/address")  # a generic path opens every order
    full = client.call("GET", address, token=generic).json()["payload"]["ShippingAddress"]
    assert full["Name"] == one["shipping_address"]["name"]
    assert full["AddressLine1"] == one["shipping_address"]["lines"][0]
    assert client.call("GET", buyer, token=generic).status_code == 403  # not its path
    info = client.call("GET", buyer, token=_rdt(client, buyer)).json()["payload"]
    assert info["BuyerEmail"] == one["buyer_email"]
    orders_rdt = _rdt(client, V0, ["shippingAddress"])
    listed = client.call(
        "GET", V0, params={"MarketplaceIds": one["marketplace_id"], "CreatedAfter": LONG_AGO},
        token=orders_rdt,
    ).json()["payload"]["Orders"]  # fmt: skip
    mine = next(o for o in listed if o["AmazonOrderId"] == order_id)
    assert mine["ShippingAddress"]["Name"] == one["shipping_address"]["name"]
    assert "BuyerInfo" not in mine  # only the data elements asked for
    items = client.call("GET", f"{V0}/{order_id}/orderItems/buyerInfo").json()["payload"]
    assert len(items["OrderItems"]) == len(one["lines"])
