"""Detection losses (torchvision.ops) vs torchvision's source, transcribed, and the papers.

torchvision is not installed, so its four loss functions are transcribed formula by formula from
the source (``torchvision/ops/focal_loss.py``, ``giou_loss.py``, ``diou_loss.py``,
``ciou_loss.py``, ``_utils.py``), once, over a small table of ops, in
:mod:`lossbridge.conformance.references` (the conformance suite's reference for these losses),
and run two ways:

* on NumPy float64 arrays: the expected values;
* on torch float64 tensors with autograd: the expected gradients, with torch's own rules
  (``torch.max``/``torch.min`` split the gradient at ties, the masked intersection, ``no_grad``).

The values of every reduction on every backend and dtype, against the NumPy run and (focal)
optax, and the gradients in the logits and boxes against finite differences, are the
conformance registry's (``conformance/registry.py``). Here: the two runs against each other, hand
computations from the papers' definitions and reference section 3.11's focal numbers, eps and
batch shapes, dtype and device rules, errors, gradients against torch's autograd of the
transcription (ties, the masked intersection) and in the focal targets, and the compiled modes
on boxes with ties. Nothing here calls lossbridge to get an expected value.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest
from _helpers import (
    DTYPES,
    assert_close,
    assert_result,
    backend_grad,
    ignore_fp_warnings,
    make,
    rounded,
    to_numpy,
)

from lossbridge.conformance.references import (
    NUMPY_OPS,
    tv_ciou,
    tv_diou,
    tv_diou_iou_loss,
    tv_focal,
    tv_giou,
)
from lossbridge.detection import (
    complete_box_iou_loss,
    distance_box_iou_loss,
    generalized_box_iou_loss,
    sigmoid_focal_loss,
)

REDUCTIONS = ("none", "mean", "sum")
# float32: box losses subtract nearly equal areas ((C - U) / C, 1 - IoU), so a few float32 ulp of
# the areas, relative to a loss of order 1.
TOL = {"float32": (2e-5, 2e-6), "float64": (1e-12, 1e-14)}

# ------------------------------------------------------------------------------------------
# torchvision, transcribed (ops table: NumPy for values, torch for autograd). The transcription
# lives in lossbridge.conformance.references, which the conformance suite uses as these losses'
# reference; here it also runs on torch tensors, through torch_ops().
# ------------------------------------------------------------------------------------------

NP = NUMPY_OPS


def torch_ops():
    import torch
    import torch.nn.functional as F

    return SimpleNamespace(
        max=torch.max,  # two tensors: torch.maximum, gradient 1/2 each at ties
        min=torch.min,
        atan=torch.atan,
        zeros_like=torch.zeros_like,
        no_grad=lambda t: t.detach(),
        sigmoid=torch.sigmoid,
        bce_with_logits=lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction="none"),
    )


BOX_LOSSES = {
    "giou": (generalized_box_iou_loss, tv_giou),
    "diou": (distance_box_iou_loss, tv_diou),
    "ciou": (complete_box_iou_loss, tv_ciou),
}


def tv_torch_grad(ref, args, wrt, **kwargs):
    """Gradient of sum(ref(torch ops, *args)) w.r.t. args[wrt], through torch's autograd."""
    torch = pytest.importorskip("torch")

    ts = [torch.tensor(a, dtype=torch.float64) for a in args]
    ts[wrt].requires_grad_(True)
    ref(torch_ops(), *ts, **kwargs).sum().backward()
    return ts[wrt].grad.numpy()


def central_fd(f, args, wrt, h=1e-5):
    """Finite difference of sum(f(*args)) w.r.t. args[wrt] (float64), second order at kinks too.

    The mean of the two one-sided second-order differences,
    (-f(x + 2h) + 4 f(x + h) - 4 f(x - h) + f(x - 2h)) / 4h: O(h^2) where f is smooth, and where
    a max/min ties it tends to the mean of the one-sided slopes, which is the gradient torch's
    rule gives (each side half). The plain central difference is only O(h) there.
    """
    x = np.array(args[wrt], dtype=np.float64)
    grad = np.zeros_like(x)

    def at(idx, step):
        y = x.copy()
        y[idx] += step
        return np.sum(f(*[y if i == wrt else a for i, a in enumerate(args)]))

    for idx in np.ndindex(x.shape):
        grad[idx] = (-at(idx, 2 * h) + 4 * at(idx, h) - 4 * at(idx, -h) + at(idx, -2 * h)) / (4 * h)
    return grad


# ------------------------------------------------------------------------------------------
# Data: one (8, 4) pair of box sets (JAX compiles each eager op once per shape and dtype)
# ------------------------------------------------------------------------------------------

B1 = np.array(
    [
        [0.3, 0.8, 2.9, 3.1],  # generic overlap
        [1.2, 0.4, 2.0, 2.7],  # generic overlap, other aspect
        [0.0, 0.0, 4.0, 4.0],  # contains the other box
        [0.0, 0.0, 1.0, 1.0],  # disjoint from the other box
        [0.5, 1.0, 2.0, 3.0],  # identical boxes: every max/min is a tie
        [0.0, 0.0, 2.0, 1.0],  # same x1 and y1 as the other box (ties in max and min)
        [0.0, 0.0, 1.0, 1.0],  # touches the other box along x = 1 (zero-width overlap)
        [2.5, 1.5, 3.5, 4.0],  # generic overlap
    ]
)
B2 = np.array(
    [
        [1.1, 0.2, 3.3, 2.5],
        [0.6, 1.1, 2.4, 1.9],
        [1.0, 0.5, 3.0, 3.5],
        [2.0, 0.5, 3.0, 2.0],
        [0.5, 1.0, 2.0, 3.0],
        [0.0, 0.0, 1.0, 2.0],
        [1.0, 0.0, 2.0, 1.0],
        [1.7, 2.2, 3.1, 3.3],
    ]
)
# Row 6: a finite difference straddles the intersection's mask (overlap > 0), where torch's
# gradient is the masked one (no intersection); only the torch oracle checks that row.
TOUCHING = 6

LOGITS = np.array([[2.0, -1.0, 0.5], [-3.0, 0.0, 4.0], [1.5, -2.5, -0.3], [3.2, 0.7, -4.0]])
TARGETS = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [0.0, 1.0, 1.0], [1.0, 0.3, 0.0]])
FOCAL_OPTIONS = [
    dict(),  # torchvision defaults: alpha 0.25, gamma 2
    dict(alpha=-1),  # no alpha weighting (optax's alpha=None)
    dict(alpha=0.5, gamma=0),  # gamma 0: alpha-weighted BCE
    dict(alpha=0.9, gamma=0.5),
    dict(alpha=0.0, gamma=1),
]


def on(backend, dtype, *arrays):
    return [make(backend, a, dtype) for a in arrays]


def test_numpy_transcription_matches_torch_transcription():
    """The two runs of the transcription agree (guards the ops table)."""
    torch = pytest.importorskip("torch")

    t = [torch.tensor(a) for a in (B1, B2, LOGITS, TARGETS)]
    for name, (_, ref) in BOX_LOSSES.items():
        for r in REDUCTIONS:
            got = ref(torch_ops(), t[0], t[1], reduction=r).numpy()
            np.testing.assert_allclose(got, ref(NP, B1, B2, reduction=r), rtol=1e-14, err_msg=name)
    for kw in FOCAL_OPTIONS:
        got = tv_focal(torch_ops(), t[2], t[3], **kw).numpy()
        np.testing.assert_allclose(got, tv_focal(NP, LOGITS, TARGETS, **kw), rtol=1e-12)


# ------------------------------------------------------------------------------------------
# Values beyond the registry's cases (which take every reduction of random and special box
# pairs, and focal's alpha/gamma options, on every backend and dtype)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(BOX_LOSSES))
def test_box_loss_default_and_symmetry(backend, dtype, name):
    """The default reduction is 'none'; the losses are symmetric in their two arguments."""
    fn, ref = BOX_LOSSES[name]
    b1, b2 = rounded(B1, dtype), rounded(B2, dtype)
    x1, x2 = on(backend, dtype, b1, b2)
    rtol, atol = TOL[dtype]
    assert_close(fn(x1, x2), ref(NP, b1, b2), rtol, atol)
    assert_close(fn(x2, x1), ref(NP, b1, b2), rtol, atol)


@pytest.mark.parametrize("name", list(BOX_LOSSES))
def test_box_loss_eps_and_batch_shape(backend, name):
    """eps where torchvision puts it (CIoU: only in alpha); any leading shape (..., 4)."""
    fn, ref = BOX_LOSSES[name]
    x1, x2 = on(backend, "float64", B1.reshape(2, 4, 4), B2.reshape(2, 4, 4))
    for eps in (0.5, 0.0):
        expected = ref(NP, B1, B2, eps=eps).reshape(2, 4)
        out = fn(x1, x2, eps=eps)
        assert_result(out, backend, "float64", (2, 4))
        assert_close(out, expected, *TOL["float64"])
    one = fn(make(backend, B1[0]), make(backend, B2[0]), reduction="none")
    assert_result(one, backend, "float64", ())
    assert_close(one, ref(NP, B1[0], B2[0]), *TOL["float64"])


# ------------------------------------------------------------------------------------------
# Hand computations from the papers' definitions
# ------------------------------------------------------------------------------------------

# (boxes1, boxes2, GIoU loss, DIoU loss, CIoU loss), eps left out of the arithmetic (its effect,
# ~1e-7 relative, is inside the tolerance below).
HAND = [
    # Two unit boxes offset by 0.5 in x: I = 0.5, U = 1 + 1 - 0.5 = 1.5, IoU = 1/3. Enclosing
    # box [0, 1.5] x [0, 1], C = 1.5 = U: GIoU = 1/3, loss 2/3. Centres (0.5, 0.5) and
    # (1, 0.5): rho^2 = 0.25, diagonal c^2 = 1.5^2 + 1 = 3.25: DIoU loss 2/3 + 1/13.
    # Same aspect ratio: v = 0, CIoU = DIoU.
    ([0, 0, 1, 1], [0.5, 0, 1.5, 1], 2 / 3, 2 / 3 + 1 / 13, 2 / 3 + 1 / 13),
    # A box inside another: I = 4, U = 16, IoU = 1/4, C = 16: GIoU loss 3/4. Same centre
    # (2, 2): DIoU loss 3/4. Both square: CIoU loss 3/4.
    ([0, 0, 4, 4], [1, 1, 3, 3], 0.75, 0.75, 0.75),
    # Disjoint unit boxes 1 apart: IoU = 0, U = 2, C = 3: GIoU = 0 - (3 - 2)/3 = -1/3, so the
    # loss is 4/3 > 1. Centres 2 apart: rho^2 = 4, c^2 = 3^2 + 1^2 = 10: DIoU loss 1 + 0.4.
    ([0, 0, 1, 1], [2, 0, 3, 1], 4 / 3, 1.4, 1.4),
    # Prediction 2 x 1, ground truth 1 x 1 in its left half: I = 1, U = 2, IoU = 1/2, C = U:
    # GIoU loss 1/2. Centres (1, 0.5), (0.5, 0.5): rho^2 = 0.25, c^2 = 4 + 1 = 5: DIoU loss
    # 0.5 + 0.05 = 0.55. v = 4/pi^2 (atan 1 - atan 2)^2, alpha = v / (1 - 1/2 + v).
    ([0, 0, 2, 1], [0, 0, 1, 1], 0.5, 0.55, "ciou_aspect"),
    # Degenerate: a point box (zero area) inside a 2 x 2 box: I = 0 (no positive overlap),
    # U = 4, C = 4: GIoU loss 1; same centre (1, 1): DIoU loss 1; CIoU: w/h = 0/0, NaN, as
    # torchvision.
    ([1, 1, 1, 1], [0, 0, 2, 2], 1.0, 1.0, math.nan),
    # Degenerate: a segment of height 0 along the bottom of a 2 x 2 box: I = 0, U = 4, C = 4:
    # GIoU loss 1. Centres (1, 0), (1, 1): rho^2 = 1, c^2 = 8: DIoU loss 1.125. atan(2/0) =
    # atan(inf) = pi/2, atan(2/2) = pi/4: v = 4/pi^2 (pi/4)^2 = 1/4, alpha = 0.25 / 1.25 = 0.2:
    # CIoU loss 1.125 + 0.05 = 1.175.
    ([0, 0, 2, 0], [0, 0, 2, 2], 1.0, 1.125, 1.175),
    # Two identical point boxes: I = U = C = 0, every ratio is 0 / eps = 0: GIoU and DIoU loss 1.
    ([1, 1, 1, 1], [1, 1, 1, 1], 1.0, 1.0, math.nan),
    # 2 x 2 boxes shifted by (1, 1): I = 1, U = 7, C = 9: GIoU loss 1 - (1/7 - 2/9). Centres 1 apart
    # in x and y: rho^2 = 2, c^2 = 18: DIoU loss 1 - 1/7 + 1/9. Both square: CIoU = DIoU.
    ([0, 0, 2, 2], [1, 1, 3, 3], 1 - (1 / 7 - 2 / 9), 1 - 1 / 7 + 1 / 9, 1 - 1 / 7 + 1 / 9),
]
assert len(HAND) == len(B1)  # one shape: JAX compiles each eager op once


def _ciou_aspect():
    v = 4 / math.pi**2 * (math.atan(1.0) - math.atan(2.0)) ** 2
    alpha = v / (1 - 0.5 + v)
    return 0.55 + alpha * v


@ignore_fp_warnings
@pytest.mark.parametrize("dtype", DTYPES)
def test_box_losses_by_hand(backend, dtype):
    b1 = np.array([h[0] for h in HAND], dtype=np.float64)
    b2 = np.array([h[1] for h in HAND], dtype=np.float64)
    g, d, c = ([h[k] for h in HAND] for k in (2, 3, 4))
    c = [_ciou_aspect() if v == "ciou_aspect" else v for v in c]
    np.testing.assert_allclose(_ciou_aspect(), 0.553248, atol=1e-6)
    x1, x2 = on(backend, dtype, b1, b2)
    tol = 1e-6 if dtype == "float64" else 3e-6  # eps = 1e-7 is not in the hand arithmetic
    assert_close(generalized_box_iou_loss(x1, x2), g, tol, tol)
    assert_close(distance_box_iou_loss(x1, x2), d, tol, tol)
    assert_close(complete_box_iou_loss(x1, x2), c, tol, tol)
    # identical boxes: loss eps / U ~ 0 for all three
    same = make(backend, B1, dtype)
    for fn in (generalized_box_iou_loss, distance_box_iou_loss, complete_box_iou_loss):
        assert_close(fn(same, same), np.zeros(len(B1)), 0.0, 1e-6)


def test_box_eps_by_hand(backend):
    """eps = 0.5 on the offset unit boxes: GIoU IoU = 0.5 / (1.5 + 0.5) = 1/4, penalty 0, loss
    3/4. DIoU: 1 - 1/4 + 0.25 / (3.25 + 0.5) = 0.816667. CIoU ignores eps outside alpha, and
    v = 0: loss 2/3 + 1/13 (with eps 1e-7)."""
    x1, x2 = on(backend, "float64", np.array([[0, 0, 1, 1.0]]), np.array([[0.5, 0, 1.5, 1.0]]))
    assert_close(generalized_box_iou_loss(x1, x2, eps=0.5), [0.75], 1e-12)
    assert_close(distance_box_iou_loss(x1, x2, eps=0.5), [0.75 + 0.25 / 3.75], 1e-12)
    assert_close(complete_box_iou_loss(x1, x2, eps=0.5), [2 / 3 + 1 / 13], 1e-6)


def _sigmoid(z):
    return 1 / (1 + math.exp(-z))


def test_focal_reference_numbers(backend):
    """Reference section 3.11: logits [2, -1, 0.5, -3], y [1, 0, 0, 1].

    Re-derived: p = sigmoid(z) = [0.880797, 0.268941, 0.622459, 0.047426]; p_t = p where y = 1,
    1 - p where y = 0; BCE = -log p_t = [0.126928, 0.313262, 0.974077, 3.048587];
    (1 - p_t)^2 = [0.014209, 0.072329, 0.387456, 0.907397]; alpha_t = [0.25, 0.75, 0.75, 0.25].
    alpha 0.25: [0.000451, 0.016994, 0.283059, 0.691570], mean 0.24802; alpha -1 (optax's
    default alpha=None): [0.001804, 0.022658, 0.377412, 2.766280], mean 0.79204.
    """
    z = [2.0, -1.0, 0.5, -3.0]
    y = [1.0, 0.0, 0.0, 1.0]
    p_t = [_sigmoid(a) if b == 1 else 1 - _sigmoid(a) for a, b in zip(z, y, strict=True)]
    unweighted = [-math.log(q) * (1 - q) ** 2 for q in p_t]
    weighted = [u * (0.25 if b == 1 else 0.75) for u, b in zip(unweighted, y, strict=True)]
    np.testing.assert_allclose(weighted, [0.000451, 0.016994, 0.283059, 0.69157], atol=6e-7)
    np.testing.assert_allclose(unweighted, [0.001804, 0.022658, 0.377412, 2.76628], atol=6e-6)
    zb, yb = on(backend, "float64", np.array(z), np.array(y))
    assert_close(sigmoid_focal_loss(zb, yb), weighted, 1e-12)
    assert_close(sigmoid_focal_loss(zb, yb, alpha=-1), unweighted, 1e-12)
    assert_close(sigmoid_focal_loss(zb, yb, reduction="mean"), 0.24802, 0, 6e-6)
    assert_close(sigmoid_focal_loss(zb, yb, alpha=-1, reduction="mean"), 0.79204, 0, 6e-6)


@pytest.mark.parametrize("dtype", DTYPES)
def test_focal_large_logits(backend, dtype):
    """|x| = 30 and 100 give torchvision's finite numbers (p from exp(log_sigmoid(x))).

    Hard examples: x = 30, y = 0 and x = -30, y = 1 have BCE = 30 + log(1 + e^-30) ~ 30 and
    1 - p_t ~ 1, so the loss is alpha_t * 30: 0.75 * 30 = 22.5 and 0.25 * 30 = 7.5; at |x| = 100,
    75 and 25. Easy examples (x = 30, y = 1, ...): BCE ~ e^-30 and (1 - p_t)^2 ~ e^-60: ~0.
    """
    x = np.array([30.0, -30.0, 100.0, -100.0, 30.0, -30.0, 100.0, -100.0])
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
    xb, yb = on(backend, dtype, x, y)
    out = sigmoid_focal_loss(xb, yb)
    assert np.isfinite(to_numpy(out)).all()
    assert_close(out, [22.5, 7.5, 75.0, 25.0, 0, 0, 0, 0], 1e-6, 1e-30)
    assert_close(out, tv_focal(NP, x, y), 1e-6, 1e-30)
    assert_close(sigmoid_focal_loss(xb, yb, alpha=-1), [30, 30, 100, 100, 0, 0, 0, 0], 1e-6, 1e-30)


# ------------------------------------------------------------------------------------------
# Dtypes and devices (empty inputs are the registry's "empty" cases)
# ------------------------------------------------------------------------------------------


def test_integer_boxes_are_float32(backend):
    """torchvision's _upcast_non_float: integer boxes are computed in float32."""
    b1 = np.array([[0, 0, 2, 2], [0, 0, 1, 1]])
    b2 = np.array([[1, 1, 3, 3], [2, 0, 3, 1]])
    x1, x2 = on(backend, None, b1, b2)
    # [0,0,2,2] vs [1,1,3,3]: I = 1, U = 7, C = 9: GIoU loss 1 - (1/7 - 2/9) = 1.079365
    out = generalized_box_iou_loss(x1, x2)
    assert_result(out, backend, "float32", (2,))
    assert_close(out, [1 - (1 / 7 - 2 / 9), 4 / 3], 1e-6)
    for fn in (distance_box_iou_loss, complete_box_iou_loss):
        assert_result(fn(x1, x2, reduction="sum"), backend, "float32", ())


def test_mixed_dtypes_promote():
    torch = pytest.importorskip("torch")

    b1 = torch.tensor(B1, dtype=torch.float32)
    out = generalized_box_iou_loss(b1, torch.tensor(B2))  # float32 with float64: float64
    assert out.dtype == torch.float64
    out = distance_box_iou_loss(b1, B2.tolist())  # host data takes the boxes' dtype
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    out = complete_box_iou_loss(torch.tensor(B1.astype(np.int64)), torch.tensor(B2))
    assert out.dtype == torch.float64  # int -> float32, then promoted with float64
    out = sigmoid_focal_loss(torch.tensor(LOGITS), torch.tensor(TARGETS > 0.5))
    assert out.dtype == torch.float64  # bool targets cast to the logits' dtype
    assert_close(out, tv_focal(NP, LOGITS, (TARGETS > 0.5).astype(float)), 1e-12)


def test_device_preserved():
    """Results on the inputs' device: array-api-strict's second device, torch's meta."""
    strict = pytest.importorskip("array_api_strict")
    torch = pytest.importorskip("torch")
    dev = strict.Device("device1")
    b1 = strict.asarray(B1, device=dev)
    for fn, ref in BOX_LOSSES.values():
        out = fn(b1, B2.tolist(), reduction="mean")  # host data moved onto device1
        assert out.device == dev
        assert_close(out, ref(NP, B1, B2, reduction="mean"), 1e-12)
        meta = fn(torch.empty(8, 4, device="meta"), torch.empty(8, 4, device="meta"))
        assert meta.device.type == "meta" and tuple(meta.shape) == (8,)
    out = sigmoid_focal_loss(strict.asarray(LOGITS, device=dev), TARGETS)
    assert out.device == dev
    assert_close(out, tv_focal(NP, LOGITS, TARGETS), 1e-12)
    meta = sigmoid_focal_loss(torch.empty(4, 3, device="meta"), torch.empty(4, 3, device="meta"))
    assert meta.device.type == "meta"


# ------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------


def test_errors(backend):
    b = make(backend, B1)
    with pytest.raises(ValueError, match=r"boxes1 has shape \(8, 3\); expected \(\.\.\., 4\)"):
        generalized_box_iou_loss(make(backend, B1[:, :3]), b)
    with pytest.raises(ValueError, match=r"boxes2 has shape \(\); expected \(\.\.\., 4\)"):
        distance_box_iou_loss(b, make(backend, np.float64(1.0)))
    with pytest.raises(ValueError, match=r"boxes2 has shape \(4, 4\) but boxes1 has shape"):
        complete_box_iou_loss(b, make(backend, B2[:4]))
    with pytest.raises(TypeError, match="boxes1 must have a real floating or integer dtype"):
        generalized_box_iou_loss(make(backend, B1 > 1), b)
    for fn in (generalized_box_iou_loss, distance_box_iou_loss, complete_box_iou_loss):
        with pytest.raises(ValueError, match="Invalid Value for arg 'reduction': 'avg'"):
            fn(b, b, reduction="avg")
    x, y = make(backend, LOGITS), make(backend, TARGETS)
    with pytest.raises(ValueError, match="Supported reduction modes: 'none', 'mean', 'sum'"):
        sigmoid_focal_loss(x, y, reduction="batchmean")
    with pytest.raises(TypeError, match="inputs must have a real floating dtype; got"):
        sigmoid_focal_loss(make(backend, np.arange(12).reshape(4, 3)), y)
    with pytest.raises(ValueError, match=r"targets has shape \(3,\) but inputs has shape \(4, 3\)"):
        sigmoid_focal_loss(x, make(backend, TARGETS[0]))
    with pytest.raises(TypeError, match="alpha must be a real number"):
        sigmoid_focal_loss(x, y, alpha=y)
    with pytest.raises(TypeError, match="gamma must be a real number"):
        sigmoid_focal_loss(x, y, gamma=None)


def test_two_frameworks_refused():
    torch = pytest.importorskip("torch")

    with pytest.raises(TypeError, match="boxes2 is a torch array"):
        generalized_box_iou_loss(np.asarray(B1), torch.tensor(B2))


# ------------------------------------------------------------------------------------------
# Gradients: each autodiff backend vs torch's autograd of the transcription, vs a central
# finite difference of the NumPy transcription
# ------------------------------------------------------------------------------------------


def _fd_ref(name):
    """The NumPy transcription as a function of the boxes (CIoU: alpha frozen at B1, B2)."""
    ref = BOX_LOSSES[name][1]
    if name != "ciou":
        return lambda a, b: ref(NP, a, b)
    alpha = _frozen_alpha(B1, B2)
    return lambda a, b: ref(NP, a, b, frozen_alpha=alpha)


def _frozen_alpha(b1, b2):
    _, iou = tv_diou_iou_loss(NP, b1, b2)
    w, h = b1[:, 2] - b1[:, 0], b1[:, 3] - b1[:, 1]
    wg, hg = b2[:, 2] - b2[:, 0], b2[:, 3] - b2[:, 1]
    v = 4 / math.pi**2 * (np.arctan(wg / hg) - np.arctan(w / h)) ** 2
    return v / (1 - iou + v + 1e-7)


@pytest.mark.parametrize("wrt", [0, 1])
@pytest.mark.parametrize("name", list(BOX_LOSSES))
def test_box_gradients(ad_backend, name, wrt):
    fn, ref = BOX_LOSSES[name]
    grad = backend_grad(ad_backend, fn, [B1, B2], wrt)
    # torch's autograd through torchvision's code: ties split 1/2, masked intersection, no_grad
    np.testing.assert_allclose(grad, tv_torch_grad(ref, [B1, B2], wrt), rtol=1e-10, atol=1e-13)
    fd = central_fd(_fd_ref(name), [B1, B2], wrt)
    keep = np.arange(len(B1)) != TOUCHING
    np.testing.assert_allclose(grad[keep], fd[keep], rtol=1e-6, atol=1e-8)


def test_box_gradient_ties_by_hand(ad_backend):
    """Rows 4 and 5 of B1/B2, where max/min tie: torch's rule (half to each side) everywhere.

    Row 4, identical boxes: I = U = C. x2 enters I through min(x2, x2g) (a tie), U through the
    area minus I, C through max(x2, x2g) (a tie); with I = U = C the IoU's and the penalty's
    gradients cancel: 0 (also under TensorFlow's all-to-the-first-argument rule).

    Row 5, boxes1 = [0, 0, 2, 1], boxes2 = [0, 0, 1, 2] (ties at x1 and y1): I = 1, U = 3,
    C = 4. d/dx1 with the ties split: I = (1 - max(x1, 0)) * 1: dI = -1/2. A1 = (2 - x1) * 1:
    dA1 = -1, dU = dA1 - dI = -1/2. C = (2 - min(x1, 0)) * 2: dC = -1.
    dIoU = (dI U - I dU) / U^2 = (-3/2 + 1/2) / 9 = -1/9; penalty P = (C - U) / C:
    dP = ((dC - dU) C - (C - U) dC) / C^2 = (-2 + 1) / 16 = -1/16. loss = 1 - IoU + P:
    d loss / d x1 = 1/9 - 1/16 = 7/144. (All to x1, TensorFlow's rule, would give -1/24.)
    """
    grad = backend_grad(ad_backend, generalized_box_iou_loss, [B1, B2], 0)
    np.testing.assert_allclose(grad[4], 0.0, atol=1e-6)
    np.testing.assert_allclose(grad[5, 0], 7 / 144, rtol=1e-6)


def test_focal_target_gradients(ad_backend):
    """The gradient in the targets (the registry differentiates the logits only)."""
    wrt = 1
    for kw in FOCAL_OPTIONS:
        fn = lambda x, y, kw=kw: sigmoid_focal_loss(x, y, **kw)  # noqa: E731
        grad = backend_grad(ad_backend, fn, [LOGITS, TARGETS], wrt)
        expected = tv_torch_grad(tv_focal, [LOGITS, TARGETS], wrt, **kw)
        np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-15, err_msg=str(kw))
        fd = central_fd(lambda x, y, kw=kw: tv_focal(NP, x, y, **kw), [LOGITS, TARGETS], wrt)
        np.testing.assert_allclose(grad, fd, rtol=1e-6, atol=1e-9, err_msg=str(kw))


def test_focal_gradient_large_logits(ad_backend):
    """Finite, and torch's: 0.75 at x = 100, y = 0 (d BCE = p - y = 1, (1 - p_t) = 1 flat)."""
    x = np.array([30.0, -30.0, 100.0, -100.0, 30.0, -30.0, 100.0, -100.0])
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0])
    for dtype in DTYPES:
        grad = backend_grad(ad_backend, sigmoid_focal_loss, [x, y], 0, dtype)
        assert np.isfinite(grad).all()
        expected = tv_torch_grad(tv_focal, [rounded(x, dtype), y], 0)
        # easy examples: gradients ~1e-26 from 1 - p (cancellation, as in torchvision)
        np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-12)
        np.testing.assert_allclose(grad[2], 0.75, rtol=1e-6)
    # gamma = 0 at a saturated logit: torch's pow gives gradient 0 for (1 - p_t) ** 0
    fn = lambda a, b: sigmoid_focal_loss(a, b, gamma=0)  # noqa: E731
    grad = backend_grad(ad_backend, fn, [x, y], 0, "float32")
    expected = tv_torch_grad(tv_focal, [rounded(x, "float32"), y], 0, gamma=0)
    np.testing.assert_allclose(grad, expected, rtol=1e-5, atol=1e-12)


# ------------------------------------------------------------------------------------------
# Compiled: jax.jit, tf.function(jit_compile=True), torch.compile(fullgraph=True), on box pairs
# with ties, against torch's tie rule (the registry compiles random boxes and focal's cases)
# ------------------------------------------------------------------------------------------

ALL = {
    name: (lambda a, b, r, fn=fn: fn(a, b, reduction=r), B1, B2, ref)
    for name, (fn, ref) in BOX_LOSSES.items()
}


@pytest.mark.parametrize("name", list(ALL))
def test_jax_jit(name):
    jax = pytest.importorskip("jax")
    fn, a, b, ref = ALL[name]
    for r in ("none", "mean"):
        out = jax.jit(lambda x, y, r=r: fn(x, y, r))(jax.numpy.asarray(a), jax.numpy.asarray(b))
        assert_close(out, ref(NP, a, b, reduction=r), *TOL["float64"])
    g = jax.jit(jax.grad(lambda x, y: fn(x, y, "sum")))(jax.numpy.asarray(a), jax.numpy.asarray(b))
    np.testing.assert_allclose(to_numpy(g), tv_torch_grad(ref, [a, b], 0), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("name", list(ALL))
def test_tf_function_xla(name):
    tf = pytest.importorskip("tensorflow")
    fn, a, b, ref = ALL[name]

    @tf.function(jit_compile=True)
    def value_and_grad(x, y):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = fn(x, y, "mean")
        return loss, tape.gradient(loss, x)

    value, grad = value_and_grad(tf.constant(a), tf.constant(b))
    assert_close(value, ref(NP, a, b, reduction="mean"), 1e-12)
    expected = tv_torch_grad(ref, [a, b], 0, reduction="mean")
    np.testing.assert_allclose(to_numpy(grad), expected, rtol=1e-10, atol=1e-13)


@ignore_fp_warnings
def test_tf_function_unknown_batch_mean():
    """A None batch dimension: 'mean' of no boxes is still 0 (counted at run time)."""
    tf = pytest.importorskip("tensorflow")
    spec = tf.TensorSpec([None, 4], tf.float64)
    for fn, ref in BOX_LOSSES.values():
        f = tf.function(lambda x, y, fn=fn: fn(x, y, reduction="mean"), input_signature=[spec] * 2)
        assert_close(f(tf.constant(B1), tf.constant(B2)), ref(NP, B1, B2, reduction="mean"), 1e-12)
        empty = tf.zeros((0, 4), tf.float64)
        assert to_numpy(f(empty, empty)) == 0.0


@pytest.mark.parametrize("name", list(ALL))
def test_torch_compile_fullgraph(name):
    torch = pytest.importorskip("torch")
    fn, a, b, ref = ALL[name]
    compiled = torch.compile(lambda x, y: fn(x, y, "mean"), backend="eager", fullgraph=True)
    x = torch.tensor(a, requires_grad=True)
    out = compiled(x, torch.tensor(b))
    assert_close(out, ref(NP, a, b, reduction="mean"), 1e-12)
    out.backward()
    expected = tv_torch_grad(ref, [a, b], 0, reduction="mean")
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-10, atol=1e-13)
