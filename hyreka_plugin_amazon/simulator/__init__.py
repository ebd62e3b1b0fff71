"""A loopback SP-API simulator for tests, the demo and benchmarks (stdlib HTTP server).

``Simulator`` (``service.py``) puts the parts together; each module's docstring says what it holds.
"""

from hyreka_plugin_amazon.simulator.clock import SimClock
from hyreka_plugin_amazon.simulator.orderbook import open_for_seller
from hyreka_plugin_amazon.simulator.sellers import SellerCredentials
from hyreka_plugin_amazon.simulator.service import Simulator

__all__ = ["SellerCredentials", "SimClock", "Simulator", "open_for_seller"]
