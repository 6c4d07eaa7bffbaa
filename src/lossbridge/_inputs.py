"""Turning a loss call's arguments into arrays of one namespace, device and float dtype."""

from __future__ import annotations

from typing import Any

from lossbridge._validation import check_array_like, check_floating, check_real_dtype
from lossbridge.backends import asarray_on, framework_name, get_namespace, is_half


def setup(input: Any, /, **others: Any) -> tuple[Any, ...]:
    """Namespace of ``input`` and every argument converted onto it.

    Returns ``(xp, input, *others)`` in the order given. ``input`` must be floating. Host data
    (scalars, lists, NumPy arrays when ``input`` is not NumPy) is moved onto ``input``'s framework
    and device; floating host data takes ``input``'s dtype. ``None`` stays ``None``.
    """
    names = ("input", *others)
    for name, value in zip(names, (input, *others.values()), strict=True):
        check_array_like(value, name)
    xp, device = get_namespace(input, *others.values(), names=names)
    input = asarray_on(input, xp, device)
    check_floating(xp, input, "input")
    converted = [asarray_on(v, xp, device, float_dtype=input.dtype) for v in others.values()]
    for name, value in zip(others, converted, strict=True):
        check_real_dtype(xp, value, name)
    return (xp, input, *converted)


def promote_floats(xp: Any, *arrays: Any) -> list[Any]:
    """Cast arrays to one floating dtype (``None`` entries and Python floats pass through).

    Floating arrays promote by the array API rules (float32 with float64 gives float64, as in
    torch); integer and bool arrays take that floating dtype explicitly, because TensorFlow and
    array-api-strict refuse mixed-kind arithmetic. A Python float (a hyperparameter given as a
    number, :func:`hyper_on`) is weak: it takes no part.
    """
    # type(a) is float: a NumPy float64 scalar (what NumPy's reductions return) is an array here
    arrays_only = [a for a in arrays if a is not None and type(a) is not float]
    floats = [a.dtype for a in arrays_only if xp.isdtype(a.dtype, "real floating")]
    dtype = xp.result_type(*floats) if floats else None
    if dtype is None:  # pragma: no cover - the prediction is always floating
        raise TypeError("no floating array to promote to")
    return [
        a if a is None or type(a) is float or a.dtype == dtype else xp.astype(a, dtype)
        for a in arrays
    ]


def hyper_on(xp: Any, value: Any, like: Any, name: str, like_name: str, loss: str) -> Any:
    """A hyperparameter (:func:`lossbridge._validation.check_real_or_array`) on ``like``'s
    namespace and device.

    A Python float comes back as it is (weak: it never promotes). An array of ``like``'s
    framework keeps its floating dtype, so :func:`promote_floats` promotes it like any array
    (a float32 0-d array with float32 data stays float32, as JAX promotes it); host data (a
    NumPy array with a non-NumPy ``like``) takes ``like``'s float dtype, as every host
    argument does; an integer array takes ``like``'s dtype. An array of another framework
    raises ``TypeError`` naming both arguments.
    """
    if value is None or isinstance(value, float):
        return value
    fw, fw_like = framework_name(value), framework_name(like)
    if fw != fw_like and fw != "numpy":
        raise TypeError(
            f"{loss}: {name} is a {fw} array but {like_name} is a {fw_like} array; pass a "
            "Python number or an array of one framework"
        )
    h = asarray_on(value, xp, get_namespace(like)[1], float_dtype=like.dtype)
    if not (is_half(h, fw_like) or xp.isdtype(h.dtype, "real floating")):
        h = xp.astype(h, like.dtype)
    return h


def arange_on(xp: Any, n: int, dtype: Any, device: Any) -> Any:
    """``xp.arange(n)`` on ``device`` (where it is known; a tracer's is not)."""
    if device is None:
        return xp.arange(n, dtype=dtype)
    return xp.arange(n, dtype=dtype, device=device)


def arange_like(xp: Any, n: int, like: Any, dtype: Any = None) -> Any:
    """``xp.arange(n)`` on the device of the array ``like``."""
    return arange_on(xp, n, dtype, get_namespace(like)[1])
