"""Dtypes, constants, promotion and the data type functions of the TensorFlow array API namespace.

See :mod:`lossbridge.backends.tensorflow` for the design.
"""

from __future__ import annotations

import builtins
import functools
import math

import numpy as np
import tensorflow as tf

from ._devices import _place

bool = tf.bool  # noqa: A001
int8 = tf.int8
int16 = tf.int16
int32 = tf.int32
int64 = tf.int64
uint8 = tf.uint8
uint16 = tf.uint16
uint32 = tf.uint32
uint64 = tf.uint64
float32 = tf.float32
float64 = tf.float64
complex64 = tf.complex64
complex128 = tf.complex128
# Extras (not standard dtypes).
float16 = tf.float16
bfloat16 = tf.bfloat16

_STANDARD_DTYPES = {
    "bool": tf.bool,
    "int8": tf.int8,
    "int16": tf.int16,
    "int32": tf.int32,
    "int64": tf.int64,
    "uint8": tf.uint8,
    "uint16": tf.uint16,
    "uint32": tf.uint32,
    "uint64": tf.uint64,
    "float32": tf.float32,
    "float64": tf.float64,
    "complex64": tf.complex64,
    "complex128": tf.complex128,
}
_ALL_DTYPES = frozenset([*_STANDARD_DTYPES.values(), tf.float16, tf.bfloat16])

e = math.e
pi = math.pi
inf = math.inf
nan = math.nan
newaxis = None

_SIGNED_BY_BITS = {8: tf.int8, 16: tf.int16, 32: tf.int32, 64: tf.int64}
# Precision rank of floating dtypes (complex: precision of each component).
_FLOAT_PREC = {
    tf.float16: 16,
    tf.bfloat16: 16,
    tf.float32: 32,
    tf.float64: 64,
    tf.complex64: 32,
    tf.complex128: 64,
}
_DEFAULT_FLOAT = tf.float32
_DEFAULT_COMPLEX = tf.complex64
_DEFAULT_INT = tf.int64
_DEFAULT_INDEX = tf.int64

# ---------------------------------------------------------------------------------------------
# Internal helpers: dtypes
# ---------------------------------------------------------------------------------------------

_PY_SCALARS = (builtins.bool, int, float, complex)


def _is_pyscalar(x):
    """Python bool/int/float/complex (weak); NumPy scalars are *not* weak."""
    return isinstance(x, _PY_SCALARS) and not isinstance(x, np.generic)


def _kind(dt):
    """One of 'b', 'i', 'u', 'f', 'c' for a supported dtype."""
    if dt == tf.bool:
        return "b"
    if dt not in _ALL_DTYPES:
        raise TypeError(f"unsupported dtype for the array API namespace: {dt!r}")
    if dt.is_unsigned:
        return "u"
    if dt.is_integer:
        return "i"
    if dt.is_complex:
        return "c"
    return "f"


def _as_dtype(dtype):
    """Normalise a dtype-like (tf.DType, NumPy dtype, name) to a supported ``tf.DType``."""
    if dtype is None:
        return None
    try:
        dt = tf.as_dtype(dtype)
    except TypeError:
        raise TypeError(f"not a dtype: {dtype!r}") from None
    if dt not in _ALL_DTYPES:
        raise TypeError(f"unsupported dtype for the array API namespace: {dt!r}")
    return dt


def _promote2(a, b):
    """Standard promotion of two dtypes (TypeError where the table is undefined)."""
    if a == b:
        return a
    ka, kb = _kind(a), _kind(b)
    if ka == "b" or kb == "b":
        raise TypeError(f"cannot promote {a.name} and {b.name}: bool only promotes with bool")
    if ka in "iu" and kb in "iu":
        ba, bb = a.size * 8, b.size * 8
        if ka == kb:
            return a if ba >= bb else b
        s_bits, u_bits = (ba, bb) if ka == "i" else (bb, ba)
        if s_bits > u_bits:
            return _SIGNED_BY_BITS[s_bits]
        if u_bits == 64:
            raise TypeError(f"cannot promote {a.name} and {b.name}: no integer dtype holds both")
        return _SIGNED_BY_BITS[2 * u_bits]
    if ka in "iu" or kb in "iu":
        raise TypeError(
            f"cannot promote {a.name} and {b.name}: mixed integer/floating promotion is "
            "disallowed in this namespace; cast explicitly with astype"
        )
    pa, pb = _FLOAT_PREC[a], _FLOAT_PREC[b]
    if "c" in (ka, kb):
        return tf.complex64 if max(pa, pb) <= 32 else tf.complex128
    if pa == pb:  # float16 with bfloat16
        return tf.float32
    return a if pa > pb else b


def _scalar_default_dtype(v):
    if isinstance(v, builtins.bool):
        return tf.bool
    if isinstance(v, int):
        return _DEFAULT_INT
    if isinstance(v, float):
        return _DEFAULT_FLOAT
    return _DEFAULT_COMPLEX


def _check_weak(v, dt):
    """Raise if Python scalar ``v`` may not be combined with arrays of dtype ``dt``."""
    k = _kind(dt)
    if isinstance(v, builtins.bool):
        return
    if isinstance(v, int):
        if k == "b":
            raise TypeError(f"Python int {v!r} cannot be combined with a bool array")
        if k in "iu":
            info = np.iinfo(dt.as_numpy_dtype)
            if not int(info.min) <= v <= int(info.max):
                raise OverflowError(f"Python int {v!r} out of range for {dt.name}")
        return
    if isinstance(v, float):
        if k in "biu":
            raise TypeError(
                f"Python float {v!r} cannot be combined with a {dt.name} array "
                "(no int/float mixing); cast the array to a floating dtype first"
            )
        return
    if k != "c":
        raise TypeError(f"Python complex {v!r} cannot be combined with a {dt.name} array")


def _py_constant(v, dtype=None):
    """``tf.constant`` of a Python scalar, keeping the sign of a negative zero.

    Eager TF caches scalar constants by value, and ``-0.0 == 0.0``: once ``tf.constant(0.0)``
    has run, ``tf.constant(-0.0)`` returns the cached ``+0.0``. Negative zeros (rare) go
    through NumPy, which bypasses the cache; every other scalar keeps the fast cached path.
    """
    parts = (v.real, v.imag) if isinstance(v, complex) else (v,) if isinstance(v, float) else ()
    if builtins.any(p == 0 and math.copysign(1.0, p) < 0 for p in parts):
        a = np.asarray(v)
        return tf.constant(a if dtype is None else a.astype(tf.as_dtype(dtype).as_numpy_dtype))
    return tf.constant(v, dtype=dtype)


def _scalar_const(v, dt):
    _check_weak(v, dt)
    return _py_constant(v, dt)


def _t(x):
    """Any array-like -> ``tf.Tensor`` (Variables are read, keeping gradient flow)."""
    if isinstance(x, tf.Tensor):
        return x
    if isinstance(x, tf.Variable):
        return tf.convert_to_tensor(x)
    from ._creation import asarray  # asarray's own helpers are defined here

    return asarray(x)


def _promote(*args):
    """Convert ``args`` to tensors of one common dtype (Python scalars are weak)."""
    tensors = [None if _is_pyscalar(a) else _t(a) for a in args]
    strong = [t.dtype for t in tensors if t is not None]
    if strong:
        dt = functools.reduce(_promote2, strong)
    else:
        order = {tf.bool: 0, _DEFAULT_INT: 1, _DEFAULT_FLOAT: 2, _DEFAULT_COMPLEX: 3}
        dt = max((_scalar_default_dtype(a) for a in args), key=order.__getitem__)
    out = []
    for a, t in zip(args, tensors, strict=True):
        if t is None:
            out.append(_scalar_const(a, dt))
        elif t.dtype != dt:
            out.append(tf.cast(t, dt))
        else:
            out.append(t)
    return out


_KIND_NAMES = {
    "bool": "b",
    "signed integer": "i",
    "unsigned integer": "u",
    "integral": "iu",
    "real floating": "f",
    "complex floating": "c",
    "numeric": "iufc",
}


def _require(x, kinds, name):
    """Raise TypeError unless ``x.dtype`` is one of the kind letters in ``kinds``."""
    if _kind(x.dtype) not in kinds:
        words = {
            "b": "bool",
            "i": "signed integer",
            "u": "unsigned integer",
            "f": "real floating",
            "c": "complex floating",
        }
        allowed = ", ".join(words[k] for k in kinds)
        raise TypeError(f"{name} requires a {allowed} array, got {x.dtype.name}")


_FLOATING = "fc"
_REAL_FLOATING = "f"
_NUMERIC = "iufc"
_REAL_NUMERIC = "iuf"
_INTEGRAL = "iu"

# ---------------------------------------------------------------------------------------------
# Data type functions
# ---------------------------------------------------------------------------------------------


class _FInfo:
    """Result of :func:`finfo`: ``bits, eps, max, min, smallest_normal, dtype``."""

    __slots__ = ("bits", "eps", "max", "min", "smallest_normal", "dtype")

    def __init__(self, bits, eps, max, min, smallest_normal, dtype):  # noqa: A002
        self.bits, self.eps, self.max, self.min = bits, eps, max, min
        self.smallest_normal, self.dtype = smallest_normal, dtype

    def __repr__(self):
        return (
            f"finfo(bits={self.bits}, eps={self.eps}, max={self.max}, min={self.min}, "
            f"smallest_normal={self.smallest_normal}, dtype={self.dtype.name})"
        )


class _IInfo:
    """Result of :func:`iinfo`: ``bits, max, min, dtype``."""

    __slots__ = ("bits", "max", "min", "dtype")

    def __init__(self, bits, max, min, dtype):  # noqa: A002
        self.bits, self.max, self.min, self.dtype = bits, max, min, dtype

    def __repr__(self):
        return f"iinfo(bits={self.bits}, max={self.max}, min={self.min}, dtype={self.dtype.name})"


def _dtype_of(x):
    """Dtype of a dtype-like or of an array."""
    if isinstance(x, tf.DType):
        return _as_dtype(x)
    if isinstance(x, (tf.Tensor, tf.Variable, np.ndarray, np.generic)):
        return _as_dtype(x.dtype)
    return _as_dtype(x)


def finfo(type, /):  # noqa: A002 - name from the standard
    """Machine limits of a floating dtype (complex: of its real component)."""
    dt = _dtype_of(type)
    if dt == tf.complex64:
        dt = tf.float32
    elif dt == tf.complex128:
        dt = tf.float64
    if dt == tf.bfloat16:
        big = float(tf.bfloat16.max)
        return _FInfo(16, 2.0**-7, big, -big, 2.0**-126, dt)
    if _kind(dt) != "f":
        raise TypeError(f"finfo requires a floating dtype, got {dt.name}")
    i = np.finfo(dt.as_numpy_dtype)
    return _FInfo(
        int(i.bits), float(i.eps), float(i.max), float(i.min), float(i.smallest_normal), dt
    )


def iinfo(type, /):  # noqa: A002 - name from the standard
    """Machine limits of an integer dtype."""
    dt = _dtype_of(type)
    if _kind(dt) not in "iu":
        raise TypeError(f"iinfo requires an integer dtype, got {dt.name}")
    i = np.iinfo(dt.as_numpy_dtype)
    return _IInfo(int(i.bits), int(i.max), int(i.min), dt)


def isdtype(dtype, kind):
    """Whether ``dtype`` is of ``kind`` (a kind name, a dtype, or a tuple of those)."""
    dt = _as_dtype(dtype)
    if isinstance(kind, tuple):
        return any(isdtype(dt, k) for k in kind)
    if isinstance(kind, str):
        try:
            letters = _KIND_NAMES[kind]
        except KeyError:
            raise ValueError(f"unknown dtype kind {kind!r}") from None
        return _kind(dt) in letters
    return dt == _as_dtype(kind)


def result_type(*arrays_and_dtypes):
    """Dtype from applying the promotion rules to arrays, dtypes and (weak) Python scalars.

    Mixed integer/floating and bool/non-bool promotion raise TypeError (see module docs).
    """
    if not arrays_and_dtypes:
        raise ValueError("result_type requires at least one argument")
    strong, weak = [], []
    for a in arrays_and_dtypes:
        if _is_pyscalar(a):
            weak.append(a)
        else:
            strong.append(_dtype_of(a))
    if strong:
        dt = functools.reduce(_promote2, strong)
    else:
        order = {tf.bool: 0, _DEFAULT_INT: 1, _DEFAULT_FLOAT: 2, _DEFAULT_COMPLEX: 3}
        dt = max((_scalar_default_dtype(a) for a in weak), key=order.__getitem__)
    for w in weak:
        _check_weak(w, dt)
    return dt


def can_cast(from_, to, /):
    """Whether ``from_`` promotes to ``to`` under this namespace's promotion rules."""
    src, dst = _dtype_of(from_), _as_dtype(to)
    try:
        return _promote2(src, dst) == dst
    except TypeError:
        return False


def astype(x, dtype, /, *, copy=True, device=None):
    """Cast ``x`` to ``dtype`` (complex -> real raises TypeError; use ``real``/``abs``)."""
    x = _t(x)
    dt = _as_dtype(dtype)
    if _kind(x.dtype) == "c" and _kind(dt) != "c":
        raise TypeError("casting complex to a real dtype is not allowed; use real() or abs()")
    if x.dtype == dt:
        out = tf.identity(x) if copy else x
    else:
        out = tf.cast(x, dt)
    if device is not None:
        out = _place(out, device)
    return out
