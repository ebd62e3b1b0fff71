"""The store's SQL, written out once per backend in ``sql/`` beside this module.

Each backend (``Dialect``) has two files, read once per process:

- ``<dialect>_schema.sql``: its tables, keys and indexes (``ddl``);
- ``<dialect>.sql``: every statement the store runs, each under a name (``queries``): the
  same names in both files, each written in its backend's own SQL (parameters, JSON lists,
  locking), never translated from the other.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, fields
from importlib import resources
from typing import Literal, NamedTuple

_PACKAGE = "hyreka_plugin_amazon.refhost.store"
Dialect = Literal["sqlite", "postgresql"]
DIALECTS: tuple[Dialect, ...] = ("sqlite", "postgresql")

_ADDED_COLUMN = re.compile(r"ALTER TABLE (\w+) ADD COLUMN (?:IF NOT EXISTS )?(\w+) ")
_STATEMENT_END = re.compile(r";[ \t]*$", re.MULTILINE)


class AddedColumn(NamedTuple):
    """A column added after its table was released: run ``statement`` where it is missing."""

    table: str
    column: str
    statement: str


@dataclass(frozen=True)
class Schema:
    """A backend's DDL: ``creates`` make what is missing; ``added_columns`` bring an older
    database's tables up to date (run only where the column is missing)."""

    creates: tuple[str, ...]
    added_columns: tuple[AddedColumn, ...]


def read(name: str) -> str:
    """The text of ``sql/<name>`` in the installed package."""
    return resources.files(_PACKAGE).joinpath("sql", name).read_text(encoding="utf-8")


def statements(text: str) -> list[str]:
    """The statements of a file: full-line comments dropped, split at a ``;`` ending a line."""
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return [part.strip() for part in _STATEMENT_END.split("\n".join(lines)) if part.strip()]


@functools.cache
def ddl(dialect: Dialect) -> Schema:
    """The schema of ``dialect`` (read once)."""
    creates: list[str] = []
    added: list[AddedColumn] = []
    for statement in statements(read(f"{dialect}_schema.sql")):
        match = _ADDED_COLUMN.match(statement)
        if match is None:
            creates.append(statement)
        else:
            added.append(AddedColumn(match[1], match[2], statement))
    return Schema(tuple(creates), tuple(added))


@dataclass(frozen=True)
class Queries:
    """The named statements of one backend (``<dialect>.sql``), one attribute each."""

    dialect: Dialect
    # transactions
    begin_write: str
    commit: str
    rollback: str
    # the key check
    read_key_check: str
    key_check_for_write: str
    insert_key_check: str
    update_key_check: str
    # accounts
    insert_account: str
    update_account: str
    find_account: str
    list_accounts: str
    account_exists: str
    delete_account: str
    reseal_account: str
    accounts_not_under_key: str
    # per-account state
    get_state: str
    set_state: str
    delete_state: str
    # problems
    delete_problems: str
    insert_problem: str
    list_problems: str
    dismiss_problem: str
    open_problems: str
    drop_problem: str
    # sync runs
    start_run: str
    finish_run: str
    list_runs: str
    # orders
    upsert_order: str
    order_state: str
    order_state_for_write: str
    order_states_for_write: str
    order_payload: str
    find_order: str
    stored_order_ids: str
    orders_after: str
    order_summaries: str
    order_ids_by_status: str
    # retention and key rotation
    purge_candidates: str
    order_payload_for_write: str
    mark_purged: str
    stale_purged_order_ids: str
    orders_sealed_by_vault: str
    rewrite_payload: str
    # account keys
    account_key: str
    account_key_for_write: str
    insert_account_key: str
    accounts_without_key: str
    account_keys_not_under_key: str
    rewrap_account_key: str
    # the shipment outbox
    next_package_id: str
    package_order: str
    lock_packages: str
    find_request: str
    insert_request: str
    insert_shipment: str
    correct_shipment: str
    resend_shipment: str
    pending_shipments: str
    claim_shipment: str
    get_shipment: str
    record_outcome: str
    release_shipment: str
    withdraw_shipment: str
    forget_requests: str
    list_shipments: str
    count_pending_shipments: str
    # fencing
    lease_held: str
    # the leases
    lease_take: str
    lease_holder: str
    lease_renew: str
    lease_release: str
    # the invoice outbox
    record_invoice: str
    get_invoice: str
    invoices_to_send: str
    record_invoice_outcome: str
    list_invoices: str
    withdraw_invoice: str
    invoices_not_under_key: str
    reseal_invoice: str


class SqlFileError(RuntimeError):
    """A statement file that does not name exactly the statements ``Queries`` has."""


_NAME = re.compile(r"^-- name: (\w+)\s*$", re.MULTILINE)


def named_statements(text: str) -> dict[str, str]:
    """The statements of a file of named statements: each runs from its ``-- name: NAME`` line
    to the next; full-line comments are left out, as is the ``;`` that ends it."""
    parts = _NAME.split(text)
    found: dict[str, str] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in found:
            raise SqlFileError(f"the statement {name!r} is named twice")
        found_here = statements(body)
        if len(found_here) != 1:
            raise SqlFileError(f"{name!r} holds {len(found_here)} statements, not one")
        found[name] = found_here[0]
    return found


@functools.cache
def queries(dialect: Dialect) -> Queries:
    """The statements of ``dialect`` (read once); SqlFileError when the file lacks one of
    ``Queries``'s or names one it does not have."""
    found = named_statements(read(f"{dialect}.sql"))
    wanted = {f.name for f in fields(Queries)} - {"dialect"}
    if found.keys() != wanted:
        missing = sorted(wanted - found.keys())
        unknown = sorted(found.keys() - wanted)
        raise SqlFileError(f"{dialect}.sql: missing {missing}, unknown {unknown}")
    return Queries(dialect=dialect, **found)
