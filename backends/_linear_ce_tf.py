r"""TensorFlow's chunked linear cross-entropy kernel.

Contract: :mod:`lossbridge.backends._linear_ce`.

One ``tf.custom_gradient`` over a ``tf.while_loop`` of row chunks (``N // B`` full chunks, their
rows written to ``tf.TensorArray``\ s, then the ``N mod B`` remaining rows through the same
body once more); it runs eagerly, in ``tf.function`` (also with an unknown ``N``) and under
``jit_compile=True``. What happens to a ``(B, C)`` block of logits is
:func:`lossbridge.backends._linear_ce.chunk_rows` on lossbridge's TensorFlow namespace, as on
every backend; this module loops and multiplies matrices (``transpose_a``/``transpose_b``: no
transposed copy of ``w``).

As in JAX's kernel (:mod:`lossbridge.backends._linear_ce_jax`, whose docstring has the
algebra), the forward computes the row losses and, where a ``GradientTape`` watches an input,
the gradients for a unit cotangent in the same pass (three matrix products per chunk, as the
materialized path); the backward scales them, adding a chunk-by-chunk recomputation of ``dW``,
``db`` only where the cotangent is not one value on every counted row. Where no tape is seen
while the forward runs (a ``tf.function`` called under a tape outside it: its graph is traced
before the tape reaches it; ``tf.gradients``), the forward computes the losses alone and the
backward recomputes every gradient chunk by chunk (four products per chunk in all). An input a
tape does not watch gets no gradient.

Eagerly, the chunk loops run inside one cached ``tf.function`` (:func:`_run_pass`).

Memory: the loops run one iteration at a time (``parallel_iterations=1``; a graph would run up
to 10 chunks' logits at once), and the forward runs unrecorded (eagerly, a tape records the
ops inside a ``custom_gradient`` and keeps each chunk's logits alive until the tape goes: 786
against 70 MiB in ``tests/test_linear_ce_kernels.py``). Peak of TensorFlow's CPU allocator
over a ``fwd+bwd`` at N=4096, D=512, V=32768, B=256 (``python -m benchmarks.linear_ce``), the
outputs (``dx``, ``dW``: 72 MiB) in both: eager 181 MiB against 2048 materialized,
``tf.function`` 240 against 584 (TF's fused ``sparse_softmax_cross_entropy_with_logits`` keeps
one (N, V) block), XLA 216 against 1120.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import tensorflow as tf

from lossbridge.backends import tensorflow as tnp
from lossbridge.backends._ctc_ops import _tf_taped
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
    """``(row_loss, row_weight)`` for TensorFlow tensors (:mod:`lossbridge.backends._linear_ce`)."""
    spec = ChunkSpec.of(
        tnp,
        chunk_size=chunk_size,
        ignore_index=ignore_index,
        label_smoothing=label_smoothing,
        z_loss=z_loss,
        softcap=softcap,
    )
    x, w, target = (tf.convert_to_tensor(a) for a in (x, w, target))
    b = None if b is None else tf.convert_to_tensor(b)
    cw = None if class_weight is None else tf.stop_gradient(tf.convert_to_tensor(class_weight))
    prob = target.dtype.is_floating
    has_b = b is not None
    args = [x, w] + ([b] if has_b else []) + ([target] if prob else [])
    flags = _flags([_tf_taped(a) for a in args], has_b, prob)
    taped = dict(zip(("x", "w", "b", "t"), flags, strict=True))
    if not tf.executing_eagerly() and any(taped.values()):
        # In a graph, a tape outside the tf.function may want what no tape watches while it
        # is traced (it saw the variable ``w`` read, not ``x``): keep every unit gradient but
        # the target's, and let the backward recompute the rest where a graph asks for it.
        taped.update(x=True, w=True, b=has_b)

    @tf.custom_gradient
    def linear_ce(*args: Any) -> Any:
        x, w = args[0], args[1]
        b = args[2] if has_b else None
        t = args[-1] if prob else target
        # Unrecorded: eagerly, a tape records every op of a custom_gradient's forward and keeps
        # its inputs (each chunk's logits) until the tape goes, although it never uses them.
        with _unrecorded():
            scale = 1.0 if any(taped.values()) else None
            out = _run_pass(spec, x, w, b, t, cw, scale, taped, with_loss=True)
        loss, weight = out.pop("loss"), out.pop("weight")
        eager = tf.executing_eagerly()

        def grad(g: Any, _g_weight: Any = None) -> Any:  # none flows through row_weight
            grads = _scaled(spec, x, w, b, t, cw, g, out)
            missing = {k: k not in grads for k in ("x", "w", "b", "t")}
            missing.update(b=missing["b"] and has_b, t=missing["t"] and prob)
            if any(missing.values()) and not eager:
                # Eagerly a tape that watched nothing here needs nothing; in a graph the
                # recomputation is pruned where its gradients are not used.
                grads.update(_run_pass(spec, x, w, b, t, cw, g, missing, with_loss=False))
            return (
                [grads.get("x"), grads.get("w")]
                + ([grads.get("b")] if has_b else [])
                + ([grads.get("t")] if prob else [])
            )

        return (loss, weight), grad

    loss, weight = linear_ce(*args)
    return loss, tf.stop_gradient(weight)


def _unrecorded() -> Any:
    """A context in which no ``GradientTape`` records (TensorFlow's own, private)."""
    try:
        from tensorflow.python.eager import record

        return record.stop_recording()
    except (ImportError, AttributeError):  # pragma: no cover - another TF layout
        return contextlib.nullcontext()


def _flags(taped: list[bool], has_b: bool, prob: bool) -> tuple[bool, bool, bool, bool]:
    """Which of ``x, w, b, t`` a tape watches, from the list over the differentiable args."""
    need_b = has_b and taped[2]
    need_t = prob and taped[-1]
    return taped[0], taped[1], need_b, need_t


# ------------------------------------------------------------------------------------------
# The loop
# ------------------------------------------------------------------------------------------


def _slice_rows(a: Any, start: Any, size: int) -> Any:
    """Rows ``start : start + size`` of ``a`` (static size: XLA's dynamic slice)."""
    rank = a.shape.rank
    return tf.slice(a, [start] + [0] * (rank - 1), [size] + [-1] * (rank - 1))


def _chunked(
    spec: ChunkSpec,
    body: Callable[[tuple[Any, ...], tuple[Any, ...]], tuple[tuple[Any, ...], tuple[Any, ...]]],
    carry: tuple[Any, ...],
    rows: tuple[Any, ...],
    outs: tuple[tuple[Any, tuple[int, ...]], ...],
) -> tuple[tuple[Any, ...], list[Any]]:
    """``carry, ys = body(carry, chunk)`` over the row chunks of ``rows``, in a ``tf.while_loop``.

    ``carry``: a tuple of tensors; ``outs``: ``(dtype, trailing shape)`` of each of the ``ys``,
    which come back concatenated to ``N`` rows. The ``N mod B`` rows after the last full chunk
    go through ``body`` once more (a shape known only at run time when ``N`` is).
    """
    size = spec.chunk_size
    n_static = rows[0].shape[0]
    n = n_static if n_static is not None else tf.shape(rows[0])[0]
    n_full = n // size
    parts: list[list[Any]] = []
    if n_static is None or n_full:
        arrays = [
            tf.TensorArray(dtype, size=n_full, element_shape=(size, *shape))
            for dtype, shape in outs
        ]

        def step(i: Any, carry: Any, arrays: Any) -> Any:
            chunk = tuple(_slice_rows(r, i * size, size) for r in rows)
            carry, ys = body(tuple(carry), chunk)
            return i + 1, carry, [a.write(i, y) for a, y in zip(arrays, ys, strict=True)]

        _, carry, arrays = tf.while_loop(
            lambda i, *_: i < n_full,
            step,
            (tf.constant(0), carry, arrays),
            maximum_iterations=n_full,
            parallel_iterations=1,  # else a graph runs up to 10 chunks' logits at once
        )
        carry = tuple(carry)
        parts.append(
            [
                tf.reshape(a.stack(), (n_full * size, *shape))
                for a, (_, shape) in zip(arrays, outs, strict=True)
            ]
        )
    if n_static is None or n_static % size or not n_full:
        carry, ys = body(carry, tuple(r[n_full * size :] for r in rows))
        parts.append(list(ys))
    if len(parts) == 1:
        return carry, parts[0]
    return carry, [tf.concat(pair, 0) for pair in zip(*parts, strict=True)]


def _logits(x: Any, w: Any, b: Any) -> Any:
    """``x @ w.T + b`` of a chunk: (B, C)."""
    out = tf.linalg.matmul(x, w, transpose_b=True)
    return out if b is None else out + b


# ------------------------------------------------------------------------------------------
# Forward
# ------------------------------------------------------------------------------------------


# One tf.function per static configuration (its own retracing count: TensorFlow warns when one
# function retraces on most calls).
_EAGER_PASSES: dict[Any, Any] = {}


def _run_pass(
    spec: ChunkSpec,
    x: Any,
    w: Any,
    b: Any,
    t: Any,
    cw: Any,
    scale: Any,
    need: dict[str, bool],
    *,
    with_loss: bool,
) -> dict[str, Any]:
    """:func:`_pass`; eagerly inside a cached ``tf.function`` (as :mod:`._loops` does).

    Eagerly a ``tf.while_loop`` is a Python loop that runs :func:`chunk_rows` op by op: at N=512,
    D=64, V=4096, B=64 a ``fwd+bwd`` took 3.2 times the materialized one. ``reduce_retracing``:
    a second batch size traces an ``N``-generic graph.
    """
    if not tf.executing_eagerly():
        return _pass(spec, x, w, b, t, cw, scale, need, with_loss=with_loss)
    kind = "tensor" if isinstance(scale, tf.Tensor) else scale
    key = (spec, tuple(need.items()), with_loss, kind, b is None, cw is None)
    fn = _EAGER_PASSES.get(key)
    if fn is None:
        static = dict(need)

        def run(*arrays: Any) -> dict[str, Any]:
            return _pass(spec, *arrays, static, with_loss=with_loss)

        fn = tf.function(tf.autograph.experimental.do_not_convert(run), reduce_retracing=True)
        _EAGER_PASSES[key] = fn
    return fn(x, w, b, t, cw, scale)


def _pass(
    spec: ChunkSpec,
    x: Any,
    w: Any,
    b: Any,
    t: Any,
    cw: Any,
    scale: Any,
    need: dict[str, bool],
    *,
    with_loss: bool,
) -> dict[str, Any]:
    """One pass over the chunks: the gradients named in ``need`` (``x``, ``w``, ``b``, ``t``)
    for the cotangent ``scale`` (1.0, an (N,) tensor, or None for no gradient), and with
    ``with_loss`` the row losses and row weights (keys ``loss``, ``weight``)."""
    if scale is None:
        need = dict.fromkeys(need, False)
    keys = tuple(k for k in ("w", "b") if need[k])
    init = tuple(tf.zeros_like(w if k == "w" else b) for k in keys)
    names = (["loss", "weight"] if with_loss else []) + [k for k in ("x", "t") if need[k]]
    trailing = {"loss": (), "weight": (), "x": (x.shape[1],), "t": (w.shape[0],)}
    outs = tuple((x.dtype, trailing[k]) for k in names)
    per_row = isinstance(scale, tf.Tensor)
    rows = (x, t, scale) if per_row else (x, t)

    def body(carry: Any, chunk: Any) -> Any:
        xc, tc = chunk[0], chunk[1]
        loss, weight, d, dt = spec.rows(_logits(xc, w, b), tc, cw, chunk[2] if per_row else scale)
        carry = dict(zip(keys, carry, strict=True))
        if "w" in carry:
            carry["w"] = carry["w"] + tf.linalg.matmul(d, xc, transpose_a=True)
        if "b" in carry:
            carry["b"] = carry["b"] + tf.reduce_sum(d, axis=0)
        ys = {"loss": loss, "weight": weight, "t": dt}
        if need["x"]:
            ys["x"] = tf.linalg.matmul(d, w)
        return tuple(carry[k] for k in keys), tuple(ys[k] for k in names)

    carry, ys = _chunked(spec, body, init, rows, outs)
    return {**dict(zip(keys, carry, strict=True)), **dict(zip(names, ys, strict=True))}


# ------------------------------------------------------------------------------------------
# Backward
# ------------------------------------------------------------------------------------------


def _scaled(
    spec: ChunkSpec, x: Any, w: Any, b: Any, t: Any, cw: Any, g: Any, unit: dict[str, Any]
) -> dict[str, Any]:
    """The gradients for the cotangent ``g`` from the ``unit`` ones (keys ``x, w, b, t``):
    per-row ones times ``g``; ``dW``, ``db`` as ``g0 * unit + dW(g - g0)``, the second term
    recomputed only where it is not 0."""
    grads = {k: g[:, None] * unit[k] for k in ("x", "t") if k in unit}
    keys = tuple(k for k in ("w", "b") if k in unit)
    if not keys:
        return grads
    if t.dtype.is_floating:
        counted = tf.ones_like(g, dtype=tf.bool)
    else:
        counted = tf.not_equal(t, tf.cast(spec.ignore_index, t.dtype))
    inf = tf.constant(float("inf"), g.dtype)
    hi = tf.reduce_max(tf.where(counted, g, -inf))
    lo = tf.reduce_min(tf.where(counted, g, inf))
    g0 = tf.where(tf.equal(hi, lo), hi, tf.zeros_like(hi))
    skip = tf.logical_or(tf.equal(hi, lo), hi < lo)  # hi < lo (or N = 0): no counted row
    acc = tuple(g0 * unit[k] for k in keys)
    added = _add_grads(spec, x, w, b, t, cw, g - g0, keys, acc, skip)
    grads.update(zip(keys, added, strict=True))
    return grads


def _add_grads(
    spec: ChunkSpec,
    x: Any,
    w: Any,
    b: Any,
    t: Any,
    cw: Any,
    g: Any,
    keys: tuple[str, ...],
    acc: tuple[Any, ...],
    skip: Any,
) -> tuple[Any, ...]:
    """``acc`` (the ``keys`` of ``dW``, ``db``) plus their sums for the cotangent ``g``,
    recomputing each chunk's logits; ``acc`` itself where ``skip`` holds.

    With ``N`` known, a loop of 0 trips when ``skip`` (no ``tf.cond``, whose operands XLA keeps
    alive through both branches: one more ``(C, D)`` buffer) over chunks of ``B`` rows, the last
    one starting at ``N - B`` with ``g`` zeroed on the rows an earlier chunk took.
    """

    def update(carry: Any, xc: Any, tc: Any, gc: Any) -> tuple[Any, ...]:
        _, _, d, _ = spec.rows(_logits(xc, w, b), tc, cw, scale=gc)
        out = dict(zip(keys, carry, strict=True))
        if "w" in out:
            out["w"] = out["w"] + tf.linalg.matmul(d, xc, transpose_a=True)
        if "b" in out:
            out["b"] = out["b"] + tf.reduce_sum(d, axis=0)
        return tuple(out[k] for k in keys)

    n = x.shape[0]
    if n is None:

        def body(carry: Any, chunk: Any) -> Any:
            return update(carry, *chunk), ()

        def run() -> Any:
            return _chunked(spec, body, acc, (x, t, g), ())[0]

        return tuple(tf.cond(skip, lambda: acc, run))
    if n == 0:
        return acc
    size = min(spec.chunk_size, n)

    def step(i: Any, *carry: Any) -> Any:
        start = tf.minimum(i * size, n - size)
        xc, tc, gc = (_slice_rows(a, start, size) for a in (x, t, g))
        gc = tf.where(start + tf.range(size) >= i * size, gc, tf.zeros_like(gc))
        return (i + 1, *update(carry, xc, tc, gc))

    n_chunks = tf.where(skip, 0, -(-n // size))
    out = tf.while_loop(
        lambda i, *_: i < n_chunks,
        step,
        (tf.constant(0), *acc),
        maximum_iterations=-(-n // size),
        parallel_iterations=1,
    )
    return tuple(out[1:])
