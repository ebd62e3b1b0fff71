"""Issue 25 item 2: removing an account while another process holds a read snapshot (a backup,
``web``, ``run``) leaves the removed ciphertexts in the write-ahead log; the removal must say
so (non-zero exit, ``complete: false`` in the audit log), in the CLI and in the console."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from helpers.cli import Cli, clean_environment
from helpers.records import make_order

from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.safety.audit import AuditLog
from hyreka_plugin_amazon.refhost.store import DB_FILE, Store
from hyreka_plugin_amazon.refhost.web.console import Console, create_app

SECRETS = {
    "AMAZON_LWA_CLIENT_ID": "amzn1.application-oa2-client.test",
    "AMAZON_LWA_CLIENT_SECRET": "amzn1.oa2-cs.v1.test",
    "AMAZON_REFRESH_TOKEN": "Atzr|test",
}
NOWHERE = "http://127.0.0.1:9"
ORDERS = 30


@pytest.fixture
def run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    host_env: dict[str, str],
) -> Cli:
    clean_environment(monkeypatch, {**host_env, **SECRETS})
    monkeypatch.setattr(Store, "checkpoint_wait", 0.1)  # the reader never lets go: do not wait
    return Cli(tmp_path / "data", capsys)


def shop_with_orders(run: Cli, host_env: dict[str, str]) -> list[bytes]:
    """The account ``shop`` with orders; their ciphertexts as stored."""
    run("account", "add", "shop", "--marketplace", "DE")
    with ReferenceHost(run.data, env=host_env) as host:
        for n in range(ORDERS):
            host.store.upsert_order("shop", make_order(f"302-1234567-{n:07d}"))
    with sqlite3.connect(run.data / DB_FILE) as db:
        sealed = [bytes(row[0]) for row in db.execute("SELECT payload FROM orders")]
    db.close()
    assert len(sealed) == ORDERS
    return sealed


def on_disk(data: Path, sealed: list[bytes]) -> list[bytes]:
    """The ciphertexts still readable in the database file or its write-ahead log."""
    raw = b"".join(p.read_bytes() for p in data.iterdir() if p.name.startswith(DB_FILE))
    return [blob for blob in sealed if blob[-40:] in raw]


@contextmanager
def reader_holding_a_snapshot(data: Path) -> Iterator[None]:
    """A second connection in an open read transaction, as a backup or ``run`` keeps one."""
    reader = sqlite3.connect(data / DB_FILE, isolation_level=None)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM orders").fetchone()[0] == ORDERS
        yield
        reader.execute("COMMIT")
    finally:
        reader.close()


def last_removal(data: Path) -> dict[str, object]:
    entry = [e for e in AuditLog(data).entries() if e.action == "account.remove"][-1]
    return dict(entry.facts)


def test_the_cli_says_a_removal_is_incomplete_while_a_reader_holds_a_snapshot(
    run: Cli, host_env: dict[str, str]
) -> None:
    sealed = shop_with_orders(run, host_env)
    with reader_holding_a_snapshot(run.data):
        out, err = run("account", "remove", "shop", "--yes", "--lang", "en", code=1)
        assert on_disk(run.data, sealed) != []  # the attack: old copies are still readable
    assert "removed" not in out
    assert err.startswith("hyreka-amazon: Account “shop” removed with its 30 orders, but old ")
    assert "hyreka-amazon purge" in err
    assert last_removal(run.data) == {"orders": ORDERS, "complete": False}
    out, _ = run("account", "list")
    assert "shop" not in out

    run("purge")  # with the reader gone, purge empties the log
    assert on_disk(run.data, sealed) == []


def test_without_a_reader_the_removal_is_complete(run: Cli, host_env: dict[str, str]) -> None:
    sealed = shop_with_orders(run, host_env)
    out, _ = run("account", "remove", "shop", "--yes")
    assert out.startswith("Konto „shop“ entfernt, mit 30 Bestellungen")
    assert last_removal(run.data) == {"orders": ORDERS, "complete": True}
    assert on_disk(run.data, sealed) == []


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


def test_the_console_says_a_removal_is_incomplete_while_a_reader_holds_a_snapshot(
    run: Cli, host_env: dict[str, str]
) -> None:
    sealed = shop_with_orders(run, host_env)
    with ReferenceHost(run.data, env=host_env) as host:
        client, csrf = logged_in(host)
        with reader_holding_a_snapshot(run.data):
            page = client.post(
                "/c/amazon/accounts/shop/remove",
                data={"csrf_token": csrf, "confirm_name": "shop"},
                follow_redirects=True,
            ).get_data(as_text=True)
            assert on_disk(run.data, sealed) != []
        assert "Account shop entfernt." not in page
        assert "alte Kopien ihrer persönlichen Daten" in page
        assert "hyreka-amazon purge" in page
    assert last_removal(run.data) == {"orders": ORDERS, "complete": False}
