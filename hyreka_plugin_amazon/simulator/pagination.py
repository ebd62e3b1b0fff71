"""Page tokens: the rest of a result list behind each ``nextToken``.

``PaginationStore`` keeps the Orders APIs' pages (they expire), ``ListingTokens`` the rest of a
``getReports`` result. The handlers that hand the tokens out are in ``ordersapi.py``,
``ordersv0.py`` and ``reportlist.py``.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from datetime import datetime


@dataclass
class Page:
    """An Orders API result list and how far it has been read."""

    seller_id: str
    order_ids: list[str]
    offset: int
    expires: datetime
    before_key: str
    before: datetime
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()  # searchOrders: the first request's


class PaginationStore:
    """Result lists behind ``nextToken`` values, valid for 24 hours of simulator time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pages: dict[str, Page] = {}

    def put(self, page: Page) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._pages[token] = page
        return token

    def take(self, token: str, seller_id: str, now: datetime) -> Page | None:
        with self._lock:
            page = self._pages.get(token)
        if page is None or page.seller_id != seller_id or page.expires <= now:
            return None
        return page


@dataclass
class Listing:
    """The rest of a ``getReports`` result, ``page_size`` ids at a time."""

    seller_id: str
    report_ids: list[str]
    page_size: int


class ListingTokens:
    """The rest of a ``getReports`` result behind each ``nextToken``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listings: dict[str, Listing] = {}

    def put(self, listing: Listing) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._listings[token] = listing
        return token

    def take(self, token: str, seller_id: str) -> Listing | None:
        with self._lock:
            found = self._listings.get(token)
        return found if found is not None and found.seller_id == seller_id else None
