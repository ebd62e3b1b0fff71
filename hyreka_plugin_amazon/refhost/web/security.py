"""The console's guards: a one-time token for a session, Host check, CSRF, headers.

As Jupyter does, the console prints a URL with a random token; opening it exchanges the token
for a session and redirects to the same page without it. The token works once: a second
exchange is refused (``hyreka-amazon web`` prints a fresh address on request). The session
is kept on the server (``sessions``); its cookie (HttpOnly, SameSite=Strict, named after
the console's port) carries only a random id, and the session ends with "Abmelden", after
its idle timeout, or with the process. Without a live session nothing of the seller's is
shown. On Linux only the console's own operating system user gets an answer: the user at
the other end of each connection is read from the kernel's TCP table (``peers``), and
another user's connection is refused with 403 before anything else. Browsers send the
cookie to every port of 127.0.0.1 and count all of them as one site, so requests that
another origin's page makes a browser send are refused too, except a plain page load
(Fetch Metadata), and every POST needs the session's CSRF token.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import socket
import threading
import unicodedata
import weakref
from collections.abc import Collection
from datetime import timedelta
from urllib.parse import urljoin, urlsplit

from flask import Flask, Response, make_response, redirect, render_template, request, session
from werkzeug.urls import iri_to_uri
from werkzeug.wrappers.response import Response as BaseResponse

from hyreka_plugin_amazon.refhost.web import peers
from hyreka_plugin_amazon.refhost.web.sessions import (
    IDLE_TIMEOUT,
    Clock,
    ServerSession,
    ServerSessionInterface,
    SessionStore,
)

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
LOGGED_OUT = "/logged-out"  # the page "Abmelden" redirects to: shown without a session
# Amazon's redirect back to the console comes without the Strict cookie (web/connect.py)
OPEN_PATH = re.compile(r"/c/[A-Za-z0-9_.-]+/connect/callback")
COOKIE = "hyreka_console"  # serving.serve appends the port: two consoles keep their sessions
_BASE = "http://console.invalid/"  # stands for the console's own origin in local_path


class Gate:
    """The console's way in: the one-time access token and the sessions it opens."""

    def __init__(self, idle_timeout: timedelta = IDLE_TIMEOUT, clock: Clock | None = None):
        self.sessions = (
            SessionStore(idle_timeout) if clock is None else SessionStore(idle_timeout, clock)
        )
        self._token: bytes | None = None
        self._lock = threading.Lock()

    def issue(self, token: str | None = None) -> str:
        """A new access token (random unless given); an earlier unused one stops working."""
        token = token or secrets.token_urlsafe(32)
        with self._lock:
            self._token = hashlib.sha256(token.encode()).digest()
        return token

    def redeem(self, given: str) -> bool:
        """Whether ``given`` is the current token; it is spent by the first exchange."""
        digest = hashlib.sha256(given.encode()).digest()
        with self._lock:
            if self._token is None or not hmac.compare_digest(digest, self._token):
                return False
            self._token = None
            return True


def install(
    app: Flask, *, gate: Gate, allowed_hosts: Collection[str], cookie_name: str = COOKIE
) -> None:
    """Guard every request of ``app``: Host header, token or session, CSRF on every POST;
    and the route ``/logout``."""
    app.session_interface = ServerSessionInterface(gate.sessions, cookie_name)
    hosts = frozenset(h.lower() for h in allowed_hosts)
    users: weakref.WeakKeyDictionary[socket.socket, peers.Verdict] = weakref.WeakKeyDictionary()
    users_lock = threading.Lock()

    def another_user() -> bool:
        """Whether this request's connection comes from another user of this machine (its
        verdict kept with the connection, which may carry several requests)."""
        connection = request.environ.get("werkzeug.socket")
        if not isinstance(connection, socket.socket):  # no connection: Flask's test client
            return False
        with users_lock:
            verdict = users.get(connection)
        if verdict is None:
            verdict = peers.verdict(connection)
            with users_lock:
                users[connection] = verdict
        return verdict is peers.Verdict.OTHER_USER

    @app.before_request
    def guard() -> BaseResponse | tuple[str, int] | None:
        if another_user():
            return _refused("user", 403)
        if request.host.lower() not in hosts:  # DNS rebinding: a foreign name for our address
            return "unknown host", 400
        if _from_another_site():
            return _refused("denied", 403)
        given = request.args.get("token")
        if given is not None:
            if not gate.redeem(given):
                return _refused("denied", 403)
            session_id, fresh = gate.sessions.start()
            fresh["csrf"] = secrets.token_urlsafe(32)
            answer = redirect(request.path)  # the token leaves the address bar and history
            answer.set_cookie(cookie_name, session_id, path="/", httponly=True, samesite="Strict")
            return answer
        if (
            request.path.startswith(PUBLIC_PREFIX)
            or request.path == LOGGED_OUT
            or OPEN_PATH.fullmatch(request.path)
        ):
            return None
        live = current()
        if not live.live:
            refusal = make_response(
                _refused("expired", 403) if live.expired else _refused("denied", 403)
            )
            refusal.delete_cookie(cookie_name, path="/", httponly=True, samesite="Strict")
            return refusal
        if request.method == "POST":
            sent = request.form.get("csrf_token", "")
            if not hmac.compare_digest(sent.encode(), str(live.get("csrf", "")).encode()):
                return _refused("csrf", 400)
        gate.sessions.touch(live)
        return None

    @app.post("/logout")
    def logout() -> BaseResponse:
        """ "Abmelden": the session ends; Post/Redirect/Get to a page that says so (a reload
        of it posts nothing)."""
        gate.sessions.end(current())
        answer = redirect(LOGGED_OUT)
        answer.delete_cookie(cookie_name, path="/", httponly=True, samesite="Strict")
        return answer

    @app.get(LOGGED_OUT)
    def logged_out() -> tuple[str, int]:
        return _refused("loggedout", 200)

    @app.get("/logout")
    def logout_page() -> BaseResponse:
        """A GET of "Abmelden"'s address (Back, a reload): the start page, logged in still."""
        return redirect("/")

    @app.after_request
    def headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    @app.context_processor
    def csrf() -> dict[str, str]:
        return {"csrf_token": str(current().get("csrf", ""))}


def current() -> ServerSession:
    """This request's session (Flask's ``session``, from the console's store)."""
    found = session._get_current_object()  # type: ignore[attr-defined]
    assert isinstance(found, ServerSession)
    return found


def _from_another_site() -> bool:
    """A request that a page of another origin made the browser send (Fetch Metadata): a
    page on another port of 127.0.0.1 is "same-site" and gets the cookie, so only a plain
    page load is let through (it shows the console to the browser's user, never to the
    page). Browsers without Fetch Metadata and non-browsers send no such header."""
    site = request.headers.get("Sec-Fetch-Site", "")
    if site not in ("same-site", "cross-site"):
        return False
    load = request.method in ("GET", "HEAD") and request.headers.get("Sec-Fetch-Mode") in (
        "navigate",
        None,
    )
    return not (load and request.headers.get("Sec-Fetch-Dest", "document") == "document")


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
