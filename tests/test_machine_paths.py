"""The repository runs on any machine: no code, test or benchmark names a folder of one machine.

Amazon's models and the real report files are found beside the repository
(``helpers.shared``), never at an absolute path; without them their tests skip, or fail under
``CI=true``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers.shared import MODELS, REAL_REPORTS, REPOSITORY, SHARED, require

SCANNED = ("hyreka_plugin_amazon", "tests", "benchmarks")
# An absolute path into a machine's own folders (work trees, homes, temporary folders, mounts),
# POSIX or Windows, where a path starts: at the start of a line, after a quote, a space, "(",
# "=", "[" or ",". System paths (/usr/bin/chromium, /proc/self/status) and URL paths
# ("{url}/home") are no machine's folders.
MACHINE_PATH = re.compile(
    r"(?:^|(?<=[\s\"'`(=\[,]))"
    r"(?:/(?:work|home|Users|root|tmp|mnt|media|private/var/folders)/[\w.~-]"
    r"|[A-Za-z]:[\\/]+(?:Users|work|home)\b)",
    re.MULTILINE,
)


def machine_paths(root: Path, folders: tuple[str, ...] = SCANNED) -> list[str]:
    """``file:line: text`` for each absolute machine path in the .py files under ``folders``."""
    found = []
    files = [path for folder in folders for path in sorted((root / folder).rglob("*.py"))]
    for path in [*sorted(root.glob("*.py")), *files]:
        text = path.read_text(encoding="utf-8")
        for match in MACHINE_PATH.finditer(text):
            number = text.count("\n", 0, match.start()) + 1
            line = text.splitlines()[number - 1].strip()
            found.append(f"{path.relative_to(root)}:{number}: {line}")
    return found


def test_no_code_test_or_benchmark_names_a_folder_of_this_machine() -> None:
    assert (REPOSITORY / "pyproject.toml").is_file()
    assert machine_paths(REPOSITORY) == []


@pytest.mark.parametrize(
    "line",
    [
        'MODELS = Path("{root}shared/spapi-models")',
        "REAL = '{root}shared/real-reports'  # the seller's files",
        "    path = Path(\n        r'{root}shared'\n    )",
    ],
)
# written in pieces, so that this file does not hold what it looks for
@pytest.mark.parametrize(
    "root", ["/" + "work/", "/" + "home/seller/", "/" + "tmp/run/", "C:" + "\\Users\\"]
)
def test_the_scan_finds_an_absolute_path(tmp_path: Path, line: str, root: str) -> None:
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(line.format(root=root), encoding="utf-8")
    found = machine_paths(tmp_path)
    assert len(found) == 1
    assert found[0].startswith("tests/test_x.py:")


def test_the_scan_leaves_system_and_url_paths_alone(tmp_path: Path) -> None:
    (tmp_path / "benchmarks").mkdir()
    (tmp_path / "benchmarks" / "bench.py").write_text(
        'CHROMIUM = "/usr/bin/chromium"\n'
        'STATUS = Path("/proc/self/status")\n'
        'URL = f"{sim.url}/home/tmp/x"\n'
        'HERE = Path(__file__).parents[2] / "shared" / "spapi-models"\n',
        encoding="utf-8",
    )
    assert machine_paths(tmp_path) == []


def test_the_shared_folders_lie_beside_the_repository() -> None:
    assert REPOSITORY.parent / "shared" == SHARED
    assert (MODELS.parent, REAL_REPORTS.parent) == (SHARED, SHARED)


def test_an_absent_shared_folder_skips_the_test(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CI", raising=False)
    assert require(tmp_path) == tmp_path
    with pytest.raises(pytest.skip.Exception, match="absent"):
        require(tmp_path / "spapi-models")


def test_an_absent_shared_folder_fails_the_test_in_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run this test"):
        require(tmp_path / "real-reports")
