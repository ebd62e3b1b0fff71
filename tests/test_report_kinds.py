"""Issue 23: every row and every cent as Amazon wrote it. For each kind of file that used to
import wrongly, a file of that kind (``fixtures/``, written from Amazon's documented column
lists and public layouts) is read as a person reading it would: orders, items with summed
quantities, every amount, addresses, no invented prices, refused ids with their cause.
The same kinds through a sync against the simulator are in ``test_report_kinds_sync.py``."""

from __future__ import annotations

import dataclasses
import gzip
import json
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from helpers.records import make_account

from hyreka_plugin_amazon.contract import Order
from hyreka_plugin_amazon.importing import ImportedReport, read_report_file
from hyreka_plugin_amazon.refhost.cli import main as cli
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.reports import cells as Cells
from hyreka_plugin_amazon.reports.catalogue import Layout
from hyreka_plugin_amazon.reports.reader import HeaderError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DE = "A1PA6795UKMFR9"


def by_id(report: ImportedReport) -> dict[str, Order]:
    return {order.amazon_order_id: order for order in report.orders}


def errors_by_row(report: ImportedReport) -> dict[int | None, tuple[str | None, str]]:
    return {error.row: (error.column, error.reason) for error in report.errors}


# --------------------------------------------------------------------------------------------
# 1. Rows of one order far apart; one item in two shipments


def test_fba_shipments_of_one_order_far_apart_are_one_order_with_summed_items() -> None:
    report = read_report_file(FIXTURES / "fba-shipments-split-de.txt")
    assert report.layout is Layout.FBA_SHIPMENTS
    orders = by_id(report)
    assert sorted(orders) == ["028-4100001-0000001", "028-4100002-0000002"]
    split = orders["028-4100001-0000001"]  # rows 1, 2 and 4: shipments of 17 and 18 Nov
    cup, coasters = split.lines
    assert (cup.order_item_id, cup.quantity) == ("33300000000201", 3)  # 2 + 1 shipped
    assert (cup.item_price, cup.item_tax) == (Decimal("59.97"), Decimal("9.57"))
    assert (cup.gift_wrap_price, cup.gift_wrap_tax) == (Decimal("5.97"), Decimal("0.96"))
    assert cup.item_promotion_discount == Decimal("-6.00")
    assert (coasters.order_item_id, coasters.quantity) == ("33300000000202", 1)
    assert (coasters.shipping_price, coasters.ship_promotion_discount) == (
        Decimal("4.90"),
        Decimal("-4.90"),
    )
    # what Amazon charged: items 59.97 + 9.90, gift wrap 5.97, shipping 4.90 less promotions
    assert split.total == Decimal("59.97") + Decimal("9.90") + Decimal("5.97") - Decimal("6.00")
    assert split.billing_address is not None
    assert split.billing_address.lines == ("Postfach 11 02 33",)
    assert report.duplicates_skipped == 1  # order B's row repeated byte for byte (row 6)
    assert orders["028-4100002-0000002"].lines[0].quantity == 2
    # the same shipment item twice with different quantities: which one is Amazon's?
    assert errors_by_row(report) == {
        5: (None, "not imported: row 7 of this order failed"),
        7: ("shipment-item-id", "the shipment item appears twice with different values"),
    }
    assert report.warnings == ()


# --------------------------------------------------------------------------------------------
# 2. Every money column the buyer paid


def test_gift_wrap_shipping_and_promotions_all_reach_the_order() -> None:
    report = read_report_file(FIXTURES / "all-orders-gift-wrap.txt", default_marketplace_id=DE)
    shipped = by_id(report)["302-6100001-0000001"]
    cups, tea = shipped.lines
    assert (cups.gift_wrap_price, cups.gift_wrap_tax) == (Decimal("3.98"), Decimal("0.64"))
    assert cups.item_promotion_discount == Decimal("-2.60")  # positive in this report
    assert (tea.gift_wrap_price, tea.gift_wrap_tax) == (Decimal("0"), Decimal("0"))  # empty
    assert (tea.shipping_price, tea.shipping_tax) == (Decimal("4.90"), Decimal("0.78"))
    assert tea.ship_promotion_discount == Decimal("-4.90")
    assert cups.points_granted is None  # no such column: not said, not 0
    # 25.98 + 5.95 items, 3.98 gift wrap, 4.90 shipping, less 2.60 and 4.90 promotions
    assert shipped.total == Decimal("33.31")
    assert not shipped.prices_missing


def test_a_money_column_the_connector_does_not_know_is_a_warning_naming_it(
    tmp_path: Path,
) -> None:
    text = (FIXTURES / "all-orders-gift-wrap.txt").read_text("utf-8").splitlines()
    widened = [text[0] + "\tgift-wrap-discount", *(line + "\t0.50" for line in text[1:])]
    path = tmp_path / "widened.txt"
    path.write_text("\n".join(widened) + "\n", "utf-8")
    report = read_report_file(path)
    assert len(report.orders) == 2  # the orders import; the amounts of that column do not
    (warning,) = (w for w in report.warnings if "gift-wrap-discount" in w["en"])
    assert warning["en"].startswith("The report has money columns this connector does not know")
    assert warning["de"].startswith("Der Bericht hat Betragsspalten, die dieser Connector")
    assert "gift-wrap-discount" in warning["de"]


# --------------------------------------------------------------------------------------------
# 3. No invented prices


def test_a_report_without_price_columns_imports_no_prices() -> None:
    report = read_report_file(FIXTURES / "unshipped-orders-de.txt", default_marketplace_id=DE)
    assert report.layout is Layout.UNSHIPPED
    assert report.errors == []
    orders = by_id(report)
    assert len(orders) == 2
    for order in orders.values():
        assert order.prices_missing
        assert order.total is None
        assert order.currency is None
        for line in order.lines:
            assert all(getattr(line, name) is None for name in ("item_price", "item_tax",
                       "shipping_price", "gift_wrap_price", "item_promotion_discount"))  # fmt: skip
        assert order.as_dict()["prices_missing"] is True
        assert order.as_dict()["lines"][0]["item_price"] is None
    two = orders["028-7100001-0000001"]
    assert [(line.sku, line.quantity) for line in two.lines] == [("LED-E27-4P", 2), ("USB-C-2M", 1)]
    (warning,) = report.warnings
    assert "2 order(s)" in warning["en"]
    assert "unknown, not 0" in warning["en"]
    assert "unbekannt, nicht 0" in warning["de"]


def test_a_pending_order_of_the_all_orders_report_has_no_prices() -> None:
    report = read_report_file(FIXTURES / "all-orders-gift-wrap.txt")
    pending = by_id(report)["302-6100002-0000002"]
    assert pending.prices_missing
    assert pending.total is None
    assert pending.lines[0].item_price is None
    assert report.warnings[0]["en"].startswith("The report has no prices for 1 order(s)")


@pytest.mark.parametrize("name", ["all-orders-gift-wrap.txt", "fba-shipments-split-de.txt"])
def test_stored_and_read_back_the_amounts_stay(name: str) -> None:
    for order in read_report_file(FIXTURES / name).orders:
        assert Order.from_dict(order.as_record()) == order


def test_importing_a_report_without_prices_keeps_the_prices_the_host_has(
    refhost: ReferenceHost,
) -> None:
    account = make_account()
    refhost.store.add_account(account)
    unshipped = FIXTURES / "unshipped-orders-de.txt"
    (order, _) = sorted(read_report_file(unshipped).orders, key=lambda o: o.amazon_order_id)
    priced = dataclasses.replace(
        order,
        currency="EUR",
        lines=tuple(
            dataclasses.replace(line, item_price=Decimal("15.49"), item_tax=Decimal("2.47"))
            for line in order.lines
        ),
    )
    refhost.store.upsert_order(account.id, priced)  # what a sync stored from the order report
    _, counts = refhost.import_report(unshipped, account_name=account.name)
    assert counts["created"] == 1
    stored = refhost.store.get_order(account.id, order.amazon_order_id)
    assert stored is not None
    assert (stored.lines, stored.currency) == (priced.lines, "EUR")  # never a price erased
    assert stored.total == Decimal("15.49") * 2
    other = refhost.store.get_order(account.id, "028-7100002-0000002")
    assert other is not None
    assert other.prices_missing
    assert other.total is None


# --------------------------------------------------------------------------------------------
# 4. Ids a spreadsheet rewrote

SPREADSHEET = "(opened and saved in a spreadsheet?)"


def test_ids_and_cells_a_spreadsheet_rewrote_are_refused_with_the_likely_cause(
    refhost: ReferenceHost,
) -> None:
    path = FIXTURES / "orders-spreadsheet-ids.txt"
    report = read_report_file(path, default_marketplace_id=DE)
    assert [order.amazon_order_id for order in report.orders] == ["302-8100008-0000008"]
    assert errors_by_row(report) == {
        1: ("order-item-id", f"a number in scientific notation {SPREADSHEET}"),
        2: ("order-item-id", f"a number in scientific notation {SPREADSHEET}"),
        3: ("order-item-id", f"a number with a decimal separator {SPREADSHEET}"),
        4: ("order-id", f"not an Amazon order id: leading zeros lost {SPREADSHEET}"),
        5: ("item-price", f"a decimal comma, not a point {SPREADSHEET}"),
        6: ("purchase-date", f"a date as a spreadsheet writes it {SPREADSHEET}"),
        7: ("order-id", f"a number in scientific notation {SPREADSHEET}"),
    }
    problems = refhost.import_report(path, account_name=None, dry_run=True)[0].problems
    first = next(p for p in problems if p.row == 1)
    assert first.messages["de"] == (
        "eine Zahl in wissenschaftlicher Schreibweise "
        "(in einer Tabellenkalkulation geöffnet und gespeichert?)"
    )
    assert "Gisela" not in repr(problems)  # a reason never quotes a cell
    assert "Kirchgasse" not in repr(problems)


def test_amazons_own_id_shapes_are_kept() -> None:
    report = read_report_file(FIXTURES / "fba-shipments-split-de.txt")
    assert {line.order_item_id for o in report.orders for line in o.lines} >= {"33300000000201"}
    assert Cells.OrderId().parse("S02-4648163-2660520") == "S02-4648163-2660520"  # multi-channel
    assert Cells.ItemId().parse("0938446464647") == "0938446464647"  # a leading zero stays
    assert Cells.ShipmentItemId().parse("DHf2GPpHR") == "DHf2GPpHR"
    with pytest.raises(ValueError, match="scientific notation"):
        Cells.ShipmentItemId().parse("1.82113E+13")


# --------------------------------------------------------------------------------------------
# 5. Placeholders and 6. hand-downloaded files: Japan's cp932 FBA report


JAPAN = "A1VC38T7YXB528"


@pytest.mark.parametrize("marketplace", [None, JAPAN])
def test_a_japanese_fba_report_reads_without_a_charset(marketplace: str | None) -> None:
    path = FIXTURES / "fba-shipments-jp-cp932.txt"
    report = read_report_file(path, default_marketplace_id=marketplace)
    assert report.charset == "cp932"
    assert report.errors == []
    orders = by_id(report)
    toaster = orders["249-5100001-0000001"]
    assert toaster.marketplace_id == JAPAN
    (line,) = toaster.lines  # two shipments, a day apart, from two fulfilment centres
    assert (line.quantity, line.item_price) == (2, Decimal("49464.00"))
    assert (line.gift_wrap_price, line.points_granted) == (Decimal("308.00"), Decimal("494"))
    assert toaster.total == Decimal("49772.00")  # points are the seller's, not charged
    address = toaster.shipping_address
    assert address is not None
    assert address.city is None  # "--": Amazon's none, not a city
    assert (address.state, address.lines) == ("東京都", ("架空町1-2-3", "さくらハイツ201"))
    assert toaster.billing_address is None  # Japan's FBA report leaves bill-* empty
    shop = orders["503-5100002-0000002"].shipping_address
    assert shop is not None
    assert shop.lines == ("見本市中央5丁目6-7", "合同会社サンプル")  # the "--" line left out
    assert orders["503-5100002-0000002"].total == Decimal("11880")


# --------------------------------------------------------------------------------------------
# 6. Hand-downloaded files in other shapes


def test_unicode_text_from_a_spreadsheet_is_read() -> None:
    report = read_report_file(FIXTURES / "orders-unicode-text-utf16.txt")
    assert report.charset == "utf-16"
    assert report.errors == []
    orders = by_id(report)
    zoe = orders["302-8100021-0000021"]
    assert zoe.billing_address is not None
    assert (zoe.billing_address.name, zoe.billing_address.city) == ("Zoë Brontë", "Köln")
    assert orders["302-8100022-0000022"].is_business_order  # "TRUE"
    assert orders["302-8100022-0000022"].total == Decimal("49.95")


def test_unicode_text_without_its_byte_order_mark_is_read(tmp_path: Path) -> None:
    text = (FIXTURES / "orders-unicode-text-utf16.txt").read_text("utf-16")
    path = tmp_path / "no-bom.txt"
    path.write_bytes(text.encode("utf-16-le"))
    report = read_report_file(path)
    assert report.charset == "utf-16-le"
    assert len(report.orders) == 2


def test_a_semicolon_file_is_named_a_spreadsheet_resave(refhost: ReferenceHost) -> None:
    path = FIXTURES / "orders-spreadsheet-semicolons.csv"
    with pytest.raises(HeaderError) as refused:
        read_report_file(path)
    assert "separated by semicolons" in str(refused.value)
    assert refused.value.messages["de"].startswith("Die Spalten sind durch Semikolons")
    with pytest.raises(HeaderError, match="re-saved by a spreadsheet"):
        refhost.import_report(path, account_name=None, dry_run=True)


def test_gzip_is_read_and_zip_is_refused(tmp_path: Path) -> None:
    plain = FIXTURES / "orders-invoicing-eu-cp1252.txt"
    packed = tmp_path / "report.txt.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert read_report_file(packed).as_dict() == read_report_file(plain).as_dict()
    archive = tmp_path / "report.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(plain, plain.name)
    with pytest.raises(HeaderError, match=r"zip archive .*: unpack it first") as refused:
        read_report_file(archive)
    assert refused.value.messages["de"].endswith("Entpacken Sie sie zuerst.")


def test_lone_cr_line_ends_are_line_ends(tmp_path: Path) -> None:
    plain = FIXTURES / "orders-invoicing-eu-cp1252.txt"
    old_mac = tmp_path / "cr.txt"
    old_mac.write_bytes(plain.read_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r"))
    assert read_report_file(old_mac).as_dict() == read_report_file(plain).as_dict()


def test_a_truncated_last_line_is_a_row_problem_not_half_an_address(tmp_path: Path) -> None:
    whole = (FIXTURES / "fba-shipments-split-de.txt").read_bytes()
    last = whole.rstrip(b"\n").rsplit(b"\n", 1)[1]
    order_b = whole.splitlines()[3]  # order B's row (and its duplicate), cut within the address
    cut = whole.replace(b"\n" + order_b + b"\n", b"\n" + order_b.split(b"Kassel")[0] + b"\n")
    path = tmp_path / "cut.txt"
    path.write_bytes(cut)
    report = read_report_file(path)
    assert "028-4100002-0000002" not in by_id(report)
    assert errors_by_row(report)[3] == (None, "row ends after 29 of 48 fields (cut short?)")
    # the download itself ends within the last line (no line end after it)
    path.write_bytes(whole.rstrip(b"\n")[: -len(last) // 2])
    report = read_report_file(path)
    assert 7 in errors_by_row(report)
    assert errors_by_row(report)[7][1].endswith("fields (cut short?)")


@pytest.mark.parametrize(
    ("lang", "expected"),
    [
        ("de", "hyreka-amazon: Die Datei ist ein ZIP-Archiv (auch eine Excel-Arbeitsmappe ist "
               "eines): Entpacken Sie sie zuerst.\n"),
        ("en", "hyreka-amazon: the file is a zip archive (an Excel workbook is one too): unpack "
               "it first\n"),
    ],
)  # fmt: skip
def test_import_report_says_why_a_file_is_refused_in_the_run_language(
    lang: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    archive = tmp_path / "report.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("report.txt", "order-id\torder-item-id\n")
    data = ["--data", str(tmp_path / "data"), "--lang", lang]
    assert cli.main(["import-report", str(archive), "--dry-run", *data]) == 2
    assert capsys.readouterr().err == expected


def test_import_report_prints_the_warnings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = ["--data", str(tmp_path / "data"), "--lang", "en"]
    path = FIXTURES / "unshipped-orders-de.txt"
    assert cli.main(["import-report", str(path), "--dry-run", *data]) == 0
    out = capsys.readouterr().out
    assert "  ! The report has no prices for 2 order(s)" in out
    assert cli.main(["import-report", str(path), "--dry-run", "--json", *data]) == 0
    payload = json.loads(capsys.readouterr().out)
    assert payload["warnings"][0].startswith("The report has no prices for 2 order(s)")
    assert {line["item_price"] for o in payload["orders"] for line in o["lines"]} == {None}
    assert {o["prices_missing"] for o in payload["orders"]} == {True}
