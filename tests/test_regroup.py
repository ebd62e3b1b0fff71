"""The rows of one order together wherever they stand, in bounded memory, never on disk in
the clear (``reports.regroup``)."""

from __future__ import annotations

import random

import pytest

from hyreka_plugin_amazon.reports.regroup import (
    BLOCK_CHARS,
    CACHED_BLOCKS,
    CHECK_EVERY,
    LineSpill,
    regrouped,
)

NAME = "Käthe Schäfer-Müller"


def test_lines_of_an_order_come_together_at_its_first_line() -> None:
    lines = ["A\t1", "B\t1", "", "A\t2", "\t-", "C\t1", "B\t2", "A\t3\r\n"]
    assert list(regrouped(lines, 0)) == [
        (1, "A\t1"),
        (4, "A\t2"),
        (8, "A\t3\r\n"),  # as read
        (2, "B\t1"),
        (7, "B\t2"),
        (5, "\t-"),  # no order id: at its own place
        (6, "C\t1"),
    ]


def test_the_order_id_column_need_not_be_the_first() -> None:
    lines = ["x\tA", "x\tB", "y\tA", "short"]
    assert [number for number, _ in regrouped(lines, 1)] == [1, 3, 2, 4]


def test_spilled_blocks_are_encrypted_and_read_back() -> None:
    spill = LineSpill(memory_chars=0)  # everything to the file
    lines = [f"302-0000000-{n:07d}\t{NAME}\tLindenallee {n}" for n in range(3000)]
    for line in lines:
        spill.append(line)
    spill.finish()
    assert spill.spilled_blocks > 1
    file = spill._file  # the unlinked temporary file
    assert file is not None
    file.seek(0)
    raw = file.read()
    assert len(raw) > 3000 * 30
    for encoding in ("utf-8", "cp1252", "utf-16-le"):
        assert NAME.encode(encoding) not in raw
        assert "Lindenallee".encode(encoding) not in raw
    order = list(range(3000))
    random.Random(5).shuffle(order)
    assert [spill.line(n) for n in order] == [lines[n] for n in order]
    spill.close()
    assert file.closed


def test_a_large_scattered_report_is_grouped_in_bounded_memory() -> None:
    header = "\t".join(["amazon-order-id", "amazon-order-item-id", "purchase-date", "sku",
                        "quantity-shipped", "currency", "item-price", "x"])  # fmt: skip
    filler = "y" * 500

    def row(order: int, item: int) -> str:
        return f"028-{order:07d}-0000001\t{item}\t2026-11-20T10:00:00+00:00\tS\t1\tEUR\t1\t{filler}"

    # sorted by shipment: every order shipped twice, its second shipment far below the first
    orders = 10000
    rows = [row(n, 1) for n in range(orders)] + [row(n, 2) for n in range(orders)]
    text_chars = sum(map(len, rows))
    lines = (line + "\r\n" for line in [header, *rows])  # each line a new string, as read
    next(lines)
    spill = LineSpill(memory_chars=256 * 1024)
    seen: list[str] = []
    for _, line in regrouped(lines, 0, spill=spill):
        order_id = line.split("\t", 1)[0]
        if not seen or seen[-1] != order_id:
            seen.append(order_id)
    assert len(seen) == len(set(seen)) == orders  # every order's rows together, each once
    assert spill.spilled_blocks > 300
    # lines in memory at most: the budget and the blocks the second pass keeps decrypted
    # (each may end with one line beyond its size; memory is counted every CHECK_EVERY lines)
    longest = max(map(len, rows))
    bound = 256 * 1024 + CACHED_BLOCKS * BLOCK_CHARS + (CACHED_BLOCKS + CHECK_EVERY) * longest
    assert spill.peak_chars <= bound < text_chars / 8


def test_with_a_replay_the_first_pass_keeps_no_line() -> None:
    lines = [f"302-0000000-{n // 2:07d}\t{NAME}\t{n}\n" for n in range(500)]
    replays: list[int] = []

    def replay() -> list[str]:
        replays.append(1)
        return list(lines)

    spill = LineSpill()
    assert list(regrouped(iter(lines), 0, spill=spill, replay=replay)) == list(
        regrouped(iter(lines), 0)
    )
    assert replays == [1]  # read once more, for the second pass
    assert spill.count == 0  # nothing held between the passes
    assert spill.peak_chars == 0


def test_a_scattered_file_with_a_replay_is_grouped_as_without() -> None:
    lines = ["A\t1", "B\t1", "", "A\t2", "\t-", "C\t1", "B\t2", "A\t3\r\n"]
    with_replay = regrouped(iter(lines), 0, replay=lambda: list(lines))
    assert list(with_replay) == list(regrouped(iter(lines), 0))


def test_a_replay_with_other_lines_than_the_first_reading_is_an_error() -> None:
    lines = ["A\t1", "B\t1"]
    with pytest.raises(ValueError, match="shorter"):  # zip(strict=True): no row out of place
        list(regrouped(iter(lines), 0, replay=lambda: ["A\t1"]))
