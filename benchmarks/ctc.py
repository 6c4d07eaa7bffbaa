"""``python -m benchmarks.ctc``: lossbridge's ``ctc_loss`` against each framework's own CTC.

One shape, the one a speech or OCR batch has: T=200 frames, N=32 sequences, C=30 classes
(blank 0), S=50 padded labels, float32; input lengths drawn from [T-20, T] and target lengths
from [S-10, S] (every sequence feasible). ``reduction='sum'`` on both sides (the same number:
the sum of the per-sequence losses); ``fwd+bwd`` adds the gradient of the logits.

=================== ================================= ==========================================
framework/mode      ours                              native
=================== ================================= ==========================================
torch/eager         ``ctc_loss(x.log_softmax(-1))``   ``F.ctc_loss(x.log_softmax(-1))``
torch/compile       ``torch.compile`` of the above, inductor, ``dynamic=False``; ours with
                    ``fullgraph=True`` (its loop is the ``lossbridge::scan`` operator), native
                    without (``aten._ctc_loss`` has data-dependent output shapes: Dynamo
                    refuses it in a full graph, so the native side runs it after a graph break)
tensorflow/eager    ``ctc_loss(tf.nn.log_softmax(x))``  ``tf.nn.ctc_loss(labels, x, ...)`` with
tensorflow/function ``tf.function`` of the above        dense labels (TF's pure-TF path on CPU)
                                                      or a ``SparseTensor`` (the C++ kernel)
jax/jit             ``jax.jit`` of ours (time-major)    ``jax.jit`` of ``optax.ctc_loss``
                                                        (batch-major logits, paddings)
=================== ================================= ==========================================

Timing is :func:`benchmarks.harness.measure`: both sides called once (first-call time =
compilation/tracing, reported apart) and compared, then interleaved ABBA rounds, each giving one
ratio ours/native; the row reports the median ratio, its IQR and min-max. The process is pinned
to one CPU and torch/TF run one thread (``--threads``), as in ``python -m benchmarks``.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import datetime  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import asdict, dataclass, field, replace  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.harness import Settings, measure, ratio_summary  # noqa: E402

T, N, C, S = 200, 32, 30, 50
# Ours vs native, loss and gradient (max |a - b| / max |b|). float32 gradients of the natives
# are themselves off by 2-4e-4 from float64 (the err columns), hence not 1e-4.
MISMATCH_RTOL = 1e-3

# Calls take 10 ms to seconds here: one call per batch, fewer rounds than the main table.
FULL = Settings(rounds=31, batch_s=0.0, max_case_s=25.0, min_rounds=9, warmup=2)
QUICK = Settings(rounds=3, batch_s=0.0, max_case_s=1.0, min_rounds=3, warmup=1)

CASES = (
    ("torch", "eager", "F.ctc_loss"),
    ("torch", "compile", "F.ctc_loss"),
    ("jax", "jit", "optax.ctc_loss"),
    ("tensorflow", "eager", "tf.nn.ctc_loss dense"),
    ("tensorflow", "eager", "tf.nn.ctc_loss sparse"),
    ("tensorflow", "function", "tf.nn.ctc_loss dense"),
    ("tensorflow", "function", "tf.nn.ctc_loss sparse"),
)


def make_data(seed: int = 0) -> dict[str, np.ndarray]:
    """Float32 logits (T, N, C), int labels (N, S) in [1, C), lengths near the maximum."""
    rng = np.random.default_rng(seed)
    return {
        "logits": rng.standard_normal((T, N, C), dtype=np.float32),
        "labels": rng.integers(1, C, (N, S)).astype(np.int64),
        "input_lengths": rng.integers(T - 20, T + 1, N).astype(np.int64),
        "target_lengths": rng.integers(S - 10, S + 1, N).astype(np.int64),
    }


@dataclass
class Row:
    framework: str
    mode: str
    pass_name: str
    native: str
    ratio_median: float = float("nan")
    ratio_q25: float = float("nan")
    ratio_q75: float = float("nan")
    ratio_min: float = float("nan")
    ratio_max: float = float("nan")
    ours_ms: float = float("nan")
    native_ms: float = float("nan")
    rounds: int = 0
    ours_first_call_s: float = float("nan")
    native_first_call_s: float = float("nan")
    max_rel_diff: float = float("nan")
    ours_err: float = float("nan")
    native_err: float = float("nan")
    error: str | None = None
    ratios: list[float] = field(default_factory=list)


# ------------------------------------------------------------------------------------------
# The two sides of each case
# ------------------------------------------------------------------------------------------


def _torch_pair(d: dict[str, np.ndarray], mode: str, grad: bool) -> tuple[Any, Any, Any]:
    import torch
    import torch.nn.functional as F

    from lossbridge.ctc import ctc_loss

    x = torch.from_numpy(d["logits"])
    y = torch.from_numpy(d["labels"])
    il = torch.from_numpy(d["input_lengths"])
    tl = torch.from_numpy(d["target_lengths"])

    def wrap(loss_fn: Callable[..., Any]) -> Callable[[], Any]:
        def value(x: Any) -> Any:
            return loss_fn(x.log_softmax(-1), y, il, tl, reduction="sum")

        if mode == "compile":
            # F.ctc_loss cannot be compiled with fullgraph=True in torch 2.13 ("Dynamic shape
            # operator aten._ctc_loss"): its side gets a graph break around the op.
            value = torch.compile(value, fullgraph=loss_fn is ctc_loss, dynamic=False)
        if not grad:
            return lambda: value(x)

        def both() -> Any:
            xg = x.detach().requires_grad_(True)
            loss = value(xg)
            return loss, torch.autograd.grad(loss, xg)[0]

        return both

    def outputs(r: Any) -> list[np.ndarray]:
        return [t.detach().numpy() for t in (r if isinstance(r, tuple) else (r,))]

    if mode == "compile":
        ctc_loss(x.log_softmax(-1), y, il, tl)  # dispatch caches warm: no recompile later
    return wrap(ctc_loss), wrap(F.ctc_loss), outputs


def _jax_pair(d: dict[str, np.ndarray], mode: str, grad: bool) -> tuple[Any, Any, Any]:
    import jax
    import jax.numpy as jnp
    import optax

    from lossbridge.ctc import ctc_loss

    x_tm = jnp.asarray(d["logits"])  # (T, N, C): ours
    x_bm = jnp.asarray(d["logits"].transpose(1, 0, 2))  # (N, T, C): optax
    y = jnp.asarray(d["labels"].astype(np.int32))
    il = jnp.asarray(d["input_lengths"].astype(np.int32))
    tl = jnp.asarray(d["target_lengths"].astype(np.int32))
    logit_pad = (jnp.arange(T)[None, :] >= il[:, None]).astype(jnp.float32)
    label_pad = (jnp.arange(S)[None, :] >= tl[:, None]).astype(jnp.float32)

    def ours(x: Any, y: Any, il: Any, tl: Any) -> Any:
        return ctc_loss(jax.nn.log_softmax(x, axis=-1), y, il, tl, reduction="sum")

    def native(x: Any, y: Any, lp: Any, bp: Any) -> Any:
        return jnp.sum(optax.ctc_loss(x, lp, y, bp))

    f_o = jax.jit(jax.value_and_grad(ours) if grad else ours)
    f_n = jax.jit(jax.value_and_grad(native) if grad else native)

    def outputs_o(r: Any) -> list[np.ndarray]:
        return [np.asarray(v) for v in (r if isinstance(r, tuple) else (r,))]

    def outputs(r: Any) -> list[np.ndarray]:  # optax's gradient is batch-major
        if not grad:
            return [np.asarray(r)]
        return [np.asarray(r[0]), np.asarray(r[1]).transpose(1, 0, 2)]

    o = lambda: jax.block_until_ready(f_o(x_tm, y, il, tl))  # noqa: E731
    n = lambda: jax.block_until_ready(f_n(x_bm, y, logit_pad, label_pad))  # noqa: E731
    return o, n, (outputs_o, outputs)


def _tf_pair(d: dict[str, np.ndarray], mode: str, grad: bool, sparse: bool) -> tuple[Any, Any, Any]:
    import tensorflow as tf

    from lossbridge.ctc import ctc_loss

    x = tf.constant(d["logits"])
    y = tf.constant(d["labels"].astype(np.int32))
    il = tf.constant(d["input_lengths"].astype(np.int32))
    tl = tf.constant(d["target_lengths"].astype(np.int32))
    if sparse:
        idx = [[n, s] for n in range(N) for s in range(int(d["target_lengths"][n]))]
        vals = [int(d["labels"][n, s]) for n, s in idx]
        y_native = tf.SparseTensor(idx, tf.constant(vals, tf.int32), [N, S])
        tl_native = None
    else:
        y_native, tl_native = y, tl

    def ours(x: Any) -> Any:
        return ctc_loss(tf.nn.log_softmax(x), y, il, tl, reduction="sum")

    def native(x: Any) -> Any:
        losses = tf.nn.ctc_loss(y_native, x, tl_native, il, logits_time_major=True, blank_index=0)
        return tf.reduce_sum(losses)

    def wrap(fn: Callable[[Any], Any]) -> Callable[[], Any]:
        def both(x: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(x)
                loss = fn(x)
            return loss, tape.gradient(loss, x)

        f = both if grad else fn
        if mode == "function":
            f = tf.function(f)

        def call() -> Any:
            r = f(x)
            (r[0] if grad else r).numpy()  # both sides: synchronise on the loss
            return r

        return call

    def outputs(r: Any) -> list[np.ndarray]:
        return [np.asarray(v) for v in (r if isinstance(r, tuple) else (r,))]

    return wrap(ours), wrap(native), outputs


def build(framework: str, mode: str, native: str, grad: bool, d: dict[str, Any]) -> Any:
    if framework == "torch":
        return _torch_pair(d, mode, grad)
    if framework == "jax":
        return _jax_pair(d, mode, grad)
    return _tf_pair(d, mode, grad, sparse=native.endswith("sparse"))


def _max_rel_diff(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> float:
    worst = 0.0
    for u, v in zip(a, b, strict=True):
        u, v = np.asarray(u, np.float64), np.asarray(v, np.float64)
        if u.shape != v.shape:
            return float("inf")
        worst = max(worst, float(np.max(np.abs(u - v)) / max(np.max(np.abs(v)), 1e-30)))
    return worst


def reference(d: dict[str, np.ndarray], grad: bool) -> list[np.ndarray] | None:
    """torch's F.ctc_loss in float64 on the same data: the loss and d loss / d logits."""
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    x = torch.tensor(d["logits"], dtype=torch.float64, requires_grad=True)
    args = [torch.from_numpy(d[k]) for k in ("labels", "input_lengths", "target_lengths")]
    loss = F.ctc_loss(x.log_softmax(-1), *args, reduction="sum")
    if not grad:
        return [loss.detach().numpy()]
    return [loss.detach().numpy(), torch.autograd.grad(loss, x)[0].numpy()]


def run(
    framework: str, mode: str, native: str, grad: bool, d: dict[str, Any], settings: Settings
) -> Row:
    row = Row(framework, mode, "fwd+bwd" if grad else "fwd", native)
    try:
        ours, nat, outputs = build(framework, mode, native, grad, d)
        out_o, out_n = outputs if isinstance(outputs, tuple) else (outputs, outputs)
        t = time.perf_counter()
        rn = nat()
        row.native_first_call_s = time.perf_counter() - t
        t = time.perf_counter()
        ro = ours()
        row.ours_first_call_s = time.perf_counter() - t
        row.max_rel_diff = _max_rel_diff(out_o(ro), out_n(rn))
        ref = reference(d, grad)
        if ref is not None:
            row.ours_err = _max_rel_diff(out_o(ro), ref)
            row.native_err = _max_rel_diff(out_n(rn), ref)
        timing = measure(ours, nat, settings)
    except Exception as exc:  # a failed row is reported and the run goes on
        row.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        traceback.print_exc(file=sys.stderr)
        return row
    for name, value in ratio_summary(timing).items():
        setattr(row, name, value)
    row.ours_ms = float(np.median(timing.ours_s)) * 1e3
    row.native_ms = float(np.median(timing.native_s)) * 1e3
    return row


def format_row(r: Row) -> str:
    head = f"{r.framework + '/' + r.mode:<20}{r.pass_name:<8}{r.native:<22}"
    if r.error:
        return head + f"ERROR {r.error}"
    note = "" if r.max_rel_diff <= MISMATCH_RTOL else f"  MISMATCH {r.max_rel_diff:.1e}"
    errs = f"{r.ours_err:9.1e}{r.native_err:9.1e}"
    return head + (
        f"{r.ratio_median:7.2f} {r.ratio_q25:5.2f}-{r.ratio_q75:<5.2f} "
        f"{r.ratio_min:5.2f}-{r.ratio_max:<6.2f}{r.ours_ms:9.1f}{r.native_ms:10.1f}"
        f"{r.rounds:7d}{r.ours_first_call_s:8.2f}{r.native_first_call_s:8.2f}"
        f"{r.max_rel_diff:9.1e}{errs}{note}"
    )


HEADER = (
    f"{'framework/mode':<20}{'pass':<8}{'native':<22}{'ratio':>7} {'IQR':<11} {'min-max':<12}"
    f"{'ours ms':>9}{'native ms':>10}{'rounds':>7}{'1st o s':>8}{'1st n s':>8}{'o vs n':>9}"
    f"{'err o':>9}{'err n':>9}"
)


def run_section(
    frameworks: set[str], *, quick: bool = False, rounds: int | None = None, fwd_only: bool = False
) -> list[Row]:
    """The ``ctc`` section of ``python -m benchmarks``: this module's table, same settings.

    Runs after the main table in the same process (pinned CPUs and framework threads as set
    there), for the frameworks in ``frameworks``; prints its header and rows and returns them
    (the JSON's ``ctc`` list).
    """
    settings = QUICK if quick else FULL
    if rounds is not None:
        settings = replace(settings, rounds=min(settings.rounds, rounds), min_rounds=min(3, rounds))
    cases = [c for c in CASES if c[0] in frameworks]
    print()
    print(
        f"== ctc: ctc_loss T={T} N={N} C={C} S={S} float32 (python -m benchmarks.ctc; "
        f"rounds<={settings.rounds}) =="
    )
    print(HEADER)
    print("-" * len(HEADER), flush=True)
    d = make_data()
    rows = []
    for fw, mode, native in cases:
        for grad in (False,) if fwd_only else (False, True):
            row = run(fw, mode, native, grad, d, settings)
            rows.append(row)
            print(format_row(row), flush=True)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.ctc", description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="3 rounds per row: a smoke run")
    p.add_argument("--rounds", type=int, help="rounds per row (upper bound)")
    p.add_argument("--framework", action="append", help="only torch, jax or tensorflow[/mode]")
    p.add_argument("--fwd-only", action="store_true")
    p.add_argument("--threads", type=int, default=1, help="CPUs and intra-op threads (0: all)")
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    settings = QUICK if args.quick else FULL
    if args.rounds:
        settings = replace(settings, rounds=args.rounds, min_rounds=min(args.rounds, 3))
    cases = [
        c
        for c in CASES
        if not args.framework or any(f in (c[0], f"{c[0]}/{c[1]}") for f in args.framework)
    ]
    if args.threads > 0 and hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))[-args.threads :]
        os.sched_setaffinity(0, set(cpus))
    env: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "cpus": os.cpu_count(),
        "threads": args.threads,
        "loadavg": list(os.getloadavg()),
    }
    for fw in ("torch", "jax", "tensorflow"):  # torch before tensorflow
        if any(c[0] == fw for c in cases):
            mod = __import__(fw)
            env[fw] = mod.__version__
            if fw == "jax":
                import optax

                env["optax"] = optax.__version__
            if fw == "torch" and args.threads:
                mod.set_num_threads(args.threads)
            if fw == "tensorflow" and args.threads:
                mod.config.threading.set_intra_op_parallelism_threads(args.threads)
                mod.config.threading.set_inter_op_parallelism_threads(args.threads)
    print(f"ctc_loss T={T} N={N} C={C} S={S} float32, ratio = ours / native (below 1: faster)")
    print("  ".join(f"{k} {v}" for k, v in env.items()))
    print(HEADER)
    print("-" * len(HEADER))
    d = make_data()
    rows = []
    t0 = time.perf_counter()
    for fw, mode, native in cases:
        for grad in (False,) if args.fwd_only else (False, True):
            row = run(fw, mode, native, grad, d, settings)
            rows.append(row)
            print(format_row(row), flush=True)
    env["loadavg_end"] = list(os.getloadavg())
    print(f"\nwall {time.perf_counter() - t0:.0f} s, load average at end {env['loadavg_end']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "environment": env,
                    "settings": asdict(settings),
                    "rows": [asdict(r) for r in rows],
                },
                f,
                indent=1,
            )
    return 1 if any(r.error for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
