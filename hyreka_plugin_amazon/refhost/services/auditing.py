"""The audit log of a host, for every face: the entries the actions write, its check (``audit
verify``, ``status``) and its relinking when the vault key rotates.

Facts are counts, flags and short codes (``safety.audit`` refuses anything else); the
account is named by its name, never a buyer. The log is ``audit.log`` in the data folder with
its anchor in the SQLite database, or the append-only table ``audit_log`` when the host keeps
its data in PostgreSQL (``safety.auditstore``); its chain is keyed by the host's vault key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.safety.audit import (
    AuditCheck,
    AuditEntry,
    AuditLog,
    AuditStore,
    Fact,
    retention_days,
)
from hyreka_plugin_amazon.refhost.safety.auditstore import FileAuditStore, PgAuditStore
from hyreka_plugin_amazon.refhost.safety.vault import Vault
from hyreka_plugin_amazon.refhost.store import DB_FILE


def record(host: ReferenceHost, action: str, *, account: str | None = None, **facts: Fact) -> None:
    """One entry in the host's audit log."""
    log_of(host).record(action, account=account, **facts)


def verify(host: ReferenceHost) -> AuditCheck:
    """The host's audit log checked: its links, and cuts at its start or end."""
    return log_of(host).verify()


def entries(folder: Path, database: str | None = None) -> list[AuditEntry]:
    """The entries of the audit log of the data folder (of the PostgreSQL ``database``)."""
    return AuditLog(store=_store(folder, database)).entries()


def log_of(host: ReferenceHost) -> AuditLog:
    """The audit log of ``host``, keyed with its vault key."""
    vault = Vault.open(host.data_dir, env=host.env, create=False)
    return keyed_log(host.data_dir, host.store.url, vault)


def keyed_log(
    folder: Path, database: str | None, vault: Vault, env: Mapping[str, str] = os.environ
) -> AuditLog:
    """The audit log of the data folder (of the PostgreSQL ``database``) keyed with ``vault``
    (a key rotation's, while the old and the new key are both configured)."""
    return AuditLog(store=_store(folder, database), vault=vault, retention_days=retention_days(env))


def _store(folder: Path, database: str | None) -> AuditStore:
    if database is not None:
        return PgAuditStore(database)
    return FileAuditStore(folder, anchor_db=folder / DB_FILE)
