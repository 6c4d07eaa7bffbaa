"""Detection losses, matching ``torchvision.ops`` name for name, and more IoU box losses.

``sigmoid_focal_loss`` (RetinaNet's focal loss) and the three box-regression losses
``generalized_box_iou_loss``, ``distance_box_iou_loss`` and ``complete_box_iou_loss``, with
torchvision's names, parameter names, defaults and numbers, written once against the array API.
Beyond torchvision, in its style (default reduction ``'none'``, ``eps=1e-7`` where it puts it):
``box_iou_loss`` (1 - IoU), ``efficient_box_iou_loss`` (EIoU and Focal-EIoU, Zhang et al.
2022) and ``scylla_box_iou_loss`` (SIoU, Gevorgyan 2022).

Boxes are ``(x1, y1, x2, y2)`` on the last axis, compared elementwise (box ``i`` of ``boxes1``
with box ``i`` of ``boxes2``), not as pairwise matrices.

Where torchvision uses ``torch.max``/``torch.min`` of two tensors, these losses use
``maximum``/``minimum`` from :mod:`lossbridge._primitives`, whose value is the exact
maximum/minimum and whose gradient is torch's on every backend: at a tie each argument gets
half the gradient (torch and JAX do this; TensorFlow's ``tf.maximum``/``tf.minimum`` give
all of it to the first argument).
"""

from __future__ import annotations

import math
from typing import Any

from lossbridge._inputs import promote_floats
from lossbridge._precision import half_precision
from lossbridge._primitives import abs0, log_sigmoid, maximum, minimum
from lossbridge._reduction import reduce
from lossbridge._typing import ArrayLike, ArrayT, Reduction
from lossbridge._validation import (
    check_array_like,
    check_denominator,
    check_floating,
    check_real,
    check_real_dtype,
    check_same_shape,
    shape_str,
)
from lossbridge.backends import asarray_on, get_namespace, stop_gradient

__all__ = [
    "box_iou_loss",
    "complete_box_iou_loss",
    "distance_box_iou_loss",
    "efficient_box_iou_loss",
    "generalized_box_iou_loss",
    "scylla_box_iou_loss",
    "sigmoid_focal_loss",
]

_REDUCTIONS = ("none", "mean", "sum")
# torchvision's _diou_iou_loss default: complete_box_iou_loss calls it without passing eps.
_DIOU_EPS = 1e-7
#: What ``eps`` does, in its error messages.
_EPS_DIVISIONS = "keeps the divisions finite"
_EPS_ENCLOSING = "added to the union and the enclosing lengths"


# ------------------------------------------------------------------------------------------
# Shared helpers
# ------------------------------------------------------------------------------------------


def _check_reduction(reduction: Any) -> str:
    """torchvision's ValueError for a reduction other than 'none', 'mean' or 'sum'."""
    if not isinstance(reduction, str) or reduction not in _REDUCTIONS:
        raise ValueError(
            f"Invalid Value for arg 'reduction': '{reduction}' \n Supported reduction modes: "
            "'none', 'mean', 'sum'"
        )
    return reduction


def _upcast_non_float(xp: Any, boxes: Any, name: str) -> Any:
    """torchvision's ``_upcast_non_float``: dtypes other than float32/float64 become float32.

    Integer boxes (and float16/bfloat16 where a framework has them) are computed in float32,
    as ``Tensor.float()`` does. Bool and complex boxes are refused.
    """
    dt = boxes.dtype
    if dt == xp.float32 or dt == xp.float64:
        return boxes
    if xp.isdtype(dt, "bool") or not xp.isdtype(dt, ("integral", "real floating")):
        raise TypeError(
            f"{name} must have a real floating or integer dtype (box coordinates); got {dt}"
        )
    return xp.astype(boxes, xp.float32)


def _check_boxes(boxes: Any, name: str) -> None:
    if boxes.ndim == 0 or boxes.shape[-1] != 4:
        raise ValueError(
            f"{name} has shape {shape_str(boxes.shape)}; expected (..., 4): boxes as "
            "(x1, y1, x2, y2) on the last axis, e.g. (N, 4) or (4,)"
        )


def _box_setup(boxes1: Any, boxes2: Any, reduction: Any) -> tuple[Any, Any, Any]:
    """Namespace and the two box arrays, validated, upcast and promoted to one float dtype."""
    _check_reduction(reduction)
    check_array_like(boxes1, "boxes1")
    check_array_like(boxes2, "boxes2")
    xp, device = get_namespace(boxes1, boxes2, names=("boxes1", "boxes2"))
    boxes1 = _upcast_non_float(xp, asarray_on(boxes1, xp, device), "boxes1")
    boxes2 = asarray_on(boxes2, xp, device, float_dtype=boxes1.dtype)
    boxes2 = _upcast_non_float(xp, boxes2, "boxes2")
    _check_boxes(boxes1, "boxes1")
    _check_boxes(boxes2, "boxes2")
    check_same_shape(boxes1, boxes2, "boxes1", "boxes2")
    boxes1, boxes2 = promote_floats(xp, boxes1, boxes2)
    return xp, boxes1, boxes2


def _unbind(boxes: Any) -> tuple[Any, Any, Any, Any]:
    return boxes[..., 0], boxes[..., 1], boxes[..., 2], boxes[..., 3]


def _inter_union(xp: Any, b1: tuple[Any, ...], b2: tuple[Any, ...]) -> tuple[Any, Any]:
    """torchvision's ``_loss_inter_union``: intersection and union areas, elementwise.

    The intersection is 0 unless both overlaps are strictly positive (torchvision writes it
    through a boolean mask; here ``where``, with the same values and gradients).
    """
    x1, y1, x2, y2 = b1
    x1g, y1g, x2g, y2g = b2
    xkis1 = maximum(xp, x1, x1g)
    ykis1 = maximum(xp, y1, y1g)
    xkis2 = minimum(xp, x2, x2g)
    ykis2 = minimum(xp, y2, y2g)
    mask = xp.logical_and(ykis2 > ykis1, xkis2 > xkis1)
    intsct = xp.where(mask, (xkis2 - xkis1) * (ykis2 - ykis1), xp.zeros_like(x1))
    union = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - intsct
    return intsct, union


def _enclosing(xp: Any, b1: tuple[Any, ...], b2: tuple[Any, ...]) -> tuple[Any, Any]:
    """Width and height of the smallest box enclosing both."""
    x1, y1, x2, y2 = b1
    x1g, y1g, x2g, y2g = b2
    w = maximum(xp, x2, x2g) - minimum(xp, x1, x1g)
    h = maximum(xp, y2, y2g) - minimum(xp, y1, y1g)
    return w, h


def _diou_iou_loss(
    xp: Any, b1: tuple[Any, ...], b2: tuple[Any, ...], eps: float
) -> tuple[Any, Any]:
    """torchvision's ``_diou_iou_loss``: the DIoU loss and the IoU."""
    intsct, union = _inter_union(xp, b1, b2)
    iou = intsct / (union + eps)
    cw, ch = _enclosing(xp, b1, b2)
    diagonal_distance_squared = cw**2 + ch**2 + eps
    x1, y1, x2, y2 = b1
    x1g, y1g, x2g, y2g = b2
    x_p = (x2 + x1) / 2
    y_p = (y2 + y1) / 2
    x_g = (x1g + x2g) / 2
    y_g = (y1g + y2g) / 2
    centers_distance_squared = (x_p - x_g) ** 2 + (y_p - y_g) ** 2
    return 1 - iou + centers_distance_squared / diagonal_distance_squared, iou


def _static_size(x: Any) -> int | None:
    n = 1
    for d in tuple(x.shape):
        if d is None:
            return None
        n *= d
    return n


def _reduce_boxes(xp: Any, loss: Any, reduction: str, over: Any) -> Any:
    """torchvision's box-loss reductions: ``'mean'`` of no boxes is 0 (``0.0 * loss.sum()``).

    ``over``: the user's denominator (its count: the number of boxes, 0 for none)."""
    if reduction != "mean" or over is not None:
        return reduce(xp, loss, reduction, override=over)
    n = _static_size(loss)
    if n is None:
        # A shape unknown while tracing (tf.function with a None dimension): count at run time.
        count = xp.sum(xp.ones_like(loss))
        return xp.sum(loss) / xp.where(count > 0, count, xp.ones_like(count))
    if n == 0:
        return 0.0 * xp.sum(loss)
    return xp.mean(loss)


# ------------------------------------------------------------------------------------------
# Focal loss
# ------------------------------------------------------------------------------------------


@half_precision
def sigmoid_focal_loss(
    inputs: ArrayT,
    targets: ArrayLike,
    alpha: float = 0.25,
    gamma: float = 2,
    reduction: Reduction = "none",
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Sigmoid focal loss of RetinaNet, as ``torchvision.ops.sigmoid_focal_loss``.

    With :math:`p = \sigma(x)` and :math:`p_t = p\,y + (1 - p)(1 - y)`:

    .. math::

        \ell = \alpha_t \,(1 - p_t)^{\gamma}\,
               \mathrm{BCE}(x, y),
        \qquad
        \mathrm{BCE}(x, y) = -y \log\sigma(x) - (1 - y)\log(1 - \sigma(x)),
        \qquad
        \alpha_t = \alpha\,y + (1 - \alpha)(1 - y)

    and :math:`\alpha_t = 1` when ``alpha < 0``. Same names, defaults (note: default reduction
    ``'none'``) and numbers as torchvision. :math:`\alpha = -1` gives optax's
    ``sigmoid_focal_loss`` with its default ``alpha=None``.

    Parameters
    ----------
    inputs : array, any shape
        Logits, floating.
    targets : array, the shape of ``inputs``
        Binary labels (0 negative, 1 positive) or soft labels in [0, 1]. Integer and bool
        targets are cast to the logits' dtype.
    alpha : float, default 0.25
        Weight of the positive class, :math:`1 - \alpha` that of the negative class; a negative
        value disables the weighting. A Python number (torchvision branches on it).
    gamma : float, default 2
        Exponent of the modulating factor :math:`(1 - p_t)`. A Python number.
    reduction : {'none', 'mean', 'sum'}, default 'none'
        ``'mean'`` of an empty input is NaN, as in torchvision (``loss.mean()``).
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements. Pass the count summed over shards (:func:`lossbridge.mean_denominator`)
        and the shards' losses add up to the full batch's mean.

    Returns
    -------
    array
        The elementwise loss (shape of ``inputs``), or its mean or sum.

    Notes
    -----
    The cross-entropy is computed stably from the logits (``(1 - y) x - \log\sigma(x)``) and
    :math:`p` as ``exp(log_sigmoid(x))``, so logits of any magnitude give torchvision's finite
    numbers (e.g. :math:`x = 100, y = 0` gives :math:`100 (1 - \alpha)`). The modulating factor
    follows torchvision's formula, :math:`1 - p_t` computed from :math:`p` (optax computes it
    in log space, which differs where :math:`1 - p_t` underflows: there both are ~0).

    References
    ----------
    Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017, arXiv:1708.02002.
    torchvision ``torchvision/ops/focal_loss.py`` (from fvcore ``fvcore/nn/focal_loss.py``).

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([2.0, -1.0, 0.5])
    >>> t = np.array([1.0, 0.0, 0.0])
    >>> p_t = np.where(t == 1, 1 / (1 + np.exp(-x)), 1 / (1 + np.exp(x)))
    >>> alpha_t = np.where(t == 1, 0.25, 0.75)
    >>> np.allclose(lb.sigmoid_focal_loss(x, t), -alpha_t * (1 - p_t) ** 2 * np.log(p_t))
    True
    """
    _check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss="sigmoid_focal_loss")
    loss_name = "sigmoid_focal_loss"
    alpha = check_real(
        alpha, "alpha", loss=loss_name, what="a negative alpha disables the weighting"
    )
    gamma = check_real(gamma, "gamma", loss=loss_name, what="the exponent of the modulating factor")
    check_array_like(inputs, "inputs")
    check_array_like(targets, "targets")
    xp, device = get_namespace(inputs, targets, names=("inputs", "targets"))
    inputs = asarray_on(inputs, xp, device)
    check_floating(xp, inputs, "inputs")
    targets = asarray_on(targets, xp, device, float_dtype=inputs.dtype)
    check_real_dtype(xp, targets, "targets")
    check_same_shape(inputs, targets, "inputs", "targets")
    inputs, targets = promote_floats(xp, inputs, targets)

    log_p = log_sigmoid(xp, inputs)
    p = xp.exp(log_p)
    ce_loss = (1 - targets) * inputs - log_p  # binary_cross_entropy_with_logits, stable
    p_t = p * targets + (1 - p) * (1 - targets)
    # gamma == 0: (1 - p_t) ** 0 == 1 with gradient 0 in torch, but NaN at 1 - p_t == 0 in
    # JAX and TensorFlow; skipping the factor gives torch's value and gradient everywhere.
    loss = ce_loss if gamma == 0 else ce_loss * (1 - p_t) ** gamma
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    return reduce(xp, loss, reduction, override=over)


# ------------------------------------------------------------------------------------------
# Box losses
# ------------------------------------------------------------------------------------------


@half_precision
def generalized_box_iou_loss(
    boxes1: ArrayT,
    boxes2: ArrayLike,
    reduction: Reduction = "none",
    eps: float = 1e-7,
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Generalized IoU loss, as ``torchvision.ops.generalized_box_iou_loss``.

    With :math:`I` and :math:`U` the intersection and union areas and :math:`C` the area of the
    smallest box enclosing both:

    .. math::

        \ell = 1 - \left(\frac{I}{U + \epsilon} - \frac{C - U}{C + \epsilon}\right)

    in [0, 2): 0 for identical boxes, above 1 for disjoint boxes (the enclosing-box penalty
    grows as they move apart). Symmetric in ``boxes1``/``boxes2``.

    Parameters
    ----------
    boxes1, boxes2 : array, shape (..., 4)
        Boxes as ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``, the same shape;
        box ``i`` of one is compared with box ``i`` of the other. Integer boxes are computed
        in float32 (torchvision's ``_upcast_non_float``); float32 with float64 gives float64.
        Python lists and NumPy arrays are moved onto the other argument's framework.
    reduction : {'none', 'mean', 'sum'}, default 'none'
        ``'mean'`` of no boxes is 0 (torchvision: ``0.0 * loss.sum()``), not NaN.
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of box pairs. Pass the count summed over shards (:func:`lossbridge.mean_denominator`)
        and the shards' losses add up to the full batch's mean.
    eps : float, default 1e-7
        Keeps the divisions finite for degenerate (zero-area) boxes.

    Returns
    -------
    array
        The loss of each pair, shape ``boxes1.shape[:-1]``, or its mean or sum.

    References
    ----------
    Rezatofighi et al., "Generalized Intersection over Union: A Metric and A Loss for Bounding
    Box Regression", CVPR 2019, arXiv:1902.09630. torchvision
    ``torchvision/ops/giou_loss.py`` and ``_utils.py`` (``_loss_inter_union``, from fvcore).

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> b1 = np.array([[0.0, 0.0, 2.0, 2.0]])  # (x1, y1, x2, y2)
    >>> b2 = np.array([[1.0, 1.0, 3.0, 3.0]])  # IoU 1/7, enclosing box 3 x 3
    >>> np.allclose(lb.generalized_box_iou_loss(b1, b2), 1 - 1 / 7 + (9 - 7) / 9)
    True
    """
    eps = check_real(eps, "eps", loss="generalized_box_iou_loss", what=_EPS_DIVISIONS)
    xp, boxes1, boxes2 = _box_setup(boxes1, boxes2, reduction)
    over = check_denominator(denominator, reduction, loss="generalized_box_iou_loss")
    b1, b2 = _unbind(boxes1), _unbind(boxes2)
    intsctk, unionk = _inter_union(xp, b1, b2)
    iouk = intsctk / (unionk + eps)
    cw, ch = _enclosing(xp, b1, b2)
    area_c = cw * ch
    miouk = iouk - (area_c - unionk) / (area_c + eps)
    return _reduce_boxes(xp, 1 - miouk, reduction, over)


@half_precision
def distance_box_iou_loss(
    boxes1: ArrayT,
    boxes2: ArrayLike,
    reduction: Reduction = "none",
    eps: float = 1e-7,
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Distance IoU loss, as ``torchvision.ops.distance_box_iou_loss``.

    With :math:`I`, :math:`U` the intersection and union areas, :math:`\rho` the distance
    between the boxes' centres and :math:`c` the diagonal of the smallest enclosing box:

    .. math::

        \ell = 1 - \frac{I}{U + \epsilon} + \frac{\rho^2}{c^2 + \epsilon}

    Equal to the IoU loss for boxes with the same centre. Symmetric in ``boxes1``/``boxes2``.

    Parameters
    ----------
    boxes1, boxes2 : array, shape (..., 4)
        Boxes as ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``, the same shape;
        box ``i`` of one is compared with box ``i`` of the other. Integer boxes are computed
        in float32 (torchvision's ``_upcast_non_float``); float32 with float64 gives float64.
        Python lists and NumPy arrays are moved onto the other argument's framework.
    reduction : {'none', 'mean', 'sum'}, default 'none'
        ``'mean'`` of no boxes is 0 (torchvision: ``0.0 * loss.sum()``), not NaN.
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of box pairs. Pass the count summed over shards (:func:`lossbridge.mean_denominator`)
        and the shards' losses add up to the full batch's mean.
    eps : float, default 1e-7
        Keeps the divisions finite for degenerate (zero-area) boxes.

    Returns
    -------
    array
        The loss of each pair, shape ``boxes1.shape[:-1]``, or its mean or sum.

    References
    ----------
    Zheng et al., "Distance-IoU Loss: Faster and Better Learning for Bounding Box Regression",
    AAAI 2020, arXiv:1911.08287. torchvision ``torchvision/ops/diou_loss.py`` (from
    detectron2).

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> b1 = np.array([[0.0, 0.0, 2.0, 2.0]])  # (x1, y1, x2, y2)
    >>> b2 = np.array([[1.0, 1.0, 3.0, 3.0]])  # IoU 1/7, centres sqrt(2) apart, enclosed in 3 x 3
    >>> np.allclose(lb.distance_box_iou_loss(b1, b2), 1 - 1 / 7 + 2 / (3**2 + 3**2))
    True
    """
    eps = check_real(eps, "eps", loss="distance_box_iou_loss", what=_EPS_DIVISIONS)
    xp, boxes1, boxes2 = _box_setup(boxes1, boxes2, reduction)
    over = check_denominator(denominator, reduction, loss="distance_box_iou_loss")
    loss, _ = _diou_iou_loss(xp, _unbind(boxes1), _unbind(boxes2), eps)
    return _reduce_boxes(xp, loss, reduction, over)


@half_precision
def complete_box_iou_loss(
    boxes1: ArrayT,
    boxes2: ArrayLike,
    reduction: Reduction = "none",
    eps: float = 1e-7,
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Complete IoU loss, as ``torchvision.ops.complete_box_iou_loss``.

    The DIoU loss plus an aspect-ratio term, with ``boxes2`` the ground truth
    (:math:`w^{gt}, h^{gt}`) and ``boxes1`` the prediction (:math:`w, h`):

    .. math::

        \ell = \ell_{\mathrm{DIoU}} + \alpha v,
        \qquad
        v = \frac{4}{\pi^2}\left(\arctan\frac{w^{gt}}{h^{gt}} - \arctan\frac{w}{h}\right)^2,
        \qquad
        \alpha = \frac{v}{1 - \mathrm{IoU} + v + \epsilon}

    with :math:`\alpha` treated as a constant (no gradient flows through it: torchvision
    computes it under ``torch.no_grad()``).

    As in torchvision, ``eps`` enters only :math:`\alpha`: the DIoU part and its IoU use the
    fixed 1e-7 (torchvision calls ``_diou_iou_loss(boxes1, boxes2)`` without ``eps``). A box of
    zero width and height gives NaN (:math:`0/0` in the aspect ratio), as in torchvision; a box
    of zero height and nonzero width is finite (:math:`\arctan \infty = \pi / 2`).

    Parameters
    ----------
    boxes1, boxes2 : array, shape (..., 4)
        Boxes as ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``, the same shape;
        box ``i`` of one is compared with box ``i`` of the other. Integer boxes are computed
        in float32 (torchvision's ``_upcast_non_float``); float32 with float64 gives float64.
        Python lists and NumPy arrays are moved onto the other argument's framework.
    reduction : {'none', 'mean', 'sum'}, default 'none'
        ``'mean'`` of no boxes is 0 (torchvision: ``0.0 * loss.sum()``), not NaN.
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of box pairs. Pass the count summed over shards (:func:`lossbridge.mean_denominator`)
        and the shards' losses add up to the full batch's mean.
    eps : float, default 1e-7
        Keeps the divisions finite for degenerate (zero-area) boxes.

    Returns
    -------
    array
        The loss of each pair, shape ``boxes1.shape[:-1]``, or its mean or sum.

    References
    ----------
    Zheng et al., "Distance-IoU Loss: Faster and Better Learning for Bounding Box Regression",
    AAAI 2020, arXiv:1911.08287 (CIoU, section 3.2). torchvision
    ``torchvision/ops/ciou_loss.py`` (from detectron2).

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> b1 = np.array([[0.0, 0.0, 2.0, 2.0]])  # (x1, y1, x2, y2)
    >>> b2 = np.array([[1.0, 1.0, 3.0, 4.0]])  # IoU 1/9, centres 1 and 1.5 apart, enclosed in 3 x 4
    >>> v = 4 / np.pi**2 * (np.arctan(2 / 3) - np.arctan(2 / 2)) ** 2  # aspect-ratio term
    >>> iou = 1 / 9
    >>> ciou = 1 - iou + (1**2 + 1.5**2) / (3**2 + 4**2) + v**2 / (1 - iou + v)
    >>> np.allclose(lb.complete_box_iou_loss(b1, b2), ciou)
    True
    """
    eps = check_real(eps, "eps", loss="complete_box_iou_loss", what=_EPS_DIVISIONS)
    xp, boxes1, boxes2 = _box_setup(boxes1, boxes2, reduction)
    over = check_denominator(denominator, reduction, loss="complete_box_iou_loss")
    b1, b2 = _unbind(boxes1), _unbind(boxes2)
    diou_loss, iou = _diou_iou_loss(xp, b1, b2, _DIOU_EPS)
    x1, y1, x2, y2 = b1
    x1g, y1g, x2g, y2g = b2
    w_pred = x2 - x1
    h_pred = y2 - y1
    w_gt = x2g - x1g
    h_gt = y2g - y1g
    v = (4 / math.pi**2) * (xp.atan(w_gt / h_gt) - xp.atan(w_pred / h_pred)) ** 2
    alpha = stop_gradient(v / (1 - iou + v + eps))
    return _reduce_boxes(xp, diou_loss + alpha * v, reduction, over)


# ------------------------------------------------------------------------------------------
# Box losses beyond torchvision: IoU, EIoU (Focal-EIoU), SIoU
# ------------------------------------------------------------------------------------------


def _sizes(b: tuple[Any, ...]) -> tuple[Any, Any]:
    """Width and height of boxes ``(x1, y1, x2, y2)``."""
    x1, y1, x2, y2 = b
    return x2 - x1, y2 - y1


def _centre_offset(b1: tuple[Any, ...], b2: tuple[Any, ...]) -> tuple[Any, Any]:
    """Centre of ``b2`` minus centre of ``b1``, in x and in y."""
    x1, y1, x2, y2 = b1
    x1g, y1g, x2g, y2g = b2
    return (x1g + x2g - x1 - x2) * 0.5, (y1g + y2g - y1 - y2) * 0.5


@half_precision
def box_iou_loss(
    boxes1: ArrayT,
    boxes2: ArrayLike,
    *,
    reduction: Reduction = "none",
    eps: float = 1e-7,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""IoU loss :math:`1 - \mathrm{IoU}` of box pairs, in torchvision's box-loss style.

    With :math:`I` and :math:`U` the intersection and union areas of box ``i`` of ``boxes1``
    and box ``i`` of ``boxes2``:

    .. math::

        \ell = 1 - \frac{I}{U + \epsilon}

    in [0, 1]: 0 for identical boxes, 1 for boxes that do not overlap (whatever their distance:
    no gradient there, which is what GIoU, DIoU, CIoU, EIoU and SIoU add terms for).
    Symmetric in ``boxes1``/``boxes2``.

    Parameters
    ----------
    boxes1, boxes2 : array, shape (..., 4)
        Boxes as ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``, the same shape;
        box ``i`` of one is compared with box ``i`` of the other (elementwise, not the
        pairwise matrix of ``torchvision.ops.box_iou``). Integer boxes are computed in float32
        (torchvision's ``_upcast_non_float``); float32 with float64 gives float64. Python
        lists and NumPy arrays are moved onto the other argument's framework.
    reduction : {'none', 'mean', 'sum'}, default 'none'
        ``'mean'`` of no boxes is 0 (torchvision's box losses: ``0.0 * loss.sum()``), not NaN.
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of box pairs. Pass the count summed over shards (:func:`lossbridge.mean_denominator`)
        and the shards' losses add up to the full batch's mean.
    eps : float, default 1e-7
        Added to the union, as in torchvision's ``generalized_box_iou_loss`` and
        ``distance_box_iou_loss``: two zero-area boxes give :math:`0 / \epsilon`, loss 1.

    Returns
    -------
    array
        The loss of each pair, shape ``boxes1.shape[:-1]``, or its mean or sum.

    Notes
    -----
    The intersection and union are torchvision's ``_loss_inter_union`` (the intersection is 0
    unless both overlaps are strictly positive), so this loss is exactly
    ``generalized_box_iou_loss`` minus its enclosing-box penalty :math:`(C - U)/(C + \epsilon)`
    and ``distance_box_iou_loss`` minus its centre term. torchvision has only the pairwise IoU
    matrix ``box_iou``; MONAI's ``monai.data.box_utils.box_iou`` is pairwise too, computes in
    float32 and adds float32's machine epsilon (1.19e-7) to the union. mmdetection's
    ``IoULoss`` defaults to ``mode='log'`` (:math:`-\log \max(\mathrm{IoU}, 10^{-6})`); its
    ``mode='linear'`` is this loss up to its epsilons (IoU :math:`= I / \max(U, 10^{-6})`,
    clamped at :math:`\ge 10^{-6}`, so disjoint boxes give :math:`1 - 10^{-6}`, not 1).

    References
    ----------
    Yu et al., "UnitBox: An Advanced Object Detection Network", ACM MM 2016,
    arXiv:1608.01471 (the IoU loss; UnitBox uses :math:`-\ln \mathrm{IoU}`).
    Rezatofighi et al., "Generalized Intersection over Union", CVPR 2019, arXiv:1902.09630
    (:math:`1 - \mathrm{IoU}` as the loss GIoU extends).

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> b1 = np.array([[0.0, 0.0, 2.0, 2.0]])  # (x1, y1, x2, y2)
    >>> b2 = np.array([[1.0, 1.0, 3.0, 3.0]])  # overlap 1, union 4 + 4 - 1 = 7
    >>> np.allclose(lb.box_iou_loss(b1, b2), 1 - 1 / 7)
    True
    """
    eps = check_real(eps, "eps", loss="box_iou_loss", what="added to the union")
    xp, boxes1, boxes2 = _box_setup(boxes1, boxes2, reduction)
    over = check_denominator(denominator, reduction, loss="box_iou_loss")
    intsct, union = _inter_union(xp, _unbind(boxes1), _unbind(boxes2))
    return _reduce_boxes(xp, 1 - intsct / (union + eps), reduction, over)


@half_precision
def efficient_box_iou_loss(
    boxes1: ArrayT,
    boxes2: ArrayLike,
    *,
    gamma: float = 0.0,
    reduction: Reduction = "none",
    eps: float = 1e-7,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Efficient IoU (EIoU) loss and Focal-EIoU of Zhang et al. (2022).

    With :math:`I, U` the intersection and union areas, :math:`\rho` the distance between the
    boxes' centres, :math:`w, h` and :math:`w^{gt}, h^{gt}` the sizes of the boxes of
    ``boxes1`` and ``boxes2``, and :math:`C_w, C_h` the width and height of the smallest box
    enclosing both (:math:`c^2 = C_w^2 + C_h^2` its squared diagonal):

    .. math::

        \ell_{\mathrm{EIoU}} = 1 - \frac{I}{U + \epsilon}
            + \frac{\rho^2}{c^2 + \epsilon}
            + \frac{(w - w^{gt})^2}{C_w^2 + \epsilon}
            + \frac{(h - h^{gt})^2}{C_h^2 + \epsilon},
        \qquad
        \ell = \mathrm{IoU}^{\gamma}\, \ell_{\mathrm{EIoU}}

    The first three terms are exactly ``distance_box_iou_loss``: EIoU replaces CIoU's
    aspect-ratio term by separate width and height terms. ``gamma = 0`` (the default) is
    plain EIoU; ``gamma > 0`` is Focal-EIoU (the paper uses 0.5), which weights each pair by
    its IoU. Symmetric in ``boxes1``/``boxes2``; in [0, 4).

    Parameters
    ----------
    boxes1, boxes2 : array, shape (..., 4)
        Boxes as ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``, the same shape
        (predictions and ground truth; the loss is symmetric); box ``i`` of one is compared
        with box ``i`` of the other. Integer boxes are computed in float32; float32 with
        float64 gives float64. Python lists and NumPy arrays are moved onto the other
        argument's framework.
    gamma : float, default 0.0
        Focal exponent :math:`\gamma \ge 0` of the IoU weight. A Python number.
    reduction : {'none', 'mean', 'sum'}, default 'none'
        ``'mean'`` of no boxes is 0 (as torchvision's box losses), not NaN.
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of box pairs. Pass the count summed over shards (:func:`lossbridge.mean_denominator`)
        and the shards' losses add up to the full batch's mean.
    eps : float, default 1e-7
        Added to the union and to each squared enclosing length, as torchvision's
        ``distance_box_iou_loss`` adds it to :math:`c^2`: zero-size boxes give finite losses.

    Returns
    -------
    array
        The loss of each pair, shape ``boxes1.shape[:-1]``, or its mean or sum.

    Notes
    -----
    **Focal-EIoU's IoU weight is differentiated**, as the paper's equation
    :math:`\mathrm{IoU}^\gamma \ell_{\mathrm{EIoU}}` reads. The widely copied YOLOv5/YOLOv8
    community code (``bbox_iou(..., EIoU=True, Focal=True)``, then
    ``iou[1].detach() * (1 - iou[0])``) detaches it: same values, different gradients. Pairs
    that do not overlap have IoU 0, so with ``gamma > 0`` their loss and gradient are 0 (the
    weight :math:`\mathrm{IoU}^\gamma` is computed with a double ``where``, so that gradient is
    0, not NaN). Just above IoU 0 the weight's slope
    :math:`\gamma\,\mathrm{IoU}^{\gamma - 1}` is large for :math:`\gamma < 1`.

    **Not mmdetection's** ``EIoULoss``: that is the *Extended*-IoU loss of Peng and Yu (code
    from libfacedetection.train), ``eiou_loss(pred, target, smooth_point=0.1, eps=1e-7)``. It has no
    centre, width or height terms: it extends the intersection to non-overlapping boxes,
    :math:`I_e = (i_{x2} - e_{x1})(i_{y2} - e_{y1}) + (x_{\min} - e_{x1})(y_{\min} - e_{y1})
    - (i_{x1} - e_{x1})(y_{\max} - e_{y1}) - (x_{\max} - e_{x1})(i_{y1} - e_{y1})` (with
    :math:`e` the enclosing box's top-left corner, :math:`i` the intersection's corners and
    :math:`x_{\min}, x_{\max}` the min and max of :math:`i_{x1}, i_{x2}`), which is the
    intersection for overlapping boxes and negative otherwise, sets
    :math:`d = 1 - I_e / (A + A^{gt} - I_e + \epsilon)` and returns the smooth-L1 of
    :math:`d` with :math:`\beta` = ``smooth_point``: :math:`0.5 d^2/\beta` if :math:`d < \beta`,
    else :math:`d - \beta/2`. For boxes (0, 0, 2, 2) and (1, 1, 3, 3) mmdetection's EIoU is
    0.807143 and this one 0.968254; for the disjoint (0, 0, 1, 1) and (2, 0, 3, 1), 1.283333
    and 1.4.

    References
    ----------
    Zhang, Ren, Zhang, Jia, Wang and Tan, "Focal and Efficient IOU Loss for Accurate Bounding
    Box Regression", Neurocomputing 506 (2022) 146-157, arXiv:2101.08158.
    Peng and Yu, "A Systematic IoU-Related Method: Beyond Simplified Regression for Better
    Localization", IEEE Transactions on Image Processing 30 (2021) (the different Extended-IoU;
    mmdetection ``mmdet/models/losses/iou_loss.py``, ``eiou_loss``).

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> b1 = np.array([[0.0, 0.0, 2.0, 2.0]])  # (x1, y1, x2, y2), 2 x 2
    >>> b2 = np.array([[1.0, 1.0, 3.0, 4.0]])  # 2 x 3: IoU 1/9, enclosed in 3 x 4
    >>> diou = 1 - 1 / 9 + (1**2 + 1.5**2) / (3**2 + 4**2)  # distance_box_iou_loss
    >>> eiou = diou + (2 - 2) ** 2 / 3**2 + (2 - 3) ** 2 / 4**2  # + width and height terms
    >>> np.allclose(lb.efficient_box_iou_loss(b1, b2), eiou)
    True
    """
    loss_name = "efficient_box_iou_loss"
    gamma = check_real(
        gamma, "gamma", loss=loss_name, what="the focal exponent of the IoU weight", low=0.0
    )
    eps = check_real(eps, "eps", loss=loss_name, what=_EPS_ENCLOSING)
    xp, boxes1, boxes2 = _box_setup(boxes1, boxes2, reduction)
    over = check_denominator(denominator, reduction, loss="efficient_box_iou_loss")
    b1, b2 = _unbind(boxes1), _unbind(boxes2)
    loss, iou = _diou_iou_loss(xp, b1, b2, eps)
    cw, ch = _enclosing(xp, b1, b2)
    w, h = _sizes(b1)
    w_gt, h_gt = _sizes(b2)
    loss = loss + (w - w_gt) ** 2 / (cw**2 + eps) + (h - h_gt) ** 2 / (ch**2 + eps)
    if gamma != 0:
        # IoU ** gamma with a zero gradient, not NaN, where IoU == 0 (double where).
        overlap = iou > 0
        safe = xp.where(overlap, iou, xp.ones_like(iou))
        loss = xp.where(overlap, safe**gamma, xp.zeros_like(iou)) * loss
    return _reduce_boxes(xp, loss, reduction, over)


@half_precision
def scylla_box_iou_loss(
    boxes1: ArrayT,
    boxes2: ArrayLike,
    *,
    theta: float = 4.0,
    reduction: Reduction = "none",
    eps: float = 1e-7,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""SCYLLA-IoU (SIoU) loss of Gevorgyan (2022): IoU, angle, distance and shape costs.

    With :math:`I, U` the intersection and union areas, :math:`(d_x, d_y)` the offset between
    the boxes' centres, :math:`\sigma = \sqrt{d_x^2 + d_y^2}`, :math:`C_w, C_h` the width and
    height of the smallest enclosing box and :math:`w, h`, :math:`w^{gt}, h^{gt}` the boxes'
    sizes:

    .. math::

        \Lambda = 1 - 2 \sin^2\!\left(\arcsin\frac{|d_y|}{\sigma} - \frac{\pi}{4}\right)
                = \sin 2\alpha = \frac{2 |d_x| |d_y|}{\sigma^2},
        \qquad
        \Delta = \sum_{t = x, y} \left(1 - e^{-(2 - \Lambda)\rho_t}\right),
        \quad \rho_x = \frac{d_x^2}{C_w^2 + \epsilon},
        \quad \rho_y = \frac{d_y^2}{C_h^2 + \epsilon}

    .. math::

        \Omega = \sum_{t = w, h} \left(1 - e^{-\omega_t}\right)^{\theta},
        \quad \omega_w = \frac{|w - w^{gt}|}{\max(w, w^{gt}) + \epsilon},
        \qquad
        \ell = 1 - \frac{I}{U + \epsilon} + \frac{\Delta + \Omega}{2}

    :math:`\alpha` is the angle between the centres' offset and the x axis. The angle cost
    :math:`\Lambda` (0 for offsets along an axis, 1 on the diagonal) lowers the weight
    :math:`2 - \Lambda` of the distance cost, so that the prediction first moves onto the
    nearer axis. Symmetric in ``boxes1``/``boxes2``; in [0, 3).

    Parameters
    ----------
    boxes1, boxes2 : array, shape (..., 4)
        Boxes as ``(x1, y1, x2, y2)`` with ``x1 <= x2`` and ``y1 <= y2``, the same shape
        (predictions and ground truth; the loss is symmetric); box ``i`` of one is compared
        with box ``i`` of the other. Integer boxes are computed in float32; float32 with
        float64 gives float64. Python lists and NumPy arrays are moved onto the other
        argument's framework.
    theta : float, default 4.0
        Exponent :math:`\theta \ge 1` of the shape cost (the paper: "between 2 and 6"; YOLOv6
        and mmdetection fix it at 4). Below 1 its gradient is infinite at equal sizes. A
        Python number.
    reduction : {'none', 'mean', 'sum'}, default 'none'
        ``'mean'`` of no boxes is 0 (as torchvision's box losses), not NaN.
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of box pairs. Pass the count summed over shards (:func:`lossbridge.mean_denominator`)
        and the shards' losses add up to the full batch's mean.
    eps : float, default 1e-7
        Added to the union, to :math:`C_w^2, C_h^2` and to :math:`\max(w, w^{gt})`,
        :math:`\max(h, h^{gt})`: zero-size boxes give finite losses.

    Returns
    -------
    array
        The loss of each pair, shape ``boxes1.shape[:-1]``, or its mean or sum.

    Notes
    -----
    **The angle cost.** The paper computes :math:`\Lambda` from :math:`x = \sin\alpha = |d_y| /
    \sigma` and switches to the complementary angle :math:`\beta = \pi/2 - \alpha` (:math:`x =
    |d_x| / \sigma`) when :math:`\alpha > \pi/4`. Both give :math:`\sin 2\alpha = \sin 2\beta`:
    the switch changes no value, it only keeps ``arcsin`` away from 1, where its derivative is
    infinite. lossbridge computes the identical :math:`2|d_x||d_y|/\sigma^2` directly, whose
    gradient is finite everywhere, with the switch's values (checked against the paper's
    form). At coincident centres (:math:`\sigma = 0`) the angle is undefined, but
    :math:`\rho_x = \rho_y = 0` make :math:`\Delta = 0` whatever :math:`\Lambda`: the loss is
    finite and its gradient with respect to the centres is 0 (the true derivative:
    :math:`\Delta = O(\sigma^2)`), on every backend (double ``where``). :math:`|\cdot|` has
    gradient 0 at 0 and :math:`\max(w, w^{gt})` splits its gradient at ties, as torch does,
    on every backend.

    **Other implementations.** YOLOv6 (``IOUloss(iou_type='siou')``) computes the same
    :math:`\Lambda` as :math:`\cos(2 \arcsin s - \pi/2)` with :math:`s = |d_x|/\sigma`, or
    :math:`|d_y|/\sigma` when that exceeds :math:`\sqrt 2/2`; it has no ``eps`` in
    :math:`\rho_t` or :math:`\omega_w`, adds ``eps`` to the heights (not the widths) and to the
    union, and returns NaN at coincident centres (0/0). The YOLOv5/v7 community
    ``bbox_iou(..., SIoU=True)`` and mmdetection 3.x ``siou_loss`` add ``eps`` to
    :math:`d_x, d_y` (no NaN, but :math:`\Lambda \approx 1` at :math:`\sigma = 0`);
    mmdetection also clamps :math:`C_w, C_h \ge \epsilon` and the SIoU to [-1, 1] (loss at most
    2, gradient 0 beyond), and by default (``neg_gamma=False``, "makes training more
    stable") uses :math:`\Delta = 2 - e^{(2 - \Lambda)\rho_x} - e^{(2 - \Lambda)\rho_y}`, a
    negative distance cost; its ``neg_gamma=True`` is the paper's. With the same ``eps``
    placement the values agree with YOLOv6's to rounding.

    References
    ----------
    Gevorgyan, "SIoU Loss: More Powerful Learning for Bounding Box Regression", 2022,
    arXiv:2205.12740. YOLOv6 ``yolov6/utils/figure_iou.py`` (``IOUloss``); mmdetection 3.x
    ``mmdet/models/losses/iou_loss.py`` (``siou_loss``).

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> b1 = np.array([[0.0, 0.0, 2.0, 2.0]])  # (x1, y1, x2, y2)
    >>> b2 = np.array([[1.0, 0.0, 3.0, 2.0]])  # IoU 2/6; centres 1 apart along x; enclosed 3 wide
    >>> distance_cost = 1 - np.exp(-2 * 1**2 / 3**2)  # no angle cost (offset along an axis)
    >>> np.allclose(lb.scylla_box_iou_loss(b1, b2), 1 - 2 / 6 + distance_cost / 2)  # same sizes
    True
    """
    loss_name = "scylla_box_iou_loss"
    theta = check_real(
        theta, "theta", loss=loss_name, what="the exponent of the shape cost", low=1.0
    )
    eps = check_real(eps, "eps", loss=loss_name, what=_EPS_ENCLOSING)
    xp, boxes1, boxes2 = _box_setup(boxes1, boxes2, reduction)
    over = check_denominator(denominator, reduction, loss="scylla_box_iou_loss")
    b1, b2 = _unbind(boxes1), _unbind(boxes2)
    intsct, union = _inter_union(xp, b1, b2)
    iou = intsct / (union + eps)
    cw, ch = _enclosing(xp, b1, b2)
    dx, dy = _centre_offset(b1, b2)
    # Angle cost sin(2 alpha) = 2 |dx| |dy| / sigma^2; 0 at sigma = 0 with a zero gradient
    # (double where), where it does not matter: rho_x = rho_y = 0 there.
    sigma2 = dx**2 + dy**2
    apart = sigma2 > 0
    safe = xp.where(apart, sigma2, xp.ones_like(sigma2))
    angle = xp.where(apart, 2 * abs0(xp, dx) * abs0(xp, dy) / safe, xp.zeros_like(sigma2))
    rate = angle - 2
    distance = -xp.expm1(rate * (dx**2 / (cw**2 + eps))) - xp.expm1(rate * (dy**2 / (ch**2 + eps)))
    w, h = _sizes(b1)
    w_gt, h_gt = _sizes(b2)
    omega_w = abs0(xp, w - w_gt) / (maximum(xp, w, w_gt) + eps)
    omega_h = abs0(xp, h - h_gt) / (maximum(xp, h, h_gt) + eps)
    shape = (-xp.expm1(-omega_w)) ** theta + (-xp.expm1(-omega_h)) ** theta
    return _reduce_boxes(xp, 1 - iou + (distance + shape) / 2, reduction, over)
