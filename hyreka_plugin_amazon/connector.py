"""What this connector tells the host about itself: labels, account fields, actions, polling.

Every text comes from the message catalogs (``connector.*`` ids) in each language.
"""

from __future__ import annotations

from typing import Final, Literal

from hyreka_plugin_amazon.contract import AccountField, Choice, ConnectorInfo, PollingInfo
from hyreka_plugin_amazon.messages import labels
from hyreka_plugin_amazon.spapi.regions import MARKETPLACES, REGIONS

CONNECTOR_ID: Final = "amazon"
SECRET_FIELDS: Final = frozenset({"client_secret", "refresh_token"})
ACTIONS: Final = ("test_login", "sync_orders")
# Each sync creates two reports; Amazon refills createReport at one a minute (burst 15), so
# polling more often than every 5 minutes would eat the burst and end in throttling.
POLLING: Final = PollingInfo(default_minutes=15, min_minutes=5, max_backoff_minutes=240)
# Codes sellers type for a marketplace besides its own (Amazon's table says UK, ISO says GB).
_ALIASES: Final = {"UK": ("GB",)}


_REGION_NAMES = {
    "eu": {"de": "Europa", "en": "Europe"},
    "na": {"de": "Nordamerika", "en": "North America"},
    "fe": {"de": "Fernost", "en": "Far East"},
}


def connector_info() -> ConnectorInfo:
    """The description the host renders the "Accounts" and "Bestellungen" tabs from."""
    regions = tuple(
        Choice(
            code,
            {lang: f"{name} ({code.upper()})" for lang, name in _REGION_NAMES[code].items()},
            code=code,
        )
        for code in REGIONS
    )
    marketplaces = tuple(
        Choice(
            m.id,
            {"de": f"{m.domain} ({m.code})", "en": f"{m.domain} ({m.code})"},
            code=m.code,
            group=m.region,
            aliases=_ALIASES.get(m.code, ()),
        )
        for m in MARKETPLACES
    )
    return ConnectorInfo(
        id=CONNECTOR_ID,
        label=labels("connector.label"),
        fields=(
            _field("client_id"),
            _field("client_secret"),
            _field("refresh_token"),
            _field("region", kind="choice", choices=regions),
            _field("marketplaces", kind="multichoice", choices=marketplaces, grouped_by="region"),
        ),
        capabilities=("orders", "billing_address", "background_sync", "import_report"),
        actions={action: labels(f"connector.action.{action}") for action in ACTIONS},
        polling=POLLING,
    )


def _field(
    key: str,
    *,
    kind: Literal["text", "choice", "multichoice"] = "text",
    choices: tuple[Choice, ...] = (),
    grouped_by: str | None = None,
) -> AccountField:
    return AccountField(
        key,
        labels(f"connector.field.{key}.label"),
        labels(f"connector.field.{key}.help"),
        secret=key in SECRET_FIELDS,
        kind=kind,
        choices=choices,
        grouped_by=grouped_by,
    )
