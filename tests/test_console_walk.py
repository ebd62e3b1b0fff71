"""Issue 27's walk in headless Chromium at 390 px (a phone), in German and in English: the
accounts page's status with and without a running poller, "Anmeldung testen" against the
simulator, the account form (a refusal keeps what was typed, secrets left empty; the region
follows the marketplaces; the help page "Zugangsdaten von Amazon holen"), the order list
(search by surname, sorting, pages), an order, the problems with "Ignorieren", "Synchronisieren"
paced, and "Entfernen" only with the account's name typed. Every POST is followed by a reload,
which must send nothing again; every page visited has no page-wide horizontal scroll
(``document.scrollingElement.scrollWidth <= 390``) and is checked against a word list: no
English word or code on a German page, no obvious German word on an English page (Amazon's
own English screen names, marked ``lang="en"``, aside).

``HYREKA_CONSOLE_SCREENSHOTS=DIR`` saves the phone screenshot the README shows.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from helpers.console import chromium
from helpers.records import make_account, make_order

from hyreka_plugin_amazon.contract import Address, OrderLine, OrderStatus, Problem, SyncResult
from hyreka_plugin_amazon.refhost.background.presence import hold_poller_presence
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.web.console import Console
from hyreka_plugin_amazon.refhost.web.serving import RunningConsole, serve_in_thread
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.simulator import Simulator

PHONE = 390
SURNAMES = ("Zimmermann", "Müller", "Schäfer", "Braun", "Wagner", "Becker", "Hoffmann")
# What a German page must not show: English server texts, codes, UTC times, English words.
NOT_GERMAN = (
    "Connection refused", "Method Not Allowed", "Not Found", "Internal Server Error",
    "Sync finished", "Last sync", "sync.", "MFN", "AFN", "console", "schedule", "manual",
    "worker", "UTC", "Background", "Billing", "Search", "Orders", "Status:", "failed",
    "None", "page ", "Seller-fulfilled", "minutes", "GET_FLAT_FILE", "Settings", "Remove",
    "Save", "Carrier", "Other", "Cancel", "Default", "Account name",
)  # fmt: skip
NOT_GERMAN_WORDS = re.compile(r"\b(the|and|of|not|is|every|min|to|from|with|your)\b")
NOT_ENGLISH = (
    "Bestellung", "Synchronisier", "Konto", "Einstellung", "Versand", "Rechnungsadresse",
    "Zugangsdaten", "Entfernen", "Speichern", "Abbrechen", "Anmeldung", "Suchen", "Seite",
    "Vorgabe", "Marktplätze", "Problem ignoriert", "läuft",
)  # fmt: skip
NOT_ENGLISH_WORDS = re.compile(r"\b(und|nicht|der|die|das|mit|für|ist|oder|bei|alle)\b")
COMMAND = re.compile(r"„hyreka-amazon [^“]+“|hyreka-amazon [a-z-]+( [A-Za-z ]+)?")
# The page's text without elements marked as another language (Amazon's English screen names,
# the language switch).
SHOWN_TEXT = """() => {
  const copy = document.body.cloneNode(true);
  const own = document.documentElement.lang;
  copy.querySelectorAll('[lang]').forEach(e => { if (e.lang !== own) { e.remove(); } });
  copy.querySelectorAll('script, noscript').forEach(e => e.remove());
  return copy.innerText;
}"""


# The elements that reach past the viewport's right edge (to say what is too wide).
WIDE = """() => Array.from(document.querySelectorAll('body *'))
  .filter(e => e.getBoundingClientRect().right > 391)
  .slice(0, 5).map(e => e.tagName + '#' + e.id + ' ' + e.outerHTML.slice(0, 80))"""


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(orders=5, seed=9, report_delay_s=0.1, time_scale=50) as running:
        yield running


@pytest.fixture
def console(tmp_path: Path, sim: Simulator) -> Iterator[RunningConsole]:
    env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    creds = sim.credentials
    account = dataclasses.replace(
        make_account("acc-1", name="Mein Shop"),
        client_id=creds.client_id,
        client_secret=Secret(creds.client_secret),
        refresh_token=Secret(creds.refresh_token),
        endpoint=sim.url,
        token_url=sim.token_url,
    )
    with ReferenceHost(tmp_path / "data", env=env) as host:
        host.store.add_account(account)
        host.store.add_account(make_account("acc-2", name="Alter Shop"))
        start = datetime(2026, 3, 1, 8, tzinfo=UTC)
        for n in range(120):
            name = (
                f"Kunde{n} {SURNAMES[n % len(SURNAMES)]}" if n != 42 else "Ottilie Quastenflosser"
            )
            address = Address(name, ("Hauptstraße 1",), "10115", "Berlin", "DE")
            line = OrderLine("1", f"SKU-{n}", "Kaffeetasse", 1, Decimal(n + 1), Decimal("0"))
            order = dataclasses.replace(
                make_order(f"028-{n:07d}-0000000", OrderStatus.OPEN),
                purchase_date=start + timedelta(hours=n),
                lines=(line,),
                billing_address=address,
                shipping_address=address,
            )
            host.store.stage_order("acc-1", order)
        host.store.list_accounts()  # commits what is staged
        running = serve_in_thread(Console(host))
        try:
            yield running
        finally:
            running.stop()


class Walk:
    """A phone's tab of the console; every page it shows is checked."""

    def __init__(self, page: Any, console: RunningConsole, lang: str) -> None:
        self.page = page
        self.console = console
        self.lang = lang
        self.checked: list[str] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.console.port}"

    def de(self, german: str, english: str) -> str:
        return german if self.lang == "de" else english

    def check(self) -> None:
        """This page: no page-wide horizontal scroll at 390 px, one language."""
        self.page.wait_for_load_state()
        width = self.page.evaluate("document.scrollingElement.scrollWidth")
        wide = self.page.evaluate(WIDE) if width > PHONE else []
        assert width <= PHONE, (self.page.url, width, wide)
        shown = COMMAND.sub("", self.page.evaluate(SHOWN_TEXT))
        if self.lang == "de":
            found = [word for word in NOT_GERMAN if word in shown]
            found += NOT_GERMAN_WORDS.findall(shown)
        else:
            found = [word for word in NOT_ENGLISH if word in shown]
            found += NOT_ENGLISH_WORDS.findall(shown)
        assert found == [], (self.page.url, found)
        self.checked.append(self.page.url)

    def goto(self, path: str) -> None:
        self.page.goto(self.base + path)
        self.check()

    def posted(self) -> None:
        """After a POST: the browser shows a GET page (Post/Redirect/Get); a reload of it
        sends nothing again and asks nothing."""
        self.check()
        dialogs: list[str] = []

        def answer(dialog: Any) -> None:  # "Confirm Form Resubmission" would be one
            dialogs.append(dialog.message)
            dialog.dismiss()

        self.page.once("dialog", answer)
        response = self.page.reload()
        assert response is not None
        assert response.request.method == "GET"
        assert response.status == 200
        assert dialogs == []

    def ids(self) -> list[str]:
        cells = self.page.locator("#orders tbody tr td:nth-child(2)").all_inner_texts()
        return [cell.split(":")[-1].strip() for cell in cells]


def _walk(walk: Walk) -> None:
    from playwright.sync_api import expect

    page, de, host = walk.page, walk.de, walk.console.console.host
    page.goto(walk.console.url)
    if walk.lang == "en":
        page.click("#switch-language")
        walk.posted()

    # accounts: the background status without, then with a running poller
    walk.goto("/c/amazon/accounts")
    polling = page.locator("tr[data-account=acc-1] td.polling")
    expect(polling).to_contain_text(
        de("Automatischer Abruf läuft nicht", "Background sync is not running")
    )
    presence = hold_poller_presence(host.data_dir)
    try:
        page.reload()
        expect(polling).to_contain_text(de("an, alle 15 Min.", "on, every 15 min"))
        walk.check()
    finally:
        presence.close()

    # "Anmeldung testen" against the simulator: shown once, a reload tests nothing again
    row = page.locator("tr[data-account=acc-1]")
    row.get_by_role("button", name=de("Anmeldung testen", "Test login")).click()
    expect(page.locator("#login-result")).to_have_class("ok")
    walk.posted()
    expect(page.locator("#login-result")).to_have_count(0)

    # the account form: a refusal keeps what was typed (never a secret), the help page
    page.get_by_role("link", name=de("Account anlegen", "Add account")).click()
    walk.check()
    page.get_by_label("Name", exact=True).fill("Zweiter Shop")
    page.get_by_label(de("LWA-Client-ID", "LWA client id")).fill("amzn1.application-oa2-client.z")
    page.get_by_label(de("LWA-Client-Secret", "LWA client secret")).fill("geheim-secret-1")
    page.get_by_label(de("Refresh-Token", "Refresh token")).fill("Atzr|geheim-token-1")
    region = page.get_by_label("Region")
    page.get_by_label("Amazon.com (US)", exact=True).check()
    expect(region).to_have_value("na")
    page.get_by_label("Amazon.com (US)", exact=True).uncheck()
    page.get_by_label("Amazon.de (DE)", exact=True).check()
    expect(region).to_have_value("eu")
    interval = de("Automatische Synchronisierung alle (Minuten)", "Background sync every (minutes)")
    page.get_by_label(interval).fill("3")
    page.get_by_role("button", name=de("Speichern", "Save")).click()
    expect(page.get_by_label("Name", exact=True)).to_have_value("Zweiter Shop")  # kept
    expect(page.get_by_label(interval)).to_have_value("3")
    expect(page.locator("#wrap-setting-poll_minutes .error")).to_be_visible()
    expect(page.get_by_label(de("LWA-Client-Secret", "LWA client secret"))).to_have_value("")
    assert "geheim" not in page.content()  # secrets are never echoed back
    walk.posted()  # the refusal was shown once: the reload shows the form as it was
    expect(page.get_by_label("Name", exact=True)).to_have_value("")
    page.get_by_label("Name", exact=True).fill("Zweiter Shop")
    page.get_by_label(de("LWA-Client-ID", "LWA client id")).fill("amzn1.application-oa2-client.z")
    page.get_by_label("Amazon.de (DE)", exact=True).check()
    page.get_by_label(de("LWA-Client-Secret", "LWA client secret")).fill("geheim-secret-1")
    page.get_by_label(de("Refresh-Token", "Refresh token")).fill("Atzr|geheim-token-1")
    page.get_by_label(interval).fill("30")
    page.get_by_role("button", name=de("Speichern", "Save")).click()
    expect(page.locator("#notice")).to_contain_text("Zweiter Shop")
    walk.posted()
    assert [a.name for a in host.store.list_accounts()].count("Zweiter Shop") == 1
    page.goto(walk.base + "/c/amazon/accounts/new")
    page.locator("#credentials-help").click()
    walk.check()
    expect(page.locator("#review-time")).to_be_visible()

    # the order list: search by surname, sorting, pages
    page.get_by_role("link", name=de("Bestellungen", "Orders"), exact=True).click()
    walk.check()
    page.locator("#choose-account").select_option("acc-1")
    page.get_by_role("button", name=de("Anzeigen", "Show")).first.click()
    walk.check()
    assert walk.ids()[:2] == ["028-0000119-0000000", "028-0000118-0000000"]
    if os.environ.get("HYREKA_CONSOLE_SCREENSHOTS") and walk.lang == "de":
        folder = Path(os.environ["HYREKA_CONSOLE_SCREENSHOTS"])
        page.screenshot(path=str(folder / "orders-phone.png"), full_page=False)
    page.get_by_label(de("Suchen", "Search")).fill("quastenflosser")
    page.get_by_role("button", name=de("Anzeigen", "Show")).last.click()
    walk.check()
    assert walk.ids() == ["028-0000042-0000000"]
    page.get_by_label(de("Suchen", "Search")).fill("")
    page.get_by_role("button", name=de("Anzeigen", "Show")).last.click()
    page.locator("#sort-total").click()
    walk.check()
    assert walk.ids()[:2] == ["028-0000000-0000000", "028-0000001-0000000"]
    page.locator("nav.pages a.page", has_text="2").click()
    walk.check()
    assert walk.ids()[0] == "028-0000050-0000000"
    page.get_by_role("link", name="028-0000055-0000000").click()
    walk.check()
    expect(page.locator("#billing-address")).to_contain_text("Berlin")
    expect(page.get_by_label(de("Versanddienst", "Carrier"), exact=True)).to_be_visible()
    page.locator("#back").click()
    assert walk.ids()[0] == "028-0000050-0000000"

    # problems: "Ignorieren", then a reload ignores nothing more
    host.store.record_problems(
        "acc-1",
        [
            Problem(reason="order id is missing", row=9,
                    messages={"de": "Bestellnummer fehlt", "en": "order id is missing"}),
            Problem(reason="not a number", row=4, amazon_order_id="028-9999999-0000000",
                    messages={"de": "keine Zahl", "en": "not a number"}),
        ],
    )  # fmt: skip
    walk.goto("/c/amazon/orders?account=acc-1")
    problems = page.locator("#problems tbody tr")
    expect(problems).to_have_count(2)
    problems.first.get_by_role("button").click()
    expect(page.locator("#notice")).to_be_visible()
    walk.posted()
    expect(problems).to_have_count(1)
    assert len(host.store.open_problems("acc-1")) == 1

    # "Synchronisieren" right after a sync: paced, Amazon asked nothing
    run = host.store.start_run("acc-1", "schedule")
    host.store.finish_run(run, SyncResult(ok=True, message="x", created=0))
    walk.goto("/c/amazon/orders?account=acc-1")
    expect(page.locator("#sync-pacing")).to_be_visible()
    page.locator("#sync").click()
    expect(page.locator("#notice")).to_contain_text(de("Nicht synchronisiert", "Not synchronised"))
    walk.posted()
    assert len(host.store.list_runs("acc-1", limit=10)) == 1

    # "Entfernen": only with the account's name typed
    walk.goto("/c/amazon/accounts")
    old = page.locator("tr[data-account=acc-2]")
    old.get_by_role("button", name=de("Entfernen", "Remove")).click()
    walk.check()
    expect(page.locator("#remove-facts")).to_be_visible()
    field = page.locator("#confirm-name")
    field.fill("alter shop")
    page.locator("#remove-yes").click()
    walk.posted()
    assert "acc-2" in [a.id for a in host.store.list_accounts()]
    page.locator("#confirm-name").fill("Alter Shop")
    page.locator("#remove-yes").click()
    expect(page.locator("#notice")).to_contain_text("Alter Shop")
    walk.posted()
    assert "acc-2" not in [a.id for a in host.store.list_accounts()]

    # a GET of a POST-only address (Back onto it): the page it belongs to
    response = page.goto(walk.base + "/c/amazon/orders/acc-1/sync")
    assert response is not None
    assert response.status == 200
    walk.check()
    assert len(walk.checked) >= 20


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_walk_on_a_phone(console: RunningConsole, lang: str) -> None:
    with chromium() as browser:
        context = browser.new_context(
            viewport={"width": PHONE, "height": 844}, is_mobile=True, has_touch=True
        )
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            _walk(Walk(page, console, lang))
        finally:
            context.close()
