"""The host's audit log: entries without personal data, a chain keyed with the vault key, its
anchor in the database, a retention; and the attacks of issue 25 item 5 (cut the first or the
last line, edit a line and chain it again with plain SHA-256, spoof ``LOGNAME``), on SQLite
and on PostgreSQL, through ``hyreka-amazon audit verify`` and ``status``."""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import stat
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from cryptography.fernet import Fernet
from helpers.cli import Cli, clean_environment

from hyreka_plugin_amazon.refhost.safety.audit import (
    AUDIT_FILE,
    AuditError,
    AuditLog,
    canonical,
    retention_days,
)
from hyreka_plugin_amazon.refhost.safety.auditstore import FileAuditStore
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV, Vault
from hyreka_plugin_amazon.refhost.services import auditing
from hyreka_plugin_amazon.refhost.store import DB_FILE, Store
from hyreka_plugin_amazon.refhost.store.postgres import DATABASE_ENV

SECRETS = {
    "AMAZON_LWA_CLIENT_ID": "amzn1.application-oa2-client.test",
    "AMAZON_LWA_CLIENT_SECRET": "amzn1.oa2-cs.v1.test",
    "AMAZON_REFRESH_TOKEN": "Atzr|test",
}
NOWHERE = ("--endpoint", "http://127.0.0.1:9", "--token-url", "http://127.0.0.1:9")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def vault(key: str) -> Vault:
    return Vault.open(Path("/nonexistent"), env={KEY_ENV: key})


@pytest.fixture
def folder(tmp_path: Path, key: str) -> Path:
    """A data folder with a store (whose database keeps the anchor)."""
    Store.open(tmp_path, env={KEY_ENV: key}).close()
    return tmp_path


def keyed(folder: Path, vault: Vault, **options: object) -> AuditLog:
    store = FileAuditStore(folder, anchor_db=folder / DB_FILE)
    return AuditLog(store=store, vault=vault, **options)  # type: ignore[arg-type]


def lines_of(folder: Path) -> list[str]:
    return (folder / AUDIT_FILE).read_text().splitlines()


def write_lines(folder: Path, lines: list[str]) -> None:
    (folder / AUDIT_FILE).write_text("".join(f"{line}\n" for line in lines))


def codes(log: AuditLog) -> list[str]:
    return [finding.code for finding in log.verify().findings]


def test_an_entry_keeps_action_account_and_counts_in_a_private_file(
    folder: Path, vault: Vault
) -> None:
    log = keyed(folder, vault)
    log.record("export.orders", account="shop", orders=12, format="csv")
    (entry,) = log.entries()
    assert (entry.action, entry.account, dict(entry.facts), entry.seq) == (
        "export.orders",
        "shop",
        {"orders": 12, "format": "csv"},
        1,
    )
    assert entry.user
    assert stat.S_IMODE((folder / AUDIT_FILE).stat().st_mode) == 0o600
    assert log.verify().intact


@pytest.mark.parametrize(
    "fact",
    ["Jürgen Groß", "max@example.com", "Hauptstraße 1", "x" * 65, 1.5, ["a"]],
)
def test_a_fact_that_could_be_personal_data_is_refused(
    folder: Path, vault: Vault, fact: object
) -> None:
    log = keyed(folder, vault)
    with pytest.raises(AuditError):
        log.record("export.orders", account="shop", buyer=fact)  # type: ignore[arg-type]
    assert log.entries() == []


def test_writing_or_checking_needs_the_vault_key(folder: Path) -> None:
    with pytest.raises(AuditError, match="vault key"):
        AuditLog(folder).record("purge", orders=1)
    with pytest.raises(AuditError, match="vault key"):
        AuditLog(folder).verify()


def test_the_user_is_the_effective_uids_whatever_logname_says(
    folder: Path, vault: Vault, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``getpass.getuser()`` believed ``LOGNAME``: anybody could sign as anybody."""
    for name in ("LOGNAME", "USER", "LNAME", "USERNAME"):
        monkeypatch.setenv(name, "mallory")
    log = keyed(folder, vault)
    log.record("key.rotate", values=3)
    assert log.entries()[0].user == pwd.getpwuid(os.geteuid()).pw_name != "mallory"


def test_an_edited_line_chained_again_with_plain_sha256_is_found(
    folder: Path, vault: Vault
) -> None:
    log = keyed(folder, vault)
    for count in range(4):
        log.record("orders.purge", orders=count)
    assert log.verify().intact
    lines = lines_of(folder)
    edited = json.loads(lines[1])
    edited["facts"]["orders"] = 99
    forged = [lines[0], canonical(edited)]
    for line in lines[2:]:  # the old chain's way: SHA-256 of the line before, no key needed
        data = json.loads(line)
        data["prev"] = hashlib.sha256(forged[-1].encode()).hexdigest()
        forged.append(canonical(data))
    write_lines(folder, forged)
    found = log.verify()
    assert not found.intact
    assert [(f.code, f.line) for f in found.findings][:2] == [("edited", 3), ("edited", 4)]


def test_a_line_removed_in_the_middle_is_found(folder: Path, vault: Vault) -> None:
    log = keyed(folder, vault)
    for count in range(4):
        log.record("orders.purge", orders=count)
    lines = lines_of(folder)
    write_lines(folder, [lines[0], *lines[2:]])
    found = log.verify()
    assert [(f.code, f.line, f.first, f.last) for f in found.findings] == [
        ("gap", 2, 2, 2),
        ("edited", 2, 0, 0),
    ]


@pytest.mark.parametrize("cut", ["first", "last", "all"])
def test_lines_cut_at_the_start_or_end_are_found_and_stay_found(
    folder: Path, vault: Vault, cut: str
) -> None:
    log = keyed(folder, vault)
    for count in range(4):
        log.record("orders.purge", orders=count)
    lines = lines_of(folder)
    kept = {"first": lines[1:], "last": lines[:-1], "all": []}[cut]
    write_lines(folder, kept)
    expected = {"first": [("cut_start", 1, 1)], "last": [("cut_end", 4, 4)]}
    expected["all"] = [("cut_end", 1, 4)]
    found = [(f.code, f.first, f.last) for f in log.verify().findings]
    assert found == expected[cut]
    log.record("account.add", account="shop")  # the next entry does not hide the cut
    after = {"first": ["cut_start"], "last": ["gap"], "all": ["cut_start"]}
    assert codes(log) == after[cut]


def test_a_missing_anchor_is_found_and_remembered(folder: Path, vault: Vault) -> None:
    log = keyed(folder, vault)
    log.record("orders.purge", orders=1)
    with Store.open(folder, env={KEY_ENV: vault_key(vault)}) as store:
        store._db.execute("DELETE FROM meta WHERE name = 'audit_anchor'")
    assert codes(log) == ["no_anchor"]
    log.record("orders.purge", orders=2)
    assert codes(log) == ["anchor_lost"]


def vault_key(vault: Vault) -> str:
    return vault._keys[0].decode()


def test_entries_past_the_retention_are_dropped_and_the_chain_holds(
    folder: Path, vault: Vault
) -> None:
    clock = Clock()
    log = keyed(folder, vault, retention_days=90, clock=clock)
    log.record("key.rotate")
    clock.now += timedelta(days=60)
    log.record("orders.purge", orders=3)
    clock.now += timedelta(days=40)  # the first entry is now 100 days old
    log.record("account.remove", account="shop")
    assert [(e.action, e.seq) for e in log.entries()] == [
        ("orders.purge", 2),
        ("account.remove", 3),
    ]
    assert log.verify().intact


def test_lines_of_the_unkeyed_chain_are_sealed_by_the_first_keyed_entry(
    folder: Path, vault: Vault
) -> None:
    """A log written before this version (SHA-256 links, no number) carries on."""
    old: list[str] = []
    prev = "0" * 64
    for count in range(3):
        line = json.dumps(
            {"action": "orders.purge", "account": None, "at": "2026-12-01T10:00:00+00:00",
             "facts": {"orders": count}, "pid": 1, "prev": prev, "user": "root"},
            ensure_ascii=True, sort_keys=True,
        )  # fmt: skip
        old.append(line)
        prev = hashlib.sha256(line.encode()).hexdigest()
    write_lines(folder, old)
    log = keyed(folder, vault)
    log.record("key.rotate", values=1)
    assert log.verify().intact
    assert [e.seq for e in log.entries()] == [None, None, None, 1]

    edited = json.loads(old[1])
    edited["facts"]["orders"] = 99  # and the old chain made again, as anyone could
    forged = [old[0], canonical(edited)]
    data = json.loads(old[2])
    data["prev"] = hashlib.sha256(forged[-1].encode()).hexdigest()
    forged.append(canonical(data))
    write_lines(folder, [*forged, lines_of(folder)[3]])
    assert codes(log) == ["edited"]  # the keyed entry no longer matches the last old line


def test_two_processes_writing_at_once_keep_every_entry_and_the_chain(
    folder: Path, key: str, vault: Vault
) -> None:
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from hyreka_plugin_amazon.refhost.safety.vault import Vault\n"
        "from hyreka_plugin_amazon.refhost.services.auditing import keyed_log\n"
        "folder = Path(sys.argv[1])\n"
        "log = keyed_log(folder, None, Vault.open(folder, create=False))\n"
        "for n in range(40):\n"
        "    log.record('export.orders', orders=n)\n"
    )
    env = {**os.environ, KEY_ENV: key}
    writers = [
        subprocess.Popen([sys.executable, "-c", script, str(folder)], env=env) for _ in range(2)
    ]
    assert [writer.wait(60) for writer in writers] == [0, 0]
    log = keyed(folder, vault)
    assert [e.seq for e in log.entries()] == list(range(1, 81))
    assert log.verify().intact


def test_the_retention_is_at_least_ninety_days(tmp_path: Path) -> None:
    assert retention_days({}) == 400
    assert retention_days({"HYREKA_AMAZON_AUDIT_DAYS": "120"}) == 120
    with pytest.raises(AuditError, match="at least 90"):
        retention_days({"HYREKA_AMAZON_AUDIT_DAYS": "30"})
    with pytest.raises(AuditError, match="number of days"):
        retention_days({"HYREKA_AMAZON_AUDIT_DAYS": "soon"})
    with pytest.raises(AuditError):
        AuditLog(tmp_path, retention_days=7)


# ---------------------------------------------------------------------------- the commands


@pytest.fixture
def run(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    host_env: dict[str, str],
    database: str | None,
) -> Cli:
    """Four audited actions of the CLI, on SQLite or PostgreSQL."""
    clean_environment(monkeypatch, {**host_env, **SECRETS})
    if database is not None:
        monkeypatch.setenv(DATABASE_ENV, database)
    cli = Cli(tmp_path / "data", capsys)
    cli("account", "add", "shop", "--marketplace", "DE", *NOWHERE)
    cli("account", "set", "shop", "--setting", "lookback_days=20")
    cli("account", "add", "other", "--marketplace", "DE", *NOWHERE)
    cli("orders", "--names")
    return cli


class Tamper:
    """Someone who can write the log (the file, or the table as its owner, with the append-only
    trigger switched off) but has no vault key."""

    def __init__(self, run: Cli, database: str | None) -> None:
        self.folder = run.data
        self.url = database

    def lines(self) -> list[str]:
        if self.url is None:
            return lines_of(self.folder)
        with psycopg.connect(self.url) as conn:
            rows = conn.execute("SELECT seq, entry, key_id, prev FROM audit_log ORDER BY seq")
            return [
                canonical({**json.loads(entry), "seq": seq, "key": key_id, "prev": prev})
                for seq, entry, key_id, prev in rows.fetchall()
            ]

    def write(self, lines: list[str]) -> None:
        if self.url is None:
            write_lines(self.folder, lines)
            return
        with psycopg.connect(self.url) as conn:
            conn.execute("ALTER TABLE audit_log DISABLE TRIGGER USER")
            conn.execute("DELETE FROM audit_log")
            for line in lines:
                data = json.loads(line)
                seq, key_id, prev = data.pop("seq"), data.pop("key"), data.pop("prev")
                conn.execute(
                    "INSERT INTO audit_log (seq, entry, key_id, prev) VALUES (%s, %s, %s, %s)",
                    (seq, canonical(data), key_id, prev),
                )
            conn.execute("ALTER TABLE audit_log ENABLE TRIGGER USER")


def rechained_with_sha256(lines: list[str], edit: int) -> list[str]:
    """``lines`` with line ``edit`` changed and every later link made again as SHA-256."""
    changed = json.loads(lines[edit])
    changed["action"] = "orders.view"
    forged = [*lines[:edit], canonical(changed)]
    for line in lines[edit + 1 :]:
        data = json.loads(line)
        data["prev"] = hashlib.sha256(forged[-1].encode()).hexdigest()
        forged.append(canonical(data))
    return forged


def test_audit_verify_and_status_say_the_log_is_intact(run: Cli) -> None:
    out, _ = run("audit", "verify")
    assert out == "Das Audit-Protokoll ist unversehrt: 4 Einträge.\n"
    out, _ = run("status", "--lang", "en")
    assert out.splitlines()[-1] == "Audit log: intact (4 entries)"


ATTACKS: dict[str, tuple[Callable[[list[str]], list[str]], str]] = {
    "first line cut": (
        lambda lines: lines[1:],
        "Entries 1 to 1 are missing at the start: the database records the log from entry 1.",
    ),
    "last line cut": (
        lambda lines: lines[:-1],
        "Entries 4 to 4 are missing at the end: the database records 4 entries.",
    ),
    "edited and re-chained with SHA-256": (
        lambda lines: rechained_with_sha256(lines, 1),
        "Line 3 does not match the line before it: that line was changed, or lines were "
        "removed or inserted there.",
    ),
    "last line edited and re-chained": (
        lambda lines: rechained_with_sha256(lines, 3),
        "Line 4 (entry 4, the last one the database records) was changed.",
    ),
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_audit_verify_finds_a_cut_or_edited_log_and_status_says_so(
    run: Cli, database: str | None, attack: str
) -> None:
    change, finding = ATTACKS[attack]
    tamper = Tamper(run, database)
    tamper.write(change(tamper.lines()))
    out, _ = run("audit", "verify", "--lang", "en", code=1)
    assert out.splitlines()[0].startswith("The audit log is NOT intact, ")
    assert f"  - {finding}" in out.splitlines()
    out, _ = run("status")
    assert out.splitlines()[-1].startswith("Audit-Protokoll: NICHT unversehrt (")
    assert out.splitlines()[-1].endswith("): hyreka-amazon audit verify")


def test_logname_does_not_change_the_user_on_either_database(
    run: Cli, database: str | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOGNAME", "mallory")
    monkeypatch.setenv("USER", "mallory")
    run("account", "remove", "other", "--yes")
    last = auditing.entries(run.data, database)[-1]
    assert (last.action, last.user) == ("account.remove", pwd.getpwuid(os.geteuid()).pw_name)


def test_a_key_rotation_relinks_the_log_under_the_new_key(
    run: Cli, database: str | None, monkeypatch: pytest.MonkeyPatch, host_env: dict[str, str]
) -> None:
    old = host_env[KEY_ENV]
    new = Fernet.generate_key().decode()
    monkeypatch.setenv(KEY_ENV, f"{new},{old}")
    run("rotate-key")
    monkeypatch.setenv(KEY_ENV, new)  # the old key is gone: the log must not need it
    out, _ = run("audit", "verify", "--lang", "en")
    assert out == "The audit log is intact: 5 entries.\n"
    rotation = auditing.entries(run.data, database)[-1]
    assert (rotation.action, rotation.facts["audit_intact"]) == ("key.rotate", True)


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
def test_on_postgresql_the_log_is_append_only(run: Cli, database: str) -> None:
    assert not (run.data / AUDIT_FILE).exists()  # the log is in the database only
    refused = (
        "UPDATE audit_log SET entry = '{}' WHERE seq = 2",
        "DELETE FROM audit_log WHERE seq = 4",
        "DELETE FROM audit_log",
        "TRUNCATE audit_log",
    )
    for statement in refused:
        with psycopg.connect(database) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT count(*) FROM audit_log").fetchone() == (4,)
    run("audit", "verify")
