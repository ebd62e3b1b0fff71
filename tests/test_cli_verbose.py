"""Retry and HTTP log lines reach the terminal only with ``--verbose``: the installed
``hyreka-amazon`` against the simulator with a throttled getReport."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from hyreka_plugin_amazon.simulator import Simulator

SCRIPT = shutil.which("hyreka-amazon", path=str(Path(sys.executable).parent))


@pytest.mark.slow
@pytest.mark.skipif(SCRIPT is None, reason="hyreka-amazon is not installed")
def test_retry_lines_only_with_verbose(
    simulator: Simulator, tmp_path: Path, host_env: dict[str, str]
) -> None:
    assert SCRIPT is not None
    creds = simulator.credentials
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("HYREKA_", "LC_", "LANG"))},
        **host_env,
        "AMAZON_LWA_CLIENT_ID": creds.client_id,
        "AMAZON_LWA_CLIENT_SECRET": creds.client_secret,
        "AMAZON_REFRESH_TOKEN": creds.refresh_token,
    }
    data = ["--data", str(tmp_path / "data")]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [SCRIPT, *args, *data], env=env, capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 0, done.stderr
        return done

    run("account", "add", "shop", "--marketplace", "DE", "--endpoint", simulator.url,
        "--token-url", simulator.token_url, "--setting", "report_check_seconds=0.05")  # fmt: skip
    for verbose in (False, True):
        simulator.faults.add({"name": "throttle", "count": 1, "operation": "getReport"})
        done = run("sync", "shop", *(["--verbose"] if verbose else []))
        retried = [line for line in done.stderr.splitlines() if "retrying in" in line]
        assert bool(retried) is verbose, done.stderr
        assert done.stdout.startswith("Synchronisierung abgeschlossen")
        assert done.stderr.rstrip().endswith("Fertig")
        assert creds.client_secret not in done.stderr
