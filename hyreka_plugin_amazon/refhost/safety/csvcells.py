"""Cells for CSV exports: report content is untrusted, and spreadsheets run formulas.

OWASP's CSV injection advice: a cell starting with ``=``, ``+``, ``-``, ``@``, TAB or CR (or
whose first non-blank character is one of the first four) is read as a formula by Excel,
LibreOffice and Google Sheets. Such a cell is prefixed with a single quote, which makes the
spreadsheet show it as text; the csv module then quotes it as any other cell. Numbers the host
writes itself (amounts like ``-2.00``) are not report text and may be passed as numbers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """``value`` as a CSV cell that no spreadsheet runs as a formula (None -> "").

    ints, floats and Decimals are written as they are (a negative amount is a number, not a
    formula); every other value is text and neutralised when it could start a formula.
    """
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    text = str(value).replace("\x00", "")
    stripped = text.lstrip(" \t\r\n")
    if text.startswith(FORMULA_PREFIXES) or stripped.startswith(FORMULA_PREFIXES[:4]):
        return "'" + text
    return text
