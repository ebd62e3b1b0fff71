"""Accounts in the store: their settings in plain columns, their secrets encrypted, and each
account's data key (``datakeys``) in a row of its own.

An account whose stored secrets do not open (its row was changed outside the host) is
*damaged*: it is listed (``stored_accounts``, no secret opened for the listing) and marked,
can be removed and given new credentials, while the other accounts work on; only reading it
whole (``get_account``, for a sync or a login test) fails, with ``AccountTamperedError``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from hyreka_plugin_amazon.contract import Account
from hyreka_plugin_amazon.refhost.safety.terminal import check_account_name
from hyreka_plugin_amazon.refhost.safety.vault import DataKey, Vault, VaultError
from hyreka_plugin_amazon.refhost.store.database import Connection, Database, Row
from hyreka_plugin_amazon.refhost.store.datakeys import account_key_binding, new_account_key_id
from hyreka_plugin_amazon.refhost.store.errors import (
    AccountExistsError,
    AccountNotFoundError,
    AccountTamperedError,
)
from hyreka_plugin_amazon.secret import Secret

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredAccount:
    """An account as listed: everything but its secrets (never opened for a listing), and
    whether it is ``damaged`` (its stored secrets do not open: enter them again)."""

    id: str
    name: str
    connector: str
    region: str
    marketplace_ids: tuple[str, ...]
    client_id: str
    endpoint: str | None
    token_url: str | None
    settings: Mapping[str, str] = field(default_factory=dict)
    locale: str = "de"
    damaged: bool = False


class AccountStore(Database):
    """Adds, changes, reads and removes accounts; remembers which account ids exist."""

    def __init__(
        self, path: Path | str, vault: Vault, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._known_accounts: set[str] = set()  # ids seen in the table (removed: discarded)
        self._account_keys: dict[str, tuple[str, DataKey]] = {}  # account id -> (key id, key)
        super().__init__(path, vault, clock=clock)
        self._bind_unbound_secrets()

    def add_account(self, account: Account) -> None:
        check_account_name(account.name)
        now = self._now()
        try:
            with self._write() as db:
                db.execute(self._sql.insert_account, {**self._account_params(account), "now": now})
                self._new_account_key(db, account.id)
        except self._integrity_errors:
            raise AccountExistsError(
                f"an account named {account.name!r} or with id {account.id!r} already exists"
            ) from None

    def update_account(self, account: Account) -> None:
        check_account_name(account.name)
        try:
            with self._write() as db:
                changed = db.execute(
                    self._sql.update_account,
                    {**self._account_params(account), "now": self._now()},
                ).rowcount
        except self._integrity_errors:
            raise AccountExistsError(f"an account named {account.name!r} already exists") from None
        if not changed:
            raise AccountNotFoundError(f"no account with id {account.id!r}")

    def _account_params(self, account: Account) -> dict[str, Any]:
        """The columns from ``id`` to ``key_id``, by name (secrets sealed)."""
        return {
            "id": account.id,
            "name": account.name,
            "connector": account.connector,
            "region": account.region,
            "marketplace_ids": json.dumps(list(account.marketplace_ids)),
            "client_id": account.client_id,
            **self._sealed_secrets(account),
            "endpoint": account.endpoint,
            "token_url": account.token_url,
            "settings": json.dumps(dict(account.settings)),
            "locale": account.locale,
        }

    def _sealed_secrets(self, account: Account) -> dict[str, Any]:
        """The parameters of ``reseal_account``: the secrets sealed under the primary key."""
        return {
            "id": account.id,
            "client_secret": self._seal_secret(
                account, "client_secret", account.client_secret.reveal()
            ),
            "refresh_token": self._seal_secret(
                account, "refresh_token", account.refresh_token.reveal()
            ),
            "key_id": self._vault.key_id,
        }

    def get_account(self, name_or_id: str) -> Account:
        rows = self._read(self._sql.find_account, {"key": name_or_id})
        if not rows:
            raise AccountNotFoundError(f"no account named {name_or_id!r} or with that id")
        return self._account(rows[0])

    def list_accounts(self) -> list[Account]:
        """The accounts whose secrets open; a damaged one is left out (``stored_accounts``
        lists it), so that it does not take the others down."""
        found: list[Account] = []
        for row in self._read(self._sql.list_accounts):
            try:
                found.append(self._account(row))
            except (VaultError, ValueError):  # AccountTamperedError is a ValueError too
                log.warning(
                    "account %r is damaged: its credentials must be entered again", row["name"]
                )
        return found

    def stored_accounts(self) -> list[StoredAccount]:
        """Every account, damaged ones marked, without its secrets."""
        return [self._stored(row) for row in self._read(self._sql.list_accounts)]

    def stored_account(self, name_or_id: str) -> StoredAccount:
        """The account (by id, else by name) without its secrets, damaged or not."""
        rows = self._read(self._sql.find_account, {"key": name_or_id})
        if not rows:
            raise AccountNotFoundError(f"no account named {name_or_id!r} or with that id")
        return self._stored(rows[0])

    def _stored(self, row: Row) -> StoredAccount:
        damaged = not self._secrets_open(row)
        try:
            marketplace_ids = tuple(str(m) for m in json.loads(row["marketplace_ids"]))
            settings = {str(k): str(v) for k, v in dict(json.loads(row["settings"])).items()}
        except (ValueError, TypeError):  # changed outside the host
            marketplace_ids, settings, damaged = (), {}, True
        return StoredAccount(
            id=row["id"],
            name=row["name"],
            connector=row["connector"],
            region=row["region"],
            marketplace_ids=marketplace_ids,
            client_id=row["client_id"],
            endpoint=row["endpoint"],
            token_url=row["token_url"],
            settings=settings,
            locale=row["locale"],
            damaged=damaged,
        )

    def _secrets_open(self, row: Row) -> bool:
        """Whether the row's secrets decrypt (checked and dropped at once, never kept)."""
        try:
            for name in ("client_secret", "refresh_token"):
                self._open_secret(row, name)
        except (VaultError, ValueError):
            return False
        return True

    def remove_account(self, name_or_id: str) -> bool:
        """Remove the account with its orders, state, problems and sync runs, and destroy its
        data key: old copies of its order records have nothing left to open them.

        True when old copies of the key are gone too (``_erase_old_copies``); False when
        another connection kept them (SQLite's write-ahead log was not emptied)."""
        account_id = self.stored_account(name_or_id).id  # a damaged one too
        with self._write() as db:
            db.execute(self._sql.delete_account, {"account_id": account_id})
            self._known_accounts.discard(account_id)
            self._account_keys.pop(account_id, None)
        # SQLite: secure_delete overwrote the freed pages in the WAL; the checkpoint carries
        # that into the database file and empties the WAL. PostgreSQL: the key table is
        # rewritten, so the key's dead row leaves its files.
        return self._erase_old_copies("account_keys")

    # Data keys (datakeys): an account's key is made with the account (or, for accounts of
    # older stores, when the store first opens) and never changes; a key rotation wraps it
    # again under the new vault key.

    def _new_account_key(self, db: Connection, account_id: str) -> None:
        """Give the account a data key unless it has one (in a write transaction)."""
        key_id = new_account_key_id()
        db.execute(
            self._sql.insert_account_key,
            {
                "account_id": account_id,
                "id": key_id,
                "wrapped": self._vault.wrap_key(
                    DataKey.generate(), account_key_binding(account_id, key_id)
                ),
                "key_id": self._vault.key_id,
                "now": self._now(),
            },
        )

    def _account_key(
        self,
        db: Connection,
        account_id: str,
        *,
        key_id: str | None = None,
        for_write: bool = False,
    ) -> tuple[str, DataKey]:
        """The account's data key and its id. ``key_id``: the key a record names (taken from
        memory when it is that one); ``for_write``: read in the write transaction that seals
        with it (and made when the account has none yet)."""
        known = self._account_keys.get(account_id)
        if known is not None and key_id is not None and known[0] == key_id:
            return known
        sql = self._sql.account_key_for_write if for_write else self._sql.account_key
        row = db.execute(sql, {"account_id": account_id}).fetchone()
        if row is None and for_write:
            self._new_account_key(db, account_id)  # no account: IntegrityError, as for orders
            row = db.execute(sql, {"account_id": account_id}).fetchone()
        if row is None or (key_id is not None and row["id"] != key_id):
            raise self._vault_cannot_decrypt()
        if known is not None and known[0] == row["id"]:
            return known
        key = self._vault.unwrap_key(row["wrapped"], account_key_binding(account_id, row["id"]))
        self._account_keys[account_id] = (row["id"], key)
        return row["id"], key

    def _vault_cannot_decrypt(self) -> VaultError:
        return VaultError(
            "cannot decrypt a stored order: the key it was sealed with is gone (its account "
            "was removed, or the row was changed outside hyreka-amazon)",
            text_id="store.data_key_missing",
        )

    def _check_account(self, account_id: str) -> None:
        """Raise ``AccountNotFoundError`` unless the account exists (asked once per id)."""
        if account_id in self._known_accounts:
            return
        if not self._db.execute(self._sql.account_exists, {"account_id": account_id}).fetchone():
            raise AccountNotFoundError(f"no account with id {account_id!r}")
        self._known_accounts.add(account_id)

    def _account(self, row: Row) -> Account:
        return Account(
            id=row["id"],
            name=row["name"],
            connector=row["connector"],
            region=row["region"],
            marketplace_ids=tuple(json.loads(row["marketplace_ids"])),
            client_id=row["client_id"],
            client_secret=Secret(self._open_secret(row, "client_secret")),
            refresh_token=Secret(self._open_secret(row, "refresh_token")),
            endpoint=row["endpoint"],
            token_url=row["token_url"],
            settings=json.loads(row["settings"]),
            locale=row["locale"],
        )

    # Secrets are sealed bound to the account's id, client id, endpoint and token URL: a row
    # whose endpoint or token URL was pointed elsewhere (or a secret copied from another row)
    # fails to decrypt, so the secrets never go to a server the seller did not enter.

    def _seal_secret(self, account: Account, field: str, value: str) -> bytes:
        binding = secret_binding(
            account.id, field, account.client_id, account.endpoint, account.token_url
        )
        return self._vault.seal(value.encode("utf-8"), binding)

    def _open_secret(self, row: Row, field: str) -> str:
        binding = secret_binding(
            row["id"], field, row["client_id"], row["endpoint"], row["token_url"]
        )
        try:
            return self._vault.decrypt(row[field], binding).decode("utf-8")
        except VaultError:
            if not self._vault.is_bound(row[field]):
                raise
            raise AccountTamperedError(
                f"the stored credentials of account {row['name']!r} do not match its id, client "
                "id, endpoint or token URL (the row was changed outside hyreka-amazon, or the "
                "key is wrong); nothing was sent; enter the credentials again",
                text_id="store.account_tampered",
                name=row["name"],
            ) from None

    def _bind_unbound_secrets(self) -> None:
        """Re-seal secrets written before they were bound to their row (older stores)."""
        rows = [
            row
            for row in self._read(self._sql.list_accounts)
            if not (
                self._vault.is_bound(row["client_secret"])
                and self._vault.is_bound(row["refresh_token"])
            )
            and self._secrets_open(row)  # a damaged one waits for new credentials
        ]
        if not rows:
            return
        with self._write() as db:
            for row in rows:
                db.execute(self._sql.reseal_account, self._sealed_secrets(self._account(row)))


def secret_binding(
    account_id: str, field: str, client_id: str, endpoint: str | None, token_url: str | None
) -> bytes:
    """The associated data of an account's secret: the row and where the secret may go."""
    return json.dumps(["account", account_id, field, client_id, endpoint, token_url]).encode()
