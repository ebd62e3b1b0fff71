"""Row schemas and row loading: report rows -> the fields of the host's objects.

Each schema names the report columns it reads (``data_key``), so errors are keyed by the
column the seller sees. Order-level columns are loaded once per order (from its first row),
item-level columns once per row (``orders.read_orders`` groups the rows of one order).
``RowLoader`` loads valid rows with a schema's own fields without marshmallow's per-field
machinery, and hands a row it cannot convert to ``Schema.load`` for marshmallow's errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Iterable, Mapping
from decimal import Decimal
from typing import Any, Final, TypedDict

from marshmallow import EXCLUDE, Schema, ValidationError, post_load, pre_load
from marshmallow.experimental.context import Context

from hyreka_plugin_amazon.reports.cells import (
    Cell,
    Channel,
    Code,
    Count,
    Country,
    Currency,
    Discount,
    Flag,
    ItemId,
    Money,
    OrderId,
    ShipmentItemId,
    Text,
    Timestamp,
)
from hyreka_plugin_amazon.reports.reader import RowError
from hyreka_plugin_amazon.spapi.regions import marketplace_by_sales_channel

ZERO = Decimal("0")


class ReportContextValues(TypedDict):
    default_marketplace_id: str | None  # for rows whose sales-channel names no marketplace


ReportContext = Context[ReportContextValues]


class RowSchema(Schema):
    """A schema over a report row (a mapping of column name to cell text)."""

    class Meta:
        # A row carries every column of the report: Amazon adds columns and sellers switch
        # optional ones on. A schema reads the columns it names and ignores the rest on purpose.
        unknown = EXCLUDE

    @pre_load
    def normalise(self, data: Mapping[str, Any], **kwargs: Any) -> dict[str, Any]:
        """Strip cells; an empty cell is an absent value, so ``load_default`` applies."""
        cells: dict[str, Any] = {}
        for key, value in data.items():
            if isinstance(value, str):
                value = value.strip()
            if value is not None and value != "":
                cells[key] = value
        return cells

    @post_load
    def finish(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """What is derived from the loaded fields (``RowLoader`` calls this too)."""
        return data


class OrderSchema(RowSchema):
    """Order-level columns of the order reports; loaded once per order."""

    amazon_order_id = OrderId(data_key="order-id", required=True)
    purchase_date = Timestamp(data_key="purchase-date", load_default=None)
    payments_date = Timestamp(data_key="payments-date", load_default=None)
    last_updated = Timestamp(data_key="last-updated-date", load_default=None)
    order_status = Code(data_key="order-status", load_default=None)
    fulfillment_channel = Channel(data_key="fulfillment-channel", load_default=None)
    sales_channel = Code(data_key="sales-channel", load_default=None)
    currency = Currency(data_key="currency", load_default=None)
    # read only to be checked: the host keeps an address's country in a plain column
    ship_country = Country(data_key="ship-country", load_default=None)
    bill_country = Country(data_key="bill-country", load_default=None)
    buyer_email = Text(data_key="buyer-email", load_default=None)
    is_business_order = Flag(data_key="is-business-order", load_default=False)
    purchase_order_number = Text(data_key="purchase-order-number", load_default=None)
    buyer_company_name = Text(data_key="buyer-company-name", load_default=None)
    buyer_tax_registration_id = Text(data_key="buyer-tax-registration-id", load_default=None)

    @post_load
    def finish(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        """marketplace_id from the sales channel, else the context's default marketplace."""
        found = marketplace_by_sales_channel(data["sales_channel"])
        if found is not None:
            data["marketplace_id"] = found.id
        else:
            context = ReportContext.get({"default_marketplace_id": None})
            data["marketplace_id"] = context["default_marketplace_id"]
        return data


class AllOrdersOrderSchema(OrderSchema):
    """The all-orders report names the order id ``amazon-order-id``."""

    amazon_order_id = OrderId(data_key="amazon-order-id", required=True)


class FbaOrderSchema(AllOrdersOrderSchema):
    """FBA shipments are fulfilled by Amazon, whether or not the report says so."""

    fulfillment_channel = Channel(data_key="fulfillment-channel", load_default="AFN")


class PromotionSchema(RowSchema):
    """The discounts of a promotion continuation row (added to its item's line)."""

    item_promotion_discount = Discount(data_key="item-promotion-discount", load_default=ZERO)
    ship_promotion_discount = Discount(data_key="ship-promotion-discount", load_default=ZERO)


class AmountsSchema(PromotionSchema):
    """The money columns of an item row: totals for the quantity, an empty cell 0.

    ``Amounts`` (below) makes what the report does not say unknown (None): every amount of
    a row without an item price, and an amount whose column the report lacks.
    """

    item_price = Money(data_key="item-price", load_default=ZERO)
    item_tax = Money(data_key="item-tax", load_default=ZERO)
    shipping_price = Money(data_key="shipping-price", load_default=ZERO)
    shipping_tax = Money(data_key="shipping-tax", load_default=ZERO)
    gift_wrap_price = Money(data_key="gift-wrap-price", load_default=ZERO)
    gift_wrap_tax = Money(data_key="gift-wrap-tax", load_default=ZERO)
    points_granted = Money(data_key="points-granted", load_default=ZERO)  # JP: Amazon points
    payment_method_fee = Money(data_key="payment-method-fee", load_default=ZERO)  # JP: COD fee


class ItemSchema(AmountsSchema):
    """Item-level columns of the order reports (and the unshipped report, which has no
    prices); loaded once per row."""

    order_item_id = ItemId(data_key="order-item-id", required=True)
    sku = Text(data_key="sku", load_default=None)
    title = Text(data_key="product-name", load_default=None)
    quantity = Count(data_key="quantity-purchased", required=True)


class AllOrdersItemSchema(AmountsSchema):
    """The all-orders report has no item id (``read_orders`` makes one) but an item status."""

    sku = Text(data_key="sku", load_default=None)
    title = Text(data_key="product-name", load_default=None)
    quantity = Count(data_key="quantity", required=True)
    item_status = Code(data_key="item-status", load_default=None)


class FbaItemSchema(AmountsSchema):
    order_item_id = ItemId(data_key="amazon-order-item-id", required=True)
    shipment_item_id = ShipmentItemId(data_key="shipment-item-id", load_default=None)
    sku = Text(data_key="sku", load_default=None)
    title = Text(data_key="product-name", load_default=None)
    quantity = Count(data_key="quantity-shipped", required=True)


# --------------------------------------------------------------------------------------------
# Money columns

# The money fields of a line, each with its column (as AmountsSchema reads them).
MONEY_FIELDS: Final = tuple(
    (name, str(field.data_key)) for name, field in AmountsSchema().fields.items()
)
PRICE_COLUMN: Final = "item-price"
# Money columns this connector knows and leaves out on purpose: the net amounts (the gross
# amounts and their taxes are carried) and how a cash-on-delivery order's total is paid
# (what the carrier collects, what was paid before); neither is a charge of its own.
NOT_CARRIED: Final = frozenset(
    {
        "vat-exclusive-item-price",
        "vat-exclusive-shipping-price",
        "vat-exclusive-giftwrap-price",
        "cod-collectible-amount",
        "already-paid",
    }
)
_MONEY_NAME = re.compile(r"(?:^|-)(?:price|tax|discount|amount|fee|charge|cost|total|points)$")


def unknown_money_columns(header: Iterable[str]) -> tuple[str, ...]:
    """Columns of a header that look like money (named ``...-price``, ``-tax``, ``-discount``,
    ``-amount``, ``-fee`` ...) and that this connector neither carries nor leaves out on
    purpose: Amazon added a money column, and its amounts are not imported (a warning)."""
    known = {column for _, column in MONEY_FIELDS} | NOT_CARRIED
    return tuple(
        name for name in header if _MONEY_NAME.search(name) is not None and name not in known
    )


class Amounts:
    """What a report says of a line's money: the loaded amounts with what it does not say
    set to None (unknown, not 0): every amount of a row without an item price (the
    unshipped report, a pending order in the all-orders report), and an amount whose column
    the report lacks."""

    def __init__(self, columns: Collection[str]) -> None:
        self.priced = PRICE_COLUMN in columns
        self.absent = tuple(name for name, column in MONEY_FIELDS if column not in columns)
        self.names = tuple(name for name, _ in MONEY_FIELDS)

    def settle(self, item: dict[str, Any], values: Mapping[str, str | None]) -> None:
        """Set the amounts the row does not say to None (in place)."""
        if not self.priced or values.get(PRICE_COLUMN) is None:
            for name in self.names:
                item[name] = None
            return
        for name in self.absent:
            item[name] = None


def add_amounts(a: Decimal | None, b: Decimal | None) -> Decimal | None:
    """The sum of two amounts; unknown when either is."""
    return None if a is None or b is None else a + b


# --------------------------------------------------------------------------------------------
# Loading rows


CACHE_SIZE = 4096  # distinct values remembered per cell (and item-status tuples per report)


class _Cached:
    """A repeating cell's parsed values by cell text; None (an empty cell) maps to the
    default unless the cell is required."""

    __slots__ = ("default", "key", "name", "parse", "required", "values")

    def __init__(
        self, name: str, key: str, parse: Callable[[str], Any], default: Any, required: bool
    ) -> None:
        self.name = name
        self.key = key
        self.parse = parse
        self.default = default
        self.required = required
        self.values: dict[str | None, Any] = {}
        self._seed()

    def _seed(self) -> None:
        if not self.required:
            self.values[None] = self.default

    def add(self, text: str | None) -> Any:
        """The value of a text not seen yet (raises ValueError like ``parse``)."""
        if text is None:  # only a required cell's None is not in ``values``
            raise ValueError(self.key)
        if len(self.values) >= CACHE_SIZE:
            self.values.clear()
            self._seed()
        value = self.values[text] = self.parse(text)
        return value


class RowLoader:
    """Loads rows with a RowSchema's own fields, cheaper than ``Schema.load``.

    For the report's columns the fields fall into four kinds, each loaded by a plain loop:
    fields whose column the report lacks (their default), plain optional texts (the cell as
    it is), repeating cells (``Cell.repeats``: prices, quantities, flags; their parsed values
    are remembered by text, so equal values share one object) and the rest (parsed each time).
    Rows come from the reader already stripped, empty cells None. ``load`` calls the schema's
    ``finish``; a row it cannot convert goes to ``schema.load``, so marshmallow words the
    errors (ValidationError keyed by column name). Valid rows load to the same dict either way
    (tested on the fixtures and the real reports).
    """

    def __init__(self, schema: RowSchema, columns: Collection[str]) -> None:
        self.schema = schema
        self.columns = frozenset(  # the columns the schema reads
            field.data_key or name for name, field in schema.load_fields.items()
        )
        self._finish = schema.finish
        self._absent: dict[str, Any] = {}  # name -> default
        self._plain: list[tuple[str, str]] = []  # (name, column)
        self._cached: list[tuple[str, str, dict[str | None, Any], Callable[[str | None], Any]]] = []
        self._parsed: list[tuple[str, str, Callable[[str], Any], Any, bool]] = []
        for name, field in schema.load_fields.items():
            if not isinstance(field, Cell):
                raise TypeError(f"{type(schema).__name__}.{name} is not a report Cell")
            column = field.data_key or name
            default = field.load_default() if callable(field.load_default) else field.load_default
            plain = type(field).parse is Text.parse and not field.repeats  # nothing to check
            if column not in columns and not field.required:
                self._absent[name] = default
            elif plain and default is None and not field.required:
                self._plain.append((name, column))
            elif field.repeats:
                cached = _Cached(name, column, field.parse, default, field.required)
                self._cached.append((name, column, cached.values, cached.add))
            else:
                self._parsed.append((name, column, field.parse, default, field.required))

    def load(self, values: Mapping[str, str | None]) -> dict[str, Any]:
        """The row's fields; raises marshmallow's ValidationError for a bad row."""
        get = values.get
        data = self._absent.copy()
        try:
            for name, column in self._plain:
                data[name] = get(column)
            for name, column, known, add in self._cached:
                text = get(column)
                try:
                    data[name] = known[text]
                except KeyError:
                    data[name] = add(text)
            for name, column, parse, default, required in self._parsed:
                text = get(column)
                if text is not None:
                    data[name] = parse(text)
                elif required:
                    raise ValueError(column)
                else:
                    data[name] = default
        except ValueError:
            loaded: dict[str, Any] = self.schema.load(values)  # raises ValidationError
            return loaded
        finished: dict[str, Any] = self._finish(data)
        return finished


def validation_errors(row: int, error: ValidationError) -> list[RowError]:
    """RowErrors of a ValidationError from a RowSchema (messages keyed by column name)."""
    messages = error.messages
    if not isinstance(messages, dict):
        return [RowError(row, None, " ".join(map(str, messages)))]
    found = []
    for column, reasons in messages.items():
        text = "; ".join(map(str, reasons)) if isinstance(reasons, list) else str(reasons)
        found.append(RowError(row, None if column == "_schema" else str(column), text))
    return found
