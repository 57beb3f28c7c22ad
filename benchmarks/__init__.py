"""The ccpandas benchmark suite: ``python -m benchmarks`` (or ``make bench``).

Planning speed and memory (:mod:`benchmarks.bench_plan`), end-to-end runs against the
emulator at the real 4 requests per second (:mod:`benchmarks.bench_e2e`) and import
time (:mod:`benchmarks.bench_import`), each beside a naive baseline measured in the
same run. The results go to ``benchmarks/results.json`` and ``docs/benchmarks.md``.
"""
