"""``hyreka-amazon rotate-key`` and ``purge`` against a store filled by a real sync."""

from __future__ import annotations

import dataclasses
import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
from helpers.accounts import simulator_account

from hyreka_plugin_amazon.contract import Account, Order, OrderStatus
from hyreka_plugin_amazon.refhost.cli import security as cli_security
from hyreka_plugin_amazon.refhost.cli.main import main
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV, KEY_FILE, Vault, VaultError
from hyreka_plugin_amazon.refhost.store import DB_FILE, Store
from hyreka_plugin_amazon.refhost.store.leases import SqliteAccountLocks
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.simulator import Simulator


@pytest.fixture(autouse=True)
def _no_key_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv("HYREKA_LANG", "en")  # the texts below are the English ones


def fill(data: Path, sim: Simulator, env: dict[str, str]) -> tuple[list[Account], list[Order]]:
    """A store in ``data`` with two accounts and the simulator's open orders (one sync)."""
    with ReferenceHost(data, env=env) as host:
        host.store.add_account(simulator_account(sim))
        host.store.add_account(seller_account(sim, "other"))
        result = host.sync("sim")
        assert result.ok, result.message
        return host.store.list_accounts(), host.store.list_orders()


def seller_account(sim: Simulator, name: str) -> Account:
    """An account of a further simulated seller (own credentials, a few orders in DE)."""
    creds = sim.add_seller(marketplaces=("DE",), orders=5, name=name).credentials
    return dataclasses.replace(
        simulator_account(sim, name, ("DE",)),
        client_id=creds.client_id,
        client_secret=Secret(creds.client_secret),
        refresh_token=Secret(creds.refresh_token),
    )


@pytest.fixture
def data(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def filled(data: Path, simulator: Simulator) -> tuple[list[Account], list[Order]]:
    return fill(data, simulator, env={})


def key_ids(data: Path) -> set[str]:
    with sqlite3.connect(data / DB_FILE) as db:
        rows = db.execute(
            "SELECT key_id FROM account_keys UNION SELECT key_id FROM accounts"
            " UNION SELECT key_id FROM meta"
        ).fetchall()
    db.close()
    return {row[0] for row in rows}


def sealed_values(data: Path) -> list[bytes]:
    """Every value in the store encrypted under the vault key, as stored (order records are
    sealed with their orders' keys, wrapped under their accounts' keys)."""
    with sqlite3.connect(data / DB_FILE) as db:
        rows = db.execute(
            "SELECT wrapped FROM account_keys UNION ALL SELECT client_secret FROM accounts"
            " UNION ALL SELECT refresh_token FROM accounts"
        ).fetchall()
    db.close()
    return [bytes(row[0]) for row in rows]


def snapshot(data: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(data.iterdir()) if p.is_file()}


def test_rotate_key_re_encrypts_everything_and_keeps_only_the_new_key(
    data: Path, filled: tuple[list[Account], list[Order]], capsys: pytest.CaptureFixture[str]
) -> None:
    accounts, orders = filled
    assert len(orders) > 15  # seller-fulfilled only: FBA orders are never open
    old_key = (data / KEY_FILE).read_text().strip()
    old_id = Vault.open(data, env={}).key_id
    old_ciphertexts = sealed_values(data)

    assert main(["rotate-key", "--data", str(data)]) == 0
    out, err = capsys.readouterr()
    new_key = (data / KEY_FILE).read_text().strip()
    assert len(new_key.split()) == 1
    assert new_key != old_key
    # each account's secrets and data key; the order records stay under their orders' keys
    assert f"{2 * len(accounts)} stored values re-encrypted" in out
    assert old_key not in out + err
    assert new_key not in out + err

    new_id = Vault.open(data, env={}).key_id
    assert key_ids(data) == {new_id} != {old_id}
    with Store.open(data, env={}) as store:
        assert store.list_accounts() == accounts
        assert store.list_orders() == orders
    with pytest.raises(VaultError, match="cannot decrypt"):
        Store.open(data, env={KEY_ENV: old_key})
    raw = b"".join(snapshot(data).values())
    assert [c for c in old_ciphertexts if c[16:80] in raw] == []  # the old key opens nothing


def test_with_a_single_environment_key_rotate_key_explains_and_changes_nothing(
    data: Path,
    simulator: Simulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = Vault.generate_key()
    fill(data, simulator, env={KEY_ENV: key})
    before = snapshot(data)
    monkeypatch.setenv(KEY_ENV, key)

    assert main(["rotate-key", "--data", str(data)]) == 2
    out, err = capsys.readouterr()
    assert f"{KEY_ENV}=NEW,OLD" in err
    assert key not in out + err
    assert snapshot(data) == before
    assert not (data / KEY_FILE).exists()


def test_with_new_and_old_environment_keys_rotate_key_moves_everything_to_the_new_one(
    data: Path,
    simulator: Simulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old, new = Vault.generate_key(), Vault.generate_key()
    accounts, orders = fill(data, simulator, env={KEY_ENV: old})
    monkeypatch.setenv(KEY_ENV, f"{new},{old}")

    assert main(["rotate-key", "--data", str(data)]) == 0
    out, err = capsys.readouterr()
    assert f"set {KEY_ENV} to that key alone" in out
    assert new not in out + err
    assert old not in out + err
    with Store.open(data, env={KEY_ENV: new}) as store:
        assert store.list_accounts() == accounts
        assert store.list_orders() == orders
    with pytest.raises(VaultError):
        Store.open(data, env={KEY_ENV: old})
    assert main(["rotate-key", "--data", str(data)]) == 0  # again: nothing left to do
    assert "0 stored values re-encrypted" in capsys.readouterr().out


@pytest.mark.parametrize("command", [["rotate-key"], ["purge"], ["purge", "--dry-run"]])
def test_a_wrong_key_is_refused_clearly_and_nothing_changes(
    data: Path,
    filled: tuple[list[Account], list[Order]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    before = snapshot(data)
    wrong = Vault.generate_key()
    monkeypatch.setenv(KEY_ENV, wrong)

    assert main([*command, "--data", str(data)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("hyreka-amazon: cannot decrypt stored data with the configured key")
    assert "Traceback" not in err
    assert wrong not in err
    assert snapshot(data) == before


@pytest.mark.parametrize("command", [["rotate-key"], ["purge"]])
def test_a_missing_key_file_is_refused_and_not_replaced(
    data: Path,
    filled: tuple[list[Account], list[Order]],
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    (data / KEY_FILE).rename(data.parent / "key-backup")
    before = snapshot(data)

    assert main([*command, "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert f"{data / KEY_FILE} is missing" in err
    assert "restore the key file" in err
    assert snapshot(data) == before  # no new key made next to the data


def test_rotate_key_without_a_store_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["rotate-key", "--data", str(tmp_path)]) == 2
    assert "nothing to rotate" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_purge_shows_counts_and_order_ids_then_removes_personal_data(
    data: Path,
    simulator: Simulator,
    filled: tuple[list[Account], list[Order]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, orders = filled
    shipped = sorted(o.amazon_order_id for o in orders)[:3]
    for order_id in shipped:
        simulator.ship_order(order_id)
    with ReferenceHost(data, env={}) as host:
        assert host.sync("sim").updated == 3
    later = simulator.clock.now() + timedelta(days=31)
    monkeypatch.setattr(cli_security, "_utcnow", lambda: later)
    before = snapshot(data)

    assert main(["purge", "--dry-run", "--data", str(data)]) == 0
    summary, *ids = capsys.readouterr().out.splitlines()
    assert summary == (
        "dry run: would remove the personal data of 3 orders shipped or cancelled more than "
        "30 days ago"
    )
    assert sorted(ids) == [f"  {order_id}" for order_id in shipped]
    assert snapshot(data) == before

    assert main(["purge", "--days", "40", "--data", str(data)]) == 0
    assert "of 0 orders" in capsys.readouterr().out
    assert main(["purge", "--data", str(data)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == (
        "removed the personal data of 3 orders shipped or cancelled more than 30 days ago"
    )
    with Store.open(data, env={}) as store:
        for order_id in shipped:
            purged = store.get_order("sim", order_id)
            assert purged is not None
            assert purged.status is OrderStatus.SHIPPED
            assert purged.billing_address is not None
            assert purged.billing_address.name is None
        untouched = [o for o in orders if o.amazon_order_id not in shipped]
        assert [store.get_order("sim", o.amazon_order_id) for o in untouched] == untouched


def test_purge_refuses_a_negative_period(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["purge", "--days", "-1", "--data", str(tmp_path)])
    assert caught.value.code == 2
    assert "cannot be negative" in capsys.readouterr().err


def test_rotate_key_waits_for_no_sync_and_changes_nothing_while_one_runs(
    data: Path, filled: tuple[list[Account], list[Order]], capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = (data / KEY_FILE).read_text()
    ids = key_ids(data)
    with SqliteAccountLocks(data / DB_FILE).hold("other"):
        assert main(["rotate-key", "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert "a sync of account 'other' is already running" in err
    assert "again when it has finished" in err
    assert (data / KEY_FILE).read_text() == key_file
    assert key_ids(data) == ids
    assert main(["rotate-key", "--data", str(data)]) == 0  # the lease is free again


@pytest.mark.parametrize("command", [["account", "list"], ["orders"], ["sync", "sim"]])
def test_every_command_reports_a_wrong_key_in_one_line(
    data: Path,
    filled: tuple[list[Account], list[Order]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    before = snapshot(data)
    monkeypatch.setenv(KEY_ENV, Vault.generate_key())
    assert main([*command, "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hyreka-amazon: cannot decrypt stored data with the configured key")
    assert len(err.splitlines()) == 1
    assert snapshot(data) == before
