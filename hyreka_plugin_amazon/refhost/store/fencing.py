"""Fencing: a sync's writes commit only while its lease on the account is still its own.

A sync holds the account's lease (``leases``); its token is the fencing token. Every
transaction that commits a sync's work (its staged orders, its problems, its state and
cursor) first checks, inside that same transaction, that the lease row still names the token.
A sync that stalled past its lease while another took over commits nothing more: its staged
orders are dropped and its next write raises LeaseLostError. A takeover never interleaves
with the check and the commit: on SQLite the transaction holds the one writer lock (BEGIN
IMMEDIATE) that a takeover needs too; on PostgreSQL the check reads the lease row FOR SHARE,
so a takeover (an update of that row) waits for the commit (``lease_held`` in ``sql/``).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Protocol

from hyreka_plugin_amazon.refhost.store.errors import StoreError
from hyreka_plugin_amazon.refhost.store.sqlfiles import Queries


class _Executes(Protocol):
    """A database connection (SQLite's or the PostgreSQL dialect's): it runs a statement."""

    def execute(self, sql: str, params: Any = ..., /) -> Any: ...


class Fence(NamedTuple):
    """An account and the token of the lease a sync holds on it."""

    account_id: str
    token: str


class LeaseLostError(StoreError):
    """The sync's lease on the account was taken over: what it did since is not committed."""

    def __init__(self, account_id: str) -> None:
        super().__init__(
            f"the sync of account {account_id!r} lost its lease to another sync;"
            " its last changes were not committed"
        )
        self.account_id = account_id


def holds(db: _Executes, sql: Queries, fence: Fence) -> bool:
    """Whether the fence's token still holds the account's lease (call inside a transaction)."""
    row = db.execute(sql.lease_held, {"account_id": fence.account_id, "owner": fence.token})
    return row.fetchone() is not None


def check(db: _Executes, sql: Queries, fence: Fence | None) -> None:
    """Raise LeaseLostError unless ``fence`` (None: no fence) still holds its lease."""
    if fence is not None and not holds(db, sql, fence):
        raise LeaseLostError(fence.account_id)
