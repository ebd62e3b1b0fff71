"""Amazon's rate limits under polling: the connector's own buckets keep it from ever being
throttled, and a sync costs the same number of calls whatever happens.

The client's waits and buckets run on the simulator's clock (``SimTime``), the clock Amazon's
buckets run on in the simulator, so the two sides agree on how much time has passed.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers.fault_harness import Harness, running
from helpers.sim import TIMEOUT

from hyreka_plugin_amazon.contract import SyncResult
from hyreka_plugin_amazon.refhost.host import SyncHost
from hyreka_plugin_amazon.sync import CURSOR_KEY

POLL_S = 900  # every 15 minutes
# The calls of one sync, whatever the number of orders: two reports created and polled, an
# RDT, two documents and their downloads (fewer when a report is CANCELLED), a token exchange.
FULL_SYNC = Counter(
    {
        "lwaToken": 1,
        "createReport": 3,  # order, status and FBA report (fba_orders: on in the EU)
        "getReport": 6,
        "createRestrictedDataToken": 2,
        "getReportDocument": 3,
        "download": 3,
    }
)
WEEK = 7 * 24 * 4  # syncs


def throttled(h: Harness) -> dict[str, int]:
    """429s the simulator answered, per operation (from its admin API)."""
    response = requests.get(f"{h.sim.url}/_simulator/stats", timeout=TIMEOUT)
    sellers: dict[str, dict[str, dict[str, int]]] = response.json()["sellers"]
    return {
        op: counts["throttled"]
        for ops in sellers.values()
        for op, counts in ops.items()
        if counts["throttled"]
    }


def amazon_calls(results: list[SyncResult]) -> Counter[str]:
    return sum((Counter(r.api_calls) for r in results), Counter())


@pytest.fixture
def amazon_time(tmp_path: Path, host_env: dict[str, str]) -> Iterator[Harness]:
    """A seller whose orders move on with the clock (payments, shipments, new orders), the
    connector with its default settings (reports polled from 15 s, growing to 60 s)."""
    options: dict[str, Any] = {"orders": 30, "lifecycle": True, "report_delay_s": 30}
    with running(tmp_path / "data", host_env, **options) as h:
        h.account = dataclasses.replace(h.account, settings={})
        h.host.store.update_account(h.account)
        yield h


@pytest.mark.slow
def test_a_week_of_polling_every_15_minutes_is_never_throttled(amazon_time: Harness) -> None:
    h = amazon_time
    for n in range(WEEK):
        result = h.sync()
        assert result.ok, (n, result.message)
        assert Counter(result.api_calls) <= FULL_SYNC, result.api_calls
        if n % (24 * 4) == 0:  # once a simulated day
            h.assert_converged()
        h.sim.clock.advance(POLL_S)
    h.assert_converged()
    assert throttled(h) == {}

    calls = amazon_calls(h.results)
    assert calls["lwaToken"] <= WEEK // 3  # one exchange per hour of tokens, not per sync
    # order, status and FBA report per sync, never repeated: no 429, no retry
    assert calls["createReport"] == 3 * WEEK
    assert sum(r.created for r in h.results) > 10  # orders kept arriving all week


def test_a_seller_pressing_sync_again_and_again_waits_instead_of_a_429(
    amazon_time: Harness,
) -> None:
    h = amazon_time
    for _ in range(12):  # 24 createReport calls at once; Amazon allows 15, then one a minute
        result = h.sync()
        assert result.ok, result.message
    assert throttled(h) == {}
    assert h.time.slept > 9 * 60  # the client waited for its buckets (on Amazon's clock)
    assert all(Counter(r.api_calls) <= FULL_SYNC for r in h.results)
    h.assert_converged()


class StopDuringWait(SyncHost):
    """The seller presses stop ``after`` simulated seconds into the sync."""

    def __init__(self, h: Harness, after: float) -> None:
        super().__init__(h.host.store, h.host.plugins)
        self.h = h
        self.stop_at = h.time.slept + after

    def cancel_requested(self, account_id: str) -> bool:
        return self.h.time.slept >= self.stop_at


def test_stop_while_amazon_processes_a_report_ends_the_sync_within_a_second(
    amazon_time: Harness,
) -> None:
    h = amazon_time  # reports take 30 s; the first poll waits 15 s, the next 22.5 s
    cursor = h.state(CURSOR_KEY)
    before = h.time.slept
    result = h.sync(StopDuringWait(h, after=2.5))
    assert (result.ok, result.code) == (False, "sync.cancelled")
    assert h.time.slept - before <= 2.5 + 1.0  # not the 15 s to the next poll
    assert h.state(CURSOR_KEY) == cursor
    assert h.sync().ok  # the next sync runs as if nothing happened
    h.assert_converged()
