"""The reference host: store, plugins and the actions a seller triggers, in one object."""

from __future__ import annotations

import dataclasses
import functools
import gc
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from hyreka_plugin_amazon.contract import (
    Account,
    Address,
    Invoice,
    InvoiceOutcome,
    InvoiceState,
    LoginResult,
    Order,
    OrderStatus,
    Progress,
    ReportImport,
    Shipment,
    ShipmentItem,
    ShipmentOutcome,
    ShipmentState,
    SyncResult,
)
from hyreka_plugin_amazon.refhost.i18n import texts
from hyreka_plugin_amazon.refhost.importmerge import merged_import
from hyreka_plugin_amazon.refhost.manager import AddressMapper, PluginHost
from hyreka_plugin_amazon.refhost.store import HostAdapter, Store, StoreError, shipments
from hyreka_plugin_amazon.refhost.store.fencing import Fence
from hyreka_plugin_amazon.refhost.store.leases import AccountLocks, Lease, SqliteAccountLocks
from hyreka_plugin_amazon.refhost.store.shipments import StoredShipment
from hyreka_plugin_amazon.secret import Secret

MAX_SENDS = 3  # sends of one package in a row while the seller keeps correcting it
REPEAT_WAIT_S = 10.0  # how long a form sent again waits for its first submit's outcome
# The outcomes the host decides without Amazon: their codes and the host's texts for them
HOST_SHIP_TEXTS = {
    "ship.order_cancelled": "cli.ship_order_cancelled",
    "ship.already_confirmed": "cli.ship_already_confirmed",
    "ship.in_flight": "cli.ship_in_flight",
}


def account_locks(store: Store) -> AccountLocks:
    """The per-account leases beside the store: in its SQLite file or its PostgreSQL database."""
    if store.url is not None:
        from hyreka_plugin_amazon.refhost.store.leases_pg import PgAccountLocks

        return PgAccountLocks(store.url)
    return SqliteAccountLocks(store.path)


class HostInputError(StoreError, ValueError):
    """Input the host refuses (an order it has not imported, an account it cannot choose);
    ``text_id`` names the host's text, in the seller's language."""


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
        self._mapper: tuple[Account, AddressMapper] | None = None  # the account's, made once

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
        """The ``map_address`` hook, its implementations looked up once per sync (a sync
        maps two addresses per order: ``PluginHost.address_mapper``)."""
        mapper = self._mapper
        if mapper is None or mapper[0] is not account:
            mapper = self._mapper = (account, self._plugins.address_mapper(account))
        return mapper[1](row, kind)


@functools.cache
def _freeze_start_up() -> None:
    """Once per process, when the host has started: what start-up made (modules, the plugin
    manager, the store) leaves the garbage collector's generations. A sync makes many young
    objects; the collections they set off then no longer walk every long-lived object (the
    first sync of a process spent 0.13 s of CPU in one full collection; benchmarks/README.md)."""
    gc.freeze()


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
        _freeze_start_up()

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
            self._send_shipments(account, self._pending_ids(account.id))
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
                result = self._committed(account.id, result)
                self.store.finish_run(run_id, result)
            # Then the invoices: orders shipped meanwhile are shipped at Amazon now.
            self._send_invoices(account)
        return result

    def _committed(self, account_id: str, result: SyncResult) -> SyncResult:
        """The result with the orders the store actually kept: orders staged for a commit
        that failed or was fenced out (a rolled-back sync) are not counted as created or
        updated."""
        dropped = self.store.take_dropped(account_id)
        if not dropped:
            return result
        return dataclasses.replace(
            result,
            created=max(0, result.created - dropped.get("created", 0)),
            updated=max(0, result.updated - dropped.get("updated", 0)),
        )

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
        request_token: str | None = None,
    ) -> tuple[Shipment, ShipmentOutcome]:
        """ "Versand bestätigen": keep the shipment in the outbox, then send it at once,
        exactly once.

        ``items`` None: every item with what is left of it (the order must be imported);
        ``package_id`` 0: a new package, unless a package already holds the same confirmation
        (order, carrier, tracking number, items): that one is sent again (when pending or
        refused) or named (when Amazon confirmed it: nothing is sent). Else the correction of
        that package. ``request_token``: a form's one-time token; sent again, it shows the
        first submit's outcome (waiting a little while that one is still being sent) and
        sends nothing. An order the host knows is cancelled is refused without a package
        and without a call. The outcome is recorded: a confirmed or refused shipment leaves
        the queue, one to retry stays pending for ``send_pending_shipments``, the next sync or
        the background run. The outcome's message is in ``locale`` (default: the account's
        language).
        """
        account = self.shipping_account(amazon_order_id, account_name)
        account = dataclasses.replace(account, locale=locale or account.locale)
        order = self.store.get_order(account.id, amazon_order_id)
        shipment = Shipment(
            amazon_order_id=amazon_order_id,
            package_id=package_id,
            carrier=carrier.strip(),
            tracking_number=tracking_number.strip(),
            ship_date=ship_date or datetime.now(UTC),
            items=tuple(ShipmentItem(item_id, quantity) for item_id, quantity in items or ()),
            carrier_name=carrier_name,
            shipping_method=shipping_method,
            marketplace_id=order.marketplace_id if order else None,
        )
        if order is not None and order.status is OrderStatus.CANCELLED:
            return shipment, self._host_outcome(
                account, shipment, ShipmentState.REFUSED, "ship.order_cancelled"
            )
        every_item_of = None
        if items is None:
            every_item_of = self._ordered(account.id, amazon_order_id, order, package_id)
            if package_id:  # a correction: what is left beside the other packages
                left = self.items_left(
                    account.id, amazon_order_id, order, except_package=package_id
                )
                shipment = dataclasses.replace(
                    shipment, items=tuple(ShipmentItem(i, q) for i, q in left), all_items=True
                )
                every_item_of = None
        recorded = self.store.record_confirmation(
            account.id, shipment, every_item_of=every_item_of, token=request_token
        )
        stored = recorded.stored
        if recorded.how == "repeat":
            return stored.shipment, self._first_result(account, stored)
        if recorded.how == "same" and stored.state == "confirmed":
            outcome = self._host_outcome(
                account, stored.shipment, ShipmentState.CONFIRMED, "ship.already_confirmed"
            )
            return stored.shipment, outcome
        [outcome] = self._send_shipments(account, [stored.shipment.package_id])
        if outcome.items is not None:  # Amazon counted some items as shipped already
            return dataclasses.replace(stored.shipment, items=outcome.items), outcome
        return stored.shipment, outcome

    def send_pending_shipments(
        self, account_name: str | None = None, *, locale: str | None = None
    ) -> list[ShipmentOutcome]:
        """Send every pending shipment (of one account, or of all); their outcomes, their
        messages in ``locale`` (default: each account's language)."""
        names = [account_name] if account_name else [a.name for a in self.store.list_accounts()]
        outcomes: list[ShipmentOutcome] = []
        for name in names:
            account = self.account(name, locale)
            outcomes += self._send_shipments(account, self._pending_ids(account.id))
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
        raise HostInputError(
            "--account NAME is needed: say which account the order belongs to",
            text_id="cli.ship_account_needed",
        )

    def items_left(
        self,
        account_id: str,
        amazon_order_id: str,
        order: Order | None,
        *,
        except_package: int = 0,
    ) -> list[tuple[str, int]]:
        """Each item of the order with the quantity no pending or confirmed package (but
        ``except_package``) holds. Of an order Amazon counts as shipped, only what
        ``except_package`` holds is left: the rest was shipped without a package of the host.
        NothingToShipError (a ValueError naming a host text) when nothing is left."""
        ordered = self._ordered(account_id, amazon_order_id, order, except_package)
        packages = self.store.list_shipments(account_id, amazon_order_id)
        left = shipments.items_left(ordered, packages, except_package=except_package)
        if not left:
            raise shipments.NothingToShipError(
                f"every item of order {amazon_order_id} is already in a package",
                text_id="cli.ship_nothing_left",
                order=amazon_order_id,
            )
        return left

    def _ordered(
        self, account_id: str, amazon_order_id: str, order: Order | None, package_id: int
    ) -> list[tuple[str, int]]:
        """The items of an imported order a package may still hold, with their quantities:
        every line, or, once Amazon counts the order as shipped, only what the package
        ``package_id`` holds (nothing for a new package: NothingToShipError)."""
        if order is None:
            raise HostInputError(
                f"order {amazon_order_id} is not imported: sync first, or name the items "
                "with --item ORDER_ITEM_ID=QUANTITY",
                text_id="cli.ship_not_imported",
                order=amazon_order_id,
            )
        if order.status is not OrderStatus.SHIPPED:
            return [(line.order_item_id, line.quantity) for line in order.lines]
        stored = self.store.get_shipment(account_id, package_id) if package_id else None
        if stored is None or stored.shipment.amazon_order_id != amazon_order_id:
            raise shipments.NothingToShipError(
                f"Amazon counts order {amazon_order_id} as shipped: nothing is left to ship",
                text_id="cli.ship_order_shipped",
                order=amazon_order_id,
            )
        return [(item.order_item_id, item.quantity) for item in stored.shipment.items]

    def _pending_ids(self, account_id: str) -> list[int]:
        return [s.package_id for s in self.store.pending_shipments(account_id)]

    def _send_shipments(
        self, account: Account, package_ids: Sequence[int]
    ) -> list[ShipmentOutcome]:
        """Send the pending packages, one sender a package at a time; their outcomes (a package
        that is no longer pending: how it stands). When Amazon cannot be reached, the rest stay
        pending and take that outcome without a call."""
        sender = shipments.new_sender()
        services = SyncHost(self.store, self.plugins)
        outcomes: list[ShipmentOutcome] = []
        halted: ShipmentOutcome | None = None
        for package_id in package_ids:
            if halted is not None:
                stored = self.store.get_shipment(account.id, package_id)
                if stored is not None and stored.state == "pending":
                    outcomes.append(
                        dataclasses.replace(
                            halted,
                            amazon_order_id=stored.shipment.amazon_order_id,
                            package_id=package_id,
                        )
                    )
                continue
            outcome = self._send_one(account, package_id, sender, services)
            if outcome is None:
                continue
            outcomes.append(outcome)
            if outcome.state is ShipmentState.RETRY and outcome.code != "ship.in_flight":
                halted = outcome
        return outcomes

    def _send_one(
        self, account: Account, package_id: int, sender: str, services: SyncHost
    ) -> ShipmentOutcome | None:
        """Send one package while holding it; a package corrected while it was being sent is
        sent again at once, with its new revision (what Amazon has may be the old one)."""
        for _ in range(MAX_SENDS):
            claimed = self.store.claim_shipment(account.id, package_id, sender)
            if claimed is None:
                return self._standing(account, package_id)
            try:
                [outcome] = self.plugins.confirm_shipments(account, [claimed.shipment], services)
            except BaseException:
                self.store.release_shipment(account.id, package_id, sender)
                raise
            applied = self.store.record_outcome(
                account.id, outcome, sender=sender, revision=claimed.revision
            )
            if applied == "applied":
                return outcome
            if applied == "lost":
                return self._standing(account, package_id)
        return self._standing(account, package_id)

    def _standing(self, account: Account, package_id: int) -> ShipmentOutcome | None:
        """How a package this sender could not send stands: Amazon's last outcome, or pending
        while another sender has it (that one sends the latest revision)."""
        stored = self.store.get_shipment(account.id, package_id)
        if stored is None:
            return None
        if stored.state == "pending":
            return self._host_outcome(
                account, stored.shipment, ShipmentState.RETRY, "ship.in_flight"
            )
        return ShipmentOutcome(
            amazon_order_id=stored.shipment.amazon_order_id,
            package_id=package_id,
            state=ShipmentState.CONFIRMED if stored.state == "confirmed" else ShipmentState.REFUSED,
            message=stored.message or "",
            code=stored.code or f"ship.{stored.state}",
        )

    def _first_result(self, account: Account, stored: StoredShipment) -> ShipmentOutcome:
        """The outcome of a form's first submit, for the same token sent again: waits a little
        while the first submit is still sending the package."""
        deadline = time.monotonic() + REPEAT_WAIT_S
        current: StoredShipment | None = stored
        while current is not None and current.state == "pending" and time.monotonic() < deadline:
            time.sleep(0.05)
            current = self.store.get_shipment(account.id, stored.shipment.package_id)
        if current is None or current.state == "pending":
            return self._host_outcome(
                account, stored.shipment, ShipmentState.RETRY, "ship.in_flight"
            )
        outcome = self._standing(account, current.shipment.package_id)
        assert outcome is not None
        return outcome

    def _host_outcome(
        self, account: Account, shipment: Shipment, state: ShipmentState, code: str
    ) -> ShipmentOutcome:
        """An outcome the host decides itself (no call to Amazon), in the account's language."""
        text = texts.translate(
            HOST_SHIP_TEXTS[code],
            account.locale,
            package=shipment.package_id,
            order=shipment.amazon_order_id,
        )
        return ShipmentOutcome(
            amazon_order_id=shipment.amazon_order_id,
            package_id=shipment.package_id,
            state=state,
            message=text,
            code=code,
        )

    # ---------------------------------------------------------------------------- invoices

    def upload_invoice(self, account: Account, invoice: Invoice) -> InvoiceOutcome:
        """Keep the invoice in the outbox, then send it at once, exactly once (the same
        order, number and document type is the same invoice; one Amazon has is not sent
        again, its standing is asked). Sent under the account's lease: while a sync of the
        account runs, it stays pending and that sync sends it."""
        self.store.record_invoice(account.id, invoice)
        lease = self.locks.acquire(account.id)
        if lease is None:
            return self._invoice_standing(account, invoice, busy=True)
        with lease:
            self._send_invoices(account, only=invoice.key)
        return self._invoice_standing(account, invoice)

    def send_pending_invoices(
        self, account_name: str | None = None, *, locale: str | None = None
    ) -> list[InvoiceOutcome]:
        """Send every pending invoice, and ask Amazon about the uploaded ones (of one account,
        or of all); their outcomes in ``locale`` (default: each account's language). An
        account whose sync runs meanwhile is left to that sync."""
        names = [account_name] if account_name else [a.name for a in self.store.list_accounts()]
        outcomes: list[InvoiceOutcome] = []
        for name in names:
            account = self.account(name, locale)
            lease = self.locks.acquire(account.id)
            if lease is None:
                outcomes += [
                    self._invoice_standing(account, invoice, busy=True)
                    for invoice in self.store.invoices_to_send(account.id)
                ]
                continue
            with lease:
                outcomes += self._send_invoices(account)
        return outcomes

    def _send_invoices(
        self, account: Account, only: tuple[str, str, str] | None = None
    ) -> list[InvoiceOutcome]:
        """Hand the account's pending and uploaded invoices (or the one ``only``) to the
        connector and record each outcome (under the account's lease)."""
        invoices = [
            invoice
            for invoice in self.store.invoices_to_send(account.id)
            if only is None or invoice.key == only
        ]
        if not invoices:
            return []
        outcomes = self.plugins.upload_invoices(
            account, invoices, SyncHost(self.store, self.plugins)
        )
        for outcome in outcomes:
            self.store.record_invoice_outcome(account.id, outcome)
        return outcomes

    def _invoice_standing(
        self, account: Account, invoice: Invoice, *, busy: bool = False
    ) -> InvoiceOutcome:
        """How the invoice stands in the outbox, as an outcome."""
        order, number, _ = invoice.key
        stored = self.store.get_invoice(account.id, order, number, invoice.document_type)
        assert stored is not None
        if busy and stored.state in ("pending", "uploaded"):
            text = texts.translate("cli.invoice_busy", account.locale, number=number)
            return InvoiceOutcome(
                order, number, invoice.document_type, InvoiceState.RETRY, text, "invoice.busy"
            )
        state = {
            "pending": InvoiceState.RETRY,
            "uploaded": InvoiceState.UPLOADED,
            "accepted": InvoiceState.ACCEPTED,
            "refused": InvoiceState.REFUSED,
        }[stored.state]
        return InvoiceOutcome(
            amazon_order_id=order,
            invoice_number=number,
            document_type=invoice.document_type,
            state=state,
            message=stored.reason or "",
            code=stored.code or f"invoice.{stored.state}",
            feed_id=stored.feed_id,
        )

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
                raise HostInputError(
                    "--account NAME is needed: say which account the report is of",
                    text_id="cli.import_account_needed",
                )
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
