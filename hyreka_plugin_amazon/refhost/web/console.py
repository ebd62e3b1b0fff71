"""The console's pages: start page, the connector's tabs "Accounts" and "Bestellungen".

Every action and every read goes through the one door the CLI uses too (``refhost.services``):
the same checks, the same audit entries, the same confirmation before data is destroyed.
There is no second path for login, sync or storage. Errors of the services are shown in the
request's language; the language is never stored with an account.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, Final

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
from markupsafe import Markup
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers.response import Response as BaseResponse

from hyreka_plugin_amazon.contract import Account, ConnectorInfo, OrderStatus
from hyreka_plugin_amazon.refhost.i18n import formatting
from hyreka_plugin_amazon.refhost.i18n.texts import DEFAULT_LOCALE as DEFAULT_LANGUAGE
from hyreka_plugin_amazon.refhost.i18n.texts import LANGUAGES, translate
from hyreka_plugin_amazon.refhost.i18n.texts import web_text as text
from hyreka_plugin_amazon.refhost.services import accounts as account_actions
from hyreka_plugin_amazon.refhost.services import invoicing, polling, problems, runs, shipping
from hyreka_plugin_amazon.refhost.services import orders as order_reads
from hyreka_plugin_amazon.refhost.services.accounts import AccountForm, StoredAccount
from hyreka_plugin_amazon.refhost.services.connecting import VendorApp
from hyreka_plugin_amazon.refhost.services.errors import ServiceError
from hyreka_plugin_amazon.refhost.services.errors import text as error_text
from hyreka_plugin_amazon.refhost.services.opening import ReferenceHost
from hyreka_plugin_amazon.refhost.services.orders import OrderQuery, SortKey
from hyreka_plugin_amazon.refhost.web import connect, forms, outbox, security
from hyreka_plugin_amazon.refhost.web.forms import FORM_KEPT, LOGIN_RESULT, LoginShown
from hyreka_plugin_amazon.refhost.web.jobs import SyncJob, SyncJobs
from hyreka_plugin_amazon.refhost.web.sessions import IDLE_TIMEOUT, Clock

log = logging.getLogger(__name__)

HISTORY_SHOWN = 10
MAX_SHIP_TOKEN = 64  # characters of the shipping form's one-time token
# Service errors the console words its own way (its form is not the command line's).
OWN_WORDS = {
    "cli.account_exists": "account.exists",
    "cli.setting.syntax": "form.settings",
    "input.required": "form.required",
}
# What started a sync (``SyncRun.trigger``), each worded as ``web.trigger.<trigger>``.
TRIGGERS: Final = ("console", "schedule", "manual", "worker")
# A run's outcome in the seller's words: ``web.run.<code without "sync.">``; other codes
# as ``web.run.failed``.
RUN_CODES: Final = (
    "ok", "problems", "cancelled", "throttled", "unavailable", "auth_failed", "token_refused",
    "access_denied", "restricted_role_missing", "order_reports_not_enabled", "report_timeout",
    "report_fatal", "document_error", "document_too_large", "header_error", "disk_full",
    "status_report_held", "marketplaces_left_out", "busy", "lease_lost", "taken_over", "error",
)  # fmt: skip
FULFILMENT: Final = ("MFN", "AFN")  # web.fulfillment.<channel>
# Values of the connector's choice settings worded as ``web.setting_choice.<value>``.
SETTING_CHOICES: Final = (
    "on", "off", "true", "false", "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING",
    "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING", "GET_FLAT_FILE_ORDER_REPORT_DATA_TAX",
)  # fmt: skip


@dataclass(frozen=True)
class Banner:
    """The sync banner above the orders: the outcome of the last sync that counts."""

    ok: bool
    message: str
    warnings: tuple[str, ...] = ()


class Console:
    """What the pages share: the host, the background syncs, the console's options."""

    def __init__(
        self,
        host: ReferenceHost,
        *,
        lang: str = DEFAULT_LANGUAGE,
        endpoint: str | None = None,
        token_url: str | None = None,
        idle_timeout: timedelta = IDLE_TIMEOUT,
        clock: Clock | None = None,
        zone: tzinfo | None = None,
        vendor_app: VendorApp | None = None,
        public_url: str | None = None,
    ) -> None:
        self.host = host
        # "Mit Amazon verbinden" (web/connect.py): the vendor's app, the console's public address
        self.vendor_app, self.public_url = vendor_app, public_url
        # The seller's time zone: the pages show times in it (HYREKA_TZ, else Europe/Berlin).
        self.zone = zone if zone is not None else formatting.seller_zone()
        self.lang = lang
        self.endpoint = endpoint
        self.token_url = token_url
        self.jobs = SyncJobs(host)
        # The access token and the sessions: a session ends after ``idle_timeout`` without a
        # request (``clock``, seconds like time.monotonic, lets tests move time).
        self.gate = security.Gate(idle_timeout, clock)

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


def create_app(
    console: Console,
    *,
    access_token: str | None = None,
    allowed_hosts: Collection[str],
    cookie_name: str = security.COOKIE,
) -> Flask:
    """The console's Flask application, guarded by ``security.install``. ``access_token``
    becomes the one-time token of ``console.gate`` (``console.gate.issue()`` makes more)."""
    app = Flask(__name__)
    if access_token is not None:
        console.gate.issue(access_token)
    security.install(app, gate=console.gate, allowed_hosts=allowed_hosts, cookie_name=cookie_name)
    connect.register(app, console)

    def lang() -> str:
        chosen = session.get("lang", console.lang)
        return chosen if chosen in LANGUAGES else DEFAULT_LANGUAGE

    def trigger_word(trigger: str) -> str:
        if trigger in TRIGGERS:
            return text(lang(), f"trigger.{trigger}")
        return text(lang(), "trigger.other")

    def outcome(ok: bool, code: str | None, counts: tuple[int, int, int, int]) -> str:
        """A sync's outcome in the page's language, from its code and counts (never its
        stored message, which is in the language of the run, nor the code itself)."""
        created, updated, unchanged, failed_rows = counts
        if ok:
            done = text(lang(), "run.ok", created=created, updated=updated, count=unchanged)
            if failed_rows:
                done += " " + text(lang(), "run.failed_rows", count=failed_rows)
            return done
        short = (code or "error").removeprefix("sync.")
        if short in RUN_CODES:
            return text(lang(), f"run.{short}")
        return text(lang(), "run.failed")

    def run_result(run: polling.SyncRun) -> str:
        if run.finished_at is None:
            return text(lang(), "history.running")
        counts = (run.created, run.updated, run.unchanged, run.failed_rows)
        return outcome(bool(run.ok), run.code, counts)

    def sync_banner(job: SyncJob | None, runs: list[polling.SyncRun]) -> Banner | None:
        """The console's last sync (in the page's language), unless a later run ended; else
        the last run when it failed. A failure is gone once a later run succeeded."""
        latest = next((run for run in runs if polling.decisive(run)), None)
        ended = job.ended_at if job is not None else None
        if job is not None and ended is not None and (latest is None or latest.started_at <= ended):
            if job.failed or job.result is None:
                return Banner(False, text(lang(), "syncjob.failed"))
            result = job.result
            if job.lang == lang():
                return Banner(result.ok, result.message, tuple(result.warnings))
            counts = (result.created, result.updated, result.unchanged, result.failed_rows)
            return Banner(result.ok, outcome(result.ok, result.code, counts))
        if latest is not None and not latest.ok:
            message = text(
                lang(),
                "banner.failed",
                when=formatting.local_time(latest.started_at, lang(), console.zone),
                trigger=trigger_word(latest.trigger),
                reason=run_result(latest),
            )
            return Banner(False, message)
        return None

    @app.context_processor
    def helpers() -> dict[str, Any]:
        current = lang()
        zone = console.zone
        return {
            "when": lambda value, seconds=False: formatting.local_time(
                value, current, zone, seconds=seconds
            ),
            "money": lambda amount, currency: formatting.money(amount, currency, current),
            "trigger_word": trigger_word,
            "run_result": run_result,
            "lang": current,
            "t": lambda key, **values: text(current, key, **values),
            "ht": lambda key, **values: translate(key, current, **values),
            "label": lambda mapping: mapping.get(current) or next(iter(mapping.values()), ""),
            "codes": account_actions.marketplace_codes,
            "other_lang": "en" if current == "de" else "de",
            "tm": lambda key, **values: forms.marked(text, current, key, **values),
            "groups_of": forms.marketplace_groups,
            "setting_choice": setting_choice,
            "en": lambda name: Markup('<q class="amazon" lang="en">{}</q>').format(name),
        }

    @app.post("/lang")
    def switch_language() -> BaseResponse:
        wanted = request.form.get("lang", "")
        if wanted in LANGUAGES:
            session["lang"] = wanted
        return redirect(security.local_path(request.form.get("next", "/")))

    @app.get("/")
    def start() -> str:
        return render_template("start.html", connectors=list(console.connectors().values()))

    # ---------------------------------------------------------------------------- Accounts

    def polling_text(status: polling.AccountStatus, background: bool) -> str:
        """What is true of the account's background sync: off, paused (why and what to do),
        not running (no poller or worker), backed off (with the interval), or on."""
        if not status.polling:
            return text(lang(), "account.polling_off")
        if status.paused:
            last = next((run for run in status.history if polling.decisive(run)), None)
            reason = run_result(last) if last is not None else text(lang(), "run.auth_failed")
            return text(lang(), "account.polling_paused", reason=reason)
        if not background:
            return text(lang(), "account.polling_not_running", minutes=status.interval_minutes)
        if status.consecutive_failures:
            return text(
                lang(),
                "account.polling_backoff",
                minutes=status.effective_minutes,
                count=status.consecutive_failures,
                usual=status.interval_minutes,
            )
        on = text(lang(), "account.polling_on", count=status.interval_minutes)
        if status.next_run is not None:
            when = formatting.local_time(status.next_run, lang(), console.zone)
            on += " " + text(lang(), "account.next_run", when=when)
        return on

    def accounts_page(info: ConnectorInfo, **extra: Any) -> str:
        login = session.pop(LOGIN_RESULT, None)
        if isinstance(login, dict) and "login" not in extra:
            extra["login"] = LoginShown(**login)
            extra["login_account"] = login["account"]
        background = polling.background_running(console.host)
        found = polling.statuses(console.host, history=polling.RUNS_FOR_BACKOFF)
        return render_template(
            "accounts.html",
            info=info,
            accounts=console.accounts(info),
            statuses={s.account_id: s for s in found},
            polling_texts={s.account_id: polling_text(s, background) for s in found},
            background=background,
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
        kept = session.pop(FORM_KEPT, None)
        if isinstance(kept, dict) and kept.get("path") == request.path:
            # What the seller typed before the refusal (secrets never kept), with the errors.
            extra = {**extra, **{k: v for k, v in kept.items() if k != "path"}}
        values: dict[str, Any] = account_actions.form_values(account, info)
        # A new account's region: from its marketplaces (unless the seller chose one).
        extra.setdefault("region_derived", account is None and "values" not in extra)
        settings = "\n".join(account_actions.other_settings_lines(account, info)) if account else ""
        page = render_template(
            "account_form.html",
            info=info,
            account=account,
            values=extra.pop("values", values),
            name=extra.pop("name", account.name if account else ""),
            settings=extra.pop("settings", settings),
            setting_values=extra.pop(
                "setting_values", account_actions.setting_values(account, info)
            ),
            **extra,
        )
        return page, status

    def setting_choice(value: str) -> str:
        """A choice setting's value in the seller's words (its code when the console has
        none for it)."""
        return text(lang(), f"setting_choice.{value}") if value in SETTING_CHOICES else value

    def refusal(error: ServiceError) -> str:
        """A service's refusal in the request's language (in the console's words where it
        has its own)."""
        own = OWN_WORDS.get(error.text_id)
        return text(lang(), own) if own else translate(error.text_id, lang(), **error.params)

    outbox.register(app, console, lang, refusal)

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
        # The connector's settings as labelled fields (empty: its default), over the lines of
        # "Weitere Einstellungen"; both checked by the service, as the CLI's --setting.
        fields = {s.key: form.get(f"setting-{s.key}", "").strip() for s in info.settings}
        try:
            given = AccountForm(
                name=name,
                values=values,
                settings={
                    **account_actions.parse_settings(settings_text.splitlines()),
                    **{key: value for key, value in fields.items() if value},
                },
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
            # Post/Redirect/Get: back to the form, which shows what was typed (never a
            # secret) and what to correct.
            session[FORM_KEPT] = {
                "path": request.path,
                "values": {k: ("" if forms.secret(info, k) else v) for k, v in values.items()},
                "name": name,
                "settings": settings_text,
                "setting_values": fields,
                "errors": {
                    forms.error_field(exc, fields): forms.setting_refusal(info, exc, fields, lang())
                    or refusal(exc)
                },
            }
            return redirect(request.path)
        flash(text(lang(), "account.saved", name=account.name), "ok")
        return redirect(url_for("accounts", connector_id=info.id))

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
            if request.method == "POST":
                flash(text(lang(), "account.damaged_help", name=stored.name), "failed")
                return redirect(url_for("accounts", connector_id=info.id))
            return damaged(info, stored), 409
        account = console.account(info, account_id)
        if request.method == "POST":
            return save_account(info, account)
        return account_form(info, account)

    @app.get("/c/<connector_id>/accounts/<account_id>/remove")
    def ask_remove(connector_id: str, account_id: str) -> str:
        """ "Entfernen" asks first: what would go (counted by the service) and the account's
        name to type."""
        info = console.connector(connector_id)
        account = console.stored(info, account_id)  # a damaged one too
        facts = account_actions.removal_facts(console.host, account.id)
        return render_template("remove.html", info=info, account=account, facts=facts)

    @app.post("/c/<connector_id>/accounts/<account_id>/remove")
    def remove_account(connector_id: str, account_id: str) -> BaseResponse:
        """ "Entfernen": destroys the account's orders and history, so only the confirming
        form removes, with the account's name typed exactly; then back to the accounts."""
        info = console.connector(connector_id)
        account = console.stored(info, account_id)  # a damaged one too
        typed = request.form.get("confirm_name", "")
        if typed.strip() != account.name:
            if typed:
                refused = translate("console.remove.name_mismatch", lang(), name=account.name)
                flash(refused, "failed")
            return redirect(url_for("ask_remove", connector_id=info.id, account_id=account.id))
        job = console.jobs.get(account.id)
        if job is not None:
            job.cancel.set()
        try:
            removed = account_actions.remove_named(console.host, account.id, typed_name=typed)
        except ServiceError as exc:  # removed, but old copies stayed: say so, never "removed"
            console.jobs.forget(account.id)
            flash(refusal(exc), "failed")
            return redirect(url_for("accounts", connector_id=info.id))
        console.jobs.forget(account.id)
        flash(text(lang(), "account.removed", name=removed.name), "ok")
        return redirect(url_for("accounts", connector_id=info.id))

    @app.post("/c/<connector_id>/accounts/<account_id>/login")
    def test_login(connector_id: str, account_id: str) -> BaseResponse:
        """ "Anmeldung testen": the result is shown once on the accounts page (a reload of
        that page tests nothing again)."""
        info = console.connector(connector_id)
        back = redirect(url_for("accounts", connector_id=info.id))
        if (stored := console.stored(info, account_id)).damaged:
            flash(text(lang(), "account.damaged_help", name=stored.name), "failed")
            return back
        account = console.account(info, account_id)
        result = runs.login_test(console.host, account.id, lang=lang())
        session[LOGIN_RESULT] = {
            "ok": result.ok,
            "message": result.message,
            "warnings": list(result.warnings),
            "account": account.id,
            "needs_reauthorization": result.needs_reauthorization,
        }
        return back

    @app.get("/c/<connector_id>/help/credentials")
    def credentials_help(connector_id: str) -> str:
        """ "Zugangsdaten von Amazon holen": the account form's fields, step by step."""
        info = console.connector(connector_id)
        return render_template("credentials.html", info=info)

    # ---------------------------------------------------------------------------- Bestellungen

    @app.get("/c/<connector_id>/orders")
    def orders(connector_id: str) -> str:
        """The order list: open orders newest first unless the query string (filter, days,
        search, sort, page: ``OrderQuery``) says otherwise; links keep it."""
        info = console.connector(connector_id)
        accounts = console.accounts(info)
        chosen = request.args.get("account") or (accounts[0].id if accounts else None)
        account = console.account(info, chosen) if chosen else None
        extra: dict[str, Any] = {}
        if account is not None:
            query = OrderQuery.from_args(request.args)
            page = order_reads.find_orders(
                console.host,
                account.id,
                query,
                zone=console.zone,
                marketplace_code=account_actions.marketplace_codes(info),
            )
            job = console.jobs.get(account.id)
            history = polling.history(console.host, account.id, limit=HISTORY_SHOWN)
            extra = {
                "page": page,
                "query": page.query,
                "job": job,
                "pacing": pacing_text(account.id),
                "banner": sync_banner(job, history),
                "problems": problems.open_problems(console.host, account.id),
                "runs": history,
            }
        return render_template(
            "orders.html",
            info=info,
            accounts=accounts,
            account=account,
            statuses=list(OrderStatus),
            sort_keys=list(SortKey),
            buyer=order_reads.buyer,
            **extra,
        )

    @app.post("/c/<connector_id>/orders/<account_id>/sync")
    def sync(connector_id: str, account_id: str) -> BaseResponse:
        info = console.connector(connector_id)
        account = console.account(info, account_id)
        running = console.jobs.get(account.id)
        if (running is None or running.finished.is_set()) and pacing_text(account.id):
            flash(text(lang(), "pacing.refused"), "failed")  # nothing asked of Amazon
        else:
            console.jobs.start(account.id, lang())
        return redirect(url_for("orders", connector_id=info.id, account=account.id))

    def pacing_text(account_id: str) -> str | None:
        """When the next useful sync is possible and why (None: now)."""
        wait = runs.pacing(console.host, account_id)
        if wait is None:
            return None
        return text(
            lang(),
            f"pacing.{wait.reason}",
            ended=formatting.local_time(wait.last_ended, lang(), console.zone),
            next=formatting.local_time(wait.next_useful, lang(), console.zone),
        )

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
        # "Korrigieren" of a refused package: the form holds that package's values.
        wanted = request.args.get("correct", "")
        correcting = next(
            (
                p
                for p in detail.packages
                if p.state == "refused" and str(p.shipment.package_id) == wanted
            ),
            None,
        )
        left = dict(detail.left)
        if correcting is not None:
            left.update({i.order_item_id: i.quantity for i in correcting.shipment.items})
        return render_template(
            "order.html",
            info=info,
            account=account,
            query=OrderQuery.from_args(request.args),
            order=detail.order,
            packages=detail.packages,
            left=left,
            shipped_now=order_reads.shipped_by_packages(detail),
            correcting=correcting,
            known_carriers={c.value for c in info.carriers},
            today=datetime.now(UTC).date().isoformat(),
            ship_token=secrets.token_urlsafe(16),  # one per form: a double submit sends it twice
            invoices=invoicing.list_invoices(
                console.host, account.name, amazon_order_id=detail.order.amazon_order_id
            ),
            document_types=invoicing.DOCUMENT_TYPES,
        )

    @app.post("/c/<connector_id>/orders/<account_id>/order/<order_id>/ship")
    def ship(connector_id: str, account_id: str, order_id: str) -> BaseResponse:
        """ "Versand bestätigen": the shipment goes to the outbox and to Amazon at once,
        exactly once: the form's one-time token sent again (a double submit, a reload) shows
        the first submit's outcome and sends nothing."""
        info = console.connector(connector_id)
        account = console.account(info, account_id)
        found = order_reads.get_order(console.host, account.id, order_id)
        if found is None:
            abort(404)
        form = request.form
        token = form.get("ship_token", "").strip()
        if not token or len(token) > MAX_SHIP_TOKEN:
            abort(400)
        package = form.get("package_id", "").strip() or "0"
        if not package.isdigit():
            abort(400)
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
                package_id=int(package),  # a refused package corrected: sent again as it
                lang=lang(),
                request_token=token,
            )
        except ServiceError as exc:  # a carrier, name, method or tracking number unusable
            flash(refusal(exc), "failed")
        except ValueError as exc:  # a date, carrier or item the seller must correct
            flash(error_text(exc, lang()), "failed")
        else:
            flash(outcome.message, outcome.state.value)
        return redirect(
            url_for("order", connector_id=info.id, account_id=account.id, order_id=order_id)
        )

    @app.post("/c/<connector_id>/orders/<account_id>/problems/<int:problem_id>/ignore")
    def ignore_problem(connector_id: str, account_id: str, problem_id: int) -> BaseResponse:
        """ "Ignorieren": the problem (with or without an order) is given up; back to the
        list as it was, with what happened."""
        info = console.connector(connector_id)
        account = console.account(info, account_id)
        listed = problems.open_problems(console.host, account.id)
        if not any(p.problem.id == problem_id for p in listed):
            flash(text(lang(), "problems.gone"), "failed")
        else:
            ignored = problems.dismiss(console.host, problem_id)
            order_id = ignored.amazon_order_id
            if order_id:
                flash(text(lang(), "problems.ignored_order", id=order_id), "ok")
            else:
                flash(text(lang(), "problems.ignored_row"), "ok")
        args: dict[str, Any] = {
            "account": account.id,
            **OrderQuery.from_args(request.args).as_args(),
        }
        return redirect(url_for("orders", connector_id=info.id, **args))

    forms.add_landings(app)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        """Every refusal as a page of the console in its language (never Werkzeug's English
        page): not found, method not allowed, bad request."""
        code = error.code or 500
        return render_template("error.html", code=code), code

    @app.errorhandler(Exception)
    def server_error(exc: Exception) -> tuple[str, int]:
        # Its type only: an exception's text can carry what a page showed.
        log.error("console page %s failed: %s", request.path, type(exc).__name__)
        return render_template("error.html", code=500), 500

    return app
