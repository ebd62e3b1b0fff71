"""APScheduler wiring: jobs follow the accounts, with Amazon-safe intervals and backoff."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from hyreka_plugin_amazon.contract import Account, PollingInfo
from hyreka_plugin_amazon.refhost.background import scheduling
from hyreka_plugin_amazon.refhost.manager import PluginHost
from hyreka_plugin_amazon.secret import Secret


def installed_polling() -> PollingInfo:
    """How the installed connector asks to be polled, as a host learns it (register_connector)."""
    polling = PluginHost().connector("amazon").polling
    assert polling is not None
    return polling


POLLING = installed_polling()


def account(account_id: str, **settings: str) -> Account:
    return Account(
        id=account_id,
        name=account_id,
        connector="amazon",
        region="eu",
        marketplace_ids=("A1PA6795UKMFR9",),
        client_id="c",
        client_secret=Secret("s"),
        refresh_token=Secret("r"),
        settings=settings,
    )


def noop(account_id: str) -> None:
    """A job body; the scheduler stays paused in these tests, so it never runs."""


@pytest.fixture
def scheduler() -> Iterator[BackgroundScheduler]:
    sched = scheduling.make_scheduler()
    sched.start(paused=True)
    yield sched
    sched.shutdown(wait=False)


def test_scheduler_defaults_never_pile_up() -> None:
    sched = scheduling.make_scheduler(misfire_grace_time=120)
    defaults = sched._job_defaults
    assert defaults == {"coalesce": True, "max_instances": 1, "misfire_grace_time": 120}


def test_interval_is_bounded_by_amazons_report_limit() -> None:
    assert POLLING.interval_minutes(account("a").settings) == 15
    assert POLLING.interval_minutes(account("a", poll_minutes="1").settings) == 5
    assert POLLING.interval_minutes(account("a", poll_minutes="60").settings) == 60
    assert POLLING.interval_minutes(account("a", poll_minutes="soon").settings) == 15


def test_backoff_doubles_up_to_a_cap() -> None:
    assert [POLLING.backoff_minutes(15, n) for n in range(6)] == [15, 30, 60, 120, 240, 240]


def test_jobs_follow_account_changes(scheduler: BackgroundScheduler) -> None:
    plans = [scheduling.plan_for(account(name), POLLING) for name in ("a", "b", "c")]
    scheduling.apply_plans(scheduler, plans, noop)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"hyreka-amazon:a", "hyreka-amazon:b", "hyreka-amazon:c"}
    assert jobs["hyreka-amazon:a"].args == ("a",)  # only ids as job arguments
    trigger = jobs["hyreka-amazon:a"].trigger
    assert isinstance(trigger, IntervalTrigger)
    assert trigger.interval == timedelta(minutes=15)
    assert trigger.jitter == scheduling.DEFAULT_JITTER_S

    changed = [
        scheduling.plan_for(account("a", poll_minutes="30"), POLLING),  # interval changed
        scheduling.plan_for(account("b", polling="off"), POLLING),  # disabled
        scheduling.plan_for(account("d"), POLLING),  # added; c removed
    ]
    scheduling.apply_plans(scheduler, changed, noop)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"hyreka-amazon:a", "hyreka-amazon:d"}
    assert jobs["hyreka-amazon:a"].trigger.interval == timedelta(minutes=30)


def test_paused_account_has_no_next_run_until_resumed(scheduler: BackgroundScheduler) -> None:
    scheduling.apply_plans(scheduler, [scheduling.plan_for(account("a"), POLLING)], noop)
    assert scheduling.next_run(scheduler, "a") is not None
    scheduling.apply_plans(
        scheduler, [scheduling.plan_for(account("a"), POLLING, paused=True)], noop
    )
    assert scheduling.next_run(scheduler, "a") is None
    scheduling.apply_plans(scheduler, [scheduling.plan_for(account("a"), POLLING)], noop)
    assert scheduling.next_run(scheduler, "a") is not None


def test_applying_the_same_plans_twice_changes_nothing(scheduler: BackgroundScheduler) -> None:
    plans = [scheduling.plan_for(account("a"), POLLING)]
    scheduling.apply_plans(scheduler, plans, noop)
    first = scheduling.next_run(scheduler, "a")
    scheduling.apply_plans(scheduler, plans, noop)
    assert scheduling.next_run(scheduler, "a") == first


def test_times_count_from_the_hosts_now(scheduler: BackgroundScheduler) -> None:
    now = datetime(2020, 1, 1, 12, 0, tzinfo=UTC)  # a host clock far from the wall clock
    scheduling.apply_plans(scheduler, [scheduling.plan_for(account("a"), POLLING)], noop, now=now)
    assert scheduling.next_run(scheduler, "a") == now + timedelta(
        seconds=scheduling._spread("a", 60)
    )
    backed_off = scheduling.plan_for(account("a"), POLLING, consecutive_failures=1)
    scheduling.apply_plan(scheduler, backed_off, noop, jitter_s=0, now=now)
    assert scheduling.next_run(scheduler, "a") == now + timedelta(minutes=30)
    scheduling.apply_plan(
        scheduler, scheduling.plan_for(account("a"), POLLING, paused=True), noop, now=now
    )
    later = now + timedelta(hours=3)
    scheduling.apply_plan(scheduler, backed_off, noop, jitter_s=0, now=later)
    assert scheduling.next_run(scheduler, "a") == later  # resumed: at once, not an interval later
