"""The connector's invoice upload: the checks before Amazon, the VAT invoice feed through the real
client against the simulator, and exactly once (a repeat, a lost answer: one document at
Amazon), called through a real pluggy PluginManager."""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from helpers.accounts import simulator_account
from helpers.feeds import invoices_at_amazon
from helpers.memory_host import MemoryHost
from helpers.sim import add_fault

from hyreka_plugin_amazon.connector import CONNECTOR_ID, connector_info
from hyreka_plugin_amazon.contract import (
    Account,
    DocumentType,
    Invoice,
    InvoiceOutcome,
    InvoiceState,
    Order,
)
from hyreka_plugin_amazon.invoices import upload_invoices
from hyreka_plugin_amazon.outbox import MAX_INVOICE_PDF_BYTES
from hyreka_plugin_amazon.refhost.manager import make_plugin_manager
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.spapi.feeds import FeedReportError, parse_processing_report

PDF = b"%PDF-1.7\n1 0 obj << >> endobj\n%%EOF\n"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    # a running clock: feeds are processed in 0.5 simulated s, 25 ms of wall time
    with Simulator(orders=80, seed=3, time_scale=20, report_delay_s=0.5) as running:
        yield running


@pytest.fixture
def account(sim: Simulator) -> Account:
    return simulator_account(sim)


class Seller:
    """A host (in memory) that knows the simulator's orders, and the hook to upload with."""

    def __init__(self, sim: Simulator, account: Account) -> None:
        self.sim = sim
        self.account = account
        self.pm = make_plugin_manager()
        self.host = MemoryHost(self.pm)
        for data in sim.ground_truth():
            self.host.upsert_order(account.id, Order.from_dict(data))

    def order(
        self, status: str = "shipped", marketplace: str = "A1PA6795UKMFR9", skip: int = 0
    ) -> Order:
        found = [
            order
            for (_, _), order in sorted(self.host.orders.items())
            if order.status.value == status
            and order.marketplace_id == marketplace
            and order.total is not None
            and order.fulfillment_channel == "MFN"
        ]
        assert len(found) > skip, f"no {status} order in {marketplace}"
        return found[skip]

    def invoice(self, order: Order, number: str = "RE-2026-0001", **change: Any) -> Invoice:
        assert order.total is not None
        fields: dict[str, Any] = {
            "amazon_order_id": order.amazon_order_id,
            "invoice_number": number,
            "document_type": DocumentType.INVOICE,
            "total_amount": order.total,
            "total_vat_amount": Decimal("3.19"),
            "pdf": PDF,
        }
        return Invoice(**{**fields, **change})

    def upload(self, *invoices: Invoice, account: Account | None = None) -> list[InvoiceOutcome]:
        outcomes: list[InvoiceOutcome] = self.pm.hook.upload_invoices(
            account=account or self.account, invoices=list(invoices), host=self.host
        )
        return outcomes

    def calls(self, operation: str) -> int:
        stats = self.sim.stats.snapshot().get(self.sim.default_seller.seller_id, {})
        return int(stats.get(operation, {}).get("calls", 0))


@pytest.fixture
def seller(sim: Simulator, account: Account) -> Seller:
    return Seller(sim, account)


def test_hook_is_declared_and_the_capability_and_setting_are_described() -> None:
    info = connector_info()
    assert "invoice_upload" in info.capabilities
    assert info.setting("invoicing").choices == ("own", "vcs", "off")
    assert info.setting("invoicing").default == "own"
    assert info.actions["upload_invoices"] == {"de": "Rechnung hochladen", "en": "Upload invoice"}
    pm = make_plugin_manager()
    pm.check_pending()
    assert pm.hook.upload_invoices.spec is not None


def test_an_invoice_is_accepted_once(seller: Seller) -> None:
    order = seller.order()
    [outcome] = seller.upload(seller.invoice(order))
    assert (outcome.state, outcome.code) == (InvoiceState.ACCEPTED, "invoice.accepted")
    order_id = order.amazon_order_id
    assert outcome.message == (
        f"Amazon hat die Rechnung RE-2026-0001 zur Bestellung {order_id} angenommen."
    )
    [at_amazon] = invoices_at_amazon(seller.sim, order.amazon_order_id)
    assert at_amazon["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert at_amazon["feed_id"] == outcome.feed_id
    assert Decimal(at_amazon["total_amount"]) == order.total
    assert at_amazon["total_vat_amount"] == "3.19"
    # the same invoice again (a re-run): Amazon's verdict on the same feed, no second document
    [again] = seller.upload(seller.invoice(order))
    assert (again.state, again.feed_id) == (InvoiceState.ACCEPTED, outcome.feed_id)
    assert len(invoices_at_amazon(seller.sim, order.amazon_order_id)) == 1
    assert seller.calls("createFeed") == 1


@pytest.mark.parametrize("status", [0, 500])
def test_a_lost_answer_to_create_feed_is_one_document(seller: Seller, status: int) -> None:
    order = seller.order()
    add_fault(seller.sim, "lost_response", operation="createFeed", status=status)
    [first] = seller.upload(seller.invoice(order))
    assert (first.state, first.code) == (InvoiceState.RETRY, "invoice.unavailable")
    assert "nie doppelt" in first.message
    [second] = seller.upload(seller.invoice(order))
    assert second.state is InvoiceState.ACCEPTED, second.message
    [at_amazon] = invoices_at_amazon(seller.sim, order.amazon_order_id)
    assert at_amazon["feed_id"] == second.feed_id
    assert seller.calls("createFeed") == 1
    assert seller.calls("getFeeds") == 1


def test_a_create_feed_that_never_arrived_is_sent_again(seller: Seller) -> None:
    order = seller.order()
    add_fault(seller.sim, "drop_connection", operation="createFeed")  # before Amazon acts
    [first] = seller.upload(seller.invoice(order))
    assert first.state is InvoiceState.RETRY
    [second] = seller.upload(seller.invoice(order))
    assert second.state is InvoiceState.ACCEPTED, second.message
    assert len(invoices_at_amazon(seller.sim, order.amazon_order_id)) == 1
    assert seller.calls("createFeed") == 2


def test_a_lost_answer_among_foreign_feeds_is_not_guessed(seller: Seller) -> None:
    """Someone else uploaded invoices meanwhile: the connector cannot tell which feed is its
    own and refuses to send the invoice again (a duplicate is worse than asking)."""
    order, other = seller.order(), seller.order(skip=1)  # both on Amazon.de
    add_fault(seller.sim, "lost_response", operation="createFeed")
    seller.upload(seller.invoice(order))
    tool = Seller(seller.sim, simulator_account(seller.sim, name="other-tool"))  # own ledger
    assert tool.upload(tool.invoice(other, "X-1"))[0].state is InvoiceState.ACCEPTED
    [unsure] = seller.upload(seller.invoice(order))
    assert (unsure.state, unsure.code) == (InvoiceState.REFUSED, "invoice.unsure")
    assert "Seller Central" in unsure.message
    [still] = seller.upload(seller.invoice(order))
    assert still.code == "invoice.unsure"
    numbers = [i["invoice_number"] for i in invoices_at_amazon(seller.sim)]
    assert sorted(numbers) == ["RE-2026-0001", "X-1"]  # the lost call's feed, and the tool's


def test_a_credit_note(seller: Seller) -> None:
    order = seller.order()
    note = seller.invoice(
        order,
        "GS-1",
        document_type=DocumentType.CREDIT_NOTE,
        total_amount=Decimal("5.00"),
        total_vat_amount=Decimal("0.80"),
        transaction_id="amzn:crow:12345",
    )
    [outcome] = seller.upload(note)
    assert outcome.state is InvoiceState.ACCEPTED, outcome.message
    [at_amazon] = invoices_at_amazon(seller.sim, order.amazon_order_id)
    assert (at_amazon["document_type"], at_amazon["transaction_id"]) == (
        "CreditNote",
        "amzn:crow:12345",
    )


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"pdf": b"<html>invoice</html>"}, "invoice.not_pdf"),
        ({"pdf": b"%PDF-" + b"x" * MAX_INVOICE_PDF_BYTES}, "invoice.too_large"),
        ({"invoice_number": " "}, "invoice.bad_number"),
        ({"invoice_number": "R;1"}, "invoice.bad_number"),
        ({"total_amount": Decimal("-1")}, "invoice.bad_amount"),
        ({"total_vat_amount": Decimal("1.005")}, "invoice.bad_amount"),
        (
            {"total_amount": Decimal("1.00"), "total_vat_amount": Decimal("2.00")},
            "invoice.vat_exceeds",
        ),
        ({"document_type": DocumentType.CREDIT_NOTE}, "invoice.no_transaction"),
        ({"amazon_order_id": "999-0000000-0000000"}, "invoice.order_unknown"),
        ({"currency": "USD"}, "invoice.currency"),
        ({"marketplace_id": "ATVPDKIKX0DER"}, "invoice.marketplace"),
    ],
)
def test_what_the_connector_can_tell_is_wrong_costs_no_call(
    seller: Seller, change: dict[str, Any], code: str
) -> None:
    [outcome] = seller.upload(seller.invoice(seller.order(), **change))
    assert (outcome.state, outcome.code) == (InvoiceState.REFUSED, code)
    assert "nichts wurde gesendet" in outcome.message.lower()
    assert seller.calls("createFeedDocument") == seller.calls("createFeed") == 0


@pytest.mark.parametrize(
    ("mode", "code"), [("vcs", "invoice.mode_vcs"), ("off", "invoice.mode_off")]
)
def test_the_invoicing_mode_decides(seller: Seller, account: Account, mode: str, code: str) -> None:
    vcs = dataclasses.replace(account, settings={**account.settings, "invoicing": mode})
    [outcome] = seller.upload(seller.invoice(seller.order()), account=vcs)
    assert (outcome.state, outcome.code) == (InvoiceState.REFUSED, code)
    assert seller.calls("createFeed") == 0


def test_cancelled_and_pending_orders_are_refused_before_amazon(seller: Seller) -> None:
    cancelled = Order.from_dict(seller.sim.add_order(status="cancelled", marketplace="DE"))
    pending = Order.from_dict(seller.sim.add_order(status="pending", marketplace="DE"))
    for order in (cancelled, pending):
        seller.host.upsert_order(seller.account.id, order)
    invoices = [
        seller.invoice(cancelled, total_amount=Decimal("1"), total_vat_amount=Decimal("0")),
        seller.invoice(pending, "R-2", total_amount=Decimal("1"), total_vat_amount=Decimal("0")),
    ]
    codes = [o.code for o in seller.upload(*invoices)]
    assert codes == ["invoice.order_cancelled", "invoice.order_not_shipped"]


def test_amazons_refusals_in_the_sellers_words(seller: Seller, account: Account) -> None:
    order = seller.order()
    english = dataclasses.replace(account, locale="en")
    wrong = seller.invoice(order, total_amount=Decimal("0.50"), total_vat_amount=Decimal("0.08"))
    [total] = seller.upload(wrong, account=english)
    assert (total.state, total.code) == (InvoiceState.REFUSED, "invoice.refused")
    assert total.message.startswith(
        f"Amazon refused invoice RE-2026-0001 for order {order.amazon_order_id}: "
        "The invoice total differs from what Amazon charged for the order: give the charged "
        "amount with --total"
    )
    assert "(Amazon: TotalAmount 0.50 does not match" in total.message  # Amazon's own words
    assert total.message.endswith("Correct it (a new PDF or number) and upload it again.")
    # corrected (the right total), the same number goes out as a new feed and is accepted
    [fixed] = seller.upload(seller.invoice(order))
    assert fixed.state is InvoiceState.ACCEPTED
    open_order = Order.from_dict(seller.sim.add_order(status="open", marketplace="DE"))
    seller.host.upsert_order(account.id, open_order)
    [unshipped] = seller.upload(seller.invoice(open_order, "R-9"))
    assert unshipped.code == "invoice.refused"
    assert "is not shipped yet" in unshipped.message
    assert "Amazon zählt die Bestellung noch nicht als versandt" in unshipped.message
    [taken] = seller.upload(
        seller.invoice(seller.order(marketplace="A13V1IB3VIYZZH"), "RE-2026-0001")
    )
    assert "already used for another order" in taken.message
    assert "schon für eine andere Bestellung vergeben" in taken.message
    assert len(invoices_at_amazon(seller.sim)) == 1


def test_vcs_role_and_fatal(seller: Seller) -> None:
    order = seller.order()
    add_fault(seller.sim, "vcs_account")
    [vcs] = seller.upload(seller.invoice(order))
    assert (vcs.state, vcs.code) == (InvoiceState.REFUSED, "invoice.refused")
    assert "Amazon will generate the invoice" in vcs.message
    assert "Umsatzsteuer-Berechnungsservice (VCS)" in vcs.message
    add_fault(seller.sim, "invoice_role_missing", rate=1.0)  # also after a new token
    [role] = seller.upload(seller.invoice(order))
    assert (role.state, role.code) == (InvoiceState.RETRY, "invoice.access_denied")
    assert "Tax Invoicing (Restricted)" in role.message
    seller.sim.faults.clear()  # the role granted
    add_fault(seller.sim, "feed_fatal")
    [fatal] = seller.upload(seller.invoice(order))
    assert (fatal.state, fatal.code) == (InvoiceState.RETRY, "invoice.fatal")
    [sent] = seller.upload(seller.invoice(order))  # FATAL made no document: sent anew
    assert sent.state is InvoiceState.ACCEPTED
    assert len(invoices_at_amazon(seller.sim, order.amazon_order_id)) == 1


def test_a_feed_still_processing_is_asked_again_not_sent_again(
    seller: Seller, account: Account
) -> None:
    order = seller.order()
    [waiting] = upload_invoices(account, [seller.invoice(order)], seller.host, wait_s=0)
    assert (waiting.state, waiting.code) == (InvoiceState.UPLOADED, "invoice.uploaded")
    assert waiting.feed_id is not None
    later = dataclasses.replace(seller.invoice(order), feed_id=waiting.feed_id)
    [done] = seller.upload(later)
    assert (done.state, done.feed_id) == (InvoiceState.ACCEPTED, waiting.feed_id)
    assert seller.calls("createFeed") == 1


def test_after_a_throttle_the_rest_waits_without_calls(seller: Seller) -> None:
    first, second = seller.order(), seller.order(marketplace="A13V1IB3VIYZZH")
    add_fault(seller.sim, "throttle", operation="createFeedDocument", rate=1.0)
    outcomes = seller.upload(seller.invoice(first), seller.invoice(second, "R-2"))
    assert [o.code for o in outcomes] == ["invoice.throttled", "invoice.throttled"]
    assert [o.state for o in outcomes] == [InvoiceState.RETRY, InvoiceState.RETRY]


def test_other_connectors_accounts_are_not_ours(seller: Seller, account: Account) -> None:
    other = dataclasses.replace(account, connector="ebay")
    assert other.connector != CONNECTOR_ID
    assert seller.pm.hook.upload_invoices(account=other, invoices=[], host=seller.host) is None


def test_processing_reports_are_parsed() -> None:
    xml = (
        "<?xml version='1.0'?><AmazonEnvelope><Message><ProcessingReport>"
        "<ProcessingSummary><MessagesProcessed>1</MessagesProcessed>"
        "<MessagesSuccessful>0</MessagesSuccessful></ProcessingSummary>"
        "<Result><ResultCode>Error</ResultCode><ResultMessageCode>5001</ResultMessageCode>"
        "<ResultDescription>Bad invoice\u202e!</ResultDescription></Result>"
        "</ProcessingReport></Message></AmazonEnvelope>"
    )
    report = parse_processing_report(xml)
    assert (report.processed, report.successful) == (1, 0)
    [error] = report.errors
    assert (error.code, error.description) == ("5001", "Bad invoice !")
    as_json = parse_processing_report(
        '{"summary": {"messagesProcessed": 1, "messagesAccepted": 1}, "issues": '
        '[{"code": "W1", "severity": "WARNING", "message": "note"}]}'
    )
    assert (as_json.successful, as_json.errors, len(as_json.results)) == (1, (), 1)
    with pytest.raises(FeedReportError, match="DTD"):
        parse_processing_report('<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
    with pytest.raises(FeedReportError):
        parse_processing_report("not a report")
