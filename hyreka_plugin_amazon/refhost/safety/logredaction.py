"""The reference host's log redaction: the second line of defence against leaked secrets.

The connector never logs secrets or personal data on purpose and keeps them out of its own
exception texts; this filter, which the host installs on its process's loggers, masks what
slips through anyway: Amazon's token formats (``Atzr|``, ``Atza|``, ``Atz.sprdt|``), LWA client
secrets (``amzn1.oa2-cs.v1.``), Fernet keys and tokens, the signature parts of pre-signed
URLs, the values of ``Authorization`` / ``x-amz-access-token`` headers and of secret form or
JSON fields, e-mail addresses, and every value registered with ``register``. The host
registers the secrets it holds (an account's client secret and refresh token) before it hands
the account to a plugin.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, quote_plus

from hyreka_plugin_amazon.contract import Account
from hyreka_plugin_amazon.secret import Secret

MASK = "***"
# Loggers the host's process installs the filter on (with every existing child logger).
LOGGER_NAMESPACES = ("hyreka_plugin_amazon", "urllib3", "requests", "apscheduler")
_MIN_REGISTERED = 6  # shorter registered values would mask ordinary words
# A record's own attributes; any other is an ``extra=`` field, set after the record factory ran,
# so the filter on the handlers redacts those.
_RECORD_ATTRIBUTES = frozenset(
    {*logging.LogRecord("", 0, "", 0, "", None, None).__dict__, "message", "asctime"}
)

_SECRET_FIELDS = "|".join(  # names of headers and fields that carry secrets
    (
        "authorization",
        "proxy-authorization",
        "x-amz-access-token",
        "x-amz-security-token",
        "client_secret",
        "refresh_token",
        "access_token",
        "restrictedDataToken",
    )
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # header or field name, then a quoted value: 'x-amz-access-token': 'Atza|...'
    (
        re.compile(rf"""(["']?(?:{_SECRET_FIELDS})["']?\s*[:=]\s*)(["'])(?:(?!\2).)*\2""", re.I),
        rf"\1\2{MASK}\2",
    ),
    # ... or unquoted, as in a header line or a form body: Authorization: Bearer ...
    (
        re.compile(rf"""((?:{_SECRET_FIELDS})\s*[:=]\s*)(?!["'\s])[^\r\n,;&"'}}]+""", re.I),
        rf"\1{MASK}",
    ),
    # Amazon's tokens and LWA client secrets, wherever they stand
    (re.compile(r"(Atzr\||Atza\||Atz\.sprdt\||amzn1\.oa2-cs\.v1\.)[^\s\"'&,;)}\]]+"), rf"\1{MASK}"),
    # ... and URL-encoded (a form body or query string quoted in a traceback): Atzr%7C...
    (re.compile(r"(Atz[ra]%7C|Atz\.sprdt%7C)[^\s\"'&,;)}\]]+", re.I), rf"\1{MASK}"),
    # the signing parts of pre-signed URLs (SigV4 and SigV2)
    (
        re.compile(
            r"((?:X-Amz-(?:Signature|Credential|Security-Token)|Signature|AWSAccessKeyId)=)"
            r"[^&\s\"'<>]+",
            re.I,
        ),
        rf"\1{MASK}",
    ),
    # Fernet tokens (version byte 0x80, base64url) and Fernet keys (32 bytes, base64url)
    (re.compile(r"gAAAAA[A-Za-z0-9_\-]{20,}={0,2}"), MASK),
    (re.compile(r"(?<![A-Za-z0-9_\-])[A-Za-z0-9_\-]{43}=(?![A-Za-z0-9_\-=])"), MASK),
    # e-mail addresses (Amazon's buyer relays included)
    (re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+"), MASK),
)


def redact(text: str, registered: Iterable[str] = ()) -> str:
    """``text`` with registered values and every known secret shape replaced by ``***``."""
    for value in registered:
        if value:
            text = text.replace(value, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (with its args merged in) and exception text, redacted.

    A filter on a logger sees only records logged on that very logger, not those of its
    children; ``install`` therefore puts it on every logger of the namespaces and on the root
    logger's handlers.
    """

    def __init__(self, secrets: Iterable[str | Secret] = ()) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._registered: tuple[str, ...] = ()
        self.register(*secrets)

    def register(self, *secrets: str | Secret | None) -> None:
        """Mask these values from now on (values shorter than 6 characters are ignored)."""
        plain = {s.reveal() if isinstance(s, Secret) else s for s in secrets if s}
        values = {form for value in plain for form in _forms(value)}
        with self._lock:
            known = set(self._registered) | {v for v in values if len(v) >= _MIN_REGISTERED}
            self._registered = tuple(sorted(known, key=len, reverse=True))

    def register_account(self, account: Account) -> None:
        """Mask the account's client secret and refresh token."""
        self.register(account.client_secret, account.refresh_token)

    def redact(self, text: str) -> str:
        return redact(text, self._registered)

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # the record's args do not fit its message: keep both, redacted
            message = f"{record.msg} {record.args!r}"
        record.msg = self.redact(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text = self.redact(text)
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for name, value in list(vars(record).items()):
            if name not in _RECORD_ATTRIBUTES:
                setattr(record, name, self.redact_value(value))
        return True

    def redact_value(self, value: object) -> object:
        """An ``extra=`` field's value, redacted (as its text when redacting changed it)."""
        if value is None or isinstance(value, bool | int | float):
            return value
        text = value if isinstance(value, str) else repr(value)
        redacted = self.redact(text)
        return value if redacted == text else redacted


def _forms(value: str) -> set[str]:
    """A value as a log line may carry it: plain, URL-encoded, JSON-escaped."""
    escaped = json.dumps(value)[1:-1]
    return {value, quote(value, safe=""), quote_plus(value, safe=""), escaped}


_default = RedactingFilter()


def register(*secrets: str | Secret | None) -> None:
    """Mask these values in every record that passes the process-wide filter."""
    _default.register(*secrets)


def register_account(account: Account) -> None:
    """Mask the account's client secret and refresh token in the process-wide filter."""
    _default.register_account(account)


@dataclass
class Installation:
    """What ``install`` changed, so that ``uninstall`` undoes exactly that."""

    redactor: RedactingFilter
    targets: list[logging.Filterer] = field(default_factory=list)
    urllib3_level: int | None = None  # the level it raised, None when left alone
    factory: Callable[..., logging.LogRecord] | None = None  # the record factory it replaced


def install(
    redactor: RedactingFilter | None = None, *, namespaces: Iterable[str] = LOGGER_NAMESPACES
) -> Installation:
    """Put the filter (default: the process-wide one) on the namespaces' loggers, their
    existing children and the root logger's handlers; keep urllib3 at INFO or higher (its
    DEBUG lines show whole URLs). Installing again adds nothing twice."""
    done = Installation(redactor or _default)
    prefixes = tuple(f"{name}." for name in namespaces)
    names = set(namespaces) | {
        name
        for name, logger in logging.Logger.manager.loggerDict.items()
        if isinstance(logger, logging.Logger) and name.startswith(prefixes)
    }
    targets: list[logging.Filterer] = [logging.getLogger(name) for name in sorted(names)]
    for target in [*targets, *logging.getLogger().handlers]:
        if done.redactor not in target.filters:
            target.addFilter(done.redactor)
            done.targets.append(target)
    # Loggers made later (``apscheduler.executors.default`` under ``run``) and handlers added
    # later get no filter: every record is redacted where it is made, too.
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redactor", None) is not done.redactor:
        done.factory = previous
        logging.setLogRecordFactory(_RedactingFactory(previous, done.redactor))
    urllib3 = logging.getLogger("urllib3")
    if urllib3.level < logging.INFO:  # NOTSET (0) would inherit a DEBUG root
        done.urllib3_level = urllib3.level
        urllib3.setLevel(logging.INFO)
    return done


class _RedactingFactory:
    """A log record factory that redacts each record as it is made, and the ``extra=`` fields
    ``Logger.makeRecord`` writes into the record's ``__dict__`` afterwards."""

    def __init__(self, wrapped: Callable[..., logging.LogRecord], redactor: RedactingFilter):
        self.wrapped = wrapped
        self.redactor = redactor

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.wrapped(*args, **kwargs)
        self.redactor.filter(record)
        record.__dict__ = _RedactedFields(record.__dict__, self.redactor)
        return record


class _RedactedFields(dict[str, Any]):
    """A record's attributes; ``makeRecord`` sets each ``extra=`` field through ``__setitem__``."""

    def __init__(self, fields: dict[str, Any], redactor: RedactingFilter) -> None:
        super().__init__(fields)
        self.redactor = redactor

    def __setitem__(self, key: str, value: Any) -> None:
        super().__setitem__(key, self.redactor.redact_value(value))


def uninstall(installation: Installation) -> None:
    for target in installation.targets:
        target.removeFilter(installation.redactor)
    if installation.factory is not None:
        current = logging.getLogRecordFactory()
        if isinstance(current, _RedactingFactory) and current.redactor is installation.redactor:
            logging.setLogRecordFactory(installation.factory)
    if installation.urllib3_level is not None:
        logging.getLogger("urllib3").setLevel(installation.urllib3_level)


@contextmanager
def installed(redactor: RedactingFilter | None = None) -> Iterator[RedactingFilter]:
    """The filter installed for the block (a command's run), removed again afterwards."""
    installation = install(redactor)
    try:
        yield installation.redactor
    finally:
        uninstall(installation)
