"""Extras used by the loss library (not part of the standard) of the TensorFlow array API namespace.

See :mod:`lossbridge.backends.tensorflow` for the design.
"""

from __future__ import annotations

import tensorflow as tf

from ._devices import _place
from ._dtypes import _t


def stop_gradient(x):
    """Identity whose gradient is zero (``tf.stop_gradient``)."""
    return tf.stop_gradient(_t(x))


def is_concrete(x):
    """Whether ``x`` holds concrete values (eager tensor / Variable outside tracing).

    False for symbolic tensors inside ``tf.function``, and for eager tensors and Variables
    while tracing: an eager tensor captured by a ``tf.function`` is concrete, but every op on it
    there is symbolic, so its values cannot be read. NumPy arrays and Python scalars are concrete.
    """
    if isinstance(x, (tf.Variable, tf.Tensor)):
        return tf.executing_eagerly() and not tf.is_symbolic_tensor(x)
    return True


def to_device(x, device, /, *, stream=None):
    """Copy ``x`` to ``device`` (extra; the standard has this as an array method)."""
    if stream is not None:
        raise ValueError("stream is not supported by TensorFlow")
    x = _t(x)
    return x if device is None else _place(x, device)
