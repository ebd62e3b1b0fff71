"""Package numbers under concurrent shipments (issue 24 item 2): eight "Versand bestätigen" at
once, each from a host of its own on the same database (SQLite and a real PostgreSQL), each
get their own package number and reach Amazon once with their own tracking number. A new
package is a plain insert: a number that is taken fails loudly and overwrites nothing."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from helpers.accounts import simulator_account

from hyreka_plugin_amazon.contract import Shipment, ShipmentItem, ShipmentState
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV
from hyreka_plugin_amazon.refhost.store import PackageError
from hyreka_plugin_amazon.refhost.store.postgres import DATABASE_ENV
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.ordermodel import AmazonState

SHIPMENTS = 8


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment of hosts sharing one database on each backend."""
    env = {KEY_ENV: Fernet.generate_key().decode()}
    if request.param == "postgresql":
        env[DATABASE_ENV] = request.getfixturevalue("postgres_url")
    return env


@pytest.fixture
def synced(tmp_path: Path, env: dict[str, str], simulator: Simulator) -> list[str]:
    """The account ``sim`` with its orders imported; ``SHIPMENTS`` of its unshipped
    seller-fulfilled orders."""
    with ReferenceHost(tmp_path, env=env) as host:
        host.store.add_account(simulator_account(simulator))
        assert host.sync("sim").ok
        now = simulator.clock.now()
        open_ids = sorted(
            o.order_id
            for o in simulator.orders.values()
            if o.fulfillment_channel == "MFN" and o.state(now) is AmazonState.UNSHIPPED
        )
        chosen = [i for i in open_ids if host.store.get_order("sim", i)][:SHIPMENTS]
    assert len(chosen) == SHIPMENTS
    return chosen


def test_concurrent_shipments_get_their_own_package_and_reach_amazon_once(
    tmp_path: Path, env: dict[str, str], simulator: Simulator, synced: list[str]
) -> None:
    hosts = [ReferenceHost(tmp_path, env=env) for _ in synced]  # a connection each
    start = threading.Barrier(len(hosts))

    def ship(n: int) -> tuple[Shipment, ShipmentState]:
        start.wait(timeout=30)
        stored, outcome = hosts[n].ship(
            synced[n], carrier="DHL", tracking_number=f"00340434161{n}", account_name="sim"
        )
        return stored, outcome.state

    try:
        with ThreadPoolExecutor(len(hosts)) as pool:
            shipped = list(pool.map(ship, range(len(hosts))))
        listed = hosts[0].store.list_shipments("sim")
    finally:
        for host in hosts:
            host.close()

    assert [state for _, state in shipped] == [ShipmentState.CONFIRMED] * SHIPMENTS
    numbers = [stored.package_id for stored, _ in shipped]
    assert sorted(numbers) == list(range(1, SHIPMENTS + 1))  # each its own
    assert sorted(
        (s.shipment.package_id, s.shipment.amazon_order_id, s.shipment.tracking_number, s.state)
        for s in listed
    ) == sorted(
        (stored.package_id, synced[n], f"00340434161{n}", "confirmed")
        for n, (stored, _) in enumerate(shipped)
    )
    truth = {o["amazon_order_id"]: o["packages"] for o in simulator.ground_truth(packages=True)}
    for n, (stored, _) in enumerate(shipped):
        [package] = truth[synced[n]]  # once
        assert package["tracking_number"] == f"00340434161{n}"
        assert package["package_reference_id"] == str(stored.package_id)


def test_a_package_number_that_is_taken_fails_loudly_and_overwrites_nothing(
    tmp_path: Path, env: dict[str, str], simulator: Simulator
) -> None:
    when = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    items = (ShipmentItem("11111111111111", 1),)
    with ReferenceHost(tmp_path, env=env) as host:
        host.store.add_account(simulator_account(simulator))
        first = host.store.record_shipment("sim", Shipment("302-1", 0, "DHL", "T1", when, items))
        taken = Shipment("302-2", first.package_id, "DHL", "T2", when, items)
        store = host.store
        with (
            pytest.raises(PackageError, match=f"package {first.package_id} .*exists"),
            store._write() as db,  # as record_shipment does after counting a number
        ):
            store._insert_package(db, "sim", first.package_id, taken, "2026-12-02T09:00")
        [kept] = host.store.list_shipments("sim")
        assert (kept.shipment.amazon_order_id, kept.shipment.tracking_number) == ("302-1", "T1")
        second = host.store.record_shipment("sim", Shipment("302-2", 0, "DHL", "T2", when, items))
        assert second.package_id == first.package_id + 1


def test_a_store_from_before_the_counter_numbers_on_after_its_packages(
    tmp_path: Path, env: dict[str, str], simulator: Simulator
) -> None:
    when = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    items = (ShipmentItem("11111111111111", 1),)
    with ReferenceHost(tmp_path, env=env) as host:
        host.store.add_account(simulator_account(simulator))
        for order_id in ("302-1", "302-2"):
            host.store.record_shipment("sim", Shipment(order_id, 0, "DHL", "T", when, items))
        host.store._db.execute("DELETE FROM package_numbers")  # as an older version left it
        third = host.store.record_shipment("sim", Shipment("302-3", 0, "DHL", "T", when, items))
        assert third.package_id == 3
        host.store.remove_account("sim")  # its counter goes with it
        host.store.add_account(simulator_account(simulator))
        again = host.store.record_shipment("sim", Shipment("302-1", 0, "DHL", "T", when, items))
        assert again.package_id == 1
