"""URL checks shared by the API client and the OAuth2 flows: only https, or plain http
to a loopback host (the emulator), so a secret never crosses a network in clear text.

Example:
    >>> secure_url("https://api.cc.email/v3/", name="base_url", example="https://host/v3",
    ...            carries="the access token")
    'https://api.cc.email/v3'
"""

from __future__ import annotations

from ipaddress import ip_address
from urllib.parse import urlsplit, urlunsplit

from ccpandas._secret import looks_like_token
from ccpandas.errors import ConfigError

__all__ = ["is_loopback_host", "normalize_base_url", "secure_url"]


def is_loopback_host(host: str | None) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1``: hosts where plain http is acceptable.

    Example:
        >>> is_loopback_host("127.0.0.5"), is_loopback_host("::1"), is_loopback_host("example.com")
        (True, True, False)
    """
    if not host:
        return False
    host = host.strip("[]").lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        addr = ip_address(host)
    except ValueError:
        return False
    mapped = getattr(addr, "ipv4_mapped", None)
    return bool(addr.is_loopback or (mapped is not None and mapped.is_loopback))


def secure_url(url: str, *, name: str, example: str, carries: str) -> str:
    """Check ``url`` and return it normalised, without a trailing slash.

    ``name`` and ``example`` word the errors; ``carries`` says what would travel
    unencrypted over plain http. Raises :class:`~ccpandas.errors.ConfigError`.

    Example:
        >>> secure_url("http://example.com/x", name="auth_url", example="https://host",
        ...            carries="secrets")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ccpandas.errors.ConfigError: refusing plain http:// to example.com: secrets would ...
    """
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"{name} must be a non-empty URL string, not {url!r}")
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname:
        # A token given here (two arguments swapped) is not quoted back.
        shown = f"{len(url)} characters like a token" if looks_like_token(url) else repr(url)
        raise ConfigError(f"{name} must look like {example}, not {shown}")
    if parts.username is not None or parts.password is not None:
        # Never echo the URL: it holds credentials.
        raise ConfigError(f"{name} must not contain a user name or password")
    if parts.query or parts.fragment:
        raise ConfigError(f"{name} must not contain a query string or fragment")
    if scheme == "http" and not is_loopback_host(parts.hostname):
        raise ConfigError(
            f"refusing plain http:// to {parts.hostname}: {carries} would travel "
            "unencrypted. Use https://, or a loopback host (127.0.0.1, ::1, localhost) "
            "for the local emulator."
        )
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError as exc:
        raise ConfigError(f"{name} has an invalid port: {url!r}") from exc
    return urlunsplit((scheme, parts.netloc.lower(), parts.path.rstrip("/"), "", ""))


def normalize_base_url(url: str) -> str:
    """Check a base URL and return it without a trailing slash.

    Refuses anything but ``https://``, except plain ``http://`` to a loopback host
    (the emulator), so the token is never sent in clear text over a network.
    Raises :class:`~ccpandas.errors.ConfigError` (a configuration problem, not an
    answer from the API).

    Example:
        >>> normalize_base_url("https://api.cc.email/v3/")
        'https://api.cc.email/v3'
        >>> normalize_base_url("http://api.cc.email/v3")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ccpandas.errors.ConfigError: refusing plain http:// to api.cc.email: ...
    """
    return secure_url(url, name="base_url", example="https://host/v3", carries="the access token")
