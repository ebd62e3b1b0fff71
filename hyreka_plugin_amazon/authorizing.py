"""The website authorization workflow, the connector's part: where the seller consents (the
consent page of the marketplace's Seller Central) and the exchange of the consent's code for
a refresh token at LWA, answered in the seller's words.

The account handed in is the one being connected: its ``client_id`` and ``client_secret``
are the vendor's app's, its first marketplace chooses the Seller Central, its ``endpoint``
(a simulator) stands in for Seller Central and its ``token_url`` for LWA.
"""

from __future__ import annotations

import time

from hyreka_plugin_amazon import messages
from hyreka_plugin_amazon.contract import Account, Authorization
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.spapi import errors
from hyreka_plugin_amazon.spapi.auth import exchange_authorization_code
from hyreka_plugin_amazon.spapi.consent import consent_url
from hyreka_plugin_amazon.spapi.regions import LWA_TOKEN_URL, MARKETPLACES
from hyreka_plugin_amazon.spapi.transport import Transport, checked_url, default_user_agent

TIMEOUT = (10.0, 30.0)


def authorization_url(
    account: Account, *, application_id: str, state: str, redirect_uri: str, draft: bool
) -> str:
    """The consent page of the account's first marketplace (or region) for the vendor's app."""
    market = next(
        iter(account.marketplace_ids),
        next(m.id for m in MARKETPLACES if m.region == account.region),
    )
    return consent_url(
        market,
        application_id=application_id,
        state=state,
        redirect_uri=redirect_uri,
        draft=draft,
        seller_central=account.endpoint,
    )


def exchange(
    account: Account, code: Secret, redirect_uri: str, *, transport: Transport | None = None
) -> Authorization:
    """The refresh token for the consent's ``code``, or the seller's message why not; never
    raises for LWA's answers. Sent once, never retried: a code is single-use."""
    transport = transport or Transport(
        session=None,
        timeout=TIMEOUT,
        sleep=lambda seconds: None,
        monotonic=time.monotonic,
        max_attempts=1,
        max_wait=0.0,
        user_agent=default_user_agent(),
    )
    try:
        token = exchange_authorization_code(
            transport,
            token_url=checked_url(account.token_url or LWA_TOKEN_URL, "token_url"),
            client_id=account.client_id,
            client_secret=account.client_secret,
            code=code,
            redirect_uri=redirect_uri,
        )
    except errors.InvalidClientError:
        return _refused(account, "authorize.app_refused")
    except errors.InvalidGrantError:
        return _refused(account, "authorize.code_refused")
    except errors.AuthenticationError as exc:
        known = "authorize.redirect_refused" if exc.code == "invalid_request" else None
        return _refused(account, known or "authorize.failed")
    except errors.SpApiError:  # throttled, unavailable, unreachable
        return _refused(account, "authorize.unavailable")
    return Authorization(
        ok=True,
        code="authorize.ok",
        message=messages.translate("authorize.ok", account.locale),
        refresh_token=token,
    )


def _refused(account: Account, code: str) -> Authorization:
    return Authorization(ok=False, code=code, message=messages.translate(code, account.locale))
