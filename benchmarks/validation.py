"""What the value checks cost: each loss with its checks against the same loss without them.

``python -m benchmarks.validation [--quick] [--framework torch ...] [--markdown]``

Value checks (class indices in range, labels in a set, probabilities in [0, 1], non-negative
lengths, ...) read the arrays, so they run on eager calls only (never while tracing). This
script times, eagerly and on about a million elements, each loss that has such a check as it
is ("checked") and with every check switched off ("unchecked": ``eager_view`` made to return
None, as it does while tracing), in alternating batches, and reports
``min(checked) / min(unchecked) - 1``: the share of the call that the checks cost. Times are
process CPU seconds per call (``time.process_time``, one pinned CPU, one intra-op thread) and
the minimum over the rounds: on a shared, loaded machine the wall-clock median of either side
moves by tens of per cent from round to round, the CPU-time minimum by a few. The target
(issue 8) is below 5%.

A negative cost is real where a check's result lets the loss skip work: the class-index check
returns the targets' range, and a loss whose targets cannot equal ``ignore_index`` then skips
the ignore masks (``nll_loss``, ``cross_entropy``); the range check of ``binary_cross_entropy``'s
input, when it is inside (0, 1), skips the clamp masks of both logs, and ``gaussian_nll_loss``'s
``min(var) >= eps`` skips the clamp of the variance; unchecked, they are always built.
``msle_loss`` checks after the fact (``_validation.check_result``): a value <= -1 makes the loss
inf or NaN, and only then is the domain searched; the checked call reads the result once.

The static checks (shapes, dtypes, reductions, argument kinds) cost microseconds per call,
whatever the size, and are not switched off.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from benchmarks.harness import _pin, _preload

#: Modules whose value checks go through ``eager_view`` (patched to None to switch them off).
_MODULES = (
    "lossbridge._validation",
    "lossbridge.classification",
    "lossbridge.regression",
    "lossbridge.margin",
    "lossbridge.ctc",
    "lossbridge.embedding",
    "lossbridge.lovasz",
    "lossbridge.segmentation",
    "lossbridge.angular_margin",
    "lossbridge.detection",
)

FRAMEWORKS = ("numpy", "torch", "jax", "tensorflow")


@contextlib.contextmanager
def checks_off() -> Iterator[None]:
    """Every value check skipped, as under tracing."""
    import importlib

    saved = []
    for name in _MODULES:
        mod = importlib.import_module(name)
        if hasattr(mod, "eager_view"):
            saved.append((mod, mod.eager_view))
            mod.eager_view = lambda xp, x: None
    try:
        yield
    finally:
        for mod, fn in saved:
            mod.eager_view = fn


def _cases(r: np.random.Generator) -> list[tuple[str, str, Callable[..., Any], dict, dict]]:
    """``(label, check, fn, arrays, kwargs)``: NumPy float32 / int64 arrays of ~1e6 elements."""
    import lossbridge as lb

    f32 = np.float32
    n, c = 4096, 256
    logits = r.standard_normal((n, c)).astype(f32)
    labels = r.integers(0, c, n)
    probs = r.uniform(0.01, 0.99, (1000, 1000)).astype(f32)
    soft = r.uniform(0, 1, (1000, 1000)).astype(f32)
    big = r.standard_normal((1000, 1000)).astype(f32)
    signs = r.choice(np.array([-1.0, 1.0], f32), (1000, 1000))
    seg = r.standard_normal((8, 4, 128, 128)).astype(f32)
    seg_t = r.integers(0, 4, (8, 128, 128))
    seg_p = r.uniform(0, 1, (8, 4, 128, 128)).astype(f32)
    t, nb, k, s = 200, 64, 32, 30
    lp = r.standard_normal((t, nb, k)).astype(f32)
    lp = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
    ctc_t = r.integers(1, k, (nb, s))
    mlm_t = np.full((1024, 64), -1)
    mlm_t[:, :4] = r.integers(0, 64, (1024, 4))
    ce = {"input": logits, "target": labels}
    pair = {"input": probs, "target": soft}
    e1, e2 = (r.standard_normal((65536, 16)).astype(f32) for _ in range(2))
    pairs = {"input1": e1, "input2": e2, "target": r.integers(0, 2, 65536).astype(f32)}
    ctc = {
        "log_probs": lp,
        "targets": ctc_t,
        "input_lengths": np.full(nb, t),
        "target_lengths": r.integers(1, s + 1, nb),
    }
    mlm = {"input": r.standard_normal((1024, 64)).astype(f32), "target": mlm_t}
    small_seg = {"input": seg[:, :, :64, :64], "target": seg_t[:, :64, :64]}
    return [
        ("cross_entropy", "class indices", lb.cross_entropy, ce, {}),
        ("nll_loss", "class indices", lb.nll_loss, ce, {}),
        ("multi_margin_loss", "class indices", lb.multi_margin_loss, ce, {}),
        ("softmax_focal_loss", "class indices", lb.softmax_focal_loss, ce, {}),
        ("categorical_hinge_loss", "class indices", lb.categorical_hinge_loss, ce, {}),
        ("multilabel_margin_loss", "indices in [-1, C)", lb.multilabel_margin_loss, mlm, {}),
        ("binary_cross_entropy", "input, target in [0, 1]", lb.binary_cross_entropy, pair, {}),
        ("gaussian_nll_loss", "var >= 0", lb.gaussian_nll_loss, {**pair, "var": probs}, {}),
        ("msle_loss", "input, target > -1", lb.msle_loss, pair, {}),
        ("hinge_loss", "labels in {-1, 1}", lb.hinge_loss, {"input": big, "target": signs}, {}),
        ("contrastive_loss", "labels in {0, 1}", lb.contrastive_loss, pairs, {}),
        ("dice_loss", "class indices", lb.dice_loss, {"input": seg, "target": seg_t}, {}),
        (
            "dice_loss activation=None",
            "input in [0, 1]",
            lb.dice_loss,
            {"input": seg_p, "target": seg_t},
            {"activation": None},
        ),
        ("lovasz_softmax_loss", "class indices", lb.lovasz_softmax_loss, small_seg, {}),
        ("ctc_loss", "lengths, labels", lb.ctc_loss, ctc, {}),
    ]


def _convert(framework: str, a: np.ndarray) -> Any:
    if framework == "numpy":
        return a
    if framework == "torch":
        import torch

        return torch.from_numpy(a)
    if framework == "jax":
        import jax.numpy as jnp

        return jnp.asarray(a)
    import tensorflow as tf

    return tf.constant(a)


def _block(out: Any) -> Any:
    """Wait for the result (JAX dispatches asynchronously)."""
    return out.block_until_ready() if hasattr(out, "block_until_ready") else out


def _cpu_per_call(fn: Callable[[], Any], number: int) -> float:
    t0 = time.process_time()
    for _ in range(number):
        fn()
    return (time.process_time() - t0) / number


def time_pair(a: Callable[[], Any], b: Callable[[], Any], rounds: int, batch_s: float) -> tuple:
    """Per-call CPU seconds of ``a`` and ``b`` in ``rounds`` alternating (ABBA) batches."""
    gc.collect()
    ta = _cpu_per_call(a, 1)
    tb = _cpu_per_call(b, 1)
    na = max(1, int(batch_s / max(ta, 1e-6)))
    nb = max(1, int(batch_s / max(tb, 1e-6)))
    sa: list[float] = []
    sb: list[float] = []
    gc.disable()
    try:
        for r in range(rounds):
            if r % 2:
                sb.append(_cpu_per_call(b, nb))
                sa.append(_cpu_per_call(a, na))
            else:
                sa.append(_cpu_per_call(a, na))
                sb.append(_cpu_per_call(b, nb))
    finally:
        gc.enable()
    return sa, sb


def run(
    frameworks: Sequence[str], rounds: int, batch_s: float, only: Sequence[str] = ()
) -> list[dict[str, Any]]:
    rows = []
    cases = [c for c in _cases(np.random.default_rng(0)) if not only or c[0] in only]
    for fw in frameworks:
        for label, check, fn, arrays, kwargs in cases:
            conv = {k: _convert(fw, v) for k, v in arrays.items()}

            def checked(fn=fn, conv=conv, kwargs=kwargs) -> Any:
                return _block(fn(**conv, **kwargs))

            def unchecked(fn=fn, conv=conv, kwargs=kwargs) -> Any:
                with checks_off():
                    return _block(fn(**conv, **kwargs))

            checked()
            unchecked()
            sa, sb = time_pair(checked, unchecked, rounds, batch_s)
            rows.append(
                {
                    "framework": fw,
                    "loss": label,
                    "check": check,
                    "cost_pct": 100 * (min(sa) / min(sb) - 1),
                    "median_pct": 100 * (float(np.median(sa)) / float(np.median(sb)) - 1),
                    "unchecked_ms": 1e3 * min(sb),
                }
            )
            r = rows[-1]
            print(
                f"{fw:10s} {label:28s} {r['cost_pct']:+6.1f}% (median {r['median_pct']:+.1f}%) "
                f"of {r['unchecked_ms']:.2f} ms",
                file=sys.stderr,
            )
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    fws = list(dict.fromkeys(r["framework"] for r in rows))
    by = {(r["loss"], r["framework"]): r for r in rows}
    losses = list(dict.fromkeys((r["loss"], r["check"]) for r in rows))
    lines = [
        "| loss | value check | " + " | ".join(fws) + " |",
        "|---|---|" + "---|" * len(fws),
    ]
    for loss, check in losses:
        cells = []
        for fw in fws:
            r = by.get((loss, fw))
            cells.append(
                "" if r is None else f"{r['cost_pct']:+.1f}% of {r['unchecked_ms']:.2f} ms"
            )
        lines.append(f"| `{loss}` | {check} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.validation", description=__doc__)
    p.add_argument("--framework", action="append", choices=FRAMEWORKS)
    p.add_argument("--loss", action="append", default=[], help="only these rows (repeatable)")
    p.add_argument("--quick", action="store_true", help="a few rounds (a smoke test)")
    p.add_argument("--markdown", action="store_true", help="print the table of the docs")
    p.add_argument("--threads", type=int, default=1, help="CPUs to pin to (0: no pinning)")
    args = p.parse_args(argv)
    frameworks = args.framework or list(FRAMEWORKS)
    _pin(args.threads)
    _preload(frameworks, args.threads)
    rows = run(frameworks, 3 if args.quick else 21, 0.02 if args.quick else 0.1, args.loss)
    if args.markdown:
        print(markdown(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
