"""A small HTTP client for the simulator tests: token exchange, report flow, TSV parsing."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import requests
from jsonschema import Draft4Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from hyreka_plugin_amazon.contract import OrderStatus
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator import open_for_seller as open_for_seller  # the tests' too

DE, FR, IT, ES, UK = (
    "A1PA6795UKMFR9",
    "A13V1IB3VIYZZH",
    "APJ6JRA9NG5V4",
    "A1RKKUPIHCS9HS",
    "A1F83G8C2ARO7P",
)
EU5 = [DE, FR, IT, ES, UK]
INVOICING = "GET_FLAT_FILE_ORDER_REPORT_DATA_INVOICING"
SHIPPING = "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING"
ALL_ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"
LONG_AGO = "2000-01-01T00:00:00Z"
TIMEOUT = 5


@dataclass
class Download:
    content_type: str
    text: str

    def table(self) -> tuple[list[str], list[dict[str, str]]]:
        """Header and rows of the tab-separated text, without any quoting (as Amazon writes)."""
        reader = csv.reader(io.StringIO(self.text), delimiter="\t", quoting=csv.QUOTE_NONE)
        lines = list(reader)
        header = lines[0]
        return header, [dict(zip(header, line, strict=True)) for line in lines[1:]]


class SimClient:
    """Talks to a running simulator over real HTTP, as one seller."""

    def __init__(self, sim: Simulator, seller: str | None = None) -> None:
        self.sim = sim
        self.session = requests.Session()
        self.session.trust_env = False  # loopback: no proxy lookups in the environment per call
        self.creds = sim.credentials if seller is None else sim.sellers[seller].credentials
        self._token: str | None = None
        self._expires = datetime.min.replace(tzinfo=UTC)

    def lwa(self, **override: str) -> requests.Response:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": self.creds.refresh_token,
            "client_id": self.creds.client_id,
            "client_secret": self.creds.client_secret,
        } | override
        return self.session.post(self.sim.token_url, data=form, timeout=TIMEOUT)

    @property
    def token(self) -> str:
        if self._token is None:
            self.refresh()
        assert self._token is not None
        return self._token

    def refresh(self) -> None:
        """A new access token, valid for an hour of simulator time."""
        response = self.lwa()
        assert response.status_code == 200, response.text
        self._token = str(response.json()["access_token"])
        self._expires = self.sim.clock.now() + timedelta(seconds=response.json()["expires_in"])

    def token_expires_soon(self) -> bool:
        return self._token is None or self.sim.clock.now() >= self._expires - timedelta(seconds=60)

    def call(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = {"x-amz-access-token": token or self.token}
        return self.session.request(
            method, self.sim.url + path, headers=headers, timeout=TIMEOUT, **kwargs
        )

    def create_report(
        self,
        report_type: str,
        marketplaces: list[str] | None = None,
        start: str = LONG_AGO,
        end: str | None = None,
    ) -> str:
        body: dict[str, Any] = {"reportType": report_type, "marketplaceIds": marketplaces or EU5}
        body["dataStartTime"] = start
        if end is not None:
            body["dataEndTime"] = end
        response = self.call("POST", "/reports/2021-06-30/reports", json=body)
        assert response.status_code == 202, response.text
        return str(response.json()["reportId"])

    def wait_report(self, report_id: str) -> dict[str, Any]:
        """Poll the report, moving the simulator clock, until it is processed."""
        for _ in range(10):
            response = self.call("GET", f"/reports/2021-06-30/reports/{report_id}")
            assert response.status_code == 200, response.text
            report: dict[str, Any] = response.json()
            if report["processingStatus"] in ("DONE", "CANCELLED", "FATAL"):
                return report
            self.sim.clock.advance(1)
        raise AssertionError("the report never finished")

    def rdt(self, path: str) -> str:
        body = {"restrictedResources": [{"method": "GET", "path": path}]}
        response = self.call("POST", "/tokens/2021-03-01/restrictedDataToken", json=body)
        assert response.status_code == 200, response.text
        return str(response.json()["restrictedDataToken"])

    def document(self, document_id: str, restricted: bool = True) -> dict[str, Any]:
        path = f"/reports/2021-06-30/documents/{document_id}"
        token = self.rdt(path) if restricted else None
        response = self.call("GET", path, token=token)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def fetch(self, report_type: str, **kwargs: Any) -> Download:
        """The whole flow: create, poll, RDT, document, download, gunzip, decode."""
        report = self.wait_report(self.create_report(report_type, **kwargs))
        assert report["processingStatus"] == "DONE", report
        document = self.document(report["reportDocumentId"], report_type != ALL_ORDERS)
        response = requests.get(document["url"], timeout=TIMEOUT)
        assert response.status_code == 200, response.text
        content_type = response.headers["Content-Type"]
        charset = content_type.split("charset=")[1]
        raw = response.content
        if document.get("compressionAlgorithm") == "GZIP":
            raw = gzip.decompress(raw)
        return Download(content_type, raw.decode("cp1252" if charset == "Cp1252" else charset))


def add_fault(sim: Simulator, name: str, **spec: Any) -> dict[str, Any]:
    """Switch a fault on through the admin API."""
    response = requests.post(
        f"{sim.url}/_simulator/faults", json={"name": name, **spec}, timeout=TIMEOUT
    )
    assert response.status_code == 201, response.text
    fault: dict[str, Any] = response.json()["fault"]
    return fault


# ---------------------------------------------------------------------------------------------
# Amazon's models (Swagger 2.0) as a conformance check

MODELS = Path("/work/shared/spapi-models")
MODEL_FILES = ("reports_2021-06-30.json", "sellers.json", "tokens_2021-03-01.json",
               "orders_2026-01-01.json", "ordersV0.json")  # fmt: skip
LIMIT_HEADER = "x-amzn-RateLimit-Limit"
LIMIT_HEADER_STATUSES = frozenset({200, 201, 202, 204, 400, 404})  # spapi-notes 3.7: 20x, 400, 404
_PARAMETER_KEYWORDS = ("type", "format", "enum", "items", "minItems", "maxItems", "minimum",
                       "maximum", "minLength", "maxLength", "pattern")  # fmt: skip
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
FORMATS = FormatChecker(formats=())


@FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    """RFC 3339 ``date-time`` (what Swagger 2.0 means), not any ISO 8601 form."""
    if not isinstance(value, str):
        return True
    if not _RFC3339.fullmatch(value):
        return False
    datetime.fromisoformat(value.replace("Z", "+00:00"))  # a real calendar date and time
    return True


@FORMATS.checks("date", raises=ValueError)
def _date(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return re.fullmatch(r"\d{4}-\d{2}-\d{2}", value) is not None and bool(date.fromisoformat(value))


@dataclass(frozen=True)
class ModelOperation:
    operation_id: str
    method: str
    template: str
    pattern: re.Pattern[str]  # with a named group per path parameter
    spec: dict[str, Any]
    uri: str  # of the model document in the registry

    def parameters(self, where: str) -> dict[str, dict[str, Any]]:
        return {p["name"]: p for p in self.spec["parameters"] if p["in"] == where}


class SpapiModels:
    """Amazon's models from MODELS: look up operations, validate requests and responses.

    Objects are checked strictly: a property the model does not declare is an error (the
    models leave ``additionalProperties`` open, which would let typos through). Formats
    (``date-time``, ``date``) are checked too.
    """

    def __init__(self, folder: Path = MODELS) -> None:
        self.operations: dict[str, ModelOperation] = {}  # the first model's, by operation id
        self.every: list[ModelOperation] = []  # v0 and v2026-01-01 both have a getOrder
        registry: Registry[Any] = Registry()
        for name in MODEL_FILES:
            model = json.loads((folder / name).read_text(encoding="utf-8"))
            uri = f"urn:spapi:{name}"
            resource = Resource.from_contents(_strict(model), default_specification=DRAFT4)
            registry = registry.with_resource(uri, resource)
            for template, methods in model["paths"].items():
                regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
                for method, spec in methods.items():
                    if method == "parameters":
                        continue
                    spec = {
                        **spec,
                        "parameters": methods.get("parameters", []) + spec.get("parameters", []),
                    }
                    pattern = re.compile(f"^{regex}$")
                    found = ModelOperation(
                        spec["operationId"], method.upper(), template, pattern, spec, uri
                    )
                    self.operations.setdefault(found.operation_id, found)
                    self.every.append(found)
        self._registry = registry

    def find(self, method: str, path: str) -> ModelOperation:
        for operation in self.every:
            if operation.method == method and operation.pattern.match(path):
                return operation
        raise AssertionError(f"{method} {path} is no operation of Amazon's models")

    def check_exchange(self, response: requests.Response) -> ModelOperation:
        """Check the request that was sent and the response that came back; the operation."""
        request = response.request
        assert request.method is not None
        assert request.url is not None
        split = urlsplit(request.url)
        operation = self.find(request.method, split.path)
        body = request.body.encode() if isinstance(request.body, str) else request.body
        self.check_request(
            operation,
            split.path,
            parse_qs(split.query, keep_blank_values=True),
            request.headers,
            body,
        )
        self.check_response(operation, response)
        return operation

    def check_request(
        self,
        operation: ModelOperation,
        path: str,
        query: Mapping[str, Sequence[str]],
        headers: Mapping[str, str],
        body: bytes | None,
    ) -> None:
        """Path and query parameters (declared, once each, typed, required) and the body."""
        name = operation.operation_id
        assert headers.get("x-amz-access-token"), f"{name}: no x-amz-access-token header"
        match = operation.pattern.match(path)
        assert match is not None, f"{path} is no path of {name}"
        for param, raw in match.groupdict().items():
            self._check_parameter(name, operation.parameters("path")[param], unquote(raw))
        declared = operation.parameters("query")
        for param, values in query.items():
            assert param in declared, f"{name}: undeclared query parameter {param}"
            assert len(values) == 1, f"{name}: {param} sent {len(values)} times (csv expected)"
            self._check_parameter(name, declared[param], values[0])
        for param, spec in declared.items():
            assert not spec.get("required") or param in query, f"{name}: {param} missing"
        bodies = list(operation.parameters("body").values())
        if not bodies:
            assert not body, f"{name} takes no body"
            return
        if not body:
            assert not bodies[0].get("required"), f"{name}: the body is required"
            return
        content_type = headers.get("Content-Type", "")
        assert content_type.startswith("application/json"), f"{name}: body as {content_type}"
        self._validate(operation, bodies[0]["schema"], json.loads(body))

    def check_response(self, operation: ModelOperation, response: requests.Response) -> None:
        """Declared status, request id, rate-limit header (20x, 400, 404 only), JSON body."""
        name, status = operation.operation_id, response.status_code
        declared = operation.spec["responses"].get(str(status))
        assert declared is not None, f"{name} declares no {status} response"
        assert response.headers.get("x-amzn-RequestId"), "every response carries a request id"
        limit = response.headers.get(LIMIT_HEADER)
        if status in LIMIT_HEADER_STATUSES:
            assert limit is not None, f"{name} {status}: no {LIMIT_HEADER}"
            assert float(limit) > 0, f"{name} {status}: {LIMIT_HEADER}: {limit}"
            assert LIMIT_HEADER in declared.get("headers", {}), f"{name} {status}: undeclared"
        else:
            assert limit is None, f"{name} {status} must not carry {LIMIT_HEADER}"
        assert response.headers["Content-Type"].startswith("application/json")
        if "schema" in declared:
            self._validate(operation, declared["schema"], response.json())

    def check_answer(self, method: str, path: str, status: int, body: bytes) -> ModelOperation:
        """A response seen by another HTTP client: declared status and the JSON body's schema."""
        operation = self.find(method, path)
        declared = operation.spec["responses"].get(str(status))
        assert declared is not None, f"{operation.operation_id} declares no {status} response"
        if "schema" in declared:
            self._validate(operation, declared["schema"], json.loads(body))
        return operation

    def _check_parameter(self, operation: str, parameter: dict[str, Any], raw: str) -> None:
        assert parameter.get("collectionFormat", "csv") == "csv"
        schema = {k: v for k, v in parameter.items() if k in _PARAMETER_KEYWORDS}
        if parameter["type"] == "array":
            value: Any = [_scalar(parameter["items"], item) for item in raw.split(",")]
        else:
            value = _scalar(parameter, raw)
        errors = [
            e.message for e in Draft4Validator(schema, format_checker=FORMATS).iter_errors(value)
        ]
        assert not errors, f"{operation}: {parameter['name']}={raw!r}: {errors}"

    def _validate(self, operation: ModelOperation, schema: dict[str, Any], instance: Any) -> None:
        assert set(schema) == {"$ref"}, "the models refer to named definitions"
        root = {"$ref": operation.uri + schema["$ref"]}
        validator = Draft4Validator(root, registry=self._registry, format_checker=FORMATS)
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.absolute_path))
        assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


def _scalar(schema: dict[str, Any], raw: str) -> Any:
    """A query or path value as the JSON value its Swagger type means (left as text if not)."""
    if schema.get("type") == "integer" and re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if schema.get("type") == "boolean" and raw in ("true", "false"):
        return raw == "true"
    return raw


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    strict = {key: _strict(value) for key, value in node.items()}
    if strict.get("type") == "object" and "properties" in strict:
        strict.setdefault("additionalProperties", False)
    return strict


class ConformingClient(SimClient):
    """A SimClient whose every SP-API call is checked against Amazon's models."""

    def __init__(self, sim: Simulator, models: SpapiModels, seller: str | None = None) -> None:
        super().__init__(sim, seller)
        self.models = models
        self.checked: list[tuple[str, int]] = []

    def call(
        self, method: str, path: str, *, token: str | None = None, **kwargs: Any
    ) -> requests.Response:
        response = super().call(method, path, token=token, **kwargs)
        operation = self.models.check_exchange(response)
        self.checked.append((operation.operation_id, response.status_code))
        return response


def host_open(refhost: ReferenceHost) -> dict[str, dict[str, Any]]:
    """The reference host's open orders, in the JSON shape of the simulator's ground truth."""
    orders = refhost.store.list_orders(status=OrderStatus.OPEN)
    return {o.amazon_order_id: o.as_dict() for o in orders}


def fba_shipped(sim: Simulator) -> dict[str, dict[str, Any]]:
    """The simulator's FBA orders Amazon has shipped (a first sync with ``fba_orders`` on
    imports them as shipped beside the seller's open orders)."""
    return {
        o["amazon_order_id"]: o
        for o in sim.ground_truth()
        if o["fulfillment_channel"] == "AFN" and o["status"] == "shipped"
    }


def sim_open(sim: Simulator) -> dict[str, dict[str, Any]]:
    """The simulator's orders open for the seller (Amazon's truth), keyed by order id."""
    return {o["amazon_order_id"]: o for o in sim.ground_truth() if open_for_seller(o)}
