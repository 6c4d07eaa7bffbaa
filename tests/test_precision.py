"""Half precision (``docs/precision.md``, rule 1 and rule 5): float16 and bfloat16 inputs on
NumPy (bfloat16 through ml_dtypes), torch, JAX and TensorFlow.

Every loss here returns the input's half dtype, its value within 1 ulp and every gradient element
within 2 ulp (plus a floor of 2**-6 ulp of the largest element) of the float64 value on the same
half-rounded inputs. The expected values are ``torch.nn.functional`` (or a formula written here
in torch) evaluated in float64 on those rounded inputs, its gradient by torch's autograd in
float64. The registry's ``test_conformance_half`` checks the same bounds on every loss's first
and compiled cases; the cases here are those it has no half case for, and the half rule's edges
(overflow, underflow, mixed dtypes, value checks, tracing). The ulp count is
:func:`lossbridge.conformance.precision_table.ulps`; ``test_ulp_check_rejects_a_wrong_value``
shows it rejects a result 2 ulp off.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from _helpers import backend_array

import lossbridge as lb
from lossbridge.conformance.precision_table import GRAD_FLOOR, round_to, ulp, ulps

torch = pytest.importorskip("torch")  # the float64 expected values
F = torch.nn.functional

HALF = ("float16", "bfloat16")
BACKENDS = [b for b in ("numpy", "torch", "jax", "tensorflow") if importlib.util.find_spec(b)]
AUTODIFF = [b for b in BACKENDS if b != "numpy"]
VALUE_ULPS = 1.0
GRAD_ULPS = 2.0


# ------------------------------------------------------------------------------------------
# Arrays of each backend, dtypes, gradients
# ------------------------------------------------------------------------------------------


def dtype_name(x: Any) -> str:
    d = x.dtype
    return (getattr(d, "name", None) or str(d)).replace("torch.", "")


def to_f64(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().double().numpy()
    if hasattr(x, "numpy") and not isinstance(x, np.ndarray):  # TensorFlow
        import tensorflow as tf

        return tf.cast(x, tf.float64).numpy()
    return np.asarray(np.asarray(x).astype(np.float64))


def value_and_grad(backend: str, fn: Callable[..., Any], arrays: dict, garg: str | None):
    """``fn(**arrays)``, and its gradient w.r.t. ``arrays[garg]`` (None on NumPy)."""
    if garg is None or backend == "numpy":
        return fn(**arrays), None
    if backend == "torch":
        x = arrays[garg].detach().requires_grad_(True)
        out = fn(**{**arrays, garg: x})
        (g,) = torch.autograd.grad(out, [x], grad_outputs=torch.ones_like(out))
        return out, g
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        out, vjp = jax.vjp(lambda x: fn(**{**arrays, garg: x}), arrays[garg])
        return out, vjp(jnp.ones_like(out))[0]
    import tensorflow as tf

    with tf.GradientTape() as tape:
        tape.watch(arrays[garg])
        out = fn(**arrays)
    return out, tape.gradient(out, arrays[garg])


def expected(ref: Callable[..., Any], rounded: dict, garg: str | None):
    """``ref`` (torch, float64) on the rounded inputs, and its autograd gradient."""
    ts = {k: backend_array("torch", v, "float64") for k, v in rounded.items()}
    out, g = value_and_grad("torch", ref, ts, garg)
    return to_f64(out), None if g is None else to_f64(g)


def assert_close(got: Any, want: np.ndarray, dtype: str, bound: float, what: str) -> None:
    err = ulps(to_f64(got), want, dtype, floor=GRAD_FLOOR)
    assert err <= bound, f"{what}: {err:.3g} ulp of {dtype} from float64 (bound {bound})"


# ------------------------------------------------------------------------------------------
# The representative set
# ------------------------------------------------------------------------------------------


def _logits(r, shape=(8, 5), scale=2.0):
    return scale * r.standard_normal(shape)


def _log_softmax(z, axis=1):
    m = z.max(axis=axis, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=axis, keepdims=True))


@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[np.random.Generator], dict]
    ours: Callable[..., Any]
    ref: Callable[..., Any]
    garg: str | None = "input"


def _ce_make(r):
    t = r.integers(0, 5, 8)
    t[[1, 4]] = -100
    return {"input": _logits(r), "target": t, "weight": r.uniform(0.2, 2.0, 5)}


def _bce_clamp_make(r):
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.25, 0.75])
    return {"input": p, "target": np.array([1.0, 0.0, 0.0, 1.0, 1.0, 0.0])}


# The registry's test_conformance_half runs the same checks (1 ulp for values, 2 ulp plus the
# floor for gradients, against float64 on the same rounded inputs) on every loss's first and
# compiled cases: cross_entropy with a weight, ignored targets and smoothing, and with
# probabilities; binary_cross_entropy; binary_cross_entropy_with_logits with pos_weight;
# poisson_nll_loss; softmax_focal_loss; dice_loss; mse_loss; huber_loss (delta 0.5, weighted);
# kl_div 'batchmean'; ctc_loss. These two it has no half case for.
CASES = [
    Case(
        "nll_loss_weight_ignore",
        lambda r: {**_ce_make(r), "input": _log_softmax(_logits(r))},
        lambda input, target, weight: lb.nll_loss(input, target, weight=weight),
        lambda input, target, weight: F.nll_loss(input, target, weight=weight),
    ),
    # p = 0 and 1: the -100 clamp of the log. torch's backward there is its own formula, not
    # the derivative of the clamped loss: values only.
    Case(
        "binary_cross_entropy_clamp",
        _bce_clamp_make,
        lambda input, target: lb.binary_cross_entropy(input, target, reduction="none"),
        lambda input, target: F.binary_cross_entropy(input, target, reduction="none"),
        garg=None,
    ),
]


def _inputs(case: Case, dtype: str) -> dict:
    r = np.random.default_rng(sum(map(ord, case.name)))
    return {k: round_to(np.asarray(v), dtype) for k, v in case.make(r).items()}


@functools.cache
def _expected(name: str, dtype: str):
    case = next(c for c in CASES if c.name == name)
    return expected(case.ref, _inputs(case, dtype), case.garg)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("backend", BACKENDS)
def test_half_value_and_gradient(backend, dtype, case):
    rounded = _inputs(case, dtype)
    want, want_grad = _expected(case.name, dtype)
    arrays = {k: backend_array(backend, v, dtype) for k, v in rounded.items()}
    out, grad = value_and_grad(backend, case.ours, arrays, case.garg)
    assert dtype_name(out) == dtype
    assert_close(out, want, dtype, VALUE_ULPS, f"{case.name} value")
    if grad is not None:
        assert dtype_name(grad) == dtype
        assert_close(grad, want_grad, dtype, GRAD_ULPS, f"{case.name} gradient")


def test_bce_clamp_expected_values_are_the_clamp():
    """The clamp case's expected values are -100 clamps (0 and 1 where the log is clamped)."""
    want, _ = _expected("binary_cross_entropy_clamp", "float16")
    np.testing.assert_array_equal(want[:4], [100.0, 100.0, 0.0, 0.0])


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("backend", AUTODIFF)
def test_all_ignored_mean(backend, dtype):
    """Every target ignored, ``'mean'``: NaN (0 / 0) in the half dtype, as torch; the gradient
    is 0, as torch's F defines it (float32 and float64 give 0 on every backend)."""
    x, y = np.random.default_rng(5).standard_normal((4, 5)), np.full(4, -100)
    arrays = {"input": backend_array(backend, x, dtype), "target": backend_array(backend, y)}
    out, g = value_and_grad(
        backend, lambda input, target: lb.cross_entropy(input, target), arrays, "input"
    )
    assert dtype_name(out) == dtype and np.isnan(to_f64(out))
    want = expected(F.cross_entropy, {"input": round_to(x, dtype), "target": y}, "input")[1]
    np.testing.assert_array_equal(want, 0.0)
    np.testing.assert_array_equal(to_f64(g), want)


# ------------------------------------------------------------------------------------------
# The check can fail
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", HALF)
def test_ulp_check_rejects_a_wrong_value(dtype):
    want = np.float64(1.3)
    step = float(ulp(want, dtype))
    assert ulps(want + 0.5 * step, want, dtype) == 0.5
    with pytest.raises(AssertionError, match="ulp"):
        assert_close(np.float64(want + 2 * step), np.asarray(want), dtype, VALUE_ULPS, "value")
    # A gradient with one element 3 ulp off is rejected; a tiny element is held to the floor.
    g = np.array([0.5, -0.25, 1e-6])
    bad = g.copy()
    bad[1] -= 3 * float(ulp(0.25, dtype))
    with pytest.raises(AssertionError):
        assert_close(bad, g, dtype, GRAD_ULPS, "gradient")
    tiny = g.copy()
    tiny[2] += float(ulp(0.5, dtype)) * GRAD_FLOOR
    assert_close(tiny, g, dtype, GRAD_ULPS, "gradient")
    # beyond float16's range the correctly rounded value is inf; NaN is never close
    assert ulps(np.inf, 7e4, "float16") == 0.0
    assert ulps(np.nan, 1.0, dtype) == np.inf


def test_half_arithmetic_fails_the_bound():
    """BCE with logits computed in float16 arithmetic (the textbook formula) fails the check:
    exp(12) = 162755 overflows float16. The rule's float32 computation passes."""
    x = np.array([12.0, -9.5, 10.25, 8.0], dtype=np.float16)
    t = np.array([0.0, 1.0, 0.0, 0.5], dtype=np.float16)
    with np.errstate(over="ignore"):
        naive = np.mean(np.log1p(np.exp(x)) - x * t)
    rounded = {"input": x.astype(np.float64), "target": t.astype(np.float64)}
    want, _ = expected(F.binary_cross_entropy_with_logits, rounded, None)
    assert ulps(naive.astype(np.float64), want, "float16") > VALUE_ULPS
    ours = lb.binary_cross_entropy_with_logits(x, t)
    assert ours.dtype == np.float16
    assert_close(ours, want, "float16", VALUE_ULPS, "bce_with_logits")


# ------------------------------------------------------------------------------------------
# The issue's first example
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", ["jax", "tensorflow", "numpy", "torch"])
def test_issue_example_bce_bfloat16(backend):
    if backend not in BACKENDS:
        pytest.skip(f"{backend} is not installed")
    p, t = (
        backend_array(backend, [0.9, 0.2], "bfloat16"),
        backend_array(backend, [1.0, 0.0], "bfloat16"),
    )
    out = lb.binary_cross_entropy(p, t)
    assert dtype_name(out) == "bfloat16"
    # 0.9 and 0.2 round to 0.8984375 and 0.2001953125 in bfloat16
    want = -(np.log(0.8984375) + np.log(1 - 0.2001953125)) / 2
    assert_close(out, np.asarray(want), "bfloat16", VALUE_ULPS, "bce")


# ------------------------------------------------------------------------------------------
# Mixed dtypes
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_mixed_dtypes_promote(backend):
    r = np.random.default_rng(3)
    x, y = _logits(r), r.integers(0, 5, 8)
    w = r.uniform(0.2, 2.0, 5)
    xb = backend_array(backend, x, "bfloat16")
    # bfloat16 logits with a float32 weight: float32 (array API promotion)
    out = lb.cross_entropy(
        xb, backend_array(backend, y), weight=backend_array(backend, w, "float32")
    )
    assert dtype_name(out) == "float32"
    want, _ = expected(
        lambda input, target, weight: F.cross_entropy(input, target, weight=weight),
        {"input": round_to(x, "bfloat16"), "target": y, "weight": round_to(w, "float32")},
        None,
    )
    np.testing.assert_allclose(to_f64(out), want, rtol=1e-6)
    # bfloat16 with a float32 target; float16 with bfloat16: float32
    p = r.standard_normal((4, 3))
    assert dtype_name(lb.mse_loss(xb[:4, :3], backend_array(backend, p, "float32"))) == "float32"
    assert dtype_name(
        lb.mse_loss(backend_array(backend, p, "float16"), backend_array(backend, p, "bfloat16"))
    ) == ("float32")
    # host data (a list, a float64 NumPy array) with a half input: the half dtype
    for dtype in HALF:
        xh = backend_array(backend, p, dtype)
        assert dtype_name(lb.mse_loss(xh, p.tolist())) == dtype
        if backend != "numpy":  # on NumPy a float64 array is the framework's own: promoted
            out = lb.mse_loss(xh, p)
            assert dtype_name(out) == dtype
            want = np.mean((round_to(p, dtype) - p) ** 2)
            assert_close(out, np.asarray(want), dtype, VALUE_ULPS, "mse with host target")


# ------------------------------------------------------------------------------------------
# float16 overflow, bfloat16 underflow
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend", BACKENDS)
def test_float16_large_logits_finite(backend):
    # logits near float16's top (65504) and logits whose exp overflows float16 (exp(12) =
    # 162755): the losses are moderate numbers, computed in float32 and finite.
    x = np.array([[60000.0, 59000.0, -60000.0], [12.0, -12.0, 0.0], [-60000.0, 0.0, 60000.0]])
    y = np.array([1, 0, 2])
    want, _ = expected(F.cross_entropy, {"input": round_to(x, "float16"), "target": y}, None)
    out = lb.cross_entropy(backend_array(backend, x, "float16"), backend_array(backend, y))
    assert dtype_name(out) == "float16"
    assert_close(out, want, "float16", VALUE_ULPS, "cross_entropy at +-60000")

    z = np.array([60000.0, -60000.0, 12.0, -12.0, 15.5, -11.0])
    t = np.array([1.0, 1.0, 0.0, 0.0, 1.0, 0.5])
    rounded = {"input": round_to(z, "float16"), "target": t}
    want, want_g = expected(
        lambda input, target: F.binary_cross_entropy_with_logits(input, target, reduction="sum"),
        rounded,
        "input",
    )
    assert want > 60000.0 - 32  # the -60000 logit with target 1: finite in float16
    arrays = {k: backend_array(backend, v, "float16") for k, v in rounded.items()}
    out, g = value_and_grad(
        backend,
        lambda input, target: lb.binary_cross_entropy_with_logits(input, target, reduction="sum"),
        arrays,
        "input",
    )
    assert_close(out, want, "float16", VALUE_ULPS, "bce_with_logits sum")
    if g is not None:
        assert_close(g, want_g, "float16", GRAD_ULPS, "bce_with_logits gradient")


@pytest.mark.parametrize("backend", BACKENDS)
def test_bfloat16_underflow(backend):
    # log1p(exp(-100)) = 3.7e-44 is below bfloat16's smallest subnormal (9.2e-41): it rounds
    # to 0 (no NaN). log1p(exp(-90)) = 8.2e-40 is a subnormal of float32 and bfloat16: NumPy
    # and torch keep it (within 1 ulp); JAX (XLA) and TensorFlow flush float32 subnormals to
    # zero on this machine's CPU: 0 there. Values of 1e-30 (normal in bfloat16) stay within
    # 1 ulp.
    z = np.array([100.0, -100.0, 90.0])
    t = np.array([1.0, 0.0, 1.0])
    out = lb.binary_cross_entropy_with_logits(
        backend_array(backend, z, "bfloat16"),
        backend_array(backend, t, "bfloat16"),
        reduction="none",
    )
    assert dtype_name(out) == "bfloat16"
    got = to_f64(out)
    np.testing.assert_array_equal(got[:2], 0.0)
    sub = np.log1p(np.exp(-90.0))
    if not (backend in ("jax", "tensorflow") and got[2] == 0.0):  # flushed, or kept exactly
        assert_close(got[2], np.asarray(sub), "bfloat16", VALUE_ULPS, "subnormal loss")
    a = np.array([1e-15, -2e-15, 3e-15, 0.0])
    b = np.zeros(4)
    ra = round_to(a, "bfloat16")
    out = lb.mse_loss(backend_array(backend, a, "bfloat16"), backend_array(backend, b, "bfloat16"))
    assert to_f64(out) > 0
    assert_close(out, np.asarray(np.mean(ra**2)), "bfloat16", VALUE_ULPS, "mse of 1e-30s")


# ------------------------------------------------------------------------------------------
# Value checks on half inputs: the float32 errors
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", HALF)
@pytest.mark.parametrize("backend", BACKENDS)
def test_value_checks_on_half(backend, dtype):
    def error(fn, *args):
        with pytest.raises(ValueError) as info:
            fn(*args)
        return str(info.value)

    p, t = [0.5, 1.5], [1.0, 0.0]
    half = error(
        lb.binary_cross_entropy, backend_array(backend, p, dtype), backend_array(backend, t, dtype)
    )
    single = error(
        lb.binary_cross_entropy,
        backend_array(backend, p, "float32"),
        backend_array(backend, t, "float32"),
    )
    assert half == single
    assert "[0.5, 1.5]" in half
    x, y = np.zeros((2, 5)), np.array([0, 7])
    half = error(lb.cross_entropy, backend_array(backend, x, dtype), backend_array(backend, y))
    assert half == error(
        lb.cross_entropy, backend_array(backend, x, "float32"), backend_array(backend, y)
    )
    assert "class index 7" in half


# ------------------------------------------------------------------------------------------
# Traced: jax.jit, tf.function, torch.compile
# ------------------------------------------------------------------------------------------


def _smoothed_ce(input, target):
    return lb.cross_entropy(input, target, label_smoothing=0.1)


@pytest.mark.parametrize("backend", [b for b in AUTODIFF])
def test_half_rule_traces(backend):
    r = np.random.default_rng(7)
    x, y = _logits(r), r.integers(0, 5, 8)
    dtype = "bfloat16"
    rounded = {"input": round_to(x, dtype), "target": y}
    want, want_g = expected(
        lambda input, target: F.cross_entropy(input, target, label_smoothing=0.1), rounded, "input"
    )
    arrays = {k: backend_array(backend, v, dtype) for k, v in rounded.items()}
    if backend == "jax":
        import jax

        out, g = jax.jit(jax.value_and_grad(_smoothed_ce))(arrays["input"], arrays["target"])
    elif backend == "tensorflow":
        import tensorflow as tf

        @tf.function
        def step(input, target):
            with tf.GradientTape() as tape:
                tape.watch(input)
                loss = _smoothed_ce(input, target)
            return loss, tape.gradient(loss, input)

        out, g = step(arrays["input"], arrays["target"])
    else:
        compiled = torch.compile(_smoothed_ce, backend="aot_eager", fullgraph=False)
        xi = arrays["input"].requires_grad_(True)
        out = compiled(xi, arrays["target"])
        (g,) = torch.autograd.grad(out, [xi])
    assert dtype_name(out) == dtype and dtype_name(g) == dtype
    assert_close(out, want, dtype, VALUE_ULPS, f"{backend} traced value")
    assert_close(g, want_g, dtype, GRAD_ULPS, f"{backend} traced gradient")
