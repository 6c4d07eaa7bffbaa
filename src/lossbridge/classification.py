"""Classification losses, matching ``torch.nn.functional`` (torch 2.13) name for name.

Every function takes arrays of any supported framework (NumPy, PyTorch, JAX, TensorFlow,
array-api-strict, ...) and returns an array of the prediction's framework, dtype and device.

Beyond torch: ``softmax_focal_loss``, ``poly1_cross_entropy``, ``generalized_cross_entropy``
(class axis 1, class-index targets with ``ignore_index`` like ``cross_entropy``), and the
hinge losses ``hinge_loss``, ``squared_hinge_loss`` and ``categorical_hinge_loss``.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from lossbridge._inputs import arange_like, promote_floats, setup
from lossbridge._precision import half_precision
from lossbridge._primitives import (
    bce_with_logits,
    clamp_min0,
    log_softmax,
    max_split,
    neg_picked,
    softmax_shift,
    xlogx,
)
from lossbridge._reduction import COUNT, reduce
from lossbridge._typing import ArrayLike, ArrayT, KLDivReduction, Reduction
from lossbridge._validation import (
    check_broadcastable,
    check_class_indices,
    check_denominator,
    check_floating,
    check_int,
    check_integer,
    check_range,
    check_real,
    check_reduction,
    check_same_shape,
    holds_only,
    shape_str,
    warn_if_broadcast_grows,
)
from lossbridge.backends import eager_view, fused, native_loss, take_along_axis

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "categorical_hinge_loss",
    "cross_entropy",
    "generalized_cross_entropy",
    "hinge_loss",
    "kl_div",
    "nll_loss",
    "poly1_cross_entropy",
    "softmax_focal_loss",
    "squared_hinge_loss",
]

#: What ``label_smoothing`` means, in its error messages.
_SMOOTHING = "the weight of the uniform distribution mixed into the target"


# ------------------------------------------------------------------------------------------
# Shared by cross_entropy and nll_loss: class-index targets.
# ------------------------------------------------------------------------------------------


def _class_axis(xp: Any, input: Any, loss: str) -> int:
    if input.ndim == 0:
        raise ValueError(
            f"{loss}: input must have shape (C,), (N, C) or (N, C, d1, ..., dK); got a 0-d array"
        )
    return 0 if input.ndim == 1 else 1


def _class_weight(xp: Any, weight: Any, input: Any, n_classes: int) -> Any:
    if weight is None:
        return None
    check_floating(xp, weight, "weight")
    if tuple(weight.shape) != (n_classes,):
        raise ValueError(
            f"weight has shape {shape_str(weight.shape)}; expected ({n_classes},), "
            f"one weight per class of input {shape_str(input.shape)}"
        )
    return weight


def _check_index_target(
    xp: Any, input: Any, target: Any, ca: int, ignore_index: int, loss: str
) -> bool:
    """Shape, dtype and (concrete targets) range checks; whether a target may be ignored.

    False only when the target was read and ``ignore_index`` lies outside its range: then the
    ``ignore_index`` masks are all true and the callers skip them (values and gradients are
    unchanged; under tracing the masks always stay).
    """
    check_int(ignore_index, "ignore_index", what="the class index whose targets are ignored")
    expected = () if input.ndim == 1 else (input.shape[0], *input.shape[2:])
    if tuple(target.shape) == tuple(input.shape) and input.ndim > 0:
        raise ValueError(_probability_target_message(input, loss))
    if tuple(target.shape) != tuple(expected):
        raise ValueError(
            f"{loss}: target has shape {shape_str(target.shape)} but input has shape "
            f"{shape_str(input.shape)}; expected class indices of shape {shape_str(expected)}"
            + (" or probabilities of the input's shape" if loss == "cross_entropy" else "")
        )
    check_integer(xp, target, "target", f"class indices for {loss}")
    span = check_class_indices(xp, target, input.shape[ca], ignore_index)
    return span is None or span[0] <= ignore_index <= span[1]


def _index_loss(
    xp: Any,
    per_item: Any,
    target: Any,
    valid: Any,
    safe_target: Any,
    weight: Any,
) -> tuple[Any, Any]:
    """Weighted, masked per-item loss and its weights (the 'mean' denominator).

    ``per_item`` is the unweighted loss of each item; ignored items give exactly 0 (``where``, so
    an infinite loss on an ignored item does not leak NaN).
    """
    dtype = per_item.dtype
    if weight is None:
        w = xp.astype(valid, dtype)
    else:
        flat = xp.reshape(safe_target, (-1,))
        w = xp.reshape(xp.take(weight, flat, axis=0), tuple(target.shape))
        w = xp.where(valid, w, xp.zeros_like(w))
    loss = xp.where(valid, per_item * w, xp.zeros_like(per_item))
    return loss, w


def _split_index_target(xp: Any, target: Any, ignore_index: int) -> tuple[Any, Any]:
    valid = target != ignore_index
    return valid, xp.where(valid, target, xp.zeros_like(target))


def _index_nll(xp: Any, input: Any, target: Any, ca: int) -> Any:
    """Unweighted ``-log p[y]`` per item for in-range targets (class axis removed).

    With a fused log-softmax (torch, TensorFlow: one kernel, what their own cross-entropy
    runs) the label's log-probability is gathered from it; elsewhere from
    ``log sum exp(x - m) - (x_y - m)``, with ``m`` the row max (gradient stopped), which forms
    no N x C log-softmax (XLA fuses it into one pass). No one-hot either way.
    """
    if fused(xp, "log_softmax") is not None:
        return neg_picked(xp, log_softmax(xp, input, ca), target, ca)
    idx = xp.expand_dims(target, axis=ca)
    m = softmax_shift(xp, input, ca)
    log_sum = xp.log(xp.sum(xp.exp(input - m), axis=ca, keepdims=True))
    picked = take_along_axis(xp, input, idx, ca) - m
    return xp.squeeze(log_sum - picked, axis=ca)


# ------------------------------------------------------------------------------------------
# cross_entropy / nll_loss
# ------------------------------------------------------------------------------------------


@half_precision
def cross_entropy(
    input: ArrayT,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
    label_smoothing: float = 0.0,
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Cross-entropy between logits and class indices or class probabilities.

    Same name, parameters, defaults and numbers as ``torch.nn.functional.cross_entropy``
    (torch 2.13), without the deprecated ``size_average``/``reduce``.

    With class-index targets :math:`y_n` and class weights :math:`w` (default 1):

    .. math::

        \ell_n = -w_{y_n} \log \frac{e^{x_{n,y_n}}}{\sum_c e^{x_{n,c}}},
        \qquad
        \text{mean} = \frac{\sum_n \ell_n}{\sum_n w_{y_n}}

    over items whose target is not ``ignore_index``. With label smoothing :math:`\varepsilon`
    the result is :math:`(1-\varepsilon)\,\text{nll} + \frac{\varepsilon}{C}\,\text{smooth}`,
    where ``smooth`` is :math:`-\sum_c w_c \log p_{n,c}` reduced with the same denominator
    (torch's formula; with ``weight`` it is not the same as weighted CE on smoothed targets,
    pytorch/pytorch#104776).

    With probability targets :math:`t` (same shape as ``input``, floating):
    :math:`\ell_n = -\sum_c w_c t'_{n,c} \log p_{n,c}` with
    :math:`t' = (1-\varepsilon) t + \varepsilon / C`, and ``'mean'`` divides by the number of
    items :math:`N \cdot d_1 \cdots d_K` (not by the weights).

    Parameters
    ----------
    input : array, shape (C,), (N, C) or (N, C, d1, ..., dK)
        Unnormalised logits, class axis 1 (0 for 1-D input).
    target : array
        Class indices, integer, shape (), (N,) or (N, d1, ..., dK), values in [0, C) or
        ``ignore_index``; or class probabilities, floating, the shape of ``input``.
    weight : array, shape (C,), optional
        A weight per class.
    ignore_index : int, default -100
        Index targets equal to it contribute nothing and are left out of the mean. If every
        target is ignored, ``'mean'`` is NaN (as in torch). Probability targets take only a
        negative value (``ValueError`` otherwise, as torch refuses it).
    reduction : {'mean', 'sum', 'none'}
    label_smoothing : float in [0, 1], default 0
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count,
        which is the sum of the class weights of the non-ignored targets (their number without
        ``weight``); with probability targets, the number of items. Pass the count summed over
        shards (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full
        batch's mean.

    Returns
    -------
    array
        Scalar, or with ``reduction='none'`` the per-item loss of shape (), (N,) or
        (N, d1, ..., dK).

    Notes
    -----
    Computed as :math:`\log\sum_c e^{x_c - m} - (x_y - m)` with :math:`m` the row max (its
    gradient stopped), picking the label logit from the original logits: no one-hot and no
    :math:`N \times C` log-softmax is materialised on the index path.

    References
    ----------
    PyTorch documentation, ``torch.nn.CrossEntropyLoss``; Szegedy et al., "Rethinking the
    Inception Architecture for Computer Vision", CVPR 2016 (label smoothing).

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
    >>> y = np.array([0, 2])
    >>> log_p = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    >>> bool(np.isclose(lb.cross_entropy(x, y), -log_p[[0, 1], y].mean()))
    True
    >>> print(round(float(lb.cross_entropy(x, y, label_smoothing=0.1)), 4))
    0.9547
    """
    if denominator is None:
        out = native_loss(
            "cross_entropy", input, target, weight, ignore_index, reduction, label_smoothing
        )
        if out is not None:
            return out
    xp, input, target, weight = setup(input, target=target, weight=weight)
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss="cross_entropy")
    label_smoothing = check_real(
        label_smoothing, "label_smoothing", loss="cross_entropy", what=_SMOOTHING, low=0.0, high=1.0
    )
    ca = _class_axis(xp, input, "cross_entropy")
    n_classes = input.shape[ca]
    weight = _class_weight(xp, weight, input, n_classes)
    if weight is not None:
        input, weight = promote_floats(xp, input, weight)
    w_b = None
    if weight is not None:
        shape = [1] * input.ndim
        shape[ca] = n_classes
        w_b = xp.reshape(weight, tuple(shape))

    if tuple(target.shape) == tuple(input.shape) and input.ndim > 0:
        return _cross_entropy_probs(
            xp, input, target, w_b, ca, reduction, label_smoothing, ignore_index, over
        )

    may_ignore = _check_index_target(xp, input, target, ca, ignore_index, "cross_entropy")
    eps = float(label_smoothing)
    if not may_ignore and weight is None and eps == 0.0:
        # Nothing ignored, no weights (known from the range check): the per-item loss alone.
        return reduce(xp, _index_nll(xp, input, target, ca), reduction, override=over)
    m = softmax_shift(xp, input, ca)
    log_sum = xp.log(xp.sum(xp.exp(input - m), axis=ca, keepdims=True))
    valid, safe = _split_index_target(xp, target, ignore_index)
    picked = take_along_axis(xp, input, xp.expand_dims(safe, axis=ca), ca) - m
    nll_item = xp.squeeze(log_sum - picked, axis=ca)
    nll, w = _index_loss(xp, nll_item, target, valid, safe, weight)
    denom = xp.sum(w) if reduction == "mean" else None
    out = reduce(xp, nll, reduction, denominator=denom, override=over)
    if eps == 0.0 or over is COUNT:
        return out
    # -sum_c w_c log p_c = sum_c w_c (log_sum - (x_c - m))
    shifted = input - m
    if w_b is None:
        smooth = n_classes * log_sum - xp.sum(shifted, axis=ca, keepdims=True)
    else:
        smooth = xp.sum(w_b) * log_sum - xp.sum(shifted * w_b, axis=ca, keepdims=True)
    smooth = xp.squeeze(smooth, axis=ca)
    smooth = xp.where(valid, smooth, xp.zeros_like(smooth))
    smooth = reduce(xp, smooth, reduction, denominator=denom, override=over)
    return (1.0 - eps) * out + (eps / n_classes) * smooth


def _cross_entropy_probs(
    xp: Any,
    input: Any,
    target: Any,
    w_b: Any,
    ca: int,
    reduction: str,
    label_smoothing: float,
    ignore_index: int,
    over: Any,
) -> Any:
    _check_prob_target(xp, input, target, "cross_entropy", ignore_index)
    input, target = promote_floats(xp, input, target)
    n_classes = input.shape[ca]
    eps = float(label_smoothing)
    if eps > 0.0:
        target = target * (1.0 - eps) + eps / n_classes
    m = softmax_shift(xp, input, ca)
    shifted = input - m
    logp = shifted - xp.log(xp.sum(xp.exp(shifted), axis=ca, keepdims=True))
    prod = logp * target if w_b is None else logp * target * w_b
    loss = -xp.sum(prod, axis=ca)
    n_items = 1
    for i, d in enumerate(input.shape):
        if i != ca:
            n_items *= d
    return reduce(xp, loss, reduction, denominator=n_items, override=over)


@half_precision
def nll_loss(
    input: ArrayT,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Negative log-likelihood of class indices, given log-probabilities.

    Same as ``torch.nn.functional.nll_loss`` (torch 2.13):

    .. math::

        \ell_n = -w_{y_n} x_{n, y_n}, \qquad
        \text{mean} = \frac{\sum_n \ell_n}{\sum_n w_{y_n}}

    over items whose target is not ``ignore_index`` (NaN when every item is ignored).

    Parameters
    ----------
    input : array, shape (C,), (N, C) or (N, C, d1, ..., dK)
        Log-probabilities, class axis 1 (0 for 1-D input).
    target : integer array, shape (), (N,) or (N, d1, ..., dK)
        Class indices in [0, C), or ``ignore_index``.
    weight : array, shape (C,), optional
    ignore_index : int, default -100
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the sum
        of the class weights of the non-ignored targets (their number without ``weight``). Pass the
        count summed over shards (:func:`lossbridge.mean_denominator`) and the shards' losses add up
        to the full batch's mean.

    Returns
    -------
    array
        Scalar, or the per-item loss with ``reduction='none'``.

    References
    ----------
    PyTorch documentation, ``torch.nn.NLLLoss``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> log_p = np.log(np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]]))
    >>> y = np.array([0, 2])
    >>> loss = lb.nll_loss(log_p, y, weight=np.array([1.0, 1.0, 3.0]))
    >>> bool(np.isclose(loss, -(np.log(0.7) + 3 * np.log(0.6)) / (1 + 3)))  # weighted mean
    True
    """
    if denominator is None:
        out = native_loss("nll_loss", input, target, weight, ignore_index, reduction)
        if out is not None:
            return out
    xp, input, target, weight = setup(input, target=target, weight=weight)
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss="nll_loss")
    ca = _class_axis(xp, input, "nll_loss")
    weight = _class_weight(xp, weight, input, input.shape[ca])
    if weight is not None:
        input, weight = promote_floats(xp, input, weight)
    may_ignore = _check_index_target(xp, input, target, ca, ignore_index, "nll_loss")
    if not may_ignore and weight is None:
        # Nothing ignored, no weights: -x[n, y_n] alone (the masks would all be true).
        return reduce(xp, neg_picked(xp, input, target, ca), reduction, override=over)
    valid, safe = _split_index_target(xp, target, ignore_index)
    picked = take_along_axis(xp, input, xp.expand_dims(safe, axis=ca), ca)
    loss, w = _index_loss(xp, -xp.squeeze(picked, axis=ca), target, valid, safe, weight)
    denom = xp.sum(w) if reduction == "mean" else None
    return reduce(xp, loss, reduction, denominator=denom, override=over)


# ------------------------------------------------------------------------------------------
# Binary cross-entropy
# ------------------------------------------------------------------------------------------


def _clamped_log(xp: Any, log_fn: Any, x: Any, ok: Any, neutral: float) -> Any:
    """``max(log_fn(x), -100)`` where ``ok``, else -100, with a finite gradient everywhere.

    ``log_fn`` is evaluated on ``neutral`` where not ``ok``, so ``log(0)`` never enters the graph
    (its gradient would turn the masked branch into ``0 * inf = nan``).
    """
    floor = xp.full_like(x, -100.0)
    safe = xp.where(ok, x, xp.full_like(x, neutral))
    return xp.where(ok, xp.maximum(log_fn(safe), floor), floor)


@half_precision
def binary_cross_entropy(
    input: ArrayT,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Binary cross-entropy between probabilities and targets.

    Same as ``torch.nn.functional.binary_cross_entropy`` (torch 2.13), including its clamp of
    each log term at -100, so a probability of exactly 0 or 1 gives a loss of 100, not inf:

    .. math::

        \ell = -w \left[ y \max(\log x, -100) + (1 - y) \max(\log(1 - x), -100) \right]

    (``log(1 - x)`` is computed as ``log1p(-x)``, as torch does).

    Parameters
    ----------
    input : array, any shape
        Probabilities in [0, 1].
    target : array, the shape of ``input``
        Targets in [0, 1].
    weight : array, optional
        Broadcast against ``input``; multiplies each element's loss.
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements (``weight`` scales the elements, it is not summed). Pass the count summed
        over shards (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full
        batch's mean.

    Returns
    -------
    array
        Scalar, or the elementwise loss with ``reduction='none'``.

    Notes
    -----
    The gradient is the derivative of the clamped loss: :math:`(x - y) / (x (1 - x))` inside,
    0 where the clamp is active. torch's hand-written backward instead returns
    :math:`(x - y) / \max(x (1 - x), 10^{-12})`, which differs only for :math:`x < 10^{-12}` or
    :math:`1 - x < 10^{-12}` (where it gives about :math:`\pm 10^{12}`).

    References
    ----------
    PyTorch documentation, ``torch.nn.BCELoss`` (and pytorch/pytorch PR #33160 on the clamp).

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> p = np.array([0.9, 0.2, 0.6])
    >>> y = np.array([1.0, 0.0, 1.0])
    >>> loss = lb.binary_cross_entropy(p, y)
    >>> bool(np.isclose(loss, -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()))
    True
    """
    xp, input, target, weight = setup(input, target=target, weight=weight)
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss="binary_cross_entropy")
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"binary_cross_entropy: target has shape {shape_str(target.shape)} but input has "
            f"shape {shape_str(input.shape)}; expected the same shape"
        )
    input, target, weight = promote_floats(xp, input, target, weight)
    span = check_range(xp, input, "input", 0.0, 1.0, what="probabilities")
    check_range(xp, target, "target", 0.0, 1.0, what="values")
    if span is not None and span[1] < 1.0 and span[0] > 0.0 and math.log(span[0]) > -99.0:
        # Read eagerly: every x is in (e^-99, 1), so neither log reaches the clamp at -100
        # (log1p(-x) >= log(2^-53) at the largest x < 1) and the masks below are all true:
        # the same values and gradients without them.
        loss = (target - 1.0) * xp.log1p(-input) - target * xp.log(input)
    else:
        # "x != 0" keeps NaN on the log branch, so NaN propagates instead of becoming 100; so
        # does a value outside [0, 1] (log of a negative, log1p below -1) where it is not
        # refused (inside a trace).
        log_x = _clamped_log(xp, xp.log, input, input != 0, 1.0)
        log_1mx = _clamped_log(xp, lambda v: xp.log1p(-v), input, input != 1, 0.0)
        loss = (target - 1.0) * log_1mx - target * log_x
    if weight is not None:
        loss = loss * weight
    return reduce(xp, loss, reduction, override=over)


@half_precision
def binary_cross_entropy_with_logits(
    input: ArrayT,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
    pos_weight: ArrayLike | None = None,
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Binary cross-entropy between logits and targets, computed stably.

    Same as ``torch.nn.functional.binary_cross_entropy_with_logits`` (torch 2.13):

    .. math::

        \ell = w \left[ (1 - y)\, x - (1 + (p - 1) y) \log \sigma(x) \right]

    which equals :math:`-w [p\, y \log\sigma(x) + (1 - y) \log(1 - \sigma(x))]` without ever
    forming :math:`\sigma(x)`, so logits of any magnitude are exact.

    Parameters
    ----------
    input : array, any shape
        Logits.
    target : array, the shape of ``input``
        Targets, usually in [0, 1].
    weight : array, optional
        Broadcast against ``input``; multiplies each element's loss.
    reduction : {'mean', 'sum', 'none'}
    pos_weight : array, optional
        Weight of the positive term, broadcast against ``input`` (so a shape of (C,) applies
        along the last axis, one weight per class).
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements (``weight`` and ``pos_weight`` scale the elements, they are not summed).
        Pass the count summed over shards (:func:`lossbridge.mean_denominator`) and the shards'
        losses add up to the full batch's mean.

    Returns
    -------
    array
        Scalar, or the elementwise loss with ``reduction='none'``.

    References
    ----------
    PyTorch documentation, ``torch.nn.BCEWithLogitsLoss``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([2.0, -1.0, 0.5])
    >>> y = np.array([1.0, 0.0, 1.0])
    >>> p = 1 / (1 + np.exp(-x))
    >>> loss = lb.binary_cross_entropy_with_logits(x, y, pos_weight=np.array([3.0]))
    >>> bool(np.isclose(loss, -(3.0 * y * np.log(p) + (1 - y) * np.log(1 - p)).mean()))
    True
    """
    if denominator is None:
        out = native_loss(
            "binary_cross_entropy_with_logits", input, target, weight, reduction, pos_weight
        )
        if out is not None:
            return out
    xp, input, target, weight, pos_weight = setup(
        input, target=target, weight=weight, pos_weight=pos_weight
    )
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss="binary_cross_entropy_with_logits")
    check_same_shape(input, target, "input", "target")
    input, target, weight, pos_weight = promote_floats(xp, input, target, weight, pos_weight)
    loss = bce_with_logits(xp, input, target, pos_weight)
    if weight is not None:
        loss = loss * weight
    return reduce(xp, loss, reduction, override=over)


# ------------------------------------------------------------------------------------------
# KL divergence
# ------------------------------------------------------------------------------------------


@half_precision
def kl_div(
    input: ArrayT,
    target: ArrayLike,
    reduction: KLDivReduction = "mean",
    log_target: bool = False,
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Pointwise Kullback-Leibler divergence, with log-probabilities as ``input``.

    Same as ``torch.nn.functional.kl_div`` (torch 2.13):

    .. math::

        \ell = y (\log y - x) \quad\text{or, with } \texttt{log\_target},\quad
        \ell = e^{y} (y - x)

    with :math:`0 \log 0 = 0`. Note the argument order: ``input`` is the model's
    log-probabilities :math:`\log q`, ``target`` the reference distribution :math:`p`; the sum
    is :math:`\mathrm{KL}(p \,\|\, q)`.

    Parameters
    ----------
    input : array
        Log-probabilities.
    target : array, broadcastable with ``input``
        Probabilities (log-probabilities if ``log_target``).
    reduction : {'mean', 'batchmean', 'sum', 'none'}
        ``'mean'`` divides by the number of elements (torch's default, which is not the KL
        divergence); ``'batchmean'`` divides the sum by ``input.shape[0]`` and is the
        mathematically correct mean KL per sample.
    log_target : bool, default False
    denominator : float or 0-d array, optional
        For ``'mean'`` and ``'batchmean'`` only: divide the summed loss by this instead of the
        mean's own count, which is the number of elements (``'mean'``) or the batch size
        ``input.shape[0]`` (``'batchmean'``). Pass the count summed over shards
        (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full
        batch's mean.

    Returns
    -------
    array

    References
    ----------
    PyTorch documentation, ``torch.nn.KLDivLoss``; Kullback and Leibler, "On Information and
    Sufficiency", Ann. Math. Statist. 1951.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> q = np.array([[0.5, 0.25, 0.25]])  # the model's distribution
    >>> p = np.array([[0.25, 0.5, 0.25]])  # the target distribution
    >>> kl = lb.kl_div(np.log(q), p, reduction="batchmean")
    >>> bool(np.isclose(kl, (p * np.log(p / q)).sum()))
    True
    """
    if denominator is None:
        out = native_loss("kl_div", input, target, reduction, log_target)
        if out is not None:
            return out
    xp, input, target = setup(input, target=target)
    check_reduction(reduction, ("none", "batchmean", "mean", "sum"))
    over = check_denominator(denominator, reduction, loss="kl_div", means=("mean", "batchmean"))
    check_broadcastable(input, target, "input", "target")
    warn_if_broadcast_grows(input, target, "kl_div")
    input, target = promote_floats(xp, input, target)
    if log_target:
        loss = xp.exp(target) * (target - input)
    else:
        loss = xlogx(xp, target) - target * input
    batch = input.shape[0] if input.ndim else 1
    denom = batch if reduction == "batchmean" else None
    return reduce(xp, loss, reduction, denominator=denom, override=over)


# ==========================================================================================
# Classification losses beyond the frameworks: focal, Poly-1, generalized CE, hinges
# ==========================================================================================
#
# Class axis 1 (0 for 1-D input) and class-index targets of shape (N, d1, ..., dK), as in
# cross_entropy; the CE-like losses also take ``ignore_index`` and, where noted, probability
# targets of the input's shape.


def _is_prob_target(input: Any, target: Any) -> bool:
    return input.ndim > 0 and tuple(target.shape) == tuple(input.shape)


def _check_prob_target(
    xp: Any, input: Any, target: Any, loss: str, ignore_index: int = -100
) -> None:
    """Probability targets must be floating, and (torch's rule) come with a negative
    ``ignore_index``: they hold no class index to ignore."""
    check_int(ignore_index, "ignore_index", what="the class index whose targets are ignored")
    if not xp.isdtype(target.dtype, "real floating"):
        raise TypeError(
            f"{loss}: target has the input's shape {shape_str(input.shape)}, so it is read as "
            f"class probabilities and must be floating; got {target.dtype} (for class indices, "
            f"target must have shape {shape_str((input.shape[0], *input.shape[2:]))})"
        )
    if ignore_index >= 0:
        raise ValueError(
            f"{loss}: ignore_index is not supported for floating point target (as in torch): "
            f"target has the input's shape {shape_str(input.shape)}, so it holds class "
            f"probabilities, which have no class index to ignore; got ignore_index="
            f"{ignore_index!r}, expected a negative value such as the default -100"
        )


def _index_only(input: Any, target: Any, loss: str) -> None:
    if _is_prob_target(input, target):
        raise ValueError(_probability_target_message(input, loss))


def _probability_target_message(input: Any, loss: str) -> str:
    """The error of a loss that takes class indices only, given a target of the input's shape
    (one-hot rows or probabilities): what to pass instead."""
    ca = 0 if input.ndim == 1 else 1
    expected = () if input.ndim == 1 else (input.shape[0], *input.shape[2:])
    instead = (
        ", or use cross_entropy, which takes class probabilities (on nll_loss's "
        "log-probabilities it gives the same loss)"
        if loss == "nll_loss"
        else ""
    )
    return (
        f"target has the input's shape {shape_str(input.shape)}, as one-hot rows or class "
        f"probabilities have; expected class indices of shape {shape_str(expected)}: pass "
        f"target.argmax({ca}) (the class indices of one-hot rows){instead}"
    )


def _label_log_prob(
    xp: Any, input: Any, target: Any, ca: int, ignore_index: int
) -> tuple[Any, Any, Any]:
    """``log p_y`` per item (class axis removed), the valid-item mask and the safe targets.

    cross_entropy's index path: the label logit is picked from the original logits and shifted
    by the row max (gradient stopped); no one-hot and no full log-softmax is formed. Ignored
    items read class 0 (a finite value the callers mask out with ``where``).
    """
    m = softmax_shift(xp, input, ca)
    log_sum = xp.log(xp.sum(xp.exp(input - m), axis=ca, keepdims=True))
    valid, safe = _split_index_target(xp, target, ignore_index)
    picked = take_along_axis(xp, input, xp.expand_dims(safe, axis=ca), ca) - m
    return xp.squeeze(picked - log_sum, axis=ca), valid, safe


def _masked(xp: Any, valid: Any, loss: Any) -> Any:
    return xp.where(valid, loss, xp.zeros_like(loss))


def _count(xp: Any, valid: Any, dtype: Any) -> Any:
    return xp.sum(xp.astype(valid, dtype))


def _items(input: Any, ca: int) -> int:
    """Number of items (every axis but the class axis), the 'mean' denominator of prob targets."""
    n = 1
    for i, d in enumerate(input.shape):
        if i != ca:
            n *= d
    return n


def _class_shape(input: Any, ca: int) -> tuple[int, ...]:
    """Shape that broadcasts a (C,) vector along the class axis of ``input``."""
    shape = [1] * input.ndim
    shape[ca] = input.shape[ca]
    return tuple(shape)


def _one_minus_exp(xp: Any, log_p: Any) -> Any:
    """``1 - p`` computed as ``-expm1(log p)``: no cancellation when p is close to 1."""
    return -xp.expm1(log_p)


def _focal_factor(xp: Any, base: Any, gamma: float) -> Any:
    """``base ** gamma`` for ``base >= 0`` with a finite gradient (0) at ``base == 0``.

    ``gamma == 0`` gives None (the factor is 1): the derivative of ``0 ** 0`` is NaN in some
    frameworks. At ``base == 0`` (p = 1 exactly) the focal loss and its gradient are 0 for every
    ``gamma >= 0``, and so is this factor's contribution (double ``where``: ``gamma < 1`` would
    give ``0 * inf``).
    """
    if gamma == 0.0:
        return None
    pos = base > 0
    safe = xp.where(pos, base, xp.ones_like(base))
    return xp.where(pos, safe**gamma, xp.zeros_like(base))


# ------------------------------------------------------------------------------------------
# softmax_focal_loss
# ------------------------------------------------------------------------------------------


@half_precision
def softmax_focal_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    alpha: ArrayLike | None = None,
    gamma: float = 2.0,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Focal loss on the softmax of logits (multi-class focal loss).

    With :math:`p = \mathrm{softmax}(x)` over the class axis and class-index targets
    :math:`y_n`:

    .. math::

        \ell_n = -\alpha_{y_n} (1 - p_{n,y_n})^{\gamma} \log p_{n,y_n}

    and with probability (or one-hot) targets :math:`t` of the input's shape (Keras's
    ``categorical_focal_crossentropy`` formula):

    .. math::

        \ell_n = -\sum_c \alpha_c\, t_{n,c} (1 - p_{n,c})^{\gamma} \log p_{n,c}

    :math:`\alpha_c = 1` without ``alpha``, the same number for every class with a scalar
    ``alpha``, one per class with a vector. ``gamma = 0`` without ``alpha`` is
    :func:`cross_entropy` (unweighted).

    Parameters
    ----------
    input : array, shape (C,), (N, C) or (N, C, d1, ..., dK)
        Unnormalised logits, class axis 1 (0 for 1-D input).
    target : array
        Class indices, integer, shape (), (N,) or (N, d1, ..., dK), values in [0, C) or
        ``ignore_index``; or class probabilities / one-hot rows, floating, the shape of
        ``input``.
    alpha : None, float or array of shape (C,), default None
        Class balancing factor: None (no balancing), a Python number applied to every class
        (Keras's scalar ``alpha``), or a weight per class.
    gamma : float, default 2.0
        Focusing exponent, :math:`\gamma \ge 0`.
    ignore_index : int, default -100
        Index targets equal to it contribute nothing and are left out of the mean (NaN when
        every item is ignored, as in ``cross_entropy``). Probability targets take only a
        negative value, as in ``cross_entropy``.
    reduction : {'mean', 'sum', 'none'}
        ``'mean'`` divides by the number of non-ignored items (probability targets: by
        :math:`N d_1 \cdots d_K`), **not** by the sum of the ``alpha`` weights.
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of non-ignored items (probability targets: the number of items). Pass the count
        summed over shards (:func:`lossbridge.mean_denominator`) and the shards' losses add up to
        the full batch's mean.

    Returns
    -------
    array
        Scalar, or with ``reduction='none'`` the per-item loss of shape (), (N,) or
        (N, d1, ..., dK).

    Notes
    -----
    :math:`\log p` is a log-softmax (the label's logit shifted by the row max, as in
    :func:`cross_entropy`: logits of any size, no overflow) and :math:`1 - p` is computed as
    :math:`-\mathrm{expm1}(\log p)`, which adds no cancellation to that of :math:`\log p`.
    As in ``cross_entropy``, :math:`\log p_t` rounds to 0 once :math:`1 - p_t` is below the
    dtype's epsilon, and the loss and its gradient are then 0 (exactly, also for
    :math:`\gamma < 1`).

    Three different losses share the name "multi-class focal loss" (reference section 3.11,
    numbers from one example there): Keras's ``CategoricalFocalCrossentropy``
    (scalar ``alpha=0.25`` for every class by default, and probabilities clipped to
    :math:`[10^{-7}, 1 - 10^{-7}]`: 0.012123 on the reference's example), MONAI's
    ``FocalLoss(use_softmax=True)`` (``alpha=None`` by default: 0.016164; a scalar ``alpha``
    there means :math:`1-\alpha` for class 0 and :math:`\alpha` for the others; its ``'mean'``
    averages over the :math:`N \times C` per-class terms, i.e. this loss divided by C) and
    segmentation_models_pytorch's ``FocalLoss('multiclass')`` (one-vs-rest *sigmoid* focal
    loss, 0.30294: not this loss). This function is Keras's and MONAI's loss with the
    ``alpha`` convention stated above and ``alpha=None`` by default; Keras's 'mean' is the same
    (it averages the per-sample sums over the batch).

    References
    ----------
    Lin, Goyal, Girshick, He and Dollár, "Focal Loss for Dense Object Detection", ICCV 2017,
    arXiv:1708.02002. Keras 3 ``keras.losses.categorical_focal_crossentropy``; MONAI
    ``monai.losses.FocalLoss``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
    >>> y = np.array([0, 2])
    >>> p_t = (np.exp(x) / np.exp(x).sum(axis=1, keepdims=True))[[0, 1], y]
    >>> bool(np.isclose(lb.softmax_focal_loss(x, y), (-(1 - p_t) ** 2 * np.log(p_t)).mean()))
    True
    >>> onehot = np.eye(3)[y]  # Keras's categorical_focal_crossentropy, alpha=0.25
    >>> print(round(float(lb.softmax_focal_loss(x, onehot, alpha=0.25)), 6))
    0.121824
    """
    loss_name = "softmax_focal_loss"
    gamma = check_real(gamma, "gamma", loss=loss_name, what="the focusing exponent", low=0.0)
    alpha_scalar = None
    if alpha is not None and isinstance(alpha, numbers.Real) and not isinstance(alpha, bool):
        alpha_scalar = float(alpha)
        alpha = None
    elif isinstance(alpha, bool):
        raise TypeError(
            f"{loss_name}: alpha must be None, a real number or a (C,) array; got {alpha!r}"
        )
    xp, input, target, alpha = setup(input, target=target, alpha=alpha)
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss=loss_name)
    ca = _class_axis(xp, input, loss_name)
    n_classes = input.shape[ca]
    if alpha is not None:
        check_floating(xp, alpha, "alpha")
        if tuple(alpha.shape) != (n_classes,):
            raise ValueError(
                f"{loss_name}: alpha has shape {shape_str(alpha.shape)}; expected None, a "
                f"number or shape ({n_classes},), one weight per class of input "
                f"{shape_str(input.shape)}"
            )
        input, alpha = promote_floats(xp, input, alpha)

    if _is_prob_target(input, target):
        _check_prob_target(xp, input, target, loss_name, ignore_index)
        input, target, alpha = promote_floats(xp, input, target, alpha)
        log_p = log_softmax(xp, input, ca)
        term = target * log_p
        factor = _focal_factor(xp, _one_minus_exp(xp, log_p), gamma)
        if factor is not None:
            term = term * factor
        if alpha is not None:
            term = term * xp.reshape(alpha, _class_shape(input, ca))
        loss = -xp.sum(term, axis=ca)
        if alpha_scalar is not None:
            loss = alpha_scalar * loss
        return reduce(xp, loss, reduction, denominator=_items(input, ca), override=over)

    _check_index_target(xp, input, target, ca, ignore_index, loss_name)
    log_pt, valid, safe = _label_log_prob(xp, input, target, ca, ignore_index)
    item = -log_pt
    factor = _focal_factor(xp, _one_minus_exp(xp, log_pt), gamma)
    if factor is not None:
        item = factor * item
    if alpha is not None:
        a = xp.take(alpha, xp.reshape(safe, (-1,)), axis=0)
        item = item * xp.reshape(a, tuple(target.shape))
    if alpha_scalar is not None:
        item = alpha_scalar * item
    loss = _masked(xp, valid, item)
    denom = _count(xp, valid, loss.dtype) if reduction == "mean" else None
    return reduce(xp, loss, reduction, denominator=denom, override=over)


# ------------------------------------------------------------------------------------------
# poly1_cross_entropy
# ------------------------------------------------------------------------------------------


@half_precision
def poly1_cross_entropy(
    input: ArrayT,
    target: ArrayLike,
    *,
    epsilon: float = 1.0,
    label_smoothing: float = 0.0,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Poly-1 loss: cross-entropy plus :math:`\varepsilon (1 - p_t)`.

    With :math:`p = \mathrm{softmax}(x)` over the class axis, targets :math:`t` (one-hot rows
    of class indices, or probabilities) smoothed as
    :math:`t' = (1 - s)\, t + s / C` (:math:`s` = ``label_smoothing``) and class weights
    :math:`w` (default 1):

    .. math::

        \ell_n = \sum_c w_c\, t'_{n,c} \left[ -\log p_{n,c}
                 + \varepsilon\, (1 - p_{n,c}) \right]

    so without smoothing and weights, :math:`\ell_n = -\log p_t + \varepsilon (1 - p_t)` with
    :math:`p_t = \sum_c t_c p_c` (the paper's Poly-1; its label-smoothed variant, like optax's
    ``poly_loss_cross_entropy`` on smoothed labels, sums :math:`t'_c (1 - p_c)`).
    ``epsilon = 0`` is exactly :func:`cross_entropy` with the same ``weight``,
    ``ignore_index``, ``label_smoothing`` and ``reduction``, and the reductions are its:
    ``'mean'`` divides by :math:`\sum_n w_{y_n}` over non-ignored items for index targets (NaN
    when every item is ignored) and by :math:`N d_1 \cdots d_K` for probability targets.

    Parameters
    ----------
    input : array, shape (C,), (N, C) or (N, C, d1, ..., dK)
        Unnormalised logits, class axis 1 (0 for 1-D input).
    target : array
        Class indices, integer, shape (), (N,) or (N, d1, ..., dK), values in [0, C) or
        ``ignore_index``; or class probabilities, floating, the shape of ``input``.
    epsilon : float, default 1.0
        Coefficient of the first polynomial term, :math:`\varepsilon \ge -1` keeps the loss
        monotone in :math:`p_t`.
    label_smoothing : float in [0, 1], default 0
    weight : array, shape (C,), optional
        A weight per class, applied to the whole bracket (cross-entropy and polynomial term)
        as ``cross_entropy`` applies it.
    ignore_index : int, default -100
        As in ``cross_entropy`` (a negative value with probability targets).
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the sum
        of the class weights of the non-ignored targets (their number without ``weight``);
        probability targets: the number of items. Pass the count summed over shards
        (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full batch's
        mean.

    Returns
    -------
    array
        Scalar, or with ``reduction='none'`` the per-item loss of shape (), (N,) or
        (N, d1, ..., dK).

    Notes
    -----
    Default ``epsilon``: 1.0, the paper's value "for a first try" (its Listing 1) and that of
    most PyTorch ports; optax's ``poly_loss_cross_entropy`` defaults to ``epsilon=2.0`` (the
    paper's best value on ImageNet; it recommends -1 for detection), so pass
    ``epsilon=2.0`` to get optax's numbers. optax takes probability labels on the last axis
    and returns the unreduced loss; it has no class weights and no ``ignore_index``.
    :math:`1 - p_c` is computed as :math:`-\mathrm{expm1}(\log p_c)`.

    References
    ----------
    Leng, Tan, Liu, Cubuk, Shi, Cheng, Anguelov and Tan, "PolyLoss: A Polynomial Expansion
    Perspective of Classification Loss Functions", ICLR 2022, arXiv:2204.12511.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
    >>> y = np.array([0, 2])
    >>> p_t = (np.exp(x) / np.exp(x).sum(axis=1, keepdims=True))[[0, 1], y]
    >>> bool(np.isclose(lb.poly1_cross_entropy(x, y), (-np.log(p_t) + (1 - p_t)).mean()))
    True
    """
    loss_name = "poly1_cross_entropy"
    epsilon = check_real(epsilon, "epsilon", loss=loss_name, what="the coefficient of (1 - p_t)")
    smoothing = check_real(
        label_smoothing, "label_smoothing", loss=loss_name, what=_SMOOTHING, low=0.0, high=1.0
    )
    xp, input, target, weight = setup(input, target=target, weight=weight)
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss=loss_name)
    ca = _class_axis(xp, input, loss_name)
    n_classes = input.shape[ca]
    weight = _class_weight(xp, weight, input, n_classes)
    if weight is not None:
        input, weight = promote_floats(xp, input, weight)
    w_b = None if weight is None else xp.reshape(weight, _class_shape(input, ca))

    if _is_prob_target(input, target):
        _check_prob_target(xp, input, target, loss_name, ignore_index)
        input, target, w_b = promote_floats(xp, input, target, w_b)
        if smoothing > 0.0:
            target = target * (1.0 - smoothing) + smoothing / n_classes
        log_p = log_softmax(xp, input, ca)
        term = target * (epsilon * _one_minus_exp(xp, log_p) - log_p)
        if w_b is not None:
            term = term * w_b
        loss = xp.sum(term, axis=ca)
        return reduce(xp, loss, reduction, denominator=_items(input, ca), override=over)

    _check_index_target(xp, input, target, ca, ignore_index, loss_name)
    log_pt, valid, safe = _label_log_prob(xp, input, target, ca, ignore_index)
    item = epsilon * _one_minus_exp(xp, log_pt) - log_pt
    loss, w = _index_loss(xp, item, target, valid, safe, weight)
    denom = xp.sum(w) if reduction == "mean" else None
    if smoothing == 0.0 or over is COUNT:
        return reduce(xp, loss, reduction, denominator=denom, override=over)
    # t' = (1 - s) onehot + s / C: the label's term weighted by (1 - s), every class's by s / C
    log_p = log_softmax(xp, input, ca)
    every = epsilon * _one_minus_exp(xp, log_p) - log_p
    if w_b is not None:
        every = every * w_b
    every = _masked(xp, valid, xp.sum(every, axis=ca))
    return (1.0 - smoothing) * reduce(xp, loss, reduction, denominator=denom, override=over) + (
        smoothing / n_classes
    ) * reduce(xp, every, reduction, denominator=denom, override=over)


# ------------------------------------------------------------------------------------------
# generalized_cross_entropy
# ------------------------------------------------------------------------------------------


@half_precision
def generalized_cross_entropy(
    input: ArrayT,
    target: ArrayLike,
    *,
    q: float = 0.7,
    ignore_index: int = -100,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Generalized cross-entropy :math:`L_q` for training with noisy labels.

    With :math:`p = \mathrm{softmax}(x)` over the class axis and class-index targets
    :math:`y_n`:

    .. math::

        \ell_n = \frac{1 - p_{n,y_n}^{\,q}}{q}, \qquad 0 < q \le 1

    As :math:`q \to 0` this tends to the cross-entropy :math:`-\log p_y`; :math:`q = 1` gives
    :math:`1 - p_y` (an MAE-like loss: the L1 distance between the one-hot target and
    :math:`p` is :math:`2 (1 - p_y)`).

    Parameters
    ----------
    input : array, shape (C,), (N, C) or (N, C, d1, ..., dK)
        Unnormalised logits, class axis 1 (0 for 1-D input).
    target : integer array, shape (), (N,) or (N, d1, ..., dK)
        Class indices in [0, C), or ``ignore_index``. Probability targets are not accepted.
    q : float in (0, 1], default 0.7
        The paper's value for its CIFAR experiments.
    ignore_index : int, default -100
    reduction : {'mean', 'sum', 'none'}
        ``'mean'`` divides by the number of non-ignored items (NaN if there is none).
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of non-ignored items. Pass the count summed over shards
        (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full batch's
        mean.

    Returns
    -------
    array
        Scalar, or with ``reduction='none'`` the per-item loss of shape (), (N,) or
        (N, d1, ..., dK).

    Notes
    -----
    Computed from the log-softmax as :math:`-\mathrm{expm1}(q \log p_y) / q`: accurate for
    small :math:`q` (where :math:`1 - p^q` cancels) and for probabilities that underflow (a logit
    gap of 200 gives :math:`(1 - e^{-200 q}) / q`, not NaN or :math:`1/q` from ``0 ** q``).

    Keras 3's ``categorical_generalized_cross_entropy(y_true, y_pred, q)`` (class
    ``CategoricalGeneralizedCrossEntropy(q=0.5)``, which accepts only :math:`0 < q < 1`) is the
    same formula with integer labels and *probabilities* as ``y_pred`` on the last axis (no
    softmax, no clipping: :math:`\log` is never taken), and a default ``q = 0.5``.

    References
    ----------
    Zhang and Sabuncu, "Generalized Cross Entropy Loss for Training Deep Neural Networks with
    Noisy Labels", NeurIPS 2018, arXiv:1805.07836.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
    >>> y = np.array([0, 2])
    >>> p_y = (np.exp(x) / np.exp(x).sum(axis=1, keepdims=True))[[0, 1], y]
    >>> bool(np.isclose(lb.generalized_cross_entropy(x, y, q=0.7), ((1 - p_y**0.7) / 0.7).mean()))
    True
    """
    loss_name = "generalized_cross_entropy"
    what = "the exponent, 0 < q <= 1; q -> 0 is cross_entropy"
    q = check_real(q, "q", loss=loss_name, what=what, low=0.0, strict=True)
    check_real(q, "q", loss=loss_name, what=what, high=1.0)
    xp, input, target = setup(input, target=target)
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss=loss_name)
    ca = _class_axis(xp, input, loss_name)
    _index_only(input, target, loss_name)
    _check_index_target(xp, input, target, ca, ignore_index, loss_name)
    log_pt, valid, _ = _label_log_prob(xp, input, target, ca, ignore_index)
    loss = _masked(xp, valid, -xp.expm1(q * log_pt) / q)
    denom = _count(xp, valid, loss.dtype) if reduction == "mean" else None
    return reduce(xp, loss, reduction, denominator=denom, override=over)


# ------------------------------------------------------------------------------------------
# Hinge losses
# ------------------------------------------------------------------------------------------


def _check_hinge_labels(xp: Any, target: Any, zero_one: bool, loss: str) -> None:
    """Labels must be -1/1 (or 0/1 with ``zero_one``); checked on concrete arrays only."""
    if xp.isdtype(target.dtype, "bool"):
        return  # bool labels are 0 and 1 (only accepted with zero_one)
    view = eager_view(xp, target)
    if view is None or any(d == 0 for d in target.shape):
        return
    vx, t = view
    low = 0 if zero_one else -1
    if holds_only(vx, t, low, 1):
        return
    bad = vx.logical_not(vx.logical_or(t == low, t == 1))
    if bool(vx.any(bad)):
        flat = vx.reshape(t, (-1,))
        fbad = vx.reshape(bad, (-1,))
        idx = int(vx.argmax(vx.astype(fbad, vx.int32)))
        value = flat[idx]
        value = int(value) if vx.isdtype(t.dtype, "integral") else float(value)
        hint = (
            ""
            if zero_one
            else " (for labels 0 and 1 pass zero_one=True; they are never converted automatically)"
        )
        raise ValueError(
            f"{loss}: target must hold labels {low} and 1 only; got the value {value!r}{hint}"
        )


def _hinge_margin(input: Any, target: Any, zero_one: bool, reduction: str, loss: str) -> Any:
    """``(xp, 1 - y x)`` after the checks shared by the two binary hinge losses."""
    if not isinstance(zero_one, bool):
        raise TypeError(f"{loss}: zero_one must be a bool; got {zero_one!r}")
    xp, input, target = setup(input, target=target)
    check_reduction(reduction)
    if xp.isdtype(target.dtype, "bool"):
        if not zero_one:
            raise TypeError(
                f"{loss}: target is bool; pass zero_one=True to read it as labels 0 and 1 "
                "(or give labels -1 and 1)"
            )
    elif not xp.isdtype(target.dtype, ("integral", "real floating")):
        raise TypeError(
            f"{loss}: target must have an integer, real floating or bool dtype (labels); got "
            f"{target.dtype}"
        )
    check_broadcastable(input, target, "input", "target")
    warn_if_broadcast_grows(input, target, loss)
    _check_hinge_labels(xp, target, zero_one, loss)
    y = xp.astype(target, input.dtype)  # labels are exact in every dtype
    if zero_one:
        y = 2.0 * y - 1.0
    return xp, 1.0 - y * input


@half_precision
def hinge_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    zero_one: bool = False,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Binary hinge loss on scores and labels :math:`\pm 1`.

    .. math::

        \ell = \max(0,\ 1 - y x), \qquad y \in \{-1, 1\}

    elementwise; with ``zero_one=True`` the labels are 0 and 1 and :math:`y = 2t - 1`.

    Parameters
    ----------
    input : array, any shape
        Scores (decision-function outputs).
    target : array, broadcastable with ``input``
        Labels -1 and 1 (integer or floating), or 0 and 1 (integer, floating or bool) with
        ``zero_one=True``. Any other value raises ``ValueError`` (on concrete arrays: values
        are not read while ``jax.jit``, ``tf.function`` or ``torch.compile`` traces).
    zero_one : bool, default False
        Read ``target`` as labels 0 and 1.
    reduction : {'mean', 'sum', 'none'}
        Over all elements.
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements (of ``input`` broadcast with ``target``). Pass the count summed over
        shards (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full
        batch's mean.

    Returns
    -------
    array
        Scalar, or the elementwise loss (``input`` broadcast with ``target``) with
        ``reduction='none'``.

    Notes
    -----
    Label conventions differ (reference section 3.9, scores [0.3, -0.5, 2.0], labels
    [0, 1, 1]): Keras's ``hinge`` converts labels to :math:`2y - 1` **silently, and only if
    every label is 0 or 1** (0.9333 here, but no conversion for [0, 1, 0.5]); optax's
    ``hinge_loss`` never converts, so 0/1 labels give [1.0, 1.5, 0.0] instead of
    [1.3, 1.5, 0.0]. Here the conversion is explicit (``zero_one=True``) and other labels are
    an error. Keras also averages over the last axis first (same 'mean', a different 'none').

    At the kink :math:`1 - y x = 0` the gradient is that of torch's ``clamp_min``, the rule
    of torch's own margin losses (:math:`-y`: the gradient passes): ``hinge_loss(x, y)`` is
    ``torch.nn.functional.margin_ranking_loss(x, 0, y, margin=1)``, values and gradients.

    References
    ----------
    Cortes and Vapnik, "Support-Vector Networks", Machine Learning 20, 1995. optax
    ``optax.losses.hinge_loss``; Keras 3 ``keras.losses.hinge``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([0.3, -0.5, 2.0])
    >>> y = np.array([-1, 1, 1])
    >>> bool(np.isclose(lb.hinge_loss(x, y), np.maximum(0, 1 - y * x).mean()))
    True
    >>> bool(np.isclose(lb.hinge_loss(x, (y + 1) // 2, zero_one=True), lb.hinge_loss(x, y)))
    True
    """
    over = check_denominator(denominator, reduction, loss="hinge_loss")
    xp, z = _hinge_margin(input, target, zero_one, reduction, "hinge_loss")
    return reduce(xp, clamp_min0(xp, z), reduction, override=over)


@half_precision
def squared_hinge_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    zero_one: bool = False,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Squared binary hinge loss on scores and labels :math:`\pm 1`.

    .. math::

        \ell = \max(0,\ 1 - y x)^2, \qquad y \in \{-1, 1\}

    elementwise; with ``zero_one=True`` the labels are 0 and 1 and :math:`y = 2t - 1`.

    Parameters
    ----------
    input : array, any shape
        Scores.
    target : array, broadcastable with ``input``
        Labels -1 and 1, or 0 and 1 with ``zero_one=True`` (see :func:`hinge_loss`).
    zero_one : bool, default False
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements (of ``input`` broadcast with ``target``). Pass the count summed over
        shards (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full
        batch's mean.

    Returns
    -------
    array
        Scalar, or the elementwise loss with ``reduction='none'``.

    Notes
    -----
    Keras's ``squared_hinge`` (the only other implementation among the frameworks) converts
    0/1 labels silently and averages over the last axis (reference section 3.9). The loss is
    differentiable everywhere (gradient :math:`-2 y \max(0, 1 - y x)`, 0 at the kink).

    References
    ----------
    Chang, Hsieh and Lin, "Coordinate Descent Method for Large-scale L2-loss Linear Support
    Vector Machines", JMLR 9, 2008 (the L2-loss SVM); Keras 3 ``keras.losses.squared_hinge``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([0.3, -0.5, 2.0])
    >>> y = np.array([-1, 1, 1])
    >>> bool(np.isclose(lb.squared_hinge_loss(x, y), (np.maximum(0, 1 - y * x) ** 2).mean()))
    True
    >>> print(round(float(lb.squared_hinge_loss(x, y)), 4))
    1.3133
    """
    over = check_denominator(denominator, reduction, loss="squared_hinge_loss")
    xp, z = _hinge_margin(input, target, zero_one, reduction, "squared_hinge_loss")
    h = clamp_min0(xp, z)
    return reduce(xp, h * h, reduction, override=over)


@half_precision
def categorical_hinge_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Crammer-Singer multi-class hinge loss.

    With class-index targets :math:`y_n`:

    .. math::

        \ell_n = \max\left(0,\ 1 + \max_{j \ne y_n} x_{n,j} - x_{n,y_n}\right)

    and with floating (one-hot or probability) targets :math:`t` of the input's shape,
    Keras's ``categorical_hinge`` formula:

    .. math::

        \ell_n = \max\left(0,\ \max_c\, (1 - t_{n,c})\, x_{n,c} - \sum_c t_{n,c}\, x_{n,c}
                 + 1\right)

    Parameters
    ----------
    input : array, shape (C,), (N, C) or (N, C, d1, ..., dK)
        Scores, class axis 1 (0 for 1-D input).
    target : array
        Class indices, integer, shape (), (N,) or (N, d1, ..., dK), values in [0, C); or
        one-hot / probability rows, floating, the shape of ``input``.
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of items. Pass the count summed over shards (:func:`lossbridge.mean_denominator`) and
        the shards' losses add up to the full batch's mean.

    Returns
    -------
    array
        Scalar, or with ``reduction='none'`` the per-item loss of shape (), (N,) or
        (N, d1, ..., dK).

    Notes
    -----
    The two formulas **differ on one-hot targets when every non-target score is negative**
    (unless both are 0): Keras's :math:`(1 - t) x` puts a 0 in place of the target's score, so
    its max is at least 0. Scores [-1, -2, -3] with label 0: index targets give 0
    (Crammer-Singer, as optax's ``multiclass_hinge_loss``), one-hot targets give 2 (as Keras's
    ``categorical_hinge``). Convert one-hot rows to indices for Crammer-Singer.
    Scores [1, 2, 0.5], label 0: both give 2.0 (reference section 3.9).

    torch's ``multi_margin_loss`` is a different loss (Weston-Watkins: a sum over
    :math:`j \ne y` divided by C): 0.8333 on that example (1.4167 with ``p=2``).

    Gradients: where several scores tie for the max, its gradient is split evenly between them
    (torch's ``amax``, JAX's ``max``); at the kink (the bracket exactly 0) the gradient passes,
    as in :func:`hinge_loss` (torch's ``clamp_min``).

    References
    ----------
    Crammer and Singer, "On the Algorithmic Implementation of Multiclass Kernel-based Vector
    Machines", JMLR 2, 2001. optax ``optax.losses.multiclass_hinge_loss``; Keras 3
    ``keras.losses.categorical_hinge``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([[1.0, 2.0, 0.5], [3.0, 0.0, 1.0]])
    >>> y = np.array([0, 0])  # 1 + 2 - 1 = 2 and max(0, 1 + 1 - 3) = 0
    >>> lb.categorical_hinge_loss(x, y, reduction="none").tolist()
    [2.0, 0.0]
    """
    loss_name = "categorical_hinge_loss"
    xp, input, target = setup(input, target=target)
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss=loss_name)
    ca = _class_axis(xp, input, loss_name)
    n_classes = input.shape[ca]
    if _is_prob_target(input, target):
        _check_prob_target(xp, input, target, loss_name)
        input, target = promote_floats(xp, input, target)
        pos = xp.sum(target * input, axis=ca, keepdims=True)
        neg = max_split(xp, (1.0 - target) * input, ca)
        loss = xp.squeeze(clamp_min0(xp, neg - pos + 1.0), axis=ca)
        return reduce(xp, loss, reduction, override=over)

    expected = () if input.ndim == 1 else (input.shape[0], *input.shape[2:])
    if tuple(target.shape) != tuple(expected):
        raise ValueError(
            f"{loss_name}: target has shape {shape_str(target.shape)} but input has shape "
            f"{shape_str(input.shape)}; expected class indices of shape {shape_str(expected)} "
            "or one-hot rows of the input's shape"
        )
    check_integer(xp, target, "target", f"class indices for {loss_name}")
    check_class_indices(xp, target, n_classes, None)
    t = xp.expand_dims(target, axis=ca)
    x_y = take_along_axis(xp, input, t, ca)
    classes = xp.reshape(arange_like(xp, n_classes, input, t.dtype), _class_shape(input, ca))
    others = xp.where(classes == t, xp.full_like(input, -xp.inf), input)
    z = 1.0 + max_split(xp, others, ca) - x_y
    return reduce(xp, xp.squeeze(clamp_min0(xp, z), axis=ca), reduction, override=over)
