"""The reference host's storage: one SQLite file (or a PostgreSQL database), secrets and
personal data encrypted.

Each backend's SQL is written out in ``sql/``: its schema (``<dialect>_schema.sql``) and every
statement the store runs, by name (``<dialect>.sql``, read by ``sqlfiles``). The ``Store`` is
built from one part per duty, each in its own module:

- ``schema``: SQLite's migration, the connection's settings, the stored time format;
  ``postgres``: PostgreSQL's connection and migration;
- ``database``: the connection, its lock, transactions, the vault (``Database``);
- ``checkpointer``: WAL checkpoints in a thread of their own (``Checkpointer``);
- ``accounts``: accounts, their secrets encrypted (``AccountStore``), listed without them
  (``StoredAccount``, damaged ones marked); ``datakeys``: each account's data key;
- ``orders``: orders committed one by one or staged for a sync, with the look-ups a sync
  reuses (``OrderStore``); ``payload``: an order's encrypted JSON record and its anonymised form;
- ``history``: per-account state, problems and sync runs (``HistoryStore``, ``SyncRun``);
- ``maintenance``: retention purge and key rotation (``MaintenanceStore``);
- ``shipments``: the outbox of shipment confirmations (``ShipmentStore``, ``StoredShipment``);
- ``invoices``: the outbox of invoice uploads (``InvoiceStore``, ``StoredInvoice``);
- ``adapter``: the host services of one sync on top of a store (``HostAdapter``);
- ``errors``: what the store raises.
"""

from __future__ import annotations

from hyreka_plugin_amazon.refhost.safety.vault import Vault
from hyreka_plugin_amazon.refhost.store.accounts import StoredAccount
from hyreka_plugin_amazon.refhost.store.adapter import KNOWN_IDS, HostAdapter
from hyreka_plugin_amazon.refhost.store.errors import (
    AccountExistsError,
    AccountNotFoundError,
    StoreError,
)
from hyreka_plugin_amazon.refhost.store.history import HistoryStore, OpenProblem, SyncRun
from hyreka_plugin_amazon.refhost.store.invoices import InvoiceStore, StoredInvoice
from hyreka_plugin_amazon.refhost.store.maintenance import MaintenanceStore
from hyreka_plugin_amazon.refhost.store.orderrecords import CLOSED_STATUSES, OrderSummary
from hyreka_plugin_amazon.refhost.store.payload import anonymised
from hyreka_plugin_amazon.refhost.store.schema import DB_FILE, SCHEMA_VERSION
from hyreka_plugin_amazon.refhost.store.shipments import (
    PackageError,
    ShipmentStore,
    StoredShipment,
)

__all__ = [
    "CLOSED_STATUSES",
    "DB_FILE",
    "KNOWN_IDS",
    "SCHEMA_VERSION",
    "AccountExistsError",
    "AccountNotFoundError",
    "HostAdapter",
    "OpenProblem",
    "OrderSummary",
    "PackageError",
    "Store",
    "StoreError",
    "StoredAccount",
    "StoredInvoice",
    "StoredShipment",
    "SyncRun",
    "anonymised",
]


class Store(MaintenanceStore, HistoryStore, ShipmentStore, InvoiceStore):
    """Accounts, orders, per-account state, problems, sync runs and the shipment and invoice
    outboxes; safe to share by threads.

    Open one with ``Store.open(data_dir)`` (or ``Store(path, vault)``); close it, or use it as
    a context manager, to commit the orders staged for a sync.
    """

    def rotate_key(self, vault: Vault) -> int:
        """``MaintenanceStore.rotate_key``, and the invoice PDFs kept in the outbox."""
        return super().rotate_key(vault) + self.reseal_invoices()
