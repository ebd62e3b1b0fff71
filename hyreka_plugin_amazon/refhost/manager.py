"""The reference host's plugin manager: pluggy loading the ``hyreka`` entry points, typed."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal, cast

import pluggy

from hyreka_plugin_amazon import hookspecs
from hyreka_plugin_amazon.contract import (
    Account,
    Address,
    Authorization,
    ConnectorInfo,
    HostServices,
    Invoice,
    InvoiceOutcome,
    LoginResult,
    ReportImport,
    Shipment,
    ShipmentOutcome,
    SyncResult,
)
from hyreka_plugin_amazon.refhost.safety import logredaction
from hyreka_plugin_amazon.secret import Secret


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

    def connector(self, connector_id: str | None = None) -> ConnectorInfo:
        """The description of the connector ``connector_id``; without an id, the only one."""
        infos = self.connectors()
        if connector_id is None:
            if len(infos) != 1:
                raise NoConnectorError(f"{len(infos)} connectors loaded: say which one")
            return infos[0]
        for info in infos:
            if info.id == connector_id:
                return info
        raise NoConnectorError(f"no plugin handles connector {connector_id!r}")

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

    def dismiss_problem(self, account: Account, amazon_order_id: str, host: HostServices) -> None:
        done: bool | None = self.pm.hook.dismiss_problem(
            account=account, amazon_order_id=amazon_order_id, host=host
        )
        if done is None:
            raise NoConnectorError(f"no plugin handles connector {account.connector!r}")

    def import_report(
        self, account: Account, path: Path, host: HostServices, charset: str | None = None
    ) -> ReportImport:
        result: ReportImport | None = self.pm.hook.import_report(
            account=account, path=path, host=host, charset=charset
        )
        if result is None:
            raise NoConnectorError(f"no plugin handles connector {account.connector!r}")
        return result

    def confirm_shipments(
        self, account: Account, shipments: Sequence[Shipment], host: HostServices
    ) -> list[ShipmentOutcome]:
        """One outcome per shipment, in the shipments' order."""
        logredaction.register_account(account)
        outcomes: list[ShipmentOutcome] | None = self.pm.hook.confirm_shipments(
            account=account, shipments=list(shipments), host=host
        )
        if outcomes is None:
            raise NoConnectorError(f"no plugin handles connector {account.connector!r}")
        if [o.package_id for o in outcomes] != [s.package_id for s in shipments]:
            raise RuntimeError("the connector answered for other shipments than it was given")
        return outcomes

    def authorization_url(
        self, account: Account, *, application_id: str, state: str, redirect_uri: str, draft: bool
    ) -> str:
        """The consent page the seller's browser goes to (the website authorization workflow)."""
        url: str | None = self.pm.hook.authorization_url(
            account=account,
            application_id=application_id,
            state=state,
            redirect_uri=redirect_uri,
            draft=draft,
        )
        if url is None:
            raise NoConnectorError(f"no plugin connects accounts of {account.connector!r}")
        return url

    def exchange_authorization(
        self, account: Account, code: Secret, redirect_uri: str
    ) -> Authorization:
        """The consent's code exchanged for the account's refresh token (or why not)."""
        logredaction.register_account(account)
        logredaction.register(code)
        result: Authorization | None = self.pm.hook.exchange_authorization(
            account=account, code=code, redirect_uri=redirect_uri
        )
        if result is None:
            raise NoConnectorError(f"no plugin connects accounts of {account.connector!r}")
        logredaction.register(result.refresh_token)
        return result

    def map_address(
        self,
        *,
        row: Mapping[str, str | None],
        kind: Literal["billing", "shipping"],
        account: Account,
    ) -> Address | None:
        address: Address | None = self.pm.hook.map_address(row=row, kind=kind, account=account)
        return address

    def upload_invoices(
        self, account: Account, invoices: Sequence[Invoice], host: HostServices
    ) -> list[InvoiceOutcome]:
        """One outcome per invoice, in the invoices' order."""
        logredaction.register_account(account)
        outcomes: list[InvoiceOutcome] | None = self.pm.hook.upload_invoices(
            account=account, invoices=list(invoices), host=host
        )
        if outcomes is None:
            raise NoConnectorError(f"no plugin handles connector {account.connector!r}")
        if [o.key for o in outcomes] != [i.key for i in invoices]:
            raise RuntimeError("the connector answered for other invoices than it was given")
        return outcomes

    def address_mapper(self, account: Account) -> AddressMapper:
        """``map_address`` for the many rows of one account's sync: the hook's implementations
        are looked up once (``get_hookimpls``) and called as pluggy calls a firstresult hook,
        the last registered first (tryfirst and trylast as pluggy orders them), each with the
        arguments it names, until one answers other than None. pluggy looks them up and
        sets up its call again for every row (about 2 us of 5 per address).

        When a ``map_address`` implementation is a wrapper, every row goes through
        ``pm.hook.map_address`` instead. Plugins registered after this call are not asked by
        this mapper (a sync makes its own); hook-call monitoring does not see its calls.
        """
        impls = self.pm.hook.map_address.get_hookimpls()
        if any(impl.wrapper or impl.hookwrapper for impl in impls):

            def through_pluggy(
                row: Mapping[str, str | None], kind: Literal["billing", "shipping"]
            ) -> Address | None:
                return self.map_address(row=row, kind=kind, account=account)

            return through_pluggy
        calls = [(impl.function, impl.argnames) for impl in reversed(impls)]

        def mapper(
            row: Mapping[str, str | None], kind: Literal["billing", "shipping"]
        ) -> Address | None:
            given: dict[str, object] = {"row": row, "kind": kind, "account": account}
            for function, names in calls:
                address = function(*[given[name] for name in names])
                if address is not None:
                    return cast(Address, address)  # what the hookspec says it returns
            return None

        return mapper


AddressMapper = Callable[[Mapping[str, str | None], Literal["billing", "shipping"]], Address | None]
