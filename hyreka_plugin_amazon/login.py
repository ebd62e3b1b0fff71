""" "Anmeldung testen": the LWA exchange, then one Sellers call, mapped to a LoginResult."""

from __future__ import annotations

from hyreka_plugin_amazon import messages
from hyreka_plugin_amazon.hookspecs import Account, LoginResult
from hyreka_plugin_amazon.spapi import errors
from hyreka_plugin_amazon.spapi.client import SpApiClient
from hyreka_plugin_amazon.spapi.regions import UnknownMarketplaceError, marketplace
from hyreka_plugin_amazon.sync import make_client


def check_login(account: Account, *, client: SpApiClient | None = None) -> LoginResult:
    """Sign in with the account's credentials and list its marketplaces; never raises."""
    locale = account.locale
    client = client or make_client(account)

    def failed(code: str, **params: object) -> LoginResult:
        return LoginResult(ok=False, code=code, message=messages.translate(code, locale, **params))

    try:
        participations = client.get_marketplace_participations()
    except errors.InvalidClientError:
        return failed("login.invalid_client")
    except errors.InvalidGrantError:
        return failed("login.invalid_grant")
    except errors.AccessDeniedError:
        return failed("login.access_denied", region=account.region)
    except errors.ThrottledError:
        return failed("login.throttled")
    except errors.TransportError as exc:
        return failed("login.unreachable", detail=type(exc.__cause__ or exc).__name__)
    except errors.ServerError:
        return failed("login.unavailable")
    except errors.SpApiError as exc:
        return failed("login.error", detail=str(exc).splitlines()[0][:300])

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
