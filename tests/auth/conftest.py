"""Fixtures for the authentication tests: a private config directory, emulators with
their authorization server, and "users" that answer logins over HTTP like a person in a
browser would.

Every test here talks HTTP to the emulator on 127.0.0.1; nothing patches requests.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from ccpandas.auth import DeviceCode, TextView
from ccpandas.client import set_default_client
from ccpandas.emulator import Emulator
from ccpandas.tokenstore import TokenStore

CLIENT_ID = "5f1c1b0e-3a9d-4c57-9a43-0d2f7c1e8b21"
#: Fast logins: devices poll every 50 ms, no token endpoint limit, instant activities.
FAST_AUTH: dict[str, Any] = {
    "rate": None,
    "speed": 1_000_000.0,
    "device_interval": 0.05,
    "token_rate": None,
}
ENV_VARS = (
    "CC_ACCESS_TOKEN",
    "CC_REFRESH_TOKEN",
    "CC_CLIENT_ID",
    "CC_CLIENT_SECRET",
    "CC_AUTH_URL",
    "CC_BASE_URL",
    "CCPANDAS_KEYRING",
)


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


class _Collector(logging.Handler):
    def __init__(self, secrets: Secrets) -> None:
        super().__init__(logging.DEBUG)
        self.secrets = secrets
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        text = self.format(record)  # includes the formatted traceback, if any
        with self.secrets.lock:
            self.secrets.texts.append(text)


@pytest.fixture(scope="session")
def secrets_seen() -> Iterator[Secrets]:
    """Session-wide: a DEBUG handler on the root logger (requests' and urllib3's own debug
    lines included) feeding every log record of the auth tests into one collection."""
    secrets = Secrets()
    handler = _Collector(secrets)
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield secrets
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


@pytest.fixture(autouse=True)
def private_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, secrets_seen: Secrets
) -> Iterator[Path]:
    """A config and data directory of the test's own; no CC_* variables; no default client."""
    config = tmp_path / "config"
    monkeypatch.setenv("CCPANDAS_CONFIG_DIR", str(config))
    monkeypatch.setenv("CCPANDAS_DATA_DIR", str(tmp_path / "data"))
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    old = set_default_client(None)
    try:
        yield config
    finally:
        set_default_client(old)


@pytest.fixture
def store(private_env: Path) -> TokenStore:
    return TokenStore()


@pytest.fixture
def auth_emu(secrets_seen: Secrets) -> Iterator[Callable[..., Emulator]]:
    """Start emulators with fast logins (``FAST_AUTH`` plus the arguments)."""
    started: list[Emulator] = []

    def make(**kwargs: Any) -> Emulator:
        options = {"seed": 5, "contacts": 60, "lists": 3, **FAST_AUTH, **kwargs}
        emu = Emulator(**options).start()
        started.append(emu)
        secrets_seen.emulators.append(emu)
        return emu

    yield make
    for emu in reversed(started):
        emu.stop()


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
    that many times (``authorization_pending``) before answering.
    """

    def __init__(
        self,
        emu: Emulator,
        decision: str = "approve",
        *,
        after_pending: int = 0,
        hook: bool = False,
    ) -> None:
        super().__init__()
        self.emu = emu
        self.decision = decision
        self.after_pending = after_pending
        self.hook = hook
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

        thread = threading.Thread(target=run, daemon=True)
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

    def status(self, state: str, message: str) -> None:
        super().status(state, message)
        self.states.append(state)

    def join(self) -> None:
        for thread in self.threads:
            thread.join(10)
        if self.errors:
            raise self.errors[0]
