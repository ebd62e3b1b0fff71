"""The command line under the console's rules (issue 27, "CLI, same rules"), each in German and
English through ``cli.main`` against the simulator: the help names the console's buttons in
the run's language, ``ship`` and ``import-report`` speak it, ``--ship-date`` takes
``06.12.2026``, ``--status`` takes the table's words, the next step quotes the account's name
for the shell, and ``orders --format csv`` is a spreadsheet's CSV in German."""

from __future__ import annotations

import csv
import io
import json
import os
import shlex
import signal
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from helpers.cli import FAST, Cli, clean_environment, set_secrets

from hyreka_plugin_amazon.refhost.cli import main as cli
from hyreka_plugin_amazon.refhost.services import accounts
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.ordermodel import AmazonState

REPO = Path(__file__).resolve().parent.parent
NAME = "Mein Shop"
QUOTES = {"de": ("„", "“"), "en": ('"', '"')}


@pytest.fixture
def run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    host_env: dict[str, str],
    simulator: Simulator,
) -> Cli:
    """A synced account named with a space (German by default)."""
    clean_environment(monkeypatch, host_env)
    set_secrets(simulator, monkeypatch)
    runner = Cli(tmp_path / "data", capsys)
    endpoints = ("--endpoint", simulator.url, "--token-url", simulator.token_url)
    runner("account", "add", NAME, "--marketplace", "DE", *endpoints, *FAST)
    runner("sync", NAME)
    return runner


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_help_names_the_consoles_buttons_in_the_runs_language(
    lang: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit):
        cli.main(["--help", "--lang", lang])
    out = capsys.readouterr().out
    labels = accounts.connector_info().actions  # what the console's buttons say
    opening, closing = QUOTES[lang]
    for command, action in (("test-login", "test_login"), ("sync", "sync_orders"),
                            ("ship", "confirm_shipments")):  # fmt: skip
        line = next(line for line in out.splitlines() if line.startswith(f"    {command} "))
        assert f"{opening}{labels[action][lang]}{closing}" in line, line
    other = "en" if lang == "de" else "de"
    for action in ("test_login", "sync_orders", "confirm_shipments"):
        assert labels[action][other] not in out
    assert ("Test login" in out) is (lang == "en")
    assert ("Anmeldung testen" in out) is (lang == "de")


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("de", ("ship braucht --carrier, --tracking (oder --retry)",
                "ship --retry nimmt nur --account", "schreiben Sie ORDER_ITEM_ID=MENGE",
                "eine Paketnummer ist eine ganze Zahl ab 1", "kein Datum: 2026-13-01",
                "Bestellung 302-0000000-0000000 ist nicht übernommen: erst synchronisieren")),
        ("en", ("ship needs --carrier, --tracking (or --retry)",
                "ship --retry takes only --account", "write ORDER_ITEM_ID=QUANTITY",
                "a package number is a whole number from 1", "not a date: 2026-13-01",
                "order 302-0000000-0000000 is not imported: sync first")),
    ],
)  # fmt: skip
def test_ship_refuses_in_the_runs_language(
    lang: str, words: tuple[str, ...], run: Cli, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ("--data", str(run.data), "--lang", lang)
    errors = []
    assert cli.main(["ship", "302-0000000-0000000", *data]) == 2
    errors.append(capsys.readouterr().err)
    assert cli.main(["ship", "302-0000000-0000000", "--retry", *data]) == 2
    errors.append(capsys.readouterr().err)
    for bad in (("--item", "1=0"), ("--package", "0"), ("--ship-date", "2026-13-01")):
        with pytest.raises(SystemExit) as refused:
            cli.main(["ship", "302-0000000-0000000", *bad, *data])
        assert refused.value.code == 2
        errors.append(capsys.readouterr().err)
    unknown = ("302-0000000-0000000", "--carrier", "DHL", "--tracking", "1")
    assert cli.main(["ship", *unknown, *data]) == 2
    errors.append(capsys.readouterr().err)
    for error, expected in zip(errors, words, strict=True):
        assert expected in error
        assert "Traceback" not in error


@pytest.mark.parametrize("lang", ["de", "en"])
def test_ship_date_takes_the_german_way_of_writing_a_day(
    lang: str, run: Cli, simulator: Simulator
) -> None:
    parser = cli.build_parser(chosen=("ship",))
    for text in ("06.12.2026", "6.12.2026", "2026-12-06"):
        args = parser.parse_args(["ship", "X", "--ship-date", text, "--lang", lang])
        assert args.ship_date == datetime(2026, 12, 6).astimezone(), text
    at_time = parser.parse_args(["ship", "X", "--ship-date", "6.12.2026 14:30"]).ship_date
    assert (at_time.hour, at_time.minute, at_time.tzinfo is not None) == (14, 30, True)

    # and a real confirmation: today written the German way reaches Amazon as that day
    listed, _ = run("orders", "--json", "--status", "open")
    now = simulator.clock.now()
    order = next(
        simulator.orders[o["amazon_order_id"]] for o in json.loads(listed)
        if simulator.orders[o["amazon_order_id"]].state(now) is AmazonState.UNSHIPPED
    )  # fmt: skip
    today = datetime.now().astimezone()
    written = f"{today.day}.{today.month}.{today.year}"  # 6.12.2026
    run("ship", order.order_id, "--carrier", "DHL", "--tracking", "00340434161094042557",
        "--ship-date", written, "--lang", lang)  # fmt: skip
    [package] = simulator.orders[order.order_id].packages
    assert package.ship_date.astimezone(today.tzinfo).date() == today.date()


@pytest.mark.parametrize(
    ("lang", "open_word", "shipped_word", "foreign"),
    [("de", "offen", "Versandt", "open-ish"), ("en", "open", "SHIPPED", "offen")],
)
def test_status_takes_the_tables_words(
    lang: str, open_word: str, shipped_word: str, foreign: str, run: Cli
) -> None:
    def ids(*args: str) -> list[str]:
        out, _ = run("orders", "--json", "--lang", lang, *args)
        return [order["amazon_order_id"] for order in json.loads(out)]

    assert ids("--status", open_word) == ids("--status", "open") != []
    assert ids("--status", shipped_word) == ids("--status", "shipped")
    with pytest.raises(SystemExit) as refused:
        run("orders", "--status", foreign, "--lang", lang)
    assert refused.value.code == 2
    _, err = run.capsys.readouterr()
    expected = "unbekannter Status" if lang == "de" else "unknown status"
    assert f"{expected}: {foreign}" in err
    assert "open (offen)" in err if lang == "de" else "open, " in err


@pytest.mark.parametrize(("lang", "step"), [("de", "Nächster Schritt: "), ("en", "Next step: ")])
def test_the_next_step_quotes_the_account_name_for_the_shell(
    lang: str, step: str, run: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    printed = [
        run("account", "set", NAME, "--setting", "lookback_days=20", "--lang", lang)[0],
        run("account", "credentials", NAME, "--lang", lang)[0],
    ]
    monkeypatch.setenv("HYREKA_LANG", lang)
    added, _ = run("account", "add", "Laden $HOME", "--marketplace", "FR")
    for out in [*printed, added]:
        command = out.strip().rsplit(step, 1)[1]
        words = shlex.split(command)
        assert words[:2] == ["hyreka-amazon", "test-login"]
        assert words[2:] in ([NAME], ["Laden $HOME"])  # one word, nothing expanded
    assert printed[0].strip().endswith("test-login 'Mein Shop'")


def csv_rows(text: str, delimiter: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text), delimiter=delimiter))


def test_csv_for_german_spreadsheets_by_language_or_flag(run: Cli) -> None:
    german, _ = run("orders", "--format", "csv")  # a German run
    english, _ = run("orders", "--format", "csv", "--lang", "en")
    assert german.startswith("\ufeffamazon_order_id;")  # UTF-8 with a BOM, semicolons
    assert english.startswith("amazon_order_id,")  # machine-readable, as before
    flagged_de, _ = run("orders", "--format", "csv", "--lang", "en", "--csv-dialect", "excel-de")
    flagged_en, _ = run("orders", "--format", "csv", "--csv-dialect", "excel")
    assert (flagged_de, flagged_en) == (german, english)

    rows_de = csv_rows(german.removeprefix("\ufeff"), ";")
    rows_en = csv_rows(english, ",")
    assert [r["amazon_order_id"] for r in rows_de] == [r["amazon_order_id"] for r in rows_en]
    for de, en in zip(rows_de, rows_en, strict=True):
        assert de["total"] == en["total"].replace(".", ",")
        assert Decimal(en["total"]) >= 0
        assert "," in de["total"]
        assert de["skus"] == en["skus"] != ""
        # personal data only with --names: street and postcode as empty as the name
        assert de["billing_street"] == de["billing_postcode"] == de["billing_name"] == ""
    assert {r["billing_city"] for r in rows_de} != {""}

    named, _ = run("orders", "--format", "csv", "--names")
    rows = csv_rows(named.removeprefix("\ufeff"), ";")
    with_bill = [r for r in rows if r["billing_country"]]
    assert with_bill
    assert all(r["billing_street"] and r["billing_postcode"] for r in with_bill)
    listed = json.loads(run("orders", "--json", "--names")[0])
    assert [r["skus"] for r in rows] == [
        ", ".join(line["sku"] for line in order["lines"] if line["sku"]) for order in listed
    ]
    assert [r["billing_postcode"] for r in rows] == [
        (order["billing_address"] or {}).get("postal_code") or "" for order in listed
    ]


@pytest.mark.parametrize(
    ("lang", "said", "not_said"),
    [
        ("de", ("kein ISO-4217-Währungscode", "kein ISO-3166-Ländercode", "Zeile 5"),
         ("not an ISO", "value is missing", "row ")),
        ("en", ("not an ISO 4217 currency code", "not an ISO 3166 country code", "row 5"),
         ("ISO-4217", "Zeile")),
    ],
)  # fmt: skip
def test_import_report_speaks_the_runs_language(
    lang: str, said: tuple[str, ...], not_said: tuple[str, ...], run: Cli
) -> None:
    out, _ = run("import-report", str(REPO / "fixtures" / "orders-broken.txt"), "--dry-run",
                 "--lang", lang)  # fmt: skip
    for text in said:
        assert text in out
    for text in not_said:
        assert text not in out


@pytest.mark.parametrize(
    ("lang", "hint"),
    [("de", "Strg+C beendet die Bedienoberfläche."), ("en", "Ctrl+C stops the console.")],
)
def test_web_says_how_to_stop_it_in_the_runs_language(
    lang: str, hint: str, tmp_path: Path, host_env: dict[str, str]
) -> None:
    pytest.importorskip("flask")
    process = subprocess.Popen(
        [sys.executable, "-m", "hyreka_plugin_amazon.refhost.cli", "web", "--port", "0",
         "--data", str(tmp_path / "data"), "--lang", lang],
        env={**os.environ, **host_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        assert process.stderr is not None
        assert process.stdout.readline().startswith("WEB_URL=http://127.0.0.1:")
        said = process.stderr.readline()
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert said.strip().endswith(hint)


@pytest.mark.parametrize(
    ("lang", "note", "button"),
    [("de", "Hinweis: Die letzte Synchronisierung endete am", "„Synchronisieren“"),
     ("en", "Note: The last sync ended", '"Synchronise"')],
)  # fmt: skip
def test_sync_says_when_the_next_sync_is_useful_and_still_runs(
    lang: str, note: str, button: str, run: Cli
) -> None:
    out, err = run("sync", NAME, "--lang", lang)  # the fixture synced a moment ago

    assert note in err
    assert button in err
    assert out  # the sync ran and says how it ended
    assert ("Hinweis" in err) == (lang == "de")
