"""Language per run, never stored (issue 22 point 4): ``sync --lang en`` answers in English,
while the account keeps the seller's language, which every later background message speaks
(a poller's and a worker's sync afterwards)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from helpers.cli import Cli, add_shop, clean_environment, set_secrets

from hyreka_plugin_amazon.refhost.background.poller import Poller
from hyreka_plugin_amazon.refhost.background.workers import WorkerSetup, run_sync
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.simulator import Simulator


@pytest.fixture
def run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    host_env: dict[str, str],
    simulator: Simulator,
) -> Cli:
    clean_environment(monkeypatch, host_env)
    set_secrets(simulator, monkeypatch)
    return Cli(tmp_path / "data", capsys)


def test_sync_in_english_leaves_the_background_in_german(run: Cli, simulator: Simulator) -> None:
    add_shop(run, simulator, "DE", "FR")  # added in German: the seller's language
    out, _ = run("--lang", "en", "test-login", "shop")
    assert out.startswith("OK: Login successful.")
    out, _ = run("--lang", "en", "sync", "shop")
    assert "Sync finished" in out

    with ReferenceHost(run.data) as host:
        assert host.store.get_account("shop").locale == "de"
        polled = Poller(host).run_account("shop")
        assert polled is not None
        assert polled.message.startswith("Synchronisierung abgeschlossen"), polled.message
        worked = run_sync(
            WorkerSetup(host=host, dispatch_s=60, heartbeat_s=5),
            Poller(host),
            "shop",
            threading.Lock(),
        )
        assert worked is not None
        assert worked.message.startswith("Synchronisierung abgeschlossen"), worked.message
        assert host.store.get_account("shop").locale == "de"
        scheduled = [r for r in host.store.list_runs("shop") if r.trigger != "manual"]
        assert len(scheduled) == 2
        assert all((r.message or "").startswith("Synchronisierung") for r in scheduled)
