"""One driver per backend: make arrays from NumPy float64 data, read them back.

The conformance suite and the unit tests share these, so every backend sees identical numbers:
inputs are generated once in NumPy float64 and converted (cast first, then moved) by
:meth:`Driver.from_numpy`. Importing this module imports no framework; a driver imports its
framework when first used.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "DRIVERS",
    "HALF_DTYPES",
    "DeviceUnavailable",
    "Driver",
    "available_drivers",
    "finfo",
    "get_driver",
    "numpy_dtype",
]

#: The half-precision dtypes (NumPy holds bfloat16 through ``ml_dtypes``).
HALF_DTYPES = ("float16", "bfloat16")


def numpy_dtype(name: str) -> np.dtype:
    """The NumPy dtype named ``name``; ``'bfloat16'`` is ``ml_dtypes.bfloat16``."""
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def finfo(name: str) -> Any:
    """``np.finfo`` of the dtype named ``name`` (``ml_dtypes.finfo`` for bfloat16)."""
    if name == "bfloat16":
        import ml_dtypes

        return ml_dtypes.finfo(ml_dtypes.bfloat16)
    return np.finfo(np.dtype(name))


class DeviceUnavailable(ValueError):
    """A backend cannot put arrays on the requested device; the message says why."""


def _split_device(name: str) -> tuple[str, int]:
    kind, _, index = name.strip().lower().partition(":")
    try:
        return kind, int(index) if index else 0
    except ValueError:
        raise DeviceUnavailable(f"cannot parse device {name!r}; expected e.g. 'cuda:0'") from None


@dataclass
class Driver:
    """Conversion to and from one framework's arrays."""

    name: str
    module: str
    autodiff: bool
    _mod: Any = field(default=None, repr=False)

    def available(self) -> bool:
        """Whether the framework is installed (nothing is imported)."""
        return importlib.util.find_spec(self.module) is not None

    @property
    def mod(self) -> Any:
        if self._mod is None:
            self._mod = importlib.import_module(self.module)
        return self._mod

    def supports_float64(self) -> bool:
        """Whether float64 arrays stay float64 (JAX: only with ``jax_enable_x64``)."""
        if self.name == "jax":
            return bool(self.mod.config.jax_enable_x64)
        return True

    def dtype_unavailable(self, dtype: str) -> str | None:
        """Why this backend has no ``dtype`` arrays (None: it has them).

        Only array-api-strict lacks some: the array API standard has no half-precision dtype.
        JAX's float64 (``jax_enable_x64``) is :meth:`supports_float64`'s business.
        """
        if self.name == "array_api_strict" and dtype in HALF_DTYPES:
            return (
                f"array-api-strict has no {dtype}: the array API standard defines no "
                "half-precision floating dtype"
            )
        return None

    def from_numpy(self, a: Any, dtype: str | None = None, device: Any = None) -> Any:
        """``a`` as this framework's array, floating data cast to ``dtype`` first."""
        a = np.asarray(a)
        if dtype is not None and a.dtype.kind == "f":
            a = a.astype(numpy_dtype(dtype))
        m = self.mod
        if self.name == "numpy":
            return a
        if self.name == "torch" and a.dtype.name == "bfloat16":
            # torch.from_numpy knows no ml_dtypes.bfloat16; float32 holds every bfloat16 exactly.
            t = m.from_numpy(np.ascontiguousarray(a, dtype=np.float32).reshape(a.shape))
            t = t.to(m.bfloat16)
            return t.to(device) if device is not None else t
        if self.name == "torch":
            # np.ascontiguousarray would turn a 0-d array into shape (1,).
            t = m.from_numpy(a if a.flags.c_contiguous else np.ascontiguousarray(a))
            return t.to(device) if device is not None else t
        if self.name == "jax":
            return m.numpy.asarray(a) if device is None else m.device_put(a, device)
        if self.name == "tensorflow":
            if device is None:
                return m.constant(a)
            with m.device(device):
                return m.identity(m.constant(a))
        if self.name == "array_api_strict":
            return m.asarray(a, device=device) if device is not None else m.asarray(a)
        raise AssertionError(self.name)

    def resolve_device(self, name: str | None) -> Any:
        """This framework's device object for a device name, or None for the default device.

        ``name`` is ``'cpu'``, ``'cuda'`` / ``'gpu'`` (the same thing here) with an optional
        ``':index'``, or any other name torch accepts (``'mps'``) for torch. NumPy and
        array-api-strict have only the host (``'cpu'``, which maps to their default device).

        Raises
        ------
        DeviceUnavailable
            If the framework has no such device on this machine (the message says why).
        """
        if name is None:
            return None
        kind, index = _split_device(name)
        gpu = kind in ("cuda", "gpu")
        m = self.mod
        if self.name in ("numpy", "array_api_strict"):
            if kind == "cpu":
                return None
            raise DeviceUnavailable(f"{self.name} computes on the host only, not on {name!r}")
        if self.name == "torch":
            if gpu:
                n = m.cuda.device_count() if m.cuda.is_available() else 0
                if index >= n:
                    raise DeviceUnavailable(
                        f"torch has no device cuda:{index} (torch.cuda.is_available() is "
                        f"{m.cuda.is_available()}, {n} CUDA devices; torch {m.__version__})"
                    )
                return m.device("cuda", index)
            if kind == "mps" and not m.backends.mps.is_available():
                raise DeviceUnavailable("torch.backends.mps.is_available() is False")
            return m.device(name)
        if self.name == "jax":
            platform = "gpu" if gpu else kind
            try:
                devices = m.devices(platform)
            except RuntimeError as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                raise DeviceUnavailable(
                    f"jax has no {platform} device (jax.devices({platform!r}) raised: {first})"
                ) from None
            if index >= len(devices):
                raise DeviceUnavailable(f"jax has {len(devices)} {platform} devices, no {index}")
            return devices[index]
        if self.name == "tensorflow":
            physical = "GPU" if gpu else kind.upper()
            found = m.config.list_physical_devices(physical)
            if index >= len(found):
                raise DeviceUnavailable(
                    f"tensorflow has no {physical}:{index} (tf.config.list_physical_devices"
                    f"({physical!r}) lists {len(found)})"
                )
            return f"/{physical}:{index}"
        raise AssertionError(self.name)

    def to_numpy(self, x: Any) -> np.ndarray:
        """A NumPy copy of ``x`` (detached, on the host)."""
        if self.name == "torch":
            x = x.detach().cpu()
            if x.dtype == self.mod.bfloat16:  # no NumPy bfloat16 in torch: through float32
                return x.float().numpy().astype(numpy_dtype("bfloat16"))
            return x.numpy()
        if self.name == "tensorflow":
            if isinstance(x, self.mod.IndexedSlices):  # the gradient of a gather
                x = self.mod.convert_to_tensor(x)
            return np.asarray(x.numpy() if hasattr(x, "numpy") else x)
        if self.name == "array_api_strict":
            m = self.mod
            if x.device != m.Device("CPU_DEVICE"):
                x = m.asarray(x, device=m.Device("CPU_DEVICE"))
            return np.asarray(x)
        return np.asarray(x)

    def dtype_name(self, x: Any) -> str:
        """The dtype of ``x`` as a NumPy-style name (``'float32'``, ``'int64'``, ...)."""
        dt = x.dtype
        if self.name == "torch":
            return str(dt).removeprefix("torch.")
        if self.name == "tensorflow":
            return dt.name
        if self.name == "array_api_strict":
            return str(dt).rsplit(".", 1)[-1]
        return np.dtype(dt).name

    def device(self, x: Any) -> Any:
        """A comparable description of the device of ``x``."""
        if self.name == "numpy":
            return "cpu"
        if self.name == "jax":
            return frozenset(x.devices())
        if self.name == "tensorflow":
            return self.mod.DeviceSpec.from_string(x.device).to_string()
        return x.device

    def extra_devices(self) -> list[tuple[str, Any, bool]]:
        """Non-default devices to check placement on: ``(label, device, values_readable)``.

        torch's ``meta`` device carries shapes and dtypes but no values; array-api-strict's
        ``Device('device1')`` is a second device with values.
        """
        if self.name == "torch":
            return [("meta", self.mod.device("meta"), False)]
        if self.name == "array_api_strict":
            return [("device1", self.mod.Device("device1"), True)]
        return []

    def is_own_array(self, x: Any) -> bool:
        """Whether ``x`` is this framework's array type.

        A 0-d NumPy result may be a NumPy scalar (``np.float32``): NumPy's own reductions return
        scalars, and array-api-compat's NumPy namespace keeps that (a documented deviation from
        the standard's 0-d arrays).
        """
        if self.name == "numpy" and isinstance(x, np.generic):
            return True
        return isinstance(x, self.array_type())

    def array_type(self) -> type:
        """The framework's array type (what a loss must return)."""
        m = self.mod
        return {
            "numpy": lambda: np.ndarray,
            "torch": lambda: m.Tensor,
            "jax": lambda: m.Array,
            "tensorflow": lambda: m.Tensor,
            "array_api_strict": lambda: type(m.asarray(0.0)),
        }[self.name]()


DRIVERS: dict[str, Driver] = {
    d.name: d
    for d in (
        Driver("numpy", "numpy", autodiff=False),
        Driver("torch", "torch", autodiff=True),
        Driver("jax", "jax", autodiff=True),
        Driver("tensorflow", "tensorflow", autodiff=True),
        Driver("array_api_strict", "array_api_strict", autodiff=False),
    )
}


def available_drivers() -> list[Driver]:
    """Drivers whose framework is installed, in a fixed order (torch before tensorflow)."""
    return [d for d in DRIVERS.values() if d.available()]


def get_driver(name: str) -> Driver:
    """The driver of backend ``name`` (``ValueError`` naming the known ones otherwise)."""
    try:
        return DRIVERS[name]
    except KeyError:
        raise ValueError(f"unknown backend {name!r}; expected one of {sorted(DRIVERS)}") from None
