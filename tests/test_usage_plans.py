"""Both usage-plan tables against Amazon's published figures, read from Amazon's OpenAPI models.

The simulator's table (what Amazon enforces) and the client's (what the client paces itself at)
are separate on purpose: each is checked here on its own, so a wrong figure in one cannot hide
behind the other. Every operation's description in Amazon's models carries its plan as a
Markdown table ``| Rate (requests per second) | Burst |``; the models are shared beside the
repository (``shared/spapi-models``). The Feeds API's model is not among them: its plans are read
from Amazon's SDK (``amzn-sp-api``, a test dependency), whose operations carry the same table in
their docstrings, generated from the same models. Its source is read as text, not imported
(importing it reconfigures logging).
"""

from __future__ import annotations

import ast
import json
import re
from collections import defaultdict
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from helpers.shared import MODELS, require

from hyreka_plugin_amazon.simulator.ratelimits import USAGE_PLANS
from hyreka_plugin_amazon.simulator.routing import ROUTES
from hyreka_plugin_amazon.spapi.ratelimit import DEFAULT_PLANS

PLAN_TABLE = re.compile(
    r"\|\s*Rate \(requests per second\)\s*\|\s*Burst\s*\|\s*\n"
    r"\|[\s\-|]+\n"
    r"\|\s*(?P<rate>[0-9.]+)\s*\|\s*(?P<burst>[0-9]+)\s*\|"
)
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "patch"})
# Amazon's SDK modules for the APIs whose models the shared folder lacks
SDK_SOURCES = ("spapi/api/feeds_v2021_06_30/feeds_api.py",)
SDK_PLAN = re.compile(
    r"\*\*Usage Plan:\*\*\s*\|\s*Rate \(requests per second\)\s*\|\s*Burst\s*\|\s*"
    r"\|[\s\-|]+?\|\s*(?P<rate>[0-9.]+)\s*\|\s*(?P<burst>[0-9]+)\s*\|"
)


class Plan(Protocol):
    @property
    def rate(self) -> float: ...

    @property
    def burst(self) -> int: ...


def published_plans() -> dict[str, set[tuple[float, int, str]]]:
    """``{operationId: {(rate, burst, model file), ...}}`` over every model that has plans."""
    found: dict[str, set[tuple[float, int, str]]] = defaultdict(set)
    for model in sorted(require(MODELS).glob("*.json")):
        spec: dict[str, Any] = json.loads(model.read_text(encoding="utf-8"))
        for operations in spec.get("paths", {}).values():
            for method, operation in operations.items():
                if method not in HTTP_METHODS or "operationId" not in operation:
                    continue
                table = PLAN_TABLE.search(operation.get("description", ""))
                if table is not None:
                    plan = (float(table["rate"]), int(table["burst"]), model.name)
                    found[operation["operationId"]].add(plan)
    for operation_id, rate, burst, source in sdk_plans():
        found[operation_id].add((rate, burst, source))
    return found


def sdk_plans() -> list[tuple[str, float, int, str]]:
    """``(operationId, rate, burst, file)`` of each operation of ``SDK_SOURCES``."""
    distribution = metadata.distribution("amzn-sp-api")
    plans = []
    for source in SDK_SOURCES:
        tree = ast.parse(Path(str(distribution.locate_file(source))).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not isinstance(node, ast.FunctionDef) or node.name.startswith("_"):
                continue
            if node.name.endswith("_with_http_info"):
                continue
            table = SDK_PLAN.search(ast.get_docstring(node) or "")
            if table is not None:
                head, *rest = node.name.split("_")
                operation_id = head + "".join(part.title() for part in rest)
                plans.append((operation_id, float(table["rate"]), int(table["burst"]), source))
    return plans


def mismatches(table: Mapping[str, Plan]) -> list[str]:
    """Each operation of ``table`` that Amazon's models do not publish with equal figures."""
    published = published_plans()
    wrong = []
    for operation, plan in sorted(table.items()):
        figures = {(rate, burst) for rate, burst, _ in published.get(operation, set())}
        if not figures:
            wrong.append(f"{operation}: no usage plan in Amazon's models")
        elif len(figures) > 1:
            wrong.append(f"{operation}: the models disagree: {sorted(published[operation])}")
        elif figures != {(plan.rate, plan.burst)}:
            wrong.append(f"{operation}: ({plan.rate}, {plan.burst}), Amazon: {figures.pop()}")
    return wrong


def test_the_models_publish_plans_the_parser_reads() -> None:
    """The parser finds the tables: a known operation with its known figures."""
    published = published_plans()
    assert published["getReport"] == {(2.0, 15, "reports_2021-06-30.json")}
    assert published["searchOrders"] == {(0.0056, 20, "orders_2026-01-01.json")}
    assert len(published) >= 10
    assert published["createFeed"] == {(0.0083, 15, "spapi/api/feeds_v2021_06_30/feeds_api.py")}


def test_simulator_usage_plans_are_amazons_published_figures() -> None:
    assert USAGE_PLANS
    assert mismatches(USAGE_PLANS) == []


def test_client_usage_plans_are_amazons_published_figures() -> None:
    assert DEFAULT_PLANS
    assert mismatches(DEFAULT_PLANS) == []


def test_a_wrong_figure_is_caught() -> None:
    """The check itself: a rate or a burst off by a little, and an unknown operation, fail."""
    good = USAGE_PLANS["getReport"]
    off_rate = type(good)(rate=1.9, burst=good.burst)
    off_burst = type(good)(rate=good.rate, burst=good.burst + 1)
    assert mismatches({"getReport": off_rate}) == ["getReport: (1.9, 15), Amazon: (2.0, 15)"]
    assert mismatches({"getReport": off_burst}) == ["getReport: (2.0, 16), Amazon: (2.0, 15)"]
    assert mismatches({"getReportz": good}) == ["getReportz: no usage plan in Amazon's models"]


def test_every_simulated_operation_has_a_plan() -> None:
    """Each SP-API operation the simulator serves behind an access token is rate limited."""
    served = {r.operation for r in ROUTES if r.auth}
    assert served - USAGE_PLANS.keys() == set()
