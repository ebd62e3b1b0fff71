"""The shipment outbox: each package the seller shipped, until Amazon confirmed it.

A shipment is recorded (pending) before anything is sent, and stays pending through crashes,
kills and Amazon's faults until an outcome says confirmed or refused; a refused one stays
visible with its reason until the seller corrects it (same package number) and it is sent
again. Package numbers are per account, positive and never reused for another package, so a
repeated send is an edit at Amazon, never a second package.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hyreka_plugin_amazon.contract import Shipment, ShipmentItem, ShipmentOutcome, ShipmentState
from hyreka_plugin_amazon.refhost.store.database import Connection, Database
from hyreka_plugin_amazon.refhost.store.errors import AccountNotFoundError, StoreError
from hyreka_plugin_amazon.refhost.store.schema import dt, ts

PackageState = Literal["pending", "confirmed", "refused"]


class PackageError(StoreError, ValueError):
    """A package number that cannot be corrected (unknown, or of another order)."""


@dataclass(frozen=True)
class StoredShipment:
    """A shipment in the outbox with where it stands and the last outcome's message."""

    shipment: Shipment
    state: PackageState
    code: str | None
    message: str | None
    attempts: int

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``orders --json`` (``packages``) and ``ship --json``."""
        s = self.shipment
        return {
            "package_id": s.package_id,
            "state": self.state,
            "carrier": s.carrier,
            "carrier_name": s.carrier_name,
            "shipping_method": s.shipping_method,
            "tracking_number": s.tracking_number,
            "ship_date": s.ship_date.isoformat(),
            "items": [{"order_item_id": i.order_item_id, "quantity": i.quantity} for i in s.items],
            "code": self.code,
            "message": self.message,
            "attempts": self.attempts,
        }


class ShipmentStore(Database):
    """Shipments per account and package number, with their state."""

    def record_shipment(self, account_id: str, shipment: Shipment) -> Shipment:
        """Keep the shipment as pending, before it is sent; the stored shipment is returned.

        ``package_id`` 0 takes the account's next package number (counted per account, so
        shipments recorded at once, by any number of processes, never share one) and inserts
        a new package; an existing number replaces that package's details (the seller corrects
        it) and makes it pending again, as long as it belongs to the same order.
        """
        now = self._now()
        package_id = shipment.package_id
        try:
            with self._write() as db:
                if package_id == 0:
                    row = db.execute(self._sql.next_package_id, {"account_id": account_id})
                    package_id = int(row.fetchone()["last_package_id"])
                    self._insert_package(db, account_id, package_id, shipment, now)
                else:
                    found = db.execute(
                        self._sql.package_order,
                        {"account_id": account_id, "package_id": package_id},
                    ).fetchone()
                    if found is None:
                        raise PackageError(f"no package {package_id} to correct")
                    if found["amazon_order_id"] != shipment.amazon_order_id:
                        raise PackageError(f"package {package_id} belongs to another order")
                    db.execute(
                        self._sql.correct_shipment,
                        _package_params(account_id, package_id, shipment, now),
                    )
        except self._integrity_errors:  # the package number was counted for no account
            raise AccountNotFoundError(f"no account with id {account_id!r}") from None
        return dataclasses.replace(shipment, package_id=package_id)

    def _insert_package(
        self, db: Connection, account_id: str, package_id: int, shipment: Shipment, now: str
    ) -> None:
        """Store a new package under ``package_id`` (in a write transaction): a plain insert,
        so a number the account already has fails (PackageError) and overwrites nothing."""
        try:
            db.execute(
                self._sql.insert_shipment, _package_params(account_id, package_id, shipment, now)
            )
        except self._integrity_errors:
            raise PackageError(
                f"package {package_id} of account {account_id!r} exists already; "
                "nothing was recorded"
            ) from None

    def pending_shipments(
        self, account_id: str, package_ids: Iterable[int] | None = None
    ) -> list[Shipment]:
        """The account's pending shipments in package order (only ``package_ids`` if given)."""
        rows = self._read(self._sql.pending_shipments, {"account_id": account_id})
        wanted = None if package_ids is None else set(package_ids)
        return [
            _stored(row).shipment for row in rows if wanted is None or row["package_id"] in wanted
        ]

    def record_outcomes(self, account_id: str, outcomes: Sequence[ShipmentOutcome]) -> None:
        """Confirmed and refused shipments leave the queue; retries stay pending."""
        now = self._now()
        with self._write() as db:
            for outcome in outcomes:
                state = {
                    ShipmentState.CONFIRMED: "confirmed",
                    ShipmentState.REFUSED: "refused",
                    ShipmentState.RETRY: "pending",
                }[outcome.state]
                db.execute(
                    self._sql.record_outcome,
                    {
                        "account_id": account_id,
                        "package_id": outcome.package_id,
                        "state": state,
                        "code": outcome.code,
                        "message": outcome.message,
                        "now": now,
                    },
                )

    def list_shipments(
        self, account_id: str | None = None, amazon_order_id: str | None = None
    ) -> list[StoredShipment]:
        """Shipments of an account (or all), of one order if given, in package order."""
        rows = self._read(
            self._sql.list_shipments,
            {"account_id": account_id, "amazon_order_id": amazon_order_id},
        )
        return [_stored(row) for row in rows]

    def count_pending_shipments(self, account_id: str) -> int:
        rows = self._read(self._sql.count_pending_shipments, {"account_id": account_id})
        return int(rows[0]["n"])


def _stored(row: Any) -> StoredShipment:
    items = tuple(ShipmentItem(str(item), int(qty)) for item, qty in json.loads(row["items"]))
    shipment = Shipment(
        amazon_order_id=row["amazon_order_id"],
        package_id=int(row["package_id"]),
        carrier=row["carrier"],
        tracking_number=row["tracking_number"],
        ship_date=dt(row["ship_date"]),
        items=items,
        carrier_name=row["carrier_name"],
        shipping_method=row["shipping_method"],
    )
    return StoredShipment(
        shipment=shipment,
        state=row["state"],
        code=row["code"],
        message=row["message"],
        attempts=int(row["attempts"]),
    )


def _package_params(
    account_id: str, package_id: int, shipment: Shipment, now: str
) -> dict[str, Any]:
    """The parameters of ``insert_shipment`` and ``correct_shipment``."""
    return {
        "account_id": account_id,
        "package_id": package_id,
        "amazon_order_id": shipment.amazon_order_id,
        "carrier": shipment.carrier,
        "carrier_name": shipment.carrier_name,
        "shipping_method": shipment.shipping_method,
        "tracking_number": shipment.tracking_number,
        "ship_date": ts(shipment.ship_date),
        "items": json.dumps([[i.order_item_id, i.quantity] for i in shipment.items]),
        "now": now,
    }
