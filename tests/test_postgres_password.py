"""The PostgreSQL password: on the command line it is in every user's process list (the
warning says so and where to put it instead); from ``.pgpass``/``PGPASSFILE`` or
``PGPASSWORD`` with ``HYREKA_AMAZON_DATABASE`` it works against a real server that checks
passwords; in every message, whatever its form, it is masked, and the driver's errors are
messages, never tracebacks."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from helpers.postgres import PostgresServer
from psycopg import sql

from hyreka_plugin_amazon.refhost.cli import main as cli
from hyreka_plugin_amazon.refhost.i18n.texts import translate
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV
from hyreka_plugin_amazon.refhost.store.postgres import DATABASE_ENV, redacted

SECRET = "Geheim 9x@/:pw"  # a space, an "@", a "/" and a ":": every form must be masked
FRAGMENTS = ("Geheim", "eheim", "9x%40", "9x@")  # what would betray any form of it


def _leaks(text: str) -> list[str]:
    return [fragment for fragment in FRAGMENTS if fragment in text]


def _quoted(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


# --------------------------------------------------------------------------------------------
# Every form of the password, in every message


WARNING_DE = translate("cli.database_password_argv", "de", env=DATABASE_ENV)
URLS = {
    "user info, refused": f"postgresql://hy:{_quoted(SECRET)}@127.0.0.1:1/db",
    "user info, raw spaces": "postgresql://hy:Geheim 9x@127.0.0.1:1/db",
    "password parameter": f"postgresql://hy@127.0.0.1:1/db?password={_quoted(SECRET)}",
    "parameter with spaces": "postgresql://hy@127.0.0.1:1/db?password=Geheim 9x",
    "parameter, plus for space": "postgresql://hy@127.0.0.1:1/db?sslmode=disable&Password=Geheim+9x",
    "unclosed IPv6 host": "postgresql://hy:Geheim-9x@[::1/db",
    "bad port": "postgresql://hy:Geheim-9x@127.0.0.1:port/db",
    "keyword string": "host=127.0.0.1 password=Geheim-9x user=hy",
}


@pytest.mark.parametrize("source", ["argv", "environment"])
@pytest.mark.parametrize("url", list(URLS.values()), ids=list(URLS))
def test_no_form_of_the_password_reaches_a_message(
    url: str,
    source: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
    args = ["account", "list", "--data", str(tmp_path / "data"), "--lang", "de"]
    if source == "argv":
        args += ["--database", url]
    else:
        monkeypatch.setenv(DATABASE_ENV, url)
    code = cli.main(args)
    out, err = capsys.readouterr()
    assert code in (2, 3, 75), err
    assert "Traceback" not in err
    assert _leaks(out + err) == [], err
    assert err.count("hyreka-amazon:") == (2 if source == "argv" else 1), err
    assert (WARNING_DE in err) == (source == "argv")  # the environment is the user's own
    assert _leaks(redacted(url)) == []


# --------------------------------------------------------------------------------------------
# A real server that checks passwords


@dataclass
class PasswordRole:
    server: PostgresServer
    user: str
    password: str
    database: str

    def url(self, *, with_password: bool = False) -> str:
        secret = f":{_quoted(self.password)}" if with_password else ""
        return f"postgresql://{self.user}{secret}@127.0.0.1:{self.server.port}/{self.database}"


@pytest.fixture
def password_role(postgres_server: PostgresServer) -> Iterator[PasswordRole]:
    """A role with a password, its own database, and a pg_hba.conf line that makes the server
    check that role's password (the test server trusts everybody else)."""
    user = f"hy_{uuid.uuid4().hex[:8]}"
    role = PasswordRole(postgres_server, user, SECRET, f"{user}_db")
    hba = postgres_server.folder / "data" / "pg_hba.conf"
    before = hba.read_text()
    with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
        create = sql.SQL("CREATE ROLE {} LOGIN PASSWORD {}")
        conn.execute(create.format(sql.Identifier(user), sql.Literal(SECRET)))
        conn.execute(f'CREATE DATABASE "{role.database}" OWNER {user}'.encode())
        hba.write_text(f"host all {user} 127.0.0.1/32 scram-sha-256\n{before}")
        conn.execute("SELECT pg_reload_conf()")
    time.sleep(0.2)
    try:
        yield role
    finally:
        hba.write_text(before)
        with psycopg.connect(postgres_server.url(), autocommit=True) as conn:
            conn.execute("SELECT pg_reload_conf()")


def _pgpass(folder: Path, role: PasswordRole) -> Path:
    escaped = role.password.replace("\\", "\\\\").replace(":", "\\:")
    path = folder / "pgpass"
    path.write_text(f"127.0.0.1:{role.server.port}:{role.database}:{role.user}:{escaped}\n")
    path.chmod(0o600)
    return path


def test_the_server_really_checks_the_password(password_role: PasswordRole) -> None:
    with pytest.raises(psycopg.OperationalError, match="password"):
        psycopg.connect(password_role.url(), password="wrong", connect_timeout=5).close()
    psycopg.connect(password_role.url(with_password=True), connect_timeout=5).close()


@pytest.mark.parametrize("way", ["PGPASSFILE", "PGPASSWORD"])
def test_the_password_from_pgpass_or_pgpassword_with_the_url_in_the_environment(
    way: str,
    password_role: PasswordRole,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
    monkeypatch.setenv(DATABASE_ENV, password_role.url())  # no password in it, nor in argv
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.pgpass of the one running the tests
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.delenv("PGPASSFILE", raising=False)
    data = ["--data", str(tmp_path / "data")]

    assert cli.main(["account", "list", *data]) == 2  # no password anywhere: refused
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert "password" in err

    if way == "PGPASSFILE":
        monkeypatch.setenv("PGPASSFILE", str(_pgpass(tmp_path, password_role)))
    else:
        monkeypatch.setenv("PGPASSWORD", password_role.password)
    assert cli.main(["account", "list", *data, "--lang", "en"]) == 0
    out, err = capsys.readouterr()
    assert translate("cli.no_accounts", "en") in out
    assert err == ""  # no warning: nothing secret on the command line


def test_default_pgpass_in_home_is_used(
    password_role: PasswordRole,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(KEY_ENV, Fernet.generate_key().decode())
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.delenv("PGPASSFILE", raising=False)
    shutil.move(_pgpass(tmp_path, password_role), tmp_path / ".pgpass")
    code = cli.main(
        ["account", "list", "--data", str(tmp_path / "data"), "--database", password_role.url()]
    )
    _, err = capsys.readouterr()
    assert code == 0, err
    assert err == ""


@pytest.mark.slow
def test_a_password_in_argv_is_in_every_users_process_list_and_the_warning_says_so(
    password_role: PasswordRole, tmp_path: Path
) -> None:
    """The attack: any local user reads /proc/PID/cmdline of the running command."""
    env = {
        **os.environ,
        KEY_ENV: Fernet.generate_key().decode(),
        "HYREKA_LANG": "de",
        "HOME": str(tmp_path),
    }
    env.pop(DATABASE_ENV, None)
    url = password_role.url(with_password=True)
    command = [sys.executable, "-m", "hyreka_plugin_amazon.refhost.cli", "web", "--port", "0"]
    process = subprocess.Popen(
        [*command, "--data", str(tmp_path / "data"), "--database", url],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # the console is up: the command is running
        assert line.startswith("WEB_URL="), line
        cmdline = Path(f"/proc/{process.pid}/cmdline")
        assert _quoted(SECRET).encode() in cmdline.read_bytes()  # what `ps` shows everybody
        assert stat.S_IMODE(cmdline.stat().st_mode) & stat.S_IROTH
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert WARNING_DE in err
    assert "PGPASSFILE" in WARNING_DE
    assert "PGPASSWORD" in WARNING_DE
    assert DATABASE_ENV in WARNING_DE
    assert _leaks(err) == []
