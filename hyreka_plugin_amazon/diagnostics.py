"""What went wrong, in the seller's words: SP-API errors -> message ids of ``messages``.

Login and sync share this mapping, so that the same cause always gets the same advice.
"""

from __future__ import annotations

from dataclasses import dataclass

from hyreka_plugin_amazon import messages
from hyreka_plugin_amazon.flatfile import HeaderError
from hyreka_plugin_amazon.hookspecs import Account
from hyreka_plugin_amazon.spapi import errors


@dataclass(frozen=True)
class Diagnosis:
    """A message id and the seller-facing text in the account's language."""

    code: str
    message: str


def _diagnosis(account: Account, code: str, **params: object) -> Diagnosis:
    return Diagnosis(code, messages.translate(code, account.locale, **params))


def login_failure(exc: errors.SpApiError, account: Account) -> Diagnosis:
    """The message for a failed "Anmeldung testen"."""
    if isinstance(exc, errors.InvalidClientError):
        return _diagnosis(account, "login.invalid_client")
    if isinstance(exc, errors.InvalidGrantError):
        return _diagnosis(account, "login.invalid_grant")
    if isinstance(exc, errors.AccessDeniedError):
        return _diagnosis(account, "login.access_denied", region=account.region)
    if isinstance(exc, errors.ThrottledError):
        return _diagnosis(account, "login.throttled")
    if isinstance(exc, errors.TransportError):
        return _diagnosis(account, "login.unreachable", detail=_short(exc))
    if isinstance(exc, errors.ServerError):
        return _diagnosis(account, "login.unavailable")
    return _diagnosis(account, "login.error", detail=_short(exc))


def sync_failure(exc: Exception, account: Account) -> Diagnosis:
    """The message for a sync that ended before the window was handed over."""
    if isinstance(exc, errors.ReportFatalError):
        detail = (exc.document_text or exc.message).strip()[:500]
        return _diagnosis(account, "sync.report_fatal", detail=detail)
    if isinstance(exc, errors.ReportTimeoutError):
        return _diagnosis(account, "sync.report_timeout")
    if isinstance(exc, errors.ThrottledError):
        return _diagnosis(account, "sync.throttled")
    if isinstance(exc, errors.AuthenticationError):
        detail = login_failure(exc, account).message
        return _diagnosis(account, "sync.auth_failed", detail=detail)
    if isinstance(exc, errors.AccessDeniedError):
        return _diagnosis(account, "sync.access_denied")
    if isinstance(exc, errors.DocumentError):
        return _diagnosis(account, "sync.document_error", detail=type(exc).__name__)
    if isinstance(exc, errors.ServerError | errors.TransportError):
        return _diagnosis(account, "sync.unavailable", detail=_short(exc))
    if isinstance(exc, HeaderError):
        return _diagnosis(account, "sync.header_error", detail=str(exc))
    return _diagnosis(account, "sync.error", detail=_short(exc))


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text.splitlines()[0][:300] if text else type(exc).__name__
