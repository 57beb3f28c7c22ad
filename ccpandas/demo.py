"""Old entry point, kept so ``python -m ccpandas.demo`` works: see :mod:`ccpandas.widgets.demo`."""

from ccpandas.widgets.demo import main

__all__ = ["main"]

if __name__ == "__main__":
    raise SystemExit(main())
