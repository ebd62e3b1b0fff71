"""Row schemas and row loading: report rows -> the fields of the host's objects.

Each schema names the report columns it reads (``data_key``), so errors are keyed by the
column the seller sees. Order-level columns are loaded once per order (from its first row),
item-level columns once per row (``orders.read_orders`` groups the rows of one order).
``RowLoader`` loads valid rows with a schema's own fields without marshmallow's per-field
machinery, and hands a row it cannot convert to ``Schema.load`` for marshmallow's errors.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from typing import Any, TypedDict

from marshmallow import EXCLUDE, Schema, ValidationError, post_load, pre_load
from marshmallow.experimental.context import Context

from hyreka_plugin_amazon.reports.cells import (
    Cell,
    Channel,
    Code,
    Count,
    Discount,
    Flag,
    Money,
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

    amazon_order_id = Text(data_key="order-id", required=True)
    purchase_date = Timestamp(data_key="purchase-date", load_default=None)
    payments_date = Timestamp(data_key="payments-date", load_default=None)
    last_updated = Timestamp(data_key="last-updated-date", load_default=None)
    order_status = Code(data_key="order-status", load_default=None)
    fulfillment_channel = Channel(data_key="fulfillment-channel", load_default=None)
    sales_channel = Code(data_key="sales-channel", load_default=None)
    currency = Code(data_key="currency", load_default=None)
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

    amazon_order_id = Text(data_key="amazon-order-id", required=True)


class FbaOrderSchema(AllOrdersOrderSchema):
    """FBA shipments are fulfilled by Amazon, whether or not the report says so."""

    fulfillment_channel = Channel(data_key="fulfillment-channel", load_default="AFN")


class PromotionSchema(RowSchema):
    """The discounts of a promotion continuation row (added to its item's line)."""

    item_promotion_discount = Discount(data_key="item-promotion-discount", load_default=ZERO)
    ship_promotion_discount = Discount(data_key="ship-promotion-discount", load_default=ZERO)


class AmountsSchema(PromotionSchema):
    """The money columns of an item row: totals for the quantity; absent or empty -> 0."""

    item_price = Money(data_key="item-price", load_default=ZERO)
    item_tax = Money(data_key="item-tax", load_default=ZERO)
    shipping_price = Money(data_key="shipping-price", load_default=ZERO)
    shipping_tax = Money(data_key="shipping-tax", load_default=ZERO)


class ItemSchema(AmountsSchema):
    """Item-level columns of the order reports (and the unshipped report, which has no
    prices); loaded once per row."""

    order_item_id = Text(data_key="order-item-id", required=True)
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
    order_item_id = Text(data_key="amazon-order-item-id", required=True)
    sku = Text(data_key="sku", load_default=None)
    title = Text(data_key="product-name", load_default=None)
    quantity = Count(data_key="quantity-shipped", required=True)


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
            plain = isinstance(field, Text) and not field.repeats
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
