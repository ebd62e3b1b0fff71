"""Background polling with APScheduler 3.x: one job per enabled account, ids only as arguments.

The host owns the scheduler (it starts and stops it); this module builds one with the right
defaults and keeps its jobs in step with the accounts: added, disabled, interval changed,
removed, backed off after failures, paused after an authentication failure. Intervals, their
bounds, the backoff and the settings that hold them are the connector's: ``PollingInfo`` of its
``ConnectorInfo``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

from hyreka_plugin_amazon.refhost.services.polling import PollPlan as PollPlan
from hyreka_plugin_amazon.refhost.services.polling import plan_for as plan_for

# APScheduler is imported where a scheduler is made or driven: reading the schedule's
# constants (``status``, the command line's defaults) loads none of it.
if TYPE_CHECKING:
    from apscheduler.events import JobExecutionEvent
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.base import BaseScheduler
    from apscheduler.triggers.interval import IntervalTrigger


log = logging.getLogger(__name__)

JOB_PREFIX: Final = "hyreka-amazon:"
DEFAULT_JITTER_S: Final = 60
MISFIRE_GRACE_S: Final = 300


def job_id(account_id: str) -> str:
    return f"{JOB_PREFIX}{account_id}"


def make_scheduler(*, misfire_grace_time: int = MISFIRE_GRACE_S) -> BackgroundScheduler:
    """A scheduler with one-at-a-time, coalescing jobs; not started (the host starts it)."""
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MISSED
    from apscheduler.schedulers.background import BackgroundScheduler

    scheduler = BackgroundScheduler(
        timezone=UTC,
        job_defaults={
            "coalesce": True,
            "max_instances": 1,
            "misfire_grace_time": misfire_grace_time,
        },
    )
    scheduler.add_listener(_log_job_event, EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return scheduler


def apply_plans(
    scheduler: BaseScheduler,
    plans: Iterable[PollPlan],
    func: Callable[[str], Any],
    *,
    jitter_s: int = DEFAULT_JITTER_S,
    now: datetime | None = None,
) -> None:
    """Make the scheduler's account jobs match the plans (idempotent; call on every change)."""
    plans = list(plans)
    wanted = {job_id(p.account_id) for p in plans if p.enabled}
    for job in scheduler.get_jobs():
        if job.id.startswith(JOB_PREFIX) and job.id not in wanted:
            scheduler.remove_job(job.id)
    for plan in plans:
        apply_plan(scheduler, plan, func, jitter_s=jitter_s, now=now)


def apply_plan(
    scheduler: BaseScheduler,
    plan: PollPlan,
    func: Callable[[str], Any],
    *,
    jitter_s: int = DEFAULT_JITTER_S,
    now: datetime | None = None,
) -> None:
    """Make one account's job match its plan: added, removed, rescheduled, paused or resumed.

    Times count from ``now`` (default: the wall clock), so that a host driving the scheduler
    in its own time gets consistent next runs.
    """
    jid = job_id(plan.account_id)
    existing = scheduler.get_job(jid)
    if not plan.enabled:
        if existing is not None:
            scheduler.remove_job(jid)
        return
    now = now or datetime.now(UTC)
    interval = timedelta(minutes=plan.interval_minutes)
    soon = now + timedelta(seconds=_spread(plan.account_id, jitter_s))
    if existing is None:
        scheduler.add_job(
            func,
            trigger=_trigger(interval, now, jitter_s),
            args=[plan.account_id],
            id=jid,
            name=f"Amazon sync {plan.account_id}",
            replace_existing=True,
            next_run_time=None if plan.paused else soon,
        )
        return
    was_paused = existing.next_run_time is None
    current = existing.trigger
    from apscheduler.triggers.interval import IntervalTrigger

    if not isinstance(current, IntervalTrigger) or current.interval != interval:
        # the next run moves to one new interval from now (backing off, or back to normal)
        trigger = _trigger(interval, now, jitter_s)
        first = trigger.get_next_fire_time(None, now)
        scheduler.modify_job(jid, trigger=trigger, next_run_time=first)
    if plan.paused:
        scheduler.pause_job(jid)
    elif was_paused:
        scheduler.modify_job(jid, next_run_time=soon)  # resumed: run soon, not in an interval


def _trigger(interval: timedelta, now: datetime, jitter_s: int) -> IntervalTrigger:
    from apscheduler.triggers.interval import IntervalTrigger

    return IntervalTrigger(
        seconds=interval.total_seconds(), start_date=now + interval, jitter=jitter_s, timezone=UTC
    )


def next_run(scheduler: BaseScheduler, account_id: str) -> datetime | None:
    job = scheduler.get_job(job_id(account_id))
    return None if job is None else job.next_run_time


def _spread(account_id: str, jitter_s: int) -> int:
    """A stable offset per account so that many accounts do not start in the same second."""
    return sum(account_id.encode()) % max(1, jitter_s)


def _log_job_event(event: JobExecutionEvent) -> None:
    from apscheduler.events import EVENT_JOB_MISSED

    if event.code == EVENT_JOB_MISSED:
        log.warning("scheduled sync %s missed its run time", event.job_id)
    else:
        log.error("scheduled sync %s raised %s", event.job_id, type(event.exception).__name__)
