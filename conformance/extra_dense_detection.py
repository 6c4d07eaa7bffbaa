"""Conformance entries for the dense-detection losses (lossbridge.dense_detection).

Neither ultralytics (it needs ``cv2``) nor mmdetection (it needs ``mmcv``) imports here. The
references below are float64 NumPy written from the papers' definitions, independently of the
libraries' code and of lossbridge's: varifocal loss and quality focal loss elementwise from
their formulas, distribution focal loss as the cross-entropy against the "two-hot" distribution
on the two bins around the target, and the probabilistic IoU through the Bhattacharyya distance
of the two Gaussians, with 2x2 matrices (``numpy.linalg``), placing ``eps`` where ultralytics
does. tests/test_dense_detection.py checks lossbridge against the libraries' own code, copied
line for line (ultralytics 8.4.190, mmdetection 3.3.0; the copies were run against the wheels'
files, loaded without the packages: equal to the last bit in float32 and float64).

``denominator=`` (mmdetection's ``avg_factor``, ultralytics' divisors) is checked by
tests/test_denominator.py (shards of every ``'mean'`` case below) and against the libraries'
code in tests/test_dense_detection.py, so no case here passes one.

Half precision: ``varifocal_loss`` returns float32 for float16/bfloat16 inputs, as ultralytics'
``VarifocalLoss`` does (its entry's ``output_dtype``); the other three return the input's dtype.
"""

from __future__ import annotations

import math

import numpy as np

from lossbridge.conformance.cases import AOT, base, entry
from lossbridge.conformance.drivers import HALF_DTYPES
from lossbridge.conformance.references import reduce
from lossbridge.dense_detection import (
    distribution_focal_loss,
    probiou_loss,
    quality_focal_loss,
    varifocal_loss,
)


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _bce(x, t):
    """``-t log sigma(x) - (1 - t) log(1 - sigma(x))``, as ``log(1 + e^x) - t x``."""
    return np.logaddexp(0.0, x) - t * x


def _reduce(loss, weight, reduction, denominator):
    if weight is not None:
        loss = loss * np.asarray(weight, np.float64)
    return reduce(loss, reduction, denominator=denominator if reduction == "mean" else None)


def ref_varifocal_loss(
    input,
    target,
    label=None,
    alpha=0.75,
    gamma=2.0,
    iou_weighted=True,
    weight=None,
    reduction="mean",
    denominator=None,
):
    """VarifocalNet (Zhang et al. 2021, eq. 2): positives ``q > 0`` weighted by ``q`` (or 1),
    negatives by ``alpha |p - q|^gamma``; with ultralytics' ``label``: ``q l + alpha p^gamma
    (1 - l)``."""
    x = np.asarray(input, np.float64)
    q = np.asarray(target, np.float64)
    p = _sigmoid(x)
    if label is None:
        pos = (q > 0).astype(np.float64)
        neg = alpha * np.abs(p - q) ** gamma
    else:
        pos = np.asarray(label, np.float64)
        neg = alpha * p**gamma
    w = (q if iou_weighted else 1.0) * pos + neg * (1.0 - pos)
    return _reduce(_bce(x, q) * w, weight, reduction, denominator)


def ref_quality_focal_loss(
    input, target, beta=2.0, weight=None, reduction="mean", denominator=None
):
    """GFL (Li et al. 2020, eq. 5), summed over the classes: ``BCE(x, q) |q - p|^beta``."""
    x = np.asarray(input, np.float64)
    q = np.asarray(target, np.float64)
    rows = np.sum(_bce(x, q) * np.abs(q - _sigmoid(x)) ** beta, axis=1)
    return _reduce(rows, weight, reduction, denominator)


def ref_distribution_focal_loss(
    input, target, clamp=False, weight=None, reduction="mean", denominator=None
):
    """GFL (Li et al. 2020, eq. 6): the cross-entropy of the softmax against the distribution
    with mass ``y_r - y`` on bin ``y_l`` and ``y - y_l`` on ``y_r`` (ultralytics' clamp to
    ``[0, B - 1.01]`` first)."""
    x = np.asarray(input, np.float64)
    y = np.asarray(target, np.float64)
    bins = x.shape[-1]
    if clamp:
        y = np.clip(y, 0.0, bins - 1 - 0.01)
    log_p = x - np.max(x, axis=-1, keepdims=True)
    log_p = log_p - np.log(np.sum(np.exp(log_p), axis=-1, keepdims=True))
    grid = np.arange(bins, dtype=np.float64)
    # two-hot: 1 - |y - b| on the (at most two) bins within distance 1 of y
    two_hot = np.maximum(0.0, 1.0 - np.abs(y[..., None] - grid))
    return _reduce(-np.sum(two_hot * log_p, axis=-1), weight, reduction, denominator)


def _covariance(boxes, floor):
    """``R diag(w^2 / 12 + floor, h^2 / 12 + floor) R^T``, shape (..., 2, 2)."""
    w, h, r = boxes[..., 2], boxes[..., 3], boxes[..., 4]
    c, s = np.cos(r), np.sin(r)
    rot = np.stack([np.stack([c, -s], -1), np.stack([s, c], -1)], -2)
    lam = np.zeros(boxes.shape[:-1] + (2, 2))
    lam[..., 0, 0] = w**2 / 12 + floor
    lam[..., 1, 1] = h**2 / 12 + floor
    return rot @ lam @ np.swapaxes(rot, -1, -2)


def probiou(box1, box2, ciou=False, eps=1e-7, floor=0.0):
    """Probabilistic IoU (Llerena et al. 2021): the Bhattacharyya distance of the Gaussians,
    ``B = 1/8 d^T S^-1 d + 1/2 log(|S| / sqrt(|S1| |S2|))`` with ``S = (S1 + S2) / 2``,
    clamped to [eps, 100], then ``1 - sqrt(1 - e^-B + eps)``. ``eps`` where ultralytics puts it:
    ``|S1 + S2| + eps`` under the quadratic form, ``4 sqrt(|S1| |S2|) + eps`` under
    ``|S1 + S2|`` and ``+ eps`` inside the log."""
    s1, s2 = _covariance(box1, floor), _covariance(box2, floor)
    total = s1 + s2  # 2 S
    det = np.linalg.det(total)
    d = (box1[..., :2] - box2[..., :2])[..., None]
    quad = (np.swapaxes(d, -1, -2) @ np.linalg.inv(total) @ d)[..., 0, 0]
    # 1/8 d^T S^-1 d = 1/4 d^T (S1 + S2)^-1 d, with eps added to the determinant of S1 + S2
    bd = 0.25 * quad * det / (det + eps)
    bd = bd + 0.5 * np.log(det / (4 * np.sqrt(np.linalg.det(s1) * np.linalg.det(s2)) + eps) + eps)
    bd = np.clip(bd, eps, 100.0)
    iou = 1.0 - np.sqrt(-np.expm1(-bd) + eps)
    if not ciou:
        return iou
    v = (4 / math.pi**2) * (
        np.arctan(box2[..., 2] / box2[..., 3]) - np.arctan(box1[..., 2] / box1[..., 3])
    ) ** 2
    return iou - v * (v / (v - iou + (1 + eps)))


def ref_probiou_loss(
    input,
    target,
    ciou=False,
    eps=1e-7,
    floor=0.0,
    weight=None,
    reduction="mean",
    denominator=None,
    frozen=None,
):
    """``1 - probiou``; ``frozen``: the boxes CIoU's alpha is computed at (held constant)."""
    b1 = np.asarray(input, np.float64)
    b2 = np.asarray(target, np.float64)
    iou = probiou(b1, b2, ciou=False, eps=eps, floor=floor)
    if ciou:
        f1, f2 = (b1, b2) if frozen is None else frozen
        at = probiou(f1, f2, ciou=False, eps=eps, floor=floor)

        def aspect(a, b):
            return (4 / math.pi**2) * (
                np.arctan(b[..., 2] / b[..., 3]) - np.arctan(a[..., 2] / a[..., 3])
            ) ** 2

        alpha = aspect(f1, f2) / (aspect(f1, f2) - at + (1 + eps))
        iou = iou - aspect(b1, b2) * alpha
    return _reduce(1.0 - iou, weight, reduction, denominator)


def fd_probiou_loss(at, input, target, **kwargs):
    """CIoU's alpha held at the unperturbed boxes (ultralytics computes it under no_grad)."""
    frozen = (np.asarray(at["input"], np.float64), np.asarray(at["target"], np.float64))
    return ref_probiou_loss(input, target, frozen=frozen, **kwargs)


# ------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------


def _iou_targets(shape=(8, 5), pos=0.35, scale=2.0, label=False, weight=None):
    """IoU-aware targets: one class of some rows holds an IoU in (0.05, 0.95), the rest 0."""

    def make(r):
        n, c = shape[0], shape[-1]
        x = scale * r.standard_normal(shape)
        q = np.zeros(shape)
        rows = np.flatnonzero(r.uniform(size=shape[:-1]).reshape(-1) < pos)
        flat = q.reshape(-1, c)
        flat[rows, r.integers(0, c, rows.size)] = r.uniform(0.05, 0.95, rows.size)
        out = {"input": x, "target": q}
        if label:
            out["label"] = (q > 0).astype(np.float64)
        if weight == "full":
            out["weight"] = r.uniform(0.2, 2.0, shape)
        elif weight == "rows":
            out["weight"] = r.uniform(0.2, 2.0, (n,) + (1,) * (len(shape) - 1))
        elif weight == "per_row":
            out["weight"] = r.uniform(0.2, 2.0, n)
        return out

    return make


def _soft_qualities(shape=(8, 5)):
    def make(r):
        q = np.where(r.uniform(size=shape) < 0.4, r.uniform(0.05, 1.0, shape), 0.0)
        return {"input": 2.0 * r.standard_normal(shape), "target": q}

    return make


def _distances(shape=(8,), bins=8, lo=0.0, hi=None, weight=False):
    def make(r):
        top = bins - 1.05 if hi is None else hi
        out = {
            "input": 1.5 * r.standard_normal(shape + (bins,)),
            "target": r.uniform(lo, top, shape),
        }
        if weight:
            out["weight"] = r.uniform(0.2, 2.0, shape[:1] + (1,) * (len(shape) - 1))
        return out

    return make


def _rotated(n=8, spread=1.0, weight=False, far=False):
    """Rotated boxes (x, y, w, h, r) and targets moved from them by about ``spread``."""

    def make(r):
        gt = np.concatenate(
            [
                r.uniform(0.0, 10.0, (n, 2)),
                r.uniform(1.0, 6.0, (n, 2)),
                r.uniform(-1.5, 1.5, (n, 1)),
            ],
            axis=1,
        )
        move = np.concatenate(
            [
                r.normal(0.0, spread, (n, 2)),
                r.uniform(-0.5, 0.5, (n, 2)) * spread,
                r.normal(0.0, 0.3, (n, 1)),
            ],
            axis=1,
        )
        pred = gt + move
        if far:
            pred[0, :2] += 30.0  # Bhattacharyya distance beyond 100: clamped, zero gradient
        out = {"input": pred, "target": gt}
        if weight:
            out["weight"] = r.uniform(0.1, 1.0, n)
        return out

    return make


def _f32_for_half(dtype: str) -> str:
    """ultralytics' ``VarifocalLoss`` returns float32 for half inputs: so does this loss."""
    return "float32" if dtype in HALF_DTYPES else dtype


_VFL = entry(
    "varifocal_loss",
    [
        base("mmdet", _iou_targets(), **AOT),
        base("not_iou_weighted", _iou_targets(), {"iou_weighted": False}, reductions=("mean",)),
        base("ultralytics", _iou_targets((2, 6, 4), label=True), reductions=("mean",)),
        base("label", _iou_targets(label=True), {"alpha": 0.5, "gamma": 1.5}),
        base("weight", _iou_targets(weight="full"), reductions=("mean", "sum")),
        base("row_weight", _iou_targets(weight="rows"), reductions=("none",)),
    ],
    fn=varifocal_loss,
    reference=ref_varifocal_loss,
    oracle=None,
    output_dtype=_f32_for_half,
)

_QFL = entry(
    "quality_focal_loss",
    [
        base("one_hot", _iou_targets(), **AOT),
        base("soft", _soft_qualities(), {"beta": 1.5}),
        base("weight", _iou_targets(weight="per_row"), reductions=("mean", "none")),
    ],
    fn=quality_focal_loss,
    reference=ref_quality_focal_loss,
    oracle=None,
)

_DFL = entry(
    "distribution_focal_loss",
    [
        base("mmdet", _distances(), **AOT),
        base("sides", _distances((5, 4), bins=16, weight=True), reductions=("mean", "none")),
        base(
            "ultralytics_clamp",
            _distances((6, 4), lo=-0.5, hi=8.5),
            {"clamp": True},
            reductions=("mean",),
        ),
        base(
            "clamped_sum", _distances((6, 4), lo=-0.5, hi=8.5), {"clamp": True}, reductions=("sum",)
        ),
    ],
    fn=distribution_focal_loss,
    reference=ref_distribution_focal_loss,
    oracle=None,
)

_PROBIOU = entry(
    "probiou_loss",
    [
        base("near", _rotated(), **AOT),
        base("ciou", _rotated(), {"ciou": True}),
        base(
            "rotated_box_loss",
            _rotated(weight=True),
            {"floor": 0.01},
            reductions=("mean",),
        ),
        base("far", _rotated(spread=3.0, far=True), reductions=("none",)),
        base("eps", _rotated(), {"eps": 1e-4, "ciou": True}, reductions=("sum",)),
    ],
    fn=probiou_loss,
    reference=ref_probiou_loss,
    oracle=None,
    grad_args=("input", "target"),
    fd_reference=fd_probiou_loss,
)

ENTRIES = (_VFL, _QFL, _DFL, _PROBIOU)
