"""Reductions shared by every loss, and the denominators of their means.

torch's conventions: ``'none'`` returns the per-element loss, ``'sum'`` its sum, ``'mean'`` its
mean, or, for weighted losses, the weighted mean ``sum(w * l) / sum(w)`` (the caller passes the
denominator). ``'batchmean'`` (kl_div only) divides the sum by the size of the first axis.

Issue 16: a loss's ``'mean'`` is ``sum(numerator) / count``; a caller may replace the count with
its own ``denominator=`` (the count summed over data-parallel members or accumulation steps), and
:func:`mean_denominator` returns the count itself. Both go through :func:`reduce`'s ``override``,
so that the count a mean divides by and the count :func:`mean_denominator` reports come from the
same line of code.
"""

from __future__ import annotations

import inspect
from typing import Any

__all__ = ["COUNT", "mean_denominator", "reduce"]


class _Count:
    """The type of :data:`COUNT`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "lossbridge._reduction.COUNT"


#: Private sentinel passed as ``denominator=`` by :func:`mean_denominator`: the loss returns the
#: count its ``'mean'`` divides by (:func:`reduce` with ``override=COUNT``), as a 0-d array.
COUNT: Any = _Count()


def reduce(
    xp: Any, loss: Any, reduction: str, *, denominator: Any = None, override: Any = None
) -> Any:
    """Reduce ``loss`` as ``reduction`` says.

    Parameters
    ----------
    xp : namespace
    loss : array
        The unreduced loss.
    reduction : {'none', 'mean', 'sum', 'batchmean'}
        Already validated by the caller.
    denominator : array or int, optional
        The loss's own count. For ``'mean'``: divide the sum by this instead of the element
        count (weighted means, means over non-ignored items). An empty selection gives NaN, as
        in torch. For ``'batchmean'``: the batch size (default: the size of the first axis).
    override : float, array or COUNT, optional
        The user's ``denominator=`` (already validated by
        :func:`lossbridge._validation.check_denominator`; ``'mean'``/``'batchmean'`` only):
        the sum is divided by it instead of the loss's own count. :data:`COUNT` returns the own
        count itself, as a 0-d array of ``loss``'s dtype and device.
    """
    if reduction == "none":
        return loss
    if reduction == "sum":
        return xp.sum(loss)
    if reduction == "mean" or reduction == "batchmean":
        if override is COUNT:
            return _count(xp, loss, reduction, denominator)
        if override is not None:
            if hasattr(override, "dtype") and override.dtype != loss.dtype:
                override = xp.astype(override, loss.dtype)
            return xp.sum(loss) / override
        if reduction == "mean":
            if denominator is None:
                return xp.mean(loss)
            return xp.sum(loss) / denominator
        # kl_div passes input.shape[0] (torch divides by the input's, not the loss's, batch).
        n = denominator if denominator is not None else (loss.shape[0] if loss.ndim else 1)
        return xp.sum(loss) / n
    raise AssertionError(f"unvalidated reduction {reduction!r}")  # pragma: no cover


def _count(xp: Any, loss: Any, reduction: str, denominator: Any) -> Any:
    """The count a ``'mean'``/``'batchmean'`` of ``loss`` divides by, as a 0-d array."""
    zero = xp.zeros_like(xp.sum(loss))  # loss's dtype and device, traced shapes included
    if denominator is None:
        if reduction == "batchmean":
            denominator = loss.shape[0] if loss.ndim else 1
        elif None in tuple(loss.shape):  # an unknown dimension while tracing
            return xp.sum(xp.ones_like(loss))
        else:
            denominator = 1
            for d in loss.shape:
                denominator *= int(d)
    if hasattr(denominator, "dtype"):
        if denominator.dtype != zero.dtype:
            denominator = xp.astype(denominator, zero.dtype)
        return xp.reshape(denominator, ())
    return zero + float(denominator)


def mean_denominator(loss: Any, *args: Any, **kwargs: Any) -> Any:
    """What ``loss(*args, **kwargs)``'s ``'mean'`` divides by: its count, for global means.

    A loss's ``'mean'`` is ``sum(numerator) / count``: the count is the number of elements, or
    the sum of the class weights of the non-ignored targets, or the batch size (each loss's
    ``denominator`` parameter says which). Split a batch into shards (data-parallel members,
    gradient-accumulation steps), sum their counts into ``D``, and call the loss on each shard
    with ``denominator=D``: the shards' losses (and gradients) add up to the full batch's mean,
    whatever the shards' sizes or ignored targets.

    Parameters
    ----------
    loss : callable
        A core loss (``lossbridge.cross_entropy``, ...); a dialect object that defines
        ``_mean_denominator(*args, **kwargs)`` is asked for it.
    *args, **kwargs
        The loss's arguments, as for the call whose count is wanted. ``reduction`` may be left
        out (``'mean'``); kl_div also takes ``'batchmean'``.

    Returns
    -------
    array
        A 0-d array of the prediction's framework and device, in the loss's compute dtype
        (float32 for float16/bfloat16 inputs: a count above 2048 is not exact in float16).

    Raises
    ------
    TypeError
        ``loss`` is not a lossbridge loss.
    ValueError
        ``reduction`` is not a mean, or the loss's mean is not a sum divided by a count
        (``rmse_loss``, ...).

    Examples
    --------
    Cross-entropy with ignored targets and class weights: the count is the sum of the weights
    of the non-ignored targets.

    >>> import numpy as np
    >>> import lossbridge
    >>> logits = np.array([[2.0, 0.0, 1.0], [0.5, 1.5, 0.0], [1.0, 1.0, 3.0], [0.0, 2.0, 0.0]])
    >>> target = np.array([0, -100, 2, 1])
    >>> weight = np.array([1.0, 2.0, 0.5])
    >>> d = lossbridge.mean_denominator(lossbridge.cross_entropy, logits, target, weight=weight)
    >>> float(d), float(weight[0] + weight[2] + weight[1])
    (3.5, 3.5)

    Two shards of the batch, each divided by the total count, add up to the full batch's mean:

    >>> ce = lossbridge.cross_entropy
    >>> shards = [slice(0, 1), slice(1, 4)]
    >>> total = sum(
    ...     lossbridge.mean_denominator(ce, logits[s], target[s], weight=weight) for s in shards
    ... )
    >>> parts = [ce(logits[s], target[s], weight=weight, denominator=total) for s in shards]
    >>> full = lossbridge.cross_entropy(logits, target, weight=weight)
    >>> bool(np.isclose(parts[0] + parts[1], full, rtol=1e-15, atol=0.0))
    True
    """
    hook = getattr(loss, "_mean_denominator", None)
    if hook is not None:
        return hook(*args, **kwargs)  # a dialect loss (lossbridge.nn / keras / optax)
    if not _is_core_loss(loss):
        raise TypeError(
            "mean_denominator: loss must be a lossbridge loss (a core function such as "
            f"lossbridge.cross_entropy, or a dialect loss object); got {_describe(loss)}"
        )
    name = loss.__name__
    try:
        bound = inspect.signature(loss).bind_partial(*args, **kwargs)
    except TypeError as e:
        raise TypeError(f"{name}: {e}") from None
    params = inspect.signature(loss).parameters
    if "denominator" not in params:
        raise ValueError(
            f"{name}: it has no 'mean' reduction, so mean_denominator has no count to return"
        )
    if "denominator" in bound.arguments:
        raise TypeError(f"mean_denominator: {name}: pass no denominator= (it returns the count)")
    reduction = bound.arguments.get("reduction", "mean")
    if reduction not in ("mean", "batchmean"):
        raise ValueError(
            f"mean_denominator: {name}: reduction={reduction!r} has no denominator; "
            "expected 'mean' (kl_div: or 'batchmean')"
        )
    bound.arguments["reduction"] = reduction
    bound.arguments["denominator"] = COUNT
    return loss(*bound.args, **bound.kwargs)


def _is_core_loss(fn: Any) -> bool:
    """A public core loss: a function of ``lossbridge.__all__`` marked as a loss entry."""
    import lossbridge

    name = getattr(fn, "__name__", None)
    return (
        isinstance(name, str)
        and getattr(fn, "__lossbridge_entry__", False) is True
        and getattr(lossbridge, name, None) is fn
    )


def _describe(obj: Any) -> str:
    name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    module = getattr(obj, "__module__", None) or type(obj).__module__
    text = repr(obj)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{module}.{name} ({text})"
