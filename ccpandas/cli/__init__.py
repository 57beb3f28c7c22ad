"""The ``ccpandas`` command line and the ``make demo`` job (front ends: they only watch runs)."""
