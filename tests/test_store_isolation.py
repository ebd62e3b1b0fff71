"""Operations in the isolation they need, on SQLite and on a real PostgreSQL: a lease taken
over while a fenced transaction is open waits for its commit, and the fenced sync's next write
is refused (what it committed was written under its lease; nothing after); a purge waits for
a write to the order it rewrites and purges what was written, not what it read before.
(Package numbers: test_shipping_concurrent.py.)"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from helpers.records import make_account, make_order

from hyreka_plugin_amazon.contract import OrderStatus
from hyreka_plugin_amazon.refhost.host import account_locks
from hyreka_plugin_amazon.refhost.safety.vault import KEY_ENV
from hyreka_plugin_amazon.refhost.store import Store
from hyreka_plugin_amazon.refhost.store.fencing import Fence, LeaseLostError
from hyreka_plugin_amazon.refhost.store.leases import AccountLocks, SqliteAccountLocks
from hyreka_plugin_amazon.refhost.store.leases_pg import PgAccountLocks
from hyreka_plugin_amazon.refhost.store.postgres import DATABASE_ENV


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    env = {KEY_ENV: Fernet.generate_key().decode()}
    if request.param == "postgresql":
        env[DATABASE_ENV] = request.getfixturevalue("postgres_url")
    with Store.open(tmp_path, env=env) as opened:
        opened.add_account(make_account())
        yield opened


def later_locks(store: Store) -> AccountLocks:
    """The leases of a process whose clock is past every lease taken now (a stall outlasted
    them)."""
    later = lambda: time.time() + 3600  # noqa: E731
    if store.url is not None:
        return PgAccountLocks(store.url, clock=later)
    return SqliteAccountLocks(store.path, clock=later)


def test_a_takeover_waits_for_the_fenced_commit_and_then_fences_the_old_holder_out(
    store: Store,
) -> None:
    lease = account_locks(store).acquire("acc-1")
    assert lease is not None
    fence = Fence("acc-1", lease.token)
    took: list[bool] = []
    taker = threading.Thread(
        target=lambda: took.append(later_locks(store).try_acquire("acc-1", "new"))
    )
    with store._write(fence) as db:  # the fence is checked: the lease is still the sync's
        db.execute(store._sql.set_state, {"account_id": "acc-1", "key": "cursor", "value": "mine"})
        taker.start()
        taker.join(timeout=1.0)
        assert taker.is_alive()  # the takeover waits for this commit
    taker.join(timeout=30)
    assert took == [True]
    assert store.get_state("acc-1", "cursor") == "mine"  # committed under the lease
    with pytest.raises(LeaseLostError):
        store.set_state("acc-1", "cursor", "stale", fence=fence)
    assert store.get_state("acc-1", "cursor") == "mine"
    lease.release()  # releasing a lost lease leaves the new holder alone
    assert account_locks(store).holder("acc-1") is not None


def test_a_purge_waits_for_a_write_to_the_order_it_rewrites_and_purges_what_was_written(
    tmp_path: Path, store: Store
) -> None:
    updated = datetime(2026, 1, 6, tzinfo=UTC)
    store.upsert_order("acc-1", make_order("302-1", OrderStatus.SHIPPED, last_updated=updated))
    other = Store(store.url or store.path, store._vault)  # another process's connection
    purged: list[list[str]] = []
    purge = threading.Thread(
        target=lambda: purged.append(
            other.purge_personal_data(now=updated + timedelta(days=40), after_days=30)
        )
    )
    cancelled = make_order("302-1", OrderStatus.CANCELLED, last_updated=updated)
    try:
        with store._write() as db:  # a write that read the order's row, then writes it
            assert store._upsert(db, "acc-1", cancelled, store._now()) == "updated"
            purge.start()
            purge.join(timeout=1.0)
            assert purge.is_alive()  # the purge waits for this commit ...
        purge.join(timeout=30)
    finally:
        other.close()
    assert purged == [["302-1"]]
    [order] = store.list_orders()
    assert order.status is OrderStatus.CANCELLED  # ... and purged what it wrote
    assert order.billing_address is not None
    assert order.billing_address.name is None
