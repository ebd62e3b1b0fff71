"""The state of Amazon's website authorization workflow: the vendor's app, the codes a
seller's consent issues and the refresh tokens they are exchanged for.

A code (``spapi_oauth_code``) is single-use, lives five minutes of wall time (the clients'
clock, as the access tokens' in ``sellers.py``; ``code_lifetime_s`` shortens it for tests)
and is bound to the redirect URI and the app it was issued for. Each exchange gives a new
refresh token; the sellers' own (``SellerCredentials``) stay valid beside them. Imports no
other module of the simulator; the pages and the grant are in ``consent.py`` and ``api.py``.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

CODE_LIFETIME_S = 300.0  # Amazon: the spapi_oauth_code expires after five minutes
APP_NAME = "Hyreka ERP (Simulator)"


@dataclass(frozen=True)
class _Code:
    seller_id: str
    client_id: str
    redirect_uri: str
    expires: float  # wall time (``Consents.wall``)


@dataclass(frozen=True)
class Redeemed:
    """What redeeming a code gave: the seller, or LWA's error code."""

    seller_id: str | None
    error: Literal["invalid_grant", "invalid_request"] | None = None


class Consents:
    """The vendor's app (``application_id``, its LWA ``client_id``) and what sellers' consents
    issued. ``wall`` is the clock of the codes' lifetime, replaceable in tests."""

    def __init__(
        self,
        client_id: str,
        *,
        code_lifetime_s: float = CODE_LIFETIME_S,
        wall: Callable[[], float] = time.monotonic,
    ) -> None:
        if code_lifetime_s < 0:
            raise ValueError("code_lifetime_s must not be negative")
        self.application_id = f"amzn1.sp.solution.{uuid.uuid4()}"
        self.app_name = APP_NAME
        self.client_id = client_id
        self.code_lifetime_s = code_lifetime_s
        self.wall = wall
        self._lock = threading.Lock()
        self._codes: dict[str, _Code] = {}
        self._refresh_tokens: dict[tuple[str, str], str] = {}  # (client id, token) -> seller

    def __repr__(self) -> str:  # codes and tokens are secrets
        return f"Consents(application_id={self.application_id!r})"

    def issue_code(self, seller_id: str, redirect_uri: str) -> str:
        """A new ``spapi_oauth_code`` of the seller's consent to the app, for ``redirect_uri``."""
        code = "ANsim" + secrets.token_urlsafe(24)
        expires = self.wall() + self.code_lifetime_s
        with self._lock:
            self._codes[code] = _Code(seller_id, self.client_id, redirect_uri, expires)
        return code

    def redeem(self, code: str, *, client_id: str, redirect_uri: str) -> Redeemed:
        """The seller of ``code``, once: ``invalid_grant`` for a code unknown, used, expired or
        of another app; ``invalid_request`` for another redirect URI than it was issued for
        (the code stays usable with the right one, within its lifetime)."""
        with self._lock:
            found = self._codes.get(code)
            if found is None or found.client_id != client_id or found.expires <= self.wall():
                self._codes.pop(code, None)
                return Redeemed(None, "invalid_grant")
            if found.redirect_uri != redirect_uri:
                return Redeemed(None, "invalid_request")
            del self._codes[code]
        return Redeemed(found.seller_id)

    def issue_refresh_token(self, seller_id: str, client_id: str) -> str:
        token = "Atzr|simweb" + secrets.token_urlsafe(96)
        with self._lock:
            self._refresh_tokens[(client_id, token)] = seller_id
        return token

    def seller_of_refresh_token(self, client_id: str, token: str) -> str | None:
        """The seller who gave ``token`` to the app with ``client_id`` by consenting."""
        with self._lock:
            return self._refresh_tokens.get((client_id, token))
