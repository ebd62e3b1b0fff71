"""The store on a real PostgreSQL server: the same semantics and encryption as on SQLite."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from helpers.accounts import simulator_account
from helpers.records import CLIENT_SECRET, make_account

from hyreka_plugin_amazon.contract import (
    Address,
    Order,
    OrderLine,
    OrderStatus,
    Problem,
    SyncResult,
)
from hyreka_plugin_amazon.refhost.cli import main as cli
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV, KEY_FILE, Vault
from hyreka_plugin_amazon.refhost.store import (
    AccountExistsError,
    AccountNotFoundError,
    Store,
    StoreError,
)
from hyreka_plugin_amazon.refhost.store.postgres import DATABASE_ENV, redacted
from hyreka_plugin_amazon.simulator import Simulator

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _order(order_id: str = "302-0000001-0000001", status: OrderStatus = OrderStatus.OPEN) -> Order:
    address = Address("Jürgen Großmann", ("Königsallee 27",), "40212", "Düsseldorf", "DE")
    return Order(
        amazon_order_id=order_id,
        status=status,
        marketplace_id="A1PA6795UKMFR9",
        sales_channel="Amazon.de",
        fulfillment_channel="MFN",
        currency="EUR",
        purchase_date=datetime(2026, 11, 19, 9, 30, tzinfo=UTC),
        last_updated=T0,
        billing_address=address,
        shipping_address=address,
        lines=(
            OrderLine(
                order_item_id="1",
                sku="SKU-1",
                title="Tasse",
                quantity=2,
                item_price=Decimal("19.98"),
                item_tax=Decimal("3.19"),
            ),
        ),
    )


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {KEY_ENV: Fernet.generate_key().decode()}


@pytest.fixture
def pg_store(tmp_path: Path, postgres_url: str, env: dict[str, str]) -> Store:
    store = Store.open(tmp_path, env={**env, DATABASE_ENV: postgres_url})
    store.add_account(make_account())
    return store


def test_a_url_is_shown_without_its_password() -> None:
    assert redacted("postgresql://u:pw@db:5432/x") == "postgresql://u:***@db:5432/x"


def test_orders_upsert_stage_and_list_as_on_sqlite(pg_store: Store) -> None:
    assert pg_store.upsert_order("acc-1", _order()) == "created"
    assert pg_store.upsert_order("acc-1", _order()) == "unchanged"
    shipped = _order(status=OrderStatus.SHIPPED)
    assert pg_store.stage_order("acc-1", shipped) == "updated"
    assert pg_store.stage_order("acc-1", _order("302-0000002-0000002")) == "created"
    assert pg_store.get_order("acc-1", "302-0000001-0000001") == shipped
    pg_store.set_state("acc-1", "cursor", "c1")  # commits the staged orders first
    assert pg_store.get_state("acc-1", "cursor") == "c1"
    assert pg_store.list_orders() == [shipped, _order("302-0000002-0000002")]
    assert pg_store.list_orders(status=OrderStatus.OPEN) == [_order("302-0000002-0000002")]
    assert pg_store.order_ids_by_status("acc-1", [OrderStatus.SHIPPED]) == {"302-0000001-0000001"}
    assert pg_store.stored_order_ids("acc-1", 10) == {"302-0000001-0000001", "302-0000002-0000002"}
    with pytest.raises(AccountNotFoundError):
        pg_store.upsert_order("nope", _order())
    pg_store.close()


def test_accounts_problems_and_runs(pg_store: Store) -> None:
    with pytest.raises(AccountExistsError):
        pg_store.add_account(make_account())
    assert pg_store.get_account("Shop DE").client_secret.reveal() == CLIENT_SECRET
    pg_store.record_problems("acc-1", [Problem(reason="bad", amazon_order_id="1", row=3)])
    assert pg_store.list_problems("acc-1") == [Problem(reason="bad", amazon_order_id="1", row=3)]
    pg_store.dismiss_problem("acc-1", "1")
    assert pg_store.list_problems("acc-1") == []
    run = pg_store.start_run("acc-1", "manual")
    pg_store.finish_run(
        run, SyncResult(ok=True, message="ok", code="sync.ok", created=2, api_calls={"a": 1})
    )
    [done] = pg_store.list_runs("acc-1")
    assert (done.id, done.ok, done.created, done.api_calls) == (run, True, 2, {"a": 1})
    assert done.finished_at is not None
    assert done.finished_at >= done.started_at
    with pytest.raises(StoreError):
        pg_store.finish_run(run + 100, SyncResult(ok=True, message="ok"))
    pg_store.remove_account("acc-1")
    assert pg_store.list_accounts() == []
    pg_store.close()


def test_secrets_and_personal_data_are_encrypted_and_the_key_is_not_in_the_database(
    pg_store: Store, postgres_url: str, env: dict[str, str]
) -> None:
    pg_store.upsert_order("acc-1", _order())
    pg_store.close()
    with psycopg.connect(postgres_url) as conn:
        dump = b""
        for table in ("meta", "accounts", "orders", "state", "problems", "sync_runs"):
            query = f"SELECT * FROM {table}".encode()  # noqa: S608  # the fixed names above
            for row in conn.execute(query).fetchall():
                dump += repr(row).encode()
    assert CLIENT_SECRET.encode() not in dump
    assert "Großmann".encode() not in dump
    assert b"Gro\\xc3\\x9fmann" not in dump
    assert env[KEY_ENV].encode() not in dump


def test_reopening_migrates_nothing_and_a_wrong_key_is_refused(
    tmp_path: Path, pg_store: Store, postgres_url: str, env: dict[str, str]
) -> None:
    pg_store.upsert_order("acc-1", _order())
    pg_store.close()
    with Store.open(tmp_path, env=env, database=postgres_url) as again:
        assert again.list_orders() == [_order()]
    other = {KEY_ENV: Fernet.generate_key().decode()}
    with pytest.raises(Exception, match="key"):
        Store.open(tmp_path, env=other, database=postgres_url)
    assert not (tmp_path / KEY_FILE).exists()  # the key came from the environment


def test_a_newer_schema_is_refused(pg_store: Store, postgres_url: str, env: dict[str, str]) -> None:
    pg_store.close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(StoreError, match="newer"):
        Store(postgres_url, Vault.open(Path("/nonexistent"), env=env, create=False))


def test_purge_and_rotate_key(pg_store: Store, env: dict[str, str]) -> None:
    pg_store.upsert_order("acc-1", _order(status=OrderStatus.SHIPPED))
    purged = pg_store.purge_personal_data(now=T0 + timedelta(days=40), after_days=30)
    assert purged == ["302-0000001-0000001"]
    [order] = pg_store.list_orders()
    assert order.billing_address is not None
    assert order.billing_address.name != "Jürgen Großmann"
    new_vault = Vault([Fernet.generate_key(), env[KEY_ENV].encode()])
    assert pg_store.rotate_key(new_vault) == 2  # the account and the order
    assert pg_store.list_orders() == [order]
    pg_store.close()


def test_a_bad_database_url_is_a_clear_error(tmp_path: Path, env: dict[str, str]) -> None:
    with pytest.raises(StoreError, match="postgresql://"):
        Store.open(tmp_path, env=env, database="mysql://x")
    with pytest.raises(StoreError, match="cannot connect") as caught:
        Store.open(tmp_path, env=env, database="postgresql://u:topsecret@127.0.0.1:1/x")
    assert "topsecret" not in str(caught.value)


def test_a_sync_on_postgres_imports_the_simulators_orders(
    tmp_path: Path, postgres_url: str, env: dict[str, str], simulator: Simulator
) -> None:
    with ReferenceHost(tmp_path, env={**env, DATABASE_ENV: postgres_url}) as host:
        host.store.add_account(simulator_account(simulator))
        result = host.sync("sim")
        assert result.ok, result.message
        again = host.sync("sim")
        assert again.ok
        assert again.created == 0
        stored = {o.amazon_order_id for o in host.store.list_orders()}
        assert result.created == len(stored) > 0
        assert host.locks.holder("sim") is None


def test_status_json_history_on_postgres(
    tmp_path: Path,
    postgres_url: str,
    env: dict[str, str],
    simulator: Simulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {**env, DATABASE_ENV: postgres_url}.items():
        monkeypatch.setenv(name, value)
    with ReferenceHost(tmp_path) as host:
        host.store.add_account(simulator_account(simulator))
        host.sync("sim")
        host.sync("sim")
    capsys.readouterr()
    assert (
        cli.main(["--lang", "en", "--data", str(tmp_path), "status", "--json", "--history", "2"])
        == 0
    )
    [status] = json.loads(capsys.readouterr().out)
    runs = status["history"]
    assert len(runs) >= 2
    for run in runs:
        assert run["started_at"]
        assert run["finished_at"]
        assert run["code"] == "sync.ok"


def test_purge_and_rotate_key_commands_on_postgres(
    tmp_path: Path,
    postgres_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)  # the key file of the data folder
    monkeypatch.setenv(DATABASE_ENV, postgres_url)
    with Store.open(tmp_path, env={DATABASE_ENV: postgres_url}) as store:
        store.add_account(make_account())
        store.upsert_order("acc-1", _order(status=OrderStatus.SHIPPED))
    key_before = (tmp_path / KEY_FILE).read_bytes()
    capsys.readouterr()
    assert (
        cli.main(["--lang", "en", "--data", str(tmp_path), "purge", "--days", "0", "--dry-run"])
        == 0
    )
    assert "302-0000001-0000001" in capsys.readouterr().out
    assert cli.main(["--lang", "en", "--data", str(tmp_path), "rotate-key"]) == 0
    assert "2 stored values re-encrypted" in capsys.readouterr().out
    assert (tmp_path / KEY_FILE).read_bytes() != key_before
    with Store.open(tmp_path, env={}, database=postgres_url) as store:
        assert store.get_account("acc-1").client_secret.reveal() == CLIENT_SECRET
        assert [o.amazon_order_id for o in store.list_orders()] == ["302-0000001-0000001"]


def test_the_demo_stays_on_sqlite_when_a_database_is_configured(
    postgres_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DATABASE_ENV, postgres_url)
    assert cli.main(["--lang", "en", "demo", "--orders", "5"]) == 0
    assert capsys.readouterr().out
    with psycopg.connect(postgres_url) as conn:
        row = conn.execute("SELECT to_regclass('accounts')").fetchone()
    assert row is not None
    assert row[0] is None  # the demo wrote nothing into the configured database
