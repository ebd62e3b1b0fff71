"""The console's shipping form (issue 27, "Shipping form"): the carrier as a list of the
connector's carrier codes (``ConnectorInfo.carriers``) with "Andere" and a name field, each
field on its own line, the order "versandt" / "teilweise versandt" at once after a confirmed
package, and a refused package corrected ("Korrigieren": the same package number sent again).

Flask's test client; the host syncs from and confirms to the simulator over loopback HTTP.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from flask.testing import FlaskClient
from helpers.records import make_account

from hyreka_plugin_amazon.contract import Order, OrderStatus
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.services import accounts, runs
from hyreka_plugin_amazon.refhost.web.console import Console, create_app
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.simulator import Simulator

FAST = {"report_check_seconds": "0.05", "report_check_max_seconds": "0.2"}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(orders=40, seed=11, report_delay_s=0.1, time_scale=50) as running:
        yield running


@pytest.fixture
def host(tmp_path: Path, sim: Simulator) -> Iterator[ReferenceHost]:
    env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
    creds = sim.credentials
    account = dataclasses.replace(
        make_account(name="shop"),
        client_id=creds.client_id,
        client_secret=Secret(creds.client_secret),
        refresh_token=Secret(creds.refresh_token),
        endpoint=sim.url,
        token_url=sim.token_url,
        settings=FAST,
        marketplace_ids=tuple(
            accounts.connector_info().account_field("marketplaces").choice(m).value
            for m in ("DE", "FR", "IT", "ES", "UK")
        ),
    )
    with ReferenceHost(tmp_path / "data", env=env) as opened:
        opened.store.add_account(account)
        assert runs.sync(opened, "acc-1", lang="de").ok
        yield opened


class Tab:
    def __init__(self, host: ReferenceHost) -> None:
        app = create_app(Console(host), access_token="tok", allowed_hosts=["localhost"])
        self.client: FlaskClient = app.test_client()
        assert self.client.get("/?token=tok").status_code == 302
        found = re.search(r'name="csrf_token" value="([^"]+)"', self.text("/"))
        assert found is not None
        self.csrf = found.group(1)

    def text(self, path: str) -> str:
        answer = self.client.get(path)
        assert answer.status_code == 200, path
        return answer.get_data(as_text=True)

    def ship(self, order: Order, **form: str) -> str:
        """Submit the order page's shipping form with ``form`` over its values; the page
        the redirect shows."""
        page = self.text(_path(order))
        token = re.search(r'name="ship_token" value="([^"]+)"', page)
        assert token is not None
        values = dict(re.findall(r'name="(qty-[^"]+)"[^>]*value="(\d+)"', page))
        values |= {"ship_token": token.group(1), "ship_date": "2026-12-01", **form}
        answer = self.client.post(_path(order) + "/ship", data={"csrf_token": self.csrf, **values})
        assert answer.status_code == 302
        return self.text(answer.headers["Location"])


def _path(order: Order) -> str:
    return f"/c/amazon/orders/acc-1/order/{order.amazon_order_id}"


def _open_mfn(host: ReferenceHost, *, pieces: int = 1) -> list[Order]:
    return [
        o
        for o in host.store.list_orders(account_id="acc-1", status=OrderStatus.OPEN)
        if o.fulfillment_channel == "MFN" and sum(line.quantity for line in o.lines) >= pieces
    ]


def _status(page: str) -> str:
    found = re.search(r'<dd id="order-status">([^<]*)</dd>', page)
    assert found is not None
    return found.group(1)


def test_the_carrier_is_a_list_with_andere_and_each_field_has_its_line(
    host: ReferenceHost,
) -> None:
    tab = Tab(host)
    order = _open_mfn(host)[0]
    page = tab.text(_path(order))
    select = re.search(
        r'<select id="ship-carrier" name="carrier" required>(.*?)</select>', page, re.S
    )
    assert select is not None
    options = re.findall(r'<option value="([^"]*)"', select.group(1))
    info = accounts.connector_info()
    assert options == ["", *(c.value for c in info.carriers), "Other"]
    assert options[1:4] == ["DHL", "Deutsche Post", "DPD"]  # the common ones first
    assert ">Andere (Name unten eintragen)</option>" in select.group(1)
    assert ">Hermes</option>" in select.group(1)  # what sellers call it
    form = page[page.index('<form method="post" id="ship-form"') :]
    for field in ("ship-carrier", "ship-carrier-name", "ship-method", "ship-tracking", "ship-date"):
        assert re.search(rf'<div class="field">\s*<label for="{field}">', form), field


def test_a_confirmed_package_shows_the_order_shipped_at_once(host: ReferenceHost) -> None:
    tab = Tab(host)
    whole, part = _open_mfn(host)[0], _open_mfn(host, pieces=2)[0]
    assert _status(tab.text(_path(whole))) == "offen"
    page = tab.ship(whole, carrier="DHL", tracking="00340434161111111111")
    assert 'id="ship-result" class="ok"' in page
    assert _status(page) == "versandt"
    first = part.lines[0].order_item_id
    qty = {f"qty-{line.order_item_id}": "0" for line in part.lines} | {f"qty-{first}": "1"}
    page = tab.ship(part, carrier="Other", carrier_name="Spedition Jansen", tracking="JJD01", **qty)
    assert 'id="ship-result" class="ok"' in page
    assert _status(page) == "teilweise versandt"
    assert "Spedition Jansen" in page  # the package lists the carrier by its name
    assert host.store.get_order("acc-1", part.amazon_order_id).status is OrderStatus.OPEN  # type: ignore[union-attr]


def test_a_refused_package_is_corrected_and_sent_again_as_itself(
    host: ReferenceHost, sim: Simulator
) -> None:
    tab = Tab(host)
    touched = {o["amazon_order_id"] for o in sim.ground_truth(packages=True) if o["packages"]}
    order = next(o for o in _open_mfn(host) if o.amazon_order_id not in touched)
    page = tab.ship(order, carrier="DHX", tracking="00340434162222222222")  # not Amazon's
    assert 'id="ship-result" class="failed"' in page
    assert _status(page) == "offen"
    fix = re.search(r'<a class="button correct" id="correct-(\d+)" href="([^"]+)"', page)
    assert fix is not None
    package, href = fix.group(1), fix.group(2).replace("&amp;", "&")
    form = tab.text(href.split("#")[0])
    assert f'name="package_id" value="{package}"' in form
    assert 'value="00340434162222222222"' in form  # the refused package's values
    assert 'id="correcting"' in form
    page = tab.ship(order, carrier="DHL", tracking="00340434162222222222", package_id=package)
    assert 'id="ship-result" class="ok"' in page, re.findall(r'id="ship-result"[^<]*', page)
    assert _status(page) == "versandt"
    stored = host.store.list_shipments("acc-1", order.amazon_order_id)
    assert [(s.shipment.package_id, s.state) for s in stored] == [(int(package), "confirmed")]
    sent = next(
        o["packages"]
        for o in sim.ground_truth(packages=True)
        if o["amazon_order_id"] == order.amazon_order_id
    )
    assert [p["carrier_code"] for p in sent] == ["DHL"]  # one package at Amazon


def test_a_refused_package_is_withdrawn_and_its_items_are_left_to_ship_again(
    host: ReferenceHost, sim: Simulator
) -> None:
    tab = Tab(host)
    touched = {o["amazon_order_id"] for o in sim.ground_truth(packages=True) if o["packages"]}
    order = next(o for o in _open_mfn(host) if o.amazon_order_id not in touched)
    page = tab.ship(order, carrier="DHX", tracking="00340434163333333333")  # refused
    withdraw = re.search(r'action="([^"]+/package/(\d+)/withdraw)"', page)
    assert withdraw is not None
    path, package = withdraw.group(1), int(withdraw.group(2))
    assert 'id="ship-result" class="failed"' in page

    answer = tab.client.post(path, data={"csrf_token": tab.csrf})

    assert answer.status_code == 302
    page = tab.text(answer.headers["Location"])
    assert f"Paket {package} der Bestellung {order.amazon_order_id} zurückgezogen" in page
    assert host.store.list_shipments("acc-1", order.amazon_order_id) == []
    assert f"/package/{package}/withdraw" not in page
    again = tab.client.post(path, data={"csrf_token": tab.csrf})  # a second submit: refused
    assert "kein abgelehntes Paket" in tab.text(again.headers["Location"])
    # the items count as left again: the next package takes them all, under a new number
    page = tab.ship(order, carrier="DHL", tracking="00340434164444444444")
    assert 'id="ship-result" class="ok"' in page
    [sent] = host.store.list_shipments("acc-1", order.amazon_order_id)
    assert sent.shipment.package_id > package
    assert sent.shipment.items == tuple(
        type(sent.shipment.items[0])(line.order_item_id, line.quantity) for line in order.lines
    )
