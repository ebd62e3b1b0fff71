"""Issue 18: pending shipment confirmations go through the same workers, on PostgreSQL.

A shipment that Amazon could not take (500s) stays pending in the PostgreSQL outbox; the
worker's job for the account (the same job, under the same per-account lock, as its syncs)
sends it first, and Amazon then has exactly one package.
"""

from __future__ import annotations

import threading
from pathlib import Path

from cryptography.fernet import Fernet
from helpers.accounts import simulator_account
from helpers.sim import add_fault

from hyreka_plugin_amazon.refhost.background.poller import Poller
from hyreka_plugin_amazon.refhost.background.workers import WorkerSetup, run_sync
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV
from hyreka_plugin_amazon.refhost.store.postgres import DATABASE_ENV
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.ordermodel import AmazonState


def test_a_pending_shipment_is_sent_by_the_workers_job(
    tmp_path: Path, postgres_url: str, simulator: Simulator
) -> None:
    env = {KEY_ENV: Fernet.generate_key().decode(), DATABASE_ENV: postgres_url}
    with ReferenceHost(tmp_path, env=env) as host:
        account = simulator_account(simulator)
        host.store.add_account(account)
        assert host.sync(account.name).ok
        now = simulator.clock.now()
        order = next(
            o
            for o in sorted(simulator.orders.values(), key=lambda o: o.order_id)
            if o.fulfillment_channel == "MFN" and o.state(now) is AmazonState.UNSHIPPED
        )
        add_fault(simulator, "internal_error", operation="confirmShipment", count=5)
        _, outcome = host.ship(
            order.order_id, carrier="DHL", tracking_number="003404341612", account_name="sim"
        )
        assert outcome.state.value == "retry"
        assert [s.state for s in host.store.list_shipments(account.id)] == ["pending"]

        setup = WorkerSetup(host=host, dispatch_s=60, heartbeat_s=5)
        result = run_sync(setup, Poller(host), account.id, threading.Lock())
        assert result is not None
        assert result.ok, result.message
        assert [s.state for s in host.store.list_shipments(account.id)] == ["confirmed"]
    packages = next(
        o["packages"]
        for o in simulator.ground_truth(packages=True)
        if o["amazon_order_id"] == order.order_id
    )
    assert [p["tracking_number"] for p in packages] == ["003404341612"]
