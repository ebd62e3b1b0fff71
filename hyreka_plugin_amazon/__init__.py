"""Amazon (SP-API) connector for the Hyreka Warenwirtschaft."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hyreka_plugin_amazon.hookspecs import hookimpl

__all__ = ["__version__", "hookimpl"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """``hookimpl`` from ``hookspecs``, imported when a plugin asks for it: importing a module
    of this package (the reference host's ``--version``) loads no pluggy and no contract."""
    if name == "hookimpl":
        from hyreka_plugin_amazon.hookspecs import hookimpl

        return hookimpl
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
