"""The reference host's own texts (CLI lines, run and status messages), in its languages.

One ``refhost/locale/<language>.json`` per language: message id -> text with ``str.format``
placeholders. They are the host's, not the connector's: the connector's messages reach the host
inside its results (``LoginResult.message``, ``SyncResult.message``) and its ConnectorInfo.
Every id exists in every language (a test checks it); German is the default.
"""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Final

DEFAULT_LOCALE: Final = "de"
LANGUAGES: Final = ("de", "en")


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
