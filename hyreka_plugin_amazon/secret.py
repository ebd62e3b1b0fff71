"""``Secret``: a string that keeps itself out of reprs, logs and pickles."""

from __future__ import annotations

from typing import Any


class Secret:
    """A string that never shows itself in a repr, str or f-string; ``reveal()`` gives it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __format__(self, format_spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> Any:  # pickling would be a way out of the repr protection
        raise TypeError("Secret values cannot be pickled")
