"""The console's sessions, kept in the console's process: the cookie holds only a random id.

A session starts when the printed address's one-time token is exchanged, ends with
"Abmelden" (logout), after ``idle_timeout`` without a request, and with the process. Its
CSRF token, language and flashed messages stay on the server, so a cookie seen by someone
else (browsers send it to every port of 127.0.0.1) carries nothing but the id. Ids are kept
as their SHA-256 digests: a lookup's time tells nothing about a stored id.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import Flask, Request, Response
from flask.sessions import SessionInterface, SessionMixin

IDLE_TIMEOUT = timedelta(minutes=30)
Clock = Callable[[], float]  # seconds, like time.monotonic


class ServerSession(dict[str, Any], SessionMixin):
    """Flask's ``session`` of one request: a logged-in browser's stored session (``key`` set),
    or an empty one for a request without a live session (nothing written to it is kept);
    ``expired`` tells a session that timed out from no session at all."""

    modified = False

    def __init__(self, key: bytes | None = None, *, expired: bool = False) -> None:
        super().__init__()
        self.key = key
        self.expired = expired
        self.last_seen = 0.0

    @property
    def live(self) -> bool:
        return self.key is not None


class SessionStore:
    """The live sessions of one console, thread-safe."""

    def __init__(self, idle_timeout: timedelta = IDLE_TIMEOUT, clock: Clock = time.monotonic):
        if idle_timeout <= timedelta(0):
            raise ValueError("the idle timeout must be positive")
        self.idle = idle_timeout.total_seconds()
        self.clock = clock
        self._sessions: dict[bytes, ServerSession] = {}
        self._lock = threading.Lock()

    def start(self) -> tuple[str, ServerSession]:
        """A new session and the id its cookie carries (never one used before)."""
        session_id = secrets.token_urlsafe(32)
        session = ServerSession(_digest(session_id))
        with self._lock:
            self._sweep()
            session.last_seen = self.clock()
            self._sessions[_digest(session_id)] = session
        return session_id, session

    def find(self, session_id: str | None) -> ServerSession:
        """The live session of ``session_id``, else an empty one (``expired`` if it timed
        out just now). Finding does not count as activity: see ``touch``."""
        if not session_id:
            return ServerSession()
        key = _digest(session_id)
        with self._lock:
            session = self._sessions.get(key)
            if session is None:
                return ServerSession()
            if self._idle(session):
                del self._sessions[key]
                return ServerSession(expired=True)
            return session

    def touch(self, session: ServerSession) -> None:
        """A request of ``session`` passed the console's checks: its idle time starts anew."""
        with self._lock:
            session.last_seen = self.clock()

    def end(self, session: ServerSession) -> None:
        """Logout: the session and its id are gone."""
        if session.key is None:
            return
        with self._lock:
            self._sessions.pop(session.key, None)
        session.clear()
        session.key = None

    def __len__(self) -> int:
        with self._lock:
            self._sweep()
            return len(self._sessions)

    def _idle(self, session: ServerSession) -> bool:
        return self.clock() - session.last_seen >= self.idle

    def _sweep(self) -> None:
        for key in [k for k, s in self._sessions.items() if self._idle(s)]:
            del self._sessions[key]


class ServerSessionInterface(SessionInterface):
    """Flask's ``session`` from the store, by the id in the cookie ``cookie_name``; the
    cookie itself is set when a token is exchanged and removed on logout (``security``)."""

    def __init__(self, store: SessionStore, cookie_name: str) -> None:
        self.sessions = store
        self.cookie_name = cookie_name

    def open_session(self, app: Flask, request: Request) -> ServerSession:
        return self.sessions.find(request.cookies.get(self.cookie_name))

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        return None  # the stored session is the one the request changed


def _digest(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()
