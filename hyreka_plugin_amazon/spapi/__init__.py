"""Amazon Selling Partner API client: LWA, Sellers, Reports, Tokens, Orders v2026-01-01."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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
        ShipmentRefusedError,
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
    "ShipmentRefusedError",
    "SpApiClient",
    "SpApiError",
    "ThrottledError",
    "TransportError",
]

# name -> the module that holds it: imported when first asked for, so a module of this package
# (``spapi.regions`` for the connector's description) loads no HTTP client
_HOME = {
    "SpApiClient": "client",
    "DocumentStream": "documents",
    "MarketplaceParticipation": "models",
    "Report": "models",
    "ReportDocument": "models",
}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module = importlib.import_module(f"{__name__}.{_HOME.get(name, 'errors')}")
    return getattr(module, name)
