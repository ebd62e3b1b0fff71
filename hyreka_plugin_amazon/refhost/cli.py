"""``hyreka-amazon``: the reference host's command line.

Secrets come from the environment or a hidden prompt, never from argv, and are never printed.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import os
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from hyreka_plugin_amazon import __version__, redaction
from hyreka_plugin_amazon.connector import CONNECTOR_ID
from hyreka_plugin_amazon.hookspecs import Account, Order, OrderStatus, Progress, Secret, SyncResult
from hyreka_plugin_amazon.refhost import cli_security
from hyreka_plugin_amazon.refhost.app import ReferenceHost
from hyreka_plugin_amazon.refhost.paths import data_dir
from hyreka_plugin_amazon.spapi.regions import UnknownMarketplaceError, marketplace, region

SECRET_ENV = {
    "client_id": "AMAZON_LWA_CLIENT_ID",
    "client_secret": "AMAZON_LWA_CLIENT_SECRET",
    "refresh_token": "AMAZON_REFRESH_TOKEN",
}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        with redaction.installed():  # second line of defence; urllib3 kept at INFO
            code: int = args.func(args)
    except KeyboardInterrupt:
        print("abgebrochen / interrupted", file=sys.stderr)
        return 130
    except (LookupError, ValueError) as exc:
        print(f"hyreka-amazon: {exc}", file=sys.stderr)
        return 2
    return code


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data",
        metavar="DIR",
        help="the host's data folder (default: $HYREKA_AMAZON_DATA or a per-user folder)",
    )
    common.add_argument(
        "--lang",
        choices=("de", "en"),
        default=os.environ.get("HYREKA_LANG", "de"),
        help="language of messages (default: de, or $HYREKA_LANG)",
    )
    parser = argparse.ArgumentParser(
        prog="hyreka-amazon",
        description="Amazon connector of the Hyreka Warenwirtschaft: reference host.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(metavar="COMMAND")

    demo = sub.add_parser(
        "demo", parents=[common], help="run the whole flow against the embedded simulator"
    )
    demo.add_argument("--orders", type=int, default=60, help="orders the simulator generates")
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(func=cmd_demo)

    sim = sub.add_parser("simulator", parents=[common], help="run the SP-API simulator")
    from hyreka_plugin_amazon.simulator import cli as simulator_cli

    simulator_cli.add_arguments(sim)
    sim.set_defaults(func=simulator_cli.run)

    account = sub.add_parser("account", parents=[common], help="manage Amazon accounts")
    account_sub = account.add_subparsers(metavar="ACTION")
    add = account_sub.add_parser(
        "add",
        parents=[common],
        help="add an account (secrets from AMAZON_LWA_CLIENT_ID, AMAZON_LWA_CLIENT_SECRET, "
        "AMAZON_REFRESH_TOKEN or a hidden prompt)",
    )
    add.add_argument("name")
    add.add_argument("--region", default="eu", help="eu, na or fe (default: eu)")
    add.add_argument(
        "--marketplace",
        action="append",
        required=True,
        help="marketplace code or id, e.g. DE (repeat for several)",
    )
    add.add_argument("--endpoint", help="SP-API endpoint override (e.g. the simulator)")
    add.add_argument("--token-url", help="LWA token endpoint override (e.g. the simulator)")
    add.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="sync setting, e.g. lookback_days=30 or poll_interval=15",
    )
    add.set_defaults(func=cmd_account_add)
    listing = account_sub.add_parser("list", parents=[common], help="list accounts")
    listing.set_defaults(func=cmd_account_list)

    login = sub.add_parser("test-login", parents=[common], help='"Anmeldung testen"')
    login.add_argument("name")
    login.set_defaults(func=cmd_test_login)

    sync = sub.add_parser("sync", parents=[common], help='"Synchronisieren": import open orders')
    sync.add_argument("name")
    sync.set_defaults(func=cmd_sync)

    orders = sub.add_parser("orders", parents=[common], help="list imported orders")
    orders.add_argument("--status", choices=[s.value for s in OrderStatus])
    orders.add_argument("--account")
    orders.add_argument("--json", action="store_true", help="print JSON (with addresses)")
    orders.set_defaults(func=cmd_orders)

    imp = sub.add_parser(
        "import-report",
        parents=[common],
        help="import an order report downloaded by hand from Seller Central",
    )
    imp.add_argument("file", type=Path)
    imp.add_argument("--account")
    imp.add_argument("--charset", help="the file's encoding (default: detected)")
    imp.add_argument("--dry-run", action="store_true", help="read and check, store nothing")
    imp.add_argument("--json", action="store_true")
    imp.set_defaults(func=cmd_import_report)
    cli_security.add_commands(sub, common)
    return parser


# ------------------------------------------------------------------------------ commands


def _host(args: argparse.Namespace) -> ReferenceHost:
    return ReferenceHost(data_dir(args.data))


def cmd_account_add(args: argparse.Namespace) -> int:
    region(args.region)  # validates
    try:
        marketplace_ids = tuple(marketplace(m).id for m in args.marketplace)
    except UnknownMarketplaceError as exc:
        raise ValueError(str(exc)) from None
    settings = dict(_parse_setting(s) for s in args.setting)
    account = Account(
        id=args.name,
        name=args.name,
        connector=CONNECTOR_ID,
        region=args.region.lower(),
        marketplace_ids=marketplace_ids,
        client_id=_secret_input("client_id", "LWA client id"),
        client_secret=Secret(_secret_input("client_secret", "LWA client secret")),
        refresh_token=Secret(_secret_input("refresh_token", "refresh token")),
        endpoint=args.endpoint,
        token_url=args.token_url,
        settings=settings,
        locale=args.lang,
    )
    with _host(args) as host:
        host.store.add_account(account)
    print(f"account {args.name} added ({args.region}, {', '.join(args.marketplace)})")
    return 0


def cmd_account_list(args: argparse.Namespace) -> int:
    with _host(args) as host:
        for account in host.store.list_accounts():
            codes = ", ".join(_marketplace_code(m) for m in account.marketplace_ids)
            print(f"{account.name}\t{account.region}\t{codes}")
    return 0


def cmd_test_login(args: argparse.Namespace) -> int:
    with _host(args) as host:
        account = host.store.get_account(args.name)
        result = host.plugins.test_login(_with_locale(account, args.lang))
    print(("OK: " if result.ok else "FEHLER/ERROR: ") + result.message)
    for warning in result.warnings:
        print(f"  ! {warning}")
    return 0 if result.ok else 1


def cmd_sync(args: argparse.Namespace) -> int:
    with _host(args) as host:
        account = host.store.get_account(args.name)
        if account.locale != args.lang:
            host.store.update_account(_with_locale(account, args.lang))
        result = host.sync(args.name, on_progress=_progress_printer(sys.stderr))
    print_sync_summary(result, sys.stdout)
    return 0 if result.ok else 1


def cmd_orders(args: argparse.Namespace) -> int:
    status = OrderStatus(args.status) if args.status else None
    with _host(args) as host:
        account_id = host.store.get_account(args.account).id if args.account else None
        orders = host.store.list_orders(account_id=account_id, status=status)
    if args.json:
        json.dump([o.as_dict() for o in orders], sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print_orders(orders, sys.stdout)
    return 0


def cmd_import_report(args: argparse.Namespace) -> int:
    with _host(args) as host:
        report, counts = host.import_report(
            args.file, account_name=args.account, charset=args.charset, dry_run=args.dry_run
        )
    if args.json:
        payload: dict[str, Any] = {
            "orders": [o.as_dict() for o in report.orders],
            "errors": [e.as_dict() for e in report.errors],
        }
        json.dump(payload, sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print(
            f"{args.file.name}: layout {report.layout.value}, charset {report.charset}, "
            f"{len(report.orders)} orders, {len(report.errors)} row errors, "
            f"{report.duplicates_skipped} duplicate lines skipped"
        )
        for error in report.errors:
            column = f" [{error.column}]" if error.column else ""
            print(f"  row {error.row}{column}: {error.reason}")
        if not args.dry_run:
            print(
                f"stored: {counts['created']} new, {counts['updated']} updated, "
                f"{counts['unchanged']} unchanged"
            )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from hyreka_plugin_amazon.simulator import Simulator

    out = sys.stdout
    marketplaces = ("DE", "FR", "IT")
    print(f"Starte SP-API-Simulator ({args.orders} Bestellungen, {', '.join(marketplaces)}) ...")
    with (
        Simulator(
            orders=args.orders, seed=args.seed, marketplaces=marketplaces, report_delay_s=1
        ) as sim,
        tempfile.TemporaryDirectory(prefix="hyreka-demo-") as tmp,
    ):
        env = {k: v for k, v in os.environ.items() if k != "HYREKA_AMAZON_KEY"}
        with ReferenceHost(Path(tmp), env=env) as host:
            creds = sim.credentials
            account = Account(
                id="demo",
                name="demo",
                connector=CONNECTOR_ID,
                region="eu",
                marketplace_ids=tuple(marketplace(m).id for m in marketplaces),
                client_id=creds.client_id,
                client_secret=Secret(creds.client_secret),
                refresh_token=Secret(creds.refresh_token),
                endpoint=sim.url,
                token_url=sim.token_url,
                settings={"poll_interval": "0.5", "max_poll_interval": "1"},
                locale=args.lang,
            )
            host.store.add_account(account)
            print(f"Konto 'demo' angelegt (Daten in {tmp}, verschlüsselt).")
            login = host.test_login("demo")
            print(
                ("Anmeldung testen: OK - " if login.ok else "Anmeldung testen: FEHLER - ")
                + login.message
            )
            if not login.ok:
                return 1
            result = host.sync("demo", on_progress=_progress_printer(sys.stderr))
            orders = host.store.list_orders(account_id="demo")
        print()
        print_orders(orders, out)
        print()
        print_sync_summary(result, out)
        truth = [o for o in sim.ground_truth() if o["status"] == "open"]
        print(
            f"Offene Bestellungen laut Simulator: {len(truth)}, im Host: "
            f"{sum(1 for o in orders if o.status is OrderStatus.OPEN)}"
        )
    return 0 if result.ok else 1


# ------------------------------------------------------------------------------ output


def print_orders(orders: Sequence[Order], out: TextIO) -> None:
    """One block per order: id, marketplace, status, lines, totals, billing city/country."""
    for order in orders:
        billing = order.billing_address
        where = f"{billing.city}, {billing.country_code}" if billing else "keine Rechnungsadresse"
        print(
            f"{order.amazon_order_id}  {_marketplace_code(order.marketplace_id)}  "
            f"{order.status.value:<9}  {order.total} {order.currency or ''}  Rechnung: {where}",
            file=out,
        )
        for line in order.lines:
            price = f"{line.item_price} {order.currency or ''}"
            print(f"    {line.quantity} x {line.sku or '-'}  {price}", file=out)
    print(f"{len(orders)} Bestellungen / orders", file=out)


def print_sync_summary(result: SyncResult, out: TextIO) -> None:
    print(result.message, file=out)
    print(
        f"created={result.created} updated={result.updated} unchanged={result.unchanged} "
        f"waiting={result.waiting} failed_rows={result.failed_rows} "
        f"api_calls={result.total_api_calls} "
        f"({', '.join(f'{k}={v}' for k, v in sorted(result.api_calls.items()))})",
        file=out,
    )
    for warning in result.warnings:
        print(f"  ! {warning}", file=out)
    for problem in result.problems[:20]:
        where = f"row {problem.row}" if problem.row is not None else "order"
        column = f" [{problem.column}]" if problem.column else ""
        print(f"  {where}{column} {problem.amazon_order_id or ''}: {problem.reason}", file=out)


def _progress_printer(out: TextIO) -> Any:
    last: list[str] = [""]

    def show(progress: Progress) -> None:
        text = f"[{progress.phase}] {progress.message}"
        if progress.done:
            text += f" {progress.done}" + (f"/{progress.total}" if progress.total else "")
        if text != last[0]:
            print(text, file=out, flush=True)
            last[0] = text

    return show


# ------------------------------------------------------------------------------ helpers


def _secret_input(key: str, label: str) -> str:
    value = os.environ.get(SECRET_ENV[key])
    if value:
        return value
    if not sys.stdin.isatty():
        raise ValueError(f"{label} missing: set {SECRET_ENV[key]} or run in a terminal")
    return getpass.getpass(f"{label}: ")


def _parse_setting(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--setting wants KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def _marketplace_code(marketplace_id: str | None) -> str:
    if not marketplace_id:
        return "-"
    try:
        return marketplace(marketplace_id).code
    except UnknownMarketplaceError:
        return marketplace_id


def _with_locale(account: Account, locale: str) -> Account:
    return dataclasses.replace(account, locale=locale)


if __name__ == "__main__":
    raise SystemExit(main())
