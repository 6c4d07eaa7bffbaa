"""Framework adapters: the array namespace and device of a loss call.

Data flows one way: a loss asks :func:`get_namespace` for the namespace ``xp`` and device of its
prediction, converts its other arguments with :func:`asarray_on`, computes with ``xp.*`` and
returns the caller's own array type on the caller's device.

Dispatch
--------
* NumPy, PyTorch, JAX, array-api-strict (and anything else array-api-compat knows: CuPy, Dask,
  ndonnx, sparse) go through :func:`array_api_compat.array_namespace`.
* TensorFlow goes through our own namespace, :mod:`lossbridge.backends.tensorflow`, because
  array-api-compat has no TensorFlow support (data-apis/array-api-compat PR #441 is unmerged). The
  seam is one import line in :func:`_load_namespace`, to switch to upstream if it ever lands.
* Framework types are detected through ``sys.modules`` and never imported here, so
  ``import lossbridge`` imports no framework. ``tf.Variable`` is checked besides ``tf.Tensor``:
  a Variable is not a Tensor subclass.
* Look-ups are cached per Python type: a call costs a dict look-up, not a namespace search.
  torch tensors are the exception: they are recognised by one subclass check and never touch a
  cache, so a ``torch.compile`` trace reads and writes no module-level dict (Dynamo guards on a
  dict it reads, and a dict filled while tracing recompiled the function once more afterwards).
  The caches are filled outside traces only: a JAX tracer type, or any type met while
  TensorFlow builds a graph, is looked up afresh each time (trace time only).

The prediction decides the namespace and device. Python scalars, lists and NumPy arrays given as
targets or weights are converted onto it; arrays of two frameworks raise :class:`TypeError`
naming both, arrays on two devices raise :class:`ValueError` naming both.

Extension
---------
The array API lacks a few operations that losses need to be fast or correct under autodiff. The
functions below add them, delegating to the framework's native op where one exists (the
array-api-extra pattern) and falling back to the standard:

* :func:`stop_gradient` -- ``torch.Tensor.detach``, ``jax.lax.stop_gradient``,
  ``tf.stop_gradient``; identity elsewhere.
* :func:`take_along_axis` -- ``torch.gather`` (array-api-compat's version adds three ops to
  handle negative indices), the TF namespace's ``gather_nd``, the standard function elsewhere.
* :func:`is_concrete` -- whether array values may be read (False inside ``jax.jit``,
  ``tf.function`` and ``torch.compile`` tracing, inside ``torch.func`` transforms, and for
  torch's ``meta`` tensors), so value checks run only where they cannot break tracing.
* :func:`fused` -- a framework's fused kernel for one of :mod:`lossbridge._primitives`
  (``F.log_softmax``, ``F.logsigmoid``, ``F.huber_loss(reduction='none')``,
  ``tf.nn.log_softmax``, ``tf.math.squared_difference``, a ``custom_jvp`` ``abs`` for JAX, ...), or
  None, for the generic array-API form (NumPy, array-api-strict, dask and any other namespace).
* :func:`min_max` -- a concrete array's range with one reduction and one host read (the value
  checks' cost on large inputs).

Precision
---------
:func:`half_plan` and :func:`autocast_off` are the framework side of the half-precision rule
(:mod:`lossbridge._precision`): whether a call's prediction is float16/bfloat16 or runs under
``torch.autocast``, and a context that switches autocast off while a loss computes in float32.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import array_api_compat

__all__ = [
    "asarray_on",
    "framework_name",
    "fused",
    "autocast_off",
    "get_namespace",
    "half_plan",
    "is_array",
    "eager_view",
    "is_concrete",
    "min_max",
    "native_half_loss",
    "native_loss",
    "native_off",
    "same_device",
    "stop_gradient",
    "take_along_axis",
    "torch_compiling",
    "upcast",
]

_PY_SCALARS = (bool, int, float, complex)

# type -> framework name ("numpy", "torch", "jax", "tensorflow", "array_api_strict", ...)
_FRAMEWORK_BY_TYPE: dict[type, str] = {}
# type -> namespace module
_NAMESPACE_BY_TYPE: dict[type, Any] = {}


def _is_tf_type(cls: type) -> bool:
    tf = sys.modules.get("tensorflow")
    if tf is None:
        return False
    return issubclass(cls, (tf.Tensor, tf.Variable))


def _is_torch_type(cls: type) -> bool:
    """Whether ``cls`` is a torch tensor type: one subclass check, no cache (Dynamo-safe)."""
    torch = sys.modules.get("torch")
    return torch is not None and issubclass(cls, torch.Tensor)


def _cacheable(cls: type, name: str) -> bool:
    """Whether a look-up for ``cls`` may be cached: not while a trace runs (a JAX tracer type,
    a type met while TensorFlow builds a graph), so no trace ever fills a module-level cache."""
    if name == "jax":
        return not issubclass(cls, sys.modules["jax"].core.Tracer)
    tf = sys.modules.get("tensorflow")
    return tf is None or tf.executing_eagerly()


def _framework_of_type(cls: type) -> str | None:
    """Name of the framework that owns arrays of type ``cls``; None if it is no array type."""
    torch = sys.modules.get("torch")  # _is_torch_type, inline: every look-up passes here
    if torch is not None and issubclass(cls, torch.Tensor):
        return "torch"
    try:
        return _FRAMEWORK_BY_TYPE[cls]
    except KeyError:
        pass
    name: str | None
    np = sys.modules.get("numpy")
    if np is not None and issubclass(cls, (np.ndarray, np.generic)):
        name = "numpy"
    elif _is_tf_type(cls):
        name = "tensorflow"
    elif "jax" in sys.modules and issubclass(cls, sys.modules["jax"].Array):
        name = "jax"
    elif hasattr(cls, "__array_namespace__"):
        name = cls.__module__.split(".")[0]
    else:
        return None  # not cached: an unknown type may become known once a framework loads
    if _cacheable(cls, name):
        _FRAMEWORK_BY_TYPE[cls] = name
    return name


def framework_name(x: Any) -> str | None:
    """Framework that owns ``x`` ("numpy", "torch", "jax", "tensorflow", ...), or None.

    Python scalars, lists and tuples are not arrays of any framework and give None.
    """
    if isinstance(x, _PY_SCALARS) or isinstance(x, (list, tuple)) or x is None:
        return None
    name = _framework_of_type(type(x))
    if name is None:
        # Array types array-api-compat knows by instance (dask, cupy, sparse, ...).
        if array_api_compat.is_array_api_obj(x):
            name = type(x).__module__.split(".")[0]
            if _cacheable(type(x), name):
                _FRAMEWORK_BY_TYPE[type(x)] = name
    return name


def is_array(x: Any) -> bool:
    """True for an array of any supported framework (NumPy included), False for host data."""
    return framework_name(x) is not None


def _load_namespace(framework: str) -> Any:
    """The namespace module of a known framework, or None for others.

    Plain import statements, not importlib: torch.compile traces an import statement but not
    ``importlib.import_module``, and this may run inside a compiled function.
    """
    if framework == "torch":
        import array_api_compat.torch as xp
    elif framework == "numpy":
        import array_api_compat.numpy as xp
    elif framework == "jax":
        import jax.numpy as xp
    elif framework == "tensorflow":
        # The one line to change if array-api-compat ever ships TensorFlow support.
        from lossbridge.backends import tensorflow as xp
    elif framework == "array_api_strict":
        import array_api_strict as xp
    else:
        return None
    return xp


def _namespace_of(x: Any, framework: str) -> Any:
    if framework == "torch":
        return _torch_namespace()
    cls = type(x)
    try:
        return _NAMESPACE_BY_TYPE[cls]
    except KeyError:
        pass
    xp = _load_namespace(framework)
    if xp is None:  # cupy, dask, ...: array-api-compat's search
        xp = array_api_compat.array_namespace(x)
    if _cacheable(cls, framework):
        _NAMESPACE_BY_TYPE[cls] = xp
    return xp


def _torch_namespace() -> Any:
    """array-api-compat's torch namespace: a ``sys.modules`` read (Dynamo guards no dict of
    ours), imported on the first call."""
    try:
        return sys.modules["array_api_compat.torch"]
    except KeyError:
        return _load_namespace("torch")


def _device_of(x: Any, framework: str) -> Any:
    if framework == "torch" or framework == "array_api_strict":
        return x.device
    if framework == "numpy":
        return "cpu"
    if framework == "tensorflow":
        return _load_namespace("tensorflow").device(x)
    return array_api_compat.device(x)


def _describe(x: Any) -> str:
    cls = type(x)
    return f"{cls.__module__}.{cls.__qualname__}"


def get_namespace(*arrays: Any, names: tuple[str, ...] | None = None) -> tuple[Any, Any]:
    """Return ``(xp, device)`` for a loss call.

    Parameters
    ----------
    *arrays
        The call's array arguments, prediction first. ``None``, Python scalars, lists, tuples and
        NumPy arrays after the first framework array are host data: they will be converted onto
        the prediction's framework and device by :func:`asarray_on`.
    names
        Argument names, parallel to ``arrays``, used in error messages.

    Returns
    -------
    xp : module
        The array namespace (array-api-compat's wrapper, ``jax.numpy``, array-api-strict, or
        lossbridge's TensorFlow namespace).
    device : object
        The device of the prediction (``None`` where it is unknown, e.g. a JAX tracer).

    Raises
    ------
    TypeError
        If two arguments are arrays of different frameworks (NumPy arrays count as host data
        unless the prediction itself is a NumPy array).
    ValueError
        If two arrays of the same framework live on different devices.
    """
    if names is None:
        names = tuple(f"argument {i}" for i in range(len(arrays)))
    lead = None  # (index, framework)
    for i, a in enumerate(arrays):
        fw = framework_name(a)
        if fw is None:
            continue
        if lead is None:
            lead = (i, fw)
            continue
        if fw == lead[1] or fw == "numpy":
            continue
        # Two frameworks (a NumPy prediction with a torch target included): refuse, naming both.
        raise TypeError(
            f"{names[i]} is a {fw} array ({_describe(a)}) but {names[lead[0]]} is a "
            f"{lead[1]} array ({_describe(arrays[lead[0]])}); pass arrays of one framework "
            f"(Python scalars, lists and NumPy arrays are converted for you)"
        )
    if lead is None:
        # No array at all: compute with NumPy, like a plain formula would.
        import numpy as np  # noqa: F401  (numpy is a hard dependency)

        return array_api_compat.array_namespace(np.asarray(0.0)), "cpu"
    i0, fw0 = lead
    xp = _namespace_of(arrays[i0], fw0)
    dev = _device_of(arrays[i0], fw0)
    if dev is not None:
        for i, a in enumerate(arrays):
            if i == i0 or framework_name(a) != fw0:
                continue
            d = _device_of(a, fw0)
            if d is not None and not same_device(d, dev):
                raise ValueError(
                    f"{names[i]} is on device {d!r} but {names[i0]} is on device {dev!r}; "
                    "move them to one device"
                )
    return xp, dev


def same_device(a: Any, b: Any) -> bool:
    """Device equality that tolerates frameworks whose device objects compare loosely."""
    if a is None or b is None:
        return True
    return a == b or str(a) == str(b)


def asarray_on(x: Any, xp: Any, device: Any, *, dtype: Any = None, float_dtype: Any = None) -> Any:
    """Convert ``x`` onto namespace ``xp`` and ``device``.

    Arrays already of ``xp``'s framework are returned as they are (cast to ``dtype`` if given).
    Host data (Python scalars, lists, NumPy arrays) is converted; a floating result is cast to
    ``float_dtype`` when given, so a NumPy float64 target does not silently promote a float32
    prediction.
    """
    if x is None:
        return None
    fw = framework_name(x)
    if fw is None:
        # Python scalars, lists, tuples: NumPy finds their kind (a Python float is float64), so
        # they are not rounded through the framework's default float32 on the way to a float64
        # prediction.
        import numpy as np

        x = np.asarray(x)
    native = fw is not None and fw != "numpy" or (fw == "numpy" and _is_numpy_namespace(xp))
    if native:
        if fw == "tensorflow" and not hasattr(x, "ndim"):
            # a tf.Variable: read it into a Tensor (GradientTape differentiates through the
            # read); Variables lack parts of the Tensor interface such as ``ndim``.
            x = xp.asarray(x)
        if dtype is not None and x.dtype != dtype:
            return xp.astype(x, dtype)
        return x
    arr = xp.asarray(x, device=device) if device is not None else xp.asarray(x)
    if dtype is not None:
        if arr.dtype != dtype:
            arr = xp.astype(arr, dtype)
    elif float_dtype is not None and xp.isdtype(arr.dtype, "real floating"):
        if arr.dtype != float_dtype:
            arr = xp.astype(arr, float_dtype)
    return arr


def _is_numpy_namespace(xp: Any) -> bool:
    # A name check rather than array_api_compat.is_numpy_namespace, whose lru_cache helpers
    # torch.compile warns about.
    return getattr(xp, "__name__", "") in ("array_api_compat.numpy", "numpy")


# --------------------------------------------------------------------------------------------
# Extension: native fast paths the array API standard lacks.
# --------------------------------------------------------------------------------------------


def stop_gradient(x: Any) -> Any:
    """``x`` with its gradient stopped (identity for frameworks without autodiff)."""
    fw = framework_name(x)
    if fw == "torch":
        return x.detach()
    if fw == "jax":
        return sys.modules["jax"].lax.stop_gradient(x)
    if fw == "tensorflow":
        return sys.modules["tensorflow"].stop_gradient(x)
    return x


def take_along_axis(xp: Any, x: Any, indices: Any, axis: int) -> Any:
    """``xp.take_along_axis`` with native fast paths; indices must be non-negative."""
    fw = framework_name(x)
    if fw == "torch":
        torch = sys.modules["torch"]
        if indices.dtype != torch.int64:
            indices = indices.to(torch.int64)
        return torch.gather(x, axis, indices)
    if fw == "dask":
        return _dask_take_along_axis(x, indices, axis)
    return xp.take_along_axis(x, indices, axis=axis)


def _dask_take_along_axis(x: Any, indices: Any, axis: int) -> Any:
    """Dask has no ``take_along_axis``: NumPy's per block, ``axis`` held in one chunk.

    ``indices`` (a dask or NumPy array) is broadcast to ``x``'s shape off ``axis`` and
    rechunked like ``x`` there, so each output block reads one block of each; lazy throughout.
    """
    import numpy as np

    da = sys.modules["dask.array"]
    axis = axis % x.ndim
    shape = tuple(n if d == axis else max(n, x.shape[d]) for d, n in enumerate(indices.shape))
    indices = da.broadcast_to(da.asarray(indices), shape)
    x = x.rechunk({axis: -1})
    indices = indices.rechunk({d: -1 if d == axis else x.chunks[d] for d in range(x.ndim)})
    return da.map_blocks(
        np.take_along_axis, x, indices, axis=axis, dtype=x.dtype, chunks=indices.chunks
    )


def is_concrete(x: Any) -> bool:
    """Whether the values of ``x`` can be read without breaking tracing or compilation."""
    fw = framework_name(x)
    if fw == "jax":
        return not isinstance(x, sys.modules["jax"].core.Tracer)
    if fw == "tensorflow":
        return _load_namespace("tensorflow").is_concrete(x)
    if fw == "torch":
        torch = sys.modules["torch"]
        if torch.compiler.is_compiling() or _in_functorch(torch):
            return False
        return x.device.type != "meta" and not _is_fake_torch(x)
    if fw == "dask":
        return False  # reading values would compute the whole graph
    return fw is not None


def eager_view(xp: Any, x: Any) -> tuple[Any, Any] | None:
    """``(namespace, array)`` on which value checks can run eagerly, or None inside a trace.

    JAX stages every operation inside ``jax.jit``, even on concrete closure constants, so its
    checks run on a NumPy view of the concrete values instead (zero-copy on the CPU). So do
    TensorFlow's: eager TensorFlow reductions cost more than NumPy's, and ``np.asarray`` is a
    zero-copy view of a CPU tensor where ``.numpy()`` copies (TensorFlow 2.21).
    """
    fw = framework_name(x)
    if fw == "jax":
        if isinstance(x, sys.modules["jax"].core.Tracer):
            return None
    elif fw != "tensorflow" or not is_concrete(x):
        return (xp, x) if is_concrete(x) else None
    import numpy as np

    return _load_namespace("numpy"), np.asarray(x)


def torch_compiling() -> bool:
    """Whether ``torch.compile`` is tracing (False while torch is not imported; torch first,
    so that a compiled graph guards on nothing else)."""
    compiler = getattr(sys.modules.get("torch"), "compiler", None)
    return compiler is not None and compiler.is_compiling()


def _in_functorch(torch: Any) -> bool:
    """Whether a ``torch.func`` transform (``vmap``, ``grad``, ``jacrev``, ...) is running.

    Its tensors are wrappers without storage (``.numpy()`` fails, even on a plain tensor's
    ``detach()`` under ``grad``) and ``vmap`` refuses ``.item()``: their values are read as a
    trace's are, never.
    """
    return torch._C._functorch.peek_interpreter_stack() is not None


def _is_fake_torch(x: Any) -> bool:
    sub = sys.modules.get("torch._subclasses.fake_tensor")
    return sub is not None and isinstance(x, sub.FakeTensor)


# --------------------------------------------------------------------------------------------
# Fused kernels: one native operation in place of a generic array-API composition.
# --------------------------------------------------------------------------------------------


def fused(xp: Any, name: str) -> Any:
    """The framework's fused form of primitive ``name`` for namespace ``xp``, or None.

    ``name`` is one of ``abs0``, ``abs_error``, ``bce_with_logits``, ``huber``, ``log_sigmoid``,
    ``log_softmax``, ``logsumexp``, ``neg_picked``, ``softplus``, ``squared_error``,
    ``take_along_axis``, ``depthwise_conv2d`` (TensorFlow's in ``_tf_conv``),
    ``min_max``; :mod:`lossbridge._primitives` documents each one's generic form and
    uses this function first. The forms live in ``_torch_ops``, ``_jax_ops`` and ``_tf_ops``,
    imported on first use (so ``import lossbridge`` still imports no framework); every other
    namespace (NumPy, array-api-strict, dask, ...) gets None and the generic form.

    The dispatch reads only the namespace's name (no dict keyed by modules), so
    ``torch.compile`` traces it without a graph break; eagerly it costs about 0.3 µs.
    """
    ns = getattr(xp, "__name__", None)
    if ns == "array_api_compat.torch":
        from lossbridge.backends import _torch_ops as ops
    elif ns == "jax.numpy":
        from lossbridge.backends import _jax_ops as ops
    elif ns == "lossbridge.backends.tensorflow":
        if name == "depthwise_conv2d":
            from lossbridge.backends import _tf_conv as ops
        else:
            from lossbridge.backends import _tf_ops as ops
    else:
        return None
    return getattr(ops, name, None)


#: Whether torch calls may use torch's whole-loss kernels (:func:`native_off` clears it).
_NATIVE_ON = True


def native_loss(name: str, x: Any, *args: Any) -> Any:
    """The framework's own kernel's result for the whole loss ``name``, or None.

    ``x`` is the prediction and ``args`` the loss's other arguments, in its signature's order.
    Only torch has such kernels (:mod:`lossbridge.backends._torch_native`: ``cross_entropy``,
    ``nll_loss``, ``binary_cross_entropy_with_logits``, ``mse_loss``, ``l1_loss``,
    ``huber_loss``, ``smooth_l1_loss``, ``kl_div``); each returns None for a call it does not
    take, and the loss then runs its generic path. Every other framework gets None at once.
    The look-up reads no dict of ours (a ``sys.modules`` entry), so a ``torch.compile`` trace
    leaves no guard on a cache behind it.
    """
    if not (_NATIVE_ON and _is_torch_type(type(x))):
        return None
    try:
        ops = sys.modules["lossbridge.backends._torch_native"]
    except KeyError:
        from lossbridge.backends import _torch_native as ops
    return getattr(ops, name)(x, *args)


@contextlib.contextmanager
def native_off() -> Iterator[None]:
    """A context in which every torch call runs the generic array-API path (the whole-loss
    kernels of :func:`native_loss` off): for tests and benchmarks comparing the two paths."""
    global _NATIVE_ON
    saved, _NATIVE_ON = _NATIVE_ON, False
    try:
        yield
    finally:
        _NATIVE_ON = saved


def native_half_loss(
    name: str, framework: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """The framework's whole-loss kernel for a float16/bfloat16 call outside autocast, or None.

    Offered the loss's own ``args`` and ``kwargs`` uncast by :mod:`lossbridge._precision`
    before it casts them to float32. Only torch has such kernels (``_torch_native.HALF``:
    ``cross_entropy`` with index targets, ``binary_cross_entropy_with_logits``): float32
    inside, rounded once, keeping no N x C float32 tensor for backward where the cast call
    would. Each returns None for a call it does not take, and the rule then runs as usual.
    """
    if framework != "torch":
        return None
    from lossbridge.backends import _torch_native

    kernel = _torch_native.HALF.get(name)
    return None if kernel is None else kernel(*args, **kwargs)


def min_max(xp: Any, x: Any) -> tuple[Any, Any]:
    """``(min, max)`` of a concrete, non-empty array as Python numbers, reading the host once.

    torch: one ``aminmax`` kernel; elsewhere ``xp.min`` and ``xp.max`` (the value checks pass
    :func:`eager_view`'s NumPy view of a JAX or TensorFlow array: no device to synchronise
    with).
    """
    fast = fused(xp, "min_max")
    if fast is not None:
        return fast(x)
    lo, hi = xp.min(x), xp.max(x)
    if xp.isdtype(x.dtype, "integral") or xp.isdtype(x.dtype, "bool"):
        return int(lo), int(hi)
    return float(lo), float(hi)


# --------------------------------------------------------------------------------------------
# Precision: half dtypes and torch autocast (the framework side of lossbridge._precision).
# --------------------------------------------------------------------------------------------

_HALF_NAMES = ("float16", "bfloat16")


def half_plan(x: Any) -> tuple[str, str | None] | None:
    """``(framework, autocast device type or None)`` when ``x`` needs the half-precision rule.

    None (the common case, decided in well under a microsecond) when ``x`` is no array, or is
    an array whose dtype is not float16/bfloat16 and no ``torch.autocast`` is active for its
    device. NumPy's bfloat16 is ml_dtypes' (its dtype's ``name`` is ``'bfloat16'``).
    """
    fw = framework_name(x)
    if fw is None:
        return None
    if fw == "torch":
        torch = sys.modules["torch"]
        # One thread-local read (0.15 us) settles the common case of no autocast anywhere.
        any_on = getattr(torch._C, "_is_any_autocast_enabled", None)
        if any_on is None or any_on():
            device_type = x.device.type
            if torch.amp.is_autocast_available(device_type) and torch.is_autocast_enabled(
                device_type
            ):
                return fw, device_type
        return (fw, None) if x.dtype in (torch.float16, torch.bfloat16) else None
    if getattr(getattr(x, "dtype", None), "name", None) in _HALF_NAMES:
        return fw, None
    return None


def is_half(x: Any, framework: str) -> bool:
    """Whether array ``x`` of ``framework`` is float16 or bfloat16."""
    if framework == "torch":
        torch = sys.modules["torch"]
        return x.dtype == torch.float16 or x.dtype == torch.bfloat16
    return getattr(x.dtype, "name", None) in _HALF_NAMES


def upcast(xp: Any, x: Any) -> Any:
    """The float32 copy of half array ``x`` that the half-precision rule computes with.

    ``xp.astype(x, float32)``, except on TensorFlow, where the cast's gradient makes a sparse
    (``tf.gather``) gradient dense in float32 before rounding it to the half dtype
    (``_tf_ops.upcast``): the sum over repeated rows is then rounded once, as on torch and JAX.
    """
    fast = fused(xp, "upcast")
    return xp.astype(x, xp.float32) if fast is None else fast(x)


def autocast_off(device_type: str) -> Any:
    """A context in which ``torch.autocast`` is off for ``device_type`` (ops keep their dtype)."""
    return sys.modules["torch"].autocast(device_type, enabled=False)
