"""Issue 24: the workers' breaks, performed on a real PostgreSQL with real processes.

- A killed worker (SIGKILL) while its syncs run: another worker syncs its accounts again
  within three heartbeats plus one dispatch period (the issue's promise), not at their next
  interval. The killed worker is left unreaped, so its process id still answers as a worker
  on another machine would: only the heartbeat and the lease's expiry free its accounts.
- PostgreSQL stopped and started under a running worker (syncs in flight): the worker says
  so, reconnects and syncs on (the interrupted accounts and a new one), no traceback; it ends
  with exit 0 on SIGTERM. A database away longer than ``--give-up-after`` ends it with 75.
- A CLI ``sync`` while the database is away exits 75 with a clear message, not 2.
- ``status`` on PostgreSQL names the live and the silent workers and the workers' runs.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import psycopg
import pytest
from cryptography.fernet import Fernet
from helpers.accounts import seller_account
from helpers.postgres import PostgresServer
from helpers.sim import open_for_seller

from hyreka_plugin_amazon.refhost.background.presence import WorkerSeen
from hyreka_plugin_amazon.refhost.background.workers import (
    MIN_LEASE_S,
    WorkerSetup,
    database_lost,
)
from hyreka_plugin_amazon.refhost.cli import main as cli
from hyreka_plugin_amazon.refhost.cli.poll import print_status
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV
from hyreka_plugin_amazon.refhost.store.errors import StoreError
from hyreka_plugin_amazon.refhost.store.postgres import DATABASE_ENV
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.sellers import Seller

SCRIPT = shutil.which("hyreka-amazon", path=str(Path(sys.executable).parent))
needs_script = pytest.mark.skipif(SCRIPT is None, reason="hyreka-amazon is not installed")
# the kill test's settings, and what the issue promises with them
HEARTBEAT_S = 2
DISPATCH_S = 10
PROMISED_S = 3 * HEARTBEAT_S + DISPATCH_S  # three heartbeats plus one dispatch period
# The simulator's speed once no step needs a sync in flight any more, so that the syncs still
# to come end soon: Amazon's 200 s for a report take 2 wall seconds (at 20x, 10), an access
# token's hour 36.
FAST = 100


class Running:
    """A ``hyreka-amazon`` process whose output is read as it comes."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        assert SCRIPT is not None
        self.process = subprocess.Popen(
            [SCRIPT, *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self._readers = [
            threading.Thread(target=_read, args=(self.process.stdout, self.out), daemon=True),
            threading.Thread(target=_read, args=(self.process.stderr, self.err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def wait_for(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.err):
            assert time.monotonic() < deadline, f"never said {text!r}: {''.join(self.err)}"
            assert self.process.poll() is None, "".join(self.err)
            time.sleep(0.05)

    def stop(self) -> tuple[int, str, str]:
        """SIGTERM (unless it ended), then its exit status, stdout and stderr."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.finish()

    def finish(self, timeout: float = 60) -> tuple[int, str, str]:
        """Wait for it to end by itself."""
        code = self.process.wait(timeout=timeout)
        for reader in self._readers:
            reader.join(timeout=10)
        for pipe in (self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()
        return code, "".join(self.out), "".join(self.err)


def _read(pipe: IO[str] | None, into: list[str]) -> None:
    assert pipe is not None
    for line in pipe:
        into.append(line)


def _env(tmp_path: Path, url: str) -> dict[str, str]:
    return {
        **os.environ,
        KEY_ENV: Fernet.generate_key().decode(),
        DATABASE_ENV: url,
        "HYREKA_AMAZON_DATA": str(tmp_path / "data"),
    }


def _worker(env: dict[str, str], name: str, *extra: str) -> Running:
    args = ["--lang", "en", "worker", "--name", name, "--concurrency", "2"]
    args += ["--heartbeat", str(HEARTBEAT_S), "--dispatch-every", str(DISPATCH_S), *extra]
    return Running(args, env)


def _runs(url: str) -> list[tuple[str, datetime, datetime | None, str | None]]:
    """(account, started, finished, code) of every run, from the database itself."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT account_id, started_at, finished_at, code FROM sync_runs ORDER BY started_at"
        ).fetchall()
    return [(str(a), _aware(s), _aware(f) if f else None, c) for a, s, f, c in rows]


def _aware(value: object) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value))


def _wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


@pytest.fixture
def slow_sellers() -> Iterator[tuple[Simulator, dict[str, Seller]]]:
    """Two sellers whose syncs take ten wall seconds (Amazon takes its time with reports)."""
    with Simulator(
        orders=3, seed=24, marketplaces=("DE",), report_delay_s=200, time_scale=20
    ) as sim:
        yield sim, {f"shop{n}": sim.add_seller(marketplaces=["DE"], orders=6) for n in range(2)}


def _add_accounts(
    env: dict[str, str], tmp_path: Path, sim: Simulator, sellers: dict[str, Seller]
) -> None:
    with ReferenceHost(tmp_path / "data", env=env) as host:
        for name, seller in sellers.items():
            host.store.add_account(seller_account(sim, seller, name))


def _converged(
    env: dict[str, str], tmp_path: Path, sim: Simulator, sellers: dict[str, Seller]
) -> bool:
    with ReferenceHost(tmp_path / "data", env=env) as host:
        for name, seller in sellers.items():
            truth = {
                o["amazon_order_id"]
                for o in sim.ground_truth(seller.seller_id)
                if open_for_seller(o)
            }
            mine = {
                o.amazon_order_id
                for o in host.store.list_orders(account_id=name)
                if o.status.value == "open"
            }
            if mine != truth:
                return False
    return True


# ------------------------------------------------------------------------------ kill


@pytest.mark.slow
@needs_script
def test_a_killed_workers_accounts_are_synced_again_within_the_promised_time(
    tmp_path: Path, postgres_url: str, slow_sellers: tuple[Simulator, dict[str, Seller]]
) -> None:
    """Worker A runs both accounts' syncs, B is idle; A is killed. Each account's next run
    starts within 3 x heartbeat + dispatch period = 16 s after the kill. (How, with these
    settings: A counts as stalled 6 s after its last heartbeat, a worker looks every heartbeat
    (2 s) and B polls for jobs every 2 s; A's leases last max(6 s, 10 s) = 10 s from their
    last renewal, and the job re-run waits for them: about 10.5 s at worst.)"""
    sim, sellers = slow_sellers
    env = _env(tmp_path, postgres_url)
    _add_accounts(env, tmp_path, sim, sellers)
    assert MIN_LEASE_S <= PROMISED_S - 2 * HEARTBEAT_S

    first = _worker(env, "worker-a")
    second: Running | None = None
    try:
        _wait_until(
            lambda: sum(1 for r in _runs(postgres_url) if r[2] is None) == len(sellers),
            60,
            "worker A never ran both syncs at once",
        )
        second = _worker(env, "worker-b")
        second.wait_for("worker: ")  # started
        _wait_until(lambda: _alive_workers(postgres_url) >= 2, 30, "worker B never signed in")
        assert all(r[2] is None for r in _runs(postgres_url))  # A's syncs still run
        first.process.send_signal(signal.SIGKILL)  # not reaped until the end
        killed_at = datetime.now(UTC)

        def synced_again() -> bool:
            later = {r[0] for r in _runs(postgres_url) if r[1] > killed_at}
            return later == set(sellers)

        _wait_until(synced_again, 120, "the killed worker's accounts were not synced again")
        restarted = {r[0]: r[1] for r in _runs(postgres_url) if r[1] > killed_at}
        delays = {name: (at - killed_at).total_seconds() for name, at in restarted.items()}
        print("synced again after", delays)
        assert max(delays.values()) <= PROMISED_S, delays
        sim.clock.time_scale = FAST  # the new runs need not take their time

        _wait_until(
            lambda: all(
                any(
                    r[0] == name and r[1] > killed_at and r[3] == "sync.ok"
                    for r in _runs(postgres_url)
                )
                for name in sellers
            ),
            120,
            "the new runs did not end ok",
        )
        assert _converged(env, tmp_path, sim, sellers)

        # status names the live worker, the silent one, and the workers' runs
        status = subprocess.run(
            [str(SCRIPT), "--lang", "en", "status", "--history", "3"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert status.returncode == 0, status.stderr
        assert "workers alive: worker-b" in status.stdout
        assert "worker silent: worker-a" in status.stdout
        assert "(worker, " in status.stdout
        assert "(worker) not finished" in status.stdout  # the run the kill interrupted
        assert "(manual" not in status.stdout
        assert "poller not running" not in status.stdout
    finally:
        if first.process.returncode is None:
            first.process.kill()
        first.stop()
        if second is not None:
            code, _, err = second.stop()
            assert code == 0, err
            assert "Traceback" not in err


def _alive_workers(url: str) -> int:
    with psycopg.connect(url) as conn:
        found = conn.execute("SELECT to_regclass('hyreka_workers')").fetchone()
        if found is None or found[0] is None:
            return 0  # no worker signed in yet
        row = conn.execute(
            "SELECT count(*) FROM hyreka_workers"
            " WHERE last_seen > NOW() - make_interval(secs => 3 * heartbeat_s)"
        ).fetchone()
    return int(row[0]) if row else 0


# ------------------------------------------------------------------------------ restart


@pytest.mark.slow
@needs_script
def test_a_worker_rides_out_a_postgres_outage_and_syncs_on(
    tmp_path: Path,
    own_postgres_server: PostgresServer,
    slow_sellers: tuple[Simulator, dict[str, Seller]],
) -> None:
    sim, sellers = slow_sellers
    server = own_postgres_server
    url = server.new_database()
    env = _env(tmp_path, url)
    _add_accounts(env, tmp_path, sim, sellers)
    worker = _worker(env, "worker-r")
    try:
        _wait_until(
            lambda: any(r[2] is None for r in _runs(url)), 60, "no sync started before the outage"
        )
        server.stop_only()  # syncs are in flight
        worker.wait_for("database unreachable")
        time.sleep(2 * HEARTBEAT_S)  # a while away: the worker keeps trying
        assert worker.process.poll() is None
        server.start_again()
        worker.wait_for("database reachable again")
        back_at = datetime.now(UTC)
        sim.clock.time_scale = FAST  # the syncs from here on need not take their time

        # a new account is synced, and so is every account the outage interrupted
        late = sim.add_seller(marketplaces=["DE"], orders=4)
        with ReferenceHost(tmp_path / "data", env=env) as host:
            host.store.add_account(seller_account(sim, late, "late"))
        everyone = {**sellers, "late": late}

        def synced_after_the_outage() -> bool:
            ok = {r[0] for r in _runs(url) if r[3] == "sync.ok"}
            fresh = {r[0] for r in _runs(url) if r[1] >= back_at - timedelta(seconds=1)}
            return set(everyone) <= ok and "late" in fresh

        _wait_until(synced_after_the_outage, 120, "the worker did not sync on after the outage")
        assert _converged(env, tmp_path, sim, everyone)
        assert worker.process.poll() is None
    finally:
        code, out, err = worker.stop()
    assert code == 0, err
    assert "Traceback" not in err
    assert "Database error" not in err
    assert "late  sync.ok" in out


@pytest.mark.slow
@needs_script
def test_database_outages_are_exit_75_for_the_worker_and_a_cli_sync(
    tmp_path: Path,
    own_postgres_server: PostgresServer,
    slow_sellers: tuple[Simulator, dict[str, Seller]],
) -> None:
    sim, sellers = slow_sellers
    server = own_postgres_server
    url = server.new_database()
    env = _env(tmp_path, url)
    _add_accounts(env, tmp_path, sim, sellers)

    # a CLI sync whose database goes away in the middle
    syncing = Running(["--lang", "en", "sync", "shop0"], env)
    _wait_until(lambda: any(r[2] is None for r in _runs(url)), 60, "the sync never started")
    server.stop_only()
    # the syncs from here on (the worker's below too) need not take their time
    sim.clock.time_scale = FAST
    code, _, err = syncing.finish()
    assert code == 75, err
    assert "The database is unreachable" in err
    assert "Traceback" not in err

    # a CLI sync while it is away, in either language
    for lang, text in (("de", "Keine Verbindung zur Datenbank"), ("en", "cannot connect")):
        done = subprocess.run(
            [str(SCRIPT), "--lang", lang, "sync", "shop1"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 75, done.stderr
        assert text in done.stderr
        assert "Traceback" not in done.stderr
        assert "wrong" not in done.stderr

    # a worker whose database stays away longer than it waits
    server.start_again()
    worker = _worker(env, "worker-g", "--give-up-after", "4")
    _wait_until(lambda: _alive_workers(url) >= 1, 60, "the worker never signed in")
    server.stop_only()
    code, _, err = worker.finish(timeout=90)
    assert code == 75, err
    assert "the worker ends with exit status 75" in err
    assert "Traceback" not in err


# ------------------------------------------------------------------------------ quick checks


def test_a_cli_command_against_an_unreachable_database_exits_75(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
    monkeypatch.setenv(DATABASE_ENV, "postgresql://hyreka:s3cret@127.0.0.1:1/hyreka")
    for lang, text in (("de", "Keine Verbindung zur Datenbank"), ("en", "cannot connect")):
        for command in (["sync", "shop"], ["worker"], ["status"]):
            assert cli.main(["--data", str(tmp_path), "--lang", lang, *command]) == 75
            err = capsys.readouterr().err
            assert text in err
            assert "s3cret" not in err
            assert "postgresql://hyreka:***@127.0.0.1:1/hyreka" in err


def test_what_counts_as_a_lost_database() -> None:
    assert database_lost(psycopg.OperationalError("server closed the connection"))
    assert database_lost(psycopg.InterfaceError("the connection is closed"))
    assert database_lost(StoreError("cannot connect", text_id="store.pg_connect"))
    wrapped = RuntimeError("Database error")
    wrapped.__cause__ = psycopg.OperationalError("terminating connection")
    assert database_lost(wrapped)
    assert not database_lost(psycopg.errors.UniqueViolation("duplicate key"))
    assert not database_lost(StoreError("newer schema", text_id="store.newer_schema"))
    assert not database_lost(ValueError("bad input"))


def test_a_workers_lease_lasts_three_heartbeats(tmp_path: Path) -> None:
    setup = WorkerSetup(host=None, dispatch_s=60, heartbeat_s=10)  # type: ignore[arg-type]
    assert (setup.stalled_after_s, setup.lease_ttl_s) == (30, 30)
    quick = dataclasses.replace(setup, heartbeat_s=1)
    assert (quick.stalled_after_s, quick.lease_ttl_s) == (3, MIN_LEASE_S)
    assert setup.lease_wait_s >= 120  # longer than any holder's lease (a manual sync's: 120 s)


def test_status_names_workers_and_their_runs() -> None:
    import io

    now = datetime.now(UTC)
    workers = [
        WorkerSeen("w1", 10, now, now, alive=True),
        WorkerSeen("w2", 10, now, now - timedelta(minutes=5), alive=False),
    ]
    out = io.StringIO()
    print_status([], out, lang="de", workers=workers)
    text = out.getvalue()
    assert "Worker aktiv: w1" in text
    assert "Worker ohne Lebenszeichen: w2" in text
    out = io.StringIO()
    print_status([], out, lang="en", workers=[])
    assert "No worker is running (hyreka-amazon worker)." in out.getvalue()
