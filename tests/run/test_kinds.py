"""Kinds plug in at one place: the journal's word maps back to the kind that rebuilds a
run, and a word this version does not know is refused with what to do."""

from __future__ import annotations

import pytest

from ccpandas.errors import CCError
from ccpandas.run.kinds import KINDS, kind_of
from ccpandas.store.journal import RUN_KINDS
from ccpandas.vocab import RunKind


def test_every_journal_word_has_a_kind_and_none_is_a_removal() -> None:
    assert set(RUN_KINDS) == {str(k) for k in KINDS}
    assert kind_of(None).word is RunKind.REMOVE
    assert kind_of("undo").word is RunKind.UNDO
    assert len({k.verified_column for k in KINDS.values()}) == len(KINDS)


def test_an_unknown_kind_says_to_upgrade() -> None:
    with pytest.raises(CCError, match=r"'mirror'.*upgrade ccpandas"):
        kind_of("mirror")


def test_a_summary_is_computed_once_per_state_of_the_run(monkeypatch) -> None:
    import pandas as pd

    from ccpandas.api import run_plan
    from ccpandas.plan.planner import plan_removal
    from ccpandas.run import result as result_module

    plan = plan_removal(
        pd.Series(["8b54d1f4-5b0e-11ee-8c99-0242ac120002"]), "2d0e3a5c-8a1d-4d43-9f3e-1c2b3a4d5e6f"
    )
    dry = run_plan(plan, dry_run=True)
    calls: list[object] = []
    real = result_module.Summary.of

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(result_module.Summary, "of", counting)
    assert [dry.ok for _ in range(5)] == [dry.ok] * 5
    repr(dry)
    assert len(calls) == 1  # ok, ok, ... and the repr: one summary
    dry.runs[0].state = "completed"  # the run moved on: a new summary
    dry.summary()
    assert len(calls) == 2


def test_a_kind_with_input_rows_must_name_its_rows_column():
    # Without one, its rows' lists column was silently named "".
    from ccpandas.run.kinds import Kind
    from ccpandas.run.summary import ADD_WORDS
    from ccpandas.store.journal import JournalDB

    with pytest.raises(ValueError, match="lists_column"):
        Kind(RunKind.ADD, JournalDB.load_plan, "added_memberships", ADD_WORDS)
