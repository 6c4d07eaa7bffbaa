"""``python -m benchmarks.precision``: half precision, speed and memory against each framework.

The ``precision`` section of ``python -m benchmarks`` (issue 14, "Speed and memory"). Every
ratio is ours / native per call, measured in the same process with
:func:`benchmarks.harness.measure` (interleaved ABBA rounds; the row reports the median ratio and
its IQR). On a shared machine the per-call times move with the load; the ratios much less.

=================== ==================================== =======================================
rows                ours                                 native
=================== ==================================== =======================================
torch/autocast-bf16 ``lb.cross_entropy``,                ``F.cross_entropy``,
                    ``lb.binary_cross_entropy_with_      ``F.binary_cross_entropy_with_logits``
                    logits`` under ``torch.autocast(     under the same autocast
                    'cpu', torch.bfloat16)``
torch/bf16, f16     the same, no autocast, half logits   F on the same half inputs (its half
                    (the float32-internal rule)          kernel)
jax/jit-bf16        ``jax.jit`` of ours, bf16 inputs     ``jax.jit`` of optax's
                                                         ``softmax_cross_entropy_with_integer_
                                                         labels`` / ``sigmoid_binary_cross_
                                                         entropy``, ``.mean()``
tensorflow/*-bf16   ours, eager and ``tf.function``      ``tf.reduce_mean`` of
                                                         ``tf.nn.sparse_softmax_cross_entropy_
                                                         with_logits`` / ``sigmoid_cross_
                                                         entropy_with_logits``
=================== ==================================== =======================================

Inputs: ``benchmarks.cases.make_data`` at (4096, 1000): standard-normal logits rounded to the
half dtype (under autocast: bfloat16 logits, as an autocast ``Linear`` makes them), int64
class indices (int32 on JAX) or {0, 1} targets (float32 under autocast, the logits' dtype
elsewhere). ``fwd+bwd`` adds the gradient of the logits. ``err`` columns: each side's largest
``|a - b| / max |b|`` from the float64 value and gradient on the same rounded inputs.

Memory: bytes autograd saves for backward (:func:`benchmarks.memory.torch_saved_bytes`, ours
against F, under autocast and on half inputs) and XLA's temporary bytes of the compiled
forward and value-and-grad (``memory_analysis().temp_size_in_bytes``, ours against optax).

Overhead: the rule's cost on a tiny float32 call, torch eager (8, 4): ours / F and, in the same
rounds, the loss without the decorator (``__wrapped__``) / F.

No GPU: the CUDA rows are not measured by this module.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import asdict, replace  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.cases import Pair, make_data  # noqa: E402
from benchmarks.harness import (  # noqa: E402
    QUICK,
    Result,
    Settings,
    _max_rel_diff,
    _pin,
    _preload,
    measure,
    run_pair,
)

__all__ = ["LOSSES", "SHAPE", "run_section", "main"]

SHAPE = (4096, 1000)
LOSSES = ("cross_entropy", "binary_cross_entropy_with_logits")
SHORT = {"cross_entropy": "CE", "binary_cross_entropy_with_logits": "BCEwL"}
#: A call here is 1-30 ms: a few calls per batch, fewer rounds than the main table.
SETTINGS = Settings(rounds=41, batch_s=0.02, max_case_s=4.0, min_rounds=11, warmup=2)
#: The issue's targets: (framework, mode) -> largest median ratio.
TARGETS = {("torch", "autocast-bf16"): 1.10, ("jax", "jit-bf16"): 1.05}
#: (framework, mode, dtype name) of the timed rows.
MODES = (
    ("torch", "autocast-bf16", "bfloat16"),
    ("torch", "bf16", "bfloat16"),
    ("torch", "f16", "float16"),
    ("torch", "bf16-vs-cast", "bfloat16"),
    ("jax", "jit-bf16", "bfloat16"),
    ("tensorflow", "eager-bf16", "bfloat16"),
    ("tensorflow", "function-bf16", "bfloat16"),
)


# ------------------------------------------------------------------------------------------
# Data and the float64 reference
# ------------------------------------------------------------------------------------------


def _data(loss: str, shape: tuple[int, int], dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """float32 arrays holding the values of the half inputs (logits rounded to ``dtype``)."""
    import ml_dtypes

    x, y = make_data(loss, shape)
    half = ml_dtypes.bfloat16 if dtype == "bfloat16" else np.float16
    return x.astype(half).astype(np.float32), y


def reference(loss: str, x: np.ndarray, y: np.ndarray, grad: bool) -> list[np.ndarray]:
    """Mean loss (and its gradient) in float64 on the (rounded) inputs: a plain formula."""
    x = x.astype(np.float64)
    n = x.shape[0]
    if loss == "cross_entropy":
        m = x.max(axis=1, keepdims=True)
        lse = m + np.log(np.exp(x - m).sum(axis=1, keepdims=True))
        value = np.mean(lse[:, 0] - x[np.arange(n), y])
        g = np.exp(x - lse)
        g[np.arange(n), y] -= 1.0
        g /= n
    else:
        t = y.astype(np.float64)
        value = np.mean(np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x))))
        g = (1.0 / (1.0 + np.exp(-x)) - t) / x.size
    return [np.asarray(value), g] if grad else [np.asarray(value)]


def _as_np(t: Any) -> np.ndarray:
    """A NumPy float64 view of a torch / JAX / TensorFlow output of any float dtype."""
    if hasattr(t, "detach"):
        t = t.detach().float().numpy()
    elif type(t).__module__.startswith("tensorflow"):
        t = t.numpy()  # a bfloat16 EagerTensor has no __array__ NumPy accepts
    return np.asarray(t).astype(np.float64)


# ------------------------------------------------------------------------------------------
# The two sides of each row
# ------------------------------------------------------------------------------------------


def _torch_pair(loss: str, mode: str, dtype: str, grad: bool, x_np: Any, y_np: Any) -> Pair:
    import contextlib

    import torch

    import lossbridge as lb

    half = getattr(torch, dtype)
    autocast = mode.startswith("autocast")
    x = torch.from_numpy(x_np).to(half)
    y = torch.from_numpy(y_np)
    if loss != "cross_entropy" and not autocast:
        y = y.to(half)  # targets in the logits' dtype; float32 under autocast
    ours_fn, native_fn = getattr(lb, loss), getattr(torch.nn.functional, loss)
    name = f"F.{loss}" + (" (autocast)" if autocast else f" ({dtype})")
    if mode.endswith("-vs-cast"):
        native_fn, name = _cast_only(ours_fn), "ours without the half kernel (cast, then F)"
    xr = x.clone().requires_grad_(True)

    def side(fn: Callable[..., Any]) -> Callable[[], Any]:
        def run() -> Any:
            ctx = torch.autocast("cpu", dtype=half) if autocast else contextlib.nullcontext()
            with ctx:
                if not grad:
                    return fn(x, y)
                out = fn(xr, y)
            return out, torch.autograd.grad(out, xr)[0]

        return run

    def outputs(out: Any) -> list[np.ndarray]:
        return [_as_np(o) for o in (out if isinstance(out, tuple) else (out,))]

    return Pair(side(ours_fn), side(native_fn), name, outputs)


def _cast_only(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` with torch's half kernels (``_torch_native.HALF``) switched off: the rule casts
    the half arguments to float32 and the float32 path (``F`` on the float32 copies) runs."""
    from lossbridge.backends import _torch_native

    def run(*args: Any) -> Any:
        saved = dict(_torch_native.HALF)
        _torch_native.HALF.clear()
        try:
            return fn(*args)
        finally:
            _torch_native.HALF.update(saved)

    return run


def _jax_pair(loss: str, grad: bool, x_np: Any, y_np: Any) -> Pair:
    import jax
    import jax.numpy as jnp
    import optax

    import lossbridge as lb

    x = jnp.asarray(x_np, dtype=jnp.bfloat16)
    if loss == "cross_entropy":
        y = jnp.asarray(y_np.astype(np.int32))

        def native(x: Any, y: Any) -> Any:
            return optax.softmax_cross_entropy_with_integer_labels(x, y).mean()

    else:
        y = jnp.asarray(y_np, dtype=jnp.bfloat16)

        def native(x: Any, y: Any) -> Any:
            return optax.sigmoid_binary_cross_entropy(x, y).mean()

    ours = getattr(lb, loss)

    def side(fn: Callable[..., Any]) -> Callable[[], Any]:
        f = jax.jit(jax.value_and_grad(fn) if grad else fn)
        return lambda: jax.block_until_ready(f(x, y))

    def outputs(out: Any) -> list[np.ndarray]:
        return [_as_np(o) for o in jax.tree_util.tree_leaves(out)]

    return Pair(side(ours), side(native), f"jax.jit(optax, {SHORT[loss]})", outputs)


def _tf_pair(loss: str, mode: str, grad: bool, x_np: Any, y_np: Any) -> Pair:
    import tensorflow as tf

    import lossbridge as lb

    x = tf.constant(x_np, dtype=tf.bfloat16)
    if loss == "cross_entropy":
        y = tf.constant(y_np)

        def native(x: Any, y: Any) -> Any:
            return tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x)
            )

    else:
        y = tf.constant(y_np, dtype=tf.bfloat16)

        def native(x: Any, y: Any) -> Any:
            return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=x))

    ours = getattr(lb, loss)

    def side(fn: Callable[..., Any]) -> Callable[[], Any]:
        def step(x: Any, y: Any) -> Any:
            if not grad:
                return fn(x, y)
            with tf.GradientTape() as tape:
                tape.watch(x)
                out = fn(x, y)
            return out, tape.gradient(out, x)

        if mode.startswith("function"):
            step = tf.function(step)

        def run() -> Any:
            out = step(x, y)
            (out[0] if grad else out).numpy()
            return out

        return run

    def outputs(out: Any) -> list[np.ndarray]:
        return [_as_np(o) for o in (out if isinstance(out, tuple) else (out,))]

    return Pair(side(ours), side(native), f"tf.nn ({SHORT[loss]}, bf16)", outputs)


def _pair(fw: str, mode: str, dtype: str, loss: str, grad: bool, shape: tuple[int, int]) -> Pair:
    x_np, y_np = _data(loss, shape, dtype)
    if fw == "torch":
        return _torch_pair(loss, mode, dtype, grad, x_np, y_np)
    if fw == "jax":
        return _jax_pair(loss, grad, x_np, y_np)
    return _tf_pair(loss, mode, grad, x_np, y_np)


# ------------------------------------------------------------------------------------------
# Timed rows
# ------------------------------------------------------------------------------------------


def timed_rows(
    frameworks: set[str], settings: Settings, shape: tuple[int, int], fwd_only: bool = False
) -> list[dict[str, Any]]:
    """Every timed row: a :class:`benchmarks.harness.Result` as a dict, plus the accuracy and
    the target."""
    rows = []
    for fw, mode, dtype in MODES:
        if fw not in frameworks:
            continue
        for loss in LOSSES:
            for grad in (False,) if fwd_only else (False, True):
                res = Result(loss, shape, fw, mode, "fwd+bwd" if grad else "fwd")
                made: dict[str, Pair] = {}

                def make(fw=fw, mode=mode, dtype=dtype, loss=loss, grad=grad, made=made) -> Pair:  # noqa: ANN001
                    made["pair"] = _pair(fw, mode, dtype, loss, grad, shape)
                    return made["pair"]

                res = run_pair(res, make, settings)
                row = asdict(res)
                row.update(err_ours=float("nan"), err_native=float("nan"))
                row["target"] = TARGETS.get((fw, mode))
                pair = made.get("pair")
                if pair is not None and res.error is None:
                    x_np, y_np = _data(loss, shape, dtype)
                    ref = reference(loss, x_np, y_np, grad)
                    row["err_ours"] = _max_rel_diff(pair.outputs(pair.ours()), ref)
                    row["err_native"] = _max_rel_diff(pair.outputs(pair.native()), ref)
                rows.append(row)
                print(format_row(row), flush=True)
    return rows


HEADER = (
    f"{'loss':<6}{'framework/mode':<26}{'pass':<8}{'ratio':>6} {'IQR':<11}{'ours ms':>9}"
    f"{'native ms':>10}{'rounds':>7}{'err ours':>10}{'err nat.':>10}  target"
)


def format_row(row: dict[str, Any]) -> str:
    """One line of the timed table."""
    head = f"{SHORT[row['loss']]:<6}{row['framework'] + '/' + row['mode']:<26}{row['pass_name']:<8}"
    if row["error"]:
        return head + f"ERROR {row['error']}"
    target = row["target"]
    verdict = ""
    if target is not None:
        verdict = f"<= {target:.2f} " + ("met" if row["ratio_median"] <= target else "NOT MET")
    return head + (
        f"{row['ratio_median']:6.2f} {row['ratio_q25']:5.2f}-{row['ratio_q75']:<5.2f}"
        f"{row['ours_us'] / 1e3:9.2f}{row['native_us'] / 1e3:10.2f}{row['rounds']:7d}"
        f"{row['err_ours']:10.1e}{row['err_native']:10.1e}  {verdict}"
    )


# ------------------------------------------------------------------------------------------
# Memory
# ------------------------------------------------------------------------------------------


def torch_memory(shape: tuple[int, int]) -> list[dict[str, Any]]:
    """Bytes saved for backward, ours against F: under CPU autocast bf16 and on half inputs."""
    import contextlib

    import torch

    import lossbridge as lb
    from benchmarks.memory import torch_saved_bytes

    out = []
    for mode, dtype in (("autocast-bf16", "bfloat16"), ("bf16", "bfloat16"), ("f16", "float16")):
        half = getattr(torch, dtype)
        autocast = mode.startswith("autocast")
        for loss in LOSSES:
            x_np, y_np = _data(loss, shape, dtype)
            x = torch.from_numpy(x_np).to(half).requires_grad_(True)
            y = torch.from_numpy(y_np)
            if loss != "cross_entropy" and not autocast:
                y = y.to(half)

            def wrap(fn: Callable[..., Any], autocast: bool = autocast, half: Any = half) -> Any:
                def run(a: Any, b: Any) -> Any:
                    ctx = (
                        torch.autocast("cpu", dtype=half) if autocast else contextlib.nullcontext()
                    )
                    with ctx:
                        return fn(a, b)

                return run

            ours = torch_saved_bytes(wrap(getattr(lb, loss)), x, y)
            native = torch_saved_bytes(wrap(getattr(torch.nn.functional, loss)), x, y)
            out.append({"loss": loss, "mode": mode, "shape": shape, "ours": ours, "native": native})
    return out


def jax_memory(shape: tuple[int, int]) -> list[dict[str, Any]]:
    """XLA temporary bytes of the jitted forward and value-and-grad, bf16 inputs."""
    import jax

    out = []
    for loss in LOSSES:
        x_np, y_np = _data(loss, shape, "bfloat16")
        pair_fns = _jax_fns(loss)
        x, y = pair_fns["args"](x_np, y_np)
        rec: dict[str, Any] = {"loss": loss, "mode": "jit-bf16", "shape": shape}
        for side in ("ours", "native"):
            f = pair_fns[side]
            for name, g in (("fwd", f), ("fwd+bwd", jax.value_and_grad(f))):
                comp = jax.jit(g).lower(x, y).compile()
                rec[f"{side} {name}"] = int(comp.memory_analysis().temp_size_in_bytes)
        out.append(rec)
    return out


def _jax_fns(loss: str) -> dict[str, Any]:
    import jax.numpy as jnp
    import optax

    import lossbridge as lb

    if loss == "cross_entropy":
        native = lambda x, y: optax.softmax_cross_entropy_with_integer_labels(x, y).mean()  # noqa: E731

        def args(x: Any, y: Any) -> Any:
            return jnp.asarray(x, jnp.bfloat16), jnp.asarray(y.astype(np.int32))

    else:
        native = lambda x, y: optax.sigmoid_binary_cross_entropy(x, y).mean()  # noqa: E731

        def args(x: Any, y: Any) -> Any:
            return jnp.asarray(x, jnp.bfloat16), jnp.asarray(y, jnp.bfloat16)

    return {"ours": getattr(lb, loss), "native": native, "args": args}


def format_memory(torch_rows: list[dict[str, Any]], jax_rows: list[dict[str, Any]]) -> str:
    lines = []
    if torch_rows:
        lines.append("torch: bytes saved for backward (arguments left out), MB")
        lines.append(f"{'loss':<6}{'mode':<15}{'ours':>9}{'F':>9}")
        for r in torch_rows:
            mb = f"{r['ours'] / 1e6:9.3f}{r['native'] / 1e6:9.3f}"
            lines.append(f"{SHORT[r['loss']]:<6}{r['mode']:<15}{mb}")
    if jax_rows:
        lines.append("XLA temporary bytes (jit, bf16 inputs), MB")
        lines.append(f"{'loss':<6}{'fwd ours':>10}{'optax':>10}{'bwd ours':>10}{'optax':>10}")
        for r in jax_rows:
            lines.append(
                f"{SHORT[r['loss']]:<6}{r['ours fwd'] / 1e6:10.2f}{r['native fwd'] / 1e6:10.2f}"
                f"{r['ours fwd+bwd'] / 1e6:10.2f}{r['native fwd+bwd'] / 1e6:10.2f}"
            )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# The rule's overhead on a tiny float32 call
# ------------------------------------------------------------------------------------------


def overhead(settings: Settings) -> list[dict[str, Any]]:
    """torch eager (8, 4) float32: ours / F and the undecorated loss / F, in the same rounds."""
    import torch

    import lossbridge as lb

    out = []
    for loss in LOSSES:
        x_np, y_np = make_data(loss, (8, 4))
        x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
        ours, bare = getattr(lb, loss), getattr(lb, loss).__wrapped__
        native = getattr(torch.nn.functional, loss)
        t_o = measure(
            lambda o=ours, x=x, y=y: o(x, y), lambda n=native, x=x, y=y: n(x, y), settings
        )
        t_b = measure(lambda o=ours, x=x, y=y: o(x, y), lambda b=bare, x=x, y=y: b(x, y), settings)
        out.append(
            {
                "loss": loss,
                "ratio_ours_native": float(np.median(t_o.ratios)),
                "ratio_ours_bare": float(np.median(t_b.ratios)),
                "us_ours": float(np.median(t_o.ours_s)) * 1e6,
                "us_native": float(np.median(t_o.native_s)) * 1e6,
                "us_rule": float(np.median(np.subtract(t_b.ours_s, t_b.native_s))) * 1e6,
            }
        )
    return out


def format_overhead(rows: list[dict[str, Any]]) -> str:
    lines = [
        "torch eager (8, 4) float32, forward: ours / F, and ours / ours without the decorator "
        "(__wrapped__), each interleaved",
        f"{'loss':<6}{'ours/F':>8}{'ours/bare':>10}{'ours µs':>9}{'F µs':>7}{'rule µs':>9}",
    ]
    for r in rows:
        lines.append(
            f"{SHORT[r['loss']]:<6}{r['ratio_ours_native']:8.2f}{r['ratio_ours_bare']:10.2f}"
            f"{r['us_ours']:9.2f}{r['us_native']:7.2f}{r['us_rule']:9.2f}"
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# Section and command line
# ------------------------------------------------------------------------------------------


def run_section(
    frameworks: set[str],
    *,
    quick: bool = False,
    rounds: int | None = None,
    fwd_only: bool = False,
    shape: tuple[int, int] = SHAPE,
) -> dict[str, Any]:
    """The ``precision`` section of ``python -m benchmarks``: prints its tables, returns the
    JSON record (``rows``, ``memory``, ``overhead``)."""
    settings = QUICK if quick else SETTINGS
    if rounds is not None:
        settings = replace(settings, rounds=min(settings.rounds, rounds), min_rounds=min(3, rounds))
    print()
    print(
        f"== precision: half inputs at {shape[0]}x{shape[1]}, ours / native "
        f"(python -m benchmarks.precision; rounds<={settings.rounds}; CPU only, CUDA rows not "
        "measured) =="
    )
    print(HEADER)
    print("-" * len(HEADER), flush=True)
    rows = timed_rows(frameworks, settings, shape, fwd_only)
    mem_t = torch_memory(shape) if "torch" in frameworks else []
    mem_j = jax_memory(shape) if "jax" in frameworks else []
    print()
    print(format_memory(mem_t, mem_j), flush=True)
    over = []
    if "torch" in frameworks:
        over_settings = QUICK if quick else Settings(rounds=101, batch_s=0.004, max_case_s=2.0)
        over = overhead(over_settings)
        print()
        print(format_overhead(over), flush=True)
    return {"rows": rows, "memory": mem_t + mem_j, "overhead": over}


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.precision", description=__doc__.split("\n")[0]
    )
    p.add_argument("--quick", action="store_true", help="few short rounds: a smoke run")
    p.add_argument("--rounds", type=int, help="rounds per row (upper bound)")
    p.add_argument(
        "--framework", action="append", choices=("torch", "jax", "tensorflow"), help="only these"
    )
    p.add_argument("--fwd-only", action="store_true")
    p.add_argument("--threads", type=int, default=1, help="CPUs and intra-op threads (0: all)")
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    frameworks = set(args.framework or ("torch", "jax", "tensorflow"))
    pinned = _pin(args.threads)
    failed = _preload(sorted(frameworks), args.threads)
    for fw, msg in failed.items():
        print(f"import {fw} failed: {msg}")
    print(f"pinned to CPUs {pinned}; load {list(os.getloadavg())}")
    t0 = time.perf_counter()
    record = run_section(frameworks, quick=args.quick, rounds=args.rounds, fwd_only=args.fwd_only)
    print(f"\nwall {time.perf_counter() - t0:.0f} s, load average at end {list(os.getloadavg())}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(record, f, indent=1, default=str)
    return 1 if any(r["error"] for r in record["rows"]) else 0


if __name__ == "__main__":
    raise SystemExit(main())
