"""Login with Amazon: refresh-token exchange and a process-wide access-token cache; the
website authorization workflow's exchange of a seller's code for a refresh token."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import requests

from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.spapi.errors import (
    AuthenticationError,
    InvalidClientError,
    InvalidGrantError,
    redact,
    server_text,
)
from hyreka_plugin_amazon.spapi.transport import Transport, error_for_response, request_id

OPERATION = "lwaToken"
EXPIRY_MARGIN = 60.0  # seconds before expires_in at which a cached token counts as expired
_DEFAULT_EXPIRES_IN = 3600.0


@dataclass(frozen=True)
class _CachedToken:
    token: Secret
    expires_at: float  # in the monotonic clock of the client that fetched it


_cache: dict[tuple[str, str, str], _CachedToken] = {}
_key_locks: dict[tuple[str, str, str], threading.Lock] = {}
_cache_lock = threading.Lock()


class LwaAuth:
    """Access tokens for one set of credentials, exchanged at most once per token lifetime.

    The cache is shared by all clients of the process with the same token URL, client id,
    client secret and refresh token; one lock per key keeps concurrent clients from exchanging
    in parallel.
    """

    def __init__(
        self,
        *,
        transport: Transport,
        token_url: str,
        client_id: str,
        client_secret: Secret,
        refresh_token: Secret,
        monotonic: Callable[[], float],
    ) -> None:
        self._transport = transport
        self._token_url = token_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self._monotonic = monotonic
        # the secret is part of the key: a wrong one must not be answered from the cache
        pair = f"{client_secret.reveal()}\0{refresh_token.reveal()}"
        digest = hashlib.sha256(pair.encode()).hexdigest()
        self._key = (token_url, client_id, digest)

    def access_token(self, *, stale: Secret | None = None) -> Secret:
        """A valid access token; ``stale`` is one Amazon refused, so it is not handed out again."""
        with _cache_lock:
            key_lock = _key_locks.setdefault(self._key, threading.Lock())
        with key_lock:
            cached = _cache.get(self._key)
            fresh = cached is not None and self._monotonic() < cached.expires_at
            if cached is not None and fresh and cached.token != stale:
                return cached.token
            token, expires_in = self._exchange()
            expires_at = self._monotonic() + max(0.0, expires_in - EXPIRY_MARGIN)
            _cache[self._key] = _CachedToken(token, expires_at)
            return token

    def _exchange(self) -> tuple[Secret, float]:
        form = urlencode(
            {
                "grant_type": "refresh_token",
                "refresh_token": self._refresh_token.reveal(),
                "client_id": self._client_id,
                "client_secret": self._client_secret.reveal(),
            }
        )
        secrets = (self._client_secret.reveal(), self._refresh_token.reveal())
        response, body = _post_to_lwa(self._transport, self._token_url, form, secrets)
        token = body.get("access_token")
        if not isinstance(token, str) or not token:
            raise AuthenticationError(
                "Login with Amazon answered without an access token",
                operation=OPERATION,
                status=response.status_code,
                code="invalid_response",
                request_id=request_id(response),
            )
        expires_in = body.get("expires_in", _DEFAULT_EXPIRES_IN)
        if not isinstance(expires_in, int | float) or isinstance(expires_in, bool):
            expires_in = _DEFAULT_EXPIRES_IN
        return Secret(token), float(expires_in)


def exchange_authorization_code(
    transport: Transport,
    *,
    token_url: str,
    client_id: str,
    client_secret: Secret,
    code: Secret,
    redirect_uri: str,
) -> Secret:
    """The refresh token LWA gives for a seller's ``spapi_oauth_code`` (``grant_type=
    authorization_code``, with the redirect URI the consent sent the code to, within the
    code's five minutes). Raises InvalidGrantError (the code is used, expired or unknown),
    AuthenticationError with code ``invalid_request`` (the redirect URI is not the code's),
    InvalidClientError (the app's client id or secret), or what the transport raises. The
    code is sent once: ``transport`` should not retry (a code is single-use)."""
    form = urlencode(
        {
            "grant_type": "authorization_code",
            "code": code.reveal(),
            "redirect_uri": redirect_uri,
            "client_id": client_id,
            "client_secret": client_secret.reveal(),
        }
    )
    secrets = (client_secret.reveal(), code.reveal())
    response, body = _post_to_lwa(transport, token_url, form, secrets, grant="authorization_code")
    token = body.get("refresh_token")
    if not isinstance(token, str) or not token:
        raise AuthenticationError(
            "Login with Amazon answered without a refresh token",
            operation=OPERATION,
            status=response.status_code,
            code="invalid_response",
            request_id=request_id(response),
        )
    return Secret(token)


def _post_to_lwa(
    transport: Transport,
    token_url: str,
    form: str,
    secrets: tuple[str, ...],
    *,
    grant: str = "refresh_token",
) -> tuple[requests.Response, dict[str, Any]]:
    """POST the form to LWA: the answer and its JSON object; LWA's refusal (``grant``'s
    errors), a throttle or a server error raised as a typed error without the secrets."""
    response = transport.send(
        OPERATION,
        "POST",
        token_url,
        log_path=urlsplit(token_url).path,
        headers={
            "Content-Type": "application/x-www-form-urlencoded;charset=UTF-8",
            "Accept": "application/json",
        },
        data=form,
    )
    if response.status_code == 429 or response.status_code >= 500:
        raise error_for_response(response, OPERATION, secrets)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    if response.status_code != 200:
        raise _lwa_error(response, body, secrets, grant=grant)
    return response, body


def _lwa_error(
    response: requests.Response,
    body: dict[str, object],
    secrets: tuple[str, ...],
    *,
    grant: str = "refresh_token",
) -> AuthenticationError:
    code = str(body.get("error") or "") or None
    if code is not None and redact(code, secrets) != code:
        code = None
    description = server_text(str(body.get("error_description") or response.reason or ""), secrets)
    kind: type[AuthenticationError] = AuthenticationError
    if code == "invalid_client":
        kind = InvalidClientError
        advice = (
            "Check the LWA client id and client secret; a secret must be rotated every 180 days"
        )
    elif code == "invalid_grant" and grant == "authorization_code":
        kind = InvalidGrantError
        advice = (
            "The authorization code is unknown, was used already or has expired (it lives "
            "five minutes); start the authorization again"
        )
    elif code == "invalid_request" and grant == "authorization_code":
        advice = "The redirect URI is not the one the authorization code was issued for"
    elif code == "invalid_grant":
        kind = InvalidGrantError
        advice = (
            "The refresh token is invalid, revoked or belongs to another app or region; "
            "authorise the app again in Seller Central"
        )
    else:
        advice = "Login with Amazon refused the token exchange"
    message = f"{advice} (Amazon: {description or 'no description'})"
    request = request_id(response, secrets) or _str_or_none(body.get("request_id"))
    if request is not None and redact(request, secrets) != request:
        request = None
    return kind(
        message, operation=OPERATION, status=response.status_code, code=code, request_id=request
    )


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
