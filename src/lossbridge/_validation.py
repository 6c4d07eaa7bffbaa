"""Input checks with clear errors.

Every message names the argument, what it got and what was expected. Checks on shapes and dtypes
are static and always run. Checks that read array values run only where the array is concrete
(:func:`lossbridge.backends.is_concrete`): never while ``jax.jit``, ``tf.function`` or
``torch.compile`` traces the loss, because reading a value there breaks the trace.
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any

from lossbridge.backends import eager_view, is_concrete

REDUCTIONS = ("none", "mean", "sum")


def check_reduction(reduction: Any, allowed: tuple[str, ...] = REDUCTIONS) -> str:
    """Raise ``ValueError`` unless ``reduction`` is one of ``allowed``."""
    if not isinstance(reduction, str) or reduction not in allowed:
        raise ValueError(
            f"reduction={reduction!r} is not a valid reduction; expected one of "
            + ", ".join(repr(r) for r in allowed)
        )
    return reduction


def shape_str(shape: Any) -> str:
    """``(2, 3)``-style text for a shape (``(3,)`` for one dimension)."""
    dims = tuple(shape)
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


def check_floating(xp: Any, x: Any, name: str) -> None:
    """Raise ``TypeError`` unless ``x`` has a real floating dtype."""
    if not xp.isdtype(x.dtype, "real floating"):
        raise TypeError(f"{name} must have a real floating dtype; got {x.dtype}")


def check_integer(xp: Any, x: Any, name: str, expected: str) -> None:
    """Raise ``TypeError`` unless ``x`` has an integer dtype."""
    if not xp.isdtype(x.dtype, "integral"):
        raise TypeError(f"{name} must have an integer dtype ({expected}); got {x.dtype}")


def check_same_shape(a: Any, b: Any, name_a: str, name_b: str) -> None:
    """Raise ``ValueError`` unless ``a`` and ``b`` have the same shape."""
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(
            f"{name_b} has shape {shape_str(b.shape)} but {name_a} has shape "
            f"{shape_str(a.shape)}; expected the same shape"
        )


def check_broadcastable(a: Any, b: Any, name_a: str, name_b: str) -> None:
    """Raise ``ValueError`` unless the shapes of ``a`` and ``b`` broadcast together.

    Every backend then fails the same way (NumPy, JAX and torch raise three different errors).
    Unknown dimensions (``None`` while tracing) pass.
    """
    sa, sb = tuple(a.shape), tuple(b.shape)
    for da, db in zip(reversed(sa), reversed(sb), strict=False):  # trailing dims only
        if da is not None and db is not None and da != db and da != 1 and db != 1:
            raise ValueError(
                f"{name_b} has shape {shape_str(sb)} but {name_a} has shape {shape_str(sa)}; "
                "expected the same shape (or shapes that broadcast together)"
            )


def warn_if_broadcast(input: Any, target: Any, loss: str) -> None:
    """torch's warning for a target whose shape differs from the input's (it broadcasts).

    Eager calls only: ``warnings.warn`` cannot be traced by ``torch.compile(fullgraph=True)``.
    """
    if tuple(input.shape) != tuple(target.shape) and is_concrete(input):
        warnings.warn(
            f"{loss}: target shape {shape_str(target.shape)} differs from input shape "
            f"{shape_str(input.shape)}; they are broadcast together, which is likely not what "
            "you want (torch.nn.functional does the same and warns)",
            UserWarning,
            stacklevel=3,
        )


def check_range(
    xp: Any, x: Any, name: str, low: float, high: float, *, what: str = "values"
) -> None:
    """Raise ``ValueError`` if a concrete ``x`` has values outside ``[low, high]`` (NaN passes)."""
    view = eager_view(xp, x)
    if view is None or _size(x) == 0:
        return
    xp, x = view
    bad = xp.any(xp.logical_or(x < low, x > high))
    if bool(bad):
        lo = float(xp.min(x))
        hi = float(xp.max(x))
        raise ValueError(f"{name} must have {what} in [{low}, {high}]; got values in [{lo}, {hi}]")


def check_class_indices(
    xp: Any, target: Any, n_classes: int, ignore_index: int | None, name: str = "target"
) -> None:
    """Raise ``ValueError`` if a concrete index ``target`` has a class outside ``[0, C)``."""
    view = eager_view(xp, target)
    if view is None or _size(target) == 0:
        return
    xp, target = view
    bad = xp.logical_or(target < 0, target >= n_classes)
    if ignore_index is not None:
        bad = xp.logical_and(bad, target != ignore_index)
    if bool(xp.any(bad)):
        vals = xp.where(bad, target, xp.zeros_like(target))
        worst = int(xp.max(vals)) if bool(xp.any(vals > 0)) else int(xp.min(vals))
        extra = f" or ignore_index={ignore_index}" if ignore_index is not None else ""
        raise ValueError(
            f"{name} holds class index {worst}, out of range for {n_classes} classes; "
            f"expected values in [0, {n_classes - 1}]{extra}"
        )


def check_real(value: Any, name: str, *, loss: str | None = None, what: str | None = None) -> float:
    """A Python real number (``bool`` refused) as a float; ``TypeError`` naming ``name`` otherwise.

    The message reads ``"<loss>: <name> must be a real number (<what>); got <value>"``, the
    prefix and the parenthesis only where given. Range checks stay with each loss.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        prefix = f"{loss}: " if loss else ""
        detail = f" ({what})" if what else ""
        raise TypeError(f"{prefix}{name} must be a real number{detail}; got {value!r}")
    return float(value)


def _size(x: Any) -> int:
    n = 1
    for d in x.shape:
        if d is None:
            return -1
        n *= int(d)
    return n
