"""One sync per account at a time, across processes sharing the database: the same leases on
SQLite and on PostgreSQL (the table is part of each backend's schema)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from hyreka_plugin_amazon.refhost.store.leases import (
    DEFAULT_TTL_S,
    AccountBusyError,
    AccountLocks,
    SqliteAccountLocks,
)
from hyreka_plugin_amazon.refhost.store.leases_pg import PgAccountLocks
from hyreka_plugin_amazon.refhost.store.postgres import PgConnection
from hyreka_plugin_amazon.refhost.store.schema import connect


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def locks_at(
    where: str, *, ttl_s: float = DEFAULT_TTL_S, clock: Callable[[], float] = time.time
) -> AccountLocks:
    """The leases of the database at ``where``: a SQLite file or a PostgreSQL URL."""
    if where.startswith("postgresql://"):
        return PgAccountLocks(where, ttl_s=ttl_s, clock=clock)
    return SqliteAccountLocks(Path(where), ttl_s=ttl_s, clock=clock)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store's database (its schema made) on each backend: a file's path or a URL."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("postgres_url")
        PgConnection(url).close()
        return url
    path = tmp_path / "host.sqlite3"
    connect(path).close()
    return str(path)


# A child process holding a lease: the class that reads its database, as locks_at chooses.
LOCKS_OF = (
    "import sys\n"
    "from pathlib import Path\n"
    "from hyreka_plugin_amazon.refhost.store.leases import SqliteAccountLocks\n"
    "from hyreka_plugin_amazon.refhost.store.leases_pg import PgAccountLocks\n"
    "def locks_of(where, **options):\n"
    "    if where.startswith('postgresql://'):\n"
    "        return PgAccountLocks(where, **options)\n"
    "    return SqliteAccountLocks(Path(where), **options)\n"
)


def test_second_holder_is_refused_while_the_first_holds(db: str) -> None:
    first, second = locks_at(db), locks_at(db)
    with first.hold("shop"):
        assert first.holder("shop") is not None
        with pytest.raises(AccountBusyError, match="already running"), second.hold("shop"):
            pass
        with second.hold("other-shop"):  # other accounts are not blocked
            pass
    with second.hold("shop"):  # released at the end of the block
        pass
    assert first.holder("shop") is None


def test_a_lease_left_by_a_dead_holder_expires(db: str) -> None:
    clock = FakeClock()
    dead, alive = locks_at(db, ttl_s=60, clock=clock), locks_at(db, ttl_s=60, clock=clock)
    assert dead.try_acquire("shop", "dead-process")  # never released, never renewed
    assert not alive.try_acquire("shop", "new")
    clock.now += 61
    assert alive.try_acquire("shop", "new")


def test_a_killed_process_does_not_block_forever(db: str) -> None:
    script = (
        LOCKS_OF + "import os\n"
        "locks = locks_of(sys.argv[1], ttl_s=0.5)\n"
        "assert locks.try_acquire('shop', 'child')\n"
        "os._exit(9)  # killed while holding the lease\n"
    )
    child = subprocess.run([sys.executable, "-c", script, db], check=False)
    assert child.returncode == 9
    locks = locks_at(db, ttl_s=0.5)
    assert locks.holder("shop") == "child" or locks.holder("shop") is None
    clock = FakeClock()
    clock.now = 10**10  # far beyond the child's lease
    assert locks_at(db, clock=clock).try_acquire("shop", "parent")


def test_a_lease_taken_over_after_a_stall_says_it_is_lost(db: str) -> None:
    clock = FakeClock()
    stalled = locks_at(db, ttl_s=0.3, clock=clock)
    lease = stalled.acquire("shop")
    assert lease is not None
    assert stalled.acquire("shop") is None
    clock.now += 1  # the holder stalled beyond its lease ...
    assert locks_at(db, clock=clock).try_acquire("shop", "newcomer")  # ... and lost it
    assert lease.lost.wait(5)
    lease.release()  # releasing a lost lease leaves the new holder alone
    assert stalled.holder("shop") == "newcomer"


HOLDER = (
    LOCKS_OF + "import os, time\n"
    "lease = locks_of(sys.argv[1]).acquire('shop')\n"
    "assert lease is not None\n"
    "print(os.getpid(), flush=True)\n"
    "if sys.argv[2] == 'die':\n"
    "    os._exit(9)  # killed while holding the lease: never released\n"
    "time.sleep(30)\n"
)


def test_a_lease_of_a_killed_process_on_this_host_is_taken_over_at_once(db: str) -> None:
    child = subprocess.run(
        [sys.executable, "-c", HOLDER, db, "die"], capture_output=True, text=True, check=False
    )
    assert child.returncode == 9
    locks = locks_at(db)  # the default lease lasts two minutes ...
    assert locks.holder("shop") is not None  # ... and the dead child's is still unexpired
    lease = locks.acquire("shop")
    assert lease is not None
    assert lease.taken_over_from == int(child.stdout.split()[0])  # and says whose it took
    lease.release()


def test_a_lease_of_a_live_process_is_not_taken_over(db: str) -> None:
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, db, "live"], stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None
            child.stdout.readline()  # it holds the lease now
            assert locks_at(db).acquire("shop") is None
        finally:
            child.kill()
