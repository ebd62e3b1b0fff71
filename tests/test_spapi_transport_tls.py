"""Transport security with the real client: TLS verified, plain HTTP only on loopback, and the
pre-signed download sent without any SP-API token."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from helpers.spapi_fake import CannedAmazon

from hyreka_plugin_amazon.contract import Account
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.simulator.vocabulary import Request, Response
from hyreka_plugin_amazon.spapi import SpApiClient, transport
from hyreka_plugin_amazon.spapi.documents import DocumentStream
from hyreka_plugin_amazon.spapi.errors import CertificateError, DocumentError, TransportError
from hyreka_plugin_amazon.spapi.models import ReportDocument
from hyreka_plugin_amazon.spapi.ratelimit import RateLimiter
from hyreka_plugin_amazon.spapi.transport import TRUSTED_CAS, Transport

CLIENT_SECRET = "amzn1.oa2-cs.v1.transport-test-secret"


class RecordingSession(requests.Session):
    """A real session that notes the ``verify`` of every request it sends."""

    def __init__(self) -> None:
        super().__init__()
        self.verify_args: list[object] = []

    def request(self, method: str | bytes, url: str | bytes, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.verify_args.append(kwargs.get("verify"))
        return super().request(method, url, **kwargs)


def client(
    endpoint: str, token_url: str | None = None, session: requests.Session | None = None
) -> SpApiClient:
    return SpApiClient(
        client_id="amzn1.application-oa2-client.transport",
        client_secret=Secret(CLIENT_SECRET),
        refresh_token=Secret(f"Atzr|transport-{uuid.uuid4().hex}"),
        region="eu",
        endpoint=endpoint,
        token_url=token_url or f"{endpoint}/auth/o2/token",
        session=session,
        max_attempts=2,
        sleep=lambda _: None,
        rate_limiter=RateLimiter(),
    )


# --------------------------------------------------------------------------------------------
# Plain HTTP only for loopback


@pytest.mark.parametrize(
    ("endpoint", "token_url"),
    [
        ("http://sellingpartnerapi-eu.amazon.com", None),
        ("https://sellingpartnerapi-eu.amazon.com", "http://api.amazon.com/auth/o2/token"),
        ("http://127.0.0.1.nip.io:8080", None),
        ("http://localhost.example.com", None),
        ("http://10.0.0.5:8080", None),
        ("ftp://127.0.0.1", None),
    ],
)
def test_plain_http_to_anything_but_loopback_is_refused(
    endpoint: str, token_url: str | None
) -> None:
    with pytest.raises(ValueError, match=r"must be an https URL \(plain http only for loopback"):
        client(endpoint, token_url)


@pytest.mark.parametrize(
    "endpoint",
    [
        "https://sellingpartnerapi-eu.amazon.com",
        "http://127.0.0.1:8080",
        "http://localhost:8080",
        "http://[::1]:8080",
    ],
)
def test_https_anywhere_and_http_on_loopback_are_accepted(endpoint: str) -> None:
    amazon = CannedAmazon()
    accepted = client(endpoint, session=amazon.session())
    participations = accepted.get_marketplace_participations()
    assert [p.marketplace_id for p in participations] == ["A1PA6795UKMFR9"]
    # the token and the call went to exactly the endpoint given
    assert amazon.urls == [
        endpoint + "/auth/o2/token",
        endpoint + CannedAmazon.PARTICIPATIONS,
    ]


def test_a_plain_http_download_url_off_loopback_is_not_fetched() -> None:
    session = RecordingSession()
    transport = Transport(
        session=session,
        timeout=(1.0, 1.0),
        sleep=lambda _: None,
        monotonic=lambda: 0.0,
        max_attempts=1,
        max_wait=1.0,
        user_agent="test",
    )
    document = ReportDocument("doc-1", "http://tortuga-prod-eu.s3.amazonaws.com/doc-1?x=1", None)
    with pytest.raises(DocumentError, match="must be an https URL") as caught:
        DocumentStream(transport=transport, fetch=lambda: document)
    assert "x=1" not in str(caught.value)  # the pre-signed query stays out of the message
    assert session.verify_args == []  # nothing was sent


# --------------------------------------------------------------------------------------------
# TLS verification


def test_every_request_verifies_tls_even_if_the_session_said_otherwise(
    simulator: Simulator,
) -> None:
    session = RecordingSession()
    session.verify = False
    creds = simulator.credentials
    sp = SpApiClient(
        client_id=creds.client_id,
        client_secret=Secret(creds.client_secret),
        refresh_token=Secret(creds.refresh_token),
        region="eu",
        endpoint=simulator.url,
        token_url=simulator.token_url,
        session=session,
        rate_limiter=RateLimiter(),
    )
    verify: object = session.verify
    assert verify == TRUSTED_CAS  # certifi's bundle, named explicitly
    assert sp.get_marketplace_participations()
    report_id = sp.create_report(
        "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL",
        ["A1PA6795UKMFR9"],
        data_start_time=simulator.clock.now() - dt.timedelta(days=20),
    )
    report = sp.wait_for_report(report_id, poll_interval=0.05, max_interval=0.2, deadline=30)
    assert report.report_document_id
    with sp.open_document(report.report_document_id, restricted=False) as lines:
        assert next(iter(lines)).startswith("amazon-order-id\t")
    assert set(sp.calls) >= {"lwaToken", "getMarketplaceParticipations", "download"}
    assert len(session.verify_args) == sum(sp.calls.values())
    assert set(session.verify_args) == {TRUSTED_CAS}


class _TlsServer:
    """HTTPS on 127.0.0.1 with a self-signed certificate; records the requests it reads."""

    def __init__(self, folder: Path) -> None:
        self.cert = folder / "cert.pem"
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = dt.datetime.now(dt.UTC)
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(
                x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                critical=False,
            )
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256())
        )
        self.cert.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file = folder / "key.pem"
        key_file.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, key_file)
        self.requests: list[tuple[str, str, bytes]] = []
        recorded = self.requests

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                recorded.append((self.command, self.path, self.rfile.read(length)))
                body = json.dumps(
                    {"access_token": "Atza|tls-test", "expires_in": 3600}
                    if self.path.startswith("/auth/")
                    else {"payload": []}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[_TlsServer]:
    server = _TlsServer(tmp_path)
    yield server
    server.close()


def test_an_untrusted_certificate_stops_the_client_before_any_secret_is_sent(
    tls_server: _TlsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "SSL_CERT_FILE"):
        monkeypatch.delenv(name, raising=False)
    sp = client(tls_server.url)
    with pytest.raises(TransportError, match="SSLError") as caught:
        sp.get_marketplace_participations()
    assert "CERTIFICATE_VERIFY_FAILED" in str(caught.value)
    assert sp.calls["lwaToken"] == 1  # a TLS failure is configuration: not retried
    assert tls_server.requests == []
    assert CLIENT_SECRET not in repr(caught.value)

    # The environment cannot make it trusted (security review, finding 13) ...
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_server.cert))
    with pytest.raises(CertificateError):
        client(tls_server.url).get_marketplace_participations()
    assert tls_server.requests == []
    # ... the transport's own CA bundle can: the failure was the verification.
    monkeypatch.setattr(transport, "TRUSTED_CAS", str(tls_server.cert))
    assert client(tls_server.url).get_marketplace_participations() == []
    assert [(m, p.split("?")[0]) for m, p, _ in tls_server.requests] == [
        ("POST", "/auth/o2/token"),
        ("GET", "/sellers/v1/marketplaceParticipations"),
    ]


# --------------------------------------------------------------------------------------------
# The pre-signed download carries no SP-API token


def test_the_download_gets_no_access_token_and_no_rdt(
    simulator: Simulator,
    refhost: ReferenceHost,
    account: Account,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: list[tuple[str, dict[str, str]]] = []
    issued: list[str] = []
    dispatch = simulator.dispatch
    issue_access, issue_rdt = simulator.tokens.issue_access_token, simulator.tokens.issue_rdt

    def recording_dispatch(req: Request) -> Response | None:
        seen.append((req.path, dict(req.headers)))
        return dispatch(req)

    def access(*args: Any) -> str:
        issued.append(issue_access(*args))
        return issued[-1]

    def rdt(*args: Any) -> str:
        issued.append(issue_rdt(*args))
        return issued[-1]

    monkeypatch.setattr(simulator, "dispatch", recording_dispatch)
    monkeypatch.setattr(simulator.tokens, "issue_access_token", access)
    monkeypatch.setattr(simulator.tokens, "issue_rdt", rdt)

    result = refhost.sync(account.name)
    assert result.ok, result.message
    downloads = [headers for path, headers in seen if path.startswith("/_download/")]
    api = [headers for path, headers in seen if path.startswith(("/reports/", "/tokens/"))]
    assert len(downloads) == 2  # the status report and the order report
    assert any(h.get("x-amz-access-token", "").startswith("Atz.sprdt|") for h in api)
    assert all(h.get("x-amz-access-token") in issued for h in api)
    for headers in downloads:
        assert "x-amz-access-token" not in headers
        assert "authorization" not in headers
        for token in issued:
            assert token not in repr(headers)
