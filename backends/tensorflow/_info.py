"""The inspection namespace of the TensorFlow array API namespace.

See :mod:`lossbridge.backends.tensorflow` for the design.
"""

from __future__ import annotations

import tensorflow as tf

from ._devices import Device
from ._dtypes import (
    _DEFAULT_COMPLEX,
    _DEFAULT_FLOAT,
    _DEFAULT_INDEX,
    _DEFAULT_INT,
    _STANDARD_DTYPES,
    isdtype,
)


class _Info:
    """Inspection namespace returned by :func:`__array_namespace_info__`."""

    def capabilities(self):
        """Library capabilities: no boolean indexing, no data-dependent shapes under XLA."""
        return {"boolean indexing": False, "data-dependent shapes": False}

    def default_device(self):
        """The device TF places new tensors on by default."""
        gpus = tf.config.list_logical_devices("GPU")
        return Device(gpus[0].name) if gpus else Device("CPU:0")

    def default_dtypes(self, *, device=None):
        """Default dtypes (float32, complex64, int64, int64)."""
        return {
            "real floating": _DEFAULT_FLOAT,
            "complex floating": _DEFAULT_COMPLEX,
            "integral": _DEFAULT_INT,
            "indexing": _DEFAULT_INDEX,
        }

    def dtypes(self, *, device=None, kind=None):
        """Standard dtypes supported, optionally filtered by ``kind``."""
        return {
            name: dt for name, dt in _STANDARD_DTYPES.items() if kind is None or isdtype(dt, kind)
        }

    def devices(self):
        """All logical devices."""
        return [Device(d.name) for d in tf.config.list_logical_devices()]


def __array_namespace_info__():
    """Return the inspection namespace."""
    return _Info()
