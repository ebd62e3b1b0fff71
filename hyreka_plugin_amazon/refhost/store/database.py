"""The ground floor of the store: one connection, its lock, the vault and the clock.

Every part of the store (accounts, orders, history, maintenance) writes through ``_write`` and
reads through ``_read``, which first commit the orders staged for a commit (see ``orders``).
"""

from __future__ import annotations

import base64
import errno
import json
import logging
import os
import sqlite3
import stat
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol, Self

from hyreka_plugin_amazon.refhost.safety.vault import KEY_FILE, Vault
from hyreka_plugin_amazon.refhost.store import fencing
from hyreka_plugin_amazon.refhost.store.checkpointer import Checkpointer
from hyreka_plugin_amazon.refhost.store.errors import StoreDamagedError, StoreError
from hyreka_plugin_amazon.refhost.store.fencing import Fence
from hyreka_plugin_amazon.refhost.store.postgres import (
    DATABASE_ENV,
    PgConnection,
    has_key_check,
    is_database_url,
    masked,
    redacted,
)
from hyreka_plugin_amazon.refhost.store.schema import BUSY_TIMEOUT_MS, DB_FILE, connect, ts
from hyreka_plugin_amazon.refhost.store.sqlfiles import Queries, queries

log = logging.getLogger(__name__)

_KEY_CHECK = b"hyreka-amazon key check"
_FERNET_VERSION = b"\x80"  # the first byte of a (base64-decoded) Fernet token
BATCH = 500  # rows read, purged or rotated per query or transaction

Row = Mapping[str, Any]
"""A row read by column name (``sqlite3.Row``, or a dict from PostgreSQL)."""


class Connection(Protocol):
    """What the store uses of a database connection: ``sqlite3.Connection`` or ``PgConnection``,
    each running the statements of its own dialect (``self._sql``)."""

    def execute(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ..., /) -> Any: ...

    def executemany(
        self, sql: str, seq: Iterable[Sequence[Any]] | Iterable[Mapping[str, Any]], /
    ) -> Any: ...

    def close(self) -> None: ...

    @property
    def in_transaction(self) -> bool: ...


class Database:
    """The connection shared by the store's parts (SQLite, or PostgreSQL when ``path`` is a
    ``postgresql://`` URL) and the statements of its dialect (``_sql``, ``sql/<dialect>.sql``);
    safe to share by threads."""

    checkpoint_wait = 5.0  # seconds an emptying checkpoint waits for other connections' readers

    def __init__(
        self, path: Path | str, vault: Vault, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        """Open (creating when new) the database at ``path``; fails on a wrong vault key."""
        self.url: str | None = str(path) if is_database_url(str(path)) else None
        self._path = None if self.url is not None else Path(path)
        self._vault = vault
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.RLock()
        self._checkpointer: Checkpointer | None = None
        self._db: Connection
        self._sql: Queries
        if self.url is not None:
            import psycopg

            self._sql = queries("postgresql")
            self._db = PgConnection(self.url)
            self._integrity_errors: tuple[type[Exception], ...] = (psycopg.IntegrityError,)
        else:
            assert self._path is not None
            self._sql = queries("sqlite")
            self._checkpointer = Checkpointer(self._path)
            try:
                self._db = connect(self._path)
            except (sqlite3.DatabaseError, OSError) as exc:
                if isinstance(exc, OSError) and exc.errno not in NO_SPACE_ERRNOS:
                    raise
                raise damaged(self._path, exc) from None
            self._integrity_errors = (sqlite3.IntegrityError,)
        try:
            self._check_key()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise damaged(self.path, exc) from None
        except BaseException:
            self._db.close()
            raise

    @classmethod
    def open(
        cls,
        data_dir: Path,
        *,
        env: Mapping[str, str] = os.environ,
        clock: Callable[[], datetime] | None = None,
        database: str | None = None,
    ) -> Self:
        """The store of a data folder, with the vault of that folder.

        ``database`` (else ``HYREKA_AMAZON_DATABASE``): a ``postgresql://`` URL to keep the
        data in instead of the folder's SQLite file; the vault key stays out of it.
        """
        tighten_permissions(Path(data_dir))  # the key file lives there with either database
        url = database or env.get(DATABASE_ENV, "").strip() or None
        if url is not None and not is_database_url(url):
            given = masked(url, url)[:20]  # a libpq "password=..." string: masked too
            raise StoreError(
                f"--database / {DATABASE_ENV} must be a postgresql:// URL, not {given!r}...",
                text_id="store.pg_url",
                env=DATABASE_ENV,
                given=given,
            )
        if url is not None:
            # A new key next to existing data would lock that data away: only a new store
            # gets one.
            vault = Vault.open(Path(data_dir), env=env, create=not has_key_check(url))
            return cls(url, vault, clock=clock)
        path = Path(data_dir) / DB_FILE
        check_not_lost(path)
        # A new key next to existing data would lock that data away: only a new store gets one.
        vault = Vault.open(Path(data_dir), env=env, create=not path.exists())
        return cls(path, vault, clock=clock)

    @property
    def path(self) -> Path:
        """The SQLite file; a PostgreSQL store has none (``url``)."""
        if self._path is None:
            raise StoreError("the store is on PostgreSQL: it has no database file")
        return self._path

    @property
    def is_postgres(self) -> bool:
        return self.url is not None

    def close(self) -> None:
        """Commit the staged orders and close the database."""
        with self._lock:
            try:
                self._commit_staged()
            finally:
                if self._checkpointer is not None:
                    self._checkpointer.close()
                self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        where = redacted(self.url) if self.url is not None else str(self._path)
        return f"Store({where!r})"

    def mac(self, data: bytes) -> bytes:
        """HMAC-SHA256 under the vault's key: compare secrets later without storing them."""
        return self._vault.mac(data)

    # Hooks for the orders part, which stages writes and remembers look-ups between them.

    def _commit_staged(self) -> None:
        """Write what waits for a commit; nothing waits at this level."""

    def _forget_lookups(self) -> None:
        """Drop what was remembered of rows that a write may change; nothing at this level."""

    # Transactions and queries

    @contextmanager
    def _write(self, fence: Fence | None = None) -> Iterator[Connection]:
        """A write transaction, after the staged orders are committed; with a ``fence``, it
        commits only while the fence's lease holds (else LeaseLostError, nothing written)."""
        with self._lock:
            self._commit_staged()
            self._forget_lookups()
            with self._transaction() as db:
                fencing.check(db, self._sql, fence)
                yield db

    @contextmanager
    def _transaction(self) -> Iterator[Connection]:
        with self._lock:
            self._db.execute(self._sql.begin_write)
            try:
                yield self._db
            except BaseException:
                if self._db.in_transaction:  # SQLite ends it itself on a full disk (SQLITE_FULL)
                    self._db.execute(self._sql.rollback)
                raise
            try:
                self._db.execute(self._sql.commit)
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute(self._sql.rollback)
                raise

    def _read(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Row]:
        """Rows of a query, after the staged orders are committed."""
        with self._lock:
            self._commit_staged()
            rows: list[Row] = self._db.execute(sql, params).fetchall()
            return rows

    def _peek(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[Row]:
        """Rows of a query that staged orders do not affect (the caller checks them)."""
        with self._lock:
            rows: list[Row] = self._db.execute(sql, params).fetchall()
            return rows

    def _now(self) -> str:
        return ts(self._clock())

    def _erase_old_copies(self, *key_tables: str) -> bool:
        """After a removal or a purge: make the old copies of what was deleted unreachable.

        SQLite (``secure_delete`` overwrote the freed pages): the WAL is checkpointed and
        emptied (``_checkpoint``). PostgreSQL keeps a deleted row as a dead tuple until
        VACUUM and reuse: the (small) key tables named are rewritten (``VACUUM FULL``), so the
        destroyed data keys leave the table files; the records they sealed may stay there
        and in the WAL, with no key to open them. False when that could not be done (another
        connection's reader, a role that does not own the tables)."""
        if self._checkpointer is None:
            assert isinstance(self._db, PgConnection)
            with self._lock:
                return self._db.rewrite_tables(key_tables)
        return self._checkpoint()

    def _checkpoint(self, wait: float | None = None) -> bool:
        """Move SQLite's WAL into the database and empty it, so replaced values leave the WAL
        too.

        Waits up to ``wait`` seconds (default ``checkpoint_wait``) for other connections'
        readers; False when they kept it from completing (old pages may still be readable).
        Not for PostgreSQL (``_erase_old_copies``)."""
        if self._checkpointer is None:
            raise StoreError("PostgreSQL has no checkpoint of the store's own")
        wait = self.checkpoint_wait if wait is None else wait
        with self._lock:
            self._db.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
            try:
                busy = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
            finally:
                self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        return not busy

    # Encryption

    def follow_key_file(self) -> bool:
        """Take up the keys of the vault's key file when another process (``rotate-key``)
        changed them; True when it did. The new keys must read this store (else
        ``VaultError``, and the old vault stays). Keys from the environment never change."""
        path = self._vault.key_file
        if path is None:
            return False
        with self._lock:
            fresh = Vault.open(path.parent, env={}, create=False)
            if fresh.keys_equal(self._vault):
                return False
            rows = self._db.execute(self._sql.read_key_check).fetchall()
            if rows:
                fresh.decrypt(rows[0]["value"])
            self._vault = fresh
            return True

    def _check_key(self) -> None:
        """Fail at once, before any write, when the vault cannot read this store."""
        rows = self._read(self._sql.read_key_check)
        if not rows:  # a new store: the first process to open it writes the check
            with self._write() as db:
                db.execute(
                    self._sql.insert_key_check,
                    {"value": self._vault.encrypt(_KEY_CHECK), "key_id": self._vault.key_id},
                )
                rows = db.execute(self._sql.read_key_check).fetchall()
        self._vault.decrypt(rows[0]["value"])

    def _unseal(self, sealed: bytes, account_id: str, amazon_order_id: str) -> bytes:
        """The payload of the order ``amazon_order_id`` of ``account_id`` as stores before data
        keys sealed it (under the vault key; ``OrderStore`` seals every record with its
        order's key); a payload copied from another row fails (``VaultError``)."""
        if sealed[:1] == _FERNET_VERSION:  # older stores: a zlib payload in a binary Fernet token
            return zlib.decompress(self._vault.decrypt(base64.urlsafe_b64encode(sealed)))
        return self._vault.decrypt(sealed, order_binding(account_id, amazon_order_id))


def tighten_permissions(folder: Path) -> None:
    """Make the data folder owner-only (0700) and its database files 0600 where group or
    others had access (a folder made 0777 by hand); refuse when that cannot be done."""
    if os.name != "posix" or not folder.exists():
        return
    paths = [(folder, 0o700)] + [
        (folder / name, 0o600) for name in (DB_FILE, f"{DB_FILE}-wal", f"{DB_FILE}-shm")
    ]
    for path, mode in paths:
        if not path.exists() or not path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            continue
        try:
            path.chmod(mode)
        except OSError as exc:
            raise StoreError(
                f"{path} may be read or written by group or others and cannot be restricted "
                f"({exc.strerror}); run `chmod {mode:o} {path}` as its owner",
                text_id="store.open_to_others",
                path=path,
                mode=f"{mode:o}",
            ) from None
        log.warning("%s was open to group or others: restricted to mode %o", path, mode)


def order_binding(account_id: str, amazon_order_id: str) -> bytes:
    """The associated data of an order's payload, the row it belongs to: ``json.dumps(["order",
    account_id, amazon_order_id])``, written out (thousands per sync)."""
    return f'["order", {_json_text(account_id)}, {_json_text(amazon_order_id)}]'.encode("ascii")


_json_text = json.encoder.encode_basestring_ascii  # as json.dumps writes a string


def check_not_lost(path: Path) -> None:
    """Refuse to start a new, empty store where one existed: the database is missing or
    empty (0 bytes) while its key file or write-ahead log says data was stored there."""
    if path.exists() and path.stat().st_size > 0:
        return
    traces = [p.name for p in (path.with_name(KEY_FILE), Path(f"{path}-wal")) if p.exists()]
    if not traces:
        return  # a new store
    state = "is empty (0 bytes)" if path.exists() else "is missing"
    raise StoreDamagedError(
        "missing",
        str(path),
        f"the database {path} {state}, but {' and '.join(traces)} beside it show that data "
        "was stored there: restore the database from a backup. Nothing was changed; to start "
        f"an empty store on purpose, move {' and '.join(traces)} away first.",
    )


# SQLite's primary result codes (an extended code's low byte) that say what went wrong
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14
SQLITE_NOTADB = 26
NO_SPACE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
MIN_FREE_BYTES = 1 << 20  # less free space than this beside the database: the disk is full


def damaged(path: Path, exc: sqlite3.DatabaseError | OSError) -> StoreDamagedError:
    """The error for a database SQLite cannot open, read or write, of the kind
    ``error_kind`` finds; its message names the file and what to do (SQLite's text names no
    data)."""
    text = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    kind = error_kind(exc, path)
    if kind == "full":
        message = (
            f"the disk holding {path} is full ({text}): free some space and try again. "
            "Nothing was changed."
        )
    elif kind == "readonly":
        message = (
            f"the database {path} cannot be written ({text}): check that its folder is on a "
            "writable file system with free space and that this user may write there. "
            "Nothing was changed."
        )
    elif kind == "io":
        message = (
            f"the database {path} could not be read or written ({text}), though a check "
            "finds it intact: check the disk and try again. Nothing was changed."
        )
    else:
        message = (
            f"the database {path} is damaged ({text}): restore it from a backup. Nothing was "
            "changed; the damaged file is left as it is."
        )
    return StoreDamagedError(kind, str(path), message)


def error_kind(exc: BaseException, path: Path | None) -> str:
    """What an error of the SQLite database at ``path`` (None: unknown) means for the seller:
    "full" (SQLITE_FULL, ENOSPC or EDQUOT; an I/O error or a file that cannot be opened while
    the disk has no space left, as at opening and at the WAL's set-up on a full disk), "readonly"
    (a read-only file or file system, no permission), "damaged" (only a database SQLite calls
    corrupt or not a database, or that ``intact`` finds corrupt), else "io" (an I/O error on a
    database a check finds intact, or cannot check)."""
    if isinstance(exc, OSError) and exc.errno in NO_SPACE_ERRNOS:
        return "full"
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    text = str(exc)
    if primary == SQLITE_FULL or "database or disk is full" in text:
        return "full"
    if primary in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return "damaged"
    if path is not None and disk_full(path):
        return "full"
    readonly = "readonly" in text or "read-only" in text or "unable to open" in text
    if primary in (SQLITE_READONLY, SQLITE_CANTOPEN) or readonly:
        return "readonly"
    if path is not None and intact(path) is False:
        return "damaged"
    return "io"


def disk_full(path: Path) -> bool:
    """Whether the file system of ``path`` (or of its nearest existing folder) has less than
    ``MIN_FREE_BYTES`` left for this user."""
    where = path
    while not where.exists() and where != where.parent:
        where = where.parent
    try:
        found = os.statvfs(where)
    except (OSError, AttributeError):  # no statvfs (Windows), or nothing to ask
        return False
    return found.f_bavail * found.f_frsize < MIN_FREE_BYTES


def intact(path: Path) -> bool | None:
    """Whether SQLite's quick check finds the database file intact: read only, the file as it
    is (``immutable``: no write-ahead log or shared memory made, so it runs on a full disk);
    None when the check cannot run."""
    if not path.is_file():
        return None
    try:
        with closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
        ) as db:
            rows = db.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        code = getattr(exc, "sqlite_errorcode", None)
        if isinstance(code, int) and code & 0xFF in (SQLITE_CORRUPT, SQLITE_NOTADB):
            return False
        return None
    return [tuple(row) for row in rows] == [("ok",)]
