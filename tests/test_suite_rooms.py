"""The test suite's own rules, read from its source with ``ast``.

Plain helpers live in ``tests/helpers/``; fixtures in ``conftest.py``, which pytest injects.
No test module imports another test module nor ``conftest``, and every test asserts something:
an ``assert``, a ``pytest.raises``/``pytest.warns``, or a call of a helper that asserts.
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


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _called_names(node: ast.AST) -> set[str]:
    names = set()
    for call in ast.walk(node):
        if isinstance(call, ast.Call):
            if isinstance(call.func, ast.Name):
                names.add(call.func.id)
            elif isinstance(call.func, ast.Attribute):
                names.add(call.func.attr)
    return names


def _asserts_itself(node: ast.AST) -> bool:
    for inner in ast.walk(node):
        if isinstance(inner, ast.Assert):
            return True
        if (
            isinstance(inner, ast.Attribute)
            and isinstance(inner.value, ast.Name)
            and inner.value.id == "pytest"
            and inner.attr in ("raises", "warns", "fail")
        ):
            return True
    return False


def _asserting_helpers(trees: list[ast.Module], known: frozenset[str] = frozenset()) -> set[str]:
    """Names of the functions and methods (in the given modules) that assert, directly or by
    calling another such function (``known``: names already found to assert elsewhere)."""
    calls: dict[str, set[str]] = {}
    asserting: set[str] = set(known)
    for tree in trees:
        for function in _functions(tree):
            calls.setdefault(function.name, set()).update(_called_names(function))
            if _asserts_itself(function):
                asserting.add(function.name)
    grew = True
    while grew:
        more = {name for name, called in calls.items() if called & asserting} - asserting
        asserting |= more
        grew = bool(more)
    return asserting


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


def test_every_test_asserts_something() -> None:
    helpers = frozenset(_asserting_helpers([_tree(p) for p in sorted(HELPERS.glob("*.py"))]))
    silent = []
    for path in TEST_MODULES:
        tree = _tree(path)
        asserting = _asserting_helpers([tree], helpers)
        for function in _functions(tree):
            if not function.name.startswith("test_"):
                continue
            if _asserts_itself(function) or _called_names(function) & asserting:
                continue
            silent.append(f"{path.name}:{function.lineno} {function.name}")
    assert silent == []
