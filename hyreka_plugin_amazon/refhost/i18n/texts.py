"""The reference host's own texts (CLI lines, run and status messages, the console's pages), in
its languages.

One gettext catalog ``refhost/i18n/locale/<language>.po`` per language: message id -> text with
``str.format`` placeholders, plural entries for counts; the console's texts are the ids
``web.<key>`` (``web_text``, which its templates call as ``t``). The build compiles them to
``.mo`` with Babel (``hatch_build.py``); they are read here with the standard library's
``gettext``. Every id exists in every language (a test checks it); German is the default.

They are the host's, not the connector's: the connector's messages reach the host inside its
results (``LoginResult.message``, ``SyncResult.message``) and its ConnectorInfo. So the host
keeps its own small loader beside the connector's ``messages.py`` instead of sharing one: a
host imports only the contract of a connector (an ERP has its own texts and knows nothing of
how a connector keeps its own), and reading a catalog is no concern of the contract.
"""

from __future__ import annotations

import functools
import gettext
import io
import os
from collections.abc import Mapping
from importlib import resources
from typing import Final

DEFAULT_LOCALE: Final = "de"
LANGUAGES: Final = ("de", "en")
LANG_ENV: Final = "HYREKA_LANG"
LOCALE_ENV: Final = ("LC_ALL", "LC_MESSAGES", "LANG")  # POSIX order: the first one set counts
WEB_PREFIX: Final = "web."  # the console's texts


@functools.cache
def translations(language: str) -> gettext.GNUTranslations:
    """The host's compiled catalog of ``language`` (one of LANGUAGES)."""
    if language not in LANGUAGES:
        raise LookupError(f"no host texts for language {language!r}")
    mo = resources.files("hyreka_plugin_amazon.refhost.i18n").joinpath("locale", f"{language}.mo")
    try:
        return gettext.GNUTranslations(io.BytesIO(mo.read_bytes()))
    except FileNotFoundError:
        raise LookupError(
            f"refhost/i18n/locale/{language}.mo is missing: install the package (pip install .), "
            "which compiles the catalogs"
        ) from None


def _entries(language: str) -> dict[str | tuple[str, int], str]:
    """gettext's table: id -> text, and (id, form) -> text for a plural entry's forms."""
    table: dict[str | tuple[str, int], str] = getattr(translations(language), "_catalog")  # noqa: B009
    return table


@functools.cache
def catalog(language: str) -> dict[str, str]:
    """The host's texts in ``language``: id -> text (a plural entry: its singular form)."""
    entries = _entries(language).items()
    return {key if isinstance(key, str) else key[0]: text for key, text in entries
            if key and (isinstance(key, str) or key[1] == 0)}  # fmt: skip


@functools.cache
def plural_ids(language: str) -> frozenset[str]:
    """The ids of the plural entries (``msgid_plural``) of ``language``."""
    return frozenset(key[0] for key in _entries(language) if isinstance(key, tuple))


def language_of(locale: str | None) -> str:
    """``de_DE``, ``en-GB``, ``EN`` -> a language of LANGUAGES (German when unknown)."""
    language = (locale or DEFAULT_LOCALE).split("_")[0].split("-")[0].lower()
    return language if language in LANGUAGES else DEFAULT_LOCALE


def translate(message_id: str, locale: str = DEFAULT_LOCALE, **params: object) -> str:
    """The host text in the locale's language (German when the locale is unknown); of a plural
    entry the form for the parameter ``count``."""
    language = language_of(locale)
    text = catalog(language)[message_id]  # KeyError for an unknown id
    count = params.get("count")
    if isinstance(count, int) and message_id in plural_ids(language):
        text = translations(language).ngettext(message_id, message_id, count)
    return text.format(**params)


def plural(message_id: str, count: int, locale: str = DEFAULT_LOCALE, **params: object) -> str:
    """The plural entry's form for ``count`` (passed on as the parameter ``count``)."""
    return translate(message_id, locale, count=count, **params)


def web_text(language: str, key: str, **params: object) -> str:
    """The console's text ``key`` (the catalog's ``web.<key>``) in ``language``, filled in."""
    return translate(WEB_PREFIX + key, language, **params)


def language_from_environment(env: Mapping[str, str] = os.environ) -> str:
    """The language of a run without ``--lang``: ``HYREKA_LANG``, else the locale (``LC_ALL``,
    ``LC_MESSAGES``, ``LANG``; German for ``de*``, English for any other language), else
    German. The ``C``/``POSIX`` locale chooses no language."""
    wanted = env.get(LANG_ENV, "").strip().lower()
    if wanted in LANGUAGES:
        return wanted
    for name in LOCALE_ENV:
        value = env.get(name, "").strip()
        if not value:
            continue
        if value.split(".")[0].upper() in ("C", "POSIX"):
            return DEFAULT_LOCALE
        return "de" if value.lower().startswith("de") else "en"
    return DEFAULT_LOCALE
