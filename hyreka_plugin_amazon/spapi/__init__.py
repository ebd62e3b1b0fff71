"""Amazon Selling Partner API client: LWA, Sellers, Reports, Tokens, Orders v2026-01-01."""

from hyreka_plugin_amazon.spapi.client import SpApiClient
from hyreka_plugin_amazon.spapi.documents import DocumentStream
from hyreka_plugin_amazon.spapi.errors import (
    AccessDeniedError,
    AuthenticationError,
    BadRequestError,
    DocumentDecodeError,
    DocumentError,
    DocumentExpiredError,
    DocumentTruncatedError,
    InvalidClientError,
    InvalidGrantError,
    NotFoundError,
    ReportError,
    ReportFatalError,
    ReportTimeoutError,
    ServerError,
    SpApiError,
    ThrottledError,
    TransportError,
)
from hyreka_plugin_amazon.spapi.models import (
    MarketplaceParticipation,
    Report,
    ReportDocument,
)

__all__ = [
    "AccessDeniedError",
    "AuthenticationError",
    "BadRequestError",
    "DocumentDecodeError",
    "DocumentError",
    "DocumentExpiredError",
    "DocumentStream",
    "DocumentTruncatedError",
    "InvalidClientError",
    "InvalidGrantError",
    "MarketplaceParticipation",
    "NotFoundError",
    "Report",
    "ReportDocument",
    "ReportError",
    "ReportFatalError",
    "ReportTimeoutError",
    "ServerError",
    "SpApiClient",
    "SpApiError",
    "ThrottledError",
    "TransportError",
]
