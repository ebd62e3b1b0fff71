"""Simulated seller accounts: creating them, their LWA credentials and the look-ups LWA makes,
how the admin API shows them, and the access tokens and restricted data tokens issued to them."""

from __future__ import annotations

import secrets
import string
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

from hyreka_plugin_amazon.spapi import regions
from hyreka_plugin_amazon.spapi.regions import Marketplace

# Token lifetimes run in wall time, whatever the simulator clock's scale: clients cache tokens
# by their own clock, so a fast clock should test orders, not the clients' token caches.
ACCESS_TOKEN_LIFETIME_S = 3600.0
RDT_LIFETIME_S = 3600.0


@dataclass(frozen=True)
class SellerCredentials:
    """What a seller enters in the connector: the app's LWA client and the seller's token."""

    client_id: str
    client_secret: str
    refresh_token: str

    def __repr__(self) -> str:
        return f"SellerCredentials(client_id={self.client_id!r}, client_secret=***, ...)"


@dataclass
class Seller:
    """A selling partner account in one region."""

    seller_id: str
    name: str
    region: str
    marketplaces: tuple[Marketplace, ...]
    credentials: SellerCredentials
    professional: bool = True
    store_name: str = "Hyreka Sim Store"

    @classmethod
    def create(
        cls,
        name: str,
        region: str,
        marketplaces: tuple[Marketplace, ...],
        *,
        professional: bool = True,
    ) -> Seller:
        return cls(
            seller_id="A" + "".join(secrets.choice(_ID_CHARS) for _ in range(13)),
            name=name,
            region=region,
            marketplaces=marketplaces,
            credentials=SellerCredentials(
                client_id="amzn1.application-oa2-client.sim" + secrets.token_hex(16),
                client_secret="amzn1.oa2-cs.v1.sim" + secrets.token_hex(32),
                refresh_token="Atzr|sim" + secrets.token_urlsafe(96),
            ),
            professional=professional,
        )


_ID_CHARS = string.ascii_uppercase + string.digits


def new_seller(
    name: str,
    marketplaces: Sequence[str],
    *,
    professional: bool = True,
    app: SellerCredentials | None = None,
) -> Seller:
    """A seller in the one region of ``marketplaces`` (country codes); with ``app``, it
    authorises that app (same client id and secret) instead of one of its own."""
    if not marketplaces:
        raise ValueError("a seller needs at least one marketplace")
    market = tuple(regions.marketplace(code) for code in marketplaces)
    seller_regions = {m.region for m in market}
    if len(seller_regions) != 1:
        raise ValueError("one seller account covers the marketplaces of one region")
    seller = Seller.create(name, seller_regions.pop(), market, professional=professional)
    if app is not None:
        seller.credentials = replace(
            seller.credentials, client_id=app.client_id, client_secret=app.client_secret
        )
    return seller


def seller_json(seller: Seller, endpoint: str) -> dict[str, Any]:
    """The seller as the admin API shows it, with ``endpoint`` its regional SP-API URL."""
    creds = seller.credentials
    return {
        "seller_id": seller.seller_id,
        "name": seller.name,
        "region": seller.region,
        "marketplace_ids": [m.id for m in seller.marketplaces],
        "professional": seller.professional,
        "endpoint": endpoint,
        "credentials": {
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "refresh_token": creds.refresh_token,
        },
    }


def by_client(sellers: Iterable[Seller], client_id: str, client_secret: str) -> Seller | None:
    """The seller whose app has this LWA client id and secret (the first, if several share it)."""
    for seller in sellers:
        creds = seller.credentials
        if creds.client_id == client_id and creds.client_secret == client_secret:
            return seller
    return None


def by_refresh_token(sellers: Iterable[Seller], client_id: str, token: str) -> Seller | None:
    """The seller who gave this refresh token to the app with this client id."""
    for seller in sellers:
        creds = seller.credentials
        if creds.client_id == client_id and creds.refresh_token == token:
            return seller
    return None


@dataclass
class _Token:
    seller_id: str
    expires: float  # wall time (``TokenStore.wall``)
    paths: frozenset[tuple[str, str]] = field(default_factory=frozenset)  # RDT: (method, path)
    data_elements: frozenset[str] = field(default_factory=frozenset)  # RDT: buyerInfo, ...


class Grant(NamedTuple):
    """What a valid token opens: the seller's resources, or an RDT's paths only."""

    seller_id: str
    paths: frozenset[tuple[str, str]]  # an RDT's (method, path) pairs; empty for access tokens
    data_elements: frozenset[str] = frozenset()  # an RDT's restricted data elements

    def opens(self, method: str, path: str) -> bool:
        """Whether the grant opens ``method path``: any path for an access token; for an RDT
        its own paths, where a ``{orderId}`` segment stands for any order (as on Amazon)."""
        if not self.paths:
            return True
        return any(m == method and _path_matches(p, path) for m, p in self.paths)


def _path_matches(template: str, path: str) -> bool:
    wanted, given = template.split("/"), path.split("/")
    if len(wanted) != len(given):
        return False
    pairs = zip(wanted, given, strict=True)
    return all(w == g or (w.startswith("{") and w.endswith("}")) for w, g in pairs)


class TokenStore:
    """Issued access tokens and RDTs with their expiry in wall time (never the simulator
    clock: see ``ACCESS_TOKEN_LIFETIME_S``). ``wall`` is the clock, replaceable in tests."""

    def __init__(self, wall: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, _Token] = {}
        self.wall = wall

    def issue_access_token(self, seller_id: str) -> str:
        token = "Atza|sim" + secrets.token_urlsafe(64)
        with self._lock:
            self._tokens[token] = _Token(seller_id, self.wall() + ACCESS_TOKEN_LIFETIME_S)
        return token

    def issue_rdt(
        self,
        seller_id: str,
        paths: frozenset[tuple[str, str]],
        data_elements: frozenset[str] = frozenset(),
    ) -> str:
        token = "Atz.sprdt|sim" + secrets.token_urlsafe(64)
        expires = self.wall() + RDT_LIFETIME_S
        with self._lock:
            self._tokens[token] = _Token(seller_id, expires, paths, data_elements)
        return token

    def lookup(self, token: str) -> Grant | None:
        """The token's grant, or None if the token is unknown or expired."""
        with self._lock:
            found = self._tokens.get(token)
        if found is None or found.expires <= self.wall():
            return None
        return Grant(found.seller_id, found.paths, found.data_elements)

    def revoke_access_tokens(self, seller_id: str) -> None:
        """Let the seller's access tokens (not its RDTs) expire now."""
        with self._lock:
            self._tokens = {
                token: found
                for token, found in self._tokens.items()
                if found.seller_id != seller_id or found.paths
            }
