"""Helpers for the emulator tests (a uniquely named module: tests/ has no packages)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import requests

from ccpandas.emulator import Emulator
from ccpandas.emulator.replies import NAMESPACED_KEYS

#: The official V3 spec, kept beside the repository (never copied into it).
SPEC = (
    Path(__file__).parents[2] / ".." / "shared" / "reference" / "constant-contact-v3-swagger.yaml"
)
#: Fast and unlimited: for tests that are not about the limits.
FAST: dict[str, Any] = {"speed": 1e9, "rate": None, "daily_quota": None}


class Api:
    """A tiny requests wrapper bound to one emulator (base URL and token)."""

    def __init__(self, emu: Emulator, token: str | None = None) -> None:
        self.emu = emu
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token or emu.token}"

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.emu.url + path

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.get(
            self.url(path if path.startswith("/v3") else "/v3" + path), **kwargs
        )

    def post(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        if body is not None:
            kwargs["json"] = body
        return self.session.post(self.url("/v3" + path), **kwargs)

    def remove(self, body: Any, **kwargs: Any) -> requests.Response:
        return self.post("/activities/remove_list_memberships", body, **kwargs)

    def add(self, body: Any, **kwargs: Any) -> requests.Response:
        return self.post("/activities/add_list_memberships", body, **kwargs)

    def pages(self, path: str) -> list[dict[str, Any]]:
        """Every page of a collection, following ``_links.next.href``."""
        bodies = []
        href: str | None = path
        while href:
            r = self.get(href)
            assert r.status_code == 200, r.text
            bodies.append(r.json())
            href = r.json().get("_links", {}).get("next", {}).get("href")
        return bodies

    def close(self) -> None:
        self.session.close()


def finish(emu: Emulator, api: Api, response: requests.Response) -> dict[str, Any]:
    """The activity ``response`` created (201), once the emulator ran it: its completed
    status."""
    assert response.status_code == 201, response.text
    emu.wait_idle(10)
    final = api.get(f"/activities/{response.json()['activity_id']}").json()
    assert final["state"] == "completed", final
    return final


def assert_error(response: requests.Response, status: int, key: str | None = None) -> str:
    """The response is ``status`` with an error body in either shape the emulator
    serves; returns the message.

    ``key`` is the short key (``not_found``): the ``"array"`` error shape sends it as
    it is, the default ``"real"`` shape namespaced (``contacts.api.not_found``) in an
    array, or, for the gateway's own errors (401, 429), in a single object.
    """
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    entries = body if isinstance(body, list) else [body]
    assert entries, body
    for entry in entries:
        assert set(entry) == {"error_key", "error_message"}, entry
        assert isinstance(entry["error_key"], str) and isinstance(entry["error_message"], str)
    if key is not None:
        assert entries[0]["error_key"] in (key, NAMESPACED_KEYS.get(key)), body
        if entries[0]["error_key"] != key:
            assert isinstance(body, list), body  # namespaced keys: application errors
    return entries[0]["error_message"]
