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


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_COUNT = re.compile(r"\d+")


class Money(Cell[Decimal]):
    """An amount exactly as written ("9.90" stays 9.90, "17" stays 17); "." is the separator."""

    def parse(self, text: str) -> Decimal:
        if _NUMBER.fullmatch(text) is None:
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
            raise ValueError("not a date") from None
        if value.utcoffset() is None:
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
