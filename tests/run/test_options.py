"""The run options and the membership choice: one checked bundle each (pure, no HTTP)."""

from __future__ import annotations

import dataclasses

import pytest

from ccpandas.models import Source
from ccpandas.plan.membership import (
    MembershipPlan,
    MembershipSnapshot,
    membership_meta,
    preview_source,
)
from ccpandas.read.snapshot import SnapshotChoice
from ccpandas.report.progress import NullReporter
from ccpandas.run.clock import ClockFrom
from ccpandas.run.options import RunOptions
from ccpandas.run.runner import Runner


def test_of_checks_every_option_and_names_an_unknown_one():
    options = RunOptions.of(wait=False, timeout=2.5, progress=False, verify=False)
    assert (options.wait, options.timeout, options.progress, options.verify) == (
        False,
        2.5,
        False,
        False,
    )
    assert (options.dry_run, options.wait_for_quota) == (False, False)  # the defaults
    with pytest.raises(TypeError, match="unexpected run option wiat; the options are dry_run"):
        RunOptions.of(wiat=False)
    with pytest.raises(TypeError, match=r"verify must be True or False, not 'no' \(str\)"):
        RunOptions.of(verify="no")
    with pytest.raises(ValueError, match="seconds >= 0"):
        RunOptions.of(timeout=-1)


def test_a_bundle_is_frozen_and_replace_checks_again():
    options = RunOptions.of()
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.wait = False  # type: ignore[misc]
    reporter = NullReporter()
    assert options.replace(progress=reporter).progress is reporter
    assert options.progress == "auto"  # the original is unchanged
    with pytest.raises(TypeError, match="wait_for_quota must be True or False"):
        options.replace(wait_for_quota=1)


def test_pick_takes_the_run_options_among_a_calls_arguments():
    def call(data, *, wait=True, timeout=None, journal=True):
        return RunOptions.pick(locals())

    assert call("df", timeout=5) == RunOptions.of(timeout=5)
    with pytest.raises(TypeError, match="wait must be True or False, not None"):
        call("df", wait=None)


@pytest.mark.parametrize(
    ("given", "words"),
    [
        ({"snapshot": "yes"}, "snapshot must be 'auto', True, False or a snapshot id"),
        ({"snapshot": 1}, "snapshot must be"),
        ({"by": "name"}, "by must be 'auto', 'email' or 'contact_id', not 'name'"),
    ],
)
def test_the_membership_choice_is_checked_when_made(given, words):
    with pytest.raises(ValueError, match=words):
        SnapshotChoice(**given)


def test_the_membership_choice_names_the_read_to_continue():
    assert SnapshotChoice(snapshot="snap-1a2b").snapshot_id == "snap-1a2b"
    assert SnapshotChoice(snapshot="auto").snapshot_id is None
    assert SnapshotChoice(snapshot=True).snapshot_id is None


def test_verify_is_not_part_of_the_pure_plan():
    # A choice of the run: the plan neither keeps nor journals it.
    assert "verify" not in {f.name for f in dataclasses.fields(MembershipPlan)}
    snap = MembershipSnapshot.from_records(["l1"], [])
    m = preview_source(snap, Source.list_ids(["l1"]), ["l1"])
    assert "verify" not in membership_meta(m)


def test_the_quota_gate_is_the_runs_own_set_when_it_starts():
    with pytest.raises(TypeError, match="unexpected run option gate; the options are dry_run"):
        RunOptions.of(gate=None)
    assert "gate" not in repr(RunOptions.of())  # the bundle a user sees names their options
    run = RunOptions.of(progress=False).started(None)
    assert isinstance(run.progress, NullReporter) and run.gate is not None
    assert run.gate.runner.wait_for_quota is False and run.gate.runner.reporter is run.progress
    assert RunOptions.of(dry_run=True).started(None).gate is None  # a dry run spends nothing
    # A plan about to run (the command line's) asks the quota although it sends nothing.
    planned = RunOptions.of(dry_run=True, wait_for_quota=True).started(None, quota=True)
    assert planned.gate is not None and planned.gate.runner.wait_for_quota is True
    assert run == run.replace(gate=None)  # the gate is no part of what the options are


def test_a_clock_without_its_methods_is_refused_when_given() -> None:
    """Before any request: a ClockFrom source without monotonic(), or a falsy non-clock
    (0), is a TypeError where it is given, not at the run's first poll."""

    class NoMonotonic:
        def now(self) -> object:
            return None

    with pytest.raises(TypeError, match="monotonic"):
        ClockFrom(NoMonotonic())
    with pytest.raises(TypeError, match="clock must have"):
        Runner(None, clock=0)
