"""Orders in the store: committed one by one (``upsert_order``) or staged for a sync.

Plain columns hold only what is not personal (ids, status, marketplace, amounts, dates,
country); each order's full record is one encrypted JSON payload (``payload.order_json``),
sealed with its account's data key (``datakeys``: removing the account destroys the key), with
an HMAC of it under the same key so an unchanged order is recognised without decrypting.
``key_id`` names that account key; a vault key's id there marks a record from before account
keys, sealed anew when the store opens (``seal_records_with_account_keys``).

``upsert_order`` commits each order. A sync's host services (``HostAdapter``) stage orders
instead (``stage_order``): they are committed together, ``STAGE_ORDERS`` at a time or once the
first has waited ``STAGE_SECONDS``, and before any other write or listing (so before the
sync's ``record_problems`` and ``set_state``: its cursor moves only after every order of the
window is committed); ``get_order`` sees staged orders, ``get_state`` commits nothing. Staged
orders lost in a crash are imported again by the next sync (its cursor did not move).
"""

from __future__ import annotations

import collections
import hmac
import json
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

from hyreka_plugin_amazon.contract import Order, OrderStatus, UpsertOutcome
from hyreka_plugin_amazon.refhost.safety.vault import DataKey, Vault
from hyreka_plugin_amazon.refhost.store import fencing
from hyreka_plugin_amazon.refhost.store.accounts import AccountStore
from hyreka_plugin_amazon.refhost.store.database import BATCH, Connection, Row, order_binding
from hyreka_plugin_amazon.refhost.store.datakeys import is_account_key_id
from hyreka_plugin_amazon.refhost.store.errors import AccountNotFoundError
from hyreka_plugin_amazon.refhost.store.fencing import Fence, LeaseLostError
from hyreka_plugin_amazon.refhost.store.payload import anonymised, order_record
from hyreka_plugin_amazon.refhost.store.schema import dt

CLOSED_STATUSES = frozenset({OrderStatus.SHIPPED, OrderStatus.CANCELLED})
STAGE_ORDERS = 1000  # staged orders committed in one transaction (fewer index page writes)
STAGE_SECONDS = 1.0  # the longest a staged order waits for its commit while orders come in
CHECKPOINT_AFTER = 500  # a commit of this many staged orders asks for a background checkpoint


class RowState(NamedTuple):
    """What decides an upsert: these columns of the stored row (queries name them all)."""

    payload_mac: bytes
    key_id: str
    closed_at: str | None
    purged_at: str | None

    @classmethod
    def of(cls, row: Row) -> RowState:
        return cls(row["payload_mac"], row["key_id"], row["closed_at"], row["purged_at"])


class OrderSummary(NamedTuple):
    """An order as its plain columns tell it (no personal data): for lists, filters, sorting."""

    amazon_order_id: str
    status: OrderStatus
    marketplace_id: str | None
    fulfillment_channel: str | None
    currency: str | None
    purchase_date: datetime | None
    total: Decimal | None  # None: the report had no prices
    billing_address_missing: bool

    @classmethod
    def of(cls, row: Row) -> OrderSummary:
        purchase = row["purchase_date"]
        return cls(
            row["amazon_order_id"],
            OrderStatus(row["status"]),
            row["marketplace_id"],
            row["fulfillment_channel"],
            row["currency"],
            dt(purchase) if purchase else None,
            Decimal(row["total"]) if row["total"] else None,
            bool(row["billing_address_missing"]),
        )


class _Staged(NamedTuple):
    """An order waiting for its commit: what ``stage_order`` saw and prepared.

    Atoms only (text, bytes, numbers), no Order objects: the thousands of orders that wait for
    a commit add no object graphs for the garbage collector to walk.
    """

    account_id: str
    amazon_order_id: str
    seen: RowState | None  # the stored row when staged (None: no row)
    columns: tuple[Any, ...]  # _order_columns() of the order as it will be stored
    closed: bool  # its status is shipped or cancelled
    payload: bytes  # the JSON of the order as it will be stored (anonymised when purged)
    mac: bytes
    key_id: str  # the account key the MAC is under
    fence: Fence | None = None  # the lease of the sync that staged it (see fencing)

    @classmethod
    def of(
        cls,
        account_id: str,
        stored: Order,
        seen: RowState | None,
        record: tuple[bytes, tuple[Any, ...]],
        mac: bytes,
        key_id: str,
        fence: Fence | None = None,
    ) -> _Staged:
        """``record``: the order's payload and plain columns (``payload.order_record``)."""
        closed = stored.status in CLOSED_STATUSES
        payload, columns = record
        return cls(
            account_id, stored.amazon_order_id, seen, columns, closed, payload, mac, key_id, fence
        )

    def order(self) -> Order:
        """The order as it will be stored, read back from its JSON."""
        return Order.from_dict(json.loads(self.payload))


class OrderStore(AccountStore):
    """Stores, stages, looks up and lists orders."""

    def __init__(
        self, path: Path | str, vault: Vault, *, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._staged: dict[tuple[str, str], _Staged] = {}
        self._staged_since = 0.0
        # What get_order just found of a row (None: no row), for the stage_order that follows
        self._looked_up: dict[tuple[str, str], RowState | None] = {}
        self._lost_fences: set[Fence] = set()  # leases a commit found taken over
        # staged orders a failed or fenced-out commit dropped: (account id, outcome) -> count
        self._dropped: collections.Counter[tuple[str, UpsertOutcome]] = collections.Counter()
        super().__init__(path, vault, clock=clock)
        self.seal_records_with_account_keys()

    def upsert_order(self, account_id: str, order: Order) -> UpsertOutcome:
        """Store the order and commit; "unchanged" (nothing written) when it is identical."""
        try:
            with self._write() as db:
                return self._upsert(db, account_id, order, self._now())
        except self._integrity_errors:
            raise AccountNotFoundError(f"no account with id {account_id!r}") from None

    def stage_order(
        self, account_id: str, order: Order, *, fence: Fence | None = None
    ) -> UpsertOutcome:
        """Like ``upsert_order``, but the write waits for the next commit of staged orders.

        The outcome is decided now, against the stored order (or the one staged before).
        Staged orders are committed ``STAGE_ORDERS`` at a time, when the first has waited
        ``STAGE_SECONDS`` (checked here), and before any other use of the store. With a
        ``fence``, the order is committed only while the fence's lease holds; once a commit
        found it lost, its orders are dropped and staging raises LeaseLostError.
        """
        with self._lock:
            if fence is not None and fence in self._lost_fences:
                raise LeaseLostError(account_id)
            self._check_account(account_id)
            key = (account_id, order.amazon_order_id)
            earlier = self._staged.get(key)
            if earlier is not None:
                seen = earlier.seen
            elif key in self._looked_up:  # the sync looked it up just before: no need to again
                seen = self._looked_up.pop(key)
            else:
                seen = self._row_state(self._db, *key)
            sealing_key = self._sealing_key(account_id)
            stored, record, mac = self._prepare(order, seen, sealing_key)
            payload = record[0]
            if earlier is not None:
                if hmac.compare_digest(earlier.mac, mac):
                    return "unchanged"
                outcome: UpsertOutcome = "updated"
            else:
                outcome = self._outcome(key, seen, payload, mac)
                if outcome == "unchanged":
                    return outcome
                if not self._staged:
                    self._staged_since = time.monotonic()
            self._staged[key] = _Staged.of(
                account_id, stored, seen, record, mac, sealing_key[0], fence
            )
            if (
                len(self._staged) >= STAGE_ORDERS
                or time.monotonic() - self._staged_since >= STAGE_SECONDS
            ):
                self._commit_staged()
            return outcome

    def _commit_staged(self) -> None:
        """Write the staged orders in one transaction (each as ``upsert_order`` would when its
        row changed since it was staged); they are dropped when that fails."""
        if not self._staged:
            return
        staged, self._staged = self._staged, {}
        self._looked_up.clear()
        now = self._now()
        try:
            with self._transaction() as db:
                lost = {e.fence for e in staged.values() if e.fence is not None}
                lost = {fence for fence in lost if not fencing.holds(db, self._sql, fence)}
                if lost:  # their syncs lost the lease: another sync owns the account now
                    self._lost_fences |= lost
                    self._count_dropped(e for e in staged.values() if e.fence in lost)
                    staged = {k: e for k, e in staged.items() if e.fence not in lost}
                rows = self._row_states(db, staged)
                keys = {
                    account_id: self._account_key(db, account_id, for_write=True)
                    for account_id in {entry.account_id for entry in staged.values()}
                }
                # As staged: the row is as it was seen, and the MAC is under the account key
                # it is sealed with now (an account removed and added again has a new one).
                as_seen = {
                    key: entry
                    for key, entry in staged.items()
                    if rows.get(key) == entry.seen and entry.key_id == keys[entry.account_id][0]
                }
                db.executemany(  # sealed one by one as written, not all held at once
                    self._sql.upsert_order,
                    (self._values(e, e.seen, now, keys[e.account_id]) for e in as_seen.values()),
                )
                for key, entry in staged.items():
                    if key not in as_seen:  # another process purged, rotated or wrote
                        self._upsert(db, entry.account_id, entry.order(), now)
        except self._integrity_errors:
            self._count_dropped(staged.values())
            self._known_accounts.clear()
            raise AccountNotFoundError("the account of staged orders was removed") from None
        except BaseException:
            self._count_dropped(staged.values())
            raise
        if len(staged) >= CHECKPOINT_AFTER and self._checkpointer is not None:
            self._checkpointer.nudge()  # a large sync: move the WAL on while it goes on

    def _count_dropped(self, entries: Iterable[_Staged]) -> None:
        for entry in entries:  # staged as "created" when no row was seen, else "updated"
            self._dropped[(entry.account_id, "created" if entry.seen is None else "updated")] += 1

    def take_dropped(self, account_id: str) -> dict[UpsertOutcome, int]:
        """How many of the account's staged orders, by the outcome staging returned, a commit
        dropped since the last call (it failed, or the sync's lease was taken over): the
        host's count of a sync's orders is that much too high."""
        with self._lock:
            dropped: dict[UpsertOutcome, int] = {}
            outcomes: tuple[UpsertOutcome, ...] = ("created", "updated")
            for outcome in outcomes:
                count = self._dropped.pop((account_id, outcome), 0)
                if count:
                    dropped[outcome] = count
            return dropped

    def _forget_lookups(self) -> None:
        self._looked_up.clear()

    def _upsert(self, db: Connection, account_id: str, order: Order, now: str) -> UpsertOutcome:
        """Compare with the stored order and write it when it differs (in a transaction)."""
        seen = self._row_state(db, account_id, order.amazon_order_id, for_write=True)
        key = self._account_key(db, account_id, for_write=True)
        stored, record, mac = self._prepare(order, seen, key)
        outcome = self._outcome((account_id, order.amazon_order_id), seen, record[0], mac, key)
        if outcome != "unchanged":
            entry = _Staged.of(account_id, stored, seen, record, mac, key[0])
            db.execute(self._sql.upsert_order, self._values(entry, seen, now, key))
        return outcome

    def _sealing_key(self, account_id: str) -> tuple[str, DataKey]:
        """The account's key as last read (the commit checks it is still the account's)."""
        return self._account_keys.get(account_id) or self._account_key(self._db, account_id)

    def _open_record(
        self, db: Connection, row: Row, account_id: str, amazon_order_id: str
    ) -> bytes:
        """The plaintext of a row's record (its ``payload`` and ``key_id``): with its
        account's key, or (a record from before account keys) the vault key."""
        if not is_account_key_id(row["key_id"]):
            return self._unseal(row["payload"], account_id, amazon_order_id)
        _, key = self._account_key(db, account_id, key_id=row["key_id"])
        return key.open(row["payload"], order_binding(account_id, amazon_order_id))

    def _row_state(
        self, db: Connection, account_id: str, amazon_order_id: str, *, for_write: bool = False
    ) -> RowState | None:
        """The stored row's state; ``for_write``: in the write transaction that relies on it."""
        sql = self._sql.order_state_for_write if for_write else self._sql.order_state
        row = db.execute(
            sql, {"account_id": account_id, "amazon_order_id": amazon_order_id}
        ).fetchone()
        return None if row is None else RowState.of(row)

    def _row_states(
        self, db: Connection, keys: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], RowState]:
        """``_row_state`` of many (account id, order id) keys in a write transaction, one
        query per account."""
        by_account: dict[str, list[str]] = {}
        for account_id, amazon_order_id in keys:
            by_account.setdefault(account_id, []).append(amazon_order_id)
        found: dict[tuple[str, str], RowState] = {}
        for account_id, ids in by_account.items():
            for row in db.execute(
                self._sql.order_states_for_write, {"account_id": account_id, "ids": json.dumps(ids)}
            ):
                found[(account_id, row["amazon_order_id"])] = RowState.of(row)
        return found

    def _prepare(
        self, order: Order, seen: RowState | None, key: tuple[str, DataKey]
    ) -> tuple[Order, tuple[bytes, tuple[Any, ...]], bytes]:
        """The order as it is stored, its payload and plain columns (``order_record``) and
        the payload's MAC (under ``key``)."""
        if seen is not None and seen.purged_at and order.status in CLOSED_STATUSES:
            # Its personal data is purged; a report overlap must not bring it back.
            order = anonymised(order)
        record = order_record(order)
        return order, record, key[1].mac(record[0])

    def _outcome(
        self,
        order_key: tuple[str, str],
        seen: RowState | None,
        payload: bytes,
        mac: bytes,
        key: tuple[str, DataKey] | None = None,
    ) -> UpsertOutcome:
        """``mac`` is under ``key`` (default: the account's key as last read)."""
        if seen is None:
            return "created"
        key_id = (key or self._account_keys.get(order_key[0]) or ("", None))[0]
        if seen.key_id == key_id:
            return "unchanged" if hmac.compare_digest(seen.payload_mac, mac) else "updated"
        row = self._db.execute(  # under the vault key (an older store): compare the plaintext
            self._sql.order_payload, {"account_id": order_key[0], "amazon_order_id": order_key[1]}
        ).fetchone()
        stored = json.loads(self._open_record(self._db, row, *order_key))
        return "unchanged" if stored == json.loads(payload) else "updated"

    def _values(
        self, entry: _Staged, row: RowState | None, now: str, key: tuple[str, DataKey]
    ) -> tuple[Any, ...]:
        """The parameters of ``upsert_order`` for an order whose stored row is ``row``, its
        record sealed with its account's ``key``."""
        closed = entry.closed
        closed_at = ((row.closed_at if row is not None else None) or now) if closed else None
        purged_at = row.purged_at if row is not None and closed else None  # kept while anonymised
        return (
            entry.account_id,
            entry.amazon_order_id,
            now,
            *entry.columns,
            key[1].seal(entry.payload, order_binding(entry.account_id, entry.amazon_order_id)),
            entry.mac,
            key[0],
            closed_at,
            purged_at,
            now,
        )

    def get_order(
        self, account_id: str, amazon_order_id: str, *, stored: Collection[str] | None = None
    ) -> Order | None:
        """The stored order (or the staged one), or None.

        ``stored``: the account's ids from ``stored_order_ids``; an id not in it is taken as
        not stored without asking SQLite (if another process stores it meanwhile, the commit
        of staged orders finds it and writes over it, as with any order staged as new).
        """
        key = (account_id, amazon_order_id)
        with self._lock:
            staged = self._staged.get(key)
            if staged is not None:
                return staged.order()
            if stored is not None and amazon_order_id not in stored:
                row = None
            else:
                rows = self._peek(
                    self._sql.find_order,
                    {"account_id": account_id, "amazon_order_id": amazon_order_id},
                )
                row = rows[0] if rows else None
            if len(self._looked_up) >= 2 * STAGE_ORDERS:
                self._looked_up.clear()
            # stage_order trusts this row state (the commit of staged orders checks it again)
            self._looked_up[key] = None if row is None else RowState.of(row)
            if row is None:
                return None
            return self._order(row, *key)

    def stored_order_ids(self, account_id: str, limit: int) -> set[str] | None:
        """The ids of the account's stored orders, or None when there are more than ``limit``."""
        rows = self._read(
            self._sql.stored_order_ids, {"account_id": account_id, "limit": limit + 1}
        )
        return {row["amazon_order_id"] for row in rows} if len(rows) <= limit else None

    def list_orders(
        self, *, account_id: str | None = None, status: OrderStatus | None = None
    ) -> list[Order]:
        """The orders, in the order they were first stored."""
        return list(self.iter_orders(account_id=account_id, status=status))

    def iter_orders(
        self,
        *,
        account_id: str | None = None,
        status: OrderStatus | None = None,
        batch_size: int = BATCH,
        keep: Callable[[str], bool] | None = None,
    ) -> Iterator[Order]:
        """Like ``list_orders``, fetching ``batch_size`` rows at a time; with ``keep``, only
        the orders whose decrypted JSON text it keeps (the others are not parsed)."""
        last = 0
        while True:
            rows = self._read(
                self._sql.orders_after,
                {
                    "after": last,
                    "account_id": account_id,
                    "status": status.value if status else None,
                    "limit": batch_size,
                },
            )
            if not rows:
                return
            found: list[Order] = []
            with self._lock:
                for row in rows:
                    account, order_id = row["account_id"], row["amazon_order_id"]
                    if keep is None:
                        found.append(self._order(row, account, order_id))
                        continue
                    decoded = self._open_record(self._db, row, account, order_id).decode()
                    if keep(decoded):
                        found.append(Order.from_dict(json.loads(decoded)))
            yield from found
            last = rows[-1]["rowid"]

    def order_summaries(
        self, account_id: str, status: OrderStatus | None = None
    ) -> list[OrderSummary]:
        """The account's orders (with ``status``) by their plain columns, in the order they
        were first stored: nothing is decrypted."""
        rows = self._read(
            self._sql.order_summaries,
            {"account_id": account_id, "status": status.value if status else None},
        )
        return [OrderSummary.of(row) for row in rows]

    def order_ids_by_status(self, account_id: str, statuses: Collection[OrderStatus]) -> set[str]:
        rows = self._read(
            self._sql.order_ids_by_status,
            {
                "account_id": account_id,
                "statuses": json.dumps([OrderStatus(s).value for s in statuses]),
            },
        )
        return {row["amazon_order_id"] for row in rows}

    def _order(self, row: Row, account_id: str, amazon_order_id: str) -> Order:
        record = self._open_record(self._db, row, account_id, amazon_order_id)
        return Order.from_dict(json.loads(record))

    seal_batch = BATCH  # records sealed anew per transaction

    def seal_records_with_account_keys(self) -> int:
        """Give every account a data key, and seal every order record still under the vault
        key (a store from before account keys) with its account's key; the count sealed.

        Runs when the store opens, a batch per transaction: each record is read, opened and
        written again in one transaction (its old form stays readable until then), so an
        interruption loses nothing and the next opening goes on. Finds nothing to do at once
        in an up-to-date store (``orders_sealed_by_vault`` has an index of its own)."""
        missing = [row["id"] for row in self._read(self._sql.accounts_without_key)]
        if missing:
            with self._write() as db:
                for account_id in missing:
                    self._new_account_key(db, account_id)
        sealed = last = 0
        while True:
            with self._write() as db:
                rows = db.execute(
                    self._sql.orders_sealed_by_vault, {"after": last, "limit": self.seal_batch}
                ).fetchall()
                for row in rows:
                    key = (row["account_id"], row["amazon_order_id"])
                    payload = self._unseal(row["payload"], *key)
                    self._rewrite_payload(db, row["rowid"], payload, *key)
            if not rows:
                return sealed
            sealed += len(rows)
            last = rows[-1]["rowid"]

    def _rewrite_payload(
        self,
        db: Connection,
        rowid: int,
        payload: bytes,
        account_id: str,
        amazon_order_id: str,
    ) -> None:
        """Seal ``payload`` in its row with its account's key (in a write transaction)."""
        key_id, key = self._account_key(db, account_id, for_write=True)
        db.execute(
            self._sql.rewrite_payload,
            {
                "payload": key.seal(payload, order_binding(account_id, amazon_order_id)),
                "payload_mac": key.mac(payload),
                "key_id": key_id,
                "now": self._now(),
                "rowid": rowid,
            },
        )
