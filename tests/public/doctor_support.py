"""A changing proxy for the ``doctor`` tests, and access tokens shaped like the API's.

:class:`ShapeProxy` is a real HTTP server on 127.0.0.1 that forwards every request to
an emulator and passes each answer through one alteration (a function of the request's
path and query and the answer's status, headers and decoded JSON body): the way to show
that each of ``doctor``'s checks notices the one shape it is about. :data:`CHANGES`
holds one change per assumption; token assumptions change the token instead.
"""

from __future__ import annotations

import base64
import email.utils
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import requests

#: ``(path, query, status, headers, body) -> (status, headers, body)``; ``headers``
#: keep the upstream names, ``body`` is decoded JSON (None when empty).
Alter = Callable[[str, str, int, dict[str, str], Any], tuple[int, dict[str, str], Any]]

_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "server"}


def jwt(header: dict[str, Any] | None = None, **claims: Any) -> str:
    """An access token shaped like the API's: an RS256 JWT for ``https://api.cc.email/v3``
    lasting 24 hours with the ``contact_data`` scope; ``claims`` (None drops one; a timedelta
    is from now, when the token is made) and ``header`` change it. The signature is random
    bytes: nobody here verifies it."""
    now = int(time.time())
    body: dict[str, Any] = {
        "ver": 1,
        "jti": f"AT.{uuid.uuid4().hex}",
        "iss": "https://identity.constantcontact.com/oauth2/aus1lm3ry9mF7x2Ja0h8",
        "aud": "https://api.cc.email/v3",
        "iat": now,
        "exp": now + 86400,
        "cid": uuid.uuid4().hex[:20],
        "uid": uuid.uuid4().hex[:20],
        "scp": ["contact_data", "offline_access"],
        "sub": "doctor-test-owner@example.com",
        "platform_user_id": str(uuid.uuid4()),
    }
    for k, v in claims.items():
        body[k] = now + int(v.total_seconds()) if isinstance(v, timedelta) else v
    body = {k: v for k, v in body.items() if v is not None}
    head = {"kid": "doctor-test-key", "alg": "RS256", **(header or {})}

    def part(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    signature = part(uuid.uuid4().bytes * 16)
    return ".".join([part(json.dumps(head).encode()), part(json.dumps(body).encode()), signature])


@dataclass
class ShapeProxy:
    """Forwards to ``upstream`` (``http://127.0.0.1:PORT``), altering each answer."""

    upstream: str
    alter: Alter | None = None
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path)

    def __post_init__(self) -> None:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            _date: str | None = None

            def log_message(self, *args: Any) -> None:
                pass

            def date_time_string(self, timestamp: float | None = None) -> str:
                return self._date or super().date_time_string(timestamp)

            def _serve(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                proxy.requests.append((self.command, self.path))
                up = requests.request(
                    self.command,
                    proxy.upstream + self.path,
                    data=data,
                    headers=headers,
                    timeout=30,
                    allow_redirects=False,
                )
                body = up.json() if up.content else None
                out = {k: v for k, v in up.headers.items() if k.lower() not in _HOP_BY_HOP}
                status = up.status_code
                if proxy.alter is not None:
                    parts = urlsplit(self.path)
                    status, out, body = proxy.alter(parts.path, parts.query, status, out, body)
                raw = b"" if body is None else json.dumps(body).encode()
                self._date = out.pop("Date", None)
                self.send_response(status)
                for name, value in out.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_PUT = do_DELETE = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- the changes


def _on(
    where: Callable[[str, str, int, Any], bool], change: Callable[[Any, dict[str, str]], Any]
) -> Alter:
    """Apply ``change(body, headers)`` (it may edit both) to the answers ``where`` picks."""

    def alter(path: str, query: str, status: int, headers: dict[str, str], body: Any) -> Any:
        if where(path, query, status, body):
            body = change(body, headers)
        return status, headers, body

    return alter


def _lists(path: str, query: str, status: int, body: Any) -> bool:
    return path.endswith("/contact_lists") and status == 200


def _contacts(path: str, query: str, status: int, body: Any) -> bool:
    return path.endswith("/contacts") and status == 200


def _activities(path: str, query: str, status: int, body: Any) -> bool:
    return path.endswith("/activities") and status == 200


def _status(code: int) -> Callable[[str, str, int, Any], bool]:
    return lambda path, query, status, body: status == code


def _every(path: str, query: str, status: int, body: Any) -> bool:
    return True


def _rename(old: str, new: str) -> Callable[[Any, dict[str, str]], Any]:
    return lambda body, headers: {(new if k == old else k): v for k, v in body.items()}


def _each(key: str, change: Callable[[dict[str, Any]], None]) -> Callable[[Any, Any], Any]:
    def edit(body: Any, headers: dict[str, str]) -> Any:
        for item in body[key]:
            change(item)
        return body

    return edit


def _v4(contact: dict[str, Any]) -> None:
    cid = contact["contact_id"]
    contact["contact_id"] = cid[:14] + "4" + cid[15:]


def _skewed(body: Any, headers: dict[str, str]) -> Any:
    headers["Date"] = email.utils.formatdate(time.time() + 3600, usegmt=True)
    return body


def _pop_header(name: str) -> Callable[[Any, dict[str, str]], Any]:
    def edit(body: Any, headers: dict[str, str]) -> Any:
        for key in [k for k in headers if k.lower() == name]:
            del headers[key]
        return body

    return edit


def _absolute_next(origin: str) -> Alter:
    def edit(body: Any, headers: dict[str, str]) -> Any:
        nxt = body.get("_links", {}).get("next")
        if nxt:
            nxt["href"] = origin + nxt["href"]
        return body

    return _on(_lists, edit)


def _header(name: str, value: str) -> Callable[[Any, dict[str, str]], Any]:
    def edit(body: Any, headers: dict[str, str]) -> Any:
        headers[name] = value
        return body

    return edit


@dataclass(frozen=True)
class Change:
    """One assumption's change: an altered answer (``alter`` built for the proxy's
    origin), or an altered token (``token`` keywords for :func:`jwt`)."""

    alter: Callable[[str], Alter] | None = None
    token: dict[str, Any] = field(default_factory=dict)


def _fixed(alter: Alter) -> Callable[[str], Alter]:
    return lambda origin: alter


#: One change per assumption of ``ccpandas.read.assumptions.ASSUMPTIONS``, by name.
CHANGES: dict[str, Change] = {
    "token.algorithm": Change(token={"header": {"alg": "HS256"}}),
    "token.audience": Change(token={"aud": "https://api.example.invalid/v2"}),
    "token.lifetime": Change(token={"exp": timedelta(days=7)}),
    "token.scopes": Change(token={"scp": ["offline_access"]}),
    "lists.page": Change(
        _fixed(
            _on(
                lambda p, q, s, b: _lists(p, q, s, b) and "cursor=" not in q,
                _rename("lists", "items"),
            )
        )
    ),
    "lists.fields": Change(_fixed(_on(_lists, _each("lists", lambda i: i.pop("favorite"))))),
    "paging.next_link": Change(_absolute_next),
    "paging.cursor_page_size": Change(
        _fixed(
            _on(
                lambda p, q, s, b: _lists(p, q, s, b) and "cursor=" in q,
                lambda body, headers: {**body, "lists": body["lists"] * 2},
            )
        )
    ),
    "paging.last_page": Change(
        _fixed(
            _on(
                lambda p, q, s, b: _lists(p, q, s, b) and not b.get("_links"),
                lambda body, headers: {k: v for k, v in body.items() if k != "_links"},
            )
        )
    ),
    "contacts.page": Change(_fixed(_on(_contacts, _rename("contacts", "results")))),
    "contacts.fields": Change(
        _fixed(
            _on(
                _contacts,
                _each("contacts", lambda c: c["email_address"].pop("permission_to_send")),
            )
        )
    ),
    "contacts.list_memberships": Change(
        _fixed(
            _on(
                _contacts,
                _each(
                    "contacts",
                    lambda c: c.update(
                        list_memberships=[{"list_id": i} for i in c["list_memberships"]]
                    ),
                ),
            )
        )
    ),
    "contacts.no_status": Change(
        _fixed(_on(_contacts, _each("contacts", lambda c: c.update(status="active"))))
    ),
    "activities.page": Change(_fixed(_on(_activities, _rename("activities", "items")))),
    "activities.fields": Change(
        _fixed(_on(_activities, _each("activities", lambda a: a.update(percent_done="50%"))))
    ),
    "activities.states": Change(
        _fixed(_on(_activities, _each("activities", lambda a: a.update(state="running"))))
    ),
    "values.timestamps": Change(
        _fixed(
            _on(
                _lists,
                _each("lists", lambda i: i.update(created_at=i["created_at"][:-1] + ".250Z")),
            )
        )
    ),
    "values.ids": Change(
        _fixed(
            _on(
                _contacts,
                _each("contacts", lambda c: c.update(contact_id=c["contact_id"].replace("-", ""))),
            )
        )
    ),
    "values.uuid_v1": Change(_fixed(_on(_contacts, _each("contacts", _v4)))),
    "errors.array": Change(_fixed(_on(_status(404), lambda body, headers: body[0]))),
    "errors.namespaced_key": Change(
        _fixed(_on(_status(404), lambda body, headers: [{**body[0], "error_key": "not_found"}]))
    ),
    "errors.gateway_401": Change(_fixed(_on(_status(401), lambda body, headers: [body]))),
    "errors.www_authenticate": Change(_fixed(_on(_status(401), _pop_header("www-authenticate")))),
    "headers.rate_limit": Change(_fixed(_on(_every, _header("X-RateLimit-Remaining", "9999")))),
    "clock.skew": Change(_fixed(_on(_every, _skewed))),
}
