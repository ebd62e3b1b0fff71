""" "Mit Amazon verbinden" in the console: Amazon's website authorization workflow against the
simulator over loopback HTTP; the seller's whole path in headless Chromium in German and in
English, the ways it goes wrong (cancelled, replayed, wrong state, expired code) and
"Erneut verbinden" after ``invalid_grant`` through the console's HTTP session."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from cryptography.fernet import Fernet
from helpers.console import LoggedIn, chromium
from helpers.records import make_order
from markupsafe import escape

from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.i18n.texts import translate, web_text
from hyreka_plugin_amazon.refhost.safety.audit import AuditEntry
from hyreka_plugin_amazon.refhost.services import auditing, connecting
from hyreka_plugin_amazon.refhost.services.errors import ServiceError
from hyreka_plugin_amazon.refhost.web.console import Console
from hyreka_plugin_amazon.refhost.web.serving import RunningConsole, serve_in_thread
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.simulator import Simulator

TIMEOUT = 5
DE, FR = "A1PA6795UKMFR9", "A13V1IB3VIYZZH"
REFRESH = re.compile(r"content=\"0; url=([^\"]+)\"")


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(orders=5, seed=8, marketplaces=("DE", "FR")) as running:
        yield running


@pytest.fixture
def console(tmp_path: Path, sim: Simulator, database: str | None) -> Iterator[RunningConsole]:
    """The console with the vendor's app, on SQLite and on PostgreSQL."""
    env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    creds = sim.credentials
    app = connecting.VendorApp(sim.application_id, creds.client_id, Secret(creds.client_secret))
    with ReferenceHost(tmp_path / "data", env=env, database=database) as host:
        running = serve_in_thread(
            Console(host, endpoint=sim.url, token_url=sim.token_url, vendor_app=app)
        )
        try:
            yield running
        finally:
            running.stop()


def start(client: LoggedIn, name: str = "shop") -> str:
    """ "Mit Amazon verbinden" pressed: the consent page's address."""
    form = {"csrf_token": client.csrf, "name": name, "region": "eu", "marketplaces": [DE, FR]}
    sent = client.http.post(
        client.base + "/c/amazon/connect", data=form, timeout=TIMEOUT, allow_redirects=False
    )
    return onward(sent)


def onward(page: requests.Response) -> str:
    """Where the console's page sends the browser on to (its refresh)."""
    assert page.status_code == 200, page.text
    found = REFRESH.search(page.text)
    assert found is not None
    return html.unescape(found.group(1))


def consent(url: str, decision: str = "confirm") -> str:
    """The seller's answer on the simulator's consent page: the console's callback address."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    answer = requests.post(
        url.split("?")[0], data={**query, "decision": decision}, allow_redirects=False,
        timeout=TIMEOUT,
    )  # fmt: skip
    assert answer.status_code == 302
    return answer.headers["Location"]


def come_back(client: LoggedIn, callback: str) -> str:
    """The browser back at the console: callback, its page's refresh, finish -> the outcome."""
    landed = client.http.get(callback, timeout=TIMEOUT, allow_redirects=False)
    assert "spapi_oauth_code" not in landed.text
    finished = client.get(onward(landed))
    assert finished.status_code == 302
    done = client.http.get(urljoin(client.base, finished.headers["Location"]), timeout=TIMEOUT)
    assert done.status_code == 200
    assert "spapi_oauth_code" not in done.url
    return done.text


def audit(console: RunningConsole) -> list[AuditEntry]:
    host = console.console.host
    return auditing.entries(host.data_dir, host.store.url)


def assert_nothing_stored(console: RunningConsole) -> None:
    assert console.console.host.store.list_accounts() == []
    assert [e for e in audit(console) if e.action == "account.connected"] == []


# ------------------------------------------------------------------------------ the browser


@pytest.mark.parametrize("lang", ["de", "en"])
def test_a_seller_connects_with_amazon_without_typing_a_secret(
    console: RunningConsole, sim: Simulator, lang: str
) -> None:
    from playwright.sync_api import expect

    german = lang == "de"
    with chromium() as browser:
        context = browser.new_context(locale="de-DE" if german else "en-US")
        page = context.new_page()
        page.set_default_timeout(20_000)
        page.goto(console.url)
        if not german:
            page.click("#switch-language")
        page.get_by_role("link", name="Amazon (Seller Central)").click()
        page.get_by_role("link", name="Account anlegen" if german else "Add account").click()
        form = page.locator("#connect-form")
        form.get_by_label("Name", exact=True).fill("shop")
        form.locator(f"input[value={DE}]").check()
        form.locator(f"input[value={FR}]").check()
        typed = page.locator("input[type=password]")
        form.get_by_role("button", name=web_text(lang, "connect.button")).click()
        expect(page).to_have_url(re.compile(re.escape(sim.consent_url()) + r"\?"))
        expect(page.get_by_text(sim.consents.app_name)).to_be_visible()
        page.get_by_role("button", name="Bestätigen" if german else "Confirm").click()
        expect(page.locator("#connect-result")).to_contain_text(
            web_text(lang, "connect.done", name="shop")
        )
        expect(page.locator("#login-result")).to_have_class("ok")
        assert "spapi_oauth_code" not in page.url
        assert "ticket" not in page.url
        page.get_by_role("link", name=web_text(lang, "connect.back")).click()
        expect(page.locator("tr[data-account=shop]")).to_be_visible()
        assert typed.count() >= 0  # the manual form's secret fields stayed empty, untouched
        context.close()
    account = console.console.host.store.get_account("shop")
    assert account.client_id == sim.credentials.client_id  # the vendor's app
    assert account.refresh_token.reveal().startswith("Atzr|simweb")  # the consent's token
    assert set(account.marketplace_ids) == {DE, FR}
    connected = [e for e in audit(console) if e.action == "account.connected"]
    assert [e.facts["selling_partner_id"] for e in connected] == [sim.default_seller.seller_id]
    assert account.refresh_token.reveal() not in repr(audit(console))
    file_log = console.console.host.data_dir / "audit.log"  # SQLite's host: the file itself
    if console.console.host.store.url is None:
        assert account.refresh_token.reveal() not in file_log.read_text(encoding="utf-8")


# ------------------------------------------------------------------------------ going wrong


@pytest.mark.parametrize("lang", ["de", "en"])
def test_a_cancelled_consent_stores_nothing(
    console: RunningConsole, sim: Simulator, lang: str
) -> None:
    client = LoggedIn(console)
    client.post("/lang", lang=lang)
    shown = come_back(client, consent(start(client), "cancel"))
    assert str(escape(translate("connect.denied", lang))) in shown
    assert_nothing_stored(console)


def test_the_fault_authorization_denied_is_a_refusal_too(
    console: RunningConsole, sim: Simulator
) -> None:
    client = LoggedIn(console)
    sim.faults.add({"name": "authorization_denied"})
    denied = requests.get(start(client), allow_redirects=False, timeout=TIMEOUT)
    shown = come_back(client, denied.headers["Location"])
    assert str(escape(translate("connect.denied", "de"))) in shown
    assert_nothing_stored(console)


def test_a_replayed_callback_stores_nothing_more(console: RunningConsole, sim: Simulator) -> None:
    client = LoggedIn(console)
    callback = consent(start(client))
    assert str(escape(web_text("de", "connect.done", name="shop"))) in come_back(client, callback)
    again = come_back(client, callback)
    assert str(escape(translate("connect.wrong_state", "de"))) in again
    assert len(console.console.host.store.list_accounts()) == 1
    assert len([e for e in audit(console) if e.action == "account.connected"]) == 1


def test_a_wrong_state_or_another_session_stores_nothing(
    console: RunningConsole, sim: Simulator
) -> None:
    client = LoggedIn(console)
    callback = consent(start(client))
    forged = re.sub(r"state=[^&]+", "state=forged", callback)
    assert str(escape(translate("connect.wrong_state", "de"))) in come_back(client, forged)
    console.new_url()
    other = LoggedIn(console)  # another browser: the consent was not started in its session
    second = consent(start(client, "shop2"))
    assert str(escape(translate("connect.wrong_state", "de"))) in come_back(other, second)
    assert_nothing_stored(console)


@pytest.mark.parametrize("lang", ["de", "en"])
def test_an_expired_code_stores_nothing(console: RunningConsole, sim: Simulator, lang: str) -> None:
    client = LoggedIn(console)
    client.post("/lang", lang=lang)
    callback = consent(start(client))
    issued = time.monotonic()
    sim.consents.wall = lambda: issued + 301.0  # five minutes passed at Amazon
    shown = come_back(client, callback)
    assert ("fünf Minuten" if lang == "de" else "five minutes") in shown
    assert_nothing_stored(console)


def test_reconnect_after_invalid_grant_keeps_orders_and_settings(
    console: RunningConsole, sim: Simulator
) -> None:
    client = LoggedIn(console)
    come_back(client, consent(start(client)))
    host = console.console.host
    before = host.store.get_account("shop")
    host.store.upsert_order(before.id, make_order("028-1111111-2222222"))
    # Amazon revoked the authorisation: the access token is refused, the refresh token too
    sim.faults.add({"name": "token_expired"})
    sim.faults.add({"name": "lwa_invalid_grant"})
    tested = client.post(f"/c/amazon/accounts/{before.id}/login")  # Post/Redirect/Get
    reconnect = web_text("de", "connect.reconnect")
    assert f">{reconnect}</button>" in client.get(tested.headers["Location"]).text
    asked = onward(client.post(f"/c/amazon/accounts/{before.id}/reconnect"))
    shown = come_back(client, consent(asked))
    assert str(escape(web_text("de", "connect.done", name="shop"))) in shown
    after = host.store.get_account("shop")
    assert after.refresh_token != before.refresh_token
    assert (after.id, after.settings, after.marketplace_ids) == (
        before.id,
        before.settings,
        before.marketplace_ids,
    )
    assert host.store.get_order(after.id, "028-1111111-2222222") is not None
    again = client.post(f"/c/amazon/accounts/{after.id}/login")
    assert f">{reconnect}</button>" not in again.text
    facts = [e.facts for e in audit(console) if e.action == "account.connected"]
    assert [f["reconnected"] for f in facts] == [False, True]


def test_without_the_vendors_app_only_the_manual_form_is_shown(tmp_path: Path) -> None:
    env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    with ReferenceHost(tmp_path / "data", env=env) as host:
        running = serve_in_thread(Console(host))
        try:
            page = LoggedIn(running).get("/c/amazon/accounts/new").text
        finally:
            running.stop()
    assert 'id="connect-form"' not in page
    assert 'id="account-form"' in page


def test_the_vendors_app_is_configured_once_its_secret_encrypted(tmp_path: Path) -> None:
    env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    given = {
        connecting.APP_ID_ENV: "amzn1.sp.solution.app",
        connecting.CLIENT_ID_ENV: "amzn1.application-oa2-client.app",
        connecting.CLIENT_SECRET_ENV: "amzn1.oa2-cs.v1.the-apps-secret",
    }
    with ReferenceHost(tmp_path / "data", env=env) as host:
        assert connecting.vendor_app(host, env={}) is None  # none: the manual form only
        app = connecting.vendor_app(host, env=given)
        assert app is not None
        assert app.client_secret.reveal() == "amzn1.oa2-cs.v1.the-apps-secret"
        kept = (host.data_dir / connecting.APP_FILE).read_text(encoding="utf-8")
        assert "the-apps-secret" not in kept
        assert connecting.vendor_app(host, env={}) == app  # the next start needs nothing
        draft = connecting.vendor_app(host, application_id="amzn1.sp.solution.app", draft=True)
        assert draft is not None
        assert draft.draft
        with pytest.raises(ServiceError) as other:
            connecting.vendor_app(host, application_id="amzn1.sp.solution.other", env={})
        assert other.value.text_id == "connect.app_incomplete"
    actions = [e.action for e in auditing.entries(tmp_path / "data")]
    assert actions.count("app.configured") == 1


def test_web_refuses_a_public_url_amazon_would_not_send_sellers_back_to(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hyreka_plugin_amazon.refhost.cli.main import main

    code = main(
        ["--data", str(tmp_path / "d"), "--lang", "en", "web", "--public-url", "http://erp.example"]
    )
    assert code == 2
    assert (
        translate("cli.web_public_url", "en", url="http://erp.example") in capsys.readouterr().err
    )
