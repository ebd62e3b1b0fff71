"""Each room imports only what the README's Layout says it may (refhost has its own test)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import hyreka_plugin_amazon

PACKAGE = Path(hyreka_plugin_amazon.__file__).parent
NAME = hyreka_plugin_amazon.__name__
CONTRACT = ("contract", "hookspecs", "secret")
# room -> the modules of this package it may import (besides its own)
RULES: dict[str, tuple[str, ...]] = {
    "contract.py": CONTRACT,
    "hookspecs.py": CONTRACT,
    "secret.py": (),
    "spapi": (*CONTRACT, "spapi", "reports.catalogue", "reports.charsets", "__version__"),
    "reports": (*CONTRACT, "reports", "spapi.regions"),
    "simulator": (*CONTRACT, "simulator", "spapi.regions", "spapi", "reports.catalogue"),
}


def imports_of(path: Path) -> list[str]:
    """The modules of this package that ``path`` imports, relative to the package."""
    found: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            package = PACKAGE.joinpath(*node.module.split(".")[1:])
            if node.module.startswith(NAME) and package.is_dir():  # from pkg import module
                names = [f"{node.module}.{alias.name}" for alias in node.names]
            else:
                names = [node.module]
        else:
            continue
        found += [n[len(NAME) + 1 :] for n in names if n.startswith(NAME + ".")]
    return found


def allowed(module: str, rules: tuple[str, ...]) -> bool:
    return any(module == ok or module.startswith(ok + ".") for ok in rules)


@pytest.mark.parametrize("room", sorted(RULES))
def test_a_room_imports_only_what_the_layout_allows(room: str) -> None:
    where = PACKAGE / room
    paths = [where] if where.suffix == ".py" else sorted(where.rglob("*.py"))
    assert paths
    wrong = [
        f"{path.relative_to(PACKAGE)}: {module}"
        for path in paths
        for module in imports_of(path)
        if not allowed(module, RULES[room])
    ]
    assert wrong == []


def test_the_rule_catches_a_wrong_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(f"from {NAME}.sync import sync_account\nfrom {NAME} import plugin\n")
    assert [m for m in imports_of(bad) if not allowed(m, RULES["reports"])] == ["sync", "plugin"]


def test_no_module_is_longer_than_700_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text(encoding="utf-8").splitlines())) > 700
    }
    assert long == {}


def test_no_generated_source_is_run() -> None:
    calls = [
        f"{path.relative_to(PACKAGE)}:{node.lineno}"
        for path in PACKAGE.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in {"exec", "eval", "compile"}
    ]
    assert calls == []
