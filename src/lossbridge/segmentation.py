r"""Region-overlap segmentation losses: Dice, Jaccard (soft IoU), Tversky and focal Tversky.

All four are one computation, the soft Tversky index of each sample and class,

.. math::

    T_{nc} = \frac{TP_{nc} + s}{TP_{nc} + \alpha\,FP_{nc} + \beta\,FN_{nc} + s},
    \qquad
    TP = \sum_i p_i t_i,\quad FP = \sum_i p_i (1 - t_i),\quad FN = \sum_i (1 - p_i) t_i

(sums over the spatial positions :math:`i`; over the batch too with ``batch=True``), and the
loss :math:`1 - T` (to a power :math:`\gamma` for focal Tversky): Dice is
:math:`\alpha = \beta = 1/2`, Jaccard (soft IoU) :math:`\alpha = \beta = 1`. :math:`\alpha`
weights the false positives and :math:`\beta` the false negatives, as in Salehi et al. (2017),
MONAI, segmentation_models_pytorch (smp) and optax; Keras 3.15's ``tversky`` swaps them
(reference section 3.12).

Conventions shared by the four functions (where the libraries differ, reference section 3.12):

* ``smooth`` is added to the numerator and the denominator of the Tversky index, in that form
  for every loss (optax's ``dice_loss`` form, so optax's ``smooth`` is ours). MONAI's
  ``DiceLoss`` writes :math:`(2 TP + s_{nr}) / (2 TP + FP + FN + s_{dr})` (Dice) and
  :math:`(2 TP + s_{nr}) / (2 (TP + FP + FN) + s_{dr})` (``jaccard=True``): its
  ``smooth_nr = smooth_dr = 2s`` is our ``smooth=s`` (its default 1e-5 is ``smooth=5e-6``);
  MONAI's ``TverskyLoss(smooth_nr=s, smooth_dr=s)`` is ours. smp's Dice
  :math:`(2 TP + s) / (\sum p + \sum t + s)` takes ``smooth=2s``, its Jaccard and Tversky
  ``smooth=s``. Default 0: the exact index (smp's default). On reference section 3.12's
  p = [.9, .8, .2, .1], t = [1, 1, 0, 0]: exact Dice loss 0.15 (``smooth=0``, smp), optax
  ``binary_dice_loss`` 0.10 (``smooth=1``), MONAI 0.1499996 (``smooth=5e-6``), Keras
  0.1500000212 (its ``epsilon() = 1e-7`` sits in the denominator only; no keyword reproduces
  it exactly, ``smooth=0`` is within 1e-7).
* A class absent from both prediction and target (TP = FP = FN = 0) has loss 0: with
  ``smooth > 0`` that is the formula's value; with ``smooth = 0`` (0 / 0) it is defined so, with
  gradient 0. optax and MONAI (with their smoothing) agree, smp masks out every class absent
  from the target; Keras gives 1.0 (``0 / (0 + 1e-7)``).
* ``eps`` (default 1e-7, smp's) is a floor on the denominator: where
  :math:`D = TP + \alpha FP + \beta FN + s < \epsilon` the denominator is :math:`\epsilon`. The
  formula is exact wherever :math:`D \ge \epsilon` (with hard targets only classes absent from
  the target come below it); below, the loss :math:`(\alpha FP + \beta FN) / \epsilon` falls
  continuously to the absent class's 0 as the predicted mass vanishes, and gradients stay
  finite (a subnormal denominator would overflow them). smp floors the same denominator
  (``clamp_min(eps)``) but keeps the numerator, giving :math:`1 - (TP + s) / \epsilon` there,
  about 1 (it then masks absent classes). ``eps=0`` removes the floor.

The loss is computed as :math:`(\alpha FP + \beta FN) / D`, the same number as :math:`1 - T`
without its cancellation where :math:`T` is close to 1.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, TypeVar

from lossbridge._inputs import promote_floats, setup
from lossbridge._precision import half_precision
from lossbridge._primitives import log_sigmoid, log_softmax
from lossbridge._reduction import reduce
from lossbridge._typing import ArrayLike, ArrayT, Reduction, SegmentationActivation
from lossbridge._validation import (
    check_class_indices,
    check_denominator,
    check_floating,
    check_range,
    check_real,
    check_reduction,
    no_denominator,
    shape_str,
)
from lossbridge.backends import get_namespace

__all__ = ["dice_loss", "focal_tversky_loss", "jaccard_loss", "tversky_loss"]

_ACTIVATIONS = ("softmax", "sigmoid", None)

#: A loss function (:func:`_doc` returns it with its signature).
_Loss = TypeVar("_Loss", bound=Callable[..., Any])


# ------------------------------------------------------------------------------------------
# Argument checks (all static: they run before any backend op)
# ------------------------------------------------------------------------------------------


def _check_activation(activation: Any) -> None:
    if not (activation is None or (isinstance(activation, str) and activation in _ACTIVATIONS)):
        raise ValueError(
            f"activation={activation!r} is not supported; expected 'softmax' (over the channel "
            "axis, multiclass), 'sigmoid' (each channel, binary/multilabel) or None (input "
            "already holds probabilities)"
        )


def _channel_axis(channel_axis: Any, input: Any) -> int:
    if isinstance(channel_axis, bool):
        raise TypeError(f"channel_axis must be an int; got {channel_axis!r}")
    try:
        ca = operator.index(channel_axis)
    except TypeError:
        raise TypeError(f"channel_axis must be an int; got {channel_axis!r}") from None
    nd = input.ndim
    if not -nd <= ca < nd:
        raise ValueError(
            f"channel_axis={channel_axis} is out of range for input of shape "
            f"{shape_str(input.shape)}; expected an axis in [{-nd}, {nd - 1}]"
        )
    return ca % nd


def _index_shape(input: Any, ca: int) -> tuple[Any, ...]:
    return tuple(d for i, d in enumerate(input.shape) if i != ca)


def _check_target(xp: Any, input: Any, target: Any, ca: int) -> tuple[Any, bool]:
    """``(target, is_index)``: class indices (validated) or a floating target of input's shape."""
    n_classes = input.shape[ca]
    expected = _index_shape(input, ca)
    if xp.isdtype(target.dtype, "integral"):
        if tuple(target.shape) != expected:
            raise ValueError(
                f"target holds integers of shape {shape_str(target.shape)} but input has shape "
                f"{shape_str(input.shape)} (channel_axis={ca}); expected class indices of shape "
                f"{shape_str(expected)} (for a one-hot target of the input's shape, pass it as "
                "floating point)"
            )
        check_class_indices(xp, target, n_classes, None)
        return target, True
    if xp.isdtype(target.dtype, "bool"):
        target = xp.astype(target, input.dtype)
    elif not xp.isdtype(target.dtype, "real floating"):
        raise TypeError(
            f"target must hold integer class indices or real floating (one-hot or soft) "
            f"labels; got dtype {target.dtype}"
        )
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"target has shape {shape_str(target.shape)} but input has shape "
            f"{shape_str(input.shape)}; expected labels of the input's shape (one-hot or soft) "
            f"or integer class indices of shape {shape_str(expected)}"
        )
    check_range(xp, target, "target", 0.0, 1.0, what="labels (one-hot or soft)")
    return target, False


# ------------------------------------------------------------------------------------------
# The one computation
# ------------------------------------------------------------------------------------------


def _tversky(
    input: Any,
    target: Any,
    *,
    loss_name: str,
    alpha: Any,
    beta: Any,
    gamma: Any,
    activation: Any,
    weight: Any,
    smooth: Any,
    eps: Any,
    channel_axis: Any,
    batch: Any,
    reduction: Any,
    denominator: Any,
) -> Any:
    """``(1 - T)^gamma`` per sample and class (or per class), weighted and reduced."""
    check_reduction(reduction)
    _check_activation(activation)
    alpha = check_real(
        alpha, "alpha", loss=loss_name, what="weight of the false positives", finite=True, low=0.0
    )
    beta = check_real(
        beta, "beta", loss=loss_name, what="weight of the false negatives", finite=True, low=0.0
    )
    gamma = check_real(
        gamma, "gamma", loss=loss_name, what="exponent of 1 - T", finite=True, low=0.0, strict=True
    )
    smooth = check_real(
        smooth, "smooth", loss=loss_name, what="added to both terms of T", finite=True, low=0.0
    )
    eps = check_real(
        eps, "eps", loss=loss_name, what="floor of the denominator", finite=True, low=0.0
    )
    if not isinstance(batch, bool):
        raise TypeError(f"batch must be a bool; got {batch!r}")
    if batch:
        why = "batch=True: one index per class over the whole batch, not a sum over samples"
        no_denominator(denominator, loss=loss_name, why=why)
    over = check_denominator(denominator, reduction, loss=loss_name)

    xp, input, target, weight = setup(input, target=target, weight=weight)
    if input.ndim < 2:
        raise ValueError(
            f"input has shape {shape_str(input.shape)}; expected (N, C, d1, ..., dK) scores "
            "with a batch and a channel axis (K >= 0)"
        )
    ca = _channel_axis(channel_axis, input)
    n_classes = input.shape[ca]
    if activation == "softmax" and n_classes == 1:
        raise ValueError(
            f"activation='softmax' over a single channel (input shape {shape_str(input.shape)}, "
            f"channel_axis={ca}) gives probability 1 everywhere; use activation='sigmoid' for a "
            "one-channel (binary) prediction"
        )
    target, is_index = _check_target(xp, input, target, ca)
    if weight is not None:
        check_floating(xp, weight, "weight")
        if tuple(weight.shape) != (n_classes,):
            raise ValueError(
                f"weight has shape {shape_str(weight.shape)}; expected ({n_classes},), one "
                f"weight per class of input {shape_str(input.shape)} (channel_axis={ca})"
            )
    if activation is None:
        check_range(xp, input, "input", 0.0, 1.0, what="probabilities (activation=None)")
    if is_index:
        input, weight = promote_floats(xp, input, weight)
    else:
        input, target, weight = promote_floats(xp, input, target, weight)

    # Probabilities p and their complements q = 1 - p.
    if activation == "softmax":
        p = xp.exp(log_softmax(xp, input, ca))
        q = 1.0 - p
    elif activation == "sigmoid":
        p = xp.exp(log_sigmoid(xp, input))
        q = xp.exp(log_sigmoid(xp, -input))  # 1 - sigmoid(x), exact where p rounds to 1
    else:
        p = input
        q = 1.0 - p

    b_axis = 0 if ca != 0 else 1
    axes = tuple(a for a in range(input.ndim) if a not in (b_axis, ca))
    if batch:
        axes = tuple(sorted((*axes, b_axis)))

    def total(x: Any) -> Any:
        return xp.sum(x, axis=axes) if axes else x

    if is_index:
        # A boolean (N, C, d...) mask from comparing the indices with arange(C): 1 byte per
        # element next to p's 4-8, and no float one-hot. Every (n, c, i) is needed anyway
        # (FP sums p over all positions), and the array API has no segment-sum that would give
        # the per-class sums straight from the indices.
        _, device = get_namespace(input)
        classes = (
            xp.arange(n_classes, dtype=target.dtype)
            if device is None
            else xp.arange(n_classes, dtype=target.dtype, device=device)
        )
        shape = [1] * input.ndim
        shape[ca] = n_classes
        mask = xp.expand_dims(target, axis=ca) == xp.reshape(classes, tuple(shape))
        zero = xp.zeros_like(p)
        tp = total(xp.where(mask, p, zero))
        fp = total(xp.where(mask, zero, p))
        fn = total(xp.where(mask, q, zero))
    else:
        tp = total(p * target)
        fp = total(p * (1.0 - target))
        fn = total(q * target)
    if not batch and ca < b_axis:  # (C, N) -> (N, C)
        tp, fp, fn = (xp.permute_dims(a, (1, 0)) for a in (tp, fp, fn))

    num = alpha * fp + beta * fn  # T's denominator minus its numerator
    den = tp + num + smooth
    floor = xp.full_like(den, eps if eps > 0 else 1.0)
    den_safe = xp.where(den > eps, den, floor)
    present = xp.logical_not(den <= 0)  # NaN counts as present, so it propagates
    # Double where: an absent class (den == 0, only with smooth == 0) gives 0 and gradient 0.
    loss = xp.where(present, num / den_safe, xp.zeros_like(den))
    if gamma != 1.0:
        # (1 - T)^gamma with gradient 0 (not inf or NaN for gamma < 1) where 1 - T == 0.
        pos = loss > 0
        base = xp.where(pos, loss, xp.ones_like(loss))
        loss = xp.where(pos, base**gamma, xp.where(xp.isnan(loss), loss, xp.zeros_like(loss)))

    if weight is None:
        return reduce(xp, loss, reduction, override=over)
    loss = loss * weight
    denom = None
    if reduction == "mean":
        n = 1 if batch else loss.shape[0]
        if n is None:  # a batch size unknown while tracing
            n = xp.sum(xp.ones_like(loss[:, 0]))
        denom = n * xp.sum(weight)
    return reduce(xp, loss, reduction, denominator=denom, override=over)


# ------------------------------------------------------------------------------------------
# Public losses
# ------------------------------------------------------------------------------------------

_ARRAYS = """\
    input : array, shape (N, C, d1, ..., dK), K >= 0
        Scores with the channel (class) axis at ``channel_axis``; the batch axis is the first
        other axis (axis 0 unless ``channel_axis`` is 0). Logits for ``activation='softmax'`` or
        ``'sigmoid'``, probabilities in [0, 1] for ``activation=None`` (checked on concrete
        arrays).
    target : array
        Integer class indices of the input's shape without the channel axis, (N, d1, ..., dK),
        values in [0, C) (checked on concrete arrays); or floating (or bool) labels of the
        input's shape, one-hot or soft, in [0, 1]."""

_OPTIONS = """\
    activation : {'softmax', 'sigmoid', None}, default 'softmax'
        ``'softmax'`` over the channel axis (multiclass; C >= 2), ``'sigmoid'`` on every channel
        independently (binary with C = 1, or multilabel), None when ``input`` already holds
        probabilities.
    weight : array, shape (C,), optional
        A weight per class, floating.
    smooth : float >= 0, default 0.0
        Added to the numerator and the denominator of the Tversky index (see the module notes
        for each library's equivalent).
    eps : float >= 0, default 1e-7
        Floor of the index's denominator (exact wherever the denominator is at least ``eps``).
    channel_axis : int, default 1
        The channel axis of ``input`` (``-1`` for channels-last); any valid axis.
    batch : bool, default False
        Sum TP, FP and FN over the batch axis too (MONAI's ``batch=True``; smp's default),
        giving one index per class instead of one per sample and class.
    reduction : {'mean', 'sum', 'none'}, default 'mean'
        ``'none'``: the per-sample, per-class losses :math:`w_c L_{nc}`, shape (N, C) ((C,) with
        ``batch=True``); ``'sum'``: :math:`\\sum_{n,c} w_c L_{nc}`; ``'mean'``:
        :math:`\\sum_{n,c} w_c L_{nc} / (N \\sum_c w_c)`, the weighted mean over classes, then
        the mean over samples (N = 1 with ``batch=True``; :math:`w_c = 1` without a weight: the
        plain mean). An empty batch gives NaN for ``'mean'``, as in torch.
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count,
        :math:`N \\sum_c w_c` (:math:`N C` without a weight). Pass the count summed over shards
        of the batch (:func:`lossbridge.mean_denominator`) and the shards' losses add up to
        the full batch's mean. With ``batch=True`` the index pools the whole batch, so the loss
        is not a sum over samples: a denominator is refused (``ValueError``).

    Returns
    -------
    array
        A scalar, or with ``reduction='none'`` shape (N, C) ((C,) with ``batch=True``); the
        input's floating dtype (promoted with ``weight``'s), framework and device."""


def _doc(fn: _Loss) -> _Loss:
    """Fill a docstring's shared ``{ARRAYS}`` and ``{OPTIONS}`` parameter blocks."""
    if fn.__doc__:  # None under python -OO
        fn.__doc__ = fn.__doc__.replace("    {ARRAYS}", _ARRAYS).replace("    {OPTIONS}", _OPTIONS)
    return fn


@_doc
@half_precision
def dice_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    activation: SegmentationActivation = "softmax",
    weight: ArrayLike | None = None,
    smooth: float = 0.0,
    eps: float = 1e-7,
    channel_axis: int = 1,
    batch: bool = False,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Soft Dice loss, one minus the soft Dice coefficient of each sample and class.

    .. math::

        L_{nc} = 1 - \frac{TP + s}{TP + \tfrac12 FP + \tfrac12 FN + s}
               = 1 - \frac{2 TP + 2s}{\sum_i p_i + \sum_i t_i + 2s}

    with :math:`TP = \sum_i p_i t_i`, :math:`FP = \sum_i p_i (1 - t_i)`,
    :math:`FN = \sum_i (1 - p_i) t_i` over the spatial positions of sample :math:`n`, class
    :math:`c` (and over the batch with ``batch=True``): :func:`tversky_loss` with
    :math:`\alpha = \beta = 1/2`.

    Parameters
    ----------
    {ARRAYS}
    {OPTIONS}

    Notes
    -----
    ``smooth`` enters in the Tversky form, so it is half of MONAI's ``smooth_nr``/``smooth_dr``
    and of smp's ``smooth``: ``DiceLoss(smooth_nr=1e-5, smooth_dr=1e-5)`` (MONAI's default) is
    ``smooth=5e-6``; optax's ``dice_loss(smooth=1.0)`` is ``smooth=1.0``. Reference section
    3.12's p = [.9, .8, .2, .1], t = [1, 1, 0, 0] gives 0.15 (smp, ``smooth=0``), optax's 0.10
    with ``smooth=1`` and MONAI's 0.1499996 with ``smooth=5e-6``; Keras' ``dice`` adds
    ``epsilon() = 1e-7`` to the denominator only (0.1500000212), which no keyword reproduces
    (``smooth=0`` is within 1e-7). Keras' ``axis=None`` default pools every axis, batch and
    channels included.

    A class absent from prediction and target has loss 0 (Keras: 1). The soft-label formula is
    the "decoupled" one of optax, smp, Keras and MONAI's ``soft_label=False``, not the
    semimetric of Wang et al. 2023 (MONAI's ``soft_label=True``); both agree on hard labels.

    References
    ----------
    Milletari, Navab and Ahmadi, "V-Net: Fully Convolutional Neural Networks for Volumetric
    Medical Image Segmentation", 3DV 2016, arXiv:1606.04797. Sudre et al., "Generalised Dice
    overlap as a deep learning loss function for highly unbalanced segmentations", DLMIA 2017,
    arXiv:1707.03237.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> p = np.array([[[0.9, 0.2, 0.6]]])  # probabilities, (N=1, C=1, 3 pixels)
    >>> t = np.array([[[1.0, 0.0, 1.0]]])
    >>> tp, fp, fn = (p * t).sum(), (p * (1 - t)).sum(), ((1 - p) * t).sum()
    >>> bool(np.isclose(lb.dice_loss(p, t, activation=None), 1 - 2 * tp / (2 * tp + fp + fn)))
    True
    """
    return _tversky(
        input,
        target,
        loss_name="dice_loss",
        alpha=0.5,
        beta=0.5,
        gamma=1.0,
        activation=activation,
        weight=weight,
        smooth=smooth,
        eps=eps,
        channel_axis=channel_axis,
        batch=batch,
        reduction=reduction,
        denominator=denominator,
    )


@_doc
@half_precision
def jaccard_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    activation: SegmentationActivation = "softmax",
    weight: ArrayLike | None = None,
    smooth: float = 0.0,
    eps: float = 1e-7,
    channel_axis: int = 1,
    batch: bool = False,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Soft Jaccard (IoU) loss, one minus the soft intersection over union.

    .. math::

        L_{nc} = 1 - \frac{TP + s}{TP + FP + FN + s}
               = 1 - \frac{\sum_i p_i t_i + s}
                          {\sum_i p_i + \sum_i t_i - \sum_i p_i t_i + s}

    per sample :math:`n` and class :math:`c` (sums over the spatial positions, and over the
    batch with ``batch=True``): :func:`tversky_loss` with :math:`\alpha = \beta = 1`.

    Parameters
    ----------
    {ARRAYS}
    {OPTIONS}

    Notes
    -----
    ``smooth`` is MONAI's ``DiceLoss(jaccard=True, smooth_nr=s, smooth_dr=s)`` (MONAI writes
    the index as :math:`(2 TP + s_{nr}) / (2 (TP + FP + FN) + s_{dr})`, so its default 1e-5 is
    ``smooth=5e-6`` here), smp's ``JaccardLoss(smooth=s)`` and optax's
    ``dice_loss(alpha=1, beta=1, smooth=s)``. A class absent from prediction and target has
    loss 0. This is the soft (probability) surrogate of IoU; the Lovász hinge/softmax are its
    convex-extension surrogates (:mod:`lossbridge.lovasz`).

    References
    ----------
    Rahman and Wang, "Optimizing Intersection-Over-Union in Deep Neural Networks for Image
    Segmentation", ISVC 2016. Berman, Rannen Triki and Blaschko, "The Lovász-Softmax loss: A
    tractable surrogate for the optimization of the intersection-over-union measure in neural
    networks", CVPR 2018, arXiv:1705.08790.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> p = np.array([[[0.9, 0.2, 0.6]]])  # probabilities, (N=1, C=1, 3 pixels)
    >>> t = np.array([[[1.0, 0.0, 1.0]]])
    >>> tp, fp, fn = (p * t).sum(), (p * (1 - t)).sum(), ((1 - p) * t).sum()
    >>> bool(np.isclose(lb.jaccard_loss(p, t, activation=None), 1 - tp / (tp + fp + fn)))
    True
    """
    return _tversky(
        input,
        target,
        loss_name="jaccard_loss",
        alpha=1.0,
        beta=1.0,
        gamma=1.0,
        activation=activation,
        weight=weight,
        smooth=smooth,
        eps=eps,
        channel_axis=channel_axis,
        batch=batch,
        reduction=reduction,
        denominator=denominator,
    )


@_doc
@half_precision
def tversky_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    alpha: float = 0.5,
    beta: float = 0.5,
    activation: SegmentationActivation = "softmax",
    weight: ArrayLike | None = None,
    smooth: float = 0.0,
    eps: float = 1e-7,
    channel_axis: int = 1,
    batch: bool = False,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Tversky loss: one minus the Tversky index, FP weighted by alpha, FN by beta.

    .. math::

        L_{nc} = 1 - \frac{TP + s}{TP + \alpha\,FP + \beta\,FN + s}

    with :math:`TP = \sum_i p_i t_i`, :math:`FP = \sum_i p_i (1 - t_i)`,
    :math:`FN = \sum_i (1 - p_i) t_i` over the spatial positions of sample :math:`n`, class
    :math:`c` (and over the batch with ``batch=True``). :math:`\alpha = \beta = 1/2` is
    :func:`dice_loss`, :math:`\alpha = \beta = 1` :func:`jaccard_loss`; :math:`\beta > \alpha`
    penalises missed foreground more (Salehi et al. found :math:`\alpha = 0.3, \beta = 0.7`
    best for lesions).

    Parameters
    ----------
    {ARRAYS}
    alpha : float >= 0, default 0.5
        Weight of the false positives.
    beta : float >= 0, default 0.5
        Weight of the false negatives.
    {OPTIONS}

    Notes
    -----
    ``alpha`` weights the false positives as in Salehi et al. 2017, MONAI's ``TverskyLoss``,
    smp's ``TverskyLoss`` and optax's ``dice_loss(alpha, beta)``. Keras 3.15.1's ``tversky``
    puts its ``alpha`` on the false negatives, contrary to its docstring (fixed upstream in
    keras-team/keras PR #23333): with TP = 1, FP = 2, FN = 0, alpha = 0.9, beta = 0.1 this loss
    (and MONAI, smp, optax) gives 1 - 1/2.8 = 0.642857, Keras 1 - 1/1.2 = 0.166667; Keras'
    ``Tversky(alpha=a, beta=b)`` is ``tversky_loss(alpha=b, beta=a)`` (up to its epsilon in the
    denominator). ``smooth`` is MONAI's ``smooth_nr = smooth_dr`` and smp's and optax's
    ``smooth``.

    References
    ----------
    Salehi, Erdogmus and Gholipour, "Tversky loss function for image segmentation using 3D
    fully convolutional deep networks", MLMI 2017, arXiv:1706.05721.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> p = np.array([[[0.9, 0.2, 0.6]]])  # probabilities, (N=1, C=1, 3 pixels)
    >>> t = np.array([[[1.0, 0.0, 1.0]]])
    >>> tp, fp, fn = (p * t).sum(), (p * (1 - t)).sum(), ((1 - p) * t).sum()
    >>> loss = lb.tversky_loss(p, t, alpha=0.3, beta=0.7, activation=None)
    >>> bool(np.isclose(loss, 1 - tp / (tp + 0.3 * fp + 0.7 * fn)))
    True
    """
    return _tversky(
        input,
        target,
        loss_name="tversky_loss",
        alpha=alpha,
        beta=beta,
        gamma=1.0,
        activation=activation,
        weight=weight,
        smooth=smooth,
        eps=eps,
        channel_axis=channel_axis,
        batch=batch,
        reduction=reduction,
        denominator=denominator,
    )


@_doc
@half_precision
def focal_tversky_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    alpha: float = 0.5,
    beta: float = 0.5,
    gamma: float = 0.75,
    activation: SegmentationActivation = "softmax",
    weight: ArrayLike | None = None,
    smooth: float = 0.0,
    eps: float = 1e-7,
    channel_axis: int = 1,
    batch: bool = False,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Focal Tversky loss: the Tversky loss of each sample and class to the power gamma.

    .. math::

        L_{nc} = \left(1 - \frac{TP + s}{TP + \alpha\,FP + \beta\,FN + s}\right)^{\gamma}

    per sample :math:`n` and class :math:`c` (per class with ``batch=True``), then weighted and
    reduced like :func:`tversky_loss`. :math:`\gamma < 1` raises the loss of classes that are
    already well segmented less than that of badly segmented ones (the gradient grows as the
    index approaches 1); :math:`\gamma = 1` is :func:`tversky_loss`.

    Parameters
    ----------
    {ARRAYS}
    alpha : float >= 0, default 0.5
        Weight of the false positives.
    beta : float >= 0, default 0.5
        Weight of the false negatives.
    gamma : float > 0, default 0.75
        The exponent of :math:`1 - T` itself.
    {OPTIONS}

    Notes
    -----
    Parameterisation: ``gamma`` is the exponent, as in smp's ``TverskyLoss(gamma)``/
    ``FocalTverskyLoss``. Abraham and Khan write :math:`(1 - TI)^{1/\gamma}` with
    :math:`\gamma = 4/3`: that is the default ``gamma=0.75`` here. Their index puts
    :math:`\alpha` on the false negatives (:math:`\alpha = 0.7, \beta = 0.3`), Salehi et al.
    and this function on the false positives: their setting is ``alpha=0.3, beta=0.7`` here.
    The power is applied per sample and class, before the class weights and the reduction
    (Abraham and Khan sum :math:`(1 - TI_c)^{1/\gamma}` over classes; smp's ``TverskyLoss``
    raises the class mean to the power instead, which differs when classes differ). Where
    :math:`1 - T = 0` (a perfect or absent class) the loss and its gradient are 0 (for
    :math:`\gamma < 1` the one-sided derivative there is infinite).

    References
    ----------
    Abraham and Khan, "A Novel Focal Tversky loss function with improved Attention U-Net for
    lesion segmentation", ISBI 2019, arXiv:1810.07842. Salehi, Erdogmus and Gholipour,
    "Tversky loss function for image segmentation using 3D fully convolutional deep networks",
    MLMI 2017, arXiv:1706.05721.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> p = np.array([[[0.9, 0.2, 0.6]]])  # probabilities, (N=1, C=1, 3 pixels)
    >>> t = np.array([[[1.0, 0.0, 1.0]]])
    >>> tp, fp, fn = (p * t).sum(), (p * (1 - t)).sum(), ((1 - p) * t).sum()
    >>> loss = lb.focal_tversky_loss(p, t, alpha=0.3, beta=0.7, gamma=0.75, activation=None)
    >>> bool(np.isclose(loss, (1 - tp / (tp + 0.3 * fp + 0.7 * fn)) ** 0.75))
    True
    """
    return _tversky(
        input,
        target,
        loss_name="focal_tversky_loss",
        alpha=alpha,
        beta=beta,
        gamma=gamma,
        activation=activation,
        weight=weight,
        smooth=smooth,
        eps=eps,
        channel_axis=channel_axis,
        batch=batch,
        reduction=reduction,
        denominator=denominator,
    )
