"""marshmallow schemas: report rows -> the host's Order, OrderLine and Address.

Each schema names the report columns it reads (``data_key``), so errors are keyed by the
column the seller sees. Order-level columns are loaded once per order (from its first row),
item-level columns once per row; ``read_orders`` groups the rows of one order.
"""

from __future__ import annotations

import dataclasses
import enum
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol, TypedDict, TypeVar, cast

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, pre_load
from marshmallow import types as marshmallow_types
from marshmallow.experimental.context import Context

from hyreka_plugin_amazon.contract import Address, Order, OrderLine, OrderStatus
from hyreka_plugin_amazon.flatfile import HeaderError, Layout, ReportReader, Row, RowError
from hyreka_plugin_amazon.spapi.regions import marketplace_by_sales_channel

_T = TypeVar("_T")

ZERO = Decimal("0")
NOT_ADJACENT = "rows of this order are not adjacent"


class ReportContextValues(TypedDict):
    default_marketplace_id: str | None  # for rows whose sales-channel names no marketplace


ReportContext = Context[ReportContextValues]


# --------------------------------------------------------------------------------------------
# Cells


class Cell(fields.Field[_T]):
    """A report cell: ``parse`` turns its stripped, non-empty text into a value.

    ``parse`` raises ValueError with a reason that never quotes the cell (a shifted row can put
    a name or a street into any column).
    """

    default_error_messages: marshmallow_types.ErrorMessages = {  # noqa: RUF012 (marshmallow's API)
        "required": "value is missing",
        "null": "value is missing",
    }

    repeats = True  # few distinct cell texts: RowLoader remembers parsed values (and shares
    # one object for equal values)

    def parse(self, text: str) -> _T:
        raise NotImplementedError

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> _T:
        if not isinstance(value, str):
            raise ValidationError("not text")
        try:
            return self.parse(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class Text(Cell[str]):
    repeats = False  # ids, names, titles: mostly distinct

    def parse(self, text: str) -> str:
        return text


class Code(Text):
    """A text from a small set (a status, a currency): equal cells share one string, so the
    many orders of a large report do not each hold their own copy."""

    repeats = True


_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_COUNT = re.compile(r"\d+")


class Money(Cell[Decimal]):
    """An amount exactly as written ("9.90" stays 9.90, "17" stays 17); "." is the separator."""

    def parse(self, text: str) -> Decimal:
        if _NUMBER.fullmatch(text) is None:
            raise ValueError("not a number")
        return Decimal(text)


class Discount(Money):
    """A promotion discount, stored negative: Amazon's order reports write it negative, the
    all-orders report positive."""

    def parse(self, text: str) -> Decimal:
        value = super().parse(text)
        return -value if value > 0 else value


class Count(Cell[int]):
    def parse(self, text: str) -> int:
        if _COUNT.fullmatch(text) is None:
            raise ValueError("not a whole number")
        return int(text)


class Timestamp(Cell[datetime]):
    """ISO 8601 with a UTC offset; a trailing Z means +00:00; a date without offset is refused."""

    repeats = False

    def parse(self, text: str) -> datetime:
        try:
            value = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError("not a date") from None
        if value.utcoffset() is None:
            raise ValueError("date without a UTC offset")
        return value


class Flag(Cell[bool]):
    """true/false in any case (spreadsheet re-saves write TRUE/FALSE)."""

    def parse(self, text: str) -> bool:
        lowered = text.lower()
        if lowered == "true":
            return True
        if lowered == "false":
            return False
        raise ValueError("not true or false")


_CHANNELS: dict[str, Literal["AFN", "MFN"]] = {
    "amazon": "AFN",
    "afn": "AFN",
    "merchant": "MFN",
    "mfn": "MFN",
}


class Channel(Cell[str]):
    """The fulfilment channel: Amazon/AFN -> "AFN", Merchant/MFN -> "MFN"."""

    def parse(self, text: str) -> str:
        try:
            return _CHANNELS[text.lower()]
        except KeyError:
            raise ValueError("not Amazon or Merchant") from None


# --------------------------------------------------------------------------------------------
# Schemas


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
# Loading rows fast


_CACHE_SIZE = 4096


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
        if len(self.values) >= _CACHE_SIZE:
            self.values.clear()
            self._seed()
        value = self.values[text] = self.parse(text)
        return value


class RowLoader:
    """Loads rows with a RowSchema's own fields, at a fraction of ``Schema.load``'s cost.

    marshmallow spends about 2 µs per field and row, more than a sync of 25,000 rows/s can
    give. The loader is one function written from the schema's fields (data_key, ``parse``,
    load_default, required) for the report's columns; it reads rows the reader already
    normalised, remembers the values of cells that repeat (prices, quantities, flags:
    ``Cell.repeats``) and calls the schema's ``finish``; a row it cannot convert goes to
    ``schema.load``, so marshmallow words the errors (ValidationError keyed by column name).
    Valid rows load to the same dict either way (tested on the real reports).
    """

    def __init__(self, schema: RowSchema, columns: Collection[str]) -> None:
        self.schema = schema
        self.columns = frozenset(  # the columns the schema reads
            field.data_key or name for name, field in schema.load_fields.items()
        )
        self.load: Callable[[Mapping[str, str | None]], dict[str, Any]] = self._compile(columns)
        """The row's fields; raises marshmallow's ValidationError for a bad row."""

    def _compile(self, columns: Collection[str]) -> Callable[[Mapping[str, str | None]], Any]:
        """``load`` as one function written for this schema and report (as dataclasses writes
        ``__init__``): no loop over the fields, each field's step spelled out. Names and
        column keys enter the source only through ``repr`` of schema-defined strings."""
        schema = self.schema
        namespace: dict[str, Any] = {"schema_load": schema.load, "finish": schema.finish}
        body: list[str] = []  # statements inside the try
        items: list[str] = []  # the entries of the dict handed to finish
        for number, (name, field) in enumerate(schema.load_fields.items()):
            if not isinstance(field, Cell):
                raise TypeError(f"{type(schema).__name__}.{name} is not a report Cell")
            column = field.data_key or name
            key = repr(column)
            value = f"v{number}"
            default = field.load_default() if callable(field.load_default) else field.load_default
            namespace[f"default{number}"] = default
            plain = isinstance(field, Text) and not field.repeats
            if column not in columns and not field.required:
                items.append(f"{name!r}: default{number}")  # the report lacks the column
            elif plain and default is None and not field.required:
                items.append(f"{name!r}: get({key})")
            elif field.repeats:
                cached = _Cached(name, column, field.parse, default, field.required)
                namespace[f"known{number}"] = cached.values
                namespace[f"add{number}"] = cached.add
                body += [
                    f"t = get({key})",
                    "try:",
                    f"    {value} = known{number}[t]",
                    "except KeyError:",
                    f"    {value} = add{number}(t)",
                ]
                items.append(f"{name!r}: {value}")
            else:
                body.append(f"t = get({key})")
                got = "t" if plain else f"parse{number}(t)"
                namespace[f"parse{number}"] = field.parse
                if field.required:
                    body += ["if t is None: raise ValueError", f"{value} = {got}"]
                else:
                    body.append(f"{value} = default{number} if t is None else {got}")
                items.append(f"{name!r}: {value}")
        source = "\n".join(
            [
                "def load(values):",
                "    get = values.get",
                "    try:",
                *(f"        {line}" for line in body or ["pass"]),
                "    except ValueError:",
                "        return schema_load(values)  # raises marshmallow's ValidationError",
                f"    return finish({{{', '.join(items)}}})",
            ]
        )
        exec(compile(source, f"<RowLoader {type(schema).__name__}>", "exec"), namespace)  # noqa: S102
        return cast(Callable[[Mapping[str, str | None]], Any], namespace["load"])


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


# --------------------------------------------------------------------------------------------
# Addresses

AddressMapper = Callable[[Mapping[str, str | None], Literal["billing", "shipping"]], Address | None]

_ADDRESS_COLUMNS: Mapping[str, tuple[str, ...]] = {
    # name, address-1..3, postal code, city, country, state, phone, company
    "shipping": (
        "recipient-name",
        "ship-address-1",
        "ship-address-2",
        "ship-address-3",
        "ship-postal-code",
        "ship-city",
        "ship-country",
        "ship-state",
        "ship-phone-number",
        "",
    ),
    "billing": (
        "bill-name",
        "bill-address-1",
        "bill-address-2",
        "bill-address-3",
        "bill-postal-code",
        "bill-city",
        "bill-country",
        "bill-state",
        "buyer-phone-number",
        "buyer-company-name",
        "buyer-name",
    ),
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
    get = row.get
    cells = [(get(column) or "").strip() or None for column in _ADDRESS_COLUMNS[kind]]
    if kind == "shipping":
        if not any(cells[1:9]):
            return None
        name = cells[0]
    else:
        if not any(cells[:8]):
            return None
        name = cells[0] or cells[10]
    # name, lines, postal_code, city, country_code, state, company, phone (positional: faster)
    return Address(
        name,
        tuple(filter(None, cells[1:4])),
        cells[4],
        cells[5],
        cells[6],
        cells[7],
        cells[9],
        cells[8],
    )


# --------------------------------------------------------------------------------------------
# Orders


class _Unset(enum.Enum):
    """A keyword argument not given (None is a value)."""

    UNSET = enum.auto()


_UNSET = _Unset.UNSET


@dataclass(slots=True)  # not frozen: a frozen dataclass of 20 fields costs 2 us to build
class ReportOrder:
    """One order as one report shows it: its rows grouped, order fields from the first row.

    Its repr leaves out the buyer's personal data (e-mail, company, VAT id, addresses).
    Readers make one per order and nothing changes it afterwards.
    """

    amazon_order_id: str
    rows: tuple[int, ...]
    purchase_date: datetime | None
    payments_date: datetime | None
    last_updated: datetime | None
    order_status: str | None  # all-orders order-status as written ("Pending", "Shipped" ...)
    item_statuses: tuple[str, ...]  # all-orders item-status values, () for other reports
    fulfillment_channel: Literal["MFN", "AFN"] | None
    sales_channel: str | None
    marketplace_id: str | None
    currency: str | None
    buyer_email: str | None = dataclasses.field(repr=False)
    is_business_order: bool
    purchase_order_number: str | None
    buyer_company_name: str | None = dataclasses.field(repr=False)
    buyer_tax_registration_id: str | None = dataclasses.field(repr=False)
    lines: tuple[OrderLine, ...]
    billing_address: Address | None = dataclasses.field(repr=False)
    shipping_address: Address | None = dataclasses.field(repr=False)
    has_billing_columns: bool

    def to_order(
        self,
        status: OrderStatus,
        *,
        fulfillment_channel: Literal["MFN", "AFN"] | _Unset | None = _UNSET,
        last_updated: datetime | _Unset | None = _UNSET,
    ) -> Order:
        """The host's Order; ``fulfillment_channel`` and ``last_updated`` replace this
        report's values when given (the status report knows them better)."""
        return Order(
            amazon_order_id=self.amazon_order_id,
            status=status,
            marketplace_id=self.marketplace_id,
            sales_channel=self.sales_channel,
            fulfillment_channel=(
                self.fulfillment_channel
                if isinstance(fulfillment_channel, _Unset)
                else fulfillment_channel
            ),
            currency=self.currency,
            purchase_date=self.purchase_date,
            lines=self.lines,
            billing_address=self.billing_address,
            shipping_address=self.shipping_address,
            buyer_email=self.buyer_email,
            is_business_order=self.is_business_order,
            purchase_order_number=self.purchase_order_number,
            buyer_company_name=self.buyer_company_name,
            buyer_tax_registration_id=self.buyer_tax_registration_id,
            last_updated=self.last_updated if isinstance(last_updated, _Unset) else last_updated,
            billing_address_missing=not self.has_billing_columns or self.billing_address is None,
        )


@dataclass(frozen=True)
class OrderErrors:
    """An order not imported: all its rows, and the errors keyed by row and column."""

    amazon_order_id: str | None
    rows: tuple[int, ...]
    errors: tuple[RowError, ...]

    def row_errors(self) -> tuple[RowError, ...]:
        """``errors`` plus one for each row of the order without an error of its own, by row."""
        failed = {error.row for error in self.errors}
        first = min((row for row in failed if row is not None), default=None)
        extra = [
            RowError(row, None, f"not imported: row {first} of this order failed")
            for row in self.rows
            if row not in failed
        ]
        return tuple(sorted((*self.errors, *extra), key=lambda error: error.row or 0))


_ORDER_SCHEMAS: Mapping[Layout, type[OrderSchema]] = {
    Layout.ORDERS_INVOICING: OrderSchema,
    Layout.ORDERS: OrderSchema,
    Layout.UNSHIPPED: OrderSchema,
    Layout.ALL_ORDERS: AllOrdersOrderSchema,
    Layout.FBA_SHIPMENTS: FbaOrderSchema,
}
_ITEM_SCHEMAS: Mapping[Layout, type[AmountsSchema]] = {
    Layout.ORDERS_INVOICING: ItemSchema,
    Layout.ORDERS: ItemSchema,
    Layout.UNSHIPPED: ItemSchema,
    Layout.ALL_ORDERS: AllOrdersItemSchema,
    Layout.FBA_SHIPMENTS: FbaItemSchema,
}
_DISCOUNTS = ("item_promotion_discount", "ship_promotion_discount")
_SUMMED = ("quantity", "item_price", "item_tax", "shipping_price", "shipping_tax", *_DISCOUNTS)


class _Interned:
    """One tuple object for equal tuples of item statuses (a few combinations repeat over many
    orders, so a large report's orders share them)."""

    def __init__(self) -> None:
        self._tuples: dict[tuple[str, ...], tuple[str, ...]] = {}

    def __call__(self, statuses: list[str]) -> tuple[str, ...]:
        found = tuple(statuses)
        if len(self._tuples) >= _CACHE_SIZE:
            self._tuples.clear()
        return self._tuples.setdefault(found, found)


class _Loaders:
    """The loaders and column names of one report."""

    def __init__(
        self,
        reader: ReportReader,
        map_address: AddressMapper | None,
        default_marketplace_id: str | None,
    ) -> None:
        layout = reader.layout
        columns = reader.header
        self.layout = layout
        self.has_billing_columns = reader.has_billing_columns
        self.map_address = map_address
        self.default_marketplace_id = default_marketplace_id
        self.id_column = layout.order_id_column
        self.order = RowLoader(_ORDER_SCHEMAS[layout](), columns)
        self.item = RowLoader(_ITEM_SCHEMAS[layout](), columns)
        self.promotion = RowLoader(PromotionSchema(), columns)
        item_fields = self.item.schema.fields
        self.item_id_column = (
            None if layout is Layout.ALL_ORDERS else str(item_fields["order_item_id"].data_key)
        )
        self.quantity_column = str(item_fields["quantity"].data_key)
        self.currency_column = "currency" if "currency" in columns else None
        self.columns = self.order.columns | self.item.columns | self.promotion.columns
        self.item_statuses = _Interned()


class _Group:
    """The rows of one order while they are read."""

    __slots__ = (
        "adjacent",
        "billing",
        "errors",
        "head",
        "item_statuses",
        "items",
        "loaders",
        "order_id",
        "rows",
        "shipping",
        "skus",
    )

    def __init__(self, order_id: str, loaders: _Loaders, adjacent: bool) -> None:
        self.order_id = order_id
        self.loaders = loaders
        self.adjacent = adjacent
        self.rows: list[int] = []
        self.errors: list[RowError] = []
        self.head: dict[str, Any] | None = None
        self.billing: Address | None = None
        self.shipping: Address | None = None
        self.items: dict[str, dict[str, Any]] = {}
        self.skus: dict[str | None, int] = {}
        self.item_statuses: list[str] = []

    def add(self, row: Row) -> None:
        number = row.number
        values = row.values
        loaders = self.loaders
        self.rows.append(number)
        if row.errors:
            self.errors.extend(row.errors)
        if not self.adjacent:
            self.errors.append(RowError(number, loaders.id_column, NOT_ADJACENT))
            return
        if len(self.rows) == 1:
            self._load_head(number, values)
        elif loaders.currency_column is not None:
            self._check_currency(number, values.get(loaders.currency_column))
        item_column = loaders.item_id_column
        if item_column is not None:
            known = self.items.get(values.get(item_column) or "")
            if known is not None and values.get(loaders.quantity_column) is None:
                self._fold(number, known, values)
                return
        try:
            item = loaders.item.load(values)
        except ValidationError as exc:
            self.errors.extend(validation_errors(number, exc))
            return
        if item_column is None:
            status = item.pop("item_status")
            if status is not None:
                self.item_statuses.append(status)
            sku = item["sku"]
            position = self.skus[sku] = self.skus.get(sku, 0) + 1
            item["order_item_id"] = f"{sku or ''}#{position}"
        known = self.items.get(item["order_item_id"])
        if known is None:
            self.items[item["order_item_id"]] = item
        else:  # the same item again with a quantity: an FBA item shipped in parts
            for name in _SUMMED:
                known[name] += item[name]

    def _load_head(self, number: int, values: Mapping[str, str | None]) -> None:
        loaders = self.loaders
        try:
            head = self.head = loaders.order.load(values)
        except ValidationError as exc:
            self.errors.extend(validation_errors(number, exc))
            return
        if head["marketplace_id"] is None:
            # finish() falls back to a ReportContext's default marketplace; setting it here is
            # the same and spares entering a context (~3 us) for every order
            head["marketplace_id"] = loaders.default_marketplace_id
        map_address = loaders.map_address
        if map_address is None:
            return
        try:
            if loaders.has_billing_columns:
                self.billing = map_address(values, "billing")
            self.shipping = map_address(values, "shipping")
        except Exception as exc:  # a host's mapper: its message may quote the address
            self.errors.append(
                RowError(number, None, f"address mapping failed ({type(exc).__name__})")
            )

    def _check_currency(self, number: int, currency: str | None) -> None:
        head = self.head
        if currency is None or head is None or head["currency"] == currency:
            return
        if head["currency"] is None:
            head["currency"] = currency  # the first row's item was cancelled: no price
        else:
            column = self.loaders.currency_column
            self.errors.append(RowError(number, column, "currency differs from the order's"))

    def _fold(self, number: int, item: dict[str, Any], values: Mapping[str, str | None]) -> None:
        """Add a promotion continuation row's discounts to its item's line."""
        try:
            more = self.loaders.promotion.load(values)
        except ValidationError as exc:
            self.errors.extend(validation_errors(number, exc))
            return
        for name in _DISCOUNTS:
            item[name] += more[name]

    def result(self) -> ReportOrder | OrderErrors:
        head = self.head
        if self.errors or head is None:
            return OrderErrors(self.order_id, tuple(self.rows), tuple(self.errors))
        return ReportOrder(
            amazon_order_id=head["amazon_order_id"],
            rows=tuple(self.rows),
            purchase_date=head["purchase_date"],
            payments_date=head["payments_date"],
            last_updated=head["last_updated"],
            order_status=head["order_status"],
            item_statuses=self.loaders.item_statuses(self.item_statuses),
            fulfillment_channel=head["fulfillment_channel"],
            sales_channel=head["sales_channel"],
            marketplace_id=head["marketplace_id"],
            currency=head["currency"],
            buyer_email=head["buyer_email"],
            is_business_order=head["is_business_order"],
            purchase_order_number=head["purchase_order_number"],
            buyer_company_name=head["buyer_company_name"],
            buyer_tax_registration_id=head["buyer_tax_registration_id"],
            lines=tuple(OrderLine(**item) for item in self.items.values()),
            billing_address=self.billing,
            shipping_address=self.shipping,
            has_billing_columns=self.loaders.has_billing_columns,
        )


def read_orders(
    reader: ReportReader,
    *,
    default_marketplace_id: str | None = None,
    map_address: AddressMapper | None = default_map_address,
) -> Iterator[ReportOrder | OrderErrors]:
    """The orders of a report, one ReportOrder or OrderErrors each, in file order.

    ``map_address`` None: no addresses (billing and shipping None); then only the columns the
    schemas read are taken from each row, which makes wide reports (all-orders) faster.

    Rows of one order are adjacent in Amazon's files: consecutive rows with the same order id
    form one order. An order id that comes back after other orders yields OrderErrors for its
    later rows ("rows of this order are not adjacent"); its earlier rows were already yielded
    as an order (a limitation of streaming: the file is never held whole). If any row of an
    order fails, the whole order is yielded as OrderErrors, never in part. A row without an
    order id is an OrderErrors of its own, yielded at once (it does not end the open order).

    One line per item id (order-item-id; FBA amazon-order-item-id). A later row of the same
    item without a quantity is a promotion continuation row: its discounts are added to the
    line; one with a quantity (an FBA item shipped in parts) adds quantity and amounts. The
    all-orders report has no item id: each row is a line with the id f"{sku}#{n}", n counting
    that SKU's rows within the order from 1 (stable while Amazon keeps the row order).
    """
    loaders = _Loaders(reader, map_address, default_marketplace_id)
    rows = reader.rows(loaders.columns if map_address is None else None)

    def start(order_id: str, adjacent: bool) -> _Group:
        return _Group(order_id, loaders, adjacent)

    for group in _grouped(rows, loaders.id_column, start):
        yield group if isinstance(group, OrderErrors) else group.result()


class _Grouping(Protocol):
    order_id: str

    def add(self, row: Row) -> None: ...


_G = TypeVar("_G", bound=_Grouping)


def _grouped(
    rows: Iterable[Row], id_column: str, start: Callable[[str, bool], _G]
) -> Iterator[_G | OrderErrors]:
    """The rows grouped by order (consecutive rows with one order id), each group complete when
    yielded; ``start(order_id, adjacent)`` makes a group (``adjacent`` False when the id came
    before). A row without an order id is an OrderErrors of its own, yielded at once."""
    group: _G | None = None
    seen: set[str] = set()
    for row in rows:
        order_id = row.values.get(id_column)
        if order_id is None:
            missing = RowError(row.number, id_column, "order id is missing")
            yield OrderErrors(None, (row.number,), (*row.errors, missing))
            continue
        if group is None or order_id != group.order_id:
            if group is not None:
                yield group
            group = start(order_id, order_id not in seen)
            seen.add(order_id)
        group.add(row)
    if group is not None:
        yield group


# --------------------------------------------------------------------------------------------
# Statuses


class StatusSchema(RowSchema):
    """What a sync reads of an order in the all-orders report (from the order's first row)."""

    amazon_order_id = Text(data_key="amazon-order-id", required=True)
    order_status = Code(data_key="order-status", required=True)
    fulfillment_channel = Channel(data_key="fulfillment-channel", load_default=None)
    last_updated = Timestamp(data_key="last-updated-date", load_default=None)


class ItemStatusSchema(RowSchema):
    """The status of one item row of the all-orders report."""

    item_status = Code(data_key="item-status", load_default=None)


@dataclass(slots=True)  # not frozen: cheaper to build (one per order), nothing changes it
class StatusEntry:
    """One order as the all-orders report shows its status (no personal data)."""

    amazon_order_id: str
    order_status: str  # as written ("Pending", "Shipped" ...)
    item_statuses: tuple[str, ...]
    fulfillment_channel: Literal["MFN", "AFN"] | None
    last_updated: datetime | None


class _StatusGroup:
    """The rows of one order of the status report while they are read."""

    __slots__ = ("adjacent", "errors", "head", "item_statuses", "order_id", "reader", "rows")

    def __init__(self, order_id: str, reader: _StatusReader, adjacent: bool) -> None:
        self.order_id = order_id
        self.reader = reader
        self.adjacent = adjacent
        self.rows: list[int] = []
        self.errors: list[RowError] = []
        self.head: dict[str, Any] | None = None
        self.item_statuses: list[str] = []

    def add(self, row: Row) -> None:
        number = row.number
        self.rows.append(number)
        if row.errors:
            self.errors.extend(row.errors)
        if not self.adjacent:
            self.errors.append(RowError(number, self.reader.id_column, NOT_ADJACENT))
            return
        try:
            if not self.head:
                self.head = self.reader.head.load(row.values)
            status = self.reader.item.load(row.values)["item_status"]
        except ValidationError as exc:
            self.errors.extend(validation_errors(number, exc))
            return
        if status is not None:
            self.item_statuses.append(status)

    def result(self) -> StatusEntry | OrderErrors:
        head = self.head
        if self.errors or head is None:
            return OrderErrors(self.order_id, tuple(self.rows), tuple(self.errors))
        return StatusEntry(
            head["amazon_order_id"],
            head["order_status"],
            self.reader.item_statuses(self.item_statuses),
            head["fulfillment_channel"],
            head["last_updated"],
        )


class _StatusReader:
    """The loaders of one status report."""

    def __init__(self, reader: ReportReader) -> None:
        if reader.layout is not Layout.ALL_ORDERS:
            raise HeaderError(f"the status report is a {reader.layout} report, not all-orders")
        self.id_column = reader.layout.order_id_column
        self.head = RowLoader(StatusSchema(), reader.header)
        self.item = RowLoader(ItemStatusSchema(), reader.header)
        self.columns = self.head.columns | self.item.columns
        self.item_statuses = _Interned()

    def start(self, order_id: str, adjacent: bool) -> _StatusGroup:
        return _StatusGroup(order_id, self, adjacent)


def read_statuses(reader: ReportReader) -> Iterator[StatusEntry | OrderErrors]:
    """The orders of an all-orders report as statuses, in file order (HeaderError for any
    other layout).

    Only the columns a status is made of are read and checked: amazon-order-id, order-status
    (required), fulfillment-channel and last-updated-date from an order's first row,
    item-status from each row; a wrong price elsewhere in the row is not this reader's concern
    (``read_orders`` checks every column it imports). Rows are grouped as ``read_orders``
    groups them: an order whose rows are not adjacent, or with any row in error, is an
    OrderErrors; a row without an order id is one of its own.
    """
    statuses = _StatusReader(reader)  # checks the layout now, not at the first row
    groups = _grouped(reader.rows(statuses.columns), statuses.id_column, statuses.start)
    return (group if isinstance(group, OrderErrors) else group.result() for group in groups)
