"""The panel and the status display against the emulator over real HTTP, headless:
set values, click buttons, and check what was sent and what the display shows."""

from __future__ import annotations

import asyncio
import re

import pandas as pd
import pytest
from test_truth_hint import InterruptedStatus  # Ctrl-C once a request was accepted

import ccpandas
from ccpandas.emulator import Emulator
from ccpandas.models import SourceKind
from ccpandas.widgets import RemovalPanel, StatusDisplay
from ccpandas.widgets._html import esc


def members(emu: Emulator, name: str) -> set[str]:
    return set(emu.account.members(emu.account.list_named(name)))


@pytest.fixture
def segment(emu: Emulator) -> pd.DataFrame:
    """Members of Newsletter and Customers plus the rows analysts always have: a
    malformed id, a missing one and a duplicate."""
    ids = sorted(members(emu, "Newsletter") | members(emu, "Customers"))
    frame = pd.DataFrame({"contact_id": ids, "note": "segment"})
    extra = pd.DataFrame({"contact_id": ["not-an-id", None, ids[0]], "note": "extra"})
    return pd.concat([frame, extra], ignore_index=True)


def test_panel_removes_nothing_before_confirm_then_everything(
    emu: Emulator,
    client: ccpandas.Client,
    lists: pd.DataFrame,
    segment: pd.DataFrame,
    removal_posts,
) -> None:
    panel = RemovalPanel(segment, client=client, lists=lists)
    panel.snapshot.value = False  # the path without reading the lists
    panel.targets.filter.value = "e"  # typing filters; picks stay
    panel.targets.value = ["Newsletter", "Customers"]
    plan = panel.plan
    assert plan is not None and plan.n_invalid == 1 and plan.n_missing == 1
    assert plan.n_duplicates == 1
    n = plan.n_contacts
    assert panel.confirm.description == f"I understand {n} contacts will be removed from 2 lists"
    assert panel.remove_button.disabled

    panel.remove_button.click()  # code can click a disabled button: still nothing sent
    assert removal_posts() == 0
    assert "tick the confirmation first" in panel.message.value
    assert panel.result is None

    panel.confirm.value = True
    assert not panel.remove_button.disabled
    results = []
    panel.observe(lambda change: results.append(change["new"]), "result")
    panel.remove_button.click()

    result = panel.result
    assert results == [result]
    assert removal_posts() == plan.n_requests == 1
    assert result.ok and result.done
    assert members(emu, "Newsletter") == set() and members(emu, "Customers") == set()
    rows = result.rows
    assert len(rows) == len(segment) and rows.index.equals(segment.index)
    assert rows["status"].value_counts()[
        ["removed", "invalid_id", "missing", "duplicate"]
    ].tolist() == [
        n,
        1,
        1,
        1,
    ]
    # the status display shows every activity completed, the result is shown
    assert panel.status.text().startswith("done: 1 activity completed")
    assert panel.status.bar.bar_style == "success"
    assert "completed" in panel.status.rows.value
    assert panel._result_box.layout.display is None
    assert "result.rows" in panel.result_view.value and "removed" in panel.result_view.value
    # a second click sends nothing more
    panel.remove_button.click()
    assert removal_posts() == 1
    assert panel.remove_button.disabled and panel.targets.select.disabled


def test_a_panel_run_names_its_lists_in_runs_as_a_python_call_does(
    client: ccpandas.Client, lists: pd.DataFrame, segment: pd.DataFrame
) -> None:
    """Picked by name in the panel, read or not: ``ccpandas.runs()`` names the lists,
    as for ``df.cc.remove_from_lists(["Newsletter"])`` (it showed the lists' ids)."""
    panel = RemovalPanel(segment, client=client, lists=lists)
    panel.snapshot.value = False  # the pure plan: no read supplies the names
    panel.targets.value = ["Customers"]
    panel.confirm.value = True
    panel.remove_button.click()
    assert ccpandas.runs().iloc[0]["list_names"] == "Customers"


def test_panel_changing_the_plan_asks_again(
    client: ccpandas.Client, lists: pd.DataFrame, segment: pd.DataFrame
) -> None:
    panel = RemovalPanel(segment, client=client, lists=lists)
    panel.targets.value = ["Newsletter"]
    panel.confirm.value = True
    panel.targets.value = ["Newsletter", "VIP"] if "VIP" in set(lists.name) else ["Prospects"]
    assert panel.confirm.value is False and panel.remove_button.disabled


def test_panel_shows_plan_errors_and_sends_nothing(
    client: ccpandas.Client, lists: pd.DataFrame, removal_posts
) -> None:
    bad = pd.DataFrame({"contact_id": ["nope", None]})
    panel = RemovalPanel(bad, client=client, lists=lists)
    panel.targets.value = ["Newsletter"]
    assert panel.plan is None and "no valid contact id" in panel.preview.error
    assert panel.confirm.disabled
    panel.confirm.value = True
    panel.remove_button.click()
    assert removal_posts() == 0 and panel.result is None


def test_a_column_not_in_the_dataframe_is_refused_before_any_request(
    emu: Emulator, client: ccpandas.Client
) -> None:
    """``column="emial"`` (a typo): the panel pre-selected another column (here
    ``contact_id``) without a word, after reading the account's lists."""
    frame = pd.DataFrame({"contact_id": emu.account.contact_ids()[:3], "email": "a@b.co"})
    before = emu.account.count()
    with pytest.raises(ccpandas.PlanError, match=r"column 'emial' not found.*'email'"):
        RemovalPanel(frame, "emial", client=client)
    assert emu.account.count() == before


def test_a_frame_without_columns_still_makes_a_panel(emu: Emulator, client: ccpandas.Client):
    # The column was settled twice (the panel's guess, None here, then checked as if
    # given): "column None not found", a column the analyst never named (review).
    for frame in (pd.DataFrame(), pd.DataFrame(index=pd.Index(["a"], name="contact_id"))):
        assert RemovalPanel(frame, client=client).source.column.value is None


@pytest.mark.parametrize(
    ("kind", "setup", "expected"),
    [
        (SourceKind.TAG_IDS, "tag", "tagged"),
        (SourceKind.ENGAGEMENT_LEVEL, "level", "engaged"),
        (SourceKind.LIST_IDS, "keep", "members-kept"),
        (SourceKind.ALL_ACTIVE_CONTACTS, "keep", "active-kept"),
    ],
)
def test_panel_api_sources(
    emu: Emulator,
    client: ccpandas.Client,
    lists: pd.DataFrame,
    kind: SourceKind,
    setup: str,
    expected: str,
) -> None:
    acct = emu.account
    target = acct.list_named("Prospects")
    before = set(acct.members(target))
    keep = sorted(before)[:5]
    panel = RemovalPanel(pd.DataFrame({"contact_id": keep}), client=client, lists=lists)
    panel.snapshot.value = False  # the path without reading the lists
    panel.targets.value = ["Prospects"]
    panel.source.kind.value = kind
    if setup == "tag":
        tag_id = max(acct.tag_ids(), key=lambda t: len(acct.tagged(t) & before))
        panel.source.tags.value = [tag_id]
        gone = acct.tagged(tag_id) & before
    elif setup == "level":
        panel.source.level.value = "low"
        gone = acct.engaged("low") & before
    else:
        panel.source.keep.value = True
        if kind is SourceKind.LIST_IDS:
            panel.source.lists.value = ["Prospects"]
            gone = before - set(keep)
        else:
            gone = (acct.active_contacts() & before) - set(keep)
            assert "ALL active contacts (except 5 kept)" in panel.confirm.description
    assert gone, "the seeded account should give this source something to remove"
    panel.confirm.value = True
    panel.remove_button.click()
    assert panel.result is not None and panel.result.ok, panel.message.value
    assert set(acct.members(target)) == before - gone
    if setup == "keep":
        assert set(keep) <= set(acct.members(target))  # the DataFrame's contacts stayed


def test_failed_activity_stays_red(
    emu: Emulator, client: ccpandas.Client, lists: pd.DataFrame, segment: pd.DataFrame
) -> None:
    emu.fail_next(1, at=0.0)  # nothing done: its rows say failed (half done: unknown)
    panel = RemovalPanel(segment, client=client, lists=lists)
    panel.targets.value = ["Newsletter"]
    panel.confirm.value = True
    panel.remove_button.click()
    assert panel.result is not None and not panel.result.ok
    assert panel.status.bar.bar_style == "danger"
    assert '<tr class="bad">' in panel.status.rows.value
    assert "done with errors: 1 of 1 activity failed" in panel.status.text()
    assert (panel.result.rows["status"] == "failed").any()


@pytest.mark.parametrize("mode", ["remove", "sync"])
def test_a_part_failed_run_tells_one_story_in_the_panel(
    emu: Emulator, client: ccpandas.Client, lists: pd.DataFrame, segment: pd.DataFrame, mode: str
) -> None:
    """An activity that fails half way: the status display ends on the result's own
    verified line, failed pairs included, as the result's text and HTML and runs() say."""
    emu.fail_next(1, at=0.5)
    panel = RemovalPanel(segment, client=client, lists=lists, mode=mode)
    panel.targets.value = ["Customers"] if mode == "sync" else ["Newsletter", "Customers"]
    panel.max_removed.value = "none"
    panel.confirm.value = True
    panel.remove_button.click()
    result = panel.result
    summary = result.summary()
    failed = summary.pairs["failed"]
    assert failed > 0 and not result.ok
    assert summary.truth.endswith(f"; FAILED: {failed:,}")
    line = summary.truth.removeprefix("memberships ")  # the display's words for it
    assert line in panel.status.text().splitlines()[1]
    assert summary.truth in str(result) and esc(summary.truth) in panel.result_view.value
    assert ccpandas.runs().iloc[0]["outcome"] == summary.outcome == "failed"


def test_background_run_stop_then_keep_waiting(
    emu: Emulator, client: ccpandas.Client, lists: pd.DataFrame
) -> None:
    """A browser click runs in a worker; the kernel's loop draws and hears Stop."""
    emu.configure(start_delay=1.5)  # the activity waits a little: Stop lands before it ends
    ids = sorted(emu.account.contact_ids())[:120]
    panel = RemovalPanel(
        pd.DataFrame({"contact_id": ids}), client=client, lists=lists, background=True
    )
    panel.targets.value = ["Newsletter", "Customers"]
    panel.confirm.value = True

    async def scenario() -> list[str]:
        seen = []
        panel.remove_button.click()
        assert panel.running and panel.status.stoppable
        while not (panel.status.value and panel.status.value.phase == "polling"):
            await asyncio.sleep(0.02)
        seen.append(panel.status.text())
        panel.status.stop_button.click()
        while panel.running:
            await asyncio.sleep(0.02)
        seen.append(panel.status.text())
        panel.resume_button.click()
        while panel.running:
            await asyncio.sleep(0.02)
        seen.append(panel.status.text())
        return seen

    polling, stopped, resumed = asyncio.run(asyncio.wait_for(scenario(), 60))
    assert polling.startswith("waiting for the API: 0 of 1 activit")
    assert "stopped waiting; 1 activity keeps running on the server" in stopped
    assert resumed.startswith("done: 1 activity completed")
    assert panel.result.ok
    assert not set(ids) & members(emu, "Newsletter")


def _panel_on_55_lists(cc_emulator_factory):
    """A panel removing 100 contacts from 55 lists: two requests (two list groups)."""
    emu = cc_emulator_factory(seed=11, contacts=300, lists=55, rate=None, speed=1_000_000)
    client = ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None)
    lists = ccpandas.read_contact_lists(client)
    ids = sorted(emu.account.contact_ids())[:100]
    panel = RemovalPanel(pd.DataFrame({"contact_id": ids}), client=client, lists=lists)
    panel.targets.value = list(lists["list_id"])
    return emu, panel


def test_keep_waiting_after_a_quota_stop_shows_the_finished_result(
    cc_emulator_factory,
) -> None:
    """The quota stops the run between its two requests (55 lists: two groups); Keep
    waiting sends the rest, and the Result step then shows the finished run (as its
    text says, not the stopped one) and offers the undo."""
    emu, panel = _panel_on_55_lists(cc_emulator_factory)
    assert panel.plan is not None and panel.plan.n_requests == 2
    emu.configure(quota_left=1)  # the first POST only
    panel.confirm.value = True
    panel.remove_button.click()
    result = panel.result
    assert result.summary().outcome == "quota_exceeded"
    assert "Not everything is finished" in panel.result_view.value
    assert panel.resume_button.layout.display is None
    assert "quota_exceeded" in panel.message.value  # what stopped it, and the reset

    emu.configure(quota_left=None)
    panel.resume_button.click()
    assert panel.result is result and result.ok and result.done
    assert result._repr_html_() in panel.result_view.value
    assert "Not everything is finished" not in panel.result_view.value
    assert panel.message.value == ""  # the quota's error is over: no stale red line
    assert panel._undo_box.layout.display is None and not panel.undo_confirm.disabled


def test_a_keep_waiting_refused_by_the_quota_check_keeps_the_run_on_show(
    cc_emulator_factory,
) -> None:
    """Keep waiting after a quota stop, with today's quota still too short: the resume
    is refused before it sends (QuotaShortError, no result of its own). The Keep
    waiting button stayed hidden on an unfinished run, and the status headline said
    "stopped waiting" (the Stop button's words) for the quota's stop (found by review)."""
    emu, panel = _panel_on_55_lists(cc_emulator_factory)
    emu.configure(quota_left=1)  # the first POST only
    panel.confirm.value = True
    panel.remove_button.click()
    result = panel.result
    assert result.summary().outcome == "quota_exceeded"
    headline = panel.status.text().splitlines()[0]
    emu.configure(quota_left=None)
    counter = panel.client.stats.day_counter
    counter.day = counter.today()  # the day the resume checks, whatever the clock says
    counter.add(n=10_000 - counter.used() - 1)  # others spent the day
    panel.resume_button.click()
    assert isinstance(panel.error, ccpandas.QuotaShortError)
    assert "sending the rest" in panel.message.value
    assert panel.result is result and result.summary().outcome == "quota_exceeded"
    assert panel.resume_button.layout.display is None and not panel.resume_button.disabled
    assert "Not everything is finished" in panel.result_view.value
    assert panel.status.text().splitlines()[0] == headline
    assert "stopped by the daily request quota" in headline


def test_a_stopped_run_undone_elsewhere_is_not_offered_keep_waiting(cc_emulator_factory) -> None:
    """A panel run stopped part way, undone elsewhere (``ccpandas.undo(run_id)`` in another
    kernel, ``ccpandas undo``): Keep waiting is refused, nothing sent, and the button
    stayed on offer under "Not everything is finished". The panel now says what
    Python and ``ccpandas runs`` say: undone by that run, not resumed."""
    emu, panel = _panel_on_55_lists(cc_emulator_factory)
    panel.source.kind.value = SourceKind.LIST_IDS  # the API selects: undone part way
    panel.source.lists.value = [panel.targets.name_of(emu.account.list_ids()[0])]
    panel.status = InterruptedStatus(stoppable=False)  # Ctrl-C after the first request
    panel.confirm.value = True
    with pytest.raises(KeyboardInterrupt):
        panel.remove_button.click()
    result = panel.result
    assert panel.resume_button.layout.display is None
    undo = ccpandas.undo(result.run_id, client=panel.client, progress=False)
    said = f"undone by run {undo.run_id}"
    posts = emu.account.count(method="POST")
    panel.resume_button.click()  # drawn before the undo: refused, nothing sent
    assert isinstance(panel.error, ccpandas.PlanError) and said in str(panel.error)
    assert emu.account.count(method="POST") == posts
    assert panel.result is result and panel.resume_button.layout.display == "none"
    assert said in panel.result_view.value and said in "\n".join(result.summary().lines())
    assert "Not everything is finished" not in panel.result_view.value
    assert "preview above now shows" not in panel.message.value


def test_an_interrupted_panel_run_says_interrupted_not_an_empty_error(
    emu: Emulator, client: ccpandas.Client, lists: pd.DataFrame, segment: pd.DataFrame
) -> None:
    """Ctrl-C while the panel runs in the cell: the interruption reaches the cell, and
    the panel says the run was interrupted (a KeyboardInterrupt has no message: it
    said "The run stopped with an error: " and nothing after it)."""
    panel = RemovalPanel(segment, client=client, lists=lists)
    panel.targets.value = ["Newsletter", "Customers"]
    panel.status = InterruptedStatus(stoppable=False)
    panel.confirm.value = True
    with pytest.raises(KeyboardInterrupt):
        panel.remove_button.click()
    assert panel.result.summary().outcome == "interrupted"
    said = re.sub(r"<[^>]+>", "", panel.message.value.split("</style>")[-1]).strip()
    assert said.startswith("The run was interrupted") and "error" not in said
    assert panel.resume_button.layout.display is None  # Keep waiting picks it up


def test_plain_call_reports_to_a_status_display(
    emu: Emulator, client: ccpandas.Client, segment: pd.DataFrame
) -> None:
    status = StatusDisplay(stoppable=False)
    result = segment.cc.remove_from_lists(["Newsletter"], client=client, progress=status)
    assert result.ok
    assert status.value.phase == "done"
    assert status.text().startswith("done: 1 activity completed")
    acts = re.findall(r'badge (\w+)">(\w+)<', status.rows.value)
    assert acts == [("ok", "completed")]


def test_background_without_an_event_loop_waits_in_place(
    emu: Emulator, client: ccpandas.Client, lists: pd.DataFrame, segment: pd.DataFrame
) -> None:
    panel = RemovalPanel(segment, client=client, lists=lists, background=True)
    panel.targets.value = ["Customers"]
    panel.confirm.value = True
    panel.remove_button.click()  # plain Python: the worker runs, the caller waits
    assert not panel.running and panel.result is not None and panel.result.ok
    assert panel.status.stoppable  # it ran in the worker
    assert members(emu, "Customers") == set()


def test_panel_without_a_dataframe_uses_api_sources(emu: Emulator, client: ccpandas.Client) -> None:
    panel = RemovalPanel(client=client)  # lists fetched through the client
    panel.snapshot.value = False  # the path without reading the lists
    assert panel.source.value.kind is SourceKind.LIST_IDS
    panel.targets.value = ["Webinar attendees"]
    panel.source.lists.value = ["Newsletter"]
    assert panel.confirm.description == (
        "I understand the members of 1 list will be removed from 1 list"
    )
    panel.confirm.value = True
    panel.remove_button.click()
    assert panel.result.ok
    assert not members(emu, "Newsletter") & members(emu, "Webinar attendees")


def test_panel_undo_button_asks_first_then_restores_exactly(
    emu: Emulator, client: ccpandas.Client, lists: pd.DataFrame, segment: pd.DataFrame
) -> None:
    before = {name: members(emu, name) for name in ("Newsletter", "Customers")}
    panel = RemovalPanel(segment, client=client, lists=lists, background=False)
    panel.targets.value = ["Newsletter", "Customers"]
    panel.snapshot.value = True
    assert panel.undo_button.disabled and panel._undo_box.layout.display == "none"
    panel.confirm.value = True
    panel.remove_button.click()
    result = panel.result
    assert result is not None and result.ok and result.after is not None
    assert all(not members(emu, name) & set(segment["contact_id"].dropna()) for name in before)
    n = sum(len(m) for m in before.values())
    assert panel._undo_box.layout.display is None
    assert panel.undo_confirm.description == (
        "I understand the undo will put its removed contacts back on their lists "
        f"(up to {n:,} memberships on 2 lists)"
    )
    adds = emu.account.count(method="POST", route="/v3/activities/add_list_memberships")
    assert panel.undo_button.disabled
    panel.undo_button.click()  # not confirmed: nothing sent
    assert panel.undo_result is None
    assert emu.account.count(method="POST", route="/v3/activities/add_list_memberships") == adds
    assert "tick the confirmation first" in panel.undo_view.value

    panel.undo_confirm.value = True
    assert not panel.undo_button.disabled
    panel.undo_button.click()
    undo = panel.undo_result
    assert undo is not None and undo.ok
    assert {name: members(emu, name) for name in before} == before
    assert set(undo.changes["outcome"]) == {"restored"}
    assert "UndoResult" in panel.undo_view.value and "restored" in panel.undo_view.value
    assert panel.undo_button.disabled and panel.undo_confirm.disabled


def test_after_an_undo_the_inputs_stay_frozen_and_the_result_says_undone(
    client: ccpandas.Client, lists: pd.DataFrame, segment: pd.DataFrame
) -> None:
    """The Undo's end unfroze the lists, the source and the ticked confirmation: changes
    there neither cleared the tick nor planned anything (this panel's run is over)."""
    panel = RemovalPanel(segment, client=client, lists=lists, background=False)
    panel.targets.value = ["Newsletter"]
    panel.confirm.value = True
    panel.remove_button.click()
    panel.undo_confirm.value = True
    panel.undo_button.click()
    assert panel.undo_result.ok
    assert panel.targets.select.disabled and panel.source.kind.disabled
    assert panel.mode.disabled and panel.confirm.disabled and panel.remove_button.disabled
    # The Result step says what str(result) and runs() say now: undone by that run (it
    # kept the run's summary as drawn before the undo).
    said = f"undone by run {panel.undo_result.run_id}"
    assert said in str(panel.result) and said in panel.result_view.value


def test_a_run_undone_elsewhere_is_not_offered_undo_again(
    emu: Emulator, client: ccpandas.Client, lists: pd.DataFrame, segment: pd.DataFrame
) -> None:
    """Completed in the panel, undone elsewhere (another kernel, ``ccpandas undo``): the
    Undo button was still armed by its tick box, and the click refused "already undone"."""
    panel = RemovalPanel(segment, client=client, lists=lists, background=False)
    panel.targets.value = ["Newsletter"]
    panel.snapshot.value = panel.confirm.value = True
    panel.remove_button.click()
    undo = ccpandas.undo(panel.result.run_id, client=client, progress=False)
    adds = emu.account.count(method="POST", route="/v3/activities/add_list_memberships")
    panel.undo_confirm.value = True
    assert panel.undo_button.disabled
    panel.undo_button.click()
    assert panel.undo_result is None and panel.error is None
    assert emu.account.count(method="POST", route="/v3/activities/add_list_memberships") == adds
    panel.result = ccpandas.run_result(undo.parent_run_id, client=client)  # drawn again
    assert panel.undo_button.disabled
    assert f"undone by run {undo.run_id}" in panel.result_view.value


def test_the_undo_confirmation_promises_no_more_than_the_undo_restores() -> None:
    # An activity failed half way and a sample verified the run: the tick box counted
    # every pair of that activity ("N memberships will be added back") before the
    # undo's fresh read, which leaves out those the activity never removed.
    from ccpandas.run.undo import undo_promise

    with (
        Emulator(seed=7, contacts=2500, speed=1_000_000, rate=None) as emu,
        ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None) as client,
    ):
        acct = emu.account
        a, b = acct.list_ids()[:2]
        before = {lid: acct.members(lid) for lid in (a, b)}
        frame = pd.DataFrame({"contact_id": sorted(before[a] | before[b])[:900]})
        emu.fail_next(1, "failed", 0.5)
        result = frame.cc.remove_from_lists([a, b], client=client, progress=False, verify="sample")
        assert (result.changes["outcome"] == "unknown").any()
        panel = RemovalPanel(frame, client=client, background=False)
        panel.result = result
        text = panel.undo_confirm.description
        promised = re.search(r"\(up to ([\d,]+) memberships on 2 lists\)$", text)
        assert promised is not None, text
        assert text == f"I understand the undo will {undo_promise(result)}"  # the CLI's too
        panel.undo_confirm.value = True
        panel.undo_button.click()
        undo = panel.undo_result
        assert undo is not None and undo.ok
        assert {lid: acct.members(lid) for lid in (a, b)} == before
        restored = int((undo.changes["outcome"] == "restored").sum())
        assert 0 < restored < int(promised[1].replace(",", ""))


def test_a_run_left_only_its_verification_read_says_that_is_all(cc_emulator_factory) -> None:
    """Every activity ended and only the lists' re-read is left: the note said "what was
    sent keeps running on the server ... sends what was not sent" (found by review)."""
    from ccpandas.emulator.clock import OffsetClock

    clock = OffsetClock()  # the activity starts in an hour of the emulator's time
    emu = cc_emulator_factory(seed=12, contacts=50, lists=1, rate=None, clock=clock)
    emu.configure(start_delay=3600.0)
    client = ccpandas.Client(token=emu.token, base_url=emu.base_url, rate=None)
    lists = ccpandas.read_contact_lists(client)
    frame = pd.DataFrame({"contact_id": sorted(members(emu, lists["name"].iloc[0]))[:10]})
    result = frame.cc.remove_from_lists(
        list(lists["list_id"]), client=client, progress=False, wait=False
    )
    clock.advance(hours=2)  # every activity ended
    emu.configure(quota_left=1)  # its look at them, not the read
    with pytest.raises(ccpandas.errors.QuotaExceededError):
        result.wait(progress=False)
    assert result.verification_due and result.summary().resume_call is not None
    emu.configure(quota_left=None)  # the reset
    panel = RemovalPanel(frame, client=client, lists=lists)
    panel.result = result
    assert "Every activity ended; the lists are still to be read" in panel.result_view.value
    assert "Not everything is finished" not in panel.result_view.value
    assert panel.resume_button.layout.display is None  # Keep waiting reads them
    panel.resume_button.click()
    assert result.ok and panel.resume_button.layout.display == "none"
