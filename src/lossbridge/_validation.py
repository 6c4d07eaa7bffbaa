"""Input checks with clear errors.

Every message names the argument, what it got and what was expected. Checks on shapes and dtypes
are static and always run. Checks that read array values run only where the array is concrete
(:func:`lossbridge.backends.is_concrete`): never while ``jax.jit``, ``tf.function`` or
``torch.compile`` traces the loss, because reading a value there breaks the trace.

**Every error starts with the loss's name** (issue 18). A ``ValueError`` or ``TypeError`` that
lossbridge raises (the innermost frame of its traceback is in lossbridge) while a public entry
runs reads ``"<name>: <message>"``, ``<name>`` being the entry the user called:

* a function's own name, unqualified: ``cross_entropy`` (core), ``mean_squared_error``
  (:mod:`lossbridge.keras`), ``huber_loss`` (:mod:`lossbridge.optax`);
* a dialect class's name, for its constructor and its calls alike: ``CrossEntropyLoss``
  (:mod:`lossbridge.nn`), ``MeanSquaredError`` (:mod:`lossbridge.keras`); an inherited
  constructor names the subclass;
* the outermost entry wins: ``lossbridge.keras.mean_squared_error`` calling the core
  ``mse_loss`` says ``mean_squared_error: ``, once.

The entries put the prefix on, in one place (:func:`name_error`): the core losses and optax's
through :func:`lossbridge._precision.half_precision`, the Keras and ``torch.nn`` dialects through
:func:`name_public_errors`. Checks therefore need not name the loss (many still do by hand: a
prefix that is a public name is replaced, not repeated). Errors of a framework and of a user's
callback pass unchanged; the exception object and its traceback are kept. The success path costs
nothing (a ``try`` block is free in CPython 3.11) besides one call frame for a dialect
function or class. Where the imitated framework's message is what users' tests match, the
dialect keeps its phrase (Keras: "must have the same shape", "Invalid value for argument";
optax: "valid probability distributions", "Shape mismatch"). Hyperparameters are type-checked
(:func:`check_real`, :func:`check_int`) before any comparison, so a ``str`` never reaches
Python's own "'>' not supported" error.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import warnings
from typing import Any

from lossbridge.backends import (
    eager_view,
    framework_name,
    get_namespace,
    is_concrete,
    is_half,
    min_max,
    stop_gradient,
)

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
) -> tuple[float, float] | None:
    """Raise ``ValueError`` if a concrete ``x`` has values outside ``[low, high]`` (NaN passes).

    One reduction pair and one host read in the common, valid case (one reduction where a
    bound is infinite: ``var >= 0`` needs no maximum).

    Returns
    -------
    (min, max) or None
        The range read (``-inf`` / ``inf`` for the side not read), so that a caller may skip
        work the values make unnecessary (a clamp nothing reaches); None inside a trace or for
        an empty ``x``. The range is NaN where ``x`` holds a NaN.
    """
    view = eager_view(xp, x)
    if view is None or _size(x) == 0:
        return None
    vxp, v = view
    # A NaN makes the comparisons below false (NaN min/max in NumPy, torch and JAX's NumPy
    # view), and the exact search, which skips NaN, decides.
    if high == math.inf:  # detached: torch warns on float() of a tensor that requires grad
        lo, hi = float(vxp.min(stop_gradient(v))), math.inf
    elif low == -math.inf:
        lo, hi = -math.inf, float(vxp.max(stop_gradient(v)))
    else:
        lo, hi = min_max(vxp, v)
    if lo >= low and hi <= high:
        return lo, hi
    bad = vxp.any(vxp.logical_or(v < low, v > high))
    if bool(bad):
        lo = float(vxp.min(v))
        hi = float(vxp.max(v))
        raise ValueError(f"{name} must have {what} in [{low}, {high}]; got values in [{lo}, {hi}]")
    return lo, hi


def check_result(xp: Any, out: Any, diagnose: Any, *inputs: Any) -> Any:
    """``out``, after a check that runs ``diagnose()`` only if ``out`` is NaN or infinite.

    For a loss whose formula turns every invalid input value into a non-finite output
    element (``log1p`` of a value below -1 is NaN, of -1 is -inf): the input checks
    (``diagnose``, which raises the input's ``ValueError``) then run only when the result is
    not finite, which a valid input rarely makes it, and a NaN input still gives NaN (the
    diagnosis finds no invalid value). The check reads the scalar of a ``'mean'`` or ``'sum'``
    reduction (one host read) and one sum of an unreduced ``out`` (finite only if every
    element is), unless ``out`` is empty or larger than the inputs together: then
    ``diagnose()`` runs on the inputs at once. Nothing is read inside a trace.
    """
    # ``out`` is concrete where every input is (a NumPy reduction's result is a NumPy scalar,
    # which eager_view does not take: ask the inputs).
    if not inputs or any(eager_view(xp, a) is None for a in inputs):
        return out
    n = _size(out)
    if n == 0 or n > sum(_size(a) for a in inputs):
        diagnose()
        return out
    view = eager_view(xp, out)
    if view is None:  # a NumPy scalar
        total = out
    else:  # detached: torch warns on float() of a tensor that requires grad
        vxp, v = view
        v = stop_gradient(v)
        total = vxp.sum(v) if v.ndim else v
    if not math.isfinite(float(total)):
        diagnose()
    return out


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


def check_real(
    value: Any,
    name: str,
    *,
    loss: str,
    what: str | None = None,
    finite: bool = False,
    low: float | None = None,
    high: float | None = None,
    strict: bool = False,
) -> float:
    """The one real-number check of the library: a Python (or NumPy) real number, ``bool``
    refused, returned as a float.

    Parameters
    ----------
    value : Any
        What the caller passed.
    name : str
        The argument's name, as the user wrote it.
    loss : str
        The public name of the loss (``"huber_loss"``, ``"keras.Huber"``): every message starts
        with it.
    what : str, optional
        What the argument means, written in parentheses after the expected kind.
    finite : bool
        Refuse ``nan`` and ``+-inf`` (``ValueError``).
    low, high : float, optional
        Bounds of the valid range, inclusive unless ``strict`` (then ``value > low`` and
        ``value < high``). ``nan`` is outside every range.
    strict : bool
        Exclusive bounds.

    Raises
    ------
    TypeError
        ``"<loss>: <name> must be a real number (<what>); got <value>"``.
    ValueError
        ``"<loss>: <name> must be finite; got <value>"``, or ``"<loss>: <name> must be
        > 0 (<what>); got <value>"`` (``>=``, ``<``, ``<=``, or ``in [low, high]``).
    """
    detail = f" ({what})" if what else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{loss}: {name} must be a real number{detail}; got {value!r}")
    v = float(value)
    if finite and not math.isfinite(v):
        raise ValueError(f"{loss}: {name} must be finite{detail}; got {value!r}")
    if low is None and high is None:
        return v
    above = low is None or (v > low if strict else v >= low)
    below = high is None or (v < high if strict else v <= high)
    if not (above and below):  # also nan
        if low is not None and high is not None:
            lb, hb = ("(", ")") if strict else ("[", "]")
            bound = f"in {lb}{low:g}, {high:g}{hb}"
        elif low is not None:
            bound = f"{'>' if strict else '>='} {low:g}"
        else:
            bound = f"{'<' if strict else '<='} {high:g}"
        raise ValueError(f"{loss}: {name} must be {bound}{detail}; got {value!r}")
    return v


def check_real_or_array(
    value: Any, name: str, *, loss: str, what: str | None = None, scalar: bool = False
) -> Any:
    """A hyperparameter the imitated framework takes as a number or an array (optax's
    ``ArrayLike``, what Keras converts with ``ops.convert_to_tensor``).

    A Python or NumPy real number (``bool`` refused) comes back as a float: weak, it never
    promotes the result's dtype. An array of any framework (a 0-d one, a ``jax.jit`` or
    ``jax.grad`` tracer, a ``tf.function`` tensor, a ``tf.Variable``, a ``torch.compile``
    fake tensor) with an integer or real floating dtype comes back as it is; with ``scalar``
    it must be 0-d. Anything else raises ``TypeError`` reading ``"<loss>: <name> must be a
    real number or an array of real numbers (<what>); got <value>"``. Value checks are the
    caller's (:func:`check_concrete_values`: concrete arrays only).
    """
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        return float(value)
    detail = f" ({what})" if what else ""
    kind = "a 0-d array" if scalar else "an array of real numbers"
    fw = framework_name(value)
    if fw is None:
        text = repr(value)
        raise TypeError(
            f"{loss}: {name} must be a real number or {kind}{detail}; got "
            + (text if len(text) <= 40 else text[:37] + "...")
        )
    dtype = getattr(value, "dtype", None)
    xp = get_namespace(value)[0]
    try:
        real = is_half(value, fw) or xp.isdtype(
            xp.asarray(value).dtype if dtype is None else dtype, ("integral", "real floating")
        )
    except (TypeError, ValueError, AttributeError):  # a dtype the namespace does not know
        real = False
    if not real:
        raise TypeError(
            f"{loss}: {name} must be a real number or {kind}{detail}; got a {fw} array of "
            f"dtype {dtype}"
        )
    shape = tuple(getattr(value, "shape", ()))
    if scalar and shape != ():
        raise ValueError(
            f"{loss}: {name} must be a real number or {kind}{detail}; got an array of shape "
            f"{shape_str(shape)}"
        )
    return value


def check_concrete_values(
    xp: Any, value: Any, name: str, *, loss: str, valid: Any, expected: str
) -> None:
    """Raise ``ValueError`` where a concrete array hyperparameter has an invalid value.

    ``valid(vxp, v)`` gives the elementwise validity (a boolean array) on the eager view
    (:func:`lossbridge.backends.eager_view`); inside a trace nothing is read and nothing is
    checked. Python floats are the caller's to check.
    """
    view = eager_view(xp, value)
    if view is None or _size(value) == 0:
        return
    vxp, v = view
    v = stop_gradient(v)
    if not bool(vxp.all(valid(vxp, v))):
        got = float(v) if v.ndim == 0 else f"values in [{float(vxp.min(v))}, {float(vxp.max(v))}]"
        raise ValueError(f"{loss}: {name} must be {expected}; got {got}")


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

    Floating labels -1 and 1, where a zero-copy NumPy view exists (NumPy, JAX's view, CPU
    torch and TensorFlow tensors): one bitwise OR and one bitwise AND over the bits, no
    temporary; the value is +-1 exactly when both have the magnitude bits of 1.0. Otherwise at
    most one elementwise operation and one min/max pair (:func:`lossbridge.backends.min_max`,
    one host read), against the three to five full passes of an elementwise membership test.
    False means "search elementwise": a value outside the pair, or a NaN (which makes every
    comparison false).
    """
    if low == -1 and high == 1 and xp.isdtype(x.dtype, "real floating"):
        both = _sign_free_bits(x)
        if both is not None:
            return both
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


def _sign_free_bits(x: Any) -> bool | None:
    """Whether every value of floating ``x`` is -1 or 1, read from its bits; None without a
    zero-copy NumPy view (a GPU tensor, one that requires grad, bfloat16 torch).

    The OR of all the bit patterns, sign bit masked, has no bit that 1.0 lacks, and the AND
    has every bit 1.0 has: so every magnitude is exactly 1.0 (NaN, inf, 0, -0.0 and every
    other value differ from 1.0 in some bit of the magnitude).
    """
    import numpy as np  # a hard dependency; imported here, not at import time

    try:
        a = x if isinstance(x, np.ndarray) else np.asarray(x)
    except (TypeError, RuntimeError, ValueError):
        return None
    nbits = 8 * a.dtype.itemsize
    if a.dtype.kind not in "fV" or nbits not in (16, 32, 64) or a.size == 0:
        return None
    udt = np.dtype(f"uint{nbits}")
    u = a.view(udt)
    if u.flags.c_contiguous:
        u = u.reshape(-1)  # a view; a flat reduction is ~20% faster than axis=None
    one = int(np.ones(1, a.dtype).view(udt)[0])
    mag = (1 << (nbits - 1)) - 1
    either = int(np.bitwise_or.reduce(u, axis=None))
    every = int(np.bitwise_and.reduce(u, axis=None))
    return (either & mag) == one and (every & mag) == one


# ------------------------------------------------------------------------------------------
# Issue 18: every error starts with the public name the user called
# ------------------------------------------------------------------------------------------

#: The names an error may start with (``"<name>: "``): every public entry's, filled as the
#: entries are made (module import). A message that already starts with one is renamed, not
#: prefixed twice.
_PUBLIC_NAMES: set[str] = set()

_NAMED_TYPES = (ValueError, TypeError)


def check_int(value: Any, name: str, *, what: str | None = None) -> int:
    """A Python integer (``bool`` refused; NumPy integers pass) as an int; ``TypeError``
    naming ``name`` otherwise, before any comparison could raise Python's own ``TypeError``.

    The message reads ``"<name> must be an int (<what>); got <value>"``; the public entry
    prefixes the loss's name (:func:`name_error`). Range checks stay with each loss.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        detail = f" ({what})" if what else ""
        raise TypeError(f"{name} must be an int{detail}; got {value!r}")
    return int(value)


def name_error(error: BaseException, name: str) -> None:
    """Make ``error``'s message read ``"<name>: <message>"`` if lossbridge raised it.

    Only a plain ``ValueError`` or ``TypeError`` whose innermost traceback frame is in
    lossbridge is renamed: a framework's exception, a subclass with its own ``__str__`` and an
    error of a user's callback pass unchanged. A message that starts with a public name
    already (a hand-written ``"cross_entropy: "``, or the name an inner entry gave it) has
    that name replaced, so the outermost entry's name stands once. The exception object and
    its traceback are kept; the caller re-raises it.
    """
    if type(error) not in _NAMED_TYPES or len(error.args) != 1:
        return
    body = error.__dict__.get("_lossbridge_message")
    if body is None:
        message = error.args[0]
        if not isinstance(message, str) or not _raised_in_lossbridge(error):
            return
        head, sep, rest = message.partition(": ")
        body = rest if sep and head in _PUBLIC_NAMES else message
        error._lossbridge_message = body  # type: ignore[attr-defined]
    error.args = (f"{name}: {body}",)


def _raised_in_lossbridge(error: BaseException) -> bool:
    tb = error.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    module = tb.tb_frame.f_globals.get("__name__", "")
    return module == "lossbridge" or module.startswith("lossbridge.")


def public_entry(fn: Any, name: str | None = None) -> Any:
    """``fn`` as a public entry: its lossbridge errors read ``"<name>: ..."`` (:func:`name_error`).

    ``name`` None makes a method's entry: the name is the class of the instance it is called
    on (``type(self).__name__``), so an inherited constructor names the subclass. The core
    losses need no wrapper: :func:`lossbridge._precision.half_precision` names their errors.
    """
    if name is not None:
        _PUBLIC_NAMES.add(name)

    @functools.wraps(fn)
    def entry(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except _NAMED_TYPES as e:
            name_error(e, name if name is not None else type(args[0]).__name__)
            raise

    entry.__lossbridge_entry__ = True  # type: ignore[attr-defined]
    return entry


def name_public_errors(
    namespace: dict[str, Any], methods: tuple[str, ...] = ("__init__", "__call__", "call")
) -> None:
    """Make every object of a dialect module's ``__all__`` a public entry (:func:`public_entry`).

    A function is replaced in ``namespace`` by its entry (one that is already an entry, a
    :func:`~lossbridge._precision.half_precision` loss, stays as it is). A class gets entries
    for its ``methods`` where it or a base class of the same module defines them, named after
    the instance's class (``lossbridge.nn`` names ``__init__`` and ``forward``: its
    ``__call__`` only calls ``forward``, whose entry then names the errors of both). Call it
    where the module's functions are defined and before other module-level objects refer to
    them. A check given the qualified name (``check_real(..., loss="nn.HuberLoss")``, as
    :func:`lossbridge.get` names it) has it replaced by the entry's too.
    """
    module = namespace["__name__"]
    dialect = module.rpartition(".")[2]
    for public in namespace["__all__"]:
        obj = namespace.get(public)
        _PUBLIC_NAMES.add(f"{dialect}.{public}")
        if inspect.isclass(obj):
            _PUBLIC_NAMES.add(obj.__name__)
            for cls in obj.__mro__:
                if cls.__module__ != module:
                    continue
                for method in methods:
                    fn = vars(cls).get(method)
                    if inspect.isfunction(fn) and not hasattr(fn, "__lossbridge_entry__"):
                        setattr(cls, method, public_entry(fn))
        elif inspect.isfunction(obj) and not hasattr(obj, "__lossbridge_entry__"):
            namespace[public] = public_entry(obj, public)


# ------------------------------------------------------------------------------------------
# Issue 16: denominator= (global means across shards, devices and accumulation steps)
# ------------------------------------------------------------------------------------------


def check_denominator(
    value: Any, reduction: str, *, loss: str, means: tuple[str, ...] = ("mean",)
) -> Any:
    """The user's ``denominator=`` checked, for :func:`lossbridge._reduction.reduce`'s ``override``.

    ``None`` comes back as None (the loss's own count). A Python real number (``bool``
    refused; NumPy scalars pass) must be finite and ``>= 0`` and comes back as a float (``0``
    gives inf/nan as ``0/0`` does in torch); an array must be 0-d with a real (integer or
    floating) dtype, and its value is not read (it may be traced). The private
    :data:`lossbridge._reduction.COUNT` passes. Any of them with a ``reduction`` not in
    ``means``: ``ValueError``.
    """
    from lossbridge._reduction import COUNT

    if value is None:
        return None
    if reduction not in means:
        expected = " or ".join(repr(m) for m in means)
        raise ValueError(
            f"{loss}: denominator= applies to reduction={expected}; got reduction={reduction!r}"
        )
    if value is COUNT:
        return value
    if isinstance(value, (str, bytes, bool)) or not (
        isinstance(value, numbers.Real) or hasattr(value, "shape")
    ):
        raise TypeError(
            f"{loss}: denominator must be a real number or a 0-d array (the count the 'mean' "
            f"divides by); got {type(value).__name__} {value!r:.40}"
        )
    if isinstance(value, numbers.Real) and framework_name(value) is None:
        v = float(value)  # a Python or NumPy scalar
        if not (math.isfinite(v) and v >= 0.0):
            raise ValueError(
                f"{loss}: denominator must be a finite number >= 0 (the count the 'mean' "
                f"divides by); got {v!r}"
            )
        return v
    shape = tuple(value.shape)
    if shape != ():
        raise ValueError(
            f"{loss}: denominator must be a real number or a 0-d array; got an array of shape "
            f"{shape_str(shape)}"
        )
    dtype = getattr(value, "dtype", None)
    kind = getattr(dtype, "kind", None)  # NumPy dtypes
    name = str(getattr(dtype, "name", dtype))
    if kind is not None and kind not in "iuf" or any(s in name for s in ("bool", "complex")):
        raise TypeError(
            f"{loss}: denominator must have a real (integer or floating) dtype; got {name}"
        )
    if framework_name(value) == "numpy":  # host data: checked and used as a Python number
        return check_denominator(float(value), reduction, loss=loss, means=means)
    return value


def no_denominator(denominator: Any, *, loss: str, why: str) -> None:
    """``ValueError`` for a ``denominator=`` given to a loss whose mean is not a ratio."""
    if denominator is not None:
        raise ValueError(
            f"{loss}: 'mean' is not a sum divided by a count ({why}), so it takes no denominator"
        )
