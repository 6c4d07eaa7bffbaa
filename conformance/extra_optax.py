"""Conformance entries of the ``lossbridge.optax`` dialect: one ``optax.<name>`` per loss.

Every entry's function is the dialect's (:mod:`lossbridge.optax`), its reference a float64
NumPy transcription of optax 0.2.8's formula written here (loops or plain formulas, not the
dialect's code), and its oracle real optax (``optax.losses.<name>`` through JAX at the case's
dtype; float64 needs ``jax_enable_x64``), reported as the check ``optax``. optax's losses have
no ``reduction``: cases are built directly, their output unreduced (the runner differentiates
``sum(loss * cotangent)``). Each loss has one or two cases at the shared shapes ((8, 5), (8,),
(2, 6, 4) for CTC, (2, 3, 4, 3) for Dice) and one compiled case (also its placement case); the
unit tests (tests/test_optax_dialect.py) cover the other variants (axis tuples, more masks).

Edge cases of the reference's section 3 are cases: probabilities at 0 and 1 (one-hot KL
targets, saturated logits), 1-D inputs, (N,) against (N, 1) (it broadcasts where optax
broadcasts; ``squared_error``'s 'Shape mismatch' is a ``ValueError``, tested in the unit tests
because a case cannot expect an error), every target ignored (``where=`` all False with label
-100), a zero vector in ``cosine_similarity`` (NaN with ``epsilon=0``, as optax), hinge labels
in {0, 1} and kinks, tied maxima, an infeasible CTC alignment (about ``-log_epsilon``).

Half precision: optax returns float32 for float16/bfloat16 inputs of ``multiclass_hinge_loss``,
``multiclass_perceptron_loss``, ``multiclass_sparsemax_loss`` (``jax.nn.one_hot``'s default
dtype) and the two CTC losses (their float32 recursion), and so does the dialect: those
entries' :attr:`~lossbridge.conformance.registry.Entry.output_dtype` says float32 for the half
dtypes, and their values are measured in ulps of the case's half dtype like every other entry.
``ctc_loss_with_forward_probs`` returns states near ``log_epsilon = -1e5``, beyond float16's
65504: a float32 result holds them, so they are compared as they are, not rounded to infinity
as the expected values of half results beyond the range are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lossbridge import optax as lbx
from lossbridge.backends import get_namespace
from lossbridge.conformance.cases import (
    Case,
    Entry,
    Oracle,
    binary,
    case_seed,
    const,
    normal,
    optax_unavailable,
    signs,
)
from lossbridge.conformance.drivers import HALF_DTYPES
from lossbridge.conformance.references import log_sigmoid

# ------------------------------------------------------------------------------------------
# Helpers: inputs and NumPy building blocks (float64)
# ------------------------------------------------------------------------------------------


def _lse(x: np.ndarray, axis: Any, keepdims: bool = False) -> np.ndarray:
    """log sum exp along ``axis`` (``-inf`` rows stay ``-inf``)."""
    m = np.max(x, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _axes(axis: Any, ndim: int) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in (axis if isinstance(axis, tuple) else (axis,)))


def _softmax_probs(r: np.random.Generator, shape: tuple[int, ...], axis: int = -1) -> np.ndarray:
    e = np.exp(r.standard_normal(shape))
    return e / e.sum(axis=axis, keepdims=True)


def _mask(r: np.random.Generator, shape: tuple[int, ...], empty: Any = None) -> np.ndarray:
    m = r.random(shape) > 0.3
    if empty is not None:
        m[empty] = False
    return m


def _one_hot(labels: np.ndarray, k: int) -> np.ndarray:
    out = np.zeros(labels.shape + (k,))
    for idx in np.ndindex(labels.shape):
        if 0 <= labels[idx] < k:
            out[idx + (labels[idx],)] = 1.0
    return out


# ------------------------------------------------------------------------------------------
# Float64 NumPy references (optax 0.2.8's definitions)
# ------------------------------------------------------------------------------------------


def ref_softmax_cross_entropy(logits, labels, axis=-1, where=None):
    """-sum_k y_k log softmax(x)_k over the unmasked classes of ``axis``."""
    x = np.asarray(logits, dtype=np.float64)
    axes = _axes(axis, x.ndim)
    if where is None:
        w = np.ones(x.shape, dtype=bool)
    else:
        w = np.asarray(where, dtype=bool)
        if w.ndim != x.ndim:
            w = np.expand_dims(w, axes)
        w = np.broadcast_to(w, x.shape)
    xm = np.where(w, x, -np.inf)
    lse = _lse(xm, axes, keepdims=True)
    with np.errstate(invalid="ignore"):
        terms = np.where(w, np.broadcast_to(labels, x.shape) * (xm - lse), 0.0)
    return -terms.sum(axis=axes)


def ref_softmax_cross_entropy_with_integer_labels(logits, labels, axis=-1, where=None):
    """log sum_{unmasked j} e^{x_j} - x_label, row by row (0 for a fully masked row)."""
    x = np.asarray(logits, dtype=np.float64)
    axes = _axes(axis, x.ndim)
    w = np.ones(x.shape, dtype=bool) if where is None else np.asarray(where, dtype=bool)
    if w.ndim != x.ndim:
        w = np.expand_dims(w, axes)
    w = np.broadcast_to(w, x.shape)
    batch = tuple(d for d in range(x.ndim) if d not in axes)
    xt = np.transpose(x, batch + axes).reshape(tuple(x.shape[d] for d in batch) + (-1,))
    wt = np.transpose(w, batch + axes).reshape(xt.shape)
    out = np.zeros(xt.shape[:-1])
    k = xt.shape[-1]
    for idx in np.ndindex(out.shape):
        row, mrow, label = xt[idx], wt[idx], int(labels[idx])
        if not mrow.any():
            out[idx] = 0.0
            continue
        picked = row[label] if -k <= label < k else np.nan
        out[idx] = np.log(np.sum(np.exp(row[mrow] - row[mrow].max()))) + row[mrow].max() - picked
    return out


def ref_safe_softmax_cross_entropy(logits, labels):
    """-sum over y != 0 of y log softmax(x), last axis (0 log 0 = 0)."""
    x = np.asarray(logits, dtype=np.float64)
    lsm = x - _lse(x, -1, keepdims=True)
    with np.errstate(invalid="ignore"):
        return -np.where(labels != 0, labels * lsm, 0.0).sum(-1)


def ref_sigmoid_binary_cross_entropy(logits, labels):
    """-y log sigma(x) - (1 - y) log sigma(-x), broadcast."""
    return -labels * log_sigmoid(logits) - (1.0 - labels) * log_sigmoid(-logits)


def ref_sigmoid_focal_loss(logits, labels, alpha=None, gamma=2.0):
    """alpha_t (1 - p_t)^gamma BCE, with 1 - p_t = (1 - y) sigma(x) + y sigma(-x)."""
    ce = ref_sigmoid_binary_cross_entropy(logits, labels)
    one_minus_pt = (1 - labels) * np.exp(log_sigmoid(logits)) + labels * np.exp(
        log_sigmoid(-logits)
    )
    out = ce * one_minus_pt**gamma
    if alpha is None:
        return out
    return (alpha * labels + (1 - alpha) * (1 - labels)) * out


def ref_poly_loss_cross_entropy(logits, labels, epsilon=2.0, axis=-1, where=None):
    """CE + epsilon * sum y (1 - p), masked classes left out of softmax and sums."""
    x = np.asarray(logits, dtype=np.float64)
    axes = _axes(axis, x.ndim)
    w = np.ones(x.shape, dtype=bool) if where is None else np.broadcast_to(where, x.shape)
    xm = np.where(w, x, -np.inf)
    lse = _lse(xm, axes, keepdims=True)
    p = np.where(w, np.exp(xm - lse), 0.0)
    with np.errstate(invalid="ignore"):
        ce = -np.where(w, labels * (xm - lse), 0.0).sum(axis=axes)
    return ce + epsilon * np.where(w, labels * (1 - p), 0.0).sum(axis=axes)


def _masked_sum(v, axis, where):
    axes = _axes(axis, v.ndim)
    if where is not None:
        v = np.where(where, v, 0.0)
    return v.sum(axis=axes)


def ref_kl_divergence(log_predictions, targets, axis=-1, where=None):
    """sum t (log t - log q), 0 log 0 = 0."""
    t = np.broadcast_to(targets, np.broadcast_shapes(np.shape(targets), np.shape(log_predictions)))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_t = np.where(t == 0, 0.0, np.log(np.where(t == 0, 1.0, t)))
        terms = t * (log_t - log_predictions)
    return _masked_sum(terms, axis, where)


def ref_kl_divergence_with_log_targets(log_predictions, log_targets, axis=-1, where=None):
    """sum e^{log t} (log t - log q)."""
    return _masked_sum(np.exp(log_targets) * (log_targets - log_predictions), axis, where)


def ref_generalized_kl_divergence(log_predictions, targets, axis=-1, where=None):
    """sum t (log t - log q) + q - t."""
    kl = ref_kl_divergence(log_predictions, targets, axis, where)
    return kl + _masked_sum(np.exp(log_predictions) - targets, axis, where)


def ref_squared_error(predictions, targets=None):
    e = predictions if targets is None else predictions - targets
    return e**2


def ref_l2_loss(predictions, targets=None):
    return 0.5 * ref_squared_error(predictions, targets)


def ref_huber_loss(predictions, targets=None, delta=1.0):
    """0.5 e^2 for |e| <= delta, delta (|e| - delta / 2) beyond."""
    e = np.abs(predictions if targets is None else predictions - targets)
    return np.where(e <= delta, 0.5 * e**2, delta * (e - 0.5 * delta))


def ref_log_cosh(predictions, targets=None):
    """log cosh e = |e| + log(1 + e^{-2|e|}) - log 2."""
    e = np.abs(predictions if targets is None else predictions - targets)
    return e + np.log1p(np.exp(-2 * e)) - np.log(2.0)


def ref_cosine_similarity(predictions, targets, epsilon=0.0, axis=-1, where=None):
    """sum a_k b_k / (sqrt(max(|a|^2, eps)) sqrt(max(|b|^2, eps))) over unmasked k."""
    a, b = np.broadcast_arrays(np.asarray(predictions), np.asarray(targets))
    w = np.ones(a.shape, dtype=bool) if where is None else np.broadcast_to(where, a.shape)
    axes = _axes(axis, a.ndim)
    na = np.sqrt(np.maximum(np.where(w, a * a, 0.0).sum(axes, keepdims=True), epsilon))
    nb = np.sqrt(np.maximum(np.where(w, b * b, 0.0).sum(axes, keepdims=True), epsilon))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(w, (a / na) * (b / nb), 0.0).sum(axes)


def ref_cosine_distance(predictions, targets, epsilon=0.0, axis=-1, where=None):
    return 1.0 - ref_cosine_similarity(predictions, targets, epsilon, axis, where)


def ref_hinge_loss(predictor_outputs, targets):
    return np.maximum(0.0, 1.0 - predictor_outputs * targets)


def ref_perceptron_loss(predictor_outputs, targets):
    return np.maximum(0.0, -predictor_outputs * targets)


def ref_multiclass_hinge_loss(scores, labels):
    """max_k (s_k + 1 - [k = y]) - s_y, row by row."""
    out = np.zeros(labels.shape)
    for idx in np.ndindex(labels.shape):
        s = scores[idx]
        oh = _one_hot(np.asarray(labels[idx]), s.shape[-1])
        out[idx] = np.max(s + 1.0 - oh) - np.dot(s, oh)
    return out


def ref_multiclass_perceptron_loss(scores, labels):
    out = np.zeros(labels.shape)
    for idx in np.ndindex(labels.shape):
        s = scores[idx]
        out[idx] = np.max(s) - np.dot(s, _one_hot(np.asarray(labels[idx]), s.shape[-1]))
    return out


def ref_sparsemax_loss(logits, labels):
    """sparse_plus(-x if y else x): 0, (z + 1)^2 / 4, z."""
    z = np.where(labels != 0, -logits, logits)
    return np.where(z <= -1, 0.0, np.where(z >= 1, z, (z + 1) ** 2 / 4))


def _sparsemax(v: np.ndarray) -> np.ndarray:
    """Projection onto the simplex by bisection on the threshold (not the sort formula)."""
    lo, hi = v.min() - 1.0, v.max()
    for _ in range(200):
        tau = 0.5 * (lo + hi)
        if np.maximum(v - tau, 0).sum() > 1:
            lo = tau
        else:
            hi = tau
    tau = 0.5 * (lo + hi)
    supp = v > tau
    tau = (v[supp].sum() - 1) / supp.sum()  # exact on the support
    return np.maximum(v - tau, 0.0)


def ref_multiclass_sparsemax_loss(scores, labels):
    """<p, s - s_y> over the support + (1 - |p|^2) / 2, p = sparsemax(s)."""
    out = np.zeros(labels.shape)
    for idx in np.ndindex(labels.shape):
        s = scores[idx]
        p = _sparsemax(s)
        shifted = s - s[labels[idx]]
        out[idx] = np.sum(np.where(p > 0, p * shifted, 0.0)) + 0.5 * (1 - np.sum(p * p))
    return out


def ref_ranking_softmax_loss(logits, labels, where=None, weights=None, reduce_fn="mean"):
    """Per list: -sum_{valid i} y_i w_i log softmax_valid(s)_i; then the mean over valid lists."""
    lead = logits.shape[:-1]
    per = np.zeros(lead)
    valid = np.ones(lead, dtype=bool)
    for idx in np.ndindex(lead):
        s, y = logits[idx], labels[idx].astype(np.float64)
        m = np.ones(s.shape, dtype=bool) if where is None else where[idx]
        if weights is not None:
            y = y * np.broadcast_to(weights, logits.shape)[idx]
        if not m.any():
            valid[idx] = False
            continue
        lsm = s[m] - (np.log(np.sum(np.exp(s[m] - s[m].max()))) + s[m].max())
        per[idx] = -np.sum(y[m] * lsm)
    if reduce_fn is None:
        return per
    return per[valid].mean() if valid.any() else 0.0


def ref_ctc_loss_with_forward_probs(
    logits, logit_paddings, labels, label_paddings, blank_id=0, log_epsilon=-1e5
):
    """optax's recursion, transcribed per sequence with Python loops."""
    b, t_max, _ = logits.shape
    n = labels.shape[1]
    logp = logits - _lse(logits, -1, keepdims=True)
    phis = np.zeros((t_max, b, n + 1))
    emits = np.zeros((t_max, b, n))
    losses = np.zeros(b)
    for i in range(b):
        lab = labels[i]
        rep = np.array([float(lab[k] == lab[k + 1]) for k in range(n - 1)] + [0.0])
        phi = np.full(n + 1, float(log_epsilon))
        phi[0] = 0.0
        emit = np.full(n, float(log_epsilon))
        for t in range(t_max):
            lp_emit = logp[i, t, lab]
            lp_phi = logp[i, t, blank_id]
            pad = logit_paddings[i, t]
            p1 = phi.copy()
            p1[1:] = np.logaddexp(phi[1:], emit + log_epsilon * rep)
            new_emit = np.logaddexp(p1[:-1] + lp_emit, emit + lp_emit)
            new_phi = p1 + lp_phi
            new_phi[1:] = np.logaddexp(new_phi[1:], emit + lp_phi + log_epsilon * (1 - rep))
            emit = pad * emit + (1 - pad) * new_emit
            phi = pad * phi + (1 - pad) * new_phi
            phis[t, i], emits[t, i] = phi, emit
        last = phi.copy()
        last[1:] = np.logaddexp(phi[1:], emit)
        phis[-1, i] = last
        length = n - int(np.sum(label_paddings[i]))
        losses[i] = -last[length] if 0 <= length <= n else 0.0
    return losses, phis, emits


def ref_ctc_loss(logits, logit_paddings, labels, label_paddings, blank_id=0, log_epsilon=-1e5):
    args = (logits, logit_paddings, labels, label_paddings, blank_id, log_epsilon)
    return ref_ctc_loss_with_forward_probs(*args)[0]


def _flat_forward(loss, phi, emit, xp=np):
    return xp.concat([loss, xp.reshape(phi, (-1,)), xp.reshape(emit, (-1,))], axis=0)


def ref_ctc_forward_flat(
    logits, logit_paddings, labels, label_paddings, blank_id=0, log_epsilon=-1e5
):
    """The three outputs flattened into one vector (loss, blank states, emit states)."""
    out = ref_ctc_loss_with_forward_probs(
        logits, logit_paddings, labels, label_paddings, blank_id, log_epsilon
    )
    return np.concatenate([o.reshape(-1) for o in out])


def ctc_forward_flat(logits, logit_paddings, labels, label_paddings, **kwargs):
    """``lossbridge.optax.ctc_loss_with_forward_probs``'s three outputs, flattened and joined."""
    out = lbx.ctc_loss_with_forward_probs(logits, logit_paddings, labels, label_paddings, **kwargs)
    xp, _ = get_namespace(out[0])
    return _flat_forward(*out, xp=xp)


def ref_triplet_margin_loss(
    anchors, positives, negatives, axis=-1, norm_degree=2, margin=1.0, eps=1e-6
):
    """max(d(a, p) - d(a, n) + margin, 0), d = (sum (a - b)^n + eps)^(1/n)."""

    def d(u, v):
        return (np.sum((u - v) ** norm_degree, axis=axis) + eps) ** (1.0 / norm_degree)

    return np.maximum(d(anchors, positives) - d(anchors, negatives) + margin, 0.0)


def ref_ntxent(embeddings, labels, temperature=0.07):
    """Mean over positive pairs (i, j) of -log(e^{s_ij} / (e^{s_ij} + sum_{neg k} e^{s_ik}))."""
    x = np.asarray(embeddings, dtype=np.float64)
    n = x.shape[0]
    eps = np.finfo(np.float64).eps
    unit = x / np.sqrt(np.maximum((x * x).sum(1, keepdims=True), eps))
    s = unit @ unit.T / temperature
    total, count = 0.0, 0
    for i in range(n):
        negs = [s[i, k] for k in range(n) if labels[k] != labels[i]]
        for j in range(n):
            if j == i or labels[j] != labels[i]:
                continue
            total += -(s[i, j] - np.log(np.exp(s[i, j]) + np.sum(np.exp(negs))))
            count += 1
    return np.asarray(total / count)


def _dice_per_class(p, t, class_weights, smooth, alpha, beta, axis):
    axes = tuple(range(1, p.ndim - 1)) if axis is None else _axes(axis, p.ndim)
    tp = (p * t).sum(axes)
    fp = (p * (1 - t)).sum(axes)
    fn = ((1 - p) * t).sum(axes)
    out = 1 - (tp + smooth) / (tp + alpha * fp + beta * fn + smooth)
    return out if class_weights is None else out * class_weights


def ref_dice_loss(
    predictions,
    targets,
    class_weights=None,
    smooth=1.0,
    alpha=0.5,
    beta=0.5,
    apply_softmax=True,
    reduction="mean",
    ignore_background=False,
    axis=None,
):
    """Tversky per image and class (TP, FP, FN sums), then the class reduction."""
    x = np.asarray(predictions, dtype=np.float64)
    if apply_softmax:
        if x.shape[-1] == 1:
            p = 1 / (1 + np.exp(-x))
        else:
            p = np.exp(x - _lse(x, -1, keepdims=True))
    else:
        p = x
    out = _dice_per_class(p, targets, class_weights, smooth, alpha, beta, axis)
    if ignore_background and x.shape[-1] > 1:
        out = out[..., 1:]
    if reduction == "mean":
        return out.mean(-1)
    return out.sum(-1) if reduction == "sum" else out


def ref_binary_dice_loss(predictions, targets, smooth=1.0, apply_sigmoid=True):
    if predictions.shape[-1] != 1:
        predictions, targets = predictions[..., None], targets[..., None]
    return ref_dice_loss(predictions, targets, smooth=smooth, apply_softmax=apply_sigmoid)


def ref_multiclass_generalized_dice_loss(
    predictions, targets, smooth=1.0, apply_softmax=True, ignore_background=False
):
    """Dice with class weights 1 / (f_c^2 + 1e-7) normalised to sum C, mean of everything."""
    f = targets.reshape(-1, targets.shape[-1]).sum(0)
    w = 1 / (f**2 + 1e-7)
    w = w / w.sum() * len(w)
    out = ref_dice_loss(
        predictions,
        targets,
        class_weights=w,
        smooth=smooth,
        apply_softmax=apply_softmax,
        reduction="none",
        ignore_background=ignore_background,
    )
    return np.asarray(out.mean())


# ------------------------------------------------------------------------------------------
# The optax oracle
# ------------------------------------------------------------------------------------------


def _optax(name: str, post: Callable[..., Any] | None = None) -> Oracle:
    """Oracle ``optax``: ``optax.losses.<name>`` on the case's arrays at ``dtype``."""

    def fn(inputs: Mapping[str, np.ndarray], kwargs: Mapping[str, Any], dtype: str):
        import warnings

        import jax.numpy as jnp
        import optax

        args = {
            k: jnp.asarray(v.astype(dtype) if v.dtype.kind == "f" else v) for k, v in inputs.items()
        }
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            out = getattr(optax.losses, name)(**args, **kwargs)
        if post is not None:
            out = post(*(np.asarray(o, dtype=np.float64) for o in out))
        return np.asarray(out, dtype=np.float64)

    return Oracle("optax", "optax", fn, optax_unavailable)


# ------------------------------------------------------------------------------------------
# Cases and entries
# ------------------------------------------------------------------------------------------


def _case(loss: str, label: str, make: Callable[..., Any], kwargs=None, *, aot=False, skip=None):
    return Case(
        label=label,
        make=make,
        kwargs=dict(kwargs or {}),
        seed=case_seed(f"optax.{loss}", label),
        skip=dict(skip or {}),
        compile=aot,
        placement=aot,
    )


def _e(name, cases, grad, fn=None, reference=None, post=None, output_dtype=None) -> Entry:
    return Entry(
        name=f"optax.{name}",
        fn=getattr(lbx, name) if fn is None else fn,
        reference=globals()[f"ref_{name}"] if reference is None else reference,
        cases=tuple(_case(name, *c[:-1], **c[-1]) for c in cases),
        oracle=None,
        grad_args=(grad,),
        extra_oracles=(_optax(name, post),),
        output_dtype=output_dtype,
    )


def _mk(**draws: Callable[[np.random.Generator], Any]) -> Callable[..., dict]:
    def make(r: np.random.Generator) -> dict:
        return {k: f(r) for k, f in draws.items()}

    return make


def _labels(shape, k):
    return lambda r: r.integers(0, k, shape)


_AOT = {"aot": True}
_NAN = "NaN by design (optax's): no gradient to compare"
_KINK = "inputs exactly at a kink or tie: the central difference averages the one-sided slopes"


def _f32_for_half(dtype: str) -> str:
    """optax returns JAX's default float dtype (float32) for half inputs of some losses
    (``jax.nn.one_hot``, the CTC recursion), and so does lossbridge.optax: their entries'
    :attr:`Entry.output_dtype`."""
    return "float32" if dtype in HALF_DTYPES else dtype


_CANCEL = (
    "outputs near log_epsilon = -1e5: the reference's central difference cancels "
    "(1e5 * 1e-16 / 1e-6 step = 1e-5)"
)
_INF = "a -inf logit: the finite-difference step is infinite"


def _sce_where(r):
    m = _mask(r, (8,))
    m[[1, 4]] = False  # whole examples masked: 0
    return {
        "logits": r.standard_normal((5, 8)),
        "labels": _softmax_probs(r, (5, 8), axis=0),
        "where": m,
    }


def _int_all_ignored(r):
    # every target ignored: torch's label -100 with where= all False (optax: NaN without where)
    return {
        "logits": r.standard_normal((8, 5)),
        "labels": np.full(8, -100),
        "where": np.zeros((8, 5), dtype=bool),
    }


def _safe_inf(r):
    x = r.standard_normal((8, 5))
    y = _softmax_probs(r, (8, 5))
    x[::2, 1] = -np.inf
    y[::2, 1] = 0.0
    y /= y.sum(-1, keepdims=True)
    return {"logits": x, "labels": y}


def _bce_column(r):
    x = np.array([100.0, -100.0, 20.0, 0.5, 0.0, -3.0, 7.0, -0.25])
    return {"logits": x, "labels": r.integers(0, 2, (8, 1)).astype(float)}


def _binary(shape, scale=3.0):
    return _mk(logits=normal(shape, scale=scale), labels=binary(shape))


def _focal_extreme(r):
    x = np.resize([30.0, -30.0, 2.0, -1.0, 0.5, -3.0, 8.0], (8, 5)) + 0 * r.random()
    return {"logits": x, "labels": r.integers(0, 2, (8, 5)).astype(float)}


def _kl_onehot(r):
    # targets at 0 and 1 (one-hot rows) and in between
    t = _softmax_probs(r, (8, 5))
    t[::2] = np.eye(5)[r.integers(0, 5, 4)]
    return {"log_predictions": np.log(_softmax_probs(r, (8, 5))), "targets": t}


def _kl_log(r):
    return {
        "log_predictions": np.log(_softmax_probs(r, (8, 5))),
        "log_targets": np.log(_softmax_probs(r, (8, 5))),
    }


def _gkl(r, where=False):
    out = {"log_predictions": r.standard_normal((8, 5)), "targets": 2 * r.random((8, 5))}
    if where:
        out["where"] = _mask(r, (8, 5))
    return out


def _pair(shape=(8, 5), scale=1.0):
    return _mk(predictions=normal(shape, scale=scale), targets=normal(shape))


def _log_cosh_wide(r):
    e = np.resize([50.0, -50.0, 1e-5, -3e-4, 2.0, -0.7, 12.0], (8, 5))
    t = r.standard_normal((8, 5))
    return {"predictions": t + e, "targets": t}


def _cos_zero(r):
    a, b = r.standard_normal((8, 5)), r.standard_normal((8, 5))
    a[2] = 0.0  # a zero vector: 0 / 0 = NaN with epsilon 0 (optax)
    w = _mask(r, (8, 5), empty=5)  # a fully masked row: 0
    w[2] = True
    return {"predictions": a, "targets": b, "where": w}


def _hinge_01(r):
    # labels {0, 1} used as given (0 gives 1), scores at the kink s y = 1
    s = np.resize([1.0, 0.3, -0.5, 2.0, 1.0, 0.0, -1.0], (8, 5))
    return {"predictor_outputs": s, "targets": r.integers(0, 2, (8, 5)).astype(float)}


def _perceptron_1d(r):
    return {"predictor_outputs": np.resize([0.0, 0.5, -1.0, 2.0], (8,)), "targets": signs(8)(r)}


def _mc_ties(r):
    s = np.resize([2.0, 1.0, 1.0, 0.0, 2.0, 0.5, 0.5], (8, 5))
    return {"scores": s, "labels": r.integers(0, 5, 8)}


def _ranking_where(r):
    return {
        "logits": r.standard_normal((8, 5)),
        "labels": r.integers(0, 3, (8, 5)).astype(float),
        "where": _mask(r, (8, 5), empty=3),
        "weights": r.random((8, 5)),
    }


_CTC_LABELS = np.array([[1, 2, 2], [3, 1, 0]])


def _ctc(frame_pad, label_pad=((0, 0, 0), (0, 0, 1.0))):
    def make(r):
        return {
            "logits": r.standard_normal((2, 6, 4)),
            "logit_paddings": np.asarray(frame_pad, dtype=np.float64),
            "labels": _CTC_LABELS,
            "label_paddings": np.asarray(label_pad, dtype=np.float64),
        }

    return make


_PAD_FULL = ((0, 0, 0, 0, 0, 0), (0, 0, 0, 0, 0, 1.0))
_PAD_SHORT = ((0, 0, 1, 1, 1, 1), (0, 0, 0, 0, 1, 1.0))  # 2 frames for 1, 2, 2: infeasible


def _triplets(shape=(8, 5)):
    return _mk(anchors=normal(shape), positives=normal(shape), negatives=normal(shape))


def _ntxent(labels):
    return _mk(embeddings=normal((8, 5)), labels=const(labels))


def _seg(shape=(2, 3, 4, 3), weights=False, absent=False):
    def make(r):
        labels = r.integers(0, 3 if not absent else 2, shape[:-1])
        out = {"predictions": r.standard_normal(shape), "targets": _one_hot(labels, shape[-1])}
        if weights:
            out["class_weights"] = np.array([0.5, 1.0, 2.0])
        return out

    return make


def _binary_seg(shape):
    return _mk(predictions=normal(shape), targets=binary(shape))


ENTRIES: tuple[Entry, ...] = (
    _e(
        "softmax_cross_entropy",
        [
            (
                "basic",
                _mk(logits=normal((8, 5)), labels=lambda r: _softmax_probs(r, (8, 5))),
                {},
                _AOT,
            ),
            ("axis0_where", _sce_where, {"axis": 0}, {}),
        ],
        "logits",
    ),
    _e(
        "softmax_cross_entropy_with_integer_labels",
        [
            ("basic", _mk(logits=normal((8, 5)), labels=_labels(8, 5)), {}, _AOT),
            ("all_ignored", _int_all_ignored, {}, {}),
        ],
        "logits",
    ),
    _e(
        "safe_softmax_cross_entropy",
        [
            (
                "basic",
                _mk(logits=normal((8, 5)), labels=lambda r: _softmax_probs(r, (8, 5))),
                {},
                _AOT,
            ),
            ("neg_inf", _safe_inf, {}, {"skip": {"grad_fd": _INF}}),
        ],
        "logits",
    ),
    _e(
        "sigmoid_binary_cross_entropy",
        [
            ("basic", _binary((8, 5)), {}, _AOT),
            ("column_labels_saturated", _bce_column, {}, {}),  # (8,) with (8, 1): (8, 8)
        ],
        "logits",
    ),
    _e(
        "sigmoid_focal_loss",
        [
            ("alpha_saturated", _focal_extreme, {"alpha": 0.25, "gamma": 1.5}, _AOT),
        ],
        "logits",
    ),
    _e(
        "poly_loss_cross_entropy",
        [
            (
                "basic",
                _mk(logits=normal((8, 5)), labels=lambda r: _one_hot(r.integers(0, 5, 8), 5)),
                {},
                _AOT,
            ),
        ],
        "logits",
    ),
    _e(
        "kl_divergence",
        [
            ("one_hot_targets", _kl_onehot, {}, _AOT),
        ],
        "log_predictions",
    ),
    _e(
        "kl_divergence_with_log_targets",
        [
            ("basic", _kl_log, {}, _AOT),
        ],
        "log_predictions",
    ),
    _e(
        "generalized_kl_divergence",
        [("where", lambda r: _gkl(r, where=True), {}, _AOT)],
        "log_predictions",
    ),
    _e(
        "convex_kl_divergence",
        [("basic", _gkl, {}, _AOT)],
        "log_predictions",
        reference=ref_generalized_kl_divergence,
    ),
    _e(
        "squared_error",
        [("basic", _pair(), {}, _AOT), ("one_d_no_targets", _mk(predictions=normal(8)), {}, {})],
        "predictions",
    ),
    _e(
        "l2_loss",
        [("basic", _pair(), {}, _AOT)],
        "predictions",
    ),
    _e(
        "huber_loss",
        [
            ("basic", _pair(scale=2.0), {"delta": 1.5}, _AOT),
        ],
        "predictions",
    ),
    _e(
        "log_cosh",
        [("wide", _log_cosh_wide, {}, _AOT)],
        "predictions",
    ),
    _e(
        "cosine_similarity",
        [
            ("basic", _pair(), {}, _AOT),
            ("zero_vector_where", _cos_zero, {}, {"skip": {"grad": _NAN}}),
        ],
        "predictions",
    ),
    _e(
        "cosine_distance",
        [
            ("axis0_eps", _pair(), {"axis": 0, "epsilon": 1e-8}, _AOT),
            ("one_d", _pair((8,)), {}, {}),
        ],
        "predictions",
    ),
    _e(
        "hinge_loss",
        [
            ("basic", _mk(predictor_outputs=normal((8, 5)), targets=signs((8, 5))), {}, _AOT),
            ("zero_one_labels_kinks", _hinge_01, {}, {"skip": {"grad_fd": _KINK}}),
        ],
        "predictor_outputs",
    ),
    _e(
        "perceptron_loss",
        [
            ("basic", _mk(predictor_outputs=normal((8, 5)), targets=signs((8, 5))), {}, _AOT),
            ("one_d_kinks", _perceptron_1d, {}, {"skip": {"grad_fd": _KINK}}),
        ],
        "predictor_outputs",
    ),
    _e(
        "multiclass_hinge_loss",
        [
            ("ties", _mc_ties, {}, {**_AOT, "skip": {"grad_fd": _KINK}}),
        ],
        "scores",
        output_dtype=_f32_for_half,
    ),
    _e(
        "multiclass_perceptron_loss",
        [
            ("ties", _mc_ties, {}, {**_AOT, "skip": {"grad_fd": _KINK}}),
        ],
        "scores",
        output_dtype=_f32_for_half,
    ),
    _e(
        "sparsemax_loss",
        [("basic", _binary((8, 5), 2.0), {}, _AOT)],
        "logits",
    ),
    _e(
        "multiclass_sparsemax_loss",
        [
            (
                "basic",
                _mk(scores=normal((8, 5), scale=2.0), labels=_labels(8, 5)),
                {},
                _AOT,
            ),
        ],
        "scores",
        output_dtype=_f32_for_half,
    ),
    _e(
        "ranking_softmax_loss",
        [
            ("where_weights_unreduced", _ranking_where, {"reduce_fn": None}, _AOT),
        ],
        "logits",
    ),
    _e(
        "ctc_loss",
        [
            ("basic", _ctc(_PAD_FULL), {}, _AOT),
            (
                "infeasible_blank2",
                _ctc(_PAD_SHORT),
                {"blank_id": 2, "log_epsilon": -1e4},
                {},
            ),
        ],
        "logits",
        output_dtype=_f32_for_half,
    ),
    _e(
        "ctc_loss_with_forward_probs",
        [("basic", _ctc(_PAD_FULL), {}, {**_AOT, "skip": {"grad_fd": _CANCEL}})],
        "logits",
        fn=ctc_forward_flat,
        reference=ref_ctc_forward_flat,
        post=_flat_forward,
        output_dtype=_f32_for_half,
    ),
    _e(
        "triplet_margin_loss",
        [
            ("basic", _triplets(), {}, _AOT),
            (
                "degree4_axis0",
                _triplets((5, 8)),
                {"axis": 0, "norm_degree": 4, "margin": 0.5, "eps": 1e-3},
                {},
            ),
        ],
        "anchors",
    ),
    _e(
        "ntxent",
        [
            ("basic", _ntxent([0, 1, 0, 1, 2, 2, 3, 0]), {"temperature": 0.5}, _AOT),
        ],
        "embeddings",
    ),
    _e(
        "dice_loss",
        [
            (
                "weights_unreduced",
                _seg(weights=True),
                {
                    "reduction": "none",
                    "ignore_background": True,
                    "alpha": 0.7,
                    "beta": 0.3,
                    "smooth": 0.1,
                },
                _AOT,
            ),
        ],
        "predictions",
    ),
    _e(
        "binary_dice_loss",
        [
            ("basic", _binary_seg((2, 3, 4)), {}, _AOT),
        ],
        "predictions",
    ),
    _e(
        "multiclass_generalized_dice_loss",
        [
            ("absent_class", _seg(absent=True), {"ignore_background": True}, _AOT),
        ],
        "predictions",
    ),
)
