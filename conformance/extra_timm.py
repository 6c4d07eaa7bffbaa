"""Conformance entries for timm's classification losses (lossbridge.classification_timm).

timm does not import here (its torchvision dependency fails to load), so the oracle of each loss
is a float64 NumPy transcription of timm 1.0's source (``timm/loss/asymmetric_loss.py``,
``cross_entropy.py``, ``binary_cross_entropy.py``, ``jsd.py``, timm 1.0.31; 1.0.3 where the
reduction differs), line for line, with the lines quoted. tests/test_timm.py checks the same
transcriptions written in torch (float64 autograd gradients, ``disable_torch_grad_focal_loss``
included) against lossbridge.
"""

from __future__ import annotations

import numpy as np

from lossbridge.classification_timm import (
    asymmetric_loss,
    asymmetric_loss_single_label,
    jsd_cross_entropy,
    smoothed_binary_cross_entropy,
    soft_target_cross_entropy,
)
from lossbridge.conformance.cases import AOT, base, entry
from lossbridge.conformance.references import log_softmax, reduce


def _sigmoid(x):
    """``1 / (1 + e^{-x})``, as ``e^{x} / (1 + e^{x})`` for negative x (no overflow)."""
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _batchmean(loss, reduction):
    """timm's ``'batchmean'``: ``loss.sum() / x.shape[0]``; otherwise :func:`reduce`."""
    if reduction == "batchmean":
        return reduce(loss, "mean", denominator=loss.shape[0])
    return reduce(loss, reduction)


def ref_asymmetric_loss(
    input,
    target,
    gamma_neg=4.0,
    gamma_pos=1.0,
    clip=0.05,
    eps=1e-8,
    detach_focal_weight=False,
    label_smoothing=0.0,
    weight=None,
    pos_weight=None,
    reduction="sum",
    focus_input=None,
):
    """``AsymmetricLossMultiLabel.forward`` (timm 1.0.31), ``focus_input``: the logits the
    focusing weight is computed from (the unperturbed ones for a detached weight's finite
    difference)."""
    x = np.asarray(input, np.float64)
    y = np.asarray(target, np.float64)
    if label_smoothing:  # y = y * (1. - self.smoothing) + 0.5 * self.smoothing
        y = y * (1.0 - label_smoothing) + 0.5 * label_smoothing

    def probs(x):
        x_sigmoid = _sigmoid(x)  # x_sigmoid = torch.sigmoid(x)
        xs_pos = x_sigmoid  # xs_pos = x_sigmoid
        # xs_neg = 1 - x_sigmoid, evaluated as sigmoid(-x): the same real number, without the
        # subtraction's loss of digits for large x (the float64 oracle must not carry timm's
        # rounding; tests/test_timm.py measures timm's own float32 subtraction)
        xs_neg = _sigmoid(-x)
        if clip is not None and clip > 0:  # xs_neg = (xs_neg + self.clip).clamp(max=1)
            xs_neg = np.minimum(xs_neg + clip, 1.0)
        return xs_pos, xs_neg

    xs_pos, xs_neg = probs(x)
    los_pos = y * np.log(np.maximum(xs_pos, eps))  # y * torch.log(xs_pos.clamp(min=self.eps))
    if pos_weight is not None:  # los_pos = los_pos * self.pos_weight
        los_pos = los_pos * np.asarray(pos_weight, np.float64)
    los_neg = (1 - y) * np.log(np.maximum(xs_neg, eps))  # (1 - y) * torch.log(xs_neg.clamp(...))
    loss = los_pos + los_neg
    if gamma_neg > 0 or gamma_pos > 0:
        if focus_input is not None:
            xs_pos, xs_neg = probs(np.asarray(focus_input, np.float64))
        pt0 = xs_pos * y  # pt0 = xs_pos * y
        pt1 = xs_neg * (1 - y)  # pt1 = xs_neg * (1 - y)
        pt = pt0 + pt1  # pt = pt0 + pt1
        one_sided_gamma = gamma_pos * y + gamma_neg * (1 - y)
        one_sided_w = np.power(1 - pt, one_sided_gamma)  # torch.pow(1 - pt, one_sided_gamma)
        loss = loss * one_sided_w  # loss *= one_sided_w
    loss = -loss  # loss = -loss
    if weight is not None:  # loss = loss * self.weight
        loss = loss * np.asarray(weight, np.float64)
    return _batchmean(loss, reduction)


def fd_asymmetric_loss(at, input, target, **kwargs):
    """The finite difference's function: a detached focusing weight held at ``at``."""
    focus = at["input"] if kwargs.get("detach_focal_weight") else None
    return ref_asymmetric_loss(input, target, focus_input=focus, **kwargs)


def ref_asymmetric_loss_single_label(
    input, target, gamma_pos=1.0, gamma_neg=4.0, label_smoothing=0.1, reduction="mean"
):
    """``AsymmetricLossSingleLabel.forward`` (timm 1.0), ``eps`` = ``label_smoothing``."""
    x = np.asarray(input, np.float64)
    num_classes = x.shape[-1]  # num_classes = inputs.size()[-1]
    log_preds = log_softmax(x, -1)  # log_preds = self.logsoftmax(inputs)
    targets = np.eye(num_classes)[np.asarray(target)]  # zeros_like(inputs).scatter_(1, ..., 1)
    anti_targets = 1 - targets  # anti_targets = 1 - targets
    xs_pos = np.exp(log_preds)  # xs_pos = torch.exp(log_preds)
    xs_neg = 1 - xs_pos  # xs_neg = 1 - xs_pos
    xs_pos = xs_pos * targets  # xs_pos = xs_pos * targets
    xs_neg = xs_neg * anti_targets  # xs_neg = xs_neg * anti_targets
    asymmetric_w = np.power(
        1 - xs_pos - xs_neg, gamma_pos * targets + gamma_neg * anti_targets
    )  # torch.pow(1 - xs_pos - xs_neg, self.gamma_pos * targets + self.gamma_neg * anti_targets)
    log_preds = log_preds * asymmetric_w  # log_preds = log_preds * asymmetric_w
    if label_smoothing > 0:  # targets_classes.mul(1 - self.eps).add(self.eps / num_classes)
        targets = targets * (1 - label_smoothing) + label_smoothing / num_classes
    loss = -(targets * log_preds)  # loss = - self.targets_classes.mul(log_preds)
    return reduce(loss.sum(axis=-1), reduction)  # loss.sum(dim=-1); loss.mean()


def ref_soft_target_cross_entropy(input, target, reduction="mean"):
    """``SoftTargetCrossEntropy.forward``: ``torch.sum(-target * F.log_softmax(x, dim=-1),
    dim=-1)`` then ``loss.mean()``."""
    x = np.asarray(input, np.float64)
    t = np.asarray(target, np.float64)
    return reduce(np.sum(-t * log_softmax(x, -1), axis=-1), reduction)


def ref_smoothed_binary_cross_entropy(
    input,
    target,
    label_smoothing=0.1,
    target_threshold=None,
    smooth_dense=False,
    weight=None,
    pos_weight=None,
    reduction="mean",
):
    """``BinaryCrossEntropy.forward`` (timm 1.0.31); ``'batchmean'`` = ``sum_classes=True``
    (``loss.sum(-1).mean()``); ``F.binary_cross_entropy_with_logits`` written out (torch's
    formula, ``(1 - t) x + (1 + (pw - 1) t) log(1 + e^{-x})``)."""
    x = np.asarray(input, np.float64)
    t = np.asarray(target)
    batch_size, num_classes = x.shape
    if t.shape != x.shape:
        off_value = label_smoothing / num_classes  # off_value = self.smoothing / num_classes
        on_value = 1.0 - label_smoothing + off_value  # on_value = 1. - self.smoothing + off_value
        full = np.full((batch_size, num_classes), off_value)  # torch.full(..., off_value)
        full[np.arange(batch_size), t] = on_value  # .scatter_(1, target, on_value)
        t = full
    else:
        t = t.astype(np.float64)
        if smooth_dense and label_smoothing:  # target * (1. - smoothing) + 0.5 * smoothing
            t = t * (1.0 - label_smoothing) + 0.5 * label_smoothing
    if target_threshold is not None:  # target = target.gt(self.target_threshold).to(...)
        t = (t > target_threshold).astype(np.float64)
    pw = 1.0 if pos_weight is None else np.asarray(pos_weight, np.float64)
    loss = (1 - t) * x + (1 + (pw - 1) * t) * np.logaddexp(0.0, -x)
    if weight is not None:
        loss = loss * np.asarray(weight, np.float64)
    return _batchmean(loss, reduction)


def ref_jsd_cross_entropy(
    input, target, num_splits=3, alpha=12.0, label_smoothing=0.1, reduction="mean"
):
    """``JsdCrossEntropy.__call__`` (timm 1.0), per clean image before the batch mean.

    ``LabelSmoothingCrossEntropy``: ``confidence * nll_loss + smoothing * smooth_loss`` with
    ``smooth_loss = -logprobs.mean(dim=-1)``; ``F.kl_div(logp_mixture, p_split,
    reduction='batchmean')`` = ``sum(p (log p - logp_mixture)) / split_size``.
    """
    x = np.asarray(input, np.float64)
    split_size = x.shape[0] // num_splits  # split_size = output.shape[0] // self.num_splits
    logits_split = np.split(x, num_splits)  # torch.split(output, split_size)
    y = np.asarray(target)[:split_size]  # target[:split_size]
    logprobs = log_softmax(logits_split[0], -1)  # F.log_softmax(x, dim=-1)
    nll_loss = -logprobs[np.arange(split_size), y]  # -logprobs.gather(dim=-1, ...)
    smooth_loss = -logprobs.mean(axis=-1)  # -logprobs.mean(dim=-1)
    ce = (1.0 - label_smoothing) * nll_loss + label_smoothing * smooth_loss
    probs = [np.exp(log_softmax(s, 1)) for s in logits_split]  # F.softmax(logits, dim=1)
    # torch.clamp(torch.stack(probs).mean(axis=0), 1e-7, 1).log()
    logp_mixture = np.log(np.clip(np.stack(probs).mean(axis=0), 1e-7, 1))
    kl = sum(
        np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0) - p * logp_mixture, -1)
        for p in probs
    )
    return reduce(ce + alpha * kl / len(probs), reduction)  # self.alpha * sum(...) / len(probs)


# ------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------


def _multilabel(shape=(8, 5), scale=2.0, soft=False, weight=False, pos_weight=False):
    def make(r):
        x = scale * r.standard_normal(shape)
        t = r.uniform(0, 1, shape) if soft else r.integers(0, 2, shape).astype(np.float64)
        out = {"input": x, "target": t}
        if weight:
            out["weight"] = r.uniform(0.2, 2.0, shape[-1])
        if pos_weight:
            out["pos_weight"] = r.uniform(0.5, 3.0, shape[-1])
        return out

    return make


def _indexed(shape=(8, 5), scale=2.0, splits=1, target_rows=None):
    def make(r):
        x = scale * r.standard_normal(shape)
        n = target_rows if target_rows is not None else shape[0] // splits
        return {"input": x, "target": r.integers(0, shape[-1], n)}

    return make


def _mixup(shape=(8, 5), lam=0.7):
    def make(r):
        c = shape[-1]
        lead = shape[:-1]
        a = np.eye(c)[r.integers(0, c, lead)]
        b = np.eye(c)[r.integers(0, c, lead)]
        return {"input": 2.0 * r.standard_normal(shape), "target": lam * a + (1 - lam) * b}

    return make


def _soft_probs(shape=(8, 5)):
    def make(r):
        z = r.standard_normal(shape)
        e = np.exp(z - z.max(-1, keepdims=True))
        return {"input": 2.0 * r.standard_normal(shape), "target": e / e.sum(-1, keepdims=True)}

    return make


def _dense_binary(shape=(8, 5), weight=False, pos_weight=False):
    return _multilabel(shape, soft=False, weight=weight, pos_weight=pos_weight)


_REDUCTIONS4 = ("none", "mean", "sum", "batchmean")

# The asymmetric clip caps 1 - p + m at 1 where p < m: a kink inside the inputs' range, away
# from which the finite differences are smooth; the inputs are drawn far from it (p = m only on
# a set of measure 0), so no case skips grad_fd for it.

_ASL = entry(
    "asymmetric_loss",
    [
        base("basic", _multilabel(), reductions=_REDUCTIONS4, **AOT),
        base("soft", _multilabel(soft=True), {"gamma_neg": 2.0, "gamma_pos": 0.5}),
        base(
            "weights",
            _multilabel(weight=True, pos_weight=True),
            {"label_smoothing": 0.1},
            reductions=("batchmean", "none"),
        ),
        base("no_clip", _multilabel(), {"clip": None}, reductions=("mean",)),
        base("no_focus", _multilabel(), {"gamma_neg": 0.0, "gamma_pos": 0.0}, reductions=("sum",)),
        base("detached", _multilabel(), {"detach_focal_weight": True}, reductions=("sum", "none")),
        base("large_logits", _multilabel(scale=12.0), reductions=("sum",)),
    ],
    fn=asymmetric_loss,
    reference=ref_asymmetric_loss,
    oracle=None,
    fd_reference=fd_asymmetric_loss,
)

_ASL_SINGLE = entry(
    "asymmetric_loss_single_label",
    [
        base("basic", _indexed(), **AOT),
        base("no_smoothing", _indexed(), {"label_smoothing": 0.0}, reductions=("mean",)),
        base(
            "gammas",
            _indexed((6, 7)),
            {"gamma_pos": 0.0, "gamma_neg": 2.0, "label_smoothing": 0.2},
            reductions=("sum", "none"),
        ),
    ],
    fn=asymmetric_loss_single_label,
    reference=ref_asymmetric_loss_single_label,
    oracle=None,
)

_SOFT_CE = entry(
    "soft_target_cross_entropy",
    [
        base("mixup", _mixup(), **AOT),
        base("probs", _soft_probs()),
        base("channels_last", _soft_probs((2, 3, 4, 5)), reductions=("mean", "none")),
        base("one_d", _soft_probs((6,)), reductions=("mean",)),
    ],
    fn=soft_target_cross_entropy,
    reference=ref_soft_target_cross_entropy,
    oracle=None,
)

_SMOOTHED_BCE = entry(
    "smoothed_binary_cross_entropy",
    [
        base("index", _indexed(), reductions=_REDUCTIONS4, **AOT),
        base("index_smoothing", _indexed(), {"label_smoothing": 0.2}, reductions=("mean",)),
        base(
            "pos_weight",
            lambda r: {**_indexed()(r), "pos_weight": r.uniform(0.5, 3.0, 5)},
            reductions=("mean", "none"),
        ),
        base("mixup", _mixup(), reductions=("mean", "batchmean")),
        base(
            "dense_smoothed",
            _dense_binary(weight=True),
            {"smooth_dense": True},
            reductions=("mean", "sum"),
        ),
        base(
            "threshold",
            _mixup(lam=0.6),
            {"target_threshold": 0.2},
            reductions=("mean",),
        ),
        base("no_smoothing", _indexed(), {"label_smoothing": 0.0}, reductions=("sum",)),
    ],
    fn=smoothed_binary_cross_entropy,
    reference=ref_smoothed_binary_cross_entropy,
    oracle=None,
)

_JSD = entry(
    "jsd_cross_entropy",
    [
        base("augmix", _indexed((12, 5), splits=3), **AOT),
        base(
            "two_splits",
            _indexed((8, 6), splits=2, target_rows=8),
            {"num_splits": 2, "alpha": 4.0},
            reductions=("mean", "none"),
        ),
        base("no_smoothing", _indexed((9, 4), splits=3), {"label_smoothing": 0.0}),
        base(
            "confident",
            _indexed((12, 5), scale=12.0, splits=3),
            reductions=("sum",),
        ),
    ],
    fn=jsd_cross_entropy,
    reference=ref_jsd_cross_entropy,
    oracle=None,
)

ENTRIES = (_ASL, _ASL_SINGLE, _SOFT_CE, _SMOOTHED_BCE, _JSD)
