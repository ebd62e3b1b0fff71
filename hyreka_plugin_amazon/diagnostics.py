"""What went wrong, in the seller's words: SP-API errors -> message ids of ``messages``.

Login and sync share this mapping, so that the same cause always gets the same advice.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal
from urllib.parse import urlsplit

from hyreka_plugin_amazon import messages
from hyreka_plugin_amazon.contract import Account
from hyreka_plugin_amazon.reports.catalogue import DATA_ROLES, EITHER_ORDER_ROLE
from hyreka_plugin_amazon.reports.reader import HeaderError
from hyreka_plugin_amazon.spapi import errors
from hyreka_plugin_amazon.spapi.regions import (
    LWA_TOKEN_URL,
    REGIONS,
    UnknownMarketplaceError,
    marketplace,
)

# Operations that touch a restricted order report: a 403 there means the role is missing.
_RESTRICTED_OPERATIONS: Final = frozenset(
    {"createReport", "createRestrictedDataToken", "getReportDocument"}
)


@dataclass(frozen=True)
class Diagnosis:
    """A message id, the seller-facing text in the account's language, and whether only a
    re-authorisation (new credentials) can help."""

    code: str
    message: str
    needs_reauthorization: bool = False


_REPORT_NAMES: Final = {
    "order report": "report.order",
    "status report": "report.status",
    "FBA report": "report.fba",
}
Reading = Literal["order report", "status report", "FBA report"]

# The causes that only new credentials fix: the host pauses background syncs on them.
_REAUTHORIZE: Final = frozenset({"login.invalid_client", "login.invalid_grant", "sync.auth_failed"})


def _diagnosis(account: Account, code: str, **params: object) -> Diagnosis:
    text = messages.translate(code, account.locale, **params)
    return Diagnosis(code, text, needs_reauthorization=code in _REAUTHORIZE)


def login_failure(exc: errors.SpApiError, account: Account) -> Diagnosis:
    """The message for a failed "Anmeldung testen"."""
    if isinstance(exc, errors.InvalidClientError):
        return _diagnosis(account, "login.invalid_client")
    if isinstance(exc, errors.InvalidGrantError):
        return _diagnosis(account, "login.invalid_grant")
    if isinstance(exc, errors.AccessDeniedError):
        if is_basic_account(exc):
            return _diagnosis(account, "login.basic_account")
        return _diagnosis(account, "login.access_denied", region=account.region)
    if isinstance(exc, errors.ThrottledError):
        return _diagnosis(account, "login.throttled")
    if isinstance(exc, errors.CertificateError):
        return _diagnosis(account, "net.certificate", host=_host(exc, account))
    if isinstance(exc, errors.TransportError):
        return _diagnosis(account, "login.unreachable", host=_host(exc, account))
    if isinstance(exc, errors.ServerError):
        return _diagnosis(account, "login.unavailable", status=exc.status or "5xx")
    return _diagnosis(account, "login.error", detail=_short(exc))


def wrong_region(account: Account, found: str, marketplace_ids: Sequence[str]) -> Diagnosis:
    """The refresh token works in region ``found``, not in the account's region."""
    names = ", ".join(marketplace_label(m) for m in marketplace_ids) or "-"
    return _diagnosis(
        account, "login.wrong_region", found=found, region=account.region, marketplaces=names
    )


def sync_failure(
    exc: Exception,
    account: Account,
    *,
    order_report: str | None = None,
    reading: Reading = "order report",
) -> Diagnosis:
    """The message for a sync that ended before the window was handed over.

    ``order_report`` is the type of the order report the sync requested: it names the
    restricted role a 403 asks for. ``reading``: the report whose download was being read.
    """
    if isinstance(exc, errors.ReportFatalError):
        if exc.document_text is None and exc.report_type in DATA_ROLES:
            return _diagnosis(account, "sync.order_reports_not_enabled")
        detail = " ".join((exc.document_text or exc.message).split())[:500]
        return _diagnosis(account, "sync.report_fatal", detail=detail)
    if isinstance(exc, errors.ReportTimeoutError):
        return _diagnosis(account, "sync.report_timeout")
    if isinstance(exc, errors.ThrottledError):
        return _diagnosis(account, "sync.throttled")
    if isinstance(exc, errors.AuthenticationError):
        detail = login_failure(exc, account).message
        return _diagnosis(account, "sync.auth_failed", detail=detail)
    if isinstance(exc, errors.AccessDeniedError):
        if is_basic_account(exc):
            detail = login_failure(exc, account).message
            return _diagnosis(account, "sync.auth_failed", detail=detail)
        if is_token_refused(exc):  # refused once more after a renewal: not a role
            return _diagnosis(account, "sync.token_refused")
        if exc.operation in _RESTRICTED_OPERATIONS:
            role = DATA_ROLES.get(order_report or "", EITHER_ORDER_ROLE)
            return _diagnosis(account, "sync.restricted_role_missing", role=role)
        return _diagnosis(account, "sync.access_denied")
    if is_role_refusal(exc):
        role = DATA_ROLES.get(order_report or "", EITHER_ORDER_ROLE)
        return _diagnosis(account, "sync.restricted_role_missing", role=role)
    if isinstance(exc, errors.DocumentError):
        report = messages.translate(_REPORT_NAMES[reading], account.locale)
        if isinstance(exc, errors.DocumentTooLargeError):
            return _diagnosis(account, "sync.document_too_large", report=report)
        return _diagnosis(account, "sync.document_error", detail=f"{report}: {type(exc).__name__}")
    if isinstance(exc, errors.CertificateError):
        return _diagnosis(account, "net.certificate", host=_host(exc, account))
    if isinstance(exc, errors.ServerError | errors.TransportError):
        return _diagnosis(account, "sync.unavailable", detail=failure_detail(exc, account.locale))
    if isinstance(exc, HeaderError):
        return _diagnosis(account, "sync.header_error", detail=str(exc))
    return _diagnosis(account, "sync.error", detail=_short(exc))


def failure_detail(exc: errors.SpApiError, locale: str) -> str:
    """What went wrong between Amazon and us, in the seller's words, for the texts that say
    "Amazon is temporarily unavailable (...)": an error status, no answer or no connection;
    any other error's own first line (Amazon's words)."""
    if isinstance(exc, errors.ServerError):
        return messages.translate("net.status", locale, status=exc.status or "5xx")
    if isinstance(exc, errors.NoAnswerError):
        return messages.translate("net.no_answer", locale)
    if isinstance(exc, errors.TransportError):
        return messages.translate("net.no_connection", locale)
    return _short(exc)


def is_role_refusal(exc: Exception) -> bool:
    """Amazon refuses an RDT to an app without the restricted role with a 400 InvalidInput
    ("Application do not have access to some or all requested resource")."""
    return (
        isinstance(exc, errors.BadRequestError)
        and exc.operation == "createRestrictedDataToken"
        and exc.code == "InvalidInput"
        and "have access" in exc.message.lower()
    )


def is_token_refused(exc: errors.AccessDeniedError) -> bool:
    """Amazon's 403 for an access token it does not accept (revoked, malformed, invalid or
    expired), as opposed to a token without the role or rights an operation needs."""
    text = exc.message.lower()
    return "access token" in text and any(
        word in text for word in ("revoked", "malformed", "invalid", "expired")
    )


def is_disk_full(exc: BaseException) -> bool:
    """The host's database ran out of space (SQLite's "database or disk is full"). A host's
    own OSError stays a host error (tests/test_sync_cursor.py: only its type is shown)."""
    return not isinstance(exc, OSError) and "disk is full" in str(exc).lower()


def is_basic_account(exc: errors.AccessDeniedError) -> bool:
    """Amazon refuses an Individual (basic) selling account with a 403 that says so."""
    return "individual account" in exc.message.lower()


def marketplace_label(marketplace_id: str) -> str:
    """``A1PA6795UKMFR9`` -> ``Amazon.de (DE)``; unknown ids stay as they are."""
    try:
        found = marketplace(marketplace_id)
    except UnknownMarketplaceError:
        return marketplace_id
    return f"{found.domain} ({found.code})"


def _host(exc: errors.SpApiError, account: Account) -> str:
    """The host a transport error could not reach: LWA's for the token exchange, else SP-API's."""
    if exc.operation == "lwaToken":
        url = account.token_url or LWA_TOKEN_URL
    else:
        region = REGIONS.get(account.region.lower())
        url = account.endpoint or (region.endpoint if region else "")
    return urlsplit(url).netloc or url


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0][:300] if text else type(exc).__name__
