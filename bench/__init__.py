"""Clare's benchmark harness: real processes, figures beside baselines from the same run.

Run it with ``python -m bench`` (full figures, written to docs/benchmarks.md)
or ``python -m bench --quick`` (a smoke run of every benchmark in seconds).
"""
