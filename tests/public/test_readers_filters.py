"""The readers' date filters, segments and progress: argument checks (nothing sent), then
real reads from the emulator, compared with the account's own records."""

from __future__ import annotations

import datetime as dt
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
from specs import dated

import ccpandas
from ccpandas.client.http import Client
from ccpandas.errors import APIError, PlanError
from ccpandas.readers import (
    CONTACT_COLUMNS,
    SEGMENT_COLUMNS,
    read_contact_lists,
    read_contact_tags,
    read_contacts,
    read_segments,
)
from ccpandas.report.progress import NullReporter

FAST = {"speed": 1e9, "rate": None, "daily_quota": None}


@pytest.fixture
def emu(cc_emulator_factory):
    return cc_emulator_factory(seed=12, contacts=400, lists=4, tags=3, segments=3, **FAST)


def _queries(emu, route: str = "/v3/contacts") -> list[dict[str, list[str]]]:
    """The queries of the reads' first pages (the next pages follow opaque cursors)."""
    found = [parse_qs(urlsplit(r.path).query) for r in emu.account.request_log if r.route == route]
    return [q for q in found if "cursor" not in q]


# --------------------------------------------------------------------------- checks


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"optout_after": "last monday"}, r"optout_after must be an ISO-8601 date"),
        ({"updated_before": "2024-13-01"}, r"updated_before must be an ISO-8601"),
        ({"created_after": 20240101}, r"created_after must be a datetime, a date or an ISO"),
        ({"created_after": pd.NaT}, r"created_after is NaT"),
        ({"optout_before": np.datetime64("NaT", "ns")}, r"optout_before is NaT"),
        (
            {"updated_after": "2024-06-01", "updated_before": "2024-05-01"},
            r"updated_after \(2024-06-01T00:00:00Z\) must be earlier than updated_before",
        ),
        (
            {"optout_after": "2024-05-01T12:00:00+02:00", "optout_before": "2024-05-01T10:00Z"},
            r"optout_after \(2024-05-01T10:00:00Z\) must be earlier than optout_before",
        ),
        ({"segment_id": "Never clicked"}, r"segment_id must be a segment's number"),
        ({"segment_id": -1}, r"segment_id must be a segment's number"),
        ({"segment_id": True}, r"segment_id must be a segment's number"),
        (
            {"segment_id": 1, "lists": ["Newsletter"], "optout_after": "2024-01-01"},
            r"only be combined with limit .*also given: lists, optout_after",
        ),
        ({"segment_id": 1, "include": "taggings"}, r"also given: include"),
    ],
)
def test_date_and_segment_arguments_are_checked_before_sending(offline, kwargs, match):
    with pytest.raises(PlanError, match=match):
        read_contacts(offline, **kwargs)


def test_segment_sort_and_progress_values_are_checked_before_sending(offline):
    with pytest.raises(PlanError, match="sort_by must be one of date, name"):
        read_segments(offline, sort_by="size")
    for reader in (read_contact_lists, read_contacts, read_contact_tags, read_segments):
        with pytest.raises(ValueError, match="progress must be"):
            reader(offline, progress="bars")
        with pytest.raises(TypeError, match="progress must be"):
            reader(offline, progress=3)


# --------------------------------------------------------------------------- dates


def _seeded(emu, field, after=None, before=None) -> set[str]:
    return set(dated(emu, field, after, before))


def test_everyone_who_unsubscribed_since_a_day(emu, client):
    monday = dt.date(2023, 6, 5)
    midnight = dt.datetime(2023, 6, 5, tzinfo=dt.UTC)
    gone = read_contacts(client, optout_after=monday)
    expected = _seeded(emu, "opt_out_at", after=midnight)
    assert set(gone.contact_id) == expected and len(expected) > 5
    assert set(gone.status) == {"unsubscribed"}
    assert _queries(emu)[-1]["optout_after"] == ["2023-06-05T00:00:00Z"]


def test_naive_aware_string_and_timestamp_dates_agree(emu, client):
    paris = ZoneInfo("Europe/Paris")
    same_moment = [
        dt.datetime(2022, 7, 1, 10, 30),  # naive: UTC
        dt.datetime(2022, 7, 1, 12, 30, tzinfo=paris),  # converted to UTC
        "2022-07-01T10:30:00Z",
        "2022-07-01T12:30:00+02:00",
        pd.Timestamp("2022-07-01 10:30", tz="UTC"),
        np.datetime64("2022-07-01T10:30"),
    ]
    frames = [read_contacts(client, created_after=v, status="all") for v in same_moment]
    expected = {
        c.contact_id
        for c in emu.account.contacts.values()
        if c.created_at > dt.datetime(2022, 7, 1, 10, 30, tzinfo=dt.UTC)
    }
    assert all(set(f.contact_id) == expected for f in frames)
    sent = {q["created_after"][0] for q in _queries(emu)}
    assert sent == {"2022-07-01T10:30:00Z"}


def test_date_ranges_combine_with_each_other_and_the_other_filters(emu, client):
    acct = emu.account
    lid = acct.list_ids()[0]
    low = dt.datetime(2022, 1, 1, tzinfo=dt.UTC)
    high = dt.datetime(2024, 1, 1, 0, 0, 0, 250000, tzinfo=dt.UTC)
    df = read_contacts(
        client,
        lists=[lid],
        created_after=low,
        created_before=high,
        updated_after="2023-01-01",
        limit=20,
    )
    members = acct.members(lid)
    expected = (
        _seeded(emu, "created_at", low, high)
        & _seeded(emu, "updated_at", dt.datetime(2023, 1, 1, tzinfo=dt.UTC))
        & members
    )
    assert set(df.contact_id) == expected and len(expected) > 20  # several pages
    assert list(df.columns) == list(CONTACT_COLUMNS)
    query = _queries(emu)[0]
    assert query["created_before"] == ["2024-01-01T00:00:00.250Z"]
    assert (df.created_at > pd.Timestamp(low)).all() and (df.created_at < pd.Timestamp(high)).all()


# --------------------------------------------------------------------------- segments


def test_read_segments_names_ids_and_dates(emu, client):
    segments = emu.account.segments
    df = read_segments(client)
    assert list(df.columns) == list(SEGMENT_COLUMNS)
    assert df.segment_id.dtype == "Int64" and str(df.edited_at.dtype) == "datetime64[ns, UTC]"
    assert set(df.segment_id) == set(segments)
    assert df.edited_at.is_monotonic_decreasing  # sort_by="date": the latest first
    by_name = read_segments(client, sort_by="name")
    assert by_name.name.tolist() == sorted(g.name for g in segments.values())
    assert ccpandas.read_segments is read_segments  # exported from the package root


def test_an_account_without_segments_gives_an_empty_typed_frame(cc_emulator_factory):
    emu = cc_emulator_factory(seed=1, contacts=5, lists=1, **FAST)
    with Client(token=emu.token, base_url=emu.base_url, rate=None) as client:
        df = read_segments(client)
    assert df.empty and list(df.columns) == list(SEGMENT_COLUMNS)
    assert df.segment_id.dtype == "Int64"


def test_a_segment_feeds_a_removal(emu, client):
    acct = emu.account
    segments = read_segments(client)
    sid = segments.segment_id.iloc[0]  # a numpy integer, as a frame gives it
    members = read_contacts(client, segment_id=sid, limit=25)
    expected = [c.contact_id for c in acct.segment_members(int(sid))]
    assert members.contact_id.tolist() == expected and len(expected) > 25
    assert {q["segment_id"][0] for q in _queries(emu)} == {str(sid)}
    target = acct.list_ids()[0]
    on_list = members[members.contact_id.isin(acct.members(target))]
    result = ccpandas.remove_from_lists(on_list, [target], client=client, progress=False)
    assert result.ok
    assert not acct.members(target) & set(on_list.contact_id)


# --------------------------------------------------------------------------- progress


class Recorder(NullReporter):
    def __init__(self):
        self.calls = []

    def start(self, snapshot):
        self.calls.append(("start", snapshot.phase, snapshot.batches_submitted))

    def update(self, snapshot):
        self.calls.append(("update", snapshot.phase, snapshot.batches_submitted))

    def finish(self, snapshot):
        self.calls.append(("finish", snapshot.phase, snapshot.batches_submitted))
        self.last = snapshot


def test_a_multi_page_read_reports_each_page(emu, client):
    rec = Recorder()
    df = read_contacts(client, limit=100, status="all", progress=rec)
    pages = -(-len(df) // 100)
    assert pages == 4 == client.stats.requests
    assert rec.calls == [
        ("start", "reading", 1),
        ("update", "reading", 2),
        ("update", "reading", 3),
        ("update", "reading", 4),
        ("finish", "read", 4),
    ]
    assert rec.last.message == f"contacts: 4 pages, {len(df)} contacts"


def test_every_reader_takes_progress_and_a_one_page_read_shows_nothing(emu, client):
    for read in (read_contact_lists, read_contact_tags, read_segments, read_contacts):
        rec = Recorder()
        assert len(read(client, progress=rec))
        assert rec.calls == []  # one page each


def test_queries_split_in_groups_count_as_pages_of_one_read(emu, client):
    acct = emu.account
    extra = [acct.create_list(f"L{i}") for i in range(26)]  # 30 lists: two queries
    rec = Recorder()
    read_contacts(client, lists=[*acct.list_ids()[:4], *extra], progress=rec)
    assert [c[0] for c in rec.calls] == ["start", "finish"]
    assert rec.calls[-1] == ("finish", "read", 2)


def test_a_read_that_fails_midway_still_closes_its_display(emu):
    class Breaker(Recorder):
        def update(self, snapshot):
            super().update(snapshot)
            emu.configure(error_rate=1.0)  # every request from now on: 500 or 503

    rec = Breaker()
    client = Client(token=emu.token, base_url=emu.base_url, rate=None, max_attempts=1)
    with client, pytest.raises(ccpandas.APIError):
        read_contacts(client, limit=100, status="all", progress=rec)
    assert rec.calls == [("start", "reading", 1), ("update", "reading", 2), ("finish", "read", 2)]


def test_auto_progress_writes_log_lines_when_stderr_is_not_a_terminal(emu, client, capsys):
    df = read_contacts(client, limit=100, status="all")  # progress="auto", the default
    err = capsys.readouterr().err.splitlines()
    assert len(df) > 300
    assert err[0].endswith("ccpandas: reading: contacts: page 1, 100 so far")
    assert err[-1].endswith(f"ccpandas: read: contacts: 4 pages, {len(df)} contacts")
    assert all("\r" not in line and "\x1b" not in line for line in err)
    read_contact_tags(client)  # one page: no line
    assert capsys.readouterr().err == ""


def test_tqdm_progress_draws_a_bar_of_pages(emu, client, capsys):
    read_contacts(client, limit=100, status="all", progress="tqdm")
    err = capsys.readouterr().err
    assert "reading" in err and "4page" in err.replace(" ", "")


def test_a_one_page_read_makes_no_display_at_all(emu, client):
    """In a notebook, "auto" makes the kernel's widget display: a one-page read must not
    leave an empty one behind (a reporter is made only when a second page comes)."""
    from ccpandas.report.progress import set_default_reporter_factory

    made = []

    def factory():
        made.append(Recorder())
        return made[-1]

    set_default_reporter_factory(factory)
    try:
        read_contact_lists(client)
        read_contacts(client, limit=500)
        assert made == []
        read_contacts(client, limit=100, status="all")
        assert len(made) == 1 and made[0].calls[-1] == ("finish", "read", 4)
    finally:
        set_default_reporter_factory(None)


def test_a_before_bound_finer_than_milliseconds_keeps_the_contact_created_just_before(emu, client):
    # The API writes times to the millisecond: a contact created at T is before T + 1 µs,
    # so created_before must not round that bound down to T (it is exclusive).
    emu.configure(timestamps="milliseconds")
    every = ccpandas.read_contacts(client, status="all", progress=False)
    first = every.sort_values("created_at").iloc[0]
    bound = first.created_at + pd.Timedelta(microseconds=1)
    found = ccpandas.read_contacts(client, status="all", created_before=bound, progress=False)
    assert first.contact_id in found.contact_id.tolist()
    assert (found.created_at < bound).all()
    # An after bound finer than milliseconds still leaves that contact out.
    later = ccpandas.read_contacts(client, status="all", created_after=bound, progress=False)
    assert first.contact_id not in later.contact_id.tolist()


def test_a_segment_read_answered_202_accepted_is_sent_again_until_complete(emu, client):
    # The spec: a segment read may answer 202 (accepted, not complete: retry for the
    # completed results). Its empty body is not the segment's contacts.
    emu.configure(segment_pending_reads=2)
    members = read_contacts(client, segment_id=1, progress=False)
    expected = [c.contact_id for c in emu.account.segment_members(1)]
    assert members.contact_id.tolist() == expected and expected
    assert emu.account.count(method="GET", route="/v3/contacts", status=202) == 2
    assert client.stats.requests == 3  # the two 202s count as requests too


def test_a_segment_read_that_stays_202_is_an_error_not_an_empty_frame(emu):
    emu.configure(segment_pending_reads=50)
    with (
        Client(token=emu.token, base_url=emu.base_url, rate=None, max_attempts=3) as client,
        pytest.raises(APIError, match="202") as caught,
    ):
        read_contacts(client, segment_id=1, progress=False)
    assert caught.value.status == 202
    assert emu.account.count(method="GET", route="/v3/contacts", status=202) == 3


def test_a_segment_read_answered_202_is_no_warning_and_counts_from_the_setting(emu, client, caplog):
    # A 202 is the API still working, not a failure: it was logged as a WARNING
    # "failed (HTTP 202 ...)". And configure(segment_pending_reads=N) counted reads
    # made before it, so a segment read twice already answered 200 at once.
    read_contacts(client, segment_id=1, progress=False)
    read_contacts(client, segment_id=1, progress=False)
    emu.configure(segment_pending_reads=1)
    with caplog.at_level("INFO", logger="ccpandas"):
        read_contacts(client, segment_id=1, progress=False)
    assert emu.account.count(method="GET", route="/v3/contacts", status=202) == 1
    assert not [r for r in caplog.records if r.levelname == "WARNING"], caplog.text
    assert "not complete yet" in caplog.text and "failed" not in caplog.text
