"""The access tokens the emulator accepts, with their scopes and expiry.

The request pipeline asks :meth:`TokenStore.authenticate` about every bearer token, so
an OAuth2 server (issue 5) can later issue, refresh and revoke tokens through this one
store without touching the server. Tokens never appear in a repr or an error message.

Example:
    >>> store = TokenStore(seed=1)
    >>> token = store.issue(scopes={"contact_data"})
    >>> store.is_valid(token), store.is_valid("nope")
    (True, False)
    >>> store
    TokenStore(1 token)
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import hashlib
import json
import random
import threading
from collections.abc import Iterable
from typing import Any

__all__ = ["API_AUDIENCE", "DEFAULT_SCOPES", "TokenInfo", "TokenStore", "default_token", "fake_jwt"]

#: The scopes a default token carries: everything this project needs.
DEFAULT_SCOPES = frozenset({"contact_data", "offline_access"})
#: The ``aud`` claim of the service's access tokens.
API_AUDIENCE = "https://api.cc.email/v3"
#: The ``iss`` claim: Constant Contact's identity server (an Okta authorization server).
ISSUER = "https://identity.constantcontact.com/oauth2/aus1lm3ry9mF7x2Ja0h8"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def fake_jwt(claims: dict[str, Any], rng: random.Random, *, kid: str) -> str:
    """A token shaped like an RS256 JWT: ``header.payload.signature`` in base64url.

    The header and payload are real JSON (a client may decode the claims, as
    ``ccpandas doctor`` does); the signature is 256 random bytes from ``rng``, the
    length of an RSA-2048 signature, and signs nothing: the emulator knows its tokens
    by their text, and no client here verifies signatures (that needs the issuer's
    keys, and a dependency). With the claims the OAuth2 server puts in, a token has the
    real ones' length, about 1,100 to 1,200 characters.

    Example:
        >>> token = fake_jwt({"aud": API_AUDIENCE}, random.Random(1), kid="k")
        >>> header, payload, signature = token.split(".")
        >>> json.loads(base64.urlsafe_b64decode(header + "=="))
        {'kid': 'k', 'alg': 'RS256'}
        >>> len(base64.urlsafe_b64decode(signature + "=="))
        256
    """
    header = _b64url(json.dumps({"kid": kid, "alg": "RS256"}, separators=(",", ":")).encode())
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signature = _b64url(rng.getrandbits(2048).to_bytes(256, "big"))
    return f"{header}.{payload}.{signature}"


def default_token(seed: int) -> str:
    """The token an emulator started with ``seed`` accepts unless told otherwise."""
    return "ccemu_" + hashlib.sha256(f"ccpandas-emulator:{seed}".encode()).hexdigest()[:40]


@dataclasses.dataclass
class TokenInfo:
    """One issued token: scopes, optional expiry time, optional request budget."""

    scopes: frozenset[str]
    expires_at: dt.datetime | None = None
    expires_after: int | None = None  # requests; None -> the emulator's token_expires_after
    uses: int = 0
    revoked: bool = False


class TokenStore:
    """Thread-safe registry of valid tokens (the seam for a future OAuth2 server)."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, TokenInfo] = {}
        self._rng = random.Random(f"{seed}:tokens")

    def issue(
        self,
        token: str | None = None,
        *,
        scopes: Iterable[str] = DEFAULT_SCOPES,
        expires_at: dt.datetime | None = None,
        expires_after: int | None = None,
    ) -> str:
        """Register ``token`` (or a new deterministic one) and return it.

        ``expires_at`` ends it at a clock time; ``expires_after`` after that many
        accepted requests (overriding the emulator's ``token_expires_after``).
        """
        with self._lock:
            if token is None:
                token = f"ccemu_{self._rng.getrandbits(160):040x}"
            if not token or any(ch.isspace() for ch in token):
                raise ValueError("a token must be a non-empty string without whitespace")
            self._tokens[token] = TokenInfo(frozenset(scopes), expires_at, expires_after)
            return token

    def revoke(self, token: str) -> None:
        """Make ``token`` answer 401 from now on."""
        with self._lock:
            if token in self._tokens:
                self._tokens[token].revoked = True

    def authenticate(
        self, token: str | None, *, now: dt.datetime, default_expires_after: int | None
    ) -> tuple[str, frozenset[str]]:
        """Check a token and count one use. Returns ``(verdict, scopes)``.

        ``verdict`` is ``"ok"``, ``"missing"``, ``"unknown"``, ``"revoked"`` or
        ``"expired"``; only ``"ok"`` counts a use.
        """
        if not token:
            return "missing", frozenset()
        with self._lock:
            info = self._tokens.get(token)
            if info is None:
                return "unknown", frozenset()
            if info.revoked:
                return "revoked", info.scopes
            budget = info.expires_after if info.expires_after is not None else default_expires_after
            if (info.expires_at is not None and now >= info.expires_at) or (
                budget is not None and info.uses >= budget
            ):
                return "expired", info.scopes
            info.uses += 1
            return "ok", info.scopes

    def is_valid(self, token: str, *, now: dt.datetime | None = None) -> bool:
        """True when ``token`` is known, not revoked and not past ``expires_at``.

        (A request budget from ``token_expires_after`` is checked by the server, which
        knows the current setting.)
        """
        with self._lock:
            info = self._tokens.get(token)
            if info is None or info.revoked:
                return False
            if info.expires_after is not None and info.uses >= info.expires_after:
                return False
            now = now or dt.datetime.now(dt.UTC)
            return info.expires_at is None or now < info.expires_at

    def info(self, token: str) -> TokenInfo:
        """A copy of what the store knows about ``token`` (``KeyError`` if unknown)."""
        with self._lock:
            info = self._tokens.get(token)
            if info is None:
                raise KeyError("unknown token")  # never echo the token itself
            return dataclasses.replace(info)

    def __len__(self) -> int:
        with self._lock:
            return len(self._tokens)

    def __repr__(self) -> str:
        n = len(self)
        return f"TokenStore({n} token{'s' if n != 1 else ''})"
