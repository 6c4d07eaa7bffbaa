"""Focal, Poly-1, generalized CE and the hinges: what the conformance registry does not check.

Values and input gradients against the float64 references and the Keras and optax oracles, on
every backend and dtype, are the registry's (``conformance/extra_classification.py``). Here:
option pairings it has no case for (against float64 NumPy formulas written here), hand
computations, the special cases that are torch losses (``gamma=0`` focal and ``epsilon=0``
Poly-1 are ``cross_entropy``; ``hinge_loss(x, y)`` is ``margin_ranking_loss(x, 0, y,
margin=1)``), MONAI's focal loss, limits, kinks, ties, edges, dtype rules and bad input. Never
from lossbridge itself.
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
from lossbridge.conformance.references import reduce

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
    return reduce(loss, reduction, denominator=valid.sum())


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
    return reduce(loss, reduction, denominator=denom)


def np_hinge(x, y, zero_one=False, square=False, reduction="mean"):
    y = 2.0 * y - 1.0 if zero_one else y
    h = np.maximum(0.0, 1.0 - y * x)
    return reduce(h * h if square else h, reduction)


def test_exported_from_module():
    for name in NEW:
        assert name in lc.__all__
        assert callable(getattr(lc, name))


# ------------------------------------------------------------------------------------------
# softmax_focal_loss
# ------------------------------------------------------------------------------------------

# The registry's softmax_focal_loss cases take a vector alpha with index targets and a scalar
# one with probabilities; the other two pairings are checked here.
FOCAL_CASES = {
    "index_scalar_alpha": (X, Y, {"alpha": 0.25, "gamma": 3.0}),
    "probs_alpha_vector": (X, P, {"alpha": W, "gamma": 0.5}),
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
    with pytest.raises(ValueError, match=r"softmax_focal_loss: gamma must be >= 0 \(.*\); got -1"):
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

# The registry's poly1_cross_entropy cases smooth index targets only; probabilities here.
POLY_CASES = {
    "probs_weight_smoothing": (X, P, {"epsilon": -1.0, "weight": W, "label_smoothing": 0.1}),
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


def test_gce_large_logits(backend):
    """Gap 200: p_y = e^-200 / (1 + 2 e^-200) gives (1 - p_y^0.5) / 0.5 = 2 (1 - e^-100) = 2;
    p_y = 1 - 2 e^-200 gives about 2 e^-200 = 2.8e-87: 0 to float64 precision."""
    x = np.array([[100.0, -100.0, -100.0], [100.0, -100.0, -100.0]])
    xb, yb = on(backend, "float64", x, np.array([1, 0]))
    out = generalized_cross_entropy(xb, yb, q=0.5, reduction="none")
    assert_close(out, [2.0, 2.8e-87], 1e-12, atol=1e-80)


def test_gce_errors():
    for q in (0.0, 1.5, -0.2):
        with pytest.raises(ValueError, match=r"q must be (> 0|<= 1) \(the exponent, 0 < q <= 1"):
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
# +-1, 0/1 and integer targets are the registry's cases; a bool target is checked here.
HINGE_CASES = {
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
