"""Reliability matrix (issue 19): faults, kills and bad inputs, each counted survived of tried.

    .venv/bin/python benchmarks/reliability.py               # all three, a few minutes
    .venv/bin/python benchmarks/reliability.py --only faults # or kills, inputs
    .venv/bin/python benchmarks/reliability.py --kills 25 --json out.json

Loopback only: the SP-API simulator and reference hosts in temporary folders.

- faults: every simulator fault (``simulator.faults.FAULT_PARAMS``), once and persistent (until
  cleared), switched on after a clean first sync while Amazon moves on (orders added, shipped,
  cancelled); the fault cleared, two hours later one more sync. Survived: the host's open
  orders are exactly the simulator's, every order stored once with Amazon's status.
- kills: a sync in another process (the reference host, a slow address hook so the import
  takes seconds) SIGKILLed after a random delay while new orders come in; then a sync in
  this process, at once (the dead holder's lease is taken over). Survived: that sync is ok
  and the host converged as above.
- inputs: report files built to break the reader (the attack's bad inputs and more) through
  ``hyreka-amazon import-report --dry-run --json``. Survived: an exit code of 0 (read, bad
  rows reported) or 2 (refused with a clear error), no traceback, and the poison cell text
  never printed on stderr nor in an error reason.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
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
from hyreka_plugin_amazon.simulator import Simulator
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
    return held == {k: o for k, o in truth.items() if o["status"] == "open"}


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
        known_open = sorted(
            o["amazon_order_id"] for o in sim.ground_truth() if o["status"] == "open"
        )
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

SLOW_HOST = """
import os, sys, time
from pathlib import Path
from hyreka_plugin_amazon.hookspecs import hookimpl
from hyreka_plugin_amazon.refhost.host import ReferenceHost

class SlowAddresses:
    @hookimpl(tryfirst=True)
    def map_address(self, row, kind, account):
        time.sleep(0.001)
        return None

with ReferenceHost(Path(sys.argv[1]), env=os.environ) as host:
    host.plugins.pm.register(SlowAddresses())
    print("started", flush=True)
    host.sync(sys.argv[2])
"""


def kills(tmp: Path, count: int, report: Callable[[str], None], seed: int = 19) -> tuple[int, int]:
    rng = random.Random(seed)
    env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    survived = midway = 0
    with (
        Simulator(orders=50, seed=11, time_scale=0, report_delay_s=0) as sim,
        ReferenceHost(tmp / "kills", env=env) as host,
    ):
        host.store.add_account(account_of(sim, poll_interval="0.05", max_poll_interval="0.2"))
        if not host.sync("sim").ok:
            return 0, count
        for n in range(count):
            sim.clock.advance(600)  # the stopped simulator clock: refill Amazon's buckets
            for i in range(300):
                sim.add_order(marketplace=MARKETS[i % len(MARKETS)])
            delay = rng.uniform(0.0, 2.5)
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
            result = host.sync("sim")
            ok = result.ok and converged(sim, host)
            survived += ok
            midway += mid
            where = "mid-sync" if mid else "after it ended"
            report(f"  {'ok  ' if ok else 'FAIL'} kill {n + 1} after {delay:.2f} s ({where})")
    report(f"  {midway} of {count} killed mid-sync")
    return survived, count


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


def bad_inputs() -> dict[str, bytes]:
    """name -> file content; every one must be read (bad rows reported) or refused clearly."""
    good = row()

    def text(*lines: str) -> bytes:
        return ("\n".join(lines) + "\n").encode("utf-8")

    wide = "\t".join(["order-id", *(f"c{i}" for i in range(40_000))])
    return {
        "empty file": b"",
        "header only": text(HEADER),
        "binary garbage": os.urandom(4096),
        "not a report": text("sku\tprice", "A\t1"),
        "duplicate header column": text(HEADER + "\tsku", good),
        "40,000 header cells": text(wide),
        "100,000 header cells": text("\t".join(["order-id"] + ["x"] * 100_000)),
        "conflicting duplicate item": text(HEADER, good, row(**{"item-price": "99.99"})),
        "identical duplicate item": text(HEADER, good, good),
        "NUL bytes in fields": text(HEADER, row(**{"product-name": "Kaffee\x00tasse"})),
        "10 MB product name": text(HEADER, row(**{"product-name": POISON + "A" * 10_000_000})),
        "10 MB city": text(HEADER, row(**{"bill-city": POISON + "B" * 10_000_000})),
        "1 MB line": text(HEADER, row(**{"sku": POISON + "C" * 1_000_000})),
        "formula cells": text(HEADER, row(**{"product-name": '=HYPERLINK("http://x","y")'})),
        "extra tab": text(HEADER, good + "\t" + POISON),
        "ragged short row": text(HEADER, "\t".join(good.split("\t")[:5])),
        "missing order id": text(HEADER, row(order=""), row(order="302-2")),
        "decimal comma": text(HEADER, row(**{"item-price": "19,90"})),
        "German date": text(HEADER, row(**{"purchase-date": "20.11.2026 " + POISON})),
        "negative quantity": text(HEADER, row(**{"quantity-purchased": "-3"})),
        "mixed currencies": text(HEADER, good, row(item="2", currency="GBP")),
        "rows not adjacent": text(HEADER, good, row(order="302-2"), row(item="3")),
        "CRLF and BOM": ("\ufeff" + HEADER + "\r\n" + good + "\r\n").encode("utf-8"),
        "cp1252 without charset": (HEADER + "\n" + good + "\n").encode("cp1252"),
        "UTF-16": (HEADER + "\n" + good + "\n").encode("utf-16"),
        "huge amount": text(HEADER, row(**{"item-price": "9" * 400})),
        "NaN amount": text(HEADER, row(**{"item-price": "NaN"})),
        "100,000 rows of one order": text(HEADER, *(row(item=str(n)) for n in range(100_000))),
    }


def input_run(name: str, content: bytes, folder: Path) -> bool:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "report.txt"
    path.write_bytes(content)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(
                ["import-report", str(path), "--dry-run", "--json", "--data", str(folder / "data")]
            )
        except BaseException as exc:  # an exception out of main is a traceback for the seller
            err.write(f"Traceback: {type(exc).__name__}")
            code = -1
    if code not in (0, 2) or "Traceback" in err.getvalue() or POISON in err.getvalue():
        return False
    if code == 0:
        reasons = [e["reason"] for e in json.loads(out.getvalue())["errors"]]
        return not any(POISON in reason for reason in reasons)
    return True


def inputs(tmp: Path, report: Callable[[str], None]) -> tuple[int, int]:
    survived = tried = 0
    for name, content in bad_inputs().items():
        tried += 1
        ok = input_run(name, content, tmp / f"input-{tried}")
        survived += ok
        report(f"  {'ok  ' if ok else 'FAIL'} {name}")
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
    parser.add_argument("--only", choices=("faults", "kills", "inputs"))
    parser.add_argument("--kills", type=int, default=10, help="SIGKILLs of a sync (default 10)")
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
        }
        for name, run in runs.items():
            if args.only and name != args.only:
                continue
            started = time.monotonic()
            survived, tried = run()
            figures[name] = {"survived": survived, "tried": tried}
            took = time.monotonic() - started
            print(f"{name}: {survived} of {tried} survived ({took:.0f} s)", flush=True)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0 if all(f["survived"] == f["tried"] for f in figures.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
