"""The rows of one order brought together, wherever they stand in the file, in bounded memory.

Amazon's files do not always keep an order's rows together: the FBA shipments report is
sorted by shipment, so an order shipped in two shipments has its rows far apart (and one order
item shipped in two shipments has two rows). ``regrouped`` reads a report's data lines twice:

1. The first pass files every line away (``LineSpill``) and indexes it by its order id: for
   each order its runs of consecutive lines, for each line its row number.
2. The second pass yields every order's lines together, at the place of the order's first
   line, each line once, in file order within the order; a line without an order id is
   yielded at its own place.

With ``replay`` (the lines once more: a download kept in memory, ``DocumentStream.replay``)
the first pass keeps no line: the second reads them again. Only a file with scattered orders
is then filed away as below, during that second reading.

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
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Final

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

SPILL_AFTER_CHARS: Final = 32 * 1024 * 1024  # lines kept in memory before the spill file
BLOCK_LINES: Final = 64
BLOCK_CHARS: Final = 32 * 1024
CACHED_BLOCKS: Final = 32  # decrypted blocks kept for the second pass (about 1 MB)
_SEPARATOR = "\n"  # never inside a line: lines are split at it
CHECK_EVERY: Final = 64  # lines appended to memory between two counts of their characters


class LineSpill:
    """Lines appended one by one, read back by their index (0, 1, ...).

    The first lines stay in memory until ``memory_chars`` characters are held; the later ones
    are collected in blocks that go to an unlinked temporary file, each encrypted (AES-256-GCM,
    a fresh random key per spill, the block number as nonce), read back block by block (the
    last ``CACHED_BLOCKS`` kept decrypted).
    """

    def __init__(self, memory_chars: int = SPILL_AFTER_CHARS) -> None:
        self._memory_chars = memory_chars
        self.held: list[str] = []  # the lines kept in memory: 0 .. len(held) - 1
        self._held_chars = 0
        self._spilling = False
        self._places: list[tuple[int, int, int]] = []  # per block: offset, length, chars
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
        self.count += 1
        if not self._spilling:
            self.held.append(line)
            self._held_chars += len(line)
            if self._held_chars >= self._memory_chars:
                self._spilling = True
            self.peak_chars = max(self.peak_chars, self._held_chars)
            return
        self._current.append(line)
        self._current_chars += len(line)
        if len(self._current) >= BLOCK_LINES or self._current_chars >= BLOCK_CHARS:
            self._close_block()

    def held_lines(self, added: int) -> bool:
        """``added`` lines were appended to ``held`` directly (a fast path of ``append``):
        count them; True while there is room for more in memory."""
        self.count += added
        self._held_chars += sum(map(len, self.held[len(self.held) - added :]))
        self.peak_chars = max(self.peak_chars, self._held_chars)
        if self._held_chars >= self._memory_chars:
            self._spilling = True
        return not self._spilling

    @property
    def all_held(self) -> bool:
        """Whether every line is in ``held`` (nothing went to the file)."""
        return not self._places and not self._current

    def finish(self) -> None:
        """No more lines: the last block is filed."""
        if self._current:
            self._close_block()

    def line(self, index: int) -> str:
        held = self.held
        if index < len(held):
            return held[index]
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
        self.held, self._cache, self._current = [], OrderedDict(), []
        self._last, self._cached_chars = (0, 0, []), 0

    def _close_block(self) -> None:
        lines, chars = self._current, self._current_chars
        self._current, self._current_chars = [], 0
        number = len(self._places)
        self._starts.append(self.count - len(lines))
        if self._file is None or self._cipher is None:
            self._file = tempfile.TemporaryFile(prefix="hyreka-spill-")  # noqa: SIM115 (closed in close())
            self._cipher = AESGCM(AESGCM.generate_key(bit_length=256))
        text = _SEPARATOR.join(line.rstrip("\r\n") for line in lines)  # read back stripped
        sealed = self._cipher.encrypt(_nonce(number), text.encode(), None)
        offset = self._file.seek(0, os.SEEK_END)
        self._file.write(sealed)
        self._places.append((offset, len(sealed), chars))

    def _block(self, number: int) -> list[str]:
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
    start = 0
    for _ in range(id_index):
        start = text.find("\t", start) + 1
        if not start:
            return ""
    end = text.find("\t", start)
    cell = text[start:end] if end >= 0 else text[start:]
    if "\x00" in cell:
        cell = cell.replace("\x00", "")
    return cell.strip()


LastLines = Callable[[int, str, str], None]


def regrouped(
    lines: Iterable[str],
    id_index: int,
    *,
    memory_chars: int = SPILL_AFTER_CHARS,
    spill: LineSpill | None = None,
    on_end: LastLines | None = None,
    replay: Callable[[], Iterable[str]] | None = None,
) -> Iterator[tuple[int, str]]:
    """``(row number, line)`` of every non-blank data line (its line end may be kept), the
    lines of one order together (see the module's docstring). Row numbers count every line after
    the header from 1, blank ones included. The first ``next()`` reads all of ``lines``;
    then ``on_end(number, last, before)`` gets the last line's number and the last two raw
    lines (with their line ends). ``spill``: where the lines are kept (a new
    ``LineSpill(memory_chars)`` when None). ``replay``: ``lines`` once more, read for the
    second pass instead of keeping them in the first."""
    spill = spill if spill is not None else LineSpill(memory_chars)
    try:
        index = _Index()
        index.read(lines, id_index, spill, on_end, keep=replay is None)
        if replay is not None:
            again = (text for text in replay() if text and not text.isspace())
            if not index.scattered:  # the usual file: yielded as it is read again
                yield from zip(index.numbers, again, strict=True)
                return
            for text in again:
                spill.append(text)
            spill.finish()
        yield from index.regrouped(spill)
    finally:
        spill.close()


class _Index:
    """Where each order's lines are: for each line its row number and its order's ordinal
    (0: no order id; arrays, a few bytes per line), and the ordinals of the orders whose lines
    do not all stand together (``scattered``). Only theirs are collected for the second pass;
    a file without any is read back in its own order."""

    def __init__(self) -> None:
        self.numbers = array("q")  # per line: its row number
        self.ordinals = array("q")  # per line: its order's ordinal
        self.scattered: set[int] = set()

    def read(
        self,
        lines: Iterable[str],
        id_index: int,
        spill: LineSpill,
        on_end: LastLines | None,
        *,
        keep: bool = True,
    ) -> None:
        """The first pass: every line indexed and (``keep``) filed in ``spill``."""
        numbers, ordinals, scattered = self.numbers, self.ordinals, self.scattered
        ordinal_of: dict[str, int] = {}  # needed while reading only
        previous_id, previous = "", 0
        number = 0
        line = before = "\n"
        held = spill.held.append  # the fast path while there is room in memory
        room, unheld = True, 0
        for text in lines:  # kept as read, line end and all (a stripped copy costs time)
            number += 1
            before, line = line, text
            if not text or text.isspace():
                continue
            if keep:
                if room:
                    held(text)
                    unheld += 1
                    if unheld == CHECK_EVERY:
                        room, unheld = spill.held_lines(unheld), 0
                else:
                    spill.append(text)
            numbers.append(number)
            if id_index == 0:  # the usual place: order-id and amazon-order-id come first
                end = text.find("\t")
                order_id = text[:end] if end >= 0 else text
                if "\x00" in order_id:
                    order_id = order_id.replace("\x00", "")
                order_id = order_id.strip()
            else:
                order_id = order_id_of(text, id_index)
            if order_id == previous_id:  # the order's lines go on (or still none with an id)
                ordinals.append(previous)
                continue
            if not order_id:
                ordinal = 0
            else:
                found = ordinal_of.get(order_id)
                if found is None:
                    ordinal = ordinal_of[order_id] = len(ordinal_of) + 1
                else:  # the order comes back after other lines
                    ordinal = found
                    scattered.add(ordinal)
            ordinals.append(ordinal)
            previous_id, previous = order_id, ordinal
        if unheld:
            spill.held_lines(unheld)
        if keep:
            spill.finish()
        if on_end is not None:
            on_end(number, line, before)

    def regrouped(self, spill: LineSpill) -> Iterator[tuple[int, str]]:
        """The second pass: each order's lines at the place of its first line."""
        numbers, ordinals, scattered = self.numbers, self.ordinals, self.scattered
        if not scattered and spill.all_held:  # the usual file: read back as it was read
            yield from zip(numbers, spill.held, strict=True)
            return
        line = spill.held.__getitem__ if spill.all_held else spill.line
        if not scattered:  # every order's lines stand together already
            for index in range(spill.count):
                yield numbers[index], line(index)
            return
        apart: dict[int, list[int]] = {}  # the lines of each scattered order
        for index, ordinal in enumerate(ordinals):
            if ordinal in scattered:
                apart.setdefault(ordinal, []).append(index)
        for index in range(spill.count):
            ordinal = ordinals[index]
            positions = apart.get(ordinal) if ordinal else None
            if positions is None:
                yield numbers[index], line(index)
            elif positions[0] == index:  # the first line of a scattered order: all of them
                for position in positions:
                    yield numbers[position], line(position)
