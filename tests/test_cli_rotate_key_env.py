"""A key in the environment: ``rotate-key`` waits for the poller.

A poller started with ``HYREKA_AMAZON_KEY`` cannot learn a rotated key (its environment is
fixed), so every job after a rotation would fail. ``rotate-key`` from the environment refuses
while a poller runs on the data folder, changes nothing, and says what to do.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hyreka_plugin_amazon.refhost.background.presence import hold_poller_presence, poller_running
from hyreka_plugin_amazon.refhost.cli.main import main
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV, Vault, VaultError
from hyreka_plugin_amazon.refhost.store import Store


def test_presence_is_held_while_open_and_gone_with_the_process(tmp_path: Path) -> None:
    assert not poller_running(tmp_path)
    held = hold_poller_presence(tmp_path)
    second = hold_poller_presence(tmp_path)  # several pollers may run
    assert poller_running(tmp_path)
    held.close()
    assert poller_running(tmp_path)
    second.close()
    assert not poller_running(tmp_path)


@pytest.mark.slow
def test_rotate_key_from_the_environment_refuses_while_run_is_active(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    old, new = Vault.generate_key(), Vault.generate_key()
    data.mkdir(mode=0o700)
    Store.open(data, env={KEY_ENV: old}).close()
    env = {**os.environ, KEY_ENV: old}
    with subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hyreka_plugin_amazon.refhost.cli.main",
            "run",
            "--lang",
            "en",
            "--data",
            str(data),
        ],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    ) as run:
        _refused_while(run, data, old, new, monkeypatch, capsys)
    assert main(["rotate-key", "--data", str(data)]) == 0  # the poller stopped: it goes ahead
    with pytest.raises(VaultError):
        Store.open(data, env={KEY_ENV: old})


def _refused_while(
    run: subprocess.Popen[str],
    data: Path,
    old: str,
    new: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    try:
        assert run.stderr is not None
        assert "polling" in run.stderr.readline()  # the poller is up
        monkeypatch.setenv(KEY_ENV, f"{new},{old}")
        assert main(["rotate-key", "--data", str(data)]) == 2
        assert "hyreka-amazon run" in capsys.readouterr().err
        Store.open(data, env={KEY_ENV: old}).close()  # nothing was rotated
    finally:
        run.send_signal(signal.SIGTERM)
        assert run.wait(30) == 0
