"""What a request handler answers: a JSON reply, or an :class:`ErrorReply` raised early.

``ErrorReply`` is the server's own signal ("answer this status with this error body");
it never leaves the emulator. Clients see it as the documented error body,
``[{"error_key": ..., "error_message": ...}]``.

Example:
    >>> err = ErrorReply(404, "not_found", "No contact list with list_id 'x'.")
    >>> err.status, err.body()
    (404, [{'error_key': 'not_found', 'error_message': "No contact list with list_id 'x'."}])
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

__all__ = ["ErrorReply", "Reply", "dumps"]


class ErrorReply(Exception):
    """Raised inside the emulator to answer ``status`` with the documented error body.

    ``errors`` holds one or more ``(error_key, error_message)`` pairs.
    """

    def __init__(self, status: int, key: str, message: str, *more: tuple[str, str]) -> None:
        super().__init__(f"{status} {key}: {message}")
        self.status = status
        self.errors = [(key, message), *more]

    def body(self) -> list[dict[str, str]]:
        """The JSON error body."""
        return [{"error_key": k, "error_message": m} for k, m in self.errors]

    def reply(self) -> Reply:
        """This error as a :class:`Reply`."""
        return Reply(self.status, self.body())


@dataclasses.dataclass
class Reply:
    """A status and a JSON-serialisable body."""

    status: int
    body: Any


def dumps(body: Any) -> bytes:
    """Compact UTF-8 JSON, as the API sends it."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
