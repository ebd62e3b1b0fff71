"""End to end: the simulator's open orders land in the reference host exactly, once."""

from __future__ import annotations

from helpers.sim import host_open, sim_open

from hyreka_plugin_amazon.contract import Account, OrderStatus
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.simulator import Simulator


def test_open_orders_land_exactly_once_and_follow_amazon(
    simulator: Simulator, refhost: ReferenceHost, account: Account
) -> None:
    truth = sim_open(simulator)
    marketplaces = {o["marketplace_id"] for o in truth.values()}
    assert len(truth) > 15  # seller-fulfilled only: FBA orders are never open
    assert len(marketplaces) >= 3

    first = refhost.sync(account.name)
    assert first.ok, first.message
    assert host_open(refhost) == truth
    assert first.created == len(truth)
    umlauts = [o for o in truth.values() if any(c in str(o) for c in "äöüßÄÖÜéè")]
    assert umlauts, "the simulator should produce accented names"
    assert first.total_api_calls <= 20

    second = refhost.sync(account.name)
    assert second.ok, second.message
    assert (second.created, second.updated) == (0, 0)
    assert host_open(refhost) == truth

    cancelled = sorted(truth)[0]
    shipped = sorted(truth)[1]
    simulator.cancel_order(cancelled)
    simulator.ship_order(shipped)
    third = refhost.sync(account.name)
    assert third.ok, third.message
    assert third.created == 0
    assert third.updated == 2
    assert refhost.store.get_order(account.id, cancelled).status is OrderStatus.CANCELLED  # type: ignore[union-attr]
    assert refhost.store.get_order(account.id, shipped).status is OrderStatus.SHIPPED  # type: ignore[union-attr]
    assert host_open(refhost) == sim_open(simulator)
    assert len(refhost.store.list_orders()) == len(truth)  # updated, never duplicated
