r"""The Keras 3 dialect: every loss of ``keras.losses`` (Keras 3.15.1), same names and numbers.

Every function and class of ``keras.losses`` with Keras's names, parameters, defaults and
argument order ``(y_true, y_pred)``, computed by the lossbridge core on NumPy, torch, JAX,
TensorFlow or array-api-strict arrays (eager and compiled). The classes take Keras's
``reduction``, ``name`` and ``dtype`` and are called as ``loss(y_true, y_pred,
sample_weight=None)``; the functions return Keras's per-sample loss (no reduction).

``import lossbridge.keras`` imports no framework, not even Keras. A Keras user passes the
classes to ``model.compile(loss=...)``: once ``keras`` is imported, an instance is also a
``keras.losses.Loss``, whatever the import order (see :class:`Loss`), so Keras calls it with the
sample weights and it reduces them as Keras's own class does. The classes and functions are
registered for Keras serialization as ``"lossbridge>Name"``: ``keras.models.load_model`` needs
no ``custom_objects`` where ``lossbridge.keras`` is imported (before or after Keras). A core
(torch-order) loss given to ``compile`` raises an error that names the loss to use here
(``docs/porting.md``, "Keras: saving and loading" and "Keras: compile with a core function").

Keras numerics reproduced here (``keras/src/losses/losses.py`` and ``loss.py``, and the
TensorFlow backend's ``keras/src/backend/tensorflow/nn.py``):

* probabilities are clipped to :math:`[\epsilon, 1 - \epsilon]` with :math:`\epsilon = 10^{-7}`
  **in the compute dtype**: in float32 the upper bound rounds to 0.99999988, so
  :math:`-\log(1 - p)` at :math:`p = 1` is 15.942 where :math:`-\log \epsilon` is 16.118
  (reference section 3.1); in float64 both ends give 16.118;
* categorical cross-entropy on probabilities renormalises them to sum to 1 before clipping;
* categorical label smoothing (cross-entropy and focal) divides by ``y_true.shape[-1]`` even
  when ``axis`` names another class axis (Keras 3.15.1; keras PR 23437 changed it after);
* ``log_cosh`` subtracts :math:`\log 2` rounded to float32 (Keras's ``ops.log(2.0)``): float64
  losses come out 1.9e-9 below the exact ones, as Keras's do;
* elementwise losses (MSE, MAE, MAPE, MSLE, Huber, LogCosh, Poisson, BCE, binary focal, Hinge,
  SquaredHinge) take the **mean over the last axis**, so 1-D inputs give a scalar and
  ``reduction=None`` gives per-sample values, not elementwise ones (section 3.3);
* hinge labels in {0, 1} become {-1, 1} only when **every** label of the call is 0 or 1
  (written with ``where`` on a whole-array test, so it also runs under tracing);
* ``(N,)`` against ``(N, 1)``: the classes (and the functions that do so in Keras) first apply
  Keras's ``squeeze_or_expand_to_same_rank``;
* reductions: ``'sum_over_batch_size'`` and ``'mean'`` divide the (weighted) sum by the number
  of elements of the per-sample loss, ``'mean_with_sample_weight'`` by the sum of the sample
  weights, ``'sum'`` sums, ``None``/``'none'`` return the per-sample loss; a 0-d or empty (0,)
  per-sample loss is returned unreduced, and a zero divisor gives 0 (``divide_no_nan``);
* a Keras mask (``SparseCategoricalCrossentropy(ignore_class=...)``, ``Circle``'s positive
  losses) reweights the valid items by total/valid for ``'sum_over_batch_size'``/``'mean'``,
  so those reductions average over the valid items only; every item ignored gives 0.0.

Global means (issue 16; gradient accumulation, data parallelism): a class's call takes a
keyword-only ``denominator=`` for the reductions that divide (``'sum_over_batch_size'``,
``'mean'``, ``'mean_with_sample_weight'``): the weighted sum of the unmasked per-sample losses
divided by it in place of Keras's divisor, which ``lossbridge.mean_denominator(loss, y_true,
y_pred, sample_weight=None)`` returns: the element count of the per-sample loss (the unmasked
ones under a Keras mask) or the sum of the sample weights (``'mean_with_sample_weight'``).
Summed over the shards of a batch into ``D``, ``sum(loss(shard, denominator=D))`` is Keras's
loss of the whole batch. Keras's ``divide_no_nan`` is kept: a zero denominator gives 0, as
Keras gives for a batch with every item masked or weighted 0 (the core losses give NaN there,
as torch). A 0-d per-sample loss, which Keras returns undivided, counts 1, and with a
denominator the result is always 0-d.

Conventions chosen where Keras is not one thing:

* **dtype.** The classes follow Keras's ``Loss``: both arrays are cast to ``dtype`` (a dtype
  name, a policy name such as ``'mixed_float16'``, or a ``DTypePolicy``: its compute dtype;
  None means ``keras.config.floatx()`` at construction, float32 unless set, read only if Keras
  is imported), the loss and the reduction run in it and :attr:`Loss.dtype` names it; float16
  logits give a float32 loss by default. One exception: with ``dtype=None`` a **float64
  prediction stays float64** (Keras casts it to float32, so a float64 MSE of 1e-18 becomes
  0.0, section 3.14; pass ``dtype='float32'`` for that). The functions keep ``y_pred``'s
  dtype, as Keras's do.
* **Half compute dtypes.** Where the compute dtype is float16 or bfloat16 (given, a mixed
  policy, or a half input to a function), the arrays are rounded to it as Keras rounds them,
  the loss computes in float32 and the result is rounded once (the core's rule,
  :mod:`lossbridge._precision`); Keras computes every step in half. Keras's clip bounds are
  kept in the half dtype: :math:`1 - 10^{-7}` rounds to 1.0 in both, and :math:`10^{-7}` is
  1.19e-7 in float16 (a subnormal) and 1.0012e-7 in bfloat16. At p = 1 Keras's half
  ``log(1 - p)`` is ``-inf``: its BCE gives inf (y = 0) and NaN (y = 1); here the core's
  log clamp at -100 gives 100 and 0 (``docs/porting.md``, Precision, has the numbers).
* **Backends.** Where Keras's own backends disagree (section 3.14), the numbers are the
  TensorFlow backend's on every path that does not depend on how the input tensor was made:
  ``BinaryFocalCrossentropy(from_logits=True)`` computes the cross-entropy from the logits
  (TF: 100 at logit 100; Keras's JAX/torch/NumPy backends clip the sigmoid and give 15.94).
  The TF backend also switches silently to the logits path when ``y_pred`` is the output of
  a Keras ``sigmoid``/``softmax`` op (the hidden ``_keras_logits`` attribute); that depends on
  the tensor's history and is **not** reproduced: probabilities are clipped as on the other
  backends (``binary_crossentropy(y, sigmoid(40))`` is 40 on TF, 15.94 here and on
  JAX/torch/NumPy).
* **Tversky.** ``alpha`` weights false positives and ``beta`` false negatives, as Keras's
  docstring (and MONAI, smp, optax) says. Keras 3.15.1's code swaps them (fixed upstream in
  keras-team/keras PR #23333): ``tversky(y, p, alpha=a, beta=b)`` here equals Keras 3.15.1's
  ``tversky(y, p, alpha=b, beta=a)``.
* Not reproduced: TF's ``tf.distribute`` loss scaling by 1/replicas and Keras masks attached
  to ``y_pred`` by Keras layers (``Masking``, ``mask_zero``).
"""

from __future__ import annotations

import inspect
import math
import numbers
import re
import struct
import sys
import warnings
from collections.abc import Callable
from typing import Any, ClassVar, Literal, TypeAlias, TypeVar, cast

from lossbridge._inputs import arange_like, hyper_on
from lossbridge._keras_guard import keras_misuse_message
from lossbridge._primitives import clamp_min0, log_sigmoid, log_softmax, softplus
from lossbridge._reduction import COUNT
from lossbridge._typing import ArrayLike, ArrayT
from lossbridge._validation import (
    check_array_like,
    check_class_indices,
    check_concrete_values,
    check_denominator,
    check_real,
    check_real_or_array,
    name_public_errors,
    shape_str,
)
from lossbridge.backends import (
    asarray_on,
    framework_name,
    get_namespace,
    is_half,
    stop_gradient,
    take_along_axis,
)
from lossbridge.classification import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    categorical_hinge_loss,
    cross_entropy,
    kl_div,
)
from lossbridge.ctc import ctc_loss
from lossbridge.detection import sigmoid_focal_loss
from lossbridge.regression import (
    l1_loss,
    log_cosh_loss,
    mape_loss,
    mse_loss,
    msle_loss,
    poisson_nll_loss,
)

__all__ = [
    "CTC",
    "BinaryCrossentropy",
    "BinaryFocalCrossentropy",
    "CategoricalCrossentropy",
    "CategoricalFocalCrossentropy",
    "CategoricalGeneralizedCrossEntropy",
    "CategoricalHinge",
    "Circle",
    "CosineSimilarity",
    "Dice",
    "Hinge",
    "Huber",
    "KLDivergence",
    "LogCosh",
    "Loss",
    "LossFunctionWrapper",
    "MeanAbsoluteError",
    "MeanAbsolutePercentageError",
    "MeanSquaredError",
    "MeanSquaredLogarithmicError",
    "Poisson",
    "SparseCategoricalCrossentropy",
    "SquaredHinge",
    "Tversky",
    "binary_crossentropy",
    "binary_focal_crossentropy",
    "categorical_crossentropy",
    "categorical_focal_crossentropy",
    "categorical_generalized_cross_entropy",
    "categorical_hinge",
    "circle",
    "cosine_similarity",
    "ctc",
    "deserialize",
    "dice",
    "get",
    "hinge",
    "huber",
    "kl_divergence",
    "log_cosh",
    "mean_absolute_error",
    "mean_absolute_percentage_error",
    "mean_squared_error",
    "mean_squared_logarithmic_error",
    "poisson",
    "serialize",
    "sparse_categorical_crossentropy",
    "squared_hinge",
    "tversky",
]

#: ``keras.backend.epsilon()``.
EPSILON = 1e-7
#: The clip bounds, rounded by the arrays' dtype where they meet it (float32, float64).
_EPS = (EPSILON, 1.0 - EPSILON)

#: A ``reduction`` argument: the reductions ``keras.losses.Loss`` accepts.
Reduction: TypeAlias = (
    Literal["sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", "none"] | None
)
#: The same at run time (``standardize_reduction``).
REDUCTIONS: tuple[Reduction, ...] = (
    "sum_over_batch_size",
    "sum",
    "mean",
    "mean_with_sample_weight",
    "none",
    None,
)

#: A ``dtype`` argument: a float dtype name, a policy name, a ``keras.DTypePolicy`` or any
#: framework's dtype object. ``Any``: no static type covers them all without importing the
#: frameworks (:func:`_check_dtype` checks it at run time).
DTypeLike: TypeAlias = Any

#: What a per-sample implementation returns: the per-sample loss and Keras's mask (or None).
_PerSample: TypeAlias = tuple[Any, Any]
#: A per-sample implementation, ``(xp, y_true, y_pred, **hyperparameters) -> _PerSample``.
_Impl: TypeAlias = Callable[..., _PerSample]

_FLOAT_NAMES = {
    "float16": "float16",
    "float32": "float32",
    "float64": "float64",
    "bfloat16": "bfloat16",
    "mixed_float16": "float16",
    "mixed_bfloat16": "bfloat16",
}

# ------------------------------------------------------------------------------------------
# Argument checks and conversion
# ------------------------------------------------------------------------------------------


def standardize_reduction(reduction: object) -> Reduction:
    """``reduction`` if Keras accepts it, else ``ValueError`` naming the argument."""
    if not (reduction is None or (isinstance(reduction, str) and reduction in REDUCTIONS)):
        raise ValueError(
            f"Invalid value for argument `reduction`: reduction={reduction!r}; expected one of "
            + ", ".join(repr(r) for r in REDUCTIONS)
        )
    return reduction


def _dtype_name(dtype: DTypeLike) -> str:
    """The name of a dtype given as a string, a Keras ``DTypePolicy`` (its ``name``: the
    policy, e.g. ``'mixed_float16'``) or any framework's dtype object (``np.float16``,
    ``torch.bfloat16``, ``tf.float16``, ``jnp.bfloat16``, ``ml_dtypes.bfloat16``)."""
    if isinstance(dtype, str):
        return dtype
    if hasattr(dtype, "compute_dtype"):  # keras.DTypePolicy
        return str(getattr(dtype, "name", dtype.compute_dtype))
    for owner in (getattr(dtype, "dtype", None), dtype):  # jnp.float16 holds a NumPy dtype
        name = getattr(owner, "name", None)
        if isinstance(name, str):
            return name
    name = getattr(dtype, "__name__", None)  # np.float16, ml_dtypes.bfloat16
    return name if isinstance(name, str) else str(dtype).rsplit(".", 1)[-1]  # torch.float16


def _check_dtype(dtype: DTypeLike) -> tuple[str | None, str | None]:
    """``(name, compute dtype name)`` of a ``dtype`` argument (None: ``(None, None)``), as
    ``keras.dtype_policies.get`` reads it: a float dtype name, a policy name
    (``'mixed_float16'``: compute dtype float16), a ``DTypePolicy`` or a dtype object."""
    if dtype is None:
        return None, None
    name = _dtype_name(dtype)
    compute = getattr(dtype, "compute_dtype", name)
    if compute not in _FLOAT_NAMES:
        raise ValueError(
            f"dtype={dtype!r} is not a floating dtype or policy; expected None, a "
            "keras.DTypePolicy or one of " + ", ".join(repr(n) for n in _FLOAT_NAMES)
        )
    return name, _FLOAT_NAMES[compute]


def _floatx() -> str:
    """``keras.config.floatx()`` where Keras is already imported, else ``'float32'`` (Keras's
    default); Keras is never imported here."""
    config = getattr(sys.modules.get("keras"), "config", None)
    get = getattr(config, "floatx", None)
    return str(get()) if callable(get) else "float32"


def _dtype_in(xp: Any, name: str, y_pred: Any) -> Any:
    """The dtype ``name`` of ``y_pred``'s namespace (NumPy's bfloat16 is ml_dtypes')."""
    out = getattr(xp, name, None)
    if out is None and name == "bfloat16" and framework_name(y_pred) == "numpy":
        try:
            import ml_dtypes  # NumPy's bfloat16; imported only when asked for
        except ImportError:
            pass
        else:
            out = ml_dtypes.bfloat16
    if out is None:
        kind = type(y_pred).__module__.split(".")[0]
        raise TypeError(
            f"dtype={name!r} is not available for {kind} arrays"
            + (" (NumPy's bfloat16 needs the ml_dtypes package)" if name == "bfloat16" else "")
        )
    return out


def _round_to(value: float, name: str) -> float:
    """``value`` rounded to the float dtype ``name`` (to nearest, ties to even), as a Python
    float: Keras's constants as its compute dtype holds them."""
    if name == "float64":
        return value
    if name == "float16":
        return struct.unpack("<e", struct.pack("<e", value))[0]
    f32 = struct.unpack("<f", struct.pack("<f", value))[0]
    if name == "float32":
        return f32
    bits = struct.unpack("<I", struct.pack("<f", f32))[0]  # bfloat16: the upper 16 bits
    bits = (bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def _eps_bounds(name: str) -> tuple[float, float]:
    """Keras's clip bounds ``(1e-7, 1 - 1e-7)`` held in the compute dtype ``name``:
    float16 holds 1e-7 as 1.19e-7 (a subnormal) and bfloat16 as 1.0012e-7; both round
    1 - 1e-7 to 1.0 (float32: 0.99999988)."""
    return _round_to(EPSILON, name), _round_to(1.0 - EPSILON, name)


def _real_or_array(value: object, name: str, loss: str) -> float | Any:
    """A hyperparameter Keras uses as a tensor (``huber``'s ``delta``, which it converts with
    ``ops.convert_to_tensor``; the focal ``alpha`` and ``gamma``, ``tversky``'s ``alpha`` and
    ``beta``, ``circle``'s ``gamma`` and ``margin``, the generalized cross-entropy's ``q``,
    which it uses in tensor arithmetic): a finite real number (:func:`check_real`), or a 0-d
    array (traced values included: a ``jax.jit`` argument, a ``tf.Variable``), which the call
    converts to its compute dtype (:func:`_hypers_in`). ``label_smoothing`` stays a number
    (:func:`_smoothing`)."""
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return check_real(value, name, loss=loss, finite=True)
    return check_real_or_array(value, name, loss=loss, scalar=True)


def _smoothing(value: object, loss: str) -> float:
    """``label_smoothing``: a finite real number. Not an array: Keras branches on it (``if
    label_smoothing:``), which no traced value allows."""
    return check_real(value, "label_smoothing", loss=loss, finite=True)


def _flag(value: object, name: str, loss: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{loss}: {name} must be a bool; got {value!r}")
    return value


def _axis(axis: object, loss: str, expected: str = "`int`") -> int:
    """An int ``axis`` (Keras's message otherwise: ``ValueError``)."""
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise ValueError(f"{loss}: `axis` must be of type {expected}; got axis={axis!r}")
    return int(axis)


def _axes(axis: object, loss: str) -> int | tuple[int, ...] | None:
    """Dice's and Tversky's ``axis``: an int, a tuple (or list) of ints, or None (all axes)."""
    if axis is None:
        return None
    if isinstance(axis, tuple | list):
        return tuple(_axis(a, loss) for a in axis)
    return _axis(axis, loss, "`int`, a tuple of ints or None")


def _prep(
    y_true: ArrayLike,
    y_pred: ArrayLike,
    dtype: str | None = None,
    *,
    labels: bool = False,
    upcast: bool = True,
) -> tuple[Any, Any, Any, Any]:
    """``(xp, y_true, y_pred, half)``: both arrays in the compute dtype ``dtype`` (a name; None:
    ``y_pred``'s floating dtype, float32 for other predictions), y_true as int64 class indices
    for ``labels`` (floats truncated as Keras's cast does).

    Where the compute dtype is float16/bfloat16, ``half`` is that dtype and (``upcast``) both
    arrays, rounded to it as Keras rounds them, come back in float32: the loss computes there
    and :func:`_round` rounds its result once (``lossbridge._precision``'s rule). Else ``half``
    is None."""
    if y_pred is None or y_true is None:
        which = "y_pred" if y_pred is None else "y_true"
        raise TypeError(f"{which} must be an array; got None")
    check_array_like(y_pred, "y_pred")
    check_array_like(y_true, "y_true")
    xp, device = get_namespace(y_pred, y_true, names=("y_pred", "y_true"))
    y_pred = asarray_on(y_pred, xp, device)
    if dtype is None:
        floating = is_half(y_pred, framework_name(y_pred))  # NumPy's isdtype rejects bfloat16
        floating = floating or xp.isdtype(y_pred.dtype, "real floating")
        ct = y_pred.dtype if floating else xp.float32
    else:
        ct = _dtype_in(xp, dtype, y_pred)
    if y_pred.dtype != ct:
        y_pred = xp.astype(y_pred, ct)
    y_true = asarray_on(y_true, xp, device)
    want = xp.int64 if labels else ct
    if y_true.dtype != want:
        y_true = xp.astype(y_true, want)
    half = y_pred.dtype if is_half(y_pred, framework_name(y_pred)) else None
    if half is not None and upcast:
        y_pred = xp.astype(y_pred, xp.float32)
        if not labels:
            y_true = xp.astype(y_true, xp.float32)
    return xp, y_true, y_pred, half


def _round(xp: Any, out: Any, half: Any) -> Any:
    """``out`` cast once to the half compute dtype ``half`` (None: as it is)."""
    if half is None or out.dtype == half:
        return out
    return xp.astype(out, half)


def _eps_kw(impl: _Impl, half: Any) -> dict[str, tuple[float, float]]:
    """``{'eps': bounds}`` for an ``impl`` that clips at Keras's epsilon, computed in float32
    for the half compute dtype ``half`` (the bounds are the half dtype's, as Keras's)."""
    if half is None or impl not in _CLIPPING:
        return {}
    return {"eps": _eps_bounds(_dtype_name(half))}


def squeeze_or_expand_to_same_rank(
    xp: Any, x1: Any, x2: Any, expand_rank_1: bool = True
) -> tuple[Any, Any]:
    """Keras's rule: where the ranks differ by one and the longer array ends in 1, squeeze it
    (or, when the shorter one is 1-D and ``expand_rank_1``, expand that one instead)."""
    r1, r2 = x1.ndim, x2.ndim
    if r1 == r2:
        return x1, x2
    if r1 == r2 + 1 and x1.shape[-1] == 1:
        if r2 == 1 and expand_rank_1:
            x2 = xp.expand_dims(x2, axis=-1)
        else:
            x1 = xp.squeeze(x1, axis=-1)
    if r2 == r1 + 1 and x2.shape[-1] == 1:
        if r1 == 1 and expand_rank_1:
            x1 = xp.expand_dims(x1, axis=-1)
        else:
            x2 = xp.squeeze(x2, axis=-1)
    return x1, x2


def _shape_error(loss: str, y_true: Any, y_pred: Any, rule: str = "") -> ValueError:
    """The shape mismatch error, with Keras's phrase ``must have the same shape`` (what users'
    tests match: ``keras/src/backend/*/nn.py``) followed by ``rule``."""
    return ValueError(
        f"{loss}: y_true and y_pred must have the same shape{rule}; got y_true of shape "
        f"{shape_str(y_true.shape)} and y_pred of shape {shape_str(y_pred.shape)}"
    )


def _same_shape(xp: Any, a: Any, b: Any, loss: str) -> tuple[Any, Any]:
    """Broadcast ``a`` (y_true) and ``b`` (y_pred) explicitly (a clear error if they cannot)."""
    sa, sb = tuple(a.shape), tuple(b.shape)
    if sa == sb:
        return a, b
    for da, db in zip(reversed(sa), reversed(sb), strict=False):
        if da is not None and db is not None and da != db and da != 1 and db != 1:
            raise _shape_error(loss, a, b, " (or shapes that broadcast together)")
    a, b = xp.broadcast_arrays(a, b)
    return a, b


def _clip(xp: Any, x: Any, low: float, high: float) -> Any:
    """Clip to ``[low, high]`` in ``x``'s dtype; gradient 1 inside and on the bounds, 0 outside
    (``tf.clip_by_value``'s), the same on every backend."""
    lo = xp.full_like(x, low)
    hi = xp.full_like(x, high)
    return xp.where(x < lo, lo, xp.where(x > hi, hi, x))


def _mean_last(xp: Any, loss: Any, axis: int = -1) -> Any:
    return xp.mean(loss, axis=axis)


def _static_size(shape: Any) -> int | None:
    n = 1
    for d in shape:
        if d is None:
            return None
        n *= int(d)
    return n


def _size(xp: Any, x: Any) -> Any:
    """Number of elements of ``x`` as a Python int, or as an array when a dimension is unknown
    (``tf.function`` with a dynamic batch)."""
    n = _static_size(x.shape)
    if n is not None:
        return n
    return xp.sum(xp.ones_like(x))


def _divide_no_nan(xp: Any, a: Any, b: Any) -> Any:
    """``a / b``, 0 where ``b`` is 0 (Keras's ``ops.divide_no_nan``); ``b`` a number or an
    array."""
    if isinstance(b, numbers.Real):
        return a / b if b else a * 0.0
    zero = b == 0
    return xp.where(zero, xp.zeros_like(a), a / xp.where(zero, xp.ones_like(b), b))


#: Keras's reductions that divide the (weighted) sum: those that take ``denominator=``.
MEANS: tuple[str, ...] = ("sum_over_batch_size", "mean", "mean_with_sample_weight")


def reduce_weighted_values(
    xp: Any,
    values: Any,
    sample_weight: Any = None,
    mask: Any = None,
    reduction: Any = None,
    denominator: Any = None,
) -> Any:
    """Keras's ``reduce_weighted_values``: mask into weights, weights times values, reduce.

    ``denominator`` (already checked, :func:`_check_denominator`; a :data:`MEANS` reduction):
    the sum of the masked, weighted values (the mask not rescaled) divided by it, Keras's
    ``divide_no_nan`` kept (a zero denominator gives 0); ``COUNT``: the divisor itself
    (:func:`_divisor`).
    """
    dtype = values.dtype
    rescaled = None  # the mask's weight total/valid (Keras's 'mean', 'sum_over_batch_size')
    if mask is not None:
        maskf = xp.astype(mask, dtype)
        if reduction in ("mean", "sum_over_batch_size"):
            total = _size(xp, maskf)
            valid = xp.sum(maskf)
            if isinstance(total, int):
                total = xp.full_like(valid, float(total))
            rescaled = (total, valid)
            if denominator is None:
                maskf = maskf * _divide_no_nan(xp, total, valid)
        if sample_weight is not None:
            maskf, sample_weight = squeeze_or_expand_to_same_rank(xp, maskf, sample_weight)
            sample_weight = sample_weight * maskf
        else:
            sample_weight = maskf
    if sample_weight is not None:
        values, sample_weight = squeeze_or_expand_to_same_rank(xp, values, sample_weight)
        sv, sw = tuple(values.shape), tuple(sample_weight.shape)
        for dv, dw in zip(reversed(sv), reversed(sw), strict=False):
            if dv is not None and dw is not None and dv != dw and dv != 1 and dw != 1:
                raise ValueError(
                    f"sample_weight has shape {shape_str(sw)} but the per-sample loss has shape "
                    f"{shape_str(sv)}; expected shapes that broadcast together"
                )
        values = values * sample_weight
    if denominator is COUNT:
        return _divisor(xp, values, sample_weight, rescaled, reduction)
    if denominator is not None:
        if hasattr(denominator, "shape"):
            denominator = asarray_on(denominator, xp, get_namespace(values)[1])
            if denominator.dtype != values.dtype:
                denominator = xp.astype(denominator, values.dtype)
        return _divide_no_nan(xp, xp.sum(values), denominator)
    shape = tuple(values.shape)
    if reduction is None or reduction == "none" or shape == () or shape == (0,):
        return values
    loss = xp.sum(values)
    if reduction == "sum":
        return loss
    if reduction == "mean_with_sample_weight" and sample_weight is not None:
        return _divide_no_nan(xp, loss, xp.sum(sample_weight))
    return _divide_no_nan(xp, loss, _size(xp, values))


def _divisor(xp: Any, values: Any, sample_weight: Any, rescaled: Any, reduction: Any) -> Any:
    """What Keras's ``reduction`` (one of :data:`MEANS`) divides the weighted sum of
    ``values`` by, as a 0-d array of their dtype: the weight sum (``'mean_with_sample_weight'``
    with weights or a mask), else the element count; under a mask rescaled by total/valid
    (``rescaled``) the count times valid/total (the valid count when the mask has the values'
    shape). A 0-d per-sample loss, which Keras returns undivided, counts 1 (its mask's valid
    fraction under a rescaled mask); an empty (0,) one 0."""
    zero = xp.zeros_like(xp.sum(values))
    shape = tuple(values.shape)
    if shape == (0,):
        return zero
    if shape == ():
        if reduction == "mean_with_sample_weight":
            return zero + 1.0
        size: Any = 1
    elif reduction == "mean_with_sample_weight" and sample_weight is not None:
        return zero + xp.sum(sample_weight)
    else:
        size = _size(xp, values)
    count = zero + (float(size) if isinstance(size, int) else size)
    if rescaled is not None:
        total, valid = rescaled
        count = _divide_no_nan(xp, count * valid, total)
    return count


def _check_denominator(denominator: Any, reduction: Any) -> Any:
    """``denominator=`` of a Keras-dialect call checked (the class's name is added by its
    public entry): None, ``COUNT``, a finite number >= 0 or a 0-d real array, with a
    :data:`MEANS` reduction."""
    if denominator is None:
        return None
    # a None reduction (Keras's) is shown as None: check_denominator only compares and prints it
    return check_denominator(denominator, cast(str, reduction), loss="Loss", means=MEANS)


def _weights_on(xp: Any, sample_weight: Any, like: Any, half: Any = None) -> Any:
    """``sample_weight`` on ``like``'s device in its dtype; rounded to the half compute dtype
    ``half`` first, as Keras converts it."""
    if sample_weight is None:
        return None
    device = get_namespace(like)[1]
    w = asarray_on(sample_weight, xp, device)
    if half is not None and w.dtype != half:
        w = xp.astype(w, half)
    if w.dtype != like.dtype:
        w = xp.astype(w, like.dtype)
    return w


# ------------------------------------------------------------------------------------------
# Per-sample implementations: (xp, y_true, y_pred, **kwargs) -> (loss, mask or None)
# ------------------------------------------------------------------------------------------


def _mse(xp: Any, y_true: Any, y_pred: Any) -> _PerSample:
    y_true, y_pred = _same_shape(xp, y_true, y_pred, "mean_squared_error")
    return _mean_last(xp, mse_loss(y_pred, y_true, reduction="none")), None


def _mae(xp: Any, y_true: Any, y_pred: Any) -> _PerSample:
    y_true, y_pred = _same_shape(xp, y_true, y_pred, "mean_absolute_error")
    return _mean_last(xp, l1_loss(y_pred, y_true, reduction="none")), None


def _mape(xp: Any, y_true: Any, y_pred: Any, eps: tuple[float, float] = _EPS) -> _PerSample:
    y_true, y_pred = _same_shape(xp, y_true, y_pred, "mean_absolute_percentage_error")
    return _mean_last(xp, mape_loss(y_pred, y_true, eps=eps[0], reduction="none")), None


def _msle(xp: Any, y_true: Any, y_pred: Any, eps: tuple[float, float] = _EPS) -> _PerSample:
    y_true, y_pred = _same_shape(xp, y_true, y_pred, "mean_squared_logarithmic_error")
    return _mean_last(xp, msle_loss(y_pred, y_true, eps=eps[0], reduction="none")), None


def _huber(xp: Any, y_true: Any, y_pred: Any, delta: float | Any = 1.0) -> _PerSample:
    y_true, y_pred = _same_shape(xp, y_true, y_pred, "huber")
    error = y_pred - y_true
    a = xp.abs(error)  # Keras's formula (delta a float or an array in the compute dtype)
    loss = xp.where(a <= delta, 0.5 * (error * error), delta * a - 0.5 * (delta * delta))
    return _mean_last(xp, loss), None


# Keras's log_cosh subtracts ``ops.log(2.0)``, computed in float32 whatever floatx, cast to the
# input's dtype: at float64 it is 1.9e-9 above log 2; at float32 and below it is log 2 there.
_LOG2_KERAS = _round_to(math.log(2.0), "float32")


def _log_cosh(xp: Any, y_true: Any, y_pred: Any) -> _PerSample:
    y_true, y_pred = _same_shape(xp, y_true, y_pred, "log_cosh")
    loss = log_cosh_loss(y_pred, y_true, reduction="none")
    if loss.dtype == xp.float64:
        loss = loss - (_LOG2_KERAS - math.log(2.0))
    return _mean_last(xp, loss), None


def _poisson(xp: Any, y_true: Any, y_pred: Any, eps: tuple[float, float] = _EPS) -> _PerSample:
    y_true, y_pred = _same_shape(xp, y_true, y_pred, "poisson")
    loss = poisson_nll_loss(y_pred, y_true, log_input=False, eps=eps[0], reduction="none")
    return _mean_last(xp, loss), None


def _kl(xp: Any, y_true: Any, y_pred: Any, eps: tuple[float, float] = _EPS) -> _PerSample:
    y_true, y_pred = _same_shape(xp, y_true, y_pred, "kl_divergence")
    t = _clip(xp, y_true, eps[0], 1.0)
    p = _clip(xp, y_pred, eps[0], 1.0)
    return xp.sum(kl_div(xp.log(p), t, reduction="none"), axis=-1), None


def _hinge_labels(xp: Any, y: Any) -> Any:
    """{0, 1} -> {-1, 1} when every label is 0 or 1; traced as a ``where`` (no Python branch)."""
    binary = xp.all(xp.logical_or(y == 0, y == 1))
    return xp.where(binary, 2.0 * y - 1.0, y)


def _hinge(xp: Any, y_true: Any, y_pred: Any) -> _PerSample:
    y = _hinge_labels(xp, y_true)
    return xp.mean(clamp_min0(xp, 1.0 - y * y_pred), axis=-1), None


def _squared_hinge(xp: Any, y_true: Any, y_pred: Any) -> _PerSample:
    y = _hinge_labels(xp, y_true)
    z = clamp_min0(xp, 1.0 - y * y_pred)
    return xp.mean(z * z, axis=-1), None


def _class_axis_to_1(xp: Any, *arrays: Any, axis: int = -1) -> tuple[Any, ...]:
    """Move the class axis to 1 (the core's layout) for arrays of rank >= 2."""
    nd = arrays[0].ndim
    if nd < 2:
        return arrays
    a = axis % nd
    if a == 1:
        return arrays
    return tuple(xp.moveaxis(x, a, 1) for x in arrays)


def _categorical_hinge(xp: Any, y_true: Any, y_pred: Any) -> _PerSample:
    y_true, y_pred = _same_shape(xp, y_true, y_pred, "categorical_hinge")
    yp, yt = _class_axis_to_1(xp, y_pred, y_true, axis=-1)
    return categorical_hinge_loss(yp, yt, reduction="none"), None


def _smooth_categorical(xp: Any, y_true: Any, label_smoothing: float) -> Any:
    """Keras 3.15.1's smoothing: ``s / C`` with ``C = y_true.shape[-1]`` whatever the class
    axis (keras PR 23437 divides by ``shape[axis]`` after 3.15.1)."""
    if not label_smoothing:
        return y_true
    c = y_true.shape[-1]
    return y_true * (1.0 - label_smoothing) + label_smoothing / c


def _cce(
    xp: Any,
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
    eps: tuple[float, float] = _EPS,
) -> _PerSample:
    if y_true.ndim < 1 or tuple(y_true.shape) != tuple(y_pred.shape):
        raise _shape_error("categorical_crossentropy", y_true, y_pred, ", at least 1-D")
    y_true = _smooth_categorical(xp, y_true, label_smoothing)
    if from_logits:
        yp, yt = _class_axis_to_1(xp, y_pred, y_true, axis=axis)
        return cross_entropy(yp, yt, reduction="none"), None
    p = y_pred / xp.sum(y_pred, axis=axis, keepdims=True)
    p = _clip(xp, p, *eps)
    return -xp.sum(y_true * xp.log(p), axis=axis), None


def _sparse_cce(
    xp: Any,
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    ignore_class: int | None = None,
    axis: int = -1,
    eps: tuple[float, float] = _EPS,
) -> _PerSample:
    if y_true.ndim == y_pred.ndim and y_true.shape[axis] == 1:
        y_true = xp.squeeze(y_true, axis=axis)
    expected = tuple(d for i, d in enumerate(y_pred.shape) if i != axis % max(y_pred.ndim, 1))
    if y_pred.ndim < 1 or tuple(y_true.shape) != expected:
        raise _shape_error(
            "sparse_categorical_crossentropy",
            y_true,
            y_pred,
            f" up until the last dimension (y_true of shape {shape_str(expected)}, or with a "
            f"trailing 1, for y_pred's class axis {axis})",
        )
    logits = y_pred if from_logits else xp.log(_clip(xp, y_pred, *eps))
    if y_pred.ndim >= 2:
        (logits,) = _class_axis_to_1(xp, logits, axis=axis)
    ignore = -(2**31) if ignore_class is None else ignore_class
    loss = cross_entropy(logits, y_true, ignore_index=ignore, reduction="none")
    mask = None if ignore_class is None else y_true != ignore_class
    return loss, mask


def _bce(
    xp: Any,
    y_true: Any,
    y_pred: Any,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
    eps: tuple[float, float] = _EPS,
) -> _PerSample:
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise _shape_error("binary_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits:
        loss = binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
    else:
        p = _clip(xp, y_pred, *eps)
        loss = binary_cross_entropy(p, y_true, reduction="none")
    return xp.mean(loss, axis=axis), None


def _binary_focal(
    xp: Any,
    y_true: Any,
    y_pred: Any,
    apply_class_balancing: bool = False,
    alpha: float | Any = 0.25,
    gamma: float | Any = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
    eps: tuple[float, float] = _EPS,
) -> _PerSample:
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise _shape_error("binary_focal_crossentropy", y_true, y_pred)
    if label_smoothing:
        y_true = y_true * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if from_logits and isinstance(alpha, float) and isinstance(gamma, float):
        # TensorFlow backend: the cross-entropy from the logits (see the module docstring).
        a = alpha if apply_class_balancing else -1.0
        loss = sigmoid_focal_loss(y_pred, y_true, alpha=a, gamma=gamma, reduction="none")
        return xp.mean(loss, axis=axis), None
    if from_logits:  # array alpha or gamma: the same, as Keras's TensorFlow backend writes it
        bce = binary_cross_entropy_with_logits(y_pred, y_true, reduction="none")
        p = xp.exp(log_sigmoid(xp, y_pred))
    else:
        bce = binary_cross_entropy(_clip(xp, y_pred, *eps), y_true, reduction="none")
        p = y_pred
    p_t = y_true * p + (1.0 - y_true) * (1.0 - p)
    loss = xp.pow(1.0 - p_t, gamma) * bce
    if apply_class_balancing:
        loss = (y_true * alpha + (1.0 - y_true) * (1.0 - alpha)) * loss
    return xp.mean(loss, axis=axis), None


def _categorical_focal(
    xp: Any,
    y_true: Any,
    y_pred: Any,
    alpha: float | Any = 0.25,
    gamma: float | Any = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
    eps: tuple[float, float] = _EPS,
) -> _PerSample:
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise _shape_error("categorical_focal_crossentropy", y_true, y_pred)
    y_true = _smooth_categorical(xp, y_true, label_smoothing)
    p = xp.exp(log_softmax(xp, y_pred, axis)) if from_logits else y_pred
    p = p / xp.sum(p, axis=axis, keepdims=True)
    p = _clip(xp, p, *eps)
    loss = alpha * xp.pow(1.0 - p, gamma) * (-y_true * xp.log(p))
    return xp.sum(loss, axis=axis), None


def _gce(xp: Any, y_true: Any, y_pred: Any, q: float | Any = 0.5) -> _PerSample:
    if y_pred.ndim < 1:
        raise ValueError("categorical_generalized_cross_entropy: y_pred must be at least 1-D")
    if y_true.ndim == y_pred.ndim and y_true.shape[-1] == 1:
        y_true = xp.squeeze(y_true, axis=-1)
    if tuple(y_true.shape) != tuple(y_pred.shape[:-1]):
        raise ValueError(
            f"categorical_generalized_cross_entropy: y_true has shape {shape_str(y_true.shape)} "
            f"but y_pred has shape {shape_str(y_pred.shape)}; expected class indices of shape "
            f"{shape_str(y_pred.shape[:-1])}"
        )
    check_class_indices(xp, y_true, y_pred.shape[-1], None, "y_true")
    p = take_along_axis(xp, y_pred, xp.expand_dims(y_true, axis=-1), -1)
    p = xp.squeeze(p, axis=-1)
    return (1.0 - xp.pow(p, q)) / q, None


def _dice(
    xp: Any,
    y_true: Any,
    y_pred: Any,
    axis: int | tuple[int, ...] | None = None,
    eps: tuple[float, float] = _EPS,
) -> _PerSample:
    y_true, y_pred = _same_shape(xp, y_true, y_pred, "dice")
    inter = xp.sum(y_true * y_pred, axis=axis)
    denom = xp.sum(y_true, axis=axis) + xp.sum(y_pred, axis=axis) + eps[0]
    return 1.0 - 2.0 * inter / denom, None


def _tversky(
    xp: Any,
    y_true: Any,
    y_pred: Any,
    alpha: float | Any = 0.5,
    beta: float | Any = 0.5,
    axis: int | tuple[int, ...] | None = None,
    eps: tuple[float, float] = _EPS,
) -> _PerSample:
    y_true, y_pred = _same_shape(xp, y_true, y_pred, "tversky")
    tp = xp.sum(y_true * y_pred, axis=axis)
    fp = xp.sum((1.0 - y_true) * y_pred, axis=axis)
    fn = xp.sum(y_true * (1.0 - y_pred), axis=axis)
    return 1.0 - tp / (tp + alpha * fp + beta * fn + eps[0]), None


def _masked_logsumexp(xp: Any, z: Any, mask: Any) -> Any:
    """log-sum-exp over ``mask`` along axis 1; ``-inf`` for rows with nothing in the mask,
    with finite gradients everywhere (double ``where``)."""
    neg_inf = xp.full_like(z, -math.inf)
    m = stop_gradient(xp.max(xp.where(mask, z, neg_inf), axis=1, keepdims=True))
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    e = xp.exp(xp.where(mask, z, m) - m)
    s = xp.sum(xp.where(mask, e, xp.zeros_like(e)), axis=1, keepdims=True)
    some = s > 0
    out = xp.log(xp.where(some, s, xp.ones_like(s))) + m
    return xp.squeeze(xp.where(some, out, xp.full_like(out, -math.inf)), axis=1)


def _circle(
    xp: Any,
    y_true: Any,
    y_pred: Any,
    ref_labels: Any = None,
    ref_embeddings: Any = None,
    remove_diagonal: bool = True,
    gamma: float | Any = 80.0,
    margin: float | Any = 0.4,
) -> _PerSample:
    if y_pred.ndim != 2:
        raise ValueError(
            f"circle: y_pred must be embeddings of shape (N, D); got {shape_str(y_pred.shape)}"
        )
    labels = xp.reshape(y_true, (-1,))
    ref = y_pred if ref_embeddings is None else ref_embeddings
    rl = labels if ref_labels is None else xp.reshape(ref_labels, (-1,))
    d = clamp_min0(xp, 1.0 - xp.matmul(y_pred, xp.matrix_transpose(ref)))
    same = xp.expand_dims(labels, axis=1) == xp.expand_dims(rl, axis=0)
    neg = xp.logical_not(same)
    pos = same
    if remove_diagonal:
        rows = xp.expand_dims(arange_like(xp, same.shape[0], d), axis=1)
        cols = xp.expand_dims(arange_like(xp, same.shape[1], d), axis=0)
        pos = xp.logical_and(same, rows != cols)
    posf, negf = xp.astype(pos, d.dtype), xp.astype(neg, d.dtype)
    pos_w = clamp_min0(xp, (margin + d) * posf)
    neg_w = clamp_min0(xp, (1.0 + margin - d) * negf)
    p_z = -gamma * pos_w * (margin - d)
    n_z = gamma * neg_w * ((1.0 - margin) - d)
    loss = softplus(xp, _masked_logsumexp(xp, p_z, pos) + _masked_logsumexp(xp, n_z, neg))
    return loss, loss > 0


def _ctc(xp: Any, y_true: Any, y_pred: Any) -> _PerSample:
    if y_true.ndim != 2:
        raise ValueError(
            "ctc: targets `y_true` are expected to be a tensor of shape (batch_size, max_length) "
            f"in integer format; got y_true.shape={shape_str(y_true.shape)}"
        )
    if y_pred.ndim != 3:
        raise ValueError(
            "ctc: logits `y_pred` are expected to be a tensor of shape (batch_size, max_length, "
            f"num_classes); got y_pred.shape={shape_str(y_pred.shape)}"
        )
    label_len = xp.sum(xp.astype(y_true != 0, xp.int64), axis=-1)
    input_len = xp.zeros_like(label_len) + y_pred.shape[1]
    log_probs = xp.permute_dims(log_softmax(xp, y_pred, -1), (1, 0, 2))
    return ctc_loss(log_probs, y_true, input_len, label_len, blank=0, reduction="none"), None


# ------------------------------------------------------------------------------------------
# Functions
# ------------------------------------------------------------------------------------------


#: The implementations that take Keras's clip bounds (``eps``) in the compute dtype.
_CLIPPING: frozenset[_Impl] = frozenset(
    (_mape, _msle, _poisson, _kl, _cce, _sparse_cce, _bce, _binary_focal, _categorical_focal)
    + (_dice, _tversky)
)


#: The implementations whose hyperparameters may be arrays (:func:`_real_or_array`), with
#: the function's name for errors.
_ARRAY_HYPERS: dict[_Impl, tuple[str, tuple[str, ...]]] = {
    _huber: ("huber", ("delta",)),
    _binary_focal: ("binary_focal_crossentropy", ("alpha", "gamma")),
    _categorical_focal: ("categorical_focal_crossentropy", ("alpha", "gamma")),
    _tversky: ("tversky", ("alpha", "beta")),
    _circle: ("circle", ("gamma", "margin")),
    _gce: ("categorical_generalized_cross_entropy", ("q",)),
}


def _hypers_in(
    xp: Any, impl: _Impl, kwargs: dict[str, Any], like: Any, half: Any
) -> dict[str, Any]:
    """``kwargs`` with ``impl``'s array hyperparameters on ``like``'s namespace and device in
    the compute dtype, as Keras's ``ops.convert_to_tensor(delta, dtype=y_pred.dtype)``: rounded
    to the half compute dtype ``half`` first, then in ``like``'s float32 (a half call computes
    there). Python floats pass (Keras's weak scalars)."""
    entry = _ARRAY_HYPERS.get(impl)
    if entry is None:
        return kwargs
    loss, names = entry
    out = dict(kwargs)
    for k in names:
        v = out.get(k)
        if v is None or isinstance(v, float):
            continue
        h = hyper_on(xp, v, like, k, "y_pred", loss)
        if half is not None and h.dtype != half:
            h = xp.astype(h, half)
        out[k] = h if h.dtype == like.dtype else xp.astype(h, like.dtype)
    return out


def _call(
    impl: _Impl,
    y_true: ArrayLike,
    y_pred: ArrayLike,
    *,
    squeeze: bool = False,
    labels: bool = False,
    **kwargs: Any,
) -> Any:
    """A function's per-sample loss in ``y_pred``'s dtype (Keras's functions keep it); half
    inputs compute in float32 and round once."""
    xp, y_true, y_pred, half = _prep(y_true, y_pred, labels=labels)
    if squeeze:
        y_true, y_pred = squeeze_or_expand_to_same_rank(xp, y_true, y_pred)
    kwargs = _hypers_in(xp, impl, kwargs, y_pred, half)
    return _round(xp, impl(xp, y_true, y_pred, **_eps_kw(impl, half), **kwargs)[0], half)


_ELEMENTWISE_NOTES = """
    Returns
    -------
    array
        The per-sample loss: ``y_pred``'s shape without its last axis (a scalar for 1-D
        inputs), ``y_pred``'s array type, dtype and device.
"""


def mean_squared_error(y_true: ArrayLike, y_pred: ArrayT) -> ArrayT:
    r"""Mean squared error over the last axis, :math:`\operatorname{mean}_{-1} (y - \hat y)^2`.

    Parameters
    ----------
    y_true, y_pred : array, shape (..., d)
        ``(N,)`` against ``(N, 1)`` is aligned by Keras's squeeze/expand rule first.

    Returns
    -------
    array, shape (...)
        The per-sample loss (a scalar for 1-D inputs).

    Notes
    -----
    ``mean_squared_error`` in ``keras/src/losses/losses.py``. Computed by
    :func:`lossbridge.mse_loss` (``reduction='none'``) and a mean over the last axis.

    References
    ----------
    Keras 3 documentation, ``keras.losses.mean_squared_error``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import mean_squared_error
    >>> y_true = np.array([[0.0, 1.0], [2.0, 3.0]])
    >>> y_pred = np.array([[0.5, 1.0], [1.0, 5.0]])
    >>> np.round(mean_squared_error(y_true, y_pred), 4).tolist()  # (0.25 + 0) / 2, (1 + 4) / 2
    [0.125, 2.5]
    """
    return _call(_mse, y_true, y_pred, squeeze=True)


def mean_absolute_error(y_true: ArrayLike, y_pred: ArrayT) -> ArrayT:
    r"""Mean absolute error over the last axis, :math:`\operatorname{mean}_{-1} |y - \hat y|`.

    Parameters
    ----------
    y_true, y_pred : array, shape (..., d)

    Returns
    -------
    array, shape (...)

    Notes
    -----
    Keras's ``mean_absolute_error``; :func:`lossbridge.l1_loss` per element (gradient 0 at
    :math:`y = \hat y`, as TensorFlow's ``abs``).

    References
    ----------
    Keras 3 documentation, ``keras.losses.mean_absolute_error``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import mean_absolute_error
    >>> y_true = np.array([[0.0, 1.0], [2.0, 3.0]])
    >>> y_pred = np.array([[0.5, 1.0], [1.0, 5.0]])
    >>> np.round(mean_absolute_error(y_true, y_pred), 4).tolist()  # (0.5 + 0) / 2, (1 + 2) / 2
    [0.25, 1.5]
    """
    return _call(_mae, y_true, y_pred, squeeze=True)


def mean_absolute_percentage_error(y_true: ArrayLike, y_pred: ArrayT) -> ArrayT:
    r"""MAPE over the last axis, :math:`100 \operatorname{mean}_{-1} |y - \hat y| /
    \max(|y|, \epsilon)`, :math:`\epsilon = 10^{-7}`.

    Parameters
    ----------
    y_true, y_pred : array, shape (..., d)

    Returns
    -------
    array, shape (...)

    Notes
    -----
    Keras's ``mean_absolute_percentage_error``; :func:`lossbridge.mape_loss` with
    ``eps=1e-7`` per element.

    References
    ----------
    Keras 3 documentation, ``keras.losses.mean_absolute_percentage_error``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import mean_absolute_percentage_error
    >>> y_true = np.array([[1.0, 2.0], [4.0, 5.0]])
    >>> y_pred = np.array([[1.5, 2.0], [3.0, 5.0]])
    >>> np.round(mean_absolute_percentage_error(y_true, y_pred), 4).tolist()  # 100 * 0.5 / 2, ...
    [25.0, 12.5]
    """
    return _call(_mape, y_true, y_pred, squeeze=True)


def mean_squared_logarithmic_error(y_true: ArrayLike, y_pred: ArrayT) -> ArrayT:
    r"""MSLE over the last axis, :math:`\operatorname{mean}_{-1} (\log(1 + \max(\hat y,
    \epsilon)) - \log(1 + \max(y, \epsilon)))^2`.

    Parameters
    ----------
    y_true, y_pred : array, shape (..., d)

    Returns
    -------
    array, shape (...)

    Notes
    -----
    Keras's ``mean_squared_logarithmic_error``: both arrays clipped below at
    :math:`\epsilon = 10^{-7}` (so negative values count as 0); :func:`lossbridge.msle_loss`
    with ``eps=1e-7``, which uses ``log1p`` (Keras: ``log(x + 1)``, up to one rounding apart).

    References
    ----------
    Keras 3 documentation, ``keras.losses.mean_squared_logarithmic_error``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import mean_squared_logarithmic_error
    >>> y_true = np.array([[0.0, 1.0], [2.0, 3.0]])
    >>> y_pred = np.array([[0.5, 1.0], [1.0, 5.0]])
    >>> np.round(mean_squared_logarithmic_error(y_true, y_pred), 4).tolist()
    [0.0822, 0.1644]
    """
    return _call(_msle, y_true, y_pred, squeeze=True)


def huber(y_true: ArrayLike, y_pred: ArrayT, delta: float | ArrayLike = 1.0) -> ArrayT:
    r"""Huber loss over the last axis: :math:`\tfrac12 e^2` for :math:`|e| \le \delta`, else
    :math:`\delta |e| - \tfrac12 \delta^2`, averaged over the last axis.

    Parameters
    ----------
    y_true, y_pred : array, shape (..., d)
    delta : float or 0-d array, default 1.0
        An array (a ``tf.Variable``, a ``jax.jit`` argument) is converted to the compute
        dtype, as Keras's ``ops.convert_to_tensor(delta, dtype=y_pred.dtype)``, and receives
        a gradient.

    Returns
    -------
    array, shape (...)

    Notes
    -----
    Keras's ``huber``; :func:`lossbridge.huber_loss` per element. Errors [0.5, 1.5, 3] give
    1.2083 (reference section 3.6); torch's ``huber_loss`` keeps the elements.

    References
    ----------
    Huber, "Robust Estimation of a Location Parameter", Ann. Math. Statist. 1964; Keras 3
    documentation, ``keras.losses.huber``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import huber
    >>> errors = np.array([0.5, 1.5, 3.0])  # (0.5 * 0.5**2 + (1.5 - 0.5) + (3 - 0.5)) / 3
    >>> print(round(float(huber(np.zeros(3), errors)), 4))
    1.2083
    """
    delta = _real_or_array(delta, "delta", "keras.huber")
    return _call(_huber, y_true, y_pred, squeeze=True, delta=delta)


def log_cosh(y_true: ArrayLike, y_pred: ArrayT) -> ArrayT:
    r"""Log-cosh over the last axis, :math:`\operatorname{mean}_{-1} \log\cosh(\hat y - y)`.

    Parameters
    ----------
    y_true, y_pred : array, shape (..., d)

    Returns
    -------
    array, shape (...)

    Notes
    -----
    Keras's ``log_cosh`` (:math:`x + \operatorname{softplus}(-2x) - \log 2`);
    :func:`lossbridge.log_cosh_loss` per element. Keras computes its :math:`\log 2` in float32
    (``ops.log(2.0)``) and casts it: at float64 its losses are 1.9e-9 below the exact ones,
    and so are these (Keras's numbers are the dialect's promise); float32 and below are
    unaffected.

    References
    ----------
    Keras 3 documentation, ``keras.losses.log_cosh``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import log_cosh
    >>> y_true = np.array([[0.0, 1.0], [2.0, 3.0]])
    >>> y_pred = np.array([[0.5, 1.0], [1.0, 5.0]])
    >>> np.round(log_cosh(y_true, y_pred), 4).tolist()
    [0.0601, 0.8794]
    """
    return _call(_log_cosh, y_true, y_pred, squeeze=True)


def poisson(y_true: ArrayLike, y_pred: ArrayT) -> ArrayT:
    r"""Poisson loss over the last axis, :math:`\operatorname{mean}_{-1}(\hat y - y \log(\hat y
    + \epsilon))` with rates :math:`\hat y`.

    Parameters
    ----------
    y_true : array, shape (..., d)
        Counts.
    y_pred : array, shape (..., d)
        Rates (not log-rates).

    Returns
    -------
    array, shape (...)

    Notes
    -----
    Keras's ``poisson``: :math:`\lambda = [0.5, 2, 4]`, :math:`k = [0, 3, 2]` give 0.5493
    (reference section 3.7). :func:`lossbridge.poisson_nll_loss` with ``log_input=False,
    eps=1e-7``. No shape alignment (as Keras's function).

    References
    ----------
    Keras 3 documentation, ``keras.losses.poisson``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import poisson
    >>> counts, rates = np.array([0.0, 3.0, 2.0]), np.array([0.5, 2.0, 4.0])
    >>> print(round(float(poisson(counts, rates)), 4))
    0.5493
    """
    return _call(_poisson, y_true, y_pred)


def kl_divergence(y_true: ArrayLike, y_pred: ArrayT) -> ArrayT:
    r"""KL divergence over the last axis, :math:`\sum_{-1} y \log(y / \hat y)`, both clipped to
    :math:`[\epsilon, 1]`.

    Parameters
    ----------
    y_true, y_pred : array, shape (..., C)
        Probabilities; zeros become :math:`\epsilon = 10^{-7}`.

    Returns
    -------
    array, shape (...)

    Notes
    -----
    Keras's ``kl_divergence`` (argument order ``(p, q)``: swapping them gives another number,
    reference section 3.2). :func:`lossbridge.kl_div` on ``log(clip(y_pred))``.

    References
    ----------
    Kullback and Leibler, "On Information and Sufficiency", Ann. Math. Statist. 1951; Keras 3
    documentation, ``keras.losses.kl_divergence``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import kl_divergence
    >>> p = np.array([[0.1, 0.9], [0.5, 0.5]])
    >>> q = np.array([[0.4, 0.6], [0.5, 0.5]])
    >>> np.round(kl_divergence(p, q), 4).tolist()  # 0.1 log(0.1 / 0.4) + 0.9 log(0.9 / 0.6), 0
    [0.2263, 0.0]
    """
    return _call(_kl, y_true, y_pred)


def hinge(y_true: ArrayLike, y_pred: ArrayT) -> ArrayT:
    r"""Hinge loss over the last axis, :math:`\operatorname{mean}_{-1} \max(0, 1 - y \hat y)`.

    Parameters
    ----------
    y_true : array, shape (..., d)
        Labels in {-1, 1}; if **every** label is 0 or 1 they are mapped to {-1, 1} first.
    y_pred : array, shape (..., d)
        Scores.

    Returns
    -------
    array, shape (...)

    Notes
    -----
    Keras's ``hinge`` with ``convert_binary_labels_to_hinge``: scores [0.3, -0.5, 2] with
    labels [0, 1, 1] give 0.9333; mixed labels [0, 1, 0.5] are not converted (0.8333, reference
    section 3.9). The test is one ``where`` on the whole array, so it runs under tracing.
    Gradient 1 at the kink (TensorFlow's ``maximum``).

    References
    ----------
    Keras 3 documentation, ``keras.losses.hinge``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import hinge
    >>> scores = np.array([0.3, -0.5, 2.0])
    >>> print(round(float(hinge(np.array([0.0, 1.0, 1.0]), scores)), 4))  # labels -1, 1, 1
    0.9333
    >>> print(round(float(hinge(np.array([0.0, 1.0, 0.5]), scores)), 4))  # not converted
    0.8333
    """
    return _call(_hinge, y_true, y_pred)


def squared_hinge(y_true: ArrayLike, y_pred: ArrayT) -> ArrayT:
    r"""Squared hinge over the last axis, :math:`\operatorname{mean}_{-1} \max(0, 1 - y \hat
    y)^2`, with Keras's {0, 1} -> {-1, 1} label conversion (see :func:`hinge`).

    Parameters
    ----------
    y_true, y_pred : array, shape (..., d)

    Returns
    -------
    array, shape (...)

    Notes
    -----
    Keras's ``squared_hinge``.

    References
    ----------
    Keras 3 documentation, ``keras.losses.squared_hinge``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import squared_hinge
    >>> scores = np.array([0.3, -0.5, 2.0])  # labels -1, 1, 1: (1.3**2 + 1.5**2 + 0) / 3
    >>> print(round(float(squared_hinge(np.array([0.0, 1.0, 1.0]), scores)), 4))
    1.3133
    """
    return _call(_squared_hinge, y_true, y_pred)


def categorical_hinge(y_true: ArrayLike, y_pred: ArrayT) -> ArrayT:
    r"""Categorical hinge, :math:`\max(0, \max_{-1}((1 - y) \hat y) - \sum_{-1} y \hat y + 1)`.

    Parameters
    ----------
    y_true : array, shape (..., C)
        One-hot (or soft) rows.
    y_pred : array, shape (..., C)
        Scores.

    Returns
    -------
    array, shape (...)

    Notes
    -----
    Keras's ``categorical_hinge``, computed by :func:`lossbridge.categorical_hinge_loss` on
    floating targets (class axis moved to 1). Scores [1, 2, 0.5], label 0 give 2.0 (reference
    section 3.9). A tie for the max splits its gradient (TensorFlow gives it to one entry).

    References
    ----------
    Crammer and Singer, "On the Algorithmic Implementation of Multiclass Kernel-based Vector
    Machines", JMLR 2, 2001; Keras 3 documentation, ``keras.losses.categorical_hinge``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import categorical_hinge
    >>> y_true = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    >>> scores = np.array([[1.0, 2.0, 0.5], [0.0, 3.0, 1.0]])  # 2 - 1 + 1, max(0, 1 - 3 + 1)
    >>> np.round(categorical_hinge(y_true, scores), 4).tolist()
    [2.0, 0.0]
    """
    return _call(_categorical_hinge, y_true, y_pred)


def cosine_similarity(y_true: ArrayLike, y_pred: ArrayT, axis: int = -1) -> ArrayT:
    r"""Negative cosine similarity, :math:`-\sum_{axis} \bar y \cdot \bar{\hat y}` with
    :math:`\bar x = x \min(1 / \lVert x \rVert, 1 / \epsilon)`.

    Parameters
    ----------
    y_true, y_pred : array, shape (..., d, ...)
    axis : int, default -1

    Returns
    -------
    array
        ``y_pred``'s shape without ``axis``.

    Notes
    -----
    Keras's ``cosine_similarity`` loss: **negative** (a=[1, 0], b=[1, 1] give -0.7071; torch
    and optax give +0.7071 or 1 - 0.7071, reference section 3.8). Keras normalises by
    :math:`\min(\operatorname{rsqrt}(\sum x^2), 1/\epsilon)`, so a zero vector gives -0.0
    (optax: NaN). Not the core's :func:`lossbridge.cosine_similarity_loss` (1 - cos, norm
    clamped at 1e-8), hence written here.

    References
    ----------
    Keras 3 documentation, ``keras.losses.cosine_similarity``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import cosine_similarity
    >>> a = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> b = np.array([[1.0, 1.0], [0.0, 3.0]])
    >>> np.round(cosine_similarity(a, b), 4).tolist()  # -1 / sqrt(2), -1
    [-0.7071, -1.0]
    """
    axis = _axis(axis, "keras.cosine_similarity")
    return _call(_cosine, y_true, y_pred, squeeze=True, axis=axis)


def _l2_normalize(xp: Any, x: Any, axis: int) -> Any:
    s = xp.sum(x * x, axis=axis, keepdims=True)
    big = s > EPSILON * EPSILON
    inv = xp.where(
        big, 1.0 / xp.sqrt(xp.where(big, s, xp.ones_like(s))), xp.full_like(s, 1.0 / EPSILON)
    )
    return x * inv


def _cosine(xp: Any, y_true: ArrayLike, y_pred: ArrayT, axis: int = -1) -> _PerSample:
    y_true, y_pred = _same_shape(xp, y_true, y_pred, "cosine_similarity")
    yt = _l2_normalize(xp, y_true, axis)
    yp = _l2_normalize(xp, y_pred, axis)
    return -xp.sum(yt * yp, axis=axis), None


def binary_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayT,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> ArrayT:
    r"""Binary cross-entropy averaged over ``axis``.

    .. math::

        \ell = -\operatorname{mean}_{axis}\big(y' \log p + (1 - y') \log(1 - p)\big),\quad
        p = \operatorname{clip}(\hat y, \epsilon, 1 - \epsilon),\quad
        y' = y (1 - s) + s / 2,

    or, with ``from_logits``, the exact logits form :math:`\max(z, 0) - z y' + \log(1 +
    e^{-|z|})`.

    Parameters
    ----------
    y_true : array, the shape of ``y_pred``
        Targets in [0, 1].
    y_pred : array, shape (..., d)
        Probabilities (or logits with ``from_logits=True``).
    from_logits : bool, default False
    label_smoothing : float, default 0.0
        :math:`s`: targets move towards 0.5 (Keras's binary rule; smp uses :math:`y(1 - s) +
        (1 - y)s`, i.e. half of this, reference section 3.10).
    axis : int, default -1
        The axis averaged.

    Returns
    -------
    array
        ``y_pred``'s shape without ``axis`` (a scalar for 1-D inputs).

    Notes
    -----
    Keras's ``binary_crossentropy``. The clip is in the compute dtype: p = [0, 1, 1e-9, 0.3],
    y = [1, 0, 1, 1] give [16.118, 15.942, 16.118, 1.204] in float32 (torch clamps the log at
    -100 and gives [100, 100, 20.723, 1.204], reference section 3.1); float64 gives 16.118 at
    both ends. The TF backend's silent logits path for ``y_pred`` made by a Keras ``sigmoid`` is
    not reproduced (module docstring). Probability path: :func:`lossbridge.binary_cross_entropy`
    on the clipped probabilities; logits: :func:`lossbridge.binary_cross_entropy_with_logits`.
    Neither function form aligns (N,) with (N, 1); the class does.

    References
    ----------
    Keras 3 documentation, ``keras.losses.binary_crossentropy``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import binary_crossentropy
    >>> y_true = np.array([[0.0, 1.0], [0.0, 0.0]])
    >>> y_pred = np.array([[0.6, 0.4], [0.4, 0.6]])  # -log(0.4), -(log 0.6 + log 0.4) / 2
    >>> np.round(binary_crossentropy(y_true, y_pred), 4).tolist()
    [0.9163, 0.7136]
    """
    from_logits = _flag(from_logits, "from_logits", "keras.binary_crossentropy")
    ls = _smoothing(label_smoothing, "keras.binary_crossentropy")
    axis = _axis(axis, "keras.binary_crossentropy")
    return _call(_bce, y_true, y_pred, from_logits=from_logits, label_smoothing=ls, axis=axis)


def binary_focal_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayT,
    apply_class_balancing: bool = False,
    alpha: float | ArrayLike = 0.25,
    gamma: float | ArrayLike = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> ArrayT:
    r"""Binary focal cross-entropy averaged over ``axis``.

    .. math::

        \ell = \operatorname{mean}_{axis}\ w\,(1 - p_t)^\gamma\,\mathrm{BCE}(y', \hat y),\quad
        p_t = y' p + (1 - y')(1 - p),

    with :math:`w = y'\alpha + (1 - y')(1 - \alpha)` **only** when ``apply_class_balancing``
    (else 1), :math:`p` the probability (the sigmoid of the logits with ``from_logits``).

    Parameters
    ----------
    y_true, y_pred : array, shape (..., d)
    apply_class_balancing : bool, default False
    alpha : float or 0-d array, default 0.25
        Ignored unless ``apply_class_balancing``.
    gamma : float or 0-d array, default 2.0
        Arrays (traced values included) are converted to the compute dtype, as Keras uses
        them, and receive gradients.
    from_logits : bool, default False
    label_smoothing : float, default 0.0
        Binary rule, :math:`y' = y(1 - s) + s/2`.
    axis : int, default -1

    Returns
    -------
    array
        ``y_pred``'s shape without ``axis``.

    Notes
    -----
    Keras's ``binary_focal_crossentropy``. Keras's default ignores ``alpha``: logits [2, -1,
    0.5, -3] with y [1, 0, 0, 1] give 0.79204 (torchvision's default alpha=0.25 gives 0.24802,
    as does ``apply_class_balancing=True``, reference section 3.11). With ``from_logits`` the
    cross-entropy is the logits one, as on Keras's TensorFlow backend (logit 100, y=0 gives 100;
    Keras's JAX/torch/NumPy backends give 15.94, reference section 3.14), via
    :func:`lossbridge.sigmoid_focal_loss`; on probabilities it uses the clipped probabilities
    and the unclipped :math:`p_t`, as Keras.

    References
    ----------
    Lin, Goyal, Girshick, He and Dollár, "Focal Loss for Dense Object Detection", ICCV 2017
    (arXiv:1708.02002); Keras 3 documentation, ``keras.losses.binary_focal_crossentropy``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import binary_focal_crossentropy
    >>> y, logits = np.array([1.0, 0.0, 0.0, 1.0]), np.array([2.0, -1.0, 0.5, -3.0])
    >>> print(round(float(binary_focal_crossentropy(y, logits, from_logits=True)), 4))
    0.792
    >>> loss = binary_focal_crossentropy(y, logits, apply_class_balancing=True, from_logits=True)
    >>> print(round(float(loss), 4))
    0.248
    """
    name = "keras.binary_focal_crossentropy"
    return _call(
        _binary_focal,
        y_true,
        y_pred,
        apply_class_balancing=_flag(apply_class_balancing, "apply_class_balancing", name),
        alpha=_real_or_array(alpha, "alpha", name),
        gamma=_real_or_array(gamma, "gamma", name),
        from_logits=_flag(from_logits, "from_logits", name),
        label_smoothing=_smoothing(label_smoothing, name),
        axis=_axis(axis, name),
    )


def categorical_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayT,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> ArrayT:
    r"""Categorical cross-entropy over ``axis``.

    .. math::

        \ell = -\sum_{axis} y' \log \operatorname{clip}\Big(\frac{\hat y}{\sum_{axis}
        \hat y}, \epsilon, 1 - \epsilon\Big),\qquad y' = y(1 - s) + s / C,

    or :math:`-\sum y' \log\operatorname{softmax}(z)` with ``from_logits``.

    Parameters
    ----------
    y_true : array, the shape of ``y_pred``
        One-hot or probability rows.
    y_pred : array, shape (..., C, ...)
        Probabilities (renormalised along ``axis``) or logits.
    from_logits : bool, default False
    label_smoothing : float, default 0.0
    axis : int, default -1
        The class axis.

    Returns
    -------
    array
        ``y_pred``'s shape without ``axis``.

    Notes
    -----
    Keras's ``categorical_crossentropy``: probabilities are renormalised ([.2, .2, .1] with
    label 0 gives -log(.2/.5) = 0.9163; torch's ``nll_loss(log p)`` 1.6094, reference section
    3.15). The logits path is :func:`lossbridge.cross_entropy` with probability targets. The TF
    backend's silent logits path for a Keras ``softmax`` output is not reproduced.

    Label smoothing divides :math:`s` by :math:`C` = ``y_true.shape[-1]`` whatever ``axis``
    is, as Keras 3.15.1 does (keras PR 23437 divides by ``shape[axis]`` after 3.15.1): with
    ``axis=1`` on a (2, 3, 4) input whose probabilities along axis 1 are [.5, .3, .2], label 0
    and :math:`s = 0.2`, each entry is 0.7298 (:math:`s/4`) here and in Keras 3.15.1, 0.7883
    (:math:`s/3`) with the fix.

    References
    ----------
    Keras 3 documentation, ``keras.losses.categorical_crossentropy``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import categorical_crossentropy
    >>> y_true = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
    >>> np.round(categorical_crossentropy(y_true, y_pred), 4).tolist()  # -log(0.95), -log(0.1)
    [0.0513, 2.3026]
    """
    name = "keras.categorical_crossentropy"
    return _call(
        _cce,
        y_true,
        y_pred,
        from_logits=_flag(from_logits, "from_logits", name),
        label_smoothing=_smoothing(label_smoothing, name),
        axis=_axis(axis, name),
    )


def categorical_focal_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayT,
    alpha: float | ArrayLike = 0.25,
    gamma: float | ArrayLike = 2.0,
    from_logits: bool = False,
    label_smoothing: float = 0.0,
    axis: int = -1,
) -> ArrayT:
    r"""Categorical focal cross-entropy over ``axis``.

    .. math::

        \ell = \sum_{axis} -\alpha (1 - p)^\gamma y' \log p,\qquad
        p = \operatorname{clip}(q / \textstyle\sum q, \epsilon, 1 - \epsilon),

    :math:`q` the probabilities (``softmax`` of the logits with ``from_logits``).

    Parameters
    ----------
    y_true, y_pred : array, shape (..., C, ...)
    alpha : float or 0-d array, default 0.25
        One scalar for every class.
    gamma : float or 0-d array, default 2.0
        Arrays (traced values included) are converted to the compute dtype.
    from_logits : bool, default False
    label_smoothing : float, default 0.0
    axis : int, default -1

    Returns
    -------
    array
        ``y_pred``'s shape without ``axis``.

    Notes
    -----
    Keras's ``categorical_focal_crossentropy`` (scalar alpha: 0.012123 on reference section
    3.11's example; MONAI and smp give other losses under the name). The probabilities are
    clipped also on the logits path (no hidden logits there in Keras either), so every backend
    of Keras agrees. The core's :func:`lossbridge.softmax_focal_loss` does not clip, hence the
    composition here. Label smoothing divides by ``y_true.shape[-1]`` whatever ``axis`` is, as
    in :func:`categorical_crossentropy` (Keras 3.15.1).

    References
    ----------
    Lin et al., "Focal Loss for Dense Object Detection", ICCV 2017 (arXiv:1708.02002); Keras 3
    documentation, ``keras.losses.categorical_focal_crossentropy``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import categorical_focal_crossentropy
    >>> y_true = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    >>> y_pred = np.array([[0.5, 0.3, 0.2], [0.2, 0.6, 0.2]])  # -0.25 (1 - p)^2 log p, p = 0.5, 0.6
    >>> np.round(categorical_focal_crossentropy(y_true, y_pred), 4).tolist()
    [0.0433, 0.0204]
    """
    name = "keras.categorical_focal_crossentropy"
    return _call(
        _categorical_focal,
        y_true,
        y_pred,
        alpha=_real_or_array(alpha, "alpha", name),
        gamma=_real_or_array(gamma, "gamma", name),
        from_logits=_flag(from_logits, "from_logits", name),
        label_smoothing=_smoothing(label_smoothing, name),
        axis=_axis(axis, name),
    )


def sparse_categorical_crossentropy(
    y_true: ArrayLike,
    y_pred: ArrayT,
    from_logits: bool = False,
    ignore_class: int | None = None,
    axis: int = -1,
) -> ArrayT:
    r"""Cross-entropy with class-index targets.

    .. math::

        \ell = -\log \operatorname{softmax}(z)_y,\qquad z = \hat y \text{ (logits) or }
        \log\operatorname{clip}(\hat y, \epsilon, 1 - \epsilon) \text{ (probabilities)}.

    Parameters
    ----------
    y_true : array, shape (...) or (..., 1)
        Class indices (floats are truncated, as Keras's cast).
    y_pred : array, shape (..., C)
    from_logits : bool, default False
    ignore_class : int, optional
        Items with this label get loss 0 (and, in the class, are left out of the mean).
    axis : int, default -1
        The class axis (Keras's TF backend accepts only the last; any axis works here).

    Returns
    -------
    array, shape (...)

    Notes
    -----
    Keras's ``sparse_categorical_crossentropy``. On probabilities the TF backend passes
    ``log(clip(p))`` to ``sparse_softmax_cross_entropy_with_logits``, which renormalises the
    *clipped* probabilities (CCE renormalises before clipping). Computed by
    :func:`lossbridge.cross_entropy` with ``ignore_index=ignore_class``. Labels out of range
    raise ``ValueError`` where they can be read (Keras's TF-CPU kernel raises too).

    References
    ----------
    Keras 3 documentation, ``keras.losses.sparse_categorical_crossentropy``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import sparse_categorical_crossentropy
    >>> y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])
    >>> np.round(sparse_categorical_crossentropy(np.array([1, 2]), y_pred), 4).tolist()
    [0.0513, 2.3026]
    """
    name = "keras.sparse_categorical_crossentropy"
    return _call(
        _sparse_cce,
        y_true,
        y_pred,
        labels=True,
        from_logits=_flag(from_logits, "from_logits", name),
        ignore_class=_ignore_class(ignore_class, name),
        axis=_axis(axis, name),
    )


def _ignore_class(value: Any, loss: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{loss}: ignore_class must be an int or None; got {value!r}")
    return int(value)


def categorical_generalized_cross_entropy(
    y_true: ArrayLike, y_pred: ArrayT, q: float | ArrayLike
) -> ArrayT:
    r"""Generalized cross-entropy on probabilities, :math:`\ell = (1 - p_y^q) / q`.

    Parameters
    ----------
    y_true : array, shape (N,) (or (N, 1))
        Class indices.
    y_pred : array, shape (N, C)
        Probabilities (not logits, not clipped).
    q : float or 0-d array
        In (0, 1) (an array's value is checked where it is concrete, not inside a trace);
        :math:`q \to 0` is the cross-entropy, :math:`q = 1` the MAE.

    Returns
    -------
    array, shape (N,)

    Notes
    -----
    Keras's ``categorical_generalized_cross_entropy``. The core's
    :func:`lossbridge.generalized_cross_entropy` takes logits (softmax inside), so the formula
    is written here on the given probabilities. Labels out of range raise (Keras's one-hot
    silently gives :math:`1/q`); a (N, 1) target is squeezed (Keras would broadcast it to
    (N, N)).

    References
    ----------
    Zhang and Sabuncu, "Generalized Cross Entropy Loss for Training Deep Neural Networks with
    Noisy Labels", NeurIPS 2018 (arXiv:1805.07836); Keras 3 documentation,
    ``keras.losses.categorical_generalized_cross_entropy``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import categorical_generalized_cross_entropy
    >>> y_pred = np.array([[0.7, 0.2, 0.1], [0.3, 0.5, 0.2]])
    >>> loss = categorical_generalized_cross_entropy(np.array([0, 1]), y_pred, q=0.5)
    >>> np.round(loss, 4).tolist()  # (1 - sqrt(0.7)) / 0.5, (1 - sqrt(0.5)) / 0.5
    [0.3267, 0.5858]
    """
    q = _check_q(q, "keras.categorical_generalized_cross_entropy")
    return _call(_gce, y_true, y_pred, labels=True, q=q)


def _check_q(q: object, loss: str) -> float | Any:
    """``q`` in (0, 1): a real number, or a 0-d array checked where its value is concrete."""
    if isinstance(q, numbers.Real) and not isinstance(q, bool):
        return check_real(q, "q", loss=loss, low=0.0, high=1.0, strict=True)
    q = check_real_or_array(q, "q", loss=loss, scalar=True)
    check_concrete_values(
        get_namespace(q)[0],
        q,
        "q",
        loss=loss,
        valid=lambda vxp, v: vxp.logical_and(v > 0, v < 1),
        expected="in (0, 1)",
    )
    return q


def dice(y_true: ArrayLike, y_pred: ArrayT, axis: int | tuple[int, ...] | None = None) -> ArrayT:
    r"""Dice loss, :math:`1 - 2 \sum y \hat y / (\sum y + \sum \hat y + \epsilon)`.

    Parameters
    ----------
    y_true, y_pred : array
    axis : int, tuple of int or None, default None
        Axes summed; None sums **every axis, batch included** (one number per call).

    Returns
    -------
    array
        The shape left after summing ``axis`` (0-d for None).

    Notes
    -----
    Keras's ``dice``: p = [.9, .8, .2, .1], t = [1, 1, 0, 0] give 0.1500000212 (the epsilon in
    the denominator only); an empty target and prediction give 1.0 (optax, MONAI, smp: 0,
    reference section 3.12). The core's :func:`lossbridge.dice_loss` works per channel with an
    activation, hence written here.

    References
    ----------
    Milletari, Navab and Ahmadi, "V-Net", 3DV 2016 (arXiv:1606.04797); Keras 3 documentation,
    ``keras.losses.dice``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import dice
    >>> y_true, y_pred = np.array([1.0, 1.0, 0.0, 0.0]), np.array([0.9, 0.8, 0.2, 0.1])
    >>> print(round(float(dice(y_true, y_pred)), 4))  # 1 - 2 * 1.7 / (2 + 2)
    0.15
    """
    axis = _axes(axis, "keras.dice")
    return _call(_dice, y_true, y_pred, axis=axis)


def tversky(
    y_true: ArrayLike,
    y_pred: ArrayT,
    alpha: float | ArrayLike = 0.5,
    beta: float | ArrayLike = 0.5,
    axis: int | tuple[int, ...] | None = None,
) -> ArrayT:
    r"""Tversky loss, :math:`1 - TP / (TP + \alpha FP + \beta FN + \epsilon)`.

    :math:`TP = \sum y \hat y`, :math:`FP = \sum (1 - y)\hat y`, :math:`FN = \sum y (1 - \hat y)`
    over ``axis``.

    Parameters
    ----------
    y_true, y_pred : array
    alpha : float or 0-d array, default 0.5
        Weight of the false positives (Keras's docstring).
    beta : float or 0-d array, default 0.5
        Weight of the false negatives.
    axis : int, tuple of int or None, default None
        None sums every axis, batch included.

    Returns
    -------
    array

    Notes
    -----
    **alpha weights false positives**, as Keras's docstring, MONAI, smp and optax say. Keras
    3.15.1's code weights the false negatives with alpha (fixed in keras-team/keras PR #23333):
    TP=1, FP=2, FN=0, alpha=0.9, beta=0.1 give 0.642857 here and 0.166667 in Keras 3.15.1
    (reference section 3.12); ``tversky(y, p, a, b)`` equals Keras 3.15.1's ``tversky(y, p,
    b, a)``.

    References
    ----------
    Salehi, Erdogmus and Gholipour, "Tversky loss function for image segmentation using 3D
    fully convolutional deep networks", MLMI 2017 (arXiv:1706.05721); Keras 3 documentation,
    ``keras.losses.tversky``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import tversky
    >>> y_true, y_pred = np.array([1.0, 0.0, 0.0]), np.array([1.0, 1.0, 1.0])  # TP 1, FP 2, FN 0
    >>> loss = tversky(y_true, y_pred, alpha=0.9, beta=0.1)  # 1 - 1 / (1 + 0.9 * 2 + 0.1 * 0)
    >>> print(round(float(loss), 4))
    0.6429
    """
    alpha = _real_or_array(alpha, "alpha", "keras.tversky")
    beta = _real_or_array(beta, "beta", "keras.tversky")
    axis = _axes(axis, "keras.tversky")
    return _call(_tversky, y_true, y_pred, alpha=alpha, beta=beta, axis=axis)


def circle(
    y_true: ArrayLike,
    y_pred: ArrayT,
    ref_labels: ArrayLike | None = None,
    ref_embeddings: ArrayLike | None = None,
    remove_diagonal: bool = True,
    gamma: float | ArrayLike = 80,
    margin: float | ArrayLike = 0.4,
) -> ArrayT:
    r"""Circle loss per query embedding (Keras's form).

    With cosine distances :math:`d_{ij} = \max(0, 1 - e_i \cdot r_j)`, positives (same label,
    off the diagonal when ``remove_diagonal``) and negatives:

    .. math::

        \ell_i = \operatorname{softplus}\Big(\operatorname{LSE}_{j \in P_i}
        -\gamma [m + d_{ij}]_+ (m - d_{ij}) + \operatorname{LSE}_{j \in N_i}
        \gamma [1 + m - d_{ij}]_+ (1 - m - d_{ij})\Big).

    Parameters
    ----------
    y_true : array, shape (N,)
        Labels.
    y_pred : array, shape (N, D)
        **L2-normalised** embeddings (Keras does not normalise: raw embeddings give another
        loss, reference section 3.16).
    ref_labels, ref_embeddings : array, optional
        The keys (default: the queries themselves).
    remove_diagonal : bool, default True
    gamma : float or 0-d array, default 80
    margin : float or 0-d array, default 0.4
        Arrays (traced values included) are converted to the compute dtype.

    Returns
    -------
    array, shape (N,)
        0 where a query has no positive (or no negative); the class leaves those out of its
        mean (Keras's mask ``loss > 0``).

    Notes
    -----
    Keras's ``circle``. The core's :func:`lossbridge.circle_loss` is the pytorch-metric-learning
    form (normalises, other defaults), hence written here.

    References
    ----------
    Sun et al., "Circle Loss: A Unified Perspective of Pair Similarity Optimization", CVPR 2020
    (arXiv:2002.10857); Keras 3 documentation, ``keras.losses.circle``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import circle
    >>> angles = np.array([0.0, 0.5, 0.8, 1.3])  # unit vectors in the plane
    >>> embeddings = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    >>> np.round(circle(np.array([0, 0, 1, 1]), embeddings), 4).tolist()
    [14.4309, 48.6123, 48.6123, 14.4309]
    """
    name = "keras.circle"
    hypers = {"gamma": _real_or_array(gamma, "gamma", name)}
    hypers["margin"] = _real_or_array(margin, "margin", name)
    xp, y_true, y_pred, half = _prep(y_true, y_pred, labels=True)
    device = get_namespace(y_pred)[1]
    if ref_embeddings is not None:
        ref_embeddings = asarray_on(ref_embeddings, xp, device, dtype=y_pred.dtype)
    if ref_labels is not None:
        ref_labels = asarray_on(ref_labels, xp, device, dtype=xp.int64)
    out = _circle(
        xp,
        y_true,
        y_pred,
        ref_labels=ref_labels,
        ref_embeddings=ref_embeddings,
        remove_diagonal=_flag(remove_diagonal, "remove_diagonal", name),
        **_hypers_in(xp, _circle, hypers, y_pred, half),
    )[0]
    return _round(xp, out, half)


def ctc(y_true: ArrayLike, y_pred: ArrayT) -> ArrayT:
    r"""CTC loss per sequence, Keras's form: padded labels (0 = padding and blank), logits.

    Label lengths are the counts of non-zero labels, input lengths the full ``T``; the loss is
    :func:`lossbridge.ctc_loss` (``blank=0``) on ``log_softmax(y_pred)`` made time-major.

    Parameters
    ----------
    y_true : array, shape (B, L)
        Integer labels padded with 0 (so 0 cannot be a real class).
    y_pred : array, shape (B, T, C)
        Logits, batch-major.

    Returns
    -------
    array, shape (B,)

    Notes
    -----
    Keras's ``ctc``: on reference section 3.13's example [5.029, 4.4654] (torch with input
    lengths [6, 6]). A sequence without a feasible alignment gives ``inf`` here (torch's value);
    TensorFlow gives a large finite number (708.2). Keras's TF backend computes float64 in
    float32; here float64 stays float64.

    References
    ----------
    Graves, Fernández, Gomez and Schmidhuber, "Connectionist Temporal Classification", ICML 2006;
    Keras 3 documentation, ``keras.losses.ctc``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import ctc
    >>> logits = np.zeros((1, 3, 3))  # 5 of the 27 paths (112, 122, _12, 1_2, 12_) give [1, 2]
    >>> np.round(ctc(np.array([[1, 2]]), logits), 4).tolist()  # log(27 / 5)
    [1.6864]
    """
    return _call(_ctc, y_true, y_pred, labels=True)


# The functions above as public entries ("<function>: ..." errors, lossbridge._validation), before
# the classes and _OBJECTS below refer to them; the classes follow at the end of the module.
name_public_errors(globals())

# ------------------------------------------------------------------------------------------
# Classes
# ------------------------------------------------------------------------------------------


def _snake(name: str) -> str:
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


#: ``(class, keras.losses.Loss)``: the Keras-compatible subclass made for them.
_HYBRIDS: dict[tuple[type, type], type] = {}

#: The package the classes and functions are registered under for Keras serialization:
#: ``"lossbridge>BinaryCrossentropy"`` (``keras.saving.register_keras_serializable``).
PACKAGE = "lossbridge"

#: ``object``'s own ``__class__`` setter (:attr:`Loss.__class__` is a property).
_set_class = object.__dict__["__class__"].__set__


_T = TypeVar("_T")


def _keras_compatible(cls: type[_T]) -> type[_T]:
    """``cls``, or (while Keras is imported) a subclass of ``cls`` and ``keras.losses.Loss``.

    ``model.compile`` calls a ``keras.losses.Loss`` with ``sample_weight`` and lets it reduce;
    any other callable is wrapped in Keras's ``LossFunctionWrapper``, which would weight our
    already reduced scalar. Keras is never imported here: only a loaded ``keras`` is used. A
    new subclass takes ``cls``'s Keras registration (ours: ``"lossbridge>Name"``; a user's
    subclass registered with ``register_keras_serializable``: its name), so that
    ``model.save`` names it and ``load_model`` builds it.
    """
    keras: Any = sys.modules.get("keras")
    base = getattr(getattr(keras, "losses", None), "Loss", None)
    if not isinstance(base, type) or issubclass(cls, base):
        return cls
    hybrid = _HYBRIDS.get((cls, base))
    if hybrid is None:
        hybrid = type(
            cls.__name__,
            (cls, base),
            {
                "__module__": cls.__module__,
                "__qualname__": cls.__qualname__,
                "__doc__": cls.__doc__,
            },
        )
        _HYBRIDS[(cls, base)] = hybrid
        saving = keras.saving
        registered = saving.get_registered_name(cls)
        if cls.__module__ == __name__ and cls.__name__ in _OBJECTS:
            registered = f"{PACKAGE}>{cls.__name__}"
        if ">" in registered:
            package, _, name = registered.partition(">")
            saving.register_keras_serializable(package=package, name=name)(hybrid)
    return hybrid


def _register_with_keras() -> None:
    """Register every class (its Keras-compatible subclass) and function for Keras
    serialization under :data:`PACKAGE`, once Keras is imported (``import lossbridge.keras``
    while Keras is imported, else when ``import keras`` completes: :class:`_AfterKerasImport`).
    """
    saving = getattr(sys.modules.get("keras"), "saving", None)
    if saving is None:
        return
    register = saving.register_keras_serializable(package=PACKAGE)
    for cls in _CLASSES:
        _keras_compatible(cls)  # registers it
    for fn in _FUNCTIONS:
        if saving.get_registered_object(f"{PACKAGE}>{fn.__name__}") is not fn:
            register(fn)


class _AfterKerasImport:
    """A ``sys.meta_path`` finder that registers the losses with Keras when ``import keras``
    completes, then leaves ``sys.meta_path``.

    Keras 3.15.1 imports no module outside its own packages when it loads a model (a saved
    ``"module": "lossbridge.keras"`` is not imported: ``_retrieve_class_or_fn`` in
    ``keras/src/saving/serialization_lib.py``), so the loading process imports
    ``lossbridge.keras``, and Keras finds the classes in its registry only. Registering needs
    Keras and ``import lossbridge.keras`` imports no framework: where Keras is not imported
    yet, this finder waits for it. It finds nothing itself: it asks the other finders for
    Keras's spec and makes that spec's loader (that one loader object only) register the
    losses after executing ``keras/__init__.py``. Keras itself is not changed.
    """

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        if fullname != "keras":
            return None
        # the finder stays installed until Keras is executed: a query
        # (importlib.util.find_spec("keras")) executes nothing, and the next finding is the import
        for finder in sys.meta_path:
            if finder is self:
                continue
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        run = getattr(loader, "exec_module", None)
        if run is None:
            return spec

        def exec_module(module: Any) -> None:
            run(module)  # a failed import of Keras raises here: the finder waits for the next
            self.uninstall()
            try:
                _register_with_keras()
            except Exception as e:  # never break ``import keras``
                warnings.warn(
                    f"lossbridge.keras could not register its losses with Keras ({e!r}); "
                    "import lossbridge.keras again after keras to save and load models",
                    RuntimeWarning,
                    stacklevel=2,
                )

        loader.exec_module = exec_module
        return spec

    def install(self) -> None:
        """Put this finder first in ``sys.meta_path`` (replacing an earlier one of its kind)."""
        sys.meta_path[:] = [f for f in sys.meta_path if type(f).__name__ != type(self).__name__]
        sys.meta_path.insert(0, self)

    def uninstall(self) -> None:
        """Take this finder out of ``sys.meta_path``."""
        sys.meta_path[:] = [f for f in sys.meta_path if f is not self]


def _rebuild(cls: type[Loss], config: dict[str, Any]) -> Loss:
    return cls.from_config(config)


class Loss:
    """Base class of the Keras-dialect losses (``keras.losses.Loss``'s interface).

    Subclass it and implement :meth:`call` (per-sample losses from ``y_true``, ``y_pred``);
    ``__call__`` converts both arrays to the compute dtype, calls :meth:`call` and applies
    Keras's sample weights and reduction.

    Parameters
    ----------
    name : str, optional
        Defaults to the class name in snake case.
    reduction : {'sum_over_batch_size', 'sum', 'mean', 'mean_with_sample_weight', 'none', None}
        ``'sum_over_batch_size'`` and ``'mean'``: the weighted sum over the number of elements
        of the per-sample loss. ``'mean_with_sample_weight'``: over the sum of the sample
        weights (over the element count without weights). ``'sum'``. ``None``/``'none'``:
        the per-sample loss, weighted.
    dtype : str, keras.DTypePolicy or dtype, optional
        The compute dtype, as Keras reads it: a float dtype name (``'float32'``,
        ``'bfloat16'``, ...), a policy name (``'mixed_float16'``, ``'mixed_bfloat16'``: its
        compute dtype) or a ``DTypePolicy``. None means ``keras.config.floatx()`` at
        construction (float32 unless set; read only if Keras is imported), **except that a
        float64 prediction stays float64** (``docs/porting.md``, Precision). Both arrays are
        cast to it; a float16/bfloat16 compute dtype computes in float32, with Keras's clip
        bounds held in the half dtype, and rounds the result once to it.

    Notes
    -----
    Once ``keras`` is imported, an instance is also an instance of ``keras.losses.Loss``,
    whatever the import order: created while Keras is imported, its class is a subclass of its
    lossbridge class and ``keras.losses.Loss`` made on the fly; created before, its
    ``__class__`` names that class once Keras is imported, which is what ``isinstance(loss,
    keras.losses.Loss)`` reads (``model.compile``'s test: a ``Loss`` is called with
    ``sample_weight`` and reduces as Keras's own class, anything else is wrapped and its
    reduced value weighted). Keras is never imported here. The classes are registered for
    Keras serialization as ``"lossbridge>ClassName"``, so ``load_model`` needs no
    ``custom_objects`` once ``lossbridge.keras`` is imported (``docs/porting.md``, Saving
    and loading). Keras masks on ``y_pred`` (``_keras_mask``) are not read, and
    ``tf.distribute``'s 1/replicas scaling is not applied.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import Loss
    >>> class MeanAbsolute(Loss):
    ...     def call(self, y_true, y_pred):
    ...         return np.mean(np.abs(y_true - y_pred), axis=-1)
    >>> y_true, y_pred = np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([[0.5, 1.0], [1.0, 5.0]])
    >>> weights = np.array([1.0, 3.0])  # per sample 0.25, 1.5: (0.25 + 4.5) / 2
    >>> print(round(float(MeanAbsolute()(y_true, y_pred, sample_weight=weights)), 4))
    2.375
    >>> loss = MeanAbsolute(reduction="mean_with_sample_weight")  # (0.25 + 4.5) / 4
    >>> print(round(float(loss(y_true, y_pred, sample_weight=weights)), 4))
    1.1875
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> Loss:
        return object.__new__(_keras_compatible(cls))

    @property
    def __class__(self) -> type:
        """The instance's class as ``isinstance`` and Keras see it: once Keras is imported, the
        Keras-compatible one (``isinstance(x, C)`` reads ``x.__class__`` when ``type(x)`` is
        not a subclass of ``C``). An instance made before ``import keras`` keeps its
        ``type()``: the Keras-compatible class adds no behaviour, only the type relation (it
        cannot take that class here: ``isinstance`` compares ``__class__`` with ``type(x)``
        after reading it)."""
        return _keras_compatible(type(self))

    @__class__.setter
    def __class__(self, value: type) -> None:
        _set_class(self, value)

    #: The per-sample implementation of lossbridge's classes; None: :meth:`call` (a user's).
    _impl: ClassVar[_Impl | None] = None
    #: Whether ``y_true`` holds class indices (cast to int64, not to the compute dtype).
    _labels: ClassVar[bool] = False

    def __init__(
        self,
        name: str | None = None,
        reduction: Reduction = "sum_over_batch_size",
        dtype: DTypeLike = None,
    ) -> None:
        if name is not None and not isinstance(name, str):
            raise TypeError(f"name must be a str or None; got {name!r}")
        self.name = name or _snake(type(self).__name__)
        self.reduction = standardize_reduction(reduction)
        self._dtype_arg, compute = _check_dtype(dtype)
        self._dtype = compute or _FLOAT_NAMES.get(_floatx(), "float32")

    @property
    def dtype(self) -> str:
        """The compute dtype's name (Keras's ``Loss.dtype``): ``dtype``'s, else ``floatx()``."""
        return self._dtype

    def _compute_dtype(self, y_pred: Any) -> str | None:
        """The compute dtype of a call: :attr:`dtype`, or None (keep float64) for a float64
        prediction when no ``dtype`` was given."""
        if self._dtype_arg is None and self._dtype != "float64":
            d = getattr(y_pred, "dtype", None)
            if d is not None and _dtype_name(d) == "float64":
                return None
        return self._dtype

    def __call__(
        self,
        y_true: ArrayLike,
        y_pred: ArrayT,
        sample_weight: ArrayLike | None = None,
        *,
        denominator: float | ArrayLike | None = None,
    ) -> ArrayT:
        """The loss, weighted by ``sample_weight`` and reduced as :attr:`reduction` says, in
        :attr:`dtype` (a float64 prediction stays float64 when no ``dtype`` was given).

        ``denominator`` (keyword-only; reductions ``'sum_over_batch_size'``, ``'mean'`` and
        ``'mean_with_sample_weight'``): the weighted, masked sum is divided by it instead of
        the divisor Keras would use (:func:`lossbridge.mean_denominator` returns that one);
        a Python number or a 0-d array of the call's framework, traced values included. A
        zero denominator gives 0, as Keras's ``divide_no_nan``.
        """
        denominator = _check_denominator(denominator, self.reduction)
        ours = type(self)._impl is not None  # lossbridge's losses compute half in float32
        xp, y_true, y_pred, half = _prep(
            y_true, y_pred, self._compute_dtype(y_pred), labels=self._labels, upcast=ours
        )
        losses, mask = self._call_masked(xp, y_true, y_pred, half)
        if half is not None and losses.dtype != xp.float32:
            losses = xp.astype(losses, xp.float32)  # a user's call in half: reduce in float32
        sample_weight = _weights_on(xp, sample_weight, losses, half)
        out = reduce_weighted_values(xp, losses, sample_weight, mask, self.reduction, denominator)
        return out if denominator is COUNT else _round(xp, out, half)

    def _mean_denominator(
        self, y_true: ArrayLike, y_pred: ArrayLike, sample_weight: ArrayLike | None = None
    ) -> Any:
        """``lossbridge.mean_denominator(loss, y_true, y_pred, sample_weight=None)``: what
        this loss's reduction divides the weighted sum by for these arguments, as a 0-d array
        of ``y_pred``'s framework in the compute dtype (float32 for a half one).

        ``'sum_over_batch_size'``/``'mean'``: the number of elements of the per-sample loss
        (after the sample weights broadcast it), the unmasked ones only where the loss has a
        Keras mask (``ignore_class``); ``'mean_with_sample_weight'``: the sum of the sample
        weights (times the mask; the element count without either). Computed by
        :meth:`__call__` itself, with the private ``COUNT`` denominator.
        """
        if self.reduction not in MEANS:
            raise ValueError(
                f"{type(self).__name__}: mean_denominator needs a reduction that divides ("
                + ", ".join(repr(m) for m in MEANS)
                + f"); got reduction={self.reduction!r}"
            )
        return self(y_true, y_pred, sample_weight, denominator=COUNT)

    def _call_masked(self, xp: Any, y_true: Any, y_pred: Any, half: Any) -> tuple[Any, Any]:
        return self.call(y_true, y_pred), None

    def call(self, y_true: ArrayLike, y_pred: ArrayT) -> ArrayT:
        """Per-sample losses; implemented by subclasses."""
        raise NotImplementedError(f"{type(self).__name__}.call is not implemented")

    def get_config(self) -> dict[str, Any]:
        """Keras's config: ``name``, ``reduction`` (and ``dtype``, the dtype or policy name,
        where one was given: Keras's own config leaves it out)."""
        config: dict[str, Any] = {"name": self.name, "reduction": self.reduction}
        if self._dtype_arg is not None:
            config["dtype"] = self._dtype_arg
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Loss:
        """The loss ``cls(**config)``."""
        return cls(**config)

    def __reduce__(self) -> tuple[Any, ...]:
        klass = type(self)
        if klass not in _HYBRIDS.values():
            return (_rebuild, (klass, self.get_config()))
        return (_rebuild, (klass.__mro__[1], self.get_config()))

    def _obj_type(self) -> str:
        return "Loss"

    def __repr__(self) -> str:
        return f"<lossbridge.keras.{type(self).__name__} name={self.name!r}>"


class LossFunctionWrapper(Loss):
    """A :class:`Loss` around a function ``fn(y_true, y_pred, **kwargs)`` of per-sample losses.

    Parameters
    ----------
    fn : callable
    reduction, name, dtype
        As :class:`Loss`.
    **kwargs
        Passed to ``fn``.

    Notes
    -----
    As Keras's ``LossFunctionWrapper``, :meth:`call` first aligns ``(N,)`` with ``(N, 1)``
    (``squeeze_or_expand_to_same_rank``).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import LossFunctionWrapper, huber
    >>> def mean_abs(y_true, y_pred):
    ...     return np.mean(np.abs(y_true - y_pred), axis=-1)
    >>> y_true, y_pred = np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([[0.5, 1.0], [1.0, 5.0]])
    >>> loss = LossFunctionWrapper(mean_abs, reduction=None)  # per sample 0.25, 1.5, weighted
    >>> np.round(loss(y_true, y_pred, sample_weight=np.array([1.0, 3.0])), 4).tolist()
    [0.25, 4.5]
    >>> loss = LossFunctionWrapper(huber, delta=2.0)  # keyword arguments go to the function
    >>> print(round(float(loss(np.zeros((1, 3)), np.array([[0.5, 1.5, 3.0]]))), 4))
    1.75
    """

    def __init__(
        self,
        fn: Callable[..., Any],
        reduction: Reduction = "sum_over_batch_size",
        name: str | None = None,
        dtype: DTypeLike = None,
        **kwargs: Any,
    ) -> None:
        if not callable(fn):
            raise TypeError(f"fn must be callable; got {fn!r}")
        if hasattr(fn, "__lossbridge_precision__"):  # a core loss: (input, target), reduced
            raise TypeError(f"fn={fn.__name__}: {keras_misuse_message(fn.__name__)}")
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.fn = fn
        self._fn_kwargs = kwargs

    def _call_masked(self, xp: Any, y_true: Any, y_pred: Any, half: Any) -> tuple[Any, Any]:
        y_true, y_pred = squeeze_or_expand_to_same_rank(xp, y_true, y_pred)
        impl = type(self)._impl
        if impl is not None:
            kwargs = _hypers_in(xp, impl, self._fn_kwargs, y_pred, half)
            return impl(xp, y_true, y_pred, **_eps_kw(impl, half), **kwargs)
        return self.fn(y_true, y_pred, **self._fn_kwargs), None

    def call(self, y_true: ArrayLike, y_pred: ArrayT) -> ArrayT:
        """Per-sample losses of ``fn`` on the aligned arrays, in the compute dtype."""
        ours = type(self)._impl is not None
        xp, y_true, y_pred, half = _prep(
            y_true, y_pred, self._compute_dtype(y_pred), labels=self._labels, upcast=ours
        )
        return _round(xp, self._call_masked(xp, y_true, y_pred, half)[0], half)

    def get_config(self) -> dict[str, Any]:
        """:class:`Loss`'s config and the keyword arguments of ``fn`` (with ``fn`` itself for
        this class): a lossbridge class passes its function its own constructor's arguments."""
        config = super().get_config()
        if type(self) is LossFunctionWrapper:
            config["fn"] = self.fn
        if type(self) is LossFunctionWrapper or type(self)._impl is not None:
            config.update(self._fn_kwargs)
        return config

    def __repr__(self) -> str:
        return f"<LossFunctionWrapper({self.fn}, kwargs={self._fn_kwargs})>"


#: The parameters and the result every class shares (Keras repeats them in each class): its
#: docstring holds :data:`_SHARED_MARK` in their place (:func:`_shared_doc`).
_SHARED_DOC = """\
    reduction : {'sum_over_batch_size', 'sum', 'mean', 'mean_with_sample_weight', 'none', None}
        How the (weighted) per-sample losses are reduced; default ``'sum_over_batch_size'``
        (:class:`Loss`).
    name : str, optional
        The loss's name; Keras's by default.
    dtype : str, keras.DTypePolicy or dtype, optional
        The compute dtype (Keras's; None: ``floatx()``, a float64 prediction staying
        float64); see :class:`Loss`.

    Returns
    -------
    array
        ``loss(y_true, y_pred, sample_weight=None)``: 0-d, or the per-sample loss for
        ``reduction=None``/``'none'``. ``(N,)`` against ``(N, 1)`` is aligned first (Keras's
        ``squeeze_or_expand_to_same_rank``).
"""
_SHARED_MARK = "    reduction, name, dtype\n        As every Keras loss (:class:`Loss`).\n"

_C = TypeVar("_C", bound=type)


def _shared_doc(cls: _C) -> _C:
    """``cls`` with :data:`_SHARED_DOC` in place of :data:`_SHARED_MARK` in its docstring
    (none under ``python -OO``)."""
    if cls.__doc__:
        cls.__doc__ = cls.__doc__.replace(_SHARED_MARK, _SHARED_DOC)
    return cls


@_shared_doc
class MeanSquaredError(LossFunctionWrapper):
    r"""Mean squared error (``keras.losses.MeanSquaredError``).

    Per-sample loss: :func:`mean_squared_error` (formula, shapes, notes).

    Parameters
    ----------
    reduction, name, dtype
        As every Keras loss (:class:`Loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import MeanSquaredError
    >>> y_true, y_pred = np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([[0.5, 1.0], [1.0, 5.0]])
    >>> loss = MeanSquaredError()  # per sample 0.125, 2.5
    >>> print(round(float(loss(y_true, y_pred)), 4))
    1.3125
    >>> print(round(float(loss(y_true, y_pred, sample_weight=np.array([1.0, 0.0]))), 4))
    0.0625
    """

    _impl = staticmethod(_mse)

    def __init__(
        self,
        reduction: Reduction = "sum_over_batch_size",
        name: str | None = "mean_squared_error",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(mean_squared_error, reduction=reduction, name=name, dtype=dtype)


@_shared_doc
class MeanAbsoluteError(LossFunctionWrapper):
    r"""Mean absolute error (``keras.losses.MeanAbsoluteError``).

    Per-sample loss: :func:`mean_absolute_error` (formula, shapes, notes).

    Parameters
    ----------
    reduction, name, dtype
        As every Keras loss (:class:`Loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import MeanAbsoluteError
    >>> y_true, y_pred = np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([[0.5, 1.0], [1.0, 5.0]])
    >>> loss = MeanAbsoluteError(reduction="sum")  # per sample 0.25, 1.5
    >>> print(round(float(loss(y_true, y_pred)), 4))
    1.75
    """

    _impl = staticmethod(_mae)

    def __init__(
        self,
        reduction: Reduction = "sum_over_batch_size",
        name: str | None = "mean_absolute_error",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(mean_absolute_error, reduction=reduction, name=name, dtype=dtype)


@_shared_doc
class MeanAbsolutePercentageError(LossFunctionWrapper):
    r"""MAPE (``keras.losses.MeanAbsolutePercentageError``).

    Per-sample loss: :func:`mean_absolute_percentage_error` (formula, shapes, notes).

    Parameters
    ----------
    reduction, name, dtype
        As every Keras loss (:class:`Loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import MeanAbsolutePercentageError
    >>> y_true = np.array([[1.0, 2.0], [4.0, 5.0]])
    >>> y_pred = np.array([[1.5, 2.0], [3.0, 5.0]])  # per sample 25, 12.5
    >>> print(round(float(MeanAbsolutePercentageError()(y_true, y_pred)), 4))
    18.75
    """

    _impl = staticmethod(_mape)

    def __init__(
        self,
        reduction: Reduction = "sum_over_batch_size",
        name: str | None = "mean_absolute_percentage_error",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(
            mean_absolute_percentage_error, reduction=reduction, name=name, dtype=dtype
        )


@_shared_doc
class MeanSquaredLogarithmicError(LossFunctionWrapper):
    r"""MSLE (``keras.losses.MeanSquaredLogarithmicError``).

    Per-sample loss: :func:`mean_squared_logarithmic_error` (formula, shapes, notes).

    Parameters
    ----------
    reduction, name, dtype
        As every Keras loss (:class:`Loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import MeanSquaredLogarithmicError
    >>> y_true, y_pred = np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([[0.5, 1.0], [1.0, 5.0]])
    >>> print(round(float(MeanSquaredLogarithmicError()(y_true, y_pred)), 4))
    0.1233
    """

    _impl = staticmethod(_msle)

    def __init__(
        self,
        reduction: Reduction = "sum_over_batch_size",
        name: str | None = "mean_squared_logarithmic_error",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(
            mean_squared_logarithmic_error, reduction=reduction, name=name, dtype=dtype
        )


@_shared_doc
class CosineSimilarity(LossFunctionWrapper):
    r"""Negative cosine similarity (``keras.losses.CosineSimilarity``).

    Per-sample loss: :func:`cosine_similarity` (formula, shapes, notes).

    Parameters
    ----------
    axis : int, default -1
        The axis of the vectors.
    reduction, name, dtype
        As every Keras loss (:class:`Loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import CosineSimilarity
    >>> a = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> b = np.array([[1.0, 1.0], [0.0, 3.0]])  # per sample -1 / sqrt(2), -1
    >>> print(round(float(CosineSimilarity()(a, b)), 4))
    -0.8536
    """

    _impl = staticmethod(_cosine)

    def __init__(
        self,
        axis: int = -1,
        reduction: Reduction = "sum_over_batch_size",
        name: str | None = "cosine_similarity",
        dtype: DTypeLike = None,
    ) -> None:
        loss = "keras.CosineSimilarity"
        self.axis = _axis(axis, loss)
        super().__init__(
            cosine_similarity,
            reduction=reduction,
            name=name,
            dtype=dtype,
            axis=self.axis,
        )


@_shared_doc
class Huber(LossFunctionWrapper):
    r"""Huber loss (``keras.losses.Huber``).

    Per-sample loss: :func:`huber` (formula, shapes, notes).

    Parameters
    ----------
    delta : float or 0-d array, default 1.0
        Where the loss turns from quadratic to linear.
    reduction, name, dtype
        As every Keras loss (:class:`Loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import Huber
    >>> errors = np.array([0.5, 1.5, 3.0])  # (0.5**2 / 2 + 1.5**2 / 2 + (2 * 3 - 2**2 / 2)) / 3
    >>> print(round(float(Huber(delta=2.0)(np.zeros(3), errors)), 4))
    1.75
    """

    _impl = staticmethod(_huber)

    def __init__(
        self,
        delta: float | ArrayLike = 1.0,
        reduction: Reduction = "sum_over_batch_size",
        name: str | None = "huber_loss",
        dtype: DTypeLike = None,
    ) -> None:
        loss = "keras.Huber"
        self.delta = _real_or_array(delta, "delta", loss)
        super().__init__(
            huber,
            reduction=reduction,
            name=name,
            dtype=dtype,
            delta=self.delta,
        )


@_shared_doc
class LogCosh(LossFunctionWrapper):
    r"""Log-cosh (``keras.losses.LogCosh``).

    Per-sample loss: :func:`log_cosh` (formula, shapes, notes).

    Parameters
    ----------
    reduction, name, dtype
        As every Keras loss (:class:`Loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import LogCosh
    >>> y_true, y_pred = np.array([[0.0, 1.0], [2.0, 3.0]]), np.array([[0.5, 1.0], [1.0, 5.0]])
    >>> print(round(float(LogCosh()(y_true, y_pred)), 4))
    0.4697
    """

    _impl = staticmethod(_log_cosh)

    def __init__(
        self,
        reduction: Reduction = "sum_over_batch_size",
        name: str | None = "log_cosh",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(log_cosh, reduction=reduction, name=name, dtype=dtype)


@_shared_doc
class Hinge(LossFunctionWrapper):
    r"""Hinge loss (``keras.losses.Hinge``).

    Per-sample loss: :func:`hinge` (formula, shapes, notes).

    Parameters
    ----------
    reduction, name, dtype
        As every Keras loss (:class:`Loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import Hinge
    >>> labels = np.array([[-1.0, 1.0, 1.0], [1.0, -1.0, -1.0]])
    >>> scores = np.array([[0.3, -0.5, 2.0], [1.0, 0.2, -0.4]])  # per sample 2.8 / 3, 1.8 / 3
    >>> print(round(float(Hinge()(labels, scores)), 4))
    0.7667
    """

    _impl = staticmethod(_hinge)

    def __init__(
        self,
        reduction: Reduction = "sum_over_batch_size",
        name: str | None = "hinge",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(hinge, reduction=reduction, name=name, dtype=dtype)


@_shared_doc
class SquaredHinge(LossFunctionWrapper):
    r"""Squared hinge (``keras.losses.SquaredHinge``).

    Per-sample loss: :func:`squared_hinge` (formula, shapes, notes).

    Parameters
    ----------
    reduction, name, dtype
        As every Keras loss (:class:`Loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import SquaredHinge
    >>> labels = np.array([[-1.0, 1.0, 1.0], [1.0, -1.0, -1.0]])
    >>> scores = np.array([[0.3, -0.5, 2.0], [1.0, 0.2, -0.4]])
    >>> print(round(float(SquaredHinge()(labels, scores)), 4))
    0.9567
    """

    _impl = staticmethod(_squared_hinge)

    def __init__(
        self,
        reduction: Reduction = "sum_over_batch_size",
        name: str | None = "squared_hinge",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(squared_hinge, reduction=reduction, name=name, dtype=dtype)


@_shared_doc
class CategoricalHinge(LossFunctionWrapper):
    r"""Categorical hinge (``keras.losses.CategoricalHinge``).

    Per-sample loss: :func:`categorical_hinge` (formula, shapes, notes).

    Parameters
    ----------
    reduction, name, dtype
        As every Keras loss (:class:`Loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import CategoricalHinge
    >>> y_true = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    >>> scores = np.array([[1.0, 2.0, 0.5], [0.0, 3.0, 1.0]])  # per sample 2, 0
    >>> print(round(float(CategoricalHinge()(y_true, scores)), 4))
    1.0
    """

    _impl = staticmethod(_categorical_hinge)

    def __init__(
        self,
        reduction: Reduction = "sum_over_batch_size",
        name: str | None = "categorical_hinge",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(categorical_hinge, reduction=reduction, name=name, dtype=dtype)


@_shared_doc
class KLDivergence(LossFunctionWrapper):
    r"""KL divergence (``keras.losses.KLDivergence``).

    Per-sample loss: :func:`kl_divergence` (formula, shapes, notes).

    Parameters
    ----------
    reduction, name, dtype
        As every Keras loss (:class:`Loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import KLDivergence
    >>> p = np.array([[0.1, 0.9], [0.5, 0.5]])
    >>> q = np.array([[0.4, 0.6], [0.5, 0.5]])
    >>> print(round(float(KLDivergence()(p, q)), 4))
    0.1131
    """

    _impl = staticmethod(_kl)

    def __init__(
        self,
        reduction: Reduction = "sum_over_batch_size",
        name: str | None = "kl_divergence",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(kl_divergence, reduction=reduction, name=name, dtype=dtype)


@_shared_doc
class Poisson(LossFunctionWrapper):
    r"""Poisson loss (``keras.losses.Poisson``).

    Per-sample loss: :func:`poisson` (formula, shapes, notes).

    Parameters
    ----------
    reduction, name, dtype
        As every Keras loss (:class:`Loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import Poisson
    >>> counts = np.array([[0.0, 3.0, 2.0], [1.0, 1.0, 1.0]])
    >>> rates = np.array([[0.5, 2.0, 4.0], [1.0, 1.0, 1.0]])  # per sample 0.5493, 1
    >>> print(round(float(Poisson()(counts, rates)), 4))
    0.7747
    """

    _impl = staticmethod(_poisson)

    def __init__(
        self,
        reduction: Reduction = "sum_over_batch_size",
        name: str | None = "poisson",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(poisson, reduction=reduction, name=name, dtype=dtype)


@_shared_doc
class BinaryCrossentropy(LossFunctionWrapper):
    r"""Binary cross-entropy (``keras.losses.BinaryCrossentropy``).

    Per-sample loss: :func:`binary_crossentropy` (formula, shapes, notes).

    Parameters
    ----------
    from_logits : bool, default False
        Whether ``y_pred`` holds logits (else probabilities).
    label_smoothing : float, default 0.0
    axis : int, default -1
    reduction, name, dtype
        As every Keras loss (:class:`Loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import BinaryCrossentropy
    >>> y_true = np.array([[0.0, 1.0], [0.0, 0.0]])
    >>> y_pred = np.array([[0.6, 0.4], [0.4, 0.6]])  # per sample 0.9163, 0.7136
    >>> loss = BinaryCrossentropy()
    >>> print(round(float(loss(y_true, y_pred)), 4))
    0.8149
    >>> print(round(float(loss(y_true, y_pred, sample_weight=np.array([0.8, 0.2]))), 4))
    0.4379
    """

    _impl = staticmethod(_bce)

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: Reduction = "sum_over_batch_size",
        name: str | None = "binary_crossentropy",
        dtype: DTypeLike = None,
    ) -> None:
        loss = "keras.BinaryCrossentropy"
        self.from_logits = _flag(from_logits, "from_logits", loss)
        self.label_smoothing = _smoothing(label_smoothing, loss)
        self.axis = _axis(axis, loss)
        super().__init__(
            binary_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            from_logits=self.from_logits,
            label_smoothing=self.label_smoothing,
            axis=self.axis,
        )


@_shared_doc
class BinaryFocalCrossentropy(LossFunctionWrapper):
    r"""Binary focal cross-entropy (``keras.losses.BinaryFocalCrossentropy``).

    Per-sample loss: :func:`binary_focal_crossentropy` (formula, shapes, notes).

    Parameters
    ----------
    apply_class_balancing : bool, default False
        Weight by ``alpha`` (Keras's default ignores it).
    alpha : float or 0-d array, default 0.25
    gamma : float or 0-d array, default 2.0
        The focusing exponent.
    from_logits : bool, default False
        Whether ``y_pred`` holds logits (else probabilities).
    label_smoothing : float, default 0.0
    axis : int, default -1
    reduction, name, dtype
        As every Keras loss (:class:`Loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import BinaryFocalCrossentropy
    >>> y_true = np.array([[0.0, 1.0], [0.0, 0.0]])
    >>> y_pred = np.array([[0.6, 0.4], [0.4, 0.6]])
    >>> print(round(float(BinaryFocalCrossentropy()(y_true, y_pred)), 4))
    0.2678
    >>> loss = BinaryFocalCrossentropy(apply_class_balancing=True)  # alpha=0.25 now applies
    >>> print(round(float(loss(y_true, y_pred)), 4))
    0.1596
    """

    _impl = staticmethod(_binary_focal)

    def __init__(
        self,
        apply_class_balancing: bool = False,
        alpha: float | ArrayLike = 0.25,
        gamma: float | ArrayLike = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: Reduction = "sum_over_batch_size",
        name: str | None = "binary_focal_crossentropy",
        dtype: DTypeLike = None,
    ) -> None:
        loss = "keras.BinaryFocalCrossentropy"
        self.apply_class_balancing = _flag(apply_class_balancing, "apply_class_balancing", loss)
        self.alpha = _real_or_array(alpha, "alpha", loss)
        self.gamma = _real_or_array(gamma, "gamma", loss)
        self.from_logits = _flag(from_logits, "from_logits", loss)
        self.label_smoothing = _smoothing(label_smoothing, loss)
        self.axis = _axis(axis, loss)
        super().__init__(
            binary_focal_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            apply_class_balancing=self.apply_class_balancing,
            alpha=self.alpha,
            gamma=self.gamma,
            from_logits=self.from_logits,
            label_smoothing=self.label_smoothing,
            axis=self.axis,
        )


@_shared_doc
class CategoricalCrossentropy(LossFunctionWrapper):
    r"""Categorical cross-entropy (``keras.losses.CategoricalCrossentropy``).

    Per-sample loss: :func:`categorical_crossentropy` (formula, shapes, notes).

    Parameters
    ----------
    from_logits : bool, default False
        Whether ``y_pred`` holds logits (else probabilities).
    label_smoothing : float, default 0.0
    axis : int, default -1
    reduction, name, dtype
        As every Keras loss (:class:`Loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import CategoricalCrossentropy
    >>> y_true = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    >>> y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])  # -(log 0.95 + log 0.1) / 2
    >>> print(round(float(CategoricalCrossentropy()(y_true, y_pred)), 4))
    1.1769
    >>> loss = CategoricalCrossentropy(from_logits=True, label_smoothing=0.1)
    >>> print(round(float(loss(np.array([[1.0, 0.0, 0.0]]), np.array([[2.0, 0.5, -1.0]]))), 4))
    0.3913
    """

    _impl = staticmethod(_cce)

    def __init__(
        self,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: Reduction = "sum_over_batch_size",
        name: str | None = "categorical_crossentropy",
        dtype: DTypeLike = None,
    ) -> None:
        loss = "keras.CategoricalCrossentropy"
        self.from_logits = _flag(from_logits, "from_logits", loss)
        self.label_smoothing = _smoothing(label_smoothing, loss)
        self.axis = _axis(axis, loss)
        super().__init__(
            categorical_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            from_logits=self.from_logits,
            label_smoothing=self.label_smoothing,
            axis=self.axis,
        )


@_shared_doc
class CategoricalFocalCrossentropy(LossFunctionWrapper):
    r"""Categorical focal cross-entropy (``keras.losses.CategoricalFocalCrossentropy``).

    Per-sample loss: :func:`categorical_focal_crossentropy` (formula, shapes, notes).

    Parameters
    ----------
    alpha : float or 0-d array, default 0.25
    gamma : float or 0-d array, default 2.0
        The focusing exponent.
    from_logits : bool, default False
        Whether ``y_pred`` holds logits (else probabilities).
    label_smoothing : float, default 0.0
    axis : int, default -1
    reduction, name, dtype
        As every Keras loss (:class:`Loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import CategoricalFocalCrossentropy
    >>> y_true = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    >>> y_pred = np.array([[0.5, 0.3, 0.2], [0.2, 0.6, 0.2]])
    >>> print(round(float(CategoricalFocalCrossentropy()(y_true, y_pred)), 4))
    0.0319
    >>> loss = CategoricalFocalCrossentropy(alpha=1.0, gamma=0.0)  # -(log 0.5 + log 0.6) / 2
    >>> print(round(float(loss(y_true, y_pred)), 4))
    0.602
    """

    _impl = staticmethod(_categorical_focal)

    def __init__(
        self,
        alpha: float | ArrayLike = 0.25,
        gamma: float | ArrayLike = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        axis: int = -1,
        reduction: Reduction = "sum_over_batch_size",
        name: str | None = "categorical_focal_crossentropy",
        dtype: DTypeLike = None,
    ) -> None:
        loss = "keras.CategoricalFocalCrossentropy"
        self.alpha = _real_or_array(alpha, "alpha", loss)
        self.gamma = _real_or_array(gamma, "gamma", loss)
        self.from_logits = _flag(from_logits, "from_logits", loss)
        self.label_smoothing = _smoothing(label_smoothing, loss)
        self.axis = _axis(axis, loss)
        super().__init__(
            categorical_focal_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            alpha=self.alpha,
            gamma=self.gamma,
            from_logits=self.from_logits,
            label_smoothing=self.label_smoothing,
            axis=self.axis,
        )


@_shared_doc
class SparseCategoricalCrossentropy(LossFunctionWrapper):
    r"""Sparse categorical cross-entropy (``keras.losses.SparseCategoricalCrossentropy``).

    Per-sample loss: :func:`sparse_categorical_crossentropy` (formula, shapes, notes). With
    ``ignore_class`` the ``'sum_over_batch_size'`` mean is over the valid items (every item
    ignored gives 0.0; torch gives NaN).

    Parameters
    ----------
    from_logits : bool, default False
        Whether ``y_pred`` holds logits (else probabilities).
    ignore_class : int, optional
        A label whose items are left out (loss 0, and out of the mean).
    axis : int, default -1
        The class axis of ``y_pred``.
    reduction, name, dtype
        As every Keras loss (:class:`Loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import SparseCategoricalCrossentropy
    >>> y_pred = np.array([[0.05, 0.95, 0.0], [0.1, 0.8, 0.1]])  # -(log 0.95 + log 0.1) / 2
    >>> print(round(float(SparseCategoricalCrossentropy()(np.array([1, 2]), y_pred)), 4))
    1.1769
    >>> logits = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0]])
    >>> loss = SparseCategoricalCrossentropy(from_logits=True, ignore_class=2)  # 2 items left
    >>> print(round(float(loss(np.array([0, 1, 2]), logits)), 4))
    0.3964
    """

    _impl = staticmethod(_sparse_cce)
    _labels = True

    def __init__(
        self,
        from_logits: bool = False,
        ignore_class: int | None = None,
        reduction: Reduction = "sum_over_batch_size",
        axis: int = -1,
        name: str | None = "sparse_categorical_crossentropy",
        dtype: DTypeLike = None,
    ) -> None:
        loss = "keras.SparseCategoricalCrossentropy"
        self.from_logits = _flag(from_logits, "from_logits", loss)
        self.ignore_class = _ignore_class(ignore_class, loss)
        self.axis = _axis(axis, loss)
        super().__init__(
            sparse_categorical_crossentropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            from_logits=self.from_logits,
            ignore_class=self.ignore_class,
            axis=self.axis,
        )


@_shared_doc
class CTC(LossFunctionWrapper):
    r"""CTC loss (``keras.losses.CTC``).

    Per-sample loss: :func:`ctc` (formula, shapes, notes).

    Parameters
    ----------
    reduction, name, dtype
        As every Keras loss (:class:`Loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import CTC
    >>> labels = np.array([[1, 2], [1, 0]])  # 0 pads
    >>> logits = np.zeros((2, 3, 3))  # uniform: per sequence log(27 / 5), log(27 / 6)
    >>> print(round(float(CTC()(labels, logits)), 4))
    1.5952
    """

    _impl = staticmethod(_ctc)
    _labels = True

    def __init__(
        self,
        reduction: Reduction = "sum_over_batch_size",
        name: str | None = "ctc",
        dtype: DTypeLike = None,
    ) -> None:
        super().__init__(ctc, reduction=reduction, name=name, dtype=dtype)


@_shared_doc
class Dice(LossFunctionWrapper):
    r"""Dice loss (``keras.losses.Dice``).

    Per-sample loss: :func:`dice` (formula, shapes, notes).

    Parameters
    ----------
    axis : int, tuple of int or None, default None
        The axes summed; None sums every axis, batch included.
    reduction, name, dtype
        As every Keras loss (:class:`Loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import Dice
    >>> y_true = np.array([[1.0, 1.0, 0.0, 0.0], [0.0, 1.0, 1.0, 0.0]])
    >>> y_pred = np.array([[0.9, 0.8, 0.2, 0.1], [0.5, 0.5, 0.5, 0.5]])
    >>> print(round(float(Dice()(y_true, y_pred)), 4))  # one Dice over the whole batch
    0.325
    >>> np.round(Dice(reduction=None, axis=1)(y_true, y_pred), 4).tolist()  # one per sample
    [0.15, 0.5]
    """

    _impl = staticmethod(_dice)

    def __init__(
        self,
        reduction: Reduction = "sum_over_batch_size",
        name: str | None = "dice",
        axis: int | tuple[int, ...] | None = None,
        dtype: DTypeLike = None,
    ) -> None:
        loss = "keras.Dice"
        self.axis = _axes(axis, loss)
        super().__init__(
            dice,
            reduction=reduction,
            name=name,
            dtype=dtype,
            axis=self.axis,
        )


@_shared_doc
class Tversky(LossFunctionWrapper):
    r"""Tversky loss (``keras.losses.Tversky``).

    Per-sample loss: :func:`tversky` (formula, shapes, notes). **alpha weights false
    positives**, as Keras's docstring says (Keras 3.15.1's code swaps alpha and beta; fixed in
    keras-team/keras PR #23333).

    Parameters
    ----------
    alpha : float or 0-d array, default 0.5
        Weight of the false positives.
    beta : float or 0-d array, default 0.5
        Weight of the false negatives.
    axis : int, tuple of int or None, default None
        The axes summed; None sums every axis, batch included.
    reduction, name, dtype
        As every Keras loss (:class:`Loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import Tversky
    >>> y_true = np.array([[1.0, 1.0, 0.0, 0.0]])
    >>> y_pred = np.array([[0.9, 0.3, 0.6, 0.1]])  # TP 1.2, FP 0.7, FN 0.8
    >>> loss = Tversky(alpha=0.3, beta=0.7)  # 1 - 1.2 / (1.2 + 0.3 * 0.7 + 0.7 * 0.8)
    >>> print(round(float(loss(y_true, y_pred)), 4))
    0.3909
    """

    _impl = staticmethod(_tversky)

    def __init__(
        self,
        alpha: float | ArrayLike = 0.5,
        beta: float | ArrayLike = 0.5,
        reduction: Reduction = "sum_over_batch_size",
        name: str | None = "tversky",
        axis: int | tuple[int, ...] | None = None,
        dtype: DTypeLike = None,
    ) -> None:
        loss = "keras.Tversky"
        self.alpha = _real_or_array(alpha, "alpha", loss)
        self.beta = _real_or_array(beta, "beta", loss)
        self.axis = _axes(axis, loss)
        super().__init__(
            tversky,
            reduction=reduction,
            name=name,
            dtype=dtype,
            alpha=self.alpha,
            beta=self.beta,
            axis=self.axis,
        )


@_shared_doc
class Circle(LossFunctionWrapper):
    r"""Circle loss (``keras.losses.Circle``).

    Per-sample loss: :func:`circle` (formula, shapes, notes). Queries without a positive pair
    are left out of the ``'sum_over_batch_size'`` mean (Keras's mask ``loss > 0``).

    Parameters
    ----------
    gamma : float or 0-d array, default 80.0
        The scale.
    margin : float or 0-d array, default 0.4
        The relaxation margin.
    remove_diagonal : bool, default True
    reduction, name, dtype
        As every Keras loss (:class:`Loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import Circle
    >>> angles = np.array([0.0, 0.5, 0.8, 1.3])  # unit vectors in the plane
    >>> embeddings = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    >>> print(round(float(Circle()(np.array([0, 0, 1, 1]), embeddings)), 4))
    31.5216
    """

    _impl = staticmethod(_circle)
    _labels = True

    def __init__(
        self,
        gamma: float | ArrayLike = 80.0,
        margin: float | ArrayLike = 0.4,
        remove_diagonal: bool = True,
        reduction: Reduction = "sum_over_batch_size",
        name: str | None = "circle",
        dtype: DTypeLike = None,
    ) -> None:
        loss = "keras.Circle"
        self.gamma = _real_or_array(gamma, "gamma", loss)
        self.margin = _real_or_array(margin, "margin", loss)
        self.remove_diagonal = _flag(remove_diagonal, "remove_diagonal", loss)
        super().__init__(
            circle,
            reduction=reduction,
            name=name,
            dtype=dtype,
            gamma=self.gamma,
            margin=self.margin,
            remove_diagonal=self.remove_diagonal,
        )


@_shared_doc
class CategoricalGeneralizedCrossEntropy(LossFunctionWrapper):
    r"""Generalized cross-entropy (``keras.losses.CategoricalGeneralizedCrossEntropy``).

    Per-sample loss: :func:`categorical_generalized_cross_entropy` (formula, shapes, notes).

    Parameters
    ----------
    q : float or 0-d array, default 0.5
        In (0, 1).
    reduction, name, dtype
        As every Keras loss (:class:`Loss`).

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.keras import CategoricalGeneralizedCrossEntropy
    >>> y_pred = np.array([[0.7, 0.2, 0.1], [0.3, 0.5, 0.2]])  # (1 - sqrt(p_y)) / q, averaged
    >>> loss = CategoricalGeneralizedCrossEntropy(q=0.5)
    >>> print(round(float(loss(np.array([0, 1]), y_pred)), 4))
    0.4562
    """

    _impl = staticmethod(_gce)
    _labels = True

    def __init__(
        self,
        q: float | ArrayLike = 0.5,
        reduction: Reduction = "sum_over_batch_size",
        name: str | None = "categorical_generalized_cross_entropy",
        dtype: DTypeLike = None,
    ) -> None:
        loss = "keras.CategoricalGeneralizedCrossEntropy"
        self.q = _check_q(q, loss)
        super().__init__(
            categorical_generalized_cross_entropy,
            reduction=reduction,
            name=name,
            dtype=dtype,
            q=self.q,
        )


# ------------------------------------------------------------------------------------------
# get / serialize / deserialize
# ------------------------------------------------------------------------------------------

_CLASSES = (
    Loss,
    LossFunctionWrapper,
    KLDivergence,
    Poisson,
    BinaryCrossentropy,
    BinaryFocalCrossentropy,
    CategoricalCrossentropy,
    CategoricalFocalCrossentropy,
    SparseCategoricalCrossentropy,
    MeanSquaredError,
    MeanAbsoluteError,
    MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError,
    CosineSimilarity,
    LogCosh,
    Huber,
    Hinge,
    SquaredHinge,
    CategoricalHinge,
    Dice,
    Tversky,
    Circle,
    CTC,
    CategoricalGeneralizedCrossEntropy,
)
_FUNCTIONS = (
    kl_divergence,
    poisson,
    binary_crossentropy,
    binary_focal_crossentropy,
    categorical_crossentropy,
    categorical_focal_crossentropy,
    sparse_categorical_crossentropy,
    mean_squared_error,
    mean_absolute_error,
    mean_absolute_percentage_error,
    mean_squared_logarithmic_error,
    cosine_similarity,
    log_cosh,
    huber,
    hinge,
    squared_hinge,
    categorical_hinge,
    dice,
    tversky,
    circle,
    ctc,
    categorical_generalized_cross_entropy,
)
_OBJECTS: dict[str, Any] = {o.__name__: o for o in _CLASSES + _FUNCTIONS}
_OBJECTS.update(
    {
        "bce": binary_crossentropy,
        "BCE": binary_crossentropy,
        "kld": kl_divergence,
        "KLD": kl_divergence,
        "mae": mean_absolute_error,
        "MAE": mean_absolute_error,
        "mse": mean_squared_error,
        "MSE": mean_squared_error,
        "mape": mean_absolute_percentage_error,
        "MAPE": mean_absolute_percentage_error,
        "msle": mean_squared_logarithmic_error,
        "MSLE": mean_squared_logarithmic_error,
    }
)


def serialize(loss: Loss | Callable[..., Any]) -> dict[str, Any]:
    """A config dict for a loss instance (``class_name`` and ``config``) or a loss function.

    Parameters
    ----------
    loss : Loss or function of this module

    Returns
    -------
    dict
        ``{'module': 'lossbridge.keras', 'class_name': ..., 'config': ...,
        'registered_name': 'lossbridge>...'}`` (Keras's form: ``keras.losses.get`` and
        ``keras.saving.deserialize_keras_object`` read it); for a function, ``class_name`` is
        ``'function'`` and ``config`` its name.

    Examples
    --------
    >>> from lossbridge.keras import Huber, deserialize, serialize
    >>> config = serialize(Huber(delta=2.0))
    >>> config["registered_name"], config["config"]["delta"]
    ('lossbridge>Huber', 2.0)
    >>> deserialize(config).get_config() == Huber(delta=2.0).get_config()
    True
    """
    if isinstance(loss, Loss):
        name = type(loss).__name__
        return {
            "module": __name__,
            "class_name": name,
            "config": loss.get_config(),
            "registered_name": f"{PACKAGE}>{name}",
        }
    if callable(loss) and getattr(loss, "__name__", None) in _OBJECTS:
        return {
            "module": __name__,
            "class_name": "function",
            "config": loss.__name__,
            "registered_name": f"{PACKAGE}>{loss.__name__}",
        }
    raise ValueError(f"loss={loss!r} is not a lossbridge.keras loss; cannot serialize it")


def deserialize(
    name: str | dict[str, Any], custom_objects: dict[str, Any] | None = None
) -> Loss | Callable[..., Any]:
    """The loss instance or function a :func:`serialize` dict (or a name) describes.

    Parameters
    ----------
    name : dict or str
    custom_objects : dict, optional
        Extra names to classes or functions.

    Returns
    -------
    Loss or function

    Examples
    --------
    >>> from lossbridge.keras import BinaryCrossentropy, deserialize, mean_squared_error, serialize
    >>> deserialize("mse") is mean_squared_error
    True
    >>> loss = deserialize(serialize(BinaryCrossentropy(from_logits=True, reduction="sum")))
    >>> type(loss).__name__, loss.from_logits, loss.reduction
    ('BinaryCrossentropy', True, 'sum')
    """
    objects = {**_OBJECTS, **(custom_objects or {})}
    if isinstance(name, str):
        name = name.removeprefix(f"{PACKAGE}>")  # Keras's registered name
        if name not in objects:
            raise ValueError(f"Could not interpret loss identifier: name={name!r}")
        return objects[name]
    if isinstance(name, dict) and "class_name" in name:
        cls_name, config = name["class_name"], name.get("config", {})
        if cls_name == "function":
            return deserialize(config, custom_objects)
        if cls_name not in objects:
            raise ValueError(f"Could not interpret loss identifier: class_name={cls_name!r}")
        return objects[cls_name].from_config(dict(config))
    raise ValueError(f"Could not interpret loss identifier: name={name!r}")


def get(
    identifier: str | dict[str, Any] | type[Loss] | Callable[..., Any] | None,
) -> Loss | Callable[..., Any] | None:
    """A loss function or instance from a name, a config dict, a class or a callable.

    Parameters
    ----------
    identifier : None, str, dict, class or callable
        Names of functions and classes (also as Keras registered them:
        ``'lossbridge>BinaryCrossentropy'``), and Keras's aliases ``'mse'``, ``'MSE'``,
        ``'mae'``, ``'mape'``, ``'msle'``, ``'kld'``, ``'bce'`` (either case). A class is
        instantiated.

    Returns
    -------
    Loss, function or None

    Examples
    --------
    >>> from lossbridge.keras import get, mean_squared_error
    >>> get("mse") is mean_squared_error
    True
    >>> type(get("BinaryCrossentropy")).__name__  # a class name gives an instance
    'BinaryCrossentropy'
    """
    if identifier is None:
        return None
    obj: object
    if isinstance(identifier, dict):
        obj = deserialize(identifier)
    elif isinstance(identifier, str):
        obj = _OBJECTS.get(identifier.removeprefix(f"{PACKAGE}>"))
    else:
        obj = identifier
    if callable(obj):
        return obj() if isinstance(obj, type) else obj
    raise ValueError(f"Could not interpret loss identifier: {identifier!r}")


def _skip_autograph() -> None:
    """Mark this module's functions and methods so TensorFlow's AutoGraph calls them as they
    are (``autograph_info__``, as in ``lossbridge/__init__.py``): they hold no control flow on
    tensor values, and converting them cost seconds per trace."""
    for obj in list(globals().values()):
        if inspect.isfunction(obj) and obj.__module__ == __name__:
            obj.__dict__["autograph_info__"] = {}
        elif inspect.isclass(obj) and obj.__module__ == __name__:
            for member in vars(obj).values():
                func = getattr(member, "__func__", member)
                if inspect.isfunction(func):
                    func.__dict__["autograph_info__"] = {}


# the classes ("<ClassName>: ..."), get, serialize, deserialize; a check names a loss as
# "keras.<name>" (check_real), which the entry the user called replaces with its own name
name_public_errors(globals())
_skip_autograph()
if "keras" in sys.modules:
    _register_with_keras()
else:
    _AfterKerasImport().install()
