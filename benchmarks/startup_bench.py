"""Start-up of the read commands: ``hyreka-amazon --version``, ``status``, ``orders`` and
``account list`` beside ``python -c "import requests"``, each a process of its own.

    python benchmarks/startup_bench.py [--runs N] [--orders N] [--baseline REV] [--json FILE]

A data folder is made once as a seller makes it (``account add`` on the embedded simulator,
one ``sync``). Then each round starts every command once, in an order that rotates from round
to round (so the machine's drift hits all alike), and times the whole process (start to exit,
output to a pipe). Printed are the median of the rounds and each command's ratio to the
median of ``import requests`` (the goal of issue 26: at most 1.5x). ``--baseline REV`` adds
the same commands of a git revision (its tree on ``PYTHONPATH`` with its catalogs compiled, as
``process_bench.py`` does), reading the same data folder. Commands run as
``python -m hyreka_plugin_amazon.refhost.cli``, the installed package's (or the revision's).

Bytecode is cached (``PYTHONPYCACHEPREFIX`` in a temporary folder, one warm-up round) as an
installed package has it: with ``PYTHONDONTWRITEBYTECODE`` set (as in some shells and CI
images) an editable install compiles every module of its own on every start, while
``requests`` comes with its ``.pyc`` files.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from hyreka_plugin_amazon.simulator import Simulator

BASELINE = "import requests"
REQUESTS = f'python -c "{BASELINE}"'
GOAL = 1.5  # issue 26: a read command starts within 1.5x `python -c "import requests"`
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("--version",),
    ("status",),
    ("orders",),
    ("account", "list"),
)
FAST = ("--setting", "report_check_seconds=0.05", "--setting", "report_check_max_seconds=0.2")


CLI = (sys.executable, "-m", "hyreka_plugin_amazon.refhost.cli")


def environment(cache: Path) -> dict[str, str]:
    """This environment without the host's own variables (the data folder is given with
    ``--data``), bytecode cached in ``cache``, English."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HYREKA_", "AMAZON_"))}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    env["HYREKA_LANG"] = "en"
    return env


def make_data_folder(data: Path, env: Mapping[str, str], orders: int) -> None:
    """A seller's data folder: one account on the simulator, one sync."""
    with Simulator(orders=orders, seed=11, marketplaces=("DE", "FR"), report_delay_s=0) as sim:
        creds = sim.credentials
        secrets = {
            "AMAZON_LWA_CLIENT_ID": creds.client_id,
            "AMAZON_LWA_CLIENT_SECRET": creds.client_secret,
            "AMAZON_REFRESH_TOKEN": creds.refresh_token,
        }
        account = ["account", "add", "Mein Shop", "--marketplace", "DE", "--marketplace", "FR"]
        endpoints = ["--endpoint", sim.url, "--token-url", sim.token_url]
        for args in ([*account, *endpoints, *FAST], ["sync", "Mein Shop"]):
            subprocess.run(
                [*CLI, *args, "--data", str(data)],
                env={**env, **secrets},
                check=True,
                capture_output=True,
                timeout=300,
            )


def timed(argv: Sequence[str], env: Mapping[str, str]) -> float:
    """Seconds from start to exit of one process (output to a pipe, checked)."""
    started = time.perf_counter()
    # from a neutral folder: in the repository, ``-m`` would find its tree before PYTHONPATH's
    subprocess.run(
        argv, env=env, cwd=tempfile.gettempdir(), check=True, capture_output=True, timeout=120
    )
    return time.perf_counter() - started


Job = tuple[list[str], Mapping[str, str]]  # argv, environment


def jobs_of(
    data: Path, env: Mapping[str, str], baseline: tuple[str, Path] | None
) -> dict[str, Job]:
    """The processes to time, by the name printed: ``import requests``, then each command (and
    with ``baseline`` each command of that revision's tree)."""
    jobs: dict[str, Job] = {REQUESTS: ([sys.executable, "-c", BASELINE], env)}
    trees = [("", env)]
    if baseline is not None:
        revision, tree = baseline
        trees.append((f"{revision}: ", {**env, "PYTHONPATH": str(tree)}))
    for command in COMMANDS:
        extra = [] if command == ("--version",) else ["--data", str(data)]
        for label, tree_env in trees:
            name = f"{label}hyreka-amazon {' '.join(command)}"
            jobs[name] = ([*CLI, *command, *extra], tree_env)
    return jobs


def measure(jobs: Mapping[str, Job], runs: int) -> dict[str, list[float]]:
    """Per job the seconds of each round; the order rotates from round to round."""
    names = list(jobs)
    for name in names:  # warm-up: bytecode written, files in the page cache
        timed(*jobs[name])
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_ in range(runs):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(timed(*jobs[name]))
    return times


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21, help="rounds (default: %(default)s)")
    parser.add_argument(
        "--orders", type=int, default=200, help="simulated orders (default: %(default)s)"
    )
    parser.add_argument("--baseline", metavar="REV", help="also time a git revision's commands")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="hyreka-startup-") as tmp:
        env = environment(Path(tmp) / "pycache")
        data = Path(tmp) / "data"
        make_data_folder(data, env, args.orders)
        baseline_tree = None
        if args.baseline:
            from process_bench import export_tree  # the same export as the process benchmark

            tree = export_tree(args.baseline, Path(tmp) / "baseline")
            baseline_tree = (args.baseline, tree)
        times = measure(jobs_of(data, env, baseline_tree), args.runs)
    medians = {name: statistics.median(values) for name, values in times.items()}
    baseline = medians[REQUESTS]
    print(f"start-up, median of {args.runs} alternating runs (goal: at most {GOAL}x the first)")
    print(f"  {'command':<44} {'median s':>9} {'ratio':>6}")
    for name, median in medians.items():
        print(f"  {name:<44} {median:>9.3f} {median / baseline:>5.2f}x")
    if args.json:
        figures = {
            "runs": args.runs,
            "median_s": medians,
            "ratio": {name: median / baseline for name, median in medians.items()},
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
