"""Issue 23 through a sync: the simulator (over loopback HTTP) writes the kinds of report that
used to import wrongly, and the reference host ends up with what a person reading the report
would import. The hand-import side of the same kinds is ``test_report_kinds.py``."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from helpers.accounts import simulator_account
from helpers.sim import SimClient, sim_open

from hyreka_plugin_amazon.contract import Account, OrderStatus
from hyreka_plugin_amazon.fba import FBA_REPORT
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.reports.catalogue import ORDER_REPORT_EU as INVOICING
from hyreka_plugin_amazon.simulator import Simulator, reportcontent
from hyreka_plugin_amazon.simulator.fbashipments import split
from hyreka_plugin_amazon.simulator.ordermodel import SimOrder
from hyreka_plugin_amazon.simulator.reportstore import new_document
from hyreka_plugin_amazon.simulator.state import SimulatorState

DE = "A1PA6795UKMFR9"
JP = "A1VC38T7YXB528"


def with_fba(refhost: ReferenceHost, account: Account) -> Account:
    on = dataclasses.replace(account, settings={**account.settings, "fba_orders": "true"})
    refhost.store.update_account(on)
    return on


def sorted_lines(order: dict[str, Any]) -> list[dict[str, Any]]:
    return sorted(order["lines"], key=lambda line: line["order_item_id"])


def new_fba_orders(sim: Simulator, wanted: int, marketplace: str) -> list[SimOrder]:
    """Open FBA orders placed now, ``wanted`` of them, one at least with an item Amazon ships
    in two shipments."""
    found: list[SimOrder] = []
    for _ in range(400):
        order_id = sim.add_order(marketplace=marketplace, fulfillment_channel="AFN")
        found.append(sim.orders[order_id["amazon_order_id"]])
        if len(found) >= wanted and any(split(i) for o in found for i in o.items):
            return found
    raise AssertionError("the generator made no split item in 400 orders")


def truth_of(sim: Simulator, order_ids: set[str]) -> dict[str, dict[str, Any]]:
    return {
        o["amazon_order_id"]: o for o in sim.ground_truth() if o["amazon_order_id"] in order_ids
    }


# --------------------------------------------------------------------------------------------
# 1. and 2. FBA orders shipped in several shipments, their rows far apart; every amount


def test_fba_shipments_far_apart_import_whole_with_every_amount(
    simulator: Simulator, refhost: ReferenceHost, account: Account
) -> None:
    account = with_fba(refhost, account)
    orders = new_fba_orders(simulator, 20, "DE")
    wrapped = orders[0].items[0]
    wrapped.gift_wrap_price, wrapped.gift_wrap_tax = Decimal("5.98"), Decimal("0.95")
    simulator.clock.advance(600)
    for order in orders:  # Amazon ships them all at the same moment, from two centres
        simulator.ship_order(order.order_id)
    simulator.clock.advance(120)
    ids = {order.order_id for order in orders}
    _, rows = SimClient(simulator).fetch(FBA_REPORT, marketplaces=[DE]).table()
    listed = [row["amazon-order-id"] for row in rows if row["amazon-order-id"] in ids]
    runs = [n for n, order_id in enumerate(listed) if n == 0 or listed[n - 1] != order_id]
    assert len(runs) > len(set(listed))  # some order's rows stand apart

    result = refhost.sync(account.name)
    assert result.ok, result.message
    assert result.problems == []
    truth = truth_of(simulator, ids)
    for order_id in ids:
        stored = refhost.store.get_order(account.id, order_id)
        assert stored is not None, order_id
        assert stored.status is OrderStatus.SHIPPED
        assert sorted_lines(stored.as_dict()) == sorted_lines(truth[order_id]), order_id
    gift = refhost.store.get_order(account.id, orders[0].order_id)
    assert gift is not None
    line = next(x for x in gift.lines if x.order_item_id == wrapped.order_item_id)
    assert (line.gift_wrap_price, line.gift_wrap_tax) == (Decimal("5.98"), Decimal("0.95"))
    assert gift.total is not None
    assert gift.total >= Decimal("5.98") + sum(x.item_price or 0 for x in gift.lines) - sum(
        -(x.item_promotion_discount or 0) for x in gift.lines
    )


# --------------------------------------------------------------------------------------------
# 5. and 6. Japan: Shift_JIS, points, "--" placeholders


@pytest.fixture
def japan() -> Iterator[Simulator]:
    with Simulator(
        orders=120, seed=23, marketplaces=("JP",), report_delay_s=0.5, time_scale=20
    ) as sim:
        yield sim


def test_a_japanese_fba_report_syncs_with_points_and_without_placeholders(
    japan: Simulator, tmp_path: Path, host_env: dict[str, str]
) -> None:
    account = simulator_account(japan, "jp", marketplaces=("JP",))
    account = dataclasses.replace(
        account, region="fe", settings={**account.settings, "fba_orders": "true"}
    )
    orders = new_fba_orders(japan, 3, "JP")
    japan.clock.advance(600)
    for order in orders:
        japan.ship_order(order.order_id)
    japan.clock.advance(120)
    download = SimClient(japan).fetch(FBA_REPORT, marketplaces=[JP])
    header, rows = download.table()
    assert header[-1] == "points-granted"
    assert "--" in {row["ship-city"] for row in rows}
    with ReferenceHost(tmp_path / "data", env=host_env) as refhost:
        refhost.store.add_account(account)
        result = refhost.sync(account.name)
        assert result.ok, result.message
        assert result.problems == []
        ids = {order.order_id for order in orders}
        truth = truth_of(japan, ids)
        for order_id in ids:
            stored = refhost.store.get_order(account.id, order_id)
            assert stored is not None
            assert stored.currency == "JPY"
            assert stored.shipping_address is not None
            assert stored.shipping_address.city is None  # "--": none, not a city
            assert all("--" not in line for line in stored.shipping_address.lines)
            assert stored.shipping_address.state in ("東京都", "大阪府", "愛知県")
            assert sorted_lines(stored.as_dict()) == sorted_lines(truth[order_id])
            assert all(line.points_granted is not None for line in stored.lines)
            assert stored.total == sum(
                (x.item_price or 0) + (x.gift_wrap_price or 0) + (x.item_promotion_discount or 0)
                + (x.shipping_price or 0) + (x.ship_promotion_discount or 0)
                for x in stored.lines
            )  # fmt: skip


# --------------------------------------------------------------------------------------------
# 7. An invoicing report without its bill-* columns


def test_a_report_without_billing_columns_never_erases_known_billing_addresses(
    simulator: Simulator, refhost: ReferenceHost, account: Account
) -> None:
    new = [simulator.add_order(status="open", marketplace="DE")["amazon_order_id"]
           for _ in range(3)]  # fmt: skip
    simulator.clock.advance(120)
    first = refhost.sync(account.name)
    assert first.ok, first.message
    known = {order_id: refhost.store.get_order(account.id, order_id) for order_id in new}
    assert all(o is not None and o.billing_address is not None for o in known.values())

    # the seller switches "Fakturierung" off: the next report over the same orders has none
    simulator.faults.add({"name": "billing_columns_disabled", "rate": 1.0})
    later = simulator.add_order(status="open", marketplace="DE")["amazon_order_id"]
    simulator.clock.advance(120)
    second = refhost.sync(account.name)
    assert second.ok, second.message
    assert any("keine Rechnungsadressen" in warning for warning in second.warnings)
    for order_id, before in known.items():
        after = refhost.store.get_order(account.id, order_id)
        assert after is not None
        assert before is not None
        assert after.billing_address == before.billing_address  # kept, not erased
        assert not after.billing_address_missing
    fresh = refhost.store.get_order(account.id, later)
    assert fresh is not None
    assert fresh.billing_address is None  # a new order has none to keep: flagged
    assert fresh.billing_address_missing
    open_orders = refhost.store.list_orders(status=OrderStatus.OPEN)
    assert {o.amazon_order_id for o in open_orders} == set(sim_open(simulator))


# --------------------------------------------------------------------------------------------
# 4. A report a spreadsheet rewrote, served by the simulator in place of its own


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def test_ids_a_spreadsheet_rewrote_are_sync_problems_naming_the_cause(
    simulator: Simulator,
    refhost: ReferenceHost,
    account: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    own = reportcontent.report_content
    text = (FIXTURES / "orders-spreadsheet-ids.txt").read_text("utf-8")

    def served(state: SimulatorState, seller_id: str, report_type: str, *args: Any) -> Any:
        outcome, document = own(state, seller_id, report_type, *args)
        if report_type != INVOICING:
            return outcome, document
        return "DONE", new_document(seller_id, report_type, text, "UTF-8", "eu")

    monkeypatch.setattr(reportcontent, "report_content", served)
    result = refhost.sync(account.name)
    assert result.ok, result.message
    stored = refhost.store.get_order(account.id, "302-8100008-0000008")
    assert stored is not None  # the untouched order imports
    assert stored.billing_address is not None
    causes = {(p.row, p.column): p.reason for p in result.problems}
    spreadsheet = "(opened and saved in a spreadsheet?)"
    assert causes[(1, "order-item-id")] == f"a number in scientific notation {spreadsheet}"
    assert causes[(4, "order-id")] == f"not an Amazon order id: leading zeros lost {spreadsheet}"
    assert causes[(5, "item-price")] == f"a decimal comma, not a point {spreadsheet}"
    assert len({p.row for p in result.problems}) == 7
    german = next(p for p in result.problems if p.row == 3).messages["de"]
    assert german == (
        "eine Zahl mit Dezimaltrennzeichen (in einer Tabellenkalkulation geöffnet und gespeichert?)"
    )
    for row in range(1, 8):  # none of the refused rows became an order
        assert refhost.store.get_order(account.id, f"302-8100{row:03d}-0000{row:03d}") is None
