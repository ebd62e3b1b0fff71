"""The host contract's hooks: the pluggy markers and hook specifications, nothing else.

The objects the hooks take and return are in ``contract``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import pluggy

from hyreka_plugin_amazon.contract import (
    Account,
    Address,
    ConnectorInfo,
    HostServices,
    LoginResult,
    SyncResult,
)

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
    """Return the SyncResult of importing the account's open orders, or None (firstresult)."""


@hookspec(firstresult=True)
def map_address(
    row: Mapping[str, str | None], kind: Literal["billing", "shipping"], account: Account
) -> Address | None:
    """Return the Address of a report row's billing or shipping columns, or None (firstresult)."""
