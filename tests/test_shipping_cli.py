"""``hyreka-amazon ship`` end to end against the simulator, in-process through ``cli.main``.

A confirmation lands once; with 500s, dropped connections and 429s on confirmShipment exactly
one package is at Amazon once the faults clear and the next sync ran; an unknown carrier is
refused without a call; a partial shipment keeps the order open; the next sync shows fully
confirmed orders as shipped.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers.cli import clean_environment, set_secrets
from helpers.sim import TIMEOUT, add_fault

from hyreka_plugin_amazon.refhost.cli import main as cli
from hyreka_plugin_amazon.refhost.services import auditing
from hyreka_plugin_amazon.refhost.store.postgres import DATABASE_ENV
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.ordermodel import AmazonState, SimOrder
from hyreka_plugin_amazon.spapi import transport


class Cli:
    """Runs ``cli.main`` in-process on one data folder."""

    def __init__(self, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.data = data
        self.capsys = capsys

    def __call__(self, *args: str, code: int = 0) -> str:
        exit_code = cli.main([*args, "--data", str(self.data)])
        out, self.err = self.capsys.readouterr()
        assert exit_code == code, out + self.err
        return out

    def orders(self) -> dict[str, dict[str, Any]]:
        return {o["amazon_order_id"]: o for o in json.loads(self("orders", "--json"))}


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
        "--marketplace", "IT", "--marketplace", "ES", "--marketplace", "UK",
        "--endpoint", simulator.url, "--token-url", simulator.token_url,
        "--setting", "poll_interval=0.05", "--setting", "max_poll_interval=0.2",
    )  # fmt: skip
    runner("sync", "shop")
    return runner


def unshipped(sim: Simulator, *, min_items: int = 1, skip: int = 0) -> SimOrder:
    now = sim.clock.now()
    found = [
        o
        for o in sorted(sim.orders.values(), key=lambda o: o.order_id)
        if o.fulfillment_channel == "MFN"
        and o.state(now) is AmazonState.UNSHIPPED
        and len(o.items) >= min_items
    ]
    return found[skip]


def amazon_packages(sim: Simulator, order_id: str) -> list[dict[str, Any]]:
    orders = requests.get(f"{sim.url}/_simulator/orders", timeout=TIMEOUT).json()["orders"]
    found: list[dict[str, Any]] = next(
        o["packages"] for o in orders if o["amazon_order_id"] == order_id
    )
    return found


def confirm_calls(sim: Simulator) -> int:
    sellers = requests.get(f"{sim.url}/_simulator/stats", timeout=TIMEOUT).json()["sellers"]
    return sum(ops.get("confirmShipment", {}).get("calls", 0) for ops in sellers.values())


def test_a_confirmation_lands_once_and_the_next_sync_shows_it_shipped(
    run: Cli, simulator: Simulator
) -> None:
    order = unshipped(simulator)
    out = run(
        "ship", order.order_id, "--carrier", "DHL Paket", "--method", "DHL Paket",
        "--tracking", "00340434161234567890", "--ship-date", "2026-12-02T09:00:00+01:00",
    )  # fmt: skip
    assert out.startswith("OK: Versand an Amazon bestätigt (Paket 1).")
    packages = amazon_packages(simulator, order.order_id)
    assert len(packages) == 1
    assert packages[0]["carrier_code"] == "DHL"
    assert packages[0]["tracking_number"] == "00340434161234567890"
    assert packages[0]["ship_date"] == "2026-12-02T08:00:00+00:00"
    host = run.orders()[order.order_id]
    assert host["status"] == "open"  # Amazon's status arrives with the next sync
    assert [(p["package_id"], p["state"]) for p in host["packages"]] == [(1, "confirmed")]
    run("sync", "shop")
    assert run.orders()[order.order_id]["status"] == "shipped"
    assert run("ship", "--retry") == "Keine Versandbestätigungen offen.\n"
    assert len(amazon_packages(simulator, order.order_id)) == 1


def test_an_unknown_carrier_is_refused_without_a_call_and_can_be_corrected(
    run: Cli, simulator: Simulator
) -> None:
    order = unshipped(simulator)
    before = confirm_calls(simulator)
    out = run("ship", order.order_id, "--carrier", "DHX", "--tracking", "123", code=1)
    assert out.startswith("FEHLER: Amazon kennt den Versanddienst „DHX“ nicht.")
    assert "DHL" in out
    assert confirm_calls(simulator) == before
    refused = run.orders()[order.order_id]["packages"]
    assert [(p["package_id"], p["state"], p["code"]) for p in refused] == [
        (1, "refused", "ship.unknown_carrier")
    ]
    out = run("--lang", "en", "ship", order.order_id, "--carrier", "Other", "--tracking", "1",
              "--package", "1", code=1)  # fmt: skip
    assert "Other" in out
    assert "carrier's name" in out
    run("ship", order.order_id, "--carrier", "dhl", "--tracking", "123", "--package", "1")
    assert [p["state"] for p in run.orders()[order.order_id]["packages"]] == ["confirmed"]
    assert confirm_calls(simulator) == before + 1
    assert len(amazon_packages(simulator, order.order_id)) == 1


def test_a_refused_package_is_withdrawn_and_nothing_else_is(
    run: Cli, simulator: Simulator, database: str | None
) -> None:
    order, other = unshipped(simulator, skip=1), unshipped(simulator, skip=2)
    run("ship", order.order_id, "--carrier", "DHX", "--tracking", "W1", code=1)  # refused
    run("ship", other.order_id, "--carrier", "DHL", "--tracking", "W2")  # confirmed: package 2
    calls = confirm_calls(simulator)

    out = run("ship", order.order_id, "--package", "1", "--withdraw")

    assert out == (
        f"Paket 1 der Bestellung {order.order_id} zurückgezogen: es wird nicht gesendet, "
        "seine Artikel gelten wieder als zu versenden.\n"
    )
    assert run.orders()[order.order_id]["packages"] == []
    run("--lang", "en", "ship", order.order_id, "--package", "1", "--withdraw", code=2)
    assert f"Order {order.order_id} has no refused package 1" in run.err
    run("--lang", "en", "ship", other.order_id, "--package", "2", "--withdraw", code=2)
    assert "no refused package 2" in run.err  # a confirmed package is Amazon's: it stays
    assert [p["state"] for p in run.orders()[other.order_id]["packages"]] == ["confirmed"]
    run("--lang", "en", "ship", order.order_id, "--withdraw", code=2)
    assert "ship --withdraw needs ORDER_ID and --package N" in run.err
    assert confirm_calls(simulator) == calls
    [entry] = [e for e in auditing.entries(run.data, database) if e.action == "shipment.withdrawn"]
    assert (entry.account, dict(entry.facts)) == ("shop", {"order": order.order_id, "package": 1})
    # its items are left again: the next "every item" package takes them, under number 3
    run("ship", order.order_id, "--carrier", "DHL", "--tracking", "W3")
    assert [(p["package_id"], p["state"]) for p in run.orders()[order.order_id]["packages"]] == [
        (3, "confirmed")
    ]


def test_with_faults_exactly_one_package_is_at_amazon_after_the_next_sync(
    run: Cli, simulator: Simulator
) -> None:
    order = unshipped(simulator)
    add_fault(simulator, "internal_error", operation="confirmShipment", count=5)
    out = run("ship", order.order_id, "--carrier", "DPD", "--tracking", "0150", code=75)
    assert out.startswith("VORGEMERKT (Paket 1): Amazon war nicht erreichbar")
    assert amazon_packages(simulator, order.order_id) == []
    add_fault(simulator, "drop_connection", operation="confirmShipment", count=3)
    add_fault(simulator, "throttle", operation="confirmShipment", count=2)
    out = run("ship", "--retry", code=75)  # five attempts: three drops, two 429s
    assert "0 bestätigt, 0 abgelehnt, 1 weiter vorgemerkt" in out
    assert [p["state"] for p in run.orders()[order.order_id]["packages"]] == ["pending"]
    run("sync", "shop")  # the faults cleared: sends what is pending, then syncs
    assert len(amazon_packages(simulator, order.order_id)) == 1
    host = run.orders()[order.order_id]
    assert [(p["package_id"], p["state"]) for p in host["packages"]] == [(1, "confirmed")]
    assert host["status"] == "shipped"
    run("sync", "shop")
    assert len(amazon_packages(simulator, order.order_id)) == 1


def test_a_partial_shipment_keeps_the_order_open(run: Cli, simulator: Simulator) -> None:
    order = unshipped(simulator, min_items=2)
    first, *rest = order.items
    item = f"{first.order_item_id}={first.quantity}"
    run("ship", order.order_id, "--carrier", "Hermes", "--tracking", "H1", "--item", item)
    run("sync", "shop")
    host = run.orders()[order.order_id]
    assert host["status"] == "open"
    assert order.state(simulator.clock.now()) is AmazonState.PARTIALLY_SHIPPED
    run("ship", order.order_id, "--carrier", "GLS", "--tracking", "G2")  # the rest
    second = amazon_packages(simulator, order.order_id)[1]["items"]
    assert second == [{"order_item_id": i.order_item_id, "quantity": i.quantity} for i in rest]
    run("sync", "shop")
    host = run.orders()[order.order_id]
    assert host["status"] == "shipped"
    assert [p["package_id"] for p in host["packages"]] == [1, 2]
    out = run("ship", order.order_id, "--carrier", "GLS", "--tracking", "G3", code=2)
    assert out == ""  # "already in a package": an input error, nothing recorded


def test_bad_input_is_refused_with_a_clear_error(
    run: Cli, simulator: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    order = unshipped(simulator)
    assert cli.main(["ship", order.order_id, "--carrier", "DHL", "--data", str(run.data)]) == 2
    assert "--tracking" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.main(["ship", order.order_id, "--carrier", "DHL", "--tracking", "1",
                  "--item", "123=0", "--data", str(run.data)])  # fmt: skip
    assert "123=0: schreiben Sie ORDER_ITEM_ID=MENGE" in capsys.readouterr().err  # German run
    with pytest.raises(SystemExit):
        cli.main(["ship", order.order_id, "--carrier", "DHL", "--tracking", "1",
                  "--ship-date", "02/21/2022", "--data", str(run.data)])  # fmt: skip
    assert "kein Datum: 02/21/2022 (z. B. 06.12.2026" in capsys.readouterr().err
    assert run.orders()[order.order_id]["packages"] == []


def test_ship_json_names_the_package_and_its_state(run: Cli, simulator: Simulator) -> None:
    order = unshipped(simulator, skip=1)
    out = run("--lang", "en", "ship", order.order_id, "--carrier", "UPS", "--tracking",
              "1Z999", "--json")  # fmt: skip
    assert json.loads(out) == {
        "amazon_order_id": order.order_id,
        "package_id": 1,
        "state": "confirmed",
        "code": "ship.confirmed",
        "message": "Shipment confirmed to Amazon (package 1).",
        "needs_reauthorization": False,
    }
    assert json.loads(run("ship", "--retry", "--json")) == []
