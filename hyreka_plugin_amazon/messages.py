"""What the seller reads: one catalog per language, keyed by a stable message id.

German is the host's language and the default; English is the second catalog. Every id exists
in both (a test checks it). Placeholders use ``str.format`` names; values filled in are never
secrets or buyers' personal data.
"""

from __future__ import annotations

from typing import Final

DEFAULT_LOCALE: Final = "de"

DE: Final[dict[str, str]] = {
    "login.ok": "Anmeldung erfolgreich. Amazon-Marktplätze des Verkäuferkontos: {marketplaces}.",
    "login.not_participating": (
        "Der konfigurierte Marktplatz {marketplace} gehört nicht zu diesem Verkäuferkonto; "
        "entfernen Sie ihn in den Zugangsdaten oder melden Sie sich dort bei Amazon an."
    ),
    "login.invalid_client": (
        "Amazon lehnt die App-Zugangsdaten ab (LWA-Client-ID oder Client-Secret falsch oder "
        "abgelaufen). Prüfen Sie beide im Solution Provider Portal unter „Develop Apps“ > "
        "„LWA-Anmeldedaten anzeigen“; ein Client-Secret muss alle 180 Tage erneuert werden."
    ),
    "login.invalid_grant": (
        "Amazon lehnt das Refresh-Token ab: es ist ungültig, widerrufen oder gehört zu einer "
        "anderen App. Autorisieren Sie die App in Seller Central neu (Apps und Services > "
        "Apps verwalten) und tragen Sie das neue Refresh-Token ein."
    ),
    "login.access_denied": (
        "Amazon verweigert den Zugriff (HTTP 403). Meist gehört das Refresh-Token zu einer "
        "anderen Region als „{region}“ oder die App ist für dieses Verkäuferkonto nicht "
        "autorisiert. Prüfen Sie die Region und autorisieren Sie die App erneut."
    ),
    "login.throttled": (
        "Amazon drosselt die Anfragen gerade. Bitte versuchen Sie es in einigen Minuten erneut."
    ),
    "login.unreachable": (
        "Amazon ist nicht erreichbar ({detail}). Prüfen Sie die Internetverbindung und "
        "Proxy-/Firewall-Einstellungen."
    ),
    "login.unavailable": (
        "Amazon ist vorübergehend nicht verfügbar. Bitte versuchen Sie es später erneut."
    ),
    "login.error": "Die Anmeldung ist fehlgeschlagen: {detail}",
    "sync.ok": (
        "Synchronisierung abgeschlossen: {created} neu, {updated} aktualisiert, "
        "{unchanged} unverändert, {failed} fehlerhafte Zeilen."
    ),
    "sync.report_fatal": (
        "Amazon konnte den Bestellbericht nicht erstellen. Amazons Meldung: {detail}. "
        "Falls Bestellberichte im TXT-Format für Ihr Konto nicht freigeschaltet sind, bitten "
        "Sie den Amazon-Verkäuferservice, die Bestellberichte (Flat File/TXT) freizuschalten."
    ),
    "sync.report_timeout": (
        "Amazon hat den Bericht nicht rechtzeitig fertiggestellt. Die nächste Synchronisierung "
        "holt die Bestellungen nach; es geht nichts verloren."
    ),
    "sync.throttled": (
        "Amazon drosselt die Anfragen. Die Synchronisierung wird beim nächsten Lauf "
        "fortgesetzt; es geht nichts verloren."
    ),
    "sync.auth_failed": (
        "Die Anmeldung bei Amazon ist fehlgeschlagen: {detail} Die automatische "
        "Synchronisierung dieses Kontos pausiert, bis die Zugangsdaten korrigiert sind."
    ),
    "sync.access_denied": (
        "Amazon verweigert den Zugriff auf die Bestellberichte (HTTP 403). Der App fehlt "
        "vermutlich die eingeschränkte Rolle „Tax Invoicing (Restricted)“ bzw. "
        "„Direct-to-Consumer Shipping (Restricted)“. Beantragen Sie die Rolle in der "
        "App-Registrierung und autorisieren Sie die App danach neu."
    ),
    "sync.unavailable": (
        "Amazon ist vorübergehend nicht erreichbar ({detail}). Die nächste Synchronisierung "
        "holt alles nach; es geht nichts verloren."
    ),
    "sync.document_error": (
        "Der Bestellbericht konnte nicht vollständig gelesen werden ({detail}). Die nächste "
        "Synchronisierung lädt ihn erneut; es geht nichts verloren."
    ),
    "sync.cancelled": (
        "Die Synchronisierung wurde abgebrochen. Bereits übernommene Bestellungen bleiben "
        "erhalten; der nächste Lauf setzt fort."
    ),
    "sync.header_error": "Der Bestellbericht hat ein unerwartetes Format: {detail}",
    "sync.billing_missing": (
        "Der Bestellbericht enthält keine Rechnungsadressen. Bestellungen wurden ohne "
        "Rechnungsadresse übernommen. Schalten Sie in Seller Central unter Bestellungen > "
        "Bestellberichte > „Spalten im Bestellbericht hinzufügen oder entfernen“ die Spalten "
        "„Fakturierung“ ein."
    ),
    "sync.problems": (
        "{count} Bestellung(en) konnten nicht übernommen werden; sie werden bei jeder "
        "Synchronisierung erneut versucht."
    ),
    "sync.busy": "Für dieses Konto läuft bereits eine Synchronisierung.",
    "sync.error": "Die Synchronisierung ist fehlgeschlagen: {detail}",
}

EN: Final[dict[str, str]] = {
    "login.ok": "Login successful. Amazon marketplaces of this seller account: {marketplaces}.",
    "login.not_participating": (
        "The configured marketplace {marketplace} does not belong to this seller account; "
        "remove it from the credentials or register for it on Amazon."
    ),
    "login.invalid_client": (
        "Amazon rejects the app credentials (LWA client id or client secret wrong or expired). "
        "Check both in the Solution Provider Portal under 'Develop Apps' > 'View LWA "
        "credentials'; a client secret must be rotated every 180 days."
    ),
    "login.invalid_grant": (
        "Amazon rejects the refresh token: it is invalid, revoked or belongs to another app. "
        "Authorise the app again in Seller Central (Apps and Services > Manage Your Apps) and "
        "enter the new refresh token."
    ),
    "login.access_denied": (
        "Amazon denies access (HTTP 403). Usually the refresh token belongs to a region other "
        "than '{region}' or the app is not authorised for this seller account. Check the "
        "region and authorise the app again."
    ),
    "login.throttled": (
        "Amazon is throttling requests right now. Please try again in a few minutes."
    ),
    "login.unreachable": (
        "Amazon cannot be reached ({detail}). Check the internet connection and proxy/firewall "
        "settings."
    ),
    "login.unavailable": "Amazon is temporarily unavailable. Please try again later.",
    "login.error": "Login failed: {detail}",
    "sync.ok": (
        "Sync finished: {created} new, {updated} updated, {unchanged} unchanged, "
        "{failed} failed rows."
    ),
    "sync.report_fatal": (
        "Amazon could not create the order report. Amazon says: {detail}. If flat-file (TXT) "
        "order reports are not enabled for your account, ask Amazon Seller Support to enable "
        "order reports in TXT format."
    ),
    "sync.report_timeout": (
        "Amazon did not finish the report in time. The next sync catches up; nothing is lost."
    ),
    "sync.throttled": "Amazon is throttling requests. The next run resumes; nothing is lost.",
    "sync.auth_failed": (
        "Signing in to Amazon failed: {detail} Background sync of this account is paused until "
        "the credentials are fixed."
    ),
    "sync.access_denied": (
        "Amazon denies access to the order reports (HTTP 403). The app most likely lacks the "
        "restricted role 'Tax Invoicing (Restricted)' or 'Direct-to-Consumer Shipping "
        "(Restricted)'. Request the role in the app registration, then authorise the app again."
    ),
    "sync.unavailable": (
        "Amazon is temporarily unreachable ({detail}). The next sync catches up; nothing is lost."
    ),
    "sync.document_error": (
        "The order report could not be read completely ({detail}). The next sync downloads it "
        "again; nothing is lost."
    ),
    "sync.cancelled": (
        "The sync was cancelled. Orders already imported stay; the next run continues."
    ),
    "sync.header_error": "The order report has an unexpected format: {detail}",
    "sync.billing_missing": (
        "The order report carries no billing addresses. Orders were imported without a billing "
        "address. In Seller Central, switch on the 'Billing' columns under Orders > Order "
        "Reports > 'Add or remove order report columns'."
    ),
    "sync.problems": ("{count} order(s) could not be imported; they are retried at every sync."),
    "sync.busy": "A sync is already running for this account.",
    "sync.error": "The sync failed: {detail}",
}

CATALOGS: Final[dict[str, dict[str, str]]] = {"de": DE, "en": EN}


def translate(message_id: str, locale: str = DEFAULT_LOCALE, **params: object) -> str:
    """The message in the locale's language (German when the locale is unknown)."""
    language = (locale or DEFAULT_LOCALE).split("_")[0].split("-")[0].lower()
    catalog = CATALOGS.get(language, CATALOGS[DEFAULT_LOCALE])
    return catalog[message_id].format(**params)
