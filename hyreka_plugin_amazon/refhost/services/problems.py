"""Import problems: listing the open ones and dismissing one (the connector stops retrying the
order and holding its window for it). Dismissals are audited as ``problem.dismiss``."""

from __future__ import annotations

from dataclasses import dataclass

from hyreka_plugin_amazon.contract import Problem
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.services import auditing
from hyreka_plugin_amazon.refhost.services.accounts import get
from hyreka_plugin_amazon.refhost.services.errors import ServiceError
from hyreka_plugin_amazon.refhost.store import OpenProblem


@dataclass(frozen=True)
class ListedProblem:
    """An open problem and the name of its account."""

    problem: OpenProblem
    account_name: str


def open_problems(host: ReferenceHost, account_name: str | None = None) -> list[ListedProblem]:
    """The open problems (of one account), oldest first, each with its id."""
    account = get(host, account_name) if account_name else None
    names = {a.id: a.name for a in host.store.list_accounts()}
    return [
        ListedProblem(p, names.get(p.account_id, p.account_id))
        for p in host.store.open_problems(account.id if account else None)
    ]


def of_account(host: ReferenceHost, account_id: str) -> list[Problem]:
    """The account's problems as the connector recorded them."""
    return host.store.list_problems(get(host, account_id).id)


def dismiss(host: ReferenceHost, problem_id: int) -> OpenProblem:
    """Give up on the problem ``problem_id`` (``cli.problem_not_found`` if it is not open)."""
    found = [p for p in host.store.open_problems() if p.id == problem_id]
    if not found:
        raise ServiceError("cli.problem_not_found", id=problem_id)
    problem = found[0]
    account = get(host, problem.account_id)
    if problem.amazon_order_id:
        host.dismiss_problem(account.name, problem.amazon_order_id)
    host.store.drop_problem(problem.id)
    auditing.record(host, "problem.dismiss", account=account.name, problem=problem.id)
    return problem


def dismiss_order(host: ReferenceHost, account_id: str, amazon_order_id: str) -> int:
    """Give up on every open problem of the account's order; how many there were."""
    account = get(host, account_id)
    found = [
        p for p in host.store.open_problems(account.id) if p.amazon_order_id == amazon_order_id
    ]
    host.dismiss_problem(account.name, amazon_order_id)  # the connector records it even so
    for problem in found:
        host.store.drop_problem(problem.id)
        auditing.record(host, "problem.dismiss", account=account.name, problem=problem.id)
    return len(found)
