"""Element-wise functions of the TensorFlow array API namespace.

See :mod:`lossbridge.backends.tensorflow` for the design.
"""

from __future__ import annotations

import math

import tensorflow as tf

from ._dtypes import (
    _FLOATING,
    _INTEGRAL,
    _NUMERIC,
    _REAL_FLOATING,
    _REAL_NUMERIC,
    _is_pyscalar,
    _kind,
    _promote,
    _require,
    _t,
    inf,
)
from ._shapes import _widen_int


def _unary(x, fn, kinds, name):
    x = _t(x)
    _require(x, kinds, name)
    return fn(x)


def abs(x, /):  # noqa: A001
    """Absolute value (complex: magnitude, real dtype)."""
    x = _t(x)
    _require(x, _NUMERIC, "abs")
    if _kind(x.dtype) == "u":
        return x
    return tf.math.abs(x)


def acos(x, /):
    """Inverse cosine."""
    return _unary(x, tf.math.acos, _FLOATING, "acos")


def acosh(x, /):
    """Inverse hyperbolic cosine."""
    return _unary(x, tf.math.acosh, _FLOATING, "acosh")


def asin(x, /):
    """Inverse sine."""
    return _unary(x, tf.math.asin, _FLOATING, "asin")


def asinh(x, /):
    """Inverse hyperbolic sine."""
    return _unary(x, tf.math.asinh, _FLOATING, "asinh")


def atan(x, /):
    """Inverse tangent."""
    return _unary(x, tf.math.atan, _FLOATING, "atan")


def atanh(x, /):
    """Inverse hyperbolic tangent."""
    return _unary(x, tf.math.atanh, _FLOATING, "atanh")


def cos(x, /):
    """Cosine."""
    return _unary(x, tf.math.cos, _FLOATING, "cos")


def cosh(x, /):
    """Hyperbolic cosine."""
    return _unary(x, tf.math.cosh, _FLOATING, "cosh")


def sin(x, /):
    """Sine."""
    return _unary(x, tf.math.sin, _FLOATING, "sin")


def sinh(x, /):
    """Hyperbolic sine."""
    return _unary(x, tf.math.sinh, _FLOATING, "sinh")


def tan(x, /):
    """Tangent."""
    return _unary(x, tf.math.tan, _FLOATING, "tan")


def tanh(x, /):
    """Hyperbolic tangent."""
    return _unary(x, tf.math.tanh, _FLOATING, "tanh")


def exp(x, /):
    """Exponential."""
    return _unary(x, tf.math.exp, _FLOATING, "exp")


def expm1(x, /):
    """``exp(x) - 1`` accurate near zero."""
    return _unary(x, tf.math.expm1, _FLOATING, "expm1")


def log(x, /):
    """Natural logarithm."""
    return _unary(x, tf.math.log, _FLOATING, "log")


def log1p(x, /):
    """``log(1 + x)`` accurate near zero."""
    return _unary(x, tf.math.log1p, _FLOATING, "log1p")


def _over_real(z, c):
    """``z / c`` for a real constant ``c``; complex ``z`` part by part, so that ``-inf + 0j``
    stays ``-inf + 0j`` (a complex division would make it ``-inf + nan j``)."""
    if _kind(z.dtype) == "c":
        r = tf.constant(c, dtype=z.dtype.real_dtype)
        return tf.complex(tf.math.real(z) / r, tf.math.imag(z) / r)
    return z / tf.constant(c, dtype=z.dtype)


def log2(x, /):
    """Base-2 logarithm."""
    return _over_real(_unary(x, tf.math.log, _FLOATING, "log2"), math.log(2.0))


def log10(x, /):
    """Base-10 logarithm."""
    return _over_real(_unary(x, tf.math.log, _FLOATING, "log10"), math.log(10.0))


def sqrt(x, /):
    """Square root."""
    return _unary(x, tf.math.sqrt, _FLOATING, "sqrt")


def square(x, /):
    """``x * x``."""
    x = _t(x)
    _require(x, _NUMERIC, "square")
    return tf.math.multiply(x, x) if _kind(x.dtype) == "u" else tf.math.square(x)


def reciprocal(x, /):
    """``1 / x``."""
    return _unary(x, tf.math.reciprocal, _FLOATING, "reciprocal")


def negative(x, /):
    """``-x`` (unsigned integers wrap around)."""
    x = _t(x)
    _require(x, _NUMERIC, "negative")
    if _kind(x.dtype) == "u":
        return tf.cast(tf.math.negative(_widen_int(x)), x.dtype)
    return tf.math.negative(x)


def positive(x, /):
    """``+x`` (identity)."""
    x = _t(x)
    _require(x, _NUMERIC, "positive")
    return x


def ceil(x, /):
    """Smallest integer-valued number >= ``x`` (integers unchanged)."""
    x = _t(x)
    _require(x, _REAL_NUMERIC, "ceil")
    return tf.math.ceil(x) if _kind(x.dtype) == "f" else x


def floor(x, /):
    """Largest integer-valued number <= ``x`` (integers unchanged)."""
    x = _t(x)
    _require(x, _REAL_NUMERIC, "floor")
    return tf.math.floor(x) if _kind(x.dtype) == "f" else x


def trunc(x, /):
    """Round towards zero (integers unchanged)."""
    x = _t(x)
    _require(x, _REAL_NUMERIC, "trunc")
    if _kind(x.dtype) != "f":
        return x
    return tf.where(x < 0, tf.math.ceil(x), tf.math.floor(x))


def round(x, /):  # noqa: A001
    """Round half to even (integers unchanged; complex: each component)."""
    x = _t(x)
    _require(x, _NUMERIC, "round")
    k = _kind(x.dtype)
    if k == "f":
        return tf.math.round(x)
    if k == "c":
        return tf.complex(tf.math.round(tf.math.real(x)), tf.math.round(tf.math.imag(x)))
    return x


def sign(x, /):
    """Sign: -1, 0, +1 (NaN for NaN; complex: ``x / |x|``, 0 at 0)."""
    x = _t(x)
    _require(x, _NUMERIC, "sign")
    if _kind(x.dtype) == "u":
        return tf.cast(x > 0, x.dtype)
    return tf.math.sign(x)


def _bits_dtype(dt):
    return {2: tf.int16, 4: tf.int32, 8: tf.int64}[dt.size]


def signbit(x, /):
    """Whether the sign bit is set (True for -0.0 and negative NaN)."""
    x = _t(x)
    _require(x, _REAL_NUMERIC, "signbit")
    k = _kind(x.dtype)
    if k == "f":
        return tf.bitcast(x, _bits_dtype(x.dtype)) < 0
    if k == "u":
        return tf.zeros_like(x, dtype=tf.bool)
    return x < 0


def isfinite(x, /):
    """Whether each element is finite (always True for integers and bool)."""
    x = _t(x)
    k = _kind(x.dtype)
    if k == "f":
        return tf.math.is_finite(x)
    if k == "c":
        return tf.math.is_finite(tf.math.real(x)) & tf.math.is_finite(tf.math.imag(x))
    return tf.ones_like(x, dtype=tf.bool)


def isinf(x, /):
    """Whether each element is +/-infinity."""
    x = _t(x)
    k = _kind(x.dtype)
    if k == "f":
        return tf.math.is_inf(x)
    if k == "c":
        return tf.math.is_inf(tf.math.real(x)) | tf.math.is_inf(tf.math.imag(x))
    return tf.zeros_like(x, dtype=tf.bool)


def isnan(x, /):
    """Whether each element is NaN."""
    x = _t(x)
    k = _kind(x.dtype)
    if k == "f":
        return tf.math.is_nan(x)
    if k == "c":
        return tf.math.is_nan(tf.math.real(x)) | tf.math.is_nan(tf.math.imag(x))
    return tf.zeros_like(x, dtype=tf.bool)


def conj(x, /):
    """Complex conjugate (identity for real dtypes)."""
    x = _t(x)
    _require(x, _NUMERIC, "conj")
    return tf.math.conj(x) if _kind(x.dtype) == "c" else x


def real(x, /):
    """Real component (identity for real dtypes)."""
    x = _t(x)
    _require(x, _NUMERIC, "real")
    return tf.math.real(x) if _kind(x.dtype) == "c" else x


def imag(x, /):
    """Imaginary component (zeros for real dtypes)."""
    x = _t(x)
    _require(x, _NUMERIC, "imag")
    return tf.math.imag(x) if _kind(x.dtype) == "c" else tf.zeros_like(x)


def _binary(x1, x2, kinds, name):
    a, b = _promote(x1, x2)
    _require(a, kinds, name)
    return a, b


def add(x1, x2, /):
    """``x1 + x2`` with standard promotion."""
    a, b = _binary(x1, x2, _NUMERIC, "add")
    return tf.math.add(a, b)


def subtract(x1, x2, /):
    """``x1 - x2`` with standard promotion."""
    a, b = _binary(x1, x2, _NUMERIC, "subtract")
    return tf.math.subtract(a, b)


def multiply(x1, x2, /):
    """``x1 * x2`` with standard promotion."""
    a, b = _binary(x1, x2, _NUMERIC, "multiply")
    return tf.math.multiply(a, b)


def divide(x1, x2, /):
    """True division (integer inputs give TF's floating result: float32/float64)."""
    a, b = _binary(x1, x2, _NUMERIC, "divide")
    return tf.math.truediv(a, b)


def floor_divide(x1, x2, /):
    """Floor division (integer division by zero raises on TF CPU)."""
    a, b = _binary(x1, x2, _REAL_NUMERIC, "floor_divide")
    return tf.math.floordiv(a, b)


def remainder(x1, x2, /):
    """Remainder with the sign of the divisor (like Python's ``%``)."""
    a, b = _binary(x1, x2, _REAL_NUMERIC, "remainder")
    return tf.math.floormod(a, b)


def pow(x1, x2, /):  # noqa: A001
    """``x1 ** x2`` with standard promotion."""
    a, b = _binary(x1, x2, _NUMERIC, "pow")
    if _kind(a.dtype) == "u":
        return tf.cast(tf.math.pow(_widen_int(a), _widen_int(b)), a.dtype)
    return tf.math.pow(a, b)


def atan2(x1, x2, /):
    """Quadrant-aware ``atan(x1 / x2)``."""
    a, b = _binary(x1, x2, _REAL_FLOATING, "atan2")
    return tf.math.atan2(a, b)


def copysign(x1, x2, /):
    """Magnitude of ``x1`` with the sign (bit) of ``x2``."""
    a, b = _binary(x1, x2, _REAL_FLOATING, "copysign")
    mag = tf.math.abs(a)
    return tf.where(signbit(b), -mag, mag)


def hypot(x1, x2, /):
    """``sqrt(x1**2 + x2**2)`` without intermediate overflow."""
    a, b = _binary(x1, x2, _REAL_FLOATING, "hypot")
    a, b = tf.math.abs(a), tf.math.abs(b)
    hi = tf.math.maximum(a, b)
    lo = tf.math.minimum(a, b)
    safe = tf.where(tf.equal(hi, 0), tf.ones_like(hi), hi)
    r = hi * tf.math.sqrt(1 + tf.math.square(lo / safe))
    r = tf.where(tf.math.is_nan(a) | tf.math.is_nan(b), a + b, r)
    return tf.where(tf.math.is_inf(a) | tf.math.is_inf(b), tf.constant(inf, r.dtype), r)


def logaddexp(x1, x2, /):
    """``log(exp(x1) + exp(x2))``, stable; gradient ``sigmoid(x1 - x2)`` (0.5 at ties)."""
    a, b = _binary(x1, x2, _REAL_FLOATING, "logaddexp")
    ge = a >= b
    hi = tf.where(ge, a, b)
    lo = tf.where(ge, b, a)
    d = lo - hi
    # Equal infinities give inf - inf = NaN; the answer is hi itself (+/-inf).
    d = tf.where(tf.math.is_inf(hi) & tf.equal(lo, hi), tf.zeros_like(d), d)
    return hi + tf.math.log1p(tf.math.exp(d))


def _maxmin(x1, x2, upper, name):
    a, b = _binary(x1, x2, _REAL_NUMERIC, name)
    if _kind(a.dtype) != "f":
        return tf.math.maximum(a, b) if upper else tf.math.minimum(a, b)
    first = a > b if upper else a < b
    second = a < b if upper else a > b
    # Ties (and NaNs): value a (exactly, for finite a; a + b -> NaN if either is NaN) with the
    # gradient split 0.5 / 0.5 like JAX and PyTorch.
    tie = tf.where(tf.math.is_inf(a) & tf.equal(a, b), a, a + 0.5 * (b - a))
    return tf.where(first, a, tf.where(second, b, tie))


def maximum(x1, x2, /):
    """Element-wise maximum; NaN propagates; gradient split 0.5/0.5 at ties."""
    return _maxmin(x1, x2, True, "maximum")


def minimum(x1, x2, /):
    """Element-wise minimum; NaN propagates; gradient split 0.5/0.5 at ties."""
    return _maxmin(x1, x2, False, "minimum")


def _compare(x1, x2, fn, kinds, name):
    a, b = _promote(x1, x2)
    _require(a, kinds, name)
    return fn(a, b)


_ALL_KINDS = "biufc"


def equal(x1, x2, /):
    """``x1 == x2``."""
    return _compare(x1, x2, tf.math.equal, _ALL_KINDS, "equal")


def not_equal(x1, x2, /):
    """``x1 != x2``."""
    return _compare(x1, x2, tf.math.not_equal, _ALL_KINDS, "not_equal")


def less(x1, x2, /):
    """``x1 < x2``."""
    return _compare(x1, x2, tf.math.less, _REAL_NUMERIC, "less")


def less_equal(x1, x2, /):
    """``x1 <= x2``."""
    return _compare(x1, x2, tf.math.less_equal, _REAL_NUMERIC, "less_equal")


def greater(x1, x2, /):
    """``x1 > x2``."""
    return _compare(x1, x2, tf.math.greater, _REAL_NUMERIC, "greater")


def greater_equal(x1, x2, /):
    """``x1 >= x2``."""
    return _compare(x1, x2, tf.math.greater_equal, _REAL_NUMERIC, "greater_equal")


def _as_bool(x):
    """Bool tensor; other dtypes are compared with zero (NaN counts as true, like NumPy)."""
    x = _t(x) if not _is_pyscalar(x) else tf.constant(bool(x))
    return x if x.dtype == tf.bool else tf.math.not_equal(x, tf.zeros([], x.dtype))


def logical_and(x1, x2, /):
    """Logical AND (non-bool inputs are tested against zero)."""
    return tf.math.logical_and(_as_bool(x1), _as_bool(x2))


def logical_or(x1, x2, /):
    """Logical OR (non-bool inputs are tested against zero)."""
    return tf.math.logical_or(_as_bool(x1), _as_bool(x2))


def logical_xor(x1, x2, /):
    """Logical XOR (non-bool inputs are tested against zero)."""
    return tf.math.logical_xor(_as_bool(x1), _as_bool(x2))


def logical_not(x, /):
    """Logical NOT (non-bool inputs are tested against zero)."""
    return tf.math.logical_not(_as_bool(x))


def _bitwise(x1, x2, int_fn, bool_fn, name):
    a, b = _promote(x1, x2)
    _require(a, "biu", name)
    return bool_fn(a, b) if a.dtype == tf.bool else int_fn(a, b)


def bitwise_and(x1, x2, /):
    """Bitwise (bool: logical) AND."""
    return _bitwise(x1, x2, tf.bitwise.bitwise_and, tf.math.logical_and, "bitwise_and")


def bitwise_or(x1, x2, /):
    """Bitwise (bool: logical) OR."""
    return _bitwise(x1, x2, tf.bitwise.bitwise_or, tf.math.logical_or, "bitwise_or")


def bitwise_xor(x1, x2, /):
    """Bitwise (bool: logical) XOR."""
    return _bitwise(x1, x2, tf.bitwise.bitwise_xor, tf.math.logical_xor, "bitwise_xor")


def bitwise_invert(x, /):
    """Bitwise (bool: logical) NOT."""
    x = _t(x)
    _require(x, "biu", "bitwise_invert")
    return tf.math.logical_not(x) if x.dtype == tf.bool else tf.bitwise.invert(x)


def bitwise_left_shift(x1, x2, /):
    """``x1 << x2`` (integers)."""
    a, b = _binary(x1, x2, _INTEGRAL, "bitwise_left_shift")
    # shifting by the bit width or more gives 0 (TF's kernel, like C, leaves it undefined)
    return tf.where(b >= a.dtype.size * 8, tf.zeros_like(a), tf.bitwise.left_shift(a, b))


def bitwise_right_shift(x1, x2, /):
    """``x1 >> x2`` (integers, arithmetic shift for signed)."""
    a, b = _binary(x1, x2, _INTEGRAL, "bitwise_right_shift")
    # by the bit width or more: 0, or -1 for a negative signed x1 (all sign bits)
    bits = a.dtype.size * 8
    if a.dtype.is_unsigned:
        return tf.where(b >= bits, tf.zeros_like(a), tf.bitwise.right_shift(a, b))
    return tf.bitwise.right_shift(a, tf.minimum(b, tf.cast(bits - 1, b.dtype)))


def clip(x, /, min=None, max=None):  # noqa: A002
    """Clamp ``x`` to ``[min, max]``; bounds may be None, Python scalars or arrays.

    Bounds are promoted with ``x`` (weakly for scalars). NaN in ``x`` or in an array bound
    propagates. The gradient w.r.t. ``x`` is 1 on the closed interval ``[min, max]``.
    """
    x = _t(x)
    _require(x, _REAL_NUMERIC, "clip")
    if min is None and max is None:
        return x
    bounds = [b for b in (min, max) if b is not None]
    x, *bs = _promote(x, *bounds)
    lo = bs.pop(0) if min is not None else None
    hi = bs.pop(0) if max is not None else None
    floating = _kind(x.dtype) == "f"
    out = x
    if lo is not None:
        out = tf.where(out < lo, lo, out)
        if floating and not (_is_pyscalar(min) and not math.isnan(min)):
            out = tf.where(tf.math.is_nan(lo), lo, out)
    if hi is not None:
        out = tf.where(out > hi, hi, out)
        if floating and not (_is_pyscalar(max) and not math.isnan(max)):
            out = tf.where(tf.math.is_nan(hi), hi, out)
    return out
