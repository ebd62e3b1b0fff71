"""Accounts: add, change, new credentials, remove (only when confirmed), and their reads.

Every face builds an account through ``build``, from the fields the connector describes in
``register_connector()``: a field whose key names an ``Account`` attribute fills it,
``marketplaces`` fills ``marketplace_ids``, any other field goes to the account's settings.
It checks once, for every face: the name, each choice (the region, the marketplaces, which
must lie in the region), required fields and the settings against the connector's
``SettingInfo``. Each change is written to the audit log (names and counts only).

Listing, removing and entering new credentials never open an account's stored secrets
(``StoredAccount``): an account whose row was changed outside the host (its secrets no longer
open) is listed as damaged and can be removed or given new credentials, and the others go on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from hyreka_plugin_amazon.contract import (
    Account,
    AccountField,
    Choice,
    ConnectorInfo,
    OrderStatus,
    SettingError,
)
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.manager import PluginHost
from hyreka_plugin_amazon.refhost.safety.terminal import MAX_NAME_LENGTH, check_account_name
from hyreka_plugin_amazon.refhost.services import auditing
from hyreka_plugin_amazon.refhost.services.errors import NeedsConfirmation, ServiceError
from hyreka_plugin_amazon.refhost.store import (
    DB_FILE,
    AccountExistsError,
    AccountNotFoundError,
)
from hyreka_plugin_amazon.refhost.store import StoredAccount as StoredAccount
from hyreka_plugin_amazon.secret import Secret

CREDENTIALS = ("client_id", "client_secret", "refresh_token")  # asked for, never printed
DEFAULT_REGION = "eu"  # the Warenwirtschaft's sellers are European: what a new form proposes
_ACCOUNT_TEXT = ("client_id", "region")
_ACCOUNT_SECRETS = ("client_secret", "refresh_token")


@dataclass(frozen=True)
class AccountForm:
    """What a seller gives for an account, as any face collects it.

    ``values``: the connector's fields by key (a multichoice as a list); a field left out
    stays as it is when changing an account (an empty secret too). ``settings``: the
    ``KEY=VALUE`` settings given (None: none); merged into the stored ones, or with
    ``replace_settings`` (a form that shows them all) instead of them. ``endpoint`` and
    ``token_url``: None keeps them, ``""`` clears them.
    """

    name: str | None = None  # None: an account's name stays (required for a new one)
    values: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    settings: Mapping[str, str] | None = None
    replace_settings: bool = False
    endpoint: str | None = None
    token_url: str | None = None
    connector: str | None = None  # None: the only one


@dataclass(frozen=True)
class Removal:
    """An account removed (or to be removed), with how many orders go with it."""

    name: str
    orders: int


@dataclass(frozen=True)
class RemovalFacts:
    """Everything removing an account takes along, counted for the face's question: its
    orders (with their addresses), its packages (shipment confirmations, sent or not) and
    its open problems; its state and sync history go too."""

    name: str
    orders: int
    packages: int
    unsent_packages: int
    problems: int


# ------------------------------------------------------------------------------ reads


def connector_info(
    host: ReferenceHost | None = None, connector_id: str | None = None
) -> ConnectorInfo:
    """The connector's description (without an id: the only connector); without a host, from
    the installed plugins (nothing is opened)."""
    plugins = host.plugins if host is not None else PluginHost()
    return plugins.connector(connector_id)


def connectors(host: ReferenceHost) -> list[ConnectorInfo]:
    return host.plugins.connectors()


def get(host: ReferenceHost, name_or_id: str) -> Account:
    """The account; ``cli.account_not_found`` when there is none."""
    try:
        return host.store.get_account(name_or_id)
    except AccountNotFoundError:
        raise ServiceError("cli.account_not_found", name=name_or_id) from None


def stored(host: ReferenceHost, name_or_id: str) -> StoredAccount:
    """The account without its secrets, damaged or not; ``cli.account_not_found`` when there
    is none."""
    try:
        return host.store.stored_account(name_or_id)
    except AccountNotFoundError:
        raise ServiceError("cli.account_not_found", name=name_or_id) from None


def listing(host: ReferenceHost, connector_id: str | None = None) -> list[StoredAccount]:
    """The accounts (of one connector), without their secrets; a damaged one is marked
    (``damaged``: its credentials must be entered again)."""
    accounts = host.store.stored_accounts()
    return [a for a in accounts if connector_id is None or a.connector == connector_id]


def marketplace_codes(*infos: ConnectorInfo) -> Callable[[str | None], str]:
    """Marketplace id -> the short code the connectors' choices give it (``A1PA6795UKMFR9`` ->
    ``DE``); an unknown id stays as it is, none is ``-``."""
    codes: dict[str, str] = {}
    for info in infos:
        for spec in info.fields:
            if spec.key == "marketplaces":
                codes.update({c.value: c.code for c in spec.choices if c.code})

    def code_of(marketplace_id: str | None) -> str:
        return codes.get(marketplace_id, marketplace_id) if marketplace_id else "-"

    return code_of


def form_values(
    account: Account | StoredAccount | None, info: ConnectorInfo
) -> dict[str, str | list[str]]:
    """The account's values of the connector's fields, for a form; secrets are left empty.
    Without an account, what a new one starts with (the region ``DEFAULT_REGION``)."""
    if account is None:
        return {"region": DEFAULT_REGION} if any(f.key == "region" for f in info.fields) else {}
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


def settings_lines(account: Account | StoredAccount, info: ConnectorInfo) -> list[str]:
    """The account's settings as ``KEY=VALUE`` lines (those no field of the form shows)."""
    own = {f.key for f in info.fields}
    return [f"{k}={v}" for k, v in account.settings.items() if k not in own]


def setting_values(account: Account | StoredAccount | None, info: ConnectorInfo) -> dict[str, str]:
    """The account's values of the connector's settings (``ConnectorInfo.settings``), by each
    setting's own name (a former name's value under the current one); a setting the account
    does not set is missing (its default applies)."""
    values: dict[str, str] = {}
    if account is None:
        return values
    for key, value in account.settings.items():
        try:
            values[info.setting(key).key] = value
        except SettingError:
            continue  # not one of the connector's settings: ``other_settings_lines``
    return values


def other_settings_lines(account: Account | StoredAccount, info: ConnectorInfo) -> list[str]:
    """The account's settings that neither a field nor one of the connector's settings is,
    as ``KEY=VALUE`` lines (kept as they are; a form shows them to be changed or removed)."""
    lines = []
    for line in settings_lines(account, info):
        try:
            info.setting(line.partition("=")[0])
        except SettingError:
            lines.append(line)
    return lines


def derived_group(info: ConnectorInfo, key: str, chosen: Sequence[str]) -> str | None:
    """The value of the field that the field ``key`` is grouped by (the region of the chosen
    marketplaces), from the chosen values: the group of the first known one (None: none
    chosen, or unknown). A choice of another group is refused later, as always."""
    try:
        spec = info.account_field(key)
    except LookupError:
        return None
    for text in chosen:
        try:
            group = spec.choice(text).group
        except LookupError:
            continue
        if group:
            return group
    return None


def with_derived_groups(
    info: ConnectorInfo, values: Mapping[str, str | Sequence[str]], *, new: bool
) -> dict[str, str | Sequence[str]]:
    """``values`` with a grouping field left empty (the region) derived from the choices it
    groups (the marketplaces): given empty, or for a new account not given at all. A region
    that is given is kept (a marketplace outside it is refused, as the CLI refuses it)."""
    derived = dict(values)
    for spec in info.fields:
        if not spec.grouped_by or spec.key not in values:
            continue
        raw = values.get(spec.grouped_by)
        empty = raw is None or not "".join([raw] if isinstance(raw, str) else raw).strip()
        if empty and (new or spec.grouped_by in values):
            chosen = values[spec.key]
            group = derived_group(info, spec.key, [chosen] if isinstance(chosen, str) else chosen)
            if group is not None:
                derived[spec.grouped_by] = group
    return derived


# ------------------------------------------------------------------------------ checks


def parse_settings(lines: Iterable[str]) -> dict[str, str]:
    """``KEY=VALUE`` texts (blank ones skipped) as a dict, not yet checked; ``cli.setting.syntax``
    for one that is not."""
    settings: dict[str, str] = {}
    for line in lines:
        if not line.strip():
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ServiceError("cli.setting.syntax", field="settings", text=line)
        settings[key.strip()] = value.strip()
    return settings


def check_settings(info: ConnectorInfo, values: Mapping[str, str]) -> dict[str, str]:
    """``values`` checked against the connector's settings, under their own names (former
    names renamed); ``cli.setting.<problem>`` for the first it refuses (never clamped)."""
    try:
        return info.check_settings(values)
    except SettingError as exc:
        raise ServiceError(
            f"cli.setting.{exc.problem}",
            field="settings",
            key=exc.key,
            value=values.get(exc.key, ""),
            allowed=", ".join(exc.allowed),
            minimum=_plain(exc.minimum),
            maximum=_plain(exc.maximum),
        ) from None


def check(info: ConnectorInfo, form: AccountForm) -> None:
    """Everything about a new account that needs no store and no credentials: the name, the
    choices, the settings (a face checks before it asks for secrets or creates a store)."""
    build(info, form, credentials=False)


def build(
    info: ConnectorInfo,
    form: AccountForm,
    *,
    existing: Account | None = None,
    locale: str = "de",
    credentials: bool = True,
) -> Account:
    """The account ``form`` describes (a change of ``existing``), checked; ServiceError with
    ``field`` set for what the seller must correct. Without ``credentials``, missing ones are
    not an error (they are asked for later)."""
    name = existing.name if form.name is None and existing else _checked_name(form.name or "")
    kept: dict[str, object] = {}
    extra: dict[str, str] = {}
    given_values = with_derived_groups(info, form.values, new=existing is None)
    for spec in info.fields:
        unchanged = existing is not None and spec.key not in given_values
        if unchanged or (not credentials and spec.key in CREDENTIALS):
            continue
        raw = given_values.get(spec.key, "")
        given = [raw] if isinstance(raw, str) else list(raw)
        if spec.kind == "multichoice":
            chosen = [_choice(spec, text).value for text in given if text.strip()]
            value = ",".join(chosen)
        else:
            value = ",".join(given).strip()
            chosen = [_choice(spec, value).value] if spec.kind == "choice" and value else []
            value = chosen[0] if chosen else value
        if spec.secret and not value and existing is not None:
            continue  # left empty: the stored one stays
        if spec.required and not value:
            raise ServiceError("input.required", field=spec.key)
        if spec.key == "marketplaces":
            kept["marketplace_ids"] = tuple(chosen)
        elif spec.key in _ACCOUNT_SECRETS:
            kept[spec.key] = Secret(value)
        elif spec.key in _ACCOUNT_TEXT:
            kept[spec.key] = value
        else:
            extra[spec.key] = value
    base = existing or Account(
        id=name,
        name=name,
        connector=info.id,
        region="",
        marketplace_ids=(),
        client_id="",
        client_secret=Secret(""),
        refresh_token=Secret(""),
        locale=locale,
    )
    account: Account = dataclasses.replace(base, name=name, **kept)  # type: ignore[arg-type]
    if existing is None or {"region", "marketplaces"} & set(given_values):
        _check_groups(info, account)
    settings = dict(account.settings)
    if form.settings is not None:
        checked = check_settings(info, form.settings)
        settings = checked if form.replace_settings else {**_own_names(info, settings), **checked}
    settings.update(extra)
    changes: dict[str, object] = {"settings": settings}
    if form.endpoint is not None or existing is None:
        changes["endpoint"] = form.endpoint or None
    if form.token_url is not None or existing is None:
        changes["token_url"] = form.token_url or None
    return dataclasses.replace(account, **changes)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------ actions


def name_free(host: ReferenceHost, name: str) -> None:
    """``cli.account_exists`` when an account has this name already."""
    if any(a.name == name for a in host.store.stored_accounts()):
        raise ServiceError("cli.account_exists", field="name", name=name)


def add(host: ReferenceHost, form: AccountForm, *, locale: str) -> Account:
    """Add the account ``form`` describes, in the seller's language ``locale`` (the language
    its background messages speak); audited as ``account.add``."""
    info = connector_info(host, form.connector)
    account = build(info, form, locale=locale)
    try:
        host.store.add_account(account)
    except AccountExistsError:
        raise ServiceError("cli.account_exists", field="name", name=account.name) from None
    auditing.record(
        host,
        "account.add",
        account=account.name,
        marketplaces=len(account.marketplace_ids),
        settings=len(form.settings or {}),
    )
    return account


def change(host: ReferenceHost, name: str, form: AccountForm) -> Account:
    """Change the account ``name`` as ``form`` says (what it leaves out stays); audited as
    ``account.set``. ``cli.account_nothing_to_change`` when the form changes nothing."""
    existing = get(host, name)
    given = (form.name, form.settings, form.endpoint, form.token_url)
    if not form.values and all(value is None for value in given):
        raise ServiceError("cli.account_nothing_to_change", name=existing.name)
    account = build(connector_info(host, existing.connector), form, existing=existing)
    try:
        host.store.update_account(account)
    except AccountExistsError:
        raise ServiceError("cli.account_exists", field="name", name=account.name) from None
    auditing.record(
        host,
        "account.set",
        account=account.name,
        marketplaces=account.marketplace_ids != existing.marketplace_ids,
        settings=len(form.settings or {}),
        endpoint=(account.endpoint, account.token_url) != (existing.endpoint, existing.token_url),
        credentials=_credentials(account) != _credentials(existing),
    )
    return account


def set_credentials(
    host: ReferenceHost, name: str, *, client_id: str, client_secret: str, refresh_token: str
) -> Account:
    """New credentials for the account (blanks around them removed); audited as
    ``account.credentials`` (never the values). The stored ones are not opened: this repairs
    a damaged account too. Its endpoint and token URL overrides are then cleared (Amazon's
    own for its region): the row was changed outside the host, and an override pointed at
    someone else's server would get the new secrets; set them again (``change``) if they
    were yours."""
    account = stored(host, name)
    given = {"client_id": client_id, "client_secret": client_secret, "refresh_token": refresh_token}
    for key, value in given.items():
        if not value.strip():
            raise ServiceError("input.required", field=key)
    renewed = Account(
        id=account.id,
        name=account.name,
        connector=account.connector,
        region=account.region,
        marketplace_ids=account.marketplace_ids,
        client_id=client_id.strip(),
        client_secret=Secret(client_secret.strip()),
        refresh_token=Secret(refresh_token.strip()),
        endpoint=None if account.damaged else account.endpoint,
        token_url=None if account.damaged else account.token_url,
        settings=dict(account.settings),
        locale=account.locale,
    )
    host.store.update_account(renewed)
    auditing.record(host, "account.credentials", account=account.name, repaired=account.damaged)
    return renewed


def removal(host: ReferenceHost, name: str) -> Removal:
    """What removing the account would take along: for the face's question (a damaged
    account too: its secrets are not opened)."""
    account = stored(host, name)
    return Removal(
        account.name, len(host.store.order_ids_by_status(account.id, tuple(OrderStatus)))
    )


def removal_facts(host: ReferenceHost, name: str) -> RemovalFacts:
    """What removing the account would take along, counted (a damaged account too: its
    secrets are not opened)."""
    account = stored(host, name)
    packages = host.store.list_shipments(account.id)
    return RemovalFacts(
        name=account.name,
        orders=len(host.store.order_ids_by_status(account.id, tuple(OrderStatus))),
        packages=len(packages),
        unsent_packages=sum(1 for p in packages if p.state != "confirmed"),
        problems=len(host.store.open_problems(account.id)),
    )


def remove_named(host: ReferenceHost, name: str, *, typed_name: str) -> Removal:
    """``remove``, confirmed by typing the account's name: ``typed_name`` (blanks around it
    aside) must be exactly the account's name, else ``console.remove.name_mismatch`` and
    nothing is removed (a face that asks by typing, as the console does)."""
    account = stored(host, name)
    if typed_name.strip() != account.name:
        raise ServiceError("console.remove.name_mismatch", field="confirm_name", name=account.name)
    return remove(host, account.id, confirmed=True)


def remove(host: ReferenceHost, name: str, *, confirmed: bool) -> Removal:
    """Remove the account with its orders (their personal data), state and history.

    Destroys data: unless ``confirmed``, raises ``NeedsConfirmation`` (text
    ``cli.account_remove_confirm``, values ``name`` and ``count``: what ``removal`` says) and
    removes nothing. Audited as ``account.remove`` with the count of orders and ``complete``.
    A damaged account is removed like any other.

    As ``purge``: when another process reading the database (a backup, the console, ``run``)
    kept the write-ahead log from being emptied, old copies of the removed orders are still in
    it; then the account is gone but the removal is not complete: audited ``complete: false``
    and ``cli.account_remove_incomplete`` raised (kind ``failed``), never reported as done."""
    account = stored(host, name)
    orders = removal(host, account.id).orders
    if not confirmed:
        raise NeedsConfirmation("cli.account_remove_confirm", name=account.name, count=orders)
    complete = host.store.remove_account(account.id)
    auditing.record(host, "account.remove", account=account.name, orders=orders, complete=complete)
    if not complete:
        raise ServiceError(
            "cli.account_remove_incomplete",
            kind="failed",
            name=account.name,
            count=orders,
            wal=f"{DB_FILE}-wal",
        )
    return Removal(account.name, orders)


# ------------------------------------------------------------------------------ helpers


def _checked_name(text: str) -> str:
    name = text.strip()
    if not name:
        raise ServiceError("input.required", field="name")
    try:
        return check_account_name(name)
    except ValueError:
        raise ServiceError("input.name_unusable", field="name", maximum=MAX_NAME_LENGTH) from None


def _choice(spec: AccountField, text: str) -> Choice:
    try:
        return spec.choice(text)
    except LookupError:
        known = ", ".join(c.code or c.value for c in spec.choices)
        text_id = "cli.unknown_region" if spec.key == "region" else "cli.unknown_marketplaces"
        raise ServiceError(text_id, field=spec.key, value=text, known=known) from None


def _check_groups(info: ConnectorInfo, account: Account) -> None:
    """Every chosen marketplace lies in the account's region (``grouped_by``)."""
    for spec in info.fields:
        if spec.key != "marketplaces" or spec.grouped_by != "region":
            continue
        for value in account.marketplace_ids:
            market = spec.choice(value)  # a value build() chose
            if market.group != account.region:
                raise ServiceError(
                    "cli.marketplace_region",
                    field=spec.key,
                    marketplace=market.code or market.value,
                    found=market.group,
                    region=account.region,
                )


def _own_names(info: ConnectorInfo, settings: Mapping[str, str]) -> dict[str, str]:
    """Stored settings under the connector's current names (former names carried over)."""
    renamed: dict[str, str] = {}
    for key, value in settings.items():
        try:
            renamed[info.setting(key).key] = value
        except ValueError:
            renamed[key] = value  # not the connector's (any more): kept as it was
    return renamed


def _credentials(account: Account) -> tuple[str, str, str]:
    return (account.client_id, account.client_secret.reveal(), account.refresh_token.reveal())


def _plain(number: float | None) -> str:
    if number is None:
        return "-"
    return str(int(number)) if float(number).is_integer() else str(number)
