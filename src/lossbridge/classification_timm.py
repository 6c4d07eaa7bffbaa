"""timm's classification losses: asymmetric loss, soft-target and AugMix cross-entropies, and
timm's label-smoothed binary cross-entropy.

timm (``timm.loss``, 1.0) ships them for PyTorch only; here they run on every backend with
timm's formulas, defaults and numbers. Class axis last (timm's ``dim=-1``), inputs
``(N, C)`` unless a function says otherwise. Each docstring names the timm class it
transcribes and where its conventions differ from the house's or another library's.
"""

from __future__ import annotations

from typing import Any

from lossbridge._inputs import arange_like, promote_floats, setup
from lossbridge._precision import half_precision
from lossbridge._primitives import bce_with_logits, log_sigmoid, log_softmax
from lossbridge._reduction import reduce
from lossbridge._typing import ArrayLike, ArrayT, KLDivReduction, Reduction
from lossbridge._validation import (
    check_class_indices,
    check_denominator,
    check_floating,
    check_int,
    check_integer,
    check_real,
    check_reduction,
    shape_str,
)
from lossbridge.backends import stop_gradient, take_along_axis

__all__ = [
    "asymmetric_loss",
    "asymmetric_loss_single_label",
    "jsd_cross_entropy",
    "smoothed_binary_cross_entropy",
    "soft_target_cross_entropy",
]

_MEANS = ("none", "mean", "sum", "batchmean")


def _check_2d(input: Any, loss: str) -> None:
    if input.ndim != 2:
        raise ValueError(
            f"{loss}: input must have shape (N, C), logits with the classes last; got shape "
            f"{shape_str(input.shape)}"
        )


def _check_dense_target(xp: Any, input: Any, target: Any, loss: str) -> None:
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"{loss}: target has shape {shape_str(target.shape)}; expected the input's shape "
            f"{shape_str(input.shape)} (one target per logit)"
        )
    if not xp.isdtype(target.dtype, ("real floating", "integral", "bool")):
        raise TypeError(f"{loss}: target must be real (0/1 or soft labels); got {target.dtype}")


def _class_vector(xp: Any, value: Any, input: Any, name: str, loss: str) -> Any:
    """``weight`` / ``pos_weight``: None, a Python number, or an array of shape (C,)."""
    if value is None or isinstance(value, float):
        return value
    if tuple(value.shape) not in ((), (input.shape[-1],)):
        raise ValueError(
            f"{loss}: {name} has shape {shape_str(value.shape)}; expected a number or shape "
            f"({input.shape[-1]},), one per class of input {shape_str(input.shape)}"
        )
    check_floating(xp, value, f"{loss}: {name}")
    return value


def _as_float(value: Any, name: str, loss: str) -> Any:
    """A Python number becomes a float (checked); arrays pass through to ``setup``."""
    if value is None or hasattr(value, "shape"):
        return value
    return check_real(value, name, loss=loss, finite=True)


def _smoothing_below_one(value: Any, loss: str) -> float:
    """timm's ``assert 0. <= smoothing < 1.``, as a clear error."""
    s = check_real(value, "label_smoothing", loss=loss, low=0.0, high=1.0)
    if s == 1.0:
        raise ValueError(f"{loss}: label_smoothing must be in [0, 1) (as in timm); got {value!r}")
    return s


def _smooth_binary(target: Any, s: float) -> Any:
    """timm's dense smoothing: each binary target moved towards 0.5, ``t (1 - s) + s / 2``."""
    return target * (1.0 - s) + 0.5 * s


def _batch_size(loss: Any) -> int:
    return int(loss.shape[0]) if loss.ndim else 1


# ------------------------------------------------------------------------------------------
# asymmetric_loss (timm.loss.AsymmetricLossMultiLabel)
# ------------------------------------------------------------------------------------------


@half_precision
def asymmetric_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    gamma_neg: float = 4.0,
    gamma_pos: float = 1.0,
    clip: float | None = 0.05,
    eps: float = 1e-8,
    detach_focal_weight: bool = False,
    label_smoothing: float = 0.0,
    weight: ArrayLike | float | None = None,
    pos_weight: ArrayLike | float | None = None,
    reduction: KLDivReduction = "sum",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Asymmetric loss (ASL) for multi-label classification: timm's
    ``AsymmetricLossMultiLabel``.

    With :math:`p = \sigma(x)`, the shifted negative probability
    :math:`p_- = \min(1 - p + m, 1)` (``clip`` :math:`= m`, "asymmetric clipping") and targets
    :math:`y \in [0, 1]`:

    .. math::

        \ell = -w_c \left[ w^+_c\, y \log \max(p, \epsilon)
        + (1 - y) \log \max(p_-, \epsilon) \right] (1 - p_t)^{\gamma_t},

    .. math::

        p_t = p\, y + p_- (1 - y), \qquad \gamma_t = \gamma_+ y + \gamma_- (1 - y)

    (:math:`w_c` ``weight``, :math:`w^+_c` ``pos_weight``; the focusing factor is 1 when both
    gammas are 0).

    Parameters
    ----------
    input : array, shape (N, C)
        Logits, the classes last.
    target : array, shape (N, C)
        Multi-hot or soft labels in [0, 1].
    gamma_neg, gamma_pos : float, default 4.0 and 1.0
        Focusing exponents of the negative and positive terms, >= 0.
    clip : float or None, default 0.05
        The margin :math:`m` added to :math:`1 - p` (capped at 1); None or 0 turns it off.
    eps : float, default 1e-8
        The probabilities are clamped to at least ``eps`` before the log.
    detach_focal_weight : bool, default False
        No gradient through the focusing factor (timm's ``disable_torch_grad_focal_loss``).
    label_smoothing : float in [0, 1), default 0
        timm's ``smoothing``: each target moved towards 0.5, :math:`y (1 - s) + s / 2`.
    weight : float or array of shape (C,), optional
        A weight per class, multiplying the whole term.
    pos_weight : float or array of shape (C,), optional
        A weight of the positive term per class.
    reduction : {'sum', 'batchmean', 'mean', 'none'}, default 'sum'
        ``'sum'`` (the default: the ASL paper's and timm 1.0.3's only reduction) sums over batch
        and classes; ``'batchmean'`` (timm 1.0.31's default) divides that sum by N; ``'mean'`` by
        N C; ``'none'`` keeps the (N, C) terms.
    denominator : float or 0-d array, optional
        For ``'mean'`` and ``'batchmean'``: divide the sum by this instead of the mean's own
        count (N C, or N). Pass the count summed over shards
        (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full batch's.

    Returns
    -------
    array
        0-d, or (N, C) for ``'none'``.

    Notes
    -----
    **timm sums.** timm up to 1.0.2x returns ``-loss.sum()``, a loss that grows with the batch
    size (so does the ASL authors' code); timm 1.0.31 added ``reduction`` with default
    ``'batchmean'``. The default here is the sum, so that ``asymmetric_loss(x, y)`` is the number
    the paper's and most copied code gives; pass ``reduction='batchmean'`` for timm 1.0.31's.
    Where timm computes :math:`1 - \sigma(x)` by subtraction, here it is :math:`\sigma(-x)`,
    computed from :math:`\log\sigma(-x)`: the same value, without the cancellation for large
    :math:`x` (timm's float32 ``1 - sigmoid(x)`` is 0 from :math:`x \approx 17`, clamped to
    ``eps``). timm computes in float32 for half inputs; so does this function (the house's
    half-precision rule).

    References
    ----------
    Ridnik, Ben-Baruch, Zamir, Noy, Friedman, Protter and Zelnik-Manor, "Asymmetric Loss For
    Multi-Label Classification", ICCV 2021, arXiv:2009.14119. timm 1.0
    ``timm/loss/asymmetric_loss.py``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([[2.0, -1.0, 0.5], [-3.0, 0.0, 4.0]])
    >>> y = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    >>> p = 1 / (1 + np.exp(-x))
    >>> p_neg = np.minimum(1 - p + 0.05, 1.0)
    >>> p_t = p * y + p_neg * (1 - y)
    >>> terms = (y * np.log(p) + (1 - y) * np.log(p_neg)) * (1 - p_t) ** (1 * y + 4 * (1 - y))
    >>> bool(np.isclose(lb.asymmetric_loss(x, y), -terms.sum()))
    True
    >>> bool(np.isclose(lb.asymmetric_loss(x, y, reduction="batchmean"), -terms.sum() / 2))
    True
    """
    name = "asymmetric_loss"
    gamma_neg = check_real(gamma_neg, "gamma_neg", loss=name, what="focusing exponent", low=0.0)
    gamma_pos = check_real(gamma_pos, "gamma_pos", loss=name, what="focusing exponent", low=0.0)
    margin = 0.0 if clip is None else check_real(clip, "clip", loss=name, low=0.0, high=1.0)
    eps = check_real(eps, "eps", loss=name, what="the smallest probability logged", low=0.0)
    s = _smoothing_below_one(label_smoothing, name)
    if not isinstance(detach_focal_weight, bool):
        raise TypeError(f"{name}: detach_focal_weight must be a bool; got {detach_focal_weight!r}")
    check_reduction(reduction, _MEANS)
    over = check_denominator(denominator, reduction, loss=name, means=("mean", "batchmean"))
    weight = _as_float(weight, "weight", name)
    pos_weight = _as_float(pos_weight, "pos_weight", name)
    xp, input, target, weight, pos_weight = _setup_weights(input, target, weight, pos_weight)
    _check_2d(input, name)
    _check_dense_target(xp, input, target, name)
    weight = _class_vector(xp, weight, input, "weight", name)
    pos_weight = _class_vector(xp, pos_weight, input, "pos_weight", name)
    input, target, weight, pos_weight = promote_floats(xp, input, target, weight, pos_weight)
    y = _smooth_binary(target, s) if s > 0.0 else target

    p = xp.exp(log_sigmoid(xp, input))
    p_neg = xp.exp(log_sigmoid(xp, -input))
    if margin > 0.0:
        shifted = p_neg + margin
        p_neg = xp.where(shifted > 1.0, xp.ones_like(shifted), shifted)  # clamp(max=1)
    log_pos = xp.log(_clamp_min(xp, p, eps))
    log_neg = xp.log(_clamp_min(xp, p_neg, eps))
    pos_term = y * log_pos if pos_weight is None else y * log_pos * pos_weight
    loss = pos_term + (1.0 - y) * log_neg
    if gamma_neg > 0.0 or gamma_pos > 0.0:
        p_t = p * y + p_neg * (1.0 - y)
        focus = _pow(xp, 1.0 - p_t, gamma_pos * y + gamma_neg * (1.0 - y))
        loss = loss * (stop_gradient(focus) if detach_focal_weight else focus)
    loss = -loss
    if weight is not None:
        loss = loss * weight
    if reduction == "batchmean":
        return reduce(xp, loss, reduction, denominator=_batch_size(loss), override=over)
    return reduce(xp, loss, reduction, override=over)


def _setup_weights(input: Any, target: Any, weight: Any, pos_weight: Any) -> tuple[Any, ...]:
    """:func:`setup` of the arrays among ``weight``/``pos_weight``; numbers stay floats (weak)."""
    w = None if isinstance(weight, float) else weight
    pw = None if isinstance(pos_weight, float) else pos_weight
    xp, input, target, w, pw = setup(input, target=target, weight=w, pos_weight=pw)
    return (
        xp,
        input,
        target,
        weight if isinstance(weight, float) else w,
        pos_weight if isinstance(pos_weight, float) else pw,
    )


def _clamp_min(xp: Any, x: Any, low: float) -> Any:
    """torch's ``clamp(min=low)``: the gradient passes where ``x >= low``; NaN stays NaN."""
    return xp.where(x < low, xp.full_like(x, low), x)


def _pow(xp: Any, base: Any, exponent: Any) -> Any:
    """``base ** exponent`` for ``base >= 0``: ``0 ** e`` is 0 (1 for ``e == 0``), with a
    finite gradient (0) there, whatever ``e``; a NaN base gives NaN (as torch's ``pow``)."""
    zero = base <= 0
    safe = xp.where(zero, xp.ones_like(base), base)
    at_zero = xp.where(exponent == 0, xp.ones_like(base), xp.zeros_like(base))
    return xp.where(zero, at_zero, xp.pow(safe, exponent))


# ------------------------------------------------------------------------------------------
# asymmetric_loss_single_label (timm.loss.AsymmetricLossSingleLabel)
# ------------------------------------------------------------------------------------------


def _index_target(xp: Any, input: Any, target: Any, n: int, loss: str) -> Any:
    """Class indices of shape (n,), in [0, C)."""
    check_integer(xp, target, "target", "class indices")
    if tuple(target.shape) != (n,):
        raise ValueError(
            f"{loss}: target has shape {shape_str(target.shape)}; expected class indices of "
            f"shape ({n},) for input {shape_str(input.shape)}"
        )
    check_class_indices(xp, target, int(input.shape[-1]), None)
    return target


def _one_hot(xp: Any, target: Any, input: Any) -> Any:
    """Boolean (N, C): ``True`` at each row's class."""
    classes = arange_like(xp, int(input.shape[-1]), target)
    return xp.expand_dims(target, axis=1) == xp.expand_dims(classes, axis=0)


@half_precision
def asymmetric_loss_single_label(
    input: ArrayT,
    target: ArrayLike,
    *,
    gamma_pos: float = 1.0,
    gamma_neg: float = 4.0,
    label_smoothing: float = 0.1,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Asymmetric loss on the softmax (single-label): timm's ``AsymmetricLossSingleLabel``.

    With :math:`p = \mathrm{softmax}(x)` over the classes, the label :math:`y_n` and the
    smoothed one-hot target :math:`t_c = (1 - s)[c = y_n] + s / C`:

    .. math::

        \ell_n = -\sum_c t_c\, w_c \log p_c, \qquad
        w_c = \begin{cases} (1 - p_c)^{\gamma_+} & c = y_n \\ p_c^{\gamma_-} & c \ne y_n
        \end{cases}

    Parameters
    ----------
    input : array, shape (N, C)
        Logits, the classes last.
    target : integer array, shape (N,)
        Class indices in [0, C).
    gamma_pos, gamma_neg : float, default 1.0 and 4.0
        Focusing exponents of the label's term and of the other classes' terms, >= 0.
    label_smoothing : float in [0, 1], default 0.1
        timm's ``eps`` (its default too): the weight :math:`s` of the uniform distribution.
    reduction : {'mean', 'sum', 'none'}
        ``'mean'`` averages the per-row sums over N; ``'none'`` returns them, shape (N,).
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of N. Pass the count summed
        over shards (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the
        full batch's mean.

    Returns
    -------
    array
        0-d, or (N,) for ``'none'``.

    Notes
    -----
    The weights :math:`w_c` keep their gradient, as in timm (unlike ``asymmetric_loss``'s
    ``detach_focal_weight``). The smoothing is applied after the focusing: the smoothing mass
    :math:`s / C` of each wrong class is scaled by :math:`p_c^{\gamma_-}`, so with the default
    :math:`\gamma_- = 4` it has almost no effect. timm writes :math:`w_c` as
    ``pow(1 - xs_pos - xs_neg, ...)`` with ``xs_neg = 1 - p``, so a wrong class's base
    :math:`1 - (1 - p_c)` loses the digits of :math:`p_c` below float32's epsilon; here it is
    :math:`p_c^{\gamma_-} = e^{\gamma_- \log p_c}` and the label's :math:`1 - p` is
    :math:`-\mathrm{expm1}(\log p)`. timm's ``reduction`` other than ``'mean'`` returns the
    per-row losses (``'none'`` here); ``'sum'`` is added.

    References
    ----------
    Ridnik et al., "Asymmetric Loss For Multi-Label Classification", ICCV 2021,
    arXiv:2009.14119. timm 1.0 ``timm/loss/asymmetric_loss.py``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([[2.0, -1.0, 0.5], [-3.0, 0.0, 4.0]])
    >>> y = np.array([0, 1])
    >>> p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    >>> hot = np.eye(3)[y]
    >>> w = np.where(hot == 1, (1 - p) ** 1, p**4)
    >>> t = hot * 0.9 + 0.1 / 3
    >>> bool(np.isclose(lb.asymmetric_loss_single_label(x, y), -(t * w * np.log(p)).sum(1).mean()))
    True
    """
    name = "asymmetric_loss_single_label"
    gamma_pos = check_real(gamma_pos, "gamma_pos", loss=name, what="focusing exponent", low=0.0)
    gamma_neg = check_real(gamma_neg, "gamma_neg", loss=name, what="focusing exponent", low=0.0)
    s = check_real(label_smoothing, "label_smoothing", loss=name, low=0.0, high=1.0)
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss=name)
    xp, input, target = setup(input, target=target)
    _check_2d(input, name)
    target = _index_target(xp, input, target, int(input.shape[0]), name)
    n_classes = int(input.shape[-1])
    log_p = log_softmax(xp, input, 1)
    hot = _one_hot(xp, target, input)
    label_base = -xp.expm1(log_p)  # 1 - p, for the label's class
    w = xp.where(
        hot,
        _pow(xp, label_base, xp.full_like(label_base, gamma_pos)),
        xp.exp(gamma_neg * log_p),
    )
    t = xp.astype(hot, input.dtype)
    if s > 0.0:
        t = t * (1.0 - s) + s / n_classes
    loss = -xp.sum(t * w * log_p, axis=1)
    return reduce(xp, loss, reduction, override=over)


# ------------------------------------------------------------------------------------------
# soft_target_cross_entropy (timm.loss.SoftTargetCrossEntropy)
# ------------------------------------------------------------------------------------------


@half_precision
def soft_target_cross_entropy(
    input: ArrayT,
    target: ArrayLike,
    *,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Cross-entropy with soft (mixup/cutmix) targets: timm's ``SoftTargetCrossEntropy``.

    .. math::

        \ell_n = -\sum_c t_{n,c} \log \mathrm{softmax}(x_n)_c

    over the last axis; ``'mean'`` averages over every other axis.

    Parameters
    ----------
    input : array, shape (..., C)
        Logits, the classes last (at least 1-D).
    target : array, the input's shape
        Class probabilities (mixup/cutmix mixtures of one-hot rows, smoothed labels); not
        checked to sum to 1, as in timm.
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the number of rows (the
        product of the leading dimensions). Pass the count summed over shards
        (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full batch's
        mean.

    Returns
    -------
    array
        0-d, or the leading shape for ``'none'``.

    Notes
    -----
    On (N, C) inputs this is :func:`cross_entropy` with probability targets. The classes are
    the last axis here (timm's ``dim=-1``), the second in ``cross_entropy`` (torch's): on
    (N, C, H, W) the two are different losses.

    References
    ----------
    Zhang, Cisse, Dauphin and Lopez-Paz, "mixup: Beyond Empirical Risk Minimization", ICLR
    2018; Yun et al., "CutMix", ICCV 2019. timm 1.0 ``timm/loss/cross_entropy.py``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([[2.0, -1.0, 0.5], [-3.0, 0.0, 4.0]])
    >>> t = 0.7 * np.eye(3)[[0, 1]] + 0.3 * np.eye(3)[[2, 0]]  # mixup, lambda = 0.7
    >>> log_p = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    >>> bool(np.isclose(lb.soft_target_cross_entropy(x, t), -(t * log_p).sum(1).mean()))
    True
    """
    name = "soft_target_cross_entropy"
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss=name)
    xp, input, target = setup(input, target=target)
    if input.ndim < 1:
        raise ValueError(f"{name}: input must be at least 1-D (..., C); got a 0-d array")
    _check_dense_target(xp, input, target, name)
    input, target = promote_floats(xp, input, target)
    loss = -xp.sum(target * log_softmax(xp, input, input.ndim - 1), axis=-1)
    return reduce(xp, loss, reduction, override=over)


# ------------------------------------------------------------------------------------------
# smoothed_binary_cross_entropy (timm.loss.BinaryCrossEntropy)
# ------------------------------------------------------------------------------------------


@half_precision
def smoothed_binary_cross_entropy(
    input: ArrayT,
    target: ArrayLike,
    *,
    label_smoothing: float = 0.1,
    target_threshold: float | None = None,
    smooth_dense: bool = False,
    weight: ArrayLike | float | None = None,
    pos_weight: ArrayLike | float | None = None,
    reduction: KLDivReduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Binary cross-entropy with logits on label-smoothed one-hot targets: timm's
    ``BinaryCrossEntropy`` (C independent sigmoids trained on a single-label dataset).

    Class-index targets :math:`y_n` become the rows :math:`t_{n,c} = s / C` (off) and
    :math:`t_{n,y_n} = 1 - s + s / C` (on); then, as
    ``binary_cross_entropy_with_logits``,

    .. math::

        \ell_{n,c} = -w_c \left[ w^+_c\, t_{n,c} \log \sigma(x_{n,c})
        + (1 - t_{n,c}) \log (1 - \sigma(x_{n,c})) \right].

    Parameters
    ----------
    input : array, shape (N, C)
        Logits.
    target : array, shape (N,) or (N, C)
        Class indices (integer), expanded to smoothed one-hot rows; or dense targets of the
        input's shape (mixup/cutmix rows, multi-hot labels), used as they are unless
        ``smooth_dense``.
    label_smoothing : float in [0, 1), default 0.1
        timm's ``smoothing`` (and its default).
    target_threshold : float, optional
        Binarise the (smoothed) targets: 1 where ``t > target_threshold``, else 0.
    smooth_dense : bool, default False
        Smooth dense targets too, towards 0.5: :math:`t (1 - s) + s / 2`.
    weight : float or array of shape (C,), optional
        A weight per class (torch's ``weight``; the mean still divides by N C).
    pos_weight : float or array of shape (C,), optional
        The weight of the positive term per class (torch's ``pos_weight``).
    reduction : {'mean', 'sum', 'batchmean', 'none'}
        ``'mean'`` over the N C terms; ``'batchmean'`` sums over the classes and averages over
        the batch (timm's ``sum_classes=True``); ``'none'`` keeps (N, C).
    denominator : float or 0-d array, optional
        For ``'mean'`` and ``'batchmean'``: divide the sum by this instead of N C (or N). Pass
        the count summed over shards (:func:`lossbridge.mean_denominator`) and the shards'
        losses add up to the full batch's mean.

    Returns
    -------
    array
        0-d, or (N, C) for ``'none'``.

    Notes
    -----
    **Two conventions.** timm spreads the smoothing over the C classes, as softmax
    cross-entropy's label smoothing does: off :math:`= s / C`, on :math:`= 1 - s + s / C`.
    Keras's ``binary_crossentropy(label_smoothing=s)`` (and ``smooth_dense`` here) moves each
    binary target towards 0.5: off :math:`= s / 2`, on :math:`= 1 - s / 2`. For ImageNet
    (C = 1000, s = 0.1): timm's targets are 0.0001 and 0.9001, Keras's 0.05 and 0.95. A
    separate function rather than an option of :func:`binary_cross_entropy_with_logits`:
    that one is torch's, with dense targets only and no smoothing, and its signature stays
    torch's.

    References
    ----------
    Wightman, Touvron and Jégou, "ResNet strikes back: An improved training procedure in timm",
    2021, arXiv:2110.00476 (BCE for ImageNet). timm 1.0 ``timm/loss/binary_cross_entropy.py``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([[2.0, -1.0, 0.5, 0.0], [-3.0, 0.0, 4.0, 1.0]])
    >>> y = np.array([0, 2])
    >>> t = np.full((2, 4), 0.1 / 4)
    >>> t[[0, 1], y] = 1 - 0.1 + 0.1 / 4
    >>> bce = np.logaddexp(0, x) - t * x  # -t log(sigmoid x) - (1 - t) log(1 - sigmoid x)
    >>> bool(np.isclose(lb.smoothed_binary_cross_entropy(x, y), bce.mean()))
    True
    """
    name = "smoothed_binary_cross_entropy"
    s = _smoothing_below_one(label_smoothing, name)
    threshold = None
    if target_threshold is not None:
        threshold = check_real(target_threshold, "target_threshold", loss=name, finite=True)
    if not isinstance(smooth_dense, bool):
        raise TypeError(f"{name}: smooth_dense must be a bool; got {smooth_dense!r}")
    check_reduction(reduction, _MEANS)
    over = check_denominator(denominator, reduction, loss=name, means=("mean", "batchmean"))
    weight = _as_float(weight, "weight", name)
    pos_weight = _as_float(pos_weight, "pos_weight", name)
    xp, input, target, weight, pos_weight = _setup_weights(input, target, weight, pos_weight)
    _check_2d(input, name)
    weight = _class_vector(xp, weight, input, "weight", name)
    pos_weight = _class_vector(xp, pos_weight, input, "pos_weight", name)
    if tuple(target.shape) != tuple(input.shape):
        target = _index_target(xp, input, target, int(input.shape[0]), name)
        off = s / int(input.shape[-1])
        on = 1.0 - s + off
        hot = _one_hot(xp, target, input)
        target = xp.where(hot, xp.full_like(input, on), xp.full_like(input, off))
    else:
        _check_dense_target(xp, input, target, name)
        input, target = promote_floats(xp, input, target)
        if smooth_dense and s > 0.0:
            target = _smooth_binary(target, s)
    if threshold is not None:
        target = xp.astype(target > threshold, input.dtype)
    input, target, weight, pos_weight = promote_floats(xp, input, target, weight, pos_weight)
    loss = bce_with_logits(xp, input, stop_gradient(target), pos_weight)
    if weight is not None:
        loss = loss * weight
    if reduction == "batchmean":
        return reduce(xp, loss, reduction, denominator=_batch_size(loss), override=over)
    return reduce(xp, loss, reduction, override=over)


# ------------------------------------------------------------------------------------------
# jsd_cross_entropy (timm.loss.JsdCrossEntropy)
# ------------------------------------------------------------------------------------------


@half_precision
def jsd_cross_entropy(
    input: ArrayT,
    target: ArrayLike,
    *,
    num_splits: int = 3,
    alpha: float = 12.0,
    label_smoothing: float = 0.1,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Cross-entropy plus the Jensen-Shannon consistency loss of AugMix: timm's
    ``JsdCrossEntropy``.

    ``input`` stacks K = ``num_splits`` views of a batch of B images: the clean images first,
    then K - 1 augmented copies, ``(K B, C)``. With :math:`p^k = \mathrm{softmax}(x^k)` and the
    mixture :math:`M = \mathrm{clip}(\frac1K \sum_k p^k, 10^{-7}, 1)`:

    .. math::

        \ell_n = \mathrm{CE}_s(x^1_n, y_n)
        + \frac{\alpha}{K} \sum_k \sum_c p^k_{n,c} (\log p^k_{n,c} - \log M_{n,c})

    where :math:`\mathrm{CE}_s` is the label-smoothed cross-entropy of the clean view,
    :math:`-(1 - s) \log p^1_{n,y_n} - \frac{s}{C} \sum_c \log p^1_{n,c}`.

    Parameters
    ----------
    input : array, shape (K B, C)
        Logits of the K views, the clean one first (``torch.cat`` of the splits).
    target : integer array, shape (B,) or (K B,)
        Class indices in [0, C); only the first B (the clean view's) are read, as in timm.
    num_splits : int, default 3
        K, which must divide the batch.
    alpha : float, default 12.0
        The weight of the consistency term.
    label_smoothing : float in [0, 1], default 0.1
        timm's ``smoothing``: 0 gives torch's plain cross-entropy, as in timm.
    reduction : {'mean', 'sum', 'none'}
        ``'mean'`` (timm's) averages over the B clean images; ``'none'`` returns each image's
        term, shape (B,); ``'sum'`` their sum.
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide by this instead of B. Pass the count summed over shards
        (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full batch's
        mean.

    Returns
    -------
    array
        0-d, or (B,) for ``'none'``.

    Notes
    -----
    timm averages the K Kullback-Leibler divergences :math:`\mathrm{KL}(p^k \| M)` (each
    ``kl_div(log M, p^k, reduction='batchmean')``), so that the term is
    :math:`\alpha` times the generalised Jensen-Shannon divergence; the clamp of :math:`M` at
    :math:`10^{-7}` keeps :math:`\log M` finite. Gradients flow into every view through both
    :math:`p^k` and :math:`M`, as in timm. The per-image split (``'none'``) is this library's:
    both of timm's terms are means over the same B images.

    References
    ----------
    Hendrycks, Mu, Cubuk, Zoph, Gilmer and Lakshminarayanan, "AugMix: A Simple Data Processing
    Method to Improve Robustness and Uncertainty", ICLR 2020, arXiv:1912.02781. timm 1.0
    ``timm/loss/jsd.py``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> rng = np.random.default_rng(0)
    >>> x = rng.standard_normal((6, 4))  # K = 3 views of B = 2 images
    >>> y = np.array([1, 3])
    >>> log_p = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    >>> p = np.exp(log_p).reshape(3, 2, 4)
    >>> log_m = np.log(np.clip(p.mean(axis=0), 1e-7, 1))
    >>> ce = -(0.9 * log_p[[0, 1], y] + 0.1 / 4 * log_p[:2].sum(1))
    >>> kl = (p * (np.log(p) - log_m)).sum(axis=(0, 2)) / 3
    >>> bool(np.isclose(lb.jsd_cross_entropy(x, y), (ce + 12 * kl).mean()))
    True
    """
    name = "jsd_cross_entropy"
    k = check_int(num_splits, "num_splits", what="the number of views")
    if k < 1:
        raise ValueError(f"{name}: num_splits must be >= 1 (the number of views); got {k}")
    alpha = check_real(alpha, "alpha", loss=name, what="the consistency weight", finite=True)
    s = check_real(label_smoothing, "label_smoothing", loss=name, low=0.0, high=1.0)
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss=name)
    xp, input, target = setup(input, target=target)
    _check_2d(input, name)
    n, c = int(input.shape[0]), int(input.shape[1])
    if n % k:
        raise ValueError(
            f"{name}: input has {n} rows, which num_splits={k} does not divide; expected "
            f"num_splits views of the same batch stacked along axis 0"
        )
    b = n // k
    check_integer(xp, target, "target", "class indices")
    if target.ndim != 1 or int(target.shape[0]) not in (b, n):
        raise ValueError(
            f"{name}: target has shape {shape_str(target.shape)}; expected class indices of "
            f"shape ({b},) (the clean view's) or ({n},), for input {shape_str(input.shape)} "
            f"with num_splits={k}"
        )
    target = _index_target(xp, input, target[:b], b, name)
    log_p = xp.reshape(log_softmax(xp, input, 1), (k, b, c))
    clean = log_p[0, ...]
    picked = xp.squeeze(take_along_axis(xp, clean, xp.expand_dims(target, axis=1), 1), axis=1)
    ce = -(1.0 - s) * picked - (s / c) * xp.sum(clean, axis=1)
    p = xp.exp(log_p)
    mixture = xp.mean(p, axis=0)
    mixture = xp.where(mixture > 1.0, xp.ones_like(mixture), _clamp_min(xp, mixture, 1e-7))
    kl = xp.sum(p * (log_p - xp.log(mixture)), axis=(0, 2))
    return reduce(xp, ce + (alpha / k) * kl, reduction, override=over)
