"""The plugin as the host sees it: discovered through the entry point, every hook answered."""

from __future__ import annotations

import dataclasses
import inspect
from decimal import Decimal
from importlib.metadata import entry_points
from pathlib import Path
from typing import Literal

import pluggy
import pytest
from helpers.accounts import simulator_account
from helpers.memory_host import MemoryHost
from helpers.sim import sim_open

from hyreka_plugin_amazon import hookspecs, plugin
from hyreka_plugin_amazon.contract import (
    Account,
    Address,
    DocumentType,
    Invoice,
    InvoiceState,
    OrderStatus,
    Shipment,
    ShipmentItem,
    ShipmentState,
    SyncResult,
)
from hyreka_plugin_amazon.refhost.host import ReferenceHost, SyncHost
from hyreka_plugin_amazon.refhost.manager import NoConnectorError, PluginHost, make_plugin_manager
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.sync import DISMISSED_PREFIX

HOOKS = (
    "register_connector",
    "test_login",
    "sync_orders",
    "map_address",
    "dismiss_problem",
    "import_report",
    "confirm_shipments",
    "upload_invoices",
)
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def other_account() -> Account:
    return Account(
        id="x",
        name="x",
        connector="ebay",
        region="eu",
        marketplace_ids=(),
        client_id="c",
        client_secret=Secret("s"),
        refresh_token=Secret("r"),
    )


def test_entry_point_is_installed() -> None:
    found = [ep for ep in entry_points(group="hyreka") if ep.name == "amazon"]
    assert len(found) == 1
    assert found[0].value == "hyreka_plugin_amazon.plugin"


def test_plugin_manager_discovers_every_hook() -> None:
    pm = make_plugin_manager()
    assert pm.get_plugin("amazon") is plugin
    for name in HOOKS:
        impls = getattr(pm.hook, name).get_hookimpls()
        assert [i.plugin_name for i in impls] == ["amazon"], name
    pm.check_pending()


def test_check_pending_catches_a_misspelled_hook() -> None:
    class Typo:
        @hookspecs.hookimpl
        def sync_order(self) -> None:  # missing "s"
            """Not a hook of ours."""

    pm = make_plugin_manager()
    pm.register(Typo())
    with pytest.raises(pluggy.PluginValidationError):
        pm.check_pending()


@pytest.mark.parametrize("name", HOOKS)
def test_every_hookspec_is_documented_and_tested(name: str) -> None:
    spec = getattr(hookspecs, name)
    assert inspect.getdoc(spec), f"hookspec {name} has no docstring"
    assert "Return" in (inspect.getdoc(spec) or "")
    assert f"test_hook_{name}" in globals(), f"no test_hook_{name}"


def test_hook_register_connector() -> None:
    infos = PluginHost().connectors()
    assert [i.id for i in infos] == ["amazon"]
    info = infos[0]
    assert info.label["de"]
    assert info.label["en"]
    secret_fields = {f.key for f in info.fields if f.secret}
    assert secret_fields == {"client_secret", "refresh_token"}
    for field in info.fields:
        assert field.label.keys() >= {"de", "en"}
    assert info.actions["test_login"]["de"] == "Anmeldung testen"


def test_hook_test_login() -> None:
    host = PluginHost()
    with pytest.raises(NoConnectorError):  # not ours: the plugin answers None
        host.test_login(other_account())
    assert plugin.test_login(account=other_account()) is None


def test_hook_sync_orders() -> None:
    assert plugin.sync_orders(account=other_account(), host=None) is None  # type: ignore[arg-type]

    # a real sync through the hook: the plugin found through the installed entry point, Amazon
    # played by the simulator over loopback HTTP, orders handed to a host in memory
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    assert pm.load_setuptools_entrypoints(hookspecs.PROJECT) == 1
    pm.check_pending()
    host = MemoryHost(pm)
    with Simulator(
        orders=150, seed=5, marketplaces=("DE", "FR"), report_delay_s=0.2, time_scale=20
    ) as sim:
        account = simulator_account(sim, marketplaces=("DE", "FR"))
        truth = sim_open(sim)
        assert len(truth) > 5  # seller-fulfilled only: FBA orders are never open
        result = pm.hook.sync_orders(account=account, host=host)
        assert isinstance(result, SyncResult)
        assert result.ok, result.message
        assert result.created == len(truth)
        assert host.open_orders(account.id) == truth
        again = pm.hook.sync_orders(account=account, host=host)
    assert (again.ok, again.created, again.updated) == (True, 0, 0)
    assert host.open_orders(account.id) == truth
    assert host.progress[-1].phase == "done"


def test_hook_sync_orders_through_the_reference_host(
    simulator: Simulator, tmp_path: Path, host_env: dict[str, str]
) -> None:
    with ReferenceHost(tmp_path / "data", env=host_env) as refhost:
        account = simulator_account(simulator)
        refhost.store.add_account(account)
        services = SyncHost(refhost.store, refhost.plugins)
        result = refhost.plugins.pm.hook.sync_orders(account=account, host=services)
        assert result.ok, result.message
        assert not result.needs_reauthorization
        stored = refhost.store.list_orders(account_id=account.id, status=OrderStatus.OPEN)
    truth = set(sim_open(simulator))
    assert result.created == len(truth) > 0
    assert {o.amazon_order_id for o in stored} == truth


def test_hook_dismiss_problem(tmp_path: Path, host_env: dict[str, str]) -> None:
    with ReferenceHost(tmp_path / "data", env=host_env) as refhost:
        mine = dataclasses.replace(other_account(), id="a", name="a", connector="amazon")
        refhost.store.add_account(mine)
        services = SyncHost(refhost.store, refhost.plugins)
        key = DISMISSED_PREFIX + "302-1"  # the connector's own state: the sync reads it
        assert refhost.store.get_state(mine.id, key) is None
        refhost.plugins.dismiss_problem(mine, "302-1", services)
        assert refhost.store.get_state(mine.id, key) is not None
        with pytest.raises(NoConnectorError):  # not ours: the plugin answers None
            refhost.plugins.dismiss_problem(other_account(), "302-1", services)
        assert refhost.store.get_state(other_account().id, key) is None


def test_hook_import_report(tmp_path: Path, host_env: dict[str, str]) -> None:
    path = FIXTURES / "orders-invoicing-eu-cp1252.txt"
    with ReferenceHost(tmp_path / "data", env=host_env) as refhost:
        mine = dataclasses.replace(other_account(), id="a", name="a", connector="amazon")
        services = SyncHost(refhost.store, refhost.plugins)
        report = refhost.plugins.import_report(mine, path, services)
        with pytest.raises(NoConnectorError):
            refhost.plugins.import_report(other_account(), path, services)
    assert report.layout == "orders-invoicing"
    assert report.charset.lower() in {"cp1252", "windows-1252"}
    assert report.orders
    assert all(o.status is OrderStatus.OPEN for o in report.orders)
    assert any(o.billing_address is not None for o in report.orders)


def test_hook_map_address() -> None:
    row = {
        "recipient-name": "Jürgen Groß",
        "ship-address-1": "Hauptstraße 5",
        "ship-address-2": None,
        "ship-address-3": None,
        "ship-postal-code": "80331",
        "ship-city": "München",
        "ship-state": None,
        "ship-country": "DE",
        "ship-phone-number": None,
    }
    host = PluginHost()
    address = host.map_address(row=row, kind="shipping", account=other_account())
    assert address == Address(
        name="Jürgen Groß",
        lines=("Hauptstraße 5",),
        postal_code="80331",
        city="München",
        country_code="DE",
    )


def test_a_host_plugin_overrides_address_mapping() -> None:
    class Packstation:
        @hookspecs.hookimpl
        def map_address(self, row: dict[str, str | None], kind: str, account: Account) -> Address:
            return Address(
                name="Packstation 123", lines=(), postal_code=None, city=None, country_code="DE"
            )

    pm = make_plugin_manager()
    pm.register(Packstation())
    address = PluginHost(pm).map_address(row={}, kind="shipping", account=other_account())
    assert address is not None
    assert address.name == "Packstation 123"


def test_a_host_plugin_overrides_address_mapping_through_a_whole_sync(
    simulator: Simulator, tmp_path: Path, host_env: dict[str, str]
) -> None:
    class Packstation:
        @hookspecs.hookimpl
        def map_address(
            self, row: dict[str, str | None], kind: str, account: Account
        ) -> Address | None:
            if kind == "billing":
                return None  # falls through to the connector's own mapping
            return Address(
                name="Packstation 123", lines=(), postal_code=None, city=None, country_code="DE"
            )

    pm = make_plugin_manager()
    pm.register(Packstation())
    plugins = PluginHost(pm)
    with ReferenceHost(tmp_path / "data", plugins=plugins, env=host_env) as host:
        account = simulator_account(simulator)
        host.store.add_account(account)
        result = host.sync(account.name)
        assert result.ok, result.message
        orders = host.store.list_orders()
    assert orders
    assert {o.shipping_address.name for o in orders if o.shipping_address} == {"Packstation 123"}
    billed = [o.billing_address for o in orders if o.billing_address]
    assert billed
    assert all(a.name != "Packstation 123" and a.lines for a in billed)


def _named(name: str) -> Address:
    return Address(name=name, lines=(), postal_code=None, city=None, country_code="DE")


SHIPPING_ROW = {"recipient-name": "Jürgen Groß", "ship-city": "München", "ship-country": "DE"}


def test_the_sync_mapper_asks_the_implementations_as_pluggy_does() -> None:
    """``PluginHost.address_mapper`` (what a sync's ``map_address`` calls) answers as
    ``pm.hook.map_address``: later plugins first, tryfirst before them, None falls through to
    the next and in the end to the connector's own trylast mapping; an implementation gets
    the arguments it names."""
    asked: list[str] = []

    class Billing:  # registered first: asked after Later
        @hookspecs.hookimpl
        def map_address(self, row: dict[str, str | None], kind: str) -> Address | None:
            asked.append("billing")
            return _named("billing plugin") if kind == "billing" else None

    class Later:
        @hookspecs.hookimpl
        def map_address(self, kind: str, account: Account) -> Address | None:
            asked.append("later")
            return _named(f"later for {account.id}") if kind == "billing" else None

    class First:
        @hookspecs.hookimpl(tryfirst=True)
        def map_address(self, row: dict[str, str | None]) -> Address | None:
            asked.append("first")
            return _named("first") if row.get("recipient-name") == "Packstation" else None

    pm = make_plugin_manager()
    for extra in (First(), Billing(), Later()):
        pm.register(extra)
    host, account = PluginHost(pm), other_account()
    mapper = host.address_mapper(account)
    packstation = {**SHIPPING_ROW, "recipient-name": "Packstation"}
    cases: tuple[tuple[dict[str, str], Literal["billing", "shipping"]], ...] = (
        (SHIPPING_ROW, "billing"),
        (SHIPPING_ROW, "shipping"),
        (packstation, "shipping"),
    )
    for row, kind in cases:
        asked.clear()
        expected = pm.hook.map_address(row=row, kind=kind, account=account)
        by_pluggy = list(asked)
        asked.clear()
        assert mapper(row, kind) == expected
        assert asked == by_pluggy
    asked.clear()
    assert mapper(SHIPPING_ROW, "billing") == _named("later for x")
    assert asked == ["first", "later"]
    asked.clear()
    shipping = mapper(SHIPPING_ROW, "shipping")  # nobody but the connector's own mapping
    assert asked == ["first", "later", "billing"]
    assert shipping is not None
    assert (shipping.name, shipping.city) == ("Jürgen Groß", "München")
    assert mapper(packstation, "shipping") == _named("first")


def test_the_sync_mapper_goes_through_pluggy_when_a_wrapper_is_registered() -> None:
    seen: list[str] = []

    class Watcher:
        @hookspecs.hookimpl(wrapper=True)
        def map_address(self, kind: str) -> object:
            address = yield
            seen.append(kind)
            return address

    pm = make_plugin_manager()
    pm.register(Watcher())
    address = PluginHost(pm).address_mapper(other_account())(SHIPPING_ROW, "shipping")
    assert address is not None
    assert address.city == "München"
    assert seen == ["shipping"]


def test_hook_confirm_shipments(simulator: Simulator) -> None:
    pm = make_plugin_manager()
    account = simulator_account(simulator)
    now = simulator.clock.now()
    order = next(
        o
        for o in simulator.orders.values()
        if o.fulfillment_channel == "MFN" and o.purchase_date <= now and o.eligible(now)
        and o.state(now).value == "Unshipped"
    )  # fmt: skip
    package = Shipment(
        amazon_order_id=order.order_id,
        package_id=7,
        carrier="DHL",
        tracking_number="00340434161234567890",
        ship_date=now,
        items=tuple(ShipmentItem(i.order_item_id, i.quantity) for i in order.items),
        marketplace_id=order.marketplace.id,
    )
    host = MemoryHost(pm)
    outcomes = pm.hook.confirm_shipments(account=account, shipments=[package], host=host)
    assert [(o.package_id, o.state) for o in outcomes] == [(7, ShipmentState.CONFIRMED)]
    truth = simulator.ground_truth(packages=True)
    assert [p["package_reference_id"] for o in truth for p in o["packages"]] == ["7"]
    other = pm.hook.confirm_shipments(account=other_account(), shipments=[package], host=host)
    assert other is None
    pm.check_pending()


def test_hook_upload_invoices(simulator: Simulator) -> None:
    pm = make_plugin_manager()
    account = simulator_account(simulator)
    host = MemoryHost(pm)
    now = simulator.clock.now()
    order = next(
        o.host_order(now)
        for o in sorted(simulator.orders.values(), key=lambda o: o.order_id)
        if o.fulfillment_channel == "MFN" and o.purchase_date <= now
        and o.state(now).value == "Shipped" and o.marketplace.code == "DE"
    )  # fmt: skip
    assert order.total is not None
    host.upsert_order(account.id, order)
    invoice = Invoice(
        amazon_order_id=order.amazon_order_id,
        invoice_number="RE-1",
        document_type=DocumentType.INVOICE,
        total_amount=order.total,
        total_vat_amount=Decimal("0.00"),
        pdf=b"%PDF-1.7 invoice",
    )
    outcomes = pm.hook.upload_invoices(account=account, invoices=[invoice], host=host)
    assert [(o.invoice_number, o.state) for o in outcomes] == [("RE-1", InvoiceState.ACCEPTED)]
    truth = simulator.ground_truth(invoices=True)
    assert [i["invoice_number"] for o in truth for i in o["invoices"]] == ["RE-1"]
    other = pm.hook.upload_invoices(account=other_account(), invoices=[invoice], host=host)
    assert other is None
    pm.check_pending()
