"""Feeds API 2021-06-30: what the VAT invoice feed (``UPLOAD_VAT_INVOICE``) needs.

``createFeedDocument`` (a content type; Amazon answers a feed document id and a pre-signed upload
URL), the upload itself (a PUT to that URL with the promised Content-Type and no SP-API headers:
the URL carries its own signature), ``createFeed``, ``getFeed``, ``getFeeds`` and
``getFeedDocument`` with the processing report read and parsed (Amazon's XML
``ProcessingReport``, or the JSON report of the newer feed types).

``createFeed`` is never repeated once it may have reached Amazon (a second call would be a
second feed: for an invoice, a second document at Amazon); what to do after a lost answer is
the caller's decision (``invoicing.py`` looks for the feed with ``getFeeds``).
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import quote

from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.spapi.documents import DocumentStream
from hyreka_plugin_amazon.spapi.errors import SpApiError, server_text
from hyreka_plugin_amazon.spapi.models import ReportDocument, parse_time
from hyreka_plugin_amazon.spapi.transport import (
    RETRY_STATUSES,
    RETRY_STATUSES_UNSAFE,
    Transport,
    checked_url,
)

FEEDS = "/feeds/2021-06-30"
VAT_INVOICE_FEED = "UPLOAD_VAT_INVOICE"
REPORT_LIMIT = 200_000  # characters of a processing report read (an invoice's is about 1 KB)
_UPLOAD_LOG_PATH = "<feed document upload>"  # the pre-signed URL is never logged


class FeedDocumentUploadError(SpApiError):
    """The PDF could not be put to the pre-signed upload URL (refused or expired)."""


class FeedReportError(SpApiError):
    """The processing report is neither Amazon's XML nor its JSON report."""


@dataclass(frozen=True)
class Feed:
    """A feed as ``getFeed``/``getFeeds`` describe it."""

    feed_id: str
    feed_type: str
    processing_status: str  # IN_QUEUE, IN_PROGRESS, DONE, CANCELLED, FATAL
    marketplace_ids: tuple[str, ...]
    created_time: datetime | None
    result_feed_document_id: str | None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Feed:
        return cls(
            feed_id=str(body["feedId"]),
            feed_type=str(body.get("feedType") or ""),
            processing_status=str(body["processingStatus"]),
            marketplace_ids=tuple(str(m) for m in body.get("marketplaceIds") or ()),
            created_time=parse_time(body.get("createdTime")),
            result_feed_document_id=body.get("resultFeedDocumentId") or None,
        )


@dataclass(frozen=True)
class FeedDocument:
    """A new input feed document: its id and where to put its content (5 minutes)."""

    feed_document_id: str
    url: str = field(repr=False)  # pre-signed: as good as a credential


@dataclass(frozen=True)
class ReportResult:
    """One result of a processing report: ``Error`` or ``Warning`` with Amazon's words."""

    code: str
    severity: str
    description: str


@dataclass(frozen=True)
class ProcessingReport:
    """What Amazon did with a feed's messages."""

    processed: int
    successful: int
    results: tuple[ReportResult, ...]

    @property
    def errors(self) -> tuple[ReportResult, ...]:
        return tuple(r for r in self.results if r.severity.lower() in ("error", "fatal"))


class FeedOperations:
    """The Feeds operations, mixed into ``SpApiClient`` (which provides ``_call``,
    ``_transport`` and ``_secrets``)."""

    _transport: Transport
    _secrets: tuple[Secret, ...]

    def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        restricted_path: str | None = None,
        retry_statuses: frozenset[int] = RETRY_STATUSES,
        retry_after_send: bool = True,
        empty_ok: bool = False,
    ) -> dict[str, Any]:
        raise NotImplementedError  # SpApiClient's

    def create_feed_document(self, content_type: str) -> FeedDocument:
        body = self._call(
            "createFeedDocument",
            "POST",
            f"{FEEDS}/documents",
            json_body={"contentType": content_type},
        )
        return FeedDocument(str(body["feedDocumentId"]), str(body["url"]))

    def upload_feed_document(
        self, document: FeedDocument, content: bytes, content_type: str
    ) -> None:
        """PUT the content to the pre-signed URL: the Content-Type promised to
        createFeedDocument and nothing of the SP-API (no access token). A PUT of the same
        bytes again replaces them, so the transport may repeat it."""
        try:
            url = checked_url(document.url, "the feed document's upload URL")
        except ValueError as exc:
            raise FeedDocumentUploadError(str(exc), operation="upload") from None
        response = self._transport.send(
            "upload",
            "PUT",
            url,
            log_path=_UPLOAD_LOG_PATH,
            headers={"Content-Type": content_type},
            data=content,
            secret_url=True,
        )
        with response:
            if not response.ok:
                reason = f"HTTP {response.status_code} from the upload host"
                raise FeedDocumentUploadError(
                    f"the feed document could not be uploaded: {reason}",
                    operation="upload",
                    status=response.status_code,
                )

    def create_feed(
        self,
        feed_type: str,
        marketplace_ids: Sequence[str],
        input_feed_document_id: str,
        feed_options: Mapping[str, str] | None = None,
    ) -> str:
        """A new feed of the uploaded document; its feedId. Never repeated once it may have
        reached Amazon (only a 429 or 503, answered before Amazon acts, is sent again)."""
        spec: dict[str, Any] = {
            "feedType": feed_type,
            "marketplaceIds": list(marketplace_ids),
            "inputFeedDocumentId": input_feed_document_id,
        }
        if feed_options:
            spec["feedOptions"] = dict(feed_options)
        body = self._call(
            "createFeed",
            "POST",
            f"{FEEDS}/feeds",
            json_body=spec,
            retry_statuses=RETRY_STATUSES_UNSAFE,
            retry_after_send=False,
        )
        return str(body["feedId"])

    def get_feed(self, feed_id: str) -> Feed:
        body = self._call("getFeed", "GET", f"{FEEDS}/feeds/{_segment(feed_id)}")
        return Feed.from_json(body)

    def get_feeds(
        self,
        feed_types: Sequence[str],
        *,
        marketplace_ids: Sequence[str] = (),
        page_size: int = 10,
    ) -> list[Feed]:
        """The newest ``page_size`` feeds of these types (one page, newest first)."""
        params = {"feedTypes": ",".join(feed_types), "pageSize": str(page_size)}
        if marketplace_ids:
            params["marketplaceIds"] = ",".join(marketplace_ids)
        body = self._call("getFeeds", "GET", f"{FEEDS}/feeds", params=params)
        return [Feed.from_json(item) for item in body.get("feeds") or ()]

    def get_feed_document(self, feed_document_id: str) -> ReportDocument:
        """A processing report's pre-signed URL (valid 5 minutes)."""
        path = f"{FEEDS}/documents/{_segment(feed_document_id)}"
        body = self._call("getFeedDocument", "GET", path, retry_statuses=RETRY_STATUSES)
        return ReportDocument(
            document_id=str(body["feedDocumentId"]),
            url=str(body["url"]),
            compression_algorithm=body.get("compressionAlgorithm") or None,
        )

    def read_processing_report(self, feed_document_id: str) -> ProcessingReport:
        """Download and parse a feed's processing report (at most ``REPORT_LIMIT`` chars)."""

        def fetch() -> ReportDocument:
            return self.get_feed_document(feed_document_id)

        parts: list[str] = []
        size = 0
        with DocumentStream(
            transport=self._transport, fetch=fetch, fallback_charsets=("utf-8",)
        ) as stream:
            for line in stream:
                parts.append(line)
                size += len(line)
                if size >= REPORT_LIMIT:
                    break
        secrets = tuple(secret.reveal() for secret in self._secrets)
        return parse_processing_report("".join(parts)[:REPORT_LIMIT], secrets)


def parse_processing_report(text: str, secrets: Sequence[str] = ()) -> ProcessingReport:
    """Amazon's XML ``ProcessingReport`` (``ProcessingSummary`` and ``Result`` elements) or
    the JSON report (``summary``, ``issues``); descriptions fit to show (``server_text``)."""
    stripped = text.lstrip("\ufeff \r\n\t")
    if stripped.startswith("{"):
        return _json_report(stripped, secrets)
    if "<!DOCTYPE" in stripped.upper() or "<!ENTITY" in stripped.upper():
        raise FeedReportError(  # Amazon's reports have none; entities are how XML attacks
            "the feed's processing report declares a DTD", operation="getFeedDocument"
        )
    try:
        # no DTD, so no entity to expand; at most REPORT_LIMIT characters
        root = ElementTree.fromstring(stripped)  # noqa: S314
    except ElementTree.ParseError as exc:
        raise FeedReportError(
            f"the feed's processing report could not be read ({exc})", operation="getFeedDocument"
        ) from None
    report = root.find(".//ProcessingReport")
    if report is None:
        raise FeedReportError(
            "the feed's processing report has no ProcessingReport", operation="getFeedDocument"
        )
    summary = report.find("ProcessingSummary")
    results = tuple(
        ReportResult(
            code=(result.findtext("ResultMessageCode") or "").strip(),
            severity=(result.findtext("ResultCode") or "").strip(),
            description=server_text(result.findtext("ResultDescription") or "", secrets),
        )
        for result in report.findall("Result")
    )
    return ProcessingReport(
        processed=_count(summary, "MessagesProcessed"),
        successful=_count(summary, "MessagesSuccessful"),
        results=results,
    )


def _json_report(text: str, secrets: Sequence[str]) -> ProcessingReport:
    try:
        body = json.loads(text)
    except ValueError:
        raise FeedReportError(
            "the feed's processing report is not valid JSON", operation="getFeedDocument"
        ) from None
    summary = body.get("summary") if isinstance(body, dict) else None
    issues = body.get("issues") if isinstance(body, dict) else None
    if not isinstance(summary, dict):
        raise FeedReportError(
            "the feed's processing report has no summary", operation="getFeedDocument"
        )
    results = tuple(
        ReportResult(
            code=str(issue.get("code") or ""),
            severity=str(issue.get("severity") or ""),
            description=server_text(str(issue.get("message") or ""), secrets),
        )
        for issue in issues or ()
        if isinstance(issue, dict)
    )
    return ProcessingReport(
        processed=int(summary.get("messagesProcessed") or 0),
        successful=int(summary.get("messagesAccepted") or 0),
        results=results,
    )


def _count(summary: ElementTree.Element | None, name: str) -> int:
    text = summary.findtext(name) if summary is not None else None
    return int(text) if text is not None and text.strip().isdigit() else 0


def _segment(value: str) -> str:
    return quote(value, safe="")


__all__ = [
    "FEEDS",
    "VAT_INVOICE_FEED",
    "Feed",
    "FeedDocument",
    "FeedDocumentUploadError",
    "FeedOperations",
    "FeedReportError",
    "ProcessingReport",
    "ReportResult",
    "parse_processing_report",
]
