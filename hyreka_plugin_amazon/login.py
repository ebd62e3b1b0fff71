"""Test login ("Anmeldung testen"): the LWA exchange, then one Sellers call -> LoginResult.

A 403 at the configured region's host is what Amazon answers both to a token of another
region and to an app without access; where the other regions' hosts are known, one call to
each tells the two apart.
"""

from __future__ import annotations

from collections.abc import Mapping

from hyreka_plugin_amazon import diagnostics, messages
from hyreka_plugin_amazon.contract import Account, LoginResult
from hyreka_plugin_amazon.spapi import errors
from hyreka_plugin_amazon.spapi.client import SpApiClient
from hyreka_plugin_amazon.spapi.regions import REGIONS, UnknownMarketplaceError, marketplace


def check_login(
    account: Account,
    *,
    client: SpApiClient | None = None,
    region_endpoints: Mapping[str, str] | None = None,
) -> LoginResult:
    """Sign in with the account's credentials and list its marketplaces; never raises.

    ``region_endpoints`` (region code -> SP-API host) are asked when the account's region
    refuses access; by default Amazon's regional hosts, or none when the account has its own
    endpoint (a simulator has no sibling regions).
    """
    client = client or SpApiClient.for_account(account)
    try:
        participations = client.get_marketplace_participations()
    except errors.SpApiError as exc:
        diagnosis = diagnostics.login_failure(exc, account)
        if diagnosis.code == "login.access_denied":
            found = _other_region(account, region_endpoints)
            if found is not None:
                diagnosis = diagnostics.wrong_region(account, *found)
        return LoginResult(
            ok=False,
            code=diagnosis.code,
            message=diagnosis.message,
            needs_reauthorization=diagnosis.needs_reauthorization,
        )

    selling = tuple(p.marketplace_id for p in participations if p.is_participating)
    selling_regions = sorted({r for r in map(_region_of, selling) if r})
    if selling_regions and account.region.lower() not in selling_regions:
        diagnosis = diagnostics.wrong_region(account, selling_regions[0], selling)
        return LoginResult(
            ok=False, code=diagnosis.code, message=diagnosis.message, marketplaces=selling
        )
    locale = account.locale
    names = ", ".join(diagnostics.marketplace_label(m) for m in selling) or "-"
    missing = [m for m in account.marketplace_ids if m not in selling]
    if missing:
        labels = ", ".join(diagnostics.marketplace_label(m) for m in missing)
        return LoginResult(
            ok=False,
            code="login.not_participating",
            message=messages.translate(
                "login.marketplaces_not_sold_on", locale, marketplaces=labels, selling=names
            ),
            marketplaces=selling,
            warnings=(messages.translate("login.not_participating", locale, marketplaces=labels),),
        )
    return LoginResult(
        ok=True,
        code="login.ok",
        message=messages.translate("login.ok", locale, marketplaces=names),
        marketplaces=selling,
    )


def _other_region(
    account: Account, region_endpoints: Mapping[str, str] | None
) -> tuple[str, tuple[str, ...]] | None:
    """The first other region whose host accepts the token, with the marketplaces sold there."""
    if region_endpoints is None:
        region_endpoints = (
            {} if account.endpoint else {r.code: r.endpoint for r in REGIONS.values()}
        )
    for code, endpoint in region_endpoints.items():
        if code == account.region.lower():
            continue
        probe = SpApiClient.for_account(account, region=code, endpoint=endpoint, max_attempts=1)
        try:
            participations = probe.get_marketplace_participations()
        except errors.SpApiError:
            continue
        return code, tuple(p.marketplace_id for p in participations if p.is_participating)
    return None


def _region_of(marketplace_id: str) -> str | None:
    try:
        return marketplace(marketplace_id).region
    except UnknownMarketplaceError:
        return None
