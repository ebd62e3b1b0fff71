"""What the seller reads: gettext-style catalogs, one ``locale/<language>.po`` per language.

Each entry's ``msgid`` is a stable message id (``sync.billing_missing``), its ``msgstr`` the
text, with ``str.format`` placeholders; values filled in are never secrets or buyers' personal
data. German is the host's language and the default; every id exists in every catalog (a test
checks it). The catalogs are read at runtime by the small parser below (no compile step).
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Final

DEFAULT_LOCALE: Final = "de"
LANGUAGES: Final = ("de", "en")

_ESCAPES: Final = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
_LINE: Final = re.compile(r'^(?:(msgid|msgstr)\s+)?"((?:[^"\\]|\\.)*)"$')


class CatalogError(ValueError):
    """A ``.po`` file this parser does not accept (with the line that broke it)."""


def parse_po(text: str, source: str = "<catalog>") -> dict[str, str]:
    """``msgid -> msgstr`` of a ``.po`` text; the header entry and fuzzy entries are left out.

    Accepts what this project writes: comments, ``#, fuzzy`` flags, ``msgid``/``msgstr`` with
    continuation lines, and the escapes ``\\n \\t \\" \\\\``. Plural forms and contexts are
    not used here and are refused.
    """
    entries: dict[str, str] = {}
    current: dict[str, list[str]] = {}
    field: str | None = None
    fuzzy = False

    def finish() -> None:
        if "msgid" not in current:
            return
        if "msgstr" not in current:
            raise CatalogError(f"{source}: msgid {''.join(current['msgid'])!r} has no msgstr")
        key, value = "".join(current["msgid"]), "".join(current["msgstr"])
        if key in entries:
            raise CatalogError(f"{source}: msgid {key!r} appears twice")
        if key and not fuzzy:
            entries[key] = value

    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            if line.startswith("#,") and "fuzzy" in line:
                finish()
                current, field, fuzzy = {}, None, True
            continue
        match = _LINE.match(line)
        if match is None:
            raise CatalogError(f"{source}, line {number}: cannot read {line[:40]!r}")
        keyword, value = match.groups()
        if keyword == "msgid" and "msgstr" in current:
            finish()
            current, fuzzy = {}, False
        if keyword is not None:
            if keyword in current:
                raise CatalogError(f"{source}, line {number}: a second {keyword}")
            field = keyword
            current[field] = []
        elif field is None:
            raise CatalogError(f"{source}, line {number}: a string outside an entry")
        current[field].append(_unescape(value, f"{source}, line {number}"))
    finish()
    return entries


def _unescape(value: str, where: str) -> str:
    def replace(match: re.Match[str]) -> str:
        char = match.group(1)
        if char not in _ESCAPES:
            raise CatalogError(f"{where}: unknown escape \\{char}")
        return _ESCAPES[char]

    return re.sub(r"\\(.)", replace, value)


@functools.cache
def catalog(language: str) -> dict[str, str]:
    """The messages of ``language`` (one of LANGUAGES), read from the package's ``.po`` file."""
    if language not in LANGUAGES:
        raise LookupError(f"no catalog for language {language!r}")
    source = resources.files("hyreka_plugin_amazon").joinpath("locale", f"{language}.po")
    return parse_po(source.read_text(encoding="utf-8"), f"locale/{language}.po")


def language_of(locale: str | None) -> str:
    """``de_DE``, ``en-GB``, ``EN`` -> a language of LANGUAGES (German when unknown)."""
    language = (locale or DEFAULT_LOCALE).split("_")[0].split("-")[0].lower()
    return language if language in LANGUAGES else DEFAULT_LOCALE


def translate(message_id: str, locale: str = DEFAULT_LOCALE, **params: object) -> str:
    """The message in the locale's language (German when the locale is unknown)."""
    return catalog(language_of(locale))[message_id].format(**params)


def labels(message_id: str, **params: object) -> dict[str, str]:
    """The message in every language, e.g. for the connector description: ``{"de": ..., ...}``."""
    return {language: translate(message_id, language, **params) for language in LANGUAGES}
