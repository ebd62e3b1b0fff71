"""One package per confirmation, whatever is sent again (issue 24, items 1, 3 and 7).

Performed with the simulator as Amazon's truth, on SQLite and a real PostgreSQL where the
outbox is involved: Amazon takes a confirmShipment but its answer is lost (``ship`` exits 75),
then the same ``hyreka-amazon ship`` runs again in a process of its own, and again after
Amazon confirmed it; "Versand bestätigen" submitted twice with the same one-time token while
the first is still at Amazon; ``ship --retry`` after a lost answer; a package corrected while
``ship --retry`` sends it (the send held at a gate); and the shipping checks: an order the
host knows is cancelled, an order Amazon counts as shipped without a package of the host.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography.fernet import Fernet
from helpers.accounts import simulator_account
from helpers.gate import WAIT_S
from helpers.sim import TIMEOUT, add_fault

from hyreka_plugin_amazon.contract import (
    Account,
    Shipment,
    ShipmentItem,
    ShipmentOutcome,
    ShipmentState,
)
from hyreka_plugin_amazon.hookspecs import hookimpl
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV
from hyreka_plugin_amazon.refhost.store.postgres import DATABASE_ENV
from hyreka_plugin_amazon.refhost.web.console import Console
from hyreka_plugin_amazon.refhost.web.serving import serve_in_thread
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.ordermodel import AmazonState, SimOrder
from hyreka_plugin_amazon.spapi import transport

# ``hyreka-amazon`` in a process of its own, retrying without wall-clock waits
CLI = (
    "import sys\n"
    "from hyreka_plugin_amazon.spapi import transport\n"
    "transport.BACKOFF_BASE = 0.001\n"
    "from hyreka_plugin_amazon.refhost.cli.main import main\n"
    "raise SystemExit(main(sys.argv[1:]))\n"
)
ATTEMPTS = 5  # the client's attempts of one call (SpApiClient.for_account's max_attempts)


@pytest.fixture(params=["sqlite", "postgresql"])
def env(request: pytest.FixtureRequest) -> dict[str, str]:
    """The environment of hosts sharing one database on each backend."""
    env = {KEY_ENV: Fernet.generate_key().decode()}
    if request.param == "postgresql":
        env[DATABASE_ENV] = request.getfixturevalue("postgres_url")
    return env


@pytest.fixture
def data(tmp_path: Path, env: dict[str, str], simulator: Simulator) -> Path:
    """A data folder whose account ``sim`` has its orders imported."""
    with ReferenceHost(tmp_path / "data", env=env) as host:
        host.store.add_account(simulator_account(simulator))
        assert host.sync("sim").ok
    return tmp_path / "data"


def run_cli(data: Path, env: dict[str, str], *args: str) -> tuple[int, str]:
    """``hyreka-amazon --lang en ARGS --data DATA`` in a process of its own: (exit code, out)."""
    done = subprocess.run(
        [sys.executable, "-c", CLI, "--lang", "en", *args, "--data", str(data)],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode, done.stdout + done.stderr


def unshipped(sim: Simulator, host_data: Path, env: dict[str, str], *, skip: int = 0) -> SimOrder:
    """An imported seller-fulfilled order of which Amazon has shipped nothing yet."""
    now = sim.clock.now()
    with ReferenceHost(host_data, env=env) as host:
        found = [
            o
            for o in sorted(sim.orders.values(), key=lambda o: o.order_id)
            if o.fulfillment_channel == "MFN"
            and o.state(now) is AmazonState.UNSHIPPED
            and host.store.get_order("sim", o.order_id) is not None
        ]
    return found[skip]


def packages(sim: Simulator, order_id: str) -> list[dict[str, Any]]:
    """The packages Amazon has for the order."""
    truth = sim.ground_truth(packages=True)
    found: list[dict[str, Any]] = next(
        o["packages"] for o in truth if o["amazon_order_id"] == order_id
    )
    return found


def confirm_calls(sim: Simulator) -> int:
    sellers = requests.get(f"{sim.url}/_simulator/stats", timeout=TIMEOUT).json()["sellers"]
    return sum(ops.get("confirmShipment", {}).get("calls", 0) for ops in sellers.values())


def outbox(data: Path, env: dict[str, str], order_id: str) -> list[tuple[int, str, str]]:
    """The host's packages of the order: (number, state, tracking number)."""
    with ReferenceHost(data, env=env) as host:
        return [
            (s.shipment.package_id, s.state, s.shipment.tracking_number)
            for s in host.store.list_shipments("sim", order_id)
        ]


# ------------------------------------------------------------------- the same confirmation again


@pytest.mark.slow
def test_a_lost_answer_then_the_same_command_again_is_one_package(
    data: Path, env: dict[str, str], simulator: Simulator
) -> None:
    order = unshipped(simulator, data, env)
    item = order.items[0]
    ship = ("ship", order.order_id, "--carrier", "DHL", "--tracking", "00340434161234567890",
            "--item", f"{item.order_item_id}={item.quantity}")  # fmt: skip
    add_fault(simulator, "lost_response", operation="confirmShipment", count=ATTEMPTS)

    code, out = run_cli(data, env, *ship)

    assert code == 75, out
    assert "PENDING (package 1)" in out
    assert [p["package_reference_id"] for p in packages(simulator, order.order_id)] == ["1"]
    calls = confirm_calls(simulator)

    code, out = run_cli(data, env, *ship)  # the seller runs the same command again

    assert code == 0, out
    assert "package 1" in out
    [package] = packages(simulator, order.order_id)  # the same package, not a second one
    assert (package["package_reference_id"], package["tracking_number"]) == (
        "1",
        "00340434161234567890",
    )
    assert confirm_calls(simulator) == calls + 1
    assert outbox(data, env, order.order_id) == [(1, "confirmed", "00340434161234567890")]

    code, out = run_cli(data, env, *ship)  # and once more, after Amazon confirmed it

    assert code == 0, out
    assert "Package 1 already holds this shipment confirmation" in out
    assert confirm_calls(simulator) == calls + 1  # nothing sent
    assert len(packages(simulator, order.order_id)) == 1
    assert outbox(data, env, order.order_id) == [(1, "confirmed", "00340434161234567890")]


def test_a_retry_after_a_lost_answer_and_the_same_call_again_are_one_package(
    tmp_path: Path,
    host_env: dict[str, str],
    simulator: Simulator,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(transport, "BACKOFF_BASE", 0.001)
    with ReferenceHost(tmp_path, env=host_env) as host:
        host.store.add_account(simulator_account(simulator))
        assert host.sync("sim").ok
        order = unshipped(simulator, tmp_path, host_env, skip=1)
        add_fault(simulator, "lost_response", operation="confirmShipment", count=ATTEMPTS)
        _, lost = host.ship(order.order_id, carrier="GLS", tracking_number="G1", account_name="sim")
        assert lost.state is ShipmentState.RETRY
        [retried] = host.send_pending_shipments("sim")
        assert (retried.package_id, retried.state) == (1, ShipmentState.CONFIRMED)
        calls = confirm_calls(simulator)
        # the same "every item" confirmation again names its package and sends nothing
        _, again = host.ship(
            order.order_id, carrier=" gls ", tracking_number="G1", account_name="sim"
        )
        assert (again.package_id, again.state, again.code) == (
            1,
            ShipmentState.CONFIRMED,
            "ship.already_confirmed",
        )
        assert confirm_calls(simulator) == calls
        assert [p["package_reference_id"] for p in packages(simulator, order.order_id)] == ["1"]
        assert host.send_pending_shipments("sim") == []


def test_only_the_same_order_carrier_tracking_and_items_are_the_same_confirmation(
    tmp_path: Path, host_env: dict[str, str], simulator: Simulator
) -> None:
    items = (ShipmentItem("11111111111111", 1),)
    with ReferenceHost(tmp_path, env=host_env) as host:
        host.store.add_account(simulator_account(simulator))
        first = host.store.record_confirmation(
            "sim", Shipment("302-1", 0, "DHL", "T1", _when(), items)
        )
        same = host.store.record_confirmation(
            "sim", Shipment("302-1", 0, "dhl", " T1 ", _when(), items)
        )
        other_items = (ShipmentItem("11111111111111", 2),)
        numbers = [
            host.store.record_shipment(
                "sim", Shipment("302-1", 0, "DHL", "T1", _when(), other_items)
            ),
            host.store.record_shipment("sim", Shipment("302-1", 0, "DHL", "T2", _when(), items)),
            host.store.record_shipment("sim", Shipment("302-1", 0, "DPD", "T1", _when(), items)),
            host.store.record_shipment("sim", Shipment("302-2", 0, "DHL", "T1", _when(), items)),
        ]
        assert (first.how, first.shipment.package_id) == ("new", 1)
        assert (same.how, same.shipment.package_id) == ("same", 1)
        assert [s.package_id for s in numbers] == [2, 3, 4, 5]


def _when() -> Any:
    from datetime import UTC, datetime

    return datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


# ------------------------------------------------------------------- the console's double submit


@pytest.mark.slow
def test_a_double_submit_of_versand_bestaetigen_is_one_package(
    tmp_path: Path, host_env: dict[str, str], simulator: Simulator
) -> None:
    with ReferenceHost(tmp_path / "data", env=host_env) as host:
        host.store.add_account(simulator_account(simulator))
        assert host.sync("sim").ok
        order = unshipped(simulator, tmp_path / "data", host_env, skip=2)
        running = serve_in_thread(Console(host))
        try:
            base = f"http://127.0.0.1:{running.port}"
            session = requests.Session()
            session.trust_env = False
            session.get(running.url, timeout=TIMEOUT)
            page = session.get(
                f"{base}/c/amazon/orders/sim/order/{order.order_id}", timeout=TIMEOUT
            )
            fields = re.findall(r'<input [^>]*name="([^"]+)"[^>]*value="([^"]*)"', page.text)
            form = dict(fields)
            assert form["ship_token"]
            form |= {"carrier": "DHL", "tracking": "00340434169999", "ship_date": "2026-12-02"}
            # the first submit is still at Amazon when the second arrives
            add_fault(simulator, "slow_response", operation="confirmShipment", delay=1.0)
            url = f"{base}/c/amazon/orders/sim/order/{order.order_id}/ship"

            def submit(_: int) -> int:
                twin = requests.Session()  # the same browser session, a second connection
                twin.trust_env = False
                twin.cookies.update(session.cookies)
                return twin.post(url, data=form, timeout=30, allow_redirects=False).status_code

            with ThreadPoolExecutor(2) as pool:
                answered = list(pool.map(submit, range(2)))
            answered.append(submit(3))  # a third time, after both: the first result, no call
            # each POST leads to the order's page (Post/Redirect/Get), which shows the outcome
            shown = session.get(f"{base}/c/amazon/orders/sim/order/{order.order_id}").text
        finally:
            running.stop()
        assert answered == [302, 302, 302]
        assert 'id="ship-result" class="ok"' in shown
        assert "(Paket 1)" in shown
        [package] = packages(simulator, order.order_id)
        assert package["tracking_number"] == "00340434169999"
        assert confirm_calls(simulator) == 1
        stored = host.store.list_shipments("sim", order.order_id)
        assert [(s.shipment.package_id, s.state) for s in stored] == [(1, "confirmed")]


# ------------------------------------------------------------------- a correction while it is sent


class SendGate:
    """A host plugin that holds the first confirm_shipments call (after the package was taken
    for sending) until the test opens it."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()

    @hookimpl(hookwrapper=True)
    def confirm_shipments(
        self, account: Account, shipments: Sequence[Shipment], host: object
    ) -> Iterator[None]:
        if not self.entered.is_set():
            self.entered.set()
            assert self.opened.wait(WAIT_S), "the test never opened the gate"
        yield


def test_a_correction_while_the_retry_sends_the_package_reaches_amazon(
    data: Path, env: dict[str, str], simulator: Simulator
) -> None:
    order = unshipped(simulator, data, env, skip=3)
    items = tuple(ShipmentItem(i.order_item_id, i.quantity) for i in order.items)
    gate = SendGate()
    with ReferenceHost(data, env=env) as sender, ReferenceHost(data, env=env) as seller:
        sender.plugins.pm.register(gate)
        # recorded, then the process died before it sent anything: pending for ship --retry
        sender.store.record_shipment(
            "sim", Shipment(order.order_id, 0, "DHL", "OLD-0034043416", _when(), items)
        )
        retried: list[ShipmentOutcome] = []
        retry = threading.Thread(
            target=lambda: retried.extend(sender.send_pending_shipments("sim")), daemon=True
        )
        retry.start()  # ``ship --retry``
        try:
            assert gate.entered.wait(WAIT_S)  # it holds the package, about to send "OLD"
            calls = confirm_calls(simulator)

            _, corrected = seller.ship(  # the seller corrects the tracking number meanwhile
                order.order_id,
                carrier="DHL",
                tracking_number="NEW-0034043417",
                account_name="sim",
                items=[(i.order_item_id, i.quantity) for i in order.items],
                package_id=1,
                locale="en",
            )

            assert (corrected.state, corrected.code) == (ShipmentState.RETRY, "ship.in_flight")
            assert confirm_calls(simulator) == calls  # the correction waits for the send
        finally:
            gate.opened.set()
            retry.join(WAIT_S)
        # "OLD" reached Amazon first, then the retry sent the correction at once
        assert [(o.package_id, o.state) for o in retried] == [(1, ShipmentState.CONFIRMED)]
        [package] = packages(simulator, order.order_id)
        assert (package["package_reference_id"], package["tracking_number"]) == (
            "1",
            "NEW-0034043417",
        )
        assert confirm_calls(simulator) == calls + 2
        [stored] = seller.store.list_shipments("sim", order.order_id)
        assert (stored.state, stored.shipment.tracking_number, stored.revision) == (
            "confirmed",
            "NEW-0034043417",
            2,
        )
        assert seller.send_pending_shipments("sim") == []


def test_an_outcome_of_an_earlier_revision_leaves_the_package_pending(
    tmp_path: Path, host_env: dict[str, str], simulator: Simulator
) -> None:
    items = (ShipmentItem("11111111111111", 1),)
    with ReferenceHost(tmp_path, env=host_env) as host:
        host.store.add_account(simulator_account(simulator))
        host.store.record_shipment("sim", Shipment("302-1", 0, "DHL", "T1", _when(), items))
        claimed = host.store.claim_shipment("sim", 1, "sender-a")
        assert claimed is not None
        assert (claimed.shipment.tracking_number, claimed.revision) == ("T1", 1)
        assert host.store.claim_shipment("sim", 1, "sender-b") is None  # one sender at a time
        host.store.record_shipment("sim", Shipment("302-1", 1, "DHL", "T2", _when(), items))
        confirmed = ShipmentOutcome("302-1", 1, ShipmentState.CONFIRMED, "ok", "ship.confirmed")
        applied = host.store.record_outcome("sim", confirmed, sender="sender-a", revision=1)
        assert applied == "stale"
        [stored] = host.store.list_shipments("sim")
        assert (stored.state, stored.shipment.tracking_number, stored.revision) == (
            "pending",
            "T2",
            2,
        )
        again = host.store.claim_shipment("sim", 1, "sender-b")
        assert again is not None
        assert (again.shipment.tracking_number, again.revision) == ("T2", 2)


# ------------------------------------------------------------------------------ shipping checks


def test_a_cancelled_order_is_refused_without_a_call(
    tmp_path: Path, host_env: dict[str, str], simulator: Simulator
) -> None:
    with ReferenceHost(tmp_path / "data", env=host_env) as host:
        host.store.add_account(simulator_account(simulator))
        assert host.sync("sim").ok
        order = unshipped(simulator, tmp_path / "data", host_env, skip=4)
        pending = unshipped(simulator, tmp_path / "data", host_env, skip=5)
        items = tuple(ShipmentItem(i.order_item_id, i.quantity) for i in pending.items)
        host.store.record_shipment(
            "sim", Shipment(pending.order_id, 0, "DHL", "P1", _when(), items)
        )  # recorded before the order was cancelled, not yet sent
        simulator.cancel_order(order.order_id)
        simulator.cancel_order(pending.order_id)
        # the sync that learns of the cancellations sends what is pending first: keep it
        host.store.claim_shipment("sim", 1, "another-run")
        assert host.sync("sim").ok
        host.store.release_shipment("sim", 1, "another-run")
        calls = confirm_calls(simulator)

        stored, refused = host.ship(
            order.order_id, carrier="DHL", tracking_number="C1", account_name="sim", locale="de"
        )
        [retried] = host.send_pending_shipments("sim", locale="en")

        assert (refused.state, refused.code) == (ShipmentState.REFUSED, "ship.order_cancelled")
        assert refused.message == (
            f"Bestellung {order.order_id} ist storniert: nichts wurde an Amazon gesendet."
        )
        assert stored.package_id == 0  # no package recorded
        assert host.store.list_shipments("sim", order.order_id) == []
        assert (retried.state, retried.code) == (ShipmentState.REFUSED, "ship.order_cancelled")
        assert "cancelled" in retried.message
        assert confirm_calls(simulator) == calls  # Amazon was not asked


def test_every_item_of_an_order_amazon_counts_as_shipped_is_left_out(
    tmp_path: Path,
    host_env: dict[str, str],
    simulator: Simulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from hyreka_plugin_amazon.refhost.cli import main as cli

    for key, value in host_env.items():
        monkeypatch.setenv(key, value)
    data = tmp_path / "data"
    with ReferenceHost(data, env=host_env) as host:
        host.store.add_account(simulator_account(simulator))
        assert host.sync("sim").ok
    order = unshipped(simulator, data, host_env, skip=6)
    simulator.ship_order(order.order_id)  # shipped in Seller Central, without a package
    with ReferenceHost(data, env=host_env) as host:
        assert host.sync("sim").ok
        known = host.store.get_order("sim", order.order_id)
        assert known is not None
        assert known.status.value == "shipped"
    calls = confirm_calls(simulator)

    code = cli.main(["--lang", "en", "ship", order.order_id, "--carrier", "DHL",
                     "--tracking", "S1", "--data", str(data)])  # fmt: skip

    err = capsys.readouterr().err
    assert code == 2
    assert f"Amazon counts order {order.order_id} as shipped: no item is left to ship" in err
    assert confirm_calls(simulator) == calls
    with ReferenceHost(data, env=host_env) as host:
        assert host.store.list_shipments("sim", order.order_id) == []
    assert packages(simulator, order.order_id) == []


def _unshipped_with_items(sim: Simulator, host: ReferenceHost, count: int) -> SimOrder:
    """An imported seller-fulfilled order with ``count`` or more items, none shipped."""
    now = sim.clock.now()
    return next(
        o
        for o in sorted(sim.orders.values(), key=lambda o: o.order_id)
        if o.fulfillment_channel == "MFN"
        and o.state(now) is AmazonState.UNSHIPPED
        and len(o.items) >= count
        and host.store.get_order("sim", o.order_id) is not None
    )


def _package_items(sim: Simulator, order_id: str) -> list[list[dict[str, Any]]]:
    return [p["items"] for p in packages(sim, order_id)]


def _partly_shipped_by_hand(sim: Simulator, host: ReferenceHost) -> tuple[SimOrder, list[Any]]:
    """An order whose first item the seller shipped in Seller Central, without a package of
    the host, after the host's last sync (the host still counts every item as left); the
    order and its other items."""
    order = _unshipped_with_items(sim, host, 2)
    first, *rest = order.items
    sim.ship_order(order.order_id, [first.order_item_id])
    return order, rest


def test_items_amazon_counts_as_shipped_are_left_out_of_an_all_items_package(
    data: Path, env: dict[str, str], simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport, "BACKOFF_BASE", 0.001)
    with ReferenceHost(data, env=env) as host:
        order, rest = _partly_shipped_by_hand(simulator, host)

        stored, outcome = host.ship(
            order.order_id, carrier="DHL", tracking_number="PART1", account_name="sim"
        )

        expected = tuple(ShipmentItem(i.order_item_id, i.quantity) for i in rest)
        assert (outcome.state, outcome.items) == (ShipmentState.CONFIRMED, expected)
        assert stored.items == expected
        [kept] = host.store.list_shipments("sim", order.order_id)
        assert (kept.state, kept.shipment.items) == ("confirmed", expected)
        assert kept.shipment.all_items
    assert _package_items(simulator, order.order_id) == [
        [{"order_item_id": i.order_item_id, "quantity": i.quantity} for i in rest]
    ]
    [truth] = [o for o in simulator.ground_truth() if o["amazon_order_id"] == order.order_id]
    assert truth["status"] == "shipped"


def test_a_left_out_package_sent_again_after_a_lost_answer_keeps_its_items(
    data: Path, env: dict[str, str], simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(transport, "BACKOFF_BASE", 0.001)
    with ReferenceHost(data, env=env) as host:
        order, rest = _partly_shipped_by_hand(simulator, host)
        add_fault(simulator, "lost_response", operation="confirmShipment", count=ATTEMPTS)

        _, lost = host.ship(order.order_id, carrier="DPD", tracking_number="L1", account_name="sim")
        assert lost.state is ShipmentState.RETRY
        # Amazon has the package: its own units count as left for it when it is sent again
        [again] = host.send_pending_shipments("sim")

        expected = tuple(ShipmentItem(i.order_item_id, i.quantity) for i in rest)
        assert (again.state, again.items) == (ShipmentState.CONFIRMED, expected)
        [kept] = host.store.list_shipments("sim", order.order_id)
        assert (kept.state, kept.shipment.items) == ("confirmed", expected)
    assert _package_items(simulator, order.order_id) == [
        [{"order_item_id": i.order_item_id, "quantity": i.quantity} for i in rest]
    ]


def test_an_all_items_package_of_an_order_shipped_meanwhile_is_refused_without_a_confirm(
    data: Path, env: dict[str, str], simulator: Simulator
) -> None:
    with ReferenceHost(data, env=env) as host:
        order = _unshipped_with_items(simulator, host, 1)
        simulator.ship_order(order.order_id)  # after the host's last sync
        calls = confirm_calls(simulator)

        _, outcome = host.ship(
            order.order_id, carrier="DHL", tracking_number="N1", account_name="sim", locale="de"
        )

        assert (outcome.state, outcome.code) == (
            ShipmentState.REFUSED,
            "ship.nothing_left_at_amazon",
        )
        assert "Seller Central" in outcome.message
        assert "nicht gesendet" in outcome.message
        [kept] = host.store.list_shipments("sim", order.order_id)
        assert kept.state == "refused"
    assert confirm_calls(simulator) == calls
    assert packages(simulator, order.order_id) == []
