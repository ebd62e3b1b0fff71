"""The hook implementations: thin, each calling a plain function that tests call directly.

Each hook imports its implementation when it is called: loading the plugin (a host's plugin
manager does it at start) and ``register_connector`` cost no HTTP client, report reader or
sync, so a host's command that only reads its own data starts fast."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal

from hyreka_plugin_amazon.connector import CONNECTOR_ID, connector_info
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
from hyreka_plugin_amazon.hookspecs import hookimpl
from hyreka_plugin_amazon.secret import Secret


@hookimpl
def register_connector() -> ConnectorInfo:
    return connector_info()


@hookimpl
def test_login(account: Account) -> LoginResult | None:
    if account.connector != CONNECTOR_ID:
        return None
    from hyreka_plugin_amazon.login import check_login

    return check_login(account)


@hookimpl
def sync_orders(account: Account, host: HostServices) -> SyncResult | None:
    if account.connector != CONNECTOR_ID:
        return None
    from hyreka_plugin_amazon.sync import sync_account

    return sync_account(
        account,
        host,
        map_address=lambda row, kind: host.map_address(row=row, kind=kind, account=account),
    )


@hookimpl(trylast=True)
def map_address(
    row: Mapping[str, str | None], kind: Literal["billing", "shipping"], account: Account
) -> Address | None:
    return _default_mapping()(row, kind)


@functools.cache
def _default_mapping() -> Callable[
    [Mapping[str, str | None], Literal["billing", "shipping"]], Address | None
]:
    """``reports.addresses.default_map_address``, imported at the first address: a sync maps
    two addresses an order, and an import statement costs several times a cached call."""
    from hyreka_plugin_amazon.reports.addresses import default_map_address

    return default_map_address


@hookimpl
def dismiss_problem(account: Account, amazon_order_id: str, host: HostServices) -> bool | None:
    if account.connector != CONNECTOR_ID:
        return None
    from hyreka_plugin_amazon.sync import record_dismissal

    record_dismissal(host, account.id, amazon_order_id)
    return True


@hookimpl
def import_report(
    account: Account, path: Path, host: HostServices, charset: str | None
) -> ReportImport | None:
    if account.connector != CONNECTOR_ID:
        return None
    from hyreka_plugin_amazon.importing import import_report_file

    return import_report_file(account, path, host, charset=charset)


@hookimpl
def confirm_shipments(
    account: Account, shipments: Sequence[Shipment], host: HostServices
) -> list[ShipmentOutcome] | None:
    if account.connector != CONNECTOR_ID:
        return None
    from hyreka_plugin_amazon.shipping import confirm_shipments

    return confirm_shipments(account, shipments, host)


@hookimpl
def authorization_url(
    account: Account, application_id: str, state: str, redirect_uri: str, draft: bool
) -> str | None:
    if account.connector != CONNECTOR_ID:
        return None
    from hyreka_plugin_amazon import authorizing

    return authorizing.authorization_url(
        account, application_id=application_id, state=state, redirect_uri=redirect_uri, draft=draft
    )


@hookimpl
def exchange_authorization(
    account: Account, code: Secret, redirect_uri: str
) -> Authorization | None:
    if account.connector != CONNECTOR_ID:
        return None
    from hyreka_plugin_amazon import authorizing

    return authorizing.exchange(account, code, redirect_uri)


@hookimpl
def upload_invoices(
    account: Account, invoices: Sequence[Invoice], host: HostServices
) -> list[InvoiceOutcome] | None:
    if account.connector != CONNECTOR_ID:
        return None
    from hyreka_plugin_amazon.invoices import upload_invoices as upload_all

    return upload_all(account, invoices, host)
