"""SP-API regions, their hosts, and Amazon's marketplace table."""

from __future__ import annotations

from dataclasses import dataclass

LWA_TOKEN_URL = "https://api.amazon.com/auth/o2/token"  # noqa: S105 (a URL, not a secret)


@dataclass(frozen=True)
class Region:
    code: str  # "na", "eu", "fe"
    endpoint: str
    sandbox_endpoint: str


REGIONS: dict[str, Region] = {
    "na": Region(
        "na",
        "https://sellingpartnerapi-na.amazon.com",
        "https://sandbox.sellingpartnerapi-na.amazon.com",
    ),
    "eu": Region(
        "eu",
        "https://sellingpartnerapi-eu.amazon.com",
        "https://sandbox.sellingpartnerapi-eu.amazon.com",
    ),
    "fe": Region(
        "fe",
        "https://sellingpartnerapi-fe.amazon.com",
        "https://sandbox.sellingpartnerapi-fe.amazon.com",
    ),
}


@dataclass(frozen=True)
class Marketplace:
    id: str
    code: str  # country code as Amazon's marketplace table shows it
    country_code: str  # ISO 3166-1 alpha-2
    region: str
    domain: str  # the sales channel as reports show it, e.g. "Amazon.de"
    currency: str
    charset: str  # the charset Amazon serves flat files of this marketplace in (observed)


MARKETPLACES: tuple[Marketplace, ...] = (
    Marketplace("A2EUQ1WTGCTBG2", "CA", "CA", "na", "Amazon.ca", "CAD", "UTF-8"),
    Marketplace("ATVPDKIKX0DER", "US", "US", "na", "Amazon.com", "USD", "UTF-8"),
    Marketplace("A1AM78C64UM0Y8", "MX", "MX", "na", "Amazon.com.mx", "MXN", "UTF-8"),
    Marketplace("A2Q3Y263D00KWC", "BR", "BR", "na", "Amazon.com.br", "BRL", "UTF-8"),
    Marketplace("A28R8C7NBKEWEA", "IE", "IE", "eu", "Amazon.ie", "EUR", "Cp1252"),
    Marketplace("A1RKKUPIHCS9HS", "ES", "ES", "eu", "Amazon.es", "EUR", "Cp1252"),
    Marketplace("A1F83G8C2ARO7P", "UK", "GB", "eu", "Amazon.co.uk", "GBP", "Cp1252"),
    Marketplace("A13V1IB3VIYZZH", "FR", "FR", "eu", "Amazon.fr", "EUR", "Cp1252"),
    Marketplace("AMEN7PMS3EDWL", "BE", "BE", "eu", "Amazon.com.be", "EUR", "Cp1252"),
    Marketplace("A1805IZSGTT6HS", "NL", "NL", "eu", "Amazon.nl", "EUR", "Cp1252"),
    Marketplace("A1PA6795UKMFR9", "DE", "DE", "eu", "Amazon.de", "EUR", "Cp1252"),
    Marketplace("APJ6JRA9NG5V4", "IT", "IT", "eu", "Amazon.it", "EUR", "Cp1252"),
    Marketplace("A2NODRKZP88ZB9", "SE", "SE", "eu", "Amazon.se", "SEK", "Cp1252"),
    Marketplace("AE08WJ6YKNBMC", "ZA", "ZA", "eu", "Amazon.co.za", "ZAR", "Cp1252"),
    Marketplace("A1C3SOZRARQ6R3", "PL", "PL", "eu", "Amazon.pl", "PLN", "Cp1252"),
    Marketplace("ARBP9OOSHTCHU", "EG", "EG", "eu", "Amazon.eg", "EGP", "UTF-8"),
    Marketplace("A33AVAJ2PDY3EV", "TR", "TR", "eu", "Amazon.com.tr", "TRY", "UTF-8"),
    Marketplace("A17E79C6D8DWNP", "SA", "SA", "eu", "Amazon.sa", "SAR", "UTF-8"),
    Marketplace("A2VIGQ35RCS4UG", "AE", "AE", "eu", "Amazon.ae", "AED", "UTF-8"),
    Marketplace("A21TJRUUN4KGV", "IN", "IN", "eu", "Amazon.in", "INR", "UTF-8"),
    Marketplace("A19VAU5U5O7RUS", "SG", "SG", "fe", "Amazon.sg", "SGD", "UTF-8"),
    Marketplace("A39IBJ37TRP1C6", "AU", "AU", "fe", "Amazon.com.au", "AUD", "UTF-8"),
    Marketplace("A1VC38T7YXB528", "JP", "JP", "fe", "Amazon.co.jp", "JPY", "Shift_JIS"),
)

_BY_ID = {m.id: m for m in MARKETPLACES}
_BY_CODE = {m.code: m for m in MARKETPLACES} | {"GB": _BY_ID["A1F83G8C2ARO7P"]}
_BY_DOMAIN = {m.domain.lower(): m for m in MARKETPLACES}


class UnknownMarketplaceError(ValueError):
    """A marketplace code or id that is not in Amazon's table."""


def marketplace(code_or_id: str) -> Marketplace:
    """Look a marketplace up by its id (A1PA6795UKMFR9) or country code (DE, UK/GB)."""
    key = code_or_id.strip()
    found = _BY_ID.get(key) or _BY_CODE.get(key.upper())
    if found is None:
        raise UnknownMarketplaceError(f"unknown Amazon marketplace {code_or_id!r}")
    return found


def marketplace_by_sales_channel(sales_channel: str | None) -> Marketplace | None:
    """The marketplace of a report's ``sales-channel`` value (``Amazon.de``), or None."""
    if not sales_channel:
        return None
    return _BY_DOMAIN.get(sales_channel.strip().lower())


def region(code: str) -> Region:
    try:
        return REGIONS[code.lower()]
    except KeyError:
        raise ValueError(f"unknown SP-API region {code!r}; use one of na, eu, fe") from None
