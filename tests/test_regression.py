"""Regression losses: what the conformance registry does not check.

Values and input gradients of ``mse_loss``, ``l1_loss``, ``huber_loss``, ``smooth_l1_loss``,
``poisson_nll_loss`` and ``gaussian_nll_loss`` against torch and their float64 references, on
every backend and dtype, are the registry's (``conformance/registry.py``). Here: the broadcast
warning, options the registry has no case for (a (1, D) ``var``, a large ``eps``), hand-computed
values, empty batches, target gradients and the var clamp's gradient formula.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import (
    DTYPES,
    RTOL,
    assert_close,
    assert_result,
    backend_grad,
    dtype_grid,
    ignore_fp_warnings,
    make,
    rounded,
    to_numpy,
    torch_f,
    torch_grad,
)

import lossbridge as lb
from lossbridge.conformance.references import reduce

REDUCTIONS = ("none", "mean", "sum")

# ------------------------------------------------------------------------------------------
# Plain float64 NumPy formulas
# ------------------------------------------------------------------------------------------


def np_gaussian(x, y, var, full=False, eps=1e-6, reduction="mean"):
    var = np.asarray(var, dtype=np.float64)
    if var.ndim == x.ndim - 1 and var.shape == x.shape[:-1]:
        var = var[..., None]
    var = np.maximum(var, eps)
    loss = 0.5 * (np.log(var) + (x - y) ** 2 / var)
    loss = np.broadcast_to(loss, np.broadcast_shapes(x.shape, var.shape))
    if full:
        loss = loss + 0.5 * np.log(2 * np.pi)
    return reduce(loss, reduction)


# ------------------------------------------------------------------------------------------
# Data: shapes shared with test_classification ((4, 3)), so JAX compiles fewer eager ops
# ------------------------------------------------------------------------------------------

RNG = np.random.default_rng(99)
X = RNG.normal(scale=2.0, size=(4, 3))
Y = RNG.normal(scale=2.0, size=(4, 3))
Y[0, 0] = X[0, 0]  # a zero error: the tie of |x - y|
W = RNG.uniform(0.5, 2.0, size=(4, 3))
COUNTS = np.array([[0.0, 1.0, 2.0], [3.0, 0.5, 7.0], [0.0, 12.0, 1.0], [4.0, 1.5, 0.0]])
RATES = RNG.uniform(0.1, 5.0, size=(4, 3))


def on(backend, dtype, *arrays):
    return [None if a is None else make(backend, a, dtype) for a in arrays]


def check(out, expected, torch_expected, dtype, backend):
    np.testing.assert_allclose(torch_expected, expected, rtol=1e-12, atol=1e-14)
    assert_result(out, backend, dtype, np.shape(expected))
    assert_close(out, expected, RTOL[dtype], atol=RTOL[dtype])


#: value checks of these losses (every option, reduction, backend, dtype, gradient) are the
#: conformance registry's; the tests here keep their behaviour: warnings, edges, hand values.
POINTWISE = {
    "mse_loss": lb.mse_loss,
    "l1_loss": lb.l1_loss,
    "huber_loss": lb.huber_loss,
    "smooth_l1_loss": lb.smooth_l1_loss,
}


@pytest.mark.parametrize("name", list(POINTWISE))
def test_pointwise_broadcast_target_warns_like_torch(backend, name):
    fn = POINTWISE[name]
    xb, yb = on(backend, "float64", X, Y[0])
    with pytest.warns(UserWarning, match="broadcast"):
        out = fn(xb, yb)
    assert_close(out, torch_f(name, X, Y[0]), RTOL["float64"])


def test_poisson_eps(backend):
    """log_input=False with a zero rate: x - y log(x + eps) = -y log(eps) at x = 0."""
    x, y = np.zeros((4, 3)), COUNTS
    xb, yb = on(backend, "float64", x, y)
    for eps in (1e-8, 0.5):
        out = lb.poisson_nll_loss(xb, yb, log_input=False, eps=eps, reduction="none")
        check(
            out,
            -y * np.log(eps),
            torch_f("poisson_nll_loss", x, y, log_input=False, eps=eps, reduction="none"),
            "float64",
            backend,
        )


# The registry's gaussian_nll_loss cases cover var elementwise, (N,), (N, 1), a float, below eps
# and full=True at eps=1e-6; what it does not: var of shape (1, D) and a larger eps.
VAR_CASES = {
    "elementwise": lambda: RATES,
    "per_column": lambda: RATES[:1],  # (1, D): one mismatched dimension
    "clamped": lambda: np.where(RATES > 2.0, 1e-9, RATES),  # some below eps
}


@pytest.mark.parametrize(
    ("dtype", "var", "full", "eps"),
    dtype_grid(
        [("per_column", f, e) for f, e in [(False, 1e-6), (True, 1e-6), (False, 0.5)]]
        + [(v, False, 0.5) for v in ("elementwise", "clamped")],
        lambda v, f, e: e == 1e-6 and not f,
    ),
)
def test_gaussian_nll_loss(backend, dtype, var, full, eps):
    x, y = rounded(X, dtype), rounded(Y, dtype)
    v = VAR_CASES[var]()
    v = rounded(v, dtype) if isinstance(v, np.ndarray) else v
    xb, yb = on(backend, dtype, x, y)
    vb = make(backend, v, dtype) if isinstance(v, np.ndarray) else v
    for reduction in REDUCTIONS:
        kw = dict(full=full, eps=eps, reduction=reduction)
        out = lb.gaussian_nll_loss(xb, yb, vb, **kw)
        expected = np_gaussian(x, y, v, **kw)
        check(out, expected, torch_f("gaussian_nll_loss", x, y, v, **kw), dtype, backend)


# ------------------------------------------------------------------------------------------
# Hand computations (reference sections 3.3, 3.4, 3.6, 3.7)
# ------------------------------------------------------------------------------------------

# Reference section 3.3's two samples, twice (the shared (4, 3) shape): sums double, means stay.
Y_TRUE = np.tile([[0.0, 1.0, 2.0], [1.0, 1.0, 1.0]], (2, 1))
Y_PRED = np.tile([[0.5, 1.0, 4.0], [0.0, 2.0, 1.0]], (2, 1))
SAMPLE_W = np.tile([[1.0, 1.0, 1.0], [3.0, 3.0, 3.0]], (2, 1))  # sample weights [1, 3]


@pytest.mark.parametrize("dtype", DTYPES)
def test_weighted_means_hand(backend, dtype):
    """errors d = pred - true = [[0.5, 0, 2], [-1, 1, 0]].

    mse: d^2 = [[0.25, 0, 4], [1, 1, 0]], sum 6.25, mean 6.25/6 = 1.041667; weighted: sum w l =
    4.25 + 3 * 2 = 10.25, / sum w = 12: 0.854167. l1: |d| sums 2.5 and 2: sum w l = 2.5 + 6 =
    8.5, / 12 = 0.708333. huber (delta 1): [[0.125, 0, 1.5], [0.5, 0.5, 0]], sum w l = 1.625 +
    3 * 1 = 4.625; torch divides by the element count, 4.625 / 6 = 0.770833 (not / 12).
    Each sum is doubled here (the two samples appear twice).
    """
    pb, tb, wb = on(backend, dtype, Y_PRED, Y_TRUE, SAMPLE_W)
    tol = RTOL[dtype]
    assert_close(lb.mse_loss(pb, tb), 6.25 / 6, tol)
    assert_close(lb.mse_loss(pb, tb, reduction="sum"), 2 * 6.25, tol)
    assert_close(lb.mse_loss(pb, tb, weight=wb), 10.25 / 12, tol)
    assert_close(lb.mse_loss(pb, tb, weight=wb, reduction="sum"), 2 * 10.25, tol)
    assert_close(lb.l1_loss(pb, tb, weight=wb), 8.5 / 12, tol)
    assert_close(lb.huber_loss(pb, tb, weight=wb), 4.625 / 6, tol)
    assert_close(lb.huber_loss(pb, tb, weight=wb, reduction="sum"), 2 * 4.625, tol)


E = np.array([0.5, 1.5, 3.0])


@pytest.mark.parametrize("dtype", DTYPES)
def test_huber_vs_smooth_l1_hand(backend, dtype):
    """e = [0.5, 1.5, 3].

    delta = beta = 1: both [0.5 * 0.25, 1.5 - 0.5, 3 - 0.5] = [0.125, 1.0, 2.5].
    delta = 2: [0.125, 0.5 * 2.25, 2 * (3 - 1)] = [0.125, 1.125, 4.0]; smooth_l1(beta = 2) is
    huber / beta = [0.0625, 0.5625, 2.0]. beta = 0 is L1: [0.5, 1.5, 3.0].
    """
    eb, zb = on(backend, dtype, E, np.zeros(3))
    tol = RTOL[dtype]
    assert_close(lb.huber_loss(eb, zb, reduction="none"), [0.125, 1.0, 2.5], tol)
    assert_close(lb.smooth_l1_loss(eb, zb, reduction="none"), [0.125, 1.0, 2.5], tol)
    assert_close(lb.huber_loss(eb, zb, reduction="none", delta=2.0), [0.125, 1.125, 4.0], tol)
    assert_close(lb.smooth_l1_loss(eb, zb, reduction="none", beta=2.0), [0.0625, 0.5625, 2.0], tol)
    assert_close(lb.smooth_l1_loss(eb, zb, reduction="none", beta=0.0), E, tol)
    # the error's sign does not matter
    assert_close(lb.huber_loss(zb, eb, reduction="none", delta=2.0), [0.125, 1.125, 4.0], tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_poisson_hand(backend, dtype):
    """lambda = [0.5, 2, 4], k = [0, 3, 2]: lambda - k ln lambda = [0.5, 2 - 3 ln2, 4 - 4 ln2]
    = [0.5, -0.0794, 1.2274]. full adds k ln k - k + 0.5 ln(2 pi k) where k > 1: for k = 3,
    3 ln3 - 3 + 0.5 ln(6 pi) = 1.7641 (-> 1.6846); for k = 2, 2 ln2 - 2 + 0.5 ln(4 pi) = 0.6518
    (-> 1.8792)."""
    lam = np.array([0.5, 2.0, 4.0])
    k = np.array([0.0, 3.0, 2.0])
    ln2, ln3 = math.log(2), math.log(3)
    base = [0.5, 2 - 3 * ln2, 4 - 4 * ln2]
    stirling = [
        0.0,
        3 * ln3 - 3 + 0.5 * math.log(6 * math.pi),
        2 * ln2 - 2 + 0.5 * math.log(4 * math.pi),
    ]
    full = [b + s for b, s in zip(base, stirling, strict=True)]
    # log_input=False: lambda - k ln(lambda + eps), eps = 1e-8
    rates = [lam_ - k_ * math.log(lam_ + 1e-8) for lam_, k_ in zip(lam, k, strict=True)]
    np.testing.assert_allclose(base, [0.5, -0.0794, 1.2274], atol=5e-5)
    np.testing.assert_allclose(full, [0.5, 1.6846, 1.8792], atol=5e-5)
    lb_, kb, lamb = on(backend, dtype, np.log(lam), k, lam)
    tol = RTOL[dtype] * 5
    assert_close(lb.poisson_nll_loss(lb_, kb, reduction="none"), base, tol)
    assert_close(lb.poisson_nll_loss(lamb, kb, log_input=False, reduction="none"), rates, tol)
    assert_close(lb.poisson_nll_loss(lb_, kb, full=True, reduction="none"), full, tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_gaussian_hand(backend, dtype):
    """x - y = [1, 2, 0.5], var = [4, 1e-8, 0.25] with eps 1e-6: 0.5 (ln 4 + 1/4),
    0.5 (ln 1e-6 + 4 / 1e-6) (var clamped) and 0.5 (ln 0.25 + 1); full adds 0.5 ln(2 pi) each."""
    xb, yb, vb = on(
        backend, dtype, np.array([1.0, 2.0, 0.5]), np.zeros(3), np.array([4.0, 1e-8, 0.25])
    )
    expected = [
        0.5 * (math.log(4) + 0.25),
        0.5 * (math.log(1e-6) + 4e6),
        0.5 * (math.log(0.25) + 1.0),
    ]
    out = lb.gaussian_nll_loss(xb, yb, vb, reduction="none")
    assert_close(out, expected, RTOL[dtype] * 5)
    out = lb.gaussian_nll_loss(xb, yb, vb, full=True, reduction="sum")
    assert_close(out, sum(expected) + 1.5 * math.log(2 * math.pi), RTOL[dtype] * 5)


# ------------------------------------------------------------------------------------------
# Empty batches: NaN for 'mean', 0 for 'sum', empty for 'none' (as torch)
# ------------------------------------------------------------------------------------------

EMPTY = {
    "mse_loss": lambda x: lb.mse_loss,
    "l1_loss": lambda x: lb.l1_loss,
    "huber_loss": lambda x: lb.huber_loss,
    "smooth_l1_loss": lambda x: lb.smooth_l1_loss,
    "poisson_nll_loss": lambda x: lb.poisson_nll_loss,
    "gaussian_nll_loss": lambda x: lambda a, b, **kw: lb.gaussian_nll_loss(a, b, x, **kw),
}


@ignore_fp_warnings
@pytest.mark.parametrize("name", list(EMPTY))
def test_empty_batch(backend, name):
    (xb,) = on(backend, "float32", np.zeros((0, 3)))
    fn = EMPTY[name](xb)
    assert np.isnan(to_numpy(fn(xb, xb)))
    assert to_numpy(fn(xb, xb, reduction="sum")) == 0.0
    assert_result(fn(xb, xb, reduction="none"), backend, "float32", (0, 3))


# ------------------------------------------------------------------------------------------
# Gradients the registry does not take: the target's, the var clamp's plain formula
# ------------------------------------------------------------------------------------------

GRAD_CASES = {
    "mse": ("mse_loss", [X, Y], dict(weight=W)),
    "huber": ("huber_loss", [X, Y], dict(delta=1.5, weight=W)),
    "poisson": ("poisson_nll_loss", [np.log(RATES), COUNTS], dict(full=True)),
    "gaussian": ("gaussian_nll_loss", [X, Y, RATES], dict(full=True)),
    "gaussian_clamped": (
        "gaussian_nll_loss",
        [X, Y, np.where(RATES > 2.0, 1e-9, RATES)],
        dict(eps=1e-3, reduction="sum"),
    ),
}


def _loss_of(backend, name, kwargs):
    fn = getattr(lb, name)
    kw = {
        k: make(backend, v, "float64") if isinstance(v, np.ndarray) else v
        for k, v in kwargs.items()
    }
    return lambda *arrays: fn(*arrays, **kw)


@pytest.mark.parametrize("case", ["mse", "huber", "poisson", "gaussian"])
def test_target_gradient_matches_torch(ad_backend, case):
    name, args, kwargs = GRAD_CASES[case]
    grad = backend_grad(ad_backend, _loss_of(ad_backend, name, kwargs), args, 1)
    expected = torch_grad(name, args, 1, **kwargs)
    # torch's full Poisson loss leaks nan into the target gradient where y == 0 (its Stirling
    # term is masked with a where); ours stays finite: there d/dy (e^x - y x) = -x.
    finite = np.isfinite(expected)
    np.testing.assert_allclose(grad[finite], expected[finite], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(grad[~finite], -args[0][~finite] / args[0].size, rtol=1e-14)
    assert finite.all() == (case != "poisson")


def test_var_gradient_passes_the_clamp_like_torch(ad_backend):
    """torch clamps var under no_grad: the gradient is d/dv at max(v, eps), passed through.

    (The var gradient against torch's on unclamped variances is the registry's.)
    """
    name, args, kwargs = GRAD_CASES["gaussian_clamped"]
    grad = backend_grad(ad_backend, _loss_of(ad_backend, name, kwargs), args, 2)
    expected = torch_grad(name, args, 2, **kwargs)
    np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-14)
    # plain formula at v = eps = 1e-3: 0.5 (1 / eps - (x - y)^2 / eps^2) where v < eps
    clamped = args[2] < 1e-3
    d2 = (X - Y) ** 2
    np.testing.assert_allclose(grad[clamped], 0.5 * (1e3 - d2[clamped] * 1e6), rtol=1e-10)
    assert clamped.any()


def test_l1_gradient_zero_at_tie(ad_backend):
    grad = backend_grad(ad_backend, lb.l1_loss, [X, Y], 0)
    assert grad[0, 0] == 0.0  # x == y: torch's sign(0) = 0, on every backend
    np.testing.assert_allclose(grad, np.sign(X - Y) / X.size, rtol=1e-14)
