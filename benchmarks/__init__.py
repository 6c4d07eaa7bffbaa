"""Speed of lossbridge's losses relative to each framework's native loss.

Run from the repository root::

    python -m benchmarks                 # everything, < 10 min; JSON to benchmark-results.json
    python -m benchmarks --quick         # smoke run
    python -m benchmarks --framework torch --json /tmp/bench.json   # headline rows of torch
    python -m benchmarks --sections memory,overhead
    python -m benchmarks.ctc             # ctc_loss (T=200, N=32, C=30, S=50), its own table

Every number is a ratio ``ours / native`` measured in one process, interleaved round after round
(:mod:`benchmarks.harness`); absolute times are printed only as context. Sections: the
headline cases (:mod:`benchmarks.cases`, the issue's target set in every mode), the extended
suite (:mod:`benchmarks.extra`, every other loss with a native), memory
(:mod:`benchmarks.memory`) and per-call overhead (:mod:`benchmarks.overhead`). Nothing here is a
test: timings are never asserted.
"""
