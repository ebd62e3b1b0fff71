"""An order's stored record: the JSON payload the store encrypts, and its anonymised form."""

from __future__ import annotations

import dataclasses
import json

from hyreka_plugin_amazon.contract import Address, Order, OrderLine


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
    lines = ",".join(map(_line_json, order.lines))
    text = (
        f'{{"amazon_order_id":{_scalar(order.amazon_order_id)},'
        f'"marketplace_id":{_text(order.marketplace_id)},'
        f'"sales_channel":{_text(order.sales_channel)},'
        f'"status":{_str(order.status.value)},'
        f'"fulfillment_channel":{_text(order.fulfillment_channel)},'
        f'"currency":{_text(order.currency)},'
        f'"purchase_date":{_text(purchase.isoformat() if purchase else None)},'
        f'"is_business_order":{"true" if order.is_business_order else "false"},'
        f'"purchase_order_number":{_text(order.purchase_order_number)},'
        f'"buyer_company_name":{_text(order.buyer_company_name)},'
        f'"buyer_tax_registration_id":{_text(order.buyer_tax_registration_id)},'
        f'"buyer_email":{_text(order.buyer_email)},"lines":[{lines}],'
        f'"billing_address":{_address_json(order.billing_address)},'
        f'"shipping_address":{_address_json(order.shipping_address)},'
        f'"prices_missing":{"true" if order.prices_missing else "false"},'
        f'"last_updated":{_text(updated.isoformat() if updated else None)},'
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
        "null" if amount is None else f'"{amount:f}"'
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
