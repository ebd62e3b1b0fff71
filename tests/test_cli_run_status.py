"""``hyreka-amazon run`` polls in the foreground and stops cleanly; ``status`` shows it."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

import pytest
from helpers.accounts import SIM_MARKETPLACES, simulator_account
from helpers.sim import add_fault

from hyreka_plugin_amazon.contract import Account
from hyreka_plugin_amazon.refhost.cli.main import main
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.simulator import Simulator

WAIT_S = 30
STOP_BOUND_S = 10  # a stop must end the process well within this


class Running:
    """A ``hyreka-amazon run`` subprocess whose output lines the test can wait for."""

    def __init__(self, data: Path, env: dict[str, str], *options: str) -> None:
        command = [sys.executable, "-m", "hyreka_plugin_amazon.refhost.cli.main", "run"]
        self.process = subprocess.Popen(
            [*command, "--data", str(data), "--jitter", "0", *options],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.stdout: queue.Queue[str] = queue.Queue()
        self.stderr: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        assert self.process.stderr is not None
        self._readers = [
            threading.Thread(target=_pump, args=(self.process.stdout, self.stdout), daemon=True),
            threading.Thread(target=_pump, args=(self.process.stderr, self.stderr), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def line(self, stream: queue.Queue[str], containing: str) -> str:
        deadline = time.monotonic() + WAIT_S
        while True:
            line = stream.get(timeout=max(0.01, deadline - time.monotonic()))
            if containing in line:
                return line

    def stop_with(self, signum: signal.Signals) -> tuple[int, float]:
        """Send the signal; the exit code and the seconds until the process ended."""
        sent = time.monotonic()
        self.process.send_signal(signum)
        code = self.process.wait(timeout=STOP_BOUND_S)
        elapsed = time.monotonic() - sent
        for reader in self._readers:
            reader.join(WAIT_S)
        return code, elapsed

    def rest(self, stream: queue.Queue[str]) -> list[str]:
        lines = []
        while not stream.empty():
            lines.append(stream.get_nowait())
        return lines

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for reader in self._readers:
            reader.join(WAIT_S)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


def _pump(pipe: IO[str], into: queue.Queue[str]) -> None:
    for line in pipe:
        into.put(line.rstrip("\n"))


@pytest.fixture
def env(host_env: dict[str, str]) -> dict[str, str]:
    return {**os.environ, **host_env, "HYREKA_LANG": "en"}


@pytest.fixture
def start(refhost: ReferenceHost, env: dict[str, str]) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def run(*options: str) -> Running:
        started.append(Running(refhost.data_dir, env, *options))
        return started[-1]

    yield run
    for running in started:
        running.close()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_run_polls_and_stops_cleanly_on_a_signal(
    signum: signal.Signals,
    start: Callable[..., Running],
    refhost: ReferenceHost,
    account: Account,
    simulator: Simulator,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    host_env: dict[str, str],
) -> None:
    run = start()
    finished = run.line(run.stdout, f"  {account.name}  ")
    assert "sync.ok" in finished
    assert "next " in finished
    code, elapsed = run.stop_with(signum)
    assert code == 0
    assert elapsed < STOP_BOUND_S
    assert "stopped" in run.rest(run.stderr)
    truth = simulator.ground_truth()
    names = {o["billing_address"]["name"] for o in truth if o["billing_address"]}
    assert not any(name and name in finished for name in names)  # no personal data

    for name, value in host_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("HYREKA_LANG", "en")  # the words below are English
    assert main(["status", "--data", str(refhost.data_dir), "--json"]) == 0
    [status] = json.loads(capsys.readouterr().out)
    assert status["last_run"]["trigger"] == "schedule"
    assert status["last_run"]["code"] == "sync.ok"
    assert status["next_run"] is None  # nobody polls any more
    assert main(["status", "--data", str(refhost.data_dir), "--history", "3"]) == 0
    text = capsys.readouterr().out
    assert "poller not running" in text
    assert "(schedule" in text


def test_sigterm_during_a_sync_cancels_it_and_exits_in_time(
    start: Callable[..., Running], refhost: ReferenceHost
) -> None:
    # reports that take an hour: the sync waits for Amazon when the signal comes
    with Simulator(orders=20, marketplaces=SIM_MARKETPLACES, report_delay_s=3600) as slow:
        account = simulator_account(slow, "slow")
        refhost.store.add_account(account)
        run = start()
        deadline = time.monotonic() + WAIT_S
        while refhost.locks.holder(account.id) is None:
            assert time.monotonic() < deadline, "the background sync never started"
            time.sleep(0.05)
        code, elapsed = run.stop_with(signal.SIGTERM)
    assert code == 0
    assert elapsed < STOP_BOUND_S
    assert any("slow  sync.cancelled" in line for line in run.rest(run.stdout))
    [cancelled] = refhost.store.list_runs(account.id)
    assert cancelled.code == "sync.cancelled"
    assert refhost.locks.holder(account.id) is None


def test_a_sync_that_does_not_stop_in_time_is_abandoned(
    start: Callable[..., Running], refhost: ReferenceHost, account: Account, simulator: Simulator
) -> None:
    add_fault(simulator, "slow_response", operation="createReport", delay=5)
    run = start("--stop-timeout", "0.5")
    deadline = time.monotonic() + WAIT_S
    while refhost.locks.holder(account.id) is None:
        assert time.monotonic() < deadline, "the background sync never started"
        time.sleep(0.05)
    code, elapsed = run.stop_with(signal.SIGINT)
    assert code == 0
    assert elapsed < 3  # it did not wait for the 5 s answer
    assert "a running sync was abandoned; stopped" in run.rest(run.stderr)
    [abandoned] = refhost.store.list_runs(account.id)
    assert abandoned.finished_at is None  # the next sync repeats its window
