"""The audit entries the actions write: one place, so that every face writes the same ones.

Facts are counts, flags and short codes (``safety.audit`` refuses anything else); the
account is named by its name, never a buyer.
"""

from __future__ import annotations

from pathlib import Path

from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.safety.audit import AuditLog, Fact, retention_days


def record(
    where: ReferenceHost | Path, action: str, *, account: str | None = None, **facts: Fact
) -> None:
    """One entry in the audit log of the host's data folder (or of the folder ``where``)."""
    folder = where.data_dir if isinstance(where, ReferenceHost) else where
    AuditLog(folder, retention_days=retention_days()).record(action, account=account, **facts)
