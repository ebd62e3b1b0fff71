"""The console's order list at 10,000 orders of one account: a page, a search, a buyer sort.

    python benchmarks/console_search.py [--orders N] [--repeat R]

Personal data is encrypted at rest (one sealed JSON payload per order), so a search by buyer,
city, SKU or title decrypts the account's orders (those the status and days leave) in memory
and looks there (``services.orders.find_orders``); a page without a search sorts and pages on
the plain columns and decrypts only its 50 orders. Printed beside two baselines measured in
the same run on the same store: reading the plain columns alone (``order_summaries``: the least
any list costs) and decrypting every order of the account (``iter_orders``: the least any
in-memory search costs). Median of ``--repeat`` runs each, wall time.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

from hyreka_plugin_amazon.contract import Account, Address, Order, OrderLine, OrderStatus
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.services.orders import OrderQuery, SortKey, find_orders
from hyreka_plugin_amazon.secret import Secret

FIRST = ("Anna", "Bernd", "Carla", "Dieter", "Emil", "Frieda", "Gustav", "Hanna", "Ilse", "Jonas")
LAST = ("Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
        "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf")  # fmt: skip
CITIES = ("Berlin", "Hamburg", "München", "Köln", "Frankfurt", "Stuttgart", "Düsseldorf",
          "Leipzig", "Dortmund", "Essen", "Bremen", "Dresden")  # fmt: skip
PRODUCTS = (("SKU-TASSE", "Kaffeetasse Steingut"), ("SKU-KANNE", "Teekanne Porzellan"),
            ("SKU-BRETT", "Schneidebrett Eiche"), ("SKU-MESSER", "Brotmesser 21 cm"))  # fmt: skip
RARE_SURNAME = "Vollzugsprüferin"  # one buyer in 1,000


def make_orders(count: int, seed: int = 27) -> list[Order]:
    rng = random.Random(seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    orders = []
    for n in range(count):
        last = RARE_SURNAME if n % 1000 == 500 else rng.choice(LAST)
        address = Address(
            f"{rng.choice(FIRST)} {last}",
            (f"Hauptstraße {rng.randint(1, 200)}",),
            f"{rng.randint(10000, 99999)}",
            rng.choice(CITIES),
            "DE",
            phone="+49 170 5550000",
        )
        sku, title = rng.choice(PRODUCTS)
        price = Decimal(rng.randint(500, 20000)) / 100
        status = rng.choices(
            (OrderStatus.OPEN, OrderStatus.SHIPPED, OrderStatus.CANCELLED), (3, 6, 1)
        )[0]
        orders.append(
            Order(
                amazon_order_id=f"028-{n:07d}-{rng.randint(0, 9_999_999):07d}",
                status=status,
                marketplace_id="A1PA6795UKMFR9",
                sales_channel="Amazon.de",
                fulfillment_channel=rng.choice(("MFN", "AFN")),
                currency="EUR",
                purchase_date=start + timedelta(minutes=7 * n),
                lines=(OrderLine(f"{n}1", sku, title, 1, price, price * Decimal("0.16")),),
                billing_address=address,
                shipping_address=address,
                buyer_email=f"b{n}@marketplace.amazon.de",
            )
        )
    return orders


def median_seconds(action: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times = []
    result = None
    for _ in range(repeat):
        began = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - began)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        env = {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}
        with ReferenceHost(Path(folder) / "data", env=env) as host:
            host.store.add_account(
                Account(
                    id="shop",
                    name="shop",
                    connector="amazon",
                    region="eu",
                    marketplace_ids=("A1PA6795UKMFR9",),
                    client_id="id",
                    client_secret=Secret("secret"),
                    refresh_token=Secret("token"),
                )
            )
            for order in make_orders(args.orders):
                host.store.stage_order("shop", order)
            host.store.order_summaries("shop")  # commits what is staged

            def page(**query: Any) -> Callable[[], Any]:
                return lambda: find_orders(host, "shop", OrderQuery(**query))

            cases: list[tuple[str, Callable[[], Any]]] = [
                ("baseline: plain columns only (order_summaries)",
                 lambda: host.store.order_summaries("shop")),
                ("baseline: decrypt every order (iter_orders)",
                 lambda: sum(1 for _ in host.store.iter_orders(account_id="shop"))),
                ("first page: open orders, newest first", page()),
                ("all orders sorted by total, page 100", page(status=None, sort=SortKey.TOTAL,
                                                             page=100)),
                ("search a rare surname, all orders", page(status=None, search=RARE_SURNAME)),
                ("search a city, open orders", page(search="Leipzig")),
                ("search a SKU, all orders", page(status=None, search="SKU-BRETT")),
                ("all orders sorted by buyer", page(status=None, sort=SortKey.BUYER)),
            ]  # fmt: skip
            print(f"{args.orders:,} orders of one account, median of {args.repeat} runs")
            print(f"  {'case':<48} {'seconds':>8}  {'found':>6}")
            for name, action in cases:
                seconds, result = median_seconds(action, args.repeat)
                found = result if isinstance(result, int) else getattr(result, "total", None)
                found = len(result) if found is None else found
                print(f"  {name:<48} {seconds:8.3f}  {found:>6,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
