"""Row problems in the seller's words.

The report reader's reasons are stable English texts (``"not a number"``; tests and hosts may
rely on them); ``Problem.message`` carries the same reason from the message catalogs in the
catalog's languages (``{"de": ..., "en": ...}``), so a host shows it in the language of its
screen. A reason without a catalog entry is shown as it is.
"""

from __future__ import annotations

import re
from typing import Final

from hyreka_plugin_amazon import messages
from hyreka_plugin_amazon.reports import cells, reader

FIXED: Final = {
    "not a number": "reason.not_number",
    "not a whole number": "reason.not_whole_number",
    "not a date": "reason.not_date",
    "date without a UTC offset": "reason.date_without_offset",
    "not true or false": "reason.not_boolean",
    "not Amazon or Merchant": "reason.not_channel",
    "not text": "reason.not_text",
    "currency differs from the order's": "reason.currency_differs",
    "order id is missing": "reason.order_id_missing",
    "unknown order status": "reason.unknown_status",
    "a neighbouring row has no order id and may belong to this order": "reason.neighbour",
    "Missing data for required field.": "reason.missing",
    "value is missing": "reason.missing",  # the report cells' words for the same
    "not an ISO 3166 country code": "reason.not_country",
    "not an ISO 4217 currency code": "reason.not_currency",
    "the order item appears twice with different values": "reason.conflicting_item",
    "the shipment item appears twice with different values": "reason.conflicting_shipment",
    cells.SCIENTIFIC: "reason.scientific",
    cells.DECIMAL_ID: "reason.decimal_id",
    cells.DECIMAL_COMMA: "reason.decimal_comma",
    cells.SPREADSHEET_DATE: "reason.spreadsheet_date",
    cells.ORDER_ID_ZEROS: "reason.order_id_zeros",
    cells.NOT_ORDER_ID: "reason.not_order_id",
    cells.NOT_ITEM_ID: "reason.not_item_id",
    cells.NOT_SHIPMENT_ITEM_ID: "reason.not_shipment_item_id",
    # a file as a whole (import-report)
    reader.ZIP_FILE: "reason.file_zip",
    reader.SEMICOLONS: "reason.file_semicolons",
    reader.COMMAS: "reason.file_commas",
    "the file is empty: no header line": "reason.file_empty",
    "not an Amazon order report: the header has neither an order-id nor an amazon-order-id "
    "column": "reason.not_order_report",
    "the file is neither UTF-8 nor cp1252 nor cp932; name its charset": "reason.charset_unknown",
}
PATTERNS: Final = (
    (re.compile(r"not imported: row (?P<row>\d+) of this order failed"), "reason.order_row_failed"),
    (re.compile(r"address mapping failed \((?P<error>\w+)\)"), "reason.address_mapping"),
    (re.compile(r"cell longer than (?P<count>\d+) characters"), "reason.cell_too_long"),
    (re.compile(r"row has (?P<fields>\d+) fields, header has (?P<width>\d+)"), "reason.row_width"),
    (
        re.compile(r"row ends after (?P<fields>\d+) of (?P<width>\d+) fields \(cut short\?\)"),
        "reason.row_cut",
    ),
    (
        re.compile(r"the file is not valid (?P<codec>[\w-]+); name its charset"),
        "reason.charset_invalid",
    ),
    (
        re.compile(
            r"the header of this (?P<layout>[\w-]+) report lacks the column\(s\) (?P<columns>.+)"
        ),
        "reason.header_lacks",
    ),
    (re.compile(r"the header names the column\(s\) (?P<columns>.+) twice"), "reason.header_twice"),
    (
        re.compile(r"the header has more than (?P<count>\d+) columns: not an Amazon order report"),
        "reason.header_wide",
    ),
)


def seller_reasons(reason: str) -> dict[str, str]:
    """``reason`` in every language of the catalogs."""
    return {language: seller_reason(reason, language) for language in messages.LANGUAGES}


def seller_reason(reason: str, locale: str) -> str:
    """``reason`` in the locale's language (several reasons joined by ``; `` each)."""
    whole = _one(reason, locale)
    if whole is not None:
        return whole
    return "; ".join(_one(part, locale) or part for part in reason.split("; "))


def _one(reason: str, locale: str) -> str | None:
    message_id = FIXED.get(reason)
    if message_id is not None:
        return messages.translate(message_id, locale)
    for pattern, pattern_id in PATTERNS:
        match = pattern.fullmatch(reason)
        if match:
            return messages.translate(pattern_id, locale, **match.groupdict())
    return None
