"""Keeping the host's data: the retention purge, the vault key's rotation, importing a report
downloaded by hand, and following a key file another process rotated.

Purge and rotation open the store only with the key its data was encrypted with (a wrong or
missing key stops them before anything is written); each is audited (``orders.purge``,
``key.rotate``, ``orders.import``: counts and flags, never personal data). A rotation also
relinks the audit log under the new key (``audit_intact``: whether the old key found it
intact; a broken log keeps its links and findings).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal

from hyreka_plugin_amazon.contract import ReportImport
from hyreka_plugin_amazon.refhost.host import ReferenceHost, account_locks
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV, Vault
from hyreka_plugin_amazon.refhost.services import auditing
from hyreka_plugin_amazon.refhost.services.errors import (
    NeedsConfirmation,
    ServiceError,
    StoreError,
    WalNotClearedError,
)
from hyreka_plugin_amazon.refhost.store import DB_FILE, Store

MAX_PASSES = 3  # rotation passes before giving up on values that keep appearing under old keys
# What a rotation tells while it works: (event, values). Events: "cli.rotate.finishing" (file,
# count: an interrupted rotation is finished), "lease-taken-over" (account, pid).
Notify = Callable[[str, Mapping[str, object]], None]


@dataclass(frozen=True)
class Purge:
    """The orders whose personal data went (or would go, ``dry_run``)."""

    orders: tuple[str, ...]
    days: int
    dry_run: bool


@dataclass(frozen=True)
class Rotation:
    """A finished key rotation: values rewritten, where the key lives."""

    values: int
    source: Literal["file", "environment"]
    key_file: Path | None


def purge(
    host: ReferenceHost, *, now: datetime, after_days: int, dry_run: bool = False, confirmed: bool
) -> Purge:
    """Anonymise shipped and cancelled orders closed more than ``after_days`` ago (names,
    addresses, phones, e-mails and VAT ids go; ids, amounts, dates, country and lines stay).

    Destroys data: unless ``confirmed`` (or a ``dry_run``), raises ``NeedsConfirmation``
    (``cli.purge.would``). A purge whose old copies stay in the write-ahead log raises
    ``WalNotClearedError`` after auditing ``complete: false``."""
    if not confirmed and not dry_run:
        would = host.store.purge_personal_data(now=now, after_days=after_days, dry_run=True)
        raise NeedsConfirmation("cli.purge.would", count=len(would), days=after_days)
    try:
        ids = host.store.purge_personal_data(now=now, after_days=after_days, dry_run=dry_run)
    except WalNotClearedError as exc:
        auditing.record(host, "orders.purge", orders=exc.count, days=after_days, complete=False)
        raise
    if not dry_run:  # complete: no old copy left (PostgreSQL keeps dead tuples until VACUUM)
        complete = host.store.purge_overwrites
        auditing.record(host, "orders.purge", orders=len(ids), days=after_days, complete=complete)
    return Purge(tuple(ids), after_days, dry_run)


def rotate_key(
    folder: Path,
    database: str | None,
    *,
    poller_running: Callable[[], bool],
    notify: Notify,
    env: Mapping[str, str] = os.environ,
) -> Rotation:
    """Re-encrypt every stored value under a new vault key, holding every account's sync
    lease meanwhile (``AccountBusyError`` while a sync runs); safe to interrupt and repeat.

    With the key in ``HYREKA_AMAZON_KEY``: only finishes a rotation the seller started there
    (``cli.rotate.env_help`` otherwise), and not while a poller runs
    (``cli.rotate.poller_running``, ``poller_running`` tells)."""
    vault = Vault.open(folder, env=env, create=False)
    audit = auditing.keyed_log(folder, database, vault, env)
    with Store(database or folder / DB_FILE, vault) as store:  # proves the key before a change
        if vault.key_file is None:
            if vault.key_count == 1:
                raise ServiceError("cli.rotate.env_help", env=KEY_ENV)
            if poller_running():
                raise ServiceError("cli.rotate.poller_running", env=KEY_ENV)
            with _no_syncs(store, notify):
                rotated = _rotate(store, vault)
                chain = audit.rechain()  # the audit log's links under the new key
            source: Literal["file", "environment"] = "environment"
        else:
            with _no_syncs(store, notify):
                if vault.key_count > 1:
                    notify(
                        "cli.rotate.finishing", {"file": vault.key_file, "count": vault.key_count}
                    )
                else:
                    vault.add_new_primary_key()
                rotated = _rotate(store, vault)
                chain = audit.rechain()  # while the old key can still check the old links
                vault.drop_old_keys()
            source = "file"
        audit.record("key.rotate", values=rotated, source=source, audit_intact=chain.intact)
    return Rotation(rotated, source, vault.key_file)


def import_report(
    host: ReferenceHost,
    path: Path,
    *,
    account_name: str | None,
    charset: str | None = None,
    dry_run: bool = False,
) -> tuple[ReportImport, dict[str, int]]:
    """Have the connector read a report downloaded by hand; unless ``dry_run``, store its
    orders (never backwards, never over newer data) and audit ``orders.import`` (counts)."""
    report, counts = host.import_report(
        path, account_name=account_name, charset=charset, dry_run=dry_run
    )
    if not dry_run:
        auditing.record(host, "orders.import", account=account_name, **counts)
    return report, counts


def follow_key_file(host: ReferenceHost) -> bool:
    """Whether the store took up a key file another process rotated."""
    return host.store.follow_key_file()


@contextmanager
def _no_syncs(store: Store, notify: Notify) -> Iterator[None]:
    """Hold every account's sync lease: no sync writes under the old key meanwhile."""
    locks = account_locks(store)
    with ExitStack() as held:
        for account in store.stored_accounts():  # a damaged one too: its key is rotated
            lease = held.enter_context(locks.hold(account.id))
            if lease.taken_over_from is not None:  # a sync killed mid-way: say whose lease
                notify("lease-taken-over", {"account": account.name, "pid": lease.taken_over_from})
        yield


def _rotate(store: Store, vault: Vault) -> int:
    """Rotate until a pass finds nothing left under an old key; the count of values rewritten."""
    total = 0
    for _ in range(MAX_PASSES):
        rotated = store.rotate_key(vault)
        total += rotated
        if rotated == 0:
            return total
    raise StoreError(
        "values keep appearing under the old key (is the host still running?); stop the "
        "host's other processes and run `hyreka-amazon rotate-key` again",
        text_id="store.rotation_racing",
    )
