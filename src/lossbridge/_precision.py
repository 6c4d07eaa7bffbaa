"""The half-precision rule of every loss, in one place.

A loss decorated with :func:`half_precision` follows these rules (``docs/precision.md`` has the
numbers):

1. **float16 / bfloat16 inputs, outside autocast.** Every float16/bfloat16 array of the
   prediction's framework among the arguments (lists of arrays included) is cast to float32, the
   loss runs in float32 (its accumulations, ``exp``/``log``, the log-softmax shift) and the result
   is cast once to the inputs' half dtype, as torch and optax return it. The casts are part of the
   traced graph, so a gradient comes back in the input's dtype, computed in float32 and rounded
   once (on TensorFlow a lookup's sparse gradient is made dense in float32 before that rounding:
   :func:`lossbridge.backends.upcast`). Mixed floating dtypes follow the array API's promotion:
   a bfloat16 prediction with a float32 target or weight gives float32; float16 with bfloat16
   gives float32 (as torch, JAX and TensorFlow's namespace promote them). Keyword-only
   parameters are hyperparameters (``quantile``, a per-class ``alpha``): computed with in
   float32 too, they never change the result's dtype, except those named in ``promoting`` (the
   optax dialect's ``ArrayLike`` hyperparameters, which JAX promotes: a float32 ``delta`` array
   with bfloat16 predictions gives float32, as optax returns it). A call with ``denominator=COUNT``
   (:func:`lossbridge.mean_denominator`) returns its count in float32, never rounded to the half
   dtype, and no framework half kernel takes a call with a ``denominator``.
2. **Under ``torch.autocast``** (any device type): the same float32 computation with autocast
   switched off inside the loss (so no matmul of the loss runs in half), and a float32 result,
   as ``torch.nn.functional``'s losses return there (torch's autocast float32 op lists). The few
   losses whose torch counterpart keeps the half dtype under autocast on some device (on the
   CPU: ``gaussian_nll_loss``, ``multilabel_soft_margin_loss``,
   ``triplet_margin_with_distance_loss``, ``pairwise_distance``) name that device in
   ``autocast_keeps_half`` and return the half dtype there, computed in float32.
3. float32 and float64 calls outside autocast run the loss as it is: the rule costs one
   dtype look-up per call.

The decorated function is also the loss's public entry: its errors read ``"<loss>: ..."``
(:func:`lossbridge._validation.name_error`).

The framework side (what is half, whether autocast is on, switching it off) lives in
:mod:`lossbridge.backends`; no framework is imported here.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable
from typing import Any, TypeVar, overload

from lossbridge._keras_guard import check_caller
from lossbridge._reduction import COUNT
from lossbridge._validation import _PUBLIC_NAMES, name_error
from lossbridge.backends import (
    autocast_off,
    framework_name,
    get_namespace,
    half_plan,
    is_half,
    native_half_loss,
    upcast,
)

__all__ = ["half_precision"]

#: A loss function: :func:`half_precision` returns one with the same signature.
_Loss = TypeVar("_Loss", bound=Callable[..., Any])


@overload
def half_precision(fn: _Loss, /) -> _Loss: ...


@overload
def half_precision(
    fn: None = None,
    /,
    *,
    autocast_keeps_half: tuple[str, ...] = (),
    promoting: tuple[str, ...] = (),
    float32_result: bool = False,
) -> Callable[[_Loss], _Loss]: ...


def half_precision(
    fn: Callable[..., Any] | None = None,
    /,
    *,
    autocast_keeps_half: tuple[str, ...] = (),
    promoting: tuple[str, ...] = (),
    float32_result: bool = False,
) -> Any:
    """Decorate a loss with the half-precision rule (module docstring).

    Parameters
    ----------
    fn : callable
        The loss; its first parameter is the prediction (or a list of arrays).
    autocast_keeps_half : tuple of str
        Device types (``'cpu'``, ``'cuda'``, ...) on which torch's own loss keeps the half dtype
        under autocast; there the result is cast back to the half dtype.
    promoting : tuple of str
        Keyword-only parameters whose arrays take part in the result's dtype (rule 1): an
        array of the prediction's framework there promotes like a positional argument.
    float32_result : bool
        Return float32 for float16/bfloat16 inputs outside autocast too (computed as rule 1,
        not rounded to the half dtype; no framework half kernel): the losses whose source
        library computes them in float32 whatever the input (ultralytics' varifocal loss) or in
        JAX's default float dtype (optax's ``multiclass_hinge_loss``, ``ctc_loss``, ...).
    """
    if fn is None:
        return functools.partial(
            half_precision,
            autocast_keeps_half=autocast_keeps_half,
            promoting=promoting,
            float32_result=float32_result,
        )
    params = inspect.signature(fn).parameters
    first = next(iter(params))
    # keyword-only parameters are hyperparameters (quantile levels, per-class alpha): they are
    # computed with in float32 like the rest but never promote the result's dtype
    options = frozenset(
        n for n, p in params.items() if p.kind is p.KEYWORD_ONLY and n not in promoting
    )

    name = fn.__name__
    _PUBLIC_NAMES.add(name)

    @functools.wraps(fn)
    def loss(*args: Any, **kwargs: Any) -> Any:
        try:  # free on the success path (CPython 3.11's zero-cost exceptions)
            check_caller(name)  # Keras calling it as fn(y_true, y_pred): an error
            lead = args[0] if args else kwargs.get(first)
            if isinstance(lead, (list, tuple)) and lead:
                lead = lead[0]
            plan = half_plan(lead)
            if plan is None:
                return fn(*args, **kwargs)
            if plan[1] is None and kwargs.get("denominator") is None and not float32_result:
                # half, outside autocast: the framework's half kernel first (which has no
                # denominator parameter: an explicit denominator=None, as the lossbridge.nn
                # classes pass it, must not reach it; torch.compile cannot bind it)
                native = {k: v for k, v in kwargs.items() if k != "denominator"}
                out = native_half_loss(name, plan[0], args, native)
                if out is not None:
                    return out
            keeps = autocast_keeps_half
            return _in_float32(fn, lead, plan, keeps, options, args, kwargs, float32_result)
        except (ValueError, TypeError) as e:
            name_error(e, name)  # "<loss>: ..." (lossbridge._validation, issue 18)
            raise

    loss.__lossbridge_precision__ = autocast_keeps_half  # type: ignore[attr-defined]
    loss.__lossbridge_entry__ = True  # type: ignore[attr-defined]
    return loss


def _in_float32(
    fn: Callable[..., Any],
    lead: Any,
    plan: tuple[str, str | None],
    keeps_half: tuple[str, ...],
    options: frozenset[str],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    float32_result: bool = False,
) -> Any:
    fw, autocast = plan
    xp = get_namespace(lead)[0]
    floats: list[Any] = []  # the floating dtypes of the framework's arrays, as given

    def up(v: Any, seen: list[Any]) -> Any:
        if isinstance(v, (list, tuple)):
            return type(v)(up(e, seen) for e in v)
        if framework_name(v) != fw:
            return v  # host data: converted onto the (float32) prediction by the loss
        if is_half(v, fw):
            seen.append(v.dtype)
            return upcast(xp, v)
        if xp.isdtype(v.dtype, "real floating"):
            seen.append(v.dtype)
        return v

    args = tuple(up(a, floats) for a in args)
    kwargs = {k: up(v, [] if k in options else floats) for k, v in kwargs.items()}
    with autocast_off(autocast) if autocast is not None else contextlib.nullcontext():
        out = fn(*args, **kwargs)
    if kwargs.get("denominator") is COUNT:
        return out  # mean_denominator's count: float32, never rounded to the half dtype
    if autocast is not None and autocast not in keeps_half:
        return out  # float32 (float64 stays float64), as torch's losses under autocast
    if float32_result and autocast is None:
        return out  # float32, as the source library returns it
    if not is_half(lead, fw) or any(d != floats[0] for d in floats):
        return out  # mixed with float32/float64, or float16 with bfloat16: promoted
    return _cast(xp, out, floats[0])


def _cast(xp: Any, out: Any, dtype: Any) -> Any:
    if isinstance(out, tuple):
        return tuple(_cast(xp, o, dtype) for o in out)
    if out is None or out.dtype == dtype:
        return out
    return xp.astype(out, dtype)
