"""The seller console in headless Chromium, against the simulator over loopback HTTP.

The browser tests walk the help page's path: "Account anlegen" with "Zugangsdaten",
"Anmeldung testen", "Bestellungen" -> "Synchronisieren" -> progress -> the open orders and an
order's billing address; in German and in English. Without Chromium (Debian's ``chromium``)
they skip, unless CI=true, where a missing browser fails the run.

``HYREKA_CONSOLE_SCREENSHOTS=DIR`` saves the account form's screenshot the README shows into
DIR (test_web_console_list.py saves the others).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet
from helpers.console import chromium
from helpers.records import make_account, make_order
from helpers.sim import open_for_seller
from markupsafe import escape

from hyreka_plugin_amazon.refhost.background.poller import Poller
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.i18n.texts import web_text
from hyreka_plugin_amazon.refhost.services.accounts import connector_info
from hyreka_plugin_amazon.refhost.web.console import Console, create_app
from hyreka_plugin_amazon.refhost.web.serving import RunningConsole, serve_in_thread
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.ordermodel import AmazonState

CHROMIUM = Path("/usr/bin/chromium")
SETTINGS = {
    "report_check_seconds": "0.05",
    "report_check_max_seconds": "0.2",
    "report_wait_seconds": "60",
}
TIMEOUT = 5


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(
        orders=60, seed=5, marketplaces=("DE", "FR"), report_delay_s=0.5, time_scale=20
    ) as running:
        yield running


@pytest.fixture
def console(tmp_path: Path, sim: Simulator) -> Iterator[RunningConsole]:
    env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    with ReferenceHost(tmp_path / "data", env=env) as host:
        running = serve_in_thread(Console(host, endpoint=sim.url, token_url=sim.token_url))
        try:
            yield running
        finally:
            running.stop()


def _base(console: RunningConsole) -> str:
    return f"http://127.0.0.1:{console.port}"


def _session(console: RunningConsole) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    response = session.get(console.url, timeout=TIMEOUT, allow_redirects=False)
    assert response.status_code == 302
    assert "token" not in response.headers["Location"]
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    return session


# ------------------------------------------------------------------------------ HTTP guards


def test_without_token_or_cookie_nothing_is_shown(console: RunningConsole) -> None:
    plain = requests.Session()
    plain.trust_env = False
    for path in ("/", "/c/amazon/accounts", "/c/amazon/orders"):
        response = plain.get(_base(console) + path, timeout=TIMEOUT)
        assert response.status_code == 403
        assert "Amazon" not in response.text
    wrong = plain.get(_base(console) + "/?token=guess", timeout=TIMEOUT)
    assert wrong.status_code == 403


def test_start_page_lists_the_connectors_with_security_headers(console: RunningConsole) -> None:
    session = _session(console)
    page = session.get(_base(console) + "/", timeout=TIMEOUT)
    assert page.status_code == 200
    assert "Amazon (Seller Central)" in page.text
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_a_foreign_host_header_is_refused(console: RunningConsole) -> None:
    session = _session(console)
    response = session.get(
        _base(console) + "/", headers={"Host": f"evil.example:{console.port}"}, timeout=TIMEOUT
    )
    assert response.status_code == 400


def test_a_form_post_without_its_csrf_token_is_refused(console: RunningConsole) -> None:
    session = _session(console)
    form = {"name": "shop", "client_id": "x", "client_secret": "y", "refresh_token": "z"}
    response = session.post(_base(console) + "/c/amazon/accounts/new", data=form, timeout=TIMEOUT)
    assert response.status_code == 400
    assert console.console.host.store.list_accounts() == []
    page = session.get(_base(console) + "/c/amazon/accounts/new", timeout=TIMEOUT)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token is not None
    form |= {"csrf_token": token.group(1), "region": "eu", "marketplaces": "DE"}
    saved = session.post(
        _base(console) + "/c/amazon/accounts/new", data=form, timeout=TIMEOUT, allow_redirects=False
    )
    assert saved.status_code == 302
    assert [a.name for a in console.console.host.store.list_accounts()] == ["shop"]


# ------------------------------------------------------------------------------ languages


def test_every_page_speaks_german_and_after_the_switch_english(tmp_path: Path) -> None:
    """Flask's test client, no browser: each page in German, then the same pages in English
    after "English" is pressed, with the catalogs' texts (plural counts included) and no id."""
    env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    with ReferenceHost(tmp_path / "data", env=env) as host:
        account = make_account(name="shop")
        host.store.add_account(account)
        host.store.upsert_order(account.id, make_order("028-1111111-2222222"))
        minutes = Poller(host).status()[0].interval_minutes
        app = create_app(Console(host), access_token="tok", allowed_hosts=["localhost"])
        client = app.test_client()
        assert client.get("/?token=tok").status_code == 302
        base = f"/c/amazon/orders/{account.id}"
        pages = {  # path -> (status, the keys of texts it shows)
            "/": (200, ("title", "connectors", "switch_language")),
            "/c/amazon/accounts": (200, ("tab.accounts", "account.new", "account.last_sync")),
            "/c/amazon/accounts/new": (200, ("account.credentials", "account.settings_help")),
            f"/c/amazon/orders?account={account.id}": (200, ("history.none", "orders.from")),
            f"{base}/order/028-1111111-2222222": (200, ("order.billing", "ship.carriers_common")),
            "/c/amazon/nothing": (404, ("notfound",)),
        }
        for lang in ("de", "en"):
            if lang == "en":
                start = client.get("/").get_data(as_text=True)
                token = re.search(r'name="csrf_token" value="([^"]+)"', start)
                assert token is not None
                form = {"csrf_token": token.group(1), "lang": "en", "next": "/"}
                assert client.post("/lang", data=form).status_code == 302
            for path, (status, keys) in pages.items():
                response = client.get(path)
                assert response.status_code == status, path
                page = response.get_data(as_text=True)
                assert f'<html lang="{lang}">' in page
                for key in keys:
                    assert escape(web_text(lang, key)) in page, (lang, key)
                assert "web." not in page
                if lang == "en":
                    assert web_text("de", "title") not in page
            orders = client.get(f"/c/amazon/orders?account={account.id}").get_data(as_text=True)
            count = web_text(lang, "orders.count", count=1, page=1, pages=1)
            assert count in orders
            assert count.startswith("1 ")
            accounts = client.get("/c/amazon/accounts").get_data(as_text=True)
            assert web_text(lang, "account.polling_not_running", minutes=minutes) in accounts
        denied = app.test_client().get("/")  # no token: the console's language, German
        assert denied.status_code == 403
        assert escape(web_text("de", "denied.text")) in denied.get_data(as_text=True)


# ------------------------------------------------------------------------------ browser


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with chromium() as launched:
        yield launched


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    from playwright.sync_api import Browser

    assert isinstance(browser, Browser)
    context = browser.new_context(viewport={"width": 1100, "height": 800})
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    try:
        yield tab
    finally:
        context.close()


def _shot(page: object, name: str) -> None:
    folder = os.environ.get("HYREKA_CONSOLE_SCREENSHOTS")
    if folder:
        from playwright.sync_api import Page

        assert isinstance(page, Page)
        page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=False)


UNLABELLED = """() => Array.from(
    document.querySelectorAll('input:not([type=hidden]), select, textarea')
).filter(element => element.labels.length === 0).map(element => element.name)"""


def _unlabelled(page: object) -> list[str]:
    """The names of the page's visible inputs that have no ``<label>``."""
    from playwright.sync_api import Page

    assert isinstance(page, Page)
    names: list[str] = page.evaluate(UNLABELLED)
    return names


def _walk(page: object, console: RunningConsole, sim: Simulator, lang: str) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    german = lang == "de"
    page.goto(console.url)
    if not german:
        page.click("#switch-language")
    page.get_by_role("link", name="Amazon (Seller Central)").click()
    expect(page.get_by_role("link", name="Accounts")).to_be_visible()
    page.get_by_role("link", name="Account anlegen" if german else "Add account").click()
    creds = sim.credentials
    page.get_by_label("Name", exact=True).fill("shop")
    page.get_by_label("LWA-Client-ID" if german else "LWA client id").fill(creds.client_id)
    secret = page.get_by_label("LWA-Client-Secret" if german else "LWA client secret")
    assert secret.get_attribute("type") == "password"
    secret.fill(creds.client_secret)
    page.get_by_label("Refresh-Token" if german else "Refresh token").fill(creds.refresh_token)
    page.get_by_label("Region").select_option("eu")
    page.get_by_label("Amazon.de (DE)", exact=True).check()
    page.get_by_label("Amazon.fr (FR)", exact=True).check()
    settings = connector_info().settings  # labelled fields, as register_connector() names them
    for setting in settings:
        if setting.key in SETTINGS:
            label = setting.label[lang]
            page.get_by_label(label, exact=True).fill(SETTINGS[setting.key])
    assert _unlabelled(page) == []
    if german:
        _shot(page, "account-form")
    page.get_by_role("button", name="Speichern" if german else "Save").click()
    page.get_by_role("button", name="Anmeldung testen" if german else "Test login").click()
    result = page.locator("#login-result")
    expect(result).to_have_class("ok")
    expect(result).to_contain_text("Anmeldung erfolgreich" if german else "Login succeeded")
    page.get_by_role("link", name="Bestellungen" if german else "Orders", exact=True).click()
    page.get_by_role("button", name="Synchronisieren" if german else "Synchronise").click()
    expect(page.locator("#sync-bar")).to_be_visible()
    expect(page.locator("#sync-result")).to_have_class("ok", timeout=60_000)
    done = "Synchronisierung abgeschlossen" if german else "Sync finished"
    expect(page.locator("#sync-result")).to_contain_text(done)
    open_orders = [o for o in sim.ground_truth() if open_for_seller(o)]
    assert open_orders
    page.get_by_label("Status", exact=True).select_option("open")
    page.get_by_role("button", name="Anzeigen" if german else "Show").last.click()
    rows = page.locator("#orders tbody tr")
    expect(rows).to_have_count(min(50, len(open_orders)))
    assert _unlabelled(page) == []
    order_id = open_orders[0]["amazon_order_id"]
    page.get_by_label("Suchen" if german else "Search").fill(order_id)
    page.get_by_role("button", name="Anzeigen" if german else "Show").last.click()
    page.get_by_role("link", name=order_id).click()
    billing = page.locator("#billing-address")
    expect(billing).to_contain_text("Rechnungsadresse" if german else "Billing address")
    truth = open_orders[0]["billing_address"]
    expect(billing).to_contain_text(truth["city"])
    assert _unlabelled(page) == []


@pytest.mark.slow
def test_help_page_path_in_german(page: object, console: RunningConsole, sim: Simulator) -> None:
    _walk(page, console, sim, "de")
    assert console.console.host.store.list_orders(account_id="shop")


@pytest.mark.slow
def test_help_page_path_in_english(page: object, console: RunningConsole, sim: Simulator) -> None:
    _walk(page, console, sim, "en")
    assert console.console.host.store.get_account("shop").locale == "en"


@pytest.mark.slow
def test_wrong_credentials_show_the_diagnosis(
    page: object, console: RunningConsole, sim: Simulator
) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    page.goto(console.url)
    page.goto(_base(console) + "/c/amazon/accounts/new")
    page.get_by_label("Name", exact=True).fill("wrong")
    page.get_by_label("LWA-Client-ID").fill(sim.credentials.client_id)
    page.get_by_label("LWA-Client-Secret").fill("not-the-secret")
    page.get_by_label("Refresh-Token").fill(sim.credentials.refresh_token)
    page.get_by_label("Amazon.de (DE)", exact=True).check()
    page.get_by_role("button", name="Speichern").click()
    page.get_by_role("button", name="Anmeldung testen").click()
    result = page.locator("#login-result")
    expect(result).to_have_class("failed")
    expect(result).to_contain_text("Anmeldung fehlgeschlagen")
    expect(result).to_contain_text("Client-Secret")
    assert "not-the-secret" not in page.content()


@pytest.mark.slow
def test_removing_an_account_asks_first(
    page: object, console: RunningConsole, sim: Simulator
) -> None:
    """ "Entfernen" shows what would go and removes only after "Ja, entfernen" (audited)."""
    from playwright.sync_api import Page, expect

    from hyreka_plugin_amazon.refhost.safety.audit import AuditLog

    assert isinstance(page, Page)
    host = console.console.host
    page.goto(console.url)
    page.goto(_base(console) + "/c/amazon/accounts/new")
    page.get_by_label("Name", exact=True).fill("gone")
    page.get_by_label("LWA-Client-ID").fill(sim.credentials.client_id)
    page.get_by_label("LWA-Client-Secret").fill(sim.credentials.client_secret)
    page.get_by_label("Refresh-Token").fill(sim.credentials.refresh_token)
    page.get_by_label("Amazon.de (DE)", exact=True).check()
    page.get_by_role("button", name="Speichern").click()
    page.get_by_role("button", name="Entfernen").click()
    expect(page.locator("#remove-question")).to_contain_text("Konto „gone“ wird Folgendes")
    expect(page.locator("#remove-facts [data-fact=orders]")).to_have_text(
        "0 Bestellungen samt Adressen"
    )
    assert [a.name for a in host.store.list_accounts()] == ["gone"]
    page.get_by_role("link", name="Abbrechen, Konto behalten").click()
    expect(page.locator("tr[data-account=gone]")).to_be_visible()
    page.get_by_role("button", name="Entfernen").click()
    page.get_by_label("Zur Bestätigung den Namen des Kontos eingeben: gone").fill("Gone")
    page.get_by_role("button", name="Ja, entfernen").click()
    expect(page.locator("#notice")).to_contain_text("nicht „gone“")
    assert [a.name for a in host.store.list_accounts()] == ["gone"]
    page.get_by_label("Zur Bestätigung den Namen des Kontos eingeben: gone").fill("gone")
    page.get_by_role("button", name="Ja, entfernen").click()
    expect(page.get_by_role("status")).to_contain_text("Account gone entfernt.")
    page.reload()  # the removal was a redirect: a reload posts nothing
    expect(page.get_by_role("status")).to_have_count(0)
    assert host.store.list_accounts() == []
    actions = [e.action for e in AuditLog(host.data_dir).entries()]
    assert actions == ["account.add", "account.remove"]


@pytest.mark.slow
def test_browser_without_token_sees_nothing(page: object, console: RunningConsole) -> None:
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    response = page.goto(_base(console) + "/c/amazon/accounts")
    assert response is not None
    assert response.status == 403
    expect(page.get_by_role("alert")).to_contain_text("hyreka-amazon web")


@pytest.mark.slow
def test_versand_bestaetigen_on_an_orders_detail(
    page: object, console: RunningConsole, sim: Simulator
) -> None:
    """After the help page's path, "Versand bestätigen" on a seller-fulfilled open order:
    Amazon (the simulator) gets the package once, the page shows it confirmed."""
    from playwright.sync_api import Page, expect

    assert isinstance(page, Page)
    _walk(page, console, sim, "de")
    now = sim.clock.now()
    order_id = next(  # seller-fulfilled and nothing of it shipped yet
        o.order_id
        for o in sim.book.orders.values()
        if o.fulfillment_channel == "MFN" and o.state(now) is AmazonState.UNSHIPPED
    )
    page.goto(f"{_base(console)}/c/amazon/orders/shop/order/{order_id}")
    form = page.locator("#ship")
    expect(form.get_by_role("heading", name="Versand bestätigen")).to_be_visible()
    assert _unlabelled(page) == []
    form.get_by_label("Versanddienst", exact=True).select_option("DHL")
    form.get_by_label("Sendungsnummer").fill("00340434161234567890")
    form.get_by_role("button", name="Versand bestätigen").click()
    expect(page.locator("#ship-result")).to_have_class("ok")
    expect(page.locator("#packages")).to_contain_text("bestätigt")
    expect(page.locator("#order-status")).to_have_text("versandt")  # at once, before a sync
    packages = next(
        o["packages"] for o in sim.ground_truth(packages=True) if o["amazon_order_id"] == order_id
    )
    assert [(p["carrier_code"], p["tracking_number"]) for p in packages] == [
        ("DHL", "00340434161234567890")
    ]
