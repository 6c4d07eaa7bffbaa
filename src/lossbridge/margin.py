r"""Margin, ranking and embedding losses, matching ``torch.nn.functional`` (torch 2.13).

Every function takes arrays of any supported framework (NumPy, PyTorch, JAX, TensorFlow,
array-api-strict, ...) and returns an array of the prediction's framework, dtype and device.

Ties at the margin
------------------
torch uses two different rules for :math:`\max(0, z)` at :math:`z = 0`, and each loss here
follows the rule of its torch counterpart, with the same gradient on every backend (``where``
forms; ``maximum`` has a different tie gradient in each framework):

* ``clamp_min(z, 0)`` (hinge_embedding, margin_ranking, cosine_embedding and both triplet
  losses): the gradient passes at :math:`z = 0` (``z >= 0``); NaN propagates with gradient 0.
* The C++ kernels of multi_margin and multilabel_margin add :math:`z` only where
  :math:`z > 0`: the gradient is 0 at :math:`z = 0`, and a NaN :math:`z` adds nothing.
* ``minimum`` (``swap=True``) splits the gradient evenly between equal distances.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import Any

from lossbridge._inputs import arange_like, promote_floats, setup
from lossbridge._precision import half_precision
from lossbridge._primitives import abs0, clamp_min0, log_sigmoid, minimum, softplus
from lossbridge._reduction import reduce
from lossbridge._typing import ArrayLike, ArrayT, Reduction
from lossbridge._validation import (
    check_array_like,
    check_broadcastable,
    check_class_indices,
    check_denominator,
    check_floating,
    check_integer,
    check_range,
    check_real,
    check_real_dtype,
    check_reduction,
    shape_str,
    warn_if_broadcast_grows,
)
from lossbridge.backends import asarray_on, get_namespace, stop_gradient, take_along_axis

__all__ = [
    "cosine_embedding_loss",
    "hinge_embedding_loss",
    "margin_ranking_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "pairwise_distance",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
]

# torch's EPSILON in aten/src/ATen/native/Loss.cpp (cosine_embedding_loss): a C++ float, so
# float32(1e-12) even in float64 (it sets the size of the gradient at a zero vector).
_COSINE_EPS = 9.999999960041972e-13
#: What ``p`` of a norm means, in its error messages.
_NORM_P = (
    "the norm's degree, math.inf for the largest magnitude; torch also takes p <= 0, which is "
    "no norm: p = 0 counts the non-zero entries and has no gradient"
)


# ------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------


def _setup(names: tuple[str, ...], *values: Any) -> tuple[Any, ...]:
    """:func:`lossbridge._inputs.setup` for losses whose first array is not called ``input``.

    Returns ``(xp, device, first, *others)``; errors name the arguments as the caller does
    (``input1``, ``anchor``, ``x1``). The first array decides namespace, device and the float
    dtype of host data, and must be floating.
    """
    for name, value in zip(names, values, strict=True):
        check_array_like(value, name)
    xp, device = get_namespace(*values, names=names)
    first = asarray_on(values[0], xp, device)
    check_floating(xp, first, names[0])
    rest = [asarray_on(v, xp, device, float_dtype=first.dtype) for v in values[1:]]
    for name, value in zip(names[1:], rest, strict=True):
        check_real_dtype(xp, value, name)
    return (xp, device, first, *rest)


def _positive_part(xp: Any, z: Any) -> Any:
    """torch's C++ ``if (z > 0) sum += z``: gradient 0 at ``z == 0``; NaN gives 0."""
    return xp.where(z > 0, z, xp.zeros_like(z))


def _check_sign_target(xp: Any, target: Any, loss: str, name: str = "target") -> None:
    """Targets compared with +-1 must be real numbers (bool is refused, as torch does)."""
    if not xp.isdtype(target.dtype, ("integral", "real floating")):
        raise TypeError(
            f"{loss}: {name} must have an integer or real floating dtype (values 1 and -1); "
            f"got {target.dtype}"
        )


def _check_broadcasts_to(input: Any, other: Any, name: str, loss: str) -> None:
    """Raise ``ValueError`` unless ``other`` broadcasts to ``input``'s shape (not beyond it)."""
    check_broadcastable(input, other, "input", name)
    dims = zip(reversed(tuple(other.shape)), reversed(tuple(input.shape)), strict=False)
    if other.ndim > input.ndim or any(o is not None and o != 1 and i == 1 for o, i in dims):
        raise ValueError(
            f"{loss}: {name} has shape {shape_str(other.shape)}, which does not broadcast to "
            f"input's shape {shape_str(input.shape)}; expected the input's shape or one that "
            "broadcasts to it"
        )


def _same_ndim(arrays: dict[str, Any], loss: str) -> None:
    dims = {name: a.ndim for name, a in arrays.items()}
    if len(set(dims.values())) > 1:
        got = ", ".join(f"{n} {shape_str(a.shape)}" for n, a in arrays.items())
        raise ValueError(
            f"{loss}: {', '.join(arrays)} must have the same number of dimensions; got {got}"
        )


def _broadcast_pairs(arrays: dict[str, Any]) -> None:
    items = list(arrays.items())
    for i, (na, a) in enumerate(items):
        for nb, b in items[i + 1 :]:
            check_broadcastable(a, b, na, nb)


def _col(xp: Any, x: Any) -> Any:
    """``x[:, :, None]`` for a 2-D ``x``."""
    return xp.expand_dims(x, axis=2)


def _row(xp: Any, x: Any) -> Any:
    """``x[:, None, :]`` for a 2-D ``x``."""
    return xp.expand_dims(x, axis=1)


def _p_norm(xp: Any, d: Any, p: float, keepdims: bool) -> Any:
    """p-norm of ``d`` over its last axis with torch's ``norm`` gradient.

    The gradient is ``sign(d) |d|^(p-1) / norm^(p-1)``, and 0 at entries ``d == 0`` and where
    the norm is 0 (torch masks those; the plain formula would give ``0 * inf``). For
    ``p = inf`` the gradient is split evenly between the entries that attain the maximum.
    """
    if d.ndim == 0:
        d = xp.reshape(d, (1,))
        keepdims = False
    if p == 2.0:
        s = xp.sum(d * d, axis=-1, keepdims=keepdims)
        return _safe_root(xp, s, 2.0)
    a = abs0(xp, d)
    if p == 1.0:
        return xp.sum(a, axis=-1, keepdims=keepdims)
    if math.isinf(p):
        if d.shape[-1] == 0:
            return xp.sum(a, axis=-1, keepdims=keepdims)
        m = stop_gradient(xp.max(a, axis=-1, keepdims=True))
        hit = a == m
        count = xp.sum(xp.astype(hit, a.dtype), axis=-1, keepdims=True)
        # m + mean(a - m) over the maxima: exactly the max in value (m carries no gradient),
        # the gradient split between them; an infinite max is not subtracted (inf - inf)
        m_finite = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
        gap = xp.where(hit, a - m_finite, xp.zeros_like(a))
        out = m + xp.sum(gap, axis=-1, keepdims=True) / count
        return out if keepdims else xp.squeeze(out, axis=-1)
    pos = a > 0
    safe = xp.where(pos, a, xp.ones_like(a))
    s = xp.sum(xp.where(pos, safe**p, xp.zeros_like(a)), axis=-1, keepdims=keepdims)
    return _safe_root(xp, s, p)


def _safe_root(xp: Any, s: Any, p: float) -> Any:
    """``s ** (1/p)`` for ``s >= 0`` with gradient 0 (not inf) at ``s == 0``; NaN stays NaN."""
    pos = s > 0
    safe = xp.where(pos, s, xp.ones_like(s))
    root = xp.sqrt(safe) if p == 2.0 else safe ** (1.0 / p)
    return xp.where(pos, root, xp.where(xp.isnan(s), s, xp.zeros_like(s)))


def _distance(xp: Any, x1: Any, x2: Any, p: float, eps: float, keepdim: bool = False) -> Any:
    return _p_norm(xp, x1 - x2 + eps, p, keepdim)


# ------------------------------------------------------------------------------------------
# Soft margins (logistic)
# ------------------------------------------------------------------------------------------


@half_precision
def soft_margin_loss(
    input: ArrayT,
    target: ArrayLike,
    reduction: Reduction = "mean",
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Two-class logistic loss on :math:`\pm 1` targets.

    Same as ``torch.nn.functional.soft_margin_loss`` (torch 2.13):

    .. math::

        \ell = \log\left(1 + e^{-y x}\right)

    computed stably as :math:`\operatorname{softplus}(-y x)`. torch computes
    ``log1p(exp(-y x))``, which in float32 overflows to ``inf`` (gradient NaN) once
    :math:`-y x \gtrsim 88.7`; here the exact value is returned (``x = -100, y = 1`` gives
    ``100.0``, as torch does in float64), with gradient :math:`-y \sigma(-y x)`.

    Parameters
    ----------
    input : array, any shape
        Scores.
    target : array, broadcastable to the shape of ``input``
        Usually 1 or -1; any real values are used as they are.
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements (of ``input`` broadcast with ``target``). Pass the count summed over
        shards (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full
        batch's mean.

    Returns
    -------
    array
        Scalar, or the elementwise loss (the shape and dtype of ``input``) with
        ``reduction='none'``.

    References
    ----------
    PyTorch documentation, ``torch.nn.SoftMarginLoss``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([0.5, -1.0, 2.0])
    >>> y = np.array([1.0, -1.0, -1.0])
    >>> bool(np.isclose(lb.soft_margin_loss(x, y), np.log(1 + np.exp(-y * x)).mean()))
    True
    """
    xp, input, target = setup(input, target=target)
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss="soft_margin_loss")
    _check_sign_target(xp, target, "soft_margin_loss")
    _check_broadcasts_to(input, target, "target", "soft_margin_loss")
    dtype = input.dtype
    x, y = promote_floats(xp, input, target)
    loss = softplus(xp, -y * x)
    if loss.dtype != dtype:  # torch keeps the input's dtype (a float64 target is cast)
        loss = xp.astype(loss, dtype)
    return reduce(xp, loss, reduction, override=over)


@half_precision(autocast_keeps_half=("cpu",))
def multilabel_soft_margin_loss(
    input: ArrayT,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Multi-label one-versus-all logistic loss: the class mean of BCE with logits.

    Same as ``torch.nn.functional.multilabel_soft_margin_loss`` (torch 2.13):

    .. math::

        \ell_n = -\frac{1}{C} \sum_{c=1}^{C} w_c \left[ y_{n,c} \log\sigma(x_{n,c})
        + (1 - y_{n,c}) \log\sigma(-x_{n,c}) \right]

    with stable :math:`\log\sigma` (exact for logits of any size), then reduced over the
    items :math:`n`.

    Parameters
    ----------
    input : array, shape (C,), (N, C) or (N, ..., C)
        Logits; the class axis is the last one.
    target : array, broadcastable to the shape of ``input``
        Targets in [0, 1] (integer 0/1 targets are cast).
    weight : array, broadcastable to the shape of ``input``, optional
        Multiplies each element's loss before the class mean, e.g. shape (C,) for a weight per
        class.
    reduction : {'mean', 'sum', 'none'}
        ``'mean'`` averages the per-item losses :math:`\ell_n`.
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of samples (the elements of ``input`` without its last, class axis; ``weight`` is not
        summed). Pass the count summed over shards (:func:`lossbridge.mean_denominator`) and the
        shards' losses add up to the full batch's mean.

    Returns
    -------
    array
        Scalar, or with ``reduction='none'`` the per-item loss of shape ``input.shape[:-1]``.

    References
    ----------
    PyTorch documentation, ``torch.nn.MultiLabelSoftMarginLoss``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([[0.5, -1.0, 2.0]])
    >>> y = np.array([[1.0, 0.0, 1.0]])
    >>> p = 1 / (1 + np.exp(-x))
    >>> loss = lb.multilabel_soft_margin_loss(x, y)
    >>> bool(np.isclose(loss, -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean()))
    True
    """
    xp, input, target, weight = setup(input, target=target, weight=weight)
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss="multilabel_soft_margin_loss")
    if input.ndim == 0:
        raise ValueError(
            "multilabel_soft_margin_loss: input must have shape (C,), (N, C) or (N, ..., C); "
            "got a 0-d array"
        )
    _check_broadcasts_to(input, target, "target", "multilabel_soft_margin_loss")
    if weight is not None:
        _check_broadcasts_to(input, weight, "weight", "multilabel_soft_margin_loss")
    if weight is not None:
        check_floating(xp, weight, "weight")
    input, target, weight = promote_floats(xp, input, target, weight)
    loss = -(target * log_sigmoid(xp, input) + (1.0 - target) * log_sigmoid(xp, -input))
    if weight is not None:
        loss = loss * weight
    n_classes = input.shape[-1]
    loss = xp.sum(loss, axis=-1) / n_classes
    return reduce(xp, loss, reduction, override=over)


# ------------------------------------------------------------------------------------------
# Multi-class and multi-label hinge losses
# ------------------------------------------------------------------------------------------


def _frames(input: Any, loss: str) -> tuple[int, int]:
    """torch's ``(nframe, dim)`` for (C,) / (N, C) / 0-d inputs, with its shape check."""
    ok = (
        input.ndim == 0
        or (input.ndim == 1 and input.shape[0] != 0)
        or (input.ndim == 2 and input.shape[1] != 0)
    )
    if not ok:
        raise ValueError(
            f"{loss}: input must have shape (C,) or (N, C) with C > 0 (N may be 0), or be "
            f"0-d; got {shape_str(input.shape)}"
        )
    if input.ndim <= 1:
        return 1, (1 if input.ndim == 0 else input.shape[0])
    return input.shape[0], input.shape[1]


@half_precision
def multilabel_margin_loss(
    input: ArrayT,
    target: ArrayLike,
    reduction: Reduction = "mean",
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Multi-label hinge loss with class-index targets padded by -1.

    Same as ``torch.nn.functional.multilabel_margin_loss`` (torch 2.13). ``target[n]`` lists
    the labels of item :math:`n` as class indices; the list ends at the first negative entry
    (-1 padding), whatever follows. With :math:`J_n` the listed labels and :math:`K_n` the
    classes not among them,

    .. math::

        \ell_n = \frac{1}{C} \sum_{j \in J_n} \sum_{k \in K_n}
        \max\left(0,\ 1 - (x_{n,j} - x_{n,k})\right)

    A label listed twice counts twice (as in torch). An item with no labels, or with every
    class listed, has loss 0.

    Parameters
    ----------
    input : array, shape (C,) or (N, C)
        Scores (a 0-d input is one item with one class).
    target : integer array, the shape of ``input``
        Class indices in [0, C) followed by -1 padding. For a (C,) input any 1-D or 0-d
        target with C entries. Every entry must lie in [-1, C), also after the first -1
        (torch's check).
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of samples N (1 for 1-D input). Pass the count summed over shards
        (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full batch's
        mean.

    Returns
    -------
    array
        Scalar, or with ``reduction='none'`` the per-item loss, shape (N,) (a scalar for a
        (C,) input, as in torch).

    Notes
    -----
    Vectorised: the labels before the first -1 are counted per class with one comparison
    against ``arange(C)``, so the cost is :math:`O(N C^2)` work and memory with no loop. The
    hinge adds only where :math:`1 - (x_j - x_k) > 0`, so its gradient is 0 at the tie
    (torch's kernel). Where torch returns uninitialised memory for ``'mean'`` over an empty
    batch (N = 0), this returns NaN (and 0 for ``'sum'``).

    References
    ----------
    PyTorch documentation, ``torch.nn.MultiLabelMarginLoss``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([[0.1, 0.2, 0.4, 0.8]])
    >>> y = np.array([[3, 0, -1, 1]])  # classes 3 and 0; -1 ends the list
    >>> print(round(float(lb.multilabel_margin_loss(x, y)), 4))
    0.85
    """
    xp, input, target = setup(input, target=target)
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss="multilabel_margin_loss")
    n, c = _frames(input, "multilabel_margin_loss")
    if input.ndim <= 1:
        ok = target.ndim <= 1 and math.prod(target.shape) == c
        expected = f"({c},)"
    else:
        ok = tuple(target.shape) == (n, c)
        expected = shape_str((n, c))
    if not ok:
        raise ValueError(
            f"multilabel_margin_loss: target has shape {shape_str(target.shape)} but input has "
            f"shape {shape_str(input.shape)}; expected class indices of shape {expected}"
        )
    check_integer(xp, target, "target", "class indices padded with -1")
    check_range(xp, target, "target", -1, c - 1, what="class indices (or -1 padding)")
    x = xp.reshape(input, (n, c))
    t = xp.reshape(target, (n, c))
    pos = arange_like(xp, c, input)  # positions j of the target list
    first_pad = xp.min(xp.where(t < 0, pos, xp.full_like(pos, c)), axis=1, keepdims=True)
    listed = pos < first_pad  # (n, c): entry j comes before the first negative one
    classes = xp.reshape(arange_like(xp, c, input, dtype=t.dtype), (1, 1, c))
    hits = xp.logical_and(_col(xp, t) == classes, _col(xp, listed))  # (n, j, class)
    count = xp.sum(xp.astype(hits, x.dtype), axis=1)  # (n, class): times each class is listed
    is_label = count > 0
    # z[n, j, k] = 1 - x[n, j] + x[n, k], torch's order of operations
    z = _col(xp, 1.0 - x) + _row(xp, x)
    pairs = xp.logical_and(_col(xp, is_label), _row(xp, xp.logical_not(is_label)))
    h = xp.where(pairs, _positive_part(xp, z), xp.zeros_like(z)) * _col(xp, count)
    loss = xp.sum(xp.sum(h, axis=2), axis=1) / c
    if input.ndim <= 1:
        loss = xp.reshape(loss, ())
    return reduce(xp, loss, reduction, override=over)


@half_precision
def multi_margin_loss(
    input: ArrayT,
    target: ArrayLike,
    p: int = 1,
    margin: float = 1.0,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Multi-class hinge loss (Weston-Watkins), summed over the wrong classes, divided by C.

    Same as ``torch.nn.functional.multi_margin_loss`` (torch 2.13):

    .. math::

        \ell_n = \frac{1}{C} \sum_{i \ne y_n} w_{y_n}
        \max\left(0,\ \text{margin} - x_{n,y_n} + x_{n,i}\right)^p

    Note the division by :math:`C` (the Weston-Watkins sum, not the Crammer-Singer max of
    Keras' ``categorical_hinge`` and optax's ``multiclass_hinge_loss``; reference section 3.9:
    scores [1, 2, 0.5], y = 0 give 2.5 / 3 = 0.8333 here and 2.0 there).

    Parameters
    ----------
    input : array, shape (C,) or (N, C)
        Scores (a 0-d input is one item with one class, loss 0).
    target : integer array, shape (N,) (or () / (1,) for a (C,) input)
        Class indices in [0, C).
    p : {1, 2}, default 1
        Power of the hinge.
    margin : float, default 1.0
    weight : array, shape (C,), optional
        A weight per class, applied through the item's target class. ``'mean'`` still divides
        by N (not by the weights).
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of samples N (``weight`` is not summed). Pass the count summed over shards
        (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full batch's
        mean.

    Returns
    -------
    array
        Scalar, or with ``reduction='none'`` the per-item loss, the shape of ``target``.

    Notes
    -----
    The hinge adds only where :math:`\text{margin} - x_{y} + x_i > 0`, so its gradient is 0
    at the tie (torch's kernel). Unlike torch, ``weight`` gets a gradient. Where torch returns
    uninitialised memory for ``'mean'`` over an empty batch, this returns NaN.

    References
    ----------
    Weston and Watkins, "Support Vector Machines for Multi-Class Pattern Recognition",
    ESANN 1999; PyTorch documentation, ``torch.nn.MultiMarginLoss``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([[1.0, 2.0, 0.5]])
    >>> loss = lb.multi_margin_loss(x, np.array([0]))  # ((1 - 1 + 2) + (1 - 1 + 0.5)) / 3
    >>> print(round(float(loss), 4))
    0.8333
    """
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or p not in (1, 2):
        raise ValueError(f"multi_margin_loss: p must be 1 or 2 (as in torch); got {p!r}")
    margin = check_real(margin, "margin", loss="multi_margin_loss")
    xp, input, target, weight = setup(input, target=target, weight=weight)
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss="multi_margin_loss")
    n, c = _frames(input, "multi_margin_loss")
    if target.ndim > 1 or math.prod(target.shape) != n:
        raise ValueError(
            f"multi_margin_loss: target has shape {shape_str(target.shape)} but input has "
            f"shape {shape_str(input.shape)}; expected class indices of shape ({n},)"
            + (" or ()" if n == 1 else "")
        )
    check_integer(xp, target, "target", "class indices for multi_margin_loss")
    check_class_indices(xp, target, c, None)
    if weight is not None:
        check_floating(xp, weight, "weight")
        if tuple(weight.shape) != (c,):
            raise ValueError(
                f"multi_margin_loss: weight has shape {shape_str(weight.shape)}; expected "
                f"({c},), one weight per class of input {shape_str(input.shape)}"
            )
        input, weight = promote_floats(xp, input, weight)
    x = xp.reshape(input, (n, c))
    t = xp.reshape(target, (n, 1))
    x_y = take_along_axis(xp, x, t, 1)  # (n, 1)
    z = margin - x_y + x  # torch's order of operations
    other = xp.reshape(arange_like(xp, c, input, dtype=t.dtype), (1, c)) != t
    hinge = _positive_part(xp, z)
    if p == 2:
        hinge = hinge * hinge
    h = xp.where(other, hinge, xp.zeros_like(z))
    if weight is not None:
        h = h * xp.reshape(xp.take(weight, xp.reshape(t, (-1,)), axis=0), (n, 1))
    loss = xp.reshape(xp.sum(h, axis=1) / c, tuple(target.shape))
    return reduce(xp, loss, reduction, override=over)


# ------------------------------------------------------------------------------------------
# Embedding and ranking losses
# ------------------------------------------------------------------------------------------


@half_precision
def hinge_embedding_loss(
    input: ArrayT,
    target: ArrayLike,
    margin: float = 1.0,
    reduction: Reduction = "mean",
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Hinge loss on distances for similar (1) and dissimilar (-1) pairs.

    Same as ``torch.nn.functional.hinge_embedding_loss`` (torch 2.13), literally torch's
    formula:

    .. math::

        \ell = [y \ne 1] \max(0, \text{margin} - x) + [y \ne -1]\, x

    so :math:`\ell = x` for :math:`y = 1`, :math:`\max(0, \text{margin} - x)` for
    :math:`y = -1`, and, as in torch, the **sum of both terms** for any other target value
    (0, 0.5, 2, ...). ``input`` is a distance; the loss can be negative for negative inputs
    with :math:`y = 1`.

    Parameters
    ----------
    input : array, any shape
        Distances (or any scores).
    target : array, broadcastable with ``input``
        1 or -1; compared with 1 and -1 only, so its dtype does not affect the result's.
    margin : float, default 1.0
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements (of ``input`` broadcast with ``target``). Pass the count summed over
        shards (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full
        batch's mean.

    Returns
    -------
    array
        Scalar, or the elementwise loss (shape of ``input`` broadcast with ``target``).

    References
    ----------
    Hadsell, Chopra and LeCun, "Dimensionality Reduction by Learning an Invariant Mapping",
    CVPR 2006; PyTorch documentation, ``torch.nn.HingeEmbeddingLoss``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> d = np.array([0.3, 1.2, 0.4])  # distances
    >>> y = np.array([1, -1, -1])
    >>> loss = lb.hinge_embedding_loss(d, y, margin=1.0)
    >>> bool(np.isclose(loss, np.where(y == 1, d, np.maximum(0, 1.0 - d)).mean()))
    True
    """
    margin = check_real(margin, "margin", loss="hinge_embedding_loss")
    xp, input, target = setup(input, target=target)
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss="hinge_embedding_loss")
    _check_sign_target(xp, target, "hinge_embedding_loss")
    check_broadcastable(input, target, "input", "target")
    warn_if_broadcast_grows(input, target, "hinge_embedding_loss")
    zeros = xp.zeros_like(input)
    margin_term = xp.where(target != 1, clamp_min0(xp, margin - input), zeros)
    self_term = xp.where(target != -1, input, zeros)
    return reduce(xp, margin_term + self_term, reduction, override=over)


@half_precision
def margin_ranking_loss(
    input1: ArrayT,
    input2: ArrayLike,
    target: ArrayLike,
    margin: float = 0,
    reduction: Reduction = "mean",
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Pairwise ranking hinge: ``input1`` should rank above ``input2`` where ``target`` is 1.

    Same as ``torch.nn.functional.margin_ranking_loss`` (torch 2.13):

    .. math::

        \ell = \max\left(0,\ -y (x_1 - x_2) + \text{margin}\right)

    Parameters
    ----------
    input1, input2 : array
        Scores. torch's check: ``input1``, ``input2`` and ``target`` must have the same number
        of dimensions; their shapes broadcast.
    target : array
        1 (``input1`` should be larger) or -1; other values scale the difference.
    margin : float, default 0
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements (of the inputs broadcast with ``target``). Pass the count summed over
        shards (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full
        batch's mean.

    Returns
    -------
    array
        Scalar, or the elementwise loss with ``reduction='none'``.

    References
    ----------
    PyTorch documentation, ``torch.nn.MarginRankingLoss``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x1 = np.array([0.8, 0.2])
    >>> x2 = np.array([0.5, 0.6])
    >>> y = np.array([1, 1])  # x1 should rank higher
    >>> loss = lb.margin_ranking_loss(x1, x2, y, margin=0.1)
    >>> bool(np.isclose(loss, np.maximum(0, -y * (x1 - x2) + 0.1).mean()))
    True
    """
    loss_name = "margin_ranking_loss"
    margin = check_real(margin, "margin", loss=loss_name)
    xp, _, input1, input2, target = _setup(("input1", "input2", "target"), input1, input2, target)
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss="margin_ranking_loss")
    _check_sign_target(xp, target, loss_name)
    arrays = {"input1": input1, "input2": input2, "target": target}
    _same_ndim(arrays, loss_name)
    _broadcast_pairs(arrays)
    input1, input2, target = promote_floats(xp, input1, input2, target)
    return reduce(
        xp, clamp_min0(xp, -target * (input1 - input2) + margin), reduction, override=over
    )


def _check_pair_shapes(input1: Any, input2: Any, target: Any, loss_name: str, why: str) -> None:
    """A 0-d or 1-D ``target`` (``why`` says what it holds), inputs with one more dimension
    (the embedding axis), ``input1`` and ``input2`` broadcastable."""
    if target.ndim > 1:
        raise ValueError(
            f"{loss_name}: target must be 0-d or 1-D ({why}); got shape {shape_str(target.shape)}"
        )
    want = target.ndim + 1
    if input1.ndim != want or input2.ndim != want:
        raise ValueError(
            f"{loss_name}: a {target.ndim}-D target expects {want}-D inputs; got input1 "
            f"{shape_str(input1.shape)} and input2 {shape_str(input2.shape)}"
        )
    check_broadcastable(input1, input2, "input1", "input2")


@half_precision
def cosine_embedding_loss(
    input1: ArrayT,
    input2: ArrayLike,
    target: ArrayLike,
    margin: float = 0,
    reduction: Reduction = "mean",
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Cosine-similarity loss for similar (1) and dissimilar (-1) pairs.

    Same as ``torch.nn.functional.cosine_embedding_loss`` (torch 2.13):

    .. math::

        \cos = \frac{x_1 \cdot x_2}{\sqrt{(\lVert x_1 \rVert^2 + \epsilon)
        (\lVert x_2 \rVert^2 + \epsilon)}}, \qquad \epsilon = 10^{-12}

    .. math::

        \ell = \begin{cases} 1 - \cos & y = 1 \\ \max(0, \cos - \text{margin}) & y = -1 \\
        0 & \text{otherwise} \end{cases}

    torch's :math:`\epsilon` (``EPSILON`` in ``Loss.cpp``, a C++ ``float``, so exactly
    ``float32(1e-12)`` = 9.999999960041972e-13 in every dtype) is added to each squared
    magnitude, so a zero vector has :math:`\cos = 0` (loss 1 for :math:`y = 1`, 0 for
    :math:`y = -1` with margin 0), and a large but finite gradient.

    Parameters
    ----------
    input1, input2 : array, shape (N, D) or (D,)
        Embeddings (shapes broadcast; both 2-D with a 1-D target, both 1-D with a 0-d
        target, as torch checks).
    target : array, shape (N,) or ()
        1 or -1 (broadcast against N).
    margin : float, default 0
        Usually in [-1, 1].
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of pairs. Pass the count summed over shards (:func:`lossbridge.mean_denominator`) and
        the shards' losses add up to the full batch's mean.

    Returns
    -------
    array
        Scalar, or with ``reduction='none'`` the per-pair loss, shape (N,) or ().

    References
    ----------
    PyTorch documentation, ``torch.nn.CosineEmbeddingLoss``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x1 = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> x2 = np.array([[1.0, 1.0], [1.0, 0.0]])
    >>> y = np.array([1, -1])  # a similar pair (1 - cos 45 deg), a dissimilar one (max(0, cos))
    >>> print(round(float(lb.cosine_embedding_loss(x1, x2, y)), 4))
    0.1464
    """
    loss_name = "cosine_embedding_loss"
    margin = check_real(margin, "margin", loss=loss_name)
    xp, _, input1, input2, target = _setup(("input1", "input2", "target"), input1, input2, target)
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss="cosine_embedding_loss")
    _check_sign_target(xp, target, loss_name)
    _check_pair_shapes(input1, input2, target, loss_name, "multi-target is not supported")
    input1, input2 = promote_floats(xp, input1, input2)
    prod = xp.sum(input1 * input2, axis=-1)
    mag1 = xp.sum(input1 * input1, axis=-1) + _COSINE_EPS
    mag2 = xp.sum(input2 * input2, axis=-1) + _COSINE_EPS
    cos = prod / xp.sqrt(mag1 * mag2)
    check_broadcastable(cos, target, "the pairs of input1 and input2", "target")
    zeros = xp.zeros_like(cos)
    pos = xp.where(target == 1, 1.0 - cos, zeros)
    neg = xp.where(target == -1, clamp_min0(xp, cos - margin), zeros)
    return reduce(xp, pos + neg, reduction, override=over)


@half_precision(autocast_keeps_half=("cpu",))
def pairwise_distance(
    x1: ArrayT, x2: ArrayLike, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False
) -> ArrayT:
    r"""p-norm distance between the rows of ``x1`` and ``x2``, over the last axis.

    Same as ``torch.nn.functional.pairwise_distance`` (torch 2.13):

    .. math::

        d(x_1, x_2) = \lVert x_1 - x_2 + \epsilon \rVert_p

    Note that ``eps`` is added to the difference (torch's convention; optax adds it inside
    the root instead, reference section 3.16).

    Parameters
    ----------
    x1, x2 : array, shapes that broadcast, (..., D)
    p : float or math.inf, default 2.0
        Must be positive. torch also accepts ``p <= 0`` (``p = 0`` counts the non-zero
        entries, with zero gradient); here those raise ``ValueError``.
    eps : float, default 1e-6
    keepdim : bool, default False
        Keep the reduced axis with size 1 (no effect for 0-d inputs, as in torch).

    Returns
    -------
    array
        Shape ``broadcast(x1, x2).shape[:-1]`` (with a trailing 1 if ``keepdim``).

    Notes
    -----
    The gradient is torch's: :math:`\operatorname{sign}(d) |d|^{p-1} / \lVert d
    \rVert_p^{p-1}`, 0 at entries with :math:`d = 0` and where the norm is 0; for
    ``p = inf`` it is split evenly between the entries attaining the maximum.

    References
    ----------
    PyTorch documentation, ``torch.nn.PairwiseDistance``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x1 = np.array([[0.0, 0.0], [1.0, 1.0]])
    >>> x2 = np.array([[3.0, 4.0], [1.0, 2.0]])
    >>> np.allclose(lb.pairwise_distance(x1, x2, eps=0.0), [5.0, 1.0])
    True
    >>> np.allclose(lb.pairwise_distance(x1, x2, p=1.0, eps=0.0), [7.0, 1.0])
    True
    """
    p = check_real(p, "p", loss="pairwise_distance", what=_NORM_P, low=0.0, strict=True)
    eps = check_real(eps, "eps", loss="pairwise_distance")
    xp, _, x1, x2 = _setup(("x1", "x2"), x1, x2)
    check_broadcastable(x1, x2, "x1", "x2")
    x1, x2 = promote_floats(xp, x1, x2)
    return _distance(xp, x1, x2, p, eps, keepdim)


def _triplet_arrays(
    anchor: Any, positive: Any, negative: Any, loss: str
) -> tuple[Any, Any, Any, Any]:
    xp, _, anchor, positive, negative = _setup(
        ("anchor", "positive", "negative"), anchor, positive, negative
    )
    arrays = {"anchor": anchor, "positive": positive, "negative": negative}
    _same_ndim(arrays, loss)
    _broadcast_pairs(arrays)
    return xp, anchor, positive, negative


@half_precision
def triplet_margin_loss(
    anchor: ArrayT,
    positive: ArrayLike,
    negative: ArrayLike,
    margin: float = 1.0,
    p: float = 2,
    eps: float = 1e-6,
    swap: bool = False,
    reduction: Reduction = "mean",
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Triplet loss: the anchor should be closer to the positive than to the negative.

    Same as ``torch.nn.functional.triplet_margin_loss`` (torch 2.13):

    .. math::

        \ell = \max\left(0,\ \text{margin} + d(a, p) - d(a, n)\right), \qquad
        d(x, y) = \lVert x - y + \epsilon \rVert_p

    (:func:`pairwise_distance` over the last axis). With ``swap``, :math:`d(a, n)` is
    replaced by :math:`\min(d(a, n), d(p, n))` (the distance swap of Balntas et al.).

    Parameters
    ----------
    anchor, positive, negative : array, shape (N, D) or (D,) (any (..., D))
        The same number of dimensions (torch's check); shapes broadcast.
    margin : float, default 1.0
        Must be greater than 0.
    p : float or math.inf, default 2
        Norm degree, positive (torch also accepts p <= 0; see :func:`pairwise_distance`).
    eps : float, default 1e-6
        Added to each difference.
    swap : bool, default False
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of triplets. Pass the count summed over shards (:func:`lossbridge.mean_denominator`)
        and the shards' losses add up to the full batch's mean.

    Returns
    -------
    array
        Scalar, or with ``reduction='none'`` the per-triplet loss, shape (N,) (or ()).

    Notes
    -----
    At :math:`\text{margin} + d(a, p) - d(a, n) = 0` the gradient passes (torch's
    ``clamp_min``); with ``swap`` and equal distances it is split evenly (torch's
    ``minimum``). A NaN ``margin`` is refused (torch lets it through, giving NaN).

    References
    ----------
    Schroff, Kalenichenko and Philbin, "FaceNet: A Unified Embedding for Face Recognition and
    Clustering", CVPR 2015; Balntas, Riba, Ponsa and Mikolajczyk, "Learning local feature
    descriptors with triplets and shallow convolutional neural networks", BMVC 2016 (swap);
    PyTorch documentation, ``torch.nn.TripletMarginLoss``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> anchor = np.array([[0.0, 0.0]])
    >>> positive = np.array([[1.0, 0.0]])  # at distance 1
    >>> negative = np.array([[0.0, 1.5]])  # at distance 1.5
    >>> loss = lb.triplet_margin_loss(anchor, positive, negative, margin=1.0)
    >>> print(round(float(loss), 4))  # max(0, 1 - 1.5 + 1)
    0.5
    """
    loss_name = "triplet_margin_loss"
    margin = check_real(margin, "margin", loss=loss_name, low=0.0, strict=True)
    p = check_real(p, "p", loss=loss_name, what=_NORM_P, low=0.0, strict=True)
    eps = check_real(eps, "eps", loss=loss_name)
    xp, anchor, positive, negative = _triplet_arrays(anchor, positive, negative, loss_name)
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss="triplet_margin_loss")
    anchor, positive, negative = promote_floats(xp, anchor, positive, negative)
    d_pos = _distance(xp, anchor, positive, p, eps)
    d_neg = _distance(xp, anchor, negative, p, eps)
    if swap:
        d_neg = minimum(xp, d_neg, _distance(xp, positive, negative, p, eps))
    return reduce(xp, clamp_min0(xp, margin + d_pos - d_neg), reduction, override=over)


@half_precision(autocast_keeps_half=("cpu",))
def triplet_margin_with_distance_loss(
    anchor: ArrayT,
    positive: ArrayLike,
    negative: ArrayLike,
    *,
    distance_function: Callable[[Any, Any], Any] | None = None,
    margin: float = 1.0,
    swap: bool = False,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Triplet loss with any distance function.

    Same as ``torch.nn.functional.triplet_margin_with_distance_loss`` (torch 2.13):

    .. math::

        \ell = \max\left(0,\ \text{margin} + d(a, p) - d(a, n)\right)

    with :math:`d(a, n)` replaced by :math:`\min(d(a, n), d(p, n))` when ``swap``.

    Parameters
    ----------
    anchor, positive, negative : array
        The same number of dimensions (torch's check); shapes broadcast.
    distance_function : callable, optional
        ``distance_function(x1, x2)`` returning one non-negative distance per pair. It is
        called with the **caller's own arrays** (host data already converted onto the
        anchor's framework and device; dtypes as given), so it may be written with that
        framework's ops or against the array API (e.g. a cosine distance written with the
        namespace of its arguments). Default: :func:`pairwise_distance` with ``p=2``,
        ``eps=1e-6``.
    margin : float, default 1.0
        Must be greater than 0.
    swap : bool, default False
        The distance swap of Balntas et al. (2016).
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of triplets. Pass the count summed over shards (:func:`lossbridge.mean_denominator`)
        and the shards' losses add up to the full batch's mean.

    Returns
    -------
    array
        Scalar, or the per-triplet loss with ``reduction='none'``.

    References
    ----------
    Balntas, Riba, Ponsa and Mikolajczyk, "Learning local feature descriptors with triplets
    and shallow convolutional neural networks", BMVC 2016; PyTorch documentation,
    ``torch.nn.TripletMarginWithDistanceLoss``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> def l1_distance(a, b):
    ...     return np.abs(a - b).sum(axis=-1)
    >>> anchor = np.array([[0.0, 0.0]])
    >>> positive = np.array([[1.0, 1.0]])  # L1 distance 2
    >>> negative = np.array([[2.0, 0.5]])  # L1 distance 2.5
    >>> loss = lb.triplet_margin_with_distance_loss(
    ...     anchor, positive, negative, distance_function=l1_distance, margin=1.0)
    >>> print(round(float(loss), 4))  # max(0, 2 - 2.5 + 1)
    0.5
    """
    loss_name = "triplet_margin_with_distance_loss"
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss="triplet_margin_with_distance_loss")
    margin = check_real(margin, "margin", loss=loss_name, low=0.0, strict=True)
    if distance_function is not None and not callable(distance_function):
        raise TypeError(
            f"{loss_name}: distance_function must be a callable of two arrays or None; got "
            f"{type(distance_function).__name__}"
        )
    xp, anchor, positive, negative = _triplet_arrays(anchor, positive, negative, loss_name)
    if distance_function is None:
        anchor, positive, negative = promote_floats(xp, anchor, positive, negative)

        def distance_function(x1: Any, x2: Any) -> Any:
            return _distance(xp, x1, x2, 2.0, 1e-6)

    d_pos = distance_function(anchor, positive)
    d_neg = distance_function(anchor, negative)
    if swap:
        d_neg = minimum(xp, d_neg, distance_function(positive, negative))
    return reduce(xp, clamp_min0(xp, margin + d_pos - d_neg), reduction, override=over)
