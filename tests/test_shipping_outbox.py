"""The reference host's shipment outbox: recorded before it is sent, kept until Amazon confirms,
sent again by the background poller after a crash, never doubled."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from helpers.accounts import simulator_account
from helpers.gate import WAIT_S
from helpers.sim import TIMEOUT

from hyreka_plugin_amazon.contract import (
    Shipment,
    ShipmentItem,
    ShipmentOutcome,
    ShipmentState,
)
from hyreka_plugin_amazon.refhost.background.poller import Poller
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.store import PackageError
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.ordermodel import AmazonState

WHEN = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def shipment(order_id: str, package_id: int = 0, tracking: str = "T1") -> Shipment:
    return Shipment(
        amazon_order_id=order_id,
        package_id=package_id,
        carrier="DHL",
        tracking_number=tracking,
        ship_date=WHEN,
        items=(ShipmentItem("11111111111111", 2),),
    )


def test_packages_are_numbered_kept_and_corrected(
    tmp_path: Path, host_env: dict[str, str], simulator: Simulator
) -> None:
    with ReferenceHost(tmp_path, env=host_env) as host:
        host.store.add_account(simulator_account(simulator, "a"))
        host.store.add_account(simulator_account(simulator, "b"))
        first = host.store.record_shipment("a", shipment("302-1"))
        second = host.store.record_shipment("a", shipment("302-2"))
        other = host.store.record_shipment("b", shipment("302-1"))
        assert (first.package_id, second.package_id, other.package_id) == (1, 2, 1)
        refused = ShipmentOutcome("302-1", 1, ShipmentState.REFUSED, "bad", "ship.refused")
        host.store.record_outcomes("a", [refused])
        assert [s.package_id for s in host.store.pending_shipments("a")] == [2]
        with pytest.raises(PackageError, match="another order"):
            host.store.record_shipment("a", shipment("302-2", package_id=1))
        with pytest.raises(PackageError, match="no package 9"):
            host.store.record_shipment("a", shipment("302-1", package_id=9))
        host.store.record_shipment("a", shipment("302-1", package_id=1, tracking="T2"))
    with ReferenceHost(tmp_path, env=host_env) as host:  # kept across a restart
        pending = host.store.pending_shipments("a")
        assert [(s.package_id, s.tracking_number) for s in pending] == [(1, "T2"), (2, "T1")]
        assert pending[0].items == (ShipmentItem("11111111111111", 2),)
        assert pending[0].ship_date == WHEN
        listed = host.store.list_shipments("a", "302-1")
        assert [(s.state, s.code, s.attempts) for s in listed] == [("pending", None, 1)]
        retry = ShipmentOutcome("302-2", 2, ShipmentState.RETRY, "later", "ship.unavailable")
        host.store.record_outcomes("a", [retry])
        assert host.store.count_pending_shipments("a") == 2
        assert host.store.list_shipments("a", "302-2")[0].message == "later"


def test_a_crash_between_recording_and_sending_is_made_good_by_the_poller(
    tmp_path: Path, host_env: dict[str, str], simulator: Simulator
) -> None:
    account = simulator_account(simulator)
    with ReferenceHost(tmp_path, env=host_env) as host:
        host.store.add_account(account)
        assert host.sync(account.name).ok
        now = simulator.clock.now()
        order = next(
            o
            for o in simulator.orders.values()
            if o.fulfillment_channel == "MFN" and o.state(now) is AmazonState.UNSHIPPED
        )
        items = tuple(ShipmentItem(i.order_item_id, i.quantity) for i in order.items)
        # recorded, then the process died before it sent anything
        host.store.record_shipment(
            account.id, Shipment(order.order_id, 0, "Deutsche Post", "RR123456789DE", WHEN, items)
        )
    with ReferenceHost(tmp_path, env=host_env) as host:
        poller = Poller(host, jitter_s=0)
        poller.start(paused=True)
        try:
            result = poller.run_account(account.id)
        finally:
            poller.stop(timeout_s=WAIT_S)
        assert result is not None
        assert result.ok
        assert host.store.count_pending_shipments(account.id) == 0
        assert [s.state for s in host.store.list_shipments(account.id)] == ["confirmed"]
        stored = host.store.get_order(account.id, order.order_id)
        assert stored is not None
        assert stored.status.value == "shipped"  # the same run read Amazon's new status
    truth = requests.get(f"{simulator.url}/_simulator/orders", timeout=TIMEOUT).json()["orders"]
    packages = next(o["packages"] for o in truth if o["amazon_order_id"] == order.order_id)
    assert [(p["carrier_code"], p["tracking_number"]) for p in packages] == [
        ("Deutsche Post", "RR123456789DE")
    ]
