"""What the seller reads: gettext catalogs, one ``locale/<language>.po`` per language.

Each entry's ``msgid`` is a stable message id (``sync.billing_missing``), its ``msgstr`` the
text, with ``str.format`` placeholders; values filled in are never secrets or buyers' personal
data. German is the host's language and the default; every id exists in every catalog (a test
checks it). The build compiles the ``.po`` files to ``.mo`` with Babel (``hatch_build.py``);
they are read here with the standard library's ``gettext``; plural forms through ``ngettext``.

The reference host reads its own catalogs with a loader of its own (``refhost/i18n/texts.py``):
a host imports only the contract of a connector, and how a connector keeps its texts is no
concern of the contract (its messages reach a host already in the seller's language). So the
few lines of loading stay written twice, kept as short as the standard library allows.
"""

from __future__ import annotations

import functools
import gettext
import io
from importlib import resources
from typing import Final

DEFAULT_LOCALE: Final = "de"
LANGUAGES: Final = ("de", "en")


class CatalogError(LookupError):
    """A compiled catalog is missing (the package was not built) or lacks a message."""


@functools.cache
def translations(language: str) -> gettext.GNUTranslations:
    """The compiled catalog of ``language`` (one of LANGUAGES)."""
    if language not in LANGUAGES:
        raise LookupError(f"no catalog for language {language!r}")
    mo = resources.files("hyreka_plugin_amazon").joinpath("locale", f"{language}.mo")
    try:
        return gettext.GNUTranslations(io.BytesIO(mo.read_bytes()))
    except FileNotFoundError:
        raise CatalogError(
            f"locale/{language}.mo is missing: install the package (pip install .), which "
            "compiles the catalogs"
        ) from None


@functools.cache
def catalog(language: str) -> dict[str, str]:
    """``message id -> text`` of ``language``; a plural entry under its id with its singular
    form (as gettext gives it)."""
    entries: dict[str | tuple[str, int], str] = getattr(translations(language), "_catalog")  # noqa: B009
    return {key if isinstance(key, str) else key[0]: text for key, text in entries.items()
            if key and (isinstance(key, str) or key[1] == 0)}  # fmt: skip


def language_of(locale: str | None) -> str:
    """``de_DE``, ``en-GB``, ``EN`` -> a language of LANGUAGES (German when unknown)."""
    language = (locale or DEFAULT_LOCALE).split("_")[0].split("-")[0].lower()
    return language if language in LANGUAGES else DEFAULT_LOCALE


def translate(message_id: str, locale: str = DEFAULT_LOCALE, **params: object) -> str:
    """The message in the locale's language (German when the locale is unknown)."""
    return catalog(language_of(locale))[message_id].format(**params)


def translate_plural(
    message_id: str, count: int, locale: str = DEFAULT_LOCALE, **params: object
) -> str:
    """The plural entry's form for ``count`` (passed on as ``count``)."""
    language = language_of(locale)
    if message_id not in catalog(language):
        raise KeyError(message_id)
    text = translations(language).ngettext(message_id, message_id, count)
    return text.format(count=count, **params)


def labels(message_id: str, **params: object) -> dict[str, str]:
    """The message in every language, e.g. for the connector description: ``{"de": ..., ...}``."""
    return {language: translate(message_id, language, **params) for language in LANGUAGES}
