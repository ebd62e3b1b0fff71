"""A loopback SP-API simulator for tests, the demo and benchmarks (stdlib HTTP server)."""

from hyreka_plugin_amazon.simulator.clock import SimClock
from hyreka_plugin_amazon.simulator.core import Simulator
from hyreka_plugin_amazon.simulator.sellers import SellerCredentials

__all__ = ["SellerCredentials", "SimClock", "Simulator"]
