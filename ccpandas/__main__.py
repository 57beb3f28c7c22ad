"""``python -m ccpandas``: the ``ccpandas`` command line (:mod:`ccpandas.widgets.cli`)."""

from ccpandas.widgets.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
