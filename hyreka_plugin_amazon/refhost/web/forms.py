"""What the console's pages share besides their routes: Post/Redirect/Get (what a POST
keeps in the session for the page its redirect shows, and the pages a GET of a POST-only
address leads to), and the account form's helpers (marketplaces grouped by region, texts
with Amazon's screen names set in as markup)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from flask import Flask, redirect, request, url_for
from markupsafe import Markup, escape
from werkzeug.wrappers.response import Response as BaseResponse

from hyreka_plugin_amazon.contract import Choice, ConnectorInfo
from hyreka_plugin_amazon.refhost.i18n.texts import translate
from hyreka_plugin_amazon.refhost.services.errors import ServiceError
from hyreka_plugin_amazon.refhost.services.orders import OrderQuery

# Kept in the session between a POST and the page its redirect shows (Post/Redirect/Get).
LOGIN_RESULT: Final = "kept_login_result"
FORM_KEPT: Final = "kept_form"


@dataclass(frozen=True)
class LoginShown:
    """ "Anmeldung testen"'s result as the accounts page shows it once after the redirect."""

    ok: bool
    message: str
    warnings: list[str]
    account: str
    needs_reauthorization: bool = False


def add_landings(app: Flask) -> None:
    """A GET of an address that only takes a POST (after Back or a reload) leads to the page
    it belongs to, never to "Method Not Allowed"."""

    @app.get("/c/<connector_id>/accounts/<account_id>/login")
    def login_page(connector_id: str, account_id: str) -> BaseResponse:
        return redirect(url_for("accounts", connector_id=connector_id))

    @app.get("/c/<connector_id>/orders/<account_id>/sync")
    @app.get("/c/<connector_id>/orders/<account_id>/sync/cancel")
    def sync_page(connector_id: str, account_id: str) -> BaseResponse:
        return redirect(url_for("orders", connector_id=connector_id, account=account_id))

    @app.get("/c/<connector_id>/orders/<account_id>/order/<order_id>/ship")
    def ship_page(connector_id: str, account_id: str, order_id: str) -> BaseResponse:
        return redirect(
            url_for("order", connector_id=connector_id, account_id=account_id, order_id=order_id)
        )

    @app.get("/c/<connector_id>/orders/<account_id>/problems/<int:problem_id>/ignore")
    def problems_page(connector_id: str, account_id: str, problem_id: int) -> BaseResponse:
        args: dict[str, Any] = {
            "account": account_id,
            **OrderQuery.from_args(request.args).as_args(),
        }
        return redirect(url_for("orders", connector_id=connector_id, **args))

    @app.get("/c/<connector_id>/connect")
    def connect_page(connector_id: str) -> BaseResponse:
        return redirect(url_for("new_account", connector_id=connector_id))

    @app.get("/c/<connector_id>/accounts/<account_id>/reconnect")
    def reconnect_page(connector_id: str, account_id: str) -> BaseResponse:
        return redirect(url_for("accounts", connector_id=connector_id))

    @app.get("/lang")
    def language_page() -> BaseResponse:
        return redirect(url_for("start"))


@dataclass(frozen=True)
class MarketplaceGroup:
    """The marketplaces of one region, as the account form groups them."""

    value: str  # the region's value (``Choice.group`` of its marketplaces)
    label: Mapping[str, str]
    choices: tuple[Choice, ...]


def marketplace_groups(info: ConnectorInfo) -> list[MarketplaceGroup]:
    """The choices of each field grouped by another (marketplaces by region), in the order
    of the grouping field's choices; ungrouped ones last."""
    groups: list[MarketplaceGroup] = []
    for spec in info.fields:
        if spec.kind != "multichoice" or not spec.grouped_by:
            continue
        by = info.account_field(spec.grouped_by)
        for group in by.choices:
            members = tuple(c for c in spec.choices if c.group == group.value)
            if members:
                groups.append(MarketplaceGroup(group.value, group.label, members))
        rest = tuple(c for c in spec.choices if c.group not in {g.value for g in by.choices})
        if rest:
            groups.append(MarketplaceGroup("", {}, rest))
    return groups


def marked(word: Callable[..., str], lang: str, key: str, **values: Markup | str) -> Markup:
    """The text ``key`` with its values set in as markup (escaped unless they are markup, as
    Amazon's screen names from ``en``): the text itself is escaped as every text is."""
    slots = {name: f"\x00{name}\x00" for name in values}
    pieces = word(lang, key, **slots).split("\x00")
    page = Markup("")
    for n, piece in enumerate(pieces):  # text, slot name, text, slot name, ..., text
        page += escape(values[piece]) if n % 2 else piece  # a text piece gets escaped
    return page


def secret(info: ConnectorInfo, key: str) -> bool:
    return any(f.key == key and f.secret for f in info.fields)


def error_field(error: ServiceError, fields: Mapping[str, str]) -> str:
    """The form field a refusal marks: a setting's own field when it came from one."""
    key = str(error.params.get("key", ""))
    if error.field == "settings" and fields.get(key):
        return f"setting-{key}"
    return error.field or "name"


def setting_refusal(
    info: ConnectorInfo, error: ServiceError, fields: Mapping[str, str], lang: str
) -> str | None:
    """A refusal at a setting's own field, naming the setting as the field does (its label,
    in the service's sentence); None for a refusal elsewhere."""
    if not error_field(error, fields).startswith("setting-"):
        return None
    named = info.setting(str(error.params["key"])).label
    shown = named.get(lang) or str(error.params["key"])
    return translate(error.text_id, lang, **{**error.params, "key": f"„{shown}“"})
