"""Widgets on their own, without a kernel or a server: values, observe, drawing."""

from __future__ import annotations

import html
import re
import subprocess
import sys
import types
import uuid

import pandas as pd
import pytest
import traitlets

from ccpandas.models import SourceKind
from ccpandas.plan.planner import plan_removal
from ccpandas.report.progress import ActivityProgress, Snapshot
from ccpandas.widgets import (
    ListPicker,
    PlanPreview,
    SnapshotBuffer,
    SourceChoice,
    SourcePicker,
    StatusDisplay,
    TagPicker,
)
from ccpandas.widgets.status import headline


def uid(n: int) -> str:
    return str(uuid.UUID(int=n, version=4))


def text(markup: str) -> str:
    """The visible text of widget HTML."""
    markup = re.sub(r"<style>.*?</style>", "", markup, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", markup))).strip()


@pytest.fixture
def lists() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "list_id": [uid(i) for i in range(1, 61)],
            "name": [f"List {i:02d}" for i in range(1, 61)],
            "membership_count": range(1, 61),
        }
    )


# -- ListPicker ------------------------------------------------------------------------
def test_list_picker_value_is_an_observable_trait(lists: pd.DataFrame) -> None:
    picker = ListPicker(lists)
    seen = []
    picker.observe(lambda change: seen.append(change["new"]), "value")
    picker.value = ["List 02", uid(1)]  # names or ids, any order
    assert picker.value == (uid(1), uid(2))
    assert seen == [(uid(1), uid(2))]
    # a click in the select widget goes through the same trait
    picker.select.value = (*picker.select.value, uid(3))
    assert seen[-1] == (uid(1), uid(2), uid(3))
    assert "3 of 60 lists selected" in text(picker.count.value)


def test_list_picker_labels_show_member_counts(lists: pd.DataFrame) -> None:
    picker = ListPicker(lists)
    assert picker.select.options[0] == ("List 01 (1 members)", uid(1))


def test_list_picker_filter_keeps_the_selection_visible(lists: pd.DataFrame) -> None:
    picker = ListPicker(lists)
    picker.value = ["List 01"]
    picker.filter.value = "list 5"  # case-insensitive
    shown = [v for _label, v in picker.select.options]
    assert shown[0] == uid(1)  # selected, so still shown
    assert len(shown) == 1 + 10  # List 50..59 and the selected one
    picker.select.value = (uid(1), uid(55))
    picker.filter.value = ""
    assert picker.value == (uid(1), uid(55))


def test_list_picker_explains_the_50_per_request_guard(lists: pd.DataFrame) -> None:
    picker = ListPicker(lists)
    picker.value = [uid(i) for i in range(1, 51)]
    assert "the most one request takes" in text(picker.count.value)
    picker.value = [uid(i) for i in range(1, 61)]
    message = text(picker.count.value)
    assert "60 lists is more than the 50 one request takes" in message
    assert "split into 2 groups of at most 50" in message


def test_list_picker_hard_stop(lists: pd.DataFrame) -> None:
    picker = ListPicker(lists, max_selected=3)
    picker.select.value = tuple(uid(i) for i in range(1, 6))
    assert picker.value == (uid(1), uid(2), uid(3))
    assert "Stopped at 3" in text(picker.count.value)
    with pytest.raises(traitlets.TraitError, match="at most 3 lists"):
        picker.value = [uid(i) for i in range(1, 5)]


def test_list_picker_refuses_unknown_and_ambiguous_names(lists: pd.DataFrame) -> None:
    twice = pd.concat([lists, lists.head(1).assign(list_id=uid(99))], ignore_index=True)
    picker = ListPicker(twice)
    with pytest.raises(traitlets.TraitError, match="no list has the id or exact name 'Nope'"):
        picker.value = ["Nope"]
    with pytest.raises(traitlets.TraitError, match="2 lists are named 'List 01'"):
        picker.value = ["List 01"]
    picker.clear_button.click()
    assert picker.value == ()


def test_tag_picker_counts_contacts() -> None:
    tags = pd.DataFrame({"tag_id": [uid(7)], "name": ["VIP"], "contacts_count": [12]})
    picker = TagPicker(tags)
    assert picker.select.options[0] == ("VIP (12 contacts)", uid(7))
    picker.value = ["VIP"]
    assert picker.value == (uid(7),)


# -- SourcePicker ----------------------------------------------------------------------
@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({"email": ["a@x", "b@x"], "cid": [uid(500), uid(501)]})


def test_source_picker_defaults_to_the_dataframe(frame: pd.DataFrame, lists: pd.DataFrame) -> None:
    picker = SourcePicker(frame, column="contact_id", lists=lists)
    # no contact_id column: the one that looks like an id is picked
    assert picker.value == SourceChoice(SourceKind.CONTACT_IDS, column="email")
    picker = SourcePicker(frame, column="cid", lists=lists)
    assert picker.value == SourceChoice(SourceKind.CONTACT_IDS, column="cid")
    assert [label for label, _ in picker.kind.options] == [
        "contacts in this DataFrame",
        "members of lists",
        "all active contacts",
        "contacts with tags",
        "engagement level",
    ]


def test_source_picker_each_kind(frame: pd.DataFrame, lists: pd.DataFrame) -> None:
    tags = pd.DataFrame({"tag_id": [uid(7)], "name": ["VIP"], "contacts_count": [12]})
    picker = SourcePicker(frame, column="cid", lists=lists, tags=tags)
    seen = []
    picker.observe(lambda c: seen.append(c["new"].kind), "value")

    picker.kind.value = SourceKind.LIST_IDS
    assert picker.value.problem == "Pick the lists whose members are removed."
    assert picker.lists is not None
    picker.lists.value = ["List 03"]
    picker.keep.value = True
    assert picker.value == SourceChoice(SourceKind.LIST_IDS, "cid", (uid(3),), keep=True)
    plan = picker.value.plan(frame, [uid(1)])
    assert plan.batches[0].to_json() == {
        "source": {"list_ids": [uid(3)]},
        "list_ids": [uid(1)],
        "exclude": {"contact_ids": [uid(500), uid(501)]},
    }
    assert "except the contacts in column 'cid'" in picker.describe()

    picker.kind.value = SourceKind.ALL_ACTIVE_CONTACTS
    assert picker.warning.layout.display is None  # the loud warning shows
    assert "every active contact of the account" in text(picker.warning.value)
    plan = picker.value.plan(frame, [uid(1)])
    assert plan.batches[0].to_json()["source"] == {"all_active_contacts": True}

    picker.kind.value = SourceKind.TAG_IDS
    picker.tags.value = ["VIP"]
    assert picker.value.plan(frame, [uid(1)]).batches[0].to_json()["source"] == {
        "tag_ids": [uid(7)]
    }

    picker.kind.value = SourceKind.ENGAGEMENT_LEVEL
    assert picker.value.problem == "Pick an engagement level."
    picker.level.value = "low"
    assert picker.value.source().to_json() == {"engagement_level": "low"}
    assert SourceKind.ENGAGEMENT_LEVEL in seen and SourceKind.TAG_IDS in seen


def test_source_picker_without_data_offers_api_sources(lists: pd.DataFrame) -> None:
    picker = SourcePicker(None, lists=lists)
    assert picker.value.kind is SourceKind.LIST_IDS
    assert picker._keep_row.layout.display == "none"


# -- PlanPreview -----------------------------------------------------------------------
def test_plan_preview_shows_the_numbers_and_a_peek_at_bad_rows() -> None:
    df = pd.DataFrame({"contact_id": [uid(1), uid(1), "nope", None, uid(2)]})
    preview = PlanPreview()
    assert "Pick the target lists" in text(preview.html.value)
    preview.value = plan_removal(df, [uid(9)])
    shown = text(preview.html.value)
    for fragment in (
        "rows in the DataFrame 5",
        "contacts to remove (valid, unique) 2",
        "invalid ids (never sent) 1",
        "missing ids (never sent) 1",
        "duplicate rows (sent once) 1",
        "activities (one per request) 1",
        # the POST, a poll at 0.25 s that sees the activity still waiting, one at 1.25 s
        "time at 4 requests per second 2 s",
        "share of the daily quota 0.03% of 10,000 requests",
        "Rows that will not be sent",
        "'nope' invalid_id",
    ):
        assert fragment in shown
    preview.error = "column 'x' not found"
    assert text(preview.html.value) == "column 'x' not found"
    assert preview.text() == "no plan: column 'x' not found"


# -- StatusDisplay ---------------------------------------------------------------------
def act(batch: int, state: str, done: int = 0, total: int = 500, errors=()) -> ActivityProgress:
    return ActivityProgress(
        batch,
        None if state == "pending" else uid(100 + batch),
        state,
        percent_done=100 * done // total if total else 0,
        items_completed=done,
        items_total=total,
        errors=tuple(errors),
    )


def test_status_display_draws_progress_and_one_row_per_activity() -> None:
    status = StatusDisplay()
    seen = []
    status.observe(lambda c: seen.append(c["new"].phase), "value")
    status.start(
        Snapshot("starting", 2, 0, (act(0, "pending", total=0), act(1, "pending", total=0)))
    )
    status.update(Snapshot("polling", 2, 2, (act(0, "processing", 250), act(1, "initialized"))))
    assert (status.bar.value, status.bar.max) == (250, 1000)
    status.finish(
        Snapshot("done", 2, 2, (act(0, "completed", 500), act(1, "failed", 100, errors=["boom"])))
    )
    assert seen == ["starting", "polling", "done"]
    assert status.bar.bar_style == "danger"
    rows = status.rows.value
    assert rows.count("<tr") == 3  # header + one per activity
    assert '<tr class="bad">' in rows and "boom" in rows  # the failed one stays red
    # The text form names what the red row shows: the failed activity and its error.
    assert status.text() == (
        "done with errors: 1 of 2 activities failed; 600 of 1,000 items\n  batch 1 failed: boom"
    )


@pytest.mark.parametrize(
    ("reason", "head"),
    [
        ("quota_exceeded", "stopped by the daily request quota"),
        ("interrupted", "interrupted"),
        ("stopped", "stopped waiting"),
    ],
)
def test_a_stopped_run_s_headline_says_what_stopped_it(reason, head) -> None:
    # The summary's stop reason, not the Stop button's words for every stop.
    summary = types.SimpleNamespace(
        stop_reason=reason, ok=False, dry_run=False, outcome_line=f"outcome: {reason}"
    )
    snap = Snapshot("stopped", 2, 1, (act(0, "processing", 10),), extra={"summary": summary})
    assert headline(snap).startswith(f"{head}; 1 activity keeps running on the server")


def test_status_display_stop_says_the_server_keeps_going() -> None:
    status = StatusDisplay(stoppable=True)
    status.start(Snapshot("starting", 3, 0))
    assert not status.stop_requested
    status.stop_button.click()
    assert status.stop_requested and status.stop_button.disabled
    status.finish(
        Snapshot(
            "stopped", 3, 2, (act(0, "completed", 500), act(1, "processing", 10), act(2, "pending"))
        )
    )
    assert status.text().startswith("stopped waiting; 1 activity keeps running on the server")
    assert "1 request not sent" in status.text()
    status.start(Snapshot("starting", 1, 0))  # a new run re-arms the button
    assert not status.stop_requested and not status.stop_button.disabled


def test_status_display_without_stop_explains_interrupt() -> None:
    status = StatusDisplay(stoppable=False)
    assert status.stop_button.layout.display == "none"
    assert "interrupt the kernel" in text(status.hint.value)


def test_status_display_limits_rows_showing_failures_first() -> None:
    status = StatusDisplay(max_rows=3)
    acts = (*(act(i, "completed", 500) for i in range(10)), act(10, "failed", 1))
    status.finish(Snapshot("done", 11, 11, acts))
    assert "failed" in status.rows.value
    assert "8 more activities not shown" in text(status.rows.value)


def test_status_display_throttles_but_draws_before_sleeping() -> None:
    now = [0.0]
    status = StatusDisplay(min_interval=10, clock=lambda: now[0])
    status.start(Snapshot("polling", 1, 1, (act(0, "processing", 1),)))
    status.update(Snapshot("polling", 1, 1, (act(0, "processing", 2),)))
    assert status.bar.value == 1  # throttled
    status.sleep(0)
    assert status.bar.value == 2  # drawn before the runner waits


def test_snapshot_buffer_touches_no_widget_until_drained() -> None:
    status = StatusDisplay()
    buf = SnapshotBuffer(status)
    buf.start(Snapshot("starting", 1, 0))
    buf.update(Snapshot("polling", 1, 1, (act(0, "processing", 5),)))
    assert status.value is None  # the worker's reports wait for the main thread
    assert buf.drain() and status.value.phase == "polling"
    assert not buf.drain()
    buf.finish(Snapshot("done", 1, 1, (act(0, "completed", 500),)))
    buf.drain()
    assert status.bar.bar_style == "success"
    status.request_stop()
    assert buf.stop_requested


def test_import_ccpandas_does_not_import_ipywidgets() -> None:
    code = (
        "import sys, ccpandas, ccpandas.widgets, ccpandas._env;"
        "print('ipywidgets' in sys.modules, 'IPython' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_status_display_text_fallback_is_refreshed_at_the_end(capsys) -> None:
    """Where widgets cannot be drawn, the text form shows; it is updated when the run
    ends so it tells the outcome (a terminal IPython shell prints each form)."""
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.instance()
    status = StatusDisplay(auto_display=True)
    status.start(Snapshot("starting", 1, 0, (act(0, "pending", total=0),)))
    status.finish(Snapshot("done", 1, 1, (act(0, "completed", 500),)))
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "ccpandas status: starting: 1 request to send",
        "ccpandas status: done: 1 activity completed; 500 of 500 items",
    ]


def test_status_display_text_fallback_follows_phases_and_time(capsys) -> None:
    """A front end without widgets sees the text form move during the run: at once on a
    new phase, and every ``text_interval`` seconds at most within one."""
    from IPython.core.interactiveshell import InteractiveShell

    InteractiveShell.instance()
    now = [0.0]
    status = StatusDisplay(auto_display=True, clock=lambda: now[0])
    prefix = "ccpandas status: "
    status.start(Snapshot("starting", 2, 0))
    status.update(Snapshot("submitting", 2, 1, (act(0, "pending", total=0),)))
    now[0] += 0.5
    status.update(Snapshot("polling", 2, 2, (act(0, "processing", 10), act(1, "pending", 0))))
    for step in range(1, 6):  # 0.5 s apart: within the phase, every 2 s at most
        now[0] += 0.5
        status.update(
            Snapshot("polling", 2, 2, (act(0, "processing", 10 + step), act(1, "pending", 0)))
        )
    status.finish(Snapshot("done", 2, 2, (act(0, "completed", 500), act(1, "completed", 500))))
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        prefix + "starting: 2 requests to send",
        prefix + "sending requests: 0 of 2 accepted",
        prefix + "waiting for the API: 0 of 2 activities finished; 10 of 1,000 items",
        prefix + "waiting for the API: 0 of 2 activities finished; 14 of 1,000 items",  # +2 s
        prefix + "done: 2 activities completed; 1,000 of 1,000 items",
    ]


def test_status_headline_shows_what_a_quota_wait_waits_for() -> None:
    from ccpandas.widgets.status import headline

    message = "daily quota spent: waiting until 2026-11-27 00:03 UTC"
    assert headline(Snapshot("waiting", 4, 2, message=message, wait_seconds=600)) == message
    assert headline(Snapshot("waiting", 4, 4)).startswith("waiting for the API")
