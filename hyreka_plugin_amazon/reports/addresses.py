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
# the columns every address reads, in one pass: three lines, postal code, city, country, state,
# phone, name
_READ: Mapping[str, tuple[str, ...]] = {
    kind: (*c.lines, c.postal_code, c.city, c.country, c.state, c.phone, c.name)
    for kind, c in _COLUMNS.items()
}


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
    get = row.get
    first, second, third, postal_code, city, country, state, phone, name = [
        (get(column) or "").strip() or None for column in _READ[kind]
    ]
    lines = tuple(filter(None, (first, second, third)))
    if kind == "shipping":
        if not (lines or postal_code or city or country or state or phone):
            return None
    elif not (lines or postal_code or city or country or state or name):
        return None
    if name is None and columns.fallback_name is not None:
        name = (get(columns.fallback_name) or "").strip() or None
    company = None
    if columns.company is not None:
        company = (get(columns.company) or "").strip() or None
    # positionally, in the order of Address's fields (cheaper than by keyword)
    return Address(name, lines, postal_code, city, country, state, company, phone)
