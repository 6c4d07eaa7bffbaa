"""Region-overlap segmentation losses (lossbridge.segmentation) against independent references.

Expected values come from (a) a float64 NumPy formula written here (:func:`formula`: the Tversky
index of Salehi et al. 2017, alpha on the false positives, in the "raised numerator" form
``1 - (TP + s + max(eps - D, 0)) / max(D, eps)``, not lossbridge's ``(alpha FP + beta FN) / D``),
(b) hand computations on tiny inputs (reference section 3.12's numbers), and (c) optax and Keras
where they differ from lossbridge, with their conventions converted as each test's docstring
says. Nothing here calls lossbridge to get an expected value.

The registry's cases (``conformance/extra_segmentation.py``: softmax with index targets, sigmoid
with soft targets and a weight, channels-last with ``batch=True``, an absent class with and
without smooth) check every backend and dtype against its float64 reference, MONAI, optax and
Keras, and the gradients against finite differences; the tests here keep the rest.
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

from lossbridge.segmentation import dice_loss, focal_tversky_loss, jaccard_loss, tversky_loss

REDUCTIONS = ("none", "mean", "sum")
SHAPE = (2, 3, 4, 4)

# ------------------------------------------------------------------------------------------
# The float64 formula, written once here
# ------------------------------------------------------------------------------------------


def probabilities(x, activation, axis):
    x = np.asarray(x, dtype=np.float64)
    if activation == "softmax":
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        return e / e.sum(axis=axis, keepdims=True)
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    return x


def formula(
    x,
    t,
    *,
    alpha,
    beta,
    gamma=1.0,
    activation="softmax",
    weight=None,
    smooth=0.0,
    eps=1e-7,
    channel_axis=1,
    batch=False,
    reduction="mean",
):
    """Tversky loss per sample and class (channels moved last), weighted and reduced."""
    x = np.asarray(x, dtype=np.float64)
    ca = channel_axis % x.ndim
    c = x.shape[ca]
    p = np.moveaxis(probabilities(x, activation, ca), ca, -1)
    t = np.asarray(t)
    t = np.eye(c)[t] if t.dtype.kind in "iu" else np.moveaxis(t.astype(np.float64), ca, -1)
    axes = tuple(range(0 if batch else 1, p.ndim - 1))
    tp = (p * t).sum(axis=axes)
    fp = (p * (1 - t)).sum(axis=axes)
    fn = ((1 - p) * t).sum(axis=axes)
    d = tp + alpha * fp + beta * fn + smooth
    with np.errstate(invalid="ignore", divide="ignore"):
        index = (tp + smooth + np.maximum(eps - d, 0.0)) / np.maximum(d, eps)
        loss = np.where(d == 0, 0.0, 1.0 - index) ** gamma  # NaN only off the domain (FD)
    w = np.ones(c) if weight is None else np.asarray(weight, dtype=np.float64)
    loss = loss * w
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / ((1 if batch else p.shape[0]) * w.sum())


LOSSES = {
    "dice": (dice_loss, dict(alpha=0.5, beta=0.5)),
    "jaccard": (jaccard_loss, dict(alpha=1.0, beta=1.0)),
    "tversky": (tversky_loss, dict(alpha=0.3, beta=0.7)),
    "focal": (focal_tversky_loss, dict(alpha=0.3, beta=0.7, gamma=0.75)),
}


def call(name, *args, **kwargs):
    """The loss ``name`` with its alpha/beta/gamma (only Tversky and focal take them)."""
    fn, params = LOSSES[name]
    extra = {k: v for k, v in params.items() if name in ("tversky", "focal")}
    return fn(*args, **extra, **kwargs)


def expected(name, *args, **kwargs):
    return formula(*args, **LOSSES[name][1], **kwargs)


def data(seed=0, shape=SHAPE, soft=False):
    r = np.random.default_rng(seed)
    x = 2.0 * r.standard_normal(shape)
    if soft:
        return x, r.uniform(0.0, 1.0, shape)
    return x, r.integers(0, shape[1], (shape[0], *shape[2:]))


WEIGHT = np.array([0.5, 2.0, 1.25])

# (options, float targets?): the registry's cases take softmax with index targets, sigmoid with
# soft targets and a weight, channels-last with batch=True, and smooth; these two combinations,
# which it has no case for, are checked here.
OPTIONS = [
    (dict(activation="sigmoid", weight=WEIGHT, smooth=0.3), False),
    (dict(weight=WEIGHT, batch=True), False),
]


# ------------------------------------------------------------------------------------------
# Hand computations (reference section 3.12)
# ------------------------------------------------------------------------------------------


def one(backend, dtype, *rows):
    """Each row as a (1, 1, len) array: one sample, one class, ``len`` positions."""
    return [make(backend, np.asarray(r, dtype=np.float64).reshape(1, 1, -1), dtype) for r in rows]


@pytest.mark.parametrize("dtype", DTYPES)
def test_dice_section_3_12(backend, dtype):
    """p = [.9, .8, .2, .1], t = [1, 1, 0, 0]: TP = 1.7, FP = 0.1 + 0.2 = 0.3, FN = 0.1 + 0.2 = 0.3.

    Dice: 1 - 1.7 / (1.7 + 0.15 + 0.15) = 1 - 0.85 = 0.15 (smp, exact).
    smooth = 1 (optax binary_dice_loss): 1 - 2.7 / 3.0 = 0.1.
    smooth = 5e-6 (MONAI's 1e-5 on 2 TP and on the sum): 1 - 3.40001 / 4.00001 = 0.149999625.
    Jaccard: 1 - 1.7 / (1.7 + 0.3 + 0.3) = 0.6 / 2.3 = 0.260870.
    """
    p, t = one(backend, dtype, [0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0])
    tol = 1e-15 if dtype == "float64" else 3e-7
    kw = dict(activation=None)
    out = dice_loss(p, t, **kw)
    assert_result(out, backend, dtype, ())
    assert_close(out, 0.15, tol, tol)
    assert_close(dice_loss(p, t, smooth=1.0, **kw), 0.1, tol, tol)
    assert_close(dice_loss(p, t, smooth=5e-6, **kw), 1 - 3.40001 / 4.00001, tol, tol)
    assert_close(jaccard_loss(p, t, **kw), 0.6 / 2.3, tol, tol)
    assert_close(tversky_loss(p, t, alpha=1.0, beta=1.0, **kw), 0.6 / 2.3, tol, tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_tversky_alpha_weights_false_positives(backend, dtype):
    """Section 3.12: TP = 1, FP = 2, FN = 0 (p = [1, 1, 1, 0], t = [1, 0, 0, 0]).

    alpha = 0.9 on FP: 1 - 1 / (1 + 0.9 * 2) = 1 - 1/2.8 = 0.642857 (MONAI, smp, optax). Swapped
    (alpha on FN, Keras 3.15.1): 1 - 1 / (1 + 0.1 * 2) = 1 - 1/1.2 = 0.166667.
    Focal, gamma = 0.75: 0.642857^0.75 = exp(0.75 ln 0.642857) = exp(-0.331375) = 0.717936;
    gamma = 2: 0.642857^2 = 0.413265.
    """
    p, t = one(backend, dtype, [1, 1, 1, 0], [1, 0, 0, 0])
    tol = 1e-15 if dtype == "float64" else 3e-7
    kw = dict(activation=None, reduction="none")
    out = tversky_loss(p, t, alpha=0.9, beta=0.1, **kw)
    assert_result(out, backend, dtype, (1, 1))
    assert_close(out, [[1 - 1 / 2.8]], tol, tol)
    assert_close(tversky_loss(p, t, alpha=0.1, beta=0.9, **kw), [[1 - 1 / 1.2]], tol, tol)
    np.testing.assert_allclose([1 - 1 / 2.8, 1 - 1 / 1.2], [0.642857, 0.166667], atol=5e-7)
    np.testing.assert_allclose((1 - 1 / 2.8) ** 0.75, 0.717936, atol=5e-7)
    out = focal_tversky_loss(p, t, alpha=0.9, beta=0.1, **kw)
    assert_close(out, [[(1 - 1 / 2.8) ** 0.75]], tol, tol)
    out = focal_tversky_loss(p, t, alpha=0.9, beta=0.1, gamma=2.0, **kw)
    assert_close(out, [[(1 - 1 / 2.8) ** 2]], tol, tol)


def test_weighted_mean_by_hand(backend):
    """Two samples, two classes, one position each, probabilities given (activation=None).

    Sample 0: p = (0.75, 0.25), class 0. Class 0: TP 0.75, FP 0, FN 0.25: Dice 0.125 / 0.875
    = 1/7. Class 1: TP 0, FP 0.25, FN 0: 0.125 / 0.125 = 1.
    Sample 1: p = (0.5, 0.5), class 1. Class 0: TP 0, FP 0.5: loss 1. Class 1: TP 0.5, FN 0.5:
    0.25 / 0.75 = 1/3.
    weight (1, 3): 'none' [[1/7, 3], [1, 1]]; 'sum' 36/7 = 5.142857; 'mean' divides by
    N sum(w) = 2 * 4 = 8: 36/56 = 0.642857.
    """
    p = make(backend, np.array([[0.75, 0.25], [0.5, 0.5]]))
    t = make(backend, np.array([0, 1]))
    w = make(backend, np.array([1.0, 3.0]))
    kw = dict(activation=None, weight=w)
    assert_close(dice_loss(p, t, reduction="none", **kw), [[1 / 7, 3], [1, 1]], 1e-15)
    assert_close(dice_loss(p, t, reduction="sum", **kw), 36 / 7, 1e-15)
    assert_close(dice_loss(p, t, **kw), 36 / 56, 1e-15)
    # batch=True: class 0 TP 0.75, FP 0.5, FN 0.25: 0.375 / 1.125 = 1/3; class 1 TP 0.5,
    # FP 0.25, FN 0.5: 0.375 / 0.875 = 3/7. mean = (1/3 + 9/7) / 4 = 34/84.
    out = dice_loss(p, t, batch=True, reduction="none", **kw)
    assert_result(out, backend, "float64", (2,))
    assert_close(out, [1 / 3, 9 / 7], 1e-15)
    assert_close(dice_loss(p, t, batch=True, **kw), 34 / 84, 1e-15)


# ------------------------------------------------------------------------------------------
# Values against the formula: every backend, every loss
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(LOSSES))
def test_values(backend, dtype, name):
    for i, (opts, soft) in enumerate(OPTIONS):
        x, t = data(i, soft=soft)
        x = rounded(x, dtype)
        t = rounded(t, dtype)
        xb, tb = make(backend, x, dtype), make(backend, t, dtype)
        w = opts.get("weight")
        kw = {**opts, "weight": None if w is None else make(backend, w, dtype)}
        for reduction in REDUCTIONS:
            out = call(name, xb, tb, reduction=reduction, **kw)
            exp = expected(
                name,
                x,
                t,
                reduction=reduction,
                **{**opts, "weight": rounded(w, dtype) if w is not None else None},
            )
            assert_result(out, backend, dtype, np.shape(exp))
            assert_close(out, exp, RTOL[dtype], 1e-15)


@pytest.mark.parametrize("name", list(LOSSES))
def test_channel_axis(backend, name):
    """channels-last (-1) and channels-first at axis 0 (batch is then axis 1) give the same
    numbers as the (N, C, ...) layout; index targets keep their (N, d...) shape."""
    x, t = data(7)
    exp = expected(name, x, t, reduction="none")
    last = make(backend, np.ascontiguousarray(np.moveaxis(x, 1, -1)))
    out = call(name, last, make(backend, t), channel_axis=-1, reduction="none")
    assert_close(out, exp, 1e-12)
    out = call(name, last, make(backend, t), channel_axis=3, reduction="none")
    assert_close(out, exp, 1e-12)
    first = make(backend, np.ascontiguousarray(np.swapaxes(x, 0, 1)))  # (C, N, H, W)
    out = call(name, first, make(backend, t), channel_axis=0, reduction="none")
    assert_result(out, backend, "float64", (2, 3))
    assert_close(out, exp, 1e-12)
    # float targets move with the channels
    x, s = data(8, soft=True)
    exp = expected(name, x, s, activation="sigmoid", reduction="none", batch=True)
    out = call(
        name,
        make(backend, np.moveaxis(x, 1, -1).copy()),
        make(backend, np.moveaxis(s, 1, -1).copy()),
        activation="sigmoid",
        channel_axis=-1,
        batch=True,
        reduction="none",
    )
    assert_close(out, exp, 1e-12)


def test_no_spatial_axes_and_3d(backend):
    """(N, C): one position per sample; (N, C, D, H, W): volumes (V-Net's setting)."""
    r = np.random.default_rng(3)
    x, t = r.standard_normal((6, 4)), r.integers(0, 4, 6)
    assert_close(
        dice_loss(make(backend, x), make(backend, t), reduction="none"),
        formula(x, t, alpha=0.5, beta=0.5, reduction="none"),
        1e-12,
    )
    x, t = r.standard_normal((2, 3, 2, 3, 2)), r.integers(0, 3, (2, 2, 3, 2))
    assert_close(
        jaccard_loss(make(backend, x), make(backend, t), reduction="none"),
        formula(x, t, alpha=1.0, beta=1.0, reduction="none"),
        1e-12,
    )


# ------------------------------------------------------------------------------------------
# Other libraries
# ------------------------------------------------------------------------------------------


def test_optax_binary_dice_default_smooth():
    """Section 3.12: optax binary_dice_loss (sigmoid, smooth=1.0 default) on the logits of
    p = [.9, .8, .2, .1] gives 0.10: our dice_loss(activation='sigmoid', smooth=1.0); the exact
    0.15 is smooth=0."""
    optax = pytest.importorskip("optax")
    import jax.numpy as jnp

    p = np.array([0.9, 0.8, 0.2, 0.1])
    logits = np.log(p / (1 - p))
    t = np.array([1.0, 1.0, 0.0, 0.0])
    ref = float(
        optax.losses.binary_dice_loss(
            jnp.asarray(logits[None, :, None]), jnp.asarray(t[None, :, None])
        )[0]
    )
    np.testing.assert_allclose(ref, 0.1, atol=1e-12)
    x, y = logits.reshape(1, 1, 4), t.reshape(1, 1, 4)
    assert_close(dice_loss(x, y, activation="sigmoid", smooth=1.0), ref, 1e-12)
    assert_close(dice_loss(x, y, activation="sigmoid"), 0.15, 1e-12)


def _keras():
    keras = pytest.importorskip("keras")
    return keras


def test_keras_tversky_swaps_alpha_and_beta():
    """Keras 3.15.1 ``tversky(alpha=0.9, beta=0.1)`` on TP = 1, FP = 2, FN = 0 gives 0.166667
    (alpha on FN, contrary to its docstring; keras-team/keras PR #23333), ours 0.642857. Keras
    with alpha and beta swapped is ours (up to its epsilon 1e-7 in the denominator)."""
    keras = _keras()
    p = np.array([[1.0, 1.0, 1.0, 0.0]])
    t = np.array([[1.0, 0.0, 0.0, 0.0]])
    k = float(keras.ops.convert_to_numpy(keras.losses.tversky(t, p, alpha=0.9, beta=0.1)))
    k_swapped = float(keras.ops.convert_to_numpy(keras.losses.tversky(t, p, alpha=0.1, beta=0.9)))
    np.testing.assert_allclose(k, 1 - 1 / 1.2, atol=1e-6)
    ours = tversky_loss(p[:, None], t[:, None], alpha=0.9, beta=0.1, activation=None)
    np.testing.assert_allclose(to_numpy(ours), 1 - 1 / 2.8, rtol=1e-15)
    np.testing.assert_allclose(to_numpy(ours), k_swapped, rtol=1e-6)
    # the Keras class, random data: Tversky(alpha=b, beta=a) == ours(alpha=a, beta=b)
    x, y = data(15)
    probs = np.moveaxis(probabilities(x, "softmax", 1), 1, -1)
    onehot = np.eye(3)[y]
    kt = keras.losses.tversky(onehot, probs, alpha=0.7, beta=0.3, axis=(1, 2))
    out = tversky_loss(
        probs, y, alpha=0.3, beta=0.7, activation=None, channel_axis=-1, reduction="none"
    )
    assert_close(out, np.asarray(keras.ops.convert_to_numpy(kt)), 1e-7)


def test_absent_class_keras_gives_one():
    """A class absent from both (p = t = 0 everywhere): Keras dice 1.0 (0 / (0 + 1e-7)); ours 0
    (optax, MONAI, smp)."""
    keras = _keras()
    z = np.zeros((1, 4))
    np.testing.assert_allclose(float(keras.ops.convert_to_numpy(keras.losses.dice(z, z))), 1.0)
    out = dice_loss(z[:, None], z[:, None], activation=None)
    assert to_numpy(out) == 0.0


# ------------------------------------------------------------------------------------------
# Gradients
# ------------------------------------------------------------------------------------------


def finite_difference(f, x, h=1e-6):
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        g[i] = (np.sum(f(up)) - np.sum(f(down))) / (2 * h)
    return g


@pytest.mark.parametrize("name", list(LOSSES))
def test_gradients(ad_backend, name):
    """Autodiff of sum(loss) (torch, JAX, TensorFlow) against a central difference of the
    float64 formula, for sigmoid with index targets, a weight and smooth (softmax/index and
    sigmoid/soft targets: the registry's grad_fd check)."""
    opts, soft = OPTIONS[0]
    x, t = data(22, shape=(2, 3, 3, 2), soft=soft)

    def ours(xb, tb):
        return call(name, xb, tb, reduction="none", **opts)

    def ref(z):
        return expected(name, z, t, reduction="none", **opts)

    g = backend_grad(ad_backend, ours, [x, t], 0)
    np.testing.assert_allclose(g, finite_difference(ref, x), rtol=1e-6, atol=1e-8)


def test_gradient_absent_class_is_finite(ad_backend):
    """smooth = 0 and a class absent from both: loss 0, gradient 0 there (double where), finite
    everywhere, and the present classes' gradients are the formula's."""
    p0 = np.array([[[0.2, 0.7, 0.4, 0.9]], [[0.6, 0.1, 0.5, 0.3]]])  # (2, 1, 4)
    p = np.concatenate([p0, 1 - p0, np.zeros_like(p0)], axis=1)  # class 2: never predicted
    t = np.array([[0, 1, 1, 0], [1, 0, 0, 1]])  # never class 2
    for name in LOSSES:

        def ours(pb, tb, name=name):
            return call(name, pb, tb, activation=None, reduction="none")

        out = ours(make(ad_backend, p), make(ad_backend, t))
        assert np.all(to_numpy(out)[:, 2] == 0.0)
        g = backend_grad(ad_backend, ours, [p, t], 0)
        assert np.isfinite(g).all()
        assert np.all(g[:, 2] == 0.0)
        ref = finite_difference(
            lambda z, name=name: expected(name, z, t, activation=None, reduction="none")[:, :2],
            p,
        )
        np.testing.assert_allclose(g[:, :2], ref[:, :2], rtol=1e-6, atol=1e-8)


def test_focal_gradient_at_perfect_prediction(ad_backend):
    """1 - T = 0 (a perfect prediction): (1 - T)^0.75 has an infinite one-sided derivative; the
    loss defines the gradient as 0 (finite, no NaN from 0 * inf)."""
    p = np.array([[[1.0, 0.0, 1.0, 0.0]], [[0.0, 1.0, 0.0, 1.0]]]).reshape(1, 2, 4)
    t = np.array([[0, 1, 0, 1]])
    g = backend_grad(
        ad_backend,
        lambda pb, tb: focal_tversky_loss(pb, tb, activation=None, reduction="sum"),
        [p, t],
        0,
    )
    assert np.all(g == 0.0)


def test_eps_floor_keeps_tiny_denominators_finite():
    """A class with predicted mass ~1e-40 (float32 subnormal) and no target: without the floor
    the loss is the exact 1 but its gradient overflows (1 / D^2); with eps = 1e-7 (the default)
    D < eps, the loss is alpha FP / eps ~ 0 and the gradient finite."""
    torch = pytest.importorskip("torch")
    p = np.zeros((1, 2, 4))
    p[0, 0] = 1.0
    p[0, 1] = 1e-40  # subnormal in float32
    t = np.zeros((1, 4), dtype=np.int64)
    x = torch.tensor(p, dtype=torch.float32, requires_grad=True)
    out = dice_loss(x, torch.tensor(t), activation=None, reduction="none")
    # class 0: TP 4, FP 0, FN 4e-40 -> loss ~ 0. class 1: FP = 4e-40, D = 2e-40 < eps:
    # loss 0.5 * 4e-40 / 1e-7 ~ 2e-33.
    np.testing.assert_allclose(to_numpy(out)[0, 1], 0.5 * 4e-40 / 1e-7, rtol=1e-5)
    out.sum().backward()
    assert torch.isfinite(x.grad).all()
    # the same without the floor: d(FP / D) = 1 / D - FP / D^2 overflows to inf - inf = NaN
    x0 = torch.tensor(p, dtype=torch.float32, requires_grad=True)
    dice_loss(x0, torch.tensor(t), activation=None, eps=0.0).backward()
    assert torch.isnan(x0.grad[0, 1]).all()
    # eps = 0: the exact formula: FP / (FP) = 1 for class 1.
    out0 = dice_loss(torch.tensor(p), torch.tensor(t), activation=None, eps=0.0, reduction="none")
    np.testing.assert_allclose(to_numpy(out0)[0, 1], 1.0, rtol=1e-15)


# ------------------------------------------------------------------------------------------
# Edge behaviour and dtypes
# ------------------------------------------------------------------------------------------


@ignore_fp_warnings
def test_empty_batch(backend):
    """N = 0: 'none' is (0, C), 'sum' 0, 'mean' NaN (0 / 0, as torch's mean of nothing);
    batch=True: every class absent, loss 0 per class."""
    x = make(backend, np.zeros((0, 3, 4, 4)), "float32")
    t = make(backend, np.zeros((0, 4, 4), dtype=np.int64))
    assert_result(dice_loss(x, t, reduction="none"), backend, "float32", (0, 3))
    assert to_numpy(dice_loss(x, t, reduction="sum")) == 0.0
    assert np.isnan(to_numpy(dice_loss(x, t)))
    assert np.isnan(to_numpy(dice_loss(x, t, weight=make(backend, WEIGHT, "float32"))))
    out = dice_loss(x, t, batch=True, reduction="none")
    assert_result(out, backend, "float32", (3,))
    assert np.all(to_numpy(out) == 0.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dtype_and_targets(backend, dtype):
    """Output dtype is the input's; integer, bool and float one-hot targets agree."""
    x, t = data(30)
    onehot = np.eye(3)[t].transpose(0, 3, 1, 2)
    xb = make(backend, x, dtype)
    a = dice_loss(xb, make(backend, t), reduction="none")
    assert_result(a, backend, dtype, (2, 3))
    b = dice_loss(xb, make(backend, onehot, dtype), reduction="none")
    c = dice_loss(xb, make(backend, onehot.astype(bool)), reduction="none")
    assert_result(c, backend, dtype, (2, 3))
    assert_close(a, to_numpy(b), RTOL[dtype], 1e-7)
    assert_close(a, to_numpy(c), RTOL[dtype], 1e-7)


def test_promotion_and_host_data():
    torch = pytest.importorskip("torch")
    x, t = data(31)
    x32 = torch.tensor(x, dtype=torch.float32)
    out = dice_loss(x32, torch.tensor(t), weight=torch.tensor(WEIGHT))  # float64 weight
    assert out.dtype == torch.float64
    out = dice_loss(x32, t.tolist(), weight=WEIGHT.tolist())  # host data takes the input's
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32


def test_jit_skips_value_checks():
    """Under jax.jit the value checks (index range, probabilities in [0, 1]) cannot run; the loss
    traces and gives the eager numbers."""
    jax = pytest.importorskip("jax")
    x, t = data(32)
    f = jax.jit(lambda a, b: focal_tversky_loss(a, b, weight=WEIGHT, reduction="none"))
    exp = formula(x, t, alpha=0.5, beta=0.5, gamma=0.75, weight=WEIGHT, reduction="none")
    assert_close(f(x, t), exp, 1e-12)


# ------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------

X, T = data(40)


@pytest.mark.parametrize(
    "kwargs,exc,match",
    [
        (dict(reduction="batchmean"), ValueError, "reduction='batchmean'"),
        (dict(activation="relu"), ValueError, "activation='relu'"),
        (dict(activation="Softmax"), ValueError, "activation="),
        (dict(smooth=-1.0), ValueError, "dice_loss: smooth must be >= 0"),
        (dict(smooth=math.inf), ValueError, "dice_loss: smooth must be finite"),
        (dict(eps="0"), TypeError, "eps must be a real number"),
        (dict(channel_axis=4), ValueError, "channel_axis=4 is out of range"),
        (dict(channel_axis=1.0), TypeError, "channel_axis must be an int"),
        (dict(batch=1), TypeError, "batch must be a bool"),
        (dict(weight=np.ones(4)), ValueError, r"weight has shape \(4,\); expected \(3,\)"),
        (dict(weight=np.ones(3, dtype=np.int64)), TypeError, "weight must have a real floating"),
    ],
)
def test_bad_options(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        dice_loss(X, T, **kwargs)


def test_bad_tversky_parameters():
    with pytest.raises(ValueError, match="tversky_loss: alpha must be >= 0"):
        tversky_loss(X, T, alpha=-0.1)
    with pytest.raises(TypeError, match="beta must be a real number"):
        tversky_loss(X, T, beta=None)
    with pytest.raises(ValueError, match="focal_tversky_loss: gamma must be > 0"):
        focal_tversky_loss(X, T, gamma=0.0)


def test_bad_arrays(backend):
    x, t = make(backend, X), make(backend, T)
    with pytest.raises(ValueError, match=r"input has shape \(3,\); expected \(N, C"):
        dice_loss(make(backend, np.zeros(3)), make(backend, np.zeros(3)))
    with pytest.raises(ValueError, match="activation='softmax' over a single channel"):
        dice_loss(make(backend, X[:, :1]), t)
    with pytest.raises(ValueError, match=r"target holds integers of shape \(2, 4\).*\(2, 4, 4\)"):
        dice_loss(x, make(backend, T[:, 0]))
    with pytest.raises(ValueError, match=r"target holds integers of shape \(2, 3, 4, 4\)"):
        dice_loss(x, make(backend, np.zeros(SHAPE, dtype=np.int64)))
    with pytest.raises(ValueError, match="target has shape .* expected labels of the input's"):
        dice_loss(x, make(backend, np.zeros((2, 4, 4))))
    with pytest.raises(TypeError, match="input must have a real floating dtype"):
        dice_loss(make(backend, T), t)
    bad = T.copy()
    bad[0, 0, 0] = 3
    with pytest.raises(ValueError, match="target holds class index 3, out of range for 3"):
        dice_loss(x, make(backend, bad))
    with pytest.raises(ValueError, match=r"target must have labels .* in \[0.0, 1.0\]"):
        dice_loss(x, make(backend, np.full(SHAPE, 1.5)))
    with pytest.raises(ValueError, match=r"input must have probabilities \(activation=None\)"):
        dice_loss(x, t, activation=None)
