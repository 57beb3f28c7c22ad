"""Redis URLs whose password holds ``/``, ``#``, ``?`` or ``@`` (``openssl rand -base64``
makes ``/``): it works as written, and shows nowhere, neither in reprs, logs, errors
(their chain and their frames' locals) nor on the command line's stderr. A URL redis-py
cannot read is a ConfigError at configure time, or, when only redis-py's client refuses
it, degrades like a Redis that does not answer: it never crashes a request.

Real ``redis-server`` processes (the fixtures of conftest.py) and the emulator.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import traceback
from pathlib import Path
from typing import Any

import pytest
from team_support import child_env

import ccpandas
from ccpandas.client.shared import SharedState, resolve
from ccpandas.errors import ConfigError, TransportError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "auth"))
from test_error_graph import catch, walk  # the walk of tests/auth

PASSWORDS = {
    "slash": "kQ9/vX2+Lm8=",
    "hash": "kQ9#vX2Lm8",
    "question mark": "kQ9?vX2Lm8",
    "all of them": "kQ9/vX#2?Lm@8+=",
}


def shown(exc: BaseException) -> str:
    """What a notebook or an error tracker shows of ``exc``: text, chain, and the locals
    of every frame but the test's own (it holds the password)."""
    tb = traceback.TracebackException.from_exception(exc, capture_locals=True)
    part: Any = tb
    while part is not None:
        for frame in part.stack:
            if frame.filename == __file__:
                frame.locals = None
        part = part.__cause__ or part.__context__
    return "".join(tb.format()) + repr(exc)


def caught(action: Any) -> BaseException:
    try:
        action()
    except Exception as exc:
        return exc
    raise AssertionError("nothing was raised")


def pieces(password: str) -> list[str]:
    """The password and the parts of it a parser could cut at / # ? @."""
    cuts = password
    for char in "/#?@":
        cuts = cuts.replace(char, " ")
    return [password, *(p for p in cuts.split() if len(p) >= 3)]


@pytest.mark.parametrize("name", list(PASSWORDS))
def test_a_password_as_written_works_and_never_shows(emulator, redis_server, name, caplog):
    password = PASSWORDS[name]
    server = redis_server(password=password)
    emu = emulator(seed=70, contacts=20, lists=1, rate=None)
    caplog.set_level(logging.DEBUG)
    client = ccpandas.Client(
        token=emu.token, base_url=emu.base_url, rate=20, shared_state=server.url
    )

    assert len(ccpandas.read_contact_lists(client)) == 1

    state = client.shared_state
    assert state.kind == "redis" and not state.degraded  # the password was accepted
    assert client.stats.day_counter.usage().used >= 1  # counted in Redis
    texts = [repr(client), repr(client.limiter), repr(state), repr(state.redis_state)]
    texts += [caplog.text, state.where]
    assert all(piece not in text for text in texts for piece in pieces(password))
    assert repr(state) == f"SharedState('redis://:********@127.0.0.1:{server.port}/0')"


@pytest.mark.parametrize(
    "tail, why",
    [("127.0.0.1:63x9/0", "Port"), ("127.0.0.1:6379/0?socket_timeout=soon", "socket_timeout")],
)
def test_a_url_redis_py_cannot_read_is_a_config_error_at_configure(tail, why):
    pytest.importorskip("redis")
    password = PASSWORDS["all of them"]
    url = f"redis://:{password}@{tail}"

    for action in (
        lambda: ccpandas.configure(shared_state=url),
        lambda: ccpandas.Client(token="t", base_url="http://127.0.0.1:9/v3", shared_state=url),
        lambda: SharedState.redis(url),
    ):
        error = caught(action)
        assert isinstance(error, ConfigError), repr(error)
        assert why in str(error) and "redis://:********@127.0.0.1" in str(error)
        assert all(piece not in shown(error) for piece in pieces(password))


def test_a_url_only_redis_py_client_refuses_degrades_never_crashes(emulator, caplog):
    pytest.importorskip("redis")
    # redis-py reads this URL, then its client raises a bare ValueError at first use
    password = PASSWORDS["slash"]
    url = f"redis://:{password}@127.0.0.1:1/0?max_connections=-1"
    emu = emulator(seed=71, contacts=20, lists=1, rate=None)
    client = ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=20, shared_state=url)

    assert len(ccpandas.read_contact_lists(client)) == 1  # no crash: the local fallback

    assert client.shared_state.degraded
    assert "cannot be reached (ValueError" in caplog.text
    assert all(piece not in caplog.text for piece in pieces(password))
    assert "?max_connections" not in repr(client.shared_state)  # no query shown


@pytest.mark.parametrize("name", ["hash", "question mark"])
def test_the_command_line_never_shows_the_password(emulator, tmp_path, name):
    password = PASSWORDS[name]
    emu = emulator(seed=72, contacts=20, lists=1, rate=None)
    env = child_env(emu, tmp_path / "data", shared_state=f"redis://:{password}@127.0.0.1:63x9/0")
    ran = subprocess.run(
        [sys.executable, "-m", "ccpandas", "lists"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert ran.returncode != 0
    assert "redis://:********@127.0.0.1:63x9/0" in ran.stderr
    assert all(piece not in ran.stderr + ran.stdout for piece in pieces(password))


def test_resolve_keeps_one_state_per_url_whatever_its_password(redis_server):
    password = PASSWORDS["all of them"]
    server = redis_server(password=password)
    assert resolve(server.url) is resolve(server.url)
    state = resolve(server.url)
    assert state.reserve("k", 0.25) == 0.0 and not state.degraded


def test_an_error_of_a_client_in_team_mode_keeps_no_redis_password(emulator, redis_server):
    # redis-py's pool kept the password in its connection keywords, reachable from any
    # error whose frames held the client (here a connection the API dropped).
    password = PASSWORDS["all of them"]
    server = redis_server(password=password)
    emu = emulator(seed=72, contacts=20, lists=1, rate=None, drop_rate=1.0)
    client = ccpandas.Client(
        token=emu.token, base_url=emu.base_url, rate=20, shared_state=server.url, max_attempts=1
    )
    err = catch(lambda: ccpandas.read_contact_lists(client))
    assert isinstance(err, TransportError)
    assert client.shared_state.kind == "redis" and not client.shared_state.degraded
    assert walk(err, [password]) == []


@pytest.mark.parametrize("userinfo", ["bob@", "bob:@"])
def test_a_user_with_no_password_logs_in(emulator, redis_server, userinfo):
    # An ACL user made "nopass": redis-py sends its AUTH with an empty password; a None
    # there was refused by redis-py itself, and team mode fell back to this machine's
    # limiter with a warning (review).
    import redis

    server = redis_server()
    admin = redis.Redis(port=server.port)
    admin.acl_setuser("bob", enabled=True, nopass=True, commands=["+@all"], keys=["*"])
    admin.close()
    emu = emulator(seed=71, contacts=20, lists=1, rate=None)
    url = f"redis://{userinfo}127.0.0.1:{server.port}/0"
    client = ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=20, shared_state=url)
    assert len(ccpandas.read_contact_lists(client)) == 1
    state = client.shared_state
    assert state.kind == "redis" and not state.degraded, state.where
    assert client.stats.day_counter.usage().used >= 1  # counted in Redis
