"""Issue 25 item 3 (the printing part): report data with terminal escapes reached the terminal.
A title, SKU, city and buyer name that set the terminal's title (``ESC ] 0 ; ... BEL``), clear
the screen (``ESC [ 2 J``) or turn the text around (U+202E) are imported through
``import-report`` of a crafted report, then every command that prints them runs with its
output on a pseudo-terminal: the bytes that arrive must be inert (escaped in tables and JSON,
removed from CSV cells), and the data itself must not be lost."""

from __future__ import annotations

import csv
import io
import json
import os
import pty
import subprocess
import sys
import threading
import tty
from collections.abc import Sequence
from pathlib import Path

import pytest
from helpers.cli import Cli, clean_environment, set_secrets
from helpers.sim import add_fault

from hyreka_plugin_amazon.refhost.cli import main as cli
from hyreka_plugin_amazon.refhost.safety.terminal import json_text, printable, printable_params
from hyreka_plugin_amazon.simulator import Simulator

FIXTURES = Path(__file__).parent.parent / "fixtures"
SECRETS = {
    "AMAZON_LWA_CLIENT_ID": "amzn1.application-oa2-client.test",
    "AMAZON_LWA_CLIENT_SECRET": "amzn1.oa2-cs.v1.test",
    "AMAZON_REFRESH_TOKEN": "Atzr|test",
}
NOWHERE = "http://127.0.0.1:9"
OWN = "\x1b]0;OWNED\x07"  # sets the terminal's title
CLEAR = "\x1b[2J"  # clears the screen
RLO = "\u202e"  # right-to-left override
CSI8 = "\x9b"  # the 8-bit CSI
HOSTILE = {
    "product-name": f"Tasse{OWN}{CLEAR}{RLO}esab",
    "sku": f"SKU{OWN}{CSI8}2J",
    "bill-city": f"Köln{CLEAR}{RLO}",
    "buyer-name": f"Jürgen{OWN}{CLEAR}{RLO}Groß",
    "recipient-name": f"Jürgen{OWN}",
}
# What may never arrive at the terminal (UTF-8 bytes)
RAW = [b"\x1b", b"\x07", RLO.encode(), CSI8.encode()]


def hostile_report(tmp_path: Path) -> Path:
    """The EU order report of the fixtures, its first order carrying ``HOSTILE`` values."""
    lines = (FIXTURES / "orders-invoicing-eu-cp1252.txt").read_text("cp1252").splitlines()
    header = lines[0].split("\t")
    first = lines[1].split("\t")
    for column, value in HOSTILE.items():
        first[header.index(column)] = value
    path = tmp_path / "hostile-orders.txt"
    path.write_text("\n".join([lines[0], "\t".join(first), *lines[2:]]) + "\n", "utf-8")
    return path


def hostile_fba_report(tmp_path: Path) -> Path:
    """Amazon's FBA shipments (imported as shipped: purge lists them) with a hostile title."""
    lines = (FIXTURES / "fba-shipments-invoicing.txt").read_text("utf-8").splitlines()
    header = lines[0].split("\t")
    first = lines[1].split("\t")
    first[header.index("product-name")] = HOSTILE["product-name"]
    first[header.index("buyer-name")] = HOSTILE["buyer-name"]
    path = tmp_path / "hostile-fba.txt"
    path.write_text("\n".join([lines[0], "\t".join(first), *lines[2:]]) + "\n", "utf-8")
    return path


def on_a_terminal(
    monkeypatch: pytest.MonkeyPatch, args: Sequence[str], code: int = 0
) -> tuple[bytes, bytes]:
    """Run ``hyreka-amazon ARGS`` with stdout and stderr each on a pseudo-terminal (raw, so
    the bytes are exactly what the CLI wrote); what arrived at each."""
    arrived: list[bytes] = []
    streams = []
    readers = []
    for _ in range(2):
        master, slave = pty.openpty()
        tty.setraw(slave)
        chunks: list[bytes] = []
        arrived.append(b"")

        def drain(fd: int = master, into: list[bytes] = chunks) -> None:
            while True:
                try:
                    data = os.read(fd, 65536)
                except OSError:  # the terminal's other side was closed
                    return
                if not data:
                    return
                into.append(data)

        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
        readers.append((reader, master, chunks))
        streams.append(open(slave, "w", encoding="utf-8", errors="strict"))  # noqa: SIM115
    with monkeypatch.context() as patched:
        patched.setattr(sys, "stdout", streams[0])
        patched.setattr(sys, "stderr", streams[1])
        assert streams[0].isatty()
        exit_code = cli.main(list(args))
    for stream in streams:
        stream.close()
    for index, (reader, master, chunks) in enumerate(readers):
        reader.join(10)
        os.close(master)
        arrived[index] = b"".join(chunks)
    assert exit_code == code, arrived
    return arrived[0], arrived[1]


def assert_inert(*outputs: bytes) -> None:
    for out in outputs:
        assert [raw for raw in RAW if raw in out] == [], out


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, host_env: dict[str, str]) -> Path:
    """A store whose orders came from the hostile reports, through ``import-report``."""
    clean_environment(monkeypatch, {**host_env, **SECRETS})
    folder = tmp_path / "data"
    at = ("--data", str(folder))
    assert cli.main(["account", "add", "shop", "--marketplace", "DE", "--endpoint", NOWHERE,
                     "--token-url", NOWHERE, *at]) == 0  # fmt: skip
    assert cli.main(["import-report", str(hostile_report(tmp_path)), *at]) == 0
    assert cli.main(["import-report", str(hostile_fba_report(tmp_path)), *at]) == 0
    return folder


def test_a_hostile_report_prints_inert_in_tables(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = ("--data", str(data))
    plain, err = on_a_terminal(monkeypatch, ["orders", *at])
    assert_inert(plain, err)
    text = plain.decode()
    assert printable(HOSTILE["product-name"]) in text  # shown, as escapes
    assert printable(HOSTILE["sku"]) in text
    assert printable(HOSTILE["bill-city"]) in text
    assert "\\x1b]0;OWNED\\x07" in text

    named, err = on_a_terminal(monkeypatch, ["orders", "--names", *at])
    assert_inert(named, err)
    assert printable(HOSTILE["buyer-name"]) in named.decode()

    for command in (
        ["purge", "--dry-run", "--days", "0"],
        ["problems"],
        ["status"],
        ["import-report", str(hostile_report(tmp_path)), "--dry-run"],
        ["account", "list"],
    ):
        assert_inert(*on_a_terminal(monkeypatch, [*command, *at]))
    listed, _ = on_a_terminal(monkeypatch, ["purge", "--dry-run", "--days", "0", *at])
    assert b"028-4000001-0000001" in listed  # the purge listing ran


def test_a_hostile_report_prints_inert_as_json_and_csv_and_keeps_the_data(
    data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = ("--data", str(data))
    for names in ([], ["--names"]):
        out, err = on_a_terminal(monkeypatch, ["orders", "--json", *names, *at])
        assert_inert(out, err)
        orders = {o["amazon_order_id"]: o for o in json.loads(out)}
        hostile = orders["302-1000001-0000001"]
        assert hostile["lines"][0]["title"] == HOSTILE["product-name"]  # nothing lost
        assert hostile["lines"][0]["sku"] == HOSTILE["sku"]
        assert hostile["billing_address"]["city"] == HOSTILE["bill-city"]
    assert hostile["billing_address"]["name"] == HOSTILE["buyer-name"]
    assert "\\u202e" in out.decode()
    assert "\\u009b" in out.decode()

    out, err = on_a_terminal(
        monkeypatch, ["orders", "--format", "csv", "--csv-dialect", "excel", "--names", *at]
    )
    assert_inert(out, err)
    rows = {r["amazon_order_id"]: r for r in csv.DictReader(io.StringIO(out.decode()))}
    assert rows["302-1000001-0000001"]["billing_name"] == "Jürgen]0;OWNED[2JGroß"
    assert rows["302-1000001-0000001"]["billing_city"] == "Köln[2J"

    out, err = on_a_terminal(
        monkeypatch, ["import-report", str(hostile_report(tmp_path)), "--dry-run", "--json", *at]
    )
    assert_inert(out, err)
    assert json.loads(out)["orders"][0]["lines"][0]["title"] == HOSTILE["product-name"]


def test_amazons_error_text_prints_inert_in_sync_and_status(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    host_env: dict[str, str],
    simulator: Simulator,
) -> None:
    """A report's error document (Amazon's text, shown to the seller) with escapes."""
    clean_environment(monkeypatch, host_env)
    set_secrets(simulator, monkeypatch)
    run = Cli(tmp_path / "data", capsys)
    run("account", "add", "shop", "--marketplace", "DE", "--endpoint", simulator.url,
        "--token-url", simulator.token_url, "--setting", "report_check_seconds=0.05")  # fmt: skip
    add_fault(simulator, "report_fatal", message=f"Bericht{OWN}{CLEAR} kaputt{RLO}", rate=1.0)
    at = ("--data", str(run.data))
    out, _ = on_a_terminal(monkeypatch, ["sync", "shop", *at], code=1)
    assert_inert(out)  # (its progress line on stderr is the CLI's own, with ESC [ K)
    assert "\\x1b]0;OWNED" in out.decode()
    assert_inert(*on_a_terminal(monkeypatch, ["status", *at]))
    out, _ = on_a_terminal(monkeypatch, ["status", "--json", *at])
    assert_inert(out)
    assert OWN in json.loads(out)[0]["last_run"]["message"]


def test_the_installed_command_on_a_terminal_of_its_own(data: Path) -> None:
    """The same with a process whose file descriptors 1 and 2 are the pseudo-terminal."""
    master, slave = pty.openpty()
    tty.setraw(slave)
    done = subprocess.run(
        [sys.executable, "-m", "hyreka_plugin_amazon.refhost.cli", "orders", "--names",
         "--data", str(data)],
        stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, timeout=60, check=False,
    )  # fmt: skip
    os.close(slave)
    arrived = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        arrived += chunk
    os.close(master)
    assert done.returncode == 0, arrived
    assert_inert(arrived)
    assert printable(HOSTILE["buyer-name"]).encode() in arrived


def test_the_escaping_helpers() -> None:
    assert printable_params({"name": f"a{OWN}", "count": 3}) == {
        "name": "a\\x1b]0;OWNED\\x07",
        "count": 3,
    }
    value = {"t": f"x{OWN}{RLO}\u2028{CSI8}\U000e0001"}
    text = json_text(value)
    assert json.loads(text) == value
    assert all(ord(char) < 0x7F or char.isalpha() for char in text.replace("\n", ""))
