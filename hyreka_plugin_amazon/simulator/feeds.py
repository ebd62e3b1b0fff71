"""The Feeds API 2021-06-30 with Amazon's VAT invoice feed (``UPLOAD_VAT_INVOICE``).

The seller's path: ``createFeedDocument`` (a content type; a pre-signed upload URL back), a
PUT of the PDF to that URL (S3-like: no SP-API headers, the promised content type),
``createFeed`` with the invoice's ``feedOptions``, ``getFeed`` until ``DONE`` or ``FATAL`` and
``getFeedDocument`` for the processing report (Amazon's XML ``ProcessingReport``).

The feed options are Amazon's ``metadata:`` keys (Amazon's guides write them ``metadata:OrderId``
and ``metadata:orderid``; the simulator, like Amazon, reads them whatever their case):
``OrderId`` (or ``ShippingId``), ``InvoiceNumber``, ``TotalAmount``, ``TotalVATAmount``,
``DocumentType`` (``Invoice``, the default, or ``CreditNote``) and ``TransactionId`` (a credit
note's). What Amazon refuses in an invoice is an error in the processing report, the feed
itself ends ``DONE``: options missing or wrong, an order not (partly) shipped, a total more
than 0.01 off what Amazon charged, a file that is no PDF, a seller in Amazon's VAT Calculation
Service (fault ``vcs_account``), an invoice number already used for another order. Without
the Tax Invoicing role (fault ``invoice_role_missing``) ``createFeed`` answers 403.

Every accepted invoice is kept, also the same number for the same order twice (as two
documents at Amazon, the buyer sees both): the truth counts what a connector sent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any
from xml.sax.saxutils import escape

from hyreka_plugin_amazon.simulator.access import missing_role
from hyreka_plugin_amazon.simulator.clock import parse_iso
from hyreka_plugin_amazon.simulator.feedstore import Feed, FeedDocument, Invoice
from hyreka_plugin_amazon.simulator.ordermodel import AmazonState, SimOrder
from hyreka_plugin_amazon.simulator.pagination import Listing
from hyreka_plugin_amazon.simulator.reportstore import Document
from hyreka_plugin_amazon.simulator.state import SimulatorState
from hyreka_plugin_amazon.simulator.vocabulary import (
    ApiError,
    Request,
    Response,
    Route,
    invalid_input,
    json_response,
    route,
)

FEEDS = "/feeds/2021-06-30"
VAT_INVOICE = "UPLOAD_VAT_INVOICE"
# The marketplaces of the VAT invoice feed in Amazon's guide (VAT Calculation Service, option 3)
VAT_MARKETPLACES = frozenset(
    {
        "A1RKKUPIHCS9HS",  # ES
        "A1F83G8C2ARO7P",  # UK
        "A13V1IB3VIYZZH",  # FR
        "A1PA6795UKMFR9",  # DE
        "APJ6JRA9NG5V4",  # IT
        "A1805IZSGTT6HS",  # NL
        "A1C3SOZRARQ6R3",  # PL
        "A2NODRKZP88ZB9",  # SE
    }
)
# Amazon's names of the options, by their lower-case form
OPTIONS = {
    name.lower(): name
    for name in (
        "OrderId",
        "ShippingId",
        "InvoiceNumber",
        "TotalAmount",
        "TotalVATAmount",
        "DocumentType",
        "TransactionId",
    )
}
DOCUMENT_TYPES = ("Invoice", "CreditNote")
TOLERANCE = Decimal("0.01")
PDF_MAGIC = b"%PDF-"
PAGE_SIZE_MAX = 100


# ---------------------------------------------------------------------------------------------
# Feed documents and the upload


def create_feed_document(state: SimulatorState, req: Request) -> Response:
    """POST /feeds/2021-06-30/documents: 201 with the document id and its upload URL."""
    spec = req.json()
    content_type = spec.get("contentType") if isinstance(spec, dict) else None
    if not isinstance(content_type, str) or not content_type.strip():
        raise invalid_input("contentType is required.")
    seller = state.sellers[req.seller_id]
    document = state.feeds.new_document(seller.seller_id, seller.region, content_type)
    token = state.feeds.upload_token(document)
    body = {"feedDocumentId": document.document_id, "url": f"{state.url}/_upload/{token}"}
    return json_response(201, body)


def upload(state: SimulatorState, req: Request) -> Response:
    """PUT /_upload/{token}: the pre-signed upload URL, S3-like (no SP-API headers)."""
    found = state.feeds.upload(req.params["token"])
    if found is None:
        return _s3_error(403, "AccessDenied", "Access Denied")
    document, expired = found
    req.seller_id = document.seller_id
    if expired:
        return _s3_error(403, "AccessDenied", "Request has expired")
    if "authorization" in req.headers or "x-amz-access-token" in req.headers:
        return _s3_error(
            400, "InvalidArgument", "Only one auth mechanism allowed; the URL is pre-signed"
        )
    if req.headers.get("content-type", "") != document.content_type:
        return _s3_error(
            403,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        )
    document.body = req.body
    return Response(200, b"", "text/plain")


def _s3_error(status: int, code: str, message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
    )
    return Response(status, body.encode(), "application/xml")


# ---------------------------------------------------------------------------------------------
# Feeds


def create_feed(state: SimulatorState, req: Request) -> Response:
    """POST /feeds/2021-06-30/feeds: 202 with the new feed id."""
    spec = req.json()
    if not isinstance(spec, dict):
        raise invalid_input("The request body must be a CreateFeedSpecification object.")
    feed_type = spec.get("feedType")
    if not isinstance(feed_type, str) or not feed_type:
        raise invalid_input("feedType is required.")
    if feed_type != VAT_INVOICE:
        raise invalid_input(f"Feed type {feed_type[:60]} is not valid.")
    seller = state.sellers[req.seller_id]
    marketplace_ids = spec.get("marketplaceIds")
    if (
        not isinstance(marketplace_ids, list)
        or not 1 <= len(marketplace_ids) <= 25
        or not all(isinstance(m, str) for m in marketplace_ids)
    ):
        raise invalid_input("marketplaceIds must list 1 to 25 marketplace ids.")
    own = {m.id for m in seller.marketplaces}
    unknown = [m for m in marketplace_ids if m not in own or m not in VAT_MARKETPLACES]
    if unknown:
        raise invalid_input(f"Invalid marketplaceIds for {feed_type}: {', '.join(unknown)}.")
    options = spec.get("feedOptions", {})
    if not isinstance(options, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in options.items()
    ):
        raise invalid_input("feedOptions must map names to strings.")
    document_id = spec.get("inputFeedDocumentId")
    document = (
        state.feeds.document(req.seller_id, document_id) if isinstance(document_id, str) else None
    )
    if document is None:
        raise invalid_input("inputFeedDocumentId is not a feed document of yours.")
    if state.faults.fire("invoice_role_missing", seller_id=req.seller_id, operation="createFeed"):
        raise missing_role()
    now = state.clock.now()
    vcs = state.faults.fire("vcs_account", seller_id=req.seller_id, operation="createFeed")
    fatal = state.faults.fire("feed_fatal", seller_id=req.seller_id, operation="createFeed")

    def decide(feed_id: str) -> tuple[str, Document | None, Invoice | None]:
        if fatal is not None:
            return "FATAL", _report(state, req, feed_id, [str(fatal.params["message"])]), None
        if document.body is None:
            message = "The feed document is empty: upload its content before createFeed."
            return "FATAL", _report(state, req, feed_id, [message]), None
        with state.lock:
            verdict = _check_invoice(state, req, options, document, tuple(marketplace_ids))
            if isinstance(verdict, _Refusal):
                return "DONE", _report(state, req, feed_id, [verdict.text]), None
            if vcs is not None:
                text = (
                    "You are enrolled in the VAT Calculation Service without self-invoicing: "
                    "Amazon will generate the invoice."
                )
                return "DONE", _report(state, req, feed_id, [text]), None
        invoice = Invoice(**{**verdict, "feed_id": feed_id})
        return "DONE", _report(state, req, feed_id, []), invoice

    feed = state.feeds.add(
        seller_id=req.seller_id,
        feed_type=feed_type,
        marketplace_ids=tuple(marketplace_ids),
        now=now,
        delay=state.report_delay,
        decide=decide,
    )
    return json_response(202, {"feedId": feed.feed_id})


@dataclass(frozen=True)
class _Refusal:
    text: str


def _check_invoice(
    state: SimulatorState,
    req: Request,
    raw: dict[str, str],
    document: FeedDocument,
    marketplace_ids: tuple[str, ...],
) -> dict[str, Any] | _Refusal:
    """The accepted invoice's fields, or Amazon's reason for refusing it."""
    options: dict[str, str] = {}
    for key, value in raw.items():
        prefix, _, name = key.partition(":")
        canonical = OPTIONS.get(name.lower()) if prefix.lower() == "metadata" else None
        if canonical is None:
            return _Refusal(f"Unknown feed option {key[:60]!r}.")
        options[canonical] = value.strip()
    if "ShippingId" in options and "OrderId" not in options:
        return _Refusal("No shipment with this ShippingId was found.")
    order_id = options.get("OrderId", "")
    if not order_id:
        return _Refusal("The feed option metadata:OrderId (or metadata:ShippingId) is required.")
    for name in ("InvoiceNumber", "TotalAmount", "TotalVATAmount"):
        if not options.get(name):
            return _Refusal(f"The feed option metadata:{name} is required.")
    document_type = options.get("DocumentType") or "Invoice"
    if document_type not in DOCUMENT_TYPES:
        return _Refusal("metadata:DocumentType must be Invoice or CreditNote.")
    transaction_id = options.get("TransactionId") or None
    if document_type == "CreditNote" and transaction_id is None:
        return _Refusal("A credit note needs the feed option metadata:TransactionId.")
    total = _amount(options["TotalAmount"])
    vat = _amount(options["TotalVATAmount"])
    if total is None or vat is None:
        return _Refusal("metadata:TotalAmount and metadata:TotalVATAmount must be amounts.")
    now = state.clock.now()
    order = state.orders.get(order_id)
    if order is None or order.seller_id != req.seller_id or order.purchase_date > now:
        return _Refusal(f"Order {order_id[:40]} was not found.")
    if order.marketplace.id not in marketplace_ids:
        return _Refusal(f"Order {order_id} does not belong to the feed's marketplace.")
    if order.state(now) not in (AmazonState.SHIPPED, AmazonState.PARTIALLY_SHIPPED):
        return _Refusal(f"Order {order_id} is not shipped yet: upload its invoice once shipped.")
    body = document.body or b""
    if not body.startswith(PDF_MAGIC):
        return _Refusal("The uploaded document is not a PDF file.")
    charged = _charged(order, now)
    if document_type == "Invoice" and abs(total - charged) > TOLERANCE:
        return _Refusal(
            f"TotalAmount {total} does not match the order total {charged} Amazon charged."
        )
    if document_type == "CreditNote" and total > charged + TOLERANCE:
        return _Refusal(f"TotalAmount {total} exceeds the order total {charged}.")
    number = options["InvoiceNumber"]
    for other in state.feeds.invoices():
        if other.invoice_number == number and other.order_id != order_id:
            return _Refusal(f"Invoice number {number[:40]} was already used for another order.")
    return {
        "order_id": order_id,
        "invoice_number": number,
        "document_type": document_type,
        "total_amount": str(total),
        "total_vat_amount": str(vat),
        "transaction_id": transaction_id,
        "sha256": hashlib.sha256(body).hexdigest(),
    }


def _amount(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    if not value.is_finite() or value < 0 or value.as_tuple().exponent < -2:  # type: ignore[operator]
        return None
    return value


def _charged(order: SimOrder, now: Any) -> Decimal:
    total = order.host_order(now).total
    return total if total is not None else Decimal("0")


def _report(state: SimulatorState, req: Request, feed_id: str, errors: list[str]) -> Document:
    """Amazon's processing report of an invoice feed (XML ``ProcessingReport``)."""
    results = "".join(
        "<Result><MessageID>1</MessageID><ResultCode>Error</ResultCode>"
        f"<ResultMessageCode>{90000 + n}</ResultMessageCode>"
        f"<ResultDescription>{escape(text)}</ResultDescription></Result>"
        for n, text in enumerate(errors, start=1)
    )
    failed = 1 if errors else 0
    xml = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<AmazonEnvelope xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:noNamespaceSchemaLocation="amzn-envelope.xsd">'
        f"<Header><DocumentVersion>1.02</DocumentVersion>"
        f"<MerchantIdentifier>{escape(req.seller_id)}</MerchantIdentifier></Header>"
        "<MessageType>ProcessingReport</MessageType>"
        "<Message><MessageID>1</MessageID><ProcessingReport>"
        f"<DocumentTransactionID>{feed_id}</DocumentTransactionID>"
        "<StatusCode>Complete</StatusCode>"
        "<ProcessingSummary><MessagesProcessed>1</MessagesProcessed>"
        f"<MessagesSuccessful>{1 - failed}</MessagesSuccessful>"
        f"<MessagesWithError>{failed}</MessagesWithError>"
        "<MessagesWithWarning>0</MessagesWithWarning></ProcessingSummary>"
        f"{results}</ProcessingReport></Message></AmazonEnvelope>\n"
    )
    seller = state.sellers[req.seller_id]
    document = state.feeds.new_document(seller.seller_id, seller.region, "text/xml")
    return Document(
        document_id=document.document_id,
        seller_id=seller.seller_id,
        report_type=VAT_INVOICE,
        body=xml.encode("utf-8"),
        content_type="text/xml; charset=UTF-8",
        compression=None,
    )


def get_feed(state: SimulatorState, req: Request) -> Response:
    """GET /feeds/2021-06-30/feeds/{feedId}."""
    feed = state.feeds.feed(req.seller_id, req.params["feedId"])
    if feed is None:
        raise ApiError(404, "NotFound", "The requested feed was not found.")
    return json_response(200, feed.as_json(state.clock.now()))


def get_feeds(state: SimulatorState, req: Request) -> Response:
    """GET /feeds/2021-06-30/feeds: the seller's feeds by type, marketplace, status and time,
    newest first, ``pageSize`` (1-100, default 10) a page."""
    now = state.clock.now()
    token = req.arg("nextToken")
    if token is not None:
        listing = state.listings.take(token, req.seller_id)
        if listing is None:
            raise invalid_input("nextToken is invalid or expired.")
        ids, size = listing.report_ids, listing.page_size
    else:
        params = _feed_query(req)
        feeds = state.feeds.of_seller(req.seller_id)
        ids = [f.feed_id for f in feeds if _matches(f, params, now)]
        size = int(params["pageSize"])
    page = [found for i in ids[:size] if (found := state.feeds.feed(req.seller_id, i))]
    body: dict[str, Any] = {"feeds": [f.as_json(now) for f in page]}
    if len(ids) > size:
        body["nextToken"] = state.listings.put(Listing(req.seller_id, ids[size:], size))
    return json_response(200, body)


def _feed_query(req: Request) -> dict[str, Any]:
    types = req.args("feedTypes")
    if not types:
        raise invalid_input("feedTypes is required when nextToken is not given.")
    size_text = req.arg("pageSize") or "10"
    if not size_text.isdigit() or not 1 <= int(size_text) <= PAGE_SIZE_MAX:
        raise invalid_input(f"pageSize must lie between 1 and {PAGE_SIZE_MAX}.")
    query: dict[str, Any] = {
        "feedTypes": types,
        "marketplaceIds": req.args("marketplaceIds"),
        "processingStatuses": req.args("processingStatuses"),
        "pageSize": int(size_text),
    }
    for name in ("createdSince", "createdUntil"):
        value = req.arg(name)
        if value is not None:
            try:
                parse_iso(value)
            except ValueError:
                raise invalid_input(f"{name} must be an ISO 8601 date-time.") from None
            query[name] = value
    return query


def _matches(feed: Feed, params: dict[str, Any], now: Any) -> bool:
    if feed.feed_type not in params["feedTypes"]:
        return False
    markets = params["marketplaceIds"]
    if markets and not set(markets) & set(feed.marketplace_ids):
        return False
    statuses = params["processingStatuses"]
    if statuses and feed.status(now) not in statuses:
        return False
    since = params.get("createdSince")
    if since is not None and feed.created < parse_iso(since):
        return False
    until = params.get("createdUntil")
    return until is None or feed.created < parse_iso(until)


def get_feed_document(state: SimulatorState, req: Request) -> Response:
    """GET /feeds/2021-06-30/documents/{feedDocumentId}: a processing report's URL (5 min)."""
    now = state.clock.now()
    document = state.feeds.result(req.seller_id, req.params["feedDocumentId"], now)
    if document is None:
        raise ApiError(404, "NotFound", "The requested feed document was not found.")
    token = state.reports.presign(document, now)
    body = {"feedDocumentId": document.document_id, "url": f"{state.url}/_download/{token}"}
    return json_response(200, body)


ROUTES: tuple[Route[SimulatorState], ...] = (
    route("POST", f"{FEEDS}/documents", "createFeedDocument", create_feed_document, auth=True),
    route(
        "GET",
        f"{FEEDS}/documents/{{feedDocumentId}}",
        "getFeedDocument",
        get_feed_document,
        auth=True,
    ),
    route("POST", f"{FEEDS}/feeds", "createFeed", create_feed, auth=True),
    route("GET", f"{FEEDS}/feeds", "getFeeds", get_feeds, auth=True),
    route("GET", f"{FEEDS}/feeds/{{feedId}}", "getFeed", get_feed, auth=True),
    route("PUT", "/_upload/{token}", "upload", upload, auth=False),
)
