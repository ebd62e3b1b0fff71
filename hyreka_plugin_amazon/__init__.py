"""Amazon (SP-API) connector for the Hyreka Warenwirtschaft."""

from hyreka_plugin_amazon.hookspecs import hookimpl

__all__ = ["__version__", "hookimpl"]
__version__ = "0.1.0"
