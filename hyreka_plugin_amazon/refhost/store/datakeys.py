"""Data keys: what crypto-shredding stores and how each key is bound to its row.

Each account has a random AES-256 data key, stored only wrapped under the vault key in its
``account_keys`` row; each order has one too, wrapped under its account's key in its
``order_keys`` row; an order's record (``orders.payload``) and its MAC are sealed and keyed
with its order's key. Removing an account deletes its key row (the keys of its orders were
wrapped under it); a purge replaces an order's key row. Old copies of a record (SQLite's
freed pages and write-ahead log, PostgreSQL's dead tuples and WAL, a backup) then have no key
left to open them, even with the vault key.

Every wrapped key is bound (associated data) to the row it belongs to, so a key copied to
another row does not open it. ``orders.key_id`` names the account key (``ACCOUNT_KEY_PREFIX``
and 16 hex digits) its order's key is wrapped under; a vault key's id there marks a record
sealed under the vault key itself (a store from before data keys, sealed anew at open).
"""

from __future__ import annotations

import json
import os

ACCOUNT_KEY_PREFIX = "k"  # vault key ids are hex digits: never this letter


def new_account_key_id() -> str:
    return ACCOUNT_KEY_PREFIX + os.urandom(8).hex()


def is_account_key_id(key_id: str) -> bool:
    """Whether an order's ``key_id`` names an account key (its record is under an order key)."""
    return key_id.startswith(ACCOUNT_KEY_PREFIX)


_json_text = json.encoder.encode_basestring_ascii  # as json.dumps writes a string


def account_key_binding(account_id: str, key_id: str) -> bytes:
    """The associated data of an account's wrapped key: ``json.dumps(["account-key",
    account_id, key_id])``."""
    return f'["account-key", {_json_text(account_id)}, {_json_text(key_id)}]'.encode("ascii")


def order_key_binding(account_id: str, amazon_order_id: str, account_key_id: str) -> bytes:
    """The associated data of an order's wrapped key, its order and the account key over it:
    ``json.dumps(["order-key", account_id, amazon_order_id, account_key_id])``, written out
    (thousands per sync)."""
    return (
        f'["order-key", {_json_text(account_id)}, {_json_text(amazon_order_id)}, '
        f"{_json_text(account_key_id)}]"
    ).encode("ascii")
