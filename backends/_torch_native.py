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

``HALF`` holds the kernels for float16/bfloat16 logits outside autocast
(:func:`lossbridge.backends.native_half_loss`, offered the uncast call by the precision rule):
``cross_entropy`` with index targets and ``binary_cross_entropy_with_logits`` compute in
float32, round once, and keep no N x C float32 tensor for backward (section below).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

__all__ = [
    "HALF",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "half_binary_cross_entropy_with_logits",
    "half_cross_entropy",
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


def _index_call_ok(
    input: Any,
    target: Any,
    weight: Any,
    ignore_index: Any,
    reduction: Any,
    floats: tuple[Any, ...] = _FLOATS,
) -> bool:
    if not (
        type(target) in _TENSORS
        and input.dtype in floats
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
        if type(ignore_index) is not int or ignore_index >= 0:
            return None  # torch raises RuntimeError; the generic path raises lossbridge's error
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
    return w is None or (_like(w, input) and _broadcasts(w, input))


def _broadcasts(w: Any, input: Any) -> bool:
    """``w``'s shape broadcasts to the input's without growing it."""
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


# --------------------------------------------------------------------------------------------
# Half inputs outside autocast: float32 inside, nothing N x C in float32 kept for backward.
# --------------------------------------------------------------------------------------------
#
# The precision rule (``lossbridge._precision``) computes a float16/bfloat16 call in float32 and
# rounds the result once. Cast first and handed to the kernels above, the call would keep float32
# copies for the backward pass: ``F.cross_entropy`` an N x C float32 log-softmax (twice the
# bytes of the half one that F keeps on half logits), ``F.binary_cross_entropy_with_logits``
# float32 copies of the logits and the targets (F on half inputs keeps none beyond them). The
# rule therefore first offers the uncast call to ``HALF`` (through
# ``backends.native_half_loss``); these kernels compute the forward in float32 from the half
# tensors, keep only the half inputs (and one float32 number per item for cross-entropy), and
# recompute in float32 in backward, returning a gradient rounded once to the input's dtype.
# Under ``torch.compile`` Dynamo traces them (``torch.autograd.Function``, ``fullgraph=True``);
# with ``create_graph=True`` their backward runs out of place, so it can be differentiated
# again. Index targets only on the CPU eagerly, as above.

_HALFS = (torch.float16, torch.bfloat16)
_NONES = (None,) * 5  # no gradient for the arguments after the logits


def _half_dtype(input: Any, *others: Any) -> Any:
    """The result dtype of the rule for a half ``input`` and the other float tensors, or None.

    The input's half dtype when every other tensor has it; float32 when some are float32 (the
    array API's promotion, as the rule gives); None (not taken) for any other mix, or where a
    tensor other than the input needs a gradient.
    """
    dtype = input.dtype
    for t in others:
        if t is None:
            continue
        if type(t) not in _TENSORS or t.requires_grad or t.device != input.device:
            return None
        if t.dtype == torch.float32:
            dtype = torch.float32
        elif t.dtype != input.dtype:
            return None
    return dtype


class _HalfCrossEntropy(torch.autograd.Function):
    """Index-target cross-entropy of half logits: float32 inside, half logits saved.

    Forward: ``F.nll_loss`` of the float32 ``log_softmax`` (a transient); kept for backward,
    besides the half logits, the float32 ``log p`` of each item's target class ``k``.
    Backward recomputes ``log p_c = (x_c - x_k) + log p_k`` (``x_c - x_k`` is exact in float32,
    so this is as accurate as torch's ``x - max - log sum``) and returns
    ``coef * (p - onehot)`` (``coef`` = the item's class weight and reduction factor), rounded
    once to the logits' dtype.
    """

    @staticmethod
    def forward(ctx, input, target, weight, ignore_index, reduction, out_dtype):  # noqa: ANN001, ANN205
        w = None if weight is None else weight.float()
        logp = F.log_softmax(input.float(), dim=1)
        out = F.nll_loss(logp, target, w, ignore_index=ignore_index, reduction=reduction)
        k = torch.where(target != ignore_index, target, 0).unsqueeze(1)  # class 0 where ignored
        ctx.save_for_backward(input, target, weight, logp.gather(1, k))
        ctx.ignore_index, ctx.reduction = ignore_index, reduction
        return out.to(out_dtype)

    @staticmethod
    def backward(ctx, grad):  # noqa: ANN001, ANN205
        input, target, weight, logp_k = ctx.saved_tensors
        valid = target != ctx.ignore_index
        safe = torch.where(valid, target, 0)
        k = safe.unsqueeze(1)
        coef = valid.float() if weight is None else weight.float()[safe] * valid
        g = grad.float()
        if ctx.reduction == "mean":
            # every item ignored: the mean is NaN but its gradient 0, as in F (0 / 0 avoided)
            total = coef.sum()
            coef = coef * (g / torch.where(total == 0, 1.0, total))
        else:
            coef = coef * g
        coef = coef.unsqueeze(1)
        if torch.is_grad_enabled():  # create_graph: out of place, differentiable in the logits
            p = F.softmax(input.float(), dim=1)
            return (p * coef).scatter_add(1, k, -coef).to(input.dtype), *_NONES
        # log p_c = (x_c - x_k) + log p_k, x_c - x_k exact in float32 (two half numbers)
        x_k = input.gather(1, k).float()
        p = input.float().sub_(x_k).add_(logp_k).exp_().mul_(coef)  # one float32 N x C
        p.scatter_add_(1, k, -coef)
        return p.to(input.dtype), *_NONES


class _HalfBCEWithLogits(torch.autograd.Function):
    """BCE-with-logits of half inputs: float32 inside, nothing saved but the arguments.

    Backward recomputes ``s = sigmoid(x)`` in float32 and returns
    ``w * ((1 + (p - 1) t) s - p t)`` times the reduction factor (torch's formula), rounded
    once to the logits' dtype.
    """

    @staticmethod
    def forward(ctx, input, target, weight, pos_weight, reduction, out_dtype):  # noqa: ANN001, ANN205
        f = [None if t is None else t.float() for t in (input, target, weight, pos_weight)]
        out = F.binary_cross_entropy_with_logits(
            f[0], f[1], f[2], reduction=reduction, pos_weight=f[3]
        )
        ctx.save_for_backward(input, target, weight, pos_weight)
        ctx.reduction = reduction
        return out.to(out_dtype)

    @staticmethod
    def backward(ctx, grad):  # noqa: ANN001, ANN205
        input, target, weight, pos_weight = ctx.saved_tensors
        g = grad.float()
        scale = g / input.numel() if ctx.reduction == "mean" else g
        if torch.is_grad_enabled():  # create_graph: out of place, differentiable in the logits
            s = torch.sigmoid(input.float())
            if pos_weight is None:
                d = s - target
            else:
                pt = pos_weight * target.float()
                d = s * (pt + 1 - target) - pt
            d = d * scale if weight is None else d * weight * scale
            return d.to(input.dtype), *_NONES
        d = input.float().sigmoid_()  # in place, mixed-dtype operands: one float32 N x C
        if pos_weight is None:
            d.sub_(target)
        else:
            pt = pos_weight * target.float()
            d.mul_(pt + 1 - target).sub_(pt)
        if weight is not None:
            d.mul_(weight)
        d.mul_(scale)
        return d.to(input.dtype), *_NONES


def _half_run(fn: Any, *args: Any) -> Any:
    """``fn.apply(*args)``; ``None`` where torch refuses the call (eager only)."""
    if _is_compiling():
        return fn.apply(*args)
    try:
        return fn.apply(*args)
    except _REFUSED:
        return None


def _ce_args(
    input: Any,
    target: Any,
    weight: Any = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> tuple[Any, ...]:
    return input, target, weight, ignore_index, reduction, label_smoothing


def half_cross_entropy(*args: Any, **kwargs: Any) -> Any:
    """``cross_entropy`` (the loss's own signature) on half logits with index targets.

    Taken for plain tensors, float16/bfloat16 logits of two or more dimensions, int64
    targets on the CPU, no label smoothing, a weight of the logits' dtype or float32 (then the
    result is float32) that needs no gradient; else None.
    """
    try:
        input, target, weight, ignore_index, reduction, label_smoothing = _ce_args(*args, **kwargs)
    except TypeError:
        return None
    if (
        type(input) not in _TENSORS
        or input.dtype not in _HALFS
        or input.ndim < 2
        or type(label_smoothing) not in (float, int)
        or label_smoothing != 0
        or not _index_call_ok(input, target, None, ignore_index, reduction, _HALFS)
    ):
        return None
    out_dtype = _half_dtype(input, weight)
    if out_dtype is None:
        return None
    return _half_run(_HalfCrossEntropy, input, target, weight, ignore_index, reduction, out_dtype)


def _bce_args(
    input: Any, target: Any, weight: Any = None, reduction: str = "mean", pos_weight: Any = None
) -> tuple[Any, ...]:
    return input, target, weight, reduction, pos_weight


def half_binary_cross_entropy_with_logits(*args: Any, **kwargs: Any) -> Any:
    """``binary_cross_entropy_with_logits`` (the loss's own signature) on half logits.

    Taken for plain tensors, float16/bfloat16 logits, a target of the logits' shape and
    ``weight``/``pos_weight`` broadcasting to it without growing it, each of the logits'
    dtype or float32 (then the result is float32), none of them needing a gradient; else None.
    """
    try:
        input, target, weight, reduction, pos_weight = _bce_args(*args, **kwargs)
    except TypeError:
        return None
    if (
        type(input) not in _TENSORS
        or input.dtype not in _HALFS
        or reduction not in _REDUCTIONS
        or type(target) not in _TENSORS
        or target.shape != input.shape
    ):
        return None
    out_dtype = _half_dtype(input, target, weight, pos_weight)
    if out_dtype is None or not all(
        w is None or _broadcasts(w, input) for w in (weight, pos_weight)
    ):
        return None
    return _half_run(_HalfBCEWithLogits, input, target, weight, pos_weight, reduction, out_dtype)


#: The whole-loss kernels for half inputs outside autocast (``backends.native_half_loss``).
HALF = {
    "cross_entropy": half_cross_entropy,
    "binary_cross_entropy_with_logits": half_binary_cross_entropy_with_logits,
}
