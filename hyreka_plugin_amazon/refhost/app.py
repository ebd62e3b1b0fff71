"""The reference host: store, plugins and the actions a seller triggers, in one object."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Literal

from hyreka_plugin_amazon.contract import (
    Account,
    Address,
    LoginResult,
    Progress,
    ReportImport,
    SyncResult,
)
from hyreka_plugin_amazon.refhost import texts
from hyreka_plugin_amazon.refhost.importmerge import merged_import
from hyreka_plugin_amazon.refhost.locks import AccountLocks, Lease
from hyreka_plugin_amazon.refhost.manager import PluginHost
from hyreka_plugin_amazon.refhost.store import HostAdapter, Store
from hyreka_plugin_amazon.refhost.store.fencing import Fence
from hyreka_plugin_amazon.secret import Secret


class SyncHost(HostAdapter):
    """The host services of one sync, with address mapping through the plugin manager."""

    def __init__(
        self,
        store: Store,
        plugins: PluginHost,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        cancel_event: threading.Event | None = None,
        lease: Lease | None = None,
    ) -> None:
        fence = Fence(lease.account_id, lease.token) if lease is not None else None
        super().__init__(store, on_progress=on_progress, cancel_event=cancel_event, fence=fence)
        self._plugins = plugins
        self._lease = lease

    def cancel_requested(self, account_id: str) -> bool:
        """Asked to stop, or the account's lease was lost (another sync may have taken over)."""
        lost = self._lease is not None and self._lease.lost.is_set()
        return lost or super().cancel_requested(account_id)

    def map_address(
        self,
        *,
        row: Mapping[str, str | None],
        kind: Literal["billing", "shipping"],
        account: Account,
    ) -> Address | None:
        return self._plugins.map_address(row=row, kind=kind, account=account)


class ReferenceHost:
    """A small but real stand-in for the Warenwirtschaft around this connector."""

    def __init__(
        self,
        data_dir: Path,
        *,
        plugins: PluginHost | None = None,
        env: Mapping[str, str] = os.environ,
    ) -> None:
        self.data_dir = data_dir
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.store = Store.open(data_dir, env=env)
        self.locks = AccountLocks(self.store.path)
        self.plugins = plugins if plugins is not None else PluginHost()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> ReferenceHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def test_login(self, name: str) -> LoginResult:
        return self.plugins.test_login(self.store.get_account(name))

    def sync(
        self,
        name: str,
        *,
        trigger: str = "manual",
        on_progress: Callable[[Progress], None] | None = None,
        cancel_event: threading.Event | None = None,
    ) -> SyncResult:
        """Run one sync of the account and record it in the sync history.

        Holds the account's lease meanwhile: while another sync of the account runs (in this
        process or another on the same database), returns at once with code ``sync.busy``,
        without asking Amazon and without a history entry.
        """
        account = self.store.get_account(name)
        lease = self.locks.acquire(account.id)
        if lease is None:
            busy = texts.translate("sync.busy", account.locale)
            return SyncResult(ok=False, message=busy, code="sync.busy")
        with lease:
            run_id = self.store.start_run(account.id, trigger)
            host = SyncHost(
                self.store,
                self.plugins,
                on_progress=on_progress,
                cancel_event=cancel_event,
                lease=lease,
            )
            result = SyncResult(ok=False, message="interrupted", code="sync.error")
            try:
                result = self._told(self.plugins.sync_orders(account, host), lease, account)
            finally:
                self.store.finish_run(run_id, result)
        return result

    def _told(self, result: SyncResult, lease: Lease, account: Account) -> SyncResult:
        """The result with what the lease adds: taken over from a dead sync, or lost."""
        other = self.locks.holder(account.id)
        lost = lease.lost.is_set() or (other is not None and other != lease.token)
        if lost and not result.ok:  # an ok result committed its last write under the fence
            text = texts.translate("sync.lease_lost", account.locale)
            result = dataclasses.replace(result, ok=False, code="sync.lease_lost", message=text)
        if lease.taken_over_from is not None:
            note = texts.translate("sync.taken_over", account.locale, pid=lease.taken_over_from)
            result = dataclasses.replace(result, warnings=[note, *result.warnings])
        return result

    def dismiss_problem(self, name: str, amazon_order_id: str) -> None:
        """The seller gives up on an order's import problem: unlisted here, and the connector
        records it (its syncs stop retrying the order and holding their window for it)."""
        account = self.store.get_account(name)
        self.plugins.dismiss_problem(account, amazon_order_id, SyncHost(self.store, self.plugins))
        self.store.dismiss_problem(account.id, amazon_order_id)

    def import_report(
        self,
        path: Path,
        *,
        account_name: str | None,
        charset: str | None = None,
        dry_run: bool = False,
    ) -> tuple[ReportImport, dict[str, int]]:
        """Have the connector read a report downloaded by hand; unless ``dry_run``, store its
        orders. A dry run needs no account (the only connector reads the file)."""
        account = self.store.get_account(account_name) if account_name else None
        if account is None and dry_run:
            account = self._reader_account()
        elif account is None:
            accounts = self.store.list_accounts()
            if len(accounts) != 1:
                raise ValueError("--account NAME is needed: say which account the report is of")
            account = accounts[0]
        services = SyncHost(self.store, self.plugins)
        report = self.plugins.import_report(account, path, services, charset)
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        if not dry_run:  # never backwards, never over newer data, never erasing (importmerge)
            for order in report.orders:
                known = self.store.get_order(account.id, order.amazon_order_id)
                merged = merged_import(known, order, layout=report.layout)
                if merged is None:
                    counts["unchanged"] += 1
                    continue
                counts[self.store.upsert_order(account.id, merged)] += 1
        return report, counts

    def _reader_account(self) -> Account:
        """An account of the only connector, without credentials: enough to read a file."""
        return Account(
            id="",
            name="",
            connector=self.plugins.connector().id,
            region="",
            marketplace_ids=(),
            client_id="",
            client_secret=Secret(""),
            refresh_token=Secret(""),
        )
