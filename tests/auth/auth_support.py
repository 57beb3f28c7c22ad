"""Helpers of the authentication tests: the client id, fast login settings, the
collection of secrets and texts for the leak test, and a simulated person who answers
logins over HTTP as they would in a browser."""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from ccpandas.auth.connect import ENV_VARIABLES, DeviceCode, TextView
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
