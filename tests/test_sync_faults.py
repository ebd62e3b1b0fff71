"""Every fault the simulator offers, during a sync: what the seller sees, then convergence.

Each scenario: a clean first sync, Amazon moves on (new orders, one shipped, one cancelled),
a sync with the fault active (its result checked), the fault cleared, two more hours, and a
sync after which the host's open orders equal the simulator's exactly, each stored once.

The client runs on the simulator's clock (``SimTime``): its sleeps advance the simulator, so
backoffs, report polling and token expiry cost no wall time and are deterministic.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers.fault_harness import READ_TIMEOUT, Harness, running
from helpers.sim import ALL_ORDERS, INVOICING, add_fault

from hyreka_plugin_amazon import diagnostics, messages
from hyreka_plugin_amazon.contract import Account, SyncResult
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.simulator.faults import FAULT_PARAMS, MALFORMED_KINDS
from hyreka_plugin_amazon.spapi.regions import marketplace
from hyreka_plugin_amazon.sync import (
    CURSOR_KEY,
    RETRY_FROM_KEY,
    fallback_charsets,
)


@pytest.fixture
def harness(tmp_path: Path, host_env: dict[str, str]) -> Iterator[Harness]:
    with running(tmp_path / "data", host_env) as running_harness:
        yield running_harness


def amazon_moves_on(h: Harness) -> list[str]:
    """An hour and more after the last sync (the access token expired): new orders, one
    shipped, one cancelled. Returns the new open orders' ids."""
    h.sim.clock.advance(3700)
    known_open = sorted(h.truth_open())
    h.sim.ship_order(known_open[0])
    h.sim.cancel_order(known_open[1])
    new = [h.sim.add_order(marketplace=m)["amazon_order_id"] for m in ("DE", "FR", "UK", "DE")]
    h.sim.add_order(status="pending")
    return new


def seller_message(result: SyncResult, locale: str = "de") -> None:
    """The result's message is its code's text from the seller catalog (placeholders aside)."""
    template = messages.catalog(messages.language_of(locale))[result.code]
    fixed = [re.escape(part) for part in re.split(r"\{[a-z_]+\}", template)]
    assert re.fullmatch("(?s)" + ".*".join(fixed), result.message), (result.code, result.message)
    assert result.code in messages.catalog("en")


# ------------------------------------------------------------------------------ leak watch


class Watch:
    """Everything a sync could leak through: log records of every logger at DEBUG (urllib3
    included), printed output, results and the exceptions handed to the seller's diagnosis."""

    SECRET_SHAPES = ("Atza|", "Atzr|", "Atz.sprdt|", "amzn1.oa2-cs.")

    def __init__(self, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]):
        self.caplog = caplog
        self.capsys = capsys
        self.exceptions: list[BaseException] = []

    def assert_clean(self, h: Harness) -> None:
        records = self.caplog.records
        assert any(r.name.startswith("urllib3") for r in records)  # DEBUG reached everything
        ours = [r for r in records if r.name.startswith("hyreka_plugin_amazon")]
        out, err = self.capsys.readouterr()
        exceptions = [
            text
            for exc in self.exceptions
            for text in (str(exc), repr(exc), "".join(traceback.format_exception(exc)))
        ]
        everything = "\n".join(
            [self.caplog.text, out, err, *exceptions, *map(repr, h.results)]
            + [r.getMessage() for r in records]
            + [h.host.store.list_problems(h.account.id).__repr__()]
        )
        creds = h.sim.credentials
        needles = {*self.SECRET_SHAPES, creds.client_secret, creds.refresh_token}
        needles |= personal_data(h.sim.ground_truth())
        assert [n for n in needles if n in everything] == []
        # a pre-signed URL is a credential: our code never shows one (urllib3's DEBUG lines
        # do; the host keeps urllib3 at INFO, see refhost/logredaction.install)
        own = "\n".join([out, err, *exceptions, *map(repr, h.results)])
        own += "\n".join(self.caplog.handler.format(r) for r in ours)
        assert "/_download/" not in own


def personal_data(truth: list[dict[str, Any]]) -> set[str]:
    """Buyers' names, streets, phones, e-mails and VAT ids (values long enough to be telling)."""
    values: set[Any] = set()
    for order in truth:
        values.update((order["buyer_email"], order["buyer_tax_registration_id"]))
        for kind in ("billing_address", "shipping_address"):
            address = order[kind] or {}
            values.update((address.get("name"), address.get("phone"), *address.get("lines", ())))
    return {v for v in values if isinstance(v, str) and len(v) >= 5}


@pytest.fixture
def watch(
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> Watch:
    caplog.set_level(logging.DEBUG)  # the root logger: every library's records too
    seen = Watch(caplog, capsys)
    original = diagnostics.sync_failure

    def noting(exc: Exception, account: Account, **kwargs: Any) -> diagnostics.Diagnosis:
        seen.exceptions.append(exc)
        return original(exc, account, **kwargs)

    monkeypatch.setattr(diagnostics, "sync_failure", noting)
    return seen


# ------------------------------------------------------------------------------------ scenarios


@dataclass(frozen=True)
class Scenario:
    """A fault (specs as ``POST /_simulator/faults`` takes them) and what the seller sees."""

    id: str
    faults: tuple[dict[str, Any], ...]
    ok: bool
    code: str
    check: Callable[[Harness, SyncResult, list[str]], None] | None = None
    holds: bool = False  # an ok sync that holds its window open for the next sync


def _fault(name: str, **spec: Any) -> dict[str, Any]:
    return {"name": name, **spec}


def _persistent(name: str, **spec: Any) -> dict[str, Any]:
    return {"name": name, "rate": 1.0, **spec}


def _calls(operation: str, count: int) -> Callable[[Harness, SyncResult, list[str]], None]:
    def check(h: Harness, result: SyncResult, new: list[str]) -> None:
        assert result.api_calls[operation] == count, result.api_calls
        assert set(new) <= set(h.host_open())

    return check


def _imported(h: Harness, result: SyncResult, new: list[str]) -> None:
    assert set(new) <= set(h.host_open())
    h.assert_converged()


def _nothing_new(h: Harness, result: SyncResult, new: list[str]) -> None:
    assert not set(new) & set(h.host_open())
    assert result.created == 0


def _role_named(h: Harness, result: SyncResult, new: list[str]) -> None:
    _nothing_new(h, result, new)
    assert "Tax Invoicing (Restricted)" in result.message
    assert "Direct-to-Consumer" not in result.message


def _fatal_text(h: Harness, result: SyncResult, new: list[str]) -> None:
    assert "Report processing failed. Please request the report again." in result.message


def _billing_missing(h: Harness, result: SyncResult, new: list[str]) -> None:
    assert result.warnings == [messages.translate("sync.billing_missing", "de")]
    for order_id in new:
        order = h.host.store.get_order(h.account.id, order_id)
        assert order is not None
        assert order.billing_address is None
        assert order.billing_address_missing


def _no_mojibake(h: Harness, result: SyncResult, new: list[str]) -> None:
    assert not any("Ã" in str(order) for order in h.host_open().values())
    assert "DocumentDecodeError" in result.message


def _umlauts_intact(h: Harness, result: SyncResult, new: list[str]) -> None:
    _imported(h, result, new)
    assert any(c in str(h.host_open()) for c in "äöüßéè")


def _problem_rows(kind: str) -> Callable[[Harness, SyncResult, list[str]], None]:
    columns = {
        "missing_order_id": "order-id",
        "bad_number": "item-price",
        "bad_date": "purchase-date",
        "extra_tab": None,
    }

    def check(h: Harness, result: SyncResult, new: list[str]) -> None:
        assert result.problems, "the broken row is recorded"
        first = result.problems[0]
        assert (first.row, first.column) == (1, columns[kind])
        assert result.failed_rows >= 1
        assert h.host.store.list_problems(h.account.id) == result.problems
        truth = h.truth()
        for problem in result.problems:  # row, column and reason; never a buyer's data
            assert problem.row is not None
            assert problem.reason
            assert problem.amazon_order_id is None or problem.amazon_order_id in truth
        personal = {
            value
            for order in truth.values()
            for value in (order["buyer_email"], order["shipping_address"]["name"])
            if value
        }
        assert not any(value in str(result.problems) for value in personal)
        held = {p.amazon_order_id for p in result.problems} - {None}
        assert held
        assert held <= set(new)
        assert not held & set(h.host_open())  # not imported, not even in part
        assert set(new) - held <= set(h.host_open())  # the rest imports

    return check


SCENARIOS = [
    Scenario(
        "lwa_invalid_client",
        (_fault("lwa_invalid_client"),),
        False,
        "sync.auth_failed",
        _nothing_new,
    ),
    Scenario(
        "lwa_invalid_grant", (_fault("lwa_invalid_grant"),), False, "sync.auth_failed", _nothing_new
    ),
    Scenario(
        "token_expired",
        (_fault("token_expired", operation="getReport"),),  # in the middle of the sync
        True,
        "sync.ok",
        _calls("lwaToken", 2),  # the hour-old token renewed, then the refused one once
    ),
    Scenario("throttle", (_fault("throttle", count=2),), True, "sync.ok", _imported),
    Scenario(
        "throttle-budget-out",
        (_persistent("throttle", operation="getReport"),),
        False,
        "sync.throttled",
        _nothing_new,
    ),
    Scenario(
        "internal_error",
        (_fault("internal_error", operation="getReport", count=2),),
        True,
        "sync.ok",
        _imported,
    ),
    Scenario(
        "internal_error-persistent",
        (_persistent("internal_error"),),
        False,
        "sync.unavailable",
        _nothing_new,
    ),
    Scenario("unavailable", (_fault("unavailable", count=3),), True, "sync.ok", _imported),
    Scenario("unavailable-persistent", (_persistent("unavailable"),), False, "sync.unavailable"),
    Scenario(
        "drop_connection",
        (_fault("drop_connection", operation="getReportDocument"),),
        True,
        "sync.ok",
        _imported,
    ),
    Scenario(
        "drop_connection-createReport",
        (_fault("drop_connection", operation="createReport"),),
        False,
        "sync.unavailable",
        _nothing_new,
    ),
    Scenario(  # Amazon hands out the document, the answer is lost: read again
        "lost_response",
        (_fault("lost_response", operation="getReportDocument"),),
        True,
        "sync.ok",
        _imported,
    ),
    Scenario(  # Amazon made the report, the answer is lost: never asked twice in one sync
        "lost_response-createReport",
        (_fault("lost_response", operation="createReport"),),
        False,
        "sync.unavailable",
        _nothing_new,
    ),
    Scenario(  # Amazon made the report, then said 500: a POST is not sent twice either
        "lost_response-500-createReport",
        (_fault("lost_response", operation="createReport", status=500),),
        False,
        "sync.unavailable",
        _nothing_new,
    ),
    Scenario(
        "slow_response",
        (_fault("slow_response", delay=READ_TIMEOUT + 1.0, operation="getReport"),),
        True,
        "sync.ok",
        _imported,
    ),
    Scenario("invalid_input", (_fault("invalid_input"),), False, "sync.error", _nothing_new),
    Scenario("not_found", (_fault("not_found", operation="getReport"),), False, "sync.error"),
    Scenario(
        "report_fatal",
        (_fault("report_fatal", report_type=INVOICING),),
        False,
        "sync.report_fatal",
        _fatal_text,
    ),
    Scenario(
        "report_fatal-status",
        (_fault("report_fatal", report_type=ALL_ORDERS),),
        False,
        "sync.report_fatal",
        _fatal_text,
    ),
    Scenario(
        "report_cancelled",
        (_fault("report_cancelled", report_type=INVOICING),),
        True,
        "sync.ok",
        _nothing_new,
        holds=True,
    ),
    Scenario(
        "report_cancelled-status",
        (_fault("report_cancelled", report_type=ALL_ORDERS),),
        True,
        "sync.ok",
        _nothing_new,
        holds=True,
    ),
    Scenario(
        "order_reports_not_enabled",
        (_fault("order_reports_not_enabled"),),
        False,
        "sync.order_reports_not_enabled",
        _nothing_new,
    ),
    Scenario(
        "billing_columns_disabled",
        (_fault("billing_columns_disabled"),),
        True,
        "sync.ok",
        _billing_missing,
        holds=True,
    ),
    Scenario(  # Amazon refuses the RDT with a 400, which no client repeats: the next converges
        "restricted_role_missing-once",
        (_fault("restricted_role_missing", on="rdt"),),
        False,
        "sync.restricted_role_missing",
        _role_named,
    ),
    *(
        Scenario(
            f"restricted_role_missing-{stage}",
            (_persistent("restricted_role_missing", on=stage),),
            False,
            "sync.restricted_role_missing",
            _role_named,
        )
        for stage in ("create", "rdt", "document")
    ),
    Scenario(
        "header_only",
        (_fault("header_only", report_type=INVOICING),),
        True,
        "sync.ok",
        _nothing_new,
        holds=True,
    ),
    Scenario(
        "header_only-status",
        (_fault("header_only", report_type=ALL_ORDERS),),
        True,
        "sync.ok",
        _nothing_new,
        holds=True,
    ),
    *(
        Scenario(
            f"malformed_rows-{kind}",
            (_fault("malformed_rows", kinds=kind, report_type=INVOICING),),
            True,
            "sync.ok",
            _problem_rows(kind),
            holds=True,
        )
        for kind in MALFORMED_KINDS
        if kind not in ("crlf", "bom")
    ),
    *(
        Scenario(
            f"malformed_rows-{kind}",
            (_fault("malformed_rows", kinds=kind, report_type=INVOICING),),
            True,
            "sync.ok",
            _imported,
        )
        for kind in ("crlf", "bom")
    ),
    Scenario(
        "malformed_rows-status",
        (_fault("malformed_rows", report_type=ALL_ORDERS),),
        True,
        "sync.ok",
        holds=True,
    ),
    Scenario(  # the status report is read for statuses only: a bad price there is no doubt
        "malformed_rows-status-bad_number",
        (_fault("malformed_rows", kinds="bad_number", report_type=ALL_ORDERS),),
        True,
        "sync.ok",
        _imported,
    ),
    Scenario("double_gzip", (_fault("double_gzip", count=2),), True, "sync.ok", _imported),
    Scenario(
        "truncated_gzip",
        (_fault("truncated_gzip", report_type=INVOICING),),
        True,
        "sync.ok",
        _calls("download", 3),
    ),
    Scenario(
        "truncated_gzip-persistent",
        (_persistent("truncated_gzip", report_type=INVOICING),),
        False,
        "sync.document_error",
        _nothing_new,
    ),
    Scenario(
        "url_expired",
        (
            _fault("url_expired", report_type=INVOICING),
            _fault("url_expired", report_type=ALL_ORDERS),
        ),
        True,
        "sync.ok",
        _calls("getReportDocument", 4),
    ),
    Scenario(
        "url_expired-persistent",
        (_persistent("url_expired"),),
        False,
        "sync.document_error",
        _nothing_new,
    ),
    Scenario(
        "charset_missing", (_fault("charset_missing", count=2),), True, "sync.ok", _umlauts_intact
    ),
    Scenario(
        "charset_wrong",
        (_fault("charset_wrong", report_type=INVOICING),),
        False,
        "sync.document_error",
        _no_mojibake,
    ),
    # the invoice feed's faults: a sync never sends a feed, so they leave it alone
    Scenario(
        "invoice_role_missing", (_persistent("invoice_role_missing"),), True, "sync.ok", _imported
    ),
    Scenario("vcs_account", (_persistent("vcs_account"),), True, "sync.ok", _imported),
    Scenario("feed_fatal", (_persistent("feed_fatal"),), True, "sync.ok", _imported),
]


def test_every_simulator_fault_has_a_scenario() -> None:
    covered = {spec["name"] for scenario in SCENARIOS for spec in scenario.faults}
    # the consent page's fault strikes the website authorization, never a sync
    # (tests/test_connect_simulator.py, tests/test_connect_console.py)
    assert covered == set(FAULT_PARAMS) - {"authorization_denied"}
    kinds = {spec.get("kinds") for s in SCENARIOS for spec in s.faults}
    assert set(MALFORMED_KINDS) <= kinds


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_fault_then_convergence_and_no_leak(
    harness: Harness, scenario: Scenario, watch: Watch
) -> None:
    h = harness
    first = h.sync()
    assert first.ok, first.message
    h.assert_converged()
    h.sim.clock.advance(2 * 3600)
    quiet = h.sync()  # the next window holds only what happens from now on
    assert (quiet.ok, quiet.created, quiet.updated) == (True, 0, 0), quiet.message
    new = amazon_moves_on(h)
    cursor, retry_from = h.state(CURSOR_KEY), h.state(RETRY_FROM_KEY)

    for spec in scenario.faults:
        add_fault(h.sim, **spec)
    result = h.sync()

    assert (result.ok, result.code) == (scenario.ok, scenario.code), result.message
    seller_message(result)
    if scenario.check is not None:
        scenario.check(h, result, new)
    if scenario.id != "billing_columns_disabled":
        h.assert_nothing_wrong()
    if result.ok:
        assert h.state(CURSOR_KEY) == result.window_end.isoformat()  # type: ignore[union-attr]
        assert (h.state(RETRY_FROM_KEY) is not None) == scenario.holds
    else:
        assert (h.state(CURSOR_KEY), h.state(RETRY_FROM_KEY)) == (cursor, retry_from)

    h.sim.faults.clear()
    h.sim.clock.advance(2 * 3600)  # beyond the overlap: only cursor or hold bring the window back
    after = h.sync()
    assert after.ok, after.message
    h.assert_converged()
    assert h.state(RETRY_FROM_KEY) is None
    assert not h.host.store.list_problems(h.account.id)

    again = h.sync()
    assert (again.ok, again.created, again.updated) == (True, 0, 0)
    h.assert_converged()
    if not scenario.ok:
        assert watch.exceptions
    watch.assert_clean(h)


# ------------------------------------------------------------------------- specific behaviours


def _two_syncs_in(h: Harness) -> None:
    """A first sync, then two quiet hours and a second: later windows start from now."""
    assert h.sync().ok
    h.sim.clock.advance(2 * 3600)
    assert h.sync().ok


def test_wrong_app_credentials_and_revoked_token_say_different_things(harness: Harness) -> None:
    h = harness
    texts = {}
    for fault, advice in (
        ("lwa_invalid_client", "login.invalid_client"),
        ("lwa_invalid_grant", "login.invalid_grant"),
    ):
        h.sim.clock.advance(3700)  # the cached access token has expired
        add_fault(h.sim, fault)
        result = h.sync()
        assert (result.ok, result.code) == (False, "sync.auth_failed")  # pauses the schedule
        assert messages.translate(advice, "de") in result.message
        texts[fault] = result.message
    assert texts["lwa_invalid_client"] != texts["lwa_invalid_grant"]
    assert h.state(CURSOR_KEY) is None


def test_problem_order_is_retried_at_every_sync_until_it_imports(harness: Harness) -> None:
    h = harness
    _two_syncs_in(h)
    new = amazon_moves_on(h)
    add_fault(h.sim, "malformed_rows", kinds="bad_number", report_type=INVOICING, count=3)
    held_from = None
    for _ in range(3):
        result = h.sync()
        assert result.ok
        (problem,) = result.problems
        assert (problem.row, problem.column) == (1, "item-price")
        assert problem.reason.startswith("a decimal comma, not a point")  # the fault writes 9,90
        assert problem.amazon_order_id == new[0]
        assert new[0] not in h.host_open()
        assert set(new[1:]) <= set(h.host_open())
        held_from = held_from or h.state(RETRY_FROM_KEY)
        assert h.state(RETRY_FROM_KEY) == held_from  # the window stays open from its start
        h.sim.clock.advance(3 * 3600)  # far beyond the overlap
    fixed = h.sync()
    assert (fixed.ok, fixed.created, fixed.problems) == (True, 1, [])
    assert h.state(RETRY_FROM_KEY) is None
    h.assert_converged()


def test_dismissed_problem_no_longer_holds_the_window(harness: Harness) -> None:
    h = harness
    _two_syncs_in(h)
    new = amazon_moves_on(h)
    add_fault(h.sim, "malformed_rows", kinds="bad_date", report_type=INVOICING, rate=1.0)
    held = h.sync()
    assert [p.amazon_order_id for p in held.problems] == [new[0]]
    assert h.state(RETRY_FROM_KEY) is not None

    h.host.dismiss_problem(h.account.name, new[0])  # the seller gives up on it
    h.sim.clock.advance(3 * 3600)
    released = h.sync()
    assert (released.ok, released.problems, released.failed_rows) == (True, [], 0)
    assert h.state(RETRY_FROM_KEY) is None
    assert h.host.store.list_problems(h.account.id) == []
    assert released.window_start is not None
    assert released.window_start <= held.window_start  # type: ignore[operator]

    h.sim.clock.advance(3 * 3600)
    later = h.sync()
    assert later.window_start == released.window_end - timedelta(minutes=60)  # type: ignore[operator]
    assert new[0] not in h.host_open()
    assert set(new[1:]) <= set(h.host_open())


def test_row_without_order_id_never_lets_its_order_in_half(harness: Harness) -> None:
    h = harness
    _two_syncs_in(h)
    h.sim.clock.advance(3700)
    while True:  # the report's first row is the first line of a two-line order
        order = h.sim.add_order(marketplace="DE")
        if len(order["lines"]) >= 2:
            break
        h.sim.cancel_order(order["amazon_order_id"])  # order reports leave it out
    multi = order["amazon_order_id"]
    others = [h.sim.add_order(marketplace=m)["amazon_order_id"] for m in ("FR", "IT")]
    add_fault(h.sim, "malformed_rows", kinds="missing_order_id", report_type=INVOICING)

    result = h.sync()
    assert result.ok
    assert [(p.amazon_order_id, p.row, p.column) for p in result.problems] == [
        (None, 1, "order-id"),
        (multi, 2, None),
    ]
    assert multi not in h.host_open()
    assert set(others) <= set(h.host_open())
    h.assert_nothing_wrong()

    after = h.sync()
    assert (after.ok, after.problems) == (True, [])
    h.assert_converged()


def test_cancelled_order_report_holds_the_window_until_a_report_has_rows(
    harness: Harness,
) -> None:
    h = harness
    _two_syncs_in(h)
    new = amazon_moves_on(h)
    add_fault(h.sim, "report_cancelled", report_type=INVOICING, count=3)
    for _ in range(3):
        result = h.sync()
        assert (result.ok, result.code, result.created) == (True, "sync.ok", 0)
        assert result.window_end is not None
        assert h.state(CURSOR_KEY) == result.window_end.isoformat()  # the cursor advances
        h.sim.clock.advance(3 * 3600)
    assert not set(new) & set(h.host_open())
    result = h.sync()
    assert result.created == len(new)
    h.assert_converged()
    assert h.state(RETRY_FROM_KEY) is None


def test_fallback_charset_after_utf8() -> None:
    def account(*codes: str) -> Account:
        ids = tuple(marketplace(code).id for code in codes)
        return Account("a", "a", "amazon", "eu", ids, "c", Secret("s"), Secret("r"))

    assert fallback_charsets(account("DE", "FR")) == ("cp1252",)
    assert fallback_charsets(account("JP")) == ("cp932",)
    assert fallback_charsets(account("US")) == ("cp1252",)
