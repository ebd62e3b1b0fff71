"""Reliability matrix (issues 19, 24): faults, kills, bad inputs, shipments, workers and the
console, each part counted survived of tried.

    .venv/bin/python benchmarks/reliability.py               # every part, about 15 minutes
    .venv/bin/python benchmarks/reliability.py --only faults # or kills, inputs, shipping,
                                                             # workers, console
    .venv/bin/python benchmarks/reliability.py --kills 25 --json out.json

Loopback only: the SP-API simulator and reference hosts in temporary folders (workers: a
PostgreSQL server of their own, started from Debian's binaries as the tests do; without them
the part is skipped and says so). The judge is the simulator's truth: the host's open orders
are exactly the seller's open orders at Amazon (seller-fulfilled, unshipped or partly shipped;
``simulator.open_for_seller``), every order stored once with Amazon's status.

- faults: every simulator fault (``simulator.faults.FAULT_PARAMS``), once and persistent (until
  cleared), switched on after a clean first sync while Amazon moves on (orders added, shipped,
  cancelled); the fault cleared, two hours later one more sync. Survived: converged.
- kills: a sync in another process (the reference host, a slow address hook so the import
  takes seconds) SIGKILLed after a random delay while new orders come in; then a sync in
  this process, at once (the dead holder's lease is taken over). Survived: that sync is ok
  and the host converged.
- inputs: report files built to break the reader (the attack's bad inputs and more) through
  ``hyreka-amazon import-report --account shop --json`` into a store. Survived: an exit code of
  0 (read, bad rows reported) or 2 (refused with a clear error), no traceback, the poison
  cell text never printed on stderr nor in an error reason, and the file's good orders (each
  case names them) in the store.
- shipping: confirmShipment accepted by Amazon while the seller does not hear so (the answer
  lost on every try of the client; a 500 after acceptance; ``ship`` SIGKILLed after
  acceptance, before the answer), for a package of all items and of one unit of an item the
  order has two of; then a sync (it sends what is pending) and the seller running the same
  ``ship`` again. Survived: Amazon has exactly one package with the tracking number, no item
  counted twice, and the host shows that package confirmed.
- workers: ``hyreka-amazon worker`` SIGKILLed while it runs four accounts' syncs, a second
  worker idle (twice; survived: each account's next sync starts within three heartbeats plus
  one dispatch period and all converge), and PostgreSQL stopped for three seconds under a
  worker with syncs in flight (survived: it runs on, syncs a new account, all converge, exit
  0 on SIGTERM, no traceback).
- console: the seller console (``web``, a slow address hook) SIGKILLed after a random delay
  while the sync its "Synchronisieren" started runs; then a sync in this process. Survived:
  that sync is ok and the host converged.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import io
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from hyreka_plugin_amazon.connector import CONNECTOR_ID
from hyreka_plugin_amazon.contract import Account, OrderStatus
from hyreka_plugin_amazon.refhost.cli import main as cli
from hyreka_plugin_amazon.refhost.host import ReferenceHost, SyncHost
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.simulator import Simulator, open_for_seller
from hyreka_plugin_amazon.simulator.faults import FAULT_PARAMS
from hyreka_plugin_amazon.spapi.client import SpApiClient
from hyreka_plugin_amazon.spapi.regions import marketplace
from hyreka_plugin_amazon.sync import sync_account

MARKETS = ("DE", "FR", "IT", "ES", "UK")
START = datetime(2026, 8, 3, 12, 0, tzinfo=UTC)
POISON = "POISON-7f3a"  # marks the content of bad cells: never to be printed


def account_of(sim: Simulator, **settings: str) -> Account:
    creds = sim.credentials
    return Account(
        id="sim",
        name="sim",
        connector=CONNECTOR_ID,
        region="eu",
        marketplace_ids=tuple(marketplace(m).id for m in MARKETS),
        client_id=creds.client_id,
        client_secret=Secret(creds.client_secret),
        refresh_token=Secret(creds.refresh_token),
        endpoint=sim.url,
        token_url=sim.token_url,
        settings=dict(settings),
    )


def converged(sim: Simulator, host: ReferenceHost) -> bool:
    truth = {o["amazon_order_id"]: o for o in sim.ground_truth()}
    stored = host.store.list_orders(account_id="sim")
    if len(stored) != len({o.amazon_order_id for o in stored}):
        return False
    if any(o.status.value != truth[o.amazon_order_id]["status"] for o in stored):
        return False
    held = {o.amazon_order_id: o.as_dict() for o in stored if o.status is OrderStatus.OPEN}
    return held == {k: o for k, o in truth.items() if open_for_seller(o)}


# ---------------------------------------------------------------------------------- faults


class SimClock:
    """The client's sleep and monotonic on the simulator's stopped clock."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.origin = sim.clock.now()

    def monotonic(self) -> float:
        return (self.sim.clock.now() - self.origin).total_seconds()

    def sleep(self, seconds: float) -> None:
        self.sim.clock.advance(max(0.0, seconds))


def clock_sync(sim: Simulator, host: ReferenceHost) -> bool:
    account = host.store.get_account("sim")
    services = SyncHost(host.store, host.plugins)
    clock = SimClock(sim)
    client = SpApiClient.for_account(
        account, sleep=clock.sleep, monotonic=clock.monotonic, timeout=(2.0, 0.25)
    )
    result = sync_account(
        account,
        services,
        map_address=lambda row, kind: services.map_address(row=row, kind=kind, account=account),
        client=client,
        now=sim.clock.now,
    )
    return result.ok


def fault_run(name: str, persistent: bool, folder: Path) -> bool:
    settings = {"poll_interval": "5", "max_poll_interval": "30", "report_deadline": "900"}
    env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    with (
        Simulator(orders=50, seed=11, time_scale=0, start_time=START, report_delay_s=2) as sim,
        ReferenceHost(folder, env=env) as host,
    ):
        host.store.add_account(account_of(sim, **settings))
        if not clock_sync(sim, host):
            return False
        sim.clock.advance(3700)
        known_open = sorted(o["amazon_order_id"] for o in sim.ground_truth() if open_for_seller(o))
        sim.ship_order(known_open[0])
        sim.cancel_order(known_open[1])
        for market in ("DE", "FR", "UK", "DE"):
            sim.add_order(marketplace=market)
        spec: dict[str, Any] = {"name": name}
        if persistent:
            spec["rate"] = 1.0
        sim.faults.add(spec)
        clock_sync(sim, host)  # whatever it says
        sim.faults.clear()
        sim.clock.advance(7200)
        clock_sync(sim, host)
        return converged(sim, host)


def faults(tmp: Path, report: Callable[[str], None]) -> tuple[int, int]:
    survived = tried = 0
    for name in sorted(FAULT_PARAMS):
        for persistent in (False, True):
            tried += 1
            label = f"{name}-{'persistent' if persistent else 'once'}"
            try:
                ok = fault_run(name, persistent, tmp / f"fault-{tried}")
            except Exception as exc:  # a crash is a fault not survived
                ok = False
                label += f" ({type(exc).__name__})"
            survived += ok
            report(f"  {'ok  ' if ok else 'FAIL'} {label}")
    return survived, tried


# ---------------------------------------------------------------------------------- kills

# The started process's own plugin makes each address take a millisecond: a sync of a few
# hundred orders takes seconds, so a kill lands mid-sync.
SLOW_ADDRESSES = """
import os, sys, time
from pathlib import Path
from hyreka_plugin_amazon.hookspecs import hookimpl
from hyreka_plugin_amazon.refhost.host import ReferenceHost

class SlowAddresses:
    @hookimpl(tryfirst=True)
    def map_address(self, row, kind, account):
        time.sleep(0.001)
        return None
"""
SLOW_HOST = (
    SLOW_ADDRESSES
    + """
with ReferenceHost(Path(sys.argv[1]), env=os.environ) as host:
    host.plugins.pm.register(SlowAddresses())
    print("started", flush=True)
    host.sync(sys.argv[2])
"""
)

# Kill one process (given the host and the delay); whether it was mid-sync when killed.
Killer = Callable[[ReferenceHost, dict[str, str], float], bool]


def kill_rounds(
    tmp: Path,
    count: int,
    report: Callable[[str], None],
    *,
    rng: random.Random,
    delays: tuple[float, float],
    kill: Killer,
    name: str,
    label: str,
    idle: str,
) -> tuple[int, int]:
    """``count`` rounds against one host: 300 new orders, ``kill`` after a random delay, then
    a sync in this process. Survived: that sync is ok and the host converged."""
    env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    survived = midway = 0
    with (
        Simulator(orders=50, seed=11, time_scale=0, report_delay_s=0) as sim,
        ReferenceHost(tmp / name, env=env) as host,
    ):
        host.store.add_account(account_of(sim, poll_interval="0.05", max_poll_interval="0.2"))
        if not host.sync("sim").ok:
            return 0, count
        for n in range(count):
            sim.clock.advance(600)  # the stopped simulator clock: refill Amazon's buckets
            for i in range(300):
                sim.add_order(marketplace=MARKETS[i % len(MARKETS)])
            delay = rng.uniform(*delays)
            mid = kill(host, env, delay)
            result = host.sync("sim")
            ok = result.ok and converged(sim, host)
            survived += ok
            midway += mid
            where = "mid-sync" if mid else idle
            report(f"  {'ok  ' if ok else 'FAIL'} {label} {n + 1} after {delay:.2f} s ({where})")
    report(f"  {midway} of {count} killed mid-sync")
    return survived, count


def kills(tmp: Path, count: int, report: Callable[[str], None], seed: int = 19) -> tuple[int, int]:
    """A sync in another process SIGKILLed after 0-2.5 s."""

    def kill(host: ReferenceHost, env: dict[str, str], delay: float) -> bool:
        with subprocess.Popen(
            [sys.executable, "-c", SLOW_HOST, str(host.data_dir), "sim"],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        ) as syncing:
            assert syncing.stdout is not None
            syncing.stdout.readline()
            time.sleep(delay)
            mid = syncing.poll() is None
            syncing.send_signal(signal.SIGKILL)
            syncing.wait(60)
        return mid

    rng = random.Random(seed)
    return kill_rounds(
        tmp, count, report, rng=rng, delays=(0.0, 2.5), kill=kill, name="kills",
        label="kill", idle="after it ended",
    )  # fmt: skip


# ---------------------------------------------------------------------------------- shipping

SCRIPT = shutil.which("hyreka-amazon", path=str(Path(sys.executable).parent))
SHIPPING_CASES = ("lost answer", "500 after acceptance", "kill after acceptance")


def shipping_run(case: str, with_items: bool, folder: Path) -> str | None:
    """One confirmShipment that Amazon accepts while the seller does not hear so; then the
    next sync (it sends what is pending) and the seller running the same ``ship`` again.
    None when Amazon ends with exactly one package carrying the tracking number, no item
    counted twice, and the host shows that package confirmed; else what went wrong.
    ``with_items``: the package holds one unit of the order (``--item ID=1``; the order has
    two or more), else all of them."""
    assert SCRIPT is not None
    key = Fernet.generate_key().decode()
    env = {**os.environ, "HYREKA_AMAZON_KEY": key, "HYREKA_AMAZON_DATA": str(folder)}
    env.pop("HYREKA_AMAZON_DATABASE", None)
    with Simulator(orders=80, seed=11, time_scale=0, report_delay_s=0) as sim:
        with ReferenceHost(folder, env=env) as host:
            host.store.add_account(account_of(sim, poll_interval="0.05", max_poll_interval="0.2"))
            if not host.sync("sim").ok:
                return "the first sync failed"
            order = next(  # an item of two units or more: a package may hold one
                o
                for o in sim.ground_truth()
                if open_for_seller(o) and max(line["quantity"] for line in o["lines"]) >= 2
            )
        order_id, tracking = order["amazon_order_id"], "00340434161094042557"
        command = [SCRIPT, "--lang", "en", "ship", order_id, "--carrier", "DHL"]
        command += ["--tracking", tracking]
        if with_items:  # one unit of an item the order has two of or more
            item = max(order["lines"], key=lambda line: line["quantity"])["order_item_id"]
            command += ["--item", f"{item}=1"]
        # lost on every try of the client (it sends a confirmation again on a lost answer)
        spec: dict[str, Any] = {"name": "lost_response", "operation": "confirmShipment"}
        spec["count"] = 20
        if case == "500 after acceptance":
            spec["status"] = 500
        if case == "kill after acceptance":
            spec |= {"delay": 10.0, "count": 1}  # the answer waits: ship is killed meanwhile
        sim.faults.add(spec)
        if case == "kill after acceptance":
            with subprocess.Popen(
                command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            ) as shipping:
                deadline = time.monotonic() + 60
                while not _packages(sim, order_id) and time.monotonic() < deadline:
                    time.sleep(0.02)
                shipping.send_signal(signal.SIGKILL)
                shipping.wait(60)
            if not _packages(sim, order_id):
                return "Amazon never got the confirmation"
        else:
            subprocess.run(command, env=env, capture_output=True, timeout=120, check=False)
        sim.faults.clear()
        with ReferenceHost(folder, env=env) as host:
            host.sync("sim")  # sends what is pending first
        subprocess.run(command, env=env, capture_output=True, timeout=120, check=False)
        packages = _packages(sim, order_id)
        with ReferenceHost(folder, env=env) as host:
            kept = [s for s in host.store.list_shipments("sim", order_id) if s.state != "refused"]
    shipped: dict[str, int] = {}
    for package in packages:
        for item in package["items"]:
            shipped[item["order_item_id"]] = (
                shipped.get(item["order_item_id"], 0) + item["quantity"]
            )
    ordered = {line["order_item_id"]: line["quantity"] for line in order["lines"]}
    if len(packages) != 1 or packages[0]["tracking_number"] != tracking:
        return f"Amazon has {len(packages)} packages"
    if any(shipped[item] > ordered.get(item, 0) for item in shipped):
        return "an item counted twice at Amazon"
    if [(s.state, s.shipment.tracking_number) for s in kept] != [("confirmed", tracking)]:
        return "the host shows " + ", ".join(f"{s.state} #{s.shipment.package_id}" for s in kept)
    return None


def _packages(sim: Simulator, order_id: str) -> list[dict[str, Any]]:
    order = next(o for o in sim.ground_truth(packages=True) if o["amazon_order_id"] == order_id)
    packages: list[dict[str, Any]] = order["packages"]
    return packages


def shipping(tmp: Path, report: Callable[[str], None]) -> tuple[int, int]:
    survived = tried = 0
    for case in SHIPPING_CASES:
        for with_items in (False, True):
            tried += 1
            try:
                failure = shipping_run(case, with_items, tmp / f"shipping-{tried}")
            except Exception as exc:
                failure = f"crashed: {type(exc).__name__}"
            survived += failure is None
            label = f"confirmShipment, {case}, {'one unit' if with_items else 'all items'}"
            report(f"  {'ok  ' if failure is None else 'FAIL'} {label}"
                   + (f": {failure}" if failure else ""))  # fmt: skip
    return survived, tried


# ---------------------------------------------------------------------------------- workers

HEARTBEAT_S = 2
DISPATCH_S = 10
PROMISED_S = 3 * HEARTBEAT_S + DISPATCH_S  # issue 24: three heartbeats plus one dispatch


def workers(tmp: Path, report: Callable[[str], None]) -> tuple[int, int]:
    """``hyreka-amazon worker`` on a PostgreSQL of its own (Debian's binaries, as the tests
    start it): twice a worker SIGKILLed while it runs all four accounts' syncs, a second one
    idle (survived: every account's next sync starts within 3 heartbeats + 1 dispatch period
    of the kill, and all converge); once PostgreSQL stopped for three seconds under a worker
    with syncs in flight (survived: the worker runs on, syncs a new account, every account
    converges, it stops with exit 0 and printed no traceback)."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from helpers.postgres import PostgresServer, PostgresUnavailable  # the tests' launcher

    try:
        server = PostgresServer.start()
    except PostgresUnavailable as exc:
        report(f"  skipped: {exc}")
        return 0, 0
    survived = tried = 0
    try:
        for n in range(2):
            tried += 1
            folder = tmp / f"worker-kill-{n}"
            failure = _guarded(lambda: worker_kill_run(server.new_database(), folder))  # noqa: B023
            survived += failure is None
            report(f"  {'ok  ' if failure is None else 'FAIL'} worker SIGKILLed mid-sync"
                   + (f": {failure}" if failure else ""))  # fmt: skip
        tried += 1
        failure = _guarded(lambda: postgres_restart_run(server, tmp / "pg-restart"))
        survived += failure is None
        report(f"  {'ok  ' if failure is None else 'FAIL'} PostgreSQL stopped and started"
               + (f": {failure}" if failure else ""))  # fmt: skip
    finally:
        server.stop()
    return survived, tried


def _guarded(run: Callable[[], str | None]) -> str | None:
    try:
        return run()
    except Exception as exc:
        return f"crashed: {type(exc).__name__}: {str(exc)[:200]}"


class Process:
    """A ``hyreka-amazon`` process whose output is collected as it comes."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        assert SCRIPT is not None
        self.process = subprocess.Popen(
            [SCRIPT, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.out: list[str] = []
        self.err: list[str] = []
        self.readers = [
            threading.Thread(target=_collect, args=(self.process.stdout, self.out), daemon=True),
            threading.Thread(target=_collect, args=(self.process.stderr, self.err), daemon=True),
        ]
        for reader in self.readers:
            reader.start()

    def said(self, text: str) -> bool:
        return any(text in line for line in self.err)

    def end(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(timeout=120)
        for reader in self.readers:
            reader.join(timeout=10)
        return code


def _collect(pipe: Any, into: list[str]) -> None:
    for line in pipe:
        into.append(line)


def _until(check: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _runs(url: str) -> list[tuple[str, datetime, bool, str | None]]:
    """(account, started, finished, code) of every sync run."""
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT account_id, started_at, finished_at, code FROM sync_runs")
        found = rows.fetchall()
    return [
        (str(a), datetime.fromisoformat(str(s)).astimezone(UTC), f is not None, c)
        for a, s, f, c in found
    ]


def _sellers_converged(host: ReferenceHost, sim: Simulator, names: dict[str, str]) -> bool:
    """Every account's open orders are its seller's open orders (``names``: account ->
    seller id)."""
    for name, seller_id in names.items():
        truth = {o["amazon_order_id"] for o in sim.ground_truth(seller_id) if open_for_seller(o)}
        mine = {
            o.amazon_order_id
            for o in host.store.list_orders(account_id=name)
            if o.status is OrderStatus.OPEN
        }
        if mine != truth:
            return False
    return True


def _worker_env(url: str, folder: Path) -> dict[str, str]:
    return {
        **os.environ,
        "HYREKA_AMAZON_KEY": Fernet.generate_key().decode(),
        "HYREKA_AMAZON_DATABASE": url,
        "HYREKA_AMAZON_DATA": str(folder),
    }


def _worker_args(name: str) -> list[str]:
    return ["--lang", "en", "worker", "--name", name, "--concurrency", "4",
            "--heartbeat", str(HEARTBEAT_S), "--dispatch-every", str(DISPATCH_S)]  # fmt: skip


def _seller_accounts(
    sim: Simulator, host: ReferenceHost, count: int, prefix: str = "shop"
) -> dict[str, str]:
    names = {}
    for n in range(count):
        seller = sim.add_seller(marketplaces=["DE"], orders=6)
        name = f"{prefix}{n}"
        creds = seller.credentials
        host.store.add_account(
            dataclasses.replace(
                account_of(sim, poll_interval="0.05", max_poll_interval="0.2", fba_orders="false"),
                id=name,
                name=name,
                marketplace_ids=tuple(m.id for m in seller.marketplaces),
                client_id=creds.client_id,
                client_secret=Secret(creds.client_secret),
                refresh_token=Secret(creds.refresh_token),
            )
        )
        names[name] = seller.seller_id
    return names


def worker_kill_run(url: str, folder: Path) -> str | None:
    env = _worker_env(url, folder)
    with (  # a report takes Amazon 10 s: the kill comes in the middle of the syncs
        Simulator(
            orders=3, seed=24, marketplaces=("DE",), report_delay_s=200, time_scale=20
        ) as sim,
        ReferenceHost(folder, env=env) as host,
    ):
        names = _seller_accounts(sim, host, 4)
        first = Process(_worker_args("worker-a"), env)
        second: Process | None = None
        try:
            if not _until(lambda: sum(not r[2] for r in _runs(url)) == len(names), 60):
                return "worker A never ran all syncs at once"
            second = Process(_worker_args("worker-b"), env)
            if not _until(lambda: second is not None and second.said("worker: "), 30):
                return "worker B did not start"
            time.sleep(HEARTBEAT_S)  # B has signed in and beats
            if not all(not r[2] for r in _runs(url)):
                return "A's syncs ended before the kill (the machine is too slow for this run)"
            first.process.send_signal(signal.SIGKILL)  # unreaped: its pid still answers
            killed = datetime.now(UTC)
            again = lambda: {r[0] for r in _runs(url) if r[1] > killed} == set(names)  # noqa: E731
            if not _until(again, PROMISED_S):
                late = sorted(set(names) - {r[0] for r in _runs(url) if r[1] > killed})
                return f"not synced again within {PROMISED_S} s: {', '.join(late)}"
            done = lambda: _sellers_converged(host, sim, names)  # noqa: E731
            if not _until(done, 120):
                return "the accounts did not converge"
        finally:
            first.end(signal.SIGKILL)
            stopped = second.end() if second is not None else 0
    return None if stopped == 0 else f"worker B ended with {stopped}"


def postgres_restart_run(server: Any, folder: Path) -> str | None:
    url = server.new_database()
    env = _worker_env(url, folder)
    with (
        Simulator(orders=3, seed=24, marketplaces=("DE",), report_delay_s=80, time_scale=20) as sim,
        ReferenceHost(folder, env=env) as host,
    ):
        names = _seller_accounts(sim, host, 2)
        return _ride_out(server, sim, url, env, folder, names)


def _ride_out(
    server: Any, sim: Simulator, url: str, env: dict[str, str], folder: Path, names: dict[str, str]
) -> str | None:
    worker = Process(_worker_args("worker-r"), env)
    try:
        if not _until(lambda: any(not r[2] for r in _runs(url)), 60):
            return "no sync ran before the outage"
        server.stop_only()
        outage = _until(lambda: worker.said("database unreachable"), 60)
        time.sleep(3)
        server.start_again()
        if not outage or worker.process.poll() is not None:
            return "the worker did not notice the outage or ended"
        if not _until(lambda: worker.said("database reachable again"), 90):
            return "the worker did not reconnect"
        with ReferenceHost(folder, env=env) as host:
            names |= _seller_accounts(sim, host, 1, prefix="late")
            if not _until(lambda: _sellers_converged(host, sim, names), 120):
                return "the accounts did not converge after the outage"
        if worker.process.poll() is not None:
            return "the worker ended"
    finally:
        code = worker.end()
    if code != 0:
        return f"the worker ended with {code}"
    if any("Traceback" in line for line in worker.err):
        return "a traceback on stderr"
    return None


# ---------------------------------------------------------------------------------- console

# The console's "Synchronisieren" waits five minutes after a finished sync (sync pacing,
# issue 27); each round syncs just before, so the console's process leaves the pacing out:
# this part kills a console while the sync its button started runs.
SLOW_CONSOLE = (
    SLOW_ADDRESSES
    + """
from hyreka_plugin_amazon.refhost.services import runs
from hyreka_plugin_amazon.refhost.web.console import Console
from hyreka_plugin_amazon.refhost.web.serving import serve

runs.pacing = lambda host, name, now=None: None

with ReferenceHost(Path(sys.argv[1]), env=os.environ) as host:
    host.plugins.pm.register(SlowAddresses())
    running = serve(Console(host, lang="en"), port=0)
    print(f"WEB_URL={running.url}", flush=True)
    running.server.serve_forever()
"""
)


def console(
    tmp: Path, count: int, report: Callable[[str], None], seed: int = 24
) -> tuple[int, int]:
    """The seller console (``hyreka-amazon web``, a slow address hook so a sync takes
    seconds) SIGKILLed while the sync its "Synchronisieren" started runs; then a sync in this
    process. Survived: that sync is ok and the host converged."""
    import requests

    def kill(host: ReferenceHost, env: dict[str, str], delay: float) -> bool:
        with subprocess.Popen(
            [sys.executable, "-c", SLOW_CONSOLE, str(host.data_dir)],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        ) as serving:
            assert serving.stdout is not None
            url = serving.stdout.readline().strip().removeprefix("WEB_URL=")
            session = requests.Session()
            session.trust_env = False
            base = url.split("/?", 1)[0]
            session.get(url, timeout=10)  # the token becomes a cookie
            page = session.get(f"{base}/c/{CONNECTOR_ID}/orders?account=sim", timeout=10)
            token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            session.post(
                f"{base}/c/{CONNECTOR_ID}/orders/sim/sync",
                data={"csrf_token": token},
                timeout=10,
                allow_redirects=False,
            )
            time.sleep(delay)
            runs = host.store.list_runs("sim", limit=1)
            mid = bool(runs) and runs[0].finished_at is None
            serving.send_signal(signal.SIGKILL)
            serving.wait(60)
        return mid

    rng = random.Random(seed)
    return kill_rounds(
        tmp, count, report, rng=rng, delays=(0.1, 1.2), kill=kill, name="console",
        label="console kill", idle="not syncing",
    )  # fmt: skip


# ---------------------------------------------------------------------------------- inputs

HEADER = (
    "order-id\torder-item-id\tpurchase-date\tpayments-date\tbuyer-email\tbuyer-name\tsku\t"
    "product-name\tquantity-purchased\tcurrency\titem-price\titem-tax\tshipping-price\t"
    "shipping-tax\trecipient-name\tship-address-1\tship-city\tship-postal-code\tship-country\t"
    "bill-address-1\tbill-city\tbill-postal-code\tbill-country"
)


def row(order: str = "302-1000001-0000001", item: str = "1", **cells: str) -> str:
    values = {
        "order-id": order,
        "order-item-id": item,
        "purchase-date": "2026-11-20T09:15:02+00:00",
        "payments-date": "2026-11-20T09:45:10+00:00",
        "buyer-email": "k3x9q2@marketplace.amazon.de",
        "buyer-name": "Jürgen Groß",
        "sku": "TASSE",
        "product-name": "Kaffeetasse „Grüße aus Köln“",
        "quantity-purchased": "1",
        "currency": "EUR",
        "item-price": "19.90",
        "item-tax": "3.18",
        "shipping-price": "4.90",
        "shipping-tax": "0.78",
        "recipient-name": "Jürgen Groß",
        "ship-address-1": "Hauptstraße 5",
        "ship-city": "Köln",
        "ship-postal-code": "50667",
        "ship-country": "DE",
        "bill-address-1": "Straße des 17. Juni 3",
        "bill-city": "Berlin",
        "bill-postal-code": "10623",
        "bill-country": "DE",
    } | cells
    return "\t".join(values[name] for name in HEADER.split("\t"))


FIRST = "302-1000001-0000001"  # row()'s order
SECOND = "302-2000002-0000002"  # a second order of the same file


def bad_inputs() -> dict[str, tuple[bytes, frozenset[str]]]:
    """name -> (file content, its good orders): every file must be read (bad rows reported)
    or refused clearly, and its good orders imported whatever else the file holds. A good
    order is one whose rows are all sound; an order with one broken or conflicting row is
    not (it is reported, never imported half)."""
    good = row()
    none: frozenset[str] = frozenset()
    first = frozenset({FIRST})

    def text(*lines: str) -> bytes:
        return ("\n".join(lines) + "\n").encode("utf-8")

    wide = "\t".join(["order-id", *(f"c{i}" for i in range(40_000))])
    return {
        "empty file": (b"", none),
        "header only": (text(HEADER), none),
        "binary garbage": (os.urandom(4096), none),
        "not a report": (text("sku\tprice", "A\t1"), none),
        "duplicate header column": (text(HEADER + "\tsku", good), none),
        "40,000 header cells": (text(wide), none),
        "100,000 header cells": (text("\t".join(["order-id"] + ["x"] * 100_000)), none),
        "conflicting duplicate item": (text(HEADER, good, row(**{"item-price": "99.99"})), none),
        "identical duplicate item": (text(HEADER, good, good), first),
        "NUL bytes in fields": (text(HEADER, row(**{"product-name": "Kaffee\x00tasse"})), first),
        "10 MB product name": (
            text(HEADER, row(**{"product-name": POISON + "A" * 10_000_000}), row(order=SECOND)),
            frozenset({SECOND}),
        ),
        "10 MB city": (text(HEADER, row(**{"bill-city": POISON + "B" * 10_000_000})), none),
        "1 MB line": (text(HEADER, row(**{"sku": POISON + "C" * 1_000_000})), none),
        "formula cells": (
            text(HEADER, row(**{"product-name": '=HYPERLINK("http://x","y")'})),
            first,
        ),
        "extra tab": (text(HEADER, good + "\t" + POISON, row(order=SECOND)), frozenset({SECOND})),
        "ragged short row": (text(HEADER, "\t".join(good.split("\t")[:5])), none),
        "missing order id": (text(HEADER, row(order=""), row(order=SECOND)), frozenset({SECOND})),
        "decimal comma": (text(HEADER, row(**{"item-price": "19,90"})), none),
        "German date": (text(HEADER, row(**{"purchase-date": "20.11.2026 " + POISON})), none),
        "negative quantity": (text(HEADER, row(**{"quantity-purchased": "-3"})), none),
        "mixed currencies": (text(HEADER, good, row(item="2", currency="GBP")), none),
        "rows not adjacent": (
            text(HEADER, good, row(order=SECOND), row(item="3")),
            frozenset({FIRST, SECOND}),
        ),
        "CRLF and BOM": (("\ufeff" + HEADER + "\r\n" + good + "\r\n").encode("utf-8"), first),
        "cp1252 without charset": ((HEADER + "\n" + good + "\n").encode("cp1252"), first),
        "UTF-16": ((HEADER + "\n" + good + "\n").encode("utf-16"), first),
        "huge amount": (
            text(HEADER, row(**{"item-price": "9" * 400}), row(order=SECOND)),
            frozenset({SECOND}),
        ),
        "NaN amount": (text(HEADER, row(**{"item-price": "NaN"})), none),
        "100,000 rows of one order": (
            text(HEADER, *(row(item=str(n)) for n in range(100_000))),
            first,
        ),
    }


def input_run(name: str, content: bytes, good: frozenset[str], folder: Path) -> str | None:
    """None when the file was survived; else what went wrong."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.txt"
    path.write_bytes(content)
    key = Fernet.generate_key().decode()
    with ReferenceHost(folder / "data", env={"HYREKA_AMAZON_KEY": key}) as host:
        host.store.add_account(dataclasses.replace(READER_ACCOUNT, id="shop", name="shop"))
    out, err = io.StringIO(), io.StringIO()
    argv = ["import-report", str(path), "--account", "shop", "--json"]
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        environment(HYREKA_AMAZON_KEY=key),
    ):
        try:
            code = cli.main([*argv, "--data", str(folder / "data")])
        except BaseException as exc:  # an exception out of main is a traceback for the seller
            err.write(f"Traceback: {type(exc).__name__}")
            code = -1
    if code not in (0, 2) or "Traceback" in err.getvalue():
        return f"exit {code}"
    if POISON in err.getvalue():
        return "bad cell text printed"
    if code == 0:
        reasons = [e["reason"] for e in json.loads(out.getvalue())["errors"]]
        if any(POISON in reason for reason in reasons):
            return "bad cell text in an error reason"
    with ReferenceHost(folder / "data", env={"HYREKA_AMAZON_KEY": key}) as host:
        stored = {o.amazon_order_id for o in host.store.list_orders(account_id="shop")}
    if not good <= stored:
        return f"exit {code}, good orders not imported: {', '.join(sorted(good - stored))}"
    return None


READER_ACCOUNT = Account(
    id="shop",
    name="shop",
    connector=CONNECTOR_ID,
    region="eu",
    marketplace_ids=(marketplace("DE").id,),
    client_id="amzn1.application-oa2-client.reliability",
    client_secret=Secret("not-used"),
    refresh_token=Secret("not-used"),
)


@contextlib.contextmanager
def environment(**values: str) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def inputs(tmp: Path, report: Callable[[str], None]) -> tuple[int, int]:
    survived = tried = 0
    for name, (content, good) in bad_inputs().items():
        tried += 1
        failure = input_run(name, content, good, tmp / f"input-{tried}")
        survived += failure is None
        report(
            f"  {'ok  ' if failure is None else 'FAIL'} {name}"
            + (f": {failure}" if failure else "")
        )
    return survived, tried


# ---------------------------------------------------------------------------------- main


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """The connector's and host's log lines stay out of the matrix's output."""
    import logging

    logging.disable(logging.CRITICAL)
    try:
        yield
    finally:
        logging.disable(logging.NOTSET)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", choices=("faults", "kills", "inputs", "shipping", "workers", "console")
    )
    parser.add_argument("--kills", type=int, default=10, help="SIGKILLs of a sync (default 10)")
    parser.add_argument(
        "--console-kills", type=int, default=5, help="SIGKILLs of the console (default 5)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    parser.add_argument("--verbose", action="store_true", help="one line per run")
    args = parser.parse_args(argv)
    report = print if args.verbose else (lambda line: None)
    figures: dict[str, dict[str, int]] = {}
    os.environ.pop("HYREKA_AMAZON_KEY", None)
    with tempfile.TemporaryDirectory(prefix="hyreka-reliability-") as folder, quiet():
        tmp = Path(folder)
        runs: dict[str, Callable[[], tuple[int, int]]] = {
            "faults": lambda: faults(tmp, report),
            "kills": lambda: kills(tmp, args.kills, report),
            "inputs": lambda: inputs(tmp, report),
            "shipping": lambda: shipping(tmp, report),
            "console": lambda: console(tmp, args.console_kills, report),
            "workers": lambda: workers(tmp, report),
        }
        for name, run in runs.items():
            if args.only and name != args.only:
                continue
            started = time.monotonic()
            survived, tried = run()
            took = time.monotonic() - started
            if not tried:
                print(f"{name}: skipped ({took:.0f} s)", flush=True)
                continue
            figures[name] = {"survived": survived, "tried": tried}
            print(f"{name}: {survived} of {tried} survived ({took:.0f} s)", flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0 if all(f["survived"] == f["tried"] for f in figures.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
