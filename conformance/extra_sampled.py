"""Conformance entries of ``sampled_softmax_loss`` and ``nce_loss`` (TensorFlow 2.21's).

The oracle is TensorFlow itself: ``tf.nn.sampled_softmax_loss`` and ``tf.nn.nce_loss`` with the
case's sampled classes passed as ``sampled_values`` (so TensorFlow draws nothing), in float32
and float64; with ``subtract_log_q=False``, which TensorFlow's public functions do not expose,
its private ``nn_impl._compute_sampled_logits(..., subtract_log_q=False)`` followed by the
public ops' own last lines (``softmax_cross_entropy_with_logits``, or
``sigmoid_cross_entropy_with_logits`` summed over the row). Not in float16/bfloat16: TensorFlow
casts its accidental-hit weight ``-FLT_MAX`` to the half dtype, where it is ``-inf``, and
``nce_loss`` then computes ``-inf * 0`` (NaN); the half dtypes are checked against the float64
reference.

The reference is a float64 NumPy transcription of ``_compute_sampled_logits``
(``tensorflow/python/ops/nn_impl.py``), item by item::

    true_logits = reshape(_sum_rows(inputs[:, None] * true_w), [-1, num_true]) + true_b
    sampled_logits = matmul(inputs, sampled_w, transpose_b=True) + sampled_b
    if remove_accidental_hits:   # compute_accidental_hits: weight -FLT_MAX per hit
      sampled_logits += sparse_to_dense(hits, [batch, num_sampled], acc_weights)
    if subtract_log_q:
      true_logits -= log(true_expected_count); sampled_logits -= log(sampled_expected_count)
    out_labels = concat([ones_like(true_logits) / num_true, zeros_like(sampled_logits)], 1)

then ``softmax_cross_entropy_with_logits`` (sampled softmax) or the row sum of
``sigmoid_cross_entropy_with_logits`` (NCE), written out with ``np.logaddexp``.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

import numpy as np

from lossbridge.conformance.cases import AOT, Entry, Oracle, base, entry
from lossbridge.conformance.references import reduce
from lossbridge.conformance.tolerances import Loosened
from lossbridge.sampled import nce_loss, sampled_softmax_loss

__all__ = ["ENTRIES", "EXCEPTIONS", "ref_nce_loss", "ref_sampled_softmax_loss"]

#: compute_accidental_hits' weight: -FLT_MAX, float32's largest value (cast to float64 there).
_FLT_MAX = float(np.finfo(np.float32).max)


def _logits(
    weights,
    biases,
    labels,
    inputs,
    sampled,
    true_expected_count,
    sampled_expected_count,
    remove_accidental_hits,
    subtract_log_q,
):
    """float64 ``_compute_sampled_logits``: ``(true_logits, sampled_logits)``."""
    w, b, h = (np.asarray(a, dtype=np.float64) for a in (weights, biases, inputs))
    labels, sampled = np.asarray(labels, np.int64), np.asarray(sampled, np.int64)
    batch, num_true = labels.shape
    true_logits = np.empty((batch, num_true))
    for i in range(batch):
        for j in range(num_true):
            true_logits[i, j] = sum(h[i] * w[labels[i, j]]) + b[labels[i, j]]
    sampled_logits = h @ w[sampled].T + b[sampled]
    if remove_accidental_hits:
        # the kernel (compute_accidental_hits) maps each sampled class to its last position
        position = {int(s): k for k, s in enumerate(sampled)}
        for i in range(batch):
            for c in set(int(t) for t in labels[i]):
                if c in position:
                    sampled_logits[i, position[c]] += -_FLT_MAX
    if subtract_log_q:
        true_logits = true_logits - np.log(np.asarray(true_expected_count, np.float64))
        sampled_logits = sampled_logits - np.log(np.asarray(sampled_expected_count, np.float64))
    return true_logits, sampled_logits


def ref_sampled_softmax_loss(
    weights,
    biases,
    labels,
    inputs,
    sampled,
    true_expected_count,
    sampled_expected_count,
    num_true=None,
    remove_accidental_hits=True,
    subtract_log_q=True,
    reduction="mean",
):
    """Softmax cross-entropy over [true, sampled] logits with labels 1/num_true on the targets."""
    t, s = _logits(
        weights, biases, labels, inputs, sampled, true_expected_count, sampled_expected_count,
        remove_accidental_hits, subtract_log_q,
    )  # fmt: skip
    z = np.concatenate([t, s], axis=1)
    lse = np.logaddexp.reduce(z, axis=1)
    p = np.concatenate([np.full_like(t, 1.0 / t.shape[1]), np.zeros_like(s)], axis=1)
    return reduce(-np.sum(p * (z - lse[:, None]), axis=1), reduction)


def ref_nce_loss(
    weights,
    biases,
    labels,
    inputs,
    sampled,
    true_expected_count,
    sampled_expected_count,
    num_true=None,
    remove_accidental_hits=False,
    subtract_log_q=True,
    reduction="mean",
):
    """Row sums of max(x, 0) - x z + log(1 + exp(-|x|)), z = 1/num_true on the targets, else 0."""
    t, s = _logits(
        weights, biases, labels, inputs, sampled, true_expected_count, sampled_expected_count,
        remove_accidental_hits, subtract_log_q,
    )  # fmt: skip
    x = np.concatenate([t, s], axis=1)
    z = np.concatenate([np.full_like(t, 1.0 / t.shape[1]), np.zeros_like(s)], axis=1)
    per = np.maximum(x, 0.0) - x * z + np.log1p(np.exp(-np.abs(x)))
    return reduce(np.sum(per, axis=1), reduction)


# ------------------------------------------------------------------------------------------
# Oracle: TensorFlow
# ------------------------------------------------------------------------------------------


def _tf_unavailable(dtype: str) -> str | None:
    if importlib.util.find_spec("tensorflow") is None:
        return "tensorflow is not installed"
    if dtype in ("float16", "bfloat16"):
        return (
            "TensorFlow casts its accidental-hit weight -FLT_MAX to the half dtype (-inf), and "
            "nce_loss then computes -inf * 0 = NaN; the float64 reference checks half dtypes"
        )
    return None


def tf_sampled(kind: str, inputs: Mapping[str, np.ndarray], kwargs: Mapping[str, Any], dtype: str):
    """TensorFlow's ``kind`` (``'softmax'`` or ``'nce'``) on the case, per example, float64."""
    import tensorflow as tf
    from tensorflow.python.ops import nn_impl

    w, b, h, tq, sq = (
        tf.constant(np.asarray(inputs[k]).astype(dtype))
        for k in ("weights", "biases", "inputs", "true_expected_count", "sampled_expected_count")
    )
    labels = tf.constant(inputs["labels"], tf.int64)
    sampled = tf.constant(inputs["sampled"], tf.int64)
    num_true = int(inputs["labels"].shape[1])
    num_sampled, num_classes = int(sampled.shape[0]), int(w.shape[0])
    tq = tf.broadcast_to(tq, labels.shape)  # TensorFlow's samplers return (batch, num_true)
    default_hits = kind == "softmax"
    hits = kwargs.get("remove_accidental_hits", default_hits)
    common = dict(
        weights=w,
        biases=b,
        labels=labels,
        inputs=h,
        num_sampled=num_sampled,
        num_classes=num_classes,
        num_true=num_true,
        sampled_values=(sampled, tq, sq),
        remove_accidental_hits=hits,
    )
    if kwargs.get("subtract_log_q", True):
        op = tf.nn.sampled_softmax_loss if kind == "softmax" else tf.nn.nce_loss
        out = op(**common)
    else:  # the public ops' bodies with subtract_log_q=False (nn_impl.py, TensorFlow 2.21)
        logits, out_labels = nn_impl._compute_sampled_logits(
            **common, subtract_log_q=False, partition_strategy="div"
        )
        if kind == "softmax":
            out = tf.nn.softmax_cross_entropy_with_logits(labels=out_labels, logits=logits)
        else:
            per = tf.nn.sigmoid_cross_entropy_with_logits(labels=out_labels, logits=logits)
            out = tf.reduce_sum(per, axis=1)
    return reduce(out.numpy().astype(np.float64), kwargs.get("reduction", "mean"))


TF_SAMPLED_SOFTMAX = Oracle(
    "tf_sampled_softmax_loss",
    "tf",
    lambda i, k, d: tf_sampled("softmax", i, k, d),
    _tf_unavailable,
)
TF_NCE = Oracle("tf_nce_loss", "tf", lambda i, k, d: tf_sampled("nce", i, k, d), _tf_unavailable)

# ------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------


def sampled_case(
    batch=6, dim=4, classes=12, num_sampled=5, num_true=1, hits=2, row_q=False, twice=False
):
    """Embeddings, biases, activations, targets and a sampled set holding ``hits`` targets.

    The sampled classes are distinct (TensorFlow's samplers with ``unique=True``); the
    expected counts are in [0.02, 1.5) (a log-uniform sampler's lie in (0, num_sampled]).
    ``row_q``: ``true_expected_count`` of shape (batch, 1), broadcast over the targets.
    ``twice``: the first example's target sampled twice (a sampler with ``unique=False``);
    TensorFlow removes its last copy only.
    """

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        labels = np.stack([r.choice(classes, num_true, replace=False) for _ in range(batch)])
        pool = [c for c in range(classes) if c not in set(labels[:hits].ravel())]
        sampled = r.choice(pool, num_sampled - hits, replace=False)
        # an accidental hit for each of the first `hits` examples (their first target)
        sampled = np.concatenate([labels[:hits, 0], sampled])
        sampled = sampled[r.permutation(num_sampled)]
        if twice:
            sampled = np.concatenate([sampled, labels[:1, 0]])
        return {
            "weights": r.standard_normal((classes, dim)) / np.sqrt(dim),
            "biases": 0.5 * r.standard_normal(classes),
            "labels": labels,
            "inputs": r.standard_normal((batch, dim)),
            "sampled": sampled,
            "true_expected_count": r.uniform(0.02, 1.5, (batch, 1 if row_q else num_true)),
            "sampled_expected_count": r.uniform(0.02, 1.5, sampled.shape[0]),
        }

    return make


_GRADS = ("inputs", "weights", "biases")


def _entry(name: str, fn: Any, reference: Any, oracle: Oracle, hits_default: bool) -> Entry:
    other = {"remove_accidental_hits": not hits_default}
    return entry(
        name,
        [
            base("basic", sampled_case(), **AOT),
            base("multi_true", sampled_case(num_true=3, hits=3), compile=("sum",)),
            base("row_q", sampled_case(batch=5, num_true=2, row_q=True), {"num_true": 2}),
            base("other_hits", sampled_case(hits=3), other, compile=("none",)),
            base("no_log_q", sampled_case(num_true=2), {"subtract_log_q": False}),
            base(
                "sampled_twice",
                sampled_case(num_true=2, twice=True),
                {"remove_accidental_hits": True},
            ),
            base(
                "large",
                sampled_case(batch=4, dim=8, classes=40, num_sampled=16, hits=1),
                reductions=("mean", "sum", "none"),
            ),
        ],
        fn=fn,
        reference=reference,
        oracle=None,
        grad_args=_GRADS,
        extra_oracles=(oracle,),
    )


#: The entries this module adds to the registry.
ENTRIES: tuple[Entry, ...] = (
    _entry(
        "sampled_softmax_loss",
        sampled_softmax_loss,
        ref_sampled_softmax_loss,
        TF_SAMPLED_SOFTMAX,
        True,
    ),
    _entry("nce_loss", nce_loss, ref_nce_loss, TF_NCE, False),
)

#: No looser bounds: TensorFlow's lookup gradients (IndexedSlices) were summed in the half dtype
#: until the half-precision rule's cast densified them in float32 (``backends._tf_ops.upcast``):
#: 22.6 / 52.7 ulp (float16 / bfloat16, sampled_softmax_loss) and 9.1 / 8.9 (nce_loss) before.
EXCEPTIONS: tuple[Loosened, ...] = ()
