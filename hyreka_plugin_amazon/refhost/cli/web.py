"""``hyreka-amazon web``: serve the seller console on the loopback address until Ctrl+C.

The first line printed is ``WEB_URL=http://127.0.0.1:PORT/?token=...``: opening it logs the
browser in (the token is exchanged for a session cookie, once: the address works a single
time). Enter on the command's input, or SIGUSR1, prints a fresh ``WEB_URL=`` line (the
earlier address, if unused, stops working). A session ends after ``--idle-minutes`` without
a request. Flask and Werkzeug (the ``web`` extra) are imported only when the command runs.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import timedelta
from types import FrameType
from typing import Any
from urllib.parse import urlsplit

from hyreka_plugin_amazon.refhost.i18n.texts import translate
from hyreka_plugin_amazon.refhost.paths import data_dir
from hyreka_plugin_amazon.refhost.services import connecting
from hyreka_plugin_amazon.refhost.services.errors import ServiceError
from hyreka_plugin_amazon.refhost.services.opening import open_folder

LOOPBACK = "127.0.0.1"


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
    web.add_argument(
        "--idle-minutes",
        type=_minutes,
        default=30,
        help="a browser session ends after this many minutes without a request (default: 30)",
    )
    web.add_argument("--endpoint", help="SP-API endpoint of accounts created here (simulator)")
    web.add_argument("--token-url", help="LWA token endpoint of accounts created here")
    web.add_argument(
        "--app-id",
        help="the ERP's SP-API app (application id) sellers connect with \"Mit Amazon "
        'verbinden"; with AMAZON_LWA_CLIENT_ID and AMAZON_LWA_CLIENT_SECRET (or '
        "HYREKA_AMAZON_APP_ID), kept encrypted in the data folder",
    )
    web.add_argument(
        "--public-url",
        help="the console's address as sellers' browsers reach it (https, a reverse proxy's); "
        "Amazon sends them back to PUBLIC_URL/c/amazon/connect/callback",
    )
    web.add_argument(
        "--app-draft",
        action="store_true",
        default=None,
        help="the app is still in draft: consent URLs say version=beta",
    )
    web.set_defaults(func=cmd_web)


def cmd_web(args: argparse.Namespace) -> int:
    from hyreka_plugin_amazon.refhost.web.console import Console
    from hyreka_plugin_amazon.refhost.web.serving import serve

    if not loopback(args.host):
        print(translate("cli.web_exposed", args.lang, host=args.host), file=sys.stderr)
    public_url = args.public_url
    if public_url is not None and not public_address(public_url):
        print(translate("cli.web_public_url", args.lang, url=public_url), file=sys.stderr)
        return 2
    with open_folder(data_dir(args.data), database=getattr(args, "database", None)) as host:
        try:
            app = connecting.vendor_app(host, application_id=args.app_id, draft=args.app_draft)
        except ServiceError as exc:
            print(translate(exc.text_id, args.lang, **exc.params), file=sys.stderr)
            return 2
        console = Console(
            host,
            lang=args.lang,
            endpoint=args.endpoint,
            token_url=args.token_url,
            idle_timeout=timedelta(minutes=args.idle_minutes),
            vendor_app=app,
            public_url=public_url.rstrip("/") if public_url else None,
        )
        running = serve(console, host=args.host, port=args.port)
        print(f"WEB_URL={running.url}", flush=True)
        hint = translate("cli.web_running", args.lang, minutes=args.idle_minutes)
        print(hint, file=sys.stderr, flush=True)
        printing = threading.Lock()

        def fresh_url() -> None:
            with printing:
                print(f"WEB_URL={running.new_url()}", flush=True)

        previous = signal.signal(signal.SIGTERM, _interrupt)
        try:
            with _fresh_urls_on_request(fresh_url):
                running.server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
            running.console.jobs.cancel_all()
            running.server.server_close()
    return 0


def loopback(host: str) -> bool:
    """Whether a bind address is this machine's own (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def public_address(url: str) -> bool:
    """Whether ``url`` can be the console's public address: https, or http on loopback."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and loopback(parts.hostname or "")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _fresh_urls_on_request(fresh_url: Callable[[], None]) -> Iterator[None]:
    """Call ``fresh_url`` for each line on standard input and on SIGUSR1 (POSIX). Input is
    read from its file descriptor on a daemon thread (no lock of ``sys.stdin`` held at exit);
    a console put in the background of a shell gets an error instead of being stopped
    (SIGTTIN ignored), which ends the reading, not the console."""
    usr1 = getattr(signal, "SIGUSR1", None)
    ttin = getattr(signal, "SIGTTIN", None)
    saved: dict[int, Any] = {}
    if usr1 is not None:
        saved[usr1] = signal.signal(usr1, lambda signum, frame: fresh_url())
    if ttin is not None:
        saved[ttin] = signal.signal(ttin, signal.SIG_IGN)
    threading.Thread(target=_read_lines, args=(fresh_url,), name="web-input", daemon=True).start()
    try:
        yield
    finally:
        for signum, handler in saved.items():
            signal.signal(signum, handler)


def _read_lines(on_line: Callable[[], None]) -> None:
    try:
        fd = sys.stdin.fileno()
    except (AttributeError, OSError, ValueError):  # no standard input (pythonw, closed)
        return
    while True:
        try:
            data = os.read(fd, 1024)
        except OSError:  # in the background of a shell, or input gone
            return
        if not data:
            return
        for _ in range(data.count(b"\n")):
            on_line()


def _minutes(value: str) -> int:
    minutes = int(value)
    if minutes < 1:
        raise argparse.ArgumentTypeError("at least 1 minute")
    return minutes
