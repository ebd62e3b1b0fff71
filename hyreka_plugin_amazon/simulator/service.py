"""The ``Simulator``: its parts put together, and its HTTP server thread on a loopback port.

The parts live in their own modules: the order book (``orderbook.py``), sellers and tokens
(``sellers.py``), reports (``reportstore.py``, assembled by ``reportcontent.py``), usage plans
(``ratelimits.py``), faults (``faults.py``), and the request path (``routing.py`` with
``access.py`` and ``requestfaults.py``) that the endpoints (``api.py``, ``ordersapi.py``,
``admin.py``) sit behind.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from hyreka_plugin_amazon.simulator import reportcontent, routing, sellers
from hyreka_plugin_amazon.simulator.clock import SimClock
from hyreka_plugin_amazon.simulator.faults import FaultStore
from hyreka_plugin_amazon.simulator.orderbook import OrderBook
from hyreka_plugin_amazon.simulator.ordermodel import SimOrder
from hyreka_plugin_amazon.simulator.pagination import ListingTokens, PaginationStore
from hyreka_plugin_amazon.simulator.ratelimits import RateLimiter, Stats
from hyreka_plugin_amazon.simulator.reportstore import Report, ReportStore
from hyreka_plugin_amazon.simulator.sellers import Seller, SellerCredentials, TokenStore
from hyreka_plugin_amazon.simulator.server import SimHTTPServer
from hyreka_plugin_amazon.simulator.vocabulary import Request, Response
from hyreka_plugin_amazon.spapi import regions


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
        self.book = OrderBook(seed, lifecycle=lifecycle)
        self.lock = self.book.lock
        self.orders: dict[str, SimOrder] = self.book.orders
        self.tokens = TokenStore()
        self.reports = ReportStore()
        self.listings = ListingTokens()
        self.pages = PaginationStore()
        self.limits = RateLimiter()
        self.limits.enabled = rate_limits
        self.stats = Stats()
        self.faults = FaultStore(seed)
        for spec in faults:
            self.faults.add(spec)
        self.sellers: dict[str, Seller] = {}
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

    def dispatch(self, req: Request) -> Response | None:
        """Answer one request (None drops the connection); see ``routing.dispatch``."""
        return routing.dispatch(self, req)

    # -- sellers -----------------------------------------------------------------------------

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
        app = self.default_seller.credentials if same_app and self.sellers else None
        seller = sellers.new_seller(name, marketplaces, professional=professional, app=app)
        with self.lock:
            self.sellers[seller.seller_id] = seller
            self.book.populate(seller, seller.marketplaces, orders, self.clock.now())
        return seller

    def seller_json(self, seller: Seller) -> dict[str, Any]:
        return sellers.seller_json(seller, self.region_url(seller.region))

    def seller_by_client(self, client_id: str, client_secret: str) -> Seller | None:
        return sellers.by_client(self.sellers.values(), client_id, client_secret)

    def seller_by_refresh_token(self, client_id: str, refresh_token: str) -> Seller | None:
        return sellers.by_refresh_token(self.sellers.values(), client_id, refresh_token)

    # -- reports -----------------------------------------------------------------------------

    def create_report(
        self,
        seller_id: str,
        report_type: str,
        marketplace_ids: tuple[str, ...],
        start: datetime,
        end: datetime,
    ) -> Report:
        """A report over ``[start, end]``, its content fixed as the data stands now."""
        return reportcontent.create_report(
            self, seller_id, report_type, marketplace_ids, start, end
        )

    # -- admin actions -----------------------------------------------------------------------

    def ground_truth(
        self, seller_id: str | None = None, *, packages: bool = False
    ) -> list[dict[str, Any]]:
        """Every order with Amazon's current status, in the host's ``Order.as_dict`` shape;
        ``packages`` adds each order's confirmed packages (``GET /_simulator/orders``)."""
        return self.book.ground_truth(self.clock.now(), seller_id, packages=packages)

    def cancel_order(self, order_id: str) -> dict[str, Any]:
        """Amazon cancels the order now (only orders not shipped at all can be cancelled)."""
        return self.book.cancel(order_id, self.clock.now())

    def ship_order(self, order_id: str) -> dict[str, Any]:
        """The seller (or Amazon, for FBA) ships every item not yet shipped, now."""
        return self.book.ship(order_id, self.clock.now())

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
        return self.book.add(
            seller,
            market,
            self.clock.now(),
            status=status,
            fulfillment_channel=fulfillment_channel,
        )
