"""``hyreka-amazon``: the reference host's command line.

Secrets come from the environment or a hidden prompt, never from argv, and are never printed.
What the seller reads comes from the message catalogs, in ``--lang`` (or ``$HYREKA_LANG``).
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

from hyreka_plugin_amazon.contract import (
    Account,
    AccountField,
    ConnectorInfo,
    Order,
    OrderStatus,
    Progress,
    SyncResult,
)
from hyreka_plugin_amazon.refhost import cli_poll, cli_security, cli_ship, logredaction
from hyreka_plugin_amazon.refhost.app import ReferenceHost
from hyreka_plugin_amazon.refhost.audit import AuditLog
from hyreka_plugin_amazon.refhost.audit import retention_days as audit_retention_days
from hyreka_plugin_amazon.refhost.manager import PluginHost
from hyreka_plugin_amazon.refhost.paths import data_dir
from hyreka_plugin_amazon.refhost.terminal import printable
from hyreka_plugin_amazon.refhost.texts import DEFAULT_LOCALE, LANGUAGES, translate
from hyreka_plugin_amazon.refhost.web import command as web_command
from hyreka_plugin_amazon.secret import Secret

SECRET_ENV = {
    "client_id": "AMAZON_LWA_CLIENT_ID",
    "client_secret": "AMAZON_LWA_CLIENT_SECRET",
    "refresh_token": "AMAZON_REFRESH_TOKEN",
}
LANG_ENV = "HYREKA_LANG"
DISTRIBUTION = "hyreka-plugin-amazon"  # for --version
MAX_PROBLEMS_SHOWN = 20


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    # --data and --lang default to SUPPRESS (a subcommand's parser would otherwise reset a
    # value given before the subcommand); their real defaults come in with the namespace
    defaults = argparse.Namespace(data=None, lang=_default_language())
    args = parser.parse_args(argv, namespace=defaults)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        with logredaction.installed():  # second line of defence; urllib3 kept at INFO
            code: int = args.func(args)
    except KeyboardInterrupt:
        print(translate("cli.interrupted", args.lang), file=sys.stderr)
        return 130
    except (LookupError, ValueError) as exc:
        print(f"hyreka-amazon: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (``| head``): stop quietly, like cat does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return code


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data",
        metavar="DIR",
        default=argparse.SUPPRESS,
        help="the host's data folder (default: $HYREKA_AMAZON_DATA or a per-user folder)",
    )
    common.add_argument(
        "--lang",
        choices=LANGUAGES,
        default=argparse.SUPPRESS,
        help=f"language of messages (default: ${LANG_ENV} or {DEFAULT_LOCALE})",
    )
    parser = argparse.ArgumentParser(
        prog="hyreka-amazon",
        description="Amazon connector of the Hyreka Warenwirtschaft: reference host.",
        parents=[common],
    )
    parser.add_argument(
        "--version",
        action="version",
        version=f"%(prog)s {metadata.version('hyreka-plugin-amazon')}",
    )
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
    cli_poll.add_commands(sub, common)
    cli_ship.add_commands(sub, common)
    web_command.add_commands(sub, common)
    return parser


# ------------------------------------------------------------------------------ commands


def _host(args: argparse.Namespace) -> ReferenceHost:
    return ReferenceHost(data_dir(args.data))


def cmd_account_add(args: argparse.Namespace) -> int:
    with _host(args) as host:
        info = host.plugins.connector()
    home = info.account_field("region").choice(args.region).value  # validates
    markets = info.account_field("marketplaces")
    chosen = [markets.choice(m) for m in args.marketplace]
    for market in chosen:
        if markets.grouped_by == "region" and market.group != home:
            raise ValueError(
                translate(
                    "cli.marketplace_region",
                    args.lang,
                    marketplace=market.code or market.value,
                    found=market.group,
                    region=home,
                )
            )
    settings = dict(_parse_setting(s) for s in args.setting)
    account = Account(
        id=args.name,
        name=args.name,
        connector=info.id,
        region=home,
        marketplace_ids=tuple(m.value for m in chosen),
        client_id=_secret_input(info, "client_id", args.lang),
        client_secret=Secret(_secret_input(info, "client_secret", args.lang)),
        refresh_token=Secret(_secret_input(info, "refresh_token", args.lang)),
        endpoint=args.endpoint,
        token_url=args.token_url,
        settings=settings,
        locale=args.lang,
    )
    with _host(args) as host:
        host.store.add_account(account)
        AuditLog(host.data_dir, retention_days=audit_retention_days()).record(
            "account.add", account=account.name, marketplaces=len(chosen)
        )
    codes = ", ".join(m.code or m.value for m in chosen)
    print(
        translate("cli.account_added", args.lang, name=args.name, region=home, marketplaces=codes)
    )
    return 0


def cmd_account_list(args: argparse.Namespace) -> int:
    with _host(args) as host:
        accounts = host.store.list_accounts()
        codes_of = _marketplace_codes(host.plugins)
    if not accounts:
        print(translate("cli.no_accounts", args.lang))
    for account in accounts:
        codes = ", ".join(codes_of(m) for m in account.marketplace_ids)
        where = f"\t{printable(account.endpoint)}" if account.endpoint else ""
        print(f"{printable(account.name)}\t{printable(account.region)}\t{printable(codes)}{where}")
    return 0


def cmd_test_login(args: argparse.Namespace) -> int:
    with _host(args) as host:
        account = host.store.get_account(args.name)
        result = host.plugins.test_login(_with_locale(account, args.lang))
    status = translate("cli.ok" if result.ok else "cli.failed", args.lang)
    print(f"{status}: {result.message}")
    for warning in result.warnings:
        print(f"  ! {warning}")
    return 0 if result.ok else 1


def cmd_sync(args: argparse.Namespace) -> int:
    display = ProgressDisplay(sys.stderr, args.lang)
    with _host(args) as host:
        account = host.store.get_account(args.name)
        if account.locale != args.lang:
            host.store.update_account(_with_locale(account, args.lang))
        try:
            result = host.sync(args.name, on_progress=display)
        finally:
            display.close()
    print_sync_result(result, sys.stdout, args.lang)
    return 0 if result.ok else 1


def cmd_orders(args: argparse.Namespace) -> int:
    status = OrderStatus(args.status) if args.status else None
    with _host(args) as host:
        account_id = host.store.get_account(args.account).id if args.account else None
        orders = host.store.list_orders(account_id=account_id, status=status)
        codes_of = _marketplace_codes(host.plugins)
        shaped = cli_ship.orders_json(host, orders) if args.json else []
    if args.json:
        json.dump(shaped, sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        print_orders(orders, sys.stdout, args.lang, marketplace_code=codes_of)
    return 0


def cmd_import_report(args: argparse.Namespace) -> int:
    with _host(args) as host:
        report, counts = host.import_report(
            args.file, account_name=args.account, charset=args.charset, dry_run=args.dry_run
        )
    if args.json:
        payload: dict[str, Any] = {
            "orders": [o.as_dict() for o in report.orders],
            "errors": [
                {"row": p.row, "column": p.column, "reason": p.reason} for p in report.problems
            ],
        }
        json.dump(payload, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    lang = args.lang
    print(
        translate(
            "cli.import_read",
            lang,
            file=args.file.name,
            layout=report.layout,
            charset=report.charset,
            orders=len(report.orders),
            errors=len(report.problems),
            duplicates=report.duplicates_skipped,
        )
    )
    for problem in report.problems:
        print("  " + _problem_line(problem.row, problem.column, problem.reason, lang))
    if not args.dry_run:
        print(translate("cli.import_stored", lang, **counts))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from hyreka_plugin_amazon.simulator import Simulator

    lang, out = args.lang, sys.stdout
    marketplaces = ("DE", "FR", "IT")
    names = ", ".join(marketplaces)
    print(translate("cli.demo_start", lang, orders=args.orders, marketplaces=names), file=out)
    with (
        Simulator(
            orders=args.orders, seed=args.seed, marketplaces=marketplaces, report_delay_s=1
        ) as sim,
        tempfile.TemporaryDirectory(prefix="hyreka-demo-") as tmp,
    ):
        env = {k: v for k, v in os.environ.items() if k != "HYREKA_AMAZON_KEY"}
        with ReferenceHost(Path(tmp), env=env) as host:
            creds = sim.credentials
            info = host.plugins.connector()
            markets = info.account_field("marketplaces")
            codes_of = _marketplace_codes(host.plugins)
            account = Account(
                id="demo",
                name="demo",
                connector=info.id,
                region="eu",
                marketplace_ids=tuple(markets.choice(m).value for m in marketplaces),
                client_id=creds.client_id,
                client_secret=Secret(creds.client_secret),
                refresh_token=Secret(creds.refresh_token),
                endpoint=sim.url,
                token_url=sim.token_url,
                settings={"poll_interval": "0.5", "max_poll_interval": "1"},
                locale=lang,
            )
            host.store.add_account(account)
            print(translate("cli.demo_account", lang, folder=tmp), file=out)
            login = host.test_login("demo")
            status = translate("cli.ok" if login.ok else "cli.failed", lang)
            print(translate("cli.demo_login", lang, status=status, message=login.message), file=out)
            if not login.ok:
                return 1
            display = ProgressDisplay(sys.stderr, lang)
            try:
                result = host.sync("demo", on_progress=display)
            finally:
                display.close()
            orders = host.store.list_orders(account_id="demo")
        print(file=out)
        print_orders(orders, out, lang, marketplace_code=codes_of)
        print(file=out)
        print_sync_result(result, out, lang)
        truth = sum(  # Amazon ships FBA orders: open for the seller are the seller's own
            1
            for o in sim.ground_truth()
            if o["status"] == "open" and o["fulfillment_channel"] == "MFN"
        )
        held = sum(1 for o in orders if o.status is OrderStatus.OPEN)
        print(translate("cli.demo_truth", lang, truth=truth, host=held), file=out)
    return 0 if result.ok else 1


# ------------------------------------------------------------------------------ output


def print_orders(
    orders: Sequence[Order],
    out: TextIO,
    lang: str = DEFAULT_LOCALE,
    *,
    marketplace_code: Callable[[str | None], str] | None = None,
) -> None:
    """One block per order: id, marketplace, status, total, billing city; then its lines.

    ``marketplace_code`` shows a marketplace id (default: the id itself, ``-`` for none).
    """
    code_of = marketplace_code or (lambda marketplace_id: marketplace_id or "-")
    for order in orders:
        billing = order.billing_address
        if billing is None:
            where = translate("cli.no_billing", lang)
        else:
            where = translate(
                "cli.bill_to", lang, city=billing.city or "-", country=billing.country_code or "-"
            )
        currency = order.currency or ""
        print(
            f"{order.amazon_order_id}  {code_of(order.marketplace_id)}  "
            f"{order.status.value:<9}  {order.total} {currency}  {where}",
            file=out,
        )
        for line in order.lines:
            print(
                f"    {line.quantity} x {line.sku or '-'}  {line.item_price} {currency}", file=out
            )
    print(translate("cli.orders", lang, count=len(orders)), file=out)


def print_sync_result(result: SyncResult, out: TextIO, lang: str = DEFAULT_LOCALE) -> None:
    """The seller's message, warnings and problems, then the one-line summary."""
    print(result.message, file=out)
    for warning in result.warnings:
        print(f"  ! {warning}", file=out)
    for problem in result.problems[:MAX_PROBLEMS_SHOWN]:
        line = _problem_line(
            problem.row, problem.column, problem.reason, lang, order=problem.amazon_order_id
        )
        print(f"  {line}", file=out)
    if len(result.problems) > MAX_PROBLEMS_SHOWN:
        hidden = len(result.problems) - MAX_PROBLEMS_SHOWN
        print("  " + translate("cli.more_problems", lang, count=hidden), file=out)
    print(summary_line(result, lang), file=out)


def summary_line(result: SyncResult, lang: str = DEFAULT_LOCALE) -> str:
    calls = ", ".join(f"{name}={count}" for name, count in sorted(result.api_calls.items()))
    return translate(
        "cli.summary",
        lang,
        created=result.created,
        updated=result.updated,
        unchanged=result.unchanged,
        waiting=result.waiting,
        failed=result.failed_rows,
        calls=result.total_api_calls,
    ) + (f" ({calls})" if calls else "")


class ProgressDisplay:
    """A sync's progress on ``out``: one updating line on a terminal, plain lines otherwise.

    Plain lines show the first and the last report of each step (phase and message), so a
    download or an import shows where it started and where it ended without a line per chunk.
    """

    def __init__(self, out: TextIO, lang: str, *, tty: bool | None = None) -> None:
        self._out = out
        self._lang = lang
        self._tty = out.isatty() if tty is None else tty
        self._step: tuple[str, str] | None = None
        self._pending: str | None = None  # the step's latest text, not yet printed
        self._width = 0  # of the updating line on a terminal

    def __call__(self, progress: Progress) -> None:
        text = self.describe(progress)
        if self._tty:
            shown = text[: max(20, shutil.get_terminal_size().columns - 1)]
            self._out.write("\r" + shown + "\x1b[K")
            self._out.flush()
            self._width = len(shown)
            return
        step = (progress.phase, progress.message)
        if step == self._step:
            self._pending = text
            return
        self._flush()
        self._step = step
        self._out.write(text + "\n")
        self._out.flush()

    def close(self) -> None:
        """End the display: the terminal line stays, a pending plain line is printed."""
        if self._tty:
            if self._width:
                self._out.write("\n")
                self._out.flush()
            return
        self._flush()

    def describe(self, progress: Progress) -> str:
        label = translate(f"cli.phase.{progress.phase}", self._lang)
        if progress.phase == "done":
            return label
        text = f"{label}: {progress.message}"
        if progress.phase == "downloading" and progress.done:
            text += f" – {_size(progress.done)}"
        elif progress.done or progress.total:
            text += f" {progress.done}" + (f"/{progress.total}" if progress.total else "")
        return text

    def _flush(self) -> None:
        if self._pending is not None:
            self._out.write(self._pending + "\n")
            self._out.flush()
            self._pending = None


# ------------------------------------------------------------------------------ helpers


def _default_language() -> str:
    wanted = os.environ.get(LANG_ENV, DEFAULT_LOCALE)
    return wanted if wanted in LANGUAGES else DEFAULT_LOCALE


def _secret_input(info: ConnectorInfo, key: str, lang: str) -> str:
    value = os.environ.get(SECRET_ENV[key])
    if value:
        return value
    account_field = info.account_field(key)
    label = account_field.label.get(lang) or next(iter(account_field.label.values()), key)
    if not sys.stdin.isatty():
        raise ValueError(translate("cli.secret_missing", lang, label=label, env=SECRET_ENV[key]))
    return getpass.getpass(f"{label}: ")


def _parse_setting(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--setting wants KEY=VALUE, got {text!r}")
    return key.strip(), value.strip()


def _problem_line(
    row: int | None, column: str | None, reason: str, lang: str, *, order: str | None = None
) -> str:
    where = {"row": "-" if row is None else row, "column": f" [{column}]" if column else ""}
    if order is None:
        return translate("cli.row_error", lang, reason=reason, **where)
    return translate("cli.problem", lang, order=order, reason=reason, **where)


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} B"
    if count < 1024 * 1024:
        return f"{count / 1024:.0f} KB"
    return f"{count / (1024 * 1024):.1f} MB"


def _marketplace_codes(plugins: PluginHost) -> Callable[[str | None], str]:
    """Marketplace id -> the short code the connector's choices give it (unknown ids as they
    are, none as ``-``)."""
    codes: dict[str, str] = {}
    for info in plugins.connectors():
        field = _field_or_none(info, "marketplaces")
        if field is not None:
            codes.update({c.value: c.code for c in field.choices if c.code})

    def code_of(marketplace_id: str | None) -> str:
        if not marketplace_id:
            return "-"
        return codes.get(marketplace_id, marketplace_id)

    return code_of


def _field_or_none(info: ConnectorInfo, key: str) -> AccountField | None:
    try:
        return info.account_field(key)
    except LookupError:
        return None


def _with_locale(account: Account, locale: str) -> Account:
    return dataclasses.replace(account, locale=locale)


if __name__ == "__main__":
    raise SystemExit(main())
