"""``hyreka-amazon`` end to end against the simulator: in-process through ``cli.main`` (fast),
plus real runs of the installed script for ``simulator`` and ``demo``."""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests
from helpers.shared import REAL_REPORTS, needs
from helpers.sim import fba_shipped, open_for_seller

from hyreka_plugin_amazon.contract import Account, Progress
from hyreka_plugin_amazon.refhost.cli import main as cli
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.spapi import documents

REAL = REAL_REPORTS
SCRIPT = shutil.which("hyreka-amazon", path=str(Path(sys.executable).parent))
# issue 14: one summary (the connector's message), then only what it does not say, without
# operation names
SUMMARY_DE = re.compile(
    r"^Außerdem: (\d+) Bestellung(?:en warten| wartet) auf Zahlung \(noch nicht übernommen\); "
    r"(\d+) Anfragen an Amazon\.$"
)
SUMMARY_EN = re.compile(
    r"^Also: (\d+) orders? awaits? payment \(not imported yet\); (\d+) requests to Amazon\.$"
)
WAIT_S = 30


class Cli:
    """Runs ``cli.main`` in-process on one data folder; keeps everything it printed."""

    def __init__(self, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.data = data
        self.capsys = capsys
        self.printed: list[str] = []

    def __call__(self, *args: str, code: int = 0) -> tuple[str, str]:
        exit_code = cli.main([*args, "--data", str(self.data)])
        out, err = self.capsys.readouterr()
        self.printed += [out, err]
        assert exit_code == code, out + err
        return out, err


@pytest.fixture
def run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    host_env: dict[str, str],
) -> Cli:
    for key, value in host_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv(cli.LANG_ENV, raising=False)
    return Cli(tmp_path / "data", capsys)


def add_shop(run: Cli, sim: Simulator, monkeypatch: pytest.MonkeyPatch, *extra: str) -> str:
    creds = sim.credentials
    monkeypatch.setenv("AMAZON_LWA_CLIENT_ID", creds.client_id)
    monkeypatch.setenv("AMAZON_LWA_CLIENT_SECRET", creds.client_secret)
    monkeypatch.setenv("AMAZON_REFRESH_TOKEN", creds.refresh_token)
    fast = ("poll_interval=0.05", "max_poll_interval=0.2")
    settings = [arg for value in fast for arg in ("--setting", value)]
    out, _ = run(
        "account", "add", "shop", "--marketplace", "DE", "--marketplace", "FR",
        "--marketplace", "IT", "--marketplace", "ES", "--marketplace", "UK",
        "--endpoint", sim.url, "--token-url", sim.token_url, *settings, *extra,
    )  # fmt: skip
    return out


def sim_open(sim: Simulator) -> list[dict[str, Any]]:
    return sorted(
        (o for o in sim.ground_truth() if open_for_seller(o)),
        key=lambda o: o["amazon_order_id"],
    )


def test_the_seller_path_from_account_to_open_orders(
    run: Cli, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    added = add_shop(run, simulator, monkeypatch)
    assert added == (
        "Konto „shop“ angelegt: Region eu, Marktplätze DE, FR, IT, ES, UK. "
        "Nächster Schritt: hyreka-amazon test-login shop\n"
    )
    out, _ = run("account", "list")
    assert out == f"shop\teu\tDE, FR, IT, ES, UK\t{simulator.url}\n"

    out, _ = run("test-login", "shop")
    assert out == (
        "OK: Anmeldung erfolgreich. Das Verkäuferkonto verkauft auf: Amazon.de (DE), Amazon.fr "
        "(FR), Amazon.it (IT), Amazon.es (ES), Amazon.co.uk (UK).\n"
    )

    truth = sim_open(simulator)
    fba = fba_shipped(simulator)  # the CLI's EU account imports FBA orders (default)
    out, err = run("sync", "shop")
    lines = out.splitlines()
    assert lines[0] == (
        f"Synchronisierung abgeschlossen: {len(truth) + len(fba)} neu, 0 aktualisiert, "
        "0 unverändert, 0 fehlerhafte Zeilen."
    )
    summary = SUMMARY_DE.match(lines[-1])
    assert summary is not None, lines[-1]
    _, calls = map(int, summary.groups())
    assert 8 <= calls <= 20
    assert "Berichte anfordern\n" in err
    assert "Amazon erstellt den Bericht: Bestellbericht fertig\n" in err
    assert re.search(r"^Herunterladen: Bestellbericht – \d+ KB$", err, re.MULTILINE)
    assert re.search(r"^Übernehmen: (\d+) von \1 Bestellungen$", err, re.MULTILINE)
    assert err.endswith("Fertig\n")
    for jargon in ("createReport", "GET_FLAT_FILE", "DONE", "order report", "API"):
        assert jargon not in out + err

    out, _ = run("orders", "--status", "open", "--json", "--names")
    orders = sorted(json.loads(out), key=lambda o: o["amazon_order_id"])
    assert all(order.pop("packages") == [] for order in orders)  # nothing shipped yet
    assert orders == truth  # the documented shape, with every value as Amazon has it
    first = orders[0]
    assert {"amazon_order_id", "marketplace_id", "status", "currency", "purchase_date"} <= set(
        first
    )
    assert {"order_item_id", "sku", "quantity", "item_price", "item_tax"} <= set(first["lines"][0])
    for kind in ("billing_address", "shipping_address"):
        assert {"name", "lines", "postal_code", "city", "country_code"} <= set(first[kind])
    assert isinstance(first["is_business_order"], bool)

    out, _ = run("orders", "--status", "open")
    assert out.endswith(f"\n{len(truth)} Bestellungen\n")

    out, _ = run("--lang", "en", "sync", "shop")
    assert re.fullmatch(
        r"Sync finished: 0 new, 0 updated, \d+ unchanged, 0 failed rows\.", out.splitlines()[0]
    )
    assert SUMMARY_EN.match(out.splitlines()[-1])

    creds = simulator.credentials
    for text in run.printed:
        assert creds.client_secret not in text
        assert creds.refresh_token not in text


def test_secrets_come_from_the_environment_or_a_terminal_never_from_argv(
    run: Cli, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in cli.SECRET_ENV.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))  # not a terminal: no hidden prompt
    run("account", "add", "shop", "--marketplace", "DE", code=2)
    assert run.printed[-1] == (
        "hyreka-amazon: LWA-Client-ID fehlt: setzen Sie die Umgebungsvariable "
        "AMAZON_LWA_CLIENT_ID oder rufen Sie den Befehl in einem Terminal auf (verdeckte "
        "Eingabe).\n"
    )
    with pytest.raises(SystemExit):
        cli.main(
            [
                "--lang",
                "en",
                "account",
                "add",
                "shop",
                "--marketplace",
                "DE",
                "--client-secret",
                "s",
            ]
        )
    assert "unrecognized arguments: --client-secret" in run.capsys.readouterr().err
    out, _ = run("account", "list")
    assert out == "Noch kein Konto angelegt: hyreka-amazon account add NAME --marketplace DE\n"


def test_an_account_covers_one_region(
    run: Cli, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_shop(run, simulator, monkeypatch)  # sets the secrets
    run(
        "--lang", "en", "account", "add", "us", "--marketplace", "DE", "--marketplace", "US", code=2
    )
    assert run.printed[-1] == (
        "hyreka-amazon: Marketplace US belongs to region na, not eu. An account covers the "
        "marketplaces of one region; add a separate account for na (with that region's refresh "
        "token).\n"
    )


def test_a_failed_login_and_a_failed_sync_say_what_to_do(
    run: Cli, simulator: Simulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_shop(run, simulator, monkeypatch)
    simulator.faults.add({"name": "order_reports_not_enabled", "rate": 1.0})
    monkeypatch.setenv(cli.LANG_ENV, "en")
    out, _ = run("sync", "shop", code=1)
    assert out.splitlines()[0].startswith(
        "Amazon does not create order reports for this account: flat-file (TXT) order reports "
        "are not enabled."
    )
    assert SUMMARY_EN.match(out.splitlines()[-1])
    monkeypatch.setenv("AMAZON_LWA_CLIENT_SECRET", "amzn1.oa2-cs.v1.mistyped")
    run("account", "add", "typo", "--marketplace", "DE", "--endpoint", simulator.url,
        "--token-url", simulator.token_url)  # fmt: skip
    out, _ = run("test-login", "typo", "--lang", "de", code=1)
    assert out.startswith("FEHLER: Amazon lehnt die App-Zugangsdaten ab")


@needs(REAL)
def test_import_report_dry_run_json_on_a_real_report(run: Cli, tmp_path: Path) -> None:
    report = REAL / "fr-orders-akretion-1.txt"
    out, _ = run("import-report", str(report), "--dry-run", "--json")
    payload = json.loads(out)
    assert set(payload) == {"orders", "errors", "warnings"}
    assert payload["errors"] == []
    assert len(payload["orders"]) == 10
    assert payload["orders"][0]["shipping_address"]["city"] == "LYON"

    broken = tmp_path / "broken.txt"  # the same report with one price as a spreadsheet writes it
    broken.write_bytes(report.read_bytes().replace(b"\t9.90\t", b"\t9,90 EUR\t", 1))
    out, _ = run("import-report", str(broken), "--dry-run", "--json")
    payload = json.loads(out)
    assert len(payload["orders"]) == 9
    assert [set(e) for e in payload["errors"]] == [{"row", "column", "reason"}]
    assert (payload["errors"][0]["row"], payload["errors"][0]["column"]) == (1, "item-price")
    out, _ = run("import-report", str(broken), "--dry-run")
    assert out.splitlines()[1].startswith("  Zeile 1 [item-price]: ")


def test_language_before_or_after_the_command_and_from_the_environment(
    run: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = "No account yet: hyreka-amazon account add NAME --marketplace DE\n"
    assert run("--lang", "en", "account", "list")[0] == expected
    assert run("account", "list", "--lang", "en")[0] == expected
    monkeypatch.setenv(cli.LANG_ENV, "en")
    assert run("account", "list")[0] == expected
    assert run("account", "list", "--lang", "de")[0].startswith("Noch kein Konto")


def progress(phase: str, message: str, done: int = 0, total: int | None = None) -> Progress:
    return Progress("shop", phase, message, done, total)  # type: ignore[arg-type]


STEPS = [  # as the connector reports them, in the account's language
    progress("requesting", "Bestellbericht und Statusbericht"),
    progress("processing", "Bestellbericht wartet bei Amazon"),
    progress("processing", "Bestellbericht fertig"),
    progress("downloading", "Bestellbericht", 65536),
    progress("downloading", "Bestellbericht", 131072),
    progress("downloading", "Bestellbericht", 2_500_000),
    progress("importing", "Bestellungen", 500),
    progress("importing", "Bestellungen", 812, 812),
    progress("done", "fertig"),
]


def test_a_sync_reports_each_step_to_the_host(
    simulator: Simulator,
    refhost: ReferenceHost,
    account: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(documents, "CHUNK_SIZE", 1024)  # a download in many pieces
    seen: list[Progress] = []
    result = refhost.sync(account.name, on_progress=seen.append)
    assert result.ok, result.message
    phases = list(dict.fromkeys(p.phase for p in seen))
    assert phases == ["requesting", "processing", "downloading", "importing", "done"]
    statuses = {p.message for p in seen if p.phase == "processing"}
    assert "Bestellbericht fertig" in statuses  # in the account's language
    sizes = [p.done for p in seen if p.phase == "downloading" and p.done]
    assert len(sizes) > 3
    assert sizes == sorted(set(sizes))  # bytes so far, growing with every piece
    downloads = [p for p in seen if p.phase == "downloading" and p.done]
    assert downloads[-1].total == downloads[-1].done  # of the download's known size (a bar)
    last = [p for p in seen if p.phase == "importing"][-1]
    assert last.done == last.total  # every order of the report went through
    assert last.done >= result.created + result.waiting > 0


def test_progress_on_plain_output_shows_first_and_last_of_each_step() -> None:
    out = io.StringIO()
    display = cli.ProgressDisplay(out, "de", tty=False)
    for step in STEPS:
        display(step)
    display.close()
    assert out.getvalue().splitlines() == [
        "Berichte anfordern",
        "Amazon erstellt den Bericht: Bestellbericht wartet bei Amazon",
        "Amazon erstellt den Bericht: Bestellbericht fertig",
        "Herunterladen: Bestellbericht – 64 KB",
        "Herunterladen: Bestellbericht – 2,4 MB",
        "Übernehmen: 500 Bestellungen",
        "Übernehmen: 812 von 812 Bestellungen",
        "Fertig",
    ]


def test_progress_on_a_terminal_is_one_updating_line() -> None:
    out = io.StringIO()
    display = cli.ProgressDisplay(out, "en", tty=True)
    for step in STEPS:
        display(step)
    display.close()
    text = out.getvalue()
    assert text.count("\n") == 1
    assert text.endswith("Done\x1b[K\n")
    assert text.count("\r") == len(STEPS)
    assert "\r[####################] Importing: 812 of 812 orders\x1b[K" in text
    half = io.StringIO()
    cli.ProgressDisplay(half, "en", tty=True)(progress("importing", "orders", 500, 1000))
    assert half.getvalue() == "\r[##########..........] Importing: 500 of 1000 orders\x1b[K"


@pytest.mark.skipif(SCRIPT is None, reason="hyreka-amazon is not installed")
def test_the_simulator_prints_settings_a_shell_can_eval() -> None:
    assert SCRIPT is not None
    with subprocess.Popen(
        [SCRIPT, "simulator", "--orders", "3", "--marketplace", "DE"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as sim:
        try:
            assert sim.stdout is not None
            lines = [sim.stdout.readline() for _ in range(6)]
            settings = dict(shlex.split(line)[0].split("=", 1) for line in lines)
            assert list(settings) == [
                "SPAPI_ENDPOINT",
                "LWA_TOKEN_URL",
                "AMAZON_LWA_CLIENT_ID",
                "AMAZON_LWA_CLIENT_SECRET",
                "AMAZON_REFRESH_TOKEN",
                "SPAPI_APP_ID",
            ]
            assert settings["SPAPI_APP_ID"].startswith("amzn1.sp.solution.")
            shell = subprocess.run(
                [
                    "sh",
                    "-c",
                    'eval "$1"; printf "%s\\n" "$AMAZON_REFRESH_TOKEN"',
                    "sh",
                    "".join(lines),
                ],
                capture_output=True,
                text=True,
                check=True,
                timeout=WAIT_S,
            )
            assert shell.stdout == settings["AMAZON_REFRESH_TOKEN"] + "\n"
            token = requests.post(
                settings["LWA_TOKEN_URL"],
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": settings["AMAZON_REFRESH_TOKEN"],
                    "client_id": settings["AMAZON_LWA_CLIENT_ID"],
                    "client_secret": settings["AMAZON_LWA_CLIENT_SECRET"],
                },
                timeout=WAIT_S,
            )
            assert token.status_code == 200
        finally:
            sim.send_signal(signal.SIGTERM)
            assert sim.wait(WAIT_S) == 0


@pytest.mark.slow
@pytest.mark.skipif(SCRIPT is None, reason="hyreka-amazon is not installed")
def test_the_demo_imports_the_simulators_open_orders() -> None:
    assert SCRIPT is not None
    env = {k: v for k, v in os.environ.items() if k != cli.LANG_ENV}
    demo = subprocess.run(
        [SCRIPT, "demo", "--orders", "12"], capture_output=True, text=True, env=env, timeout=60
    )
    assert demo.returncode == 0, demo.stderr
    lines = demo.stdout.splitlines()
    truth = re.fullmatch(r"Offene Bestellungen laut Simulator: (\d+), im Host: (\d+)", lines[-1])
    assert truth is not None
    assert truth.group(1) == truth.group(2) != "0"
    listed = [line for line in lines if re.match(r"\d{3}-\d{7}-\d{7}  ", line)]
    count = len(listed)  # issue 14: the plural agrees with the count
    assert (f"{count} Bestellungen" if count != 1 else "1 Bestellung") in lines
    # beside the open orders the demo lists the FBA orders Amazon shipped (README "FBA orders")
    assert sum("  offen  " in line for line in listed) == int(truth.group(1))
    assert demo.stderr.rstrip().endswith("Fertig")
