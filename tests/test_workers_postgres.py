"""``hyreka-amazon worker`` on a real PostgreSQL: several workers share the accounts, one is
killed, nothing is lost and no account is synced twice at once."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from helpers.accounts import seller_account
from helpers.sim import open_for_seller

from hyreka_plugin_amazon.refhost.background.workers import cron_every, lock_name
from hyreka_plugin_amazon.refhost.cli import main as cli
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV
from hyreka_plugin_amazon.refhost.store.postgres import DATABASE_ENV
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.sellers import Seller

SCRIPT = shutil.which("hyreka-amazon", path=str(Path(sys.executable).parent))
ACCOUNTS = 20
WORKERS = 3
DEADLINE_S = 120.0


def test_the_dispatch_period_becomes_a_cron() -> None:
    assert cron_every(60) == "*/1 * * * *"
    assert cron_every(2) == "* * * * * */2"
    assert cron_every(300) == "*/5 * * * *"
    for bad in (0, 7, 90):
        with pytest.raises(ValueError, match="period"):
            cron_every(bad)
    assert lock_name("shop") == "hyreka-account:shop"


def test_the_worker_refuses_sqlite_with_a_clear_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DATABASE_ENV, raising=False)
    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
    assert cli.main(["--data", str(tmp_path), "--lang", "en", "worker"]) == 2
    assert "Workers share a PostgreSQL database" in capsys.readouterr().err
    assert cli.main(["--data", str(tmp_path), "--lang", "de", "worker"]) == 2
    assert "teilen sich eine PostgreSQL-Datenbank" in capsys.readouterr().err


@pytest.fixture
def sellers() -> Iterator[tuple[Simulator, dict[str, Seller]]]:
    with Simulator(
        orders=5, seed=18, marketplaces=("DE",), report_delay_s=20, time_scale=20
    ) as sim:
        yield (
            sim,
            {
                f"shop{n:02d}": sim.add_seller(
                    marketplaces=["DE", "FR"], orders=12, name=f"Shop {n}"
                )
                for n in range(ACCOUNTS)
            },
        )


def _unfinished_runs(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT account_id, started_at FROM sync_runs WHERE finished_at IS NULL"
        ).fetchall()
    return [(str(a), str(s)) for a, s in rows]


@pytest.mark.slow
@pytest.mark.skipif(SCRIPT is None, reason="hyreka-amazon is not installed")
def test_three_workers_one_killed_every_account_converges_without_overlap(
    tmp_path: Path, postgres_url: str, sellers: tuple[Simulator, dict[str, Seller]]
) -> None:
    assert SCRIPT is not None
    sim, by_name = sellers
    env = {
        **os.environ,
        KEY_ENV: Fernet.generate_key().decode(),
        DATABASE_ENV: postgres_url,
        "HYREKA_AMAZON_DATA": str(tmp_path / "data"),
    }
    with ReferenceHost(tmp_path / "data", env=env) as host:
        for name, seller in by_name.items():
            host.store.add_account(seller_account(sim, seller, name))

    command = [
        SCRIPT,
        "--lang",
        "en",
        "worker",
        "--concurrency",
        "2",
        "--dispatch-every",
        "2",
        "--heartbeat",
        "1",
    ]

    def start() -> subprocess.Popen[str]:
        return subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )

    # The first worker starts alone, so the first syncs are its own; it is killed in the
    # middle of them (a sync waits about a second for Amazon's reports), the others start.
    workers = [start()]
    killed_at: datetime | None = None
    try:
        deadline = time.monotonic() + 60
        while not _unfinished_runs(postgres_url):
            assert time.monotonic() < deadline, "the first worker never started a sync"
            assert workers[0].poll() is None, "the first worker ended"
            time.sleep(0.02)
        workers += [start() for _ in range(WORKERS - 1)]
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=10)
        killed_at = datetime.now().astimezone()

        with ReferenceHost(tmp_path / "data", env=env) as host:
            deadline = time.monotonic() + DEADLINE_S
            while True:
                converged = all(
                    any(r.ok for r in host.store.list_runs(name, limit=50))
                    and _open(host, name) == _truth_open(sim, seller)
                    for name, seller in by_name.items()
                )
                if converged:
                    break
                assert time.monotonic() < deadline, "not every account converged"
                assert all(w.poll() is None for w in workers[1:]), "a surviving worker ended"
                time.sleep(0.5)

            # every account's orders are Amazon's
            for name, seller in by_name.items():
                truth = {o["amazon_order_id"]: o for o in sim.ground_truth(seller.seller_id)}
                mine = {
                    o.amazon_order_id: o.as_dict() for o in host.store.list_orders(account_id=name)
                }
                assert {k for k, o in mine.items() if o["status"] == "open"} == _truth_open(
                    sim, seller
                )
                assert all(mine[k] == truth[k] for k in mine), name

            # the kill interrupted syncs, and each such account was synced again after it (a
            # run a surviving worker has not finished yet is not one the kill interrupted)
            interrupted = [
                run
                for name in by_name
                for run in host.store.list_runs(name, limit=50)
                if run.finished_at is None and run.started_at < killed_at
            ]
            assert interrupted, "the killed worker was not running a sync"
            for run in interrupted:
                later = [
                    r
                    for r in host.store.list_runs(run.account_id, limit=50)
                    if r.started_at > run.started_at and r.ok
                ]
                assert later, run.account_id

            # never two syncs of one account at once
            for name in by_name:
                runs = sorted(host.store.list_runs(name, limit=100), key=lambda r: r.started_at)
                for earlier, later_run in itertools.pairwise(runs):
                    end = earlier.finished_at or killed_at
                    assert end <= later_run.started_at, name
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        outputs = [w.communicate(timeout=30) for w in workers]

    # the surviving workers stopped cleanly; one line per finished sync, every account's too
    assert all(w.returncode == 0 for w in workers[1:]), [err[-2000:] for _, err in outputs]
    lines = [line for out, _ in outputs for line in out.splitlines()]
    finished = [line for line in lines if not line.startswith("  ! ")]  # a sync's warnings
    assert all("  sync." in line and " created, " in line for line in finished), finished[:5]
    assert {line.split("  ")[1] for line in finished} == set(by_name)
    for _, err in outputs:
        assert "Atzr|" not in err
        assert "amzn1.oa2-cs" not in err


def _open(host: ReferenceHost, name: str) -> set[str]:
    return {
        o.amazon_order_id
        for o in host.store.list_orders(account_id=name)
        if o.status.value == "open"
    }


def _truth_open(sim: Simulator, seller: Seller) -> set[str]:
    return {o["amazon_order_id"] for o in sim.ground_truth(seller.seller_id) if open_for_seller(o)}
