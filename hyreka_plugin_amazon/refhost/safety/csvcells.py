"""Cells for CSV exports: report content is untrusted, spreadsheets run formulas and a CSV on
stdout goes to a terminal.

Control characters first: terminal escape sequences (``ESC ] 0 ; ... BEL`` sets the title,
``ESC [ 2 J`` clears the screen), the 8-bit CSI, direction overrides (U+202E) and other
format characters are removed from every cell; line breaks and tabs become a space (a cell
is one line). Then OWASP's CSV injection advice: a cell starting with ``=``, ``+``, ``-``,
``@``, TAB or CR (or whose first non-blank character is one of the first four) is read as a
formula by Excel, LibreOffice and Google Sheets. Such a cell is prefixed with a single quote,
which makes the spreadsheet show it as text; the csv module then quotes it as any other cell.
Numbers the host writes itself (amounts like ``-2.00``) are not report text and may be passed
as numbers.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from typing import Final

FORMULA_PREFIXES: Final = ("=", "+", "-", "@", "\t", "\r")
STRIPPED_CATEGORIES: Final = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_SPACES: Final = frozenset("\t\n\v\f\r\x1c\x1d\x1e\x85\u2028\u2029")  # line and tab breaks


def csv_cell(value: object) -> str:
    """``value`` as a CSV cell that no spreadsheet runs as a formula (None -> "").

    ints, floats and Decimals are written as they are (a negative amount is a number, not a
    formula); every other value is text, ``clean``ed, and neutralised when it could start a
    formula.
    """
    if value is None:
        return ""
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return str(value)
    text = clean(str(value))
    stripped = text.lstrip(" \t\r\n")
    if text.startswith(FORMULA_PREFIXES) or stripped.startswith(FORMULA_PREFIXES[:4]):
        return "'" + text
    return text


def clean(text: str) -> str:
    """``text`` without control, format, surrogate and separator characters; a line break
    or tab becomes a space."""
    if not any(unicodedata.category(char) in STRIPPED_CATEGORIES for char in text):
        return text
    return "".join(
        " " if char in _SPACES else char
        for char in text
        if char in _SPACES or unicodedata.category(char) not in STRIPPED_CATEGORIES
    )
