"""Conformance entry of ``linear_cross_entropy`` (torch 2.13's).

The oracle is ``torch.nn.functional.linear_cross_entropy`` (values, and gradients with respect
to ``input``, ``linear_weight`` and ``linear_bias``). The chunked cases pass
``options=LinearCrossEntropyOptions(batch_chunk_size=3)`` to lossbridge (chunk sizes that do not
divide the 8 rows) and torch's reference path (``options=None``) to the oracle: torch's own
chunked op covers fewer configurations (no label smoothing, no probability targets) and both
compute the same numbers up to rounding. ``z_loss`` and ``softcap`` are lossbridge's: those
cases have no torch oracle and are checked against the float64 reference, a transcription of
the formulas (PaLM's ``z * logsumexp^2``, Gemma 2's ``c * tanh(l / c)``) written here item by
item, independently of :mod:`lossbridge.linear_ce`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from lossbridge.conformance.cases import NAN_MEAN, Entry, base, class_weight, entry
from lossbridge.conformance.references import f64, reduce, softmax
from lossbridge.linear_ce import LinearCrossEntropyOptions, linear_cross_entropy

__all__ = ["ENTRIES", "reference"]

_CHUNKED = LinearCrossEntropyOptions(batch_chunk_size=3)
_NO_TORCH = "torch's linear_cross_entropy has no z_loss or softcap (lossbridge's extensions)"


def reference(
    input: Any,
    linear_weight: Any,
    target: Any,
    *,
    linear_bias: Any = None,
    weight: Any = None,
    reduction: str = "mean",
    ignore_index: int | None = None,
    label_smoothing: float = 0.0,
    options: Any = None,
    z_loss: float = 0.0,
    softcap: float | None = None,
) -> np.ndarray:
    """float64 NumPy: logits ``x W^T + b``, soft cap, then each item's cross-entropy and z-loss.

    ``options`` changes nothing here (chunking is an implementation detail).
    """
    x = np.asarray(input, dtype=np.float64)
    w = np.asarray(linear_weight, dtype=np.float64)
    unbatched = x.ndim == 1
    xs = x[None, :] if unbatched else x
    n_classes = w.shape[0]
    logits = np.einsum("nk,c...k->nc...", xs, w)  # (N, C, d1, ..., dK)
    if linear_bias is not None:
        logits = logits + np.asarray(linear_bias, dtype=np.float64)[None]
    if softcap is not None:
        logits = softcap * np.tanh(logits / softcap)
    rows = np.moveaxis(logits, 1, -1).reshape(-1, n_classes)
    item_shape = logits.shape[:1] + logits.shape[2:]
    t = np.asarray(target)
    index = t.dtype.kind in "iu"
    if index:
        targets = t.reshape(-1)
    else:
        tt = t[None] if unbatched else t
        targets = np.moveaxis(tt.astype(np.float64), 1, -1).reshape(-1, n_classes)
    cw = np.ones(n_classes) if weight is None else np.asarray(weight, dtype=np.float64)
    ii = -100 if ignore_index is None else ignore_index
    eps = float(label_smoothing)
    losses, weights = [], []
    for row, y in zip(rows, targets, strict=True):
        top = max(row)
        lse = top + math.log(sum(math.exp(v - top) for v in row))
        logp = row - lse
        if index:
            if y == ii:
                losses.append(0.0)
                weights.append(0.0)
                continue
            ce = (1 - eps) * cw[y] * -logp[y] + eps / n_classes * sum(cw * -logp)
            item_weight = cw[y]
        else:
            soft = (1 - eps) * y + eps / n_classes
            ce = -sum(cw * soft * logp)
            item_weight = 1.0
        losses.append(ce + z_loss * item_weight * lse**2)
        weights.append(item_weight)
    out = f64(losses).reshape(() if unbatched else item_shape)
    return reduce(out, reduction, denominator=np.sum(weights))


def _lce(n=8, d=4, c=5, out=(), bias=False, weight=False, ignore=0, probs=False, scale=1.0):
    """``make`` of a linear cross-entropy case: (N, D) inputs, a (C, *out, D) weight, targets."""

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        shape = (d,) if n is None else (n, d)
        arrays = {
            "input": scale * r.standard_normal(shape),
            "linear_weight": r.standard_normal((c, *out, d)) / math.sqrt(d),
        }
        items = () if n is None else (n, *out)
        if probs:
            logits_shape = (c,) if n is None else (n, c, *out)
            arrays["target"] = softmax(r.standard_normal(logits_shape), 0 if n is None else 1)
        else:
            t = r.integers(0, c, items)
            if ignore:
                flat = t.reshape(-1)
                flat[r.choice(flat.size, size=ignore, replace=False)] = -100
            arrays["target"] = t
        if bias:
            arrays["linear_bias"] = r.standard_normal((c, *out))
        if weight:
            arrays["weight"] = class_weight(r, c)
        return arrays

    return make


def _all_ignored(r: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "input": r.standard_normal((8, 4)),
        "linear_weight": r.standard_normal((5, 4)),
        "target": np.full(8, -100),
    }


_CH = {"options": _CHUNKED}
_CH_ORACLE = {"oracle_kwargs": {"options": None}}
_EXT = {"skip": {"oracle": _NO_TORCH, "grad_oracle": _NO_TORCH}}

_LCE = entry(
    "linear_cross_entropy",
    [
        base("basic", _lce(), compile=("none", "mean"), placement="mean", inductor="mean"),
        base("bias_weight_ignore", _lce(bias=True, weight=True, ignore=2)),
        base("smoothing_weight_ignore", _lce(weight=True, ignore=2), {"label_smoothing": 0.1}),
        base("probs_bias", _lce(bias=True, probs=True)),
        base("kdim_bias", _lce(out=(2,), bias=True, weight=True, ignore=3)),
        base("one_d", _lce(n=None, bias=True)),
        base("chunked", _lce(bias=True), _CH, compile=("none", "mean"), **_CH_ORACLE),
        base(
            "chunked_weight_ignore",
            _lce(bias=True, weight=True, ignore=3),
            _CH,
            compile=("sum",),
            **_CH_ORACLE,
        ),
        base(
            "chunked_smoothing",
            _lce(weight=True, ignore=1),
            {**_CH, "label_smoothing": 0.2},
            **_CH_ORACLE,
        ),
        base("chunked_probs", _lce(bias=True, probs=True), _CH, compile=("mean",), **_CH_ORACLE),
        base("chunked_one_d", _lce(n=None), _CH, **_CH_ORACLE),
        base(
            "z_loss_softcap",
            _lce(bias=True, weight=True, ignore=2, scale=3.0),
            {"z_loss": 1e-2, "softcap": 2.0},
            **_EXT,
        ),
        base(
            "chunked_z_loss_softcap",
            _lce(bias=True, weight=True, ignore=2, scale=3.0),
            {**_CH, "z_loss": 1e-2, "softcap": 2.0},
            compile=("mean",),
            **_EXT,
        ),
        base(
            "chunked_probs_z_loss",
            _lce(probs=True),
            {**_CH, "z_loss": 1e-3, "label_smoothing": 0.1},
            **_EXT,
        ),
        base("all_ignored", _all_ignored, _CH, reductions=("none", "sum"), **_CH_ORACLE),
        base(
            "all_ignored",
            _all_ignored,
            _CH,
            reductions=("mean",),
            skip={"grad_fd": NAN_MEAN},
            **_CH_ORACLE,
        ),
    ],
    grad_args=("input", "linear_weight", "linear_bias"),
    fn=linear_cross_entropy,
    reference=reference,
)

#: The entries this module adds to the registry.
ENTRIES: tuple[Entry, ...] = (_LCE,)
