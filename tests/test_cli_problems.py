"""Warnings kept with each sync and shown by ``sync`` and ``status`` alike; ``problems`` lists
open import problems with ids and ``problems dismiss ID`` gives one up: through ``cli.main``
against the simulator."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from helpers.cli import Cli, add_shop, clean_environment, set_secrets
from helpers.sim import INVOICING, add_fault

from hyreka_plugin_amazon.reasons import FIXED, seller_reason
from hyreka_plugin_amazon.refhost.background.poller import FinishedSync
from hyreka_plugin_amazon.refhost.cli.render import print_finished
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.safety.audit import AuditLog
from hyreka_plugin_amazon.simulator import Simulator


@pytest.fixture
def run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    host_env: dict[str, str],
    simulator: Simulator,
) -> Cli:
    clean_environment(monkeypatch, host_env)
    set_secrets(simulator, monkeypatch)
    cli = Cli(tmp_path / "data", capsys)
    add_shop(cli, simulator, "DE", "FR")
    return cli


def test_a_missing_billing_column_is_kept_with_the_sync_and_shown_everywhere(
    run: Cli, simulator: Simulator
) -> None:
    simulator.faults.add({"name": "billing_columns_disabled", "rate": 1.0})
    out, _ = run("sync", "shop")
    warnings = [line for line in out.splitlines() if line.startswith("  ! ")]
    assert any("Fakturierung" in line for line in warnings), out

    with ReferenceHost(run.data) as host:
        [last] = host.store.list_runs("shop", limit=1)
    assert [f"  ! {w}" for w in last.warnings] == warnings  # kept with the sync

    out, _ = run("status")
    assert "\n".join(warnings) in out
    assert "letzte Synchronisierung: " in out
    out, _ = run("status", "--json")
    assert json.loads(out)[0]["last_run"]["warnings"] == list(last.warnings)

    with ReferenceHost(run.data) as host:  # what `run` prints for a scheduled sync
        result = host.sync("shop", trigger="schedule")
    done = FinishedSync("shop", "shop", last.started_at, last.started_at, result, None, 15, False)
    printed = io.StringIO()
    print_finished(done, printed, "de")
    lines = printed.getvalue().splitlines()
    assert any("Fakturierung" in line for line in lines[1:])
    assert lines[0].count("neu,") == 1


def test_problems_are_listed_with_ids_and_dismissed(run: Cli, simulator: Simulator) -> None:
    add_fault(simulator, "malformed_rows", kinds="bad_number", report_type=INVOICING, count=3)
    run("sync", "shop")
    out, _ = run("problems", "--json")
    problems = json.loads(out)
    assert problems
    assert set(problems[0]) == {
        "id", "account", "amazon_order_id", "row", "column", "reason", "recorded_at"
    }  # fmt: skip
    names = {o["billing_address"]["name"] for o in simulator.ground_truth() if o["billing_address"]}
    assert not any(name and name in out for name in names)  # no personal data

    out, _ = run("problems", "--account", "shop")
    first = problems[0]
    assert out.splitlines()[0].startswith(
        f"#{first['id']}  shop  Bestellung {first['amazon_order_id']}  Zeile {first['row']}"
    )
    count = len(problems)
    assert f"{count} offene Probleme" in out or (count == 1 and "1 offenes Problem" in out)

    out, _ = run("problems", "dismiss", str(first["id"]))
    assert out.startswith(f"Problem #{first['id']} (Bestellung {first['amazon_order_id']})")
    out, _ = run("problems", "--json")
    left = json.loads(out)
    assert first["amazon_order_id"] not in {p["amazon_order_id"] for p in left}
    _, err = run("--lang", "en", "problems", "dismiss", str(first["id"]), code=2)
    assert err.startswith(f"hyreka-amazon: No open problem #{first['id']}")
    assert AuditLog(run.data).entries()[-1].action == "problem.dismiss"

    run("sync", "shop")  # the dismissed order is not retried
    out, _ = run("problems", "--json")
    assert first["amazon_order_id"] not in {p["amazon_order_id"] for p in json.loads(out)}


def test_problems_on_a_folder_without_data_creates_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fresh = Cli(tmp_path / "fresh", capsys)
    _, err = fresh("problems", code=3)
    assert "noch nichts gespeichert" in err
    assert not (tmp_path / "fresh").exists()


def test_row_reasons_are_in_the_runs_language(run: Cli, simulator: Simulator) -> None:
    add_fault(simulator, "malformed_rows", kinds="bad_number", report_type=INVOICING, count=1)
    out, _ = run("sync", "shop")
    comma_de = r"ein Dezimalkomma statt eines Punkts \(in einer Tabellenkalkulation geöffnet"
    assert re.search(rf"^  Zeile \d+ \[item-price\], Bestellung [\d-]+: {comma_de}", out, re.M)
    assert out.splitlines()[0].endswith(", 1 fehlerhafte Zeile.")  # the plural agrees
    assert "decimal comma" not in out
    out, _ = run("--lang", "en", "problems")
    comma_en = r"a decimal comma, not a point \(opened and saved in a spreadsheet\?\)"
    assert re.search(rf"column item-price: {comma_en}$", out, re.M)  # kept in both languages
    out, _ = run("problems")
    assert re.search(rf"Spalte item-price: {comma_de}", out, re.M)


def test_every_reason_of_the_reader_has_its_words_in_both_languages() -> None:
    for reason in FIXED:
        german, english = seller_reason(reason, "de"), seller_reason(reason, "en")
        assert german != reason
        assert english != german
    assert seller_reason("row has 48 fields, header has 47", "de") == (
        "die Zeile hat 48 Felder, die Kopfzeile 47"
    )
    assert seller_reason("not a number; not a date", "de") == "keine Zahl; kein Datum"
    assert seller_reason("something new", "de") == "something new"  # shown as it is
