"""Per-call overhead at (8, 4), torch eager: where ours' microseconds go.

At (8, 4) every kernel is a few nanoseconds of arithmetic; a call's time is Python and
dispatch. A plain-tensor call of ``cross_entropy`` or ``binary_cross_entropy_with_logits``
takes torch's own loss (:func:`lossbridge.backends.native_loss`,
``backends/_torch_native.py``), so ours is native plus:

* ``gates``: the checks that decide the call is one torch's kernel takes exactly (types,
  dtypes, devices, shapes, arguments), timed alone;
* ``rest`` (``ours - native - gates``): the loss's Python frame, the dict look-up of the
  native module and the ``try`` around the kernel.

For comparison the same call on the generic array-API path (the native look-up switched off,
what every other framework and any call the gates refuse runs) is timed whole and in parts:

* ``setup``: namespace look-up (cached per array type), device, argument conversion, dtype
  check (:func:`lossbridge._inputs.setup`);
* ``validation``: ``check_reduction``, shape/dtype checks and, for class indices, the range
  check (one ``aminmax`` and one host read);
* ``ops``: the array operations of the loss and its reduction.

The aten operations of each side are counted with a ``TorchDispatchMode``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["aten_ops", "check_cost_report", "overhead_report"]


def _median_us(fn: Callable[[], Any], number: int = 200, repeat: int = 15) -> float:
    for _ in range(20):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - t0) / number)
    return float(np.median(times)) * 1e6


def aten_ops(fn: Callable[[], Any]) -> list[str]:
    """The aten operations one call of ``fn`` dispatches, in order."""
    from torch.utils._python_dispatch import TorchDispatchMode

    ops: list[str] = []

    class Rec(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
            ops.append(func.__name__.split(".")[0])
            return func(*args, **(kwargs or {}))

    with Rec():
        fn()
    return ops


def _generic(fn: Callable[[], Any]) -> Callable[[], Any]:
    """``fn`` with the torch native look-up switched off (the generic path)."""
    from lossbridge import backends

    def run() -> Any:
        with backends.native_off():
            return fn()

    return run


def _ce_parts(x: Any, y: Any) -> dict[str, Callable[[], Any]]:
    import torch.nn.functional as F

    import lossbridge as lb
    from lossbridge._inputs import setup
    from lossbridge._reduction import reduce
    from lossbridge._validation import check_reduction
    from lossbridge.backends import _torch_native
    from lossbridge.classification import _check_index_target, _class_axis, _index_nll

    xp, xi, yi, _ = setup(x, target=y, weight=None)

    def validation() -> Any:
        check_reduction("mean")
        ca = _class_axis(xp, xi, "cross_entropy")
        return _check_index_target(xp, xi, yi, ca, -100, "cross_entropy")

    return {
        "total": lambda: lb.cross_entropy(x, y),
        "native": lambda: F.cross_entropy(x, y),
        "gates": lambda: _torch_native._index_call_ok(x, y, None, -100, "mean"),
        "generic": _generic(lambda: lb.cross_entropy(x, y)),
        "setup": lambda: setup(x, target=y, weight=None),
        "validation": validation,
        "ops": lambda: reduce(xp, _index_nll(xp, xi, yi, 1), "mean"),
    }


def _bce_parts(x: Any, y: Any) -> dict[str, Callable[[], Any]]:
    import torch.nn.functional as F

    import lossbridge as lb
    from lossbridge._inputs import promote_floats, setup
    from lossbridge._primitives import bce_with_logits
    from lossbridge._reduction import reduce
    from lossbridge._validation import check_reduction, check_same_shape
    from lossbridge.backends import _torch_native

    xp, xi, yi, _, _ = setup(x, target=y, weight=None, pos_weight=None)

    def validation() -> Any:
        check_reduction("mean")
        check_same_shape(xi, yi, "input", "target")
        return promote_floats(xp, xi, yi, None, None)

    return {
        "total": lambda: lb.binary_cross_entropy_with_logits(x, y),
        "native": lambda: F.binary_cross_entropy_with_logits(x, y),
        "gates": lambda: (
            _torch_native._pair_ok(x, y)
            and _torch_native._fits(None, x)
            and _torch_native._fits(None, x)
        ),
        "generic": _generic(lambda: lb.binary_cross_entropy_with_logits(x, y)),
        "setup": lambda: setup(x, target=y, weight=None, pos_weight=None),
        "validation": validation,
        "ops": lambda: reduce(xp, bce_with_logits(xp, xi, yi), "mean"),
    }


def overhead_report() -> tuple[str, list[dict[str, Any]]]:
    """The overhead section: text and JSON records."""
    import torch

    from benchmarks.cases import make_data

    lines = [
        "torch eager, (8, 4), forward: µs per call (medians of 15 x 200 calls, parts timed alone)",
        f"{'loss':<34} {'ours':>7} {'native':>7} {'ratio':>6} {'gates':>6} {'rest':>6} | "
        f"{'generic':>7} {'ratio':>6} {'setup':>6} {'valid.':>6} {'ops':>6}  "
        "aten ops ours / generic / native",
    ]
    records = []
    for loss, parts_fn in (
        ("cross_entropy", _ce_parts),
        ("binary_cross_entropy_with_logits", _bce_parts),
    ):
        x_np, y_np = make_data(loss, (8, 4))
        x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
        parts = parts_fn(x, y)
        us = {k: _median_us(f) for k, f in parts.items()}
        # The total and the native once more, interleaved with the first measurement.
        us["total"] = min(us["total"], _median_us(parts["total"]))
        us["native"] = min(us["native"], _median_us(parts["native"]))
        rest = us["total"] - us["native"] - us["gates"]
        n_ours = aten_ops(parts["total"])
        n_generic = aten_ops(parts["generic"])
        n_native = aten_ops(parts["native"])
        lines.append(
            f"{loss:<34} {us['total']:7.1f} {us['native']:7.1f} "
            f"{us['total'] / us['native']:6.2f} {us['gates']:6.1f} {rest:6.1f} | "
            f"{us['generic']:7.1f} {us['generic'] / us['native']:6.2f} {us['setup']:6.1f} "
            f"{us['validation']:6.1f} {us['ops']:6.1f}  {len(n_ours)} / {len(n_generic)} / "
            f"{len(n_native)}: {' '.join(n_ours)} | {' '.join(n_generic)} | {' '.join(n_native)}"
        )
        records.append(
            {
                "loss": loss,
                "us": us,
                "rest_us": rest,
                "aten_ours": n_ours,
                "aten_generic": n_generic,
                "aten_native": n_native,
            }
        )
    return "\n".join(lines), records


def _seg_nll_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Segmentation-shaped NLL data: log-probabilities (8, 21, 128, 128), 131k class indices."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((8, 21, 128, 128)).astype(np.float32)
    x = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    return x.astype(np.float32), rng.integers(0, 21, size=(8, 128, 128), dtype=np.int64)


def check_cost_report(frameworks: set[str]) -> tuple[str, list[dict[str, Any]]]:
    """Cost of the class-index value check on large inputs, as a share of the loss call.

    The check (:func:`lossbridge._validation.check_class_indices`: one ``min``/``max`` pair and
    one host read) is timed alone and against the whole forward call, interleaved, eager only
    (under compilation it does not run).
    """
    import lossbridge as lb
    from benchmarks.cases import make_data
    from lossbridge._validation import check_class_indices
    from lossbridge.backends import get_namespace

    lines = [
        "value checks on large inputs, eager: check alone / whole forward call (medians)",
        f"{'loss':<16} {'shape':<14} {'framework':<11} {'check µs':>9} {'call µs':>9} {'share':>7}",
    ]
    records = []
    data = {
        ("cross_entropy", "4096x1000"): make_data("cross_entropy", (4096, 1000)),
        ("nll_loss", "1000x1000"): make_data("nll_loss", (1000, 1000)),
        ("nll_loss", "8x21x128x128"): _seg_nll_data(),
    }
    for fw in ("torch", "numpy", "tensorflow"):
        if fw != "numpy" and fw not in frameworks:
            continue
        for (loss, shape), (x_np, y_np) in data.items():
            if fw == "torch":
                import torch

                x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
            elif fw == "tensorflow":
                import tensorflow as tf

                x, y = tf.constant(x_np), tf.constant(y_np)
            else:
                x, y = x_np, y_np
            xp, _ = get_namespace(y)
            fn = getattr(lb, loss)
            n_classes = x_np.shape[1]
            checks, calls = [], []
            for _ in range(5):
                checks.append(
                    _median_us(
                        lambda xp=xp, y=y, c=n_classes: check_class_indices(xp, y, c, -100), 20, 5
                    )
                )
                calls.append(_median_us(lambda fn=fn, x=x, y=y: fn(x, y), 3, 5))
            c, t = float(np.median(checks)), float(np.median(calls))
            lines.append(f"{loss:<16} {shape:<14} {fw:<11} {c:9.1f} {t:9.1f} {100 * c / t:6.1f}%")
            records.append(
                {"loss": loss, "shape": shape, "framework": fw, "check_us": c, "call_us": t}
            )
    return "\n".join(lines), records
