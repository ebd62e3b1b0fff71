"""The report reader's limits: conflicting duplicate
rows, a quadratic duplicate-header check, and untrusted cell content (overlong cells, NULs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hyreka_plugin_amazon.reports.orders import (
    CONFLICTING_ITEM,
    OrderErrors,
    ReportOrder,
    read_orders,
)
from hyreka_plugin_amazon.reports.reader import (
    MAX_CELL_CHARS,
    MAX_COLUMNS,
    HeaderError,
    ReportReader,
    open_report_file,
)

FIXTURE = Path(__file__).resolve().parent.parent / "fixtures" / "orders-invoicing-eu-cp1252.txt"


def fixture_lines() -> list[str]:
    lines, _ = open_report_file(FIXTURE)
    return list(lines)


def read(lines: list[str]) -> list[ReportOrder | OrderErrors]:
    return list(read_orders(ReportReader(lines), default_marketplace_id="A1PA6795UKMFR9"))


def with_cell(line: str, header: str, column: str, value: str) -> str:
    cells = line.rstrip("\n").split("\t")
    cells[header.rstrip("\n").split("\t").index(column)] = value
    return "\t".join(cells) + "\n"


# ------------------------------------------------------------------------ 5: duplicate rows


def test_a_conflicting_duplicate_item_row_makes_the_order_a_problem() -> None:
    header, first, *rest = fixture_lines()
    dearer = with_cell(first, header, "item-price", "99.99")
    items = read([header, first, dearer, *rest])
    failed = items[0]
    assert isinstance(failed, OrderErrors)
    assert any(e.reason == CONFLICTING_ITEM and e.row == 2 for e in failed.errors)
    assert all(isinstance(item, ReportOrder) for item in items[1:])


def test_an_identical_duplicate_item_row_is_folded() -> None:
    header, first, *rest = fixture_lines()
    again = first.replace("\tStandard\t", "\t Standard \t")  # not byte-identical, same values
    assert again != first
    order = read([header, first, again, *rest])[0]
    assert isinstance(order, ReportOrder)
    assert order.lines == next(o for o in read([header, first]) if isinstance(o, ReportOrder)).lines


# ------------------------------------------------------------------------ 6: header check


def test_the_header_check_takes_the_widest_header_allowed_and_names_duplicates() -> None:
    header = fixture_lines()[0].rstrip("\n").split("\t")
    wide = "\t".join([*header, *(f"c{i}" for i in range(MAX_COLUMNS - len(header)))])
    assert len(ReportReader([wide]).header) == MAX_COLUMNS
    with pytest.raises(HeaderError, match=f"more than {MAX_COLUMNS} columns"):
        ReportReader([wide + "\tone-more"])
    with pytest.raises(HeaderError, match="c1, c2 twice"):
        ReportReader(["\t".join([*header, "c2", "c1", "c2", "c1"])])


def test_a_header_of_100000_cells_is_refused_with_a_clear_error() -> None:
    header = "\t".join(["order-id"] + ["x"] * 100_000)
    with pytest.raises(HeaderError, match=f"more than {MAX_COLUMNS} columns"):
        ReportReader([header])


# ------------------------------------------------------------------------ 12: cell content


def test_an_overlong_cell_is_a_problem_row_and_never_kept_or_quoted() -> None:
    header, first, *rest = fixture_lines()
    huge = "A" * (MAX_CELL_CHARS + 1)
    items = read([header, with_cell(first, header, "product-name", huge), *rest])
    failed = items[0]
    assert isinstance(failed, OrderErrors)
    (error,) = [e for e in failed.errors if e.column == "product-name"]
    assert error.row == 1
    assert huge not in repr(failed)
    assert "AAAA" not in error.reason


def test_a_ten_megabyte_city_fails_only_its_order() -> None:
    header, first, second, *rest = fixture_lines()
    city = with_cell(second, header, "bill-city", "B" * 10_000_000)
    items = read([header, first, city, *rest])
    assert isinstance(items[0], ReportOrder)
    assert isinstance(items[1], OrderErrors)
    assert items[1].errors[0].column == "bill-city"


def test_nul_bytes_inside_fields_are_stripped() -> None:
    header, first, *_ = fixture_lines()
    nul = with_cell(first, header, "product-name", "Kaffee\x00tasse\x00")
    order = read([header, nul])[0]
    assert isinstance(order, ReportOrder)
    assert order.lines[0].title == "Kaffeetasse"
    assert order.billing_address is not None
    assert "\x00" not in repr(order.billing_address)
