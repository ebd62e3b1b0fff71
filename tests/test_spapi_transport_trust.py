"""TLS trust: ``REQUESTS_CA_BUNDLE`` must not redirect the client's trust.

An attacker's HTTPS server on 127.0.0.1 with a self-signed certificate, and that certificate
named by ``REQUESTS_CA_BUNDLE``: the client must refuse the handshake (it trusts certifi's
bundle only), send no credentials, and tell the seller it is a certificate failure.
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pytest_httpserver import HTTPServer

from hyreka_plugin_amazon.refhost.cli import main as cli


def self_signed(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "attacker.pem", folder / "attacker.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def attacker(tmp_path: Path) -> Iterator[tuple[HTTPServer, Path]]:
    cert, key = self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.expect_request("/auth/o2/token").respond_with_json(
        {"access_token": "Atza|stolen", "expires_in": 3600}
    )
    server.start()
    yield server, cert
    server.clear()
    if server.is_running():
        server.stop()


def test_the_environments_ca_bundle_does_not_make_an_attacker_trusted(
    attacker: tuple[HTTPServer, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    server, cert = attacker
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(cert))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(cert))
    monkeypatch.setenv("AMAZON_LWA_CLIENT_ID", "amzn1.application-oa2-client.tls")
    monkeypatch.setenv("AMAZON_LWA_CLIENT_SECRET", "amzn1.oa2-cs.v1.tls-secret-value")
    monkeypatch.setenv("AMAZON_REFRESH_TOKEN", "Atzr|tls-refresh-token-value")
    base = f"https://127.0.0.1:{server.port}"
    common = ["--data", str(tmp_path / "data"), "--lang", "en"]
    add = ["account", "add", "shop", "--marketplace", "DE", "--endpoint", base]
    assert cli.main([*add, "--token-url", f"{base}/auth/o2/token", *common]) == 0
    capsys.readouterr()
    assert cli.main(["test-login", "shop", *common]) != 0
    out, err = capsys.readouterr()
    assert "certificate" in out + err
    assert "cannot be reached" not in out + err
    assert server.log == []  # the handshake failed: no request, no secret reached it
