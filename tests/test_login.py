"""Test login ("Anmeldung testen") against the simulator: each cause gets its own message,
exactly as the seller reads it in German and in English."""

from __future__ import annotations

import dataclasses
import socket
from collections.abc import Iterator

import pytest
from helpers.accounts import simulator_account

from hyreka_plugin_amazon.contract import Account, LoginResult
from hyreka_plugin_amazon.login import check_login
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.sellers import Seller
from hyreka_plugin_amazon.spapi.client import SpApiClient
from hyreka_plugin_amazon.spapi.ratelimit import RateLimiter
from hyreka_plugin_amazon.spapi.regions import REGIONS

SOLD = ("DE", "FR", "IT")  # what the simulator's seller sells on


def sold(sim: Simulator) -> Account:
    """An account of exactly the marketplaces the seller sells on."""
    return simulator_account(sim, marketplaces=SOLD)


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(orders=4, seed=3, marketplaces=SOLD, time_scale=0) as running:
        yield running


@pytest.fixture(autouse=True)
def no_faults(sim: Simulator) -> Iterator[None]:
    yield
    sim.faults.clear()


def as_seller(account: Account, seller: Seller) -> Account:
    creds = seller.credentials
    return dataclasses.replace(
        account,
        client_id=creds.client_id,
        client_secret=Secret(creds.client_secret),
        refresh_token=Secret(creds.refresh_token),
    )


def login(account: Account, locale: str, **kwargs: object) -> LoginResult:
    """check_login in ``locale`` with a client that does not wait between retries."""
    account = dataclasses.replace(account, locale=locale)
    client = SpApiClient.for_account(
        account, sleep=lambda seconds: None, rate_limiter=RateLimiter()
    )
    return check_login(account, client=client, **kwargs)  # type: ignore[arg-type]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_success_lists_the_marketplaces_and_flags_those_the_seller_does_not_sell_on(
    sim: Simulator,
) -> None:
    account = simulator_account(sim, marketplaces=("DE", "FR", "PL", "SE"))
    german = login(account, "de")
    assert not german.ok  # issue 14: every sync would leave them out, so the test fails
    assert german.code == "login.not_participating"
    assert german.marketplaces == ("A1PA6795UKMFR9", "A13V1IB3VIYZZH", "APJ6JRA9NG5V4")
    assert german.message == (
        "Auf Amazon.pl (PL), Amazon.se (SE) verkauft dieses Verkäuferkonto nicht, jede "
        "Synchronisierung ließe sie aus. Das Konto verkauft auf: Amazon.de (DE), Amazon.fr (FR), "
        "Amazon.it (IT). Entfernen Sie die übrigen Marktplätze unter „Marktplätze“ oder schalten "
        "Sie sie in Seller Central frei."
    )
    assert german.warnings == (
        "Auf Amazon.pl (PL), Amazon.se (SE) verkauft dieses Verkäuferkonto nicht; von dort "
        "kommen keine Bestellungen. Entfernen Sie diese Marktplätze unter „Marktplätze“ oder "
        "schalten Sie sie in Seller Central für Ihr Konto frei.",
    )
    english = login(account, "en")
    assert english.message == (
        "This seller account does not sell on Amazon.pl (PL), Amazon.se (SE); every sync would "
        "leave them out. The account sells on: Amazon.de (DE), Amazon.fr (FR), Amazon.it (IT). "
        "Remove the other marketplaces under 'Marketplaces' or open them in Seller Central."
    )
    fine = login(simulator_account(sim, marketplaces=("DE", "IT")), "en")
    assert fine.ok
    assert fine.code == "login.ok"
    assert fine.message == (
        "Login successful. The seller account sells on: "
        "Amazon.de (DE), Amazon.fr (FR), Amazon.it (IT)."
    )
    assert english.warnings == (
        "This seller account does not sell on Amazon.pl (PL), Amazon.se (SE); no orders come "
        "from there. Remove these marketplaces under 'Marketplaces' or open them for your "
        "account in Seller Central.",
    )
    assert login(simulator_account(sim, marketplaces=("DE",)), "de").warnings == ()


def test_wrong_client_secret(sim: Simulator) -> None:
    assert login(sold(sim), "de").ok  # a cached token must not hide a wrong secret
    account = dataclasses.replace(
        sold(sim),
        client_secret=Secret("amzn1.oa2-cs.v1.not-the-secret"),
    )
    german = login(account, "de")
    assert (german.ok, german.code) == (False, "login.invalid_client")
    assert german.message == (
        "Amazon lehnt die App-Zugangsdaten ab: LWA-Client-ID oder Client-Secret ist falsch oder "
        "abgelaufen. Kopieren Sie beide erneut aus dem Solution Provider Portal (Develop Apps > "
        "Ihre App > LWA-Anmeldedaten „View“). Das Client-Secret muss Amazon alle 180 Tage "
        "erneuern lassen; tragen Sie danach das neue ein."
    )
    assert login(account, "en").message == (
        "Amazon rejects the app credentials: the LWA client id or client secret is wrong or "
        "expired. Copy both again from the Solution Provider Portal (Develop Apps > your app > "
        "LWA credentials 'View'). Amazon makes you rotate the client secret every 180 days; "
        "enter the new one afterwards."
    )
    wrong_id = dataclasses.replace(sold(sim), client_id="amzn1.application-oa2-x")
    assert login(wrong_id, "de").code == "login.invalid_client"


def test_revoked_or_wrong_refresh_token(sim: Simulator) -> None:
    account = dataclasses.replace(sold(sim), refresh_token=Secret("Atzr|revoked"))
    german = login(account, "de")
    assert (german.ok, german.code) == (False, "login.invalid_grant")
    assert german.needs_reauthorization
    assert german.message == (
        "Amazon lehnt das Refresh-Token ab: es ist falsch kopiert, wurde widerrufen oder gehört "
        "zu einer anderen App. Autorisieren Sie die App erneut (Solution Provider Portal > "
        "Develop Apps > „Authorize app“) und tragen Sie das neue Refresh-Token ein."
    )
    assert login(account, "en").message == (
        "Amazon rejects the refresh token: it was copied wrongly, has been revoked or belongs to "
        "another app. Authorise the app again (Solution Provider Portal > Develop Apps > "
        "'Authorize app') and enter the new refresh token."
    )


def test_token_of_another_region_found_by_asking_the_other_regions_host(sim: Simulator) -> None:
    """Amazon's EU host refuses a North American seller's token (403) like an app without
    access; the NA host accepts it. The simulator's regional hosts behave the same."""
    america = sim.add_seller(marketplaces=["US", "CA"], orders=1)
    account = dataclasses.replace(
        as_seller(simulator_account(sim, marketplaces=("DE",)), america),
        endpoint=sim.region_url("eu"),
    )
    hosts = {region: sim.region_url(region) for region in REGIONS}
    german = login(account, "de", region_endpoints=hosts)
    assert (german.ok, german.code) == (False, "login.wrong_region")
    assert german.message == (
        "Das Refresh-Token gehört zu einem Verkäuferkonto der Region „na“ (Marktplätze: "
        "Amazon.com (US), Amazon.ca (CA)), eingestellt ist aber „eu“. Stellen Sie unter "
        "„Region“ „na“ ein, oder tragen Sie das Refresh-Token Ihres Kontos der Region „eu“ ein."
    )
    assert login(account, "en", region_endpoints=hosts).message == (
        "The refresh token belongs to a seller account of region 'na' (marketplaces: "
        "Amazon.com (US), Amazon.ca (CA)), but 'eu' is configured. Set 'Region' to 'na', or "
        "enter the refresh token of your account in region 'eu'."
    )
    # without the other regions' hosts the 403 cannot be told apart from missing access
    assert login(account, "de").code == "login.access_denied"


def test_token_of_another_region_answered_with_that_regions_marketplaces(sim: Simulator) -> None:
    """A host that answers for any region (the single simulator) shows it by the marketplaces."""
    japan = sim.add_seller(marketplaces=["JP"], orders=1)
    result = login(as_seller(simulator_account(sim, marketplaces=("DE",)), japan), "en")
    assert (result.ok, result.code) == (False, "login.wrong_region")
    assert result.marketplaces == ("A1VC38T7YXB528",)
    assert "region 'fe' (marketplaces: Amazon.co.jp (JP))" in result.message


def test_app_without_access(sim: Simulator) -> None:
    sim.faults.add(
        {"name": "token_expired", "rate": 1.0, "operation": "getMarketplaceParticipations"}
    )
    account = dataclasses.replace(sold(sim), endpoint=sim.region_url("eu"))
    hosts = {region: sim.region_url(region) for region in REGIONS}
    german = login(account, "de", region_endpoints=hosts)
    assert (german.ok, german.code) == (False, "login.access_denied")
    assert german.message == (
        "Amazon verweigert der App den Zugriff auf dieses Verkäuferkonto (HTTP 403). Die App ist "
        "für das Konto nicht oder nicht mehr autorisiert, oder das Refresh-Token gehört zu einer "
        "anderen Region als „eu“. Prüfen Sie die Region, autorisieren Sie die App erneut und "
        "tragen Sie das neue Refresh-Token ein."
    )
    assert login(account, "en").message == (
        "Amazon denies the app access to this seller account (HTTP 403). The app is not (or no "
        "longer) authorised for the account, or the refresh token belongs to a region other than "
        "'eu'. Check the region, authorise the app again and enter the new refresh token."
    )


def test_basic_individual_seller_account(sim: Simulator) -> None:
    basic = sim.add_seller(marketplaces=["DE"], orders=1, professional=False)
    account = as_seller(simulator_account(sim, marketplaces=("DE",)), basic)
    german = login(account, "de")
    assert (german.ok, german.code) == (False, "login.basic_account")
    assert german.message == (
        "Dieses Verkäuferkonto hat den Verkaufstarif „Einzelanbieter“. Amazon öffnet die "
        "Schnittstelle (Selling Partner API) nur für den Tarif „Professionell“. Wechseln Sie in "
        "Seller Central unter Einstellungen > Kontoinformationen > „Ihre Services“ zum Tarif "
        "„Professionell“ und testen Sie die Anmeldung danach erneut."
    )
    assert login(account, "en").message == (
        "This seller account has the Individual selling plan. Amazon opens its interface "
        "(Selling Partner API) only to the Professional selling plan. Switch to the Professional "
        "plan in Seller Central under Settings > Account Info > 'Your Services', then test the "
        "login again."
    )


def test_network_unreachable(sim: Simulator) -> None:
    port = closed_port()
    account = dataclasses.replace(sold(sim), endpoint=f"http://127.0.0.1:{port}")
    german = login(account, "de")
    assert (german.ok, german.code) == (False, "login.unreachable")
    assert german.message == (
        f"Amazon ist nicht erreichbar: keine Verbindung zu 127.0.0.1:{port}. Prüfen Sie die "
        "Internetverbindung sowie Proxy- und Firewall-Einstellungen und versuchen Sie es erneut."
    )
    assert login(account, "en").message == (
        f"Amazon cannot be reached: no connection to 127.0.0.1:{port}. Check the internet "
        "connection and the proxy and firewall settings, then try again."
    )
    lwa_down = dataclasses.replace(
        sold(sim),
        token_url=f"http://127.0.0.1:{port}/auth/o2/token",
    )
    assert f"127.0.0.1:{port}" in login(lwa_down, "de").message


@pytest.mark.parametrize(("fault", "status"), [("unavailable", 503), ("internal_error", 500)])
def test_amazon_unavailable(sim: Simulator, fault: str, status: int) -> None:
    sim.faults.add({"name": fault, "rate": 1.0})
    account = sold(sim)
    german = login(account, "de")
    assert (german.ok, german.code) == (False, "login.unavailable")
    assert german.message == (
        f"Amazon ist vorübergehend nicht verfügbar (HTTP {status}). Das liegt nicht an Ihren "
        "Zugangsdaten; versuchen Sie es in einigen Minuten erneut."
    )
    assert login(account, "en").message == (
        f"Amazon is temporarily unavailable (HTTP {status}). This is not caused by your "
        "credentials; try again in a few minutes."
    )
    sim.faults.clear()
    assert login(account, "de").ok  # nothing to fix on the seller's side


def test_the_plugin_hook_gives_the_same_answer(sim: Simulator) -> None:
    from hyreka_plugin_amazon import plugin

    account = dataclasses.replace(sold(sim), refresh_token=Secret("Atzr|nope"))
    result = plugin.test_login(account=account)
    assert result is not None
    assert result.code == "login.invalid_grant"
    assert "Atzr|nope" not in repr(result)
