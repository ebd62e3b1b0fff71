"""The default address mapping: a report row's billing or shipping columns -> Address.

A host or another plugin can map addresses its own way (Packstation, company lines) through
the ``map_address`` hook; this is the connector's own mapping behind it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

from hyreka_plugin_amazon.contract import Address

AddressMapper = Callable[[Mapping[str, str | None], Literal["billing", "shipping"]], Address | None]


@dataclass(frozen=True, slots=True)
class AddressColumns:
    """The report columns one kind of address is read from."""

    name: str
    lines: tuple[str, str, str]
    postal_code: str
    city: str
    country: str
    state: str
    phone: str
    company: str | None = None
    fallback_name: str | None = None  # read when ``name`` is empty


SHIPPING_COLUMNS = AddressColumns(
    name="recipient-name",
    lines=("ship-address-1", "ship-address-2", "ship-address-3"),
    postal_code="ship-postal-code",
    city="ship-city",
    country="ship-country",
    state="ship-state",
    phone="ship-phone-number",
)
BILLING_COLUMNS = AddressColumns(
    name="bill-name",
    lines=("bill-address-1", "bill-address-2", "bill-address-3"),
    postal_code="bill-postal-code",
    city="bill-city",
    country="bill-country",
    state="bill-state",
    phone="buyer-phone-number",
    company="buyer-company-name",
    fallback_name="buyer-name",
)
_COLUMNS: Mapping[str, AddressColumns] = {"shipping": SHIPPING_COLUMNS, "billing": BILLING_COLUMNS}


def default_map_address(
    row: Mapping[str, str | None], kind: Literal["billing", "shipping"]
) -> Address | None:
    """The billing or shipping Address of a report row, or None when it has no such values.

    Shipping (None without any ship-address-1..3, -postal-code, -city, -country, -state,
    -phone-number value): name recipient-name, phone ship-phone-number, no company.
    Billing (None without any bill-* value): name bill-name (when the report has it) else
    buyer-name, company buyer-company-name, phone buyer-phone-number.
    """
    columns = _COLUMNS[kind]

    def cell(column: str | None) -> str | None:
        if column is None:
            return None
        return (row.get(column) or "").strip() or None

    lines = tuple(filter(None, map(cell, columns.lines)))
    postal_code = cell(columns.postal_code)
    city = cell(columns.city)
    country = cell(columns.country)
    state = cell(columns.state)
    phone = cell(columns.phone)
    name = cell(columns.name)
    if kind == "shipping":
        if not (lines or postal_code or city or country or state or phone):
            return None
    elif not (lines or postal_code or city or country or state or name):
        return None
    return Address(
        name=name or cell(columns.fallback_name),
        lines=lines,
        postal_code=postal_code,
        city=city,
        country_code=country,
        state=state,
        company=cell(columns.company),
        phone=phone,
    )
