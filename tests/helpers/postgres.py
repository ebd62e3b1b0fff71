"""A throw-away PostgreSQL server for the tests: Debian's ``postgresql`` binaries, ``initdb`` and
``pg_ctl`` in a temporary folder, listening on 127.0.0.1 on a free port (and a socket in that
folder), trust authentication, ``fsync`` off. Run as root, the server runs as ``nobody`` (the
folder is given to that user): PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

UNPRIVILEGED_USER = "nobody"


class PostgresUnavailable(RuntimeError):
    """No PostgreSQL binaries here (the reason says what to install)."""


def find_bin_dir() -> Path:
    """The folder of ``initdb`` and ``pg_ctl``: $PATH, else Debian's /usr/lib/postgresql/N/bin."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).parent
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"),
        key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0,
    )
    if not found:
        raise PostgresUnavailable(
            "PostgreSQL is not installed (no initdb on PATH or in /usr/lib/postgresql/*/bin); "
            "install Debian's package: apt-get install postgresql"
        )
    return Path(found[-1]).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    """A running server; ``url(db)`` names one of its databases."""

    bin_dir: Path
    folder: Path
    port: int
    user: str | None  # who runs it (None: the current user)

    @classmethod
    def start(cls) -> PostgresServer:
        bin_dir = find_bin_dir()
        folder = Path(tempfile.mkdtemp(prefix="hyreka-pg-"))
        user = UNPRIVILEGED_USER if os.geteuid() == 0 else None
        if user is not None:
            entry = pwd.getpwnam(user)
            os.chown(folder, entry.pw_uid, entry.pw_gid)
        folder.chmod(0o700)
        server = cls(bin_dir, folder, _free_port(), user)
        server._run(
            "initdb",
            ["-D", str(folder / "data"), "-A", "trust", "-U", "postgres", "-E", "UTF8"],
            "--no-sync",
        )
        server.start_again()
        return server

    def start_again(self) -> None:
        """Start the server (again, after ``stop_only``): same folder, same port."""
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        self._run(
            "pg_ctl",
            ["-D", str(self.folder / "data"), "-l", str(self.folder / "log"), "-o", options],
            "-w",
        )

    def stop_only(self) -> None:
        """Stop the server as an outage does (connections end), keeping its data."""
        self._run("pg_ctl", ["-D", str(self.folder / "data"), "-m", "fast", "-w"], action="stop")

    def _run(self, tool: str, args: Sequence[str], *extra: str, action: str = "start") -> None:
        command = [str(self.bin_dir / tool), *args, *extra]
        if tool == "pg_ctl":
            command.append(action)
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr[-2000:]}")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh empty database; its URL."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            # FILE_COPY copies the template's files; 15's default (WAL_LOG) writes all of them
            # to the WAL too: 7.5 MB a database, read again by tests that scan the WAL.
            copy = " STRATEGY FILE_COPY" if conn.info.server_version >= 150000 else ""
            conn.execute(f'CREATE DATABASE "{name}"{copy}'.encode())
        return self.url(name)

    def stop(self) -> None:
        command = [str(self.bin_dir / "pg_ctl"), "-D", str(self.folder / "data"), "-m", "fast"]
        command.append("stop")
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, capture_output=True, check=False, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


def started_or_skipped() -> PostgresServer:
    """A new server for a fixture: skipped without PostgreSQL, failed under CI=true."""
    try:
        return PostgresServer.start()
    except PostgresUnavailable as exc:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must test on PostgreSQL: {exc}")
        pytest.skip(str(exc))
