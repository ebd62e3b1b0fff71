"""The console's Post/Redirect/Get (issue 27, "Safe actions"): every POST answers with a
redirect to a GET page (a reload never asks "Confirm Form Resubmission"), a GET of an address
that only takes a POST (after Back or a reload) leads to the page it belongs to instead of
"Method Not Allowed", and "Entfernen" removes only with the account's name typed exactly,
after saying what would go (counted by the service layer).

Flask's test client against a console whose account points at the simulator (loopback HTTP).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask.testing import FlaskClient
from helpers.records import make_account, make_order
from markupsafe import escape

from hyreka_plugin_amazon.contract import Account, Problem
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.i18n.texts import translate, web_text
from hyreka_plugin_amazon.refhost.services import accounts
from hyreka_plugin_amazon.refhost.services.errors import ServiceError
from hyreka_plugin_amazon.refhost.web.console import Console, create_app
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.simulator import Simulator

ORDER = "028-1111111-2222222"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(orders=5, seed=3, report_delay_s=0.1, time_scale=50) as running:
        yield running


@pytest.fixture
def host(tmp_path: Path, sim: Simulator) -> Iterator[ReferenceHost]:
    env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    with ReferenceHost(tmp_path / "data", env=env) as opened:
        opened.store.add_account(_sim_account(sim))
        opened.store.upsert_order("acc-1", make_order(ORDER))
        opened.store.record_problems("acc-1", [Problem(reason="order id is missing", row=3)])
        yield opened


def _sim_account(sim: Simulator) -> Account:
    creds = sim.credentials
    return dataclasses.replace(
        make_account(name="Mein Shop"),
        client_id=creds.client_id,
        client_secret=Secret(creds.client_secret),
        refresh_token=Secret(creds.refresh_token),
        endpoint=sim.url,
        token_url=sim.token_url,
        settings={"poll_interval": "0.05", "max_poll_interval": "0.2"},
    )


class Tab:
    """A logged-in browser tab of the console: posts its forms with the CSRF token."""

    def __init__(self, host: ReferenceHost) -> None:
        self.console = Console(host)
        self.app = create_app(self.console, access_token="tok", allowed_hosts=["localhost"])
        self.client: FlaskClient = self.app.test_client()
        assert self.client.get("/?token=tok").status_code == 302
        found = re.search(r'name="csrf_token" value="([^"]+)"', self.text("/"))
        assert found is not None
        self.csrf = found.group(1)

    def text(self, path: str) -> str:
        answer = self.client.get(path)
        assert answer.status_code == 200, (path, answer.status_code)
        return answer.get_data(as_text=True)

    def post(self, path: str, **form: str) -> str:
        """POST ``path``; the redirect's target (asserted: a redirect to a GET page, shown
        as ``self.shown``)."""
        answer = self.client.post(path, data={"csrf_token": self.csrf, **form})
        assert answer.status_code in (302, 303), (path, answer.status_code)
        target = answer.headers["Location"]
        self.shown = self.text(target)
        return target


ACC = "/c/amazon/accounts/acc-1"
ORD = "/c/amazon/orders/acc-1"
LIST = "/c/amazon/orders?account=acc-1"


def test_every_post_answers_with_a_redirect_to_a_get_page(
    host: ReferenceHost, sim: Simulator
) -> None:
    tab = Tab(host)
    posted: set[str] = set()

    def post(path: str, **form: str) -> str:
        adapter = tab.app.url_map.bind("localhost")
        posted.add(adapter.match(path.split("?")[0], method="POST")[0])
        return tab.post(path, **form)

    assert post("/lang", lang="en", next="/c/amazon/accounts") == "/c/amazon/accounts"
    assert post("/lang", lang="de", next="/") == "/"
    assert post(f"{ACC}/login") == "/c/amazon/accounts"
    assert 'id="login-result" class="ok"' in tab.shown
    assert 'id="login-result"' not in tab.text("/c/amazon/accounts")  # shown once: a reload
    form = {"name": "Mein Shop", "client_id": sim.credentials.client_id, "region": "eu"}
    form |= {"marketplaces": "DE", "settings": ""}
    assert post(f"{ACC}/edit", **form) == "/c/amazon/accounts"
    new = {**form, "name": "Zweiter", "client_secret": "y", "refresh_token": "z"}
    assert post("/c/amazon/accounts/new", **new) == "/c/amazon/accounts"
    assert post(f"{ORD}/sync") == "/c/amazon/orders?account=acc-1"
    assert post(f"{ORD}/sync/cancel") == "/c/amazon/orders?account=acc-1"
    tab.console.jobs.get("acc-1").finished.wait(60)  # type: ignore[union-attr]
    ship = {"ship_token": "t1", "carrier": "DHL", "tracking": "0034", "ship_date": "2026-01-06"}
    assert post(f"{ORD}/order/{ORDER}/ship", **ship) == f"{ORD}/order/{ORDER}"
    invoice = {"number": "RE-1", "document_type": "invoice"}  # no file: refused, on the page
    assert post(f"{ORD}/order/{ORDER}/invoice", **invoice) == f"{ORD}/order/{ORDER}#invoice"
    assert 'id="invoice-result" class="failed"' in tab.shown
    withdrawn = post(f"{ORD}/order/{ORDER}/invoice/withdraw", **invoice)  # none refused
    assert withdrawn == f"{ORD}/order/{ORDER}#invoice"
    assert 'id="invoice-result" class="failed"' in tab.shown
    package = post(f"{ORD}/order/{ORDER}/package/9/withdraw")  # no refused package 9
    assert package == f"{ORD}/order/{ORDER}"
    assert 'id="ship-result" class="failed"' in tab.shown
    host.store.record_problems("acc-1", [Problem(reason="order id is missing", row=4)])
    problem = host.store.open_problems("acc-1")[0].id  # recorded after the sync ended
    ignored = post(f"{ORD}/problems/{problem}/ignore?page=2&q=x")
    assert ignored.startswith("/c/amazon/orders?account=acc-1")
    assert "q=x" in ignored
    zweiter = accounts.get(host, "Zweiter").id
    assert post(f"/c/amazon/accounts/{zweiter}/remove", confirm_name="Zweiter") == (
        "/c/amazon/accounts"
    )
    assert post("/logout") == "/logged-out"

    every_post = {
        rule.endpoint for rule in tab.app.url_map.iter_rules() if "POST" in (rule.methods or ())
    }
    # "Mit Amazon verbinden" posts to a page that sends the browser on to Amazon's consent
    # (web/connect.py, tested with the connect flow), not to a page of the console.
    leaving = {"connect_start", "connect_again"}
    assert every_post - leaving == posted  # a new POST of the console gets its line above


def test_a_get_of_a_post_only_address_leads_to_its_page(host: ReferenceHost) -> None:
    """Back or a reload onto an address that takes a POST: the page it belongs to."""
    tab = Tab(host)
    expected = {
        "/lang": "/",
        f"{ACC}/login": "/c/amazon/accounts",
        f"{ORD}/sync": "/c/amazon/orders?account=acc-1",
        f"{ORD}/sync/cancel": "/c/amazon/orders?account=acc-1",
        f"{ORD}/order/{ORDER}/ship": f"{ORD}/order/{ORDER}",
        f"{ORD}/order/{ORDER}/invoice": f"{ORD}/order/{ORDER}#invoice",
        f"{ORD}/order/{ORDER}/invoice/withdraw": f"{ORD}/order/{ORDER}#invoice",
        f"{ORD}/order/{ORDER}/package/9/withdraw": f"{ORD}/order/{ORDER}",
        f"{ORD}/problems/1/ignore?page=2": LIST + "&status=open&sort=date&dir=desc&page=2",
        "/logout": "/",
        "/c/amazon/connect": "/c/amazon/accounts/new",
        f"{ACC}/reconnect": "/c/amazon/accounts",
    }
    for path, target in expected.items():
        answer = tab.client.get(path)
        assert answer.status_code == 302, path
        assert answer.headers["Location"] == target, path
    for page in (f"{ACC}/remove", f"{ACC}/edit", "/c/amazon/accounts/new"):
        assert tab.client.get(page).status_code == 200  # their own pages
    checked = set(expected) | {f"{ACC}/remove", f"{ACC}/edit", "/c/amazon/accounts/new"}
    adapter = tab.app.url_map.bind("localhost")
    gets = {adapter.match(path.split("?")[0], method="GET")[0] for path in checked}
    post_rules = [r for r in tab.app.url_map.iter_rules() if "POST" in (r.methods or ())]
    for rule in post_rules:  # every POST address has a GET that is checked above
        assert "GET" in (rule.methods or ()) or any(
            other.rule == rule.rule and other.endpoint in gets
            for other in tab.app.url_map.iter_rules()
        ), rule.rule


def test_a_form_error_redirects_back_to_the_form_with_what_was_typed(
    host: ReferenceHost,
) -> None:
    tab = Tab(host)
    form = {
        "name": "Neu",
        "client_id": "amzn1.application-oa2-client.kept",
        "client_secret": "never-shown-again",
        "refresh_token": "Atzr|never-shown",
        "region": "eu",
        "marketplaces": "DE",
        "settings": "poll_minutes=3",
    }
    back = tab.post("/c/amazon/accounts/new", **form)
    assert back == "/c/amazon/accounts/new"
    page = tab.shown
    assert 'value="Neu"' in page
    assert 'value="amzn1.application-oa2-client.kept"' in page
    assert "poll_minutes=3" in page
    assert "never-shown" not in page  # secrets are never echoed back into the page
    assert str(escape(web_text("de", "form.error"))) in page
    fresh = tab.text(back)  # a reload of the form: empty again, no error
    assert 'value="Neu"' not in fresh
    assert str(escape(web_text("de", "form.error"))) not in fresh
    assert [a.name for a in host.store.list_accounts()] == ["Mein Shop"]


def test_entfernen_says_what_goes_and_needs_the_exact_name(host: ReferenceHost) -> None:
    tab = Tab(host)
    question = tab.text(f"{ACC}/remove")
    facts = accounts.removal_facts(host, "acc-1")
    assert (facts.orders, facts.packages, facts.problems) == (1, 0, 1)
    for key in ("remove.orders", "remove.packages", "remove.problems"):
        count = getattr(facts, key.split(".")[1])
        assert str(escape(web_text("de", key, count=count))) in question
    for typed in ("", "mein shop", "Mein", "yes", "Mein Shop!"):
        assert tab.post(f"{ACC}/remove", confirm_name=typed, confirmed="yes") == f"{ACC}/remove"
        assert [a.name for a in host.store.list_accounts()] == ["Mein Shop"]
    refusal = translate("console.remove.name_mismatch", "de", name="Mein Shop")
    tab.post(f"{ACC}/remove", confirm_name="Mein")
    assert str(escape(refusal)) in tab.shown
    assert str(escape(refusal)) not in tab.text(f"{ACC}/remove")  # said once
    assert tab.post(f"{ACC}/remove", confirm_name=" Mein Shop ") == "/c/amazon/accounts"
    assert host.store.list_accounts() == []
    assert "Account Mein Shop entfernt." in tab.shown


def test_the_service_removes_only_by_the_exact_name(host: ReferenceHost) -> None:
    with pytest.raises(ServiceError) as refused:
        accounts.remove_named(host, "acc-1", typed_name="mein shop")
    assert refused.value.text_id == "console.remove.name_mismatch"
    assert refused.value.field == "confirm_name"
    assert [a.name for a in host.store.list_accounts()] == ["Mein Shop"]
    removed = accounts.remove_named(host, "acc-1", typed_name="Mein Shop")
    assert (removed.name, removed.orders) == ("Mein Shop", 1)
    assert host.store.list_accounts() == []
