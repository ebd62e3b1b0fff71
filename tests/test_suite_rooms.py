"""The test suite's own rules, read from its source with ``ast``.

Plain helpers live in ``tests/helpers/``; fixtures in ``conftest.py``, which pytest injects.
No test module imports another test module nor ``conftest``.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).parent
HELPERS = TESTS / "helpers"
TEST_MODULES = sorted(TESTS.glob("test_*.py"))
ALL_MODULES = sorted([*TESTS.glob("*.py"), *HELPERS.glob("*.py")])
LOCAL_NAMES = {p.stem for p in TESTS.glob("*.py")}  # conftest and every test module


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _imported(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            yield node.lineno, "." * node.level + (node.module or "")


def test_the_rule_sees_every_module() -> None:
    assert len(TEST_MODULES) > 30
    assert {"sim", "accounts", "spapi_fake"} <= {p.stem for p in HELPERS.glob("*.py")}


@pytest.mark.parametrize("path", ALL_MODULES, ids=lambda p: str(p.relative_to(TESTS)))
def test_no_module_imports_a_test_module_or_conftest(path: Path) -> None:
    wrong = [
        f"line {line}: {name}"
        for line, name in _imported(_tree(path))
        if name.startswith(".")
        or name.split(".")[0] in LOCAL_NAMES | {"tests"}
        or name.split(".")[0].startswith("test_")
    ]
    assert wrong == [], "import from tests/helpers/ instead"
