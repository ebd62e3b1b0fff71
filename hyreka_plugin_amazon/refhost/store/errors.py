"""The store's errors: what it cannot do, with a message that says why."""

from __future__ import annotations


class StoreError(Exception):
    """The store cannot do what was asked; the message says why."""


class AccountExistsError(StoreError):
    """An account with this name (or id) already exists."""


class AccountNotFoundError(StoreError, LookupError):
    """No account has this name or id."""


class AccountTamperedError(StoreError, ValueError):
    """An account's stored credentials do not match its row (changed outside the host)."""


class WalNotClearedError(StoreError):
    """Old copies of rewritten values are still in the write-ahead log: another connection
    was reading while the store tried to empty it. ``count`` values were rewritten."""

    def __init__(self, message: str, count: int) -> None:
        super().__init__(message)
        self.count = count
