"""The simulator's state: everything the simulated Amazon knows, in one object.

The handlers (``api.py``, ``ordersapi.py``, ``admin.py``...) receive a ``SimulatorState``, not
the ``Simulator``: they read and change the orders, sellers, tokens, reports, page tokens,
usage plans, statistics, feeds and faults kept here. The ``Simulator`` (``service.py``) builds it,
serves it over HTTP and passes its admin actions through to it.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from hyreka_plugin_amazon.simulator import sellers as sellers_
from hyreka_plugin_amazon.simulator.clock import SimClock
from hyreka_plugin_amazon.simulator.consents import Consents
from hyreka_plugin_amazon.simulator.faults import FaultStore
from hyreka_plugin_amazon.simulator.feedstore import FeedStore
from hyreka_plugin_amazon.simulator.orderbook import OrderBook
from hyreka_plugin_amazon.simulator.ordermodel import SimOrder
from hyreka_plugin_amazon.simulator.pagination import ListingTokens, PaginationStore
from hyreka_plugin_amazon.simulator.ratelimits import RateLimiter, Stats
from hyreka_plugin_amazon.simulator.reportstore import ReportStore
from hyreka_plugin_amazon.simulator.sellers import Seller, TokenStore
from hyreka_plugin_amazon.spapi import regions


@dataclass(eq=False, repr=False)  # it holds credentials and personal data: no repr
class SimulatorState:
    """The simulated Amazon: its clock, order book, sellers, stores, usage plans and faults.

    ``lock`` (the order book's) guards the orders and every change to them.
    """

    clock: SimClock
    book: OrderBook
    faults: FaultStore
    limits: RateLimiter
    default_seller: Seller
    consents: Consents  # the vendor's app of the website authorization workflow, its codes
    report_delay: timedelta = timedelta(seconds=2)
    report_lag: timedelta = timedelta(0)  # reports show the orders as they stood this long ago
    sellers: dict[str, Seller] = field(default_factory=dict)
    tokens: TokenStore = field(default_factory=TokenStore)
    reports: ReportStore = field(default_factory=ReportStore)
    feeds: FeedStore = field(default_factory=FeedStore)
    listings: ListingTokens = field(default_factory=ListingTokens)
    pages: PaginationStore = field(default_factory=PaginationStore)
    stats: Stats = field(default_factory=Stats)
    url: str = ""  # the SP-API base URL while the server runs (``Simulator.start`` sets it)

    @property
    def lock(self) -> threading.RLock:
        return self.book.lock

    @property
    def orders(self) -> dict[str, SimOrder]:
        return self.book.orders

    @property
    def lifecycle(self) -> bool:
        return self.book.lifecycle

    # -- sellers -----------------------------------------------------------------------------

    def enroll(self, seller: Seller, orders: int) -> None:
        """Add ``seller`` with ``orders`` generated orders (and more to come with a life cycle)."""
        with self.lock:
            self.sellers[seller.seller_id] = seller
            self.book.populate(seller, seller.marketplaces, orders, self.clock.now())

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
        app = self.default_seller.credentials if same_app else None
        seller = sellers_.new_seller(name, marketplaces, professional=professional, app=app)
        self.enroll(seller, orders)
        return seller

    def region_url(self, region: str) -> str:
        """The base URL of one region's host (see ``Simulator.region_url``)."""
        if not self.url:
            raise RuntimeError("the simulator is not running; call start() first")
        return f"{self.url}/{region}"

    def seller_json(self, seller: Seller) -> dict[str, Any]:
        return sellers_.seller_json(seller, self.region_url(seller.region))

    def seller_by_client(self, client_id: str, client_secret: str) -> Seller | None:
        return sellers_.by_client(self.sellers.values(), client_id, client_secret)

    def seller_by_refresh_token(self, client_id: str, refresh_token: str) -> Seller | None:
        """The seller who gave this refresh token to the app: its own, or one a consent
        issued (the website authorization workflow)."""
        seller = sellers_.by_refresh_token(self.sellers.values(), client_id, refresh_token)
        if seller is None:
            seller_id = self.consents.seller_of_refresh_token(client_id, refresh_token)
            seller = self.sellers.get(seller_id) if seller_id is not None else None
        return seller

    # -- admin actions -----------------------------------------------------------------------

    def ground_truth(
        self, seller_id: str | None = None, *, packages: bool = False, invoices: bool = False
    ) -> list[dict[str, Any]]:
        """Every order with Amazon's current status, in the host's ``Order.as_dict`` shape;
        ``packages`` adds each order's confirmed packages, ``invoices`` the invoices and
        credit notes Amazon accepted for it."""
        now = self.clock.now()
        orders = self.book.ground_truth(now, seller_id, packages=packages)
        if invoices:
            accepted: dict[str, list[dict[str, Any]]] = {}
            for invoice in self.feeds.invoices(now):
                accepted.setdefault(invoice.order_id, []).append(invoice.as_json())
            for order in orders:
                order["invoices"] = accepted.get(order["amazon_order_id"], [])
        return orders

    def cancel_order(self, order_id: str) -> dict[str, Any]:
        """Amazon cancels the order now (only orders not shipped at all can be cancelled)."""
        return self.book.cancel(order_id, self.clock.now())

    def ship_order(self, order_id: str, items: Collection[str] | None = None) -> dict[str, Any]:
        """The seller (or Amazon, for FBA) ships every item not yet shipped (or ``items``),
        now, without a package."""
        return self.book.ship(order_id, self.clock.now(), items)

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
