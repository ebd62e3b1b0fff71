"""FBA orders reach the Warenwirtschaft: with the account setting ``fba_orders`` each sync
imports the FBA shipments report's orders as shipped, with billing addresses, under the order
import's guarantees (window held when something is left behind, never duplicated, a constant
number of API calls)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from helpers.sim import add_fault, host_open, sim_open

from hyreka_plugin_amazon.contract import Account, OrderStatus
from hyreka_plugin_amazon.fba import FBA_REPORT, fba_orders_enabled
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.sync import RETRY_FROM_KEY

# the fields the FBA shipments report carries (it has no B2B columns)
FBA_FIELDS = (
    "amazon_order_id", "marketplace_id", "sales_channel", "status", "fulfillment_channel",
    "currency", "purchase_date", "lines", "billing_address", "shipping_address", "buyer_email",
)  # fmt: skip


@pytest.fixture
def fba_account(simulator: Simulator, refhost: ReferenceHost, account: Account) -> Account:
    on = dataclasses.replace(account, settings={**account.settings, "fba_orders": "true"})
    refhost.store.update_account(on)
    return on


def shipped_fba(sim: Simulator) -> dict[str, dict[str, Any]]:
    return {
        o["amazon_order_id"]: o
        for o in sim.ground_truth()
        if o["fulfillment_channel"] == "AFN" and o["status"] == "shipped"
    }


def without_b2b(order: dict[str, Any]) -> dict[str, Any]:
    data = {k: order[k] for k in FBA_FIELDS}
    # the report lists an order's items by shipment (an item shipped twice in two places)
    data["lines"] = sorted(order["lines"], key=lambda line: line["order_item_id"])
    data["billing_address"] = {**order["billing_address"], "company": None}
    return data


def test_the_setting_is_on_in_the_eu_by_default(account: Account) -> None:
    defaults = dict(account.settings)
    del defaults["fba_orders"]
    assert fba_orders_enabled(dataclasses.replace(account, settings=defaults))
    assert not fba_orders_enabled(dataclasses.replace(account, settings=defaults, region="na"))
    assert not fba_orders_enabled(account)  # the test accounts switch it off
    with pytest.raises(ValueError, match="fba_orders must be true or false"):
        fba_orders_enabled(dataclasses.replace(account, settings={"fba_orders": "vielleicht"}))


def test_shipped_fba_orders_arrive_with_billing_addresses_once(
    simulator: Simulator, refhost: ReferenceHost, fba_account: Account
) -> None:
    truth = shipped_fba(simulator)
    assert len(truth) > 10
    first = refhost.sync(fba_account.name)
    assert first.ok, first.message
    assert first.api_calls["createReport"] == 3  # order, status and FBA report
    stored = {
        o.amazon_order_id: o.as_dict()
        for o in refhost.store.list_orders(account_id=fba_account.id)
        if o.fulfillment_channel == "AFN"
    }
    assert set(stored) == set(truth)
    for order_id, order in stored.items():
        assert order["status"] == "shipped"
        assert order["billing_address"]["lines"], order_id
        assert without_b2b(order) == without_b2b(truth[order_id]), order_id
    assert host_open(refhost) == sim_open(simulator)  # FBA orders are never open
    assert first.created == len(truth) + len(sim_open(simulator))

    second = refhost.sync(fba_account.name)
    assert second.ok, second.message
    assert (second.created, second.updated) == (0, 0)
    assert second.api_calls["createReport"] == 3
    assert len(refhost.store.list_orders(account_id=fba_account.id)) == first.created


def test_an_fba_order_shipped_in_parts_waits_and_arrives_whole(
    simulator: Simulator, refhost: ReferenceHost, fba_account: Account
) -> None:
    assert refhost.sync(fba_account.name).ok
    now = simulator.clock.now()
    order = next(
        o
        for o in sorted(simulator.orders.values(), key=lambda o: o.order_id)
        if o.fulfillment_channel == "AFN"
        and o.state(now).value == "Unshipped"
        and len(o.items) > 1
        and o.purchase_date <= now
    )
    order.items[0].shipped_at = now  # Amazon ships the first item; the rest follows later
    simulator.clock.advance(120)
    partly = refhost.sync(fba_account.name)
    assert partly.ok, partly.message
    assert refhost.store.get_order(fba_account.id, order.order_id) is None
    assert refhost.store.get_state(fba_account.id, RETRY_FROM_KEY) is not None  # held
    simulator.clock.advance(3 * 3600)  # beyond the overlap: only the held window reads it
    simulator.ship_order(order.order_id)
    simulator.clock.advance(120)
    whole = refhost.sync(fba_account.name)
    assert whole.ok, whole.message
    stored = refhost.store.get_order(fba_account.id, order.order_id)
    assert stored is not None
    assert stored.status is OrderStatus.SHIPPED
    assert {line.order_item_id for line in stored.lines} == {i.order_item_id for i in order.items}
    assert refhost.store.get_state(fba_account.id, RETRY_FROM_KEY) is None  # released


def test_a_missing_fba_report_holds_the_window_until_it_comes(
    simulator: Simulator, refhost: ReferenceHost, fba_account: Account
) -> None:
    truth = shipped_fba(simulator)
    fault = add_fault(simulator, "report_cancelled", report_type=FBA_REPORT, rate=1.0)
    missing = refhost.sync(fba_account.name)
    assert missing.ok, missing.message
    assert not [o for o in refhost.store.list_orders() if o.fulfillment_channel == "AFN"]
    assert refhost.store.get_state(fba_account.id, RETRY_FROM_KEY) is not None
    simulator.faults.clear(fault["id"])
    after = refhost.sync(fba_account.name)
    assert after.ok, after.message
    stored = {o.amazon_order_id for o in refhost.store.list_orders() if o.fulfillment_channel}
    assert set(truth) <= stored
    assert refhost.store.get_state(fba_account.id, RETRY_FROM_KEY) is None
