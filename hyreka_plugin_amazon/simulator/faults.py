"""Fault injection: Amazon's ways of failing, switched on through the admin API or the CLI.

A fault is switched on with ``POST /_simulator/faults`` (JSON) or ``--fault NAME[:k=v,...]``.
Common keys: ``count`` (fires that many times, default 1 unless ``rate`` is given), ``rate``
(probability per matching request, 0..1, seeded), ``seller_id`` (only this seller),
``operation`` (only this operation, e.g. ``getReport``; the request faults then also reach
``lwaToken`` and ``download``), ``report_type`` (only reports of this type).

======================== ============================== ===========================================
name                     parameters                     what the simulator answers
======================== ============================== ===========================================
lwa_invalid_client                                      LWA 401 ``invalid_client`` "Client
                                                        authentication failed"
lwa_invalid_grant                                       LWA 400 ``invalid_grant`` "The request has
                                                        an invalid grant parameter : refresh_token"
token_expired                                           the seller's access tokens expire now: this
                                                        and later calls with them get 403
                                                        ``Unauthorized`` until a new LWA exchange
throttle                                                429 ``QuotaExceeded`` "You exceeded your
                                                        quota for the requested resource."
internal_error                                          500 ``InternalFailure`` "We encountered an
                                                        internal error. Please try again."
unavailable                                             503 ``ServiceUnavailable``
invalid_input                                           400 ``InvalidInput`` "Invalid Input", for
                                                        any operation (a client's 400 path)
not_found                                               404 ``NotFound`` "Resource not found.", for
                                                        any operation (a client's 404 path)
drop_connection                                         the connection closes without a response
                                                        (before Amazon handles the request)
lost_response            ``status`` (default 0),        Amazon handles the request, then the answer
                         ``delay`` s (wall, default 0)  is lost: after ``delay`` seconds the
                                                        connection closes without it (``status``
                                                        0) or a 500/503 error comes instead. Fires
                                                        only on a request Amazon accepted (2xx)
slow_response            ``delay`` s (wall, default 2)  the answer comes after ``delay`` seconds
report_fatal             ``message``                    the next report ends ``FATAL`` with an
                                                        error document (plain text ``message``)
report_cancelled                                        the next report ends ``CANCELLED`` (no data)
order_reports_not_enabled                               order reports end ``FATAL`` without a
                                                        document (the all-orders report still works)
billing_columns_disabled                                invoicing reports come without ``bill-*``
restricted_role_missing  ``on``: create, rdt, document  403 ``Unauthorized`` on createReport of a
                         (default rdt)                  restricted type ("Access to the resource is
                                                        forbidden"), on createRestrictedDataToken,
                                                        or on getReportDocument of a restricted type
header_only                                             the report is DONE but holds only the header
malformed_rows           ``kinds``: ``+``-joined of     the document's first priced rows are broken:
                         missing_order_id, bad_number,  an empty order id, a decimal comma in
                         bad_date, extra_tab, crlf, bom item-price (``12,99``), a German
                                                        purchase-date, a tab inside product-name;
                         (default all)                  ``crlf`` ends every line with CRLF, ``bom``
                                                        puts a UTF-8 BOM before the header
double_gzip                                             the download carries ``Content-Encoding:
                                                        gzip`` over the GZIP document
truncated_gzip                                          the download stops halfway through the gzip
url_expired                                             the download answers 403 ``AccessDenied``
                                                        "Request has expired" at once
charset_missing                                         ``Content-Type: text/plain`` without charset
charset_wrong            ``charset`` (default UTF-8)    declares ``charset`` while the bytes stay
                                                        in the report's own encoding
authorization_denied                                    the consent page sends the browser back at
                                                        once with ``error=access_denied`` (the
                                                        seller cancelled the authorization)
invoice_role_missing                                    createFeed of the VAT invoice feed answers
                                                        403 ``Unauthorized`` (no Tax Invoicing
                                                        role)
vcs_account                                             the seller is in Amazon's VAT Calculation
                                                        Service without self-invoicing: the next
                                                        invoice feed's report refuses the invoice
                                                        ("Amazon will generate the invoice"); with
                                                        ``count``/``rate`` for longer
feed_fatal               ``message``                    the next feed ends ``FATAL``, its
                                                        processing report holding ``message``
======================== ============================== ===========================================
"""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

MALFORMED_KINDS = ("missing_order_id", "bad_number", "bad_date", "extra_tab", "crlf", "bom")
RESTRICTED_ROLE_STAGES = ("create", "rdt", "document")

# name -> (parameter defaults)
FAULT_PARAMS: dict[str, dict[str, Any]] = {
    "lwa_invalid_client": {},
    "lwa_invalid_grant": {},
    "token_expired": {},
    "throttle": {},
    "internal_error": {},
    "unavailable": {},
    "invalid_input": {},
    "not_found": {},
    "drop_connection": {},
    "lost_response": {"status": 0, "delay": 0.0},
    "slow_response": {"delay": 2.0},
    "report_fatal": {"message": "Report processing failed. Please request the report again."},
    "report_cancelled": {},
    "order_reports_not_enabled": {},
    "billing_columns_disabled": {},
    "restricted_role_missing": {"on": "rdt"},
    "header_only": {},
    "malformed_rows": {"kinds": "+".join(MALFORMED_KINDS)},
    "double_gzip": {},
    "truncated_gzip": {},
    "url_expired": {},
    "charset_missing": {},
    "charset_wrong": {"charset": "UTF-8"},
    "authorization_denied": {},
    "invoice_role_missing": {},
    "vcs_account": {},
    "feed_fatal": {"message": "The feed could not be processed. Please submit it again."},
}
REQUEST_FAULTS = (
    "drop_connection",
    "slow_response",
    "unavailable",
    "internal_error",
    "throttle",
    "token_expired",
    "invalid_input",
    "not_found",
)
# Faults that strike after the handler, on the answer (matched like the request faults)
RESPONSE_FAULTS = ("lost_response",)
LOST_RESPONSE_STATUSES = (0, 500, 503)
_COMMON = ("count", "rate", "seller_id", "operation", "report_type")


@dataclass
class Fault:
    id: int
    name: str
    params: dict[str, Any]
    count: int | None = 1  # fires left; None: unlimited (rate-based)
    rate: float = 1.0
    seller_id: str | None = None
    operation: str | None = None
    report_type: str | None = None
    fired: int = field(default=0)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "params": self.params,
            "count": self.count,
            "rate": self.rate,
            "seller_id": self.seller_id,
            "operation": self.operation,
            "report_type": self.report_type,
            "fired": self.fired,
        }


class FaultError(ValueError):
    """A fault specification that cannot be switched on."""


class FaultStore:
    """The active faults; ``fire`` decides (seeded) whether one strikes a request."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._ids = itertools.count(1)
        self._faults: list[Fault] = []

    def add(self, spec: Mapping[str, Any]) -> Fault:
        name = spec.get("name")
        if name not in FAULT_PARAMS:
            raise FaultError(f"unknown fault {name!r}; known: {', '.join(FAULT_PARAMS)}")
        defaults = FAULT_PARAMS[name]
        unknown = set(spec) - {"name", *_COMMON, *defaults}
        if unknown:
            raise FaultError(f"fault {name} takes no parameter(s) {', '.join(sorted(unknown))}")
        params = {key: spec.get(key, default) for key, default in defaults.items()}
        _check_params(name, params)
        rate = float(spec.get("rate", 1.0))
        if not 0.0 <= rate <= 1.0:
            raise FaultError("rate must lie between 0 and 1")
        count = spec.get("count", None if "rate" in spec else 1)
        if count is not None and (int(count) < 1):
            raise FaultError("count must be at least 1")
        with self._lock:
            fault = Fault(
                id=next(self._ids),
                name=str(name),
                params=params,
                count=None if count is None else int(count),
                rate=rate,
                seller_id=spec.get("seller_id"),
                operation=spec.get("operation"),
                report_type=spec.get("report_type"),
            )
            self._faults.append(fault)
        return fault

    def fire(
        self,
        name: str,
        *,
        seller_id: str,
        operation: str | None = None,
        report_type: str | None = None,
        on: str | None = None,
    ) -> Fault | None:
        """The fault ``name`` if one matches this request and strikes now (its count drops)."""
        with self._lock:
            for fault in self._faults:
                if fault.name != name or not _matches(fault, seller_id, operation, report_type):
                    continue
                if on is not None and fault.params.get("on") != on:
                    continue
                if fault.rate < 1.0 and self._rng.random() >= fault.rate:
                    continue
                fault.fired += 1
                if fault.count is not None:
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                return fault
        return None

    def active(self) -> list[dict[str, Any]]:
        with self._lock:
            return [fault.as_json() for fault in self._faults]

    def clear(self, fault_id: int | None = None) -> int:
        """Switch one fault (or all) off; returns how many were removed."""
        with self._lock:
            before = len(self._faults)
            self._faults = [f for f in self._faults if fault_id is not None and f.id != fault_id]
            return before - len(self._faults)


def parse_cli_fault(text: str) -> dict[str, Any]:
    """``throttle:count=3,operation=getReport`` -> a fault specification."""
    name, _, rest = text.partition(":")
    spec: dict[str, Any] = {"name": name.strip()}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise FaultError(f"expected key=value in fault {text!r}, got {item!r}")
        spec[key.strip()] = _cli_value(key.strip(), value.strip())
    return spec


def _cli_value(key: str, value: str) -> Any:
    if key == "count":
        return int(value)
    if key == "status":
        return int(value)
    if key in ("rate", "delay"):
        return float(value)
    return value


def _matches(fault: Fault, seller_id: str, operation: str | None, report_type: str | None) -> bool:
    if fault.seller_id is not None and fault.seller_id != seller_id:
        return False
    if fault.report_type is not None and fault.report_type != report_type:
        return False
    if fault.name in REQUEST_FAULTS or fault.name in RESPONSE_FAULTS:
        if fault.operation is None:  # every SP-API operation, not LWA or the download
            return operation not in (None, "lwaToken", "download", "upload")
        return fault.operation == operation
    return fault.operation is None or fault.operation == operation


def _check_params(name: str, params: dict[str, Any]) -> None:
    if name == "slow_response":
        params["delay"] = float(params["delay"])
        if not 0 <= params["delay"] <= 120:
            raise FaultError("delay must lie between 0 and 120 seconds")
    if name == "lost_response":
        params["delay"] = float(params["delay"])
        if not 0 <= params["delay"] <= 120:
            raise FaultError("delay must lie between 0 and 120 seconds")
        params["status"] = int(params["status"])
        if params["status"] not in LOST_RESPONSE_STATUSES:
            raise FaultError("status must be 0 (no answer), 500 or 503")
    if name == "restricted_role_missing" and params["on"] not in RESTRICTED_ROLE_STAGES:
        raise FaultError(f"on must be one of {', '.join(RESTRICTED_ROLE_STAGES)}")
    if name == "malformed_rows":
        kinds = [k for k in str(params["kinds"]).replace(",", "+").split("+") if k]
        bad = set(kinds) - set(MALFORMED_KINDS)
        if bad or not kinds:
            raise FaultError(f"kinds must be of {', '.join(MALFORMED_KINDS)}")
        params["kinds"] = "+".join(kinds)
