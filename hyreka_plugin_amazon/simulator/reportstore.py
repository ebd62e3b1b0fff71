"""Requested reports, their documents and pre-signed downloads, on the simulator clock."""

from __future__ import annotations

import gzip
import itertools
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

# Pre-signed URLs live five minutes of wall time, whatever the simulator clock's scale: a
# client fetches a URL right away by its own clock, so a fast clock must not expire it.
DOWNLOAD_LIFETIME = timedelta(minutes=5)


@dataclass
class Document:
    document_id: str
    seller_id: str
    report_type: str
    body: bytes  # what the download serves (gzip-compressed unless compression is None)
    content_type: str
    compression: str | None = "GZIP"


@dataclass
class Report:
    report_id: str
    seller_id: str
    report_type: str
    marketplace_ids: tuple[str, ...]
    data_start: datetime
    data_end: datetime
    created: datetime
    delay: timedelta
    outcome: str  # the terminal status once processed: DONE, CANCELLED or FATAL
    document: Document | None
    cancelled: datetime | None = None  # when the seller cancelled it (cancelReport)

    def status(self, now: datetime) -> str:
        if self.cancelled is not None and now >= self.cancelled:
            return "CANCELLED"
        return processing_status(self.created, self.delay, self.outcome, now)

    def as_json(self, now: datetime) -> dict[str, Any]:
        """The ``Report`` object of the Reports API 2021-06-30."""
        status = self.status(now)
        data: dict[str, Any] = {
            "reportId": self.report_id,
            "reportType": self.report_type,
            "marketplaceIds": list(self.marketplace_ids),
            "dataStartTime": iso(self.data_start),
            "dataEndTime": iso(self.data_end),
            "createdTime": iso(self.created),
            "processingStatus": status,
        }
        if status != "IN_QUEUE" and self.cancelled is None:
            data["processingStartTime"] = iso(self.created + self.delay / 4)
        if self.cancelled is not None and status == "CANCELLED":
            data["processingEndTime"] = iso(self.cancelled)
        elif status in ("DONE", "CANCELLED", "FATAL"):
            data["processingEndTime"] = iso(self.created + self.delay)
            if self.document is not None and status != "CANCELLED":
                data["reportDocumentId"] = self.document.document_id
        return data


def processing_status(created: datetime, delay: timedelta, outcome: str, now: datetime) -> str:
    """Where Amazon's processing of a report or feed made at ``created`` stands: IN_QUEUE for
    the first quarter of ``delay``, IN_PROGRESS for the rest, then ``outcome``."""
    elapsed = now - created
    if elapsed >= delay:
        return outcome
    return "IN_QUEUE" if elapsed < delay / 4 else "IN_PROGRESS"


@dataclass
class Download:
    document: Document
    expires: datetime  # on the simulator clock, as the S3 error shows it
    expires_wall: float  # when it really expires (``ReportStore.wall``)
    content_encoding: bool = False  # getReportDocument's enableContentEncodingUrlHeader

    def expired(self, wall: float) -> bool:
        return wall >= self.expires_wall


class ReportStore:
    """Reports, documents and download links of all sellers."""

    def __init__(self, wall: Callable[[], float] = time.monotonic) -> None:
        self.wall = wall
        self._lock = threading.Lock()
        self._ids = itertools.count(50_173_019_000)
        self._reports: dict[str, Report] = {}
        self._documents: dict[str, Document] = {}
        self._downloads: dict[str, Download] = {}

    def add(
        self,
        *,
        seller_id: str,
        report_type: str,
        marketplace_ids: tuple[str, ...],
        data_start: datetime,
        data_end: datetime,
        now: datetime,
        delay: timedelta,
        outcome: str,
        document: Document | None,
    ) -> Report:
        with self._lock:
            report = Report(
                report_id=str(next(self._ids)),
                seller_id=seller_id,
                report_type=report_type,
                marketplace_ids=marketplace_ids,
                data_start=data_start,
                data_end=data_end,
                created=now,
                delay=delay,
                outcome=outcome,
                document=document,
            )
            self._reports[report.report_id] = report
            if document is not None:
                self._documents[document.document_id] = document
        return report

    def report(self, seller_id: str, report_id: str) -> Report | None:
        with self._lock:
            found = self._reports.get(report_id)
        return found if found is not None and found.seller_id == seller_id else None

    def of_seller(self, seller_id: str) -> list[Report]:
        """The seller's reports, newest first."""
        with self._lock:
            found = [r for r in self._reports.values() if r.seller_id == seller_id]
        return sorted(found, key=lambda r: (r.created, int(r.report_id)), reverse=True)

    def cancel(self, report: Report, now: datetime) -> bool:
        """Cancel a report still in the queue; False when it is past that."""
        with self._lock:
            if report.status(now) != "IN_QUEUE":
                return False
            report.cancelled = now
            return True

    def document(self, seller_id: str, document_id: str, now: datetime) -> Document | None:
        """The document of a processed report of this seller, or None."""
        with self._lock:
            found = self._documents.get(document_id)
            reports = [r for r in self._reports.values() if r.document is found]
        if found is None or found.seller_id != seller_id:
            return None
        if not any(r.status(now) in ("DONE", "FATAL") for r in reports):
            return None
        return found

    def presign(self, document: Document, now: datetime, *, content_encoding: bool = False) -> str:
        """A new download token for the document, valid for five minutes of wall time."""
        token = secrets.token_urlsafe(24)
        expires_wall = self.wall() + DOWNLOAD_LIFETIME.total_seconds()
        found = Download(document, now + DOWNLOAD_LIFETIME, expires_wall, content_encoding)
        with self._lock:
            self._downloads[token] = found
        return token

    def download(self, token: str) -> Download | None:
        with self._lock:
            return self._downloads.get(token)


def new_document(
    seller_id: str, report_type: str, text: str, charset: str, region: str, *, bom: bool = False
) -> Document:
    """A GZIP document of ``text`` encoded like Amazon does (unmappable characters as ``?``)."""
    codec = {"Cp1252": "cp1252", "Shift_JIS": "cp932"}.get(charset, "utf-8")
    raw = (b"\xef\xbb\xbf" if bom else b"") + text.encode(codec, errors="replace")
    return Document(
        document_id=f"amzn1.spdoc.1.4.{region}.{uuid.uuid4()}.T{secrets.randbelow(10**14)}",
        seller_id=seller_id,
        report_type=report_type,
        body=gzip.compress(raw, mtime=0),
        content_type=f"text/plain; charset={charset}",
    )


def iso(value: datetime) -> str:
    """Amazon's date-time form: seconds and a UTC offset."""
    return value.isoformat(timespec="seconds")
