"""Devices of the TensorFlow array API namespace.

See :mod:`lossbridge.backends.tensorflow` for the design.
"""

from __future__ import annotations

import contextlib

import tensorflow as tf


def _parse_device(spec):
    if isinstance(spec, tf.DeviceSpec):
        if spec.device_type is None:
            raise ValueError(f"device spec without a device type: {spec!r}")
        return spec.device_type.upper(), spec.device_index or 0
    if not isinstance(spec, str):
        raise TypeError(f"expected a Device or a device string, got {spec!r}")
    last = spec.strip().rsplit("/", 1)[-1]
    parts = last.split(":")
    if parts and parts[0].lower() == "device":
        parts = parts[1:]
    if not parts or not parts[0] or len(parts) > 2:
        raise ValueError(f"cannot parse device string {spec!r}")
    dtype = parts[0].upper()
    if len(parts) == 1:
        return dtype, 0
    try:
        return dtype, int(parts[1])
    except ValueError:
        raise ValueError(f"cannot parse device string {spec!r}") from None


class Device:
    """A TensorFlow device, normalised to a ``(type, index)`` pair.

    Parameters
    ----------
    spec : str, Device or tf.DeviceSpec
        ``'CPU:0'``, ``'/device:GPU:1'``, ``'/job:localhost/replica:0/task:0/device:CPU:0'``,
        ``'gpu'`` (index 0) ... The type is case-insensitive.
    """

    __slots__ = ("device_type", "index")

    def __init__(self, spec="CPU:0"):
        if isinstance(spec, Device):
            self.device_type, self.index = spec.device_type, spec.index
        else:
            self.device_type, self.index = _parse_device(spec)

    def __eq__(self, other):
        if isinstance(other, str):
            try:
                other = Device(other)
            except ValueError:
                return False
        if not isinstance(other, Device):
            return NotImplemented
        return (self.device_type, self.index) == (other.device_type, other.index)

    def __hash__(self):
        return hash(("Device", self.device_type, self.index))

    def __repr__(self):
        return f"Device('{self.device_type}:{self.index}')"

    def __str__(self):
        return f"/device:{self.device_type}:{self.index}"


def device(x, /):
    """Device of ``x``; ``None`` for an unplaced symbolic tensor inside ``tf.function``.

    NumPy arrays and Python scalars live on the host: ``Device('CPU:0')``.
    """
    if isinstance(x, (tf.Tensor, tf.Variable)):
        d = x.device
        return Device(d) if d else None
    return Device("CPU:0")


_device_of = device  # creation functions shadow ``device`` with their keyword argument


def _device_scope(dev):
    if dev is None:
        return contextlib.nullcontext()
    return tf.device(str(Device(dev)))


def _place(t, dev):
    """Tensor ``t`` copied onto device ``dev`` (``tf.device`` scope + ``tf.identity``)."""
    with _device_scope(dev):
        return tf.identity(t)
