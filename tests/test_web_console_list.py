"""The seller's daily screens in headless Chromium, in German and in English (issue 27): the
order list (open orders newest first, search by surname, sorting, pages, back from an order
keeps them, "Rechnungsadresse fehlt"), the accounts page's status with and without a running
poller, the sync banner and the problems with "Ignorieren", the history and error pages in the
page's language. Every page the German walk visits is checked against a list of English words
and codes that must not show.

``HYREKA_CONSOLE_SCREENSHOTS=DIR`` saves the README's screenshots (orders, order, accounts).
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from helpers.console import chromium
from helpers.records import make_account, make_order

from hyreka_plugin_amazon.contract import (
    Address,
    Order,
    OrderLine,
    OrderStatus,
    Problem,
    SyncResult,
)
from hyreka_plugin_amazon.refhost.background.presence import hold_poller_presence
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.web.console import Console
from hyreka_plugin_amazon.refhost.web.serving import RunningConsole, serve_in_thread

CHROMIUM = Path("/usr/bin/chromium")
ACCOUNT = "acc-1"
SURNAMES = ("Zimmermann", "Müller", "Schäfer", "Braun", "Wagner", "Becker", "Hoffmann")
# What a German page must not show: English server texts, codes, UTC times, English words.
NOT_GERMAN = (
    "Connection refused", "Method Not Allowed", "Not Found", "Internal Server Error",
    "Sync finished", "Last sync", "sync.", "MFN", "AFN", "console", "schedule", "manual",
    "worker", "UTC", "Background", "Billing", "Search", "Orders", "Status:", "failed",
    "None", "page ", "Seller-fulfilled", "minutes",
)  # fmt: skip
COMMAND = re.compile(r"„hyreka-amazon [a-z-]+“")
NOT_GERMAN_WORDS = re.compile(r"\b(the|and|of|not|is|every|min)\b")


def _orders() -> list[Order]:
    """120 open orders (three pages), a few shipped; order 7 without a billing address."""
    start = datetime(2026, 3, 1, 8, tzinfo=UTC)
    orders = []
    for n in range(130):
        base = make_order(
            f"028-{n:07d}-0000000", OrderStatus.OPEN if n < 120 else OrderStatus.SHIPPED
        )
        name = f"Kunde{n} {SURNAMES[n % len(SURNAMES)]}" if n != 42 else "Quirinia Vollzugsprüferin"
        address = Address(name, ("Hauptstraße 1",), "10115", "Berlin", "DE")
        line = OrderLine("1", f"SKU-{n}", "Kaffeetasse", 1, Decimal(n + 1), Decimal("0"))
        orders.append(
            dataclasses.replace(
                base,
                purchase_date=start + timedelta(hours=n),
                lines=(line,),
                billing_address=None if n == 7 else address,
                shipping_address=address,
                billing_address_missing=n == 7,
            )
        )
    return orders


@pytest.fixture
def console(tmp_path: Path) -> Iterator[RunningConsole]:
    env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    with ReferenceHost(tmp_path / "data", env=env) as host:
        host.store.add_account(make_account(ACCOUNT, name="Mein Shop"))
        for order in _orders():
            host.store.stage_order(ACCOUNT, order)
        host.store.list_accounts()  # commits what is staged
        running = serve_in_thread(Console(host))
        try:
            yield running
        finally:
            running.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="de-DE")
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    try:
        yield tab
    finally:
        context.close()


class Walk:
    """The pages a walk visited, each page's text kept for the word check."""

    def __init__(self, page: object, console: RunningConsole, lang: str) -> None:
        from playwright.sync_api import Page

        assert isinstance(page, Page)
        self.page = page
        self.console = console
        self.lang = lang
        self.texts: dict[str, str] = {}

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.console.port}"

    def seen(self) -> None:
        self.texts[self.page.url] = self.page.inner_text("body")

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.seen()

    def de(self, german: str, english: str) -> str:
        return german if self.lang == "de" else english

    def order_ids(self) -> list[str]:
        return self.page.locator("#orders tbody tr td:nth-child(2)").all_inner_texts()

    def shot(self, name: str) -> None:
        folder = os.environ.get("HYREKA_CONSOLE_SCREENSHOTS")
        if folder and self.lang == "de":
            self.page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=False)


def _walk(walk: Walk) -> None:
    from playwright.sync_api import expect

    page, de, host = walk.page, walk.de, walk.console.console.host
    page.goto(walk.console.url)
    if walk.lang == "en":
        page.click("#switch-language")
    # accounts: nothing polls
    walk.goto("/c/amazon/accounts")
    polling = page.locator("tr[data-account=acc-1] td.polling")
    expect(polling).to_contain_text(
        de("Automatischer Abruf läuft nicht", "Background sync is not running")
    )
    expect(page.locator("#background-status")).to_be_visible()
    presence = hold_poller_presence(host.data_dir)
    try:
        page.reload()
        walk.seen()
        expect(polling).to_contain_text(de("an, alle 15 Min.", "on, every 15 min"))
        expect(page.locator("#background-status")).to_have_count(0)
    finally:
        presence.close()

    # the order list: open orders, newest first, 50 a page
    page.get_by_role("link", name=de("Bestellungen", "Orders"), exact=True).click()
    walk.seen()
    expect(page.locator("#filter-status")).to_have_value("open")
    ids = walk.order_ids()
    assert ids[:2] == ["028-0000119-0000000", "028-0000118-0000000"]
    assert len(ids) == 50
    expect(page.locator(".count")).to_contain_text(
        de("120 Bestellungen, Seite 1 von 3", "120 orders, page 1 of 3")
    )
    row = page.locator("#orders tbody tr", has_text="028-0000119-0000000")
    expect(row).to_contain_text(de("120,00 €", "€120.00"))
    expect(row).to_contain_text(de("06.03.2026 08:00 MEZ", "6 Mar 2026 08:00 CET"))
    walk.shot("orders")

    # search by surname
    search = page.get_by_label(de("Suchen", "Search"))
    search.fill("vollzugsprüferin")
    page.get_by_role("button", name=de("Anzeigen", "Show")).click()
    walk.seen()
    assert walk.order_ids() == ["028-0000042-0000000"]
    search.fill("")
    page.get_by_role("button", name=de("Anzeigen", "Show")).click()

    # sorting: by total, small first, then turned round
    page.locator("#sort-total").click()
    walk.seen()
    assert walk.order_ids()[:2] == ["028-0000000-0000000", "028-0000001-0000000"]
    expect(page.locator("th[aria-sort=ascending]")).to_contain_text(de("Summe", "Total"))
    page.locator("#sort-total").click()
    assert walk.order_ids()[0] == "028-0000119-0000000"
    page.locator("#sort-total").click()  # small first again

    # pages: page 3, an order, back (link and browser) keep sort and page
    page.locator("nav.pages a.page", has_text="3").click()
    walk.seen()
    on_page_three = walk.order_ids()
    assert on_page_three[0] == "028-0000100-0000000"
    listed = page.url
    assert "page=3" in listed
    assert "sort=total" in listed
    page.get_by_role("link", name="028-0000105-0000000").click()
    walk.seen()
    expect(page.locator("#billing-address")).to_contain_text("Berlin")
    page.locator("#back").click()
    assert walk.order_ids() == on_page_three
    expect(page.locator("nav.pages .current")).to_have_text("3")
    page.get_by_role("link", name="028-0000105-0000000").click()
    page.go_back()
    assert walk.order_ids() == on_page_three

    # the order without a billing address is marked in the list and on its page
    page.locator("#sort-total").click()  # now large first: order 7 is on page 3
    page.locator("nav.pages a.page", has_text="3").click()
    row = page.locator("#orders tbody tr", has_text="028-0000007-0000000")
    expect(row.locator(".billing-missing")).to_have_text(
        de("Rechnungsadresse fehlt", "Billing address missing")
    )
    page.get_by_role("link", name="028-0000007-0000000").click()
    walk.seen()
    expect(page.locator("#billing-missing")).to_be_visible()
    walk.goto("/c/amazon/orders/acc-1/order/028-0000110-0000000")
    expect(page.locator("dl.order")).to_contain_text(
        de("Versand durch Verkäufer", "Fulfilled by the seller")
    )
    walk.shot("order")

    # a failed run with problems: the banner links to them, each can be ignored
    run = host.store.start_run(ACCOUNT, "schedule")
    host.store.finish_run(run, SyncResult(ok=False, message="x", code="sync.throttled"))
    host.store.record_problems(
        ACCOUNT,
        [
            Problem(reason="not a number", amazon_order_id="028-9999999-0000000", row=4,
                    column="item-price", messages={"de": "keine Zahl", "en": "not a number"}),
            Problem(reason="order id is missing", row=9,
                    messages={"de": "Bestellnummer fehlt", "en": "order id is missing"}),
        ],
    )  # fmt: skip
    walk.goto("/c/amazon/orders?account=acc-1")
    banner = page.locator("#sync-result")
    expect(banner).to_have_class("failed")
    expect(banner).to_contain_text(de("Amazon drosselt die Anfragen", "Amazon is throttling"))
    expect(banner).to_contain_text(de("automatisch", "automatic"))
    page.locator("#to-problems").click()
    problems = page.locator("#problems tbody tr")
    expect(problems).to_have_count(2)
    problems.filter(has_text=de("Zeile 9", "row 9")).get_by_role("button").click()
    walk.seen()
    expect(page.locator("#notice")).to_have_text(de("Problem ignoriert.", "Problem ignored."))
    expect(problems).to_have_count(1)
    page.reload()  # the ignore was a redirect: a reload posts nothing
    expect(problems).to_have_count(1)

    # a later run succeeded: the old failure banner is gone, the history says what happened
    run = host.store.start_run(ACCOUNT, "console")
    host.store.finish_run(run, SyncResult(ok=True, message="x", created=3, updated=1))
    page.reload()
    walk.seen()
    expect(page.locator("#sync-result")).to_have_count(0)
    history = page.locator("table.history tbody tr")
    expect(history.first).to_contain_text(de("von Hand (Konsole)", "by hand (console)"))
    expect(history.first).to_contain_text(de("3 neu, 1 aktualisiert", "3 new, 1 updated"))
    expect(history.nth(1)).to_contain_text(
        de("Amazon drosselt die Anfragen", "Amazon is throttling")
    )

    # the accounts page after those runs
    walk.goto("/c/amazon/accounts")
    expect(page.locator("tr[data-account=acc-1] td.last-sync")).to_contain_text(
        de("3 neu", "3 new")
    )
    walk.shot("accounts")

    # error pages in the page's language
    response = page.goto(walk.base + "/c/amazon/orders/acc-1/sync")  # a GET of a POST action
    assert response is not None
    assert response.status == 200  # the page it belongs to, never "Method Not Allowed"
    assert page.url.endswith("/c/amazon/orders?account=acc-1")
    walk.seen()
    response = page.goto(walk.base + "/c/amazon/orders/acc-1/order/nope")
    assert response is not None
    assert response.status == 404
    walk.seen()
    expect(page.locator("h1")).to_have_text(de("Nicht gefunden", "Not found"))


@pytest.mark.slow
def test_the_daily_screens_in_german_without_an_english_word(
    page: object, console: RunningConsole
) -> None:
    walk = Walk(page, console, "de")
    _walk(walk)
    assert len(walk.texts) >= 8
    for url, text in walk.texts.items():
        shown = text.replace("English", "")  # the language switch names its language
        shown = COMMAND.sub("", shown)  # commands to type are not words to translate
        found = [word for word in NOT_GERMAN if word in shown]
        found += NOT_GERMAN_WORDS.findall(shown)
        assert found == [], (url, found)


@pytest.mark.slow
def test_the_daily_screens_in_english(page: object, console: RunningConsole) -> None:
    walk = Walk(page, console, "en")
    _walk(walk)
    for url, text in walk.texts.items():
        assert "Bestellungen" not in text, url
        assert "Synchronisierung" not in text, url
