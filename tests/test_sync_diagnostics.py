"""Amazon's preconditions during a sync: each simulator fault gives the seller the exact message
(German and English), and once the seller fixes it, nothing is lost."""

from __future__ import annotations

import dataclasses

import pytest
from helpers.sim import host_open, sim_open

from hyreka_plugin_amazon.contract import Account, OrderStatus, SyncResult
from hyreka_plugin_amazon.refhost.host import ReferenceHost
from hyreka_plugin_amazon.simulator import Simulator


def sync_in(refhost: ReferenceHost, account: Account, locale: str) -> SyncResult:
    """A sync with the host's language set to ``locale``."""
    stored = refhost.store.get_account(account.id)
    refhost.store.update_account(dataclasses.replace(stored, locale=locale))
    return refhost.sync(account.name)


def fixed_and_nothing_lost(sim: Simulator, refhost: ReferenceHost, account: Account) -> None:
    sim.faults.clear()
    result = sync_in(refhost, account, "de")
    assert result.ok, result.message
    assert result.warnings == []
    assert host_open(refhost) == sim_open(sim)
    assert not any(o.billing_address_missing for o in refhost.store.list_orders())


def test_order_reports_not_enabled(
    simulator: Simulator, refhost: ReferenceHost, account: Account
) -> None:
    simulator.faults.add({"name": "order_reports_not_enabled", "rate": 1.0})
    german = sync_in(refhost, account, "de")
    assert (german.ok, german.code) == (False, "sync.order_reports_not_enabled")
    assert german.message == (
        "Amazon erstellt für dieses Konto keine Bestellberichte: Bestellberichte im TXT-Format "
        "(Flat File) sind nicht freigeschaltet. Bitten Sie den Amazon-Verkäuferservice (Seller "
        "Central > Hilfe > „Unterstützung erhalten“), die Bestellberichte im TXT-Format für Ihr "
        "Konto freizuschalten. Danach holt die nächste Synchronisierung alle Bestellungen nach."
    )
    english = sync_in(refhost, account, "en")
    assert english.message == (
        "Amazon does not create order reports for this account: flat-file (TXT) order reports "
        "are not enabled. Ask Amazon Seller Support (Seller Central > Help > 'Get support') to "
        "enable order reports in TXT format for your account. The next sync then catches up on "
        "every order."
    )
    assert host_open(refhost) == {}
    fixed_and_nothing_lost(simulator, refhost, account)


def test_billing_columns_disabled(
    simulator: Simulator, refhost: ReferenceHost, account: Account
) -> None:
    simulator.faults.add({"name": "billing_columns_disabled", "rate": 1.0})
    german = sync_in(refhost, account, "de")
    assert german.ok, german.message
    assert german.warnings == [
        "Der Bestellbericht enthält keine Rechnungsadressen; neue Bestellungen wurden ohne "
        "Rechnungsadresse übernommen und so markiert, bereits übernommene behalten ihre "
        "Rechnungsadresse. Schalten Sie in Seller Central unter "
        "Bestellungen > Bestellberichte > „Spalten im Bestellbericht hinzufügen oder entfernen“ "
        "die Spalten „Fakturierung“ ein. Die nächste Synchronisierung ergänzt die "
        "Rechnungsadressen."
    ]
    imported = refhost.store.list_orders(status=OrderStatus.OPEN)
    assert len(imported) == len(sim_open(simulator)) > 0  # the orders still import
    assert all(o.billing_address is None and o.billing_address_missing for o in imported)
    assert all(o.shipping_address is not None for o in imported)

    english = sync_in(refhost, account, "en")
    assert english.warnings == [
        "The order report carries no billing addresses; new orders were imported without a "
        "billing address and flagged, orders imported before keep theirs. In Seller Central, "
        "switch on the 'Billing' columns under "
        "Orders > Order Reports > 'Add or remove order report columns'. The next sync adds the "
        "billing addresses."
    ]
    fixed_and_nothing_lost(simulator, refhost, account)


@pytest.mark.parametrize("stage", ["create", "rdt", "document"])
def test_restricted_role_missing(
    simulator: Simulator, refhost: ReferenceHost, account: Account, stage: str
) -> None:
    simulator.faults.add({"name": "restricted_role_missing", "on": stage, "rate": 1.0})
    german = sync_in(refhost, account, "de")
    assert (german.ok, german.code) == (False, "sync.restricted_role_missing")
    assert german.message == (
        "Amazon verweigert den Zugriff auf die Bestellberichte mit Adressen: der App "
        "fehlt die eingeschränkte Rolle „Tax Invoicing (Restricted)“. Beantragen Sie die Rolle "
        "im Solution Provider Portal (Entwicklerprofil), wählen Sie sie in der App-Registrierung "
        "aus (Develop Apps > App bearbeiten) und autorisieren Sie die App nach der Freigabe "
        "erneut; tragen Sie das neue Refresh-Token ein."
    )
    english = sync_in(refhost, account, "en")
    assert english.message == (
        "Amazon denies access to the order reports with addresses: the app lacks the "
        "restricted role 'Tax Invoicing (Restricted)'. Request the role in the Solution Provider "
        "Portal (developer profile), select it in the app registration (Develop Apps > Edit app) "
        "and, once it is granted, authorise the app again; enter the new refresh token."
    )
    fixed_and_nothing_lost(simulator, refhost, account)


def test_the_shipping_report_asks_for_the_shipping_role(
    simulator: Simulator, refhost: ReferenceHost, account: Account
) -> None:
    settings = {**account.settings, "order_report_type": "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING"}
    refhost.store.update_account(dataclasses.replace(account, settings=settings))
    simulator.faults.add({"name": "restricted_role_missing", "on": "rdt", "rate": 1.0})
    english = sync_in(refhost, account, "en")
    assert english.code == "sync.restricted_role_missing"
    assert "the restricted role 'Direct-to-Consumer Shipping (Restricted)'" in english.message


def test_a_shipping_report_account_is_not_warned_about_billing_columns(
    simulator: Simulator, refhost: ReferenceHost, account: Account
) -> None:
    """Outside the EU the order report has no billing columns at all: no warning, no hold."""
    settings = {**account.settings, "order_report_type": "GET_FLAT_FILE_ORDER_REPORT_DATA_SHIPPING"}
    refhost.store.update_account(dataclasses.replace(account, settings=settings))
    result = sync_in(refhost, account, "de")
    assert result.ok, result.message
    assert result.warnings == []
    assert refhost.store.get_state(account.id, "retry_from") is None
    opened = refhost.store.list_orders(status=OrderStatus.OPEN)
    assert {o.amazon_order_id for o in opened} == set(sim_open(simulator))
    assert all(o.billing_address is None and o.billing_address_missing for o in opened)
