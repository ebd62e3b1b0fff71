"""Serving the console: IPv6 loopback URLs, and the warning for an address others can reach
(issue 25, item 14)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet

from hyreka_plugin_amazon.refhost.cli.web import loopback
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.web.console import Console
from hyreka_plugin_amazon.refhost.web.serving import RunningConsole, serve_in_thread

TIMEOUT = 5


def _ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.fixture
def console_v6(tmp_path: Path) -> Iterator[RunningConsole]:
    if not _ipv6_loopback():
        pytest.skip("this machine has no IPv6 loopback address")
    env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    with ReferenceHost(tmp_path / "data", env=env) as host:
        running = serve_in_thread(Console(host), host="::1")
        try:
            yield running
        finally:
            running.stop()


def test_an_ipv6_console_prints_a_bracketed_url_that_works(console_v6: RunningConsole) -> None:
    assert console_v6.url.startswith(f"http://[::1]:{console_v6.port}/?token=")
    session = requests.Session()
    session.trust_env = False
    login = session.get(console_v6.url, timeout=TIMEOUT, allow_redirects=False)
    assert login.status_code == 302  # the Host header [::1]:port passes the Host check
    page = session.get(f"http://[::1]:{console_v6.port}/", timeout=TIMEOUT)
    assert page.status_code == 200
    assert "Amazon" in page.text


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),  # noqa: S104 - the address under test
        ("::", False),
        ("192.0.2.7", False),
        ("shop.example", False),
    ],
)
def test_which_bind_addresses_are_loopback(host: str, expected: bool) -> None:
    assert loopback(host) is expected


@pytest.mark.slow
@pytest.mark.parametrize(
    ("lang", "words"), [("en", "travel unencrypted"), ("de", "unverschlüsselt")]
)
def test_a_console_others_can_reach_warns_that_token_and_cookie_travel_unencrypted(
    tmp_path: Path, lang: str, words: str
) -> None:
    env = {**os.environ, "HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    command = [sys.executable, "-m", "hyreka_plugin_amazon.refhost.cli", "web"]
    args = ["--host", "0.0.0.0", "--port", "0", "--lang", lang, "--data", str(tmp_path)]  # noqa: S104
    with subprocess.Popen(
        [*command, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        try:
            assert process.stdout is not None
            assert process.stderr is not None
            first = process.stdout.readline()
            warning = process.stderr.readline()
        finally:
            process.terminate()
            process.wait(timeout=30)
    assert first.startswith("WEB_URL=http://0.0.0.0:")
    assert words in warning
    assert "--host 127.0.0.1" in warning
