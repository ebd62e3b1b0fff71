"""The invoice outbox: each invoice (or credit note) the seller uploads, until Amazon decided.

An invoice is recorded (pending) before anything is sent and identified, as at Amazon, by its
order, number and document type: recording it again finds the same row. A pending or refused
one takes a corrected file and totals and is pending again; one Amazon has (uploaded: Amazon
still checks it; accepted) is never changed, so it is never sent twice. The PDF (it names the
buyer) is kept sealed under the vault key, bound to its row, and dropped once accepted. The
connector keeps its own record of the feeds it made (in the account's state), so a send whose
answer was lost is found at Amazon, not sent again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

from hyreka_plugin_amazon.contract import (
    DocumentType,
    Invoice,
    InvoiceOutcome,
    InvoiceState,
)
from hyreka_plugin_amazon.refhost.store.database import Database, Row
from hyreka_plugin_amazon.refhost.store.errors import AccountNotFoundError

InvoiceRowState = Literal["pending", "uploaded", "accepted", "refused"]
INVOICE_STATES: tuple[InvoiceRowState, ...] = ("pending", "uploaded", "accepted", "refused")
_STATES: dict[InvoiceState, InvoiceRowState] = {
    InvoiceState.ACCEPTED: "accepted",
    InvoiceState.REFUSED: "refused",
    InvoiceState.UPLOADED: "uploaded",
    InvoiceState.RETRY: "pending",
}


@dataclass(frozen=True)
class StoredInvoice:
    """An invoice in the outbox (without its PDF) with where it stands."""

    amazon_order_id: str
    invoice_number: str
    document_type: DocumentType
    state: InvoiceRowState
    total_amount: Decimal
    total_vat_amount: Decimal
    currency: str | None
    transaction_id: str | None
    sha256: str
    feed_id: str | None
    code: str | None
    reason: str | None  # the last outcome's message
    attempts: int

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``invoices --json`` and ``invoice --json``."""
        return {
            "amazon_order_id": self.amazon_order_id,
            "invoice_number": self.invoice_number,
            "document_type": self.document_type.value,
            "state": self.state,
            "reason": self.reason,
            "feed_id": self.feed_id,
            "total_amount": format(self.total_amount, "f"),
            "total_vat_amount": format(self.total_vat_amount, "f"),
            "currency": self.currency,
            "transaction_id": self.transaction_id,
            "code": self.code,
            "attempts": self.attempts,
        }


def invoice_binding(account_id: str, amazon_order_id: str, number: str, kind: str) -> bytes:
    """The associated data of a sealed PDF: the row it belongs to."""
    return json.dumps(["invoice", account_id, amazon_order_id, number, kind]).encode("utf-8")


class InvoiceStore(Database):
    """Invoices per account, order, number and document type, with their state."""

    def record_invoice(self, account_id: str, invoice: Invoice) -> StoredInvoice:
        """Keep the invoice as pending before it is sent (see the module); the row as it
        stands now (unchanged when Amazon already has it)."""
        pdf = invoice.content()
        key = invoice.key
        params = {
            "account_id": account_id,
            "amazon_order_id": key[0],
            "invoice_number": key[1],
            "document_type": key[2],
            "total_amount": format(invoice.total_amount, "f"),
            "total_vat_amount": format(invoice.total_vat_amount, "f"),
            "currency": invoice.currency,
            "transaction_id": invoice.transaction_id,
            "pdf": self._vault.seal(pdf, invoice_binding(account_id, *key)),
            "key_id": self._vault.key_id,
            "sha256": hashlib.sha256(pdf).hexdigest(),
            "now": self._now(),
        }
        try:
            with self._write() as db:
                db.execute(self._sql.record_invoice, params)
                row = db.execute(self._sql.get_invoice, params).fetchone()
        except self._integrity_errors:
            raise AccountNotFoundError(f"no account with id {account_id!r}") from None
        return _stored(row)

    def invoices_to_send(self, account_id: str) -> list[Invoice]:
        """The account's pending invoices (with their PDFs) and the uploaded ones (with their
        feed ids), oldest first: what the connector is handed."""
        rows = self._read(self._sql.invoices_to_send, {"account_id": account_id})
        return [self._invoice(account_id, row) for row in rows]

    def record_invoice_outcome(self, account_id: str, outcome: InvoiceOutcome) -> None:
        params = {
            "account_id": account_id,
            "amazon_order_id": outcome.amazon_order_id,
            "invoice_number": outcome.invoice_number,
            "document_type": outcome.document_type.value,
            "state": _STATES[outcome.state],
            "code": outcome.code,
            "message": outcome.message,
            "feed_id": outcome.feed_id,
            "now": self._now(),
        }
        with self._write() as db:
            db.execute(self._sql.record_invoice_outcome, params)

    def get_invoice(
        self, account_id: str, amazon_order_id: str, number: str, kind: DocumentType
    ) -> StoredInvoice | None:
        params = {
            "account_id": account_id,
            "amazon_order_id": amazon_order_id,
            "invoice_number": number,
            "document_type": kind.value,
        }
        rows = self._read(self._sql.get_invoice, params)
        return _stored(rows[0]) if rows else None

    def withdraw_invoice(
        self, account_id: str, amazon_order_id: str, number: str, kind: DocumentType
    ) -> bool:
        """Remove a refused invoice from the outbox; False when there is none (an invoice
        that is pending, at Amazon or accepted is never withdrawn here)."""
        params = {
            "account_id": account_id,
            "amazon_order_id": amazon_order_id,
            "invoice_number": number,
            "document_type": kind.value,
        }
        with self._write() as db:
            return int(db.execute(self._sql.withdraw_invoice, params).rowcount) > 0

    def list_invoices(
        self,
        account_id: str | None = None,
        *,
        state: str | None = None,
        amazon_order_id: str | None = None,
    ) -> list[StoredInvoice]:
        """Invoices of an account (or all), in one state and of one order if given."""
        params = {"account_id": account_id, "state": state, "amazon_order_id": amazon_order_id}
        return [_stored(row) for row in self._read(self._sql.list_invoices, params)]

    def reseal_invoices(self) -> int:
        """Seal every kept PDF not under the vault's primary key again (a key rotation);
        returns how many."""
        key_id = self._vault.key_id
        resealed = 0
        with self._write() as db:
            rows = db.execute(self._sql.invoices_not_under_key, {"key_id": key_id}).fetchall()
            for row in rows:
                binding = invoice_binding(
                    row["account_id"],
                    row["amazon_order_id"],
                    row["invoice_number"],
                    row["document_type"],
                )
                pdf = self._vault.decrypt(bytes(row["pdf"]), binding)
                params = {key: row[key] for key in _KEY_COLUMNS}
                params |= {"pdf": self._vault.seal(pdf, binding), "key_id": key_id}
                db.execute(self._sql.reseal_invoice, params)
                resealed += 1
        return resealed

    def _invoice(self, account_id: str, row: Row) -> Invoice:
        stored = _stored(row)
        pdf = None
        if row["pdf"] is not None:
            binding = invoice_binding(
                account_id, stored.amazon_order_id, stored.invoice_number, row["document_type"]
            )
            pdf = self._vault.decrypt(bytes(row["pdf"]), binding)
        return Invoice(
            amazon_order_id=stored.amazon_order_id,
            invoice_number=stored.invoice_number,
            document_type=stored.document_type,
            total_amount=stored.total_amount,
            total_vat_amount=stored.total_vat_amount,
            pdf=pdf if pdf is not None else b"",
            transaction_id=stored.transaction_id,
            currency=stored.currency,
            feed_id=stored.feed_id if stored.state == "uploaded" else None,
        )


_KEY_COLUMNS = ("account_id", "amazon_order_id", "invoice_number", "document_type")


def _stored(row: Row) -> StoredInvoice:
    return StoredInvoice(
        amazon_order_id=row["amazon_order_id"],
        invoice_number=row["invoice_number"],
        document_type=DocumentType(row["document_type"]),
        state=row["state"],
        total_amount=Decimal(row["total_amount"]),
        total_vat_amount=Decimal(row["total_vat_amount"]),
        currency=row["currency"],
        transaction_id=row["transaction_id"],
        sha256=row["sha256"],
        feed_id=row["feed_id"],
        code=row["code"],
        reason=row["message"],
        attempts=int(row["attempts"]),
    )
