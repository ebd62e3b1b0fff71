"""The shipment outbox: each package the seller shipped, until Amazon confirmed it.

A shipment is recorded (pending) before anything is sent, and stays pending through crashes,
kills and Amazon's faults until an outcome says confirmed or refused; a refused one stays
visible with its reason until the seller corrects it (same package number) and it is sent
again. Package numbers are per account, positive and never reused for another package, so a
repeated send is an edit at Amazon, never a second package.

Exactly once: a confirmation is identified by its order, carrier, tracking number and items.
Recording the same confirmation again (a re-run, a double submit) finds the package that holds
it instead of making a new one; a console form's one-time token finds the package its first
submit recorded. A package is sent by one sender at a time (``claim_shipment``); a correction
bumps its revision, and an outcome applies only to the revision that was sent.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from hyreka_plugin_amazon.contract import Shipment, ShipmentItem, ShipmentOutcome, ShipmentState
from hyreka_plugin_amazon.refhost.store.database import Connection, Database, Row
from hyreka_plugin_amazon.refhost.store.errors import AccountNotFoundError, StoreError
from hyreka_plugin_amazon.refhost.store.leases import dead_holder, owner_name
from hyreka_plugin_amazon.refhost.store.schema import dt, ts

PackageState = Literal["pending", "confirmed", "refused"]
# new: a new package; corrected: the package named was corrected; same: the same confirmation
# (order, carrier, tracking number, items) is already in a package, which is used again;
# repeat: the form's one-time token was sent before, its package is the first submit's
Recording = Literal["new", "corrected", "same", "repeat"]
# applied: the outcome is the package's; stale: the package was corrected while it was sent
# (it stays pending, to be sent again); lost: another sender took the package over meanwhile
Applied = Literal["applied", "stale", "lost"]
CLAIM_TTL_S = 900.0  # longer than any one confirmShipment call with its retries may take


class PackageError(StoreError, ValueError):
    """A package number that cannot be corrected (unknown, or of another order)."""


class NothingToShipError(StoreError, ValueError):
    """No item is left to ship in a new package of the order (``text_id`` says why)."""


@dataclass(frozen=True)
class StoredShipment:
    """A shipment in the outbox with where it stands and the last outcome's message."""

    shipment: Shipment
    state: PackageState
    code: str | None
    message: str | None
    attempts: int
    revision: int = 1
    sender: str | None = None  # who is sending it now (None: nobody)

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


@dataclass(frozen=True)
class Recorded:
    """What recording a shipment did (``how``) and the package as stored now."""

    stored: StoredShipment
    how: Recording

    @property
    def shipment(self) -> Shipment:
        return self.stored.shipment


@dataclass(frozen=True)
class Claimed:
    """A package a sender holds: what it sends, and the revision that is."""

    shipment: Shipment
    revision: int


def new_sender() -> str:
    """A sender's token: this host and process (a dead sender's packages are taken over at
    once), and a random part of its own."""
    return f"{owner_name()}:{uuid.uuid4().hex[:8]}"


class ShipmentStore(Database):
    """Shipments per account and package number, with their state."""

    def record_shipment(self, account_id: str, shipment: Shipment) -> Shipment:
        """Keep the shipment as pending, before it is sent; the stored shipment is returned
        (see ``record_confirmation``)."""
        return self.record_confirmation(account_id, shipment).shipment

    def record_confirmation(
        self,
        account_id: str,
        shipment: Shipment,
        *,
        every_item_of: Sequence[tuple[str, int]] | None = None,
        token: str | None = None,
    ) -> Recorded:
        """Keep the shipment as pending, before it is sent, exactly once.

        ``package_id`` 0: the package already holding the same confirmation (order, carrier,
        tracking number, items) is used again (pending once more if it was refused), else a
        new package takes the account's next number (counted per account, so shipments
        recorded at once, by any number of processes, never share one; a plain insert). With
        ``every_item_of`` (the order's items and quantities) the package holds every item no
        other package holds, found under the same lock, and the same confirmation is the one
        with that carrier and tracking number (NothingToShipError when nothing is left).
        An existing number: that package's details are replaced (the seller corrects it), its
        revision goes up and it is pending again, as long as it belongs to the same order.
        ``token``: a form's one-time token; sent again, it finds the package of its first
        submit (``how`` "repeat") and records nothing.
        """
        now = self._now()
        try:
            with self._write() as db:
                recorded = self._record(db, account_id, shipment, every_item_of, token, now)
        except self._integrity_errors:  # the package number was counted for no account
            raise AccountNotFoundError(f"no account with id {account_id!r}") from None
        return recorded

    def _record(
        self,
        db: Connection,
        account_id: str,
        shipment: Shipment,
        every_item_of: Sequence[tuple[str, int]] | None,
        token: str | None,
        now: str,
    ) -> Recorded:
        ids = {"account_id": account_id}
        if token is not None:
            db.execute(self._sql.lock_packages, ids).fetchall()
            found = db.execute(self._sql.find_request, {**ids, "token": token}).fetchone()
            if found is not None:
                return Recorded(self._row(db, account_id, int(found["package_id"])), "repeat")
        package_id = shipment.package_id
        how: Recording
        if package_id == 0:
            db.execute(self._sql.lock_packages, ids).fetchall()
            listed = {"account_id": account_id, "amazon_order_id": shipment.amazon_order_id}
            rows = [_stored(r) for r in db.execute(self._sql.list_shipments, listed).fetchall()]
            same = same_confirmation(rows, shipment, any_items=every_item_of is not None)
            if same is not None:
                package_id, how = same.shipment.package_id, "same"
                if same.state == "refused":
                    db.execute(
                        self._sql.resend_shipment, {**ids, "package_id": package_id, "now": now}
                    )
            else:
                if every_item_of is not None:
                    left = items_left(every_item_of, rows)
                    if not left:
                        raise NothingToShipError(
                            f"every item of order {shipment.amazon_order_id} is already in a "
                            "package",
                            text_id="cli.ship_nothing_left",
                            order=shipment.amazon_order_id,
                        )
                    shipment = dataclasses.replace(
                        shipment, items=tuple(ShipmentItem(i, q) for i, q in left), all_items=True
                    )
                row = db.execute(self._sql.next_package_id, ids).fetchone()
                package_id, how = int(row["last_package_id"]), "new"
                self._insert_package(db, account_id, package_id, shipment, now)
        else:
            found = db.execute(
                self._sql.package_order, {**ids, "package_id": package_id}
            ).fetchone()
            if found is None:
                raise PackageError(f"no package {package_id} to correct")
            if found["amazon_order_id"] != shipment.amazon_order_id:
                raise PackageError(f"package {package_id} belongs to another order")
            db.execute(
                self._sql.correct_shipment, _package_params(account_id, package_id, shipment, now)
            )
            how = "corrected"
        if token is not None:
            db.execute(
                self._sql.insert_request,
                {**ids, "token": token, "package_id": package_id, "now": now},
            )
        return Recorded(self._row(db, account_id, package_id), how)

    def _row(self, db: Connection, account_id: str, package_id: int) -> StoredShipment:
        params = {"account_id": account_id, "package_id": package_id}
        return _stored(db.execute(self._sql.get_shipment, params).fetchone())

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

    def get_shipment(self, account_id: str, package_id: int) -> StoredShipment | None:
        """The package as it stands, or None."""
        params = {"account_id": account_id, "package_id": package_id}
        rows = self._read(self._sql.get_shipment, params)
        return _stored(rows[0]) if rows else None

    def pending_shipments(
        self, account_id: str, package_ids: Iterable[int] | None = None
    ) -> list[Shipment]:
        """The account's pending shipments in package order (only ``package_ids`` if given)."""
        rows = self._read(self._sql.pending_shipments, {"account_id": account_id})
        wanted = None if package_ids is None else set(package_ids)
        return [
            _stored(row).shipment for row in rows if wanted is None or row["package_id"] in wanted
        ]

    def claim_shipment(
        self, account_id: str, package_id: int, sender: str, *, ttl_s: float = CLAIM_TTL_S
    ) -> Claimed | None:
        """Hold the pending package for ``sender`` while it sends it: what to send and its
        revision; None when it is not pending or another live sender holds it (a sender whose
        process ended on this host, or whose time is up, is taken over)."""
        now = time.time()
        params = {
            "account_id": account_id,
            "package_id": package_id,
            "sender": sender,
            "until": now + ttl_s,
            "now": now,
            "replaces": sender,
        }
        for _ in range(2):
            with self._write() as db:
                rows = db.execute(self._sql.claim_shipment, params).fetchall()
                if rows:
                    return Claimed(_stored(rows[0]).shipment, int(rows[0]["revision"]))
                current = db.execute(self._sql.get_shipment, params).fetchone()
            holder = current["sender"] if current is not None else None
            if current is None or current["state"] != "pending" or holder is None:
                return None
            if dead_holder(str(holder)) is None:
                return None
            params["replaces"] = holder  # its process is gone: take it over
        return None

    def record_outcome(
        self, account_id: str, outcome: ShipmentOutcome, *, sender: str, revision: int
    ) -> Applied:
        """The outcome of ``sender``'s send of ``revision`` of the package (see ``Applied``);
        confirmed and refused shipments leave the queue, retries stay pending."""
        params = {
            "account_id": account_id,
            "package_id": outcome.package_id,
            "sender": sender,
            "revision": revision,
            "state": _STATES[outcome.state],
            "code": outcome.code,
            "message": outcome.message,
            "items": None if outcome.items is None else _items_json(outcome.items),
            "now": self._now(),
        }
        with self._write() as db:
            rows = db.execute(self._sql.record_outcome, params).fetchall()
        if not rows:
            return "lost"
        return "applied" if int(rows[0]["revision"]) == revision else "stale"

    def withdraw_shipment(self, account_id: str, amazon_order_id: str, package_id: int) -> bool:
        """Remove a refused package of the order from the outbox (and the form tokens that
        recorded it); False when the order has no such refused package. Its number is not
        given out again."""
        params = {
            "account_id": account_id,
            "amazon_order_id": amazon_order_id,
            "package_id": package_id,
        }
        with self._write() as db:
            if db.execute(self._sql.withdraw_shipment, params).rowcount == 0:
                return False
            db.execute(self._sql.forget_requests, params)
        return True

    def release_shipment(self, account_id: str, package_id: int, sender: str) -> None:
        """``sender`` gives the package back without an outcome (it stays pending)."""
        params = {"account_id": account_id, "package_id": package_id, "sender": sender}
        with self._write() as db:
            db.execute(self._sql.release_shipment, params)

    def record_outcomes(self, account_id: str, outcomes: Sequence[ShipmentOutcome]) -> None:
        """Outcomes for the packages' current revisions (of packages no one is sending)."""
        sender = new_sender()
        for outcome in outcomes:
            claimed = self.claim_shipment(account_id, outcome.package_id, sender)
            if claimed is not None:
                self.record_outcome(account_id, outcome, sender=sender, revision=claimed.revision)

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


_STATES: dict[ShipmentState, PackageState] = {
    ShipmentState.CONFIRMED: "confirmed",
    ShipmentState.REFUSED: "refused",
    ShipmentState.RETRY: "pending",
}


def confirmation_key(
    shipment: Shipment, *, any_items: bool = False
) -> tuple[str, str, str, tuple[tuple[str, int], ...] | None]:
    """What identifies a confirmation: order, carrier and tracking number (blanks and case
    aside) and the items with their quantities (None: any items)."""
    items: dict[str, int] = {}
    for item in shipment.items:
        items[item.order_item_id] = items.get(item.order_item_id, 0) + item.quantity
    return (
        shipment.amazon_order_id,
        " ".join(shipment.carrier.split()).casefold(),
        "".join(shipment.tracking_number.split()).casefold(),
        None if any_items else tuple(sorted(items.items())),
    )


def same_confirmation(
    packages: Iterable[StoredShipment], shipment: Shipment, *, any_items: bool = False
) -> StoredShipment | None:
    """The first of ``packages`` that holds the same confirmation as ``shipment``."""
    wanted = confirmation_key(shipment, any_items=any_items)
    for stored in packages:
        if confirmation_key(stored.shipment, any_items=any_items) == wanted:
            return stored
    return None


def items_left(
    ordered: Sequence[tuple[str, int]],
    packages: Iterable[StoredShipment],
    *,
    except_package: int = 0,
) -> list[tuple[str, int]]:
    """Each ordered item with the quantity no pending or confirmed package (but
    ``except_package``) holds, in the order's order; items with nothing left are left out."""
    packed: dict[str, int] = {}
    for stored in packages:
        if stored.state == "refused" or stored.shipment.package_id == except_package:
            continue
        for item in stored.shipment.items:
            packed[item.order_item_id] = packed.get(item.order_item_id, 0) + item.quantity
    left = [(item_id, quantity - packed.get(item_id, 0)) for item_id, quantity in ordered]
    return [(item_id, quantity) for item_id, quantity in left if quantity > 0]


def _stored(row: Row) -> StoredShipment:
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
        all_items=bool(row["all_items"]),
    )
    return StoredShipment(
        shipment=shipment,
        state=row["state"],
        code=row["code"],
        message=row["message"],
        attempts=int(row["attempts"]),
        revision=int(row["revision"]),
        sender=row["sender"],
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
        "items": _items_json(shipment.items),
        "all_items": int(shipment.all_items),
        "now": now,
    }


def _items_json(items: Sequence[ShipmentItem]) -> str:
    return json.dumps([[item.order_item_id, item.quantity] for item in items])
