"""The simulator's clock (wall time scaled by a factor, advanced on demand) and its ISO 8601
formats as Amazon writes them."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta


class SimClock:
    """Simulated UTC time: ``start`` plus scaled elapsed wall time plus manual advances.

    ``time_scale`` 1.0 runs in real time, 60.0 makes a wall second a simulated minute and 0.0
    stops the clock so that only ``advance`` moves it (what tests usually want).
    """

    def __init__(self, start: datetime | None = None, time_scale: float = 1.0) -> None:
        if time_scale < 0:
            raise ValueError("time_scale must not be negative")
        start = start or datetime.now(UTC)
        if start.tzinfo is None:
            raise ValueError("start must be an aware datetime")
        self._lock = threading.Lock()
        self._base = start.astimezone(UTC)
        self._anchor = time.monotonic()
        self._scale = time_scale

    def now(self) -> datetime:
        with self._lock:
            return self._now_locked()

    def advance(self, seconds: float) -> datetime:
        """Move simulated time forward by ``seconds``; returns the new now."""
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._base += timedelta(seconds=seconds)
            return self._now_locked()

    @property
    def time_scale(self) -> float:
        return self._scale

    @time_scale.setter
    def time_scale(self, value: float) -> None:
        if value < 0:
            raise ValueError("time_scale must not be negative")
        with self._lock:
            self._base = self._now_locked()
            self._anchor = time.monotonic()
            self._scale = value

    def _now_locked(self) -> datetime:
        elapsed = (time.monotonic() - self._anchor) * self._scale
        return self._base + timedelta(seconds=elapsed)


def parse_iso(value: str) -> datetime:
    """An ISO 8601 date-time as aware UTC (a trailing Z and a missing offset mean UTC)."""
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def zulu(value: datetime) -> str:
    """``2026-08-03T12:00:00Z``, the form the newer APIs and S3 use."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
