"""``ccpandas add`` and ``ccpandas sync``: the same flags, confirmation, summary and
exit codes as ``remove``, against the emulator."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest

import ccpandas
from ccpandas.vocab import ExitCode


def members_of(api, list_id: str) -> set[str]:
    return set(ccpandas.read_contacts(api, lists=[list_id])["contact_id"])


def test_add_by_email_puts_the_contacts_on_the_list(cli, api, lists, tmp_path: Path) -> None:
    target = lists["list_id"].iloc[1]
    everyone = ccpandas.read_contacts(api)
    outside = everyone[~everyone["contact_id"].isin(members_of(api, target))].head(12)
    path = tmp_path / "new.csv"
    pd.DataFrame({"email": [*outside["email"], "nobody@nowhere.example", "junk"]}).to_csv(
        path, index=False
    )
    name = lists["name"].iloc[1]
    refused = cli("add", str(path), "--lists", name, "--column", "email")
    assert refused.code == ExitCode.USAGE and "--yes" in refused.err
    ran = cli("add", str(path), "--lists", name, "--column", "email", "--yes", "--json")
    assert ran.code == ExitCode.OK, ran.err
    report = json.loads(ran.out)
    assert report["command"] == "add" and report["outcome"] == "completed"
    assert report["rows_by_status"] == {
        "added": 12,
        "not_a_contact": 1,
        "invalid_email": 1,
    }
    assert set(outside["contact_id"]) <= members_of(api, target)
    runs = json.loads(cli("runs", "--json").out)
    assert runs[0]["kind"] == "add"


def test_sync_guard_and_sync(cli, api, lists, tmp_path: Path) -> None:
    target = lists["list_id"].iloc[0]
    members = sorted(members_of(api, target))
    path = tmp_path / "segment.csv"
    pd.DataFrame({"contact_id": members[:1]}).to_csv(path, index=False)
    name = lists["name"].iloc[0]
    guarded = cli("sync", str(path), "--lists", name, "--yes")
    assert guarded.code == ExitCode.USAGE, guarded.err
    # The command line's words: --max-removed, none (Python's max_removed, None).
    assert "raise --max-removed (none turns the guard off)" in guarded.err, guarded.err
    assert members_of(api, target) == set(members)
    bad = cli("sync", str(path), "--lists", name, "--max-removed", "2.5", "--yes")
    assert bad.code == ExitCode.USAGE and "--max-removed" in bad.err
    ran = cli("sync", str(path), "--lists", name, "--max-removed", "none", "--yes", "--json")
    assert ran.code == ExitCode.OK, ran.err
    report = json.loads(ran.out)
    assert report["command"] == "sync" and report["outcome"] == "completed"
    assert members_of(api, target) == {members[0]}
    undo = cli("undo", report["run_id"], "--yes", "--json")
    assert undo.code == ExitCode.OK, undo.err
    assert members_of(api, target) == set(members)
    again = cli("resume", report["run_id"], "--json")  # over: not refused, says the undo
    said = f"undone by run {json.loads(undo.out)['run_id']}"
    assert again.code == ExitCode.OK and said in json.loads(again.out)["notes"], again.out


def test_sync_summary_names_the_change_the_reread_verified(cli, api, lists, tmp_path: Path):
    target = lists["list_id"].iloc[0]
    members = sorted(members_of(api, target))
    name = lists["name"].iloc[0]
    path = tmp_path / "segment.csv"
    pd.DataFrame({"contact_id": members[:1]}).to_csv(path, index=False)
    ran = cli("sync", str(path), "--lists", name, "--max-removed", "none", "--yes")
    assert ran.code == ExitCode.OK, ran.err
    line = next(x for x in ran.out.splitlines() if x.startswith(f"  list       {name}:"))
    # Every verified pair left the list: none was added.
    assert f"removed (verified by reading the list) {len(members) - 1:,}" in line, line
    assert "added" not in line
    pd.DataFrame({"contact_id": members[1:3]}).to_csv(path, index=False)
    ran = cli("sync", str(path), "--lists", name, "--max-removed", "none", "--yes", "--json")
    report = json.loads(ran.out)
    assert report["pairs_by_outcome"] == {"added": 2, "removed": 1}
    assert report["verified_word"] == "changed" and report["lists"][0]["verified"] == 3


class _Terminal(io.StringIO):
    """Standard input that is a terminal, with the user's typed answer."""

    def isatty(self) -> bool:
        return True


def _add_four(cli, api, lists, tmp_path: Path) -> tuple[str, pd.DataFrame, str]:
    """Add 4 contacts to the second list from the command line: (list, contacts, run)."""
    target = lists["list_id"].iloc[1]
    everyone = ccpandas.read_contacts(api)
    outside = everyone[~everyone["contact_id"].isin(members_of(api, target))].head(4)
    path = tmp_path / "new.csv"
    outside[["contact_id"]].to_csv(path, index=False)
    added = cli("add", str(path), "--lists", target, "--snapshot", "yes", "--yes", "--json")
    assert added.code == ExitCode.OK, added.err
    return target, outside, json.loads(added.out)["run_id"]


def test_undo_of_an_add_asks_to_take_the_contacts_off(cli, api, lists, tmp_path: Path):
    # The question said "put its removed contacts back on their lists" for every run,
    # while the undo of an add takes contacts off: the user confirmed the opposite.
    target, outside, run_id = _add_four(cli, api, lists, tmp_path)
    asked = cli("undo", run_id, stdin=_Terminal("n\n"))
    assert asked.code == ExitCode.USAGE and "[y/N]" in asked.err
    question = asked.err.splitlines()[0]
    assert "take the contacts it added off their lists" in question, question
    assert "put its removed contacts back" not in question
    # The panel's words, from one place: a bound, the undo's fresh read decides.
    assert (
        ": take the contacts it added off their lists (up to 4 memberships on 1 list)?" in question
    )
    assert set(outside["contact_id"]) <= members_of(api, target)  # not confirmed: unchanged
    ran = cli("undo", run_id, stdin=_Terminal("y\n"))
    assert ran.code == ExitCode.OK, ran.err
    assert not set(outside["contact_id"]) & members_of(api, target)


def test_sync_without_a_snapshot_is_refused_before_any_request(cli, emu, lists, tmp_path: Path):
    # --snapshot no cannot sync (Python refuses snapshot=False before any request); the
    # command read the account's lists first to resolve the name, then refused.
    path = tmp_path / "segment.csv"
    pd.DataFrame({"contact_id": emu.account.contact_ids()[:3]}).to_csv(path, index=False)
    before = len(emu.account.request_log)
    ran = cli("sync", str(path), "--lists", lists["name"].iloc[0], "--snapshot", "no", "--yes")
    assert ran.code == ExitCode.USAGE and "--snapshot no cannot sync" in ran.err, ran.err
    assert len(emu.account.request_log) == before


def test_undo_dry_run_shows_the_preview_and_sends_nothing(cli, api, emu, lists, tmp_path: Path):
    # `ccpandas undo` had no --dry-run: a command-line user confirmed an undo without
    # the preview (per-list counts, cost, what cannot go back) Python's dry_run shows.
    target, outside, run_id = _add_four(cli, api, lists, tmp_path)
    before = emu.account.count(method="POST")
    shown = cli("undo", run_id, "--dry-run")  # no --yes: a preview asks nothing
    assert shown.code == ExitCode.OK, shown.err
    assert "dry run" in shown.out.lower() and "4" in shown.out, shown.out
    assert "[y/N]" not in shown.err
    assert emu.account.count(method="POST") == before  # nothing sent
    assert set(outside["contact_id"]) <= members_of(api, target)
    report = json.loads(cli("undo", run_id, "--dry-run", "--json").out)
    assert report["command"] == "undo" and report["dry_run"] is True, report
    assert emu.account.count(method="POST") == before


def test_a_sync_dry_run_names_its_change_as_the_sync_will(cli, api, lists, tmp_path) -> None:
    # A sync that both adds and removes: its --json said verified_word "added" before it
    # ran (the kind's word), "changed" after; cli.md: "changed" for a sync that both
    # added and removed. The preview names the change the run will make.
    target = lists["list_id"].iloc[0]
    members = sorted(members_of(api, target))
    outside = sorted(set(ccpandas.read_contacts(api)["contact_id"]) - set(members))
    path = tmp_path / "segment.csv"
    pd.DataFrame({"contact_id": [*members[:2], *outside[:3]]}).to_csv(path, index=False)
    args = ("sync", str(path), "--lists", str(target), "--max-removed", "none", "--json")
    preview = json.loads(cli(*args, "--dry-run").out)
    assert preview["outcome"] == "planned" and preview["rows_by_status"]["planned"] == 3
    assert preview["verified_word"] == "changed"
    assert members_of(api, target) == set(members)  # a preview sends nothing
    unverified = json.loads(cli(*args, "--yes", "--verify", "none").out)
    assert unverified["verified_word"] == "changed"
    assert members_of(api, target) == {*members[:2], *outside[:3]}


def test_undo_dry_run_prints_the_preview_python_shows(cli, api, lists, tmp_path: Path):
    # cli.md: `undo --dry-run` prints the undo's preview (per-list counts, its cost, what
    # cannot go back), as ccpandas.undo(RUN_ID, dry_run=True) does. It printed only a
    # "Dry run: planned" summary (rows not_sent), none of the preview's lines.
    target, _, run_id = _add_four(cli, api, lists, tmp_path)
    shown = cli("undo", run_id, "--dry-run")
    assert shown.code == ExitCode.OK, shown.err
    name = lists.set_index("list_id").loc[target, "name"]
    words = " ".join(shown.out.split())
    assert f"will be taken off 4 ({name} 4)" in words and "cost " in words, shown.out


@pytest.mark.emulator(lists=51)
def test_add_or_sync_to_more_than_50_lists_exits_2_before_any_request(
    cli, emu, tmp_path: Path
) -> None:
    # A contact can be a member of at most 50 lists: 51 names are refused before the
    # listing that would resolve them, and the add is never sent (it ended api_error).
    acct = emu.account
    path = tmp_path / "few.csv"
    pd.DataFrame({"contact_id": acct.contact_ids("active")[:3]}).to_csv(path, index=False)
    names = ",".join(acct.lists[lid].name for lid in acct.list_ids())
    for command in ("add", "sync"):
        ran = cli(command, str(path), "--lists", names, "--yes")
        assert ran.code == ExitCode.USAGE, ran.err
        assert "51 target lists given" in ran.err and "at most 50 lists" in ran.err, ran.err
        assert "split the lists across runs" in ran.err and "Nothing was changed" in ran.err
    assert acct.count() == 0


@pytest.mark.emulator(lists=53)
def test_contacts_refused_for_want_of_room_are_shown_and_written_to_output(
    cli, emu, tmp_path: Path
) -> None:
    # The refusal said "the error's values are their rows' values", words for Python,
    # and named one of 12 contacts: a CLI user could not tell which rows to drop.
    acct = emu.account
    lists = acct.list_ids()
    crowded, fine = acct.contact_ids("active")[:12], acct.contact_ids("active")[12]
    for lid in lists:
        acct.remove_members(lid, [*crowded, fine])
    for lid in lists[:49]:
        acct.add_members(lid, crowded)
    emails = [acct.contact(c).email for c in crowded]
    path, out = tmp_path / "in.csv", tmp_path / "refused.csv"
    given = [*emails, acct.contact(fine).email, emails[0].upper()]
    pd.DataFrame({"email": given}).to_csv(path, index=False)
    targets = ",".join(lists[50:])
    run = ("add", str(path), "--lists", targets, "--column", "email", "--yes")
    ran = cli(*run)
    assert ran.code == ExitCode.USAGE, ran.err
    assert "12 contacts on more than 50 lists" in ran.err and "and 2 more" in ran.err
    assert all(repr(e) in ran.err for e in emails[:10]) and "error's values" not in ran.err
    assert "Give --output PATH to write their 13 rows" in ran.err, ran.err
    ran = cli(*run, "--output", str(out))
    assert ran.code == ExitCode.USAGE and f"Wrote their 13 rows to {out}" in ran.err, ran.err
    assert sorted(pd.read_csv(out)["email"]) == sorted([*emails, emails[0].upper()])
    assert acct.count(method="POST") == 0
    # An error naming a few of the column's values (five examples of 40 bad ids) is no
    # list of rows: --output, the user's results file, is left as it was.
    out.write_text("kept\n")
    pd.DataFrame({"contact_id": [f"x{i}@example.com" for i in range(40)]}).to_csv(path, index=False)
    ran = cli("remove", str(path), "--lists", lists[0], "--by", "contact_id", "--output", str(out))
    assert ran.code == ExitCode.USAGE and "no valid contact id" in ran.err, ran.err
    assert "Wrote" not in ran.err and "--output PATH" not in ran.err
    assert out.read_text() == "kept\n" and acct.count(method="POST") == 0


def test_a_sync_s_contacts_line_says_they_are_not_all_the_file_s(cli, api, lists, tmp_path: Path):
    # A sync of one id from a list of N members touched N contacts; the summary said
    # "N unique valid ids" of a file that held one.
    target = lists["list_id"].iloc[0]
    members = sorted(members_of(api, target))
    path = tmp_path / "segment.csv"
    pd.DataFrame({"contact_id": [*members[:1], "junk"]}).to_csv(path, index=False)
    ran = cli("sync", str(path), "--lists", target, "--max-removed", "none", "--yes")
    assert ran.code == ExitCode.OK, ran.err
    line = [x for x in ran.out.splitlines() if x.startswith("  contacts ")][-1]  # the summary's
    assert line.endswith(f"{len(members):,} (the file's and the lists' other members)"), line
