"""The reference host is a host like any other: of this package it imports only the contract
(``contract``, ``outbox``, ``hookspecs``, ``secret``), its own modules and the simulator."""

from __future__ import annotations

import ast
from pathlib import Path

import hyreka_plugin_amazon

PACKAGE = Path(hyreka_plugin_amazon.__file__).parent
NAME = hyreka_plugin_amazon.__name__
ALLOWED = (
    f"{NAME}.contract",
    f"{NAME}.outbox",  # the contract's objects of what goes back to Amazon
    f"{NAME}.hookspecs",
    f"{NAME}.secret",
    f"{NAME}.refhost",
    f"{NAME}.simulator",
)


def imported_modules(tree: ast.AST) -> list[tuple[str, int]]:
    """Every module an ``import`` or ``from ... import`` names (``from pkg import mod`` as
    ``pkg.mod``), with its line."""
    found: list[tuple[str, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == NAME:
                found.extend((f"{NAME}.{alias.name}", node.lineno) for alias in node.names)
            else:
                found.append((node.module, node.lineno))
    return found


def allowed(module: str) -> bool:
    if module != NAME and not module.startswith(NAME + "."):
        return True  # not this package
    return any(module == ok or module.startswith(ok + ".") for ok in ALLOWED)


def test_the_reference_host_imports_only_the_contract() -> None:
    modules = sorted((PACKAGE / "refhost").rglob("*.py"))
    assert len(modules) > 5
    wrong = [
        f"{path.relative_to(PACKAGE)}:{line}: {module}"
        for path in modules
        for module, line in imported_modules(ast.parse(path.read_text(encoding="utf-8")))
        if not allowed(module)
    ]
    assert wrong == []


def test_the_check_catches_an_internal_import() -> None:
    tree = ast.parse(
        f"from {NAME} import messages\n"
        f"from {NAME}.spapi.regions import marketplace\n"
        f"import {NAME}.plugin\n"
        f"from {NAME}.contract import Account\n"
        f"from {NAME} import hookspecs\n"
    )
    found = [module for module, _ in imported_modules(tree) if not allowed(module)]
    assert found == [f"{NAME}.messages", f"{NAME}.spapi.regions", f"{NAME}.plugin"]
