"""``python -m benchmarks``: run the benchmark table (see :func:`benchmarks.harness.main`)."""

from __future__ import annotations

import os

# Before any framework loads: TensorFlow's C++ start-up chatter would drown the table.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from benchmarks.harness import main  # noqa: E402

if __name__ == "__main__":
    raise SystemExit(main())
