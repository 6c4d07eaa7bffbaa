"""torch's chunked linear cross-entropy kernel (contract: :mod:`lossbridge.backends._linear_ce`).

Three ``torch.library`` custom operators, each with its autograd formula, as torch's own
chunked op (``torch/nn/modules/linear_cross_entropy.py``) is built:

* ``lossbridge::linear_ce_reduced`` -- ``'mean'`` and ``'sum'``. The upstream gradient is one
  number, so the forward computes the loss AND the gradients of ``x``, ``w``, ``b`` (and a
  probability target) from the one logits block each chunk forms; the backward multiplies them
  by the upstream gradient (in place unless ``allow_retain_graph``, torch's rule). One logits
  matmul per chunk instead of two.
* ``lossbridge::linear_ce_rows`` -- the per-row ``(row_loss, row_weight)`` of the contract
  (``'none'``, and the kernel interface); forward only, its inputs saved.
* ``lossbridge::linear_ce_rows_backward`` -- recomputes each chunk's logits and folds the
  per-row upstream gradient into them.

Custom operators are opaque to ``torch.compile``: the graph holds one node and the Python loop
over chunks runs at eager speed inside it, instead of being unrolled once per chunk. Like torch's
chunked op, they support first-order reverse mode only (no double backward, forward mode,
``torch.func`` transforms); the reference path (``options=None``) supports all of them.

The per-chunk formulas are :func:`lossbridge.backends._linear_ce.chunk_rows`, the array-API
code every kernel shares; only the loop, the matmuls and the gradient accumulation are here.
"""

from __future__ import annotations

from typing import Any

import array_api_compat.torch as xp
import torch
from torch import Tensor

from lossbridge.backends._linear_ce import chunk_rows

__all__ = ["chunked_linear_ce", "linear_ce"]


def _empty(like: Tensor, shape: tuple[int, ...] | torch.Size, when: bool) -> Tensor:
    """An empty gradient slot: the full shape when computed, else rank-matching zeros."""
    return like.new_empty(tuple(shape) if when else (0,) * len(shape))


def _loop(
    x: Tensor,
    w: Tensor,
    b: Tensor | None,
    target: Tensor,
    class_weight: Tensor | None,
    ignore_index: int,
    label_smoothing: float,
    z_loss: float,
    softcap: float | None,
    chunk_size: int,
    scale: Tensor | float | None,
    need: tuple[bool, bool, bool, bool],
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]:
    """One pass over the chunks: ``(row_loss, row_weight, gx, gw, gb, gt)``.

    ``scale`` is the upstream gradient of each row's loss (a number for every row, or an (N,)
    tensor); None computes no gradient. ``need`` says which of ``x, w, b, target`` get one.
    """
    n = x.shape[0]
    row_loss = x.new_empty((n,))
    row_weight = x.new_empty((n,))
    grad = scale is not None and any(need)
    need_x, need_w, need_b, need_t = (grad and flag for flag in need)
    gx = _empty(x, x.shape, need_x)
    gw = torch.zeros_like(w) if need_w else _empty(w, w.shape, False)
    gb = torch.zeros_like(w[:, 0]) if need_b else _empty(w, (w.shape[0],), False)
    gt = _empty(x, target.shape, need_t)
    wt = w.t()
    # one (chunk, C) block for every chunk: chunk_rows works in place on it (a fresh block per
    # chunk costs its page faults each time: about a tenth of the time on the CPU)
    block = x.new_empty((min(chunk_size, n), w.shape[0]))
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        xc = x[start:stop]
        logits = block[: stop - start]
        if b is None:
            torch.mm(xc, wt, out=logits)
        else:
            torch.addmm(b, xc, wt, out=logits)
        s = scale[start:stop] if isinstance(scale, Tensor) and scale.ndim else scale
        loss, weight, g, g_t = chunk_rows(
            xp,
            logits,
            target[start:stop],
            class_weight,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            z_loss=z_loss,
            softcap=softcap,
            scale=s if grad else None,
        )
        row_loss[start:stop] = loss
        row_weight[start:stop] = weight
        if not grad:
            continue
        if need_x:
            torch.mm(g, w, out=gx[start:stop])
        if need_w:
            gw.addmm_(g.t(), xc)
        if need_b:
            gb += g.sum(0)
        if need_t:
            gt[start:stop] = g_t
        del g, g_t
    return row_loss, row_weight, gx, gw, gb, gt


# --------------------------------------------------------------------------------------------
# 'mean' and 'sum': gradients computed in the forward pass.
# --------------------------------------------------------------------------------------------


@torch.library.custom_op("lossbridge::linear_ce_reduced", mutates_args=())
def _reduced(
    x: Tensor,
    w: Tensor,
    b: Tensor | None,
    target: Tensor,
    class_weight: Tensor | None,
    ignore_index: int,
    label_smoothing: float,
    z_loss: float,
    softcap: float | None,
    chunk_size: int,
    mean: bool,
    allow_retain_graph: bool,
    need_x: bool,
    need_w: bool,
    need_b: bool,
    need_t: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """``(loss, gx, gw, gb, gt)``: the reduced loss and its gradients for an upstream 1."""
    need = (need_x, need_w, need_b and b is not None, need_t)
    scale: float | Tensor | None = None
    denom = None
    if any(need):
        if mean:
            denom = _row_weight_sum(x, w, target, class_weight, ignore_index)
            # every row ignored: the loss is NaN (0 / 0) and the gradient 0, as torch's
            scale = torch.where(denom == 0, 0.0, 1.0 / denom)
        else:
            scale = 1.0
    row_loss, row_weight, gx, gw, gb, gt = _loop(
        x,
        w,
        b,
        target,
        class_weight,
        ignore_index,
        label_smoothing,
        z_loss,
        softcap,
        chunk_size,
        scale,
        need,
    )
    total = row_loss.sum()
    if mean:
        total = total / (row_weight.sum() if denom is None else denom)
    return total, gx, gw, gb, gt


def _row_weight_sum(
    x: Tensor, w: Tensor, target: Tensor, class_weight: Tensor | None, ignore_index: int
) -> Tensor:
    """``sum(row_weight)`` before the loop (so that the forward can scale the gradients)."""
    if target.is_floating_point():
        return torch.tensor(float(target.shape[0]), dtype=x.dtype, device=x.device)
    valid = target != ignore_index
    if class_weight is None:
        return valid.sum().to(x.dtype)
    safe = torch.where(valid, target, 0)
    return torch.where(valid, class_weight[safe], 0).sum()


@_reduced.register_fake
def _(
    x,
    w,
    b,
    target,
    class_weight,
    ignore_index,
    label_smoothing,
    z_loss,
    softcap,
    chunk_size,
    mean,
    allow_retain_graph,
    need_x,
    need_w,
    need_b,
    need_t,
):
    return (
        x.new_empty(()),
        _empty(x, x.shape, need_x),
        _empty(w, w.shape, need_w),
        _empty(w, (w.shape[0],), need_b and b is not None),
        _empty(x, target.shape, need_t),
    )


def _reduced_setup(ctx: Any, inputs: tuple[Any, ...], output: tuple[Tensor, ...]) -> None:
    ctx.allow_retain_graph = inputs[11]
    flags = inputs[12:16]
    # detached: they are outputs of this node; held with their grad_fn they would form a
    # reference cycle (node -> ctx -> grad -> node), as torch's own op notes
    ctx.grads = [g.detach() if flag else None for g, flag in zip(output[1:], flags, strict=True)]


def _reduced_backward(ctx: Any, grad: Tensor, *_: Any) -> tuple[Any, ...]:
    """The saved gradients times the upstream one, for inputs ``x, w, b, target``."""
    out: list[Any] = [None] * 16
    for i, saved in enumerate(ctx.grads):
        if saved is None:
            continue
        if ctx.allow_retain_graph:
            out[i] = saved * grad
            continue
        if saved is _CONSUMED:
            raise RuntimeError(
                "linear_cross_entropy: backward ran twice through a chunked call, whose "
                "gradients are computed in the forward and handed out in place; pass "
                "LinearCrossEntropyOptions(allow_retain_graph=True) to call backward more than "
                "once (double backward is not supported on the chunked path)"
            )
        ctx.grads[i] = _CONSUMED
        out[i] = saved.mul_(grad)
    return tuple(out)


_CONSUMED: Any = object()

_reduced.register_autograd(_reduced_backward, setup_context=_reduced_setup)


# --------------------------------------------------------------------------------------------
# Per-row losses ('none', and the kernel contract): recomputed in the backward.
# --------------------------------------------------------------------------------------------


@torch.library.custom_op("lossbridge::linear_ce_rows", mutates_args=())
def _rows(
    x: Tensor,
    w: Tensor,
    b: Tensor | None,
    target: Tensor,
    class_weight: Tensor | None,
    ignore_index: int,
    label_smoothing: float,
    z_loss: float,
    softcap: float | None,
    chunk_size: int,
) -> tuple[Tensor, Tensor]:
    """``(row_loss, row_weight)``, forward only."""
    out = _loop(
        x,
        w,
        b,
        target,
        class_weight,
        ignore_index,
        label_smoothing,
        z_loss,
        softcap,
        chunk_size,
        None,
        (False, False, False, False),
    )
    return out[0], out[1]


@_rows.register_fake
def _(x, w, b, target, class_weight, ignore_index, label_smoothing, z_loss, softcap, chunk_size):
    return x.new_empty((x.shape[0],)), x.new_empty((x.shape[0],))


@torch.library.custom_op("lossbridge::linear_ce_rows_backward", mutates_args=())
def _rows_backward(
    grad_rows: Tensor,
    x: Tensor,
    w: Tensor,
    b: Tensor | None,
    target: Tensor,
    class_weight: Tensor | None,
    ignore_index: int,
    label_smoothing: float,
    z_loss: float,
    softcap: float | None,
    chunk_size: int,
    need_x: bool,
    need_w: bool,
    need_b: bool,
    need_t: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Gradients of ``sum(grad_rows * row_loss)``: each chunk's logits formed again."""
    out = _loop(
        x,
        w,
        b,
        target,
        class_weight,
        ignore_index,
        label_smoothing,
        z_loss,
        softcap,
        chunk_size,
        grad_rows,
        (need_x, need_w, need_b and b is not None, need_t),
    )
    return out[2], out[3], out[4], out[5]


@_rows_backward.register_fake
def _(
    grad_rows,
    x,
    w,
    b,
    target,
    class_weight,
    ignore_index,
    label_smoothing,
    z_loss,
    softcap,
    chunk_size,
    need_x,
    need_w,
    need_b,
    need_t,
):
    return (
        _empty(x, x.shape, need_x),
        _empty(w, w.shape, need_w),
        _empty(w, (w.shape[0],), need_b and b is not None),
        _empty(x, target.shape, need_t),
    )


def _rows_setup(ctx: Any, inputs: tuple[Any, ...], output: Any) -> None:
    x, w, b, target, class_weight = inputs[:5]
    # detached: the backward computes the gradients itself and differentiates through nothing
    ctx.save_for_backward(
        x.detach(),
        w.detach(),
        None if b is None else b.detach(),
        target.detach(),
        None if class_weight is None else class_weight.detach(),
    )
    ctx.config = inputs[5:10]


def _rows_grad(ctx: Any, grad_rows: Tensor, _grad_weight: Tensor) -> tuple[Any, ...]:
    x, w, b, target, class_weight = ctx.saved_tensors
    needs = ctx.needs_input_grad
    need = (needs[0], needs[1], b is not None and needs[2], target.is_floating_point() and needs[3])
    if not any(need):
        return (None,) * 10
    gx, gw, gb, gt = _rows_backward(grad_rows, x, w, b, target, class_weight, *ctx.config, *need)
    grads = [g if flag else None for g, flag in zip((gx, gw, gb, gt), need, strict=True)]
    return (*grads, *(None,) * 6)


_rows.register_autograd(_rows_grad, setup_context=_rows_setup)


# --------------------------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------------------------


def chunked_linear_ce(
    x: Tensor,
    w: Tensor,
    b: Tensor | None,
    target: Tensor,
    class_weight: Tensor | None,
    *,
    ignore_index: int,
    label_smoothing: float,
    z_loss: float,
    softcap: float | None,
    chunk_size: int,
) -> tuple[Tensor, Tensor]:
    """``(row_loss, row_weight)`` (the kernel contract); ``row_weight`` carries no gradient."""
    row_loss, row_weight = _rows(
        x,
        w,
        b,
        target,
        class_weight,
        int(ignore_index),
        float(label_smoothing),
        float(z_loss),
        None if softcap is None else float(softcap),
        int(chunk_size),
    )
    return row_loss, row_weight.detach()


def linear_ce(
    x: Tensor,
    w: Tensor,
    b: Tensor | None,
    target: Tensor,
    class_weight: Tensor | None,
    *,
    reduction: str,
    ignore_index: int,
    label_smoothing: float,
    z_loss: float,
    softcap: float | None,
    chunk_size: int,
    allow_retain_graph: bool = False,
) -> Tensor:
    """The reduced loss; ``'mean'``/``'sum'`` through the forward-gradient operator."""
    config = (
        int(ignore_index),
        float(label_smoothing),
        float(z_loss),
        None if softcap is None else float(softcap),
        int(chunk_size),
    )
    if reduction == "none":
        return chunked_linear_ce(
            x,
            w,
            b,
            target,
            class_weight,
            ignore_index=config[0],
            label_smoothing=config[1],
            z_loss=config[2],
            softcap=config[3],
            chunk_size=config[4],
        )[0]
    on = torch.is_grad_enabled()
    need = (
        on and x.requires_grad,
        on and w.requires_grad,
        on and b is not None and b.requires_grad,
        on and target.is_floating_point() and target.requires_grad,
    )
    return _reduced(
        x,
        w,
        b,
        target,
        class_weight,
        *config,
        reduction == "mean",
        bool(allow_retain_graph),
        *need,
    )[0]
