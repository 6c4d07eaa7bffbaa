"""``python -m benchmarks.image_quality``: ``ssim_loss`` / ``ms_ssim_loss`` against the libraries.

Images (8, 3, 256, 256) float32 in [0, 1] and a noisy copy; ``data_range=1``; the loss is
``1 - SSIM`` averaged over the batch on both sides; ``fwd+bwd`` adds the gradient of the first
images. Each row runs ours with the convention of the library it is timed against:

=================== ======================================== ==================================
framework/mode      ours                                     native
=================== ======================================== ==================================
torch/eager         ``ssim_loss(x, y)`` (NCHW)               ``1 - pytorch_msssim.ssim``
torch/eager         ``ssim_loss(..., convention=             ``1 - torchmetrics``'s
                    "torchmetrics")``                        ``structural_similarity_index_
                                                             measure``
torch/eager         ``ms_ssim_loss`` (both conventions)      ``pytorch_msssim.ms_ssim``,
                                                             torchmetrics' MS-SSIM
tensorflow/function ``tf.function`` of ours, NCHW            ``tf.function`` of
                    (``convention="tensorflow"``)            ``tf.image.ssim`` /
                                                             ``ssim_multiscale`` (NHWC: its
                                                             layout)
jax/jit             ``jax.jit`` of ours, NCHW                ``jax.jit`` of ``dm_pix.ssim``
                    (``convention="tensorflow"``)            (NHWC; it also clips the
                                                             covariance: values differ ~1e-4)
=================== ======================================== ==================================

Timing is :func:`benchmarks.harness.measure` (both sides called once first, compilation timed
apart; interleaved ABBA rounds, one ratio ours/native each; the row gives the median, IQR and
min-max). The process is pinned to one CPU and torch/TF run one thread (``--threads``), as in
``python -m benchmarks``.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from dataclasses import asdict, dataclass, field, replace  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks.harness import Settings, measure, ratio_summary  # noqa: E402

SHAPE = (8, 3, 256, 256)
# dm_pix clips the covariance (|sigma_xy| <= sigma_x sigma_y): about 1e-4 from the others
MISMATCH_RTOL = 1e-3
# Calls of 10 ms to 1 s: one call per batch.
FULL = Settings(rounds=15, batch_s=0.0, max_case_s=30.0, min_rounds=7, warmup=2)
QUICK = Settings(rounds=3, batch_s=0.0, max_case_s=1.0, min_rounds=3, warmup=1)

#: (framework, mode, loss, native library, our convention)
CASES = (
    ("torch", "eager", "ssim", "pytorch_msssim", "pytorch_msssim"),
    ("torch", "eager", "ssim", "torchmetrics", "torchmetrics"),
    ("torch", "eager", "ms_ssim", "pytorch_msssim", "pytorch_msssim"),
    ("torch", "eager", "ms_ssim", "torchmetrics", "torchmetrics"),
    ("tensorflow", "function", "ssim", "tf.image", "tensorflow"),
    ("tensorflow", "function", "ms_ssim", "tf.image", "tensorflow"),
    ("jax", "jit", "ssim", "dm_pix", "tensorflow"),
)


def make_data(shape: Sequence[int] = SHAPE, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, shape).astype(np.float32)
    y = np.clip(x + 0.1 * rng.standard_normal(shape), 0.0, 1.0).astype(np.float32)
    return {"x": x, "y": y}


@dataclass
class Row:
    framework: str
    mode: str
    loss: str
    native: str
    pass_name: str
    shape: tuple[int, ...]
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
    error: str | None = None
    ratios: list[float] = field(default_factory=list)


def _torch_fns(loss: str, native: str, conv: str, d: dict[str, np.ndarray], grad: bool) -> Any:
    import pytorch_msssim
    import torch
    from torchmetrics.functional import image as tm

    import lossbridge as lb

    x, y = torch.from_numpy(d["x"]), torch.from_numpy(d["y"])
    ours_fn = lb.ssim_loss if loss == "ssim" else lb.ms_ssim_loss
    if native == "pytorch_msssim":
        lib = pytorch_msssim.ssim if loss == "ssim" else pytorch_msssim.ms_ssim

        def nat(a: Any) -> Any:
            return 1 - lib(a, y, data_range=1.0)
    else:
        lib = (
            tm.structural_similarity_index_measure
            if loss == "ssim"
            else tm.multiscale_structural_similarity_index_measure
        )

        def nat(a: Any) -> Any:
            return 1 - lib(a, y, data_range=1.0)

    def ours(a: Any) -> Any:
        return ours_fn(a, y, convention=conv)

    def call(f: Callable[[Any], Any]) -> Callable[[], Any]:
        if not grad:
            return lambda: [f(x).detach().numpy()]

        def g() -> Any:
            a = x.clone().requires_grad_(True)
            out = f(a)
            out.backward()
            return [out.detach().numpy(), a.grad.numpy()]

        return g

    return call(ours), call(nat)


def _tf_fns(loss: str, conv: str, d: dict[str, np.ndarray], grad: bool) -> Any:
    import tensorflow as tf

    import lossbridge as lb

    x, y = tf.constant(d["x"]), tf.constant(d["y"])
    xn, yn = tf.constant(np.moveaxis(d["x"], 1, -1)), tf.constant(np.moveaxis(d["y"], 1, -1))
    ours_fn = lb.ssim_loss if loss == "ssim" else lb.ms_ssim_loss
    lib = tf.image.ssim if loss == "ssim" else tf.image.ssim_multiscale

    def ours(a: Any, b: Any) -> Any:
        return ours_fn(a, b, convention=conv)

    def nat(a: Any, b: Any) -> Any:
        return 1 - tf.reduce_mean(lib(a, b, 1.0))

    def compiled(f: Callable[..., Any], a: Any, b: Any, nhwc: bool) -> Callable[[], Any]:
        if not grad:
            fn = tf.function(f)
            return lambda: [fn(a, b).numpy()]

        @tf.function
        def g(a: Any, b: Any) -> Any:
            with tf.GradientTape() as tape:
                tape.watch(a)
                out = f(a, b)
            return out, tape.gradient(out, a)

        def run() -> Any:
            out, ga = g(a, b)
            ga = ga.numpy()
            return [out.numpy(), np.moveaxis(ga, -1, 1) if nhwc else ga]

        return run

    return compiled(ours, x, y, False), compiled(nat, xn, yn, True)


def _jax_fns(conv: str, d: dict[str, np.ndarray], grad: bool) -> Any:
    import dm_pix
    import jax
    import jax.numpy as jnp

    import lossbridge as lb

    x, y = jnp.asarray(d["x"]), jnp.asarray(d["y"])
    xn, yn = jnp.asarray(np.moveaxis(d["x"], 1, -1)), jnp.asarray(np.moveaxis(d["y"], 1, -1))

    def ours(a: Any, b: Any) -> Any:
        return lb.ssim_loss(a, b, convention=conv)

    def nat(a: Any, b: Any) -> Any:
        return 1 - jnp.mean(dm_pix.ssim(a, b, max_val=1.0))

    def compiled(f: Callable[..., Any], a: Any, b: Any, nhwc: bool) -> Callable[[], Any]:
        fn = jax.jit(jax.value_and_grad(f) if grad else f)

        def run() -> Any:
            out = jax.block_until_ready(fn(a, b))
            if not grad:
                return [np.asarray(out)]
            v, ga = out
            ga = np.asarray(ga)
            return [np.asarray(v), np.moveaxis(ga, -1, 1) if nhwc else ga]

        return run

    return compiled(ours, x, y, False), compiled(nat, xn, yn, True)


def _rel(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> float:
    return max(
        float(np.max(np.abs(np.asarray(u, np.float64) - v)) / max(np.max(np.abs(v)), 1e-30))
        for u, v in zip(a, b, strict=True)
    )


def run(
    case: tuple[str, str, str, str, str],
    grad: bool,
    d: dict[str, np.ndarray],
    settings: Settings,
) -> Row:
    fw, mode, loss, native, conv = case
    row = Row(fw, mode, loss, native, "fwd+bwd" if grad else "fwd", tuple(d["x"].shape))
    try:
        if fw == "torch":
            ours, nat = _torch_fns(loss, native, conv, d, grad)
        elif fw == "tensorflow":
            ours, nat = _tf_fns(loss, conv, d, grad)
        else:
            ours, nat = _jax_fns(conv, d, grad)
        t0 = time.perf_counter()
        out_o = ours()
        row.ours_first_call_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        out_n = nat()
        row.native_first_call_s = time.perf_counter() - t0
        row.max_rel_diff = _rel(out_o, [np.asarray(v, np.float64) for v in out_n])
        timing = measure(ours, nat, settings)
        summary = ratio_summary(timing)
        for k, v in summary.items():
            setattr(row, k, v)
        row.ours_ms = float(np.median(timing.ours_s)) * 1e3
        row.native_ms = float(np.median(timing.native_s)) * 1e3
    except Exception as exc:  # noqa: BLE001 - a failed row is reported, the table goes on
        row.error = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        traceback.print_exc()
    return row


HEADER = (
    f"{'framework/mode':<20}{'loss':<9}{'native':<16}{'pass':<8}{'ratio':>7} {'IQR':<11} "
    f"{'min-max':<12}{'ours ms':>9}{'nat. ms':>9}{'1st o s':>8}{'1st n s':>8}{'o vs n':>9}"
)


def format_row(r: Row) -> str:
    head = f"{r.framework + '/' + r.mode:<20}{r.loss:<9}{r.native:<16}{r.pass_name:<8}"
    if r.error:
        return head + f"  ERROR {r.error}"
    note = "" if r.max_rel_diff <= MISMATCH_RTOL else "  MISMATCH"
    return head + (
        f"{r.ratio_median:7.3f} {r.ratio_q25:.2f}-{r.ratio_q75:.2f}   "
        f"{r.ratio_min:.2f}-{r.ratio_max:.2f}   {r.ours_ms:9.1f}{r.native_ms:9.1f}"
        f"{r.ours_first_call_s:8.2f}{r.native_first_call_s:8.2f}{r.max_rel_diff:9.1e}{note}"
    )


def run_section(
    frameworks: set[str],
    *,
    quick: bool = False,
    rounds: int | None = None,
    fwd_only: bool = False,
    shape: Sequence[int] = SHAPE,
) -> list[Row]:
    """The ``image_quality`` section of ``python -m benchmarks``: prints the header and rows for
    the frameworks in ``frameworks`` and returns them."""
    settings = QUICK if quick else FULL
    if rounds is not None:
        settings = replace(settings, rounds=min(settings.rounds, rounds), min_rounds=min(3, rounds))
    print()
    print(
        f"== image_quality: ssim_loss / ms_ssim_loss {'x'.join(map(str, shape))} float32 "
        f"(python -m benchmarks.image_quality; rounds<={settings.rounds}) =="
    )
    print(HEADER)
    print("-" * len(HEADER), flush=True)
    d = make_data(shape)
    rows = []
    for case in CASES:
        if case[0] not in frameworks:
            continue
        for grad in (False,) if fwd_only else (False, True):
            row = run(case, grad, d, settings)
            rows.append(row)
            print(format_row(row), flush=True)
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.image_quality", description=__doc__.split("\n")[0]
    )
    p.add_argument("--quick", action="store_true", help="3 rounds per row: a smoke run")
    p.add_argument("--rounds", type=int, help="rounds per row (upper bound)")
    p.add_argument("--framework", action="append", help="torch, tensorflow or jax")
    p.add_argument("--fwd-only", action="store_true")
    p.add_argument("--shape", default=",".join(map(str, SHAPE)), help="N,C,H,W")
    p.add_argument("--threads", type=int, default=1, help="CPUs and intra-op threads (0: all)")
    p.add_argument("--json", metavar="PATH")
    args = p.parse_args(argv)
    from benchmarks.harness import _pin, _preload

    frameworks = args.framework or ["torch", "tensorflow", "jax"]
    if args.threads:
        _pin(args.threads)
    _preload(frameworks, args.threads)
    rows = run_section(
        set(frameworks),
        quick=args.quick,
        rounds=args.rounds,
        fwd_only=args.fwd_only,
        shape=tuple(int(v) for v in args.shape.split(",")),
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump([asdict(r) for r in rows], f, indent=1)
    return 1 if any(r.error for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
