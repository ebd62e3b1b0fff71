"""The reference host's own texts (CLI lines, run and status messages), in its languages.

One ``refhost/locale/<language>.json`` per language: message id -> text with ``str.format``
placeholders. They are the host's, not the connector's: the connector's messages reach the host
inside its results (``LoginResult.message``, ``SyncResult.message``) and its ConnectorInfo.
Every id exists in every language (a test checks it); German is the default.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from importlib import resources
from typing import Final

DEFAULT_LOCALE: Final = "de"
LANGUAGES: Final = ("de", "en")
LANG_ENV: Final = "HYREKA_LANG"
LOCALE_ENV: Final = ("LC_ALL", "LC_MESSAGES", "LANG")  # POSIX order: the first one set counts


@functools.cache
def catalog(language: str) -> dict[str, str]:
    """The host's texts in ``language`` (one of LANGUAGES)."""
    if language not in LANGUAGES:
        raise LookupError(f"no host texts for language {language!r}")
    source = resources.files("hyreka_plugin_amazon.refhost").joinpath("locale", f"{language}.json")
    texts: dict[str, str] = json.loads(source.read_text(encoding="utf-8"))
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


def plural(count: int, one: str, other: str, locale: str = DEFAULT_LOCALE, **params: object) -> str:
    """The text of message ``one`` for a count of 1, else of ``other`` (both languages here
    have these two forms); ``count`` is passed on as a parameter."""
    return translate(one if count == 1 else other, locale, count=count, **params)
