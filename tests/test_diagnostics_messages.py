"""Messages that must not mislead the seller.

A persistent refused access token is not a missing role; a cancelled status report on a first
sync says that orders wait and the window is held; a broken status report download is named
as the status report; a gzip bomb gets a clear message; a full disk says so.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.fault_harness import Harness, running
from helpers.sim import ALL_ORDERS, add_fault

from hyreka_plugin_amazon import diagnostics, messages
from hyreka_plugin_amazon.spapi import errors
from hyreka_plugin_amazon.sync import CURSOR_KEY, RETRY_FROM_KEY


@pytest.fixture
def harness(tmp_path: Path, host_env: dict[str, str]) -> Iterator[Harness]:
    with running(tmp_path / "data", host_env) as running_harness:
        yield running_harness


def test_a_persistently_refused_token_is_not_diagnosed_as_a_missing_role(
    harness: Harness,
) -> None:
    h = harness
    add_fault(h.sim, "token_expired", operation="createReport", rate=1.0)
    result = h.sync()
    assert not result.ok
    assert result.code == "sync.token_refused"
    assert "restricted" not in result.message.lower()
    assert result.message == messages.translate("sync.token_refused", "de")


def test_a_cancelled_status_report_on_a_first_sync_says_orders_wait_and_the_window_is_held(
    harness: Harness,
) -> None:
    h = harness
    add_fault(h.sim, "report_cancelled", report_type=ALL_ORDERS)
    result = h.sync()
    assert result.ok
    assert result.waiting >= len(h.truth_open()) > 0
    assert not h.host_open()
    held = [w for w in result.warnings if str(result.waiting) in w and "Statusbericht" in w]
    assert held, result.warnings
    assert h.state(RETRY_FROM_KEY) == result.window_start.isoformat()  # type: ignore[union-attr]
    h.sim.clock.advance(3700)
    assert h.sync().ok
    h.assert_converged()


def test_a_broken_status_report_download_is_named_the_status_report(harness: Harness) -> None:
    h = harness
    add_fault(h.sim, "url_expired", report_type=ALL_ORDERS, rate=1.0)
    result = h.sync()
    assert not result.ok
    assert result.code == "sync.document_error", (result.code, result.message)
    assert "(Statusbericht: DocumentExpiredError)" in result.message
    assert "Bestellbericht" not in result.message
    assert h.state(CURSOR_KEY) is None


@pytest.mark.parametrize("reading", ["order report", "status report"])
def test_a_document_over_the_limits_gets_a_clear_message(reading: str, harness: Harness) -> None:
    exc = errors.DocumentTooLargeError(
        "line 3 of the report document is longer than 1,000,000 characters",
        operation="download",
    )
    account = harness.account
    diagnosis = diagnostics.sync_failure(exc, account, reading=reading)  # type: ignore[arg-type]
    assert diagnosis.code == "sync.document_too_large"
    name = "Bestellbericht" if reading == "order report" else "Statusbericht"
    assert name in diagnosis.message
    assert "DocumentTooLargeError" not in diagnosis.message


def test_a_full_disk_says_so_and_loses_nothing(tmp_path: Path, host_env: dict[str, str]) -> None:
    with running(tmp_path / "data", host_env, orders=600) as h:
        _full_disk(h)


def _full_disk(h: Harness) -> None:
    db = h.host.store._db  # the store's own connection: SQLite's real "disk is full"
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages}")  # no page more than now
    result = h.sync()
    assert not result.ok
    assert result.code == "sync.disk_full"
    assert result.message == messages.translate("sync.disk_full", "de")
    assert "OperationalError" not in result.message
    db.execute("PRAGMA max_page_count = 1073741823")
    assert h.state(CURSOR_KEY) is None
    assert h.sync().ok
    h.assert_converged()


def test_is_disk_full_knows_sqlite() -> None:
    assert diagnostics.is_disk_full(sqlite3.OperationalError("database or disk is full"))
    assert not diagnostics.is_disk_full(sqlite3.OperationalError("database is locked"))
