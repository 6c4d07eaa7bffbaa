"""``python -m benchmarks.linear_ce``: chunked ``linear_cross_entropy`` vs the materialized loss.

The loss of a language model's head, float32: ``x`` (N, D) hidden states, ``w`` (V, D) and ``b``
(V,) the output layer, ``t`` (N,) class indices. Default N=4096, D=512, V=32768 (the logits
alone: 512 MiB). ``reduction='mean'``; ``fwd+bwd`` adds the gradients of ``x``, ``w``, ``b``.

================== ============================================ ================================
framework/mode     ours (chunked)                               materialized (the baseline)
================== ============================================ ================================
jax/jit            ``jax.jit`` of ``linear_cross_entropy(...,   ``jax.jit`` of
                   options=LinearCrossEntropyOptions(           ``optax.softmax_cross_entropy_
                   batch_chunk_size=B))``                       with_integer_labels(x @ w.T + b,
                                                                t).mean()``
tensorflow/eager   the same call on ``tf`` tensors, eagerly     ``tf.nn.sparse_softmax_cross_
tensorflow/function ... in ``tf.function``                      entropy_with_logits`` of
tensorflow/xla     ... in ``tf.function(jit_compile=True)``     ``x @ w.T + b``, mean, same mode
torch/eager        the same call on ``torch`` tensors           ``F.cross_entropy(F.linear(x, w,
                   (lossbridge's custom operators)              b), t)``
torch/eager:torch  as ``torch/eager``                           torch's own chunked
                                                                ``F.linear_cross_entropy(...,
                                                                options=torch.nn.
                                                                LinearCrossEntropyOptions(
                                                                batch_chunk_size=B))``
================== ============================================ ================================

Time: :func:`benchmarks.harness.measure` (both sides called once first: compilation reported
apart; then interleaved ABBA rounds, one ratio ours/materialized per round; the row gives the
median, IQR and range). Memory, for ``fwd+bwd``:

* JAX: XLA's own accounting, ``jax.jit(f).lower(...).compile().memory_analysis()
  .temp_size_in_bytes`` (temporaries: the arguments and outputs, the same on both sides, left
  out), for both sides.
* torch (CPU): no allocator statistics; the peak column is the resident-set growth of a warm
  call in a fresh process (as ``--rss`` below).
* TensorFlow: its CPU allocator's peak over one (warm) call minus what it held before
  (``tf.config.experimental.get_memory_info("CPU:0")`` after ``reset_memory_stats``): the
  outputs are in it, the arguments are not.
* Every framework: the peak resident-set growth of a warm call in a fresh process (``--rss``;
  Linux): a first call compiles, the peak (``VmHWM``) is reset (``/proc/self/clear_refs``), and
  a second call's peak minus the resident set before it is the row's number. TensorFlow's
  allocator keeps what the first call freed (its second call grows little on either side), so
  the first call's growth (compilation included) is reported too.

``--big`` runs the chunked side alone at N=8192, V=131072 (materialized: 4 GiB of logits, more
than 12 GiB with its gradient and softmax), one ``fwd+bwd`` per framework in a fresh process,
and reports its time and peak resident-set growth.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import asdict, dataclass, field, replace  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.harness import Settings, measure, ratio_summary  # noqa: E402

SHAPE = (4096, 512, 32768)
BIG = (8192, 512, 131072)
CHUNK = 512
# Seconds-long calls: one call per batch, few rounds.
FULL = Settings(rounds=9, batch_s=0.0, max_case_s=60.0, min_rounds=5, warmup=1)
QUICK = Settings(rounds=3, batch_s=0.0, max_case_s=1.0, min_rounds=3, warmup=1)
# float32 loss and gradients of two orders of summation: a few ulps of the largest entry
MISMATCH_RTOL = 1e-4

CASES = (
    ("jax", "jit"),
    ("tensorflow", "eager"),
    ("tensorflow", "function"),
    ("tensorflow", "xla"),
    ("torch", "eager"),
    ("torch", "eager:torch"),
)


def make_data(n: int, d: int, v: int, seed: int = 0) -> dict[str, np.ndarray]:
    """float32 ``x`` (N, D), ``w`` (V, D) scaled by ``D**-0.5`` (logits of order 1), zero
    ``b``, int64 targets."""
    rng = np.random.default_rng(seed)
    return {
        "x": rng.standard_normal((n, d), dtype=np.float32),
        "w": rng.standard_normal((v, d), dtype=np.float32) * np.float32(d**-0.5),
        "b": np.zeros(v, np.float32),
        "t": rng.integers(0, v, n).astype(np.int64),
    }


@dataclass
class Row:
    framework: str
    mode: str
    pass_name: str
    shape: tuple[int, int, int]
    chunk: int
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
    ours_temp_mib: float = float("nan")
    native_temp_mib: float = float("nan")
    ours_rss_mib: float = float("nan")
    native_rss_mib: float = float("nan")
    ours_rss_first_mib: float = float("nan")
    native_rss_first_mib: float = float("nan")
    error: str | None = None
    ratios: list[float] = field(default_factory=list)


# ------------------------------------------------------------------------------------------
# The two sides
# ------------------------------------------------------------------------------------------


def _jax_fns(d: dict[str, np.ndarray], chunk: int, grad: bool) -> tuple[Any, Any, tuple]:
    import jax
    import jax.numpy as jnp
    import optax

    import lossbridge as lb

    x, w, b = (jnp.asarray(d[k]) for k in ("x", "w", "b"))
    t = jnp.asarray(d["t"], dtype=jnp.int32)
    options = lb.LinearCrossEntropyOptions(batch_chunk_size=chunk)

    def ours(x: Any, w: Any, b: Any) -> Any:
        return lb.linear_cross_entropy(x, w, t, linear_bias=b, options=options)

    def native(x: Any, w: Any, b: Any) -> Any:
        return optax.softmax_cross_entropy_with_integer_labels(x @ w.T + b, t).mean()

    if grad:
        ours, native = (jax.value_and_grad(f, (0, 1, 2)) for f in (ours, native))
    return jax.jit(ours), jax.jit(native), (x, w, b)


def _tf_fns(d: dict[str, np.ndarray], chunk: int, grad: bool, mode: str) -> tuple[Any, Any, tuple]:
    import tensorflow as tf

    import lossbridge as lb

    x, w, b, t = (tf.constant(d[k]) for k in ("x", "w", "b", "t"))
    options = lb.LinearCrossEntropyOptions(batch_chunk_size=chunk)

    def ours(x: Any, w: Any, b: Any) -> Any:
        return lb.linear_cross_entropy(x, w, t, linear_bias=b, options=options)

    def native(x: Any, w: Any, b: Any) -> Any:
        logits = tf.linalg.matmul(x, w, transpose_b=True) + b
        return tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(labels=t, logits=logits)
        )

    def with_grad(f: Callable[..., Any]) -> Callable[..., Any]:
        def both(x: Any, w: Any, b: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch([x, w, b])
                loss = f(x, w, b)
            return (loss, *tape.gradient(loss, [x, w, b]))

        return both

    fns = [with_grad(f) if grad else f for f in (ours, native)]
    if mode != "eager":
        fns = [tf.function(f, jit_compile=mode == "xla") for f in fns]
    return fns[0], fns[1], (x, w, b)


def _torch_fns(d: dict[str, np.ndarray], chunk: int, grad: bool, mode: str) -> Any:
    import torch
    import torch.nn.functional as F

    import lossbridge as lb

    x, w, b = (torch.tensor(d[k], requires_grad=grad) for k in ("x", "w", "b"))
    t = torch.tensor(d["t"])
    options = lb.LinearCrossEntropyOptions(batch_chunk_size=chunk)

    def ours(x: Any, w: Any, b: Any) -> Any:
        return lb.linear_cross_entropy(x, w, t, linear_bias=b, options=options)

    if mode == "eager:torch":
        torch_options = torch.nn.LinearCrossEntropyOptions(batch_chunk_size=chunk)

        def native(x: Any, w: Any, b: Any) -> Any:
            return F.linear_cross_entropy(x, w, t, linear_bias=b, options=torch_options)

    else:

        def native(x: Any, w: Any, b: Any) -> Any:
            return F.cross_entropy(F.linear(x, w, b), t)

    def with_grad(f: Callable[..., Any]) -> Callable[..., Any]:
        def both(x: Any, w: Any, b: Any) -> Any:
            loss = f(x, w, b)
            return (loss.detach(), *torch.autograd.grad(loss, (x, w, b)))

        return both

    fns = [with_grad(f) if grad else torch.no_grad()(f) for f in (ours, native)]
    return fns[0], fns[1], (x, w, b)


def build(fw: str, mode: str, d: dict[str, np.ndarray], chunk: int, grad: bool) -> Any:
    """``(ours, native, args)``: two functions of ``args`` and the arguments."""
    if fw == "jax":
        return _jax_fns(d, chunk, grad)
    if fw == "torch":
        return _torch_fns(d, chunk, grad, mode)
    return _tf_fns(d, chunk, grad, mode)


def _numpy(out: Any) -> list[np.ndarray]:
    outs = out if isinstance(out, (tuple, list)) else (out,)
    flat: list[Any] = []
    for o in outs:
        flat.extend(o if isinstance(o, (tuple, list)) else (o,))
    return [np.asarray(o.detach() if hasattr(o, "detach") else o) for o in flat]


def _max_rel_diff(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> float:
    return max(
        float(np.max(np.abs(u - v)) / max(np.max(np.abs(v)), 1e-30))
        for u, v in zip(a, b, strict=True)
    )


def jax_temp_mib(f: Any, args: tuple) -> float:
    """XLA's temporary buffers of the jitted ``f`` (MiB)."""
    return f.lower(*args).compile().memory_analysis().temp_size_in_bytes / 2**20


def tf_peak_mib(f: Any, args: tuple) -> float:
    """Peak growth of TensorFlow's CPU allocator over one call of ``f`` (MiB)."""
    import tensorflow as tf

    tf.config.experimental.reset_memory_stats("CPU:0")
    before = tf.config.experimental.get_memory_info("CPU:0")["current"]
    _numpy(f(*args))
    return (tf.config.experimental.get_memory_info("CPU:0")["peak"] - before) / 2**20


# ------------------------------------------------------------------------------------------
# Resident-set growth, in a fresh process
# ------------------------------------------------------------------------------------------


def _status_mib(field: str) -> float:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in MiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise KeyError(field)


def rss_child(fw: str, mode: str, side: str, shape: Sequence[int], chunk: int) -> dict:
    """In this (fresh) process: the peak RSS growth of one warm ``fwd+bwd`` call of ``side``.

    A first call compiles; then the peak (``VmHWM``) is reset to the current RSS (Linux:
    ``5`` written to ``/proc/self/clear_refs``) and a second call runs: its growth is peak minus
    the RSS before it. ``first_growth_mib`` is the growth over the first call (compilation in).
    """
    if fw == "jax":
        import jax  # noqa: F401
    elif fw == "torch":
        import torch  # noqa: F401
    else:
        import tensorflow  # noqa: F401
    d = make_data(*shape)
    ours, native, args = build(fw, mode, d, chunk, grad=True)
    f = ours if side == "ours" else native
    base = _status_mib("VmRSS")
    t0 = time.perf_counter()
    _numpy(f(*args))
    first_s = time.perf_counter() - t0
    first = _status_mib("VmHWM") - base
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    base = _status_mib("VmRSS")
    t0 = time.perf_counter()
    _numpy(f(*args))
    second_s = time.perf_counter() - t0
    return {
        "rss_growth_mib": _status_mib("VmHWM") - base,
        "first_growth_mib": first,
        "first_s": first_s,
        "second_s": second_s,
    }


def rss(fw: str, mode: str, side: str, shape: Sequence[int], chunk: int) -> dict:
    """:func:`rss_child` run in a subprocess (``-m benchmarks.linear_ce --rss-child``)."""
    cmd = [
        sys.executable,
        "-m",
        "benchmarks.linear_ce",
        "--rss-child",
        f"{fw},{mode},{side}",
        "--shape",
        ",".join(map(str, shape)),
        "--chunk",
        str(chunk),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        tail = out.stderr.strip().splitlines()[-1:] or ["no output"]
        raise RuntimeError(f"{fw}/{mode} {side}: exit {out.returncode}: {tail[0]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------------------
# Rows
# ------------------------------------------------------------------------------------------


def run(
    fw: str,
    mode: str,
    grad: bool,
    d: dict[str, np.ndarray],
    chunk: int,
    settings: Settings,
    with_rss: bool = False,
) -> Row:
    n, dim = d["x"].shape
    row = Row(fw, mode, "fwd+bwd" if grad else "fwd", (n, dim, d["w"].shape[0]), chunk)
    try:
        ours, native, args = build(fw, mode, d, chunk, grad)
        t = time.perf_counter()
        rn = _numpy(native(*args))
        row.native_first_call_s = time.perf_counter() - t
        t = time.perf_counter()
        ro = _numpy(ours(*args))
        row.ours_first_call_s = time.perf_counter() - t
        row.max_rel_diff = _max_rel_diff(ro, rn)
        if fw == "jax":
            row.ours_temp_mib = jax_temp_mib(ours, args)
            row.native_temp_mib = jax_temp_mib(native, args)
        elif fw == "torch":
            if grad:  # the resident-set growth of a fresh process (no allocator statistics)
                for side in ("ours", "native"):
                    got = rss(fw, mode, side, row.shape, chunk)["rss_growth_mib"]
                    setattr(row, f"{side}_temp_mib", got)
        else:
            row.ours_temp_mib = tf_peak_mib(ours, args)
            row.native_temp_mib = tf_peak_mib(native, args)
        timing = measure(lambda: _numpy(ours(*args)), lambda: _numpy(native(*args)), settings)
        if with_rss and grad:
            for side in ("ours", "native"):
                res = rss(fw, mode, side, row.shape, chunk)
                setattr(row, f"{side}_rss_mib", res["rss_growth_mib"])
                setattr(row, f"{side}_rss_first_mib", res["first_growth_mib"])
    except Exception as exc:  # a failed row is reported and the run goes on
        row.error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        traceback.print_exc(file=sys.stderr)
        return row
    for name, value in ratio_summary(timing).items():
        setattr(row, name, value)
    row.ours_ms = float(np.median(timing.ours_s)) * 1e3
    row.native_ms = float(np.median(timing.native_s)) * 1e3
    return row


HEADER = (
    f"{'framework/mode':<20}{'pass':<8}{'B':>6}{'ratio':>7} {'IQR':<11} {'min-max':<12}"
    f"{'ours ms':>9}{'mat. ms':>9}{'1st o s':>8}{'1st m s':>8}{'o vs m':>9}"
    f"{'peak o/m MiB':>16}{'RSS o/m MiB':>15}{'RSS 1st o/m':>15}"
)


def format_row(r: Row) -> str:
    head = f"{r.framework + '/' + r.mode:<20}{r.pass_name:<8}{r.chunk:>6}"
    if r.error:
        return head + f"  ERROR {r.error}"
    note = "" if r.max_rel_diff <= MISMATCH_RTOL else f"  MISMATCH {r.max_rel_diff:.1e}"
    temp = "" if np.isnan(r.ours_temp_mib) else f"{r.ours_temp_mib:.0f}/{r.native_temp_mib:.0f}"
    mem = "" if np.isnan(r.ours_rss_mib) else f"{r.ours_rss_mib:.0f}/{r.native_rss_mib:.0f}"
    mem1 = (
        ""
        if np.isnan(r.ours_rss_first_mib)
        else f"{r.ours_rss_first_mib:.0f}/{r.native_rss_first_mib:.0f}"
    )
    return head + (
        f"{r.ratio_median:7.2f} {r.ratio_q25:5.2f}-{r.ratio_q75:<5.2f} "
        f"{r.ratio_min:5.2f}-{r.ratio_max:<6.2f}{r.ours_ms:9.0f}{r.native_ms:9.0f}"
        f"{r.ours_first_call_s:8.2f}{r.native_first_call_s:8.2f}{r.max_rel_diff:9.1e}"
        f"{temp:>16}{mem:>15}{mem1:>15}{note}"
    )


def run_section(
    frameworks: set[str],
    *,
    quick: bool = False,
    rounds: int | None = None,
    fwd_only: bool = False,
    shape: Sequence[int] = SHAPE,
    chunks: Sequence[int] = (CHUNK,),
    with_rss: bool = False,
) -> list[Row]:
    """The ``linear_cross_entropy`` table for the frameworks in ``frameworks``: prints the
    header and rows and returns them (for ``python -m benchmarks`` and this module's CLI)."""
    settings = QUICK if quick else FULL
    if rounds is not None:
        settings = replace(settings, rounds=min(settings.rounds, rounds), min_rounds=min(3, rounds))
    n, dim, v = shape
    print()
    print(
        f"== linear_cross_entropy: N={n} D={dim} V={v} float32, chunked / materialized "
        f"(python -m benchmarks.linear_ce; rounds<={settings.rounds}) =="
    )
    print(HEADER)
    print("-" * len(HEADER), flush=True)
    d = make_data(n, dim, v)
    rows = []
    for fw, mode in CASES:
        if fw not in frameworks and f"{fw}/{mode}" not in frameworks:
            continue
        for chunk in chunks:
            for grad in (False,) if fwd_only else (False, True):
                row = run(fw, mode, grad, d, chunk, settings, with_rss=with_rss)
                rows.append(row)
                print(format_row(row), flush=True)
    return rows


def run_big(frameworks: set[str], chunk: int) -> list[dict]:
    """The chunked ``fwd+bwd`` at N=8192, V=131072, once per framework, each in a fresh process."""
    out = []
    for fw, mode in (("jax", "jit"), ("tensorflow", "function"), ("torch", "eager")):
        if fw not in frameworks:
            continue
        try:
            res = rss(fw, mode, "ours", BIG, chunk)
        except RuntimeError as exc:
            res = {"error": str(exc)}
        res.update(framework=fw, mode=mode, shape=BIG, chunk=chunk)
        print(json.dumps(res), flush=True)
        out.append(res)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.linear_ce", description=__doc__.split("\n")[0]
    )
    p.add_argument("--quick", action="store_true", help="3 rounds per row: a smoke run")
    p.add_argument("--rounds", type=int, help="rounds per row (upper bound)")
    p.add_argument("--framework", action="append", help="jax, tensorflow or torch[/mode]")
    p.add_argument("--fwd-only", action="store_true")
    p.add_argument("--shape", default=",".join(map(str, SHAPE)), help="N,D,V")
    p.add_argument("--chunk", default=str(CHUNK), help="batch_chunk_size, or a list: 256,1024")
    p.add_argument("--rss", action="store_true", help="also peak RSS growth, fresh processes")
    p.add_argument("--big", action="store_true", help="the chunked side at N=8192, V=131072")
    p.add_argument("--json", metavar="PATH")
    p.add_argument("--rss-child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    shape = tuple(int(s) for s in args.shape.split(","))
    chunks = [int(s) for s in args.chunk.split(",")]
    if args.rss_child:
        fw, mode, side = args.rss_child.split(",")
        print(json.dumps(rss_child(fw, mode, side, shape, chunks[0])))
        return 0
    frameworks = set(args.framework or ("jax", "tensorflow", "torch"))
    env = {"loadavg": list(os.getloadavg()), "cpus": os.cpu_count()}
    t0 = time.perf_counter()
    if args.big:
        rows: list[Any] = run_big({f.split("/")[0] for f in frameworks}, chunks[0])
    else:
        rows = run_section(
            frameworks,
            quick=args.quick,
            rounds=args.rounds,
            fwd_only=args.fwd_only,
            shape=shape,
            chunks=chunks,
            with_rss=args.rss,
        )
    env["loadavg_end"] = list(os.getloadavg())
    print(
        f"\nwall {time.perf_counter() - t0:.0f} s, "
        f"load average {env['loadavg']} -> {env['loadavg_end']}"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "environment": env,
                    "rows": [r if isinstance(r, dict) else asdict(r) for r in rows],
                },
                f,
                indent=1,
            )
    return 1 if any((r.get("error") if isinstance(r, dict) else r.error) for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
