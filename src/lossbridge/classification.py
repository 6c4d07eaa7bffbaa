"""Classification losses, matching ``torch.nn.functional`` (torch 2.13) name for name.

Every function takes arrays of any supported framework (NumPy, PyTorch, JAX, TensorFlow,
array-api-strict, ...) and returns an array of the prediction's framework, dtype and device.
"""

from __future__ import annotations

from typing import Any

from lossbridge._inputs import promote_floats, setup
from lossbridge._primitives import log_sigmoid, max_shift, xlogy
from lossbridge._reduction import reduce
from lossbridge._validation import (
    check_broadcastable,
    check_class_indices,
    check_floating,
    check_integer,
    check_range,
    check_reduction,
    check_same_shape,
    shape_str,
)
from lossbridge.backends import take_along_axis

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "kl_div",
    "nll_loss",
]


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
) -> None:
    expected = () if input.ndim == 1 else (input.shape[0], *input.shape[2:])
    if tuple(target.shape) != tuple(expected):
        raise ValueError(
            f"{loss}: target has shape {shape_str(target.shape)} but input has shape "
            f"{shape_str(input.shape)}; expected class indices of shape {shape_str(expected)}"
            + (" or probabilities of the input's shape" if loss == "cross_entropy" else "")
        )
    check_integer(xp, target, "target", f"class indices for {loss}")
    check_class_indices(xp, target, input.shape[ca], ignore_index)


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


# ------------------------------------------------------------------------------------------
# cross_entropy / nll_loss
# ------------------------------------------------------------------------------------------


def cross_entropy(
    input: Any,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Any:
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
        target is ignored, ``'mean'`` is NaN (as in torch).
    reduction : {'mean', 'sum', 'none'}
    label_smoothing : float in [0, 1], default 0

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
    """
    xp, input, target, weight = setup(input, target=target, weight=weight)
    check_reduction(reduction)
    if not 0.0 <= float(label_smoothing) <= 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1]; got {label_smoothing!r}")
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
        return _cross_entropy_probs(xp, input, target, w_b, ca, reduction, label_smoothing)

    _check_index_target(xp, input, target, ca, ignore_index, "cross_entropy")
    m = max_shift(xp, input, ca)
    log_sum = xp.log(xp.sum(xp.exp(input - m), axis=ca, keepdims=True))
    valid, safe = _split_index_target(xp, target, ignore_index)
    picked = take_along_axis(xp, input, xp.expand_dims(safe, axis=ca), ca) - m
    nll_item = xp.squeeze(log_sum - picked, axis=ca)
    nll, w = _index_loss(xp, nll_item, target, valid, safe, weight)
    denom = xp.sum(w) if reduction == "mean" else None
    out = reduce(xp, nll, reduction, denominator=denom)
    eps = float(label_smoothing)
    if eps == 0.0:
        return out
    # -sum_c w_c log p_c = sum_c w_c (log_sum - (x_c - m))
    shifted = input - m
    if w_b is None:
        smooth = n_classes * log_sum - xp.sum(shifted, axis=ca, keepdims=True)
    else:
        smooth = xp.sum(w_b) * log_sum - xp.sum(shifted * w_b, axis=ca, keepdims=True)
    smooth = xp.squeeze(smooth, axis=ca)
    smooth = xp.where(valid, smooth, xp.zeros_like(smooth))
    smooth = reduce(xp, smooth, reduction, denominator=denom)
    return (1.0 - eps) * out + (eps / n_classes) * smooth


def _cross_entropy_probs(
    xp: Any, input: Any, target: Any, w_b: Any, ca: int, reduction: str, label_smoothing: float
) -> Any:
    if not xp.isdtype(target.dtype, "real floating"):
        raise TypeError(
            f"cross_entropy: target has the input's shape {shape_str(input.shape)}, so it is read "
            f"as class probabilities and must be floating; got {target.dtype} (for class "
            f"indices, target must have shape {shape_str((input.shape[0], *input.shape[2:]))})"
        )
    input, target = promote_floats(xp, input, target)
    n_classes = input.shape[ca]
    eps = float(label_smoothing)
    if eps > 0.0:
        target = target * (1.0 - eps) + eps / n_classes
    m = max_shift(xp, input, ca)
    shifted = input - m
    logp = shifted - xp.log(xp.sum(xp.exp(shifted), axis=ca, keepdims=True))
    prod = logp * target if w_b is None else logp * target * w_b
    loss = -xp.sum(prod, axis=ca)
    n_items = 1
    for i, d in enumerate(input.shape):
        if i != ca:
            n_items *= d
    return reduce(xp, loss, reduction, denominator=n_items)


def nll_loss(
    input: Any,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
) -> Any:
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

    Returns
    -------
    array
        Scalar, or the per-item loss with ``reduction='none'``.

    References
    ----------
    PyTorch documentation, ``torch.nn.NLLLoss``.
    """
    xp, input, target, weight = setup(input, target=target, weight=weight)
    check_reduction(reduction)
    ca = _class_axis(xp, input, "nll_loss")
    weight = _class_weight(xp, weight, input, input.shape[ca])
    if weight is not None:
        input, weight = promote_floats(xp, input, weight)
    _check_index_target(xp, input, target, ca, ignore_index, "nll_loss")
    valid, safe = _split_index_target(xp, target, ignore_index)
    picked = take_along_axis(xp, input, xp.expand_dims(safe, axis=ca), ca)
    loss, w = _index_loss(xp, -xp.squeeze(picked, axis=ca), target, valid, safe, weight)
    return reduce(xp, loss, reduction, denominator=xp.sum(w) if reduction == "mean" else None)


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


def binary_cross_entropy(
    input: Any, target: Any, weight: Any = None, reduction: str = "mean"
) -> Any:
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
    """
    xp, input, target, weight = setup(input, target=target, weight=weight)
    check_reduction(reduction)
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"binary_cross_entropy: target has shape {shape_str(target.shape)} but input has "
            f"shape {shape_str(input.shape)}; expected the same shape"
        )
    input, target, weight = promote_floats(xp, input, target, weight)
    check_range(xp, input, "input", 0.0, 1.0, what="probabilities")
    check_range(xp, target, "target", 0.0, 1.0, what="values")
    # "not (x <= 0)" keeps NaN on the log branch, so NaN propagates instead of becoming 100.
    log_x = _clamped_log(xp, xp.log, input, xp.logical_not(input <= 0), 1.0)
    log_1mx = _clamped_log(xp, lambda v: xp.log1p(-v), input, xp.logical_not(input >= 1), 0.0)
    loss = (target - 1.0) * log_1mx - target * log_x
    if weight is not None:
        loss = loss * weight
    return reduce(xp, loss, reduction)


def binary_cross_entropy_with_logits(
    input: Any,
    target: Any,
    weight: Any = None,
    reduction: str = "mean",
    pos_weight: Any = None,
) -> Any:
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

    Returns
    -------
    array
        Scalar, or the elementwise loss with ``reduction='none'``.

    References
    ----------
    PyTorch documentation, ``torch.nn.BCEWithLogitsLoss``.
    """
    xp, input, target, weight, pos_weight = setup(
        input, target=target, weight=weight, pos_weight=pos_weight
    )
    check_reduction(reduction)
    check_same_shape(input, target, "input", "target")
    input, target, weight, pos_weight = promote_floats(xp, input, target, weight, pos_weight)
    ls = log_sigmoid(xp, input)
    if pos_weight is None:
        loss = (1.0 - target) * input - ls
    else:
        loss = (1.0 - target) * input - ((pos_weight - 1.0) * target + 1.0) * ls
    if weight is not None:
        loss = loss * weight
    return reduce(xp, loss, reduction)


# ------------------------------------------------------------------------------------------
# KL divergence
# ------------------------------------------------------------------------------------------


def kl_div(
    input: Any, target: Any, reduction: str = "mean", log_target: bool = False
) -> Any:
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

    Returns
    -------
    array

    References
    ----------
    PyTorch documentation, ``torch.nn.KLDivLoss``; Kullback and Leibler, "On Information and
    Sufficiency", Ann. Math. Statist. 1951.
    """
    xp, input, target = setup(input, target=target)
    check_reduction(reduction, ("none", "batchmean", "mean", "sum"))
    check_broadcastable(input, target, "input", "target")
    input, target = promote_floats(xp, input, target)
    if log_target:
        loss = xp.exp(target) * (target - input)
    else:
        loss = xlogy(xp, target, target) - target * input
    batch = input.shape[0] if input.ndim else 1
    return reduce(xp, loss, reduction, denominator=batch if reduction == "batchmean" else None)
