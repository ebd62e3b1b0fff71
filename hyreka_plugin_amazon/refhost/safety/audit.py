"""The host's audit log: who exported, purged, re-keyed or changed what, and when.

Amazon's Data Protection Policy asks for security-event logs without personal data, kept at
least 90 days and protected against tampering. Each entry is one JSON line in ``audit.log``
in the data folder (0600): time (UTC), action, the operating-system user and process, the
account's name, and facts that are counts, flags or short codes, never buyers' data (a fact
that is not such a value is refused). Each line carries the SHA-256 of the line before it,
so an edited or deleted line breaks the chain (``verify``). Entries older than the retention
(``AUDIT_DAYS``, or ``HYREKA_AMAZON_AUDIT_DAYS``; at least 90) are dropped when
the next entry is written.
"""

from __future__ import annotations

import contextlib
import fcntl
import getpass
import hashlib
import itertools
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Final

AUDIT_FILE: Final = "audit.log"
RETENTION_ENV: Final = "HYREKA_AMAZON_AUDIT_DAYS"
AUDIT_DAYS: Final = 400  # how long audit entries are kept
MIN_RETENTION_DAYS: Final = 90  # Amazon's Data Protection Policy: logs kept at least 90 days
GENESIS: Final = "0" * 64

_ACTION = re.compile(r"[a-z][a-z_.]{0,63}")
_CODE = re.compile(r"[A-Za-z0-9_.:-]{0,64}")

Fact = int | bool | str | None


class AuditError(ValueError):
    """An entry that would carry more than counts, flags and codes, or a bad retention."""


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log."""

    at: datetime
    action: str
    user: str
    pid: int
    account: str | None
    facts: Mapping[str, Fact]


def retention_days(env: Mapping[str, str] = os.environ) -> int:
    """The retention in days from ``HYREKA_AMAZON_AUDIT_DAYS`` (at least 90), or the default."""
    raw = env.get(RETENTION_ENV)
    if not raw:
        return AUDIT_DAYS
    try:
        days = int(raw)
    except ValueError:
        raise AuditError(f"{RETENTION_ENV} must be a number of days, not {raw!r}") from None
    if days < MIN_RETENTION_DAYS:
        raise AuditError(f"{RETENTION_ENV} must be at least {MIN_RETENTION_DAYS} days")
    return days


class AuditLog:
    """Appends entries to ``audit.log`` in the data folder; safe across processes (flock)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        retention_days: int = AUDIT_DAYS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if retention_days < MIN_RETENTION_DAYS:
            raise AuditError(f"the audit log is kept at least {MIN_RETENTION_DAYS} days")
        self.path = data_dir / AUDIT_FILE
        self.retention = timedelta(days=retention_days)
        self._clock = clock

    def record(self, action: str, *, account: str | None = None, **facts: Fact) -> None:
        """Append one entry; facts must be counts, flags or short codes (AuditError if not)."""
        if not _ACTION.fullmatch(action):
            raise AuditError(f"not an audit action: {action!r}")
        for key, value in facts.items():
            if not _ACTION.fullmatch(key) or not _is_fact(value):
                raise AuditError(f"audit fact {key!r} must be a count, a flag or a short code")
        now = self._clock()
        entry = {
            "at": now.isoformat(timespec="seconds"),
            "action": action,
            "user": _user(),
            "pid": os.getpid(),
            "account": account,
            "facts": facts,
        }
        with self._locked() as handle:
            lines = handle.read().splitlines()
            kept = self._retained(lines, now)
            prev = _digest(kept[-1]) if kept else _first_prev(lines, kept)
            line = json.dumps({**entry, "prev": prev}, ensure_ascii=True, sort_keys=True)
            if len(kept) != len(lines):  # rewrite without the entries past the retention
                handle.seek(0)
                handle.truncate()
                handle.write("".join(f"{kept_line}\n" for kept_line in kept))
            handle.seek(0, os.SEEK_END)
            handle.write(f"{line}\n")
            handle.flush()
            os.fsync(handle.fileno())

    def entries(self) -> list[AuditEntry]:
        """Every entry kept, oldest first."""
        return [_entry(json.loads(line)) for line in self._lines()]

    def verify(self) -> int | None:
        """The number (from 1) of the first line whose predecessor was changed or removed, or
        None when the chain is whole."""
        lines = self._lines()
        for number, (before, line) in enumerate(itertools.pairwise(lines), start=2):
            if json.loads(line).get("prev") != _digest(before):
                return number
        return None

    def _lines(self) -> list[str]:
        try:
            return self.path.read_text(encoding="ascii").splitlines()
        except FileNotFoundError:
            return []

    def _retained(self, lines: list[str], now: datetime) -> list[str]:
        oldest = now - self.retention
        for index, line in enumerate(lines):
            if datetime.fromisoformat(json.loads(line)["at"]) >= oldest:
                return lines[index:]
        return []

    @contextlib.contextmanager
    def _locked(self) -> Iterator[IO[str]]:
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(fd, "r+", encoding="ascii") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield handle
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def _first_prev(lines: list[str], kept: list[str]) -> str:
    """The link of a first entry: the last dropped line's digest, or the genesis value."""
    return _digest(lines[-1]) if lines and not kept else GENESIS


def _digest(line: str) -> str:
    return hashlib.sha256(line.encode("ascii")).hexdigest()


def _is_fact(value: object) -> bool:
    if value is None or isinstance(value, bool | int):
        return True
    return isinstance(value, str) and _CODE.fullmatch(value) is not None


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def _entry(data: Mapping[str, object]) -> AuditEntry:
    facts = data.get("facts")
    pid = data.get("pid")
    account = data.get("account")
    return AuditEntry(
        at=datetime.fromisoformat(str(data["at"])),
        action=str(data["action"]),
        user=str(data.get("user")),
        pid=pid if isinstance(pid, int) else -1,
        account=account if isinstance(account, str) else None,
        facts=dict(facts) if isinstance(facts, dict) else {},
    )
