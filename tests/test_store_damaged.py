"""Damaged storage.

A deleted or 0-byte database next to its key file never becomes a new empty store; a corrupt
or truncated database gets a clear message instead of a traceback. Through ``cli.main``.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from hyreka_plugin_amazon.connector import CONNECTOR_ID
from hyreka_plugin_amazon.contract import Account
from hyreka_plugin_amazon.importing import read_report_file
from hyreka_plugin_amazon.refhost.cli import main as cli
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.i18n.texts import translate
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV, KEY_FILE
from hyreka_plugin_amazon.refhost.store import DB_FILE, Store
from hyreka_plugin_amazon.refhost.store.database import damaged
from hyreka_plugin_amazon.refhost.store.errors import StoreDamagedError
from hyreka_plugin_amazon.secret import Secret

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "orders-invoicing-eu-cp1252.txt"


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data folder with a key file and a database holding an account and orders."""
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(cli.LANG_ENV, raising=False)
    folder = tmp_path / "data"
    with ReferenceHost(folder, env={}) as host:
        account = Account(
            id="shop",
            name="shop",
            connector=CONNECTOR_ID,
            region="eu",
            marketplace_ids=("A1PA6795UKMFR9",),
            client_id="amzn1.application-oa2-client.x",
            client_secret=Secret("secret"),
            refresh_token=Secret("Atzr|token"),
        )
        host.store.add_account(account)
        for order in read_report_file(FIXTURE).orders:
            host.store.upsert_order(account.id, order)
    assert (folder / KEY_FILE).exists()
    return folder


def run(data: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = cli.main([*args, "--data", str(data)])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_intact_store_lists_its_orders(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(data, capsys, "orders", "--json")
    assert code == 0
    assert "302-1000001-0000001" in out


@pytest.mark.parametrize("how", ["deleted", "zero bytes"])
def test_a_lost_database_never_becomes_a_new_empty_store(
    how: str, data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = data / DB_FILE
    for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
        path.unlink(missing_ok=True)
    if how == "zero bytes":
        db.write_bytes(b"")
    code, out, err = run(data, capsys, "orders", "--json")
    assert code == 3
    assert out == ""  # no "[]"
    assert translate("cli.store_missing", "de") in err
    assert "Traceback" not in err
    assert db.exists() is (how == "zero bytes")  # nothing created over it
    if db.exists():
        assert db.stat().st_size == 0
    with pytest.raises(StoreDamagedError, match="restore the database from a backup"):
        Store.open(data, env={})


def test_a_corrupt_database_is_named_damaged(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = data / DB_FILE
    for path in (Path(f"{db}-wal"), Path(f"{db}-shm")):
        path.unlink(missing_ok=True)
    db.write_bytes(os.urandom(64 * 1024))
    code, out, err = run(data, capsys, "orders", "--json")
    assert code == 3
    assert out == ""
    assert translate("cli.store_damaged", "de") in err
    assert "Traceback" not in err


def test_a_truncated_database_is_named_damaged(
    data: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = data / DB_FILE
    with Store.open(data, env={}) as store:  # everything into the main file
        store._checkpoint()
    size = db.stat().st_size
    assert size > 4 * 16384
    with db.open("r+b") as file:
        file.truncate(size // 2)
    code, _, err = run(data, capsys, "orders", "--json")
    assert code == 3
    assert "Traceback" not in err
    assert translate("cli.store_damaged", "de") in err


def test_a_read_only_database_is_named_so(tmp_path: Path) -> None:
    # A read-only file system cannot be mounted here (and root writes past file modes):
    # SQLite's own error for it is mapped.
    error = damaged(
        tmp_path / DB_FILE, sqlite3.OperationalError("attempt to write a readonly database")
    )
    assert error.kind == "readonly"
    assert "cannot be written" in str(error)
    assert cli.STORE_TEXTS[error.kind] == "cli.store_readonly"
