"""Attacks on the store: changed rows, swapped blobs, deleted and purged data left
readable, open orders kept forever, a key rotated under a running poller."""

from __future__ import annotations

import http.server
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from helpers.accounts import simulator_account
from helpers.records import BUYER_NAME, make_account, make_order

from hyreka_plugin_amazon.contract import OrderStatus
from hyreka_plugin_amazon.refhost.background.poller import Poller
from hyreka_plugin_amazon.refhost.cli.main import main
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.safety.vault import KEY_FILE, Vault, VaultError
from hyreka_plugin_amazon.refhost.store import DB_FILE, Store
from hyreka_plugin_amazon.refhost.store.errors import AccountTamperedError, WalNotClearedError
from hyreka_plugin_amazon.simulator import Simulator

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


class _Catcher(http.server.BaseHTTPRequestHandler):
    bodies: ClassVar[list[bytes]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        type(self).bodies.append(self.rfile.read(length))
        self.send_response(400)
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def thief() -> Iterator[tuple[str, list[bytes]]]:
    """An attacker's server on 127.0.0.1 that records what is posted to it."""
    _Catcher.bodies = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Catcher)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", _Catcher.bodies
    server.shutdown()
    server.server_close()


def _raw(folder: Path) -> bytes:
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.name.startswith(DB_FILE))


def _sealed_payloads(path: Path) -> list[bytes]:
    with sqlite3.connect(path) as db:
        payloads = [row[0] for row in db.execute("SELECT payload FROM orders")]
    db.close()
    return payloads


def test_a_changed_token_url_sends_no_secret_to_the_attacker(
    tmp_path: Path, simulator: Simulator, thief: tuple[str, list[bytes]]
) -> None:
    data = tmp_path / "data"
    url, bodies = thief
    with ReferenceHost(data, env={}) as host:
        host.store.add_account(simulator_account(simulator))
        assert host.test_login("sim").ok
    with sqlite3.connect(data / DB_FILE) as db:  # the attacker can write the database
        db.execute("UPDATE accounts SET token_url = ?, endpoint = ?", (f"{url}/token", url))
    db.close()
    with ReferenceHost(data, env={}) as host:
        with pytest.raises(AccountTamperedError, match="do not match") as caught:
            host.test_login("sim")
        assert "Atzr" not in str(caught.value)
    assert bodies == []  # nothing reached the attacker's server
    assert main(["test-login", "sim", "--data", str(data)]) == 2
    assert bodies == []


def test_a_swapped_secret_or_payload_does_not_move_to_another_row(tmp_path: Path) -> None:
    with Store.open(tmp_path, env={}) as store:
        store.add_account(make_account("acc-1", "one"))
        store.add_account(make_account("acc-2", "two"))
        store.upsert_order("acc-1", make_order("A-1"))
        store.upsert_order("acc-2", make_order("B-1", name="Somebody Else"))
    with sqlite3.connect(tmp_path / DB_FILE) as db:
        token = db.execute("SELECT refresh_token FROM accounts WHERE id = 'acc-1'").fetchone()[0]
        db.execute("UPDATE accounts SET refresh_token = ? WHERE id = 'acc-2'", (token,))
        payload = db.execute("SELECT payload FROM orders WHERE amazon_order_id = 'A-1'").fetchone()
        db.execute("UPDATE orders SET payload = ? WHERE amazon_order_id = 'B-1'", payload)
    db.close()
    with Store.open(tmp_path, env={}) as store:
        assert store.get_account("one").refresh_token.reveal()  # the own row still reads
        with pytest.raises(AccountTamperedError):
            store.get_account("two")
        assert store.get_order("acc-1", "A-1") is not None
        with pytest.raises(VaultError, match="cannot decrypt"):
            store.get_order("acc-2", "B-1")


def test_orders_of_a_removed_account_leave_no_readable_copy(tmp_path: Path) -> None:
    with Store.open(tmp_path, env={}) as store:
        store.add_account(make_account("acc-1", "gone"))
        store.add_account(make_account("acc-2", "stays"))
        for n in range(300):
            store.upsert_order("acc-1", make_order(f"G-{n:04d}"))
        store.upsert_order("acc-2", make_order("S-0001"))
        removed = _sealed_payloads(store.path)[:300]
        store.remove_account("gone")
        raw = _raw(tmp_path)
        survivors = [blob for blob in removed if blob[-40:] in raw]
        assert survivors == []  # with the key, nothing of them could be decrypted
        assert store.get_order("acc-2", "S-0001") is not None


def test_purge_says_so_when_a_reader_keeps_the_old_data_in_the_wal(tmp_path: Path) -> None:
    with Store.open(tmp_path, env={}) as store:
        store.add_account(make_account())
        for n in range(20):
            store.upsert_order(
                "acc-1",
                make_order(
                    f"P-{n:03d}", OrderStatus.SHIPPED, last_updated=NOW - timedelta(days=60)
                ),
            )
        before = _sealed_payloads(store.path)
        store.checkpoint_wait = 0.2
        reader = sqlite3.connect(store.path, isolation_level=None)  # as `run` keeps one
        reader.execute("BEGIN")
        reader.execute("SELECT count(*) FROM orders").fetchone()
        with pytest.raises(WalNotClearedError, match="run `hyreka-amazon purge` again") as caught:
            store.purge_personal_data(now=NOW)
        assert caught.value.count == 20
        reader.execute("COMMIT")
        reader.close()
        assert store.purge_personal_data(now=NOW) == []  # nothing left to anonymise, WAL emptied
        raw = _raw(tmp_path)
        assert [blob for blob in before if blob[-40:] in raw] == []
        assert BUYER_NAME.encode() not in raw


def test_orders_that_never_close_lose_their_personal_data_after_the_backstop(
    tmp_path: Path,
) -> None:
    with Store.open(tmp_path, env={}) as store:
        store.add_account(make_account())
        store.upsert_order("acc-1", make_order("OLD", last_updated=NOW - timedelta(days=400)))
        store.upsert_order("acc-1", make_order("NEW", last_updated=NOW - timedelta(days=5)))
        assert store.purge_personal_data(now=NOW) == ["OLD"]
        old = store.get_order("acc-1", "OLD")
        assert old is not None
        assert old.billing_address is not None
        assert old.billing_address.name is None
        assert old.buyer_email is None
        assert old.status is OrderStatus.OPEN  # kept, and flagged:
        assert store.stale_purged_order_ids() == ["OLD"]
        new = store.get_order("acc-1", "NEW")
        assert new is not None
        assert new.buyer_email is not None


def test_the_poller_follows_a_key_rotation_and_shows_failures(
    tmp_path: Path, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HYREKA_AMAZON_KEY", raising=False)
    data = tmp_path / "data"
    with ReferenceHost(data, env={}) as host:
        host.store.add_account(simulator_account(simulator))
        poller = Poller(host, jitter_s=0)
        poller.start(paused=True)
        try:
            first = poller.run_account("sim")
            assert first is not None
            assert first.ok
            assert main(["rotate-key", "--data", str(data)]) == 0  # while `run` is active
            after = poller.run_account("sim")
            assert after is not None
            assert after.ok, after.message
            # A key file that cannot read the store: the job fails, and status says so.
            (data / KEY_FILE).write_text(Vault.generate_key() + "\n")
            failed = poller.run_account("sim")
            assert failed is not None
            assert not failed.ok
            assert failed.code == "sync.error"
            runs = host.store.list_runs("sim", limit=1)
            assert runs[0].ok is False
            assert runs[0].code == "sync.error"
        finally:
            poller.stop(timeout_s=5)
