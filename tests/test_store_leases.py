"""One sync per account at a time, across processes sharing the database."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hyreka_plugin_amazon.refhost.store.leases import AccountBusyError, AccountLocks


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def test_second_holder_is_refused_while_the_first_holds(tmp_path: Path) -> None:
    db = tmp_path / "host.sqlite3"
    first, second = AccountLocks(db), AccountLocks(db)
    with first.hold("shop"):
        assert first.holder("shop") is not None
        with pytest.raises(AccountBusyError, match="already running"), second.hold("shop"):
            pass
        with second.hold("other-shop"):  # other accounts are not blocked
            pass
    with second.hold("shop"):  # released at the end of the block
        pass
    assert first.holder("shop") is None


def test_a_lease_left_by_a_dead_holder_expires(tmp_path: Path) -> None:
    db = tmp_path / "host.sqlite3"
    clock = FakeClock()
    dead, alive = AccountLocks(db, ttl_s=60, clock=clock), AccountLocks(db, ttl_s=60, clock=clock)
    assert dead.try_acquire("shop", "dead-process")  # never released, never renewed
    assert not alive.try_acquire("shop", "new")
    clock.now += 61
    assert alive.try_acquire("shop", "new")


def test_a_killed_process_does_not_block_forever(tmp_path: Path) -> None:
    db = tmp_path / "host.sqlite3"
    script = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from hyreka_plugin_amazon.refhost.store.leases import AccountLocks\n"
        "locks = AccountLocks(Path(sys.argv[1]), ttl_s=0.5)\n"
        "assert locks.try_acquire('shop', 'child')\n"
        "os._exit(9)  # killed while holding the lease\n"
    )
    child = subprocess.run([sys.executable, "-c", script, str(db)], check=False)
    assert child.returncode == 9
    locks = AccountLocks(db, ttl_s=0.5)
    assert locks.holder("shop") == "child" or locks.holder("shop") is None
    clock = FakeClock()
    clock.now = 10**10  # far beyond the child's lease
    assert AccountLocks(db, clock=clock).try_acquire("shop", "parent")


def test_a_lease_taken_over_after_a_stall_says_it_is_lost(tmp_path: Path) -> None:
    db = tmp_path / "host.sqlite3"
    clock = FakeClock()
    stalled = AccountLocks(db, ttl_s=0.3, clock=clock)
    lease = stalled.acquire("shop")
    assert lease is not None
    assert stalled.acquire("shop") is None
    clock.now += 1  # the holder stalled beyond its lease ...
    assert AccountLocks(db, clock=clock).try_acquire("shop", "newcomer")  # ... and lost it
    assert lease.lost.wait(5)
    lease.release()  # releasing a lost lease leaves the new holder alone
    assert stalled.holder("shop") == "newcomer"


HOLDER = (
    "import os, sys, time\n"
    "from pathlib import Path\n"
    "from hyreka_plugin_amazon.refhost.store.leases import AccountLocks\n"
    "lease = AccountLocks(Path(sys.argv[1])).acquire('shop')\n"
    "assert lease is not None\n"
    "print(os.getpid(), flush=True)\n"
    "if sys.argv[2] == 'die':\n"
    "    os._exit(9)  # killed while holding the lease: never released\n"
    "time.sleep(30)\n"
)


def test_a_lease_of_a_killed_process_on_this_host_is_taken_over_at_once(tmp_path: Path) -> None:
    db = tmp_path / "host.sqlite3"
    child = subprocess.run(
        [sys.executable, "-c", HOLDER, str(db), "die"], capture_output=True, text=True, check=False
    )
    assert child.returncode == 9
    locks = AccountLocks(db)  # the default lease lasts two minutes ...
    assert locks.holder("shop") is not None  # ... and the dead child's is still unexpired
    lease = locks.acquire("shop")
    assert lease is not None
    assert lease.taken_over_from == int(child.stdout.split()[0])  # and says whose it took
    lease.release()


def test_a_lease_of_a_live_process_is_not_taken_over(tmp_path: Path) -> None:
    db = tmp_path / "host.sqlite3"
    with subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db), "live"], stdout=subprocess.PIPE, text=True
    ) as child:
        try:
            assert child.stdout is not None
            child.stdout.readline()  # it holds the lease now
            assert AccountLocks(db).acquire("shop") is None
        finally:
            child.kill()
