"""Numerical-parity checks for your own code: the conformance runner, pointed at any function.

:func:`check` runs a function written against the Python array API (a loss of your own, or any
function of arrays that returns one array) through every check the conformance suite runs on
lossbridge's losses, on every installed backend (NumPy, torch, JAX, TensorFlow,
array-api-strict), dtype and (optionally) device:

``value``
    Each backend's output against a float64 reference evaluated on the same inputs rounded to the
    dtype. By default the reference is *your own function on NumPy float64 arrays*: a
    consistency reference (every backend and dtype agrees with the float64 NumPy evaluation),
    not a proof of correctness. Pass ``reference=`` (a float64 NumPy implementation, a
    formula from the paper) for an independent one.
``cross``, ``grad_cross``
    Backend against the NumPy backend (same dtype); gradients of torch, JAX and TensorFlow
    against the first autodiff backend's.
``grad_fd``
    Autodiff gradients against a float64 central finite difference of the reference (inputs of
    up to 256 differentiated elements).
``type``
    The output is the backend's own array type, with the input's dtype and device.
``tf_variable``, ``device``
    On the first input set: a ``tf.Variable`` input; array-api-strict's second device; torch's
    ``meta`` device (only when ``device`` is None).
``jax_jit``, ``tf_function``, ``tf_xla``, ``torch_compile`` (+ ``_grad``)
    The compiled modes against eager (``compiled=True``; ``compiled='inductor'`` uses
    ``torch.compile``'s inductor backend instead of ``aot_eager``).
``call``, ``grad_call``
    The function (or its gradient) raised: a failure with the error's first line.

:func:`check_port` compares two implementations of one function, typically framework-native
code (a torch loss and its TensorFlow port), fed identical inputs: values (``cross``) and
gradients (``grad_cross``) of the second against the first, and each against ``reference=``
when given.

Inputs are NumPy arrays (converted to each backend: floating data cast to the dtype under test,
integers kept), :class:`Spec` objects made by :func:`spec` (drawn once with a seeded generator),
or plain Python values (passed as keyword arguments unchanged). Every result lands in a
:class:`ParityReport`, which can be asserted on (:meth:`ParityReport.assert_ok`), printed, and
written as JSON, Markdown, JUnit XML or a heatmap.

Nothing here changes global framework state: float64 on JAX runs only where the application
enabled ``jax_enable_x64`` (otherwise those checks are reported as not run, with the reason).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import zlib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lossbridge.conformance import tolerances as _tol
from lossbridge.conformance.drivers import DRIVERS, DeviceUnavailable, Driver, get_driver
from lossbridge.conformance.registry import SKIP_GROUPS, Case, Entry
from lossbridge.conformance.report import REFERENCE, Verdict, plural, verdict_line
from lossbridge.conformance.runner import (
    _EAGER_GRAD,
    _NO_X64,
    COMPILED_MODES,
    DTYPES,
    HALF_DTYPES,
    Result,
    Suite,
    _arrays,
    _cotangent,
    _finite_difference,
    _first_line,
    _quiet,
    _Recorder,
    check_dtypes,
    round_inputs,
)

#: The dtypes :func:`check` and :func:`check_port` run by default (the half dtypes on request).
CHECK_DTYPES = ("float32", "float64")

__all__ = [
    "SPEC_KINDS",
    "ParityReport",
    "Spec",
    "assert_parity",
    "check",
    "check_port",
    "draw_inputs",
    "spec",
]

#: The kinds of :func:`spec`, with what each draws.
SPEC_KINDS: dict[str, str] = {
    "normal": "normal draws, loc + scale * N(0, 1) (default loc 0, scale 1)",
    "uniform": "uniform in [low, high) (default [-1, 1))",
    "positive": "uniform in [low, high) (default [0.1, 2)), for variances, rates, scales",
    "probs": "probabilities, uniform in [low, high) (default [0.02, 0.98))",
    "simplex": "probability distributions along the last axis (softmax of scale * N(0, 1))",
    "log_simplex": "log-probabilities along the last axis (the log of 'simplex')",
    "labels": "integer class labels in [0, num_classes) (int64)",
    "integers": "integers in [low, high) (int64; default [0, 10))",
    "onehot": "one-hot rows along the last axis, which has num_classes elements (floating)",
    "binary": "0.0 or 1.0 (floating)",
    "signs": "-1.0 or +1.0 (floating)",
}

_DEFAULT_RANGES = {
    "uniform": (-1.0, 1.0),
    "positive": (0.1, 2.0),
    "probs": (0.02, 0.98),
    "integers": (0, 10),
}

#: Checks that compare with torch.nn.functional: meaningless for a user's function, dropped.
_ORACLE_CHECKS = ("oracle", "grad_oracle")

#: Checks without a tolerance (they pass or fail), which ``skip=`` may also name.
_NON_NUMERIC_CHECKS = {"type", "call", "grad_call", "device", "tf_variable"}

#: Failures of these checks start a majority vote of the backends' outputs (:class:`Verdict`).
_VOTED_CHECKS = ("value", "cross", "grad_fd", "grad_cross")

#: Backends that compute on the host only: a GPU they lack is by design, not this machine's.
_HOST_ONLY = ("numpy", "array_api_strict")

#: What ``missing_device=`` accepts.
_MISSING_DEVICE = ("fail", "skip")


# ------------------------------------------------------------------------------------------
# Input specs
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Spec:
    """How to draw one input array; make one with :func:`spec`.

    Attributes
    ----------
    shape : tuple of int
    kind : str
        A key of :data:`SPEC_KINDS`.
    num_classes : int or None
        For ``'labels'`` and ``'onehot'``.
    low, high : float or None
        Range of ``'uniform'``, ``'positive'``, ``'probs'`` and ``'integers'``.
    scale, loc : float
        Of ``'normal'`` (``scale`` also of ``'simplex'`` and ``'log_simplex'``).
    """

    shape: tuple[int, ...]
    kind: str = "normal"
    num_classes: int | None = None
    low: float | None = None
    high: float | None = None
    scale: float = 1.0
    loc: float = 0.0

    def __post_init__(self) -> None:
        shape = (self.shape,) if isinstance(self.shape, int) else tuple(self.shape)
        object.__setattr__(self, "shape", tuple(int(n) for n in shape))
        if self.kind not in SPEC_KINDS:
            raise ValueError(f"unknown spec kind {self.kind!r}; expected one of {list(SPEC_KINDS)}")
        if self.kind in ("labels", "onehot") and (self.num_classes or 0) < 1:
            raise ValueError(f"spec kind {self.kind!r} needs num_classes >= 1")
        if self.kind == "onehot" and (not self.shape or self.shape[-1] != self.num_classes):
            raise ValueError(
                f"a 'onehot' spec's last dimension is num_classes={self.num_classes}; "
                f"got shape {self.shape}"
            )
        if self.kind in ("simplex", "log_simplex") and not self.shape:
            raise ValueError(f"a {self.kind!r} spec needs at least one dimension")
        lo, hi = self.range
        if self.kind in _DEFAULT_RANGES and not lo < hi:
            raise ValueError(f"spec range [{lo}, {hi}) is empty")
        if self.kind == "positive" and lo <= 0:
            raise ValueError(f"a 'positive' spec needs low > 0, got {lo}")

    @property
    def range(self) -> tuple[float, float]:
        """``(low, high)`` with the kind's defaults filled in."""
        lo, hi = _DEFAULT_RANGES.get(self.kind, (None, None))
        return (
            self.low if self.low is not None else lo,
            self.high if self.high is not None else hi,
        )

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """Draw the array (float64 data, int64 integers) from ``rng``."""
        k, shape = self.kind, self.shape
        lo, hi = self.range
        if k == "normal":
            return self.loc + self.scale * rng.standard_normal(shape)
        if k in ("uniform", "positive", "probs"):
            return rng.uniform(lo, hi, shape)
        if k in ("simplex", "log_simplex"):
            z = self.scale * rng.standard_normal(shape)
            z = z - z.max(axis=-1, keepdims=True)
            logp = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
            return logp if k == "log_simplex" else np.exp(logp)
        if k == "labels":
            return rng.integers(0, self.num_classes, shape, dtype=np.int64)
        if k == "integers":
            return rng.integers(int(lo), int(hi), shape, dtype=np.int64)
        if k == "onehot":
            idx = rng.integers(0, self.num_classes, shape[:-1])
            return np.eye(self.num_classes)[idx]
        if k == "binary":
            return rng.integers(0, 2, shape).astype(np.float64)
        if k == "signs":
            return rng.choice(np.array([-1.0, 1.0]), shape)
        raise AssertionError(k)

    def __repr__(self) -> str:
        args = [repr(self.shape)]
        if self.kind != "normal":
            args.append(repr(self.kind))
        if self.num_classes is not None:
            args.append(repr(self.num_classes))
        for name, default in (("low", None), ("high", None), ("scale", 1.0), ("loc", 0.0)):
            value = getattr(self, name)
            if value != default:
                args.append(f"{name}={value!r}")
        return f"spec({', '.join(args)})"


def spec(
    shape: int | Sequence[int],
    kind: str = "normal",
    num_classes: int | None = None,
    *,
    low: float | None = None,
    high: float | None = None,
    scale: float = 1.0,
    loc: float = 0.0,
) -> Spec:
    """An input drawn at random: its shape, and what kind of values.

    Parameters
    ----------
    shape : int or sequence of int
        ``()`` for a 0-d array.
    kind : str
        One of :data:`SPEC_KINDS`: ``'normal'`` (default), ``'uniform'``, ``'positive'``,
        ``'probs'``, ``'simplex'``, ``'log_simplex'``, ``'labels'``, ``'integers'``,
        ``'onehot'``, ``'binary'``, ``'signs'``.
    num_classes : int, optional
        Number of classes of ``'labels'`` and ``'onehot'``.
    low, high : float, optional
        Range of ``'uniform'``, ``'positive'``, ``'probs'`` and ``'integers'``.
    scale, loc : float
        Spread and centre of ``'normal'`` (``scale`` also sharpens ``'simplex'``).

    Returns
    -------
    Spec

    Examples
    --------
    >>> spec((8, 5))                     # logits
    spec((8, 5))
    >>> spec(8, "labels", 5)             # class indices in [0, 5)
    spec((8,), 'labels', 5)
    >>> spec((8, 5), "positive", low=0.5)
    spec((8, 5), 'positive', low=0.5)
    """
    return Spec(
        shape=shape,  # type: ignore[arg-type]  (normalised in __post_init__)
        kind=kind,
        num_classes=num_classes,
        low=low,
        high=high,
        scale=scale,
        loc=loc,
    )


def draw_inputs(inputs: Mapping[str, Any], seed: int = 0) -> dict[str, Any]:
    """``inputs`` with every :class:`Spec` replaced by its drawn array.

    Each spec gets its own generator, seeded with ``seed`` and its argument's name, so adding an
    input does not change the others. Other values are returned unchanged.
    """
    return {
        name: v.draw(np.random.default_rng([seed, zlib.crc32(name.encode())]))
        if isinstance(v, Spec)
        else v
        for name, v in inputs.items()
    }


def _is_array(v: Any) -> bool:
    return isinstance(v, (np.ndarray, np.generic, Spec))


# ------------------------------------------------------------------------------------------
# Tolerances
# ------------------------------------------------------------------------------------------


def _bounds(tolerances: Mapping[str, Any] | None) -> dict[str, dict[str, float]]:
    """Per dtype: a bound per kind (``value``, ``grad``, ``fd``) and per overridden check."""
    out = {dt: dict(vars(t)) for dt, t in _tol.TOLERANCES.items()}
    if not tolerances:
        return out

    def apply(table: dict[str, float], spec_: Any, where: str) -> None:
        if isinstance(spec_, _tol.Tolerance):
            table.update(vars(spec_))
        elif isinstance(spec_, (int, float)):
            table["value"] = table["grad"] = float(spec_)
        elif isinstance(spec_, Mapping):
            for key, bound in spec_.items():
                if key not in table and key not in _tol.KINDS:
                    raise ValueError(
                        f"tolerances{where}: unknown key {key!r}; expected a kind "
                        f"('value', 'grad', 'fd') or a check name ({', '.join(_tol.KINDS)})"
                    )
                table[key] = float(bound)
        else:
            raise TypeError(f"tolerances{where}: expected a Tolerance, a float or a mapping")

    for key, value in tolerances.items():
        if key in DTYPES:
            apply(out[key], value, f"[{key!r}]")
        else:  # a kind or a check: every relative-error dtype (half bounds are in ulps)
            for dt, table in out.items():
                if not _tol.TOLERANCES[dt].ulps:
                    apply(table, {key: value}, "")
    return out


# ------------------------------------------------------------------------------------------
# The user's function as a registry entry
# ------------------------------------------------------------------------------------------


def _import_line(fn: Callable[..., Any], alias: str) -> str:
    """A line that makes ``alias`` name ``fn`` in a fresh interpreter, or a comment if none."""
    module = getattr(fn, "__module__", None)
    qual = getattr(fn, "__qualname__", "") or ""
    if module and module != "__main__" and qual and "<" not in qual:
        top, _, rest = qual.partition(".")
        line = f"from {module} import {top}"
        if rest or top != alias:
            line += f"\n{alias} = {top}{'.' + rest if rest else ''}"
        return line
    return f"{alias} = ...  # your function ({qual or fn!r}) is not importable by name"


def _inputs_code(source: Mapping[str, Any], seed: int) -> str:
    """Python that rebuilds an input set (specs drawn, small arrays written out)."""
    parts = []
    for name, v in source.items():
        if isinstance(v, Spec):
            parts.append(f"{name!r}: {v!r}")
        elif isinstance(v, (np.ndarray, np.generic)):
            a = np.asarray(v)
            if a.size <= 64:
                parts.append(f"{name!r}: np.array({a.tolist()!r}, dtype={a.dtype.name!r})")
            else:
                parts.append(f"{name!r}: ...  # your array, shape {a.shape}, {a.dtype}")
    return f"inputs = draw_inputs({{{', '.join(parts)}}}, seed={seed})"


@dataclass(frozen=True, eq=False)
class _UserEntry(Entry):
    """A registry entry for a user's function: its own tolerances and repro snippets."""

    bounds: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)  # case label -> inputs code
    fn_import: str = ""
    ref_import: str = ""
    port_of: tuple[str, str, str] | None = None  # (import line of fn_a, backend_a, kwargs_a)

    def check_tolerance(self, case: str, check: str, backend: str, dtype: str) -> float:
        """The bound of one check (the runner asks the entry before the global table)."""
        table = self.bounds.get(dtype) or vars(_tol.TOLERANCES[dtype])
        if check in table:
            return table[check]
        return table[_tol.kind_of(check)]

    def repro_snippet(
        self, case: Case, backend: str, dtype: str, check: str, device: str | None
    ) -> str:
        """A snippet that recomputes one failing check's output and its reference."""
        where = f"d.resolve_device({device!r})" if device else "None"
        kw = dict(case.kwargs)
        backend = backend.split(" ")[0]
        lines = [f"# {self.name} / {case.label} / {backend} / {dtype} / check {check!r}"]
        if backend == "jax" and dtype == "float64":
            lines += ["import jax", 'jax.config.update("jax_enable_x64", True)']
        lines += [
            "import numpy as np",
            "from lossbridge.conformance import check, draw_inputs, get_driver, round_inputs, spec",
            self.fn_import,
        ]
        if self.ref_import:
            lines.append(self.ref_import)
        if self.port_of is not None:
            lines.append(self.port_of[0])
        lines += [
            self.sources.get(case.label, "inputs = ...  # the inputs given to check()"),
            f"kwargs = {kw!r}",
            f"d = get_driver({backend!r})",
            f"args = {{k: d.from_numpy(v, {dtype!r}, {where}) for k, v in inputs.items()}}",
            "print(d.to_numpy(fn(**args, **kwargs)))",
        ]
        if self.port_of is not None:
            _, backend_a, kwargs_a = self.port_of
            lines += [
                f"da = get_driver({backend_a!r})",
                f"args_a = {{k: da.from_numpy(v, {dtype!r}) for k, v in inputs.items()}}",
                f"print(da.to_numpy(fn_a(**args_a, **kwargs, **{kwargs_a})))  # the first one",
            ]
        if self.ref_import or self.port_of is None:
            ref = "reference" if self.ref_import else "fn"
            lines.append(
                f"print(np.asarray({ref}(**round_inputs(inputs, {dtype!r}), **kwargs)))"
                "  # the float64 reference"
            )
        if self.port_of is None:
            more = f", device={device!r}" if device else ""
            lines.append(
                f"# every check of this backend and dtype again: print(check(fn, inputs, "
                f"kwargs=kwargs, backends=[{backend!r}], dtypes=[{dtype!r}]{more}))"
            )
        return "\n".join(lines)


@dataclass
class _Plan:
    """User inputs turned into cases: labels, NumPy inputs, keyword arguments."""

    cases: list[tuple[str, dict[str, np.ndarray], dict[str, Any], str]]
    floating: tuple[str, ...]
    arrays: tuple[str, ...]


def _kwargs_label(kw: Mapping[str, Any], j: int) -> str:
    text = ",".join(f"{k}={v!r}" for k, v in kw.items())
    return text if len(text) <= 40 else f"kwargs{j}"


def _plan(inputs: Any, specs: Any, kwargs: Any, seed: int) -> _Plan:
    if inputs is None:
        sets: list[dict[str, Any]] = [{}]
    elif isinstance(inputs, Mapping):
        sets = [dict(inputs)]
    elif isinstance(inputs, Sequence) and all(isinstance(m, Mapping) for m in inputs):
        sets = [dict(m) for m in inputs]
    else:
        raise TypeError("inputs must be a mapping of argument name to value, or a list of them")
    if specs:
        for s in sets:
            both = set(s) & set(specs)
            if both:
                raise ValueError(f"{sorted(both)} given in both inputs and specs")
            s.update(specs)
    if not sets or not any(any(_is_array(v) for v in s.values()) for s in sets):
        raise ValueError("give at least one input array: inputs={...} or specs={...}")
    if kwargs is None:
        grid: list[dict[str, Any]] = [{}]
    elif isinstance(kwargs, Mapping):
        grid = [dict(kwargs)]
    else:
        grid = [dict(k) for k in kwargs]
    cases = []
    for i, s in enumerate(sets):
        drawn = draw_inputs(s, seed)
        arrays = {k: np.asarray(v) for k, v in drawn.items() if _is_array(s[k])}
        values = {k: v for k, v in drawn.items() if not _is_array(s[k])}
        base = "specs" if all(isinstance(s[k], Spec) for k in arrays) else "inputs"
        base += str(i) if len(sets) > 1 else ""
        code = _inputs_code({k: s[k] for k in arrays}, seed)
        for j, kw in enumerate(grid):
            clash = set(values) & set(kw)
            if clash:
                raise ValueError(f"{sorted(clash)} given in both inputs and kwargs")
            label = base if len(grid) == 1 else f"{base}:{_kwargs_label(kw, j)}"
            cases.append((label, arrays, {**values, **kw}, code))
    first = cases[0][1]
    floating = tuple(k for k, a in first.items() if a.dtype.kind == "f")
    return _Plan(cases, floating, tuple(first))


def _grad_args(plan: _Plan, grad_args: Sequence[str] | None) -> tuple[str, ...]:
    if grad_args is None:
        return plan.floating
    grad_args = (grad_args,) if isinstance(grad_args, str) else tuple(grad_args)
    bad = [g for g in grad_args if g not in plan.floating]
    if bad:
        raise ValueError(
            f"grad_args {bad} are not floating array inputs; those are {list(plan.floating)}"
        )
    return grad_args


def _check_backends(backends: Sequence[str] | None) -> list[str] | None:
    if backends is None:
        return None
    backends = [backends] if isinstance(backends, str) else list(backends)
    for b in backends:
        get_driver(b)  # ValueError naming the known backends
    return backends


def _check_dtypes(dtypes: Sequence[str] | None) -> tuple[str, ...]:
    if dtypes is None:
        return CHECK_DTYPES
    dtypes = (dtypes,) if isinstance(dtypes, str) else tuple(dtypes)
    check_dtypes(dtypes)  # ValueError naming the four
    return dtypes


def _name_of(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", None) or type(fn).__name__


def check(
    fn: Callable[..., Any],
    inputs: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    *,
    specs: Mapping[str, Spec] | None = None,
    kwargs: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    backends: Sequence[str] | None = None,
    dtypes: Sequence[str] | None = CHECK_DTYPES,
    device: str | None = None,
    grad_args: Sequence[str] | None = None,
    compiled: bool | str = True,
    reference: Callable[..., Any] | None = None,
    tolerances: Mapping[str, Any] | None = None,
    name: str | None = None,
    seed: int = 0,
    skip: Mapping[str, str] | None = None,
    placement: bool = True,
    missing_device: str = "fail",
) -> ParityReport:
    """Check a function written against the array API across backends, dtypes and devices.

    Parameters
    ----------
    fn : callable
        Called as ``fn(**arrays, **kwargs)`` with each backend's arrays; returns one array. Write
        it against the array API; ``lossbridge.backends.get_namespace(*arrays)`` returns the
        namespace for TensorFlow too (``array_api_compat.array_namespace`` covers the others).
    inputs : mapping or list of mappings, optional
        Argument name -> NumPy array, :class:`Spec`, or Python value (passed unchanged, like
        ``kwargs``). A list gives several input sets (cases).
    specs : mapping of str to Spec, optional
        Inputs drawn at random, added to every input set.
    kwargs : mapping or list of mappings, optional
        Keyword arguments; a list makes a grid (every input set with each).
    backends : sequence of str, optional
        Default: every installed one of ``numpy``, ``torch``, ``jax``, ``tensorflow``,
        ``array_api_strict``. A backend that is not installed is reported as not run.
    dtypes : sequence of {'float32', 'float64', 'float16', 'bfloat16'}, optional
        Floating inputs are cast to each (integers stay int64); None means float32 and
        float64. The half dtypes are checked in ulps (values 1 ulp, gradients 2 ulp + a
        floor, against float64 on the same inputs; :mod:`lossbridge.conformance.tolerances`);
        array-api-strict has none (reported as not run).
    device : str, optional
        ``'cuda'`` (= ``'gpu'``), ``'cuda:1'``, ``'cpu'``: where each backend's arrays live.
        NumPy and array-api-strict compute on the host only: on a GPU they are reported as not
        run, with the reason. See ``missing_device`` for a backend without the device.
    grad_args : sequence of str, optional
        Arguments differentiated (default: every floating array input; ``()`` for none).
    compiled : bool or 'inductor'
        Run the compiled modes (``jax.jit``, ``tf.function`` with and without XLA,
        ``torch.compile(fullgraph=True)`` with ``aot_eager``, or ``inductor``).
    reference : callable, optional
        Float64 NumPy implementation with ``fn``'s signature (default: ``fn`` itself on NumPy
        float64 arrays, a consistency reference).
    tolerances : mapping, optional
        Bounds on the norm-wise relative error, over the defaults
        (:data:`lossbridge.conformance.TOLERANCES`: float32 values and gradients 1e-6, finite
        differences 1e-5; float64 1e-12, 1e-12, 1e-6). Keys are dtypes (value: a
        :class:`~lossbridge.conformance.Tolerance`, a float for values and gradients, or a
        mapping of kind or check name to bound), or kinds / check names for float32 and
        float64: ``{"float32": {"value": 1e-5}, "grad_fd": 1e-4}``. float16 and bfloat16
        bounds are in ulps (defaults: values 1, gradients 2) and are set by their dtype key
        only: ``{"bfloat16": {"grad": 4}}``.
    name : str, optional
        Name in reports (default: ``fn.__name__``).
    seed : int
        Seed of the specs' draws.
    skip : mapping of str to str, optional
        Check (or group: ``'grad'``, ``'grad_fd'``) -> why it does not apply; reported as not
        run. E.g. ``{"grad_fd": "kink at 0"}``, ``{"type": "returns float64 by design"}``.
    placement : bool
        Run the placement checks (``tf.Variable`` input, non-default devices) on the first case.
    missing_device : {'fail', 'skip'}
        What to do when ``device`` is absent on torch, JAX or TensorFlow (installed and
        selected), or on every selected backend: ``'fail'`` (default) raises
        :class:`~lossbridge.conformance.DeviceUnavailable` naming each backend and why;
        ``'skip'`` reports those backends as not run, with the reason.

    Returns
    -------
    ParityReport
        When checks fail, its :attr:`~ParityReport.verdicts` say whom the failures point at:
        every backend's output is compared with every other's, and backends outside a
        majority that agree with each other are the suspects (the NumPy backend included,
        whose path is the default reference).

    Raises
    ------
    ValueError
        For bad arguments, and when the reference cannot be evaluated on NumPy float64 inputs
        (framework-native code: use :func:`check_port`, or pass ``reference=``).
    DeviceUnavailable
        A ``ValueError``: ``device`` is missing and ``missing_device`` is ``'fail'``.
    """
    name = name or _name_of(fn)
    backends = _check_backends(backends)
    dtypes = _check_dtypes(dtypes)
    _require_device(device, backends, missing_device, f"check({name})")
    plan = _plan(inputs, specs, kwargs, seed)
    gargs = _grad_args(plan, grad_args)
    primary = plan.floating[0] if plan.floating else plan.arrays[0]
    skip = dict(skip or {})
    known = set(SKIP_GROUPS) | set(_tol.KINDS) | _NON_NUMERIC_CHECKS
    known |= {c for modes in COMPILED_MODES.values() for c in modes}
    unknown = sorted(set(skip) - known)
    if unknown:
        raise ValueError(f"skip: unknown checks {unknown}; expected some of {sorted(known)}")
    case_skip = {k: v for k, v in skip.items() if k in SKIP_GROUPS}
    post_skip = {k: v for k, v in skip.items() if k not in SKIP_GROUPS}
    ref = fn if reference is None else reference
    for label, arrays, kw, _ in plan.cases:
        try:
            np.asarray(_quiet(ref, **arrays, **kw), dtype=np.float64)
        except Exception as exc:  # noqa: BLE001 - turned into a usage error
            what = "the reference" if reference is not None else f"{name} on NumPy float64 arrays"
            raise ValueError(
                f"{what} (input set {label!r}) raised {_first_line(exc)}; the float64 reference "
                "must run on NumPy. For framework-native code pass reference=, or compare two "
                "implementations with check_port()"
            ) from exc
    cases = tuple(
        Case(
            label=label,
            make=lambda rng, a=arrays: a,
            kwargs=kw,
            grad_args=gargs,
            skip=case_skip,
            compile=bool(compiled),
            placement=placement and i == 0,
            inductor=compiled == "inductor",
        )
        for i, (label, arrays, kw, _) in enumerate(plan.cases)
    )
    entry = _UserEntry(
        name=name,
        fn=fn,
        reference=ref,
        cases=cases,
        oracle=None,
        grad_args=(primary, *[g for g in gargs if g != primary]),
        bounds=_bounds(tolerances),
        sources={label: code for label, _, _, code in plan.cases},
        fn_import=_import_line(fn, "fn"),
        ref_import=_import_line(reference, "reference") if reference is not None else "",
    )
    suite = Suite(registry={})
    results = suite.run(
        [entry], backends=backends, dtypes=dtypes, compile=bool(compiled), device=device
    )
    results = _post_process(results, post_skip)
    verdicts = _check_verdicts(
        suite, entry, results, device, reference_path="" if reference is not None else "numpy"
    )
    return ParityReport(
        name=name,
        results=results,
        backends=tuple(backends or [d.name for d in DRIVERS.values() if d.available()]),
        dtypes=dtypes,
        device=device,
        tolerances=entry.bounds,
        timings=dict(suite.timings),
        verdicts=verdicts,
    )


def _post_process(results: list[Result], post_skip: Mapping[str, str]) -> list[Result]:
    out = []
    for r in results:
        if r.check in _ORACLE_CHECKS:
            continue
        why = post_skip.get(r.check) or post_skip.get(r.check.removesuffix("_grad"))
        if why and not r.skipped:
            r = dataclasses.replace(r, passed=False, skipped=True, message=why, repro="")
        out.append(r)
    return out


def assert_parity(fn: Callable[..., Any], inputs: Any = None, **options: Any) -> ParityReport:
    """:func:`check`, then :meth:`ParityReport.assert_ok`: raise ``AssertionError`` on failure.

    Returns the report when every check that ran passed.
    """
    __tracebackhide__ = True  # pytest: the failure points at the caller's line
    return check(fn, inputs, **options).assert_ok()


# ------------------------------------------------------------------------------------------
# Missing devices, and blame by majority vote
# ------------------------------------------------------------------------------------------


def _require_device(
    device: str | None, backends: Sequence[str] | None, missing_device: str, fn_name: str
) -> None:
    """Raise :class:`DeviceUnavailable` when ``device`` is missing and the caller did not ask
    to skip (``missing_device='skip'``).

    Missing means: absent on an installed backend that can hold devices (torch, JAX,
    TensorFlow; the host-only NumPy and array-api-strict are reported as not run on a GPU), or
    absent on every installed backend selected (nothing would run on it).
    """
    if missing_device not in _MISSING_DEVICE:
        raise ValueError(
            f"{fn_name}: missing_device must be one of {list(_MISSING_DEVICE)}; "
            f"got {missing_device!r}"
        )
    if device is None or missing_device == "skip":
        return
    if backends is None:
        drivers = [d for d in DRIVERS.values() if d.available()]
    else:
        drivers = [d for d in (get_driver(b) for b in backends) if d.available()]
    missing: dict[str, str] = {}
    for d in drivers:
        try:
            d.resolve_device(device)
        except DeviceUnavailable as exc:
            missing[d.name] = str(exc)
    blocking = {b: why for b, why in missing.items() if b not in _HOST_ONLY}
    if not blocking and drivers and len(missing) == len(drivers):
        blocking = missing  # host-only backends alone: nothing at all would run there
    if blocking:
        raise DeviceUnavailable(
            f"{fn_name}: device {device!r} is not available: "
            + "; ".join(blocking.values())
            + ". Run where it is, choose backends that have it (backends=), or pass "
            "missing_device='skip' to report those backends as not run (pytest: "
            "--parity-skip-missing-device)"
        )


def _majority(
    voters: Sequence[str], agree: Callable[[str, str], bool]
) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """The largest group of ``voters`` that agree pairwise, when it is unique and holds more
    than half of them (else ``()``), and the voters grouped by agreement (connected groups)."""
    pairs = {frozenset(p): agree(*p) for p in itertools.combinations(voters, 2)}
    best: list[tuple[str, ...]] = []
    for size in range(len(voters), 1, -1):
        best = [
            group
            for group in itertools.combinations(voters, size)
            if all(pairs[frozenset(p)] for p in itertools.combinations(group, 2))
        ]
        if best:
            break
    majority = best[0] if len(best) == 1 and 2 * len(best[0]) > len(voters) else ()
    groups: list[list[str]] = []
    for v in voters:
        joined = [g for g in groups if any(pairs[frozenset((v, w))] for w in g)]
        merged = [v, *(w for g in joined for w in g)]
        groups = [g for g in groups if g not in joined] + [merged]
    order = {v: i for i, v in enumerate(voters)}
    ordered = sorted((sorted(g, key=order.__getitem__) for g in groups), key=lambda g: order[g[0]])
    return majority, tuple(tuple(g) for g in ordered)


def _verdict(
    loss: str,
    case: str,
    dtype: str,
    backends: Sequence[str],
    agree: Callable[[str, str], bool],
    *,
    independent_reference: bool,
    reference_path: str = "",
    baselines: Mapping[str, str],
) -> Verdict | None:
    """The majority vote of ``backends`` (and of the reference, when ``independent_reference``):
    None when every voter agrees or fewer than two vote.

    ``baselines`` maps each cross-backend check to the backend it compares with (``cross``:
    the NumPy backend, ``grad_cross``: the first autodiff backend).
    """
    voters = [*backends, REFERENCE] if independent_reference else list(backends)
    if len(voters) < 2:
        return None
    majority, groups = _majority(voters, agree)
    reference = ""
    if independent_reference:
        reference = "agrees" if REFERENCE in majority else "disagrees"
    elif reference_path:
        reference = "path"
    common = {"loss": loss, "case": case, "dtype": dtype, "backends": tuple(backends)}
    if not majority:
        return Verdict(
            kind="split",
            reference=reference,
            reference_path=reference_path,
            groups=groups,
            **common,
        )
    suspects = tuple(b for b in backends if b not in majority)
    reference_suspect = (reference == "disagrees") or reference_path in suspects
    if not suspects and not reference_suspect:
        return None
    explains = [c for c, b in baselines.items() if b in suspects]
    if reference_suspect:
        explains += ["value", "grad_fd"]
    return Verdict(
        kind="suspects" if suspects else "everywhere",
        majority=tuple(b for b in majority if b != REFERENCE),
        suspects=suspects,
        reference=reference,
        reference_path=reference_path,
        explains=tuple(explains),
        groups=groups,
        **common,
    )


def _ad_source(dtype: str) -> str:
    """The first autodiff backend that runs at ``dtype``: the runner's ``grad_cross`` baseline."""
    for d in DRIVERS.values():
        if d.autodiff and d.available() and (dtype != "float64" or d.supports_float64()):
            return d.name
    return ""


def _agreement(
    suite: Suite,
    prep: Any,
    device: str | None,
    outputs: Mapping[str, Any],
    from_reference: set[str],
) -> Callable[[str, str], bool]:
    """``agree(a, b)``: whether two voters' ``outputs`` agree by the ``cross`` check's bound
    (the ``value`` check's where one is the float64 reference), conditioning-aware as in the
    checks themselves."""

    def spread(kind: str) -> float:
        return suite._spread(prep, kind)

    def agree(a: str, b: str) -> bool:
        check = "value" if {a, b} & from_reference else "cross"
        if a in from_reference:
            a, b = b, a  # measure the backend against the reference
        rec = _Recorder(prep.entry, prep.case, a, prep.dtype, device, spread)
        try:
            m = rec.measure(check, outputs[a], outputs[b])
            m, tol, _ = rec.conditioned(check, outputs[a], outputs[b], m, rec.tolerance(check))
        except Exception:  # noqa: BLE001 - not comparable (shapes): no agreement
            return False
        return bool(m.error <= tol)

    return agree


def _check_verdicts(
    suite: Suite,
    entry: _UserEntry,
    results: Sequence[Result],
    device: str | None,
    reference_path: str,
) -> list[Verdict]:
    """For each case and dtype with a failed value, cross or gradient check: every backend's
    output compared with every other's (by the ``cross`` check's bound; the reference by the
    ``value`` check's) and the majority vote."""
    groups: dict[tuple[str, str], list[Result]] = defaultdict(list)
    for r in results:
        groups[(r.case, r.dtype)].append(r)
    verdicts = []
    for (label, dtype), rs in groups.items():
        if not any(r.status == "fail" and r.check in _VOTED_CHECKS for r in rs):
            continue
        raised = {r.backend for r in rs if r.check == "call" and r.status == "fail"}
        ran = [b for b in dict.fromkeys(r.backend for r in rs if not r.skipped) if b not in raised]
        case = entry.case(label)
        prep = suite._prepare(entry, case, dtype)
        outputs: dict[str, Any] = {}
        for b in ran:
            d = get_driver(b)
            try:
                arrays = _arrays(d, prep.inputs, dtype, d.resolve_device(device))
                outputs[b] = d.to_numpy(_quiet(entry.fn, **arrays, **case.kwargs))
            except Exception:  # noqa: BLE001 - a backend that cannot recompute does not vote
                continue
        # The reference stands for its own path (the user's function on NumPy float64 arrays)
        # where that backend did not run itself, and votes on its own when independent.
        from_reference = set()
        if reference_path and reference_path not in outputs:
            outputs[reference_path] = prep.reference
            from_reference.add(reference_path)
        if not reference_path:
            outputs[REFERENCE] = prep.reference
            from_reference.add(REFERENCE)

        voters = [b for b in outputs if b != REFERENCE]
        v = _verdict(
            entry.name,
            label,
            dtype,
            voters,
            _agreement(suite, prep, device, outputs, from_reference),
            independent_reference=not reference_path,
            reference_path=reference_path,
            baselines={"cross": "numpy", "grad_cross": _ad_source(dtype)},
        )
        if v is not None:
            verdicts.append(v)
    return verdicts


# ------------------------------------------------------------------------------------------
# Porting check: two implementations, identical inputs
# ------------------------------------------------------------------------------------------


def check_port(
    fn_a: Callable[..., Any],
    fn_b: Callable[..., Any],
    inputs: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    *,
    specs: Mapping[str, Spec] | None = None,
    kwargs: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    backend_a: str = "torch",
    backend_b: str = "tensorflow",
    kwargs_a: Mapping[str, Any] | None = None,
    kwargs_b: Mapping[str, Any] | None = None,
    dtypes: Sequence[str] | None = CHECK_DTYPES,
    device: str | None = None,
    grad_args: Sequence[str] | None = None,
    reference: Callable[..., Any] | None = None,
    tolerances: Mapping[str, Any] | None = None,
    name: str | None = None,
    seed: int = 0,
    missing_device: str = "fail",
) -> ParityReport:
    """Check that two implementations of one function agree: the porting check.

    ``fn_a`` gets ``backend_a``'s arrays and ``fn_b`` ``backend_b``'s, converted from the same
    NumPy data (so both see identical numbers); either may be framework-native code (a torch
    function and its TensorFlow port). Records, per input set and dtype: ``cross`` (``fn_b``'s
    output against ``fn_a``'s), ``grad_cross`` (their gradients, where both backends have
    autodiff), ``type`` (each returns its framework's array of the input's dtype), ``call`` /
    ``grad_call`` (one raised), and with ``reference=``: ``value`` and ``grad_fd`` for each.

    Parameters
    ----------
    fn_a, fn_b : callable
        Called as ``fn(**arrays, **kwargs, **kwargs_a)`` (resp. ``kwargs_b``).
    inputs, specs, kwargs, dtypes, device, grad_args, tolerances, seed, missing_device
        As for :func:`check`.
    backend_a, backend_b : str
        Backends of ``fn_a`` and ``fn_b`` (may be equal: two torch implementations).
    kwargs_a, kwargs_b : mapping, optional
        Keyword arguments for one side only (its own spelling of an option).
    reference : callable, optional
        A float64 NumPy implementation both are also compared with; it breaks the tie when
        the two disagree (the report's :attr:`~ParityReport.verdicts` then name the one that
        disagrees with it).
    name : str, optional
        Default ``'<fn_a> vs <fn_b>'``.

    Returns
    -------
    ParityReport
    """
    name = name or f"{_name_of(fn_a)} vs {_name_of(fn_b)}"
    da, db = get_driver(backend_a), get_driver(backend_b)
    _require_device(device, [backend_a, backend_b], missing_device, f"check_port({name})")
    dtypes = _check_dtypes(dtypes)
    plan = _plan(inputs, specs, kwargs, seed)
    gargs = _grad_args(plan, grad_args)
    primary = plan.floating[0] if plan.floating else plan.arrays[0]
    kwargs_a, kwargs_b = dict(kwargs_a or {}), dict(kwargs_b or {})
    label_a, label_b = backend_a, backend_b
    if backend_a == backend_b:
        label_a, label_b = f"{backend_a} (a)", f"{backend_b} (b)"
    bounds = _bounds(tolerances)
    cases = [
        Case(label=label, make=lambda rng, a=arrays: a, kwargs=kw, grad_args=gargs)
        for label, arrays, kw, _ in plan.cases
    ]
    common = {
        "name": name,
        "reference": reference if reference is not None else fn_a,
        "cases": tuple(cases),
        "grad_args": (primary, *[g for g in gargs if g != primary]),
        "bounds": bounds,
        "sources": {label: code for label, _, _, code in plan.cases},
        "ref_import": _import_line(reference, "reference") if reference is not None else "",
    }
    entry_a = _UserEntry(fn=fn_a, fn_import=_import_line(fn_a, "fn"), **common)
    entry_b = _UserEntry(
        fn=fn_b,
        fn_import=_import_line(fn_b, "fn"),
        port_of=(_import_line(fn_a, "fn_a"), backend_a, repr(kwargs_a)),
        **common,
    )
    results: list[Result] = []
    verdicts: list[Verdict] = []
    for case in cases:
        for dtype in dtypes:
            rs = _port_case(
                (entry_a, da, label_a, kwargs_a),
                (entry_b, db, label_b, kwargs_b),
                case,
                dtype,
                device,
                reference,
            )
            results.extend(rs)
            v = _port_verdict(
                name, case.label, dtype, rs, (label_a, label_b), reference is not None
            )
            if v is not None:
                verdicts.append(v)
    return ParityReport(
        name=name,
        results=results,
        backends=(label_a, label_b),
        dtypes=dtypes,
        device=device,
        tolerances=bounds,
        mode="port",
        verdicts=verdicts,
    )


def _port_verdict(
    name: str,
    label: str,
    dtype: str,
    results: Sequence[Result],
    sides: tuple[str, str],
    has_reference: bool,
) -> Verdict | None:
    """The majority vote of a porting check's two sides and its reference (when given), from
    the records: ``cross`` (b against a) and each side's ``value`` (against the reference)."""
    if not any(r.status == "fail" and r.check in _VOTED_CHECKS for r in results):
        return None
    passed = {(r.backend, r.check): r.passed for r in results if not r.skipped}
    ran = [
        side
        for side in sides
        if any(b == side for b, _ in passed) and passed.get((side, "call"), True)
    ]

    def agree(a: str, b: str) -> bool:
        if REFERENCE in (a, b):
            return passed.get((b if a == REFERENCE else a, "value"), False)
        return passed.get((sides[1], "cross"), False)

    return _verdict(
        name,
        label,
        dtype,
        ran,
        agree,
        independent_reference=has_reference,
        baselines={"cross": sides[0], "grad_cross": sides[0]},
    )


def _side_unavailable(d: Driver, dtype: str, device: str | None) -> tuple[str, Any]:
    """Why a backend cannot run (or ``''``), and its device object."""
    if not d.available():
        return f"{d.name} not installed", None
    try:
        where = d.resolve_device(device)
    except DeviceUnavailable as exc:
        return str(exc), None
    if d.dtype_unavailable(dtype):
        return d.dtype_unavailable(dtype), None
    if dtype == "float64" and not d.supports_float64():
        return _NO_X64, None
    return "", where


def _port_case(side_a, side_b, case: Case, dtype: str, device, reference) -> list[Result]:
    recs = []
    outs = []
    inputs = case.inputs()
    for entry, d, label, own_kw in (side_a, side_b):
        rec = _Recorder(entry, case, label, dtype, device)
        recs.append(rec)
        why, where = _side_unavailable(d, dtype, device)
        if why:
            rec.skip("all", why)
            outs.append(None)
            continue
        kw = {**case.kwargs, **own_kw}
        arrays = _arrays(d, inputs, dtype, where)
        gargs = entry.grad_args_of(case, inputs)
        try:
            out = _quiet(entry.fn, **arrays, **kw)
            out_np = d.to_numpy(out)
        except Exception as exc:  # noqa: BLE001
            rec.fail("call", f"{entry.name} ({label}) raised {_first_line(exc)}")
            outs.append(None)
            continue
        rec.check_type(d, out, arrays[entry.primary], dtype)
        grads = None
        if d.autodiff and gargs:
            cot = _cotangent(case, out_np.shape, dtype)
            try:
                _, grads = _EAGER_GRAD[d.name](
                    d, entry.fn, _arrays(d, inputs, dtype, where), gargs, kw, cot
                )
            except Exception as exc:  # noqa: BLE001
                rec.fail("grad_call", f"gradient ({label}) raised {_first_line(exc)}")
        if reference is not None:
            rounded = round_inputs(inputs, dtype)
            ref = np.asarray(_quiet(reference, **rounded, **case.kwargs), dtype=np.float64)
            rec.numeric("value", out_np, ref, "the float64 reference")
            if grads is not None:
                # Half: the float64 finite differences are the float64 gradient (grad_ref)
                check = "grad_ref" if dtype in HALF_DTYPES else "grad_fd"
                cot = _cotangent(case, out_np.shape, dtype)
                fd = _finite_difference(entry, case, rounded, gargs, cot)
                if fd.grads is not None:
                    rec.numeric(check, grads, fd.grads, "finite differences of the reference")
                else:
                    rec.skip(check, fd.skipped)
        outs.append((out_np, grads))
    if outs[0] is not None and outs[1] is not None:
        rec_b = recs[1]
        (out_a, grads_a), (out_b, grads_b) = outs
        against = f"{_name_of(side_a[0].fn)} on {side_a[2]}"
        rec_b.numeric("cross", out_b, out_a, against)
        if grads_a is not None and grads_b is not None:
            rec_b.numeric("grad_cross", grads_b, grads_a, f"{against}'s gradient")
        elif side_a[1].autodiff and side_b[1].autodiff and case.grad_args:
            rec_b.skip("grad_cross", "a gradient could not be computed (see grad_call)")
    return [r for rec in recs for r in rec.results]


# ------------------------------------------------------------------------------------------
# The report
# ------------------------------------------------------------------------------------------


@dataclass
class ParityReport:
    """The outcome of :func:`check` or :func:`check_port`.

    Attributes
    ----------
    name : str
        The function's name (``'<a> vs <b>'`` for a porting check).
    results : list of Result
        One record per check, backend, dtype and input set (see
        :class:`~lossbridge.conformance.Result`: status, error and tolerance, the worst
        element's index and values, the error in ulps, message and repro).
    backends, dtypes : tuple of str
        What was asked for.
    device : str or None
    tolerances : dict
        Per dtype, the bound of each kind (``value``, ``grad``, ``fd``) and overridden check.
    timings : dict of str to float
        Seconds per check family.
    mode : {'check', 'port'}
    verdicts : list of Verdict
        For each input set and dtype with a failed value, cross or gradient check, whom the
        failures point at by majority vote of the backends' outputs
        (:class:`~lossbridge.conformance.report.Verdict`): the suspects (the NumPy backend
        included, whose path is the default reference), that the function is wrong on every
        backend, or that there is no majority.
    """

    name: str
    results: list[Result]
    backends: tuple[str, ...] = ()
    dtypes: tuple[str, ...] = CHECK_DTYPES
    device: str | None = None
    tolerances: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    mode: str = "check"
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def ran(self) -> list[Result]:
        """Checks that ran."""
        return [r for r in self.results if not r.skipped]

    @property
    def failures(self) -> list[Result]:
        """Checks that ran and failed."""
        return [r for r in self.results if r.status == "fail"]

    @property
    def not_run(self) -> list[Result]:
        """Checks (or whole backend/dtype combinations: check ``'all'``) not run, with why."""
        return [r for r in self.results if r.skipped]

    @property
    def ok(self) -> bool:
        """At least one check ran, and every check that ran passed."""
        return bool(self.ran) and not self.failures

    @property
    def suspects(self) -> tuple[str, ...]:
        """The backends a majority of the others outvote (:attr:`verdicts`), in order."""
        return tuple(dict.fromkeys(b for v in self.verdicts for b in v.suspects))

    def summary(self) -> dict[str, Any]:
        """Counts (combinations, checks run, passed, failed, not run), the :attr:`suspects` and
        the verdict in words (``''`` when no vote was needed)."""
        from lossbridge.conformance.report import summarize

        return {
            **summarize(self.results),
            "suspects": list(self.suspects),
            "verdict": verdict_line(self.verdicts),
        }

    def failure_message(self, max_failures: int = 5) -> str:
        """What :meth:`assert_ok` raises: each failure's check, backend, dtype, worst element,
        got vs expected, error vs tolerance and repro (the first ``max_failures`` in full).

        Failures that point at another backend (cross-backend checks of a backend that agrees
        with the float64 reference, and checks of the majority's backends against a suspect:
        :func:`~lossbridge.conformance.report.secondary_failures`) come last; the first line
        names the backends and dtypes at fault and the majority vote's verdict
        (:attr:`verdicts`), e.g. ``suspect: numpy (the reference path) - 4 of 5 backends agree
        with each other``.
        """
        from lossbridge.conformance.report import secondary_failures

        if not self.ran:
            reasons = sorted({r.message for r in self.not_run})
            return f"parity of {self.name}: no check ran: " + "; ".join(reasons)
        second = secondary_failures(self.results, self.verdicts)
        primary = [
            r for r, s2 in zip(self.results, second, strict=True) if r.status == "fail" and not s2
        ]
        others = [r for r, s2 in zip(self.results, second, strict=True) if s2]
        ordered = primary + others
        at = ", ".join(dict.fromkeys(f"{r.backend} {r.dtype}" for r in primary))
        vote = verdict_line(self.verdicts)
        lines = [
            f"parity of {self.name}: {len(ordered)} of {plural(len(self.ran), 'check')} failed"
            + (f", pointing at {at}" if at else "")
            + (f"; {vote}" if vote else "")
            + f" (backends: {', '.join(self.backends)}; dtypes: {', '.join(self.dtypes)}"
            + (f"; device {self.device}" if self.device else "")
            + ")"
        ]
        if others:
            lines.append(
                f"({len(others)} of them "
                + ("is a check" if len(others) == 1 else "are checks")
                + " of backends that agree with the float64 reference or the majority, "
                "against the one at fault: "
                + ", ".join(dict.fromkeys(f"{r.check} on {r.backend} {r.dtype}" for r in others))
                + ")"
            )
        for i, r in enumerate(ordered[:max_failures], 1):
            lines += ["", f"{i}. {r.message}", "   repro:"]
            lines += ["     " + line for line in r.repro.splitlines()]
        rest = ordered[max_failures:]
        if rest:
            lines += ["", f"... and {plural(len(rest), 'more failure')}:"]
            lines += [f"   {r.check} on {r.backend} {r.dtype} [{r.case}]" for r in rest[:20]]
            if len(rest) > 20:
                lines.append(f"   ... ({len(rest) - 20} more; see report.to_markdown())")
        return "\n".join(lines)

    def assert_ok(self, max_failures: int = 5) -> ParityReport:
        """Raise ``AssertionError`` (:meth:`failure_message`) unless :attr:`ok`; else ``self``."""
        __tracebackhide__ = True
        if not self.ok:
            raise AssertionError(self.failure_message(max_failures))
        return self

    def _tolerance_lines(self) -> list[str]:
        lines = ["tolerances (float32/float64: norm-wise relative error; half: ulps):"]
        for dtype in self.dtypes:
            lines.append(f"  {_tol.describe(dtype, self.tolerances.get(dtype))}")
        return lines

    def __str__(self) -> str:
        from lossbridge.conformance.report import format_report

        kind = "porting check" if self.mode == "port" else "parity check"
        status = "PASS" if self.ok else ("NOT RUN" if not self.ran else "FAIL")
        head = f"{kind} of {self.name}: {status}" + (
            f" (device {self.device})" if self.device else ""
        )
        body = format_report(
            self.results,
            timings=self.timings or None,
            tolerance_lines=self._tolerance_lines(),
            verdicts=self.verdicts,
        )
        return f"{head}\n\n{body}"

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready."""
        return {
            "name": self.name,
            "mode": self.mode,
            "ok": self.ok,
            "backends": list(self.backends),
            "dtypes": list(self.dtypes),
            "device": self.device,
            "summary": self.summary(),
            "verdicts": [v.to_dict() for v in self.verdicts],
            "tolerances": {k: dict(v) for k, v in self.tolerances.items()},
            "timings": dict(self.timings),
            "results": [r.to_dict() for r in self.results],
        }

    def to_json(self, path: str | None = None, *, indent: int | None = 1) -> str:
        """:meth:`to_dict` as JSON text, also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent)
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return text

    def to_markdown(self, path: str | None = None) -> str:
        """A Markdown report (summary, matrix, failures with repros, checks not run)."""
        from lossbridge.conformance.report import to_markdown

        kind = "Porting check" if self.mode == "port" else "Parity check"
        text = to_markdown(
            self.results,
            title=f"{kind}: {self.name}",
            timings=self.timings or None,
            tolerance_lines=self._tolerance_lines(),
            verdicts=self.verdicts,
        )
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return text

    def to_junit(self, path: str | None = None) -> str:
        """JUnit XML: one test case per input set, backend and dtype."""
        from lossbridge.conformance.report import to_junit

        text = to_junit(self.results, suite=f"lossbridge.parity.{self.name}")
        if path is not None:
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
        return text

    def heatmap(self, path: str, *, title: str | None = None) -> str:
        """Draw the worst error in ulps per function x backend/dtype to ``path`` (needs
        matplotlib: ``pip install lossbridge[plot]``); returns ``path``."""
        from lossbridge.conformance.heatmap import draw_heatmap

        return draw_heatmap(self.results, path, title=title or f"{self.name}: worst error in ulps")
