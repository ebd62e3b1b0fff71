"""Running ``hyreka-amazon`` in-process through ``cli.main`` on one data folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from hyreka_plugin_amazon.refhost.cli import main as cli
from hyreka_plugin_amazon.simulator import Simulator


class Cli:
    """Runs ``cli.main`` with ``--data``; checks the exit code; keeps what it printed."""

    def __init__(self, data: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.data = data
        self.capsys = capsys

    def __call__(self, *args: str, code: int = 0) -> tuple[str, str]:
        exit_code = cli.main([*args, "--data", str(self.data)])
        out, err = self.capsys.readouterr()
        assert exit_code == code, out + err
        assert "Traceback" not in err
        return out, err


def set_secrets(sim: Simulator, monkeypatch: pytest.MonkeyPatch, **override: str) -> None:
    """The simulator's credentials in the ``AMAZON_*`` variables (``override`` by field)."""
    creds = sim.credentials
    values = {
        "client_id": creds.client_id,
        "client_secret": creds.client_secret,
        "refresh_token": creds.refresh_token,
        **override,
    }
    for key, env in cli.SECRET_ENV.items():
        monkeypatch.setenv(env, values[key])


def clean_environment(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> None:
    """``env`` set; no language chosen by the environment (German by default)."""
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for name in ("HYREKA_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)


FAST = ("--setting", "report_check_seconds=0.05", "--setting", "report_check_max_seconds=0.2")


def add_shop(cli: Cli, sim: Simulator, *marketplaces: str) -> None:
    """``account add shop`` on the simulator's endpoints with fast report checks."""
    choices = [arg for code in marketplaces for arg in ("--marketplace", code)]
    endpoints = ("--endpoint", sim.url, "--token-url", sim.token_url)
    cli("account", "add", "shop", *choices, *endpoints, *FAST)
