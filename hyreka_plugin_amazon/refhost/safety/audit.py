"""The host's audit log: who exported, purged, re-keyed or changed what, and when.

Amazon's Data Protection Policy asks for security-event logs without personal data, kept at
least 90 days and protected against tampering. Each entry is one JSON line: time (UTC),
action, the operating-system user (of the process's effective uid, which no environment
variable changes) and process, the account's name, and facts that are counts, flags or short
codes, never buyers' data (a fact that is not such a value is refused).

Tamper evidence, with a key no one has who has only the log:

- Every entry carries its number (``seq``, from 1, never reused) and ``prev``: the HMAC-SHA256
  of the entry before it, under a key derived with HKDF from the vault key (``key``: which
  vault key). Editing an entry, or removing or inserting one, breaks the next link; a link
  cannot be made again without the vault key (a plain SHA-256 over an edited line does not
  match).
- The database keeps the *anchor*: the number of the last entry, the HMAC of that entry, the
  first entry kept and how many lines from before this scheme lead the log, encrypted with
  the vault (so only the host can write it). Cutting lines at the end (the anchor counts more
  entries) or at the start (the log begins after the anchor's first) shows; so does a missing
  anchor (``no_anchor``; when it was missing as an entry was written, ``anchor_lost`` stays
  until that entry passes the retention).
- When the vault key rotates, ``rechain`` renews every link under the new key, after checking
  the log with the old one (a log found broken is left as it is: its findings stay).

Where it lives (``auditstore``): ``audit.log`` in the data folder (0600) with the anchor in
the SQLite database, or, with PostgreSQL, the append-only table ``audit_log`` with the anchor
beside the store's other values. Entries older than the retention (``AUDIT_DAYS``, or
``HYREKA_AMAZON_AUDIT_DAYS``; at least 90) are dropped when the next entry is written. Lines
written before the chain was keyed (a SHA-256 chain without ``seq``) stay at the start, linked
to the keyed chain by the first keyed entry and counted by the anchor.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pwd
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final, Protocol

from hyreka_plugin_amazon.refhost.safety.vault import Hmac256, Vault, VaultError

AUDIT_FILE: Final = "audit.log"
ANCHOR: Final = "audit_anchor"  # the anchor's name among the database's stored values
RETENTION_ENV: Final = "HYREKA_AMAZON_AUDIT_DAYS"
AUDIT_DAYS: Final = 400  # how long audit entries are kept
MIN_RETENTION_DAYS: Final = 90  # Amazon's Data Protection Policy: logs kept at least 90 days
GENESIS: Final = "0" * 64  # the link of the very first entry
CHAIN_FIELDS: Final = ("seq", "key", "prev")

_ACTION = re.compile(r"[a-z][a-z_.]{0,63}")
_CODE = re.compile(r"[A-Za-z0-9_.:-]{0,64}")

Fact = int | bool | str | None


class AuditError(ValueError):
    """An entry that would carry more than counts, flags and codes, a bad retention, or a log
    that cannot be written (no key, no database)."""


@dataclass(frozen=True)
class AuditEntry:
    """One line of the audit log."""

    at: datetime
    action: str
    user: str
    pid: int
    account: str | None
    facts: Mapping[str, Fact]
    seq: int | None = None  # None: a line from before the keyed chain


@dataclass(frozen=True)
class Finding:
    """What ``verify`` found wrong: the text ``cli.audit.finding.<code>`` with ``line`` (the line
    of the log, from 1) and the entries ``first`` to ``last`` it concerns."""

    code: str
    line: int = 0
    first: int = 0
    last: int = 0

    @property
    def text_id(self) -> str:
        return f"cli.audit.finding.{self.code}"

    def params(self) -> dict[str, int]:
        return {"line": self.line, "first": self.first, "last": self.last}


@dataclass(frozen=True)
class AuditCheck:
    """The log checked: how many lines it has and what is wrong with it."""

    lines: int
    findings: tuple[Finding, ...]

    @property
    def intact(self) -> bool:
        return not self.findings


@dataclass(frozen=True)
class Anchor:
    """The database's record of the log: the last entry ``count`` and its HMAC ``head``
    (under the vault key ``key``), the first entry kept, the lines from before the keyed chain
    at its start, and the entry written while the anchor was missing (``lost``)."""

    count: int
    head: str
    key: str
    first: int
    legacy: int = 0
    lost: int | None = None

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode("ascii")

    @classmethod
    def from_bytes(cls, raw: bytes) -> Anchor:
        data = json.loads(raw)
        lost = data.get("lost")
        return cls(
            count=int(data["count"]),
            head=str(data["head"]),
            key=str(data["key"]),
            first=int(data["first"]),
            legacy=int(data.get("legacy", 0)),
            lost=int(lost) if lost is not None else None,
        )


class AuditSession(Protocol):
    """The log and its anchor, locked against other writers for the session."""

    def lines(self) -> list[str]:
        """Every line kept, oldest first."""
        ...

    def last(self) -> str | None: ...

    def first_seq(self) -> int | None:
        """The number of the first keyed entry kept."""
        ...

    def legacy(self) -> int:
        """How many lines from before the keyed chain lead the log."""
        ...

    def expire(self, before: datetime) -> bool:
        """Drop the entries at the start written before ``before``; whether any went."""
        ...

    def append(self, line: str) -> None:
        """Add a line, durably, before the anchor is written."""
        ...

    def relink(self, lines: Sequence[str]) -> None:
        """The same entries with new links (``lines`` as ``lines()`` gave them, relinked)."""
        ...

    def anchor(self) -> bytes | None: ...

    def set_anchor(self, value: bytes, key_id: str) -> None: ...


class AuditStore(Protocol):
    """Where a log lives (``auditstore``): a file with the anchor in SQLite, or PostgreSQL."""

    def session(self) -> AbstractContextManager[AuditSession]: ...


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
    """Writes and checks the log of ``store`` (default: ``audit.log`` in ``data_dir``, without
    an anchor); writing and checking need the ``vault``, reading entries does not."""

    def __init__(
        self,
        data_dir: Path | None = None,
        *,
        store: AuditStore | None = None,
        vault: Vault | None = None,
        retention_days: int = AUDIT_DAYS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if retention_days < MIN_RETENTION_DAYS:
            raise AuditError(f"the audit log is kept at least {MIN_RETENTION_DAYS} days")
        if store is None:
            if data_dir is None:
                raise AuditError("an audit log needs a data folder or a store")
            from hyreka_plugin_amazon.refhost.safety.auditstore import FileAuditStore

            store = FileAuditStore(data_dir)
        self.store = store
        self.retention = timedelta(days=retention_days)
        self._vault = vault
        self._clock = clock

    def record(self, action: str, *, account: str | None = None, **facts: Fact) -> None:
        """Append one entry; facts must be counts, flags or short codes (AuditError if not)."""
        if not _ACTION.fullmatch(action):
            raise AuditError(f"not an audit action: {action!r}")
        for key, value in facts.items():
            if not _ACTION.fullmatch(key) or not _is_fact(value):
                raise AuditError(f"audit fact {key!r} must be a count, a flag or a short code")
        vault = self._keyed()
        key_id, mac = vault.audit_macs()[0]
        now = self._clock()
        entry: dict[str, Any] = {
            "at": now.isoformat(timespec="seconds"),
            "action": action,
            "user": _user(),
            "pid": os.getpid(),
            "account": account,
            "facts": facts,
        }
        with self.store.session() as log:
            anchor = _read_anchor(log, vault)
            dropped = log.expire(now - self.retention)
            last = log.last()
            before = parse_line(last)
            seq = max(anchor.count if isinstance(anchor, Anchor) else 0, _seq(before)) + 1
            prev = mac(last.encode("ascii")).hex() if last is not None else GENESIS
            line = canonical({**entry, "seq": seq, "key": key_id, "prev": prev})
            first_kept = log.first_seq()  # before this entry
            log.append(line)
            if isinstance(anchor, Anchor) and not dropped:
                first, legacy, lost = anchor.first, anchor.legacy, anchor.lost
            else:
                first, legacy = first_kept or seq, log.legacy()
                lost = anchor.lost if isinstance(anchor, Anchor) else None
                if not isinstance(anchor, Anchor) and first_kept is not None:
                    lost = seq  # keyed entries without the database's record of them
            head = mac(line.encode("ascii")).hex()
            fresh = Anchor(seq, head, key_id, first, legacy, lost if (lost or 0) >= first else None)
            log.set_anchor(vault.encrypt(fresh.to_bytes()), key_id)

    def entries(self) -> list[AuditEntry]:
        """Every entry kept, oldest first (lines that are not entries are left out)."""
        with self.store.session() as log:
            lines = log.lines()
        return [entry for entry in map(_entry, lines) if entry is not None]

    def verify(self) -> AuditCheck:
        """The log checked against its links and the database's anchor (``AuditCheck``)."""
        vault = self._keyed()
        with self.store.session() as log:
            return check(log.lines(), _read_anchor(log, vault), dict(vault.audit_macs()))

    def rechain(self) -> AuditCheck:
        """Renew every link and the anchor under the vault's primary key (a key rotation: the
        old keys still configured). A log the old keys find broken keeps its links (only the
        anchor is renewed, so that it stays readable); its check is returned either way."""
        vault = self._keyed()
        key_id, mac = vault.audit_macs()[0]
        with self.store.session() as log:
            lines = log.lines()
            anchor = _read_anchor(log, vault)
            found = check(lines, anchor, dict(vault.audit_macs()))
            if not isinstance(anchor, Anchor):
                return found
            if found.intact:
                lines = relinked(lines, key_id, mac)
                log.relink(lines)
                last = parse_line(lines[-1]) if lines else None
                head = mac(lines[-1].encode("ascii")).hex() if lines else anchor.head
                count = max(anchor.count, _seq(last))
                anchor = Anchor(count, head, key_id, anchor.first, anchor.legacy, anchor.lost)
            log.set_anchor(vault.encrypt(anchor.to_bytes()), key_id)
            return found

    def _keyed(self) -> Vault:
        if self._vault is None:
            raise AuditError("writing or checking the audit log needs the vault key")
        return self._vault


# ------------------------------------------------------------------------------ the chain


@dataclass(frozen=True)
class KeyedLine:
    """A line of the keyed chain: its number, the key of its link, its link."""

    seq: int
    key: str
    prev: str


@dataclass(frozen=True)
class LegacyLine:
    """A line from before the keyed chain: its SHA-256 link."""

    prev: str


_Unreadable = object()  # an anchor the vault cannot open


def canonical(data: Mapping[str, Any]) -> str:
    """The one text of an entry: JSON, ASCII, keys sorted (what its link is computed over)."""
    return json.dumps(data, ensure_ascii=True, sort_keys=True)


def check(
    lines: Sequence[str], anchor: Anchor | object | None, macs: Mapping[str, Hmac256]
) -> AuditCheck:
    """What is wrong with ``lines`` given the database's ``anchor`` and the chain's keys by
    key id (see the module's description)."""
    findings: list[Finding] = []
    parsed = [parse_line(line) for line in lines]
    legacy = 0
    while legacy < len(parsed) and isinstance(parsed[legacy], LegacyLine):
        legacy += 1
    for index in range(1, legacy):
        if getattr(parsed[index], "prev", None) != _sha256(lines[index - 1]):
            findings.append(Finding("edited", line=index + 1))
    if anchor is _Unreadable:
        findings.append(Finding("anchor_unreadable"))
    known = anchor if isinstance(anchor, Anchor) else None
    keyed = [(index, rec) for index, rec in enumerate(parsed) if isinstance(rec, KeyedLine)]
    if known is None and keyed and anchor is not _Unreadable:
        findings.append(Finding("no_anchor"))
    if known is not None:
        if legacy != known.legacy:
            findings.append(Finding("legacy_changed", first=known.legacy, last=legacy))
        if known.lost is not None:
            findings.append(Finding("anchor_lost", first=known.lost))
    previous = lines[legacy - 1] if legacy else None  # the text the next link is over
    last_seq: int | None = None
    for index in range(legacy, len(lines)):
        record = parsed[index]
        if not isinstance(record, KeyedLine):
            findings.append(Finding("bad_line", line=index + 1))
            previous = lines[index]
            continue
        if last_seq is None and known is not None and record.seq != known.first:
            if record.seq > known.first:  # the first entry kept is later than recorded
                findings.append(Finding("cut_start", first=known.first, last=record.seq - 1))
            else:
                findings.append(Finding("bad_line", line=index + 1))
        if last_seq is not None and record.seq != last_seq + 1:
            if record.seq > last_seq + 1:
                findings.append(
                    Finding("gap", line=index + 1, first=last_seq + 1, last=record.seq - 1)
                )
            else:
                findings.append(Finding("bad_line", line=index + 1))
        mac = macs.get(record.key)
        if mac is None:
            findings.append(Finding("unknown_key", line=index + 1))
        elif previous is not None:
            if not hmac.compare_digest(record.prev, mac(previous.encode("ascii")).hex()):
                findings.append(Finding("edited", line=index + 1))
        elif record.seq == 1 and record.prev != GENESIS:
            findings.append(Finding("edited", line=index + 1))
        previous, last_seq = lines[index], record.seq
    if known is not None:
        findings += _against_anchor(lines, keyed, known, macs)
    return AuditCheck(len(lines), tuple(findings))


def _against_anchor(
    lines: Sequence[str],
    keyed: Sequence[tuple[int, KeyedLine]],
    anchor: Anchor,
    macs: Mapping[str, Hmac256],
) -> list[Finding]:
    """Cuts at the end, and the last entry the anchor records."""
    last_seq = keyed[-1][1].seq if keyed else anchor.first - 1
    if last_seq < anchor.count:
        return [Finding("cut_end", first=max(last_seq + 1, anchor.first), last=anchor.count)]
    at = {record.seq: index for index, record in keyed}
    index = at.get(anchor.count)
    if index is None:
        return []  # the gap that hides it is found already
    mac = macs.get(anchor.key)
    if mac is None:
        return [Finding("unknown_key", line=index + 1)]
    if not hmac.compare_digest(anchor.head, mac(lines[index].encode("ascii")).hex()):
        return [Finding("head", line=index + 1, first=anchor.count)]
    return []


def relinked(lines: Sequence[str], key_id: str, mac: Hmac256) -> list[str]:
    """``lines`` with every keyed entry's link made again under ``mac`` (lines from before the
    keyed chain stay as they are)."""
    out: list[str] = []
    for line in lines:
        record = parse_line(line)
        if isinstance(record, KeyedLine):
            data = json.loads(line)
            data["key"] = key_id
            data["prev"] = mac(out[-1].encode("ascii")).hex() if out else data["prev"]
            if not out and record.seq == 1:
                data["prev"] = GENESIS
            line = canonical(data)
        out.append(line)
    return out


def parse_line(line: str | None) -> KeyedLine | LegacyLine | None:
    """A keyed entry (in its canonical text), a line from before the keyed chain, or None
    (not a line of this log)."""
    if line is None:
        return None
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("prev"), str):
        return None
    if "seq" not in data and "key" not in data:
        return LegacyLine(data["prev"])
    seq, key = data.get("seq"), data.get("key")
    if not isinstance(seq, int) or isinstance(seq, bool) or not isinstance(key, str):
        return None
    if canonical(data) != line:
        return None
    return KeyedLine(seq, key, data["prev"])


def _seq(record: KeyedLine | LegacyLine | None) -> int:
    return record.seq if isinstance(record, KeyedLine) else 0


def _read_anchor(log: AuditSession, vault: Vault) -> Anchor | object | None:
    raw = log.anchor()
    if raw is None:
        return None
    try:
        return Anchor.from_bytes(vault.decrypt(raw))
    except (VaultError, ValueError, KeyError, TypeError):
        return _Unreadable


def _sha256(line: str) -> str:
    return hashlib.sha256(line.encode("ascii")).hexdigest()


def _is_fact(value: object) -> bool:
    if value is None or isinstance(value, bool | int):
        return True
    return isinstance(value, str) and _CODE.fullmatch(value) is not None


def _user() -> str:
    """The name of the process's effective user (``LOGNAME`` or ``USER`` change nothing)."""
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def _entry(line: str) -> AuditEntry | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    facts = data.get("facts")
    pid = data.get("pid")
    account = data.get("account")
    seq = data.get("seq")
    try:
        at = datetime.fromisoformat(str(data["at"]))
    except (KeyError, ValueError):
        return None
    return AuditEntry(
        at=at,
        action=str(data.get("action")),
        user=str(data.get("user")),
        pid=pid if isinstance(pid, int) else -1,
        account=account if isinstance(account, str) else None,
        facts=dict(facts) if isinstance(facts, dict) else {},
        seq=seq if isinstance(seq, int) else None,
    )


def lines_before(lines: Sequence[str], before: datetime) -> int:
    """How many lines at the start were written before ``before`` (a line whose time cannot
    be read stops the count: it is kept)."""
    for index, line in enumerate(lines):
        entry = _entry(line)
        if entry is None or entry.at >= before:
            return index
    return len(lines)


def iter_legacy(lines: Sequence[str]) -> Iterator[int]:
    """The indexes of the lines from before the keyed chain at the start of ``lines``."""
    for index, line in enumerate(lines):
        if not isinstance(parse_line(line), LegacyLine):
            return
        yield index
