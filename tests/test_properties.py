"""Property-based parity: every loss, every backend, hypothesis-drawn cases with extreme values.

For each loss of the conformance registry (dialect entries left out), hypothesis draws an example
from :mod:`tests._strategies`: one of the entry's cases and reductions, float32 or float64, a new
seed for the case's generator, a scale for unconstrained data, and extreme values injected into
the floating arguments by kind (near-overflow logits, subnormals, exact zeros and ones). Then:

* ``test_value_parity``: every installed backend (NumPy, torch, JAX, TensorFlow,
  array-api-strict) gives the NumPy backend's result within the conformance suite's value
  tolerance of the dtype (:data:`lossbridge.conformance.TOLERANCES`, with the registry's
  exceptions), with identical NaN / inf patterns; and the result is finite wherever the same
  example without injections is finite (NumPy, same dtype) (the finiteness rule of
  :mod:`tests._strategies`).
* ``test_gradient_parity`` (:data:`GRAD_LOSSES` in ``ci``, every loss in ``nightly``; no
  subnormal injections, see :func:`tests._strategies.examples`): torch, JAX and TensorFlow
  gradients of ``sum(loss * cotangent)``
  agree within the gradient tolerance with identical NaN / inf patterns, and are finite wherever
  the loss value and the uninjected example's gradient are.

Allowances beyond the conformance tolerances, which are relative to the output's magnitude:

* Flushed subnormals: CPU TensorFlow and XLA flush subnormals to zero (inputs and results;
  NumPy and torch keep them). Differences no larger than the dtype's smallest normal number
  (``finfo.tiny``) pass, and where an input holds a subnormal, JAX and TensorFlow may instead
  agree with NumPy on the inputs with their subnormals flushed.
* Conditioning: an output that cancels inputs of magnitude ``S`` (a margin loss at
  ``d(a, p) - d(a, n) + margin`` with coordinates near 80, a contrastive loss near its
  margin) carries an absolute rounding error of order ``ulp(S)`` in every backend, which can
  exceed the tolerance relative to a small output. Differences within the tolerance times the
  largest input magnitude pass (counted in ``STATS['conditioning_allowance']``).

Profiles (``tests/conftest.py``): ``ci`` (the default; a few derandomized examples per loss) and
``nightly`` (``HYPOTHESIS_PROFILE=nightly`` or ``--hypothesis-profile=nightly``).
"""

from __future__ import annotations

import collections
import json
import os
import warnings
from typing import Any

import numpy as np
import pytest

pytest.importorskip("hypothesis")

from _strategies import NONFINITE_GRAD_OK, Example, bases_of, examples, property_entries  # noqa: E402
from hypothesis import given, note, settings  # noqa: E402

from lossbridge.conformance import available_drivers, compare_detail  # noqa: E402
from lossbridge.conformance.runner import _EAGER_GRAD, _cotangent  # noqa: E402
from lossbridge.conformance.tolerances import tolerance  # noqa: E402

#: Examples run and passed, and the values injected, per test kind; written as JSON to the
#: file named by ``LOSSBRIDGE_PROPERTY_STATS`` at the end of the module (docs/reliability.md's
#: counts come from there).
STATS: collections.Counter = collections.Counter()

ENTRIES = property_entries()
BASES = {name: bases_of(e) for name, e in ENTRIES.items()}
DRIVERS = [d for d in available_drivers() if d.name != "numpy" and d.supports_float64()]
AD_DRIVERS = [d for d in available_drivers() if d.autodiff and d.supports_float64()]
NUMPY = next(d for d in available_drivers() if d.name == "numpy")


def _quiet_call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return fn(*args, **kwargs)


def _value(driver: Any, ex: Example, inputs: dict[str, np.ndarray]) -> np.ndarray:
    arrays = {k: driver.from_numpy(v, ex.dtype) for k, v in inputs.items()}
    out = _quiet_call(ex.entry.fn, **arrays, **dict(ex.case.kwargs))
    return np.asarray(driver.to_numpy(out), dtype=np.float64)


def _input_scale(inputs: dict[str, np.ndarray]) -> float:
    """The largest finite magnitude among the floating inputs."""
    mags = [
        np.abs(v[np.isfinite(v)]).max() for v in inputs.values() if v.dtype.kind == "f" and v.size
    ]
    return float(max(mags, default=0.0))


def _mismatch(
    got: np.ndarray, want: np.ndarray, bound: float, dtype: str, scale: float = 0.0
) -> str | None:
    """Why ``got`` disagrees with ``want`` (None if it agrees); see the module docstring."""
    m = compare_detail(got, want, dtype)
    if m.error <= bound:
        return None
    if np.isfinite(m.error):
        diff = abs(m.got - m.expected)
        if diff <= float(np.finfo(dtype).tiny):
            return None  # a flushed subnormal
        if diff <= bound * scale:
            STATS["conditioning_allowance"] += 1
            return None  # cancellation of inputs of size ``scale``
    where = f" at {m.index}: {m.got!r} vs {m.expected!r}" if m.index is not None else ""
    return f"error {m.error:.3g} > {bound:g}{where} {m.note}".rstrip()


#: Backends that flush subnormal numbers to zero on the CPU (NumPy and torch keep them).
FTZ_BACKENDS = ("jax", "tensorflow")


def _has_subnormal(inputs: dict[str, np.ndarray], dtype: str) -> bool:
    tiny = np.finfo(dtype).tiny
    return any(
        v.dtype.kind == "f" and np.any((v != 0) & (np.abs(v) < tiny)) for v in inputs.values()
    )


def _flush(inputs: dict[str, np.ndarray], dtype: str) -> dict[str, np.ndarray]:
    """The subnormals of ``dtype`` set to a zero of their sign."""
    tiny = np.finfo(dtype).tiny
    out = {}
    for k, v in inputs.items():
        if v.dtype.kind == "f":
            v = np.where(np.abs(v) < tiny, np.copysign(0.0, v), v)
        out[k] = v
    return out


def _bound(ex: Example, check: str, backend: str) -> float:
    return tolerance(ex.entry.name, ex.case.label, check, backend, ex.dtype)


def _count(test: str, ex: Example) -> None:
    STATS[f"{test}_run"] += 1
    STATS[f"{test}_{ex.dtype}"] += 1
    for spots in ex.injected.values():
        for _, v in spots:
            tiny = float(np.finfo(ex.dtype).tiny)
            what = (
                "zero"
                if v == 0
                else "one"
                if abs(v) == 1
                else "big"
                if abs(v) >= 80
                else "subnormal"
                if abs(v) < tiny
                else "other"
            )
            STATS[f"{test}_injected_{what}"] += 1


@pytest.fixture(scope="module", autouse=True)
def _write_stats():
    yield
    path = os.environ.get("LOSSBRIDGE_PROPERTY_STATS")
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(dict(STATS)) + "\n")


def _check_values(ex: Example) -> None:
    note(ex.describe())
    _count("value", ex)
    want = _value(NUMPY, ex, ex.inputs)
    problems = []
    flushed_want = None
    for d in DRIVERS:
        got = _value(d, ex, ex.inputs)
        bound = _bound(ex, "cross", d.name)
        scale = _input_scale(ex.inputs)
        why = _mismatch(got, want, bound, ex.dtype, scale)
        if why and d.name in FTZ_BACKENDS and _has_subnormal(ex.inputs, ex.dtype):
            # CPU XLA and TensorFlow flush subnormal inputs to zero: they must then agree with
            # NumPy on the flushed inputs (e.g. BCE at p = 3.9e-39: 88.44 = -log p, or 100
            # from the -100 clamp of log 0).
            if flushed_want is None:
                flushed_want = _value(NUMPY, ex, _flush(ex.inputs, ex.dtype))
            why = why if _mismatch(got, flushed_want, bound, ex.dtype, scale) else None
        if why:
            problems.append(f"{d.name} vs numpy: {why}")
    baseline = _value(NUMPY, ex, ex.baseline) if ex.injected else want
    if np.all(np.isfinite(baseline)) and not np.all(np.isfinite(want)):
        problems.append(
            f"numpy result not finite ({want.ravel()[:6]}...) where the uninjected example's is"
        )
    assert not problems, f"{ex.describe()}\n" + "\n".join(problems)
    STATS["value_passed"] += 1


def _grads(driver: Any, ex: Example, inputs: dict[str, np.ndarray]) -> tuple[Any, dict]:
    entry, case = ex.entry, ex.case
    gargs = entry.grad_args_of(case, inputs)
    arrays = {k: driver.from_numpy(v, ex.dtype) for k, v in inputs.items()}
    out_np = _value(NUMPY, ex, inputs)
    cot = _cotangent(case, out_np.shape, ex.dtype)
    out, grads = _EAGER_GRAD[driver.name](driver, entry.fn, arrays, gargs, dict(case.kwargs), cot)
    return np.asarray(driver.to_numpy(out), dtype=np.float64), grads


def _check_grads(ex: Example) -> None:
    note(ex.describe())
    _count("grad", ex)
    results = {d.name: _grads(d, ex, ex.inputs) for d in AD_DRIVERS}
    first, (value0, grads0) = next(iter(results.items()))
    problems = []
    scale = _input_scale(ex.inputs)
    for name, (_, grads) in list(results.items())[1:]:
        for arg, g in grads0.items():
            why = _mismatch(grads[arg], g, _bound(ex, "grad_cross", name), ex.dtype, scale)
            if why:
                problems.append(f"d/d{arg}: {name} vs {first}: {why}")
    if np.all(np.isfinite(value0)) and ex.entry.name not in NONFINITE_GRAD_OK:
        _, base_grads = _grads(AD_DRIVERS[0], ex, ex.baseline) if ex.injected else results[first]
        for arg, g in grads0.items():
            if np.all(np.isfinite(base_grads[arg])) and not np.all(np.isfinite(g)):
                bad = np.argwhere(~np.isfinite(g))[:3].tolist()
                problems.append(f"d/d{arg} not finite at {bad} ({first}) where the loss is")
    assert not problems, f"{ex.describe()}\n" + "\n".join(problems)
    STATS["grad_passed"] += 1


@pytest.mark.parametrize("name", sorted(ENTRIES))
def test_value_parity(name: str) -> None:
    """Every backend agrees with NumPy on drawn examples; finite where the math is."""
    entry = ENTRIES[name]

    @given(ex=examples(entry, BASES[name]))
    def check(ex: Example) -> None:
        _check_values(ex)

    check()


#: The losses whose gradients are drawn in the ``ci`` profile: one or two per family, covering
#: the code paths that guard a gradient (double-where, clamps, eps floors, ties at kinks).
#: JAX compiles a VJP per case and dtype, so all 55 would double the file's time; profiles
#: drawing 20 or more examples per test (``nightly``) take every loss.
GRAD_LOSSES = (
    "binary_cross_entropy_with_logits",
    "complete_box_iou_loss",
    "cosine_embedding_loss",
    "cross_entropy",
    "dice_loss",
    "gaussian_nll_loss",
    "huber_loss",
    "kl_div",
    "rmse_loss",
    "sigmoid_focal_loss",
    "softmax_focal_loss",
    "triplet_margin_loss",
)
GRAD_NAMES = sorted(ENTRIES) if settings.default.max_examples >= 20 else list(GRAD_LOSSES)


@pytest.mark.skipif(len(AD_DRIVERS) < 2, reason="needs two autodiff backends")
@pytest.mark.parametrize("name", [n for n in GRAD_NAMES if n in ENTRIES])
def test_gradient_parity(name: str) -> None:
    """torch, JAX and TensorFlow gradients agree on drawn examples; finite where the loss is."""
    entry = ENTRIES[name]

    @given(ex=examples(entry, BASES[name], subnormal=False))
    def check(ex: Example) -> None:
        _check_grads(ex)

    check()


def test_every_loss_is_drawn() -> None:
    """The property suite covers the registry's 55 losses, each with a kind for every array."""
    assert len(ENTRIES) >= 55
    for name, bases in BASES.items():
        assert bases, name
        for b in bases:
            assert set(b.kinds) == set(b.shapes), (name, b.label)
