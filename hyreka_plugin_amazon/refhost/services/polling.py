"""Each account's background polling as the host keeps it: its plan (interval with backoff,
on or off, paused after refused credentials) and the status a seller reads (``status``, the
console's accounts tab), from any process.

The poller and the workers run the plans (``background/``); what they know is kept in the
store (next run, pause), so this module needs no scheduler (nor APScheduler).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from hyreka_plugin_amazon.contract import Account, PollingInfo, SyncResult
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.manager import NoConnectorError
from hyreka_plugin_amazon.refhost.services.presence import poller_running, workers_alive
from hyreka_plugin_amazon.refhost.store import SyncRun as SyncRun

log = logging.getLogger(__name__)

NEXT_RUN_KEY: Final = "refhost.poll.next_run"
PAUSED_KEY: Final = "refhost.poll.paused"
# Ended by the host (stop), not by the account: neither a failure nor a success.
NEUTRAL_CODES: Final = frozenset({"sync.cancelled"})
RUNS_FOR_BACKOFF: Final = 12  # enough to reach the backoff cap


@dataclass(frozen=True)
class PollPlan:
    """How one account is polled: its job's interval, or no job at all."""

    account_id: str
    interval_minutes: int
    enabled: bool = True
    paused: bool = False  # authentication failed: wait for the seller


def plan_for(
    account: Account,
    polling: PollingInfo | None,
    *,
    consecutive_failures: int = 0,
    paused: bool = False,
) -> PollPlan:
    """The account's plan as its connector's ``polling`` says: enabled unless the account's
    setting turns it off (or the connector cannot poll: None); backed off on failure."""
    if polling is None:
        return PollPlan(account_id=account.id, interval_minutes=0, enabled=False, paused=paused)
    base = polling.interval_minutes(account.settings)
    return PollPlan(
        account_id=account.id,
        interval_minutes=polling.backoff_minutes(base, consecutive_failures),
        enabled=polling.enabled(account.settings),
        paused=paused,
    )


@dataclass(frozen=True)
class AccountStatus:
    """What the seller sees of one account's polling."""

    account_id: str
    account_name: str
    polling: bool  # the account's setting ``polling`` is on
    interval_minutes: int  # the account's own interval
    effective_minutes: int  # with backoff after failures
    consecutive_failures: int
    paused: bool  # authentication failed: waits for new credentials
    running: bool  # a sync of the account runs now (in any process)
    next_run: datetime | None
    message: str | None  # why it is paused or backed off (the last run's message)
    history: tuple[SyncRun, ...]  # newest first

    @property
    def last_run(self) -> SyncRun | None:
        return self.history[0] if self.history else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "account_id": self.account_id,
            "account": self.account_name,
            "polling": self.polling,
            "interval_minutes": self.interval_minutes,
            "effective_minutes": self.effective_minutes,
            "consecutive_failures": self.consecutive_failures,
            "paused": self.paused,
            "running": self.running,
            "next_run": iso(self.next_run),
            "message": self.message,
            "last_run": _run_dict(self.last_run) if self.last_run else None,
            "history": [_run_dict(run) for run in self.history],
        }


class Planner:
    """The accounts' polling plans and status on one host (the connectors' polling cached)."""

    def __init__(self, host: ReferenceHost) -> None:
        self.host = host
        self._polling_infos: dict[str, PollingInfo | None] = {}  # by connector id

    def accounts(self) -> list[Account]:
        return self.host.store.list_accounts()

    def runs(self, account_id: str, limit: int = RUNS_FOR_BACKOFF) -> list[SyncRun]:
        """The account's latest sync runs, newest first."""
        return self.host.store.list_runs(account_id, limit=limit)

    def plan(self, account: Account, runs: Sequence[SyncRun] | None = None) -> PollPlan:
        """The account's polling plan now (interval with backoff, enabled, paused)."""
        if runs is None:
            runs = self.runs(account.id)
        return plan_for(
            account,
            self.polling(account),
            consecutive_failures=consecutive_failures(runs),
            paused=self.still_paused(account, runs),
        )

    def polling(self, account: Account) -> PollingInfo | None:
        """How the account's connector wants it polled (None: not at all, or no such plugin)."""
        if account.connector not in self._polling_infos:
            try:
                polling = self.host.plugins.connector(account.connector).polling
            except NoConnectorError:
                polling = None
            self._polling_infos[account.connector] = polling
        return self._polling_infos[account.connector]

    def interval_minutes(self, account: Account) -> int:
        polling = self.polling(account)
        return 0 if polling is None else polling.interval_minutes(account.settings)

    def statuses(
        self, *, history: int = 10, next_run: Callable[[str], datetime | None] | None = None
    ) -> list[AccountStatus]:
        """Every account's polling: last runs, next run (``next_run``, else the one a poller
        stored), backoff, pause."""
        statuses = []
        for account in self.accounts():
            runs = self.runs(account.id, limit=max(history, RUNS_FOR_BACKOFF))
            plan = self.plan(account, runs)
            failures = consecutive_failures(runs)
            message = None
            if plan.paused or failures:
                message = next((r.message for r in runs if decisive(r)), None)
            when = (next_run or self.stored_next_run)(account.id) if plan.enabled else None
            statuses.append(
                AccountStatus(
                    account_id=account.id,
                    account_name=account.name,
                    polling=plan.enabled,
                    interval_minutes=self.interval_minutes(account),
                    effective_minutes=plan.interval_minutes,
                    consecutive_failures=failures,
                    paused=plan.paused,
                    running=self.host.locks.holder(account.id) is not None,
                    next_run=when,
                    message=message,
                    history=tuple(runs[:history]),
                )
            )
        return statuses

    # ---------------------------------------------------------------- pause and next run

    def pause(self, account: Account, result: SyncResult) -> None:
        """Remember the credentials that were refused: polling waits until they change."""
        record = {"code": result.code, "credentials": self._fingerprint(account)}
        self.host.store.set_state(account.id, PAUSED_KEY, json.dumps(record))
        log.warning("polling of account %s paused: authentication failed", account.id)

    def still_paused(self, account: Account, runs: Sequence[SyncRun]) -> bool:
        """Paused, unless the credentials changed or a later sync succeeded (then resumed)."""
        raw = self.host.store.get_state(account.id, PAUSED_KEY)
        if raw is None:
            return False
        record = json.loads(raw)
        last = next((r for r in runs if decisive(r)), None)
        changed = self._fingerprint(account) != record.get("credentials")
        if changed or (last is not None and last.ok):
            self.host.store.set_state(account.id, PAUSED_KEY, None)
            log.info("polling of account %s resumed", account.id)
            return False
        return True

    def stored_next_run(self, account_id: str) -> datetime | None:
        """The next run a poller (in any process) published."""
        stored = self.host.store.get_state(account_id, NEXT_RUN_KEY)
        return datetime.fromisoformat(stored) if stored else None

    def publish_next_run(self, account_id: str, next_run: datetime | None) -> None:
        """Keep the next run in the store, for ``status`` in other processes."""
        value = iso(next_run)
        if self.host.store.get_state(account_id, NEXT_RUN_KEY) != value:
            self.host.store.set_state(account_id, NEXT_RUN_KEY, value)

    def forget_next_runs(self) -> None:
        """No next runs any more: the poller stopped."""
        for account in self.accounts():
            self.host.store.set_state(account.id, NEXT_RUN_KEY, None)

    def record_failure(self, account_id: str, trigger: str, result: SyncResult) -> None:
        """A job that failed before its sync started, as a failed run in the history."""
        store = self.host.store
        store.finish_run(store.start_run(account_id, trigger), result)

    def _fingerprint(self, account: Account) -> str:
        """A keyed HMAC (vault key) of what the seller changes on re-authorising."""
        parts = (
            account.client_id,
            account.client_secret.reveal(),
            account.refresh_token.reveal(),
            account.endpoint or "",
            account.token_url or "",
            account.region,
        )
        return self.host.store.mac("\0".join(parts).encode()).hex()


def background_running(host: ReferenceHost) -> bool:
    """Whether anything syncs this host's accounts in the background: a poller
    (``hyreka-amazon run``) on its data folder, or a worker with a recent heartbeat on its
    PostgreSQL database."""
    return poller_running(host.data_dir) or workers_alive(host.store.url)


def statuses(host: ReferenceHost, *, history: int = 10) -> list[AccountStatus]:
    """Every account's polling status as the store knows it (``hyreka-amazon status``)."""
    return Planner(host).statuses(history=history)


def history(host: ReferenceHost, account_id: str, *, limit: int = 10) -> list[SyncRun]:
    """The account's latest sync runs (any trigger), newest first."""
    return Planner(host).runs(account_id, limit=limit)


def consecutive_failures(runs: Sequence[SyncRun]) -> int:
    """Failed runs in a row, newest first, until a successful one (cancelled ones do not count)."""
    failures = 0
    for run in runs:
        if not decisive(run):
            continue
        if run.ok:
            break
        failures += 1
    return failures


def decisive(run: SyncRun) -> bool:
    return run.finished_at is not None and run.code not in NEUTRAL_CODES


def iso(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value else None


def _run_dict(run: SyncRun) -> dict[str, Any]:
    return {
        "id": run.id,
        "trigger": run.trigger,
        "started_at": iso(run.started_at),
        "finished_at": iso(run.finished_at),
        "ok": run.ok,
        "code": run.code,
        "message": run.message,
        "created": run.created,
        "updated": run.updated,
        "unchanged": run.unchanged,
        "failed_rows": run.failed_rows,
        "api_calls": run.api_calls,
        "warnings": list(run.warnings),
    }
