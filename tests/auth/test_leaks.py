"""No token anywhere: a full run of every authentication path, then a grep of everything
it produced for every secret the emulators issued.

Searched: every log record of the authentication tests at every level (requests' and
urllib3's own debug lines included; this module runs last among them), what the run
printed (stdout, stderr, progress bars), the str, repr and full traceback of every error
it raised, the reprs of results, clients, token providers, credentials and stores, the
login widget's state, the token store's neighbours (lock and temporary files), the run
journal's folder, and the outputs and saved widget state of the notebooks in
``notebooks/``, both as committed and as executed during the test run (each in a kernel
of its own, with its own data and config folders). Searched for: the exact access tokens,
refresh tokens, device codes and authorization codes issued, and, in notebooks run by
other processes, anything shaped like an emulator token or a credential.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import signal
import socket
import threading
import time
import traceback
import warnings
from pathlib import Path

import keyring
import pandas as pd
import pytest
from auth_support import (
    BROWSER_THREAD,
    CLIENT_ID,
    Secrets,
    User,
    capped_keyring,
    pkce_login,
    signed_in,
    spend_refresh_token,
)

import ccpandas
from ccpandas._secret import Secret
from ccpandas.auth.connect import connect, login, logout
from ccpandas.auth.tokenstore import Credentials, TokenStore
from ccpandas.cli.main import main
from ccpandas.errors import AuthError, CCError, ConfigError
from ccpandas.widgets.login import LoginWidget

ROOT = Path(__file__).resolve().parents[2]
#: The shapes of the emulator's secrets (tokens issued in other processes, e.g. notebooks).
TOKEN_SHAPE = re.compile(r"cc(?:emu|rt|dc|ac)_[0-9a-f]{32,}")


def trace(exc: BaseException) -> str:
    """Everything a notebook or a log could show of an error: str, repr, notes, causes."""
    return "".join(traceback.format_exception(exc)) + repr(exc) + str(exc)


def files_text(folder: Path, *, skip: set[Path] = frozenset()) -> dict[str, str]:  # type: ignore[assignment]
    out = {}
    if folder.exists():
        for path in folder.rglob("*"):
            if path.is_file() and path not in skip:
                out[str(path)] = path.read_bytes().decode("utf-8", "replace")
    return out


def notebook_texts() -> dict[str, str]:
    out = {}
    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        outputs = [cell.get("outputs", []) for cell in nb["cells"]]
        out[f"{path.name} outputs"] = json.dumps(outputs)
        out[f"{path.name} widget state"] = json.dumps(nb.get("metadata", {}).get("widgets", {}))
    return out


def hits(texts: dict[str, str], secrets: set[str]) -> list[str]:
    found = []
    for where, text in texts.items():
        for secret in secrets:
            if secret and secret in text:
                found.append(f"{where}: a secret of {len(secret)} characters ({secret[:6]}...)")
    return found


def test_no_token_leaks_anywhere(
    auth_emu, secrets_seen: Secrets, private_env: Path, capfd, monkeypatch
) -> None:
    texts: dict[str, str] = {}
    seen: list[str] = []

    def keep(*objects: object) -> None:
        for obj in objects:
            seen.extend([str(obj), repr(obj)])

    def expect_error(kind: type[BaseException], action) -> BaseException:
        with pytest.raises(kind) as info:
            action()
        seen.append(trace(info.value))
        return info.value

    emu = auth_emu(contacts=1200, lists=2, token_expires_after=3)
    store = TokenStore()

    # 1. Device login in a notebook-like widget, approved by a person on the page.
    widget = LoginWidget()
    person = User(emu, after_pending=1)

    def show(code):  # the widget shows the code while the person answers
        LoginWidget.show_device_code(widget, code)
        person.show_device_code(code)

    widget.show_device_code = show  # type: ignore[method-assign]
    client = signed_in(emu, widget, client_options={"rate": None})
    person.join()
    texts["login widget state"] = json.dumps([c.get_state() for c in widget.children])
    texts["login widget repr"] = repr(widget) + widget._repr_mimebundle_().__repr__()

    # 2. A removal that crosses several token expiries (401 -> refresh -> resend), with
    #    the text progress bar.
    list_id = emu.account.list_ids()[0]
    frame = pd.DataFrame({"contact_id": emu.account.contact_ids()})  # 3 batches
    result = frame.cc.remove_from_lists([list_id], client=client, progress="auto")
    assert result.ok and emu.account.count(status=401) >= 1
    keep(result, result.summary(), result.rows.to_string(), result.activities)
    keep(result._repr_html_())
    keep(client, client.stats.as_dict(), client._token_provider, client._token_provider.func)
    keep(store, store.load(CLIENT_ID), emu.oauth)
    client._token_provider.func.refresh(force=True)  # a proactive refresh

    # 3. PKCE login through the loopback redirect.
    emu.configure(auto_approve=True)
    pkce = pkce_login(emu, User(emu), client_options={"rate": None})
    keep(pkce, ccpandas.read_contact_lists(pkce))

    # 4. The environment source, refreshed and rotated.
    body = emu.oauth.grant("env-app")
    emu.revoke_token(body["access_token"])
    monkeypatch.setenv("CC_ACCESS_TOKEN", body["access_token"])
    monkeypatch.setenv("CC_REFRESH_TOKEN", body["refresh_token"])
    monkeypatch.setenv("CC_CLIENT_ID", "env-app")
    monkeypatch.setenv("CC_AUTH_URL", emu.auth_url)
    from_env = connect(base_url=emu.base_url, client_options={"rate": None})
    keep(ccpandas.read_contact_lists(from_env), from_env._token_provider.func)
    for name in ("CC_ACCESS_TOKEN", "CC_REFRESH_TOKEN", "CC_CLIENT_ID", "CC_AUTH_URL"):
        monkeypatch.delenv(name)

    # 5. Errors: a refused refresh, a missing scope, a refused access token, plain http.
    saved = store.load(CLIENT_ID)
    assert saved is not None and saved.refresh_token
    spend_refresh_token(emu, saved.refresh_token.reveal())  # someone else spends it
    stale = connect(CLIENT_ID, interactive=False, client_options={"rate": None})
    emu.revoke_token(saved.access_token.reveal())
    expect_error(AuthError, lambda: ccpandas.read_contact_lists(stale))
    narrow = emu.oauth.grant(CLIENT_ID, scopes=["account_read"])
    expect_error(
        CCError,
        lambda: ccpandas.read_contact_lists(
            ccpandas.Client(token=narrow["access_token"], base_url=emu.base_url, rate=None)
        ),
    )
    emu.revoke_token(narrow["access_token"])
    expect_error(
        CCError,
        lambda: ccpandas.read_contact_lists(
            ccpandas.Client(token=narrow["access_token"], base_url=emu.base_url, rate=None)
        ),
    )
    expect_error(
        ConfigError,
        lambda: ccpandas.Client(token=narrow["access_token"], base_url="http://example.com/v3"),
    )
    emu.configure(auto_approve=False)
    expect_error(
        AuthError,
        lambda: signed_in(emu, User(emu, decision="deny")),
    )

    # 6. Real-life tokens: a Windows-like keyring that refuses the save after a rotating
    #    refresh (the session warns and goes on), the keep-alive on the command line
    #    (done with a 150-day warning, store failed, refused).
    keep_alive(emu, keep, monkeypatch)

    # 7. Logout.
    assert logout(CLIENT_ID)
    expect_error(AuthError, lambda: ccpandas.read_contact_lists(client))

    out, err = capfd.readouterr()
    texts["stdout"], texts["stderr"] = out, err
    texts["reprs and errors"] = "\n".join(seen)
    with secrets_seen.lock:
        records = list(secrets_seen.texts)
    # The simulated person's browser (requests, in its own thread) logs the redirect URL
    # with the authorization code, as any browser history would: that is OAuth's design
    # for codes. Everything else must hold no code, and nothing at all may hold a token.
    browser = f"[{BROWSER_THREAD}]"
    texts["log records"] = "\n".join(r for r in records if not r.startswith(browser))
    browser_records = "\n".join(r for r in records if r.startswith(browser))
    tokens_dir = store.directory
    texts.update(
        files_text(private_env, skip=set(tokens_dir.glob("*.json")))
    )  # the store's neighbours: lock files, anything left behind
    texts.update(files_text(private_env.parent / "data"))  # journal and day counter
    texts.update(notebook_texts())

    issued = secrets_seen.issued()
    assert len(issued) >= 10  # access and refresh tokens, device and authorization codes
    assert texts["log records"].count("POST /oauth2/default/v1/token") >= 5  # we did listen
    assert "GET /callback?code=" in browser_records  # and the browser's lines were seen
    assert hits(texts, issued) == []
    tokens_only = {s for s in issued if not s.startswith("ccac_")}
    assert hits({"the browser's log records": browser_records}, tokens_only) == []
    shaped = [
        f"{where}: {m.group(0)[:6]}..."
        for where, text in texts.items()
        if where.endswith(("outputs", "widget state"))
        for m in TOKEN_SHAPE.finditer(text)
    ]
    assert shaped == []


def keep_alive(emu, keep, monkeypatch) -> None:
    """Step 6 of the leak test: the keyring, a failed save, ``ccpandas login --refresh``."""
    ring, old_ring = capped_keyring(), keyring.get_keyring()
    keyring.set_keyring(ring)
    monkeypatch.setenv("CCPANDAS_KEYRING", "1")
    try:
        body, now = emu.oauth.grant("ring-app"), time.time()
        TokenStore().save(
            Credentials(
                "ring-app",
                Secret(body["access_token"] + "." + "j" * 1150),  # a JWT's length
                Secret(body["refresh_token"]),
                expires_at=now - 1,
                obtained_at=now - 151 * 86400,
                auth_url=emu.auth_url,
                base_url=emu.base_url,
                origin="login-leaks",
            )
        )
        codes = [cli_refresh("ring-app", keep)]  # 0, with the 150-day warning
        ring.fail_writes = True
        codes.append(cli_refresh("ring-app", keep))  # 6
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            session = connect("ring-app", interactive=False, client_options={"rate": None})
            session._token_provider.func.refresh(force=True)  # rotated; not saved
            keep(ccpandas.read_contact_lists(session), session._token_provider.func)
        keep(*(w.message for w in caught))
        ring.fail_writes = False
        spent = TokenStore().load("ring-app")
        emu.oauth.revoke_refresh_token(spent.refresh_token.reveal())
        codes.append(cli_refresh("ring-app", keep))  # 5
        assert codes == [0, 6, 5] and len(caught) == 1
    finally:
        keyring.set_keyring(old_ring)


def cli_refresh(client_id: str, keep) -> int:
    out, err = io.StringIO(), io.StringIO()
    code = main(["login", "--refresh", "--client-id", client_id], stdout=out, stderr=err)
    keep(out.getvalue(), err.getvalue())
    return code


def test_the_store_file_itself_holds_the_tokens_and_nothing_else_does(
    auth_emu, private_env: Path
) -> None:
    """A control for the grep: the token is findable where it must be (the store)."""
    emu = auth_emu()
    login(CLIENT_ID, auth_url=emu.auth_url, base_url=emu.base_url, view=User(emu))
    store = TokenStore()
    saved = store.load(CLIENT_ID)
    assert saved is not None
    everything = files_text(private_env)
    holders = [where for where, text in everything.items() if saved.access_token.reveal() in text]
    assert holders == [str(store.path(CLIENT_ID))]


def test_an_unreachable_server_error_keeps_no_secret_anywhere_in_its_chain(
    auth_emu, private_env: Path
) -> None:
    emu = auth_emu()
    login(CLIENT_ID, auth_url=emu.auth_url, base_url=emu.base_url, view=User(emu))
    saved = TokenStore().load(CLIENT_ID)
    assert saved is not None and saved.refresh_token
    provider = connect(CLIENT_ID, interactive=False)._token_provider.func
    emu.stop()
    with pytest.raises(AuthError, match="no answer from the authorization server") as info:
        provider.refresh(force=True)
    chain, exc = [], info.value
    while exc is not None and len(chain) < 10:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    reachable = trace(info.value)
    for link in chain:  # what a debugger or a variable inspector could open
        request = getattr(link, "request", None)
        reachable += repr(getattr(request, "body", None)) + repr(getattr(request, "headers", None))
    assert saved.refresh_token.reveal() not in reachable
    assert saved.access_token.reveal() not in reachable


#: Anything that looks like a credential, whoever issued it.
CREDENTIAL_SHAPES = (
    TOKEN_SHAPE,
    re.compile(r"Bearer\s+[A-Za-z0-9._~+/=-]{16,}"),
    re.compile(r"(?:access|refresh)_token['\"]?\s*[:=]\s*['\"]?[A-Za-z0-9._~+/=-]{16,}"),
)
#: A last cell added to each notebook: writes the secrets its emulator issued to a file
#: (never to an output), so the grep knows them exactly.
DUMP_CELL = (
    "import json as _json, ccpandas.widgets.ipython as _ext\n"
    "_emu = _ext.current_emulator()\n"
    "_secrets = [_emu.token, *_emu.oauth.issued_secrets()] if _emu else []\n"
    "with open({path!r}, 'w') as _f:\n"
    "    _json.dump(_secrets, _f)"
)


def test_notebooks_executed_now_show_no_token(tmp_path: Path, kernel_manager_class: type) -> None:
    """The notebooks in ``notebooks/`` executed now (not their committed outputs), widget
    state saved as the docs build saves it: no output, no widget state and nothing the
    kernels wrote holds a secret their emulators issued, or anything shaped like one."""
    import asyncio

    import nbformat
    from nbclient import NotebookClient

    from ccpandas.emulator.tokens import default_token

    paths = sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    assert len(paths) == 4
    # A control, run alongside: a notebook that does put its token in a widget's state.
    control = tmp_path / "control.ipynb"
    nbformat.write(
        nbformat.v4.new_notebook(
            cells=[
                nbformat.v4.new_code_cell("%load_ext ccpandas"),
                nbformat.v4.new_code_cell("%cc_emulator --contacts 10 --seed 4"),
                nbformat.v4.new_code_cell(
                    "import ipywidgets, ccpandas.widgets.ipython\n"
                    "ipywidgets.HTML(ccpandas.widgets.ipython.current_emulator().token)"
                ),
            ],
            metadata={"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        ),
        control,
    )
    data, config = tmp_path / "kernel-data", tmp_path / "kernel-config"
    env = {**os.environ, "CCPANDAS_DATA_DIR": str(data), "CCPANDAS_CONFIG_DIR": str(config)}
    for name in ("CC_ACCESS_TOKEN", "CC_REFRESH_TOKEN", "CC_CLIENT_ID", "CC_CLIENT_SECRET"):
        env.pop(name, None)
    runs = []
    for path in [*paths, control]:
        nb = nbformat.read(path, as_version=4)
        dump = tmp_path / f"{path.stem}.secrets.json"
        nb.cells.append(nbformat.v4.new_code_cell(DUMP_CELL.format(path=str(dump))))
        client = NotebookClient(
            nb,
            # Guards against a hang, not timings: five kernels start at once, and under
            # eight test workers one took more than nbclient's default 60 s to answer.
            timeout=600,
            startup_timeout=600,
            kernel_name="python3",
            kernel_manager_class=kernel_manager_class,  # Unix sockets: see conftest.py
            resources={"metadata": {"path": str(tmp_path)}},
            store_widget_state=True,
            record_timing=False,
        )
        runs.append((path, nb, client, dump))

    async def execute_all() -> None:  # the kernels run side by side: well under a minute
        await asyncio.gather(*(client.async_execute(env=env) for _, _, client, _ in runs))

    asyncio.run(execute_all())

    texts: dict[str, str] = {}
    issued: set[str] = set()
    controls: dict[str, str] = {}
    for path, nb, _, dump in runs:
        nbformat.write(nb, tmp_path / path.name)  # what a saved notebook would hold
        dumped = json.loads(dump.read_text())
        assert dumped, f"{path.name}: no emulator in the kernel"
        issued.update(dumped)
        if path == control:
            controls = {"control widget state": json.dumps(nb.metadata.get("widgets", {}))}
            continue
        outputs = [cell.get("outputs", []) for cell in nb.cells]
        assert any(outputs), f"{path.name} produced no output"
        texts[f"{path.name} outputs"] = json.dumps(outputs)
        widgets = nb.metadata.get("widgets", {})
        assert widgets, f"{path.name} saved no widget state"
        texts[f"{path.name} widget state"] = json.dumps(widgets)
    for seed in range(10):  # the static tokens of %cc_emulator --seed 0..9
        issued.add(default_token(seed))
    texts.update(files_text(data))  # journals and day counters the kernels wrote
    texts.update(files_text(config))

    assert len(issued) >= 4  # each kernel's emulator token at least: we know the secrets
    assert len(hits(controls, issued)) == 1  # the grep sees into saved widget state
    assert hits(texts, issued) == []
    shaped = [
        f"{where}: {m.group(0)[:10]}..."
        for where, text in texts.items()
        for shape in CREDENTIAL_SHAPES
        for m in shape.finditer(text)
    ]
    assert shaped == []


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs pthread_kill")
def test_a_ctrl_c_during_a_token_request_leaves_no_secret_in_its_frames() -> None:
    # Ctrl-C while the authorization server holds its answer: the frames of the
    # traceback (requests' data, urllib3's body and headers) held the refresh token and
    # the client secret, for %xmode Verbose or an error reporter to show.
    from ccpandas.auth.flows import OAuthSession

    main_thread, done = threading.main_thread().ident, threading.Event()
    assert main_thread is not None
    server = socket.create_server(("127.0.0.1", 0))

    def hold_the_answer() -> None:
        conn, _ = server.accept()
        with conn:
            conn.recv(65536)  # the token request is out: Ctrl-C now
            signal.pthread_kill(main_thread, signal.SIGINT)
            done.wait(30)

    threading.Thread(target=hold_the_answer, daemon=True).start()
    url = f"http://127.0.0.1:{server.getsockname()[1]}"
    session = OAuthSession("app", auth_url=url, client_secret="CLIENT-SECRET-1234567")
    try:
        with pytest.raises(KeyboardInterrupt) as info:
            session.refresh(Secret("REFRESH-TOKEN-1234567"))
    finally:
        done.set()
        server.close()
    basic = base64.b64encode(b"app:CLIENT-SECRET-1234567").decode()
    secrets = {"REFRESH-TOKEN-1234567", "CLIENT-SECRET-1234567", basic}
    frames, tb = {}, info.value.__traceback__.tb_next  # below this test's own frame
    while tb is not None:
        code = tb.tb_frame.f_code.co_name
        for name, value in list(tb.tb_frame.f_locals.items()):
            frames[f"{code}: {name}"] = repr(value)
        tb = tb.tb_next
    assert frames and hits(frames, secrets) == []
