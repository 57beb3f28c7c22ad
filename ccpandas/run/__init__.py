"""Running a plan: batch states, the runner, progress reporting, the journal, results.

Depends on ``plan``, ``client`` and ``auth`` below it; front ends (tqdm, widgets, the
CLI) only watch it through the :class:`~ccpandas.report.progress.Reporter` interface.

Example:
    >>> from ccpandas.run import BatchState
    >>> BatchState.TIMED_OUT.bad
    True
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ccpandas import _env

if TYPE_CHECKING:
    from ccpandas.report.progress import (
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
    from ccpandas.store.batch import (
        ACCEPTED,
        NOT_SENT,
        BatchRun,
        BatchState,
        Outcome,
    )
    from ccpandas.store.codec import (
        decode_series,
        encode_series,
    )
    from ccpandas.store.journal import (
        DATA_DIR_ENV,
        JOURNAL_FILE,
        JournalDB,
        RunJournal,
        RunLockedError,
        data_dir,
        open_journal,
    )

# Loaded on first use, so importing one module of this package stays cheap.
_LAZY = {
    "ACCEPTED": "ccpandas.store.batch",
    "ActivityProgress": "ccpandas.report.progress",
    "BatchRun": "ccpandas.store.batch",
    "BatchState": "ccpandas.store.batch",
    "DATA_DIR_ENV": "ccpandas.store.journal",
    "JOURNAL_FILE": "ccpandas.store.journal",
    "Journal": "ccpandas.run.runner",
    "JournalDB": "ccpandas.store.journal",
    "NOT_SENT": "ccpandas.store.batch",
    "NullJournal": "ccpandas.run.runner",
    "NullReporter": "ccpandas.report.progress",
    "Outcome": "ccpandas.store.batch",
    "ROW_STATUSES": "ccpandas.run.result",
    "RemovalResult": "ccpandas.run.result",
    "Reporter": "ccpandas.report.progress",
    "RunJournal": "ccpandas.store.journal",
    "RunLockedError": "ccpandas.store.journal",
    "Runner": "ccpandas.run.runner",
    "Snapshot": "ccpandas.report.progress",
    "TqdmReporter": "ccpandas.report.progress",
    "data_dir": "ccpandas.store.journal",
    "decode_series": "ccpandas.store.codec",
    "encode_series": "ccpandas.store.codec",
    "make_reporter": "ccpandas.report.progress",
    "open_journal": "ccpandas.store.journal",
    "set_default_reporter_factory": "ccpandas.report.progress",
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

__getattr__, __dir__ = _env.attach("ccpandas.run", _LAZY, globals(), __all__)
