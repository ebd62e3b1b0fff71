"""Keeping the store: removing personal data after retention, and re-encrypting under a new key."""

from __future__ import annotations

from datetime import datetime, timedelta

from hyreka_plugin_amazon.contract import OrderStatus
from hyreka_plugin_amazon.refhost.store.database import BATCH, Connection
from hyreka_plugin_amazon.refhost.store.orders import OrderStore
from hyreka_plugin_amazon.refhost.store.payload import anonymised, order_json
from hyreka_plugin_amazon.refhost.store.schema import ts
from hyreka_plugin_amazon.refhost.vault import Vault


class MaintenanceStore(OrderStore):
    """Retention (``purge_personal_data``) and key rotation (``rotate_key``)."""

    def purge_personal_data(
        self, *, now: datetime, after_days: int = 30, dry_run: bool = False
    ) -> list[str]:
        """Anonymise shipped and cancelled orders closed more than ``after_days`` ago.

        "Closed" is the order's last update at Amazon, else when the host first saw it closed.
        Addresses keep only their country; buyer e-mail, company and VAT id go; ids, amounts,
        dates, lines and status stay. Returns the affected order ids (``dry_run``: would be).
        """
        cutoff = ts(now - timedelta(days=after_days))
        rows = self._read(
            "SELECT rowid, amazon_order_id FROM orders WHERE purged_at IS NULL"
            " AND status IN (?, ?) AND COALESCE(last_updated, closed_at) < ? ORDER BY rowid",
            (OrderStatus.SHIPPED.value, OrderStatus.CANCELLED.value, cutoff),
        )
        if dry_run or not rows:
            return [row["amazon_order_id"] for row in rows]
        purged_at = ts(now)
        for start in range(0, len(rows), BATCH):
            with self._write() as db:
                for row in rows[start : start + BATCH]:
                    sealed = db.execute(
                        "SELECT payload FROM orders WHERE rowid = ?", (row["rowid"],)
                    ).fetchone()["payload"]
                    self._rewrite_payload(
                        db, row["rowid"], order_json(anonymised(self._order(sealed)))
                    )
                    db.execute(
                        "UPDATE orders SET purged_at = ? WHERE rowid = ?", (purged_at, row["rowid"])
                    )
        self._checkpoint()
        return [row["amazon_order_id"] for row in rows]

    def rotate_key(self, vault: Vault, *, batch_size: int = BATCH) -> int:
        """Re-encrypt every value not under ``vault``'s primary key; returns the rows rewritten.

        Each batch commits; after an interruption, call again: rows already under the primary
        key are skipped, the others still decrypt with the old key. The store uses ``vault``
        from now on (once it proved it reads this store).
        """
        key_id = vault.key_id
        with self._write() as db:
            check = db.execute("SELECT value FROM meta WHERE name = 'key_check'").fetchone()
            db.execute(
                "UPDATE meta SET value = ?, key_id = ? WHERE name = 'key_check'",
                (vault.rotate(check["value"]), key_id),
            )
        self._vault = vault
        rotated = 0
        with self._write() as db:
            for account in db.execute(
                "SELECT id, client_secret, refresh_token FROM accounts WHERE key_id != ?",
                (key_id,),
            ).fetchall():
                db.execute(
                    "UPDATE accounts SET client_secret = ?, refresh_token = ?, key_id = ?"
                    " WHERE id = ?",
                    (
                        vault.rotate(account["client_secret"]),
                        vault.rotate(account["refresh_token"]),
                        key_id,
                        account["id"],
                    ),
                )
                rotated += 1
        last = 0
        while True:
            with self._write() as db:
                rows = db.execute(
                    "SELECT rowid, payload FROM orders WHERE rowid > ? AND key_id != ?"
                    " ORDER BY rowid LIMIT ?",
                    (last, key_id, batch_size),
                ).fetchall()
                for row in rows:
                    self._rewrite_payload(db, row["rowid"], self._unseal(row["payload"]))
            if not rows:
                break
            rotated += len(rows)
            last = rows[-1]["rowid"]
        self._checkpoint()
        return rotated

    def _rewrite_payload(self, db: Connection, rowid: int, payload: bytes) -> None:
        vault = self._vault
        db.execute(
            "UPDATE orders SET payload = ?, payload_mac = ?, key_id = ?, updated_at = ?"
            " WHERE rowid = ?",
            (self._seal(payload), vault.mac(payload), vault.key_id, self._now(), rowid),
        )
