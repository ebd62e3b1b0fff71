"""The host services a sync gets from the reference host, on top of a Store."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from hyreka_plugin_amazon.contract import Order, Problem, Progress, UpsertOutcome
from hyreka_plugin_amazon.refhost.store.fencing import Fence

if TYPE_CHECKING:
    from hyreka_plugin_amazon.refhost.store import Store

KNOWN_IDS = 50_000  # a sync reads at most this many stored order ids up front (a few MB)


class HostAdapter:
    """The host services for one sync on top of a Store.

    All of contract.HostServices except ``map_address``, which needs the host's plugin
    manager: the host subclasses this and adds it.
    """

    def __init__(
        self,
        store: Store,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        cancel_event: threading.Event | None = None,
        fence: Fence | None = None,
    ) -> None:
        self._store = store
        self._fence = fence  # the sync's lease: its writes commit only while it holds
        self._on_progress = on_progress
        self._cancel_event = cancel_event
        self._stored: dict[str, set[str] | None] = {}  # per account, see get_order

    def upsert_order(self, account_id: str, order: Order) -> UpsertOutcome:
        """Staged: committed with the next orders, at the latest by ``set_state``."""
        outcome = self._store.stage_order(account_id, order, fence=self._fence)
        stored = self._stored.get(account_id)
        if stored is not None:
            stored.add(order.amazon_order_id)
        return outcome

    def get_order(self, account_id: str, amazon_order_id: str) -> Order | None:
        """Answers "not stored" from the ids read at the sync's first look-up (instead of a
        query per order) and the orders staged since, unless the account has more than
        ``KNOWN_IDS`` orders."""
        if account_id not in self._stored:
            self._stored[account_id] = self._store.stored_order_ids(account_id, KNOWN_IDS)
        stored = self._stored[account_id]
        return self._store.get_order(account_id, amazon_order_id, stored=stored)

    def get_state(self, account_id: str, key: str) -> str | None:
        return self._store.get_state(account_id, key)

    def set_state(self, account_id: str, key: str, value: str | None) -> None:
        self._store.set_state(account_id, key, value, fence=self._fence)

    def record_problems(self, account_id: str, problems: Sequence[Problem]) -> None:
        self._store.record_problems(account_id, problems, fence=self._fence)

    def report_progress(self, progress: Progress) -> None:
        if self._on_progress is not None:
            self._on_progress(progress)

    def cancel_requested(self, account_id: str) -> bool:
        return self._cancel_event is not None and self._cancel_event.is_set()
