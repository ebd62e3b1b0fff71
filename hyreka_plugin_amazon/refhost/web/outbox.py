"""The order page's outbox forms beside "Versand bestätigen": "Rechnung hochladen" and
"Zurückziehen" of a refused invoice (``services.invoicing``) or of a refused package
(``services.shipping``); each POST ends in a redirect to the order's page."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Flask, abort, flash, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from hyreka_plugin_amazon.outbox import MAX_INVOICE_PDF_BYTES
from hyreka_plugin_amazon.refhost.i18n.texts import translate
from hyreka_plugin_amazon.refhost.services import invoicing, shipping
from hyreka_plugin_amazon.refhost.services import orders as order_reads
from hyreka_plugin_amazon.refhost.services.errors import ServiceError
from hyreka_plugin_amazon.refhost.services.errors import text as error_text

if TYPE_CHECKING:
    from hyreka_plugin_amazon.refhost.web.console import Console


def register(
    app: Flask,
    console: Console,
    lang: Callable[[], str],
    refusal: Callable[[ServiceError], str],
) -> None:
    """Add the outbox forms to the console's ``app`` (``lang`` and ``refusal``: the
    request's language and a service refusal in its words, as the console says them)."""
    app.config["MAX_CONTENT_LENGTH"] = MAX_INVOICE_PDF_BYTES + 64 * 1024  # an invoice's PDF

    @app.post("/c/<connector_id>/orders/<account_id>/order/<order_id>/invoice")
    def upload_invoice(connector_id: str, account_id: str, order_id: str) -> BaseResponse:
        """ "Rechnung hochladen": the PDF goes to the outbox and to Amazon at once, exactly
        once (order, number and type are the invoice: the same form again sends nothing new)."""
        info = console.connector(connector_id)
        account = console.account(info, account_id)
        if order_reads.get_order(console.host, account.id, order_id) is None:
            abort(404)
        form = request.form
        upload = request.files.get("file")
        try:
            done = invoicing.upload(
                console.host,
                order_id,
                pdf=upload.read(MAX_INVOICE_PDF_BYTES + 1) if upload else None,
                number=form.get("number", ""),
                document_type=form.get("document_type", "invoice"),
                transaction_id=form.get("transaction_id", "").strip() or None,
                account_name=account.name,
                lang=lang(),
            )
        except ServiceError as exc:
            flash(refusal(exc), "invoice-failed")
        except ValueError as exc:
            flash(error_text(exc, lang()), "invoice-failed")
        else:
            flash(done.outcome.message, f"invoice-{done.outcome.state.value}")
        target = url_for("order", connector_id=info.id, account_id=account.id, order_id=order_id)
        return redirect(f"{target}#invoice")

    @app.post("/c/<connector_id>/orders/<account_id>/order/<order_id>/invoice/withdraw")
    def withdraw_invoice(connector_id: str, account_id: str, order_id: str) -> BaseResponse:
        """A refused invoice withdrawn instead of corrected: it leaves the outbox."""
        info = console.connector(connector_id)
        account = console.account(info, account_id)
        form = request.form
        try:
            invoicing.withdraw(
                console.host,
                order_id,
                number=form.get("number", ""),
                document_type=form.get("document_type", "invoice"),
                account_name=account.name,
            )
        except ServiceError as exc:
            flash(refusal(exc), "invoice-failed")
        else:
            number = form.get("number", "")
            flash(
                translate("cli.invoice.withdrawn", lang(), order=order_id, number=number),
                "invoice-accepted",
            )
        target = url_for("order", connector_id=info.id, account_id=account.id, order_id=order_id)
        return redirect(f"{target}#invoice")

    @app.get("/c/<connector_id>/orders/<account_id>/order/<order_id>/invoice")
    @app.get("/c/<connector_id>/orders/<account_id>/order/<order_id>/invoice/withdraw")
    def invoice_page(connector_id: str, account_id: str, order_id: str) -> BaseResponse:
        """After Back or a reload: the order's page, not "Method Not Allowed"."""
        target = url_for(
            "order", connector_id=connector_id, account_id=account_id, order_id=order_id
        )
        return redirect(f"{target}#invoice")

    @app.post(
        "/c/<connector_id>/orders/<account_id>/order/<order_id>/package/<int:package>/withdraw"
    )
    def withdraw_package(
        connector_id: str, account_id: str, order_id: str, package: int
    ) -> BaseResponse:
        """A refused package withdrawn instead of corrected: it leaves the outbox."""
        info = console.connector(connector_id)
        account = console.account(info, account_id)
        try:
            shipping.withdraw(console.host, order_id, package, account_name=account.name)
        except ServiceError as exc:
            flash(refusal(exc), "failed")
        else:
            flash(
                translate("cli.ship.withdrawn", lang(), order=order_id, package=package),
                "confirmed",
            )
        return redirect(
            url_for("order", connector_id=info.id, account_id=account.id, order_id=order_id)
        )

    @app.get(
        "/c/<connector_id>/orders/<account_id>/order/<order_id>/package/<int:package>/withdraw"
    )
    def package_page(
        connector_id: str, account_id: str, order_id: str, package: int
    ) -> BaseResponse:
        """After Back or a reload: the order's page."""
        return redirect(
            url_for("order", connector_id=connector_id, account_id=account_id, order_id=order_id)
        )
