"""``hyreka-amazon web``: serve the seller console on the loopback address until Ctrl+C.

The first line printed is ``WEB_URL=http://127.0.0.1:PORT/?token=...``: opening it logs the
browser in (the token is exchanged for a session cookie). Requests are not logged (URLs may
carry the token).
"""

from __future__ import annotations

import argparse
import secrets
import signal
import sys
import threading
from collections.abc import Collection
from dataclasses import dataclass
from types import FrameType
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from hyreka_plugin_amazon.refhost.paths import data_dir
from hyreka_plugin_amazon.refhost.services.opening import open_folder
from hyreka_plugin_amazon.refhost.web.console import Console, create_app

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
        return f"http://{self.server.host}:{self.port}/?token={self.token}"

    def stop(self) -> None:
        self.console.jobs.cancel_all()
        self.server.shutdown()
        self.server.server_close()


def serve(
    console: Console, *, host: str = LOOPBACK, port: int = 0, extra_hosts: Collection[str] = ()
) -> RunningConsole:
    """Bind the console (not yet serving: call ``server.serve_forever``)."""
    token = secrets.token_urlsafe(32)
    server = make_server(host, port, _Deferred(), threaded=True, request_handler=QuietHandler)
    bound = server.server_port
    names = {LOOPBACK, "localhost", host, *extra_hosts}
    allowed = {f"{name}:{bound}" for name in names}
    server.app = create_app(console, access_token=token, allowed_hosts=allowed)
    return RunningConsole(server, console, token)


def serve_in_thread(console: Console, **options: Any) -> RunningConsole:
    """The console served on a daemon thread (for tests); ``stop()`` ends it."""
    running = serve(console, **options)
    threading.Thread(target=running.server.serve_forever, name="console", daemon=True).start()
    return running


class _Deferred:
    """A placeholder app: the real one needs the bound port for its Host check."""

    def __call__(self, environ: Any, start_response: Any) -> Any:
        raise RuntimeError("the console app is not set yet")


def add_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    web = sub.add_parser(
        "web",
        parents=[common],
        help="the seller console in the browser (prints WEB_URL=... first)",
        description="Serve the seller console on 127.0.0.1 until Ctrl+C or SIGTERM.",
    )
    web.add_argument("--port", type=int, default=8765, help="port (default: 8765; 0: any free)")
    web.add_argument(
        "--host",
        default=LOOPBACK,
        help="bind address (default: 127.0.0.1; anything else exposes the console to others)",
    )
    web.add_argument("--endpoint", help="SP-API endpoint of accounts created here (simulator)")
    web.add_argument("--token-url", help="LWA token endpoint of accounts created here")
    web.set_defaults(func=cmd_web)


def cmd_web(args: argparse.Namespace) -> int:
    if args.host != LOOPBACK:
        print(
            f"WARNING: serving on {args.host}: anyone who can reach it and gets the token "
            "can see and change your accounts and orders",
            file=sys.stderr,
        )
    with open_folder(data_dir(args.data), database=getattr(args, "database", None)) as host:
        console = Console(host, lang=args.lang, endpoint=args.endpoint, token_url=args.token_url)
        running = serve(console, host=args.host, port=args.port)
        print(f"WEB_URL={running.url}", flush=True)
        print("Ctrl+C stops the console", file=sys.stderr, flush=True)
        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            running.server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            running.console.jobs.cancel_all()
            running.server.server_close()
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
