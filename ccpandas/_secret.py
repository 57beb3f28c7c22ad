"""A string that will not show itself: tokens live in :class:`Secret` so no repr leaks them.

Example:
    >>> s = Secret("abc123")
    >>> s
    Secret('********')
    >>> f"{s}"
    '********'
    >>> s.reveal()
    'abc123'
"""

from __future__ import annotations

from typing import Any, NoReturn

__all__ = ["MASK", "Secret"]

MASK = "********"


class Secret:
    """Holds a secret string; ``repr``, ``str`` and ``format`` show only a mask.

    Only :meth:`reveal` returns the value, so every place that uses it is explicit
    and easy to find (``grep reveal``). Pickling is refused so a secret cannot be
    written to a journal or a notebook by accident.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str | Secret) -> None:
        if isinstance(value, Secret):
            value = value.reveal()
        if not isinstance(value, str):
            raise TypeError(f"a secret must be a str, not {type(value).__name__}")
        self._value = value

    def reveal(self) -> str:
        """The secret value itself. Use it only to build the one header that needs it."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({MASK!r})"

    def __str__(self) -> str:
        return MASK

    def __format__(self, spec: str) -> str:
        return format(MASK, spec)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Secret):
            return self._value == other._value
        return NotImplemented

    def __hash__(self) -> int:
        return hash((Secret, self._value))

    def __reduce__(self) -> NoReturn:
        raise TypeError("a Secret cannot be pickled (it would write the secret out)")

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self
