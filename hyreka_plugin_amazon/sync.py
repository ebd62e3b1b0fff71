"""The sync: Amazon -> client -> reader -> schemas -> host, for one account.

1. Window: from the cursor minus an overlap (first sync: a look-back) to Amazon's "now"; a
   window that left problems behind is opened again from its start until they import.
2. Two reports over the window: the order report (items, prices, billing and shipping
   addresses; only orders eligible for fulfilment) and the all-orders status report.
3. The status report is read first into a small map; then the order report streams through
   the reader and the schemas, each order handed to the host and committed on its own.
4. Known orders that Amazon shipped or cancelled are updated, never duplicated.
5. The cursor moves to the end of the window only when every order of it was handed over.

A constant number of API calls per sync, whatever the number of orders (report polling aside).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Literal

from hyreka_plugin_amazon import diagnostics, messages
from hyreka_plugin_amazon.flatfile import HeaderError, ReportReader
from hyreka_plugin_amazon.hookspecs import (
    Account,
    Address,
    HostServices,
    Order,
    OrderStatus,
    Problem,
    Progress,
    SyncResult,
)
from hyreka_plugin_amazon.schemas import OrderErrors, ReportOrder, read_orders
from hyreka_plugin_amazon.spapi import errors
from hyreka_plugin_amazon.spapi.client import SpApiClient
from hyreka_plugin_amazon.spapi.models import Report

log = logging.getLogger(__name__)

ORDER_REPORT_EU: Final = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"
ORDER_REPORT_OTHER: Final = "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING"
STATUS_REPORT: Final = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"
MAX_LOOKBACK_DAYS: Final = 60  # order reports cover the previous 60 days

CURSOR_KEY: Final = "cursor"
RETRY_FROM_KEY: Final = "retry_from"

AddressHook = Callable[[Mapping[str, str | None], Literal["billing", "shipping"]], Address | None]


@dataclass(frozen=True)
class SyncSettings:
    """Per-account knobs, read from ``Account.settings`` (strings, as the host stores them)."""

    lookback_days: int = 30
    overlap_minutes: int = 60
    order_report_type: str | None = None  # default: INVOICING in the EU, SHIPPING elsewhere
    poll_interval: float = 15.0
    max_poll_interval: float = 60.0
    report_deadline: float = 1800.0

    @classmethod
    def from_account(cls, account: Account) -> SyncSettings:
        s = account.settings
        default = cls()
        return cls(
            lookback_days=min(int(s.get("lookback_days", default.lookback_days)), 60),
            overlap_minutes=int(s.get("overlap_minutes", default.overlap_minutes)),
            order_report_type=s.get("order_report_type") or None,
            poll_interval=float(s.get("poll_interval", default.poll_interval)),
            max_poll_interval=float(s.get("max_poll_interval", default.max_poll_interval)),
            report_deadline=float(s.get("report_deadline", default.report_deadline)),
        )

    def order_report_for(self, account: Account) -> str:
        if self.order_report_type:
            return self.order_report_type
        return ORDER_REPORT_EU if account.region.lower() == "eu" else ORDER_REPORT_OTHER


@dataclass(frozen=True)
class StatusEntry:
    """What the all-orders report says of one order (no personal data)."""

    order_status: str
    item_statuses: tuple[str, ...]
    fulfillment_channel: Literal["MFN", "AFN"] | None
    last_updated: datetime | None


def decide_status(
    entry: StatusEntry | None, *, in_order_report: bool, known: Order | None
) -> OrderStatus:
    """Amazon's statuses -> the host's, following the rules in DESIGN.md (status rules)."""
    if entry is not None:
        status = entry.order_status.replace(" ", "").lower()
        if status in ("shipped", "invoiceunconfirmed"):
            return OrderStatus.SHIPPED
        if status in ("cancelled", "canceled"):
            return OrderStatus.CANCELLED
        if status in ("unshipped", "partiallyshipped"):
            return OrderStatus.OPEN
        items = {s.lower() for s in entry.item_statuses}
        if items & {"shipping", "shipped"}:  # partly shipped: it was ready to ship
            return OrderStatus.OPEN
    if in_order_report or (known is not None and known.status is OrderStatus.OPEN):
        return OrderStatus.OPEN
    return OrderStatus.PENDING


def make_client(account: Account) -> SpApiClient:
    return SpApiClient(
        client_id=account.client_id,
        client_secret=account.client_secret,
        refresh_token=account.refresh_token,
        region=account.region,
        endpoint=account.endpoint,
        token_url=account.token_url,
    )


@dataclass
class _Tally:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    waiting: int = 0
    skipped: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def count(self, outcome: str) -> None:
        setattr(self, outcome, getattr(self, outcome) + 1)


class SyncCancelled(Exception):
    """The host asked the running sync to stop."""


def sync_account(
    account: Account,
    host: HostServices,
    *,
    map_address: AddressHook,
    client: SpApiClient | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> SyncResult:
    """Import the account's open orders into the host; a result, never an exception."""
    client = client or make_client(account)
    run = _SyncRun(account, host, client, map_address, SyncSettings.from_account(account), now)
    return run.run()


class _SyncRun:
    def __init__(
        self,
        account: Account,
        host: HostServices,
        client: SpApiClient,
        map_address: AddressHook,
        settings: SyncSettings,
        now: Callable[[], datetime],
    ) -> None:
        self.account = account
        self.host = host
        self.client = client
        self.map_address = map_address
        self.settings = settings
        self.now = now
        self.tally = _Tally()
        self.locale = account.locale
        self.window_start: datetime | None = None
        self.window_end: datetime | None = None

    # ---------------------------------------------------------------- the flow

    def run(self) -> SyncResult:
        try:
            self._run()
        except SyncCancelled:
            return self._failed("sync.cancelled", messages.translate("sync.cancelled", self.locale))
        except (errors.SpApiError, HeaderError) as exc:
            diagnosis = diagnostics.sync_failure(exc, self.account)
            return self._failed(diagnosis.code, diagnosis.message)
        tally = self.tally
        message = messages.translate(
            "sync.ok",
            self.locale,
            created=tally.created,
            updated=tally.updated,
            unchanged=tally.unchanged,
            failed=len({p.row for p in tally.problems if p.row is not None}),
        )
        return self._result(True, "sync.ok", message)

    def _run(self) -> None:
        account_id = self.account.id
        self.window_start = self._window_start()
        order_report_type = self.settings.order_report_for(self.account)
        self._progress("requesting", "createReport")
        status_id = self.client.create_report(
            STATUS_REPORT, self.account.marketplace_ids, data_start_time=self.window_start
        )
        order_id = self.client.create_report(
            order_report_type, self.account.marketplace_ids, data_start_time=self.window_start
        )
        status_report = self._wait(status_id)
        order_report = self._wait(order_id)
        statuses = self._read_statuses(status_report)
        self._import_orders(order_report, statuses)
        self._apply_status_changes(statuses)

        self.host.record_problems(account_id, self.tally.problems)
        if self.tally.problems:
            retry_from = self.host.get_state(account_id, RETRY_FROM_KEY)
            if retry_from is None or datetime.fromisoformat(retry_from) > self.window_start:
                self.host.set_state(account_id, RETRY_FROM_KEY, self.window_start.isoformat())
        else:
            self.host.set_state(account_id, RETRY_FROM_KEY, None)
        self.window_end = _window_end(status_report, order_report, self.now())
        self.host.set_state(account_id, CURSOR_KEY, self.window_end.isoformat())
        self._progress("done", "done")

    def _window_start(self) -> datetime:
        now = self.now()
        earliest = now - timedelta(days=MAX_LOOKBACK_DAYS) + timedelta(minutes=5)
        cursor = self.host.get_state(self.account.id, CURSOR_KEY)
        if cursor is None:
            start = now - timedelta(days=self.settings.lookback_days)
        else:
            start = datetime.fromisoformat(cursor) - timedelta(
                minutes=self.settings.overlap_minutes
            )
        retry_from = self.host.get_state(self.account.id, RETRY_FROM_KEY)
        if retry_from is not None:
            start = min(start, datetime.fromisoformat(retry_from))
        return max(start, earliest).replace(microsecond=0)

    def _wait(self, report_id: str) -> Report:
        def on_status(report: Report) -> None:
            self._check_cancel()
            self._progress("processing", f"{report.report_type}: {report.processing_status}")

        return self.client.wait_for_report(
            report_id,
            poll_interval=self.settings.poll_interval,
            max_interval=self.settings.max_poll_interval,
            deadline=self.settings.report_deadline,
            on_status=on_status,
        )

    # ---------------------------------------------------------------- the two reports

    def _read_statuses(self, report: Report) -> dict[str, StatusEntry]:
        statuses: dict[str, StatusEntry] = {}
        if report.processing_status != "DONE" or not report.report_document_id:
            return statuses  # CANCELLED: no order changed in the window
        self._progress("downloading", "status report")
        with self.client.open_document(report.report_document_id, restricted=False) as lines:
            reader = ReportReader(lines)
            for item in read_orders(reader, default_marketplace_id=self._default_marketplace()):
                if isinstance(item, OrderErrors) or item.order_status is None:
                    continue  # a broken status row: the order keeps its state until next time
                statuses[item.amazon_order_id] = StatusEntry(
                    order_status=item.order_status,
                    item_statuses=item.item_statuses,
                    fulfillment_channel=item.fulfillment_channel,
                    last_updated=item.last_updated,
                )
        return statuses

    def _import_orders(self, report: Report, statuses: dict[str, StatusEntry]) -> None:
        if report.processing_status != "DONE" or not report.report_document_id:
            return  # CANCELLED: Amazon found no order eligible in the window
        self._progress("downloading", "order report")
        with self.client.open_document(
            report.report_document_id, restricted=True, on_bytes=self._on_bytes
        ) as lines:
            reader = ReportReader(lines)
            if not reader.has_billing_columns:
                self.tally.warnings.append(messages.translate("sync.billing_missing", self.locale))
            imported = 0
            for item in read_orders(
                reader,
                default_marketplace_id=self._default_marketplace(),
                map_address=self.map_address,
            ):
                self._check_cancel()
                if isinstance(item, OrderErrors):
                    self.tally.problems.extend(
                        Problem(
                            reason=e.reason,
                            amazon_order_id=item.amazon_order_id,
                            row=e.row,
                            column=e.column,
                        )
                        for e in item.errors
                    )
                    if item.amazon_order_id:
                        statuses.pop(item.amazon_order_id, None)
                    continue
                entry = statuses.pop(item.amazon_order_id, None)
                self._hand_over(item, entry)
                imported += 1
                if imported % 500 == 0:
                    self._progress("importing", "orders", done=imported)

    def _hand_over(self, record: ReportOrder, entry: StatusEntry | None) -> None:
        account_id = self.account.id
        known = self.host.get_order(account_id, record.amazon_order_id)
        status = decide_status(entry, in_order_report=True, known=known)
        if known is None and status is not OrderStatus.OPEN:
            self.tally.count("waiting" if status is OrderStatus.PENDING else "skipped")
            return
        order = record.to_order(status)
        if entry is not None:
            order = dataclasses.replace(
                order,
                fulfillment_channel=entry.fulfillment_channel or order.fulfillment_channel,
                last_updated=entry.last_updated or order.last_updated,
            )
        elif known is not None:
            order = dataclasses.replace(
                order,
                fulfillment_channel=order.fulfillment_channel or known.fulfillment_channel,
                last_updated=order.last_updated or known.last_updated,
            )
        self.tally.count(self.host.upsert_order(account_id, order))

    def _apply_status_changes(self, statuses: dict[str, StatusEntry]) -> None:
        """Orders the status report names but the order report did not: move known ones on."""
        account_id = self.account.id
        for amazon_order_id, entry in statuses.items():
            self._check_cancel()
            known = self.host.get_order(account_id, amazon_order_id)
            status = decide_status(entry, in_order_report=False, known=known)
            if known is None:
                self.tally.count("waiting" if status is OrderStatus.PENDING else "skipped")
                continue
            if status is OrderStatus.PENDING:
                status = known.status  # an imported order never goes back to waiting
            order = dataclasses.replace(
                known,
                status=status,
                fulfillment_channel=entry.fulfillment_channel or known.fulfillment_channel,
                last_updated=entry.last_updated or known.last_updated,
            )
            self.tally.count(self.host.upsert_order(account_id, order))

    # ---------------------------------------------------------------- helpers

    def _default_marketplace(self) -> str | None:
        ids = self.account.marketplace_ids
        return ids[0] if ids else None

    def _on_bytes(self, count: int) -> None:
        self._progress("downloading", "order report", done=count)

    def _check_cancel(self) -> None:
        if self.host.cancel_requested(self.account.id):
            raise SyncCancelled

    def _progress(
        self,
        phase: Literal["requesting", "processing", "downloading", "importing", "done"],
        message: str,
        done: int = 0,
        total: int | None = None,
    ) -> None:
        self.host.report_progress(Progress(self.account.id, phase, message, done, total))

    def _failed(self, code: str, message: str) -> SyncResult:
        log.warning("sync of account %s ended early: %s", self.account.id, code)
        return self._result(False, code, message)

    def _result(self, ok: bool, code: str, message: str) -> SyncResult:
        tally = self.tally
        warnings = list(tally.warnings)
        if tally.problems:
            orders_with_problems = {p.amazon_order_id for p in tally.problems}
            warnings.append(
                messages.translate("sync.problems", self.locale, count=len(orders_with_problems))
            )
        return SyncResult(
            ok=ok,
            message=message,
            code=code,
            created=tally.created,
            updated=tally.updated,
            unchanged=tally.unchanged,
            waiting=tally.waiting,
            skipped=tally.skipped,
            failed_rows=len({p.row for p in tally.problems if p.row is not None}),
            problems=list(tally.problems),
            api_calls=dict(self.client.calls),
            warnings=warnings,
            window_start=self.window_start,
            window_end=self.window_end,
        )


def _window_end(status: Report, orders: Report, fallback: datetime) -> datetime:
    ends = [r.data_end_time for r in (status, orders) if r.data_end_time is not None]
    return min(ends) if ends else fallback
