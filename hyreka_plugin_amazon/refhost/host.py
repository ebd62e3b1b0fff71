"""The reference host: store, plugins and the actions a seller triggers, in one object."""

from __future__ import annotations

import dataclasses
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from hyreka_plugin_amazon.contract import (
    Account,
    Address,
    LoginResult,
    Order,
    Progress,
    ReportImport,
    Shipment,
    ShipmentItem,
    ShipmentOutcome,
    SyncResult,
)
from hyreka_plugin_amazon.refhost.i18n import texts
from hyreka_plugin_amazon.refhost.importmerge import merged_import
from hyreka_plugin_amazon.refhost.manager import PluginHost
from hyreka_plugin_amazon.refhost.store import HostAdapter, Store
from hyreka_plugin_amazon.refhost.store.fencing import Fence
from hyreka_plugin_amazon.refhost.store.leases import AccountLocks, Lease, SqliteAccountLocks
from hyreka_plugin_amazon.secret import Secret


def account_locks(store: Store) -> AccountLocks:
    """The per-account leases beside the store: in its SQLite file or its PostgreSQL database."""
    if store.url is not None:
        from hyreka_plugin_amazon.refhost.store.leases_pg import PgAccountLocks

        return PgAccountLocks(store.url)
    return SqliteAccountLocks(store.path)


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
        database: str | None = None,
    ) -> None:
        """``database``: a ``postgresql://`` URL (else ``HYREKA_AMAZON_DATABASE``, else the
        data folder's SQLite file); the vault key stays in the data folder or environment."""
        self.data_dir = data_dir
        self.env = env  # where the vault key comes from (the audit log opens it too)
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.store = Store.open(data_dir, env=env, database=database)
        self.locks = account_locks(self.store)
        self.plugins = plugins if plugins is not None else PluginHost()

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> ReferenceHost:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def account(self, name: str, locale: str | None = None) -> Account:
        """The stored account; with ``locale``, a copy that speaks it for one call (the
        language of a run or request is never stored with the account)."""
        account = self.store.get_account(name)
        return dataclasses.replace(account, locale=locale) if locale else account

    def test_login(self, name: str, *, locale: str | None = None) -> LoginResult:
        """The connector's login test; its message in ``locale`` (default: the account's)."""
        return self.plugins.test_login(self.account(name, locale))

    def sync(
        self,
        name: str,
        *,
        trigger: str = "manual",
        on_progress: Callable[[Progress], None] | None = None,
        cancel_event: threading.Event | None = None,
        locale: str | None = None,
    ) -> SyncResult:
        """Run one sync of the account and record it in the sync history; its messages in
        ``locale`` (default: the account's own language, as background syncs speak).

        Holds the account's lease meanwhile: while another sync of the account runs (in this
        process or another on the same database), returns at once with code ``sync.busy``,
        without asking Amazon and without a history entry.
        """
        account = self.account(name, locale)
        lease = self.locks.acquire(account.id)
        if lease is None:
            busy = texts.translate("sync.busy", account.locale)
            return SyncResult(ok=False, message=busy, code="sync.busy")
        with lease:
            # What the seller shipped goes first: the sync then reads Amazon's new status.
            self._send_shipments(account, self.store.pending_shipments(account.id))
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

    # ---------------------------------------------------------------------------- shipping

    def ship(
        self,
        amazon_order_id: str,
        *,
        carrier: str,
        tracking_number: str,
        account_name: str | None = None,
        carrier_name: str | None = None,
        shipping_method: str | None = None,
        ship_date: datetime | None = None,
        items: Sequence[tuple[str, int]] | None = None,
        package_id: int = 0,
        locale: str | None = None,
    ) -> tuple[Shipment, ShipmentOutcome]:
        """ "Versand bestätigen": keep the shipment in the outbox, then send it at once.

        ``items`` None: every item with what is left of it (the order must be imported);
        ``package_id`` 0: a new package, else the correction of that package. The outcome is
        recorded: a confirmed or refused shipment leaves the queue, one to retry stays pending
        for ``send_pending_shipments``, the next sync or the background run. The outcome's
        message is in ``locale`` (default: the account's language).
        """
        account = self.shipping_account(amazon_order_id, account_name)
        account = dataclasses.replace(account, locale=locale or account.locale)
        order = self.store.get_order(account.id, amazon_order_id)
        if items is None:
            items = self.items_left(account.id, amazon_order_id, order, except_package=package_id)
        shipment = Shipment(
            amazon_order_id=amazon_order_id,
            package_id=package_id,
            carrier=carrier.strip(),
            tracking_number=tracking_number.strip(),
            ship_date=ship_date or datetime.now(UTC),
            items=tuple(ShipmentItem(item_id, quantity) for item_id, quantity in items),
            carrier_name=carrier_name,
            shipping_method=shipping_method,
            marketplace_id=order.marketplace_id if order else None,
        )
        stored = self.store.record_shipment(account.id, shipment)
        return stored, self._send_shipments(account, [stored])[0]

    def send_pending_shipments(
        self, account_name: str | None = None, *, locale: str | None = None
    ) -> list[ShipmentOutcome]:
        """Send every pending shipment (of one account, or of all); their outcomes, their
        messages in ``locale`` (default: each account's language)."""
        names = [account_name] if account_name else [a.name for a in self.store.list_accounts()]
        outcomes: list[ShipmentOutcome] = []
        for name in names:
            account = self.account(name, locale)
            outcomes += self._send_shipments(account, self.store.pending_shipments(account.id))
        return outcomes

    def shipping_account(self, amazon_order_id: str, account_name: str | None) -> Account:
        """The named account, else the one that has the order, else the only one."""
        if account_name:
            return self.store.get_account(account_name)
        accounts = self.store.list_accounts()
        having = [a for a in accounts if self.store.get_order(a.id, amazon_order_id)]
        if len(having) == 1:
            return having[0]
        if len(accounts) == 1:
            return accounts[0]
        raise ValueError("--account NAME is needed: say which account the order belongs to")

    def items_left(
        self,
        account_id: str,
        amazon_order_id: str,
        order: Order | None,
        *,
        except_package: int = 0,
    ) -> list[tuple[str, int]]:
        """Each item of the order with the quantity no pending or confirmed package holds."""
        if order is None:
            raise ValueError(
                f"order {amazon_order_id} is not imported: sync first, or name the items "
                "with --item ORDER_ITEM_ID=QUANTITY"
            )
        packed: dict[str, int] = {}
        for stored in self.store.list_shipments(account_id, amazon_order_id):
            if stored.state == "refused" or stored.shipment.package_id == except_package:
                continue
            for item in stored.shipment.items:
                packed[item.order_item_id] = packed.get(item.order_item_id, 0) + item.quantity
        left = [
            (line.order_item_id, line.quantity - packed.get(line.order_item_id, 0))
            for line in order.lines
        ]
        left = [(item_id, quantity) for item_id, quantity in left if quantity > 0]
        if not left:
            raise ValueError(f"every item of order {amazon_order_id} is already in a package")
        return left

    def _send_shipments(
        self, account: Account, shipments: Sequence[Shipment]
    ) -> list[ShipmentOutcome]:
        if not shipments:
            return []
        services = SyncHost(self.store, self.plugins)
        outcomes = self.plugins.confirm_shipments(account, shipments, services)
        self.store.record_outcomes(account.id, outcomes)
        return outcomes

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
