"""Every message the seller can see exists in German and English, with the same placeholders,
and every message id the code uses is in the catalogs."""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import string
import subprocess
import typing
from pathlib import Path

import jinja2
import pytest
from babel.messages.pofile import read_po
from jinja2 import nodes

import hyreka_plugin_amazon
from hyreka_plugin_amazon import messages
from hyreka_plugin_amazon.connector import connector_info
from hyreka_plugin_amazon.contract import DocumentType, OrderStatus, Progress
from hyreka_plugin_amazon.refhost.i18n import texts as host_texts
from hyreka_plugin_amazon.refhost.services.orders import SortKey
from hyreka_plugin_amazon.refhost.services.runs import Pacing
from hyreka_plugin_amazon.refhost.store.invoices import INVOICE_STATES
from hyreka_plugin_amazon.refhost.store.shipments import PackageState
from hyreka_plugin_amazon.refhost.web.console import (
    FULFILMENT,
    OWN_WORDS,
    RUN_CODES,
    SETTING_CHOICES,
    TRIGGERS,
)

PACKAGE = Path(hyreka_plugin_amazon.__file__).parent
DE, EN = messages.catalog("de"), messages.catalog("en")
HOST_DE, HOST_EN = host_texts.catalog("de"), host_texts.catalog("en")
# A connector result code the host's poller reads (a run it stopped counts neither way).
HOST_READS: frozenset[str] = frozenset({"sync.cancelled"})


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def ids_used_in_code(*, host: bool = False) -> dict[str, str]:
    """Every string literal of the connector (or with ``host``, the reference host) that looks
    like a message id of its catalog -> where it is."""
    catalog = HOST_DE if host else DE
    namespaces = "|".join(sorted({mid.split(".")[0] for mid in catalog}))
    pattern = re.compile(rf"^(?:{namespaces})\.[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*$")
    found: dict[str, str] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if (path.relative_to(PACKAGE).parts[0] == "refhost") != host:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                continue
            if pattern.match(node.value):
                found.setdefault(node.value, f"{path.relative_to(PACKAGE)}:{node.lineno}")
    return found


def test_both_catalogs_have_the_same_ids() -> None:
    assert set(DE) - set(EN) == set(), "missing in en.po"
    assert set(EN) - set(DE) == set(), "missing in de.po"
    assert len(DE) > 20


def test_every_id_the_code_uses_is_in_the_catalogs() -> None:
    used = ids_used_in_code()
    assert "sync.billing_missing" in used  # the scan finds ids
    missing = {mid: where for mid, where in used.items() if mid not in DE}
    assert missing == {}


def test_the_host_has_its_own_texts_for_every_id_it_uses() -> None:
    assert set(HOST_DE) == set(HOST_EN)
    used = ids_used_in_code(host=True)
    assert "cli.summary" in used  # the scan finds ids
    missing = {
        mid: where for mid, where in used.items() if mid not in HOST_DE and mid not in HOST_READS
    }
    assert missing == {}
    assert not {mid for mid in DE if mid.startswith("cli.")}  # none left in the connector's
    for message_id in HOST_DE:
        assert HOST_DE[message_id].strip()
        assert HOST_EN[message_id].strip()
        assert placeholders(HOST_DE[message_id]) == placeholders(HOST_EN[message_id])


@pytest.mark.parametrize("message_id", sorted(DE))
def test_translations_are_filled_and_use_the_same_placeholders(message_id: str) -> None:
    assert DE[message_id].strip()
    assert EN[message_id].strip()
    assert placeholders(DE[message_id]) == placeholders(EN[message_id])


def test_german_is_the_default_and_english_is_chosen_by_locale() -> None:
    assert messages.translate("sync.error", detail="x") == DE["sync.error"].format(detail="x")
    assert messages.translate("sync.cancelled", "en_GB") == EN["sync.cancelled"]
    assert messages.translate("sync.cancelled", "EN") == EN["sync.cancelled"]
    assert messages.translate("sync.cancelled", "fr") == DE["sync.cancelled"]
    assert messages.labels("sync.cancelled") == {
        "de": DE["sync.cancelled"],
        "en": EN["sync.cancelled"],
    }
    assert host_texts.translate("sync.busy") == HOST_DE["sync.busy"]
    assert host_texts.translate("sync.busy", "en_GB") == HOST_EN["sync.busy"]
    assert host_texts.translate("sync.busy", "fr") == HOST_DE["sync.busy"]


def test_the_catalogs_are_real_po_files() -> None:
    """msgfmt-compatible text: a header entry, then msgid/msgstr pairs in UTF-8."""
    for language in messages.LANGUAGES:
        text = (PACKAGE / "locale" / f"{language}.po").read_text(encoding="utf-8")
        assert 'msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=UTF-8\\n"' in text
        assert f'"Language: {language}\\n"' in text


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext's msgfmt not installed")
@pytest.mark.parametrize("language", messages.LANGUAGES)
def test_msgfmt_compiles_the_catalog_to_the_same_texts(language: str, tmp_path: Path) -> None:
    compiled = tmp_path / f"{language}.mo"
    source = PACKAGE / "locale" / f"{language}.po"
    subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(source)], check=True)
    with compiled.open("rb") as mo:
        gnu = gettext.GNUTranslations(mo)
    catalog = messages.catalog(language)
    assert {mid: gnu.gettext(mid) for mid in catalog} == catalog


CATALOG_FOLDERS = {"connector": PACKAGE / "locale", "host": PACKAGE / "refhost" / "i18n" / "locale"}


@pytest.mark.parametrize("owner", sorted(CATALOG_FOLDERS))
def test_the_compiled_catalogs_are_the_po_files_with_every_message_translated(owner: str) -> None:
    """Babel reads each .po; every message has its text in both languages (none empty, none
    fuzzy), and the .mo the package reads says the same (a stale .mo fails here)."""
    runtime = {"connector": messages.catalog, "host": host_texts.catalog}[owner]
    ids: dict[str, set[str]] = {}
    for language in messages.LANGUAGES:
        with (CATALOG_FOLDERS[owner] / f"{language}.po").open("rb") as po:
            catalog = read_po(po, locale=language)
        texts: dict[str, str] = {}
        for entry in catalog:
            if not entry.id:
                continue
            assert not entry.fuzzy, entry.id
            key = str(entry.id[0] if isinstance(entry.id, tuple) else entry.id)
            raw = entry.string
            forms = [str(f or "") for f in raw] if isinstance(raw, tuple | list) else [raw or ""]
            assert all(form.strip() for form in forms), f"{language}: {key} lacks a translation"
            texts[key] = forms[0]  # a plural entry: gettext(id) gives its singular
        assert runtime(language) == texts
        ids[language] = set(texts)
    assert ids["de"] == ids["en"]


def test_plural_forms_agree_with_the_count() -> None:
    assert host_texts.plural("cli.orders", 1, "de") == "1 Bestellung"
    assert host_texts.plural("cli.orders", 2, "de") == "2 Bestellungen"
    assert host_texts.plural("cli.orders", 0, "en") == "0 orders"
    assert host_texts.plural("cli.problems", 1, "en") == "1 open problem"
    with pytest.raises(KeyError):
        host_texts.plural("cli.no_such_text", 2, "de")


def test_every_form_of_a_plural_entry_has_the_same_placeholders_in_both_languages() -> None:
    """The singular and plural forms (``msgstr[0]``, ``msgstr[1]``) of each host plural entry,
    German against English; the plural form shows the count."""
    assert host_texts.plural_ids("de") == host_texts.plural_ids("en")
    assert {"cli.orders", "web.orders.count", "web.account.polling_on"} <= host_texts.plural_ids(
        "de"
    )
    for message_id in host_texts.plural_ids("de"):
        forms = {
            language: [
                host_texts.translations(language).ngettext(message_id, message_id, n)
                for n in (1, 2)
            ]
            for language in host_texts.LANGUAGES
        }
        for one_de, one_en in zip(forms["de"], forms["en"], strict=True):
            assert placeholders(one_de) == placeholders(one_en), message_id
        assert "count" in placeholders(forms["de"][1]), message_id


# ------------------------------------------------------------------------- the console's texts

WEB = PACKAGE / "refhost" / "web"
# What fills the keys the console puts together: t("phase." + state.phase) and the like.
WEB_KEY_PREFIXES: dict[str, tuple[str, ...]] = {
    "phase.": (*typing.get_args(typing.get_type_hints(Progress)["phase"]), "waiting"),  # jobs.py
    "status.": tuple(OrderStatus),
    "ship.state.": typing.get_args(PackageState),
    "orders.": tuple(SortKey),  # the sortable columns' headings
    "trigger.": TRIGGERS,  # console.py: what started a run
    "run.": RUN_CODES,  # console.py: a run's outcome
    "fulfillment.": FULFILMENT,
    "invoice.state.": INVOICE_STATES,  # an invoice's state in the outbox
    "invoice.type.": tuple(DocumentType),  # invoice, credit-note
    "setting_choice.": SETTING_CHOICES,  # console.py: a choice setting's value in words
    "pacing.": typing.get_args(typing.get_type_hints(Pacing)["reason"]),  # why a sync waits
}
WEB_KEY_SUFFIXES = (".title", ".text")  # t(kind + ".title") for each security._refused(kind)


def web_keys_used() -> tuple[set[str], set[str], set[str]]:
    """The console's text keys: literal ones (templates' ``t``, console.py's ``text``, the
    service errors it words its own way), and the prefixes and suffixes of the ones put together."""
    literal: set[str] = set()
    prefixes: set[str] = set()
    suffixes: set[str] = set()

    def key_of(node: nodes.Node) -> None:
        if isinstance(node, nodes.Const):
            literal.add(node.value)
        elif isinstance(node, nodes.CondExpr) and node.expr2 is not None:
            key_of(node.expr1)
            key_of(node.expr2)
        elif isinstance(node, nodes.Add) and isinstance(node.left, nodes.Const):
            prefixes.add(node.left.value)
        elif isinstance(node, nodes.Add) and isinstance(node.right, nodes.Const):
            suffixes.add(node.right.value)
        else:
            raise AssertionError(f"a key the test cannot follow: {node}")

    environment = jinja2.Environment(autoescape=True)
    for template in sorted((WEB / "templates").glob("*.html")):
        tree = environment.parse(template.read_text(encoding="utf-8"))
        for call in tree.find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name in ("t", "tm"):
                key_of(call.args[0])
    literal |= set(OWN_WORDS.values())  # the service errors the console words its own way
    python = {WEB / "console.py": "text"}
    for path, function in python.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id != function:
                continue
            key = node.args[1]
            if isinstance(key, ast.Constant):
                literal.add(str(key.value))
            elif isinstance(key, ast.JoinedStr) and isinstance(key.values[0], ast.Constant):
                prefixes.add(str(key.values[0].value))
            elif not isinstance(key, ast.Name | ast.Attribute):  # t's key, exc.message_id
                raise AssertionError(f"{path.name}:{node.lineno}: a key the test cannot follow")
    return literal, prefixes, suffixes


def refused_kinds() -> set[str]:
    tree = ast.parse((WEB / "security.py").read_text(encoding="utf-8"))
    return {
        str(node.args[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "_refused"
        and isinstance(node.args[0], ast.Constant)
    }


def test_every_console_text_is_in_the_host_catalogs_in_both_languages() -> None:
    """Each key the console's templates and code use is an entry ``web.<key>`` of de.po and
    en.po, also the keys they put together; and every ``web.`` entry is used."""
    literal, prefixes, suffixes = web_keys_used()
    assert {"account.new", "title", "form.required", "logintest.failed"} <= literal  # it finds
    assert prefixes == set(WEB_KEY_PREFIXES)  # a new kind of key put together: name its values
    assert suffixes == set(WEB_KEY_SUFFIXES)
    assert refused_kinds() == {"denied", "csrf", "expired", "loggedout", "user"}
    keys = literal | {prefix + value for prefix in prefixes for value in WEB_KEY_PREFIXES[prefix]}
    keys |= {kind + suffix for kind in refused_kinds() for suffix in suffixes}
    web_ids = {mid for mid in HOST_DE if mid.startswith(host_texts.WEB_PREFIX)}
    assert {host_texts.WEB_PREFIX + key for key in keys} - web_ids == set(), "missing"
    assert web_ids - {host_texts.WEB_PREFIX + key for key in keys} == set(), "unused"
    assert web_ids <= set(HOST_EN)
    for message_id in web_ids:
        assert placeholders(HOST_DE[message_id]) == placeholders(HOST_EN[message_id])


def test_the_console_reads_its_texts_in_each_language_with_plural_counts() -> None:
    assert host_texts.web_text("de", "account.new") == "Account anlegen"
    assert host_texts.web_text("en", "account.new") == "Add account"
    assert host_texts.web_text("fr", "account.new") == "Account anlegen"  # German by default
    assert host_texts.web_text("de", "account.saved", name="shop") == "Account shop gespeichert."
    page = {"page": 1, "pages": 2}
    assert host_texts.web_text("de", "orders.count", count=1, **page) == (
        "1 Bestellung, Seite 1 von 2"
    )
    assert host_texts.web_text("de", "orders.count", count=60, **page) == (
        "60 Bestellungen, Seite 1 von 2"
    )
    assert host_texts.web_text("en", "orders.count", count=0, **page) == "0 orders, page 1 of 2"
    assert host_texts.web_text("de", "account.polling_on", count=5) == "an, alle 5 Min."
    assert host_texts.web_text("en", "account.polling_on", count=15) == "on, every 15 min"
    backoff = {"minutes": 30, "usual": 15}
    assert "nach 1 Fehlschlag " in host_texts.web_text(
        "de", "account.polling_backoff", count=1, **backoff
    )
    assert "nach 2 Fehlschlägen " in host_texts.web_text(
        "de", "account.polling_backoff", count=2, **backoff
    )
    with pytest.raises(KeyError):
        host_texts.web_text("de", "no.such_text")


def test_billing_message_says_where_to_switch_the_columns_on() -> None:
    german = messages.translate("sync.billing_missing", "de")
    assert "Spalten im Bestellbericht hinzufügen oder entfernen" in german
    assert "Fakturierung" in german
    assert "Add or remove order report columns" in messages.translate("sync.billing_missing", "en")


def test_the_connector_describes_every_field_and_action_in_both_languages() -> None:
    info = connector_info()
    assert info.label == {"de": "Amazon (Seller Central)", "en": "Amazon (Seller Central)"}
    keys = [f.key for f in info.fields]
    assert keys == ["client_id", "client_secret", "refresh_token", "region", "marketplaces"]
    for account_field in info.fields:
        for texts in (account_field.label, account_field.help):
            assert set(texts) == set(messages.LANGUAGES)
            assert all(text.strip() for text in texts.values())
            assert texts["de"] != texts["en"] or account_field.key == "region"
    assert {f.key for f in info.fields if f.secret} == {"client_secret", "refresh_token"}
    region = next(f for f in info.fields if f.key == "region")
    assert (region.kind, tuple(c.value for c in region.choices)) == ("choice", ("na", "eu", "fe"))
    assert info.actions == {
        "test_login": {"de": "Anmeldung testen", "en": "Test login"},
        "sync_orders": {"de": "Synchronisieren", "en": "Synchronise"},
        "confirm_shipments": {"de": "Versand bestätigen", "en": "Confirm shipment"},
        "upload_invoices": {"de": "Rechnung hochladen", "en": "Upload invoice"},
    }


def test_the_setup_guide_has_a_fix_for_every_message_in_both_languages() -> None:
    readme = Path(__file__).resolve().parent.parent / "README.md"
    guide = readme.read_text(encoding="utf-8").split("\n## Einrichtung", 1)[1]
    guide = guide.split("\n## Security\n", 1)[0]
    german, english = guide.split("\n### English\n")
    seller_visible = {m for m in DE | HOST_DE if m.startswith(("login.", "sync."))}
    seller_visible |= {"report.money_columns_unknown", "report.prices_missing"}  # warnings
    seller_visible |= {"cli.secret_missing", "cli.marketplace_region"}
    for section in (german, english):
        table = section.split("\n| `", 1)[1]
        rows = {
            line.split("`")[1] for line in ("| `" + table).splitlines() if line.startswith("| `")
        }
        assert rows == seller_visible
