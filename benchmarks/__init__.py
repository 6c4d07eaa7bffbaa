"""Speed of lossbridge's losses relative to each framework's native loss.

Run from the repository root::

    python -m benchmarks                 # full run (a few minutes)
    python -m benchmarks --quick         # smoke run (under a minute)
    python -m benchmarks --framework torch --json /tmp/bench.json

Every number is a ratio ``ours / native`` measured in one process, interleaved round after round
(:mod:`benchmarks.harness`); absolute times are printed only as context. The cases are in
:mod:`benchmarks.cases`. Nothing here is a test: timings are never asserted.
"""
