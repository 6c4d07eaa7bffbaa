"""Array API standard (2023.12) namespace for TensorFlow, built on plain ``tf.*`` ops.

array-api-compat has no TensorFlow support, so this package is what lets a loss written as
``xp.exp(...)`` / ``xp.sum(..., axis=1)`` run on ``tf.Tensor`` and ``tf.Variable`` inputs:
eagerly, inside ``tf.function`` and inside ``tf.function(jit_compile=True)`` (XLA), with
``tf.GradientTape`` gradients flowing through every differentiable function.

Design
------
* **Plain TF ops only.** Nothing here uses ``tf.experimental.numpy`` (its promotion rules and
  NumPy dtypes are wrong for this purpose, and it is slow) and nothing changes global TF state
  (``experimental_enable_numpy_behavior`` is never called).
* **Dtypes** are the ``tf.DType`` objects themselves (``xp.float32 is tf.float32``), so
  ``x.dtype == xp.float32`` works on tensors. ``float16`` and ``bfloat16`` are extras.
* **Type promotion** follows the standard's table and is done explicitly, because TF ops refuse
  mixed dtypes: every binary elementwise function, ``where``'s branches, ``clip``'s bounds,
  ``concat``/``stack`` inputs, ``matmul``... first cast their operands to ``result_type``.
  Mixed signed/unsigned integers promote as the standard says (``int8 + uint8 -> int16``;
  ``int64 + uint64`` raises). ``float16 + bfloat16 -> float32``. **Mixed integer/floating and
  anything/bool array promotion raises TypeError** (like array-api-strict) so that
  accidental integer inputs are caught instead of silently changing precision.
* **Python scalars are weak**: ``multiply(x_f32, 2)`` stays float32, ``add(x_i64, 1)`` stays
  int64. A Python ``float`` with an integer/bool array, an ``int`` with a bool array or a
  ``complex`` with a real array raises TypeError; an ``int`` out of the integer dtype's range
  raises OverflowError. NumPy scalars (``np.float64(1.0)``) are *not* weak: like 0-d NumPy
  arrays they carry their dtype (NEP 50). ``finfo``/``iinfo`` return Python numbers, so
  ``finfo(x.dtype).eps`` is weak.
* **Default dtypes**: Python floats -> float32, ints -> int64, bools -> bool, complex ->
  complex64 (``asarray``, ``full``, ``arange``, ``linspace``). NumPy arrays keep their dtype.
* **Devices**: :class:`Device` normalises TF's device strings to a ``(type, index)`` pair, so
  ``'/job:localhost/replica:0/task:0/device:CPU:0'``, ``'/device:CPU:0'`` and ``'cpu:0'`` compare
  equal. Inside ``tf.function`` tracing a tensor's device is ``''``; :func:`device` then returns
  ``None`` ("unplaced") and creation functions given ``device=None`` create without a device
  scope. ``*_like`` functions default to the device of their input.
* **Variables**: ``tf.Variable`` is not a ``tf.Tensor`` subclass; every function reads
  Variables with ``tf.convert_to_tensor``, which keeps gradient flow to the Variable.
* **No Python control flow on tensor values**, only on static shapes and dtypes, so everything
  traces. Static shapes are used where known, ``tf.shape`` where a dimension is ``None``.
  Every public function is marked ``tf.autograph.experimental.do_not_convert``: AutoGraph
  would otherwise re-parse and convert this module's source each time a loss is traced (it
  made tracing ~20x slower) for nothing.
* ``take_along_axis`` uses ``tf.gather_nd`` (about twice as fast as
  ``tf.gather(batch_dims=...)`` forward + backward; numbers in ``_take_along``).
* **XLA**: no data-dependent output shapes (no one-argument ``tf.where``, no
  ``boolean_mask``) except in :func:`nonzero` and in :func:`repeat` with array ``repeats``,
  which work eagerly and in plain ``tf.function`` but cannot be compiled.
* **NaN semantics follow NumPy** where TF differs: ``maximum``/``minimum``/``max``/``min``
  propagate NaN (XLA's reductions do not), ``sort``/``argsort`` put NaN last (first when
  ``descending=True``, i.e. NaN is treated as the largest value), ``argmax``/``argmin`` return
  the first NaN, and ties in ``argmax``/``argmin`` return the first occurrence.
* **Gradient conventions**: ``maximum``/``minimum`` split the gradient 0.5/0.5 at ties (like JAX
  and PyTorch); ``clip`` passes the gradient to ``x`` on the closed interval ``[min, max]``;
  ``max``/``min`` reductions split it evenly among tied maxima (TF's rule, same as JAX).

Layout
------
One private module per section of the standard, as array-api-compat keeps one package per
library: ``_dtypes`` (dtypes, constants, promotion, data type functions), ``_devices``,
``_creation``, ``_elementwise``, ``_statistical``, ``_manipulation``, ``_indexing``,
``_searching`` (searching and sorting), ``_linalg`` (the main namespace's linear algebra, not
the extension), ``_info`` (``__array_namespace_info__``), ``_extras``; ``_shapes`` holds the
shape and axis helpers. This ``__init__`` re-exports the public names. The standard's own test
suite (data-apis/array-api-tests) runs against it: ``nox -s array_api_tests``, with what is
deliberately left out listed, with reasons, in ``tensorflow-xfails.txt`` beside this file.

Deliberately not implemented
----------------------------
The namespace implements what the losses need, not the whole standard:

* ``unique_all``, ``unique_counts``, ``unique_inverse``, ``unique_values``: data-dependent
  output shapes (cannot trace under XLA) and no loss needs them.
* The ``linalg`` and ``fft`` extensions.
* Array methods/operators: TF tensors keep TF's own operator semantics; losses must call the
  namespace functions when promotion matters.

Extras (not in the standard) are listed in :data:`EXTRAS`: ``stop_gradient``,
``is_concrete``, ``to_device``, ``device``, ``Device``, ``float16``, ``bfloat16``.
"""

from __future__ import annotations

import types

import tensorflow as tf

from ._creation import (
    arange,
    asarray,
    empty,
    empty_like,
    eye,
    from_dlpack,
    full,
    full_like,
    linspace,
    meshgrid,
    ones,
    ones_like,
    tril,
    triu,
    zeros,
    zeros_like,
)
from ._devices import Device, device
from ._dtypes import (
    astype,
    bfloat16,
    bool,
    can_cast,
    complex64,
    complex128,
    e,
    finfo,
    float16,
    float32,
    float64,
    iinfo,
    inf,
    int8,
    int16,
    int32,
    int64,
    isdtype,
    nan,
    newaxis,
    pi,
    result_type,
    uint8,
    uint16,
    uint32,
    uint64,
)
from ._elementwise import (
    abs,
    acos,
    acosh,
    add,
    asin,
    asinh,
    atan,
    atan2,
    atanh,
    bitwise_and,
    bitwise_invert,
    bitwise_left_shift,
    bitwise_or,
    bitwise_right_shift,
    bitwise_xor,
    ceil,
    clip,
    conj,
    copysign,
    cos,
    cosh,
    divide,
    equal,
    exp,
    expm1,
    floor,
    floor_divide,
    greater,
    greater_equal,
    hypot,
    imag,
    isfinite,
    isinf,
    isnan,
    less,
    less_equal,
    log,
    log1p,
    log2,
    log10,
    logaddexp,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    maximum,
    minimum,
    multiply,
    negative,
    not_equal,
    positive,
    pow,
    real,
    reciprocal,
    remainder,
    round,
    sign,
    signbit,
    sin,
    sinh,
    sqrt,
    square,
    subtract,
    tan,
    tanh,
    trunc,
)
from ._extras import is_concrete, stop_gradient, to_device
from ._indexing import take, take_along_axis
from ._info import __array_namespace_info__
from ._linalg import matmul, matrix_transpose, tensordot, vecdot
from ._manipulation import (
    broadcast_arrays,
    broadcast_to,
    concat,
    expand_dims,
    flip,
    moveaxis,
    permute_dims,
    repeat,
    reshape,
    roll,
    squeeze,
    stack,
    tile,
    unstack,
)
from ._searching import argmax, argmin, argsort, nonzero, searchsorted, sort, where
from ._statistical import (
    all,
    any,
    count_nonzero,
    cumulative_prod,
    cumulative_sum,
    diff,
    max,
    mean,
    min,
    prod,
    std,
    sum,
    var,
)

__array_api_version__ = "2023.12"

__all__ = [
    "__array_api_version__",
    "__array_namespace_info__",
    # dtypes
    "bool",
    "complex128",
    "complex64",
    "float32",
    "float64",
    "int16",
    "int32",
    "int64",
    "int8",
    "uint16",
    "uint32",
    "uint64",
    "uint8",
    # constants
    "e",
    "inf",
    "nan",
    "newaxis",
    "pi",
    # creation
    "arange",
    "asarray",
    "empty",
    "empty_like",
    "eye",
    "from_dlpack",
    "full",
    "full_like",
    "linspace",
    "meshgrid",
    "ones",
    "ones_like",
    "tril",
    "triu",
    "zeros",
    "zeros_like",
    # data types
    "astype",
    "can_cast",
    "finfo",
    "iinfo",
    "isdtype",
    "result_type",
    # element-wise
    "abs",
    "acos",
    "acosh",
    "add",
    "asin",
    "asinh",
    "atan",
    "atan2",
    "atanh",
    "bitwise_and",
    "bitwise_invert",
    "bitwise_left_shift",
    "bitwise_or",
    "bitwise_right_shift",
    "bitwise_xor",
    "ceil",
    "clip",
    "conj",
    "copysign",
    "cos",
    "cosh",
    "divide",
    "equal",
    "exp",
    "expm1",
    "floor",
    "floor_divide",
    "greater",
    "greater_equal",
    "hypot",
    "imag",
    "isfinite",
    "isinf",
    "isnan",
    "less",
    "less_equal",
    "log",
    "log10",
    "log1p",
    "log2",
    "logaddexp",
    "logical_and",
    "logical_not",
    "logical_or",
    "logical_xor",
    "maximum",
    "minimum",
    "multiply",
    "negative",
    "not_equal",
    "positive",
    "pow",
    "real",
    "reciprocal",
    "remainder",
    "round",
    "sign",
    "signbit",
    "sin",
    "sinh",
    "sqrt",
    "square",
    "subtract",
    "tan",
    "tanh",
    "trunc",
    # statistical / utility
    "all",
    "any",
    "count_nonzero",
    "cumulative_prod",
    "cumulative_sum",
    "diff",
    "max",
    "mean",
    "min",
    "prod",
    "std",
    "sum",
    "var",
    # manipulation
    "broadcast_arrays",
    "broadcast_to",
    "concat",
    "expand_dims",
    "flip",
    "moveaxis",
    "permute_dims",
    "repeat",
    "reshape",
    "roll",
    "squeeze",
    "stack",
    "tile",
    "unstack",
    # indexing
    "take",
    "take_along_axis",
    # searching / sorting
    "argmax",
    "argmin",
    "argsort",
    "nonzero",
    "searchsorted",
    "sort",
    "where",
    # linear algebra
    "matmul",
    "matrix_transpose",
    "tensordot",
    "vecdot",
    # extras (not standard names: EXTRAS)
    "Device",
    "bfloat16",
    "device",
    "float16",
    "is_concrete",
    "stop_gradient",
    "to_device",
]

EXTRAS = (
    "Device",
    "bfloat16",
    "device",
    "float16",
    "is_concrete",
    "stop_gradient",
    "to_device",
)
"""Public names of this namespace that are *not* array API standard names."""

IMPLEMENTED = tuple(name for name in __all__ if name not in EXTRAS)
"""Every array API standard name this namespace implements (functions, dtypes, constants)."""


def _disable_autograph():
    """Mark every public function ``do_not_convert``.

    Otherwise ``tf.function`` runs AutoGraph's source-to-source conversion on every namespace
    function a loss calls (and, recursively, on the helpers), which made tracing ~20x slower
    (seconds per loss) while converting nothing: all control flow here is on static values.
    Helpers called from an unconverted function are not converted either.
    """
    for name in IMPLEMENTED + EXTRAS:
        obj = globals()[name]
        if isinstance(obj, types.FunctionType):
            globals()[name] = tf.autograph.experimental.do_not_convert(obj)


_disable_autograph()
