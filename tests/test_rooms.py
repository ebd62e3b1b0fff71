"""Each room imports only what the README's Layout says it may: the connector's rooms, and the
reference host's rooms (which also import only the contract of the connector, see
``test_refhost_imports.py``)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import hyreka_plugin_amazon

PACKAGE = Path(hyreka_plugin_amazon.__file__).parent
NAME = hyreka_plugin_amazon.__name__
CONTRACT = ("contract", "hookspecs", "secret", "outbox")
# room -> the modules of this package it may import (besides its own)
RULES: dict[str, tuple[str, ...]] = {
    "contract.py": CONTRACT,
    "hookspecs.py": CONTRACT,
    "secret.py": (),
    "outbox.py": (),
    "spapi": (*CONTRACT, "spapi", "reports.catalogue", "reports.charsets", "__version__"),
    "reports": (*CONTRACT, "reports", "spapi.regions"),
    "simulator": (*CONTRACT, "simulator", "spapi.regions", "spapi", "reports.catalogue"),
}


HOST = "refhost"
# The reference host's rooms: room -> the host rooms it may import (besides its own and the
# contract). The faces (cli, web, and background, whose poller and workers act for the seller
# too) reach the host through the one door, ``services``: none imports the store, the host
# object or the plugin manager. The faces are imported by nothing but the entry point; the
# command line starts the console (``hyreka-amazon web``) and so may import ``web``.
HOST_CORE = ("refhost.paths", "refhost.i18n", "refhost.safety")
HOST_RULES: dict[str, tuple[str, ...]] = {
    "i18n": (),
    "safety": (),
    "paths.py": (),
    "store": ("refhost.safety", "refhost.i18n"),
    "manager.py": ("refhost.safety",),
    "importmerge.py": (),
    "host.py": (*HOST_CORE, "refhost.store", "refhost.manager", "refhost.importmerge"),
    "services": (*HOST_CORE, "refhost.store", "refhost.manager", "refhost.host"),
    # workers hold PostgreSQL leases of their own, renewed with their heartbeat
    "background": (
        *HOST_CORE,
        "refhost.services",
        "refhost.store.errors",
        "refhost.store.leases",
        "refhost.store.leases_pg",
    ),
    "cli": (
        *HOST_CORE,
        "refhost.services",
        "refhost.background",
        "refhost.web.console",  # hyreka-amazon web: the command serves the console
        "refhost.web.serving",
        "simulator",  # the demo and ``hyreka-amazon simulator``
    ),
    "web": (*HOST_CORE, "refhost.services"),
}
FACES = ("cli", "web", "background")
# What only the door touches: the host's store and the host's own actions (a face calls the
# service that checks, audits and confirms instead).
DOOR_ONLY = frozenset(
    {
        "store",
        "plugins",
        "locks",
        "test_login",
        "dismiss_problem",
        "send_pending_shipments",
        "shipping_account",
        "items_left",
    }
)


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


@pytest.mark.parametrize("room", sorted(HOST_RULES))
def test_a_host_room_imports_only_what_the_layout_allows(room: str) -> None:
    where = PACKAGE / HOST / room
    paths = [where] if where.suffix == ".py" else sorted(where.rglob("*.py"))
    assert paths
    own = f"{HOST}.{room.removesuffix('.py')}"
    rules = (*CONTRACT, own, *HOST_RULES[room])
    wrong = [
        f"{path.relative_to(PACKAGE)}: {module}"
        for path in paths
        for module in imports_of(path)
        if not allowed(module, rules)
    ]
    assert wrong == []


@pytest.mark.parametrize("face", FACES)
def test_no_face_touches_the_store_or_the_hosts_own_actions(face: str) -> None:
    """``host.store`` (or ``console.host.store``, any ``.store``) and the host's own actions
    appear only behind the door: a face calls ``refhost.services``."""
    found = [
        f"{path.relative_to(PACKAGE)}:{node.lineno}: .{node.attr}"
        for path in sorted((PACKAGE / HOST / face).rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.Attribute) and node.attr in DOOR_ONLY
    ]
    assert found == []


def test_the_face_rule_catches_a_store_access(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f(console):\n    return console.host.store.list_accounts()\n")
    tree = ast.parse(bad.read_text(encoding="utf-8"))
    assert [n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)
            if n.attr in DOOR_ONLY] == ["store"]  # fmt: skip


def test_every_host_module_is_in_a_room() -> None:
    rooms = {
        path.relative_to(PACKAGE / HOST).parts[0]
        for path in (PACKAGE / HOST).rglob("*.py")
        if path.name != "__init__.py" or path.parent != PACKAGE / HOST
    }
    assert rooms - set(HOST_RULES) == set()


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


CLI_SHARED = ("refhost.cli.common", "refhost.cli.helptexts", "refhost.cli.render")


def test_command_modules_import_no_other_command_module() -> None:
    """Only ``cli/main.py`` gathers the command modules; what two of them share lives in
    ``common``, ``helptexts`` or ``render``."""
    folder = PACKAGE / HOST / "cli"
    wrong = [
        f"{path.name}: {module}"
        for path in sorted(folder.glob("*.py"))
        if path.stem not in {"main", "__main__"}
        for module in imports_of(path)
        if module.startswith("refhost.cli.")
        and not allowed(module, CLI_SHARED)
        and module != f"refhost.cli.{path.stem}"
    ]
    assert wrong == []
