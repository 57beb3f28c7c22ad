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
