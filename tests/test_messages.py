"""Every message the seller can see exists in German and English, with the same placeholders."""

from __future__ import annotations

import string

import pytest

from hyreka_plugin_amazon import messages


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_catalogs_have_the_same_ids() -> None:
    assert set(messages.DE) == set(messages.EN)


@pytest.mark.parametrize("message_id", sorted(messages.DE))
def test_translations_use_the_same_placeholders(message_id: str) -> None:
    assert placeholders(messages.DE[message_id]) == placeholders(messages.EN[message_id])


def test_german_is_the_default_and_english_is_chosen_by_locale() -> None:
    assert messages.translate("sync.busy") == messages.DE["sync.busy"]
    assert messages.translate("sync.busy", "en_GB") == messages.EN["sync.busy"]
    assert messages.translate("sync.busy", "fr") == messages.DE["sync.busy"]


def test_billing_message_says_where_to_switch_the_columns_on() -> None:
    german = messages.translate("sync.billing_missing", "de")
    assert "Spalten im Bestellbericht hinzufügen oder entfernen" in german
    assert "Fakturierung" in german
    assert "Add or remove order report columns" in messages.translate("sync.billing_missing", "en")
