"""Importing a report file a seller downloaded by hand from Seller Central.

``hyreka-amazon import-report FILE`` reads any of the order report layouts (see
``reports.catalogue.Layout``) into the host's orders. What a status the orders get depends on the
report: the order reports (with or without billing columns) and the unshipped report list only
orders ready to ship (open), FBA shipments are shipped, and the all-orders report says it per
order (``imported_status``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hyreka_plugin_amazon import messages
from hyreka_plugin_amazon.contract import (
    Account,
    Address,
    HostServices,
    Order,
    OrderStatus,
    Problem,
    ReportImport,
)
from hyreka_plugin_amazon.reasons import seller_reasons
from hyreka_plugin_amazon.reports.addresses import AddressMapper, default_map_address
from hyreka_plugin_amazon.reports.catalogue import Layout
from hyreka_plugin_amazon.reports.charsets import CharsetError
from hyreka_plugin_amazon.reports.orders import OrderErrors, ReportOrder, read_orders
from hyreka_plugin_amazon.reports.reader import (
    HeaderError,
    ReportReader,
    RowError,
    open_report_file,
)
from hyreka_plugin_amazon.reports.rows import unknown_money_columns
from hyreka_plugin_amazon.reports.statuses import LAYOUT_STATUS, all_orders_status
from hyreka_plugin_amazon.spapi.regions import UnknownMarketplaceError, marketplace


def imported_status(layout: Layout, order: ReportOrder) -> OrderStatus | None:
    """The host status of an order read from a report of this layout; None when the
    all-orders report gives a status this connector does not know (or none)."""
    status = LAYOUT_STATUS.get(layout)
    if status is not None:
        return status
    return all_orders_status(order.order_status)


@dataclass
class ImportedReport:
    """A report file read: its orders, and one error (at least) for each row not imported."""

    layout: Layout
    charset: str
    orders: list[Order] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    duplicates_skipped: int = 0
    unknown_money_columns: tuple[str, ...] = ()  # money columns whose amounts were not read

    @property
    def warnings(self) -> tuple[dict[str, str], ...]:
        """What the seller should know of the file as a whole, in every language."""
        found = []
        priceless = sum(order.prices_missing for order in self.orders)
        if priceless:
            found.append(messages.labels("report.prices_missing", count=priceless))
        if self.unknown_money_columns:
            columns = ", ".join(self.unknown_money_columns)
            found.append(messages.labels("report.money_columns_unknown", columns=columns))
        return tuple(found)

    def as_dict(self) -> dict[str, Any]:
        return {
            "layout": self.layout.value,
            "charset": self.charset,
            "orders": [order.as_dict() for order in self.orders],
            "errors": [error.as_dict() for error in self.errors],
            "duplicates_skipped": self.duplicates_skipped,
            "warnings": list(self.warnings),
        }


def read_report_file(
    path: Path,
    *,
    charset: str | None = None,
    default_marketplace_id: str | None = None,
    map_address: AddressMapper = default_map_address,
) -> ImportedReport:
    """Read a report file into orders and row errors (see ``open_report_file`` for charsets
    and containers; a file of a Japanese ``default_marketplace_id`` is tried as cp932 first).

    Raises HeaderError when the file is not an order report (a zip archive, a file re-saved
    by a spreadsheet with semicolons ...), CharsetError when it cannot be decoded; either
    with ``messages``, its text in every language. Every row of an order that is not imported
    has an error: the row's own, or "not imported: row N of this order failed".
    """
    try:
        return _read(path, charset, default_marketplace_id, map_address)
    except (HeaderError, CharsetError) as exc:
        exc.messages = seller_reasons(str(exc))
        raise


def _read(
    path: Path, charset: str | None, default_marketplace_id: str | None, map_address: AddressMapper
) -> ImportedReport:
    lines, codec = open_report_file(path, charset, japanese=_japanese(default_marketplace_id))
    reader = ReportReader(lines)
    report = ImportedReport(
        reader.layout, codec, unknown_money_columns=unknown_money_columns(reader.header)
    )
    for item in read_orders(
        reader, default_marketplace_id=default_marketplace_id, map_address=map_address
    ):
        if isinstance(item, ReportOrder):
            status = imported_status(reader.layout, item)
            if status is not None:
                report.orders.append(item.to_order(status))
                continue
            unknown = RowError(item.rows[0], "order-status", "unknown order status")
            item = OrderErrors(item.amazon_order_id, item.rows, (unknown,))
        report.errors.extend(item.row_errors())
    report.duplicates_skipped = reader.duplicates_skipped
    return report


def _japanese(marketplace_id: str | None) -> bool:
    """Whether files of this marketplace are Shift_JIS (cp932) when not UTF-8."""
    try:
        return marketplace_id is not None and marketplace(marketplace_id).charset == "Shift_JIS"
    except UnknownMarketplaceError:
        return False


def import_report_file(
    account: Account, path: Path, host: HostServices, *, charset: str | None = None
) -> ReportImport:
    """The ``import_report`` hook's answer: the file read for the account, nothing stored.

    Addresses go through ``host.map_address`` (so another plugin's mapping applies); orders
    without a marketplace column get the account's first marketplace.
    """
    default_marketplace = account.marketplace_ids[0] if account.marketplace_ids else None

    def mapper(
        row: Mapping[str, str | None], kind: Literal["billing", "shipping"]
    ) -> Address | None:
        return host.map_address(row=row, kind=kind, account=account)

    report = read_report_file(
        path, charset=charset, default_marketplace_id=default_marketplace, map_address=mapper
    )
    return ReportImport(
        layout=report.layout.value,
        charset=report.charset,
        orders=tuple(report.orders),
        problems=tuple(
            Problem(e.reason, None, e.row, e.column, seller_reasons(e.reason))
            for e in report.errors
        ),
        duplicates_skipped=report.duplicates_skipped,
        warnings=report.warnings,
    )
