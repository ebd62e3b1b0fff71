"""The benchmark script still runs and measures what issue 8 asks (small sizes; its figures
are printed, never asserted as times here)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "sync_bench.py"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("sync_bench", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


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
