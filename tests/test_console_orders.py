"""The order list's query (``services.orders.OrderQuery``/``find_orders``: filter, days,
search, sort, pages) and the one way amounts and times are written (``i18n.formatting``), which
the CLI and the console share."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from cryptography.fernet import Fernet
from helpers.records import make_account, make_order

from hyreka_plugin_amazon.contract import Address, Order, OrderLine, OrderStatus
from hyreka_plugin_amazon.refhost.cli import orderlist
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.i18n import formatting
from hyreka_plugin_amazon.refhost.safety.audit import AuditLog
from hyreka_plugin_amazon.refhost.services.orders import (
    OrderQuery,
    SortKey,
    find_orders,
    searchable,
)

BERLIN = ZoneInfo("Europe/Berlin")

# ------------------------------------------------------------------------------ formatting


@pytest.mark.parametrize(
    ("amount", "currency", "lang", "shown"),
    [
        ("9.90", "EUR", "de", "9,90 €"),
        ("9.90", "EUR", "en", "€9.90"),
        ("1234.5", "EUR", "de", "1.234,50 €"),
        ("1234.5", "EUR", "en", "€1,234.50"),
        ("-5", "GBP", "de", "-5,00 £"),
        ("-5", "GBP", "en", "-£5.00"),
        ("12", "SEK", "de", "12,00 SEK"),
        ("12", "SEK", "en", "12.00 SEK"),
        ("12", None, "de", "12,00"),
    ],
)
def test_money_is_written_one_way(amount: str, currency: str | None, lang: str, shown: str) -> None:
    assert formatting.money(Decimal(amount), currency, lang) == shown
    assert orderlist.money(Decimal(amount), currency, lang) == shown  # the CLI's is the same


def test_times_are_shown_in_the_sellers_zone_with_its_label() -> None:
    winter = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)
    summer = datetime(2026, 7, 5, 22, 30, tzinfo=UTC)
    assert formatting.local_time(winter, "de", BERLIN) == "05.01.2026 10:30 MEZ"
    assert formatting.local_time(winter, "en", BERLIN) == "5 Jan 2026 10:30 CET"
    assert formatting.local_time(summer, "de", BERLIN) == "06.07.2026 00:30 MESZ"
    assert formatting.local_time(summer, "en", BERLIN, seconds=True) == "6 Jul 2026 00:30:00 CEST"
    assert formatting.local_time(None, "de", BERLIN) == "-"
    london = formatting.seller_zone({"HYREKA_TZ": "Europe/London"})
    assert formatting.local_time(winter, "de", london) == "05.01.2026 09:30 GMT"
    assert formatting.seller_zone({}) == BERLIN
    with pytest.raises(ValueError, match="Europe/Berlin"):
        formatting.seller_zone({"HYREKA_TZ": "Mars/Olympus"})


def test_a_sellers_days_are_bounded_in_the_sellers_zone() -> None:
    start, end = formatting.day_bounds(date(2026, 1, 6), date(2026, 1, 6), BERLIN)
    assert start == datetime(2026, 1, 5, 23, 0, tzinfo=UTC)
    assert end == datetime(2026, 1, 6, 23, 0, tzinfo=UTC)
    assert formatting.day_bounds(None, None, BERLIN) == (None, None)


# ------------------------------------------------------------------------------ the query


def test_the_query_opens_on_open_orders_newest_first_and_round_trips() -> None:
    default = OrderQuery.from_args({})
    assert (default.status, default.sort, default.descending, default.page) == (
        OrderStatus.OPEN,
        SortKey.DATE,
        True,
        1,
    )
    query = OrderQuery(
        status=None,
        first_day=date(2026, 1, 1),
        last_day=date(2026, 1, 31),
        search="Vollzug",
        sort=SortKey.BUYER,
        descending=False,
        page=3,
    )
    assert OrderQuery.from_args(query.as_args()) == query
    bad = OrderQuery.from_args({"status": "nope", "sort": "x", "page": "-4", "from": "5.1."})
    assert bad == OrderQuery()
    assert OrderQuery.from_args({"sort": "total"}).descending is False  # A to Z, small first
    assert query.sorted_by(SortKey.BUYER).descending is True  # the same column: turned round
    assert query.sorted_by(SortKey.BUYER).page == 1
    assert query.sorted_by(SortKey.DATE).descending is True  # dates: newest first


def _order(
    order_id: str,
    *,
    day: int,
    hour: int = 12,
    name: str = "Erika Mustermann",
    city: str = "Köln",
    sku: str = "SKU-TASSE",
    title: str = "Kaffeetasse",
    price: str = "19.80",
    status: OrderStatus = OrderStatus.OPEN,
    billing: bool = True,
) -> Order:
    base = make_order(order_id, status)
    address = Address(name, ("Hauptstr. 1",), "50667", city, "DE")
    line = OrderLine("11", sku, title, 1, Decimal(price), Decimal("0"))
    return dataclasses.replace(
        base,
        purchase_date=datetime(2026, 1, day, hour, 0, tzinfo=UTC),
        lines=(line,),
        billing_address=address if billing else None,
        shipping_address=address,
        billing_address_missing=not billing,
    )


ORDERS = (
    _order("028-0000001-0000001", day=3, name="Anna Zimmermann", city="Berlin", price="5"),
    _order("028-0000002-0000002", day=5, name="Bernd Müller", city="München", sku="SKU-KANNE",
           title="Teekanne Porzellan", price="40"),
    _order("028-0000003-0000003", day=5, hour=23, name="Carla Schäfer", city="Hamburg",
           price="12.5"),  # 00:00 on 6 January in Berlin
    _order("028-0000004-0000004", day=7, name="Dieter Müller", city="Köln", price="99",
           status=OrderStatus.SHIPPED),
    _order("028-0000005-0000005", day=8, name="Emil Braun", city="Dresden", billing=False),
)  # fmt: skip


@pytest.fixture
def host(tmp_path: Path) -> Iterator[ReferenceHost]:
    env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    with ReferenceHost(tmp_path / "data", env=env) as opened:
        opened.store.add_account(make_account(name="shop"))
        for order in ORDERS:
            opened.store.upsert_order("acc-1", order)
        yield opened


def _ids(host: ReferenceHost, **query: object) -> list[str]:
    page = find_orders(host, "acc-1", OrderQuery(**query), zone=BERLIN)  # type: ignore[arg-type]
    return [o.amazon_order_id[-1] for o in page.orders]


def test_open_orders_newest_first_with_counts_by_status(host: ReferenceHost) -> None:
    page = find_orders(host, "acc-1", OrderQuery(), zone=BERLIN)
    assert [o.amazon_order_id[-1] for o in page.orders] == ["5", "3", "2", "1"]
    assert page.counts == {OrderStatus.OPEN: 4, OrderStatus.SHIPPED: 1}
    assert (page.total, page.pages, page.page) == (4, 1, 1)
    assert _ids(host, status=None) == ["5", "4", "3", "2", "1"]
    assert _ids(host, status=OrderStatus.PENDING) == []


def test_search_finds_surname_city_sku_title_and_number(host: ReferenceHost) -> None:
    assert _ids(host, status=None, search="müller") == ["4", "2"]
    assert _ids(host, search="MÜLLER") == ["2"]  # open orders only
    assert _ids(host, status=None, search="hamburg") == ["3"]
    assert _ids(host, status=None, search="sku-kanne") == ["2"]
    assert _ids(host, status=None, search="porzellan") == ["2"]
    assert _ids(host, status=None, search="0000004") == ["4"]
    assert _ids(host, status=None, search="müller köln") == ["4"]  # every word
    assert _ids(host, status=None, search="nobody") == []
    assert "+49" not in searchable(ORDERS[0])  # no phone or e-mail in what is searched


def test_sorting_by_each_column(host: ReferenceHost) -> None:
    everything = {"status": None}
    assert _ids(host, **everything, sort=SortKey.DATE, descending=False) == list("12345")
    assert _ids(host, **everything, sort=SortKey.BUYER, descending=False) == list("12345")
    assert _ids(host, **everything, sort=SortKey.BUYER) == list("54321")
    totals = _ids(host, **everything, sort=SortKey.TOTAL, descending=False)
    assert totals == ["1", "3", "5", "2", "4"]  # 5, 12.50, 19.80, 40, 99
    assert _ids(host, **everything, sort=SortKey.STATUS, descending=False)[-1] == "4"
    assert _ids(host, **everything, sort=SortKey.ID, descending=True) == list("54321")
    searched = _ids(host, **everything, search="müller", sort=SortKey.TOTAL, descending=False)
    assert searched == ["2", "4"]


def test_pages_and_a_page_past_the_end(host: ReferenceHost) -> None:
    first = find_orders(host, "acc-1", OrderQuery(status=None, per_page=2), zone=BERLIN)
    assert (first.total, first.pages) == (5, 3)
    assert [o.amazon_order_id[-1] for o in first.orders] == ["5", "4"]
    last = find_orders(host, "acc-1", OrderQuery(status=None, per_page=2, page=9), zone=BERLIN)
    assert last.page == 3
    assert [o.amazon_order_id[-1] for o in last.orders] == ["1"]


def test_days_are_the_sellers(host: ReferenceHost) -> None:
    sixth = date(2026, 1, 6)
    assert _ids(host, first_day=sixth, last_day=sixth) == ["3"]  # 23:00 UTC on the 5th
    assert _ids(host, last_day=date(2026, 1, 5)) == ["2", "1"]
    assert _ids(host, status=None, first_day=date(2026, 1, 7)) == ["5", "4"]


def test_a_shown_page_is_audited_without_who(host: ReferenceHost) -> None:
    find_orders(host, "acc-1", OrderQuery(search="müller"), zone=BERLIN)
    find_orders(host, "acc-1", OrderQuery(search="nobody"), zone=BERLIN)
    entries = [e for e in AuditLog(host.data_dir).entries() if e.action == "orders.view"]
    assert len(entries) == 1
    text = str(entries[0])
    assert "Müller" not in text
    assert "müller" not in text
