"""What a request handler answers: a JSON reply, or an :class:`ErrorReply` raised early.

``ErrorReply`` is the server's own signal ("answer this status with this error body");
it never leaves the emulator. Clients see it in one of two shapes (the ``error_shape``
setting): ``"array"``, the spec's ``[{"error_key": ..., "error_message": ...}]`` with
short keys; or ``"real"`` (the default), as the service answers: the application's
errors are arrays whose keys are namespaced (``contacts.api.not_found``), and the API
gateway's errors (401, 429, 504) are single JSON objects, ``gateway`` below.

Example:
    >>> err = ErrorReply(404, "not_found", "No contact list with list_id 'x'.")
    >>> err.status, err.body()
    (404, [{'error_key': 'not_found', 'error_message': "No contact list with list_id 'x'."}])
    >>> err.body("real")[0]["error_key"]
    'contacts.api.not_found'
    >>> ErrorReply(429, "throttled", "slow down", gateway=THROTTLED).body("real")
    {'error_key': 'throttled', 'error_message': 'Too Many Requests'}
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

__all__ = [
    "GATEWAY_TIMEOUT",
    "LIMIT_EXCEEDED",
    "NAMESPACED_KEYS",
    "THROTTLED",
    "UNAUTHORIZED",
    "ErrorReply",
    "Reply",
    "dumps",
]

#: The application's short error keys and the namespaced keys the service sends.
NAMESPACED_KEYS = {
    "not_found": "contacts.api.not_found",
    "conflict": "contacts.api.conflict",
    "validation_error": "contacts.api.validation.error",
}
#: The API gateway's own answers (one JSON object each, not an array).
UNAUTHORIZED = {"error_key": "unauthorized", "error_message": "Unauthorized"}
THROTTLED = {"error_key": "throttled", "error_message": "Too Many Requests"}
LIMIT_EXCEEDED = {"message": "Limit Exceeded"}
GATEWAY_TIMEOUT = {"message": "Endpoint request timed out"}


class ErrorReply(Exception):
    """Raised inside the emulator to answer ``status`` with the documented error body.

    ``errors`` holds one or more ``(error_key, error_message)`` pairs. ``gateway`` is
    the object the API gateway answers instead (401, 429, 504), with ``headers`` (e.g.
    ``WWW-Authenticate``), in the ``"real"`` shape.
    """

    def __init__(
        self,
        status: int,
        key: str,
        message: str,
        *more: tuple[str, str],
        gateway: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {key}: {message}")
        self.status = status
        self.errors = [(key, message), *more]
        self.gateway = gateway
        self.headers = headers or {}

    def body(self, shape: str = "array") -> Any:
        """The JSON error body in ``shape``: ``"array"`` or ``"real"``."""
        if shape == "real" and self.gateway is not None:
            return dict(self.gateway)
        names = NAMESPACED_KEYS if shape == "real" else {}
        return [{"error_key": names.get(k, k), "error_message": m} for k, m in self.errors]

    def reply(self, shape: str = "array") -> Reply:
        """This error as a :class:`Reply` in ``shape``."""
        return Reply(self.status, self.body(shape))


@dataclasses.dataclass
class Reply:
    """A status and a JSON-serialisable body; ``raw`` bytes are sent instead of the
    body's JSON when given (an answer mangled on its way, ``activity_answers``)."""

    status: int
    body: Any
    raw: bytes | None = None


def dumps(body: Any) -> bytes:
    """Compact UTF-8 JSON, as the API sends it."""
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
