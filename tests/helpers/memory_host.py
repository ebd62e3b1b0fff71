"""A host in memory: the connector's ``HostServices`` over dicts, with address mapping asked of
a real pluggy PluginManager, as the Warenwirtschaft does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal, cast

import pluggy

from hyreka_plugin_amazon.contract import (
    Account,
    Address,
    Order,
    OrderStatus,
    Problem,
    Progress,
    UpsertOutcome,
)


class MemoryHost:
    """Orders, state and problems per account in dicts; every call the connector makes counts."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.orders: dict[tuple[str, str], Order] = {}
        self.state: dict[tuple[str, str], str] = {}
        self.problems: dict[str, list[Problem]] = {}
        self.progress: list[Progress] = []

    def upsert_order(self, account_id: str, order: Order) -> UpsertOutcome:
        key = (account_id, order.amazon_order_id)
        before = self.orders.get(key)
        self.orders[key] = order
        if before is None:
            return "created"
        return "unchanged" if before == order else "updated"

    def get_order(self, account_id: str, amazon_order_id: str) -> Order | None:
        return self.orders.get((account_id, amazon_order_id))

    def get_state(self, account_id: str, key: str) -> str | None:
        return self.state.get((account_id, key))

    def set_state(self, account_id: str, key: str, value: str | None) -> None:
        if value is None:
            self.state.pop((account_id, key), None)
        else:
            self.state[(account_id, key)] = value

    def record_problems(self, account_id: str, problems: Sequence[Problem]) -> None:
        self.problems[account_id] = list(problems)

    def report_progress(self, progress: Progress) -> None:
        self.progress.append(progress)

    def cancel_requested(self, account_id: str) -> bool:
        return False

    def map_address(
        self,
        *,
        row: Mapping[str, str | None],
        kind: Literal["billing", "shipping"],
        account: Account,
    ) -> Address | None:
        return cast(Address | None, self.pm.hook.map_address(row=row, kind=kind, account=account))

    def open_orders(self, account_id: str) -> dict[str, dict[str, Any]]:
        """The account's open orders, in the JSON shape of the simulator's ground truth."""
        return {
            order_id: order.as_dict()
            for (owner, order_id), order in self.orders.items()
            if owner == account_id and order.status is OrderStatus.OPEN
        }
