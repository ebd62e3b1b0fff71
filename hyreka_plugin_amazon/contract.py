"""The objects that cross the boundary between the connector and its host.

No host package is published, so this module carries what the ERP and the connector exchange:
accounts, orders, results, authorizations, the host services of a sync, the connector's
description, and (from ``outbox``) what goes back to Amazon: shipping confirmations and
invoices (the hooks are in ``hookspecs``)."""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from hyreka_plugin_amazon.outbox import DocumentType as DocumentType
from hyreka_plugin_amazon.outbox import Invoice as Invoice
from hyreka_plugin_amazon.outbox import InvoiceOutcome as InvoiceOutcome
from hyreka_plugin_amazon.outbox import InvoiceState as InvoiceState
from hyreka_plugin_amazon.outbox import Shipment as Shipment  # re-exported: the contract's
from hyreka_plugin_amazon.outbox import ShipmentItem as ShipmentItem
from hyreka_plugin_amazon.outbox import ShipmentOutcome as ShipmentOutcome
from hyreka_plugin_amazon.outbox import ShipmentState as ShipmentState
from hyreka_plugin_amazon.secret import Secret as Secret  # re-exported: Account holds them

# --------------------------------------------------------------------------------------------
# Accounts


@dataclass(frozen=True)
class Account:
    """A seller's Amazon account as the host stores it (secrets decrypted only in memory).

    ``locale`` is per call: the connector learns the seller's language of a run or request
    from the account it is handed, never from stored state (see ``hookspecs``)."""

    id: str
    name: str
    connector: str
    region: str  # "eu", "na" or "fe"
    marketplace_ids: tuple[str, ...]
    client_id: str
    client_secret: Secret
    refresh_token: Secret
    endpoint: str | None = None  # override of the regional SP-API host (the simulator)
    token_url: str | None = None  # override of the LWA token endpoint (the simulator)
    settings: Mapping[str, str] = field(default_factory=dict)
    # The language of the messages the connector returns for this call ("de" or "en"). A host
    # passes a copy with the language of the run or request (``dataclasses.replace``); the
    # stored account keeps the seller's language, which background runs speak.
    locale: str = "de"


# --------------------------------------------------------------------------------------------
# Orders


class OrderStatus(enum.StrEnum):
    """Where an order stands, from the seller's point of view."""

    PENDING = "pending"  # placed, payment not yet authorised: waits, not imported
    OPEN = "open"  # ready to ship and not (fully) shipped: Unshipped or PartiallyShipped
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class Address:
    """A postal address; ``lines`` are the street lines without empty ones."""

    # Everything but the country is personal data: kept out of reprs (and so out of logs).
    name: str | None = field(repr=False)
    lines: tuple[str, ...] = field(repr=False)
    postal_code: str | None = field(repr=False)
    city: str | None = field(repr=False)
    country_code: str | None
    state: str | None = field(default=None, repr=False)
    company: str | None = field(default=None, repr=False)
    phone: str | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "company": self.company,
            "lines": list(self.lines),
            "postal_code": self.postal_code,
            "city": self.city,
            "state": self.state,
            "country_code": self.country_code,
            "phone": self.phone,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Address:
        return cls(
            name=data.get("name"),
            company=data.get("company"),
            lines=tuple(data.get("lines") or ()),
            postal_code=data.get("postal_code"),
            city=data.get("city"),
            state=data.get("state"),
            country_code=data.get("country_code"),
            phone=data.get("phone"),
        )


# The money fields of an OrderLine, in the order of ``OrderLine.as_dict``.
MONEY_FIELDS = (
    "item_price",
    "item_tax",
    "shipping_price",
    "shipping_tax",
    "item_promotion_discount",
    "ship_promotion_discount",
    "gift_wrap_price",
    "gift_wrap_tax",
    "points_granted",
    "payment_method_fee",
)


@dataclass(frozen=True)
class OrderLine:
    """One order item; money amounts are totals for the quantity, as Amazon reports them.

    An amount is None when the report does not say it (unknown, never 0): every amount of an
    item the report gives no price for (the unshipped-orders report has no price columns, the
    all-orders report none for pending orders), and an amount whose column the report lacks
    (the order reports have no gift-wrap columns, only Japan's FBA report has points).
    Amazon's report columns: ``item-price``, ``item-tax``, ``shipping-price``,
    ``shipping-tax``, ``item-promotion-discount``, ``ship-promotion-discount`` (negative),
    ``gift-wrap-price``, ``gift-wrap-tax``, ``points-granted`` (Japan: Amazon points the
    seller grants the buyer, one point one yen; a cost of the seller, not paid by the buyer),
    ``payment-method-fee`` (Japan: the cash-on-delivery fee the buyer pays).
    """

    order_item_id: str
    sku: str | None
    title: str | None
    quantity: int
    item_price: Decimal | None
    item_tax: Decimal | None = Decimal("0")
    shipping_price: Decimal | None = Decimal("0")
    shipping_tax: Decimal | None = Decimal("0")
    item_promotion_discount: Decimal | None = Decimal("0")  # negative, as in the report
    ship_promotion_discount: Decimal | None = Decimal("0")  # negative, as in the report
    gift_wrap_price: Decimal | None = None
    gift_wrap_tax: Decimal | None = None
    points_granted: Decimal | None = None
    payment_method_fee: Decimal | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "order_item_id": self.order_item_id,
            "sku": self.sku,
            "title": self.title,
            "quantity": self.quantity,
        }
        for name in MONEY_FIELDS:
            data[name] = _money(getattr(self, name))
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OrderLine:
        """Read ``as_dict`` output back; an amount missing from ``data`` (a record written
        before the field existed) gets the field's default."""
        amounts = {
            name: None if data[name] is None else Decimal(data[name])
            for name in MONEY_FIELDS
            if name in data
        }
        return cls(
            order_item_id=str(data["order_item_id"]),
            sku=data.get("sku"),
            title=data.get("title"),
            quantity=int(data["quantity"]),
            **amounts,
        )


@dataclass(frozen=True)
class Order:
    """An Amazon order as the host stores it."""

    amazon_order_id: str
    status: OrderStatus
    marketplace_id: str | None
    sales_channel: str | None
    fulfillment_channel: Literal["MFN", "AFN"] | None
    currency: str | None
    purchase_date: datetime | None
    lines: tuple[OrderLine, ...]
    billing_address: Address | None
    shipping_address: Address | None
    buyer_email: str | None = field(default=None, repr=False)
    is_business_order: bool = False
    purchase_order_number: str | None = field(default=None, repr=False)
    buyer_company_name: str | None = field(default=None, repr=False)
    buyer_tax_registration_id: str | None = field(default=None, repr=False)
    last_updated: datetime | None = None
    billing_address_missing: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The order in the JSON shape of ``hyreka-amazon orders --json`` and the simulator."""
        return {
            "amazon_order_id": self.amazon_order_id,
            "marketplace_id": self.marketplace_id,
            "sales_channel": self.sales_channel,
            "status": self.status.value,
            "fulfillment_channel": self.fulfillment_channel,
            "currency": self.currency,
            "purchase_date": self.purchase_date.isoformat() if self.purchase_date else None,
            "is_business_order": self.is_business_order,
            "purchase_order_number": self.purchase_order_number,
            "buyer_company_name": self.buyer_company_name,
            "buyer_tax_registration_id": self.buyer_tax_registration_id,
            "buyer_email": self.buyer_email,
            "lines": [line.as_dict() for line in self.lines],
            "billing_address": self.billing_address.as_dict() if self.billing_address else None,
            "shipping_address": (
                self.shipping_address.as_dict() if self.shipping_address else None
            ),
            "prices_missing": self.prices_missing,
        }

    def as_record(self) -> dict[str, Any]:
        """``as_dict`` plus the fields the host keeps but does not show (for storage)."""
        data = self.as_dict()
        data["last_updated"] = self.last_updated.isoformat() if self.last_updated else None
        data["billing_address_missing"] = self.billing_address_missing
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Order:
        """Read ``as_dict`` or ``as_record`` output back."""
        billing = data.get("billing_address")
        shipping = data.get("shipping_address")
        purchase = data.get("purchase_date")
        updated = data.get("last_updated")
        return cls(
            amazon_order_id=str(data["amazon_order_id"]),
            status=OrderStatus(data["status"]),
            marketplace_id=data.get("marketplace_id"),
            sales_channel=data.get("sales_channel"),
            fulfillment_channel=data.get("fulfillment_channel"),
            currency=data.get("currency"),
            purchase_date=datetime.fromisoformat(purchase) if purchase else None,
            lines=tuple(OrderLine.from_dict(line) for line in data.get("lines") or ()),
            billing_address=Address.from_dict(billing) if billing else None,
            shipping_address=Address.from_dict(shipping) if shipping else None,
            buyer_email=data.get("buyer_email"),
            is_business_order=bool(data.get("is_business_order")),
            purchase_order_number=data.get("purchase_order_number"),
            buyer_company_name=data.get("buyer_company_name"),
            buyer_tax_registration_id=data.get("buyer_tax_registration_id"),
            last_updated=datetime.fromisoformat(updated) if updated else None,
            billing_address_missing=bool(data.get("billing_address_missing")),
        )

    @property
    def prices_missing(self) -> bool:
        """Whether the report gave no price for an item (then ``total`` is None): an order
        from the unshipped-orders report, or a pending one from the all-orders report."""
        return None in [line.item_price for line in self.lines]  # faster than any() here

    @property
    def total(self) -> Decimal | None:
        """What the buyer pays, as Amazon charged it: items, shipping, gift wrap and the
        cash-on-delivery fee less promotions (the prices include their taxes where Amazon's
        prices do, as in the EU; Japan's points are the seller's, not the buyer's); None when
        ``prices_missing``. Amounts the report does not have count as nothing."""
        total = _ZERO
        for line in self.lines:
            if line.item_price is None:
                return None
            total += line.item_price
            for amount in (
                line.shipping_price,
                line.gift_wrap_price,
                line.payment_method_fee,
                line.item_promotion_discount,
                line.ship_promotion_discount,
            ):
                if amount is not None:
                    total += amount
        return total


_ZERO = Decimal("0")


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value, "f")


# --------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class LoginResult:
    """The answer to "Anmeldung testen": ok, or failed with a message the seller can act on."""

    ok: bool
    message: str
    code: str = "ok"  # a stable message id, e.g. "login.invalid_client"
    marketplaces: tuple[str, ...] = ()  # marketplace ids the seller participates in
    warnings: tuple[str, ...] = ()
    # The credentials were refused (revoked, wrong, or the account cannot use the API): the
    # seller must re-authorise before anything else works. Hosts act on this field, never on
    # ``code`` (message ids are the connector's own and may change).
    needs_reauthorization: bool = False


@dataclass(frozen=True)
class Authorization:
    """A consent's code exchanged: the refresh token, or why not (``account.locale``)."""

    ok: bool
    message: str
    code: str = "authorize.ok"  # a stable message id, e.g. "authorize.code_refused"
    refresh_token: Secret | None = None


@dataclass(frozen=True)
class Problem:
    """A row or order that could not be imported; never carries personal data."""

    reason: str  # stable English text, e.g. "not a number"
    amazon_order_id: str | None = None
    row: int | None = None  # data row number in the report, counted from 1
    column: str | None = None
    # the reason in the seller's words: language -> text (none: show ``reason``)
    messages: Mapping[str, str] = field(default_factory=dict, compare=False)

    def seller_text(self, language: str = "de") -> str:
        """What the seller reads in ``language``: its message, else ``reason``."""
        return self.messages.get(language) or self.reason


@dataclass
class SyncResult:
    """What one sync did; ``ok`` is False when the window was not fully handed over."""

    ok: bool
    message: str
    code: str = "ok"
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    waiting: int = 0  # pending orders (payment not authorised) left for a later sync
    skipped: int = 0  # closed orders the host never had
    failed_rows: int = 0
    problems: list[Problem] = field(default_factory=list)
    api_calls: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    window_start: datetime | None = None
    window_end: datetime | None = None
    # As LoginResult's: the credentials were refused, re-running the sync will not help until
    # the seller re-authorises (a background scheduler should pause the account).
    needs_reauthorization: bool = False

    @property
    def total_api_calls(self) -> int:
        return sum(self.api_calls.values())


UpsertOutcome = Literal["created", "updated", "unchanged"]


@dataclass(frozen=True)
class Progress:
    """A step of a running sync, for the host's progress display."""

    account_id: str
    phase: Literal["requesting", "processing", "downloading", "importing", "done"]
    message: str
    done: int = 0
    total: int | None = None


class HostServices(Protocol):
    """What the host gives a running sync: order storage, state, progress, cancellation."""

    def upsert_order(self, account_id: str, order: Order) -> UpsertOutcome:
        """Store or update one order; say whether anything changed.

        The host may commit orders in batches, but commits every order handed over before it
        carries out a later ``set_state`` or ``record_problems`` (so the cursor never moves
        past an order that is not committed).
        """
        ...

    def get_order(self, account_id: str, amazon_order_id: str) -> Order | None:
        """The order as the host has it, or None."""
        ...

    def get_state(self, account_id: str, key: str) -> str | None:
        """A value the connector stored for this account (the cursor, for one)."""
        ...

    def set_state(self, account_id: str, key: str, value: str | None) -> None:
        """Store (or with None remove) a value for this account, committed at once."""
        ...

    def record_problems(self, account_id: str, problems: Sequence[Problem]) -> None:
        """Replace the account's open import problems with these."""
        ...

    def report_progress(self, progress: Progress) -> None:
        """Show the sync's progress to the seller."""
        ...

    def cancel_requested(self, account_id: str) -> bool:
        """True when the seller or the host asked the running sync to stop."""
        ...

    def map_address(
        self,
        *,
        row: Mapping[str, str | None],
        kind: Literal["billing", "shipping"],
        account: Account,
    ) -> Address | None:
        """Ask the host's ``map_address`` hook, so that other plugins can override mapping."""
        ...


# --------------------------------------------------------------------------------------------
# Connector description


@dataclass(frozen=True)
class Choice:
    """One value of a choice field, with what the host shows and accepts for it.

    ``value`` is what the host stores (for marketplaces: the marketplace id that ends up in
    ``Account.marketplace_ids``); ``code`` a short name a seller may type instead (``DE``);
    ``group`` the value of the field named by ``AccountField.grouped_by`` that this choice
    belongs to (a marketplace's region), so a host can check and derive it.
    """

    value: str
    label: Mapping[str, str]  # language -> label, e.g. "Amazon.de (DE)"
    code: str | None = None
    group: str | None = None
    aliases: tuple[str, ...] = ()  # further codes a seller may type (GB for UK)


@dataclass(frozen=True)
class AccountField:
    """A field the host renders in "Zugangsdaten"."""

    key: str
    label: Mapping[str, str]  # language -> label
    help: Mapping[str, str] = field(default_factory=dict)
    secret: bool = False
    required: bool = True
    kind: Literal["text", "choice", "multichoice"] = "text"
    choices: tuple[Choice, ...] = ()
    # Every chosen value's ``Choice.group`` must equal the value of this other field (the
    # marketplaces of an account all lie in its region); the host validates and may derive it.
    grouped_by: str | None = None

    def choice(self, text: str) -> Choice:
        """The choice whose value or code (case-insensitive) is ``text``; LookupError if none."""
        wanted = text.strip().upper()
        for choice in self.choices:
            names = (choice.value, choice.code or "", *choice.aliases)
            if wanted in (name.upper() for name in names):
                return choice
        known = ", ".join(c.code or c.value for c in self.choices)
        raise LookupError(f"unknown {self.key} {text!r} (known: {known})")


@dataclass(frozen=True)
class PollingInfo:
    """How a host should poll an account in the background (one job per account).

    The interval is the account setting ``interval_setting`` in minutes (``default_minutes``
    when unset or not a number), never below ``min_minutes``. After failed runs in a row the
    interval doubles per failure up to ``max_backoff_minutes``; a successful run resets it.
    An account whose setting ``enabled_setting`` is one of ``off``/``false``/``0``/``no`` is
    not polled. A result with ``needs_reauthorization`` pauses the account until its
    credentials change or a manual run succeeds.
    """

    default_minutes: int
    min_minutes: int
    max_backoff_minutes: int
    interval_setting: str = "poll_minutes"
    enabled_setting: str = "polling"

    def interval_minutes(self, settings: Mapping[str, str]) -> int:
        """The account's interval from its settings, bounded below by ``min_minutes``."""
        raw = settings.get(self.interval_setting, str(self.default_minutes))
        try:
            minutes = int(raw)
        except ValueError:
            minutes = self.default_minutes
        return max(self.min_minutes, minutes)

    def enabled(self, settings: Mapping[str, str]) -> bool:
        """Whether the account's settings leave background polling on (default: on)."""
        value = settings.get(self.enabled_setting, "on").lower()
        return value not in ("off", "false", "0", "no")

    def backoff_minutes(self, base: int, consecutive_failures: int) -> int:
        """``base`` doubled per failure in a row, up to ``max_backoff_minutes``."""
        if consecutive_failures <= 0:
            return base
        return min(self.max_backoff_minutes, base << min(consecutive_failures, 10))


class SettingError(ValueError):
    """A setting the connector does not know, or a value it cannot take.

    ``problem`` says which, for the host to word in its language: ``unknown`` (``allowed``
    names the settings), ``integer`` / ``number`` (not one), ``range`` (outside ``minimum`` ..
    ``maximum``), ``choice`` (not one of ``allowed``). ``str()`` is an English sentence.
    """

    def __init__(
        self,
        key: str,
        problem: Literal["unknown", "integer", "number", "range", "choice"],
        *,
        allowed: tuple[str, ...] = (),
        minimum: float | None = None,
        maximum: float | None = None,
    ) -> None:
        self.key, self.problem, self.allowed = key, problem, allowed
        self.minimum, self.maximum = minimum, maximum
        detail = {
            "unknown": f"unknown setting; known: {', '.join(allowed)}",
            "integer": "not a whole number",
            "number": "not a number",
            "range": f"must be from {_plain(minimum)} to {_plain(maximum)}",
            "choice": f"must be one of {', '.join(allowed)}",
        }[problem]
        super().__init__(f"setting {key}: {detail}")


@dataclass(frozen=True)
class SettingInfo:
    """One account setting a connector reads: its name, type, range, default and texts.

    ``kind``: ``integer`` and ``number`` within ``minimum`` .. ``maximum``; ``choice`` one of
    ``choices`` (case-insensitive). ``aliases`` are former names still accepted (stored under
    ``key``). Values stay strings in ``Account.settings``; ``parse`` checks one and returns
    its canonical text, never clamping.
    """

    key: str
    kind: Literal["integer", "number", "choice"]
    default: str
    label: Mapping[str, str] = field(default_factory=dict)  # language -> label
    help: Mapping[str, str] = field(default_factory=dict)  # language -> help
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()

    def read(self, settings: Mapping[str, str]) -> str:
        """The value under ``key`` or a former name, checked; else (or unusable) the default."""
        raw = next((v for k in (self.key, *self.aliases) if (v := settings.get(k, "").strip())), "")
        try:
            return self.parse(raw) if raw else self.default
        except SettingError:  # stored by an older host without the check
            return self.default

    def parse(self, text: str) -> str:
        """The value's canonical text; SettingError when it is not one this setting takes."""
        raw = text.strip()
        if self.kind == "choice":
            for choice in self.choices:
                if choice.lower() == raw.lower():
                    return choice
            raise SettingError(self.key, "choice", allowed=self.choices)
        value: float
        try:
            value = int(raw) if self.kind == "integer" else float(raw)
        except ValueError:
            raise SettingError(self.key, self.kind) from None
        if value != value or value in (float("inf"), float("-inf")):  # NaN, infinities
            raise SettingError(self.key, self.kind)
        low = self.minimum if self.minimum is not None else value
        high = self.maximum if self.maximum is not None else value
        if not low <= value <= high:
            raise SettingError(self.key, "range", minimum=self.minimum, maximum=self.maximum)
        return _plain(value)


def _plain(number: float | None) -> str:
    """``5.0`` -> ``5``, ``0.05`` -> ``0.05``; None -> ``-``."""
    if number is None:
        return "-"
    return str(int(number)) if float(number).is_integer() else str(number)


@dataclass(frozen=True)
class ConnectorInfo:
    """What a connector tells the host about itself.

    ``polling`` is None for a connector that cannot sync in the background; ``carriers`` the
    carrier codes a shipment takes (``other_carrier``: the code for any other, with its name)."""

    id: str
    label: Mapping[str, str]
    fields: tuple[AccountField, ...]
    capabilities: tuple[str, ...]
    actions: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    polling: PollingInfo | None = None
    settings: tuple[SettingInfo, ...] = ()  # the account settings it reads, each checked
    carriers: tuple[Choice, ...] = ()
    other_carrier: str | None = None

    def account_field(self, key: str) -> AccountField:
        """The account field ``key``; LookupError if the connector has none."""
        for account_field in self.fields:
            if account_field.key == key:
                return account_field
        raise LookupError(f"connector {self.id!r} has no account field {key!r}")

    def setting(self, key: str) -> SettingInfo:
        """The setting named ``key`` (or one of its former names); SettingError if unknown."""
        wanted = key.strip().lower()
        for setting in self.settings:
            if wanted == setting.key or wanted in setting.aliases:
                return setting
        raise SettingError(key, "unknown", allowed=tuple(s.key for s in self.settings))

    def check_settings(self, values: Mapping[str, str]) -> dict[str, str]:
        """``values`` checked, under each setting's own name; SettingError on the first bad
        one."""
        checked: dict[str, str] = {}
        for key, text in values.items():
            setting = self.setting(key)
            checked[setting.key] = setting.parse(text)
        return checked


# --------------------------------------------------------------------------------------------
# Importing a report file


@dataclass(frozen=True)
class ReportImport:
    """A report file a seller downloaded by hand, read by the connector (nothing stored yet).

    Every row of an order that could not be read has a Problem (with its row number); the host
    stores the ``orders`` it wants (``HostServices.upsert_order``), so a dry run stores none.
    """

    layout: str  # the report layout recognised from the header, e.g. "orders-invoicing"
    charset: str  # the charset the file was decoded with
    orders: tuple[Order, ...] = ()
    problems: tuple[Problem, ...] = ()
    duplicates_skipped: int = 0
    # what the seller should know of the file as a whole (orders read without prices, money
    # columns not imported), each in every language of the connector (language -> text)
    warnings: tuple[Mapping[str, str], ...] = ()
