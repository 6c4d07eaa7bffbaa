"""Internal helpers: shapes and axes of the TensorFlow array API namespace.

See :mod:`lossbridge.backends.tensorflow` for the design.
"""

from __future__ import annotations

import builtins
import math

import numpy as np
import tensorflow as tf


def _ndim(x):
    r = x.shape.rank
    if r is None:
        raise ValueError("this namespace requires arrays of statically known rank")
    return r


def _dim(x, i):
    """Static size of axis ``i`` if known, else a scalar int32 tensor."""
    d = x.shape[i]
    return d if d is not None else tf.shape(x)[i]


def _dims(x):
    static = x.shape.as_list()
    if all(d is not None for d in static):
        return static
    dyn = tf.shape(x)
    return [d if d is not None else dyn[i] for i, d in enumerate(static)]


def _norm_axis(axis, nd):
    if isinstance(axis, builtins.bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"axis must be an int, got {axis!r}")
    a = int(axis)
    if not -nd <= a < nd:
        raise np.exceptions.AxisError(a, nd)
    return a + nd if a < 0 else a


def _norm_axes(axis, nd):
    """``None`` -> all axes; int or tuple -> sorted-as-given list of non-negative axes."""
    if axis is None:
        return list(range(nd))
    if isinstance(axis, (tuple, list)):
        axes = [_norm_axis(a, nd) for a in axis]
        if len(set(axes)) != len(axes):
            raise ValueError(f"repeated axis in {axis!r}")
        return axes
    return [_norm_axis(axis, nd)]


def _tf_axis(axes, nd):
    """``axes`` (from :func:`_norm_axes`) as TensorFlow's reductions take them fastest.

    ``None`` for every axis and an int for one: eager ``tf.reduce_*`` with a Python list takes
    a slow fallback (``_sum_eager_fallback``: a list-to-tensor conversion per call).
    """
    if len(axes) == nd:
        return None
    if len(axes) == 1:
        return axes[0]
    return axes


def _static_size(x, axes):
    """Product of the sizes of ``axes`` (Python int if static, else a tensor)."""
    dims = [x.shape[a] for a in axes]
    if all(d is not None for d in dims):
        return math.prod(dims)
    shp = tf.shape(x)
    return tf.reduce_prod(tf.gather(shp, axes))


def _iota_along(n, axis, nd, dtype):
    """``arange(n)`` shaped to broadcast along ``axis`` of an ``nd``-dim array."""
    shape = [1] * nd
    shape[axis] = -1
    return tf.reshape(tf.range(n, dtype=dtype), shape)


def _check_nonempty(x, axes, name):
    for a in axes:
        if x.shape[a] == 0:
            raise ValueError(f"{name}: zero-size reduction along axis {a} has no identity")


def _widen_int(x):
    """Integer dtypes that TF lacks kernels for -> int64 (modular arithmetic is preserved)."""
    return tf.cast(x, tf.int64)
