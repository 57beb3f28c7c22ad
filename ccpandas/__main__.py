"""``python -m ccpandas``: the ``ccpandas`` command line (:mod:`ccpandas.cli.main`)."""

from ccpandas.cli.main import main

if __name__ == "__main__":
    raise SystemExit(main())
