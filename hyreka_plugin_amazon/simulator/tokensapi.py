"""Tokens API 2021-03-01: ``createRestrictedDataToken``, refusing what Amazon refuses.

An RDT is issued only for restricted resources: the document of a restricted report (by its
real id, of this seller) and the restricted Orders v0 operations (with ``{orderId}`` or a real
order id). Anything else (an unrestricted report's document, an unknown document id, a reports
path) is Amazon's ``400 InvalidInput``, and so is an app without the restricted role.
"""

from __future__ import annotations

import re

from hyreka_plugin_amazon.simulator import flatfiles
from hyreka_plugin_amazon.simulator.access import rdt_role_missing
from hyreka_plugin_amazon.simulator.state import SimulatorState
from hyreka_plugin_amazon.simulator.vocabulary import (
    ApiError,
    Request,
    Response,
    Route,
    json_response,
    route,
)

DOCUMENT = re.compile(r"^/reports/2021-06-30/documents/(?P<document_id>[^/]+)$")
# The restricted operations of Orders v0 (Tokens API use case guide), GET only
ORDERS_V0 = re.compile(
    r"^/orders/v0/orders(/[^/]+(/address|/buyerInfo|/orderItems(/buyerInfo)?|/regulatedInfo)?)?$"
)
DATA_ELEMENTS = frozenset({"buyerInfo", "shippingAddress", "buyerTaxInformation"})
MAX_RESOURCES = 50
BAD_DOCUMENT = "Invalid or unsupported document ID found"


def create_restricted_data_token(state: SimulatorState, req: Request) -> Response:
    """POST /tokens/2021-03-01/restrictedDataToken."""
    if state.faults.fire("restricted_role_missing", seller_id=req.seller_id, on="rdt"):
        raise rdt_role_missing()
    spec = req.json()
    resources = spec.get("restrictedResources") if isinstance(spec, dict) else None
    if not isinstance(resources, list) or not resources:
        raise _invalid("Resource not provided.")
    if len(resources) > MAX_RESOURCES:
        raise _invalid(f"At most {MAX_RESOURCES} restricted resources are allowed.")
    paths: set[tuple[str, str]] = set()
    elements: set[str] = set()
    for resource in resources:
        if not isinstance(resource, dict):
            raise _invalid("Resource not provided.")
        method, path = resource.get("method"), resource.get("path")
        if method not in ("GET", "PUT", "POST", "DELETE"):
            raise _invalid(f"Invalid method: {method}.")
        if not isinstance(path, str) or not path.startswith("/"):
            raise _invalid("Invalid path.")
        elements |= _data_elements(resource)
        _check_restricted(state, req, method, path)
        paths.add((method, path))
    if "buyerTaxInformation" in elements and not _in_turkey(state, req.seller_id):
        raise ApiError(
            400,
            "InvalidInput",
            "Application does not have access to one or more requested data elements: "
            "[buyerTaxInformation]",
            "",
        )
    token = state.tokens.issue_rdt(req.seller_id, frozenset(paths), frozenset(elements))
    return json_response(200, {"restrictedDataToken": token, "expiresIn": 3600})


def _check_restricted(state: SimulatorState, req: Request, method: str, path: str) -> None:
    """Raise Amazon's 400 unless ``method path`` is a restricted resource of this seller."""
    document = DOCUMENT.match(path)
    if document is not None and method == "GET":
        found = state.reports.document(req.seller_id, document["document_id"], state.clock.now())
        if found is None or found.report_type not in flatfiles.RESTRICTED_REPORT_TYPES:
            raise ApiError(400, "InvalidInput", BAD_DOCUMENT, "")
        return
    if path.startswith("/reports/"):
        raise ApiError(400, "InvalidInput", BAD_DOCUMENT, "")
    if method == "GET" and ORDERS_V0.match(path):
        return
    raise ApiError(400, "InvalidInput", f"Invalid or unsupported restricted resource: {path}", "")


def _data_elements(resource: dict[str, object]) -> set[str]:
    elements = resource.get("dataElements", [])
    if not isinstance(elements, list) or not all(isinstance(e, str) for e in elements):
        raise _invalid("dataElements must be a list of strings.")
    unknown = sorted(set(elements) - DATA_ELEMENTS)
    if unknown:
        raise _invalid(f"Invalid dataElements: {', '.join(unknown)}.")
    return set(elements)


def _in_turkey(state: SimulatorState, seller_id: str) -> bool:
    return any(m.country_code == "TR" for m in state.sellers[seller_id].marketplaces)


def _invalid(details: str) -> ApiError:
    return ApiError(400, "InvalidInput", "Request is missing or has invalid parameters", details)


ROUTES: tuple[Route[SimulatorState], ...] = (
    route(
        "POST",
        "/tokens/2021-03-01/restrictedDataToken",
        "createRestrictedDataToken",
        create_restricted_data_token,
        auth=True,
    ),
)
