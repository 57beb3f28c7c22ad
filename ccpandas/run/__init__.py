"""Running a plan: the runner, the run's options and quota check, results and summaries.

Depends on ``plan``, ``client`` and ``auth`` below it, and on ``store`` (the journal,
batch states); front ends (tqdm, widgets, the CLI) only watch it through the
:class:`~ccpandas.report.progress.Reporter` interface. Import from the module that
defines a name, e.g. ``from ccpandas.run.runner import Runner``.

Example:
    >>> from ccpandas.run.runner import Runner
    >>> Runner(None).poll_min
    1.0
"""
