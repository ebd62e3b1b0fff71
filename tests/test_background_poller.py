"""The background poller: jobs follow the accounts, failures back off, auth failures pause."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from helpers.accounts import seller_account, simulator_account
from helpers.gate import WAIT_S, Gate
from helpers.sim import add_fault

from hyreka_plugin_amazon.contract import Account, Address, Order, OrderLine, OrderStatus
from hyreka_plugin_amazon.refhost.background import scheduling
from hyreka_plugin_amazon.refhost.background.poller import FinishedSync, Poller
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.simulator import Simulator


class Clock:
    """The poller's time, moved by the test."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def finished() -> list[FinishedSync]:
    return []


@pytest.fixture
def poller(refhost: ReferenceHost, clock: Clock, finished: list[FinishedSync]) -> Iterator[Poller]:
    poller = Poller(refhost, clock=clock, jitter_s=0, on_finished=finished.append)
    poller.start(paused=True)  # the test runs the jobs
    yield poller
    poller.stop(timeout_s=WAIT_S)


def job_ids(poller: Poller) -> set[str]:
    return {job.id for job in poller.scheduler.get_jobs()}


def test_jobs_follow_the_accounts_without_a_restart(
    poller: Poller, refhost: ReferenceHost, simulator: Simulator, clock: Clock
) -> None:
    assert not {j for j in job_ids(poller) if j.startswith(scheduling.JOB_PREFIX)}
    first = simulator_account(simulator, "first")
    refhost.store.add_account(first)
    refhost.store.add_account(simulator_account(simulator, "second"))
    poller.refresh()
    assert scheduling.job_id("first") in job_ids(poller)
    assert scheduling.next_run(poller.scheduler, "first") == clock.now  # jitter 0: at once
    job = poller.scheduler.get_job(scheduling.job_id("first"))
    assert job.args == ("first",)
    assert job.func == poller.run_account

    settings = {**first.settings, "poll_minutes": "60"}
    refhost.store.update_account(dataclasses.replace(first, settings=settings))
    refhost.store.remove_account("second")
    poller.refresh()
    ids = job_ids(poller)
    assert scheduling.job_id("second") not in ids
    assert poller.scheduler.get_job(scheduling.job_id("first")).trigger.interval == timedelta(
        minutes=60
    )
    refhost.store.update_account(dataclasses.replace(first, settings={"polling": "off"}))
    poller.refresh()
    assert scheduling.job_id("first") not in job_ids(poller)
    [status] = poller.status()
    assert (status.polling, status.next_run) == (False, None)


def test_a_failing_account_backs_off_alone_and_recovers(
    poller: Poller,
    refhost: ReferenceHost,
    simulator: Simulator,
    account: Account,
    clock: Clock,
    finished: list[FinishedSync],
) -> None:
    other = simulator.add_seller(marketplaces=["DE"], orders=10)
    refhost.store.add_account(seller_account(simulator, other, "failing"))
    poller.refresh()
    fault = add_fault(simulator, "report_fatal", seller_id=other.seller_id, rate=1.0)

    intervals = []
    messages = set()
    for _ in range(3):
        assert poller.run_account(account.id).ok  # type: ignore[union-attr]
        result = poller.run_account("failing")
        assert result is not None
        assert result.code == "sync.report_fatal"
        messages.add(result.message)
        intervals.append(finished[-1].interval_minutes)
        assert finished[-1].next_run == clock.now + timedelta(minutes=intervals[-1])
        clock.now += timedelta(minutes=intervals[-1])
    assert intervals == [30, 60, 120]  # doubled per failure in a row
    by_name = {s.account_name: s for s in poller.status()}
    assert by_name["sim"].consecutive_failures == 0
    assert by_name["sim"].effective_minutes == 15
    assert by_name["sim"].message is None
    failing = by_name["failing"]
    assert (failing.consecutive_failures, failing.effective_minutes) == (3, 120)
    assert failing.message in messages
    assert failing.last_run is not None
    assert failing.last_run.code == "sync.report_fatal"
    assert len(failing.history) == 3
    assert not failing.paused

    simulator.faults.clear(fault["id"])
    recovered = poller.run_account("failing")
    assert recovered is not None
    assert recovered.ok, recovered.message
    assert finished[-1].interval_minutes == 15
    assert poller.status()[0].consecutive_failures == 0


def test_an_authentication_failure_pauses_polling_until_the_credentials_change(
    poller: Poller, refhost: ReferenceHost, simulator: Simulator, clock: Clock
) -> None:
    good = simulator_account(simulator, "shop")
    refhost.store.add_account(dataclasses.replace(good, refresh_token=Secret("Atzr|revoked")))
    poller.refresh()
    calls = simulator.stats.snapshot

    result = poller.run_account("shop")
    assert result is not None
    assert result.code == "sync.auth_failed"
    assert result.needs_reauthorization  # what the poller acts on
    assert scheduling.next_run(poller.scheduler, "shop") is None  # no job run until fixed
    [status] = poller.status()
    assert status.paused
    assert status.next_run is None
    assert status.message == result.message
    before = calls()
    poller.refresh()
    clock.now += timedelta(hours=6)
    poller.refresh()
    assert scheduling.next_run(poller.scheduler, "shop") is None
    assert calls() == before  # Amazon is not asked while paused
    state = refhost.store.get_state("shop", "refhost.poll.paused")
    assert state is not None
    assert "Atzr" not in state  # only a keyed HMAC of the credentials is kept
    assert set(json.loads(state)) == {"code", "credentials"}

    refhost.store.update_account(good)  # the seller authorised the app again
    poller.refresh()
    assert scheduling.next_run(poller.scheduler, "shop") == clock.now  # resumes at once
    assert not poller.status()[0].paused
    resumed = poller.run_account("shop")
    assert resumed is not None
    assert resumed.ok, resumed.message


def test_a_successful_manual_sync_resumes_a_paused_account(
    poller: Poller, refhost: ReferenceHost, simulator: Simulator, account: Account
) -> None:
    poller.refresh()
    seller = simulator.default_seller.seller_id
    add_fault(simulator, "lwa_invalid_grant", seller_id=seller)  # once, then the grant works
    assert poller.run_account(account.id).code == "sync.auth_failed"  # type: ignore[union-attr]
    assert poller.status()[0].paused
    assert refhost.sync(account.name).ok  # "Synchronisieren" by hand
    poller.refresh()
    assert not poller.status()[0].paused
    assert scheduling.next_run(poller.scheduler, account.id) is not None


def test_stop_cancels_the_running_sync_and_waits_for_it(
    refhost: ReferenceHost, account: Account
) -> None:
    gate = Gate()
    refhost.plugins.pm.register(gate)
    poller = Poller(refhost, jitter_s=0)
    poller.start()  # for real: the account's first run is due at once
    assert gate.entered.wait(WAIT_S)
    stopped: list[bool] = []
    stopper = threading.Thread(target=lambda: stopped.append(poller.stop(timeout_s=WAIT_S)))
    stopper.start()
    gate.opened.set()
    stopper.join(WAIT_S)
    assert stopped == [True]
    assert not poller.scheduler.running
    [run] = refhost.store.list_runs(account.id)
    assert (run.trigger, run.code) == ("schedule", "sync.cancelled")
    assert refhost.locks.holder(account.id) is None
    assert refhost.store.get_state(account.id, "refhost.poll.next_run") is None


def test_stop_gives_up_on_a_sync_that_does_not_end_in_time(
    refhost: ReferenceHost, account: Account
) -> None:
    gate = Gate()
    refhost.plugins.pm.register(gate)
    poller = Poller(refhost, jitter_s=0)
    poller.start()
    assert gate.entered.wait(WAIT_S)
    assert poller.stop(timeout_s=0.2) is False  # abandoned, the scheduler is shut down anyway
    assert not poller.scheduler.running
    gate.opened.set()
    assert poller.join(WAIT_S)
    assert refhost.locks.holder(account.id) is None
    [run] = refhost.store.list_runs(account.id)
    assert run.code == "sync.cancelled"


def test_status_survives_json_and_the_daily_purge_uses_the_retention_setting(
    refhost: ReferenceHost, account: Account, clock: Clock
) -> None:
    poller = Poller(refhost, clock=clock, retention_days=10)
    closed = Order(
        amazon_order_id="028-0000001-0000001",
        status=OrderStatus.SHIPPED,
        marketplace_id=account.marketplace_ids[0],
        sales_channel="Amazon.de",
        fulfillment_channel="MFN",
        currency="EUR",
        purchase_date=clock.now - timedelta(days=20),
        lines=(OrderLine("1", "SKU", "Thing", 1, Decimal("9.90")),),
        billing_address=Address("Erika Mustermann", ("Weg 1",), "12345", "Berlin", "DE"),
        shipping_address=None,
        last_updated=clock.now - timedelta(days=11),
    )
    refhost.store.upsert_order(account.id, closed)
    poller.purge()
    order = refhost.store.get_order(account.id, closed.amazon_order_id)
    assert order is not None
    assert order.billing_address == Address(None, (), None, None, "DE")

    [status] = poller.status()  # not started: from the store
    assert status.next_run is None
    assert status.last_run is None
    data = json.loads(json.dumps(status.as_dict()))
    assert data["account"] == account.name
    assert data["effective_minutes"] == 15
