"""The contract's invoice objects: what the host hands the ``upload_invoices`` hook and what it
answers (a part of the contract, kept apart from ``contract`` for its size; it imports only
the standard library)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path


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
