"""``python -m lossbridge.conformance``: run the conformance suite and print the matrix.

Also the ``lossbridge-conformance`` console script. It checks lossbridge's own losses (all of
them by default, or ``--loss``), or your functions (``--target package.module:function``, see
``docs/parity.md``), on the selected backends, dtypes and device, prints the matrix, and writes
JSON (``--json``), Markdown (``--markdown``), JUnit XML (``--junit``) and a heatmap of the worst
error in ulps (``--heatmap PATH.png``, needs matplotlib). On a terminal it draws a progress bar
on stderr; otherwise it prints one progress line per loss (``-q``: nothing).

This is the application, so it (and only it) sets process-wide framework state before the
suite runs: ``TF_CPP_MIN_LOG_LEVEL=2``, ``jax_enable_x64`` enabled before JAX is used, and torch
imported before tensorflow (both bundle native libraries; this order is the one known to work in
one process).

Exit status
-----------
0
    Every check that ran passed (and at least one ran).
1
    A check failed.
2
    Usage error: bad arguments, a ``--target`` that cannot be imported or has no inputs, a
    heatmap without matplotlib, or nothing could run (no selected backend installed, the
    device absent everywhere).
"""

from __future__ import annotations

import argparse
import ast
import importlib
import importlib.util
import os
import shutil
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from lossbridge.conformance._text import plural

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """A command line that cannot run (exit status 2)."""


class WorkerError(Exception):
    """A worker process of ``--jobs`` died or raised (exit status 1)."""


def _parser() -> argparse.ArgumentParser:
    from lossbridge.conformance.drivers import DRIVERS
    from lossbridge.conformance.registry import REGISTRY
    from lossbridge.conformance.runner import DTYPES

    p = argparse.ArgumentParser(
        prog="python -m lossbridge.conformance",
        description="Run lossbridge's cross-backend conformance suite, or check your own "
        "functions (--target) across backends, dtypes and devices.",
        epilog="exit status: 0 every check that ran passed, 1 a check failed, 2 usage error "
        "(bad arguments, unknown target, no inputs, nothing could run)",
    )
    sel = p.add_argument_group("what to check")
    sel.add_argument(
        "--loss",
        action="append",
        choices=sorted(REGISTRY),
        metavar="NAME",
        help="loss to check (repeatable; default: all, unless --target is given)",
    )
    sel.add_argument(
        "--list",
        action="store_true",
        help="print the registry's entries (name, oracles, number of cases; only the --loss "
        "ones if given) and exit without running anything",
    )
    sel.add_argument(
        "--target",
        action="append",
        metavar="MODULE:FUNCTION",
        help="your function to check, e.g. mypkg.losses:focal_dice (repeatable); its inputs "
        "come from --inputs, the function's parity_inputs attribute, or make_inputs() in its "
        "module, plus --spec and --kwarg",
    )
    sel.add_argument(
        "--inputs",
        metavar="[MODULE:]NAME",
        help="inputs of the targets: a mapping (or list of mappings, or a function returning "
        "one) of argument name to NumPy array, spec(...) or Python value",
    )
    sel.add_argument(
        "--spec",
        action="append",
        default=[],
        metavar="NAME=SHAPE[:KIND[:ARGS]]",
        help="a target input drawn at random, e.g. pred=8x5, target=8:labels:5, "
        "var=8x5:positive:low=0.5, x=scalar (repeatable)",
    )
    sel.add_argument(
        "--kwarg",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a keyword argument of the targets (a Python literal, else a string; repeatable)",
    )
    sel.add_argument("--seed", type=int, default=0, help="seed of the --spec draws (default 0)")
    sel.add_argument(
        "--case",
        action="append",
        metavar="LABEL",
        help="case label of the registry's losses to run (repeatable; default: each loss's "
        "representative case, or all of them with --full)",
    )
    sel.add_argument(
        "--full",
        action="store_true",
        help="the whole matrix: every case of every loss, the compiled modes on every case "
        "flagged for them, at every dtype (about 25 minutes on 2 cores; default: each loss's "
        "representative case on every backend and dtype, compiled at float32 and bfloat16, "
        "about 4 minutes)",
    )
    where = p.add_argument_group("where to run")
    where.add_argument(
        "--backend",
        action="append",
        choices=list(DRIVERS),
        metavar="NAME",
        help=f"backend to check (repeatable; default: every installed one of {', '.join(DRIVERS)})",
    )
    where.add_argument(
        "--dtype",
        action="append",
        choices=DTYPES,
        metavar="DTYPE",
        help=f"dtype to check: {', '.join(DTYPES)} (repeatable; default: all four for the "
        "registry's losses, float32 and float64 for --target functions)",
    )
    where.add_argument(
        "--device",
        metavar="DEVICE",
        help="put every backend's arrays on DEVICE: cuda (= gpu), cuda:1, cpu; backends "
        "without it are reported as not run",
    )
    where.add_argument(
        "--jobs",
        "-j",
        type=int,
        default=None,
        metavar="N",
        help="worker processes for the registry's losses (default: the CPUs, at most 4; "
        "1: in this process)",
    )
    where.add_argument(
        "--skip-missing-device",
        action="store_true",
        help="with --device: report a --target's backends that lack the device as not run "
        "(default: an error, exit status 2)",
    )
    where.add_argument(
        "--no-compile",
        action="store_true",
        help="skip the compiled modes (jax.jit, tf.function, torch.compile)",
    )
    out = p.add_argument_group("reports")
    out.add_argument("--json", metavar="PATH", help="also write every record to PATH as JSON")
    out.add_argument("--markdown", metavar="PATH", help="also write a Markdown report to PATH")
    out.add_argument("--junit", metavar="PATH", help="also write JUnit XML to PATH")
    out.add_argument(
        "--heatmap",
        metavar="PATH",
        help="also draw the worst error in ulps per loss x backend to PATH (.png, .svg, .pdf; "
        "needs matplotlib: pip install lossbridge[plot])",
    )
    out.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    return p


def set_up_frameworks(backends: Sequence[str] | None, threads: int | None = None) -> None:
    """Process-wide framework set-up: torch first, JAX float64 on, TF quiet.

    ``threads``: intra-op threads of torch and TensorFlow (a worker of ``--jobs N`` gets its
    share of the CPUs); None leaves the frameworks' defaults.
    """
    installed = {n for n in ("torch", "jax", "tensorflow") if importlib.util.find_spec(n)}
    if "torch" in installed:
        import torch  # (before tensorflow; also the oracle)

        if threads is not None:
            torch.set_num_threads(threads)
    if "jax" in installed:
        import jax

        jax.config.update("jax_enable_x64", True)
    if "tensorflow" in installed and (backends is None or "tensorflow" in backends):
        import tensorflow as tf

        tf.get_logger().setLevel("ERROR")
        if threads is not None:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)


# ------------------------------------------------------------------------------------------
# Targets: the user's functions and their inputs
# ------------------------------------------------------------------------------------------


def _parse_shape(text: str) -> tuple[int, ...]:
    text = text.strip()
    if text in ("", "()", "scalar"):
        return ()
    try:
        return tuple(int(n) for n in text.replace(",", "x").split("x") if n)
    except ValueError:
        raise UsageError(f"bad shape {text!r}; expected e.g. 8x5, 8, or scalar") from None


def _literal(text: str) -> Any:
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def parse_spec(text: str) -> tuple[str, Any]:
    """``NAME=SHAPE[:KIND[:ARGS]]`` -> ``(name, Spec)``; ARGS are ``num_classes`` and/or
    ``key=value`` pairs separated by commas (``target=8:labels:5``, ``v=8x5:positive:low=0.5``)."""
    from lossbridge.conformance.parity import spec

    name, eq, rest = text.partition("=")
    if not eq or not name.strip():
        raise UsageError(f"bad --spec {text!r}; expected NAME=SHAPE[:KIND[:ARGS]]")
    shape, _, rest = rest.partition(":")
    kind, _, extra = rest.partition(":")
    positional: list[Any] = []
    options: dict[str, Any] = {}
    for item in filter(None, (s.strip() for s in extra.split(","))):
        key, eq2, value = item.partition("=")
        if eq2:
            options[key.strip()] = _literal(value)
        else:
            positional.append(_literal(item))
    try:
        return name.strip(), spec(_parse_shape(shape), kind or "normal", *positional, **options)
    except (TypeError, ValueError) as exc:
        raise UsageError(f"bad --spec {text!r}: {exc}") from None


def parse_kwarg(text: str) -> tuple[str, Any]:
    """``NAME=VALUE`` -> ``(name, value)``, the value a Python literal or else a string."""
    name, eq, value = text.partition("=")
    if not eq or not name.strip():
        raise UsageError(f"bad --kwarg {text!r}; expected NAME=VALUE")
    return name.strip(), _literal(value)


def _resolve(path: str, default_module: Any = None) -> Any:
    """``package.module:attr.sub`` (or ``attr`` in ``default_module``) -> the object."""
    module_name, colon, attr = path.partition(":")
    if not colon:
        if default_module is None:
            raise UsageError(f"bad target {path!r}; expected package.module:function")
        module, attr = default_module, module_name
    else:
        if os.getcwd() not in sys.path and "" not in sys.path:
            sys.path.insert(0, os.getcwd())  # the console script does not add it; -m does
        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise UsageError(f"cannot import {module_name!r} (for {path!r}): {exc}") from None
    obj = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageError(f"{module.__name__!r} has no attribute {attr!r}") from None
    return obj


def _materialize(value: Any) -> Any:
    return value() if callable(value) else value


def target_options(target: str, args: argparse.Namespace) -> tuple[Callable[..., Any], dict]:
    """The function named by ``--target`` and the :func:`~lossbridge.conformance.check`
    arguments for it (inputs, kwargs, and the function's ``parity_options``)."""
    fn = _resolve(target)
    if not callable(fn):
        raise UsageError(f"target {target!r} is not callable")
    module = sys.modules.get(getattr(fn, "__module__", "") or "")
    if args.inputs:
        inputs = _materialize(_resolve(args.inputs, module))
    elif getattr(fn, "parity_inputs", None) is not None:
        inputs = _materialize(fn.parity_inputs)
    elif module is not None and callable(getattr(module, "make_inputs", None)):
        inputs = module.make_inputs()
    else:
        inputs = None
    specs = dict(parse_spec(s) for s in args.spec)
    if inputs is None and not specs:
        raise UsageError(
            f"no inputs for {target}: give --spec NAME=SHAPE (repeatable), --inputs "
            f"MODULE:NAME, a parity_inputs attribute on the function, or make_inputs() in its "
            f"module"
        )
    if isinstance(inputs, dict):
        inputs = {k: v for k, v in inputs.items() if k not in specs}
    elif isinstance(inputs, (list, tuple)):
        inputs = [{k: v for k, v in m.items() if k not in specs} for m in inputs]
    options = dict(getattr(fn, "parity_options", None) or {})
    kwargs = dict(parse_kwarg(k) for k in args.kwarg)
    if kwargs:
        base = options.get("kwargs") or {}
        if isinstance(base, dict):
            options["kwargs"] = {**base, **kwargs}
        else:
            options["kwargs"] = [{**b, **kwargs} for b in base]
    options.update(inputs=inputs, specs=specs or None, seed=args.seed)
    return fn, options


# ------------------------------------------------------------------------------------------
# Progress
# ------------------------------------------------------------------------------------------


class _Progress:
    """A bar on stderr when it is a terminal (rewritten in place), else one line per step.

    Each step carries a weight (its expected share of the run's time); the estimate of the time
    left is the elapsed time scaled by the weight still to do.
    """

    def __init__(self, total: float, quiet: bool) -> None:
        self.total, self.quiet, self.done, self.steps = max(total, 1e-9), quiet, 0.0, 0
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()

    def note(self, line: str) -> None:
        """A line that is no step (start-up), shown at once."""
        if not self.quiet:
            elapsed = time.perf_counter() - self.t0
            print(f"[{elapsed:6.1f}s] {line}", file=sys.stderr, flush=True)

    def __call__(self, line: str, weight: float = 1.0) -> None:
        self.done += weight
        self.steps += 1
        if self.quiet:
            return
        elapsed = time.perf_counter() - self.t0
        left = max(self.total - self.done, 0.0)
        eta = _minutes(elapsed * left / self.done) if self.done > 0 else "?"
        pct = 100.0 * min(self.done / self.total, 1.0)
        if not self.tty:
            print(f"[{elapsed:6.1f}s] {pct:3.0f}% left ~{eta}  {line}", file=sys.stderr, flush=True)
            return
        cols = shutil.get_terminal_size((80, 20)).columns
        width = max(10, min(30, cols - 70))
        filled = int(width * min(self.done / self.total, 1.0))
        bar = "#" * filled + "." * (width - filled)
        text = f"[{bar}] {pct:3.0f}% {elapsed:5.0f}s, ~{eta} left  {line}"
        sys.stderr.write("\r" + text[: cols - 1].ljust(cols - 1))
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty and not self.quiet and self.steps:
            cols = shutil.get_terminal_size((80, 20)).columns
            sys.stderr.write("\r" + " " * (cols - 1) + "\r")
            sys.stderr.flush()


def _minutes(seconds: float) -> str:
    return f"{seconds:.0f}s" if seconds < 90 else f"{seconds / 60:.1f} min"


# ------------------------------------------------------------------------------------------
# main
# ------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """Run the suite from the command line; returns the exit status (0, 1 or 2)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) and argparse's usage errors (2)
        return int(exc.code or 0)
    if args.list:
        return list_entries(args.loss)
    try:
        return _main(args)
    except UsageError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except WorkerError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_FAILED


def _main(args: argparse.Namespace) -> int:
    if args.heatmap and importlib.util.find_spec("matplotlib") is None:
        raise UsageError("--heatmap needs matplotlib: pip install 'lossbridge[plot]'")
    if not args.target and (args.inputs or args.spec or args.kwarg):
        raise UsageError("--inputs, --spec and --kwarg apply to --target functions only")
    set_up_frameworks(args.backend)

    from lossbridge.conformance.parity import check
    from lossbridge.conformance.registry import REGISTRY
    from lossbridge.conformance.report import format_report, to_json, to_junit, to_markdown
    from lossbridge.conformance.runner import DTYPES, QUICK_COMPILE_DTYPES, Suite

    targets = [target_options(t, args) for t in args.target or []]
    losses = args.loss if (args.loss or targets) else list(REGISTRY)
    dtypes = tuple(dict.fromkeys(args.dtype)) if args.dtype else DTYPES
    plan = plan_cases(losses or [], full=args.full, cases=args.case, dtypes=dtypes)
    progress = _Progress(sum(w for *_, w in plan) + len(targets), args.quiet)
    suite = Suite()
    t0 = time.perf_counter()
    results = []
    verdicts: list[Any] = []  # the parity checks' majority votes (suspect backends)
    run_options = {
        "backends": args.backend,
        "dtypes": dtypes,
        "compile": not args.no_compile,
        "device": args.device,
        "compile_dtypes": None if args.full else QUICK_COMPILE_DTYPES,
    }
    jobs = _jobs(args.jobs, len(plan))
    try:
        if plan:
            if jobs > 1:
                results += _run_workers(plan, run_options, jobs, progress, suite.timings)
            else:
                for loss, label, weight in plan:
                    results += suite.run(losses=[loss], cases=[label], **run_options)
                    progress(f"{loss} / {label}", weight)
            if not args.backend or "torch" in args.backend:
                from lossbridge.conformance.autocast import run_autocast

                t1 = time.perf_counter()
                results += run_autocast(
                    losses=losses,
                    dtypes=dtypes,
                    cases=args.case,
                    max_cases=None if args.full or args.case else 1,
                )
                suite.timings["autocast"] = time.perf_counter() - t1
        for fn, options in targets:
            if args.backend:
                options["backends"] = args.backend
            if args.no_compile:
                options["compiled"] = False
            options.update(dtypes=dtypes if args.dtype else None, device=args.device)
            if args.skip_missing_device:
                options["missing_device"] = "skip"
            try:
                report = check(fn, **options)
            except (TypeError, ValueError) as exc:
                raise UsageError(f"{_report_name(fn)}: {exc}") from None
            results += report.results
            verdicts += report.verdicts
            for k, v in report.timings.items():
                suite.timings[k] = suite.timings.get(k, 0.0) + v
            progress(f"{report.name}: {plural(len(report.failures), 'failure')}")
    finally:
        progress.close()
    wall = time.perf_counter() - t0
    print(format_report(results, timings=suite.timings, verdicts=verdicts))
    workers = jobs if plan and jobs > 1 else 1
    print(
        f"wall time: {wall:.0f}s"
        + (
            f" ({workers} worker processes: the time in checks adds up theirs)"
            if workers > 1
            else ""
        )
    )
    if args.json:
        to_json(results, args.json, timings=suite.timings, verdicts=verdicts)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(to_markdown(results, timings=suite.timings, verdicts=verdicts))
    if args.junit:
        with open(args.junit, "w", encoding="utf-8") as f:
            f.write(to_junit(results))
    if args.heatmap and results:
        from lossbridge.conformance.heatmap import draw_heatmap

        draw_heatmap(results, args.heatmap)
    ran = [r for r in results if not r.skipped]
    if not ran:
        print("no check ran (nothing selected, or every selected backend is missing)")
        return EXIT_USAGE
    return EXIT_OK if all(r.passed for r in ran) else EXIT_FAILED


def plan_cases(
    losses: Sequence[str], *, full: bool, cases: Sequence[str] | None, dtypes: Sequence[str]
) -> list[tuple[str, str, float]]:
    """The (loss, case label, weight) tasks of a run, in registry order.

    ``full``: every case; else each loss's :func:`~lossbridge.conformance.runner.
    representative_case`. ``cases`` (``--case``) selects by label instead. The weight is the
    task's expected share of the time: a dtype's eager checks count 1, its compiled modes 6
    (measured: 4 s for the compiled modes of a case at four dtypes against 0.6 s eager).
    """
    from lossbridge.conformance.registry import REGISTRY
    from lossbridge.conformance.runner import QUICK_COMPILE_DTYPES, representative_case

    plan = []
    for loss in losses:
        entry = REGISTRY[loss]
        if cases is not None:
            chosen = [c for c in entry.cases if c.label in cases]
        elif full:
            chosen = list(entry.cases)
        else:
            chosen = [representative_case(entry)]
        compiled = dtypes if full else [dt for dt in dtypes if dt in QUICK_COMPILE_DTYPES]
        for case in chosen:
            weight = len(dtypes) + (6.0 * len(compiled) if case.compile else 0.0)
            plan.append((loss, case.label, weight))
    return plan


def _jobs(requested: int | None, tasks: int) -> int:
    """Worker processes: ``--jobs``, else the CPUs this process may use (at most 4)."""
    if requested is not None:
        if requested < 1:
            raise UsageError(f"--jobs must be at least 1; got {requested}")
        return min(requested, max(tasks, 1))
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, 4, tasks))


def _run_workers(
    plan: Sequence[tuple[str, str, float]],
    options: dict[str, Any],
    jobs: int,
    progress: _Progress,
    timings: dict[str, float],
) -> list:
    """Run ``plan`` on ``jobs`` spawned workers (:mod:`lossbridge.conformance._workers`);
    the records come back in plan order, the per-family seconds are added to ``timings``."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    from lossbridge.conformance import _workers

    cpus = os.cpu_count() or jobs
    progress.note(f"starting {jobs} worker processes (each imports the frameworks)")
    done: dict[int, list] = {}
    with ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_workers.start,
        initargs=(options["backends"], max(1, cpus // jobs)),
    ) as pool:
        # the heaviest tasks first, so that no worker is left with a long one at the end
        order = sorted(range(len(plan)), key=lambda i: -plan[i][2])
        futures = {
            pool.submit(_workers.run_case, plan[i][0], plan[i][1], options): i for i in order
        }
        for future in as_completed(futures):
            i = futures[future]
            loss, label, weight = plan[i]
            try:
                records, spent = future.result()
            except Exception as exc:
                raise WorkerError(f"the worker checking {loss} / {label} failed: {exc}") from exc
            done[i] = records
            for k, v in spent.items():
                timings[k] = timings.get(k, 0.0) + v
            progress(f"{loss} / {label}", weight)
    return [r for i in range(len(plan)) for r in done[i]]


def list_entries(names: Sequence[str] | None = None) -> int:
    """Print the registry's entries (or ``names``): name, oracles, number of cases; exit 0.

    Imports no framework and runs nothing. Every entry is also checked against its float64
    NumPy reference; the oracles column names the checks against other libraries
    (``torch.nn.functional.<name>``, then each extra oracle's check).
    """
    from lossbridge.conformance.registry import REGISTRY

    rows = []
    for name in names or REGISTRY:
        entry = REGISTRY[name]
        oracles = ([f"torch.nn.functional.{entry.oracle}"] if entry.oracle else []) + [
            o.name for o in entry.extra_oracles
        ]
        rows.append((name, ", ".join(oracles) or "(float64 reference only)", len(entry.cases)))
    width = max(len("loss"), *(len(r[0]) for r in rows))
    print(f"{'loss':<{width}}  {'cases':>5}  oracles")
    for name, oracles, cases in rows:
        print(f"{name:<{width}}  {cases:>5}  {oracles}")
    print(f"{plural(len(rows), 'entry', 'entries')}, {plural(sum(r[2] for r in rows), 'case')}")
    return EXIT_OK


def _report_name(fn: Any) -> str:
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', fn)}"


if __name__ == "__main__":
    sys.exit(main())
