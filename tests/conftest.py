"""Shared fixtures: a simulator on loopback, a reference host in a temporary folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from hyreka_plugin_amazon.connector import CONNECTOR_ID
from hyreka_plugin_amazon.contract import Account
from hyreka_plugin_amazon.refhost.app import ReferenceHost
from hyreka_plugin_amazon.secret import Secret
from hyreka_plugin_amazon.simulator import Simulator
from hyreka_plugin_amazon.spapi.regions import marketplace

SIM_MARKETPLACES = ("DE", "FR", "IT", "ES", "UK")
FAST_SETTINGS = {"poll_interval": "0.05", "max_poll_interval": "0.2", "report_deadline": "60"}


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


def simulator_account(
    sim: Simulator, name: str = "sim", marketplaces: tuple[str, ...] = SIM_MARKETPLACES
) -> Account:
    creds = sim.credentials
    return Account(
        id=name,
        name=name,
        connector=CONNECTOR_ID,
        region="eu",
        marketplace_ids=tuple(marketplace(m).id for m in marketplaces),
        client_id=creds.client_id,
        client_secret=Secret(creds.client_secret),
        refresh_token=Secret(creds.refresh_token),
        endpoint=sim.url,
        token_url=sim.token_url,
        settings=dict(FAST_SETTINGS),
    )


@pytest.fixture
def account(simulator: Simulator, refhost: ReferenceHost) -> Account:
    acc = simulator_account(simulator)
    refhost.store.add_account(acc)
    return acc
