"""Accounts in the store: their settings in plain columns, their secrets encrypted."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from hyreka_plugin_amazon.contract import Account
from hyreka_plugin_amazon.refhost.store.database import Database, Row
from hyreka_plugin_amazon.refhost.store.errors import AccountExistsError, AccountNotFoundError
from hyreka_plugin_amazon.refhost.vault import Vault
from hyreka_plugin_amazon.secret import Secret


class AccountStore(Database):
    """Adds, changes, reads and removes accounts; remembers which account ids exist."""

    def __init__(
        self, path: Path | str, vault: Vault, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._known_accounts: set[str] = set()  # ids seen in the table (removed: discarded)
        super().__init__(path, vault, clock=clock)

    def add_account(self, account: Account) -> None:
        now = self._now()
        try:
            with self._write() as db:
                db.execute(
                    "INSERT INTO accounts (id, name, connector, region, marketplace_ids, client_id,"
                    " client_secret, refresh_token, endpoint, token_url, settings, locale, key_id,"
                    " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (account.id, account.name, *self._account_values(account), now, now),
                )
        except self._integrity_errors:
            raise AccountExistsError(
                f"an account named {account.name!r} or with id {account.id!r} already exists"
            ) from None

    def update_account(self, account: Account) -> None:
        try:
            with self._write() as db:
                changed = db.execute(
                    "UPDATE accounts SET name = ?, connector = ?, region = ?, marketplace_ids = ?,"
                    " client_id = ?, client_secret = ?, refresh_token = ?, endpoint = ?,"
                    " token_url = ?, settings = ?, locale = ?, key_id = ?, updated_at = ?"
                    " WHERE id = ?",
                    (account.name, *self._account_values(account), self._now(), account.id),
                ).rowcount
        except self._integrity_errors:
            raise AccountExistsError(f"an account named {account.name!r} already exists") from None
        if not changed:
            raise AccountNotFoundError(f"no account with id {account.id!r}")

    def _account_values(self, account: Account) -> tuple[Any, ...]:
        """The columns from ``connector`` to ``key_id``, in table order."""
        return (
            account.connector,
            account.region,
            json.dumps(list(account.marketplace_ids)),
            account.client_id,
            self._vault.encrypt_text(account.client_secret.reveal()),
            self._vault.encrypt_text(account.refresh_token.reveal()),
            account.endpoint,
            account.token_url,
            json.dumps(dict(account.settings)),
            account.locale,
            self._vault.key_id,
        )

    def get_account(self, name_or_id: str) -> Account:
        rows = self._read(
            "SELECT * FROM accounts WHERE id = ? UNION ALL SELECT * FROM accounts WHERE name = ?",
            (name_or_id, name_or_id),
        )
        if not rows:
            raise AccountNotFoundError(f"no account named {name_or_id!r} or with that id")
        return self._account(rows[0])

    def list_accounts(self) -> list[Account]:
        return [self._account(row) for row in self._read("SELECT * FROM accounts ORDER BY name")]

    def remove_account(self, name_or_id: str) -> None:
        """Remove the account with its orders, state, problems and sync runs."""
        account_id = self.get_account(name_or_id).id
        with self._write() as db:
            db.execute("DELETE FROM accounts WHERE id = ?", (account_id,))
            self._known_accounts.discard(account_id)

    def _check_account(self, account_id: str) -> None:
        """Raise ``AccountNotFoundError`` unless the account exists (asked once per id)."""
        if account_id in self._known_accounts:
            return
        if not self._db.execute("SELECT 1 FROM accounts WHERE id = ?", (account_id,)).fetchone():
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
            client_secret=Secret(self._vault.decrypt_text(row["client_secret"])),
            refresh_token=Secret(self._vault.decrypt_text(row["refresh_token"])),
            endpoint=row["endpoint"],
            token_url=row["token_url"],
            settings=json.loads(row["settings"]),
            locale=row["locale"],
        )
