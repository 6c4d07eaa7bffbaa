"""Dense-detection losses of ultralytics and mmdetection: varifocal loss, the two losses of
Generalized Focal Loss (quality focal and distribution focal) and the probabilistic IoU loss of
rotated boxes.

Both libraries ship them for PyTorch only, each with its own reduction: ultralytics sums per-image
means (``.mean(1).sum()``) or divides a weighted sum by the sum of the target scores;
mmdetection's ``weight_reduce_loss`` divides the sum by ``avg_factor`` (the number of positives,
summed over devices). Here each loss takes ``reduction='mean'|'sum'|'none'`` in torch's style,
an elementwise ``weight`` (multiplied in, as mmdetection's ``weight``; the mean still divides by
the number of terms, as mmdetection's does) and ``denominator=``, which is mmdetection's
``avg_factor`` and ultralytics' divisors (``docs/dense_detection.md`` has the recipes and
numbers).
"""

from __future__ import annotations

import math
from typing import Any

from lossbridge._inputs import arange_like, promote_floats, setup
from lossbridge._precision import half_precision
from lossbridge._primitives import abs0, log_sigmoid, log_softmax
from lossbridge._primitives import clamp as _clamp  # `clamp` is also a parameter here
from lossbridge._reduction import reduce
from lossbridge._typing import ArrayLike, ArrayT, Reduction
from lossbridge._validation import (
    check_denominator,
    check_integer,
    check_range,
    check_real,
    check_reduction,
    check_same_shape,
    shape_str,
)
from lossbridge.backends import (
    stop_gradient,
    take_along_axis,
)

__all__ = [
    "distribution_focal_loss",
    "probiou_loss",
    "quality_focal_loss",
    "varifocal_loss",
]


# ------------------------------------------------------------------------------------------
# Shared helpers
# ------------------------------------------------------------------------------------------


def _pow0(xp: Any, base: Any, exponent: float) -> Any:
    """``base ** exponent`` for ``base >= 0``: ``0 ** e`` is 0 (1 for ``e == 0``) with a finite
    gradient (0) there; a NaN base gives NaN (as torch's ``pow``)."""
    if exponent == 0.0:
        return xp.ones_like(base)
    if exponent == 1.0:
        return base
    if exponent == 2.0:
        return base * base
    zero = base <= 0
    safe = xp.where(zero, xp.ones_like(base), base)
    return xp.where(zero, xp.zeros_like(base), xp.pow(safe, exponent))


def _bce(xp: Any, x: Any, t: Any) -> Any:
    """``binary_cross_entropy_with_logits`` unreduced, ``(1 - t) x - log sigma(x)``, written out
    rather than through the fused TensorFlow kernel, which gives NaN at ``x = +inf`` where
    torch (and this form) give +inf."""
    return (1.0 - t) * x - log_sigmoid(xp, x)


def _weight(xp: Any, weight: Any, loss: Any, name: str) -> Any:
    """``loss * weight``, ``weight`` of the loss's shape or one that broadcasts to it."""
    if weight is None:
        return loss
    sl, sw = tuple(loss.shape), tuple(weight.shape)
    grows = len(sw) > len(sl) or any(
        w not in (1, s) and None not in (w, s)
        for w, s in zip(reversed(sw), reversed(sl), strict=False)
    )
    if grows:
        raise ValueError(
            f"{name}: weight has shape {shape_str(sw)}; expected the unreduced loss's shape "
            f"{shape_str(sl)} or one that broadcasts to it"
        )
    return loss * weight


def _reduce(xp: Any, loss: Any, weight: Any, reduction: str, over: Any, name: str) -> Any:
    """mmdetection's ``weight_reduce_loss``: the weighted terms summed, divided by their number
    (``'mean'``) or by ``denominator=`` (mmdetection's ``avg_factor``)."""
    return reduce(xp, _weight(xp, weight, loss, name), reduction, override=over)


def _check_options(reduction: Any, denominator: Any, name: str) -> Any:
    check_reduction(reduction)
    return check_denominator(denominator, reduction, loss=name)


# ------------------------------------------------------------------------------------------
# varifocal_loss (ultralytics VarifocalLoss; mmdetection varifocal_loss)
# ------------------------------------------------------------------------------------------


@half_precision(float32_result=True)  # ultralytics: float32 whatever the input
def varifocal_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    label: ArrayLike | None = None,
    alpha: float = 0.75,
    gamma: float = 2.0,
    iou_weighted: bool = True,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Varifocal loss (VarifocalNet): binary cross-entropy on IoU-aware classification scores,
    the negatives down-weighted by their own score.

    With :math:`p = \sigma(x)`, the target score :math:`q` (the IoU with the matched box for
    the positives, 0 elsewhere) and the positive indicator :math:`l`:

    .. math::

        \ell = \mathrm{BCE}(x, q) \left[ q\, l + \alpha\, |p - q|^{\gamma} (1 - l) \right]

    (:math:`q l` is :math:`l` with ``iou_weighted=False``; on the negatives :math:`q = 0` and
    :math:`|p - q|^\gamma = p^\gamma`).

    Parameters
    ----------
    input : array, shape (N, C) or any
        Logits of the IoU-aware classification score.
    target : array, the input's shape
        The target score :math:`q` in [0, 1] (mmdetection's ``target``, ultralytics'
        ``gt_score``).
    label : array, the input's shape, optional
        ultralytics' ``label`` (one-hot, 1 for the positives): the weight is then
        :math:`q\, l + \alpha\, p^{\gamma} (1 - l)`, as ultralytics writes it. Default
        (mmdetection's): :math:`l = [q > 0]`, with :math:`|p - q|^\gamma` on the negatives.
    alpha : float, default 0.75
        The weight of the negatives (not focal loss's alpha), >= 0.
    gamma : float, default 2.0
        The focusing exponent of the negatives, >= 0.
    iou_weighted : bool, default True
        mmdetection's: the positives weighted by :math:`q` (True) or by 1.
    weight : array, optional
        Multiplies the terms; the loss's shape or one that broadcasts to it.
    reduction : {'mean', 'sum', 'none'}
        ``'mean'`` divides the (weighted) sum by the number of terms.
    denominator : float or 0-d array, optional
        For ``'mean'``: divide the sum by this instead: mmdetection's ``avg_factor``; the number
        of anchors ``input.shape[1]`` gives ultralytics' ``.mean(1).sum()``. The count summed
        over shards (:func:`lossbridge.mean_denominator`) makes the shards' losses add up to
        the full batch's mean.

    Returns
    -------
    array
        0-d, or the input's shape for ``'none'``. **float32 for float16/bfloat16 inputs**, as
        ultralytics returns it (it computes in float32 with autocast off); under
        ``torch.autocast``, float32 too.

    Notes
    -----
    The weight keeps its gradient through :math:`p`, in both libraries. ultralytics computes
    the weight in the input's dtype and the cross-entropy in float32; here both are float32
    (the weight of a half input is not rounded to half first). mmdetection divides by
    ``avg_factor + 1.19e-7`` (float32's epsilon, against a zero ``avg_factor``):
    ``denominator=avg_factor`` differs from it by that relative amount (``1.2e-7 /
    avg_factor``).

    References
    ----------
    Zhang, Wang, Dayoub and Sünderhauf, "VarifocalNet: An IoU-aware Dense Object Detector",
    CVPR 2021, arXiv:2008.13367. ultralytics 8.4 ``ultralytics/utils/loss.py``
    (``VarifocalLoss``); mmdetection 3.3 ``mmdet/models/losses/varifocal_loss.py``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([[1.5, -2.0, 0.3], [-0.5, 2.5, -1.0]])
    >>> q = np.array([[0.8, 0.0, 0.0], [0.0, 0.6, 0.0]])  # IoUs of the positives
    >>> p = 1 / (1 + np.exp(-x))
    >>> bce = np.logaddexp(0, x) - q * x
    >>> w = np.where(q > 0, q, 0.75 * p**2)
    >>> bool(np.isclose(lb.varifocal_loss(x, q), (bce * w).mean()))
    True
    >>> bool(np.isclose(lb.varifocal_loss(x, q, reduction="sum"), (bce * w).sum()))
    True
    """
    name = "varifocal_loss"
    alpha = check_real(
        alpha, "alpha", loss=name, what="the weight of the negatives", low=0.0, finite=True
    )
    gamma = check_real(gamma, "gamma", loss=name, what="focusing exponent", low=0.0, finite=True)
    if not isinstance(iou_weighted, bool):
        raise TypeError(f"{name}: iou_weighted must be a bool; got {iou_weighted!r}")
    over = _check_options(reduction, denominator, name)
    xp, input, target, label, weight = setup(input, target=target, label=label, weight=weight)
    check_same_shape(input, target, "input", "target")
    if label is not None:
        check_same_shape(input, label, "input", "label")
    input, target, label, weight = promote_floats(xp, input, target, label, weight)
    p = xp.exp(log_sigmoid(xp, input))
    if label is None:  # mmdetection: the positives are q > 0, the negatives |p - q|^gamma
        positive = xp.astype(target > 0.0, input.dtype)
        focus = _pow0(xp, abs0(xp, p - target), gamma)
    else:  # ultralytics: the given labels, the negatives p^gamma
        positive = label
        focus = _pow0(xp, p, gamma)
    on_positive = target * positive if iou_weighted else positive
    w = on_positive + alpha * focus * (1.0 - positive)
    loss = _bce(xp, input, target) * w
    return _reduce(xp, loss, weight, reduction, over, name)


# ------------------------------------------------------------------------------------------
# quality_focal_loss (mmdetection quality_focal_loss / quality_focal_loss_tensor_target)
# ------------------------------------------------------------------------------------------


def _dense_quality(input: Any, target: Any, weight: Any, name: str) -> tuple[Any, ...]:
    """``(xp, input, target, weight)``: QFL's target an (N, C) array, or mmdetection's pair
    (label, score) made dense."""
    if isinstance(target, (tuple, list)):
        if len(target) != 2:
            raise ValueError(
                f"{name}: target must be an (N, C) array of quality scores or a pair (label, "
                f"score); got a {type(target).__name__} of {len(target)} items"
            )
        label, score = target
        xp, input, label, score, weight = setup(input, label=label, score=score, weight=weight)
        n, c = _check_rows(input, name)
        check_integer(xp, label, "label", "class indices (C for the background)")
        for arr, what in ((label, "label"), (score, "score")):
            if tuple(arr.shape) != (n,):
                raise ValueError(
                    f"{name}: {what} has shape {shape_str(arr.shape)}; expected ({n},), one per "
                    f"row of input {shape_str(input.shape)}"
                )
        input, score, weight = promote_floats(xp, input, score, weight)
        classes = arange_like(xp, c, label)
        hot = xp.expand_dims(label, axis=1) == xp.expand_dims(classes, axis=0)
        dense = xp.where(hot, xp.expand_dims(score, axis=1), xp.zeros_like(input))
        return xp, input, dense, weight
    xp, input, target, weight = setup(input, target=target, weight=weight)
    _check_rows(input, name)
    check_same_shape(input, target, "input", "target")
    input, target, weight = promote_floats(xp, input, target, weight)
    return xp, input, target, weight


def _check_rows(input: Any, name: str) -> tuple[int, int]:
    if input.ndim != 2:
        raise ValueError(
            f"{name}: input must have shape (N, C), logits with the classes last; got shape "
            f"{shape_str(input.shape)}"
        )
    return int(input.shape[0]), int(input.shape[1])


@half_precision
def quality_focal_loss(
    input: ArrayT,
    target: ArrayLike | tuple[ArrayLike, ArrayLike],
    *,
    beta: float = 2.0,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Quality focal loss (Generalized Focal Loss): binary cross-entropy on a joint
    classification-quality score, scaled by the distance to the target score.

    With :math:`p = \sigma(x)` and the target quality :math:`q` (the IoU for the box's class,
    0 for every other class and for the background), summed over the classes:

    .. math::

        \ell_n = \sum_c \mathrm{BCE}(x_{n,c}, q_{n,c})\, |q_{n,c} - p_{n,c}|^{\beta}

    Parameters
    ----------
    input : array, shape (N, C)
        Logits, the classes last.
    target : array of shape (N, C), or a pair (label, score)
        The quality :math:`q` per class (mmdetection's tensor target); or mmdetection's pair:
        ``label`` of shape (N,), integer class indices (any index outside [0, C), such as
        C, marks the background), and ``score`` of shape (N,), the quality of the label's class.
    beta : float, default 2.0
        The exponent of the scaling factor, >= 0.
    weight : array of shape (N,), optional
        A weight per row, multiplying its loss.
    reduction : {'mean', 'sum', 'none'}
        ``'mean'`` divides the (weighted) sum over the rows by N; ``'none'`` returns the (N,)
        row losses.
    denominator : float or 0-d array, optional
        For ``'mean'``: divide by this instead of N: mmdetection's ``avg_factor``. The count
        summed over shards (:func:`lossbridge.mean_denominator`) makes the shards' losses add
        up to the full batch's mean.

    Returns
    -------
    array
        0-d, or (N,) for ``'none'``.

    Notes
    -----
    mmdetection writes the negatives as ``BCE(x, 0) * p**beta`` and the positive of each row
    as ``BCE(x, q) * |q - p|**beta``: one formula, since :math:`|0 - p| = p`; its pair target
    and its tensor target (``quality_focal_loss_tensor_target``) give the same loss for the
    one-hot target ``q = score * one_hot(label)``. The scaling factor keeps its gradient, as in
    mmdetection. mmdetection divides by ``avg_factor + 1.19e-7``.

    References
    ----------
    Li, Wang, Wu, Chen, Hu, Li, Tang and Yang, "Generalized Focal Loss: Learning Qualified and
    Distributed Bounding Boxes for Dense Object Detection", NeurIPS 2020, arXiv:2006.04388.
    mmdetection 3.3 ``mmdet/models/losses/gfocal_loss.py``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([[1.5, -2.0, 0.3], [-0.5, 2.5, -1.0], [0.2, -0.1, -3.0]])
    >>> label, score = np.array([0, 1, 3]), np.array([0.8, 0.6, 0.0])  # row 2: background
    >>> q = np.zeros((3, 3))
    >>> q[[0, 1], [0, 1]] = score[:2]
    >>> p = 1 / (1 + np.exp(-x))
    >>> rows = ((np.logaddexp(0, x) - q * x) * np.abs(q - p) ** 2).sum(1)
    >>> bool(np.isclose(lb.quality_focal_loss(x, (label, score)), rows.mean()))
    True
    >>> bool(np.isclose(lb.quality_focal_loss(x, q, denominator=2.0), rows.sum() / 2))
    True
    """
    name = "quality_focal_loss"
    beta = check_real(beta, "beta", loss=name, what="the scaling exponent", low=0.0, finite=True)
    over = _check_options(reduction, denominator, name)
    xp, input, target, weight = _dense_quality(input, target, weight, name)
    p = xp.exp(log_sigmoid(xp, input))
    scale = _pow0(xp, abs0(xp, target - p), beta)
    loss = xp.sum(_bce(xp, input, target) * scale, axis=1)
    return _reduce(xp, loss, weight, reduction, over, name)


# ------------------------------------------------------------------------------------------
# distribution_focal_loss (ultralytics DFLoss; mmdetection distribution_focal_loss)
# ------------------------------------------------------------------------------------------

#: ultralytics' ``target.clamp_(0, self.reg_max - 1 - 0.01)``: the margin below the last bin.
_DFL_MARGIN = 0.01


@half_precision
def distribution_focal_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    clamp: bool = False,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Distribution focal loss (Generalized Focal Loss): cross-entropy of a discretised
    distance against the two bins around its target.

    With B bins (``input.shape[-1]``, ultralytics' ``reg_max``, mmdetection's n + 1), a
    target distance :math:`y \in [0, B - 1]`, :math:`y_l = \lfloor y \rfloor` and
    :math:`y_r = y_l + 1`:

    .. math::

        \ell = -(y_r - y) \log \mathrm{softmax}(x)_{y_l} - (y - y_l) \log \mathrm{softmax}(x)_{y_r}

    Parameters
    ----------
    input : array, shape (..., B)
        Logits over the B bins, the bins last.
    target : array, shape (...)
        Distances in bin units, in [0, B - 1] (a target of exactly B - 1 reads the last bin
        alone).
    clamp : bool, default False
        ultralytics' ``DFLoss``: clamp the targets to [0, B - 1.01] first. Without it a target
        outside [0, B - 1] is an error, as in mmdetection (where it indexes past the bins).
    weight : array, optional
        Multiplies the terms; the target's shape or one that broadcasts to it.
    reduction : {'mean', 'sum', 'none'}
        ``'mean'`` divides the (weighted) sum by the number of targets; ``'none'`` returns the
        target's shape.
    denominator : float or 0-d array, optional
        For ``'mean'``: divide by this instead: mmdetection's ``avg_factor``; 4 times
        ultralytics' ``target_scores_sum`` for its box loss (whose ``DFLoss`` averages the four
        sides of a box). The count summed over shards (:func:`lossbridge.mean_denominator`)
        makes the shards' losses add up to the full batch's mean.

    Returns
    -------
    array
        0-d, or the target's shape for ``'none'``.

    Notes
    -----
    ultralytics returns the mean over the four sides of each box (``.mean(-1,
    keepdim=True)``), multiplies it by the box's weight and divides the sum by
    ``target_scores_sum``: ``distribution_focal_loss(pred, target, clamp=True,
    weight=w[:, None], denominator=4 * target_scores_sum)`` with ``pred`` of shape
    (M, 4, B), ``target`` (M, 4) and ``w`` (M,). The target gets no gradient from the loss's
    callers in either library; here it has the formula's (the weights are linear in y).

    References
    ----------
    Li et al., "Generalized Focal Loss", NeurIPS 2020, arXiv:2006.04388. ultralytics 8.4
    ``ultralytics/utils/loss.py`` (``DFLoss``); mmdetection 3.3
    ``mmdet/models/losses/gfocal_loss.py``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([[0.5, 2.0, 1.0, -1.0], [1.0, 0.0, 0.5, 3.0]])
    >>> y = np.array([1.25, 2.5])
    >>> log_p = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    >>> terms = -(0.75 * log_p[0, 1] + 0.25 * log_p[0, 2]), -(0.5 * log_p[1, 2] + 0.5 * log_p[1, 3])
    >>> bool(np.isclose(lb.distribution_focal_loss(x, y), np.mean(terms)))
    True
    """
    name = "distribution_focal_loss"
    if not isinstance(clamp, bool):
        raise TypeError(f"{name}: clamp must be a bool; got {clamp!r}")
    over = _check_options(reduction, denominator, name)
    xp, input, target, weight = setup(input, target=target, weight=weight)
    if input.ndim < 1 or int(input.shape[-1]) < 2:
        raise ValueError(
            f"{name}: input must have shape (..., B), logits over B >= 2 bins; got shape "
            f"{shape_str(input.shape)}"
        )
    bins = int(input.shape[-1])
    if tuple(target.shape) != tuple(input.shape[:-1]):
        raise ValueError(
            f"{name}: target has shape {shape_str(target.shape)}; expected "
            f"{shape_str(input.shape[:-1])}, one distance per row of bins of input "
            f"{shape_str(input.shape)}"
        )
    input, target, weight = promote_floats(xp, input, target, weight)
    top = float(bins - 1)
    if clamp:
        target = _clamp(xp, target, 0.0, top - _DFL_MARGIN)
    else:
        check_range(xp, target, "target", 0.0, top, what=f"distances in bins, for {bins} bins")
    left = xp.floor(stop_gradient(target))
    right = left + 1.0
    log_p = log_softmax(xp, input, input.ndim - 1)
    loss = -(
        (right - target) * _bin(xp, log_p, left, top)
        + (target - left) * _bin(xp, log_p, right, top)
    )
    return _reduce(xp, loss, weight, reduction, over, name)


def _bin(xp: Any, log_p: Any, at: Any, top: float) -> Any:
    """``log_p`` at the bins ``at`` (whole numbers), clipped to [0, top]; a NaN target reads
    bin 0 (its loss is NaN through its weights)."""
    at = _clamp(xp, xp.where(xp.isnan(at), xp.zeros_like(at), at), 0.0, top)
    index = xp.expand_dims(xp.astype(at, xp.int64), axis=-1)
    return xp.squeeze(take_along_axis(xp, log_p, index, log_p.ndim - 1), axis=-1)


# ------------------------------------------------------------------------------------------
# probiou_loss (ultralytics probiou, RotatedBboxLoss)
# ------------------------------------------------------------------------------------------


def _gaussian(xp: Any, boxes: Any, floor: float) -> tuple[Any, ...]:
    """ultralytics' ``_get_covariance_matrix``: the centre and the covariance ``[[a, c], [c, b]]``
    of the box's Gaussian (variances ``w^2 / 12 + floor``, ``h^2 / 12 + floor``, rotated by r),
    and its determinant, the product of the two variances (``a b - c^2`` in exact arithmetic)."""
    x, y, w, h, r = (boxes[..., i] for i in range(5))
    var_w = w * w / 12.0 + floor
    var_h = h * h / 12.0 + floor
    cos, sin = xp.cos(r), xp.sin(r)
    cos2, sin2 = cos * cos, sin * sin
    a = var_w * cos2 + var_h * sin2
    b = var_w * sin2 + var_h * cos2
    c = (var_w - var_h) * cos * sin
    return x, y, a, b, c, var_w * var_h


def _probiou(xp: Any, box1: Any, box2: Any, eps: float, floor: float, ciou: bool) -> Any:
    """ultralytics' ``probiou``: 1 - the Hellinger distance of the boxes' Gaussians (through
    their Bhattacharyya distance, clamped to [eps, 100]), less CIoU's aspect term."""
    x1, y1, a1, b1, c1, det1 = _gaussian(xp, box1, floor)
    x2, y2, a2, b2, c2, det2 = _gaussian(xp, box2, floor)
    a, b, c = a1 + a2, b1 + b2, c1 + c2
    det = a * b - c * c
    t1 = (a * (y1 - y2) ** 2 + b * (x1 - x2) ** 2) / (det + eps) * 0.25
    t2 = (c * (x2 - x1) * (y1 - y2)) / (det + eps) * 0.5
    t3 = xp.log(det / (4.0 * xp.sqrt(det1 * det2) + eps) + eps) * 0.5
    bd = _clamp(xp, t1 + t2 + t3, eps, 100.0)
    iou = 1.0 - xp.sqrt(eps - xp.expm1(-bd))  # 1 - sqrt(1 - exp(-bd) + eps)
    if not ciou:
        return iou
    w1, h1, w2, h2 = box1[..., 2], box1[..., 3], box2[..., 2], box2[..., 3]
    v = (4.0 / math.pi**2) * (xp.atan(w2 / h2) - xp.atan(w1 / h1)) ** 2
    alpha = stop_gradient(v / (v - iou + (1.0 + eps)))  # ultralytics: under torch.no_grad()
    return iou - v * alpha


@half_precision
def probiou_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    ciou: bool = False,
    eps: float = 1e-7,
    floor: float = 0.0,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Probabilistic IoU loss of rotated boxes (ultralytics' ``probiou``): one minus the
    Gaussian-overlap IoU of each predicted box with its target.

    Each box :math:`(x, y, w, h, r)` (centre, size, rotation in radians) is the Gaussian with
    mean :math:`(x, y)` and covariance :math:`\Sigma = R_r \operatorname{diag}(w^2 / 12 + f,
    h^2 / 12 + f) R_r^\top`. With :math:`\Sigma = (\Sigma_1 + \Sigma_2) / 2` the
    Bhattacharyya distance and the IoU are

    .. math::

        B = \tfrac18 \Delta^\top \Sigma^{-1} \Delta
        + \tfrac12 \log \frac{|\Sigma|}{\sqrt{|\Sigma_1| |\Sigma_2|}}, \qquad
        \ell = 1 - \left(1 - \sqrt{1 - e^{-B} + \epsilon}\right)

    (:math:`B` clamped to :math:`[\epsilon, 100]`; :math:`\epsilon` also in the divisions, as
    ultralytics puts it). ``ciou=True`` subtracts CIoU's aspect-ratio term
    :math:`\alpha v`, :math:`v = \frac{4}{\pi^2} (\arctan\frac{w_2}{h_2} -
    \arctan\frac{w_1}{h_1})^2`, :math:`\alpha = v / (v - \mathrm{IoU} + 1 + \epsilon)` held
    constant (no gradient), from the IoU.

    Parameters
    ----------
    input : array, shape (..., 5)
        Predicted boxes ``(x, y, w, h, r)`` on the last axis (ultralytics' xywhr).
    target : array, the input's shape
        Target boxes.
    ciou : bool, default False
        ultralytics' ``CIoU``.
    eps : float, default 1e-7
        ultralytics' ``eps``, > 0.
    floor : float, default 0.0
        Added to both variances (ultralytics' ``floor``: ``RotatedBboxLoss`` passes 0.01, to
        bound the gradients of boxes below a stride), >= 0.
    weight : array, optional
        Multiplies the terms; the boxes' shape ``input.shape[:-1]`` or one that broadcasts to it.
    reduction : {'mean', 'sum', 'none'}
        ``'mean'`` divides the (weighted) sum by the number of boxes.
    denominator : float or 0-d array, optional
        For ``'mean'``: divide by this instead: ultralytics' ``target_scores_sum``. The count
        summed over shards (:func:`lossbridge.mean_denominator`) makes the shards' losses add
        up to the full batch's mean.

    Returns
    -------
    array
        0-d, or ``input.shape[:-1]`` for ``'none'``.

    Notes
    -----
    ``RotatedBboxLoss`` computes ``((1 - probiou(pred, target, floor=0.01)) * weight).sum() /
    target_scores_sum``: ``probiou_loss(pred, target, floor=0.01, weight=w,
    denominator=target_scores_sum)``. The determinants :math:`|\Sigma_i|` are the products of
    the two variances, which ultralytics writes as ``a b - c**2`` clamped at 0: the same number
    without the cancellation. :math:`1 - e^{-B}` is ``-expm1(-B)``.

    References
    ----------
    Llerena, Zeni, Kristen and Jung, "Gaussian Bounding Boxes and Probabilistic Intersection-
    over-Union for Object Detection", arXiv:2106.06072. ultralytics 8.4
    ``ultralytics/utils/metrics.py`` (``probiou``, ``_get_covariance_matrix``) and
    ``ultralytics/utils/loss.py`` (``RotatedBboxLoss``).

    Examples
    --------
    Two equal boxes overlap fully (the loss is :math:`\sqrt{1 - e^{-\epsilon} + \epsilon}`,
    about 4.5e-4); a shifted one less.

    >>> import numpy as np
    >>> import lossbridge as lb
    >>> box = np.array([[10.0, 10.0, 4.0, 2.0, 0.3]])
    >>> bool(np.isclose(lb.probiou_loss(box, box), np.sqrt(-np.expm1(-1e-7) + 1e-7)))
    True
    >>> moved = box + np.array([[1.0, 0.0, 0.0, 0.0, 0.0]])
    >>> bool(lb.probiou_loss(moved, box) > lb.probiou_loss(box, box))
    True
    """
    name = "probiou_loss"
    if not isinstance(ciou, bool):
        raise TypeError(f"{name}: ciou must be a bool; got {ciou!r}")
    eps = check_real(eps, "eps", loss=name, what="keeps the divisions finite", low=0.0, finite=True)
    floor = check_real(
        floor, "floor", loss=name, what="added to the variances", low=0.0, finite=True
    )
    over = _check_options(reduction, denominator, name)
    xp, input, target, weight = setup(input, target=target, weight=weight)
    if input.ndim == 0 or input.shape[-1] != 5:
        raise ValueError(
            f"{name}: input has shape {shape_str(input.shape)}; expected (..., 5): rotated boxes "
            "as (x, y, w, h, r) on the last axis"
        )
    check_same_shape(input, target, "input", "target")
    input, target, weight = promote_floats(xp, input, target, weight)
    loss = 1.0 - _probiou(xp, input, target, eps, floor, ciou)
    return _reduce(xp, loss, weight, reduction, over, name)
