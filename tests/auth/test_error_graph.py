"""No secret reachable from a raised error: the graph a debugger, Sentry's default capture,
IPython's ``%xmode Verbose`` or ``traceback.TracebackException(capture_locals=True)``
can open, walked for real tokens the emulator issued.

Walked from each error: its attributes (recursively, into containers and the ``__dict__``
and ``__slots__`` of every object), its notes, its ``__cause__``/``__context__`` chain, and
every frame of every traceback in that chain with its ``f_locals``. Not walked: modules,
classes and functions (the program, not data), and the inside of a
:class:`~ccpandas._secret.Secret` (a holder whose repr, str and format show a mask: what
those tools display of it; only ``reveal()`` opens it, which they never call).

Every error is caught in :func:`catch`, a frame holding nothing but the action and the
error, so the test's own variables (which hold the tokens on purpose) are not walked.
"""

from __future__ import annotations

import collections
import io
import socket
import threading
import traceback
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import requests
from auth_support import CLIENT_ID, capped_keyring, signed_in

import ccpandas
from ccpandas._secret import Secret
from ccpandas.auth.connect import OAuthToken, TextView, login, refresh_saved_login
from ccpandas.auth.tokenstore import Credentials, TokenStore
from ccpandas.client.http import Client
from ccpandas.errors import (
    AuthError,
    CCError,
    ConfigError,
    QuotaExceededError,
    TokenStoreError,
    TransportError,
    UnauthorizedError,
)

_OPAQUE = (types.ModuleType, type, types.FunctionType, types.BuiltinFunctionType, types.CodeType)


def catch(action: Callable[[], object]) -> BaseException:
    """Run ``action``; return the error it raised (this frame holds nothing else)."""
    try:
        action()
    except BaseException as exc:
        return exc
    raise AssertionError("nothing was raised")


def walk(root: object, secrets: Iterable[str], *, limit: int = 400_000) -> list[str]:
    """Paths from ``root`` to every string or bytes holding one of ``secrets``."""
    wanted = [s for s in secrets if s]
    assert wanted, "no secret to look for"
    found: list[str] = []
    seen: set[int] = set()
    todo: collections.deque[tuple[object, str]] = collections.deque([(root, "error")])
    visited = 0
    while todo:
        obj, path = todo.popleft()
        if id(obj) in seen or obj is None:
            continue
        seen.add(id(obj))
        visited += 1
        assert visited < limit, "the graph is larger than expected"
        if isinstance(obj, str | bytes | bytearray):
            text = obj if isinstance(obj, str) else bytes(obj).decode("utf-8", "replace")
            found.extend(f"{path}: {s[:6]}..." for s in wanted if s in text)
            continue
        if isinstance(obj, (Secret, threading.Thread, *_OPAQUE)):
            continue
        children: list[tuple[object, str]] = []
        if isinstance(obj, BaseException):
            children += [(obj.args, f"{path}.args"), (obj.__cause__, f"{path}.__cause__")]
            children += [(obj.__context__, f"{path}.__context__")]
            children += [(obj.__traceback__, f"{path}.__traceback__")]
            children += [(getattr(obj, "__notes__", None), f"{path}.__notes__")]
        if isinstance(obj, types.TracebackType):
            children += [(obj.tb_frame, f"{path}.frame"), (obj.tb_next, f"{path}.next")]
        elif isinstance(obj, types.FrameType):
            name = obj.f_code.co_name
            children += [(v, f"{path}[{name}].{k}") for k, v in obj.f_locals.items()]
        elif isinstance(obj, dict):
            for k, v in list(obj.items()):
                children += [(k, f"{path}.key"), (v, f"{path}[{k!r:.40}]")]
        elif isinstance(obj, list | tuple | set | frozenset | collections.deque):
            children += [(v, f"{path}[{i}]") for i, v in enumerate(list(obj))]
        if isinstance(obj, types.MethodType):
            children.append((obj.__self__, f"{path}.__self__"))
        attrs = getattr(obj, "__dict__", None)
        if isinstance(attrs, dict):
            children += [(v, f"{path}.{k}") for k, v in list(attrs.items())]
        for cls in type(obj).__mro__:
            for slot in getattr(cls, "__slots__", ()):
                if isinstance(slot, str) and slot not in ("__dict__", "__weakref__"):
                    children.append((getattr(obj, slot, None), f"{path}.{slot}"))
        todo.extend(children)
    return found


def shown_with_locals(exc: BaseException) -> str:
    """What ``traceback.TracebackException(capture_locals=True)`` prints (the reprs of
    every frame's locals), as IPython's verbose mode or Sentry would show them."""
    return "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())


def assert_clean(exc: BaseException, secrets: Iterable[str]) -> None:
    secrets = [s for s in secrets if s]
    assert walk(exc, secrets) == []
    text = shown_with_locals(exc)
    assert [s[:6] for s in secrets if s in text] == []


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_walker_finds_a_token_in_a_frame_local_and_behind_a_cause() -> None:
    """A control: the walk sees what these tools would show."""
    raw = "ccemu_" + "ab" * 20

    def leaky() -> None:
        header = {"Authorization": f"Bearer {raw}"}  # noqa: F841 - the point of the control
        raise ValueError("boom")

    err = catch(leaky)
    assert walk(err, [raw]) != []
    assert raw in shown_with_locals(err)
    wrapped = CCError("wrapped")
    wrapped.__cause__ = err
    assert any("__cause__" in hit for hit in walk(wrapped, [raw]))
    holder = CCError("holder")
    holder.request = types.SimpleNamespace(headers={"Authorization": raw})  # type: ignore[attr-defined]
    assert walk(holder, [raw]) != []
    assert walk(CCError(Secret(raw)), [raw]) == []  # a Secret shows only its mask


def _logged_in(emu: Any, store: TokenStore) -> Client:
    return signed_in(
        emu, store=store, client_options={"rate": None, "jitter": lambda: 0.0, "max_attempts": 2}
    )


def test_a_refused_connection_keeps_no_token(auth_emu) -> None:
    emu = auth_emu()
    client = Client(
        token=emu.token,
        base_url=f"http://127.0.0.1:{free_port()}/v3",
        rate=None,
        max_attempts=2,
        jitter=lambda: 0.0,
    )
    err = catch(lambda: client.get("/contact_lists"))
    assert isinstance(err, TransportError) and err.sent is False
    assert "could not connect" in str(err) and err.reason is not None
    assert isinstance(err.__cause__, requests.ConnectionError)  # what happened, kept
    assert_clean(err, [emu.token])


def test_a_dropped_connection_keeps_no_token(auth_emu) -> None:
    emu = auth_emu(drop_rate=1.0)
    client = Client(
        token=emu.token, base_url=emu.base_url, rate=None, max_attempts=2, jitter=lambda: 0.0
    )
    err = catch(lambda: client.get("/contact_lists"))
    assert isinstance(err, TransportError) and err.sent is True
    assert_clean(err, [emu.token])


def test_a_401_after_the_refresh_keeps_no_token(auth_emu, store: TokenStore) -> None:
    emu = auth_emu()
    client = _logged_in(emu, store)
    provider = client._token_provider.func
    assert isinstance(provider, OAuthToken)
    first = provider.credentials.access_token.reveal()
    emu.revoke_token(first)
    # Every token the refresh brings is refused too: the resend gets a 401 again.
    emu.configure(access_token_lifetime=None)
    original = provider._session.refresh

    def refresh_then_revoke(token: Secret, scopes: Any = None) -> dict[str, Any]:
        body = original(token, scopes)
        emu.revoke_token(body["access_token"])
        return body

    provider._session.refresh = refresh_then_revoke  # type: ignore[method-assign]
    provider.min_refresh_interval = 0
    err = catch(lambda: ccpandas.read_contact_lists(client))
    assert isinstance(err, UnauthorizedError)
    assert client.stats.refreshes == 1
    assert any("refused the access token" in note for note in err.__notes__)
    assert_clean(err, [*emu.oauth.issued_secrets(), emu.token])


def test_quota_exceeded_keeps_no_token(auth_emu) -> None:
    emu = auth_emu(quota_left=1)
    client = Client(token=emu.token, base_url=emu.base_url, rate=None)
    client.get("/contact_tags")
    err = catch(lambda: client.get("/contact_tags"))
    assert isinstance(err, QuotaExceededError)
    assert_clean(err, [emu.token])


def test_a_refused_refresh_keeps_no_refresh_token(auth_emu, store: TokenStore) -> None:
    emu = auth_emu()
    client = _logged_in(emu, store)
    provider = client._token_provider.func
    creds = provider.credentials
    emu.oauth.revoke_refresh_token(creds.refresh_token.reveal())
    emu.revoke_token(creds.access_token.reveal())
    provider.min_refresh_interval = 0
    err = catch(lambda: ccpandas.read_contact_lists(client))
    assert isinstance(err, AuthError) and err.error_key == "invalid_grant"
    assert err.__context__ is None  # the refused attempt is not chained
    assert_clean(err, [*emu.oauth.issued_secrets(), emu.token])


def test_an_unreachable_authorization_server_keeps_no_refresh_token(
    auth_emu, store: TokenStore
) -> None:
    emu = auth_emu()
    client = _logged_in(emu, store)
    provider = client._token_provider.func
    issued = [*emu.oauth.issued_secrets(), emu.token]
    emu.stop()
    err = catch(lambda: provider.refresh(force=True))
    assert isinstance(err, AuthError) and err.error_key == "transport"
    assert_clean(err, issued)


def test_token_store_errors_keep_no_token(auth_emu, tmp_path: Path) -> None:
    emu = auth_emu()
    body = emu.oauth.grant(CLIENT_ID)
    creds = Credentials(CLIENT_ID, Secret(body["access_token"]), Secret(body["refresh_token"]))
    issued = [*emu.oauth.issued_secrets(), emu.token]

    # The folder is a file: the store cannot even take its lock.
    (tmp_path / "not-a-folder").write_text("x")
    err = catch(lambda: TokenStore(tmp_path / "not-a-folder").save(creds))
    assert isinstance(err, TokenStoreError) and "not-a-folder" in str(err)
    assert_clean(err, issued)

    # The file is a folder: the write fails after the tokens were serialised.
    store = TokenStore(tmp_path / "tokens")
    store.path(CLIENT_ID).parent.mkdir(parents=True)
    store.path(CLIENT_ID).mkdir()
    err = catch(lambda: store.save(creds))
    assert isinstance(err, TokenStoreError) and "could not save" in str(err)
    assert err.__context__ is None and err.__cause__ is None
    assert_clean(err, issued)
    err = catch(lambda: store.load(CLIENT_ID))
    assert isinstance(err, TokenStoreError)
    assert_clean(err, issued)

    # A login whose store fails to save: raised from login(), whose frame had the answer.
    # (Approved by the emulator itself and shown as plain text: the simulated person of
    # the other tests holds the emulator, and so its token, in a local of login().)
    emu.configure(auto_approve=True)
    auth_url, base_url, view = emu.auth_url, emu.base_url, TextView(io.StringIO())
    err = catch(
        lambda: login(CLIENT_ID, auth_url=auth_url, base_url=base_url, view=view, store=store)
    )
    assert isinstance(err, TokenStoreError)
    assert_clean(err, [*emu.oauth.issued_secrets(), emu.token])


def test_an_error_raised_by_the_runner_keeps_no_token(auth_emu, store: TokenStore) -> None:
    emu = auth_emu(contacts=1200, lists=2)
    client = _logged_in(emu, store)
    list_id = emu.account.list_ids()[0]
    frame = pd.DataFrame({"contact_id": emu.account.contact_ids()})  # 3 batches
    emu.configure(drop_rate=1.0)  # every request dropped: the run stops on a TransportError
    err = catch(lambda: frame.cc.remove_from_lists([list_id], client=client, progress=False))
    assert isinstance(err, CCError)
    assert_clean(err, [*emu.oauth.issued_secrets(), emu.token])


def test_keyring_and_keep_alive_errors_keep_no_token(auth_emu, private_env: Path) -> None:
    """The keyring's refusals (its errors' frames held the pieces of the secret) and the
    keep-alive's failure after a refresh whose answer could not be saved."""
    emu = auth_emu()
    ring = capped_keyring()
    store = TokenStore(keyring=ring)
    body = emu.oauth.grant(CLIENT_ID)
    creds = Credentials(
        CLIENT_ID,
        Secret(body["access_token"] + "." + "x" * 1200),  # a JWT's length: 2 pieces
        Secret(body["refresh_token"]),
        auth_url=emu.auth_url,
        base_url=emu.base_url,
        origin="login-graph",
    )
    ring.fail_writes = True
    err = catch(lambda: store.save(creds))
    assert isinstance(err, TokenStoreError) and "CappedWindowsKeyring" in str(err)
    assert err.__context__ is None and err.__cause__ is None
    assert_clean(err, [*creds.secret_dict().values(), *emu.oauth.issued_secrets()])

    ring.fail_writes = False
    store.save(creds)
    # The check before the refresh rewrites the same entries and passes; the save after
    # the refresh fails.
    ring.writes_left = len(ring.entries)
    err = catch(lambda: refresh_saved_login(CLIENT_ID, store=store))
    assert isinstance(err, TokenStoreError)
    assert str(err).startswith(f"Refreshed the access token of {CLIENT_ID}, but could not")
    assert "log in again" in str(err)
    assert emu.oauth.events["token:refresh_token"] == 1
    assert_clean(err, [*creds.secret_dict().values(), *emu.oauth.issued_secrets()])


def test_doctor_keeps_no_token(auth_emu, store: TokenStore) -> None:
    # A login's JWT, whose claims doctor decodes; the quota runs out in the middle.
    emu = auth_emu(quota_left=3)
    client = _logged_in(emu, store)
    err = catch(lambda: ccpandas.doctor(client))
    assert isinstance(err, QuotaExceededError)
    assert err.request == "GET /v3/contacts"  # after the three reads of the lists
    assert_clean(err, [*emu.oauth.issued_secrets(), emu.token])


def test_a_client_id_http_basic_cannot_encode_keeps_no_client_secret(auth_emu) -> None:
    # A pasted "…" in the client id: the Basic header cannot carry it (latin-1). The
    # header used to be built in OAuthSession's constructor, which raised a raw
    # UnicodeEncodeError with the client secret in a frame's locals.
    from ccpandas.auth.flows import OAuthSession

    emu = auth_emu()
    given = {"auth_url": emu.auth_url, "client_secret": "s3cr3t-client-secret-x"}
    err = catch(lambda: OAuthSession("app\u2026", **given))
    assert isinstance(err, ConfigError) and "client_id has a character outside ASCII" in str(err)
    given.clear()  # the test's own dict held it; only the error's frames are checked
    assert_clean(err, ["s3cr3t-client-secret-x"])


#: Module-level, so neither a frame's locals nor a traceback's source lines show them.
_GOOD_SECRET, _BAD_SECRET = "s3cr3t-good-x", "s3cr3t\u2026bad-x"


def test_a_refused_login_keeps_no_client_secret(auth_emu, private_env: Path) -> None:
    # The secret was converted inside OAuthSession: refused there (a bad client id, a
    # bad auth_url, a malformed secret), the frames of login() and of the session's
    # constructor still held it in clear.
    emu = auth_emu()
    url = emu.auth_url
    cases = [
        lambda: ccpandas.login(client_id="app\u2026", client_secret=_GOOD_SECRET, auth_url=url),
        lambda: ccpandas.login(
            client_id="app", client_secret=_GOOD_SECRET, auth_url="http://192.0.2.1/v1"
        ),
        lambda: ccpandas.login(client_id="app", client_secret=_BAD_SECRET, auth_url=url),
        lambda: ccpandas.connect(client_id="app", client_secret=_BAD_SECRET),
        # `ccpandas login --refresh`; and a token provider refused half-built (its repr
        # is called by a traceback shown with its locals)
        lambda: refresh_saved_login(client_id="app", client_secret=_BAD_SECRET),
        lambda: OAuthToken(Credentials("app", Secret("at-x"), None), client_secret=_BAD_SECRET),
    ]
    for case in cases:
        err = catch(case)
        assert isinstance(err, ConfigError)
        assert_clean(err, [_GOOD_SECRET, _BAD_SECRET])


_BYTES_SECRET = b"bytes-client-secret-77"


def test_a_client_secret_of_the_wrong_type_is_refused_without_keeping_it(auth_emu) -> None:
    # bytes, not a string: refused with a TypeError whose traceback held it in a local
    url = auth_emu().auth_url
    cases = [
        lambda: ccpandas.login(client_id="app", client_secret=_BYTES_SECRET, auth_url=url),
        lambda: ccpandas.login(client_id="a", client_secret=bytearray(_BYTES_SECRET), auth_url=url),
    ]
    for case in cases:
        err = catch(case)
        assert isinstance(err, TypeError) and "client_secret must be a string" in str(err)
        assert_clean(err, [_BYTES_SECRET.decode()])


#: The tokens of the next test, module-level for the same reason.
_GIVEN: dict[str, str] = {}
_REDIS_URL = {"shared_state": "redis://:Redis-pw-2291@127.0.0.1:6x79/0"}


def test_a_refused_connect_keeps_no_token_in_its_frames(auth_emu, monkeypatch) -> None:
    # connect() took CC_REFRESH_TOKEN from the environment, token=... and client_options'
    # Redis URL in clear into its frames' locals; a setting refused after that (a plain
    # http:// base URL or authorization server, a malformed client secret, a Redis URL
    # redis-py cannot read) showed them there.
    from ccpandas.widgets.login import connect as notebook_connect

    emu = auth_emu()
    body = emu.oauth.grant(CLIENT_ID)
    _GIVEN.update(access=body["access_token"], refresh=body["refresh_token"])
    secrets = [*_GIVEN.values(), "Redis-pw-2291", *emu.oauth.issued_secrets()]
    monkeypatch.setenv("CC_ACCESS_TOKEN", body["access_token"])
    monkeypatch.setenv("CC_REFRESH_TOKEN", body["refresh_token"])
    monkeypatch.setenv("CC_CLIENT_ID", CLIENT_ID)
    monkeypatch.setenv("CC_AUTH_URL", emu.auth_url)
    base_url, plain = emu.base_url, "http://192.0.2.1/v3"
    from_env = [
        lambda: ccpandas.connect(base_url=plain),
        lambda: ccpandas.connect(base_url=base_url, client_options={"rate": -1}),
        lambda: ccpandas.connect(base_url=base_url, client_secret=_BAD_SECRET),
    ]
    errors = [catch(case) for case in from_env]
    monkeypatch.setenv("CC_AUTH_URL", "http://192.0.2.1/oauth2/default/v1")
    errors.append(catch(lambda: ccpandas.connect(base_url=base_url)))
    for name in ("CC_ACCESS_TOKEN", "CC_REFRESH_TOKEN", "CC_CLIENT_ID", "CC_AUTH_URL"):
        monkeypatch.delenv(name)
    given = [
        lambda: ccpandas.connect(token=_GIVEN["access"], base_url=plain),
        lambda: ccpandas.connect(
            token=_GIVEN["access"], base_url=base_url, client_options=_REDIS_URL
        ),
        lambda: notebook_connect(token=_GIVEN["access"], base_url=plain),
    ]
    errors += [catch(case) for case in given]
    emu.configure(auto_approve=True)
    auth_url, view = emu.auth_url, TextView(io.StringIO())
    errors.append(
        catch(
            lambda: login(
                CLIENT_ID,
                auth_url=auth_url,
                base_url=base_url,
                view=view,
                client_options=_REDIS_URL,
            )
        )
    )
    kinds = [type(err).__name__ for err in errors]
    assert kinds == ["ConfigError", "ValueError", *["ConfigError"] * 6]
    assert [hit for err in errors for hit in walk(err, secrets)] == []
    shown = "".join(shown_with_locals(err) for err in errors)
    assert [s[:6] for s in secrets if s in shown] == []


#: The token of the next test, module-level for the same reason.
_WRONG: dict[str, str] = {}


def test_a_token_of_the_wrong_type_is_refused_without_keeping_it(auth_emu) -> None:
    # bytes (a token file read in "rb"), the token endpoint's whole answer (a dict), a
    # list, or a token function returning bytes: refused with a TypeError (an AuthError
    # for the function) whose traceback held the token in the frames' locals.
    from ccpandas.widgets.login import connect as notebook_connect

    emu = auth_emu()
    _WRONG.update(token=emu.token, base_url=emu.base_url)
    cases = [
        lambda: ccpandas.Client(token=_WRONG["token"].encode(), base_url=_WRONG["base_url"]),
        lambda: ccpandas.Client(token=bytearray(_WRONG["token"].encode())),
        lambda: ccpandas.Client(token={"access_token": _WRONG["token"]}),
        lambda: ccpandas.connect(token=[_WRONG["token"]], base_url=_WRONG["base_url"]),
        lambda: notebook_connect(token=_WRONG["token"].encode(), base_url=_WRONG["base_url"]),
    ]
    errors = [catch(case) for case in cases]
    assert [type(err).__name__ for err in errors] == ["TypeError"] * 5
    kinds = ["bytes", "bytearray", "dict", "list", "bytes"]
    assert [str(err).rsplit(" ", 1)[-1] for err in errors] == kinds
    # A Redis URL (its password) as bytes: refused the same way.
    for action in (
        lambda: ccpandas.Client(token="t", shared_state=_REDIS_URL["shared_state"].encode()),
        lambda: ccpandas.configure(shared_state=bytearray(_REDIS_URL["shared_state"].encode())),
        lambda: ccpandas.connect(
            token="t", client_options={"shared_state": _REDIS_URL["shared_state"].encode()}
        ),
    ):
        err = catch(action)
        assert isinstance(err, TypeError) and str(err).endswith(("not bytes", "not bytearray"))
        assert_clean(err, ["Redis-pw-2291"])
    client = ccpandas.Client(token=lambda: _WRONG["token"].encode(), base_url=emu.base_url)
    errors.append(catch(lambda: ccpandas.read_contact_lists(client)))
    assert isinstance(errors[-1], AuthError) and "returned bytes" in str(errors[-1])
    assert sum(emu.account.request_counts.values()) == 0  # nothing was sent
    for err in errors:
        assert_clean(err, [emu.token])
