"""The console's guards: access token for a session cookie, Host check, CSRF, headers.

As Jupyter does, the console prints a URL with a random token; opening it exchanges the token
for an HttpOnly, SameSite=Strict session cookie and redirects to the same page without it.
Without the token or its cookie nothing of the seller's is shown.
"""

from __future__ import annotations

import hmac
import secrets
import unicodedata
from collections.abc import Collection
from urllib.parse import urljoin, urlsplit

from flask import Flask, Response, redirect, render_template, request, session
from werkzeug.urls import iri_to_uri
from werkzeug.wrappers.response import Response as BaseResponse

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
PUBLIC_PREFIX = "/static/"
_BASE = "http://console.invalid/"  # stands for the console's own origin in local_path


def install(app: Flask, *, access_token: str, allowed_hosts: Collection[str]) -> None:
    """Guard every request of ``app``: Host header, token or session, CSRF on every POST."""
    app.secret_key = secrets.token_bytes(32)
    app.config.update(
        SESSION_COOKIE_NAME="hyreka_console",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
    )
    hosts = frozenset(h.lower() for h in allowed_hosts)

    @app.before_request
    def guard() -> BaseResponse | tuple[str, int] | None:
        if request.host.lower() not in hosts:  # DNS rebinding: a foreign name for our address
            return "unknown host", 400
        given = request.args.get("token")
        if given is not None:
            if not hmac.compare_digest(given.encode(), access_token.encode()):
                return _refused("denied", 403)
            session.clear()
            session["auth"] = True
            session["csrf"] = secrets.token_urlsafe(32)
            return redirect(request.path)  # the token leaves the address bar and the history
        if request.path.startswith(PUBLIC_PREFIX):
            return None
        if not session.get("auth"):
            return _refused("denied", 403)
        if request.method == "POST":
            sent = request.form.get("csrf_token", "")
            if not hmac.compare_digest(sent.encode(), str(session.get("csrf", "")).encode()):
                return _refused("csrf", 400)
        return None

    @app.after_request
    def headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.context_processor
    def csrf() -> dict[str, str]:
        return {"csrf_token": str(session.get("csrf", ""))}


def _refused(kind: str, status: int) -> tuple[str, int]:
    return render_template("refused.html", kind=kind), status


def local_path(target: str, fallback: str = "/") -> str:
    r"""``target`` if it is one of the console's own paths (with its query), else ``fallback``.

    Browsers drop tabs and line breaks inside a URL and read a backslash as a slash, so
    ``/\t/evil.example/`` and ``/\evil.example`` lead to another site: control, format and
    white-space characters are removed first, then only a path that starts with one ``/``
    (not ``//`` or ``/\``) and stays on the console's origin when resolved is kept, as a URI.
    """
    cleaned = "".join(ch for ch in target if unicodedata.category(ch)[0] not in "CZ")
    if not cleaned.startswith("/") or cleaned.startswith(("//", "/\\")):
        return fallback
    resolved = urlsplit(urljoin(_BASE, cleaned))
    base = urlsplit(_BASE)
    if (resolved.scheme, resolved.netloc) != (base.scheme, base.netloc):
        return fallback
    return iri_to_uri(cleaned)
