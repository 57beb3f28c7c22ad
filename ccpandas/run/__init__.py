"""Running a plan: batch states, the runner, progress reporting, the journal, results.

Depends on ``plan``, ``client`` and ``auth`` below it; front ends (tqdm, widgets, the
CLI) only watch it through the :class:`~ccpandas.run.progress.Reporter` interface.

Example:
    >>> from ccpandas.run import BatchState
    >>> BatchState.TIMED_OUT.bad
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ccpandas import _lazy

if TYPE_CHECKING:
    from ccpandas.run.batch import (
        ACCEPTED,
        NOT_SENT,
        BatchRun,
        BatchState,
        Outcome,
    )
    from ccpandas.run.journal import (
        DATA_DIR_ENV,
        JOURNAL_FILE,
        JournalDB,
        RunJournal,
        RunLockedError,
        data_dir,
        open_journal,
    )
    from ccpandas.run.journal_codec import (
        decode_series,
        encode_series,
    )
    from ccpandas.run.progress import (
        ActivityProgress,
        NullReporter,
        Reporter,
        Snapshot,
        TqdmReporter,
        make_reporter,
        set_default_reporter_factory,
    )
    from ccpandas.run.result import (
        ROW_STATUSES,
        RemovalResult,
    )
    from ccpandas.run.runner import (
        Journal,
        NullJournal,
        Runner,
    )

# Loaded on first use, so importing one module of this package stays cheap.
_LAZY = {
    "ACCEPTED": "ccpandas.run.batch",
    "ActivityProgress": "ccpandas.run.progress",
    "BatchRun": "ccpandas.run.batch",
    "BatchState": "ccpandas.run.batch",
    "DATA_DIR_ENV": "ccpandas.run.journal",
    "JOURNAL_FILE": "ccpandas.run.journal",
    "Journal": "ccpandas.run.runner",
    "JournalDB": "ccpandas.run.journal",
    "NOT_SENT": "ccpandas.run.batch",
    "NullJournal": "ccpandas.run.runner",
    "NullReporter": "ccpandas.run.progress",
    "Outcome": "ccpandas.run.batch",
    "ROW_STATUSES": "ccpandas.run.result",
    "RemovalResult": "ccpandas.run.result",
    "Reporter": "ccpandas.run.progress",
    "RunJournal": "ccpandas.run.journal",
    "RunLockedError": "ccpandas.run.journal",
    "Runner": "ccpandas.run.runner",
    "Snapshot": "ccpandas.run.progress",
    "TqdmReporter": "ccpandas.run.progress",
    "data_dir": "ccpandas.run.journal",
    "decode_series": "ccpandas.run.journal_codec",
    "encode_series": "ccpandas.run.journal_codec",
    "make_reporter": "ccpandas.run.progress",
    "open_journal": "ccpandas.run.journal",
    "set_default_reporter_factory": "ccpandas.run.progress",
}

__all__ = [
    "ACCEPTED",
    "DATA_DIR_ENV",
    "JOURNAL_FILE",
    "NOT_SENT",
    "ROW_STATUSES",
    "ActivityProgress",
    "BatchRun",
    "BatchState",
    "Journal",
    "JournalDB",
    "NullJournal",
    "NullReporter",
    "Outcome",
    "RemovalResult",
    "Reporter",
    "RunJournal",
    "RunLockedError",
    "Runner",
    "Snapshot",
    "TqdmReporter",
    "data_dir",
    "decode_series",
    "encode_series",
    "make_reporter",
    "open_journal",
    "set_default_reporter_factory",
]

__getattr__, __dir__ = _lazy.attach("ccpandas.run", _LAZY, globals(), __all__)
