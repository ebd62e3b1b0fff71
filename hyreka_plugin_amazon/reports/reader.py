"""Streaming reader of Amazon's tab-separated flat-file order reports, by header name.

Amazon's files are TAB-separated without any quoting (values hold literal double quotes), one
order item per line, the header first; the column set varies with the report type, the seller's
settings and Amazon's additions, so columns are found by name, never by position. Which layout
a header belongs to and which columns it needs is the catalogue's knowledge.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from hyreka_plugin_amazon.reports.catalogue import REQUIRED_COLUMNS, Layout, layout_of_header
from hyreka_plugin_amazon.reports.charsets import CharsetError, detect_charset, python_codec
from hyreka_plugin_amazon.reports.regroup import SPILL_AFTER_CHARS, regrouped

MAX_COLUMNS: Final = 1000  # Amazon's order reports have under 100; more is not a report
MAX_CELL_CHARS: Final = 2000  # Amazon's longest fields (product names) stay far below


class HeaderError(ValueError):
    """The first line is not the header of an Amazon order report this reader knows."""


@dataclass(frozen=True, slots=True)
class RowError:
    """Why a row (or one of its cells) was not imported.

    ``row`` is the data row number counted from 1 (the line after the header is row 1; blank
    and duplicate lines keep their numbers, so row N is line N + 1 in a text editor).
    ``reason`` never quotes a cell: a shifted row can put a name or street into any column.
    """

    row: int | None
    column: str | None
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "reason": self.reason}


@dataclass(slots=True)  # not frozen: cheaper to build (one per line), nothing changes it
class Row:
    """One data line: cells keyed by header name, stripped, empty cells None."""

    number: int
    values: Mapping[str, str | None]
    errors: tuple[RowError, ...] = ()


def detect_layout(header: Iterable[str]) -> Layout:
    """The layout of a header, checked for its required columns (raises HeaderError)."""
    columns = set(header)
    layout = layout_of_header(columns)
    if layout is None:
        raise HeaderError(
            "not an Amazon order report: the header has neither an order-id nor an "
            "amazon-order-id column"
        )
    missing = [name for name in REQUIRED_COLUMNS[layout] if name not in columns]
    if missing:
        raise HeaderError(
            f"the header of this {layout} report lacks the column(s) {', '.join(missing)}"
        )
    return layout


class ReportReader:
    """Reads a report's lines: the header at once, then one Row per data line.

    ``lines`` are the file's lines split on LF (a trailing CR or LF is removed). The rows of
    one order come together, wherever they stand in the file (``regroup.regrouped``: the lines
    are read once to index them, kept in bounded memory, the rest encrypted in a temporary
    file; ``spill_after`` characters stay in memory). Cells are split
    on TAB only (quotes are literal text); a line with fewer cells than the header is padded
    with empty cells (Amazon omits trailing empty columns), one with more is reported as an
    error. Blank lines are skipped; a line byte-identical to an earlier line of the same order
    is skipped and counted in ``duplicates_skipped``. ``rows(columns)`` reads only some columns.
    """

    header: tuple[str, ...]
    layout: Layout
    has_billing_columns: bool
    duplicates_skipped: int

    def __init__(self, lines: Iterable[str], *, spill_after: int = SPILL_AFTER_CHARS) -> None:
        self.spill_after = spill_after
        self._lines = iter(lines)
        first = next(self._lines, None)
        if first is None or not first.strip("\ufeff \t\r\n"):
            raise HeaderError("the file is empty: no header line")
        cells = first.lstrip("\ufeff").rstrip("\r\n").split("\t", MAX_COLUMNS)
        if len(cells) > MAX_COLUMNS:
            raise HeaderError(
                f"the header has more than {MAX_COLUMNS} columns: not an Amazon order report"
            )
        header = tuple(name.strip() for name in cells)
        counts = Counter(name for name in header if name)
        twice = sorted(name for name, count in counts.items() if count > 1)
        if twice:
            raise HeaderError(f"the header names the column(s) {', '.join(twice)} twice")
        self.header = header
        self.layout = detect_layout(header)
        self.has_billing_columns = any(name.startswith("bill-") for name in header)
        self.duplicates_skipped = 0

    def __iter__(self) -> Iterator[Row]:
        return self.rows()

    def rows(self, columns: Collection[str] | None = None) -> Iterator[Row]:
        """The data rows; with ``columns``, their values hold only those columns (the others
        are still counted and checked), which is faster on wide reports."""
        header = self.header
        width = len(header)
        id_index = header.index(self.layout.order_id_column)
        wanted = None
        split = width  # cells split off; the rest of a line stays one string (not read)
        if columns is not None:
            wanted = [(name, index) for index, name in enumerate(header) if name in columns]
            split = max((index for _, index in wanted), default=0)
            split = max(split, id_index) + 1
        order_id: str | None = None
        order_lines: set[str] = set()
        for number, text in regrouped(self._lines, id_index, memory_chars=self.spill_after):
            if "\x00" in text:  # NUL bytes are no text: dropped, never stored
                text = text.replace("\x00", "")
            if split < width:
                cells = text.split("\t", split)
                fields = text.count("\t") + 1
            else:
                cells = text.split("\t")
                fields = len(cells)
            errors: tuple[RowError, ...] = ()
            if len(cells) < split:
                cells += [""] * (split - len(cells))
            if fields > width:
                reason = f"row has {fields} fields, header has {width}"
                errors = (RowError(number, None, reason),)
            if len(text) > MAX_CELL_CHARS:  # only then can a cell be too long
                errors += _overlong(number, header, cells, min(split, width))
            cell_id = cells[id_index].strip()
            if cell_id != order_id:
                order_id = cell_id
                order_lines.clear()
            elif text in order_lines:
                self.duplicates_skipped += 1
                continue
            order_lines.add(text)
            if wanted is None:
                values = {
                    name: cell or None
                    for name, cell in zip(header, map(str.strip, cells), strict=False)
                }
            else:
                values = {name: cells[index].strip() or None for name, index in wanted}
            yield Row(number, values, errors)


def _overlong(
    number: int, header: tuple[str, ...], cells: list[str], read: int
) -> tuple[RowError, ...]:
    """An error for each of the first ``read`` cells longer than ``MAX_CELL_CHARS``, whose text
    is then dropped (a 10 MB "product name" is neither stored nor quoted)."""
    found: list[RowError] = []
    for index, cell in enumerate(cells[:read]):
        if len(cell) > MAX_CELL_CHARS:
            column = header[index]
            found.append(RowError(number, column, f"cell longer than {MAX_CELL_CHARS} characters"))
            cells[index] = ""
    return tuple(found)


def open_report_file(path: Path, charset: str | None = None) -> tuple[Iterator[str], str]:
    """The lines of a report file and the codec used to decode them.

    ``charset`` (Amazon's name from a Content-Type, or the seller's choice) is used as given;
    when None, ``detect_charset`` decides: a BOM (utf-8-sig / utf-16), else utf-8 when the whole
    file decodes as UTF-8, else cp1252. Detection reads the file once before it is read again
    for the rows; the rows are read streaming either way. A byte that the codec cannot decode
    raises CharsetError when its line is reached.
    """
    codec = python_codec(charset) if charset else detect_charset(path)
    path.stat()  # a missing file fails here, not at the first line
    return _read_lines(path, codec), codec


def _read_lines(path: Path, codec: str) -> Iterator[str]:
    with path.open(encoding=codec, newline="\n") as file:
        try:
            yield from file
        except UnicodeDecodeError:
            raise CharsetError(f"the file is not valid {codec}; name its charset") from None
