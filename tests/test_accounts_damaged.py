"""One account whose row was changed outside the host (its sealed secrets flipped in the
database) is marked damaged and repaired or removed, while every other account works on: the
CLI's ``account list``, ``status``, ``account credentials``, ``account remove`` and the
console's account list, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from helpers.cli import Cli
from helpers.records import make_account, make_order
from markupsafe import escape

from hyreka_plugin_amazon.refhost.cli import main as cli
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.i18n.texts import translate, web_text
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV
from hyreka_plugin_amazon.refhost.store import DB_FILE, StoreError
from hyreka_plugin_amazon.refhost.web.console import Console, create_app

GOOD, BAD = "gut", "kaputt"


class Setup:
    def __init__(self, data: Path, database: str | None) -> None:
        self.data = data
        self.database = database

    def args(self) -> list[str]:
        return ["--database", self.database] if self.database else []

    def host(self) -> ReferenceHost:
        return ReferenceHost(self.data, database=self.database)

    def flip_secret(self, account_id: str) -> None:
        """An attacker (or a broken copy) changes one byte of the sealed client secret."""
        if self.database is None:
            with sqlite3.connect(self.data / DB_FILE) as db:
                (value,) = db.execute(
                    "SELECT client_secret FROM accounts WHERE id = ?", (account_id,)
                ).fetchone()
                db.execute(
                    "UPDATE accounts SET client_secret = ? WHERE id = ?",
                    (_flipped(value), account_id),
                )
            db.close()
            return
        with psycopg.connect(self.database, autocommit=True) as conn:
            row = conn.execute(
                "SELECT client_secret FROM accounts WHERE id = %s", (account_id,)
            ).fetchone()
            assert row is not None
            conn.execute(
                "UPDATE accounts SET client_secret = %s WHERE id = %s",
                (_flipped(row[0]), account_id),
            )


def _flipped(value: bytes) -> bytes:
    return value[:-1] + bytes((value[-1] ^ 0x01,))


@pytest.fixture(params=["sqlite", "postgresql"])
def setup(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Setup:
    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
    monkeypatch.delenv("HYREKA_AMAZON_DATABASE", raising=False)
    database = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    found = Setup(tmp_path / "data", database)
    with found.host() as host:
        host.store.add_account(make_account("acc-good", GOOD))
        host.store.add_account(make_account("acc-bad", BAD))
        host.store.upsert_order("acc-good", make_order("302-0000000-0000001"))
        host.store.upsert_order("acc-bad", make_order("302-0000000-0000002"))
    found.flip_secret("acc-bad")
    return found


@pytest.mark.parametrize("lang", ["de", "en"])
def test_account_list_and_status_work_and_mark_the_damaged_account(
    setup: Setup, capsys: pytest.CaptureFixture[str], lang: str
) -> None:
    run = Cli(setup.data, capsys)
    out, _ = run("account", "list", "--lang", lang, *setup.args())
    lines = dict(line.split("\t", 1) for line in out.splitlines())
    assert set(lines) == {GOOD, BAD}
    damaged = translate("cli.account_damaged", lang, name=BAD)
    assert lines[BAD].endswith(damaged)
    assert "credentials" not in lines[GOOD]
    assert ("beschädigt" in damaged) == (lang == "de")

    out, _ = run("status", "--lang", lang, *setup.args())
    assert GOOD in out  # the others' status; the damaged account cannot be polled
    with setup.host() as host:
        with pytest.raises(StoreError, match="enter the credentials again"):
            host.store.get_account(BAD)  # a sync or login test of it still refuses
        assert host.store.get_account(GOOD).client_secret.reveal()
        assert [a.name for a in host.store.list_accounts()] == [GOOD]


def test_account_credentials_repairs_the_damaged_account(
    setup: Setup, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = Cli(setup.data, capsys)
    for env, value in zip(
        cli.SECRET_ENV.values(),
        ("amzn1.application-oa2-client.new", "s3cret", "Atzr|new"),
        strict=True,
    ):
        monkeypatch.setenv(env, value)
    out, _ = run("account", "credentials", BAD, "--lang", "en", *setup.args())
    assert translate("cli.credentials_endpoints_cleared", "en", name=BAD) in out
    with setup.host() as host:
        repaired = host.store.get_account(BAD)
        assert repaired.client_secret.reveal() == "s3cret"
        assert repaired.refresh_token.reveal() == "Atzr|new"
        # the row was changed: an endpoint override may be someone else's server
        assert (repaired.endpoint, repaired.token_url) == (None, None)
        assert host.store.get_order("acc-bad", "302-0000000-0000002") is not None
        assert host.store.get_account(GOOD).endpoint == make_account().endpoint
    out, _ = run("account", "list", *setup.args())
    assert "account credentials" not in out


def test_account_remove_removes_the_damaged_account_and_keeps_the_others(
    setup: Setup, capsys: pytest.CaptureFixture[str]
) -> None:
    run = Cli(setup.data, capsys)
    run("account", "remove", BAD, "--yes", *setup.args())
    out, _ = run("account", "list", *setup.args())
    assert out.split("\t")[0] == GOOD
    assert BAD not in out
    with setup.host() as host:
        assert host.store.get_order("acc-good", "302-0000000-0000001") is not None


def test_the_console_lists_every_account_and_marks_the_damaged_one(setup: Setup) -> None:
    with setup.host() as host:
        app = create_app(Console(host), access_token="tok", allowed_hosts=["localhost"])
        client = app.test_client()
        assert client.get("/?token=tok").status_code == 302
        page = client.get("/c/amazon/accounts").get_data(as_text=True)
        assert GOOD in page
        row = re.search(r'<tr data-account="acc-bad">(.*?)</tr>', page, re.DOTALL)
        assert row is not None
        assert str(escape(web_text("de", "account.damaged"))) in row.group(1)
        good = re.search(r'<tr data-account="acc-good">(.*?)</tr>', page, re.DOTALL)
        assert good is not None
        assert str(escape(web_text("de", "account.damaged"))) not in good.group(1)

        edit = client.get("/c/amazon/accounts/acc-bad/edit")  # nothing to edit: says why
        assert edit.status_code == 409
        help_text = str(escape(web_text("de", "account.damaged_help", name=BAD)))
        assert help_text in edit.get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert token is not None
        login = client.post("/c/amazon/accounts/acc-bad/login", data={"csrf_token": token[1]})
        assert login.status_code == 302
        assert help_text in client.get(login.headers["Location"]).get_data(as_text=True)
        asked = client.get("/c/amazon/accounts/acc-bad/remove")  # the question opens nothing
        assert asked.status_code == 200
        removed = client.post(
            "/c/amazon/accounts/acc-bad/remove",
            data={"csrf_token": token[1], "confirm_name": BAD},
        )
        assert removed.status_code == 302
        assert [a.name for a in host.store.stored_accounts()] == [GOOD]
