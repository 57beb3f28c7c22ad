"""Every way an interactive login fails ends with exactly one final line, and no line or
error shows a secret. The emulator is the authorization server wherever it can produce
the case; a stub token endpoint (real HTTP) answers what it cannot: 5xx, slow_down
forever, a refused code exchange."""

from __future__ import annotations

import json
import socket
import threading
import urllib.parse
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from auth_support import CLIENT_ID, User

from ccpandas.auth.connect import TextView, login
from ccpandas.errors import AuthError

SECRET = "CLIENTSECRET-zz9"  # a confidential application's secret
CODE = "AUTHCODE-cc1"  # the authorization code the stub's browser hands back
DEVICE = {"device_code": "DEVICECODE-dd1", "user_code": "ABCD-EFGH", "expires_in": 600}
HIDDEN = ("client_secret", "code_verifier", "code", "device_code", "refresh_token")


class _Token(BaseHTTPRequestHandler):
    server: Stub

    def do_POST(self) -> None:
        size = int(self.headers.get("Content-Length", 0))
        form = dict(urllib.parse.parse_qsl(self.rfile.read(size).decode()))
        self.server.secrets.update(v for k, v in form.items() if k in HIDDEN)
        status, body = self.server.answer
        if self.path.endswith("/device/authorize"):
            status, body = 200, {**DEVICE, "verification_uri": "http://127.0.0.1:9/", "interval": 0}
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Stub(ThreadingHTTPServer):
    """An authorization server whose token endpoint always answers ``answer``."""

    def __init__(self, answer: tuple[int, Any]) -> None:
        super().__init__(("127.0.0.1", 0), _Token)
        self.answer = answer
        self.secrets: set[str] = {SECRET, CODE, DEVICE["device_code"]}
        threading.Thread(target=self.serve_forever, daemon=True).start()


class Browser(TextView):
    """A login's view (lines on stdout) whose browser goes straight back to the redirect
    with what ``back`` makes of the authorize URL's query (None: it never comes back)."""

    def __init__(self, back: Callable[[dict[str, str]], dict[str, str] | None] | None = None):
        super().__init__()
        self.back = back
        self.states: list[str] = []

    def show_url(self, url: str) -> None:
        super().show_url(url)
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))
        answer = self.back(query) if self.back else None
        if answer is not None:  # the loopback server answers once the flow waits on it
            to = query["redirect_uri"] + "?" + urllib.parse.urlencode(answer)
            threading.Thread(target=requests.get, args=(to,), kwargs={"timeout": 10}).start()

    def status(self, state: str, message: str) -> None:
        super().status(state, message)
        self.states.append(state)


def _back(**extra: str) -> Callable[[dict[str, str]], dict[str, str]]:
    return lambda query: {"state": query["state"], **extra}


def _err(key: str, description: str = "") -> tuple[int, Any]:
    return 400, {"error": key, "error_description": description}


# id: (flow, the server: emulator settings or a stub's token answer or "closed", the
#      person: a decision on the emulator's page or a Browser's ``back``, timeout, final state)
ENDINGS: dict[str, tuple[str, Any, Any, float, str]] = {
    "device denied": ("device", {}, "deny", 20, "denied"),
    "device expired": ("device", {"device_code_lifetime": 0.3}, None, 20, "expired"),
    "device pending to deadline": ("device", {}, None, 0.3, "expired"),
    "device slow_down to deadline": ("device", _err("slow_down"), None, 0.3, "expired"),
    "device 500": ("device", (500, "oops"), None, 20, "failed"),
    "device 503": ("device", (503, {"error": "temporarily_unavailable"}), None, 20, "failed"),
    "device invalid_grant": ("device", _err("invalid_grant", "used"), None, 20, "failed"),
    "device refused": ("device", "closed", None, 20, "failed"),
    "pkce denied": ("pkce", {}, "deny", 20, "denied"),
    "pkce invalid_scope": ("pkce", {}, "approve", 20, "failed"),
    "pkce timeout": ("pkce", {}, None, 0.3, "expired"),
    "pkce state mismatch": ("pkce", {}, lambda q: {"state": "x", "code": CODE}, 20, "failed"),
    "pkce no code": ("pkce", {}, _back(), 20, "failed"),
    "pkce error=timeout": ("pkce", {}, _back(error="timeout"), 20, "failed"),
    "pkce error=expired_token": ("pkce", {}, _back(error="expired_token"), 20, "failed"),
    "pkce error, no description": ("pkce", {}, _back(error="server_error"), 20, "failed"),
    "pkce exchange refused": ("pkce", _err("invalid_grant"), _back(code=CODE), 20, "failed"),
    "pkce exchange 500": ("pkce", (500, "oops"), _back(code=CODE), 20, "failed"),
    "pkce exchange access_denied": ("pkce", _err("access_denied"), _back(code=CODE), 20, "failed"),
}


@pytest.mark.parametrize("case", ENDINGS)
def test_every_failed_sign_in_ends_with_one_line(case, auth_emu, secrets_seen, capsys) -> None:
    flow, server, person, timeout, final = ENDINGS[case]
    emu = stub = None
    options: dict[str, Any] = {"flow": flow, "timeout": timeout, "open_browser": False}
    if isinstance(server, dict):
        emu = auth_emu(**server)
        options.update(auth_url=emu.auth_url, base_url=emu.base_url)
    else:
        options.update(client_secret=SECRET, base_url="http://127.0.0.1:9/v3")
        if server == "closed":
            with socket.socket() as sock:  # a port nothing listens on
                sock.bind(("127.0.0.1", 0))
                options["auth_url"] = f"http://127.0.0.1:{sock.getsockname()[1]}/oauth2"
        else:
            stub = Stub(server)
            options["auth_url"] = f"http://127.0.0.1:{stub.server_address[1]}/oauth2"
    if flow == "pkce":
        options.update(redirect_uri="http://127.0.0.1:0/callback")
        if person == "approve":
            options.update(scopes=["nonsense"])  # the emulator's page answers invalid_scope
    is_user = isinstance(person, str)
    view = User(emu, person, hook=flow == "device") if is_user else Browser(person)
    try:
        with pytest.raises(AuthError) as info:
            login(CLIENT_ID, view=view, **options)
        if isinstance(view, User):
            view.join()
    finally:
        if stub:
            stub.shutdown()
            stub.server_close()
    out = capsys.readouterr().out
    intro = ("To connect", "    ", "Check that", "Waiting for")
    ending = [line for line in out.splitlines() if not line.startswith(intro)]
    said = [state for state in view.states if state != "waiting"]
    assert said == [final] and len(ending) == 1, out
    assert not ending[0].rstrip().endswith(":"), ending
    secrets_seen.see(info.value)
    secrets_seen.texts.append(out)  # the leak test greps it for every emulator's secrets
    text = f"{out}\n{info.value}\n{info.value!r}"
    assert not [s for s in (stub.secrets if stub else {SECRET, CODE}) if s in text]
