"""HTTP plumbing of the simulator: requests, responses, SP-API errors, route definitions and the
threaded HTTP server. Which route answers a request is decided in ``routing.py``."""

from __future__ import annotations

import json
import re
import sys
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from hyreka_plugin_amazon.simulator.service import Simulator


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Mapping[str, str]
    body: bytes
    params: dict[str, str] = field(default_factory=dict)  # path parameters of the route
    request_id: str = ""
    seller_id: str = ""  # set once the access token is checked
    token_paths: frozenset[tuple[str, str]] = frozenset()  # what an RDT was issued for
    data_elements: frozenset[str] = frozenset()  # an RDT's restricted data elements
    region: str = ""  # the regional host asked (``/eu/...``), empty for any region

    def json(self) -> Any:
        """The JSON body, or an ``InvalidInput`` error when it is not JSON."""
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise invalid_input("Malformed JSON body.") from None

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def args(self, name: str) -> list[str]:
        """A list parameter, sent repeated or comma-separated."""
        return [part for value in self.query.get(name, []) for part in value.split(",") if part]


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(status: int, data: Any, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(data, ensure_ascii=False).encode("utf-8")
    return Response(status, body, "application/json", dict(headers or {}))


class ApiError(Exception):
    """An SP-API error response: ``{"errors": [{"code", "message", "details"}]}``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = dict(headers or {})

    def response(self) -> Response:
        error: dict[str, str] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return json_response(self.status, {"errors": [error]}, self.headers)


def invalid_input(details: str) -> ApiError:
    return ApiError(400, "InvalidInput", "Invalid Input", details)


Handler = Callable[["Simulator", Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    operation: str  # Amazon's operation name, or an admin name starting with "_"
    handler: Handler
    auth: bool  # needs an SP-API access token


def route(method: str, template: str, operation: str, handler: Handler, *, auth: bool) -> Route:
    """A route for ``template`` with ``{name}`` placeholders for one path segment each."""
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return Route(method, re.compile(f"^{regex}$"), operation, handler, auth)


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], sim: Simulator) -> None:
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
