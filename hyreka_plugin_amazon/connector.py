"""What this connector tells the host about itself: labels, account fields, actions."""

from __future__ import annotations

from typing import Final

from hyreka_plugin_amazon.hookspecs import AccountField, ConnectorInfo
from hyreka_plugin_amazon.spapi.regions import MARKETPLACES, REGIONS

CONNECTOR_ID: Final = "amazon"


def connector_info() -> ConnectorInfo:
    """The description the host renders the "Accounts" and "Bestellungen" tabs from."""
    return ConnectorInfo(
        id=CONNECTOR_ID,
        label={"de": "Amazon (Seller Central)", "en": "Amazon (Seller Central)"},
        fields=(
            AccountField(
                "client_id",
                {"de": "LWA-Client-ID", "en": "LWA client id"},
                {
                    "de": "Aus dem Solution Provider Portal: Develop Apps > LWA-Anmeldedaten.",
                    "en": "From the Solution Provider Portal: Develop Apps > LWA credentials.",
                },
            ),
            AccountField(
                "client_secret",
                {"de": "LWA-Client-Secret", "en": "LWA client secret"},
                {
                    "de": "Geheim; muss alle 180 Tage in Amazons Portal erneuert werden.",
                    "en": "Secret; must be rotated in Amazon's portal every 180 days.",
                },
                secret=True,
            ),
            AccountField(
                "refresh_token",
                {"de": "Refresh-Token", "en": "Refresh token"},
                {
                    "de": "Entsteht beim Autorisieren der App für Ihr Verkäuferkonto (Atzr|…).",
                    "en": "Issued when you authorise the app for your seller account (Atzr|…).",
                },
                secret=True,
            ),
            AccountField(
                "region",
                {"de": "Region", "en": "Region"},
                {
                    "de": "eu für Europa (inkl. UK), na für Amerika, fe für Fernost.",
                    "en": "eu for Europe (incl. UK), na for the Americas, fe for the Far East.",
                },
                kind="choice",
                choices=tuple(REGIONS),
            ),
            AccountField(
                "marketplaces",
                {"de": "Marktplätze", "en": "Marketplaces"},
                {
                    "de": "Die Marktplätze, deren Bestellungen übernommen werden (z. B. DE, FR).",
                    "en": "The marketplaces whose orders are imported (e.g. DE, FR).",
                },
                kind="multichoice",
                choices=tuple(m.code for m in MARKETPLACES),
            ),
        ),
        capabilities=("orders", "billing_address", "background_sync"),
        actions={
            "test_login": {"de": "Anmeldung testen", "en": "Test login"},
            "sync_orders": {"de": "Synchronisieren", "en": "Synchronise"},
        },
    )
