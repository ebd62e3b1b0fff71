"""The gateway's access check: access tokens, restricted data tokens, regions, account types.

Also the error answers Amazon gives when access is refused, for the handlers that refuse it
themselves (an RDT that does not cover a document, a missing restricted role).
"""

from __future__ import annotations

from hyreka_plugin_amazon.simulator.state import SimulatorState
from hyreka_plugin_amazon.simulator.vocabulary import ApiError, Request


def authenticate(state: SimulatorState, req: Request) -> None:
    """Set ``req.seller_id`` and ``req.token_paths`` from the access token, or raise 403."""
    token = req.headers.get("x-amz-access-token")
    if not token:
        raise missing_token()
    grant = state.tokens.lookup(token)
    if grant is None:
        raise unauthorized()
    if not grant.opens(req.method, req.path):  # an RDT opens only its own paths
        raise unauthorized()
    seller = state.sellers[grant.seller_id]
    if req.region and req.region != seller.region:
        raise unauthorized()  # e.g. a European seller's token at the North American host
    req.seller_id, req.token_paths = grant.seller_id, grant.paths
    req.data_elements = grant.data_elements
    if not seller.professional:
        raise ApiError(
            403,
            "Unauthorized",
            "Access to requested resource is denied.",
            "The selling partner account is an Individual account; the Selling Partner API "
            "is available to Professional selling accounts only.",
        )


def missing_token() -> ApiError:
    """No access token at all; also Amazon's answer to unknown paths and methods."""
    return ApiError(
        403,
        "MissingAuthenticationToken",
        "Access to requested resource is denied.",
        headers={"x-amzn-ErrorType": "MissingAuthenticationTokenException"},
    )


def unauthorized() -> ApiError:
    return ApiError(
        403,
        "Unauthorized",
        "Access to requested resource is denied.",
        "The access token you provided is revoked, malformed or invalid.",
    )


def rdt_role_missing() -> ApiError:
    """createRestrictedDataToken for an app without the restricted role: Amazon's 400."""
    return ApiError(
        400,
        "InvalidInput",
        "Application do not have access to some or all requested resource",
        "",
    )


def missing_role() -> ApiError:
    """A restricted document fetched by an app that lacks the restricted role."""
    return ApiError(
        403,
        "Unauthorized",
        "Access to requested resource is denied.",
        "The application is not authorized for the restricted role this resource requires.",
    )
