"""Report cells: marshmallow fields that turn a cell's text into a value.

Each cell type's ``parse`` takes the stripped, non-empty text and raises ValueError with a
reason that never quotes the cell; ``repeats`` says whether ``rows.RowLoader`` should remember
its parsed values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar

from marshmallow import ValidationError, fields
from marshmallow import types as marshmallow_types

from hyreka_plugin_amazon.reports.codes import COUNTRIES, CURRENCIES

_T = TypeVar("_T")


class Cell(fields.Field[_T]):
    """A report cell: ``parse`` turns its stripped, non-empty text into a value.

    ``parse`` raises ValueError with a reason that never quotes the cell (a shifted row can put
    a name or a street into any column).
    """

    default_error_messages: marshmallow_types.ErrorMessages = {  # noqa: RUF012 (marshmallow's API)
        "required": "value is missing",
        "null": "value is missing",
    }

    repeats = True  # few distinct cell texts: RowLoader remembers parsed values (and shares
    # one object for equal values)

    def parse(self, text: str) -> _T:
        raise NotImplementedError

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> _T:
        if not isinstance(value, str):
            raise ValidationError("not text")
        try:
            return self.parse(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class Text(Cell[str]):
    repeats = False  # ids, names, titles: mostly distinct

    def parse(self, text: str) -> str:
        return text


class Code(Text):
    """A text from a small set (a status, a currency): equal cells share one string, so the
    many orders of a large report do not each hold their own copy."""

    repeats = True


class Country(Code):
    """An ISO 3166-1 alpha-2 country code (``DE``, ``GB``); anything else is a bad cell (a
    shifted row would otherwise put a name into a plain column of the host's database)."""

    def parse(self, text: str) -> str:
        if text not in COUNTRIES:
            raise ValueError("not an ISO 3166 country code")
        return text


class Currency(Code):
    """An ISO 4217 currency code (``EUR``); anything else is a bad cell."""

    def parse(self, text: str) -> str:
        if text not in CURRENCIES:
            raise ValueError("not an ISO 4217 currency code")
        return text


# What a spreadsheet makes of Amazon's cells when a report is opened and saved in it.
SPREADSHEET = "(opened and saved in a spreadsheet?)"
SCIENTIFIC = f"a number in scientific notation {SPREADSHEET}"
DECIMAL_ID = f"a number with a decimal separator {SPREADSHEET}"
DECIMAL_COMMA = f"a decimal comma, not a point {SPREADSHEET}"
SPREADSHEET_DATE = f"a date as a spreadsheet writes it {SPREADSHEET}"
ORDER_ID_ZEROS = f"not an Amazon order id: leading zeros lost {SPREADSHEET}"
NOT_ORDER_ID = "not an Amazon order id (3-7-7 digits)"
NOT_ITEM_ID = "not an Amazon order item id (digits only)"
NOT_SHIPMENT_ITEM_ID = "not an Amazon shipment item id (letters and digits)"

_SCIENTIFIC = re.compile(r"[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+")
_DECIMAL = re.compile(r"\d+[.,]\d+")
_COMMA_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+),\d+")
_SPREADSHEET_DATE = re.compile(r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}(?:\s+\d{1,2}:\d{2}(?::\d{2})?)?")
# Amazon's order ids: 3-7-7 digits; multi-channel (Non-Amazon) orders start with S and 2 digits
_ORDER_ID = re.compile(r"(?:\d{3}|S\d{2})-\d{7}-\d{7}")
_SHORT_ORDER_ID = re.compile(r"\d{1,3}-\d{1,7}-\d{1,7}")
_DIGITS = re.compile(r"\d+")
_ALPHANUMERIC = re.compile(r"[A-Za-z0-9]+")


def _rewritten(text: str) -> str | None:
    """Why an id is not Amazon's when a spreadsheet rewrote it as a number, else None."""
    if _SCIENTIFIC.fullmatch(text):
        return SCIENTIFIC
    if _DECIMAL.fullmatch(text):
        return DECIMAL_ID
    return None


class OrderId(Text):
    """Amazon's order id (``302-1234567-1234567``; ``S02-...`` for multi-channel orders);
    anything else is a bad cell that names the likely cause."""

    def parse(self, text: str) -> str:
        if _ORDER_ID.fullmatch(text) is not None:
            return text
        if _SHORT_ORDER_ID.fullmatch(text) is not None:
            raise ValueError(ORDER_ID_ZEROS)
        raise ValueError(_rewritten(text) or NOT_ORDER_ID)


class ItemId(Text):
    """An order item id: digits only (their number varies, so lost leading zeros cannot be
    told); scientific notation and decimal separators name a spreadsheet as the cause."""

    def parse(self, text: str) -> str:
        if _DIGITS.fullmatch(text) is None:
            raise ValueError(_rewritten(text) or NOT_ITEM_ID)
        return text


class ShipmentItemId(Text):
    """An FBA shipment item id: letters and digits (Amazon writes ``DHf2GPpHR``)."""

    def parse(self, text: str) -> str:
        if _ALPHANUMERIC.fullmatch(text) is None:
            raise ValueError(_rewritten(text) or NOT_SHIPMENT_ITEM_ID)
        return text


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_COUNT = re.compile(r"\d+")


class Money(Cell[Decimal]):
    """An amount exactly as written ("9.90" stays 9.90, "17" stays 17); "." is the separator."""

    def parse(self, text: str) -> Decimal:
        if _NUMBER.fullmatch(text) is None:
            if _COMMA_NUMBER.fullmatch(text) is not None:
                raise ValueError(DECIMAL_COMMA)
            raise ValueError("not a number")
        return Decimal(text)


class Discount(Money):
    """A promotion discount, stored negative: Amazon's order reports write it negative, the
    all-orders report positive."""

    def parse(self, text: str) -> Decimal:
        value = super().parse(text)
        return -value if value > 0 else value


class Count(Cell[int]):
    def parse(self, text: str) -> int:
        if _COUNT.fullmatch(text) is None:
            raise ValueError("not a whole number")
        return int(text)


class Timestamp(Cell[datetime]):
    """ISO 8601 with a UTC offset; a trailing Z means +00:00; a date without offset is refused."""

    repeats = False

    def parse(self, text: str) -> datetime:
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            spreadsheet = _SPREADSHEET_DATE.fullmatch(text) is not None
            raise ValueError(SPREADSHEET_DATE if spreadsheet else "not a date") from None
        if value.tzinfo is None:  # fromisoformat's tzinfo is always a fixed offset
            raise ValueError("date without a UTC offset")
        return value


class Flag(Cell[bool]):
    """true/false in any case (spreadsheet re-saves write TRUE/FALSE)."""

    def parse(self, text: str) -> bool:
        lowered = text.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
        raise ValueError("not true or false")


_CHANNELS: dict[str, Literal["AFN", "MFN"]] = {
    "amazon": "AFN",
    "afn": "AFN",
    "merchant": "MFN",
    "mfn": "MFN",
}


class Channel(Cell[str]):
    """The fulfilment channel: Amazon/AFN -> "AFN", Merchant/MFN -> "MFN"."""

    def parse(self, text: str) -> str:
        try:
            return _CHANNELS[text.lower()]
        except KeyError:
            raise ValueError("not Amazon or Merchant") from None
