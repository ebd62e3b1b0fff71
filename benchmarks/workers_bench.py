"""Worker benchmark: 200 accounts on the simulator, synced by 1, 2 and 4 ``hyreka-amazon worker``
processes sharing a PostgreSQL store.

    python benchmarks/workers_bench.py [--accounts 200] [--workers 1 2 4] [--concurrency 8]

For each number of workers: a fresh database with the accounts (each its own simulator seller,
own token buckets), the workers started together, and the time until every account has
finished its first sync. Prints syncs a minute, CPU seconds of the workers, the simulator
(this process) and PostgreSQL, their share of the machine's cores, and the peak RSS of each
worker. Needs Debian's ``postgresql`` (the server is started in a temporary folder, as in the
tests).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg
from cryptography.fernet import Fernet

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from helpers.accounts import seller_account
from helpers.postgres import PostgresServer

from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV
from hyreka_plugin_amazon.refhost.store.postgres import DATABASE_ENV
from hyreka_plugin_amazon.simulator import Simulator

SCRIPT = shutil.which("hyreka-amazon", path=str(Path(sys.executable).parent))
TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime + stime


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _postgres_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _finished_accounts(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT count(DISTINCT account_id) FROM sync_runs WHERE finished_at IS NOT NULL"
        ).fetchone()
    return int(row[0]) if row else 0


def _run_window(url: str) -> tuple[float, float]:
    """(seconds from the first sync's start to the last one's end, mean seconds of a sync)."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT EXTRACT(EPOCH FROM max(finished_at::timestamptz)"
            " - min(started_at::timestamptz)),"
            " avg(EXTRACT(EPOCH FROM finished_at::timestamptz - started_at::timestamptz))"
            " FROM sync_runs WHERE finished_at IS NOT NULL"
        ).fetchone()
    assert row is not None
    return float(row[0]), float(row[1])


def _failed_runs(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM sync_runs WHERE ok = false").fetchone()
    return int(row[0]) if row else 0


def measure(
    server: PostgresServer, sim: Simulator, accounts: int, workers: int, concurrency: int
) -> dict[str, Any]:
    assert SCRIPT is not None, "install the package first (pip install -e .)"
    url = server.new_database()
    folder = Path(tempfile.mkdtemp(prefix="hyreka-bench-"))
    env = {
        **os.environ,
        KEY_ENV: Fernet.generate_key().decode(),
        DATABASE_ENV: url,
        "HYREKA_AMAZON_DATA": str(folder),
    }
    with ReferenceHost(folder, env=env) as host:
        for n in range(accounts):
            seller = sim.add_seller(marketplaces=["DE", "FR"], orders=10, name=f"Bench {n}")
            host.store.add_account(seller_account(sim, seller, f"bench-{workers}-{n:03d}"))
    pg_before = sum(_cpu_seconds(pid) for pid in _postgres_pids())
    sim_before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    command = [SCRIPT, "worker", "--concurrency", str(concurrency), "--dispatch-every", "2"]
    procs = [
        subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(workers)
    ]
    try:
        while _finished_accounts(url) < accounts:
            time.sleep(0.2)
            if time.monotonic() - started > 900:
                raise RuntimeError("the workers did not finish within 15 minutes")
        elapsed = time.monotonic() - started
        worker_cpu = sum(_cpu_seconds(p.pid) for p in procs)
        rss = [round(_peak_rss_mb(p.pid), 1) for p in procs]
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            proc.wait(timeout=60)
    sim_after = resource.getrusage(resource.RUSAGE_SELF)
    sim_cpu = (sim_after.ru_utime + sim_after.ru_stime) - (
        sim_before.ru_utime + sim_before.ru_stime
    )
    pg_cpu = sum(_cpu_seconds(pid) for pid in _postgres_pids()) - pg_before
    cores = os.cpu_count() or 1
    shutil.rmtree(folder, ignore_errors=True)
    window, mean_sync = _run_window(url)
    return {
        "workers": workers,
        "concurrency": concurrency,
        "accounts": accounts,
        "seconds": round(elapsed, 1),  # from the workers' start, their start-up included
        "sync_window_s": round(window, 1),  # first sync's start to last sync's end
        "syncs_per_minute": round(accounts / window * 60, 1),
        "mean_sync_s": round(mean_sync, 2),
        "syncs_at_once": round(accounts * mean_sync / window, 1),
        "failed_runs": _failed_runs(url),
        "cpu_workers_s": round(worker_cpu, 1),
        "cpu_simulator_s": round(sim_cpu, 1),
        "cpu_postgres_s": round(pg_cpu, 1),
        "machine_busy": round((worker_cpu + sim_cpu + pg_cpu) / elapsed / cores, 2),
        "peak_rss_mb_per_worker": rss,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=200)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument(
        "--report-delay",
        type=float,
        default=0.5,
        help="how long Amazon takes to process a report, in simulated seconds (the simulator's "
        "clock runs 20 times as fast as the wall clock)",
    )
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    server = PostgresServer.start()
    results = []
    try:
        with Simulator(
            orders=5, seed=18, marketplaces=("DE",), report_delay_s=args.report_delay, time_scale=20
        ) as sim:
            for workers in args.workers:
                figures = measure(server, sim, args.accounts, workers, args.concurrency)
                results.append(figures)
                print(json.dumps(figures), flush=True)
    finally:
        server.stop()
    print()
    print(
        " workers  syncs/min  sync s  at once  CPU workers/sim/pg (s)  machine busy"
        "  peak RSS/worker"
    )
    for r in results:
        cpu = f"{r['cpu_workers_s']}/{r['cpu_simulator_s']}/{r['cpu_postgres_s']}"
        rss = ", ".join(f"{mb:.0f}" for mb in r["peak_rss_mb_per_worker"])
        print(
            f" {r['workers']:>7}  {r['syncs_per_minute']:>9}  {r['mean_sync_s']:>6}  "
            f"{r['syncs_at_once']:>7}  {cpu:>22}  {r['machine_busy']:>12.0%}  {rss} MB"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
