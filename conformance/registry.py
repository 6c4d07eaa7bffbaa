"""The conformance registry: one :class:`Entry` per loss drives every check.

An entry names the loss, its lossbridge function, its oracle (the ``torch.nn.functional`` function
of the same name, called with the same arguments converted to torch), its float64 NumPy reference
(:mod:`lossbridge.conformance.references`), the arguments that get gradients, and its cases.

A :class:`Case` is a label, an input generator ``make(rng) -> {name: ndarray}`` (float64 data,
int64 class indices) run with a generator seeded from the loss name and the case's base label,
keyword arguments (the keyword grid: reductions, weights, ``ignore_index``, smoothing, ...), and
flags: which checks do not apply (with the reason, reported as "not run"), whether the compiled
modes run on it, and whether it is the loss's placement case (``tf.Variable`` input,
array-api-strict's second device, torch's ``meta`` device) and its ``torch.compile`` inductor
case. Edge cases (huge logits, probabilities of exactly 0 and 1, every target ignored, empty
batches, ...) are cases like any other.

Most base cases are expanded over every reduction (:func:`~lossbridge.conformance.cases.expand`);
an expanded case's label is ``<base>_<reduction>`` and its inputs do not depend on the reduction.
The vocabulary the entries are written in (:class:`Case`, :class:`Entry`, the input builders, the
shared skip reasons) is :mod:`lossbridge.conformance.cases`.

Besides ``torch.nn.functional``, an entry may name further oracles (:class:`Oracle`: another
library's implementation, NumPy in and NumPy out, e.g. ``tf.nn.ctc_loss`` and optax's
``ctc_loss`` for ``ctc_loss``), each reported as a check named after it. The four torchvision
losses have no torch oracle (torchvision is not installed); their reference is a transcription of
torchvision's source.
"""

from __future__ import annotations

import functools
import importlib.util
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lossbridge.conformance import (
    extra_angular,
    extra_boxes,
    extra_classification,
    extra_contrastive,
    extra_dense_detection,
    extra_embedding,
    extra_forecasting,
    extra_image_quality,
    extra_keras,
    extra_linear_ce,
    extra_lovasz,
    extra_monai,
    extra_nn,
    extra_optax,
    extra_regression,
    extra_regularization,
    extra_sampled,
    extra_segmentation,
    extra_tfa,
    extra_tfa_mining,
    extra_timm,
    references,
)
from lossbridge.conformance import tolerances as _tolerances
from lossbridge.conformance.cases import (
    AOT,
    BOUNDARY,
    BOX_PAIRS,
    CTC_PADDED,
    CTC_SHORT,
    ELEMENTWISE,
    KINK,
    MLM_TARGET,
    NAN_MEAN,
    ODD_TARGETS,
    SKIP_GROUPS,
    Case,
    Entry,
    Oracle,
    all_ignored,
    arrays,
    as_log_probs,
    base,
    binary,
    boxes,
    class_scores,
    cosine_distance,
    cosine_pairs,
    ctc_inputs,
    entry,
    fixed,
    gaussian_inputs,
    kl_inputs,
    large_logits,
    logits_targets,
    multi_margin_inputs,
    multilabel_margin_inputs,
    normal,
    optax_unavailable,
    pair,
    poisson_inputs,
    probs_targets,
    signs,
    tied_pair,
    torch_cosine_distance,
    triplets,
    weights,
    with_arrays,
)
from lossbridge.ctc import ctc_loss

__all__ = ["ORACLES", "REGISTRY", "SKIP_GROUPS", "Case", "Entry", "Oracle", "get_case", "get_entry"]

#: The cross-entropy family's flags: compiled unreduced and mean, the placement and inductor case.
_EVERY = {"compile": ("none", "mean"), "placement": "mean", "inductor": "mean"}

# ------------------------------------------------------------------------------------------
# cross_entropy
# ------------------------------------------------------------------------------------------

_CE = entry(
    "cross_entropy",
    [
        base("index", class_scores((8, 5), 5), **_EVERY),
        base("ignore", class_scores((8, 5), 5, ignore=3)),
        base("weight", class_scores((8, 5), 5, weight=True)),
        base(
            "weight_custom_ignore",
            class_scores((8, 5), 5, weight=True, ignore=2, ignore_value=2),
            {"ignore_index": 2},
        ),
        base("smoothing", class_scores((8, 5), 5), {"label_smoothing": 0.2}),
        base(
            "smoothing_weight_ignore",
            class_scores((8, 5), 5, weight=True, ignore=2),
            {"label_smoothing": 0.1},
            compile=("mean",),
        ),
        base(
            "nchw_weight_smoothing",
            class_scores((2, 4, 3, 3), 4, weight=True, ignore=3),
            {"label_smoothing": 0.05},
            compile=("none",),
        ),
        base("one_d", class_scores((5,), 5)),
        base(
            "one_d_smoothing_weight", class_scores((5,), 5, weight=True), {"label_smoothing": 0.3}
        ),
        base("probs", class_scores((8, 5), 5, probs=True), compile=("mean",)),
        base(
            "probs_smoothing_weight",
            class_scores((8, 5), 5, probs=True, weight=True),
            {"label_smoothing": 0.1},
        ),
        base("probs_nchw_weight", class_scores((2, 4, 3, 3), 4, probs=True, weight=True)),
        base("one_d_probs", class_scores((5,), 5, probs=True), {"label_smoothing": 0.2}),
        base(
            "large_logits",
            class_scores((8, 5), 5, scale=1e4, weight=True),
            {"label_smoothing": 0.1},
        ),
        base("large_logits_probs", class_scores((8, 5), 5, scale=1e4, probs=True)),
        base("all_ignored", all_ignored, reductions=("none", "sum")),
        base("all_ignored", all_ignored, reductions=("mean",), skip={"grad_fd": NAN_MEAN}),
        base(
            "all_ignored_smoothing",
            all_ignored,
            {"label_smoothing": 0.1},
            reductions=("mean",),
            skip={"grad_fd": NAN_MEAN},
        ),
        base("empty", class_scores((0, 5), 5)),
        base("empty_probs", class_scores((0, 5), 5, probs=True)),
    ],
)

# ------------------------------------------------------------------------------------------
# nll_loss
# ------------------------------------------------------------------------------------------


_NLL = entry(
    "nll_loss",
    [
        base("basic", as_log_probs(class_scores((8, 5), 5)), **_EVERY),
        base("weight_ignore", as_log_probs(class_scores((8, 5), 5, weight=True, ignore=3))),
        base(
            "custom_ignore",
            as_log_probs(class_scores((8, 5), 5, ignore=2, ignore_value=1)),
            {"ignore_index": 1},
        ),
        base(
            "nchw_weight",
            as_log_probs(class_scores((2, 4, 3, 3), 4, weight=True)),
            compile=("sum",),
        ),
        base("one_d", as_log_probs(class_scores((5,), 5, weight=True))),
        base("all_ignored", all_ignored, reductions=("none", "sum")),
        base("all_ignored", all_ignored, reductions=("mean",), skip={"grad_fd": NAN_MEAN}),
        base("empty", class_scores((0, 5), 5)),
    ],
)

# ------------------------------------------------------------------------------------------
# binary_cross_entropy
# ------------------------------------------------------------------------------------------

_TORCH_BCE_BACKWARD = (
    "torch's hand-written backward (x - y) / max(x (1 - x), 1e-12) differs from the derivative "
    "of the clamped loss (which lossbridge returns) where x (1 - x) < 1e-12"
)


_BCE = entry(
    "binary_cross_entropy",
    [
        base("soft", probs_targets((8, 5)), **_EVERY),
        base("hard_targets", probs_targets((8, 5), hard=True)),
        base(
            "weight_row",
            with_arrays(probs_targets((8, 5)), weight=weights(5)),
        ),
        base(
            "weight_full_3d",
            with_arrays(probs_targets((2, 3, 4)), weight=weights((2, 3, 4))),
            compile=("sum",),
        ),
        base(
            "exact_0_1",
            fixed(
                input=[0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.3, 0.0, 1.0, 0.7, 0.5],
                target=[0.0, 1.0, 1.0, 0.0, 0.5, 0.5, 0.2, 0.0, 1.0],
            ),
            skip={"grad_oracle": _TORCH_BCE_BACKWARD, "grad_fd": BOUNDARY},
        ),
        base(
            "tiny_probs",
            fixed(
                input=[1e-30, 1e-45, 1e-9, 1.0 - 1e-9, 1.0 - 1e-6, 0.5],
                target=[1.0, 1.0, 0.5, 0.0, 0.25, 1.0],
            ),
            skip={"grad_oracle": _TORCH_BCE_BACKWARD, "grad_fd": BOUNDARY},
        ),
        base("empty", probs_targets((0, 5))),
    ],
)

# ------------------------------------------------------------------------------------------
# binary_cross_entropy_with_logits
# ------------------------------------------------------------------------------------------


_BCEL = entry(
    "binary_cross_entropy_with_logits",
    [
        base("basic", logits_targets((8, 5)), **_EVERY),
        base(
            "weight",
            with_arrays(logits_targets((8, 5)), weight=weights((8, 5))),
        ),
        base(
            "pos_weight",
            with_arrays(
                logits_targets((8, 5), hard=True), pos_weight=lambda r: r.uniform(0.5, 3.0, 5)
            ),
            compile=("sum",),
        ),
        base(
            "weight_pos_weight_3d",
            with_arrays(
                logits_targets((2, 3, 4)),
                weight=weights((3, 1)),
                pos_weight=lambda r: r.uniform(0.5, 3.0, 4),
            ),
        ),
        base("large_logits", large_logits),
        base("empty", logits_targets((0, 5))),
    ],
)

# ------------------------------------------------------------------------------------------
# kl_div
# ------------------------------------------------------------------------------------------

_KL_REDUCTIONS = ("none", "batchmean", "mean", "sum")


_KL = entry(
    "kl_div",
    [
        base(
            "basic",
            kl_inputs((8, 5)),
            reductions=_KL_REDUCTIONS,
            compile=("none", "batchmean"),
            placement="batchmean",
            inductor="batchmean",
        ),
        base("zeros_target", kl_inputs((8, 5), zeros=6), reductions=_KL_REDUCTIONS),
        base(
            "log_target",
            kl_inputs((8, 5), log_target=True),
            {"log_target": True},
            reductions=_KL_REDUCTIONS,
            compile=("sum",),
        ),
        base("3d", kl_inputs((2, 3, 4)), reductions=_KL_REDUCTIONS),
    ],
)

# ------------------------------------------------------------------------------------------
# mse_loss, l1_loss, huber_loss, smooth_l1_loss
# ------------------------------------------------------------------------------------------


def _broadcast(r: np.random.Generator) -> dict[str, np.ndarray]:
    return {"input": r.standard_normal(5), "target": r.standard_normal((5, 1))}


_MSE = entry(
    "mse_loss",
    [
        base("basic", pair((8, 5)), **_EVERY),
        base("weight", with_arrays(pair((8, 5)), weight=weights((8, 5)))),
        base("3d", pair((2, 3, 4))),
        base("broadcast", _broadcast, compile=("sum",)),
        base("empty", pair((0, 5))),
    ],
)

_L1 = entry(
    "l1_loss",
    [
        base("basic", pair((8, 5)), **_EVERY),
        base("ties", tied_pair),
        base(
            "weight_3d", with_arrays(pair((2, 3, 4)), weight=weights((2, 3, 4))), compile=("sum",)
        ),
        base("empty", pair((0, 5))),
    ],
)

_HUBER = entry(
    "huber_loss",
    [
        base("basic", pair((8, 5), scale=1.5), **_EVERY),
        base("delta_2", pair((8, 5), scale=2.0), {"delta": 2.0}),
        base(
            "delta_half_weight",
            with_arrays(pair((2, 3, 4)), weight=weights((2, 3, 4))),
            {"delta": 0.5},
            compile=("sum",),
        ),
        base("ties", tied_pair, {"delta": 0.7}),
    ],
)

_SMOOTH_L1 = entry(
    "smooth_l1_loss",
    [
        base("basic", pair((8, 5), scale=1.5), **_EVERY),
        base("beta_2", pair((8, 5), scale=2.0), {"beta": 2.0}),
        base("beta_small", pair((2, 3, 4)), {"beta": 0.25}, compile=("sum",)),
        base("beta_0", pair((8, 5)), {"beta": 0.0}),
        base("beta_0_ties", tied_pair, {"beta": 0.0}),
    ],
)

# ------------------------------------------------------------------------------------------
# poisson_nll_loss, gaussian_nll_loss
# ------------------------------------------------------------------------------------------


_COUNTS = np.resize([0.0, 1.0, 2.0, 5.0, 50.0, 1000.0, 0.0, 1.0, 3.0, 1e5, 7.0], (8, 5))

_POISSON = entry(
    "poisson_nll_loss",
    [
        base("log_input", poisson_inputs(), **_EVERY),
        base("rates", poisson_inputs(log_input=False), {"log_input": False}),
        base("full", poisson_inputs(counts=_COUNTS), {"full": True}, compile=("sum",)),
        base(
            "full_rates_eps",
            poisson_inputs(log_input=False, counts=_COUNTS),
            {"log_input": False, "full": True, "eps": 1e-3},
        ),
        base(
            "rate_zero",
            poisson_inputs(log_input=False, zero_rate=True),
            {"log_input": False},
            skip={"grad_fd": "rates of exactly 0: the central difference leaves the domain"},
        ),
    ],
)

_VAR_CLAMP = (
    "variances below eps: the reference's derivative in var is 0 there, while torch (and "
    "lossbridge) pass the gradient straight through the clamp"
)


_GAUSS = entry(
    "gaussian_nll_loss",
    [
        base("basic", gaussian_inputs((8, 5)), **_EVERY),
        base("full", gaussian_inputs((8, 5)), {"full": True}),
        base("var_rows", gaussian_inputs((8, 5), var_shape=(8,)), compile=("sum",)),
        base("var_column", gaussian_inputs((8, 5), var_shape=(8, 1))),
        base(
            "var_below_eps",
            gaussian_inputs((8, 5), var_values=[0.0, 1e-8, 1e-7, 5e-7, 2e-6, 0.5]),
            skip={"grad_fd": _VAR_CLAMP},
        ),
        base("var_float", pair((8, 5)), {"var": 0.5}, grad_args=("input",)),
    ],
    grad_args=("input", "var"),
)

# ------------------------------------------------------------------------------------------
# Oracles besides torch.nn.functional: tf.nn.ctc_loss, optax's ctc_loss and sigmoid_focal_loss
# ------------------------------------------------------------------------------------------


def _ctc_padded(inputs: Mapping[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """``(log_probs (T, N, C), labels (N, S >= 1), input_lengths, target_lengths, unbatched)``
    from a case's inputs, concatenated or unbatched targets made padded (padding: label 0)."""
    lp = inputs["log_probs"]
    t = inputs["targets"]
    il = inputs["input_lengths"].reshape(-1)
    tl = inputs["target_lengths"].reshape(-1)
    unbatched = lp.ndim == 2
    if unbatched:
        lp, t = lp[:, None, :], t[None]
    labels = np.zeros((len(tl), max(1, int(tl.max(initial=0)))), dtype=np.int64)
    start = 0
    for i, n in enumerate(tl):
        row = t[start : start + n] if t.ndim == 1 else t[i, :n]
        labels[i, :n] = row
        start += n
    return lp, labels, il, tl, unbatched


def _ctc_reduce(per_sequence, tl, kwargs, unbatched):
    """Per-sequence losses reduced as torch's ``ctc_loss`` reduces them."""
    reduction = kwargs.get("reduction", "mean")
    zero_infinity = kwargs.get("zero_infinity", False)
    out = references.reduce_ctc(per_sequence, tl, reduction, zero_infinity=zero_infinity)
    return out[0] if unbatched and reduction == "none" else out


def _tf_ctc(inputs, kwargs, dtype):
    import tensorflow as tf

    lp, labels, il, tl, unbatched = _ctc_padded(inputs)
    out = tf.nn.ctc_loss(
        labels=tf.constant(labels, tf.int32),
        logits=tf.constant(lp.astype(dtype)),
        label_length=tf.constant(tl, tf.int32),
        logit_length=tf.constant(il, tf.int32),
        logits_time_major=True,
        blank_index=kwargs.get("blank", 0),
    )
    return _ctc_reduce(out.numpy(), tl, kwargs, unbatched)


def _tf_ctc_unavailable(dtype: str) -> str | None:
    if importlib.util.find_spec("tensorflow") is None:
        return "tensorflow is not installed"
    if dtype == "float64":
        return (
            "tf.nn.ctc_loss fails on float64 (tensorflow 2.21: ctc_ops._ilabel_to_state "
            "multiplies the float64 log-probabilities by a float32 one-hot)"
        )
    return None


@functools.cache
def _optax_ctc_jit() -> Callable[..., Any]:
    """``jax.jit(optax.ctc_loss)``: eager, its ``lax.scan`` is compiled again on every call
    (0.4 s each); jitted, once per shape and dtype."""
    import jax
    import optax

    return jax.jit(optax.ctc_loss, static_argnames=("blank_id",))


def _optax_ctc(inputs, kwargs, dtype):
    import jax.numpy as jnp

    lp, labels, il, tl, unbatched = _ctc_padded(inputs)
    n_frames, n_labels = lp.shape[0], labels.shape[1]
    out = _optax_ctc_jit()(
        jnp.asarray(np.moveaxis(lp, 1, 0).astype(dtype)),
        jnp.asarray((np.arange(n_frames)[None] >= il[:, None]).astype(dtype)),
        jnp.asarray(labels.astype(np.int32)),
        jnp.asarray((np.arange(n_labels)[None] >= tl[:, None]).astype(dtype)),
        blank_id=kwargs.get("blank", 0),
    )
    return _ctc_reduce(np.asarray(out), tl, kwargs, unbatched)


def _optax_focal(inputs, kwargs, dtype):
    import jax.numpy as jnp
    import optax

    alpha = kwargs.get("alpha", 0.25)
    out = optax.sigmoid_focal_loss(
        jnp.asarray(inputs["inputs"].astype(dtype)),
        jnp.asarray(inputs["targets"].astype(dtype)),
        alpha=None if alpha < 0 else alpha,
        gamma=kwargs.get("gamma", 2),
    )
    return references.reduce(references.f64(out), kwargs.get("reduction", "none"))


#: Every oracle besides torch's, by check name.
ORACLES: dict[str, Oracle] = {
    o.name: o
    for o in (
        Oracle("tf_ctc_loss", "tf", _tf_ctc, _tf_ctc_unavailable),
        Oracle("optax_ctc_loss", "optax", _optax_ctc, optax_unavailable),
        Oracle("optax_sigmoid_focal_loss", "optax", _optax_focal, optax_unavailable),
    )
}


# ------------------------------------------------------------------------------------------
# Margin, ranking and embedding losses
# ------------------------------------------------------------------------------------------

_UNINIT = (
    "torch returns uninitialised memory for an empty batch's 'mean' and 'sum' (lossbridge: "
    "NaN and 0)"
)


_SOFT_MARGIN = entry(
    "soft_margin_loss",
    [
        base("basic", arrays(input=normal((8, 5), 2.0), target=signs((8, 5))), **AOT),
        base("target_row", arrays(input=normal((8, 5), 2.0), target=signs((5,)))),
        base("real_targets", pair((8, 5), scale=1.5)),
        base(
            "large",
            fixed(
                input=[-100.0, 100.0, -89.0, 20.0, 1e4, -1e4, 0.5],
                target=[1.0, 1.0, 1.0, -1.0, 1.0, -1.0, -1.0, 1.0, 1.0],
            ),
            skip={
                "oracle": "torch computes log1p(exp(-y x)): inf in float32 where -y x > 88.7 "
                "(lossbridge returns the exact value, as torch does in float64)"
            },
            reductions=ELEMENTWISE,
        ),
        base("empty", pair((0, 5))),
    ],
)


_MLSM = entry(
    "multilabel_soft_margin_loss",
    [
        base("basic", arrays(input=normal((8, 5), 2.0), target=binary((8, 5))), **AOT),
        base(
            "weight_row_soft",
            arrays(
                input=normal((8, 5), 2.0),
                target=lambda r: r.uniform(0, 1, (8, 5)),
                weight=weights((5,)),
            ),
        ),
        base(
            "weight_full_3d",
            arrays(input=normal((2, 3, 4)), target=binary((2, 3, 4)), weight=weights((2, 3, 4))),
        ),
        base(
            "one_d_large",
            fixed((5,), input=[1e4, -1e4, 3e4, -50.0, 0.5], target=[1.0, 0.0, 0.5, 1.0, 0.0]),
            reductions=ELEMENTWISE,
        ),
        base("empty", arrays(input=normal((0, 5)), target=binary((0, 5)))),
    ],
    grad_args=("input", "weight"),
)


_MLM = entry(
    "multilabel_margin_loss",
    [
        base("basic", multilabel_margin_inputs((8, 5), MLM_TARGET), **AOT),
        base("one_d", multilabel_margin_inputs((5,), [3, 1, -1, 0, 2])),
        base(
            "ties",
            multilabel_margin_inputs((8, 5), np.resize([[0, 3, -1, 1, 1]], (8, 5)), ties=True),
            skip={"grad_fd": KINK},
        ),
        base(
            "empty",
            multilabel_margin_inputs((0, 5), np.zeros((0, 5), dtype=np.int64)),
            reductions=("none",),
        ),
        base(
            "empty",
            multilabel_margin_inputs((0, 5), np.zeros((0, 5), dtype=np.int64)),
            reductions=("mean", "sum"),
            skip={"oracle": _UNINIT},
        ),
    ],
)


_MM = entry(
    "multi_margin_loss",
    [
        base("basic", multi_margin_inputs((8, 5)), **AOT),
        base("p2_weight", multi_margin_inputs((8, 5), weight=True), {"p": 2, "margin": 0.7}),
        base(
            "weight_grad",
            multi_margin_inputs((8, 5), weight=True),
            {"margin": -0.3},
            grad_args=("input", "weight"),
            skip={"grad_oracle": "torch's multi_margin_loss is not differentiable w.r.t. weight"},
        ),
        base("one_d", multi_margin_inputs((5,)), {"p": 2}),
        base("ties", multi_margin_inputs((8, 5), ties=True), skip={"grad_fd": KINK}),
        base("empty", multi_margin_inputs((0, 5)), reductions=("none",)),
        base(
            "empty",
            multi_margin_inputs((0, 5)),
            reductions=("mean", "sum"),
            skip={"oracle": _UNINIT},
        ),
    ],
)

_HINGE = entry(
    "hinge_embedding_loss",
    [
        base(
            "basic",
            arrays(input=lambda r: r.uniform(0, 2, (8, 5)), target=signs((8, 5))),
            **AOT,
        ),
        base(
            "odd_targets",
            arrays(input=normal((8, 5)), target=lambda r: np.resize(ODD_TARGETS, (8, 5))),
            {"margin": 0.5},
        ),
        base(
            "target_row",
            arrays(input=lambda r: r.uniform(0, 3, (8, 5)), target=signs((5,))),
            {"margin": 2.0},
        ),
        base(
            "ties",
            fixed(input=[0.5, 1.0, 0.5, 0.25, 2.0, 0.5, 0.75], target=[-1.0, 1.0, -1.0]),
            {"margin": 0.5},
            skip={"grad_fd": KINK},
        ),
        base("empty", pair((0, 5))),
    ],
)

_RANKING = entry(
    "margin_ranking_loss",
    [
        base(
            "basic",
            arrays(input1=normal((8, 5)), input2=normal((8, 5)), target=signs((8, 5))),
            **AOT,
        ),
        base(
            "one_d",
            arrays(input1=normal((5,)), input2=normal((5,)), target=signs((5,))),
            {"margin": 0.5},
        ),
        base(
            "broadcast_odd",
            arrays(
                input1=normal((8, 5)),
                input2=normal((1, 5)),
                target=lambda r: np.resize(ODD_TARGETS, (8, 1)),
            ),
            {"margin": -0.2},
        ),
        base(
            "ties",
            fixed(input1=[1.5, 0.25, 1.0, -0.5], input2=[1.0, 0.75, 0.5, 0.0], target=[1.0, -1.0]),
            {"margin": 0.5},
            skip={"grad_fd": KINK},
        ),
        base(
            "empty",
            arrays(input1=normal((0, 5)), input2=normal((0, 5)), target=signs((0, 5))),
        ),
    ],
    grad_args=("input1", "input2"),
)


_COSINE = entry(
    "cosine_embedding_loss",
    [
        base("basic", cosine_pairs(), **AOT),
        base(
            "zero_vector_odd",
            cosine_pairs(zero_row=True, odd=True),
            {"margin": -0.5},
            skip={
                "grad_fd": "a zero vector: cos(h e, v) = h v / sqrt(h^2 + 1e-12) |v| is far from "
                "linear over the step h = 6e-6"
            },
        ),
        base("broadcast", cosine_pairs(rows2=1), {"margin": 0.3}),
        base("one_d", cosine_pairs(n=None), {"margin": -0.9}),
        base("empty", cosine_pairs(n=0)),
    ],
    grad_args=("input1", "input2"),
)


_TRIPLET = entry(
    "triplet_margin_loss",
    [
        base("basic", triplets(), compile=("mean",), placement="mean", inductor="mean"),
        base("p1_swap", triplets(), {"p": 1, "swap": True}),
        base("p3_eps0", triplets(), {"p": 3, "eps": 0.0, "margin": 0.5}),
        base("pinf_swap", triplets(), {"p": math.inf, "swap": True}),
        base("one_d", triplets((5,)), {"margin": 2.0}),
        base("empty", triplets((0, 5))),
    ],
    grad_args=("anchor", "positive", "negative"),
)


_COSINE_DISTANCE = {"distance_function": cosine_distance}
_TORCH_COSINE = {"distance_function": torch_cosine_distance}

_TRIPLET_DISTANCE = entry(
    "triplet_margin_with_distance_loss",
    [
        base("default", triplets(), **AOT),
        base("default_swap", triplets(), {"swap": True, "margin": 2.0}),
        base(
            "cosine_swap",
            triplets(),
            {**_COSINE_DISTANCE, "swap": True, "margin": 0.5},
            oracle_kwargs=_TORCH_COSINE,
            compile=("sum",),
        ),
        base("cosine_one_d", triplets((5,)), _COSINE_DISTANCE, oracle_kwargs=_TORCH_COSINE),
        base("empty", triplets((0, 5))),
    ],
    grad_args=("anchor", "positive", "negative"),
)

# ------------------------------------------------------------------------------------------
# ctc_loss: torch's oracle, plus tf.nn.ctc_loss and optax's ctc_loss
# ------------------------------------------------------------------------------------------


def _ctc_projection(inputs: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> dict:
    r"""Gradients w.r.t. ``log_probs`` through ``log_softmax``: ``g - p * sum_k g_k`` per frame.

    torch's hand-written CTC backward returns :math:`e^{y} - \gamma` (it assumes ``log_probs``
    is a ``log_softmax`` output), the exact derivative is :math:`-\gamma` (lossbridge, the
    finite difference); they differ by :math:`p = e^{y}` per frame, the one direction this
    projection (the Jacobian of ``log_softmax``, transposed, at normalised ``log_probs``)
    removes. Both then give :math:`p - \gamma`, the gradient w.r.t. the logits.
    """
    p = np.exp(inputs["log_probs"])
    g = grads["log_probs"]
    return {"log_probs": g - p * np.sum(g, axis=-1, keepdims=True)}


_INF_LOSS = "an infeasible sequence's loss is inf"
_CTC_INFEASIBLE = {
    "grad_oracle": "torch's gradient of an infinite loss is NaN (lossbridge: 0)",
    "grad_fd": f"{_INF_LOSS}: its finite difference is NaN (inf - inf)",
    "tf_ctc_loss": "tf.nn.ctc_loss gives a large finite value (about 707) for an infeasible "
    "sequence, not inf",
    "optax_ctc_loss": "optax's ctc_loss gives about 1e5 (-log_epsilon) for an infeasible "
    "sequence, not inf",
}

_CTC = entry(
    "ctc_loss",
    [
        base("padded", CTC_PADDED, compile=("mean",), placement="mean", inductor="mean"),
        # Concatenated targets, blank 3: [0, 2, 0] in 6 frames, an empty target in 4 frames and
        # another in no frame at all (loss 0)
        base(
            "concatenated_empty_blank_3",
            ctc_inputs([0, 2, 0], [6, 4, 0], [3, 0, 0]),
            {"blank": 3},
            reductions=("none", "mean"),
        ),
        base("infeasible", CTC_SHORT, skip=_CTC_INFEASIBLE, reductions=("none",)),
        base(
            "infeasible_zero_infinity",
            CTC_SHORT,
            {"zero_infinity": True},
            skip={k: v for k, v in _CTC_INFEASIBLE.items() if k.endswith("ctc_loss")},
            reductions=("mean",),
        ),
        base("unbatched", ctc_inputs([1, 1, 2], 6, 3, batch=None), reductions=("none",)),
    ],
    grad_args=("log_probs",),
    fn=ctc_loss,
    extra_oracles=(ORACLES["tf_ctc_loss"], ORACLES["optax_ctc_loss"]),
    oracle_grad_projection=_ctc_projection,
)

# ------------------------------------------------------------------------------------------
# torchvision.ops: sigmoid_focal_loss and the box losses (no torch oracle)
# ------------------------------------------------------------------------------------------

_FOCAL = entry(
    "sigmoid_focal_loss",
    [
        base("basic", arrays(inputs=normal((8, 5), 2.0), targets=binary((8, 5))), **AOT),
        base(
            "no_alpha_soft",
            arrays(inputs=normal((8, 5), 2.0), targets=lambda r: r.uniform(0, 1, (8, 5))),
            {"alpha": -1, "gamma": 1.5},
        ),
        base(
            "gamma_0",
            arrays(inputs=normal((8, 5), 2.0), targets=binary((8, 5))),
            {"alpha": 0.5, "gamma": 0},
        ),
        base(
            "large_logits",
            fixed(
                inputs=[30.0, -30.0, 100.0, -100.0, 1e4, -1e4, 0.5],
                targets=[0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0],
            ),
            reductions=ELEMENTWISE,
        ),
        base("empty", arrays(inputs=normal((0, 5)), targets=binary((0, 5)))),
    ],
    grad_args=("inputs",),
    oracle=None,
    extra_oracles=(ORACLES["optax_sigmoid_focal_loss"],),
)


_BOX_KINKS = (
    "ties in torchvision's max/min (identical boxes, shared corners) and touching or "
    "zero-area boxes (the intersection's mask) are kinks: no central difference"
)


def _box_entry(name: str, **options: Any) -> Entry:
    return entry(
        name,
        [
            base("basic", boxes(), **AOT),
            base("pairs", BOX_PAIRS, skip={"grad_fd": _BOX_KINKS}),
            base("empty", boxes(0)),
        ],
        grad_args=("boxes1", "boxes2"),
        oracle=None,
        **options,
    )


_GIOU = _box_entry("generalized_box_iou_loss")
_DIOU = _box_entry("distance_box_iou_loss")
_CIOU = _box_entry(
    "complete_box_iou_loss", fd_reference=references.complete_box_iou_loss_frozen_alpha
)

#: Every loss's entry, by name.
REGISTRY: dict[str, Entry] = {
    e.name: e
    for e in (
        _CE,
        _NLL,
        _BCE,
        _BCEL,
        _KL,
        _MSE,
        _L1,
        _HUBER,
        _SMOOTH_L1,
        _POISSON,
        _GAUSS,
        _SOFT_MARGIN,
        _MLSM,
        _MLM,
        _MM,
        _HINGE,
        _RANKING,
        _COSINE,
        _TRIPLET,
        _TRIPLET_DISTANCE,
        _CTC,
        _FOCAL,
        _GIOU,
        _DIOU,
        _CIOU,
    )
}

# The losses beyond the frameworks live in one module per family; each defines ``ENTRIES`` (with
# :mod:`lossbridge.conformance.cases`) and may define ``EXCEPTIONS``
# (:class:`~lossbridge.conformance.tolerances.Loosened` bounds, each with its measured error and
# reason), added to :data:`~lossbridge.conformance.tolerances.EXCEPTIONS`.
#: The registry's families beyond the frameworks, by module.
EXTRA_MODULES = (
    extra_regression,
    extra_regularization,
    extra_classification,
    extra_segmentation,
    extra_lovasz,
    extra_boxes,
    extra_embedding,
    extra_contrastive,
    extra_angular,
    extra_linear_ce,
    extra_forecasting,
    extra_sampled,
    extra_timm,
    extra_dense_detection,
    extra_image_quality,
)
#: The porting dialects (``lossbridge.keras``, ``lossbridge.optax``, ``lossbridge.nn``,
#: ``lossbridge.monai``): entries named ``keras.<Name>``, ``optax.<name>``, ``nn.<Name>``,
#: ``monai.<Name>``, each checked against the library it imitates.
DIALECT_MODULES = (extra_keras, extra_optax, extra_nn, extra_monai, extra_tfa, extra_tfa_mining)
for _module in EXTRA_MODULES + DIALECT_MODULES:
    for _e in _module.ENTRIES:
        if _e.name in REGISTRY:
            raise ValueError(f"{_module.__name__} registers {_e.name!r} twice")
        REGISTRY[_e.name] = _e
    _tolerances.EXCEPTIONS += tuple(getattr(_module, "EXCEPTIONS", ()))


def get_entry(name: str, registry: Mapping[str, Entry] | None = None) -> Entry:
    """The entry of loss ``name`` (``ValueError`` naming the known losses if there is none)."""
    reg = REGISTRY if registry is None else registry
    try:
        return reg[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; expected one of {sorted(reg)}") from None


def get_case(loss: str, label: str, registry: Mapping[str, Entry] | None = None) -> Case:
    """The case ``label`` of loss ``loss``."""
    return get_entry(loss, registry).case(label)
