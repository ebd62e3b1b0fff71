"""The reference host's plugin manager: pluggy loading the ``hyreka`` entry points, typed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import pluggy

from hyreka_plugin_amazon import hookspecs, plugin
from hyreka_plugin_amazon.contract import (
    Account,
    Address,
    ConnectorInfo,
    HostServices,
    LoginResult,
    SyncResult,
)
from hyreka_plugin_amazon.refhost import logredaction


class NoConnectorError(LookupError):
    """No loaded plugin answers for the account's connector."""


def make_plugin_manager(*, load_entry_points: bool = True) -> pluggy.PluginManager:
    """A ``PluginManager("hyreka")`` with the hook specs and the installed plugins."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    if load_entry_points:
        pm.load_setuptools_entrypoints(hookspecs.PROJECT)
    pm.check_pending()
    return pm


class PluginHost:
    """A typed facade over ``pm.hook``: hooks are called with keyword arguments only."""

    def __init__(self, pm: pluggy.PluginManager | None = None) -> None:
        self.pm = pm if pm is not None else make_plugin_manager()

    def connectors(self) -> list[ConnectorInfo]:
        infos: list[ConnectorInfo] = self.pm.hook.register_connector()
        return infos

    def test_login(self, account: Account) -> LoginResult:
        logredaction.register_account(account)
        result: LoginResult | None = self.pm.hook.test_login(account=account)
        if result is None:
            raise NoConnectorError(f"no plugin handles connector {account.connector!r}")
        return result

    def sync_orders(self, account: Account, host: HostServices) -> SyncResult:
        logredaction.register_account(account)
        result: SyncResult | None = self.pm.hook.sync_orders(account=account, host=host)
        if result is None:
            raise NoConnectorError(f"no plugin handles connector {account.connector!r}")
        return result

    def maps_addresses_by_default(self) -> bool:
        """Whether only this connector's own (trylast) ``map_address`` is registered, so that
        the hook's answer is ``default_map_address``'s (callers may skip pluggy's dispatch)."""
        impls = self.pm.hook.map_address.get_hookimpls()
        return bool(impls) and all(impl.function is plugin.map_address for impl in impls)

    def map_address(
        self,
        *,
        row: Mapping[str, str | None],
        kind: Literal["billing", "shipping"],
        account: Account,
    ) -> Address | None:
        address: Address | None = self.pm.hook.map_address(row=row, kind=kind, account=account)
        return address
