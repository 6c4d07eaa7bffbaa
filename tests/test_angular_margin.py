"""ArcFace, CosFace and MagFace vs plain float64 formulas, hand values and pytorch-metric-learning.

Expected values come from:

* float64 NumPy formulas written here, vectorised and in angle form (ArcFace's target logit as
  ``cos(arccos(c) + m)``, its guard as ``theta + m < pi``), independent of lossbridge and of the
  sample-by-sample references in ``lossbridge.conformance.extra_angular``;
* hand computations on a 2-class, 2-D example whose angles are multiples of 30 degrees;
* pytorch-metric-learning's ``ArcFaceLoss`` and ``CosFaceLoss`` (values and autograd);
* for MagFace, a torch transcription of ``IrvingMeng/MagFace`` ``MagLinear`` + ``MagLoss``
  (values and autograd).

Every case's value on every backend and dtype and the gradients against finite differences are
the conformance registry's (``conformance/extra_angular.py``); the tests here keep what it does
not check: hand values, the defaults, the reference implementations' values and gradients,
infinite-derivative points, edges, dtypes and bad input.
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
    ignore_fp_warnings,
    make,
    rounded,
    to_numpy,
)

from lossbridge.angular_margin import arcface_loss, cosface_loss, magface_loss
from lossbridge.conformance.references import reduce

REDUCTIONS = ("none", "mean", "sum")

# ------------------------------------------------------------------------------------------
# Plain float64 formulas (vectorised, angle form)
# ------------------------------------------------------------------------------------------


def np_cosines(x, w=None):
    if w is None:
        return np.clip(x, -1.0, 1.0)
    xn = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    wn = w / np.maximum(np.linalg.norm(w, axis=1, keepdims=True), 1e-12)
    return np.clip(xn @ wn.T, -1.0, 1.0)


def np_ce_rows(z, y):
    """-log softmax(z)[y] per row."""
    top = z.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(z - top).sum(axis=1))
    return lse - z[np.arange(len(y)), y]


def np_arc_target(c, m, easy_margin):
    theta = np.arccos(c)
    if easy_margin:
        return np.where(c > 0, np.cos(theta + m), c)
    return np.where(theta + m < np.pi, np.cos(theta + m), c - m * np.sin(m))


def np_replace_target(cos, y, value):
    z = cos.copy()
    z[np.arange(len(y)), y] = value
    return z


def np_arcface(x, y, w=None, scale=64.0, margin=0.5, easy_margin=False, reduction="mean"):
    cos = np_cosines(x, w)
    c = cos[np.arange(len(y)), y]
    z = scale * np_replace_target(cos, y, np_arc_target(c, margin, easy_margin))
    return reduce(np_ce_rows(z, y), reduction)


def np_cosface(x, y, w=None, scale=64.0, margin=0.35, reduction="mean"):
    cos = np_cosines(x, w)
    z = scale * (cos - margin * np.eye(cos.shape[1])[y])
    return reduce(np_ce_rows(z, y), reduction)


def np_magface(
    x,
    y,
    w,
    scale=64.0,
    lower_magnitude=10.0,
    upper_magnitude=110.0,
    lower_margin=0.45,
    upper_margin=0.8,
    lambda_g=35.0,
    easy_margin=True,
    reduction="mean",
):
    la, ua, lm, um = lower_magnitude, upper_magnitude, lower_margin, upper_margin
    a = np.clip(np.linalg.norm(x, axis=1), la, ua)
    m = lm + (um - lm) * (a - la) / (ua - la)
    cos = np_cosines(x, w)
    c = cos[np.arange(len(y)), y]
    z = scale * np_replace_target(cos, y, np_arc_target(c, m, easy_margin))
    g = 1.0 / a + a / ua**2
    return reduce(np_ce_rows(z, y) + lambda_g * g, reduction)


# ------------------------------------------------------------------------------------------
# Data: 8 samples, D = 5, C = 4 (one shape, so JAX's eager op cache stays warm)
# ------------------------------------------------------------------------------------------

_R = np.random.default_rng(20240604)
W = _R.standard_normal((4, 5))
Y = np.array([0, 1, 2, 3, 1, 0, 3, 2])
X = _R.standard_normal((8, 5))
# Rows 0-3 point away from their class centre (target cosine about -0.97: theta + m > pi for
# m > 0.25, the fallback branch), rows 4-7 towards it.
_UNITS = W / np.linalg.norm(W, axis=1, keepdims=True)
X_OPPOSED = np.where(np.arange(8)[:, None] < 4, -1.0, 1.0) * _UNITS[Y] + 0.25 * _R.standard_normal(
    (8, 5)
)
COS = _R.uniform(-0.95, 0.95, (8, 4))
MAGS = np.array([4.0, 12.5, 30.0, 57.0, 81.0, 104.0, 131.0, 9.0])
X_MAG = X * (MAGS / np.linalg.norm(X, axis=1))[:, None]


def test_data_reaches_the_fallback_region():
    """The opposed rows are past pi - m for m = 0.8 (and the others are not)."""
    c = np_cosines(X_OPPOSED, W)[np.arange(8), Y]
    theta = np.arccos(c)
    assert np.all(theta[:4] + 0.8 > np.pi + 0.05)
    assert np.all(theta[4:] + 0.8 < np.pi - 0.05)


# ------------------------------------------------------------------------------------------
# Hand values: 2 classes in 2-D, W = identity, angles multiples of 30 degrees
# ------------------------------------------------------------------------------------------

W2 = np.eye(2)
# sample 0: x = (sqrt 3, 1) (norm 2) at 30 deg: cos th0 = sqrt3/2 (th0 = pi/6), cos th1 = 1/2
# sample 1: x = (1, 0): cos th0 = 1, cos th1 = 0 (th1 = pi/2)
# sample 2: x = (-1, 0): cos th0 = -1 (th0 = pi), cos th1 = 0
X2 = np.array([[math.sqrt(3.0), 1.0], [1.0, 0.0], [-1.0, 0.0]])
Y2 = np.array([0, 1, 0])


def test_arcface_hand_values(backend):
    # s = 2, m = pi/6 (30 deg):
    # sample 0: target cos(pi/6 + pi/6) = cos(pi/3) = 1/2, other 1/2: logits (1, 1),
    #           loss = log 2
    # sample 1: target cos(pi/2 + pi/6) = cos(2pi/3) = -1/2, other cos th0 = 1: logits (2, -1),
    #           loss = log(e^2 + e^-1) + 1 = 3 + log(1 + e^-3)
    # sample 2: th0 + m = 7pi/6 > pi: fallback cos th0 - m sin m = -1 - (pi/6)(1/2) = -1 - pi/12,
    #           logits (-2 - pi/6, 0), loss = log(1 + e^(2 + pi/6))
    expected = [
        math.log(2.0),
        3.0 + math.log1p(math.exp(-3.0)),
        math.log1p(math.exp(2 + math.pi / 6)),
    ]
    out = arcface_loss(
        make(backend, X2),
        make(backend, Y2),
        make(backend, W2),
        scale=2.0,
        margin=math.pi / 6,
        reduction="none",
    )
    assert_close(out, expected, 1e-14)
    # easy margin: the margin applies only where cos th_y > 0 (strictly). Sample 0 unchanged;
    # sample 1 (cos th1 = 0) keeps cos th1 = 0: logits (2, 0), loss = log(1 + e^2);
    # sample 2 (cos th0 = -1) keeps cos th0: logits (-2, 0), loss = log(1 + e^2)
    expected[1] = expected[2] = math.log1p(math.exp(2.0))
    out = arcface_loss(
        make(backend, X2),
        make(backend, Y2),
        make(backend, W2),
        scale=2.0,
        margin=math.pi / 6,
        easy_margin=True,
        reduction="none",
    )
    assert_close(out, expected, 1e-14)


def test_arcface_hand_values_cosine_logits(backend):
    # the cosines of test_arcface_hand_values given directly, mean of the three losses
    cos = np.array([[math.sqrt(3.0) / 2, 0.5], [1.0, 0.0], [-1.0, 0.0]])
    expected = (
        math.log(2.0) + 3.0 + math.log1p(math.exp(-3.0)) + math.log1p(math.exp(2 + math.pi / 6))
    ) / 3
    out = arcface_loss(make(backend, cos), make(backend, Y2), scale=2.0, margin=math.pi / 6)
    assert_close(out, expected, 1e-14)


def test_cosface_hand_values(backend):
    # s = 2, m = 1/4:
    # sample 0: logits 2 (sqrt3/2 - 1/4, 1/2) = (sqrt3 - 1/2, 1), loss = log(1 + e^(3/2 - sqrt3))
    # sample 1: logits 2 (1, 0 - 1/4) = (2, -1/2), loss = log(1 + e^(5/2))
    # sample 2: logits 2 (-1 - 1/4, 0) = (-5/2, 0), loss = log(1 + e^(5/2))
    expected = [
        math.log1p(math.exp(1.5 - math.sqrt(3.0))),
        math.log1p(math.exp(2.5)),
        math.log1p(math.exp(2.5)),
    ]
    out = cosface_loss(
        make(backend, X2),
        make(backend, Y2),
        make(backend, W2),
        scale=2.0,
        margin=0.25,
        reduction="none",
    )
    assert_close(out, expected, 1e-14)
    out = cosface_loss(
        make(backend, X2),
        make(backend, Y2),
        make(backend, W2),
        scale=2.0,
        margin=0.25,
        reduction="sum",
    )
    assert_close(out, sum(expected), 1e-14)


def test_magface_hand_values(backend):
    # l_a = 1, u_a = 3, l_m = 0, u_m = pi/3: m(a) = (pi/3)(a - 1)/2; s = 2, lambda_g = 1.8
    # sample 0: x = (sqrt3, 1), |x| = 2, m = pi/6; target cos(pi/6 + pi/6) = 1/2 (cos th0 > 0),
    #           other 1/2: CE = log 2; g(2) = 1/2 + 2/9 = 13/18, 1.8 g = 1.3
    # sample 1: x = (0, 5), |x| = 5 clamped to 3, m = pi/3; y = 1, cos th1 = 1:
    #           target cos(pi/3) = 1/2, other 0: logits (0, 1), CE = log(1 + e^-1);
    #           g(3) = 1/3 + 3/9 = 2/3, 1.8 g = 1.2
    x = np.array([[math.sqrt(3.0), 1.0], [0.0, 5.0]])
    y = np.array([0, 1])
    expected = [math.log(2.0) + 1.3, math.log1p(math.exp(-1.0)) + 1.2]
    kw = dict(
        scale=2.0,
        lower_magnitude=1.0,
        upper_magnitude=3.0,
        lower_margin=0.0,
        upper_margin=math.pi / 3,
        lambda_g=1.8,
    )
    out = magface_loss(
        make(backend, x), make(backend, y), make(backend, W2), reduction="none", **kw
    )
    assert_close(out, expected, 1e-14)
    out = magface_loss(make(backend, x), make(backend, y), make(backend, W2), **kw)
    assert_close(out, sum(expected) / 2, 1e-14)


# ------------------------------------------------------------------------------------------
# Values on every backend, both dtypes, every reduction, against the float64 formulas: the
# registry's cases (conformance/extra_angular.py) take embeddings, cosine logits, the fallback
# region, the easy margin, MagFace's magnitudes and the defaults; a negative CosFace margin here
# ------------------------------------------------------------------------------------------

CASES = {
    "cosface_cosines": (cosface_loss, np_cosface, COS, None, dict(scale=4.0, margin=-0.1)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(CASES))
def test_values(backend, dtype, name):
    fn, ref, x, w, kw = CASES[name]
    x, w = rounded(x, dtype), None if w is None else rounded(w, dtype)
    args = [make(backend, x, dtype), make(backend, Y)]
    if w is not None:
        args.append(make(backend, w, dtype))
    for reduction in REDUCTIONS:
        out = fn(*args, reduction=reduction, **kw)
        expected = ref(x, Y, w, reduction=reduction, **kw)
        assert_result(out, backend, dtype, np.shape(expected))
        # norm-wise: a per-sample loss near 0 (log(1 + small)) carries the absolute rounding
        # error of log-sum-exp minus the target logit, about eps * |logits|
        assert_close(out, expected, RTOL[dtype], atol=RTOL[dtype] * np.max(np.abs(expected)))


def test_default_parameters():
    """The defaults are the papers' / reference repositories' (checked against the formulas)."""
    assert_close(arcface_loss(X, Y, W), np_arcface(X, Y, W, scale=64.0, margin=0.5), 1e-12)
    assert_close(cosface_loss(X, Y, W), np_cosface(X, Y, W, scale=64.0, margin=0.35), 1e-12)
    expected = np_magface(
        X_MAG,
        Y,
        W,
        scale=64.0,
        lower_magnitude=10.0,
        upper_magnitude=110.0,
        lower_margin=0.45,
        upper_margin=0.8,
        lambda_g=35.0,
        easy_margin=True,
    )
    assert_close(magface_loss(X_MAG, Y, W), expected, 1e-12)


# ------------------------------------------------------------------------------------------
# pytorch-metric-learning (ArcFaceLoss: margin in degrees, W stored (D, C))
# ------------------------------------------------------------------------------------------


def _pml(cls_name, w, margin, scale, reduction):
    torch = pytest.importorskip("torch")
    pml = pytest.importorskip("pytorch_metric_learning")
    from pytorch_metric_learning import losses, reducers

    del pml
    reducer = {
        "mean": reducers.MeanReducer(),
        "sum": reducers.SumReducer(),
        "none": reducers.DoNothingReducer(),
    }[reduction]
    loss = getattr(losses, cls_name)(
        num_classes=w.shape[0],
        embedding_size=w.shape[1],
        margin=margin,
        scale=scale,
        reducer=reducer,
    )
    loss.W.data = torch.tensor(np.ascontiguousarray(w.T))  # PML's weight is (D, C)
    return torch, loss


def _pml_run(cls_name, x, w, margin, scale, reduction):
    """PML's value and its autograd gradients w.r.t. the embeddings and our (C, D) weight."""
    torch, loss = _pml(cls_name, w, margin, scale, reduction)
    xt = torch.tensor(x, requires_grad=True)
    out = loss(xt, torch.tensor(Y))
    if reduction == "none":
        out = out["loss"]["losses"]
    out.sum().backward()
    return out.detach().numpy(), xt.grad.numpy(), loss.W.grad.numpy().T


def _ours_torch(fn, x, w, reduction, **kw):
    torch = pytest.importorskip("torch")
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(w, requires_grad=True)
    out = fn(xt, torch.tensor(Y), wt, reduction=reduction, **kw)
    out.sum().backward()
    return out.detach().numpy(), xt.grad.numpy(), wt.grad.numpy()


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(
    ("x", "margin", "scale"),
    [(X, 0.5, 64.0), (X, 0.3, 4.0), (X_OPPOSED, 0.8, 8.0), (X_OPPOSED, 1.2, 64.0)],
    ids=["defaults", "small", "fallback", "fallback64"],
)
def test_arcface_vs_pml(x, margin, scale, reduction):
    """PML ``ArcFaceLoss(margin=np.degrees(m), scale=s)`` with ``W = weight.T``.

    PML (2.9) computes theta = acos(clamp(cos)) and uses the same guard as InsightFace
    (``theta <= pi - m``: cos(theta + m), else cos(theta) - m sin(m)), so the fallback rows
    (X_OPPOSED, theta + m > pi) agree too. Values and gradients (both arguments).
    """
    exp_v, exp_gx, exp_gw = _pml_run(
        "ArcFaceLoss", x, W, float(np.degrees(margin)), scale, reduction
    )
    got_v, got_gx, got_gw = _ours_torch(arcface_loss, x, W, reduction, scale=scale, margin=margin)
    np.testing.assert_allclose(got_v, exp_v, rtol=1e-12)
    np.testing.assert_allclose(got_gx, exp_gx, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got_gw, exp_gw, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize(("margin", "scale"), [(0.35, 64.0), (0.2, 4.0)])
def test_cosface_vs_pml(margin, scale, reduction):
    """PML ``CosFaceLoss(margin=m, scale=s)`` with ``W = weight.T``: values and gradients."""
    exp_v, exp_gx, exp_gw = _pml_run("CosFaceLoss", X, W, margin, scale, reduction)
    got_v, got_gx, got_gw = _ours_torch(cosface_loss, X, W, reduction, scale=scale, margin=margin)
    np.testing.assert_allclose(got_v, exp_v, rtol=1e-12)
    np.testing.assert_allclose(got_gx, exp_gx, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got_gw, exp_gw, rtol=1e-9, atol=1e-12)


# ------------------------------------------------------------------------------------------
# MagFace: a torch transcription of IrvingMeng/MagFace (MagLinear + MagLoss + trainer)
# ------------------------------------------------------------------------------------------


def magface_torch(x, y, weight_dc, l_a, u_a, l_m, u_m, lambda_g, scale, easy_margin):
    """``models/magface.py`` (weight (D, C) as there) and ``loss_id + lambda_g * loss_g``."""
    import torch
    import torch.nn.functional as F

    x_norm = torch.norm(x, dim=1, keepdim=True).clamp(l_a, u_a)
    ada_margin = (u_m - l_m) / (u_a - l_a) * (x_norm - l_a) + l_m
    cos_m, sin_m = torch.cos(ada_margin), torch.sin(ada_margin)
    cos_theta = torch.mm(F.normalize(x), F.normalize(weight_dc, dim=0)).clamp(-1, 1)
    sin_theta = torch.sqrt(1.0 - torch.pow(cos_theta, 2))
    cos_theta_m = cos_theta * cos_m - sin_theta * sin_m
    if easy_margin:
        cos_theta_m = torch.where(cos_theta > 0, cos_theta_m, cos_theta)
    else:
        mm = torch.sin(math.pi - ada_margin) * ada_margin
        threshold = torch.cos(math.pi - ada_margin)
        cos_theta_m = torch.where(cos_theta > threshold, cos_theta_m, cos_theta - mm)
    cos_theta_m, cos_theta = scale * cos_theta_m, scale * cos_theta
    one_hot = torch.zeros_like(cos_theta)
    one_hot.scatter_(1, y.view(-1, 1), 1.0)
    output = one_hot * cos_theta_m + (1.0 - one_hot) * cos_theta
    loss_id = F.cross_entropy(output, y, reduction="mean")
    loss_g = torch.mean(1 / (u_a**2) * x_norm + 1 / x_norm)
    return loss_id + lambda_g * loss_g


@pytest.mark.parametrize(
    ("x", "easy_margin", "scale"),
    [
        (X_MAG, True, 64.0),
        (X_MAG, False, 8.0),
        (X_OPPOSED * 20, False, 64.0),
        (X_OPPOSED * 50, True, 8.0),
    ],
)
def test_magface_vs_reference_transcription(x, easy_margin, scale):
    """Values and gradients (embeddings and weight) of MagFace's own code, in torch float64."""
    torch = pytest.importorskip("torch")
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(np.ascontiguousarray(W.T), requires_grad=True)
    exp = magface_torch(xt, torch.tensor(Y), wt, 10.0, 110.0, 0.45, 0.8, 35.0, scale, easy_margin)
    exp.backward()
    got_v, got_gx, got_gw = _ours_torch(
        magface_loss, x, W, "mean", scale=scale, easy_margin=easy_margin
    )
    np.testing.assert_allclose(got_v, exp.item(), rtol=1e-12)
    np.testing.assert_allclose(got_gx, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(got_gw, wt.grad.numpy().T, rtol=1e-9, atol=1e-12)


def test_magface_none_is_ce_plus_g_per_sample():
    """'none': CE_n + lambda_g g(a_n); its mean is 'mean' and its sum 'sum'."""
    per = magface_loss(X_MAG, Y, W, scale=4.0, lambda_g=2.0, reduction="none")
    a = np.clip(np.linalg.norm(X_MAG, axis=1), 10.0, 110.0)
    ce = np_magface(X_MAG, Y, W, scale=4.0, lambda_g=0.0, reduction="none")
    assert_close(per, ce + 2.0 * (1.0 / a + a / 110.0**2), 1e-12)
    assert_close(magface_loss(X_MAG, Y, W, scale=4.0, lambda_g=2.0), per.mean(), 1e-12)
    assert_close(
        magface_loss(X_MAG, Y, W, scale=4.0, lambda_g=2.0, reduction="sum"), per.sum(), 1e-12
    )


# ------------------------------------------------------------------------------------------
# Gradients where the sine's derivative is infinite (finite differences of the formulas in the
# embeddings, weight and cosine logits: the registry's grad_fd check)
# ------------------------------------------------------------------------------------------


def test_gradient_finite_at_cosine_plus_minus_one(ad_backend):
    """At cos theta_y = +-1, d sin / d cos is infinite (InsightFace: inf at +1, NaN at -1).

    Here the gradient stays finite.

    Sample 1 of the hand example has cos th_y = 1 and sample 2 cos th_y = -1. With the sine's
    gradient taken as 0 there, d psi / d cos = cos m (sample 1; fallback: 1 for sample 2).
    """
    cos = np.array([[math.sqrt(3.0) / 2, 0.5], [0.0, 1.0], [-1.0, 0.0]])
    m, s = 0.5, 2.0
    g = backend_grad(ad_backend, lambda c, y: arcface_loss(c, y, scale=s, margin=m), [cos, Y2], 0)
    assert np.all(np.isfinite(g))
    # sample 1: psi = cos m (cos th1 = 1), d loss_1 / d psi = s (p_1 - 1) / 3 (mean of 3)
    z = s * np.array([0.0, math.cos(m)])
    p = np.exp(z - z.max()) / np.exp(z - z.max()).sum()
    assert g[1, 1] == pytest.approx(s * (p[1] - 1.0) / 3 * math.cos(m), rel=1e-12)
    gm = backend_grad(
        ad_backend,
        lambda x, y, w: magface_loss(x, y, w, scale=s, easy_margin=False),
        [np.array([[20.0, 0.0], [0.0, 30.0], [-40.0, 0.0]]), Y2, W2],
        0,
    )
    assert np.all(np.isfinite(gm))


# ------------------------------------------------------------------------------------------
# Edge behaviour
# ------------------------------------------------------------------------------------------


@ignore_fp_warnings
@pytest.mark.parametrize("fn", [arcface_loss, cosface_loss, magface_loss])
def test_empty_batch(backend, fn):
    """No samples: 'none' is empty, 'sum' 0, 'mean' NaN (torch's cross_entropy)."""
    x = make(backend, np.zeros((0, 5)))
    y = make(backend, np.zeros(0, np.int64))
    w = make(backend, W)
    assert to_numpy(fn(x, y, w, reduction="none")).shape == (0,)
    assert float(to_numpy(fn(x, y, w, reduction="sum"))) == 0.0
    assert math.isnan(float(to_numpy(fn(x, y, w))))


def test_absent_classes_and_zero_vectors():
    """A class no sample has still enters every softmax; a zero embedding has cosine 0."""
    x = X.copy()
    x[3] = 0.0
    y = np.array([0, 0, 1, 1, 0, 1, 0, 1])  # classes 2 and 3 absent
    for fn, ref in ((arcface_loss, np_arcface), (cosface_loss, np_cosface)):
        assert_close(
            fn(x, y, W, scale=4.0, reduction="none"),
            ref(x, y, W, scale=4.0, reduction="none"),
            1e-12,
        )
    # zero embedding, cosface: logits 4 (0 - m, 0, 0, 0), loss = log(3 + e^(-4m)) + 4m
    m = 0.35
    expected = math.log(3.0 + math.exp(-4 * m)) + 4 * m
    assert_close(cosface_loss(x, y, W, scale=4.0, margin=m, reduction="none")[3], expected, 1e-12)
    # magface: |0| is clamped to l_a (g = 1/10 + 10/110^2), cosines 0 (easy margin keeps 0)
    g = 0.1 + 10.0 / 110.0**2
    expected = math.log(4.0) + 35.0 * g
    assert_close(magface_loss(x, y, W, scale=4.0, reduction="none")[3], expected, 1e-12)
    torch = pytest.importorskip("torch")
    xt = torch.tensor(x, requires_grad=True)
    arcface_loss(xt, torch.tensor(y), torch.tensor(W), scale=4.0).backward()
    assert torch.isfinite(xt.grad).all()


def test_cosine_logits_slightly_outside_are_clamped():
    """Cosines up to 1e-3 past +-1 (rounding) are clamped; further out is an error."""
    cos = np.array([[1.0 + 5e-4, 0.2], [-1.0 - 5e-4, 0.1]])
    y = np.array([0, 0])
    assert_close(
        arcface_loss(cos, y, scale=2.0), np_arcface(np.clip(cos, -1, 1), y, scale=2.0), 1e-12
    )
    with pytest.raises(ValueError, match=r"input must have cosine similarities .* got values in"):
        arcface_loss(np.array([[1.5, 0.2]]), np.array([0]))
    with pytest.raises(ValueError, match="input must have cosine similarities"):
        cosface_loss(np.array([[2.3, -4.0]]), np.array([1]))


@pytest.mark.parametrize("fn", [arcface_loss, cosface_loss, magface_loss])
def test_dtype_preserved_and_promoted(fn):
    torch = pytest.importorskip("torch")
    x32, w32 = torch.tensor(X_MAG, dtype=torch.float32), torch.tensor(W, dtype=torch.float32)
    y = torch.tensor(Y)
    assert fn(x32, y, w32).dtype == torch.float32
    assert fn(x32.double(), y, w32.double()).dtype == torch.float64
    assert fn(x32, y, w32.double()).dtype == torch.float64  # promoted, as torch does
    assert fn(x32, Y.tolist(), W).dtype == torch.float32  # host data takes input's dtype


def test_compiled_matches_formula():
    """One compiled call per loss (jax.jit: target values not checked while tracing)."""
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    y, w = jnp.asarray(Y), jnp.asarray(W)
    for fn, ref, x in (
        (arcface_loss, np_arcface, X),
        (cosface_loss, np_cosface, X),
        (magface_loss, np_magface, X_MAG),
    ):
        f = jax.jit(lambda a, b, c, fn=fn: fn(a, b, c, scale=4.0))
        assert_close(f(jnp.asarray(x), y, w), ref(x, Y, W, scale=4.0), 1e-12)


# ------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "args", "kwargs", "exc", "match"),
    [
        (arcface_loss, (X, Y.astype(float), W), {}, TypeError, "target must have an integer dtype"),
        (
            arcface_loss,
            (X, np.array([0, 1, 2, 4, 0, 0, 0, 0]), W),
            {},
            ValueError,
            "target holds class index 4",
        ),
        (
            arcface_loss,
            (X, np.array([0, 1, -100, 1, 0, 0, 0, 0]), W),
            {},
            ValueError,
            "target holds class index -100",
        ),
        (
            arcface_loss,
            (X, Y[:5], W),
            {},
            ValueError,
            r"target has shape \(5,\) .* expected class indices of shape \(8,\)",
        ),
        (arcface_loss, (X, Y, W[:, :3]), {}, ValueError, r"weight has shape \(4, 3\) .* \(C, 5\)"),
        (
            arcface_loss,
            (X[0], Y[:1], W),
            {},
            ValueError,
            r"input has shape \(5,\); expected embeddings \(N, D\)",
        ),
        (
            arcface_loss,
            (COS[0], Y[:1]),
            {},
            ValueError,
            r"input has shape \(4,\); expected cosine logits",
        ),
        (
            arcface_loss,
            (X, Y, W),
            {"margin": math.pi},
            ValueError,
            r"arcface_loss: margin must be < pi \(an angle in radians in \[0, pi\)",
        ),
        (arcface_loss, (X, Y, W), {"margin": 28.6}, ValueError, "math.radians"),
        (arcface_loss, (X, Y, W), {"margin": -0.1}, ValueError, r"margin must be >= 0 \(an angle"),
        (arcface_loss, (X, Y, W), {"scale": 0.0}, ValueError, "scale must be > 0"),
        (arcface_loss, (X, Y, W), {"scale": "64"}, TypeError, "scale must be a real number"),
        (
            arcface_loss,
            (X, Y, W),
            {"easy_margin": 1},
            TypeError,
            "easy_margin must be True or False",
        ),
        (arcface_loss, (X, Y, W), {"reduction": "batchmean"}, ValueError, "reduction='batchmean'"),
        (
            arcface_loss,
            (X.astype(int), Y, W),
            {},
            TypeError,
            "input must have a real floating dtype",
        ),
        (
            arcface_loss,
            (X, Y, W.astype(int)),
            {},
            TypeError,
            "weight must have a real floating dtype",
        ),
        (cosface_loss, (X, Y, W), {"margin": math.inf}, ValueError, "margin must be finite"),
        (cosface_loss, (X, Y, W), {"scale": -1.0}, ValueError, "scale must be > 0"),
        (magface_loss, (X, Y, None), {}, TypeError, r"magface_loss: weight .* is required"),
        (magface_loss, (X, Y), {}, TypeError, "weight"),
        (
            magface_loss,
            (X, Y, W),
            {"lower_magnitude": 110.0},
            ValueError,
            "upper_magnitude must be greater than lower_magnitude",
        ),
        (
            magface_loss,
            (X, Y, W),
            {"lower_magnitude": 0.0},
            ValueError,
            "lower_magnitude must be > 0",
        ),
        (
            magface_loss,
            (X, Y, W),
            {"upper_margin": 4.0},
            ValueError,
            r"upper_margin must be < pi \(an angle",
        ),
        (
            magface_loss,
            (X, Y, W),
            {"lower_margin": -0.1},
            ValueError,
            r"lower_margin must be >= 0 \(an angle",
        ),
        (magface_loss, (X, Y, W), {"lambda_g": math.nan}, ValueError, "lambda_g must be finite"),
    ],
)
def test_bad_input(fn, args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fn(*args, **kwargs)
