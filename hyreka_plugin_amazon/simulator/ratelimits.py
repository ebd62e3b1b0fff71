"""Amazon's usage plans, enforced as token buckets per seller and operation; call statistics.

The table here is what Amazon enforces; the client's own pacing table lives in
``spapi/ratelimit.py``. They are kept apart on purpose, each checked against the usage plans
published in Amazon's OpenAPI models (``tests/test_usage_plans.py``), so a wrong figure in one
cannot hide behind the other.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class UsagePlan:
    """One operation's plan: ``rate`` tokens per second into a bucket of ``burst``."""

    rate: float
    burst: int


# Amazon's published default plans per operation the simulator serves (spapi-notes 3.1, 4,
# 6.5, 6.6). Operations without a plan here (LWA, downloads, the admin API) are not limited.
USAGE_PLANS: dict[str, UsagePlan] = {
    "createReport": UsagePlan(rate=0.0167, burst=15),
    "getReport": UsagePlan(rate=2.0, burst=15),
    "getReportDocument": UsagePlan(rate=0.0167, burst=15),
    "createRestrictedDataToken": UsagePlan(rate=1.0, burst=10),
    "getMarketplaceParticipations": UsagePlan(rate=0.016, burst=15),
    "searchOrders": UsagePlan(rate=0.0056, burst=20),
    "getOrder": UsagePlan(rate=0.5, burst=30),  # v2026-01-01 and v0 publish the same plan
    "getReports": UsagePlan(rate=0.0222, burst=10),
    "cancelReport": UsagePlan(rate=0.0222, burst=10),
    # Orders v0 (deprecated; served until 2027-03-27)
    "getOrders": UsagePlan(rate=0.0167, burst=20),
    "getOrderItems": UsagePlan(rate=0.5, burst=30),
    "getOrderAddress": UsagePlan(rate=0.5, burst=30),
    "getOrderBuyerInfo": UsagePlan(rate=0.5, burst=30),
    "getOrderItemsBuyerInfo": UsagePlan(rate=0.5, burst=30),
    "confirmShipment": UsagePlan(rate=2.0, burst=10),
    # Feeds 2021-06-30 (the VAT invoice feed)
    "createFeedDocument": UsagePlan(rate=0.5, burst=15),
    "createFeed": UsagePlan(rate=0.0083, burst=15),
    "getFeed": UsagePlan(rate=2.0, burst=15),
    "getFeeds": UsagePlan(rate=0.0222, burst=10),
    "getFeedDocument": UsagePlan(rate=0.0222, burst=10),
}


def limit_header(operation: str) -> str | None:
    """The ``x-amzn-RateLimit-Limit`` value of an operation, e.g. ``0.0167``."""
    plan = USAGE_PLANS.get(operation)
    return None if plan is None else f"{plan.rate:g}"


@dataclass
class _Bucket:
    tokens: float
    updated: datetime


class RateLimiter:
    """One bucket per (seller, operation), starting full and refilled on the simulator clock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, str], _Bucket] = {}
        self.enabled = True

    def allow(self, seller_id: str, operation: str, now: datetime) -> bool:
        """Take a token if the operation has a plan; False means answer 429."""
        plan = USAGE_PLANS.get(operation)
        if plan is None or not self.enabled:
            return True
        with self._lock:
            bucket = self._buckets.get((seller_id, operation))
            if bucket is None:
                bucket = self._buckets[(seller_id, operation)] = _Bucket(plan.burst, now)
            elapsed = max(0.0, (now - bucket.updated).total_seconds())
            bucket.tokens = min(plan.burst, bucket.tokens + elapsed * plan.rate)
            bucket.updated = now
            if bucket.tokens >= 1:
                bucket.tokens -= 1
                return True
            return False


class Stats:
    """Calls and answers per seller and operation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[str, dict[str, int]]] = defaultdict(
            lambda: defaultdict(lambda: defaultdict(int))
        )

    def record(self, seller_id: str, operation: str, status: int) -> None:
        with self._lock:
            counts = self._counts[seller_id or "anonymous"][operation]
            counts["calls"] += 1
            counts[str(status)] += 1
            if status == 429:
                counts["throttled"] += 1

    def snapshot(self) -> dict[str, Any]:
        """``{seller: {operation: {"calls": n, "throttled": k, "200": ...}}}``."""
        with self._lock:
            return {
                seller: {op: {"throttled": 0, **counts} for op, counts in ops.items()}
                for seller, ops in self._counts.items()
            }

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
