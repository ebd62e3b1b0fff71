"""The simulator agrees with Amazon on FBA orders: the order reports list seller-fulfilled
orders only; the FBA shipments report (restricted) lists shipped Amazon-fulfilled orders with
their billing and shipping addresses, by shipment date, with Amazon's real column names."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from helpers.sim import ALL_ORDERS, INVOICING, SHIPPING, SimClient

from hyreka_plugin_amazon.reports.catalogue import RESTRICTED_REPORT_TYPES
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.fbashipments import FBA_SHIPMENTS, HEADER, split

START = datetime.fromisoformat("2026-12-01T10:00:00+00:00")
# spapi-notes 5.2 (e): the real header of the FBA shipments report (without JP's points)
REAL_HEADER = [
    *["amazon-order-id", "merchant-order-id", "shipment-id", "shipment-item-id"],
    *["amazon-order-item-id", "merchant-order-item-id", "purchase-date", "payments-date"],
    *["shipment-date", "reporting-date", "buyer-email", "buyer-name", "buyer-phone-number", "sku"],
    *["product-name", "quantity-shipped", "currency", "item-price", "item-tax", "shipping-price"],
    *["shipping-tax", "gift-wrap-price", "gift-wrap-tax", "ship-service-level", "recipient-name"],
    *["ship-address-1", "ship-address-2", "ship-address-3", "ship-city", "ship-state"],
    *["ship-postal-code", "ship-country", "ship-phone-number", "bill-address-1", "bill-address-2"],
    *["bill-address-3", "bill-city", "bill-state", "bill-postal-code", "bill-country"],
    *["item-promotion-discount", "ship-promotion-discount", "carrier", "tracking-number"],
    *["estimated-arrival-date", "fulfillment-center-id", "fulfillment-channel", "sales-channel"],
]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(orders=200, seed=17, time_scale=0, start_time=START) as simulator:
        yield simulator


@pytest.fixture
def client(sim: Simulator) -> SimClient:
    return SimClient(sim)


def test_the_header_is_amazons() -> None:
    assert list(HEADER) == REAL_HEADER
    assert FBA_SHIPMENTS in RESTRICTED_REPORT_TYPES


@pytest.mark.parametrize("report_type", [INVOICING, SHIPPING])
def test_order_reports_list_seller_fulfilled_orders_only(
    client: SimClient, sim: Simulator, report_type: str
) -> None:
    _, rows = client.fetch(report_type).table()
    channel = {o["amazon_order_id"]: o["fulfillment_channel"] for o in sim.ground_truth()}
    listed = {r["order-id"] for r in rows}
    assert listed
    assert {channel[order_id] for order_id in listed} == {"MFN"}
    _, status_rows = client.fetch(ALL_ORDERS).table()
    assert {r["fulfillment-channel"] for r in status_rows} == {"Amazon", "Merchant"}


def test_fba_report_lists_shipped_fba_orders_with_addresses(
    client: SimClient, sim: Simulator
) -> None:
    download = client.fetch(FBA_SHIPMENTS)
    header, rows = download.table()
    assert header == REAL_HEADER
    truth = {o["amazon_order_id"]: o for o in sim.ground_truth()}
    listed = {r["amazon-order-id"] for r in rows}
    shipped_afn = {
        k
        for k, o in truth.items()
        if o["fulfillment_channel"] == "AFN" and o["status"] == "shipped"
    }
    assert shipped_afn
    assert shipped_afn <= listed  # every shipped FBA order of the window
    assert all(truth[k]["fulfillment_channel"] == "AFN" for k in listed)
    for row in rows:
        order = truth[row["amazon-order-id"]]
        bill, ship = order["billing_address"], order["shipping_address"]
        assert row["fulfillment-channel"] == "AFN"
        assert row["bill-address-1"] == bill["lines"][0]
        assert (row["bill-postal-code"], row["bill-country"]) == (
            bill["postal_code"],
            bill["country_code"],
        )
        assert row["buyer-name"] == bill["name"]
        assert row["recipient-name"] == ship["name"]
        assert row["ship-city"] == ship["city"]
    # an item's shipments add up to the item: quantity and every amount
    shipped: dict[tuple[str, str], list[dict[str, str]]] = {}
    for row in rows:
        shipped.setdefault((row["amazon-order-id"], row["amazon-order-item-id"]), []).append(row)
    split = 0
    for (order_id, item_id), parts in shipped.items():
        line = next(x for x in truth[order_id]["lines"] if x["order_item_id"] == item_id)
        split += len(parts) > 1
        assert len({part["shipment-item-id"] for part in parts}) == len(parts)
        assert sum(int(part["quantity-shipped"]) for part in parts) == line["quantity"]
        for column, field in (("item-price", "item_price"), ("item-tax", "item_tax"),
                              ("gift-wrap-price", "gift_wrap_price")):  # fmt: skip
            assert sum(Decimal(part[column]) for part in parts) == Decimal(line[field])
    assert split > 0  # some items shipped in two shipments
    assert any(line["gift_wrap_price"] != "0" for o in truth.values() for line in o["lines"]
               if o["fulfillment_channel"] == "AFN")  # fmt: skip
    keys = [(r["shipment-date"], r["shipment-id"]) for r in rows]
    assert keys == sorted(keys)  # sorted by shipment, as Amazon writes this report


def test_fba_report_selects_by_shipment_date(client: SimClient, sim: Simulator) -> None:
    now = sim.clock.now()
    since = now - timedelta(hours=1)
    order = next(
        o
        for o in sorted(sim.orders.values(), key=lambda o: o.order_id)
        if o.fulfillment_channel == "AFN" and o.state(now).value == "Unshipped"
    )
    start = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    before = client.wait_report(client.create_report(FBA_SHIPMENTS, start=start))
    assert before["processingStatus"] == "CANCELLED"  # nothing shipped by Amazon in the hour
    sim.clock.advance(60)
    sim.ship_order(order.order_id)
    sim.clock.advance(60)
    _, after = client.fetch(FBA_SHIPMENTS, start=start).table()
    mine = [r for r in after if r["amazon-order-id"] == order.order_id]
    assert len(mine) == len(order.items) + sum(map(split, order.items))
    assert {r["shipment-date"] for r in mine} == {
        sim.orders[order.order_id].items[0].shipped_at.isoformat()  # type: ignore[union-attr]
    }
    # shipments before the window are not listed, however recent the order's other news
    later = (sim.clock.now() - timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    report = client.wait_report(client.create_report(FBA_SHIPMENTS, start=later))
    assert report["processingStatus"] == "CANCELLED"  # Amazon's "no data"


def test_fba_documents_need_a_restricted_data_token(client: SimClient) -> None:
    report_id = client.create_report(FBA_SHIPMENTS)
    report = client.wait_report(report_id)
    plain = client.call("GET", f"/reports/2021-06-30/documents/{report['reportDocumentId']}")
    assert plain.status_code in (400, 403)
    assert client.document(report["reportDocumentId"], restricted=True)["url"]
