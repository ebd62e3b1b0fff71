"""``import-report`` after syncs: an import never moves an order backwards.

A report file saved earlier never reopens orders shipped or cancelled since; an all-orders
report (no personal data, no item ids) never demotes an open order or erases its addresses,
e-mail and lines; re-importing the data a sync stored changes nothing (fulfilment channel
kept). Real syncs against the simulator, real files, the host's ``import_report``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from helpers.fault_harness import Harness, running
from helpers.sim import ALL_ORDERS, INVOICING, SimClient

from hyreka_plugin_amazon.contract import OrderStatus
from hyreka_plugin_amazon.refhost.importmerge import merged_import


@pytest.fixture
def harness(tmp_path: Path, host_env: dict[str, str]) -> Iterator[Harness]:
    with running(tmp_path / "data", host_env) as running_harness:
        yield running_harness


def save_report(h: Harness, report_type: str, path: Path) -> Path:
    start = (h.sim.clock.now() - timedelta(days=30)).isoformat()
    download = SimClient(h.sim).fetch(report_type, start=start)
    path.write_text(download.text, encoding="utf-8")
    return path


def stored(h: Harness) -> dict[str, dict[str, object]]:
    return {o.amazon_order_id: o.as_dict() for o in h.host.store.list_orders()}


def test_a_stale_order_report_never_reopens_shipped_or_cancelled_orders(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    assert h.sync().ok
    saved = save_report(h, INVOICING, tmp_path / "orders.txt")
    shipped, cancelled = sorted(h.host_open())[:2]
    h.sim.clock.advance(3700)
    h.sim.ship_order(shipped)
    h.sim.cancel_order(cancelled)
    assert h.sync().ok
    assert shipped not in h.host_open()
    assert cancelled not in h.host_open()
    synced = stored(h)

    report, _ = h.host.import_report(saved, account_name=h.account.name)
    assert {shipped, cancelled} <= {o.amazon_order_id for o in report.orders}
    assert stored(h)[shipped]["status"] == "shipped"
    assert stored(h)[cancelled]["status"] == "cancelled"
    h.sim.clock.advance(3700)
    assert h.sync().ok
    truth, after = h.truth(), stored(h)
    assert {i: after[i]["status"] for i in synced} == {i: truth[i]["status"] for i in synced}


def test_an_all_orders_report_never_demotes_or_erases_an_open_order(
    harness: Harness, tmp_path: Path
) -> None:
    h = harness
    assert h.sync().ok
    before = stored(h)
    opened = h.host_open()
    assert opened
    assert any(o["buyer_email"] and o["billing_address"] for o in opened.values())
    saved = save_report(h, ALL_ORDERS, tmp_path / "all-orders.txt")

    report, _ = h.host.import_report(saved, account_name=h.account.name)
    assert report.layout == "all-orders"
    assert h.host_open() == opened  # none demoted to pending, nothing wiped
    after = stored(h)
    for order_id, order in before.items():
        assert after[order_id]["lines"] == order["lines"]
        assert after[order_id]["billing_address"] == order["billing_address"]
        assert after[order_id]["buyer_email"] == order["buyer_email"]
    assert h.sync().ok
    # The all-orders report also lists Amazon-fulfilled orders not shipped yet, which no sync
    # imports (they arrive once shipped, from the FBA report): what the sync stored converges.
    assert h.host_open() == h.truth_open()
    truth, synced = h.truth(), stored(h)
    assert {i: synced[i]["status"] for i in before} == {i: truth[i]["status"] for i in before}


def test_reimporting_what_a_sync_stored_changes_nothing(harness: Harness, tmp_path: Path) -> None:
    h = harness
    assert h.sync().ok
    saved = save_report(h, INVOICING, tmp_path / "orders.txt")
    before = stored(h)
    channels = {o["fulfillment_channel"] for o in before.values()}
    assert channels & {"MFN", "AFN"}

    report, counts = h.host.import_report(saved, account_name=h.account.name)
    assert report.orders
    assert counts["updated"] == 0
    after = stored(h)
    assert {order_id: after[order_id] for order_id in before} == before


def test_an_import_older_than_the_stored_last_update_changes_nothing(harness: Harness) -> None:
    h = harness
    assert h.sync().ok
    known = next(iter(h.host.store.list_orders(account_id=h.account.id)))
    assert known.last_updated is not None
    older = dataclasses.replace(
        known, last_updated=known.last_updated - timedelta(hours=1), buyer_email="old@example"
    )
    newer = dataclasses.replace(known, last_updated=known.last_updated + timedelta(hours=1))
    assert merged_import(known, older, layout="orders") is None
    assert merged_import(known, newer, layout="orders") == newer
    pending = dataclasses.replace(newer, status=OrderStatus.PENDING, fulfillment_channel=None)
    merged = merged_import(known, pending, layout="orders")
    assert merged is not None
    assert merged.status is known.status
    assert merged.fulfillment_channel == known.fulfillment_channel
