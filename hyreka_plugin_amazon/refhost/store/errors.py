"""The store's errors: what it cannot do, with a message that says why."""

from __future__ import annotations


class StoreError(Exception):
    """The store cannot do what was asked; the message says why. ``text_id`` and ``params``
    name the host's text for it, in the seller's language (``refhost/i18n/locale``)."""

    def __init__(self, message: str, *, text_id: str | None = None, **params: object) -> None:
        super().__init__(message)
        self.text_id = text_id
        self.params = params


class AccountExistsError(StoreError):
    """An account with this name (or id) already exists."""


class AccountNotFoundError(StoreError, LookupError):
    """No account has this name or id."""


class AccountTamperedError(StoreError, ValueError):
    """An account's stored credentials do not match its row (changed outside the host)."""


class WalNotClearedError(StoreError):
    """Old copies of rewritten values are still in the write-ahead log: another connection
    was reading while the store tried to empty it. ``count`` values were rewritten."""

    def __init__(self, message: str, count: int, **params: object) -> None:
        super().__init__(message, text_id="store.wal_not_cleared", count=count, **params)
        self.count = count


class StoreDamagedError(StoreError):
    """The database cannot be used as it is: missing or empty where data was stored, damaged
    (corrupt, truncated), not writable, on a full disk or failing I/O. ``kind``: "missing",
    "damaged" (only what SQLite or its check finds corrupt), "readonly", "full" or "io"; the
    message names the file and what to do, never stored content."""

    def __init__(self, kind: str, path: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.path = path
