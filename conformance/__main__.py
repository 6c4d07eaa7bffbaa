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

__all__ = ["EXIT_FAILED", "EXIT_OK", "EXIT_USAGE", "main"]

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """A command line that cannot run (exit status 2)."""


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
        help="case label of the registry's losses to run (repeatable; default: all)",
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
    """A bar on stderr when it is a terminal (rewritten in place), else one line per step."""

    def __init__(self, total: int, quiet: bool) -> None:
        self.total, self.quiet, self.done = max(total, 1), quiet, 0
        self.tty = sys.stderr.isatty()
        self.t0 = time.perf_counter()

    def __call__(self, line: str) -> None:
        self.done += 1
        if self.quiet:
            return
        elapsed = time.perf_counter() - self.t0
        if not self.tty:
            print(f"[{elapsed:6.1f}s] {line}", file=sys.stderr, flush=True)
            return
        cols = shutil.get_terminal_size((80, 20)).columns
        width = max(10, min(40, cols - 60))
        filled = int(width * self.done / self.total)
        bar = "#" * filled + "." * (width - filled)
        text = f"[{bar}] {self.done}/{self.total} {elapsed:5.0f}s  {line}"
        sys.stderr.write("\r" + text[: cols - 1].ljust(cols - 1))
        sys.stderr.flush()

    def close(self) -> None:
        if self.tty and not self.quiet and self.done:
            cols = shutil.get_terminal_size((80, 20)).columns
            sys.stderr.write("\r" + " " * (cols - 1) + "\r")
            sys.stderr.flush()


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
    try:
        return _main(args)
    except UsageError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


def _main(args: argparse.Namespace) -> int:
    if args.heatmap and importlib.util.find_spec("matplotlib") is None:
        raise UsageError("--heatmap needs matplotlib: pip install 'lossbridge[plot]'")
    if not args.target and (args.inputs or args.spec or args.kwarg):
        raise UsageError("--inputs, --spec and --kwarg apply to --target functions only")
    _set_up_frameworks(args.backend)

    from lossbridge.conformance.parity import check
    from lossbridge.conformance.registry import REGISTRY
    from lossbridge.conformance.report import format_report, to_json, to_junit, to_markdown
    from lossbridge.conformance.runner import DTYPES, Suite

    targets = [target_options(t, args) for t in args.target or []]
    losses = args.loss if (args.loss or targets) else list(REGISTRY)
    dtypes = tuple(dict.fromkeys(args.dtype)) if args.dtype else DTYPES
    progress = _Progress(len(losses or []) + len(targets), args.quiet)
    suite = Suite()
    t0 = time.perf_counter()
    results = []
    try:
        if losses:
            results += suite.run(
                losses=losses,
                backends=args.backend,
                dtypes=dtypes,
                cases=args.case,
                compile=not args.no_compile,
                progress=progress,
                device=args.device,
            )
            if not args.backend or "torch" in args.backend:
                from lossbridge.conformance.autocast import run_autocast

                results += run_autocast(losses=losses, dtypes=dtypes, cases=args.case)
        for fn, options in targets:
            if args.backend:
                options["backends"] = args.backend
            if args.no_compile:
                options["compiled"] = False
            options.update(dtypes=dtypes if args.dtype else None, device=args.device)
            try:
                report = check(fn, **options)
            except (TypeError, ValueError) as exc:
                raise UsageError(f"{_report_name(fn)}: {exc}") from None
            results += report.results
            for k, v in report.timings.items():
                suite.timings[k] = suite.timings.get(k, 0.0) + v
            progress(f"{report.name}: {len(report.failures)} failures")
    finally:
        progress.close()
    wall = time.perf_counter() - t0
    print(format_report(results, timings=suite.timings))
    print(f"wall time: {wall:.0f}s")
    if args.json:
        to_json(results, args.json, timings=suite.timings)
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(to_markdown(results, timings=suite.timings))
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


def _report_name(fn: Any) -> str:
    return f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', fn)}"


if __name__ == "__main__":
    sys.exit(main())
