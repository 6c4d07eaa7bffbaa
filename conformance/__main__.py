"""``python -m lossbridge.conformance``: run the conformance suite and print the matrix.

This is the application, so it (and only it) sets process-wide framework state before the
suite runs: ``TF_CPP_MIN_LOG_LEVEL=2``, ``jax_enable_x64`` enabled before JAX is used, and torch
imported before tensorflow (both bundle native libraries; this order is the one known to work in
one process). Exit status: 0 only if every check that ran passed (and at least one ran), else 1.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import time
from collections.abc import Sequence

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    from lossbridge.conformance.drivers import DRIVERS
    from lossbridge.conformance.registry import REGISTRY
    from lossbridge.conformance.runner import DTYPES

    p = argparse.ArgumentParser(
        prog="python -m lossbridge.conformance",
        description="Run lossbridge's cross-backend conformance suite.",
    )
    p.add_argument(
        "--loss",
        action="append",
        choices=sorted(REGISTRY),
        metavar="NAME",
        help="loss to check (repeatable; default: all)",
    )
    p.add_argument(
        "--backend",
        action="append",
        choices=list(DRIVERS),
        metavar="NAME",
        help=f"backend to check (repeatable; default: every installed one of {', '.join(DRIVERS)})",
    )
    p.add_argument("--dtype", choices=DTYPES, help="one dtype (default: both)")
    p.add_argument(
        "--case",
        action="append",
        metavar="LABEL",
        help="case label to run (repeatable; default: all)",
    )
    p.add_argument(
        "--no-compile",
        action="store_true",
        help="skip the compiled modes (jax.jit, tf.function, torch.compile)",
    )
    p.add_argument("--json", metavar="PATH", help="also write every record to PATH as JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    return p


def _set_up_frameworks(backends: Sequence[str] | None) -> None:
    """Process-wide framework set-up: torch first, JAX float64 on, TF quiet."""
    installed = {n for n in ("torch", "jax", "tensorflow") if importlib.util.find_spec(n)}
    if "torch" in installed:
        import torch  # noqa: F401  (before tensorflow; also the oracle)
    if "jax" in installed:
        import jax

        jax.config.update("jax_enable_x64", True)
    if "tensorflow" in installed and (backends is None or "tensorflow" in backends):
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite from the command line; returns the exit status."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = _parser().parse_args(argv)
    _set_up_frameworks(args.backend)

    from lossbridge.conformance.report import format_report, to_json
    from lossbridge.conformance.runner import DTYPES, Suite

    def progress(line: str) -> None:
        if not args.quiet:
            print(f"[{time.perf_counter() - t0:6.1f}s] {line}", file=sys.stderr, flush=True)

    suite = Suite()
    t0 = time.perf_counter()
    results = suite.run(
        losses=args.loss,
        backends=args.backend,
        dtypes=(args.dtype,) if args.dtype else DTYPES,
        cases=args.case,
        compile=not args.no_compile,
        progress=progress,
    )
    wall = time.perf_counter() - t0
    print(format_report(results, timings=suite.timings))
    print(f"wall time: {wall:.0f}s")
    if args.json:
        to_json(results, args.json, timings=suite.timings)
    ran = [r for r in results if not r.skipped]
    if not ran:
        print("no check ran (nothing selected, or every selected backend is missing)")
        return 1
    return 0 if all(r.passed for r in ran) else 1


if __name__ == "__main__":
    sys.exit(main())
