"""Fifty accounts polled for a simulated day, the scheduler driven in the simulator's time."""

from __future__ import annotations

import collections
import dataclasses
import functools
import itertools
import threading
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers.accounts import seller_account
from helpers.sim import add_fault, open_for_seller

from hyreka_plugin_amazon.contract import Account, HostServices, SyncResult
from hyreka_plugin_amazon.refhost.background.poller import FinishedSync, Poller
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.manager import PluginHost
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.spapi.client import SpApiClient

ACCOUNTS = 50
DAY = timedelta(days=1)
TICK = timedelta(minutes=2)  # how often the driver looks for due jobs
POLL_MINUTES = ("30", "60", "60", "60", "120")  # per account, in turn (default: 15)
DOWN = ("shop00", "shop01", "shop02")  # Amazon answers 503 for these from 04:00 to 09:00
DOWN_FROM, DOWN_UNTIL = timedelta(hours=4), timedelta(hours=9)
REVOKED = "shop03"  # starts with a wrong refresh token; the seller fixes it at 06:00
FIXED_AT = timedelta(hours=6)


class CountingPlugins(PluginHost):
    """The host's plugins, counting the syncs of each account that run at the same moment."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self.running: collections.Counter[str] = collections.Counter()
        self.most_at_once: collections.Counter[str] = collections.Counter()

    def sync_orders(self, account: Account, host: HostServices) -> SyncResult:
        with self._lock:
            self.running[account.id] += 1
            self.most_at_once[account.id] = max(
                self.most_at_once[account.id], self.running[account.id]
            )
        try:
            return super().sync_orders(account, host)
        finally:
            with self._lock:
                self.running[account.id] -= 1


def run_due_jobs(poller: Poller, now: datetime, pool: ThreadPoolExecutor) -> dict[str, Future[Any]]:
    """What APScheduler's loop does at ``now``: each due job once (coalesced), next run set."""
    started = {}
    for job in poller.scheduler.get_jobs():
        if job.next_run_time is None or job.next_run_time > now:
            continue
        last = job.next_run_time
        while (following := job.trigger.get_next_fire_time(last, now)) <= now:
            last = following
        job.modify(next_run_time=following)
        name = job.args[0] if job.args else job.id
        started[name] = pool.submit(job.func, *job.args)
    return started


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    """A simulator whose clock stands still unless moved: by the test and the clients' waits."""
    with Simulator(
        orders=2, seed=23, marketplaces=("DE",), time_scale=0, report_delay_s=0, lifecycle=True
    ) as sim:
        yield sim


@pytest.mark.slow
def test_fifty_accounts_for_a_simulated_day(
    simulator: Simulator,
    tmp_path: Path,
    host_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clock = simulator.clock
    client_waits: list[float] = []

    def wait_in_simulated_time(seconds: float) -> None:
        client_waits.append(seconds)
        clock.advance(max(0.0, seconds))

    # the connector's rate limits and token expiry count in the simulator's time too
    monkeypatch.setattr(
        SpApiClient,
        "for_account",
        functools.partial(
            SpApiClient.for_account,
            sleep=wait_in_simulated_time,
            monotonic=lambda: clock.now().timestamp(),
        ),
    )
    sellers = {}
    accounts = {}
    for number in range(ACCOUNTS):
        name = f"shop{number:02d}"
        sellers[name] = simulator.add_seller(marketplaces=["DE", "FR"], orders=6)
        poll_minutes = "15" if name in DOWN else POLL_MINUTES[number % len(POLL_MINUTES)]
        accounts[name] = seller_account(
            simulator, sellers[name], name, poll_minutes=poll_minutes, poll_interval="0"
        )
    plugins = CountingPlugins()
    finished: list[FinishedSync] = []
    start = clock.now()

    with (
        ReferenceHost(tmp_path / "data", env=host_env, plugins=plugins) as host,
        ThreadPoolExecutor(max_workers=4) as pool,
    ):
        for name, account in accounts.items():
            if name == REVOKED:
                account = dataclasses.replace(account, refresh_token=Secret("Atzr|revoked"))
            host.store.add_account(account)
        poller = Poller(host, clock=clock.now, refresh_s=900, on_finished=finished.append)
        poller.start(paused=True)  # this test runs the due jobs, in simulated time
        faults: list[int] = []
        presses: list[Future[SyncResult]] = []
        tick = 0
        while clock.now() < start + DAY:
            elapsed = clock.now() - start
            if elapsed >= DOWN_FROM and not faults and elapsed < DOWN_UNTIL:
                for name in DOWN:
                    fault = add_fault(
                        simulator, "unavailable", seller_id=sellers[name].seller_id, rate=1.0
                    )
                    faults.append(fault["id"])
            if elapsed >= DOWN_UNTIL and faults:
                for fault_id in faults:
                    simulator.faults.clear(fault_id)
                faults.clear()
            if elapsed >= FIXED_AT and host.store.get_account(REVOKED) != accounts[REVOKED]:
                host.store.update_account(accounts[REVOKED])  # the seller authorised again
            jobs = run_due_jobs(poller, clock.now(), pool)
            pressable = [a for a in jobs if a in accounts and a not in DOWN and a != REVOKED]
            if pressable and tick % 3 == 0:  # "Synchronisieren" as a scheduled sync starts
                presses.append(pool.submit(host.sync, pressable[0]))
            wait(jobs.values())
            tick += 1
            target = start + tick * TICK
            if clock.now() < target:
                clock.advance((target - clock.now()).total_seconds())

        wait(presses)
        for name in accounts:  # a last round, so that everyone's orders stand as at the end
            result = poller.run_account(name)
            assert result is not None
            assert result.ok, (name, result.message)
        poller.stop()

        # never two syncs of one account at once, though the seller pressed during the day
        assert max(plugins.most_at_once.values()) == 1
        manual = [p.result() for p in presses]
        assert {r.code for r in manual} <= {"sync.ok", "sync.busy"}
        for name in accounts:
            runs = sorted(host.store.list_runs(name, limit=1000), key=lambda r: r.started_at)
            for earlier, later in itertools.pairwise(runs):
                assert earlier.finished_at is not None
                assert earlier.finished_at <= later.started_at

        # every account's orders are Amazon's
        for name, seller in sellers.items():
            truth = {o["amazon_order_id"]: o for o in simulator.ground_truth(seller.seller_id)}
            mine = {o.amazon_order_id: o.as_dict() for o in host.store.list_orders(account_id=name)}
            opened = {k for k, o in truth.items() if open_for_seller(o)}
            assert {k for k, o in mine.items() if o["status"] == "open"} == opened, name
            assert all(mine[k] == truth[k] for k in mine), name

        by_account: dict[str, list[FinishedSync]] = collections.defaultdict(list)
        for done in finished:
            by_account[done.account_id].append(done)
        scheduled_runs = len(finished)

        # the accounts Amazon failed backed off, doubling, and came back when it recovered
        for name in DOWN:
            syncs = by_account[name]
            failed = [d for d in syncs if not d.result.ok]
            assert [d.result.code for d in failed] == ["sync.unavailable"] * len(failed)
            assert [d.interval_minutes for d in failed] == [30, 60, 120, 240][: len(failed)]
            assert len(failed) >= 3
            for done, following in zip(failed, syncs[syncs.index(failed[0]) + 1 :], strict=False):
                gap = following.started - done.started
                assert gap >= timedelta(minutes=done.interval_minutes) - TICK, name
            recovered = syncs[syncs.index(failed[-1]) + 1]
            assert recovered.result.ok
            assert recovered.interval_minutes == 15
            assert start + DOWN_UNTIL <= recovered.started

        # the revoked account paused after one failure and resumed once it was fixed
        revoked = by_account[REVOKED]
        assert revoked[0].result.code == "sync.auth_failed"
        assert revoked[0].paused
        assert revoked[1].started >= start + FIXED_AT
        # found by the next account refresh (every 15 min), run within a minute after it
        assert revoked[1].started <= start + FIXED_AT + timedelta(minutes=16) + TICK
        assert all(d.result.ok for d in revoked[1:])

    # not one 429: the connector kept to Amazon's limits in every seller's buckets
    stats = requests.get(f"{simulator.url}/_simulator/stats", timeout=5).json()["sellers"]
    throttled = sum(op["throttled"] for ops in stats.values() for op in ops.values())
    calls = sum(op["calls"] for ops in stats.values() for op in ops.values())
    assert throttled == 0
    print(  # figures for the report (pytest -s)
        f"\n{scheduled_runs} scheduled syncs, {len(presses)} presses "
        f"({sum(r.code == 'sync.busy' for r in manual)} busy), {calls} SP-API calls, "
        f"{len(client_waits)} client waits ({sum(client_waits):.0f} s simulated)"
    )
