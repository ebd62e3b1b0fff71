"""Shared fixtures: a simulator on loopback, a reference host in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from helpers.accounts import SIM_MARKETPLACES, simulator_account
from helpers.postgres import PostgresServer, started_or_skipped
from helpers.shared import MARK, require

from hyreka_plugin_amazon.contract import Account
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.simulator import Simulator


@pytest.hookimpl(tryfirst=True)  # before a skip mark (an empty parameter set) is honoured
def pytest_runtest_setup(item: pytest.Item) -> None:
    """A test marked ``helpers.shared.needs(path)`` skips without ``path`` (fails in CI)."""
    for mark in item.iter_markers(MARK):
        require(*mark.args)


@pytest.fixture
def simulator() -> Iterator[Simulator]:
    with Simulator(
        orders=300, seed=11, marketplaces=SIM_MARKETPLACES, report_delay_s=0.5, time_scale=20
    ) as sim:
        yield sim


@pytest.fixture
def host_env() -> dict[str, str]:
    return {"HYREKA_AMAZON_KEY": Fernet.generate_key().decode()}


@pytest.fixture
def refhost(tmp_path: Path, host_env: dict[str, str]) -> Iterator[ReferenceHost]:
    with ReferenceHost(tmp_path / "data", env=host_env) as host:
        yield host


@pytest.fixture
def account(simulator: Simulator, refhost: ReferenceHost) -> Account:
    acc = simulator_account(simulator)
    refhost.store.add_account(acc)
    return acc


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server for the session; skipped without PostgreSQL, except in CI."""
    server = started_or_skipped()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def own_postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server of the test's own, for tests that stop or restart it (the
    session's server stays up for the others); skipped without PostgreSQL, except in CI."""
    server = started_or_skipped()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """The URL of a new, empty database on the session's server."""
    return postgres_server.new_database()


@pytest.fixture(params=["sqlite", "postgres"])
def database(request: pytest.FixtureRequest) -> str | None:
    """A test that takes it runs twice: on SQLite (None) and on a new PostgreSQL database."""
    if request.param == "sqlite":
        return None
    url: str = request.getfixturevalue("postgres_url")
    return url
