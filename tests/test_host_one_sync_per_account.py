"""One sync per account at a time: a second press while a sync runs is refused, not doubled."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
import requests
from helpers.gate import WAIT_S, Gate

from hyreka_plugin_amazon.contract import Account, SyncResult
from hyreka_plugin_amazon.refhost.background.poller import FinishedSync, Poller
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.i18n import texts
from hyreka_plugin_amazon.simulator import Simulator


@pytest.fixture
def gate(refhost: ReferenceHost) -> Iterator[Gate]:
    plugin = Gate()
    refhost.plugins.pm.register(plugin)
    yield plugin
    plugin.opened.set()
    refhost.plugins.pm.unregister(plugin)


def amazon_calls(sim: Simulator) -> int:
    stats = requests.get(f"{sim.url}/_simulator/stats", timeout=5).json()["sellers"]
    return sum(op["calls"] for ops in stats.values() for op in ops.values())


def run_in_thread(refhost: ReferenceHost, name: str) -> tuple[threading.Thread, list[SyncResult]]:
    results: list[SyncResult] = []
    thread = threading.Thread(
        target=lambda: results.append(refhost.sync(name, trigger="schedule")), daemon=True
    )
    thread.start()
    return thread, results


def test_a_manual_sync_during_a_running_background_sync_is_refused_without_asking_amazon(
    simulator: Simulator, refhost: ReferenceHost, account: Account, gate: Gate
) -> None:
    finished: list[FinishedSync] = []
    poller = Poller(refhost, jitter_s=0, on_finished=finished.append)
    poller.start()  # the background sync of the account starts at once
    try:
        assert gate.entered.wait(WAIT_S)
        calls = amazon_calls(simulator)

        pressed = refhost.sync(account.name)  # "Synchronisieren" while the background sync runs

        assert (pressed.ok, pressed.code) == (False, "sync.busy")
        assert pressed.message == texts.translate("sync.busy", account.locale)
        assert amazon_calls(simulator) == calls
        gate.opened.set()
        assert poller.join(WAIT_S)
    finally:
        assert poller.stop(timeout_s=WAIT_S)
    assert [f.result.ok for f in finished] == [True]
    runs = refhost.store.list_runs(account.id)
    assert [(r.trigger, r.ok) for r in runs] == [("schedule", True)]  # one sync, not two
    assert refhost.locks.holder(account.id) is None
    again = refhost.sync(account.name)  # the lease is free again
    assert again.ok, again.message


@pytest.mark.slow
def test_the_lease_holds_across_host_processes_on_one_database(
    simulator: Simulator,
    refhost: ReferenceHost,
    account: Account,
    gate: Gate,
    host_env: dict[str, str],
) -> None:
    data = refhost.data_dir
    env = {**os.environ, **host_env, "HYREKA_LANG": "en"}

    # this process syncs; a second process's "sync" is refused
    background, results = run_in_thread(refhost, account.name)
    assert gate.entered.wait(WAIT_S)
    calls = amazon_calls(simulator)
    cli = [sys.executable, "-m", "hyreka_plugin_amazon.refhost.cli.main"]
    other = subprocess.run(
        [*cli, "sync", account.name, "--data", str(data)],
        env=env,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
    )
    assert other.returncode == 1, other.stderr
    assert texts.translate("sync.busy", "en") in other.stdout
    assert amazon_calls(simulator) == calls
    gate.opened.set()
    background.join(WAIT_S)
    assert results[0].ok

    # the other process syncs (held at its first address); this one is refused
    with subprocess.Popen(
        [sys.executable, "-c", HOLDING_HOST, str(data), account.name],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as holder:
        try:
            assert holder.stdout is not None
            assert holder.stdin is not None
            assert holder.stdout.readline().strip() == "holding"
            calls = amazon_calls(simulator)
            pressed = refhost.sync(account.name)
            assert pressed.code == "sync.busy"
            assert amazon_calls(simulator) == calls
            holder.stdin.write("go\n")
            holder.stdin.flush()
            assert holder.stdout.readline().strip() == "sync.ok"
            assert holder.wait(WAIT_S) == 0
        finally:
            if holder.poll() is None:
                holder.kill()
    runs = refhost.store.list_runs(account.id)
    assert [r.ok for r in runs] == [True, True]  # one per process, never side by side
    assert runs[1].finished_at is not None
    assert runs[1].finished_at <= runs[0].started_at


HOLDING_HOST = """
import os, sys
from pathlib import Path
from hyreka_plugin_amazon.hookspecs import hookimpl
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.background.poller import FinishedSync, Poller

class Hold:
    held = False

    @hookimpl(tryfirst=True)
    def map_address(self, row, kind, account):
        if not self.held:
            self.held = True
            print("holding", flush=True)
            sys.stdin.readline()
        return None

with ReferenceHost(Path(sys.argv[1]), env=os.environ) as host:
    host.plugins.pm.register(Hold())
    print(host.sync(sys.argv[2], trigger="schedule").code, flush=True)
"""
