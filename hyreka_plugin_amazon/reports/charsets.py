"""Amazon's charset names -> Python codecs, and the charset of a report file without one.

Amazon names charsets the Java way (``Cp1252``, ``Shift_JIS``, ``x-sjis``, ``windows-31j``) in
a download's Content-Type; sellers name them in ``import-report --charset``. One contract for
both: ``python_codec`` returns the codec's canonical Python name or raises CharsetError.
"""

from __future__ import annotations

import codecs
from pathlib import Path
from typing import Final


class CharsetError(ValueError):
    """The file cannot be decoded with the charset given or detected."""


# Java charset names Amazon sends that Python spells differently (or not at all).
_ALIASES: Final = {
    "x-cp1252": "cp1252",
    "x-sjis": "cp932",
    "shift_jis": "cp932",
    "shift-jis": "cp932",
    "sjis": "cp932",
    "ms932": "cp932",
    "windows-31j": "cp932",
}


def python_codec(charset: str) -> str:
    """The Python codec for a charset name from Amazon or a seller (``Cp1252`` -> ``cp1252``,
    ``Shift_JIS`` -> ``cp932``); surrounding blanks and quotes are ignored. Raises
    CharsetError for a name no codec answers to."""
    name = charset.strip().strip("\"'").lower()
    try:
        return codecs.lookup(_ALIASES.get(name, name)).name
    except LookupError:
        raise CharsetError(f"unknown charset {charset!r}") from None


_CHUNK = 1 << 16


def detect_charset(path: Path) -> str:
    """The codec of a report file: a byte-order mark decides (utf-8-sig, utf-16); without one
    the file is read once through an incremental UTF-8 decoder: utf-8 when all of it decodes,
    else cp1252 (Amazon's EU files and spreadsheet re-saves on Windows)."""
    with path.open("rb") as file:
        start = file.read(4)
        if start.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        decoder = codecs.getincrementaldecoder("utf-8")()
        chunk = start
        try:
            while chunk:
                decoder.decode(chunk)
                chunk = file.read(_CHUNK)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8"
