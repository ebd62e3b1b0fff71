"""Invoice upload: the host's invoice PDFs -> Amazon's VAT invoice feed, one feed an invoice.

Every invoice is checked before Amazon is called (the account's invoicing mode, a PDF within
Amazon's size, number and amounts, a credit note's transaction, the order as the host knows
it, a marketplace of the feed); what fails is refused with a message the seller can act on and
costs no call. Then: ``createFeedDocument``, the PDF put to the upload URL, ``createFeed`` with
Amazon's feed options, ``getFeed`` for a while and the processing report: accepted, or refused
with Amazon's reason. A feed Amazon has not finished within the wait is "uploaded": the next
attempt asks that feed again (its id comes back with the invoice, and the connector keeps it
too), never sends the PDF twice.

Exactly once, through a ledger in the host's state (``host.set_state``, committed at once):
the feed id of each invoice sent, and before each ``createFeed`` the invoice it is for. When
``createFeed``'s answer is lost, that mark stays; the next call first looks with ``getFeeds``
at the newest invoice feeds of the marketplace: the feeds newer than the last one the ledger
knows are the lost call's. One: it is the invoice's feed (asked, not sent again). None: Amazon
never made it, the invoice is sent. More than one (someone else uploads too): the connector
cannot tell, refuses to guess and refuses that invoice from then on (``invoice.unsure``:
the seller looks in Seller Central and uploads it under a new number only if it is not
there). Invoices of an account go out one after another
(the host holds the account's lease), so only one answer at a time can be missing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Final

from hyreka_plugin_amazon import messages
from hyreka_plugin_amazon.connector import INVOICING_SETTING, settings
from hyreka_plugin_amazon.contract import (
    Account,
    DocumentType,
    HostServices,
    Invoice,
    InvoiceOutcome,
    InvoiceState,
    OrderStatus,
)
from hyreka_plugin_amazon.diagnostics import failure_detail, login_failure
from hyreka_plugin_amazon.outbox import (
    INVOICE_PDF_MAGIC,
    MAX_INVOICE_NUMBER,
    MAX_INVOICE_PDF_BYTES,
    MAX_TRANSACTION_ID,
)
from hyreka_plugin_amazon.spapi import SpApiClient, errors
from hyreka_plugin_amazon.spapi.feeds import VAT_INVOICE_FEED, Feed, FeedDocumentUploadError

# The marketplaces of Amazon's VAT invoice feed (its VAT Calculation Service guide)
VAT_INVOICE_MARKETPLACES: Final = frozenset(
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
_MODE_REFUSALS: Final = {"vcs": "invoice.mode_vcs", "off": "invoice.mode_off"}
AMAZON_TYPES: Final = {DocumentType.INVOICE: "Invoice", DocumentType.CREDIT_NOTE: "CreditNote"}
LEDGER_KEY: Final = "invoice_feeds"
UNSURE: Final = "?"  # the ledger's feed id of an invoice whose lost createFeed cannot be told
LEDGER_SIZE: Final = 200  # invoices whose feed ids the ledger keeps
FEEDS_PAGE: Final = 10
FEED_WAIT_S: Final = 60.0  # how long one call waits for Amazon's verdict on a feed
FEED_POLL_S: Final = 2.0
_DONE, _FATAL, _CANCELLED = "DONE", "FATAL", "CANCELLED"
# words in Amazon's reason of a refused invoice -> the reason in the seller's words (a text id
# ``invoice.reason.*``); Amazon's own words follow it in brackets. First match wins.
_REASONS: Final = (
    (("amazon will generate the invoice", "vat calculation service"), "vcs"),
    (("does not match the order total", "exceeds the order total"), "total"),
    (("already used",), "number_used"),
    (("not shipped",), "not_shipped"),
    (("not a pdf",), "not_pdf"),
    (("was not found",), "order_unknown"),
    (("marketplace",), "marketplace"),
    (("feed option", "is required", "must be"), "options"),
)


class _Refused(Exception):
    def __init__(self, code: str, **params: object) -> None:
        super().__init__(code)
        self.code = code
        self.params: dict[str, object] = params


@dataclass
class Ledger:
    """The connector's own record of its invoice feeds (in the host's state)."""

    sent: list[list[str]] = field(default_factory=list)  # [identity, feed id], oldest first
    unanswered: list[str] | None = None  # [identity, marketplace] of a createFeed unanswered

    @classmethod
    def load(cls, host: HostServices, account_id: str) -> Ledger:
        raw = host.get_state(account_id, LEDGER_KEY)
        data: dict[str, Any] = json.loads(raw) if raw else {}
        return cls(sent=list(data.get("sent") or []), unanswered=data.get("unanswered"))

    def save(self, host: HostServices, account_id: str) -> None:
        self.sent = self.sent[-LEDGER_SIZE:]
        data = {"sent": self.sent, "unanswered": self.unanswered}
        host.set_state(account_id, LEDGER_KEY, json.dumps(data, separators=(",", ":")))

    def feed_of(self, identity: str) -> str | None:
        return next((feed for who, feed in reversed(self.sent) if who == identity), None)

    def record(self, identity: str, feed_id: str) -> None:
        self.sent = [entry for entry in self.sent if entry[0] != identity]
        self.sent.append([identity, feed_id])

    def forget(self, identity: str) -> None:
        self.sent = [entry for entry in self.sent if entry[0] != identity]

    @property
    def feed_ids(self) -> set[str]:
        return {feed for _, feed in self.sent}


def identity(invoice: Invoice) -> str:
    return "|".join(invoice.key)


@dataclass(frozen=True)
class _Checked:
    """What the feed is sent with for one invoice, checked."""

    marketplace_id: str
    content: bytes
    options: dict[str, str]


def upload_invoices(
    account: Account,
    invoices: Sequence[Invoice],
    host: HostServices,
    *,
    client: SpApiClient | None = None,
    wait_s: float | None = None,
    poll_s: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> list[InvoiceOutcome]:
    """One outcome per invoice, in order (see the module's description). Amazon's verdict on
    a feed is awaited ``wait_s`` seconds (default: the account's ``report_wait_seconds``, at
    most ``FEED_WAIT_S``), asked every ``poll_s`` (default: ``report_check_seconds``)."""
    if wait_s is None:
        wait_s = min(FEED_WAIT_S, float(_setting(account, "report_wait_seconds")))
    if poll_s is None:
        poll_s = float(_setting(account, "report_check_seconds")) or FEED_POLL_S
    run = _Run(account, host, client, wait_s, poll_s, sleep, monotonic)
    return [run.one(invoice) for invoice in invoices]


class _Run:
    def __init__(
        self,
        account: Account,
        host: HostServices,
        client: SpApiClient | None,
        wait_s: float,
        poll_s: float,
        sleep: Callable[[float], None],
        monotonic: Callable[[], float],
    ) -> None:
        self.monotonic = monotonic
        self.account = account
        self.host = host
        self._client = client
        self.wait_s = wait_s
        self.poll_s = poll_s
        self.sleep = sleep
        self.ledger = Ledger.load(host, account.id)
        self.halted: InvoiceOutcome | None = None  # Amazon out of reach: the rest waits

    @property
    def client(self) -> SpApiClient:
        if self._client is None:
            self._client = SpApiClient.for_account(self.account)
        return self._client

    def one(self, invoice: Invoice) -> InvoiceOutcome:
        try:
            checked = _check(self.account, invoice, self.host)
        except _Refused as refusal:
            return self.outcome(invoice, InvoiceState.REFUSED, refusal.code, params=refusal.params)
        if self.halted is not None:
            return self.again(invoice)
        try:
            return self.send(invoice, checked)
        except _Refused as refusal:
            return self.outcome(invoice, InvoiceState.REFUSED, refusal.code, params=refusal.params)
        except errors.SpApiError as exc:
            self.halted = self.failure(invoice, exc)
            return self.halted

    def send(self, invoice: Invoice, checked: _Checked) -> InvoiceOutcome:
        key = identity(invoice)
        if self.ledger.unanswered is not None:
            self.resolve()
        feed_id = invoice.feed_id or self.ledger.feed_of(key)
        if feed_id == UNSURE:
            raise _Refused("invoice.unsure")
        if feed_id is None:
            feed_id = self.create(invoice, checked)
        return self.verdict(invoice, feed_id)

    def create(self, invoice: Invoice, checked: _Checked) -> str:
        """Document, upload, createFeed; the mark before createFeed, the id after it."""
        document = self.client.create_feed_document("application/pdf")
        try:
            self.client.upload_feed_document(document, checked.content, "application/pdf")
        except FeedDocumentUploadError as exc:
            raise _Refused("invoice.upload_refused", detail=exc.message) from None
        key = identity(invoice)
        self.ledger.unanswered = [key, checked.marketplace_id]
        self.ledger.save(self.host, self.account.id)
        try:
            feed_id = self.client.create_feed(
                VAT_INVOICE_FEED,
                [checked.marketplace_id],
                document.feed_document_id,
                checked.options,
            )
        except (errors.TransportError, errors.ServerError):
            raise  # it may have reached Amazon: the mark stays, the next call looks
        except errors.SpApiError:
            self.ledger.unanswered = None  # a clear refusal: Amazon made no feed
            self.ledger.save(self.host, self.account.id)
            raise
        self.ledger.unanswered = None
        self.ledger.record(key, feed_id)
        self.ledger.save(self.host, self.account.id)
        return feed_id

    def resolve(self) -> None:
        """Find the feed of the createFeed whose answer was lost (see the module)."""
        assert self.ledger.unanswered is not None
        key, marketplace_id = self.ledger.unanswered
        feeds = self.client.get_feeds(
            [VAT_INVOICE_FEED], marketplace_ids=[marketplace_id], page_size=FEEDS_PAGE
        )
        candidates = _newer_than_known(feeds, self.ledger.feed_ids - {UNSURE})
        self.ledger.unanswered = None
        if candidates is None or len(candidates) > 1:
            self.ledger.record(key, UNSURE)
        elif candidates:
            self.ledger.record(key, candidates[0].feed_id)
        self.ledger.save(self.host, self.account.id)

    def verdict(self, invoice: Invoice, feed_id: str) -> InvoiceOutcome:
        """Ask the feed until Amazon has decided (at most ``wait_s``), then read its report."""
        deadline = self.monotonic() + self.wait_s
        while True:
            feed = self.client.get_feed(feed_id)
            if feed.processing_status in (_DONE, _FATAL, _CANCELLED):
                break
            if self.monotonic() >= deadline:
                return self.outcome(
                    invoice, InvoiceState.UPLOADED, "invoice.uploaded", feed_id, feed=feed_id
                )
            self.sleep(self.poll_s)
        if feed.processing_status != _DONE:
            # Amazon made no document of it: forget the feed, the next attempt sends anew
            detail = self.report_text(feed) or feed.processing_status
            self.ledger.forget(identity(invoice))
            self.ledger.save(self.host, self.account.id)
            return self.outcome(invoice, InvoiceState.RETRY, "invoice.fatal", detail=detail)
        if feed.result_feed_document_id is None:
            return self.outcome(invoice, InvoiceState.ACCEPTED, "invoice.accepted", feed_id)
        report = self.client.read_processing_report(feed.result_feed_document_id)
        if report.errors:
            amazon = "; ".join(e.description for e in report.errors if e.description)
            detail = in_sellers_words(amazon or "-", self.account.locale)
            self.ledger.forget(identity(invoice))  # refused: a corrected one is sent anew
            self.ledger.save(self.host, self.account.id)
            return self.outcome(
                invoice, InvoiceState.REFUSED, "invoice.refused", feed_id, detail=detail or "-"
            )
        return self.outcome(invoice, InvoiceState.ACCEPTED, "invoice.accepted", feed_id)

    def report_text(self, feed: Feed) -> str:
        if feed.result_feed_document_id is None:
            return ""
        try:
            report = self.client.read_processing_report(feed.result_feed_document_id)
        except errors.SpApiError:
            return ""
        return "; ".join(r.description for r in report.results if r.description)

    def failure(self, invoice: Invoice, exc: errors.SpApiError) -> InvoiceOutcome:
        """Amazon did not take the invoice for a reason of its own or of the credentials."""
        state = InvoiceState.RETRY
        if isinstance(exc, errors.AuthenticationError):
            detail = login_failure(exc, self.account).message
            return self.outcome(
                invoice, state, "invoice.auth_failed", reauthorize=True, detail=detail
            )
        if isinstance(exc, errors.ThrottledError):
            return self.outcome(invoice, state, "invoice.throttled")
        if isinstance(exc, errors.AccessDeniedError):
            return self.outcome(invoice, state, "invoice.access_denied")
        if isinstance(exc, errors.BadRequestError | errors.NotFoundError):
            return self.outcome(
                invoice, InvoiceState.REFUSED, "invoice.refused", detail=_amazon_words(exc)
            )
        detail = failure_detail(exc, self.account.locale)
        return self.outcome(invoice, state, "invoice.unavailable", detail=detail)

    def again(self, invoice: Invoice) -> InvoiceOutcome:
        assert self.halted is not None
        return InvoiceOutcome(
            amazon_order_id=invoice.amazon_order_id,
            invoice_number=invoice.invoice_number,
            document_type=invoice.document_type,
            state=self.halted.state,
            message=self.halted.message,
            code=self.halted.code,
            feed_id=invoice.feed_id,
            needs_reauthorization=self.halted.needs_reauthorization,
        )

    def outcome(
        self,
        invoice: Invoice,
        state: InvoiceState,
        code: str,
        feed_id: str | None = None,
        *,
        reauthorize: bool = False,
        params: dict[str, object] | None = None,
        **more: object,
    ) -> InvoiceOutcome:
        text = messages.translate(
            code,
            self.account.locale,
            number=invoice.invoice_number,
            order=invoice.amazon_order_id,
            **{**(params or {}), **more},
        )
        return InvoiceOutcome(
            amazon_order_id=invoice.amazon_order_id,
            invoice_number=invoice.invoice_number,
            document_type=invoice.document_type,
            state=state,
            message=text,
            code=code,
            feed_id=feed_id,
            needs_reauthorization=reauthorize,
        )


def _newer_than_known(feeds: Sequence[Feed], known: set[str]) -> list[Feed] | None:
    """The feeds (newest first) before the first one the ledger knows; None when the page ends
    without one although it is full (the lost call's feed may lie further back)."""
    newer: list[Feed] = []
    for feed in feeds:
        if feed.feed_id in known:
            return newer
        newer.append(feed)
    return newer if len(feeds) < FEEDS_PAGE else None


def in_sellers_words(amazon: str, locale: str) -> str:
    """Amazon's reason for refusing an invoice, said first in the seller's words where it is
    one the connector knows (Amazon's words then follow in brackets), else as Amazon said it."""
    lowered = amazon.lower()
    for needles, reason in _REASONS:
        if any(needle in lowered for needle in needles):
            own = messages.translate(f"invoice.reason.{reason}", locale)
            return f"{own} (Amazon: {amazon})"
    return amazon


def _amazon_words(exc: errors.SpApiError) -> str:
    return exc.message.split(" failed: ", 1)[-1]


def invoicing_mode(account: Account) -> str:
    """own, vcs or off (the account's ``invoicing`` setting)."""
    return _setting(account, INVOICING_SETTING)


def _setting(account: Account, key: str) -> str:
    return next(s for s in settings() if s.key == key).read(account.settings)


def _check(account: Account, invoice: Invoice, host: HostServices) -> _Checked:
    """The checked feed of one invoice, or _Refused."""
    mode = invoicing_mode(account)
    if mode != "own":
        raise _Refused(_MODE_REFUSALS[mode])
    number = invoice.invoice_number.strip()
    if not number or len(number) > MAX_INVOICE_NUMBER or not number.isprintable() or ";" in number:
        raise _Refused("invoice.bad_number", maximum=MAX_INVOICE_NUMBER)
    for amount in (invoice.total_amount, invoice.total_vat_amount):
        if not amount.is_finite() or amount < 0 or _places(amount) > 2:
            raise _Refused("invoice.bad_amount")
    if invoice.total_vat_amount > invoice.total_amount:
        raise _Refused("invoice.vat_exceeds")
    transaction = (invoice.transaction_id or "").strip()
    if invoice.document_type is DocumentType.CREDIT_NOTE and not transaction:
        raise _Refused("invoice.no_transaction")
    if transaction and (len(transaction) > MAX_TRANSACTION_ID or not transaction.isprintable()):
        raise _Refused("invoice.bad_transaction")
    order = host.get_order(account.id, invoice.amazon_order_id)
    if order is None:
        raise _Refused("invoice.order_unknown")
    if order.status is OrderStatus.CANCELLED:
        raise _Refused("invoice.order_cancelled")
    if order.status is OrderStatus.PENDING:
        raise _Refused("invoice.order_not_shipped")
    currency = invoice.currency or order.currency
    if order.currency is not None and currency != order.currency:
        raise _Refused("invoice.currency", currency=currency, expected=order.currency)
    marketplace_id = invoice.marketplace_id or order.marketplace_id
    if marketplace_id not in VAT_INVOICE_MARKETPLACES:
        raise _Refused("invoice.marketplace")
    try:
        content = invoice.content()
    except OSError:
        raise _Refused("invoice.no_file") from None
    if not content.startswith(INVOICE_PDF_MAGIC):
        raise _Refused("invoice.not_pdf")
    if len(content) > MAX_INVOICE_PDF_BYTES:
        raise _Refused("invoice.too_large", maximum=MAX_INVOICE_PDF_BYTES // (1024 * 1024))
    options = {
        "metadata:OrderId": invoice.amazon_order_id,
        "metadata:InvoiceNumber": number,
        "metadata:TotalAmount": _money(invoice.total_amount),
        "metadata:TotalVATAmount": _money(invoice.total_vat_amount),
        "metadata:DocumentType": AMAZON_TYPES[invoice.document_type],
    }
    if transaction:
        options["metadata:TransactionId"] = transaction
    return _Checked(marketplace_id, content, options)


def _places(amount: Decimal) -> int:
    exponent = amount.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _money(amount: Decimal) -> str:
    return f"{amount:.2f}"
