"""Issue 25 item 11: ``ship --carrier``, ``--carrier-name`` and ``--method`` (and the console's
"Versand bestätigen" form) took control characters and any length, echoed them raw in the
refusal and stored them. They are checked as the tracking number is, in the service layer:
refused before anything is stored or sent, and the refusal names the field, not the value."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from helpers.cli import Cli, clean_environment
from helpers.records import make_order

from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.services import shipping
from hyreka_plugin_amazon.refhost.services.errors import ServiceError
from hyreka_plugin_amazon.refhost.web.console import Console, create_app

SECRETS = {
    "AMAZON_LWA_CLIENT_ID": "amzn1.application-oa2-client.test",
    "AMAZON_LWA_CLIENT_SECRET": "amzn1.oa2-cs.v1.test",
    "AMAZON_REFRESH_TOKEN": "Atzr|test",
}
NOWHERE = "http://127.0.0.1:9"  # a refused shipment never reaches Amazon
ORDER = "302-1234567-7654321"
HOSTILE = {
    "escape sequences": "DHL\x1b]0;OWNED\x07\x1b[2J",
    "a line break": "DHL\nOK: confirmed",
    "a direction override": "DHL\u202eliaM",
    "101 characters": "D" * 101,
}
# (CLI option, the console's form field, the service's field)
FIELDS = {
    "carrier": ("--carrier", "carrier", "carrier"),
    "carrier name": ("--carrier-name", "carrier_name", "carrier_name"),
    "method": ("--method", "shipping_method", "shipping_method"),
    "tracking": ("--tracking", "tracking", "tracking_number"),
}
GOOD = {"--carrier": "Other", "--carrier-name": "Spedition Jansen", "--tracking": "JJD0001"}


@pytest.fixture
def run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    host_env: dict[str, str],
) -> Cli:
    clean_environment(monkeypatch, {**host_env, **SECRETS})
    cli = Cli(tmp_path / "data", capsys)
    cli("account", "add", "shop", "--marketplace", "DE", "--endpoint", NOWHERE,
        "--token-url", NOWHERE)  # fmt: skip
    with ReferenceHost(cli.data, env=host_env) as host:
        host.store.upsert_order("shop", make_order(ORDER))
    return cli


def packages(data: Path, env: dict[str, str]) -> list[object]:
    with ReferenceHost(data, env=env) as host:
        return list(host.store.list_shipments())


@pytest.mark.parametrize("value", HOSTILE.values(), ids=list(HOSTILE))
@pytest.mark.parametrize("field", FIELDS.values(), ids=list(FIELDS))
def test_the_cli_refuses_unusable_shipping_texts_without_echo_or_storing(
    run: Cli, host_env: dict[str, str], field: tuple[str, str, str], value: str
) -> None:
    option = field[0]
    given = {**GOOD, option: value}
    args = [arg for pair in given.items() for arg in pair]
    out, err = run("ship", ORDER, *args, "--lang", "en", code=2)
    assert out == ""
    assert err.startswith("hyreka-amazon: The ")
    assert "cannot be used: at most 100 characters" in err
    assert value not in err
    assert not any(char in err for char in "\x1b\x07\u202e")
    assert err.count("\n") == 1
    assert packages(run.data, host_env) == []  # nothing stored, nothing sent


def test_the_service_names_the_field_for_every_face(run: Cli, host_env: dict[str, str]) -> None:
    with ReferenceHost(run.data, env=host_env) as host:
        with pytest.raises(ServiceError) as refused:
            shipping.ship(
                host, ORDER, carrier="DHL", tracking_number="1", shipping_method="x\x1b[2J"
            )
        assert (refused.value.text_id, refused.value.field) == (
            "cli.ship.bad_method",
            "shipping_method",
        )
        assert "\x1b" not in str(refused.value)
        assert list(host.store.list_shipments()) == []


def logged_in(host: ReferenceHost) -> tuple[FlaskClient, str]:
    """A console session (Flask's test client) and its CSRF token."""
    app = create_app(
        Console(host, endpoint=NOWHERE, token_url=NOWHERE),
        access_token="token",
        allowed_hosts={"localhost"},
    )
    client = app.test_client()
    client.get("/?token=token")
    page = client.get("/c/amazon/accounts").get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found is not None
    return client, found.group(1)


@pytest.mark.parametrize("field", FIELDS.values(), ids=list(FIELDS))
def test_the_console_refuses_unusable_shipping_texts_without_storing(
    run: Cli, host_env: dict[str, str], field: tuple[str, str, str]
) -> None:
    form = {"carrier": "Other", "carrier_name": "Spedition Jansen", "tracking": "JJD0001"}
    form[field[1]] = HOSTILE["escape sequences"]
    path = f"/c/amazon/orders/shop/order/{ORDER}"
    with ReferenceHost(run.data, env=host_env) as host:
        client, csrf = logged_in(host)
        client.post("/lang", data={"csrf_token": csrf, "lang": "en"})
        shown = re.search(r'name="ship_token" value="([^"]+)"', client.get(path).get_data(True))
        assert shown is not None  # the form's one-time token
        sent = client.post(
            path + "/ship",
            data={
                "csrf_token": csrf,
                "ship_token": shown.group(1),
                "ship_date": "2026-01-06",
                "qty-11": "1",
                **form,
            },
        )
        assert sent.status_code == 302
        page = client.get(path).get_data(as_text=True)
        assert "cannot be used: at most 100 characters" in page
        assert "OWNED" not in page
        assert list(host.store.list_shipments()) == []
