"""Interleaved ratio timing of ours against native, and the command line.

Method
------
Speed is reported only as the ratio ``ours / native`` of per-call times measured in the same
process, interleaved:

1. Both sides are built and called once (compilation and tracing happen here, timed apart as
   ``first call``); their outputs are compared (a relative difference above ``1e-4`` is flagged).
2. Both are warmed up (calls alternating), and each side gets its own batch size, from its
   median warm-up call, so that a batch of either side lasts about ``Settings.batch_s``.
   Equal-length batches matter on a shared machine: a batch loses time to other processes in
   proportion to its length, so a long ours batch against a short native batch would inflate
   the ratio under load.
3. Each round times a batch of ours calls and a batch of native calls back to back, with
   :func:`time.perf_counter`, alternating which goes first (ABBA), and gives one ratio of
   per-call times. The garbage collector is off during the rounds.
4. The row reports the median ratio over the rounds with its interquartile range and its
   min-max, plus the median per-call times of each side as context.

By default (``--threads 1``) the process is pinned to one CPU before any framework loads and
torch and TensorFlow run one intra-op thread: on a shared two-core machine a second worker
thread makes even an 8x4 kernel wait milliseconds for a busy core (seen as 8 ms
``F.cross_entropy`` calls and 150 µs optax gradients), which swamps the ratios.

The number of rounds is ``Settings.rounds`` unless a case would then take longer than
``Settings.max_case_s``; it never drops below ``Settings.min_rounds``. On a shared machine the
per-call times drift with the load, but both sides of a round see the same load, so the ratio
drifts much less; the IQR says how much.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import json
import os
import platform
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from benchmarks.cases import (
    FRAMEWORKS,
    LOSSES,
    MODES,
    SHAPES,
    SHORT_LOSS,
    Case,
    Pair,
    all_cases,
    build,
)

__all__ = [
    "FULL",
    "QUICK",
    "Result",
    "Settings",
    "Timing",
    "format_summary",
    "format_table",
    "main",
    "measure",
    "run_case",
    "run_pair",
]

MISMATCH_RTOL = 1e-4


@dataclass(frozen=True)
class Settings:
    """How long to measure.

    Attributes
    ----------
    rounds : int
        Rounds per case (each round: one batch of each side).
    batch_s : float
        Target duration, in seconds, of one batch of the slower side.
    max_case_s : float
        Rounds are cut so that a case's rounds take about this long at most...
    min_rounds : int
        ...but never fewer than this many.
    warmup : int
        Warm-up calls of each side after the first call (at least one); the median of their
        times sets the batch size.
    """

    rounds: int = 101
    batch_s: float = 0.004
    max_case_s: float = 2.5
    min_rounds: int = 15
    warmup: int = 3


FULL = Settings()
QUICK = Settings(rounds=5, batch_s=0.001, max_case_s=0.2, min_rounds=3, warmup=1)


@dataclass
class Timing:
    """Raw timings of one case.

    Attributes
    ----------
    number_ours, number_native : int
        Calls per batch of each side.
    ours_s, native_s : list of float
        Per-call seconds of each round's batch.
    ratios : list of float
        ``ours_s[i] / native_s[i]`` for each round.
    """

    number_ours: int
    number_native: int
    ours_s: list[float]
    native_s: list[float]
    ratios: list[float]


@dataclass
class Result:
    """One row of the table (and of the JSON).

    Attributes
    ----------
    loss, shape, framework, mode, pass_name
        The case.
    native : str
        What the native side is.
    ratio_median, ratio_q25, ratio_q75, ratio_min, ratio_max : float
        Statistics of the per-round ratios ours / native (the headline is the median).
    ours_us, native_us : float
        Median per-call microseconds of each side (context only: they move with the load).
    rounds, number_ours, number_native : int
        Rounds, and calls per batch of each side.
    ratio_of_best : float
        Fastest ours batch over fastest native batch: a second, load-resistant estimate.
    ours_first_call_s, native_first_call_s : float
        Seconds of each side's first call (compilation or tracing included).
    max_rel_diff : float
        Largest relative difference between the two sides' outputs (loss and gradient).
    case_wall_s : float
        Seconds the whole case took.
    error, traceback : str or None
        Why the row failed (one line), and the full traceback.
    ratios : list of float
        Every round's ratio.
    """

    loss: str
    shape: tuple[int, int]
    framework: str
    mode: str
    pass_name: str
    native: str = ""
    ratio_median: float = float("nan")
    ratio_q25: float = float("nan")
    ratio_q75: float = float("nan")
    ratio_min: float = float("nan")
    ratio_max: float = float("nan")
    ours_us: float = float("nan")
    native_us: float = float("nan")
    rounds: int = 0
    number_ours: int = 0
    number_native: int = 0
    ratio_of_best: float = float("nan")
    ours_first_call_s: float = float("nan")
    native_first_call_s: float = float("nan")
    max_rel_diff: float = float("nan")
    case_wall_s: float = 0.0
    error: str | None = None
    traceback: str | None = None
    ratios: list[float] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the row was measured (possibly with a flagged mismatch)."""
        return self.error is None and np.isfinite(self.ratio_median)

    @property
    def column(self) -> str:
        """``framework/mode pass``, e.g. ``'torch/eager fwd'``."""
        return f"{self.framework}/{self.mode} {self.pass_name}"


def _time_calls(fn: Callable[[], Any], number: int) -> float:
    """Seconds per call of ``number`` back-to-back calls of ``fn``."""
    t0 = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - t0) / number


def measure(ours: Callable[[], Any], native: Callable[[], Any], settings: Settings) -> Timing:
    """Time ``ours`` against ``native``, interleaved, round after round.

    Parameters
    ----------
    ours, native : callable
        Zero-argument callables, each running one evaluation to completion. Both are assumed
        to have been called once already (compilation done).
    settings : Settings

    Returns
    -------
    Timing
    """
    # Warm up; the median warm-up call of each side calibrates the batch size.
    warm_o: list[float] = []
    warm_n: list[float] = []
    for _ in range(max(1, settings.warmup)):
        warm_o.append(_time_calls(ours, 1))
        warm_n.append(_time_calls(native, 1))
    t_o = float(np.median(warm_o))
    t_n = float(np.median(warm_n))
    n_o = max(1, int(settings.batch_s / max(t_o, 1e-9)))
    n_n = max(1, int(settings.batch_s / max(t_n, 1e-9)))
    per_round = n_o * t_o + n_n * t_n
    rounds = max(settings.min_rounds, min(settings.rounds, int(settings.max_case_s / per_round)))

    ours_s: list[float] = []
    native_s: list[float] = []
    gc.collect()
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(rounds):
            if r % 2 == 0:
                a = _time_calls(ours, n_o)
                b = _time_calls(native, n_n)
            else:
                b = _time_calls(native, n_n)
                a = _time_calls(ours, n_o)
            ours_s.append(a)
            native_s.append(b)
    finally:
        if gc_was_enabled:
            gc.enable()
    ratios = [a / b for a, b in zip(ours_s, native_s, strict=True)]
    return Timing(n_o, n_n, ours_s, native_s, ratios)


def ratio_summary(timing: Timing) -> dict[str, Any]:
    """The per-round ratios of ``timing`` and their median, quartiles, range and count."""
    r = np.asarray(timing.ratios)
    q25, q75 = np.percentile(r, [25, 75])
    return {
        "ratios": [float(v) for v in r],
        "ratio_median": float(np.median(r)),
        "ratio_q25": float(q25),
        "ratio_q75": float(q75),
        "ratio_min": float(r.min()),
        "ratio_max": float(r.max()),
        "rounds": len(r),
    }


def _max_rel_diff(ours: Sequence[np.ndarray], native: Sequence[np.ndarray]) -> float:
    """Largest ``max|a - b| / max|b|`` over the outputs (loss, gradient)."""
    if len(ours) != len(native):
        return float("inf")
    worst = 0.0
    for a, b in zip(ours, native, strict=True):
        a = np.asarray(a, dtype=np.float64)
        b = np.asarray(b, dtype=np.float64)
        if a.shape != b.shape:
            return float("inf")
        scale = max(float(np.max(np.abs(b))) if b.size else 0.0, 1e-30)
        worst = max(worst, float(np.max(np.abs(a - b))) / scale if a.size else 0.0)
    return worst


def _one_line(exc: BaseException, side: str) -> str:
    text = f"{type(exc).__name__}: {exc}".strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return f"{side}: {first}"


def run_case(case: Case, settings: Settings) -> Result:
    """Build, check and time one case; an exception becomes the row's ``error``.

    Parameters
    ----------
    case : Case
    settings : Settings

    Returns
    -------
    Result
    """
    res = Result(case.loss, case.shape, case.framework, case.mode, case.pass_name)
    return run_pair(res, lambda: build(case), settings)


def run_pair(res: Result, make_pair: Callable[[], Pair], settings: Settings) -> Result:
    """Build a :class:`Pair`, check its two sides agree, time them; fill and return ``res``.

    An exception becomes the row's ``error`` (the run goes on).
    """
    t_case = time.perf_counter()
    side = "build"
    try:
        pair = make_pair()
        res.native = pair.native_name
        side = "native"
        t = time.perf_counter()
        out_n = pair.native()
        res.native_first_call_s = time.perf_counter() - t
        side = "ours"
        t = time.perf_counter()
        out_o = pair.ours()
        res.ours_first_call_s = time.perf_counter() - t
        side = "check"
        res.max_rel_diff = _max_rel_diff(pair.outputs(out_o), pair.outputs(out_n))
        side = "timing"
        timing = measure(pair.ours, pair.native, settings)
    except Exception as exc:  # a failing row is recorded and the run goes on
        res.error = _one_line(exc, side)
        res.traceback = traceback.format_exc()
        res.case_wall_s = time.perf_counter() - t_case
        return res
    for name, value in ratio_summary(timing).items():
        setattr(res, name, value)
    res.ours_us = float(np.median(timing.ours_s)) * 1e6
    res.native_us = float(np.median(timing.native_s)) * 1e6
    res.number_ours = timing.number_ours
    res.number_native = timing.number_native
    res.ratio_of_best = min(timing.ours_s) / min(timing.native_s)
    res.case_wall_s = time.perf_counter() - t_case
    return res


# ------------------------------------------------------------------------------------------
# Formatting
# ------------------------------------------------------------------------------------------

_COLUMNS = (
    ("loss", 5, "<"),
    ("shape", 9, "<"),
    ("framework", 10, "<"),
    ("mode", 8, "<"),
    ("pass", 7, "<"),
    ("ratio", 6, ">"),
    ("IQR", 11, ">"),
    ("min-max", 11, ">"),
    ("ours µs", 9, ">"),
    ("native µs", 9, ">"),
    ("rounds", 6, ">"),
)


def _fmt_us(us: float) -> str:
    if not np.isfinite(us):
        return "-"
    return f"{us:.1f}" if us < 1000 else f"{us:.0f}"


def format_header() -> str:
    """The table's header line and rule."""
    head = " ".join(f"{name:{align}{width}}" for name, width, align in _COLUMNS) + "  note"
    return head + "\n" + "-" * len(head)


def format_row(res: Result) -> str:
    """One table line for ``res``; a failed row shows its error in the note column."""
    if res.ok:
        cells = (
            f"{res.ratio_median:.2f}",
            f"{res.ratio_q25:.2f}-{res.ratio_q75:.2f}",
            f"{res.ratio_min:.2f}-{res.ratio_max:.2f}",
            _fmt_us(res.ours_us),
            _fmt_us(res.native_us),
            str(res.rounds),
        )
        note = ""
        if not res.max_rel_diff <= MISMATCH_RTOL:
            note = f"MISMATCH: outputs differ by {res.max_rel_diff:.1e} (relative)"
    else:
        cells = ("-",) * 6
        note = f"ERROR {res.error}"
    values = (
        SHORT_LOSS.get(res.loss, res.loss),
        "x".join(str(d) for d in res.shape),
        res.framework,
        res.mode,
        res.pass_name,
        *cells,
    )
    line = " ".join(
        f"{v:{align}{width}}" for v, (_, width, align) in zip(values, _COLUMNS, strict=True)
    )
    return (line + "  " + note).rstrip()


def format_table(results: Sequence[Result]) -> str:
    """The full table: header and one line per result."""
    return "\n".join([format_header(), *(format_row(r) for r in results)])


def format_summary(results: Sequence[Result]) -> str:
    """Median ratios pivoted: one line per framework/mode/pass, one column per loss and shape.

    The last column is the worst (largest) ratio of the line; the last line the worst of each
    column. ``err`` marks a failed row.
    """
    cols: list[tuple[str, tuple[int, int]]] = []
    lines: list[str] = []
    cell: dict[tuple[str, str, tuple[int, int]], Result] = {}
    for r in results:
        key = (r.loss, tuple(r.shape))
        if key not in cols:
            cols.append(key)
        if r.column not in lines:
            lines.append(r.column)
        cell[(r.column, r.loss, tuple(r.shape))] = r
    names = [f"{SHORT_LOSS.get(loss, loss)} {'x'.join(map(str, s))}" for loss, s in cols]
    width = max([12, *(len(n) for n in names)])
    first = max([len("worst"), *(len(n) for n in lines)])
    out = [f"{'median ratio':<{first}} " + " ".join(f"{n:>{width}}" for n in names)]
    out[0] += f" {'worst':>7}"
    out.append("-" * len(out[0]))
    col_worst: list[float] = [float("nan")] * len(cols)

    def text(v: float | None) -> str:
        if v is None:
            return "-"
        return "err" if not np.isfinite(v) else f"{v:.2f}"

    for line in lines:
        vals: list[float | None] = []
        for j, (loss, shape) in enumerate(cols):
            r = cell.get((line, loss, shape))
            if r is None:
                vals.append(None)
                continue
            v = r.ratio_median if r.ok else float("nan")
            vals.append(v)
            if np.isfinite(v) and not v <= col_worst[j]:
                col_worst[j] = v
        finite = [v for v in vals if v is not None and np.isfinite(v)]
        worst = max(finite) if finite else None
        out.append(
            f"{line:<{first}} "
            + " ".join(f"{text(v):>{width}}" for v in vals)
            + f" {text(worst):>7}"
        )
    out.append("-" * len(out[0]))
    out.append(f"{'worst':<{first}} " + " ".join(f"{text(v):>{width}}" for v in col_worst))
    return "\n".join(out)


# ------------------------------------------------------------------------------------------
# Environment and command line
# ------------------------------------------------------------------------------------------


SECTIONS = (
    "headline",
    "ctc",
    "extra",
    "memory",
    "overhead",
    "precision",
    "linear_ce",
    "image_quality",
)
#: Where an unfiltered ``python -m benchmarks`` writes its JSON unless ``--json`` says otherwise.
DEFAULT_JSON = "benchmark-results.json"


def _run_extra(frameworks: set[str], settings: Settings, args: argparse.Namespace) -> list[Result]:
    """The extended suite (:mod:`benchmarks.extra`): one mode per loss, shorter settings."""
    from benchmarks.extra import EXTRA_SETTINGS_KW, build_extra, specs

    extra_settings = settings if args.quick else replace(settings, **EXTRA_SETTINGS_KW)
    if args.rounds is not None:
        extra_settings = replace(extra_settings, rounds=min(extra_settings.rounds, args.rounds))
    print()
    print(
        f"== extra: every other loss with a native (rounds<={extra_settings.rounds}, "
        f"<= {extra_settings.max_case_s:g} s per row) =="
    )
    print(format_extra_header(), flush=True)
    out = []
    for spec in specs(frameworks):
        for grad in (False, True):
            res = Result(
                spec.loss, spec.shape, spec.framework, spec.mode, "fwd+bwd" if grad else "fwd"
            )
            res = run_pair(
                res, lambda spec=spec, grad=grad: build_extra(spec, grad), extra_settings
            )
            out.append(res)
            print(format_extra_row(res), flush=True)
            if res.error and args.verbose:
                print(res.traceback, file=sys.stderr, flush=True)
    return out


def format_extra_header() -> str:
    """Header of the extended table."""
    head = (
        f"{'loss':<32} {'shape':<10} {'framework/mode':<18} {'pass':<7} {'ratio':>6} "
        f"{'IQR':>11} {'ours µs':>9} {'native µs':>9}  native"
    )
    return head + "\n" + "-" * len(head)


def format_extra_row(res: Result) -> str:
    """One line of the extended table."""
    shape = "x".join(str(d) for d in res.shape)
    fm = f"{res.framework}/{res.mode}"
    if not res.ok:
        return f"{res.loss:<32} {shape:<10} {fm:<18} {res.pass_name:<7} ERROR {res.error}"
    note = res.native
    if not res.max_rel_diff <= MISMATCH_RTOL:
        note = f"MISMATCH {res.max_rel_diff:.1e}; " + note
    return (
        f"{res.loss:<32} {shape:<10} {fm:<18} {res.pass_name:<7} {res.ratio_median:6.2f} "
        f"{res.ratio_q25:5.2f}-{res.ratio_q75:<5.2f} {_fmt_us(res.ours_us):>9} "
        f"{_fmt_us(res.native_us):>9}  {note}"
    )


def format_extra_summary(results: Sequence[Result]) -> str:
    """Worst median ratio of the extended rows per framework/mode and pass."""
    worst: dict[str, tuple[float, str]] = {}
    for r in results:
        if not r.ok:
            continue
        key = r.column
        if key not in worst or r.ratio_median > worst[key][0]:
            worst[key] = (r.ratio_median, r.loss)
    lines = ["extra: worst median ratio per column"]
    for key, (v, loss) in worst.items():
        lines.append(f"  {key:<26} {v:6.2f}  ({loss})")
    return "\n".join(lines)


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def environment(frameworks: Sequence[str]) -> dict[str, Any]:
    """Versions, machine and load, for the header and the JSON."""
    import array_api_compat

    import lossbridge

    env: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "loadavg": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "lossbridge": lossbridge.__version__,
        "git_commit": _git_commit(),
        "numpy": np.__version__,
        "array_api_compat": array_api_compat.__version__,
    }
    mods = {"torch": "torch", "jax": "jax", "tensorflow": "tensorflow"}
    for fw, mod in mods.items():
        if fw in frameworks and mod in sys.modules:
            env[fw] = sys.modules[mod].__version__
    if "torch" in env:
        env["torch_threads"] = sys.modules["torch"].get_num_threads()
    if "tensorflow" in env:
        threading = sys.modules["tensorflow"].config.threading
        env["tensorflow_threads"] = [
            threading.get_intra_op_parallelism_threads(),
            threading.get_inter_op_parallelism_threads(),
        ]
    if "jax" in env:
        try:
            import jaxlib

            env["jaxlib"] = jaxlib.__version__
            import optax

            env["optax"] = optax.__version__
            env["jax_backend"] = sys.modules["jax"].default_backend()
        except Exception as exc:  # pragma: no cover - optax missing: the jax rows will say so
            env["optax"] = f"unavailable ({exc})"
    return env


def _preload(frameworks: Sequence[str], threads: int) -> dict[str, str]:
    """Import the frameworks in a fixed order (torch before tensorflow) and set their threads.

    torch and TensorFlow both bundle native libraries; torch first is the order known to work
    in one process (see ``tests/conftest.py``). A failed import is left for the rows to report.

    Parameters
    ----------
    frameworks : sequence of str
    threads : int
        Intra-op threads for torch (``torch.set_num_threads``) and TensorFlow (intra- and
        inter-op); 0 leaves each framework's default. JAX is left alone: XLA's CPU client
        sizes its own pool.

    Returns
    -------
    dict
        Framework name to a one-line message, for each import or setting that failed.
    """
    failed = {}
    for fw in ("torch", "jax", "tensorflow"):
        if fw not in frameworks:
            continue
        try:
            mod = __import__(fw)
            if fw == "jax":
                __import__("optax")
            if threads and fw == "torch":
                mod.set_num_threads(threads)
            if threads and fw == "tensorflow":
                mod.config.threading.set_intra_op_parallelism_threads(threads)
                mod.config.threading.set_inter_op_parallelism_threads(threads)
        except Exception as exc:
            failed[fw] = f"{type(exc).__name__}: {exc}"
    return failed


def _git_commit() -> str | None:
    """The repository's HEAD commit (read-only ``git rev-parse``), or None outside a checkout."""
    import subprocess

    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=os.path.dirname(os.path.abspath(__file__)),
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (out.stdout.strip() or None) if out.returncode == 0 else None


def _pin(threads: int) -> list[int] | None:
    """Pin this thread (and every thread started after it) to ``threads`` CPUs.

    Called before any framework starts its thread pools, so XLA's pool (which has no thread
    setting) sizes itself to the pinned CPUs too. Returns the CPUs, or None if not pinned.
    """
    if threads <= 0 or not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))
    chosen = allowed[-threads:]
    os.sched_setaffinity(0, set(chosen))
    return chosen


def _parse_filters(values: Sequence[str] | None) -> list[tuple[str, str | None]] | None:
    if not values:
        return None
    out = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if not item:
                continue
            fw, _, mode = item.partition("/")
            if fw not in FRAMEWORKS:
                raise SystemExit(f"--framework: unknown framework {fw!r}; expected {FRAMEWORKS}")
            if mode and mode not in MODES[fw]:
                raise SystemExit(f"--framework: {fw} has modes {MODES[fw]}, not {mode!r}")
            out.append((fw, mode or None))
    return out


def _parse_shape(text: str) -> tuple[int, int]:
    try:
        n, c = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"shape {text!r} is not NxC") from None
    if (n, c) not in SHAPES:
        raise argparse.ArgumentTypeError(f"shape {text!r} is not one of the benchmarked shapes")
    return n, c


def parser() -> argparse.ArgumentParser:
    """The ``python -m benchmarks`` argument parser."""
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="Speed of lossbridge relative to native losses, as interleaved ratios "
        "ours / native (below 1: ours is faster).",
    )
    p.add_argument("--quick", action="store_true", help="few short rounds: a smoke run")
    p.add_argument(
        "--framework",
        action="append",
        metavar="FW[/MODE]",
        help="only these frameworks (numpy, torch, jax, tensorflow), optionally one mode "
        "(torch/compile, tensorflow/function, ...); repeat or separate with commas",
    )
    p.add_argument("--loss", action="append", choices=LOSSES, help="only this loss (repeatable)")
    p.add_argument(
        "--shape", action="append", type=_parse_shape, metavar="NxC", help="only this shape"
    )
    p.add_argument("--fwd-only", action="store_true", help="skip the fwd+bwd cases")
    p.add_argument("--rounds", type=int, metavar="N", help="rounds per case (upper bound)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        metavar="N",
        help="CPUs to pin the process to, and intra-op threads of torch and TensorFlow "
        "(default 1: on a shared machine a second worker thread makes small kernels wait for "
        "a busy core; 0: no pinning, framework defaults)",
    )
    p.add_argument(
        "--sections",
        metavar="LIST",
        help="comma-separated sections to run: headline (the issue's targets, every mode), "
        "ctc (ctc_loss at T=200, N=32, C=30, S=50 against each framework's CTC), "
        "extra (every other loss with a native, one mode each), memory (saved-for-backward "
        "and XLA temporary bytes, one-hot check), overhead ((8, 4) per-call breakdown), "
        "precision (half inputs: torch CPU autocast bf16, torch bf16/f16, JAX and TF bf16 "
        "against each framework's half kernel, time and memory; python -m "
        "benchmarks.precision), linear_ce (chunked linear_cross_entropy at N=4096, D=512, "
        "V=32768 against the materialized logits and torch's chunked op; python -m "
        "benchmarks.linear_ce), image_quality (ssim_loss / ms_ssim_loss at (8, 3, 256, 256) "
        "against pytorch-msssim, torchmetrics, tf.image and dm_pix; python -m "
        "benchmarks.image_quality); "
        "default: all, or headline alone when --loss/--shape/--framework filter it",
    )
    p.add_argument(
        "--json",
        metavar="PATH",
        help="also write every result (and round) here (default for an unfiltered run: "
        f"{DEFAULT_JSON})",
    )
    p.add_argument("--verbose", action="store_true", help="print full tracebacks of failed rows")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected cases, print the table and summary, optionally write JSON.

    Parameters
    ----------
    argv : sequence of str, optional
        Command-line arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        0 if every row was measured, 1 if some row failed.
    """
    args = parser().parse_args(argv)
    settings = QUICK if args.quick else FULL
    if args.rounds is not None:
        if args.rounds < 1:
            raise SystemExit("--rounds must be at least 1")
        settings = replace(
            settings, rounds=args.rounds, min_rounds=min(settings.min_rounds, args.rounds)
        )
    filters = _parse_filters(args.framework)
    cases = all_cases(
        frameworks=None if filters is None else {fw for fw, _ in filters},
        losses=args.loss,
        shapes=args.shape,
        grads=(False,) if args.fwd_only else (False, True),
    )
    if filters is not None:
        cases = [
            c for c in cases if any(c.framework == f and m in (None, c.mode) for f, m in filters)
        ]
    if args.sections:
        sections = {v.strip() for v in args.sections.split(",") if v.strip()}
        unknown = sections - set(SECTIONS)
        if unknown:
            raise SystemExit(f"--sections: unknown {sorted(unknown)}; expected {SECTIONS}")
    elif args.loss or args.shape or args.framework:
        sections = {"headline"}
    else:
        sections = set(SECTIONS)
    if "headline" not in sections:
        cases = []
    if args.json is None and sections == set(SECTIONS) and filters is None:
        args.json = DEFAULT_JSON
    if not cases and sections <= {"headline"}:
        print("no case selected", file=sys.stderr)
        return 1

    t_start = time.perf_counter()
    frameworks = sorted({c.framework for c in cases})
    if sections - {"headline"}:
        wanted = None if filters is None else {fw for fw, _ in filters}
        frameworks = sorted(
            set(frameworks)
            | {f for f in ("torch", "jax", "tensorflow") if wanted is None or f in wanted}
        )
    pinned = _pin(args.threads)
    import_failures = _preload(frameworks, args.threads)
    env = environment(frameworks)
    env["pinned_cpus"] = pinned
    print("lossbridge benchmark: ratio = ours / native per call (below 1: ours is faster)")
    print(
        f"{env['date']}  {env['cpu']}, {env['cpus']} CPUs, load {env['loadavg']}  "
        + "  ".join(
            f"{k} {env[k]}"
            for k in ("python", "numpy", "torch", "jax", "optax", "tensorflow")
            if k in env
        )
    )
    print(
        (f"pinned to CPUs {pinned}" if pinned else "not pinned")
        + f"; threads: torch {env.get('torch_threads', '-')}, "
        f"tensorflow (intra, inter) {env.get('tensorflow_threads', '-')}, jax: XLA's pool"
        + (" (sized by the pinned CPUs)" if pinned else "")
    )
    print(
        f"settings: rounds<={settings.rounds} (>={settings.min_rounds}), batch ~"
        f"{settings.batch_s * 1e3:g} ms, <= {settings.max_case_s:g} s per case, interleaved ABBA"
        + ("  [--quick]" if args.quick else "")
    )
    for fw, msg in import_failures.items():
        print(f"import {fw} failed: {msg}")
    print()
    print(format_header(), flush=True)
    results = []
    for case in cases:
        res = run_case(case, settings)
        results.append(res)
        print(format_row(res), flush=True)
        if res.error and args.verbose:
            print(res.traceback, file=sys.stderr, flush=True)
    ctc_rows: list[Any] = []
    if "ctc" in sections:
        from benchmarks.ctc import run_section

        ctc_rows = run_section(
            set(frameworks), quick=args.quick, rounds=args.rounds, fwd_only=args.fwd_only
        )
    extra_results: list[Result] = []
    if "extra" in sections:
        extra_results = _run_extra(set(frameworks), settings, args)
    memory_records: list[dict[str, Any]] = []
    if "memory" in sections:
        from benchmarks.memory import memory_report

        print()
        print("== memory ==")
        text, memory_records = memory_report(set(frameworks))
        print(text, flush=True)
    overhead_records: list[dict[str, Any]] = []
    if "overhead" in sections and "torch" in frameworks:
        from benchmarks.overhead import overhead_report

        print()
        print("== overhead ==")
        text, overhead_records = overhead_report()
        print(text, flush=True)
        from benchmarks.overhead import check_cost_report

        print()
        text, check_records = check_cost_report(set(frameworks))
        print(text, flush=True)
        overhead_records.append({"value_checks": check_records})
    precision_record: dict[str, Any] = {}
    if "precision" in sections:
        from benchmarks.precision import run_section as precision_section

        precision_record = precision_section(
            set(frameworks), quick=args.quick, rounds=args.rounds, fwd_only=args.fwd_only
        )
    linear_ce_rows: list[Any] = []
    if "linear_ce" in sections:
        from benchmarks.linear_ce import run_section as linear_ce_section

        linear_ce_rows = linear_ce_section(
            set(frameworks), quick=args.quick, rounds=args.rounds, fwd_only=args.fwd_only
        )
    image_quality_rows: list[Any] = []
    if "image_quality" in sections:
        from benchmarks.image_quality import run_section as image_quality_section

        image_quality_rows = image_quality_section(
            set(frameworks), quick=args.quick, rounds=args.rounds, fwd_only=args.fwd_only
        )
    wall = time.perf_counter() - t_start
    print()
    if results:
        print(format_summary(results))
    if extra_results:
        print()
        print(format_extra_summary(extra_results))
    failed = [r for r in [*results, *extra_results] if not r.ok] + [r for r in ctc_rows if r.error]
    failed += [r for r in precision_record.get("rows", []) if r["error"]]
    failed += [r for r in linear_ce_rows if r.error]
    failed += [r for r in image_quality_rows if r.error]
    first_calls = [
        (r.ours_first_call_s, r.native_first_call_s, r)
        for r in results
        if r.ok and r.mode in ("compile", "jit", "function")
    ]
    if first_calls:
        print()
        print("first call (compile/trace) seconds, ours vs native:")
        for o, n, r in first_calls:
            print(
                f"  {SHORT_LOSS[r.loss]:<5} {'x'.join(map(str, r.shape)):<9} {r.column:<26}"
                f" {o:8.2f} {n:8.2f}"
            )
    env["loadavg_end"] = list(os.getloadavg()) if hasattr(os, "getloadavg") else None
    n_rows = len(results) + len(extra_results) + len(ctc_rows)
    n_rows += len(precision_record.get("rows", [])) + len(linear_ce_rows)
    n_rows += len(image_quality_rows)
    print()
    print(
        f"{n_rows} rows, {len(failed)} failed, "
        f"wall {wall:.1f} s "
        f"(load average at end {env['loadavg_end']})"
    )
    if args.json:
        payload = {
            "environment": env,
            "settings": asdict(settings),
            "wall_s": wall,
            "results": [asdict(r) for r in results],
            "extra_results": [asdict(r) for r in extra_results],
            "ctc": [asdict(r) for r in ctc_rows],
            "memory": memory_records,
            "overhead": overhead_records,
            "precision": precision_record,
            "linear_ce": [asdict(r) for r in linear_ce_rows],
            "image_quality": [asdict(r) for r in image_quality_rows],
        }
        with open(args.json, "w") as f:
            json.dump(payload, f, indent=1, default=str)
        print(f"JSON written to {os.path.abspath(args.json)}")
    return 1 if failed else 0
