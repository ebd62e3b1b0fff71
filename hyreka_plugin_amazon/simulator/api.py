"""The simulated SP-API endpoints: LWA, Sellers, Reports and the document downloads.

Tokens are in ``tokensapi.py``, the Orders API in ``ordersapi.py`` (v2026-01-01) and
``ordersv0.py``, the admin API in ``admin.py``.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

from hyreka_plugin_amazon.simulator import flatfiles, reportcontent
from hyreka_plugin_amazon.simulator.access import missing_role, unauthorized
from hyreka_plugin_amazon.simulator.clock import parse_iso, zulu
from hyreka_plugin_amazon.simulator.faults import Fault
from hyreka_plugin_amazon.simulator.reportstore import Document
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
from hyreka_plugin_amazon.spapi.regions import Marketplace

LANGUAGES = {"GB": "en_GB", "IE": "en_GB", "US": "en_US", "CA": "en_CA", "AU": "en_AU",
             "IN": "en_IN", "SG": "en_SG", "AE": "ar_AE", "SA": "ar_SA", "EG": "ar_EG",
             "BE": "fr_BE", "MX": "es_MX", "BR": "pt_BR", "JP": "ja_JP", "SE": "sv_SE",
             "ZA": "en_ZA"}  # fmt: skip
DOCUMENT_PATH = "/reports/2021-06-30/documents/{}"


# ---------------------------------------------------------------------------------------------
# Login with Amazon


def lwa_token(state: SimulatorState, req: Request) -> Response:
    """POST /auth/o2/token: exchange a refresh token for an access token, or a seller's
    authorization code (``grant_type=authorization_code``) for a refresh token."""
    form = _lwa_form(req)
    grant = form.get("grant_type")
    if not grant:
        return _lwa_error(
            400, "invalid_request", "The request is missing a required parameter : grant_type"
        )
    if grant == "authorization_code":
        return _authorization_code(state, req, form)
    if grant != "refresh_token":
        return _lwa_error(
            400,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server",
        )
    seller = state.seller_by_client(form.get("client_id", ""), form.get("client_secret", ""))
    if seller is not None:
        req.seller_id = seller.seller_id
    if seller is None or state.faults.fire("lwa_invalid_client", seller_id=req.seller_id):
        return _lwa_error(401, "invalid_client", "Client authentication failed")
    refresh = form.get("refresh_token")
    if not refresh:
        return _lwa_error(
            400, "invalid_request", "The request is missing a required parameter : refresh_token"
        )
    seller = state.seller_by_refresh_token(form.get("client_id", ""), refresh)
    if seller is None or state.faults.fire("lwa_invalid_grant", seller_id=req.seller_id):
        return _lwa_error(
            400, "invalid_grant", "The request has an invalid grant parameter : refresh_token"
        )
    req.seller_id = seller.seller_id
    token = state.tokens.issue_access_token(seller.seller_id)
    body = {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": 3600,
        "refresh_token": refresh,
    }
    return json_response(200, body, _NO_STORE)


_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _authorization_code(state: SimulatorState, req: Request, form: dict[str, str]) -> Response:
    """The website authorization workflow's exchange: the ``spapi_oauth_code`` (once, within
    its lifetime, with the redirect URI it was issued for) -> a new refresh token."""
    client_id = form.get("client_id", "")
    app = state.seller_by_client(client_id, form.get("client_secret", ""))
    if app is not None:
        req.seller_id = app.seller_id
    if app is None or state.faults.fire("lwa_invalid_client", seller_id=req.seller_id):
        return _lwa_error(401, "invalid_client", "Client authentication failed")
    for name in ("code", "redirect_uri"):
        if not form.get(name):
            return _lwa_error(
                400, "invalid_request", f"The request is missing a required parameter : {name}"
            )
    redeemed = state.consents.redeem(
        form["code"], client_id=client_id, redirect_uri=form["redirect_uri"]
    )
    if redeemed.error == "invalid_request":
        return _lwa_error(
            400, "invalid_request", "The redirect_uri does not match the authorization request"
        )
    seller = state.sellers.get(redeemed.seller_id or "")
    if seller is None:
        return _lwa_error(400, "invalid_grant", "The request has an invalid grant parameter : code")
    req.seller_id = seller.seller_id
    body = {
        "access_token": state.tokens.issue_access_token(seller.seller_id),
        "refresh_token": state.consents.issue_refresh_token(seller.seller_id, client_id),
        "token_type": "bearer",
        "expires_in": 3600,
    }
    return json_response(200, body, _NO_STORE)


def _lwa_form(req: Request) -> dict[str, str]:
    if req.headers.get("content-type", "").startswith("application/json"):
        try:
            data = json.loads(req.body or b"{}")
        except ValueError:
            data = {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
    form = parse_qs(req.body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {k: v[0] for k, v in form.items()}


def _lwa_error(status: int, error: str, description: str) -> Response:
    return json_response(status, {"error_description": description, "error": error}, _NO_STORE)


# ---------------------------------------------------------------------------------------------
# Sellers


def marketplace_participations(state: SimulatorState, req: Request) -> Response:
    """GET /sellers/v1/marketplaceParticipations."""
    seller = state.sellers[req.seller_id]
    payload = [
        {
            "marketplace": _marketplace_json(m),
            "storeName": seller.store_name,
            "participation": {"isParticipating": True, "hasSuspendedListings": False},
        }
        for m in seller.marketplaces
    ]
    return json_response(200, {"payload": payload})


def _marketplace_json(m: Marketplace) -> dict[str, str]:
    return {
        "id": m.id,
        "name": m.domain,
        "countryCode": m.country_code,
        "defaultCurrencyCode": m.currency,
        "defaultLanguageCode": LANGUAGES.get(m.country_code, _language(m.country_code)),
        "domainName": "www." + m.domain.lower(),
    }


def _language(country: str) -> str:
    return f"{country.lower()}_{country}"


# ---------------------------------------------------------------------------------------------
# Reports 2021-06-30


def create_report(state: SimulatorState, req: Request) -> Response:
    """POST /reports/2021-06-30/reports: 202 with the new report id."""
    spec = req.json()
    if not isinstance(spec, dict):
        raise invalid_input("The request body must be a CreateReportSpecification object.")
    report_type = spec.get("reportType")
    if not isinstance(report_type, str) or not report_type:
        raise invalid_input("reportType is required.")
    if report_type not in flatfiles.REPORT_TYPES:
        raise invalid_input(f"Report type {report_type} is not valid.")
    if report_type in flatfiles.RESTRICTED_REPORT_TYPES and state.faults.fire(
        "restricted_role_missing", seller_id=req.seller_id, report_type=report_type, on="create"
    ):
        raise ApiError(403, "Unauthorized", "Access to the resource is forbidden", "")
    seller = state.sellers[req.seller_id]
    marketplace_ids = spec.get("marketplaceIds")
    own = {m.id for m in seller.marketplaces}
    if (
        not isinstance(marketplace_ids, list)
        or not 1 <= len(marketplace_ids) <= 25
        or not all(isinstance(m, str) for m in marketplace_ids)
    ):
        raise invalid_input("marketplaceIds must list 1 to 25 marketplace ids.")
    unknown = [m for m in marketplace_ids if m not in own]
    if unknown:
        raise invalid_input(f"Invalid marketplaceIds: {', '.join(unknown)}.")
    options = spec.get("reportOptions", {})
    if not isinstance(options, dict) or not all(isinstance(v, str) for v in options.values()):
        raise invalid_input("reportOptions must map names to strings.")
    now = state.clock.now()
    end = _date_field(spec, "dataEndTime", now)
    start = _date_field(spec, "dataStartTime", now)
    if end > now:
        raise invalid_input("dataEndTime must not be later than the current time.")
    if start > end:
        raise invalid_input("dataStartTime must not be later than dataEndTime.")
    report = reportcontent.create_report(
        state, seller.seller_id, report_type, tuple(marketplace_ids), start, end
    )
    return json_response(202, {"reportId": report.report_id})


def _date_field(spec: dict[str, Any], name: str, default: datetime) -> datetime:
    value = spec.get(name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise invalid_input(f"{name} must be an ISO 8601 date-time.")
    try:
        return parse_iso(value)
    except ValueError:
        raise invalid_input(f"{name} must be an ISO 8601 date-time.") from None


def get_report(state: SimulatorState, req: Request) -> Response:
    """GET /reports/2021-06-30/reports/{reportId}."""
    report = state.reports.report(req.seller_id, req.params["reportId"])
    if report is None:
        raise ApiError(404, "NotFound", "The requested report was not found.")
    return json_response(200, report.as_json(state.clock.now()))


def get_report_document(state: SimulatorState, req: Request) -> Response:
    """GET /reports/2021-06-30/documents/{reportDocumentId}: a pre-signed URL, 5 minutes."""
    now = state.clock.now()
    document = state.reports.document(req.seller_id, req.params["reportDocumentId"], now)
    if document is None:
        raise ApiError(404, "NotFound", "The requested report document was not found.")
    if document.report_type in flatfiles.RESTRICTED_REPORT_TYPES:
        path = DOCUMENT_PATH.format(document.document_id)
        if ("GET", path) not in req.token_paths:
            raise unauthorized()
        if state.faults.fire(
            "restricted_role_missing",
            seller_id=req.seller_id,
            report_type=document.report_type,
            on="document",
        ):
            raise missing_role()
    encoding = req.arg("enableContentEncodingUrlHeader")
    if encoding not in (None, "true", "false"):
        raise invalid_input("enableContentEncodingUrlHeader must be true or false.")
    token = state.reports.presign(document, now, content_encoding=encoding == "true")
    body: dict[str, str] = {
        "reportDocumentId": document.document_id,
        "url": f"{state.url}/_download/{token}",
    }
    if document.compression:
        body["compressionAlgorithm"] = document.compression
    return json_response(200, body)


def download(state: SimulatorState, req: Request) -> Response:
    """GET /_download/{token}: the pre-signed document URL, S3-like (no SP-API headers)."""
    found = state.reports.download(req.params["token"])
    now = state.clock.now()
    if found is None:
        return _s3_error(req, "Access Denied", {})
    document = found.document
    req.seller_id = document.seller_id
    if found.expired(state.reports.wall()) or _download_fault(state, "url_expired", document):
        extra = {"X-Amz-Expires": "300", "Expires": zulu(found.expires), "ServerTime": zulu(now)}
        return _s3_error(req, "Request has expired", extra)
    response = Response(200, document.body, document.content_type)
    if found.content_encoding and document.compression == "GZIP":
        response.headers["Content-Encoding"] = "gzip"
    if _download_fault(state, "charset_missing", document):
        response.content_type = "text/plain"
    wrong = _download_fault(state, "charset_wrong", document)
    if wrong is not None:
        response.content_type = f"text/plain; charset={wrong.params['charset']}"
    if _download_fault(state, "double_gzip", document):
        response.body = gzip.compress(response.body, mtime=0)
        response.headers["Content-Encoding"] = "gzip"
    if _download_fault(state, "truncated_gzip", document):
        response.body = response.body[: len(response.body) // 2]
    return response


def _download_fault(state: SimulatorState, name: str, document: Document) -> Fault | None:
    return state.faults.fire(
        name, seller_id=document.seller_id, operation="download", report_type=document.report_type
    )


def _s3_error(req: Request, message: str, extra: dict[str, str]) -> Response:
    parts = "".join(f"<{k}>{escape(v)}</{k}>" for k, v in extra.items())
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>AccessDenied</Code><Message>{message}</Message>{parts}"
        f"<RequestId>{req.request_id[:16].upper()}</RequestId></Error>"
    )
    return Response(403, body.encode(), "application/xml")


# ---------------------------------------------------------------------------------------------
# Routes


ROUTES: tuple[Route[SimulatorState], ...] = (
    route("POST", "/auth/o2/token", "lwaToken", lwa_token, auth=False),
    route(
        "GET",
        "/sellers/v1/marketplaceParticipations",
        "getMarketplaceParticipations",
        marketplace_participations,
        auth=True,
    ),
    route("POST", "/reports/2021-06-30/reports", "createReport", create_report, auth=True),
    route("GET", "/reports/2021-06-30/reports/{reportId}", "getReport", get_report, auth=True),
    route(
        "GET",
        "/reports/2021-06-30/documents/{reportDocumentId}",
        "getReportDocument",
        get_report_document,
        auth=True,
    ),
    route("GET", "/_download/{token}", "download", download, auth=False),
)
