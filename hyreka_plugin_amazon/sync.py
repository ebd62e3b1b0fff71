"""The sync: Amazon -> client -> reader -> schemas -> host, for one account.

1. Window: from the cursor minus an overlap (first sync: a look-back) to Amazon's "now", or
   from ``retry_from`` when an earlier window was held open (below).
2. Two reports over the window: the order report (items, prices, billing and shipping
   addresses; only seller-fulfilled orders eligible for fulfilment) and the all-orders status
   report; with the account setting ``fba_orders`` (on in the EU) a third, the FBA shipments
   report, whose Amazon-fulfilled orders are imported as shipped (rules in ``fba.py``).
3. The status report is read first into a small map; then the order report streams through
   the reader and the schemas, each order handed to the host (which may commit in batches,
   always before the cursor moves). A
   download that breaks off is read once more from a fresh URL (orders already handed over
   are skipped); an order is handed over only whole, never cut off by a broken download.
4. Known orders that Amazon shipped or cancelled are updated, never duplicated; an order
   without a status entry never goes back from shipped or cancelled to open.
5. The cursor moves to the end of the window only when every order of it was handed over; a
   sync that fails leaves cursor and ``retry_from`` as they were.

A window is held open (``retry_from`` = its start, read again by every sync until released)
while it left something behind: an order with a problem (until it imports, or the seller
dismisses it through the ``dismiss_problem`` hook: ``record_dismissal``); orders imported without
the billing columns their report type should carry (known orders keep the billing address
the host has: ``kept_billing``); a report that came back CANCELLED or
without rows (Amazon's "no data", trusted only once a report over the window has rows); or
orders whose status was unknown (then new orders wait instead of being guessed open).

Charsets: the download's Content-Type; without one UTF-8, then cp1252 (cp932 for Japan).
A constant number of API calls per sync, whatever the number of orders (report polling aside).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final, Literal, TypeVar

from hyreka_plugin_amazon import diagnostics, fba, messages
from hyreka_plugin_amazon.connector import settings as connector_settings
from hyreka_plugin_amazon.contract import (
    Account,
    Address,
    HostServices,
    OrderStatus,
    Problem,
    Progress,
    SyncResult,
)
from hyreka_plugin_amazon.handover import decide_status, kept_billing
from hyreka_plugin_amazon.reasons import seller_reasons
from hyreka_plugin_amazon.reports.catalogue import (
    BILLING_REPORTS,
    ORDER_REPORT_EU,
    ORDER_REPORT_OTHER,
    RESTRICTED_REPORT_TYPES,
    STATUS_REPORT,
)
from hyreka_plugin_amazon.reports.orders import OrderErrors, ReportOrder, read_orders
from hyreka_plugin_amazon.reports.reader import HeaderError, ReportReader
from hyreka_plugin_amazon.reports.rows import unknown_money_columns
from hyreka_plugin_amazon.reports.statuses import StatusEntry, read_statuses
from hyreka_plugin_amazon.spapi import errors
from hyreka_plugin_amazon.spapi.client import SpApiClient
from hyreka_plugin_amazon.spapi.documents import DocumentStream
from hyreka_plugin_amazon.spapi.models import DONE, Report
from hyreka_plugin_amazon.spapi.regions import marketplace

log = logging.getLogger(__name__)

MAX_LOOKBACK_DAYS: Final = 60  # order reports cover the previous 60 days

CURSOR_KEY: Final = "cursor"
RETRY_FROM_KEY: Final = "retry_from"
DISMISSED_PREFIX: Final = "dismissed:"  # + order id: set by record_dismissal (dismiss_problem)

NEIGHBOUR_WITHOUT_ID: Final = "a neighbouring row has no order id and may belong to this order"

T = TypeVar("T")
AddressHook = Callable[[Mapping[str, str | None], Literal["billing", "shipping"]], Address | None]
# Amazon's processing statuses -> the progress text ids the seller reads.
STATES: Final = {
    "IN_QUEUE": "progress.state.IN_QUEUE",
    "IN_PROGRESS": "progress.state.IN_PROGRESS",
    "DONE": "progress.state.DONE",
    "CANCELLED": "progress.state.CANCELLED",
    "FATAL": "progress.state.FATAL",
}
Hold = (
    Literal["problems", "billing", "status report empty", "order report empty", "status unknown"]
    | fba.FbaHold
)
# The settings the sync reads, each defined once (name, former names, range, default).
SETTINGS: Final = {setting.key: setting for setting in connector_settings()}


@dataclass(frozen=True)
class SyncSettings:
    """The account's settings as the sync uses them: each read through its ``SettingInfo`` in
    ``connector.settings()`` (the one definition of names, former names, ranges and defaults)."""

    lookback_days: int
    overlap_minutes: int
    order_report_type: str | None  # None: INVOICING in the EU, SHIPPING elsewhere
    report_check_seconds: float
    report_check_max_seconds: float
    report_wait_seconds: float
    fba_orders: bool  # import FBA orders (setting fba_orders; default: on in the EU)

    @classmethod
    def from_account(cls, account: Account) -> SyncSettings:
        def value(key: str) -> str:
            return SETTINGS[key].read(account.settings)

        return cls(
            lookback_days=int(value("lookback_days")),
            overlap_minutes=int(value("overlap_minutes")),
            order_report_type=value("order_report_type") or None,
            report_check_seconds=float(value("report_check_seconds")),
            report_check_max_seconds=float(value("report_check_max_seconds")),
            report_wait_seconds=float(value("report_wait_seconds")),
            fba_orders=fba.fba_orders_enabled(account),
        )

    def order_report_for(self, account: Account) -> str:
        if self.order_report_type:
            return self.order_report_type
        return ORDER_REPORT_EU if account.region.lower() == "eu" else ORDER_REPORT_OTHER


def fallback_charsets(account: Account) -> tuple[str, ...]:
    """The charset tried after UTF-8 when a download declares none: cp932 for Japan."""
    japan = any(marketplace(m).charset == "Shift_JIS" for m in account.marketplace_ids)
    return ("cp932",) if japan else ("cp1252",)


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
    client = client or SpApiClient.for_account(account)
    run = _AccountSync(account, host, client, map_address, SyncSettings.from_account(account), now)
    return run.run()


class _AccountSync:
    """One sync of one account: the report flow (request, wait, read, hand over, close the
    window). The decisions it applies are plain functions beside it (``handover``: an order's
    status and billing address; ``fba.decide``: an FBA order's fate)."""

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
        self.holds: set[Hold] = set()
        self.downloaded = 0  # bytes of the order report, for the progress display
        self.download_size: int | None = None  # its size on the wire, when Amazon says it
        self.absent_means_open = False  # the status report was read whole, without a bad row
        self.in_order_report: set[str] = set()
        self.handed_over: set[str] = set()
        self.pending_reports: list[str] = []  # requested, not yet processed: cancel on cancel
        self.reading: diagnostics.Reading = "order report"
        self.first_sync = False

    # ---------------------------------------------------------------- the flow

    def run(self) -> SyncResult:
        try:
            self._run()
        except SyncCancelled:
            self._cancel_pending_reports()
            return self._failed("sync.cancelled", messages.translate("sync.cancelled", self.locale))
        except (errors.SpApiError, HeaderError) as exc:
            diagnosis = diagnostics.sync_failure(
                exc,
                self.account,
                order_report=self.settings.order_report_for(self.account),
                reading=self.reading,
            )
            return self._failed(
                diagnosis.code, diagnosis.message, reauthorize=diagnosis.needs_reauthorization
            )
        except Exception as exc:
            if diagnostics.is_disk_full(exc):
                log.error("sync of account %s failed: the disk is full", self.account.id)
                return self._failed(
                    "sync.disk_full", messages.translate("sync.disk_full", self.locale)
                )
            detail = type(exc).__name__  # its text may quote report content
            log.error("sync of account %s failed: %s", self.account.id, detail)
            return self._failed(
                "sync.error", messages.translate("sync.error", self.locale, detail=detail)
            )
        tally = self.tally
        message = messages.translate(
            "sync.ok",
            self.locale,
            created=tally.created,
            updated=tally.updated,
            unchanged=tally.unchanged,
            failed=messages.translate_plural(
                "count.failed_rows",
                len({p.row for p in tally.problems if p.row is not None}),
                self.locale,
            ),
        )
        return self._result(True, "sync.ok", message)

    def _run(self) -> None:
        self.window_start = self._window_start()
        order_report_type = self.settings.order_report_for(self.account)
        self._progress("requesting", self._say("progress.requesting"))
        marketplaces = self.account.marketplace_ids
        try:
            status_id = self.client.create_report(
                STATUS_REPORT, marketplaces, data_start_time=self.window_start
            )
        except errors.BadRequestError as exc:
            marketplaces = self._participating_only(exc)
            status_id = self.client.create_report(
                STATUS_REPORT, marketplaces, data_start_time=self.window_start
            )
        self.pending_reports.append(status_id)
        order_id = self.client.create_report(
            order_report_type, marketplaces, data_start_time=self.window_start
        )
        self.pending_reports.append(order_id)
        fba_id = None
        if self.settings.fba_orders:
            fba_id = self.client.create_report(
                fba.FBA_REPORT,
                self.account.marketplace_ids,
                data_start_time=fba.report_start(self.window_start, self.now()),
            )
            self.pending_reports.append(fba_id)
        status_report = self._wait(status_id)
        order_report = self._wait(order_id)
        fba_report = self._wait(fba_id) if fba_id is not None else None
        statuses = self._read_twice("status report", lambda: self._read_statuses(status_report))
        self._read_twice("order report", lambda: self._import_orders(order_report, statuses))
        reports = [status_report, order_report]
        if fba_report is not None:
            self._read_twice("FBA report", lambda: self._import_fba(fba_report, statuses))
            reports.append(fba_report)
        window_end = _window_end(reports, self.now())
        if fba_report is not None:
            self._check_fba_left_behind(statuses, window_end)
        self._apply_status_changes(statuses)
        self._close_window(window_end)

    def _participating_only(self, refused: errors.BadRequestError) -> tuple[str, ...]:
        """After Amazon refused the account's marketplaces: those the seller sells on, with a
        warning naming the others; ``refused`` again when that leaves none or changes none
        (a createReport refused with 400 created no report, so asking again is safe)."""
        if "marketplaceids" not in refused.message.lower():
            raise refused
        selling = {p.marketplace_id for p in self.client.get_marketplace_participations()
                   if p.is_participating}  # fmt: skip
        kept = tuple(m for m in self.account.marketplace_ids if m in selling)
        left_out = [m for m in self.account.marketplace_ids if m not in selling]
        if not kept or not left_out:
            raise refused
        labels = ", ".join(diagnostics.marketplace_label(m) for m in left_out)
        self.tally.warnings.append(
            messages.translate("sync.marketplaces_left_out", self.locale, marketplaces=labels)
        )
        return kept

    def _window_start(self) -> datetime:
        now = self.now()
        earliest = now - timedelta(days=MAX_LOOKBACK_DAYS) + timedelta(minutes=5)
        cursor = self.host.get_state(self.account.id, CURSOR_KEY)
        if cursor is None:
            self.first_sync = True
            start = now - timedelta(days=self.settings.lookback_days)
        else:
            start = datetime.fromisoformat(cursor) - timedelta(
                minutes=self.settings.overlap_minutes
            )
        retry_from = self.host.get_state(self.account.id, RETRY_FROM_KEY)
        if retry_from is not None:
            start = min(start, datetime.fromisoformat(retry_from))
        return max(start, earliest).replace(microsecond=0)

    def _close_window(self, window_end: datetime) -> None:
        """Record problems, hold the window open or release it, then move the cursor."""
        account_id = self.account.id
        assert self.window_start is not None
        self.tally.problems = [p for p in self.tally.problems if not self._dismissed(p)]
        self.host.record_problems(account_id, self.tally.problems)
        if self.tally.problems:
            self.holds.add("problems")
        if "status report empty" in self.holds and (self.tally.waiting or self.first_sync):
            warning = messages.translate(
                "sync.status_report_held",
                self.locale,
                count=self.tally.waiting,
                start=self.window_start.isoformat(),
            )
            self.tally.warnings.append(warning)
        if self.holds:  # set before the cursor moves: a kill in between loses nothing
            log.info(
                "account %s: window from %s held open (%s)",
                account_id,
                self.window_start.isoformat(),
                ", ".join(sorted(self.holds)),
            )
            self.host.set_state(account_id, RETRY_FROM_KEY, self.window_start.isoformat())
        else:
            self.host.set_state(account_id, RETRY_FROM_KEY, None)
        self.window_end = window_end
        self.host.set_state(account_id, CURSOR_KEY, window_end.isoformat())
        self._progress("done", self._say("progress.done"))

    def _dismissed(self, problem: Problem) -> bool:
        order_id = problem.amazon_order_id
        if not order_id:
            return False
        return self.host.get_state(self.account.id, DISMISSED_PREFIX + order_id) is not None

    def _cancel_pending_reports(self) -> None:
        """A cancelled sync cancels the reports it requested and Amazon has not processed yet,
        so they do not take Amazon's time; a report Amazon has started stays (it cannot be
        cancelled), and a failing cancel never hides the cancellation."""
        for report_id in self.pending_reports:
            try:
                self.client.cancel_report(report_id)
            except errors.SpApiError as exc:
                log.info("report %s not cancelled: %s", report_id, exc.code or type(exc).__name__)
        self.pending_reports.clear()

    def _wait(self, report_id: str) -> Report:
        def on_status(report: Report) -> None:
            self._check_cancel()
            state = STATES.get(report.processing_status, "progress.state.IN_PROGRESS")
            name = self._report_name(report.report_type)
            self._progress(
                "processing", self._say("progress.processing", report=name, state=self._say(state))
            )

        finished = self.client.wait_for_report(
            report_id,
            poll_interval=self.settings.report_check_seconds,
            max_interval=self.settings.report_check_max_seconds,
            deadline=self.settings.report_wait_seconds,
            on_status=on_status,
            tick=self._check_cancel,
        )
        self.pending_reports.remove(report_id)
        return finished

    def _read_twice(self, what: diagnostics.Reading, read: Callable[[], T]) -> T:
        """``read()``; once more (from a fresh download URL) if the download broke off: the
        only place a broken download is repeated (the document stream raises, never restarts)."""
        self.reading = what
        try:
            return read()
        except errors.DocumentTruncatedError:
            log.warning(
                "account %s: the %s download broke off; reading it again", self.account.id, what
            )
            return read()

    # ---------------------------------------------------------------- the two reports

    def _read_statuses(self, report: Report) -> dict[str, StatusEntry]:
        statuses: dict[str, StatusEntry] = {}
        if report.processing_status != DONE or not report.report_document_id:
            self.holds.add("status report empty")  # CANCELLED: "no order changed", unproven
            return statuses
        self._progress("downloading", self._say("progress.report.status"))
        rows = broken = False
        with self._open(report, report.report_document_id) as lines:
            for item in read_statuses(_reader(lines)):
                rows = True
                if isinstance(item, OrderErrors):
                    broken = True  # whose status is missing now? Any order's, maybe.
                    continue
                statuses[item.amazon_order_id] = item
        self.absent_means_open = rows and not broken
        if not rows:
            self.holds.add("status report empty")
        return statuses

    def _import_orders(
        self,
        report: Report,
        statuses: dict[str, StatusEntry],
        kind: Literal["orders", "fba"] = "orders",
    ) -> None:
        """Hand the orders of the order report (``kind`` "orders") or of the FBA shipments
        report ("fba") over; those already handed over are skipped."""
        orders_report = kind == "orders"
        hand_over = self._hand_over if orders_report else self._hand_over_fba
        if report.processing_status != DONE or not report.report_document_id:
            if orders_report:  # the FBA report: left_behind checks what should be there
                self.holds.add("order report empty")  # CANCELLED: "none eligible", unproven
            return
        self._progress(
            "downloading",
            self._say("progress.report.order" if orders_report else "progress.report.fba"),
        )
        problems: list[Problem] = []
        suspect_rows: set[int] = set()  # rows next to a row without an order id
        rows = False
        self.downloaded, self.download_size = 0, None  # this download's bytes, of its size
        with self._open(report, report.report_document_id, on_bytes=self._on_bytes) as lines:
            self.download_size = lines.size
            reader = _reader(lines)
            self._check_billing(report, reader)
            unknown = unknown_money_columns(reader.header)
            if unknown:
                self._warn("report.money_columns_unknown", columns=", ".join(unknown))
            if not orders_report:
                fba.check_layout(reader)
            for item in read_orders(
                reader,
                default_marketplace_id=self._default_marketplace(),
                map_address=self.map_address,
            ):
                self._check_cancel()
                rows = True
                if item.amazon_order_id:
                    self.in_order_report.add(item.amazon_order_id)
                if isinstance(item, OrderErrors):
                    problems.extend(_problems(item))
                    if not item.amazon_order_id:  # rows of one order are adjacent
                        suspect_rows.update(n for row in item.rows for n in (row - 1, row + 1))
                    continue
                if item.amazon_order_id in self.handed_over:
                    continue
                if suspect_rows and suspect_rows.intersection(item.rows):
                    row = min(suspect_rows.intersection(item.rows))
                    words = seller_reasons(NEIGHBOUR_WITHOUT_ID)
                    problems.append(
                        Problem(NEIGHBOUR_WITHOUT_ID, item.amazon_order_id, row, messages=words)
                    )
                    continue
                hand_over(item, statuses.get(item.amazon_order_id))
                self.handed_over.add(item.amazon_order_id)
                if len(self.handed_over) % 500 == 0:
                    self._progress(
                        "importing", self._say("progress.orders"), done=len(self.handed_over)
                    )
        count = len(self.handed_over)
        self._progress("importing", self._say("progress.orders"), done=count, total=count)
        self.tally.problems.extend(problems)
        if not rows and orders_report:
            self.holds.add("order report empty")

    def _check_billing(self, report: Report, reader: ReportReader) -> None:
        if reader.has_billing_columns or report.report_type not in BILLING_REPORTS:
            return  # outside the EU the order report carries no billing columns at all
        self._warn("sync.billing_missing")
        self.holds.add("billing")  # read again once the seller switches the columns on

    def _warn(self, message_id: str, **params: object) -> None:
        """A warning in the account's language, once per sync."""
        warning = messages.translate(message_id, self.locale, **params)
        if warning not in self.tally.warnings:
            self.tally.warnings.append(warning)

    def _hand_over(self, record: ReportOrder, entry: StatusEntry | None) -> None:
        account_id = self.account.id
        known = self.host.get_order(account_id, record.amazon_order_id)
        if entry is None and not self.absent_means_open:
            self.holds.add("status unknown")
            if known is None:  # eligible, but shipped or cancelled since? Wait for the status.
                self.tally.count("waiting")
                return
        status = decide_status(entry, in_order_report=True, known=known)
        if known is None and status is not OrderStatus.OPEN:
            self.tally.count("waiting" if status is OrderStatus.PENDING else "skipped")
            return
        channel, updated = record.fulfillment_channel, record.last_updated
        if entry is not None:
            channel = entry.fulfillment_channel or channel
            updated = entry.last_updated or updated
        elif known is not None:
            channel = channel or known.fulfillment_channel
            updated = updated or known.last_updated
        order = record.to_order(status, fulfillment_channel=channel, last_updated=updated)
        if not record.has_billing_columns and known is not None:
            order = kept_billing(known, order)
        self.tally.count(self.host.upsert_order(account_id, order))

    def _import_fba(self, report: Report, statuses: dict[str, StatusEntry]) -> None:
        self._import_orders(report, statuses, kind="fba")

    def _hand_over_fba(self, record: ReportOrder, entry: StatusEntry | None) -> None:
        """An order of the FBA report: imported as shipped once Amazon shipped all of it."""
        account_id = self.account.id
        known = self.host.get_order(account_id, record.amazon_order_id)
        decision = fba.decide(entry, known)
        if decision.hold is not None:
            self.holds.add(decision.hold)
        if decision.status is None:
            self.tally.count(decision.outcome)
            return
        updated = entry.last_updated if entry is not None else None
        if updated is None and known is not None:
            updated = known.last_updated
        order = record.to_order(decision.status, fulfillment_channel="AFN", last_updated=updated)
        self.tally.count(self.host.upsert_order(account_id, fba.merged(known, order)))

    def _check_fba_left_behind(self, statuses: dict[str, StatusEntry], end: datetime) -> None:
        """Hold the window (or record problems) for FBA orders the FBA report did not list."""

        def known_status(amazon_order_id: str) -> OrderStatus | None:
            known = self.host.get_order(self.account.id, amazon_order_id)
            return known.status if known is not None else None

        found = fba.left_behind(statuses, self.in_order_report, known_status, end)
        if found.recent:
            self.holds.add("fba shipments missing")
        self.tally.problems.extend(found.problems)

    def _apply_status_changes(self, statuses: dict[str, StatusEntry]) -> None:
        """Orders the status report names but the order report did not: move known ones on."""
        account_id = self.account.id
        for amazon_order_id, entry in statuses.items():
            if amazon_order_id in self.in_order_report:
                continue
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

    def _open(
        self, report: Report, document_id: str, on_bytes: Callable[[int], None] | None = None
    ) -> DocumentStream:
        return self.client.open_document(
            document_id,
            restricted=report.report_type in RESTRICTED_REPORT_TYPES,
            fallback_charsets=fallback_charsets(self.account),
            on_bytes=on_bytes,
        )

    def _default_marketplace(self) -> str | None:
        ids = self.account.marketplace_ids
        return ids[0] if ids else None

    def _on_bytes(self, count: int) -> None:
        self.downloaded += count
        self._progress(
            "downloading",
            self._say("progress.report.order"),
            done=self.downloaded,
            total=self.download_size,
        )

    def _check_cancel(self) -> None:
        if self.host.cancel_requested(self.account.id):
            raise SyncCancelled

    def _say(self, message_id: str, **params: object) -> str:
        """A progress text in the account's language (Progress.message is the seller's)."""
        return messages.translate(message_id, self.locale, **params)

    def _report_name(self, report_type: str) -> str:
        kind = "status" if report_type == STATUS_REPORT else "order"
        return self._say(f"progress.report.{kind}")

    def _progress(
        self,
        phase: Literal["requesting", "processing", "downloading", "importing", "done"],
        message: str,
        done: int = 0,
        total: int | None = None,
    ) -> None:
        self.host.report_progress(Progress(self.account.id, phase, message, done, total))

    def _failed(self, code: str, message: str, *, reauthorize: bool = False) -> SyncResult:
        log.warning("sync of account %s ended early: %s", self.account.id, code)
        return self._result(False, code, message, reauthorize=reauthorize)

    def _result(
        self, ok: bool, code: str, message: str, *, reauthorize: bool = False
    ) -> SyncResult:
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
            needs_reauthorization=reauthorize,
        )


def record_dismissal(host: HostServices, account_id: str, amazon_order_id: str) -> None:
    """The seller gave up on the order's problem: later syncs neither retry nor hold for it."""
    host.set_state(account_id, DISMISSED_PREFIX + amazon_order_id, datetime.now(UTC).isoformat())


def _problems(item: OrderErrors) -> list[Problem]:
    return [
        Problem(e.reason, item.amazon_order_id, e.row, e.column, seller_reasons(e.reason))
        for e in item.errors
    ]


def _reader(lines: DocumentStream) -> ReportReader:
    """The reader of a download: one kept in memory is read twice, not held line by line
    between the regrouping's two passes (a tenth of the memory for gzip documents)."""
    return ReportReader(lines, replay=lines.replay if lines.replayable else None)


def _window_end(reports: list[Report], fallback: datetime) -> datetime:
    ends = [r.data_end_time for r in reports if r.data_end_time is not None]
    return min(ends) if ends else fallback
