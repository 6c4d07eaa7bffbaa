"""Lovász hinge and Lovász-Softmax losses against the Lovász extension's definition.

Expected values never come from lossbridge nor from the conformance reference (a transcription
of Berman's code). They come from:

* the Lovász extension written as a Choquet integral, :func:`choquet_jaccard`:
  :math:`\\bar\\Delta(m) = \\int_0^\\infty \\Delta_J(\\{i : m_i \\ge t\\})\\,dt`, summed over the
  distinct error levels with the Jaccard set loss counted directly on sets
  (:math:`\\Delta_J(M) = |M| / |F \\cup M|`, the paper's eq. 3 for the mispredicted set
  :math:`M`): no sorted cumulative sums, no tie order, ignored pixels dropped before anything;
* hand computations on 2 and 3 pixels (arithmetic in the comments);
* for gradients at ties, the subgradient the stable pixel order selects, written from the
  definition
  :math:`\\partial \\bar\\Delta / \\partial m_{\\pi_k} = \\Delta_J(S_k) - \\Delta_J(S_{k-1})`.

Every backend and dtype, and the gradients away from ties (finite differences), are checked by
the conformance registry against a transcription of Berman's code
(``conformance/extra_lovasz.py``); the definition is checked here once, on NumPy float64.

No installed library has these losses (segmentation_models_pytorch's ``LovaszLoss`` needs
torchvision), so there is no library comparison.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import (
    RTOL,
    assert_close,
    assert_result,
    backend_grad,
    make,
    to_numpy,
)

from lossbridge.conformance.references import reduce_empty_as_zero
from lossbridge.lovasz import lovasz_hinge_loss, lovasz_softmax_loss

IGNORE = 255

# ------------------------------------------------------------------------------------------
# Independent float64 oracle: the Lovász extension as a Choquet integral
# ------------------------------------------------------------------------------------------


def jaccard_set_loss(mispredicted: np.ndarray, fg: np.ndarray) -> float:
    """Delta_J(M) = |M| / |F u M| (0 for M empty)."""
    m = int(mispredicted.sum())
    return 0.0 if m == 0 else m / int(np.logical_or(mispredicted, fg).sum())


def choquet_jaccard(m: np.ndarray, fg: np.ndarray) -> float:
    """Lovász extension of Delta_J at errors ``m >= 0``: sum over distinct levels, top down."""
    m = np.asarray(m, dtype=np.float64)
    fg = np.asarray(fg, dtype=bool)
    levels = np.unique(m[m > 0])[::-1]  # decreasing, distinct
    total = 0.0
    for j, v in enumerate(levels):
        below = levels[j + 1] if j + 1 < len(levels) else 0.0
        total += (v - below) * jaccard_set_loss(m >= v, fg)
    return total


def softmax(x: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def hinge_oracle(x, y, per_image=True, ignore_index=None):
    """Per-image (N,) losses, or the batch's loss, from the definition."""
    x = np.asarray(x, np.float64).reshape(np.shape(y))
    y = np.asarray(y)

    def one(xi, yi):
        keep = np.ones(yi.shape, bool) if ignore_index is None else yi != ignore_index
        xi, yi = xi[keep], yi[keep].astype(np.float64)
        errors = np.maximum(1.0 - xi * (2.0 * yi - 1.0), 0.0)
        return choquet_jaccard(errors, yi == 1)

    if not per_image:
        return np.float64(one(x.reshape(-1), y.reshape(-1)))
    return np.array([one(xi.reshape(-1), yi.reshape(-1)) for xi, yi in zip(x, y, strict=True)])


def softmax_oracle(
    x, y, classes="present", per_image=False, ignore_index=None, from_logits=True, axis=1
):
    """Per-image (N,) losses, or the batch's loss, from the definition."""
    p = softmax(np.asarray(x, np.float64), axis) if from_logits else np.asarray(x, np.float64)
    p = np.moveaxis(p, axis, -1)  # (N, d..., C)
    n_classes = p.shape[-1]
    y = np.asarray(y)

    def one(pi, yi):
        pi, yi = pi.reshape(-1, n_classes), yi.reshape(-1)
        keep = np.ones(yi.shape, bool) if ignore_index is None else yi != ignore_index
        pi, yi = pi[keep], yi[keep]
        if classes == "all":
            chosen = range(n_classes)
        elif classes == "present":
            chosen = [c for c in range(n_classes) if np.any(yi == c)]
        else:
            chosen = classes
        losses = [choquet_jaccard(np.abs((yi == c) - pi[:, c]), yi == c) for c in chosen]
        return float(np.mean(losses)) if losses else 0.0

    if not per_image:
        return np.float64(one(p, y))
    return np.array([one(pi, yi) for pi, yi in zip(p, y, strict=True)])


# ------------------------------------------------------------------------------------------
# Data: one (2, 3, 3) binary batch and one (2, 3, 3, 3) three-class batch (JAX compiles each
# eager op once per shape and dtype)
# ------------------------------------------------------------------------------------------

RNG = np.random.default_rng(20180618)
BX = 2.0 * RNG.standard_normal((2, 3, 3))
BY = RNG.integers(0, 2, (2, 3, 3))
BY_IGN = BY.copy()
BY_IGN[0, 0, :2] = IGNORE
BY_IGN[1, 2, 1] = IGNORE
MX = 2.0 * RNG.standard_normal((2, 3, 3, 3))
MY = RNG.integers(0, 3, (2, 3, 3))
MY[1][MY[1] == 2] = 0  # class 2 absent from image 1: 'present' per image differs from 'all'
MY_IGN = MY.copy()
MY_IGN[0, 1, :] = IGNORE
MY_IGN[1, 0, 0] = IGNORE


# ------------------------------------------------------------------------------------------
# Hand computations from the paper's definition
# ------------------------------------------------------------------------------------------


def test_hinge_three_pixels_by_hand():
    # x = [2, -1, 0.5], y = [1, 0, 0]: signs [1, -1, -1], errors 1 - x s = [-1, 0, 1.5].
    # Decreasing: pixel 2 (1.5, bg), pixel 1 (0, bg), pixel 0 (-1, fg); |F| = 1.
    # J_1 = 1 - (1 - 0) / (1 + 1) = 1/2, J_2 = 1 - 1/3 = 2/3, J_3 = 1 - 0/3 = 1.
    # g = [1/2, 1/6, 1/3]; loss = 1.5 * 1/2 + 0 * 1/6 + 0 * 1/3 = 0.75.
    out = lovasz_hinge_loss(np.array([[2.0, -1.0, 0.5]]), np.array([[1, 0, 0]]))
    assert_close(out, 0.75, 1e-15)
    # Its gradient: only pixel 2 has a positive error; d loss / d x_2 = -s_2 g_1 = +1/2.
    torch = pytest.importorskip("torch")
    x = torch.tensor([[2.0, -1.0, 0.5]], dtype=torch.float64, requires_grad=True)
    lovasz_hinge_loss(x, torch.tensor([[1, 0, 0]])).backward()
    assert_close(x.grad, [[0.0, 0.0, 0.5]], 1e-15)


def test_softmax_two_pixels_by_hand():
    # Probabilities p = [[0.8, 0.2], [0.4, 0.6]] (pixel, class), labels [0, 0].
    # Class 0: F = {0, 1}, errors |1 - p_0| = [0.2, 0.6]; decreasing: pixel 1, pixel 0.
    #   J_1 = 1 / (2 + 0) = 1/2, J_2 = 2 / 2 = 1; loss_0 = 0.6 * 1/2 + 0.2 * (1 - 1/2) = 0.4.
    # Class 1: F = {}, errors p_1 = [0.2, 0.6]; J_1 = 1 / (0 + 1) = 1, J_2 = 2 / 2 = 1;
    #   loss_1 = 0.6 * 1 + 0.2 * 0 = 0.6 (the largest error, as for any absent class).
    p = np.array([[[0.8, 0.4]], [[0.2, 0.6]]])[None]  # (1, 2, 1, 2): N, C, H, W
    y = np.array([[[0, 0]]])
    kw = {"from_logits": False}
    assert_close(lovasz_softmax_loss(p, y, **kw), 0.4, 1e-15)  # 'present': class 0 only
    assert_close(lovasz_softmax_loss(p, y, classes="all", **kw), 0.5, 1e-15)
    assert_close(lovasz_softmax_loss(p, y, classes=[1], **kw), 0.6, 1e-15)
    assert_close(lovasz_softmax_loss(p, y, classes=(1, 0, 0), **kw), (0.6 + 0.8) / 3, 1e-15)


def test_choquet_oracle_by_hand():
    # Guard on the oracle itself: errors [0.5, 0.5, 0.2], F = {0, 2}: levels 0.5 and 0.2.
    # (0.5 - 0.2) * Delta({0, 1}) + 0.2 * Delta({0, 1, 2}) = 0.3 * 2/3 + 0.2 * 3/3 = 0.4
    # (Delta({0, 1}) = |{0, 1}| / |{0, 2} u {0, 1}| = 2/3).
    assert choquet_jaccard([0.5, 0.5, 0.2], [1, 0, 1]) == pytest.approx(0.4, rel=1e-15)


# ------------------------------------------------------------------------------------------
# Values against the definition, every backend
# ------------------------------------------------------------------------------------------


# The registry (conformance/extra_lovasz.py) runs every backend and dtype against a transcription
# of Berman's code on these options; here the losses meet the definition, on NumPy float64.


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"reduction": "none"},
        {"reduction": "sum", "ignore_index": IGNORE},
        {"per_image": False},
        {"per_image": False, "ignore_index": IGNORE, "reduction": "none"},
    ],
)
def test_hinge_values(kwargs):
    y = BY_IGN if "ignore_index" in kwargs else BY
    out = lovasz_hinge_loss(BX, y, **kwargs)
    per_image = kwargs.get("per_image", True)
    expected = hinge_oracle(BX, y, per_image, kwargs.get("ignore_index"))
    if per_image:
        expected = reduce_empty_as_zero(expected, kwargs.get("reduction", "mean"))
    assert np.shape(out) == np.shape(expected)
    assert_close(out, expected, RTOL["float64"])


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"classes": "all"},
        {"per_image": True, "reduction": "none"},
        {"per_image": True, "classes": [2, 1, 1], "reduction": "sum"},
        {"per_image": True, "ignore_index": IGNORE},
        {"ignore_index": IGNORE, "classes": "all"},
    ],
)
def test_softmax_values(kwargs):
    y = MY_IGN if "ignore_index" in kwargs else MY
    out = lovasz_softmax_loss(MX, y, **kwargs)
    per_image = kwargs.get("per_image", False)
    expected = softmax_oracle(
        MX,
        y,
        kwargs.get("classes", "present"),
        per_image,
        kwargs.get("ignore_index"),
    )
    if per_image:
        expected = reduce_empty_as_zero(expected, kwargs.get("reduction", "mean"))
    assert np.shape(out) == np.shape(expected)
    assert_close(out, expected, 1e-12)


def test_present_differs_from_all_per_image():
    """Class 2 is absent from image 1: 'present' averages 2 classes there, 'all' 3."""
    present = lovasz_softmax_loss(MX, MY, per_image=True, reduction="none")
    everything = lovasz_softmax_loss(MX, MY, per_image=True, classes="all", reduction="none")
    p = softmax(MX, 1)
    # image 1, class 2 absent: its loss is its largest probability of class 2
    absent = p[1, 2].max()
    losses_1 = [
        choquet_jaccard(np.abs((MY[1] == c) - p[1, c]).reshape(-1), (MY[1] == c).reshape(-1))
        for c in range(2)
    ]
    assert_close(present[1], np.mean(losses_1), 1e-12)
    assert_close(everything[1], (sum(losses_1) + absent) / 3, 1e-12)
    assert_close(present[0], everything[0], 1e-12)  # image 0 has all three classes


def test_channels_last_and_probabilities():
    """channel_axis=-1 on (N, d..., C) equals channels-first; probabilities equal logits' softmax
    (from_logits=False is Berman's reference's input, from_logits=True smp's)."""
    x_last = np.moveaxis(MX, 1, -1)
    expected = reduce_empty_as_zero(softmax_oracle(MX, MY, per_image=True), "mean")
    assert_close(lovasz_softmax_loss(x_last, MY, channel_axis=-1, per_image=True), expected, 1e-12)
    assert_close(lovasz_softmax_loss(MX, MY, channel_axis=-3, per_image=True), expected, 1e-12)
    probs = softmax(MX, 1)
    assert_close(lovasz_softmax_loss(probs, MY, from_logits=False), softmax_oracle(MX, MY), 1e-12)


def test_hinge_unit_channel_and_target_dtypes():
    """(N, 1, d...) logits with (N, d...) labels (smp's binary layout); bool / float labels."""
    expected = reduce_empty_as_zero(hinge_oracle(BX, BY), "mean")
    assert_close(lovasz_hinge_loss(BX[:, None], BY), expected, 1e-12)
    assert_close(lovasz_hinge_loss(BX[:, None], BY[:, None]), expected, 1e-12)
    assert_close(lovasz_hinge_loss(BX, BY.astype(bool)), expected, 1e-12)
    assert_close(lovasz_hinge_loss(BX, BY.astype(np.float64)), expected, 1e-12)
    # a (N, C, H, W) multilabel input is one mask of C H W pixels per image
    x4, y4 = MX, (MX > 0.3).astype(np.int64)
    assert_close(
        lovasz_hinge_loss(x4, y4), reduce_empty_as_zero(hinge_oracle(x4, y4), "mean"), 1e-12
    )


def test_value_invariant_to_pixel_order():
    """The Lovász extension is symmetric in the pixels: permuting them keeps the loss, ties
    included (hard 0/1 logits)."""
    perm = RNG.permutation(9)
    hard = np.round(BX.clip(-1, 1)).reshape(2, 9)
    for x in (BX.reshape(2, 9), hard):
        a = lovasz_hinge_loss(x, BY.reshape(2, 9), reduction="none")
        b = lovasz_hinge_loss(x[:, perm], BY.reshape(2, 9)[:, perm], reduction="none")
        assert_close(a, to_numpy(b), 1e-15)


# ------------------------------------------------------------------------------------------
# ignore_index: masked (static shapes) equals removed
# ------------------------------------------------------------------------------------------


def test_ignore_equals_removal_and_blocks_gradient():
    torch = pytest.importorskip("torch")
    x = torch.tensor(BX.reshape(2, 9), requires_grad=True)
    y = BY_IGN.reshape(2, 9)
    out = lovasz_hinge_loss(x, torch.tensor(y), ignore_index=IGNORE, reduction="none")
    for i in range(2):  # each image with its ignored pixels removed
        keep = y[i] != IGNORE
        alone = lovasz_hinge_loss(BX.reshape(2, 9)[i][keep][None], y[i][keep][None])
        assert_close(out[i], to_numpy(alone), 1e-15)
    out.sum().backward()
    assert np.all(x.grad.numpy()[y == IGNORE] == 0.0)

    p = torch.tensor(MX, requires_grad=True)
    out = lovasz_softmax_loss(p, torch.tensor(MY_IGN), ignore_index=IGNORE, classes="all")
    out.backward()
    ignored = np.broadcast_to((MY_IGN == IGNORE)[:, None], MX.shape)
    assert np.all(p.grad.numpy()[ignored] == 0.0)


@pytest.mark.parametrize("loss", ["hinge", "softmax"])
def test_all_ignored_is_zero_with_zero_gradient(loss):
    """Every pixel ignored: the reference's 'only void pixels' case, loss 0 and no gradient;
    per image, an image with no valid pixel counts as 0 in the mean over all images."""
    torch = pytest.importorskip("torch")
    if loss == "hinge":
        fn, x, y = lovasz_hinge_loss, BX, BY.copy()
    else:
        fn, x, y = lovasz_softmax_loss, MX, MY.copy()
    y[1] = IGNORE
    xt = torch.tensor(x, requires_grad=True)
    out = fn(xt, torch.tensor(y), ignore_index=IGNORE, per_image=True, reduction="none")
    assert to_numpy(out)[1] == 0.0
    out.sum().backward()
    assert np.all(xt.grad.numpy()[1] == 0.0)
    mean = fn(x, y, ignore_index=IGNORE, per_image=True)
    assert_close(mean, to_numpy(out).sum() / 2, 1e-15)
    y[:] = IGNORE
    assert_close(fn(x, y, ignore_index=IGNORE, per_image=False), 0.0, 0.0)


def test_present_with_no_class_present_is_zero():
    y = np.full(MY.shape, IGNORE)
    assert_close(lovasz_softmax_loss(MX, y, ignore_index=IGNORE), 0.0, 0.0)


@pytest.mark.parametrize("per_image", [True, False])
def test_empty_batch(backend, per_image):
    """No image: per-image 'none' is (0,), 'mean' is 0 (the reference's mean of nothing)."""
    x, y = np.zeros((0, 3, 3)), np.zeros((0, 3, 3), dtype=np.int64)
    out = lovasz_hinge_loss(make(backend, x, "float32"), make(backend, y), per_image=per_image)
    assert_result(out, backend, "float32", ())
    assert_close(out, 0.0, 0.0)
    out = lovasz_hinge_loss(make(backend, x), make(backend, y), reduction="none")
    assert_result(out, backend, "float64", (0,))
    xm = np.zeros((0, 3, 3, 3))
    out = lovasz_softmax_loss(make(backend, xm), make(backend, y), per_image=per_image)
    assert_close(out, 0.0, 0.0)


# ------------------------------------------------------------------------------------------
# Gradients at ties (away from ties: the registry's finite differences, which skip ties)
# ------------------------------------------------------------------------------------------


def _tie_subgradient(errors: np.ndarray, fg: np.ndarray) -> np.ndarray:
    """d/dm of the Lovász extension with ties broken by pixel index (from the definition):
    the pixel at position k of the order gets Delta_J(S_k) - Delta_J(S_{k-1})."""
    order = sorted(range(len(errors)), key=lambda i: (-errors[i], i))
    grad = np.zeros(len(errors))
    prev = 0.0
    for k in range(len(order)):
        top = np.zeros(len(errors), bool)
        top[order[: k + 1]] = True
        cur = jaccard_set_loss(top, fg)
        grad[order[k]] = cur - prev
        prev = cur
    return grad


def test_hinge_gradient_at_ties_is_the_pixel_order_subgradient(ad_backend):
    """Hard 0/1 logits: errors 0, 1 or 2 with many ties; every backend's gradient is the
    subgradient of the stable pixel order (relu's gradient 0 at error 0, as torch)."""
    x = np.array([[1.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0]])
    y = np.array([[1, 1, 0, 1, 0, 1, 0, 0]])
    s = 2.0 * y[0] - 1.0
    e = 1.0 - x[0] * s  # [0, 1, 2, 0, 1, 1, 2, 1]
    g = _tie_subgradient(e, y[0] == 1)
    expected = np.where(e > 0, -s * g, 0.0)[None]
    got = backend_grad(ad_backend, lovasz_hinge_loss, [x, y], 0)
    assert_close(got, expected, 1e-15)


def test_softmax_gradient_at_ties_is_the_pixel_order_subgradient(ad_backend):
    """One-hot probabilities: every error is 0 or 1; the gradient (w.r.t. the probabilities)
    is the stable pixel order's subgradient times sign(p - f) (0 where p = f, as torch's abs)."""
    y = np.array([[0, 1, 1, 2, 0, 1]])
    pred = np.array([0, 1, 2, 2, 1, 1])
    p = np.eye(3)[pred].T[None]  # (1, 3, 6)
    expected = np.zeros_like(p)
    for c in range(3):
        fg = y[0] == c
        errors = np.abs(fg - p[0, c])
        expected[0, c] = np.sign(p[0, c] - fg) * _tie_subgradient(errors, fg) / 3
    got = backend_grad(
        ad_backend,
        lambda q, t: lovasz_softmax_loss(q, t, from_logits=False, classes="all"),
        [p, y],
        0,
    )
    assert_close(got, expected, 1e-15)


# ------------------------------------------------------------------------------------------
# Compiled: static shapes trace under jax.jit (the conformance suite runs every compiler on
# each loss's ignore_index case)
# ------------------------------------------------------------------------------------------


def test_jax_jit_with_ignore_and_present():
    """Both losses under one jax.jit, with ignored pixels and 'present' per image; labels in
    {0, 1, ignore} so the hinge takes them too (class 2 then absent for the softmax)."""
    jax = pytest.importorskip("jax")
    y = np.where(MY_IGN == IGNORE, IGNORE, MY_IGN.clip(0, 1))

    @jax.jit
    def f(x, t):
        soft = lovasz_softmax_loss(x, t, per_image=True, ignore_index=IGNORE)
        return soft + lovasz_hinge_loss(x[:, 0], t, ignore_index=IGNORE)

    expected = reduce_empty_as_zero(
        softmax_oracle(MX, y, per_image=True, ignore_index=IGNORE), "mean"
    )
    expected += reduce_empty_as_zero(hinge_oracle(MX[:, 0], y, ignore_index=IGNORE), "mean")
    assert_close(f(jax.numpy.asarray(MX), jax.numpy.asarray(y)), expected, 1e-12)


# ------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("x", "y", "kwargs", "error", "match"),
    [
        (BX, BY + 1, {}, ValueError, r"target must hold binary labels 0 or 1; got the value 2"),
        (BX, BY_IGN, {}, ValueError, r"target .* got the value 255"),
        (BX, BY[:, :2], {}, ValueError, r"target has shape \(2, 2, 3\) but input has shape"),
        (BX[0, 0], BY[0, 0], {}, ValueError, r"input has shape \(3,\); expected \(N, d1"),
        (BX, BY, {"reduction": "batchmean"}, ValueError, r"reduction='batchmean'"),
        (BX, BY, {"per_image": 1}, TypeError, r"per_image must be a bool; got 1"),
        (BX, BY, {"ignore_index": 2.5}, TypeError, r"ignore_index must be an int"),
        (BY, BY, {}, TypeError, r"input must have a real floating dtype"),
    ],
)
def test_hinge_bad_input(x, y, kwargs, error, match):
    with pytest.raises(error, match=match):
        lovasz_hinge_loss(x, y, **kwargs)


@pytest.mark.parametrize(
    ("x", "y", "kwargs", "error", "match"),
    [
        (MX, MY + 1, {}, ValueError, r"target holds class index 3, out of range for 3 classes"),
        (MX, MY.astype(np.float64), {}, TypeError, r"target must have an integer dtype"),
        (MX, MY[:, :2], {}, ValueError, r"target has shape \(2, 2, 3\) .* expected class"),
        (MX[:, :1], MY, {}, ValueError, r"expected C >= 2 classes .*lovasz_hinge_loss"),
        (MX, MY, {"classes": "some"}, ValueError, r"classes='some' is not valid"),
        (MX, MY, {"classes": []}, ValueError, r"classes is an empty sequence"),
        (MX, MY, {"classes": [0, 3]}, ValueError, r"classes holds class index 3"),
        (MX, MY, {"classes": [0.5]}, TypeError, r"classes must hold int class indices"),
        (MX, MY, {"classes": 1}, TypeError, r"classes must be 'present', 'all' or a list"),
        (MX, MY, {"channel_axis": 0}, ValueError, r"channel_axis=0 is not a channel axis"),
        (MX, MY, {"channel_axis": 4}, ValueError, r"channel_axis=4 is not a channel axis"),
        (MX, MY, {"from_logits": False}, ValueError, r"input must have probabilities"),
        (MX, MY, {"from_logits": "yes"}, TypeError, r"from_logits must be a bool"),
        (MX, MY, {"reduction": "mean_over"}, ValueError, r"reduction='mean_over'"),
    ],
)
def test_softmax_bad_input(x, y, kwargs, error, match):
    with pytest.raises(error, match=match):
        lovasz_softmax_loss(x, y, **kwargs)
