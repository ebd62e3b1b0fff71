"""The simulator's modules import one another without a circle, ``if TYPE_CHECKING:`` included.

The HTTP vocabulary (``vocabulary.py``) imports no other module of the simulator, the state
(``state.py``) none of the handlers, and the handlers not the ``Simulator``: an import that
closes a circle, even one only the type checker follows, fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

from hyreka_plugin_amazon import simulator

SIMULATOR = Path(simulator.__file__).parent
PACKAGE = simulator.__name__
INIT = "__init__"  # the package itself: what ``from package import name`` runs


def import_graph(directory: Path, package: str) -> dict[str, set[str]]:
    """Module -> the modules of the same package it imports, anywhere in its source (under
    ``if TYPE_CHECKING:``, in functions); ``__init__`` stands for the package itself."""
    modules = {path.stem for path in directory.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in sorted(directory.glob("*.py")):
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(node, package)
                if base == package:  # from package import module, or a name of __init__
                    names = [
                        f"{base}.{alias.name}" if alias.name in modules else base
                        for alias in node.names
                    ]
                else:
                    names = [base]
            else:
                continue
            targets |= {_module(name, package) for name in names if _inside(name, package)}
        graph[path.stem] = targets
    return graph


def _absolute(node: ast.ImportFrom, package: str) -> str:
    if node.level == 0:
        return node.module or ""
    parts = package.split(".")
    base = ".".join(parts[: len(parts) - node.level + 1])
    return f"{base}.{node.module}" if node.module else base


def _inside(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def _module(name: str, package: str) -> str:
    """The package's module ``name`` names (its first level below the package)."""
    rest = name[len(package) + 1 :]
    return rest.split(".")[0] if rest else INIT


def find_cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import circle as ``[a, b, ..., a]``, or ``[]`` when there is none."""
    done: set[str] = set()
    for start in sorted(graph):
        if start in done:
            continue
        path: list[str] = [start]
        on_path = {start}
        pending = [iter(sorted(graph.get(start, ())))]
        while pending:
            following = next(pending[-1], None)
            if following is None:
                pending.pop()
                done.add(path[-1])
                on_path.discard(path.pop())
            elif following in on_path:
                return [*path[path.index(following) :], following]
            elif following not in done:
                path.append(following)
                on_path.add(following)
                pending.append(iter(sorted(graph.get(following, ()))))
    return []


def test_the_simulator_has_no_import_cycle() -> None:
    graph = import_graph(SIMULATOR, PACKAGE)
    assert {"vocabulary", "state", "service", "routing"} <= set(graph)
    assert find_cycle(graph) == []


def test_the_vocabulary_and_the_state_stay_below_the_handlers() -> None:
    graph = import_graph(SIMULATOR, PACKAGE)
    assert graph["vocabulary"] == set()
    handlers = {"api", "admin", "ordersapi", "ordersv0", "tokensapi", "reportlist"}
    assert not _reachable(graph, "state") & (handlers | {"routing", "service", "server"})
    assert not _reachable(graph, "routing") & {"service", "server"}


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for following in graph[todo.pop()] - seen:
            seen.add(following)
            todo.append(following)
    return seen


def test_the_check_catches_a_cycle_under_type_checking(tmp_path: Path) -> None:
    (tmp_path / "__init__.py").write_text("from sample.c import C\n")
    (tmp_path / "a.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from sample.c import C\n"
    )
    (tmp_path / "b.py").write_text("from sample import a\n")
    (tmp_path / "c.py").write_text("from . import b\n\nclass C: ...\n")
    (tmp_path / "d.py").write_text("import sample.c\nfrom sample import C\nimport os\n")
    graph = import_graph(tmp_path, "sample")
    assert graph == {
        "__init__": {"c"},
        "a": {"c"},
        "b": {"a"},
        "c": {"b"},
        "d": {"c", "__init__"},
    }
    assert find_cycle(graph) == ["c", "b", "a", "c"]
    (tmp_path / "a.py").write_text("import typing\n")
    assert find_cycle(import_graph(tmp_path, "sample")) == []
