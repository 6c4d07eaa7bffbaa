"""Run the conformance registry over every installed backend and dtype.

The dtypes (:data:`DTYPES`) are float32, float64, float16 and bfloat16 (NumPy's bfloat16 is
``ml_dtypes.bfloat16``). Inputs are generated once in float64 and rounded to the dtype; the
reference is the float64 reference on the rounded inputs. array-api-strict has no half dtype
(reported as not run, with the reason); float16 cases with an input beyond 65504 are not run
at float16 (reason given), and a case may switch checks off at one dtype
(``Case.skip['<group>@<dtype>']``). Bounds and the conditioning-aware rule:
:mod:`lossbridge.conformance.tolerances` (half dtypes in ulps).

For each registry entry x case x backend x dtype the runner records :class:`Result` records:

``value``
    The backend's output against the float64 NumPy reference evaluated on the inputs rounded to
    the case dtype (cast to the dtype and back), so input rounding is not counted as error.
``cross``
    The backend's output against the NumPy backend's output (same dtype).
``oracle``
    The backend's output against ``torch.nn.functional``'s on the same dtype's inputs.
``tf_ctc_loss``, ``optax_ctc_loss``, ``optax_sigmoid_focal_loss``
    The entry's further oracles (:attr:`Entry.extra_oracles`), each a check named after it: the
    backend's output against that library's on the same dtype's inputs.
``type``
    Output array type (the backend's own: a ``tf.Tensor`` for ``tf.Tensor`` input), dtype and
    device equal to those of the loss's primary array (:attr:`Entry.primary`: ``input``,
    ``log_probs``, ``boxes1``, ...).
``grad_cross``, ``grad_oracle``, ``grad_fd``
    For torch, JAX and TensorFlow: the gradient of ``sum(loss * cotangent)`` (a fixed random
    cotangent for ``'none'`` reductions, 1 otherwise) with respect to the entry's gradient
    arguments, against the first autodiff backend's (torch when installed), against torch's
    autograd of ``torch.nn.functional`` (both projected first where the entry says so:
    ``ctc_loss``, see :attr:`Entry.oracle_grad_projection`), and against a float64 central
    finite difference of the NumPy reference on the rounded inputs (of
    :attr:`Entry.fd_reference` where the gradient is by design not the value's derivative).
    Half dtypes: no ``grad_fd`` (the same float64 check as float32); ``grad_ref`` compares
    the half gradient with the float64 gradient on the same rounded inputs, and the oracle
    checks (``oracle``, ``grad_oracle``, extra oracles) pass when ours is no farther from the
    float64 reference than the oracle, which computes partly in half.
``tf_variable``, ``tf_variable_grad``, ``device``
    On each loss's placement case: a ``tf.Variable`` input (output must be a ``tf.Tensor``,
    values and gradient equal to the eager ``tf.Tensor`` run), array-api-strict on its second
    device ``Device('device1')`` (output on that device, equal values), torch on the ``meta``
    device (shape, dtype and device only).
``jax_jit``, ``tf_function``, ``tf_xla``, ``torch_compile``, ``torch_inductor`` (+ ``_grad``)
    The compiled modes, forward and gradient, against the eager result of the same backend:
    ``jax.jit`` and ``jax.jit(jax.grad(...))``; ``tf.function`` and
    ``tf.function(jit_compile=True)`` with the gradient taken by a ``GradientTape`` inside the
    function; ``torch.compile(fullgraph=True)`` forward and backward (``fullgraph=True`` turns
    every graph break into an error, which is what proves there are none).
Half dtypes run one compiled mode per framework: ``jax.jit``, ``tf.function`` (no XLA) and
``torch.compile`` with ``aot_eager`` (no inductor).
``call``, ``grad_call``
    A loss that raises where it should not: recorded as a failure with the error's first line.

torch.compile scheme
--------------------
Measured on the 2-core CI machine (shared, load about 3) over the full registry: a
``torch.compile`` with the inductor backend costs 2.5-3.2 s per case (forward and backward
graphs, C++ code generation and compilation; 6-8 s for the first one in a process),
``backend="aot_eager"`` with ``fullgraph=True`` 0.45-0.6 s. Dynamo's tracing and
AOTAutograd's joint forward/backward graph, which is where graph breaks and tracing failures
live, are the same in both; inductor adds code generation. So one representative case
(``Case.inductor``, a ``'mean'`` or ``'batchmean'`` case) of each of the first eleven losses, of
``ctc_loss`` (its recursion runs as a custom operator under ``torch.compile``) and of
``triplet_margin_loss`` (norms, ``where`` chains) uses inductor at both dtypes (26 compiles,
60-80 s with a cold inductor cache) and the other compiled cases use ``aot_eager`` (74
compiles), all with ``fullgraph=True``. Each compiled call gets a fresh code object, so
dynamo's per-code recompilation limit is never hit and no global dynamo state
(``torch._dynamo.reset()``, config) is touched.

Compiled modes run only on cases flagged ``Case.compile``: three to five per loss for the first
eleven losses (their distinct code paths and the three reductions), one for each later one (its
``'mean'`` case; two for ``triplet_margin_with_distance_loss``, whose second runs a
``distance_function`` written against the array API under every compiler), since every compiled
case costs 1.5-3 s per framework; every other check runs on every case.

Worst element and devices
-------------------------
Besides the norm-wise relative error, every numeric record carries the worst element's index
(and, for gradients, the argument), the two values there and the error in ulps of the dtype
(:func:`compare_detail`); a failure's message quotes them. ``Suite.run(device='cuda')`` puts
every backend's arrays on that device (:meth:`Driver.resolve_device`); a backend without it is
reported as not run, with the reason. An entry may bring its own tolerances
(``entry.check_tolerance(case, check, backend, dtype)``) and repro snippets
(``entry.repro_snippet(case, backend, dtype, check, device)``):
:mod:`lossbridge.conformance.parity` uses both for users' functions.

Nothing here changes global framework state: float64 on JAX runs only if the application
enabled ``jax_enable_x64`` (otherwise those checks are reported as not run, with the reason).
"""

from __future__ import annotations

import time
import types
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from lossbridge.conformance import tolerances as _tol
from lossbridge.conformance._text import plural
from lossbridge.conformance.drivers import (
    DRIVERS,
    HALF_DTYPES,
    DeviceUnavailable,
    Driver,
    finfo,
    get_driver,
    numpy_dtype,
)
from lossbridge.conformance.registry import REGISTRY, Case, Entry

__all__ = [
    "DTYPES",
    "FD_MAX_ELEMENTS",
    "HALF_DTYPES",
    "Mismatch",
    "Result",
    "Suite",
    "compare",
    "compare_detail",
    "compare_ulps",
    "relative_error",
    "round_inputs",
    "run",
]

DTYPES = ("float32", "float64", "float16", "bfloat16")

#: Why the half dtypes get no finite-difference check.
_HALF_FD = (
    "not run: the same float64 check as float32 (central finite differences of the float64 "
    "reference; the half gradient is checked against the float64 gradient, grad_ref)"
)

#: Cases whose gradient arguments hold more elements than this get no finite-difference check.
FD_MAX_ELEMENTS = 256

#: Relative step of the central finite difference, ``h = FD_STEP * max(1, |x|)``: about
#: ``eps ** (1 / 3)`` for float64, which balances truncation (``h**2``) and cancellation
#: (``eps / h``) errors.
FD_STEP = 6e-6

#: The compiled modes of each backend: (check name, what is compiled).
COMPILED_MODES = {
    "jax": ("jax_jit", "jax_jit_grad"),
    "tensorflow": ("tf_function", "tf_function_grad", "tf_xla", "tf_xla_grad"),
    "torch": ("torch_compile", "torch_compile_grad", "torch_inductor", "torch_inductor_grad"),
}


@dataclass(frozen=True)
class Result:
    """One check of one loss, case, backend and dtype.

    ``error`` and ``tolerance`` are None for checks that are not numeric (``type``, the ``meta``
    device, ``call``) and for checks not run (``skipped``; ``message`` says why).

    The numeric checks also record where the error is worst (see :class:`Mismatch`): ``index``
    (the element's index; ``argument`` names the differentiated argument for gradient checks),
    ``got`` and ``expected`` (the two values there) and ``ulps`` (the error in units of the last
    place of the check's dtype). ``device`` is the device the run asked for (None: the default).
    """

    loss: str
    case: str
    backend: str
    dtype: str
    check: str
    error: float | None
    tolerance: float | None
    passed: bool
    message: str = ""
    repro: str = ""
    skipped: bool = False
    index: tuple[int, ...] | None = None
    argument: str | None = None
    got: float | None = None
    expected: float | None = None
    ulps: float | None = None
    device: str | None = None

    @property
    def status(self) -> str:
        """``'pass'``, ``'fail'`` or ``'skip'`` (not run)."""
        return "skip" if self.skipped else ("pass" if self.passed else "fail")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (non-finite numbers as strings, the index as a list)."""
        d = asdict(self)
        for key in ("error", "got", "expected", "ulps"):
            if d[key] is not None and not np.isfinite(d[key]):
                d[key] = str(d[key])
        if d["index"] is not None:
            d["index"] = list(d["index"])
        return d

    @property
    def worst(self) -> str:
        """Where the error is worst, e.g. ``'d/dinput[3, 1]'``, ``'[2]'`` or ``'(scalar)'``."""
        return _element(self.index, self.argument)


def _element(index: tuple[int, ...] | None, argument: str | None) -> str:
    if index is None:
        return ""
    if argument:
        return f"d/d{argument}" + (f"[{', '.join(map(str, index))}]" if index else "")
    return f"[{', '.join(map(str, index))}]" if index else "(scalar)"


# ------------------------------------------------------------------------------------------
# The one comparison function
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mismatch:
    """The outcome of :func:`compare_detail`: the error and where it is worst.

    Attributes
    ----------
    error : float
        Norm-wise relative error, ``max|a - b| / max(max|b|, tiny)`` (see :func:`compare`).
    note : str
        Why the error is infinite (empty otherwise).
    index : tuple of int or None
        Index of the worst element (the first non-finite mismatch where there is one); None for
        a shape mismatch or empty arrays.
    got, expected : float or None
        The two values at :attr:`index`.
    ulps : float or None
        ``max|a - b|`` in units of the last place of ``dtype`` at the largest expected
        magnitude (the norm-wise error counted in ulps, ``error / eps`` within a factor of 2);
        None when no dtype was given.
    argument : str or None
        For gradients (compared per differentiated argument): the argument with the worst
        error.
    """

    error: float
    note: str = ""
    index: tuple[int, ...] | None = None
    got: float | None = None
    expected: float | None = None
    ulps: float | None = None
    argument: str | None = None


def _ulp(scale: Any, dtype: str | None) -> Any:
    """The ulp of ``dtype`` at magnitude ``scale`` (a float, or elementwise for an array)."""
    if dtype is None:
        return None
    info = finfo(dtype)
    # 2 ** (exponent - mantissa bits), computed in float64 so that no dtype overflow intrudes;
    # below the smallest normal number the spacing is that of the subnormals
    _, exponent = np.frexp(np.maximum(np.abs(scale), float(info.smallest_normal)))
    ulp = np.ldexp(1.0, exponent - 1 - int(info.nmant))
    return float(ulp) if np.ndim(ulp) == 0 else ulp


def compare_detail(actual: Any, expected: Any, dtype: str | None = None) -> Mismatch:
    """:func:`compare` with the worst element's index and values, and the error in ulps.

    Parameters
    ----------
    actual, expected : array_like
        Compared as float64.
    dtype : str, optional
        The dtype the ulps are counted in (``'float32'``, ``'float64'``).

    Returns
    -------
    Mismatch
    """
    a = np.asarray(actual, dtype=np.float64)
    b = np.asarray(expected, dtype=np.float64)
    if a.shape != b.shape:
        return Mismatch(float("inf"), f"shape {a.shape} != expected {b.shape}")
    if a.size == 0:
        return Mismatch(0.0, ulps=None if dtype is None else 0.0)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    odd = ~same & ~(np.isfinite(a) & np.isfinite(b))
    if np.any(odd):
        i = np.unravel_index(int(np.argmax(odd)), a.shape)
        return Mismatch(
            float("inf"),
            f"got {a[i]!r} where {b[i]!r} was expected at index {i}",
            index=tuple(int(k) for k in i),
            got=float(a[i]),
            expected=float(b[i]),
            ulps=None if dtype is None else float("inf"),
        )
    finite_b = np.abs(b[np.isfinite(b)])
    scale = max(float(finite_b.max()) if finite_b.size else 0.0, np.finfo(np.float64).tiny)
    with np.errstate(invalid="ignore"):  # inf - inf where ``same`` already holds
        diff = np.where(same, 0.0, np.abs(a - b))
    i = np.unravel_index(int(np.argmax(diff)), a.shape)
    worst = float(diff[i])
    ulp = _ulp(scale, dtype)
    return Mismatch(
        worst / scale,
        index=tuple(int(k) for k in i),
        got=float(a[i]),
        expected=float(b[i]),
        ulps=None if ulp is None else worst / ulp,
    )


def compare_ulps(
    actual: Any,
    expected: Any,
    dtype: str,
    floor_ulps: float = 0.0,
    floor_rel: float = 0.0,
    saturate: bool = True,
) -> Mismatch:
    """The worst element's error in ulps of ``dtype`` at its own magnitude (half dtypes).

    Element ``i`` counts ``|a_i - b_i| / (ulp(b_i) + floor_ulps * ulp(max|b|) + floor_rel *
    max|b|)``: ulps of the expected element, with a floor of ``floor_ulps`` ulps of the largest
    element and ``floor_rel`` of its magnitude (the conditioning term, see
    :mod:`lossbridge.conformance.tolerances`). A shape mismatch or a non-finite value on one
    side only gives ``inf``, as in :func:`compare_detail`.

    Returns
    -------
    Mismatch
        ``error`` and ``ulps`` both the worst element's count.
    """
    # An expected value beyond the dtype's range: its correctly rounded value is infinite
    # (``saturate=False``: a result of a wider dtype holds it, e.g. float32 for half inputs)
    b = np.asarray(expected, dtype=np.float64)
    if saturate:
        big = float(finfo(dtype).max)
        with np.errstate(over="ignore"):
            b = np.where(np.abs(b) > big, b.astype(numpy_dtype(dtype)).astype(np.float64), b)
    m = compare_detail(actual, b, dtype)
    if m.index is None or not np.isfinite(m.error):
        return m
    a = np.asarray(actual, dtype=np.float64)
    finite = np.isfinite(b)
    scale = float(np.abs(b[finite]).max()) if finite.any() else 0.0
    unit = _ulp(np.where(finite, b, 0.0), dtype) + floor_ulps * _ulp(scale, dtype)
    unit = unit + floor_rel * scale
    with np.errstate(invalid="ignore"):
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        count = np.where(same, 0.0, np.abs(a - b) / unit)
    i = np.unravel_index(int(np.argmax(count)), a.shape)
    worst = float(count[i])
    return Mismatch(
        worst, index=tuple(int(k) for k in i), got=float(a[i]), expected=float(b[i]), ulps=worst
    )


def compare(actual: Any, expected: Any) -> tuple[float, str]:
    """Norm-wise relative error of ``actual`` against ``expected``, with a note when infinite.

    The error is ``max|a - b| / max(max|b|, tiny)`` over finite ``b``, where NaN equals NaN and
    infinities equal infinities of the same sign. Shapes must match exactly; a shape mismatch or
    a non-finite value on one side only gives ``inf``. Empty arrays of equal shapes give 0.
    :func:`compare_detail` also says where the error is worst.

    Returns
    -------
    error : float
    note : str
        Why the error is infinite (empty otherwise).
    """
    m = compare_detail(actual, expected)
    return m.error, m.note


def relative_error(actual: Any, expected: Any) -> float:
    """The error of :func:`compare` alone."""
    return compare(actual, expected)[0]


def _compare_grads(
    actual: Mapping[str, Any],
    expected: Mapping[str, Any],
    dtype: str | None = None,
    measure: Callable[..., Mismatch] | None = None,
) -> Mismatch:
    """:func:`compare_detail` (or ``measure(a, b)``) per gradient argument; the worst, with the
    argument named."""
    worst: Mismatch | None = None
    for name, exp in expected.items():
        m = measure(actual[name], exp) if measure else compare_detail(actual[name], exp, dtype)
        if worst is None or m.error > worst.error:
            note = f"d/d{name}" + (f": {m.note}" if m.note else "") if m.error > 0 else ""
            worst = Mismatch(m.error, note, m.index, m.got, m.expected, m.ulps, name)
    if worst is None:
        return Mismatch(0.0)
    return worst


def round_inputs(inputs: Mapping[str, np.ndarray], dtype: str) -> dict[str, np.ndarray]:
    """Floating arrays cast to ``dtype`` and back to float64 (what the backends see)."""
    return {
        k: v.astype(numpy_dtype(dtype)).astype(np.float64) if v.dtype.kind == "f" else v
        for k, v in inputs.items()
    }


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".strip()


def _quiet(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


# ------------------------------------------------------------------------------------------
# Eager calls and gradients, per framework
# ------------------------------------------------------------------------------------------


def _arrays(d: Driver, inputs: Mapping[str, np.ndarray], dtype: str, device: Any = None) -> dict:
    return {k: d.from_numpy(v, dtype, device) for k, v in inputs.items()}


def _torch_grad(d, fn, arrays, gargs, kwargs, cot):
    torch = d.mod
    arrays = dict(arrays)
    for g in gargs:
        arrays[g] = arrays[g].detach().requires_grad_(True)
    out = _quiet(fn, **arrays, **kwargs)
    leaves = [arrays[g] for g in gargs]
    cot_t = torch.as_tensor(cot, dtype=out.dtype, device=out.device)
    grads = torch.autograd.grad(out, leaves, grad_outputs=cot_t, allow_unused=True)
    grads = [torch.zeros_like(x) if gx is None else gx for x, gx in zip(leaves, grads, strict=True)]
    return out, {g: d.to_numpy(gx) for g, gx in zip(gargs, grads, strict=True)}


def _jax_grad(d, fn, arrays, gargs, kwargs, cot):
    jax = d.mod

    def f(*gvals):
        return fn(**{**arrays, **dict(zip(gargs, gvals, strict=True))}, **kwargs)

    out, vjp = _quiet(jax.vjp, f, *[arrays[g] for g in gargs])
    grads = vjp(jax.numpy.asarray(cot, dtype=out.dtype))
    return out, {g: d.to_numpy(gx) for g, gx in zip(gargs, grads, strict=True)}


def _tf_grad(d, fn, arrays, gargs, kwargs, cot):
    tf = d.mod
    with tf.GradientTape() as tape:
        for g in gargs:
            tape.watch(arrays[g])
        out = _quiet(fn, **arrays, **kwargs)
    srcs = [arrays[g] for g in gargs]
    grads = tape.gradient(out, srcs, output_gradients=tf.constant(cot, dtype=out.dtype))
    grads = [tf.zeros_like(x) if gx is None else gx for x, gx in zip(srcs, grads, strict=True)]
    return out, {g: d.to_numpy(gx) for g, gx in zip(gargs, grads, strict=True)}


_EAGER_GRAD = {"torch": _torch_grad, "jax": _jax_grad, "tensorflow": _tf_grad}


# ------------------------------------------------------------------------------------------
# Compiled modes, per framework: each yields (check, output or grads as NumPy | exception)
# ------------------------------------------------------------------------------------------


def _fresh_function(fn: Callable[..., Any], tag: str) -> Callable[..., Any]:
    """A copy of ``fn`` with its own code object (dynamo caches compiled code per code object)."""
    code = fn.__code__.replace(co_name=f"{fn.__code__.co_name}_{tag}")
    return types.FunctionType(code, fn.__globals__, code.co_name, fn.__defaults__, fn.__closure__)


def _positional(fn, names, kwargs):
    def loss_call(*vals):
        return fn(**dict(zip(names, vals, strict=True)), **kwargs)

    return loss_call


def _run_jax_modes(d, fn, arrays, gargs, kwargs, cot, want_grad, **_):
    jax = d.mod
    jnp = jax.numpy
    names = list(arrays)
    call = _positional(fn, names, kwargs)
    vals = [arrays[n] for n in names]
    try:
        out = _quiet(jax.jit(call), *vals)
        yield "jax_jit", d.to_numpy(out)
    except Exception as exc:  # noqa: BLE001 - reported as a failure
        yield "jax_jit", exc
    if not want_grad:
        return
    gidx = [names.index(g) for g in gargs]

    def objective(gvals, others, c):
        full = list(others)
        for i, gv in zip(gidx, gvals, strict=True):
            full[i] = gv
        return jnp.sum(call(*full) * c)

    try:
        gvals = tuple(vals[i] for i in gidx)
        c = jnp.asarray(cot, dtype=vals[gidx[0]].dtype)
        grads = _quiet(jax.jit(jax.grad(objective)), gvals, tuple(vals), c)
        yield "jax_jit_grad", {g: d.to_numpy(gx) for g, gx in zip(gargs, grads, strict=True)}
    except Exception as exc:  # noqa: BLE001
        yield "jax_jit_grad", exc


def _run_tf_modes(d, fn, arrays, gargs, kwargs, cot, want_grad, half=False, **_):
    tf = d.mod
    names = list(arrays)
    call = _positional(fn, names, kwargs)
    vals = [arrays[n] for n in names]
    gidx = [names.index(g) for g in gargs] if want_grad else []
    c = tf.constant(cot, dtype=vals[gidx[0]].dtype) if gidx else None

    def both(*v):
        with tf.GradientTape() as tape:
            for i in gidx:
                tape.watch(v[i])
            out = call(*v)
        srcs = [v[i] for i in gidx]
        # the output's dtype, which an entry's output_dtype may make differ from the input's
        cot_out = None if c is None else tf.cast(c, out.dtype)
        grads = tape.gradient(out, srcs, output_gradients=cot_out) if gidx else []
        return out, [tf.zeros_like(s) if g is None else g for s, g in zip(srcs, grads, strict=True)]

    # Half dtypes: one compiled mode per framework (tf.function; XLA is float32's business).
    modes = ((False, "tf_function"),) if half else ((False, "tf_function"), (True, "tf_xla"))
    for jit, prefix in modes:
        try:
            out, grads = _quiet(tf.function(both, jit_compile=jit), *vals)
            yield prefix, d.to_numpy(out)
            if want_grad:
                yield (
                    f"{prefix}_grad",
                    {g: d.to_numpy(x) for g, x in zip(gargs, grads, strict=True)},
                )
        except Exception as exc:  # noqa: BLE001
            # Forward and gradient were traced together; find out whether the forward works.
            try:
                fwd = _quiet(tf.function(call, jit_compile=jit), *vals)
                yield prefix, d.to_numpy(fwd)
            except Exception as fwd_exc:  # noqa: BLE001
                yield prefix, fwd_exc
            if want_grad:
                yield f"{prefix}_grad", exc


def _run_torch_modes(
    d, fn, arrays, gargs, kwargs, cot, want_grad, inductor=False, tag="", half=False
):
    torch = d.mod
    names = list(arrays)
    inductor = inductor and not half  # half dtypes: aot_eager only (one compiled mode)
    prefix = "torch_inductor" if inductor else "torch_compile"
    call = _fresh_function(_positional(fn, names, kwargs), tag)
    compiled = torch.compile(call, fullgraph=True, backend="inductor" if inductor else "aot_eager")
    vals = [arrays[n].detach() for n in names]
    gidx = [names.index(g) for g in gargs] if want_grad else []
    for i in gidx:
        vals[i] = vals[i].requires_grad_(True)
    try:
        out = _quiet(compiled, *vals)
        yield prefix, d.to_numpy(out)
    except Exception as exc:  # noqa: BLE001
        yield prefix, exc
        if want_grad:
            yield f"{prefix}_grad", exc
        return
    if want_grad:
        try:
            c = torch.as_tensor(cot, dtype=out.dtype, device=out.device)
            leaves = [vals[i] for i in gidx]
            grads = torch.autograd.grad(out, leaves, grad_outputs=c, allow_unused=True)
            grads = [
                torch.zeros_like(x) if g is None else g for x, g in zip(leaves, grads, strict=True)
            ]
            yield f"{prefix}_grad", {g: d.to_numpy(x) for g, x in zip(gargs, grads, strict=True)}
        except Exception as exc:  # noqa: BLE001
            yield f"{prefix}_grad", exc


_COMPILED_RUNNERS = {"jax": _run_jax_modes, "tensorflow": _run_tf_modes, "torch": _run_torch_modes}


# ------------------------------------------------------------------------------------------
# Per case and dtype: the baselines every backend is compared with (computed once)
# ------------------------------------------------------------------------------------------


@dataclass
class _Outcome:
    """An output (and gradients), or the error that prevented it, or why it was not computed."""

    out: np.ndarray | None = None
    grads: dict[str, np.ndarray] | None = None
    error: str = ""
    skipped: str = ""
    source: str = ""


@dataclass
class _Prepared:
    entry: Entry
    case: Case
    dtype: str
    inputs: dict[str, np.ndarray]
    gargs: tuple[str, ...]
    reference: np.ndarray
    cot: np.ndarray
    fd: _Outcome
    baselines: dict[str, _Outcome] = field(default_factory=dict)
    spreads: dict[str, float] = field(default_factory=dict)


def _cotangent(case: Case, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    if shape == ():
        return np.asarray(1.0)
    rng = np.random.default_rng(case.seed + 1)
    return rng.standard_normal(shape).astype(numpy_dtype(dtype)).astype(np.float64)


def _finite_difference(entry, case, rounded, gargs, cot, dtype=None) -> _Outcome:
    why = case.skipped("grad_fd", dtype)
    if why:
        return _Outcome(skipped=why)
    n = sum(rounded[g].size for g in gargs)
    if n > FD_MAX_ELEMENTS:
        return _Outcome(skipped=f"{n} gradient elements > FD_MAX_ELEMENTS = {FD_MAX_ELEMENTS}")

    def output(arrays):
        if entry.fd_reference is not None:
            out = _quiet(entry.fd_reference, rounded, **arrays, **case.kwargs)
        else:
            out = _quiet(entry.reference, **arrays, **case.kwargs)
        return np.asarray(out, dtype=np.float64)

    grads = {}
    for g in gargs:
        x = rounded[g]
        grad = np.empty_like(x)
        for i in np.ndindex(x.shape):
            h = FD_STEP * max(1.0, abs(float(x[i])))
            up, down = x.copy(), x.copy()
            up[i] += h
            down[i] -= h
            # Difference the outputs before weighting and summing them, so that the elements
            # the step does not touch cancel exactly (they can be 1e4 times larger).
            diff = output({**rounded, g: up}) - output({**rounded, g: down})
            grad[i] = np.sum(diff * cot) / (up[i] - down[i])
        grads[g] = grad
    return _Outcome(grads=grads)


# ------------------------------------------------------------------------------------------
# The suite
# ------------------------------------------------------------------------------------------


class Suite:
    """Runs checks and remembers the per-case baselines, so repeated runs share them.

    Parameters
    ----------
    registry : mapping of str to Entry, optional
        The entries that :meth:`run` looks losses up in (default: :data:`REGISTRY`).

    Attributes
    ----------
    timings : dict of str to float
        Seconds spent per check family (``eager``, ``baselines``, ``jax_jit``, ...).
    """

    def __init__(self, registry: Mapping[str, Entry] | None = None) -> None:
        self.registry = dict(REGISTRY if registry is None else registry)
        self.timings: dict[str, float] = {}
        self._prepared: dict[tuple[int, str, str], _Prepared] = {}
        self._compile_serial = 0

    # -- public ------------------------------------------------------------------------------

    def run(
        self,
        entries: Iterable[Entry] | None = None,
        *,
        losses: Sequence[str] | None = None,
        backends: Sequence[str] | None = None,
        dtypes: Sequence[str] = DTYPES,
        cases: Sequence[str] | None = None,
        compile: bool = True,
        progress: Callable[[str], None] | None = None,
        device: str | None = None,
        compile_dtypes: Sequence[str] | None = None,
    ) -> list[Result]:
        """Run every check of the selected entries, cases, backends and dtypes.

        Parameters
        ----------
        entries : iterable of Entry, optional
            Entries to run (default: the registry's, filtered by ``losses``).
        losses : sequence of str, optional
            Loss names to select from the registry.
        backends : sequence of str, optional
            Backend names (default: every installed one). Uninstalled ones are reported as not
            run. The NumPy backend, torch's oracle and the first autodiff backend are computed
            as baselines whichever backends are selected.
        dtypes : sequence of {'float32', 'float64', 'float16', 'bfloat16'}
            Default: all four. A backend without a dtype (array-api-strict has no half dtypes)
            is reported as not run there, with the reason.
        cases : sequence of str, optional
            Case labels to select.
        compile : bool
            Run the compiled modes on the cases flagged for them.
        compile_dtypes : sequence of str, optional
            The dtypes at which the compiled modes run (default: every dtype of ``dtypes``).
        progress : callable, optional
            Called with a line of text after each loss.
        device : str, optional
            Device to put every backend's arrays on (``'cuda'``, ``'gpu'``, ``'cpu'``,
            ``'cuda:1'``; see :meth:`Driver.resolve_device`). A backend without it is reported
            as not run, with the reason. The baselines (reference, NumPy backend, torch oracle,
            autodiff baseline) stay on the host. The placement checks run only on the default
            device (``device=None``).

        Returns
        -------
        list of Result
        """
        if entries is None:
            names = list(self.registry) if losses is None else list(losses)
            entries = [self._entry(n) for n in names]
        if backends is None:
            drivers = [d for d in DRIVERS.values() if d.available()]
            missing: list[str] = []
        else:
            drivers = [get_driver(b) for b in backends]
            missing = [d.name for d in drivers if not d.available()]
            drivers = [d for d in drivers if d.available()]
        check_dtypes(dtypes)
        placed: dict[str, Any] = {}
        no_device: dict[str, str] = {}
        if device is not None:
            for d in drivers:
                try:
                    placed[d.name] = d.resolve_device(device)
                except DeviceUnavailable as exc:
                    no_device[d.name] = str(exc)
        results: list[Result] = []
        for entry in entries:
            selected = [c for c in entry.cases if cases is None or c.label in cases]
            for case in selected:
                for dtype in dtypes:
                    for name in missing:
                        results.append(
                            self._skip(entry, case, name, dtype, f"{name} not installed")
                        )
                    prep = None
                    why_case = case.skipped("all", dtype) or _half_range(case, dtype)
                    for d in drivers:
                        why_dtype = why_case or d.dtype_unavailable(dtype)
                        if why_dtype:
                            skip = self._skip(entry, case, d.name, dtype, why_dtype, device)
                            results.append(skip)
                            continue
                        if d.name in no_device:
                            why = no_device[d.name]
                            results.append(self._skip(entry, case, d.name, dtype, why, device))
                            continue
                        if dtype == "float64" and not d.supports_float64():
                            why = _NO_X64
                            results.append(self._skip(entry, case, d.name, dtype, why, device))
                            continue
                        if prep is None:
                            prep = self._prepare(entry, case, dtype)
                        compiled = compile and (compile_dtypes is None or dtype in compile_dtypes)
                        results.extend(
                            self._run_backend(prep, d, compiled, device, placed.get(d.name))
                        )
            if progress is not None:
                bad = sum(1 for r in results if r.loss == entry.name and r.status == "fail")
                progress(f"{entry.name}: {plural(len(selected), 'case')}, {plural(bad, 'failure')}")
        return results

    # -- baselines -------------------------------------------------------------------------

    def _entry(self, name: str) -> Entry:
        try:
            return self.registry[name]
        except KeyError:
            raise ValueError(
                f"unknown loss {name!r}; expected one of {sorted(self.registry)}"
            ) from None

    def _prepare(self, entry: Entry, case: Case, dtype: str) -> _Prepared:
        key = (id(entry), case.label, dtype)
        prep = self._prepared.get(key)
        if prep is not None and prep.entry is entry:
            return prep
        t0 = time.perf_counter()
        inputs = case.inputs()
        rounded = round_inputs(inputs, dtype)
        ref = np.asarray(_quiet(entry.reference, **rounded, **case.kwargs), dtype=np.float64)
        gargs = entry.grad_args_of(case, inputs)
        cot = _cotangent(case, ref.shape, dtype)
        fd = _Outcome(skipped="no gradient checks for this case")
        if dtype in HALF_DTYPES:
            fd = _Outcome(skipped=_HALF_FD)
        elif gargs and not case.skipped("grad", dtype):
            fd = _finite_difference(entry, case, rounded, gargs, cot, dtype)
        prep = _Prepared(entry, case, dtype, inputs, gargs, ref, cot, fd)
        self._prepared[key] = prep
        self._time("baselines", t0)
        return prep

    def _baseline(self, prep: _Prepared, which: str) -> _Outcome:
        """``'numpy'`` (NumPy backend output), ``'oracle'`` (torch F), ``'ad'`` (gradients) or
        an extra oracle's name (its output)."""
        if which not in prep.baselines:
            t0 = time.perf_counter()
            prep.baselines[which] = self._compute_baseline(prep, which)
            self._time("baselines", t0)
        return prep.baselines[which]

    def _compute_baseline(self, prep: _Prepared, which: str) -> _Outcome:
        entry, case, dtype = prep.entry, prep.case, prep.dtype
        try:
            if which == "numpy":
                d = DRIVERS["numpy"]
                out = _quiet(entry.fn, **_arrays(d, prep.inputs, dtype), **case.kwargs)
                return _Outcome(out=d.to_numpy(out))
            if which == "grad64":
                grads = self._float64_grads(prep, round_inputs(prep.inputs, dtype))
                if grads is None:
                    return _Outcome(skipped="no autodiff backend computes in float64 here")
                return _Outcome(grads=grads)
            if which == "oracle":
                why = case.skipped("oracle", dtype)
                if why:
                    return _Outcome(skipped=why)
                if not DRIVERS["torch"].available():
                    return _Outcome(skipped="torch is not installed: no oracle")
                oracle = entry.oracle_fn()
                if oracle is None:
                    why = f"{entry.name} has no torch.nn.functional oracle"
                    return _Outcome(skipped=why)
                d = DRIVERS["torch"]
                arrays = _arrays(d, prep.inputs, dtype)
                kwargs = {**case.kwargs, **case.oracle_kwargs}
                want = prep.gargs and not case.skipped("grad_oracle", dtype)
                if not want:
                    return _Outcome(out=d.to_numpy(_quiet(oracle, **arrays, **kwargs)))
                out, grads = _torch_grad(d, oracle, arrays, prep.gargs, kwargs, prep.cot)
                return _Outcome(out=d.to_numpy(out), grads=grads)
            if which == "ad":
                for d in DRIVERS.values():
                    if (
                        d.autodiff
                        and d.available()
                        and (dtype != "float64" or d.supports_float64())
                    ):
                        arrays = _arrays(d, prep.inputs, dtype)
                        _, grads = _EAGER_GRAD[d.name](
                            d, entry.fn, arrays, prep.gargs, case.kwargs, prep.cot
                        )
                        return _Outcome(grads=grads, source=d.name)
                return _Outcome(error="no autodiff backend installed")
            for extra in entry.extra_oracles:
                if which == extra.name:
                    why = case.skipped(extra.name, dtype) or extra.unavailable(dtype)
                    if why:
                        return _Outcome(skipped=why)
                    out = _quiet(extra.fn, prep.inputs, case.kwargs, dtype)
                    return _Outcome(out=np.asarray(out, dtype=np.float64))
        except Exception as exc:  # noqa: BLE001 - the baseline's failure is reported, not raised
            return _Outcome(error=_first_line(exc))
        raise AssertionError(which)

    def _float64_grads(
        self, prep: _Prepared, arrays: Mapping[str, np.ndarray]
    ) -> dict[str, np.ndarray] | None:
        """The float64 gradient at ``arrays`` (float64 data) by the first autodiff backend that
        computes in float64, or None if none does."""
        for d in DRIVERS.values():
            if d.autodiff and d.available() and d.supports_float64():
                _, grads = _EAGER_GRAD[d.name](
                    d,
                    prep.entry.fn,
                    _arrays(d, arrays, "float64"),
                    prep.gargs,
                    prep.case.kwargs,
                    prep.cot,
                )
                return {k: np.asarray(v, dtype=np.float64) for k, v in grads.items()}
        return None

    def _spread(self, prep: _Prepared, kind: str) -> float:
        """The case's conditioning spread at its dtype for ``'value'`` or ``'grad'`` checks.

        The float64 reference (values) or float64 gradient (gradients) re-evaluated at
        :data:`~lossbridge.conformance.tolerances.PERTURBATIONS` random relative perturbations
        of size :func:`~lossbridge.conformance.tolerances.perturbation` of the differentiated
        (continuous) inputs, rounded to the dtype: the largest change, relative to the largest
        unperturbed element (per gradient argument). Perturbations that give a non-finite
        value are left out; no continuous input or no finite sample gives 0. Computed only when
        a check exceeds its flat bound, once per case and dtype.
        """
        if kind in prep.spreads:
            return prep.spreads[kind]
        t0 = time.perf_counter()
        spread = 0.0
        try:
            spread = self._measure_spread(prep, kind)
        except Exception:  # noqa: BLE001 - no estimate: the flat bound stands
            spread = 0.0
        prep.spreads[kind] = spread
        self._time("conditioning", t0)
        return spread

    def _measure_spread(self, prep: _Prepared, kind: str) -> float:
        entry, case = prep.entry, prep.case
        rounded = round_inputs(prep.inputs, prep.dtype)
        if not prep.gargs:
            return 0.0
        if kind == "grad":
            base = self._float64_grads(prep, rounded)
            if base is None:
                return 0.0
        else:
            base = {"": np.asarray(prep.reference, dtype=np.float64)}
        eps = _tol.perturbation(prep.dtype)
        rng = np.random.default_rng(case.seed + 2)
        spread = 0.0
        for _ in range(_tol.PERTURBATIONS):
            moved = dict(rounded)
            for g in prep.gargs:
                x = rounded[g]
                moved[g] = x * (1.0 + eps * rng.uniform(-1.0, 1.0, x.shape))
            if kind == "grad":
                got = self._float64_grads(prep, moved)
            else:
                out = _quiet(entry.reference, **moved, **case.kwargs)
                got = {"": np.asarray(out, dtype=np.float64)}
            for name, b in base.items():
                a = got[name]
                ok = np.isfinite(b)
                if not ok.any() or not np.all(np.isfinite(a[ok])):
                    continue
                scale = float(np.abs(b[ok]).max())
                if scale > 0:
                    spread = max(spread, float(np.abs(a[ok] - b[ok]).max()) / scale)
        return spread

    # -- one backend -----------------------------------------------------------------------

    def _run_backend(
        self,
        prep: _Prepared,
        d: Driver,
        compile: bool,
        device: str | None = None,
        where: Any = None,
    ) -> list[Result]:
        """Every check of one backend; ``device`` is the requested name, ``where`` the
        driver's device object for it (None: the default device)."""
        entry, case, dtype = prep.entry, prep.case, prep.dtype
        rec = _Recorder(entry, case, d.name, dtype, device, lambda kind: self._spread(prep, kind))
        half = dtype in HALF_DTYPES
        t0, nested0 = time.perf_counter(), self._nested()
        try:
            arrays = _arrays(d, prep.inputs, dtype, where)
            out = _quiet(entry.fn, **arrays, **case.kwargs)
            out_np = d.to_numpy(out)
        except Exception as exc:  # noqa: BLE001
            rec.fail("call", f"{entry.name} raised {_first_line(exc)}")
            self._time("eager", t0, self._nested() - nested0)
            return rec.results
        rec.numeric("value", out_np, prep.reference, "the float64 reference")
        if d.name != "numpy":
            base = self._baseline(prep, "numpy")
            rec.against("cross", out_np, base, "the NumPy backend")
        # Half: an oracle computes partly in half, so the check is that we are no farther from
        # the float64 reference than it is (tolerances.ORACLE_FACTOR); otherwise ours vs its.
        ref = _Outcome(out=prep.reference) if half else None
        rec.against("oracle", out_np, self._baseline(prep, "oracle"), "torch.nn.functional", ref)
        for extra in entry.extra_oracles:
            rec.against(extra.name, out_np, self._baseline(prep, extra.name), extra.name, ref)
        rec.check_type(d, out, arrays[entry.primary], dtype)

        want_grad = d.autodiff and bool(prep.gargs) and not case.skipped("grad", dtype)
        grads = None
        if d.autodiff and not want_grad:
            reason = case.skipped("grad", dtype) or "no floating array argument to differentiate"
            rec.skip("grad_cross", reason)
        if want_grad:
            try:
                _, grads = _EAGER_GRAD[d.name](
                    d,
                    entry.fn,
                    _arrays(d, prep.inputs, dtype, where),
                    prep.gargs,
                    case.kwargs,
                    prep.cot,
                )
            except Exception as exc:  # noqa: BLE001
                rec.fail("grad_call", f"gradient of {entry.name} raised {_first_line(exc)}")
        if grads is not None:
            base = self._baseline(prep, "ad")
            if base.source != d.name:  # the baseline backend is not compared with itself
                rec.against(
                    "grad_cross", grads, base, f"{base.source or 'the baseline'}'s gradient"
                )
            grad64 = self._baseline(prep, "grad64") if half else None
            if half and case.skipped("grad_ref", dtype):
                rec.skip("grad_ref", case.skipped("grad_ref", dtype))
            elif half:
                rec.against("grad_ref", grads, grad64, "the float64 gradient")
            why = case.skipped("grad_oracle", dtype)
            oracle = self._baseline(prep, "oracle")
            if why:
                rec.skip("grad_oracle", why)
            elif entry.oracle_grad_projection is not None and oracle.grads is not None:
                project = entry.oracle_grad_projection
                rounded = round_inputs(prep.inputs, dtype)
                rec.against(
                    "grad_oracle",
                    project(rounded, grads),
                    _Outcome(grads=project(rounded, oracle.grads)),
                    "torch.nn.functional's gradient (both projected)",
                    None
                    if grad64 is None or grad64.grads is None
                    else _Outcome(grads=project(rounded, grad64.grads)),
                )
            else:
                rec.against("grad_oracle", grads, oracle, "torch.nn.functional's gradient", grad64)
            rec.against("grad_fd", grads, prep.fd, "finite differences of the reference")
        self._time("eager", t0, self._nested() - nested0)

        if case.placement and device is None:
            t0 = time.perf_counter()
            self._placement(prep, d, rec, out_np, grads)
            self._time("placement", t0)
        if compile and case.compile and d.name in _COMPILED_RUNNERS:
            self._compiled(prep, d, rec, out_np, grads, want_grad, where)
        return rec.results

    def _placement(self, prep, d, rec, out_np, grads) -> None:
        entry, case, dtype = prep.entry, prep.case, prep.dtype
        if d.name == "tensorflow":
            tf = d.mod
            try:
                arrays = _arrays(d, prep.inputs, dtype)
                first = entry.primary
                arrays[first] = tf.Variable(arrays[first])
                with tf.GradientTape() as tape:
                    out = _quiet(entry.fn, **arrays, **case.kwargs)
                ok = isinstance(out, tf.Tensor) and not isinstance(out, tf.Variable)
                if not ok:
                    rec.fail("tf_variable", f"tf.Variable input gave a {type(out).__qualname__}")
                else:
                    rec.numeric("tf_variable", d.to_numpy(out), out_np, "the tf.Tensor input run")
                if grads is not None and first in grads:
                    c = tf.constant(prep.cot, dtype=out.dtype)
                    g = tape.gradient(out, arrays[first], output_gradients=c)
                    rec.numeric(
                        "tf_variable_grad", d.to_numpy(g), grads[first], "the tf.Tensor run"
                    )
            except Exception as exc:  # noqa: BLE001
                rec.fail("tf_variable", f"tf.Variable input raised {_first_line(exc)}")
        for label, device, readable in d.extra_devices():
            try:
                arrays = _arrays(d, prep.inputs, dtype, device)
                out = _quiet(entry.fn, **arrays, **case.kwargs)
                where = d.device(out)
                problems = []
                if not d.is_own_array(out):
                    problems.append(f"type {type(out).__qualname__}")
                if d.dtype_name(out) != entry.result_dtype(dtype):
                    problems.append(f"dtype {d.dtype_name(out)}")
                if str(where) != str(d.device(arrays[entry.primary])):
                    problems.append(f"device {where}")
                if tuple(out.shape) != out_np.shape:
                    problems.append(f"shape {tuple(out.shape)} (expected {out_np.shape})")
                if problems:
                    rec.fail("device", f"on {label}: " + ", ".join(problems))
                elif readable:
                    rec.numeric("device", d.to_numpy(out), out_np, f"the default device ({label})")
                else:
                    rec.ok("device", f"on {label}: shape, dtype and device only")
            except Exception as exc:  # noqa: BLE001
                rec.fail("device", f"on {label} raised {_first_line(exc)}")

    def _compiled(self, prep, d, rec, out_np, grads, want_grad, where=None) -> None:
        entry, case, dtype = prep.entry, prep.case, prep.dtype
        self._compile_serial += 1
        arrays = _arrays(d, prep.inputs, dtype, where)
        runner = _COMPILED_RUNNERS[d.name](
            d,
            entry.fn,
            arrays,
            prep.gargs,
            case.kwargs,
            prep.cot,
            want_grad and grads is not None,
            inductor=case.inductor,
            tag=str(self._compile_serial),
            half=dtype in HALF_DTYPES,
        )
        t0 = time.perf_counter()
        for check, got in runner:
            family = check.removesuffix("_grad")
            self._time(family, t0)
            t0 = time.perf_counter()
            if isinstance(got, Exception):
                rec.fail(check, f"compiled mode failed: {_first_line(got)}")
            elif check.endswith("_grad"):
                rec.numeric(check, got, grads, "the eager gradient")
            else:
                rec.numeric(check, got, out_np, "the eager output")

    # -- helpers ---------------------------------------------------------------------------

    def _skip(
        self, entry: Entry, case: Case, backend: str, dtype: str, why: str, device=None
    ) -> Result:
        """One ``'all'`` record: the whole case not run on this backend and dtype."""
        return _Recorder(entry, case, backend, dtype, device).skip("all", why)

    def _time(self, family: str, t0: float, inner: float = 0.0) -> None:
        """Add the seconds since ``t0`` to ``family``, less ``inner`` (seconds timed under
        other families meanwhile: the baselines and conditioning an eager check computes), so
        that the families add up to the time spent, never more."""
        dt = time.perf_counter() - t0 - inner
        self.timings[family] = self.timings.get(family, 0.0) + dt

    def _nested(self) -> float:
        """Seconds timed so far by the families that run nested inside an eager check."""
        return self.timings.get("baselines", 0.0) + self.timings.get("conditioning", 0.0)


#: The dtypes of the compiled modes in the default (not ``--full``) command-line run: one
#: full and one half precision.
QUICK_COMPILE_DTYPES = ("float32", "bfloat16")


def representative_case(entry: Entry) -> Case:
    """The case that stands for ``entry`` in the default command-line run: the first case
    flagged for the compiled modes, preferring one that also runs the placement and inductor
    checks (every entry has a compiled case; else its first case)."""
    return max(
        entry.cases,
        key=lambda c: (bool(c.compile), bool(c.placement), bool(c.inductor)),
    )


def check_dtypes(dtypes: Iterable[str]) -> None:
    """Raise ``ValueError`` naming the four dtypes if one of ``dtypes`` is unknown."""
    for dt in dtypes:
        if dt not in DTYPES:
            raise ValueError(f"unknown dtype {dt!r}; expected one of {', '.join(DTYPES)}")


def _half_range(case: Case, dtype: str) -> str | None:
    """Why ``case`` makes no sense at ``dtype``: a finite input beyond the dtype's range."""
    if dtype not in HALF_DTYPES:
        return None
    big = float(finfo(dtype).max)
    for name, x in case.inputs().items():
        if x.dtype.kind == "f":
            finite = np.abs(x[np.isfinite(x)])
            if finite.size and float(finite.max()) > big:
                return (
                    f"not run: input {name!r} holds {float(finite.max()):.6g}, beyond {dtype}'s "
                    f"largest finite value {big:.6g} (it would round to infinity)"
                )
    return None


_NO_X64 = (
    "jax_enable_x64 is off, so JAX would compute in float32; enable it before using JAX "
    "(python -m lossbridge.conformance does)"
)


class _Recorder:
    """Builds the :class:`Result` records of one loss, case, backend and dtype."""

    def __init__(
        self,
        entry: Entry,
        case: Case,
        backend: str,
        dtype: str,
        device: str | None = None,
        spread: Callable[[str], float] | None = None,
    ) -> None:
        self.entry, self.case, self.backend, self.dtype = entry, case, backend, dtype
        self.device = device
        #: ``spread(kind)``: the case's conditioning spread (None: flat bounds only).
        self.spread = spread
        self.half = dtype in HALF_DTYPES
        self.results: list[Result] = []

    def _where(self) -> str:
        kw = ", ".join(f"{k}={v!r}" for k, v in self.case.kwargs.items())
        on = f" ({self.device})" if self.device else ""
        return f"{self.entry.name}[{self.case.label}]({kw}) on {self.backend} {self.dtype}{on}"

    def _add(self, check, error, tol, passed, message, skipped=False, worst=None) -> Result:
        repro = (
            ""
            if passed or skipped
            else build_repro(
                self.entry, self.case, self.backend, self.dtype, check, device=self.device
            )
        )
        detail = {}
        if worst is not None:
            detail = {
                "index": worst.index,
                "argument": worst.argument,
                "got": worst.got,
                "expected": worst.expected,
                "ulps": worst.ulps,
            }
        r = Result(
            loss=self.entry.name,
            case=self.case.label,
            backend=self.backend,
            dtype=self.dtype,
            check=check,
            error=error,
            tolerance=tol,
            passed=passed,
            message=message,
            repro=repro,
            skipped=skipped,
            device=self.device,
            **detail,
        )
        self.results.append(r)
        return r

    def tolerance(self, check: str) -> float:
        # An entry may carry its own bounds (lossbridge.conformance.parity's user entries).
        own = getattr(self.entry, "check_tolerance", None)
        if own is not None:
            return own(self.case.label, check, self.backend, self.dtype)
        return _tol.tolerance(self.entry.name, self.case.label, check, self.backend, self.dtype)

    def _worst_text(self, m: Mismatch) -> str:
        if m.index is None or "at index" in m.note:
            return ""  # a shape mismatch, or the note already names the element
        digits = {"float32": 9, "float64": 17}.get(self.dtype, 5)
        where = _element(m.index, m.argument)
        ulps = f", {m.ulps:.3g} ulp" if m.ulps is not None else ""
        return (
            f"; worst element {where}: got {m.got:.{digits}g}, expected "
            f"{m.expected:.{digits}g} (|diff| {abs(m.got - m.expected):.3g}{ulps})"
        )

    def record(
        self,
        check: str,
        err: float | Mismatch,
        note: str = "",
        against: str = "",
        tol: float | None = None,
        why: str = "",
    ) -> Result:
        """Record a numeric check (``err`` a :class:`Mismatch` or a plain error) against its
        bound ``tol`` (default: :meth:`tolerance`); ``why`` says where a bound came from."""
        m = err if isinstance(err, Mismatch) else Mismatch(float(err), note)
        tol = self.tolerance(check) if tol is None else tol
        passed = bool(m.error <= tol)
        unit = "ulp error" if self.half else "relative error"
        bound = f"{tol:.3g} ulp" if self.half else f"{tol:.0e}"
        msg = (
            why
            if passed
            else (
                f"{check}: {self._where()}: {unit} {m.error:.3g} against {against} "
                f"exceeds {bound}"
                + (f" ({m.note})" if m.note else "")
                + self._worst_text(m)
                + (f"; {why}" if why else "")
            )
        )
        return self._add(check, m.error, tol, passed, msg, worst=m)

    def measure(self, check: str, actual: Any, expected: Any, floor_rel: float = 0.0) -> Mismatch:
        """The error of ``actual`` against ``expected`` in this dtype's metric.

        float32/float64: the norm-wise relative error (:func:`compare_detail`); half dtypes:
        ulps at each element's magnitude (:func:`compare_ulps`, with the gradient floor of
        :data:`~lossbridge.conformance.tolerances.GRAD_FLOOR_ULPS` and the relative floor
        ``floor_rel``), scaled so that the bound is the dtype's flat bound in ulps.
        """
        if not self.half:
            if isinstance(actual, dict):
                return _compare_grads(actual, expected, self.dtype)
            return compare_detail(actual, expected, self.dtype)
        kind = _tol.kind_of(check)
        n = getattr(_tol.TOLERANCES[self.dtype], kind)
        floor = _tol.GRAD_FLOOR_ULPS / n if kind == "grad" else 0.0
        # values of a wider result dtype (Entry.output_dtype) hold values beyond the half range;
        # gradients are in the input's half dtype
        saturate = kind == "grad" or self.entry.result_dtype(self.dtype) == self.dtype

        def ulps(a: Any, b: Any) -> Mismatch:
            return compare_ulps(a, b, self.dtype, floor, floor_rel / n, saturate)

        return (
            _compare_grads(actual, expected, measure=ulps)
            if isinstance(actual, dict)
            else (ulps(actual, expected))
        )

    def numeric(self, check: str, actual: Any, expected: Any, against: str) -> Result:
        """Compare values (or, for dicts, gradients per argument) and record the result.

        A check over its flat bound gets the conditioning-aware bound (see
        :mod:`lossbridge.conformance.tolerances`): float32/float64 pass within
        ``C * spread`` (relative); half dtypes count ``C * spread`` of the largest element as
        a further floor of each element's allowance.
        """
        try:
            m = self.measure(check, actual, expected)
        except Exception as exc:  # noqa: BLE001 - e.g. an output that is not an array
            return self.fail(check, f"cannot compare with {against}: {_first_line(exc)}")
        m, tol, why = self.conditioned(check, actual, expected, m, self.tolerance(check))
        return self.record(check, m, against=against, tol=tol, why=why)

    def conditioned(
        self, check: str, actual: Any, expected: Any, m: Mismatch, tol: float
    ) -> tuple[Mismatch, float, str]:
        """``(m, tol, why)`` with the conditioning-aware bound applied where ``m`` exceeds
        ``tol`` (float32/float64: ``tol`` raised to ``C * spread``; half: ``m`` re-measured
        with ``C * spread`` of the largest element as a further floor)."""
        kind = _tol.kind_of(check)
        if m.error <= tol or not np.isfinite(m.error) or self.spread is None or kind == "fd":
            return m, tol, ""
        spread = self.spread(kind)
        allowance = _tol.CONDITIONING_FACTOR * spread
        if spread > 0 and self.half:
            m = self.measure(check, actual, expected, floor_rel=allowance)
            return m, tol, f"conditioning floor C x spread = {allowance:.3g} of the largest element"
        if allowance > tol:
            factor = _tol.CONDITIONING_FACTOR
            return m, allowance, f"conditioning-aware bound C x spread = {factor:g} x {spread:.3g}"
        return m, tol, ""

    def no_worse(
        self, check: str, actual: Any, theirs: Any, reference: Any, against: str
    ) -> Result:
        """Half oracles: our distance from the float64 ``reference`` at most
        :data:`~lossbridge.conformance.tolerances.ORACLE_FACTOR` times the oracle's
        (``theirs``), or within the flat bound; the message quotes both, in ulps."""
        try:
            ours = self.measure(check, actual, reference)
            them = self.measure(check, theirs, reference)
        except Exception as exc:  # noqa: BLE001
            return self.fail(check, f"cannot compare with {against}: {_first_line(exc)}")
        ours, flat, cond = self.conditioned(check, actual, reference, ours, self.tolerance(check))
        tol = max(flat, _tol.ORACLE_FACTOR * them.error) if np.isfinite(them.error) else flat
        why = (
            f"{against}: {them.error:.3g} ulp from the float64 reference, "
            f"lossbridge: {ours.error:.3g} ulp" + (f"; {cond}" if cond else "")
        )
        return self.record(check, ours, against="the float64 reference", tol=tol, why=why)

    def against(
        self,
        check: str,
        actual: Any,
        base: _Outcome,
        against: str,
        reference: _Outcome | None = None,
    ) -> Result | None:
        """Compare with a baseline outcome (values, or gradients if ``actual`` is a dict).

        With ``reference`` (a float64 outcome: half dtypes' oracles), the check is
        :meth:`no_worse` than the baseline against that reference."""
        grad = isinstance(actual, dict)
        if base.error:
            # An oracle that raises means the case is wrong for it: a failure everywhere. A
            # failing NumPy or autodiff baseline is reported by that backend's own checks.
            msg = f"{against} could not be computed: {base.error}"
            extra = {o.name for o in self.entry.extra_oracles}
            if self.half and (check.endswith("oracle") or check in extra):
                # A library without this half dtype (torch.from_numpy and ml_dtypes.bfloat16,
                # kernels not implemented for Half) is its limitation: not run, with the error
                return self.skip(check, f"not run at {self.dtype}: {msg}")
            if check.endswith("oracle") or check in extra:
                return self.fail(check, msg)
            return self.skip(check, msg)
        expected = base.grads if grad else base.out
        if expected is None:
            return self.skip(check, base.skipped or f"{against} not available")
        if reference is not None:
            ref = reference.grads if grad else reference.out
            if ref is None:
                return self.skip(check, reference.skipped or "no float64 reference")
            return self.no_worse(check, actual, expected, ref, against)
        return self.numeric(check, actual, expected, against)

    def ok(self, check: str, message: str = "") -> Result:
        return self._add(check, None, None, True, message)

    def fail(self, check: str, message: str) -> Result:
        return self._add(check, None, None, False, f"{check}: {self._where()}: {message}")

    def skip(self, check: str, why: str) -> Result:
        return self._add(check, None, None, False, why, skipped=True)

    def check_type(self, d: Driver, out: Any, x: Any, dtype: str) -> Result:
        problems = []
        if not d.is_own_array(out):
            problems.append(
                f"returned a {type(out).__module__}.{type(out).__qualname__}, "
                f"not a {d.array_type().__qualname__}"
            )
        else:
            want = getattr(self.entry, "result_dtype", lambda dt: dt)(dtype)
            if d.dtype_name(out) != want:
                problems.append(f"dtype {d.dtype_name(out)} for {dtype} input (expected {want})")
            if str(d.device(out)) != str(d.device(x)):
                problems.append(f"device {d.device(out)} for input on {d.device(x)}")
        if problems:
            return self.fail("type", "; ".join(problems))
        return self.ok("type")


def build_repro(
    entry: Entry, case: Case, backend: str, dtype: str, check: str, device: str | None = None
) -> str:
    """A copy-pasteable Python snippet that recomputes one failing check's inputs and output.

    An entry with a ``repro_snippet(case, backend, dtype, check, device)`` method (the user
    entries of :mod:`lossbridge.conformance.parity`) writes its own.
    """
    own = getattr(entry, "repro_snippet", None)
    if own is not None:
        return own(case, backend, dtype, check, device)
    lines = [f"# {entry.name} / {case.label} / {backend} / {dtype} / check {check!r}"]
    if backend == "jax" and dtype == "float64":
        lines += ["import jax", 'jax.config.update("jax_enable_x64", True)']
    lines += [
        "from lossbridge.conformance import get_driver, get_entry, round_inputs",
        f"entry = get_entry({entry.name!r})",
        f"case = entry.case({case.label!r})",
        f"d = get_driver({backend!r})",
        f"args = {{k: d.from_numpy(v, {dtype!r}) for k, v in case.inputs().items()}}",
        "out = entry.fn(**args, **case.kwargs)",
        "print(d.to_numpy(out))",
        f"print(entry.reference(**round_inputs(case.inputs(), {dtype!r}), **case.kwargs))",
        f"# rerun the checks: python -m lossbridge.conformance --loss {entry.name} "
        f"--case {case.label} --backend {backend} --dtype {dtype}",
    ]
    return "\n".join(lines)


def run(entries: Iterable[Entry] | None = None, **kwargs: Any) -> list[Result]:
    """Run the suite once with a fresh :class:`Suite`; see :meth:`Suite.run` for the options."""
    return Suite().run(entries, **kwargs)
