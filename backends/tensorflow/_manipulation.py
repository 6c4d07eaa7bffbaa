"""Manipulation functions of the TensorFlow array API namespace.

See :mod:`lossbridge.backends.tensorflow` for the design.
"""

from __future__ import annotations

import builtins
import functools
import math

import numpy as np
import tensorflow as tf

from ._creation import _shape_list
from ._dtypes import _promote, _t
from ._shapes import _dims, _ndim, _norm_axes, _norm_axis


def _broadcast_shape(ts):
    static = functools.reduce(tf.broadcast_static_shape, [t.shape for t in ts])
    if static.is_fully_defined():
        return static.as_list()
    return functools.reduce(tf.broadcast_dynamic_shape, [tf.shape(t) for t in ts])


def broadcast_arrays(*arrays):
    """Broadcast arrays against each other; returns a list."""
    ts = [_t(a) for a in arrays]
    if not ts:
        return []
    shape = _broadcast_shape(ts)
    out = []
    for t in ts:
        if isinstance(shape, list) and t.shape.as_list() == shape:
            out.append(t)
        else:
            out.append(tf.broadcast_to(t, shape))
    return out


def broadcast_to(x, /, shape):
    """Broadcast ``x`` to ``shape`` (ValueError if incompatible, when statically known)."""
    x = _t(x)
    shape = _shape_list(shape)
    if all(isinstance(d, (int, np.integer)) for d in shape):
        target = tf.TensorShape([int(d) for d in shape])
        try:
            res = tf.broadcast_static_shape(x.shape, target)
        except ValueError:
            res = None
        if res is None or _ndim(x) > len(shape) or res.as_list() != target.as_list():
            raise ValueError(f"cannot broadcast shape {x.shape} to {tuple(shape)}")
    return tf.broadcast_to(x, shape)


def concat(arrays, /, *, axis=0):
    """Join arrays along ``axis`` (``axis=None`` flattens first); inputs are promoted."""
    if not arrays:
        raise ValueError("concat requires at least one array")
    ts = _promote(*arrays)
    if axis is None:
        return tf.concat([tf.reshape(t, [-1]) for t in ts], axis=0)
    nd = _ndim(ts[0])
    if nd == 0:
        raise ValueError("concat requires arrays with at least one dimension")
    return tf.concat(ts, axis=_norm_axis(axis, nd))


def expand_dims(x, /, axis=0):
    """Insert size-1 axes at ``axis`` (an int or a tuple of positions in the output)."""
    x = _t(x)
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    out_nd = _ndim(x) + len(axes)
    norm = sorted(_norm_axes(axes, out_nd))
    for a in norm:
        x = tf.expand_dims(x, a)
    return x


def flip(x, /, *, axis=None):
    """Reverse the order of elements along ``axis`` (None: all axes)."""
    x = _t(x)
    axes = _norm_axes(axis, _ndim(x))
    return tf.reverse(x, axes) if axes else x


def permute_dims(x, /, axes):
    """Permute the axes of ``x``."""
    x = _t(x)
    nd = _ndim(x)
    perm = _norm_axes(tuple(axes), nd)
    if len(perm) != nd:
        raise ValueError(f"axes {axes!r} is not a permutation of {nd} axes")
    return tf.transpose(x, perm)


def moveaxis(x, source, destination, /):
    """Move axes ``source`` to positions ``destination``."""
    x = _t(x)
    nd = _ndim(x)
    src = _norm_axes(source, nd)
    dst = _norm_axes(destination, nd)
    if len(src) != len(dst):
        raise ValueError("source and destination must have the same number of axes")
    order = [i for i in range(nd) if i not in src]
    for d, s in sorted(zip(dst, src, strict=True)):
        order.insert(d, s)
    return tf.transpose(x, order) if order != list(range(nd)) else x


def reshape(x, /, shape, *, copy=None):
    """Reshape ``x`` (one dimension may be -1). Tensors are immutable: ``copy`` is moot.

    TF extension: a single ``None`` (as in ``tuple(t.shape)`` of a traced tensor whose batch
    size is unknown) is treated as -1.
    """
    x = _t(x)
    shape = _shape_list(shape)
    n_none = sum(1 for d in shape if d is None)
    if n_none:
        if n_none > 1 or any(isinstance(d, int) and d == -1 for d in shape):
            raise ValueError(f"reshape: cannot infer more than one dimension in {shape}")
        shape = [-1 if d is None else d for d in shape]
    if x.shape.is_fully_defined() and all(isinstance(d, (int, np.integer)) for d in shape):
        size = x.shape.num_elements()
        known = math.prod(int(d) for d in shape if d != -1)
        n_unknown = sum(1 for d in shape if d == -1)
        if n_unknown == 0:
            ok = known == size
        else:
            ok = n_unknown == 1 and known != 0 and size % known == 0
        if not ok:
            raise ValueError(f"cannot reshape array of shape {x.shape} into {tuple(shape)}")
    out = tf.reshape(x, shape)
    return tf.identity(out) if copy else out


def roll(x, /, shift, *, axis=None):
    """Roll elements along ``axis`` (None: the flattened array, then reshaped back)."""
    x = _t(x)
    if axis is None:
        shifts = shift if isinstance(shift, (tuple, list)) else (shift,)
        flat = tf.reshape(x, [-1])
        if flat.shape[0] == 0:
            return x
        return tf.reshape(tf.roll(flat, sum(shifts), axis=0), _dims(x))
    axes = _norm_axes(tuple(axis) if isinstance(axis, (tuple, list)) else axis, _ndim(x))
    shifts = list(shift) if isinstance(shift, (tuple, list)) else [shift] * len(axes)
    if len(shifts) != len(axes):
        raise ValueError("shift and axis must have the same length")
    keep = [(s, a) for s, a in zip(shifts, axes, strict=True) if x.shape[a] != 0]
    if not keep:
        return x
    return tf.roll(x, [s for s, _ in keep], [a for _, a in keep])


def squeeze(x, /, axis):
    """Remove size-1 axes ``axis`` (int or tuple; ValueError if a size is not 1)."""
    x = _t(x)
    axes = _norm_axes(axis, _ndim(x))
    for a in axes:
        if x.shape[a] is not None and x.shape[a] != 1:
            raise ValueError(f"cannot squeeze axis {a} of size {x.shape[a]}")
    if not axes:  # tf.squeeze(axis=[]) would squeeze every size-1 axis
        return x
    return tf.squeeze(x, axes)


def stack(arrays, /, *, axis=0):
    """Join arrays along a new ``axis``; inputs are promoted."""
    if not arrays:
        raise ValueError("stack requires at least one array")
    ts = _promote(*arrays)
    return tf.stack(ts, axis=_norm_axis(axis, _ndim(ts[0]) + 1))


def tile(x, repetitions, /):
    """Repeat ``x`` ``repetitions`` times along each axis (2024.12)."""
    x = _t(x)
    reps = list(repetitions)
    nd = _ndim(x)
    if len(reps) < nd:
        reps = [1] * (nd - len(reps)) + reps
    elif len(reps) > nd:
        x = tf.reshape(x, [1] * (len(reps) - nd) + _dims(x))
    if x.dtype == tf.uint16:  # no uint16 Tile kernel
        return tf.cast(tf.tile(tf.cast(x, tf.int32), reps), tf.uint16)
    return tf.tile(x, reps)


def repeat(x, repeats, /, *, axis=None):
    """Repeat each element ``repeats`` times along ``axis`` (None: flattened).

    An integer ``repeats`` is XLA-compatible; an array ``repeats`` gives a data-dependent
    shape (eager / plain ``tf.function`` only).
    """
    x = _t(x)
    if axis is None:
        x = tf.reshape(x, [-1])
        axis = 0
    nd = _ndim(x)
    ax = _norm_axis(axis, nd)
    if isinstance(repeats, (int, np.integer)) and not isinstance(repeats, builtins.bool):
        r = int(repeats)
        if r < 0:
            raise ValueError("repeats must be non-negative")
        dims = _dims(x)
        y = tf.expand_dims(x, ax + 1)
        mult = [1] * (nd + 1)
        mult[ax + 1] = r
        y = tile(y, mult)
        new = list(dims)
        new[ax] = dims[ax] * r
        return tf.reshape(y, new)
    return tf.repeat(x, tf.cast(_t(repeats), tf.int64), axis=ax)


def unstack(x, /, *, axis=0):
    """Split ``x`` into a tuple of arrays along ``axis`` (its size must be static)."""
    x = _t(x)
    return tuple(tf.unstack(x, axis=_norm_axis(axis, _ndim(x))))
