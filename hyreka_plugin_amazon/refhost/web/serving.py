"""The seller console served over HTTP (Werkzeug): bound first, then the app that knows the
bound port for its Host check. Requests are not logged (URLs may carry the token).
The command that serves it is ``hyreka-amazon web`` (``refhost/cli/web.py``).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from hyreka_plugin_amazon.refhost.web.console import Console, create_app
from hyreka_plugin_amazon.refhost.web.security import COOKIE

LOOPBACK = "127.0.0.1"


class QuietHandler(WSGIRequestHandler):
    """Werkzeug's handler without its access log: request lines could carry the token."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


@dataclass
class RunningConsole:
    """A console served on a thread (tests) or in the foreground (the command)."""

    server: BaseWSGIServer
    console: Console
    token: str

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    @property
    def url(self) -> str:
        """The address with the current one-time token (it logs a browser in once)."""
        return f"http://{url_host(self.server.host)}:{self.port}/?token={self.token}"

    def new_url(self) -> str:
        """A fresh address: a new one-time token; an earlier unused one stops working."""
        self.token = self.console.gate.issue()
        return self.url

    def stop(self) -> None:
        self.console.jobs.cancel_all()
        self.server.shutdown()
        self.server.server_close()


def serve(
    console: Console, *, host: str = LOOPBACK, port: int = 0, extra_hosts: Collection[str] = ()
) -> RunningConsole:
    """Bind the console (not yet serving: call ``server.serve_forever``); the host of its
    public address (``console.public_url``, a reverse proxy's) is accepted as it is."""
    token = secrets.token_urlsafe(32)
    server = make_server(host, port, _Deferred(), threaded=True, request_handler=QuietHandler)
    bound = server.server_port
    names = {LOOPBACK, "localhost", *(url_host(name) for name in (host, *extra_hosts))}
    allowed = {f"{name}:{bound}" for name in names}
    if console.public_url:
        allowed.add(urlsplit(console.public_url).netloc.lower())
    server.app = create_app(
        console, access_token=token, allowed_hosts=allowed, cookie_name=f"{COOKIE}_{bound}"
    )
    return RunningConsole(server, console, token)


def serve_in_thread(console: Console, **options: Any) -> RunningConsole:
    """The console served on a daemon thread (for tests); ``stop()`` ends it."""
    running = serve(console, **options)
    threading.Thread(target=running.server.serve_forever, name="console", daemon=True).start()
    return running


def url_host(host: str) -> str:
    """A host as a URL and a Host header write it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host


class _Deferred:
    """A placeholder app: the real one needs the bound port for its Host check."""

    def __call__(self, environ: Any, start_response: Any) -> Any:
        raise RuntimeError("the console app is not set yet")
