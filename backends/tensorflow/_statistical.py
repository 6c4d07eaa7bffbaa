"""Statistical and utility functions of the TensorFlow array API namespace.

See :mod:`lossbridge.backends.tensorflow` for the design.
"""

from __future__ import annotations

import builtins

import tensorflow as tf

from ._dtypes import _FLOATING, _REAL_FLOATING, _as_dtype, _kind, _require, _t, nan
from ._elementwise import _as_bool
from ._manipulation import concat
from ._shapes import (
    _check_nonempty,
    _ndim,
    _norm_axes,
    _norm_axis,
    _static_size,
    _tf_axis,
    _widen_int,
)

# `max` is the array API reduction here.
_pymax = builtins.max


def _sum_dtype(dt):
    k = _kind(dt)
    if k in "bi":
        return tf.int64
    if k == "u":
        return tf.uint64
    return dt


def _reduce_with_dtype(x, axis, dtype, keepdims, fn):
    x = _t(x)
    dt = _as_dtype(dtype) or _sum_dtype(x.dtype)
    axes = _norm_axes(axis, _ndim(x))
    ax = _tf_axis(axes, _ndim(x))
    if _kind(dt) == "u":  # no unsigned kernels everywhere; modular int64 arithmetic is exact
        return tf.cast(fn(_widen_int(x), axis=ax, keepdims=keepdims), dt)
    if x.dtype != dt:
        x = tf.cast(x, dt)
    return fn(x, axis=ax, keepdims=keepdims)


def sum(x, /, *, axis=None, dtype=None, keepdims=False):  # noqa: A001
    """Sum over ``axis`` (int, tuple or None). Integers/bool accumulate in int64 (uint64)."""
    return _reduce_with_dtype(x, axis, dtype, keepdims, tf.math.reduce_sum)


def prod(x, /, *, axis=None, dtype=None, keepdims=False):
    """Product over ``axis``. Integers/bool accumulate in int64 (uint64)."""
    return _reduce_with_dtype(x, axis, dtype, keepdims, tf.math.reduce_prod)


def mean(x, /, *, axis=None, keepdims=False):
    """Arithmetic mean over ``axis`` (floating inputs only; empty -> NaN)."""
    x = _t(x)
    _require(x, _FLOATING, "mean")
    nd = _ndim(x)
    return tf.math.reduce_mean(x, axis=_tf_axis(_norm_axes(axis, nd), nd), keepdims=keepdims)


def _extremum(x, axis, keepdims, upper, name):
    x = _t(x)
    _require(x, "biuf", name)
    axes = _norm_axes(axis, _ndim(x))
    _check_nonempty(x, axes, name)
    ax = _tf_axis(axes, _ndim(x))
    k = _kind(x.dtype)
    if k == "b":
        fn = tf.math.reduce_any if upper else tf.math.reduce_all
        return fn(x, axis=ax, keepdims=keepdims)
    fn = tf.math.reduce_max if upper else tf.math.reduce_min
    r = fn(x, axis=ax, keepdims=keepdims)
    if k == "f":  # NumPy semantics: NaN propagates (XLA's reductions drop it)
        has_nan = tf.math.reduce_any(tf.math.is_nan(x), axis=ax, keepdims=keepdims)
        r = tf.where(has_nan, tf.constant(nan, dtype=x.dtype), r)
    return r


def max(x, /, *, axis=None, keepdims=False):  # noqa: A001
    """Maximum over ``axis``; NaN propagates; ValueError for an empty reduction."""
    return _extremum(x, axis, keepdims, True, "max")


def min(x, /, *, axis=None, keepdims=False):  # noqa: A001
    """Minimum over ``axis``; NaN propagates; ValueError for an empty reduction."""
    return _extremum(x, axis, keepdims, False, "min")


def var(x, /, *, axis=None, correction=0.0, keepdims=False):
    """Variance over ``axis`` with ``correction`` (``ddof``) degrees of freedom removed."""
    x = _t(x)
    _require(x, _REAL_FLOATING, "var")
    axes = _norm_axes(axis, _ndim(x))
    n = _static_size(x, axes)
    m = tf.math.reduce_mean(x, axis=axes, keepdims=True)
    d = x - m
    ss = tf.math.reduce_sum(d * d, axis=axes, keepdims=keepdims)
    if isinstance(n, int):
        denom = tf.constant(_pymax(n - correction, 0), dtype=x.dtype)
    else:
        denom = tf.math.maximum(tf.cast(n, x.dtype) - correction, 0)
    return ss / denom


def std(x, /, *, axis=None, correction=0.0, keepdims=False):
    """Standard deviation over ``axis`` (``sqrt(var)``)."""
    return tf.math.sqrt(var(x, axis=axis, correction=correction, keepdims=keepdims))


def _cumulative(x, axis, dtype, include_initial, fn, initial, name):
    x = _t(x)
    nd = _ndim(x)
    if nd == 0:
        raise ValueError(f"{name} requires an array with at least one dimension")
    if axis is None:
        if nd != 1:
            raise ValueError(f"{name}: axis is required for arrays with more than one dimension")
        axis = 0
    ax = _norm_axis(axis, nd)
    dt = _as_dtype(dtype) or _sum_dtype(x.dtype)
    if _kind(dt) == "u":
        r = tf.cast(fn(_widen_int(x), axis=ax), dt)
    else:
        r = fn(tf.cast(x, dt) if x.dtype != dt else x, axis=ax)
    if include_initial:
        pad = [[0, 0]] * nd
        pad[ax] = [1, 0]
        r = tf.pad(r, pad, constant_values=initial)
    return r


def cumulative_sum(x, /, *, axis=None, dtype=None, include_initial=False):
    """Cumulative sum along ``axis`` (optional for 1-D input); ints accumulate in int64."""
    return _cumulative(x, axis, dtype, include_initial, tf.math.cumsum, 0, "cumulative_sum")


def cumulative_prod(x, /, *, axis=None, dtype=None, include_initial=False):
    """Cumulative product along ``axis`` (2024.12); ints accumulate in int64."""
    return _cumulative(x, axis, dtype, include_initial, tf.math.cumprod, 1, "cumulative_prod")


def all(x, /, *, axis=None, keepdims=False):  # noqa: A001
    """Whether all elements along ``axis`` are true (non-zero)."""
    x = _as_bool(x)
    nd = _ndim(x)
    return tf.math.reduce_all(x, axis=_tf_axis(_norm_axes(axis, nd), nd), keepdims=keepdims)


def any(x, /, *, axis=None, keepdims=False):  # noqa: A001
    """Whether any element along ``axis`` is true (non-zero)."""
    x = _as_bool(x)
    nd = _ndim(x)
    return tf.math.reduce_any(x, axis=_tf_axis(_norm_axes(axis, nd), nd), keepdims=keepdims)


def count_nonzero(x, /, *, axis=None, keepdims=False):
    """Number of non-zero elements along ``axis`` (int64; 2024.12)."""
    x = _as_bool(x)
    axes = _norm_axes(axis, _ndim(x))
    return tf.math.reduce_sum(tf.cast(x, tf.int64), axis=axes, keepdims=keepdims)


def diff(x, /, *, axis=-1, n=1, prepend=None, append=None):
    """``n``-th discrete difference along ``axis`` (2024.12)."""
    x = _t(x)
    parts = [p for p in (prepend, x, append) if p is not None]
    if len(parts) > 1:
        x = concat(parts, axis=axis)
    nd = _ndim(x)
    ax = _norm_axis(axis, nd)
    hi = tuple(slice(1, None) if i == ax else slice(None) for i in range(nd))
    lo = tuple(slice(None, -1) if i == ax else slice(None) for i in range(nd))
    for _ in range(n):
        x = tf.math.not_equal(x[hi], x[lo]) if x.dtype == tf.bool else x[hi] - x[lo]
    return x
