"""``hyreka-amazon account``: add, list, change, new credentials for, and remove accounts.

Secrets come from the ``AMAZON_*`` variables or a hidden prompt, trimmed, never from argv and
never printed. Settings are checked against the connector's description (``ConnectorInfo``)
when given. Changes and removals are written to the audit log (names and counts only).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Mapping, Sequence

from hyreka_plugin_amazon.contract import Account, Choice, ConnectorInfo, OrderStatus
from hyreka_plugin_amazon.refhost.cli.common import (
    CliError,
    get_account,
    has_store,
    open_host,
    parse_settings,
    secret_input,
)
from hyreka_plugin_amazon.refhost.i18n.texts import translate
from hyreka_plugin_amazon.refhost.manager import PluginHost
from hyreka_plugin_amazon.refhost.safety.audit import AuditLog
from hyreka_plugin_amazon.refhost.safety.audit import retention_days as audit_retention_days
from hyreka_plugin_amazon.refhost.safety.terminal import printable
from hyreka_plugin_amazon.refhost.store import AccountExistsError
from hyreka_plugin_amazon.secret import Secret

YES = ("j", "ja", "y", "yes")


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Register ``account`` and its actions on the ``hyreka-amazon`` parser."""
    account = sub.add_parser("account", parents=[common], help="manage Amazon accounts")
    actions = account.add_subparsers(metavar="ACTION")
    add = actions.add_parser(
        "add",
        parents=[common],
        help="add an account (secrets from AMAZON_LWA_CLIENT_ID, AMAZON_LWA_CLIENT_SECRET, "
        "AMAZON_REFRESH_TOKEN or a hidden prompt)",
    )
    add.add_argument("name")
    add.add_argument("--region", default="eu", help="eu, na or fe (default: eu)")
    _marketplace_option(add, required=True)
    _endpoint_options(add)
    _setting_option(add)
    add.set_defaults(func=cmd_account_add)

    listing = actions.add_parser("list", parents=[common], help="list accounts")
    listing.set_defaults(func=cmd_account_list)

    change = actions.add_parser(
        "set", parents=[common], help="change an account's marketplaces, settings or endpoints"
    )
    change.add_argument("name")
    _marketplace_option(change, required=False)
    _endpoint_options(change)
    _setting_option(change)
    change.set_defaults(func=cmd_account_set)

    credentials = actions.add_parser(
        "credentials",
        parents=[common],
        help="enter new secrets (from the AMAZON_* variables or a hidden prompt)",
    )
    credentials.add_argument("name")
    credentials.set_defaults(func=cmd_account_credentials)

    remove = actions.add_parser(
        "remove",
        parents=[common],
        help="remove an account with its orders (and their personal data) and its history",
    )
    remove.add_argument("name")
    remove.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    remove.set_defaults(func=cmd_account_remove)


def _marketplace_option(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--marketplace",
        action="append",
        required=required,
        help="marketplace code or id, e.g. DE (repeat for several; replaces the list)",
    )


def _endpoint_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--endpoint", help="SP-API endpoint override (e.g. the simulator)")
    parser.add_argument("--token-url", help="LWA token endpoint override (e.g. the simulator)")


def _setting_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--setting",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="account setting, e.g. lookback_days=30 or poll_minutes=30 (checked when given)",
    )


# ------------------------------------------------------------------------------ commands


def cmd_account_add(args: argparse.Namespace) -> int:
    lang = args.lang
    info = PluginHost().connector()
    home = _choice(info, "region", args.region, lang).value
    chosen = _marketplaces(info, args.marketplace, home, lang)
    settings = parse_settings(info, args.setting, lang)
    if has_store(args):
        with open_host(args) as host:
            if any(a.name == args.name for a in host.store.list_accounts()):
                raise CliError(translate("cli.account_exists", lang, name=args.name))
    account = Account(
        id=args.name,
        name=args.name,
        connector=info.id,
        region=home,
        marketplace_ids=tuple(m.value for m in chosen),
        client_id=secret_input(info, "client_id", lang),
        client_secret=Secret(secret_input(info, "client_secret", lang)),
        refresh_token=Secret(secret_input(info, "refresh_token", lang)),
        endpoint=args.endpoint,
        token_url=args.token_url,
        settings=settings,
        locale=lang,
    )
    with open_host(args, create=True) as host:
        try:
            host.store.add_account(account)
        except AccountExistsError:
            raise CliError(translate("cli.account_exists", lang, name=args.name)) from None
        AuditLog(host.data_dir, retention_days=audit_retention_days()).record(
            "account.add", account=args.name, marketplaces=len(chosen), settings=len(settings)
        )
    codes = ", ".join(m.code or m.value for m in chosen)
    print(translate("cli.account_added", lang, name=args.name, region=home, marketplaces=codes))
    return 0


def cmd_account_list(args: argparse.Namespace) -> int:
    if not has_store(args):
        print(translate("cli.no_accounts", args.lang))
        return 0
    with open_host(args) as host:
        accounts = host.store.list_accounts()
        info = host.plugins.connector()
    if not accounts:
        print(translate("cli.no_accounts", args.lang))
    codes = {c.value: c.code or c.value for c in info.account_field("marketplaces").choices}
    for account in accounts:
        markets = ", ".join(codes.get(m, m) for m in account.marketplace_ids)
        where = f"\t{printable(account.endpoint)}" if account.endpoint else ""
        print(
            f"{printable(account.name)}\t{printable(account.region)}\t{printable(markets)}{where}"
        )
    return 0


def cmd_account_set(args: argparse.Namespace) -> int:
    lang = args.lang
    with open_host(args) as host:
        account = get_account(host.store, args.name, lang)
        info = host.plugins.connector()
        changes: dict[str, object] = {}
        if args.marketplace:
            chosen = _marketplaces(info, args.marketplace, account.region, lang)
            changes["marketplace_ids"] = tuple(m.value for m in chosen)
        if args.setting:
            checked = parse_settings(info, args.setting, lang)
            changes["settings"] = {**_own_names(info, account.settings), **checked}
        if args.endpoint is not None:
            changes["endpoint"] = args.endpoint or None
        if args.token_url is not None:
            changes["token_url"] = args.token_url or None
        if not changes:
            raise CliError(translate("cli.account_nothing_to_change", lang, name=account.name))
        host.store.update_account(dataclasses.replace(account, **changes))  # type: ignore[arg-type]
        AuditLog(host.data_dir, retention_days=audit_retention_days()).record(
            "account.set",
            account=account.name,
            marketplaces="marketplace_ids" in changes,
            settings=len(args.setting),
            endpoint="endpoint" in changes or "token_url" in changes,
        )
    print(translate("cli.account_changed", lang, name=account.name))
    return 0


def cmd_account_credentials(args: argparse.Namespace) -> int:
    lang = args.lang
    with open_host(args) as host:
        account = get_account(host.store, args.name, lang)
        info = host.plugins.connector()
        renewed = dataclasses.replace(
            account,
            client_id=secret_input(info, "client_id", lang),
            client_secret=Secret(secret_input(info, "client_secret", lang)),
            refresh_token=Secret(secret_input(info, "refresh_token", lang)),
        )
        host.store.update_account(renewed)
        AuditLog(host.data_dir, retention_days=audit_retention_days()).record(
            "account.credentials", account=account.name
        )
    print(translate("cli.credentials_changed", lang, name=account.name))
    return 0


def cmd_account_remove(args: argparse.Namespace) -> int:
    lang = args.lang
    with open_host(args) as host:
        account = get_account(host.store, args.name, lang)
        orders = len(host.store.order_ids_by_status(account.id, tuple(OrderStatus)))
        if not args.yes and not _confirmed(account.name, orders, lang):
            print(translate("cli.account_kept", lang, name=account.name))
            return 1
        host.store.remove_account(account.id)
        AuditLog(host.data_dir, retention_days=audit_retention_days()).record(
            "account.remove", account=account.name, orders=orders
        )
    print(translate("cli.account_removed", lang, name=account.name, count=orders))
    return 0


# ------------------------------------------------------------------------------ helpers


def _confirmed(name: str, orders: int, lang: str) -> bool:
    if not sys.stdin.isatty():
        raise CliError(translate("cli.account_remove_needs_yes", lang, name=name))
    answer = input(translate("cli.account_remove_confirm", lang, name=name, count=orders))
    return answer.strip().lower() in YES


def _choice(info: ConnectorInfo, key: str, text: str, lang: str) -> Choice:
    account_field = info.account_field(key)
    try:
        return account_field.choice(text)
    except LookupError:
        known = ", ".join(c.code or c.value for c in account_field.choices)
        message = "cli.unknown_region" if key == "region" else "cli.unknown_marketplaces"
        raise CliError(translate(message, lang, value=text, known=known)) from None


def _marketplaces(
    info: ConnectorInfo, given: Sequence[str], region: str, lang: str
) -> list[Choice]:
    chosen = [_choice(info, "marketplaces", text, lang) for text in given]
    markets = info.account_field("marketplaces")
    for market in chosen:
        if markets.grouped_by == "region" and market.group != region:
            raise CliError(
                translate(
                    "cli.marketplace_region",
                    lang,
                    marketplace=market.code or market.value,
                    found=market.group,
                    region=region,
                )
            )
    return chosen


def _own_names(info: ConnectorInfo, settings: Mapping[str, str]) -> dict[str, str]:
    """Stored settings under the connector's current names (former names carried over)."""
    renamed: dict[str, str] = {}
    for key, value in settings.items():
        try:
            renamed[info.setting(key).key] = value
        except ValueError:
            renamed[key] = value  # not the connector's (any more): kept as it was
    return renamed
