"""Misused arguments: a clear TypeError/ValueError before any request is sent and before
any journal row is written, at every entry point."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import ccpandas
from ccpandas import Source
from ccpandas.api import remove_list_memberships, resume, run_plan, runs

# (keyword, bad value, error type, words the message must hold)
BAD_OPTIONS = [
    ("timeout", "30", TypeError, "timeout must be None or seconds"),
    ("timeout", True, TypeError, "not True (bool)"),
    ("timeout", -1, ValueError, "seconds >= 0, not -1"),
    ("timeout", float("nan"), ValueError, "not nan"),
    ("dry_run", "no", TypeError, "dry_run must be True or False"),
    ("dry_run", 0, TypeError, "dry_run must be True or False, not 0 (int)"),
    ("wait", None, TypeError, "wait must be True or False"),
    ("wait_for_quota", "yes", TypeError, "wait_for_quota must be True or False"),
    ("progress", "bars", ValueError, "progress must be 'auto', 'tqdm'"),
    ("progress", 3, TypeError, "not 3 (int)"),
]


@pytest.fixture
def setup(fast_account, tmp_path, monkeypatch):
    monkeypatch.setenv("CCPANDAS_DATA_DIR", str(tmp_path / "data"))  # a journal of its own
    emu, client, _ = fast_account(seed=61, contacts=600)
    df = pd.DataFrame({"contact_id": emu.account.contact_ids()})
    # The target given by name: resolving it would be a request (GET /contact_lists).
    first = emu.account.list_ids()[0]
    return emu, client, df, emu.account.lists[first].name


def nothing_happened(emu) -> None:
    assert emu.account.count() == 0, [(r.method, r.route) for r in emu.account.request_log]
    assert runs().empty  # no journal row


@pytest.mark.parametrize(("key", "value", "kind", "words"), BAD_OPTIONS)
def test_bad_run_options_are_refused_at_every_entry_point(setup, key, value, kind, words):
    emu, client, df, target = setup
    calls = [
        lambda: df.cc.remove_from_lists([target], client=client, **{key: value}),
        lambda: ccpandas.remove_from_lists(df, [target], client=client, **{key: value}),
        lambda: remove_list_memberships(
            client, [target], source=Source.contact_ids(df["contact_id"]), **{key: value}
        ),
        lambda: df.cc.keep_in_lists([target], client=client, **{key: value}),
    ]
    for call in calls:
        with pytest.raises(kind, match=re.escape(words)):
            call()
    nothing_happened(emu)


@pytest.mark.parametrize(
    ("key", "value", "kind", "words"), [b for b in BAD_OPTIONS if b[0] != "dry_run"]
)
def test_bad_options_to_resume_are_refused_before_anything(setup, key, value, kind, words):
    emu, client, _, _ = setup
    with pytest.raises(kind, match=re.escape(words)):
        resume("20250101-000000-abcdef", client=client, **{key: value})
    nothing_happened(emu)


@pytest.mark.parametrize("bad", ["token-string", 42, object(), {"base_url": "x"}])
def test_a_client_that_is_not_a_client_is_a_type_error(setup, bad):
    emu, _, df, target = setup
    for call in (
        lambda: df.cc.remove_from_lists([target], client=bad),
        lambda: df.cc.keep_in_lists([target], client=bad),
        lambda: remove_list_memberships(bad, [target], source=Source.tag_ids(["x"])),
        lambda: resume("20250101-000000-abcdef", client=bad),
        lambda: ccpandas.run_result("20250101-000000-abcdef", client=bad),
    ):
        with pytest.raises(TypeError, match=r"client must be a ccpandas\.Client"):
            call()
    nothing_happened(emu)


@pytest.mark.parametrize("bad", [["8b54d1f4-5b0e-11ee-8c99-0242ac120002"], "tag", None, 7])
def test_a_source_that_is_not_a_source_is_a_type_error(setup, bad):
    emu, client, df, target = setup
    with pytest.raises(TypeError, match=r"source must be a ccpandas\.Source"):
        remove_list_memberships(client, [target], source=bad)
    with pytest.raises(TypeError, match=r"source must be a ccpandas\.Source"):
        df.cc.keep_in_lists([target], client=client, source=bad or "x")
    nothing_happened(emu)


@pytest.mark.parametrize("flag", [{"confirm_empty": "yes"}, {"journal": "no"}])
def test_a_bad_source_is_named_before_a_bad_flag(setup, flag):
    # the order every release had: the client, then the source, then the flags
    emu, client, df, target = setup
    with pytest.raises(TypeError, match=r"source must be a ccpandas\.Source"):
        remove_list_memberships(client, [target], source="x", **flag)
    with pytest.raises(TypeError, match=r"source must be a ccpandas\.Source"):
        df.cc.keep_in_lists([target], client=client, source="x", **flag)
    nothing_happened(emu)


def test_run_plan_refuses_bad_options_and_runners(setup):
    emu, client, df, _ = setup
    plan = df.cc.plan(emu.account.list_ids()[:1], snapshot=False)
    with pytest.raises(TypeError, match="timeout"):
        run_plan(plan, client, timeout="soon")
    with pytest.raises(TypeError, match="runner must be"):
        run_plan(plan, client, runner="fast")
    with pytest.raises(TypeError, match="unexpected run option"):
        run_plan(plan, client, wiat=False)
    nothing_happened(emu)


@pytest.mark.parametrize("bad", ["undo", "delete", None, "ADD"])
def test_a_plan_kind_that_is_not_remove_add_or_sync_is_refused_first(setup, bad):
    # kind="undo" was a KeyError after two requests; the others a bare "not a valid
    # RunKind" that did not say what is accepted.
    emu, client, df, target = setup
    with pytest.raises(ValueError, match=re.escape("kind must be 'remove', 'add' or 'sync'")):
        df.cc.plan([target], client=client, kind=bad)
    nothing_happened(emu)


@pytest.mark.parametrize("bad", ["20250101-000000-abcdef", None, 42])
def test_wait_on_something_that_is_not_a_result_says_what_to_pass(setup, bad):
    # ccpandas.wait(run_id) was an AttributeError ("'str' object has no attribute 'wait'").
    emu, _, _, _ = setup
    with pytest.raises(TypeError, match=re.escape("ccpandas.wait takes a run's result")):
        ccpandas.wait(bad)
    nothing_happened(emu)
