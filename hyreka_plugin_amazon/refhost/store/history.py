"""What the store keeps of syncs: per-account state, open problems and the run history."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from hyreka_plugin_amazon.contract import Problem, SyncResult
from hyreka_plugin_amazon.refhost.store.database import Database
from hyreka_plugin_amazon.refhost.store.errors import StoreError
from hyreka_plugin_amazon.refhost.store.fencing import Fence
from hyreka_plugin_amazon.refhost.store.schema import dt


@dataclass(frozen=True)
class SyncRun:
    """One sync in the history; ``finished_at`` and ``ok`` are None while it runs."""

    id: int
    account_id: str
    trigger: str
    started_at: datetime
    finished_at: datetime | None
    ok: bool | None
    code: str | None
    message: str | None
    created: int
    updated: int
    unchanged: int
    failed_rows: int
    api_calls: dict[str, int]
    warnings: tuple[str, ...] = ()  # the sync's warnings, in the seller's words


@dataclass(frozen=True)
class OpenProblem:
    """An import problem the seller can list and dismiss: never personal data."""

    id: int
    account_id: str
    amazon_order_id: str | None
    row: int | None
    column: str | None
    reason: str
    recorded_at: datetime
    messages: dict[str, str]  # language -> the reason in the seller's words

    def seller_text(self, language: str) -> str:
        """The reason in ``language``, else as the connector stated it."""
        return self.messages.get(language) or self.reason


class HistoryStore(Database):
    """Per-account state (key and value texts), problems and sync runs."""

    # ----------------------------------------------------------------------------------------
    # Per-account state and problems

    def get_state(self, account_id: str, key: str) -> str | None:
        rows = self._peek(self._sql.get_state, {"account_id": account_id, "key": key})
        return rows[0]["value"] if rows else None

    def set_state(
        self, account_id: str, key: str, value: str | None, *, fence: Fence | None = None
    ) -> None:
        """Store (None: remove) the value, committed at once (only while ``fence`` holds)."""
        params = {"account_id": account_id, "key": key, "value": value}
        with self._write(fence) as db:
            db.execute(self._sql.delete_state if value is None else self._sql.set_state, params)

    def record_problems(
        self, account_id: str, problems: Sequence[Problem], *, fence: Fence | None = None
    ) -> None:
        """Replace the account's open problems with these (only while ``fence`` holds)."""
        now = self._now()
        with self._write(fence) as db:
            db.execute(self._sql.delete_problems, {"account_id": account_id})
            db.executemany(
                self._sql.insert_problem,
                [
                    {
                        "account_id": account_id,
                        "amazon_order_id": p.amazon_order_id,
                        "row_number": p.row,
                        "column_name": p.column,
                        "reason": p.reason,
                        "recorded_at": now,
                        "messages": json.dumps(dict(p.messages), ensure_ascii=False),
                    }
                    for p in problems
                ],
            )

    def list_problems(self, account_id: str) -> list[Problem]:
        rows = self._read(self._sql.list_problems, {"account_id": account_id})
        return [
            Problem(
                reason=row["reason"],
                amazon_order_id=row["amazon_order_id"],
                row=row["row_number"],
                column=row["column_name"],
                messages=json.loads(row["messages"]),
            )
            for row in rows
        ]

    def dismiss_problem(self, account_id: str, amazon_order_id: str) -> None:
        """Unlist the order's problems (the connector records the dismissal: dismiss_problem)."""
        with self._write() as db:
            db.execute(
                self._sql.dismiss_problem,
                {"account_id": account_id, "amazon_order_id": amazon_order_id},
            )

    def open_problems(self, account_id: str | None = None) -> list[OpenProblem]:
        """The open problems (of one account, or all), oldest first, each with its id."""
        rows = self._read(self._sql.open_problems, {"account_id": account_id})
        return [
            OpenProblem(
                id=row["id"],
                account_id=row["account_id"],
                amazon_order_id=row["amazon_order_id"],
                row=row["row_number"],
                column=row["column_name"],
                reason=row["reason"],
                recorded_at=dt(row["recorded_at"]),
                messages=json.loads(row["messages"]),
            )
            for row in rows
        ]

    def drop_problem(self, problem_id: int) -> None:
        """Unlist one problem by its id (one without an order: nothing for the connector)."""
        with self._write() as db:
            db.execute(self._sql.drop_problem, {"id": problem_id})

    # ----------------------------------------------------------------------------------------
    # Sync runs

    def start_run(self, account_id: str, trigger: str) -> int:
        with self._write() as db:
            row = db.execute(
                self._sql.start_run,
                {"account_id": account_id, "trigger": trigger, "now": self._now()},
            ).fetchone()
        return int(row["id"])

    def finish_run(self, run_id: int, result: SyncResult) -> None:
        """Record the outcome; ``result.message`` must not carry personal data."""
        with self._write() as db:
            changed = db.execute(
                self._sql.finish_run,
                {
                    "id": run_id,
                    "now": self._now(),
                    "ok": result.ok,
                    "code": result.code,
                    "message": result.message,
                    "created": result.created,
                    "updated": result.updated,
                    "unchanged": result.unchanged,
                    "failed_rows": result.failed_rows,
                    "api_calls": json.dumps(result.api_calls, sort_keys=True),
                    "warnings": json.dumps(list(result.warnings), ensure_ascii=False),
                },
            ).rowcount
        if not changed:
            raise StoreError(f"no sync run with id {run_id}")

    def list_runs(self, account_id: str | None = None, limit: int = 20) -> list[SyncRun]:
        """The latest runs, newest first."""
        rows = self._read(self._sql.list_runs, {"account_id": account_id, "limit": limit})
        return [
            SyncRun(
                id=row["id"],
                account_id=row["account_id"],
                trigger=row["trigger"],
                started_at=dt(row["started_at"]),
                finished_at=dt(row["finished_at"]) if row["finished_at"] else None,
                ok=None if row["ok"] is None else bool(row["ok"]),
                code=row["code"],
                message=row["message"],
                created=row["created"],
                updated=row["updated"],
                unchanged=row["unchanged"],
                failed_rows=row["failed_rows"],
                api_calls=json.loads(row["api_calls"]),
                warnings=tuple(json.loads(row["warnings"])),
            )
            for row in rows
        ]
