"""Cursor safety: a sync failing at any stage leaves cursor and held window as they were.

Amazon has 400 new orders since the last sync, so the order report is large enough that a
failure can strike in the middle of the import, after orders were already handed over.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.fault_harness import Harness, running
from helpers.sim import INVOICING, add_fault

from hyreka_plugin_amazon.contract import Order, UpsertOutcome
from hyreka_plugin_amazon.refhost.host import SyncHost
from hyreka_plugin_amazon.sync import CURSOR_KEY, RETRY_FROM_KEY

NEW_ORDERS = 400


class FailingHost(SyncHost):
    """The host's storage fails (or the seller cancels) after ``after`` orders."""

    def __init__(self, h: Harness, after: int, *, cancel: bool = False) -> None:
        super().__init__(h.host.store, h.host.plugins)
        self.after = after
        self.cancel = cancel
        self.upserts = 0

    def upsert_order(self, account_id: str, order: Order) -> UpsertOutcome:
        if self.upserts >= self.after and not self.cancel:
            raise OSError(28, "No space left on device")
        self.upserts += 1
        return super().upsert_order(account_id, order)

    def cancel_requested(self, account_id: str) -> bool:
        return self.cancel and self.upserts >= self.after


@pytest.fixture
def big(tmp_path: Path, host_env: dict[str, str]) -> Iterator[Harness]:
    with running(tmp_path / "data", host_env) as h:
        assert h.sync().ok
        h.sim.clock.advance(3700)
        markets = ("DE", "FR", "IT", "ES", "UK")
        for n in range(NEW_ORDERS):
            h.sim.add_order(marketplace=markets[n % len(markets)])
        h.sim.clock.advance(60)
        yield h


def _persistent(name: str, **spec: Any) -> dict[str, Any]:
    return {"name": name, "rate": 1.0, **spec}


STAGES = {
    "createReport": _persistent("internal_error", operation="createReport"),
    "getReport": _persistent("unavailable", operation="getReport"),
    "createRestrictedDataToken": _persistent(
        "internal_error", operation="createRestrictedDataToken"
    ),
    "getReportDocument": _persistent("unavailable", operation="getReportDocument"),
    "download": _persistent("url_expired", report_type=INVOICING),
    "mid-import download": _persistent("truncated_gzip", report_type=INVOICING),
}
CODES = {
    "createReport": "sync.unavailable",
    "getReport": "sync.unavailable",
    "createRestrictedDataToken": "sync.unavailable",
    "getReportDocument": "sync.unavailable",
    "download": "sync.document_error",
    "mid-import download": "sync.document_error",
}


def _converges(h: Harness, cursor: str | None, retry_from: str | None) -> None:
    assert (h.state(CURSOR_KEY), h.state(RETRY_FROM_KEY)) == (cursor, retry_from)
    h.assert_nothing_wrong()
    h.sim.faults.clear()
    h.sim.clock.advance(2 * 3600)
    after = h.sync()
    assert after.ok, after.message
    h.assert_converged()
    assert len(h.truth_open()) > NEW_ORDERS


@pytest.mark.parametrize("stage", list(STAGES))
def test_amazon_failing_at_each_stage_leaves_the_cursor(big: Harness, stage: str) -> None:
    cursor, retry_from = big.state(CURSOR_KEY), big.state(RETRY_FROM_KEY)
    add_fault(big.sim, **STAGES[stage])
    failed = big.sync()
    assert (failed.ok, failed.code) == (False, CODES[stage])
    if stage == "mid-import download":  # read twice, each time broken: nothing handed over
        assert failed.created == 0  # a report is read whole before any order goes in
        assert failed.api_calls["download"] == 3
    _converges(big, cursor, retry_from)


@pytest.mark.parametrize("cancel", [False, True], ids=["host-error", "cancelled"])
def test_host_failing_mid_import_leaves_the_cursor(
    big: Harness, cancel: bool, caplog: pytest.LogCaptureFixture
) -> None:
    cursor, retry_from = big.state(CURSOR_KEY), big.state(RETRY_FROM_KEY)
    with caplog.at_level(logging.INFO):
        failed = big.sync(FailingHost(big, after=150, cancel=cancel))
    assert (failed.ok, failed.code) == (False, "sync.cancelled" if cancel else "sync.error")
    assert failed.created + failed.updated + failed.unchanged == 150
    if not cancel:
        assert "OSError" in failed.message
        assert "No space left" not in caplog.text  # only the type: a text may quote data
    _converges(big, cursor, retry_from)


def test_truncated_download_is_read_again(big: Harness, caplog: pytest.LogCaptureFixture) -> None:
    add_fault(big.sim, "truncated_gzip", report_type=INVOICING)
    with caplog.at_level(logging.WARNING, logger="hyreka_plugin_amazon.sync"):
        result = big.sync()
    assert result.ok, result.message
    assert "the order report download broke off; reading it again" in caplog.text
    assert result.api_calls["download"] == 3
    assert result.created == NEW_ORDERS  # each once
    big.assert_converged()
