"""Reports 2021-06-30, the seller's list: ``getReports`` (with its page tokens) and
``cancelReport`` (only reports still ``IN_QUEUE``, as on Amazon)."""

from __future__ import annotations

from datetime import datetime, timedelta

from hyreka_plugin_amazon.simulator import flatfiles
from hyreka_plugin_amazon.simulator.clock import parse_iso
from hyreka_plugin_amazon.simulator.pagination import Listing
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

STATUSES = ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")
RETENTION = timedelta(days=90)
FILTERS = ("reportTypes", "processingStatuses", "marketplaceIds", "pageSize", "createdSince",
           "createdUntil")  # fmt: skip


def get_reports(state: SimulatorState, req: Request) -> Response:
    """GET /reports/2021-06-30/reports."""
    now = state.clock.now()
    token = req.arg("nextToken")
    if token is not None:
        if any(name in req.query for name in FILTERS):
            raise invalid_input("nextToken must be the only parameter.")
        listing = state.listings.take(token, req.seller_id)
        if listing is None:
            raise invalid_input("The nextToken is invalid.")
    else:
        listing = _first_listing(state, req, now)
    page, rest = listing.report_ids[: listing.page_size], listing.report_ids[listing.page_size :]
    reports = [state.reports.report(req.seller_id, rid) for rid in page]
    body: dict[str, object] = {"reports": [r.as_json(now) for r in reports if r is not None]}
    if rest:
        follow = Listing(req.seller_id, rest, listing.page_size)
        body["nextToken"] = state.listings.put(follow)
    return json_response(200, body)


def _first_listing(state: SimulatorState, req: Request, now: datetime) -> Listing:
    types = req.args("reportTypes")
    if not types:
        raise invalid_input("Either reportTypes or nextToken is required.")
    if len(types) > 10:
        raise invalid_input("reportTypes must list 1 to 10 report types.")
    unknown = sorted(set(types) - set(flatfiles.REPORT_TYPES))
    if unknown:
        raise invalid_input(f"Report type {unknown[0]} is not valid.")
    statuses = req.args("processingStatuses")
    if set(statuses) - set(STATUSES):
        raise invalid_input(f"processingStatuses must be of {', '.join(STATUSES)}.")
    marketplaces = req.args("marketplaceIds")
    if len(marketplaces) > 10:
        raise invalid_input("marketplaceIds must list 1 to 10 marketplace ids.")
    size = req.arg("pageSize") or "10"
    if not size.isdigit() or not 1 <= int(size) <= 100:
        raise invalid_input("pageSize must be between 1 and 100.")
    since = _when(req, "createdSince", now - RETENTION)
    until = _when(req, "createdUntil", now)
    if since < now - RETENTION:
        raise invalid_input("createdSince must not be more than 90 days ago.")
    if until < since:
        raise invalid_input("createdUntil must not be earlier than createdSince.")
    found = [
        r.report_id
        for r in state.reports.of_seller(req.seller_id)
        if r.report_type in types
        and since <= r.created <= until
        and (not statuses or r.status(now) in statuses)
        and (not marketplaces or set(marketplaces) & set(r.marketplace_ids))
    ]
    return Listing(req.seller_id, found, int(size))


def _when(req: Request, name: str, default: datetime) -> datetime:
    value = req.arg(name)
    if value is None:
        return default
    try:
        return parse_iso(value)
    except ValueError:
        raise invalid_input(f"{name} must be an ISO 8601 date-time.") from None


def cancel_report(state: SimulatorState, req: Request) -> Response:
    """DELETE /reports/2021-06-30/reports/{reportId}: 200 with an empty body."""
    report = state.reports.report(req.seller_id, req.params["reportId"])
    if report is None:
        raise ApiError(404, "NotFound", "The requested report was not found.")
    if not state.reports.cancel(report, state.clock.now()):
        raise invalid_input("Only reports with processingStatus IN_QUEUE can be cancelled.")
    return Response(200, b"", "application/json")


ROUTES: tuple[Route[SimulatorState], ...] = (
    route("GET", "/reports/2021-06-30/reports", "getReports", get_reports, auth=True),
    route(
        "DELETE", "/reports/2021-06-30/reports/{reportId}", "cancelReport", cancel_report, auth=True
    ),
)
