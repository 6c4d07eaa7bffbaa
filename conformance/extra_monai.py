"""Conformance entries of the ``lossbridge.monai`` dialect: one ``monai.<ClassName>`` per class.

Each entry's function builds the :mod:`lossbridge.monai` class from the case's keyword
arguments (and its ``weight`` array, given to the constructor as MONAI takes it) and calls it
with ``(input, target)``. Its oracle (check ``monai_<ClassName>``) is MONAI 1.6 itself, the
class of ``monai.losses`` built and called the same way on torch tensors of the case's dtype
(float64 for the float64 cases; bfloat16 through float32). Its reference is a float64 NumPy
transcription of MONAI's source (``monai/losses/dice.py``, ``tversky.py``, ``focal_loss.py``
and ``utils.compute_tp_fp_fn``, the lines quoted in each function), written independently of
:mod:`lossbridge.monai`: MONAI cannot be the reference, because the finite-difference and
half-precision checks evaluate the reference on NumPy inputs many times.

MONAI computes two things in float32 whatever the input's dtype (lossbridge keeps the input's):
``GeneralizedDiceLoss``'s class weights (``self.w_func(ground_o.float())``) and
``FocalLoss`` (``input = input.float()``), the focal term of ``DiceFocalLoss``. The generalised
Dice cases therefore use hard targets whose class volumes are powers of two (their weights
``1 / v`` and ``1 / v^2`` are exact in float32) or ``w_type='uniform'``; the float64 oracle check
of ``DiceFocalLoss`` is loosened to MONAI's float32 focal term (:data:`EXCEPTIONS`), and
``tests/test_monai_dialect.py`` compares it in float64 with MONAI's own ``sigmoid_focal_loss``
run in float64.

``other_act`` cases pass :func:`squash` (arithmetic operators only, so the same function serves
every backend and MONAI's torch tensors).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lossbridge import monai as _monai
from lossbridge.conformance.cases import (
    AOT,
    Entry,
    Oracle,
    arrays,
    base,
    entry,
    normal,
    weights,
)
from lossbridge.conformance.drivers import get_driver
from lossbridge.conformance.references import log_softmax, reduce, softmax
from lossbridge.conformance.tolerances import Loosened

_IT = ("input", "target")


def squash(x: Any) -> Any:
    """An ``other_act`` of arithmetic operators only: :math:`x^2 / (1 + x^2)`, in [0, 1)."""
    return x * x / (1.0 + x * x)


# ------------------------------------------------------------------------------------------
# Float64 NumPy transcriptions of MONAI 1.6.1's forward methods
# ------------------------------------------------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _log_sigmoid(x: np.ndarray) -> np.ndarray:
    return np.minimum(x, 0.0) - np.log1p(np.exp(-np.abs(x)))


def _activated(x, sigmoid=False, softmax_=False, other_act=None):
    """``if self.sigmoid: input = torch.sigmoid(input)``; ``if self.softmax: ... input =
    torch.softmax(input, 1)`` (more than one channel); ``if self.other_act is not None: input =
    self.other_act(input)``."""
    x = np.asarray(x, dtype=np.float64)
    if sigmoid:
        x = _sigmoid(x)
    if softmax_ and x.shape[1] > 1:
        x = softmax(x, 1)
    if other_act is not None:
        x = other_act(x)
    return x


def _one_hot(target, n):
    """``one_hot(target, num_classes=n_pred_ch)`` of a (B, 1, ...) label map (``.long()``)."""
    labels = np.asarray(target).astype(np.int64)[:, 0]
    return np.moveaxis(np.eye(n)[labels], -1, 1)


def _ignore_mask(y, ignore_index):
    """``monai.metrics.utils.create_ignore_mask``: ``(y != ignore_index)`` for a label map;
    ``1.0 - y[:, ignore_index : ignore_index + 1]`` for a one-hot y and a valid class;
    ``(y.sum(dim=1, keepdim=True) > 0)`` for a sentinel."""
    y = np.asarray(y, dtype=np.float64)
    if y.shape[1] == 1:
        return (y != ignore_index).astype(np.float64)
    if 0 <= ignore_index < y.shape[1]:
        return 1.0 - y[:, ignore_index : ignore_index + 1]
    return (y.sum(axis=1, keepdims=True) > 0).astype(np.float64)


def _targets(x, target, to_onehot_y, include_background, ignore_index=None):
    """``to_onehot_y`` (more than one channel; a sentinel ``ignore_index`` label made 0 first:
    ``torch.where(target == self.ignore_index, torch.zeros_like(target), target)``), then
    ``target[:, 1:]``, ``input[:, 1:]``, then ``input * mask``, ``target * mask``."""
    t = np.asarray(target, dtype=np.float64)
    n = x.shape[1]
    if to_onehot_y and n > 1:
        labels = np.asarray(target)
        if ignore_index is not None and not 0 <= ignore_index < n:
            labels = np.where(labels == ignore_index, 0, labels)
        t = _one_hot(labels, n)
    if not include_background and n > 1:
        x, t = x[:, 1:], t[:, 1:]
    if ignore_index is not None:
        mask = _ignore_mask(target, ignore_index)
        x, t = x * mask, t * mask
    return x, t


def _axes(ndim, batch):
    """``reduce_axis = torch.arange(2, len(input.shape)).tolist()``; ``[0] + ...`` for batch."""
    return ((0,) if batch else ()) + tuple(range(2, ndim))


def compute_tp_fp_fn(p, t, axes, order, soft_label, decoupled=True):
    """``monai.losses.utils.compute_tp_fp_fn``, line by line.

    ``if ord == 1 and not soft_label``: ``tp = sum(input * target)``, decoupled ``fp =
    sum(input) - tp``, ``fn = sum(target) - tp``, else ``fp = sum(input * (1 - target))``,
    ``fn = sum((1 - input) * target)``; otherwise ``pred_o``, ``ground_o``, ``difference`` are
    the ``ord``-norms (to the power ``ord``) of input, target and their difference,
    ``tp = (pred_o + ground_o - difference) / 2``, ``fp = pred_o - tp``, ``fn = ground_o - tp``.
    """
    if order == 1 and not soft_label:
        tp = np.sum(p * t, axis=axes)
        if decoupled:
            return tp, np.sum(p, axis=axes) - tp, np.sum(t, axis=axes) - tp
        return tp, np.sum(p * (1 - t), axis=axes), np.sum((1 - p) * t, axis=axes)
    pred_o = np.sum(np.abs(p) ** order, axis=axes)
    ground_o = np.sum(np.abs(t) ** order, axis=axes)
    difference = np.sum(np.abs(p - t) ** order, axis=axes)
    tp = (pred_o + ground_o - difference) / 2
    return tp, pred_o - tp, ground_o - tp


def _class_weight(weight, n):
    w = np.asarray(weight, dtype=np.float64)
    return np.full(n, float(w)) if w.ndim == 0 else w


def dice_reference(
    input,
    target,
    weight=None,
    *,
    include_background=True,
    to_onehot_y=False,
    sigmoid=False,
    softmax=False,
    other_act=None,
    squared_pred=False,
    jaccard=False,
    reduction="mean",
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    soft_label=False,
    ignore_index=None,
):
    """``DiceLoss.forward``: ``fp *= 0.5; fn *= 0.5`` (unless jaccard), ``numerator = 2 * tp +
    smooth_nr``, ``denominator = 2 * (tp + fp + fn) + smooth_dr``, ``f = 1 - numerator /
    denominator``, ``f = f * class_weight`` (more than one class), then ``torch.mean``,
    ``torch.sum`` or ``f.view(list(f.shape[0:2]) + [1] * (len(input.shape) - 2))``."""
    x = _activated(input, sigmoid, softmax, other_act)
    p, t = _targets(x, target, to_onehot_y, include_background, ignore_index)
    tp, fp, fn = compute_tp_fp_fn(p, t, _axes(p.ndim, batch), 2 if squared_pred else 1, soft_label)
    if not jaccard:
        fp, fn = fp * 0.5, fn * 0.5
    with np.errstate(invalid="ignore", divide="ignore"):
        f = 1 - (2 * tp + smooth_nr) / (2 * (tp + fp + fn) + smooth_dr)
    if weight is not None and t.shape[1] != 1:
        w = _class_weight(weight, t.shape[1])
        f = f * (w if batch else w[None, :])
    if reduction == "none":
        return f.reshape(list(f.shape[0:2]) + [1] * (p.ndim - 2))
    return reduce(f, reduction)


def tversky_reference(
    input,
    target,
    *,
    include_background=True,
    to_onehot_y=False,
    sigmoid=False,
    softmax=False,
    other_act=None,
    alpha=0.5,
    beta=0.5,
    reduction="mean",
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    soft_label=False,
    ignore_index=None,
):
    """``TverskyLoss.forward``: ``compute_tp_fp_fn(input, target, reduce_axis, 1, soft_label,
    False)``, ``fp *= alpha``, ``fn *= beta``, ``1 - (tp + smooth_nr) / (tp + fp + fn +
    smooth_dr)``; ``'none'`` returns it as it is."""
    x = _activated(input, sigmoid, softmax, other_act)
    p, t = _targets(x, target, to_onehot_y, include_background, ignore_index)
    tp, fp, fn = compute_tp_fp_fn(p, t, _axes(p.ndim, batch), 1, soft_label, False)
    with np.errstate(invalid="ignore", divide="ignore"):
        score = 1.0 - (tp + smooth_nr) / (tp + alpha * fp + beta * fn + smooth_dr)
    return reduce(score, reduction)


def generalized_dice_reference(
    input,
    target,
    *,
    include_background=True,
    to_onehot_y=False,
    sigmoid=False,
    softmax=False,
    other_act=None,
    w_type="square",
    reduction="mean",
    smooth_nr=1e-5,
    smooth_dr=1e-5,
    batch=False,
    soft_label=False,
):
    """``GeneralizedDiceLoss.forward``: ``denominator = 2 * (tp + fp / 2 + fn / 2)``,
    ``ground_o = sum(target)``, ``w = w_func(ground_o)``, infinite weights set to 0 and then
    to the largest weight (of the sample, or of the batch), ``numer = 2 * sum_c(tp * w) +
    smooth_nr``, ``denom = sum_c(denominator * w) + smooth_dr`` (keepdim), ``1 - numer /
    denom``."""
    x = _activated(input, sigmoid, softmax, other_act)
    p, t = _targets(x, target, to_onehot_y, include_background)
    axes = _axes(p.ndim, batch)
    tp, fp, fn = compute_tp_fp_fn(p, t, axes, 1, soft_label)
    denominator = 2 * (tp + 0.5 * fp + 0.5 * fn)
    ground_o = np.sum(t, axis=axes)
    with np.errstate(divide="ignore"):
        if w_type == "simple":
            w = 1.0 / ground_o
        elif w_type == "square":
            w = 1.0 / (ground_o * ground_o)
        else:
            w = np.ones_like(ground_o)
    infs = np.isinf(w)
    w = np.where(infs, 0.0, w)
    top = np.max(w) if batch else np.max(w, axis=1, keepdims=True)
    w = w + infs * top
    last = 0 if batch else 1
    numer = 2.0 * np.sum(tp * w, axis=last, keepdims=True) + smooth_nr
    denom = np.sum(denominator * w, axis=last, keepdims=True) + smooth_dr
    f = 1.0 - numer / denom
    if reduction == "none":
        return f.reshape(list(f.shape[0:2]) + [1] * (p.ndim - 2))
    return reduce(f, reduction)


def _cross_entropy(x, target, weight, reduction, label_smoothing):
    """``DiceCELoss.ce``/``bce``: ``torch.nn.CrossEntropyLoss(weight, reduction,
    label_smoothing)`` on (B, 1, ...) indices (squeezed, ``.long()``) or probabilities, or
    ``BCEWithLogitsLoss(pos_weight=weight)`` for one channel (torch's formulas)."""
    n = x.shape[1]
    if n == 1:
        t = np.asarray(target, dtype=np.float64)
        pw = 1.0 if weight is None else np.asarray(weight, dtype=np.float64)
        loss = -(pw * t * _log_sigmoid(x) + (1 - t) * _log_sigmoid(-x))
        return reduce(loss, reduction)
    w = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
    wb = w.reshape((1, n) + (1,) * (x.ndim - 2))
    logp = log_softmax(x, 1)
    eps = label_smoothing
    if target.shape[1] == 1:  # class indices: nll + smoothing, both over sum(w[y])
        y = np.asarray(target).astype(np.int64)
        nll = -np.take_along_axis(logp * wb, y, axis=1)[:, 0]
        smooth = -np.sum(logp * wb, axis=1)
        wy = np.take_along_axis(np.broadcast_to(wb, x.shape), y, axis=1)[:, 0]
        loss = (1 - eps) * nll + eps / n * smooth
        return reduce(loss, reduction, denominator=np.sum(wy))
    t = np.asarray(target, dtype=np.float64) * (1 - eps) + eps / n
    loss = -np.sum(wb * t * logp, axis=1)
    return reduce(loss, reduction)


def dice_ce_reference(
    input,
    target,
    weight=None,
    *,
    include_background=True,
    lambda_dice=1.0,
    lambda_ce=1.0,
    label_smoothing=0.0,
    reduction="mean",
    **dice,
):
    """``DiceCELoss.forward``: ``lambda_dice * self.dice(input, target) + lambda_ce * ce``, the
    Dice weight without its first entry when ``include_background=False``."""
    x = np.asarray(input, dtype=np.float64)
    dice_weight = weight
    if weight is not None and not include_background:
        dice_weight = np.asarray(weight)[1:]
    d = dice_reference(
        x,
        target,
        dice_weight,
        include_background=include_background,
        reduction=reduction,
        **dice,
    )
    ce = _cross_entropy(x, np.asarray(target), weight, reduction, label_smoothing)
    return lambda_dice * d + lambda_ce * ce


def dice_focal_reference(
    input,
    target,
    weight=None,
    *,
    include_background=True,
    to_onehot_y=False,
    gamma=2.0,
    alpha=None,
    lambda_dice=1.0,
    lambda_focal=1.0,
    reduction="mean",
    **dice,
):
    """``DiceFocalLoss.forward``: one-hot target (``to_onehot_y``), ``lambda_dice * dice +
    lambda_focal * focal``; ``FocalLoss`` with ``sigmoid_focal_loss``: ``loss = input - input *
    target - F.logsigmoid(input)``, ``invprobs = F.logsigmoid(-input * (target * 2 - 1))``,
    ``loss = (invprobs * gamma).exp() * loss``, ``alpha_factor = target * alpha + (1 - target)
    * (1 - alpha)``, times the class weight; ``'sum'``: ``loss.mean(spatial).sum()``."""
    x = np.asarray(input, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    if to_onehot_y and x.shape[1] > 1:
        t = _one_hot(target, x.shape[1])
    d = dice_reference(
        x, t, weight, include_background=include_background, reduction=reduction, **dice
    )
    xf, tf = _targets(x, t, False, include_background)
    loss = xf - xf * tf - _log_sigmoid(xf)
    loss = np.exp(_log_sigmoid(-xf * (tf * 2 - 1)) * gamma) * loss
    if alpha is not None:
        loss = (tf * alpha + (1 - tf) * (1 - alpha)) * loss
    if weight is not None:
        w = np.asarray(weight, dtype=np.float64)
        loss = loss * (w if w.ndim == 0 else w.reshape((1, -1) + (1,) * (loss.ndim - 2)))
    if reduction == "sum":
        focal = np.sum(np.mean(loss, axis=tuple(range(2, loss.ndim))))
    elif reduction == "mean":
        focal = np.mean(loss)
    else:
        focal = loss
    return lambda_dice * d + lambda_focal * focal


# ------------------------------------------------------------------------------------------
# The lossbridge.monai adapter and the MONAI oracle
# ------------------------------------------------------------------------------------------


def _adapter(cls_name: str) -> Callable[..., Any]:
    """``fn(input, target, **ctor)``: build ``lossbridge.monai.<cls_name>`` and call it."""
    cls = getattr(_monai, cls_name)

    def fn(input: Any, target: Any, **ctor: Any) -> Any:
        return cls(**ctor)(input, target)

    fn.__name__ = fn.__qualname__ = f"monai_{cls_name}"
    fn.__doc__ = f"``lossbridge.monai.{cls_name}(**constructor_args)(input, target)``."
    fn.autograph_info__ = {}  # AutoGraph calls it as it is (see lossbridge.__init__)
    return fn


def _monai_unavailable(dtype: str) -> str | None:
    for mod in ("monai", "torch"):
        if importlib.util.find_spec(mod) is None:
            return f"{mod} is not installed"
    return None


def _monai_oracle(cls_name: str) -> Oracle:
    """Check ``monai_<cls_name>``: ``monai.losses.<cls_name>`` built and called alike."""

    def fn(inputs: Mapping[str, np.ndarray], kwargs: Mapping[str, Any], dtype: str) -> Any:
        import warnings

        import monai.losses
        import torch

        torch_ = get_driver("torch")  # bfloat16 reaches torch through float32 (exact)
        ctor = dict(kwargs)
        if "weight" in inputs:
            ctor["weight"] = torch_.from_numpy(inputs["weight"], dtype)
        x = torch_.from_numpy(inputs["input"], dtype)
        t = torch_.from_numpy(inputs["target"], dtype)
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # MONAI's single-channel warnings
            out = getattr(monai.losses, cls_name)(**ctor)(x, t)
        return torch_.to_numpy(out).astype(np.float64)

    return Oracle(f"monai_{cls_name}", "monai", fn, _monai_unavailable)


def _monai_entry(cls_name: str, reference: Callable[..., Any], bases: list[dict]) -> Entry:
    return entry(
        f"monai.{cls_name}",
        bases,
        fn=_adapter(cls_name),
        reference=reference,
        oracle=None,
        grad_args=("input",),
        extra_oracles=(_monai_oracle(cls_name),),
    )


# ------------------------------------------------------------------------------------------
# Cases: (2, 3, 4, 4) logits unless said otherwise
# ------------------------------------------------------------------------------------------

_SHAPE = (2, 3, 4, 4)
_MAIN = {"reductions": ("none", "mean", "sum"), **AOT}


def _labels(r: np.random.Generator) -> np.ndarray:
    return r.integers(0, 3, (2, 1, 4, 4))


def _labels_with_sentinel(r: np.random.Generator) -> np.ndarray:
    """(2, 1, 4, 4) labels in [0, 3), a quarter of them the sentinel 255 (MONAI's
    ``ignore_index`` for unlabelled voxels)."""
    labels = r.integers(0, 3, (2, 1, 4, 4))
    return np.where(r.uniform(size=labels.shape) < 0.25, 255, labels)


def _one_hot_labels(r: np.random.Generator) -> np.ndarray:
    return np.moveaxis(np.eye(3)[r.integers(0, 3, (2, 4, 4))], -1, 1)


def _soft(shape):
    return lambda r: r.uniform(0.0, 1.0, shape)


def _power_of_two_labels(r: np.random.Generator) -> np.ndarray:
    """(2, 1, 4, 4) label maps whose class volumes are powers of two (MONAI's float32 weights
    1 / v and 1 / v^2 are then exact): sample 0 has volumes 8, 4, 4; sample 1 has 8, 8, 0
    (class 2 absent: its weight is the sample's largest)."""
    a = np.array([0] * 8 + [1] * 4 + [2] * 4)
    b = np.array([0] * 8 + [1] * 8)
    return np.stack([r.permutation(a), r.permutation(b)]).reshape(2, 1, 4, 4)


def _one_hot_power_of_two(r: np.random.Generator) -> np.ndarray:
    """One-hot (2, 3, 4, 4) targets whose class volumes are 8, 4, 4 in each sample: 16, 8, 8
    over the batch (``batch=True``), powers of two again."""
    a = np.array([0] * 8 + [1] * 4 + [2] * 4)
    labels = np.stack([r.permutation(a), r.permutation(a)]).reshape(2, 4, 4)
    return np.moveaxis(np.eye(3)[labels], -1, 1)


_FOCAL_F64 = (
    "MONAI's FocalLoss computes in float32 (input = input.float()) whatever the input's dtype: "
    "its float64 DiceFocalLoss carries the float32 rounding of the focal term (about 1e-7 "
    "relative); tests/test_monai_dialect.py compares in float64 with MONAI's "
    "sigmoid_focal_loss run in float64"
)

#: This dialect's registry entries.
ENTRIES: tuple[Entry, ...] = (
    _monai_entry(
        "DiceLoss",
        dice_reference,
        [
            base(
                "softmax_onehot_y_weight",
                arrays(input=normal(_SHAPE, 2.0), target=_labels, weight=weights(3)),
                {"softmax": True, "to_onehot_y": True},
                **_MAIN,
            ),
            base(
                "sigmoid_jaccard_squared_no_background",
                arrays(input=normal(_SHAPE, 2.0), target=_soft(_SHAPE)),
                {
                    "sigmoid": True,
                    "jaccard": True,
                    "squared_pred": True,
                    "include_background": False,
                    "smooth_nr": 0.0,
                    "smooth_dr": 1e-6,
                },
            ),
            base(
                "ignore_index_sentinel",
                arrays(input=normal(_SHAPE, 2.0), target=_labels_with_sentinel),
                {"softmax": True, "to_onehot_y": True, "ignore_index": 255},
            ),
            base(
                "other_act_soft_label_batch",
                arrays(input=normal(_SHAPE, 2.0), target=_soft(_SHAPE)),
                {"other_act": squash, "soft_label": True, "batch": True, "smooth_nr": 1e-3},
            ),
        ],
    ),
    _monai_entry(
        "TverskyLoss",
        tversky_reference,
        [
            base(
                "softmax_onehot_y",
                arrays(input=normal(_SHAPE, 2.0), target=_labels),
                {"softmax": True, "to_onehot_y": True, "alpha": 0.3, "beta": 0.7},
                **_MAIN,
            ),
            base(
                "one_hot_ignore_class",
                arrays(input=normal(_SHAPE, 2.0), target=_one_hot_labels),
                {"sigmoid": True, "ignore_index": 1, "include_background": False},
            ),
            base(
                "sigmoid_soft_label_batch_no_background",
                arrays(input=normal(_SHAPE, 2.0), target=_soft(_SHAPE)),
                {
                    "sigmoid": True,
                    "soft_label": True,
                    "batch": True,
                    "include_background": False,
                    "alpha": 0.8,
                    "beta": 0.2,
                    "smooth_dr": 1e-3,
                },
            ),
        ],
    ),
    _monai_entry(
        "GeneralizedDiceLoss",
        generalized_dice_reference,
        [
            base(
                "softmax_onehot_y_square_absent",
                arrays(input=normal(_SHAPE, 2.0), target=_power_of_two_labels),
                {"softmax": True, "to_onehot_y": True},
                **_MAIN,
            ),
            base(
                "sigmoid_simple_batch",
                arrays(input=normal(_SHAPE, 2.0), target=_one_hot_power_of_two),
                {"sigmoid": True, "w_type": "simple", "batch": True},
            ),
            base(
                "other_act_uniform_soft_label_no_background",
                arrays(input=normal(_SHAPE, 2.0), target=_soft(_SHAPE)),
                {
                    "other_act": squash,
                    "w_type": "uniform",
                    "soft_label": True,
                    "include_background": False,
                },
            ),
        ],
    ),
    _monai_entry(
        "DiceCELoss",
        dice_ce_reference,
        [
            base(
                "softmax_onehot_y_weight_smoothing",
                arrays(input=normal(_SHAPE, 2.0), target=_labels, weight=weights(3)),
                {
                    "softmax": True,
                    "to_onehot_y": True,
                    "lambda_ce": 0.7,
                    "label_smoothing": 0.1,
                },
                reductions=("mean", "sum"),
                compile=("mean",),
                placement="mean",
            ),
            base(
                "one_channel_bce_pos_weight",
                arrays(
                    input=normal((2, 1, 4, 4), 2.0),
                    target=lambda r: r.integers(0, 2, (2, 1, 4, 4)).astype(np.float64),
                    weight=weights(1),
                ),
                {"sigmoid": True, "lambda_dice": 0.5},
                reductions=("mean", "sum"),
            ),
            base(
                "probabilities_jaccard_no_background",
                arrays(
                    input=normal(_SHAPE, 2.0),
                    target=lambda r: softmax(r.standard_normal(_SHAPE), 1),
                ),
                {"softmax": True, "jaccard": True, "include_background": False},
                reductions=("mean", "sum"),
            ),
        ],
    ),
    _monai_entry(
        "DiceFocalLoss",
        dice_focal_reference,
        [
            base(
                "softmax_onehot_y_alpha_weight",
                arrays(input=normal(_SHAPE, 2.0), target=_labels, weight=weights(3)),
                {"softmax": True, "to_onehot_y": True, "alpha": 0.25, "lambda_focal": 0.7},
                **_MAIN,
            ),
            base(
                "sigmoid_soft_batch_no_background",
                arrays(input=normal(_SHAPE, 2.0), target=_soft(_SHAPE)),
                {
                    "sigmoid": True,
                    "batch": True,
                    "include_background": False,
                    "gamma": 1.5,
                    "squared_pred": True,
                },
            ),
        ],
    ),
)

#: MONAI's float32 focal term in its float64 DiceFocalLoss (module docstring).
EXCEPTIONS = (
    Loosened(
        loss="monai.DiceFocalLoss",
        case="*",
        check="monai_DiceFocalLoss",
        dtype="float64",
        bound=1e-6,  # float32's value bound: the focal term is MONAI's float32 result
        measured=7.2e-8,
        reason=_FOCAL_F64,
    ),
)
