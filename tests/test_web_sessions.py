"""The console's sessions (issue 25, item 4): kept on the server, the cookie only a random id
named after the port, an idle timeout, logout, a one-time access token, and requests that
another local port's page makes a browser send refused. Each test performs the attack."""

from __future__ import annotations

import base64
import binascii
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from cryptography.fernet import Fernet
from flask import Flask
from helpers.console import CSRF, TIMEOUT, LoggedIn, base
from markupsafe import escape

from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.i18n.texts import web_text
from hyreka_plugin_amazon.refhost.web.console import Console, create_app
from hyreka_plugin_amazon.refhost.web.serving import RunningConsole, serve_in_thread
from hyreka_plugin_amazon.refhost.web.sessions import SessionStore


class Clock:
    """Seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, minutes: float) -> None:
        self.now += minutes * 60


@pytest.fixture
def host(tmp_path: Path) -> Iterator[ReferenceHost]:
    env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    with ReferenceHost(tmp_path / "data", env=env) as opened:
        yield opened


@pytest.fixture
def console(host: ReferenceHost) -> Iterator[RunningConsole]:
    running = serve_in_thread(Console(host))
    try:
        yield running
    finally:
        running.stop()


def _plain() -> requests.Session:
    client = requests.Session()
    client.trust_env = False
    return client


def _app(host: ReferenceHost, clock: Clock, idle: timedelta = timedelta(minutes=30)) -> Flask:
    console = Console(host, clock=clock, idle_timeout=idle)
    return create_app(console, access_token="tok", allowed_hosts=["localhost"])


# ------------------------------------------------------------------------------ the cookie


def test_the_cookie_carries_only_a_random_id_named_after_the_port(
    console: RunningConsole,
) -> None:
    """What a page on another port receives: before, a signed Flask cookie whose readable
    payload held the CSRF token; now an opaque id under the console's port's name."""
    client = LoggedIn(console)
    cookies = {c.name: c.value for c in client.http.cookies}
    assert list(cookies) == [f"hyreka_console_{console.port}"]
    value = cookies[f"hyreka_console_{console.port}"]
    assert value is not None
    assert len(value) >= 43  # 32 random bytes
    assert "." not in value  # not itsdangerous' payload.timestamp.signature
    try:
        decoded = base64.urlsafe_b64decode(value + "==")
    except binascii.Error:
        decoded = b""
    assert client.csrf not in value
    assert client.csrf.encode() not in decoded
    assert b"csrf" not in decoded
    header = client.login.headers["Set-Cookie"]
    for attribute in ("HttpOnly", "SameSite=Strict", "Path=/"):
        assert attribute in header
    assert "Expires" not in header  # gone with the browser session; the server ends it earlier


def test_two_consoles_on_two_ports_keep_their_own_sessions(host: ReferenceHost) -> None:
    """Browsers keep one cookie jar for all ports of 127.0.0.1: with one cookie name the
    second console's login replaced the first one's session."""
    first = serve_in_thread(Console(host))
    second = serve_in_thread(Console(host))
    try:
        client = _plain()
        for running in (first, second):
            assert client.get(running.url, timeout=TIMEOUT, allow_redirects=False).ok
        assert len(client.cookies) == 2
        for running in (first, second):
            assert client.get(base(running) + "/", timeout=TIMEOUT).status_code == 200
    finally:
        first.stop()
        second.stop()


def test_a_cookie_the_console_did_not_make_opens_nothing(console: RunningConsole) -> None:
    """Session fixation: a planted id is never adopted, the token exchange makes a new one."""
    client = _plain()
    name = f"hyreka_console_{console.port}"
    client.cookies.set(name, "planted-by-someone-else", domain="127.0.0.1", path="/")
    assert client.get(base(console) + "/", timeout=TIMEOUT).status_code == 403
    login = client.get(console.url, timeout=TIMEOUT, allow_redirects=False)
    assert login.cookies[name] != "planted-by-someone-else"
    assert client.get(base(console) + "/", timeout=TIMEOUT).status_code == 200


def test_the_csrf_token_lives_on_the_server(host: ReferenceHost) -> None:
    clock = Clock()
    app = _app(host, clock)
    client = app.test_client()
    assert client.get("/?token=tok").status_code == 302
    page = client.get("/").get_data(as_text=True)
    found = CSRF.search(page)
    assert found is not None
    cookie = client.get_cookie("hyreka_console")
    assert cookie is not None
    assert found.group(1) not in cookie.value
    assert client.post("/lang", data={"lang": "en", "next": "/"}).status_code == 400
    form = {"csrf_token": found.group(1), "lang": "en", "next": "/"}
    assert client.post("/lang", data=form).status_code == 302


# ------------------------------------------------------------------------------ timeout


def test_an_idle_session_expires_after_thirty_minutes(host: ReferenceHost) -> None:
    clock = Clock()
    app = create_app(Console(host, clock=clock), access_token="tok", allowed_hosts=["localhost"])
    client = app.test_client()
    assert client.get("/?token=tok").status_code == 302
    for _ in range(4):  # each request starts the idle time anew: two hours of use
        clock.advance(29.9)
        assert client.get("/c/amazon/accounts").status_code == 200
    clock.advance(30)
    expired = client.get("/c/amazon/accounts")
    assert expired.status_code == 403
    page = expired.get_data(as_text=True)
    assert escape(web_text("de", "expired.title")) in page
    assert "Amazon (Seller Central)" not in page
    assert client.get_cookie("hyreka_console") is None  # the refusal removes the cookie
    assert client.get("/").status_code == 403  # and it stays expired


def test_the_idle_timeout_is_an_option(host: ReferenceHost) -> None:
    clock = Clock()
    client = _app(host, clock, idle=timedelta(minutes=5)).test_client()
    assert client.get("/?token=tok").status_code == 302
    clock.advance(4.9)
    assert client.get("/").status_code == 200
    clock.advance(5)
    assert client.get("/").status_code == 403
    with pytest.raises(ValueError, match="positive"):
        Console(host, idle_timeout=timedelta(0))


def test_an_expired_session_is_gone_from_the_server_and_refused_over_http(
    host: ReferenceHost,
) -> None:
    """The expired id replayed by another client (no cookie jar quirks) opens nothing."""
    clock = Clock()
    running = serve_in_thread(Console(host, clock=clock))
    try:
        client = LoggedIn(running)
        name = f"hyreka_console_{running.port}"
        stolen = client.http.cookies[name]
        clock.advance(31)
        replay = _plain().get(
            base(running) + "/", cookies={name: stolen}, timeout=TIMEOUT, allow_redirects=False
        )
        assert replay.status_code == 403
        assert len(running.console.gate.sessions) == 0
        assert client.get("/").status_code == 403
    finally:
        running.stop()


def test_the_store_forgets_idle_sessions_when_a_new_one_starts() -> None:
    clock = Clock()
    store = SessionStore(timedelta(minutes=30), clock)
    first, _ = store.start()
    clock.advance(31)
    store.start()
    assert len(store) == 1
    assert not store.find(first).live


# ------------------------------------------------------------------------------ logout


def test_logout_ends_the_session_on_the_server(console: RunningConsole) -> None:
    client = LoggedIn(console)
    name = f"hyreka_console_{console.port}"
    old = client.http.cookies[name]
    assert client.http.post(client.base + "/logout", timeout=TIMEOUT).status_code == 400  # CSRF
    out = client.post("/logout")
    assert out.status_code == 302  # Post/Redirect/Get: a reload of the page posts nothing
    assert f"{name}=;" in out.headers["Set-Cookie"]
    assert name not in client.http.cookies
    shown = client.get(out.headers["Location"])
    assert shown.status_code == 200
    assert str(escape(web_text("de", "loggedout.title"))) in shown.text
    replay = _plain().get(base(console) + "/", cookies={name: old}, timeout=TIMEOUT)
    assert replay.status_code == 403
    assert len(console.console.gate.sessions) == 0


def test_pages_offer_logout_and_refusals_offer_no_forms(console: RunningConsole) -> None:
    client = LoggedIn(console)
    page = client.get("/c/amazon/accounts").text
    assert 'action="/logout"' in page
    refused = _plain().get(base(console) + "/", timeout=TIMEOUT)
    assert refused.status_code == 403
    assert "<form" not in refused.text


# ------------------------------------------------------------------------------ the token


def test_the_printed_token_logs_in_once(console: RunningConsole) -> None:
    first = LoggedIn(console)
    again = _plain().get(console.url, timeout=TIMEOUT, allow_redirects=False)
    assert again.status_code == 403
    assert "Set-Cookie" not in again.headers
    assert first.get("/").status_code == 200  # the session it opened lives on
    fresh = console.new_url()
    assert _plain().get(fresh, timeout=TIMEOUT, allow_redirects=False).status_code == 302
    assert _plain().get(fresh, timeout=TIMEOUT, allow_redirects=False).status_code == 403


def test_a_new_address_retires_the_unused_one(console: RunningConsole) -> None:
    unused = console.url
    fresh = console.new_url()
    assert _plain().get(unused, timeout=TIMEOUT, allow_redirects=False).status_code == 403
    assert _plain().get(fresh, timeout=TIMEOUT, allow_redirects=False).status_code == 302


def test_a_wrong_token_does_not_spend_the_right_one(console: RunningConsole) -> None:
    wrong = f"{base(console)}/?token={console.token}x"
    assert _plain().get(wrong, timeout=TIMEOUT, allow_redirects=False).status_code == 403
    assert _plain().get(console.url, timeout=TIMEOUT, allow_redirects=False).status_code == 302


# ------------------------------------------------------------------------------ other sites


@pytest.mark.parametrize(
    ("method", "mode", "dest"),
    [
        ("GET", "cors", "empty"),  # fetch() from a page on another port
        ("GET", "no-cors", "image"),  # <img src=...>
        ("GET", "no-cors", "script"),  # <script src=...>
        ("GET", "navigate", "iframe"),  # framed
        ("POST", "navigate", "document"),  # a form posted from there
    ],
)
@pytest.mark.parametrize("site", ["same-site", "cross-site"])
def test_requests_another_site_makes_the_browser_send_are_refused(
    console: RunningConsole, site: str, method: str, mode: str, dest: str
) -> None:
    """What a page on another port of 127.0.0.1 can make the browser send with the cookie
    (same-site for browsers): refused before the page or the action, whatever the token."""
    client = LoggedIn(console)
    headers = {"Sec-Fetch-Site": site, "Sec-Fetch-Mode": mode, "Sec-Fetch-Dest": dest}
    if method == "GET":
        answer = client.get("/c/amazon/accounts", headers=headers)
    else:
        answer = client.http.post(
            client.base + "/lang",
            data={"csrf_token": client.csrf, "lang": "en", "next": "/"},
            headers=headers,
            timeout=TIMEOUT,
            allow_redirects=False,
        )
    assert answer.status_code == 403
    assert "Amazon (Seller Central)" not in answer.text


def test_a_plain_page_load_from_another_site_shows_the_page_to_the_browser(
    console: RunningConsole,
) -> None:
    client = LoggedIn(console)
    headers = {"Sec-Fetch-Site": "same-site", "Sec-Fetch-Mode": "navigate"}
    assert client.get("/", headers=headers | {"Sec-Fetch-Dest": "document"}).status_code == 200
    own = {"Sec-Fetch-Site": "same-origin", "Sec-Fetch-Mode": "cors", "Sec-Fetch-Dest": "empty"}
    assert client.get("/", headers=own).status_code == 200


# ------------------------------------------------------------------------------ the command


@pytest.mark.slow
def test_the_web_command_prints_one_time_addresses_and_a_fresh_one_on_request(
    tmp_path: Path,
) -> None:
    """``hyreka-amazon web``: the first line stays ``WEB_URL=``; its address logs in once;
    Enter (a line on the command's input) and SIGUSR1 print a fresh one."""
    env = {**os.environ, "HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    command = [sys.executable, "-m", "hyreka_plugin_amazon.refhost.cli", "web", "--port", "0"]
    args = ["--idle-minutes", "5", "--lang", "en", "--data", str(tmp_path)]
    with subprocess.Popen(
        [*command, *args],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        assert process.stderr is not None
        try:
            first = process.stdout.readline().strip()
            hint = process.stderr.readline()
            assert first.startswith("WEB_URL=http://127.0.0.1:")
            assert "5 min" in hint
            assert "Enter" in hint
            url = first.removeprefix("WEB_URL=")
            assert _plain().get(url, timeout=TIMEOUT, allow_redirects=False).status_code == 302
            assert _plain().get(url, timeout=TIMEOUT, allow_redirects=False).status_code == 403
            process.stdin.write("\n")
            process.stdin.flush()
            fresh = process.stdout.readline().strip().removeprefix("WEB_URL=")
            assert fresh.split("?")[0] == url.split("?")[0]
            assert fresh != url
            process.send_signal(signal.SIGUSR1)
            newest = process.stdout.readline().strip().removeprefix("WEB_URL=")
            assert newest not in (url, fresh)
            assert _plain().get(fresh, timeout=TIMEOUT, allow_redirects=False).status_code == 403
            assert _plain().get(newest, timeout=TIMEOUT, allow_redirects=False).status_code == 302
            process.stdin.close()  # the end of input ends the reading, not the console
            assert _plain().get(newest, timeout=TIMEOUT).status_code == 403
        finally:
            process.terminate()
            process.wait(timeout=30)
        assert process.returncode == 0


def test_the_idle_minutes_must_be_at_least_one(capsys: pytest.CaptureFixture[str]) -> None:
    from hyreka_plugin_amazon.refhost.cli.main import main

    with pytest.raises(SystemExit) as stopped:
        main(["web", "--idle-minutes", "0"])
    assert stopped.value.code == 2
    assert "at least 1 minute" in capsys.readouterr().err
