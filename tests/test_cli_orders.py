"""``hyreka-amazon orders``: a table in the seller's locale whose lines add up, paging,
JSON and CSV exports (personal data only with ``--names``, then audit-logged): through
``cli.main`` against the simulator."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from helpers.cli import Cli, add_shop, clean_environment, set_secrets

from hyreka_plugin_amazon.refhost.cli.orderlist import money
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.safety.audit import AuditLog
from hyreka_plugin_amazon.simulator import Simulator

ORDER_ROW = re.compile(
    r"^(\d{3}-\d{7}-\d{7})  (\d{4}-\d{2}-\d{2})  (\w+)\s+  (offen|versandt|storniert)\s+  "
    r"(.+)  (-?[\d.]+,\d\d (€|£))$"
)


@pytest.fixture
def run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    host_env: dict[str, str],
    simulator: Simulator,
) -> Cli:
    clean_environment(monkeypatch, host_env)
    set_secrets(simulator, monkeypatch)
    cli = Cli(tmp_path / "data", capsys)
    add_shop(cli, simulator, "DE", "FR", "UK")
    cli("sync", "shop")
    return cli


def test_money_in_the_sellers_locale() -> None:
    assert money(Decimal("22.49"), "EUR", "de") == "22,49 €"
    assert money(Decimal("22.49"), "EUR", "en") == "€22.49"
    assert money(Decimal("1234.5"), "GBP", "de") == "1.234,50 £"
    assert money(Decimal("-5"), "EUR", "en") == "-€5.00"
    assert money(Decimal("3"), "SEK", "en") == "3.00 SEK"


def test_the_table_shows_date_buyer_and_lines_that_add_up(run: Cli) -> None:
    plain, _ = run("orders", "--status", "open")
    out, _ = run("orders", "--status", "open", "--names")
    with ReferenceHost(run.data) as host:
        stored = {o.amazon_order_id: o for o in host.store.list_orders(account_id="shop")}
    rows = [ORDER_ROW.match(line) for line in out.splitlines() if not line.startswith("    ")]
    matched = [m for m in rows if m]
    assert (
        len(matched)
        == len(out.splitlines())
        - sum(1 for line in out.splitlines() if line.startswith("    "))
        - 1
    )  # every order row has the shape; the last line is the count
    assert matched
    for row in matched:
        order = stored[row.group(1)]
        assert row.group(6) == money(order.total, order.currency, "de")
        if order.billing_address and order.billing_address.name:
            assert row.group(5) == order.billing_address.name
    discounted = [
        o
        for o in stored.values()
        if o.status.value == "open" and any(line.item_promotion_discount for line in o.lines)
    ]
    assert discounted  # the simulator's promotions
    for order in discounted[:3]:
        block = out.split(order.amazon_order_id, 1)[1].split("\n")
        assert any("Rabatt -" in line for line in block[1 : len(order.lines) + 1])
    assert out.splitlines()[-1] == f"{len(matched)} Bestellungen"
    names = {o.billing_address.name for o in stored.values() if o.billing_address}
    assert not [n for n in names if n and n in plain]  # without --names: no buyer's name
    assert "Rechnung an " in plain
    assert AuditLog(run.data).entries()[-1].facts["format"] == "table-names"


def test_paging_and_exports(run: Cli) -> None:
    out, _ = run("orders", "--format", "json")
    every = json.loads(out)
    assert len(every) > 5
    out, _ = run("orders", "--limit", "2", "--offset", "1", "--lang", "en")
    ids = [line.split("  ")[0] for line in out.splitlines() if re.match(r"\d{3}-", line)]
    assert ids == [o["amazon_order_id"] for o in every[1:3]]
    assert out.splitlines()[-1] == f"Orders 2 to 3 of {len(every)}; more with --offset 3"
    assert out.splitlines()[-2] == "2 orders"

    out, _ = run("orders", "--format", "csv", "--csv-dialect", "excel")
    table = list(csv.DictReader(io.StringIO(out)))
    assert [r["amazon_order_id"] for r in table] == [o["amazon_order_id"] for o in every]
    assert {r["status"] for r in table} <= {"open", "shipped", "cancelled", "pending"}
    assert [e for e in AuditLog(run.data).entries() if e.action == "orders.export"] == []


def personal_data(run: Cli) -> tuple[list[str], list[str]]:
    """The stored orders' names, companies, street lines, phones and e-mails (texts that
    cannot occur by chance), and their postal codes."""
    with ReferenceHost(run.data) as host:
        orders = host.store.list_orders(account_id="shop")
    texts: set[str] = set()
    postal: set[str] = set()
    for order in orders:
        texts.update(filter(None, (order.buyer_email, order.buyer_company_name)))
        for address in (order.billing_address, order.shipping_address):
            if address is not None:
                texts.update(filter(None, (address.name, address.company, address.phone)))
                texts.update(address.lines)
                postal.update(filter(None, [address.postal_code]))
    return sorted(texts), sorted(postal)


def test_exports_carry_personal_data_only_with_names_and_then_are_audited(run: Cli) -> None:
    """Issue 25 item 9: ``--format json|csv`` carried billing names and phones unasked."""
    texts, postal = personal_data(run)
    assert texts  # names, streets, phones and e-mails of the simulator's buyers
    assert any("@" in text for text in texts)
    assert any(text.startswith("+") or text[:1].isdigit() for text in texts)  # phones

    as_json, _ = run("orders", "--format", "json")
    as_csv, _ = run("orders", "--format", "csv", "--csv-dialect", "excel")
    for out in (as_json, as_csv):
        assert [text for text in texts if text in out] == []
    orders = json.loads(as_json)
    for order in orders:
        assert (order["buyer_email"], order["buyer_company_name"]) == (None, None)
        assert order["buyer_tax_registration_id"] is None
        for kind in ("billing_address", "shipping_address"):
            address = order[kind] or {}
            assert not any(address.get(key) for key in ("name", "company", "lines", "phone"))
            assert address.get("postal_code") is None
    assert any(order["billing_address"]["city"] for order in orders if order["billing_address"])
    rows = list(csv.DictReader(io.StringIO(as_csv)))
    assert {row["billing_name"] for row in rows} == {""}
    assert {row["billing_city"] for row in rows} != {""}  # where the bill goes stays
    assert [e for e in AuditLog(run.data).entries() if e.action == "orders.export"] == []

    named_json, _ = run("orders", "--format", "json", "--names")
    named_csv, _ = run("orders", "--format", "csv", "--names", "--csv-dialect", "excel")
    assert [text for text in texts if text in named_json] != []
    assert {row["billing_name"] for row in csv.DictReader(io.StringIO(named_csv))} != {""}
    assert set(postal) <= {
        address["postal_code"]
        for order in json.loads(named_json)
        for address in (order["billing_address"], order["shipping_address"])
        if address
    }
    exports = [e for e in AuditLog(run.data).entries() if e.action == "orders.export"]
    assert [dict(e.facts) for e in exports] == [
        {"format": "json", "orders": len(orders)},
        {"format": "csv", "orders": len(orders)},
    ]
    audit_text = (run.data / "audit.log").read_text()
    assert [text for text in texts if text in audit_text] == []


def test_status_counts_agree_with_the_table(run: Cli) -> None:
    counts = {}
    for status in ("open", "shipped", "cancelled", "pending"):
        out, _ = run("orders", "--status", status, "--format", "json")
        counts[status] = len(json.loads(out))
    out, _ = run("orders", "--format", "json")
    assert sum(counts.values()) == len(json.loads(out))
