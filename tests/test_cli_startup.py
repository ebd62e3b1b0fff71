"""Start-up of ``hyreka-amazon``: a run imports the module of the command it names, nothing
else. The read commands (``--version``, ``status``, ``orders``, ``account list``) load no web
framework, job queue, PostgreSQL driver or scheduler, and none of what only a sync, a login or
the simulator needs (the HTTP client, the report schemas); ``--version`` and the top level's
``--help`` load no command module at all. (How long they take is measured by
``benchmarks/startup_bench.py``, not here.)"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
from helpers.cli import Cli, add_shop, clean_environment, set_secrets

from hyreka_plugin_amazon.refhost.cli import helptexts
from hyreka_plugin_amazon.refhost.cli import main as cli
from hyreka_plugin_amazon.simulator import Simulator

# the extras and the scheduler (the brief of issue 26), then what makes a start slow
HEAVY = ("flask", "jinja2", "werkzeug", "procrastinate", "psycopg", "psycopg_pool", "apscheduler")
SLOW = (
    "requests",
    "urllib3",
    "marshmallow",
    "hyreka_plugin_amazon.simulator",
    "hyreka_plugin_amazon.sync",
    "hyreka_plugin_amazon.reports",
    "hyreka_plugin_amazon.spapi.client",
)
READ_COMMANDS = (("--version",), ("status",), ("orders",), ("account", "list"))
# Runs the CLI in a fresh interpreter as the console script does; prints its exit code, output
# and the modules it loaded.
PROBE = """
import contextlib, io, json, sys
from hyreka_plugin_amazon.refhost.cli.main import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        code = main(sys.argv[1:])
    except SystemExit as exc:
        code = exc.code
    except Exception as exc:  # a failing command: its name as the code, what it imported
        code = type(exc).__name__
print(json.dumps({"code": code, "out": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def probe(*args: str, env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def loaded(modules: object, names: tuple[str, ...]) -> list[str]:
    """Which of ``names`` (packages or modules, with their submodules) are in ``modules``."""
    assert isinstance(modules, list)
    return sorted(
        {name for name in names for m in modules if m == name or m.startswith(name + ".")}
    )


def command_modules(modules: object) -> list[str]:
    assert isinstance(modules, list)
    package = "hyreka_plugin_amazon.refhost.cli."
    shared = {"main", "common", "helptexts"}
    return [m for m in modules if m.startswith(package) and m[len(package) :] not in shared]


def test_read_commands_load_only_what_they_read(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    host_env: dict[str, str],
    simulator: Simulator,
) -> None:
    clean_environment(monkeypatch, host_env)
    set_secrets(simulator, monkeypatch)
    data = tmp_path / "data"
    run = Cli(data, capsys)
    add_shop(run, simulator, "DE")
    run("sync", "shop")
    for command in READ_COMMANDS:
        found = probe(*command, "--data", str(data), "--lang", "en", env=host_env)
        assert found["code"] == 0, command
        assert loaded(found["modules"], HEAVY) == [], command
        assert loaded(found["modules"], SLOW) == [], command
        assert found["out"], command  # it did its work: the version, the status, the orders
    orders = probe("orders", "--data", str(data), "--lang", "en", env=host_env)
    assert command_modules(orders["modules"]) == ["hyreka_plugin_amazon.refhost.cli.orderlist"]
    # the check sees a heavy import: the console's command loads Flask when it runs
    web = probe("web", "--port", "-1", "--data", str(data), "--lang", "en", env=host_env)
    assert "flask" in loaded(web["modules"], HEAVY)
    assert "shop" in str(probe("account", "list", "--data", str(data), env=host_env)["out"])
    # the check sees a heavy import: a sync loads the HTTP client and the report schemas
    synced = probe("sync", "shop", "--data", str(data), env=host_env)
    assert synced["code"] == 0
    assert loaded(synced["modules"], SLOW) != []


def test_version_loads_no_command_and_no_contract() -> None:
    found = probe("--version", env={})
    assert found["code"] == 0
    assert found["out"] == f"hyreka-amazon {metadata.version('hyreka-plugin-amazon')}\n"
    assert command_modules(found["modules"]) == []
    assert loaded(found["modules"], ("pluggy", "hyreka_plugin_amazon.contract")) == []


@pytest.mark.parametrize("lang", ["de", "en"])
def test_the_top_level_help_lists_every_command_without_loading_one(
    lang: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "100")  # argparse wraps the same here and in the probe
    found = probe("--help", "--lang", lang, env={"COLUMNS": "100"})
    assert found["code"] == 0
    assert command_modules(found["modules"]) == []
    assert loaded(found["modules"], (*HEAVY, *SLOW)) == []
    # every command with its help text from the catalog, as the full parser shows it
    with helptexts.argparse_words(lang):
        full = cli.build_parser()
        full.language = lang
        helptexts.translate_parser(full, lang)
        assert found["out"] == full.format_help()
    listed = re.findall(r"^    (\S+)", str(found["out"]), re.MULTILINE)
    assert listed == list(cli.COMMANDS)


def test_a_command_s_parser_is_the_full_parser_s(capsys: pytest.CaptureFixture[str]) -> None:
    """``orders --help`` built with only its module is the help the full parser gives."""
    for path in (("orders",), ("account", "list"), ("status",), ("sync",)):
        helps = []
        for chosen in (None, (path[0],)):
            parser = cli.build_parser(chosen=chosen)
            with pytest.raises(SystemExit):
                parser.parse_args([*path, "--help"])
            helps.append(capsys.readouterr().out)
        assert helps[0] == helps[1], path
        assert "usage: hyreka-amazon " + " ".join(path) in helps[0]


def test_an_unknown_command_is_refused_with_every_command_named(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as refused:
        cli.main(["odrers", "--lang", "en"])
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice: 'odrers'" in err
    assert all(f"'{command}'" in err for command in cli.COMMANDS)
