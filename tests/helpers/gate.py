"""A host plugin that holds a running sync at its first address until the test opens it."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Literal

from hyreka_plugin_amazon.contract import Account, Address
from hyreka_plugin_amazon.hookspecs import hookimpl

WAIT_S = 30


class Gate:
    """A host plugin that holds a running sync at its first address until opened."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.opened = threading.Event()

    @hookimpl(tryfirst=True)
    def map_address(
        self, row: Mapping[str, str | None], kind: Literal["billing", "shipping"], account: Account
    ) -> Address | None:
        self.entered.set()
        assert self.opened.wait(WAIT_S), "the test never opened the gate"
        return None  # the connector's own mapping answers
