"""The sync's settings are defined once, in ``connector.settings()``: the sync reads each value
through its ``SettingInfo`` (current or former name, checked, else the default)."""

from __future__ import annotations

import dataclasses

from helpers.records import make_account as account_of

from hyreka_plugin_amazon.connector import settings
from hyreka_plugin_amazon.contract import Account
from hyreka_plugin_amazon.sync import SETTINGS, SyncSettings


def make_account(*, settings: dict[str, str]) -> Account:
    return dataclasses.replace(account_of(), settings=settings)


def test_every_value_the_sync_reads_is_a_setting_of_the_connector() -> None:
    read = {f.name for f in dataclasses.fields(SyncSettings)} - {"fba_orders"}
    assert read <= {setting.key for setting in settings()}
    assert {setting.key: setting for setting in settings()} == SETTINGS


def test_defaults_come_from_the_setting_definitions() -> None:
    parsed = SyncSettings.from_account(make_account(settings={}))
    for name in ("lookback_days", "overlap_minutes", "report_wait_seconds"):
        assert getattr(parsed, name) == float(SETTINGS[name].default)
    assert parsed.order_report_type is None  # "" by default: the region decides


def test_former_names_and_current_names_are_read_and_checked() -> None:
    former = SyncSettings.from_account(
        make_account(settings={"poll_interval": "0.05", "report_deadline": "60"})
    )
    assert former.report_check_seconds == 0.05
    assert former.report_wait_seconds == 60.0
    current = SyncSettings.from_account(
        make_account(settings={"report_check_seconds": "2", "poll_interval": "9"})
    )
    assert current.report_check_seconds == 2.0  # the current name wins
    out_of_range = SyncSettings.from_account(make_account(settings={"lookback_days": "100000"}))
    assert out_of_range.lookback_days == int(SETTINGS["lookback_days"].default)
