"""The admin API under ``/_simulator/`` for tests, the demo and benchmarks (JSON in and out)."""

from __future__ import annotations

from typing import Any

from hyreka_plugin_amazon.simulator.clock import zulu
from hyreka_plugin_amazon.simulator.faults import FaultError
from hyreka_plugin_amazon.simulator.state import SimulatorState
from hyreka_plugin_amazon.simulator.vocabulary import (
    ApiError,
    Request,
    Response,
    Route,
    invalid_input,
    json_response,
    route,
)
from hyreka_plugin_amazon.spapi.regions import UnknownMarketplaceError


def get_orders(state: SimulatorState, req: Request) -> Response:
    """The ground truth: every order in the host's ``Order.as_dict`` shape, with ``packages``
    (each confirmed package: reference, carrier, method, tracking, ship date, items) and
    ``invoices`` (each accepted invoice or credit note: number, type, totals, transaction id,
    the PDF's sha256, the feed id)."""
    orders = state.ground_truth(req.arg("seller_id"), packages=True, invoices=True)
    return json_response(200, {"orders": orders})


def add_order(state: SimulatorState, req: Request) -> Response:
    """A new order placed now: ``{"status", "marketplace", "seller_id", "fulfillment_channel"}``."""
    spec = _object(req)
    try:
        order = state.add_order(
            status=str(spec.get("status", "open")),
            marketplace=spec.get("marketplace"),
            seller_id=spec.get("seller_id"),
            fulfillment_channel=spec.get("fulfillment_channel"),
        )
    except (ValueError, UnknownMarketplaceError) as exc:
        raise invalid_input(str(exc)) from None
    return json_response(201, {"order": order})


def cancel_order(state: SimulatorState, req: Request) -> Response:
    return json_response(200, {"order": state.cancel_order(req.params["orderId"])})


def ship_order(state: SimulatorState, req: Request) -> Response:
    """``{"items": [order item id, ...]}`` ships only those items (default: every item)."""
    items = _object(req).get("items")
    if items is not None and (
        not isinstance(items, list) or not all(isinstance(i, str) for i in items)
    ):
        raise invalid_input("items must be a list of order item ids.")
    return json_response(200, {"order": state.ship_order(req.params["orderId"], items)})


def get_clock(state: SimulatorState, req: Request) -> Response:
    return json_response(200, _clock(state))


def set_clock(state: SimulatorState, req: Request) -> Response:
    """``{"advance_seconds": n}`` and/or ``{"time_scale": x}``."""
    spec = _object(req)
    try:
        if "time_scale" in spec:
            state.clock.time_scale = float(spec["time_scale"])
        if "advance_seconds" in spec:
            state.clock.advance(float(spec["advance_seconds"]))
    except (TypeError, ValueError) as exc:
        raise invalid_input(str(exc)) from None
    return json_response(200, _clock(state))


def _clock(state: SimulatorState) -> dict[str, Any]:
    return {"now": zulu(state.clock.now()), "time_scale": state.clock.time_scale}


def list_faults(state: SimulatorState, req: Request) -> Response:
    return json_response(200, {"faults": state.faults.active()})


def add_fault(state: SimulatorState, req: Request) -> Response:
    """Switch a fault on (see ``faults.py`` for names and parameters)."""
    try:
        fault = state.faults.add(_object(req))
    except (FaultError, TypeError, ValueError) as exc:
        raise invalid_input(str(exc)) from None
    return json_response(201, {"fault": fault.as_json()})


def clear_faults(state: SimulatorState, req: Request) -> Response:
    return json_response(200, {"removed": state.faults.clear()})


def clear_fault(state: SimulatorState, req: Request) -> Response:
    fault_id = req.params["faultId"]
    removed = state.faults.clear(int(fault_id)) if fault_id.isdigit() else 0
    if not removed:
        raise ApiError(404, "NotFound", "No active fault with this id.")
    return json_response(200, {"removed": removed})


def get_stats(state: SimulatorState, req: Request) -> Response:
    return json_response(200, {"sellers": state.stats.snapshot()})


def reset_stats(state: SimulatorState, req: Request) -> Response:
    state.stats.reset()
    return json_response(200, {"sellers": {}})


def list_sellers(state: SimulatorState, req: Request) -> Response:
    return json_response(200, {"sellers": [state.seller_json(s) for s in state.sellers.values()]})


def add_seller(state: SimulatorState, req: Request) -> Response:
    """``{"marketplaces": ["US"], "orders": 20, "professional": true, "same_app": false}``."""
    spec = _object(req)
    try:
        seller = state.add_seller(
            marketplaces=spec.get("marketplaces", ["DE"]),
            orders=int(spec.get("orders", 20)),
            professional=bool(spec.get("professional", True)),
            same_app=bool(spec.get("same_app", False)),
            name=str(spec.get("name", "Sim seller")),
        )
    except (TypeError, ValueError, UnknownMarketplaceError) as exc:
        raise invalid_input(str(exc)) from None
    return json_response(201, {"seller": state.seller_json(seller)})


def _object(req: Request) -> dict[str, Any]:
    spec = req.json() if req.body else {}
    if not isinstance(spec, dict):
        raise invalid_input("The body must be a JSON object.")
    return spec


ROUTES: tuple[Route[SimulatorState], ...] = (
    route("GET", "/_simulator/orders", "_orders", get_orders, auth=False),
    route("POST", "/_simulator/orders", "_orders", add_order, auth=False),
    route("POST", "/_simulator/orders/{orderId}/cancel", "_cancel", cancel_order, auth=False),
    route("POST", "/_simulator/orders/{orderId}/ship", "_ship", ship_order, auth=False),
    route("GET", "/_simulator/clock", "_clock", get_clock, auth=False),
    route("POST", "/_simulator/clock", "_clock", set_clock, auth=False),
    route("GET", "/_simulator/faults", "_faults", list_faults, auth=False),
    route("POST", "/_simulator/faults", "_faults", add_fault, auth=False),
    route("DELETE", "/_simulator/faults", "_faults", clear_faults, auth=False),
    route("DELETE", "/_simulator/faults/{faultId}", "_faults", clear_fault, auth=False),
    route("GET", "/_simulator/stats", "_stats", get_stats, auth=False),
    route("DELETE", "/_simulator/stats", "_stats", reset_stats, auth=False),
    route("GET", "/_simulator/sellers", "_sellers", list_sellers, auth=False),
    route("POST", "/_simulator/sellers", "_sellers", add_seller, auth=False),
)
