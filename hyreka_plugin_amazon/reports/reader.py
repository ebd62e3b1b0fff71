"""Streaming reader of Amazon's tab-separated flat-file order reports, by header name.

Amazon's files are TAB-separated without any quoting (values hold literal double quotes), one
order item per line, the header first; the column set varies with the report type, the seller's
settings and Amazon's additions, so columns are found by name, never by position. Which layout
a header belongs to and which columns it needs is the catalogue's knowledge.
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any, Final

from hyreka_plugin_amazon.reports.catalogue import REQUIRED_COLUMNS, Layout, layout_of_header
from hyreka_plugin_amazon.reports.charsets import (
    CharsetError,
    detect_charset,
    open_binary,
    python_codec,
)
from hyreka_plugin_amazon.reports.regroup import SPILL_AFTER_CHARS, regrouped

MAX_COLUMNS: Final = 1000  # Amazon's order reports have under 100; more is not a report
MAX_CELL_CHARS: Final = 2000  # Amazon's longest fields (product names) stay far below
PLACEHOLDER: Final = "--"  # what Amazon writes for "none" in Japan (an empty city or line)


ZIP_MAGIC: Final = b"PK\x03\x04"
ZIP_FILE: Final = "the file is a zip archive (an Excel workbook is one too): unpack it first"
SEMICOLONS: Final = (
    "the columns are separated by semicolons, not tabs: the file was re-saved by a "
    "spreadsheet; import Amazon's download itself"
)
COMMAS: Final = (
    "the columns are separated by commas, not tabs: the file was re-saved by a "
    "spreadsheet; import Amazon's download itself"
)


class HeaderError(ValueError):
    """The first line is not the header of an Amazon order report this reader knows;
    ``messages`` may word it for the seller (language -> text)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.messages: dict[str, str] = {}


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
    with empty cells (Amazon omits trailing empty columns), unless it was cut short (it ends
    before a column that always has a value, or it is the last line and the file ends within
    it): then, like a line with more cells, it is reported as an error. A cell ``--`` is
    empty (Amazon's placeholder for none). Blank lines are skipped; a line byte-identical to
    an earlier line of the same order is skipped and counted in ``duplicates_skipped``.
    ``rows(columns)`` reads only some columns. ``replay``: the same lines (the header
    included) once more, e.g. ``DocumentStream.replay``: then the lines are read twice
    instead of being kept between the two passes of the regrouping.
    """

    header: tuple[str, ...]
    layout: Layout
    has_billing_columns: bool
    duplicates_skipped: int

    def __init__(
        self,
        lines: Iterable[str],
        *,
        spill_after: int = SPILL_AFTER_CHARS,
        replay: Callable[[], Iterable[str]] | None = None,
    ) -> None:
        self.spill_after = spill_after
        self._replay = replay
        self._unterminated = 0  # the row number of a last line without a line end
        self._lines = iter(lines)
        first = next(self._lines, None)
        if first is None or not first.strip("\ufeff \t\r\n"):
            raise HeaderError("the file is empty: no header line")
        if "\t" not in first and "order-id" in first:  # one column only: not TAB-separated
            if ";" in first:
                raise HeaderError(SEMICOLONS)
            if "," in first:
                raise HeaderError(COMMAS)
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

    def rows(
        self, columns: Collection[str] | None = None, *, whole_first: bool = False
    ) -> Iterator[Row]:
        """The data rows; with ``columns``, their values hold only those columns (the others
        are still counted and checked), which is faster on wide reports. ``whole_first``:
        the first row of each order holds every column all the same (what an address
        mapping may read: ``orders.read_orders`` maps addresses from an order's first row)."""
        header = self.header
        width = len(header)
        id_index = header.index(self.layout.order_id_column)
        wanted = None
        split = width  # cells split off; the rest of a line stays one string (not read)
        if columns is not None:
            wanted = [(name, index) for index, name in enumerate(header) if name in columns]
            if not whole_first:
                split = max((index for _, index in wanted), default=0)
                split = max(split, id_index) + 1
        must_reach = self._must_reach()
        order_id: str | None = None
        # an order's first line, and its later ones (most orders have one line: not hashed)
        first_line = ""
        order_lines: set[str] = set()
        replay = self._replay
        regrouping = regrouped(
            self._lines,
            id_index,
            memory_chars=self.spill_after,
            on_end=self._last_lines,
            replay=None if replay is None else lambda: islice(replay(), 1, None),  # no header
        )
        for number, line in regrouping:
            text = line.rstrip("\r\n")
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
            elif fields < width and (fields <= must_reach or number == self._unterminated):
                reason = f"row ends after {fields} of {width} fields (cut short?)"
                errors = (RowError(number, None, reason),)
            if "--" in text:  # Amazon's placeholder for "none" (Japan's empty city, lines)
                cells = ["" if cell.strip() == PLACEHOLDER else cell for cell in cells]
            if len(text) > MAX_CELL_CHARS:  # only then can a cell be too long
                errors += _overlong(number, header, cells, min(split, width))
            cell_id = cells[id_index].strip()
            first = cell_id != order_id
            if first:
                order_id, first_line = cell_id, text
                order_lines.clear()
            elif text == first_line or text in order_lines:
                self.duplicates_skipped += 1
                continue
            else:
                order_lines.add(text)
            if wanted is None or (first and whole_first):
                values = {
                    name: cell or None
                    for name, cell in zip(header, map(str.strip, cells), strict=False)
                }
            else:
                values = {name: cells[index].strip() or None for name, index in wanted}
            yield Row(number, values, errors)

    def _must_reach(self) -> int:
        """The index of the last column a row must have: its layout's required columns and
        the addresses' countries always have a value, so Amazon (which leaves out trailing
        empty columns) never leaves them out; a row without them was cut short."""
        needed = {*REQUIRED_COLUMNS[self.layout], "ship-country", "bill-country"}
        return max(index for index, name in enumerate(self.header) if name in needed)

    def _last_lines(self, number: int, line: str, before: str) -> None:
        """The file's last line and the one before (``regroup``'s first pass ends): a last
        line without a line end, when the others have one, is one the file ends within (cut
        short while written or downloaded, unless the row is complete)."""
        ends = ("\n", "\r")
        if number > 1 and before.endswith(ends) and not line.endswith(ends):
            self._unterminated = number


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


def open_report_file(
    path: Path, charset: str | None = None, *, japanese: bool = False
) -> tuple[Iterator[str], str]:
    """The lines of a report file a seller downloaded by hand, and the codec used.

    A gzip file (Amazon's downloads are gzip) is unpacked as it is read; a zip archive (an
    Excel workbook is one) is refused with HeaderError ("unpack it first"). ``charset``
    (Amazon's name from a Content-Type, or the seller's choice) is used as given; when None,
    ``detect_charset`` decides (BOM, UTF-16, UTF-8, cp932 for ``japanese`` files or files
    with kana, cp1252, cp932), reading the file once before it is read again for the rows.
    Line ends are LF, CRLF or a lone CR (as old Mac spreadsheets write). A byte that the codec
    cannot decode raises CharsetError when its line is reached.
    """
    with path.open("rb") as file:  # a missing file fails here, not at the first line
        start = file.read(4)
    if start.startswith(ZIP_MAGIC):
        raise HeaderError(ZIP_FILE)
    codec = python_codec(charset) if charset else detect_charset(path, japanese=japanese)
    return _read_lines(path, codec), codec


def _read_lines(path: Path, codec: str) -> Iterator[str]:
    with open_binary(path) as binary, io.TextIOWrapper(binary, codec, newline=None) as file:
        try:
            yield from file
        except UnicodeDecodeError:
            raise CharsetError(f"the file is not valid {codec}; name its charset") from None
