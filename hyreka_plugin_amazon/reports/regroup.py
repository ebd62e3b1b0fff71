"""The rows of one order brought together, wherever they stand in the file, in bounded memory.

Amazon's files do not always keep an order's rows together: the FBA shipments report is
sorted by shipment, so an order shipped in two shipments has its rows far apart (and one order
item shipped in two shipments has two rows). ``regrouped`` reads a report's data lines twice:

1. The first pass files every line away (``LineSpill``) and indexes it by its order id: for
   each order its runs of consecutive lines, for each line its row number.
2. The second pass yields every order's lines together, at the place of the order's first
   line, each line once, in file order within the order; a line without an order id is
   yielded at its own place.

Memory: the index holds a few numbers per line and per order; the lines themselves are kept
in memory up to ``SPILL_AFTER_CHARS`` and beyond that in a temporary file, block by block,
each block encrypted with AES-256-GCM under a key that exists only in this process's memory
(report content never reaches a disk unencrypted). The file is unlinked when it is made and
closed when the second pass ends or is abandoned.
"""

from __future__ import annotations

import os
import tempfile
from array import array
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import IO, Final

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SPILL_AFTER_CHARS: Final = 32 * 1024 * 1024  # lines kept in memory before the spill file
BLOCK_LINES: Final = 64
BLOCK_CHARS: Final = 32 * 1024
CACHED_BLOCKS: Final = 32  # decrypted blocks kept for the second pass (about 1 MB)
_SEPARATOR = "\n"  # never inside a line: lines are split at it


class LineSpill:
    """Lines appended one by one, read back by their index (0, 1, ...).

    Lines are collected in blocks; blocks stay in memory until ``memory_chars`` characters are
    held, later blocks go to an unlinked temporary file, encrypted (AES-256-GCM, a fresh
    random key per spill, the block number as nonce).
    """

    def __init__(self, memory_chars: int = SPILL_AFTER_CHARS) -> None:
        self._memory_chars = memory_chars
        self._held_chars = 0
        self._blocks: list[list[str] | None] = []  # None: the block is in the file
        self._places: dict[int, tuple[int, int, int]] = {}  # block -> offset, length, chars
        self._starts: list[int] = []  # the index of each block's first line
        self._current: list[str] = []
        self._current_chars = 0
        self._file: IO[bytes] | None = None
        self._cipher: AESGCM | None = None
        self._cache: OrderedDict[int, list[str]] = OrderedDict()
        self._last: tuple[int, int, list[str]] = (0, 0, [])  # start, end, lines of a block
        self._cached_chars = 0
        self.count = 0
        self.peak_chars = 0  # the most characters of lines held in memory at once

    @property
    def spilled_blocks(self) -> int:
        """How many blocks went to the temporary file."""
        return len(self._places)

    def append(self, line: str) -> None:
        self._current.append(line)
        self._current_chars += len(line)
        self.count += 1
        if len(self._current) >= BLOCK_LINES or self._current_chars >= BLOCK_CHARS:
            self._close_block()

    def finish(self) -> None:
        """No more lines: the last block is filed."""
        if self._current:
            self._close_block()

    def line(self, index: int) -> str:
        start, end, lines = self._last
        if start <= index < end:
            return lines[index - start]
        block = bisect_right(self._starts, index) - 1
        lines = self._block(block)
        start = self._starts[block]
        self._last = (start, start + len(lines), lines)
        return lines[index - start]

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        self._blocks, self._cache, self._current = [], OrderedDict(), []
        self._last, self._cached_chars = (0, 0, []), 0

    def _close_block(self) -> None:
        lines, chars = self._current, self._current_chars
        self._current, self._current_chars = [], 0
        number = len(self._blocks)
        self._starts.append(self.count - len(lines))
        if self._held_chars + chars <= self._memory_chars:
            self._held_chars += chars
            self.peak_chars = max(self.peak_chars, self._held_chars)
            self._blocks.append(lines)
            return
        if self._file is None or self._cipher is None:
            self._file = tempfile.TemporaryFile(prefix="hyreka-spill-")  # noqa: SIM115 (closed in close())
            self._cipher = AESGCM(AESGCM.generate_key(bit_length=256))
        sealed = self._cipher.encrypt(_nonce(number), _SEPARATOR.join(lines).encode(), None)
        offset = self._file.seek(0, os.SEEK_END)
        self._file.write(sealed)
        self._places[number] = (offset, len(sealed), chars)
        self._blocks.append(None)

    def _block(self, number: int) -> list[str]:
        lines = self._blocks[number]
        if lines is not None:
            return lines
        cached = self._cache.get(number)
        if cached is not None:
            self._cache.move_to_end(number)
            return cached
        assert self._file is not None  # a block was spilled: the file and key exist
        assert self._cipher is not None
        offset, length, chars = self._places[number]
        self._file.seek(offset)
        sealed = self._file.read(length)
        lines = self._cipher.decrypt(_nonce(number), sealed, None).decode().split(_SEPARATOR)
        self._cache[number] = lines
        self._cached_chars += chars
        if len(self._cache) > CACHED_BLOCKS:
            dropped, _ = self._cache.popitem(last=False)
            self._cached_chars -= self._places[dropped][2]
        self.peak_chars = max(self.peak_chars, self._held_chars + self._cached_chars)
        return lines


def _nonce(block: int) -> bytes:
    return block.to_bytes(12, "big")


def order_id_of(text: str, id_index: int) -> str:
    """The order id cell of a line (stripped, NULs dropped), "" when it has none."""
    cells = text.split("\t", id_index + 1)
    if len(cells) <= id_index:
        return ""
    cell = cells[id_index]
    if "\x00" in cell:
        cell = cell.replace("\x00", "")
    return cell.strip()


def regrouped(
    lines: Iterable[str],
    id_index: int,
    *,
    memory_chars: int = SPILL_AFTER_CHARS,
    spill: LineSpill | None = None,
) -> Iterator[tuple[int, str]]:
    """``(row number, line)`` of every non-blank data line (terminator removed), the lines
    of one order together (see the module's docstring). Row numbers count every line after
    the header from 1, blank ones included. The first ``next()`` reads all of ``lines``.
    ``spill``: where the lines are kept (a new ``LineSpill(memory_chars)`` when None)."""
    spill = spill if spill is not None else LineSpill(memory_chars)
    try:
        index = _Index()
        index.read(lines, id_index, spill)
        yield from index.regrouped(spill)
    finally:
        spill.close()


class _Index:
    """Where each order's lines are: for each line its row number and its order's ordinal
    (0: no order id); the lines of an order as runs of consecutive lines (a linked list of
    runs per ordinal). Arrays of numbers, a few bytes per line and per order."""

    def __init__(self) -> None:
        self.numbers = array("q")  # per line: its row number
        self.ordinals = array("q")  # per line: its order's ordinal
        self.first_run = array("q", [-1])  # per ordinal (0: no order id, no runs)
        self.last_run = array("q", [-1])
        self.run_start = array("q")  # per run: its first and last line, the order's next run
        self.run_end = array("q")
        self.run_next = array("q")

    def read(self, lines: Iterable[str], id_index: int, spill: LineSpill) -> None:
        """The first pass: every line filed in ``spill`` and indexed."""
        numbers, ordinals = self.numbers, self.ordinals
        first_run, last_run = self.first_run, self.last_run
        run_start, run_end, run_next = self.run_start, self.run_end, self.run_next
        ordinal_of: dict[str, int] = {}  # needed while reading only
        previous = 0
        number = 0
        append = spill.append
        for line in lines:
            number += 1
            text = line.rstrip("\r\n")
            if not text or text.isspace():
                continue
            index = spill.count
            append(text)
            numbers.append(number)
            order_id = order_id_of(text, id_index)
            if not order_id:
                ordinals.append(0)
                previous = 0
                continue
            ordinal = ordinal_of.get(order_id)
            if ordinal is not None and ordinal == previous:  # the order's run goes on
                run_end[last_run[ordinal]] = index
            else:  # a new order, or an order coming back after other lines: a new run
                run = len(run_start)
                run_start.append(index)
                run_end.append(index)
                run_next.append(-1)
                if ordinal is None:
                    ordinal = ordinal_of[order_id] = len(first_run)
                    first_run.append(run)
                    last_run.append(run)
                else:
                    run_next[last_run[ordinal]] = run
                    last_run[ordinal] = run
            ordinals.append(ordinal)
            previous = ordinal
        spill.finish()

    def regrouped(self, spill: LineSpill) -> Iterator[tuple[int, str]]:
        """The second pass: each order's lines at the place of its first line."""
        numbers, ordinals, first_run = self.numbers, self.ordinals, self.first_run
        run_start, run_end, run_next = self.run_start, self.run_end, self.run_next
        line = spill.line
        for index in range(spill.count):
            ordinal = ordinals[index]
            if ordinal == 0:
                yield numbers[index], line(index)
                continue
            run = first_run[ordinal]
            if run_start[run] != index:
                continue  # yielded with its order's first line
            while run != -1:
                for position in range(run_start[run], run_end[run] + 1):
                    yield numbers[position], line(position)
                run = run_next[run]
