"""The redacting log filter: Amazon's secret shapes, registered values, args, exceptions."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from hyreka_plugin_amazon.contract import Account
from hyreka_plugin_amazon.refhost.cli import security as cli_security
from hyreka_plugin_amazon.refhost.cli.main import main
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.safety import logredaction
from hyreka_plugin_amazon.refhost.safety.logredaction import (
    RedactingFilter,
    install,
    installed,
    redact,
    uninstall,
)
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV
from hyreka_plugin_amazon.refhost.store import Store
from hyreka_plugin_amazon.secret import Secret

REFRESH = "Atzr|IwEBIPq2-mB7_Zx9aQ3vYk1LcRt5uWs8nHe4oJd"
ACCESS = "Atza|IwEBIKa83Nd-2LmQ_xz7Wf1pRgT6yUo0sVbCe9hJ"
RDT = "Atz.sprdt|AYABeLk9Xr2Qm7pZ4tWn0cHvFj8uDs3aGy"
CLIENT_SECRET = "amzn1.oa2-cs.v1.5f1c9a7e3b2d8046f1e9c3a7b5d2e8f0"
FERNET_KEY = Fernet.generate_key().decode()
FERNET_TOKEN = Fernet(FERNET_KEY).encrypt("Jürgen Großmann".encode()).decode()
SIGNATURE = "3f9c1b7a0e5d2c4b8a6f9e1d3c5b7a9f0e2d4c6b8a0f1e3d5c7b9a1f3e5d7c9b"
SESSION = "IQoJb3JpZ2luX2VjEJr//////////wEaCWV1LXdlc3QtMSJHMEUCIQDx"
PRESIGNED = (
    "https://tortuga-prod-eu.s3-eu-west-1.amazonaws.com/%2FNinetyDays/amzn1.tortuga.4.eu.T1"
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261120T120000Z&X-Amz-SignedHeaders=host"
    "&X-Amz-Expires=300&X-Amz-Credential=AKIAY3EXAMPLE%2F20261120%2Feu-west-1%2Fs3%2Faws4_request"
    f"&X-Amz-Security-Token={SESSION}&X-Amz-Signature={SIGNATURE}"
)
EMAIL = "k7x3mqz0815abc@marketplace.amazon.de"
SECRETS = (REFRESH, ACCESS, RDT, CLIENT_SECRET, FERNET_KEY, FERNET_TOKEN, SIGNATURE, SESSION, EMAIL)


def leaked(text: str) -> list[str]:
    found = [s for s in SECRETS if s in text]
    # the parts after the well-known prefixes are the secrets proper
    found += [s for s in (REFRESH, ACCESS, RDT, CLIENT_SECRET) if s.split("|")[-1][-20:] in text]
    return found


@pytest.mark.parametrize(
    "text",
    [
        f"grant_type=refresh_token&refresh_token={REFRESH}&client_id=x&client_secret={CLIENT_SECRET}",
        f'{{"access_token": "{ACCESS}", "token_type": "bearer", "expires_in": 3600}}',
        f"{{'x-amz-access-token': '{ACCESS}', 'User-Agent': 'hyreka'}}",
        f"x-amz-access-token: {ACCESS}\r\nAuthorization: Bearer {ACCESS}",
        f'{{"restrictedDataToken": "{RDT}", "expiresIn": 3600}}',
        f"token {RDT} expired; secret {CLIENT_SECRET}.",
        f"GET {PRESIGNED} -> 403",
        f"key {FERNET_KEY} token {FERNET_TOKEN}",
        f"buyer e-mail {EMAIL}",
        "Authorization: AWS4-HMAC-SHA256 Credential=AKIAY3EXAMPLE/20261120/eu-west-1/s3/"
        f"aws4_request, SignedHeaders=host, Signature={SIGNATURE}",
    ],
)
def test_secret_shapes_are_masked(text: str) -> None:
    masked = redact(text)
    assert leaked(masked) == [], masked
    assert "***" in masked


def test_what_support_needs_stays_readable() -> None:
    for text in (
        "GET /reports/2021-06-30/reports/50011019 -> 200 (request id 6a1e-42, 12 ms, attempt 1/5)",
        "order 302-1234567-1234567 in A1PA6795UKMFR9 (ATVPDKIKX0DER): 2 x SKU-TASSE 19.80 EUR",
        "lwaToken failed: The request has an invalid grant parameter : refresh_token [HTTP 400]",
        "report document amzn1.spdoc.1.4.eu.7d1c2a8f-5e1b-4a9c: download answered 500",
    ):
        assert redact(text) == text
    assert redact(f"GET {PRESIGNED}").startswith(
        "GET https://tortuga-prod-eu.s3-eu-west-1.amazonaws.com/%2FNinetyDays/"
    )
    assert "X-Amz-Date=20261120T120000Z" in redact(PRESIGNED)


def test_registered_values_are_masked_whatever_their_shape() -> None:
    redactor = RedactingFilter([Secret("custom-client-secret-0815")])
    redactor.register("another-secret-4711", None, "", "short")
    text = "secret custom-client-secret-0815, another-secret-4711, short"
    assert redactor.redact(text) == "secret ***, ***, short"  # too short to register


@pytest.fixture
def logger() -> Iterator[logging.Logger]:
    """A logger of the package with a fresh filter on it, removed afterwards."""
    log = logging.getLogger("hyreka_plugin_amazon.tests.redaction")
    redactor = RedactingFilter(["registered-secret-value"])
    log.addFilter(redactor)
    yield log
    log.removeFilter(redactor)


def test_the_filter_masks_the_message_with_its_args(
    logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger.name)
    logger.debug("token %s headers %r", ACCESS, {"x-amz-access-token": ACCESS})
    logger.info("client %(secret)s", {"secret": "registered-secret-value"})
    logger.warning("broken %s %s", "only-one-arg")  # unformattable: still redacted, not raised
    first, second, third = caplog.records
    assert first.getMessage() == "token Atza|*** headers {'x-amz-access-token': '***'}"
    assert first.args is None
    assert second.getMessage() == "client ***"
    assert "only-one-arg" in third.getMessage()
    assert leaked(caplog.text) == []


def test_the_filter_masks_exception_text_and_stack(
    logger: logging.Logger, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger.name)
    try:
        raise ConnectionError(f"cannot reach {PRESIGNED} with {ACCESS}")
    except ConnectionError:
        logger.exception("download failed")
    logger.info("here", stack_info=True, extra={"unrelated": REFRESH})
    assert "Traceback" in caplog.text
    assert "ConnectionError: cannot reach https://tortuga-prod-eu" in caplog.text
    assert leaked(caplog.text) == []


def test_install_reaches_child_loggers_and_quiets_urllib3(caplog: pytest.LogCaptureFixture) -> None:
    child = logging.getLogger("hyreka_plugin_amazon.spapi")
    urllib3 = logging.getLogger("urllib3")
    before = urllib3.level
    urllib3.setLevel(logging.NOTSET)
    caplog.set_level(logging.DEBUG)
    redactor = RedactingFilter()
    try:
        installation = install(redactor)
        assert install(redactor).targets == []  # nothing added twice
        assert redactor in child.filters
        assert redactor in caplog.handler.filters
        assert urllib3.getEffectiveLevel() == logging.INFO

        child.warning("retrying with %s", ACCESS)
        logging.getLogger("urllib3.connectionpool").debug("GET %s", PRESIGNED)
        assert [r.getMessage() for r in caplog.records] == ["retrying with Atza|***"]
        uninstall(installation)
        assert redactor not in child.filters
        assert redactor not in caplog.handler.filters
        assert urllib3.level == logging.NOTSET
    finally:
        urllib3.setLevel(before)


def test_installed_undoes_itself_and_uses_the_process_wide_registry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    log = logging.getLogger("hyreka_plugin_amazon.sync")
    logredaction.register(Secret("process-wide-secret-42"))
    with installed():
        log.info("value process-wide-secret-42")
    log.info("after %s", "process-wide-secret-42")
    assert [r.getMessage() for r in caplog.records] == [
        "value ***",
        "after process-wide-secret-42",
    ]


def test_the_cli_runs_each_command_with_the_filter_installed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    Store.open(tmp_path, env={}).close()
    spapi = logging.getLogger("hyreka_plugin_amazon.spapi")

    def noisy_clock() -> datetime:
        spapi.warning("token %s", ACCESS)
        logging.getLogger("urllib3.connectionpool").debug("GET %s", PRESIGNED)
        return datetime.now(UTC)

    monkeypatch.setattr(cli_security, "_utcnow", noisy_clock)
    caplog.set_level(logging.DEBUG)
    assert main(["purge", "--dry-run", "--data", str(tmp_path)]) == 0
    assert [r.getMessage() for r in caplog.records] == ["token Atza|***"]
    assert not any(isinstance(f, RedactingFilter) for f in spapi.filters)


def test_the_host_registers_an_account_s_secrets_before_a_plugin_sees_it(
    refhost: ReferenceHost,
    account: Account,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logredaction, "_default", RedactingFilter())  # nothing registered yet
    caplog.set_level(logging.INFO)
    log = logging.getLogger("hyreka_plugin_amazon.sync")
    secrets = (account.client_secret.reveal(), account.refresh_token.reveal())
    result = refhost.test_login(account.name)  # through the hyreka plugin manager
    assert result.ok, result.message
    with installed():
        log.info("secret %s, token %s", *secrets)
    messages = [r.getMessage() for r in caplog.records if r.name == log.name]
    assert messages == ["secret ***, token ***"]
