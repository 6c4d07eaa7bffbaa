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
