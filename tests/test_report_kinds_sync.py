"""Issue 23 through a sync: the simulator (over loopback HTTP) writes the kinds of report that
used to import wrongly, and the reference host ends up with what a person reading the report
would import. The hand-import side of the same kinds is ``test_report_kinds.py``."""

from __future__ import annotations

from helpers.sim import sim_open

from hyreka_plugin_amazon.contract import Account, OrderStatus
from hyreka_plugin_amazon.refhost.app import ReferenceHost
from hyreka_plugin_amazon.simulator import Simulator

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
