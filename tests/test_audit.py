"""The host's audit log: entries without personal data, a tamper-evident chain, a retention."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from hyreka_plugin_amazon.refhost.safety.audit import (
    AUDIT_FILE,
    AuditError,
    AuditLog,
    retention_days,
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def test_an_entry_keeps_action_account_and_counts_in_a_private_file(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    log.record("export.orders", account="shop", orders=12, format="csv")
    (entry,) = log.entries()
    assert (entry.action, entry.account, dict(entry.facts)) == (
        "export.orders",
        "shop",
        {"orders": 12, "format": "csv"},
    )
    assert entry.user
    assert stat.S_IMODE((tmp_path / AUDIT_FILE).stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "fact",
    ["Jürgen Groß", "max@example.com", "Hauptstraße 1", "x" * 65, 1.5, ["a"]],
)
def test_a_fact_that_could_be_personal_data_is_refused(tmp_path: Path, fact: object) -> None:
    log = AuditLog(tmp_path)
    with pytest.raises(AuditError):
        log.record("export.orders", account="shop", buyer=fact)  # type: ignore[arg-type]
    assert log.entries() == []


def test_an_edited_or_deleted_line_breaks_the_chain(tmp_path: Path) -> None:
    log = AuditLog(tmp_path)
    for count in range(4):
        log.record("purge", orders=count)
    assert log.verify() is None
    path = tmp_path / AUDIT_FILE
    lines = path.read_text().splitlines()
    edited = json.loads(lines[1])
    edited["facts"]["orders"] = 99
    path.write_text("\n".join([lines[0], json.dumps(edited), *lines[2:]]) + "\n")
    assert log.verify() == 3
    path.write_text("\n".join([lines[0], *lines[2:]]) + "\n")  # line 2 removed
    assert log.verify() == 2


def test_entries_past_the_retention_are_dropped_and_the_chain_holds(tmp_path: Path) -> None:
    clock = Clock()
    log = AuditLog(tmp_path, retention_days=90, clock=clock)
    log.record("rotate_key")
    clock.now += timedelta(days=60)
    log.record("purge", orders=3)
    clock.now += timedelta(days=40)  # the first entry is now 100 days old
    log.record("account.remove", account="shop")
    assert [entry.action for entry in log.entries()] == ["purge", "account.remove"]
    assert log.verify() is None


def test_the_retention_is_at_least_ninety_days(tmp_path: Path) -> None:
    assert retention_days({}) == 400
    assert retention_days({"HYREKA_AMAZON_AUDIT_DAYS": "120"}) == 120
    with pytest.raises(AuditError, match="at least 90"):
        retention_days({"HYREKA_AMAZON_AUDIT_DAYS": "30"})
    with pytest.raises(AuditError, match="number of days"):
        retention_days({"HYREKA_AMAZON_AUDIT_DAYS": "soon"})
    with pytest.raises(AuditError):
        AuditLog(tmp_path, retention_days=7)


def test_two_processes_writing_at_once_keep_every_entry_and_the_chain(tmp_path: Path) -> None:
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from hyreka_plugin_amazon.refhost.safety.audit import AuditLog\n"
        "log = AuditLog(Path(sys.argv[1]))\n"
        "for n in range(40):\n"
        "    log.record('export.orders', orders=n)\n"
    )
    writers = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)]) for _ in range(2)]
    assert [writer.wait(60) for writer in writers] == [0, 0]
    log = AuditLog(tmp_path)
    assert len(log.entries()) == 80
    assert log.verify() is None
