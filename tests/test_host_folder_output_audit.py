"""Attacks on the host's folder, its printed output and its audit trail."""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers.records import make_account, make_order

from hyreka_plugin_amazon.contract import OrderStatus
from hyreka_plugin_amazon.refhost.cli.main import main
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.safety.audit import AuditLog
from hyreka_plugin_amazon.refhost.safety.terminal import check_account_name, printable
from hyreka_plugin_amazon.refhost.services import auditing
from hyreka_plugin_amazon.refhost.store import DB_FILE, Store

HOSTILE = "shop\x1b[31m\nFAKE OK\u202eevil"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.skipif(os.name != "posix", reason="POSIX modes")
def test_a_world_writable_data_folder_and_database_are_restricted(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with Store.open(data, env={}) as store:
        store.add_account(make_account())
    data.chmod(0o777)
    (data / DB_FILE).chmod(0o666)
    with Store.open(data, env={}) as store:
        assert store.get_account("Shop DE").id == "acc-1"
    assert _mode(data) == 0o700
    assert _mode(data / DB_FILE) == 0o600


def test_printable_escapes_control_and_direction_characters() -> None:
    shown = printable(HOSTILE)
    assert "\x1b" not in shown
    assert "\n" not in shown
    assert "\u202e" not in shown
    assert shown == "shop\\x1b[31m\\x0aFAKE OK\\u202eevil"
    assert printable("Müller GmbH") == "Müller GmbH"


def test_account_names_with_control_sequences_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="control or formatting"):
        check_account_name(HOSTILE)
    with Store.open(tmp_path, env={}) as store, pytest.raises(ValueError, match="control"):
        store.add_account(make_account(name=HOSTILE))


def test_a_hostile_name_written_to_the_database_prints_inert(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with Store.open(tmp_path, env={}) as store:
        store.add_account(make_account())
    with sqlite3.connect(tmp_path / DB_FILE) as db:
        db.execute("UPDATE accounts SET name = ?", (HOSTILE,))
    db.close()
    assert main(["account", "list", "--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "\u202e" not in out
    assert "FAKE OK" in out
    assert out.count("\n") == 1  # one account, one line


def test_purge_and_rotation_leave_an_audit_trail_without_personal_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("HYREKA_AMAZON_KEY", raising=False)
    old = datetime.now(UTC) - timedelta(days=90)
    with Store.open(tmp_path, env={}) as store:
        store.add_account(make_account())
        store.upsert_order("acc-1", make_order("A-1", OrderStatus.SHIPPED, last_updated=old))
    assert main(["purge", "--data", str(tmp_path)]) == 0
    assert main(["rotate-key", "--data", str(tmp_path)]) == 0
    capsys.readouterr()
    entries = AuditLog(tmp_path).entries()
    assert [e.action for e in entries] == ["orders.purge", "key.rotate"]
    assert entries[0].facts == {"orders": 1, "days": 30, "complete": True}
    assert entries[1].facts["values"] == 2  # one account (both secrets) and one order
    with ReferenceHost(tmp_path, env={}) as host:
        assert auditing.verify(host).intact
    text = (tmp_path / "audit.log").read_text()
    assert "Quirinia" not in text
    assert "A-1" not in text
    assert "Atzr" not in text
    assert _mode(tmp_path / "audit.log") & 0o077 == 0
