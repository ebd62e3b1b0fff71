"""The website authorization workflow ("Mit Amazon verbinden") against the simulator over
loopback HTTP: Seller Central's consent page, the redirect with ``spapi_oauth_code``, LWA's
``grant_type=authorization_code`` with Amazon's errors, and the connector's two hooks
(``authorization_url``, ``exchange_authorization``) through a real plugin manager."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from helpers.accounts import simulator_account

from hyreka_plugin_amazon.contract import Account
from hyreka_plugin_amazon.refhost.manager import PluginHost
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.simulator import Simulator

TIMEOUT = 5
CALLBACK = "http://127.0.0.1:9/c/amazon/connect/callback"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(orders=5, seed=3, marketplaces=("DE", "FR")) as running:
        yield running


@pytest.fixture
def plugins() -> PluginHost:
    return PluginHost()  # the installed connector through pluggy's entry points


def connecting(sim: Simulator, locale: str = "de") -> Account:
    """The account being connected: the vendor's app (the default seller's client), no token."""
    return dataclasses.replace(
        simulator_account(sim, "shop", ("DE", "FR")), refresh_token=Secret(""), locale=locale
    )


def consent_query(sim: Simulator, state: str = "s1", **extra: str) -> dict[str, str]:
    return {"application_id": sim.application_id, "state": state, "redirect_uri": CALLBACK, **extra}


def confirm(sim: Simulator, state: str = "s1", redirect_uri: str = CALLBACK) -> dict[str, str]:
    """The seller presses "Confirm" on the consent page: the redirect's parameters."""
    form = {**consent_query(sim, state), "redirect_uri": redirect_uri, "decision": "confirm"}
    answer = requests.post(sim.consent_url(), data=form, allow_redirects=False, timeout=TIMEOUT)
    assert answer.status_code == 302
    location = urlsplit(answer.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == redirect_uri
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def lwa_code(sim: Simulator, code: str, redirect_uri: str = CALLBACK) -> requests.Response:
    creds = sim.credentials
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
    }
    return requests.post(sim.token_url, data=form, timeout=TIMEOUT)


@pytest.mark.parametrize(
    ("language", "words"),
    [("de-DE,de;q=0.9", ("Bestätigen", "Abbrechen")), ("en-US", ("Confirm", "Cancel"))],
)
def test_the_consent_page_names_the_app_and_the_seller_in_the_browsers_language(
    sim: Simulator, language: str, words: tuple[str, str]
) -> None:
    page = requests.get(
        sim.consent_url(),
        params=consent_query(sim, version="beta"),
        headers={"Accept-Language": language},
        timeout=TIMEOUT,
    )
    assert page.status_code == 200
    assert sim.consents.app_name in page.text
    assert sim.default_seller.seller_id in page.text
    assert "version=beta" in page.text
    for word in words:
        assert f">{word}</button>" in page.text


@pytest.mark.parametrize(
    "wrong",
    [{"application_id": "amzn1.sp.solution.other"}, {"version": "2"}, {"redirect_uri": "ftp://x"}],
)
def test_seller_central_refuses_a_consent_request_it_cannot_trust(
    sim: Simulator, wrong: dict[str, str]
) -> None:
    page = requests.get(sim.consent_url(), params={**consent_query(sim), **wrong}, timeout=TIMEOUT)
    assert page.status_code == 400
    assert "Location" not in page.headers


def test_a_confirmed_consent_gives_a_code_that_lwa_exchanges_once(sim: Simulator) -> None:
    back = confirm(sim, state="abc")
    assert back["state"] == "abc"
    assert back["selling_partner_id"] == sim.default_seller.seller_id
    first = lwa_code(sim, back["spapi_oauth_code"])
    assert first.status_code == 200
    body = first.json()
    assert body["refresh_token"].startswith("Atzr|")
    assert body["refresh_token"] != sim.credentials.refresh_token  # a new one per consent
    again = lwa_code(sim, back["spapi_oauth_code"])
    assert (again.status_code, again.json()["error"]) == (400, "invalid_grant")


def test_lwa_refuses_another_redirect_uri_with_invalid_request(sim: Simulator) -> None:
    code = confirm(sim)["spapi_oauth_code"]
    wrong = lwa_code(sim, code, redirect_uri="http://127.0.0.1:9/elsewhere")
    assert (wrong.status_code, wrong.json()["error"]) == (400, "invalid_request")
    assert lwa_code(sim, code).status_code == 200  # still the seller's, with the right one


def test_a_code_expires_after_five_minutes_of_wall_time(sim: Simulator) -> None:
    code = confirm(sim)["spapi_oauth_code"]
    start = time.monotonic()
    sim.consents.wall = lambda: start + 301.0  # the code was issued under the real clock
    expired = lwa_code(sim, code)
    assert (expired.status_code, expired.json()["error"]) == (400, "invalid_grant")


def test_cancel_and_the_fault_authorization_denied_redirect_with_access_denied(
    sim: Simulator,
) -> None:
    form = {**consent_query(sim, "st"), "decision": "cancel"}
    cancelled = requests.post(sim.consent_url(), data=form, allow_redirects=False, timeout=TIMEOUT)
    query = parse_qs(urlsplit(cancelled.headers["Location"]).query)
    assert (query["error"], query["state"]) == (["access_denied"], ["st"])
    assert "spapi_oauth_code" not in query
    sim.faults.add({"name": "authorization_denied"})
    denied = requests.get(
        sim.consent_url(), params=consent_query(sim, "s2"), allow_redirects=False, timeout=TIMEOUT
    )
    assert denied.status_code == 302
    assert parse_qs(urlsplit(denied.headers["Location"]).query)["error"] == ["access_denied"]


def test_the_admin_api_answers_for_the_seller_without_a_browser(sim: Simulator) -> None:
    answer = requests.post(
        f"{sim.url}/_simulator/consent", json=consent_query(sim, "h"), timeout=TIMEOUT
    )
    query = parse_qs(urlsplit(answer.json()["redirect"]).query)
    assert query["state"] == ["h"]
    assert lwa_code(sim, query["spapi_oauth_code"][0]).status_code == 200


def test_the_connector_builds_the_consent_url_of_the_marketplaces_seller_central(
    sim: Simulator, plugins: PluginHost
) -> None:
    account = dataclasses.replace(connecting(sim), endpoint=None)
    url = plugins.authorization_url(
        account, application_id="amzn1.sp.solution.x", state="st", redirect_uri=CALLBACK, draft=True
    )
    split = urlsplit(url)
    assert (split.scheme, split.netloc, split.path) == (
        "https",
        "sellercentral-europe.amazon.com",
        "/apps/authorize/consent",
    )
    assert parse_qs(split.query) == {
        "application_id": ["amzn1.sp.solution.x"],
        "state": ["st"],
        "redirect_uri": [CALLBACK],
        "version": ["beta"],
    }
    simulated = plugins.authorization_url(
        connecting(sim), application_id=sim.application_id, state="st", redirect_uri=CALLBACK,
        draft=False,
    )  # fmt: skip
    assert simulated.startswith(sim.consent_url() + "?")
    assert "version" not in parse_qs(urlsplit(simulated).query)


def test_the_connector_exchanges_the_code_and_the_token_signs_in(
    sim: Simulator, plugins: PluginHost
) -> None:
    account = connecting(sim, "en")
    code = Secret(confirm(sim)["spapi_oauth_code"])
    done = plugins.exchange_authorization(account, code, CALLBACK)
    assert done.ok
    assert done.code == "authorize.ok"
    assert done.refresh_token is not None
    assert done.refresh_token.reveal() not in repr(done)
    connected = dataclasses.replace(account, refresh_token=done.refresh_token)
    assert plugins.test_login(connected).ok


@pytest.mark.parametrize("locale", ["de", "en"])
def test_the_connector_words_a_used_or_misdirected_code_for_the_seller(
    sim: Simulator, plugins: PluginHost, locale: str
) -> None:
    account = connecting(sim, locale)
    code = Secret(confirm(sim)["spapi_oauth_code"])
    wrong = plugins.exchange_authorization(account, code, "http://127.0.0.1:9/other")
    assert (wrong.ok, wrong.code, wrong.refresh_token) == (
        False,
        "authorize.redirect_refused",
        None,
    )
    assert "--public-url" in wrong.message
    assert plugins.exchange_authorization(account, code, CALLBACK).ok
    used = plugins.exchange_authorization(account, code, CALLBACK)
    assert (used.ok, used.code) == (False, "authorize.code_refused")
    assert code.reveal() not in used.message
    assert ("fünf Minuten" if locale == "de" else "five minutes") in used.message


def test_a_wrong_app_secret_is_the_vendors_to_fix(sim: Simulator, plugins: PluginHost) -> None:
    account = dataclasses.replace(connecting(sim), client_secret=Secret("amzn1.oa2-cs.v1.wrong"))
    code = Secret(confirm(sim)["spapi_oauth_code"])
    refused = plugins.exchange_authorization(account, code, CALLBACK)
    assert (refused.ok, refused.code) == (False, "authorize.app_refused")
    assert "amzn1.oa2-cs.v1.wrong" not in refused.message
