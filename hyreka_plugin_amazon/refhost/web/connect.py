"""The console's "Mit Amazon verbinden" (Connect with Amazon): Amazon's website authorization
workflow, through ``services.connecting``.

The new-account page offers it beside the manual form when the vendor's app is configured
(``Console.vendor_app``). The seller names the account and picks region and marketplaces;
``POST /c/<id>/connect`` keeps the pending consent (its ``state``) in the seller's session
and answers with a page that sends the browser on to the consent page. Amazon sends it back
to the redirect URI, ``GET /c/<id>/connect/callback``: that request may come without the
session cookie (the cookie is SameSite=Strict and Amazon is another site), so it needs no
session and only keeps Amazon's answer under a random one-time ticket, and a page of the
console's own then loads ``/c/<id>/connect/finish`` with the cookie: there the state is
checked against the session's, the code exchanged, the account stored and "Anmeldung
testen" run at once. The outcome is shown on ``/c/<id>/connect/done`` (Post/Redirect/Get:
the code and the ticket leave the address bar). An account Amazon no longer accepts offers
"Erneut verbinden" (Reconnect).
"""

from __future__ import annotations

import secrets
import threading
import time
from typing import TYPE_CHECKING, Any

from flask import Flask, redirect, render_template, request, session, url_for
from werkzeug.wrappers.response import Response as BaseResponse

from hyreka_plugin_amazon.refhost.i18n.texts import DEFAULT_LOCALE, LANGUAGES, translate
from hyreka_plugin_amazon.refhost.services import connecting, runs
from hyreka_plugin_amazon.refhost.services.accounts import AccountForm
from hyreka_plugin_amazon.refhost.services.errors import ServiceError

if TYPE_CHECKING:
    from hyreka_plugin_amazon.refhost.web.console import Console

PENDING = "connect_pending"  # the session's key of the pending consent
DONE = "connect_done"  # the session's key of the outcome to show once
TICKET_LIFETIME_S = 300.0
MAX_TICKETS = 64  # answers waiting for their browser: a flood cannot grow the store
CALLBACK_ANSWER = ("state", "selling_partner_id", "spapi_oauth_code", "error")


class Tickets:
    """Amazon's answers waiting for the seller's browser to come back with its session."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._answers: dict[str, tuple[float, dict[str, str]]] = {}

    def keep(self, answer: dict[str, str]) -> str:
        ticket = secrets.token_urlsafe(24)
        now = time.monotonic()
        with self._lock:
            live = {k: v for k, v in self._answers.items() if now - v[0] < TICKET_LIFETIME_S}
            self._answers = dict(list(live.items())[-(MAX_TICKETS - 1) :])
            self._answers[ticket] = (now, answer)
        return ticket

    def take(self, ticket: str) -> dict[str, str]:
        """The answer kept under ``ticket``, once (empty: none, or too old)."""
        with self._lock:
            found = self._answers.pop(ticket, None)
        if found is None or time.monotonic() - found[0] >= TICKET_LIFETIME_S:
            return {}
        return found[1]


def register(app: Flask, console: Console) -> None:
    """Add the connect pages to the console's ``app``."""
    tickets = Tickets()

    def lang() -> str:
        chosen = session.get("lang", console.lang)
        return chosen if chosen in LANGUAGES else DEFAULT_LOCALE

    def redirect_uri(connector_id: str) -> str:
        base = console.public_url or request.host_url
        return base.rstrip("/") + connecting.callback_path(connector_id)

    def refusal(error: ServiceError) -> str:
        return translate(error.text_id, lang(), **error.params)

    def to_consent(url: str) -> str:
        """A page that sends the browser on to Amazon's consent page: a redirect answering
        the form would break the form page's ``form-action 'self'``; a page's refresh is a
        navigation of its own."""
        return render_template("connect_return.html", target=url, words="leaving")

    def vendor_app() -> connecting.VendorApp:
        app_ = console.vendor_app
        if app_ is None:
            raise ServiceError("connect.app_incomplete", env=connecting.APP_ID_ENV)
        return app_

    @app.context_processor
    def connect_context() -> dict[str, Any]:
        return {"connect_available": console.vendor_app is not None}

    @app.post("/c/<connector_id>/connect")
    def connect_start(connector_id: str) -> str | tuple[str, int]:
        info = console.connector(connector_id)
        form = request.form
        name = form.get("name", "")
        values: dict[str, str | list[str]] = {
            "region": form.get("region", ""),
            "marketplaces": form.getlist("marketplaces"),
        }
        given = AccountForm(
            name=name,
            values=values,
            endpoint=console.endpoint,
            token_url=console.token_url,
            connector=info.id,
        )
        try:
            pending, url = connecting.begin(
                console.host,
                vendor_app(),
                given,
                redirect_uri=redirect_uri(info.id),
                locale=lang(),
            )
        except ServiceError as exc:
            page = render_template(
                "account_form.html",
                info=info,
                account=None,
                values=values,
                name=name,
                settings="",
                connect_errors={exc.field or "name": refusal(exc)},
            )
            return page, 400
        session[PENDING] = {**pending.as_dict(), "redirect_uri": redirect_uri(info.id)}
        return to_consent(url)

    @app.post("/c/<connector_id>/accounts/<account_id>/reconnect")
    def connect_again(connector_id: str, account_id: str) -> BaseResponse | str:
        """ "Erneut verbinden": the same consent for an account Amazon no longer accepts;
        its orders and settings stay."""
        info = console.connector(connector_id)
        account = console.stored(info, account_id)
        try:
            pending, url = connecting.begin(
                console.host,
                vendor_app(),
                AccountForm(connector=info.id),
                redirect_uri=redirect_uri(info.id),
                reconnect=account.id,
                locale=lang(),
            )
        except ServiceError as exc:
            session[DONE] = {"error": refusal(exc)}
            return redirect(url_for("connect_done", connector_id=info.id))
        session[PENDING] = {**pending.as_dict(), "redirect_uri": redirect_uri(info.id)}
        return to_consent(url)

    @app.get("/c/<connector_id>/connect/callback")
    def connect_callback(connector_id: str) -> str:
        """Amazon's redirect (no session needed, see the module): its answer kept under a
        ticket, then the console's own page loads ``finish`` with the seller's session."""
        answer = {k: request.args.get(k, "")[:2048] for k in CALLBACK_ANSWER if k in request.args}
        ticket = tickets.keep(answer)
        target = url_for("connect_finish", connector_id=connector_id, ticket=ticket)
        return render_template("connect_return.html", target=target, words="returning")

    @app.get("/c/<connector_id>/connect/finish")
    def connect_finish(connector_id: str) -> BaseResponse:
        info = console.connector(connector_id)
        answer = tickets.take(request.args.get("ticket", ""))
        kept = session.pop(PENDING, None)  # a state works once, whatever comes of it
        pending = connecting.Pending.from_dict(kept) if isinstance(kept, dict) else None
        try:
            if pending is None or pending.connector != info.id:
                raise ServiceError("connect.wrong_state")
            account = connecting.finish(
                console.host,
                vendor_app(),
                pending,
                answer,
                redirect_uri=str(kept["redirect_uri"]) if kept else "",
                endpoint=console.endpoint,
                token_url=console.token_url,
                locale=lang(),
            )
        except ServiceError as exc:
            session[DONE] = {"error": refusal(exc)}
        else:
            login = runs.login_test(console.host, account.id, lang=lang())
            session[DONE] = {
                "name": account.name,
                "account": account.id,
                "ok": login.ok,
                "message": login.message,
                "warnings": list(login.warnings),
            }
        return redirect(url_for("connect_done", connector_id=info.id))

    @app.get("/c/<connector_id>/connect/done")
    def connect_done(connector_id: str) -> BaseResponse | str:
        info = console.connector(connector_id)
        outcome = session.pop(DONE, None)
        if not isinstance(outcome, dict):
            return redirect(url_for("accounts", connector_id=info.id))
        return render_template("connect_done.html", info=info, outcome=outcome)
