"""Dense-detection losses (lossbridge.dense_detection): what the conformance registry does not
check.

The registry (``conformance/extra_dense_detection.py``) checks values and gradients on every
backend and dtype against float64 NumPy references written from the papers' formulas. Neither
library imports here (ultralytics needs ``cv2``, mmdetection ``mmcv``), so this file runs their
own code, copied line for line from ultralytics 8.4.190 (``ultralytics/utils/loss.py``:
``VarifocalLoss``, ``DFLoss``, ``RotatedBboxLoss``; ``ultralytics/utils/metrics.py``:
``_get_covariance_matrix``, ``probiou``) and mmdetection 3.3.0
(``mmdet/models/losses/varifocal_loss.py``, ``gfocal_loss.py``, ``utils.py``) into the
functions below, in float64 with torch's autograd: values and gradients, each library's
reduction (``avg_factor``, ``.mean(1).sum()``, ``target_scores_sum``), ultralytics' float32
varifocal under half inputs and autocast, and bad input. Expected values come from that code,
torch, or hand formulas; never from lossbridge.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import lossbridge as lb

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(2006)
F64 = 1e-12  # float64 relative error of a few dozen well-conditioned operations

# ------------------------------------------------------------------------------------------
# The libraries' code, verbatim but for `self.` -> arguments and the decorators written out
# ------------------------------------------------------------------------------------------


def ultralytics_varifocal(pred_score, gt_score, label, gamma=2.0, alpha=0.75, f32=True):
    """``VarifocalLoss.forward``; ``f32=False`` drops the two ``.float()`` (float64 oracle)."""
    weight = alpha * pred_score.sigmoid().pow(gamma) * (1 - label) + gt_score * label
    with torch.autocast(enabled=False, device_type=pred_score.device.type):
        if not f32:
            pred_score, gt_score = pred_score.double(), gt_score.double()
        loss = (
            (
                F.binary_cross_entropy_with_logits(
                    pred_score.float() if f32 else pred_score,
                    gt_score.float() if f32 else gt_score,
                    reduction="none",
                )
                * weight
            )
            .mean(1)
            .sum()
        )
    return loss


def mmdet_reduce_loss(loss, reduction):
    if reduction == "none":
        return loss
    elif reduction == "mean":
        return loss.mean()
    elif reduction == "sum":
        return loss.sum()


def mmdet_weight_reduce_loss(loss, weight=None, reduction="mean", avg_factor=None):
    if weight is not None:
        loss = loss * weight
    if avg_factor is None:
        loss = mmdet_reduce_loss(loss, reduction)
    else:
        if reduction == "mean":
            eps = torch.finfo(torch.float32).eps
            loss = loss.sum() / (avg_factor + eps)
        elif reduction != "none":
            raise ValueError('avg_factor can not be used with reduction="sum"')
    return loss


def mmdet_varifocal(
    pred,
    target,
    weight=None,
    alpha=0.75,
    gamma=2.0,
    iou_weighted=True,
    reduction="mean",
    avg_factor=None,
):
    assert pred.size() == target.size()
    pred_sigmoid = pred.sigmoid()
    target = target.type_as(pred)
    if iou_weighted:
        focal_weight = (
            target * (target > 0.0).float()
            + alpha * (pred_sigmoid - target).abs().pow(gamma) * (target <= 0.0).float()
        )
    else:
        focal_weight = (target > 0.0).float() + alpha * (pred_sigmoid - target).abs().pow(gamma) * (
            target <= 0.0
        ).float()
    loss = F.binary_cross_entropy_with_logits(pred, target, reduction="none") * focal_weight
    loss = mmdet_weight_reduce_loss(loss, weight, reduction, avg_factor)
    return loss


def mmdet_qfl(pred, target, weight=None, reduction="mean", avg_factor=None, beta=2.0):
    """``quality_focal_loss`` under ``@weighted_loss``."""
    assert len(target) == 2
    label, score = target
    pred_sigmoid = pred.sigmoid()
    scale_factor = pred_sigmoid
    zerolabel = scale_factor.new_zeros(pred.shape)
    loss = F.binary_cross_entropy_with_logits(pred, zerolabel, reduction="none") * (
        scale_factor.pow(beta)
    )
    bg_class_ind = pred.size(1)
    pos = ((label >= 0) & (label < bg_class_ind)).nonzero().squeeze(1)
    pos_label = label[pos].long()
    scale_factor = score[pos] - pred_sigmoid[pos, pos_label]
    loss[pos, pos_label] = F.binary_cross_entropy_with_logits(
        pred[pos, pos_label], score[pos], reduction="none"
    ) * scale_factor.abs().pow(beta)
    loss = loss.sum(dim=1, keepdim=False)
    return mmdet_weight_reduce_loss(loss, weight, reduction, avg_factor)


def mmdet_qfl_tensor_target(pred, target, weight=None, reduction="mean", avg_factor=None, beta=2.0):
    """``quality_focal_loss_tensor_target`` (``activated=False``) under ``@weighted_loss``."""
    assert pred.size() == target.size()
    pred_sigmoid = pred.sigmoid()
    loss_function = F.binary_cross_entropy_with_logits
    scale_factor = pred_sigmoid
    target = target.type_as(pred)
    zerolabel = scale_factor.new_zeros(pred.shape)
    loss = loss_function(pred, zerolabel, reduction="none") * scale_factor.pow(beta)
    pos = target != 0
    scale_factor = target[pos] - pred_sigmoid[pos]
    loss[pos] = loss_function(pred[pos], target[pos], reduction="none") * (
        scale_factor.abs().pow(beta)
    )
    loss = loss.sum(dim=1, keepdim=False)
    return mmdet_weight_reduce_loss(loss, weight, reduction, avg_factor)


def mmdet_dfl(pred, label, weight=None, reduction="mean", avg_factor=None):
    """``distribution_focal_loss`` under ``@weighted_loss``."""
    dis_left = label.long()
    dis_right = dis_left + 1
    weight_left = dis_right.float() - label
    weight_right = label - dis_left.float()
    loss = (
        F.cross_entropy(pred, dis_left, reduction="none") * weight_left
        + F.cross_entropy(pred, dis_right, reduction="none") * weight_right
    )
    return mmdet_weight_reduce_loss(loss, weight, reduction, avg_factor)


def ultralytics_dfl(pred_dist, target, reg_max=16):
    """``DFLoss.__call__`` (``float()`` -> the input's dtype, for the float64 oracle)."""
    target = target.clamp_(0, reg_max - 1 - 0.01)
    tl = target.long()  # target left
    tr = tl + 1  # target right
    wl = tr - target  # weight left
    wr = 1 - wl  # weight right
    logp = F.log_softmax(pred_dist, dim=1)
    return -(
        logp.gather(1, tl.view(-1, 1)).view(tl.shape) * wl
        + logp.gather(1, tr.view(-1, 1)).view(tl.shape) * wr
    ).mean(-1, keepdim=True)


def ultralytics_covariance(boxes, floor=0.0):
    gbbs = torch.cat((boxes[:, 2:4].pow(2) / 12 + floor, boxes[:, 4:]), dim=-1)
    a, b, c = gbbs.split(1, dim=-1)
    cos = c.cos()
    sin = c.sin()
    cos2 = cos.pow(2)
    sin2 = sin.pow(2)
    return a * cos2 + b * sin2, a * sin2 + b * cos2, (a - b) * cos * sin


def ultralytics_probiou(obb1, obb2, CIoU=False, eps=1e-7, floor=0.0):  # noqa: N803
    x1, y1 = obb1[..., :2].split(1, dim=-1)
    x2, y2 = obb2[..., :2].split(1, dim=-1)
    a1, b1, c1 = ultralytics_covariance(obb1, floor)
    a2, b2, c2 = ultralytics_covariance(obb2, floor)
    t1 = (
        ((a1 + a2) * (y1 - y2).pow(2) + (b1 + b2) * (x1 - x2).pow(2))
        / ((a1 + a2) * (b1 + b2) - (c1 + c2).pow(2) + eps)
    ) * 0.25
    t2 = (
        ((c1 + c2) * (x2 - x1) * (y1 - y2)) / ((a1 + a2) * (b1 + b2) - (c1 + c2).pow(2) + eps)
    ) * 0.5
    t3 = (
        ((a1 + a2) * (b1 + b2) - (c1 + c2).pow(2))
        / (4 * ((a1 * b1 - c1.pow(2)).clamp_(0) * (a2 * b2 - c2.pow(2)).clamp_(0)).sqrt() + eps)
        + eps
    ).log() * 0.5
    bd = (t1 + t2 + t3).clamp(eps, 100.0)
    hd = (1.0 - (-bd).exp() + eps).sqrt()
    iou = 1 - hd
    if CIoU:  # only include the wh aspect ratio part
        w1, h1 = obb1[..., 2:4].split(1, dim=-1)
        w2, h2 = obb2[..., 2:4].split(1, dim=-1)
        v = (4 / math.pi**2) * ((w2 / h2).atan() - (w1 / h1).atan()).pow(2)
        with torch.no_grad():
            alpha = v / (v - iou + (1 + eps))
        return iou - v * alpha  # CIoU
    return iou


def ultralytics_rotated_iou_loss(pred_bboxes, target_bboxes, target_scores, fg_mask, floor=0.01):
    """``RotatedBboxLoss.forward``'s ProbIoU part (``target_scores_sum`` computed as in
    ``v8OBBLoss``: ``max(target_scores.sum(), 1)``)."""
    target_scores_sum = max(target_scores.sum(), 1)
    weight = target_scores[fg_mask].sum(-1, keepdim=True)
    iou = ultralytics_probiou(pred_bboxes[fg_mask], target_bboxes[fg_mask], floor=floor)
    loss_iou = ((1.0 - iou) * weight).sum() / target_scores_sum
    return loss_iou


# ------------------------------------------------------------------------------------------
# Inputs and the value-and-gradient comparison
# ------------------------------------------------------------------------------------------


def _t(a, grad=False):
    a = np.asarray(a)
    return torch.tensor(a, dtype=torch.float64 if a.dtype.kind == "f" else None, requires_grad=grad)


def _value_and_grad(fn, x):
    xt = _t(x, grad=True)
    out = fn(xt)
    out.sum().backward()
    return out.detach().numpy(), xt.grad.numpy()


def _assert_matches(ours, theirs, x, rtol=F64):
    got_v, got_g = _value_and_grad(ours, x)
    want_v, want_g = _value_and_grad(theirs, x)
    np.testing.assert_allclose(got_v, want_v, rtol=rtol, atol=0)
    np.testing.assert_allclose(got_g, want_g, rtol=1e-11, atol=1e-14)


def _scores(n=12, c=5, pos=0.3):
    """IoU-aware targets: a positive class for some rows, its IoU score; zeros elsewhere."""
    x = 2.0 * RNG.normal(size=(n, c))
    label = np.where(RNG.uniform(size=n) < 1 - pos, c, RNG.integers(0, c, size=n))
    score = np.where(label < c, RNG.uniform(0.05, 0.95, size=n), 0.0)
    q = np.zeros((n, c))
    rows = np.flatnonzero(label < c)
    q[rows, label[rows]] = score[rows]
    return x, q, label, score


X, Q, LABEL, SCORE = _scores()
ONE_HOT = (Q > 0).astype(np.float64)
# ultralytics' shape: (batch, anchors, classes)
X3, Q3 = X.reshape(3, 4, 5), Q.reshape(3, 4, 5)


# ------------------------------------------------------------------------------------------
# varifocal_loss
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ({}, {}),
        ({"reduction": "sum"}, {"reduction": "sum"}),
        ({"reduction": "none"}, {"reduction": "none"}),
        ({"iou_weighted": False}, {"iou_weighted": False}),
        ({"alpha": 0.25, "gamma": 1.5}, {"alpha": 0.25, "gamma": 1.5}),
    ],
)
def test_varifocal_loss_is_mmdetections(ours, theirs):
    _assert_matches(
        lambda x: lb.varifocal_loss(x, _t(Q), **ours),
        lambda x: mmdet_varifocal(x, _t(Q), **theirs),
        X,
    )


def test_varifocal_loss_weight_is_mmdetections():
    w = RNG.uniform(0.2, 2.0, size=X.shape)
    _assert_matches(
        lambda x: lb.varifocal_loss(x, _t(Q), weight=_t(w)),
        lambda x: mmdet_varifocal(x, _t(Q), weight=_t(w)),
        X,
    )
    row = RNG.uniform(0.2, 2.0, size=(X.shape[0], 1))  # broadcast over the classes
    _assert_matches(
        lambda x: lb.varifocal_loss(x, _t(Q), weight=_t(row), reduction="sum"),
        lambda x: mmdet_varifocal(x, _t(Q), weight=_t(row), reduction="sum"),
        X,
    )


def test_denominator_is_mmdetections_avg_factor():
    """mmdetection divides by ``avg_factor + finfo(float32).eps``: ``denominator=avg_factor``
    is within that relative amount, ``denominator=avg_factor + eps`` is its number."""
    avg_factor = 3.0
    want = float(mmdet_varifocal(_t(X), _t(Q), avg_factor=avg_factor))
    got = float(lb.varifocal_loss(X, Q, denominator=avg_factor))
    eps32 = float(np.finfo(np.float32).eps)
    assert got == pytest.approx(want, rel=1.01 * eps32 / avg_factor)
    assert got != want
    exact = float(lb.varifocal_loss(X, Q, denominator=avg_factor + eps32))
    assert exact == pytest.approx(want, rel=F64)
    # 'none' with an avg_factor: mmdetection ignores it, so does 'none' here
    none = mmdet_varifocal(_t(X), _t(Q), reduction="none", avg_factor=avg_factor).numpy()
    np.testing.assert_allclose(lb.varifocal_loss(X, Q, reduction="none"), none, rtol=F64)


@pytest.mark.parametrize(("alpha", "gamma"), [(0.75, 2.0), (0.5, 1.0)])
def test_varifocal_loss_is_ultralytics(alpha, gamma):
    """ultralytics' label argument and its ``.mean(1).sum()``: ``denominator=`` the number of
    anchors (axis 1)."""
    label = (Q3 > 0).astype(np.float64)
    _assert_matches(
        lambda x: lb.varifocal_loss(
            x, _t(Q3), label=_t(label), alpha=alpha, gamma=gamma, denominator=X3.shape[1]
        ),
        lambda x: ultralytics_varifocal(x, _t(Q3), _t(label), gamma, alpha, f32=False),
        X3,
    )


def test_varifocal_loss_label_with_a_zero_score():
    """A positive (label 1) whose IoU is 0: ultralytics weights it 0; without ``label``,
    mmdetection's q > 0 makes it a negative, weighted alpha p^gamma."""
    q = Q.copy()
    r, c = np.argwhere(q > 0)[0]
    q[r, c] = 0.0
    ones = ONE_HOT
    got = lb.varifocal_loss(X, q, label=ones, reduction="none")
    want = F.binary_cross_entropy_with_logits(_t(X), _t(q), reduction="none")
    p = 1 / (1 + np.exp(-X))
    w = np.where(ones > 0, q, 0.75 * p**2)
    np.testing.assert_allclose(got, want.numpy() * w, rtol=F64)
    assert got[r, c] == 0.0
    assert lb.varifocal_loss(X, q, reduction="none")[r, c] > 0.0


@pytest.mark.parametrize("half", ["float16", "bfloat16"])
def test_varifocal_loss_half_returns_float32_as_ultralytics(half):
    """ultralytics computes in float32 with autocast off and returns float32 for half inputs;
    its weight is computed in the half dtype (ours in float32): within the half dtype's
    rounding of the weights."""
    dt = getattr(torch, half)
    x, q, label = _t(X3).to(dt), _t(Q3).to(dt), _t((Q3 > 0).astype(np.float64)).to(dt)
    x.requires_grad_(True)
    got = lb.varifocal_loss(x, q, label=label, denominator=4)
    assert got.dtype == torch.float32
    got.backward()
    assert x.grad.dtype == dt
    want = ultralytics_varifocal(x.detach(), q, label)
    assert want.dtype == torch.float32
    unit = {"float16": 2.0**-11, "bfloat16": 2.0**-8}[half]
    assert float(got.detach()) == pytest.approx(float(want), rel=4 * unit)
    # the same computation on the (rounded) inputs in float32: equal to float32's rounding
    exact = ultralytics_varifocal(x.detach().float(), q.float(), label.float())
    assert float(got.detach()) == pytest.approx(float(exact), rel=1e-6)
    # without ``label`` (mmdetection's form) too
    assert lb.varifocal_loss(x, q).dtype == torch.float32


def test_varifocal_loss_under_autocast_is_ultralytics():
    x, q = _t(X3).float(), _t(Q3).float()
    label = _t((Q3 > 0).astype(np.float64)).float()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        got = lb.varifocal_loss(x, q, label=label, denominator=4)
        want = ultralytics_varifocal(x, q, label)
        got_half = lb.varifocal_loss(x.bfloat16(), q.bfloat16(), label=label.bfloat16())
    assert got.dtype == want.dtype == torch.float32
    assert float(got) == pytest.approx(float(want), rel=1e-6)
    assert got_half.dtype == torch.float32


def test_other_losses_keep_the_half_dtype():
    x = _t(X).half()
    assert lb.quality_focal_loss(x, _t(Q).half()).dtype == torch.float16
    boxes = _t(_obb(4)).half()
    assert lb.probiou_loss(boxes, boxes).dtype == torch.float16


# ------------------------------------------------------------------------------------------
# quality_focal_loss
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ({}, {}),
        ({"reduction": "none"}, {"reduction": "none"}),
        ({"reduction": "sum", "beta": 1.5}, {"reduction": "sum", "beta": 1.5}),
        ({"denominator": 4.0 + float(np.finfo(np.float32).eps)}, {"avg_factor": 4.0}),
    ],
)
def test_quality_focal_loss_is_mmdetections(ours, theirs):
    label, score = torch.tensor(LABEL), _t(SCORE)
    _assert_matches(
        lambda x: lb.quality_focal_loss(x, (label, score), **ours),
        lambda x: mmdet_qfl(x, (label, score), **theirs),
        X,
    )
    _assert_matches(
        lambda x: lb.quality_focal_loss(x, _t(Q), **ours),
        lambda x: mmdet_qfl_tensor_target(x, _t(Q), **theirs),
        X,
    )


def test_quality_focal_loss_weight_is_mmdetections():
    w = RNG.uniform(0.2, 2.0, size=X.shape[0])
    label, score = torch.tensor(LABEL), _t(SCORE)
    _assert_matches(
        lambda x: lb.quality_focal_loss(x, (label, score), weight=_t(w)),
        lambda x: mmdet_qfl(x, (label, score), weight=_t(w)),
        X,
    )


def test_quality_focal_loss_soft_tensor_target():
    """Several non-zero qualities per row (mmdetection's tensor target)."""
    q = np.where(RNG.uniform(size=X.shape) < 0.4, RNG.uniform(0.05, 1.0, size=X.shape), 0.0)
    _assert_matches(
        lambda x: lb.quality_focal_loss(x, _t(q), reduction="sum"),
        lambda x: mmdet_qfl_tensor_target(x, _t(q), reduction="sum"),
        X,
    )


# ------------------------------------------------------------------------------------------
# distribution_focal_loss
# ------------------------------------------------------------------------------------------

BINS = 8
PRED = 1.5 * RNG.normal(size=(10, BINS))
DIST = RNG.uniform(0.0, BINS - 1.05, size=10)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ({}, {}),
        ({"reduction": "none"}, {"reduction": "none"}),
        ({"reduction": "sum"}, {"reduction": "sum"}),
        ({"denominator": 2.5 + float(np.finfo(np.float32).eps)}, {"avg_factor": 2.5}),
    ],
)
def test_distribution_focal_loss_is_mmdetections(ours, theirs):
    _assert_matches(
        lambda x: lb.distribution_focal_loss(x, _t(DIST), **ours),
        lambda x: mmdet_dfl(x, _t(DIST), **theirs),
        PRED,
    )
    w = RNG.uniform(0.2, 2.0, size=10)
    _assert_matches(
        lambda x: lb.distribution_focal_loss(x, _t(DIST), weight=_t(w), **ours),
        lambda x: mmdet_dfl(x, _t(DIST), weight=_t(w), **theirs),
        PRED,
    )


def test_distribution_focal_loss_is_ultralytics_box_loss():
    """ultralytics: (M, 4) sides, targets clamped to reg_max - 1.01 (some drawn beyond),
    the mean over the four sides times the box's weight, summed, / target_scores_sum."""
    m = 5
    pred = 1.5 * RNG.normal(size=(m, 4, BINS))
    target = RNG.uniform(-0.5, BINS + 0.5, size=(m, 4))
    target[0, 0], target[0, 1] = BINS - 1, BINS - 1.005  # at and just under the last bin
    w = RNG.uniform(0.2, 1.0, size=(m, 1))
    tss = 3.7

    def theirs(x):
        return (ultralytics_dfl(x.view(-1, BINS), _t(target), reg_max=BINS) * _t(w)).sum() / tss

    _assert_matches(
        lambda x: lb.distribution_focal_loss(
            x, _t(target), clamp=True, weight=_t(w), denominator=4 * tss
        ),
        theirs,
        pred,
    )
    per_box = ultralytics_dfl(_t(pred).view(-1, BINS), _t(target), reg_max=BINS)
    got = lb.distribution_focal_loss(pred, target, clamp=True, reduction="none").mean(-1)
    np.testing.assert_allclose(got, per_box.numpy()[:, 0], rtol=F64)


def test_distribution_focal_loss_last_bin():
    """A target of exactly B - 1 reads the last bin alone (mmdetection would index bin B)."""
    y = np.array([BINS - 1.0, 0.0, 3.0])
    log_p = torch.log_softmax(_t(PRED[:3]), dim=1).numpy()
    want = -log_p[[0, 1, 2], [BINS - 1, 0, 3]]
    np.testing.assert_allclose(
        lb.distribution_focal_loss(PRED[:3], y, reduction="none"), want, rtol=F64
    )


# ------------------------------------------------------------------------------------------
# probiou_loss
# ------------------------------------------------------------------------------------------


def _obb(n, near=None):
    """Rotated boxes (x, y, w, h, r); ``near``: boxes moved a little from those."""
    if near is None:
        xy = RNG.uniform(0, 50, size=(n, 2))
        wh = RNG.uniform(2, 20, size=(n, 2))
        r = RNG.uniform(-math.pi / 2, math.pi / 2, size=(n, 1))
        return np.concatenate([xy, wh, r], axis=1)
    shift = np.concatenate(
        [
            RNG.normal(0, 2, size=(n, 2)),
            RNG.uniform(-1.5, 1.5, size=(n, 2)),
            RNG.normal(0, 0.3, size=(n, 1)),
        ],
        axis=1,
    )
    return near + shift


GT = _obb(9)
PRED_BOXES = _obb(9, near=GT)
PRED_BOXES[-1] = GT[-1] + np.array([40.0, 40.0, 0.0, 0.0, 0.0])  # far: B clamped at 100


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ({}, {}),
        ({"ciou": True}, {"CIoU": True}),
        ({"floor": 0.01}, {"floor": 0.01}),
        ({"eps": 1e-5, "ciou": True}, {"eps": 1e-5, "CIoU": True}),
    ],
)
def test_probiou_loss_is_ultralytics(ours, theirs):
    _assert_matches(
        lambda x: lb.probiou_loss(x, _t(GT), reduction="none", **ours),
        lambda x: 1.0 - ultralytics_probiou(x, _t(GT), **theirs)[:, 0],
        PRED_BOXES,
        rtol=1e-11,  # ultralytics' a b - c^2 cancels (our determinant is the exact product)
    )
    # the target's gradient too (probiou is symmetric in its two boxes)
    _assert_matches(
        lambda g: lb.probiou_loss(_t(PRED_BOXES), g, reduction="sum", **ours),
        lambda g: (1.0 - ultralytics_probiou(_t(PRED_BOXES), g, **theirs)).sum(),
        GT,
        rtol=1e-11,
    )


def test_probiou_loss_is_ultralytics_rotated_box_loss():
    """``RotatedBboxLoss``: floor 0.01, weights from the target scores, / target_scores_sum."""
    n = GT.shape[0]
    scores = np.where(RNG.uniform(size=(n, 3)) < 0.5, RNG.uniform(0.1, 0.9, size=(n, 3)), 0.0)
    fg = scores.sum(1) > 0
    tss = max(scores.sum(), 1)
    w = scores[fg].sum(-1)
    _assert_matches(
        lambda x: lb.probiou_loss(
            x[_t(fg)], _t(GT[fg]), floor=0.01, weight=_t(w), denominator=float(tss)
        ),
        lambda x: ultralytics_rotated_iou_loss(x, _t(GT), _t(scores), _t(fg)),
        PRED_BOXES,
        rtol=1e-11,
    )


def test_probiou_of_equal_boxes():
    """B = 0, clamped to eps: the loss is sqrt(1 - e^-eps + eps) ~ sqrt(2 eps)."""
    got = lb.probiou_loss(GT, GT, reduction="none")
    np.testing.assert_allclose(got, np.sqrt(-np.expm1(-1e-7) + 1e-7), rtol=1e-9)


# ------------------------------------------------------------------------------------------
# Global means
# ------------------------------------------------------------------------------------------


def test_counts():
    assert float(lb.mean_denominator(lb.varifocal_loss, X, Q)) == X.size
    assert float(lb.mean_denominator(lb.quality_focal_loss, X, Q)) == X.shape[0]
    assert float(lb.mean_denominator(lb.distribution_focal_loss, PRED, DIST)) == DIST.size
    assert float(lb.mean_denominator(lb.probiou_loss, PRED_BOXES, GT)) == GT.shape[0]


def test_shards_add_up_to_mmdetections_avg_factor_mean():
    """Each shard divided by the total number of positives (mmdetection's avg_factor summed
    over devices): the shards' losses add up to the full batch's."""
    total = float((Q > 0).sum())
    full = float(mmdet_varifocal(_t(X), _t(Q), avg_factor=total - float(np.finfo(np.float32).eps)))
    parts = [lb.varifocal_loss(X[s], Q[s], denominator=total) for s in (slice(0, 5), slice(5, 12))]
    assert float(sum(parts)) == pytest.approx(full, rel=1e-14)


# ------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: lb.varifocal_loss(X, Q[:, :4]),
            ValueError,
            r"varifocal_loss: target has shape \(12, 4\) but input has shape \(12, 5\)",
        ),
        (
            lambda: lb.varifocal_loss(X, Q, label=ONE_HOT[:3]),
            ValueError,
            "varifocal_loss: label has shape",
        ),
        (lambda: lb.varifocal_loss(X, Q, alpha=-1), ValueError, "varifocal_loss: alpha must be"),
        (
            lambda: lb.varifocal_loss(X, Q, gamma=math.inf),
            ValueError,
            "varifocal_loss: gamma must be finite",
        ),
        (
            lambda: lb.varifocal_loss(X, Q, iou_weighted=1),
            TypeError,
            "iou_weighted must be a bool",
        ),
        (
            lambda: lb.varifocal_loss(X, Q, weight=np.ones((3, 12, 5))),
            ValueError,
            r"varifocal_loss: weight has shape \(3, 12, 5\); expected the unreduced loss's",
        ),
        (
            lambda: lb.varifocal_loss(X, Q, reduction="sum", denominator=3.0),
            ValueError,
            "varifocal_loss: denominator= applies to",
        ),
        (
            lambda: lb.quality_focal_loss(X, (LABEL, SCORE, SCORE)),
            ValueError,
            "quality_focal_loss: target must be an \\(N, C\\) array of quality scores or a pair",
        ),
        (
            lambda: lb.quality_focal_loss(X, (LABEL[:3], SCORE)),
            ValueError,
            r"quality_focal_loss: label has shape \(3,\); expected \(12,\)",
        ),
        (
            lambda: lb.quality_focal_loss(X, (LABEL.astype(float), SCORE)),
            TypeError,
            "label",
        ),
        (
            lambda: lb.quality_focal_loss(X[0], Q[0]),
            ValueError,
            r"quality_focal_loss: input must have shape \(N, C\)",
        ),
        (lambda: lb.quality_focal_loss(X, Q, beta=-2), ValueError, "beta must be >= 0"),
        (
            lambda: lb.distribution_focal_loss(PRED, DIST[:4]),
            ValueError,
            r"distribution_focal_loss: target has shape \(4,\); expected \(10,\)",
        ),
        (
            lambda: lb.distribution_focal_loss(PRED, DIST + BINS),
            ValueError,
            r"distribution_focal_loss: target must have distances in bins, for 8 bins in \[0",
        ),
        (
            lambda: lb.distribution_focal_loss(PRED[:, :1], DIST),
            ValueError,
            "B >= 2 bins",
        ),
        (
            lambda: lb.distribution_focal_loss(PRED, DIST, clamp="yes"),
            TypeError,
            "clamp must be a bool",
        ),
        (
            lambda: lb.probiou_loss(GT[:, :4], GT[:, :4]),
            ValueError,
            r"probiou_loss: input has shape \(9, 4\); expected \(..., 5\)",
        ),
        (
            lambda: lb.probiou_loss(GT, GT[:3]),
            ValueError,
            r"probiou_loss: target has shape \(3, 5\) but input has shape \(9, 5\)",
        ),
        (lambda: lb.probiou_loss(GT, GT, eps=-1.0), ValueError, "probiou_loss: eps must be"),
        (lambda: lb.probiou_loss(GT, GT, floor=-0.1), ValueError, "probiou_loss: floor must be"),
        (lambda: lb.probiou_loss(GT, GT, ciou=1), TypeError, "ciou must be a bool"),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
