"""The host contract's hooks: the pluggy markers and hook specifications, nothing else.

The objects the hooks take and return are in ``contract``.

Language: a hook that returns texts for the seller (messages, warnings, reasons) writes them in
the language of ``account.locale``. The host passes the account with the language of the run
or request, a copy for that one call (``dataclasses.replace(account, locale="en")``); it never
has to store a language to be answered in it, and a background run gets the stored account,
in the seller's own language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Literal

import pluggy

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
from hyreka_plugin_amazon.secret import Secret

PROJECT = "hyreka"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


# --------------------------------------------------------------------------------------------
# Hook specifications


@hookspec
def register_connector() -> ConnectorInfo:  # type: ignore[empty-body]
    """Return this plugin's ConnectorInfo; every plugin answers (one item each)."""


@hookspec(firstresult=True)
def test_login(account: Account) -> LoginResult | None:
    """Return the LoginResult for the account, or None for another connector's (firstresult)."""


@hookspec(firstresult=True)
def sync_orders(account: Account, host: HostServices) -> SyncResult | None:
    """Return the SyncResult of importing the account's open orders, or None (firstresult).

    Each order handed to ``host.upsert_order`` carries every amount its report has
    (``OrderLine``: item, shipping, gift wrap, promotions, taxes, Japan's points; None for
    an amount the report does not say, never an invented 0); a money column the connector
    does not know is a warning in the result, naming it.
    """


@hookspec(firstresult=True)
def map_address(
    row: Mapping[str, str | None], kind: Literal["billing", "shipping"], account: Account
) -> Address | None:
    """Return the Address of a report row's billing or shipping columns, or None (firstresult)."""


@hookspec(firstresult=True)
def dismiss_problem(account: Account, amazon_order_id: str, host: HostServices) -> bool | None:
    """Return True once the seller's dismissal of the order's import problem is recorded.

    The connector keeps the dismissal in its own state (through ``host``): later syncs stop
    retrying the order and no longer hold their window for it. The host unlists the problem
    itself. None for another connector's account (firstresult).
    """


@hookspec(firstresult=True)
def import_report(
    account: Account, path: Path, host: HostServices, charset: str | None
) -> ReportImport | None:
    """Return the ReportImport of a report file the seller downloaded by hand, or None.

    Reads the file (``charset`` None: detected) into orders and row problems, mapping
    addresses through ``host.map_address``; stores nothing: the host upserts the orders it
    wants. Amounts as in ``sync_orders``: an order of a report without prices (the
    unshipped-orders report) has None amounts and ``prices_missing``, and ``warnings`` says so.
    Raises ValueError (LookupError for an unknown charset) when the file is not an
    order report or cannot be decoded. None for another connector's account (firstresult).
    """


@hookspec(firstresult=True)
def confirm_shipments(
    account: Account, shipments: Sequence[Shipment], host: HostServices
) -> list[ShipmentOutcome] | None:
    """Return one ShipmentOutcome per shipment, in order, after telling Amazon about them.

    Each shipment is confirmed (Amazon has the package), refused (wrong as given, with the
    reason; nothing was changed at Amazon by it) or to be retried (Amazon could not be reached
    or throttled; send the same shipment again later, it is never doubled). The connector reads
    the host's order (``host.get_order``) for its marketplace and to check items and
    quantities before Amazon is called; of an ``all_items`` shipment it leaves out what Amazon
    counts as shipped already (the outcome's ``items`` says what the package holds). Never
    raises for Amazon's answers. None for another connector's account (firstresult).
    """


@hookspec(firstresult=True)
def authorization_url(
    account: Account, application_id: str, state: str, redirect_uri: str, draft: bool
) -> str | None:
    """Return the consent page URL the seller's browser goes to for the account, or None."""


@hookspec(firstresult=True)
def exchange_authorization(
    account: Account, code: Secret, redirect_uri: str
) -> Authorization | None:
    """Return the Authorization of exchanging a consent's code for a refresh token, or None."""


@hookspec(firstresult=True)
def upload_invoices(
    account: Account, invoices: Sequence[Invoice], host: HostServices
) -> list[InvoiceOutcome] | None:
    """Return one InvoiceOutcome per invoice, in order, never uploading one twice (firstresult)."""
