"""The optax dialect: every loss of ``optax.losses`` (optax 0.2.8), on every backend.

Same names, parameters, defaults and outputs as ``optax.losses``: predictions first, **no
reduction** (per-example values; ``ntxent``, ``multiclass_generalized_dice_loss`` and by default
``ranking_softmax_loss`` and ``dice_loss`` reduce, as in optax), ``axis`` and ``where=`` masks
with optax's semantics, optax's strict shape checks as ``ValueError`` naming the argument. Each
function maps onto the core losses (:func:`lossbridge.classification.kl_div`,
:func:`lossbridge.regression.log_cosh_loss`, :func:`lossbridge.embedding.ntxent_loss`) or, where
the core cannot express optax's formula exactly (masked normalisers, eps placement, optax's CTC
recursion with ``log_epsilon`` and paddings, sparsemax), composes the primitives of
:mod:`lossbridge._primitives` here.

The numbers are optax's, quirks included (documented per function): label ``-100`` gives NaN
(use ``where=``), a zero vector gives NaN in ``cosine_similarity`` with ``epsilon=0``, hinge
labels are not converted, ``smooth_labels`` divides by the size of the axis. Gradients are
optax's (``jax.grad``), ties and kinks included (a tie's gradient is split evenly, as
``jnp.maximum``/``jnp.max`` split it); where optax's gradient is NaN for a fully masked row
(``cosine_similarity``), ours is 0.

**Hyperparameters.** Those optax types ``ArrayLike`` (``delta``, ``temperature``, ``margin``,
``smooth``, ``epsilon``, the focal ``alpha``/``gamma``, ``log_epsilon``, ...) are a Python
number or an array of the call's framework, traced values included: ``jax.jit(huber_loss)(x,
t, delta=1.0)``, ``jax.grad`` with respect to ``ntxent``'s temperature, a ``tf.Variable``, a
torch tensor that requires grad. An array promotes like an array (as in optax; a Python float
is weak) and receives its gradient; value checks run on concrete values only
(``docs/porting.md``, "Hyperparameters as arrays").

**Half precision.** optax computes wholly in the input's dtype; here a float16/bfloat16 call
computes in float32 and rounds the result once to the input's dtype
(:func:`lossbridge._precision.half_precision`), so the dtypes are optax's and the values are
within 1 ulp of the float64 value on the same inputs where optax's own can be 5 to 15 ulp away
(``softmax_cross_entropy_with_integer_labels``, ``log_cosh``, ``triplet_margin_loss``,
``multiclass_sparsemax_loss``; ``docs/porting.md`` has the table). optax's
``multiclass_hinge_loss``, ``multiclass_perceptron_loss``, ``multiclass_sparsemax_loss`` and
``ctc_loss`` (with ``_with_forward_probs``) return float32 for half inputs (JAX's default
float dtype enters through ``jax.nn.one_hot`` and the CTC recursion); so do these here.

**Global means** (gradient accumulation, data parallelism). optax leaves the mean over a batch
to the caller (``jnp.mean(l, where=valid)``), and the mean of per-shard means is not the mean of
the batch when the shards' counts differ. ``lossbridge.mean_denominator(lbx.<fn>, *args,
**kwargs)`` returns the count such a mean divides by, as a 0-d array (float32 for half inputs):
the number of values whose row keeps a ``where`` entry (with ``where`` of the values' shape, a
per-example mask: its True entries; a row with none gives 0 in optax), else the number of
values; ``ranking_softmax_loss`` counts the lists its default mean averages. Sum it over the
shards (or the members: :func:`lossbridge.distributed.global_denominator`) into
``global_count`` and divide each shard's sum by it: ``l.sum() / global_count``, summed over the
shards, is the full batch's mean (values and gradients).

>>> import numpy as np
>>> import lossbridge
>>> from lossbridge import optax as lbx
>>> logits = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.5, 0.0, 2.0]])
>>> labels, valid = np.array([0, 2, 1, 2]), np.array([True, True, False, True])
>>> ce = lbx.softmax_cross_entropy_with_integer_labels
>>> shards = (slice(0, 1), slice(1, 4))
>>> def count_of(s):
...     return lossbridge.mean_denominator(ce, logits[s], labels[s], where=valid[s])
>>> count = sum(count_of(s) for s in shards)
>>> print(float(count))
3.0
>>> parts = sum(ce(logits[s], labels[s], where=valid[s]).sum() / count for s in shards)
>>> bool(np.isclose(parts, np.mean(ce(logits, labels, where=valid), where=valid)))
True

Import as ``from lossbridge import optax as lbx`` (``lbx.softmax_cross_entropy(...)``); importing
this module imports no framework.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import warnings
from collections.abc import Callable
from typing import Any

from lossbridge._inputs import hyper_on, promote_floats
from lossbridge._precision import half_precision
from lossbridge._primitives import log_sigmoid, max_split, maximum, minimum
from lossbridge._typing import ArrayLike, ArrayT, Reduction
from lossbridge._validation import (
    check_floating,
    check_integer,
    check_real_or_array,
    check_reduction,
    name_public_errors,
    shape_str,
)
from lossbridge.backends import (
    asarray_on,
    eager_view,
    framework_name,
    get_namespace,
    is_concrete,
    is_half,
    stop_gradient,
    take_along_axis,
)
from lossbridge.backends._loops import fold, scan

__all__ = [
    "binary_dice_loss",
    "convex_kl_divergence",
    "cosine_distance",
    "cosine_similarity",
    "ctc_loss",
    "ctc_loss_with_forward_probs",
    "dice_loss",
    "generalized_kl_divergence",
    "hinge_loss",
    "huber_loss",
    "kl_divergence",
    "kl_divergence_with_log_targets",
    "l2_loss",
    "log_cosh",
    "make_fenchel_young_loss",
    "multiclass_generalized_dice_loss",
    "multiclass_hinge_loss",
    "multiclass_perceptron_loss",
    "multiclass_sparsemax_loss",
    "ntxent",
    "perceptron_loss",
    "poly_loss_cross_entropy",
    "ranking_softmax_loss",
    "safe_softmax_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss",
    "smooth_labels",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "sparsemax_loss",
    "squared_error",
    "triplet_margin_loss",
]

# ------------------------------------------------------------------------------------------
# Shared helpers
# ------------------------------------------------------------------------------------------


def _arrays(loss: str, **named: Any) -> tuple[Any, ...]:
    """``(xp, *arrays)``: the first named array decides framework and device and must be floating.

    Host data (scalars, lists, NumPy arrays) moves onto it; floating host data takes its dtype.
    ``None`` stays ``None``.
    """
    names = tuple(named)
    values = tuple(named.values())
    xp, device = get_namespace(*values, names=names)
    first = asarray_on(values[0], xp, device)
    check_floating(xp, first, f"{loss}: {names[0]}")
    rest = [asarray_on(v, xp, device, float_dtype=first.dtype) for v in values[1:]]
    return (xp, first, *rest)


def _mask(xp: Any, where: Any) -> Any:
    """``where`` as a boolean array (optax: any nonzero value counts as True)."""
    if where is None or where.dtype == xp.bool:
        return where
    return where != 0


def _check_shapes_equal(a: Any, b: Any, name_a: str, name_b: str, loss: str) -> None:
    """optax's ``check_shapes_equal`` ("Shape mismatch") as a ``ValueError`` naming both."""
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            f"{loss}: {name_b} has shape {shape_str(b.shape)} but {name_a} has shape "
            f"{shape_str(a.shape)}; expected the same shape (optax raises 'Shape mismatch')"
        )


def _check_broadcast(a: Any, b: Any, name_a: str, name_b: str, loss: str) -> None:
    """Shapes that broadcast together (optax's elementwise ops broadcast; JAX would raise)."""
    sa, sb = tuple(a.shape), tuple(b.shape)
    for da, db in zip(reversed(sa), reversed(sb), strict=False):
        if da is not None and db is not None and da != db and 1 not in (da, db):
            raise ValueError(
                f"{loss}: {name_b} has shape {shape_str(sb)} but {name_a} has shape "
                f"{shape_str(sa)}; expected shapes that broadcast together"
            )


def _axes(axis: Any, ndim: int, loss: str, name: str = "axis") -> tuple[int, ...]:
    """``axis`` (an int, a tuple of ints, or None for every axis) as non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    items = axis if isinstance(axis, tuple) else (axis,)
    out = []
    for a in items:
        if isinstance(a, bool) or not isinstance(a, numbers.Integral):
            raise TypeError(f"{loss}: {name} must be an int, a tuple of ints or None; got {axis!r}")
        if not -ndim <= int(a) < ndim:
            raise ValueError(
                f"{loss}: {name}={axis!r} is out of bounds for an array of dimension {ndim}"
            )
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{loss}: {name}={axis!r} repeats an axis")
    return tuple(out)


def _msum(xp: Any, x: Any, axes: tuple[int, ...], where: Any, keepdims: bool = False) -> Any:
    """``jnp.sum(x, axes, where=where)``: masked elements contribute 0 (NaN there too)."""
    if where is not None:
        x = xp.where(where, x, xp.zeros_like(x))
    return xp.sum(x, axis=axes, keepdims=keepdims)


def _mmax(xp: Any, x: Any, axes: tuple[int, ...], where: Any) -> Any:
    """``jnp.max(x, axes, where=where, initial=-inf, keepdims=True)``, gradient stopped."""
    if where is not None:
        x = xp.where(where, x, xp.full_like(x, -xp.inf))
    return stop_gradient(xp.max(x, axis=axes, keepdims=True))


def _log_softmax(xp: Any, x: Any, axes: tuple[int, ...], where: Any) -> Any:
    """``jax.nn.log_softmax(x, axes, where)``: masked entries excluded, set to ``-inf``.

    The max shift is 0 for a row whose max is not finite (every entry masked or ``-inf``), so
    such a row gives ``-inf``/NaN without NaN in the other rows' gradients.
    """
    m = _mmax(xp, x, axes, where)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    shifted = x - m
    if where is not None:
        shifted = xp.where(where, shifted, xp.full_like(shifted, -xp.inf))
    total = _msum(xp, xp.exp(shifted), axes, where, keepdims=True)
    if where is not None:  # a fully masked row: log 1 (its entries are -inf below anyway)
        total = xp.where(xp.any(where, axis=axes, keepdims=True), total, xp.ones_like(total))
    out = shifted - xp.log(total)
    if where is not None:
        out = xp.where(where, out, xp.full_like(out, -xp.inf))
    return out


def _one_hot(xp: Any, labels: Any, n: int, dtype: Any) -> Any:
    """``jax.nn.one_hot(labels, n)``: a row of zeros for a label outside ``[0, n)``."""
    classes = xp.arange(n, dtype=labels.dtype, device=_device(xp, labels))
    return xp.astype(xp.expand_dims(labels, axis=-1) == classes, dtype)


def _device(xp: Any, x: Any) -> Any:
    return get_namespace(x)[1]


def _hypers_on(xp: Any, loss: str, like: Any, like_name: str, **hypers: Any) -> list[Any]:
    """Array hyperparameters onto ``like``'s namespace and device (:func:`hyper_on`), each
    checked to broadcast with ``like``, the array it meets; floats and None pass.

    The caller promotes them with the data (:func:`promote_floats`): an array hyperparameter
    promotes like an array (a float32 one with float32 data stays float32, as in optax), a
    Python float is weak.
    """
    out = []
    for name, value in hypers.items():
        h = hyper_on(xp, value, like, name, like_name, loss)
        if h is not None and not isinstance(h, float):
            _check_broadcast(like, h, like_name, name, loss)
        out.append(h)
    return out


def _fill(xp: Any, like: Any, value: Any) -> Any:
    """``value`` (a float or an array broadcasting with ``like``) where ``like`` is used."""
    return xp.full_like(like, value) if isinstance(value, float) else value


def _flag(value: Any, name: str, loss: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{loss}: {name} must be True or False; got {value!r}")
    return value


def _expand_where(xp: Any, where: Any, axes: tuple[int, ...], ndim: int) -> Any:
    """optax's ``jnp.expand_dims(where, axis)`` for a mask without the class axes."""
    if where is None or where.ndim == ndim:
        return where
    shape = list(where.shape)
    for a in sorted(axes):
        shape.insert(a, 1)
    return xp.reshape(where, tuple(shape))


# ------------------------------------------------------------------------------------------
# Classification (optax/losses/_classification.py)
# ------------------------------------------------------------------------------------------


@half_precision
def sigmoid_binary_cross_entropy(logits: ArrayT, labels: ArrayLike) -> ArrayT:
    r"""Sigmoid cross-entropy on logits, elementwise (optax's ``sigmoid_binary_cross_entropy``).

    .. math::

        \ell = -y \log \sigma(x) - (1 - y) \log \sigma(-x)

    Parameters
    ----------
    logits : array
        Any shape, floating.
    labels : array
        Broadcastable with ``logits``; probabilities (any dtype, cast to the logits').

    Returns
    -------
    array
        The broadcast shape of ``logits`` and ``labels``, unreduced.

    Notes
    -----
    Exact for any logit (log-sigmoid computed stably): logits 100 with label 0 give 100, where
    BCE on sigmoid probabilities gives torch's 100 (clamp) or Keras's 15.94 (reference section
    3.1). Same as ``binary_cross_entropy_with_logits(..., reduction='none')``.

    References
    ----------
    optax 0.2.8, ``optax/losses/_classification.py``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import sigmoid_binary_cross_entropy
    >>> logits = np.array([2.0, -1.0, 0.5])
    >>> np.round(sigmoid_binary_cross_entropy(logits, np.array([1.0, 0.0, 0.0])), 4).tolist()
    [0.1269, 0.3133, 0.9741]
    """
    loss = "sigmoid_binary_cross_entropy"
    xp, logits, labels = _arrays(loss, logits=logits, labels=labels)
    _check_broadcast(logits, labels, "logits", "labels", loss)
    labels = xp.astype(labels, logits.dtype) if labels.dtype != logits.dtype else labels
    return -labels * log_sigmoid(xp, logits) - (1.0 - labels) * log_sigmoid(xp, -logits)


@half_precision
def hinge_loss(predictor_outputs: ArrayT, targets: ArrayLike) -> ArrayT:
    r"""Binary hinge loss, :math:`\max(0, 1 - s\,y)`, elementwise (``optax.losses.hinge_loss``).

    Parameters
    ----------
    predictor_outputs : array
        Scores, floating, any shape.
    targets : array
        Broadcastable with the scores; **used as given**: optax documents labels in
        {-1, 1} and converts nothing.

    Returns
    -------
    array
        The broadcast shape, unreduced.

    Notes
    -----
    A 0 label is not mapped to -1: scores [0.3, -0.5, 2.0] with labels [0, 1, 1] give
    [1.0, 1.5, 0.0] (optax), where {-1, 1} labels give [1.3, 1.5, 0.0] (reference section 3.9).
    The core :func:`lossbridge.hinge_loss` refuses labels outside {-1, 1}. At the kink
    (:math:`s y = 1`) the gradient is half the slope, as ``jnp.maximum`` splits a tie.

    References
    ----------
    optax 0.2.8, ``optax/losses/_classification.py``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import hinge_loss
    >>> scores = np.array([0.3, -0.5, 2.0])
    >>> np.round(hinge_loss(scores, np.array([-1.0, 1.0, 1.0])), 4).tolist()
    [1.3, 1.5, 0.0]
    """
    loss = "hinge_loss"
    xp, s, y = _arrays(loss, predictor_outputs=predictor_outputs, targets=targets)
    _check_broadcast(s, y, "predictor_outputs", "targets", loss)
    s, y = promote_floats(xp, s, y)
    z = 1.0 - s * y
    return maximum(xp, xp.zeros_like(z), z)


@half_precision
def perceptron_loss(predictor_outputs: ArrayT, targets: ArrayLike) -> ArrayT:
    r"""Perceptron loss, :math:`\max(0, -s\,y)`, elementwise (``optax.losses.perceptron_loss``).

    Parameters
    ----------
    predictor_outputs : array
        Scores, floating.
    targets : array
        Labels in {-1, 1} (used as given), **the same shape** as the scores (optax checks).

    Returns
    -------
    array
        The shape of the scores.

    Raises
    ------
    ValueError
        If the shapes differ (optax: 'Shape mismatch').

    References
    ----------
    Rosenblatt, "The perceptron: a probabilistic model for information storage and
    organization in the brain", Psychological Review 65, 1958; optax 0.2.8.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import perceptron_loss
    >>> scores = np.array([0.3, -0.5, 2.0])
    >>> np.round(perceptron_loss(scores, np.array([-1.0, 1.0, 1.0])), 4).tolist()
    [0.3, 0.5, 0.0]
    """
    loss = "perceptron_loss"
    xp, s, y = _arrays(loss, predictor_outputs=predictor_outputs, targets=targets)
    _check_shapes_equal(s, y, "predictor_outputs", "targets", loss)
    s, y = promote_floats(xp, s, y)
    z = -s * y
    return maximum(xp, xp.zeros_like(z), z)


@half_precision
def sparsemax_loss(logits: ArrayT, labels: ArrayLike) -> ArrayT:
    r"""Binary sparsemax loss, elementwise (``optax.losses.sparsemax_loss``).

    .. math::

        \ell = \operatorname{sparse\_plus}(z), \quad z = \begin{cases} -x & y \ne 0 \\
        x & y = 0 \end{cases}, \quad
        \operatorname{sparse\_plus}(z) = \begin{cases} 0 & z \le -1 \\
        (z + 1)^2 / 4 & -1 < z < 1 \\ z & z \ge 1 \end{cases}

    Parameters
    ----------
    logits : array
        Floating, any shape.
    labels : array
        Broadcastable with ``logits``; a label counts as positive when nonzero (optax's
        ``jnp.where(labels, ...)``).

    Returns
    -------
    array
        The broadcast shape, unreduced.

    References
    ----------
    Martins and Astudillo, "From Softmax to Sparsemax: A Sparse Model of Attention and
    Multi-Label Classification", ICML 2016, arXiv:1602.02068; Blondel, Martins and Niculae,
    "Learning with Fenchel-Young Losses", JMLR 21, 2020, arXiv:1901.02324; optax 0.2.8.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import sparsemax_loss
    >>> logits = np.array([2.0, -1.0, 0.5])
    >>> np.round(sparsemax_loss(logits, np.array([1.0, 0.0, 0.0])), 4).tolist()
    [0.0, 0.0, 0.5625]
    """
    loss = "sparsemax_loss"
    xp, x, y = _arrays(loss, logits=logits, labels=labels)
    _check_broadcast(x, y, "logits", "labels", loss)
    z = xp.where(y != 0, -x, x)
    quad = (z + 1.0) * (z + 1.0) / 4.0
    return xp.where(z <= -1.0, xp.zeros_like(z), xp.where(z >= 1.0, z, quad))


@half_precision
def safe_softmax_cross_entropy(logits: ArrayT, labels: ArrayLike) -> ArrayT:
    r"""Softmax cross-entropy with :math:`0 \cdot \log 0 = 0` (optax's safe version).

    .. math::

        \ell = -\sum_{k:\, y_k \ne 0} y_k \log \operatorname{softmax}(x)_k

    over the last axis: a ``-inf`` logit with label 0 adds nothing (where
    :func:`softmax_cross_entropy` gives NaN).

    Parameters
    ----------
    logits : array
        (..., K), floating; may hold ``-inf``.
    labels : array
        (..., K), probabilities.

    Returns
    -------
    array
        (...).

    Notes
    -----
    Logits [0, -inf, 1] with labels [0.5, 0, 0.5]: 0.8133 here and in optax, NaN in torch,
    Keras and ``softmax_cross_entropy`` (reference section 3.15). The gradients are optax's
    (its custom JVP): ``softmax(x) * sum(y) - y`` w.r.t. the logits, finite there, and
    ``-log softmax(x)`` w.r.t. the labels, zero labels included (``+inf`` at a ``-inf`` logit).

    References
    ----------
    optax 0.2.8, ``optax/losses/_classification.py``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import safe_softmax_cross_entropy
    >>> logits = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
    >>> labels = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    >>> np.round(safe_softmax_cross_entropy(logits, labels), 4).tolist()
    [0.2413, 1.5514]
    """
    loss = "safe_softmax_cross_entropy"
    xp, x, y = _arrays(loss, logits=logits, labels=labels)
    _check_broadcast(x, y, "logits", "labels", loss)
    x, y = promote_floats(xp, x, y)
    lsm = _log_softmax(xp, x, (x.ndim - 1,), None)
    return -xp.sum(_safe_weighted(xp, y, lsm), axis=-1)


def _safe_weighted(xp: Any, y: Any, lsm: Any) -> Any:
    """``y * lsm`` with ``0 * log 0 = 0``, differentiated as optax's ``weighted_logsoftmax``.

    Its custom JVP gives ``lsm`` as the derivative w.r.t. ``y`` everywhere (``-inf`` where a
    logit is ``-inf``, whatever the label) and ``y`` w.r.t. ``lsm``. Where ``y * lsm`` is a
    number that is what the product gives; where it is ``0 * -inf`` (or ``0 * nan``) the value
    is 0 and the slope w.r.t. ``y`` that of ``-sqrt(y)`` at 0, ``-inf``, with no NaN reaching
    the other entries' gradients (both ``where`` branches take safe inputs).
    """
    zero_log0 = xp.logical_and(y == 0, xp.logical_not(xp.isfinite(lsm)))
    product = y * xp.where(zero_log0, xp.zeros_like(lsm), lsm)
    slope = -xp.sqrt(xp.where(zero_log0, y, xp.ones_like(y)))
    return xp.where(zero_log0, slope, product)


@half_precision
def softmax_cross_entropy(
    logits: ArrayT,
    labels: ArrayLike,
    axis: int | tuple[int, ...] | None = -1,
    where: ArrayLike | None = None,
) -> ArrayT:
    r"""Softmax cross-entropy with probability labels (``optax.losses.softmax_cross_entropy``).

    .. math::

        \ell = -\sum_{k \in \text{axis},\, w_k} y_k \log \frac{e^{x_k}}
        {\sum_{j \in \text{axis},\, w_j} e^{x_j}}

    Masked classes (``where`` False) leave the normaliser and the sum.

    Parameters
    ----------
    logits : array
        Floating, classes along ``axis``.
    labels : array
        Probabilities (one-hot or soft), broadcastable with ``logits``.
    axis : int, tuple of int or None, default -1
        The class axis (or axes; None: every axis).
    where : array of bool, optional
        Which classes count. With fewer dimensions than ``logits``, the class axes are inserted
        (optax's ``expand_dims``). A fully masked row gives 0 (``-0.0``).

    Returns
    -------
    array
        ``logits``' shape without ``axis``.

    Notes
    -----
    Same as torch's ``cross_entropy`` with probability targets (class axis -1 here, 1 in
    torch) and Keras's ``categorical_crossentropy(from_logits=True)``. A ``-inf`` logit with
    label 0 gives NaN, as in optax (use :func:`safe_softmax_cross_entropy`).

    References
    ----------
    optax 0.2.8, ``optax/losses/_classification.py``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import softmax_cross_entropy
    >>> logits = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
    >>> labels = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 0.5]])
    >>> np.round(softmax_cross_entropy(logits, labels), 4).tolist()
    [0.2413, 1.0514]
    """
    loss = "softmax_cross_entropy"
    xp, x, y, w = _arrays(loss, logits=logits, labels=labels, where=where)
    axes = _axes(axis, x.ndim, loss)
    _check_broadcast(x, y, "logits", "labels", loss)
    w = _expand_where(xp, _mask(xp, w), axes, x.ndim)
    x, y = promote_floats(xp, x, y)
    lsm = _log_softmax(xp, x, axes, w)
    return -_msum(xp, y * lsm, axes, w)


@half_precision
def softmax_cross_entropy_with_integer_labels(
    logits: ArrayT,
    labels: ArrayLike,
    axis: int | tuple[int, ...] | None = -1,
    where: ArrayLike | None = None,
) -> ArrayT:
    r"""Softmax cross-entropy with class-index labels (optax, integer labels).

    .. math::

        \ell = \log \sum_{j \in \text{axis},\, w_j} e^{x_j} - x_{y}

    Parameters
    ----------
    logits : array
        Floating, classes along ``axis``.
    labels : array
        Integer class indices, ``logits``' shape without ``axis``. A label in ``[-K, 0)``
        counts from the end (JAX indexing); one outside ``[-K, K)`` gives **NaN** (optax: JAX's
        out-of-bounds gather), e.g. torch's ignore label -100: use ``where=``.
    axis : int or tuple of int, default -1
        The class axis. A tuple flattens those axes (in order) into one class axis of size
        their product; the label indexes the flattened classes.
    where : array of bool, optional
        Which classes count in the normaliser (``logits``' shape, or without the class axes).
        A row with no class left gives 0 and a zero gradient.

    Returns
    -------
    array
        ``logits``' shape without ``axis``.

    Notes
    -----
    torch's ``cross_entropy`` (class axis 1) and Keras's sparse CE (last axis) on the same
    rows agree; optax's ``axis=1`` on (N, C, d) equals torch's 1.247974 on the reference's
    example (section 3.15). Torch averages over non-ignored labels; optax has no reduction.

    References
    ----------
    optax 0.2.8, ``optax/losses/_classification.py``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import softmax_cross_entropy_with_integer_labels
    >>> logits = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
    >>> np.round(softmax_cross_entropy_with_integer_labels(logits, np.array([0, 2])), 4).tolist()
    [0.2413, 1.5514]
    """
    loss = "softmax_cross_entropy_with_integer_labels"
    xp, x, labels, w = _arrays(loss, logits=logits, labels=labels, where=where)
    check_integer(xp, labels, f"{loss}: labels", "class indices")
    if isinstance(axis, bool) or not isinstance(axis, (numbers.Integral, tuple)):
        raise ValueError(
            f"{loss}: axis must be an int or a tuple of ints; got {axis!r} of type "
            f"{type(axis).__name__}"
        )
    axes = _axes(axis, x.ndim, loss)
    w = _expand_where(xp, _mask(xp, w), axes, x.ndim)
    if isinstance(axis, tuple):
        batch = tuple(d for d in range(x.ndim) if d not in axes)
        perm = batch + axes
        full = tuple(int(d) for d in x.shape)
        x = xp.reshape(xp.permute_dims(x, perm), tuple(full[d] for d in batch) + (-1,))
        if w is not None:
            w = xp.broadcast_to(w, full)
            w = xp.reshape(xp.permute_dims(w, perm), tuple(x.shape))
        ax = len(batch)
    else:
        ax = axes[0]
    expected = tuple(d for i, d in enumerate(x.shape) if i != ax)
    if tuple(labels.shape) != expected:
        raise ValueError(
            f"{loss}: labels has shape {shape_str(labels.shape)}; expected logits' shape "
            f"without the class axis, {shape_str(expected)}"
        )
    n = int(x.shape[ax])
    valid = xp.logical_and(labels >= -n, labels < n)
    index = xp.where(labels < 0, labels + n, labels)
    index = xp.where(valid, index, xp.zeros_like(index))
    picked = xp.squeeze(take_along_axis(xp, x, xp.expand_dims(index, axis=ax), ax), axis=ax)
    picked = xp.where(valid, picked, xp.full_like(picked, xp.nan))
    if w is None:
        lse = _logsumexp(xp, x, ax, None)
        return lse - picked
    any_w = xp.any(w, axis=ax)
    lse = _logsumexp(xp, x, ax, w)
    lse = xp.where(any_w, lse, xp.zeros_like(lse))
    out = lse - xp.where(any_w, picked, xp.zeros_like(picked))
    return xp.where(any_w, out, xp.zeros_like(out))


def _logsumexp(xp: Any, x: Any, ax: int, w: Any) -> Any:
    """Masked log-sum-exp along ``ax`` (a fully masked row: ``-inf``)."""
    m = _mmax(xp, x, (ax,), w)
    m = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    total = _msum(xp, xp.exp(x - m), (ax,), w, keepdims=True)
    if w is not None:  # a fully masked row: 0 here, replaced by the caller
        total = xp.where(xp.any(w, axis=ax, keepdims=True), total, xp.ones_like(total))
    out = xp.log(total) + m
    return xp.squeeze(out, axis=ax)


@half_precision(float32_result=True)  # optax: JAX's default float dtype
def multiclass_hinge_loss(scores: ArrayT, labels: ArrayLike) -> ArrayT:
    r"""Crammer-Singer multiclass hinge loss (``optax.losses.multiclass_hinge_loss``).

    .. math::

        \ell = \max_k (s_k + 1 - [k = y]) - s_y
        = \max\left(0,\ 1 + \max_{k \ne y} s_k - s_y\right)

    Parameters
    ----------
    scores : array
        (..., K), floating.
    labels : array
        (...), integer. A label outside ``[0, K)`` gives a zero one-hot row (``jax.nn.one_hot``):
        :math:`\max_k s_k + 1`.

    Returns
    -------
    array
        (...).

    Notes
    -----
    Scores [1, 2, 0.5] with label 0: 2.0, as Keras's ``categorical_hinge`` and the core
    :func:`lossbridge.categorical_hinge_loss`; torch's ``multi_margin_loss`` gives 0.8333
    (reference section 3.9). Tied maxima share the gradient evenly (``jnp.max``): scores
    [2, 1, 1], label 0 give the gradient [-2/3, 1/3, 1/3].

    References
    ----------
    Crammer and Singer, "On the Algorithmic Implementation of Multiclass Kernel-based Vector
    Machines", JMLR 2, 2001; optax 0.2.8.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import multiclass_hinge_loss
    >>> scores = np.array([[1.0, 2.0, 0.5], [3.0, 0.0, 1.0]])
    >>> np.round(multiclass_hinge_loss(scores, np.array([0, 0])), 4).tolist()
    [2.0, 0.0]
    """
    loss = "multiclass_hinge_loss"
    xp, s, labels = _arrays(loss, scores=scores, labels=labels)
    _class_labels(xp, s, labels, loss, "scores")
    oh = _one_hot(xp, labels, int(s.shape[-1]), s.dtype)
    return xp.squeeze(max_split(xp, s + 1.0 - oh, -1), axis=-1) - xp.sum(s * oh, axis=-1)


@half_precision(float32_result=True)  # optax: JAX's default float dtype
def multiclass_perceptron_loss(scores: ArrayT, labels: ArrayLike) -> ArrayT:
    r"""Multiclass perceptron loss, :math:`\max_k s_k - s_y` (optax).

    Parameters
    ----------
    scores : array
        (..., K), floating.
    labels : array
        (...), integer (outside ``[0, K)``: a zero one-hot row, :math:`\max_k s_k`).

    Returns
    -------
    array
        (...).

    References
    ----------
    Collins, "Discriminative Training Methods for Hidden Markov Models", EMNLP 2002; optax
    0.2.8.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import multiclass_perceptron_loss
    >>> scores = np.array([[1.0, 2.0, 0.5], [3.0, 0.0, 1.0]])
    >>> np.round(multiclass_perceptron_loss(scores, np.array([0, 0])), 4).tolist()
    [1.0, 0.0]
    """
    loss = "multiclass_perceptron_loss"
    xp, s, labels = _arrays(loss, scores=scores, labels=labels)
    _class_labels(xp, s, labels, loss, "scores")
    oh = _one_hot(xp, labels, int(s.shape[-1]), s.dtype)
    return xp.squeeze(max_split(xp, s, -1), axis=-1) - xp.sum(s * oh, axis=-1)


def _class_labels(xp: Any, s: Any, labels: Any, loss: str, name: str) -> None:
    check_integer(xp, labels, f"{loss}: labels", "class indices")
    if s.ndim == 0 or tuple(labels.shape) != tuple(s.shape[:-1]):
        raise ValueError(
            f"{loss}: labels has shape {shape_str(labels.shape)} but {name} has shape "
            f"{shape_str(s.shape)}; expected labels of shape {name}.shape[:-1]"
        )


def _projection_simplex(xp: Any, x: Any) -> Any:
    """Euclidean projection of each row (last axis) onto the probability simplex.

    optax's ``projection_simplex`` (sort, cumulative sum, support size k, threshold
    :math:`\\tau = (\\sum_{top k} x - 1) / k`, :math:`p = \\max(x - \\tau, 0)`), with its custom
    JVP: the threshold is recomputed differentiably over the support only, so the gradient is
    ``supp * v - (supp . v / |supp|) * supp`` and never goes through the sort.
    """
    n = int(x.shape[-1])
    xs = stop_gradient(x)
    u = xp.flip(xp.sort(xs, axis=-1), axis=-1)
    css = xp.cumulative_sum(u, axis=-1)
    ind = xp.arange(1, n + 1, dtype=x.dtype, device=_device(xp, x))
    cond = 1.0 / ind + (u - css / ind) > 0
    k = xp.sum(xp.astype(cond, x.dtype), axis=-1, keepdims=True)
    tau0 = xp.sum(xp.where(ind == k, (css - 1.0) / ind, xp.zeros_like(css)), axis=-1, keepdims=True)
    supp = xs - tau0 > 0
    card = xp.sum(xp.astype(supp, x.dtype), axis=-1, keepdims=True)
    tau = (xp.sum(xp.where(supp, x, xp.zeros_like(x)), axis=-1, keepdims=True) - 1.0) / card
    return xp.where(supp, x - tau, xp.zeros_like(x))


@half_precision(float32_result=True)  # optax: JAX's default float dtype
def multiclass_sparsemax_loss(scores: ArrayT, labels: ArrayLike) -> ArrayT:
    r"""Multiclass sparsemax loss (``optax.losses.multiclass_sparsemax_loss``).

    With :math:`p = \operatorname{sparsemax}(s)` (the Euclidean projection of :math:`s` onto
    the simplex) and :math:`s' = s - s_y`:

    .. math::

        \ell = \sum_{k:\, p_k > 0} p_k s'_k + \tfrac12 \left(1 - \lVert p \rVert^2\right)

    Parameters
    ----------
    scores : array
        (..., K), floating (optax: (N, K), vmapped).
    labels : array
        (...), integer, in ``[-K, K)`` (negative counts from the end, as JAX indexing); other
        values raise on concrete arrays (JAX clamps them silently).

    Returns
    -------
    array
        (...).

    Notes
    -----
    The gradient is :math:`p - e_y`, with optax's projection JVP (the support is held fixed).

    References
    ----------
    Martins and Astudillo, "From Softmax to Sparsemax", ICML 2016, arXiv:1602.02068; optax 0.2.8.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import multiclass_sparsemax_loss
    >>> scores = np.array([[1.0, 2.0, 0.5], [3.0, 0.0, 1.0]])
    >>> np.round(multiclass_sparsemax_loss(scores, np.array([0, 0])), 4).tolist()
    [1.0, 0.0]
    """
    loss = "multiclass_sparsemax_loss"
    xp, s, labels = _arrays(loss, scores=scores, labels=labels)
    _class_labels(xp, s, labels, loss, "scores")
    n = int(s.shape[-1])
    view = eager_view(xp, labels)
    if view is not None and n > 0:
        vxp, v = view
        if bool(vxp.any(vxp.logical_or(v < -n, v >= n))):
            raise ValueError(
                f"{loss}: labels holds values outside [{-n}, {n}); got values in "
                f"[{int(vxp.min(v))}, {int(vxp.max(v))}]"
            )
    index = xp.expand_dims(xp.where(labels < 0, labels + n, labels), axis=-1)
    p = _projection_simplex(xp, s)
    shifted = s - take_along_axis(xp, s, index, -1)
    gated = xp.where(p != 0, shifted, xp.zeros_like(shifted))
    return xp.sum(p * gated, axis=-1) + 0.5 * (1.0 - xp.sum(p * p, axis=-1))


@half_precision(promoting=("epsilon",))
def poly_loss_cross_entropy(
    logits: ArrayT,
    labels: ArrayLike,
    *,
    epsilon: ArrayLike = 2.0,
    axis: int | tuple[int, ...] | None = -1,
    where: ArrayLike | None = None,
) -> ArrayT:
    r"""Poly-1 cross-entropy (``optax.losses.poly_loss_cross_entropy``).

    .. math::

        \ell = \mathrm{CE}(x, y) + \epsilon \sum_{k} y_k (1 - p_k), \quad
        p = \operatorname{softmax}(x)

    (for one-hot labels, :math:`\mathrm{CE} + \epsilon (1 - p_t)`).

    Parameters
    ----------
    logits : array
        Floating, classes along ``axis``.
    labels : array
        Floating probabilities (optax refuses integer labels), broadcastable with ``logits``.
    epsilon : float or array, default 2.0
        optax's default is 2.0; the paper's (and the core :func:`lossbridge.poly1_cross_entropy`'s)
        is 1.0. An array (0-d, or broadcasting with the result; traced values included) promotes
        like one and receives a gradient, as in optax.
    axis : int, tuple of int or None, default -1
    where : array of bool, optional
        ``logits``' shape (optax does not insert the class axis here); masked classes leave
        the normaliser and both sums.

    Returns
    -------
    array
        ``logits``' shape without ``axis``.

    References
    ----------
    Leng, Tan, Liu, Cubuk, Shi, Cheng, Anguelov and Tan, "PolyLoss: A Polynomial Expansion
    Perspective of Classification Loss Functions", ICLR 2022, arXiv:2204.12511; optax 0.2.8.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import poly_loss_cross_entropy
    >>> logits = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
    >>> labels = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    >>> np.round(poly_loss_cross_entropy(logits, labels, epsilon=2.0), 4).tolist()
    [0.6701, 3.1276]
    """
    loss = "poly_loss_cross_entropy"
    epsilon = check_real_or_array(epsilon, "epsilon", loss=loss, what="the weight of 1 - p_t")
    xp, x, y, w = _arrays(loss, logits=logits, labels=labels, where=where)
    check_floating(xp, y, f"{loss}: labels")
    axes = _axes(axis, x.ndim, loss)
    _check_broadcast(x, y, "logits", "labels", loss)
    w = _mask(xp, w)
    x, y = promote_floats(xp, x, y)
    lsm = _log_softmax(xp, x, axes, w)
    p = xp.exp(lsm)
    one_minus_pt = _msum(xp, y * (1.0 - p), axes, w)
    wce = _expand_where(xp, w, axes, x.ndim)
    ce = -_msum(xp, y * _log_softmax(xp, x, axes, wce), axes, wce)
    (epsilon,) = _hypers_on(xp, loss, one_minus_pt, "the per-example loss", epsilon=epsilon)
    ce, one_minus_pt, epsilon = promote_floats(xp, ce, one_minus_pt, epsilon)
    return ce + epsilon * one_minus_pt


@half_precision(promoting=("alpha", "gamma"))
def sigmoid_focal_loss(
    logits: ArrayT, labels: ArrayLike, *, alpha: ArrayLike | None = None, gamma: ArrayLike = 2.0
) -> ArrayT:
    r"""Sigmoid focal loss, elementwise (``optax.losses.sigmoid_focal_loss``).

    .. math::

        \ell = \alpha_t (1 - p_t)^\gamma \, \mathrm{BCE}(x, y), \quad
        1 - p_t = (1 - y)\,\sigma(x) + y\,\sigma(-x)

    with :math:`\alpha_t = \alpha y + (1 - \alpha)(1 - y)`, or 1 when ``alpha`` is None.
    :math:`\log(1 - p_t)` is a log-sum-exp of the two log-sigmoids, as in optax: exact at any
    logit.

    Parameters
    ----------
    logits : array
        Floating, any shape.
    labels : array
        Broadcastable; {0, 1} (soft labels follow the formula).
    alpha : float, array or None, default None
        optax's default: **no class balancing**. torchvision's default is 0.25.
    gamma : float or array, default 2.0
        Arrays (0-d, or broadcasting with ``logits``; traced values included) promote like
        arrays and receive gradients, as in optax.

    Returns
    -------
    array
        The broadcast shape, unreduced.

    Notes
    -----
    Logits [2, -1, 0.5, -3], labels [1, 0, 0, 1]: [0.001804, 0.022658, 0.377412, 2.76628]
    (optax, torchvision with alpha -1); torchvision's alpha 0.25 gives
    [0.000451, 0.016994, 0.283059, 0.69157] (reference section 3.11). Same as the core
    :func:`lossbridge.sigmoid_focal_loss` with ``alpha=-1``, ``reduction='none'``.

    References
    ----------
    Lin, Goyal, Girshick, He and Dollar, "Focal Loss for Dense Object Detection", ICCV 2017,
    arXiv:1708.02002; optax 0.2.8.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import sigmoid_focal_loss
    >>> logits = np.array([2.0, -1.0, 0.5])
    >>> np.round(sigmoid_focal_loss(logits, np.array([1.0, 0.0, 0.0]), alpha=0.25), 6).tolist()
    [0.000451, 0.016994, 0.283059]
    """
    loss = "sigmoid_focal_loss"
    gamma = check_real_or_array(gamma, "gamma", loss=loss, what="the focusing exponent")
    if alpha is not None:
        alpha = check_real_or_array(
            alpha, "alpha", loss=loss, what="the weight of the positive class, or None"
        )
    xp, x, y = _arrays(loss, logits=logits, labels=labels)
    _check_broadcast(x, y, "logits", "labels", loss)
    alpha, gamma = _hypers_on(xp, loss, x, "logits", alpha=alpha, gamma=gamma)
    x, alpha, gamma = promote_floats(xp, x, alpha, gamma)
    y = xp.astype(y, x.dtype) if y.dtype != x.dtype else y
    log_p = log_sigmoid(xp, x)
    log_q = log_sigmoid(xp, -x)
    ce = -y * log_p - (1.0 - y) * log_q
    # log((1 - y) e^{log_p} + y e^{log_q}), the max taken over the terms with nonzero weight
    # (jax.scipy.special.logsumexp with b): exact, and finite gradients at y in {0, 1}.
    a, b = 1.0 - y, y
    m = xp.where(a == 0, log_q, xp.where(b == 0, log_p, xp.where(log_p > log_q, log_p, log_q)))
    m = stop_gradient(m)
    zero = xp.zeros_like(x)
    ta = xp.where(a != 0, a * xp.exp(xp.where(a != 0, log_p - m, zero)), zero)
    tb = xp.where(b != 0, b * xp.exp(xp.where(b != 0, log_q - m, zero)), zero)
    log_one_minus_pt = xp.log(ta + tb) + m
    out = ce * xp.exp(gamma * log_one_minus_pt)
    if alpha is None:
        return out
    return (alpha * y + (1.0 - alpha) * (1.0 - y)) * out


def _kl_setup(
    loss: str, log_predictions: Any, targets: Any, where: Any, names: tuple[str, str]
) -> tuple[Any, Any, Any, Any]:
    xp, lp, t, w = _arrays(loss, **{names[0]: log_predictions, names[1]: targets, "where": where})
    check_floating(xp, t, f"{loss}: {names[1]}")
    _check_broadcast(lp, t, names[0], names[1], loss)
    lp, t = promote_floats(xp, lp, t)
    return xp, lp, t, _mask(xp, w)


@half_precision
def kl_divergence(
    log_predictions: ArrayT,
    targets: ArrayLike,
    axis: int | tuple[int, ...] | None = -1,
    where: ArrayLike | None = None,
) -> ArrayT:
    r"""Kullback-Leibler divergence :math:`\mathrm{KL}(t \,\|\, q)` (optax's ``kl_divergence``).

    .. math::

        \ell = \sum_{k \in \text{axis},\, w_k} t_k (\log t_k - \log q_k), \quad 0 \log 0 = 0

    The pointwise terms are the core :func:`lossbridge.kl_div`'s (``reduction='none'``).

    Parameters
    ----------
    log_predictions : array
        :math:`\log q`, floating.
    targets : array
        Probabilities :math:`t`, floating, broadcastable.
    axis : int, tuple of int or None, default -1
    where : array of bool, optional
        Masked terms are left out of the sum.

    Returns
    -------
    array
        The shape without ``axis``.

    Notes
    -----
    p = [[.5, .5, 0], [.1, .2, .7]], q = [[.4, .4, .2], [.3, .3, .4]]: [0.223144, 0.200777],
    exact (Keras clips t = 0 to 1e-7; torch's 'mean' divides by the element count, reference
    section 3.5). A target 0 with a ``-inf`` log-prediction gives NaN (0 * inf), as in optax.

    References
    ----------
    Kullback and Leibler, "On Information and Sufficiency", Ann. Math. Statist. 22, 1951;
    optax 0.2.8.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import kl_divergence
    >>> log_q = np.log(np.array([0.5, 0.25, 0.25]))
    >>> p = np.array([0.25, 0.5, 0.25])
    >>> round(float(kl_divergence(log_q, p)), 4)
    0.1733
    """
    from lossbridge.classification import kl_div

    loss = "kl_divergence"
    xp, lp, t, w = _kl_setup(loss, log_predictions, targets, where, ("log_predictions", "targets"))
    axes = _axes(axis, max(lp.ndim, t.ndim), loss)
    if tuple(lp.shape) != tuple(t.shape):
        lp, t = xp.broadcast_arrays(lp, t)
    return _msum(xp, kl_div(lp, t, reduction="none"), axes, w)


@half_precision
def kl_divergence_with_log_targets(
    log_predictions: ArrayT,
    log_targets: ArrayLike,
    axis: int | tuple[int, ...] | None = -1,
    where: ArrayLike | None = None,
) -> ArrayT:
    r"""KL divergence with log-space targets (``optax.losses.kl_divergence_with_log_targets``).

    .. math::

        \ell = \sum_{k \in \text{axis},\, w_k} e^{\log t_k} (\log t_k - \log q_k)

    The core :func:`lossbridge.kl_div` with ``log_target=True``, summed over ``axis``.

    Parameters
    ----------
    log_predictions : array
        :math:`\log q`, floating.
    log_targets : array
        :math:`\log t`, floating, broadcastable.
    axis : int, tuple of int or None, default -1
    where : array of bool, optional

    Returns
    -------
    array
        The shape without ``axis``.

    References
    ----------
    optax 0.2.8, ``optax/losses/_classification.py``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import kl_divergence_with_log_targets
    >>> log_q = np.log(np.array([0.5, 0.25, 0.25]))
    >>> log_p = np.log(np.array([0.25, 0.5, 0.25]))
    >>> round(float(kl_divergence_with_log_targets(log_q, log_p)), 4)
    0.1733
    """
    from lossbridge.classification import kl_div

    loss = "kl_divergence_with_log_targets"
    names = ("log_predictions", "log_targets")
    xp, lp, lt, w = _kl_setup(loss, log_predictions, log_targets, where, names)
    axes = _axes(axis, max(lp.ndim, lt.ndim), loss)
    if tuple(lp.shape) != tuple(lt.shape):
        lp, lt = xp.broadcast_arrays(lp, lt)
    return _msum(xp, kl_div(lp, lt, reduction="none", log_target=True), axes, w)


@half_precision
def generalized_kl_divergence(
    log_predictions: ArrayT,
    targets: ArrayLike,
    axis: int | tuple[int, ...] | None = -1,
    where: ArrayLike | None = None,
) -> ArrayT:
    r"""Generalised KL divergence of unnormalised measures (optax).

    .. math::

        \ell = \sum_{k \in \text{axis},\, w_k} \left[ t_k (\log t_k - \log q_k) + q_k - t_k
        \right]

    the Bregman divergence of :math:`x \log x - x`; equals :func:`kl_divergence` for
    normalised :math:`q` and :math:`t`.

    Parameters
    ----------
    log_predictions : array
        :math:`\log q`, floating.
    targets : array
        Non-negative :math:`t`, broadcastable.
    axis : int, tuple of int or None, default -1
    where : array of bool, optional

    Returns
    -------
    array
        The shape without ``axis``.

    References
    ----------
    Lee and Seung, "Algorithms for Non-negative Matrix Factorization", NeurIPS 2000; optax
    0.2.8.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import generalized_kl_divergence
    >>> log_q = np.log(np.array([0.5, 0.25, 0.5]))  # not normalised
    >>> p = np.array([0.25, 0.5, 0.25])
    >>> round(float(generalized_kl_divergence(log_q, p)), 4)
    0.25
    """
    loss = "generalized_kl_divergence"
    xp, lp, t, w = _kl_setup(loss, log_predictions, targets, where, ("log_predictions", "targets"))
    axes = _axes(axis, max(lp.ndim, t.ndim), loss)
    return kl_divergence(lp, t, axis=axis, where=w) + _msum(xp, xp.exp(lp) - t, axes, w)


@half_precision
def convex_kl_divergence(
    log_predictions: ArrayT,
    targets: ArrayLike,
    axis: int | tuple[int, ...] | None = -1,
    where: ArrayLike | None = None,
) -> ArrayT:
    r"""Deprecated alias of :func:`generalized_kl_divergence` (optax's ``convex_kl_divergence``).

    Warns with ``DeprecationWarning`` ("The function convex_kl_divergence is deprecated.
    Please use generalized_kl_divergence instead.", optax's message) on eager calls; no warning
    while ``jax.jit``, ``tf.function`` or ``torch.compile`` traces it.

    Parameters
    ----------
    log_predictions, targets : array
    axis : int, tuple of int or None, default -1
    where : array of bool, optional

    Returns
    -------
    array
        The shape without ``axis``.

    References
    ----------
    optax 0.2.8, ``optax/losses/_classification.py``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import convex_kl_divergence
    >>> log_q = np.log(np.array([0.5, 0.25, 0.25]))
    >>> p = np.array([0.25, 0.5, 0.25])
    >>> round(float(convex_kl_divergence(log_q, p)), 4)  # warns: deprecated, as in optax
    0.1733
    """
    if is_concrete(log_predictions):
        warnings.warn(
            "The function convex_kl_divergence is deprecated. Please use "
            "generalized_kl_divergence instead.",
            DeprecationWarning,
            stacklevel=2,
        )
    return generalized_kl_divergence(log_predictions, targets, axis=axis, where=where)


# ------------------------------------------------------------------------------------------
# CTC (optax's recursion: log_epsilon instead of log 0, frame paddings)
# ------------------------------------------------------------------------------------------


def _logaddexp(xp: Any, a: Any, b: Any) -> Any:
    """``jnp.logaddexp``; inputs are finite here (log_epsilon stands for log 0)."""
    m = stop_gradient(xp.where(a > b, a, b))
    return xp.log(xp.exp(a - m) + xp.exp(b - m)) + m


def _update_phi(xp: Any, phi: Any, added: Any) -> Any:
    return xp.concat([phi[:, :1], _logaddexp(xp, phi[:, 1:], added)], axis=1)


def _ctc_step(carry: Any, x: Any, consts: Any) -> Any:
    """One frame of optax's recursion over (blank states phi, emit states)."""
    prev_phi, prev_emit = carry
    lp_emit, lp_phi, pad = x
    rep_eps, norep_eps = consts
    xp, _ = get_namespace(prev_phi)
    phi = _update_phi(xp, prev_phi, prev_emit + rep_eps)
    next_emit = _logaddexp(xp, phi[:, :-1] + lp_emit, prev_emit + lp_emit)
    next_phi = _update_phi(xp, phi + lp_phi, prev_emit + lp_phi + norep_eps)
    next_emit = pad * prev_emit + (1.0 - pad) * next_emit
    next_phi = pad * prev_phi + (1.0 - pad) * next_phi
    return next_phi, next_emit


def _ctc_scan_step(carry: Any, x: Any, consts: Any) -> Any:
    out = _ctc_step(carry, x, consts)
    return out, out


def _ctc(
    logits: Any,
    logit_paddings: Any,
    labels: Any,
    label_paddings: Any,
    blank_id: Any,
    log_epsilon: Any,
    forward_probs: bool,
) -> Any:
    loss = "ctc_loss_with_forward_probs" if forward_probs else "ctc_loss"
    log_epsilon = check_real_or_array(
        log_epsilon, "log_epsilon", loss=loss, what="the stand-in for log 0", scalar=True
    )
    xp, logits, logit_paddings, labels, label_paddings = _arrays(
        loss,
        logits=logits,
        logit_paddings=logit_paddings,
        labels=labels,
        label_paddings=label_paddings,
    )
    if logits.ndim != 3:
        raise ValueError(
            f"{loss}: logits has shape {shape_str(logits.shape)}; expected rank 3 "
            "(batch, frames, classes)"
        )
    if labels.ndim != 2:
        raise ValueError(
            f"{loss}: labels has shape {shape_str(labels.shape)}; expected rank 2 "
            "(batch, max label length)"
        )
    check_integer(xp, labels, f"{loss}: labels", "class indices")
    _check_shapes_equal(labels, label_paddings, "labels", "label_paddings", loss)
    _check_shapes_equal(logits[..., 0], logit_paddings, "logits[..., 0]", "logit_paddings", loss)
    batch, n_frames, n_classes = (int(d) for d in logits.shape)
    n_labels = int(labels.shape[1])
    if int(labels.shape[0]) != batch:
        raise ValueError(
            f"{loss}: labels has batch size {int(labels.shape[0])}; expected logits' {batch}"
        )
    if isinstance(blank_id, bool) or not isinstance(blank_id, numbers.Integral):
        raise TypeError(f"{loss}: blank_id must be an int; got {blank_id!r}")
    if not 0 <= int(blank_id) < n_classes:
        raise ValueError(f"{loss}: blank_id={blank_id} is out of range for {n_classes} classes")
    if n_labels == 0:
        raise ValueError(f"{loss}: labels has no column; expected at least one (pad with 1.0)")
    blank_id = int(blank_id)
    (log_epsilon,) = _hypers_on(xp, loss, logits, "logits", log_epsilon=log_epsilon)
    logits, log_epsilon = promote_floats(xp, logits, log_epsilon)
    dtype = logits.dtype
    logit_paddings = xp.astype(logit_paddings, dtype)
    logprobs = _log_softmax(xp, logits, (2,), None)
    labellens = n_labels - xp.astype(xp.sum(xp.astype(label_paddings, dtype), axis=1), xp.int64)
    repeat = xp.astype(labels[:, :-1] == labels[:, 1:], dtype)
    repeat = (
        xp.concat([repeat, xp.zeros_like(repeat[:, :1])], axis=1)
        if n_labels > 1
        else (xp.zeros_like(xp.astype(labels, dtype)))
    )
    one_hot = _one_hot(xp, labels, n_classes, dtype)  # (B, N, K)
    emit = xp.matmul(logprobs, xp.permute_dims(one_hot, (0, 2, 1)))  # (B, T, N)
    emit = xp.permute_dims(emit, (1, 0, 2))
    phi_lp = xp.permute_dims(logprobs[:, :, blank_id : blank_id + 1], (1, 0, 2))
    pad = xp.expand_dims(xp.permute_dims(logit_paddings, (1, 0)), axis=2)
    rep_eps = log_epsilon * repeat
    norep_eps = log_epsilon * (1.0 - repeat)
    zeros = xp.zeros_like(repeat)
    phi0 = xp.concat([zeros[:, :1], zeros + log_epsilon], axis=1)
    emit0 = zeros + log_epsilon
    if forward_probs:
        (phi_t, emit_t), (all_phi, all_emit) = scan(
            _ctc_scan_step, (phi0, emit0), (emit, phi_lp, pad), consts=(rep_eps, norep_eps)
        )
    else:
        phi_t, emit_t = fold(
            _ctc_step, (phi0, emit0), (emit, phi_lp, pad), consts=(rep_eps, norep_eps)
        )
    phi_last = _update_phi(xp, phi_t, emit_t)
    select = _one_hot(xp, labellens, n_labels + 1, dtype)
    per_seq = -xp.sum(phi_last * select, axis=1)
    if not forward_probs:
        return per_seq
    all_phi = xp.concat([all_phi[:-1, ...], xp.expand_dims(phi_last, axis=0)], axis=0)
    return per_seq, all_phi, all_emit


@half_precision(float32_result=True)  # optax: JAX's default float dtype
def ctc_loss(
    logits: ArrayT,
    logit_paddings: ArrayLike,
    labels: ArrayLike,
    label_paddings: ArrayLike,
    *,
    blank_id: int = 0,
    log_epsilon: ArrayLike = -1e5,
) -> ArrayT:
    r"""Connectionist temporal classification loss, per sequence (``optax.losses.ctc_loss``).

    :math:`-\log \sum_{\pi \in \mathcal{B}^{-1}(y)} \prod_t p_t(\pi_t)` over the alignments
    :math:`\pi` of the unpadded frames that collapse to the unpadded labels, computed by
    optax's forward recursion: ``log_epsilon`` stands for :math:`\log 0`, so an infeasible
    alignment gives about :math:`-\text{log\_epsilon}` instead of infinity.

    Parameters
    ----------
    logits : array
        (B, T, K), floating; the log-softmax is taken here.
    logit_paddings : array
        (B, T): 1.0 marks a padded frame, 0.0 a real one (a padded frame keeps the states as
        they are; optax blends ``pad * previous + (1 - pad) * next``).
    labels : array
        (B, N), integer, right-padded.
    label_paddings : array
        (B, N): 1.0 marks padding. The label length is ``N - int(sum(label_paddings))``.
    blank_id : int, default 0
    log_epsilon : float or 0-d array, default -1e5
        An array (traced values included) promotes like one and receives a gradient, as in
        optax.

    Returns
    -------
    array
        (B,): the per-sequence loss (no reduction).

    Notes
    -----
    B = 2, T = 6, K = 4, labels [[1, 2, 2], [3, 1, 0]], lengths [3, 2], frames [6, 5]:
    [5.029023, 4.45238], as torch, TF and Keras (reference section 3.13). An infeasible
    alignment (2 frames): optax and here 100000.26, torch inf, TF 708.2. The core
    :func:`lossbridge.ctc_loss` takes torch's layout (log-probabilities (T, B, K), lengths).

    References
    ----------
    Graves, Fernandez, Gomez and Schmidhuber, "Connectionist Temporal Classification:
    Labelling Unsegmented Sequence Data with Recurrent Neural Networks", ICML 2006; optax
    0.2.8, ``optax/losses/_classification.py``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import ctc_loss
    >>> logits = np.zeros((1, 3, 2))  # batch 1, T=3 steps, classes {blank, a}
    >>> labels, label_paddings = np.array([[1]]), np.array([[0.0]])
    >>> loss = ctc_loss(logits, np.zeros((1, 3)), labels, label_paddings)
    >>> np.round(loss, 4).tolist()  # -log(6 / 8): 6 of the 8 paths give 'a'
    [0.2877]
    """
    return _ctc(logits, logit_paddings, labels, label_paddings, blank_id, log_epsilon, False)


@half_precision(float32_result=True)  # optax: JAX's default float dtype
def ctc_loss_with_forward_probs(
    logits: ArrayT,
    logit_paddings: ArrayLike,
    labels: ArrayLike,
    label_paddings: ArrayLike,
    *,
    blank_id: int = 0,
    log_epsilon: ArrayLike = -1e5,
) -> tuple[ArrayT, ArrayT, ArrayT]:
    r"""CTC loss and its forward log-probabilities (``optax.losses.ctc_loss_with_forward_probs``).

    Same recursion and parameters as :func:`ctc_loss`.

    Parameters
    ----------
    logits : array
        (B, T, K), floating.
    logit_paddings : array
        (B, T), 1.0 = padded frame.
    labels : array
        (B, N), integer.
    label_paddings : array
        (B, N), 1.0 = padding.
    blank_id : int, default 0
    log_epsilon : float or 0-d array, default -1e5
        An array (traced values included) promotes like one and receives a gradient, as in
        optax.

    Returns
    -------
    per_seq_loss : array
        (B,).
    logalpha_blank : array
        (T, B, N + 1): the log forward probability of each blank state after each frame (the
        last frame's includes the final emit, as optax).
    logalpha_emit : array
        (T, B, N): the log forward probability of each label state after each frame.

    References
    ----------
    Graves et al., ICML 2006; optax 0.2.8.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import ctc_loss_with_forward_probs
    >>> logits = np.zeros((1, 3, 2))  # batch 1, T=3 steps, classes {blank, a}
    >>> labels, label_paddings = np.array([[1]]), np.array([[0.0]])
    >>> loss, logalpha_phi, logalpha_emit = ctc_loss_with_forward_probs(
    ...     logits, np.zeros((1, 3)), labels, label_paddings)
    >>> np.round(loss, 4).tolist(), logalpha_phi.shape, logalpha_emit.shape
    ([0.2877], (3, 1, 2), (3, 1, 1))
    """
    return _ctc(logits, logit_paddings, labels, label_paddings, blank_id, log_epsilon, True)


# ------------------------------------------------------------------------------------------
# Smoothing and Fenchel-Young (optax/losses/_smoothing.py, _fenchel_young.py)
# ------------------------------------------------------------------------------------------


@half_precision
def smooth_labels(
    labels: ArrayT,
    alpha: ArrayLike,
    *,
    axis: int | tuple[int, ...] | None = -1,
    where: ArrayLike | None = None,
) -> ArrayT:
    r"""Label smoothing, :math:`(1 - \alpha) y + \alpha / K` (``optax.losses.smooth_labels``).

    :math:`K` is the size of ``axis`` (the product of the sizes for a tuple), or the number of
    unmasked entries along it with ``where`` (a fully masked row divides by 0: ``inf``).

    Parameters
    ----------
    labels : array
        Floating (optax refuses integer labels).
    alpha : float or array
        An array (0-d, or broadcasting with ``labels``; traced values included) promotes like
        one and receives a gradient, as in optax.
    axis : int, tuple of int or None, default -1
    where : array of bool, optional

    Returns
    -------
    array
        ``labels``' shape.

    Notes
    -----
    Categorical: torch's ``label_smoothing``, Keras's and optax's agree (reference section
    3.10). A binary (N, 1) target divides by K = 1: labels [1, 0] with alpha 0.2 give
    [1.0, 0.2], not Keras's [0.9, 0.1].

    References
    ----------
    Szegedy, Vanhoucke, Ioffe, Shlens and Wojna, "Rethinking the Inception Architecture for
    Computer Vision", CVPR 2016, arXiv:1512.00567; optax 0.2.8.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import smooth_labels
    >>> np.round(smooth_labels(np.array([[0.0, 1.0, 0.0]]), alpha=0.3), 4).tolist()
    [[0.1, 0.8, 0.1]]
    """
    loss = "smooth_labels"
    alpha = check_real_or_array(alpha, "alpha", loss=loss, what="the smoothing weight")
    xp, y, w = _arrays(loss, labels=labels, where=where)
    axes = _axes(axis, y.ndim, loss)
    (alpha,) = _hypers_on(xp, loss, y, "labels", alpha=alpha)
    y, alpha = promote_floats(xp, y, alpha)
    if w is None:
        k = 1
        for a in axes:
            k *= int(y.shape[a])
        return (1.0 - alpha) * y + alpha / k
    k = xp.sum(xp.astype(_mask(xp, w), y.dtype), axis=axes, keepdims=True)
    return (1.0 - alpha) * y + alpha / k


def make_fenchel_young_loss(max_fun: Callable[..., Any]) -> Callable[..., Any]:
    r"""A Fenchel-Young loss from a max function (``optax.losses.make_fenchel_young_loss``).

    .. math::

        \ell(s, t) = \Omega^*(s) - \langle t, s \rangle

    over the last axis, with :math:`\Omega^* =` ``max_fun``.

    Parameters
    ----------
    max_fun : callable
        ``max_fun(scores, *args, **kwargs)``: the regularised max of each row, **taking the
        whole (..., n) array and reducing its last axis** (written against the array API, e.g.
        ``lambda s: xp.log(xp.sum(xp.exp(s), axis=-1))``). optax calls it on each 1-D row
        through ``jnp.vectorize``; a function that reduces ``axis=-1`` works in both.

    Returns
    -------
    callable
        ``fenchel_young_loss(scores, targets, *args, **kwargs)``: scores and targets (..., n),
        returning (...). Extra arguments go to ``max_fun``.

    Raises
    ------
    TypeError
        If ``max_fun`` is not callable.

    Notes
    -----
    With the log-sum-exp as ``max_fun`` this is the softmax cross-entropy with probability
    targets minus their negative entropy (for one-hot targets, the cross-entropy).

    References
    ----------
    Blondel, Martins and Niculae, "Learning with Fenchel-Young Losses", JMLR 21, 2020,
    arXiv:1901.02324; optax 0.2.8, ``optax/losses/_fenchel_young.py``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import make_fenchel_young_loss
    >>> loss_fn = make_fenchel_young_loss(lambda s: np.log(np.sum(np.exp(s), axis=-1)))
    >>> logits = np.array([[2.0, 0.5, -1.0], [0.0, 1.0, 0.0]])
    >>> labels = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    >>> np.round(loss_fn(logits, labels), 4).tolist()  # the softmax cross-entropy
    [0.2413, 1.5514]
    """
    if not callable(max_fun):
        raise TypeError(f"make_fenchel_young_loss: max_fun must be callable; got {max_fun!r}")

    @half_precision
    def fenchel_young_loss(scores: Any, targets: Any, *args: Any, **kwargs: Any) -> Any:
        loss = "fenchel_young_loss"
        xp, s, t = _arrays(loss, scores=scores, targets=targets)
        _check_broadcast(s, t, "scores", "targets", loss)
        value = max_fun(s, *args, **kwargs)
        expected = tuple(s.shape[:-1])
        if tuple(getattr(value, "shape", ())) != expected:
            raise ValueError(
                f"{loss}: max_fun returned shape {shape_str(getattr(value, 'shape', ()))} for "
                f"scores of shape {shape_str(s.shape)}; expected {shape_str(expected)} "
                "(max_fun must reduce the last axis)"
            )
        s, t = promote_floats(xp, s, t)
        return value - xp.sum(t * s, axis=-1)

    return fenchel_young_loss


# ------------------------------------------------------------------------------------------
# Ranking (optax/losses/_ranking.py)
# ------------------------------------------------------------------------------------------


def _masked_mean(a: Any, where: Any = None) -> Any:
    """``jnp.mean(a, where=where)`` on any backend (0 / 0 = NaN for no valid entry)."""
    xp, _ = get_namespace(a)
    if where is None:
        return xp.mean(a)
    count = xp.sum(xp.astype(where, a.dtype))
    return xp.sum(xp.where(where, a, xp.zeros_like(a))) / count


def _masked_sum(a: Any, where: Any = None) -> Any:
    """``jnp.sum(a, where=where)`` on any backend."""
    xp, _ = get_namespace(a)
    return xp.sum(a if where is None else xp.where(where, a, xp.zeros_like(a)))


def _named_reduction(reduce_fn: Any) -> Any:
    """``jnp.mean``/``np.mean`` (and ``sum``) given by a port map onto the backend-neutral ones."""
    name = getattr(reduce_fn, "__name__", "")
    module = (getattr(reduce_fn, "__module__", None) or "").split(".")[0]
    if module in ("jax", "numpy") and name in ("mean", "sum"):
        return _masked_mean if name == "mean" else _masked_sum
    return reduce_fn


@half_precision
def ranking_softmax_loss(
    logits: ArrayT,
    labels: ArrayLike,
    *,
    where: ArrayLike | None = None,
    weights: ArrayLike | None = None,
    reduce_fn: Callable[..., Any] | None = _masked_mean,
) -> ArrayT:
    r"""Listwise softmax ranking loss (``optax.losses.ranking_softmax_loss``).

    Per list (last axis), with relevance labels :math:`y` (times ``weights``):

    .. math::

        \ell = -\sum_{i:\, w_i} y_i \log \frac{e^{s_i}}{\sum_{j:\, w_j} e^{s_j}}

    then ``reduce_fn`` over the lists (default: their mean, over the lists with at least one
    valid item; a NaN mean of NaN-free losses becomes 0, as optax's ``_safe_reduce``).

    Parameters
    ----------
    logits : array
        (..., L) scores, floating.
    labels : array
        (..., L) relevance (cast to the logits' dtype).
    where : array of bool, optional
        (..., L): the valid items. A list without one gives 0.
    weights : array, optional
        Broadcastable with ``labels``; multiplies them.
    reduce_fn : callable or None, default: a mean
        Called as ``reduce_fn(losses, where=valid_lists)`` (``valid_lists`` None without
        ``where``), as in optax. ``jnp.mean``, ``np.mean``, ``jnp.sum`` and ``np.sum`` are
        replaced by backend-neutral equivalents, so ported code runs on any backend. None
        returns the per-list losses (masked lists 0).

    Returns
    -------
    array
        A scalar by default; (...) with ``reduce_fn=None``.

    Notes
    -----
    optax's docstring example: scores [2, 1, 3], labels [1, 0, 0] give 1.408; with the batch
    [[2, 1, 0], [1, 0.5, 1.5]], labels [[1, 0, 0], [0, 0, 1]] and the last item of the first
    list masked, 0.497.

    References
    ----------
    Cao, Qin, Liu, Tsai and Li, "Learning to Rank: From Pairwise Approach to Listwise
    Approach", ICML 2007; Bruch, Wang, Bendersky and Najork, "An Analysis of the Softmax Cross
    Entropy Loss for Learning-to-Rank with Binary Relevance", ICTIR 2019; optax 0.2.8.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import ranking_softmax_loss
    >>> round(float(ranking_softmax_loss(np.array([2.0, 1.0, 3.0]), np.array([1.0, 0.0, 0.0]))), 4)
    1.4076
    """
    loss = "ranking_softmax_loss"
    if reduce_fn is not None and not callable(reduce_fn):
        raise TypeError(f"{loss}: reduce_fn must be callable or None; got {reduce_fn!r}")
    reduce_fn = _named_reduction(reduce_fn)
    xp, s, y, w, weights = _arrays(loss, logits=logits, labels=labels, where=where, weights=weights)
    if s.ndim == 0:
        raise ValueError(f"{loss}: logits is a scalar; expected (..., list size)")
    for value, name in ((y, "labels"), (w, "where"), (weights, "weights")):
        if value is not None:
            _check_broadcast(s, value, "logits", name, loss)
    y = xp.astype(y, s.dtype) if y.dtype != s.dtype else y
    w = _mask(xp, w)
    last = (s.ndim - 1,)
    if w is not None:
        w = xp.broadcast_to(w, tuple(xp.broadcast_arrays(s, y)[0].shape))
        y = xp.where(w, y, xp.zeros_like(y))
    if weights is not None:
        y, weights = promote_floats(xp, y, weights)
        y = y * weights
    lsm = _log_softmax(xp, s, last, w)
    if w is not None:
        lsm = xp.where(w, lsm, xp.zeros_like(lsm))
    per_list = -_msum(xp, y * lsm, last, w)
    valid = None if w is None else xp.any(w, axis=-1)
    if reduce_fn is None:
        return per_list if valid is None else xp.where(valid, per_list, xp.zeros_like(per_list))
    out = reduce_fn(per_list, where=valid)
    if reduce_fn is _masked_mean:
        no_nan_in = xp.logical_not(xp.any(xp.isnan(per_list)))
        out = xp.where(xp.logical_and(xp.isnan(out), no_nan_in), xp.zeros_like(out), out)
    return out


# ------------------------------------------------------------------------------------------
# Regression (optax/losses/_regression.py)
# ------------------------------------------------------------------------------------------


def _errors(loss: str, predictions: Any, targets: Any, strict: bool) -> tuple[Any, Any]:
    xp, p, t = _arrays(loss, predictions=predictions, targets=targets)
    if t is None:
        return xp, p
    if strict:
        _check_shapes_equal(p, t, "predictions", "targets", loss)
    else:
        _check_broadcast(p, t, "predictions", "targets", loss)
    p, t = promote_floats(xp, p, t)
    return xp, p - t


@half_precision
def squared_error(predictions: ArrayT, targets: ArrayLike | None = None) -> ArrayT:
    r"""Squared error, :math:`(p - t)^2`, elementwise (``optax.losses.squared_error``).

    Parameters
    ----------
    predictions : array
        Floating.
    targets : array, optional
        **The same shape** as ``predictions`` (optax checks); None means zeros.

    Returns
    -------
    array
        ``predictions``' shape, unreduced.

    Raises
    ------
    ValueError
        If the shapes differ: (3,) against (3, 1) raises (optax: 'Shape mismatch'), where
        torch's ``mse_loss`` broadcasts to 3 x 3 with a warning (2.3333) and Keras squeezes
        (0.3333) (reference section 3.3).

    References
    ----------
    optax 0.2.8, ``optax/losses/_regression.py``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import squared_error
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> np.round(squared_error(x, np.array([1.5, 2.0, 1.0])), 4).tolist()
    [0.25, 0.0, 4.0]
    """
    xp, d = _errors("squared_error", predictions, targets, strict=True)
    return d * d


@half_precision
def l2_loss(predictions: ArrayT, targets: ArrayLike | None = None) -> ArrayT:
    r"""Half the squared error, :math:`\tfrac12 (p - t)^2` (``optax.losses.l2_loss``).

    Parameters
    ----------
    predictions : array
        Floating.
    targets : array, optional
        The same shape as ``predictions``; None means zeros.

    Returns
    -------
    array
        ``predictions``' shape. Summed it is ``tf.nn.l2_loss`` (2.625 on [[1, -2], [.5, 0]];
        Keras's ``L2(1.0)`` has no 1/2: 5.25, reference section 3.17).

    References
    ----------
    optax 0.2.8, ``optax/losses/_regression.py``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import l2_loss
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> np.round(l2_loss(x, np.array([1.5, 2.0, 1.0])), 4).tolist()  # half the squared error
    [0.125, 0.0, 2.0]
    """
    xp, d = _errors("l2_loss", predictions, targets, strict=True)
    return 0.5 * (d * d)


@half_precision(promoting=("delta",))
def huber_loss(
    predictions: ArrayT, targets: ArrayLike | None = None, *, delta: ArrayLike = 1.0
) -> ArrayT:
    r"""Huber loss, elementwise (``optax.losses.huber_loss``).

    With :math:`e = p - t` and :math:`q = \min(|e|, \delta)`:

    .. math::

        \ell = \tfrac12 q^2 + \delta (|e| - q)

    Parameters
    ----------
    predictions : array
        Floating.
    targets : array, optional
        Broadcastable with ``predictions`` (optax does not check); None means zeros.
    delta : float or array, default 1.0
        An array (0-d, or broadcasting with ``predictions``; traced values included: a
        ``jax.jit`` argument, a ``tf.Variable``) promotes like one and receives a gradient, as
        in optax.

    Returns
    -------
    array
        The broadcast shape, unreduced.

    Notes
    -----
    Equals torch's ``huber_loss(reduction='none')`` (the core :func:`lossbridge.huber_loss`):
    errors [0.5, 1.5, 3] give [0.125, 1.0, 2.5] at delta 1, [0.125, 1.125, 4.0] at delta 2;
    torch's ``smooth_l1_loss`` is Huber / beta; Keras averages the last axis (reference
    section 3.6).

    References
    ----------
    Huber, "Robust Estimation of a Location Parameter", Ann. Math. Statist. 35, 1964; optax
    0.2.8.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import huber_loss
    >>> x = np.array([0.5, 3.0])
    >>> np.round(huber_loss(x, np.zeros(2), delta=1.0), 4).tolist()
    [0.125, 2.5]
    """
    loss = "huber_loss"
    delta = check_real_or_array(delta, "delta", loss=loss, what="the quadratic-to-linear threshold")
    xp, d = _errors(loss, predictions, targets, strict=False)
    (delta,) = _hypers_on(xp, loss, d, "predictions", delta=delta)
    d, delta = promote_floats(xp, d, delta)
    a = d * xp.sign(d)
    q = minimum(xp, a, _fill(xp, a, delta))
    return 0.5 * q * q + delta * (a - q)


@half_precision
def log_cosh(predictions: ArrayT, targets: ArrayLike | None = None) -> ArrayT:
    r"""Log-cosh loss, :math:`\log\cosh(p - t)`, elementwise (``optax.losses.log_cosh``).

    The core :func:`lossbridge.log_cosh_loss` (``reduction='none'``).

    Parameters
    ----------
    predictions : array
        Floating.
    targets : array, optional
        Broadcastable; None means zeros.

    Returns
    -------
    array
        The broadcast shape, unreduced.

    Notes
    -----
    optax computes ``logaddexp(e, -e) - log 2``, which rounds to 0 below
    :math:`|e| \approx 3 \cdot 10^{-4}` in float32; here (and in the core) small errors are exact
    (:math:`e^2 / 2`), so float32 values agree with optax to its own rounding only.

    References
    ----------
    Chen, Tang, Yang and Zhou, "Log Hyperbolic Cosine Loss Improves Variational Auto-Encoder",
    2019; optax 0.2.8.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import log_cosh
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> np.round(log_cosh(x, np.array([1.5, 2.0, 1.0])), 4).tolist()
    [0.1201, 0.0, 1.325]
    """
    from lossbridge.regression import log_cosh_loss

    xp, d = _errors("log_cosh", predictions, targets, strict=False)
    return log_cosh_loss(d, xp.zeros_like(d), reduction="none")


@half_precision(promoting=("epsilon",))
def cosine_similarity(
    predictions: ArrayT,
    targets: ArrayLike,
    *,
    epsilon: ArrayLike = 0.0,
    axis: int | tuple[int, ...] | None = -1,
    where: ArrayLike | None = None,
) -> ArrayT:
    r"""Cosine similarity (**+cos**, not a distance) (``optax.losses.cosine_similarity``).

    .. math::

        \ell = \sum_{k \in \text{axis},\, w_k} \frac{p_k}{\sqrt{\max(\lVert p \rVert^2,
        \epsilon)}} \frac{t_k}{\sqrt{\max(\lVert t \rVert^2, \epsilon)}}

    with the squared norms over the unmasked entries of ``axis``.

    Parameters
    ----------
    predictions, targets : array
        Floating, broadcastable.
    epsilon : float or array, default 0.0
        Lower bound on each **squared** norm. With 0, a zero vector gives **NaN** (0 / 0), as
        optax; torch's ``cosine_similarity`` (eps 1e-8 on each norm) gives 0. An array (0-d,
        or broadcasting with the norms; traced values included) promotes like one.
    axis : int, tuple of int or None, default -1
    where : array of bool, optional
        A fully masked row gives 0 (optax too) with a zero gradient (optax's is NaN).

    Returns
    -------
    array
        The broadcast shape without ``axis``.

    Notes
    -----
    a = [1, 0], b = [1, 1]: 0.7071 here, in optax and torch; Keras's *loss* is -0.7071
    (reference section 3.8).

    References
    ----------
    optax 0.2.8, ``optax/losses/_regression.py``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import cosine_similarity
    >>> a = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> b = np.array([[1.0, 1.0], [0.0, 1.0]])
    >>> np.round(cosine_similarity(a, b), 4).tolist()
    [0.7071, 1.0]
    """
    loss = "cosine_similarity"
    epsilon = check_real_or_array(
        epsilon, "epsilon", loss=loss, what="the lower bound on the squared norms"
    )
    xp, a, b, w = _arrays(loss, predictions=predictions, targets=targets, where=where)
    check_floating(xp, b, f"{loss}: targets")
    _check_broadcast(a, b, "predictions", "targets", loss)
    (epsilon,) = _hypers_on(xp, loss, a, "predictions", epsilon=epsilon)
    a, b, epsilon = promote_floats(xp, a, b, epsilon)
    w = _mask(xp, w)
    ndim = max(a.ndim, b.ndim, 0 if w is None else w.ndim)
    axes = _axes(axis, ndim, loss)

    none_valid = None
    if w is not None:
        shape = tuple(xp.broadcast_arrays(a, b, w)[0].shape)
        none_valid = xp.logical_not(xp.any(xp.broadcast_to(w, shape), axis=axes, keepdims=True))

    def unit(v: Any) -> Any:
        if w is None:
            n2 = xp.sum(v * v, axis=_axes(axis, v.ndim, loss), keepdims=True)
        else:  # jnp.sum(v * v, where=w) broadcasts v against the mask
            v = xp.broadcast_to(v, tuple(xp.broadcast_arrays(v, w)[0].shape))
            n2 = _msum(xp, v * v, _axes(axis, v.ndim, loss), w, keepdims=True)
        clipped = xp.where(n2 > epsilon, n2, _fill(xp, n2, epsilon))
        if none_valid is not None:  # a fully masked row: value 0, finite gradient
            clipped = xp.where(none_valid, xp.ones_like(clipped), clipped)
        return v / xp.sqrt(clipped)

    return _msum(xp, unit(a) * unit(b), axes, w)


@half_precision(promoting=("epsilon",))
def cosine_distance(
    predictions: ArrayT,
    targets: ArrayLike,
    *,
    epsilon: ArrayLike = 0.0,
    axis: int | tuple[int, ...] | None = -1,
    where: ArrayLike | None = None,
) -> ArrayT:
    r"""Cosine distance, :math:`1 - \cos` (``optax.losses.cosine_distance``).

    ``1 - cosine_similarity(...)``; see :func:`cosine_similarity` for the parameters. A zero
    vector gives NaN with the default ``epsilon=0`` (optax); the core
    :func:`lossbridge.cosine_similarity_loss` (torch's per-norm eps) gives 1.

    Parameters
    ----------
    predictions, targets : array
    epsilon : float or array, default 0.0
    axis : int, tuple of int or None, default -1
    where : array of bool, optional

    Returns
    -------
    array
        The broadcast shape without ``axis``; a fully masked row gives 1.

    References
    ----------
    optax 0.2.8, ``optax/losses/_regression.py``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import cosine_distance
    >>> a = np.array([[1.0, 0.0], [0.0, 2.0]])
    >>> b = np.array([[1.0, 1.0], [0.0, 1.0]])
    >>> np.round(cosine_distance(a, b), 4).tolist()
    [0.2929, 0.0]
    """
    similarity: Any = cosine_similarity(
        predictions, targets, epsilon=epsilon, axis=axis, where=where
    )  # Any: mypy would type float - ArrayT as float
    return 1.0 - similarity


# ------------------------------------------------------------------------------------------
# Self-supervised (optax/losses/_self_supervised.py)
# ------------------------------------------------------------------------------------------


@half_precision
def ntxent(embeddings: ArrayT, labels: ArrayLike, temperature: ArrayLike = 0.07) -> ArrayT:
    r"""NT-Xent contrastive loss over a labelled batch (``optax.losses.ntxent``).

    The core :func:`lossbridge.ntxent_loss` (``reduction='mean'``), which follows optax: with
    :math:`s_{ij} = \cos(x_i, x_j) / \tau` (squared norms clipped at the dtype's eps), the
    mean over positive pairs :math:`(i, j)`, :math:`i \ne j`, :math:`y_i = y_j`, of
    :math:`-\log(e^{s_{ij}} / (e^{s_{ij}} + \sum_{k:\, y_k \ne y_i} e^{s_{ik}}))`.

    Parameters
    ----------
    embeddings : array
        (N, D), floating.
    labels : array
        (N,), integer.
    temperature : float or array, default 0.07
        > 0 (checked where the value is concrete: not inside ``jax.jit``, ``tf.function`` or
        ``torch.compile``). An array (0-d, or broadcasting with the (N, N) similarities;
        traced values included) promotes like one and receives a gradient: a learned
        temperature, as with optax.

    Returns
    -------
    array
        Scalar. optax and pytorch-metric-learning's ``NTXentLoss`` agree (8.625684901 on the
        reference's batch, section 3.16).

    References
    ----------
    Chen, Kornblith, Norouzi and Hinton, "A Simple Framework for Contrastive Learning of
    Visual Representations", ICML 2020, arXiv:2002.05709; optax 0.2.8.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import ntxent
    >>> e = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]])
    >>> round(float(ntxent(e, np.array([0, 0, 1, 1]), temperature=0.5)), 4)
    0.4302
    """
    from lossbridge.embedding import _ntxent

    loss = "ntxent"
    temperature = check_real_or_array(
        temperature, "temperature", loss=loss, what="the softmax temperature, > 0"
    )
    return _ntxent(embeddings, labels, temperature, "mean", loss)


@half_precision
def triplet_margin_loss(
    anchors: ArrayT,
    positives: ArrayLike,
    negatives: ArrayLike,
    axis: int = -1,
    norm_degree: ArrayLike = 2,
    margin: ArrayLike = 1.0,
    eps: ArrayLike = 1e-6,
) -> ArrayT:
    r"""Triplet margin loss with optax's distance (``optax.losses.triplet_margin_loss``).

    .. math::

        d(a, b) = \left(\sum_{k \in \text{axis}} (a_k - b_k)^{n} + \epsilon\right)^{1/n},
        \quad \ell = \max(d(a, p) - d(a, n) + \text{margin}, 0)

    Parameters
    ----------
    anchors, positives, negatives : array
        Floating, broadcastable; the embedding along ``axis``.
    axis : int, default -1
    norm_degree : float or 0-d array, default 2
        :math:`n`. The differences are raised to it **without an absolute value** (optax): an
        odd degree can give a negative sum (and NaN for a fractional root).
    margin : float or array, default 1.0
    eps : float or array, default 1e-6
        Added **inside** the power sum (torch adds it to each difference: 0.141421 against
        optax's 0.141424 on the reference's example, section 3.16).

        Array hyperparameters (``margin`` and ``eps`` 0-d or broadcasting with the result;
        traced values included) promote like arrays and receive gradients, as in optax.

    Returns
    -------
    array
        The broadcast shape without ``axis``, unreduced.

    Notes
    -----
    At the hinge's kink the gradient is half the slope (``jnp.maximum`` splits a tie).

    References
    ----------
    Schroff, Kalenichenko and Philbin, "FaceNet: A Unified Embedding for Face Recognition and
    Clustering", CVPR 2015, arXiv:1503.03832; optax 0.2.8.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import triplet_margin_loss
    >>> anchors, positives = np.array([[0.0, 0.0]]), np.array([[1.0, 0.0]])
    >>> negatives = np.array([[0.0, 1.5]])
    >>> np.round(triplet_margin_loss(anchors, positives, negatives), 4).tolist()
    [0.5]
    """
    loss = "triplet_margin_loss"
    norm_degree = check_real_or_array(
        norm_degree, "norm_degree", loss=loss, what="the norm's degree", scalar=True
    )
    margin = check_real_or_array(margin, "margin", loss=loss, what="the margin")
    eps = check_real_or_array(eps, "eps", loss=loss, what="added inside the power sum")
    xp, a, p, n = _arrays(loss, anchors=anchors, positives=positives, negatives=negatives)
    check_floating(xp, p, f"{loss}: positives")
    check_floating(xp, n, f"{loss}: negatives")
    _check_broadcast(a, p, "anchors", "positives", loss)
    _check_broadcast(a, n, "anchors", "negatives", loss)
    (norm_degree,) = _hypers_on(xp, loss, a, "anchors", norm_degree=norm_degree)
    a, p, n, norm_degree = promote_floats(xp, a, p, n, norm_degree)
    ndim = max(a.ndim, p.ndim, n.ndim)
    (ax,) = _axes(axis, ndim, loss)
    degree = norm_degree if isinstance(norm_degree, float) else None  # None: an array

    def power_sum(b: Any) -> Any:
        d = a - b
        if d.ndim < ndim:
            d = xp.broadcast_to(d, tuple(xp.broadcast_arrays(a, p, n)[0].shape))
        if degree == 2.0:
            return xp.sum(d * d, axis=ax)
        return xp.sum(d if degree == 1.0 else xp.pow(d, norm_degree), axis=ax)

    def root(s: Any) -> Any:
        if degree == 2.0:
            return xp.sqrt(s)
        return s if degree == 1.0 else xp.pow(s, 1.0 / norm_degree)

    sp, sn = power_sum(p), power_sum(n)
    margin, eps = _hypers_on(xp, loss, sp, "the distances", margin=margin, eps=eps)
    sp, sn, margin, eps = promote_floats(xp, sp, sn, margin, eps)
    z = root(sp + eps) - root(sn + eps) + margin
    return maximum(xp, z, xp.zeros_like(z))


# ------------------------------------------------------------------------------------------
# Segmentation (optax/losses/_segmentation.py): channels last
# ------------------------------------------------------------------------------------------


def _dice_per_class(
    loss: str,
    predictions: Any,
    targets: Any,
    class_weights: Any,
    smooth: Any,
    alpha: Any,
    beta: Any,
    apply_softmax: Any,
    ignore_background: Any,
    axis: Any,
) -> tuple[Any, Any]:
    """optax's ``dice_loss`` before its reduction over the class axis: ``(xp, per_class)``."""
    smooth = check_real_or_array(
        smooth, "smooth", loss=loss, what="added to numerator and denominator"
    )
    alpha = check_real_or_array(alpha, "alpha", loss=loss, what="the weight of false positives")
    beta = check_real_or_array(beta, "beta", loss=loss, what="the weight of false negatives")
    apply_softmax = _flag(apply_softmax, "apply_softmax", loss)
    ignore_background = _flag(ignore_background, "ignore_background", loss)
    xp, x, t, cw = _arrays(
        loss, predictions=predictions, targets=targets, class_weights=class_weights
    )
    if x.ndim == t.ndim - 1:
        x = xp.expand_dims(x, axis=-1)
    if t.ndim == x.ndim - 1:
        t = xp.expand_dims(t, axis=-1)
    _check_shapes_equal(x, t, "predictions", "targets", loss)
    if x.ndim < 1:
        raise ValueError(f"{loss}: predictions is a scalar; expected (batch, ..., classes)")
    t = xp.astype(t, x.dtype) if t.dtype != x.dtype else t
    if not apply_softmax:
        view = eager_view(xp, x)
        if view is not None:
            vxp, v = view
            sums = vxp.sum(v, axis=-1)
            if bool(vxp.any(vxp.abs(sums - 1.0) > 1e-8 + 1e-5)):
                raise ValueError(
                    f"{loss}: with apply_softmax=False, predictions must be valid probability "
                    "distributions that sum to 1 along the class axis; got sums in "
                    f"[{float(vxp.min(sums)):.6f}, {float(vxp.max(sums)):.6f}]"
                )
        probs = x
    elif int(x.shape[-1]) == 1:
        probs = xp.exp(log_sigmoid(xp, x))
    else:
        probs = xp.exp(_log_softmax(xp, x, (x.ndim - 1,), None))
    axes = tuple(range(1, x.ndim - 1)) if axis is None else _axes(axis, x.ndim, loss)
    inter = xp.sum(probs * t, axis=axes)
    pred_sum = xp.sum(probs, axis=axes)
    target_sum = xp.sum(t, axis=axes)
    hypers = _hypers_on(
        xp, loss, inter, "the per-class loss", smooth=smooth, alpha=alpha, beta=beta
    )
    inter, pred_sum, target_sum, smooth, alpha, beta = promote_floats(
        xp, inter, pred_sum, target_sum, *hypers
    )
    denom = inter + alpha * (pred_sum - inter) + beta * (target_sum - inter) + smooth
    per_class = 1.0 - (inter + smooth) / denom
    if cw is not None:
        if cw.ndim != 1:
            raise ValueError(
                f"{loss}: class_weights has shape {shape_str(cw.shape)}; expected rank 1 (classes,)"
            )
        per_class, cw = promote_floats(xp, per_class, cw)
        per_class = per_class * cw
    if ignore_background and int(x.shape[-1]) > 1:
        per_class = per_class[..., 1:]
    return xp, per_class


def _reduce_classes(xp: Any, loss: Any, reduction: str) -> Any:
    if reduction == "mean":
        return xp.mean(loss, axis=-1)
    if reduction == "sum":
        return xp.sum(loss, axis=-1)
    return loss


@half_precision(promoting=("smooth", "alpha", "beta"))
def dice_loss(
    predictions: ArrayT,
    targets: ArrayLike,
    *,
    class_weights: ArrayLike | None = None,
    smooth: ArrayLike = 1.0,
    alpha: ArrayLike = 0.5,
    beta: ArrayLike = 0.5,
    apply_softmax: bool = True,
    reduction: Reduction = "mean",
    ignore_background: bool = False,
    axis: int | tuple[int, ...] | None = None,
) -> ArrayT:
    r"""Dice (Tversky) loss, channels last (``optax.losses.dice_loss``).

    Per image and class, with :math:`p` the softmax (sigmoid for one channel) of the
    predictions, sums over the spatial axes:

    .. math::

        \ell_c = 1 - \frac{\sum p t + s}{\sum p t + \alpha \sum p (1 - t) + \beta \sum (1 - p) t
        + s}

    then ``reduction`` over the class axis (the last).

    Parameters
    ----------
    predictions : array
        (B, ..., C) logits (probabilities with ``apply_softmax=False``).
    targets : array
        (B, ..., C) one-hot or soft; one dimension fewer on either side adds a trailing
        channel axis (optax).
    class_weights : array, optional
        (C,): multiplies each class's loss.
    smooth : float or array, default 1.0
        Added to numerator and denominator (optax's default; MONAI's is 1e-5).
    alpha, beta : float or array, default 0.5
        Weights of false positives and false negatives (Tversky; 0.5/0.5 is Dice). Like MONAI
        and smp; Keras 3.15's ``tversky`` swaps them (reference section 3.12).

        Array hyperparameters (0-d, or broadcasting with the per-class loss; traced values
        included) promote like arrays and receive gradients, as in optax.
    apply_softmax : bool, default True
        With False the predictions must sum to 1 over the class axis (checked on concrete
        arrays, ``ValueError`` as optax; a one-channel input therefore raises unless it is all
        ones).
    reduction : {'mean', 'sum', 'none'}, default 'mean'
        Over the class axis only: 'mean' gives (B,).
    ignore_background : bool, default False
        Drop class 0 (when C > 1).
    axis : int or tuple of int, optional
        The axes summed; default every axis between the first and the last.

    Returns
    -------
    array
        (B,) for 'mean'/'sum', (B, C) for 'none' (default ``axis``).

    Notes
    -----
    p = [.9, .8, .2, .1], t = [1, 1, 0, 0] as one image of one channel (probabilities):
    exact Dice 0.15 with smooth 0; optax's default smooth 1 gives 0.10 (reference section
    3.12). A class absent from both gives 0 with smooth > 0, NaN with smooth 0 (optax); the
    core :func:`lossbridge.dice_loss` gives 0 there and takes channels on axis 1.

    References
    ----------
    Milletari, Navab and Ahmadi, "V-Net", 3DV 2016, arXiv:1606.04797; Salehi, Erdogmus and
    Gholipour, "Tversky loss function for image segmentation using 3D fully convolutional deep
    networks", MLMI 2017, arXiv:1706.05721; optax 0.2.8, ``optax/losses/_segmentation.py``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import dice_loss
    >>> p = np.array([[[2.0, -1.0], [0.5, 1.0], [-1.0, 2.0]]])  # (1, 3 pixels, 2 classes)
    >>> t = np.array([[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]])
    >>> np.round(dice_loss(p, t), 4).tolist()
    [0.1443]
    """
    loss = "dice_loss"
    check_reduction(reduction)
    xp, per_class = _dice_per_class(
        loss,
        predictions,
        targets,
        class_weights,
        smooth,
        alpha,
        beta,
        apply_softmax,
        ignore_background,
        axis,
    )
    return _reduce_classes(xp, per_class, reduction)


@half_precision(promoting=("smooth",))
def binary_dice_loss(
    predictions: ArrayT, targets: ArrayLike, *, smooth: ArrayLike = 1.0, apply_sigmoid: bool = True
) -> ArrayT:
    r"""Binary Dice loss (``optax.losses.binary_dice_loss``).

    :func:`dice_loss` on one channel (a trailing channel axis is added when the last axis is
    not already of size 1), sigmoid applied, ``reduction='mean'``.

    Parameters
    ----------
    predictions : array
        (B, ...) or (B, ..., 1) logits.
    targets : array
        The same shape, {0, 1}.
    smooth : float or array, default 1.0
    apply_sigmoid : bool, default True
        With False, optax calls ``dice_loss(apply_softmax=False)``, whose sum-to-1 check raises
        for any one-channel input that is not all ones: kept (reference section 1.3).

    Returns
    -------
    array
        (B,).

    References
    ----------
    Milletari et al., 3DV 2016; optax 0.2.8.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import binary_dice_loss
    >>> p = np.array([[2.0, -1.0, 0.5, -3.0]])  # logits of one image, 4 pixels
    >>> t = np.array([[1.0, 0.0, 1.0, 0.0]])
    >>> np.round(binary_dice_loss(p, t), 4).tolist()
    [0.1397]
    """
    loss = "binary_dice_loss"
    xp, x, t = _arrays(loss, predictions=predictions, targets=targets)
    if x.ndim == t.ndim and x.ndim > 0 and int(x.shape[-1]) != 1:
        x = xp.expand_dims(x, axis=-1)
        t = xp.expand_dims(t, axis=-1)
    xp, per_class = _dice_per_class(loss, x, t, None, smooth, 0.5, 0.5, apply_sigmoid, False, None)
    return _reduce_classes(xp, per_class, "mean")


@half_precision(promoting=("smooth",))
def multiclass_generalized_dice_loss(
    predictions: ArrayT,
    targets: ArrayLike,
    *,
    smooth: ArrayLike = 1.0,
    apply_softmax: bool = True,
    ignore_background: bool = False,
) -> ArrayT:
    r"""Generalised Dice loss (``optax.losses.multiclass_generalized_dice_loss``).

    :func:`dice_loss` (``reduction='none'``) with class weights
    :math:`w_c = C \hat w_c / \sum_k \hat w_k`, :math:`\hat w_c = 1 / (f_c^2 + 10^{-7})`,
    :math:`f_c` the class's target mass over the whole batch, then the mean of everything.

    Parameters
    ----------
    predictions : array
        (B, ..., C) logits.
    targets : array
        (B, ..., C), **the same shape** (optax checks).
    smooth : float or array, default 1.0
    apply_softmax : bool, default True
    ignore_background : bool, default False

    Returns
    -------
    array
        Scalar.

    Notes
    -----
    optax weights each class's *loss*; Sudre et al. weight the intersection and union sums
    inside one ratio (MONAI's ``GeneralizedDiceLoss``): different numbers.

    References
    ----------
    Sudre, Li, Vercauteren, Ourselin and Cardoso, "Generalised Dice overlap as a deep learning
    loss function for highly unbalanced segmentations", DLMIA 2017, arXiv:1707.03237; optax
    0.2.8.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge.optax import multiclass_generalized_dice_loss
    >>> p = np.array([[[2.0, -1.0], [0.5, 1.0], [-1.0, 2.0]]])  # (1, 3 pixels, 2 classes)
    >>> t = np.array([[[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]]])
    >>> np.round(multiclass_generalized_dice_loss(p, t), 4).tolist()
    0.1508
    """
    loss = "multiclass_generalized_dice_loss"
    xp, x, t = _arrays(loss, predictions=predictions, targets=targets)
    _check_shapes_equal(x, t, "predictions", "targets", loss)
    t = xp.astype(t, x.dtype) if t.dtype != x.dtype else t
    freq = xp.sum(t, axis=tuple(range(t.ndim - 1)))
    w = 1.0 / (freq * freq + 1e-7)
    w = w / xp.sum(w) * int(w.shape[0])
    xp, per_class = _dice_per_class(
        loss, x, t, w, smooth, 0.5, 0.5, apply_softmax, ignore_background, None
    )
    return xp.mean(per_class)


# make_fenchel_young_loss a public entry ("make_fenchel_young_loss: ..." errors); the losses
# are entries already (half_precision).
name_public_errors(globals())


# ------------------------------------------------------------------------------------------
# Global means (issue 16): lossbridge.mean_denominator(lossbridge.optax.<fn>, ...)
# ------------------------------------------------------------------------------------------

#: The losses whose ``where=`` masks classes (or list items) along ``axis``; a mask with fewer
#: dimensions than the prediction is optax's per-example mask (``jnp.expand_dims``) for those
#: in :data:`_EXPANDING`, broadcast from the right (``jnp.sum(..., where=)``) for the others.
_MASKED = (
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "poly_loss_cross_entropy",
    "kl_divergence",
    "kl_divergence_with_log_targets",
    "generalized_kl_divergence",
    "convex_kl_divergence",
    "ranking_softmax_loss",
)
_EXPANDING = (
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
    "poly_loss_cross_entropy",
)
#: The losses that return unreduced values without a mask: their mean counts every element.
_UNMASKED = (
    "binary_dice_loss",
    "cosine_distance",
    "cosine_similarity",
    "ctc_loss",
    "dice_loss",
    "hinge_loss",
    "huber_loss",
    "l2_loss",
    "log_cosh",
    "multiclass_hinge_loss",
    "multiclass_perceptron_loss",
    "multiclass_sparsemax_loss",
    "perceptron_loss",
    "safe_softmax_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "sigmoid_focal_loss",
    "sparsemax_loss",
    "squared_error",
    "triplet_margin_loss",
)


def _mean_count(name: str, *args: Any, **kwargs: Any) -> Any:
    """``lossbridge.mean_denominator(lossbridge.optax.<name>, *args, **kwargs)``.

    The count a mean of the loss's values would divide by, as a 0-d array of the values'
    framework, device and dtype (float32 for a half one): the number of values whose row has
    a ``where`` entry left in (a row with none gives 0 in optax; ``where`` of the values' shape:
    its True entries), else every value. ``ranking_softmax_loss`` counts the lists its default
    mean averages (those with a valid item).
    """
    fn = globals()[name]
    if "denominator" in kwargs:
        raise TypeError(f"{name}: mean_denominator takes no denominator= (it returns the count)")
    signature = inspect.signature(fn)
    try:
        bound = signature.bind(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{name}: {e}") from None
    if name == "ranking_softmax_loss":
        bound.arguments["reduce_fn"] = None  # the per-list losses the mean averages
    values = fn(*bound.args, **bound.kwargs)
    xp, device = get_namespace(values)
    zero = xp.zeros_like(xp.sum(values))
    if is_half(values, framework_name(values)):
        zero = xp.astype(zero, xp.float32)  # a count above 2048 is not exact in half
    bound.apply_defaults()
    where = bound.arguments.get("where")
    if where is None:
        if None in tuple(values.shape):  # an unknown dimension while tracing
            return zero + xp.sum(xp.ones_like(values, dtype=zero.dtype))
        return zero + float(math.prod(int(d) for d in values.shape))
    x = asarray_on(next(iter(bound.arguments.values())), xp, device)
    w = _mask(xp, asarray_on(where, xp, device))
    if name == "ranking_softmax_loss":
        axes: tuple[int, ...] = (x.ndim - 1,)
        labels = asarray_on(bound.arguments["labels"], xp, device)
        x = xp.broadcast_arrays(x, labels)[0]
    else:
        axes = _axes(bound.arguments.get("axis"), x.ndim, name)
        if name in _EXPANDING:
            w = _expand_where(xp, w, axes, x.ndim)
    w = xp.broadcast_arrays(w, xp.zeros_like(x, dtype=xp.bool))[0]
    valid = xp.any(w, axis=axes)
    valid = xp.broadcast_to(valid, tuple(values.shape))
    return zero + xp.sum(xp.astype(valid, zero.dtype))


#: The losses that reduce their batch themselves: no count for a caller's mean (the message).
_REDUCING = {
    "ntxent": "lossbridge.ntxent_loss(..., denominator=) is the same loss with a global mean",
    "multiclass_generalized_dice_loss": "its class weights come from the whole batch's "
    "class frequencies, so it is not a sum over examples",
}


def _reduces_itself(name: str, *args: Any, **kwargs: Any) -> Any:
    raise ValueError(
        f"{name}: it returns a mean over its batch, not per-example values, so "
        f"mean_denominator has no count for it ({_REDUCING[name]})"
    )


for _name in _REDUCING:
    globals()[_name]._mean_denominator = functools.partial(_reduces_itself, _name)
for _name in (*_MASKED, *_UNMASKED):
    # lossbridge.mean_denominator asks a loss object's _mean_denominator for its count
    globals()[_name]._mean_denominator = functools.partial(_mean_count, _name)
del _name
