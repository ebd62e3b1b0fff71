"""Sync pacing (issue 27): pressing "Synchronisieren" a dozen times in a few minutes must not
get the seller throttled by Amazon ("Amazon drosselt die Anfragen"). Within the connector's
shortest polling interval after a finished sync (ten minutes after a throttled one) the console
asks Amazon nothing and says why and from when the next sync is useful; after a failure the
seller can fix (credentials, roles, Amazon unreachable) a sync may run again at once.

The service (``runs.pacing``) on a real store; the console over Flask's test client with the
host syncing from the simulator over loopback HTTP.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from helpers.records import make_account
from markupsafe import escape

from hyreka_plugin_amazon.contract import SyncResult
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.i18n import formatting
from hyreka_plugin_amazon.refhost.i18n.texts import web_text
from hyreka_plugin_amazon.refhost.services import runs
from hyreka_plugin_amazon.refhost.web.console import Console, create_app
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.simulator import Simulator


@pytest.fixture
def host(tmp_path: Path) -> Iterator[ReferenceHost]:
    env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    with ReferenceHost(tmp_path / "data", env=env) as opened:
        opened.store.add_account(make_account(name="shop"))
        yield opened


def _run(host: ReferenceHost, code: str, ok: bool) -> datetime:
    run = host.store.start_run("acc-1", "console")
    host.store.finish_run(run, SyncResult(ok=ok, message="x", code=code))
    ended = host.store.list_runs("acc-1", limit=1)[0].finished_at
    assert ended is not None
    return ended


def test_no_sync_yet_or_long_ago_is_useful_now(host: ReferenceHost) -> None:
    assert runs.pacing(host, "acc-1") is None
    ended = _run(host, "sync.ok", True)
    assert runs.pacing(host, "acc-1", now=ended + timedelta(minutes=5)) is None


def test_a_sync_just_finished_waits_the_shortest_polling_interval(host: ReferenceHost) -> None:
    ended = _run(host, "sync.problems", False)
    wait = runs.pacing(host, "acc-1", now=ended + timedelta(minutes=1))
    assert wait is not None
    assert (wait.reason, wait.next_useful - ended) == ("recent", timedelta(minutes=5))


def test_after_throttling_the_next_sync_waits_longer(host: ReferenceHost) -> None:
    ended = _run(host, "sync.throttled", False)
    wait = runs.pacing(host, "acc-1", now=ended + timedelta(minutes=6))
    assert wait is not None
    assert (wait.reason, wait.next_useful - ended) == ("throttled", timedelta(minutes=10))


@pytest.mark.parametrize("code", ["sync.auth_failed", "sync.unavailable", "sync.cancelled"])
def test_after_a_failure_the_seller_can_fix_a_sync_may_run_at_once(
    host: ReferenceHost, code: str
) -> None:
    _run(host, "sync.ok", True)
    _run(host, code, False)
    assert runs.pacing(host, "acc-1") is None


# ------------------------------------------------------------------------------ console


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(orders=10, seed=4, report_delay_s=0.1, time_scale=50) as running:
        yield running


def test_a_dozen_presses_ask_amazon_once_and_say_until_when(tmp_path: Path, sim: Simulator) -> None:
    env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    creds = sim.credentials
    account = dataclasses.replace(
        make_account(name="shop"),
        client_id=creds.client_id,
        client_secret=Secret(creds.client_secret),
        refresh_token=Secret(creds.refresh_token),
        endpoint=sim.url,
        token_url=sim.token_url,
        settings={"report_check_seconds": "0.05", "report_check_max_seconds": "0.2"},
    )
    with ReferenceHost(tmp_path / "data", env=env) as host:
        host.store.add_account(account)
        console = Console(host)
        app = create_app(console, access_token="tok", allowed_hosts=["localhost"])
        client = app.test_client()
        client.get("/?token=tok")
        page = client.get("/c/amazon/orders?account=acc-1").get_data(as_text=True)
        assert 'id="sync-pacing"' not in page  # nothing synced yet: useful now
        found = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert found is not None
        form = {"csrf_token": found.group(1)}
        for _ in range(12):
            answer = client.post("/c/amazon/orders/acc-1/sync", data=form)
            assert answer.status_code == 302
            job = console.jobs.get("acc-1")
            assert job is not None
            assert job.finished.wait(60)
        history = host.store.list_runs("acc-1", limit=20)
        assert [run.code for run in history] == ["sync.ok"]  # Amazon was asked once
        wait = runs.pacing(host, "acc-1")
        assert wait is not None
        page = client.get("/c/amazon/orders?account=acc-1").get_data(as_text=True)
        zone = formatting.seller_zone()
        said = web_text(
            "de",
            "pacing.recent",
            ended=formatting.local_time(wait.last_ended, "de", zone),
            next=formatting.local_time(wait.next_useful, "de", zone),
        )
        assert str(escape(said)) in page  # why, and from when
        refused = client.post("/c/amazon/orders/acc-1/sync", data=form)
        shown = client.get(refused.headers["Location"]).get_data(as_text=True)
        assert str(escape(web_text("de", "pacing.refused"))) in shown
        assert wait.next_useful - wait.last_ended == timedelta(minutes=5)
        assert wait.next_useful > datetime.now(UTC)
