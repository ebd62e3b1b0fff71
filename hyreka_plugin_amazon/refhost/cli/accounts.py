"""``hyreka-amazon account``: add, list, change, new credentials for, and remove accounts.

Secrets come from the ``AMAZON_*`` variables or a hidden prompt, trimmed, never from argv and
never printed. Settings are checked against the connector's description (``ConnectorInfo``)
when given. Changes and removals are written to the audit log (names and counts only). The
next step a line names is a command to copy: the account's name in it is quoted for the shell
(``test-login 'Mein Shop'``).
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import sys

from hyreka_plugin_amazon.refhost.cli.common import (
    CliError,
    has_store,
    open_host,
    parse_settings,
    say,
    secret_input,
)
from hyreka_plugin_amazon.refhost.i18n.texts import translate
from hyreka_plugin_amazon.refhost.safety.terminal import printable
from hyreka_plugin_amazon.refhost.services import accounts
from hyreka_plugin_amazon.refhost.services.accounts import CREDENTIALS, AccountForm

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
    add.add_argument("--region", default=accounts.DEFAULT_REGION, help="eu, na or fe (default: eu)")
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
    info = accounts.connector_info()
    form = AccountForm(
        name=args.name,
        values={"region": args.region, "marketplaces": args.marketplace},
        settings=parse_settings(info, args.setting),
        endpoint=args.endpoint,
        token_url=args.token_url,
    )
    accounts.check(info, form)  # before a secret is asked for or anything is created
    if has_store(args):
        with open_host(args) as host:
            accounts.name_free(host, args.name)
    secrets = {key: secret_input(info, key, lang) for key in CREDENTIALS}
    with open_host(args, create=True) as host:
        given = dataclasses.replace(form, values={**form.values, **secrets})
        account = accounts.add(host, given, locale=lang)
    codes = accounts.marketplace_codes(info)
    markets = ", ".join(codes(m) for m in account.marketplace_ids)
    print(
        say(
            "cli.account_added",
            lang,
            name=account.name,
            quoted=shlex.quote(account.name),
            region=account.region,
            marketplaces=markets,
        )
    )
    return 0


def cmd_account_list(args: argparse.Namespace) -> int:
    if not has_store(args):
        print(translate("cli.no_accounts", args.lang))
        return 0
    with open_host(args) as host:
        found = accounts.listing(host)
        codes = accounts.marketplace_codes(*accounts.connectors(host))
    if not found:
        print(translate("cli.no_accounts", args.lang))
    for account in found:
        markets = ", ".join(codes(m) for m in account.marketplace_ids)
        where = f"\t{printable(account.endpoint)}" if account.endpoint else ""
        state = ""
        if account.damaged:  # listed, and the others with it; says how to repair it
            state = "\t" + translate("cli.account_damaged", args.lang, name=printable(account.name))
        print(
            f"{printable(account.name)}\t{printable(account.region)}\t{printable(markets)}"
            f"{where}{state}"
        )
    return 0


def cmd_account_set(args: argparse.Namespace) -> int:
    with open_host(args) as host:
        info = accounts.connector_info(host, accounts.get(host, args.name).connector)
        form = AccountForm(
            values={"marketplaces": args.marketplace} if args.marketplace else {},
            settings=parse_settings(info, args.setting) if args.setting else None,
            endpoint=args.endpoint,
            token_url=args.token_url,
        )
        account = accounts.change(host, args.name, form)
    quoted = shlex.quote(account.name)
    print(say("cli.account_changed", args.lang, name=account.name, quoted=quoted))
    return 0


def cmd_account_credentials(args: argparse.Namespace) -> int:
    lang = args.lang
    with open_host(args) as host:
        before = accounts.stored(host, args.name)  # a damaged account too: nothing is opened
        info = accounts.connector_info(host, before.connector)
        secrets = {key: secret_input(info, key, lang) for key in CREDENTIALS}
        accounts.set_credentials(host, before.name, **secrets)
    quoted = shlex.quote(before.name)
    print(say("cli.credentials_changed", lang, name=before.name, quoted=quoted))
    if before.damaged and (before.endpoint or before.token_url):
        print(say("cli.credentials_endpoints_cleared", lang, name=before.name))
    return 0


def cmd_account_remove(args: argparse.Namespace) -> int:
    lang = args.lang
    with open_host(args) as host:
        if not args.yes:
            asked = accounts.removal(host, args.name)
            if not _confirmed(asked.name, asked.orders, lang):
                print(say("cli.account_kept", lang, name=asked.name))
                return 1
        removed = accounts.remove(host, args.name, confirmed=True)
    print(say("cli.account_removed", lang, name=removed.name, count=removed.orders))
    return 0


# ------------------------------------------------------------------------------ helpers


def _confirmed(name: str, orders: int, lang: str) -> bool:
    if not sys.stdin.isatty():
        raise CliError(say("cli.account_remove_needs_yes", lang, name=name))
    answer = input(say("cli.account_remove_confirm", lang, name=name, count=orders))
    return answer.strip().lower() in YES
