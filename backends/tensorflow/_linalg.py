"""Linear algebra functions of the TensorFlow array API namespace.

See :mod:`lossbridge.backends.tensorflow` for the design.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from ._dtypes import _NUMERIC, _kind, _t
from ._elementwise import _binary
from ._shapes import _ndim, _norm_axes, _norm_axis, _widen_int


def _matmul_dtype_ok(dt):
    return dt in (tf.int32, tf.int64) or _kind(dt) in "fc"


def matmul(x1, x2, /):
    """Matrix product with batch broadcasting; 1-D operands as in the standard."""
    a, b = _binary(x1, x2, _NUMERIC, "matmul")
    if _ndim(a) == 0 or _ndim(b) == 0:
        raise ValueError("matmul does not accept 0-d arrays")
    k1, k2 = a.shape[-1], b.shape[0] if _ndim(b) == 1 else b.shape[-2]
    if k1 is not None and k2 is not None and k1 != k2:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} are not aligned")
    dt = a.dtype
    if not _matmul_dtype_ok(dt):  # int8/int16/unsigned: exact modular arithmetic in int64
        a, b = _widen_int(a), _widen_int(b)
    a_vec, b_vec = _ndim(a) == 1, _ndim(b) == 1
    if a_vec:
        a = a[None, :]
    if b_vec:
        b = b[:, None]
    r = tf.linalg.matmul(a, b)
    if a_vec and b_vec:
        r = tf.reshape(r, [])
    elif a_vec:
        r = tf.squeeze(r, [-2])
    elif b_vec:
        r = tf.squeeze(r, [-1])
    return r if r.dtype == dt else tf.cast(r, dt)


def matrix_transpose(x, /):
    """Transpose the last two axes."""
    x = _t(x)
    if _ndim(x) < 2:
        raise ValueError("matrix_transpose requires at least 2 dimensions")
    return tf.linalg.matrix_transpose(x)


def tensordot(x1, x2, /, *, axes=2):
    """Tensor contraction over ``axes`` (an int or a pair of axis sequences)."""
    a, b = _binary(x1, x2, _NUMERIC, "tensordot")
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > min(_ndim(a), _ndim(b)):
            raise ValueError(f"tensordot: invalid axes={axes}")
        ax_a = list(range(_ndim(a) - n, _ndim(a)))
        ax_b = list(range(n))
    else:
        ax_a = _norm_axes(tuple(axes[0]), _ndim(a))
        ax_b = _norm_axes(tuple(axes[1]), _ndim(b))
        if len(ax_a) != len(ax_b):
            raise ValueError("tensordot: axes sequences must have the same length")
    dt = a.dtype
    if not _matmul_dtype_ok(dt):
        a, b = _widen_int(a), _widen_int(b)
    r = tf.tensordot(a, b, [ax_a, ax_b])
    return r if r.dtype == dt else tf.cast(r, dt)


def vecdot(x1, x2, /, *, axis=-1):
    """Dot product ``sum(conj(x1) * x2)`` along ``axis`` (after broadcasting)."""
    a, b = _binary(x1, x2, _NUMERIC, "vecdot")
    nd = max(_ndim(a), _ndim(b))
    ax = _norm_axis(axis, nd)
    da = ([1] * (nd - _ndim(a)) + a.shape.as_list())[ax]
    db = ([1] * (nd - _ndim(b)) + b.shape.as_list())[ax]
    if da is not None and db is not None and da != db:  # the summed axis does not broadcast
        raise ValueError(f"vecdot: x1 and x2 have sizes {da} and {db} along axis {axis}")
    if _kind(a.dtype) == "c":
        a = tf.math.conj(a)
    prod_ = tf.math.multiply(a, b)
    if _kind(prod_.dtype) == "u":
        return tf.cast(tf.math.reduce_sum(_widen_int(prod_), axis=ax), prod_.dtype)
    return tf.math.reduce_sum(prod_, axis=ax)
