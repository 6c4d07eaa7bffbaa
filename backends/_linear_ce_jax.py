r"""JAX's chunked linear cross-entropy kernel (contract: :mod:`lossbridge.backends._linear_ce`).

One ``jax.custom_vjp`` over a ``lax.scan`` of row chunks: ``N // B`` full chunks in the scan,
and the ``N mod B`` remaining rows through the same body once more (one compiled body per
shape, no padding, nothing that grows with ``N``). What happens to a ``(B, C)`` block of logits
is :func:`lossbridge.backends._linear_ce.chunk_rows`, shared by every kernel; this module only
loops and multiplies matrices.

* Primal (no differentiation, e.g. ``jax.jit`` of the loss alone): per chunk the logits, the
  row losses, and nothing kept.
* Forward of ``jax.vjp``/``jax.grad``: per chunk the logits, the row losses and the gradients
  for a cotangent of 1 on every row, as torch's chunked op does: ``dx`` rows (written per
  chunk), ``dW``, ``db`` (accumulated over chunks) and, for probability targets that are
  differentiated, ``dt`` rows. Three matrix products per chunk, as many as the materialized
  ``cross_entropy(x @ w.T + b)`` needs forward and backward together; the residuals are the
  size of the inputs and no ``(B, C)`` block outlives its chunk. ``symbolic_zeros`` tells which
  inputs are differentiated: the others' products are skipped.
* Backward, for the cotangent ``g`` of the row losses: ``dx`` and ``dt`` are per row, so
  ``g[:, None] * dx`` is exact for any ``g``. ``dW`` and ``db`` sum over rows and are linear in
  ``g``: ``dW(g) = g0 dW(1) + dW(g - g0)``, with ``g0`` the value of ``g`` when it is one value
  on every counted row (what a ``'mean'`` or ``'sum'`` of the rows gives: then the second term
  is 0 and skipped), and the second term recomputed chunk by chunk otherwise (a weighted sum
  of ``reduction='none'`` rows: two more products per chunk).

No gradient flows through ``row_weight``, nor to ``class_weight``.

Memory (XLA's ``memory_analysis`` of ``jax.jit(jax.value_and_grad(...))``, temporaries, at
N=4096, D=512, V=32768 float32): 72 MiB at B=32, 104 at B=256, 264 at B=1024, against 1024 MiB
for the materialized ``optax.softmax_cross_entropy_with_integer_labels(x @ w.T + b, t)``. Below
B of a few hundred the time grows on a CPU: every chunk reads and writes the ``(C, D)``
accumulator of ``dW`` (and XLA writes each chunk's product to a temporary before adding it).

Chunking changes the result only by float rounding: a row's loss and its ``dx`` row come from
the same row of products whatever ``B`` is (up to the matrix-product kernel's blocking), and
``dW``, ``db`` add ``ceil(N / B)`` partial sums instead of one.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax import lax

from lossbridge.backends._linear_ce import ChunkSpec

__all__ = ["chunked_linear_ce"]


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
    """``(row_loss, row_weight)`` for JAX arrays (see :mod:`lossbridge.backends._linear_ce`)."""
    spec = ChunkSpec.of(
        jnp,
        chunk_size=chunk_size,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        z_loss=z_loss,
        softcap=softcap,
    )
    if class_weight is not None:
        class_weight = lax.stop_gradient(class_weight)
    row_loss, row_weight = _linear_ce(spec, x, w, b, target, class_weight)
    return row_loss, lax.stop_gradient(row_weight)


def _chunked(spec: ChunkSpec, body: Any, carry: Any, rows: tuple[Any, ...]) -> tuple[Any, Any]:
    """``lax.scan`` of ``carry, ys = body(carry, chunk)`` over the row chunks of ``rows``.

    ``rows`` have ``N`` leading rows; the ``N mod B`` rows after the last full chunk go through
    ``body`` once more, and the ``ys`` come back concatenated to ``N`` rows.
    """
    n = rows[0].shape[0]
    size = spec.chunk_size
    n_full, rest = divmod(n, size)
    parts = []
    if n_full:
        heads = tuple(r[: n_full * size].reshape(n_full, size, *r.shape[1:]) for r in rows)
        carry, ys = lax.scan(body, carry, heads)
        parts.append(jax.tree.map(lambda y: y.reshape(n_full * size, *y.shape[2:]), ys))
    if rest or not n_full:
        carry, ys = body(carry, tuple(r[n_full * size :] for r in rows))
        parts.append(ys)
    if len(parts) == 1:
        return carry, parts[0]
    return carry, jax.tree.map(lambda a, c: jnp.concatenate([a, c]), *parts)


def _logits(x: Any, w: Any, b: Any) -> Any:
    """``x @ w.T + b`` of a chunk: (B, C)."""
    out = jnp.matmul(x, w.T)
    return out if b is None else out + b


def _primal(spec: ChunkSpec, x: Any, w: Any, b: Any, target: Any, cw: Any) -> Any:
    """``(row_loss, row_weight)``, chunk by chunk, keeping nothing."""

    def body(carry: Any, chunk: Any) -> Any:
        xc, tc = chunk
        loss, weight, _, _ = spec.rows(_logits(xc, w, b), tc, cw)
        return carry, (loss, weight)

    return _chunked(spec, body, (), (x, target))[1]


def _fwd(spec: ChunkSpec, x: Any, w: Any, b: Any, target: Any, cw: Any) -> Any:
    """The row losses and their gradients for a unit cotangent, in one pass over the chunks."""
    need_x, need_w = x.perturbed, w.perturbed
    need_b = b is not None and b.perturbed
    need_t = target.perturbed and jnp.issubdtype(target.value.dtype, jnp.floating)
    x, w, target = x.value, w.value, target.value
    b = None if b is None else b.value
    cw = None if cw is None else cw.value

    def body(carry: Any, chunk: Any) -> Any:
        dw, db = carry
        xc, tc = chunk
        loss, weight, d, dt = spec.rows(_logits(xc, w, b), tc, cw, scale=1.0)
        if need_w:
            dw = dw + jnp.matmul(d.T, xc)
        if need_b:
            db = db + jnp.sum(d, axis=0)
        dx = jnp.matmul(d, w) if need_x else None
        return (dw, db), (loss, weight, dx, dt if need_t else None)

    init = (
        jnp.zeros_like(w) if need_w else None,
        jnp.zeros(w.shape[:1], w.dtype) if need_b else None,
    )
    (dw, db), (loss, weight, dx, dt) = _chunked(spec, body, init, (x, target))
    return (loss, weight), (x, w, b, target, cw, dx, dw, db, dt)


def _bwd(spec: ChunkSpec, res: Any, cotangents: Any) -> Any:
    x, w, b, target, cw, dx1, dw1, db1, dt1 = res
    g = cotangents[0]  # none flows through row_weight
    if type(g).__name__ == "SymbolicZero":
        return (None,) * 5
    dx = None if dx1 is None else g[:, None] * dx1
    dt = None if dt1 is None else g[:, None] * dt1
    dw, db = dw1, db1
    if dw1 is not None or db1 is not None:
        if jnp.issubdtype(target.dtype, jnp.floating):
            counted = jnp.ones(g.shape, bool)
        else:
            counted = target != spec.ignore_index
        hi = jnp.max(jnp.where(counted, g, -jnp.inf), initial=-jnp.inf)
        lo = jnp.min(jnp.where(counted, g, jnp.inf), initial=jnp.inf)
        g0 = jnp.where(hi == lo, hi, jnp.zeros_like(hi))
        scaled = tuple(None if u is None else g0 * u for u in (dw1, db1))
        skip = (hi == lo) | (hi < lo)  # hi < lo: no counted row, every gradient is 0
        dw, db = _add_grads(spec, x, w, b, target, cw, g - g0, scaled, skip)
    return dx, dw, db, dt, None


def _add_grads(
    spec: ChunkSpec, x: Any, w: Any, b: Any, target: Any, cw: Any, g: Any, acc: Any, skip: Any
) -> tuple[Any, Any]:
    """``acc`` (``dW``, ``db``; either may be None) plus ``dW``, ``db`` for the cotangent ``g``,
    recomputing each chunk's logits; ``acc`` itself where ``skip`` (traced) holds.

    A ``fori_loop`` whose trip count is 0 when ``skip``, not a ``lax.cond``: a conditional
    keeps its operands alive through both branches, one more ``(C, D)`` buffer (132 against
    72 MiB of temporaries at N=4096, D=512, C=32768, B=32). Every chunk has ``B`` rows: the
    last one starts at ``N - B`` and zeroes ``g`` on the rows an earlier chunk took.
    """
    n = x.shape[0]
    if n == 0:
        return acc
    size = min(spec.chunk_size, n)

    def body(i: Any, carry: Any) -> Any:
        dw, db = carry
        start = jnp.minimum(i * size, n - size)
        xc, tc, gc = (lax.dynamic_slice_in_dim(a, start, size) for a in (x, target, g))
        gc = jnp.where(start + jnp.arange(size) >= i * size, gc, jnp.zeros_like(gc))
        _, _, d, _ = spec.rows(_logits(xc, w, b), tc, cw, scale=gc)
        if dw is not None:
            dw = dw + jnp.matmul(d.T, xc)
        if db is not None:
            db = db + jnp.sum(d, axis=0)
        return dw, db

    n_chunks = jnp.where(skip, 0, -(-n // size))
    return lax.fori_loop(0, n_chunks, body, acc)


_linear_ce = jax.custom_vjp(_primal, nondiff_argnums=(0,))
_linear_ce.defvjp(_fwd, _bwd, symbolic_zeros=True)
