"""Values made safe to print on a terminal, and account names checked when they are given.

Account names come from the seller, report fields from Amazon's files and the database from
whoever can write it: a value with terminal control sequences (``\\x1b[31m``, or the 8-bit
CSI U+009B), line breaks or bidirectional overrides (U+202E) could recolour, rewrite or hide
what the CLI shows, set the terminal's title or clear the screen. Every value the CLI prints
that did not come from the CLI itself goes through ``printable`` (a host text's values through
``printable_params``), JSON through ``json_text``; CSV cells are cleaned in ``csvcells``.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Mapping
from decimal import Decimal

_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
MAX_NAME_LENGTH = 80


def _unsafe(char: str) -> bool:
    return unicodedata.category(char) in _UNSAFE_CATEGORIES


def printable(value: object) -> str:
    """``str(value)`` with every control, format and line-separator character escaped
    (``\\x1b``, ``\\n``, ``\\u202e``), so that it prints as one inert line."""
    text = str(value)
    if not any(map(_unsafe, text)):
        return text
    return "".join(_escape(char) if _unsafe(char) else char for char in text)


def printable_text(text: str) -> str:
    """A text of several lines (the host's own, with values already made ``printable``) with
    its line breaks kept and every other unsafe character escaped."""
    return "\n".join(printable(line) for line in str(text).split("\n"))


def printable_params(params: Mapping[str, object]) -> dict[str, object]:
    """A host text's values made ``printable`` (numbers and flags stay as they are, for the
    text's plural forms and number formats)."""
    return {
        key: value if isinstance(value, int | float | Decimal) else printable(value)
        for key, value in params.items()
    }


def json_text(value: object, *, indent: int | None = 2) -> str:
    """``value`` as JSON (non-ASCII letters as they are) in which every character that is not
    safe on a terminal is written as a ``\\uXXXX`` escape: the same JSON to a parser, inert
    on a terminal. (``json`` escapes U+0000-U+001F itself; this escapes DEL, the C1 controls
    with the 8-bit CSI, and format, separator, surrogate, private-use and unassigned
    characters.)"""
    text = json.dumps(value, ensure_ascii=False, indent=indent)
    if not any(map(_unsafe, text.replace("\n", ""))):
        return text
    # a line break is the indentation's (inside strings json wrote it as \n)
    return "".join(_json_escape(char) if char != "\n" and _unsafe(char) else char for char in text)


def _json_escape(char: str) -> str:
    code = ord(char)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def _escape(char: str) -> str:
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def check_account_name(name: str) -> str:
    """``name`` if it is a usable account name; ValueError saying why not."""
    if not name.strip():
        raise ValueError("an account name cannot be empty")
    if len(name) > MAX_NAME_LENGTH:
        raise ValueError(f"an account name has at most {MAX_NAME_LENGTH} characters")
    if any(map(_unsafe, name)):
        raise ValueError(
            f"the account name {printable(name)} contains control or formatting characters "
            "(escape sequences, line breaks, direction overrides); choose another"
        )
    return name
