"""Keeping the store: removing personal data after retention, and wrapping keys under a new
vault key."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from hyreka_plugin_amazon.contract import Order, OrderStatus
from hyreka_plugin_amazon.refhost.safety.vault import DataKey, Vault
from hyreka_plugin_amazon.refhost.store.database import BATCH
from hyreka_plugin_amazon.refhost.store.datakeys import account_key_binding
from hyreka_plugin_amazon.refhost.store.errors import WalNotClearedError
from hyreka_plugin_amazon.refhost.store.orderrecords import OrderStore
from hyreka_plugin_amazon.refhost.store.payload import anonymised, order_json
from hyreka_plugin_amazon.refhost.store.schema import ts

STALE_AFTER_DAYS = 180  # backstop: personal data goes this long after an order's last update
# The statuses of a closed order, as the parameters of the retention statements.
_CLOSED = {"shipped": OrderStatus.SHIPPED.value, "cancelled": OrderStatus.CANCELLED.value}


class MaintenanceStore(OrderStore):
    """Retention (``purge_personal_data``) and key rotation (``rotate_key``)."""

    def purge_personal_data(
        self,
        *,
        now: datetime,
        after_days: int = 30,
        dry_run: bool = False,
        stale_after_days: int = STALE_AFTER_DAYS,
    ) -> list[str]:
        """Anonymise shipped and cancelled orders closed more than ``after_days`` ago, and
        (backstop) every order not updated for ``stale_after_days``, whatever its status.

        "Closed" is the order's last update at Amazon, else when the host first saw it closed;
        for the backstop, the last update at Amazon, else when the host first stored it. An
        open order purged by the backstop stays flagged (``stale_purged_order_ids``).
        Addresses keep only their country; buyer e-mail, company and VAT id go; ids, amounts,
        dates, lines and status stay. Returns the affected order ids (``dry_run``: would be).
        On SQLite the old records are overwritten (``secure_delete``) and the write-ahead log
        is emptied afterwards; when another connection keeps it from being emptied, raises
        ``WalNotClearedError`` (run it again). On PostgreSQL the old versions stay as dead
        tuples until VACUUM and reuse, sealed with the account's key, which goes only with the
        account (``purge_overwrites``: False there).
        """
        cutoff = ts(now - timedelta(days=after_days))
        stale = ts(now - timedelta(days=stale_after_days))
        rows = self._read(
            self._sql.purge_candidates,
            {**_CLOSED, "closed_before": cutoff, "stale_before": stale},
        )
        ids = [row["amazon_order_id"] for row in rows]
        if dry_run:
            return ids
        purged_at = ts(now)
        for start in range(0, len(rows), BATCH):
            with self._write() as db:
                for row in rows[start : start + BATCH]:
                    key = (row["account_id"], row["amazon_order_id"])
                    stored = db.execute(
                        self._sql.order_payload_for_write, {"rowid": row["rowid"]}
                    ).fetchone()
                    order = Order.from_dict(json.loads(self._open_record(db, stored, *key)))
                    self._rewrite_payload(db, row["rowid"], order_json(anonymised(order)), *key)
                    db.execute(
                        self._sql.mark_purged, {"purged_at": purged_at, "rowid": row["rowid"]}
                    )
        # SQLite empties its WAL each time (what an earlier purge could not empty goes too).
        if self.purge_overwrites and not self._checkpoint():
            raise WalNotClearedError(
                f"removed the personal data of {len(ids)} orders, but old copies are still in "
                f"the database's write-ahead log ({self.path.name}-wal) because another process "
                "is reading the database; stop it (e.g. `hyreka-amazon run`) and run "
                "`hyreka-amazon purge` again",
                len(ids),
                wal=f"{self.path.name}-wal",
            )
        return ids

    @property
    def purge_overwrites(self) -> bool:
        """Whether a purge leaves no old copy of what it removed: SQLite overwrites freed
        pages and empties its WAL; PostgreSQL keeps dead tuples until VACUUM and reuse."""
        return not self.is_postgres

    def stale_purged_order_ids(self, account_id: str | None = None) -> list[str]:
        """Orders whose personal data the backstop removed while they were still open."""
        rows = self._read(self._sql.stale_purged_order_ids, {**_CLOSED, "account_id": account_id})
        return [row["amazon_order_id"] for row in rows]

    def rotate_key(self, vault: Vault) -> int:
        """Re-encrypt every value not under ``vault``'s primary key; returns the values
        rewritten: accounts' secrets, accounts' data keys (wrapped again: the records sealed
        with them stay as they are) and records still sealed under a vault key.

        Each transaction commits; after an interruption, call again: values already under the
        primary key are skipped, the others still decrypt with the old key. The store uses
        ``vault`` from now on (once it proved it reads this store).
        """
        key_id = vault.key_id
        with self._write() as db:
            check = db.execute(self._sql.key_check_for_write).fetchone()
            db.execute(
                self._sql.update_key_check,
                {"value": vault.rotate(check["value"]), "key_id": key_id},
            )
        self._vault = vault
        rotated = 0
        with self._write() as db:
            stale = db.execute(self._sql.accounts_not_under_key, {"key_id": key_id}).fetchall()
            for row in stale:
                if not self._secrets_open(row):  # damaged: unreadable under any key until
                    continue  # the seller enters its credentials again
                db.execute(self._sql.reseal_account, self._sealed_secrets(self._account(row)))
                rotated += 1
            for row in db.execute(self._sql.account_keys_not_under_key, {"key_id": key_id}):
                binding = account_key_binding(row["account_id"], row["id"])
                key = DataKey(vault.decrypt(row["wrapped"], binding))
                db.execute(
                    self._sql.rewrap_account_key,
                    {
                        "account_id": row["account_id"],
                        "id": row["id"],
                        "wrapped": vault.wrap_key(key, binding),
                        "key_id": key_id,
                    },
                )
                rotated += 1
        rotated += self.seal_records_with_account_keys()
        if not self.is_postgres:
            self._checkpoint()  # best effort: old values stay readable only with the old key
        return rotated
