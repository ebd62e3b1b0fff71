"""The flat-file reader: header checks, layouts, cells by name, charsets, odd lines."""

from __future__ import annotations

import codecs
import re
from pathlib import Path

import pytest
from helpers.shared import REAL_REPORTS, needs

from hyreka_plugin_amazon.reports.catalogue import Layout
from hyreka_plugin_amazon.reports.charsets import CharsetError, detect_charset, python_codec
from hyreka_plugin_amazon.reports.reader import (
    HeaderError,
    ReportReader,
    Row,
    RowError,
    detect_layout,
    open_report_file,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REAL = REAL_REPORTS
needs_real = needs(REAL)

HEADER = "order-id\torder-item-id\tpurchase-date\tsku\tquantity-purchased\tcurrency\titem-price"


def read(path: Path, charset: str | None = None) -> tuple[ReportReader, list[Row], str]:
    lines, codec = open_report_file(path, charset)
    reader = ReportReader(lines)
    return reader, list(reader), codec


def test_header_is_checked_before_any_row() -> None:
    reader = ReportReader(iter([HEADER + " \n"]))
    assert reader.layout is Layout.ORDERS
    assert reader.header[-1] == "item-price"
    assert not reader.has_billing_columns
    assert list(reader) == []


@pytest.mark.parametrize(
    ("extra", "layout"),
    [
        ("", Layout.ORDERS),
        ("\tbill-address-1\tbill-city\tbill-postal-code\tbill-country", Layout.ORDERS_INVOICING),
        ("\tquantity-to-ship", Layout.UNSHIPPED),
    ],
)
def test_order_report_layouts(extra: str, layout: Layout) -> None:
    assert ReportReader([HEADER + extra]).layout is layout


def test_an_unknown_header_names_the_missing_id_column() -> None:
    lines, _ = open_report_file(FIXTURES / "listings-not-an-order-report.txt")
    with pytest.raises(HeaderError, match="order-id nor an amazon-order-id"):
        ReportReader(lines)


def test_missing_required_columns_are_named_with_the_layout() -> None:
    header = "order-id\torder-item-id\tpurchase-date\tcurrency\titem-price\tbill-city"
    with pytest.raises(HeaderError) as caught:
        ReportReader([header])
    message = str(caught.value)
    assert "orders-invoicing" in message
    for column in ("sku", "quantity-purchased", "bill-address-1", "bill-postal-code"):
        assert column in message
    assert "bill-city" not in message


@pytest.mark.parametrize("lines", [[], [""], ["\ufeff\r\n"]])
def test_an_empty_file_is_a_header_error(lines: list[str]) -> None:
    with pytest.raises(HeaderError, match="empty"):
        ReportReader(lines)


def test_a_column_named_twice_is_a_header_error() -> None:
    with pytest.raises(HeaderError, match="sku"):
        ReportReader([HEADER + "\tsku"])


def test_header_only_file_has_no_rows_and_no_errors() -> None:
    reader, rows, codec = read(FIXTURES / "orders-header-only.txt")
    assert reader.layout is Layout.ORDERS_INVOICING
    assert reader.has_billing_columns
    assert rows == []
    assert codec == "utf-8"


def test_cells_by_name_padded_stripped_and_empty_as_none() -> None:
    lines = [
        HEADER + "\tdelivery-Instructions\tsales-channel\n",
        "028-1\t0042\t2026-11-20T10:00:00Z\t  SKU 1 \t1\tEUR\t9.90\n",  # trailing columns omitted
        "028-2\t0043\t2026-11-20T10:00:00Z\t\t2\tEUR\t9.90\t--\tAmazon.de\r\n",
    ]
    first, second = ReportReader(lines)
    assert first.number == 1
    assert first.values["order-item-id"] == "0042"
    assert first.values["sku"] == "SKU 1"
    assert first.values["sales-channel"] is None
    assert first.errors == ()
    assert second.values["sku"] is None
    assert second.values["item-price"] == "9.90"
    assert second.values["delivery-Instructions"] is None  # Amazon's placeholder for none


def test_a_row_cut_short_is_a_row_error() -> None:
    lines = [
        HEADER + "\tdelivery-Instructions\n",
        "028-1\t0042\t2026-11-20T10:00:00Z\tSKU 1\t1\tEUR\n",  # ends before item-price
        "028-2\t0043\t2026-11-20T10:00:00Z\tSKU 2\t1\tEUR\t9.90\n",  # complete
        "028-3\t0044\t2026-11-20T10:00:00Z\tSKU 3\t1\tEUR\t9.9",  # the file ends in it
    ]
    cut, whole, last = ReportReader(lines)
    assert cut.errors == (RowError(1, None, "row ends after 6 of 8 fields (cut short?)"),)
    assert whole.errors == ()
    assert last.errors == (RowError(3, None, "row ends after 7 of 8 fields (cut short?)"),)


def test_more_cells_than_the_header_is_a_row_error_and_reading_goes_on() -> None:
    lines = [HEADER, "1\t2\t3\t4\t5\t6\t7\tsurplus", "2\t1\t3\t4\t5\t6\t7"]
    bad, good = ReportReader(lines)
    assert bad.errors == (RowError(1, None, "row has 8 fields, header has 7"),)
    assert bad.values["order-id"] == "1"
    assert good.errors == ()
    assert good.number == 2


def test_rows_of_some_columns_only() -> None:
    lines = [
        HEADER,
        "1\ta\t\t SKU 1 \t2",
        "1\ta\t\t SKU 1 \t2",
        "2\tb\tc\td\te\tf\tg\tsurplus",
        "3\tb",  # shorter than the last column read
        "4\tb\tc\td\te\tf\tg\th\ti",  # the surplus lies beyond the last column read
    ]
    reader = ReportReader(lines)
    first, bad, short, wide = reader.rows({"order-id", "sku", "not-in-this-report"})
    assert first.values == {"order-id": "1", "sku": "SKU 1"}
    assert reader.duplicates_skipped == 1
    assert bad.errors == (RowError(3, None, "row has 8 fields, header has 7"),)
    assert bad.values == {"order-id": "2", "sku": "d"}
    assert short.values == {"order-id": "3", "sku": None}
    assert short.errors == (RowError(4, None, "row ends after 2 of 7 fields (cut short?)"),)
    assert wide.errors == (RowError(5, None, "row has 9 fields, header has 7"),)


def test_blank_lines_are_skipped_but_keep_their_row_numbers() -> None:
    rows = list(ReportReader([HEADER, "1\ta", "", "  \t \r\n", "2\tb"]))
    assert [row.number for row in rows] == [1, 4]


def test_exact_duplicates_within_an_order_are_skipped_and_counted() -> None:
    lines = [HEADER, "1\ta\tx", "1\tb\tx", "1\ta\tx", "2\ta\tx", "1\ta\tx"]
    reader = ReportReader(lines)
    rows = list(reader)
    # the last line repeats a line of order 1 after other orders: a duplicate all the same
    assert [row.number for row in rows] == [1, 2, 4]
    assert reader.duplicates_skipped == 2


def test_literal_quotes_are_kept() -> None:
    (row,) = ReportReader([HEADER, '1\t2\t3\t"Sign - ""Hot Tub"", 2 pcs"\t1'])
    assert row.values["sku"] == '"Sign - ""Hot Tub"", 2 pcs"'


def test_bom_and_crlf_of_a_file(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_bytes(codecs.BOM_UTF8 + (HEADER + "\r\n1\ta\t\tStraße\t1\r\n").encode())
    reader, rows, codec = read(path)
    assert codec == "utf-8-sig"
    assert reader.header[0] == "order-id"
    assert rows[0].values["sku"] == "Straße"
    assert rows[0].values["item-price"] is None


def test_utf16_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_text(HEADER + "\r\n1\ta\t\tMüller\t1\r\n", encoding="utf-16")
    _, rows, codec = read(path)
    assert codec == "utf-16"
    assert rows[0].values["sku"] == "Müller"


def test_cp1252_is_detected_when_the_file_is_not_utf8() -> None:
    reader, rows, codec = read(FIXTURES / "orders-invoicing-eu-cp1252.txt")
    assert codec == "cp1252"
    names = {row.values["buyer-name"] for row in rows}
    assert {"Jürgen Groß", "Hélène Lefèvre", "Begoña Peña Muñoz"} <= names
    titles = " ".join(str(row.values["product-name"]) for row in rows)
    assert "„Grüße aus Köln“ – weiß" in titles  # cp1252's own characters, not Latin-1's C1 controls
    assert reader.duplicates_skipped == 1


def test_a_late_non_utf8_byte_still_means_cp1252(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_bytes(
        (HEADER + "\n").encode() + b"1\ta\t\tx\t1\n" * 20000 + b"2\tb\t\tM\xfcller\t1\n"
    )
    assert detect_charset(path) == "cp1252"
    _, rows, _ = read(path)
    assert rows[-1].values["sku"] == "Müller"


def test_a_given_charset_is_used_and_a_wrong_one_is_a_charset_error(tmp_path: Path) -> None:
    path = tmp_path / "report.txt"
    path.write_bytes((HEADER + "\n1\ta\t\tMüller\t1\n").encode("cp1252"))
    _, rows, codec = read(path, "Cp1252")
    assert (codec, rows[0].values["sku"]) == ("cp1252", "Müller")
    lines, _ = open_report_file(path, "UTF-8")
    with pytest.raises(CharsetError, match="not valid utf-8"):
        list(ReportReader(lines))


def test_java_charset_names() -> None:
    assert python_codec("Cp1252") == "cp1252"
    assert python_codec("Shift_JIS") == "cp932"
    assert python_codec("x-sjis") == "cp932"
    assert python_codec("utf8") == "utf-8"
    with pytest.raises(CharsetError, match="unknown charset"):
        python_codec("klingon-8")


def test_a_missing_file_fails_at_once(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        open_report_file(tmp_path / "absent.txt", "utf-8")


# --- the real reports ---------------------------------------------------------------------


@needs_real
def test_real_all_orders_report() -> None:
    reader, rows, codec = read(REAL / "eu-allorders-nbneorigin-2.txt")
    assert codec == "utf-8"
    assert reader.layout is Layout.ALL_ORDERS
    assert len(reader.header) == 91
    assert reader.header[-1] == "invoice-business-tax-office"  # trailing space stripped
    assert len(rows) == 2136 - 5
    assert reader.duplicates_skipped == 5
    assert len({row.values["amazon-order-id"] for row in rows}) == 2063
    assert all(row.errors == () for row in rows)
    quoted = [row for row in rows if '"Please Keep the Hot Tub Covered' in str(row.values)]
    assert quoted  # literal quotes inside product names survive


@needs_real
def test_real_report_read_in_part_gives_the_same_cells() -> None:
    path = REAL / "eu-allorders-nbneorigin-2.txt"
    _, rows, _ = read(path)
    wanted = {"amazon-order-id", "order-status", "item-status", "last-updated-date"}
    lines, _ = open_report_file(path)
    part = list(ReportReader(lines).rows(wanted))
    assert [row.number for row in part] == [row.number for row in rows]
    assert [row.values for row in part] == [
        {name: value for name, value in row.values.items() if name in wanted} for row in rows
    ]


@needs_real
def test_real_spreadsheet_resave_keeps_its_quotes() -> None:
    reader, rows, _ = read(REAL / "eu-allorders-nbneorigin-1.txt")
    assert reader.duplicates_skipped == 1
    assert len(rows) == 20
    names = [str(row.values["product-name"]) for row in rows]
    assert any(name.startswith('"Plaque commémorative personnalisable, piquet') for name in names)
    assert {row.values["is-business-order"] for row in rows} == {"FALSE"}


@needs_real
def test_real_unshipped_report_with_ragged_rows() -> None:
    reader, rows, codec = read(REAL / "us-unshipped-littlesnaf-1.txt")
    assert (reader.layout, codec) == (Layout.UNSHIPPED, "utf-8")
    assert len(rows) == 4
    assert all(len(row.values) == 41 and row.errors == () for row in rows)
    assert rows[0].values["buyer-identification-type"] is None
    assert rows[1].values["product-name"] == "Personalized Photo Mug"


@needs_real
def test_real_cp1252_order_report() -> None:
    reader, rows, codec = read(REAL / "fr-orders-akretion-1.txt")
    assert (reader.layout, codec) == (Layout.ORDERS, "cp1252")
    text = " ".join(str(value) for row in rows for value in row.values.values())
    for word in ("Orléans", "Hélène", "bâtiment K"):
        assert word in text


@needs_real
def test_every_header_line_recorded_in_the_manifest_has_its_layout() -> None:
    manifest = (REAL / "MANIFEST.md").read_text("utf-8")
    blocks = re.findall(r"```\n(.*?)```", manifest, re.S)
    headers = [block.strip("\n").split("\t") for block in blocks if "\t" in block]
    expected = [
        Layout.ORDERS,
        Layout.ORDERS,
        Layout.ALL_ORDERS,
        Layout.UNSHIPPED,
        Layout.FBA_SHIPMENTS,
        Layout.ORDERS_INVOICING,
        *[Layout.UNSHIPPED] * 5,
        *[Layout.ALL_ORDERS] * 3,
        Layout.ORDERS,
        Layout.ORDERS,
    ]
    assert [detect_layout(name.strip() for name in header) for header in headers] == expected
