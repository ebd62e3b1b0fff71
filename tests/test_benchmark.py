"""The benchmark script still runs and measures what issue 8 asks (small sizes; its figures
are printed, never asserted as times here)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "sync_bench.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    with pytest.MonkeyPatch.context() as patch:
        return _script("sync_bench", patch)


def test_the_per_order_approach_costs_two_calls_an_order_plus_pages(bench: ModuleType) -> None:
    calls, seconds = bench.per_order_cost(10_000)
    assert calls == 100 + 2 * 10_000  # getOrders pages of 100, items and address per order
    assert seconds > 5 * 3600  # hours at Amazon's published limits


def test_quick_run_writes_every_figure_and_calls_do_not_grow_with_orders(
    bench: ModuleType,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(bench, "QUICK_ORDER_COUNTS", (20, 400))
    monkeypatch.setattr(bench, "QUICK_ROW_COUNTS", (300,))
    out = tmp_path / "figures.json"
    assert bench.main(["--quick", "--json", str(out)]) == 0
    figures: dict[str, dict[str, Any]] = json.loads(out.read_text("utf-8"))
    for key in ("calls_per_sync", "per_order_calls"):
        assert set(figures[key]) == {"20", "400"}
    for key in ("rows_per_s", "baseline_rows_per_s", "ratio", "peak_rss_mb"):
        assert set(figures[key]) == {"300"}
    assert figures["calls_per_sync"]["20"] == figures["calls_per_sync"]["400"] <= 12
    assert figures["per_order_calls"]["400"] == 4 + 2 * 400
    assert figures["rows_per_s"]["300"] > 0
    assert figures["ratio"]["300"] > 0
    table = capsys.readouterr().out
    assert "per-order calls" in table
    assert "baseline rows/s" in table


def _script(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """A script of benchmarks/ as a module (its folder on sys.path, as when it runs)."""
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    path = SCRIPT.parent / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_launcher_measures_its_command_not_the_benchmark_that_starts_it(
    tmp_path: Path,
) -> None:
    """A parent holding 200 MB (as a benchmark holding a simulator does): a child started
    directly reports the parent's peak from wait4, one started through the launcher its own."""
    benchmarks = str(SCRIPT.parent)
    parent = f"""
import json, os, subprocess, sys
sys.path.insert(0, {benchmarks!r})
from pathlib import Path
from measured import measure
held = bytearray(200 * 2**20)
held[::4096] = b"x" * len(held[::4096])  # touched: resident
small = [sys.executable, "-c", "pass"]
child = subprocess.Popen(small)
_, _, usage = os.wait4(child.pid, 0)
launched = measure(small, env=os.environ, out=Path({str(tmp_path / "m.json")!r}))
print(json.dumps({{"direct": usage.ru_maxrss / 1024, "launched": launched.peak_rss_mib}}))
"""
    done = subprocess.run(
        [sys.executable, "-c", parent], capture_output=True, text=True, check=True
    )
    peaks = json.loads(done.stdout)
    assert peaks["direct"] > 200  # the parent's peak, lent to the child
    assert peaks["launched"] < 50  # a bare interpreter (and the small launcher before it)


def test_peer_bench_runs_both_sides_on_the_same_orders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    peer = _script("peer_bench", monkeypatch)
    out = tmp_path / "peer.json"
    assert peer.main(["--orders", "40", "--repeat", "2", "--json", str(out)]) == 0
    figures = json.loads(out.read_text("utf-8"))
    for side in ("ours", "peer"):
        runs = figures["runs"][side]
        assert len(runs) == 2
        assert all(run["orders"] == 40 for run in runs)  # each side saw every order
        assert all(run["peak_rss_mib"] > 0 and run["cpu_s"] > 0 for run in runs)
        assert all(0 <= run["work_peak_mib"] < run["peak_rss_mib"] for run in runs)
    assert figures["rows"] >= 80  # both reports, one row per order at least in each
    ratios = {"wall_s", "work_s", "cpu_s", "peak_rss_mib", "work_peak_mib"}
    assert set(figures["ratios"]) == ratios
    assert "python-amazon-sp-api" in capsys.readouterr().out
