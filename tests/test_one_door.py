"""One door (issue 22 point 2, issue 25 item 6): the console refuses what the CLI refuses,
audits what the CLI audits and asks before it removes an account, because both go through
``refhost.services``; on SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from helpers.cli import Cli, clean_environment
from helpers.records import BUYER_NAME, make_order
from markupsafe import escape

from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.safety.audit import AuditEntry
from hyreka_plugin_amazon.refhost.services import accounts, auditing
from hyreka_plugin_amazon.refhost.store.postgres import DATABASE_ENV
from hyreka_plugin_amazon.refhost.web.console import Console
from hyreka_plugin_amazon.refhost.web.serving import RunningConsole, serve_in_thread

TIMEOUT = 5
NOWHERE = "http://127.0.0.1:9"  # no login or sync happens here
SECRETS = {
    "AMAZON_LWA_CLIENT_ID": "amzn1.application-oa2-client.test",
    "AMAZON_LWA_CLIENT_SECRET": "amzn1.oa2-cs.v1.test",
    "AMAZON_REFRESH_TOKEN": "Atzr|test",
}
# What a seller may type wrong: (CLI arguments, the console's region, settings text)
REFUSED = {
    "region na with Amazon.de": (("--region", "na"), "na", ""),
    "poll_minutes=3": (("--setting", "poll_minutes=3"), "eu", "poll_minutes=3"),
    "poll_minutes=0": (("--setting", "poll_minutes=0"), "eu", "poll_minutes=0"),
    "unknown setting foo=bar": (("--setting", "foo=bar"), "eu", "foo=bar"),
    "lookback_days=100000": (("--setting", "lookback_days=100000"), "eu", "lookback_days=100000"),
}


@pytest.fixture
def run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    host_env: dict[str, str],
    database: str | None,
) -> Cli:
    clean_environment(monkeypatch, {**host_env, **SECRETS})
    if database is not None:
        monkeypatch.setenv(DATABASE_ENV, database)
    return Cli(tmp_path / "data", capsys)


@pytest.fixture
def console(run: Cli, host_env: dict[str, str], database: str | None) -> Iterator[RunningConsole]:
    with ReferenceHost(run.data, env=host_env, database=database) as host:
        running = serve_in_thread(Console(host, endpoint=NOWHERE, token_url=NOWHERE))
        try:
            yield running
        finally:
            running.stop()


class Browser:
    """A logged-in session of the console that posts its forms with their CSRF token."""

    def __init__(self, console: RunningConsole) -> None:
        self.base = f"http://127.0.0.1:{console.port}"
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.get(console.url, timeout=TIMEOUT)
        page = self.session.get(self.base + "/c/amazon/accounts/new", timeout=TIMEOUT)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert token is not None
        self.csrf = token.group(1)

    def post(self, path: str, **form: str | list[str]) -> requests.Response:
        return self.session.post(
            self.base + path,
            data={"csrf_token": self.csrf, **form},
            timeout=TIMEOUT,
            allow_redirects=False,
        )

    def account(
        self, path: str, *, name: str, region: str = "eu", settings: str = ""
    ) -> requests.Response:
        market = accounts.connector_info().account_field("marketplaces").choice("DE").value
        return self.post(
            path,
            name=name,
            client_id="amzn1.application-oa2-client.web",
            client_secret="secret",
            refresh_token="Atzr|web",
            region=region,
            marketplaces=[market],
            settings=settings,
        )


def logged(run: Cli) -> list[AuditEntry]:
    """The audit log's entries (in the data folder, or in PostgreSQL's table)."""
    return auditing.entries(run.data, os.environ.get(DATABASE_ENV))


def stored_names(run: Cli) -> list[str]:
    out, _ = run("account", "list")
    return [line.split("\t")[0] for line in out.splitlines() if "\t" in line]


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_the_console_refuses_what_the_cli_refuses_in_the_same_words(
    run: Cli, console: RunningConsole, case: str
) -> None:
    cli_args, region, settings = REFUSED[case]
    _, err = run("account", "add", "shop", "--marketplace", "DE", *cli_args, code=2)
    refusal = err.removeprefix("hyreka-amazon: ").rstrip("\n")
    assert refusal.startswith(("Der Marktplatz DE", "Einstellung", "Unbekannte Einstellung"))

    new = "/c/amazon/accounts/new"
    browser = Browser(console)
    answer = browser.account(new, name="shop", region=region, settings=settings)
    assert answer.status_code == 302  # Post/Redirect/Get: back to the form
    page = browser.session.get(browser.base + answer.headers["Location"], timeout=TIMEOUT)
    assert str(escape(refusal)) in page.text
    assert stored_names(run) == []
    assert logged(run) == []


def test_a_refused_change_in_the_console_keeps_the_account_as_it_was(
    run: Cli, console: RunningConsole
) -> None:
    browser = Browser(console)
    assert browser.account("/c/amazon/accounts/new", name="shop").status_code == 302
    edit = "/c/amazon/accounts/shop/edit"
    for settings in ("poll_minutes=3", "foo=bar", "lookback_days=100000", "poll_minutes"):
        refused = browser.account(edit, name="shop", settings=settings)
        assert refused.headers["Location"] == edit  # back to the form, which says why
    assert browser.account(edit, name="shop", region="na").headers["Location"] == edit
    with ReferenceHost(run.data) as host:
        account = accounts.get(host, "shop")
    assert (account.region, dict(account.settings)) == ("eu", {})
    assert [e.action for e in logged(run)] == ["account.add"]


def test_the_console_audits_what_the_cli_audits(run: Cli, console: RunningConsole) -> None:
    run("account", "add", "cli", "--marketplace", "DE", "--setting", "poll_minutes=30")
    run("account", "set", "cli", "--setting", "lookback_days=10")
    run("account", "remove", "cli", "--yes")
    by_cli = logged(run)

    browser = Browser(console)
    assert (
        browser.account(
            "/c/amazon/accounts/new", name="web", settings="poll_minutes=30"
        ).status_code
        == 302
    )
    edited = browser.account(
        "/c/amazon/accounts/web/edit", name="web", settings="poll_minutes=30\nlookback_days=10"
    )
    assert edited.status_code == 302
    assert browser.post("/c/amazon/accounts/web/remove", confirm_name="web").status_code == 302
    by_console = logged(run)[len(by_cli) :]

    assert [(e.action, e.account) for e in by_cli] == [
        ("account.add", "cli"), ("account.set", "cli"), ("account.remove", "cli"),
    ]  # fmt: skip
    assert [(e.action, e.account, sorted(e.facts)) for e in by_console] == [
        (e.action, "web", sorted(e.facts)) for e in by_cli
    ]
    assert by_console[0].facts == {"marketplaces": 1, "settings": 1}
    assert by_console[2].facts == {"orders": 0, "complete": True}
    with ReferenceHost(run.data) as host:
        assert auditing.verify(host).intact


def test_removing_in_the_console_asks_first(run: Cli, console: RunningConsole) -> None:
    browser = Browser(console)
    browser.account("/c/amazon/accounts/new", name="shop")
    asked = browser.session.get(browser.base + "/c/amazon/accounts/shop/remove", timeout=TIMEOUT)
    assert asked.status_code == 200
    assert "Konto „shop“ entfernen?" in asked.text
    assert 'name="confirm_name"' in asked.text
    for typed in ("", "Shop", "sho", "yes"):  # only the exact name removes
        refused = browser.post("/c/amazon/accounts/shop/remove", confirm_name=typed)
        assert refused.headers["Location"] == "/c/amazon/accounts/shop/remove"
    assert browser.post("/c/amazon/accounts/shop/remove", confirmed="yes").status_code == 302
    assert stored_names(run) == ["shop"]
    assert [e.action for e in logged(run)] == ["account.add"]

    done = browser.post("/c/amazon/accounts/shop/remove", confirm_name="shop")
    assert done.headers["Location"] == "/c/amazon/accounts"
    shown = browser.session.get(browser.base + "/c/amazon/accounts", timeout=TIMEOUT)
    assert "Account shop entfernt." in shown.text
    assert stored_names(run) == []
    assert [e.action for e in logged(run)][-1] == "account.remove"


def test_the_service_refuses_to_remove_unconfirmed(run: Cli) -> None:
    from hyreka_plugin_amazon.refhost.services.errors import NeedsConfirmation

    run("account", "add", "shop", "--marketplace", "DE")
    with ReferenceHost(run.data) as host:
        with pytest.raises(NeedsConfirmation) as asked:
            accounts.remove(host, "shop", confirmed=False)
        assert asked.value.params == {"name": "shop", "count": 0}
        assert [a.name for a in accounts.listing(host)] == ["shop"]


def test_the_console_audits_showing_buyers_names_and_addresses(
    run: Cli, console: RunningConsole
) -> None:
    """The CLI audits ``orders --names``; the console's order list (buyer column) and an
    order's addresses are audited too, as ``orders.view`` with a count, never a name."""
    browser = Browser(console)
    browser.account("/c/amazon/accounts/new", name="shop")
    host = console.console.host
    host.store.upsert_order("shop", make_order("302-1234567-1234567"))  # as a sync would
    run("orders", "--names")

    listed = browser.session.get(browser.base + "/c/amazon/orders?account=shop", timeout=TIMEOUT)
    assert BUYER_NAME in listed.text
    shown = browser.session.get(
        browser.base + "/c/amazon/orders/shop/order/302-1234567-1234567", timeout=TIMEOUT
    )
    assert "Zollhafenweg 7" in shown.text
    entries = logged(run)
    assert [(e.action, dict(e.facts)) for e in entries[1:]] == [
        ("orders.export", {"format": "table-names", "orders": 1}),
        ("orders.view", {"page": "list", "orders": 1}),
        ("orders.view", {"page": "order", "orders": 1}),
    ]
    assert BUYER_NAME not in repr(logged(run))
