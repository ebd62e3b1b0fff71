"""``hyreka-amazon invoice`` and ``invoices`` end to end against the simulator, in-process through
``cli.main``, on SQLite and on PostgreSQL.

An invoice is accepted and listed; the same command twice and a lost answer give one document
at Amazon; what the host can tell is wrong is refused before anything is stored or sent;
Amazon's refusal is shown with its reason until corrected; a credit note; pending uploads go
out with ``invoice --retry``, the job ``run`` schedules and the workers' job.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

import pytest
from helpers.cli import clean_environment, set_secrets
from helpers.feeds import invoices_at_amazon
from helpers.sim import add_fault

from hyreka_plugin_amazon.refhost.background.poller import Poller
from hyreka_plugin_amazon.refhost.background.workers import WorkerSetup, run_sync
from hyreka_plugin_amazon.refhost.cli import main as cli
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.services import auditing
from hyreka_plugin_amazon.refhost.store.postgres import DATABASE_ENV
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.ordermodel import AmazonState, SimOrder
from hyreka_plugin_amazon.spapi import transport

PDF = b"%PDF-1.7\n% Rechnung RE-1\n%%EOF\n"
ROW_KEYS = {"amazon_order_id", "invoice_number", "document_type", "state", "reason", "feed_id"}


class Cli:
    """Runs ``cli.main`` in-process on one data folder."""

    def __init__(self, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.data = data
        self.capsys = capsys

    def __call__(self, *args: str, code: int = 0) -> str:
        exit_code = cli.main([*args, "--data", str(self.data)])
        out, err = self.capsys.readouterr()
        assert exit_code == code, out + err
        assert "Traceback" not in err
        return out + err

    def rows(self, *args: str) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = json.loads(self("invoices", "--json", *args))
        return rows


@pytest.fixture
def run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    host_env: dict[str, str],
    simulator: Simulator,
    database: str | None,
) -> Cli:
    clean_environment(monkeypatch, host_env)
    if database is not None:
        monkeypatch.setenv(DATABASE_ENV, database)
    monkeypatch.setattr(transport, "BACKOFF_BASE", 0.001)  # retries without wall-clock waits
    set_secrets(simulator, monkeypatch)
    runner = Cli(tmp_path / "data", capsys)
    runner(
        "account", "add", "shop", "--marketplace", "DE", "--marketplace", "FR",
        "--endpoint", simulator.url, "--token-url", simulator.token_url,
        "--setting", "poll_interval=0.05", "--setting", "max_poll_interval=0.2",
        "--setting", "fba_orders=false",
    )  # fmt: skip
    runner("sync", "shop")
    return runner


@pytest.fixture
def pdf(tmp_path: Path) -> Path:
    path = tmp_path / "RE-1.pdf"
    path.write_bytes(PDF)
    return path


def shipped(sim: Simulator, run: Cli, skip: int = 0) -> SimOrder:
    """An open seller-fulfilled order of Amazon.de the host imported, shipped now (by hand,
    at Amazon) and synced again: the host knows it as shipped."""
    now = sim.clock.now()
    imported = {o["amazon_order_id"] for o in json.loads(run("orders", "--json"))}
    found = [
        o
        for o in sorted(sim.orders.values(), key=lambda o: o.order_id)
        if o.order_id in imported
        and o.fulfillment_channel == "MFN"
        and o.marketplace.code == "DE"
        and o.state(now) is AmazonState.UNSHIPPED
        and o.host_order(now).total is not None
    ]
    order = found[skip]
    sim.ship_order(order.order_id)
    run("sync", "shop")
    return order


def create_feed_calls(sim: Simulator) -> int:
    stats = sim.stats.snapshot().get(sim.default_seller.seller_id, {})
    return int(stats.get("createFeed", {}).get("calls", 0))


def test_an_invoice_is_accepted_listed_and_never_sent_twice(
    run: Cli, simulator: Simulator, pdf: Path
) -> None:
    order = shipped(simulator, run)
    out = run("invoice", order.order_id, "--file", str(pdf), "--number", "RE-1", "--json")
    row = json.loads(out)
    assert set(row) >= ROW_KEYS
    assert (row["state"], row["document_type"], row["invoice_number"]) == (
        "accepted",
        "invoice",
        "RE-1",
    )
    total = order.host_order(simulator.clock.now()).total
    assert row["total_amount"] == str(total)  # the default: what Amazon charged
    [listed] = run.rows()
    assert {k: listed[k] for k in ROW_KEYS} == {k: row[k] for k in ROW_KEYS}
    again = run("invoice", order.order_id, "--file", str(pdf), "--number", "RE-1")
    assert again.startswith("OK: Amazon hat die Rechnung RE-1")
    [at_amazon] = invoices_at_amazon(simulator, order.order_id)
    assert at_amazon["feed_id"] == row["feed_id"]
    assert create_feed_calls(simulator) == 1
    assert run.rows("--state", "accepted") == run.rows()
    assert run.rows("--state", "refused") == []


def test_a_lost_answer_stays_pending_and_retry_sends_it_once(
    run: Cli, simulator: Simulator, pdf: Path
) -> None:
    order = shipped(simulator, run)
    add_fault(simulator, "lost_response", operation="createFeed")
    out = run("invoice", order.order_id, "--file", str(pdf), "--number", "RE-1", code=75)
    assert out.startswith("VORGEMERKT: Amazon war nicht erreichbar")
    [row] = run.rows("--state", "pending")
    assert row["amazon_order_id"] == order.order_id
    retry = run("invoice", "--retry")
    assert "Rechnungen: 1 angenommen, 0 abgelehnt, 0 weiter vorgemerkt" in retry
    assert [r["state"] for r in run.rows()] == ["accepted"]
    assert len(invoices_at_amazon(simulator, order.order_id)) == 1
    assert create_feed_calls(simulator) == 1
    assert run("invoice", "--retry") == "Keine Rechnungen vorgemerkt.\n"


def test_what_the_host_can_tell_is_wrong_is_refused_before_anything_is_stored(
    run: Cli, simulator: Simulator, pdf: Path, tmp_path: Path
) -> None:
    order = shipped(simulator, run)
    html = tmp_path / "invoice.html"
    html.write_bytes(b"<html>RE-1</html>")
    base = ("invoice", order.order_id, "--number", "RE-1")
    assert "kein PDF" in run(*base, "--file", str(html), code=2)
    assert "nicht lesen" in run(*base, "--file", str(tmp_path / "missing.pdf"), code=2)
    assert "nicht bekannt" in run("invoice", "999-0000000-0000000", "--file", str(pdf),
                                  "--number", "R", code=2)  # fmt: skip
    open_order = simulator.add_order(status="open", marketplace="DE")["amazon_order_id"]
    run("sync", "shop")
    assert "noch nicht versandt" in run(
        "invoice", open_order, "--file", str(pdf), "--number", "R", code=2
    )
    assert "--transaction-id" in run(*base, "--file", str(pdf), "--type", "credit-note", code=2)
    assert "in USD" in run(*base, "--file", str(pdf), "--total", "10.00 USD", code=2)
    assert "zwei Nachkommastellen" in run(*base, "--file", str(pdf), "--total", "1.234", code=2)
    assert "Semikolon" in run("invoice", order.order_id, "--file", str(pdf), "--number",
                              "R;1", code=2)  # fmt: skip
    assert run.rows() == []
    assert create_feed_calls(simulator) == 0


def test_amazons_refusal_stays_visible_until_corrected(
    run: Cli, simulator: Simulator, pdf: Path
) -> None:
    order = shipped(simulator, run)
    wrong = run(
        "--lang", "en", "invoice", order.order_id, "--file", str(pdf), "--number", "RE-1",
        "--total", "1.00", "--vat", "0.16", code=1,
    )  # fmt: skip
    assert wrong.startswith(f"ERROR: Amazon refused invoice RE-1 for order {order.order_id}: ")
    assert "does not match the order total" in wrong
    [row] = run.rows("--state", "refused")
    assert "does not match the order total" in row["reason"]
    listed = run("--lang", "en", "invoices")
    assert f"{order.order_id}  RE-1  invoice  refused" in listed
    run("invoice", order.order_id, "--file", str(pdf), "--number", "RE-1")  # the right total
    assert [(r["state"], r["reason"].startswith("Amazon hat")) for r in run.rows()] == [
        ("accepted", True)
    ]
    assert len(invoices_at_amazon(simulator, order.order_id)) == 1


def test_a_refused_invoice_can_be_withdrawn_and_nothing_else_can(
    run: Cli, simulator: Simulator, pdf: Path, database: str | None
) -> None:
    order = shipped(simulator, run, skip=1)
    run(
        "invoice", order.order_id, "--file", str(pdf), "--number", "RE-9",
        "--total", "1.00", "--vat", "0.16", code=1,
    )  # fmt: skip
    accepted = shipped(simulator, run, skip=2)
    run("invoice", accepted.order_id, "--file", str(pdf), "--number", "RE-10")
    calls = create_feed_calls(simulator)

    done = run("--lang", "de", "invoice", order.order_id, "--number", "RE-9", "--withdraw")

    assert f"Rechnung RE-9 der Bestellung {order.order_id} zurückgezogen" in done
    assert [(r["amazon_order_id"], r["state"]) for r in run.rows()] == [
        (accepted.order_id, "accepted")
    ]
    again = run("--lang", "en", "invoice", order.order_id, "--number", "RE-9", "--withdraw", code=2)
    assert f"Order {order.order_id} has no refused invoice RE-9" in again
    kept = run(
        "--lang", "en", "invoice", accepted.order_id, "--number", "RE-10", "--withdraw", code=2
    )  # an accepted invoice is Amazon's: never withdrawn here
    assert "no refused invoice RE-10" in kept
    assert [r["state"] for r in run.rows()] == ["accepted"]
    needs = run("--lang", "de", "invoice", order.order_id, "--withdraw", code=2)
    assert "invoice --withdraw braucht ORDER_ID und --number" in needs
    assert create_feed_calls(simulator) == calls  # nothing sent
    [withdrawn] = [
        e for e in auditing.entries(run.data, database) if e.action.startswith("invoice")
    ]
    assert (withdrawn.action, withdrawn.account, dict(withdrawn.facts)) == (
        "invoice.withdrawn",
        "shop",
        {"order": order.order_id, "number": "RE-9", "document_type": "invoice"},
    )


def test_a_credit_note(run: Cli, simulator: Simulator, pdf: Path) -> None:
    order = shipped(simulator, run)
    run("invoice", order.order_id, "--file", str(pdf), "--number", "RE-1")
    run(
        "invoice", order.order_id, "--file", str(pdf), "--number", "GS-1", "--type",
        "credit-note", "--total", "5,00 EUR", "--vat", "0.80", "--transaction-id", "amzn:crow:1",
    )  # fmt: skip
    kinds = [(i["invoice_number"], i["document_type"]) for i in invoices_at_amazon(simulator)]
    assert kinds == [("RE-1", "Invoice"), ("GS-1", "CreditNote")]
    assert [r["document_type"] for r in run.rows()] == ["invoice", "credit-note"]


def test_pending_invoices_go_out_with_the_job_run_schedules(
    run: Cli, simulator: Simulator, pdf: Path, tmp_path: Path
) -> None:
    order = shipped(simulator, run)
    add_fault(simulator, "unavailable", operation="createFeedDocument", count=5)
    run("invoice", order.order_id, "--file", str(pdf), "--number", "RE-1", code=75)
    with ReferenceHost(tmp_path / "data", env=dict(os.environ)) as host:  # as the CLI
        account = host.store.get_account("shop")
        result = Poller(host).run_account(account.id)  # what `run` does for the account
        assert result is not None
        assert result.ok, result.message
    assert [r["state"] for r in run.rows()] == ["accepted"]
    assert len(invoices_at_amazon(simulator, order.order_id)) == 1


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
def test_pending_invoices_go_out_with_the_workers_job(
    run: Cli, simulator: Simulator, pdf: Path, tmp_path: Path
) -> None:
    order = shipped(simulator, run)
    add_fault(simulator, "lost_response", operation="createFeed", status=500)
    run("invoice", order.order_id, "--file", str(pdf), "--number", "RE-1", code=75)
    with ReferenceHost(tmp_path / "data", env=dict(os.environ)) as host:  # as the CLI
        account = host.store.get_account("shop")
        setup = WorkerSetup(host=host, dispatch_s=60, heartbeat_s=5)
        result = run_sync(setup, Poller(host), account.id, threading.Lock())
        assert result is not None
        assert result.ok, result.message
    assert [r["state"] for r in run.rows()] == ["accepted"]
    assert len(invoices_at_amazon(simulator, order.order_id)) == 1
    assert create_feed_calls(simulator) == 1
