"""Helpers of the authentication tests: the client id, fast login settings, the
collection of secrets and texts for the leak test, and a simulated person who answers
logins over HTTP as they would in a browser."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any, ClassVar

import requests

from ccpandas._secret import Secret
from ccpandas.auth.connect import ENV_VARIABLES, DeviceCode, TextView, login
from ccpandas.auth.tokenstore import Credentials, TokenStore
from ccpandas.emulator import Emulator

CLIENT_ID = "5f1c1b0e-3a9d-4c57-9a43-0d2f7c1e8b21"
#: The thread where the simulated person's browser runs (its requests log their URLs).
BROWSER_THREAD = "person-at-browser"
#: Fast logins: devices poll every 50 ms, no token endpoint limit, instant activities.
FAST_AUTH: dict[str, Any] = {
    "rate": None,
    "speed": 1_000_000.0,
    "device_interval": 0.05,
    "token_rate": None,
}
ENV_VARS = ENV_VARIABLES  # cleared for every test


class Secrets:
    """Every secret the tests' emulators issued, and every text the tests produced: the
    leak test greps the second for the first."""

    def __init__(self) -> None:
        self.emulators: list[Emulator] = []
        self.texts: list[str] = []
        self.lock = threading.Lock()

    def issued(self) -> set[str]:
        out: set[str] = set()
        for emu in self.emulators:
            out.update(emu.oauth.issued_secrets())
            out.add(emu.token)
        return out

    def see(self, *objects: Any) -> None:
        """Keep the str and repr of objects (results, errors, clients) for the grep."""
        with self.lock:
            for obj in objects:
                self.texts.append(str(obj))
                self.texts.append(repr(obj))


class Collector(logging.Handler):
    def __init__(self, secrets: Secrets) -> None:
        super().__init__(logging.DEBUG)
        self.secrets = secrets
        self.setFormatter(logging.Formatter("[%(threadName)s] %(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)  # includes the formatted traceback, if any
        with self.secrets.lock:
            self.secrets.texts.append(text)


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.01)


class User(TextView):
    """A person at a browser: answers a device login on the verification page (GET the
    link, POST the decision), or follows a PKCE login's URL and its redirect.

    ``decision``: ``approve`` or ``deny``; ``after_pending``: first let the client poll
    that many times (``authorization_pending``) before answering. ``at_once``: answer a
    device login on the page before ``show_device_code`` returns, so before the client's
    first poll (no race with it; needed with a frozen emulator clock, where every poll
    after the first answers ``slow_down``). An answer that fails in the background is
    raised in the client's thread at its next ``tick``, so the login fails instead of
    polling on until the code expires.
    """

    def __init__(
        self,
        emu: Emulator,
        decision: str = "approve",
        *,
        after_pending: int = 0,
        hook: bool = False,
        at_once: bool = False,
    ) -> None:
        super().__init__()
        self.emu = emu
        self.decision = decision
        self.after_pending = after_pending
        self.hook = hook
        self.at_once = at_once
        self.codes: list[DeviceCode] = []
        self.states: list[str] = []
        self.ticks = 0
        self.threads: list[threading.Thread] = []
        self.errors: list[BaseException] = []

    def _background(self, work: Callable[[], None]) -> None:
        def run() -> None:
            try:
                work()
            except BaseException as exc:  # reported by the test through .errors
                self.errors.append(exc)

        thread = threading.Thread(target=run, daemon=True, name=BROWSER_THREAD)
        thread.start()
        self.threads.append(thread)

    def show_device_code(self, code: DeviceCode) -> None:
        super().show_device_code(code)
        self.codes.append(code)
        pending_before = self.emu.oauth.events["error:authorization_pending"]

        def answer() -> None:
            wait_for(
                lambda: (
                    self.emu.oauth.events["error:authorization_pending"]
                    >= pending_before + self.after_pending
                )
            )
            if self.hook:  # the emulator's test hook
                (self.emu.oauth.approve if self.decision == "approve" else self.emu.oauth.deny)(
                    code.user_code
                )
                return
            page = requests.get(code.link, timeout=5)
            assert page.status_code == 200 and code.user_code in page.text
            done = requests.post(
                code.verification_uri,
                data={"user_code": code.user_code, "decision": self.decision},
                timeout=5,
            )
            assert done.status_code == 200

        if self.at_once:
            if self.after_pending:
                raise ValueError("at_once answers before any poll: after_pending must be 0")
            answer()
        else:
            self._background(answer)

    def show_url(self, url: str) -> None:
        super().show_url(url)

        def browse() -> None:
            page = requests.get(url, timeout=5, allow_redirects=True)
            if self.decision == "deny" or "request_id" in page.text:
                request_id = re.search(r"name='request_id' value='(\w+)'", page.text)
                assert request_id, page.text
                form_url = url.split("?")[0]
                requests.post(
                    form_url,
                    data={"request_id": request_id.group(1), "decision": self.decision},
                    timeout=5,
                    allow_redirects=True,
                )

        self._background(browse)

    def tick(self, remaining: float) -> None:
        self.ticks += 1
        if self.errors:  # the person's answer failed: no approval will come
            raise self.errors[0]

    def status(self, state: str, message: str) -> None:
        super().status(state, message)
        self.states.append(state)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(10)
        if self.errors:
            raise self.errors[0]


# --------------------------------------------------------------------------- real-life tokens


def saved_login(
    emu: Emulator,
    store: TokenStore,
    *,
    now: float | None = None,
    obtained_at: float | None = None,
    expires_by: float | None = None,
    origin: str | None = None,
    **grant: Any,
) -> Credentials:
    """What a login would have saved in ``store``: tokens from the emulator, without the
    flow, issued at ``now`` (default: this moment; ``obtained_at`` says otherwise) and
    expiring their lifetime later, or by ``expires_by`` if that is sooner."""
    body = emu.oauth.grant(CLIENT_ID, **grant)
    now = time.time() if now is None else now
    expires_at = now + body["expires_in"]
    creds = Credentials(
        CLIENT_ID,
        Secret(body["access_token"]),
        Secret(body["refresh_token"]) if "refresh_token" in body else None,
        expires_at=expires_at if expires_by is None else min(expires_at, expires_by),
        scopes=tuple(body["scope"].split()),
        obtained_at=now if obtained_at is None else obtained_at,
        auth_url=emu.auth_url,
        base_url=emu.base_url,
        origin=origin,
    )
    store.save(creds)
    return creds


def signed_in(emu: Emulator, view: TextView | None = None, **options: Any) -> Any:
    """A device-flow login to ``emu``; a User at the browser unless ``view`` is given."""
    view = User(emu) if view is None else view
    return login(CLIENT_ID, auth_url=emu.auth_url, base_url=emu.base_url, view=view, **options)


def spend_refresh_token(emu: Emulator, refresh_token: str) -> requests.Response:
    """Another machine uses ``refresh_token`` (a rotating one: spent for us)."""
    form = {"grant_type": "refresh_token", "client_id": CLIENT_ID, "refresh_token": refresh_token}
    return requests.post(f"{emu.auth_url}/token", data=form, timeout=5)


def pkce_login(emu: Emulator, view: TextView, **options: Any) -> Any:
    """A PKCE login to ``emu`` through a loopback redirect, ``view`` at the browser."""
    return login(
        CLIENT_ID,
        flow="pkce",
        auth_url=emu.auth_url,
        base_url=emu.base_url,
        redirect_uri="http://127.0.0.1:0/callback",
        view=view,
        open_browser=False,
        **options,
    )


def b64url(raw: bytes) -> str:
    import base64

    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def jwt_like(length: int, *, seed: int = 0) -> str:
    """An access token shaped as Constant Contact's: an RS256 JWT (header, Okta's claims
    with the API's audience, a 2048-bit signature) of exactly ``length`` characters."""
    import json
    import random

    rng = random.Random(seed)
    signature = b64url(rng.randbytes(256))  # 342 characters
    claims = {
        "ver": 1,
        "iss": "https://identity.constantcontact.com/oauth2/aus1lm3ry9mF7x2Ja0h8",
        "aud": "https://api.cc.email/v3",
        "iat": 1730314595,
        "exp": 1730400995,
        "cid": CLIENT_ID,
        "uid": "00u" + b64url(rng.randbytes(12)),
        "scp": ["contact_data", "offline_access"],
        "auth_time": 1730314590,
        "sub": "someone@example.com",
        "platform_user_id": "9a8b7c6d-5e4f-11ef-8a3b-0242ac120002",
    }
    for kid_pad in range(4):
        header = b64url(json.dumps({"kid": "k" * (43 + kid_pad), "alg": "RS256"}).encode())
        for jti_pad in range(2000):
            claims["jti"] = "AT." + "x" * jti_pad
            token = f"{header}.{b64url(json.dumps(claims).encode())}.{signature}"
            if len(token) >= length:
                break
        if len(token) == length:
            return token
    raise ValueError(f"no JWT of exactly {length} characters")


def okta_refresh_token(seed: int = 0) -> str:
    """A refresh token shaped as Okta's (Constant Contact's server): 43 characters."""
    import random

    return b64url(random.Random(seed).randbytes(32))


class WinError(OSError):
    """What keyring's Windows backend raises (win32ctypes' ``pywintypes.error``):
    ``OSError(winerror, funcname, message)``, whose ``strerror`` is the function name."""

    def __init__(self, winerror: int, funcname: str, message: str) -> None:
        super().__init__(winerror, funcname, message)
        self.winerror, self.funcname = winerror, funcname


def _capped_backend() -> type:
    from keyring.backend import KeyringBackend
    from keyring.errors import PasswordDeleteError

    from ccpandas.auth.keyring_chunks import WINDOWS_BLOB_BYTES

    class CappedWindowsKeyring(KeyringBackend):
        """Windows' Credential Manager as keyring's WinVaultKeyring uses it: the secret
        goes to ``CredWrite`` as UTF-16 (two bytes a character), which refuses more than
        2,560 bytes with error 1783. ``fail_writes`` makes every write fail the same way
        (a locked or broken keyring); ``writes_left`` lets that many more succeed first
        (a save interrupted halfway)."""

        priority = 1  # type: ignore[assignment]
        # The entries live with the class, as a real one's live in the operating system,
        # not in the backend object: the error-graph walk (which skips classes) then sees
        # what it would see of a real backend.
        _vaults: ClassVar[dict[int, dict[tuple[str, str], str]]] = {}

        def __init__(self) -> None:
            super().__init__()
            self._vaults[id(self)] = {}
            self.fail_writes = False
            self.writes_left: int | None = None

        @property
        def entries(self) -> dict[tuple[str, str], str]:
            return self._vaults[id(self)]

        def get_password(self, service: str, username: str) -> str | None:
            return self.entries.get((service, username))

        def set_password(self, service: str, username: str, password: str) -> None:
            if self.writes_left is not None:
                if self.writes_left <= 0:
                    raise WinError(1726, "CredWrite", "The remote procedure call failed.")
                self.writes_left -= 1
            if self.fail_writes:
                raise WinError(1312, "CredWrite", "A specified logon session does not exist.")
            if len(password.encode("utf-16-le")) > WINDOWS_BLOB_BYTES:
                raise WinError(1783, "CredWrite", "The stub received bad data.")
            self.entries[(service, username)] = password

        def delete_password(self, service: str, username: str) -> None:
            if self.entries.pop((service, username), None) is None:
                raise PasswordDeleteError(service)

    return CappedWindowsKeyring


def capped_keyring() -> Any:
    """A new :class:`CappedWindowsKeyring` (a real ``keyring`` backend)."""
    return _capped_backend()()
