"""The simulator: its state (sellers, orders, reports, tokens, clock) and its server thread."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from hyreka_plugin_amazon.simulator import flatfiles
from hyreka_plugin_amazon.simulator.api import ROUTES, unauthorized
from hyreka_plugin_amazon.simulator.clock import SimClock
from hyreka_plugin_amazon.simulator.generator import OrderGenerator
from hyreka_plugin_amazon.simulator.orders import AmazonState, SimOrder
from hyreka_plugin_amazon.simulator.reports import Report, ReportStore, new_document
from hyreka_plugin_amazon.simulator.sellers import Seller, SellerCredentials, TokenStore
from hyreka_plugin_amazon.simulator.server import (
    ApiError,
    Request,
    Response,
    SimHTTPServer,
    json_response,
)
from hyreka_plugin_amazon.spapi.regions import marketplace


class Simulator:
    """A loopback SP-API: LWA, Sellers, Reports, Tokens, downloads and an admin API.

    ``with Simulator(orders=50, time_scale=0) as sim:`` starts it on a free port of 127.0.0.1;
    ``sim.url``, ``sim.token_url`` and ``sim.credentials`` are what a client needs.
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
    ) -> None:
        if not marketplaces:
            raise ValueError("a seller needs at least one marketplace")
        market = tuple(marketplace(code) for code in marketplaces)
        regions = {m.region for m in market}
        if len(regions) != 1:
            raise ValueError("one seller account covers the marketplaces of one region")
        self.clock = SimClock(start_time, time_scale)
        self.report_delay = timedelta(seconds=report_delay_s)
        self.lock = threading.RLock()
        self.tokens = TokenStore()
        self.reports = ReportStore()
        seller = Seller.create("Sim seller", regions.pop(), market)
        self.default_seller = seller
        self.sellers: dict[str, Seller] = {seller.seller_id: seller}
        self._generator = OrderGenerator(seed)
        generated = self._generator.generate(orders, seller.seller_id, market, self.clock.now())
        self.orders: dict[str, SimOrder] = {o.order_id: o for o in generated}
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
        allowed = False
        for candidate in ROUTES:
            match = candidate.pattern.match(req.path)
            if match is None:
                continue
            allowed = True
            if candidate.method != req.method:
                continue
            req.params = match.groupdict()
            try:
                if candidate.auth:
                    self._authenticate(req)
                return candidate.handler(self, req)
            except ApiError as exc:
                return exc.response()
        if req.path.startswith("/_simulator/"):
            reason = "method not allowed" if allowed else "no such admin endpoint"
            return json_response(405 if allowed else 404, {"error": reason})
        # Amazon's API gateway answers unknown paths and methods like a missing token
        return _missing_token().response()

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
        req.seller_id, req.token_paths = seller_id, paths

    # -- sellers and reports -----------------------------------------------------------------

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
        with self.lock:
            own = [o for o in self.orders.values() if o.seller_id == seller_id]
            chosen = flatfiles.select(report_type, own, start, end, marketplace_ids, now)
            data = list(flatfiles.rows(report_type, chosen, now))
        seller = self.sellers[seller_id]
        document = None
        if data:
            text = flatfiles.render(flatfiles.header(report_type), data)
            charset = "Cp1252" if marketplace(marketplace_ids[0]).charset == "Cp1252" else "UTF-8"
            document = new_document(seller_id, report_type, text, charset, seller.region)
        return self.reports.add(
            seller_id=seller_id,
            report_type=report_type,
            marketplace_ids=marketplace_ids,
            data_start=start,
            data_end=end,
            now=now,
            delay=self.report_delay,
            outcome="DONE" if data else "CANCELLED",
            document=document,
        )

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

    def _order(self, order_id: str) -> SimOrder:
        order = self.orders.get(order_id)
        if order is None:
            raise ApiError(404, "NotFound", "No order with this id.")
        return order


def _missing_token() -> ApiError:
    return ApiError(
        403,
        "MissingAuthenticationToken",
        "Access to requested resource is denied.",
        headers={"x-amzn-ErrorType": "MissingAuthenticationTokenException"},
    )


def _conflict(details: str) -> ApiError:
    return ApiError(409, "Conflict", "The order cannot change this way.", details)
