"""Test login ("Anmeldung testen"): the LWA exchange, then one Sellers call -> LoginResult."""

from __future__ import annotations

from hyreka_plugin_amazon import diagnostics, messages
from hyreka_plugin_amazon.hookspecs import Account, LoginResult
from hyreka_plugin_amazon.spapi import errors
from hyreka_plugin_amazon.spapi.client import SpApiClient
from hyreka_plugin_amazon.spapi.regions import UnknownMarketplaceError, marketplace
from hyreka_plugin_amazon.sync import make_client


def check_login(account: Account, *, client: SpApiClient | None = None) -> LoginResult:
    """Sign in with the account's credentials and list its marketplaces; never raises."""
    locale = account.locale
    client = client or make_client(account)

    try:
        participations = client.get_marketplace_participations()
    except errors.SpApiError as exc:
        diagnosis = diagnostics.login_failure(exc, account)
        return LoginResult(ok=False, code=diagnosis.code, message=diagnosis.message)

    selling = tuple(p.marketplace_id for p in participations if p.is_participating)
    names = ", ".join(_label(m) for m in selling) or "-"
    warnings = tuple(
        messages.translate("login.not_participating", locale, marketplace=_label(m))
        for m in account.marketplace_ids
        if m not in selling
    )
    return LoginResult(
        ok=True,
        code="login.ok",
        message=messages.translate("login.ok", locale, marketplaces=names),
        marketplaces=selling,
        warnings=warnings,
    )


def _label(marketplace_id: str) -> str:
    try:
        found = marketplace(marketplace_id)
    except UnknownMarketplaceError:
        return marketplace_id
    return f"{found.domain} ({found.code})"
