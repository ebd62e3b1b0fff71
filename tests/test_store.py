"""The reference host's store: accounts, orders, state, problems, runs, retention, rotation."""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import sqlite3
import stat
import threading
import time
import zlib
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Literal

import pytest
from cryptography.fernet import Fernet
from helpers.datakeys import sqlite_record

from hyreka_plugin_amazon.contract import (
    Account,
    Address,
    HostServices,
    Order,
    OrderLine,
    OrderStatus,
    Problem,
    Progress,
    SyncResult,
)
from hyreka_plugin_amazon.refhost import paths
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV, KEY_FILE, Vault, VaultError
from hyreka_plugin_amazon.refhost.store import (
    DB_FILE,
    SCHEMA_VERSION,
    AccountExistsError,
    AccountNotFoundError,
    HostAdapter,
    Store,
    StoreError,
)
from hyreka_plugin_amazon.refhost.store import adapter as adapter_module
from hyreka_plugin_amazon.refhost.store import orderrecords as orders_module
from hyreka_plugin_amazon.refhost.store.checkpointer import Checkpointer
from hyreka_plugin_amazon.refhost.store.payload import order_json, order_record
from hyreka_plugin_amazon.refhost.store.schema import ts
from hyreka_plugin_amazon.secret import Secret

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
CLIENT_SECRET = "amzn1.oa2-cs.v1.geheim0815"
REFRESH_TOKEN = "Atzr|IwEBIrefreshtokenvalue4711"


class Clock:
    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def make_account(account_id: str = "acc-1", name: str = "Shop DE") -> Account:
    return Account(
        id=account_id,
        name=name,
        connector="amazon",
        region="eu",
        marketplace_ids=("A1PA6795UKMFR9", "A13V1IB3VIYZZH"),
        client_id="amzn1.application-oa2-client.abc",
        client_secret=Secret(CLIENT_SECRET),
        refresh_token=Secret(REFRESH_TOKEN),
        endpoint="http://127.0.0.1:8080",
        settings={"report_type": "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"},
    )


def make_order(
    order_id: str = "302-0000001-0000001",
    status: OrderStatus = OrderStatus.OPEN,
    name: str = "Jürgen Großmann",
    street: str = "Königsallee 27",
    *,
    last_updated: datetime | None = T0,
) -> Order:
    billing = Address(
        name,
        (street, "Hinterhaus"),
        "40212",
        "Düsseldorf",
        "DE",
        company="Müller & Söhne GmbH",
        phone="+49 170 5551234",
    )
    shipping = Address("Bärbel Schüßler", ("Packstation 105",), "80331", "München", "DE")
    return Order(
        amazon_order_id=order_id,
        status=status,
        marketplace_id="A1PA6795UKMFR9",
        sales_channel="Amazon.de",
        fulfillment_channel="MFN",
        currency="EUR",
        purchase_date=datetime(2026, 11, 19, 9, 30, tzinfo=UTC),
        lines=(
            OrderLine("11", "SKU-TASSE", "Kaffeetasse", 2, Decimal("19.80"), Decimal("3.16")),
            OrderLine(
                "12",
                "SKU-SEIFE",
                "Seife",
                1,
                Decimal("4.90"),
                shipping_price=Decimal("3.90"),
                ship_promotion_discount=Decimal("-3.90"),
            ),
        ),
        billing_address=billing,
        shipping_address=shipping,
        buyer_email="k7x3mqz0815@marketplace.amazon.de",
        is_business_order=True,
        purchase_order_number="PO-77",
        buyer_company_name="Müller & Söhne GmbH",
        buyer_tax_registration_id="DE123456789",
        last_updated=last_updated,
    )


PERSONAL = (
    "Jürgen Großmann",
    "Großmann",
    "Bärbel Schüßler",
    "Schüßler",
    "Königsallee",
    "Hinterhaus",
    "Packstation 105",
    "Düsseldorf",
    "München",
    "40212",
    "+49 170 5551234",
    "5551234",
    "k7x3mqz0815",
    "DE123456789",
    "Müller & Söhne",
)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path, clock: Clock) -> Iterator[Store]:
    with Store.open(tmp_path, env={}, clock=clock) as opened:
        opened.add_account(make_account())
        yield opened


def _raw_files(data_dir: Path) -> dict[str, bytes]:
    return {
        path.name: path.read_bytes()
        for path in data_dir.iterdir()
        if path.name.startswith(DB_FILE) and path.is_file()
    }


def _raw_order_row(store: Store, order_id: str) -> tuple[object, ...]:
    with sqlite3.connect(store.path) as db:
        row = db.execute(
            "SELECT payload, payload_mac, updated_at, purged_at FROM orders"
            " WHERE amazon_order_id = ?",
            (order_id,),
        ).fetchone()
    db.close()
    return tuple(row)


# --------------------------------------------------------------------------------------------
# Data folder


def test_data_dir_prefers_explicit_then_environment_then_the_user_folder(tmp_path: Path) -> None:
    env = {paths.DATA_ENV: str(tmp_path / "from-env"), "HOME": str(tmp_path / "home")}
    assert paths.data_dir(tmp_path / "explicit", env) == tmp_path / "explicit"
    assert paths.data_dir(None, env) == tmp_path / "from-env"
    default = paths.data_dir(None, {"HOME": str(tmp_path / "home")})
    assert default == tmp_path / "home" / ".local" / "share" / "hyreka-amazon"
    assert default.is_dir()
    if os.name == "posix":
        assert stat.S_IMODE(default.stat().st_mode) == 0o700


def test_default_data_dir_per_platform(tmp_path: Path) -> None:
    home = str(tmp_path)
    assert paths.default_data_dir({"HOME": home, "XDG_DATA_HOME": "/xdg"}, "linux") == Path(
        "/xdg/hyreka-amazon"
    )
    assert paths.default_data_dir({"HOME": home, "XDG_DATA_HOME": "rel"}, "linux") == (
        tmp_path / ".local" / "share" / "hyreka-amazon"
    )
    assert paths.default_data_dir({"HOME": home}, "darwin") == (
        tmp_path / "Library" / "Application Support" / "hyreka-amazon"
    )
    assert paths.default_data_dir({"HOME": home, "LOCALAPPDATA": "/lad"}, "win32") == Path(
        "/lad/hyreka-amazon"
    )


# --------------------------------------------------------------------------------------------
# Opening, keys


def test_a_new_store_has_a_0600_database_and_key(tmp_path: Path) -> None:
    with Store.open(tmp_path, env={}) as store:
        assert store.path == tmp_path / DB_FILE
        assert "geheim" not in repr(store)
    if os.name == "posix":
        assert stat.S_IMODE((tmp_path / DB_FILE).stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600
    with sqlite3.connect(tmp_path / DB_FILE) as db:
        assert db.execute("SELECT version FROM schema_version").fetchall() == [(SCHEMA_VERSION,)]
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("PRAGMA page_size").fetchone() == (16384,)
    db.close()


def test_a_database_with_other_pages_keeps_them_and_works(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / DB_FILE) as db:  # as an older version created it
        db.execute("PRAGMA page_size = 4096")
        db.execute("CREATE TABLE scratch (x)")
        db.execute("DROP TABLE scratch")
    db.close()
    with Store.open(tmp_path, env={KEY_ENV: Vault.generate_key()}) as store:
        store.add_account(make_account())
        store.upsert_order("acc-1", make_order())
        assert store.get_order("acc-1", make_order().amazon_order_id) == make_order()
    with sqlite3.connect(tmp_path / DB_FILE) as db:
        assert db.execute("PRAGMA page_size").fetchone() == (4096,)
    db.close()


def test_a_store_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    Store.open(tmp_path, env={}).close()
    with sqlite3.connect(tmp_path / DB_FILE) as db:
        db.execute("UPDATE schema_version SET version = 99")
    db.close()
    with pytest.raises(StoreError, match="newer"):
        Store.open(tmp_path, env={})


def test_a_wrong_key_is_refused_at_open_and_changes_nothing(tmp_path: Path, store: Store) -> None:
    store.upsert_order("acc-1", make_order())
    store.close()
    before = (tmp_path / DB_FILE).read_bytes()
    with pytest.raises(VaultError) as caught:
        Store.open(tmp_path, env={KEY_ENV: Vault.generate_key()})
    assert "cannot decrypt" in str(caught.value)
    assert "restore vault.key" in str(caught.value)
    assert (tmp_path / DB_FILE).read_bytes() == before
    with Store.open(tmp_path, env={}) as reopened:
        assert reopened.get_order("acc-1", "302-0000001-0000001") == make_order()


def test_a_lost_key_file_is_not_replaced_by_a_new_key(tmp_path: Path, store: Store) -> None:
    store.close()
    (tmp_path / KEY_FILE).rename(tmp_path / "backup.key")
    with pytest.raises(VaultError, match="restore the key file"):
        Store.open(tmp_path, env={})
    assert not (tmp_path / KEY_FILE).exists()


# --------------------------------------------------------------------------------------------
# Accounts


def test_accounts_round_trip_with_secrets(store: Store) -> None:
    account = make_account()
    assert store.get_account("acc-1") == account
    assert store.get_account("Shop DE") == account
    assert store.get_account("Shop DE").client_secret.reveal() == CLIENT_SECRET
    with pytest.raises(AccountExistsError):
        store.add_account(make_account("acc-2", "Shop DE"))
    with pytest.raises(AccountExistsError):
        store.add_account(make_account("acc-1", "Another"))
    store.add_account(make_account("acc-2", "Alpha"))
    assert [a.name for a in store.list_accounts()] == ["Alpha", "Shop DE"]
    with pytest.raises(AccountNotFoundError):
        store.get_account("nope")


def test_update_and_remove_account(store: Store) -> None:
    changed = dataclasses.replace(
        make_account(), name="Shop EU", refresh_token=Secret("Atzr|new"), settings={"a": "b"}
    )
    store.update_account(changed)
    assert store.get_account("acc-1") == changed
    store.add_account(make_account("acc-2", "Other"))
    with pytest.raises(AccountExistsError):
        store.update_account(dataclasses.replace(changed, name="Other"))
    with pytest.raises(AccountNotFoundError):
        store.update_account(make_account("acc-9", "Ghost"))

    store.upsert_order("acc-1", make_order())
    store.set_state("acc-1", "cursor", "x")
    store.start_run("acc-1", "manual")
    store.remove_account("Shop EU")
    with pytest.raises(AccountNotFoundError):
        store.get_account("acc-1")
    assert store.list_orders() == []
    assert store.get_state("acc-1", "cursor") is None
    assert store.list_runs() == []


# --------------------------------------------------------------------------------------------
# Orders


def test_upsert_says_created_updated_unchanged(store: Store, clock: Clock) -> None:
    order = make_order()
    assert store.upsert_order("acc-1", order) == "created"
    assert store.get_order("acc-1", order.amazon_order_id) == order
    before = _raw_order_row(store, order.amazon_order_id)

    clock.now += timedelta(hours=1)
    assert store.upsert_order("acc-1", make_order()) == "unchanged"
    assert _raw_order_row(store, order.amazon_order_id) == before  # nothing written

    shipped = dataclasses.replace(order, status=OrderStatus.SHIPPED)
    assert store.upsert_order("acc-1", shipped) == "updated"
    assert store.get_order("acc-1", order.amazon_order_id) == shipped
    assert store.get_order("acc-1", "missing") is None
    assert store.get_order("acc-2", order.amazon_order_id) is None


def test_upsert_for_an_unknown_account_fails_clearly(store: Store) -> None:
    with pytest.raises(AccountNotFoundError, match="acc-9"):
        store.upsert_order("acc-9", make_order())


def test_listing_and_ids_by_status(store: Store) -> None:
    store.add_account(make_account("acc-2", "Shop FR"))
    statuses = [OrderStatus.OPEN, OrderStatus.SHIPPED, OrderStatus.OPEN, OrderStatus.CANCELLED]
    for n, status in enumerate(statuses):
        store.upsert_order("acc-1", make_order(f"302-000000{n}-0000000", status))
    store.upsert_order("acc-2", make_order("999-0000000-0000000"))

    assert [o.amazon_order_id for o in store.list_orders(account_id="acc-1")] == [
        f"302-000000{n}-0000000" for n in range(4)
    ]
    assert len(store.list_orders()) == 5
    assert [o.amazon_order_id for o in store.list_orders(status=OrderStatus.OPEN)] == [
        "302-0000000-0000000",
        "302-0000002-0000000",
        "999-0000000-0000000",
    ]
    streamed = list(store.iter_orders(account_id="acc-1", batch_size=3))
    assert streamed == store.list_orders(account_id="acc-1")
    assert store.order_ids_by_status("acc-1", {OrderStatus.SHIPPED, OrderStatus.CANCELLED}) == {
        "302-0000001-0000000",
        "302-0000003-0000000",
    }
    assert store.order_ids_by_status("acc-1", []) == set()


def test_concurrent_upserts_from_threads(store: Store) -> None:
    errors: list[BaseException] = []

    def work(thread: int) -> None:
        try:
            for n in range(25):
                store.upsert_order("acc-1", make_order(f"{thread}-{n}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(store.order_ids_by_status("acc-1", [OrderStatus.OPEN])) == 100


# --------------------------------------------------------------------------------------------
# State, problems, runs


def test_state_is_per_account_and_removable(store: Store) -> None:
    store.add_account(make_account("acc-2", "Other"))
    store.set_state("acc-1", "cursor", "2026-11-20T12:00:00+00:00")
    store.set_state("acc-2", "cursor", "other")
    store.set_state("acc-1", "cursor", "2026-11-21T12:00:00+00:00")
    assert store.get_state("acc-1", "cursor") == "2026-11-21T12:00:00+00:00"
    assert store.get_state("acc-2", "cursor") == "other"
    store.set_state("acc-1", "cursor", None)
    assert store.get_state("acc-1", "cursor") is None
    assert store.get_state("acc-2", "cursor") == "other"


def test_problems_are_replaced_listed_and_dismissed(store: Store) -> None:
    store.record_problems("acc-1", [Problem("old", "1")])
    problems = [
        Problem("unknown currency 'XYZ'", "302-1", row=7, column="currency"),
        Problem("quantity is not a number", "302-2", row=9, column="quantity-purchased"),
        Problem("header lacks order-id", row=None),
    ]
    store.record_problems("acc-1", problems)
    assert store.list_problems("acc-1") == problems
    store.dismiss_problem("acc-1", "302-1")
    assert store.list_problems("acc-1") == problems[1:]
    store.record_problems("acc-1", [])
    assert store.list_problems("acc-1") == []


def test_sync_runs_record_their_outcome(store: Store, clock: Clock) -> None:
    first = store.start_run("acc-1", "manual")
    clock.now += timedelta(seconds=42)
    store.finish_run(
        first,
        SyncResult(
            ok=True,
            message="3 new, 1 updated",
            created=3,
            updated=1,
            unchanged=5,
            failed_rows=2,
            api_calls={"createReport": 2, "getReport": 6},
        ),
    )
    second = store.start_run("acc-1", "schedule")
    runs = store.list_runs("acc-1")
    assert [r.id for r in runs] == [second, first]
    running, done = runs
    assert running.finished_at is None
    assert running.ok is None
    assert running.trigger == "schedule"
    assert done.started_at == T0
    assert done.finished_at == T0 + timedelta(seconds=42)
    assert (done.ok, done.code, done.message) == (True, "ok", "3 new, 1 updated")
    assert (done.created, done.updated, done.unchanged, done.failed_rows) == (3, 1, 5, 2)
    assert done.api_calls == {"createReport": 2, "getReport": 6}
    assert store.list_runs(limit=1) == [running]
    with pytest.raises(StoreError):
        store.finish_run(999, SyncResult(ok=False, message="x"))


# --------------------------------------------------------------------------------------------
# Retention


def test_purge_removes_personal_data_of_long_closed_orders(store: Store, clock: Clock) -> None:
    old = T0 - timedelta(days=31)
    store.upsert_order("acc-1", make_order("old-shipped", OrderStatus.SHIPPED, last_updated=old))
    store.upsert_order("acc-1", make_order("old-cancel", OrderStatus.CANCELLED, last_updated=old))
    store.upsert_order("acc-1", make_order("old-open", OrderStatus.OPEN, last_updated=old))
    store.upsert_order("acc-1", make_order("new-shipped", OrderStatus.SHIPPED))
    clock.now = old  # the host saw this one closed 31 days ago; Amazon gave no time
    store.upsert_order("acc-1", make_order("seen-closed", OrderStatus.SHIPPED, last_updated=None))
    clock.now = T0
    expected = ["old-shipped", "old-cancel", "seen-closed"]

    raw_before = {oid: _raw_order_row(store, oid) for oid in expected}
    assert store.purge_personal_data(now=T0, dry_run=True) == expected
    assert {oid: _raw_order_row(store, oid) for oid in expected} == raw_before

    assert store.purge_personal_data(now=T0) == expected
    purged = store.get_order("acc-1", "old-shipped")
    original = make_order("old-shipped", OrderStatus.SHIPPED, last_updated=old)
    assert purged is not None
    assert purged.billing_address == Address(None, (), None, None, "DE")
    assert purged.shipping_address == Address(None, (), None, None, "DE")
    assert (purged.buyer_email, purged.buyer_company_name, purged.buyer_tax_registration_id) == (
        None,
        None,
        None,
    )
    assert purged.lines == original.lines
    assert purged.total == original.total == Decimal("24.70")
    assert (purged.status, purged.purchase_date, purged.last_updated) == (
        original.status,
        original.purchase_date,
        original.last_updated,
    )
    assert purged.purchase_order_number == "PO-77"
    assert store.get_order("acc-1", "old-open") == make_order("old-open", last_updated=old)
    assert store.get_order("acc-1", "new-shipped") == make_order("new-shipped", OrderStatus.SHIPPED)
    assert store.purge_personal_data(now=T0) == []  # done once

    # A report overlap delivering the order again does not bring its personal data back.
    assert store.upsert_order("acc-1", original) == "unchanged"
    assert store.get_order("acc-1", "old-shipped") == purged

    store.close()
    raw = b"".join(_raw_files(store.path.parent).values())
    for text in PERSONAL:
        assert text.encode() not in raw  # trivially: never stored in plain


# --------------------------------------------------------------------------------------------
# Key rotation


class FlakyVault(Vault):
    """Fails (like a power cut) after a number of decryptions."""

    decryptions_left = 10**9

    def decrypt(self, token: bytes, bound_to: bytes = b"") -> bytes:
        if self.decryptions_left == 0:
            raise RuntimeError("power cut")
        self.decryptions_left -= 1
        return super().decrypt(token, bound_to)


def test_rotation_interrupted_half_way_resumes(tmp_path: Path, clock: Clock) -> None:
    with Store.open(tmp_path, env={}, clock=clock) as store:
        orders = [make_order(f"302-{n:07d}-0000000") for n in range(10)]
        for n in range(3):
            store.add_account(make_account(f"acc-{n}", f"shop {n}"))
            for order in orders:
                store.upsert_order(f"acc-{n}", order)
    old_key = (tmp_path / KEY_FILE).read_text().strip()
    with sqlite3.connect(tmp_path / DB_FILE) as db:  # rotation wraps keys anew, no record
        payloads = db.execute("SELECT payload FROM orders ORDER BY rowid").fetchall()
    db.close()

    vault = FlakyVault.open(tmp_path, env={})
    vault.add_new_primary_key()
    new_key = (tmp_path / KEY_FILE).read_text().split()[0]
    store = Store(tmp_path / DB_FILE, vault, clock=clock)
    vault.decryptions_left = 5  # two accounts' secrets, then the power goes
    with pytest.raises(RuntimeError, match="power cut"):
        store.rotate_key(vault)
    store.close()

    # Interrupted: only the old and new keys together read everything.
    with sqlite3.connect(tmp_path / DB_FILE) as db:
        key_ids = [row[0] for row in db.execute("SELECT key_id FROM account_keys")]
    db.close()
    assert vault.key_id not in key_ids
    only_new = Store(tmp_path / DB_FILE, Vault.open(tmp_path, env={KEY_ENV: new_key}))
    with pytest.raises(VaultError, match="cannot decrypt"):
        only_new.list_orders()
    with pytest.raises(VaultError):
        only_new.upsert_order("acc-1", orders[-1])  # compares, cannot read, writes nothing
    only_new.close()

    vault = FlakyVault.open(tmp_path, env={})
    with Store(tmp_path / DB_FILE, vault, clock=clock) as store:
        assert store.upsert_order("acc-1", orders[-1]) == "unchanged"  # mid-rotation
        assert store.rotate_key(vault) == 6  # each account's secrets and its data key
        assert store.rotate_key(vault) == 0
        vault.drop_old_keys()
    assert (tmp_path / KEY_FILE).read_text().split() == [new_key]

    with Store.open(tmp_path, env={}) as store:
        assert store.list_orders(account_id="acc-1") == orders
        assert store.get_account("acc-1") == make_account("acc-1", "shop 1")
        assert store.upsert_order("acc-1", orders[0]) == "unchanged"
    with sqlite3.connect(tmp_path / DB_FILE) as db:
        assert db.execute("SELECT payload FROM orders ORDER BY rowid").fetchall() == payloads
    db.close()
    with pytest.raises(VaultError):
        Store.open(tmp_path, env={KEY_ENV: old_key})


def test_rotation_to_an_unrelated_key_is_refused(tmp_path: Path, store: Store) -> None:
    store.upsert_order("acc-1", make_order())
    stranger = Vault.open(tmp_path / "elsewhere", env={})
    with pytest.raises(VaultError, match="cannot decrypt"):
        store.rotate_key(stranger)
    assert store.get_order("acc-1", "302-0000001-0000001") == make_order()


# --------------------------------------------------------------------------------------------
# Nothing personal or secret in plain text on disk


def test_no_personal_data_or_secret_in_the_database_files(store: Store) -> None:
    for n in range(50):
        store.upsert_order("acc-1", make_order(f"302-{n:07d}-0000001"))
    store.upsert_order("acc-1", make_order("rue", name="Hélène Pâquerette", street="Rue Ça 5"))
    files = _raw_files(store.path.parent)
    assert {DB_FILE, f"{DB_FILE}-wal", f"{DB_FILE}-shm"} <= set(files)
    assert len(files[f"{DB_FILE}-wal"]) > 0
    raw = b"".join(files.values())
    assert b"302-0000049-0000001" in raw  # the ids are plain: the check reads the right bytes
    for text in (*PERSONAL, "Hélène", "Pâquerette", "Rue Ça", CLIENT_SECRET, REFRESH_TOKEN):
        for encoding in ("utf-8", "utf-16-le", "cp1252"):
            assert text.encode(encoding) not in raw, (text, encoding)
    key = (store.path.parent / KEY_FILE).read_bytes().strip()
    assert key not in raw

    # The payload is sealed (AES-GCM) with the account's key, wrapped under the vault key:
    # only that chain opens it.
    assert "Hélène Pâquerette".encode() in sqlite_record(store.path, Vault([key]), "acc-1", "rue")
    with pytest.raises(VaultError, match="cannot decrypt"):
        sqlite_record(store.path, Vault([Fernet.generate_key()]), "acc-1", "rue")
    with sqlite3.connect(store.path) as db:  # a changed byte fails the tag
        (payload,) = db.execute(
            "SELECT payload FROM orders WHERE amazon_order_id = 'rue'"
        ).fetchone()
        tampered = payload[:-1] + bytes((payload[-1] ^ 1,))
        db.execute("UPDATE orders SET payload = ? WHERE amazon_order_id = 'rue'", (tampered,))
    db.close()
    with pytest.raises(VaultError, match="cannot decrypt"):
        sqlite_record(store.path, Vault([key]), "acc-1", "rue")


def test_payloads_of_older_stores_zlib_in_fernet_are_sealed_with_account_keys_at_open(
    tmp_path: Path, clock: Clock
) -> None:
    orders = [make_order(f"302-{n:07d}-0000000") for n in range(3)]
    with Store.open(tmp_path, env={}, clock=clock) as store:
        store.add_account(make_account())
        for order in orders:
            store.upsert_order("acc-1", order)
    key = (tmp_path / KEY_FILE).read_bytes().strip()
    vault_key_id = Vault([key]).key_id
    plain = {
        order.amazon_order_id: sqlite_record(
            tmp_path / DB_FILE, Vault([key]), "acc-1", order.amazon_order_id
        )
        for order in orders
    }
    with sqlite3.connect(tmp_path / DB_FILE) as db:  # as the oldest stores kept their records
        for order_id, record in plain.items():
            legacy = base64.urlsafe_b64decode(Fernet(key).encrypt(zlib.compress(record, 1)))
            db.execute(
                "UPDATE orders SET payload = ?, key_id = ? WHERE amazon_order_id = ?",
                (legacy, vault_key_id, order_id),
            )
        db.execute("DELETE FROM account_keys")
    db.close()

    vault = Vault.open(tmp_path, env={})
    with Store(tmp_path / DB_FILE, vault, clock=clock) as store:  # seals them anew at open
        assert store.list_orders() == orders
        assert store.upsert_order("acc-1", orders[0]) == "unchanged"
        vault.add_new_primary_key()
        assert store.rotate_key(vault) == 2  # the secrets and the account's key; no record
        vault.drop_old_keys()
    with Store.open(tmp_path, env={}) as store:
        assert store.list_orders() == orders
    with sqlite3.connect(tmp_path / DB_FILE) as db:
        rows = db.execute("SELECT payload, key_id FROM orders").fetchall()
    db.close()
    assert all(payload[:1] == b"\x03" and key_id.startswith("k") for payload, key_id in rows)


# --------------------------------------------------------------------------------------------
# Host services


class SyncHost(HostAdapter):
    """A host completes the adapter with its plugin manager's address mapping."""

    def map_address(
        self,
        *,
        row: Mapping[str, str | None],
        kind: Literal["billing", "shipping"],
        account: Account,
    ) -> Address | None:
        return None


def test_host_adapter_serves_a_sync(store: Store) -> None:
    seen: list[Progress] = []
    cancel = threading.Event()
    host: HostServices = SyncHost(store, on_progress=seen.append, cancel_event=cancel)
    assert host.upsert_order("acc-1", make_order()) == "created"
    assert host.upsert_order("acc-1", make_order()) == "unchanged"
    assert host.get_order("acc-1", "302-0000001-0000001") == make_order()
    host.set_state("acc-1", "cursor", "c")
    assert host.get_state("acc-1", "cursor") == "c"
    host.record_problems("acc-1", [Problem("bad", "302-1", row=3)])
    assert store.list_problems("acc-1") == [Problem("bad", "302-1", row=3)]
    host.report_progress(Progress("acc-1", "importing", "1 of 2", 1, 2))
    assert seen == [Progress("acc-1", "importing", "1 of 2", 1, 2)]
    assert host.cancel_requested("acc-1") is False
    cancel.set()
    assert host.cancel_requested("acc-1") is True
    plain: HostServices = SyncHost(store)
    plain.report_progress(Progress("acc-1", "done", "ok"))
    assert plain.cancel_requested("acc-1") is False


# --------------------------------------------------------------------------------------------
# Staged orders: a sync's orders are committed in batches


def _committed_ids(store: Store) -> set[str]:
    """The order ids another connection (another process) sees."""
    with sqlite3.connect(store.path) as db:
        ids = {row[0] for row in db.execute("SELECT amazon_order_id FROM orders")}
    db.close()
    return ids


def _committed_state(store: Store, key: str) -> str | None:
    with sqlite3.connect(store.path) as db:
        row = db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
    db.close()
    return None if row is None else str(row[0])


def test_a_sync_s_orders_are_committed_before_its_cursor(store: Store, clock: Clock) -> None:
    host = SyncHost(store)
    store.upsert_order("acc-1", make_order("known"))
    shipped = make_order("known", OrderStatus.SHIPPED)
    assert host.upsert_order("acc-1", make_order("new-1")) == "created"
    assert host.upsert_order("acc-1", make_order("known")) == "unchanged"
    assert host.upsert_order("acc-1", shipped) == "updated"
    assert host.upsert_order("acc-1", shipped) == "unchanged"  # against the staged one
    assert host.upsert_order("acc-1", make_order("new-2")) == "created"
    assert _committed_ids(store) == {"known"}  # staged, not yet committed
    assert host.get_order("acc-1", "known") == shipped  # the sync sees what it handed over
    assert host.get_order("acc-1", "new-2") == make_order("new-2")

    host.set_state("acc-1", "cursor", "2026-11-20T12:00:00+00:00")
    assert _committed_ids(store) == {"known", "new-1", "new-2"}
    assert _committed_state(store, "cursor") == "2026-11-20T12:00:00+00:00"
    assert [o.amazon_order_id for o in store.list_orders()] == ["known", "new-1", "new-2"]
    assert store.get_order("acc-1", "known") == shipped


def test_staged_orders_commit_in_batches_and_before_any_other_use(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(orders_module, "STAGE_ORDERS", 3)
    host = SyncHost(store)
    for n in range(4):
        host.upsert_order("acc-1", make_order(f"302-{n}"))
    assert _committed_ids(store) == {"302-0", "302-1", "302-2"}  # one batch of three
    host.record_problems("acc-1", [])
    assert _committed_ids(store) == {"302-0", "302-1", "302-2", "302-3"}

    host.upsert_order("acc-1", make_order("302-4"))
    assert len(store.list_orders()) == 5  # a listing commits first
    host.upsert_order("acc-1", make_order("302-5"))
    store.close()
    assert "302-5" in _committed_ids(store)


def _checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "hyreka-store-checkpoint"]


def test_a_large_commit_is_checkpointed_in_the_background(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(orders_module, "STAGE_ORDERS", 50)
    monkeypatch.setattr(orders_module, "CHECKPOINT_AFTER", 50)
    host = SyncHost(store)
    assert not _checkpoint_threads()  # none while nothing large was written
    for n in range(49):
        host.upsert_order("acc-1", make_order(f"302-{n}"))
    host.record_problems("acc-1", [])  # commits 49: below CHECKPOINT_AFTER
    assert not _checkpoint_threads()
    small = store.path.stat().st_size  # the schema: the orders are still in the WAL
    for n in range(49, 99):
        host.upsert_order("acc-1", make_order(f"302-{n}"))  # the 50th commits them
    deadline = time.monotonic() + 10
    while store.path.stat().st_size == small and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store.path.stat().st_size > small  # the thread copied the WAL into the database
    assert len(_checkpoint_threads()) == 1
    store.close()
    assert not _checkpoint_threads()  # closing the store ends the thread
    with Store.open(tmp_path, env={}) as again:
        assert len(again.list_orders()) == 99


def test_a_checkpointer_that_cannot_open_the_database_only_warns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checkpointer = Checkpointer(tmp_path / "gone" / DB_FILE)
    checkpointer.nudge()
    checkpointer.close()
    assert checkpointer.checkpoints == 0
    assert "no background checkpoints: OperationalError" in caplog.text
    assert not _checkpoint_threads()


def test_staged_orders_wait_at_most_the_stage_time(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(orders_module, "STAGE_SECONDS", 0.0)
    SyncHost(store).upsert_order("acc-1", make_order())
    assert _committed_ids(store) == {"302-0000001-0000001"}


def test_a_staged_order_purged_meanwhile_by_another_process_stays_purged(
    tmp_path: Path, store: Store
) -> None:
    old = T0 - timedelta(days=31)
    order = make_order("old-shipped", OrderStatus.SHIPPED, last_updated=old)
    store.upsert_order("acc-1", order)
    again = dataclasses.replace(order, buyer_email="new@marketplace.amazon.de")
    assert SyncHost(store).upsert_order("acc-1", again) == "updated"
    with Store.open(tmp_path, env={}) as other:
        assert other.purge_personal_data(now=T0) == ["old-shipped"]
    store.set_state("acc-1", "cursor", "c")
    stored = store.get_order("acc-1", "old-shipped")
    assert stored is not None
    assert (stored.buyer_email, stored.billing_address) == (
        None,
        Address(None, (), None, None, "DE"),
    )


def test_staging_for_an_unknown_account_fails_at_once(store: Store) -> None:
    with pytest.raises(AccountNotFoundError, match="acc-9"):
        SyncHost(store).upsert_order("acc-9", make_order())
    store.remove_account("acc-1")
    with pytest.raises(AccountNotFoundError, match="acc-1"):
        SyncHost(store).upsert_order("acc-1", make_order())


def test_an_order_stored_elsewhere_after_the_sync_looked_is_updated_once(
    tmp_path: Path, store: Store
) -> None:
    host = SyncHost(store)
    assert host.get_order("acc-1", "302-0000001-0000001") is None
    with Store.open(tmp_path, env={}) as other:  # e.g. an import-report in another process
        other.upsert_order("acc-1", make_order(status=OrderStatus.SHIPPED))
    host.upsert_order("acc-1", make_order())
    host.set_state("acc-1", "cursor", "c")
    assert store.list_orders() == [make_order()]


def test_a_known_order_looked_up_by_the_sync_is_read_once(store: Store) -> None:
    store.upsert_order("acc-1", make_order())
    host = SyncHost(store)
    assert host.get_order("acc-1", "302-0000001-0000001") == make_order()
    queries: list[str] = []
    db = store._db
    assert isinstance(db, sqlite3.Connection)
    db.set_trace_callback(queries.append)
    assert host.upsert_order("acc-1", make_order()) == "unchanged"
    db.set_trace_callback(None)
    shipped = make_order(status=OrderStatus.SHIPPED)
    assert host.get_order("acc-1", "302-0000001-0000001") == make_order()
    db.set_trace_callback(queries.append)
    assert host.upsert_order("acc-1", shipped) == "updated"
    db.set_trace_callback(None)
    assert not [q for q in queries if "FROM orders" in q]  # the look-ups' rows were enough
    host.set_state("acc-1", "cursor", "c")
    assert store.list_orders() == [shipped]


def test_a_known_order_changed_elsewhere_after_the_sync_looked_is_written_anew(
    tmp_path: Path, store: Store
) -> None:
    store.upsert_order("acc-1", make_order())
    host = SyncHost(store)
    assert host.get_order("acc-1", "302-0000001-0000001") == make_order()
    cancelled = make_order(status=OrderStatus.CANCELLED)
    with Store.open(tmp_path, env={}) as other:  # e.g. an import-report in another process
        other.upsert_order("acc-1", cancelled)
    shipped = make_order(status=OrderStatus.SHIPPED)
    assert host.upsert_order("acc-1", shipped) == "updated"
    host.set_state("acc-1", "cursor", "c")  # the commit finds the row changed: upserts anew
    assert store.list_orders() == [shipped]


@pytest.mark.parametrize("known_ids", [50_000, 1])
def test_a_sync_s_look_ups_answer_from_the_ids_read_once(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch, known_ids: int
) -> None:
    """Up to KNOWN_IDS stored ids are read at the first look-up; beyond, one query each."""
    monkeypatch.setattr(adapter_module, "KNOWN_IDS", known_ids)
    monkeypatch.setattr(orders_module, "STAGE_ORDERS", 2)
    store.upsert_order("acc-1", make_order("known-1"))
    store.upsert_order("acc-1", make_order("known-2"))
    host = SyncHost(store)
    assert host.get_order("acc-1", "known-1") == make_order("known-1")
    assert host.get_order("acc-1", "new-1") is None
    for n in range(3):  # the first two are committed as a batch, the third stays staged
        assert host.upsert_order("acc-1", make_order(f"new-{n}")) == "created"
    assert _committed_ids(store) == {"known-1", "known-2", "new-0", "new-1"}
    for n in range(3):  # staged or committed by this sync: found
        assert host.get_order("acc-1", f"new-{n}") == make_order(f"new-{n}")
    assert host.get_order("acc-1", "known-2") == make_order("known-2")
    with Store.open(tmp_path, env={}) as other:  # another process stores one meanwhile
        other.upsert_order("acc-1", make_order("elsewhere", OrderStatus.SHIPPED))
    if known_ids > 2:  # answered from the ids read before: the commit writes over it
        assert host.get_order("acc-1", "elsewhere") is None
        assert host.upsert_order("acc-1", make_order("elsewhere")) == "created"
        host.set_state("acc-1", "cursor", "c")
        assert store.get_order("acc-1", "elsewhere") == make_order("elsewhere")
    else:  # too many ids to keep: asked each time
        assert host.get_order("acc-1", "elsewhere") == make_order("elsewhere", OrderStatus.SHIPPED)


def test_order_payload_is_the_json_of_as_record_byte_for_byte() -> None:
    """The payload encoder skips the dicts but writes what ``as_record`` JSON would: stored
    payloads and their MACs stay the same across versions (no "updated" after an upgrade)."""
    odd = 'Zoë "Quote" \\ back\tslash\n\x00\u2028 😀'
    full = make_order(name=odd, street="Straße\x7f")
    bare = Order(
        amazon_order_id="028-0000001-0000001",
        status=OrderStatus.PENDING,
        marketplace_id=None,
        sales_channel=None,
        fulfillment_channel=None,
        currency=None,
        purchase_date=None,
        lines=(),
        billing_address=None,
        shipping_address=Address(None, (), None, None, None),
        last_updated=None,
        billing_address_missing=True,
    )
    odd_line = OrderLine("007", None, odd, 3, Decimal("1E+2"), item_tax=Decimal("-0.00"))
    for order in (full, bare, dataclasses.replace(full, lines=(odd_line,))):
        expected = json.dumps(order.as_record(), ensure_ascii=False, separators=(",", ":"))
        assert order_json(order) == expected.encode("utf-8")
        assert Order.from_dict(json.loads(order_json(order))) == order


AMOUNTS = ("0", "-0", "-0.00", "19.90", "1E+2", "1.5E-7", "0E-8", "0.000001", "1234567.891", "-5")


def test_an_order_record_is_its_payload_and_its_plain_columns() -> None:
    """``order_record`` formats each date and amount once; its payload is ``order_json``'s and
    its columns are what the store's plain columns hold: ``ts`` dates (UTC, microseconds),
    the total as ``format(total, "f")``, codes only in their ISO shape."""
    berlin = timezone(timedelta(hours=1))
    times = (
        datetime(2026, 11, 19, 9, 30, tzinfo=UTC),
        datetime(2026, 11, 19, 9, 30, 0, 120, tzinfo=UTC),
        datetime(2026, 11, 19, 10, 30, tzinfo=berlin),
        datetime(2026, 11, 19, 10, 30, 5, 999999, tzinfo=berlin),
        datetime.fromisoformat("2026-11-19T09:30:00Z"),
        None,
    )
    base = make_order()
    for n, when in enumerate(times):
        amount = Decimal(AMOUNTS[n % len(AMOUNTS)])
        line = OrderLine("1", "S", "T", 1, amount, item_tax=Decimal(AMOUNTS[-n]))
        order = dataclasses.replace(
            base, purchase_date=when, last_updated=times[-1 - n], lines=(*base.lines, line)
        )
        payload, columns = order_record(order)
        assert payload == order_json(order)
        purchase, updated = order.purchase_date, order.last_updated
        assert columns[4] == (ts(purchase) if purchase else None)
        assert columns[5] == (ts(updated) if updated else None)
        assert columns[6] == format(order.total, "f")
    for text in AMOUNTS:  # amounts (the total among them) are written as format(x, "f") does
        line = OrderLine("1", "S", "T", 1, Decimal(text))
        order = dataclasses.replace(base, lines=(line,), currency="eur")
        payload, columns = order_record(order)
        assert json.loads(payload)["lines"][0]["item_price"] == format(Decimal(text), "f")
        assert columns[6] == format(order.total, "f")
        assert columns[3] is None  # not an ISO currency code: not in a plain column
    unpriced = dataclasses.replace(base, lines=(OrderLine("1", "S", "T", 1, None),))
    payload, columns = order_record(unpriced)
    assert json.loads(payload)["prices_missing"] is True
    assert columns[6] == ""
