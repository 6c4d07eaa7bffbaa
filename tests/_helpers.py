"""Helpers shared by the unit tests: conversion to NumPy, comparisons, torch references, grads.

Expected values never come from lossbridge itself: they come from ``torch.nn.functional`` in
float64 (:func:`torch_f`), from float64 NumPy formulas written in the tests, or from hand
computations. Inputs are rounded to the dtype under test first (:func:`rounded`), so a float32
result is compared with the exact float64 value of the very numbers it was given.
"""

from __future__ import annotations

import contextlib
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import pytest

# ``np_dtype("bfloat16")`` is ml_dtypes' bfloat16: the conformance drivers' one helper.
from lossbridge.conformance.drivers import numpy_dtype as np_dtype

DTYPES = ("float32", "float64")
# Relative tolerances per dtype (float32: a few ulp after a reduction of a few dozen terms).
RTOL = {"float32": 2e-6, "float64": 1e-12}


def ignore_fp_warnings(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Silence NumPy's floating-point RuntimeWarnings (log 0, 0/0) in tests that expect them."""
    import pytest

    for msg in ("divide by zero encountered", "invalid value encountered", "Mean of empty slice"):
        fn = pytest.mark.filterwarnings(f"ignore:{msg}:RuntimeWarning")(fn)
    return fn


def dtype_grid(options: Sequence[tuple[Any, ...]], float32: Callable[..., bool]) -> list[Any]:
    """Parameters ``(dtype, *option)``: float64 with every option, float32 where ``float32``.

    The options exercise code paths that do not depend on the dtype; float32 checks rounding
    and dtype preservation on a subset, which keeps JAX's per-shape eager compiles down.
    """
    import pytest

    return [pytest.param("float64", *o) for o in options] + [
        pytest.param("float32", *o) for o in options if float32(*o)
    ]


def rounded(a: Any, dtype: str) -> np.ndarray:
    """``a`` rounded to ``dtype`` and widened back to float64 (integer arrays unchanged)."""
    a = np.asarray(a)
    if a.dtype.kind != "f":
        return a
    return a.astype(dtype).astype(np.float64)


def make(backend: Any, a: Any, dtype: str | None = None) -> Any:
    """``backend.from_numpy(a, dtype)``, keeping 0-d arrays 0-d.

    A guard for drivers that go through ``np.ascontiguousarray``, which turns a 0-d array into
    shape (1,).
    """
    a = np.asarray(a)
    out = backend.from_numpy(a, dtype)
    if a.ndim == 0 and tuple(out.shape) != ():
        out = out.reshape(())
    return out


def to_numpy(x: Any) -> np.ndarray:
    """A NumPy copy of an array of any backend (detached, on the host)."""
    mod = type(x).__module__.split(".")[0]
    if mod == "torch":
        return x.detach().cpu().numpy()
    if mod in ("tensorflow", "keras"):
        return np.asarray(x.numpy())
    if mod == "array_api_strict":
        strict = sys.modules["array_api_strict"]
        if x.device != strict.Device("CPU_DEVICE"):
            x = strict.asarray(x, device=strict.Device("CPU_DEVICE"))
        return np.asarray(x)
    return np.asarray(x)


def dtype_name(x: Any) -> str:
    """``'float32'``-style name of an array's dtype, for any backend."""
    dt = x.dtype
    if hasattr(dt, "as_numpy_dtype"):  # tf.DType
        return np.dtype(dt.as_numpy_dtype).name
    return str(dt).rsplit(".", 1)[-1].removeprefix("<dtype: '").removesuffix("'>")


def assert_close(actual: Any, expected: Any, rtol: float, atol: float = 0.0) -> None:
    """``actual`` (any backend) equals ``expected`` in shape and, within ``rtol``, in value.

    NaN must match NaN and infinities must match exactly.
    """
    a = to_numpy(actual)
    e = np.asarray(expected, dtype=np.float64)
    assert a.shape == e.shape, f"shape {a.shape} != expected {e.shape}"
    np.testing.assert_allclose(a.astype(np.float64), e, rtol=rtol, atol=atol, equal_nan=True)


def assert_result(out: Any, backend: Any, dtype: str, shape: tuple[int, ...]) -> None:
    """``out`` is ``backend``'s array type with ``dtype`` and ``shape``."""
    types = backend.array_type()
    if backend.name == "numpy":  # NumPy reductions return NumPy scalars (0-d, with a dtype)
        types = (np.ndarray, np.generic)
    assert isinstance(out, types), f"{type(out)} is not a {backend.name} array"
    assert dtype_name(out) == dtype, f"dtype {out.dtype} != {dtype}"
    assert tuple(out.shape) == tuple(shape), f"shape {tuple(out.shape)} != {shape}"


# ------------------------------------------------------------------------------------------
# torch references
# ------------------------------------------------------------------------------------------


def _to_torch(v: Any, requires_grad: bool = False) -> Any:
    import torch

    if isinstance(v, np.ndarray):
        return torch.tensor(v, requires_grad=requires_grad)
    return v


def torch_f(name: str, *args: Any, **kwargs: Any) -> np.ndarray:
    """``torch.nn.functional.<name>`` on float64 tensors made from NumPy arguments.

    Skips the calling test where torch is not installed (nox's one-framework sessions).
    """
    pytest.importorskip("torch")
    import torch.nn.functional as F

    conv = [_to_torch(np.asarray(a, np.float64) if _is_float(a) else a) for a in args]
    kw = {k: _to_torch(np.asarray(v, np.float64) if _is_float(v) else v) for k, v in kwargs.items()}
    with _quiet():
        return getattr(F, name)(*conv, **kw).detach().numpy()


def torch_grad(name: str, args: Sequence[Any], wrt: int, **kwargs: Any) -> np.ndarray:
    """Gradient of ``sum(torch.nn.functional.<name>(*args, **kwargs))`` w.r.t. ``args[wrt]``."""
    pytest.importorskip("torch")
    import torch.nn.functional as F

    conv = [
        _to_torch(np.asarray(a, np.float64) if _is_float(a) else a, requires_grad=(i == wrt))
        for i, a in enumerate(args)
    ]
    kw = {k: _to_torch(np.asarray(v, np.float64) if _is_float(v) else v) for k, v in kwargs.items()}
    with _quiet():
        getattr(F, name)(*conv, **kw).sum().backward()
    return conv[wrt].grad.numpy()


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """torch's warnings that the tests know about: kl_div 'mean', broadcast targets."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "reduction: 'mean' divides", UserWarning)
        warnings.filterwarnings("ignore", "Using a target size", UserWarning)
        yield


def _is_float(a: Any) -> bool:
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


# ------------------------------------------------------------------------------------------
# Gradients through each autodiff backend
# ------------------------------------------------------------------------------------------


def backend_grad(
    backend: Any, fn: Callable[..., Any], args: Sequence[Any], wrt: int, dtype: str = "float64"
) -> np.ndarray:
    """Gradient of ``sum(fn(*arrays))`` w.r.t. ``arrays[wrt]`` through ``backend``'s autodiff.

    ``args`` are NumPy arrays (or ``None`` / Python values, passed as they are); NumPy arrays are
    converted with ``backend.from_numpy(a, dtype)``.
    """
    arrays = [make(backend, a, dtype) if isinstance(a, np.ndarray) else a for a in args]
    name = backend.name
    if name == "torch":
        arrays[wrt] = arrays[wrt].clone().requires_grad_(True)
        fn(*arrays).sum().backward()
        return to_numpy(arrays[wrt].grad)
    if name == "jax":
        import jax
        import jax.numpy as jnp

        def f(x: Any) -> Any:
            return jnp.sum(fn(*arrays[:wrt], x, *arrays[wrt + 1 :]))

        return to_numpy(jax.grad(f)(arrays[wrt]))
    if name == "tensorflow":
        import tensorflow as tf

        x = arrays[wrt]
        with tf.GradientTape() as tape:
            tape.watch(x)
            out = tf.reduce_sum(fn(*arrays[:wrt], x, *arrays[wrt + 1 :]))
        return to_numpy(tf.convert_to_tensor(tape.gradient(out, x)))  # IndexedSlices too
    raise AssertionError(f"{name} has no autodiff")


def backend_array(backend: str, a: Any, dtype: str | None = None) -> Any:
    """``a`` as ``backend``'s array ('numpy', 'torch', 'jax', 'tensorflow'); floating data in
    ``dtype`` (required for it), integers unchanged.

    Floating data goes through float32 (float64 for ``'float64'``), which holds every
    float16/bfloat16 value exactly, and is cast by the framework itself.
    """
    a = np.asarray(a)
    floating = a.dtype.kind == "f"
    if floating:
        if dtype is None:
            raise ValueError("backend_array: floating data needs a dtype")
        a = a.astype(np.float64 if dtype == "float64" else np.float32)
    if backend == "numpy":
        return a.astype(np_dtype(dtype)) if floating else a
    if backend == "torch":
        import torch

        t = torch.from_numpy(np.ascontiguousarray(a))
        return t.to(getattr(torch, dtype)) if floating else t
    if backend == "jax":
        import jax.numpy as jnp

        return jnp.asarray(a).astype(dtype) if floating else jnp.asarray(a)
    import tensorflow as tf

    return tf.cast(tf.constant(a), dtype) if floating else tf.constant(a)
