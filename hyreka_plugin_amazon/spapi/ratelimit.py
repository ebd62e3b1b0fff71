"""Client-side token buckets per (seller credentials, operation), shared within the process.

Amazon limits each application-seller pair per operation with a token bucket (``rate`` tokens
per second up to ``burst``). Mirroring it here lets the client wait a little instead of
collecting 429s, or give up early when the next token is too far away.
"""

from __future__ import annotations

import hashlib
import math
import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class UsagePlan:
    rate: float  # requests per second
    burst: int


# What the client paces itself at before the first ``x-amzn-RateLimit-Limit`` header: Amazon's
# published default usage plans (each operation's description in Amazon's models:
# reports_2021-06-30.json, sellers.json, tokens_2021-03-01.json, orders_2026-01-01.json,
# ordersV0.json; "Usage Plans and Rate Limits" in Amazon's SP-API documentation). The simulator
# keeps its own table of what Amazon enforces; tests/test_usage_plans.py checks both against
# Amazon's models.
DEFAULT_PLANS: dict[str, UsagePlan] = {
    "createReport": UsagePlan(0.0167, 15),
    "getReport": UsagePlan(2.0, 15),
    "cancelReport": UsagePlan(0.0222, 10),
    "getReportDocument": UsagePlan(0.0167, 15),
    "createRestrictedDataToken": UsagePlan(1.0, 10),
    "getMarketplaceParticipations": UsagePlan(0.016, 15),
    "searchOrders": UsagePlan(0.0056, 20),
    "getOrder": UsagePlan(0.5, 30),
    "confirmShipment": UsagePlan(2.0, 10),
    # Feeds 2021-06-30 (feeds_2021-06-30.json; the VAT invoice feed)
    "createFeedDocument": UsagePlan(0.5, 15),
    "createFeed": UsagePlan(0.0083, 15),
    "getFeed": UsagePlan(2.0, 15),
    "getFeeds": UsagePlan(0.0222, 10),
    "getFeedDocument": UsagePlan(0.0222, 10),
}
_FALLBACK_PLAN = UsagePlan(0.0167, 1)  # an operation without a published plan: be careful

# Header values outside this range are treated as garbage rather than trusted.
_MIN_RATE = 1e-4
_MAX_RATE = 1000.0


class TokenBucket:
    """A thread-safe token bucket in the caller's clock (seconds, monotonic).

    ``reserve`` takes a token now or books the next free one and says how long to wait for it,
    so concurrent callers queue up instead of all waking at the same moment.
    """

    def __init__(self, plan: UsagePlan, now: float) -> None:
        self._rate = plan.rate
        self._burst = float(plan.burst)
        self._tokens = self._burst  # a fresh process assumes Amazon's bucket is full
        self._last = now
        self._lock = threading.Lock()

    @property
    def rate(self) -> float:
        return self._rate

    def reserve(self, now: float, max_wait: float) -> float | None:
        """Book a token; return seconds to wait for it, or None (nothing booked) if > max_wait."""
        with self._lock:
            self._refill(now)
            wait = 0.0 if self._tokens >= 1.0 else (1.0 - self._tokens) / self._rate
            if wait > max_wait:
                return None
            self._tokens -= 1.0
            return wait

    def set_rate(self, rate: float, now: float) -> None:
        with self._lock:
            self._refill(now)
            self._rate = rate

    def _refill(self, now: float) -> None:
        elapsed = max(0.0, now - self._last)
        self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
        self._last = now


def parse_rate_header(value: str | None) -> float | None:
    """The rate of an ``x-amzn-RateLimit-Limit`` header, or None if absent or not a sane float."""
    if value is None:
        return None
    try:
        rate = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(rate) or not _MIN_RATE <= rate <= _MAX_RATE:
        return None
    return rate


def credentials_key(client_id: str, refresh_token: str, endpoint: str) -> str:
    """A non-secret key for the application-seller pair (per regional endpoint) limits apply to."""
    return hashlib.sha256(f"{client_id}\0{refresh_token}\0{endpoint}".encode()).hexdigest()


class RateLimiter:
    """The buckets of all clients in the process, keyed by credentials and operation."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, str], TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, credentials: str, operation: str, now: float) -> TokenBucket:
        with self._lock:
            key = (credentials, operation)
            found = self._buckets.get(key)
            if found is None:
                found = TokenBucket(DEFAULT_PLANS.get(operation, _FALLBACK_PLAN), now)
                self._buckets[key] = found
            return found


SHARED_LIMITER = RateLimiter()
