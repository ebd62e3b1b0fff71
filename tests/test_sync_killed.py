"""A sync killed in the middle of its import (SIGKILL, another process): the next converges.

The killed process is a reference host syncing through the plugin, on the same data folder
and simulator as this test. Its host maps addresses slowly (a hook sleeping a millisecond per
address), so the import of a thousand orders takes seconds; it is killed once a hundred are
stored, between or during commits, wherever it happens to be.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from helpers.accounts import simulator_account
from helpers.sim import open_for_seller

from hyreka_plugin_amazon.contract import Account, OrderStatus
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.store.leases import DEFAULT_TTL_S
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.sync import CURSOR_KEY, RETRY_FROM_KEY

NEW_ORDERS = 1000
KILL_AFTER = 100  # orders stored
WAIT_S = 60.0

SLOW_HOST = """
import os, sys, time
from pathlib import Path
from hyreka_plugin_amazon.hookspecs import hookimpl
from hyreka_plugin_amazon.refhost.host import ReferenceHost


class SlowAddresses:
    @hookimpl(tryfirst=True)
    def map_address(self, row, kind, account):
        time.sleep(0.001)  # e.g. a host validating each address
        return None  # the connector's own mapping follows


def progress(step):
    if step.phase == "downloading" and step.message == "Bestellbericht":  # in German
        print("importing", flush=True)


with ReferenceHost(Path(sys.argv[1]), env=os.environ) as host:
    host.plugins.pm.register(SlowAddresses())
    result = host.sync(sys.argv[2], on_progress=progress)
    print("finished", result.code, flush=True)
"""


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(orders=50, seed=11, time_scale=0, report_delay_s=0) as running:
        yield running


@pytest.fixture
def host(tmp_path: Path, host_env: dict[str, str]) -> Iterator[ReferenceHost]:
    with ReferenceHost(tmp_path / "data", env=host_env) as reference:
        yield reference


def stored_orders(db_path: Path) -> int:
    with closing(sqlite3.connect(db_path, timeout=30)) as db:
        count: int = db.execute("SELECT count(*) FROM orders").fetchone()[0]
    return count


def host_open(host: ReferenceHost, account: Account) -> dict[str, object]:
    orders = host.store.list_orders(account_id=account.id, status=OrderStatus.OPEN)
    return {o.amazon_order_id: o.as_dict() for o in orders}


@pytest.mark.slow
def test_sync_killed_while_importing_converges_next_time(
    sim: Simulator, host: ReferenceHost, host_env: dict[str, str]
) -> None:
    account = simulator_account(sim)
    host.store.add_account(account)
    assert host.sync(account.name).ok
    cursor = host.store.get_state(account.id, CURSOR_KEY)
    before = stored_orders(host.store.path)
    markets = ("DE", "FR", "IT", "ES", "UK")
    for n in range(NEW_ORDERS):
        sim.add_order(marketplace=markets[n % len(markets)])
    truth = {o["amazon_order_id"]: o for o in sim.ground_truth() if open_for_seller(o)}

    env = {**os.environ, **host_env}
    with subprocess.Popen(
        [sys.executable, "-c", SLOW_HOST, str(host.data_dir), account.name],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    ) as syncing:
        try:
            assert syncing.stdout is not None
            assert syncing.stdout.readline().strip() == "importing"
            deadline = time.monotonic() + WAIT_S
            while stored_orders(host.store.path) < before + KILL_AFTER:
                assert syncing.poll() is None, "the sync ended before it could be killed"
                assert time.monotonic() < deadline
                time.sleep(0.005)
            syncing.send_signal(signal.SIGKILL)
            assert syncing.wait(WAIT_S) == -signal.SIGKILL
            assert "finished" not in syncing.stdout.read()
        finally:
            if syncing.poll() is None:
                syncing.kill()

    stored = stored_orders(host.store.path)
    assert before + KILL_AFTER <= stored < before + NEW_ORDERS  # killed in the middle
    assert host.store.get_state(account.id, CURSOR_KEY) == cursor  # nothing handed over yet
    assert host.store.get_state(account.id, RETRY_FROM_KEY) is None
    (killed, first) = host.store.list_runs(account.id)
    assert (killed.finished_at, first.ok) == (None, True)
    partial = host_open(host, account)
    assert all(order == truth[order_id] for order_id, order in partial.items())  # whole

    # the dead process's lease expires (it cannot renew it): move the host's clock past it
    host.locks.clock = lambda: time.time() + DEFAULT_TTL_S + 1
    after = host.sync(account.name)
    assert after.ok, after.message
    assert after.created == len(truth) - len(partial)
    assert after.unchanged >= len(partial) - before  # what the killed sync stored stays
    assert host_open(host, account) == truth
    every = host.store.list_orders(account_id=account.id)
    assert len(every) == len({o.amazon_order_id for o in every}) == stored_orders(host.store.path)

    again = host.sync(account.name)
    assert (again.ok, again.created, again.updated) == (True, 0, 0)
