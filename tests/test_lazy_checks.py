"""Cheap value checks (issue 8): checked after the fact, read from bits, or used to skip work.

* ``msle_loss`` checks its log1p domain after computing the loss: a value <= -1 makes its
  element (and the mean or sum) inf or NaN, and only then is the domain searched. The error
  must be the one the eager check gave, for every reduction, and a NaN input must still give
  NaN, not an error.
* Float labels -1 and 1 are read from their bits (``_validation._sign_free_bits``): every
  other value (0, -0.0, 0.5, 2, NaN, inf, 1 + ulp) must still be refused.
* ``binary_cross_entropy`` skips its clamp masks and ``gaussian_nll_loss`` its clamp when the
  eager range check proves them no-ops: values and gradients must stay those of torch.
* Inside ``jax.jit`` and ``tf.function`` nothing is read: the bad values give NaN, no error.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest
from _helpers import ignore_fp_warnings, make, to_numpy, torch_f, torch_grad

import lossbridge as lb
from lossbridge._validation import _sign_free_bits, holds_only
from lossbridge.backends import get_namespace

REDUCTIONS = ("none", "mean", "sum")
GOOD = np.array([[0.5, 2.0, 0.0], [3.0, 0.25, 7.0]])


def _msle_cases():
    for name in ("input", "target"):
        for bad in (-1.0, -2.0, -np.inf):
            yield name, bad


@ignore_fp_warnings
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("name", "bad"), list(_msle_cases()))
def test_msle_domain_error_for_every_reduction(backend, reduction, name, bad):
    """A value <= -1 raises the ValueError naming the argument, whatever the reduction."""
    arrays = {"input": GOOD.copy(), "target": GOOD[::-1].copy()}
    arrays[name][1, 2] = bad
    conv = {k: make(backend, v, "float64") for k, v in arrays.items()}
    with pytest.raises(ValueError, match=rf"msle_loss: {name} must have values > -1") as e:
        lb.msle_loss(**conv, reduction=reduction)
    assert f"got a minimum of {bad}" in str(e.value)


@ignore_fp_warnings
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_msle_input_error_comes_first(backend, reduction):
    """Both arguments bad: the input's error, as when the input was checked first."""
    x, t = GOOD.copy(), GOOD.copy()
    x[0, 0], t[0, 1] = -3.0, -4.0
    with pytest.raises(ValueError, match="msle_loss: input must"):
        lb.msle_loss(make(backend, x), make(backend, t), reduction=reduction)


@ignore_fp_warnings
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_msle_nan_propagates(backend, reduction):
    """A NaN input is not an error: the loss is NaN where it enters (and in the mean/sum)."""
    x = GOOD.copy()
    x[0, 1] = np.nan
    out = to_numpy(lb.msle_loss(make(backend, x), make(backend, GOOD), reduction=reduction))
    expected = (np.log1p(x) - np.log1p(GOOD)) ** 2
    if reduction == "none":
        np.testing.assert_allclose(out, expected, rtol=1e-12)  # NaN at [0, 1] only
        assert np.isnan(out).sum() == 1
    else:
        assert np.isnan(out)


@ignore_fp_warnings
def test_msle_inf_input_is_not_an_error(backend):
    """+inf is in the domain: the loss is inf, the diagnosis runs and finds nothing."""
    x = GOOD.copy()
    x[1, 1] = np.inf
    out = to_numpy(lb.msle_loss(make(backend, x), make(backend, GOOD), reduction="sum"))
    assert out == np.inf


@ignore_fp_warnings
def test_msle_broadcast_output_still_checked(backend):
    """A broadcast that grows the output: the bad value reaches the output, and the error."""
    t = np.array([[0.5], [-2.0]])
    with pytest.warns(UserWarning), pytest.raises(ValueError, match="target must"):
        lb.msle_loss(make(backend, np.ones(3)), make(backend, t), reduction="none")


@pytest.mark.skipif(importlib.util.find_spec("tensorflow") is None, reason="no tensorflow")
def test_msle_not_checked_under_tf_function():
    """Under ``tf.function`` the values are unknown: -2 gives NaN, no error."""
    import tensorflow as tf

    f = tf.function(lambda a, b: lb.msle_loss(a, b))
    out = f(tf.constant([-2.0, 1.0]), tf.constant([0.0, 1.0]))
    assert np.isnan(out.numpy())


# ------------------------------------------------------------------------------------------
# Labels -1 and 1 read from the bits
# ------------------------------------------------------------------------------------------

_NOT_PM1 = [0.0, -0.0, 0.5, -0.5, 2.0, -2.0, np.nan, np.inf, -np.inf, 3.0, 1.5]


@pytest.mark.parametrize("dtype", ["float16", "float32", "float64"])
def test_sign_free_bits(dtype):
    """True only when every value is exactly -1 or 1 (NumPy arrays of each float width)."""
    good = np.array([1, -1, -1, 1, 1], dtype)
    assert _sign_free_bits(good) is True
    assert _sign_free_bits(good[:1]) is True and _sign_free_bits(-good[:1]) is True
    for bad in [*_NOT_PM1, float(np.nextafter(np.ones(1, dtype), 2)[0])]:
        for pos in (0, 2, 4):
            a = good.copy()
            a[pos] = bad
            assert _sign_free_bits(a) is False, (bad, pos)
    below = np.nextafter(np.ones(1, dtype), 0)[0]
    assert _sign_free_bits(np.array([1, -below], dtype)) is False


def test_sign_free_bits_needs_a_numpy_view():
    torch = pytest.importorskip("torch")
    assert _sign_free_bits(torch.ones(3)) is True  # zero-copy view of a CPU tensor
    assert _sign_free_bits(torch.ones(3, requires_grad=True)) is None
    assert _sign_free_bits(torch.ones(3, dtype=torch.bfloat16)) is None
    assert _sign_free_bits(np.ones(3, np.int32)) is None


@pytest.mark.parametrize("bad", _NOT_PM1)
def test_hinge_labels_refused(backend, bad):
    """Every backend refuses a float label that is not -1 or 1 (the bits fast path fails)."""
    t = np.array([1.0, -1.0, 1.0, -1.0])
    t[2] = bad
    with pytest.raises(ValueError, match="hinge_loss: target must hold labels -1 and 1"):
        lb.hinge_loss(make(backend, np.ones(4), "float32"), make(backend, t, "float32"))


def test_hinge_labels_accepted(backend):
    for dtype in ("float32", "float64"):
        t = make(backend, np.array([1.0, -1.0, -1.0]), dtype)
        x = make(backend, np.array([0.5, 0.25, -3.0]), dtype)
        np.testing.assert_allclose(to_numpy(lb.hinge_loss(x, t)), (0.5 + 1.25 + 0.0) / 3)
        xp, _ = get_namespace(t)
        assert holds_only(xp, t, -1, 1)


# ------------------------------------------------------------------------------------------
# Checks whose range skips work: the same values and gradients
# ------------------------------------------------------------------------------------------

_P_INSIDE = np.array([[0.3, 0.9, 1e-7], [0.5, 1 - 1e-9, 0.02]])
_P_EDGES = np.array([[0.0, 0.9, 1e-300], [1.0, 0.5, 0.02]])
_Y = np.array([[1.0, 0.0, 0.3], [0.0, 1.0, 0.7]])


@pytest.mark.parametrize("p", [_P_INSIDE, _P_EDGES], ids=["inside", "edges"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_values_inside_and_at_the_edges(backend, p, reduction):
    """Strictly inside (0, 1): the mask-free form; 0, 1 or a log below -100: the clamps."""
    out = lb.binary_cross_entropy(make(backend, p), make(backend, _Y), reduction=reduction)
    expected = torch_f("binary_cross_entropy", p, _Y, reduction=reduction)
    np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-12)


@pytest.mark.parametrize("p", [_P_INSIDE, _P_EDGES], ids=["inside", "edges"])
def test_bce_gradient_inside_and_at_the_edges(ad_backend, p):
    from _helpers import backend_grad

    got = backend_grad(ad_backend, lambda x, y: lb.binary_cross_entropy(x, y), [p, _Y], 0)
    # d/dx of the clamped loss: -y / x + (1 - y) / (1 - x), each term 0 where its clamp acts.
    safe = np.where((p > 0) & (p < 1), p, 0.5)
    log_x_clamped = (p == 0) | (np.log(safe) < -100)
    d_log_x = np.where(log_x_clamped, 0.0, -_Y / safe)
    d_log_1mx = np.where(p == 1, 0.0, (1 - _Y) / (1 - safe))
    expected = (d_log_x + d_log_1mx) / p.size
    clamped = log_x_clamped | (p == 1)
    if not clamped.any():
        np.testing.assert_allclose(
            torch_grad("binary_cross_entropy", [p, _Y], 0), expected, rtol=1e-9
        )
    np.testing.assert_allclose(got, expected, rtol=1e-9)


@ignore_fp_warnings
@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_bce_out_of_range_is_nan_under_jit():
    """Not refused inside a trace: an input outside [0, 1] gives NaN, not a finite number."""
    import jax
    import jax.numpy as jnp

    f = jax.jit(lambda x, y: lb.binary_cross_entropy(x, y, reduction="none"))
    out = np.asarray(f(jnp.asarray([-0.5, 1.5, 0.5, 0.0, 1.0]), jnp.asarray([1.0, 0.0, 1.0, 1, 0])))
    assert np.isnan(out[:2]).all()
    np.testing.assert_allclose(out[2:], [np.log(2), 100.0, 100.0], rtol=1e-6)


@pytest.mark.parametrize("var", [np.array([0.5, 2.0, 1e-3]), np.array([0.5, 0.0, 1e-9])])
def test_gaussian_nll_clamp_skipped_or_not(ad_backend, var):
    """min(var) >= eps skips the clamp; values and var-gradients equal torch's either way."""
    from _helpers import backend_grad

    x, t = np.array([0.1, -0.4, 2.0]), np.array([0.3, 0.2, 1.0])
    out = lb.gaussian_nll_loss(make(ad_backend, x), make(ad_backend, t), make(ad_backend, var))
    np.testing.assert_allclose(to_numpy(out), torch_f("gaussian_nll_loss", x, t, var), rtol=1e-12)
    got = backend_grad(ad_backend, lb.gaussian_nll_loss, [x, t, var], 2)
    expected = torch_grad("gaussian_nll_loss", [x, t, var], 2)
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_gaussian_nll_negative_scalar_var_array_refused(backend):
    with pytest.raises(ValueError, match=r"var must have variances in \[0.0, inf\]"):
        lb.gaussian_nll_loss(
            make(backend, np.ones(3)), make(backend, np.zeros(3)), make(backend, np.array(-1.0))
        )
