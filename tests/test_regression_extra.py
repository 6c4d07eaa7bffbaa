"""RMSE, log-cosh, quantile (pinball), MAPE and MSLE: what the conformance registry does not check.

Values and gradients (input and target) against the float64 references and against Keras and
optax on every backend and dtype are the registry's (``conformance/extra_regression.py``). Here:
hand computations, quantiles as a backend array or a 0-d array, gradients at ties and at zero
error, the torch ``maximum`` form, where MSLE departs from Keras, empty batches, broadcasting,
dtype rules and bad input. Expected values come from float64 NumPy formulas written here, hand
computations in the docstrings, Keras and torch; never from lossbridge.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from _helpers import (
    DTYPES,
    RTOL,
    assert_close,
    assert_result,
    backend_grad,
    ignore_fp_warnings,
    make,
    rounded,
    to_numpy,
)

from lossbridge.conformance.references import reduce
from lossbridge.regression import log_cosh_loss, mape_loss, msle_loss, quantile_loss, rmse_loss

REDUCTIONS = ("none", "mean", "sum")

# ------------------------------------------------------------------------------------------
# Plain float64 NumPy formulas
# ------------------------------------------------------------------------------------------


def np_pinball(x, y, quantile=0.5, reduction="mean"):
    q = np.asarray(quantile, dtype=np.float64)
    if q.ndim == 1 and y.ndim == x.ndim - 1:
        y = y[..., None]
    d = y - x
    return reduce(np.where(d >= 0, q * d, (q - 1) * d), reduction)


def np_msle(x, y, eps=None, reduction="mean"):
    if eps is not None:
        x, y = np.maximum(x, eps), np.maximum(y, eps)
    return reduce((np.log(1 + x) - np.log(1 + y)) ** 2, reduction)


# ------------------------------------------------------------------------------------------
# Data: (4, 3) like test_regression (JAX compiles fewer eager ops)
# ------------------------------------------------------------------------------------------

RNG = np.random.default_rng(2024)
X = RNG.normal(scale=1.5, size=(4, 3))
Y = RNG.normal(scale=1.5, size=(4, 3))
Y[0, 0] = X[0, 0]  # one zero error: a tie
XP = RNG.uniform(0.05, 4.0, size=(4, 3))  # positive data for MSLE


def on(backend, dtype, *arrays):
    return [make(backend, a, dtype) for a in arrays]


# ------------------------------------------------------------------------------------------
# Hand computations
# ------------------------------------------------------------------------------------------

Y_TRUE = np.array([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]])  # reference section 3.3's two samples
Y_PRED = np.array([[0.5, 1.0, 4.0], [0.0, 2.0, 1.0]])


@pytest.mark.parametrize("dtype", DTYPES)
def test_rmse_hand(backend, dtype):
    """d^2 = [[0.25, 0, 4], [1, 1, 0]]: sum 6.25, mean 6.25 / 6 = 1.041667, RMSE 1.020621.

    Per row: sqrt(4.25 / 3) = 1.190238 and sqrt(2 / 3) = 0.816497; their mean 1.003367 (not the
    overall RMSE), sum 2.006735. eps = 1: sqrt(1.041667 + 1) = 1.428869.
    """
    pb, tb = on(backend, dtype, Y_PRED, Y_TRUE)
    tol = 5e-7
    assert_close(rmse_loss(pb, tb), 1.020621, tol, 1e-6)
    assert_close(rmse_loss(pb, tb, reduction="none"), 1.020621, tol, 1e-6)  # 0-d either way
    assert_close(rmse_loss(pb, tb, eps=1.0), 1.428869, tol, 1e-6)
    assert_close(rmse_loss(pb, tb, axis=1, reduction="none"), [1.190238, 0.816497], tol, 1e-6)
    assert_close(rmse_loss(pb, tb, axis=-1), 1.003367, tol, 1e-6)
    assert_close(rmse_loss(pb, tb, axis=-1, reduction="sum"), 2.006735, tol, 1e-6)
    np.testing.assert_allclose(math.sqrt(6.25 / 6), 1.020621, atol=1e-6)
    np.testing.assert_allclose(
        [math.sqrt(4.25 / 3), math.sqrt(2 / 3)], [1.190238, 0.816497], atol=1e-6
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_cosh_hand(backend, dtype):
    """log cosh 1 = log((e + 1/e) / 2) = log 1.543081 = 0.433781; log cosh 0 = 0; even.

    Keras's docstring example: y_true [[0, 1], [0, 0]], y_pred [[1, 1], [0, 0]]: errors
    [1, 0, 0, 0], mean 0.433781 / 4 = 0.108445 ("0.108").
    """
    np.testing.assert_allclose(math.log((math.e + 1 / math.e) / 2), 0.433781, atol=1e-6)
    pb, tb = on(backend, dtype, np.array([[1.0, 1.0], [0.0, 0.0]]), np.array([[0.0, 1.0], [0, 0]]))
    assert_close(log_cosh_loss(pb, tb), 0.108445, 5e-6)
    assert_close(log_cosh_loss(tb, pb, reduction="none"), [[0.433781, 0], [0, 0]], 2e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_quantile_hand(backend, dtype):
    """q = 0.1, target 2, predictions [1, 3]: d = y - x = [1, -1]; loss [0.1 * 1, -0.9 * -1]
    = [0.1, 0.9], mean 0.5. Under-prediction costs q, over-prediction 1 - q.

    Three quantiles [0.1, 0.5, 0.9], predictions [1, 2, 4] for target 2: d = [1, 0, -2] ->
    [0.1, 0, 0.2], sum 0.3.
    """
    xb, tb = on(backend, dtype, np.array([1.0, 3.0]), np.array([2.0, 2.0]))
    assert_close(quantile_loss(xb, tb, quantile=0.1, reduction="none"), [0.1, 0.9], 1e-6)
    # TF Addons' pinball_loss docstring: y_true [0, 0, 1, 1], y_pred [1, 1, 1, 0], tau 0.1:
    # d = [-1, -1, 0, 1] -> [0.9, 0.9, 0, 0.1], mean 0.475
    pb, yb = on(backend, dtype, np.array([1.0, 1.0, 1.0, 0.0]), np.array([0.0, 0.0, 1.0, 1.0]))
    assert_close(quantile_loss(pb, yb, quantile=0.1), 0.475, 1e-6)
    assert_close(quantile_loss(xb, tb, quantile=0.1), 0.5, 1e-6)
    xb, tb = on(backend, dtype, np.array([[1.0, 2.0, 4.0]]), np.array([2.0]))
    out = quantile_loss(xb, tb, quantile=[0.1, 0.5, 0.9], reduction="none")
    assert_result(out, backend, dtype, (1, 3))
    assert_close(out, [[0.1, 0.0, 0.2]], 1e-6)
    assert_close(quantile_loss(xb, tb, quantile=(0.1, 0.5, 0.9), reduction="sum"), 0.3, 1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_mape_hand(backend, dtype):
    """y = [2, -4, 0], x = [1, -3, 0.5]: |y - x| = [1, 1, 0.5], max(|y|, 1e-7) = [2, 4, 1e-7]
    -> 100 * [0.5, 0.25, 5e6] = [50, 25, 5e8]."""
    xb, yb = on(backend, dtype, np.array([1.0, -3.0, 0.5]), np.array([2.0, -4.0, 0.0]))
    assert_close(mape_loss(xb, yb, reduction="none"), [50.0, 25.0, 5e8], 1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_msle_hand(backend, dtype):
    """x = e - 1, y = 0: (log e - log 1)^2 = 1. x = -0.5, y = 0: log^2 0.5 = 0.480453 exactly;
    with Keras's clip (eps = 1e-7) both become 1e-7: 0. x = 0, y = 1: log^2 2 = 0.480453;
    clipped: (log(1 + 1e-7) - log 2)^2 = 0.480453 - 1.39e-7."""
    xb, yb = on(backend, dtype, np.array([math.e - 1, -0.5, 0.0]), np.array([0.0, 0.0, 1.0]))
    ln2sq = math.log(2) ** 2
    np.testing.assert_allclose(ln2sq, 0.480453, atol=1e-6)
    assert_close(msle_loss(xb, yb, reduction="none"), [1.0, ln2sq, ln2sq], 1e-6)
    clipped = [1.0, 0.0, (math.log1p(1e-7) - math.log(2)) ** 2]
    assert_close(msle_loss(xb, yb, eps=1e-7, reduction="none"), clipped, 1e-6)


# ------------------------------------------------------------------------------------------
# Keras (values against Keras and optax are the registry's extra oracles)
# ------------------------------------------------------------------------------------------


def test_msle_differs_from_keras_below_its_clip():
    """Zeros and negatives: only eps=1e-7 (Keras's clip) equals Keras; the exact loss differs
    there (e.g. x = -0.5 against y = 0.25). (Both against Keras on their own data: the registry's
    msle_loss cases "basic" and "keras_clip".)"""
    keras = pytest.importorskip("keras")
    x = np.array([[-0.5, 0.0, 2.0], [3.0, -0.9, 1e-9]])
    y = np.array([[0.25, 1.0, 0.0], [-0.3, 0.5, 2.0]])
    keras_rows = np.asarray(keras.losses.mean_squared_logarithmic_error(y, x))
    clipped = to_numpy(msle_loss(x, y, eps=1e-7, reduction="none")).mean(axis=-1)
    np.testing.assert_allclose(clipped, keras_rows, rtol=1e-12)
    exact = to_numpy(msle_loss(x, y, reduction="none")).mean(axis=-1)
    assert np.all(np.abs(exact - keras_rows) > 1e-2)
    np.testing.assert_allclose(exact, np_msle(x, y, reduction="none").mean(axis=-1), rtol=1e-12)


# ------------------------------------------------------------------------------------------
# Vector quantiles
# ------------------------------------------------------------------------------------------

XQ = RNG.normal(size=(4, 3))  # 3 quantiles per row
TQ = RNG.normal(size=4)
QS = [0.1, 0.5, 0.9]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("trailing", [False, True])
def test_quantile_vector_backend_array(backend, dtype, trailing):
    """Input (N, Q), target (N,) or (N, 1), the Q quantiles a backend array; dtype kept.

    (Quantiles as a list, tuple or NumPy array are the registry's quantile_loss cases.)
    """
    x, t = rounded(XQ, dtype), rounded(TQ, dtype)
    xb, tb = on(backend, dtype, x, t[:, None] if trailing else t)
    q = make(backend, np.array(QS), dtype)
    for reduction in REDUCTIONS:
        out = quantile_loss(xb, tb, quantile=q, reduction=reduction)
        expected = np_pinball(x, t, quantile=QS, reduction=reduction)
        assert_result(out, backend, dtype, np.shape(expected))
        assert_close(out, expected, RTOL[dtype], atol=RTOL[dtype])


def test_quantile_scalar_array(backend):
    """A 0-d array quantile acts like a float."""
    xb, yb, qb = on(backend, "float64", X, Y, np.asarray(0.3))
    assert_close(quantile_loss(xb, yb, quantile=qb), np_pinball(X, Y, 0.3), 1e-12)


# ------------------------------------------------------------------------------------------
# Gradients at ties and zero errors (the registry checks them elsewhere by finite differences)
# ------------------------------------------------------------------------------------------


def _central(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        g[i] = (f(up) - f(down)) / (2 * h)
    return g


def test_quantile_tie_gradient_is_the_central_difference(ad_backend):
    """At d == 0 the gradient is the midpoint 1/2 - q, which the central difference gives too.

    (TF Addons' tf.maximum gave -q; torch.maximum splits like this.)"""
    x = np.array([[0.5, 1.0, -1.0], [2.0, 0.0, 3.0]])
    y = np.array([[0.5, 0.0, -1.0], [2.5, 0.0, 3.0]])  # four ties
    for q in (0.1, 0.75):
        grad = backend_grad(
            ad_backend, lambda a, b, q=q: quantile_loss(a, b, quantile=q), [x, y], 0
        )
        fd = _central(lambda a, q=q: np_pinball(a, y, q), x)
        np.testing.assert_allclose(grad, fd, rtol=1e-7, atol=1e-9)
        assert grad[0, 0] == pytest.approx((0.5 - q) / 6, rel=1e-12)


def test_quantile_gradient_matches_torch_maximum():
    """torch.maximum(q d, (q - 1) d) with autograd (pytorch-forecasting's form), ties included."""
    torch = pytest.importorskip("torch")
    for q in (0.2, 0.5, 0.9):
        xt = torch.tensor(X, requires_grad=True)
        d = torch.tensor(Y) - xt
        torch.maximum(q * d, (q - 1) * d).mean().backward()
        x2 = torch.tensor(X, requires_grad=True)
        quantile_loss(x2, torch.tensor(Y), quantile=q).backward()
        np.testing.assert_allclose(x2.grad.numpy(), xt.grad.numpy(), rtol=1e-14)


def test_rmse_gradient_at_zero_error_is_zero(ad_backend):
    """Zero error (eps = 0): the RMSE is a cone there; every backend returns the gradient 0 (a
    row of zero errors per row with axis=-1 too). torch's own sqrt(mse_loss) gives NaN."""
    y = X.copy()
    y[1] += 0.5  # row 1 has errors; rows 0, 2, 3 none
    g = backend_grad(ad_backend, lambda a, b: rmse_loss(a, b), [X, X.copy()], 0)
    np.testing.assert_array_equal(g, np.zeros_like(X))
    g = backend_grad(ad_backend, lambda a, b: rmse_loss(a, b, axis=-1), [X, y], 0)
    expected = np.zeros_like(X)
    expected[1] = -0.5 / (3 * 0.5) / 4  # (x - y) / (D r_row) / N with r_row = 0.5
    np.testing.assert_allclose(g, expected, rtol=1e-12)
    g = backend_grad(ad_backend, lambda a, b: rmse_loss(a, b, eps=1e-4), [X, X.copy()], 0)
    np.testing.assert_array_equal(g, np.zeros_like(X))  # smooth: (x - y) / (n r) = 0


def test_torch_sqrt_mse_is_nan_at_zero_error():
    """The documented difference: torch.sqrt(F.mse_loss(x, x)) has a NaN gradient."""
    torch = pytest.importorskip("torch")
    x = torch.tensor(X, requires_grad=True)
    torch.sqrt(torch.nn.functional.mse_loss(x, torch.tensor(X))).backward()
    assert torch.isnan(x.grad).all()


# ------------------------------------------------------------------------------------------
# Edge behaviour
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_log_cosh_tiny_and_large_errors(backend, dtype):
    """|d| = 1e-4: log cosh = d^2 / 2 - d^4 / 12 = 5e-9 to 1e-8 relative, also in float32 (the
    |d| + softplus(-2|d|) - log 2 form is off by more than the value there). |d| = 1e4 and
    100: d - log 2 (cosh overflows float32 beyond 89)."""
    d = np.array([1e-4, -1e-4, 1e-2, 1e4, -100.0, 0.0])
    db, zb = on(backend, dtype, d, np.zeros(6))
    expected = [
        5e-9 - 1e-16 / 12,
        5e-9 - 1e-16 / 12,
        1e-4 / 2 - 1e-8 / 12 + 1e-12 / 45,  # the series d^2/2 - d^4/12 + d^6/45
        1e4 - math.log(2),
        100 - math.log(2),
        0.0,
    ]
    out = log_cosh_loss(db, zb, reduction="none")
    np.testing.assert_allclose(to_numpy(out).astype(np.float64), expected, rtol=RTOL[dtype])


EMPTY = {
    "log_cosh": (log_cosh_loss, (0, 3)),
    "quantile": (quantile_loss, (0, 3)),
    "mape": (mape_loss, (0, 3)),
    "msle": (msle_loss, (0, 3)),
    "rmse_rows": (lambda x, y, **k: rmse_loss(x, y, axis=-1, **k), (0,)),
}


@ignore_fp_warnings
@pytest.mark.parametrize("name", list(EMPTY))
def test_empty_batch(backend, name):
    """An empty batch: 'mean' NaN, 'sum' 0, 'none' empty (as torch's losses)."""
    fn, none_shape = EMPTY[name]
    (xb,) = on(backend, "float32", np.zeros((0, 3)))
    assert np.isnan(to_numpy(fn(xb, xb)))
    assert to_numpy(fn(xb, xb, reduction="sum")) == 0.0
    assert_result(fn(xb, xb, reduction="none"), backend, "float32", none_shape)


@ignore_fp_warnings
def test_rmse_empty_all_axes_is_nan(backend):
    (xb,) = on(backend, "float64", np.zeros((0, 3)))
    assert np.isnan(to_numpy(rmse_loss(xb, xb)))


def test_broadcast_target_row_and_warning(backend):
    """A target row broadcasts silently; (N,) against (N, 1) grows to (N, N) and warns."""
    xb, rowb = on(backend, "float64", X, Y[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = log_cosh_loss(xb, rowb, reduction="none")
    assert_close(out, np.log(np.cosh(X - Y[0])), 1e-12)
    xb, colb = on(backend, "float64", X[:, 0], Y[:, :1])
    with pytest.warns(UserWarning, match=r"broadcast to \(4, 4\)"):
        out = mape_loss(xb, colb, reduction="none")
    assert tuple(out.shape) == (4, 4)


def test_msle_minus_one_not_checked_under_jit():
    """Value checks run only on concrete arrays: under jax.jit, -2 gives NaN instead of an error."""
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    out = jax.jit(lambda a, b: msle_loss(a, b))(jnp.asarray([-2.0, 1.0]), jnp.asarray([0.0, 1.0]))
    assert np.isnan(np.asarray(out))
    q = jnp.asarray([0.5, 1.5])  # not checked in the trace either
    out = jax.jit(lambda a, b, q: quantile_loss(a, b, quantile=q))(
        jnp.ones((2, 2)), jnp.zeros(2), q
    )
    assert np.isfinite(np.asarray(out))


def test_integer_target_is_cast(backend):
    """An integer target takes the input's float dtype (the output stays float32)."""
    y = np.array([[1, 2, 3]] * 4)
    xb, tb = on(backend, "float32", XP, y)
    out = msle_loss(xb, tb, reduction="none")
    assert_result(out, backend, "float32", (4, 3))
    x = rounded(XP, "float32")
    # d = log1p(x) - log1p(y) in float32 is off by a few eps (|log1p x| + |log1p y|), so d**2
    # by twice that times |d| (relative to d**2 that grows where d is near 0)
    lx, ly = np.log1p(x), np.log1p(y)
    d = np.abs(lx - ly)
    bound = 4 * np.finfo(np.float32).eps * d * (np.abs(lx) + np.abs(ly) + d)
    err = np.abs(to_numpy(out).astype(np.float64) - np_msle(x, y.astype(float), reduction="none"))
    assert np.all(err <= bound)


# ------------------------------------------------------------------------------------------
# Bad input: the error names the argument
# ------------------------------------------------------------------------------------------

BAD = [
    (lambda: rmse_loss(X, Y, eps=-1.0), ValueError, "rmse_loss: eps must be >= 0"),
    (lambda: rmse_loss(X, Y, eps=float("nan")), ValueError, "eps"),
    (lambda: rmse_loss(X, Y, eps=True), TypeError, "eps must be a real number"),
    (lambda: rmse_loss(X, Y, axis=2), ValueError, r"axis 2 is out of range for the 2-d"),
    (lambda: rmse_loss(X, Y, axis=(0, -2)), ValueError, "repeats an axis"),
    (lambda: rmse_loss(X, Y, axis=()), ValueError, r"axis=\(\) reduces nothing"),
    (lambda: rmse_loss(X, Y, axis=1.0), TypeError, "axis must be None, an int"),
    (lambda: rmse_loss(X, Y, reduction="avg"), ValueError, "reduction='avg'"),
    (lambda: log_cosh_loss(X, Y[:, :2]), ValueError, r"target has shape \(4, 2\)"),
    (lambda: log_cosh_loss(np.ones((2, 2), dtype=np.int64), Y), TypeError, "input must have"),
    (lambda: quantile_loss(X, Y, quantile=0.0), ValueError, r"quantile must be in \(0, 1\)"),
    (lambda: quantile_loss(X, Y, quantile=1.0), ValueError, "quantile"),
    (lambda: quantile_loss(X, Y, quantile=float("nan")), ValueError, "quantile"),
    (lambda: quantile_loss(X, Y, quantile=True), TypeError, "quantile must be a real number"),
    (lambda: quantile_loss(X, Y, quantile="0.5"), TypeError, "quantile"),
    (lambda: quantile_loss(XQ, TQ, quantile=[0.1, 1.2, 0.5]), ValueError, "quantile"),
    (lambda: quantile_loss(XQ, TQ, quantile=[]), ValueError, "quantile is empty"),
    (
        lambda: quantile_loss(XQ, TQ, quantile=np.array([0.1, 0.0, 0.5])),
        ValueError,
        r"got values in \[0.0, 0.5\]",
    ),
    (
        lambda: quantile_loss(XQ, TQ, quantile=np.full((1, 3), 0.5)),
        ValueError,
        r"quantile has shape \(1, 3\)",
    ),
    (
        lambda: quantile_loss(XQ, TQ, quantile=[0.1, 0.9]),
        ValueError,
        r"input has shape \(4, 3\); with 2 quantiles expected a last axis of size 2",
    ),
    (
        lambda: quantile_loss(XQ, XQ, quantile=QS),
        ValueError,
        r"target has shape \(4, 3\); .* expected \(4,\) or \(4, 1\)",
    ),
    (lambda: mape_loss(X, Y, eps=0.0), ValueError, "mape_loss: eps must be > 0"),
    (
        lambda: msle_loss(np.array([-1.0, 0.5]), np.array([0.0, 0.0])),
        ValueError,
        r"input must have values > -1 .* minimum of -1.0",
    ),
    (
        lambda: msle_loss(np.array([0.5, 0.5]), np.array([0.0, -3.0])),
        ValueError,
        r"target must have values > -1",
    ),
    (lambda: msle_loss(X, Y, eps=-1.0), ValueError, "msle_loss: eps must be > -1"),
]


@pytest.mark.parametrize(("call", "exc", "match"), BAD)
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_bad_input_other_backends(backend):
    """The value checks read every backend's concrete arrays (quantile array, MSLE domain)."""
    xb, tb, qb = on(backend, "float64", XQ, TQ, np.array([0.1, 1.0, 0.5]))
    with pytest.raises(ValueError, match="quantile must have values in the open interval"):
        quantile_loss(xb, tb, quantile=qb)
    xb, yb = on(backend, "float64", np.array([-0.999, -1.5]), np.array([0.0, 0.0]))
    with pytest.raises(ValueError, match="input must have values > -1"):
        msle_loss(xb, yb)
    # -0.999 alone is fine: (log 0.001)^2 = 47.717
    out = msle_loss(xb[:1], yb[:1], reduction="sum")
    assert_close(out, math.log(1e-3) ** 2, 1e-12)
