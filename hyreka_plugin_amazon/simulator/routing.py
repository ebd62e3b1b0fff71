"""Routing: which route answers a request, and the gateway's steps around its handler.

Every request passes the same steps: the regional host prefix, the route, the access check,
the request faults, the usage plan, the handler, the response faults, the
``x-amzn-RateLimit-Limit`` header and the call statistics.
"""

from __future__ import annotations

import re

from hyreka_plugin_amazon.simulator import (
    admin,
    api,
    confirmshipment,
    consent,
    feeds,
    ordersapi,
    ordersv0,
    reportlist,
    tokensapi,
    unsimulated,
)
from hyreka_plugin_amazon.simulator.access import authenticate, missing_token
from hyreka_plugin_amazon.simulator.ratelimits import limit_header
from hyreka_plugin_amazon.simulator.requestfaults import (
    apply_request_faults,
    apply_response_faults,
    quota_exceeded,
)
from hyreka_plugin_amazon.simulator.state import SimulatorState
from hyreka_plugin_amazon.simulator.vocabulary import (
    ApiError,
    Request,
    Response,
    Route,
    json_response,
)
from hyreka_plugin_amazon.spapi import regions

ROUTES: tuple[Route[SimulatorState], ...] = (
    api.ROUTES
    + reportlist.ROUTES
    + tokensapi.ROUTES
    + ordersapi.ROUTES
    + ordersv0.ROUTES
    + confirmshipment.ROUTES
    + feeds.ROUTES
    + admin.ROUTES
    + consent.ROUTES
)
# ``{url}/eu`` etc. stand for the regional hosts: a token of another region's seller is refused
REGION_PREFIX = re.compile(rf"^/({'|'.join(regions.REGIONS)})(/.*)$")
LIMIT_HEADER_STATUSES = frozenset({200, 201, 202, 204, 400, 404})  # never on 429, 401 or 403


def dispatch(state: SimulatorState, req: Request) -> Response | None:
    """Answer one request (None drops the connection)."""
    regional = REGION_PREFIX.match(req.path)
    if regional is not None:
        req.region, req.path = regional.group(1), regional.group(2)
    allowed = False
    for candidate in ROUTES:
        match = candidate.pattern.match(req.path)
        if match is None:
            continue
        allowed = True
        if candidate.method != req.method:
            continue
        req.params = match.groupdict()
        response = _serve(state, candidate, req)
        if not candidate.operation.startswith("_"):
            status = response.status if response is not None else 0
            state.stats.record(req.seller_id, candidate.operation, status)
        return response
    if req.path.startswith("/_simulator/"):
        reason = "method not allowed" if allowed else "no such admin endpoint"
        return json_response(405 if allowed else 404, {"error": reason})
    not_simulated = unsimulated.answer(req.method, req.path)
    if not_simulated is not None:  # Amazon has it; saying so beats a false auth error
        return not_simulated
    # Amazon's API gateway answers unknown paths and methods like a missing token
    return missing_token().response()


def _serve(
    state: SimulatorState, candidate: Route[SimulatorState], req: Request
) -> Response | None:
    operation = candidate.operation
    admin_call = operation.startswith("_")
    try:
        if candidate.auth:
            authenticate(state, req)
        if not admin_call and apply_request_faults(state, req, operation):
            return None
        if candidate.auth and not state.limits.allow(req.seller_id, operation, state.clock.now()):
            raise quota_exceeded()
        response = candidate.handler(state, req)
    except ApiError as exc:
        response = exc.response()
    if not admin_call:
        answer = apply_response_faults(state, req, operation, response)
        if answer is None:
            return None
        response = answer
    header = limit_header(operation)
    if header and response.status in LIMIT_HEADER_STATUSES:
        response.headers["x-amzn-RateLimit-Limit"] = header
    return response
