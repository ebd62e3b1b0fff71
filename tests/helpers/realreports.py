"""Where the real report files from public repositories are: ``<repo root>/../shared/real-reports``
(never copied into the project). Tests skip without them, except in CI (``CI=true``), which
must have them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REAL = Path(__file__).resolve().parents[3] / "shared" / "real-reports"


def real_reports_present() -> bool:
    """Whether the folder is there; in CI its absence fails the test run."""
    if REAL.is_dir():
        return True
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must test the real reports: {REAL} is missing")
    return False


def real_report(name: str) -> Path:
    """One real report; the test is skipped without the folder (failed in CI)."""
    if not real_reports_present():
        pytest.skip(f"real reports folder absent ({REAL})")
    path = REAL / name
    assert path.is_file(), path
    return path
