"""The reference host's own texts (CLI lines, run and status messages), in its languages.

One gettext catalog ``refhost/i18n/locale/<language>.po`` per language: message id -> text with
``str.format`` placeholders, plural entries for counts. The build compiles them to ``.mo`` with
Babel (``hatch_build.py``); they are read here with the standard library's ``gettext``. They
are the host's, not the connector's: the connector's messages reach the host inside its
results (``LoginResult.message``, ``SyncResult.message``) and its ConnectorInfo. Every id
exists in every language (a test checks it); German is the default.
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


@functools.cache
def translations(language: str) -> gettext.GNUTranslations:
    """The host's compiled catalog of ``language`` (one of LANGUAGES)."""
    if language not in LANGUAGES:
        raise LookupError(f"no host texts for language {language!r}")
    source = resources.files("hyreka_plugin_amazon.refhost.i18n").joinpath(
        "locale", f"{language}.mo"
    )
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        raise LookupError(
            f"refhost/i18n/locale/{language}.mo is missing: install the package (pip install .), "
            "which compiles the catalogs"
        ) from None
    return gettext.GNUTranslations(io.BytesIO(data))


@functools.cache
def catalog(language: str) -> dict[str, str]:
    """The host's texts in ``language``: id -> text (a plural entry: its singular form)."""
    entries: dict[object, str] = getattr(translations(language), "_catalog")  # noqa: B009
    texts = {key: text for key, text in entries.items() if isinstance(key, str) and key}
    texts.update({key[0]: text for key, text in entries.items() if isinstance(key, tuple)
                  if key[1] == 0})  # fmt: skip
    return texts


def language_of(locale: str | None) -> str:
    """``de_DE``, ``en-GB``, ``EN`` -> a language of LANGUAGES (German when unknown)."""
    language = (locale or DEFAULT_LOCALE).split("_")[0].split("-")[0].lower()
    return language if language in LANGUAGES else DEFAULT_LOCALE


def translate(message_id: str, locale: str = DEFAULT_LOCALE, **params: object) -> str:
    """The host text in the locale's language (German when the locale is unknown)."""
    return catalog(language_of(locale))[message_id].format(**params)


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


def plural(message_id: str, count: int, locale: str = DEFAULT_LOCALE, **params: object) -> str:
    """The plural entry's form for ``count`` in the locale's language (``count`` is passed on
    as a parameter)."""
    language = language_of(locale)
    if message_id not in catalog(language):
        raise KeyError(message_id)
    text = translations(language).ngettext(message_id, message_id, count)
    return text.format(count=count, **params)
