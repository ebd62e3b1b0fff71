"""Opening an order record from the raw rows of a store, as someone holding the vault key and
a copy of the database would: the account's wrapped key (``account_keys``) and the sealed
record (``orders.payload``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hyreka_plugin_amazon.refhost.safety.vault import Vault
from hyreka_plugin_amazon.refhost.store.database import order_binding
from hyreka_plugin_amazon.refhost.store.datakeys import account_key_binding


def open_record(
    vault: Vault,
    account_id: str,
    amazon_order_id: str,
    *,
    account_key_id: str,
    wrapped_account_key: bytes,
    payload: bytes,
) -> bytes:
    """The plaintext of a record through its keys (``VaultError`` where that breaks)."""
    key = vault.unwrap_key(wrapped_account_key, account_key_binding(account_id, account_key_id))
    return key.open(payload, order_binding(account_id, amazon_order_id))


def sqlite_record(path: Path, vault: Vault, account_id: str, amazon_order_id: str) -> bytes:
    """``open_record`` of an order in the SQLite file at ``path``."""
    with sqlite3.connect(path) as db:
        account_key_id, wrapped_account_key = db.execute(
            "SELECT id, wrapped FROM account_keys WHERE account_id = ?", (account_id,)
        ).fetchone()
        (payload,) = db.execute(
            "SELECT payload FROM orders WHERE account_id = ? AND amazon_order_id = ?",
            (account_id, amazon_order_id),
        ).fetchone()
    db.close()
    return open_record(
        vault,
        account_id,
        amazon_order_id,
        account_key_id=account_key_id,
        wrapped_account_key=wrapped_account_key,
        payload=payload,
    )
