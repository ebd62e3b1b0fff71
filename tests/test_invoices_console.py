""" "Rechnung hochladen" in the seller console, in headless Chromium against the simulator, in
German and in English: the order list's "Rechnung fehlt" filter finds the shipped order, the
order's page uploads the PDF (file, number, type), shows the invoice accepted, and Amazon (the
simulator) has one document; the filter then leaves the order out."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from helpers.accounts import simulator_account
from helpers.console import chromium
from helpers.feeds import invoices_at_amazon
from helpers.sim import add_fault

from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.web.console import Console
from hyreka_plugin_amazon.refhost.web.serving import RunningConsole, serve_in_thread
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.ordermodel import AmazonState

UNLABELLED = """() => Array.from(
    document.querySelectorAll('input:not([type=hidden]), select, textarea')
).filter(element => element.labels.length === 0).map(element => element.name)"""


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(
        orders=60, seed=5, marketplaces=("DE", "FR"), report_delay_s=0.5, time_scale=20
    ) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    try:
        yield tab
    finally:
        context.close()


@pytest.fixture
def shop(tmp_path: Path, sim: Simulator) -> Iterator[tuple[RunningConsole, str]]:
    """A console over a host that imported the open orders; one of them shipped since (at
    Amazon) and synced again: the host knows it as shipped, without an invoice."""
    env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    with ReferenceHost(tmp_path / "data", env=env) as host:
        host.store.add_account(simulator_account(sim, name="shop", marketplaces=("DE", "FR")))
        assert host.sync("shop").ok
        now = sim.clock.now()
        known = {o.amazon_order_id for o in host.store.list_orders(account_id="shop")}
        order = next(
            o
            for o in sorted(sim.orders.values(), key=lambda o: o.order_id)
            if o.order_id in known
            and o.fulfillment_channel == "MFN"
            and o.marketplace.code == "DE"
            and o.state(now) is AmazonState.UNSHIPPED
        )
        sim.ship_order(order.order_id)
        assert host.sync("shop").ok
        running = serve_in_thread(Console(host, endpoint=sim.url, token_url=sim.token_url))
        try:
            yield running, order.order_id
        finally:
            running.stop()


@pytest.mark.parametrize("lang", ["de", "en"])
def test_rechnung_hochladen_on_an_orders_detail(
    page: Any, shop: tuple[RunningConsole, str], sim: Simulator, tmp_path: Path, lang: str
) -> None:
    from playwright.sync_api import expect

    console, order_id = shop
    german = lang == "de"
    base = f"http://127.0.0.1:{console.port}"
    page.goto(console.url)
    if not german:
        page.click("#switch-language")
    page.goto(f"{base}/c/amazon/orders?account=shop")
    page.get_by_label("Rechnung fehlt" if german else "Invoice missing").check()
    page.get_by_role("button", name="Anzeigen" if german else "Show").last.click()
    expect(page.locator("#orders")).to_contain_text(order_id)

    page.get_by_role("link", name=order_id).click()
    section = page.locator("#invoice")
    action = "Rechnung hochladen" if german else "Upload invoice"
    expect(section.get_by_role("heading", name=action)).to_be_visible()
    assert page.evaluate(UNLABELLED) == []
    pdf = tmp_path / "RE-7.pdf"
    pdf.write_bytes(b"%PDF-1.7\n% RE-7\n%%EOF\n")
    section.get_by_label("PDF-Datei" if german else "PDF file").set_input_files(str(pdf))
    number = f"RE-7-{lang}"
    section.get_by_label("Rechnungsnummer" if german else "Invoice number").fill(number)
    section.get_by_label("Belegart" if german else "Document type").select_option("invoice")
    section.get_by_role("button", name=action).click()
    result = page.locator("#invoice-result")
    expect(result).to_have_class("ok", timeout=30_000)
    accepted = "angenommen" if german else "accepted"
    expect(result).to_contain_text(accepted)
    expect(page.locator("#invoices")).to_contain_text(number)
    expect(page.locator("#invoices")).to_contain_text(accepted)
    numbers = [i["invoice_number"] for i in invoices_at_amazon(sim, order_id)]
    assert numbers.count(number) == 1

    # a file that is no PDF: refused in the seller's language, nothing sent
    html = tmp_path / "invoice.html"
    html.write_text("<html>no</html>")
    section.get_by_label("PDF-Datei" if german else "PDF file").set_input_files(str(html))
    section.get_by_label("Rechnungsnummer" if german else "Invoice number").fill("RE-8")
    section.get_by_role("button", name=action).click()
    expect(page.locator("#invoice-result")).to_have_class("failed")
    expect(page.locator("#invoice-result")).to_contain_text("kein PDF" if german else "no PDF")
    assert "RE-8" not in json.dumps(invoices_at_amazon(sim, order_id))

    # Amazon refuses one (the seller is in its VAT Calculation Service): it stays visible
    # with the reason until the seller withdraws it
    add_fault(sim, "vcs_account", count=1)
    section.get_by_label("PDF-Datei" if german else "PDF file").set_input_files(str(pdf))
    section.get_by_label("Rechnungsnummer" if german else "Invoice number").fill(f"RE-9-{lang}")
    section.get_by_role("button", name=action).click()
    expect(page.locator("#invoice-result")).to_have_class("failed", timeout=30_000)
    refused = page.locator("#invoices tr", has_text=f"RE-9-{lang}")
    expect(refused).to_contain_text("abgelehnt" if german else "refused")
    refused.get_by_role("button", name="Zurückziehen" if german else "Withdraw").click()
    expect(page.locator("#invoice-result")).to_contain_text(
        "zurückgezogen" if german else "withdrawn"
    )
    expect(page.locator("#invoices")).not_to_contain_text(f"RE-9-{lang}")
    expect(page.locator("#invoices")).to_contain_text(number)  # the accepted one stays

    page.goto(f"{base}/c/amazon/orders?account=shop&status=shipped&invoice=missing")
    expect(page.locator("body")).not_to_contain_text(order_id)
