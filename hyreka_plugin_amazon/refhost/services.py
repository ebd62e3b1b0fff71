"""What the host's screens do with accounts and orders, shared by the console and the CLI.

Accounts are built from the fields a connector describes in ``register_connector()``: a field
whose key names an ``Account`` attribute fills it, ``marketplaces`` fills ``marketplace_ids``,
any other field goes to the account's settings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hyreka_plugin_amazon.contract import (
    Account,
    AccountField,
    ConnectorInfo,
    Order,
    OrderStatus,
)
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.secret import Secret

_ACCOUNT_TEXT = ("client_id", "region")
_ACCOUNT_SECRETS = ("client_secret", "refresh_token")
ORDERS_PER_PAGE = 50


class FormError(ValueError):
    """A field the seller must fill in or correct; ``key`` names it, the text is a message id."""

    def __init__(self, key: str, message_id: str) -> None:
        super().__init__(message_id)
        self.key = key
        self.message_id = message_id


def marketplace_codes(info: ConnectorInfo) -> Callable[[str | None], str]:
    """Marketplace id -> the short code the connector's choices give it (``A1PA6795UKMFR9`` ->
    ``DE``); an unknown id stays as it is, none is ``-``."""
    codes: dict[str, str] = {}
    for spec in info.fields:
        if spec.key == "marketplaces":
            codes.update({c.value: c.code for c in spec.choices if c.code})

    def code_of(marketplace_id: str | None) -> str:
        if not marketplace_id:
            return "-"
        return codes.get(marketplace_id, marketplace_id)

    return code_of


def field_values(account: Account, info: ConnectorInfo) -> dict[str, str | list[str]]:
    """The account's values of the connector's fields, for a form; secrets are left empty."""
    values: dict[str, str | list[str]] = {}
    for spec in info.fields:
        if spec.secret:
            values[spec.key] = ""
        elif spec.key == "marketplaces":
            values[spec.key] = list(account.marketplace_ids)
        elif spec.key in _ACCOUNT_TEXT:
            values[spec.key] = str(getattr(account, spec.key))
        else:
            values[spec.key] = account.settings.get(spec.key, "")
    return values


def build_account(
    info: ConnectorInfo,
    *,
    name: str,
    values: Mapping[str, str | Sequence[str]],
    settings: Mapping[str, str] | None = None,
    endpoint: str | None = None,
    token_url: str | None = None,
    locale: str = "de",
    existing: Account | None = None,
) -> Account:
    """An account of the connector from a form's values.

    With ``existing`` (editing), an empty secret keeps the stored one. Raises ``FormError`` for
    a required field left empty or a choice the connector does not offer.
    """
    name = name.strip()
    if not name:
        raise FormError("name", "form.required")
    kept: dict[str, object] = {}
    extra: dict[str, str] = dict(existing.settings) if existing else {}
    for spec in info.fields:
        raw = values.get(spec.key, "")
        chosen: list[str] = []
        if spec.kind == "multichoice":
            chosen = [raw] if isinstance(raw, str) else list(raw)
            chosen = [_chosen(spec, c) for c in chosen if c]
            if spec.required and not chosen:
                raise FormError(spec.key, "form.required")
            value = ",".join(chosen)
        else:
            text = (raw if isinstance(raw, str) else ",".join(raw)).strip()
            if spec.kind == "choice" and text:
                text = _chosen(spec, text)
            if spec.secret and not text and existing is not None:
                text = getattr(existing, spec.key).reveal()
            if spec.required and not text:
                raise FormError(spec.key, "form.required")
            value = text
        if spec.key == "marketplaces":
            kept["marketplace_ids"] = tuple(chosen)
        elif spec.key in _ACCOUNT_SECRETS:
            kept[spec.key] = Secret(value)
        elif spec.key in _ACCOUNT_TEXT:
            kept[spec.key] = value
        else:
            extra[spec.key] = value
    if settings is not None:
        extra = {k: v for k, v in extra.items() if k in {f.key for f in info.fields}}
        extra.update(settings)
    base = existing or Account(
        id=name,
        name=name,
        connector=info.id,
        region="",
        marketplace_ids=(),
        client_id="",
        client_secret=Secret(""),
        refresh_token=Secret(""),
        endpoint=endpoint,
        token_url=token_url,
        locale=locale,
    )
    return dataclasses.replace(base, name=name, settings=extra, **kept)  # type: ignore[arg-type]


def _chosen(spec: AccountField, text: str) -> str:
    """The stored value of the choice ``text`` names (its value or code); FormError if none."""
    try:
        return spec.choice(text).value
    except LookupError:
        raise FormError(spec.key, "form.invalid_choice") from None


def parse_settings(lines: Iterable[str]) -> dict[str, str]:
    """``KEY=VALUE`` lines (blank lines skipped) as a dict; raises ``FormError`` otherwise."""
    settings: dict[str, str] = {}
    for line in lines:
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise FormError("settings", "form.settings")
        settings[key.strip()] = value.strip()
    return settings


def use_locale(host: ReferenceHost, name: str, locale: str) -> Account:
    """The account, stored with ``locale`` so the connector answers in the seller's language."""
    account = host.store.get_account(name)
    if account.locale != locale:
        account = dataclasses.replace(account, locale=locale)
        host.store.update_account(account)
    return account


@dataclass(frozen=True)
class OrderPage:
    """One page of an account's orders, newest first, after the status filter and search."""

    orders: tuple[Order, ...]
    page: int
    pages: int
    total: int


def order_page(
    host: ReferenceHost,
    account_id: str,
    *,
    status: OrderStatus | None = None,
    search: str = "",
    page: int = 1,
    per_page: int = ORDERS_PER_PAGE,
) -> OrderPage:
    """The orders of ``account_id`` with ``status`` whose id contains ``search``, paged."""
    needle = search.strip().lower()
    found = [
        order
        for order in host.store.iter_orders(account_id=account_id, status=status)
        if needle in order.amazon_order_id.lower()
    ]
    found.reverse()
    pages = max(1, -(-len(found) // per_page))
    page = min(max(1, page), pages)
    start = (page - 1) * per_page
    return OrderPage(tuple(found[start : start + per_page]), page, pages, len(found))


def buyer(order: Order) -> str:
    """Who bought: the company of a business order, else the billing (or shipping) name."""
    if order.buyer_company_name:
        return order.buyer_company_name
    for address in (order.billing_address, order.shipping_address):
        if address is not None and address.name:
            return address.name
    return "-"


def orders_with_packages(host: ReferenceHost, orders: Sequence[Order]) -> list[dict[str, Any]]:
    """Each order as a dict (``orders --json``) with its ``packages`` and their state."""
    packages: dict[str, list[dict[str, Any]]] = {}
    for stored in host.store.list_shipments():
        packages.setdefault(stored.shipment.amazon_order_id, []).append(stored.as_dict())
    return [{**o.as_dict(), "packages": packages.get(o.amazon_order_id, [])} for o in orders]
