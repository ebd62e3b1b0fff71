"""Whole-process sync benchmark: ``hyreka-amazon sync`` as a seller runs it, two revisions side
by side in one run.

    python benchmarks/process_bench.py [--baseline REV] [--orders N] [--repeat K]

The working tree and a baseline revision (default: the commit before the reference host got
its rooms, ``69c98f2``) each run the same first sync of the same simulated seller: a fresh
data folder, ``account add`` on the simulator's endpoints, then ``sync`` in a process of its
own (``python -m hyreka_plugin_amazon.refhost.cli``). The baseline is the revision's tree
(``git archive``) on ``PYTHONPATH`` with its catalogs compiled; both use this environment's
dependencies and the one simulator this script starts. Each repetition syncs a new seller of
the same size once with each tree, in alternating order (A B, B A, ...) so that the machine's
drift hits both alike; printed are the median wall time, CPU time (user + system) and peak RSS
of the ``sync`` process, and the ratios. Each ``sync`` is started by the small launcher
``measured.py``, which measures it with ``os.wait4``: started from this process directly, its
``ru_maxrss`` would be this process's peak (the simulator's orders), not its own.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet
from measured import measure

from hyreka_plugin_amazon.simulator import Simulator

REPO = Path(__file__).resolve().parent.parent
DEFAULT_BASELINE = "69c98f2"
MARKETPLACES = ("DE", "FR", "IT")
FAST = ("--setting", "report_check_seconds=0.05", "--setting", "report_check_max_seconds=0.2")


@dataclass(frozen=True)
class Run:
    wall_s: float
    cpu_s: float
    peak_rss_mib: float


def export_tree(revision: str, into: Path) -> Path:
    """The revision's files in ``into`` with its message catalogs compiled (as a build does)."""
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", revision],
        capture_output=True,
        check=True,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for source in into.glob("hyreka_plugin_amazon/**/locale/*.po"):
        with source.open("rb") as po:
            catalog = read_po(po, locale=source.stem)
        with source.with_suffix(".mo").open("wb") as mo:
            write_mo(mo, catalog)
    return into


def command(tree: Path, env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hyreka_plugin_amazon.refhost.cli", *args],
        env={**env, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def one_sync(tree: Path, sim: Simulator, base_env: Mapping[str, str]) -> Run:
    """A fresh data folder, the account, then the timed ``sync`` process."""
    with tempfile.TemporaryDirectory(prefix="process-bench-") as folder:
        data = ("--data", folder, "--lang", "en")
        env = {**base_env, "HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
        choices = [arg for code in MARKETPLACES for arg in ("--marketplace", code)]
        endpoints = ("--endpoint", sim.url, "--token-url", sim.token_url)
        added = command(tree, env, "account", "add", "shop", *choices, *endpoints, *FAST, *data)
        if added.returncode != 0:
            raise SystemExit(f"account add failed in {tree}: {added.stderr}")
        argv = [sys.executable, "-m", "hyreka_plugin_amazon.refhost.cli", "sync", "shop", *data]
        errors = Path(folder) / "stderr.txt"
        with errors.open("w") as stderr:
            # through the small launcher: a child of this process (which holds the simulator)
            # would report this process's peak RSS as its own (see measured.py)
            took = measure(
                argv,
                env={**env, "PYTHONPATH": str(tree)},
                out=Path(folder) / "measure.json",
                stdout=stderr,
                stderr=stderr,
            )
        if took.returncode != 0:
            failed = errors.read_text()[-3000:]
            raise SystemExit(f"sync failed in {tree} ({took.returncode}): {failed}")
        return Run(took.wall_s, took.cpu_s, took.peak_rss_mib)


def median(runs: Sequence[Run], field: str) -> float:
    values: list[float] = [getattr(run, field) for run in runs]
    return statistics.median(values)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="git revision to compare")
    parser.add_argument("--orders", type=int, default=2000, help="open orders of the seller")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each, alternating")
    args = parser.parse_args(argv)

    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYREKA_", "AMAZON_"))}
    with (
        tempfile.TemporaryDirectory(prefix="process-bench-tree-") as tmp,
        Simulator(orders=args.orders, seed=8, marketplaces=MARKETPLACES, report_delay_s=0.2) as sim,
    ):
        trees = {"baseline": export_tree(args.baseline, Path(tmp)), "this tree": REPO}
        runs: dict[str, list[Run]] = {name: [] for name in trees}
        for repetition in range(args.repeat):
            # a seller of its own per repetition, synced once by each tree (Amazon's
            # createReport plan, burst 15, would run dry for one seller synced again and again)
            seller = sim.add_seller(marketplaces=MARKETPLACES, orders=args.orders)
            creds = seller.credentials
            seller_env = env | {
                "AMAZON_LWA_CLIENT_ID": creds.client_id,
                "AMAZON_LWA_CLIENT_SECRET": creds.client_secret,
                "AMAZON_REFRESH_TOKEN": creds.refresh_token,
            }
            order = list(trees.items())
            for name, tree in order if repetition % 2 == 0 else reversed(order):
                runs[name].append(one_sync(tree, sim, seller_env))
    base, this = runs["baseline"], runs["this tree"]
    print(
        f"whole-process first sync, {args.orders} orders ({', '.join(MARKETPLACES)}), "
        f"median of {args.repeat} alternating runs each; baseline {args.baseline}"
    )
    print(f"{'':12} {'wall s':>8} {'CPU s':>8} {'peak RSS MiB':>13}")
    for name, series in runs.items():
        wall, cpu, rss = (median(series, f) for f in ("wall_s", "cpu_s", "peak_rss_mib"))
        print(f"{name:12} {wall:8.2f} {cpu:8.2f} {rss:13.1f}")
    print(
        "this tree / baseline: "
        f"wall {median(this, 'wall_s') / median(base, 'wall_s'):.2f}x, "
        f"CPU {median(this, 'cpu_s') / median(base, 'cpu_s'):.2f}x, "
        f"peak RSS {median(this, 'peak_rss_mib') / median(base, 'peak_rss_mib'):.2f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
