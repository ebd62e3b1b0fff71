"""Values made safe to print on a terminal, and account names checked when they are given.

Account names come from the seller, report fields from Amazon's files and the database from
whoever can write it: a value with terminal control sequences (``\\x1b[31m``), line breaks or
bidirectional overrides (U+202E) could recolour, rewrite or hide what the CLI shows. Every
value the CLI prints that did not come from the CLI itself goes through ``printable``.
"""

from __future__ import annotations

import unicodedata

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
