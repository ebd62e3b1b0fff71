"""The hook implementations: thin, each calling a plain function that tests call directly."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

from hyreka_plugin_amazon import authorizing
from hyreka_plugin_amazon.connector import CONNECTOR_ID, connector_info
from hyreka_plugin_amazon.contract import (
    Account,
    Address,
    Authorization,
    ConnectorInfo,
    HostServices,
    LoginResult,
    ReportImport,
    Shipment,
    ShipmentOutcome,
    SyncResult,
)
from hyreka_plugin_amazon.hookspecs import hookimpl
from hyreka_plugin_amazon.importing import import_report_file
from hyreka_plugin_amazon.login import check_login
from hyreka_plugin_amazon.reports.addresses import default_map_address
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.shipping import confirm_shipments as confirm_all
from hyreka_plugin_amazon.sync import record_dismissal, sync_account


@hookimpl
def register_connector() -> ConnectorInfo:
    return connector_info()


@hookimpl
def test_login(account: Account) -> LoginResult | None:
    if account.connector != CONNECTOR_ID:
        return None
    return check_login(account)


@hookimpl
def sync_orders(account: Account, host: HostServices) -> SyncResult | None:
    if account.connector != CONNECTOR_ID:
        return None
    return sync_account(
        account,
        host,
        map_address=lambda row, kind: host.map_address(row=row, kind=kind, account=account),
    )


@hookimpl(trylast=True)
def map_address(
    row: Mapping[str, str | None], kind: Literal["billing", "shipping"], account: Account
) -> Address | None:
    return default_map_address(row, kind)


@hookimpl
def dismiss_problem(account: Account, amazon_order_id: str, host: HostServices) -> bool | None:
    if account.connector != CONNECTOR_ID:
        return None
    record_dismissal(host, account.id, amazon_order_id)
    return True


@hookimpl
def import_report(
    account: Account, path: Path, host: HostServices, charset: str | None
) -> ReportImport | None:
    if account.connector != CONNECTOR_ID:
        return None
    return import_report_file(account, path, host, charset=charset)


@hookimpl
def confirm_shipments(
    account: Account, shipments: Sequence[Shipment], host: HostServices
) -> list[ShipmentOutcome] | None:
    if account.connector != CONNECTOR_ID:
        return None
    return confirm_all(account, shipments, host)


@hookimpl
def authorization_url(
    account: Account, application_id: str, state: str, redirect_uri: str, draft: bool
) -> str | None:
    if account.connector != CONNECTOR_ID:
        return None
    return authorizing.authorization_url(
        account, application_id=application_id, state=state, redirect_uri=redirect_uri, draft=draft
    )


@hookimpl
def exchange_authorization(
    account: Account, code: Secret, redirect_uri: str
) -> Authorization | None:
    if account.connector != CONNECTOR_ID:
        return None
    return authorizing.exchange(account, code, redirect_uri)
