r"""The TensorFlow Addons dialect: ``tfa.losses`` of TF Addons 0.23, same names and numbers.

TensorFlow Addons reached end of life with 0.23 and does not install with TensorFlow >= 2.16
(tensorflow/addons#2859, tensorflow/similarity#370). This module gives its users the classes
and functions of ``tfa.losses`` with TFA's names, parameters, defaults, argument order
``(y_true, y_pred)`` and numbers, computed by the lossbridge core on NumPy, torch, JAX,
TensorFlow or array-api-strict arrays (eager and compiled). ``import lossbridge.tfa`` imports
no framework, not even Keras. Replace ``tfa.losses.X`` by ``lossbridge.tfa.X``
(``docs/porting.md``, "TensorFlow Addons"; ``docs/tfa.md`` has every loss).

The classes are Keras 3 losses (:class:`lossbridge.keras.LossFunctionWrapper`): once
``keras`` is imported an instance is a ``keras.losses.Loss`` whatever the import order, so
``model.compile(loss=lossbridge.tfa.GIoULoss())`` reduces with Keras's sample weights; they
are registered for Keras serialization as ``"lossbridge>tfa.<Name>"`` (functions:
``"lossbridge>tfa.<name>"``), apart from ``lossbridge.keras``'s ``"lossbridge>Name"``, and
``keras.models.load_model`` needs no ``custom_objects`` where ``lossbridge.tfa`` is imported.

Reductions. TFA passed ``reduction=tf.keras.losses.Reduction.X`` (Keras 2). Keras 2's enum
values are the strings ``'auto'``, ``'none'``, ``'sum'`` and ``'sum_over_batch_size'``; they
are accepted here (in any case: ``'SUM_OVER_BATCH_SIZE'`` too) with Keras 3's ``'mean'``,
``'mean_with_sample_weight'`` and ``None``. ``'auto'`` is Keras 2's
``'sum_over_batch_size'`` outside a ``tf.distribute`` strategy and is stored as that (a
saved config holds ``'sum_over_batch_size'``). Each class keeps TFA's default:
``SigmoidFocalCrossEntropy`` and ``WeightedKappaLoss`` default to ``'none'``, ``GIoULoss`` and
``PinballLoss`` to ``'auto'``, ``ContrastiveLoss`` and ``SparsemaxLoss`` to
``'sum_over_batch_size'``. Sample weights and reductions are Keras 3's
(:class:`lossbridge.keras.Loss`).

Differences from TFA 0.23, each written where it applies (``docs/tfa.md`` has the numbers):

* **dtype.** As every :mod:`lossbridge.keras` class: the compute dtype is ``dtype`` (a new
  keyword-only argument; default ``keras.config.floatx()``, float32), except that a float64
  prediction stays float64; float16/bfloat16 compute in float32 and round once. TFA computed
  in the prediction's dtype (``WeightedKappaLoss`` in ``floatx()``).
* **Shapes.** As Keras 3's ``LossFunctionWrapper``, ``(N,)`` against ``(N, 1)`` is aligned
  first (TFA's wrapper broadcast them to ``(N, N)``).
* **Python hyperparameters in float64.** TFA's ``tf.cast(tau, y_pred.dtype)`` (pinball) and
  ``tf.cast(alpha, ...)`` (focal) made a Python float a float32 tensor first, so its float64
  losses used ``float32(0.1)`` for ``tau=0.1`` (about 1e-9 relative); here the value is exact.
* **Errors.** Bad arguments raise ``ValueError``/``TypeError`` naming the loss and the
  argument (TFA's ``typeguard`` raised ``TypeError`` for wrong types only).
"""

from __future__ import annotations

import inspect
import sys
import warnings
from collections.abc import Callable
from typing import Any, ClassVar

from lossbridge._inputs import arange_like, hyper_on
from lossbridge._primitives import clamp_min0
from lossbridge._typing import ArrayLike, ArrayT
from lossbridge._validation import (
    check_array_like,
    check_int,
    check_real,
    check_real_or_array,
    name_public_errors,
    shape_str,
)
from lossbridge.backends import asarray_on, framework_name, get_namespace, is_half
from lossbridge.detection import sigmoid_focal_loss
from lossbridge.keras import (
    EPSILON,
    DTypeLike,
    LossFunctionWrapper,
    Reduction,
    _clip,
    _divide_no_nan,
    _dtype_name,
    _keras_compatible,
    _prep,
    _round,
    _round_to,
    _size,
    squeeze_or_expand_to_same_rank,
)
from lossbridge.optax import _projection_simplex

__all__ = [
    "ContrastiveLoss",
    "GIoULoss",
    "LiftedStructLoss",
    "NpairsLoss",
    "NpairsMultilabelLoss",
    "PinballLoss",
    "SigmoidFocalCrossEntropy",
    "SparsemaxLoss",
    "TripletHardLoss",
    "TripletSemiHardLoss",
    "WeightedKappaLoss",
    "contrastive_loss",
    "giou_loss",
    "lifted_struct_loss",
    "npairs_loss",
    "npairs_multilabel_loss",
    "pinball_loss",
    "sigmoid_focal_crossentropy",
    "sparsemax",
    "sparsemax_loss",
    "triplet_hard_loss",
    "triplet_semihard_loss",
    "weighted_kappa_loss",
]

_MODES = ("giou", "iou")
_WEIGHTAGES = ("quadratic", "linear")

#: The Keras serialization package: ``"lossbridge>tfa.ContrastiveLoss"``.
PACKAGE = "lossbridge"
#: The prefix of the registered names, apart from :mod:`lossbridge.keras`'s.
PREFIX = "tfa."

#: Keras 2's ``tf.keras.losses.Reduction`` values (TFA's defaults) and Keras 3's reductions,
#: to the Keras 3 reduction each one is.
_REDUCTIONS: dict[str | None, Reduction] = {
    "auto": "sum_over_batch_size",
    "sum_over_batch_size": "sum_over_batch_size",
    "sum": "sum",
    "none": "none",
    "mean": "mean",
    "mean_with_sample_weight": "mean_with_sample_weight",
    None: None,
}


def tfa_reduction(reduction: object, loss: str) -> Reduction:
    """The Keras 3 reduction of a TFA ``reduction`` argument.

    Parameters
    ----------
    reduction : str or None
        A Keras 2 ``tf.keras.losses.Reduction`` value (``'auto'``, ``'none'``, ``'sum'``,
        ``'sum_over_batch_size'``, in any case) or a Keras 3 reduction (``'mean'``,
        ``'mean_with_sample_weight'``, None).
    loss : str
        The class, for the error.

    Returns
    -------
    str or None
        ``'auto'`` gives ``'sum_over_batch_size'`` (Keras 2's meaning outside a
        ``tf.distribute`` strategy); the others are themselves, lower-cased.
    """
    key = reduction.lower() if isinstance(reduction, str) else reduction
    if not (key is None or isinstance(key, str)) or key not in _REDUCTIONS:
        raise ValueError(
            f"{loss}: invalid value for argument `reduction`: reduction={reduction!r}; "
            "expected one of 'auto', 'none', 'sum', 'sum_over_batch_size' (Keras 2's "
            "tf.keras.losses.Reduction, any case), 'mean', 'mean_with_sample_weight' or None"
        )
    return _REDUCTIONS[key]


class TFALoss(LossFunctionWrapper):
    """Base class of the TFA-dialect classes: a :class:`lossbridge.keras.LossFunctionWrapper`
    with TFA's reductions (:func:`tfa_reduction`) and serialization names.

    A subclass sets ``_impl`` to ``staticmethod(f)`` with ``f(xp, y_true, y_pred, **kwargs)``
    returning ``(per_sample_loss, None)`` on arrays already in the compute dtype (float32 for
    half inputs), and passes its public function and TFA's constructor arguments to
    ``super().__init__(fn, reduction=..., name=..., dtype=..., **kwargs)``; the keyword
    arguments are its config. ``_labels = True`` makes ``y_true`` int64 class labels;
    ``_align = False`` skips Keras's ``(N,)``/``(N, 1)`` alignment (embeddings against labels).

    Parameters
    ----------
    fn : callable
        The public function ``fn(y_true, y_pred, **kwargs)`` (per-sample losses).
    reduction : str or None
        :func:`tfa_reduction`'s values.
    name : str, optional
    dtype : str, keras.DTypePolicy or dtype, optional
        As :class:`lossbridge.keras.Loss`.
    **kwargs
        The loss's hyperparameters, passed to ``_impl`` (and kept in the config).
    """

    #: Whether ``(N,)`` against ``(N, 1)`` is aligned first (Keras 3's wrapper does it).
    _align: ClassVar[bool] = True

    def __init__(
        self,
        fn: Callable[..., Any],
        reduction: object = "sum_over_batch_size",
        name: str | None = None,
        dtype: DTypeLike = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            fn,
            reduction=tfa_reduction(reduction, type(self).__name__),
            name=name,
            dtype=dtype,
            **kwargs,
        )

    def _call_masked(self, xp: Any, y_true: Any, y_pred: Any, half: Any) -> tuple[Any, Any]:
        impl = type(self)._impl
        if impl is None:
            return super()._call_masked(xp, y_true, y_pred, half)
        if self._align:
            y_true, y_pred = squeeze_or_expand_to_same_rank(xp, y_true, y_pred)
        return impl(xp, y_true, y_pred, **self._fn_kwargs)

    def __repr__(self) -> str:
        return f"<lossbridge.tfa.{type(self).__name__} name={self.name!r}>"


def _function(
    impl: Callable[..., Any],
    y_true: Any,
    y_pred: Any,
    *,
    labels: bool = False,
    align: bool = False,
    **kwargs: Any,
) -> Any:
    """A TFA function's per-sample loss in ``y_pred``'s dtype (float32 for non-float
    predictions): half inputs compute in float32 and round once."""
    xp, y_true, y_pred, half = _prep(y_true, y_pred, labels=labels)
    if align:
        y_true, y_pred = squeeze_or_expand_to_same_rank(xp, y_true, y_pred)
    return _round(xp, impl(xp, y_true, y_pred, **kwargs)[0], half)


# ------------------------------------------------------------------------------------------
# Argument checks
# ------------------------------------------------------------------------------------------


def _flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool; got {value!r}")
    return value


def _choice(value: object, name: str, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"invalid value for argument `{name}`: {name}={value!r}; expected one of "
            + ", ".join(repr(c) for c in choices)
        )
    return value


def _real(value: object, name: str, loss: str, what: str, low: float | None = None) -> float:
    return check_real(value, name, loss=f"tfa.{loss}", what=what, finite=True, low=low)


def _shape_error(what: str, *arrays: tuple[str, Any]) -> ValueError:
    got = " and ".join(f"{n} of shape {shape_str(a.shape)}" for n, a in arrays)
    return ValueError(f"expected {what}; got {got}")


# ------------------------------------------------------------------------------------------
# Per-sample implementations: (xp, y_true, y_pred, **hyperparameters) -> (loss, None), on
# arrays in the compute dtype (float32 for half inputs)
# ------------------------------------------------------------------------------------------


def _contrastive(xp: Any, y_true: Any, y_pred: Any, margin: float = 1.0) -> tuple[Any, Any]:
    """``y_true * square(y_pred) + (1 - y_true) * square(maximum(margin - y_pred, 0))``."""
    return y_true * y_pred**2 + (1.0 - y_true) * clamp_min0(xp, margin - y_pred) ** 2, None


def _unstack4(xp: Any, boxes: Any) -> tuple[Any, Any, Any, Any]:
    return boxes[..., 0], boxes[..., 1], boxes[..., 2], boxes[..., 3]


def _giou(xp: Any, y_true: Any, y_pred: Any, mode: str = "giou") -> tuple[Any, Any]:
    """TFA's ``_calculate_giou(y_pred, y_true, mode)``: sides clamped at 0, ``divide_no_nan``
    for both ratios; then ``1 - tf.squeeze(giou)``."""
    if y_pred.ndim == 0 or y_pred.shape[-1] != 4 or tuple(y_true.shape) != tuple(y_pred.shape):
        raise _shape_error(
            "boxes of the same shape (..., 4), [y_min, x_min, y_max, x_max]",
            ("y_true", y_true),
            ("y_pred", y_pred),
        )
    b1_ymin, b1_xmin, b1_ymax, b1_xmax = _unstack4(xp, y_pred)
    b2_ymin, b2_xmin, b2_ymax, b2_xmax = _unstack4(xp, y_true)
    b1_area = clamp_min0(xp, b1_xmax - b1_xmin) * clamp_min0(xp, b1_ymax - b1_ymin)
    b2_area = clamp_min0(xp, b2_xmax - b2_xmin) * clamp_min0(xp, b2_ymax - b2_ymin)
    intersect_h = clamp_min0(xp, xp.minimum(b1_ymax, b2_ymax) - xp.maximum(b1_ymin, b2_ymin))
    intersect_w = clamp_min0(xp, xp.minimum(b1_xmax, b2_xmax) - xp.maximum(b1_xmin, b2_xmin))
    intersect_area = intersect_w * intersect_h
    union_area = b1_area + b2_area - intersect_area
    giou = _divide_no_nan(xp, intersect_area, union_area)
    if mode == "giou":
        enclose_h = clamp_min0(xp, xp.maximum(b1_ymax, b2_ymax) - xp.minimum(b1_ymin, b2_ymin))
        enclose_w = clamp_min0(xp, xp.maximum(b1_xmax, b2_xmax) - xp.minimum(b1_xmin, b2_xmin))
        enclose_area = enclose_w * enclose_h
        giou = giou - _divide_no_nan(xp, enclose_area - union_area, enclose_area)
    ones = tuple(i for i, d in enumerate(giou.shape) if d == 1)
    return 1.0 - (xp.squeeze(giou, axis=ones) if ones else giou), None


def _pinball(xp: Any, y_true: Any, y_pred: Any, tau: Any = 0.5) -> tuple[Any, Any]:
    """``maximum(tau * delta_y, (tau - 1) * delta_y)``, ``delta_y = y_true - y_pred``, mean over
    the last axis (``tau`` broadcast against the trailing axes, TFA's ``expand_dims(tau, 0)``)."""
    tau = hyper_on(xp, tau, y_pred, "tau", "y_pred", "tfa.pinball_loss")
    if not isinstance(tau, float) and tau.dtype != y_pred.dtype:
        tau = xp.astype(tau, y_pred.dtype)
    delta_y = y_true - y_pred
    return xp.mean(xp.maximum(tau * delta_y, (tau - 1.0) * delta_y), axis=-1), None


def _keras2_bce(xp: Any, y_true: Any, y_pred: Any) -> Any:
    r"""Keras 2's ``backend.binary_crossentropy`` on probabilities, as TFA 0.23's
    ``tf.function`` computed it: ``clip_by_value(output, eps, 1 - eps)`` in the compute dtype,
    then ``-(target * log(output + eps) + (1 - target) * log(1 - output + eps))``, whose
    ``1 - output + eps`` TensorFlow's graph folds to ``(1 + eps) - output`` (in float32 at
    ``output = 1``: :math:`-\log(2.38 \cdot 10^{-7}) = 15.2492`, where the eager order gives
    15.3332)."""
    p = _clip(xp, y_pred, EPSILON, _round_to(1.0 - EPSILON, _dtype_name(y_pred.dtype)))
    return -(y_true * xp.log(p + EPSILON) + (1.0 - y_true) * xp.log((1.0 + EPSILON) - p))


def _sigmoid_focal(
    xp: Any,
    y_true: Any,
    y_pred: Any,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
) -> tuple[Any, Any]:
    """TFA's ``sigmoid_focal_crossentropy``, summed over the last axis. From logits it is the
    core :func:`lossbridge.sigmoid_focal_loss` (TFA's ``alpha=0`` disables the weighting:
    the core's ``alpha < 0``); from probabilities the cross-entropy is Keras 2's."""
    if from_logits:
        loss = sigmoid_focal_loss(y_pred, y_true, alpha=alpha if alpha else -1.0, gamma=gamma)
    else:
        p_t = y_true * y_pred + (1.0 - y_true) * (1.0 - y_pred)
        loss = _keras2_bce(xp, y_true, y_pred)
        if gamma:
            loss = loss * (1.0 - p_t) ** gamma
        if alpha:
            loss = loss * (y_true * alpha + (1.0 - y_true) * (1.0 - alpha))
    return xp.sum(loss, axis=-1), None


def _sparsemax(xp: Any, logits: Any, axis: int = -1) -> Any:
    """The Euclidean projection onto the simplex along ``axis`` (lossbridge.optax's, with its
    support-only gradient)."""
    if axis in (-1, logits.ndim - 1):
        return _projection_simplex(xp, logits)
    moved = xp.moveaxis(logits, axis, -1)
    return xp.moveaxis(_projection_simplex(xp, moved), -1, axis)


def _sparsemax_loss(xp: Any, logits: Any, sparsemax: Any, labels: Any) -> Any:
    """TFA's ``sparsemax_loss``: ``sum(where(s > 0 or isnan(s), s * (z - s / 2), 0) +
    where(labels == 0 and isinf(z), 0, labels * (labels / 2 - z)), axis=1)``."""
    zeros = xp.zeros_like(sparsemax)
    sum_s = xp.where(
        (sparsemax > 0) | xp.isnan(sparsemax), sparsemax * (logits - 0.5 * sparsemax), zeros
    )
    q_part = labels * (0.5 * labels - logits)
    q_part_safe = xp.where((labels == 0) & xp.isinf(logits), xp.zeros_like(logits), q_part)
    return xp.sum(sum_s + q_part_safe, axis=1)


def _check_2d(what: str, *arrays: tuple[str, Any]) -> None:
    shape = tuple(arrays[0][1].shape)
    if len(shape) != 2 or any(tuple(a.shape) != shape for _, a in arrays):
        raise _shape_error(what, *arrays)


def _sparsemax_from_logits(xp: Any, y_true: Any, y_pred: Any) -> tuple[Any, Any]:
    """TFA's ``sparsemax_loss_from_logits``: ``sparsemax_loss(y_pred, sparsemax(y_pred),
    y_true)``."""
    _check_2d(
        "labels and logits of the same shape (batch, classes)",
        ("y_true", y_true),
        ("y_pred", y_pred),
    )
    return _sparsemax_loss(xp, y_pred, _sparsemax(xp, y_pred), y_true), None


def _weighted_kappa(
    xp: Any,
    y_true: Any,
    y_pred: Any,
    num_classes: int | None = None,
    weightage: str = "quadratic",
    epsilon: float = 1e-6,
) -> tuple[Any, Any]:
    """TFA's ``WeightedKappaLoss.call``: :math:`\\log(1 - \\kappa + \\epsilon)` of the batch."""
    _check_2d(
        "one-hot labels and probabilities of the same shape (batch, classes)",
        ("y_true", y_true),
        ("y_pred", y_pred),
    )
    c = int(y_pred.shape[-1])
    if num_classes is not None and c != num_classes:
        raise ValueError(
            f"y_pred has {c} classes (its last axis) but num_classes={num_classes}; expected "
            "arrays of shape (batch, num_classes)"
        )
    labels = arange_like(xp, c, y_pred, dtype=y_pred.dtype)
    cat_labels = xp.sum(y_true * labels, axis=-1, keepdims=True)  # tf.matmul(y_true, col_label_vec)
    diff = labels[:, None] - labels[None, :]
    if weightage == "linear":
        weight, weight_mat = xp.abs(cat_labels - labels), xp.abs(diff)
    else:
        weight, weight_mat = (cat_labels - labels) ** 2, diff**2
    numerator = xp.sum(weight * y_pred)
    label_dist = xp.sum(y_true, axis=0)
    pred_dist = xp.sum(y_pred, axis=0)
    denominator = xp.sum(label_dist * xp.sum(weight_mat * pred_dist, axis=-1))
    denominator = denominator / _size(xp, y_pred[:, 0])
    return xp.log(_divide_no_nan(xp, numerator, denominator) + epsilon), None


# ------------------------------------------------------------------------------------------
# Functions
# ------------------------------------------------------------------------------------------


def contrastive_loss(y_true: ArrayLike, y_pred: ArrayT, margin: float = 1.0) -> ArrayT:
    r"""Contrastive loss of distances (``tfa.losses.contrastive_loss``).

    .. math::

        \ell = y\, d^2 + (1 - y) \max(m - d, 0)^2

    for a pair at distance :math:`d` with label :math:`y` (1: similar pair, 0: dissimilar)
    and margin :math:`m` (Hadsell, Chopra and LeCun 2006), elementwise. ``y_pred`` holds the
    **distances** (TFA's convention, e.g. ``tf.linalg.norm(a - b, axis=1)``), not the
    embeddings, and there is no factor 1/2: the core :func:`lossbridge.contrastive_loss`
    takes the two embeddings and halves both terms (``docs/tfa.md``).

    Parameters
    ----------
    y_true : array
        Pair labels, 1 (similar) or 0 (dissimilar); integers or floats, cast to the compute
        dtype. Broadcastable with ``y_pred`` (``(N,)`` against ``(N, 1)`` is aligned first).
    y_pred : array, shape (N,) or any
        Distances, floating.
    margin : float, default 1.0
        The distance beyond which a dissimilar pair costs nothing.

    Returns
    -------
    array
        The elementwise loss, ``y_pred``'s shape, type, dtype and device.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.tfa import contrastive_loss
    >>> d = np.array([0.5, 0.25, 2.0])  # 0.5 ** 2, (1 - 0.25) ** 2, 0 (beyond the margin)
    >>> contrastive_loss(np.array([1, 0, 0]), d).tolist()
    [0.25, 0.5625, 0.0]
    """
    m = _real(margin, "margin", "contrastive_loss", "the margin of dissimilar pairs")
    out: ArrayT = _function(_contrastive, y_true, y_pred, align=True, margin=m)
    return out


def giou_loss(y_true: ArrayLike, y_pred: ArrayT, mode: str = "giou") -> ArrayT:
    r"""Generalized IoU loss of boxes ``[y_min, x_min, y_max, x_max]`` (``tfa.losses.giou_loss``).

    With :math:`I`, :math:`U` the intersection and union areas and :math:`C` the area of the
    smallest box enclosing both (Rezatofighi et al. 2019):

    .. math::

        \ell = 1 - \left(\frac{I}{U} - \frac{C - U}{C}\right)
        \quad (\texttt{mode='giou'}), \qquad
        \ell = 1 - \frac{I}{U} \quad (\texttt{mode='iou'})

    TFA's numbers: box sides are clamped at 0 (an inverted box has area 0) and a ratio with a
    zero denominator is 0 (``tf.math.divide_no_nan``), where the core
    :func:`lossbridge.generalized_box_iou_loss` (torchvision) adds ``eps = 1e-7`` to the
    denominators and takes ``(x1, y1, x2, y2)``; both give the same numbers up to that
    ``eps`` (``docs/tfa.md``). As TFA, the result is squeezed (``tf.squeeze``): one box pair
    of shape ``(1, 4)`` gives a 0-d loss.

    Parameters
    ----------
    y_true, y_pred : array, shape (..., 4)
        Target and predicted boxes, the same shape, ``[y_min, x_min, y_max, x_max]``.
        Integer boxes compute in float32.
    mode : {'giou', 'iou'}, default 'giou'

    Returns
    -------
    array
        ``y_pred``'s shape without its last axis, and without its axes of length 1.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.tfa import giou_loss
    >>> boxes1 = np.array([[4.0, 3.0, 7.0, 5.0], [5.0, 6.0, 10.0, 7.0]])
    >>> boxes2 = np.array([[3.0, 4.0, 6.0, 8.0], [14.0, 14.0, 15.0, 15.0]])
    >>> np.round(giou_loss(boxes1, boxes2), 4).tolist()  # I/U = 2/16; 0 and (C - U)/C = 94/100
    [1.075, 1.9333]
    """
    m = _choice(mode, "mode", _MODES)
    out: ArrayT = _function(_giou, y_true, y_pred, mode=m)
    return out


def pinball_loss(y_true: ArrayLike, y_pred: ArrayT, tau: float | ArrayLike = 0.5) -> ArrayT:
    r"""Pinball (quantile) loss, mean over the last axis (``tfa.losses.pinball_loss``).

    .. math::

        \ell = \operatorname{mean}_{-1} \max(\tau\, \delta, (\tau - 1)\, \delta),
        \qquad \delta = y - \hat y

    whose minimiser is the :math:`\tau`-quantile of the target (``tau=0.5``: half the mean
    absolute error). The formula of the core :func:`lossbridge.quantile_loss`, with TFA's
    ``tau``: any value in :math:`[0, 1]` (the core takes the open interval) and an array
    ``tau`` broadcast against the **trailing** axes of the arrays (TFA's
    ``tf.expand_dims(tau, 0)``), not a list of quantiles.

    Parameters
    ----------
    y_true : array
        Targets, broadcastable with ``y_pred``.
    y_pred : array
        Predictions, floating.
    tau : float or array, default 0.5
        In :math:`[0, 1]` (checked for Python numbers); an array of shape ``[d0, ..., dn]``
        broadcasts against the axes after the batch axis.

    Returns
    -------
    array
        ``y_pred``'s shape without its last axis (a scalar for 1-D inputs).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.tfa import pinball_loss
    >>> y_true, y_pred = np.array([0.0, 0.0, 1.0, 1.0]), np.array([1.0, 1.0, 1.0, 0.0])
    >>> print(round(float(pinball_loss(y_true, y_pred, tau=0.1)), 4))  # (0.9 + 0.9 + 0 + 0.1) / 4
    0.475
    """
    t = _tau(tau, "pinball_loss")
    out: ArrayT = _function(_pinball, y_true, y_pred, align=True, tau=t)
    return out


def sigmoid_focal_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayT,
    alpha: float = 0.25,
    gamma: float = 2.0,
    from_logits: bool = False,
) -> ArrayT:
    r"""Sigmoid focal cross-entropy, summed over the last axis
    (``tfa.losses.sigmoid_focal_crossentropy``).

    With :math:`p` the probability (``sigmoid(y_pred)`` with ``from_logits=True``) and
    :math:`p_t = y p + (1 - y)(1 - p)` (Lin et al. 2017):

    .. math::

        \ell = \sum_{-1} \alpha_t\, (1 - p_t)^{\gamma}\, \mathrm{BCE}(y, p), \qquad
        \alpha_t = y \alpha + (1 - y)(1 - \alpha)

    TFA's conventions: ``alpha=0`` (or ``gamma=0``) drops the factor (TFA's ``if alpha:``),
    the loss is **summed** over the last axis, and on probabilities the cross-entropy is
    Keras 2's: ``p`` clipped to :math:`[\epsilon, 1 - \epsilon]` in the compute dtype, then
    :math:`-y \log(p + \epsilon) - (1 - y) \log(1 - p + \epsilon)`, :math:`\epsilon =
    10^{-7}` (Keras 3 and the core do not add :math:`\epsilon` in the log: about
    :math:`10^{-7}/p` relative apart). From logits it is the core
    :func:`lossbridge.sigmoid_focal_loss` (torchvision's), summed over the last axis.

    Parameters
    ----------
    y_true : array
        Targets in [0, 1], broadcastable with ``y_pred``.
    y_pred : array
        Probabilities, or logits with ``from_logits=True``.
    alpha : float, default 0.25
        The weight of the positive class (0: no weighting).
    gamma : float, default 2.0
        The focusing exponent, at least 0.
    from_logits : bool, default False

    Returns
    -------
    array
        ``y_pred``'s shape without its last axis.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.tfa import sigmoid_focal_crossentropy
    >>> y_true, y_pred = np.array([[1.0], [1.0], [0.0]]), np.array([[0.97], [0.91], [0.03]])
    >>> loss = sigmoid_focal_crossentropy(y_true, y_pred)  # 0.25 * 0.03 ** 2 * -log(0.97), ...
    >>> print(np.array2string(loss, precision=4))
    [6.8533e-06 1.9098e-04 2.0560e-05]
    """
    kw = _focal_args(alpha, gamma, from_logits, "sigmoid_focal_crossentropy")
    out: ArrayT = _function(_sigmoid_focal, y_true, y_pred, **kw)
    return out


def sparsemax(logits: ArrayT, axis: int = -1) -> ArrayT:
    r"""Sparsemax activation (``tfa.activations.sparsemax``, Martins and Astudillo 2016).

    .. math::

        \operatorname{sparsemax}(z)_j = \max(z_j - \tau(z), 0)

    with the threshold :math:`\tau(z)` that makes the outputs sum to 1: the Euclidean
    projection of :math:`z` onto the probability simplex (optax's ``projection_simplex``,
    whose gradient goes through the support only, as :mod:`lossbridge.optax`'s sparsemax
    losses use it).

    Parameters
    ----------
    logits : array
        Floating, at least 1-D.
    axis : int, default -1
        The axis of the classes.

    Returns
    -------
    array
        ``logits``' shape, dtype and device: non-negative, summing to 1 along ``axis``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.tfa import sparsemax
    >>> sparsemax(np.array([[-1.0, 0.0, 1.0], [0.5, 1.0, 0.2]])).tolist()  # tau = 0, 0.25
    [[0.0, 0.0, 1.0], [0.25, 0.75, 0.0]]
    """
    check_array_like(logits, "logits")
    xp, _ = get_namespace(logits)
    a = check_int(axis, "axis", what="the axis of the classes")
    if not -logits.ndim <= a < logits.ndim:
        raise ValueError(f"axis={a} is out of range for logits of shape {shape_str(logits.shape)}")
    half = logits.dtype if is_half(logits, framework_name(logits)) else None
    z = xp.astype(logits, xp.float32) if half is not None else logits
    if not xp.isdtype(z.dtype, "real floating"):
        raise TypeError(f"logits must be a floating array; got dtype {logits.dtype}")
    out: ArrayT = _round(xp, _sparsemax(xp, z, a), half)
    return out


def sparsemax_loss(
    logits: ArrayT, sparsemax: ArrayLike, labels: ArrayLike, name: str | None = None
) -> ArrayT:
    r"""Sparsemax loss of logits, their sparsemax and the labels (``tfa.losses.sparsemax_loss``).

    With :math:`z` the logits, :math:`s = \operatorname{sparsemax}(z)` and :math:`q` the
    labels (Martins and Astudillo 2016, in TFA's form that uses :math:`s`):

    .. math::

        \ell = \sum_{j:\, s_j > 0} s_j \left(z_j - \tfrac{s_j}{2}\right)
               + \sum_j q_j \left(\tfrac{q_j}{2} - z_j\right)

    summed over axis 1, with TFA's guards: a NaN :math:`s_j` is kept (NaN in, NaN out), and
    :math:`q_j = 0` with :math:`z_j = \pm\infty` adds 0. Its gradient in :math:`z` (with
    :math:`s` a function of :math:`z`, as :class:`SparsemaxLoss` computes it) is :math:`s - q`.
    The argument order is TFA's (logits first).

    Parameters
    ----------
    logits : array, shape (batch, classes)
        Floating.
    sparsemax : array, shape (batch, classes)
        ``sparsemax(logits)`` (:func:`sparsemax`).
    labels : array, shape (batch, classes)
        Target distributions (one-hot or multi-label, rows summing to 1).
    name : str, optional
        Ignored (TFA's op name).

    Returns
    -------
    array, shape (batch,)

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.tfa import sparsemax, sparsemax_loss
    >>> z = np.array([[0.5, 1.0, 0.2]])  # s = [0.25, 0.75, 0]
    >>> loss = sparsemax_loss(z, sparsemax(z), np.array([[0.0, 1.0, 0.0]]))
    >>> print(round(float(loss[0]), 4))  # 0.25 * 0.375 + 0.75 * 0.625 + (0.5 - 1)
    0.0625
    """
    if name is not None and not isinstance(name, str):
        raise TypeError(f"name must be a str or None; got {name!r}")
    check_array_like(sparsemax, "sparsemax")
    xp, labels_, logits_, half = _prep(labels, logits)
    s = asarray_on(sparsemax, xp, get_namespace(logits_)[1])
    s = xp.astype(s, logits_.dtype) if s.dtype != logits_.dtype else s
    _check_2d(
        "logits, sparsemax and labels of the same shape (batch, classes)",
        ("logits", logits_),
        ("sparsemax", s),
        ("labels", labels_),
    )
    out: ArrayT = _round(xp, _sparsemax_loss(xp, logits_, s, labels_), half)
    return out


def weighted_kappa_loss(
    y_true: ArrayLike,
    y_pred: ArrayT,
    weightage: str = "quadratic",
    epsilon: float = 1e-6,
) -> ArrayT:
    r"""Weighted kappa loss of a batch, :math:`\log(1 - \kappa + \epsilon)`: the function of
    :class:`WeightedKappaLoss` (a lossbridge addition: TFA has the class only).

    With one-hot labels :math:`y` and probabilities :math:`p` of :math:`C` ordered classes,
    :math:`w_{ij} = |i - j|` (``'linear'``) or :math:`(i - j)^2` (``'quadratic'``) and
    :math:`c_n = \sum_j j\, y_{nj}` the label of sample :math:`n` (Torre et al. 2018):

    .. math::

        1 - \kappa = \frac{\sum_{n, j} w_{c_n j}\, p_{nj}}
        {\frac{1}{N} \sum_{i, j} w_{ij} \left(\sum_n y_{ni}\right)\left(\sum_n p_{nj}\right)}

    (0 where the denominator is 0, TFA's ``divide_no_nan``), in :math:`[0, 2]`; the loss is
    in :math:`[\log \epsilon, \log 2]`, :math:`\log 1 = 0` for random predictions.

    Parameters
    ----------
    y_true : array, shape (N, C)
        One-hot labels (soft labels give the expected class index).
    y_pred : array, shape (N, C)
        Probabilities (softmax outputs).
    weightage : {'quadratic', 'linear'}, default 'quadratic'
    epsilon : float, default 1e-6
        Added before the log; 0 or None means Keras's epsilon, 1e-7 (TFA's ``epsilon or
        tf.keras.backend.epsilon()``).

    Returns
    -------
    array
        0-d: one loss for the whole batch.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.tfa import weighted_kappa_loss
    >>> y_true = np.eye(4)[[2, 1, 0, 3]]
    >>> y_pred = np.array([[0.1, 0.2, 0.6, 0.1], [0.1, 0.5, 0.3, 0.1],
    ...                    [0.8, 0.05, 0.05, 0.1], [0.01, 0.09, 0.1, 0.8]])
    >>> print(round(float(weighted_kappa_loss(y_true, y_pred)), 4))  # TFA's docstring: -1.1611925
    -1.1612
    """
    kw = _kappa_args(weightage, epsilon, "weighted_kappa_loss")
    out: ArrayT = _function(_weighted_kappa, y_true, y_pred, **kw)
    return out


def _tau(tau: object, loss: str) -> Any:
    t = check_real_or_array(tau, "tau", loss=f"tfa.{loss}", what="the quantile level")
    if isinstance(t, float):
        t = check_real(t, "tau", loss=f"tfa.{loss}", what="the quantile level", low=0.0, high=1.0)
    return t


def _focal_args(alpha: object, gamma: object, from_logits: object, loss: str) -> dict[str, Any]:
    return {
        "alpha": _real(alpha, "alpha", loss, "the weight of the positive class; 0: none"),
        "gamma": _real(gamma, "gamma", loss, "the focusing exponent", low=0.0),
        "from_logits": _flag(from_logits, "from_logits"),
    }


def _kappa_args(weightage: object, epsilon: object, loss: str) -> dict[str, Any]:
    eps = EPSILON if epsilon is None else _real(epsilon, "epsilon", loss, "added before the log")
    return {"weightage": _choice(weightage, "weightage", _WEIGHTAGES), "epsilon": eps or EPSILON}


# ------------------------------------------------------------------------------------------
# Classes
# ------------------------------------------------------------------------------------------

_SHARED = """\
    reduction : str or None
        Keras 2's ``'auto'``, ``'none'``, ``'sum'``, ``'sum_over_batch_size'`` (TFA's
        ``tf.keras.losses.Reduction`` values, any case) or Keras 3's ``'mean'``,
        ``'mean_with_sample_weight'``, None (:func:`tfa_reduction`); default TFA's.
    name : str, optional
        TFA's default name.
    dtype : str, keras.DTypePolicy or dtype, optional
        Keyword-only: the compute dtype (:class:`lossbridge.keras.Loss`; TFA computed in the
        input's dtype).
"""


class ContrastiveLoss(TFALoss):
    r"""Contrastive loss of distances (``tfa.losses.ContrastiveLoss``).

    Per-sample loss: :func:`contrastive_loss` (formula, shapes, notes).

    Parameters
    ----------
    margin : float, default 1.0
    reduction, name, dtype
        As every TFA-dialect class; default reduction ``'sum_over_batch_size'``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.tfa import ContrastiveLoss
    >>> d = np.array([0.5, 0.25, 2.0])  # per pair 0.25, 0.5625, 0
    >>> print(round(float(ContrastiveLoss()(np.array([1, 0, 0]), d)), 4))
    0.2708
    """

    _impl = staticmethod(_contrastive)

    def __init__(
        self,
        margin: float = 1.0,
        reduction: object = "sum_over_batch_size",
        name: str | None = "contrastive_loss",
        *,
        dtype: DTypeLike = None,
    ) -> None:
        m = _real(margin, "margin", "ContrastiveLoss", "the margin of dissimilar pairs")
        super().__init__(contrastive_loss, reduction, name, dtype, margin=m)


class GIoULoss(TFALoss):
    r"""Generalized IoU loss of boxes ``[y_min, x_min, y_max, x_max]`` (``tfa.losses.GIoULoss``).

    Per-sample loss: :func:`giou_loss` (formula, shapes, notes).

    Parameters
    ----------
    mode : {'giou', 'iou'}, default 'giou'
    reduction, name, dtype
        As every TFA-dialect class; default reduction ``'auto'`` (``'sum_over_batch_size'``).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.tfa import GIoULoss
    >>> boxes1 = np.array([[4.0, 3.0, 7.0, 5.0], [5.0, 6.0, 10.0, 7.0]])
    >>> boxes2 = np.array([[3.0, 4.0, 6.0, 8.0], [14.0, 14.0, 15.0, 15.0]])
    >>> print(round(float(GIoULoss()(boxes1, boxes2)), 4))  # TFA's docstring: 1.5041667
    1.5042
    """

    _impl = staticmethod(_giou)

    def __init__(
        self,
        mode: str = "giou",
        reduction: object = "auto",
        name: str | None = "giou_loss",
        *,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(giou_loss, reduction, name, dtype, mode=_choice(mode, "mode", _MODES))


class PinballLoss(TFALoss):
    r"""Pinball (quantile) loss (``tfa.losses.PinballLoss``).

    Per-sample loss: :func:`pinball_loss` (formula, shapes, notes).

    Parameters
    ----------
    tau : float or array, default 0.5
    reduction, name, dtype
        As every TFA-dialect class; default reduction ``'auto'`` (``'sum_over_batch_size'``).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.tfa import PinballLoss
    >>> loss = PinballLoss(tau=0.1)
    >>> print(round(float(loss(np.array([0.0, 0.0, 1.0, 1.0]), np.array([1.0, 1.0, 1.0, 0.0]))), 4))
    0.475
    """

    _impl = staticmethod(_pinball)

    def __init__(
        self,
        tau: float | ArrayLike = 0.5,
        reduction: object = "auto",
        name: str | None = "pinball_loss",
        *,
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(pinball_loss, reduction, name, dtype, tau=_tau(tau, "PinballLoss"))


class SigmoidFocalCrossEntropy(TFALoss):
    r"""Sigmoid focal cross-entropy (``tfa.losses.SigmoidFocalCrossEntropy``).

    Per-sample loss: :func:`sigmoid_focal_crossentropy` (formula, shapes, notes). TFA's
    default reduction is ``'none'``: the call returns the per-sample losses.

    Parameters
    ----------
    from_logits : bool, default False
    alpha : float, default 0.25
    gamma : float, default 2.0
    reduction, name, dtype
        As every TFA-dialect class; default reduction ``'none'``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.tfa import SigmoidFocalCrossEntropy
    >>> loss = SigmoidFocalCrossEntropy()
    >>> y_true, y_pred = np.array([[1.0], [1.0], [0.0]]), np.array([[0.97], [0.91], [0.03]])
    >>> print(np.array2string(loss(y_true, y_pred), precision=4))  # TFA's docstring
    [6.8533e-06 1.9098e-04 2.0560e-05]
    """

    _impl = staticmethod(_sigmoid_focal)

    def __init__(
        self,
        from_logits: bool = False,
        alpha: float = 0.25,
        gamma: float = 2.0,
        reduction: object = "none",
        name: str | None = "sigmoid_focal_crossentropy",
        *,
        dtype: DTypeLike = None,
    ) -> None:
        kw = _focal_args(alpha, gamma, from_logits, "SigmoidFocalCrossEntropy")
        super().__init__(sigmoid_focal_crossentropy, reduction, name, dtype, **kw)


class SparsemaxLoss(TFALoss):
    r"""Sparsemax loss of logits (``tfa.losses.SparsemaxLoss``).

    Per sample, ``sparsemax_loss(y_pred, sparsemax(y_pred), y_true)``
    (:func:`sparsemax_loss`: formula, notes) on logits ``y_pred`` and target distributions
    ``y_true``, both of shape ``(batch, classes)``.

    Parameters
    ----------
    from_logits : bool, default True
        Must be True (TFA's check: the loss needs the logits).
    reduction, name, dtype
        As every TFA-dialect class; default reduction ``'sum_over_batch_size'``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.tfa import SparsemaxLoss
    >>> z = np.array([[0.5, 1.0, 0.2], [-1.0, 0.0, 1.0]])  # sparsemax [.25, .75, 0], [0, 0, 1]
    >>> labels = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])  # per sample 0.0625, 0
    >>> print(round(float(SparsemaxLoss()(labels, z)), 5))
    0.03125
    """

    _impl = staticmethod(_sparsemax_from_logits)

    def __init__(
        self,
        from_logits: bool = True,
        reduction: object = "sum_over_batch_size",
        name: str | None = "sparsemax_loss",
        *,
        dtype: DTypeLike = None,
    ) -> None:
        if _flag(from_logits, "from_logits") is not True:
            raise ValueError("from_logits must be True (the sparsemax loss needs the logits)")
        super().__init__(_sparsemax_loss_from_logits, reduction, name, dtype)
        self.from_logits = from_logits

    def get_config(self) -> dict[str, Any]:
        """TFA's config: ``name``, ``reduction`` (``dtype`` where given) and ``from_logits``."""
        return {**super().get_config(), "from_logits": self.from_logits}


class WeightedKappaLoss(TFALoss):
    r"""Weighted kappa loss of a batch, :math:`\log(1 - \kappa + \epsilon)`
    (``tfa.losses.WeightedKappaLoss``).

    Loss: :func:`weighted_kappa_loss` (formula, notes): **one value per batch** (0-d; the
    reduction leaves it as it is and sample weights multiply it), for one-hot labels and
    probabilities of shape ``(batch, num_classes)``.

    Parameters
    ----------
    num_classes : int
        The number of classes: ``y_pred.shape[-1]`` must equal it.
    weightage : {'quadratic', 'linear'}, default 'quadratic'
    name : str, optional
        Default ``'cohen_kappa_loss'`` (TFA's).
    epsilon : float, default 1e-6
        0 or None: 1e-7.
    reduction : str or None
        Default ``'none'`` (TFA's).
    dtype
        As every TFA-dialect class: TFA computed in ``floatx()`` whatever the inputs' dtype
        (float64 probabilities gave a float32 loss); here a float64 prediction stays float64.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.tfa import WeightedKappaLoss
    >>> y_true = np.eye(4)[[2, 1, 0, 3]]
    >>> y_pred = np.array([[0.1, 0.2, 0.6, 0.1], [0.1, 0.5, 0.3, 0.1],
    ...                    [0.8, 0.05, 0.05, 0.1], [0.01, 0.09, 0.1, 0.8]])
    >>> print(round(float(WeightedKappaLoss(num_classes=4)(y_true, y_pred)), 4))
    -1.1612
    """

    _impl = staticmethod(_weighted_kappa)

    def __init__(
        self,
        num_classes: int,
        weightage: str | None = "quadratic",
        name: str | None = "cohen_kappa_loss",
        epsilon: float | None = 1e-6,
        reduction: object = "none",
        *,
        dtype: DTypeLike = None,
    ) -> None:
        n = check_int(num_classes, "num_classes", what="the number of classes")
        if n < 1:
            raise ValueError(f"num_classes must be at least 1; got {n}")
        kw = _kappa_args(weightage, epsilon, "WeightedKappaLoss")
        super().__init__(weighted_kappa_loss, reduction, name, dtype, num_classes=n, **kw)


def _sparsemax_loss_from_logits(y_true: ArrayLike, y_pred: ArrayT) -> ArrayT:
    """TFA's ``sparsemax_loss_from_logits(y_true, logits_pred)`` (:class:`SparsemaxLoss`)."""
    out: ArrayT = _function(_sparsemax_from_logits, y_true, y_pred)
    return out


# ------------------------------------------------------------------------------------------
# Keras registration ("lossbridge>tfa.<Name>")
# ------------------------------------------------------------------------------------------


def _register_with_keras() -> None:
    """Register every class of ``__all__`` (and its Keras-compatible subclass) and every
    function for Keras serialization as ``"lossbridge>tfa.<name>"``, once Keras is imported."""
    saving = getattr(sys.modules.get("keras"), "saving", None)
    if saving is None:
        return
    module = sys.modules[__name__]
    for public in __all__:
        obj = getattr(module, public, None)
        if obj is None:
            continue
        register = saving.register_keras_serializable(package=PACKAGE, name=PREFIX + public)
        if isinstance(obj, type):
            register(obj)
            obj = _keras_compatible(obj)
        if saving.get_registered_object(f"{PACKAGE}>{PREFIX}{public}") is not obj:
            register(obj)


class _AfterKerasImport:
    """A ``sys.meta_path`` finder that calls :func:`_register_with_keras` when ``import keras``
    completes (the design of :class:`lossbridge.keras._AfterKerasImport`, which does the same
    for ``lossbridge.keras``): it finds nothing itself, asks the other finders for Keras's spec
    and wraps that spec's loader's ``exec_module``. A guard keeps the two finders from asking
    each other in a loop."""

    def __init__(self) -> None:
        self._asking = False

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "keras" or self._asking:
            return None
        self._asking = True
        try:
            for finder in sys.meta_path:
                find = getattr(finder, "find_spec", None)
                spec = find(fullname, path, target) if finder is not self and find else None
                if spec is not None:
                    break
            else:
                return None
        finally:
            self._asking = False
        run = getattr(spec.loader, "exec_module", None)
        if run is None:
            return spec

        def exec_module(module: Any) -> None:
            run(module)
            sys.meta_path[:] = [f for f in sys.meta_path if f is not self]
            try:
                _register_with_keras()
            except Exception as e:  # never break ``import keras``
                warnings.warn(
                    f"lossbridge.tfa could not register its losses with Keras ({e!r}); "
                    "import lossbridge.tfa again after keras to save and load models",
                    RuntimeWarning,
                    stacklevel=2,
                )

        spec.loader.exec_module = exec_module
        return spec


def _finish(namespace: dict[str, Any]) -> None:
    """Name the errors of the public entries, mark the module's functions for AutoGraph and
    register the losses with Keras (now, or when Keras is imported)."""
    name_public_errors(namespace)
    for obj in list(namespace.values()):  # as lossbridge.keras._skip_autograph
        if getattr(obj, "__module__", None) not in (__name__, "lossbridge._tfa_mining"):
            continue
        for member in vars(obj).values() if inspect.isclass(obj) else (obj,):
            func = getattr(member, "__func__", member)  # a staticmethod's function
            if inspect.isfunction(func):
                func.__dict__["autograph_info__"] = {}
    if "keras" in sys.modules:
        _register_with_keras()
    elif not any(type(f) is _AfterKerasImport for f in sys.meta_path):
        sys.meta_path.insert(0, _AfterKerasImport())


# --- metric learning (online mining): helper HJ ---
# The functions are lossbridge._tfa_mining's; the classes wrap them (docs/tfa.md, "Metric
# learning (online mining)").

from lossbridge import _tfa_mining  # noqa: E402
from lossbridge._tfa_mining import (  # noqa: E402
    lifted_struct_loss,
    npairs_loss,
    npairs_multilabel_loss,
    triplet_hard_loss,
    triplet_semihard_loss,
)


def _check_margin(margin: Any, loss: str) -> None:
    """TFA's ``FloatTensorLike`` margin, checked at construction: a number or a 0-d array."""
    check_real_or_array(margin, "margin", loss=loss, what="the margin", scalar=True)


class TripletSemiHardLoss(TFALoss):
    r"""Triplet loss with semi-hard negative mining (``tfa.losses.TripletSemiHardLoss``).

    The loss of :func:`triplet_semihard_loss` (formula, mining, shapes), one number per
    batch: the triplets are mined within the batch a call receives.

    Parameters
    ----------
    margin : float or 0-d array, default 1.0
    distance_metric : {'L2', 'squared-L2', 'angular'} or callable, default 'L2'
        As :func:`triplet_semihard_loss`.
    name : str, optional
        The loss's name.
    reduction : str or None, default 'none'
        TFA fixes ``Reduction.NONE``: the 0-d loss times a scalar ``sample_weight``. Any
        :func:`tfa_reduction` value (keyword-only; kept for configs).
    dtype : str, keras.DTypePolicy or dtype, optional
        The compute dtype (:mod:`lossbridge.tfa`, "dtype").

    Notes
    -----
    ``y_true`` holds class ids of shape (N,) or (N, 1) (Keras 3 passes them as floats: they
    are cast to int64, as Keras's cast truncates), ``y_pred`` the (N, D) embeddings; they are
    not aligned as Keras's ``(N,)``/``(N, 1)`` predictions are.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge import tfa
    >>> y_true = np.array([0, 0, 1, 1])
    >>> y_pred = np.array([[0.0, 1.0], [0.0, 0.8], [0.6, 0.8], [1.0, 0.0]])
    >>> loss = tfa.TripletSemiHardLoss(margin=0.5)
    >>> bool(np.isclose(loss(y_true, y_pred), tfa.triplet_semihard_loss(y_true, y_pred, 0.5)))
    True
    >>> loss.get_config()["distance_metric"]
    'L2'
    """

    _impl = staticmethod(_tfa_mining.triplet_semihard_impl)
    _labels = True
    _align = False

    def __init__(
        self,
        margin: float | Any = 1.0,
        distance_metric: str | Callable[[Any], Any] = "L2",
        name: str | None = None,
        *,
        reduction: object = "none",
        dtype: DTypeLike = None,
    ) -> None:
        _check_margin(margin, type(self).__name__)
        _tfa_mining.check_metric(distance_metric, type(self).__name__)
        super().__init__(
            triplet_semihard_loss,
            reduction=reduction,
            name=name,
            dtype=dtype,
            margin=margin,
            distance_metric=distance_metric,
        )


class TripletHardLoss(TFALoss):
    r"""Triplet loss with batch-hard mining (``tfa.losses.TripletHardLoss``).

    The loss of :func:`triplet_hard_loss` (formula, mining, shapes), one number per batch.

    Parameters
    ----------
    margin : float or 0-d array, default 1.0
    soft : bool, default False
    distance_metric : {'L2', 'squared-L2', 'angular'} or callable, default 'L2'
        As :func:`triplet_hard_loss`.
    name : str, optional
    reduction : str or None, default 'none'
    dtype : str, keras.DTypePolicy or dtype, optional
        As :class:`TripletSemiHardLoss`.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge import tfa
    >>> y_true = np.array([0, 0, 1, 1])
    >>> y_pred = np.array([[0.0, 1.0], [0.0, 0.8], [0.6, 0.8], [1.0, 0.0]])
    >>> loss = tfa.TripletHardLoss(soft=True)
    >>> bool(np.isclose(loss(y_true, y_pred), tfa.triplet_hard_loss(y_true, y_pred, soft=True)))
    True
    """

    _impl = staticmethod(_tfa_mining.triplet_hard_impl)
    _labels = True
    _align = False

    def __init__(
        self,
        margin: float | Any = 1.0,
        soft: bool = False,
        distance_metric: str | Callable[[Any], Any] = "L2",
        name: str | None = None,
        *,
        reduction: object = "none",
        dtype: DTypeLike = None,
    ) -> None:
        _check_margin(margin, type(self).__name__)
        _tfa_mining.check_soft(soft, type(self).__name__)
        _tfa_mining.check_metric(distance_metric, type(self).__name__)
        super().__init__(
            triplet_hard_loss,
            reduction=reduction,
            name=name,
            dtype=dtype,
            margin=margin,
            soft=soft,
            distance_metric=distance_metric,
        )


class LiftedStructLoss(TFALoss):
    r"""Lifted structured loss (``tfa.losses.LiftedStructLoss``).

    The loss of :func:`lifted_struct_loss` (formula, shapes), called as ``loss(y_true,
    y_pred)`` with the labels and the embeddings.

    Parameters
    ----------
    margin : float or 0-d array, default 1.0
    name : str, optional
    reduction : str or None, default 'none'
    dtype : str, keras.DTypePolicy or dtype, optional
        As :class:`TripletSemiHardLoss`.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge import tfa
    >>> labels = np.array([0, 0, 1, 1])
    >>> embeddings = np.array([[0.0], [1.0], [3.0], [4.0]])
    >>> loss = tfa.LiftedStructLoss()
    >>> bool(np.isclose(loss(labels, embeddings), tfa.lifted_struct_loss(labels, embeddings)))
    True
    """

    _impl = staticmethod(_tfa_mining.lifted_struct_impl)
    _labels = True
    _align = False

    def __init__(
        self,
        margin: float | Any = 1.0,
        name: str | None = None,
        *,
        reduction: object = "none",
        dtype: DTypeLike = None,
    ) -> None:
        _check_margin(margin, type(self).__name__)
        super().__init__(
            lifted_struct_loss, reduction=reduction, name=name, dtype=dtype, margin=margin
        )


class NpairsLoss(TFALoss):
    r"""N-pairs loss (``tfa.losses.NpairsLoss``).

    The loss of :func:`npairs_loss` (formula, shapes): ``y_true`` class ids (N,), ``y_pred``
    the (N, N) similarity matrix.

    Parameters
    ----------
    name : str, default 'npairs_loss'
    reduction : str or None, default 'none'
    dtype : str, keras.DTypePolicy or dtype, optional
        As :class:`TripletSemiHardLoss`.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge import tfa
    >>> s = np.array([[2.0, 0.0, 1.0], [0.5, 1.0, 0.0], [1.0, 0.0, 3.0]])
    >>> y = np.array([0, 1, 0])
    >>> bool(np.isclose(tfa.NpairsLoss()(y, s), tfa.npairs_loss(y, s)))
    True
    """

    _impl = staticmethod(_tfa_mining.npairs_impl)
    _labels = True
    _align = False

    def __init__(
        self,
        name: str = "npairs_loss",
        *,
        reduction: object = "none",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(npairs_loss, reduction=reduction, name=name, dtype=dtype)


class NpairsMultilabelLoss(TFALoss):
    r"""N-pairs loss for multi-label data (``tfa.losses.NpairsMultilabelLoss``).

    The loss of :func:`npairs_multilabel_loss` (formula, shapes): ``y_true`` the (N, C) 0/1
    class indicator, ``y_pred`` the (N, N) similarity matrix.

    Parameters
    ----------
    name : str, default 'npairs_multilabel_loss'
    reduction : str or None, default 'none'
    dtype : str, keras.DTypePolicy or dtype, optional
        As :class:`TripletSemiHardLoss`.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge import tfa
    >>> s = np.array([[2.0, 0.0, 1.0], [0.5, 1.0, 0.0], [1.0, 0.0, 3.0]])
    >>> y = np.array([[1, 0], [0, 1], [1, 1]])
    >>> bool(np.isclose(tfa.NpairsMultilabelLoss()(y, s), tfa.npairs_multilabel_loss(y, s)))
    True
    """

    _impl = staticmethod(_tfa_mining.npairs_multilabel_impl)
    _align = False

    def __init__(
        self,
        name: str = "npairs_multilabel_loss",
        *,
        reduction: object = "none",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(npairs_multilabel_loss, reduction=reduction, name=name, dtype=dtype)


# --- end of metric learning (online mining) ---

_finish(globals())
