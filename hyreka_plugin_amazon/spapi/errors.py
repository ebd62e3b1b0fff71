"""Typed SP-API errors: operation, HTTP status, Amazon's error code, request id; no secrets."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
# What a server may tell us that is kept: an error code that looks like one, a request id in
# Amazon's formats (UUIDs, short upper-case ids). Anything else a server sends is not kept.
_CODE = re.compile(r"[A-Za-z_.]{1,64}")
_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,39}")
# Amazon's secret formats: a copy without its prefix is still the secret
_SECRET_PREFIXES = ("Atzr|", "Atza|", "Atz.sprdt|", "amzn1.oa2-cs.v1.")
_MIN_SECRET_BODY = 8
# A server's words longer than this are not language but data (a token, a blob): elided
_LONG_WORD = re.compile(r"\S{48,}")


class SpApiError(Exception):
    """Base of every error the SP-API client raises.

    ``str()`` gives the message followed by what support needs (operation, HTTP status, Amazon's
    error code, ``x-amzn-RequestId``); messages are built by the client and never carry tokens,
    secrets, pre-signed URLs or document content beyond what a subclass documents.
    """

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.operation = operation
        self.status = status
        self.code = safe_code(code)
        self.request_id = safe_request_id(request_id)
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        facts = [
            self.operation,
            None if self.status is None else f"HTTP {self.status}",
            self.code,
            None if self.request_id is None else f"request id {self.request_id}",
        ]
        shown = ", ".join(fact for fact in facts if fact)
        return f"{self.message} [{shown}]" if shown else self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, operation={self.operation!r}, "
            f"status={self.status!r}, code={self.code!r}, request_id={self.request_id!r})"
        )


class AuthenticationError(SpApiError):
    """Login with Amazon refused the token exchange; ``code`` is LWA's error code."""


class InvalidClientError(AuthenticationError):
    """``invalid_client``: wrong LWA client id or secret, or a secret past its 180-day rotation."""


class InvalidGrantError(AuthenticationError):
    """``invalid_grant``: the refresh token is invalid, revoked or belongs to another app."""


class AccessDeniedError(SpApiError):
    """403 after one token refresh: app not authorised, wrong region, missing restricted role."""


class ThrottledError(SpApiError):
    """429 after the retry budget, or a rate-limit wait longer than the client accepts."""

    retryable = True


class ServerError(SpApiError):
    """500/502/503/504 after the retry budget."""

    retryable = True


class TransportError(SpApiError):
    """Connection error or timeout after the retry budget (or where a retry was unsafe)."""

    retryable = True


class NoAnswerError(TransportError):
    """The server took the connection (or the request) but answered within no timeout."""


class CertificateError(TransportError):
    """The server's TLS certificate could not be verified against the trusted CAs (certifi's
    bundle; the environment's ``REQUESTS_CA_BUNDLE`` is not trusted). Not retried."""

    retryable = False


class NotFoundError(SpApiError):
    """404: the report, document or order does not exist (for these credentials)."""


class BadRequestError(SpApiError):
    """400 (``InvalidInput``, ``InvalidRequest``): Amazon rejected the parameters."""


class ShipmentRefusedError(BadRequestError):
    """confirmShipment refused the package as given (400 ``InvalidInput`` for a carrier, item
    or quantity Amazon does not accept, ``PackageToUpdateNotFound``; 404 for an order Amazon
    does not know). ``details`` is Amazon's reason, redacted and shortened like every message."""

    def __init__(self, message: str, *, details: str, **facts: Any) -> None:
        super().__init__(message, **facts)
        self.details = details


class ReportError(SpApiError):
    """A report did not finish as DONE or CANCELLED."""


class ReportFatalError(ReportError):
    """processingStatus FATAL; ``document_text`` holds Amazon's error document, if any (capped)."""

    def __init__(
        self,
        message: str,
        *,
        report_id: str,
        document_text: str | None,
        report_type: str | None = None,
        operation: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message, operation=operation, code="FATAL", request_id=request_id)
        self.report_id = report_id
        self.report_type = report_type
        self.document_text = document_text


class ReportTimeoutError(ReportError):
    """The report was still processing when the wait's deadline passed."""

    retryable = True


class DocumentError(SpApiError):
    """A report document could not be downloaded or read."""


class DocumentTruncatedError(DocumentError):
    """The download ended early (short body, unfinished gzip stream, dropped connection)."""

    retryable = True


class DocumentTooLargeError(DocumentError):
    """The document exceeds a limit no report of Amazon's reaches (decompressed size, line
    length): a gzip bomb or not a report. Not retried; its content is never quoted."""


class DocumentDecodeError(DocumentError):
    """The document is not valid gzip or not valid text in its charset."""


class DocumentExpiredError(DocumentError):
    """The pre-signed download URL was refused even after fetching a fresh one."""

    retryable = True


def secret_forms(secret: str) -> set[str]:
    """The ways a secret can stand in a text: plain, URL-encoded, JSON-escaped, and each of
    these without Amazon's prefix (``Atzr|``, ``amzn1.oa2-cs.v1.``, ...)."""
    bodies = {secret}
    for prefix in _SECRET_PREFIXES:
        if secret.startswith(prefix) and len(secret) - len(prefix) >= _MIN_SECRET_BODY:
            bodies.add(secret[len(prefix) :])
    forms: set[str] = set()
    for body in bodies:
        forms.update((body, quote(body, safe=""), quote_plus(body), json.dumps(body)[1:-1]))
        forms.update((quote(body, safe="").lower(), json.dumps(body, ensure_ascii=True)[1:-1]))
    return {form for form in forms if form}


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every known secret (in each of its ``secret_forms``) replaced by ``***``."""
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms |= secret_forms(secret)
    for form in sorted(forms, key=len, reverse=True):  # longest first: a form may hold another
        text = text.replace(form, MASK)
    return text


def server_text(text: str, secrets: Iterable[str], *, limit: int = 300) -> str:
    """What a server said, fit to show: known secrets redacted, long data-like words elided,
    control characters dropped, capped at ``limit`` characters."""
    text = redact(text, secrets)
    text = _LONG_WORD.sub("…", text)
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return text[:limit]


def safe_code(code: str | None) -> str | None:
    """An error code as a server sent it, kept only when it looks like a code."""
    return code if code is not None and _CODE.fullmatch(code) else None


def safe_request_id(value: str | None) -> str | None:
    """A request id as a server sent it, kept only in Amazon's formats."""
    return value if value is not None and _REQUEST_ID.fullmatch(value) else None
