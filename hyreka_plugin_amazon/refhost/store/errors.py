"""The store's errors: what it cannot do, with a message that says why."""

from __future__ import annotations


class StoreError(Exception):
    """The store cannot do what was asked; the message says why."""


class AccountExistsError(StoreError):
    """An account with this name (or id) already exists."""


class AccountNotFoundError(StoreError, LookupError):
    """No account has this name or id."""
