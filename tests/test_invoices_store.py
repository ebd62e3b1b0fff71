"""The invoice outbox in the store, on SQLite and PostgreSQL: one row per order, number and
document type; what Amazon has is never changed; the PDF sealed (never in plain text on
disk), dropped once accepted, sealed again by a key rotation."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from hyreka_plugin_amazon.contract import (
    Account,
    DocumentType,
    Invoice,
    InvoiceOutcome,
    InvoiceState,
)
from hyreka_plugin_amazon.refhost.safety.vault import Vault
from hyreka_plugin_amazon.refhost.store import DB_FILE, Store
from hyreka_plugin_amazon.secret import Secret

PDF = b"%PDF-1.7 Rechnung an Erika Mustermann, Hauptstr. 1\n"


@pytest.fixture
def store(tmp_path: Path, database: str | None) -> Iterator[Store]:
    with Store.open(tmp_path, env={}, database=database) as opened:
        opened.add_account(
            Account(
                id="acc-1",
                name="shop",
                connector="amazon",
                region="eu",
                marketplace_ids=("A1PA6795UKMFR9",),
                client_id="c",
                client_secret=Secret("s"),
                refresh_token=Secret("r"),
            )
        )
        yield opened


def invoice(number: str = "RE-1", pdf: bytes = PDF, **change: object) -> Invoice:
    fields: dict[str, object] = {
        "amazon_order_id": "302-0000001-0000001",
        "invoice_number": number,
        "document_type": DocumentType.INVOICE,
        "total_amount": Decimal("19.99"),
        "total_vat_amount": Decimal("3.19"),
        "pdf": pdf,
        "currency": "EUR",
    }
    return Invoice(**{**fields, **change})  # type: ignore[arg-type]


def outcome(
    state: InvoiceState, feed_id: str | None = None, number: str = "RE-1"
) -> InvoiceOutcome:
    return InvoiceOutcome(
        "302-0000001-0000001", number, DocumentType.INVOICE, state, f"{state}", "x", feed_id
    )


def test_one_row_per_invoice_and_what_amazon_has_is_not_changed(store: Store) -> None:
    first = store.record_invoice("acc-1", invoice())
    assert (first.state, first.total_amount, first.feed_id) == ("pending", Decimal("19.99"), None)
    again = store.record_invoice("acc-1", invoice(pdf=PDF + b"v2"))  # corrected while pending
    assert again.sha256 != first.sha256
    [sent] = store.invoices_to_send("acc-1")
    assert sent.pdf == PDF + b"v2"
    store.record_invoice_outcome("acc-1", outcome(InvoiceState.UPLOADED, "F1"))
    [asked] = store.invoices_to_send("acc-1")
    assert asked.feed_id == "F1"  # asked again, not sent again
    store.record_invoice("acc-1", invoice(pdf=PDF + b"v3"))  # Amazon has it: unchanged
    [row] = store.list_invoices("acc-1")
    assert (row.state, row.sha256) == ("uploaded", again.sha256)
    store.record_invoice_outcome("acc-1", outcome(InvoiceState.ACCEPTED, "F1"))
    assert store.invoices_to_send("acc-1") == []
    assert [r.state for r in store.list_invoices("acc-1", state="accepted")] == ["accepted"]
    assert store.list_invoices("acc-1", state="pending") == []


def test_a_refused_invoice_is_corrected_and_pending_again(store: Store) -> None:
    store.record_invoice("acc-1", invoice())
    store.record_invoice_outcome("acc-1", outcome(InvoiceState.REFUSED, "F1"))
    [refused] = store.list_invoices("acc-1")
    assert (refused.state, refused.reason, refused.feed_id) == ("refused", "refused", "F1")
    corrected = store.record_invoice("acc-1", invoice(total_amount=Decimal("20.00")))
    assert (corrected.state, corrected.feed_id, corrected.reason) == ("pending", None, None)
    [sent] = store.invoices_to_send("acc-1")
    assert (sent.total_amount, sent.feed_id) == (Decimal("20.00"), None)
    store.record_invoice_outcome("acc-1", outcome(InvoiceState.RETRY))
    assert [r.state for r in store.list_invoices("acc-1")] == ["pending"]


def test_the_pdf_is_sealed_and_survives_a_key_rotation(
    store: Store, tmp_path: Path, database: str | None
) -> None:
    store.record_invoice("acc-1", invoice())
    if database is None:
        with sqlite3.connect(tmp_path / DB_FILE) as db:
            stored = db.execute("SELECT pdf FROM invoices").fetchone()[0]
        db.close()
        assert b"Mustermann" not in stored
        assert b"Mustermann" not in (tmp_path / DB_FILE).read_bytes()
    vault = Vault.open(tmp_path, env={})
    vault.add_new_primary_key()
    assert store.rotate_key(vault) >= 1
    vault.drop_old_keys()
    with Store.open(tmp_path, env={}, database=database) as reopened:
        [sent] = reopened.invoices_to_send("acc-1")
        assert sent.pdf == PDF
