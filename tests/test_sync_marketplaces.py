"""A configured marketplace the seller does not sell on: the sync leaves it out with a
warning (kept in the history) instead of failing for every marketplace."""

from __future__ import annotations

from helpers.accounts import simulator_account
from helpers.sim import open_for_seller

from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.spapi.regions import marketplace


def test_a_marketplace_the_seller_does_not_sell_on_is_left_out_with_a_warning(
    simulator: Simulator, refhost: ReferenceHost
) -> None:
    account = simulator_account(simulator, marketplaces=("DE", "FR", "PL"))
    refhost.store.add_account(account)
    result = refhost.sync(account.name)
    assert result.ok, result.message
    assert result.warnings[0] == (
        "Auf Amazon.pl (PL) verkauft dieses Verkäuferkonto nicht; die Synchronisierung hat diese "
        "Marktplätze ausgelassen. Entfernen Sie sie aus dem Konto oder schalten Sie sie in Seller "
        "Central frei."
    )
    wanted = {marketplace("DE").id, marketplace("FR").id}
    truth = {
        o["amazon_order_id"]
        for o in simulator.ground_truth()
        if open_for_seller(o) and o["marketplace_id"] in wanted
    }
    stored = refhost.store.list_orders(account_id=account.id)
    assert {o.amazon_order_id for o in stored} == truth
    [run] = refhost.store.list_runs(account.id)
    assert run.warnings == tuple(result.warnings)
