"""Independent float64 NumPy references for every loss in the registry.

Each function is the loss's textbook formula written plainly in NumPy, in float64, with the same
signature as ``torch.nn.functional``'s loss (minus ``size_average``/``reduce``). None of them calls
lossbridge, and none imports a framework, so the suite keeps a reference when torch is not
installed. They favour clarity over speed and use a different (but equivalent) form from
lossbridge's where one exists: ``logaddexp`` for binary cross-entropy with logits, an explicit
log-softmax for cross-entropy, ``log(1 - x)`` via ``log1p``.

Reductions follow torch: ``'none'`` is the elementwise (or per-item) loss, ``'sum'`` its sum,
``'mean'`` its mean (weighted means where torch uses them). An empty mean is NaN (``0 / 0``).

The margin losses and ``ctc_loss`` loop over items (and, for the hinge losses, classes) as torch's
C++ kernels do; ``ctc_loss`` runs the forward recursion of Graves et al. (2006) per sequence with
scalar log-sum-exps. The four torchvision losses (``sigmoid_focal_loss`` and the box losses) are
a plain transcription of torchvision's source over a small table of ops (:data:`NUMPY_OPS`), so
``tests/test_detection.py`` can run the same transcription on torch tensors for autograd.
"""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

__all__ = [
    "NUMPY_OPS",
    "f64",
    "log_sigmoid",
    "log_softmax",
    "reduce",
    "reduce_ctc",
    "reduce_empty_as_zero",
    "softmax",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "complete_box_iou_loss",
    "complete_box_iou_loss_frozen_alpha",
    "cosine_embedding_loss",
    "cross_entropy",
    "ctc_loss",
    "distance_box_iou_loss",
    "gaussian_nll_loss",
    "generalized_box_iou_loss",
    "hinge_embedding_loss",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "margin_ranking_loss",
    "mse_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "pairwise_distance",
    "poisson_nll_loss",
    "sigmoid_focal_loss",
    "smooth_l1_loss",
    "soft_margin_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
    "tv_ciou",
    "tv_diou",
    "tv_diou_iou_loss",
    "tv_focal",
    "tv_giou",
    "tv_loss_inter_union",
]


def f64(a):
    """``a`` as a float64 NumPy array (``None`` stays ``None``)."""
    return None if a is None else np.asarray(a, dtype=np.float64)


def _mean(total, count):
    """``total / count`` with ``0 / 0 = nan`` and no warning."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.float64(total) / np.float64(count)


def reduce(loss, reduction, *, denominator=None):
    """The float64 NumPy reduction every reference of the suite uses (one for all of them).

    Parameters
    ----------
    loss : numpy.ndarray
        The unreduced loss (float64).
    reduction : {'none', 'sum', 'mean', 'batchmean'}
        ``'mean'`` and ``'batchmean'`` divide the sum by ``denominator`` (default: the number of
        elements, ``loss.size``), with ``0 / 0 = nan`` and no warning.
    denominator : float, optional
        What the mean divides by, where the loss's mean is not over elements (the weight sum of
        class-weighted losses, the non-ignored count, the batch size for ``'batchmean'``).
    """
    if reduction == "none":
        return loss
    if reduction == "sum":
        return np.sum(loss)
    if reduction in ("mean", "batchmean"):
        return _mean(np.sum(loss), loss.size if denominator is None else denominator)
    raise ValueError(f"unknown reduction {reduction!r}")


def softmax(z, axis):
    """``exp(z) / sum(exp(z))`` along ``axis``, shifted by the max."""
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z, axis):
    """``z - log(sum(exp(z)))`` along ``axis``, shifted by the max (by 0 where it is infinite)."""
    m = np.max(z, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return z - m - np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))


def log_sigmoid(x):
    """``log(sigmoid(x)) = -log(1 + exp(-x))``, as ``-logaddexp(0, -x)`` (exact for any x)."""
    return -np.logaddexp(0.0, -x)


def reduce_empty_as_zero(loss, reduction):
    """:func:`reduce`, with the mean of no element 0 instead of NaN.

    torchvision's box losses (``loss.mean() if loss.numel() > 0 else 0.0 * loss.sum()``) and
    Berman's Lovász ``mean`` (``empty=0``) reduce so.
    """
    return reduce(loss, reduction, denominator=max(loss.size, 1))


def reduce_ctc(loss, target_lengths, reduction, *, zero_infinity=False):
    """torch's ``ctc_loss`` reduction of per-sequence losses, through :func:`reduce`.

    With ``zero_infinity``, infinite losses count as 0; ``'mean'`` is the batch mean of each
    loss divided by its target length (at least 1).
    """
    loss = f64(loss)
    if zero_infinity:
        loss = np.where(np.isinf(loss), 0.0, loss)
    if reduction == "mean":
        return reduce(loss / np.maximum(target_lengths, 1), "mean")
    return reduce(loss, reduction)


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
    w = np.ones(n_classes) if weight is None else f64(weight)
    logp = log_softmax(x, -1)
    e = float(label_smoothing)
    if not index_target:
        t = (1.0 - e) * t + e / n_classes
        loss = -np.sum(w * t * logp, axis=-1)
        out = reduce(loss, reduction)
        return out[0] if one_d and reduction == "none" else out
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    picked = np.take_along_axis(logp, safe[..., None], axis=-1)[..., 0]
    w_y = np.where(valid, w[safe], 0.0)
    nll = np.where(valid, -w_y * picked, 0.0)
    smooth = np.where(valid, -np.sum(w * logp, axis=-1), 0.0)
    loss = (1.0 - e) * nll + (e / n_classes) * smooth
    out = reduce(loss, reduction, denominator=np.sum(w_y))
    return out[0] if one_d and reduction == "none" else out


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """``-w[y] * input[y]`` over non-ignored items; ``'mean'`` divides by ``sum w[y]``."""
    one_d = np.ndim(input) == 1
    x, t = _classes_last(input, target, True)
    w = np.ones(x.shape[-1]) if weight is None else f64(weight)
    valid = t != ignore_index
    safe = np.where(valid, t, 0)
    picked = np.take_along_axis(x, safe[..., None], axis=-1)[..., 0]
    w_y = np.where(valid, w[safe], 0.0)
    loss = np.where(valid, -w_y * picked, 0.0)
    out = reduce(loss, reduction, denominator=np.sum(w_y))
    return out[0] if one_d and reduction == "none" else out


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """``-w [y max(log x, -100) + (1 - y) max(log(1 - x), -100)]`` (torch's clamp at -100)."""
    x, y = f64(input), f64(target)
    with np.errstate(divide="ignore"):
        log_x = np.maximum(np.log(x), -100.0)
        log_1mx = np.maximum(np.log1p(-x), -100.0)
    loss = -(y * log_x + (1.0 - y) * log_1mx)
    if weight is not None:
        loss = loss * f64(weight)
    return reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """``-w [p y log s(x) + (1 - y) log(1 - s(x))]``, the logs as ``-logaddexp(0, -+x)``."""
    x, y = f64(input), f64(target)
    p = 1.0 if pos_weight is None else f64(pos_weight)
    log_sig = -np.logaddexp(0.0, -x)
    log_one_minus_sig = -np.logaddexp(0.0, x)
    loss = -(p * y * log_sig + (1.0 - y) * log_one_minus_sig)
    if weight is not None:
        loss = loss * f64(weight)
    return reduce(loss, reduction)


def kl_div(input, target, reduction="mean", log_target=False):
    """``y (log y - x)`` with ``0 log 0 = 0``, or ``exp(y) (y - x)`` with ``log_target``."""
    x, y = f64(input), f64(target)
    if log_target:
        loss = np.exp(y) * (y - x)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            y_log_y = np.where(y == 0, 0.0, y * np.log(y))
        loss = y_log_y - y * x
    if reduction == "batchmean":
        return reduce(loss, reduction, denominator=x.shape[0] if x.ndim else 1)
    return reduce(loss, reduction)


def _weighted(loss, weight, reduction, *, mean_over_weights):
    if weight is None:
        return reduce(loss, reduction)
    w = f64(weight)
    loss = loss * w
    if reduction == "mean" and mean_over_weights:
        return _mean(np.sum(loss), np.sum(w))
    return reduce(loss, reduction)


def mse_loss(input, target, reduction="mean", weight=None):
    """``w (x - y)^2``; weighted ``'mean'`` is ``sum(w l) / sum(w)``."""
    d = f64(input) - f64(target)
    return _weighted(d * d, weight, reduction, mean_over_weights=True)


def l1_loss(input, target, reduction="mean", weight=None):
    """``w |x - y|``; weighted ``'mean'`` is ``sum(w l) / sum(w)``."""
    d = f64(input) - f64(target)
    return _weighted(np.abs(d), weight, reduction, mean_over_weights=True)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    """``0.5 d^2`` for ``|d| < delta``, else ``delta (|d| - delta / 2)``; weighted mean over N."""
    a = np.abs(f64(input) - f64(target))
    loss = np.where(a < delta, 0.5 * a * a, delta * (a - 0.5 * delta))
    return _weighted(loss, weight, reduction, mean_over_weights=False)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """``0.5 d^2 / beta`` for ``|d| < beta``, else ``|d| - beta / 2``; ``beta = 0`` is L1."""
    a = np.abs(f64(input) - f64(target))
    if beta == 0:
        return reduce(a, reduction)
    loss = np.where(a < beta, 0.5 * a * a / beta, a - 0.5 * beta)
    return reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, eps=1e-8, reduction="mean"):
    """``exp(x) - y x`` (log rates) or ``x - y log(x + eps)``, plus Stirling's term if ``full``.

    Stirling's approximation of ``log y!`` is ``y log y - y + 0.5 log(2 pi y)``, added only where
    ``y > 1`` (torch's rule).
    """
    x, y = f64(input), f64(target)
    with np.errstate(divide="ignore", invalid="ignore"):
        loss = np.exp(x) - y * x if log_input else x - y * np.log(x + eps)
        if full:
            y_safe = np.where(y > 1, y, 1.0)
            stirling = y_safe * np.log(y_safe) - y_safe + 0.5 * np.log(2.0 * math.pi * y_safe)
            loss = loss + np.where(y > 1, stirling, 0.0)
    return reduce(loss, reduction)


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """``0.5 (log v + (x - y)^2 / v)`` with ``v = max(var, eps)``, plus ``0.5 log 2 pi`` if full.

    ``var`` may be a float, the input's shape, ``input.shape[:-1]`` (one variance per row) or the
    input's shape with one axis of size 1 (broadcast).
    """
    x, y = f64(input), f64(target)
    v = np.asarray(var, dtype=np.float64)
    if v.ndim and v.shape != x.shape and v.shape == x.shape[:-1]:
        v = v[..., None]
    v = np.broadcast_to(np.maximum(v, eps), x.shape)
    d = x - y
    loss = 0.5 * (np.log(v) + d * d / v)
    if full:
        loss = loss + 0.5 * math.log(2.0 * math.pi)
    return reduce(loss, reduction)


# ------------------------------------------------------------------------------------------
# Margin, ranking and embedding losses (torch.nn.functional)
# ------------------------------------------------------------------------------------------


def soft_margin_loss(input, target, reduction="mean"):
    """``log(1 + exp(-y x))`` as ``logaddexp(0, -y x)`` (exact for any ``y x``)."""
    return reduce(np.logaddexp(0.0, -f64(target) * f64(input)), reduction)


def multilabel_soft_margin_loss(input, target, weight=None, reduction="mean"):
    """``-w [y log s(x) + (1 - y) log s(-x)]`` summed over the last axis, divided by C."""
    x, y = f64(input), f64(target)
    loss = -(y * log_sigmoid(x) + (1.0 - y) * log_sigmoid(-x))
    if weight is not None:
        loss = loss * f64(weight)
    return reduce(np.sum(loss, axis=-1) / x.shape[-1], reduction)


def _items(input, target):
    """``(x, t, C)``: input as (N, C) rows (a 0-d input is one item of one class)."""
    x = f64(input)
    c = 1 if x.ndim == 0 else x.shape[-1]
    return x.reshape(-1, c), np.asarray(target).reshape(-1), c


def multilabel_margin_loss(input, target, reduction="mean"):
    """torch's kernel: ``sum_j sum_k [1 - x[y_j] + x[k]]_+ / C`` over the labels ``y_j`` before
    the first negative target entry and the classes ``k`` not among them (a label listed twice
    counts twice; ``z = 0`` adds nothing)."""
    x, _, c = _items(input, target)
    t = np.asarray(target).reshape(-1, c)
    losses = []
    for xi, ti in zip(x, t, strict=True):
        labels = []
        for v in ti:
            if v < 0:
                break
            labels.append(int(v))
        total = 0.0
        for j in labels:
            for k in range(c):
                if k in labels:
                    continue
                z = 1.0 - xi[j] + xi[k]
                if z > 0:
                    total += z
        losses.append(total / c)
    loss = np.array(losses, dtype=np.float64)
    if np.ndim(input) <= 1:
        loss = loss.reshape(())
    return reduce(loss, reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """torch's kernel: ``sum_{i != y} w[y] [margin - x[y] + x[i]]_+^p / C`` per item."""
    x, t, c = _items(input, target)
    w = None if weight is None else f64(weight)
    losses = []
    for xi, yi in zip(x, t, strict=True):
        total = 0.0
        for i in range(c):
            if i == yi:
                continue
            z = margin - xi[yi] + xi[i]
            if z > 0:
                h = z if p == 1 else z * z
                total += h if w is None else h * w[yi]
        losses.append(total / c)
    return reduce(np.array(losses, dtype=np.float64).reshape(np.shape(target)), reduction)


def hinge_embedding_loss(input, target, margin=1.0, reduction="mean"):
    """``[y != 1] max(0, margin - x) + [y != -1] x`` (both terms for other target values)."""
    x, y = np.broadcast_arrays(f64(input), f64(target))
    loss = np.where(y != 1, np.maximum(0.0, margin - x), 0.0) + np.where(y != -1, x, 0.0)
    return reduce(loss, reduction)


def margin_ranking_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """``max(0, -y (x1 - x2) + margin)``."""
    loss = np.maximum(0.0, -f64(target) * (f64(input1) - f64(input2)) + margin)
    return reduce(loss, reduction)


#: torch's ``EPSILON`` in ``aten/src/ATen/native/Loss.cpp``: the C++ float ``1e-12``.
_COSINE_EPS = float(np.float32(1e-12))


def cosine_embedding_loss(input1, input2, target, margin=0.0, reduction="mean"):
    """``1 - cos`` for ``y = 1``, ``max(0, cos - margin)`` for ``y = -1``, 0 otherwise, with
    ``cos = x1.x2 / sqrt((|x1|^2 + eps) (|x2|^2 + eps))``."""
    x1, x2, y = f64(input1), f64(input2), f64(target)
    prod = np.sum(x1 * x2, axis=-1)
    mag = (np.sum(x1 * x1, axis=-1) + _COSINE_EPS) * (np.sum(x2 * x2, axis=-1) + _COSINE_EPS)
    cos = prod / np.sqrt(mag)
    loss = np.where(y == 1, 1.0 - cos, 0.0) + np.where(y == -1, np.maximum(0.0, cos - margin), 0.0)
    return reduce(loss, reduction)


def pairwise_distance(x1, x2, p=2.0, eps=1e-6):
    """``|| x1 - x2 + eps ||_p`` over the last axis (torch adds ``eps`` to the difference)."""
    d = np.abs(f64(x1) - f64(x2) + eps)
    if math.isinf(p):
        return np.max(d, axis=-1)
    return np.sum(d**p, axis=-1) ** (1.0 / p)


def _triplet(d_pos, d_neg, d_swap, margin, swap, reduction):
    if swap:
        d_neg = np.minimum(d_neg, d_swap())
    return reduce(np.maximum(0.0, margin + d_pos - d_neg), reduction)


def triplet_margin_loss(
    anchor, positive, negative, margin=1.0, p=2, eps=1e-6, swap=False, reduction="mean"
):
    """``max(0, margin + d(a, p) - d(a, n))``, ``d(a, n)`` replaced by ``min(d(a, n), d(p, n))``
    with ``swap``; ``d`` is :func:`pairwise_distance`."""
    return _triplet(
        pairwise_distance(anchor, positive, p, eps),
        pairwise_distance(anchor, negative, p, eps),
        lambda: pairwise_distance(positive, negative, p, eps),
        margin,
        swap,
        reduction,
    )


def triplet_margin_with_distance_loss(
    anchor, positive, negative, *, distance_function=None, margin=1.0, swap=False, reduction="mean"
):
    """:func:`triplet_margin_loss` with ``distance_function`` (called on the NumPy arrays;
    default :func:`pairwise_distance` with ``p = 2``, ``eps = 1e-6``)."""
    a, p, n = f64(anchor), f64(positive), f64(negative)
    dist = pairwise_distance if distance_function is None else distance_function

    def d(u, v):
        return np.asarray(dist(u, v), dtype=np.float64)

    return _triplet(d(a, p), d(a, n), lambda: d(p, n), margin, swap, reduction)


# ------------------------------------------------------------------------------------------
# Connectionist temporal classification (torch.nn.functional.ctc_loss)
# ------------------------------------------------------------------------------------------


def _lse(terms):
    """``log(sum(exp(terms)))`` of a few scalars, ``-inf`` if all are ``-inf``."""
    m = max(terms)
    if m == -math.inf:
        return -math.inf
    return m + math.log(sum(math.exp(t - m) for t in terms))


def _ctc_sequence(lp, labels, blank):
    """``-log`` of the summed probability of the alignments of ``labels`` to ``lp`` (T, C).

    The forward recursion over the extended labels ``l' = (blank, l1, blank, ..., blank)``;
    state ``s`` may be entered from ``s``, ``s - 1``, and ``s - 2`` where ``l'_s != l'_{s-2}``.
    """
    ext = [blank]
    for v in labels:
        ext += [int(v), blank]
    n_states = len(ext)
    if lp.shape[0] == 0:
        return 0.0 if not len(labels) else math.inf
    alpha = [-math.inf] * n_states
    alpha[0] = lp[0, blank]
    if n_states > 1:
        alpha[1] = lp[0, ext[1]]
    for t in range(1, lp.shape[0]):
        new = []
        for s in range(n_states):
            terms = [alpha[s]]
            if s >= 1:
                terms.append(alpha[s - 1])
            if s >= 2 and ext[s] != ext[s - 2]:
                terms.append(alpha[s - 2])
            new.append(_lse(terms) + lp[t, ext[s]])
        alpha = new
    ends = [alpha[-1]] + ([alpha[-2]] if n_states > 1 else [])
    return -_lse(ends)


def ctc_loss(
    log_probs,
    targets,
    input_lengths,
    target_lengths,
    blank=0,
    reduction="mean",
    zero_infinity=False,
):
    """Per-sequence CTC loss on the first ``input_lengths[n]`` frames; ``'mean'`` divides each
    by its target length (at least 1) before the batch mean (torch's definition).

    ``log_probs`` is (T, N, C) or unbatched (T, C); ``targets`` padded (N, S), concatenated
    1-D, or (S,) unbatched. Infeasible sequences give ``inf`` (0 with ``zero_infinity``).
    """
    lp = f64(log_probs)
    t = np.asarray(targets)
    il = np.asarray(input_lengths).reshape(-1)
    tl = np.asarray(target_lengths).reshape(-1)
    unbatched = lp.ndim == 2
    if unbatched:
        lp, t = lp[:, None, :], t[None]
    if t.ndim == 1:
        starts = np.concatenate([[0], np.cumsum(tl)[:-1]]).astype(int)
        labels = [t[s : s + n] for s, n in zip(starts, tl, strict=True)]
    else:
        labels = [t[i, : tl[i]] for i in range(lp.shape[1])]
    loss = np.array(
        [_ctc_sequence(lp[: il[i], i], labels[i], blank) for i in range(lp.shape[1])],
        dtype=np.float64,
    )
    out = reduce_ctc(loss, tl, reduction, zero_infinity=zero_infinity)
    return out[0] if unbatched and reduction == "none" else out


# ------------------------------------------------------------------------------------------
# torchvision.ops, transcribed from the source (focal_loss.py, giou_loss.py, diou_loss.py,
# ciou_loss.py, _utils.py) over a table of ops ``m``: NUMPY_OPS here, torch's in the tests
# ------------------------------------------------------------------------------------------


def _np_sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _np_bce_with_logits(x, y):
    # torch's formula: (1 - y) x + max(-x, 0) + log(1 + exp(-|x|))
    return (1 - y) * x + np.maximum(-x, 0) + np.log1p(np.exp(-np.abs(x)))


#: The ops the transcription uses, on NumPy float64 arrays (``no_grad`` is the identity).
NUMPY_OPS = SimpleNamespace(
    max=np.maximum,
    min=np.minimum,
    atan=np.arctan,
    zeros_like=np.zeros_like,
    no_grad=lambda a: a,
    sigmoid=_np_sigmoid,
    bce_with_logits=_np_bce_with_logits,
)


def tv_focal(m, inputs, targets, alpha=0.25, gamma=2, reduction="none"):
    """torchvision/ops/focal_loss.py: sigmoid_focal_loss."""
    p = m.sigmoid(inputs)
    ce_loss = m.bce_with_logits(inputs, targets)
    p_t = p * targets + (1 - p) * (1 - targets)
    loss = ce_loss * ((1 - p_t) ** gamma)
    if alpha >= 0:
        alpha_t = alpha * targets + (1 - alpha) * (1 - targets)
        loss = alpha_t * loss
    if reduction == "mean":
        with np.errstate(invalid="ignore"):
            loss = loss.mean()
    elif reduction == "sum":
        loss = loss.sum()
    return loss


def _unbind(b):
    return b[..., 0], b[..., 1], b[..., 2], b[..., 3]


def tv_loss_inter_union(m, boxes1, boxes2):
    """torchvision/ops/_utils.py: _loss_inter_union."""
    x1, y1, x2, y2 = _unbind(boxes1)
    x1g, y1g, x2g, y2g = _unbind(boxes2)
    xkis1 = m.max(x1, x1g)
    ykis1 = m.max(y1, y1g)
    xkis2 = m.min(x2, x2g)
    ykis2 = m.min(y2, y2g)
    intsctk = m.zeros_like(x1)
    mask = (ykis2 > ykis1) & (xkis2 > xkis1)
    intsctk[mask] = (xkis2[mask] - xkis1[mask]) * (ykis2[mask] - ykis1[mask])
    unionk = (x2 - x1) * (y2 - y1) + (x2g - x1g) * (y2g - y1g) - intsctk
    return intsctk, unionk


def _tv_reduce_boxes(loss, reduction):
    """torchvision's own reduction lines of the box losses (an empty mean is 0), transcribed
    with the rest: it also runs on torch tensors (the tests' ops table), which :func:`reduce`
    does not. On NumPy it is :func:`reduce_empty_as_zero`."""
    if reduction == "mean":
        n = loss.size if isinstance(loss, np.ndarray) else loss.numel()
        return loss.mean() if n > 0 else 0.0 * loss.sum()
    if reduction == "sum":
        return loss.sum()
    return loss


def tv_giou(m, boxes1, boxes2, reduction="none", eps=1e-7):
    """torchvision/ops/giou_loss.py: generalized_box_iou_loss."""
    intsctk, unionk = tv_loss_inter_union(m, boxes1, boxes2)
    iouk = intsctk / (unionk + eps)
    x1, y1, x2, y2 = _unbind(boxes1)
    x1g, y1g, x2g, y2g = _unbind(boxes2)
    xc1 = m.min(x1, x1g)
    yc1 = m.min(y1, y1g)
    xc2 = m.max(x2, x2g)
    yc2 = m.max(y2, y2g)
    area_c = (xc2 - xc1) * (yc2 - yc1)
    miouk = iouk - ((area_c - unionk) / (area_c + eps))
    return _tv_reduce_boxes(1 - miouk, reduction)


def tv_diou_iou_loss(m, boxes1, boxes2, eps=1e-7):
    """torchvision/ops/diou_loss.py: _diou_iou_loss."""
    intsct, union = tv_loss_inter_union(m, boxes1, boxes2)
    iou = intsct / (union + eps)
    x1, y1, x2, y2 = _unbind(boxes1)
    x1g, y1g, x2g, y2g = _unbind(boxes2)
    xc1 = m.min(x1, x1g)
    yc1 = m.min(y1, y1g)
    xc2 = m.max(x2, x2g)
    yc2 = m.max(y2, y2g)
    diagonal_distance_squared = ((xc2 - xc1) ** 2) + ((yc2 - yc1) ** 2) + eps
    x_p = (x2 + x1) / 2
    y_p = (y2 + y1) / 2
    x_g = (x1g + x2g) / 2
    y_g = (y1g + y2g) / 2
    centers_distance_squared = ((x_p - x_g) ** 2) + ((y_p - y_g) ** 2)
    loss = 1 - iou + (centers_distance_squared / diagonal_distance_squared)
    return loss, iou


def tv_diou(m, boxes1, boxes2, reduction="none", eps=1e-7):
    """torchvision/ops/diou_loss.py: distance_box_iou_loss."""
    loss, _ = tv_diou_iou_loss(m, boxes1, boxes2, eps)
    return _tv_reduce_boxes(loss, reduction)


def tv_ciou(m, boxes1, boxes2, reduction="none", eps=1e-7, frozen_alpha=None):
    """torchvision/ops/ciou_loss.py: complete_box_iou_loss.

    ``frozen_alpha``: use this alpha instead (the finite difference of a function whose alpha is
    a constant, as torchvision's no_grad makes it for autograd).
    """
    diou_loss, iou = tv_diou_iou_loss(m, boxes1, boxes2)  # sic: torchvision passes no eps
    x1, y1, x2, y2 = _unbind(boxes1)
    x1g, y1g, x2g, y2g = _unbind(boxes2)
    w_pred = x2 - x1
    h_pred = y2 - y1
    w_gt = x2g - x1g
    h_gt = y2g - y1g
    v = (4 / (math.pi**2)) * ((m.atan(w_gt / h_gt) - m.atan(w_pred / h_pred)) ** 2)
    alpha = m.no_grad(v / (1 - iou + v + eps)) if frozen_alpha is None else frozen_alpha
    loss = diou_loss + alpha * v
    return _tv_reduce_boxes(loss, reduction)


def _boxes(boxes1, boxes2):
    return f64(boxes1), f64(boxes2)


def sigmoid_focal_loss(inputs, targets, alpha=0.25, gamma=2, reduction="none"):
    """torchvision's ``sigmoid_focal_loss`` (:func:`tv_focal` on NumPy)."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        return tv_focal(NUMPY_OPS, f64(inputs), f64(targets), alpha, gamma, reduction)


def generalized_box_iou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
    """torchvision's ``generalized_box_iou_loss`` (:func:`tv_giou` on NumPy)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return tv_giou(NUMPY_OPS, *_boxes(boxes1, boxes2), reduction, eps)


def distance_box_iou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
    """torchvision's ``distance_box_iou_loss`` (:func:`tv_diou` on NumPy)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return tv_diou(NUMPY_OPS, *_boxes(boxes1, boxes2), reduction, eps)


def complete_box_iou_loss(boxes1, boxes2, reduction="none", eps=1e-7):
    """torchvision's ``complete_box_iou_loss`` (:func:`tv_ciou` on NumPy)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return tv_ciou(NUMPY_OPS, *_boxes(boxes1, boxes2), reduction, eps)


def complete_box_iou_loss_frozen_alpha(at, boxes1, boxes2, reduction="none", eps=1e-7):
    """:func:`complete_box_iou_loss` with ``alpha`` held at its value for the boxes ``at``.

    torchvision computes ``alpha`` under ``torch.no_grad()``, so the gradient autodiff gives is
    the derivative of this function at ``boxes1, boxes2 = at['boxes1'], at['boxes2']``, not of
    the loss itself: the finite-difference check differentiates this one.
    """
    b1, b2 = _boxes(at["boxes1"], at["boxes2"])
    with np.errstate(divide="ignore", invalid="ignore"):
        _, iou = tv_diou_iou_loss(NUMPY_OPS, b1, b2)
        w, h = b1[..., 2] - b1[..., 0], b1[..., 3] - b1[..., 1]
        wg, hg = b2[..., 2] - b2[..., 0], b2[..., 3] - b2[..., 1]
        v = (4 / (math.pi**2)) * ((np.arctan(wg / hg) - np.arctan(w / h)) ** 2)
        alpha = v / (1 - iou + v + eps)
        return tv_ciou(NUMPY_OPS, *_boxes(boxes1, boxes2), reduction, eps, frozen_alpha=alpha)
