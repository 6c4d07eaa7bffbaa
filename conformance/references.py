"""Independent float64 NumPy references for every loss in the registry.

Each function is the loss's textbook formula written plainly in NumPy, in float64, with the same
signature as ``torch.nn.functional``'s loss (minus ``size_average``/``reduce``). None of them calls
lossbridge, and none imports a framework, so the suite keeps a reference when torch is not
installed. They favour clarity over speed and use a different (but equivalent) form from
lossbridge's where one exists: ``logaddexp`` for binary cross-entropy with logits, an explicit
log-softmax for cross-entropy, ``log(1 - x)`` via ``log1p``.

Reductions follow torch: ``'none'`` is the elementwise (or per-item) loss, ``'sum'`` its sum,
``'mean'`` its mean (weighted means where torch uses them). An empty mean is NaN (``0 / 0``).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "gaussian_nll_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "mse_loss",
    "nll_loss",
    "poisson_nll_loss",
    "smooth_l1_loss",
]


def _f64(a):
    return None if a is None else np.asarray(a, dtype=np.float64)


def _mean(total, count):
    """``total / count`` with ``0 / 0 = nan`` and no warning."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.float64(total) / np.float64(count)


def _reduce(loss, reduction, *, denominator=None):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return np.sum(loss)
    if reduction in ("mean", "batchmean"):
        return _mean(np.sum(loss), loss.size if denominator is None else denominator)
    raise ValueError(f"unknown reduction {reduction!r}")


def _log_softmax_last(x):
    """Log-softmax along the last axis, shifted by the row max."""
    m = np.max(x, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    z = x - m
    return z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))


def _classes_last(input, target, index_target):
    """Inputs as (items..., C) and index targets as (items...); adds a batch axis to 1-D input."""
    x = np.asarray(input, dtype=np.float64)
    t = np.asarray(target)
    if x.ndim == 1:
        x, t = x[None], t[None]
    x = np.moveaxis(x, 1, -1)
    if not index_target:
        t = np.moveaxis(t.astype(np.float64), 1, -1)
    return x, t


def cross_entropy(
    input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0
):
    """Cross-entropy of logits with class indices or class probabilities (torch's semantics).

    Index targets: ``(1 - e) * nll + e / C * smooth``, with ``nll = -w[y] log p[y]`` and
    ``smooth = -sum_c w[c] log p[c]`` over non-ignored items, both reduced with the weighted
    denominator ``sum w[y]`` for ``'mean'``. Probability targets: ``-sum_c w[c] t'[c] log p[c]``
    with ``t' = (1 - e) t + e / C``, ``'mean'`` over the number of items.
    """
    one_d = np.ndim(input) == 1
    index_target = np.asarray(target).dtype.kind in "iu"
    x, t = _classes_last(input, target, index_target)
    n_classes = x.shape[-1]
    w = np.ones(n_classes) if weight is None else _f64(weight)
    logp = _log_softmax_last(x)
    e = float(label_smoothing)
    if not index_target:
        t = (1.0 - e) * t + e / n_classes
        loss = -np.sum(w * t * logp, axis=-1)
        out = _reduce(loss, reduction)
        return out[0] if one_d and reduction == "none" else out
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    picked = np.take_along_axis(logp, safe[..., None], axis=-1)[..., 0]
    w_y = np.where(valid, w[safe], 0.0)
    nll = np.where(valid, -w_y * picked, 0.0)
    smooth = np.where(valid, -np.sum(w * logp, axis=-1), 0.0)
    loss = (1.0 - e) * nll + (e / n_classes) * smooth
    out = _reduce(loss, reduction, denominator=np.sum(w_y))
    return out[0] if one_d and reduction == "none" else out


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """``-w[y] * input[y]`` over non-ignored items; ``'mean'`` divides by ``sum w[y]``."""
    one_d = np.ndim(input) == 1
    x, t = _classes_last(input, target, True)
    w = np.ones(x.shape[-1]) if weight is None else _f64(weight)
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    picked = np.take_along_axis(x, safe[..., None], axis=-1)[..., 0]
    w_y = np.where(valid, w[safe], 0.0)
    loss = np.where(valid, -w_y * picked, 0.0)
    out = _reduce(loss, reduction, denominator=np.sum(w_y))
    return out[0] if one_d and reduction == "none" else out


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """``-w [y max(log x, -100) + (1 - y) max(log(1 - x), -100)]`` (torch's clamp at -100)."""
    x, y = _f64(input), _f64(target)
    with np.errstate(divide="ignore"):
        log_x = np.maximum(np.log(x), -100.0)
        log_1mx = np.maximum(np.log1p(-x), -100.0)
    loss = -(y * log_x + (1.0 - y) * log_1mx)
    if weight is not None:
        loss = loss * _f64(weight)
    return _reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """``-w [p y log s(x) + (1 - y) log(1 - s(x))]``, the logs as ``-logaddexp(0, -+x)``."""
    x, y = _f64(input), _f64(target)
    p = 1.0 if pos_weight is None else _f64(pos_weight)
    log_sig = -np.logaddexp(0.0, -x)
    log_one_minus_sig = -np.logaddexp(0.0, x)
    loss = -(p * y * log_sig + (1.0 - y) * log_one_minus_sig)
    if weight is not None:
        loss = loss * _f64(weight)
    return _reduce(loss, reduction)


def kl_div(input, target, reduction="mean", log_target=False):
    """``y (log y - x)`` with ``0 log 0 = 0``, or ``exp(y) (y - x)`` with ``log_target``."""
    x, y = _f64(input), _f64(target)
    if log_target:
        loss = np.exp(y) * (y - x)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            y_log_y = np.where(y == 0, 0.0, y * np.log(y))
        loss = y_log_y - y * x
    if reduction == "batchmean":
        return _reduce(loss, reduction, denominator=x.shape[0] if x.ndim else 1)
    return _reduce(loss, reduction)


def _weighted(loss, weight, reduction, *, mean_over_weights):
    if weight is None:
        return _reduce(loss, reduction)
    w = _f64(weight)
    loss = loss * w
    if reduction == "mean" and mean_over_weights:
        return _mean(np.sum(loss), np.sum(w))
    return _reduce(loss, reduction)


def mse_loss(input, target, reduction="mean", weight=None):
    """``w (x - y)^2``; weighted ``'mean'`` is ``sum(w l) / sum(w)``."""
    d = _f64(input) - _f64(target)
    return _weighted(d * d, weight, reduction, mean_over_weights=True)


def l1_loss(input, target, reduction="mean", weight=None):
    """``w |x - y|``; weighted ``'mean'`` is ``sum(w l) / sum(w)``."""
    d = _f64(input) - _f64(target)
    return _weighted(np.abs(d), weight, reduction, mean_over_weights=True)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """``0.5 d^2`` for ``|d| < delta``, else ``delta (|d| - delta / 2)``; weighted mean over N."""
    a = np.abs(_f64(input) - _f64(target))
    loss = np.where(a < delta, 0.5 * a * a, delta * (a - 0.5 * delta))
    return _weighted(loss, weight, reduction, mean_over_weights=False)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """``0.5 d^2 / beta`` for ``|d| < beta``, else ``|d| - beta / 2``; ``beta = 0`` is L1."""
    a = np.abs(_f64(input) - _f64(target))
    if beta == 0:
        return _reduce(a, reduction)
    loss = np.where(a < beta, 0.5 * a * a / beta, a - 0.5 * beta)
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, eps=1e-8, reduction="mean"):
    """``exp(x) - y x`` (log rates) or ``x - y log(x + eps)``, plus Stirling's term if ``full``.

    Stirling's approximation of ``log y!`` is ``y log y - y + 0.5 log(2 pi y)``, added only where
    ``y > 1`` (torch's rule).
    """
    x, y = _f64(input), _f64(target)
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = np.exp(x) - y * x if log_input else x - y * np.log(x + eps)
        if full:
            y_safe = np.where(y > 1, y, 1.0)
            stirling = y_safe * np.log(y_safe) - y_safe + 0.5 * np.log(2.0 * math.pi * y_safe)
            loss = loss + np.where(y > 1, stirling, 0.0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """``0.5 (log v + (x - y)^2 / v)`` with ``v = max(var, eps)``, plus ``0.5 log 2 pi`` if full.

    ``var`` may be a float, the input's shape, ``input.shape[:-1]`` (one variance per row) or the
    input's shape with one axis of size 1 (broadcast).
    """
    x, y = _f64(input), _f64(target)
    v = np.asarray(var, dtype=np.float64)
    if v.ndim and v.shape != x.shape and v.shape == x.shape[:-1]:
        v = v[..., None]
    v = np.broadcast_to(np.maximum(v, eps), x.shape)
    d = x - y
    loss = 0.5 * (np.log(v) + d * d / v)
    if full:
        loss = loss + 0.5 * math.log(2.0 * math.pi)
    return _reduce(loss, reduction)
