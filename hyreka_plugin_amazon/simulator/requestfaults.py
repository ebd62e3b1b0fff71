"""Request faults as the gateway applies them before an operation's handler, and their answers;
response faults as it applies them after the handler.

The faults themselves (names, parameters, when they fire) are kept in ``faults.py``; this
module turns a fired request fault into what Amazon would do: an error answer, a slow answer,
an expired access token or a dropped connection. Throttling shares the fault's answer. A
response fault (``lost_response``) strikes after Amazon handled the request: the request took
effect, its answer is lost or replaced by an error.
"""

from __future__ import annotations

import time

from hyreka_plugin_amazon.simulator.access import unauthorized
from hyreka_plugin_amazon.simulator.faults import REQUEST_FAULTS
from hyreka_plugin_amazon.simulator.state import SimulatorState
from hyreka_plugin_amazon.simulator.vocabulary import ApiError, Request, Response

FAULT_ERRORS: dict[str, tuple[int, str, str]] = {
    "throttle": (429, "QuotaExceeded", "You exceeded your quota for the requested resource."),
    "internal_error": (
        500,
        "InternalFailure",
        "We encountered an internal error. Please try again.",
    ),
    "unavailable": (
        503,
        "ServiceUnavailable",
        "Service temporarily unavailable. Please try again.",
    ),
    "invalid_input": (400, "InvalidInput", "Invalid Input"),
    "not_found": (404, "NotFound", "Resource not found."),
}


def apply_request_faults(state: SimulatorState, req: Request, operation: str) -> bool:
    """Fire the request faults that match; True means drop the connection without an answer.

    An error fault raises its ``ApiError``; ``slow_response`` sleeps and lets the call go on.
    """
    for name in REQUEST_FAULTS:
        fault = state.faults.fire(name, seller_id=req.seller_id, operation=operation)
        if fault is None:
            continue
        if name == "drop_connection":
            return True
        if name == "slow_response":
            time.sleep(fault.params["delay"])
            continue
        if name == "token_expired":
            state.tokens.revoke_access_tokens(req.seller_id)
            raise unauthorized()
        raise ApiError(*FAULT_ERRORS[name], "")
    return False


def apply_response_faults(
    state: SimulatorState, req: Request, operation: str, response: Response
) -> Response | None:
    """The answer of a handled request as the client gets it: ``response``, or after a
    ``lost_response`` (which waits for a request Amazon accepted, 2xx) None (the connection
    closes without an answer) or the fault's error answer, after its ``delay``."""
    if not 200 <= response.status < 300:
        return response
    fault = state.faults.fire("lost_response", seller_id=req.seller_id, operation=operation)
    if fault is None:
        return response
    time.sleep(fault.params["delay"])
    status = fault.params["status"]
    if status == 0:
        return None
    name = "internal_error" if status == 500 else "unavailable"
    return ApiError(*FAULT_ERRORS[name], "").response()


def quota_exceeded() -> ApiError:
    """Amazon's 429 when a usage plan's bucket is empty."""
    return ApiError(*FAULT_ERRORS["throttle"], "")
