"""An order's stored record: the JSON payload the store encrypts, its plain columns, and its
anonymised form."""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from hyreka_plugin_amazon.contract import Address, Order, OrderLine
from hyreka_plugin_amazon.refhost.store.schema import ts


def anonymised(order: Order) -> Order:
    """The order without personal data: addresses keep only their country."""
    return dataclasses.replace(
        order,
        billing_address=_country_only(order.billing_address),
        shipping_address=_country_only(order.shipping_address),
        buyer_email=None,
        buyer_company_name=None,
        buyer_tax_registration_id=None,
    )


def _country_only(address: Address | None) -> Address | None:
    if address is None:
        return None
    return Address(
        name=None, lines=(), postal_code=None, city=None, country_code=address.country_code
    )


def order_json(order: Order) -> bytes:
    """The JSON of ``order.as_record()``, byte for byte as ``json.dumps`` writes it (compact
    separators, ``ensure_ascii=False``), written from the order's fields without the dicts in
    between; ``Order.from_dict`` reads it back."""
    purchase, updated = order.purchase_date, order.last_updated
    return _json(
        order,
        purchase.isoformat() if purchase else None,
        updated.isoformat() if updated else None,
        order.prices_missing,
    )


def order_record(order: Order) -> tuple[bytes, tuple[Any, ...]]:
    """``order_json(order)`` and the order's plain columns (``upsert_order``'s from status to
    billing_address_missing), in one pass: each date is formatted once (``isoformat`` is
    about 1 us) and the total summed once."""
    purchase, updated = order.purchase_date, order.last_updated
    purchase_iso = purchase.isoformat() if purchase else None
    updated_iso = updated.isoformat() if updated else None
    total = order.total  # None exactly when prices_missing
    address = order.shipping_address or order.billing_address
    columns = (
        order.status.value,
        order.marketplace_id,
        order.fulfillment_channel,
        _code(order.currency, _CURRENCY),
        _sortable(purchase, purchase_iso) if purchase and purchase_iso else None,
        _sortable(updated, updated_iso) if updated and updated_iso else None,
        "" if total is None else _fixed(total),  # "": prices unknown
        len(order.lines),
        _code(address.country_code, _COUNTRY) if address else None,
        order.billing_address_missing,
    )
    return _json(order, purchase_iso, updated_iso, total is None), columns


def _sortable(value: datetime, iso: str) -> str:
    """``schema.ts(value)`` from ``iso``, the value's ``isoformat()``: for a UTC time that text
    is ts's, less the microseconds when they are 0."""
    if value.tzinfo is not UTC:
        return ts(value)
    return iso if value.microsecond else f"{iso[:19]}.000000{iso[19:]}"


# Plain (unencrypted, never purged) columns keep a code only in its ISO shape: whatever else a
# report or a host's address mapping put there could be personal data.
_COUNTRY = re.compile(r"[A-Z]{2}")
_CURRENCY = re.compile(r"[A-Z]{3}")


def _code(value: str | None, shape: re.Pattern[str]) -> str | None:
    return value if value is not None and shape.fullmatch(value) else None


def _fixed(amount: Decimal) -> str:
    """``format(amount, "f")``: ``str`` writes the same text unless it uses an exponent
    (1E+2, 1E-7), and costs a third of it."""
    text = str(amount)
    return text if "E" not in text else format(amount, "f")


def _json(order: Order, purchase: str | None, updated: str | None, prices_missing: bool) -> bytes:
    lines = ",".join(map(_line_json, order.lines))
    text = (
        f'{{"amazon_order_id":{_scalar(order.amazon_order_id)},'
        f'"marketplace_id":{_text(order.marketplace_id)},'
        f'"sales_channel":{_text(order.sales_channel)},'
        f'"status":{_str(order.status.value)},'
        f'"fulfillment_channel":{_text(order.fulfillment_channel)},'
        f'"currency":{_text(order.currency)},'
        f'"purchase_date":{_text(purchase)},'
        f'"is_business_order":{"true" if order.is_business_order else "false"},'
        f'"purchase_order_number":{_text(order.purchase_order_number)},'
        f'"buyer_company_name":{_text(order.buyer_company_name)},'
        f'"buyer_tax_registration_id":{_text(order.buyer_tax_registration_id)},'
        f'"buyer_email":{_text(order.buyer_email)},"lines":[{lines}],'
        f'"billing_address":{_address_json(order.billing_address)},'
        f'"shipping_address":{_address_json(order.shipping_address)},'
        f'"prices_missing":{"true" if prices_missing else "false"},'
        f'"last_updated":{_text(updated)},'
        f'"billing_address_missing":{"true" if order.billing_address_missing else "false"}}}'
    )
    return text.encode("utf-8")


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # made once, used often
_str = json.encoder.encode_basestring  # what _ENCODER uses for strings (ensure_ascii=False)


def _text(value: str | None) -> str:
    return "null" if value is None else _str(value)


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, str):
        return _str(value)
    if type(value) is int:  # not bool; json writes ints as repr does
        return repr(value)
    return _ENCODER.encode(value)


def _address_json(address: Address | None) -> str:
    if address is None:
        return "null"
    lines = ",".join(map(_str, address.lines))
    return (
        f'{{"name":{_text(address.name)},"company":{_text(address.company)},"lines":[{lines}],'
        f'"postal_code":{_text(address.postal_code)},"city":{_text(address.city)},'
        f'"state":{_text(address.state)},"country_code":{_text(address.country_code)},'
        f'"phone":{_text(address.phone)}}}'
    )


def _line_json(line: OrderLine) -> str:
    a = [
        "null" if amount is None else f'"{_fixed(amount)}"'
        for amount in (
            line.item_price,
            line.item_tax,
            line.shipping_price,
            line.shipping_tax,
            line.item_promotion_discount,
            line.ship_promotion_discount,
            line.gift_wrap_price,
            line.gift_wrap_tax,
            line.points_granted,
            line.payment_method_fee,
        )
    ]
    return (
        f'{{"order_item_id":{_scalar(line.order_item_id)},"sku":{_text(line.sku)},'
        f'"title":{_text(line.title)},"quantity":{_scalar(line.quantity)},'
        f'"item_price":{a[0]},"item_tax":{a[1]},"shipping_price":{a[2]},"shipping_tax":{a[3]},'
        f'"item_promotion_discount":{a[4]},"ship_promotion_discount":{a[5]},'
        f'"gift_wrap_price":{a[6]},"gift_wrap_tax":{a[7]},"points_granted":{a[8]},'
        f'"payment_method_fee":{a[9]}}}'
    )
