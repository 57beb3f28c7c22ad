"""One secret of any length in a system keyring, split over entries that each fit.

Windows' Credential Manager refuses a secret over 2,560 bytes
(``CRED_MAX_CREDENTIAL_BLOB_SIZE``, 5 x 512), and keyring's Windows backend hands the
secret to ``CredWrite`` as UTF-16, two bytes a character: 1,280 characters at most. A
JSON pair of a 1,150-character JWT and a 43-character refresh token is 1,234 characters
and fits; with a 1,200-character JWT it is 1,284 and ``CredWrite`` fails with error 1783
("The stub received bad data").

So the secret is cut in pieces of :data:`CHUNK_CHARS` characters, each in an entry of
its own (``<user>#a1``, ``<user>#a2``...), and a small manifest under ``<user>`` names
the pieces. A save writes the pieces into the slot the manifest does not use (``a`` or
``b``), then switches the manifest to them, then deletes the old slot's pieces: until
the manifest changes, the previous secret stays whole, so an interrupted save loses
nothing. Each piece starts with the save's random generation id, so a set whose pieces
come from different saves (edited outside ccpandas, or a backend that lost an entry) is
detected, never joined.

Example:
    >>> ring = _DictRing()
    >>> write(ring, "svc", "app", "x" * 2500)
    >>> sorted(user for _, user in ring.items)
    ['app', 'app#a1', 'app#a2', 'app#a3']
    >>> read(ring, "svc", "app") == "x" * 2500
    True
    >>> delete(ring, "svc", "app"), ring.items
    (True, {})
"""

from __future__ import annotations

import contextlib
import json
import secrets
from typing import Any

__all__ = ["CHUNK_CHARS", "WINDOWS_BLOB_BYTES", "IncompleteSecret", "delete", "read", "write"]

#: Windows' cap on one credential's secret, in bytes (``CRED_MAX_CREDENTIAL_BLOB_SIZE``).
WINDOWS_BLOB_BYTES = 2560
#: Characters of the secret per entry: with the 17-character generation prefix, 2,034
#: bytes as UTF-16, under Windows' cap with room to spare (keychains have no such cap).
CHUNK_CHARS = 1000
#: Marks the manifest (an older ccpandas kept the secret itself under the user name).
_MANIFEST_KEY = "ccpandas_chunks"
#: Stop probing for left-over pieces here: a backend that answers every name is broken.
_MAX_PIECES = 64


class IncompleteSecret(ValueError):
    """The keyring holds part of a secret only: a piece is missing or from another save."""


def _name(user: str, slot: str, index: int) -> str:
    return f"{user}#{slot}{index}"


def _manifest(ring: Any, service: str, user: str) -> tuple[dict[str, Any] | None, str | None]:
    """``(manifest, None)``, or ``(None, the entry's text)`` for a secret saved whole by an
    older ccpandas (or ``(None, None)``: nothing saved)."""
    text = ring.get_password(service, user)
    if not text:
        return None, None
    with contextlib.suppress(ValueError, AttributeError):
        data = json.loads(text)
        if isinstance(data, dict) and data.get(_MANIFEST_KEY) == 1:
            return data, None
    return None, text


def _delete_from(ring: Any, service: str, user: str, slot: str, start: int) -> None:
    """Delete the pieces ``start``, ``start + 1``... of ``slot`` that exist (left by a longer
    secret, or by a save that was interrupted: the manifest never named them)."""
    for index in range(start, _MAX_PIECES + 1):
        name = _name(user, slot, index)
        if ring.get_password(service, name) is None:
            return
        ring.delete_password(service, name)


def write(ring: Any, service: str, user: str, secret: str) -> None:
    """Store ``secret`` under ``user`` in pieces that each fit in any keyring.

    Args:
        ring: The keyring: the ``keyring`` module, or an object with its
            ``get_password``, ``set_password`` and ``delete_password``.
        service: The keyring's service name, e.g. ``"ccpandas"``.
        user: The entry's user name, e.g. the application's client id.
        secret: The text to store, of any length.
    """
    old, _ = _manifest(ring, service, user)
    slot = "b" if old is not None and old.get("slot") == "a" else "a"
    generation = secrets.token_hex(8)
    pieces = [secret[i : i + CHUNK_CHARS] for i in range(0, len(secret), CHUNK_CHARS)] or [""]
    if len(pieces) > _MAX_PIECES:
        raise ValueError(f"a secret of {len(secret)} characters is too long for the keyring")
    for index, piece in enumerate(pieces, 1):
        ring.set_password(service, _name(user, slot, index), f"{generation}:{piece}")
    _delete_from(ring, service, user, slot, len(pieces) + 1)
    manifest = {_MANIFEST_KEY: 1, "slot": slot, "count": len(pieces), "generation": generation}
    ring.set_password(service, user, json.dumps(manifest))  # the switch to the new pieces
    if old is not None:
        _delete_from(ring, service, user, str(old.get("slot")), 1)


def read(ring: Any, service: str, user: str) -> str | None:
    """The secret stored under ``user``, or None; :class:`IncompleteSecret` for a set of
    pieces that does not make a whole.

    Args:
        ring: The keyring, as for :func:`write`.
        service: The keyring's service name, e.g. ``"ccpandas"``.
        user: The entry's user name, e.g. the application's client id.
    """
    manifest, whole = _manifest(ring, service, user)
    if manifest is None:
        return whole
    count, slot = int(manifest.get("count", 0)), str(manifest.get("slot"))
    prefix = f"{manifest.get('generation')}:"
    parts = []
    for index in range(1, count + 1):
        piece = ring.get_password(service, _name(user, slot, index))
        if piece is None or not piece.startswith(prefix):
            state = "missing" if piece is None else "from another save"
            raise IncompleteSecret(
                f"part {index} of {count} in the keyring is {state}: the save that wrote "
                "it was interrupted, or the entries were changed outside ccpandas"
            )
        parts.append(piece[len(prefix) :])
    return "".join(parts)


def delete(ring: Any, service: str, user: str) -> bool:
    """Delete the secret under ``user`` and every piece of it; True if there was one.

    Args:
        ring: The keyring, as for :func:`write`.
        service: The keyring's service name, e.g. ``"ccpandas"``.
        user: The entry's user name, e.g. the application's client id.
    """
    manifest, whole = _manifest(ring, service, user)
    for slot in ("a", "b"):  # both: a save interrupted before its switch leaves pieces too
        _delete_from(ring, service, user, slot, 1)
    if manifest is None and whole is None:
        return False
    ring.delete_password(service, user)
    return True


class _DictRing:
    """A keyring in a dict, for the examples above."""

    def __init__(self) -> None:
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, user: str) -> str | None:
        return self.items.get((service, user))

    def set_password(self, service: str, user: str, value: str) -> None:
        self.items[(service, user)] = value

    def delete_password(self, service: str, user: str) -> None:
        del self.items[(service, user)]
