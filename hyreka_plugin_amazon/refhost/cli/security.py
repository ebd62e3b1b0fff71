"""``hyreka-amazon rotate-key`` and ``hyreka-amazon purge``: the vault key and retention.

Both open the store only with the key its data was encrypted with (a wrong or missing key
stops them before anything is written) and print counts and order ids, never personal data.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from hyreka_plugin_amazon.refhost.background.poller import PERSONAL_DATA_DAYS
from hyreka_plugin_amazon.refhost.background.presence import poller_running
from hyreka_plugin_amazon.refhost.cli.common import database_of, error_text
from hyreka_plugin_amazon.refhost.cli.helptexts import non_negative
from hyreka_plugin_amazon.refhost.host import account_locks
from hyreka_plugin_amazon.refhost.i18n.texts import translate
from hyreka_plugin_amazon.refhost.paths import data_dir
from hyreka_plugin_amazon.refhost.safety.audit import AuditLog
from hyreka_plugin_amazon.refhost.safety.audit import retention_days as audit_retention_days
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV, Vault, VaultError
from hyreka_plugin_amazon.refhost.store import DB_FILE, Store, StoreError
from hyreka_plugin_amazon.refhost.store.errors import WalNotClearedError
from hyreka_plugin_amazon.refhost.store.leases import AccountBusyError

_MAX_PASSES = 3  # rotation passes before giving up on values that keep appearing under old keys


def add_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    """Register ``rotate-key`` and ``purge`` on the ``hyreka-amazon`` parser."""
    rotate = sub.add_parser(
        "rotate-key",
        parents=[common],
        help="re-encrypt all stored secrets and orders under a new vault key",
        description=(
            "Adds a new key to the key file, re-encrypts every stored value under it and then "
            "drops the old key. Safe to interrupt: run it again to finish. Refused while a "
            "sync runs; restart the host's background polling afterwards (it keeps the key it "
            f"started with). With {KEY_ENV} set, explains how to rotate there."
        ),
    )
    rotate.set_defaults(func=cmd_rotate_key)
    purge = sub.add_parser(
        "purge",
        parents=[common],
        help="remove buyers' personal data of orders closed longer than the retention period",
        description=(
            "Anonymises shipped and cancelled orders closed more than --days days ago: names, "
            "addresses, phones, e-mails and VAT ids go; ids, amounts, dates, country and lines "
            "stay for accounting."
        ),
    )
    purge.add_argument(
        "--days",
        type=non_negative,
        default=PERSONAL_DATA_DAYS,
        help=f"retention period after shipment or cancellation (default: {PERSONAL_DATA_DAYS})",
    )
    purge.add_argument(
        "--dry-run", action="store_true", help="only show which orders it would anonymise"
    )
    purge.set_defaults(func=cmd_purge)


def cmd_rotate_key(args: argparse.Namespace) -> int:
    folder = data_dir(args.data, create=False)
    database = database_of(args)
    if database is None and not (folder / DB_FILE).exists():
        return _fail(translate("cli.rotate.no_store", args.lang, folder=folder))
    try:
        vault = Vault.open(folder, env=os.environ, create=False)
        # proves the key before any change
        with Store(database or folder / DB_FILE, vault) as store:
            if vault.key_file is None:
                return _rotate_from_environment(store, vault, folder, args.lang)
            with _no_syncs(store):
                if vault.key_count > 1:
                    print(
                        translate(
                            "cli.rotate.finishing",
                            args.lang,
                            file=vault.key_file,
                            count=vault.key_count,
                        )
                    )
                else:
                    vault.add_new_primary_key()
                rotated = _rotate(store, vault)
                vault.drop_old_keys()
    except (VaultError, StoreError) as exc:
        return _fail(error_text(exc, args.lang))
    except AccountBusyError as exc:
        return _fail(f"{exc}; " + translate("cli.rotate.busy", args.lang))
    except KeyboardInterrupt:
        print(translate("cli.rotate.interrupted", args.lang), file=sys.stderr)
        return 130
    _audit(folder, "key.rotate", values=rotated, source="file")
    print(translate("cli.rotate.done", args.lang, count=rotated, file=vault.key_file))
    return 0


def cmd_purge(args: argparse.Namespace) -> int:
    folder = data_dir(args.data, create=False)
    database = database_of(args)
    if database is None and not (folder / DB_FILE).exists():
        print(translate("cli.purge.no_store", args.lang, folder=folder))
        return 0
    try:
        with Store.open(folder, env=os.environ, database=database) as store:
            ids = store.purge_personal_data(
                now=_utcnow(), after_days=args.days, dry_run=args.dry_run
            )
    except WalNotClearedError as exc:
        _audit(folder, "orders.purge", orders=exc.count, days=args.days, complete=False)
        return _fail(error_text(exc, args.lang))
    except (VaultError, StoreError) as exc:
        return _fail(error_text(exc, args.lang))
    if not args.dry_run:
        _audit(folder, "orders.purge", orders=len(ids), days=args.days, complete=True)
    facts = {"count": len(ids), "days": args.days}
    if args.dry_run:
        print(translate("cli.purge.would", args.lang, **facts))
    else:
        print(translate("cli.purge.done", args.lang, **facts))
    for amazon_order_id in ids:
        print(f"  {amazon_order_id}")
    return 0


def _rotate_from_environment(store: Store, vault: Vault, folder: Path, lang: str) -> int:
    if vault.key_count == 1:
        print(translate("cli.rotate.env_help", lang, env=KEY_ENV), file=sys.stderr)
        return 2
    if poller_running(folder):
        print(translate("cli.rotate.poller_running", lang, env=KEY_ENV), file=sys.stderr)
        return 2
    with _no_syncs(store):
        rotated = _rotate(store, vault)
    _audit(folder, "key.rotate", values=rotated, source="environment")
    print(translate("cli.rotate.env_done", lang, count=rotated, env=KEY_ENV))
    return 0


@contextmanager
def _no_syncs(store: Store) -> Iterator[None]:
    """Hold every account's sync lease: no sync writes under the old key meanwhile."""
    locks = account_locks(store)
    with ExitStack() as held:
        for account in store.list_accounts():
            lease = held.enter_context(locks.hold(account.id))
            if lease.taken_over_from is not None:  # a sync killed mid-way: say whose lease
                print(
                    f"account {account.name}: took over the lease of a sync that ended without "
                    f"releasing it (process {lease.taken_over_from})"
                )
        yield


def _rotate(store: Store, vault: Vault) -> int:
    """Rotate until a pass finds nothing left under an old key; the count of values rewritten."""
    total = 0
    for _ in range(_MAX_PASSES):
        rotated = store.rotate_key(vault)
        total += rotated
        if rotated == 0:
            return total
    raise StoreError(
        "values keep appearing under the old key (is the host still running?); stop the "
        "host's other processes and run `hyreka-amazon rotate-key` again",
        text_id="store.rotation_racing",
    )


def _audit(folder: Path, action: str, **facts: int | bool | str) -> None:
    """One entry in the data folder's audit log (counts and flags, never personal data)."""
    AuditLog(folder, retention_days=audit_retention_days()).record(action, account=None, **facts)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _fail(message: str) -> int:
    print(f"hyreka-amazon: {message}", file=sys.stderr)
    return 2
