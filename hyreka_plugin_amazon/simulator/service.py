"""The ``Simulator``: the simulator's public face, and its HTTP server thread on a loopback port.

It builds the state (``state.py``: the order book, sellers and tokens, reports, page tokens,
usage plans, faults), serves it with the threaded server (``server.py``) through the request
path (``routing.py`` with ``access.py`` and ``requestfaults.py``) that the endpoints
(``api.py``, ``ordersapi.py``, ``admin.py``...) sit behind, and passes its own admin actions
through to the state.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from hyreka_plugin_amazon.simulator import reportcontent, routing, sellers
from hyreka_plugin_amazon.simulator.clock import SimClock
from hyreka_plugin_amazon.simulator.consents import CODE_LIFETIME_S, Consents
from hyreka_plugin_amazon.simulator.faults import FaultStore
from hyreka_plugin_amazon.simulator.orderbook import OrderBook
from hyreka_plugin_amazon.simulator.ordermodel import SimOrder
from hyreka_plugin_amazon.simulator.pagination import ListingTokens, PaginationStore
from hyreka_plugin_amazon.simulator.ratelimits import RateLimiter, Stats
from hyreka_plugin_amazon.simulator.reportstore import Report, ReportStore
from hyreka_plugin_amazon.simulator.sellers import Seller, SellerCredentials, TokenStore
from hyreka_plugin_amazon.simulator.server import SimHTTPServer
from hyreka_plugin_amazon.simulator.state import SimulatorState
from hyreka_plugin_amazon.simulator.vocabulary import Request, Response
from hyreka_plugin_amazon.spapi import regions


class Simulator:
    """A loopback SP-API: LWA, Sellers, Reports, Tokens, Orders, Feeds (the VAT invoice feed),
    downloads and uploads, and an admin API.

    ``with Simulator(orders=50, time_scale=0) as sim:`` starts it on a free port of 127.0.0.1;
    ``sim.url``, ``sim.token_url`` and ``sim.credentials`` are what a client needs;
    ``sim.region_url("na")`` is a regional host that serves only that region's sellers.
    ``lifecycle=True`` lets orders move on as the clock runs (payments, shipments,
    cancellations, new orders over the next 14 days); by default they stand still.
    ``rate_limits=False`` switches Amazon's usage plans off; ``faults`` are specifications
    as ``POST /_simulator/faults`` takes them. ``report_lag_minutes`` makes reports lag: they
    show the orders as they stood that many simulated minutes ago (an order appears in them
    that long after it was placed or last changed). ``application_id`` is the vendor's app
    of the website authorization workflow (its LWA client is the default seller's); its
    codes live ``auth_code_lifetime_s`` seconds of wall time (Amazon: five minutes).
    """

    def __init__(
        self,
        *,
        orders: int = 200,
        seed: int = 1,
        marketplaces: Sequence[str] = ("DE", "FR", "IT", "ES", "UK"),
        time_scale: float = 1.0,
        report_delay_s: float = 2.0,
        report_lag_minutes: float = 0.0,
        start_time: datetime | None = None,
        port: int = 0,
        lifecycle: bool = False,
        rate_limits: bool = True,
        faults: Sequence[Mapping[str, Any]] = (),
        auth_code_lifetime_s: float = CODE_LIFETIME_S,
    ) -> None:
        if not marketplaces:
            raise ValueError("a seller needs at least one marketplace")
        if report_delay_s < 0:
            raise ValueError("report_delay_s must not be negative")
        if report_lag_minutes < 0:
            raise ValueError("report_lag_minutes must not be negative")
        clock = SimClock(start_time, time_scale)
        book = OrderBook(seed, lifecycle=lifecycle)
        limits = RateLimiter()
        limits.enabled = rate_limits
        fault_store = FaultStore(seed)
        for spec in faults:
            fault_store.add(spec)
        default_seller = sellers.new_seller("Sim seller", marketplaces)
        self.state = SimulatorState(
            clock=clock,
            book=book,
            faults=fault_store,
            limits=limits,
            default_seller=default_seller,
            # the vendor's app is the default seller's (its LWA client id and secret)
            consents=Consents(
                default_seller.credentials.client_id, code_lifetime_s=auth_code_lifetime_s
            ),
            report_delay=timedelta(seconds=report_delay_s),
            report_lag=timedelta(minutes=report_lag_minutes),
        )
        self.state.enroll(default_seller, orders)
        self._port = port
        self._server: SimHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- the state's parts (the handlers see them through ``state``) --------------------------

    @property
    def clock(self) -> SimClock:
        return self.state.clock

    @property
    def report_delay(self) -> timedelta:
        return self.state.report_delay

    @property
    def report_lag(self) -> timedelta:
        return self.state.report_lag

    @property
    def lifecycle(self) -> bool:
        return self.state.lifecycle

    @property
    def book(self) -> OrderBook:
        return self.state.book

    @property
    def lock(self) -> threading.RLock:
        return self.state.lock

    @property
    def orders(self) -> dict[str, SimOrder]:
        return self.state.orders

    @property
    def tokens(self) -> TokenStore:
        return self.state.tokens

    @property
    def reports(self) -> ReportStore:
        return self.state.reports

    @property
    def listings(self) -> ListingTokens:
        return self.state.listings

    @property
    def pages(self) -> PaginationStore:
        return self.state.pages

    @property
    def limits(self) -> RateLimiter:
        return self.state.limits

    @property
    def stats(self) -> Stats:
        return self.state.stats

    @property
    def faults(self) -> FaultStore:
        return self.state.faults

    @property
    def sellers(self) -> dict[str, Seller]:
        return self.state.sellers

    @property
    def default_seller(self) -> Seller:
        return self.state.default_seller

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
            self.state.url = self.url
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
            self.state.url = ""

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
    def consents(self) -> Consents:
        return self.state.consents

    @property
    def application_id(self) -> str:
        """The vendor's app id for the consent page (``SPAPI_APP_ID``)."""
        return self.state.consents.application_id

    def consent_url(self, region: str | None = None) -> str:
        """Seller Central's consent page (of one region's host: its sellers consent there)."""
        base = self.region_url(region) if region else self.url
        return f"{base}/apps/authorize/consent"

    @property
    def token_url(self) -> str:
        return f"{self.url}/auth/o2/token"

    @property
    def credentials(self) -> SellerCredentials:
        """The default seller's LWA client id, client secret and refresh token."""
        return self.default_seller.credentials

    def dispatch(self, req: Request) -> Response | None:
        """Answer one request (None drops the connection); see ``routing.dispatch``."""
        return routing.dispatch(self.state, req)

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
        return self.state.add_seller(
            marketplaces=marketplaces,
            orders=orders,
            professional=professional,
            same_app=same_app,
            name=name,
        )

    def seller_json(self, seller: Seller) -> dict[str, Any]:
        return self.state.seller_json(seller)

    def seller_by_client(self, client_id: str, client_secret: str) -> Seller | None:
        return self.state.seller_by_client(client_id, client_secret)

    def seller_by_refresh_token(self, client_id: str, refresh_token: str) -> Seller | None:
        return self.state.seller_by_refresh_token(client_id, refresh_token)

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
            self.state, seller_id, report_type, marketplace_ids, start, end
        )

    # -- admin actions -----------------------------------------------------------------------

    def ground_truth(
        self, seller_id: str | None = None, *, packages: bool = False, invoices: bool = False
    ) -> list[dict[str, Any]]:
        """Every order with Amazon's current status, in the host's ``Order.as_dict`` shape;
        ``packages`` adds each order's confirmed packages, ``invoices`` its accepted invoices
        and credit notes (both: ``GET /_simulator/orders``)."""
        return self.state.ground_truth(seller_id, packages=packages, invoices=invoices)

    def cancel_order(self, order_id: str) -> dict[str, Any]:
        """Amazon cancels the order now (only orders not shipped at all can be cancelled)."""
        return self.state.cancel_order(order_id)

    def ship_order(self, order_id: str, items: Collection[str] | None = None) -> dict[str, Any]:
        """The seller (or Amazon, for FBA) ships every item not yet shipped (or only the order
        items ``items``), now, without a package, as in Seller Central."""
        return self.state.ship_order(order_id, items)

    def add_order(
        self,
        *,
        status: str = "open",
        marketplace: str | None = None,
        seller_id: str | None = None,
        fulfillment_channel: str | None = None,
    ) -> dict[str, Any]:
        """A new generated order placed now, in the host ``status`` asked for."""
        return self.state.add_order(
            status=status,
            marketplace=marketplace,
            seller_id=seller_id,
            fulfillment_channel=fulfillment_channel,
        )
