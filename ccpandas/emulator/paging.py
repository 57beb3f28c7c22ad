"""Opaque paging cursors for ``_links.next.href``.

A cursor is one opaque base64 (URL-safe, unpadded) string, as the real service's are.
Decoded, it carries the collection, the query's filters, the page size (``limit``),
where the next page starts (a position in a stable order, not an offset, so records
changing between pages never shift a page) and a signature. Clients must follow the
href, never build cursors.

Example:
    >>> cursor = encode_cursor("contacts", {"at": 41, "limit": 2})
    >>> decode_cursor(cursor, "contacts")
    {'at': 41, 'limit': 2}
    >>> next_link("contacts", "abc")
    {'next': {'href': '/v3/contacts?cursor=abc'}}
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from typing import Any

from ccpandas.emulator.replies import ErrorReply

__all__ = ["decode_cursor", "encode_cursor", "next_link"]


# A key made fresh in every emulator process: nobody outside can sign a cursor, so a
# decoded cursor is always one this server made (a made-up one could otherwise carry any
# page size or a half-filled state and end in a 500). Cursors from an earlier run of the
# emulator are refused like any stale cursor.
_KEY = secrets.token_bytes(32)


def _digest(raw: bytes) -> str:
    return hmac.new(_KEY, raw, hashlib.sha256).hexdigest()[:24]


def _canonical(state: dict[str, Any]) -> bytes:
    return json.dumps(state, separators=(",", ":"), sort_keys=True).encode()


def encode_cursor(collection: str, state: dict[str, Any]) -> str:
    """Pack ``state`` into an opaque, URL-safe base64 cursor for ``collection``.

    A signature (``s``) rides along, so an edited or made-up cursor is refused (400)
    instead of being half understood.
    """
    signed = {"c": collection, **state}
    signed["s"] = _digest(_canonical(signed))
    return base64.urlsafe_b64encode(_canonical(signed)).decode().rstrip("=")


def decode_cursor(cursor: str, collection: str) -> dict[str, Any]:
    """Unpack a cursor made by :func:`encode_cursor`; 400 if it is not one of ours."""
    state: Any = None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        state = json.loads(raw)
        digest = state.pop("s", None) if isinstance(state, dict) else None
        if not isinstance(digest, str) or not hmac.compare_digest(
            digest, _digest(_canonical(state))
        ):
            state = None
    except (binascii.Error, ValueError, UnicodeDecodeError):
        state = None
    if not isinstance(state, dict) or state.pop("c", None) != collection:
        raise ErrorReply(400, "validation_error", f"The cursor is not a valid {collection} cursor.")
    return state


def next_link(collection: str, cursor: str | None) -> dict[str, Any]:
    """The ``_links`` object: ``{"next": {"href": ...}}``, or ``{}`` on the last page."""
    if cursor is None:
        return {}
    return {"next": {"href": f"/v3/{collection}?cursor={cursor}"}}
