"""The threaded HTTP server of the simulator: it turns each HTTP request into a ``Request``,
hands it to the application (the ``Simulator``) and writes the ``Response`` back."""

from __future__ import annotations

import sys
import uuid
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol
from urllib.parse import parse_qs, urlsplit

from hyreka_plugin_amazon.simulator.clock import SimClock
from hyreka_plugin_amazon.simulator.vocabulary import Request, Response


class Application(Protocol):
    """What the server serves: looked up on every request, so a wrapped ``dispatch`` counts."""

    @property
    def clock(self) -> SimClock: ...

    def dispatch(self, req: Request) -> Response | None:
        """Answer one request (None drops the connection)."""
        ...


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sim: Application) -> None:
        self.sim = sim
        super().__init__(address, RequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (timeouts, dropped connections) is no server error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class RequestHandler(BaseHTTPRequestHandler):
    """Turns each HTTP request into a ``Request`` for the simulator and writes its response."""

    server: SimHTTPServer
    protocol_version = "HTTP/1.1"
    wbufsize = 1 << 16  # one write per response: avoids Nagle + delayed-ACK stalls

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def version_string(self) -> str:
        return "Server"  # what Amazon's gateway answers

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: request lines can carry ids, and nobody reads a test server's log."""

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The ``Date`` header follows the simulator clock, as clients may sync to it."""
        return format_datetime(self.server.sim.clock.now(), usegmt=True)

    def _handle(self, method: str) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=method,
            path=split.path,
            query=parse_qs(split.query, keep_blank_values=True),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=self.rfile.read(length) if length else b"",
            request_id=str(uuid.uuid4()),
        )
        response = self.server.sim.dispatch(request)
        if response is None:  # the simulator dropped the connection on purpose
            self.close_connection = True
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        self.send_header("x-amzn-RequestId", request.request_id)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(response.body)
