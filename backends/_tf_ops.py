"""TensorFlow's fused kernels behind :func:`lossbridge.backends.fused` (imported only with TF).

Each function takes and returns ``tf.Tensor`` and has the value and gradient convention of the
generic array-API form it replaces in :mod:`lossbridge._primitives`: TensorFlow's ``abs``
gradient is ``sign(x)`` (0 at 0, like torch), ``log_sigmoid``/``softplus`` are smooth.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

__all__ = [
    "abs0",
    "abs_error",
    "bce_with_logits",
    "log_sigmoid",
    "log_softmax",
    "neg_picked",
    "softplus",
    "squared_error",
    "upcast",
    "xlogx",
]


def abs0(x: Any) -> Any:
    """``tf.abs``: gradient ``sign(x)``, 0 at 0."""
    return tf.abs(x)


def log_sigmoid(x: Any) -> Any:
    """``tf.math.log_sigmoid`` (``-softplus(-x)``, stable)."""
    return tf.math.log_sigmoid(x)


def softplus(x: Any) -> Any:
    """``tf.math.softplus``."""
    return tf.math.softplus(x)


def log_softmax(x: Any, axis: int) -> Any:
    """``tf.nn.log_softmax``: one kernel."""
    return tf.nn.log_softmax(x, axis=axis)


def neg_picked(x: Any, target: Any, axis: int) -> Any:
    """``-x`` at class ``target`` along ``axis`` (1, or 0 for 1-D ``x``) with one ``tf.gather``
    (``batch_dims`` over the leading axes; the class axis moved last first for K-d input)."""
    nd = x.shape.rank
    if nd == 1:
        return -tf.gather(x, target)
    if nd > 2:
        x = tf.transpose(x, [0, *range(2, nd), 1])
    return -tf.gather(x, target, axis=nd - 1, batch_dims=nd - 1)


def squared_error(a: Any, b: Any) -> Any:
    """``tf.math.squared_difference``: one kernel."""
    return tf.math.squared_difference(a, b)


def abs_error(a: Any, b: Any) -> Any:
    """``|a - b|`` (gradient 0 at ``a == b``)."""
    return tf.abs(a - b)


def bce_with_logits(x: Any, t: Any, pos_weight: Any = None) -> Any:
    """``tf.nn.sigmoid_cross_entropy_with_logits``; with a ``pos_weight``,
    ``(1 - t) x + (1 + (w - 1) t) softplus(-x)`` with ``tf.math.softplus``.

    Not ``tf.nn.weighted_cross_entropy_with_logits``: it writes ``log1p(exp(-|x|)) +
    relu(-x)``, whose gradient at ``x = 0`` drops both kinks' halves (1.0 where torch, JAX and
    the derivative give 0.5 at ``t = 0``). Without a weight the fused kernel stays: the softplus
    form cancels for negative ``x`` (``-3 + softplus(3)``) and TF's vectorised softplus is one
    ulp off there (5.5e-6 relative in float32); the kernel's price is its NaN at ``x = +inf``
    (torch: +inf) and +inf at ``x = -inf`` (torch: NaN), an xfail in ``tests/test_nan_inf.py``.
    """
    if pos_weight is None:
        return tf.nn.sigmoid_cross_entropy_with_logits(labels=t, logits=x)
    return (1 - t) * x + (1 + (pos_weight - 1) * t) * tf.math.softplus(-x)


def xlogx(x: Any) -> Any:
    """``tf.math.xlogy(x, x)``: 0 with gradient 0 at 0 (TF's ``xlogy`` gradient is 0 where the
    first argument is 0), ``log x + 1`` elsewhere; NaN and inf as the guarded generic form."""
    return tf.math.xlogy(x, x)


@tf.custom_gradient
def _upcast(x: Any) -> Any:
    def grad(dy: Any) -> Any:
        if isinstance(dy, tf.IndexedSlices):
            dy = tf.convert_to_tensor(dy)  # summed here, in float32
        return tf.cast(dy, x.dtype)

    return tf.cast(x, tf.float32), grad


def upcast(x: Any) -> Any:
    """``tf.cast(x, float32)`` of a float16/bfloat16 tensor whose gradient is summed in float32.

    The half-precision rule's cast. A plain ``tf.cast`` hands a ``tf.gather``'s sparse gradient
    (``IndexedSlices``) back cast to the half dtype, and the rows that were gathered several
    times are then summed in half precision (23 ulp in float16, 53 in bfloat16 measured on the
    sampled losses' weights). Here the slices are made dense in float32 first, and the sum is
    rounded once, as torch and JAX round it (their gather gradients are dense). The price: the
    gradient of a half input is always a dense tensor on TF, never ``IndexedSlices``.
    """
    return _upcast(x)
