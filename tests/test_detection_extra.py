"""box_iou_loss, efficient_box_iou_loss (EIoU / Focal-EIoU) and scylla_box_iou_loss (SIoU).

Every reduction's value on every backend and dtype, MONAI's ``box_iou``, the gradients on
random boxes and empty inputs are the conformance registry's (``conformance/extra_boxes.py``).
Here: expected values from plain float64 NumPy formulas written here from the papers (Zhang et
al. 2022 for EIoU, Gevorgyan 2022 for SIoU, with the angle cost in the paper's arcsin form and
its pi/4 switch), from hand computations on tiny inputs, and from NumPy transcriptions of
YOLOv6's ``IOUloss(iou_type='siou')`` and of mmdetection's ``eiou_loss`` and ``siou_loss`` (not
installed; transcribed from the source, to pin down how they differ). Nothing here calls
lossbridge to get an expected value, except the relation tests, which check the documented
identities with the torchvision losses (themselves tested against torchvision's transcribed
source in ``test_detection.py``).
"""

from __future__ import annotations

import math

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

from lossbridge.conformance.references import reduce_empty_as_zero
from lossbridge.detection import (
    box_iou_loss,
    distance_box_iou_loss,
    efficient_box_iou_loss,
    generalized_box_iou_loss,
    scylla_box_iou_loss,
)

# float32: 1 - IoU and the cost terms subtract nearly equal numbers of order 1.
TOL = {"float32": (2e-5, 2e-6), "float64": (1e-12, 1e-14)}

# ------------------------------------------------------------------------------------------
# Data: (8, 4) box sets (JAX compiles each eager op once per shape and dtype)
# ------------------------------------------------------------------------------------------

_rng = np.random.default_rng(20220525)
_xy = _rng.uniform(0.0, 2.0, (2, 8, 2))
_wh = _rng.uniform(0.5, 2.5, (2, 8, 2))
R1, R2 = np.concatenate([_xy, _xy + _wh], axis=-1)  # random, mostly overlapping

S1 = np.array(
    [
        [0.0, 0.0, 4.0, 2.0],  # coincident centres (2, 1), different shapes: sigma = 0
        [0.0, 0.0, 2.0, 2.0],  # same x centre: dx = 0
        [0.0, 0.0, 3.0, 1.0],  # same y centre: dy = 0
        [0.0, 0.0, 2.0, 2.0],  # dx = dy = 1.5: angle pi/4
        [0.0, 0.0, 2.0, 1.0],  # equal widths: a tie in max(w, w_gt)
        [0.0, 0.0, 1.0, 1.0],  # far apart
        [1.0, 0.0, 1.0, 2.0],  # two zero-width boxes on x = 1
        [1.0, 1.0, 1.0, 1.0],  # two identical point boxes
    ]
)
S2 = np.array(
    [
        [1.0, -1.0, 3.0, 3.0],
        [0.5, 1.0, 1.5, 4.0],
        [2.0, -0.5, 4.0, 1.5],
        [1.0, 1.0, 4.0, 4.0],
        [1.0, 0.5, 3.0, 3.0],
        [5.0, 3.0, 7.0, 4.5],
        [1.0, 1.0, 1.0, 3.0],
        [1.0, 1.0, 1.0, 1.0],
    ]
)
SMOOTH_ROWS = slice(0, 6)  # no tie, mask or zero size: a finite difference applies

# ------------------------------------------------------------------------------------------
# float64 formulas from the papers (vectorised NumPy)
# ------------------------------------------------------------------------------------------


def geometry(b1, b2, eps):
    b1, b2 = np.asarray(b1, np.float64), np.asarray(b2, np.float64)
    x1, y1, x2, y2 = np.moveaxis(b1, -1, 0)
    u1, v1, u2, v2 = np.moveaxis(b2, -1, 0)
    ow = np.minimum(x2, u2) - np.maximum(x1, u1)
    oh = np.minimum(y2, v2) - np.maximum(y1, v1)
    inter = np.where((ow > 0) & (oh > 0), ow * oh, 0.0)
    union = (x2 - x1) * (y2 - y1) + (u2 - u1) * (v2 - v1) - inter
    return dict(
        iou=inter / (union + eps),
        union=union,
        cw=np.maximum(x2, u2) - np.minimum(x1, u1),
        ch=np.maximum(y2, v2) - np.minimum(y1, v1),
        dx=(u1 + u2) / 2 - (x1 + x2) / 2,
        dy=(v1 + v2) / 2 - (y1 + y2) / 2,
        w=x2 - x1,
        h=y2 - y1,
        wg=u2 - u1,
        hg=v2 - v1,
    )


def np_iou_loss(b1, b2, reduction="none", eps=1e-7):
    return reduce_empty_as_zero(1 - geometry(b1, b2, eps)["iou"], reduction)


def np_eiou(b1, b2, gamma=0.0, reduction="none", eps=1e-7):
    """Zhang et al. (2022): L_EIoU = L_IoU + L_dis + L_asp; Focal-EIoU = IoU^gamma L_EIoU."""
    g = geometry(b1, b2, eps)
    loss = (
        1
        - g["iou"]
        + (g["dx"] ** 2 + g["dy"] ** 2) / (g["cw"] ** 2 + g["ch"] ** 2 + eps)
        + (g["w"] - g["wg"]) ** 2 / (g["cw"] ** 2 + eps)
        + (g["h"] - g["hg"]) ** 2 / (g["ch"] ** 2 + eps)
    )
    if gamma:
        loss = g["iou"] ** gamma * loss
    return reduce_empty_as_zero(loss, reduction)


def np_siou(b1, b2, theta=4.0, reduction="none", eps=1e-7):
    """Gevorgyan (2022): Lambda = 1 - 2 sin^2(arcsin(x) - pi/4), x = sin(alpha) = |dy| / sigma,
    or sin(beta) = |dx| / sigma when alpha > pi/4; Delta, Omega and L = 1 - IoU + (D + O) / 2."""
    g = geometry(b1, b2, eps)
    dx, dy = g["dx"], g["dy"]
    sigma = np.hypot(dx, dy)
    with np.errstate(invalid="ignore", divide="ignore"):
        sin_alpha = np.abs(dy) / sigma
        alpha = np.arcsin(np.clip(sin_alpha, 0, 1))
        x = np.where(alpha > math.pi / 4, np.abs(dx) / sigma, sin_alpha)
        lam = 1 - 2 * np.sin(np.arcsin(np.clip(x, 0, 1)) - math.pi / 4) ** 2
    lam = np.where(sigma > 0, lam, 0.0)  # undefined at sigma = 0, where rho_x = rho_y = 0
    rate = 2 - lam
    rho_x = dx**2 / (g["cw"] ** 2 + eps)
    rho_y = dy**2 / (g["ch"] ** 2 + eps)
    delta = (1 - np.exp(-rate * rho_x)) + (1 - np.exp(-rate * rho_y))
    om_w = np.abs(g["w"] - g["wg"]) / (np.maximum(g["w"], g["wg"]) + eps)
    om_h = np.abs(g["h"] - g["hg"]) / (np.maximum(g["h"], g["hg"]) + eps)
    omega = (1 - np.exp(-om_w)) ** theta + (1 - np.exp(-om_h)) ** theta
    return reduce_empty_as_zero(1 - g["iou"] + (delta + omega) / 2, reduction)


LOSSES = {
    "iou": (box_iou_loss, np_iou_loss, {}),
    "eiou": (efficient_box_iou_loss, np_eiou, {}),
    "focal_eiou": (efficient_box_iou_loss, np_eiou, {"gamma": 0.5}),
    "siou": (scylla_box_iou_loss, np_siou, {}),
    "siou_theta2": (scylla_box_iou_loss, np_siou, {"theta": 2.0}),
}


def on(backend, dtype, *arrays):
    return [make(backend, a, dtype) for a in arrays]


def central_fd(f, args, wrt, h=1e-5):
    """(-f(x+2h) + 4 f(x+h) - 4 f(x-h) + f(x-2h)) / 4h of sum(f) w.r.t. args[wrt]."""
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
# Values beyond the registry's cases (every reduction of random, special and batched box pairs
# on every backend and dtype, against the float64 references of conformance/extra_boxes.py)
# ------------------------------------------------------------------------------------------


@ignore_fp_warnings
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(LOSSES))
def test_default_and_symmetry(backend, dtype, name):
    """The default reduction is 'none'; all three losses are symmetric in their arguments."""
    fn, ref, kw = LOSSES[name]
    rtol, atol = TOL[dtype]
    for a, b in ((R1, R2), (S1, S2)):
        a, b = rounded(a, dtype), rounded(b, dtype)
        x1, x2 = on(backend, dtype, a, b)
        assert_close(fn(x1, x2, **kw), ref(a, b, **kw), rtol, atol)
        assert_close(fn(x2, x1, **kw), ref(a, b, **kw), rtol, atol)


@pytest.mark.parametrize("name", list(LOSSES))
def test_eps_and_batch_shape(backend, name):
    """eps where documented; any leading shape (..., 4), including a single box (4,)."""
    fn, ref, kw = LOSSES[name]
    x1, x2 = on(backend, "float64", R1.reshape(2, 4, 4), R2.reshape(2, 4, 4))
    for eps in (0.5, 0.0):
        out = fn(x1, x2, eps=eps, **kw)
        assert_result(out, backend, "float64", (2, 4))
        assert_close(out, ref(R1, R2, eps=eps, **kw).reshape(2, 4), *TOL["float64"])
    one = fn(make(backend, R1[0]), make(backend, R2[0]), **kw)
    assert_result(one, backend, "float64", ())
    assert_close(one, ref(R1[0], R2[0], **kw), *TOL["float64"])


# ------------------------------------------------------------------------------------------
# Hand computations from the papers' definitions (eps left out: ~1e-7 relative)
# ------------------------------------------------------------------------------------------


def test_by_hand(backend):
    e = math.exp
    b1 = np.array([[0, 0, 2, 2], [0, 0, 2, 1], [0, 0, 2, 2], [0, 0, 4, 2.0]])
    b2 = np.array([[1, 1, 3, 3], [0, 0, 1, 1], [1, 0, 3, 2], [1, -1, 3, 3.0]])
    x1, x2 = on(backend, "float64", b1, b2)
    # IoU. Row 0: I = 1, U = 4 + 4 - 1 = 7: loss 6/7. Row 1: I = 1, U = 2: 1/2. Row 2: the
    # overlap [1, 2] x [0, 2]: I = 2, U = 6: 2/3. Row 3: [1, 3] x [0, 2]: I = 4, U = 12: 2/3.
    assert_close(box_iou_loss(x1, x2), [6 / 7, 1 / 2, 2 / 3, 2 / 3], 1e-6)
    # EIoU. Row 0: centres (1, 1), (2, 2): rho^2 = 2, enclosing 3 x 3: c^2 = 18; equal sizes:
    # 6/7 + 1/9. Row 1: centres (1, 0.5), (0.5, 0.5): rho^2 = 1/4, enclosing 2 x 1, c^2 = 5;
    # (w - w_gt)^2 / C_w^2 = 1/4, equal heights: 1/2 + 1/20 + 1/4 = 0.8. Row 2: rho^2 = 1,
    # enclosing 3 x 2: c^2 = 13: 2/3 + 1/13. Row 3: same centre; (4 - 2)^2 / 4^2 = 1/4 and
    # (2 - 4)^2 / 4^2 = 1/4: 2/3 + 1/2.
    eiou = [6 / 7 + 1 / 9, 0.8, 2 / 3 + 1 / 13, 2 / 3 + 1 / 2]
    assert_close(efficient_box_iou_loss(x1, x2), eiou, 1e-6)
    # Focal-EIoU, gamma = 0.5: IoU^0.5 times each: sqrt(1/7) (6/7 + 1/9) = 0.365966, ...
    iou = np.array([1 / 7, 1 / 2, 1 / 3, 1 / 3])
    assert_close(efficient_box_iou_loss(x1, x2, gamma=0.5), np.sqrt(iou) * eiou, 1e-6)
    np.testing.assert_allclose(math.sqrt(1 / 7) * (6 / 7 + 1 / 9), 0.365966, atol=1e-6)
    # SIoU. Row 0: dx = dy = 1, alpha = pi/4: Lambda = 1 - 2 sin^2(0) = 1, gamma = 2 - 1 = 1;
    # rho_x = rho_y = 1/9 (C_w = C_h = 3): Delta = 2 (1 - e^(-1/9)); equal sizes: Omega = 0.
    # L = 6/7 + (1 - e^(-1/9)) = 0.962304.
    # Row 1: dx = -1/2, dy = 0: alpha = 0, Lambda = 1 - 2 sin^2(-pi/4) = 0, gamma = 2;
    # rho_x = (1/2)^2 / 2^2 = 1/16: Delta = 1 - e^(-1/8); omega_w = |2 - 1| / 2 = 1/2,
    # omega_h = 0: Omega = (1 - e^(-1/2))^4. L = 1/2 + (Delta + Omega) / 2 = 0.570736.
    # Row 2: dx = 1, dy = 0: Lambda = 0, gamma = 2, rho_x = 1/9 (C_w = 3): Delta = 1 - e^(-2/9);
    # equal sizes. L = 2/3 + (1 - e^(-2/9)) / 2 = 0.766298.
    # Row 3: coincident centres: Delta = 0; omega_w = omega_h = 2/4: Omega = 2 (1 - e^(-1/2))^4.
    # L = 2/3 + (1 - e^(-1/2))^4 = 0.690635.
    siou = [
        6 / 7 + (1 - e(-1 / 9)),
        0.5 + ((1 - e(-1 / 8)) + (1 - e(-0.5)) ** 4) / 2,
        2 / 3 + (1 - e(-2 / 9)) / 2,
        2 / 3 + (1 - e(-0.5)) ** 4,
    ]
    np.testing.assert_allclose(siou, [0.962304, 0.570736, 0.766298, 0.690635], atol=1e-6)
    assert_close(scylla_box_iou_loss(x1, x2), siou, 1e-6)
    # theta = 1 on row 1: Omega = 1 - e^(-1/2)
    row = scylla_box_iou_loss(*on(backend, "float64", b1[1], b2[1]), theta=1)
    assert_close(row, 0.5 + ((1 - e(-1 / 8)) + (1 - e(-0.5))) / 2, 1e-6)


@ignore_fp_warnings
def test_degenerate_boxes(backend):
    """Zero-size boxes: finite, as documented (eps in every denominator).

    Two zero-width boxes on x = 1, heights [0, 2] and [1, 3]: I = U = 0, IoU = 0 / eps = 0;
    C_w = 0 and dx = 0: rho_x = 0 / eps = 0; centres 1 apart in y, C_h = 3: EIoU
    1 + 1/(0 + 9) + 0 + 0 = 10/9; SIoU: Lambda = 0 (dx = 0), rho_y = 1/9: Delta = 1 - e^(-2/9),
    omega_w = 0 / eps = 0, equal heights: L = 1 + (1 - e^(-2/9)) / 2.
    Two identical point boxes: every term 0 but 1 - IoU = 1; Focal-EIoU: IoU^0.5 = 0, loss 0.
    """
    x1, x2 = on(backend, "float64", S1, S2)
    assert_close(to_numpy(box_iou_loss(x1, x2))[6:], [1.0, 1.0], 1e-12)
    assert_close(to_numpy(efficient_box_iou_loss(x1, x2))[6:], [10 / 9, 1.0], 1e-6)
    assert_close(to_numpy(efficient_box_iou_loss(x1, x2, gamma=0.5))[6:], [0.0, 0.0], 0, 0)
    siou = to_numpy(scylla_box_iou_loss(x1, x2))[6:]
    assert_close(siou, [1 + (1 - math.exp(-2 / 9)) / 2, 1.0], 1e-6)


# ------------------------------------------------------------------------------------------
# Relations with the torchvision losses (MONAI's box_iou is a registry oracle)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("eps", [1e-7, 0.5])
def test_relations_with_torchvision_losses(backend, eps):
    """1 - IoU = GIoU loss - (C - U)/(C + eps); EIoU = DIoU loss + the width and height terms.

    The differences of our losses are compared with the terms computed here in NumPy (C, U and
    the width and height terms), so the expected values come from the formula alone."""
    x1, x2 = on(backend, "float64", R1, R2)
    g = geometry(R1, R2, eps)
    area_c = g["cw"] * g["ch"]
    giou = to_numpy(generalized_box_iou_loss(x1, x2, eps=eps))
    iou_loss = to_numpy(box_iou_loss(x1, x2, eps=eps))
    assert_close(giou - iou_loss, (area_c - g["union"]) / (area_c + eps), 1e-12)
    wh = (g["w"] - g["wg"]) ** 2 / (g["cw"] ** 2 + eps) + (g["h"] - g["hg"]) ** 2 / (
        g["ch"] ** 2 + eps
    )
    diou = to_numpy(distance_box_iou_loss(x1, x2, eps=eps))
    eiou = to_numpy(efficient_box_iou_loss(x1, x2, eps=eps))
    assert_close(eiou - diou, wh, 1e-12)


# ------------------------------------------------------------------------------------------
# Other implementations, transcribed to NumPy (not installed): how they differ
# ------------------------------------------------------------------------------------------


def mmdet_eiou(pred, target, smooth_point=0.1, eps=1e-7):
    """mmdetection mmdet/models/losses/iou_loss.py eiou_loss (Extended-IoU, from
    libfacedetection.train), line by line."""
    px1, py1, px2, py2 = pred.T
    tx1, ty1, tx2, ty2 = target.T
    ex1 = np.minimum(px1, tx1)
    ey1 = np.minimum(py1, ty1)
    ix1 = np.maximum(px1, tx1)
    iy1 = np.maximum(py1, ty1)
    ix2 = np.minimum(px2, tx2)
    iy2 = np.minimum(py2, ty2)
    xmin = np.minimum(ix1, ix2)
    ymin = np.minimum(iy1, iy2)
    xmax = np.maximum(ix1, ix2)
    ymax = np.maximum(iy1, iy2)
    intersection = (
        (ix2 - ex1) * (iy2 - ey1)
        + (xmin - ex1) * (ymin - ey1)
        - (ix1 - ex1) * (ymax - ey1)
        - (xmax - ex1) * (iy1 - ey1)
    )
    union = (px2 - px1) * (py2 - py1) + (tx2 - tx1) * (ty2 - ty1) - intersection + eps
    ious = 1 - (intersection / union)
    smooth_sign = (ious < smooth_point).astype(np.float64)
    return 0.5 * smooth_sign * (ious**2) / smooth_point + (1 - smooth_sign) * (
        ious - 0.5 * smooth_point
    )


def test_efficient_iou_is_not_mmdet_extended_iou(backend):
    """mmdetection's EIoULoss is Extended-IoU: smooth-L1 (beta = smooth_point = 0.1) of
    1 - I_e / U_e with an intersection extended to negative values, no centre or size terms.

    (0, 0, 2, 2) vs (1, 1, 3, 3): I_e = I = 1, U = 7: d = 6/7 >= 0.1: 6/7 - 0.05 = 0.807143;
    ours 6/7 + 1/9 = 0.968254 (centre term, equal sizes).
    (0, 0, 1, 1) vs (2, 0, 3, 1), 1 apart: I_e = 1*1 + 1*0 - 2*1 - 2*0 = -1, U_e = 3:
    d = 4/3: 1.283333; ours 1 + 4/10 = 1.4.
    (0, 0, 1, 1) vs (0, 0, 1, 1.05): d = 1 - 1/1.05 = 0.047619 < 0.1: 0.5 d^2 / 0.1 = 0.011338;
    ours 0.047619 + 0.025^2 / (1 + 1.05^2) + 0.05^2 / 1.05^2 = 0.050184.
    """
    p = np.array([[0, 0, 2, 2], [0, 0, 1, 1], [0, 0, 1, 1.0]])
    t = np.array([[1, 1, 3, 3], [2, 0, 3, 1], [0, 0, 1, 1.05]])
    mm = mmdet_eiou(p, t)
    np.testing.assert_allclose(mm, [0.807143, 1.283333, 0.011338], atol=1e-6)
    ours = [6 / 7 + 1 / 9, 1.4, 1 - 1 / 1.05 + 0.025**2 / (1 + 1.05**2) + 0.05**2 / 1.05**2]
    np.testing.assert_allclose(ours, [0.968254, 1.4, 0.050184], atol=1e-6)
    out = efficient_box_iou_loss(*on(backend, "float64", p, t))
    assert_close(out, ours, 1e-6, 1e-6)  # eps = 1e-7 is not in the hand arithmetic
    assert np.all(np.abs(to_numpy(out) - mm) > 0.03)


def yolov6_siou(box1, box2, eps=1e-7):
    """YOLOv6 yolov6/utils/figure_iou.py IOUloss(box_format='xyxy', iou_type='siou'), per pair
    (the class indexes box1[0..3] after transposing box2: here both are (N, 4), transposed)."""
    b1_x1, b1_y1, b1_x2, b1_y2 = box1.T
    b2_x1, b2_y1, b2_x2, b2_y2 = box2.T
    inter = np.clip(np.minimum(b1_x2, b2_x2) - np.maximum(b1_x1, b2_x1), 0, None) * np.clip(
        np.minimum(b1_y2, b2_y2) - np.maximum(b1_y1, b2_y1), 0, None
    )
    w1, h1 = b1_x2 - b1_x1, b1_y2 - b1_y1 + eps
    w2, h2 = b2_x2 - b2_x1, b2_y2 - b2_y1 + eps
    union = w1 * h1 + w2 * h2 - inter + eps
    iou = inter / union
    cw = np.maximum(b1_x2, b2_x2) - np.minimum(b1_x1, b2_x1)
    ch = np.maximum(b1_y2, b2_y2) - np.minimum(b1_y1, b2_y1)
    s_cw = (b2_x1 + b2_x2 - b1_x1 - b1_x2) * 0.5
    s_ch = (b2_y1 + b2_y2 - b1_y1 - b1_y2) * 0.5
    sigma = np.power(s_cw**2 + s_ch**2, 0.5)
    sin_alpha_1 = np.abs(s_cw) / sigma
    sin_alpha_2 = np.abs(s_ch) / sigma
    threshold = pow(2, 0.5) / 2
    sin_alpha = np.where(sin_alpha_1 > threshold, sin_alpha_2, sin_alpha_1)
    angle_cost = np.cos(np.arcsin(sin_alpha) * 2 - math.pi / 2)
    rho_x = (s_cw / cw) ** 2
    rho_y = (s_ch / ch) ** 2
    gamma = angle_cost - 2
    distance_cost = 2 - np.exp(gamma * rho_x) - np.exp(gamma * rho_y)
    omiga_w = np.abs(w1 - w2) / np.maximum(w1, w2)
    omiga_h = np.abs(h1 - h2) / np.maximum(h1, h2)
    shape_cost = np.power(1 - np.exp(-1 * omiga_w), 4) + np.power(1 - np.exp(-1 * omiga_h), 4)
    return 1.0 - (iou - 0.5 * (distance_cost + shape_cost))


def mmdet_siou(pred, target, eps=1e-7, neg_gamma=False):
    """mmdetection 3.x mmdet/models/losses/iou_loss.py siou_loss, line by line."""
    lt = np.maximum(pred[:, :2], target[:, :2])
    rb = np.minimum(pred[:, 2:], target[:, 2:])
    wh = np.clip(rb - lt, 0, None)
    overlap = wh[:, 0] * wh[:, 1]
    ap = (pred[:, 2] - pred[:, 0]) * (pred[:, 3] - pred[:, 1])
    ag = (target[:, 2] - target[:, 0]) * (target[:, 3] - target[:, 1])
    ious = overlap / (ap + ag - overlap + eps)
    enclose_wh = np.clip(
        np.maximum(pred[:, 2:], target[:, 2:]) - np.minimum(pred[:, :2], target[:, :2]), eps, None
    )
    cw, ch = enclose_wh[:, 0], enclose_wh[:, 1]
    b1_x1, b1_y1, b1_x2, b1_y2 = pred.T
    b2_x1, b2_y1, b2_x2, b2_y2 = target.T
    w1, h1 = b1_x2 - b1_x1, b1_y2 - b1_y1 + eps
    w2, h2 = b2_x2 - b2_x1, b2_y2 - b2_y1 + eps
    s_cw = (b2_x1 + b2_x2 - b1_x1 - b1_x2) * 0.5 + eps
    s_ch = (b2_y1 + b2_y2 - b1_y1 - b1_y2) * 0.5 + eps
    sigma = np.power(s_cw**2 + s_ch**2, 0.5)
    sin_alpha_1 = np.abs(s_cw) / sigma
    sin_alpha_2 = np.abs(s_ch) / sigma
    threshold = pow(2, 0.5) / 2
    sin_alpha = np.where(sin_alpha_1 > threshold, sin_alpha_2, sin_alpha_1)
    angle_cost = np.cos(np.arcsin(sin_alpha) * 2 - math.pi / 2)
    rho_x = (s_cw / cw) ** 2
    rho_y = (s_ch / ch) ** 2
    gamma = angle_cost - 2 if neg_gamma else 2 - angle_cost
    distance_cost = 2 - np.exp(gamma * rho_x) - np.exp(gamma * rho_y)
    omiga_w = np.abs(w1 - w2) / np.maximum(w1, w2)
    omiga_h = np.abs(h1 - h2) / np.maximum(h1, h2)
    shape_cost = np.power(1 - np.exp(-1 * omiga_w), 4) + np.power(1 - np.exp(-1 * omiga_h), 4)
    sious = ious - 0.5 * (distance_cost + shape_cost)
    return 1 - np.clip(sious, -1.0, 1.0)


@ignore_fp_warnings
def test_siou_matches_yolov6(backend):
    """YOLOv6's SIoU (converted: per pair, xyxy) is the paper's loss with other eps placements:
    with eps = 0 in both, equal to rounding on boxes with distinct centres; with each one's
    eps = 1e-7, equal to ~1e-7. At coincident centres YOLOv6 gives NaN (0/0), lossbridge the
    finite limit."""
    x1, x2 = on(backend, "float64", R1, R2)
    assert_close(scylla_box_iou_loss(x1, x2, eps=0.0), yolov6_siou(R1, R2, eps=0.0), 1e-12)
    assert_close(scylla_box_iou_loss(x1, x2), yolov6_siou(R1, R2), 1e-6)
    s1, s2 = on(backend, "float64", S1, S2)
    y6 = yolov6_siou(S1, S2, eps=0.0)[:6]
    assert np.isnan(y6[0]) and np.isfinite(y6[1:]).all()
    ours = to_numpy(scylla_box_iou_loss(s1, s2, eps=0.0))[:6]  # rows 6-7 need eps > 0
    assert np.isfinite(ours).all()
    np.testing.assert_allclose(ours[1:6], y6[1:], rtol=1e-12)


@ignore_fp_warnings
def test_siou_vs_mmdet(backend):
    """mmdetection 3.x siou_loss: neg_gamma=True (the paper's distance cost) agrees to its eps
    placements (eps added to dx, dy: ~1e-7); its default neg_gamma=False does not:
    Delta = 2 - e^{(2 - Lambda) rho_x} - e^{(2 - Lambda) rho_y} <= 0. For (0, 0, 2, 2) vs
    (1, 1, 3, 3): Lambda = 1, rho = 1/9: mmdet 1 - (1/7 - (2 - 2 e^{1/9}) / 2) = 0.739624,
    the paper's 6/7 + 1 - e^{-1/9} = 0.962304. mmdet clamps the SIoU to [-1, 1]."""
    x1, x2 = on(backend, "float64", R1, R2)
    assert_close(scylla_box_iou_loss(x1, x2), mmdet_siou(R1, R2, neg_gamma=True), 2e-6)
    p, t = np.array([[0, 0, 2, 2.0]]), np.array([[1, 1, 3, 3.0]])
    np.testing.assert_allclose(mmdet_siou(p, t), [0.739624], atol=1e-6)
    np.testing.assert_allclose(mmdet_siou(p, t, neg_gamma=True), [0.962304], atol=1e-6)
    assert_close(scylla_box_iou_loss(*on(backend, "float64", p, t)), [0.962304], 0, 1e-6)


# ------------------------------------------------------------------------------------------
# Gradients
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("wrt", [0, 1])
@pytest.mark.parametrize("name", list(LOSSES))
def test_gradients_vs_finite_differences(ad_backend, name, wrt):
    """Every autodiff backend against a finite difference of the paper's formula on the special
    pairs without ties or zero sizes (coincident centres, dx = 0, dy = 0, the pi/4 diagonal,
    equal widths, far apart). (Random boxes: the registry's grad_fd check; its special case
    skips that check for the rows with ties and zero sizes.)"""
    fn, ref, kw = LOSSES[name]
    grad = backend_grad(ad_backend, lambda u, v: fn(u, v, **kw), [S1, S2], wrt)
    with np.errstate(invalid="ignore", divide="ignore"):
        fd = central_fd(lambda u, v: ref(u, v, **kw), [S1, S2], wrt)
    np.testing.assert_allclose(grad[SMOOTH_ROWS], fd[SMOOTH_ROWS], rtol=1e-6, atol=1e-8)


def test_siou_gradient_coincident_centres_by_hand(ad_backend):
    """Coincident centres, (0, 0, 4, 2) vs (1, -1, 3, 3): the distance cost is O(sigma^2), so
    only the IoU and shape terms move. d/dx1 of boxes1 (x1 = 0): I = (3 - 1) * 2 = 4 does not
    change (x1 < 1), the area A1 = (4 - x1) * 2: dU/dx1 = -2, U = 12: d(1 - IoU) = -(-I dU/U^2)
    = -8/144 = -1/18. w = 4 - x1, w_gt = 2: omega_w = (w - 2)/w = 1 - 2/w, d omega_w / d x1 =
    -2/w^2 = -1/8; Omega_w = (1 - e^{-omega})^4: d/d omega = 4 (1 - e^{-1/2})^3 e^{-1/2};
    loss += Omega / 2. Total: -1/18 - (1/16) 4 (1 - e^{-1/2})^3 e^{-1/2} = -0.064792."""
    grad = backend_grad(ad_backend, scylla_box_iou_loss, [S1, S2], 0)
    e = math.exp(-0.5)
    expected = -1 / 18 - (1 / 16) * 4 * (1 - e) ** 3 * e
    np.testing.assert_allclose(expected, -0.064792, atol=1e-6)
    np.testing.assert_allclose(grad[0, 0], expected, rtol=1e-6)
    assert np.isfinite(grad).all()


@ignore_fp_warnings
@pytest.mark.parametrize("name", list(LOSSES))
def test_gradients_finite_at_degenerate_pairs(ad_backend, name):
    """Zero-size boxes (rows 6-7: I = U = 0, C_w = 0, sigma = 0, max(w, w_gt) ties, IoU = 0 in
    Focal-EIoU) and the registry-style ties: finite gradients, the same on every backend."""
    fn, _, kw = LOSSES[name]
    f = lambda u, v: fn(u, v, **kw)  # noqa: E731
    for wrt in (0, 1):
        grad = backend_grad(ad_backend, f, [S1, S2], wrt)
        assert np.isfinite(grad).all()
        if ad_backend.name != "torch":
            from lossbridge.conformance.drivers import get_driver

            ref = backend_grad(get_driver("torch"), f, [S1, S2], wrt)
            np.testing.assert_allclose(grad, ref, rtol=1e-12, atol=1e-15)
    # identical point boxes and two zero-width boxes: Focal-EIoU's weight IoU^0.5 = 0
    if name == "focal_eiou":
        np.testing.assert_array_equal(backend_grad(ad_backend, f, [S1, S2], 0)[6:], 0.0)


def test_focal_eiou_weight_is_differentiated():
    """The paper's IoU^gamma L_EIoU, not the YOLO-community (IoU^gamma).detach() L_EIoU: the
    gradient includes gamma IoU^(gamma - 1) dIoU L_EIoU."""
    torch = pytest.importorskip("torch")
    p, t = np.array([[0, 0, 2, 2.0], [0.3, 0.8, 2.9, 3.1]]), np.array([[1, 1, 3, 3.0], R2[2]])
    a = torch.tensor(p, requires_grad=True)
    efficient_box_iou_loss(a, torch.tensor(t), gamma=0.5).sum().backward()
    fd = central_fd(lambda u, v: np_eiou(u, v, gamma=0.5), [p, t], 0)
    np.testing.assert_allclose(a.grad.numpy(), fd, rtol=1e-6, atol=1e-9)
    # the detached variant's gradient: IoU^gamma times the plain EIoU gradient, different
    iou = geometry(p, t, 1e-7)["iou"]
    assert (iou > 0.1).all()
    detached = np.sqrt(iou)[:, None] * central_fd(np_eiou, [p, t], 0)
    assert np.max(np.abs(detached - fd)) > 1e-3


# ------------------------------------------------------------------------------------------
# Dtypes, devices, compiled on degenerate pairs (empty inputs: the registry's "empty" cases)
# ------------------------------------------------------------------------------------------


def test_integer_and_mixed_dtypes():
    torch = pytest.importorskip("torch")
    ints1 = np.array([[0, 0, 2, 2], [0, 0, 1, 1]])
    ints2 = np.array([[1, 1, 3, 3], [2, 0, 3, 1]])
    for name in ("iou", "eiou", "siou"):
        fn, ref, _ = LOSSES[name]
        out = fn(torch.tensor(ints1), torch.tensor(ints2))  # integers: float32 (torchvision)
        assert out.dtype == torch.float32
        assert_close(out, ref(ints1, ints2), 2e-6, 1e-7)
        b32 = torch.tensor(R1, dtype=torch.float32)
        assert fn(b32, torch.tensor(R2)).dtype == torch.float64  # float32 with float64
        assert fn(b32, R2.tolist()).dtype == torch.float32  # host data takes the boxes' dtype


def test_device_preserved():
    strict = pytest.importorskip("array_api_strict")
    torch = pytest.importorskip("torch")
    dev = strict.Device("device1")
    for fn, ref, kw in LOSSES.values():
        out = fn(strict.asarray(R1, device=dev), R2, reduction="mean", **kw)
        assert out.device == dev
        assert_close(out, ref(R1, R2, reduction="mean", **kw), 1e-12)
        meta = fn(torch.empty(8, 4, device="meta"), torch.empty(8, 4, device="meta"), **kw)
        assert meta.device.type == "meta" and tuple(meta.shape) == (8,)


@pytest.mark.parametrize("name", ["iou", "focal_eiou", "siou"])
def test_jax_jit_value_and_grad(name):
    jax = pytest.importorskip("jax")
    fn, ref, kw = LOSSES[name]
    a, b = jax.numpy.asarray(S1), jax.numpy.asarray(S2)
    out = jax.jit(lambda u, v: fn(u, v, reduction="mean", **kw))(a, b)
    with np.errstate(invalid="ignore", divide="ignore"):
        assert_close(out, ref(S1, S2, reduction="mean", **kw), 1e-12)
    g = jax.jit(jax.grad(lambda u, v: fn(u, v, reduction="sum", **kw)))(a, b)
    eager = jax.grad(lambda u, v: fn(u, v, reduction="sum", **kw))(a, b)
    assert np.isfinite(to_numpy(g)).all()
    np.testing.assert_allclose(to_numpy(g), to_numpy(eager), rtol=1e-12, atol=1e-15)


# ------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------


def test_errors(backend):
    b = make(backend, R1)
    for fn in (box_iou_loss, efficient_box_iou_loss, scylla_box_iou_loss):
        with pytest.raises(ValueError, match=r"boxes1 has shape \(8, 3\); expected \(\.\.\., 4\)"):
            fn(make(backend, R1[:, :3]), b)
        with pytest.raises(ValueError, match=r"boxes2 has shape \(4, 4\) but boxes1 has shape"):
            fn(b, make(backend, R2[:4]))
        with pytest.raises(TypeError, match="boxes1 must have a real floating or integer dtype"):
            fn(make(backend, R1 > 1), b)
        with pytest.raises(ValueError, match="Invalid Value for arg 'reduction': 'avg'"):
            fn(b, b, reduction="avg")
        with pytest.raises(TypeError, match="eps must be a real number"):
            fn(b, b, eps=None)
        with pytest.raises(TypeError, match="positional"):
            fn(b, b, "mean")  # keyword-only options
    with pytest.raises(ValueError, match=r"gamma must be >= 0 .*; got -0.5"):
        efficient_box_iou_loss(b, b, gamma=-0.5)
    with pytest.raises(TypeError, match="gamma must be a real number"):
        efficient_box_iou_loss(b, b, gamma=b)
    with pytest.raises(ValueError, match=r"theta must be >= 1 .*; got 0.5"):
        scylla_box_iou_loss(b, b, theta=0.5)
    with pytest.raises(ValueError, match=r"theta must be >= 1 .*; got nan"):
        scylla_box_iou_loss(b, b, theta=float("nan"))
    with pytest.raises(TypeError, match="theta must be a real number"):
        scylla_box_iou_loss(b, b, theta="4")
