"""The SP-API objects the client returns, read from Amazon's JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

DONE = "DONE"
CANCELLED = "CANCELLED"
FATAL = "FATAL"


@dataclass(frozen=True)
class MarketplaceParticipation:
    marketplace_id: str
    name: str
    country_code: str
    currency: str
    domain: str
    is_participating: bool
    has_suspended_listings: bool

    @classmethod
    def from_json(cls, item: Mapping[str, Any]) -> MarketplaceParticipation:
        market = item["marketplace"]
        participation = item.get("participation") or {}
        return cls(
            marketplace_id=str(market["id"]),
            name=str(market.get("name") or ""),
            country_code=str(market.get("countryCode") or ""),
            currency=str(market.get("defaultCurrencyCode") or ""),
            domain=str(market.get("domainName") or ""),
            is_participating=bool(participation.get("isParticipating", False)),
            has_suspended_listings=bool(participation.get("hasSuspendedListings", False)),
        )


@dataclass(frozen=True)
class Report:
    report_id: str
    report_type: str
    processing_status: str  # IN_QUEUE, IN_PROGRESS, DONE, CANCELLED, FATAL
    report_document_id: str | None
    data_start_time: datetime | None
    data_end_time: datetime | None
    created_time: datetime | None
    marketplace_ids: tuple[str, ...]

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Report:
        return cls(
            report_id=str(body["reportId"]),
            report_type=str(body.get("reportType") or ""),
            processing_status=str(body["processingStatus"]),
            report_document_id=body.get("reportDocumentId") or None,
            data_start_time=parse_time(body.get("dataStartTime")),
            data_end_time=parse_time(body.get("dataEndTime")),
            created_time=parse_time(body.get("createdTime")),
            marketplace_ids=tuple(str(m) for m in body.get("marketplaceIds") or ()),
        )


@dataclass(frozen=True)
class ReportDocument:
    document_id: str
    url: str = field(repr=False)  # pre-signed for 5 minutes: as good as a credential
    compression_algorithm: str | None

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> ReportDocument:
        return cls(
            document_id=str(body["reportDocumentId"]),
            url=str(body["url"]),
            compression_algorithm=body.get("compressionAlgorithm") or None,
        )


def parse_time(value: object) -> datetime | None:
    """An aware datetime from Amazon's ISO 8601 text (``Z`` = UTC; naive taken as UTC)."""
    if not isinstance(value, str) or not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def format_time(value: datetime) -> str:
    """ISO 8601 in UTC with a trailing Z, as Amazon's examples write it; naive is refused."""
    if value.tzinfo is None:
        raise ValueError("SP-API times must be timezone-aware datetimes")
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
