"""The SP-API client: Sellers, Reports, Tokens, Orders v2026-01-01, confirmShipment and the
Feeds operations of the VAT invoice feed (``feeds.py``).

One client per account and thread (its ``requests.Session`` is not shared across threads).
Access tokens and rate-limit buckets are shared by all clients with the same credentials.
"""

from __future__ import annotations

import collections
import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import quote

import requests

from hyreka_plugin_amazon.reports.catalogue import RESTRICTED_REPORT_TYPES
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.spapi.auth import LwaAuth
from hyreka_plugin_amazon.spapi.documents import DocumentStream
from hyreka_plugin_amazon.spapi.errors import (
    BadRequestError,
    NotFoundError,
    ReportFatalError,
    ReportTimeoutError,
    ShipmentRefusedError,
    SpApiError,
)
from hyreka_plugin_amazon.spapi.feeds import FeedOperations
from hyreka_plugin_amazon.spapi.models import (
    CANCELLED,
    DONE,
    FATAL,
    MarketplaceParticipation,
    Report,
    ReportDocument,
    format_time,
)
from hyreka_plugin_amazon.spapi.ratelimit import SHARED_LIMITER, RateLimiter, credentials_key
from hyreka_plugin_amazon.spapi.regions import LWA_TOKEN_URL
from hyreka_plugin_amazon.spapi.regions import region as region_of
from hyreka_plugin_amazon.spapi.transport import (
    RETRY_STATUSES,
    RETRY_STATUSES_UNSAFE,
    Transport,
    amazon_error,
    checked_url,
    default_user_agent,
    error_for_response,
)

if TYPE_CHECKING:
    from hyreka_plugin_amazon.contract import Account

logger = logging.getLogger("hyreka_plugin_amazon.spapi")

REPORTS = "/reports/2021-06-30"
ERROR_DOCUMENT_LIMIT = 2000  # characters of a FATAL report's error document kept
TICK_SECONDS = 1.0  # the longest wait between two tick() calls while a report is processed
_RESTRICTED_HINT = (
    "; a restricted report needs the app's restricted role (Tax Invoicing or "
    "Direct-to-Consumer Shipping) and a refresh token issued after the role was granted"
)
_ACCESS_HINT = (
    "; check that the refresh token belongs to this app and this region and that the app is "
    "authorised for the operation"
)


class SpApiClient(FeedOperations):
    """Calls the SP-API for one seller authorisation (client id, secret, refresh token, region).

    ``calls`` counts HTTP requests sent per operation name (each retry counts), plus
    ``lwaToken`` for token exchanges and ``download`` for document downloads.
    """

    def __init__(
        self,
        *,
        client_id: str,
        client_secret: Secret,
        refresh_token: Secret,
        region: str,
        endpoint: str | None = None,
        token_url: str | None = None,
        timeout: tuple[float, float] = (10.0, 30.0),
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        max_attempts: int = 5,
        user_agent: str | None = None,
        max_wait: float = 60.0,
        rate_limiter: RateLimiter = SHARED_LIMITER,
    ) -> None:
        """``max_wait``: the longest rate-limit wait or retry delay accepted before giving up
        with ThrottledError; ``rate_limiter``: the buckets, shared process-wide by default."""
        home = region_of(region)  # validates the region even when an endpoint is given
        self._endpoint = checked_url(endpoint or home.endpoint, "endpoint")
        token_url = checked_url(token_url or LWA_TOKEN_URL, "token_url")
        self._sleep = sleep
        self._monotonic = monotonic
        self._transport = Transport(
            session=session,
            timeout=timeout,
            sleep=sleep,
            monotonic=monotonic,
            max_attempts=max_attempts,
            max_wait=max_wait,
            user_agent=user_agent or default_user_agent(),
        )
        self._auth = LwaAuth(
            transport=self._transport,
            token_url=token_url,
            client_id=client_id,
            client_secret=client_secret,
            refresh_token=refresh_token,
            monotonic=monotonic,
        )
        self._secrets = (client_secret, refresh_token)
        self._limiter = rate_limiter
        self._credentials = credentials_key(client_id, refresh_token.reveal(), self._endpoint)

    @classmethod
    def for_account(
        cls,
        account: Account,
        *,
        region: str | None = None,
        endpoint: str | None = None,
        timeout: tuple[float, float] = (10.0, 30.0),
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        max_attempts: int = 5,
        max_wait: float = 60.0,
        rate_limiter: RateLimiter = SHARED_LIMITER,
    ) -> Self:
        """The client of ``account``'s seller authorisation: the one place a client is built
        from an Account. ``region`` asks another region instead of the account's own, at
        ``endpoint`` (default: that region's host); the other options are the constructor's."""
        if region is None:
            region, endpoint = account.region, endpoint or account.endpoint
        return cls(
            client_id=account.client_id,
            client_secret=account.client_secret,
            refresh_token=account.refresh_token,
            region=region,
            endpoint=endpoint,
            token_url=account.token_url,
            timeout=timeout,
            session=session,
            sleep=sleep,
            monotonic=monotonic,
            max_attempts=max_attempts,
            max_wait=max_wait,
            rate_limiter=rate_limiter,
        )

    @property
    def calls(self) -> collections.Counter[str]:
        return self._transport.calls

    # ---------------------------------------------------------------------------- Sellers

    def get_marketplace_participations(self) -> list[MarketplaceParticipation]:
        """The marketplaces the seller participates in (the test-login call)."""
        body = self._call(
            "getMarketplaceParticipations", "GET", "/sellers/v1/marketplaceParticipations"
        )
        return [MarketplaceParticipation.from_json(item) for item in body.get("payload") or ()]

    # ---------------------------------------------------------------------------- Reports

    def create_report(
        self,
        report_type: str,
        marketplace_ids: Sequence[str],
        *,
        data_start_time: datetime | None = None,
        data_end_time: datetime | None = None,
        report_options: Mapping[str, str] | None = None,
    ) -> str:
        """Request a report; returns its reportId. Never repeated once it may have arrived."""
        spec: dict[str, Any] = {"reportType": report_type, "marketplaceIds": list(marketplace_ids)}
        if data_start_time is not None:
            spec["dataStartTime"] = format_time(data_start_time)
        if data_end_time is not None:
            spec["dataEndTime"] = format_time(data_end_time)
        if report_options:
            spec["reportOptions"] = dict(report_options)
        body = self._call(
            "createReport",
            "POST",
            f"{REPORTS}/reports",
            json_body=spec,
            retry_statuses=RETRY_STATUSES_UNSAFE,
            retry_after_send=False,
        )
        return str(body["reportId"])

    def cancel_report(self, report_id: str) -> None:
        """Cancel a report Amazon has not started (only ``IN_QUEUE`` reports can be)."""
        path = f"{REPORTS}/reports/{_segment(report_id)}"
        self._call("cancelReport", "DELETE", path, empty_ok=True)

    def get_report(self, report_id: str) -> Report:
        body = self._call("getReport", "GET", f"{REPORTS}/reports/{_segment(report_id)}")
        return Report.from_json(body)

    def wait_for_report(
        self,
        report_id: str,
        *,
        poll_interval: float = 15.0,
        max_interval: float = 60.0,
        deadline: float = 1800.0,
        on_status: Callable[[Report], None] | None = None,
        tick: Callable[[], None] | None = None,
    ) -> Report:
        """Poll getReport until DONE or CANCELLED (no data) and return that report.

        The interval grows by half each poll from ``poll_interval`` to ``max_interval``.
        FATAL raises ReportFatalError with Amazon's error document (if any); still running
        ``deadline`` seconds after the first poll raises ReportTimeoutError. ``tick`` is
        called at least once a second while waiting between polls; what it raises ends the
        wait (a sync's cancel check: stopping does not wait for the next poll).
        """
        started = self._monotonic()
        interval = poll_interval
        while True:
            report = self.get_report(report_id)
            if on_status is not None:
                on_status(report)
            if report.processing_status in (DONE, CANCELLED):
                return report
            if report.processing_status == FATAL:
                raise self._fatal(report)
            remaining = deadline - (self._monotonic() - started)
            if remaining <= 0:
                raise ReportTimeoutError(
                    f"report {report_id} still {report.processing_status} after {deadline:g} s",
                    operation="getReport",
                    code=report.processing_status,
                )
            self._pause(min(interval, remaining), tick)
            interval = min(interval * 1.5, max_interval)

    def _pause(self, seconds: float, tick: Callable[[], None] | None) -> None:
        """Sleep ``seconds``, calling ``tick`` before each slice of at most one second."""
        if tick is None:
            self._sleep(seconds)
            return
        end = self._monotonic() + seconds
        while (left := end - self._monotonic()) > 0:
            tick()
            self._sleep(min(left, TICK_SECONDS))

    def create_restricted_data_token(self, path: str, method: str = "GET") -> Secret:
        """An RDT for exactly one restricted resource (e.g. a report document's path)."""
        body = self._call(
            "createRestrictedDataToken",
            "POST",
            "/tokens/2021-03-01/restrictedDataToken",
            json_body={"restrictedResources": [{"method": method, "path": path}]},
        )
        payload = body.get("payload")  # the 2021 guide wraps it, the model does not
        token = (payload if isinstance(payload, dict) else body).get("restrictedDataToken")
        if not isinstance(token, str) or not token:
            raise SpApiError(
                "createRestrictedDataToken answered without a token",
                operation="createRestrictedDataToken",
            )
        return Secret(token)

    def get_report_document(self, document_id: str, *, restricted: bool) -> ReportDocument:
        """The document's pre-signed URL (valid 5 minutes); ``restricted`` sends an RDT for
        exactly this document's path instead of the access token."""
        path = f"{REPORTS}/documents/{_segment(document_id)}"
        body = self._call(
            "getReportDocument", "GET", path, restricted_path=path if restricted else None
        )
        return ReportDocument.from_json(body)

    def open_document(
        self,
        document_id: str,
        *,
        restricted: bool,
        fallback_charsets: Sequence[str] = ("cp1252",),
        on_bytes: Callable[[int], None] | None = None,
    ) -> DocumentStream:
        """Stream a report document as decoded lines (see DocumentStream); close it after use."""
        return DocumentStream(
            transport=self._transport,
            fetch=lambda: self.get_report_document(document_id, restricted=restricted),
            fallback_charsets=fallback_charsets,
            on_bytes=on_bytes,
        )

    # ---------------------------------------------------------------------------- Orders

    def search_orders(
        self,
        *,
        marketplace_ids: Sequence[str],
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        last_updated_after: datetime | None = None,
        last_updated_before: datetime | None = None,
        fulfillment_statuses: Sequence[str] = (),
        fulfilled_by: Sequence[str] = (),
        included_data: Sequence[str] = (),
        max_results_per_page: int | None = None,
    ) -> Iterator[dict[str, Any]]:
        """Orders API v2026-01-01 searchOrders, page after page (``pagination.nextToken``).

        Exactly one of ``created_after`` / ``last_updated_after`` is required (checked at once;
        pages are fetched while iterating). Yields Amazon's order objects as they are (with PII
        when BUYER/RECIPIENT data is included).
        """
        if (created_after is None) == (last_updated_after is None):
            raise ValueError("give exactly one of created_after and last_updated_after")
        params: dict[str, str] = {"marketplaceIds": ",".join(marketplace_ids)}
        times = {
            "createdAfter": created_after,
            "createdBefore": created_before,
            "lastUpdatedAfter": last_updated_after,
            "lastUpdatedBefore": last_updated_before,
        }
        params.update({name: format_time(value) for name, value in times.items() if value})
        lists = {
            "fulfillmentStatuses": fulfillment_statuses,
            "fulfilledBy": fulfilled_by,
            "includedData": included_data,
        }
        params.update({name: ",".join(values) for name, values in lists.items() if values})
        if max_results_per_page is not None:
            params["maxResultsPerPage"] = str(max_results_per_page)
        return self._order_pages(params)

    def _order_pages(self, params: dict[str, str]) -> Iterator[dict[str, Any]]:
        while True:
            body = self._call("searchOrders", "GET", "/orders/2026-01-01/orders", params=params)
            yield from body.get("orders") or ()
            next_token = (body.get("pagination") or {}).get("nextToken")
            if not next_token:
                return
            params = {**params, "paginationToken": str(next_token)}

    def get_order(self, order_id: str, *, included_data: Sequence[str] = ()) -> dict[str, Any]:
        """Orders API v2026-01-01 getOrder: Amazon's order object as it is."""
        params = {"includedData": ",".join(included_data)} if included_data else None
        body = self._call(
            "getOrder", "GET", f"/orders/2026-01-01/orders/{_segment(order_id)}", params=params
        )
        order = body.get("order")
        if not isinstance(order, dict):
            raise SpApiError("getOrder answered without an order", operation="getOrder")
        return order

    def confirm_shipment(
        self,
        order_id: str,
        *,
        marketplace_id: str,
        package_reference_id: int,
        carrier_code: str,
        tracking_number: str,
        ship_date: datetime,
        items: Sequence[tuple[str, int]],
        carrier_name: str | None = None,
        shipping_method: str | None = None,
    ) -> None:
        """Orders v0 confirmShipment: one package of the order with carrier and tracking.

        Amazon answers 204. The same ``package_reference_id`` again edits that package, so
        the transport may repeat the call after a 5xx or a dropped connection.
        """
        if package_reference_id < 1:
            raise ValueError("package references are positive integers")
        detail: dict[str, Any] = {
            "packageReferenceId": str(package_reference_id),
            "carrierCode": carrier_code,
            "trackingNumber": tracking_number,
            "shipDate": format_time(ship_date),
            "orderItems": [{"orderItemId": item, "quantity": qty} for item, qty in items],
        }
        if carrier_name:
            detail["carrierName"] = carrier_name
        if shipping_method:
            detail["shippingMethod"] = shipping_method
        try:
            self._call(
                "confirmShipment",
                "POST",
                f"/orders/v0/orders/{_segment(order_id)}/shipmentConfirmation",
                json_body={"marketplaceId": marketplace_id, "packageDetail": detail},
                empty_ok=True,
            )
        except (BadRequestError, NotFoundError) as exc:
            details = exc.message.removeprefix("confirmShipment failed: ")
            raise ShipmentRefusedError(
                exc.message,
                details=details,
                operation=exc.operation,
                status=exc.status,
                code=exc.code,
                request_id=exc.request_id,
            ) from exc

    # ---------------------------------------------------------------------------- internals

    def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Any = None,
        restricted_path: str | None = None,
        retry_statuses: frozenset[int] = RETRY_STATUSES,
        retry_after_send: bool = True,
        empty_ok: bool = False,
    ) -> dict[str, Any]:
        """One SP-API operation; a 401/403 ``Unauthorized`` gets a new token and one repeat.
        ``empty_ok``: a success without a body (cancelReport) answers ``{}``."""
        bucket = self._limiter.bucket(self._credentials, operation, self._monotonic())
        token = self._token(restricted_path, stale=None)
        for renewed in (False, True):
            response = self._transport.send(
                operation,
                method,
                self._endpoint + path,
                log_path=path,
                headers={
                    "x-amz-access-token": token.reveal(),
                    "Accept": "application/json",
                    "Content-Type": "application/json",
                },
                params=params,
                json_body=json_body,
                bucket=bucket,
                retry_statuses=retry_statuses,
                retry_after_send=retry_after_send,
            )
            if renewed or not _token_refused(response):
                break
            logger.info("%s: access refused, retrying once with a new token", operation)
            token = self._token(restricted_path, stale=token)
        secrets = (*(secret.reveal() for secret in self._secrets), token.reveal())
        if not response.ok:
            hint = _RESTRICTED_HINT if restricted_path else _ACCESS_HINT
            raise error_for_response(response, operation, secrets, hint=hint)
        if empty_ok and not response.content.strip():
            return {}
        try:
            body = response.json()
        except (ValueError, json.JSONDecodeError):
            body = None
        if not isinstance(body, dict):
            raise SpApiError(
                f"{operation} answered with a body that is not a JSON object",
                operation=operation,
                status=response.status_code,
                request_id=response.headers.get("x-amzn-RequestId"),
            )
        return body

    def _token(self, restricted_path: str | None, *, stale: Secret | None) -> Secret:
        if restricted_path is None:
            return self._auth.access_token(stale=stale)
        return self.create_restricted_data_token(restricted_path)

    def _fatal(self, report: Report) -> ReportFatalError:
        text = None
        if report.report_document_id:
            try:
                text = self._read_error_document(report)
            except SpApiError as exc:
                logger.warning(
                    "report %s: could not read its error document: %s", report.report_id, exc
                )
        summary = " ".join((text or "").split())[:300]
        return ReportFatalError(
            f"report {report.report_id} ({report.report_type}) failed at Amazon (FATAL)"
            + (f": {summary}" if summary else "; Amazon gave no error document"),
            report_id=report.report_id,
            report_type=report.report_type,
            document_text=text,
            operation="getReport",
        )

    def _read_error_document(self, report: Report) -> str:
        assert report.report_document_id is not None
        restricted = report.report_type in RESTRICTED_REPORT_TYPES
        parts: list[str] = []
        size = 0
        with self.open_document(report.report_document_id, restricted=restricted) as stream:
            for line in stream:
                parts.append(line)
                size += len(line)
                if size >= ERROR_DOCUMENT_LIMIT:
                    break
        return "".join(parts)[:ERROR_DOCUMENT_LIMIT]


def _segment(value: str) -> str:
    """A path segment with everything but unreserved characters percent-encoded."""
    return quote(value, safe="")


def _token_refused(response: requests.Response) -> bool:
    """401, or 403 ``Unauthorized``: the token may be stale (not a missing header)."""
    if response.status_code == 401:
        return True
    return response.status_code == 403 and amazon_error(response)[0] == "Unauthorized"
