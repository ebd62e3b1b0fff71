"""Charsets: a download declaring ISO-8859-1 while its bytes are Cp1252.

C1 control characters in a declared ISO-8859-1 document are read as Cp1252 (Amazon's EU files
are Cp1252), so the first sync stores the right text; a later report carrying an order with
different text repairs the stored order. (A charset the seller names for ``import-report`` is
used as given: tests/test_importing.py.)
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from helpers.fault_harness import Harness, running
from helpers.sim import INVOICING, add_fault

from hyreka_plugin_amazon.contract import OrderStatus
from hyreka_plugin_amazon.reports.charsets import repair_c1

C1 = re.compile("[\x80-\x9f]")


@pytest.fixture
def harness(tmp_path: Path, host_env: dict[str, str]) -> Iterator[Harness]:
    with running(tmp_path / "data", host_env) as running_harness:
        yield running_harness


def _texts(h: Harness) -> list[str]:
    orders = h.host.store.list_orders(account_id=h.account.id)
    return [line.title or "" for order in orders for line in order.lines]


def test_c1_characters_of_a_declared_latin_1_document_are_cp1252() -> None:
    wrong = "Rooibos-Tee „Südafrika“".encode("cp1252").decode("latin-1")
    assert C1.search(wrong)
    assert repair_c1(wrong) == "Rooibos-Tee „Südafrika“"
    assert repair_c1("Straße 5") == "Straße 5"
    assert repair_c1("\x81") == "\x81"  # undefined in Cp1252: kept


def test_first_sync_with_a_wrong_latin_1_declaration_stores_the_right_text(
    harness: Harness,
) -> None:
    h = harness
    add_fault(h.sim, "charset_wrong", report_type=INVOICING, charset="ISO-8859-1", rate=1.0)
    result = h.sync()
    assert result.ok, result.message
    texts = _texts(h)
    assert any(c in text for text in texts for c in "„“–€"), "the generator's cp1252 punctuation"
    assert not [text for text in texts if C1.search(text)]
    h.assert_nothing_wrong()


def test_a_later_report_repairs_an_order_stored_with_mojibake(harness: Harness) -> None:
    h = harness
    assert h.sync().ok
    order = next(iter(h.host.store.list_orders(account_id=h.account.id, status=OrderStatus.OPEN)))
    line = order.lines[0]
    broken_title = (line.title or "x").encode("cp1252").decode("latin-1") + "\x84"
    broken = dataclasses.replace(order, lines=(dataclasses.replace(line, title=broken_title),))
    assert h.host.store.upsert_order(h.account.id, broken) == "updated"
    h.host.store.set_state(h.account.id, "cursor", None)  # a report that carries it again
    result = h.sync()
    assert result.ok
    assert result.updated >= 1
    h.assert_nothing_wrong()
