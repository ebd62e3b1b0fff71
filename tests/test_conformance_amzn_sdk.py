"""Amazon's own Python SDK (``amzn-sp-api``) against the simulator over loopback HTTP.

The SDK is generated from the same OpenAPI models the simulator answers by, so it is the
closest stand-in for "what Amazon's answers look like to a client": every operation the
connector uses goes through it, every answer must deserialize into the SDK's models (required
properties present, enum values known, dates parseable), no property of an answer may be
unknown to them (the SDK would drop it silently), and the values are the simulator's ground
truth. Needs nothing beside the repository, so it runs on any machine.

How the SDK is pointed at the simulator, with its public configuration only (no patching):
``SPAPIClient(SPAPIConfig(...), oauth_endpoint=sim.token_url, endpoint=sim.url)``; the client
makes the LWA token exchange itself. The SDK has no option for a Restricted Data Token: a
restricted call goes through an ``ApiClient`` whose ``Configuration.access_token_cache`` (the
attribute ``SPAPIClient`` sets for LWA tokens) hands out the RDT instead.
"""

from __future__ import annotations

import gzip
import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
from helpers.sim import ALL_ORDERS, INVOICING, TIMEOUT, Download

from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.ordermodel import AmazonState, SimOrder

# The SDK changes logging for the whole process: importing spapi.client and
# spapi.auth.lwa_request calls logging.basicConfig(level=INFO), and every Configuration() adds a
# stderr handler to the "spapi" and "urllib3" loggers and sets them to WARNING. It is put back
# after the import and after each test (the leak tests of other modules log urllib3 at DEBUG).
SDK_LOGGERS = ("", "spapi", "urllib3")
LoggingState = list[tuple[logging.Logger, int, list[logging.Handler]]]


def logging_state() -> LoggingState:
    loggers = [logging.getLogger(name) for name in SDK_LOGGERS]
    return [(logger, logger.level, list(logger.handlers)) for logger in loggers]


def restore(state: LoggingState) -> None:
    for logger, level, handlers in state:
        logger.setLevel(level)
        logger.handlers[:] = handlers


_BEFORE_IMPORT = logging_state()
pytest.importorskip("spapi", reason="amzn-sp-api (Amazon's Python SDK) is a test dependency")
from spapi import (  # noqa: E402
    ApiClient,
    Configuration,
    FeedsApi,
    OrdersV0Api,
    ReportsApi,
    SellersApi,
    SPAPIClient,
    SPAPIConfig,
    TokensApi,
)
from spapi.models.feeds_v2021_06_30 import (  # noqa: E402
    CreateFeedDocumentSpecification,
    CreateFeedSpecification,
)
from spapi.models.orders_v0 import ConfirmShipmentOrderItem, ConfirmShipmentRequest  # noqa: E402
from spapi.models.orders_v0 import PackageDetail as V0PackageDetail  # noqa: E402
from spapi.models.reports_v2021_06_30 import CreateReportSpecification  # noqa: E402
from spapi.models.tokens_v2021_03_01 import (  # noqa: E402
    CreateRestrictedDataTokenRequest,
    RestrictedResource,
)

restore(_BEFORE_IMPORT)

START = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
LONG_AGO = "2000-01-01T00:00:00Z"
DE = "A1PA6795UKMFR9"
V2026 = "spapi.api.orders_v2026_01_01"
V2026_MISSING = (
    "this amzn-sp-api has no Orders API v2026-01-01 (spapi.api.orders_v2026_01_01); "
    "Orders v0 is checked in test_orders_v0"
)


class FixedToken:
    """An ``access_token_cache`` that hands out one token (an RDT) instead of LWA tokens."""

    def __init__(self, token: str) -> None:
        self.token = token

    def get_lwa_access_token(self) -> str:
        return self.token


class Sdk:
    """The SDK on the simulator; ``call`` runs one operation and checks its answer."""

    def __init__(self, sim: Simulator) -> None:
        creds = sim.credentials
        config = SPAPIConfig(
            client_id=creds.client_id,
            client_secret=creds.client_secret,
            refresh_token=creds.refresh_token,
            region="EU",
        )
        self.sim = sim
        self.client = SPAPIClient(config, oauth_endpoint=sim.token_url, endpoint=sim.url)
        self.api: Any = self.client.api_client
        self.clients: list[Any] = [self.api]

    def restricted(self, rdt: str) -> Any:
        """An ``ApiClient`` that sends ``rdt`` in ``x-amz-access-token``."""
        configuration = Configuration()
        configuration.host = self.sim.url
        configuration.access_token_cache = FixedToken(rdt)
        api = ApiClient(configuration)
        self.clients.append(api)
        return api

    def call(self, api: Any, operation: Any, *args: Any, **kwargs: Any) -> Any:
        """``operation(*args, **kwargs)`` of an SDK API class; its answer, deserialized, after
        checking that the SDK's model kept every property the simulator sent."""
        result = operation(*args, **kwargs)
        raw = api.last_response.data
        if raw:
            kept = api.sanitize_for_serialization(result)
            assert unknown_properties(json.loads(raw), kept) == [], operation.__name__
        return result

    def rdt(self, path: str, data_elements: list[str] | None = None) -> str:
        resource = RestrictedResource(method="GET", path=path, data_elements=data_elements)
        request = CreateRestrictedDataTokenRequest(restricted_resources=[resource])
        answer = self.call(self.api, TokensApi(self.api).create_restricted_data_token, request)
        assert answer.expires_in == 3600
        token: str = answer.restricted_data_token
        assert token.startswith("Atz.sprdt|")
        return token

    def close(self) -> None:
        for api in self.clients:
            api.rest_client.pool_manager.clear()


def unknown_properties(sent: Any, kept: Any, where: str = "") -> list[str]:
    """The properties of ``sent`` (JSON) that the SDK's model, serialized again (``kept``), lost;
    a null the model leaves out is no loss."""
    if isinstance(sent, dict):
        if not isinstance(kept, dict):
            return [where or "/"]
        lost = []
        for key, value in sent.items():
            if key in kept:
                lost += unknown_properties(value, kept[key], f"{where}/{key}")
            elif value is not None:
                lost.append(f"{where}/{key}")
        return lost
    if isinstance(sent, list):
        if not isinstance(kept, list) or len(kept) != len(sent):
            return [where or "/"]
        return [
            lost
            for index, (one, other) in enumerate(zip(sent, kept, strict=True))
            for lost in unknown_properties(one, other, f"{where}/{index}")
        ]
    return []


def test_unknown_properties_are_found() -> None:
    sent = {"a": 1, "b": {"c": [{"d": 1, "e": 2}]}, "f": None}
    assert unknown_properties(sent, {"a": 1, "b": {"c": [{"d": 1}]}}) == ["/b/c/0/e"]
    assert unknown_properties(sent, {"a": 1, "b": {"c": [{"d": 1, "e": 2}]}}) == []


@pytest.fixture(autouse=True)
def _logging_put_back() -> Iterator[None]:
    before = logging_state()
    yield
    restore(before)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(orders=80, seed=5, time_scale=0, start_time=START) as running:
        yield running


@pytest.fixture
def sdk(sim: Simulator) -> Iterator[Sdk]:
    client = Sdk(sim)
    yield client
    client.close()


def truth(sim: Simulator, marketplace: str | None = None) -> dict[str, dict[str, Any]]:
    """The simulator's orders (its ground truth), by order id."""
    return {
        o["amazon_order_id"]: o
        for o in sim.ground_truth()
        if marketplace is None or o["marketplace_id"] == marketplace
    }


def test_lwa_token_exchange_and_marketplace_participations(sim: Simulator, sdk: Sdk) -> None:
    token = sdk.client.access_token_cache.token_info
    assert token["access_token"].startswith("Atza|")
    assert token["token_type"] == "bearer"
    assert token["expires_in"] == 3600
    assert sim.tokens.lookup(token["access_token"]) is not None  # the simulator issued it

    answer = sdk.call(sdk.api, SellersApi(sdk.api).get_marketplace_participations)
    seller = sim.default_seller
    assert [p.marketplace.id for p in answer.payload] == [m.id for m in seller.marketplaces]
    for participation, marketplace in zip(answer.payload, seller.marketplaces, strict=True):
        assert participation.marketplace.country_code == marketplace.country_code
        assert participation.marketplace.default_currency_code == marketplace.currency
        assert participation.participation.is_participating is True
        assert participation.store_name == seller.store_name


def _wait_done(sim: Simulator, sdk: Sdk, reports: Any, report_id: str) -> Any:
    for _ in range(10):
        report = sdk.call(sdk.api, reports.get_report, report_id)
        if report.processing_status == "DONE":
            return report
        sim.clock.advance(1)
    raise AssertionError(f"report {report_id} never got done")


def _download(url: str, compression: str | None) -> Download:
    """The document, fetched as the connector does: a plain GET, gunzip, the served charset."""
    response = requests.get(url, timeout=TIMEOUT)
    assert response.status_code == 200
    content_type = response.headers["Content-Type"]
    raw = gzip.decompress(response.content) if compression == "GZIP" else response.content
    charset = content_type.split("charset=")[1]
    return Download(content_type, raw.decode("cp1252" if charset == "Cp1252" else charset))


def test_report_flow_with_a_restricted_document(sim: Simulator, sdk: Sdk) -> None:
    reports = ReportsApi(sdk.api)
    spec = CreateReportSpecification(
        report_type=INVOICING, marketplace_ids=[DE], data_start_time=LONG_AGO
    )
    report_id = sdk.call(sdk.api, reports.create_report, spec).report_id
    report = _wait_done(sim, sdk, reports, report_id)
    assert (report.report_type, report.marketplace_ids) == (INVOICING, [DE])
    assert report.processing_end_time is not None
    assert report.processing_end_time.utcoffset() is not None

    listed = sdk.call(sdk.api, reports.get_reports, report_types=[INVOICING])
    assert report_id in [r.report_id for r in listed.reports]

    document_id = report.report_document_id
    rdt = sdk.rdt(f"/reports/2021-06-30/documents/{document_id}")
    restricted = sdk.restricted(rdt)
    document = sdk.call(restricted, ReportsApi(restricted).get_report_document, document_id)
    assert document.report_document_id == document_id
    header, rows = _download(document.url, document.compression_algorithm).table()
    assert header[:2] == ["order-id", "order-item-id"]
    assert "bill-address-1" in header
    orders = truth(sim, DE)
    fulfillable = {
        order_id
        for order_id, order in orders.items()
        if order["fulfillment_channel"] == "MFN" and order["status"] in ("open", "shipped")
    }
    assert {row["order-id"] for row in rows} == fulfillable
    for row in rows:
        order = orders[row["order-id"]]
        assert row["order-item-id"] in {line["order_item_id"] for line in order["lines"]}
        assert row["bill-address-1"] == order["billing_address"]["lines"][0]
        assert row["bill-city"] == order["billing_address"]["city"]


def test_the_status_report_needs_no_rdt(sim: Simulator, sdk: Sdk) -> None:
    reports = ReportsApi(sdk.api)
    spec = CreateReportSpecification(
        report_type=ALL_ORDERS, marketplace_ids=[DE], data_start_time=LONG_AGO
    )
    report = _wait_done(sim, sdk, reports, sdk.call(sdk.api, reports.create_report, spec).report_id)
    document = sdk.call(sdk.api, reports.get_report_document, report.report_document_id)
    header, rows = _download(document.url, document.compression_algorithm).table()
    assert header[0] == "amazon-order-id"
    assert "buyer-name" not in header
    assert {row["amazon-order-id"] for row in rows} == set(truth(sim, DE))


def test_cancel_report(sim: Simulator, sdk: Sdk) -> None:
    reports = ReportsApi(sdk.api)
    spec = CreateReportSpecification(
        report_type=INVOICING, marketplace_ids=[DE], data_start_time=LONG_AGO
    )
    report_id = sdk.call(sdk.api, reports.create_report, spec).report_id
    assert sdk.call(sdk.api, reports.get_report, report_id).processing_status == "IN_QUEUE"
    assert sdk.call(sdk.api, reports.cancel_report, report_id) is None
    assert sdk.call(sdk.api, reports.get_report, report_id).processing_status == "CANCELLED"


def test_orders_v0(sim: Simulator, sdk: Sdk) -> None:
    orders_api = OrdersV0Api(sdk.api)
    marketplaces = [m.id for m in sim.default_seller.marketplaces]
    found: list[Any] = []
    page = sdk.call(
        sdk.api,
        orders_api.get_orders,
        marketplaces,
        created_after=LONG_AGO,
        max_results_per_page=20,
    ).payload
    found += page.orders
    while page.next_token:
        page = sdk.call(
            sdk.api, orders_api.get_orders, marketplaces, next_token=page.next_token
        ).payload
        found += page.orders
    orders = truth(sim)
    assert sorted(o.amazon_order_id for o in found) == sorted(orders)
    statuses = {"open": {"Unshipped", "PartiallyShipped"}, "shipped": {"Shipped"},
                "cancelled": {"Canceled"}, "pending": {"Pending"}}  # fmt: skip
    for order in found:
        known = orders[order.amazon_order_id]
        assert order.order_status in statuses[known["status"]], order.amazon_order_id
        assert order.marketplace_id == known["marketplace_id"]
        assert order.fulfillment_channel == known["fulfillment_channel"]
        assert datetime.fromisoformat(order.purchase_date) == datetime.fromisoformat(
            known["purchase_date"]
        )  # v0 models its dates as strings
        assert order.buyer_info is None  # no RDT, no personal data

    one = next(o for o in found if o.order_status == "Shipped" and o.fulfillment_channel == "MFN")
    order_id, known = one.amazon_order_id, orders[one.amazon_order_id]
    assert sdk.call(sdk.api, orders_api.get_order, order_id).payload.amazon_order_id == order_id
    items = sdk.call(sdk.api, orders_api.get_order_items, order_id).payload.order_items
    assert [(i.order_item_id, i.seller_sku, i.quantity_ordered) for i in items] == [
        (line["order_item_id"], line["sku"], line["quantity"]) for line in known["lines"]
    ]
    assert [i.item_price.amount for i in items] == [line["item_price"] for line in known["lines"]]
    address = sdk.call(sdk.api, orders_api.get_order_address, order_id).payload
    assert address.shipping_address.city == known["shipping_address"]["city"]
    assert address.shipping_address.name is None  # restricted: needs an RDT
    buyer = sdk.call(sdk.api, orders_api.get_order_buyer_info, order_id).payload
    assert (buyer.amazon_order_id, buyer.buyer_email) == (order_id, None)
    items_buyer = sdk.call(sdk.api, orders_api.get_order_items_buyer_info, order_id).payload
    assert items_buyer.amazon_order_id == order_id

    rdt = sdk.rdt("/orders/v0/orders", ["buyerInfo", "shippingAddress"])
    restricted = sdk.restricted(rdt)
    named = sdk.call(
        restricted,
        OrdersV0Api(restricted).get_orders,
        [known["marketplace_id"]],
        created_after=LONG_AGO,
        amazon_order_ids=[order_id],
    ).payload.orders
    assert [o.amazon_order_id for o in named] == [order_id]
    assert named[0].shipping_address.name == known["shipping_address"]["name"]
    assert named[0].buyer_info.buyer_email == known["buyer_email"]
    rdt = sdk.rdt(f"/orders/v0/orders/{order_id}/address")
    restricted = sdk.restricted(rdt)
    full = sdk.call(restricted, OrdersV0Api(restricted).get_order_address, order_id).payload
    assert full.shipping_address.name == known["shipping_address"]["name"]
    assert full.shipping_address.address_line1 == known["shipping_address"]["lines"][0]


def _open_mfn(sim: Simulator) -> SimOrder:
    now = sim.clock.now()
    return next(
        order
        for order in sim.orders.values()
        if order.fulfillment_channel == "MFN"
        and order.purchase_date <= now
        and order.state(now) is AmazonState.UNSHIPPED
    )


def test_confirm_shipment(sim: Simulator, sdk: Sdk) -> None:
    order = _open_mfn(sim)
    item = order.items[0]
    package = V0PackageDetail(
        package_reference_id="1",
        carrier_code="DHL",
        shipping_method="DHL Paket",
        tracking_number="00340434161234567890",
        ship_date=START,
        order_items=[ConfirmShipmentOrderItem(order_item_id=item.order_item_id, quantity=1)],
    )
    request = ConfirmShipmentRequest(package_detail=package, marketplace_id=order.marketplace.id)
    orders_api = OrdersV0Api(sdk.api)
    assert sdk.call(sdk.api, orders_api.confirm_shipment, order.order_id, request) is None
    assert sdk.api.last_response.status == 204
    packages = {o["amazon_order_id"]: o for o in sim.ground_truth(packages=True)}[order.order_id][
        "packages"
    ]
    assert [(p["package_reference_id"], p["tracking_number"]) for p in packages] == [
        ("1", "00340434161234567890")
    ]
    expected = "Shipped" if [i.quantity for i in order.items] == [1] else "PartiallyShipped"
    assert sdk.call(sdk.api, orders_api.get_order, order.order_id).payload.order_status == expected


def test_orders_v2026(sim: Simulator, sdk: Sdk) -> None:
    search_module = pytest.importorskip(f"{V2026}.search_orders_api", reason=V2026_MISSING)
    get_module = pytest.importorskip(f"{V2026}.get_order_api", reason=V2026_MISSING)
    orders = truth(sim, DE)
    search = search_module.SearchOrdersApi(sdk.api)
    everything = ["BUYER", "RECIPIENT", "PROCEEDS", "EXPENSE", "PROMOTION", "CANCELLATION",
                  "FULFILLMENT", "PACKAGES", "TAX", "PAYMENT", "FULFILLMENT_ORDERS"]  # fmt: skip
    query = {"created_after": datetime(2000, 1, 1, tzinfo=UTC), "marketplace_ids": [DE],
             "max_results_per_page": 5, "included_data": everything}  # fmt: skip
    answer = sdk.call(sdk.api, search.search_orders, **query)
    found: list[Any] = answer.orders
    while answer.pagination is not None and answer.pagination.next_token:
        # the other parameters as in the first request (the model's paginationToken)
        token = answer.pagination.next_token
        answer = sdk.call(sdk.api, search.search_orders, pagination_token=token, **query)
        found += answer.orders
    assert sorted(o.order_id for o in found) == sorted(orders)
    statuses = {"open": {"UNSHIPPED", "PARTIALLY_SHIPPED"}, "shipped": {"SHIPPED"},
                "cancelled": {"CANCELLED"}, "pending": {"PENDING"}}  # fmt: skip
    for order in found:
        known = orders[order.order_id]
        assert order.fulfillment.fulfillment_status in statuses[known["status"]], order.order_id
        assert order.sales_channel.marketplace_id == DE
        assert order.created_time == datetime.fromisoformat(known["purchase_date"])
        assert sorted(i.order_item_id for i in order.order_items) == sorted(
            line["order_item_id"] for line in known["lines"]
        )

    one = next(o for o in found if o.fulfillment.fulfillment_status == "SHIPPED")
    known = orders[one.order_id]
    single = sdk.call(
        sdk.api, get_module.GetOrderApi(sdk.api).get_order, one.order_id, included_data=["BUYER"]
    ).order
    assert single.order_id == one.order_id
    assert single.buyer.buyer_email == known["buyer_email"]


def test_vat_invoice_feed(sim: Simulator, sdk: Sdk) -> None:
    """The invoice path of the Feeds API 2021-06-30: document, upload, feed, report."""
    now = sim.clock.now()
    order = next(
        o
        for o in sorted(sim.orders.values(), key=lambda o: o.order_id)
        if o.purchase_date <= now
        and o.marketplace.id == DE
        and o.state(now) is AmazonState.SHIPPED
        and o.host_order(now).total is not None
    )
    feeds = FeedsApi(sdk.api)
    spec = CreateFeedDocumentSpecification(content_type="application/pdf")
    document = sdk.call(sdk.api, feeds.create_feed_document, spec)
    assert sdk.api.last_response.status == 201
    upload = requests.put(
        document.url,
        data=b"%PDF-1.7 invoice",
        headers={"Content-Type": "application/pdf"},
        timeout=TIMEOUT,
    )
    assert upload.status_code == 200
    options = {
        "metadata:OrderId": order.order_id,
        "metadata:InvoiceNumber": "RE-1",
        "metadata:TotalAmount": str(order.host_order(now).total),
        "metadata:TotalVATAmount": "1.00",
        "metadata:DocumentType": "Invoice",
    }
    feed_spec = CreateFeedSpecification(
        feed_type="UPLOAD_VAT_INVOICE",
        marketplace_ids=[DE],
        input_feed_document_id=document.feed_document_id,
        feed_options=options,
    )
    feed_id = sdk.call(sdk.api, feeds.create_feed, feed_spec).feed_id
    assert sdk.call(sdk.api, feeds.get_feed, feed_id).processing_status == "IN_QUEUE"
    sim.clock.advance(5)
    feed = sdk.call(sdk.api, feeds.get_feed, feed_id)
    assert (feed.processing_status, feed.feed_type) == ("DONE", "UPLOAD_VAT_INVOICE")
    assert feed.processing_end_time.utcoffset() is not None
    listed = sdk.call(sdk.api, feeds.get_feeds, feed_types=["UPLOAD_VAT_INVOICE"])
    assert [f.feed_id for f in listed.feeds] == [feed_id]
    report = sdk.call(sdk.api, feeds.get_feed_document, feed.result_feed_document_id)
    text = requests.get(report.url, timeout=TIMEOUT).text
    assert "<MessagesSuccessful>1</MessagesSuccessful>" in text
    truth = {o["amazon_order_id"]: o for o in sim.ground_truth(invoices=True)}
    assert [i["invoice_number"] for i in truth[order.order_id]["invoices"]] == ["RE-1"]
