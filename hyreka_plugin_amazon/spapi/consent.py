"""Seller Central's consent page of the website authorization workflow: its address for a
marketplace (Amazon's table of Seller Central URLs) and the authorization URI a seller's
browser is sent to."""

from __future__ import annotations

from urllib.parse import urlencode

from hyreka_plugin_amazon.spapi.regions import marketplace
from hyreka_plugin_amazon.spapi.transport import checked_url

CONSENT_PATH = "/apps/authorize/consent"
_EUROPE = "https://sellercentral-europe.amazon.com"
# marketplace code -> its Seller Central (Amazon: "Seller Central URLs")
SELLER_CENTRAL: dict[str, str] = {
    "CA": "https://sellercentral.amazon.ca",
    "US": "https://sellercentral.amazon.com",
    "MX": "https://sellercentral.amazon.com.mx",
    "BR": "https://sellercentral.amazon.com.br",
    "IE": "https://sellercentral.amazon.ie",
    "ES": _EUROPE,
    "UK": _EUROPE,
    "FR": _EUROPE,
    "BE": "https://sellercentral.amazon.com.be",
    "NL": "https://sellercentral.amazon.nl",
    "DE": _EUROPE,
    "IT": _EUROPE,
    "SE": "https://sellercentral.amazon.se",
    "ZA": "https://sellercentral.amazon.co.za",
    "PL": "https://sellercentral.amazon.pl",
    "EG": "https://sellercentral.amazon.eg",
    "TR": "https://sellercentral.amazon.com.tr",
    "SA": "https://sellercentral.amazon.sa",
    "AE": "https://sellercentral.amazon.ae",
    "IN": "https://sellercentral.amazon.in",
    "SG": "https://sellercentral.amazon.sg",
    "AU": "https://sellercentral.amazon.com.au",
    "JP": "https://sellercentral.amazon.co.jp",
}


def consent_url(
    marketplace_id: str,
    *,
    application_id: str,
    state: str,
    redirect_uri: str,
    draft: bool = False,
    seller_central: str | None = None,
) -> str:
    """The authorization URI of the marketplace's Seller Central (``seller_central``: another
    one, the simulator's): ``/apps/authorize/consent?application_id=…&state=…`` with the
    redirect URI, and ``version=beta`` for an app in draft. ValueError for an unknown
    marketplace or a base that is neither https nor loopback."""
    base = checked_url(
        seller_central or SELLER_CENTRAL[marketplace(marketplace_id).code], "seller_central"
    )
    params = {"application_id": application_id, "state": state, "redirect_uri": redirect_uri}
    if draft:
        params["version"] = "beta"
    return f"{base}{CONSENT_PATH}?{urlencode(params)}"
