"""Classification losses beyond the frameworks: focal, Poly-1, generalized CE and the hinges.

Expected values come from float64 NumPy formulas written here (vectorised, from the papers'
definitions), from hand computations in comments, from ``torch.nn.functional`` where a special
case is a torch loss (``gamma=0`` focal and ``epsilon=0`` Poly-1 are ``cross_entropy``;
``hinge_loss(x, y)`` is ``margin_ranking_loss(x, 0, y, margin=1)``) and from the other
libraries that have the loss (Keras 3, optax, MONAI), their conventions converted as each test
says. Never from lossbridge itself.
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
    torch_f,
    torch_grad,
)

from lossbridge import classification as lc
from lossbridge.classification import (
    categorical_hinge_loss,
    generalized_cross_entropy,
    hinge_loss,
    poly1_cross_entropy,
    softmax_focal_loss,
    squared_hinge_loss,
)

REDUCTIONS = ("none", "mean", "sum")
NEW = (
    "softmax_focal_loss",
    "poly1_cross_entropy",
    "generalized_cross_entropy",
    "hinge_loss",
    "squared_hinge_loss",
    "categorical_hinge_loss",
)

# ------------------------------------------------------------------------------------------
# Data: (4, 3) logits and (2, 3, 2, 2) spatial logits (shared shapes keep JAX's op cache warm)
# ------------------------------------------------------------------------------------------

RNG = np.random.default_rng(2024)
X = RNG.normal(scale=1.5, size=(4, 3))
Y = np.array([2, 0, 1, 1])
Y_IGN = np.array([2, -100, 1, 0])
XS = RNG.normal(scale=1.5, size=(2, 3, 2, 2))
YS = RNG.integers(0, 3, size=(2, 2, 2))
YS_IGN = YS.copy()
YS_IGN[0, 1, 0] = -100
P = np.exp(RNG.normal(size=(4, 3)))
P /= P.sum(axis=1, keepdims=True)  # probability targets, (4, 3)
W = np.array([0.5, 2.0, 1.5])  # class weights / alpha vector
PM = np.array([[1.0, -1.0, 1.0], [-1.0, -1.0, 1.0], [1.0, 1.0, -1.0], [-1.0, 1.0, 1.0]])
T01 = (PM + 1.0) / 2.0


def on(backend, dtype, *arrays):
    return [None if a is None else make(backend, a, dtype) for a in arrays]


def check(out, expected, backend, dtype, rtol=None):
    assert_result(out, backend, dtype, np.shape(expected))
    assert_close(out, expected, RTOL[dtype] if rtol is None else rtol, atol=1e-300)


# ------------------------------------------------------------------------------------------
# Plain float64 formulas (class axis 1, items on the other axes)
# ------------------------------------------------------------------------------------------


def np_log_softmax(x):
    x = np.asarray(x, dtype=np.float64)
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


def np_onehot(y, c, ignore_index=-100):
    """(N, C, d...) one-hot rows of index targets (N, d...), zero rows where ignored."""
    valid = y != ignore_index
    oh = np.eye(c)[np.where(valid, y, 0)] * valid[..., None]
    return np.moveaxis(oh, -1, 1), valid


def np_reduce(loss, reduction, denom=None):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    with np.errstate(invalid="ignore"):
        return loss.sum() / (loss.size if denom is None else denom)


def np_focal(x, t, alpha=None, gamma=2.0, ignore_index=-100, reduction="mean"):
    logp = np_log_softmax(x)
    c = x.shape[1]
    if t.dtype.kind == "f":
        t1, valid = t, np.ones(t.shape[:1] + t.shape[2:], bool)
    else:
        t1, valid = np_onehot(t, c, ignore_index)
    a = np.ones(c) if alpha is None else np.broadcast_to(np.asarray(alpha, float), (c,))
    a = a.reshape((1, c) + (1,) * (x.ndim - 2))
    loss = -np.sum(a * t1 * (1.0 - np.exp(logp)) ** gamma * logp, axis=1)
    return np_reduce(loss, reduction, valid.sum())


def np_poly1(
    x, t, epsilon=1.0, label_smoothing=0.0, weight=None, ignore_index=-100, reduction="mean"
):
    logp = np_log_softmax(x)
    c = x.shape[1]
    w = np.ones(c) if weight is None else np.asarray(weight, float)
    wb = w.reshape((1, c) + (1,) * (x.ndim - 2))
    if t.dtype.kind == "f":
        t1, valid = t, np.ones(t.shape[:1] + t.shape[2:], bool)
        denom = valid.sum()
    else:
        t1, valid = np_onehot(t, c, ignore_index)
        denom = np.sum(np.where(valid, w[np.where(valid, t, 0)], 0.0))
    ts = ((1.0 - label_smoothing) * t1 + label_smoothing / c) * np.expand_dims(valid, 1)
    loss = np.sum(wb * ts * (-logp + epsilon * (1.0 - np.exp(logp))), axis=1)
    return np_reduce(loss, reduction, denom)


def np_gce(x, y, q=0.7, ignore_index=-100, reduction="mean"):
    t1, valid = np_onehot(y, x.shape[1], ignore_index)
    p_y = np.sum(t1 * np.exp(np_log_softmax(x)), axis=1)
    loss = np.where(valid, (1.0 - p_y**q) / q, 0.0)
    return np_reduce(loss, reduction, valid.sum())


def np_hinge(x, y, zero_one=False, square=False, reduction="mean"):
    y = 2.0 * y - 1.0 if zero_one else y
    h = np.maximum(0.0, 1.0 - y * x)
    return np_reduce(h * h if square else h, reduction)


def np_cs_hinge(x, y, reduction="mean"):
    """Crammer-Singer with index targets: max(0, 1 + max_{j != y} x_j - x_y)."""
    t1, _ = np_onehot(y, x.shape[1])
    x_y = np.sum(t1 * x, axis=1)
    others = np.where(t1 > 0, -np.inf, x).max(axis=1)
    return np_reduce(np.maximum(0.0, 1.0 + others - x_y), reduction)


def np_keras_cat_hinge(x, t, reduction="mean"):
    pos = np.sum(t * x, axis=1)
    neg = np.max((1.0 - t) * x, axis=1)
    return np_reduce(np.maximum(0.0, neg - pos + 1.0), reduction)


def fd_grad(f, x, h=1e-6):
    """Central finite difference of sum(f(x)) (float64)."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        xp_, xm = x.copy(), x.copy()
        xp_[i] += h
        xm[i] -= h
        g[i] = (np.sum(f(xp_)) - np.sum(f(xm))) / (2 * h)
    return g


def test_exported_from_module():
    for name in NEW:
        assert name in lc.__all__
        assert callable(getattr(lc, name))


# ------------------------------------------------------------------------------------------
# softmax_focal_loss
# ------------------------------------------------------------------------------------------

FOCAL_CASES = {
    "index": (X, Y, {}),
    "index_alpha_vector_ignore": (X, Y_IGN, {"alpha": W, "gamma": 1.5}),
    "index_scalar_alpha": (X, Y, {"alpha": 0.25, "gamma": 3.0}),
    "probs_alpha_vector": (X, P, {"alpha": W, "gamma": 0.5}),
    "spatial_ignore": (XS, YS_IGN, {"gamma": 1.0}),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(FOCAL_CASES))
def test_focal_values(backend, dtype, case):
    x, t, kw = FOCAL_CASES[case]
    x, t = rounded(x, dtype), rounded(t, dtype)
    alpha = kw.get("alpha")
    if isinstance(alpha, np.ndarray):
        alpha = rounded(alpha, dtype)
    xb, tb = on(backend, dtype, x, t)
    ab = make(backend, alpha, dtype) if isinstance(alpha, np.ndarray) else alpha
    for reduction in REDUCTIONS:
        out = softmax_focal_loss(xb, tb, **{**kw, "alpha": ab}, reduction=reduction)
        check(out, np_focal(x, t, **{**kw, "alpha": alpha}, reduction=reduction), backend, dtype)


def test_focal_hand():
    """Logits [0, ln 3]: p = [1/4, 3/4].

    Label 1, gamma 2: (1 - 3/4)^2 * -ln(3/4) = 0.0625 * 0.2876821 = 0.01798013.
    Label 0, gamma 2, alpha [0.5, 2]: 0.5 * (3/4)^2 * ln 4 = 0.5 * 0.5625 * 1.3862944 = 0.3898953.
    """
    x = np.array([[0.0, math.log(3.0)], [0.0, math.log(3.0)]])
    out = softmax_focal_loss(x, np.array([1, 0]), alpha=np.array([0.5, 2.0]), reduction="none")
    np.testing.assert_allclose(out, [2.0 * 0.0625 * -math.log(0.75), 0.5 * 0.5625 * math.log(4)])
    np.testing.assert_allclose(softmax_focal_loss(x[:1], np.array([1])), 0.01798013, rtol=1e-7)


@pytest.mark.parametrize(
    ("x", "t", "kw"),
    [
        (X, Y_IGN, {}),
        (XS, YS_IGN, {"reduction": "none"}),
        (X, P, {"reduction": "sum"}),
    ],
    ids=["index_ignore", "spatial", "probs"],
)
def test_focal_gamma0_is_cross_entropy(backend, x, t, kw):
    """gamma = 0 without alpha is torch's cross_entropy (index, spatial, probability targets)."""
    xb, tb = on(backend, "float64", x, t)
    out = softmax_focal_loss(xb, tb, gamma=0.0, **kw)
    assert_close(out, torch_f("cross_entropy", x, t, **kw), 1e-12)


def test_focal_keras():
    """Keras 3 categorical_focal_crossentropy: one-hot rows, from_logits=True, classes last.

    Keras returns the per-sample loss; lossbridge's 'mean' is Keras's default
    sum_over_batch_size. alpha: Keras's scalar is the same for every class, its list one per
    class; ``alpha=1.0`` in Keras is ``alpha=None`` here.
    """
    keras = pytest.importorskip("keras")
    oh = np.eye(3)[Y]
    for alpha_lb, alpha_k in ((None, 1.0), (0.25, 0.25), (W, W)):
        for gamma in (2.0, 0.5):
            want = np.asarray(
                keras.losses.categorical_focal_crossentropy(
                    oh, X, alpha=alpha_k, gamma=gamma, from_logits=True
                )
            )
            got = softmax_focal_loss(X, Y, alpha=alpha_lb, gamma=gamma, reduction="none")
            np.testing.assert_allclose(got, want, rtol=1e-12)
            got_probs = softmax_focal_loss(X, P, alpha=alpha_lb, gamma=gamma, reduction="none")
            want_probs = keras.losses.categorical_focal_crossentropy(
                P, X, alpha=alpha_k, gamma=gamma, from_logits=True
            )
            np.testing.assert_allclose(got_probs, np.asarray(want_probs), rtol=1e-12)
    cls = keras.losses.CategoricalFocalCrossentropy(alpha=0.25, from_logits=True)
    assert_close(softmax_focal_loss(X, Y, alpha=0.25), float(cls(oh, X)), 2e-6)  # float32 class


def test_focal_monai():
    """MONAI FocalLoss(use_softmax=True, to_onehot_y=True): targets (N, 1, ...), per-class terms.

    MONAI's 'none' is (N, C, ...): summed over classes it is this loss per item; its 'mean'
    averages the N*C terms (this loss / C). A vector alpha is one weight per class here and
    there (a scalar one is not: MONAI uses 1 - alpha for class 0). MONAI computes in float32.
    """
    pytest.importorskip("monai")
    torch = pytest.importorskip("torch")
    from monai.losses import FocalLoss

    for x, y in ((X, Y), (XS, YS)):
        x32 = rounded(x, "float32")
        for alpha in (None, W):
            fl = FocalLoss(to_onehot_y=True, use_softmax=True, alpha=alpha, reduction="none")
            terms = fl(torch.tensor(x32), torch.tensor(np.expand_dims(y, 1))).numpy()
            got = softmax_focal_loss(x32, y, alpha=alpha, reduction="none")
            np.testing.assert_allclose(got, terms.sum(axis=1, dtype=np.float64), rtol=2e-6)
            mean = FocalLoss(to_onehot_y=True, use_softmax=True, alpha=alpha)
            want = float(mean(torch.tensor(x32), torch.tensor(np.expand_dims(y, 1))))
            assert_close(softmax_focal_loss(x32, y, alpha=alpha) / x.shape[1], want, 2e-6)


def test_focal_large_logits_exact(backend):
    """Logits [100, -100, 0].

    Label 0: 1 - p_t ~ e^-100 = 3.7e-44 and the loss ~ (3.7e-44)^2 * 3.7e-44 = 5e-131: 0 to
    float64 precision (log p_t rounds to 0, as in torch's log_softmax). Label 1:
    -log p = 200 + log1p(e^-100 + e^-200) = 200 and (1 - p)^2 = (1 - e^-200)^2 = 1: 200.
    """
    x = np.array([[100.0, -100.0, 0.0], [100.0, -100.0, 0.0]])
    xb, yb = on(backend, "float64", x, np.array([0, 1]))
    out = softmax_focal_loss(xb, yb, reduction="none")
    assert_close(out, [5.1e-131, 200.0], 1e-12, atol=1e-100)
    assert to_numpy(out)[0] >= 0.0


@pytest.mark.parametrize(
    ("x", "t", "kw"),
    [
        (X, Y_IGN, {"alpha": W, "gamma": 1.5}),
        (X, P, {"alpha": 0.25, "gamma": 0.5, "reduction": "sum"}),
        (XS, YS, {"gamma": 3.0}),
    ],
    ids=["index_alpha_ignore", "probs", "spatial"],
)
def test_focal_gradients(ad_backend, x, t, kw):
    """Autodiff gradient (every backend) vs a finite difference of the NumPy formula."""
    g = backend_grad(ad_backend, lambda xx, tt: softmax_focal_loss(xx, tt, **kw), [x, t], 0)
    want = fd_grad(lambda v: np_focal(v, t, **kw), x)
    np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("gamma", [0.5, 2.0])
def test_focal_gradient_finite_at_certainty(ad_backend, gamma):
    """1 - p_t underflows to 0 (logit gap 1000): value 0 and a zero (not NaN) gradient."""
    x = np.array([[1000.0, 0.0, -5.0], [0.0, 1.0, 2.0]])
    y = np.array([0, 2])
    g = backend_grad(ad_backend, lambda xx, tt: softmax_focal_loss(xx, tt, gamma=gamma), [x, y], 0)
    assert np.all(np.isfinite(g))
    np.testing.assert_array_equal(g[0], 0.0)


def test_focal_errors():
    with pytest.raises(ValueError, match=r"alpha has shape \(2,\).*\(3,\)"):
        softmax_focal_loss(X, Y, alpha=np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="gamma must be >= 0; got -1"):
        softmax_focal_loss(X, Y, gamma=-1.0)
    with pytest.raises(TypeError, match="gamma must be a real number"):
        softmax_focal_loss(X, Y, gamma="2")
    with pytest.raises(TypeError, match="alpha"):
        softmax_focal_loss(X, Y, alpha=True)
    with pytest.raises(ValueError, match="target holds class index 3"):
        softmax_focal_loss(X, np.array([0, 1, 3, 1]))
    with pytest.raises(TypeError, match="probabilities and must be floating"):
        softmax_focal_loss(X, np.zeros((4, 3), dtype=np.int64))
    with pytest.raises(ValueError, match=r"target has shape \(3,\)"):
        softmax_focal_loss(X, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="reduction='batchmean'"):
        softmax_focal_loss(X, Y, reduction="batchmean")


# ------------------------------------------------------------------------------------------
# poly1_cross_entropy
# ------------------------------------------------------------------------------------------

POLY_CASES = {
    "index": (X, Y, {}),
    "index_weight_ignore_smoothing": (
        X,
        Y_IGN,
        {"epsilon": 2.0, "weight": W, "label_smoothing": 0.2},
    ),
    "probs_weight_smoothing": (X, P, {"epsilon": -1.0, "weight": W, "label_smoothing": 0.1}),
    "spatial_ignore": (XS, YS_IGN, {"epsilon": 0.5}),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(POLY_CASES))
def test_poly1_values(backend, dtype, case):
    x, t, kw = POLY_CASES[case]
    x, t = rounded(x, dtype), rounded(t, dtype)
    w = None if kw.get("weight") is None else rounded(kw["weight"], dtype)
    xb, tb, wb = on(backend, dtype, x, t, w)
    for reduction in REDUCTIONS:
        out = poly1_cross_entropy(xb, tb, **{**kw, "weight": wb}, reduction=reduction)
        want = np_poly1(x, t, **{**kw, "weight": w}, reduction=reduction)
        check(out, want, backend, dtype)


@pytest.mark.parametrize(
    ("x", "t", "kw"),
    [
        (X, Y_IGN, {"weight": W, "label_smoothing": 0.3}),
        (XS, YS_IGN, {"weight": W, "reduction": "none"}),
        (X, P, {"weight": W, "label_smoothing": 0.1, "reduction": "sum"}),
    ],
    ids=["index", "spatial", "probs"],
)
def test_poly1_epsilon0_is_cross_entropy(backend, x, t, kw):
    """epsilon = 0: torch's cross_entropy with the same weight, smoothing and reductions."""
    xb, tb, wb = on(backend, "float64", x, t, kw["weight"])
    out = poly1_cross_entropy(xb, tb, epsilon=0.0, **{**kw, "weight": wb})
    assert_close(out, torch_f("cross_entropy", x, t, **kw), 1e-12)


def test_poly1_hand():
    """Logits [0, ln 3], label 1: p_t = 3/4, CE = -ln 0.75 = 0.2876821, default epsilon 1:
    0.2876821 + 1 * 0.25 = 0.5376821; epsilon 2: 0.7876821."""
    x = np.array([[0.0, math.log(3.0)]])
    np.testing.assert_allclose(poly1_cross_entropy(x, np.array([1])), 0.5376821, rtol=1e-7)
    np.testing.assert_allclose(
        poly1_cross_entropy(x, np.array([1]), epsilon=2.0), 0.7876821, rtol=1e-7
    )
    # class weight 3 on the label: both terms scaled, 'mean' divides by the weight again
    out = poly1_cross_entropy(x, np.array([1]), weight=np.array([1.0, 3.0]), reduction="sum")
    np.testing.assert_allclose(out, 3 * 0.5376821, rtol=1e-7)


def test_poly1_optax():
    """optax poly_loss_cross_entropy (labels: one-hot or probability rows on the last axis,
    default epsilon 2.0, unreduced); label smoothing through optax.smooth_labels."""
    pytest.importorskip("optax")
    import jax.numpy as jnp
    import optax

    oh = np.eye(3)[Y]
    for eps in (2.0, -1.0, 0.5):
        want = optax.losses.poly_loss_cross_entropy(jnp.asarray(X), jnp.asarray(oh), epsilon=eps)
        got = poly1_cross_entropy(X, Y, epsilon=eps, reduction="none")
        np.testing.assert_allclose(got, np.asarray(want), rtol=1e-12)
    default = optax.losses.poly_loss_cross_entropy(jnp.asarray(X), jnp.asarray(oh))
    np.testing.assert_allclose(
        poly1_cross_entropy(X, Y, epsilon=2.0, reduction="none"), np.asarray(default), rtol=1e-12
    )
    smoothed = optax.losses.smooth_labels(jnp.asarray(oh), 0.2)
    want = optax.losses.poly_loss_cross_entropy(jnp.asarray(X), smoothed, epsilon=1.0)
    got = poly1_cross_entropy(X, Y, label_smoothing=0.2, reduction="none")
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-12)
    got = poly1_cross_entropy(X, P, epsilon=3.0, reduction="none")
    want = optax.losses.poly_loss_cross_entropy(jnp.asarray(X), jnp.asarray(P), epsilon=3.0)
    np.testing.assert_allclose(got, np.asarray(want), rtol=1e-12)


@pytest.mark.parametrize(
    ("x", "t", "kw"),
    [
        (X, Y_IGN, {"epsilon": 2.0, "weight": W, "label_smoothing": 0.2}),
        (X, P, {"epsilon": -1.0, "weight": W, "reduction": "sum"}),
        (XS, YS, {"epsilon": 0.5}),
    ],
    ids=["index_weight_ignore_smoothing", "probs_weight", "spatial"],
)
def test_poly1_gradients(ad_backend, x, t, kw):
    g = backend_grad(
        ad_backend,
        lambda xx, tt, ww: poly1_cross_entropy(xx, tt, **{**kw, "weight": ww}),
        [x, t, kw.get("weight")],
        0,
    )
    want = fd_grad(lambda v: np_poly1(v, t, **kw), x)
    np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-9)


def test_poly1_errors():
    with pytest.raises(ValueError, match="label_smoothing must be in"):
        poly1_cross_entropy(X, Y, label_smoothing=1.5)
    with pytest.raises(TypeError, match="epsilon must be a real number"):
        poly1_cross_entropy(X, Y, epsilon=None)
    with pytest.raises(ValueError, match=r"weight has shape \(2,\)"):
        poly1_cross_entropy(X, Y, weight=np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="target must have an integer dtype"):
        poly1_cross_entropy(X, Y.astype(np.float64))


# ------------------------------------------------------------------------------------------
# generalized_cross_entropy
# ------------------------------------------------------------------------------------------

GCE_CASES = {
    "index": (X, Y, {}),
    "ignore_q03": (X, Y_IGN, {"q": 0.3}),
    "spatial_q1": (XS, YS_IGN, {"q": 1.0}),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(GCE_CASES))
def test_gce_values(backend, dtype, case):
    x, t, kw = GCE_CASES[case]
    x = rounded(x, dtype)
    xb, tb = on(backend, dtype, x, t)
    for reduction in REDUCTIONS:
        out = generalized_cross_entropy(xb, tb, **kw, reduction=reduction)
        check(out, np_gce(x, t, **kw, reduction=reduction), backend, dtype)


def test_gce_hand():
    """p_y = 3/4: q = 0.5 gives (1 - sqrt(0.75)) / 0.5 = 0.2679492; q = 1 gives 1 - 0.75."""
    x = np.array([[0.0, math.log(3.0)]])
    np.testing.assert_allclose(
        generalized_cross_entropy(x, np.array([1]), q=0.5), 0.2679492, rtol=1e-7
    )
    np.testing.assert_allclose(generalized_cross_entropy(x, np.array([1]), q=1.0), 0.25)


def test_gce_limits(backend):
    """q -> 0 tends to torch's cross_entropy ((1 - p^q)/q = -log p - q log^2 p / 2 + ...);
    q = 1 is 1 - p_y, half the L1 distance between the one-hot target and p (MAE-like)."""
    xb, yb = on(backend, "float64", X, Y_IGN)
    ce = torch_f("cross_entropy", X, Y_IGN, reduction="none")
    for q in (1e-3, 1e-6, 1e-9):
        out = generalized_cross_entropy(xb, yb, q=q, reduction="none")
        assert_close(out, ce, 2 * q * float(np.max(ce)))
    p = np.exp(np_log_softmax(X))
    t1, valid = np_onehot(Y_IGN, 3)
    mae = np.where(valid, 0.5 * np.abs(t1 - p).sum(axis=1), 0.0)
    assert_close(generalized_cross_entropy(xb, yb, q=1.0, reduction="none"), mae, 1e-12)


def test_gce_keras():
    """Keras 3 categorical_generalized_cross_entropy: integer labels and softmax
    *probabilities* (classes last); the class's default q = 0.5 and batch mean."""
    keras = pytest.importorskip("keras")
    p = np.exp(np_log_softmax(X))
    for q in (0.5, 0.7, 0.1):
        want = np.asarray(keras.losses.categorical_generalized_cross_entropy(Y, p, q=q))
        np.testing.assert_allclose(
            generalized_cross_entropy(X, Y, q=q, reduction="none"), want, rtol=1e-12
        )
    cls = keras.losses.CategoricalGeneralizedCrossEntropy()
    assert_close(generalized_cross_entropy(X, Y, q=0.5), float(cls(Y, p)), 2e-6)


def test_gce_large_logits(backend):
    """Gap 200: p_y = e^-200 / (1 + 2 e^-200) gives (1 - p_y^0.5) / 0.5 = 2 (1 - e^-100) = 2;
    p_y = 1 - 2 e^-200 gives about 2 e^-200 = 2.8e-87: 0 to float64 precision."""
    x = np.array([[100.0, -100.0, -100.0], [100.0, -100.0, -100.0]])
    xb, yb = on(backend, "float64", x, np.array([1, 0]))
    out = generalized_cross_entropy(xb, yb, q=0.5, reduction="none")
    assert_close(out, [2.0, 2.8e-87], 1e-12, atol=1e-80)


@pytest.mark.parametrize(
    ("x", "t", "kw"),
    [(X, Y_IGN, {"q": 0.3}), (XS, YS, {"q": 1.0, "reduction": "sum"})],
    ids=["ignore_q03", "spatial_q1"],
)
def test_gce_gradients(ad_backend, x, t, kw):
    g = backend_grad(ad_backend, lambda xx, tt: generalized_cross_entropy(xx, tt, **kw), [x, t], 0)
    want = fd_grad(lambda v: np_gce(v, t, **kw), x)
    np.testing.assert_allclose(g, want, rtol=1e-6, atol=1e-9)


def test_gce_errors():
    for q in (0.0, 1.5, -0.2):
        with pytest.raises(ValueError, match=r"q must be in \(0, 1\]"):
            generalized_cross_entropy(X, Y, q=q)
    with pytest.raises(TypeError, match="q must be a real number"):
        generalized_cross_entropy(X, Y, q=True)
    with pytest.raises(ValueError, match="target has the input's shape.*class indices"):
        generalized_cross_entropy(X, P)


# ------------------------------------------------------------------------------------------
# Shared edge behaviour of the CE-like losses: all ignored, empty batch, 1-D input
# ------------------------------------------------------------------------------------------

CE_LIKE = {
    "softmax_focal_loss": softmax_focal_loss,
    "poly1_cross_entropy": poly1_cross_entropy,
    "generalized_cross_entropy": generalized_cross_entropy,
}


@ignore_fp_warnings
@pytest.mark.parametrize("name", list(CE_LIKE))
def test_all_ignored_and_empty(backend, name):
    """Every target ignored: 'mean' NaN (0 / 0, as torch's cross_entropy), 'sum' 0, 'none'
    zeros; an empty batch likewise."""
    fn = CE_LIKE[name]
    for x, y in ((X, np.full(4, -100)), (np.zeros((0, 3)), np.zeros(0, dtype=np.int64))):
        xb, yb = on(backend, "float32", x, y)
        assert np.isnan(to_numpy(fn(xb, yb)))
        assert to_numpy(fn(xb, yb, reduction="sum")) == 0.0
        none = fn(xb, yb, reduction="none")
        assert_result(none, backend, "float32", (x.shape[0],))
        np.testing.assert_array_equal(to_numpy(none), 0.0)


@pytest.mark.parametrize("name", list(CE_LIKE))
def test_one_d_input(name):
    """(C,) logits with a 0-d target: the item of the batched call."""
    fn = CE_LIKE[name]
    for i in range(4):
        got = fn(X[i], np.asarray(Y[i]), reduction="none")
        assert np.shape(got) == ()
        np.testing.assert_allclose(got, fn(X, Y, reduction="none")[i], rtol=1e-14)


# ------------------------------------------------------------------------------------------
# hinge_loss, squared_hinge_loss
# ------------------------------------------------------------------------------------------

BINARY = {"hinge": (hinge_loss, False), "squared": (squared_hinge_loss, True)}
HINGE_CASES = {
    "signs": (X, PM, {}),
    "zero_one": (X, T01, {"zero_one": True}),
    "int_row": (X, np.array([1, -1, 1]), {}),
    "bool_zero_one": (X, T01.astype(bool), {"zero_one": True}),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(HINGE_CASES))
@pytest.mark.parametrize("name", list(BINARY))
def test_binary_hinge_values(backend, dtype, name, case):
    fn, square = BINARY[name]
    x, t, kw = HINGE_CASES[case]
    x = rounded(x, dtype)
    xb = make(backend, x, dtype)
    tb = make(backend, t, dtype if t.dtype.kind == "f" else None)
    for reduction in REDUCTIONS:
        want = np_hinge(x, t.astype(np.float64), square=square, reduction=reduction, **kw)
        check(fn(xb, tb, **kw, reduction=reduction), want, backend, dtype)


def test_hinge_reference_section_3_9():
    """Scores [0.3, -0.5, 2.0], labels [0, 1, 1] (reference section 3.9): with zero_one the
    labels are [-1, 1, 1]: max(0, 1 + 0.3) = 1.3, max(0, 1 + 0.5) = 1.5, max(0, 1 - 2) = 0,
    mean 0.9333 (= Keras's hinge, which converts silently); optax's hinge_loss on the raw 0/1
    labels gives [1.0, 1.5, 0.0], which lossbridge refuses."""
    s = np.array([0.3, -0.5, 2.0])
    y01 = np.array([0.0, 1.0, 1.0])
    np.testing.assert_allclose(hinge_loss(s, y01, zero_one=True, reduction="none"), [1.3, 1.5, 0.0])
    np.testing.assert_allclose(hinge_loss(s, y01, zero_one=True), 2.8 / 3)
    with pytest.raises(ValueError, match=r"target must hold labels -1 and 1 only; got the value 0"):
        hinge_loss(s, y01)
    keras = pytest.importorskip("keras")
    np.testing.assert_allclose(float(keras.losses.hinge(y01, s)), 2.8 / 3, rtol=1e-12)
    # mixed labels: Keras does not convert (0.8333); lossbridge raises, naming the value
    np.testing.assert_allclose(float(keras.losses.hinge([0, 1, 0.5], s)), 0.8333333, rtol=1e-6)
    with pytest.raises(ValueError, match="got the value 0.5"):
        hinge_loss(s, np.array([0.0, 1.0, 0.5]), zero_one=True)


def test_hinge_is_margin_ranking_with_zero(ad_backend):
    """hinge_loss(x, y) == torch margin_ranking_loss(x, 0, y, margin=1): values and gradients,
    including the kinks 1 - y x = 0 (torch's clamp_min: the gradient -y passes there)."""
    x = np.array([[1.0, -1.0, 0.5], [-1.0, 2.0, 1.0], [0.25, -3.0, -1.0], [1.0, 1.0, -0.5]])
    y = PM
    zeros = np.zeros_like(x)
    for reduction in REDUCTIONS:
        assert_close(
            hinge_loss(x, y, reduction=reduction),
            torch_f("margin_ranking_loss", x, zeros, y, margin=1.0, reduction=reduction),
            1e-15,
        )
    g = backend_grad(ad_backend, lambda xx, yy: hinge_loss(xx, yy, reduction="sum"), [x, y], 0)
    want = torch_grad("margin_ranking_loss", [x, zeros, y], 0, margin=1.0, reduction="sum")
    np.testing.assert_array_equal(g, want)
    assert np.sum(1.0 - y * x == 0.0) >= 4  # kinks present


def test_squared_hinge_gradient_at_kink(ad_backend):
    """max(0, 1 - y x)^2 is differentiable: -2 y max(0, 1 - y x), 0 at the kink."""
    x = np.array([[1.0, -1.0, 0.5], [-1.0, 2.0, 1.0], [0.25, -3.0, -1.0], [1.0, 1.0, -0.5]])
    g = backend_grad(
        ad_backend, lambda xx, yy: squared_hinge_loss(xx, yy, reduction="sum"), [x, PM], 0
    )
    np.testing.assert_allclose(g, -2.0 * PM * np.maximum(0.0, 1.0 - PM * x), rtol=1e-15)


def test_binary_hinge_oracles():
    """optax hinge_loss (+-1 labels, elementwise) and Keras hinge / squared_hinge (mean over
    the last axis: compared on a trailing axis of size 1, and as Keras's batch mean)."""
    keras = pytest.importorskip("keras")
    np.testing.assert_allclose(
        squared_hinge_loss(X, PM, reduction="none"),
        np.asarray(keras.losses.squared_hinge(PM[..., None], X[..., None])),
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        squared_hinge_loss(X, T01, zero_one=True),
        float(keras.losses.SquaredHinge()(T01, X)),
        rtol=2e-6,
    )
    np.testing.assert_allclose(
        hinge_loss(X, PM, reduction="none"),
        np.asarray(keras.losses.hinge(PM[..., None], X[..., None])),
        rtol=1e-12,
    )
    pytest.importorskip("optax")
    import jax.numpy as jnp
    import optax

    want = optax.losses.hinge_loss(jnp.asarray(X), jnp.asarray(PM))
    np.testing.assert_allclose(hinge_loss(X, PM, reduction="none"), np.asarray(want), rtol=1e-12)


def test_hinge_labels_not_checked_under_jit():
    """Label checks read values, so they run on concrete arrays only, never under jax.jit."""
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    x, y = jnp.asarray(X), jnp.asarray(T01)
    with pytest.raises(ValueError, match="target must hold labels"):
        hinge_loss(x, y)
    out = jax.jit(lambda a, b: hinge_loss(a, b, reduction="none"))(x, y)
    np.testing.assert_allclose(np.asarray(out), np.maximum(0.0, 1.0 - T01 * X), rtol=1e-12)


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_hinge_errors(name):
    fn, _ = BINARY[name]
    with pytest.raises(
        ValueError, match=rf"{name}.*target must hold labels 0 and 1 only; got the value -1"
    ):
        fn(X, PM, zero_one=True)
    with pytest.raises(ValueError, match=r"got the value 2"):
        fn(X, np.array([1, -1, 2]))
    with pytest.raises(ValueError, match="got the value nan"):
        fn(X, np.array([1.0, np.nan, -1.0]))
    with pytest.raises(TypeError, match="target is bool; pass zero_one=True"):
        fn(X, T01.astype(bool))
    with pytest.raises(TypeError, match="zero_one must be a bool"):
        fn(X, PM, zero_one=1)
    with pytest.raises(ValueError, match=r"target has shape \(2,\)"):
        fn(X, np.array([1.0, -1.0]))
    with pytest.raises(TypeError, match="input must have a real floating dtype"):
        fn(PM.astype(np.int64), PM)


@pytest.mark.parametrize("name", list(BINARY))
def test_binary_hinge_empty(backend, name):
    fn, _ = BINARY[name]
    xb, yb = on(backend, "float32", np.zeros((0, 3)), np.zeros((0, 3)))
    assert_result(fn(xb, yb, reduction="none"), backend, "float32", (0, 3))
    assert to_numpy(fn(xb, yb, reduction="sum")) == 0.0


# ------------------------------------------------------------------------------------------
# categorical_hinge_loss
# ------------------------------------------------------------------------------------------

CAT_CASES = {
    "index": (X, Y),
    "probs": (X, P),
    "spatial": (XS, YS),
    "negative_one_hot": (-np.abs(X) - 0.1, np.eye(3)[Y]),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", list(CAT_CASES))
def test_categorical_hinge_values(backend, dtype, case):
    x, t = CAT_CASES[case]
    x, t = rounded(x, dtype), rounded(t, dtype)
    xb, tb = on(backend, dtype, x, t)
    ref = np_cs_hinge if t.dtype.kind in "iu" else np_keras_cat_hinge
    for reduction in REDUCTIONS:
        check(
            categorical_hinge_loss(xb, tb, reduction=reduction),
            ref(x, t, reduction),
            backend,
            dtype,
        )


def test_categorical_hinge_reference_section_3_9():
    """Scores [1, 2, 0.5], label 0: Crammer-Singer max(0, 1 + 2 - 1) = 2 (index and one-hot
    agree); torch's multi_margin_loss (Weston-Watkins, / C) gives a different loss:
    (max(0, 1 - 1 + 2) + max(0, 1 - 1 + 0.5)) / 3 = 2.5 / 3 = 0.8333."""
    s = np.array([[1.0, 2.0, 0.5]])
    assert float(categorical_hinge_loss(s, np.array([0]))) == 2.0
    assert float(categorical_hinge_loss(s, np.array([[1.0, 0.0, 0.0]]))) == 2.0
    np.testing.assert_allclose(torch_f("multi_margin_loss", s, np.array([0])), 2.5 / 3)


def test_categorical_hinge_negative_scores_keras_vs_crammer_singer():
    """Scores [-1, -2, -3], label 0: Crammer-Singer max(0, 1 + (-2) - (-1)) = 0 (index targets,
    optax); Keras's (1 - t) x puts a 0 in the max: max(0, 0 - (-1) + 1) = 2 (one-hot rows)."""
    s = np.array([[-1.0, -2.0, -3.0]])
    assert float(categorical_hinge_loss(s, np.array([0]))) == 0.0
    assert float(categorical_hinge_loss(s, np.array([[1.0, 0.0, 0.0]]))) == 2.0
    keras = pytest.importorskip("keras")
    assert float(keras.losses.categorical_hinge(np.array([[1.0, 0, 0]]), s)[0]) == 2.0


def test_categorical_hinge_oracles():
    """optax multiclass_hinge_loss (integer labels, classes last) and Keras categorical_hinge
    (float rows, classes last); both unreduced per item."""
    keras = pytest.importorskip("keras")
    want = keras.losses.categorical_hinge(P, X)
    np.testing.assert_allclose(
        categorical_hinge_loss(X, P, reduction="none"), np.asarray(want), rtol=1e-12
    )
    xs_last = np.moveaxis(XS, 1, -1)
    want = keras.losses.categorical_hinge(np.eye(3)[YS], xs_last + 5.0)  # positive scores
    np.testing.assert_allclose(
        categorical_hinge_loss(XS + 5.0, YS, reduction="none"), np.asarray(want), rtol=1e-12
    )
    pytest.importorskip("optax")
    import jax.numpy as jnp
    import optax

    for x, y in ((X, Y), (-np.abs(X), Y)):
        want = optax.losses.multiclass_hinge_loss(jnp.asarray(x), jnp.asarray(y))
        np.testing.assert_allclose(
            categorical_hinge_loss(x, y, reduction="none"), np.asarray(want), rtol=1e-12
        )
    want = optax.losses.multiclass_hinge_loss(jnp.asarray(xs_last), jnp.asarray(YS))
    np.testing.assert_allclose(
        categorical_hinge_loss(XS, YS, reduction="none"), np.asarray(want), rtol=1e-12
    )


def test_categorical_hinge_tie_and_kink_gradients(ad_backend):
    """Ties in the max over j != y split its gradient evenly; at the kink (bracket 0) the
    gradient passes (torch's clamp_min), the same on every backend.

    Row 0, y=0, scores [0.5, 2, 2]: bracket 2.5, gradient [-1, 1/2, 1/2].
    Row 1, y=1, scores [0.5, 1.5, 0.5]: bracket 0 (kink), gradient [1/2, -1, 1/2].
    Row 2, y=2, scores [0, 0, 3]: bracket -2, gradient 0.
    Row 3, y=0, scores [1, 1, 1]: bracket 1, gradient [-1, 1/2, 1/2].
    """
    x = np.array([[0.5, 2.0, 2.0], [0.5, 1.5, 0.5], [0.0, 0.0, 3.0], [1.0, 1.0, 1.0]])
    y = np.array([0, 1, 2, 0])
    want = np.array([[-1.0, 0.5, 0.5], [0.5, -1.0, 0.5], [0.0, 0.0, 0.0], [-1.0, 0.5, 0.5]])
    g = backend_grad(
        ad_backend, lambda a, b: categorical_hinge_loss(a, b, reduction="sum"), [x, y], 0
    )
    np.testing.assert_array_equal(g, want)
    # the same rule on the float-target (Keras) path: row 0 one-hot, (1 - t) x = [0, 2, 2]
    g = backend_grad(
        ad_backend,
        lambda a, b: categorical_hinge_loss(a, b, reduction="sum"),
        [x[:1], np.eye(3)[[0]]],
        0,
    )
    np.testing.assert_array_equal(g, [[-1.0, 0.5, 0.5]])


@pytest.mark.parametrize(("x", "t"), [(X, Y), (X, P), (XS, YS)], ids=["index", "probs", "spatial"])
def test_categorical_hinge_gradient_fd(ad_backend, x, t):
    """Away from ties and kinks: the gradient is a finite difference of the formula."""
    g = backend_grad(ad_backend, lambda a, b: categorical_hinge_loss(a, b), [x, t], 0)
    ref = np_cs_hinge if t.dtype.kind in "iu" else np_keras_cat_hinge
    np.testing.assert_allclose(g, fd_grad(lambda v: ref(v, t), x), rtol=1e-6, atol=1e-9)


def test_categorical_hinge_edges():
    """One class: no j != y, the loss is 0 (optax: max(x + 1 - 1) - x = 0); 1-D input."""
    np.testing.assert_array_equal(
        categorical_hinge_loss(X[:, :1], np.zeros(4, dtype=int), reduction="none"), 0.0
    )
    assert float(categorical_hinge_loss(np.array([1.0, 2.0, 0.5]), np.asarray(0))) == 2.0
    with pytest.raises(ValueError, match="target holds class index 3"):
        categorical_hinge_loss(X, np.array([0, 3, 1, 1]))
    with pytest.raises(ValueError, match="target holds class index -100"):
        categorical_hinge_loss(X, Y_IGN)
    with pytest.raises(ValueError, match=r"target has shape \(4, 2\)"):
        categorical_hinge_loss(X, np.zeros((4, 2)))
    with pytest.raises(TypeError, match="probabilities and must be floating"):
        categorical_hinge_loss(X, np.zeros((4, 3), dtype=np.int64))


def test_float32_stays_float32_with_float64_targets():
    """Probability targets in float64 promote (as cross_entropy); hinge labels never do."""
    torch = pytest.importorskip("torch")
    x32 = torch.tensor(X, dtype=torch.float32)
    assert hinge_loss(x32, torch.tensor(PM)).dtype == torch.float32
    assert categorical_hinge_loss(x32, torch.tensor(Y)).dtype == torch.float32
    assert poly1_cross_entropy(x32, torch.tensor(Y)).dtype == torch.float32
    assert softmax_focal_loss(x32, torch.tensor(P)).dtype == torch.float64
