"""The chunked linear cross-entropy kernels, one per framework, behind one dispatcher.

:func:`lossbridge.linear_cross_entropy` with ``options`` computes ``cross_entropy(x @ w.T + b)``
one chunk of rows at a time, so that the ``(N, C)`` logits never exist: at most one
``(chunk_size, C)`` block is alive, in the forward and in the backward. The loop and the
gradient are framework code (a custom gradient that recomputes or precomputes each chunk's
logits), so they live here, in ``backends/``; the loss in ``src/`` validates, resolves the chunk
size, reshapes and reduces.

Kernel contract
---------------
Every framework's kernel has the signature of :func:`chunked_linear_ce`::

    chunked_linear_ce(x, w, b, target, class_weight, *, ignore_index, label_smoothing,
                      z_loss, softcap, chunk_size) -> (row_loss, row_weight)

* ``x`` (N, D), ``w`` (C, D), ``b`` (C,) or None, ``class_weight`` (C,) or None: one floating
  dtype, float32 or float64 (the caller has already cast float16/bfloat16 to float32).
* ``target``: (N,) integer class indices, or (N, C) class probabilities of ``x``'s dtype.
* ``ignore_index`` (int): index targets equal to it give ``row_loss = 0``, ``row_weight = 0``
  and no gradient; unused for probability targets. Other indices are in ``[0, C)`` (checked by
  the caller where the values are concrete).
* ``label_smoothing`` (float ``eps`` in [0, 1]), ``z_loss`` (float ``z >= 0``), ``softcap``
  (float ``c > 0`` or None), ``chunk_size`` (Python int >= 1; need not divide N).

With ``l = x @ w.T + b`` (then ``l <- c * tanh(l / c)`` when ``softcap`` is given),
``lse_n = logsumexp_c l_{n,c}`` and ``log p = l - lse``:

* ``row_weight_n``: index targets ``w_{y_n}`` (1 without ``class_weight``; 0 when ignored);
  probability targets 1. It is what ``'mean'`` divides by (summed). No gradient flows through it.
* ``ce_n`` exactly as ``cross_entropy(l, target, weight=class_weight, ignore_index=...,
  label_smoothing=eps, reduction='none')`` gives it: index targets
  ``(1 - eps) * w_{y_n} * (-log p_{n,y_n}) + eps / C * sum_c w_c * (-log p_{n,c})`` (w = 1
  without ``class_weight``), 0 when ignored; probability targets
  ``-sum_c w_c * t'_{n,c} * log p_{n,c}`` with ``t' = (1 - eps) * t + eps / C``.
* ``row_loss_n = ce_n + row_weight_n * z * lse_n ** 2`` (PaLM's z-loss, weighted like its row,
  so that ``'mean'`` = ``sum(row_loss) / sum(row_weight)`` averages the z term exactly as it
  averages the cross-entropy, and rescaling ``class_weight`` changes nothing).

Gradients flow from ``row_loss`` to ``x``, ``w``, ``b`` and to a probability ``target`` (as in
torch's reference path); never through ``row_weight``, and none to ``class_weight``.

Frameworks: the array-API generic kernel here (NumPy, array-api-strict, others: forward only,
in chunks), torch in :mod:`lossbridge.backends._linear_ce_torch` (an ``autograd.Function``
behind ``torch.library`` custom operators), JAX in :mod:`lossbridge.backends._linear_ce_jax`
(``jax.custom_vjp`` over a ``lax`` loop of chunks) and TensorFlow in
:mod:`lossbridge.backends._linear_ce_tf` (``tf.custom_gradient`` over a ``tf.while_loop``).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from lossbridge.backends import framework_name, get_namespace, take_along_axis

__all__ = [
    "ChunkSpec",
    "chunk_rows",
    "chunked_linear_ce",
    "generic_chunked_linear_ce",
    "reduce_rows",
]


def chunked_linear_ce(
    x: Any,
    w: Any,
    b: Any,
    target: Any,
    class_weight: Any,
    *,
    ignore_index: int,
    label_smoothing: float,
    z_loss: float,
    softcap: float | None,
    chunk_size: int,
) -> tuple[Any, Any]:
    """``(row_loss, row_weight)`` of the linear cross-entropy, chunk by chunk (module docstring).

    Dispatches on the framework of ``x``; the kernels share this signature.
    """
    fw = framework_name(x)
    if fw == "torch":
        from lossbridge.backends._linear_ce_torch import chunked_linear_ce as kernel
    elif fw == "jax":
        from lossbridge.backends._linear_ce_jax import chunked_linear_ce as kernel
    elif fw == "tensorflow":
        from lossbridge.backends._linear_ce_tf import chunked_linear_ce as kernel
    else:
        kernel = generic_chunked_linear_ce
    return kernel(
        x,
        w,
        b,
        target,
        class_weight,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        z_loss=z_loss,
        softcap=softcap,
        chunk_size=chunk_size,
    )


def reduce_rows(
    xp: Any,
    x: Any,
    w: Any,
    b: Any,
    target: Any,
    class_weight: Any,
    *,
    reduction: str,
    ignore_index: int,
    label_smoothing: float,
    z_loss: float,
    softcap: float | None,
    chunk_size: int,
    allow_retain_graph: bool = False,
) -> Any:
    """The reduced chunked loss: ``'none'`` rows, their ``'sum'``, or ``sum / sum(row_weight)``.

    torch reduces inside its kernel (:func:`lossbridge.backends._linear_ce_torch.linear_ce`):
    for ``'mean'`` and ``'sum'`` the upstream gradient is one number, so the gradients are
    computed in the forward pass from the one logits block each chunk forms (one matmul per
    chunk fewer than recomputing it in the backward, as torch's own chunked op does).
    """
    kw = {
        "ignore_index": ignore_index,
        "label_smoothing": label_smoothing,
        "z_loss": z_loss,
        "softcap": softcap,
        "chunk_size": chunk_size,
    }
    if framework_name(x) == "torch":
        from lossbridge.backends._linear_ce_torch import linear_ce

        return linear_ce(
            x,
            w,
            b,
            target,
            class_weight,
            reduction=reduction,
            allow_retain_graph=allow_retain_graph,
            **kw,
        )
    row_loss, row_weight = chunked_linear_ce(x, w, b, target, class_weight, **kw)
    if reduction == "none":
        return row_loss
    if reduction == "sum":
        return xp.sum(row_loss)
    # every row ignored: NaN (0 / 0) as torch, with gradient 0 as torch's (its rows' gradient
    # is 0, and a cotangent of 1 / 0 would turn it into 0 * inf = NaN)
    denom = xp.sum(row_weight)
    empty = denom == 0
    safe = xp.where(empty, xp.ones_like(denom), denom)
    return xp.where(empty, xp.full_like(denom, xp.nan), xp.sum(row_loss) / safe)


# --------------------------------------------------------------------------------------------
# One chunk's rows: the formulas of the module docstring, in the array API.
# --------------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ChunkSpec:
    """The static (hashable) part of a kernel call: a compiled kernel's cache key and its
    non-differentiable argument (the JAX and TensorFlow kernels), with the namespace of its
    arrays."""

    xp: Any
    chunk_size: int
    ignore_index: int
    label_smoothing: float
    z_loss: float
    softcap: float | None

    @classmethod
    def of(
        cls,
        xp: Any,
        *,
        chunk_size: int,
        ignore_index: int,
        label_smoothing: float,
        z_loss: float,
        softcap: float | None,
    ) -> ChunkSpec:
        """The spec of a call, its numbers as Python scalars."""
        cap = None if softcap is None else float(softcap)
        return cls(
            xp, int(chunk_size), int(ignore_index), float(label_smoothing), float(z_loss), cap
        )

    def rows(self, logits: Any, target: Any, cw: Any, scale: Any = None) -> Any:
        """:func:`chunk_rows` of a block: ``(row_loss, row_weight, d_logits, d_target)``."""
        return chunk_rows(
            self.xp,
            logits,
            target,
            cw,
            ignore_index=self.ignore_index,
            label_smoothing=self.label_smoothing,
            z_loss=self.z_loss,
            softcap=self.softcap,
            scale=scale,
        )


def chunk_rows(
    xp: Any,
    logits: Any,
    target: Any,
    class_weight: Any,
    *,
    ignore_index: int,
    label_smoothing: float,
    z_loss: float,
    softcap: float | None,
    scale: Any = None,
) -> tuple[Any, Any, Any, Any]:
    """Row losses of one ``(B, C)`` block of logits, and optionally their gradients.

    Returns ``(row_loss, row_weight, grad_logits, grad_target)``: ``row_loss`` and ``row_weight``
    of shape (B,) as the module docstring defines them. With ``scale`` (the upstream gradient
    of each row's loss: a number, a 0-d array, or a (B,) array; ``1 / sum(row_weight)`` for
    ``'mean'``) also ``scale_n * d row_loss_n / d logits_n`` (B, C), the softcap's derivative
    included, and for probability targets ``scale_n * d row_loss_n / d target_n`` (B, C) (else
    None); without it both are None.

    ``logits`` is consumed: torch's kernel hands over a fresh block, and it is overwritten in
    place there (each in-place step saves a (B, C) allocation and its page faults per chunk).

    The gradient is written out rather than left to autodiff, so that a kernel's backward (or
    its forward, when the upstream gradient is known) forms it from one logits block, with
    ``p`` the softmax of the (capped) logits:

    * index targets: ``(a_n + eps / C * W + 2 z r_n lse_n) p_n - a_n e_{y_n} - eps / C * w``
      with ``r_n`` the row weight, ``a_n = (1 - eps) r_n``, ``w`` the class weights (ones) and
      ``W = sum(w)``; 0 for ignored rows;
    * probability targets: ``(A_n + 2 z lse_n) p_n - a_n`` with ``a_n = w * t'_n``,
      ``A_n = sum(a_n)``; and ``-(1 - eps) * w * log p_n`` for the target;
    * softcap ``c``: times ``1 - tanh(l / c) ** 2``.
    """
    n_classes: Any = logits.shape[1]  # C, as a float for the smoothing terms
    if n_classes is None:  # unknown while tracing (a tf.function that relaxed its shapes)
        n_classes = xp.sum(xp.ones_like(logits[:1, :]))
    else:
        n_classes = float(n_classes)
    eps = float(label_smoothing)
    dtype = logits.dtype
    tanh = None
    capped = logits
    if softcap is not None:
        tanh = xp.tanh(logits / softcap)
        capped = softcap * tanh
    m = xp.max(capped, axis=1, keepdims=True)
    m = xp.where(m > -xp.inf, m, xp.zeros_like(m))  # a row of -inf: no shift (NaN, as torch)
    shifted = _inplace(xp, capped, "sub_", m)
    prob = xp.isdtype(target.dtype, "real floating")
    if scale is not None and getattr(scale, "ndim", 0) == 1:
        scale = xp.expand_dims(scale, axis=1)
    if prob:
        e = xp.exp(shifted)  # not in place: log p = shifted - log s is needed below
        s = xp.sum(e, axis=1, keepdims=True)
        log_s = xp.log(s)
        lse = m + log_s
        t = target if eps == 0.0 else target * (1.0 - eps) + eps / n_classes
        a = t if class_weight is None else t * class_weight
        big_a = xp.sum(a, axis=1, keepdims=True)
        # -sum_c a_c log p_c, log p = shifted - log s
        ce = xp.squeeze(big_a * log_s, axis=1) - xp.sum(a * shifted, axis=1)
        lse1 = xp.squeeze(lse, axis=1)
        row_weight = xp.ones_like(lse1)
        row_loss = ce if z_loss == 0.0 else ce + z_loss * lse1 * lse1
        if scale is None:
            return row_loss, row_weight, None, None
        coef = (big_a + 2.0 * z_loss * lse) * scale / s
        g = e * coef - a * scale
        gt = (-(1.0 - eps) * scale) * (shifted - log_s)
        grad_target = gt if class_weight is None else gt * class_weight
        return row_loss, row_weight, _capped_grad(xp, g, tanh), grad_target

    valid = target != ignore_index
    safe = xp.where(valid, target, xp.zeros_like(target))
    valid_f = xp.astype(valid, dtype)
    if class_weight is None:
        row_weight = valid_f
    else:
        picked_w = xp.take(class_weight, safe, axis=0)
        row_weight = xp.where(valid, picked_w, xp.zeros_like(picked_w))
    idx = xp.expand_dims(safe, axis=1)
    picked = xp.squeeze(take_along_axis(xp, shifted, idx, 1), axis=1)
    if eps > 0.0:  # sum_c w_c * shifted_c, read before the exp below overwrites it
        weighted = shifted if class_weight is None else shifted * class_weight
        shifted_sum = xp.sum(weighted, axis=1)
    e = _inplace(xp, shifted, "exp_")
    s = xp.sum(e, axis=1, keepdims=True)
    log_s1 = xp.log(xp.squeeze(s, axis=1))
    lse1 = xp.squeeze(m, axis=1) + log_s1
    ce = row_weight * (log_s1 - picked)
    total = n_classes if class_weight is None else xp.sum(class_weight)
    if eps > 0.0:
        # -sum_c w_c log p_c = W * log s - sum_c w_c * shifted_c
        smooth = total * log_s1 - shifted_sum
        ce = (1.0 - eps) * ce + (eps / n_classes) * smooth
    if z_loss != 0.0:
        ce = ce + z_loss * row_weight * lse1 * lse1
    # where, not a product: an ignored row with an infinite logit gives 0, not NaN
    row_loss = xp.where(valid, ce, xp.zeros_like(ce))
    if scale is None:
        return row_loss, row_weight, None, None
    coef = (1.0 - eps) * row_weight + 2.0 * z_loss * row_weight * lse1
    if eps > 0.0:
        coef = coef + (eps / n_classes) * total * valid_f
    coef = xp.expand_dims(coef, axis=1) * scale / s  # ignored rows: 0
    g = _inplace(xp, e, "mul_", coef)
    g = _add_at(
        xp, g, safe, xp.squeeze(-(1.0 - eps) * xp.expand_dims(row_weight, axis=1) * scale, axis=1)
    )
    if eps > 0.0:
        per_class = 1.0 if class_weight is None else class_weight
        g = g - (eps / n_classes) * xp.expand_dims(valid_f, axis=1) * scale * per_class
    return row_loss, row_weight, _capped_grad(xp, g, tanh), None


def _capped_grad(xp: Any, g: Any, tanh: Any) -> Any:
    """The gradient through ``c * tanh(l / c)``: times ``1 - tanh ** 2`` (None: no cap)."""
    if tanh is None:
        return g
    return g * (1.0 - tanh * tanh)


def _inplace(xp: Any, a: Any, op: str, *args: Any) -> Any:
    """``a - b`` (``'sub_'``), ``exp(a)`` (``'exp_'``), ``a * b`` (``'mul_'``); in place on torch.

    Only for arrays the caller owns (a chunk's own logits block and what is made from it).
    """
    if framework_name(a) == "torch":
        return getattr(a, op)(*args)
    if op == "sub_":
        return a - args[0]
    if op == "mul_":
        return a * args[0]
    return xp.exp(a)


def _add_at(xp: Any, g: Any, index: Any, values: Any) -> Any:
    """``g[n, index[n]] += values[n]`` for each row ``n`` (a native scatter where there is one)."""
    fw = framework_name(g)
    if fw == "torch":
        index = index if index.dtype == xp.int64 else xp.astype(index, xp.int64)
        return g.scatter_add_(
            1, index[:, None], xp.broadcast_to(values[:, None], index[:, None].shape)
        )
    if fw == "jax":
        return g.at[xp.arange(g.shape[0]), index].add(values)
    classes = _arange(xp, g.shape[1], index.dtype, g)
    hot = xp.expand_dims(classes, axis=0) == xp.expand_dims(index, axis=1)
    return g + xp.where(hot, xp.expand_dims(values, axis=1), xp.zeros_like(g))


def _arange(xp: Any, n: int, dtype: Any, like: Any) -> Any:
    """``xp.arange(n)`` on the device of ``like`` (where it is known; a tracer's is not)."""
    device = get_namespace(like)[1]
    if device is None:
        return xp.arange(n, dtype=dtype)
    return xp.arange(n, dtype=dtype, device=device)


# --------------------------------------------------------------------------------------------
# The array-API kernel (NumPy, array-api-strict, ...): forward only.
# --------------------------------------------------------------------------------------------


def generic_chunked_linear_ce(
    x: Any,
    w: Any,
    b: Any,
    target: Any,
    class_weight: Any,
    *,
    ignore_index: int,
    label_smoothing: float,
    z_loss: float,
    softcap: float | None,
    chunk_size: int,
) -> tuple[Any, Any]:
    """The array-API kernel: a Python loop over chunks, forward only.

    NumPy and array-api-strict have no autodiff, so no backward is needed; each chunk's
    ``(chunk_size, C)`` logits block is freed before the next is formed.
    """
    xp = get_namespace(x)[0]
    n = x.shape[0]
    wt = xp.matrix_transpose(w)
    losses, weights = [], []
    for start in range(0, n, chunk_size):
        stop = min(start + chunk_size, n)
        logits = xp.matmul(x[start:stop, ...], wt)
        if b is not None:
            logits = logits + b
        loss, weight, _, _ = chunk_rows(
            xp,
            logits,
            target[start:stop, ...],
            class_weight,
            ignore_index=ignore_index,
            label_smoothing=label_smoothing,
            z_loss=z_loss,
            softcap=softcap,
        )
        losses.append(loss)
        weights.append(weight)
        del logits
    if not losses:
        empty = xp.zeros((0,), dtype=x.dtype)
        return empty, empty
    return xp.concat(losses), xp.concat(weights)
