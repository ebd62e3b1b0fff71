"""The simulator's HTTP vocabulary: requests, responses, SP-API errors and route definitions.

Every other module of the simulator speaks in these terms; this one imports none of them.
The threaded HTTP server is in ``server.py``, which route answers a request in ``routing.py``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar


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


StateT = TypeVar("StateT")
Handler = Callable[[StateT, Request], Response]
"""An operation's handler: the simulator state it reads and changes, and the request."""


@dataclass(frozen=True)
class Route(Generic[StateT]):
    method: str
    pattern: re.Pattern[str]
    operation: str  # Amazon's operation name, or an admin name starting with "_"
    handler: Handler[StateT]
    auth: bool  # needs an SP-API access token


def route(
    method: str, template: str, operation: str, handler: Handler[StateT], *, auth: bool
) -> Route[StateT]:
    """A route for ``template`` with ``{name}`` placeholders for one path segment each."""
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return Route(method, re.compile(f"^{regex}$"), operation, handler, auth)
