"""HTTP transport: one session, timeouts, the single retry decision, request logging.

Every HTTP request of the SP-API client (LWA, SP-API operations, document downloads) goes
through ``Transport.send``, which alone decides whether a request is sent again (no urllib3
``Retry`` adapter underneath). Two repetitions sit above it, each for what only its layer
knows: a document download refused with 403 (its pre-signed URL expired) fetches a fresh URL
once (``documents.DocumentStream``), and a download that breaks off after its response began
is read once more by the sync, from a fresh URL, skipping the orders it already handed over
(``sync._AccountSync._read_twice``); the document stream itself never restarts a download.
"""

from __future__ import annotations

import collections
import ipaddress
import json
import logging
import platform
import random
import time
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

import certifi
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from hyreka_plugin_amazon import __version__
from hyreka_plugin_amazon.spapi.errors import (
    AccessDeniedError,
    BadRequestError,
    CertificateError,
    NoAnswerError,
    NotFoundError,
    ServerError,
    SpApiError,
    ThrottledError,
    TransportError,
    redact,
    safe_request_id,
    server_text,
)
from hyreka_plugin_amazon.spapi.ratelimit import TokenBucket, parse_rate_header

logger = logging.getLogger("hyreka_plugin_amazon.spapi")

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# A 429 or 503 is given before the request is processed, so even a POST may be repeated.
RETRY_STATUSES_UNSAFE = frozenset({429, 503})

BACKOFF_BASE = 1.0  # seconds; attempt n waits uniform(0, min(cap, base * 2**(n-1)))
# Added to every rate-limit wait: our clock and Amazon's differ by rounding and granularity;
# a request a little late costs nothing, one a hair early costs a 429.
RATE_LIMIT_MARGIN = 0.05  # seconds
BACKOFF_CAP = 32.0
# A connection that fails or times out is not tried again once this long has passed since the
# call's first attempt: an Amazon that cannot be reached is told within about a minute (one
# read timeout and what came before it), not after every attempt's timeout.
GIVE_UP_AFTER_S = 20.0
MAX_USER_AGENT = 500
_MESSAGE_LIMIT = 300
# The CAs trusted for Amazon's hosts: certifi's bundle, never one named by the environment
TRUSTED_CAS = certifi.where()


def default_user_agent() -> str:
    """Amazon's User-Agent format: ``AppName/Version (Language=...; Platform=...)``."""
    return (
        f"hyreka-plugin-amazon/{__version__} "
        f"(Language=Python/{platform.python_version()}; Platform={platform.system() or 'unknown'})"
    )


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def checked_url(url: str, what: str) -> str:
    """``url`` without a trailing slash; ValueError unless https (http only for loopback)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url.rstrip("/")
    if parts.scheme == "http" and is_loopback_host(parts.hostname):
        return url.rstrip("/")
    raise ValueError(
        f"{what} must be an https URL (plain http only for loopback hosts), got "
        f"{parts.scheme or 'no'} scheme for host {parts.hostname!r}"
    )


def request_id(response: requests.Response, secrets: Iterable[str] = ()) -> str | None:
    """The response's ``x-amzn-RequestId`` when it has Amazon's format and is no secret."""
    value = safe_request_id(response.headers.get("x-amzn-RequestId"))
    return None if value is None or redact(value, secrets) != value else value


def retry_after(response: requests.Response) -> float | None:
    """Seconds from a ``Retry-After`` header given in seconds (HTTP dates are ignored)."""
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if 0 <= seconds < float("inf") else None


def amazon_error(response: requests.Response) -> tuple[str | None, str | None]:
    """Amazon's error code and ``message (details)`` from an ``{"errors": [...]}`` body."""
    try:
        body = response.json()
    except (ValueError, json.JSONDecodeError):
        body = None
    errors = body.get("errors") if isinstance(body, dict) else None
    first = errors[0] if isinstance(errors, list) and errors else None
    # "AccessDeniedException:http://internal.amazon.com/coral/..." names the code first
    code = (response.headers.get("x-amzn-ErrorType") or "").split(":", 1)[0] or None
    if not isinstance(first, dict):
        return code, None
    code = str(first.get("code") or code or "") or None
    message = str(first.get("message") or "")
    details = str(first.get("details") or "")
    text = f"{message} ({details})" if message and details else message or details
    return code, text or None


def error_for_response(
    response: requests.Response, operation: str, secrets: Iterable[str], *, hint: str = ""
) -> SpApiError:
    """The typed error for a non-2xx SP-API response (``hint`` is appended for 401/403)."""
    status = response.status_code
    code, text = amazon_error(response)
    secrets = tuple(secrets)
    detail = server_text(text or response.reason or "no details", secrets, limit=_MESSAGE_LIMIT)
    message = f"{operation} failed: {detail}"
    kind: type[SpApiError] = SpApiError
    if status == 400:
        kind = BadRequestError
    elif status in (401, 403):
        kind, message = AccessDeniedError, message + hint
    elif status == 404:
        kind = NotFoundError
    elif status == 429:
        kind = ThrottledError
    elif status >= 500:
        kind = ServerError
    return kind(
        message,
        operation=operation,
        status=status,
        code=None if code is None or redact(code, secrets) != code else code,
        request_id=request_id(response, secrets),
    )


def _describe(exc: requests.RequestException) -> str:
    """The failure without its URL (a download URL's query is a credential)."""
    reason = exc.args[0] if exc.args else None
    if isinstance(reason, MaxRetryError) and reason.reason is not None:
        reason = reason.reason
    text = str(reason) if isinstance(reason, BaseException) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _transient(exc: requests.RequestException) -> bool:
    """Connection failures, timeouts and broken bodies; not TLS failures (configuration)."""
    if isinstance(exc, requests.exceptions.SSLError):
        return False
    return isinstance(
        exc, (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
    )


def _not_sent(exc: requests.RequestException) -> bool:
    """True when the request never reached the server (the connection was not established)."""
    if isinstance(exc, requests.ConnectTimeout):
        return True
    reason = exc.args[0] if exc.args else None
    return isinstance(reason, MaxRetryError) and isinstance(reason.reason, NewConnectionError)


class Transport:
    """Sends requests with timeouts, client-side rate limits and the one retry policy."""

    def __init__(
        self,
        *,
        session: requests.Session | None,
        timeout: tuple[float, float],
        sleep: Callable[[float], None],
        monotonic: Callable[[], float],
        max_attempts: int,
        max_wait: float,
        user_agent: str,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if len(user_agent) > MAX_USER_AGENT:
            raise ValueError(f"Amazon rejects a User-Agent longer than {MAX_USER_AGENT} characters")
        self.session = session or requests.Session()
        self.session.verify = TRUSTED_CAS
        self.timeout = timeout
        self.sleep = sleep
        self.monotonic = monotonic
        self.max_attempts = max_attempts
        self.max_wait = max_wait
        self.user_agent = user_agent
        self.calls: collections.Counter[str] = collections.Counter()
        self._random = random.Random()

    def send(
        self,
        operation: str,
        method: str,
        url: str,
        *,
        log_path: str,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        data: str | bytes | None = None,
        json_body: Any = None,
        bucket: TokenBucket | None = None,
        retry_statuses: Collection[int] = RETRY_STATUSES,
        retry_after_send: bool = True,
        stream: bool = False,
        secret_url: bool = False,
    ) -> requests.Response:
        """Send with retries; return the final response (any status) or raise TransportError.

        ``retry_after_send=False`` marks a request that must not be repeated once it may have
        reached the server (createReport): then only failures to connect are retried.
        A rate-limit wait or a backoff longer than ``max_wait`` ends the retries early.
        ``secret_url`` (pre-signed downloads) keeps the URL out of a TransportError's chain.
        """
        all_headers = {"User-Agent": self.user_agent, **(headers or {})}
        first_attempt = time.monotonic()  # real time: how long the network kept us waiting
        for attempt in range(1, self.max_attempts + 1):
            if bucket is not None:
                self._wait_for_token(bucket, operation)
            self.calls[operation] += 1
            started = time.perf_counter()
            try:
                response = self.session.request(
                    method,
                    url,
                    headers=all_headers,
                    params=params,
                    data=data,
                    json=json_body,
                    timeout=self.timeout,
                    stream=stream,
                    verify=TRUSTED_CAS,  # explicit: REQUESTS_CA_BUNDLE cannot redirect trust
                    allow_redirects=False,
                )
            except requests.RequestException as exc:
                failure = type(exc).__name__
                self._log(method, log_path, failure, None, started, attempt)
                unsafe = _transient(exc) and not (retry_after_send or _not_sent(exc))
                retryable = _transient(exc) and not unsafe
                delay = self._backoff(attempt, None)
                if isinstance(exc, requests.exceptions.SSLError):
                    error: TransportError = CertificateError(
                        f"{operation} failed: the server's TLS certificate could not be verified"
                        f" ({_describe(exc)})",
                        operation=operation,
                    )
                    raise error from None
                given_up = time.monotonic() - first_attempt >= GIVE_UP_AFTER_S
                if not retryable or attempt == self.max_attempts or delay is None or given_up:
                    why = " (not repeated: the server may have acted on it)" if unsafe else ""
                    kind = NoAnswerError if isinstance(exc, requests.Timeout) else TransportError
                    error = kind(
                        f"{operation} failed after {attempt} attempt(s){why}: {_describe(exc)}",
                        operation=operation,
                    )
                    if secret_url:  # the chained exception's text would show the whole URL
                        raise error from None
                    raise error from exc
                self._log_retry(method, log_path, failure, delay, attempt)
                self.sleep(delay)
                continue
            self._log(
                method, log_path, response.status_code, request_id(response), started, attempt
            )
            if bucket is not None:
                rate = parse_rate_header(response.headers.get("x-amzn-RateLimit-Limit"))
                if rate is not None and rate != bucket.rate:
                    bucket.set_rate(rate, self.monotonic())
            if response.status_code not in retry_statuses or attempt == self.max_attempts:
                return response
            delay = self._backoff(attempt, retry_after(response))
            if delay is None:
                return response
            response.close()
            self._log_retry(method, log_path, response.status_code, delay, attempt)
            self.sleep(delay)
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _wait_for_token(self, bucket: TokenBucket, operation: str) -> None:
        wait = bucket.reserve(self.monotonic(), self.max_wait)
        if wait is None:
            raise ThrottledError(
                f"{operation}: the client-side rate limit ({bucket.rate:g} requests/s) has no "
                f"token within {self.max_wait:g} s; try again later",
                operation=operation,
            )
        if wait > 0:
            wait += RATE_LIMIT_MARGIN
            logger.debug("%s: waiting %.2f s for the rate limit", operation, wait)
            self.sleep(wait)

    def _backoff(self, attempt: int, server_wait: float | None) -> float | None:
        """Full-jitter exponential backoff, at least ``Retry-After``; None if above max_wait."""
        ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** (attempt - 1))
        delay = self._random.uniform(0.0, ceiling)
        if server_wait is not None:
            delay = max(delay, server_wait)
        return None if delay > self.max_wait else delay

    def _log(
        self,
        method: str,
        path: str,
        outcome: int | str,
        req_id: str | None,
        started: float,
        attempt: int,
    ) -> None:
        logger.debug(
            "%s %s -> %s (request id %s, %.0f ms, attempt %d/%d)",
            method,
            path,
            outcome,
            req_id or "-",
            (time.perf_counter() - started) * 1000.0,
            attempt,
            self.max_attempts,
        )

    def _log_retry(
        self, method: str, path: str, outcome: int | str, delay: float, attempt: int
    ) -> None:
        logger.warning(
            "%s %s -> %s; retrying in %.1f s (attempt %d/%d)",
            method,
            path,
            outcome,
            delay,
            attempt,
            self.max_attempts,
        )
