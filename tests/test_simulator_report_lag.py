"""``--report-lag MINUTES``: Amazon's reports show the orders as they stood that long ago.

A fresh order appears in the order reports only once the lag has passed (the simulator's clock
is moved, nobody sleeps); a change (a shipment) shows only then too. A sync's overlap is what
catches an order that a report did not show yet: with the overlap longer than the lag the next
sync imports it, with a shorter one it is missed.
"""

from __future__ import annotations

import argparse
import dataclasses
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from helpers.fault_harness import running
from helpers.sim import ALL_ORDERS, DE, INVOICING, SimClient

from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.cli import add_arguments, simulator_from

START = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
LAG_MINUTES = 30


def _order_ids(client: SimClient, report_type: str) -> dict[str, str]:
    """Order id -> its order-status (all-orders) or "listed" (order report)."""
    start = (client.sim.clock.now() - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    report = client.wait_report(client.create_report(report_type, [DE], start=start))
    if report["processingStatus"] == "CANCELLED":  # no data
        return {}
    _, rows = client.fetch(report_type, marketplaces=[DE], start=start).table()
    if report_type == ALL_ORDERS:
        return {r["amazon-order-id"]: r["order-status"] for r in rows}
    return dict.fromkeys((r["order-id"] for r in rows), "listed")


def test_a_fresh_order_appears_in_reports_only_after_the_lag() -> None:
    with Simulator(
        orders=20, seed=3, time_scale=0, start_time=START, report_lag_minutes=LAG_MINUTES
    ) as sim:
        assert sim.report_lag == timedelta(minutes=LAG_MINUTES)
        client = SimClient(sim)
        fresh = sim.add_order(marketplace="DE")["amazon_order_id"]
        for report_type in (INVOICING, ALL_ORDERS):
            assert fresh not in _order_ids(client, report_type)
        sim.clock.advance((LAG_MINUTES - 1) * 60)
        assert fresh not in _order_ids(client, INVOICING)
        sim.clock.advance(2 * 60)  # the lag has passed
        assert fresh in _order_ids(client, INVOICING)
        assert _order_ids(client, ALL_ORDERS)[fresh] == "Pending"  # unshipped (spapi-notes 5.7)

        sim.ship_order(fresh)  # a change shows only after the lag too
        assert _order_ids(client, ALL_ORDERS)[fresh] == "Pending"
        sim.clock.advance((LAG_MINUTES + 1) * 60)
        assert _order_ids(client, ALL_ORDERS)[fresh] == "Shipped"


def test_without_a_lag_a_fresh_order_is_reported_at_once() -> None:
    with Simulator(orders=5, seed=3, time_scale=0, start_time=START) as sim:
        fresh = sim.add_order(marketplace="DE")["amazon_order_id"]
        assert fresh in _order_ids(SimClient(sim), INVOICING)


def test_the_command_line_option() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--report-lag", "45", "--time-scale", "0"])
    assert simulator_from(args).report_lag == timedelta(minutes=45)
    assert simulator_from(parser.parse_args([])).report_lag == timedelta(0)
    with pytest.raises(ValueError, match="report_lag"):
        simulator_from(parser.parse_args(["--report-lag", "-1"]))


@pytest.mark.parametrize(("overlap", "imported"), [(60, True), (10, False)])
def test_the_syncs_overlap_against_the_lag(
    tmp_path: Path, host_env: dict[str, str], overlap: int, imported: bool
) -> None:
    """An order the lag hid from a sync is read by the next one only if its window reaches
    back to it: the overlap must be longer than the lag. (A window whose reports came back
    without rows is held open anyway, so the hiding sync here also sees an older order.)"""
    with running(tmp_path / "data", host_env, report_lag_minutes=LAG_MINUTES) as h:
        settings = {**h.account.settings, "overlap_minutes": str(overlap)}
        h.host.store.update_account(dataclasses.replace(h.account, settings=settings))
        h.sim.clock.advance(3600)  # the generated orders are older than the lag
        assert h.sync().ok
        h.assert_converged()

        h.sim.clock.advance(60)
        older = h.sim.add_order(marketplace="DE")["amazon_order_id"]
        h.sim.clock.advance(34 * 60)
        fresh = h.sim.add_order(marketplace="DE")["amazon_order_id"]
        h.sim.clock.advance(20 * 60)
        first = h.sync()  # its reports show the older order, not yet the fresh one
        assert first.ok, first.message
        assert older in h.host_open()
        assert fresh not in h.host_open()

        h.sim.clock.advance(2 * 3600)
        second = h.sync()  # its window starts an overlap before the first one's end
        assert second.ok, second.message
        assert (fresh in h.host_open()) is imported
        if imported:
            h.assert_converged()
