"""torch's own loss functions behind :func:`lossbridge.backends.native_loss` (imported with torch).

A loss whose numbers are torch's by definition (the core follows ``torch.nn.functional``) can
hand a plain-tensor call straight to torch's fused loss kernel: one dispatch and no Python
set-up, which is what decides tiny inputs (an (8, 4) cross-entropy is about 5 µs in torch, and
the generic path's argument handling alone costs several times that) and the reductions
(``F.mse_loss(reduction='mean')`` fuses the mean into the kernel and its backward broadcasts a
scalar, where an elementwise kernel followed by ``mean`` makes one more full pass each way).

Each function takes the loss's own arguments and returns the loss, or ``None`` when the call is
not one it takes, and the caller then runs the generic array-API path, which is the definition.
A function takes a call only when its result provably equals the generic path's:

* plain ``torch.Tensor`` arguments (or ``nn.Parameter``), float32/float64 predictions, the
  dtypes and shapes torch and lossbridge treat alike (no broadcasting, which lossbridge warns
  about; integer class indices as int64), no argument whose gradient conventions differ (the
  generic path documents them: ``binary_cross_entropy`` at probabilities 0 and 1, ``kl_div``'s
  target gradient at 0 are not taken);
* index targets only on the CPU, where torch rejects an out-of-range class by raising; on CUDA an
  out-of-range index is a device-side assert, so the generic path checks the range first.

Bad input is never torch's error: a call torch refuses (an ``IndexError``, ``RuntimeError``,
``ValueError`` or ``TypeError``) returns ``None`` and the generic path raises lossbridge's error,
naming the argument. Under ``torch.compile`` the functions run without the ``try`` (Dynamo
traces the gates, which are static, and the kernel); what torch does there with an
out-of-range class is what it does for its own loss.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

__all__ = [
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "mse_loss",
    "nll_loss",
    "smooth_l1_loss",
]

_TENSORS = (torch.Tensor, torch.nn.Parameter)
_FLOATS = (torch.float32, torch.float64)
_REDUCTIONS = ("mean", "sum", "none")
_REFUSED = (IndexError, RuntimeError, ValueError, TypeError)
_is_compiling = torch.compiler.is_compiling


def _pair_ok(input: Any, target: Any) -> bool:
    """Two plain tensors of one float dtype, shape and device."""
    return (
        type(target) in _TENSORS
        and input.dtype in _FLOATS
        and target.dtype == input.dtype
        and target.shape == input.shape
        and target.device == input.device
    )


def _like(w: Any, input: Any) -> bool:
    """A plain tensor of the input's dtype and device."""
    return type(w) in _TENSORS and w.dtype == input.dtype and w.device == input.device


def _run(fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``; ``None`` where torch refuses the call (eager only)."""
    if _is_compiling():
        return fn(*args, **kwargs)
    try:
        return fn(*args, **kwargs)
    except _REFUSED:
        return None


def _index_call_ok(input: Any, target: Any, weight: Any, ignore_index: Any, reduction: Any) -> bool:
    if not (
        type(target) in _TENSORS
        and input.dtype in _FLOATS
        and target.dtype == torch.int64
        and type(ignore_index) is int
        and reduction in _REDUCTIONS
        and input.ndim >= 1
        and target.ndim == input.ndim - 1  # torch takes a (1,) target for a (C,) input
    ):
        return False
    if not _is_compiling() and not (input.is_cpu and target.is_cpu):
        return False  # CUDA/meta: the generic path reads the class range first
    return weight is None or _like(weight, input)


def cross_entropy(
    input: Any,
    target: Any,
    weight: Any,
    ignore_index: Any,
    reduction: Any,
    label_smoothing: Any,
) -> Any:
    """``F.cross_entropy`` for index targets (int64) or probability targets (input's dtype)."""
    if type(label_smoothing) not in (float, int) or not 0 <= label_smoothing <= 1:
        return None
    if target.__class__ in _TENSORS and target.dtype != torch.int64:
        if not (_pair_ok(input, target) and reduction in _REDUCTIONS and input.ndim >= 1):
            return None
        if weight is not None and not _like(weight, input):
            return None
    elif not _index_call_ok(input, target, weight, ignore_index, reduction):
        return None
    return _run(
        F.cross_entropy,
        input,
        target,
        weight,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=float(label_smoothing),
    )


def nll_loss(input: Any, target: Any, weight: Any, ignore_index: Any, reduction: Any) -> Any:
    """``F.nll_loss`` for int64 class indices."""
    if not _index_call_ok(input, target, weight, ignore_index, reduction):
        return None
    return _run(F.nll_loss, input, target, weight, ignore_index=ignore_index, reduction=reduction)


def _fits(w: Any, input: Any) -> bool:
    """``w`` is None, or a plain tensor of the input's dtype and device that broadcasts to the
    input's shape without growing it."""
    if w is None:
        return True
    if not _like(w, input):
        return False
    ws, xs = w.shape, input.shape
    if len(ws) > len(xs):
        return False
    return all(a == b or a == 1 for a, b in zip(reversed(ws), reversed(xs), strict=False))


def binary_cross_entropy_with_logits(
    input: Any, target: Any, weight: Any, reduction: Any, pos_weight: Any
) -> Any:
    """``F.binary_cross_entropy_with_logits`` (the generic path's elementwise kernel already)."""
    if not (
        _pair_ok(input, target)
        and reduction in _REDUCTIONS
        and _fits(weight, input)
        and _fits(pos_weight, input)
    ):
        return None
    return _run(
        F.binary_cross_entropy_with_logits,
        input,
        target,
        weight,
        reduction=reduction,
        pos_weight=pos_weight,
    )


def _pointwise(fn: Any, input: Any, target: Any, reduction: Any, weight: Any, **kw: Any) -> Any:
    if weight is not None or reduction not in _REDUCTIONS or not _pair_ok(input, target):
        return None
    return _run(fn, input, target, reduction=reduction, **kw)


def mse_loss(input: Any, target: Any, reduction: Any, weight: Any) -> Any:
    """``F.mse_loss`` (no weight)."""
    return _pointwise(F.mse_loss, input, target, reduction, weight)


def l1_loss(input: Any, target: Any, reduction: Any, weight: Any) -> Any:
    """``F.l1_loss`` (no weight)."""
    return _pointwise(F.l1_loss, input, target, reduction, weight)


def huber_loss(input: Any, target: Any, reduction: Any, delta: Any, weight: Any) -> Any:
    """``F.huber_loss`` (no weight; ``delta`` checked positive by the caller)."""
    return _pointwise(F.huber_loss, input, target, reduction, weight, delta=float(delta))


def smooth_l1_loss(input: Any, target: Any, reduction: Any, beta: Any) -> Any:
    """``F.smooth_l1_loss`` (``beta`` checked non-negative by the caller)."""
    return _pointwise(F.smooth_l1_loss, input, target, reduction, None, beta=float(beta))


_KL_REDUCTION = {"none": 0, "mean": 1, "sum": 2}


def kl_div(input: Any, target: Any, reduction: Any, log_target: Any) -> Any:
    """``torch.kl_div`` (the kernel behind ``F.kl_div``, without its warning for 'mean').

    Not taken when the target needs a gradient: torch's ``xlogy`` derivative at a zero target
    is NaN, the generic path's is finite (documented there).
    """
    if (
        type(log_target) is not bool
        or not _pair_ok(input, target)
        or target.requires_grad
        or (reduction == "batchmean" and input.ndim == 0)
    ):
        return None
    if reduction == "batchmean":
        out = _run(torch.kl_div, input, target, 2, log_target=log_target)
        return None if out is None else out / input.shape[0]
    code = _KL_REDUCTION.get(reduction) if isinstance(reduction, str) else None
    if code is None:
        return None
    return _run(torch.kl_div, input, target, code, log_target=log_target)
