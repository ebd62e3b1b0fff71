"""Leases and fencing tokens.

7: a sync that stalled past its lease while another sync took over commits nothing more (its
staged orders are dropped, its cursor does not move): the fence is checked inside every commit.
8: a sync that takes over the lease of a killed sync says so in its result.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from helpers.accounts import simulator_account
from helpers.fault_harness import Harness, running

from hyreka_plugin_amazon.connector import CONNECTOR_ID
from hyreka_plugin_amazon.contract import Account, Problem, Progress, SyncResult
from hyreka_plugin_amazon.refhost.cli import main as cli
from hyreka_plugin_amazon.refhost.host import ReferenceHost, SyncHost
from hyreka_plugin_amazon.refhost.i18n import texts
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV
from hyreka_plugin_amazon.refhost.store import orderrecords
from hyreka_plugin_amazon.refhost.store.fencing import Fence, LeaseLostError
from hyreka_plugin_amazon.refhost.store.leases import AccountLocks, Lease, SqliteAccountLocks
from hyreka_plugin_amazon.refhost.store.leases_pg import PgAccountLocks
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.sync import CURSOR_KEY


@pytest.fixture
def harness(tmp_path: Path, host_env: dict[str, str]) -> Iterator[Harness]:
    with running(tmp_path / "data", host_env) as running_harness:
        yield running_harness


class StallingHost(SyncHost):
    """Stalls when the sync records its problems: every order staged, nothing committed."""

    def __init__(self, host: ReferenceHost, lease: Lease) -> None:
        super().__init__(host.store, host.plugins, lease=lease)
        self.stalled = threading.Event()
        self.resume = threading.Event()

    def record_problems(self, account_id: str, problems: Sequence[Problem]) -> None:
        self.stalled.set()
        assert self.resume.wait(30)
        super().record_problems(account_id, problems)


def later_locks(db_path: Path) -> AccountLocks:
    """Locks of a process whose clock is past every lease taken now (the stall outlasted it)."""
    return SqliteAccountLocks(db_path, clock=lambda: time.time() + 3600)


def test_a_stalled_sync_whose_lease_was_taken_over_commits_nothing(
    harness: Harness, tmp_path: Path, host_env: dict[str, str]
) -> None:
    h = harness
    lease_a = h.host.locks.acquire(h.account.id)
    assert lease_a is not None
    stalling = StallingHost(h.host, lease_a)
    results: list[SyncResult] = []
    a = threading.Thread(target=lambda: results.append(h.sync(stalling)))
    a.start()
    assert stalling.stalled.wait(30)
    staged_open = sorted(h.truth_open())
    assert staged_open
    for order_id in staged_open:  # Amazon ships them while A stalls
        h.sim.ship_order(order_id)
    h.sim.clock.advance(3700)

    with ReferenceHost(h.host.data_dir, env=host_env) as other:
        lease_b = later_locks(other.store.path).acquire(h.account.id)
        assert lease_b is not None
        with lease_b:
            result_b = h.sync(SyncHost(other.store, other.plugins, lease=lease_b))
            assert result_b.ok, result_b.message
            cursor_b = other.store.get_state(h.account.id, CURSOR_KEY)
            stalling.resume.set()
            a.join(30)
    lease_a.release()

    assert not results[0].ok
    assert "LeaseLostError" in results[0].message
    assert h.state(CURSOR_KEY) == cursor_b  # A's cursor never written over B's
    assert not h.host_open()  # none of A's staged open orders reopened a shipped one
    h.sim.clock.advance(3700)
    assert h.sync().ok
    h.assert_converged()


def test_writes_under_a_lost_fence_raise_and_change_nothing(harness: Harness) -> None:
    store = harness.host.store
    account_id = harness.account.id
    lease = harness.host.locks.acquire(account_id)
    assert lease is not None
    fence = Fence(account_id, lease.token)
    store.set_state(account_id, "k", "mine", fence=fence)
    taken = later_locks(store.path).acquire(account_id)
    assert taken is not None
    with pytest.raises(LeaseLostError, match="lost its lease"):
        store.set_state(account_id, "k", "stale", fence=fence)
    with pytest.raises(LeaseLostError):
        store.record_problems(account_id, [Problem("x", "1", 1)], fence=fence)
    assert store.get_state(account_id, "k") == "mine"
    assert store.list_problems(account_id) == []
    taken.release()
    lease.release()


HOLDER = (
    "import os, sys\n"
    "from pathlib import Path\n"
    "from hyreka_plugin_amazon.refhost.store.leases import SqliteAccountLocks\n"
    "SqliteAccountLocks(Path(sys.argv[1])).acquire(sys.argv[2])\n"
    "print(os.getpid(), flush=True)\n"
    "os._exit(9)  # killed while syncing: the lease is never released\n"
)


def test_a_sync_after_a_killed_sync_takes_over_and_says_so(
    refhost: ReferenceHost, account: Account
) -> None:
    child = subprocess.run(
        [sys.executable, "-c", HOLDER, str(refhost.store.path), account.id],
        capture_output=True,
        text=True,
        check=False,
    )
    assert child.returncode == 9
    pid = int(child.stdout.split()[0])
    assert refhost.locks.holder(account.id) is not None  # unexpired, of a dead process
    result = refhost.sync(account.name)
    assert result.ok, result.message
    assert result.warnings[0] == texts.translate("sync.taken_over", account.locale, pid=pid)
    assert str(pid) in result.warnings[0]


def test_rotate_key_after_a_killed_sync_takes_over_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    folder = tmp_path / "data"
    with ReferenceHost(folder, env={}) as host:
        host.store.add_account(
            Account(
                id="shop",
                name="shop",
                connector=CONNECTOR_ID,
                region="eu",
                marketplace_ids=("A1PA6795UKMFR9",),
                client_id="amzn1.application-oa2-client.x",
                client_secret=Secret("secret"),
                refresh_token=Secret("Atzr|token"),
            )
        )
        db = host.store.path
    child = subprocess.run(
        [sys.executable, "-c", HOLDER, str(db), "shop"], capture_output=True, text=True, check=False
    )
    assert child.returncode == 9
    pid = child.stdout.split()[0]
    assert cli.main(["rotate-key", "--data", str(folder)]) == 0
    out = capsys.readouterr().out
    assert f"took over the lease of a sync that ended without releasing it (process {pid})" in out


def test_a_rolled_back_sync_counts_in_its_history_only_the_orders_kept(
    tmp_path: Path,
    host_env: dict[str, str],
    simulator: Any,
    database: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue 24, item 8: the sync's lease is taken over while its orders wait for their
    commit; the commit drops them, and the history says so instead of "N created"."""
    monkeypatch.setattr(orderrecords, "STAGE_SECONDS", 3600.0)  # no commit before the steal
    with ReferenceHost(tmp_path / "data", env=host_env, database=database) as host:
        account = simulator_account(simulator)
        host.store.add_account(account)
        later = lambda: time.time() + 3600  # noqa: E731 - a process whose clock is past the lease
        locks: AccountLocks = (
            PgAccountLocks(host.store.url, clock=later)
            if host.store.url is not None
            else SqliteAccountLocks(host.store.path, clock=later)
        )
        taken: list[Lease | None] = []

        def take_over(progress: Progress) -> None:
            if progress.phase == "importing" and progress.done > 0 and not taken:
                taken.append(locks.acquire(account.id))

        result = host.sync(account.name, on_progress=take_over)
        assert taken
        assert taken[0] is not None
        taken[0].release()

        assert not result.ok
        [run] = host.store.list_runs(account.id)
        kept = len(host.store.list_orders(account_id=account.id))
        assert kept == 0  # every staged order was dropped
        assert (run.created, run.updated) == (kept, 0)
        assert (result.created, result.updated) == (0, 0)
