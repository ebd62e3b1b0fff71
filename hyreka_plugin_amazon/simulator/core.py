"""The simulator: its state (sellers, orders, reports, tokens, clock) and its server thread."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from hyreka_plugin_amazon.simulator import admin, api, flatfiles, ordersapi
from hyreka_plugin_amazon.simulator.api import unauthorized
from hyreka_plugin_amazon.simulator.clock import SimClock
from hyreka_plugin_amazon.simulator.faults import REQUEST_FAULTS, FaultStore
from hyreka_plugin_amazon.simulator.generator import OrderGenerator
from hyreka_plugin_amazon.simulator.orders import AmazonState, SimOrder
from hyreka_plugin_amazon.simulator.ordersapi import PaginationStore
from hyreka_plugin_amazon.simulator.ratelimits import RateLimiter, Stats, limit_header
from hyreka_plugin_amazon.simulator.reports import Document, Report, ReportStore, new_document
from hyreka_plugin_amazon.simulator.sellers import Seller, SellerCredentials, TokenStore
from hyreka_plugin_amazon.simulator.server import (
    ApiError,
    Request,
    Response,
    Route,
    SimHTTPServer,
    json_response,
)
from hyreka_plugin_amazon.spapi import regions
from hyreka_plugin_amazon.spapi.regions import Marketplace

ROUTES: tuple[Route, ...] = api.ROUTES + ordersapi.ROUTES + admin.ROUTES
# ``{url}/eu`` etc. stand for the regional hosts: a token of another region's seller is refused
REGION_PREFIX = re.compile(rf"^/({'|'.join(regions.REGIONS)})(/.*)$")
LIMIT_HEADER_STATUSES = frozenset({200, 201, 202, 400, 404})  # never on 429, 401 or 403


class Simulator:
    """A loopback SP-API: LWA, Sellers, Reports, Tokens, Orders, downloads and an admin API.

    ``with Simulator(orders=50, time_scale=0) as sim:`` starts it on a free port of 127.0.0.1;
    ``sim.url``, ``sim.token_url`` and ``sim.credentials`` are what a client needs;
    ``sim.region_url("na")`` is a regional host that serves only that region's sellers.
    ``lifecycle=True`` lets orders move on as the clock runs (payments, shipments,
    cancellations, new orders over the next 14 days); by default they stand still.
    ``rate_limits=False`` switches Amazon's usage plans off; ``faults`` are specifications
    as ``POST /_simulator/faults`` takes them.
    """

    def __init__(
        self,
        *,
        orders: int = 200,
        seed: int = 1,
        marketplaces: Sequence[str] = ("DE", "FR", "IT", "ES", "UK"),
        time_scale: float = 1.0,
        report_delay_s: float = 2.0,
        start_time: datetime | None = None,
        port: int = 0,
        lifecycle: bool = False,
        rate_limits: bool = True,
        faults: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        if not marketplaces:
            raise ValueError("a seller needs at least one marketplace")
        if report_delay_s < 0:
            raise ValueError("report_delay_s must not be negative")
        self.clock = SimClock(start_time, time_scale)
        self.report_delay = timedelta(seconds=report_delay_s)
        self.lifecycle = lifecycle
        self.lock = threading.RLock()
        self.tokens = TokenStore()
        self.reports = ReportStore()
        self.pages = PaginationStore()
        self.limits = RateLimiter()
        self.limits.enabled = rate_limits
        self.stats = Stats()
        self.faults = FaultStore(seed)
        for spec in faults:
            self.faults.add(spec)
        self.sellers: dict[str, Seller] = {}
        self.orders: dict[str, SimOrder] = {}
        self._generator = OrderGenerator(seed)
        self.default_seller = self.add_seller(marketplaces=marketplaces, orders=orders)
        self._port = port
        self._server: SimHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> Simulator:
        if self._server is None:
            self._server = SimHTTPServer(("127.0.0.1", self._port), self)
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="spapi-simulator",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            if self._thread is not None:
                self._thread.join()
            self._server = None
            self._thread = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The SP-API base URL, e.g. ``http://127.0.0.1:41234``."""
        if self._server is None:
            raise RuntimeError("the simulator is not running; call start() first")
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def region_url(self, region: str) -> str:
        """The SP-API base URL of one region (``eu``, ``na``, ``fe``): like Amazon's regional
        hosts it refuses tokens of sellers of another region. ``url`` serves every region."""
        if region not in regions.REGIONS:
            raise ValueError(f"unknown region {region!r}")
        return f"{self.url}/{region}"

    @property
    def token_url(self) -> str:
        return f"{self.url}/auth/o2/token"

    @property
    def credentials(self) -> SellerCredentials:
        """The default seller's LWA client id, client secret and refresh token."""
        return self.default_seller.credentials

    # -- requests ----------------------------------------------------------------------------

    def dispatch(self, req: Request) -> Response | None:
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
            response = self._serve(candidate, req)
            if not candidate.operation.startswith("_"):
                status = response.status if response is not None else 0
                self.stats.record(req.seller_id, candidate.operation, status)
            return response
        if req.path.startswith("/_simulator/"):
            reason = "method not allowed" if allowed else "no such admin endpoint"
            return json_response(405 if allowed else 404, {"error": reason})
        # Amazon's API gateway answers unknown paths and methods like a missing token
        return _missing_token().response()

    def _serve(self, candidate: Route, req: Request) -> Response | None:
        operation = candidate.operation
        try:
            if candidate.auth:
                self._authenticate(req)
            admin_call = operation.startswith("_")
            for name in () if admin_call else REQUEST_FAULTS:
                fault = self.faults.fire(name, seller_id=req.seller_id, operation=operation)
                if fault is None:
                    continue
                if name == "drop_connection":
                    return None
                if name == "slow_response":
                    time.sleep(fault.params["delay"])
                    continue
                if name == "token_expired":
                    self.tokens.revoke_access_tokens(req.seller_id)
                    raise unauthorized()
                raise ApiError(*_FAULT_ERRORS[name], "")
            if candidate.auth and not self.limits.allow(req.seller_id, operation, self.clock.now()):
                raise _quota_exceeded()
            response = candidate.handler(self, req)
        except ApiError as exc:
            response = exc.response()
        header = limit_header(operation)
        if header and response.status in LIMIT_HEADER_STATUSES:
            response.headers["x-amzn-RateLimit-Limit"] = header
        return response

    def _authenticate(self, req: Request) -> None:
        token = req.headers.get("x-amz-access-token")
        if not token:
            raise _missing_token()
        found = self.tokens.lookup(token, self.clock.now())
        if found is None:
            raise unauthorized()
        seller_id, paths = found
        if paths and (req.method, req.path) not in paths:  # an RDT opens only its resources
            raise unauthorized()
        if req.region and req.region != self.sellers[seller_id].region:
            raise unauthorized()  # e.g. a European seller's token at the North American host
        req.seller_id, req.token_paths = seller_id, paths
        if not self.sellers[seller_id].professional:
            raise ApiError(
                403,
                "Unauthorized",
                "Access to requested resource is denied.",
                "The selling partner account is an Individual account; the Selling Partner API "
                "is available to Professional selling accounts only.",
            )

    # -- sellers and reports -----------------------------------------------------------------

    def add_seller(
        self,
        *,
        marketplaces: Sequence[str],
        orders: int = 20,
        professional: bool = True,
        same_app: bool = False,
        name: str = "Sim seller",
    ) -> Seller:
        """A further seller account (own refresh token, buckets and orders) in one region.

        ``same_app`` makes it authorise the default seller's app (same client id and secret).
        """
        if not marketplaces:
            raise ValueError("a seller needs at least one marketplace")
        market = tuple(regions.marketplace(code) for code in marketplaces)
        seller_regions = {m.region for m in market}
        if len(seller_regions) != 1:
            raise ValueError("one seller account covers the marketplaces of one region")
        seller = Seller.create(name, seller_regions.pop(), market, professional=professional)
        if same_app and self.sellers:
            app = self.default_seller.credentials
            seller.credentials = replace(
                seller.credentials, client_id=app.client_id, client_secret=app.client_secret
            )
        self._populate(seller, market, orders)
        return seller

    def _populate(self, seller: Seller, market: tuple[Marketplace, ...], count: int) -> None:
        now = self.clock.now()
        generate = self._generator.generate
        with self.lock:
            self.sellers[seller.seller_id] = seller
            orders = generate(count, seller.seller_id, market, now, settle=not self.lifecycle)
            if self.lifecycle:  # orders still to come, one count over the next 14 days
                orders += generate(
                    count, seller.seller_id, market, now + timedelta(days=14), settle=False
                )
            self.orders.update((o.order_id, o) for o in orders)

    def seller_json(self, seller: Seller) -> dict[str, Any]:
        creds = seller.credentials
        return {
            "seller_id": seller.seller_id,
            "name": seller.name,
            "region": seller.region,
            "marketplace_ids": [m.id for m in seller.marketplaces],
            "professional": seller.professional,
            "endpoint": self.region_url(seller.region),
            "credentials": {
                "client_id": creds.client_id,
                "client_secret": creds.client_secret,
                "refresh_token": creds.refresh_token,
            },
        }

    def seller_by_client(self, client_id: str, client_secret: str) -> Seller | None:
        for seller in self.sellers.values():
            creds = seller.credentials
            if creds.client_id == client_id and creds.client_secret == client_secret:
                return seller
        return None

    def seller_by_refresh_token(self, client_id: str, refresh_token: str) -> Seller | None:
        for seller in self.sellers.values():
            creds = seller.credentials
            if creds.client_id == client_id and creds.refresh_token == refresh_token:
                return seller
        return None

    def create_report(
        self,
        seller_id: str,
        report_type: str,
        marketplace_ids: tuple[str, ...],
        start: datetime,
        end: datetime,
    ) -> Report:
        """A report over ``[start, end]``, its content fixed as the data stands now."""
        now = self.clock.now()
        outcome, document = self._report_content(
            seller_id, report_type, marketplace_ids, start, end
        )
        return self.reports.add(
            seller_id=seller_id,
            report_type=report_type,
            marketplace_ids=marketplace_ids,
            data_start=start,
            data_end=end,
            now=now,
            delay=self.report_delay,
            outcome=outcome,
            document=document,
        )

    def _report_content(
        self,
        seller_id: str,
        report_type: str,
        marketplace_ids: tuple[str, ...],
        start: datetime,
        end: datetime,
    ) -> tuple[str, Document | None]:
        """The terminal status and the document, with any report faults applied."""
        seller = self.sellers[seller_id]
        charset = (
            "Cp1252" if regions.marketplace(marketplace_ids[0]).charset == "Cp1252" else "UTF-8"
        )

        def fire(name: str) -> Any:
            return self.faults.fire(
                name, seller_id=seller_id, operation="createReport", report_type=report_type
            )

        if report_type in flatfiles.ORDER_REPORT_TYPES and fire("order_reports_not_enabled"):
            return "FATAL", None
        fatal = fire("report_fatal")
        if fatal:
            text = fatal.params["message"] + "\n"
            return "FATAL", new_document(seller_id, report_type, text, "UTF-8", seller.region)
        if fire("report_cancelled"):
            return "CANCELLED", None
        now = self.clock.now()
        with self.lock:
            own = [o for o in self.orders.values() if o.seller_id == seller_id]
            chosen = flatfiles.select(report_type, own, start, end, marketplace_ids, now)
            data = list(flatfiles.rows(report_type, chosen, now))
        if fire("header_only"):
            data = []
        elif not data:
            return "CANCELLED", None
        billing = not (report_type == flatfiles.INVOICING and fire("billing_columns_disabled"))
        malformed = fire("malformed_rows")
        kinds = set(malformed.params["kinds"].split("+")) if malformed else set()
        if kinds:
            id_column = "amazon-order-id" if report_type == flatfiles.ALL_ORDERS else "order-id"
            data = flatfiles.malform(data, kinds, id_column)
        newline = "\r\n" if "crlf" in kinds else "\n"
        text = flatfiles.render(
            flatfiles.header(report_type, billing=billing), data, newline=newline
        )
        bom = "bom" in kinds
        return "DONE", new_document(seller_id, report_type, text, charset, seller.region, bom=bom)

    # -- admin -------------------------------------------------------------------------------

    def ground_truth(self, seller_id: str | None = None) -> list[dict[str, Any]]:
        """Every order with Amazon's current status, in the host's ``Order.as_dict`` shape."""
        now = self.clock.now()
        with self.lock:
            orders = [
                o for o in self.orders.values() if seller_id is None or o.seller_id == seller_id
            ]
            orders.sort(key=lambda o: (o.purchase_date, o.order_id))
            return [o.host_order(now).as_dict() for o in orders if o.purchase_date <= now]

    def cancel_order(self, order_id: str) -> dict[str, Any]:
        """Amazon cancels the order now (only orders not shipped at all can be cancelled)."""
        now = self.clock.now()
        with self.lock:
            order = self._order(order_id)
            if order.state(now) not in (AmazonState.PENDING, AmazonState.UNSHIPPED):
                raise _conflict(f"an order in state {order.state(now).value} cannot be cancelled")
            order.cancelled_at = now
            return order.host_order(now).as_dict()

    def ship_order(self, order_id: str) -> dict[str, Any]:
        """The seller (or Amazon, for FBA) ships every item not yet shipped, now."""
        now = self.clock.now()
        with self.lock:
            order = self._order(order_id)
            state = order.state(now)
            if state not in (AmazonState.UNSHIPPED, AmazonState.PARTIALLY_SHIPPED):
                raise _conflict(f"an order in state {state.value} cannot be shipped")
            for item in order.items:
                if not item.shipped(now):
                    item.shipped_at = now
            return order.host_order(now).as_dict()

    def add_order(
        self,
        *,
        status: str = "open",
        marketplace: str | None = None,
        seller_id: str | None = None,
        fulfillment_channel: str | None = None,
    ) -> dict[str, Any]:
        """A new generated order placed now, in the host ``status`` asked for."""
        seller = self.sellers.get(seller_id or self.default_seller.seller_id)
        if seller is None:
            raise ValueError(f"no seller {seller_id}")
        market = seller.marketplaces[0] if marketplace is None else regions.marketplace(marketplace)
        if market not in seller.marketplaces:
            raise ValueError(f"the seller does not sell in {marketplace}")
        if status not in ("pending", "open", "shipped", "cancelled"):
            raise ValueError("status must be pending, open, shipped or cancelled")
        if fulfillment_channel not in (None, "MFN", "AFN"):
            raise ValueError("fulfillment_channel must be MFN or AFN")
        now = self.clock.now()
        with self.lock:
            order = self._generator.order(seller.seller_id, market, now)
            if fulfillment_channel is not None:
                order.fulfillment_channel = "AFN" if fulfillment_channel == "AFN" else "MFN"
            if status != "pending":
                order.payments_date = order.purchase_date
            if status == "shipped":
                for item in order.items:
                    item.shipped_at = now
            if status == "cancelled":
                order.cancelled_at = now
            self.orders[order.order_id] = order
            return order.host_order(now).as_dict()

    def _order(self, order_id: str) -> SimOrder:
        order = self.orders.get(order_id)
        if order is None or order.purchase_date > self.clock.now():  # not yet placed
            raise ApiError(404, "NotFound", "No order with this id.")
        return order


def _missing_token() -> ApiError:
    return ApiError(
        403,
        "MissingAuthenticationToken",
        "Access to requested resource is denied.",
        headers={"x-amzn-ErrorType": "MissingAuthenticationTokenException"},
    )


def _quota_exceeded() -> ApiError:
    return ApiError(*_FAULT_ERRORS["throttle"], "")


_FAULT_ERRORS: dict[str, tuple[int, str, str]] = {
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


def _conflict(details: str) -> ApiError:
    return ApiError(409, "Conflict", "The order cannot change this way.", details)
