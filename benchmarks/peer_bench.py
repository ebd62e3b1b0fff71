"""Peer benchmark: our full import beside python-amazon-sp-api's bare parse of the same reports.

    python benchmarks/peer_bench.py [--orders 5000] [--repeat 3] [--json FILE]

One simulator (this process, loopback, Amazon's usage plans on) and, per repetition, a new
seller with ``--orders`` open seller-fulfilled orders on DE, FR and IT. Each side then runs in
a process of its own, alternating which goes first (A B, B A, ...):

- **ours**: the reference host's first sync of the seller (``ReferenceHost.sync``: the plugin's
  ``sync_orders`` hook through pluggy, the account's lease, the run history): both reports
  requested, polled, downloaded, parsed, every address through the ``map_address`` hook, each
  order sealed (AES-GCM, MAC) and committed to a SQLite store in a temporary folder.
- **peer**: python-amazon-sp-api (``sp_api``, a test dependency) asks for the same two reports
  (the all-orders status report and the EU invoicing order report, same marketplaces, same
  start), polls them at the same interval, takes a restricted data token for the invoicing
  document, downloads both (``get_report_document(download=True)``: gunzip and decode) and
  reads every row with ``csv.DictReader``; nothing is stored.

Printed are the medians of the process's wall time (start to exit, imports included), its
CPU time (user + system) and its peak RSS (``ru_maxrss`` from ``os.wait4`` in the small
launcher ``measured.py``, not in this process: see there why), and the work's
own wall time (from the first request to the last row, measured inside the process) and its
own peak memory (``VmHWM`` at the end less ``VmRSS`` just before the work, each side's code
imported before: what the import holds above the interpreter and the libraries), each
beside the peer's. The simulator's own time (building the documents) lands in the wall times
of both sides alike; the CPU times are each process's own.

The FBA shipments report, a third report an EU account asks for by default, is switched off
(``fba_orders=false``) so both sides read the same two documents; the orders are all
seller-fulfilled.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from measured import measure, status_kib

MARKETPLACES = ("DE", "FR", "IT")
LOOKBACK_DAYS = 7
POLL_S = 0.05  # both sides poll a report this often (ours: report_check_seconds)
REPORT_DELAY_S = 0.2  # how long the simulator takes to process a report
ENV = "PEER_BENCH_"  # the child's orders: endpoints and the seller's credentials


@dataclass(frozen=True)
class Run:
    wall_s: float  # the process, start to exit
    work_s: float  # inside the process: first request to last row
    work_peak_mib: float  # inside the process: VmHWM at the end less VmRSS before the work
    cpu_s: float
    peak_rss_mib: float
    orders: int
    rows: int


# --------------------------------------------------------------------------------------------
# The two sides (each in a process of its own)


def _setting(name: str) -> str:
    return os.environ[ENV + name]


def run_ours() -> dict[str, Any]:
    """The reference host's first sync of the seller into a fresh SQLite store."""
    from cryptography.fernet import Fernet

    import hyreka_plugin_amazon.sync  # noqa: F401  the work's code, loaded before it (as the peer's)
    from hyreka_plugin_amazon.connector import CONNECTOR_ID
    from hyreka_plugin_amazon.contract import Account
    from hyreka_plugin_amazon.refhost.host import ReferenceHost
    from hyreka_plugin_amazon.secret import Secret
    from hyreka_plugin_amazon.spapi.regions import marketplace

    account = Account(
        id="peer-bench",
        name="peer-bench",
        connector=CONNECTOR_ID,
        region="eu",
        marketplace_ids=tuple(marketplace(code).id for code in MARKETPLACES),
        client_id=_setting("CLIENT_ID"),
        client_secret=Secret(_setting("CLIENT_SECRET")),
        refresh_token=Secret(_setting("REFRESH_TOKEN")),
        endpoint=_setting("URL"),
        token_url=_setting("TOKEN_URL"),
        settings={
            "fba_orders": "false",
            "lookback_days": str(LOOKBACK_DAYS),
            "report_check_seconds": str(POLL_S),
            "report_check_max_seconds": str(POLL_S),
        },
    )
    env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    with (
        tempfile.TemporaryDirectory(prefix="peer-bench-") as folder,
        ReferenceHost(Path(folder), env=env) as host,
    ):
        host.store.add_account(account)
        before = status_kib("VmRSS")
        started = time.perf_counter()
        result = host.sync(account.name, locale="en")
        work = time.perf_counter() - started
        peak = (status_kib("VmHWM") - before) / 1024
        if not result.ok:
            raise SystemExit(f"our sync failed: {result.code}: {result.message}")
        stored = len(host.store.order_summaries(account.id))
        if stored != result.created:
            raise SystemExit(f"our sync created {result.created} orders, the store has {stored}")
    return {"work_s": work, "work_peak_mib": peak, "orders": stored, "rows": 0}  # rows: peer's


def run_peer() -> dict[str, Any]:
    """python-amazon-sp-api: both reports requested, polled, downloaded, decoded and read with
    ``csv.DictReader``; nothing stored."""
    from sp_api.api import Reports, Tokens
    from sp_api.auth import AccessTokenClient
    from sp_api.base import Marketplaces

    # Nothing of this package is imported here: its imports would count as the peer's time
    # and memory. The parent passes the report types and marketplace ids.
    split = urlsplit(_setting("TOKEN_URL"))

    class SimulatorLwa(AccessTokenClient):  # type: ignore[misc]
        scheme = f"{split.scheme}://"
        host = split.netloc

    credentials = {
        "refresh_token": _setting("REFRESH_TOKEN"),
        "lwa_app_id": _setting("CLIENT_ID"),
        "lwa_client_secret": _setting("CLIENT_SECRET"),
    }

    def client(cls: Any, **kwargs: Any) -> Any:
        made = cls(
            Marketplaces.DE,
            credentials=credentials,
            auth_token_client_class=SimulatorLwa,
            **kwargs,
        )
        made.endpoint = _setting("URL")
        return made

    ids = _setting("MARKETPLACE_IDS").split(",")
    start = (datetime.now(UTC) - timedelta(days=LOOKBACK_DAYS)).strftime("%Y-%m-%dT%H:%M:%SZ")
    before = status_kib("VmRSS")
    started = time.perf_counter()
    reports = client(Reports)
    report_ids = [
        reports.create_report(reportType=kind, marketplaceIds=ids, dataStartTime=start).payload[
            "reportId"
        ]
        for kind in _setting("REPORT_TYPES").split(",")  # the status report, the order report
    ]
    documents: list[str] = []
    for report_id in report_ids:
        while True:
            report = reports.get_report(report_id).payload
            if report["processingStatus"] == "DONE":
                break
            if report["processingStatus"] in ("CANCELLED", "FATAL"):
                raise SystemExit(f"the peer's report ended {report['processingStatus']}")
            time.sleep(POLL_S)
        documents.append(report["reportDocumentId"])
    status_id, order_id = documents
    status_text = reports.get_report_document(status_id, download=True).payload["document"]
    path = f"/reports/2021-06-30/documents/{order_id}"
    rdt = (
        client(Tokens)
        .create_restricted_data_token(restrictedResources=[{"method": "GET", "path": path}])
        .payload["restrictedDataToken"]
    )
    restricted = client(Reports, restricted_data_token=rdt)
    order_text = restricted.get_report_document(order_id, download=True).payload["document"]
    rows = 0
    orders: set[str] = set()
    for text, id_column in ((status_text, "amazon-order-id"), (order_text, "order-id")):
        for row in csv.DictReader(io.StringIO(text), delimiter="\t"):
            rows += 1
            if text is order_text:
                orders.add(row[id_column])
    work = time.perf_counter() - started
    peak = (status_kib("VmHWM") - before) / 1024
    return {"work_s": work, "work_peak_mib": peak, "orders": len(orders), "rows": rows}


# --------------------------------------------------------------------------------------------
# The parent: simulator, sellers, alternating processes


def one_side(side: str, env: Mapping[str, str]) -> Run:
    """The side in a process of its own, started by the launcher (``measured.py``): this
    process holds the simulator, and a child of it would report this process's peak RSS."""
    with tempfile.TemporaryDirectory(prefix="peer-bench-run-") as folder:
        out, err = Path(folder) / "stdout", Path(folder) / "stderr"
        with out.open("w") as stdout, err.open("w") as stderr:
            took = measure(
                [sys.executable, __file__, "--side", side],
                env=env,
                out=Path(folder) / "measure.json",
                stdout=stdout,
                stderr=stderr,
            )
        if took.returncode != 0:
            failed = err.read_text()[-3000:]
            raise SystemExit(f"the {side} side failed ({took.returncode}): {failed}")
        figures = json.loads(out.read_text())
    return Run(
        wall_s=took.wall_s,
        work_s=figures["work_s"],
        work_peak_mib=figures["work_peak_mib"],
        cpu_s=took.cpu_s,
        peak_rss_mib=took.peak_rss_mib,
        orders=figures["orders"],
        rows=figures["rows"],
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=5000, help="open orders of the seller")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each side, alternating")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    parser.add_argument("--side", choices=("ours", "peer"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.side is not None:
        print(json.dumps(run_ours() if args.side == "ours" else run_peer()))
        return 0

    from hyreka_plugin_amazon.reports.catalogue import ORDER_REPORT_EU, STATUS_REPORT
    from hyreka_plugin_amazon.simulator import Simulator
    from hyreka_plugin_amazon.spapi.regions import marketplace

    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("HYREKA_", "AMAZON_"))}
    # Both sides with their bytecode cached, as an installed package has it: with
    # PYTHONDONTWRITEBYTECODE set (as on this machine) every process compiled every module it
    # imported from source. A first, unmeasured repetition writes the caches.
    base_env.pop("PYTHONDONTWRITEBYTECODE", None)
    runs: dict[str, list[Run]] = {"ours": [], "peer": []}
    with Simulator(
        orders=0, seed=args.seed, marketplaces=MARKETPLACES, report_delay_s=REPORT_DELAY_S
    ) as sim:
        for repetition in range(-1, args.repeat):  # -1: the warm-up, not counted
            # a seller of its own per repetition (Amazon's createReport burst is per seller)
            seller = sim.add_seller(marketplaces=MARKETPLACES, orders=0)
            for n in range(args.orders):
                sim.add_order(
                    status="open",
                    marketplace=MARKETPLACES[n % len(MARKETPLACES)],
                    seller_id=seller.seller_id,
                    fulfillment_channel="MFN",
                )
            creds = seller.credentials
            env = base_env | {
                ENV + "URL": sim.url,
                ENV + "TOKEN_URL": sim.token_url,
                ENV + "CLIENT_ID": creds.client_id,
                ENV + "CLIENT_SECRET": creds.client_secret,
                ENV + "REFRESH_TOKEN": creds.refresh_token,
                ENV + "MARKETPLACE_IDS": ",".join(marketplace(code).id for code in MARKETPLACES),
                ENV + "REPORT_TYPES": f"{STATUS_REPORT},{ORDER_REPORT_EU}",
            }
            sides = ["ours", "peer"] if repetition % 2 == 0 else ["peer", "ours"]
            for side in sides:
                run = one_side(side, env)
                if run.orders != args.orders:
                    raise SystemExit(f"{side} saw {run.orders} of {args.orders} orders")
                if repetition >= 0:
                    runs[side].append(run)
    figures = report(runs, args.orders)
    if args.json is not None:
        figures["runs"] = {side: [asdict(run) for run in series] for side, series in runs.items()}
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


def report(runs: Mapping[str, Sequence[Run]], orders: int) -> dict[str, Any]:
    """Print the medians and the ratios; return them."""
    fields = ("wall_s", "work_s", "cpu_s", "peak_rss_mib", "work_peak_mib")
    medians = {
        side: {name: statistics.median(getattr(run, name) for run in series) for name in fields}
        for side, series in runs.items()
    }
    ratios = {name: medians["ours"][name] / medians["peer"][name] for name in fields}
    repeat = len(runs["ours"])
    rows = runs["peer"][0].rows
    print(
        f"{orders:,} open orders ({', '.join(MARKETPLACES)}; {rows:,} report rows), median of "
        f"{repeat} alternating runs of each side"
    )
    print(
        f"{'':30} {'wall s':>8} {'work s':>8} {'CPU s':>8} {'peak RSS MiB':>13}"
        f" {'work peak MiB':>14}"
    )
    labels = {"ours": "ours: full import", "peer": "python-amazon-sp-api: parse"}
    for side, label in labels.items():
        m = medians[side]
        print(
            f"{label:30} {m['wall_s']:8.2f} {m['work_s']:8.2f} {m['cpu_s']:8.2f}"
            f" {m['peak_rss_mib']:13.1f} {m['work_peak_mib']:14.1f}"
        )
    print(
        f"{'ours / peer':30} {ratios['wall_s']:7.2f}x {ratios['work_s']:7.2f}x"
        f" {ratios['cpu_s']:7.2f}x {ratios['peak_rss_mib']:12.2f}x"
        f" {ratios['work_peak_mib']:13.2f}x"
    )
    print("goal: wall <= 1.00x, peak memory of the work <= 0.50x")
    return {"orders": orders, "rows": rows, "medians": medians, "ratios": ratios}


if __name__ == "__main__":
    sys.exit(main())
