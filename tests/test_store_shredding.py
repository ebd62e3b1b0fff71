"""Deletion by crypto-shredding: a removed account's and a purged order's old records stay
unreadable wherever copies of them remain, on SQLite and on a real PostgreSQL server whose
files (table files and ``pg_wal``) an attacker holding the vault key copies; stores made
before data keys are sealed anew when they open, losing nothing."""

from __future__ import annotations

import gzip
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from helpers.datakeys import sqlite_record
from helpers.postgres import PostgresServer, started_or_skipped
from helpers.records import BUYER_NAME, make_account, make_order

from hyreka_plugin_amazon.contract import OrderStatus
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV, Vault, VaultError
from hyreka_plugin_amazon.refhost.store import DB_FILE, SCHEMA_VERSION, Store
from hyreka_plugin_amazon.refhost.store.database import order_binding
from hyreka_plugin_amazon.refhost.store.datakeys import account_key_binding

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
FIXTURE = Path(__file__).parents[1] / "fixtures" / "store-schema1.sqlite3.gz"
# The vault key of that store (made for the test by the package before data keys, main 6de7e62):
# acc-1 "eins" with 30 open orders 302-..., acc-2 "zwei" with 5 shipped orders 303-...
FIXTURE_KEY = "n0k4R1jDhJx6z0Zl0CvYzq1J5b8n0S3K7wQ2m9R4t6E="
FIXTURE_ENV = {KEY_ENV: FIXTURE_KEY}


def _old_store(folder: Path) -> Path:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = folder / DB_FILE
    path.write_bytes(gzip.decompress(FIXTURE.read_bytes()))
    path.chmod(0o600)
    return path


def _legacy_rows(path: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT * FROM orders ORDER BY rowid").fetchall()
    db.close()
    return rows


# --------------------------------------------------------------------------------------------
# Stores made before data keys


def test_a_store_made_before_data_keys_is_sealed_anew_and_loses_nothing(tmp_path: Path) -> None:
    path = _old_store(tmp_path)
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM schema_version").fetchone() == (1,)
        legacy = {row[0] for row in db.execute("SELECT key_id FROM orders")}
    db.close()
    assert len(legacy) == 1  # the vault key's id
    assert not next(iter(legacy)).startswith("k")
    expected = [make_order(f"302-0000000-{n:07d}") for n in range(30)]

    with Store.open(tmp_path, env=FIXTURE_ENV) as store:
        assert store.list_orders(account_id="acc-1") == expected
        assert len(store.list_orders(account_id="acc-2")) == 5
        assert store.get_account("eins").refresh_token.reveal()
        # known, not new (rewritten once in the current form when its fields grew since)
        assert store.upsert_order("acc-1", expected[0]) in ("unchanged", "updated")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT version FROM schema_version").fetchone() == (SCHEMA_VERSION,)
        rows = db.execute("SELECT payload, key_id FROM orders").fetchall()
    db.close()
    assert all(payload[:1] == b"\x03" and key_id.startswith("k") for payload, key_id in rows)
    record = sqlite_record(path, Vault([FIXTURE_KEY.encode()]), "acc-1", "302-0000000-0000007")
    assert BUYER_NAME.encode() in record


class _PowerCut(Vault):
    decryptions_left = 10**9

    def decrypt(self, token: bytes, bound_to: bytes = b"") -> bytes:
        if self.decryptions_left == 0:
            raise RuntimeError("power cut")
        self.decryptions_left -= 1
        return super().decrypt(token, bound_to)


def test_sealing_an_old_store_anew_can_be_interrupted_anywhere(tmp_path: Path) -> None:
    path = _old_store(tmp_path)
    vault = _PowerCut([FIXTURE_KEY.encode()])
    vault.decryptions_left = 1 + 4 + 12  # the key check, two accounts' secrets, 12 records
    with pytest.raises(RuntimeError, match="power cut"):
        _InBatchesOfFive(path, vault)
    with sqlite3.connect(path) as db:
        done = db.execute("SELECT count(*) FROM orders WHERE key_id LIKE 'k%'").fetchone()[0]
    db.close()
    assert 0 < done < 35  # some batches committed, the rest still under the vault key
    with Store.open(tmp_path, env=FIXTURE_ENV) as store:  # reads both, and finishes
        assert len(store.list_orders()) == 35
        assert store.seal_records_with_account_keys() == 0
        assert store.list_orders(account_id="acc-1")[3] == make_order("302-0000000-0000003")


class _InBatchesOfFive(Store):
    seal_batch = 5


def test_a_postgresql_store_made_before_data_keys_is_sealed_anew(
    tmp_path: Path, postgres_url: str
) -> None:
    """The rows of the old store, as the old package wrote them, in a PostgreSQL database."""
    with Store(postgres_url, Vault([FIXTURE_KEY.encode()])):
        pass
    path = _old_store(tmp_path / "old")
    with sqlite3.connect(path) as old:
        old.row_factory = sqlite3.Row
        meta = old.execute("SELECT * FROM meta").fetchall()
        accounts = old.execute("SELECT * FROM accounts").fetchall()
        orders = old.execute("SELECT * FROM orders ORDER BY rowid").fetchall()
    old.close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("DELETE FROM meta")
        conn.execute("DELETE FROM accounts")  # and, cascading, the new account keys
        conn.execute("UPDATE schema_version SET version = 1")
        for table, rows in (("meta", meta), ("accounts", accounts), ("orders", orders)):
            for row in rows:
                values = {k: row[k] for k in row.keys()}  # noqa: SIM118 (a sqlite3.Row)
                if "billing_address_missing" in values:
                    values["billing_address_missing"] = bool(values["billing_address_missing"])
                columns = ", ".join(values)
                marks = ", ".join(f"%({k})s" for k in values)
                insert = f"INSERT INTO {table} ({columns}) VALUES ({marks})"  # noqa: S608
                conn.execute(insert.encode(), values)
    with Store.open(tmp_path, env=FIXTURE_ENV, database=postgres_url) as store:
        assert store.list_orders(account_id="acc-1") == [
            make_order(f"302-0000000-{n:07d}") for n in range(30)
        ]
    with psycopg.connect(postgres_url) as conn:
        keys = conn.execute("SELECT key_id FROM orders").fetchall()
        assert conn.execute("SELECT version FROM schema_version").fetchone() == (SCHEMA_VERSION,)
    assert len(keys) == 35
    assert all(row[0].startswith("k") for row in keys)


# --------------------------------------------------------------------------------------------
# PostgreSQL: an attacker with the vault key copies the server's files


@pytest.fixture(scope="module")
def postgres_server() -> Iterator[PostgresServer]:
    """The module's own server (for ``postgres_url`` too): its ``pg_wal`` holds what these
    tests wrote, not what every test before them wrote on the session's server."""
    server = started_or_skipped()
    try:
        yield server
    finally:
        server.stop()


def _files(server: PostgresServer, url: str) -> dict[str, bytes]:
    """The files of the database at ``url`` (``base/<oid>/``) and the server's ``pg_wal``."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT oid FROM pg_database WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    oid = row[0]
    data = server.folder / "data"
    found = [*(data / "base" / str(oid)).iterdir(), *(data / "pg_wal").iterdir()]
    return {str(p.relative_to(data)): _trimmed(p.read_bytes()) for p in found if p.is_file()}


def _trimmed(data: bytes) -> bytes:
    """``data`` without its run of trailing zeros but 128 bytes of it (PostgreSQL fills a WAL
    segment with zeros ahead of use): each search here, for at most 101 bytes that are not
    all zeros, finds exactly what it finds in the whole file, in about half the bytes."""
    return data[: len(data.rstrip(b"\0")) + 128]


def _found(blobs: list[bytes], files: dict[str, bytes]) -> list[bytes]:
    return [blob for blob in blobs if any(blob[-48:] in data for data in files.values())]


def _superuser(server: PostgresServer, *statements: str) -> None:
    with psycopg.connect(server.url(), autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement.encode())


@pytest.fixture
def wal_removed_when_old(postgres_server: PostgresServer) -> Iterator[None]:
    """PostgreSQL renames WAL segments it no longer needs for reuse (their old bytes stay until
    overwritten); with ``wal_recycle = off`` it deletes them, which a test can wait for."""
    _superuser(postgres_server, "ALTER SYSTEM SET wal_recycle = off", "SELECT pg_reload_conf()")
    yield
    _superuser(postgres_server, "ALTER SYSTEM RESET wal_recycle", "SELECT pg_reload_conf()")


def _leave_old_wal_behind(server: PostgresServer) -> None:
    for _ in range(3):
        _superuser(server, "SELECT pg_switch_wal()", "CHECKPOINT")


def _attack(
    vault: Vault,
    files: dict[str, bytes],
    url: str,
    account: tuple[str, str],
    sealed: dict[str, bytes],
) -> list[str]:
    """The orders of ``sealed`` (order id -> its record as it was stored) whose record an
    attacker with the vault key finds in ``files`` and opens.

    A record opens only with its account's key, which opens only with the vault key. So the
    attacker tries every account key still in the database, and every value in the files that
    looks wrapped under the vault key, as the key of ``account`` (the account's id and its
    key's id: both are in plain columns)."""
    account_id, _ = account
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT account_id, id, wrapped FROM account_keys").fetchall()
    keys = [
        vault.unwrap_key(wrapped, account_key_binding(owner, key_id))
        for owner, key_id, wrapped in rows
    ]
    # Wrapped under the vault key: version 2, its 8-byte id, a nonce, 64 bytes and a tag.
    marker = b"\x02" + bytes.fromhex(vault.key_id)
    for blob in {data[at : at + 101] for data in files.values() for at in _offsets(data, marker)}:
        try:
            keys.append(vault.unwrap_key(blob, account_key_binding(*account)))
        except VaultError:
            continue
    opened: list[str] = []
    for order_id, record in sealed.items():
        if not any(record[-48:] in data for data in files.values()):
            continue
        for key in keys:
            try:
                key.open(record, order_binding(account_id, order_id))
            except VaultError:
                continue
            opened.append(order_id)
            break
    return opened


def _offsets(data: bytes, marker: bytes) -> Iterator[int]:
    at = data.find(marker)
    while at != -1:
        yield at
        at = data.find(marker, at + 1)


def _state(url: str, account_id: str) -> tuple[dict[str, bytes], bytes, tuple[str, str]]:
    """The account's records (by order id), its wrapped key, (account id, key id)."""
    with psycopg.connect(url) as conn:
        records: dict[str, bytes] = dict(
            conn.execute(
                "SELECT amazon_order_id, payload FROM orders WHERE account_id = %s", (account_id,)
            ).fetchall()
        )
        row = conn.execute(
            "SELECT id, wrapped FROM account_keys WHERE account_id = %s", (account_id,)
        ).fetchone()
    assert row is not None
    key_id, account_key = row
    return records, account_key, (account_id, key_id)


@pytest.mark.slow
@pytest.mark.usefixtures("wal_removed_when_old")
def test_postgresql_a_removed_accounts_records_stay_on_disk_but_nothing_opens_them(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    vault = Vault([Vault.generate_key().encode()])
    with Store(postgres_url, vault) as store:
        store.add_account(make_account("acc-gone", "gone"))
        store.add_account(make_account("acc-stays", "stays"))
        for n in range(200):
            store.upsert_order("acc-gone", make_order(f"302-0000000-{n:07d}"))
        store.upsert_order("acc-stays", make_order("303-0000000-0000001"))
        records, account_key, account = _state(postgres_url, "acc-gone")
        _superuser(postgres_server, "CHECKPOINT")
        files = _files(postgres_server, postgres_url)
        assert len(_found(list(records.values()), files)) == 200  # the scan sees them
        assert len(_attack(vault, files, postgres_url, account, records)) == 200  # and opens

        assert store.remove_account("gone") is True
        _superuser(postgres_server, "CHECKPOINT")
        files = _files(postgres_server, postgres_url)
        tables = {name: blob for name, blob in files.items() if name.startswith("base")}
        # The records stay in the table file as dead tuples, and in the WAL...
        assert _found(list(records.values()), tables)
        # ...but the account's key left the table files (the key table was rewritten), and
        # no key left in the database or the table files opens them.
        assert _found([account_key], tables) == []
        assert _attack(vault, tables, postgres_url, account, records) == []

        # The WAL still holds the key's row as it was written: with the vault key, it opens
        # the records until PostgreSQL removes (or, recycling it, overwrites) that WAL; the
        # README says so.
        assert _found([account_key], files)
        assert _attack(vault, files, postgres_url, account, records)
        _leave_old_wal_behind(postgres_server)
        files = _files(postgres_server, postgres_url)
        assert _found(list(records.values()), files)  # dead tuples: still in the table file
        assert _found([account_key], files) == []
        assert _attack(vault, files, postgres_url, account, records) == []
        assert store.get_order("acc-stays", "303-0000000-0000001") is not None


@pytest.mark.slow
def test_postgresql_a_purge_leaves_old_records_until_vacuum_and_says_so(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    """What the README says of a purge on PostgreSQL: the old versions stay as dead tuples,
    sealed with the account's key (which goes only with the account): not complete."""
    vault = Vault([Vault.generate_key().encode()])
    with Store(postgres_url, vault) as store:
        store.add_account(make_account("acc-1", "shop"))
        old = NOW - timedelta(days=60)
        for n in range(10):
            order = make_order(f"302-0000000-{n:07d}", OrderStatus.SHIPPED, last_updated=old)
            store.upsert_order("acc-1", order)
        records, _, account = _state(postgres_url, "acc-1")
        assert len(store.purge_personal_data(now=NOW)) == 10
        assert store.purge_overwrites is False
        _superuser(postgres_server, "CHECKPOINT")
        files = _files(postgres_server, postgres_url)
        assert _attack(vault, files, postgres_url, account, records)  # until VACUUM and reuse
        store.remove_account("shop")
        tables = {n: b for n, b in _files(postgres_server, postgres_url).items() if "base" in n}
        assert _attack(vault, tables, postgres_url, account, records) == []


def test_sqlite_a_removed_accounts_key_and_records_leave_the_files(tmp_path: Path) -> None:
    with Store.open(tmp_path, env={}) as store:
        store.add_account(make_account("acc-1", "gone"))
        store.add_account(make_account("acc-2", "stays"))
        for n in range(50):
            store.upsert_order("acc-1", make_order(f"302-0000000-{n:07d}"))
        with sqlite3.connect(store.path) as db:
            (account_key,) = db.execute(
                "SELECT wrapped FROM account_keys WHERE account_id = 'acc-1'"
            ).fetchone()
            records = [row[0] for row in db.execute("SELECT payload FROM orders")]
        db.close()
        assert store.remove_account("gone") is True
        raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith(DB_FILE))
        assert account_key[-48:] not in raw
        assert [r for r in records if r[-48:] in raw] == []


def test_orders_staged_while_their_account_was_removed_and_added_again_get_its_new_key(
    tmp_path: Path,
) -> None:
    with Store.open(tmp_path, env={}) as first, Store.open(tmp_path, env={}) as second:
        first.add_account(make_account())
        order = make_order("302-0000000-0000001")
        assert first.stage_order("acc-1", order) == "created"  # sealed at the commit
        second.remove_account("acc-1")  # another process: the account and its key go...
        second.add_account(make_account())  # ...and it comes back with a new key
        first.set_state("acc-1", "cursor", "c")  # commits what was staged
        assert second.get_order("acc-1", order.amazon_order_id) == order
        assert second.upsert_order("acc-1", order) == "unchanged"  # its MAC: the new key's
