"""The console's account form (issue 27, "Safe actions"): the region follows the chosen
marketplaces (in the browser and on the server: derived when left empty, a mismatch refused in
the CLI's words), the marketplaces grouped by region, the connector's settings as labelled
fields checked by the same service function as the CLI's ``--setting``; and the help page
"Zugangsdaten von Amazon holen" in both languages, linked from the form.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask.testing import FlaskClient
from helpers.console import chromium
from markupsafe import escape

from hyreka_plugin_amazon.contract import SettingError
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.i18n.texts import translate, web_text
from hyreka_plugin_amazon.refhost.services import accounts
from hyreka_plugin_amazon.refhost.services.errors import ServiceError
from hyreka_plugin_amazon.refhost.web.console import Console, create_app
from hyreka_plugin_amazon.refhost.web.serving import RunningConsole, serve_in_thread

NEW = "/c/amazon/accounts/new"
HELP = "/c/amazon/help/credentials"
CREDENTIALS = {"client_id": "amzn1.application-oa2-client.f", "client_secret": "s3cr3t-value"}
CREDENTIALS |= {"refresh_token": "Atzr|t0ken-value"}


@pytest.fixture
def host(tmp_path: Path) -> Iterator[ReferenceHost]:
    env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    with ReferenceHost(tmp_path / "data", env=env) as opened:
        yield opened


class Tab:
    def __init__(self, host: ReferenceHost, lang: str = "de") -> None:
        app = create_app(Console(host, lang=lang), access_token="tok", allowed_hosts=["localhost"])
        self.client: FlaskClient = app.test_client()
        assert self.client.get("/?token=tok").status_code == 302
        found = re.search(r'name="csrf_token" value="([^"]+)"', self.text("/"))
        assert found is not None
        self.csrf = found.group(1)

    def text(self, path: str) -> str:
        answer = self.client.get(path)
        assert answer.status_code == 200, path
        return answer.get_data(as_text=True)

    def save(self, path: str, **form: str | list[str]) -> tuple[str, str]:
        """Post the account form; where it redirected to and that page."""
        answer = self.client.post(path, data={"csrf_token": self.csrf, **form})
        assert answer.status_code == 302
        target = answer.headers["Location"]
        return target, self.text(target)


def _market(code: str) -> str:
    return accounts.connector_info().account_field("marketplaces").choice(code).value


def test_the_region_is_derived_from_the_marketplaces_when_left_empty(host: ReferenceHost) -> None:
    tab = Tab(host)
    form = tab.text(NEW)
    assert '<option value="" selected>' in form  # a new account: region from marketplaces
    groups = re.findall(r'<fieldset class="group" data-group="(\w+)">', form)
    assert groups == ["na", "eu", "fe"]
    us = f'value="{_market("US")}" data-group="na"'
    assert us in form
    target, _ = tab.save(NEW, name="usa", region="", marketplaces=[_market("US")], **CREDENTIALS)
    assert target == "/c/amazon/accounts"
    assert accounts.get(host, "usa").region == "na"
    tab.save(NEW, name="eu", marketplaces=[_market("DE"), _market("FR")], **CREDENTIALS)
    assert accounts.get(host, "eu").region == "eu"  # no region field at all: derived too


def test_a_region_mismatch_is_refused_in_the_clis_words(host: ReferenceHost) -> None:
    info = accounts.connector_info()
    with pytest.raises(ServiceError) as cli:  # what `account add --region eu -m US` refuses
        accounts.check(
            info, accounts.AccountForm(name="x", values={"region": "eu", "marketplaces": "US"})
        )
    tab = Tab(host)
    for region in ("eu", ""):  # chosen, or derived from the first of two regions
        target, page = tab.save(
            NEW,
            name="mix",
            region=region,
            marketplaces=[_market("DE"), _market("US")],
            **CREDENTIALS,
        )
        assert target == NEW
        wrap = re.search(r'id="wrap-marketplaces">(.*?)</div>', page, re.DOTALL)
        assert wrap is not None  # the same refusal, marked at the marketplaces
        assert "Der Marktplatz US gehört zur Region na, nicht zu eu." in wrap.group(1)
        assert 'value="mix"' in page  # what was typed stays
    assert str(escape(str(cli.value))) in page
    assert host.store.list_accounts() == []


def test_settings_are_labelled_fields_checked_as_the_cli_checks_them(host: ReferenceHost) -> None:
    info = accounts.connector_info()
    tab = Tab(host)
    form = tab.text(NEW)
    for setting in info.settings:  # every setting of register_connector(), labelled
        field = re.search(rf'<label for="field-setting-{setting.key}">([^<]+)</label>', form)
        assert field is not None, setting.key
        assert field.group(1) == str(escape(setting.label["de"]))
    assert "GET_FLAT_FILE" not in re.sub(r'value="[^"]*"', "", form)  # codes only as values
    market = [_market("DE")]

    # refused as the CLI refuses it (same service function), at the setting's own field
    with pytest.raises(SettingError):
        info.check_settings({"poll_minutes": "3"})
    with pytest.raises(ServiceError) as cli:
        accounts.check_settings(info, {"poll_minutes": "3"})
    fields = {"setting-poll_minutes": "3", "setting-lookback_days": "14"}
    target, page = tab.save(NEW, name="shop", marketplaces=market, **fields, **CREDENTIALS)
    assert target == NEW
    named = dict(cli.value.params) | {"key": f"„{info.setting('poll_minutes').label['de']}“"}
    refusal = str(escape(translate(cli.value.text_id, "de", **named)))  # the CLI's sentence
    wrap = re.search(r'id="wrap-setting-poll_minutes">(.*?)</div>', page, re.DOTALL)
    assert wrap is not None
    assert refusal in wrap.group(1)
    assert 'name="setting-poll_minutes" value="3"' in page  # kept as typed
    assert 'name="setting-lookback_days" value="14"' in page
    assert "s3cr3t-value" not in page
    assert "t0ken-value" not in page

    # saved from the fields (empty ones: the default), shown in them when edited
    fields = {"setting-poll_minutes": "30", "setting-polling": "off"}
    target, _ = tab.save(NEW, name="shop", marketplaces=market, **fields, **CREDENTIALS)
    assert target == "/c/amazon/accounts"
    assert dict(accounts.get(host, "shop").settings) == {"poll_minutes": "30", "polling": "off"}
    edit = tab.text("/c/amazon/accounts/shop/edit")
    assert 'name="setting-poll_minutes" value="30"' in edit
    assert '<option value="off" selected>' in edit
    assert str(escape(web_text("de", "setting_choice.off"))) in edit

    # a former name in "Weitere Einstellungen" is taken under its own name
    values: dict[str, str | list[str]] = {"client_id": CREDENTIALS["client_id"]}
    values["marketplaces"] = market
    target, _ = tab.save(
        "/c/amazon/accounts/shop/edit", name="shop", settings="poll_interval=2", **values
    )
    assert target == "/c/amazon/accounts"
    assert dict(accounts.get(host, "shop").settings) == {"report_check_seconds": "2"}


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_credentials_help_page_is_linked_from_the_form(host: ReferenceHost, lang: str) -> None:
    tab = Tab(host, lang)
    assert f'href="{HELP}"' in tab.text(NEW)
    page = tab.text(HELP)
    assert f'<html lang="{lang}">' in page
    sections = re.findall(r'<section id="(\w+)">', page)
    assert sections == ["before", "profile", "roles", "app", "lwa", "token", "form"]
    for name in (
        "Develop Apps" if lang == "en" else "Apps entwickeln",
        "Tax Invoicing (Restricted)",
        "Add new app client",
        "LWA credentials",
        "Authorize app",
        "Atzr|",
        "180",
    ):
        assert str(escape(name)) in page, name
    assert str(escape(web_text(lang, "credentials.roles.review"))) in page
    # Amazon's English screen names are marked as English (a German page quotes them)
    assert '<q class="amazon" lang="en">Inventory and Order Tracking</q>' in page
    assert f'href="{NEW}"' in page


# ------------------------------------------------------------------------------ browser


@pytest.fixture
def console(host: ReferenceHost) -> Iterator[RunningConsole]:
    running = serve_in_thread(Console(host))
    try:
        yield running
    finally:
        running.stop()


@pytest.mark.slow
def test_checking_a_marketplace_chooses_its_region_in_the_browser(
    console: RunningConsole,
) -> None:
    from playwright.sync_api import expect

    with chromium() as browser:
        page = browser.new_page()
        page.goto(console.url)
        page.goto(f"http://127.0.0.1:{console.port}{NEW}")
        region = page.get_by_label("Region")
        expect(region).to_have_value("")
        page.get_by_label("Amazon.com (US)", exact=True).check()
        expect(region).to_have_value("na")
        page.get_by_label("Amazon.de (DE)", exact=True).check()
        expect(region).to_have_value("eu")
        page.get_by_role("link", name="Woher bekomme ich diese Angaben? (Anleitung)").click()
        expect(page.get_by_role("heading", name="Zugangsdaten von Amazon holen")).to_be_visible()
