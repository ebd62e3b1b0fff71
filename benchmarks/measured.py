"""A command's own wall time, CPU time and peak memory, measured by a small launcher process.

    python benchmarks/measured.py OUT.json -- COMMAND [ARG ...]

Why a launcher: on Linux a process's ``ru_maxrss`` starts from the peak of the address space
it had before ``exec``, and a child made by ``fork`` or ``vfork`` has its parent's. A
benchmark that holds a simulator with thousands of orders would lend its own peak to every
process it starts (measured: a 9 MB child of a 310 MB parent reports 310 MB from ``wait4``).
This launcher is a fresh, small Python process; the command is its child, so the command's
``ru_maxrss`` (from ``os.wait4``) is its own. The launcher writes ``{"wall_s", "cpu_s",
"peak_rss_kib", "returncode"}`` to OUT.json; the command's output goes where the launcher's
goes. Only the standard library is imported here, before the command starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

LAUNCHER = Path(__file__).resolve()


@dataclass(frozen=True)
class Measure:
    wall_s: float
    cpu_s: float  # user + system
    peak_rss_mib: float
    returncode: int


def measure(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    out: Path,
    stdout: IO[Any] | int | None = None,
    stderr: IO[Any] | int | None = None,
) -> Measure:
    """Run ``argv`` through the launcher (``out``: where the launcher writes its figures)."""
    command = [sys.executable, str(LAUNCHER), str(out), "--", *argv]
    subprocess.run(command, env=dict(env), stdout=stdout, stderr=stderr, check=True)
    figures = json.loads(out.read_text(encoding="utf-8"))
    return Measure(
        wall_s=figures["wall_s"],
        cpu_s=figures["cpu_s"],
        peak_rss_mib=figures["peak_rss_kib"] / 1024,
        returncode=figures["returncode"],
    )


def status_kib(key: str) -> int:
    """A figure of this process's ``/proc/self/status`` in KiB: ``VmRSS`` (resident now) or
    ``VmHWM`` (the peak so far)."""
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {key} in /proc/self/status")


def main(argv: Sequence[str]) -> int:
    out, separator, *command = argv
    if separator != "--" or not command:
        raise SystemExit("usage: measured.py OUT.json -- COMMAND [ARG ...]")
    started = time.perf_counter()
    process = subprocess.Popen(command)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    figures = {
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "peak_rss_kib": usage.ru_maxrss,
        "returncode": os.waitstatus_to_exitcode(status),
    }
    Path(out).write_text(json.dumps(figures), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
