"""``hyreka-amazon simulator``: run the simulator in the foreground for a demo or a manual test."""

from __future__ import annotations

import argparse
import shlex
import signal
import sys
import threading
from types import FrameType

from hyreka_plugin_amazon.simulator.faults import FaultError, parse_cli_fault
from hyreka_plugin_amazon.simulator.service import Simulator


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--orders", type=int, default=200, help="orders to generate")
    parser.add_argument("--seed", type=int, default=1, help="seed of the order generator")
    parser.add_argument(
        "--time-scale", type=float, default=1.0, help="simulated seconds per wall-clock second"
    )
    parser.add_argument(
        "--report-delay",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="simulated seconds a report takes from IN_QUEUE to its final status",
    )
    parser.add_argument(
        "--report-lag",
        type=float,
        default=0.0,
        metavar="MINUTES",
        help="reports show the orders as they stood this many simulated minutes ago: an order "
        "appears in them that long after it was placed or last changed (default: 0)",
    )
    parser.add_argument(
        "--no-rate-limits", action="store_true", help="switch Amazon's usage plans off"
    )
    parser.add_argument(
        "--marketplace",
        action="append",
        metavar="CODE",
        help="marketplace code or id, repeatable (default: DE FR IT ES UK)",
    )
    parser.add_argument(
        "--fault",
        action="append",
        metavar="NAME[:k=v,...]",
        help="switch a fault on, repeatable, e.g. throttle:count=3,operation=getReport",
    )
    parser.add_argument(
        "--lifecycle", action="store_true", help="let orders move on as simulated time passes"
    )


def simulator_from(args: argparse.Namespace) -> Simulator:
    """The simulator the command line asks for (not started)."""
    return Simulator(
        orders=args.orders,
        seed=args.seed,
        marketplaces=args.marketplace or ("DE", "FR", "IT", "ES", "UK"),
        time_scale=args.time_scale,
        report_delay_s=args.report_delay,
        report_lag_minutes=args.report_lag,
        rate_limits=not args.no_rate_limits,
        port=args.port,
        lifecycle=args.lifecycle,
        faults=[parse_cli_fault(text) for text in args.fault or ()],
    )


def run(args: argparse.Namespace) -> int:
    """Start the simulator, print its settings as shell assignments, serve until a signal."""
    try:
        sim = simulator_from(args)
    except (FaultError, ValueError) as exc:
        sys.stderr.write(f"simulator: {exc}\n")
        return 2
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with sim:
            creds = sim.credentials
            settings = {
                "SPAPI_ENDPOINT": sim.url,
                "LWA_TOKEN_URL": sim.token_url,
                "AMAZON_LWA_CLIENT_ID": creds.client_id,
                "AMAZON_LWA_CLIENT_SECRET": creds.client_secret,
                "AMAZON_REFRESH_TOKEN": creds.refresh_token,
                "SPAPI_APP_ID": sim.application_id,
            }
            for key, value in settings.items():
                sys.stdout.write(f"{key}={shlex.quote(value)}\n")
            sys.stdout.flush()
            while not stop.wait(0.2):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
