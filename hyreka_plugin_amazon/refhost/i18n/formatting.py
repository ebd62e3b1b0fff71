"""Amounts and times as a seller reads them, one way for every face (the CLI and the console).

- ``money``: ``9,90 €`` in German, ``€9.90`` in English; a currency without a symbol by its
  code (``9,90 SEK``, ``SEK 9.90`` would be a second way: ``9.90 SEK``).
- ``seller_zone``: the seller's time zone, ``HYREKA_TZ`` (an IANA name such as
  ``Europe/Vienna``), else Europe/Berlin. The store keeps UTC; faces show local times.
- ``local_time``/``local_date``: a stored (aware) datetime in that zone, labelled with the
  zone's abbreviation in the language (``MEZ``/``MESZ`` in German, ``CET``/``CEST`` in
  English; other zones as the time zone database names them).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ZONE_ENV: Final = "HYREKA_TZ"
DEFAULT_ZONE: Final = "Europe/Berlin"
SYMBOLS: Final = {"EUR": "€", "GBP": "£", "USD": "$", "JPY": "¥"}
# The zone abbreviations German readers know (the time zone database has the English ones).
GERMAN_ABBREVIATIONS: Final = {"CET": "MEZ", "CEST": "MESZ", "WET": "WEZ", "WEST": "WESZ"}
_MONTHS_EN: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun",
                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")  # fmt: skip


def money(amount: Decimal | None, currency: str | None, lang: str = "de") -> str:
    """``22,49 €`` (German), ``€22.49`` (English), thousands grouped (``1.234,50 €``,
    ``€1,234.50``); a currency without a symbol after the amount, none without a currency;
    an amount the report did not have (None) ``-``."""
    if amount is None:
        return "-"
    text = f"{abs(amount):,.2f}"
    if lang == "de":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    sign = "-" if amount < 0 else ""
    symbol = SYMBOLS.get(currency or "", currency or "")
    if not symbol:
        return f"{sign}{text}"
    if lang == "de" or symbol == currency:
        return f"{sign}{text} {symbol}"
    return f"{sign}{symbol}{text}"


def seller_zone(env: Mapping[str, str] = os.environ) -> ZoneInfo:
    """The zone of ``HYREKA_TZ`` (ValueError when it names none), else Europe/Berlin."""
    name = env.get(ZONE_ENV, "").strip() or DEFAULT_ZONE
    return zone_named(name)


def zone_named(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ValueError (saying what was wrong) when there is none."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name, e.g. Europe/Berlin)") from None


def zone_abbreviation(moment: datetime, lang: str) -> str:
    """``MEZ``/``MESZ`` (German) or ``CET``/``CEST`` of an aware local datetime."""
    name = moment.tzname() or ""
    return GERMAN_ABBREVIATIONS.get(name, name) if lang == "de" else name


def local_time(
    value: datetime | None, lang: str, zone: tzinfo, *, seconds: bool = False, label: bool = True
) -> str:
    """``06.12.2026 14:05 MEZ`` (German), ``6 Dec 2026 14:05 CET`` (English); ``-`` for None.
    A naive datetime is taken as UTC (the store's)."""
    if value is None:
        return "-"
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    local = value.astimezone(zone)
    clock = local.strftime("%H:%M:%S" if seconds else "%H:%M")
    text = f"{local_date(local.date(), lang)} {clock}"
    return f"{text} {zone_abbreviation(local, lang)}" if label else text


def local_date(day: date, lang: str) -> str:
    """``06.12.2026`` (German), ``6 Dec 2026`` (English)."""
    if lang == "de":
        return f"{day.day:02d}.{day.month:02d}.{day.year}"
    return f"{day.day} {_MONTHS_EN[day.month - 1]} {day.year}"


def day_bounds(
    first: date | None, last: date | None, zone: tzinfo
) -> tuple[datetime | None, datetime | None]:
    """The UTC instants from the start of ``first`` to the end of ``last`` (inclusive), both
    taken as days in ``zone``: [start, end)."""
    start = datetime.combine(first, time(), zone).astimezone(UTC) if first else None
    end = None
    if last is not None:
        following = date.fromordinal(last.toordinal() + 1)
        end = datetime.combine(following, time(), zone).astimezone(UTC)
    return start, end
