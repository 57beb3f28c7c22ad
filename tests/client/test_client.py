"""The HTTP client: URL rules, tokens, headers, error mapping, retries, paging, logging.

Two kinds of server, both real HTTP on 127.0.0.1 (requests is never patched):
``scripted`` answers from a queue the test writes (exact error bodies, dropped
connections, redirects), and the emulator (further down) behaves like the API.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import logging
import pickle
import socket
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from ccpandas._secret import Secret
from ccpandas.auth.connect import get_default_client
from ccpandas.client.http import (
    DEFAULT_BASE_URL,
    Client,
    EnvToken,
    StaticToken,
    is_loopback_host,
    normalize_base_url,
    set_default_client,
)
from ccpandas.client.retry import before_resend
from ccpandas.errors import (
    APIError,
    AuthError,
    BadRequestError,
    CCError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    QuotaExceededError,
    ServerError,
    ThrottledError,
    TooManyActivitiesError,
    TransportError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    UnusableAnswerError,
)

TOKEN = "tok-SECRET-3f9a1c77e0b24d5a"
UUID = "0b2d9f5e-6c1a-4e2b-9a57-1d3c4b5a6e7f"

# --------------------------------------------------------------------------- scripted server


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class Scripted:
    """A tiny HTTP/1.1 server answering from ``script`` (default: 200 {"ok": true}).

    A step is ``(status, body)`` or ``(status, body, headers)``; body bytes are sent
    as is, anything else as JSON. ``"drop"`` closes the connection without an
    answer; ``("sleep", seconds, step)`` waits first.
    """

    def __init__(self) -> None:
        self.script: deque[Any] = deque()
        self.seen: list[Seen] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                outer.seen.append(Seen(self.command, self.path, dict(self.headers), body))
                step = outer.script.popleft() if outer.script else (200, {"ok": True})
                if isinstance(step, tuple) and step[0] == "sleep":
                    time.sleep(step[1])
                    step = step[2]
                if step == "drop":
                    self.close_connection = True
                    return
                status, payload, *rest = step
                extra = rest[0] if rest else {}
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                if not isinstance(payload, bytes):
                    self.send_header("Content-Type", "application/json")
                for k, v in extra.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PUT = do_DELETE = handle_any

            def log_message(self, *args: Any) -> None:
                pass

        class Server(ThreadingHTTPServer):
            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # a client that timed out and left: expected in these tests

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        host, port = self.server.server_address[:2]
        self.base_url = f"http://{host}:{port}/v3"

    def add(self, *steps: Any) -> None:
        self.script.extend(steps)


@pytest.fixture
def scripted():
    srv = Scripted()
    srv.thread.start()
    yield srv
    srv.server.shutdown()
    srv.server.server_close()


class FakeTime:
    """Injected clock and sleep: sleeping moves the clock, nothing really waits."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def make(srv: Scripted, fake: FakeTime | None = None, **kw: Any) -> Client:
    fake = fake or FakeTime()
    kw.setdefault("token", TOKEN)
    kw.setdefault("rate", None)
    kw.setdefault("jitter", lambda: 1.0)
    return Client(base_url=srv.base_url, clock=fake.clock, sleep=fake.sleep, **kw)


def err_body(key: str, message: str = "something") -> list[dict[str, str]]:
    return [{"error_key": key, "error_message": message}]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- URL rules


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://api.cc.email/v3", "https://api.cc.email/v3"),
        ("https://api.cc.email/v3/", "https://api.cc.email/v3"),
        ("HTTPS://API.CC.EMAIL/v3", "https://api.cc.email/v3"),
        ("http://127.0.0.1:8080/v3", "http://127.0.0.1:8080/v3"),
        ("http://127.9.8.7/v3", "http://127.9.8.7/v3"),
        ("http://localhost:1/v3/", "http://localhost:1/v3"),
        ("http://[::1]:9000/v3", "http://[::1]:9000/v3"),
        ("https://example.com", "https://example.com"),
    ],
)
def test_base_url_is_normalised(url, expected):
    assert normalize_base_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://api.cc.email/v3",
        "http://10.0.0.5/v3",
        "http://128.0.0.1/v3",
        "http://localhost.example.com/v3",
        "http://[::2]/v3",
    ],
)
def test_plain_http_is_refused_unless_loopback(url):
    with pytest.raises(CCError, match="refusing plain http://") as info:
        Client(token=TOKEN, base_url=url)
    assert TOKEN not in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://api.cc.email/v3",
        "api.cc.email/v3",
        "",
        "https:///v3",
        "https://api.cc.email/v3?x=1",
        "https://host:notaport/v3",
    ],
)
def test_malformed_base_urls_are_refused(url):
    with pytest.raises(CCError):
        normalize_base_url(url)


def test_credentials_in_the_base_url_are_refused_without_echoing_them():
    with pytest.raises(CCError) as info:
        normalize_base_url("https://user:pa55word@api.cc.email/v3")
    assert "pa55word" not in str(info.value)


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", True),
        ("LOCALHOST", True),
        ("127.0.0.1", True),
        ("127.255.0.3", True),
        ("::1", True),
        ("[::1]", True),
        ("::ffff:127.0.0.1", True),
        ("0.0.0.0", False),
        ("192.168.1.1", False),
        ("api.cc.email", False),
        ("", False),
        (None, False),
    ],
)
def test_is_loopback_host(host, expected):
    assert is_loopback_host(host) is expected


@pytest.mark.parametrize(
    ("path", "url"),
    [
        ("/contact_lists", "https://api.cc.email/v3/contact_lists"),
        ("contact_lists", "https://api.cc.email/v3/contact_lists"),
        ("/v3/contacts?cursor=abc&limit=5", "https://api.cc.email/v3/contacts?cursor=abc&limit=5"),
        ("/v3", "https://api.cc.email/v3"),
        ("/v3x/odd", "https://api.cc.email/v3/v3x/odd"),
        ("https://api.cc.email/v3/contacts?cursor=z", "https://api.cc.email/v3/contacts?cursor=z"),
    ],
)
def test_paths_resolve_without_doubling_the_base_path(path, url):
    with Client(token=TOKEN) as client:
        assert client.url_for(path) == url


def test_a_host_root_base_url_takes_paths_as_they_are():
    with Client(token=TOKEN, base_url="http://127.0.0.1:5") as client:
        assert client.url_for("/v3/contacts") == "http://127.0.0.1:5/v3/contacts"


def test_links_to_another_host_are_refused():
    with (
        Client(token=TOKEN) as client,
        pytest.raises(CCError, match="another host"),
    ):
        client.url_for("https://evil.example/v3/contacts")


def test_defaults():
    with Client(token=TOKEN) as client:
        assert client.base_url == DEFAULT_BASE_URL
        assert client.rate == 4.0
        assert client.timeout == (5.0, 30.0)
        assert client.retry_policy.max_attempts == 8
        assert client.retry_policy.max_retry_seconds == 300.0
        assert client.user_agent.startswith("ccpandas/")
        assert " python-requests/" in client.user_agent


@pytest.mark.parametrize("timeout", [0, -1, (1,), (1, 0), "5", True])
def test_bad_timeouts_are_refused(timeout):
    with pytest.raises(ValueError, match="timeout"):
        Client(token=TOKEN, timeout=timeout)


@pytest.mark.parametrize("name", ["max_attempts", "max_throttled", "max_retry_seconds"])
@pytest.mark.parametrize("value", [float("nan"), "3", True, None])
def test_bad_retry_bounds_are_refused(name, value):
    # A NaN was taken (max_attempts=nan: one attempt; max_retry_seconds=nan: no time
    # bound), a string ended in "'<' not supported between instances of 'str' and 'int'".
    with pytest.raises(ValueError, match=f"{name} must be a number"):
        Client(token=TOKEN, **{name: value})


# --------------------------------------------------------------------------- secrets


def test_secret_masks_itself_everywhere():
    s = Secret(TOKEN)
    shown_as = (repr(s), str(s), f"{s}", f"{s!r}", f"{s:>40}", "{}".format(s))  # noqa: UP032
    for shown in shown_as:
        assert TOKEN not in shown
    assert s.reveal() == TOKEN
    assert Secret(s).reveal() == TOKEN
    assert s == Secret(TOKEN) and s != Secret("other")
    with pytest.raises(TypeError, match="pickled"):
        pickle.dumps(s)
    with pytest.raises(TypeError):
        Secret(123)  # type: ignore[arg-type]


def test_token_never_in_the_client_repr_or_its_providers():
    client = Client(token=TOKEN, base_url="http://127.0.0.1:9/v3")
    shown = [repr(client), str(client), repr(client.stats), repr(client._token_provider)]
    shown += [repr(vars(client)), repr(StaticToken(TOKEN)), repr(EnvToken())]
    for text in shown:
        assert TOKEN not in text
    assert repr(client) == "Client(base_url='http://127.0.0.1:9/v3', rate=4)"
    with pytest.raises(TypeError):
        pickle.dumps(client._token_provider)


def test_missing_token_raises_auth_error_before_sending(scripted, monkeypatch):
    monkeypatch.delenv("CC_ACCESS_TOKEN", raising=False)
    client = make(scripted, token=None)  # construction works: the token is read lazily
    with pytest.raises(AuthError, match="CC_ACCESS_TOKEN"):
        client.get("/contact_lists")
    assert scripted.seen == []
    assert client.stats.requests == 0
    monkeypatch.setenv("CC_ACCESS_TOKEN", "from-env")  # set later: picked up
    client.get("/contact_lists")
    assert scripted.seen[-1].headers["Authorization"] == "Bearer from-env"


def test_a_token_callable_is_called_for_each_request(scripted):
    tokens = iter(["first", "second"])
    client = make(scripted, token=lambda: next(tokens))
    client.get("/a")
    client.get("/b")
    assert [s.headers["Authorization"] for s in scripted.seen] == ["Bearer first", "Bearer second"]


@pytest.mark.parametrize("bad", [None, "", 42])
def test_a_token_callable_returning_garbage_is_an_auth_error(scripted, bad):
    client = make(scripted, token=lambda: bad)
    with pytest.raises(AuthError, match="token callable"):
        client.get("/a")
    assert scripted.seen == []


def test_empty_token_string_is_refused():
    with pytest.raises(AuthError):
        Client(token="")


# --------------------------------------------------------------------------- headers and bodies


def test_headers_seen_by_the_server(scripted):
    client = make(scripted, user_agent="my-notebook/2.1")
    client.get("/contact_lists", limit=10, include_count=True, skip=None)
    client.remove_list_memberships({"source": {"contact_ids": [UUID]}, "list_ids": [UUID]})
    get, post = scripted.seen
    assert get.method == "GET"
    assert get.path == "/v3/contact_lists?limit=10&include_count=true"
    assert get.headers["Authorization"] == f"Bearer {TOKEN}"
    assert get.headers["Accept"] == "application/json"
    assert "Content-Type" not in get.headers
    ua = get.headers["User-Agent"]
    assert ua.startswith("my-notebook/2.1 ccpandas/")
    assert " python-requests/" in ua
    assert post.method == "POST"
    assert post.path == "/v3/activities/remove_list_memberships"
    assert post.headers["Content-Type"] == "application/json"
    assert json.loads(post.body) == {"source": {"contact_ids": [UUID]}, "list_ids": [UUID]}


def test_list_params_are_comma_joined(scripted):
    make(scripted).get("/contacts", lists=["a", "b"], status=("active",))
    assert scripted.seen[0].path == "/v3/contacts?lists=a%2Cb&status=active"


def test_absolute_next_paths_are_not_doubled(scripted):
    client = make(scripted)
    client.get("/v3/contacts?cursor=abc")
    assert scripted.seen[0].path == "/v3/contacts?cursor=abc"


def test_empty_and_non_json_answers(scripted):
    scripted.add((204, b""), (200, b"<html>portal</html>", {"Content-Type": "text/html"}))
    client = make(scripted)
    assert client.get("/empty") is None
    with pytest.raises(APIError, match="not JSON") as info:
        client.get("/html")
    assert info.value.error_key == "invalid_json"


def test_redirects_are_not_followed(scripted):
    scripted.add((302, b"", {"Location": "https://elsewhere.example/steal"}))
    with pytest.raises(APIError) as info:
        make(scripted).get("/contacts")
    assert info.value.status == 302
    assert len(scripted.seen) == 1


# --------------------------------------------------------------------------- error mapping


@pytest.mark.parametrize(
    ("status", "key", "cls"),
    [
        (400, "bad_request", BadRequestError),
        (401, "unauthorized", UnauthorizedError),
        (403, "forbidden", ForbiddenError),
        (404, "not_found", NotFoundError),
        (405, "method_not_allowed", APIError),
        (409, "conflict", ConflictError),
        (415, "unsupported_media_type", UnsupportedMediaTypeError),
        (429, "quota_exceeded", QuotaExceededError),
        (501, "not_implemented", ServerError),  # 5xx, but not one worth retrying
    ],
)
def test_error_statuses_map_to_typed_errors_without_retrying(scripted, status, key, cls):
    scripted.add((status, err_body(key, "the message")))
    client = make(scripted)
    with pytest.raises(cls) as info:
        client.get("/contacts", email="someone@example.com")
    err = info.value
    assert type(err) is cls
    assert err.status == status
    assert err.error_key == key
    assert err.error_message == "the message"
    assert err.request == "GET /v3/contacts"  # no query string
    assert "someone@example.com" not in str(err)
    assert len(scripted.seen) == 1
    assert client.stats.retries == 0


def test_unauthorized_is_an_auth_error_with_advice(scripted):
    scripted.add((401, err_body("unauthorized", "expired")))
    with pytest.raises(AuthError) as info:
        make(scripted).get("/contacts")
    assert isinstance(info.value, UnauthorizedError)
    assert any("24 hours" in note for note in info.value.__notes__)


def test_forbidden_explains_the_scope(scripted):
    scripted.add((403, err_body("forbidden")))
    with pytest.raises(ForbiddenError) as info:
        make(scripted).get("/contacts")
    assert any("contact_data" in note for note in info.value.__notes__)


def test_quota_exceeded_carries_the_next_utc_midnight(scripted):
    scripted.add((429, err_body("quota_exceeded", "daily quota used")))
    before = dt.datetime.now(dt.UTC)
    with pytest.raises(QuotaExceededError) as info:
        make(scripted).get("/contacts")
    reset = info.value.reset_at
    assert reset.tzinfo is not None and reset.utcoffset() == dt.timedelta(0)
    assert (reset.hour, reset.minute, reset.second) == (0, 0, 0)
    assert dt.timedelta(0) < reset - before <= dt.timedelta(days=1)
    assert "resets at" in str(info.value)


def test_a_proxy_error_page_becomes_a_short_message(scripted):
    page = b"<html><body>\n  <h1>502 Bad Gateway</h1>\n</body></html>"
    scripted.add(*[(502, page, {"Content-Type": "text/html"})] * 2)
    with pytest.raises(ServerError) as info:
        make(scripted, max_attempts=2).get("/contacts")
    assert info.value.status == 502
    assert "502 Bad Gateway" in info.value.error_message
    assert "\n" not in info.value.error_message


# --------------------------------------------------------------------------- 401 refresh seam


class RefreshingToken:
    """What the auth module will provide: a callable token with ``refresh()``."""

    def __init__(self) -> None:
        self.value = "old-token"
        self.refreshes = 0

    def __call__(self) -> str:
        return self.value

    def refresh(self) -> bool:
        self.refreshes += 1
        self.value = "new-token"
        return True


def test_a_provider_with_refresh_gets_one_chance_after_a_401(scripted):
    scripted.add((401, err_body("unauthorized")), (200, {"fine": True}))
    provider = RefreshingToken()
    client = make(scripted, token=provider)
    assert client.get("/contacts") == {"fine": True}
    assert [s.headers["Authorization"] for s in scripted.seen] == [
        "Bearer old-token",
        "Bearer new-token",
    ]
    assert provider.refreshes == 1
    assert client.stats.refreshes == 1
    assert client.stats.retries == 0


def test_a_second_401_after_refreshing_is_raised(scripted):
    scripted.add((401, err_body("unauthorized")), (401, err_body("unauthorized")))
    provider = RefreshingToken()
    with pytest.raises(UnauthorizedError):
        make(scripted, token=provider).get("/contacts")
    assert provider.refreshes == 1
    assert len(scripted.seen) == 2


def test_the_refresh_hook_can_be_overridden(scripted):
    class Refreshing(Client):
        calls = 0

        def _refresh_on_401(self) -> bool:
            Refreshing.calls += 1
            return True

    scripted.add((401, err_body("unauthorized")), (200, {"ok": 1}))
    fake = FakeTime()
    client = Refreshing(
        token=TOKEN, base_url=scripted.base_url, rate=None, clock=fake.clock, sleep=fake.sleep
    )
    assert client.get("/x") == {"ok": 1}
    assert Refreshing.calls == 1


# --------------------------------------------------------------------------- retries


def test_server_errors_are_retried_with_backoff(scripted):
    scripted.add((503, err_body("unavailable")), (500, err_body("oops")), (200, {"ok": True}))
    fake = FakeTime()
    client = make(scripted, fake)
    assert client.get("/contacts") == {"ok": True}
    assert fake.sleeps == [0.5, 1.0]  # jitter 1.0: the top of each full-jitter range
    s = client.stats
    assert (s.requests, s.retries, s.server_errors, s.resent_posts) == (3, 2, 2, 0)
    assert s.by_status == {503: 1, 500: 1, 200: 1}


def test_retries_stop_at_max_attempts_with_the_last_error(scripted):
    scripted.add(*[(502, err_body("bad_gateway"))] * 3 + [(504, err_body("timeout"))])
    client = make(scripted, max_attempts=4)
    with pytest.raises(ServerError) as info:
        client.get("/contacts")
    assert info.value.status == 504
    assert any("after 4 attempts" in n for n in info.value.__notes__)
    assert len(scripted.seen) == 4


def test_retries_stop_at_max_retry_seconds(scripted):
    scripted.add(*[(503, err_body("unavailable"))] * 10)
    fake = FakeTime()
    client = make(scripted, fake, max_retry_seconds=3.0)
    with pytest.raises(ServerError):
        client.get("/contacts")
    # Waits 0.5 + 1 (elapsed 1.5); the next wait of 2 s would pass 3 s: stop.
    assert fake.sleeps == [0.5, 1.0]
    assert len(scripted.seen) == 3


def test_throttled_is_retried_and_counted(scripted):
    scripted.add((429, err_body("throttled")), (429, err_body("throttled")), (200, {"ok": 1}))
    client = make(scripted)
    assert client.get("/contacts") == {"ok": 1}
    assert (client.stats.throttled, client.stats.retries) == (2, 2)


def test_throttled_exhausted_raises_throttled_error(scripted):
    scripted.add(*[(429, err_body("throttled"))] * 3)
    with pytest.raises(ThrottledError) as caught:
        make(scripted, max_attempts=8, max_throttled=2).get("/contacts")
    assert len(scripted.seen) == 3
    assert "3 attempts (3 throttled)" in "".join(caught.value.__notes__)


def test_throttles_do_not_use_up_the_attempts_for_failures(scripted):
    # Another kernel on the same key: five throttles in a row, then an answer.
    scripted.add(*[(429, err_body("throttled"))] * 5, (503, err_body("x")), (200, {"ok": 1}))
    fake = FakeTime()
    client = make(scripted, fake, max_attempts=2, jitter=lambda: 1.0)
    assert client.get("/contacts") == {"ok": 1}
    # throttles back off to the 2 s cap; the server error waits its own first step
    assert fake.sleeps == [0.5, 1.0, 2.0, 2.0, 2.0, 0.5]


def test_too_many_activities_backs_off_longer(scripted):
    busy = (429, err_body("too_many_requests", "over 1,000 queued activities"))
    scripted.add(busy, (201, {"activity_id": UUID, "state": "initialized"}))
    fake = FakeTime()
    client = make(scripted, fake, jitter=lambda: 0.0)
    body = {"source": {"contact_ids": [UUID]}, "list_ids": [UUID]}
    assert client.remove_list_memberships(body)["activity_id"] == UUID
    assert fake.sleeps == [client.retry_policy.activities_base_delay / 2]
    assert client.stats.resent_posts == 0  # a 429 proves nothing was done


def test_too_many_activities_exhausted(scripted):
    scripted.add(*[(429, err_body("too_many_requests"))] * 2)
    client = make(scripted, max_attempts=2)
    with pytest.raises(TooManyActivitiesError):
        client.remove_list_memberships({"source": {"contact_ids": [UUID]}, "list_ids": [UUID]})


def test_retry_after_is_honoured(scripted):
    scripted.add((503, err_body("unavailable"), {"Retry-After": "7"}), (200, {}))
    fake = FakeTime()
    make(scripted, fake).get("/x")
    assert fake.sleeps == [7.0]


def test_a_dropped_removal_is_resent_and_counted(scripted):
    created = {"activity_id": UUID, "state": "initialized"}
    scripted.add("drop", (503, err_body("unavailable")), (201, created))
    client = make(scripted)
    body = {"source": {"contact_ids": [UUID]}, "list_ids": [UUID]}
    assert client.remove_list_memberships(body) == created
    assert client.stats.resent_posts == 2
    assert client.stats.transport_errors == 1
    assert [json.loads(s.body) for s in scripted.seen] == [body] * 3


def test_before_resend_runs_after_the_pause_before_each_resend_and_can_stop_it(scripted):
    # The runner journals each re-send in this hook: it must run once per re-send of a
    # POST that may have reached the server, after the pause (a process killed in the
    # pause re-sent nothing) and before the POST goes out; if it fails, nothing goes.
    created = {"activity_id": UUID, "state": "initialized"}
    scripted.add("drop", (503, err_body("unavailable")), (201, created))
    fake = FakeTime()
    client = make(scripted, fake)
    body = {"source": {"contact_ids": [UUID]}, "list_ids": [UUID]}
    calls = []
    with before_resend(lambda: calls.append((len(scripted.seen), len(fake.sleeps)))):
        assert client.remove_list_memberships(body) == created
    assert calls == [(1, 1), (2, 2)]  # POSTs sent so far, pauses slept so far
    scripted.add("drop", (201, created))

    def refuse() -> None:
        raise OSError("the journal's disk is full")

    with before_resend(refuse), pytest.raises(OSError, match="disk is full"):
        client.remove_list_memberships(body)
    assert len(scripted.seen) == 4  # the dropped POST only: no re-send without a record
    assert client.stats.resent_posts == 2


def test_additions_are_resent_too(scripted):
    scripted.add("drop", (201, {"activity_id": UUID}))
    client = make(scripted)
    client.add_list_memberships({"source": {"contact_ids": [UUID]}, "list_ids": [UUID]})
    assert client.stats.resent_posts == 1
    assert scripted.seen[0].path == "/v3/activities/add_list_memberships"


def test_other_posts_are_not_resent_after_ambiguous_failures(scripted):
    scripted.add((500, err_body("oops")), "drop", (429, err_body("throttled")), (201, {}))
    client = make(scripted)
    with pytest.raises(ServerError):
        client.request("POST", "/contacts", json={"email_address": {"address": "a@b.c"}})
    with pytest.raises(TransportError) as info:
        client.request("POST", "/contacts", json={})
    assert info.value.sent is True
    # A throttle proves the server did nothing: safe to send again.
    assert client.request("POST", "/contacts", json={}) == {}
    assert client.stats.resent_posts == 0
    assert client.request("POST", "/contacts", json={}, idempotent=True) == {"ok": True}


def test_a_read_timeout_is_retried_then_raised_as_sent(scripted):
    slow = ("sleep", 0.6, (200, {}))
    scripted.add(slow, slow)
    client = make(scripted, max_attempts=2, timeout=(2.0, 0.2))
    with pytest.raises(TransportError) as info:
        client.get("/slow")
    assert info.value.sent is True
    assert info.value.request == "GET /v3/slow"
    assert client.stats.transport_errors == 2
    # requests keeps the failed request on its exception, our error's __cause__: masked.
    cause = info.value.__cause__
    assert cause.request.headers["Authorization"] == "Bearer ********"


def test_a_refused_connection_is_retried_then_raised_as_not_sent():
    fake = FakeTime()
    client = Client(
        token=TOKEN,
        base_url=f"http://127.0.0.1:{free_port()}/v3",
        rate=None,
        max_attempts=3,
        clock=fake.clock,
        sleep=fake.sleep,
        jitter=lambda: 0.0,
    )
    body = {"source": {"contact_ids": [UUID]}, "list_ids": [UUID]}
    with pytest.raises(TransportError) as info:
        client.remove_list_memberships(body)
    err = info.value
    assert err.sent is False
    assert err.request == "POST /v3/activities/remove_list_memberships"
    assert "could not connect" in str(err)
    s = client.stats
    assert (s.requests, s.retries, s.transport_errors, s.resent_posts) == (3, 2, 3, 0)
    assert s.quota_used_today == 0  # nothing reached the server


def test_the_limiter_spaces_every_attempt(scripted):
    scripted.add((503, err_body("x")), (200, {}))
    fake = FakeTime()
    client = make(scripted, fake, rate=4.0, jitter=lambda: 0.0)
    client.get("/a")  # two attempts, no backoff wait (jitter 0), still spaced by the limiter
    client.get("/b")
    assert fake.sleeps == [pytest.approx(client.limiter.interval)] * 2


# --------------------------------------------------------------------------- paging and helpers


def test_paginate_follows_next_links_until_absent(scripted):
    scripted.add(
        (200, {"lists": [{"n": 1}, {"n": 2}], "_links": {"next": {"href": "/v3/lists?cursor=b"}}}),
        (200, {"lists": [], "_links": {"next": {"href": "/v3/lists?cursor=c"}}}),
        (200, {"lists": [{"n": 3}]}),
    )
    client = make(scripted)
    items = list(client.paginate("/lists", "lists", {"limit": 2}))
    assert [i["n"] for i in items] == [1, 2, 3]
    assert [s.path for s in scripted.seen] == [
        "/v3/lists?limit=2",
        "/v3/lists?cursor=b",
        "/v3/lists?cursor=c",
    ]
    assert client.stats.by_endpoint == {("GET", "/v3/lists"): 3}


def test_paginate_stops_on_a_repeated_link(scripted):
    page = (200, {"x": [1], "_links": {"next": {"href": "/v3/x?cursor=same"}}})
    scripted.add(page, page, page)
    with pytest.raises(CCError, match="repeated"):
        list(make(scripted).paginate("/x", "x"))


def test_paginate_never_ends_silently_on_a_next_link_that_is_not_a_string(scripted):
    # The snapshot reader's rule, for every read: a link it cannot follow is an error,
    # not the last page (the read would look complete).
    scripted.add((200, {"x": [1], "_links": {"next": {"href": 12}}}), (404, err_body("no")))
    with pytest.raises(CCError):
        list(make(scripted).paginate("/x", "x"))
    assert len(scripted.seen) == 2  # the link was followed, and its failure said so


LID = "3a8b1c2d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"


def _members_page(**links: Any) -> dict[str, Any]:
    """A page of GET /contacts?lists=LID (one member), with ``_links=`` if given."""
    body = {"contacts": [{"contact_id": UUID, "list_memberships": [LID]}], "contacts_count": 2}
    return {**body, **links}


def _read_members(srv: Scripted) -> Any:
    from ccpandas.read.snapshot import read_snapshot

    return read_snapshot(make(srv), [LID], journal=False, need_emails=False)[0]


@pytest.mark.parametrize(
    ("links", "where"),
    [
        ("/v3/contacts?cursor=bGltaXQ9MQ==", "_links is a string"),
        ([{"next": {"href": "/v3/contacts?cursor=bGltaXQ9MQ=="}}], "_links is a list"),
        ({"next": "/v3/contacts?cursor=bGltaXQ9MQ=="}, "_links.next is a string"),
        ({"next": [{"href": "/v3/contacts?cursor=bGltaXQ9MQ=="}]}, "_links.next is a list"),
        ({"next": 7}, "_links.next is a number"),
    ],
)
def test_a_next_link_of_another_shape_is_an_error_not_the_last_page(scripted, links, where):
    # The spec's _links.next is an object {"href": ...}: a string or a list in its place
    # is no last page (taking it for one makes the rest look absent: members missing
    # from a snapshot), and no link to follow either. Both readers say so at once.
    for read in (
        lambda: list(make(scripted).paginate("/contacts", "contacts")),
        lambda: _read_members(scripted),
    ):
        scripted.seen.clear()
        scripted.add((200, _members_page(_links=links)), (200, _members_page(_links={})))
        with pytest.raises(UnusableAnswerError, match=f"GET /v3/contacts: {where}, not an object"):
            read()
        assert len(scripted.seen) == 1  # nothing sent after it
        scripted.script.clear()


@pytest.mark.parametrize(
    "links",
    [{}, {"_links": None}, {"_links": {}}, {"_links": {"next": None}}]
    + [{"_links": {"next": {"href": h}}} for h in (None, "")],
)
def test_every_last_page_shape_ends_both_readers(scripted, links):
    scripted.add((200, _members_page(**links)), (200, _members_page(**links)))
    assert len(list(make(scripted).paginate("/contacts", "contacts"))) == 1
    assert len(_read_members(scripted)) == 1
    assert len(scripted.seen) == 2


def test_a_next_link_the_api_keeps_refusing_stops_the_membership_read(scripted):
    # A refused next link is taken for an expired cursor: the pass is read again from
    # its start. One the API always refuses would read it again until the day's quota
    # was spent: the third refusal of the same pass is an error, naming what it spent.
    link = {"next": {"href": "/v3/contacts?cursor=bGltaXQ9MQ=="}}
    for _ in range(4):
        scripted.add(
            (200, _members_page(_links=link)), (404, err_body("not_found", "no such page"))
        )
    with pytest.raises(CCError, match=r"refused its own next link 3 times.* 6 requests"):
        _read_members(scripted)
    assert len(scripted.seen) == 6


def test_activity_helpers(scripted):
    scripted.add(
        (200, {"activity_id": UUID, "state": "completed"}),
        (200, {"activities": [{"activity_id": UUID}]}),
    )
    client = make(scripted)
    assert client.get_activity(UUID)["state"] == "completed"
    assert [a["activity_id"] for a in client.iter_activities(state="processing", limit=50)] == [
        UUID
    ]
    assert scripted.seen[0].path == f"/v3/activities/{UUID}"
    assert scripted.seen[1].path == "/v3/activities?limit=50&state=processing"
    assert client.stats.by_endpoint == {
        ("GET", "/v3/activities/{id}"): 1,
        ("GET", "/v3/activities"): 1,
    }
    with pytest.raises(CCError, match="state"):
        client.iter_activities(state="running")
    with pytest.raises(CCError, match="limit"):
        client.iter_activities(limit=501)
    with pytest.raises(CCError, match="activity_id"):
        client.get_activity("")


def test_stats_snapshot_counts_quota_by_utc_day(scripted, monkeypatch):
    day = dt.date(2025, 3, 1)  # pinned: a run across 00:00 UTC counted on two days
    monkeypatch.setattr("ccpandas.client.http.quota_day", lambda: day)
    client = make(scripted)
    client.get("/a")
    client.get("/b")
    snap = client.stats.as_dict()
    assert snap["requests"] == 2
    assert snap["quota_used_today"] == 2
    assert snap["quota_day"] == day


# --------------------------------------------------------------------------- logging, no leaks


def test_requests_are_logged_and_the_token_never_is(scripted, caplog):
    scripted.add((503, err_body("unavailable")), (200, {}), "drop", (200, {}))
    scripted.add((401, err_body("unauthorized")))
    caplog.set_level(logging.DEBUG)  # root: urllib3 and requests too
    for name in ("urllib3", "requests", "ccpandas"):
        caplog.set_level(logging.DEBUG, logger=name)
    client = make(scripted)
    client.get("/contacts", limit=5)
    client.get("/contacts")
    with pytest.raises(UnauthorizedError) as info:
        client.get("/contacts")
    ours = [r for r in caplog.records if r.name.startswith("ccpandas")]
    messages = [r.getMessage() for r in ours]
    assert any(
        m.startswith("GET /v3/contacts -> 503 in") and m.endswith("(attempt 1)") for m in messages
    )
    assert any(m.startswith("GET /v3/contacts -> 200 in") for m in messages)
    warnings = [r.getMessage() for r in ours if r.levelno == logging.WARNING]
    assert any("retry 1 of 7" in m for m in warnings)
    assert any(r.name.startswith("urllib3") for r in caplog.records)  # their logs were on
    everything = [r.getMessage() for r in caplog.records] + [caplog.text]
    everything += [str(info.value), repr(info.value), *info.value.__notes__]
    for text in everything:
        assert TOKEN not in text
    assert "limit=5" not in " ".join(messages)  # our logs carry no query strings


# --------------------------------------------------------------------------- default client


@pytest.fixture
def no_default(monkeypatch):
    old = set_default_client(None)
    monkeypatch.delenv("CC_ACCESS_TOKEN", raising=False)
    monkeypatch.delenv("CC_BASE_URL", raising=False)
    yield
    set_default_client(old)


def test_default_client_needs_configuration(no_default):
    with pytest.raises(AuthError, match="set_default_client"):
        get_default_client()


def test_default_client_from_the_environment_is_kept(no_default, monkeypatch):
    monkeypatch.setenv("CC_ACCESS_TOKEN", TOKEN)
    monkeypatch.setenv("CC_BASE_URL", "http://127.0.0.1:7/v3/")
    client = get_default_client()
    assert client.base_url == "http://127.0.0.1:7/v3"
    assert get_default_client() is client  # one limiter for every call


def test_set_default_client(no_default):
    mine = Client(token=TOKEN, base_url="http://127.0.0.1:8/v3")
    assert set_default_client(mine) is None
    assert get_default_client() is mine
    assert set_default_client(None) is mine
    with pytest.raises(TypeError):
        set_default_client("not a client")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- against the emulator

FAST = {"speed": 1e9, "rate": None, "daily_quota": None}


@pytest.fixture
def emu(cc_emulator_factory):
    return cc_emulator_factory(seed=5, contacts=120, lists=4, tags=3, **FAST)


def emu_client(emu, **kw: Any) -> Client:
    kw.setdefault("rate", None)
    kw.setdefault("jitter", lambda: 0.0)  # retry at once: the tests stay fast
    return Client(token=kw.pop("token", emu.token), base_url=emu.base_url, **kw)


def test_emulator_accepts_our_headers_and_bodies(emu):
    # The emulator answers 401 without the bearer token and 415 for a body that is
    # not declared JSON: a 201 proves both headers were right.
    client = emu_client(emu)
    list_id = emu.account.list_ids()[0]
    contact_id = sorted(emu.account.members(list_id))[0]
    activity = client.remove_list_memberships(
        {"source": {"contact_ids": [contact_id]}, "list_ids": [list_id]}
    )
    assert activity["state"] == "initialized"
    emu.wait_idle()
    assert contact_id not in emu.account.members(list_id)
    assert client.get_activity(activity["activity_id"])["state"] == "completed"
    done = list(client.iter_activities(state="completed"))
    assert [a["activity_id"] for a in done] == [activity["activity_id"]]


def test_paging_across_many_pages(emu):
    client = emu_client(emu)
    items = list(client.paginate("/contacts", "contacts", {"limit": 7, "status": "all"}))
    ids = [c["contact_id"] for c in items]
    assert len(ids) == len(set(ids)) == 120
    assert set(ids) == set(emu.account.contacts)
    assert client.stats.requests == -(-120 // 7)  # ceil: every page once, nothing more
    assert emu.account.count(route="/v3/contacts") == client.stats.requests


def test_paging_within_a_budget_stops_quietly_after_it(emu, caplog):
    # A reader that settles the rest another way (verification's read of changed
    # contacts) spends at most its budget: no warning, no page more.
    client = emu_client(emu)
    pages: list[bool] = []
    params = {"limit": 7, "status": "all"}
    items = list(
        client.paginate(
            "/contacts", "contacts", params, budget=3, on_page=lambda b, m: pages.append(m)
        )
    )
    assert len(items) == 21 and pages == [True, True, True]  # more pages followed
    assert emu.account.count(route="/v3/contacts") == 3
    assert not list(client.paginate("/contacts", "contacts", params, budget=0))
    assert emu.account.count(route="/v3/contacts") == 3  # a budget of 0 reads nothing
    assert "stopped paging" not in caplog.text


def test_an_expired_cursor_ends_a_budgeted_paging_and_raises_without_one(emu, monkeypatch):
    import secrets

    from ccpandas.emulator import paging

    client = emu_client(emu)
    params = {"limit": 7, "status": "all"}

    def restart(body, more):  # a server restarted: the cursors it gave are refused (400)
        monkeypatch.setattr(paging, "_KEY", secrets.token_bytes(32))

    budgeted = client.paginate("/contacts", "contacts", params, budget=10, on_page=restart)
    assert len(list(budgeted)) == 7  # the first page; the refused next link ends it
    assert emu.account.count(route="/v3/contacts") == 2
    with pytest.raises(APIError) as caught:
        list(client.paginate("/contacts", "contacts", params, on_page=restart))
    assert caught.value.status == 400


def test_a_host_name_loopback_base_url_works(emu):
    client = Client(token=emu.token, base_url=f"http://localhost:{emu.port}/v3", rate=None)
    assert len(list(client.paginate("/contact_tags", "tags"))) == 3


@pytest.mark.parametrize(
    ("call", "cls", "status"),
    [
        (lambda c: c.get("/no_such_endpoint"), NotFoundError, 404),
        (lambda c: c.get_activity(UUID), NotFoundError, 404),
        (lambda c: c.get("/contact_lists/not-a-uuid"), BadRequestError, 400),
        (lambda c: c.get("/contacts", limit=0), BadRequestError, 400),
        (lambda c: c.request("DELETE", "/contact_tags"), APIError, 405),
        (lambda c: c.remove_list_memberships({"list_ids": [UUID]}), BadRequestError, 400),
    ],
)
def test_emulator_errors_map_to_typed_errors(emu, call, cls, status):
    client = emu_client(emu)
    with pytest.raises(cls) as info:
        call(client)
    assert type(info.value) is cls
    assert info.value.status == status
    assert info.value.error_key
    assert info.value.error_message
    assert info.value.request.startswith(("GET /v3/", "POST /v3/", "DELETE /v3/"))
    assert "?" not in info.value.request
    assert client.stats.requests == 1  # none of these is retried


def test_emulator_401_and_403(emu):
    with pytest.raises(UnauthorizedError) as info:
        emu_client(emu, token="wrong-token").get("/contact_lists")
    assert info.value.request == "GET /v3/contact_lists"
    no_scope = emu.issue_token(scopes=("offline_access",))
    with pytest.raises(ForbiddenError, match="contact_data"):
        emu_client(emu, token=no_scope).get("/contact_lists")


def test_injected_5xx_exhaust_the_attempts(emu):
    emu.configure(error_rate=1.0)
    client = emu_client(emu, max_attempts=3)
    with pytest.raises(ServerError) as info:
        client.get("/contact_tags")
    assert info.value.status in (500, 503)
    assert emu.account.count(route="/v3/contact_tags") == 3
    assert (client.stats.retries, client.stats.server_errors) == (2, 3)


def test_reads_survive_injected_5xx_and_dropped_connections(emu):
    emu.configure(error_rate=0.25, drop_rate=0.15)
    client = emu_client(emu)
    for _ in range(30):
        assert len(list(client.paginate("/contact_tags", "tags"))) == 3
    s = client.stats
    assert s.server_errors > 0 and s.transport_errors > 0  # both faults were met
    assert s.retries == s.server_errors + s.transport_errors
    assert s.requests == 30 + s.retries == len(emu.account.request_log)


def test_removals_are_resent_after_ambiguous_failures_and_counted(emu):
    emu.configure(error_rate=0.2, drop_rate=0.2)
    client = emu_client(emu)
    list_id = emu.account.list_ids()[0]
    members = sorted(emu.account.members(list_id))[:20]
    for cid in members:
        client.remove_list_memberships({"source": {"contact_ids": [cid]}, "list_ids": [list_id]})
    s = client.stats
    dropped = sum(r.dropped for r in emu.account.request_log)
    assert dropped > 0 and s.server_errors > 0
    assert s.resent_posts == s.server_errors + s.transport_errors == s.retries
    # A dropped POST was applied before the connection dropped: one extra activity each.
    assert len(emu.account.activities) == 20 + dropped
    emu.wait_idle()
    assert not set(members) & emu.account.members(list_id)  # re-sending did no harm


def test_too_many_activities_is_retried_then_raised(cc_emulator_factory):
    emu = cc_emulator_factory(seed=2, speed=0.001, rate=None, max_queued_activities=1)
    client = emu_client(emu, max_attempts=3)
    client.retry_policy = replace(client.retry_policy, activities_base_delay=0.01)
    list_id = emu.account.list_ids()[0]
    body = {"source": {"contact_ids": sorted(emu.account.members(list_id))[:1]}}
    client.remove_list_memberships({**body, "list_ids": [list_id]})  # queued, never finishes
    with pytest.raises(TooManyActivitiesError) as info:
        client.remove_list_memberships({**body, "list_ids": [list_id]})
    assert info.value.error_key == "too_many_activities"
    assert (client.stats.retries, client.stats.resent_posts) == (2, 0)


# Steady spacing matters here: alone, not beside busy workers.
@pytest.mark.serial
def test_limiters_on_both_sides_mean_no_throttling(cc_emulator_factory):
    emu = cc_emulator_factory(seed=3, rate=20, rate_algorithm="sliding", daily_quota=None)
    client = emu_client(emu, rate=20)
    for _ in range(40):
        client.get("/contact_tags")
    # The client spaces starts 2 % wider than the server's limit, so a throttle needs
    # more than 20 ms of arrival jitter within one second: on a loaded machine that can
    # happen once (and is retried). With no client limiter a burst is throttled at once
    # (the next test).
    assert client.stats.throttled <= 1
    assert emu.account.count(status=429) == client.stats.throttled
    assert emu.account.count(status=200) == 40


@pytest.mark.parametrize("shape", ["real", "array"])  # the gateway's object, the spec's array
def test_throttled_answers_are_retried(cc_emulator_factory, shape):
    emu = cc_emulator_factory(
        seed=4, rate=10, rate_algorithm="sliding", daily_quota=None, error_shape=shape
    )
    client = emu_client(emu, rate=None, jitter=lambda: 0.2)  # no client limiter: a burst
    for _ in range(15):
        client.get("/contact_tags")
    assert client.stats.throttled > 0
    assert emu.account.count(status=429) == client.stats.throttled
    assert emu.account.count(status=200) == 15


def test_quota_exhaustion_raises_with_the_reset_time(cc_emulator_factory):
    emu = cc_emulator_factory(seed=6, rate=None, quota_left=3)
    client = emu_client(emu)
    for _ in range(3):
        client.get("/contact_tags")
    before = next_utc_midnight()  # and after: a midnight may pass in between
    with pytest.raises(QuotaExceededError) as info:
        client.get("/contact_tags")
    err = info.value
    assert err.status == 429 and err.error_key == "quota_exceeded"
    assert err.reset_at in (before, next_utc_midnight())
    assert client.stats.retries == 0  # never retried
    assert emu.account.count(status=429) == 1


def next_utc_midnight() -> dt.datetime:
    today = dt.datetime.now(dt.UTC).date()
    return dt.datetime.combine(today + dt.timedelta(days=1), dt.time(0), tzinfo=dt.UTC)


def test_the_emulator_token_never_reaches_logs_or_errors(emu, caplog, capfd):
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "requests", "ccpandas"):
        caplog.set_level(logging.DEBUG, logger=name)
    emu.configure(error_rate=0.3, drop_rate=0.2)
    client = emu_client(emu)
    texts = [repr(client), str(client), repr(client.stats.as_dict())]
    for _ in range(10):
        list(client.paginate("/contacts", "contacts", {"limit": 50}))
    emu.configure(error_rate=0.0, drop_rate=0.0)
    emu.revoke_token(emu.token)
    with pytest.raises(UnauthorizedError) as info:
        client.get("/contact_lists")
    texts += [str(info.value), repr(info.value), *info.value.__notes__]
    texts += [r.getMessage() for r in caplog.records] + [caplog.text]
    texts += list(capfd.readouterr())  # http.client's debug output would land here
    assert any(r.name.startswith("urllib3") for r in caplog.records)
    assert client.stats.retries > 0
    for text in texts:
        assert emu.token not in text


# --------------------------------------------------------------------------- the exception tree


def test_every_public_error_is_in_the_tree_and_exported():
    import inspect

    import ccpandas.errors as errors_module
    import ccpandas.store.journal

    public = {
        name
        for name, obj in vars(errors_module).items()
        if inspect.isclass(obj) and issubclass(obj, Exception) and not name.startswith("_")
    }
    assert public <= set(errors_module.__all__)
    tree = errors_module.__doc__.split("::", 1)[1].split("\n\n", 2)[1]
    drawn = {line.split("──", 1)[1].split()[0] for line in tree.splitlines() if "──" in line}
    assert public == drawn
    for name in public:
        assert issubclass(getattr(errors_module, name), CCError), name
    # RunLockedError lives in the tree; its old homes name the same class.
    assert ccpandas.store.journal.RunLockedError is errors_module.RunLockedError
    assert ccpandas.store.journal.RunLockedError is errors_module.RunLockedError


def test_auth_error_takes_its_error_key_as_an_argument():
    assert AuthError("refused", error_key="invalid_grant").error_key == "invalid_grant"
    assert AuthError("no token").error_key is None
    err = UnauthorizedError(401, "unauthorized", "bad token")
    assert isinstance(err, AuthError) and err.error_key == "unauthorized"


def test_activity_paging_that_repeats_a_page_under_new_links_ends(emu, caplog):
    # The service's fault: the next link changes on every page while the page repeats.
    ids = emu.account.contact_ids()
    target = emu.account.list_ids()[0]
    for i in range(30):
        emu.account.submit_activity({"source": {"contact_ids": [ids[i]]}, "list_ids": [target]})
    emu.configure(activity_paging="repeating")
    client = emu_client(emu)

    # islice: a guard, so paging without end fails here rather than hangs.
    read = list(itertools.islice(client.iter_activities(limit=10), 1_000))

    assert len(read) == len({a["activity_id"] for a in read}) == 10  # each one once
    assert emu.account.count(route="/v3/activities") == 2  # the repeat seen, no third page
    assert "repeats what was read" in caplog.text


def test_activity_paging_reads_no_more_pages_than_the_activities_kept_can_fill(emu, caplog):
    # Each page new, the links never ending: at most as many pages as 10 days of the
    # daily quota's activities fill (100,000 activities: 201 pages of 500, 101 of 1,000).
    from ccpandas.client.http import MAX_ACTIVITIES_KEPT

    assert MAX_ACTIVITIES_KEPT == 100_000
    ids = emu.account.contact_ids()
    target = emu.account.list_ids()[0]
    for i in range(12):
        emu.account.submit_activity({"source": {"contact_ids": [ids[i]]}, "list_ids": [target]})
    client = emu_client(emu)
    pages = list(
        client.paginate(
            "/activities", "activities", {"limit": 1}, item_key="activity_id", max_pages=5
        )
    )
    assert len(pages) == 5 and emu.account.count(route="/v3/activities") == 5
    assert "more than 5 pages" in caplog.text
