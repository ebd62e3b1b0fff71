"""Host accounts pointing at a running simulator, with fast polling settings."""

from __future__ import annotations

from hyreka_plugin_amazon.connector import CONNECTOR_ID
from hyreka_plugin_amazon.contract import Account
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.sellers import Seller
from hyreka_plugin_amazon.spapi.regions import marketplace

SIM_MARKETPLACES = ("DE", "FR", "IT", "ES", "UK")
# fba_orders off: these accounts test the seller-fulfilled flow (tests/test_fba_*.py switch
# the FBA import on, as the default for EU accounts is)
FAST_SETTINGS = {
    "poll_interval": "0.05",
    "max_poll_interval": "0.2",
    "report_deadline": "60",
    "fba_orders": "false",
}


def simulator_account(
    sim: Simulator, name: str = "sim", marketplaces: tuple[str, ...] = SIM_MARKETPLACES
) -> Account:
    creds = sim.credentials
    return Account(
        id=name,
        name=name,
        connector=CONNECTOR_ID,
        region="eu",
        marketplace_ids=tuple(marketplace(m).id for m in marketplaces),
        client_id=creds.client_id,
        client_secret=Secret(creds.client_secret),
        refresh_token=Secret(creds.refresh_token),
        endpoint=sim.url,
        token_url=sim.token_url,
        settings=dict(FAST_SETTINGS),
    )


def seller_account(sim: Simulator, seller: Seller, name: str, **settings: str) -> Account:
    """A host account for a further simulator seller (own credentials, buckets and orders)."""
    creds = seller.credentials
    return Account(
        id=name,
        name=name,
        connector=CONNECTOR_ID,
        region="eu",
        marketplace_ids=tuple(m.id for m in seller.marketplaces),
        client_id=creds.client_id,
        client_secret=Secret(creds.client_secret),
        refresh_token=Secret(creds.refresh_token),
        endpoint=sim.url,
        token_url=sim.token_url,
        settings={**FAST_SETTINGS, **settings},
    )
