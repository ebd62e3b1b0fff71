"""Amazon's charset names -> Python codecs, and the charset of a report file without one.

Amazon names charsets the Java way (``Cp1252``, ``Shift_JIS``, ``x-sjis``, ``windows-31j``) in
a download's Content-Type; sellers name them in ``import-report --charset``. One contract for
both: ``python_codec`` returns the codec's canonical Python name or raises CharsetError.
"""

from __future__ import annotations

import codecs
import gzip
import re
from pathlib import Path
from typing import IO, Final


class CharsetError(ValueError):
    """The file cannot be decoded with the charset given or detected; ``messages`` may word
    it for the seller (language -> text)."""

    def __init__(self, *args: object) -> None:
        super().__init__(*args)
        self.messages: dict[str, str] = {}


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

LATIN_1_CODECS: Final = frozenset({"latin-1", "iso8859-1"})  # codecs.lookup(...).name

# C1 control characters (U+0080..U+009F) never occur in a report's text: in a document that
# declares ISO-8859-1 they are the bytes of Cp1252's punctuation (Amazon's EU files are Cp1252,
# so a wrong declaration turns 0x84 0x93 into C1 controls instead of quotes). The five bytes
# Cp1252 leaves undefined are kept as they are.
_C1_AS_CP1252: Final = {
    code: bytes([code]).decode("cp1252", errors="ignore") or chr(code) for code in range(0x80, 0xA0)
}
_C1 = re.compile("[\x80-\x9f]")


def is_latin_1(codec: str) -> bool:
    """Whether a Python codec name is ISO-8859-1 (whose C1 range Cp1252 fills)."""
    return codecs.lookup(codec).name in LATIN_1_CODECS


def repair_c1(text: str) -> str:
    """Text decoded as ISO-8859-1 with its C1 control characters read as Cp1252."""
    if _C1.search(text) is None:
        return text
    return text.translate(_C1_AS_CP1252)


GZIP_MAGIC: Final = b"\x1f\x8b"
# Hiragana and katakana: text decoded as cp932 that holds them is Japanese (European text read
# as cp932 can make kanji of two accented letters, never kana: their lead bytes 0x82 and 0x83
# are quotes and a florin sign in cp1252, which no order report has).
_KANA = re.compile("[\u3041-\u30ff]")


def open_binary(path: Path) -> IO[bytes] | gzip.GzipFile:
    """The file's bytes; a gzip file (Amazon's compressed downloads) unpacked as it is read."""
    file = path.open("rb")
    if file.read(2) == GZIP_MAGIC:
        file.close()
        return gzip.open(path, "rb")
    file.seek(0)
    return file


def detect_charset(path: Path, *, japanese: bool = False) -> str:
    """The codec of a report file (gzip unpacked).

    A byte-order mark decides (utf-8-sig, utf-16); text with a NUL byte beside every ASCII
    character is UTF-16 without one (utf-16-le / -be, spreadsheets' "Unicode text"). Else
    the file is read once through UTF-8, cp932 and cp1252 decoders: utf-8 when all of it
    decodes; cp932 (Japan's Shift_JIS) when it decodes and ``japanese`` (a Japanese
    marketplace) or it holds kana; else cp1252 (Amazon's EU files and spreadsheet re-saves
    on Windows) when it decodes, else cp932 when that does. CharsetError when none does.
    """
    with open_binary(path) as file:
        head = file.read(_CHUNK)
        if head.startswith(codecs.BOM_UTF8):
            return "utf-8-sig"
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return "utf-16"
        utf16 = _utf16_without_bom(head)
        if utf16 is not None:
            return utf16
        decoders = {name: codecs.getincrementaldecoder(name)() for name in _CANDIDATES}
        failed: set[str] = set()
        kana = False
        chunk = head
        while True:
            final = not chunk
            for name, decoder in decoders.items():
                if name in failed:
                    continue
                try:
                    text = decoder.decode(chunk, final=final)
                except UnicodeDecodeError:
                    failed.add(name)
                    continue
                if name == "cp932" and not kana:
                    kana = _KANA.search(text) is not None
            if final or failed.issuperset(_CANDIDATES):
                break
            chunk = file.read(_CHUNK)
    decoded = [name for name in _CANDIDATES if name not in failed]
    if "utf-8" in decoded:
        return "utf-8"
    if "cp932" in decoded and (japanese or kana or "cp1252" not in decoded):
        return "cp932"
    if "cp1252" in decoded:
        return "cp1252"
    raise CharsetError("the file is neither UTF-8 nor cp1252 nor cp932; name its charset")


_CANDIDATES: Final = ("utf-8", "cp932", "cp1252")


def _utf16_without_bom(head: bytes) -> str | None:
    """utf-16-le / utf-16-be when every other byte of the start is NUL (ASCII text in
    UTF-16, as a header is), else None."""
    sample = head[:512]
    if len(sample) < 8 or sample.count(0) < len(sample) // 3:
        return None
    even, odd = sample[0::2], sample[1::2]
    if odd.count(0) >= len(odd) * 0.9:
        return "utf-16-le"
    if even.count(0) >= len(even) * 0.9:
        return "utf-16-be"
    return None
