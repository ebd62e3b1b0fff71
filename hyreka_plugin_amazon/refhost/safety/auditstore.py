"""Where the audit log lives: ``audit.log`` in the data folder with its anchor in the SQLite
database, or an append-only table in PostgreSQL with its anchor beside the store's values.

File (``FileAuditStore``): writers take ``audit.log.lock`` (``flock``; a lock file of its
own, so that the log can be replaced whole); a new entry is appended and synced to disk before
the anchor is written; dropping old entries and relinking write a new file that replaces the
old one. The anchor is the row ``audit_anchor`` of the database's ``meta`` table (the store's
encrypted values), written on a connection of its own.

PostgreSQL (``PgAuditStore``): the table ``audit_log`` (entry number, the entry's JSON, the
link's key and the link, and ``recorded_at``, the database's own time) is made append-only by
a trigger: it refuses UPDATE and DELETE, and TRUNCATE, except renewing a link (a key rotation)
and deleting entries older than 90 days by the database's clock (the retention). The anchor
and the entry are written in one transaction, under an advisory lock shared by every worker.
The trigger binds every role that does not own the table: the host's role owns the table it
creates, so a log that the host's role itself cannot change is made by creating the table
beforehand as another role and granting the host's role only ``SELECT, INSERT`` and
``UPDATE (key_id, prev)`` on it (``ROLE_SQL``); the host then leaves the retention to that
role.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, LiteralString

from hyreka_plugin_amazon.refhost.safety.audit import (
    ANCHOR,
    AUDIT_FILE,
    CHAIN_FIELDS,
    AuditError,
    AuditSession,
    KeyedLine,
    canonical,
    iter_legacy,
    lines_before,
    parse_line,
)

if TYPE_CHECKING:
    import psycopg

LOCK_FILE: Final = AUDIT_FILE + ".lock"
TABLE: Final = "audit_log"
PG_LOCK: Final = 0x6879726B61756469  # pg_advisory_xact_lock key of the audit log ("hyrkaudi")
_SET_ANCHOR: Final = (
    "INSERT INTO meta (name, value, key_id) VALUES (?, ?, ?) "
    "ON CONFLICT (name) DO UPDATE SET value = excluded.value, key_id = excluded.key_id"
)
_PG_SET_ANCHOR: Final = (
    "INSERT INTO meta (name, value, key_id) VALUES (%s, %s, %s) "
    "ON CONFLICT (name) DO UPDATE SET value = excluded.value, key_id = excluded.key_id"
)
PG_TABLE: Final[tuple[LiteralString, ...]] = (
    """CREATE TABLE audit_log (
    seq BIGINT PRIMARY KEY,         -- the entry's number, from 1, never reused
    entry TEXT NOT NULL,            -- the entry: time, action, user, process, account, facts
    key_id TEXT NOT NULL,           -- the vault key of the link
    prev TEXT NOT NULL,             -- HMAC of the entry before (renewed when the key rotates)
    recorded_at TIMESTAMPTZ NOT NULL DEFAULT now()  -- the database's time (the trigger's)
)""",
    """CREATE OR REPLACE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        NEW.recorded_at := now();
        RETURN NEW;
    ELSIF TG_OP = 'UPDATE' AND NEW.seq = OLD.seq AND NEW.entry = OLD.entry
            AND NEW.recorded_at = OLD.recorded_at THEN
        RETURN NEW;  -- a renewed link (key rotation); the entry stays as it was
    ELSIF TG_OP = 'DELETE' AND OLD.recorded_at < now() - interval '90 days' THEN
        RETURN OLD;  -- the retention
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$""",
    """CREATE TRIGGER audit_log_append_only BEFORE INSERT OR UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
    """CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()""",
)
# For a table the host's role cannot change itself: run PG_TABLE as another role (its owner),
# then these, with the host's role for {role} (README, Security).
ROLE_SQL: Final = (
    "REVOKE ALL ON audit_log FROM PUBLIC",
    "GRANT SELECT, INSERT, UPDATE (key_id, prev) ON audit_log TO {role}",
)


class FileAuditStore:
    """``audit.log`` in ``data_dir``; the anchor in the SQLite database ``anchor_db`` (None, or
    a database that does not exist: no anchor is read or written)."""

    def __init__(self, data_dir: Path, *, anchor_db: Path | None = None) -> None:
        self.path = data_dir / AUDIT_FILE
        self.anchor_db = anchor_db

    @contextlib.contextmanager
    def session(self) -> Iterator[AuditSession]:
        with self._locked():
            session = _FileSession(self.path, self.anchor_db)
            try:
                yield session
            finally:
                session.close()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        try:
            fd = os.open(self.path.with_name(LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600)
        except FileNotFoundError:  # no data folder: nothing to read, nothing may be created
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # releases the lock


class _FileSession:
    def __init__(self, path: Path, anchor_db: Path | None) -> None:
        self._path = path
        self._anchor_db = anchor_db
        self._db: sqlite3.Connection | None = None
        try:
            self._lines = path.read_text(encoding="ascii").splitlines()
        except FileNotFoundError:
            self._lines = []
        self._rewrite = False

    def lines(self) -> list[str]:
        return list(self._lines)

    def last(self) -> str | None:
        return self._lines[-1] if self._lines else None

    def first_seq(self) -> int | None:
        return _first_seq(self._lines)

    def legacy(self) -> int:
        return sum(1 for _ in iter_legacy(self._lines))

    def expire(self, before: datetime) -> bool:
        count = lines_before(self._lines, before)
        if count:
            self._lines = self._lines[count:]
            self._rewrite = True
        return count > 0

    def append(self, line: str) -> None:
        self._lines.append(line)
        if self._rewrite:
            self._write_all()
            return
        fd = os.open(self._path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="ascii") as handle:
            handle.write(f"{line}\n")
            handle.flush()
            os.fsync(handle.fileno())

    def relink(self, lines: Sequence[str]) -> None:
        self._lines = list(lines)
        self._write_all()

    def anchor(self) -> bytes | None:
        db = self._connect()
        if db is None:
            return None
        row = db.execute("SELECT value FROM meta WHERE name = ?", (ANCHOR,)).fetchone()
        return bytes(row[0]) if row else None

    def set_anchor(self, value: bytes, key_id: str) -> None:
        db = self._connect()
        if db is not None:
            db.execute(_SET_ANCHOR, (ANCHOR, value, key_id))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()

    def _write_all(self) -> None:
        """The whole log into a new file that replaces the old one (synced first)."""
        temporary = self._path.with_name(f".{AUDIT_FILE}.{os.urandom(4).hex()}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as handle:
                handle.write("".join(f"{line}\n" for line in self._lines))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, self._path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise
        self._rewrite = False

    def _connect(self) -> sqlite3.Connection | None:
        if self._db is None and self._anchor_db is not None and self._anchor_db.exists():
            uri = f"{self._anchor_db.resolve().as_uri()}?mode=rw"
            self._db = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=10)
        return self._db


class PgAuditStore:
    """The table ``audit_log`` of the PostgreSQL database at ``url`` (made when missing)."""

    def __init__(self, url: str) -> None:
        self.url = url

    @contextlib.contextmanager
    def session(self) -> Iterator[AuditSession]:
        import psycopg

        try:
            conn = psycopg.connect(self.url, connect_timeout=10)
        except psycopg.Error as exc:  # never the URL: it may carry a password
            raise AuditError(
                f"cannot reach the database of the audit log: {type(exc).__name__}"
            ) from None
        try:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (PG_LOCK,))
                found = conn.execute("SELECT to_regclass(%s)", (TABLE,)).fetchone()
                if found is None or found[0] is None:
                    for statement in PG_TABLE:
                        conn.execute(statement)
                yield _PgSession(conn)
        finally:
            conn.close()


class _PgSession:
    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self._conn = conn

    def lines(self) -> list[str]:
        rows = self._conn.execute(
            "SELECT seq, entry, key_id, prev FROM audit_log ORDER BY seq"
        ).fetchall()
        return [_pg_line(*row) for row in rows]

    def last(self) -> str | None:
        row = self._conn.execute(
            "SELECT seq, entry, key_id, prev FROM audit_log ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        return _pg_line(*row) if row else None

    def first_seq(self) -> int | None:
        row = self._conn.execute("SELECT min(seq) FROM audit_log").fetchone()
        return int(row[0]) if row and row[0] is not None else None

    def legacy(self) -> int:
        return 0

    def expire(self, before: datetime) -> bool:
        import psycopg

        try:
            with self._conn.transaction():  # a savepoint: a refusal keeps the entry
                done = self._conn.execute("DELETE FROM audit_log WHERE recorded_at < %s", (before,))
        except psycopg.Error:  # younger than 90 days by the database's clock, or no DELETE
            return False
        return done.rowcount > 0

    def append(self, line: str) -> None:
        data = json.loads(line)
        seq, key_id, prev = (data.pop(name) for name in CHAIN_FIELDS)
        self._conn.execute(
            "INSERT INTO audit_log (seq, entry, key_id, prev) VALUES (%s, %s, %s, %s)",
            (seq, canonical(data), key_id, prev),
        )

    def relink(self, lines: Sequence[str]) -> None:
        links = []
        for line in lines:
            data = json.loads(line)
            links.append((data["key"], data["prev"], data["seq"]))
        with self._conn.cursor() as cursor:
            cursor.executemany(
                "UPDATE audit_log SET key_id = %s, prev = %s WHERE seq = %s",
                links,
            )

    def anchor(self) -> bytes | None:
        row = self._conn.execute("SELECT value FROM meta WHERE name = %s", (ANCHOR,)).fetchone()
        return bytes(row[0]) if row else None

    def set_anchor(self, value: bytes, key_id: str) -> None:
        self._conn.execute(_PG_SET_ANCHOR, (ANCHOR, value, key_id))


def _pg_line(seq: int, entry: str, key_id: str, prev: str) -> str:
    try:
        data = json.loads(entry)
    except ValueError:
        data = {"entry": entry}
    if not isinstance(data, dict):
        data = {"entry": data}
    return canonical({**data, "seq": seq, "key": key_id, "prev": prev})


def _first_seq(lines: Sequence[str]) -> int | None:
    for line in lines:
        record = parse_line(line)
        if isinstance(record, KeyedLine):
            return record.seq
    return None
