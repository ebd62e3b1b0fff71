"""What the host sends back to Amazon through the connector, part of the contract (and
re-exported by ``contract``): shipping confirmations, each package with its outcome, and
invoices, each document with its outcome."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path


@dataclass(frozen=True)
class ShipmentItem:
    """An order item and how many of it are in the package."""

    order_item_id: str
    quantity: int


@dataclass(frozen=True)
class Shipment:
    """One package the host shipped, to be confirmed to Amazon with carrier and tracking.

    ``package_id`` is the host's own number for the package, a positive integer that stays
    the same for every attempt: Amazon treats the same package again as an edit, so sending
    a shipment twice never makes two packages. ``carrier`` is a carrier code (Amazon's, or a
    name the connector knows, such as "Deutsche Post"); with the code "Other" Amazon needs
    ``carrier_name``. ``marketplace_id`` None: the order's, as the host stored it.

    ``all_items``: the seller asked to ship everything left of the order, and ``items`` is what
    the host counts as left. Amazon may count more as shipped (items shipped in Seller Central,
    outside the host): the connector leaves those out and says in the outcome's ``items``
    which items the package holds.
    """

    amazon_order_id: str
    package_id: int
    carrier: str
    tracking_number: str
    ship_date: datetime
    items: tuple[ShipmentItem, ...]
    carrier_name: str | None = None
    shipping_method: str | None = None
    marketplace_id: str | None = None
    all_items: bool = False


class ShipmentState(enum.StrEnum):
    """What became of a shipment the connector was asked to confirm."""

    CONFIRMED = "confirmed"  # Amazon has the package
    REFUSED = "refused"  # wrong as given: correct it, then send it again
    RETRY = "retry"  # Amazon could not be reached or asked to wait: send it again later


@dataclass(frozen=True)
class ShipmentOutcome:
    """The outcome of one shipment; ``message`` says what to do (in the account's language).

    ``code`` is a stable message id (``ship.unknown_carrier``); ``needs_reauthorization``
    as in LoginResult (nothing is sent until the seller re-authorises). ``items``: what the
    package holds when the connector left out items of an ``all_items`` shipment that Amazon
    counts as shipped already (None: as asked).
    """

    amazon_order_id: str
    package_id: int
    state: ShipmentState
    message: str = ""
    code: str = "ship.confirmed"
    needs_reauthorization: bool = False
    items: tuple[ShipmentItem, ...] | None = None  # the package's items when not as asked


# The longest tracking number the connector sends (Amazon's own UI takes fewer: a longer one is
# a paste mistake); the host holds a package's other texts to it too.
MAX_TRACKING_NUMBER = 100

# What Amazon takes as an invoice upload: the host checks it before storing, the connector
# before sending.
INVOICE_PDF_MAGIC = b"%PDF-"  # a PDF file's first bytes
MAX_INVOICE_PDF_BYTES = 10 * 1024 * 1024  # Amazon takes invoice PDFs up to 10 MB
MAX_INVOICE_NUMBER = 40  # characters of an invoice number
MAX_TRANSACTION_ID = 100  # characters of a credit note's transaction id


class DocumentType(enum.StrEnum):
    """What an uploaded document is: an invoice, or a credit note for a refund or return."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit-note"


@dataclass(frozen=True)
class Invoice:
    """One invoice (or credit note) PDF of the host's, to be uploaded to an order at Amazon.

    It is identified by order, ``invoice_number`` and ``document_type``: the connector never
    makes a second document at Amazon for the same three, however often it is sent (a re-run,
    a retry, an answer that was lost). ``pdf`` holds the file's bytes (else ``path`` names
    it). ``total_amount`` and ``total_vat_amount`` are in the order's ``currency`` (None: the
    order's, as the host stored it); a credit note names Amazon's ``transaction_id`` of the
    refund. ``feed_id``: Amazon's feed that already carries it (from an earlier outcome).
    """

    amazon_order_id: str
    invoice_number: str
    document_type: DocumentType
    total_amount: Decimal
    total_vat_amount: Decimal
    pdf: bytes | None = field(default=None, repr=False)
    path: Path | None = None
    transaction_id: str | None = None
    currency: str | None = None
    marketplace_id: str | None = None
    feed_id: str | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies the document at Amazon: order, number, document type."""
        return (self.amazon_order_id, self.invoice_number, self.document_type.value)

    def content(self) -> bytes:
        """The PDF's bytes (read from ``path`` when ``pdf`` is None)."""
        if self.pdf is not None:
            return self.pdf
        if self.path is None:
            raise ValueError("an invoice needs its PDF: pdf bytes or a path")
        return self.path.read_bytes()


class InvoiceState(enum.StrEnum):
    """What became of an invoice the connector was asked to upload."""

    ACCEPTED = "accepted"  # Amazon has the document on the order
    REFUSED = "refused"  # wrong as given (or Amazon's reason): correct it, then send again
    UPLOADED = "uploaded"  # Amazon has the feed and has not decided yet: ask again later
    RETRY = "retry"  # Amazon could not be reached or asked to wait: send it again later


@dataclass(frozen=True)
class InvoiceOutcome:
    """The outcome of one invoice; ``message`` says what to do (in the account's language).

    ``code`` is a stable message id (``invoice.accepted``); ``feed_id`` Amazon's feed that
    carries the document (set once Amazon has it: keep it and hand it back with the invoice,
    so a later attempt asks that feed instead of sending the PDF again);
    ``needs_reauthorization`` as in LoginResult.
    """

    amazon_order_id: str
    invoice_number: str
    document_type: DocumentType
    state: InvoiceState
    message: str = ""
    code: str = "invoice.accepted"
    feed_id: str | None = None
    needs_reauthorization: bool = False

    @property
    def key(self) -> tuple[str, str, str]:
        """The invoice it is the outcome of: order, number, document type (``Invoice.key``)."""
        return (self.amazon_order_id, self.invoice_number, self.document_type.value)
