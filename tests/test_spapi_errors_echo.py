"""Hostile servers that echo the secrets back: nothing of them reaches output, history or DB.

Security review, finding 1: an LWA or SP-API server that puts the refresh token or client
secret into its ``error``, ``error_description``, error ``code`` or request-id header, plain,
URL-encoded, JSON-escaped or without Amazon's prefix.
"""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from pytest_httpserver import HTTPServer

from hyreka_plugin_amazon.refhost.cli import main as cli
from hyreka_plugin_amazon.refhost.store import DB_FILE
from hyreka_plugin_amazon.spapi.errors import (
    SpApiError,
    redact,
    safe_code,
    safe_request_id,
    server_text,
)

CLIENT_ID = "amzn1.application-oa2-client.echo"
BODY = "IwEBIEchoedRefreshTokenBody0123456789abcdefXYZ"
REFRESH = f"Atzr|{BODY}"
SECRET_BODY = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"
CLIENT_SECRET = f"amzn1.oa2-cs.v1.{SECRET_BODY}"
SECRETS = (CLIENT_SECRET, REFRESH)


def every_form() -> list[str]:
    """Each way the attack writes a secret: plain, URL-encoded, JSON-escaped, prefix-less."""
    forms = []
    for value in (REFRESH, CLIENT_SECRET, BODY, SECRET_BODY):
        forms += [value, quote(value, safe=""), quote_plus(value), json.dumps(value)[1:-1]]
    return forms


def leaked(text: str) -> list[str]:
    """The secret bodies found in ``text`` in any form (a prefix-less copy included)."""
    found = []
    for body in (BODY, SECRET_BODY):
        if body in text or quote(body) in text or body.lower() in text.lower():
            found.append(body[:6])
    return found


@pytest.mark.parametrize("form", range(16))
def test_a_secret_in_any_form_is_redacted(form: int) -> None:
    text = f"error: {every_form()[form]} end"
    assert leaked(redact(text, SECRETS)) == []
    assert leaked(server_text(text, SECRETS)) == []


def test_codes_and_request_ids_are_kept_only_in_their_format() -> None:
    assert safe_code("InvalidInput") == "InvalidInput"
    assert safe_code("invalid_client") == "invalid_client"
    assert safe_code(REFRESH) is None
    assert safe_code(SECRET_BODY) is None  # digits: no code
    assert safe_code("x" * 65) is None
    assert safe_request_id("7c1a5f7f-0d1c-4b7e-9a3e-3f0b8c2d1e4a") is not None
    assert safe_request_id(REFRESH) is None
    assert safe_request_id(SECRET_BODY) is None  # 64 characters: longer than any request id
    error = SpApiError("x", code=REFRESH, request_id=BODY)
    assert (error.code, error.request_id) == (None, None)
    assert leaked(repr(error) + str(error)) == []


def test_a_server_text_loses_control_characters_and_long_blobs() -> None:
    text = server_text("bad \x1b[31mred\x1b[0m\nline " + "A" * 80, ())
    assert "\x1b" not in text
    assert "\n" not in text
    assert "A" * 48 not in text


def hostile_lwa(httpserver: HTTPServer) -> None:
    forms = every_form()
    httpserver.expect_request("/auth/o2/token", method="POST").respond_with_data(
        json.dumps(
            {
                "error": REFRESH,
                "error_description": " ".join(forms),
                "request_id": BODY,
            }
        ),
        status=400,
        headers={"x-amzn-RequestId": SECRET_BODY, "Content-Type": "application/json"},
    )


def hostile_spapi(httpserver: HTTPServer) -> None:
    forms = every_form()
    token = {"access_token": "Atza|access-token-of-the-hostile-server", "expires_in": 3600}
    httpserver.expect_request("/auth/o2/token", method="POST").respond_with_json(token)
    errors = {"errors": [{"code": REFRESH, "message": " ".join(forms), "details": BODY}]}
    httpserver.expect_request("/sellers/v1/marketplaceParticipations").respond_with_json(
        errors, status=400, headers={"x-amzn-RequestId": quote(REFRESH, safe="")}
    )
    httpserver.expect_request("/reports/2021-06-30/reports", method="POST").respond_with_json(
        errors, status=400, headers={"x-amzn-RequestId": BODY}
    )


@pytest.mark.parametrize("server", [hostile_lwa, hostile_spapi])
def test_echoed_secrets_reach_no_output_history_or_database(
    server: object,
    httpserver: HTTPServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert callable(server)
    server(httpserver)
    data = tmp_path / "data"
    monkeypatch.setenv("AMAZON_LWA_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("AMAZON_LWA_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("AMAZON_REFRESH_TOKEN", REFRESH)
    base = httpserver.url_for("").rstrip("/")
    common = ["--data", str(data), "--lang", "en"]
    add = ["account", "add", "shop", "--marketplace", "DE"]
    override = ["--endpoint", base, "--token-url", f"{base}/auth/o2/token"]
    assert cli.main([*add, *override, *common]) == 0
    assert cli.main(["test-login", "shop", *common]) != 0
    assert cli.main(["sync", "shop", *common]) != 0
    assert cli.main(["status", "--json", *common]) == 0
    out, err = capsys.readouterr()
    assert "failed" in (out + err).lower()  # the attack did run into errors
    assert leaked(out + err) == []
    raw = b"".join(path.read_bytes() for path in data.iterdir() if path.name.startswith(DB_FILE))
    assert leaked(raw.decode("latin-1")) == []
