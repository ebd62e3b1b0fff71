"""The VAT invoice feed driven by hand over loopback HTTP, for the simulator's tests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests

from helpers.sim import TIMEOUT, SimClient
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.ordermodel import AmazonState, SimOrder

FEEDS = "/feeds/2021-06-30"
PDF = b"%PDF-1.7\n% a small invoice\n%%EOF\n"


def order_in(sim: Simulator, *states: AmazonState, market: str = "DE") -> SimOrder:
    """A seller-fulfilled order of the marketplace in one of ``states``, now."""
    now = sim.clock.now()
    for order in sorted(sim.orders.values(), key=lambda o: o.order_id):
        if (
            order.purchase_date <= now
            and order.fulfillment_channel == "MFN"
            and order.marketplace.code == market
            and order.state(now) in states
            and order.host_order(now).total is not None
        ):
            return order
    raise AssertionError("the seed has no such order")


def charged(sim: Simulator, order: SimOrder) -> Decimal:
    total = order.host_order(sim.clock.now()).total
    assert total is not None
    return total


def options(order: SimOrder, number: str, total: Decimal, **more: str) -> dict[str, str]:
    return {
        "metadata:OrderId": order.order_id,
        "metadata:InvoiceNumber": number,
        "metadata:TotalAmount": str(total),
        "metadata:TotalVATAmount": "1.00",
        **{f"metadata:{k}": v for k, v in more.items()},
    }


@dataclass
class Verdict:
    feed: dict[str, Any]
    report: str  # the processing report's XML ("" without one)

    @property
    def errors(self) -> list[str]:
        return re.findall(r"<ResultDescription>(.*?)</ResultDescription>", self.report)


class FeedClient(SimClient):
    """A seller's client of the Feeds API."""

    def feed_document(self, content_type: str = "application/pdf") -> dict[str, Any]:
        response = self.call("POST", f"{FEEDS}/documents", json={"contentType": content_type})
        assert response.status_code == 201, response.text
        answer: dict[str, Any] = response.json()
        return answer

    def put(
        self, url: str, body: bytes, content_type: str = "application/pdf"
    ) -> requests.Response:
        return requests.put(url, data=body, headers={"Content-Type": content_type}, timeout=TIMEOUT)

    def create_feed(
        self, document_id: str, feed_options: dict[str, str], marketplace: str
    ) -> requests.Response:
        body = {
            "feedType": "UPLOAD_VAT_INVOICE",
            "marketplaceIds": [marketplace],
            "inputFeedDocumentId": document_id,
            "feedOptions": feed_options,
        }
        return self.call("POST", f"{FEEDS}/feeds", json=body)

    def upload(self, order: SimOrder, feed_options: dict[str, str], body: bytes = PDF) -> Verdict:
        """Document, upload, feed, processing and report: the whole path."""
        document = self.feed_document()
        assert self.put(document["url"], body).status_code == 200
        response = self.create_feed(document["feedDocumentId"], feed_options, order.marketplace.id)
        assert response.status_code == 202, response.text
        return self.verdict(str(response.json()["feedId"]))

    def verdict(self, feed_id: str) -> Verdict:
        for _ in range(10):
            feed = self.call("GET", f"{FEEDS}/feeds/{feed_id}").json()
            if feed["processingStatus"] in ("DONE", "FATAL"):
                break
            self.sim.clock.advance(1)
        else:
            raise AssertionError("the feed never finished")
        report = ""
        if "resultFeedDocumentId" in feed:
            found = self.call("GET", f"{FEEDS}/documents/{feed['resultFeedDocumentId']}")
            assert found.status_code == 200, found.text
            report = requests.get(found.json()["url"], timeout=TIMEOUT).text
        return Verdict(feed, report)


def invoices_at_amazon(sim: Simulator, order_id: str | None = None) -> list[dict[str, Any]]:
    """The accepted invoices of the admin truth (of one order if given)."""
    response = requests.get(f"{sim.url}/_simulator/orders", timeout=TIMEOUT)
    return [
        invoice
        for order in response.json()["orders"]
        if order_id is None or order["amazon_order_id"] == order_id
        for invoice in order["invoices"]
    ]
