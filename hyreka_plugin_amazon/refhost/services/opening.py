"""Opening the reference host for a face: the data folder, the database, the store in it.

A face gets its ``ReferenceHost`` here and hands it to the service actions; it never reaches
into the host's store itself. Read commands open an existing store only (``create=False``):
they create no folder and no key.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Mapping
from pathlib import Path

from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.refhost.paths import data_dir
from hyreka_plugin_amazon.refhost.services.errors import ServiceError
from hyreka_plugin_amazon.refhost.store import DB_FILE
from hyreka_plugin_amazon.refhost.store.database import check_not_lost
from hyreka_plugin_amazon.refhost.store.leases import AccountLocks
from hyreka_plugin_amazon.refhost.store.postgres import DATABASE_ENV as DATABASE_ENV
from hyreka_plugin_amazon.refhost.store.postgres import has_password as has_password
from hyreka_plugin_amazon.refhost.store.postgres import masked as masked

__all__ = [
    "DATABASE_ENV",
    "ReferenceHost",
    "database_url",
    "has_password",
    "has_store",
    "masked",
    "open_folder",
    "open_host",
    "shared_database",
]


def database_url(explicit: str | None, env: Mapping[str, str] = os.environ) -> str | None:
    """The PostgreSQL URL given, else ``HYREKA_AMAZON_DATABASE``; None: SQLite."""
    return explicit or env.get(DATABASE_ENV, "").strip() or None


def has_store(data: str | Path | None, database: str | None) -> bool:
    """Whether there is a store: a PostgreSQL database is named, or the data folder holds
    one (nothing is created)."""
    if database is not None:
        return True
    return (data_dir(data, create=False) / DB_FILE).exists()


def open_host(
    data: str | Path | None, database: str | None, *, create: bool = False
) -> ReferenceHost:
    """The host of the data folder ``data`` (and the PostgreSQL ``database``). Unless
    ``create`` (actions that store something new), a folder without a store is refused
    (``cli.no_data``); one that cannot be written is ``cli.data_unwritable``."""
    folder = data_dir(data, create=False)
    if database is None:
        check_not_lost(folder / DB_FILE)  # a key file without its database: never start anew
    if not create and not has_store(data, database):
        raise ServiceError("cli.no_data", kind="no_data", folder=folder)
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return ReferenceHost(folder, database=database)
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise  # a full disk, said so by each face (the CLI: cli.store_full)
        raise ServiceError("cli.data_unwritable", kind="no_data", folder=folder) from None


def open_folder(
    folder: Path, *, env: Mapping[str, str] = os.environ, database: str | None = None
) -> ReferenceHost:
    """The host of ``folder`` as it is (created when missing): the console, the workers, the
    demo's and a dry run's throw-away folders."""
    return ReferenceHost(folder, env=env, database=database)


def shared_database(host: ReferenceHost) -> str | None:
    """The PostgreSQL URL the host keeps its data in (workers share it); None: SQLite."""
    return host.store.url


def use_leases(host: ReferenceHost, leases: AccountLocks) -> None:
    """Hold the host's per-account leases with ``leases`` (a worker's, renewed with its
    heartbeat) instead of the store's own."""
    host.locks = leases
