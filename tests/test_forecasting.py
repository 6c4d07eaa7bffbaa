"""CRPS (ensemble, normal, logistic) and the Tweedie, Poisson and Gamma deviances: what the
conformance registry does not check.

Values and gradients against the float64 references, scoringrules 0.10 and scikit-learn 1.9 on
every backend and dtype are the registry's (``conformance/extra_forecasting.py``). Here: hand
computations, the closed-form gradients, gradients against scoringrules' own torch backend,
the erf the closed form needs, member axes, scikit-learn's domain errors, the weighted mean
and its denominator, torch's ``poisson_nll_loss``, traced calls and bad input. Expected values
come from hand computations, float64 formulas written here (``math.erf``), scoringrules,
scikit-learn and torch; never from lossbridge.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import RTOL, assert_close, backend_grad, make, to_numpy

import lossbridge as lb
from lossbridge.forecasting import erf

sr = pytest.importorskip("scoringrules")

RNG = np.random.default_rng(1919)
ENS = RNG.normal(size=(4, 6))
OBS = RNG.normal(size=4)
MU = RNG.normal(size=(4, 3))
Y = 2.0 * RNG.normal(size=(4, 3))
SIGMA = RNG.uniform(0.2, 2.0, size=(4, 3))

# ------------------------------------------------------------------------------------------
# CRPS of ensembles
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("estimator", "expected"),
    # members 0, 1, 3 and y = 1.5: E|X - y| = (1.5 + 0.5 + 1.5) / 3 = 7/6, sum |x_i - x_j| =
    # 2 (1 + 3 + 2) = 12: nrg 7/6 - 12 / 18 = 1/2, fair 7/6 - 12 / 12 = 1/6; akr (members in
    # the order given, 3, 0, 1): (|3 - 1| + |0 - 3| + |1 - 0|) / 3 = 2, so 7/6 - 1 = 1/6
    [("qd", 0.5), ("nrg", 0.5), ("pwm", 1 / 6), ("fair", 1 / 6), ("akr", 1 / 6)],
)
def test_crps_ensemble_hand(backend, estimator, expected):
    out = lb.crps_ensemble_loss(
        make(backend, np.array([[3.0, 0.0, 1.0]]), "float64"),
        make(backend, np.array([1.5]), "float64"),
        estimator=estimator,
        reduction="none",
    )
    assert_close(out, [expected], RTOL["float64"])


def test_crps_ensemble_one_member_is_absolute_error():
    """One member: the CRPS of a point forecast, |x - y|, for every estimator that takes M = 1."""
    x, y = np.array([[0.5], [-2.0]]), np.array([1.75, -1.0])
    for est in ("qd", "nrg", "akr", "akr_circperm"):
        out = lb.crps_ensemble_loss(x, y, estimator=est, reduction="none")
        np.testing.assert_allclose(out, [1.25, 1.0], rtol=1e-15)


@pytest.mark.parametrize("estimator", ["qd", "pwm", "nrg", "fair", "akr", "akr_circperm"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_crps_ensemble_member_axis_matches_scoringrules(estimator, axis):
    x = RNG.normal(size=(3, 5, 4))
    y = RNG.normal(size=tuple(d for i, d in enumerate(x.shape) if i != axis % 3))
    out = lb.crps_ensemble_loss(x, y, member_axis=axis, estimator=estimator, reduction="none")
    ref = sr.crps_ensemble(y, x, m_axis=axis, estimator=estimator, backend="numpy")
    np.testing.assert_allclose(out, ref, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("estimator", ["qd", "pwm", "nrg", "fair"])
def test_crps_ensemble_gradient_matches_scoringrules_torch(estimator):
    """Gradients w.r.t. the members and the observations: scoringrules' torch backend's own."""
    torch = pytest.importorskip("torch")
    x = torch.tensor(ENS, requires_grad=True)
    y = torch.tensor(OBS, requires_grad=True)
    sr.crps_ensemble(y, x, estimator=estimator, backend="torch").sum().backward()
    for wrt, expected in ((0, x.grad), (1, y.grad)):
        fn = lambda a, b: lb.crps_ensemble_loss(a, b, estimator=estimator, reduction="none")  # noqa: E731
        got = backend_grad(_driver("torch"), fn, [ENS, OBS], wrt)
        np.testing.assert_allclose(got, expected.numpy(), rtol=1e-12, atol=1e-15)


def test_crps_ensemble_default_is_scoringrules_default():
    """scoringrules 0.10's crps_ensemble defaults to 'qd'; so does the loss."""
    ref = sr.crps_ensemble(OBS, ENS, backend="numpy")
    np.testing.assert_allclose(lb.crps_ensemble_loss(ENS, OBS, reduction="none"), ref, rtol=1e-14)


@pytest.mark.parametrize(
    ("kwargs", "exc", "match"),
    [
        ({"estimator": "int"}, ValueError, r"crps_ensemble_loss: estimator must be one of"),
        ({"member_axis": 2}, ValueError, r"member_axis 2 is out of range for the 2-d input"),
        ({"member_axis": 1.0}, TypeError, r"member_axis must be an int"),
        ({"member_axis": 0}, ValueError, r"target has shape \(4,\); expected .* \(6,\)"),
        ({"reduction": "batchmean"}, ValueError, r"reduction"),
        ({"reduction": "sum", "denominator": 2.0}, ValueError, r"denominator= applies to"),
    ],
)
def test_crps_ensemble_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        lb.crps_ensemble_loss(ENS, OBS, **kwargs)


def test_crps_ensemble_too_few_members():
    with pytest.raises(ValueError, match=r"1 member\(s\) on member_axis=-1; estimator='fair'"):
        lb.crps_ensemble_loss(ENS[:, :1], OBS, estimator="fair")
    with pytest.raises(ValueError, match=r"0 member\(s\).*needs at least 1"):
        lb.crps_ensemble_loss(ENS[:, :0], OBS)
    with pytest.raises(ValueError, match=r"input is 0-d"):
        lb.crps_ensemble_loss(np.float64(1.0), 1.0)


# ------------------------------------------------------------------------------------------
# The error function (the array API has none)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_erf_accuracy(dtype):
    """Against ``math.erf`` across Cody's three intervals, their edges and the tails."""
    xp = pytest.importorskip("array_api_compat.numpy")
    edges = [0.0, 0.46875, 4.0, 1e-300, 6.0, 27.0]
    x = np.concatenate([np.linspace(-12.0, 12.0, 40001), edges, np.negative(edges)])
    x = x.astype(dtype)
    expected = np.array([math.erf(v) for v in x.astype(np.float64)])
    got = erf(xp, x)
    assert got.dtype == np.dtype(dtype)
    # a rational function of degree <= 8 in the working precision: a few roundings, each half an
    # ulp (Cody's approximation error is below 1e-16); 4 ulp of 1 absolute, 4 ulp relative near 0
    ulp = 2.0**-52 if dtype == "float64" else 2.0**-23
    assert np.max(np.abs(got - expected)) <= 4 * ulp
    tiny = np.abs(x) < 0.46875
    rel = np.abs(got[tiny] - expected[tiny]) / np.maximum(np.abs(expected[tiny]), 1e-300)
    assert np.max(rel) <= 4 * ulp


def test_erf_gradient_is_finite_everywhere():
    """No branch leaks a NaN or infinite gradient where it is not selected (x = 0, large x)."""
    torch = pytest.importorskip("torch")
    import array_api_compat.torch as xpt

    x = torch.tensor(
        [0.0, 1e-300, 0.3, 0.46875, 2.0, 4.0, 5.0, 30.0, -30.0],
        dtype=torch.float64,
        requires_grad=True,
    )
    erf(xpt, x).sum().backward()
    expected = 2.0 / math.sqrt(math.pi) * np.exp(-(x.detach().numpy() ** 2))
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-14, atol=1e-300)


# ------------------------------------------------------------------------------------------
# CRPS of normal and logistic predictive distributions
# ------------------------------------------------------------------------------------------


def _phi(w):
    return np.exp(-0.5 * w * w) / math.sqrt(2.0 * math.pi)


def _Phi(w):  # noqa: N802
    return 0.5 * (1.0 + np.vectorize(math.erf)(w / math.sqrt(2.0)))


def test_crps_normal_hand():
    """scoringrules' docstring example, crps_normal(0.0, 0.1, 0.4) = 0.10339992515976162;
    w = 0: sigma (sqrt 2 - 1) / sqrt(pi)."""
    out = lb.crps_normal_loss(
        np.array([0.1, 3.0]), np.array([0.0, 3.0]), np.array([0.4, 2.0]), reduction="none"
    )
    expected = [0.10339992515976162, 2.0 * (math.sqrt(2.0) - 1.0) / math.sqrt(math.pi)]
    np.testing.assert_allclose(out, expected, rtol=1e-14)


def test_crps_logistic_hand():
    """scoringrules' docstring example, crps_logistic(0.0, 0.4, 0.1) = 0.3036299855835619;
    w = 0: sigma (2 log 2 - 1)."""
    out = lb.crps_logistic_loss(
        np.array([0.4, 1.0]), np.array([0.0, 1.0]), np.array([0.1, 3.0]), reduction="none"
    )
    np.testing.assert_allclose(out, [0.3036299855835619, 3.0 * (2 * math.log(2) - 1)], rtol=1e-14)


def test_crps_normal_closed_form_gradients(ad_backend):
    """d/dmu = 1 - 2 Phi(w), d/dsigma = 2 phi(w) - 1 / sqrt(pi), d/dy = 2 Phi(w) - 1."""
    w = (Y - MU) / SIGMA
    fn = lambda m, y, s: lb.crps_normal_loss(m, y, s, reduction="none")  # noqa: E731
    expected = [1.0 - 2.0 * _Phi(w), 2.0 * _Phi(w) - 1.0, 2.0 * _phi(w) - 1.0 / math.sqrt(math.pi)]
    for wrt in range(3):
        got = backend_grad(ad_backend, fn, [MU, Y, SIGMA], wrt)
        np.testing.assert_allclose(got, expected[wrt], rtol=1e-13, atol=1e-15)


def test_crps_logistic_closed_form_gradients(ad_backend):
    """d/dmu = 1 - 2 F(w), d/dsigma = 2 softplus(-|w|) + 2 |w| F(-|w|) - 1 (F the sigmoid)."""
    w = (Y - MU) / SIGMA
    F = 1.0 / (1.0 + np.exp(-w))  # noqa: N806
    a = np.abs(w)
    dsigma = 2.0 * np.log1p(np.exp(-a)) + 2.0 * a / (1.0 + np.exp(a)) - 1.0
    fn = lambda m, y, s: lb.crps_logistic_loss(m, y, s, reduction="none")  # noqa: E731
    for wrt, expected in ((0, 1.0 - 2.0 * F), (1, 2.0 * F - 1.0), (2, dsigma)):
        got = backend_grad(ad_backend, fn, [MU, Y, SIGMA], wrt)
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("name", ["crps_normal", "crps_logistic"])
def test_closed_form_gradients_match_scoringrules_torch(name):
    """scoringrules' torch backend makes its constants float32 tensors (``torch.asarray(
    torch.pi)``, ``sqrt(2.0)``: torch's default dtype), so its float64 crps_normal is off by a
    few 1e-8, absolute (measured 6.7e-8 here); its logistic has no such constant."""
    torch = pytest.importorskip("torch")
    rtol, atol = (0.0, 2e-7) if name == "crps_normal" else (1e-12, 1e-15)
    m, y, s = (torch.tensor(a, requires_grad=True) for a in (MU, Y, SIGMA))
    getattr(sr, name)(y, m, s, backend="torch").sum().backward()
    fn = lambda a, b, c: getattr(lb, f"{name}_loss")(a, b, c, reduction="none")  # noqa: E731
    for wrt, t in enumerate((m, y, s)):
        got = backend_grad(_driver("torch"), fn, [MU, Y, SIGMA], wrt)
        np.testing.assert_allclose(got, t.grad.numpy(), rtol=rtol, atol=atol)


def test_crps_logistic_far_tail_is_finite():
    """w = -800: scoringrules gives inf (exp overflows), the loss |d| - sigma + ..."""
    out = lb.crps_logistic_loss(
        np.array([800.0]), np.array([0.0]), np.array([1.0]), reduction="none"
    )
    np.testing.assert_allclose(out, [799.0], rtol=1e-15)
    with np.errstate(over="ignore", divide="ignore"):
        assert np.isinf(sr.crps_logistic(0.0, 800.0, 1.0, backend="numpy"))


@pytest.mark.parametrize("loss", [lb.crps_normal_loss, lb.crps_logistic_loss])
def test_scale_must_be_positive(loss):
    name = loss.__name__
    with pytest.raises(ValueError, match=rf"{name}: scale must be > 0 .*got 0.0"):
        loss(MU, Y, 0.0)
    bad = SIGMA.copy()
    bad[1, 2] = -0.5
    with pytest.raises(ValueError, match=rf"{name}: scale must be > 0 .*minimum of -0.5"):
        loss(MU, Y, bad)
    bad[1, 2] = np.nan  # NaN passes the check and gives NaN
    assert np.isnan(loss(MU, Y, bad))


def test_scale_broadcasts_and_float_scale():
    """A row of scales and a Python float scale broadcast like arrays (scoringrules)."""
    row = SIGMA[0]
    np.testing.assert_allclose(
        lb.crps_normal_loss(MU, Y, row, reduction="none"),
        sr.crps_normal(Y, MU, np.broadcast_to(row, Y.shape), backend="numpy"),
        rtol=1e-14,
    )
    np.testing.assert_allclose(
        lb.crps_logistic_loss(MU, Y, 0.7), np.mean(sr.crps_logistic(Y, MU, 0.7)), rtol=1e-14
    )


def test_traced_scale_is_not_checked():
    """Inside jax.jit the values cannot be read: a zero scale is not an error. Away from the
    mean it gives the point forecast's |y - mu| (w = inf, erf(inf) = 1); at it, 0 / 0 = NaN."""
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    fn = jax.jit(
        lambda s: lb.crps_normal_loss(jnp.zeros(2), jnp.array([2.5, 0.0]), s, reduction="none")
    )
    out = np.asarray(fn(jnp.zeros(2)))
    assert out[0] == 2.5 and np.isnan(out[1])


# ------------------------------------------------------------------------------------------
# Tweedie, Poisson and Gamma deviances
# ------------------------------------------------------------------------------------------

skl = pytest.importorskip("sklearn.metrics")

COUNTS = np.array([2.0, 0.0, 1.0, 4.0, 0.0, 7.0])
RATES = np.array([0.5, 0.5, 2.0, 2.0, 0.1, 6.0])
POS = np.array([2.0, 0.5, 1.0, 4.0, 0.3, 7.0])
W = np.array([1.0, 2.0, 0.5, 3.0, 0.25, 1.5])


def test_sklearn_docstring_examples():
    """mean_tweedie_deviance(power=1) 1.4260..., mean_gamma_deviance 1.0568... (sklearn's)."""
    y, mu = np.array([2.0, 0.0, 1.0, 4.0]), np.array([0.5, 0.5, 2.0, 2.0])
    assert float(lb.tweedie_deviance_loss(mu, y, power=1)) == pytest.approx(1.4260151319598084)
    assert float(lb.poisson_deviance_loss(mu, y)) == pytest.approx(1.4260151319598084)
    y = np.array([2.0, 0.5, 1.0, 4.0])
    assert float(lb.gamma_deviance_loss(mu, y)) == pytest.approx(1.0568528194400546)


@pytest.mark.parametrize("power", [-2.0, -1.0, -0.5, 0.0, 1.0, 1.2, 1.5, 1.9, 2.0, 2.5, 3.0, 4.0])
@pytest.mark.parametrize("weighted", [False, True])
def test_tweedie_matches_sklearn(power, weighted):
    y = COUNTS if 0 <= power < 2 else (POS if power >= 2 else COUNTS - 2.5)
    w = W if weighted else None
    expected = skl.mean_tweedie_deviance(y, RATES, sample_weight=w, power=power)
    got = lb.tweedie_deviance_loss(RATES, y, power=power, weight=w)
    assert float(got) == pytest.approx(expected, rel=1e-14)
    total = expected * (W.sum() if weighted else y.size)
    got = lb.tweedie_deviance_loss(RATES, y, power=power, weight=w, reduction="sum")
    assert float(got) == pytest.approx(total, rel=1e-14)


def test_tweedie_gradient_is_two_mu_to_minus_p_times_error(ad_backend):
    """d d_p / d mu = 2 mu^{-p} (mu - y) for every power (the GLM score)."""
    for power, y in ((0.0, COUNTS - 1), (1.0, COUNTS), (1.5, COUNTS), (2.0, POS), (3.0, POS)):
        fn = lambda m, t, p=power: lb.tweedie_deviance_loss(m, t, power=p, reduction="none")  # noqa: E731
        got = backend_grad(ad_backend, fn, [RATES, y], 0)
        np.testing.assert_allclose(got, 2.0 * RATES**-power * (RATES - y), rtol=1e-13)


def test_poisson_deviance_is_twice_torch_poisson_nll_plus_a_constant():
    """d = 2 poisson_nll(mu, y, log_input=False, eps=0) + 2 (y log y - y): torch's loss."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F  # noqa: N812

    mu = torch.tensor(RATES, requires_grad=True)
    nll = F.poisson_nll_loss(mu, torch.tensor(COUNTS), log_input=False, eps=0.0, reduction="none")
    ylogy = np.where(COUNTS > 0, COUNTS * np.log(np.where(COUNTS > 0, COUNTS, 1.0)), 0.0)
    expected = 2.0 * nll.detach().numpy() + 2.0 * (ylogy - COUNTS)
    got = lb.poisson_deviance_loss(torch.tensor(RATES), torch.tensor(COUNTS), reduction="none")
    np.testing.assert_allclose(to_numpy(got), expected, rtol=1e-13, atol=1e-14)
    nll.sum().backward()
    m2 = torch.tensor(RATES, requires_grad=True)
    lb.poisson_deviance_loss(m2, torch.tensor(COUNTS), reduction="sum").backward()
    np.testing.assert_allclose(m2.grad.numpy(), 2.0 * mu.grad.numpy(), rtol=1e-14)


def test_gamma_deviance_is_scale_invariant():
    c = 37.5
    expected = skl.mean_gamma_deviance(POS, RATES)
    assert float(lb.gamma_deviance_loss(c * RATES, c * POS)) == pytest.approx(expected, rel=1e-13)


@pytest.mark.parametrize(
    ("power", "mu", "y", "match"),
    [
        (-1.0, [1.0, 0.0], [-3.0, 1.0], r"power=-1.0 \(extreme stable\) input .* > 0; got a min"),
        (1.0, [1.0, 2.0], [-1.0, 1.0], r"power=1.0 \(Poisson\) target must be >= 0; got a min"),
        (1.0, [1.0, -2.0], [1.0, 1.0], r"power=1.0 \(Poisson\) input .* > 0"),
        (1.5, [1.0, 2.0], [-0.5, 1.0], r"power=1.5 \(compound Poisson-Gamma\) target must be >= 0"),
        (
            2.0,
            [1.0, 2.0],
            [0.0, 1.0],
            r"power=2.0 \(Gamma\) target must be > 0; got a minimum of 0",
        ),
        (3.0, [0.0, 2.0], [1.0, 1.0], r"power=3.0 \(inverse Gaussian\) input"),
        (2.5, [1.0, 2.0], [1.0, -1.0], r"power=2.5 \(positive stable\) target must be > 0"),
    ],
)
def test_tweedie_domain_errors_follow_sklearn(power, mu, y, match):
    mu, y = np.array(mu), np.array(y)
    with pytest.raises(ValueError, match="can only be used on"):
        skl.mean_tweedie_deviance(y, mu, power=power)  # scikit-learn refuses the same input
    with pytest.raises(ValueError, match="tweedie_deviance_loss: with " + match):
        lb.tweedie_deviance_loss(mu, y, power=power)


def test_domain_errors_name_each_loss():
    with pytest.raises(ValueError, match=r"^poisson_deviance_loss: with power=1.0 \(Poisson\)"):
        lb.poisson_deviance_loss(RATES, -COUNTS - 1)
    with pytest.raises(ValueError, match=r"^gamma_deviance_loss: with power=2.0 \(Gamma\) input"):
        lb.gamma_deviance_loss(-RATES, POS)


def test_normal_power_takes_any_sign():
    """power = 0 is the squared error: negative predictions and targets are fine."""
    mu, y = np.array([-1.0, 2.0, 0.0]), np.array([-3.0, -1.0, 0.5])
    assert float(lb.tweedie_deviance_loss(mu, y)) == pytest.approx(np.mean((y - mu) ** 2))


@pytest.mark.parametrize(
    ("power", "exc", "match"),
    [
        (0.5, ValueError, r"power must be <= 0 or >= 1 .*got 0.5"),
        (math.nan, ValueError, r"power must be finite"),
        (math.inf, ValueError, r"power must be finite"),
        (True, TypeError, r"power must be a real number"),
        ("1", TypeError, r"power must be a real number"),
    ],
)
def test_tweedie_power_errors(power, exc, match):
    with pytest.raises(exc, match="tweedie_deviance_loss: " + match):
        lb.tweedie_deviance_loss(RATES, COUNTS, power=power)


def test_weight_shape_error():
    with pytest.raises(ValueError, match=r"weight has shape \(3,\); expected the loss's shape"):
        lb.poisson_deviance_loss(RATES, COUNTS, weight=W[:3])


def test_traced_domain_is_not_checked():
    """Under jax.jit a negative count is not an error: its deviance is NaN."""
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    out = jax.jit(lambda m, y: lb.tweedie_deviance_loss(m, y, power=1.5))(
        jnp.asarray(RATES), jnp.asarray(-COUNTS - 1)
    )
    assert np.isnan(float(out))


# ------------------------------------------------------------------------------------------
# Global means: shards with denominator= add up to the full batch's mean
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loss", "args", "kwargs"),
    [
        (lb.crps_ensemble_loss, (ENS, OBS), {"estimator": "pwm"}),
        (lb.crps_normal_loss, (MU, Y, SIGMA), {}),
        (lb.crps_logistic_loss, (MU, Y, SIGMA), {}),
        (lb.tweedie_deviance_loss, (RATES, COUNTS), {"power": 1.5, "weight": W}),
        (lb.gamma_deviance_loss, (RATES, POS), {"weight": W}),
    ],
)
def test_shards_add_up_to_the_full_mean(loss, args, kwargs):
    shards = [slice(0, 1), slice(1, 3), slice(3, None)]

    def part(s):
        kw = {k: (v[s] if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
        return [a[s] for a in args], kw

    total = sum(lb.mean_denominator(loss, *part(s)[0], **part(s)[1]) for s in shards)
    n = args[0].shape[0] if "weight" not in kwargs else kwargs["weight"].sum()
    if loss in (lb.crps_normal_loss, lb.crps_logistic_loss):
        n = args[0].size
    assert float(total) == pytest.approx(n, rel=1e-15)
    pieces = [loss(*part(s)[0], **part(s)[1], denominator=total) for s in shards]
    full = {
        "crps_ensemble_loss": lambda: np.mean(sr.crps_ensemble(OBS, ENS, estimator="pwm")),
        "crps_normal_loss": lambda: np.mean(sr.crps_normal(Y, MU, SIGMA)),
        "crps_logistic_loss": lambda: np.mean(sr.crps_logistic(Y, MU, SIGMA)),
        "tweedie_deviance_loss": lambda: skl.mean_tweedie_deviance(
            COUNTS, RATES, sample_weight=W, power=1.5
        ),
        "gamma_deviance_loss": lambda: skl.mean_gamma_deviance(POS, RATES, sample_weight=W),
    }[loss.__name__]()
    assert float(sum(pieces)) == pytest.approx(full, rel=1e-13)


def _driver(name):
    from lossbridge.conformance.drivers import get_driver

    return get_driver(name)
