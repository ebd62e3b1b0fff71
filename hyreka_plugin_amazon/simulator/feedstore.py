"""Feeds as the simulated Amazon keeps them: the feed documents sellers upload, the feeds made of
them, their processing on the simulator clock, and the invoices Amazon accepted.

A feed's verdict is decided when it is created (``feeds.py``), like a report's content, and
shows once its processing time has passed: ``IN_QUEUE``, ``IN_PROGRESS``, then ``DONE`` (with
a processing report) or ``FATAL``. An accepted invoice belongs to Amazon's truth only from then.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from hyreka_plugin_amazon.simulator.reportstore import (
    DOWNLOAD_LIFETIME,
    Document,
    iso,
    processing_status,
)


@dataclass
class FeedDocument:
    """An input feed document: what ``createFeedDocument`` promised and the seller uploaded."""

    document_id: str
    seller_id: str
    content_type: str
    body: bytes | None = None  # None until the upload arrived


@dataclass(frozen=True)
class Invoice:
    """An invoice (or credit note) Amazon accepted for an order, as the truth lists it."""

    order_id: str
    invoice_number: str
    document_type: str  # Invoice or CreditNote
    total_amount: str
    total_vat_amount: str
    transaction_id: str | None
    sha256: str
    feed_id: str

    def as_json(self) -> dict[str, Any]:
        return {
            "invoice_number": self.invoice_number,
            "document_type": self.document_type,
            "total_amount": self.total_amount,
            "total_vat_amount": self.total_vat_amount,
            "transaction_id": self.transaction_id,
            "sha256": self.sha256,
            "feed_id": self.feed_id,
        }


@dataclass
class Feed:
    feed_id: str
    seller_id: str
    feed_type: str
    marketplace_ids: tuple[str, ...]
    created: datetime
    delay: timedelta
    outcome: str  # DONE or FATAL once processed
    result: Document | None  # the processing report
    invoice: Invoice | None = None  # what Amazon keeps once the feed is DONE

    def status(self, now: datetime) -> str:
        return processing_status(self.created, self.delay, self.outcome, now)

    def as_json(self, now: datetime) -> dict[str, Any]:
        """The ``Feed`` object of the Feeds API 2021-06-30."""
        status = self.status(now)
        data: dict[str, Any] = {
            "feedId": self.feed_id,
            "feedType": self.feed_type,
            "marketplaceIds": list(self.marketplace_ids),
            "createdTime": iso(self.created),
            "processingStatus": status,
        }
        if status != "IN_QUEUE":
            data["processingStartTime"] = iso(self.created + self.delay / 4)
        if status in ("DONE", "FATAL"):
            data["processingEndTime"] = iso(self.created + self.delay)
            if self.result is not None:
                data["resultFeedDocumentId"] = self.result.document_id
        return data


@dataclass
class _Upload:
    document: FeedDocument
    expires_wall: float


class FeedStore:
    """Feed documents, feeds and upload links of all sellers."""

    def __init__(self, wall: Callable[[], float] = time.monotonic) -> None:
        self.wall = wall
        self._lock = threading.RLock()  # ``add``'s decision reads the invoices
        self._ids = itertools.count(60_271_019_000)
        self._documents: dict[str, FeedDocument] = {}
        self._uploads: dict[str, _Upload] = {}
        self._feeds: dict[str, Feed] = {}

    def new_document(self, seller_id: str, region: str, content_type: str) -> FeedDocument:
        document = FeedDocument(
            document_id=f"amzn1.tortuga.4.{region}.{uuid.uuid4()}.T{secrets.randbelow(10**14)}",
            seller_id=seller_id,
            content_type=content_type,
        )
        with self._lock:
            self._documents[document.document_id] = document
        return document

    def upload_token(self, document: FeedDocument) -> str:
        """A pre-signed upload link's token, valid five minutes of wall time."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._uploads[token] = _Upload(
                document, self.wall() + DOWNLOAD_LIFETIME.total_seconds()
            )
        return token

    def upload(self, token: str) -> tuple[FeedDocument, bool] | None:
        """The document an upload token is for and whether the link has expired."""
        with self._lock:
            found = self._uploads.get(token)
        if found is None:
            return None
        return found.document, self.wall() >= found.expires_wall

    def document(self, seller_id: str, document_id: str) -> FeedDocument | None:
        with self._lock:
            found = self._documents.get(document_id)
        return found if found is not None and found.seller_id == seller_id else None

    def add(
        self,
        *,
        seller_id: str,
        feed_type: str,
        marketplace_ids: tuple[str, ...],
        now: datetime,
        delay: timedelta,
        decide: Callable[[str], tuple[str, Document | None, Invoice | None]],
    ) -> Feed:
        """A new feed; ``decide(feed_id)`` gives its outcome, report and accepted invoice (under
        the store's lock, so two feeds for the same invoice number are decided one by one)."""
        with self._lock:
            feed_id = str(next(self._ids))
            outcome, result, invoice = decide(feed_id)
            feed = Feed(
                feed_id=feed_id,
                seller_id=seller_id,
                feed_type=feed_type,
                marketplace_ids=marketplace_ids,
                created=now,
                delay=delay,
                outcome=outcome,
                result=result,
                invoice=invoice,
            )
            self._feeds[feed_id] = feed
        return feed

    def feed(self, seller_id: str, feed_id: str) -> Feed | None:
        with self._lock:
            found = self._feeds.get(feed_id)
        return found if found is not None and found.seller_id == seller_id else None

    def of_seller(self, seller_id: str) -> list[Feed]:
        """The seller's feeds, newest first."""
        with self._lock:
            found = [f for f in self._feeds.values() if f.seller_id == seller_id]
        return sorted(found, key=lambda f: (f.created, int(f.feed_id)), reverse=True)

    def result(self, seller_id: str, document_id: str, now: datetime) -> Document | None:
        """The processing report of a processed feed of this seller, or None."""
        with self._lock:
            feeds = [f for f in self._feeds.values() if f.result is not None]
        for feed in feeds:
            if feed.result is not None and feed.result.document_id == document_id:
                done = feed.status(now) in ("DONE", "FATAL")
                return feed.result if done and feed.seller_id == seller_id else None
        return None

    def invoices(self, now: datetime | None = None) -> list[Invoice]:
        """Every accepted invoice (of feeds DONE by ``now``; all decided ones without it),
        oldest first."""
        with self._lock:
            feeds = sorted(self._feeds.values(), key=lambda f: int(f.feed_id))
        return [
            f.invoice
            for f in feeds
            if f.invoice is not None and (now is None or f.status(now) == "DONE")
        ]
