"""``hyreka-amazon web``: serve the seller console on the loopback address until Ctrl+C.

The first line printed is ``WEB_URL=http://127.0.0.1:PORT/?token=...``: opening it logs the
browser in (the token is exchanged for a session cookie). Flask and Werkzeug (the ``web``
extra) are imported only when the command runs.
"""

from __future__ import annotations

import argparse
import ipaddress
import signal
import sys
from types import FrameType
from typing import Any

from hyreka_plugin_amazon.refhost.i18n.texts import translate
from hyreka_plugin_amazon.refhost.paths import data_dir
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
    web.add_argument("--endpoint", help="SP-API endpoint of accounts created here (simulator)")
    web.add_argument("--token-url", help="LWA token endpoint of accounts created here")
    web.set_defaults(func=cmd_web)


def cmd_web(args: argparse.Namespace) -> int:
    from hyreka_plugin_amazon.refhost.web.console import Console
    from hyreka_plugin_amazon.refhost.web.serving import serve

    if not loopback(args.host):
        print(translate("cli.web_exposed", args.lang, host=args.host), file=sys.stderr)
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


def loopback(host: str) -> bool:
    """Whether a bind address is this machine's own (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt
