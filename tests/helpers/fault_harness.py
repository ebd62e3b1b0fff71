"""Syncs on the simulator's clock: a simulator, a reference host with one account, and a client
whose sleeps advance the simulator, so backoffs, polling and token expiry cost no wall time."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from helpers.accounts import simulator_account
from helpers.sim import open_for_seller
from hyreka_plugin_amazon.contract import Account, OrderStatus, SyncResult
from hyreka_plugin_amazon.refhost.host import ReferenceHost, SyncHost
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.spapi.client import SpApiClient
from hyreka_plugin_amazon.sync import sync_account

START = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
SETTINGS = {"poll_interval": "5", "max_poll_interval": "30", "report_deadline": "900"}
# Wall seconds. Generous enough that a loaded machine (a parallel test run, a 2-core CI)
# never times out an ordinary answer; slow_response faults answer a whole second later.
READ_TIMEOUT = 1.5


class SimTime:
    """``monotonic`` and ``sleep`` for the client, on the simulator's clock (time_scale 0)."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim
        self._origin = sim.clock.now()
        self.slept = 0.0

    def monotonic(self) -> float:
        return (self._sim.clock.now() - self._origin).total_seconds()

    def sleep(self, seconds: float) -> None:
        self.slept += seconds
        self._sim.clock.advance(max(0.0, seconds))


@dataclass
class Harness:
    """A simulator, a reference host with one account, and syncs on the simulator's clock."""

    sim: Simulator
    host: ReferenceHost
    account: Account
    time: SimTime
    results: list[SyncResult] = field(default_factory=list)

    def sync(self, services: SyncHost | None = None) -> SyncResult:
        account = self.host.store.get_account(self.account.name)
        services = services or SyncHost(self.host.store, self.host.plugins)
        client = SpApiClient.for_account(
            account,
            sleep=self.time.sleep,
            monotonic=self.time.monotonic,
            timeout=(2.0, READ_TIMEOUT),
        )
        result = sync_account(
            account,
            services,
            map_address=lambda row, kind: services.map_address(row=row, kind=kind, account=account),
            client=client,
            now=self.sim.clock.now,
        )
        self.results.append(result)
        return result

    def state(self, key: str) -> str | None:
        return self.host.store.get_state(self.account.id, key)

    def host_open(self) -> dict[str, dict[str, Any]]:
        orders = self.host.store.list_orders(account_id=self.account.id, status=OrderStatus.OPEN)
        return {o.amazon_order_id: o.as_dict() for o in orders}

    def truth(self) -> dict[str, dict[str, Any]]:
        return {o["amazon_order_id"]: o for o in self.sim.ground_truth()}

    def truth_open(self) -> dict[str, dict[str, Any]]:
        return {k: o for k, o in self.truth().items() if open_for_seller(o)}

    def assert_converged(self) -> None:
        """Open orders exactly Amazon's; every stored order once, with Amazon's status."""
        assert self.host_open() == self.truth_open()
        stored = self.host.store.list_orders(account_id=self.account.id)
        assert len(stored) == len({o.amazon_order_id for o in stored})
        truth = self.truth()
        assert {o.amazon_order_id: o.status.value for o in stored} == {
            o.amazon_order_id: truth[o.amazon_order_id]["status"] for o in stored
        }

    def assert_nothing_wrong(self) -> None:
        """Every open order the host holds is Amazon's, whole: lines, addresses, amounts
        (its status may lag behind Amazon until a sync gets through)."""
        truth = self.truth()
        for order_id, order in self.host_open().items():
            assert _content(order) == _content(truth[order_id]), order_id


def _content(order: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in order.items() if k not in ("status", "last_updated")}


@contextmanager
def running(data_dir: Path, env: dict[str, str], **simulator: Any) -> Iterator[Harness]:
    """A harness on a stopped simulator clock; ``simulator`` overrides its options."""
    options: dict[str, Any] = {
        "orders": 50,
        "seed": 11,
        "time_scale": 0,
        "start_time": START,
        "report_delay_s": 2,
    }
    with (
        Simulator(**(options | simulator)) as sim,
        ReferenceHost(data_dir, env=env) as host,
    ):
        account = dataclasses.replace(simulator_account(sim), settings=dict(SETTINGS))
        host.store.add_account(account)
        yield Harness(sim, host, account, SimTime(sim))
