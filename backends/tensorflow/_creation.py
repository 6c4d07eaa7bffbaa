"""Creation functions of the TensorFlow array API namespace.

See :mod:`lossbridge.backends.tensorflow` for the design.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import tensorflow as tf

from ._devices import _device_of, _device_scope, _place
from ._dtypes import (
    _DEFAULT_COMPLEX,
    _DEFAULT_FLOAT,
    _DEFAULT_INT,
    _as_dtype,
    _check_weak,
    _is_pyscalar,
    _kind,
    _promote,
    _promote2,
    _py_constant,
    _scalar_const,
    _scalar_default_dtype,
    _t,
)
from ._shapes import _dim, _dims, _ndim


def _contains_tf(obj):
    if isinstance(obj, (tf.Tensor, tf.Variable)):
        return True
    if isinstance(obj, (list, tuple)):
        return any(_contains_tf(o) for o in obj)
    return False


def _all_py_leaves(obj):
    if isinstance(obj, (list, tuple)):
        return all(_all_py_leaves(o) for o in obj)
    return _is_pyscalar(obj)


_NP_KIND_DEFAULT = {"b": tf.bool, "i": _DEFAULT_INT, "u": _DEFAULT_INT, "f": _DEFAULT_FLOAT}


def asarray(obj, /, *, dtype=None, device=None, copy=None):
    """Convert ``obj`` to a ``tf.Tensor``.

    Parameters
    ----------
    obj : tf.Tensor, tf.Variable, NumPy array, Python scalar or nested sequence
        NumPy arrays keep their dtype; Python floats default to float32, ints to int64.
    dtype : dtype, optional
        Cast (or create) with this dtype.
    device : Device or str, optional
        Place the result on this device (``tf.device`` scope + ``tf.identity``).
    copy : bool, optional
        TF tensors are immutable, so copies are unobservable for tensor inputs.
        ``copy=False`` raises ValueError when a dtype change or a host-to-TF conversion
        (NumPy, Python objects) would require a copy.

    Returns
    -------
    tf.Tensor
    """
    dt = _as_dtype(dtype)
    is_tf = isinstance(obj, (tf.Tensor, tf.Variable))
    if copy is False and not is_tf:
        raise ValueError("copy=False: converting a non-TensorFlow object requires a copy")
    with _device_scope(device):
        if isinstance(obj, tf.Variable):
            t = tf.convert_to_tensor(obj)
        elif isinstance(obj, tf.Tensor):
            t = obj
        elif _is_pyscalar(obj):
            if dt is None:
                t = _py_constant(obj, _scalar_default_dtype(obj))
            else:
                try:
                    _check_weak(obj, dt)
                    t = _py_constant(obj, dt)
                except TypeError:  # explicit dtype request: allow an unsafe cast
                    t = tf.cast(_py_constant(obj), dt)
        elif isinstance(obj, (np.ndarray, np.generic)):
            a = np.asarray(obj)
            if dt is not None and a.dtype.kind != "c":
                a = a.astype(dt.as_numpy_dtype)
            t = tf.constant(a)
        elif isinstance(obj, (list, tuple)):
            if _contains_tf(obj):
                t = tf.convert_to_tensor(obj)
            else:
                a = np.asarray(obj)
                if dt is not None and a.dtype.kind != "c":
                    try:  # straight to dt: NumPy holds [2**63 + 1, 1] as float64 otherwise
                        a = np.asarray(obj, dtype=dt.as_numpy_dtype)
                    except (OverflowError, TypeError, ValueError):  # e.g. -1 as uint8: wrap
                        a = a.astype(dt.as_numpy_dtype)
                    t = tf.constant(a)
                elif dt is not None:
                    t = tf.constant(a)
                elif _all_py_leaves(obj):
                    target = _NP_KIND_DEFAULT.get(a.dtype.kind, _DEFAULT_COMPLEX)
                    t = tf.constant(a.astype(target.as_numpy_dtype))
                else:
                    t = tf.constant(a)
        elif hasattr(obj, "__tf_tensor__"):  # e.g. Keras 3 variables
            t = tf.convert_to_tensor(obj)
        else:
            t = tf.constant(np.asarray(obj))
        _kind(t.dtype)  # reject strings, resources, quantized...
        if dt is not None and t.dtype != dt:
            if copy is False:
                raise ValueError("copy=False: changing the dtype requires a copy")
            t = tf.cast(t, dt)
        if device is not None or copy is True:
            t = tf.identity(t)
    return t


def _shape_list(shape):
    if isinstance(shape, (int, np.integer)):
        return [int(shape)]
    return list(shape)


def zeros(shape, *, dtype=None, device=None):
    """Array of zeros (default dtype float32)."""
    with _device_scope(device):
        return tf.zeros(_shape_list(shape), dtype=_as_dtype(dtype) or _DEFAULT_FLOAT)


def ones(shape, *, dtype=None, device=None):
    """Array of ones (default dtype float32)."""
    with _device_scope(device):
        return tf.ones(_shape_list(shape), dtype=_as_dtype(dtype) or _DEFAULT_FLOAT)


def empty(shape, *, dtype=None, device=None):
    """Uninitialised array (zeros in TensorFlow)."""
    return zeros(shape, dtype=dtype, device=device)


def full(shape, fill_value, *, dtype=None, device=None):
    """Array filled with ``fill_value`` (dtype from a Python scalar: default dtypes)."""
    dt = _as_dtype(dtype)
    with _device_scope(device):
        if _is_pyscalar(fill_value):
            value = _scalar_const(fill_value, dt or _scalar_default_dtype(fill_value))
        else:
            value = _t(fill_value)
            if dt is not None and value.dtype != dt:
                value = tf.cast(value, dt)
        return tf.fill(_shape_list(shape), value)


def _like_device(x, dev):
    return dev if dev is not None else _device_of(x)


def zeros_like(x, /, *, dtype=None, device=None):
    """Zeros with the shape of ``x`` (dtype and device default to those of ``x``)."""
    x = _t(x)
    with _device_scope(_like_device(x, device)):
        return tf.zeros_like(x, dtype=_as_dtype(dtype) or x.dtype)


def ones_like(x, /, *, dtype=None, device=None):
    """Ones with the shape of ``x`` (dtype and device default to those of ``x``)."""
    x = _t(x)
    with _device_scope(_like_device(x, device)):
        return tf.ones_like(x, dtype=_as_dtype(dtype) or x.dtype)


def empty_like(x, /, *, dtype=None, device=None):
    """Uninitialised array like ``x`` (zeros in TensorFlow)."""
    return zeros_like(x, dtype=dtype, device=device)


def full_like(x, /, fill_value, *, dtype=None, device=None):
    """Array like ``x`` filled with ``fill_value`` (dtype defaults to that of ``x``)."""
    x = _t(x)
    dt = _as_dtype(dtype) or x.dtype
    with _device_scope(_like_device(x, device)):
        if _is_pyscalar(fill_value):
            value = _scalar_const(fill_value, dt)
        else:
            value = tf.cast(_t(fill_value), dt)
        return tf.fill(_dims(x), value)


#: The dtypes TensorFlow's ``Range`` kernel takes on every device (no uint*, int8 or int16).
_RANGE_DTYPES = (tf.int32, tf.int64, tf.float32, tf.float64)


def _range(start, stop, step, dt):
    """``tf.range`` in ``dt``, through int64 / float64 where ``Range`` has no kernel for it."""
    if dt in _RANGE_DTYPES:
        return tf.range(start, stop, step, dtype=dt)
    wide = tf.float64 if _kind(dt) in "fc" else tf.int64
    return tf.cast(tf.range(*(tf.cast(a, wide) for a in (start, stop, step)), dtype=wide), dt)


def arange(start, /, stop=None, step=1, *, dtype=None, device=None):
    """Evenly spaced values in ``[start, stop)`` (ints -> int64, floats -> float32)."""
    if stop is None:
        start, stop = 0, start
    args = (start, stop, step)
    dt = _as_dtype(dtype)
    with _device_scope(device):
        if all(_is_pyscalar(a) for a in args):
            if step == 0:
                raise ValueError("arange: step must not be zero")
            is_float = any(isinstance(a, float) for a in args)
            if dt is None:
                dt = _DEFAULT_FLOAT if is_float else _DEFAULT_INT
            if not is_float and _kind(dt) in "iu":
                if -((start - stop) // step) <= 0:  # empty (TF's Range raises instead)
                    return tf.zeros([0], dt)
                return _range(start, stop, step, dt)
            n = max(math.ceil((stop - start) / step), 0)
            vals = tf.range(n, dtype=tf.float64) * float(step) + float(start)
            return tf.cast(vals, dt)
        ts = [_t(a) for a in args]
        if dt is None:
            dt = functools.reduce(_promote2, [a.dtype for a in ts])
        return _range(*[tf.cast(a, dt) for a in ts], dt)


def eye(n_rows, n_cols=None, /, *, k=0, dtype=None, device=None):
    """2-D array with ones on the ``k``-th diagonal."""
    n_cols = n_rows if n_cols is None else n_cols
    dt = _as_dtype(dtype) or _DEFAULT_FLOAT
    with _device_scope(device):
        if not -n_rows < k < n_cols:  # the diagonal is outside (k may not fit in int32)
            return tf.zeros((n_rows, n_cols), dt)
        r = tf.range(n_rows)[:, None]
        c = tf.range(n_cols)[None, :]
        return tf.cast(tf.equal(c - r, k), dt)


def linspace(start, stop, /, num, *, dtype=None, device=None, endpoint=True):
    """``num`` evenly spaced samples over ``[start, stop]`` (computed in float64)."""
    is_complex = isinstance(start, complex) or isinstance(stop, complex)
    dt = _as_dtype(dtype) or (_DEFAULT_COMPLEX if is_complex else _DEFAULT_FLOAT)
    work = tf.complex128 if (is_complex or _kind(dt) == "c") else tf.float64
    with _device_scope(device):
        if num < 0:
            raise ValueError("linspace: num must be non-negative")
        # Python numbers straight into the float64 work dtype (not through float32)
        s = _py_constant(start, work) if _is_pyscalar(start) else tf.cast(_t(start), work)
        p = _py_constant(stop, work) if _is_pyscalar(stop) else tf.cast(_t(stop), work)
        div = num - 1 if endpoint else num
        i = tf.cast(tf.range(num, dtype=tf.float64), work)
        if div > 0:
            vals = s + i * ((p - s) / tf.cast(div, work))
            if endpoint:
                vals = tf.concat([vals[:-1], tf.reshape(p, [1])], axis=0)
        else:
            vals = s + i * tf.cast(0, work)
        return tf.cast(vals, dt)


def meshgrid(*arrays, indexing="xy"):
    """Coordinate matrices from 1-D arrays (``indexing`` 'xy' or 'ij'); returns a list."""
    if indexing not in ("xy", "ij"):
        raise ValueError(f"indexing must be 'xy' or 'ij', got {indexing!r}")
    if not arrays:
        return []
    ts = _promote(*arrays)
    return list(tf.meshgrid(*ts, indexing=indexing))


def _tri_mask(x, k, lower):
    nd = _ndim(x)
    if nd < 2:
        raise ValueError("tril/triu require at least 2 dimensions")
    r = tf.range(_dim(x, -2))[:, None]
    c = tf.range(_dim(x, -1))[None, :]
    return (c - r) <= k if lower else (c - r) >= k


def tril(x, /, *, k=0):
    """Lower triangle of the last two axes (elements above the ``k``-th diagonal zeroed)."""
    x = _t(x)
    return tf.where(_tri_mask(x, k, True), x, tf.zeros_like(x))


def triu(x, /, *, k=0):
    """Upper triangle of the last two axes (elements below the ``k``-th diagonal zeroed)."""
    x = _t(x)
    return tf.where(_tri_mask(x, k, False), x, tf.zeros_like(x))


def from_dlpack(x, /, *, device=None, copy=None):
    """Array from an object supporting DLPack (``__dlpack__``)."""
    if isinstance(x, (tf.Tensor, tf.Variable)):
        return asarray(x, device=device, copy=copy)
    if not hasattr(x, "__dlpack__"):
        raise TypeError(f"{type(x).__name__} does not support DLPack")
    t = tf.experimental.dlpack.from_dlpack(x.__dlpack__())
    if device is not None or copy:
        t = _place(t, device) if device is not None else tf.identity(t)
    return t
