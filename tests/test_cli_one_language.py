"""One language per run: every command and every ``--help`` with ``--lang de`` and with
``--lang en``, and no line of the other language (tell-tale words), through ``cli.main``
against the simulator."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest
from helpers.cli import Cli, clean_environment, set_secrets
from helpers.sim import INVOICING, add_fault

from hyreka_plugin_amazon.refhost.cli import main as cli
from hyreka_plugin_amazon.simulator import Simulator

# Words that give the other language away (whole words, case-sensitive where it matters).
TELLTALES = {
    "de": re.compile(
        r"\b(the|and|of|with|not|is|are|orders?|accounts?|report|created|updated|unchanged|"
        r"failed|error|usage|options|show|every|next|last|none|stopped|removed|Summary|Done|"
        r"Downloading|Importing|Requesting|row|column|number|missing|invalid|stored|"
        r"added|changed|problems?)\b"
    ),
    "en": re.compile(
        r"\b(der|die|das|und|nicht|mit|ist|sind|Bestellung\w*|Kont(o|en)|Zeile|Spalte|Fehler|"
        r"Aufruf|Optionen|neu|aktualisiert|unverändert|Bericht\w*|Zusammenfassung|Fertig|"
        r"Herunterladen|Übernehmen|keine?|wird|werden|für|von|auf|zeigen|Probleme?)\b"
    ),
}
# What is no language: commands, options, names of settings and variables, quoted screen
# names ("Anmeldung testen"), product names, order ids, addresses of the simulator.
NEUTRAL = [
    re.compile(p)
    for p in (
        r"× \S+ [^:]*:",  # an order line's SKU and product title: the seller's data
        r"hyreka-amazon(?: (?:[a-z][\w-]*|--?[\w-]+|[A-Z]+|ID|NAME|…|\.\.\.))*",
        r"^\s+[a-z][\w-]+(?=\s{2,}|$)",  # a command's name in the list of commands
        r"--?[\w-]+(?:[ =][A-Z][\w=]*)?",
        r"\$?\b[A-Z][A-Z0-9_]{2,}\b",
        r"\b[a-z]+(?:_[a-z]+)+\b",
        r"„[^“]*“|\"[^\"]*\"|“[^”]*”|'[^']*'|`[^`]*`|\{[^}]*\}",
        r"https?://\S+|/\S+",
        r"Seller Central|Solution Provider Portal|Develop Apps|Amazon\.[\w.]+ \(\w+\)",
        r"\b\d{3}-\d{7}-\d{7}\b",
    )
]


def commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command path of the parser (``()`` for the program itself)."""
    found = [path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                found += commands(sub, (*path, name))
    return found


def foreign(text: str, lang: str) -> list[str]:
    """Lines of ``text`` with a word of the other language, after removing what is neutral."""
    hits = []
    for line in text.splitlines():
        plain = line
        for pattern in NEUTRAL:
            plain = pattern.sub(" ", plain)
        if TELLTALES[lang].search(plain):
            hits.append(line)
    return hits


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
    return Cli(tmp_path / "data", capsys)


@pytest.mark.slow
@pytest.mark.parametrize("lang", ["de", "en"])
def test_every_command_and_its_help_speaks_one_language(
    run: Cli, simulator: Simulator, tmp_path: Path, lang: str
) -> None:
    printed: dict[str, str] = {}

    def say(*args: str, code: int = 0) -> None:
        refused: int | str | None = None
        try:
            out, err = run("--lang", lang, *args, code=code)
        except SystemExit as exc:  # argparse refused the command line
            refused = exc.code
            out, err = run.capsys.readouterr()
        assert refused in (None, code)
        printed[" ".join(args)] = out + err

    for path in commands(cli.build_parser()):
        with pytest.raises(SystemExit):
            cli.main([*path, "--help", "--lang", lang])
        out, err = run.capsys.readouterr()
        printed[" ".join((*path, "--help"))] = out + err
    say("orders", code=3)  # no data folder yet
    say("account", "list")
    add = ("--endpoint", simulator.url, "--token-url", simulator.token_url)
    say("account", "add", "shop", "--marketplace", "DE", "--marketplace", "FR", *add)
    say("account", "add", "shop", "--marketplace", "DE", code=2)
    say("account", "add", "x", "--marketplace", "DE", "--setting", "poll_minute=3", code=2)
    say("account", "add", "x", "--marketplace", "US", code=2)
    say("account", "set", "shop", "--setting", "report_check_seconds=0.05")
    say("account", "set", "shop", "--setting", "report_check_max_seconds=0.2")
    say("account", "set", "shop", "--setting", "lookback_days=90", code=2)
    say("account", "list")
    say("account", "credentials", "shop")
    say("test-login", "shop")
    simulator.faults.add({"name": "billing_columns_disabled", "rate": 1.0})
    add_fault(simulator, "malformed_rows", kinds="bad_number", report_type=INVOICING, count=2)
    say("sync", "shop")
    say("sync", "nobody", code=2)
    say("orders", "--limit", "3")
    say("orders", "--limit", "2", "--status", "open")
    say("orders", "--status", "x", code=2)
    say("problems")
    say("status")
    say("status", "--history", "2")
    say("import-report", str(tmp_path / "missing.txt"), code=2)
    say("purge", "--dry-run")
    say("purge", "--days", "bad", code=2)
    say("rotate-key", code=2)  # the key is in HYREKA_AMAZON_KEY: it explains how
    say("account", "remove", "shop", "--yes")
    say("account", "list")
    say("demo", "--orders", "8")

    leaks = [f"{c}: {line}" for c, text in printed.items() for line in foreign(text, lang)]
    assert not leaks, "\n".join(leaks)
    assert len(printed) > 40


def test_the_telltales_find_the_other_language() -> None:
    assert foreign("  last sync: none yet", "de") == ["  last sync: none yet"]
    assert foreign("Herunterladen: order report – 3 KB", "de") != []
    assert foreign("Übernehmen: 3 von 3 Bestellungen", "en") != []
    assert foreign("Zeile 3 [item-price]: not a number", "de") != []
    assert (
        foreign("Konto „shop“ angelegt. Nächster Schritt: hyreka-amazon test-login shop", "de")
        == []
    )
    assert (
        foreign("Unknown setting “poll_minute”; possible: lookback_days, poll_minutes.", "en") == []
    )
