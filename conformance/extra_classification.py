"""Conformance entries for the classification losses beyond the frameworks.

``softmax_focal_loss``, ``poly1_cross_entropy``, ``generalized_cross_entropy``, ``hinge_loss``,
``squared_hinge_loss`` and ``categorical_hinge_loss``. torch has none of them, so each entry has
no torch oracle; its reference is a plain float64 NumPy transcription of the paper's formula
(loops over items, written here independently of :mod:`lossbridge.classification`), and the
libraries that have the loss are oracles, their conventions converted:

* Keras 3 ``categorical_focal_crossentropy`` (one-hot rows, ``from_logits=True``, classes last,
  ``alpha=1`` for none; per-sample output reduced here as lossbridge reduces),
* optax ``poly_loss_cross_entropy`` (class weights folded into the labels: ``w * t'``),
* Keras 3 ``categorical_generalized_cross_entropy`` (integer labels, softmax probabilities),
* optax ``hinge_loss`` (+-1 labels) and Keras 3 ``hinge`` / ``squared_hinge`` (called on a
  trailing axis of size 1, so their mean over the last axis is the elementwise loss),
* optax ``multiclass_hinge_loss`` (index targets) and Keras 3 ``categorical_hinge`` (float
  targets).

MONAI's ``FocalLoss(use_softmax=True)`` is compared in ``tests/test_classification_extra.py``
only: it computes in float32 whatever the input dtype, and importing it costs seconds.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from lossbridge.classification import (
    categorical_hinge_loss,
    generalized_cross_entropy,
    hinge_loss,
    poly1_cross_entropy,
    softmax_focal_loss,
    squared_hinge_loss,
)
from lossbridge.conformance.cases import (
    AOT,
    ELEMENTWISE,
    KINK,
    NAN_MEAN,
    Entry,
    Oracle,
    all_ignored,
    arrays,
    base,
    binary,
    class_scores,
    entry,
    fixed,
    normal,
    optax_unavailable,
    signs,
    with_arrays,
)
from lossbridge.conformance.references import f64, reduce

# ------------------------------------------------------------------------------------------
# float64 NumPy references (the papers' formulas, item by item)
# ------------------------------------------------------------------------------------------


def _rows(input: Any, target: Any) -> tuple[np.ndarray, np.ndarray, tuple[int, ...], bool]:
    """Logits as rows ``(M, C)`` (classes last), targets ``(M,)`` or ``(M, C)``, the item shape
    (``()``, ``(N,)`` or ``(N, d1, ...)``) and whether the targets are class indices."""
    x = np.asarray(input, dtype=np.float64)
    t = np.asarray(target)
    index = t.dtype.kind in "iu"
    if x.ndim == 1:
        return x[None, :], (t.reshape(1) if index else t[None, :].astype(np.float64)), (), index
    c = x.shape[1]
    rows = np.moveaxis(x, 1, -1)
    shape = rows.shape[:-1]
    if index:
        return rows.reshape(-1, c), t.reshape(-1), shape, True
    return (
        rows.reshape(-1, c),
        np.moveaxis(t.astype(np.float64), 1, -1).reshape(-1, c),
        shape,
        False,
    )


def _log_softmax_row(row: np.ndarray) -> np.ndarray:
    m = max(row)
    return row - (m + math.log(sum(math.exp(v - m) for v in row)))


def softmax_focal_loss_reference(
    input, target, *, alpha=None, gamma=2.0, ignore_index=-100, reduction="mean"
):
    """``-sum_c alpha_c t_c (1 - p_c)^gamma log p_c`` per item (t one-hot for class indices);
    'mean' over non-ignored items."""
    x, t, shape, index = _rows(input, target)
    c = x.shape[1]
    if alpha is None:
        a = [1.0] * c
    elif np.ndim(alpha) == 0:
        a = [float(alpha)] * c
    else:
        a = [float(v) for v in np.asarray(alpha, dtype=np.float64)]
    losses, count = [], 0
    for i in range(x.shape[0]):
        logp = _log_softmax_row(x[i])
        if index:
            if t[i] == ignore_index:
                losses.append(0.0)
                continue
            count += 1
            y = int(t[i])
            row = [1.0 if k == y else 0.0 for k in range(c)]
        else:
            count += 1
            row = t[i]
        total = 0.0
        for k in range(c):
            if row[k] != 0.0:
                one_minus_p = -math.expm1(logp[k])
                total -= a[k] * row[k] * one_minus_p**gamma * logp[k]
        losses.append(total)
    return reduce(f64(losses).reshape(shape), reduction, denominator=count)


def poly1_cross_entropy_reference(
    input,
    target,
    *,
    epsilon=1.0,
    label_smoothing=0.0,
    weight=None,
    ignore_index=-100,
    reduction="mean",
):
    """``sum_c w_c t'_c [-log p_c + epsilon (1 - p_c)]``, ``t' = (1 - s) t + s / C``; 'mean' as
    torch's cross_entropy (sum of ``w_y`` over non-ignored items, or the number of items)."""
    x, t, shape, index = _rows(input, target)
    c = x.shape[1]
    w = [1.0] * c if weight is None else [float(v) for v in np.asarray(weight, np.float64)]
    s = float(label_smoothing)
    losses, denom = [], 0.0
    for i in range(x.shape[0]):
        logp = _log_softmax_row(x[i])
        if index:
            if t[i] == ignore_index:
                losses.append(0.0)
                continue
            y = int(t[i])
            denom += w[y]
            row = [1.0 if k == y else 0.0 for k in range(c)]
        else:
            denom += 1.0
            row = list(t[i])
        total = 0.0
        for k in range(c):
            tk = (1.0 - s) * row[k] + s / c
            total += w[k] * tk * (-logp[k] + epsilon * (1.0 - math.exp(logp[k])))
        losses.append(total)
    return reduce(f64(losses).reshape(shape), reduction, denominator=denom)


def generalized_cross_entropy_reference(
    input, target, *, q=0.7, ignore_index=-100, reduction="mean"
):
    """``(1 - p_y^q) / q`` per item; 'mean' over non-ignored items."""
    x, t, shape, _ = _rows(input, target)
    losses, count = [], 0
    for i in range(x.shape[0]):
        if t[i] == ignore_index:
            losses.append(0.0)
            continue
        count += 1
        p_y = math.exp(_log_softmax_row(x[i])[int(t[i])])
        losses.append((1.0 - p_y**q) / q)
    return reduce(f64(losses).reshape(shape), reduction, denominator=count)


def _binary_hinge(input, target, zero_one, square, reduction):
    x, y = np.broadcast_arrays(np.asarray(input, np.float64), np.asarray(target, np.float64))
    out = np.empty(x.shape)
    for i in np.ndindex(x.shape):
        label = 2.0 * y[i] - 1.0 if zero_one else y[i]
        h = max(0.0, 1.0 - label * x[i])
        out[i] = h * h if square else h
    return reduce(out, reduction)


def hinge_loss_reference(input, target, *, zero_one=False, reduction="mean"):
    """``max(0, 1 - y x)``, ``y = 2 t - 1`` with ``zero_one``."""
    return _binary_hinge(input, target, zero_one, False, reduction)


def squared_hinge_loss_reference(input, target, *, zero_one=False, reduction="mean"):
    """``max(0, 1 - y x)^2``."""
    return _binary_hinge(input, target, zero_one, True, reduction)


def categorical_hinge_loss_reference(input, target, *, reduction="mean"):
    """Crammer-Singer ``max(0, 1 + max_{j != y} x_j - x_y)`` for class indices; Keras's
    ``max(0, max_c (1 - t_c) x_c - sum_c t_c x_c + 1)`` for float targets."""
    x, t, shape, index = _rows(input, target)
    c = x.shape[1]
    losses = []
    for i in range(x.shape[0]):
        if index:
            y = int(t[i])
            other = max((x[i, j] for j in range(c) if j != y), default=-math.inf)
            losses.append(max(0.0, 1.0 + other - x[i, y]))
        else:
            pos = sum(t[i, k] * x[i, k] for k in range(c))
            neg = max((1.0 - t[i, k]) * x[i, k] for k in range(c))
            losses.append(max(0.0, neg - pos + 1.0))
    return reduce(f64(losses).reshape(shape), reduction)


# ------------------------------------------------------------------------------------------
# Oracles: Keras 3 and optax, conventions converted
# ------------------------------------------------------------------------------------------


def _keras_unavailable(dtype: str) -> str | None:
    if importlib.util.find_spec("keras") is None:
        return "keras is not installed"
    return None


def _classes_last(inputs: Mapping[str, np.ndarray], dtype: str, ignore_index=None):
    """Logits with classes last (a batch of one for 1-D input), targets as one-hot / probability
    rows (ignored items: zero rows) with classes last, the integer labels (ignored -> 0) and the
    valid-item mask; all in the case's item layout."""
    x = inputs["input"]
    t = inputs["target"]
    if x.ndim == 1:
        x, t = x[None], t[None]
    xl = np.moveaxis(x, 1, -1).astype(dtype)
    c = xl.shape[-1]
    if t.dtype.kind in "iu":
        valid = t != ignore_index if ignore_index is not None else np.ones(t.shape, bool)
        labels = np.where(valid, t, 0)
        rows = np.eye(c)[labels] * valid[..., None]
    else:
        valid = np.ones(t.shape[:1] + t.shape[2:], bool)
        labels = None
        rows = np.moveaxis(t, 1, -1)
    return xl, rows, labels, valid


def _oracle_reduce(loss, inputs, kwargs, default="mean", denominator=None):
    """An oracle's unreduced output, float64, reduced by
    :func:`~lossbridge.conformance.references.reduce` as the case says (a 1-D input's one item
    unwrapped)."""
    loss = np.asarray(loss, dtype=np.float64)
    if inputs["input"].ndim == 1:
        loss = loss[0]
    return reduce(loss, kwargs.get("reduction", default), denominator=denominator)


def _keras_focal(inputs, kwargs, dtype):
    import keras

    ignore = kwargs.get("ignore_index", -100)
    xl, rows, _, valid = _classes_last(inputs, dtype, ignore)
    alpha = inputs.get("alpha", kwargs.get("alpha"))
    alpha = 1.0 if alpha is None else np.asarray(alpha, dtype=dtype)
    out = keras.losses.categorical_focal_crossentropy(
        rows.astype(dtype), xl, alpha=alpha, gamma=kwargs.get("gamma", 2.0), from_logits=True
    )
    return _oracle_reduce(out, inputs, kwargs, denominator=np.sum(valid))


def _optax_poly(inputs, kwargs, dtype):
    import jax.numpy as jnp
    import optax

    xl, rows, labels, valid = _classes_last(inputs, dtype, kwargs.get("ignore_index", -100))
    c = xl.shape[-1]
    s = kwargs.get("label_smoothing", 0.0)
    smoothed = ((1.0 - s) * rows + s / c) * valid[..., None]
    w = inputs.get("weight")
    if w is not None:  # sum_c w_c t'_c [...] is optax's loss with labels w * t'
        smoothed = smoothed * w
    out = optax.losses.poly_loss_cross_entropy(
        jnp.asarray(xl), jnp.asarray(smoothed.astype(dtype)), epsilon=kwargs.get("epsilon", 1.0)
    )
    if labels is None:
        denom = valid.sum()
    else:  # torch's weighted mean: sum of w_y over the valid items
        denom = np.sum(np.where(valid, 1.0 if w is None else w[labels], 0.0))
    return _oracle_reduce(out, inputs, kwargs, denominator=denom)


def _keras_gce(inputs, kwargs, dtype):
    import keras

    xl, _, labels, valid = _classes_last(inputs, dtype, kwargs.get("ignore_index", -100))
    x64 = xl.astype(np.float64)
    p = np.exp(x64 - x64.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    out = keras.losses.categorical_generalized_cross_entropy(
        labels, p.astype(dtype), q=kwargs.get("q", 0.7)
    )
    loss = np.where(valid, np.asarray(out, dtype=np.float64), 0.0)
    return _oracle_reduce(loss, inputs, kwargs, denominator=np.sum(valid))


def _signed(inputs, kwargs, dtype):
    x = inputs["input"].astype(dtype)
    y = inputs["target"].astype(np.float64)
    return x, (2.0 * y - 1.0 if kwargs.get("zero_one", False) else y).astype(dtype)


def _optax_hinge(inputs, kwargs, dtype):
    import jax.numpy as jnp
    import optax

    x, y = _signed(inputs, kwargs, dtype)
    out = optax.losses.hinge_loss(jnp.asarray(x), jnp.asarray(y))
    return reduce(f64(out), kwargs.get("reduction", "mean"))


def _keras_binary(name):
    def oracle(inputs, kwargs, dtype):
        import keras

        # Keras converts 0/1 labels itself (only when every label is 0 or 1); it averages over
        # the last axis, so a trailing axis of size 1 gives the elementwise loss.
        x = inputs["input"].astype(dtype)[..., None]
        y = inputs["target"].astype(dtype)[..., None]
        out = getattr(keras.losses, name)(y, x)
        return reduce(f64(out), kwargs.get("reduction", "mean"))

    return oracle


def _optax_multiclass_hinge(inputs, kwargs, dtype):
    import jax.numpy as jnp
    import optax

    xl, _, labels, _ = _classes_last(inputs, dtype)
    out = optax.losses.multiclass_hinge_loss(jnp.asarray(xl), jnp.asarray(labels))
    return _oracle_reduce(out, inputs, kwargs)


def _keras_categorical_hinge(inputs, kwargs, dtype):
    import keras

    xl, rows, _, _ = _classes_last(inputs, dtype)
    out = keras.losses.categorical_hinge(rows.astype(dtype), xl)
    return _oracle_reduce(out, inputs, kwargs)


_KERAS_FOCAL = Oracle("keras_softmax_focal_loss", "keras", _keras_focal, _keras_unavailable)
_OPTAX_POLY = Oracle("optax_poly1_cross_entropy", "optax", _optax_poly, optax_unavailable)
_KERAS_GCE = Oracle("keras_generalized_cross_entropy", "keras", _keras_gce, _keras_unavailable)
_OPTAX_HINGE = Oracle("optax_hinge_loss", "optax", _optax_hinge, optax_unavailable)
_KERAS_HINGE = Oracle("keras_hinge_loss", "keras", _keras_binary("hinge"), _keras_unavailable)
_KERAS_SQUARED_HINGE = Oracle(
    "keras_squared_hinge_loss", "keras", _keras_binary("squared_hinge"), _keras_unavailable
)
_OPTAX_MC_HINGE = Oracle(
    "optax_categorical_hinge_loss", "optax", _optax_multiclass_hinge, optax_unavailable
)
_KERAS_CAT_HINGE = Oracle(
    "keras_categorical_hinge_loss", "keras", _keras_categorical_hinge, _keras_unavailable
)

# ------------------------------------------------------------------------------------------
# Cases
# ------------------------------------------------------------------------------------------


def _large_logits(r: np.random.Generator) -> dict[str, np.ndarray]:
    """Logits +-100 (and 50, 0, -30): labels at +100 (1 - p_t ~ e^-50 .. e^-200), at -100
    (loss ~ 200), and between."""
    x = np.resize([100.0, -100.0, 0.0, 50.0, -100.0, 100.0, -30.0], (8, 5))
    return {"input": x, "target": np.resize(np.arange(5), 8)}


_KERAS_CLIP = (
    "Keras clips the probabilities to [1e-7, 1 - 1e-7]: -log p is at most 16.1 there (about "
    "200 here)"
)

_SOFTMAX_FOCAL = entry(
    "softmax_focal_loss",
    [
        base("basic", class_scores((8, 5), 5), **AOT),
        base(
            "alpha_vector_ignore",
            with_arrays(class_scores((8, 5), 5, ignore=2), alpha=lambda r: r.uniform(0.2, 1.0, 5)),
            {"gamma": 1.5},
        ),
        base(
            "probs_scalar_alpha", class_scores((8, 5), 5, probs=True), {"alpha": 0.25, "gamma": 3.0}
        ),
        base("spatial_ignore", class_scores((2, 4, 3, 3), 4, ignore=3), {"gamma": 0.5}),
        base(
            "large_logits",
            _large_logits,
            reductions=ELEMENTWISE,
            skip={"keras_softmax_focal_loss": _KERAS_CLIP},
        ),
    ],
    fn=softmax_focal_loss,
    reference=softmax_focal_loss_reference,
    oracle=None,
    extra_oracles=(_KERAS_FOCAL,),
)

_POLY1 = entry(
    "poly1_cross_entropy",
    [
        base("basic", class_scores((8, 5), 5), **AOT),
        base(
            "weight_ignore_smoothing",
            class_scores((8, 5), 5, weight=True, ignore=2),
            {"epsilon": 2.0, "label_smoothing": 0.1},
        ),
        base("probs_weight", class_scores((8, 5), 5, probs=True, weight=True), {"epsilon": -1.0}),
        base(
            "spatial_ignore_smoothing",
            class_scores((2, 4, 3, 3), 4, ignore=3),
            {"epsilon": 0.5, "label_smoothing": 0.2},
        ),
        base("large_logits", _large_logits, {"epsilon": 2.0}, reductions=ELEMENTWISE),
    ],
    fn=poly1_cross_entropy,
    reference=poly1_cross_entropy_reference,
    oracle=None,
    extra_oracles=(_OPTAX_POLY,),
)

_GCE = entry(
    "generalized_cross_entropy",
    [
        base("basic", class_scores((8, 5), 5), **AOT),
        base("ignore_q03", class_scores((8, 5), 5, ignore=3), {"q": 0.3}),
        base("spatial_q1", class_scores((2, 4, 3, 3), 4), {"q": 1.0}),
        base("large_logits", _large_logits, {"q": 0.5}, reductions=ELEMENTWISE),
        base("all_ignored", all_ignored, reductions=("none", "sum")),
        base("all_ignored", all_ignored, reductions=("mean",), skip={"grad_fd": NAN_MEAN}),
    ],
    fn=generalized_cross_entropy,
    reference=generalized_cross_entropy_reference,
    oracle=None,
    extra_oracles=(_KERAS_GCE,),
)


def _int_signs(shape):
    return lambda r: r.choice([-1, 1], size=shape)


# 1 - y x == 0 exactly wherever x == y (every other entry of input is its label).
_HINGE_KINK = fixed(
    input=[1.0, 0.5, -1.0, -5.0, 1.0, 1.5, -1.0, 0.25, 1.0],
    target=[1.0, -1.0, -1.0, 1.0, 1.0, 1.0, -1.0, -1.0, 1.0, -1.0, 1.0],
)


def _hinge_bases():
    return [
        base("basic", arrays(input=normal((8, 5), 2.0), target=signs((8, 5))), **AOT),
        base(
            "zero_one",
            arrays(input=normal((8, 5), 2.0), target=binary((8, 5))),
            {"zero_one": True},
        ),
        base("int_target_row", arrays(input=normal((8, 5), 2.0), target=_int_signs((5,)))),
    ]


_HINGE = entry(
    "hinge_loss",
    [*_hinge_bases(), base("kink", _HINGE_KINK, skip={"grad_fd": KINK})],
    fn=hinge_loss,
    reference=hinge_loss_reference,
    oracle=None,
    extra_oracles=(_OPTAX_HINGE, _KERAS_HINGE),
)

_SQUARED_HINGE = entry(
    "squared_hinge_loss",
    # the squared hinge is differentiable at the kink (gradient 0): the finite difference runs
    [*_hinge_bases(), base("kink", _HINGE_KINK)],
    fn=squared_hinge_loss,
    reference=squared_hinge_loss_reference,
    oracle=None,
    extra_oracles=(_KERAS_SQUARED_HINGE,),
)


def _one_hot_negative(r: np.random.Generator) -> dict[str, np.ndarray]:
    """Negative scores and one-hot float targets: Keras's formula differs from Crammer-Singer."""
    x = -np.abs(r.standard_normal((8, 5))) - 0.25
    return {"input": x, "target": np.eye(5)[r.integers(0, 5, 8)]}


def _hinge_ties(r: np.random.Generator) -> dict[str, np.ndarray]:
    """Ties in the max over j != y (rows 0-3), the bracket exactly 0 (rows 4-7, some also tied)."""
    x = np.array(
        [
            [0.5, 2.0, 2.0, -1.0, 0.0],  # y=0: j=1, 2 tie, bracket 2.5
            [1.0, 1.0, 1.0, 1.0, 1.0],  # y=2: four-way tie, bracket 1
            [-0.5, 1.5, 0.5, 0.5, 0.5],  # y=1: three-way tie, bracket 0 (kink)
            [3.0, 3.0, 0.0, -1.0, 1.0],  # y=4: 0 and 1 tie, bracket 3
            [1.5, 0.5, -2.0, 0.0, 0.5],  # y=0: 1 and 4 tie, bracket 0 (kink)
            [2.0, 1.0, 0.0, -1.0, 3.0],  # y=4: bracket 0 (kink)
            [0.25, 0.25, 0.25, 1.25, 0.25],  # y=3: four-way tie, bracket 0 (kink)
            [1.0, -1.0, 0.5, 0.0, -0.5],  # y=1: bracket 3
        ]
    )
    return {"input": x, "target": np.array([0, 2, 1, 4, 0, 4, 3, 1])}


_KERAS_ONE_HOT = (
    "Keras's categorical_hinge takes one-hot rows and puts 0 in place of the label's score in "
    "the max, so it differs from Crammer-Singer where every other score is negative"
)
_OPTAX_INDEX_ONLY = "optax's multiclass_hinge_loss takes integer labels only"

_CAT_HINGE = entry(
    "categorical_hinge_loss",
    [
        base(
            "basic",
            class_scores((8, 5), 5),
            **AOT,
            skip={"keras_categorical_hinge_loss": _KERAS_ONE_HOT},
        ),
        base(
            "probs",
            class_scores((8, 5), 5, probs=True),
            skip={"optax_categorical_hinge_loss": _OPTAX_INDEX_ONLY},
        ),
        base(
            "one_hot_negative",
            _one_hot_negative,
            skip={"optax_categorical_hinge_loss": _OPTAX_INDEX_ONLY},
        ),
        base(
            "spatial",
            class_scores((2, 4, 3), 4),
            skip={"keras_categorical_hinge_loss": _KERAS_ONE_HOT},
        ),
        base(
            "ties_kink",
            _hinge_ties,
            skip={"keras_categorical_hinge_loss": _KERAS_ONE_HOT, "grad_fd": KINK},
        ),
    ],
    fn=categorical_hinge_loss,
    reference=categorical_hinge_loss_reference,
    oracle=None,
    extra_oracles=(_OPTAX_MC_HINGE, _KERAS_CAT_HINGE),
)

#: This family's registry entries.
ENTRIES: tuple[Entry, ...] = (
    _SOFTMAX_FOCAL,
    _POLY1,
    _GCE,
    _HINGE,
    _SQUARED_HINGE,
    _CAT_HINGE,
)
