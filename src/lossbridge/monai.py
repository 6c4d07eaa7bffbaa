r"""The MONAI dialect: MONAI 1.6's region-overlap losses, same names, parameters and numbers.

``DiceLoss``, ``GeneralizedDiceLoss``, ``DiceCELoss``, ``DiceFocalLoss`` and ``TverskyLoss`` of
``monai.losses`` (MONAI 1.6.1, ``monai/losses/dice.py``, ``tversky.py``, ``focal_loss.py``), with
MONAI's constructor (parameter names, order and defaults) and ``forward(input, target)``, on
NumPy, PyTorch, JAX, TensorFlow or array-api-strict arrays, eager and compiled
(``jax.jit``, ``tf.function``, ``torch.compile``). ``import lossbridge.monai`` imports neither
MONAI nor any framework.

Inputs are MONAI's: ``input`` of shape ``(B, N, H[, W, D])`` (N channels, at least one spatial
axis), ``target`` of the same shape (one-hot or soft labels), or ``(B, 1, H[, W, D])`` class
indices with ``to_onehot_y=True`` (integer or floating; a floating index is truncated as
MONAI's ``one_hot`` truncates it with ``.long()``). The per-sample, per-class sums of MONAI's
``compute_tp_fp_fn`` are, over the spatial axes (and the batch axis with ``batch=True``),

.. math::

    TP = \sum p\,t, \qquad P = \sum p^{k}, \qquad G = \sum t^{k}

with :math:`k = 2` for ``squared_pred=True`` and :math:`k = 1` otherwise. With
``soft_label=True`` and :math:`k = 1`, MONAI's semimetric form (Wang et al. 2023) is used:
:math:`P = \sum |p|`, :math:`G = \sum |t|`,
:math:`TP = (P + G - \sum |p - t|) / 2` (equal to the above on hard labels). Then

* Dice: :math:`1 - (2 TP + s_{nr}) / (P + G + s_{dr})`;
  Jaccard (``jaccard=True``): :math:`1 - (2 TP + s_{nr}) / (2 (P + G - TP) + s_{dr})`;
* Tversky: :math:`1 - (TP + s_{nr}) / (TP + \alpha (P - TP) + \beta (G - TP) + s_{dr})`;
* generalised Dice (Sudre et al. 2017): class weights :math:`w_c` from :math:`\sum t`
  (``w_type``), :math:`1 - (2 \sum_c w_c TP_c + s_{nr}) / (\sum_c w_c (P_c + G_c) + s_{dr})`.

Where MONAI's numbers are kept although another library's differ (``lossbridge.dice_loss``
follows the Tversky form, ``docs/monai.md`` compares them): ``smooth_nr`` and ``smooth_dr`` are
separate (the core's ``smooth=s`` is ``smooth_nr = smooth_dr = 2s`` for Dice); a class absent
from prediction and target with ``smooth_nr = smooth_dr = 0`` is ``0 / 0 = NaN`` as in MONAI (the
core defines it as 0); ``reduction='mean'`` is the plain mean of the (weighted) per-sample,
per-class losses, dividing by :math:`B \cdot N` even with class weights (the core divides by
:math:`B \sum_c w_c`); ``reduction='none'`` has MONAI's shapes (``(B, N, 1, ..., 1)`` for Dice,
``(B, N)`` for Tversky, ``(B, 1, 1, ..., 1)`` for generalised Dice).

Differences from MONAI, each one a bug anywhere else:

* invalid arguments raise when the object is built, or, for what depends on the input, at
  the call, with a ``ValueError``/``TypeError`` naming the class and the argument (MONAI raises
  ``AssertionError`` for a target of the wrong shape and defers some checks to the call);
* MONAI computes ``GeneralizedDiceLoss``'s class weights in float32 (``ground_o.float()``) and
  ``FocalLoss`` (``DiceFocalLoss``'s focal term) in float32 (``input.float()``) whatever the
  input's dtype; lossbridge computes both in the input's dtype (float32 for float16/bfloat16):
  on float64 input MONAI's results are off by up to about 1e-7 relative there;
* ``other_act`` is called on an array of the caller's framework (float32 for half inputs):
  ``torch.tanh`` serves torch tensors only; for every backend pass a function of that
  framework (``jnp.tanh``, ``tf.math.tanh``, ``np.tanh``) or one written with arithmetic
  operators only (``lambda x: x * x``), which every framework's arrays support;
* the objects are plain Python objects, not ``torch.nn.Module`` (no ``state_dict`` or
  ``.to()``); the ``weight`` is kept as given and converted to the input's framework, dtype
  and device at each call;
* ``FocalLoss``, ``GeneralizedDiceFocalLoss``, ``GeneralizedWassersteinDiceLoss`` and
  ``MaskedDiceLoss`` are not ported (``DiceFocalLoss`` has MONAI's focal term).

Global means (issue 16): ``forward`` takes a keyword-only ``denominator=``. For ``DiceLoss``,
``TverskyLoss`` and ``GeneralizedDiceLoss`` with ``reduction='mean'`` and ``batch=False`` the
loss is a sum over samples (and classes) divided by a count (:math:`B \cdot N`, or :math:`B`
for generalised Dice): ``denominator=D`` divides that sum by ``D`` instead, and
``lossbridge.mean_denominator(loss, input, target)`` returns the count. With ``batch=True``
the index pools the whole batch, and ``DiceCELoss``/``DiceFocalLoss`` add two means with
different counts (the Dice mean over :math:`B \cdot N`, the cross-entropy or focal mean over
the voxels): neither is one sum over a count, so a ``denominator`` raises ``ValueError``
(for those two, sum a ``DiceLoss`` and a :class:`lossbridge.nn.CrossEntropyLoss`, each with its
own denominator).

>>> import numpy as np
>>> from lossbridge.monai import DiceLoss
>>> p = np.array([[[[0.9, 0.2], [0.6, 0.1]]]])  # probabilities, (B=1, N=1, 2, 2)
>>> t = np.array([[[[1.0, 0.0], [1.0, 0.0]]]])
>>> tp, P, G = (p * t).sum(), p.sum(), t.sum()
>>> bool(np.isclose(DiceLoss()(p, t), 1 - (2 * tp + 1e-5) / (P + G + 1e-5)))
True
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from lossbridge._inputs import arange_like, setup
from lossbridge._precision import half_precision
from lossbridge._primitives import log_sigmoid, log_softmax
from lossbridge._reduction import COUNT, reduce
from lossbridge._typing import ArrayLike, ArrayT
from lossbridge._validation import (
    check_class_indices,
    check_denominator,
    check_range,
    check_real,
    check_reduction,
    name_public_errors,
    no_denominator,
    shape_str,
)
from lossbridge.backends import asarray_on, framework_name, get_namespace, is_concrete
from lossbridge.classification import binary_cross_entropy_with_logits, cross_entropy

__all__ = ["DiceCELoss", "DiceFocalLoss", "DiceLoss", "GeneralizedDiceLoss", "TverskyLoss"]

_W_TYPES = ("square", "simple", "uniform")
_BATCH_WHY = "batch=True: one index per class over the whole batch, not a sum over samples"


# ------------------------------------------------------------------------------------------
# Constructor checks
# ------------------------------------------------------------------------------------------


def _bool(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool; got {value!r}")
    return value


def _activation(sigmoid: Any, softmax: Any, other_act: Any) -> None:
    _bool(sigmoid, "sigmoid")
    _bool(softmax, "softmax")
    if other_act is not None and not callable(other_act):
        raise TypeError(
            f"other_act must be None or a callable (an activation applied to the input); got "
            f"{type(other_act).__name__}"
        )
    if int(sigmoid) + int(softmax) + int(other_act is not None) > 1:
        raise ValueError(
            "incompatible activations: more than one of sigmoid=True, softmax=True, other_act "
            "is not None; expected at most one"
        )


def _ignore_index(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(
            f"ignore_index must be None or an int (a class index, or a sentinel label); got "
            f"{value!r}"
        )
    return int(value)


def _smooth(value: Any, name: str, loss: str) -> float:
    return check_real(value, name, loss=loss, what="smoothing constant", finite=True)


def _lambda(value: Any, name: str, loss: str) -> float:
    return check_real(value, name, loss=loss, what="weight of the term", finite=True, low=0.0)


def _class_weight(weight: Any, name: str = "weight") -> Any:
    """A weight given as a number or a sequence of numbers is checked now (>= 0); an array is
    kept as given and checked at the call."""
    if weight is None or framework_name(weight) is not None:
        return weight
    if isinstance(weight, numbers.Real) and not isinstance(weight, bool):
        values = [weight]
    elif isinstance(weight, Sequence) and not isinstance(weight, str):
        values = list(weight)
        if not values or not all(
            isinstance(v, numbers.Real) and not isinstance(v, bool) for v in values
        ):
            raise TypeError(
                f"{name} must be a number, a sequence of numbers or an array; got {weight!r:.60}"
            )
    else:
        raise TypeError(
            f"{name} must be None, a number, a sequence of numbers or an array; got "
            f"{type(weight).__name__}"
        )
    if any(not float(v) >= 0 for v in values):  # NaN refused too
        raise ValueError(
            f"{name} must be >= 0 (one weight per class, or one for all); got {weight!r:.60}"
        )
    return weight


# ------------------------------------------------------------------------------------------
# The shared steps of MONAI's forward
# ------------------------------------------------------------------------------------------


def _check_input(input: Any) -> None:
    if input.ndim < 3:
        raise ValueError(
            f"input has shape {shape_str(input.shape)}; expected (B, N, H[, W, D]): a batch "
            "axis, a channel axis and at least one spatial axis"
        )


def _warn_single(what: str, input: Any) -> None:
    if is_concrete(input):  # torch.compile(fullgraph=True) cannot trace warnings.warn
        warnings.warn(f"single channel prediction, `{what}` ignored.", UserWarning, stacklevel=4)


def _activate(xp: Any, x: Any, sigmoid: bool, softmax: bool, other_act: Any) -> Any:
    """MONAI's order: sigmoid, softmax over the channels (ignored for one channel), other_act."""
    if sigmoid:
        x = xp.exp(log_sigmoid(xp, x))
    if softmax:
        if x.shape[1] == 1:
            _warn_single("softmax=True", x)
        else:
            x = xp.exp(log_softmax(xp, x, 1))
    if other_act is not None:
        x = other_act(x)
    return x


def _one_hot(xp: Any, target: Any, n_classes: int) -> Any:
    """MONAI's ``one_hot(target, n_classes)`` of a (B, 1, ...) label map, in target's form:
    boolean (B, N, ...)."""
    if target.shape[1] != 1:
        raise ValueError(
            f"to_onehot_y=True: target has shape {shape_str(target.shape)}; expected class "
            f"indices of shape (B, 1, ...) for the {n_classes} channels of the input"
        )
    if xp.isdtype(target.dtype, "bool"):
        target = xp.astype(target, xp.int32)
    elif xp.isdtype(target.dtype, "real floating"):
        target = xp.astype(target, xp.int32)  # MONAI's labels.long(): truncation
    check_class_indices(xp, target, n_classes, None)
    classes = arange_like(xp, n_classes, target, dtype=target.dtype)
    shape = [1] * target.ndim
    shape[1] = n_classes
    return target == xp.reshape(classes, tuple(shape))


def _ignore_mask(xp: Any, target: Any, ignore_index: int, like: Any) -> Any:
    """MONAI's ``create_ignore_mask(target, ignore_index)``: (B, 1, ...), 1 where kept.

    Class indices (one channel): ``target != ignore_index``; one-hot with a valid class index:
    ``1 - target[:, ignore_index]`` (every channel of that class's pixels is left out); one-hot
    with a sentinel (negative, or N or above): the pixels whose channels are all 0.
    """
    if target.shape[1] == 1:
        kept = target != ignore_index
    elif 0 <= ignore_index < target.shape[1]:
        return 1.0 - xp.astype(target[:, ignore_index : ignore_index + 1, ...], like.dtype)
    else:
        kept = xp.sum(xp.astype(target, like.dtype), axis=1, keepdims=True) > 0
    return xp.astype(kept, like.dtype)


def _prepare(
    xp: Any,
    input: Any,
    target: Any,
    *,
    to_onehot_y: bool,
    include_background: bool,
    ignore_index: int | None = None,
) -> tuple[Any, Any]:
    """``(input, target)`` after MONAI's one-hot, background and ``ignore_index`` steps,
    target floating."""
    original = target
    n = input.shape[1]
    if to_onehot_y:
        if n == 1:
            _warn_single("to_onehot_y=True", input)
        else:
            if ignore_index is not None and not 0 <= ignore_index < n:
                # a sentinel label becomes class 0 before the one-hot (masked out below)
                target = xp.where(target == ignore_index, xp.zeros_like(target), target)
            target = _one_hot(xp, target, n)
    if not include_background:
        if n == 1:
            _warn_single("include_background=False", input)
        else:
            input, target = input[:, 1:, ...], target[:, 1:, ...]
    if tuple(target.shape) != tuple(input.shape):
        raise ValueError(
            f"target has shape {shape_str(target.shape)} but the input has shape "
            f"{shape_str(input.shape)} (after to_onehot_y and include_background); expected "
            "the same shape (one-hot labels), or (B, 1, ...) class indices with to_onehot_y=True"
        )
    if target.dtype != input.dtype:
        target = xp.astype(target, input.dtype)
    if ignore_index is not None:
        mask = _ignore_mask(xp, original, ignore_index, input)
        input, target = input * mask, target * mask
    return input, target


def _axes(ndim: int, batch: bool) -> tuple[int, ...]:
    return ((0,) if batch else ()) + tuple(range(2, ndim))


def _tp_fp_fn(
    xp: Any, p: Any, t: Any, axes: tuple[int, ...], squared: bool, soft_label: bool
) -> tuple[Any, Any, Any]:
    """MONAI's ``compute_tp_fp_fn``: ``(TP, FP, FN)`` summed over ``axes``.

    Each is a sum of element-wise terms, without MONAI's differences of sums (``sum(p) - tp``,
    ``(|p| + |t| - |p - t|) / 2``), which cancel in float32: ``ord = 1``: ``p t``, ``p (1 - t)``,
    ``(1 - p) t``; ``ord = 2`` (``squared_pred``): ``p t``, ``p (p - t)``, ``t (t - p)``;
    ``soft_label`` with ``ord = 1``: ``m = (|p| + |t| - |p - t|) / 2``, which is ``min(|p|, |t|)``
    where ``p`` and ``t`` have the same sign and 0 elsewhere, then ``m``, ``|p| - m``,
    ``|t| - m``. The same numbers in real arithmetic.
    """
    if squared:
        tp = p * t
        fp, fn = p * p - tp, t * t - tp
    elif soft_label:
        ap, at = xp.abs(p), xp.abs(t)
        tp = xp.where(p * t > 0, xp.minimum(ap, at), xp.zeros_like(p))
        fp, fn = ap - tp, at - tp
    else:
        tp = p * t
        fp, fn = p - tp, t - tp
    return xp.sum(tp, axis=axes), xp.sum(fp, axis=axes), xp.sum(fn, axis=axes)


def _weight_on(xp: Any, weight: Any, like: Any, n_classes: int, what: str = "classes") -> Any:
    """The class weight as an array of ``like``'s namespace, dtype and device: 0-d, or (N,)."""
    fw = framework_name(weight)
    if fw not in (None, "numpy", framework_name(like)):
        import numpy as np

        weight = np.asarray(weight)  # another framework's host array
    w = asarray_on(weight, xp, get_namespace(like)[1], dtype=like.dtype)
    if w.ndim > 1 or (w.ndim == 1 and w.shape[0] != n_classes):
        raise ValueError(
            f"weight has shape {shape_str(w.shape)}; expected one number, or ({n_classes},): "
            f"one weight per class of the {n_classes} {what} (without the background with "
            "include_background=False)"
        )
    check_range(xp, w, "weight", 0.0, float("inf"), what="class weights (>= 0)")
    return w


def _per_class(xp: Any, w: Any, ndim: int) -> Any:
    """A (N,) weight shaped to broadcast along axis 1 of an ``ndim``-d array (along its only
    axis for a 1-d array: the per-class losses of ``batch=True``)."""
    if w.ndim == 0 or ndim == 1:
        return w
    return xp.reshape(w, (1, w.shape[0]) + (1,) * (ndim - 2))


def _reduce(xp: Any, f: Any, reduction: str, over: Any, none_shape: tuple[int, ...]) -> Any:
    if reduction == "none":
        return xp.reshape(f, none_shape)
    return reduce(xp, f, reduction, override=over)


def _check_pair(input: Any, target: Any) -> None:
    """DiceCELoss's and DiceFocalLoss's shape checks."""
    if input.ndim != target.ndim:
        raise ValueError(
            f"target has {target.ndim} dimensions (shape {shape_str(target.shape)}) but the "
            f"input has {input.ndim} (shape {shape_str(input.shape)}); expected the same "
            "number: a target that is not one-hot has shape (B, 1, H[, W, D])"
        )
    if target.shape[1] != 1 and target.shape[1] != input.shape[1]:
        raise ValueError(
            f"target has {target.shape[1]} channels (shape {shape_str(target.shape)}) but the "
            f"input has {input.shape[1]}; expected 1 (class indices) or {input.shape[1]} "
            "(one-hot)"
        )


# ------------------------------------------------------------------------------------------
# The computations (half inputs run in float32: lossbridge._precision)
# ------------------------------------------------------------------------------------------


def _dice_terms(
    xp: Any, input: Any, target: Any, o: dict[str, Any], weight: Any, denominator: Any
) -> Any:
    """DiceLoss.forward on arrays already on one namespace."""
    _check_input(input)
    p = _activate(xp, input, o["sigmoid"], o["softmax"], o["other_act"])
    p, t = _prepare(
        xp,
        p,
        target,
        to_onehot_y=o["to_onehot_y"],
        include_background=o["include_background"],
        ignore_index=o.get("ignore_index"),
    )
    tp, fp, fn = _tp_fp_fn(
        xp, p, t, _axes(p.ndim, o["batch"]), o["squared_pred"], o.get("soft_label", False)
    )
    if o["jaccard"]:
        f = 1.0 - (2.0 * tp + o["smooth_nr"]) / (2.0 * (tp + fp + fn) + o["smooth_dr"])
    else:
        f = 1.0 - (2.0 * tp + o["smooth_nr"]) / (2.0 * tp + fp + fn + o["smooth_dr"])
    n_classes = p.shape[1]
    if weight is not None and n_classes != 1:  # MONAI ignores the weight of a single class
        f = f * _per_class(xp, _weight_on(xp, weight, f, n_classes), f.ndim)
    none_shape = tuple(f.shape[:2]) + (1,) * (input.ndim - 2)
    return _reduce(xp, f, o["reduction"], denominator, none_shape)


@half_precision
def _dice(input: Any, target: Any, *, opts: Any, weight: Any, denominator: Any) -> Any:
    if opts["batch"]:
        no_denominator(denominator, loss="DiceLoss", why=_BATCH_WHY)
    over = check_denominator(denominator, opts["reduction"], loss="DiceLoss")
    xp, input, target = setup(input, target=target)
    return _dice_terms(xp, input, target, opts, weight, over)


@half_precision
def _tversky(input: Any, target: Any, *, opts: Any, denominator: Any) -> Any:
    if opts["batch"]:
        no_denominator(denominator, loss="TverskyLoss", why=_BATCH_WHY)
    over = check_denominator(denominator, opts["reduction"], loss="TverskyLoss")
    xp, input, target = setup(input, target=target)
    _check_input(input)
    p = _activate(xp, input, opts["sigmoid"], opts["softmax"], opts["other_act"])
    p, t = _prepare(
        xp,
        p,
        target,
        to_onehot_y=opts["to_onehot_y"],
        include_background=opts["include_background"],
        ignore_index=opts["ignore_index"],
    )
    tp, fp, fn = _tp_fp_fn(xp, p, t, _axes(p.ndim, opts["batch"]), False, opts["soft_label"])
    den = tp + opts["alpha"] * fp + opts["beta"] * fn + opts["smooth_dr"]
    f = 1.0 - (tp + opts["smooth_nr"]) / den
    return _reduce(xp, f, opts["reduction"], over, tuple(f.shape))


@half_precision
def _generalized_dice(input: Any, target: Any, *, opts: Any, denominator: Any) -> Any:
    batch = opts["batch"]
    if batch:
        no_denominator(denominator, loss="GeneralizedDiceLoss", why=_BATCH_WHY)
    over = check_denominator(denominator, opts["reduction"], loss="GeneralizedDiceLoss")
    xp, input, target = setup(input, target=target)
    _check_input(input)
    p = _activate(xp, input, opts["sigmoid"], opts["softmax"], opts["other_act"])
    p, t = _prepare(
        xp,
        p,
        target,
        to_onehot_y=opts["to_onehot_y"],
        include_background=opts["include_background"],
    )
    axes = _axes(p.ndim, batch)
    tp, fp, fn = _tp_fp_fn(xp, p, t, axes, False, opts["soft_label"])
    volume = xp.sum(t, axis=axes)  # MONAI's ground_o: the plain sum, also with soft_label
    # w = 1 / volume^k; a class absent from the target (infinite w) takes the largest finite
    # weight of its sample (of the batch with batch=True)
    absent = volume == 0
    safe = xp.where(absent, xp.ones_like(volume), volume)
    if opts["w_type"] == "square":
        w = 1.0 / (safe * safe)
    elif opts["w_type"] == "simple":
        w = 1.0 / safe
    else:
        w = xp.ones_like(volume)
    infinite = xp.logical_or(absent, xp.isinf(w))
    w = xp.where(infinite, xp.zeros_like(w), w)
    top = xp.max(w) if batch else xp.max(w, axis=1, keepdims=True)
    w = xp.where(infinite, top * xp.ones_like(w), w)
    last = 0 if batch else 1
    numer = 2.0 * xp.sum(tp * w, axis=last) + opts["smooth_nr"]
    denom = xp.sum((2.0 * tp + fp + fn) * w, axis=last) + opts["smooth_dr"]
    f = 1.0 - numer / denom  # (B,), or () with batch=True
    f = xp.reshape(f, (1,) if batch else (f.shape[0], 1))  # MONAI's keepdim
    none_shape = tuple(f.shape[:2]) + (1,) * (input.ndim - 2)
    return _reduce(xp, f, opts["reduction"], over, none_shape)


@half_precision
def _dice_ce(input: Any, target: Any, *, opts: Any, weight: Any, denominator: Any) -> Any:
    why = "the sum of a Dice mean over B * N and a cross-entropy mean over the voxels"
    no_denominator(denominator, loss="DiceCELoss", why=why)
    xp, input, target = setup(input, target=target)
    _check_pair(input, target)
    _check_input(input)
    n = input.shape[1]
    dice_weight = weight
    if weight is not None:
        w = _weight_on(xp, weight, input, n)
        dice_weight = w[1:] if not opts["include_background"] and w.ndim == 1 else w
        weight = w
    dice = _dice_terms(xp, input, target, opts, dice_weight, None)
    reduction, smoothing = opts["reduction"], opts["label_smoothing"]
    if n != 1:
        if target.shape[1] == 1:  # class indices: torch's CE takes them without the channel
            labels = target if xp.isdtype(target.dtype, "integral") else xp.astype(target, xp.int32)
            labels = xp.reshape(labels, tuple(labels.shape[:1]) + tuple(labels.shape[2:]))
            ce = cross_entropy(
                input, labels, weight, reduction=reduction, label_smoothing=smoothing
            )
        else:  # class probabilities of the input's shape
            t = target if target.dtype == input.dtype else xp.astype(target, input.dtype)
            ce = cross_entropy(input, t, weight, reduction=reduction, label_smoothing=smoothing)
    else:  # one channel: BCE with logits, the weight as pos_weight (MONAI's bce)
        t = target if target.dtype == input.dtype else xp.astype(target, input.dtype)
        ce = binary_cross_entropy_with_logits(input, t, reduction=reduction, pos_weight=weight)
    return opts["lambda_dice"] * dice + opts["lambda_ce"] * ce


def _sigmoid_focal(xp: Any, x: Any, t: Any, gamma: float, alpha: float | None) -> Any:
    """MONAI's ``sigmoid_focal_loss`` (``focal_loss.py``), element-wise:

    ``(x - x t - log sigmoid(x)) * exp(gamma * log sigmoid(-x (2 t - 1)))``, times
    ``t alpha + (1 - t) (1 - alpha)`` with a scalar alpha. For soft targets this is not
    torchvision's ``(1 - p_t)^gamma`` (:func:`lossbridge.sigmoid_focal_loss`).
    """
    bce = x - x * t - log_sigmoid(xp, x)
    loss = xp.exp(gamma * log_sigmoid(xp, -x * (t * 2.0 - 1.0))) * bce
    if alpha is not None:
        loss = (t * alpha + (1.0 - t) * (1.0 - alpha)) * loss
    return loss


@half_precision
def _dice_focal(input: Any, target: Any, *, opts: Any, weight: Any, denominator: Any) -> Any:
    why = "the sum of a Dice mean over B * N and a focal mean over the voxels"
    no_denominator(denominator, loss="DiceFocalLoss", why=why)
    xp, input, target = setup(input, target=target)
    _check_pair(input, target)
    _check_input(input)
    n = input.shape[1]
    if opts["to_onehot_y"]:
        if n == 1:
            _warn_single("to_onehot_y=True", input)
        else:
            target = _one_hot(xp, target, n)
    dice_opts = {**opts, "to_onehot_y": False}
    dice = _dice_terms(xp, input, target, dice_opts, weight, None)
    # MONAI's FocalLoss(include_background, to_onehot_y=False, gamma, weight, alpha, reduction)
    x, t = _prepare(
        xp, input, target, to_onehot_y=False, include_background=opts["include_background"]
    )
    loss = _sigmoid_focal(xp, x, t, opts["gamma"], opts["alpha"])
    if weight is not None:
        w = _weight_on(xp, weight, loss, loss.shape[1])
        if w.ndim == 1 and loss.shape[1] == 1:
            raise ValueError(
                "weight: a per-class weight is not supported for single-channel outputs "
                "(MONAI's FocalLoss); pass one number"
            )
        loss = loss * _per_class(xp, w, loss.ndim)
    reduction = opts["reduction"]
    if reduction == "sum":  # MONAI averages the spatial axes first, then sums
        focal = xp.sum(xp.mean(loss, axis=tuple(range(2, loss.ndim))))
    elif reduction == "mean":
        focal = xp.mean(loss)
    else:
        focal = loss
    return opts["lambda_dice"] * dice + opts["lambda_focal"] * focal


# ------------------------------------------------------------------------------------------
# The classes
# ------------------------------------------------------------------------------------------


class _MonaiLoss:
    """The base: calling an object calls :meth:`forward`; ``mean_denominator`` support."""

    reduction: str
    #: Parameters shown by ``repr`` and passed to the computation.
    _fields: ClassVar[tuple[str, ...]] = ()
    # AutoGraph calls an object carrying this attribute as it is (see lossbridge.__init__).
    autograph_info__: ClassVar[dict[str, Any]] = {}

    def forward(self, input: Any, target: Any, *, denominator: Any = None) -> Any:
        raise NotImplementedError  # pragma: no cover - every public class defines it

    def __call__(
        self, input: ArrayT, target: ArrayLike, *, denominator: ArrayLike | float | None = None
    ) -> ArrayT:
        """Call :meth:`forward`."""
        out: ArrayT = self.forward(input, target, denominator=denominator)
        return out

    def _opts(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self._fields}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def _mean_denominator(self, *args: Any, **kwargs: Any) -> Any:
        """``lossbridge.mean_denominator(loss, input, target)``: the count this object's
        ``'mean'`` divides by (``forward`` computes it)."""
        name = type(self).__name__
        if self.reduction != "mean":
            raise ValueError(
                f"{name}: mean_denominator needs reduction='mean' (the count its mean divides "
                f"by); got reduction={self.reduction!r}"
            )
        if "denominator" in kwargs:
            raise TypeError(
                f"{name}: mean_denominator takes no denominator= (it returns the count)"
            )
        return self.forward(*args, denominator=COUNT, **kwargs)


_ARGS_DOC = """\
    include_background : bool, default True
        False: channel 0 (the background) is left out of the loss.
    to_onehot_y : bool, default False
        ``target`` holds class indices of shape (B, 1, H[, W, D]) (integer or floating), made
        one-hot over the input's N channels (ignored, with MONAI's warning, for one channel).
    sigmoid : bool, default False
        Apply a sigmoid to ``input`` (logits), channel by channel.
    softmax : bool, default False
        Apply a softmax over the channels (ignored, with MONAI's warning, for one channel).
    other_act : callable, optional
        Another activation, applied to ``input`` (at most one of the three). It is called on
        an array of the caller's framework (float32 for half inputs): a function of that
        framework (``torch.tanh``, ``jnp.tanh``, ``tf.math.tanh``, ``np.tanh``), or one of
        arithmetic operators only (``lambda x: x * x``), which serves every backend."""

_SMOOTH_DOC = """\
    smooth_nr : float, default 1e-5
        Added to the numerator of the index.
    smooth_dr : float, default 1e-5
        Added to the denominator of the index.
    batch : bool, default False
        Sum over the batch axis too: one index per class for the whole batch."""

_FORWARD_DOC = """\
        Parameters
        ----------
        input : array, shape (B, N, H[, W, D])
            Predictions (logits with ``sigmoid``/``softmax``, else probabilities), any
            floating dtype.
        target : array
            One-hot or soft labels of the input's shape; or (B, 1, H[, W, D]) class indices
            with ``to_onehot_y=True``.
        denominator : float or 0-d array, optional
            ``reduction='mean'`` and ``batch=False`` only: divide the sum of the per-sample
            losses by this instead of their count (:func:`lossbridge.mean_denominator`
            returns the count), for means across shards."""


class DiceLoss(_MonaiLoss):
    r"""Dice loss (or soft Jaccard) per sample and class, MONAI's ``DiceLoss``.

    .. math::

        L_{bc} = w_c \left(1 - \frac{2\,TP + s_{nr}}{P + G + s_{dr}}\right),
        \qquad TP = \sum_i p_i t_i,\ P = \sum_i p_i^k,\ G = \sum_i t_i^k

    over the spatial positions :math:`i` of sample :math:`b`, class :math:`c` (and over the
    batch with ``batch=True``); :math:`k = 2` with ``squared_pred``, else 1. ``jaccard=True``:
    :math:`1 - (2 TP + s_{nr}) / (2 (P + G - TP) + s_{dr})`. ``soft_label=True`` (with
    :math:`k = 1`): :math:`P = \sum |p|`, :math:`G = \sum |t|`,
    :math:`TP = (P + G - \sum |p - t|) / 2` (Wang et al. 2023's semimetric).

    Parameters
    ----------
    {ARGS}
    squared_pred : bool, default False
        Use :math:`\sum p^2` and :math:`\sum t^2` in the denominator.
    jaccard : bool, default False
        The soft Jaccard index (IoU) instead of Dice.
    reduction : {'mean', 'sum', 'none'}, default 'mean'
        ``'none'``: shape (B, N, 1, ..., 1) (input's number of axes), (N, 1, ..., 1) with
        ``batch=True``; ``'mean'``: the mean of the B N (weighted) losses, weights or not;
        ``'sum'``: their sum.
    {SMOOTH}
    weight : number, sequence or array, optional
        A weight (>= 0) per class (N, or N - 1 without the background), or one for all;
        ignored when one class is left.
    soft_label : bool, default False
        The soft-label formulation above.
    ignore_index : int, optional
        Pixels left out of every class's sums (MONAI's ``create_ignore_mask``): with (B, 1, ...)
        class indices, those equal to it (a sentinel outside [0, N) counts as class 0 for the
        one-hot, then is masked); with a one-hot target, the pixels of that class (a valid
        index) or the pixels with no class (a sentinel).

    Notes
    -----
    ``lossbridge.dice_loss(smooth=s)`` is ``DiceLoss(smooth_nr=2s, smooth_dr=2s)`` up to its
    ``eps`` floor, its absent-class convention (0 where MONAI's ``0 / 0`` is NaN with both
    smooth terms 0) and its weighted mean (by :math:`B \sum_c w_c`; MONAI's by :math:`B N`).

    References
    ----------
    Milletari, Navab and Ahmadi, "V-Net", 3DV 2016, arXiv:1606.04797. Wang et al., "Dice
    Semimetric Losses: Optimizing the Dice Score with Soft Labels", MICCAI 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.monai import DiceLoss
    >>> x = np.array([[[[2.0, -1.0], [0.5, 0.0]], [[-1.0, 1.0], [0.0, 2.0]]]])  # (1, 2, 2, 2)
    >>> y = np.array([[[[0, 1], [0, 1]]]])  # class indices, (1, 1, 2, 2)
    >>> loss = DiceLoss(softmax=True, to_onehot_y=True, reduction="none")(x, y)
    >>> p = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    >>> t = np.stack([y[:, 0] == 0, y[:, 0] == 1], axis=1).astype(float)
    >>> tp, P, G = (p * t).sum((2, 3)), p.sum((2, 3)), t.sum((2, 3))
    >>> expected = 1 - (2 * tp + 1e-5) / (P + G + 1e-5)
    >>> loss.shape, bool(np.allclose(loss[..., 0, 0], expected))
    ((1, 2, 1, 1), True)
    """

    _fields = (
        "include_background",
        "to_onehot_y",
        "sigmoid",
        "softmax",
        "other_act",
        "squared_pred",
        "jaccard",
        "reduction",
        "smooth_nr",
        "smooth_dr",
        "batch",
        "soft_label",
        "ignore_index",
    )

    def __init__(
        self,
        include_background: bool = True,
        to_onehot_y: bool = False,
        sigmoid: bool = False,
        softmax: bool = False,
        other_act: Callable[[Any], Any] | None = None,
        squared_pred: bool = False,
        jaccard: bool = False,
        reduction: str = "mean",
        smooth_nr: float = 1e-5,
        smooth_dr: float = 1e-5,
        batch: bool = False,
        weight: Sequence[float] | float | ArrayLike | None = None,
        soft_label: bool = False,
        ignore_index: int | None = None,
    ) -> None:
        _activation(sigmoid, softmax, other_act)
        name = type(self).__name__
        self.include_background = _bool(include_background, "include_background")
        self.to_onehot_y = _bool(to_onehot_y, "to_onehot_y")
        self.sigmoid, self.softmax, self.other_act = sigmoid, softmax, other_act
        self.squared_pred = _bool(squared_pred, "squared_pred")
        self.jaccard = _bool(jaccard, "jaccard")
        self.reduction = check_reduction(reduction)
        self.smooth_nr = _smooth(smooth_nr, "smooth_nr", name)
        self.smooth_dr = _smooth(smooth_dr, "smooth_dr", name)
        self.batch = _bool(batch, "batch")
        self.class_weight = _class_weight(weight)
        self.soft_label = _bool(soft_label, "soft_label")
        self.ignore_index = _ignore_index(ignore_index)

    def forward(
        self, input: ArrayT, target: ArrayLike, *, denominator: ArrayLike | float | None = None
    ) -> ArrayT:
        """The loss of ``input`` against ``target``.

        {FORWARD}
        """
        out: ArrayT = _dice(
            input, target, opts=self._opts(), weight=self.class_weight, denominator=denominator
        )
        return out


class TverskyLoss(_MonaiLoss):
    r"""Tversky loss per sample and class, MONAI's ``TverskyLoss``.

    .. math::

        L_{bc} = 1 - \frac{TP + s_{nr}}{TP + \alpha\,FP + \beta\,FN + s_{dr}},
        \qquad TP = \sum_i p_i t_i,\ FP = \sum_i p_i (1 - t_i),\ FN = \sum_i (1 - p_i) t_i

    over the spatial positions of sample :math:`b`, class :math:`c` (and the batch with
    ``batch=True``); ``soft_label=True``: :math:`FP = P - TP`, :math:`FN = G - TP` with
    :math:`P = \sum |p|`, :math:`G = \sum |t|`, :math:`TP = (P + G - \sum |p - t|) / 2`.
    :math:`\alpha` weights the false positives (Salehi et al.), as ``lossbridge.tversky_loss``.

    Parameters
    ----------
    {ARGS}
    alpha : float, default 0.5
        Weight of the false positives.
    beta : float, default 0.5
        Weight of the false negatives.
    reduction : {'mean', 'sum', 'none'}, default 'mean'
        ``'none'``: shape (B, N) ((N,) with ``batch=True``), MONAI's; ``'mean'``: their mean;
        ``'sum'``: their sum.
    {SMOOTH}
    soft_label : bool, default False
        The soft-label formulation above.
    ignore_index : int, optional
        Pixels left out of every class's sums (MONAI's ``create_ignore_mask``): with (B, 1, ...)
        class indices, those equal to it (a sentinel outside [0, N) counts as class 0 for the
        one-hot, then is masked); with a one-hot target, the pixels of that class (a valid
        index) or the pixels with no class (a sentinel).

    References
    ----------
    Salehi, Erdogmus and Gholipour, "Tversky loss function for image segmentation using 3D
    fully convolutional deep networks", MLMI 2017, arXiv:1706.05721.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.monai import TverskyLoss
    >>> p = np.array([[[[0.9, 0.2], [0.6, 0.1]]]])  # probabilities, (1, 1, 2, 2)
    >>> t = np.array([[[[1.0, 0.0], [1.0, 0.0]]]])
    >>> tp, fp, fn = (p * t).sum(), (p * (1 - t)).sum(), ((1 - p) * t).sum()
    >>> loss = TverskyLoss(alpha=0.3, beta=0.7)(p, t)
    >>> bool(np.isclose(loss, 1 - (tp + 1e-5) / (tp + 0.3 * fp + 0.7 * fn + 1e-5)))
    True
    """

    _fields = (
        "include_background",
        "to_onehot_y",
        "sigmoid",
        "softmax",
        "other_act",
        "alpha",
        "beta",
        "reduction",
        "smooth_nr",
        "smooth_dr",
        "batch",
        "soft_label",
        "ignore_index",
    )

    def __init__(
        self,
        include_background: bool = True,
        to_onehot_y: bool = False,
        sigmoid: bool = False,
        softmax: bool = False,
        other_act: Callable[[Any], Any] | None = None,
        alpha: float = 0.5,
        beta: float = 0.5,
        reduction: str = "mean",
        smooth_nr: float = 1e-5,
        smooth_dr: float = 1e-5,
        batch: bool = False,
        soft_label: bool = False,
        ignore_index: int | None = None,
    ) -> None:
        _activation(sigmoid, softmax, other_act)
        name = type(self).__name__
        self.include_background = _bool(include_background, "include_background")
        self.to_onehot_y = _bool(to_onehot_y, "to_onehot_y")
        self.sigmoid, self.softmax, self.other_act = sigmoid, softmax, other_act
        self.alpha = check_real(alpha, "alpha", loss=name, what="weight of the FP", finite=True)
        self.beta = check_real(beta, "beta", loss=name, what="weight of the FN", finite=True)
        self.reduction = check_reduction(reduction)
        self.smooth_nr = _smooth(smooth_nr, "smooth_nr", name)
        self.smooth_dr = _smooth(smooth_dr, "smooth_dr", name)
        self.batch = _bool(batch, "batch")
        self.soft_label = _bool(soft_label, "soft_label")
        self.ignore_index = _ignore_index(ignore_index)

    def forward(
        self, input: ArrayT, target: ArrayLike, *, denominator: ArrayLike | float | None = None
    ) -> ArrayT:
        """The loss of ``input`` against ``target``.

        {FORWARD}
        """
        out: ArrayT = _tversky(input, target, opts=self._opts(), denominator=denominator)
        return out


class GeneralizedDiceLoss(_MonaiLoss):
    r"""Generalised Dice loss per sample, MONAI's ``GeneralizedDiceLoss`` (Sudre et al. 2017).

    .. math::

        L_b = 1 - \frac{2 \sum_c w_{bc} TP_{bc} + s_{nr}}{\sum_c w_{bc} (P_{bc} + G_{bc})
              + s_{dr}},
        \qquad w_{bc} = V_{bc}^{-2}\ (\text{'square'}),\ V_{bc}^{-1}\ (\text{'simple'}),\
        1\ (\text{'uniform'})

    with :math:`V_{bc} = \sum_i t_i` the target volume of class :math:`c` in sample :math:`b`
    (TP, P, G as in :class:`DiceLoss` with :math:`k = 1`); a class absent from the target
    (infinite weight) takes the largest finite weight of its sample. With ``batch=True`` the
    sums, the weights and the largest weight run over the whole batch: one loss.

    Parameters
    ----------
    {ARGS}
    w_type : {'square', 'simple', 'uniform'}, default 'square'
        The class weight from the target volume.
    reduction : {'mean', 'sum', 'none'}, default 'mean'
        ``'none'``: shape (B, 1, 1, ..., 1) (the input's number of axes), (1, 1, ..., 1) (one
        axis fewer) with ``batch=True``: MONAI's; ``'mean'``: the mean over the samples.
    {SMOOTH}
    soft_label : bool, default False
        The soft-label formulation of :class:`DiceLoss` for TP, P and G (the volumes stay
        plain sums).

    Notes
    -----
    MONAI computes the weights in float32 (``w_func(ground_o.float())``) even on float64
    input; here they are in the input's dtype (float64 results differ from MONAI's by up to
    about 1e-8).

    References
    ----------
    Sudre et al., "Generalised Dice overlap as a deep learning loss function for highly
    unbalanced segmentations", DLMIA 2017, arXiv:1707.03237.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.monai import GeneralizedDiceLoss
    >>> p = np.array([[[[0.9, 0.2], [0.6, 0.1]], [[0.1, 0.8], [0.4, 0.9]]]])  # (1, 2, 2, 2)
    >>> t = np.array([[[[1.0, 0.0], [0.0, 0.0]], [[0.0, 1.0], [1.0, 1.0]]]])
    >>> w = 1 / t.sum((2, 3)) ** 2
    >>> tp, pg = (p * t).sum((2, 3)), (p + t).sum((2, 3))
    >>> expected = 1 - (2 * (w * tp).sum() + 1e-5) / ((w * pg).sum() + 1e-5)
    >>> bool(np.isclose(GeneralizedDiceLoss()(p, t), expected))
    True
    """

    _fields = (
        "include_background",
        "to_onehot_y",
        "sigmoid",
        "softmax",
        "other_act",
        "w_type",
        "reduction",
        "smooth_nr",
        "smooth_dr",
        "batch",
        "soft_label",
    )

    def __init__(
        self,
        include_background: bool = True,
        to_onehot_y: bool = False,
        sigmoid: bool = False,
        softmax: bool = False,
        other_act: Callable[[Any], Any] | None = None,
        w_type: str = "square",
        reduction: str = "mean",
        smooth_nr: float = 1e-5,
        smooth_dr: float = 1e-5,
        batch: bool = False,
        soft_label: bool = False,
    ) -> None:
        _activation(sigmoid, softmax, other_act)
        name = type(self).__name__
        self.include_background = _bool(include_background, "include_background")
        self.to_onehot_y = _bool(to_onehot_y, "to_onehot_y")
        self.sigmoid, self.softmax, self.other_act = sigmoid, softmax, other_act
        w_type = str(getattr(w_type, "value", w_type))  # MONAI's Weight enum too
        if w_type not in _W_TYPES:
            raise ValueError(
                f"w_type={w_type!r} is not supported; expected one of "
                + ", ".join(repr(w) for w in _W_TYPES)
            )
        self.w_type = w_type
        self.reduction = check_reduction(reduction)
        self.smooth_nr = _smooth(smooth_nr, "smooth_nr", name)
        self.smooth_dr = _smooth(smooth_dr, "smooth_dr", name)
        self.batch = _bool(batch, "batch")
        self.soft_label = _bool(soft_label, "soft_label")

    def forward(
        self, input: ArrayT, target: ArrayLike, *, denominator: ArrayLike | float | None = None
    ) -> ArrayT:
        """The loss of ``input`` against ``target``.

        {FORWARD}
        """
        out: ArrayT = _generalized_dice(input, target, opts=self._opts(), denominator=denominator)
        return out


class DiceCELoss(_MonaiLoss):
    r"""Dice loss plus cross-entropy, MONAI's ``DiceCELoss``.

    .. math::

        L = \lambda_{dice}\,\text{DiceLoss}(x, y) + \lambda_{ce}\,\text{CE}(x, y)

    ``DiceLoss`` with this object's Dice options (its ``weight`` without the background's
    entry when ``include_background=False``); CE is ``torch.nn.CrossEntropyLoss(weight,
    reduction, label_smoothing)`` of the logits ``x`` (:func:`lossbridge.cross_entropy`) against
    the class indices (a (B, 1, ...) target, the channel axis dropped) or the class
    probabilities (a target of the input's shape), or for one channel
    ``torch.nn.BCEWithLogitsLoss(pos_weight=weight)``
    (:func:`lossbridge.binary_cross_entropy_with_logits`). The activations apply to the Dice
    term only.

    Parameters
    ----------
    {ARGS}
    squared_pred, jaccard : bool, default False
        As in :class:`DiceLoss`.
    reduction : {'mean', 'sum'}, default 'mean'
        Both terms' reduction (MONAI has no ``'none'`` here).
    {SMOOTH}
    weight : array or sequence, optional
        The class weight of the cross-entropy (``pos_weight`` for one channel), also the Dice
        term's.
    lambda_dice, lambda_ce : float >= 0, default 1.0
        Weights of the two terms.
    label_smoothing : float in [0, 1], default 0.0
        The cross-entropy's label smoothing (torch's).

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge
    >>> from lossbridge.monai import DiceCELoss, DiceLoss
    >>> x = np.array([[[[2.0, -1.0], [0.5, 0.0]], [[-1.0, 1.0], [0.0, 2.0]]]])  # (1, 2, 2, 2)
    >>> y = np.array([[[[0, 1], [0, 1]]]])
    >>> dice = DiceLoss(softmax=True, to_onehot_y=True)(x, y)
    >>> logp = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    >>> ce = -np.take_along_axis(logp, y, axis=1).mean()
    >>> loss = DiceCELoss(softmax=True, to_onehot_y=True, lambda_ce=0.5)(x, y)
    >>> bool(np.isclose(loss, dice + 0.5 * ce))
    True
    """

    _fields = (
        "include_background",
        "to_onehot_y",
        "sigmoid",
        "softmax",
        "other_act",
        "squared_pred",
        "jaccard",
        "reduction",
        "smooth_nr",
        "smooth_dr",
        "batch",
        "lambda_dice",
        "lambda_ce",
        "label_smoothing",
    )

    def __init__(
        self,
        include_background: bool = True,
        to_onehot_y: bool = False,
        sigmoid: bool = False,
        softmax: bool = False,
        other_act: Callable[[Any], Any] | None = None,
        squared_pred: bool = False,
        jaccard: bool = False,
        reduction: str = "mean",
        smooth_nr: float = 1e-5,
        smooth_dr: float = 1e-5,
        batch: bool = False,
        weight: Sequence[float] | ArrayLike | None = None,
        lambda_dice: float = 1.0,
        lambda_ce: float = 1.0,
        label_smoothing: float = 0.0,
    ) -> None:
        _activation(sigmoid, softmax, other_act)
        name = type(self).__name__
        self.include_background = _bool(include_background, "include_background")
        self.to_onehot_y = _bool(to_onehot_y, "to_onehot_y")
        self.sigmoid, self.softmax, self.other_act = sigmoid, softmax, other_act
        self.squared_pred = _bool(squared_pred, "squared_pred")
        self.jaccard = _bool(jaccard, "jaccard")
        self.reduction = check_reduction(reduction, ("mean", "sum"))
        self.smooth_nr = _smooth(smooth_nr, "smooth_nr", name)
        self.smooth_dr = _smooth(smooth_dr, "smooth_dr", name)
        self.batch = _bool(batch, "batch")
        self.weight = _class_weight(weight)
        self.lambda_dice = _lambda(lambda_dice, "lambda_dice", name)
        self.lambda_ce = _lambda(lambda_ce, "lambda_ce", name)
        self.label_smoothing = check_real(
            label_smoothing, "label_smoothing", loss=name, finite=True, low=0.0, high=1.0
        )

    def forward(
        self, input: ArrayT, target: ArrayLike, *, denominator: ArrayLike | float | None = None
    ) -> ArrayT:
        """The loss of logits ``input`` against ``target`` (class indices or one-hot).

        Parameters
        ----------
        input : array, shape (B, N, H[, W, D])
            Logits.
        target : array
            (B, 1, H[, W, D]) class indices, or one-hot labels of the input's shape.
        denominator : None
            Refused (``ValueError``): the loss is the sum of two means with different counts.
        """
        out: ArrayT = _dice_ce(
            input, target, opts=self._opts(), weight=self.weight, denominator=denominator
        )
        return out


class DiceFocalLoss(_MonaiLoss):
    r"""Dice loss plus sigmoid focal loss, MONAI's ``DiceFocalLoss``.

    .. math::

        L = \lambda_{dice}\,\text{DiceLoss}(x, y) + \lambda_{focal}\,\text{FL}(x, y),
        \qquad \text{FL} = a_t\, e^{\gamma \log \sigma(-x (2 t - 1))}
                         \left(x - x t - \log \sigma(x)\right)

    element-wise on the logits ``x`` (MONAI's ``sigmoid_focal_loss``: for soft targets this
    is not torchvision's :math:`(1 - p_t)^\gamma`), with :math:`a_t = \alpha t + (1 - \alpha)
    (1 - t)` when ``alpha`` is given, times the class ``weight``; without the background
    channel when ``include_background=False``. The activations apply to the Dice term only.
    FL's ``'mean'`` is the mean over every element, its ``'sum'`` the sum over samples and
    classes of the spatial means (MONAI's), its ``'none'`` the (B, N, H[, W, D]) losses, to
    which the Dice term's (B, N, 1, ..., 1) is added.

    Parameters
    ----------
    {ARGS}
    squared_pred, jaccard : bool, default False
        As in :class:`DiceLoss`.
    reduction : {'mean', 'sum', 'none'}, default 'mean'
        Both terms' reduction.
    {SMOOTH}
    gamma : float, default 2.0
        The focal exponent.
    weight : number, sequence or array, optional
        A weight per class (without the background with ``include_background=False``), or
        one for all, for both terms.
    lambda_dice, lambda_focal : float >= 0, default 1.0
        Weights of the two terms.
    alpha : float in [0, 1], optional
        The focal loss's balance of the positives.

    Notes
    -----
    MONAI's ``FocalLoss`` computes in float32 (``input.float()``) whatever the input's dtype;
    here the input's dtype is kept (float32 for half inputs).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.monai import DiceFocalLoss, DiceLoss
    >>> x = np.array([[[[2.0, -1.0], [0.5, 0.0]]]])  # one channel of logits, (1, 1, 2, 2)
    >>> t = np.array([[[[1.0, 0.0], [1.0, 0.0]]]])
    >>> p = 1 / (1 + np.exp(-x))
    >>> pt = np.where(t == 1, p, 1 - p)
    >>> focal = (-((1 - pt) ** 2) * np.log(pt)).mean()
    >>> dice = DiceLoss(sigmoid=True)(x, t)
    >>> bool(np.isclose(DiceFocalLoss(sigmoid=True)(x, t), dice + focal))
    True
    """

    _fields = (
        "include_background",
        "to_onehot_y",
        "sigmoid",
        "softmax",
        "other_act",
        "squared_pred",
        "jaccard",
        "reduction",
        "smooth_nr",
        "smooth_dr",
        "batch",
        "gamma",
        "lambda_dice",
        "lambda_focal",
        "alpha",
    )

    def __init__(
        self,
        include_background: bool = True,
        to_onehot_y: bool = False,
        sigmoid: bool = False,
        softmax: bool = False,
        other_act: Callable[[Any], Any] | None = None,
        squared_pred: bool = False,
        jaccard: bool = False,
        reduction: str = "mean",
        smooth_nr: float = 1e-5,
        smooth_dr: float = 1e-5,
        batch: bool = False,
        gamma: float = 2.0,
        weight: Sequence[float] | float | ArrayLike | None = None,
        lambda_dice: float = 1.0,
        lambda_focal: float = 1.0,
        alpha: float | None = None,
    ) -> None:
        _activation(sigmoid, softmax, other_act)
        name = type(self).__name__
        self.include_background = _bool(include_background, "include_background")
        self.to_onehot_y = _bool(to_onehot_y, "to_onehot_y")
        self.sigmoid, self.softmax, self.other_act = sigmoid, softmax, other_act
        self.squared_pred = _bool(squared_pred, "squared_pred")
        self.jaccard = _bool(jaccard, "jaccard")
        self.reduction = check_reduction(reduction)
        self.smooth_nr = _smooth(smooth_nr, "smooth_nr", name)
        self.smooth_dr = _smooth(smooth_dr, "smooth_dr", name)
        self.batch = _bool(batch, "batch")
        self.gamma = check_real(gamma, "gamma", loss=name, what="focal exponent", finite=True)
        self.weight = _class_weight(weight)
        self.lambda_dice = _lambda(lambda_dice, "lambda_dice", name)
        self.lambda_focal = _lambda(lambda_focal, "lambda_focal", name)
        self.alpha = (
            None
            if alpha is None
            else check_real(alpha, "alpha", loss=name, what="balance", low=0.0, high=1.0)
        )

    def forward(
        self, input: ArrayT, target: ArrayLike, *, denominator: ArrayLike | float | None = None
    ) -> ArrayT:
        """The loss of logits ``input`` against ``target`` (class indices or one-hot).

        Parameters
        ----------
        input : array, shape (B, N, H[, W, D])
            Logits (the focal term applies its own sigmoid).
        target : array
            (B, 1, H[, W, D]) class indices with ``to_onehot_y=True``, else labels of the
            input's shape.
        denominator : None
            Refused (``ValueError``): the loss is the sum of two means with different counts.
        """
        out: ArrayT = _dice_focal(
            input, target, opts=self._opts(), weight=self.weight, denominator=denominator
        )
        return out


for _cls in (DiceLoss, TverskyLoss, GeneralizedDiceLoss, DiceCELoss, DiceFocalLoss):
    _doc = (_cls.__doc__ or "").replace("    {ARGS}", _ARGS_DOC)
    _cls.__doc__ = _doc.replace("    {SMOOTH}", _SMOOTH_DOC)
    _fwd = _cls.__dict__["forward"]
    _fwd.__doc__ = (_fwd.__doc__ or "").replace("        {FORWARD}", _FORWARD_DOC)

name_public_errors(globals(), methods=("__init__", "forward"))
