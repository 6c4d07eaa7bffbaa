"""Searching and sorting functions of the TensorFlow array API namespace.

See :mod:`lossbridge.backends.tensorflow` for the design.
"""

from __future__ import annotations

import tensorflow as tf

from ._dtypes import _kind, _promote, _require, _t, inf, nan
from ._elementwise import _as_bool
from ._indexing import _index_tensor, _take_along
from ._shapes import _check_nonempty, _dim, _dims, _iota_along, _ndim, _norm_axis


def _arg_extremum(x, axis, keepdims, upper, name):
    x = _t(x)
    _require(x, "biuf", name)
    if x.dtype == tf.bool:
        x = tf.cast(x, tf.int8)
    nd = _ndim(x)
    if axis is None:
        flat = tf.reshape(x, [-1])
        r = _arg_extremum(flat, 0, False, upper, name)
        return tf.reshape(r, [1] * nd) if keepdims else r
    ax = _norm_axis(axis, nd)
    _check_nonempty(x, [ax], name)
    fn = tf.math.reduce_max if upper else tf.math.reduce_min
    hit = tf.equal(x, fn(x, axis=ax, keepdims=True))
    if _kind(x.dtype) == "f":  # first NaN wins, like NumPy
        isn = tf.math.is_nan(x)
        hit = tf.where(tf.math.reduce_any(isn, axis=ax, keepdims=True), isn, hit)
    n = _dim(x, ax)
    iota = _iota_along(n, ax, nd, tf.int64)
    big = tf.cast(n, tf.int64)
    # First occurrence of the extremum (tf.argmax does not guarantee which tie it returns).
    return tf.math.reduce_min(tf.where(hit, iota, big), axis=ax, keepdims=keepdims)


def argmax(x, /, *, axis=None, keepdims=False):
    """Index of the first maximum along ``axis`` (None: flattened); NaN counts as maximal."""
    return _arg_extremum(x, axis, keepdims, True, "argmax")


def argmin(x, /, *, axis=None, keepdims=False):
    """Index of the first minimum along ``axis`` (None: flattened); NaN counts as minimal."""
    return _arg_extremum(x, axis, keepdims, False, "argmin")


def where(condition, x1, x2, /):
    """``x1`` where ``condition`` else ``x2``; branches promoted (Python scalars weakly)."""
    cond = _as_bool(condition)
    a, b = _promote(x1, x2)
    return tf.where(cond, a, b)


def nonzero(x, /):
    """Indices of non-zero elements, one int64 array per axis.

    Data-dependent output shape: works eagerly (and in plain ``tf.function``), not under XLA.
    """
    x = _as_bool(x)
    nd = _ndim(x)
    if nd == 0:
        raise ValueError("nonzero is not defined for 0-d arrays")
    w = tf.where(x)
    return tuple(w[:, i] for i in range(nd))


def searchsorted(x1, x2, /, *, side="left", sorter=None):
    """Insertion indices of ``x2`` into the sorted 1-D ``x1`` (int64)."""
    if side not in ("left", "right"):
        raise ValueError(f"side must be 'left' or 'right', got {side!r}")
    a, v = _promote(x1, x2)
    _require(a, "iuf", "searchsorted")
    if _ndim(a) != 1:
        raise ValueError("searchsorted: x1 must be one-dimensional")
    if sorter is not None:
        a = tf.gather(a, _index_tensor(sorter, "searchsorted"))
    flat = tf.reshape(v, [1, -1])
    r = tf.searchsorted(tf.reshape(a, [1, -1]), flat, side=side, out_type=tf.int64)
    return tf.reshape(r, _dims(v))


def _sort_prep(x, name):
    x = _t(x)
    _require(x, "biuf", name)
    return x


def argsort(x, /, *, axis=-1, descending=False, stable=True):
    """Indices that sort ``x`` along ``axis`` (int64). Always stable.

    NaN sorts as the largest value: last, or first when ``descending``.
    """
    x = _sort_prep(x, "argsort")
    nd = _ndim(x)
    if nd == 0:
        return tf.zeros([], dtype=tf.int64)
    ax = _norm_axis(axis, nd)
    if x.dtype == tf.bool:
        x = tf.cast(x, tf.int8)
    direction = "DESCENDING" if descending else "ASCENDING"
    if _kind(x.dtype) != "f":
        return tf.cast(tf.argsort(x, axis=ax, direction=direction, stable=True), tf.int64)
    isn = tf.math.is_nan(x)
    key = tf.where(isn, tf.zeros_like(x), x)
    i1 = tf.argsort(key, axis=ax, direction=direction, stable=True)
    # Second stable pass moves NaNs to the end (ascending) / front (descending).
    flag = tf.cast(isn if not descending else tf.math.logical_not(isn), tf.int8)
    i2 = tf.argsort(_take_along(flag, i1, ax), axis=ax, stable=True)
    return tf.cast(_take_along(i1, i2, ax), tf.int64)


def sort(x, /, *, axis=-1, descending=False, stable=True):
    """Sorted copy of ``x`` along ``axis``; NaN last (first when ``descending``)."""
    x = _sort_prep(x, "sort")
    nd = _ndim(x)
    if nd == 0:
        return x
    ax = _norm_axis(axis, nd)
    if x.dtype == tf.bool:
        return tf.cast(sort(tf.cast(x, tf.int8), axis=ax, descending=descending), tf.bool)
    if _kind(x.dtype) != "f":
        return tf.sort(x, axis=ax, direction="DESCENDING" if descending else "ASCENDING")
    isn = tf.math.is_nan(x)
    s = tf.sort(tf.where(isn, tf.constant(inf, x.dtype), x), axis=ax, direction="ASCENDING")
    # NaNs were sorted as +inf (to the end): rewrite the last n_nan slots as NaN.
    n = _dim(x, ax)
    n_nan = tf.math.reduce_sum(tf.cast(isn, tf.int32), axis=ax, keepdims=True)
    pos = _iota_along(n, ax, nd, tf.int32)
    s = tf.where(pos >= n - n_nan, tf.constant(nan, x.dtype), s)
    return tf.reverse(s, [ax]) if descending else s
