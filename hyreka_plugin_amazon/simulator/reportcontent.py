"""Report assembly: a requested report's terminal status and document, report faults applied.

The report's orders are chosen and rendered by ``flatfiles.py`` as the data stands when the
report is requested, less the simulator's report lag (``report_lag``: a report shows the
orders as they stood that long ago, so an order appears only that long after it was placed, a
change only that long after it happened); this module adds what the seller's settings and the
active report faults change (FATAL, CANCELLED, no billing columns, header only, malformed rows,
CRLF, a BOM) and files the result with the report store.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from hyreka_plugin_amazon.reports import catalogue
from hyreka_plugin_amazon.simulator import fbashipments, flatfiles
from hyreka_plugin_amazon.simulator.reportstore import Document, Report, new_document
from hyreka_plugin_amazon.simulator.state import SimulatorState
from hyreka_plugin_amazon.spapi import regions


def create_report(
    state: SimulatorState,
    seller_id: str,
    report_type: str,
    marketplace_ids: tuple[str, ...],
    start: datetime,
    end: datetime,
) -> Report:
    """A report over ``[start, end]``, its content fixed as the data stands now."""
    now = state.clock.now()
    outcome, document = report_content(state, seller_id, report_type, marketplace_ids, start, end)
    return state.reports.add(
        seller_id=seller_id,
        report_type=report_type,
        marketplace_ids=marketplace_ids,
        data_start=start,
        data_end=end,
        now=now,
        delay=state.report_delay,
        outcome=outcome,
        document=document,
    )


def report_content(
    state: SimulatorState,
    seller_id: str,
    report_type: str,
    marketplace_ids: tuple[str, ...],
    start: datetime,
    end: datetime,
) -> tuple[str, Document | None]:
    """The terminal status and the document, with any report faults applied."""
    seller = state.sellers[seller_id]
    charset = "Cp1252" if regions.marketplace(marketplace_ids[0]).charset == "Cp1252" else "UTF-8"

    def fire(name: str) -> Any:
        return state.faults.fire(
            name, seller_id=seller_id, operation="createReport", report_type=report_type
        )

    if report_type in flatfiles.ORDER_REPORT_TYPES and fire("order_reports_not_enabled"):
        return "FATAL", None
    fatal = fire("report_fatal")
    if fatal:
        text = fatal.params["message"] + "\n"
        return "FATAL", new_document(seller_id, report_type, text, "UTF-8", seller.region)
    if fire("report_cancelled"):
        return "CANCELLED", None
    seen = state.clock.now() - state.report_lag  # what Amazon's reports know by now
    until = min(end, seen)  # a payment or shipment within the lag is not known yet either
    with state.lock:
        own = [o for o in state.orders.values() if o.seller_id == seller_id]
        if report_type == flatfiles.FBA_SHIPMENTS:
            shipped = fbashipments.select(own, start, until, marketplace_ids, seen)
            data = list(fbashipments.rows(shipped))
        else:
            chosen = flatfiles.select(report_type, own, start, until, marketplace_ids, seen)
            data = list(flatfiles.rows(report_type, chosen, seen))
    if fire("header_only"):
        data = []
    elif not data:
        return "CANCELLED", None
    billing = not (report_type == flatfiles.INVOICING and fire("billing_columns_disabled"))
    malformed = fire("malformed_rows")
    kinds = set(malformed.params["kinds"].split("+")) if malformed else set()
    if kinds:
        layout = catalogue.REPORT_TYPES[report_type].layout
        id_column = layout.order_id_column if layout is not None else "order-id"
        data = flatfiles.malform(data, kinds, id_column)
    newline = "\r\n" if "crlf" in kinds else "\n"
    text = flatfiles.render(flatfiles.header(report_type, billing=billing), data, newline=newline)
    bom = "bom" in kinds
    return "DONE", new_document(seller_id, report_type, text, charset, seller.region, bom=bom)
