"""Sync benchmark: API calls per sync, end-to-end import throughput and peak memory.

    python benchmarks/sync_bench.py [--quick] [--json FILE]

1. A real sync through the reference host's services against the simulator over loopback,
   for 100, 1,000 and 10,000 open orders: the SP-API calls and the simulated Amazon time it
   takes (the client's own rate limiting and report polling, on a virtual clock that moves the
   simulator's clock), beside what the per-order approach would need at Amazon's published
   limits (token-bucket arithmetic, ``per_order_cost``).
2. End-to-end throughput: a whole sync whose two report documents (the invoicing order report
   and the all-orders status report of the same open orders, gzip, cp1252, as the simulator
   writes them) are served from memory, from the gzip bytes to committed rows of a real Store
   in a temporary folder; beside the baseline of the same run on the same bytes: gunzip, decode
   and ``csv.reader`` alone.
3. Peak RSS growth of that sync (VmHWM), in a fresh subprocess per size.

``--quick`` runs only the 10,000-order and 10,000-row cases.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

import requests
import urllib3
from cryptography.fernet import Fernet
from measured import status_kib
from requests.adapters import BaseAdapter

from hyreka_plugin_amazon.connector import CONNECTOR_ID
from hyreka_plugin_amazon.contract import Account, Address, HostServices, SyncResult
from hyreka_plugin_amazon.refhost.host import SyncHost
from hyreka_plugin_amazon.refhost.manager import PluginHost
from hyreka_plugin_amazon.refhost.store import Store
from hyreka_plugin_amazon.reports.catalogue import ORDER_REPORT_EU, STATUS_REPORT
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.simulator import Simulator, flatfiles
from hyreka_plugin_amazon.simulator.generator import OrderGenerator
from hyreka_plugin_amazon.spapi.client import SpApiClient
from hyreka_plugin_amazon.spapi.documents import DocumentStream
from hyreka_plugin_amazon.spapi.models import DONE, Report, ReportDocument
from hyreka_plugin_amazon.spapi.ratelimit import RateLimiter
from hyreka_plugin_amazon.spapi.regions import marketplace
from hyreka_plugin_amazon.spapi.transport import Transport
from hyreka_plugin_amazon.sync import sync_account

MARKETPLACES = ("DE", "FR", "IT", "ES", "UK")
ORDER_COUNTS = (100, 1_000, 10_000)
ROW_COUNTS = (10_000, 200_000)
QUICK_ORDER_COUNTS = (10_000,)
QUICK_ROW_COUNTS = (10_000,)
SP_API_OPERATIONS = ("createReport", "getReport", "createRestrictedDataToken", "getReportDocument")
CHARSET = "cp1252"  # Amazon's EU flat files
DOCUMENT_HOST = "https://documents.invalid"


# --------------------------------------------------------------------------------------------
# 1. API calls per sync


@dataclass(frozen=True)
class Plan:
    """A published usage plan: ``rate`` requests per second, up to ``burst`` at once."""

    rate: float
    burst: int


# The per-order approach at Amazon's published limits (Orders API v0).
GET_ORDERS = Plan(0.0167, 20)
GET_ORDER_ITEMS = Plan(0.5, 30)
GET_ORDER_ADDRESS = Plan(0.5, 30)
ORDERS_PER_PAGE = 100


def per_order_cost(orders: int) -> tuple[int, float]:
    """Calls and seconds of the per-order approach: each getOrders page of 100 orders, then
    getOrderItems and getOrderAddress for every order on it, one call after the other, each
    waiting for a token of its operation's bucket (buckets start full)."""
    plans = {"getOrders": GET_ORDERS, "getOrderItems": GET_ORDER_ITEMS}
    plans["getOrderAddress"] = GET_ORDER_ADDRESS
    tokens = {name: float(plan.burst) for name, plan in plans.items()}
    updated = dict.fromkeys(plans, 0.0)
    now = 0.0
    calls = 0

    def call(name: str) -> None:
        nonlocal now, calls
        plan = plans[name]
        tokens[name] = min(plan.burst, tokens[name] + (now - updated[name]) * plan.rate)
        if tokens[name] < 1:
            now += (1 - tokens[name]) / plan.rate
            tokens[name] = 1.0
        tokens[name] -= 1
        updated[name] = now
        calls += 1

    for page in range(math.ceil(orders / ORDERS_PER_PAGE)):
        call("getOrders")
        for _ in range(min(ORDERS_PER_PAGE, orders - page * ORDERS_PER_PAGE)):
            call("getOrderItems")
            call("getOrderAddress")
    return calls, now


class VirtualClock:
    """The client's monotonic clock and sleep: a sleep moves the simulator's clock instead of
    waiting, so rate limits and report polling cost simulated time, not wall time."""

    def __init__(self, sim: Simulator) -> None:
        self._sim = sim
        self.elapsed = 0.0

    def monotonic(self) -> float:
        return self.elapsed

    def sleep(self, seconds: float) -> None:
        self.elapsed += seconds
        self._sim.clock.advance(seconds)


def bench_account(
    sim: Simulator | None = None, settings: Mapping[str, str] | None = None
) -> Account:
    creds = sim.credentials if sim is not None else None
    return Account(
        id="bench",
        name="bench",
        connector=CONNECTOR_ID,
        region="eu",
        marketplace_ids=tuple(marketplace(code).id for code in MARKETPLACES),
        client_id=creds.client_id if creds else "amzn1.application-oa2-client.bench",
        client_secret=Secret(creds.client_secret if creds else "bench"),
        refresh_token=Secret(creds.refresh_token if creds else "Atzr|bench"),
        endpoint=sim.url if sim is not None else None,
        token_url=sim.token_url if sim is not None else None,
        settings=dict(settings or {}),
    )


def address_mapper(
    host: HostServices, account: Account
) -> Callable[[Mapping[str, str | None], Literal["billing", "shipping"]], Address | None]:
    """What the plugin's sync hook passes: the host's map_address hook (pluggy)."""

    def mapper(
        row: Mapping[str, str | None], kind: Literal["billing", "shipping"]
    ) -> Address | None:
        return host.map_address(row=row, kind=kind, account=account)

    return mapper


def api_calls(orders: int, *, report_delay: float, seed: int) -> dict[str, Any]:
    """One first sync of ``orders`` open orders against the simulator."""
    with (
        Simulator(
            orders=0,
            seed=seed,
            marketplaces=MARKETPLACES,
            time_scale=0,
            report_delay_s=report_delay,
        ) as sim,
        tempfile.TemporaryDirectory() as folder,
    ):
        for n in range(orders):
            sim.add_order(
                status="open",
                marketplace=MARKETPLACES[n % len(MARKETPLACES)],
                fulfillment_channel="MFN",
            )
        sim.clock.advance(60)
        clock = VirtualClock(sim)
        account = bench_account(sim)
        client = SpApiClient.for_account(
            account,
            sleep=clock.sleep,
            monotonic=clock.monotonic,
            rate_limiter=RateLimiter(),
            max_wait=3600,
        )
        with Store.open(
            Path(folder), env={"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
        ) as store:
            store.add_account(account)
            host = SyncHost(store, PluginHost())
            started = time.perf_counter()
            result = sync_account(
                account,
                host,
                map_address=address_mapper(host, account),
                client=client,
                now=sim.clock.now,
            )
            wall = time.perf_counter() - started
        _check(result, orders)
    sp_api = {op: n for op, n in result.api_calls.items() if op in SP_API_OPERATIONS}
    return {
        "sp_api_calls": sum(sp_api.values()),
        "requests": result.total_api_calls,
        "by_operation": dict(sorted(result.api_calls.items())),
        "amazon_s": clock.elapsed,
        "wall_s": wall,
    }


def _check(result: SyncResult, created: int) -> None:
    if not result.ok or result.created != created:
        raise SystemExit(
            f"the benchmark sync went wrong: ok={result.ok} created={result.created} "
            f"(expected {created}) {result.code}: {result.message}"
        )


# --------------------------------------------------------------------------------------------
# 2. + 3. End-to-end throughput and peak memory


def write_documents(rows: int, folder: Path, seed: int) -> dict[str, int]:
    """Gzip cp1252 documents of open orders: the invoicing order report with about ``rows``
    data rows and the all-orders status report of the same orders; returns the counts."""
    now = datetime.now(UTC).replace(microsecond=0)
    generator = OrderGenerator(seed)
    markets = [marketplace(code) for code in MARKETPLACES]
    counts = {"orders": 0, "order_rows": 0, "status_rows": 0}
    order_path, status_path = _document_paths(folder)
    with (
        gzip.open(order_path, "wt", encoding=CHARSET, errors="replace", newline="") as orders,
        gzip.open(status_path, "wt", encoding=CHARSET, errors="replace", newline="") as statuses,
    ):
        orders.write("\t".join(flatfiles.INVOICING_HEADER) + "\n")
        statuses.write("\t".join(flatfiles.ALL_ORDERS_HEADER) + "\n")
        while counts["order_rows"] < rows:
            n = counts["orders"]
            placed = now - timedelta(days=14) + timedelta(seconds=n * 7)
            order = generator.order("bench-seller", markets[n % len(markets)], placed)
            order.payments_date = order.purchase_date + timedelta(seconds=90)
            counts["orders"] += 1
            counts["order_rows"] += _write_rows(
                orders,
                flatfiles.INVOICING_HEADER,
                flatfiles.rows(flatfiles.INVOICING, [order], now),
            )
            counts["status_rows"] += _write_rows(
                statuses,
                flatfiles.ALL_ORDERS_HEADER,
                flatfiles.rows(flatfiles.ALL_ORDERS, [order], now),
            )
    return counts


def _write_rows(file: io.TextIOBase, columns: Sequence[str], rows: Iterable[dict[str, str]]) -> int:
    count = 0
    for row in rows:
        file.write("\t".join(row.get(column, "") for column in columns) + "\n")
        count += 1
    return count


def _document_paths(folder: Path) -> tuple[Path, Path]:
    return folder / "order-report.tsv.gz", folder / "status-report.tsv.gz"


class MemoryDownloads(BaseAdapter):
    """Serves report documents from memory as the download host would (gzip, Cp1252)."""

    def __init__(self, documents: Mapping[str, bytes]) -> None:
        super().__init__()
        self._documents = documents

    def send(
        self, request: requests.PreparedRequest, *args: Any, **kwargs: Any
    ) -> requests.Response:
        body = self._documents[str(request.url).rsplit("/", 1)[1]]
        headers = {"Content-Type": "text/plain; charset=Cp1252", "Content-Length": str(len(body))}
        response = requests.Response()
        response.status_code = 200
        response.headers.update(headers)
        response.raw = urllib3.HTTPResponse(
            body=io.BytesIO(body), headers=headers, status=200, preload_content=False
        )
        response.url = str(request.url)
        response.request = request
        return response

    def close(self) -> None:
        pass


class MemoryClient(SpApiClient):
    """The SP-API client with the two reports already processed and their documents in
    memory: what remains of a sync is the local work, from downloaded bytes to the host."""

    _downloads: Transport
    _starts: dict[str, datetime | None]

    @classmethod
    def serving(cls, account: Account, documents: Mapping[str, bytes]) -> MemoryClient:
        """The account's client, its downloads answered from ``documents``."""
        client = cls.for_account(account)
        session = requests.Session()
        session.mount(DOCUMENT_HOST, MemoryDownloads(documents))
        client._downloads = Transport(
            session=session,
            timeout=(1.0, 1.0),
            sleep=time.sleep,
            monotonic=time.monotonic,
            max_attempts=1,
            max_wait=0.0,
            user_agent="sync-bench",
        )
        client._starts = {}
        return client

    def create_report(
        self,
        report_type: str,
        marketplace_ids: Sequence[str],
        *,
        data_start_time: datetime | None = None,
        data_end_time: datetime | None = None,
        report_options: Mapping[str, str] | None = None,
    ) -> str:
        self._starts[report_type] = data_start_time
        return report_type

    def wait_for_report(
        self,
        report_id: str,
        *,
        poll_interval: float = 15.0,
        max_interval: float = 60.0,
        deadline: float = 1800.0,
        on_status: Callable[[Report], None] | None = None,
        tick: Callable[[], None] | None = None,
    ) -> Report:
        return Report(
            report_id=report_id,
            report_type=report_id,
            processing_status=DONE,
            report_document_id=report_id,
            data_start_time=self._starts[report_id],
            data_end_time=datetime.now(UTC),
            created_time=None,
            marketplace_ids=(),
        )

    def open_document(
        self,
        document_id: str,
        *,
        restricted: bool,
        fallback_charsets: Sequence[str] = ("cp1252",),
        on_bytes: Callable[[int], None] | None = None,
    ) -> DocumentStream:
        document = ReportDocument(document_id, f"{DOCUMENT_HOST}/{document_id}", "GZIP")
        return DocumentStream(
            transport=self._downloads,
            fetch=lambda: document,
            fallback_charsets=fallback_charsets,
            on_bytes=on_bytes,
        )


def baseline_rows(documents: Iterable[bytes]) -> int:
    """gunzip + decode + csv.reader over the documents: their data rows."""
    rows = 0
    for body in documents:
        text = io.TextIOWrapper(
            gzip.GzipFile(fileobj=io.BytesIO(body)), encoding=CHARSET, newline=""
        )
        for _ in csv.reader(text, delimiter="\t", quoting=csv.QUOTE_NONE):
            rows += 1
        rows -= 1  # the header
    return rows


def import_documents(folder: Path, *, repeat: int) -> dict[str, Any]:
    """The worker: ``repeat`` times a sync of the documents in ``folder`` into a fresh store,
    each followed by the baseline on the same bytes (alternating, so that the machine's drift
    hits both alike); the medians of both, and the peak RSS growth of the first sync."""
    order_path, status_path = _document_paths(folder)
    documents = {ORDER_REPORT_EU: order_path.read_bytes(), STATUS_REPORT: status_path.read_bytes()}
    # Two documents, the order and the status report: the FBA shipments report (a third one an
    # EU account requests by default) is not served here, so the account does not ask for it.
    account = bench_account(settings={"fba_orders": "false"})
    env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    plugins = PluginHost()
    seconds: list[float] = []
    baseline: list[float] = []
    rss_growth_kib = 0
    for attempt in range(repeat):
        with tempfile.TemporaryDirectory() as data, Store.open(Path(data), env=env) as store:
            store.add_account(account)
            host = SyncHost(store, plugins)
            client = MemoryClient.serving(account, documents)
            before = status_kib("VmHWM")
            started = time.perf_counter()
            result = sync_account(
                account, host, map_address=address_mapper(host, account), client=client
            )
            seconds.append(time.perf_counter() - started)
            if not result.ok:  # a sync that failed after the import must not count as one
                raise SystemExit(f"the benchmark sync failed: {result.code}: {result.message}")
            if attempt == 0:
                rss_growth_kib = status_kib("VmHWM") - before
            created = result.created
        started = time.perf_counter()
        rows = baseline_rows(documents.values())
        baseline.append(time.perf_counter() - started)
    return {
        "rows": rows,
        "created": created,
        "seconds": statistics.median(seconds),
        "baseline_seconds": statistics.median(baseline),
        "rss_growth_mb": rss_growth_kib / 1024,
    }


def throughput(rows: int, seed: int) -> dict[str, Any]:
    """Write the documents, then import them in a fresh worker process."""
    with tempfile.TemporaryDirectory() as folder:
        counts = write_documents(rows, Path(folder), seed)
        repeat = 5 if rows <= 20_000 else 3
        worker = subprocess.run(
            [sys.executable, __file__, "--worker", folder, "--repeat", str(repeat)],
            check=True,
            capture_output=True,
            text=True,
        )
    figures: dict[str, Any] = json.loads(worker.stdout)
    figures.update(counts)
    if figures["created"] != counts["orders"]:
        raise SystemExit(f"the sync created {figures['created']} of {counts['orders']} orders")
    figures["rows_per_s"] = figures["rows"] / figures["seconds"]
    figures["baseline_rows_per_s"] = figures["rows"] / figures["baseline_seconds"]
    figures["ratio"] = figures["seconds"] / figures["baseline_seconds"]
    return figures


# --------------------------------------------------------------------------------------------
# Report


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="only the 10,000 cases")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write the figures here")
    parser.add_argument(
        "--report-delay",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="simulated seconds Amazon takes to process a report (default 60)",
    )
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        print(json.dumps(import_documents(args.worker, repeat=args.repeat)))
        return 0

    figures: dict[str, dict[str, Any]] = {
        key: {}
        for key in (
            "calls_per_sync",
            "requests_per_sync",
            "amazon_seconds",
            "per_order_calls",
            "per_order_seconds",
            "local_seconds",
            "rows_per_s",
            "baseline_rows_per_s",
            "ratio",
            "peak_rss_mb",
        )
    }
    print(
        "1. API calls per sync (first sync; report processing takes "
        f"{args.report_delay:g} s of simulated time)"
    )
    print(
        f"{'open orders':>12} {'SP-API calls':>13} {'requests':>9} {'Amazon time':>12}"
        f" {'local time':>11} {'per-order calls':>16} {'per-order time':>15}"
    )
    for orders in QUICK_ORDER_COUNTS if args.quick else ORDER_COUNTS:
        ours = api_calls(orders, report_delay=args.report_delay, seed=args.seed)
        calls, seconds = per_order_cost(orders)
        key = str(orders)
        figures["calls_per_sync"][key] = ours["sp_api_calls"]
        figures["requests_per_sync"][key] = ours["requests"]
        figures["amazon_seconds"][key] = round(ours["amazon_s"], 1)
        figures["per_order_calls"][key] = calls
        figures["per_order_seconds"][key] = round(seconds, 1)
        figures["local_seconds"][key] = round(ours["wall_s"], 2)
        print(
            f"{orders:>12,} {ours['sp_api_calls']:>13} {ours['requests']:>9}"
            f" {_duration(ours['amazon_s']):>12} {ours['wall_s']:>9.1f} s"
            f" {calls:>16,} {_duration(seconds):>15}"
        )
    print()
    print("2./3. End to end: both report documents from gzip bytes to committed host rows")
    print(
        f"{'rows':>8} {'orders':>8} {'all rows':>9} {'ours rows/s':>12} {'baseline rows/s':>16}"
        f" {'ratio':>6} {'peak RSS growth':>16}"
    )
    for rows in QUICK_ROW_COUNTS if args.quick else ROW_COUNTS:
        result = throughput(rows, args.seed)
        key = str(rows)
        figures["rows_per_s"][key] = round(result["rows_per_s"])
        figures["baseline_rows_per_s"][key] = round(result["baseline_rows_per_s"])
        figures["ratio"][key] = round(result["ratio"], 2)
        figures["peak_rss_mb"][key] = round(result["rss_growth_mb"], 1)
        print(
            f"{result['order_rows']:>8,} {result['orders']:>8,} {result['rows']:>9,}"
            f" {result['rows_per_s']:>12,.0f} {result['baseline_rows_per_s']:>16,.0f}"
            f" {result['ratio']:>6.1f} {result['rss_growth_mb']:>13.1f} MB"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


if __name__ == "__main__":
    sys.exit(main())
