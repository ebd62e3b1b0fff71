"""Running the connector for an account: "Anmeldung testen" and "Synchronisieren".

``lang`` is the language of the run or request (the CLI's ``--lang``, the console's session):
the connector answers in it through an account copy with that ``locale`` for this call only;
the stored account keeps the seller's language, which background syncs (``lang`` None) speak.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from hyreka_plugin_amazon.contract import LoginResult, Progress, SyncResult
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.services.accounts import get
from hyreka_plugin_amazon.refhost.store import SyncRun

# After a throttled run: Amazon refills createReport at one a minute, and a sync asks for two
# or three reports; ten minutes leave room for them.
THROTTLED_WAIT: Final = timedelta(minutes=10)
DEFAULT_GAP: Final = timedelta(minutes=5)  # a connector without polling information
# Runs after which another sync at once asks Amazon for the same reports again; after any
# other failure (credentials, roles, Amazon unreachable) the seller may try again at once.
# (The connector's run codes without their "sync." prefix.)
_PACED: Final = {"ok": "recent", "problems": "recent", "throttled": "throttled"}


@dataclass(frozen=True)
class Pacing:
    """Why a sync of the account now would bring nothing but Amazon's throttling, and from
    when the next one is useful: ``recent`` (the last one ended less than the connector's
    shortest polling interval ago: Amazon's reports hold nothing new yet, and each sync spends
    createReport requests that Amazon refills at one a minute) or ``throttled`` (Amazon
    throttled the last one)."""

    reason: Literal["recent", "throttled"]
    last_ended: datetime
    next_useful: datetime


def login_test(host: ReferenceHost, name: str, *, lang: str | None = None) -> LoginResult:
    """The connector's login test of the account, its message in ``lang``."""
    return host.test_login(get(host, name).id, locale=lang)


def sync(
    host: ReferenceHost,
    name: str,
    *,
    lang: str | None = None,
    trigger: str = "manual",
    on_progress: Callable[[Progress], None] | None = None,
    cancel_event: threading.Event | None = None,
) -> SyncResult:
    """One sync of the account (pending shipments first), recorded in its history; its
    messages in ``lang`` (None: the account's own language)."""
    account = get(host, name)
    return host.sync(
        account.id,
        trigger=trigger,
        on_progress=on_progress,
        cancel_event=cancel_event,
        locale=lang,
    )


def pacing(host: ReferenceHost, name: str, *, now: datetime | None = None) -> Pacing | None:
    """Whether a sync of the account should wait (a face says why and until when, instead of
    spending Amazon's request quota): None when a sync now is useful."""
    account = get(host, name)
    last = next((run for run in host.store.list_runs(account.id, limit=5) if run.finished_at), None)
    if last is None or last.finished_at is None or _code(last) not in _PACED:
        return None
    reason: Literal["recent", "throttled"] = "throttled" if _throttled(last) else "recent"
    wait = THROTTLED_WAIT if reason == "throttled" else _shortest_interval(host, account.connector)
    next_useful = last.finished_at + wait
    if next_useful <= (now or datetime.now(UTC)):
        return None
    return Pacing(reason, last.finished_at, next_useful)


def _code(run: SyncRun) -> str:
    return (run.code or "").removeprefix("sync.")


def _throttled(run: SyncRun) -> bool:
    return _PACED.get(_code(run)) == "throttled"


def _shortest_interval(host: ReferenceHost, connector: str) -> timedelta:
    """The connector's shortest polling interval: what it allows between syncs."""
    polling = host.plugins.connector(connector).polling
    return timedelta(minutes=polling.min_minutes) if polling is not None else DEFAULT_GAP
