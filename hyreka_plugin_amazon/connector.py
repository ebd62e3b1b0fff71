"""What this connector tells the host about itself: labels, account fields, actions, polling.

Every text comes from the message catalogs (``connector.*`` ids) in each language.
"""

from __future__ import annotations

from typing import Final, Literal

from hyreka_plugin_amazon.carriers import CARRIER_CODES, OTHER
from hyreka_plugin_amazon.contract import (
    AccountField,
    Choice,
    ConnectorInfo,
    PollingInfo,
    SettingInfo,
)
from hyreka_plugin_amazon.messages import labels
from hyreka_plugin_amazon.spapi.regions import MARKETPLACES, REGIONS

CONNECTOR_ID: Final = "amazon"
SECRET_FIELDS: Final = frozenset({"client_secret", "refresh_token"})
ACTIONS: Final = ("test_login", "sync_orders", "confirm_shipments", "upload_invoices")
# The account setting (Account.settings["fba_orders"]): "true"/"false"; absent: on in the EU
# (``fba.fba_orders_enabled``).
FBA_ORDERS_SETTING: Final = "fba_orders"
# Each sync creates two reports; Amazon refills createReport at one a minute (burst 15), so
# polling more often than every 5 minutes would eat the burst and end in throttling.
POLLING: Final = PollingInfo(default_minutes=15, min_minutes=5, max_backoff_minutes=240)
# Codes sellers type for a marketplace besides its own (Amazon's table says UK, ISO says GB).
_ALIASES: Final = {"UK": ("GB",)}
ORDER_REPORTS: Final = (
    "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
    "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING",
    "GET_FLAT_FILE_ORDER_REPORT_DATA_TAX",
)
MAX_LOOKBACK_DAYS: Final = 60  # reports reach back further, but a first import stays small
# Who makes the buyer's invoices: the seller's ERP uploads them ("own"), Amazon's VAT
# Calculation Service makes them ("vcs": nothing is uploaded), or nobody here ("off").
INVOICING_SETTING: Final = "invoicing"
INVOICING_MODES: Final = ("own", "vcs", "off")


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
        capabilities=(
            "orders",
            "billing_address",
            "background_sync",
            "import_report",
            "shipping_confirmation",
            "invoice_upload",
        ),
        actions={action: labels(f"connector.action.{action}") for action in ACTIONS},
        polling=POLLING,
        settings=settings(),
        carriers=carriers(),
        other_carrier=OTHER,
    )


# The carriers German and European sellers ship with most, offered first.
COMMON_CARRIERS: Final = (
    "DHL", "Deutsche Post", "DPD", "Hermes Logistik Gruppe", "GLS", "UPS", "FedEx", "GO!",
    "TNT", "Royal Mail", "La Poste", "Chronopost", "Poste Italiane", "SDA",
)  # fmt: skip
_CARRIER_NAMES: Final = {"Hermes Logistik Gruppe": "Hermes"}


def carriers() -> tuple[Choice, ...]:
    """Amazon's carrier codes (``carriers.CARRIER_CODES``) as choices: the common ones first,
    then the others by name; "Other" is ``other_carrier``, not a choice."""
    rest = sorted((c for c in CARRIER_CODES if c not in (*COMMON_CARRIERS, OTHER)), key=str.lower)
    return tuple(
        Choice(
            value=code,
            label=dict.fromkeys(("de", "en"), _CARRIER_NAMES.get(code, code)),
            group="common" if code in COMMON_CARRIERS else None,
        )
        for code in (*COMMON_CARRIERS, *rest)
    )


def settings() -> tuple[SettingInfo, ...]:
    """The account settings the sync and the host's polling read, each defined here once: the
    host checks input against them, ``sync.SyncSettings`` reads its values through them."""
    return (
        _setting("lookback_days", "integer", "30", 1, MAX_LOOKBACK_DAYS),
        _setting(POLLING.interval_setting, "integer", str(POLLING.default_minutes), 5, 1440),
        _setting(POLLING.enabled_setting, "choice", "on", choices=("on", "off")),
        _setting("overlap_minutes", "integer", "60", 0, 1440),
        _setting("order_report_type", "choice", "", choices=ORDER_REPORTS),
        _setting("report_check_seconds", "number", "15", 0, 600, aliases=("poll_interval",)),
        _setting(
            "report_check_max_seconds", "number", "60", 0, 3600, aliases=("max_poll_interval",)
        ),
        _setting("report_wait_seconds", "number", "1800", 1, 7200, aliases=("report_deadline",)),
        # empty: on for accounts in the EU (where the FBA invoicing report exists)
        _setting(FBA_ORDERS_SETTING, "choice", "", choices=("", "true", "false")),
        _setting(INVOICING_SETTING, "choice", "own", choices=INVOICING_MODES),
    )


def _setting(
    key: str,
    kind: Literal["integer", "number", "choice"],
    default: str,
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    choices: tuple[str, ...] = (),
    aliases: tuple[str, ...] = (),
) -> SettingInfo:
    return SettingInfo(
        key,
        kind,
        default,
        labels(f"connector.setting.{key}.label"),
        labels(f"connector.setting.{key}.help"),
        minimum=minimum,
        maximum=maximum,
        choices=choices,
        aliases=aliases,
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
