"""The names German sellers use for carriers, mapped to Amazon's carrier codes.

Amazon's own list (and its source) is ``spapi/carriers.py``; the simulator checks against the
same list. In DE, FR and ES Amazon's valid-tracking rate counts only when the code is Amazon's
own, so only those spellings are ever sent.
"""

from __future__ import annotations

import difflib
from typing import Final

from hyreka_plugin_amazon.spapi.carriers import CARRIER_CODES, OTHER

__all__ = ["ALIASES", "CARRIER_CODES", "OTHER", "UnknownCarrierError", "carrier_code", "closest"]

# What sellers and ERPs write for a carrier, lower case, to Amazon's code.
ALIASES: Final[dict[str, str]] = {
    "dhl paket": "DHL",
    "dhl parcel": "DHL",
    "dhl de": "DHL",
    "dhl germany": "DHL",
    "deutsche post dhl": "DHL",
    "dhl express": "DHL",
    "dhl warenpost": "Deutsche Post",
    "warenpost": "Deutsche Post",
    "post": "Deutsche Post",
    "deutschepost": "Deutsche Post",
    "dp": "Deutsche Post",
    "brief": "Deutsche Post",
    "dpd deutschland": "DPD",
    "dpd germany": "DPD",
    "hermes": "Hermes Logistik Gruppe",
    "hermes germany": "Hermes Logistik Gruppe",
    "hermes deutschland": "Hermes Logistik Gruppe",
    "myhermes": "Hermes Logistik Gruppe",
    "hlg": "Hermes Logistik Gruppe",
    "gls germany": "GLS",
    "gls deutschland": "GLS",
    "go": "GO!",
    "general overnight": "GO!",
    "ups deutschland": "UPS",
    "ups standard": "UPS",
    "fedex express": "FedEx",
    "federal express": "FedEx",
    "tnt express": "TNT",
    "colissimo": "La Poste",
    "sonstige": OTHER,
    "andere": OTHER,
    "other": OTHER,
}

_BY_LOWER: Final = {code.lower(): code for code in CARRIER_CODES}


class UnknownCarrierError(ValueError):
    """A carrier neither Amazon nor our table knows; ``suggestions`` are the closest codes."""

    def __init__(self, carrier: str, suggestions: tuple[str, ...]) -> None:
        names = ", ".join(suggestions) or ", ".join(CARRIER_CODES[:8])
        super().__init__(f"unknown carrier {carrier!r}; closest known: {names}")
        self.carrier = carrier
        self.suggestions = suggestions


def carrier_code(carrier: str) -> str:
    """Amazon's code for ``carrier`` (a code in any case, or a known alias).

    UnknownCarrierError names the closest known codes.
    """
    key = " ".join(carrier.split()).lower()
    if not key:
        raise UnknownCarrierError(carrier, ())
    found = _BY_LOWER.get(key) or ALIASES.get(key)
    if found is not None:
        return found
    raise UnknownCarrierError(carrier, closest(carrier))


def closest(carrier: str, count: int = 3) -> tuple[str, ...]:
    """Up to ``count`` known carrier codes that look most like ``carrier``."""
    key = " ".join(carrier.split()).lower()
    names = list(_BY_LOWER) + list(ALIASES)
    matches = difflib.get_close_matches(key, names, n=count * 3, cutoff=0.5)
    found: list[str] = []
    for match in matches:
        code = _BY_LOWER.get(match) or ALIASES[match]
        if code not in found:
            found.append(code)
    if len(found) < count:  # a prefix ("dh" -> DHL) is close too
        for code in CARRIER_CODES:
            if code.lower().startswith(key[:2]) and code not in found:
                found.append(code)
    return tuple(found[:count])
