"""The simulator's Feeds API with the VAT invoice feed, over loopback HTTP.

An invoice goes document -> upload -> createFeed -> getFeed (IN_QUEUE, IN_PROGRESS, DONE on
the simulated clock) -> processing report, and lands in the admin truth; each of Amazon's
refusals is an error in the processing report and leaves nothing at Amazon.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest
import requests
from helpers.feeds import (
    FEEDS,
    PDF,
    FeedClient,
    charged,
    invoices_at_amazon,
    options,
    order_in,
)
from helpers.sim import TIMEOUT, add_fault

from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.ordermodel import AmazonState

START = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
SHIPPED = (AmazonState.SHIPPED,)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(orders=80, seed=5, time_scale=0, start_time=START) as running:
        yield running


@pytest.fixture
def client(sim: Simulator) -> FeedClient:
    return FeedClient(sim)


def test_an_invoice_is_accepted_and_listed_in_the_truth(sim: Simulator, client: FeedClient) -> None:
    order = order_in(sim, *SHIPPED)
    total = charged(sim, order)
    document = client.feed_document()
    assert document["feedDocumentId"].startswith("amzn1.tortuga.")
    assert client.put(document["url"], PDF).status_code == 200
    created = client.create_feed(
        document["feedDocumentId"], options(order, "RE-2026-1", total), order.marketplace.id
    )
    assert created.status_code == 202
    assert created.headers["x-amzn-RateLimit-Limit"] == "0.0083"
    feed_id = created.json()["feedId"]
    statuses = []
    for _ in range(4):
        feed = client.call("GET", f"{FEEDS}/feeds/{feed_id}").json()
        statuses.append(feed["processingStatus"])
        assert invoices_at_amazon(sim) == []  # not before Amazon has processed it
        sim.clock.advance(0.6)
    assert statuses == ["IN_QUEUE", "IN_PROGRESS", "IN_PROGRESS", "IN_PROGRESS"]
    verdict = client.verdict(feed_id)
    assert verdict.feed["processingStatus"] == "DONE"
    assert "<MessagesSuccessful>1</MessagesSuccessful>" in verdict.report
    assert verdict.errors == []
    [invoice] = invoices_at_amazon(sim, order.order_id)
    assert invoice["invoice_number"] == "RE-2026-1"
    assert (invoice["document_type"], invoice["feed_id"]) == ("Invoice", feed_id)
    assert Decimal(invoice["total_amount"]) == total
    assert len(invoice["sha256"]) == 64
    listed = client.call("GET", f"{FEEDS}/feeds", params={"feedTypes": "UPLOAD_VAT_INVOICE"})
    assert [f["feedId"] for f in listed.json()["feeds"]] == [feed_id]


def test_option_names_are_read_whatever_their_case(sim: Simulator, client: FeedClient) -> None:
    order = order_in(sim, *SHIPPED)
    lower = {k.lower(): v for k, v in options(order, "R-7", charged(sim, order)).items()}
    assert client.upload(order, lower).errors == []
    assert [i["invoice_number"] for i in invoices_at_amazon(sim)] == ["R-7"]


def test_a_credit_note_needs_its_transaction(sim: Simulator, client: FeedClient) -> None:
    order = order_in(sim, *SHIPPED)
    total = charged(sim, order)
    credit = options(order, "GS-1", total, DocumentType="CreditNote")
    assert client.upload(order, credit).errors == [
        "A credit note needs the feed option metadata:TransactionId."
    ]
    credit["metadata:TransactionId"] = "amzn:crow:4711"
    assert client.upload(order, credit).errors == []
    [note] = invoices_at_amazon(sim)
    assert (note["document_type"], note["transaction_id"]) == ("CreditNote", "amzn:crow:4711")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"metadata:InvoiceNumber": ""}, "metadata:InvoiceNumber is required"),
        ({"metadata:OrderId": ""}, "metadata:OrderId (or metadata:ShippingId) is required"),
        ({"metadata:Colour": "blue"}, "Unknown feed option"),
        ({"metadata:DocumentType": "Receipt"}, "must be Invoice or CreditNote"),
        ({"metadata:TotalAmount": "12,50"}, "must be amounts"),
        ({"metadata:TotalAmount": "0.50"}, "does not match the order total"),
    ],
)
def test_wrong_options_are_refused_in_the_report(
    sim: Simulator, client: FeedClient, change: dict[str, str], reason: str
) -> None:
    order = order_in(sim, *SHIPPED)
    verdict = client.upload(order, {**options(order, "R-1", charged(sim, order)), **change})
    assert verdict.feed["processingStatus"] == "DONE"
    assert "<MessagesWithError>1</MessagesWithError>" in verdict.report
    [error] = verdict.errors
    assert reason in error
    assert invoices_at_amazon(sim) == []


def test_a_total_within_a_cent_is_accepted(sim: Simulator, client: FeedClient) -> None:
    order = order_in(sim, *SHIPPED)
    total = charged(sim, order) + Decimal("0.01")
    assert client.upload(order, options(order, "R-1", total)).errors == []


def test_an_unshipped_order_and_a_file_that_is_no_pdf_are_refused(
    sim: Simulator, client: FeedClient
) -> None:
    placed = sim.add_order(status="open", marketplace="DE")
    unshipped = sim.orders[placed["amazon_order_id"]]
    verdict = client.upload(unshipped, options(unshipped, "R-1", charged(sim, unshipped)))
    assert verdict.errors == [
        f"Order {unshipped.order_id} is not shipped yet: upload its invoice once shipped."
    ]
    shipped = order_in(sim, *SHIPPED)
    opts = options(shipped, "R-2", charged(sim, shipped))
    assert client.upload(shipped, opts, b"<html>no</html>").errors == [
        "The uploaded document is not a PDF file."
    ]
    assert invoices_at_amazon(sim) == []


def test_a_number_of_another_order_is_refused_the_same_again_makes_two(
    sim: Simulator, client: FeedClient
) -> None:
    first = order_in(sim, *SHIPPED)
    second = order_in(sim, *SHIPPED, market="FR")
    assert client.upload(first, options(first, "R-1", charged(sim, first))).errors == []
    again = client.upload(second, options(second, "R-1", charged(sim, second)))
    assert again.errors == ["Invoice number R-1 was already used for another order."]
    # the same invoice sent twice is two documents at Amazon: the connector must not do that
    assert client.upload(first, options(first, "R-1", charged(sim, first))).errors == []
    assert [i["invoice_number"] for i in invoices_at_amazon(sim, first.order_id)] == ["R-1"] * 2


def test_a_vcs_seller_is_refused_and_the_role_missing_is_403(
    sim: Simulator, client: FeedClient
) -> None:
    order = order_in(sim, *SHIPPED)
    add_fault(sim, name="vcs_account")
    verdict = client.upload(order, options(order, "R-1", charged(sim, order)))
    assert verdict.errors == [
        "You are enrolled in the VAT Calculation Service without self-invoicing: "
        "Amazon will generate the invoice."
    ]
    add_fault(sim, name="invoice_role_missing")
    document = client.feed_document()
    client.put(document["url"], PDF)
    refused = client.create_feed(
        document["feedDocumentId"], options(order, "R-1", charged(sim, order)), order.marketplace.id
    )
    assert refused.status_code == 403
    assert refused.json()["errors"][0]["code"] == "Unauthorized"
    assert invoices_at_amazon(sim) == []


def test_feed_fatal_and_a_feed_without_upload(sim: Simulator, client: FeedClient) -> None:
    order = order_in(sim, *SHIPPED)
    add_fault(sim, name="feed_fatal", message="Feed processing failed.")
    fatal = client.upload(order, options(order, "R-1", charged(sim, order)))
    assert fatal.feed["processingStatus"] == "FATAL"
    assert fatal.errors == ["Feed processing failed."]
    document = client.feed_document()  # never uploaded
    created = client.create_feed(
        document["feedDocumentId"], options(order, "R-1", charged(sim, order)), order.marketplace.id
    )
    assert client.verdict(created.json()["feedId"]).feed["processingStatus"] == "FATAL"
    assert invoices_at_amazon(sim) == []


def test_the_upload_url_is_presigned(sim: Simulator, client: FeedClient) -> None:
    document = client.feed_document()
    with_token = requests.put(
        document["url"],
        data=PDF,
        headers={"Content-Type": "application/pdf", "x-amz-access-token": client.token},
        timeout=TIMEOUT,
    )
    assert with_token.status_code == 400  # the URL carries its own signature
    assert client.put(document["url"], PDF, "text/plain").status_code == 403
    assert client.put(document["url"] + "x", PDF).status_code == 403
    assert client.put(document["url"], PDF).status_code == 200


def test_create_feed_checks_its_specification(sim: Simulator, client: FeedClient) -> None:
    order = order_in(sim, *SHIPPED)
    document = client.feed_document()
    opts = options(order, "R-1", charged(sim, order))
    us = client.create_feed(document["feedDocumentId"], opts, "ATVPDKIKX0DER")
    assert us.status_code == 400
    assert (
        client.create_feed("amzn1.tortuga.4.eu.nope", opts, order.marketplace.id).status_code == 400
    )
    body = {"feedType": "POST_PRODUCT_DATA", "marketplaceIds": [order.marketplace.id]}
    assert client.call("POST", f"{FEEDS}/feeds", json=body).status_code == 400
    assert client.call("GET", f"{FEEDS}/feeds").status_code == 400  # feedTypes required
    assert client.call("GET", f"{FEEDS}/feeds/1").status_code == 404


def test_get_feeds_pages_and_filters(sim: Simulator, client: FeedClient) -> None:
    order = order_in(sim, *SHIPPED)
    ids = []
    for number in range(3):
        document = client.feed_document()
        client.put(document["url"], PDF)
        opts = options(order, f"R-{number}", charged(sim, order))
        ids.append(
            client.create_feed(document["feedDocumentId"], opts, order.marketplace.id).json()[
                "feedId"
            ]
        )
        sim.clock.advance(60)
    params = {"feedTypes": "UPLOAD_VAT_INVOICE", "pageSize": "2"}
    first = client.call("GET", f"{FEEDS}/feeds", params=params).json()
    rest = client.call("GET", f"{FEEDS}/feeds", params={"nextToken": first["nextToken"]}).json()
    assert [f["feedId"] for f in first["feeds"] + rest["feeds"]] == ids[::-1]
    assert "nextToken" not in rest
    since = client.call(
        "GET",
        f"{FEEDS}/feeds",
        params={"feedTypes": "UPLOAD_VAT_INVOICE", "createdSince": "2026-08-03T12:00:30Z"},
    ).json()
    assert [f["feedId"] for f in since["feeds"]] == ids[:0:-1]
