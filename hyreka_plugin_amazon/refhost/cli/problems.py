"""``hyreka-amazon problems``: the open import problems, and dismissing one.

A problem is an order (or a row) a sync could not import: order id, row, column and reason,
never personal data. Each sync retries them; ``problems dismiss ID`` gives one up (the
connector stops retrying the order and holding its window for it).
"""

from __future__ import annotations

import argparse
import json
import sys

from hyreka_plugin_amazon.refhost.cli.common import CliError, open_host
from hyreka_plugin_amazon.refhost.i18n.texts import plural, translate
from hyreka_plugin_amazon.refhost.safety.audit import AuditLog
from hyreka_plugin_amazon.refhost.safety.audit import retention_days as audit_retention_days
from hyreka_plugin_amazon.refhost.services import accounts


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
        account = accounts.get(host, args.account) if args.account else None
        names = {a.id: a.name for a in host.store.list_accounts()}
        problems = host.store.open_problems(account.id if account else None)
    if args.json:
        payload = [
            {
                "id": p.id,
                "account": names.get(p.account_id, p.account_id),
                "amazon_order_id": p.amazon_order_id,
                "row": p.row,
                "column": p.column,
                "reason": p.seller_text(lang),
                "recorded_at": p.recorded_at.isoformat(),
            }
            for p in problems
        ]
        json.dump(payload, sys.stdout, ensure_ascii=False, indent=2)
        print()
        return 0
    for p in problems:
        print(
            translate(
                "cli.problem_entry",
                lang,
                id=p.id,
                account=names.get(p.account_id, p.account_id),
                order=p.amazon_order_id or "-",
                row="-" if p.row is None else p.row,
                column=p.column or "-",
                reason=p.seller_text(lang),
            )
        )
    print(plural("cli.problems", len(problems), lang))
    if problems:
        print(translate("cli.problems_hint", lang))
    return 0


def cmd_dismiss(args: argparse.Namespace) -> int:
    lang = args.lang
    with open_host(args) as host:
        found = [p for p in host.store.open_problems() if p.id == args.id]
        if not found:
            raise CliError(translate("cli.problem_not_found", lang, id=args.id))
        problem = found[0]
        account = accounts.get(host, problem.account_id)
        if problem.amazon_order_id:
            host.dismiss_problem(account.name, problem.amazon_order_id)
        host.store.drop_problem(problem.id)
        AuditLog(host.data_dir, retention_days=audit_retention_days()).record(
            "problem.dismiss", account=account.name, problem=problem.id
        )
    order = problem.amazon_order_id or "-"
    print(translate("cli.problem_dismissed", lang, id=problem.id, order=order))
    return 0
