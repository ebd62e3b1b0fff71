""" "Rechnung hochladen": an invoice PDF into the outbox and to Amazon at once, sending what is
pending, and the outbox listed. Outcomes' messages are in the run's or request's language.

What the seller gives is checked here, for every face, before anything is stored or sent: the
file is a PDF (its magic bytes) within Amazon's size, the number is usable, the order is known
and shipped (Amazon counts it shipped, or a package of it is confirmed), the totals are
amounts in the order's currency (default: the order's charged total and its VAT as imported),
a credit note names Amazon's transaction of the refund. A refusal names the field, never
echoes the file. The connector checks again (the invoicing mode, the marketplace) and
refuses without a call what it can tell is wrong.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Final

from hyreka_plugin_amazon.contract import (
    DocumentType,
    Invoice,
    InvoiceOutcome,
    Order,
    OrderStatus,
)
from hyreka_plugin_amazon.outbox import (
    INVOICE_PDF_MAGIC,
    MAX_INVOICE_NUMBER,
    MAX_INVOICE_PDF_BYTES,
    MAX_TRANSACTION_ID,
)
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.services import auditing
from hyreka_plugin_amazon.refhost.services.errors import ServiceError
from hyreka_plugin_amazon.refhost.store import StoredInvoice
from hyreka_plugin_amazon.refhost.store.invoices import INVOICE_STATES

DOCUMENT_TYPES: Final = tuple(kind.value for kind in DocumentType)  # invoice, credit-note
STATES: Final = INVOICE_STATES
_AMOUNT = re.compile(
    r"^\s*(?:([A-Za-z]{3})\s*)?([0-9]+(?:[.,][0-9]{1,2})?)\s*(?:([A-Za-z]{3}))?\s*$"
)


@dataclass(frozen=True)
class Uploaded:
    """What ``upload`` did: the invoice as it stands in the outbox and the send's outcome."""

    stored: StoredInvoice
    outcome: InvoiceOutcome


def upload(
    host: ReferenceHost,
    amazon_order_id: str,
    *,
    pdf: bytes | None = None,
    path: Path | None = None,
    number: str,
    total: str | None = None,
    vat: str | None = None,
    document_type: str = "invoice",
    transaction_id: str | None = None,
    account_name: str | None = None,
    lang: str | None = None,
) -> Uploaded:
    """Record the invoice and upload it to Amazon, exactly once (see the module; the same
    order, number and type again is the same invoice: Amazon gets it once)."""
    account = host.shipping_account(amazon_order_id, account_name)
    account = dataclasses.replace(account, locale=lang or account.locale)
    kind = _document_type(document_type)
    invoice_number = _number(number)
    transaction = _transaction(transaction_id, kind)
    content = _pdf(pdf, path)
    order = host.store.get_order(account.id, amazon_order_id)
    if order is None:
        raise ServiceError("cli.invoice.order_unknown", order=amazon_order_id)
    if not _shipped(host, account.id, order):
        raise ServiceError("cli.invoice.not_shipped", order=amazon_order_id)
    total_amount = _amount("total", total, order) if total else order.total
    vat_amount = _amount("vat", vat, order) if vat else order_vat(order)
    if total_amount is None or vat_amount is None:
        raise ServiceError("cli.invoice.total_needed", field="total", order=amazon_order_id)
    if vat_amount > total_amount:
        raise ServiceError("cli.invoice.vat_exceeds", field="vat")
    invoice = Invoice(
        amazon_order_id=amazon_order_id,
        invoice_number=invoice_number,
        document_type=kind,
        total_amount=total_amount,
        total_vat_amount=vat_amount,
        pdf=content,
        transaction_id=transaction,
        currency=order.currency,
        marketplace_id=order.marketplace_id,
    )
    outcome = host.upload_invoice(account, invoice)
    stored = host.store.get_invoice(account.id, amazon_order_id, invoice_number, kind)
    assert stored is not None
    return Uploaded(stored, outcome)


def withdraw(
    host: ReferenceHost,
    amazon_order_id: str,
    *,
    number: str,
    document_type: str = "invoice",
    account_name: str | None = None,
) -> None:
    """The seller withdraws a refused invoice (instead of correcting it): it leaves the outbox
    and the order counts as missing its invoice again. Audited as ``invoice.withdrawn``.
    ServiceError when the order has no refused invoice of that number and type."""
    account = host.shipping_account(amazon_order_id, account_name)
    kind = _document_type(document_type)
    invoice_number = _number(number)
    if not host.store.withdraw_invoice(account.id, amazon_order_id, invoice_number, kind):
        raise ServiceError(
            "cli.invoice.not_withdrawable", order=amazon_order_id, number=invoice_number
        )
    auditing.record(
        host,
        "invoice.withdrawn",
        account=account.name,
        order=amazon_order_id,
        number=invoice_number,
        document_type=kind.value,
    )


def send_pending(
    host: ReferenceHost, account_name: str | None = None, *, lang: str | None = None
) -> list[InvoiceOutcome]:
    """Send every pending invoice and ask about the uploaded ones (of one account, or all)."""
    return host.send_pending_invoices(account_name, locale=lang)


def list_invoices(
    host: ReferenceHost,
    account_name: str | None = None,
    *,
    state: str | None = None,
    amazon_order_id: str | None = None,
) -> list[StoredInvoice]:
    """The outbox (of one account, in one state, of one order if given)."""
    if state is not None and state not in STATES:
        raise ServiceError("cli.invoice.bad_state", field="state", allowed=", ".join(STATES))
    account_id = host.store.get_account(account_name).id if account_name else None
    return host.store.list_invoices(account_id, state=state, amazon_order_id=amazon_order_id)


def order_vat(order: Order) -> Decimal | None:
    """The VAT Amazon charged for the order as imported: the items', shipping's and gift
    wrap's taxes (None when the report gave no item tax)."""
    vat = Decimal("0")
    for line in order.lines:
        if line.item_tax is None:
            return None
        vat += line.item_tax
        for amount in (line.shipping_tax, line.gift_wrap_tax):
            if amount is not None:
                vat += amount
    return vat


def missing_invoice(invoices: Sequence[StoredInvoice], order: Order) -> bool:
    """Whether a shipped order has no accepted invoice (the console's "Rechnung fehlt")."""
    return order.status is OrderStatus.SHIPPED and not any(
        i.state == "accepted" and i.document_type is DocumentType.INVOICE for i in invoices
    )


def _shipped(host: ReferenceHost, account_id: str, order: Order) -> bool:
    if order.status is OrderStatus.SHIPPED:
        return True
    if order.status is not OrderStatus.OPEN:
        return False
    packages = host.store.list_shipments(account_id, order.amazon_order_id)
    return any(p.state == "confirmed" for p in packages)  # partly shipped


def _document_type(text: str) -> DocumentType:
    try:
        return DocumentType(text.strip().lower())
    except ValueError:
        raise ServiceError(
            "cli.invoice.bad_type", field="type", allowed=", ".join(DOCUMENT_TYPES)
        ) from None


def _number(text: str) -> str:
    number = (text or "").strip()
    if not number:
        raise ServiceError("input.required", field="number")
    if len(number) > MAX_INVOICE_NUMBER or not number.isprintable() or ";" in number:
        raise ServiceError("cli.invoice.bad_number", field="number", maximum=MAX_INVOICE_NUMBER)
    return number


def _transaction(text: str | None, kind: DocumentType) -> str | None:
    transaction = (text or "").strip() or None
    if kind is DocumentType.CREDIT_NOTE and transaction is None:
        raise ServiceError("cli.invoice.no_transaction", field="transaction_id")
    if transaction is not None and (
        len(transaction) > MAX_TRANSACTION_ID or not transaction.isprintable()
    ):
        raise ServiceError("cli.invoice.bad_transaction", field="transaction_id")
    return transaction


def _pdf(pdf: bytes | None, path: Path | None) -> bytes:
    if pdf is None:
        if path is None:
            raise ServiceError("input.required", field="file")
        try:
            with path.open("rb") as file:
                pdf = file.read(MAX_INVOICE_PDF_BYTES + 1)
        except OSError as exc:
            raise ServiceError(
                "cli.invoice.no_file", field="file", detail=exc.strerror or type(exc).__name__
            ) from None
    if not pdf.startswith(INVOICE_PDF_MAGIC):
        raise ServiceError("cli.invoice.not_pdf", field="file")
    if len(pdf) > MAX_INVOICE_PDF_BYTES:
        raise ServiceError(
            "cli.invoice.too_large", field="file", maximum=MAX_INVOICE_PDF_BYTES // (1024 * 1024)
        )
    return pdf


def _amount(field: str, text: str, order: Order) -> Decimal:
    """``12.50``, ``12,50``, ``12.50 EUR`` or ``EUR 12.50``: an amount in the order's currency."""
    match = _AMOUNT.match(text)
    if match is None:
        raise ServiceError("cli.invoice.bad_amount", field=field)
    currency = (match.group(1) or match.group(3) or "").upper() or None
    if currency is not None and currency != (order.currency or currency):
        raise ServiceError(
            "cli.invoice.wrong_currency", field=field, currency=currency, expected=order.currency
        )
    try:
        return Decimal(match.group(2).replace(",", "."))
    except InvalidOperation:
        raise ServiceError("cli.invoice.bad_amount", field=field) from None
