"""``hyreka-amazon problems``: the open import problems, and dismissing one.

A problem is an order (or a row) a sync could not import: order id, row, column and reason,
never personal data. Each sync retries them; ``problems dismiss ID`` gives one up (the
connector stops retrying the order and holding its window for it).
"""

from __future__ import annotations

import argparse

from hyreka_plugin_amazon.refhost.cli.common import open_host, say
from hyreka_plugin_amazon.refhost.i18n.texts import plural, translate
from hyreka_plugin_amazon.refhost.safety.terminal import json_text
from hyreka_plugin_amazon.refhost.services import problems


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Register ``problems`` (and ``problems dismiss``) on the ``hyreka-amazon`` parser."""
    problems = sub.add_parser(
        "problems",
        parents=[common],
        help="list the open import problems (order, row, column, reason), each with an id",
    )
    problems.add_argument("--account", help="only this account's problems")
    problems.add_argument("--json", action="store_true", help="print JSON")
    problems.set_defaults(func=cmd_problems)
    actions = problems.add_subparsers(metavar="ACTION")
    dismiss = actions.add_parser(
        "dismiss", parents=[common], help="give up on a problem: later syncs stop retrying it"
    )
    dismiss.add_argument("id", type=int, help="the problem's id (from `problems`)")
    dismiss.set_defaults(func=cmd_dismiss)


def cmd_problems(args: argparse.Namespace) -> int:
    lang = args.lang
    with open_host(args) as host:
        listed = problems.open_problems(host, args.account)
    if args.json:
        payload = [
            {
                "id": entry.problem.id,
                "account": entry.account_name,
                "amazon_order_id": entry.problem.amazon_order_id,
                "row": entry.problem.row,
                "column": entry.problem.column,
                "reason": entry.problem.seller_text(lang),
                "recorded_at": entry.problem.recorded_at.isoformat(),
            }
            for entry in listed
        ]
        print(json_text(payload))
        return 0
    for entry in listed:
        p = entry.problem
        print(
            say(
                "cli.problem_entry",
                lang,
                id=p.id,
                account=entry.account_name,
                order=p.amazon_order_id or "-",
                row="-" if p.row is None else p.row,
                column=p.column or "-",
                reason=p.seller_text(lang),
            )
        )
    print(plural("cli.problems", len(listed), lang))
    if listed:
        print(translate("cli.problems_hint", lang))
    return 0


def cmd_dismiss(args: argparse.Namespace) -> int:
    with open_host(args) as host:
        problem = problems.dismiss(host, args.id)
    order = problem.amazon_order_id or "-"
    print(say("cli.problem_dismissed", args.lang, id=problem.id, order=order))
    return 0
