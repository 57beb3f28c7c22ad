"""Tokens that would break a header, exceptions of the HTTP stack, the request log and a
half-built client: none of them shows the token, anywhere.

"Anywhere": the error's str and repr, its notes, its ``__cause__``/``__context__``
chain, and ``traceback.TracebackException(capture_locals=True)`` (what Sentry or
``%xmode Verbose`` show). The errors are caught in helpers that hold no token
themselves, so a frame of this file never puts one there.

Every test talks HTTP to the emulator on 127.0.0.1; requests is never patched. Two
tests mount a transport adapter that spoils the header the client built (as a buggy
proxy adapter would), so the real ``http.client`` raises its real error.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import traceback
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import requests
from requests.adapters import HTTPAdapter

import ccpandas
from ccpandas.client.http import REQUEST_LOG, Client, bearer_token
from ccpandas.errors import AuthError, TransportError
from ccpandas.run.runner import Outcome, outcome_of

FAST = {"speed": 1e9, "rate": None, "daily_quota": None}


@pytest.fixture
def emu(cc_emulator_factory):
    return cc_emulator_factory(seed=21, contacts=30, lists=1, **FAST)


def everything_shown(exc: BaseException) -> str:
    """All a notebook, a log or an error tracker could show of ``exc``: its text, notes,
    and every frame's locals in its chain, except the test's own (it holds the token);
    the adapters below count as part of the HTTP stack."""
    tb = traceback.TracebackException.from_exception(exc, capture_locals=True)
    chain = [tb]
    while chain[-1].__cause__ or chain[-1].__context__:
        chain.append(chain[-1].__cause__ or chain[-1].__context__)
    for part in chain:
        for frame in part.stack:
            if frame.filename == __file__ and frame.name not in ("send",):
                frame.locals = None
    notes = "".join(getattr(exc, "__notes__", []))
    return "".join(tb.format()) + str(exc) + repr(exc) + notes


def caught(action: Any) -> BaseException:
    """What ``action()`` raised (this frame holds no token, only the action)."""
    try:
        action()
    except BaseException as exc:  # KeyboardInterrupt too
        return exc
    raise AssertionError("nothing was raised")


# --------------------------------------------------------------------------- tokens


@pytest.mark.parametrize("pasted", ["{}\n", "{}\r\n", "\t{}\n", "\n{} "])
def test_a_token_pasted_with_surrounding_whitespace_works(emu, pasted, monkeypatch):
    token = pasted.format(emu.token)
    for client in (
        Client(token=token, base_url=emu.base_url, rate=None),
        Client(token=lambda: token, base_url=emu.base_url, rate=None),
    ):
        assert client.get("/contact_lists")["lists"]
    monkeypatch.setenv("CC_ACCESS_TOKEN", token)
    assert Client(base_url=emu.base_url, rate=None).get("/contact_lists")["lists"]


BROKEN = {
    "CRLF inside": ("{}\r\nX-Evil: 1", "a line break"),
    "LF inside": ("abc\n{}", "a line break"),
    "BEL": ("{}\x07", "a control character"),
    "not latin-1": ("{}\u20ac", "a character outside ASCII"),
    "latin-1, not ASCII": ("\u00e9{}", "a character outside ASCII"),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_a_token_no_header_can_carry_is_refused_before_sending(emu, name, monkeypatch):
    shape, kind = BROKEN[name]
    token = shape.format(emu.token)

    # a string: refused by the constructor
    error = caught(lambda: Client(token=token, base_url=emu.base_url))
    # a callable, or the environment variable: refused at the first request
    by_callable = Client(token=lambda: token, base_url=emu.base_url, rate=None)
    monkeypatch.setenv("CC_ACCESS_TOKEN", token)
    by_env = Client(base_url=emu.base_url, rate=None)
    errors = [error, caught(lambda: by_callable.get("/contact_lists"))]
    errors.append(caught(lambda: by_env.get("/contact_lists")))

    for error in errors:
        assert isinstance(error, AuthError) and error.error_key == "malformed_token"
        assert kind in str(error) and "nothing was sent" in str(error)
        assert outcome_of(error) is Outcome.NOT_SENT
        shown = everything_shown(error)
        assert emu.token not in shown and token not in shown
    assert "token function" in str(errors[1]) and "CC_ACCESS_TOKEN" in str(errors[2])
    assert emu.account.count() == 0  # nothing reached the server


def test_a_run_with_a_broken_token_is_not_sent_never_uncertain(emu):
    token = emu.token + "\r\n"
    broken = token + "x"  # a line break inside: a copy-paste of two lines
    client = Client(token=lambda: broken, base_url=emu.base_url, rate=None)
    frame = pd.DataFrame({"contact_id": emu.account.contact_ids()})
    target = emu.account.list_ids()[:1]
    runs_before = len(ccpandas.runs())

    error = caught(
        lambda: frame.cc.remove_from_lists(target, client=client, snapshot=False, progress=False)
    )

    assert isinstance(error, AuthError), everything_shown(error)
    assert emu.token not in everything_shown(error)
    assert emu.account.count() == 0
    # The target lists are checked first (one listing): the token is refused there,
    # before a run exists, so no run is on record as uncertain (or at all).
    assert getattr(error, "result", None) is None
    assert len(ccpandas.runs()) == runs_before


def test_bearer_token_strips_and_names_the_problem_without_the_token():
    assert bearer_token(" abc.def-1_2~3+4/5=\r\n").reveal() == "abc.def-1_2~3+4/5="
    for bad in ("", " \n ", "ab\ncd"):
        error = caught(lambda bad=bad: bearer_token(bad))
        assert isinstance(error, AuthError) and error.error_key == "malformed_token"
        assert "cd" not in str(error)


# --------------------------------------------------------------------------- the HTTP stack


class SpoilingAdapter(HTTPAdapter):
    """Appends ``suffix`` to the Authorization header the client built, then sends as
    usual: http.client itself then refuses the header (its error quotes it)."""

    def __init__(self, suffix: str) -> None:
        super().__init__()
        self.suffix = suffix

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        request.headers["Authorization"] += self.suffix
        return super().send(request, **kwargs)


class InterruptingAdapter(HTTPAdapter):
    """A KeyboardInterrupt while the prepared request (token in clear) is a local."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        header = request.headers["Authorization"]  # a local of this frame, in clear
        raise KeyboardInterrupt(f"stopped with {len(header)} characters of header")


def spoiled_client(emu, adapter: HTTPAdapter) -> Client:
    session = requests.Session()
    session.mount("http://", adapter)
    return Client(token=emu.token, base_url=emu.base_url, rate=None, session=session)


@pytest.mark.parametrize(
    "suffix, raised",
    [("\n", "ValueError"), ("\r\nX-Evil: 1", "ValueError"), ("\u20ac", "UnicodeEncodeError")],
)
def test_every_exception_of_the_http_stack_is_mapped_and_masked(emu, suffix, raised):
    client = spoiled_client(emu, SpoilingAdapter(suffix))

    error = caught(lambda: client.get("/contact_lists"))

    assert isinstance(error, TransportError), repr(error)
    assert raised in str(error) and "before sending" in str(error)
    assert error.sent is False and outcome_of(error) is Outcome.NOT_SENT
    assert error.__cause__ is None and error.__context__ is None
    assert emu.token not in everything_shown(error)
    assert client.stats.transport_errors == 1 and client.stats.retries == 0  # fatal
    assert emu.account.count() == 0


def test_an_interrupt_inside_the_http_stack_leaves_no_token_in_its_frames(emu):
    client = spoiled_client(emu, InterruptingAdapter())

    error = caught(lambda: client.get("/contact_lists"))

    assert isinstance(error, KeyboardInterrupt)
    assert emu.token not in everything_shown(error)


# --------------------------------------------------------------------------- the request log


def test_the_request_log_shows_headers_with_the_token_masked(emu, caplog):
    client = Client(token=emu.token, base_url=emu.base_url, rate=None, max_attempts=1)
    caplog.set_level(logging.DEBUG)  # the root: not enough, the request log is asked by name
    client.get("/contact_lists", limit=2)
    assert not [r for r in caplog.records if r.name == REQUEST_LOG]

    caplog.set_level(logging.DEBUG, logger=REQUEST_LOG)
    client.get("/contact_lists", limit=2)
    base_url = emu.base_url
    emu.stop()  # no answer: logged too
    caught(lambda: client.get("/contact_lists"))

    lines = [r.getMessage() for r in caplog.records if r.name == REQUEST_LOG]
    assert len(lines) == 2
    answered, refused = lines
    assert answered.startswith(f"GET {base_url}/contact_lists?limit=2 -> 200 in ")
    assert "> Authorization: Bearer ********" in answered
    assert "< Content-Type: application/json" in answered
    assert refused.startswith(f"GET {base_url}/contact_lists -> no answer (")
    assert "> Authorization: Bearer ********" in refused
    assert emu.token not in caplog.text


# --------------------------------------------------------------------------- a half-built client


def test_a_half_built_client_has_a_repr(emu):
    # The constructor fails after the token provider, before the limiter: the frame's
    # ``self`` is a Client without half its attributes, and a traceback with locals
    # calls repr on it.
    error = caught(lambda: Client(token=emu.token, base_url=emu.base_url, timeout=-1))
    assert isinstance(error, ValueError)
    shown = everything_shown(error)
    assert "Client(base_url=" in shown and emu.token not in shown


def test_a_limiter_that_refused_its_rate_has_a_repr(emu):
    # The limiter's constructor refuses the rate before setting anything: a traceback
    # with its frames' locals called repr on it, which raised AttributeError instead.
    error = caught(lambda: Client(token=emu.token, base_url=emu.base_url, rate=-1))
    assert isinstance(error, ValueError) and "rate must be a positive number" in str(error)
    shown = everything_shown(error)
    assert "SharedRateLimiter(rate=0, margin=0, state='local')" in shown
    assert emu.token not in shown


# --------------------------------------------------------------------------- file modes


@pytest.fixture
def open_folder(tmp_path, monkeypatch):
    """A data directory that already exists with 0755, under the usual umask 022."""
    folder = tmp_path / "data"
    folder.mkdir(mode=0o755)
    folder.chmod(0o755)
    monkeypatch.setenv("CCPANDAS_DATA_DIR", str(folder))
    old = os.umask(0o022)
    yield folder
    os.umask(old)


def modes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): oct(stat.S_IMODE(p.stat().st_mode))
        for p in folder.rglob("*")
        if p.is_file()
    }


def test_journal_and_quota_files_are_private_in_an_open_folder(emu, open_folder):
    client = Client(token=emu.token, base_url=emu.base_url, rate=20)
    frame = pd.DataFrame({"contact_id": emu.account.contact_ids()})
    result = frame.cc.remove_from_lists(emu.account.list_ids()[:1], client=client, progress=False)
    assert result.ok

    found = modes(open_folder)
    assert {"journal.sqlite3", "quota.sqlite3"} <= set(found)
    assert any(name.endswith("-wal") for name in found)  # SQLite's side files too
    assert found == {name: "0o600" for name in found}


def test_files_an_older_version_left_readable_are_made_private(emu, open_folder):
    for name in ("journal.sqlite3", "quota.sqlite3"):
        sqlite3.connect(open_folder / name).close()  # made under umask 022: 0644
        (open_folder / name).chmod(0o644)
    client = Client(token=emu.token, base_url=emu.base_url, rate=20)
    assert ccpandas.runs().empty
    client.get("/contact_lists")

    found = modes(open_folder)
    assert {"journal.sqlite3", "quota.sqlite3"} <= set(found)
    assert found == {name: "0o600" for name in found}


@pytest.mark.parametrize("given", ["eyJhbGciOiJSUzI1NiJ9.SECRETPAYLOAD.sig", b"SECRETPAYLOAD"])
def test_a_token_passed_as_the_client_is_not_quoted_in_the_error(given):
    frame = pd.DataFrame({"contact_id": ["8b54d1f4-5b0e-11ee-8c99-0242ac120002"]})
    with pytest.raises(TypeError) as caught:
        ccpandas.remove_from_lists(frame, ["Newsletter"], client=given, progress=False)
    shown = "".join(traceback.format_exception(caught.value))
    assert "SECRETPAYLOAD" not in shown
    assert "client must be a ccpandas.Client" in str(caught.value)
    assert f"{len(given)} characters" in str(caught.value)


@pytest.mark.parametrize(
    "given", [("my-app", "SECRETPAYLOAD-a1b2c3"), {"access_token": "SECRETPAYLOAD-a1b2c3"}]
)
def test_a_tuple_or_dict_holding_a_token_passed_as_the_client_is_not_quoted(given):
    # Only a string was kept out of the message: a (client id, token) pair or a dict of
    # saved credentials was quoted, token included.
    frame = pd.DataFrame({"contact_id": ["8b54d1f4-5b0e-11ee-8c99-0242ac120002"]})
    with pytest.raises(TypeError) as caught:
        ccpandas.remove_from_lists(frame, ["Newsletter"], client=given, progress=False)
    assert "SECRETPAYLOAD" not in "".join(traceback.format_exception(caught.value))
    assert f"not a {type(given).__name__}" in str(caught.value)


def test_a_token_given_as_the_base_url_is_not_quoted(emu):
    # Client(base_url, token), the first two arguments swapped: the token (a JWT, as
    # Constant Contact's are) was quoted whole in "base_url must look like ..., not '...'".
    token = emu.oauth.grant("my-app")["access_token"]
    error = caught(lambda: Client(emu.base_url, token))
    assert isinstance(error, ccpandas.ConfigError)
    assert "base_url must look like https://host/v3" in str(error)
    assert f"{len(token)} characters" in str(error)
    assert token[:20] not in "".join(traceback.format_exception(error))
    assert caught(lambda: Client(token, "api.cc.email/v3")).args == (
        "base_url must look like https://host/v3, not 'api.cc.email/v3'",  # a URL: quoted
    )


@pytest.mark.parametrize("given", ["SECRETPAYLOAD-a1b2c3", ("my-app", "SECRETPAYLOAD-a1b2c3")])
def test_readers_and_plans_refuse_a_wrong_client_alike_before_any_request(emu, given):
    frame = pd.DataFrame({"contact_id": emu.account.contact_ids()[:1]})
    before = emu.account.request_counts.total()
    errors = [
        caught(lambda: ccpandas.read_contact_lists(client=given)),
        caught(lambda: ccpandas.read_contacts(client=given, lists=["Newsletter"])),
        caught(lambda: ccpandas.remove_from_lists(frame, ["Newsletter"], client=given)),
    ]
    assert all(isinstance(error, TypeError) for error in errors)
    assert len({str(error) for error in errors}) == 1, errors
    assert "SECRETPAYLOAD" not in str(errors[0])
    assert emu.account.request_counts.total() == before
