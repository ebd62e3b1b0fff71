"""What this connector tells the host about itself: labels, account fields, actions.

Every text comes from the message catalogs (``connector.*`` ids) in each language.
"""

from __future__ import annotations

from typing import Final, Literal

from hyreka_plugin_amazon.contract import AccountField, ConnectorInfo
from hyreka_plugin_amazon.messages import labels
from hyreka_plugin_amazon.spapi.regions import MARKETPLACES, REGIONS

CONNECTOR_ID: Final = "amazon"
SECRET_FIELDS: Final = frozenset({"client_secret", "refresh_token"})
ACTIONS: Final = ("test_login", "sync_orders")


def connector_info() -> ConnectorInfo:
    """The description the host renders the "Accounts" and "Bestellungen" tabs from."""
    return ConnectorInfo(
        id=CONNECTOR_ID,
        label=labels("connector.label"),
        fields=(
            _field("client_id"),
            _field("client_secret"),
            _field("refresh_token"),
            _field("region", kind="choice", choices=tuple(REGIONS)),
            _field("marketplaces", kind="multichoice", choices=tuple(m.code for m in MARKETPLACES)),
        ),
        capabilities=("orders", "billing_address", "background_sync"),
        actions={action: labels(f"connector.action.{action}") for action in ACTIONS},
    )


def _field(
    key: str,
    *,
    kind: Literal["text", "choice", "multichoice"] = "text",
    choices: tuple[str, ...] = (),
) -> AccountField:
    return AccountField(
        key,
        labels(f"connector.field.{key}.label"),
        labels(f"connector.field.{key}.help"),
        secret=key in SECRET_FIELDS,
        kind=kind,
        choices=choices,
    )
