"""A command whose extra is missing says which to install, and the plain install runs the
demo without the extras. (What the read commands import: tests/test_cli_startup.py.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def test_a_missing_extra_is_named_in_one_line(tmp_path: Path) -> None:
    """Without Flask (``sys.modules`` entry None makes its import fail, as when it is not
    installed), ``hyreka-amazon web`` says which extra to install, exit 3, no traceback."""
    script = (
        "import sys\n"
        "sys.modules['flask'] = None\n"
        "from hyreka_plugin_amazon.refhost.cli.main import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    for lang, words in (("en", "This command needs the extra"), ("de", "braucht das Zusatzpaket")):
        done = subprocess.run(
            [sys.executable, "-c", script, "web", "--data", str(tmp_path), "--lang", lang],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        assert done.returncode == 3, done.stderr
        assert done.stderr.strip().count("\n") == 0
        assert words in done.stderr
        assert "pip install 'hyreka-plugin-amazon[web]'" in done.stderr
        assert "Traceback" not in done.stderr


REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_plain_install_runs_the_demo_without_the_extras(tmp_path: Path) -> None:
    """``pip install .`` into a fresh environment: no Flask, psycopg or procrastinate; the demo
    runs; ``web`` and ``worker`` name their extra."""
    venv = tmp_path / "venv"
    # The environment gets no pip of its own (ensurepip costs seconds): this run's pip installs
    # into it (``--python``), resolving the plain install's dependencies as in a fresh venv.
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120
    )
    pip = [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python")]
    subprocess.run([*pip, "install", "-q", "--no-compile", str(REPO)], check=True, timeout=600)
    listed = subprocess.run(
        [*pip, "list", "--format", "json"], capture_output=True, text=True, check=True
    )
    installed = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert {"pluggy", "requests", "marshmallow", "cryptography", "apscheduler"} <= installed
    assert installed.isdisjoint({"flask", "werkzeug", "jinja2", "psycopg", "procrastinate"})
    command = str(venv / "bin" / "hyreka-amazon")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HYREKA_")}
    demo = subprocess.run(
        [command, "--lang", "en", "demo", "--data", str(tmp_path / "data")],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=300,
    )
    assert demo.returncode == 0, demo.stderr
    assert "Open orders according to the simulator" in demo.stdout
    for args, extra in ((["web"], "web"), (["worker"], "postgres")):
        done = subprocess.run(
            [command, *args, "--lang", "en", "--data", str(tmp_path / "data")],
            capture_output=True,
            text=True,
            env=env,
            check=False,
            timeout=60,
        )
        assert done.returncode == 3, done.stderr
        assert f"pip install 'hyreka-plugin-amazon[{extra}]'" in done.stderr
        assert "Traceback" not in done.stderr
