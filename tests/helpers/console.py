"""The console's attack tests share these: a console on loopback, a logged-in HTTP session
with its CSRF token, and headless Chromium (Debian's ``chromium``; skipped without it,
failed under CI=true)."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from hyreka_plugin_amazon.refhost.web.serving import RunningConsole

CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT = 5
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def base(console: RunningConsole) -> str:
    return f"http://127.0.0.1:{console.port}"


class LoggedIn:
    """A client that opened the console's printed address once (its token is spent)."""

    def __init__(self, console: RunningConsole) -> None:
        self.base = base(console)
        self.http = requests.Session()
        self.http.trust_env = False
        login = self.http.get(console.url, timeout=TIMEOUT, allow_redirects=False)
        assert login.status_code == 302, login.status_code
        self.login = login
        page = self.http.get(self.base + "/", timeout=TIMEOUT)
        assert page.status_code == 200
        found = CSRF.search(page.text)
        assert found is not None
        self.csrf = found.group(1)

    def get(self, path: str, **options: Any) -> requests.Response:
        return self.http.get(self.base + path, timeout=TIMEOUT, allow_redirects=False, **options)

    def post(self, path: str, **form: str) -> requests.Response:
        return self.http.post(
            self.base + path,
            data={"csrf_token": self.csrf, **form},
            timeout=TIMEOUT,
            allow_redirects=False,
        )


@contextmanager
def chromium() -> Iterator[Any]:
    """Headless Chromium through Playwright."""
    if not CHROMIUM.exists():
        reason = f"Chromium is missing ({CHROMIUM}): apt-get install chromium"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            browser.close()


# ------------------------------------------------------------------------------ other users

NOBODY = 65534  # the unprivileged user the cross-user tests act as (they run as root)
SETPRIV = Path("/usr/bin/setpriv")


def require_root() -> None:
    """Acting as another user needs root (and setpriv): skip without, fail under CI=true."""
    missing = None
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        missing = "root (to act as another user)"
    elif not SETPRIV.exists():
        missing = f"{SETPRIV} (util-linux)"
    if missing is None:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true and the cross-user test cannot run: it needs {missing}")
    pytest.skip(f"the cross-user test needs {missing}")


def system_python() -> str:
    """A Python that nobody may run (a root-owned pyenv under /root is out of its reach)."""
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.access(candidate, os.X_OK):
            return candidate
    return os.path.realpath(sys.executable)


def as_nobody(*argv: str) -> list[str]:
    """``argv`` run as the user nobody by a system Python in isolated mode (stdlib only)."""
    python = system_python()
    return [
        str(SETPRIV),
        f"--reuid={NOBODY}",
        f"--regid={NOBODY}",
        "--clear-groups",
        python,
        "-I",
        *argv,
    ]
