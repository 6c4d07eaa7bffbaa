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

from lossbridge.backends import eager_view, is_concrete, min_max

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
    # One min/max pair and one host read in the common, valid case; a NaN makes the comparison
    # false (NaN min/max in NumPy, torch and JAX), and the exact search below, which skips NaN,
    # decides.
    lo, hi = min_max(xp, x)
    if lo >= low and hi <= high:
        return
    bad = xp.any(xp.logical_or(x < low, x > high))
    if bool(bad):
        lo = float(xp.min(x))
        hi = float(xp.max(x))
        raise ValueError(f"{name} must have {what} in [{low}, {high}]; got values in [{lo}, {hi}]")


def check_class_indices(
    xp: Any, target: Any, n_classes: int, ignore_index: int | None, name: str = "target"
) -> tuple[int, int] | None:
    """Raise ``ValueError`` if a concrete index ``target`` has a class outside ``[0, C)``.

    One ``min``/``max`` reduction pair and one host read (:func:`lossbridge.backends.min_max`);
    the element-wise search for the offending value runs only when the range is bad.

    Returns
    -------
    (min, max) or None
        The target's range when it was read (a concrete, non-empty target), so a caller may skip
        work the values make unnecessary (e.g. the ``ignore_index`` masks when no target equals
        it); None inside a trace or for an empty target.
    """
    view = eager_view(xp, target)
    if view is None or _size(target) == 0:
        return None
    xp, target = view
    lo, hi = min_max(xp, target)
    if 0 <= lo and hi < n_classes:
        return int(lo), int(hi)
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
    return int(lo), int(hi)


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


# ------------------------------------------------------------------------------------------
# Issue 8: argument kinds, real dtypes, broadcasts that grow the prediction
# ------------------------------------------------------------------------------------------

_NOT_DATA = (str, bytes, bytearray, dict, set, frozenset)


def check_array_like(value: Any, name: str) -> None:
    """Raise ``TypeError`` for an argument that cannot be array data (a ``str``, ``dict``, ...).

    Arrays of any framework, Python numbers, lists and tuples pass (their contents are checked
    once converted, by :func:`check_real_dtype`); ``None`` passes (optional arguments).
    """
    if isinstance(value, _NOT_DATA):
        text = repr(value)
        if len(text) > 40:
            text = text[:37] + "..."
        raise TypeError(
            f"{name} must be an array, a Python number or a (nested) list of numbers; "
            f"got {type(value).__name__} {text}"
        )


def check_real_dtype(xp: Any, x: Any, name: str) -> None:
    """Raise ``TypeError`` unless ``x`` has a bool, integer or real floating dtype.

    For targets and weights, which are cast to the prediction's float dtype: a complex array
    would otherwise lose its imaginary part (or fail deep inside the framework).
    """
    if x is not None and not xp.isdtype(x.dtype, ("bool", "integral", "real floating")):
        raise TypeError(f"{name} must have a real (bool, integer or floating) dtype; got {x.dtype}")


def warn_if_broadcast_grows(input: Any, other: Any, loss: str, name: str = "target") -> None:
    """Warn (eager calls only) where broadcasting ``other`` makes the loss larger than ``input``.

    A target row against a matrix broadcasts silently; an ``(N,)`` input against an ``(N, 1)``
    target gives an ``(N, N)`` loss, which is rarely meant: torch broadcasts it too (warning
    only in ``mse_loss``, ``l1_loss``, ``huber_loss``, ``smooth_l1_loss``), so lossbridge keeps
    the value and warns. ``torch.compile(fullgraph=True)`` cannot trace ``warnings.warn``, so
    traced calls stay silent.
    """
    sa, sb = tuple(input.shape), tuple(other.shape)
    if sa == sb or None in sa or None in sb or not is_concrete(input):
        return
    n = max(len(sa), len(sb))
    pa, pb = (1,) * (n - len(sa)) + sa, (1,) * (n - len(sb)) + sb
    out = tuple(a if b == 1 else b for a, b in zip(pa, pb, strict=True))
    if out != sa:
        warnings.warn(
            f"{loss}: {name} shape {shape_str(sb)} and input shape {shape_str(sa)} broadcast to "
            f"{shape_str(out)}, larger than the input; expected {name} of the input's shape "
            "(or one that broadcasts to it); this is likely not what you want",
            UserWarning,
            stacklevel=3,
        )


def holds_only(xp: Any, x: Any, low: int, high: int) -> bool:
    """Fast path of a label check: True when a concrete, non-empty ``x`` holds only ``low`` and
    ``high`` (integers, ``low < high``).

    At most one elementwise operation and one min/max pair (:func:`lossbridge.backends.min_max`,
    one host read), against the three to five full passes of an elementwise membership test.
    False means "search elementwise": a value outside the pair, or a NaN (which makes every
    comparison false).
    """
    if xp.isdtype(x.dtype, "integral") and high - low == 1:
        lo, hi = min_max(xp, x)
        return lo >= low and hi <= high
    mid = (low + high) / 2
    if mid != 0:
        if xp.isdtype(x.dtype, "integral"):
            return False
        x = x - mid
    lo, hi = min_max(xp, x * x)
    half2 = ((high - low) / 2) ** 2
    return lo == half2 and hi == half2
