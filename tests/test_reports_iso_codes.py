"""Country and currency go into plain columns, so only ISO codes.

A report file put a buyer's name into ``ship-country`` and ``currency``; both ended up in the
orders table's plain (unencrypted, never purged) columns. Now such a row makes its order a
problem row, and the store keeps a code only in its ISO shape whatever a mapping returns.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from decimal import Decimal
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from hyreka_plugin_amazon.contract import Account, Address, Order, OrderLine, OrderStatus
from hyreka_plugin_amazon.refhost.cli import main as cli
from hyreka_plugin_amazon.refhost.store import DB_FILE, Store
from hyreka_plugin_amazon.reports.cells import Country, Currency
from hyreka_plugin_amazon.secret import Secret

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NAME = "Jürgen Groß"


def hostile_report(tmp_path: Path) -> Path:
    """The EU fixture with a name in the first order's ship-country and the second's currency."""
    text = (FIXTURES / "orders-invoicing-eu-cp1252.txt").read_bytes().decode("cp1252")
    lines = text.splitlines(keepends=True)
    header = lines[0].rstrip("\r\n").split("\t")
    country, currency = header.index("ship-country"), header.index("currency")
    first = lines[1].split("\t")
    first[country] = NAME
    lines[1] = "\t".join(first)
    order_ids = [line.split("\t")[0] for line in lines[1:]]
    second_row = next(i for i, oid in enumerate(order_ids, start=1) if oid != order_ids[0])
    row = lines[second_row].split("\t")
    row[currency] = "Max Muster"
    lines[second_row] = "\t".join(row)
    path = tmp_path / "hostile.txt"
    path.write_bytes("".join(lines).encode("cp1252"))
    return path


@pytest.mark.parametrize(
    ("cell", "good", "bad"),
    [(Country(), "GB", "UK"), (Country(), "DE", NAME), (Currency(), "EUR", "Euro")],
)
def test_cells_take_iso_codes_only(cell: Country | Currency, good: str, bad: str) -> None:
    assert cell.parse(good) == good
    with pytest.raises(ValueError, match="not an ISO") as caught:
        cell.parse(bad)
    assert bad not in str(caught.value)


def test_a_name_in_country_or_currency_makes_a_problem_row_and_stays_out_of_the_db(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    report = hostile_report(tmp_path)
    assert cli.main(["import-report", str(report), "--dry-run", "--json", "--data", str(data)]) == 0
    payload = json.loads(capsys.readouterr().out)
    columns = {(e["column"], e["reason"]) for e in payload["errors"]}
    assert ("ship-country", "not an ISO 3166 country code") in columns
    assert ("currency", "not an ISO 4217 currency code") in columns
    assert NAME not in json.dumps(payload["errors"], ensure_ascii=False)

    monkeypatch.setenv("AMAZON_LWA_CLIENT_ID", "amzn1.application-oa2-client.codes")
    monkeypatch.setenv("AMAZON_LWA_CLIENT_SECRET", "amzn1.oa2-cs.v1.codes-secret")
    monkeypatch.setenv("AMAZON_REFRESH_TOKEN", "Atzr|codes-refresh-token")
    common = ["--data", str(data)]
    assert cli.main(["account", "add", "shop", "--marketplace", "DE", *common]) == 0
    cli.main(["import-report", str(report), "--account", "shop", *common])
    with sqlite3.connect(data / DB_FILE) as db:
        plain = db.execute("SELECT country_code, currency FROM orders").fetchall()
    db.close()
    assert plain
    assert all(c is None or (len(c) == 2 and c.isupper()) for c, _ in plain)
    assert all(c is None or (len(c) == 3 and c.isupper()) for _, c in plain)


def test_the_store_keeps_only_iso_shapes_whatever_a_mapping_returns(tmp_path: Path) -> None:
    env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    store = Store.open(tmp_path, env=env)
    account = Account(
        id="a",
        name="a",
        connector="amazon",
        region="eu",
        marketplace_ids=("A1PA6795UKMFR9",),
        client_id="c",
        client_secret=Secret("s"),
        refresh_token=Secret("r"),
    )
    store.add_account(account)
    address = Address(name=NAME, lines=("x",), postal_code="1", city="y", country_code=NAME)
    order = Order(
        amazon_order_id="302-0000000-0000001",
        status=OrderStatus.OPEN,
        marketplace_id="A1PA6795UKMFR9",
        sales_channel="Amazon.de",
        fulfillment_channel="MFN",
        currency=NAME,
        purchase_date=None,
        lines=(OrderLine("1", "sku", "t", 1, item_price=Decimal("1")),),
        billing_address=address,
        shipping_address=address,
    )
    store.upsert_order(account.id, order)
    store.upsert_order(
        account.id,
        dataclasses.replace(
            order,
            amazon_order_id="302-0000000-0000002",
            currency="EUR",
            shipping_address=dataclasses.replace(address, country_code="DE"),
        ),
    )
    store.close()
    with sqlite3.connect(tmp_path / DB_FILE) as db:
        plain = db.execute("SELECT country_code, currency FROM orders ORDER BY 1").fetchall()
    db.close()
    assert sorted(plain, key=str) == sorted([(None, None), ("DE", "EUR")], key=str)
