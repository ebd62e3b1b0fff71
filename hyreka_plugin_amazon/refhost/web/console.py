"""The console's pages: start page, the connector's tabs "Accounts" and "Bestellungen".

Every action and every read goes through the one door the CLI uses too (``refhost.services``):
the same checks, the same audit entries, the same confirmation before data is destroyed.
There is no second path for login, sync or storage. Errors of the services are shown in the
request's language; the language is never stored with an account.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime
from typing import Any

from flask import (
    Flask,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from werkzeug.wrappers.response import Response as BaseResponse

from hyreka_plugin_amazon.contract import Account, ConnectorInfo, OrderStatus
from hyreka_plugin_amazon.refhost.i18n.texts import DEFAULT_LOCALE as DEFAULT_LANGUAGE
from hyreka_plugin_amazon.refhost.i18n.texts import LANGUAGES, translate
from hyreka_plugin_amazon.refhost.i18n.texts import web_text as text
from hyreka_plugin_amazon.refhost.services import accounts as account_actions
from hyreka_plugin_amazon.refhost.services import orders as order_reads
from hyreka_plugin_amazon.refhost.services import polling, problems, runs, shipping
from hyreka_plugin_amazon.refhost.services.accounts import AccountForm, StoredAccount
from hyreka_plugin_amazon.refhost.services.errors import NeedsConfirmation, ServiceError
from hyreka_plugin_amazon.refhost.services.opening import ReferenceHost
from hyreka_plugin_amazon.refhost.web import security
from hyreka_plugin_amazon.refhost.web.jobs import SyncJobs

HISTORY_SHOWN = 10
# Service errors the console words its own way (its form is not the command line's).
OWN_WORDS = {
    "cli.account_exists": "account.exists",
    "cli.setting.syntax": "form.settings",
    "input.required": "form.required",
}


class Console:
    """What the pages share: the host, the background syncs, the console's options."""

    def __init__(
        self,
        host: ReferenceHost,
        *,
        lang: str = DEFAULT_LANGUAGE,
        endpoint: str | None = None,
        token_url: str | None = None,
    ) -> None:
        self.host = host
        self.lang = lang
        self.endpoint = endpoint
        self.token_url = token_url
        self.jobs = SyncJobs(host)

    def connectors(self) -> dict[str, ConnectorInfo]:
        return {info.id: info for info in account_actions.connectors(self.host)}

    def connector(self, connector_id: str) -> ConnectorInfo:
        info = self.connectors().get(connector_id)
        if info is None:
            abort(404)
        return info

    def account(self, info: ConnectorInfo, account_id: str) -> Account:
        try:
            account = account_actions.get(self.host, account_id)
        except ServiceError:
            abort(404)
        if account.connector != info.id:
            abort(404)
        return account

    def accounts(self, info: ConnectorInfo) -> list[StoredAccount]:
        """The connector's accounts without their secrets (a damaged one marked)."""
        return account_actions.listing(self.host, info.id)

    def stored(self, info: ConnectorInfo, account_id: str) -> StoredAccount:
        """The account without its secrets, damaged or not (404: none of this connector)."""
        try:
            account = account_actions.stored(self.host, account_id)
        except ServiceError:
            abort(404)
        if account.connector != info.id:
            abort(404)
        return account


def create_app(console: Console, *, access_token: str, allowed_hosts: Collection[str]) -> Flask:
    """The console's Flask application, guarded by ``security.install``."""
    app = Flask(__name__)
    security.install(app, access_token=access_token, allowed_hosts=allowed_hosts)

    def lang() -> str:
        chosen = session.get("lang", console.lang)
        return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE

    @app.context_processor
    def helpers() -> dict[str, Any]:
        current = lang()
        return {
            "lang": current,
            "t": lambda key, **values: text(current, key, **values),
            "ht": lambda key, **values: translate(key, current, **values),
            "label": lambda mapping: mapping.get(current) or next(iter(mapping.values()), ""),
            "codes": account_actions.marketplace_codes,
            "other_lang": "en" if current == "de" else "de",
        }

    @app.post("/lang")
    def switch_language() -> BaseResponse:
        wanted = request.form.get("lang", "")
        if wanted in LANGUAGES:
            session["lang"] = wanted
        back = request.form.get("next", "/")
        return redirect(back if back.startswith("/") and not back.startswith("//") else "/")

    @app.get("/")
    def start() -> str:
        return render_template("start.html", connectors=list(console.connectors().values()))

    # ---------------------------------------------------------------------------- Accounts

    def accounts_page(info: ConnectorInfo, **extra: Any) -> str:
        statuses = {s.account_id: s for s in polling.statuses(console.host, history=1)}
        return render_template(
            "accounts.html",
            info=info,
            accounts=console.accounts(info),
            statuses=statuses,
            **extra,
        )

    @app.get("/c/<connector_id>/")
    def connector(connector_id: str) -> BaseResponse:
        return redirect(url_for("accounts", connector_id=connector_id))

    @app.get("/c/<connector_id>/accounts")
    def accounts(connector_id: str) -> str:
        info = console.connector(connector_id)
        saved = request.args.get("saved")
        return accounts_page(
            info, notice=text(lang(), "account.saved", name=saved) if saved else None
        )

    def account_form(
        info: ConnectorInfo, account: Account | None, status: int = 200, **extra: Any
    ) -> tuple[str, int]:
        values: dict[str, Any] = account_actions.form_values(account, info)
        settings = "\n".join(account_actions.settings_lines(account, info)) if account else ""
        page = render_template(
            "account_form.html",
            info=info,
            account=account,
            values=extra.pop("values", values),
            name=extra.pop("name", account.name if account else ""),
            settings=extra.pop("settings", settings),
            **extra,
        )
        return page, status

    def refusal(error: ServiceError) -> str:
        """A service's refusal in the request's language (in the console's words where it
        has its own)."""
        own = OWN_WORDS.get(error.text_id)
        return text(lang(), own) if own else translate(error.text_id, lang(), **error.params)

    def save_account(
        info: ConnectorInfo, existing: Account | None
    ) -> BaseResponse | tuple[str, int]:
        form = request.form
        values: dict[str, str | list[str]] = {}
        for spec in info.fields:
            values[spec.key] = (
                form.getlist(spec.key) if spec.kind == "multichoice" else form.get(spec.key, "")
            )
        name = form.get("name", "")
        settings_text = form.get("settings", "")
        try:
            given = AccountForm(
                name=name,
                values=values,
                settings=account_actions.parse_settings(settings_text.splitlines()),
                replace_settings=True,  # the form shows every setting: what it leaves out goes
                endpoint=console.endpoint if existing is None else None,
                token_url=console.token_url if existing is None else None,
                connector=info.id,
            )
            if existing is None:
                account = account_actions.add(console.host, given, locale=lang())
            else:
                account = account_actions.change(console.host, existing.id, given)
        except ServiceError as exc:
            error = {exc.field or "name": refusal(exc)}
            shown = {k: ("" if _secret(info, k) else v) for k, v in values.items()}
            return account_form(
                info, existing, 400, values=shown, name=name, settings=settings_text, errors=error
            )
        return redirect(url_for("accounts", connector_id=info.id, saved=account.name))

    @app.route("/c/<connector_id>/accounts/new", methods=["GET", "POST"])
    def new_account(connector_id: str) -> BaseResponse | tuple[str, int]:
        info = console.connector(connector_id)
        if request.method == "POST":
            return save_account(info, None)
        return account_form(info, None)

    def damaged(info: ConnectorInfo, account: StoredAccount) -> str:
        """The account list, saying how to repair a damaged account (its secrets do not
        open: nothing can be edited, tested or synchronised until they are entered again)."""
        notice = text(lang(), "account.damaged_help", name=account.name)
        return accounts_page(info, notice=notice)

    @app.route("/c/<connector_id>/accounts/<account_id>/edit", methods=["GET", "POST"])
    def edit_account(connector_id: str, account_id: str) -> BaseResponse | tuple[str, int]:
        info = console.connector(connector_id)
        if (stored := console.stored(info, account_id)).damaged:
            return damaged(info, stored), 409
        account = console.account(info, account_id)
        if request.method == "POST":
            return save_account(info, account)
        return account_form(info, account)

    @app.post("/c/<connector_id>/accounts/<account_id>/remove")
    def remove_account(connector_id: str, account_id: str) -> str:
        """ "Entfernen": destroys the account's orders and history, so it asks first (a page
        with the count of orders); only the confirming form removes."""
        info = console.connector(connector_id)
        account = console.stored(info, account_id)  # a damaged one too
        confirmed = request.form.get("confirmed") == "yes"
        try:
            if confirmed:
                job = console.jobs.get(account.id)
                if job is not None:
                    job.cancel.set()
            removed = account_actions.remove(console.host, account.id, confirmed=confirmed)
        except NeedsConfirmation as ask:
            return render_template("remove.html", info=info, account=account, facts=ask.params)
        console.jobs.forget(account.id)
        return accounts_page(info, notice=text(lang(), "account.removed", name=removed.name))

    @app.post("/c/<connector_id>/accounts/<account_id>/login")
    def test_login(connector_id: str, account_id: str) -> str:
        info = console.connector(connector_id)
        if (stored := console.stored(info, account_id)).damaged:
            return damaged(info, stored)
        account = console.account(info, account_id)
        result = runs.login_test(console.host, account.id, lang=lang())
        return accounts_page(info, login=result, login_account=account.id)

    # ---------------------------------------------------------------------------- Bestellungen

    @app.get("/c/<connector_id>/orders")
    def orders(connector_id: str) -> str:
        info = console.connector(connector_id)
        accounts = console.accounts(info)
        chosen = request.args.get("account") or (accounts[0].id if accounts else None)
        account = console.account(info, chosen) if chosen else None
        extra: dict[str, Any] = {}
        if account is not None:
            status_arg = request.args.get("status", "")
            status = OrderStatus(status_arg) if status_arg in set(OrderStatus) else None
            search = request.args.get("q", "")
            page = order_reads.order_page(
                console.host,
                account.id,
                status=status,
                search=search,
                page=_int(request.args.get("page"), 1),
            )
            extra = {
                "page": page,
                "status": status.value if status else "",
                "search": search,
                "job": console.jobs.get(account.id),
                "problems": problems.of_account(console.host, account.id),
                "runs": polling.history(console.host, account.id, limit=HISTORY_SHOWN),
            }
        return render_template(
            "orders.html",
            info=info,
            accounts=accounts,
            account=account,
            statuses=list(OrderStatus),
            buyer=order_reads.buyer,
            **extra,
        )

    @app.post("/c/<connector_id>/orders/<account_id>/sync")
    def sync(connector_id: str, account_id: str) -> BaseResponse:
        info = console.connector(connector_id)
        account = console.account(info, account_id)
        console.jobs.start(account.id, lang())
        return redirect(url_for("orders", connector_id=info.id, account=account.id))

    @app.get("/c/<connector_id>/orders/<account_id>/sync/status")
    def sync_status(connector_id: str, account_id: str) -> BaseResponse:
        info = console.connector(connector_id)
        account = console.account(info, account_id)
        job = console.jobs.get(account.id)
        if job is None:
            abort(404)
        state = job.as_dict()
        state["phase_label"] = text(lang(), f"phase.{state['phase']}")
        return jsonify(state)

    @app.post("/c/<connector_id>/orders/<account_id>/sync/cancel")
    def cancel_sync(connector_id: str, account_id: str) -> BaseResponse:
        info = console.connector(connector_id)
        account = console.account(info, account_id)
        job = console.jobs.get(account.id)
        if job is not None:
            job.cancel.set()
        return redirect(url_for("orders", connector_id=info.id, account=account.id))

    @app.get("/c/<connector_id>/orders/<account_id>/order/<order_id>")
    def order(connector_id: str, account_id: str, order_id: str) -> str:
        info = console.connector(connector_id)
        account = console.account(info, account_id)
        detail = order_reads.order_detail(console.host, account.id, order_id)
        if detail is None:
            abort(404)
        return render_template(
            "order.html",
            info=info,
            account=account,
            order=detail.order,
            packages=detail.packages,
            left=detail.left,
            today=datetime.now(UTC).date().isoformat(),
        )

    @app.post("/c/<connector_id>/orders/<account_id>/order/<order_id>/ship")
    def ship(connector_id: str, account_id: str, order_id: str) -> BaseResponse:
        """ "Versand bestätigen": the shipment goes to the outbox and to Amazon at once."""
        info = console.connector(connector_id)
        account = console.account(info, account_id)
        found = order_reads.get_order(console.host, account.id, order_id)
        if found is None:
            abort(404)
        form = request.form
        items = []
        for line in found.lines:
            raw = form.get(f"qty-{line.order_item_id}", "0").strip() or "0"
            if not raw.isdigit():
                abort(400)
            if int(raw) > 0:
                items.append((line.order_item_id, int(raw)))
        try:
            shipped = date.fromisoformat(form.get("ship_date", "").strip())
        except ValueError:
            flash(text(lang(), "ship.bad_date"), "failed")
            return redirect(
                url_for("order", connector_id=info.id, account_id=account.id, order_id=order_id)
            )
        try:
            outcome = shipping.ship(
                console.host,
                order_id,
                account_name=account.name,
                carrier=form.get("carrier", ""),
                carrier_name=form.get("carrier_name", "").strip() or None,
                shipping_method=form.get("shipping_method", "").strip() or None,
                tracking_number=form.get("tracking", ""),
                ship_date=datetime(shipped.year, shipped.month, shipped.day, 12, tzinfo=UTC),
                items=items,
                lang=lang(),
            )
        except ValueError as exc:  # a date, carrier or item the seller must correct
            flash(str(exc), "failed")
        else:
            flash(outcome.message, outcome.state.value)
        return redirect(
            url_for("order", connector_id=info.id, account_id=account.id, order_id=order_id)
        )

    @app.post("/c/<connector_id>/orders/<account_id>/problems/<order_id>/dismiss")
    def dismiss(connector_id: str, account_id: str, order_id: str) -> BaseResponse:
        info = console.connector(connector_id)
        account = console.account(info, account_id)
        problems.dismiss_order(console.host, account.id, order_id)
        return redirect(url_for("orders", connector_id=info.id, account=account.id))

    @app.errorhandler(404)
    def not_found(_: Exception) -> tuple[str, int]:
        return render_template("refused.html", kind="notfound"), 404

    return app


def _secret(info: ConnectorInfo, key: str) -> bool:
    return any(f.key == key and f.secret for f in info.fields)


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default
