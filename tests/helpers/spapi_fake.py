"""Shared helpers of the SP-API client tests: a fake clock, a client factory, token stubs.

Amazon is played by pytest-httpserver over loopback HTTP; each client gets its own made-up
refresh token so the process-wide token cache never carries over between tests.
"""

from __future__ import annotations

import json
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests
from pytest_httpserver import HTTPServer
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.spapi import SpApiClient
from hyreka_plugin_amazon.spapi.ratelimit import RateLimiter

TOKEN_PATH = "/auth/o2/token"
CLIENT_ID = "amzn1.application-oa2-client.test"
CLIENT_SECRET = "amzn1.oa2-cs.v1.made-up-client-secret"
ACCESS_TOKEN = "Atza|made-up-access-token"


@dataclass
class FakeClock:
    """A monotonic clock that only moves when the client sleeps."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@dataclass
class Seller:
    """A client with its clock and the secrets tests look for in messages and logs."""

    client: SpApiClient
    clock: FakeClock
    refresh_token: str
    client_secret: str = CLIENT_SECRET

    @property
    def secrets(self) -> tuple[str, str]:
        return (self.client_secret, self.refresh_token)


def make_seller(
    httpserver: HTTPServer,
    *,
    refresh_token: str | None = None,
    clock: FakeClock | None = None,
    rate_limiter: RateLimiter | None = None,
    **kwargs: Any,
) -> Seller:
    """A client against ``httpserver`` with fresh credentials, a fake clock, its own buckets."""
    refresh_token = refresh_token or f"Atzr|made-up-{uuid.uuid4().hex}"
    clock = clock or FakeClock()
    options: dict[str, Any] = {
        "endpoint": httpserver.url_for(""),
        "token_url": httpserver.url_for(TOKEN_PATH),
        "timeout": (2.0, 2.0),
        **kwargs,
    }
    options.setdefault("sleep", clock.sleep)
    client = SpApiClient(
        client_id=CLIENT_ID,
        client_secret=Secret(CLIENT_SECRET),
        refresh_token=Secret(refresh_token),
        region="eu",
        monotonic=clock.monotonic,
        rate_limiter=rate_limiter or RateLimiter(),
        **options,
    )
    return Seller(client, clock, refresh_token)


def expect_token(httpserver: HTTPServer, token: str = ACCESS_TOKEN) -> None:
    """LWA answers every exchange with ``token``."""
    httpserver.expect_request(TOKEN_PATH, method="POST").respond_with_json(
        {"access_token": token, "token_type": "bearer", "expires_in": 3600}
    )


def token_requests(httpserver: HTTPServer) -> int:
    return sum(1 for request, _ in httpserver.log if request.path == TOKEN_PATH)


def free_port() -> int:
    """A loopback port nobody listens on (connections to it are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


class CannedAmazon(BaseAdapter):
    """A ``requests`` adapter that answers in-process and notes every URL the client asks for:
    LWA with an access token, ``getMarketplaceParticipations`` with one German marketplace.
    Mount it on a session to see where a client sends its calls without any network."""

    PARTICIPATIONS = "/sellers/v1/marketplaceParticipations"

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: float | tuple[float, float] | tuple[float, None] | None = None,
        verify: bool | str = True,
        cert: bytes | str | tuple[bytes | str, bytes | str] | None = None,
        proxies: Any = None,
    ) -> requests.Response:
        url = str(request.url)
        self.urls.append(url)
        path = urlsplit(url).path
        body: dict[str, Any]
        if path.endswith(TOKEN_PATH):
            body = {"access_token": ACCESS_TOKEN, "token_type": "bearer", "expires_in": 3600}
        elif path == self.PARTICIPATIONS:
            market = {"id": "A1PA6795UKMFR9", "countryCode": "DE", "defaultCurrencyCode": "EUR"}
            participation = {"isParticipating": True}
            body = {"payload": [{"marketplace": market, "participation": participation}]}
        else:
            body = {"errors": [{"code": "NotFound", "message": "not canned"}]}
        response = requests.Response()
        response.status_code = 200 if "errors" not in body else 404
        response.reason = "OK" if response.status_code == 200 else "Not Found"
        response._content = json.dumps(body).encode()
        response.headers = CaseInsensitiveDict({"Content-Type": "application/json"})
        response.url = url
        response.request = request
        return response

    def close(self) -> None:
        pass

    def session(self) -> requests.Session:
        """A session whose every call, http or https, this adapter answers."""
        session = requests.Session()
        session.trust_env = False
        session.mount("http://", self)
        session.mount("https://", self)
        return session
