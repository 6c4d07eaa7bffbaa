"""Conformance entries of the ``lossbridge.keras`` dialect: one ``keras.<ClassName>`` per class.

Each entry calls the class (``fn``: an adapter ``(y_true, y_pred, sample_weight=None,
reduction=..., **params)`` that passes ``dtype=y_pred.dtype``, so a half case computes in
Keras's half semantics rather than floatx's float32), checks it against a float64 NumPy
transcription of Keras 3.15.1's formula written here (loops and plain formulas, independent of
``src/``), and against real Keras (TensorFlow backend) through an :class:`Oracle` that runs
``keras.losses.<ClassName>`` with ``dtype`` set to the case's dtype on the same inputs (Keras's
default would cast to float32).

The references clip at :math:`[\\epsilon, 1 - \\epsilon]` in the dtype the backends computed:
they receive float64 arrays holding the inputs rounded to the case dtype, so arrays whose floats
are all exactly float32 values mark a float32 run, whose upper bound is float32(1 - 1e-7) =
0.99999988 (Keras's asymmetric clip, reference section 3.1); every case holds at least one
floating value that is not a float32 number, so float64 runs are told apart.

``keras.Tversky``'s oracle swaps ``alpha`` and ``beta``: lossbridge follows Keras's docstring
(alpha weights false positives), Keras 3.15.1's code weights the false negatives with alpha
(fixed in keras-team/keras PR #23333). ``keras.CTC``'s oracle runs at float32 only: Keras's TF
backend computes float64 CTC in float32.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Callable
from typing import Any

import numpy as np

import lossbridge.keras as lk
from lossbridge.conformance import references
from lossbridge.conformance.cases import (
    Oracle,
    arrays,
    base,
    binary,
    const,
    entry,
    fixed,
    normal,
    weights,
)

EPS = 1e-7
R5 = ("sum_over_batch_size", "sum", "mean", "mean_with_sample_weight", None)
_SOBS = "sum_over_batch_size"
_AOT = {"compile": (_SOBS,), "placement": _SOBS}
_BOUNDARY = "inputs exactly at 0 and 1, outside the clip: no central difference across the clip"
_HALF_CLIP = (
    "the float32 clip case: in half, 1 - 1e-7 rounds to 1.0, Keras gives inf/NaN at p = 1 and "
    "lossbridge the core's -100 log clamp (tests/test_keras_dialect.py::"
    "test_half_clip_bounds_are_keras_half_bounds, docs/porting.md Precision)"
)

# ------------------------------------------------------------------------------------------
# NumPy float64 references of Keras's formulas
# ------------------------------------------------------------------------------------------


def _is_f32(*arrays: Any) -> bool:
    fl = [
        np.asarray(a, np.float64)
        for a in arrays
        if a is not None and np.asarray(a).dtype.kind == "f"
    ]
    return all(np.array_equal(a.astype(np.float32).astype(np.float64), a) for a in fl)


def _bounds(*arrays: Any) -> tuple[float, float]:
    if _is_f32(*arrays):
        return float(np.float32(EPS)), float(np.float32(1.0 - EPS))
    return EPS, 1.0 - EPS


def _align(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keras's squeeze_or_expand_to_same_rank."""
    if a.ndim == b.ndim + 1 and a.shape[-1] == 1:
        return (a, b[..., None]) if b.ndim == 1 else (a[..., 0], b)
    if b.ndim == a.ndim + 1 and b.shape[-1] == 1:
        return (a[..., None], b) if a.ndim == 1 else (a, b[..., 0])
    return a, b


def _keras_reduce(values, sample_weight=None, mask=None, reduction=_SOBS):
    """Keras 3.15.1's weighting and reduction of per-sample values, float64 NumPy.

    The one Keras reduction of the suite, and not
    :func:`~lossbridge.conformance.references.reduce`: Keras multiplies the values by
    ``sample_weight`` and the mask (the mask rescaled so that ``'mean'`` and
    ``'sum_over_batch_size'`` average over the unmasked values), aligns ranks as
    ``squeeze_or_expand_to_same_rank`` does, divides ``'mean_with_sample_weight'`` by the weight
    sum, and a zero divisor gives 0 (``divide_no_nan``), not NaN.
    """
    values = np.asarray(values, np.float64)
    sw = None if sample_weight is None else np.asarray(sample_weight, np.float64)
    if mask is not None:
        m = np.asarray(mask, np.float64)
        if reduction in ("mean", _SOBS):
            valid = m.sum()
            m = m * (m.size / valid if valid else 0.0)
        if sw is not None:
            m, sw = _align(m, sw)
            sw = sw * m
        else:
            sw = m
    if sw is not None:
        values, sw = _align(values, sw)
        values = values * sw
    if reduction in (None, "none") or values.shape in ((), (0,)):
        return values
    total = values.sum()
    if reduction == "sum":
        return total
    div = sw.sum() if (reduction == "mean_with_sample_weight" and sw is not None) else values.size
    return total / div if div else 0.0 * total


def _ref(per_sample: Callable[..., Any], *, align: bool = True):
    def reference(y_true, y_pred, sample_weight=None, reduction=_SOBS, **params):
        yt, yp = np.asarray(y_true), np.asarray(y_pred, np.float64)
        if align:
            yt, yp = _align(yt, yp)
        out = per_sample(yt, yp, **params)
        values, mask = out if isinstance(out, tuple) else (out, None)
        return _keras_reduce(values, sample_weight, mask, reduction)

    return reference


def _np_mse(yt, yp):
    return np.mean((yt - yp) ** 2, axis=-1)


def _np_mae(yt, yp):
    return np.mean(np.abs(yt - yp), axis=-1)


def _np_mape(yt, yp):
    return 100.0 * np.mean(np.abs(yt - yp) / np.maximum(np.abs(yt), EPS), axis=-1)


def _np_msle(yt, yp):
    return np.mean((np.log(np.maximum(yp, EPS) + 1) - np.log(np.maximum(yt, EPS) + 1)) ** 2, -1)


def _np_huber(yt, yp, delta=1.0):
    e = yp - yt
    return np.mean(
        np.where(np.abs(e) <= delta, 0.5 * e * e, delta * np.abs(e) - 0.5 * delta**2), -1
    )


# Keras's log_cosh subtracts log 2 computed in float32 (ops.log(2.0)) and cast: 1.9e-9 more than
# log 2, which its float64 losses show (float32 ones cannot).
_KERAS_LOG2_EXCESS = float(np.float32(np.log(2.0))) - np.log(2.0)


def _np_log_cosh(yt, yp):
    return np.mean(np.log(np.cosh(yp - yt)) - _KERAS_LOG2_EXCESS, axis=-1)


def _np_poisson(yt, yp):
    return np.mean(yp - yt * np.log(yp + EPS), axis=-1)


def _np_kl(yt, yp):
    t, p = np.clip(yt, EPS, 1), np.clip(yp, EPS, 1)
    return np.sum(t * np.log(t / p), axis=-1)


def _hinge_y(yt):
    yt = yt.astype(np.float64)
    return 2 * yt - 1 if np.all((yt == 0) | (yt == 1)) else yt


def _np_hinge(yt, yp):
    return np.mean(np.maximum(1 - _hinge_y(yt) * yp, 0), axis=-1)


def _np_squared_hinge(yt, yp):
    return np.mean(np.maximum(1 - _hinge_y(yt) * yp, 0) ** 2, axis=-1)


def _np_categorical_hinge(yt, yp):
    pos = np.sum(yt * yp, -1)
    neg = np.max((1 - yt) * yp, -1)
    return np.maximum(neg - pos + 1, 0)


def _np_cosine(yt, yp, axis=-1):
    def unit(x):
        s = np.sum(x * x, axis=axis, keepdims=True)
        with np.errstate(divide="ignore"):
            return x * np.minimum(1 / np.sqrt(s), 1 / EPS)

    return -np.sum(unit(yt) * unit(yp), axis=axis)


def _np_bce_terms(yt, yp, from_logits, lo, hi):
    if from_logits:  # max(z, 0) - z y + log(1 + exp(-|z|))
        return np.maximum(yp, 0) - yp * yt + np.log1p(np.exp(-np.abs(yp)))
    p = np.clip(yp, lo, hi)
    return -(yt * np.log(p) + (1 - yt) * np.log(1 - p))


def _np_bce(yt, yp, from_logits=False, label_smoothing=0.0, axis=-1):
    lo, hi = _bounds(yt, yp)
    yt = yt * (1 - label_smoothing) + 0.5 * label_smoothing
    return np.mean(_np_bce_terms(yt, yp, from_logits, lo, hi), axis=axis)


def _np_binary_focal(
    yt,
    yp,
    apply_class_balancing=False,
    alpha=0.25,
    gamma=2.0,
    from_logits=False,
    label_smoothing=0.0,
    axis=-1,
):
    lo, hi = _bounds(yt, yp)
    yt = yt * (1 - label_smoothing) + 0.5 * label_smoothing
    bce = _np_bce_terms(yt, yp, from_logits, lo, hi)  # TF backend: logits BCE when from_logits
    p = 1 / (1 + np.exp(-yp)) if from_logits else yp
    pt = yt * p + (1 - yt) * (1 - p)
    loss = (1 - pt) ** gamma * bce
    if apply_class_balancing:
        loss = (yt * alpha + (1 - yt) * (1 - alpha)) * loss
    return np.mean(loss, axis=axis)


def _np_cce(yt, yp, from_logits=False, label_smoothing=0.0, axis=-1):
    lo, hi = _bounds(yt, yp)
    c = yt.shape[-1]  # Keras 3.15.1 smooths by the last axis's size whatever axis is (PR 23437)
    yt = yt * (1 - label_smoothing) + label_smoothing / c
    if from_logits:
        m = yp.max(axis=axis, keepdims=True)
        logp = yp - m - np.log(np.exp(yp - m).sum(axis=axis, keepdims=True))
        return -np.sum(yt * logp, axis=axis)
    p = np.clip(yp / yp.sum(axis=axis, keepdims=True), lo, hi)
    return -np.sum(yt * np.log(p), axis=axis)


def _np_cat_focal(yt, yp, alpha=0.25, gamma=2.0, from_logits=False, label_smoothing=0.0, axis=-1):
    lo, hi = _bounds(yt, yp)
    c = yt.shape[-1]  # as _np_cce
    yt = yt * (1 - label_smoothing) + label_smoothing / c
    q = references.softmax(yp, axis) if from_logits else yp
    p = np.clip(q / q.sum(axis=axis, keepdims=True), lo, hi)
    return np.sum(alpha * (1 - p) ** gamma * (-yt * np.log(p)), axis=axis)


def _np_sparse(yt, yp, from_logits=False, ignore_class=None, axis=-1):
    lo, hi = _bounds(yp)
    yt = np.asarray(yt).astype(np.int64)
    if yt.ndim == yp.ndim and yt.shape[-1] == 1:
        yt = yt[..., 0]
    z = yp if from_logits else np.log(np.clip(yp, lo, hi))
    flat_z = z.reshape(-1, z.shape[-1])
    flat_y = yt.reshape(-1)
    out = np.zeros(flat_y.shape)
    valid = np.ones(flat_y.shape, bool) if ignore_class is None else flat_y != ignore_class
    for i in range(flat_y.size):
        if valid[i]:
            row = flat_z[i]
            m = row.max()
            out[i] = m + np.log(np.sum(np.exp(row - m))) - row[flat_y[i]]
    out = out.reshape(yt.shape)
    return out, (None if ignore_class is None else valid.reshape(yt.shape))


def _np_gce(yt, yp, q=0.5):
    yt = np.asarray(yt).astype(np.int64).reshape(-1)
    p = np.array([yp[i, yt[i]] for i in range(yt.size)])
    return (1 - p**q) / q


def _np_dice(yt, yp, axis=None):
    inter = np.sum(yt * yp, axis=axis)
    return 1 - 2 * inter / (np.sum(yt, axis=axis) + np.sum(yp, axis=axis) + EPS)


def _np_tversky(yt, yp, alpha=0.5, beta=0.5, axis=None):
    tp = np.sum(yt * yp, axis=axis)
    fp = np.sum((1 - yt) * yp, axis=axis)  # alpha: false positives (Keras's docstring)
    fn = np.sum(yt * (1 - yp), axis=axis)
    return 1 - tp / (tp + alpha * fp + beta * fn + EPS)


def _np_circle(yt, yp, gamma=80.0, margin=0.4, remove_diagonal=True):
    labels = np.asarray(yt).astype(np.int64).reshape(-1)
    n = labels.size
    out = np.zeros(n)
    for i in range(n):
        pos_terms, neg_terms = [], []
        for j in range(n):
            d = max(1.0 - float(yp[i] @ yp[j]), 0.0)
            if labels[i] == labels[j]:
                if remove_diagonal and i == j:
                    continue
                pos_terms.append(-gamma * max(margin + d, 0.0) * (margin - d))
            else:
                neg_terms.append(gamma * max(1 + margin - d, 0.0) * (1 - margin - d))
        if pos_terms and neg_terms:
            a = np.logaddexp.reduce(pos_terms) + np.logaddexp.reduce(neg_terms)
            out[i] = np.logaddexp(0.0, a)
    return out, out > 0


def _np_ctc(yt, yp):
    yt = np.asarray(yt).astype(np.int64)
    b, t, _ = yp.shape
    m = yp.max(-1, keepdims=True)
    logp = yp - m - np.log(np.exp(yp - m).sum(-1, keepdims=True))
    lengths = (yt != 0).sum(-1)
    return references.ctc_loss(
        np.transpose(logp, (1, 0, 2)), yt, np.full(b, t), lengths, blank=0, reduction="none"
    )


# ------------------------------------------------------------------------------------------
# Adapters and oracles
# ------------------------------------------------------------------------------------------


def _adapter(name: str) -> Callable[..., Any]:
    def fn(y_true, y_pred, sample_weight=None, reduction=_SOBS, **params):
        # dtype: the case's (as the oracle passes it); dtype=None would give float32 for half
        loss = getattr(lk, name)(reduction=reduction, dtype=y_pred.dtype, **params)
        return loss(y_true, y_pred, sample_weight=sample_weight)

    fn.__name__ = fn.__qualname__ = f"keras_{name}"
    fn.autograph_info__ = {}  # tf.function calls it unconverted (see lossbridge/__init__.py)
    return fn


def _keras_unavailable(dtype: str) -> str | None:
    if importlib.util.find_spec("keras") is None:
        return "keras is not installed"
    keras = sys.modules.get("keras")
    if keras is not None and keras.backend.backend() != "tensorflow":
        return f"keras runs on the {keras.backend.backend()} backend here, not tensorflow"
    if keras is None and os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow":
        return "KERAS_BACKEND is not tensorflow"
    return None


def _ctc_unavailable(dtype: str) -> str | None:
    if dtype == "float64":
        return "Keras's TF backend computes float64 CTC in float32 (tensorflow/nn.py ctc_loss)"
    return _keras_unavailable(dtype)


def _keras_oracle(name: str, *, swap: bool = False, unavailable=_keras_unavailable) -> Oracle:
    def fn(inputs, kwargs, dtype):
        import keras

        kw = dict(kwargs)
        if swap:  # Keras 3.15.1 weights false negatives with alpha (PR #23333)
            kw["alpha"], kw["beta"] = kw.get("beta", 0.5), kw.get("alpha", 0.5)
        arr = {k: (v.astype(dtype) if v.dtype.kind == "f" else v) for k, v in inputs.items()}
        sw = arr.pop("sample_weight", None)
        out = getattr(keras.losses, name)(dtype=dtype, **kw)(
            arr["y_true"], arr["y_pred"], sample_weight=sw
        )
        return np.asarray(out, dtype=np.float64)

    return Oracle(f"keras_{name}", "keras", fn, unavailable)


def _keras_entry(name: str, per_sample: Callable[..., Any], bases: list[dict], *, align=True, **kw):
    oracle = _keras_oracle(
        name,
        swap=name == "Tversky",
        unavailable=_ctc_unavailable if name == "CTC" else _keras_unavailable,
    )
    return entry(
        f"keras.{name}",
        bases,
        fn=_adapter(name),
        reference=_ref(per_sample, align=align),
        oracle=None,
        grad_args=("y_pred",),
        extra_oracles=(oracle,),
        **kw,
    )


# ------------------------------------------------------------------------------------------
# Inputs (shapes reused across classes: (8, 5), (8,), (8, 1), (2, 4, 4, 3))
# ------------------------------------------------------------------------------------------


def _uniform(shape, lo=0.0, hi=1.0):
    return lambda r: r.uniform(lo, hi, shape)


def _onehot(shape):
    def draw(r):
        return np.eye(shape[-1])[r.integers(0, shape[-1], shape[:-1])]

    return draw


def _labels(shape, c, ignore=0, value=-1):
    def draw(r):
        y = r.integers(0, c, shape)
        if ignore:
            flat = y.reshape(-1)
            flat[r.choice(flat.size, ignore, replace=False)] = value
        return y

    return draw


def _prob_rows(shape, lo=0.2):
    """Probability rows bounded away from 0 (finite differences of log p stay accurate)."""

    def draw(r):
        x = r.uniform(lo, 1.0, shape)
        return x / x.sum(axis=-1, keepdims=True)

    return draw


def _unit_rows(shape):
    def draw(r):
        x = r.standard_normal(shape)
        return x / np.linalg.norm(x, axis=-1, keepdims=True)

    return draw


def _ctc_labels(r):
    y = np.zeros((2, 3), np.int64)
    y[0] = r.integers(1, 5, 3)
    y[1, :2] = r.integers(1, 5, 2)
    return y


_W = {"sample_weight": weights(8)}
_PAIR = arrays(y_true=normal((8, 5)), y_pred=normal((8, 5)), **_W)
_POS_PAIR = arrays(y_true=_uniform((8, 5), 0.1, 3.0), y_pred=_uniform((8, 5), 0.1, 3.0), **_W)
_ALL = {"reductions": R5, **_AOT}
_A = {"reductions": (_SOBS, "mean_with_sample_weight", None), **_AOT}
_B = {"reductions": ("sum", "mean")}


ENTRIES = (
    _keras_entry(
        "MeanSquaredError",
        _np_mse,
        [
            base("basic", _PAIR, **_A),
            base("one_d", arrays(y_true=normal((8,)), y_pred=normal((8,))), **_B),
        ],
    ),
    _keras_entry(
        "MeanAbsoluteError",
        _np_mae,
        [
            base("basic", _PAIR, **_ALL),
            base(
                "n_vs_n1",
                arrays(y_true=normal((8,)), y_pred=normal((8, 1)), **_W),
                **_B,
            ),
        ],
    ),
    _keras_entry(
        "MeanAbsolutePercentageError",
        _np_mape,
        [
            base("basic", _PAIR, **_A),
            base(
                "zero_target",
                fixed((8, 5), y_true=[0.0, 1.5, -2.0], y_pred=[0.3, 1.0, 2.0]),
                **_B,
            ),
        ],
    ),
    _keras_entry(
        "MeanSquaredLogarithmicError",
        _np_msle,
        [
            base("basic", _POS_PAIR, **_A),
            base(
                "below_eps",
                fixed((8, 5), y_true=[-0.5, 0.0, 1.0, 2.0], y_pred=[0.3, -0.2, 0.7, 1.1, 2.5]),
                skip={"grad_fd": "values below the clip at 1e-7: flat on one side only"},
                **_B,
            ),
        ],
    ),
    _keras_entry(
        "CosineSimilarity",
        _np_cosine,
        [
            base("basic", _PAIR, **_A),
            base(
                "zero_vectors",
                arrays(
                    y_true=const(np.resize([[0.0] * 5, [1.0, 0, 2, 0, 1]], (8, 5))),
                    y_pred=normal((8, 5)),
                ),
                **_B,
            ),
        ],
    ),
    _keras_entry(
        "Huber",
        _np_huber,
        [
            base(
                "basic",
                arrays(y_true=normal((8, 5), 2.0), y_pred=normal((8, 5), 2.0), **_W),
                **_A,
            ),
            base("delta", _PAIR, {"delta": 0.5}, **_B),
        ],
    ),
    _keras_entry("LogCosh", _np_log_cosh, [base("basic", _PAIR, **_ALL)]),
    _keras_entry(
        "Hinge",
        _np_hinge,
        [
            base("zero_one", arrays(y_true=binary((8, 5)), y_pred=normal((8, 5)), **_W), **_A),
            base(
                "plus_minus",
                arrays(y_true=lambda r: 2 * r.integers(0, 2, (8, 5)) - 1.0, y_pred=normal((8, 5))),
                **_B,
            ),
        ],
    ),
    _keras_entry(
        "SquaredHinge",
        _np_squared_hinge,
        [
            base("zero_one", arrays(y_true=binary((8, 5)), y_pred=normal((8, 5)), **_W), **_A),
            base(
                "mixed_labels",
                fixed(
                    (8, 5),
                    y_true=[0.0, 1.0, 0.5, 1.0, 0.0, -1.0],
                    y_pred=[0.3, -0.5, 2.0, 0.1, 1.7, 0.6, -1.3],
                ),
                **_B,
            ),
        ],
    ),
    _keras_entry(
        "CategoricalHinge",
        _np_categorical_hinge,
        [base("basic", arrays(y_true=_onehot((8, 5)), y_pred=normal((8, 5)), **_W), **_ALL)],
    ),
    _keras_entry(
        "KLDivergence",
        _np_kl,
        [
            base(
                "basic",
                arrays(
                    y_true=lambda r: r.dirichlet(np.ones(5), 8),
                    y_pred=_prob_rows((8, 5)),
                    **_W,
                ),
                **_A,
            ),
            base(
                "zeros_in_target",
                arrays(y_true=_onehot((8, 5)), y_pred=_prob_rows((8, 5))),
                **_B,
            ),
        ],
    ),
    _keras_entry("Poisson", _np_poisson, [base("basic", _POS_PAIR, **_ALL)], align=False),
    _keras_entry(
        "BinaryCrossentropy",
        _np_bce,
        [
            base(
                "smoothed",
                arrays(y_true=binary((8, 5)), y_pred=_uniform((8, 5), 0.02, 0.98), **_W),
                {"label_smoothing": 0.2},
                **_A,
            ),
            base(
                "exact_0_1_f32_clip",
                fixed(
                    (8, 5),
                    y_true=[1.0, 0.0, 1.0, 1.0, 0.0],
                    y_pred=[0.0, 1.0, 1e-9, 0.3, 1.0, 0.0, 0.6],
                ),
                skip={
                    "grad_fd": _BOUNDARY,
                    "all@float16": _HALF_CLIP,
                    "all@bfloat16": _HALF_CLIP,
                },
                **_B,
            ),
        ],
    ),
    _keras_entry(
        "BinaryFocalCrossentropy",
        _np_binary_focal,
        [
            base(
                "balanced",
                arrays(y_true=binary((8, 5)), y_pred=_uniform((8, 5), 0.02, 0.98), **_W),
                {"apply_class_balancing": True, "gamma": 1.5},
                **_A,
            ),
            base(
                "large_logits",
                fixed(
                    (8, 5),
                    y_true=[0.0, 1.0, 0.0, 1.0, 0.3],
                    y_pred=[100.0, -100.0, 20.0, 0.5, -3.0, 2.0],
                ),
                {"from_logits": True, "label_smoothing": 0.1},
                **_B,
            ),
        ],
    ),
    _keras_entry(
        "CategoricalCrossentropy",
        _np_cce,
        [
            base(
                "probs",
                arrays(y_true=_onehot((8, 5)), y_pred=_uniform((8, 5), 0.05, 1.0), **_W),
                **_A,
            ),
            base(
                "logits_smoothing",
                arrays(y_true=_onehot((2, 4, 4, 3)), y_pred=normal((2, 4, 4, 3), 2.0)),
                {"from_logits": True, "label_smoothing": 0.1},
                **_B,
            ),
            base(  # classes on axis 1: Keras 3.15.1 still smooths by shape[-1] = 4
                "axis1_smoothing",
                arrays(y_true=_uniform((2, 3, 4), 0.0, 1.0), y_pred=_uniform((2, 3, 4), 0.05, 1.0)),
                {"label_smoothing": 0.2, "axis": 1},
                **_B,
            ),
        ],
    ),
    _keras_entry(
        "CategoricalFocalCrossentropy",
        _np_cat_focal,
        [
            base(
                "probs",
                arrays(y_true=_onehot((8, 5)), y_pred=_uniform((8, 5), 0.05, 1.0), **_W),
                **_A,
            ),
            base(
                "logits",
                arrays(y_true=_onehot((8, 5)), y_pred=normal((8, 5), 3.0)),
                {"from_logits": True, "alpha": 0.5, "label_smoothing": 0.1},
                **_B,
            ),
        ],
    ),
    _keras_entry(
        "SparseCategoricalCrossentropy",
        _np_sparse,
        [
            base(
                "ignore_some",
                arrays(y_true=_labels((8,), 5, ignore=2), y_pred=normal((8, 5), 2.0), **_W),
                {"from_logits": True, "ignore_class": -1},
                **_A,
            ),
            base(
                "all_ignored",
                arrays(
                    y_true=const(np.full((2, 4, 4), -1)), y_pred=_uniform((2, 4, 4, 3), 0.05, 1.0)
                ),
                {"ignore_class": -1},
                **_B,
            ),
        ],
        align=False,
    ),
    _keras_entry(
        "CategoricalGeneralizedCrossEntropy",
        _np_gce,
        [
            base(
                "basic",
                arrays(y_true=_labels((8,), 5), y_pred=_prob_rows((8, 5)), **_W),
                {"q": 0.7},
                **_ALL,
            )
        ],
        align=False,
    ),
    _keras_entry(
        "Dice",
        _np_dice,
        [
            base("basic", arrays(y_true=binary((8, 5)), y_pred=_uniform((8, 5)), **_W), **_A),
            base(
                "axis_images",
                arrays(y_true=binary((2, 4, 4, 3)), y_pred=_uniform((2, 4, 4, 3))),
                {"axis": (1, 2)},
                **_B,
            ),
        ],
        align=False,
    ),
    _keras_entry(
        "Tversky",
        _np_tversky,
        [
            base(
                "alpha_beta_axis",
                arrays(y_true=binary((8, 5)), y_pred=_uniform((8, 5)), **_W),
                {"alpha": 0.7, "beta": 0.3, "axis": -1},
                **_A,
            ),
            base(
                "defaults_all_axes",
                fixed((8, 5), y_true=[1.0, 0.0, 0.0, 1.0], y_pred=[1.0, 1.0, 1.0, 0.3, 0.6]),
                {"alpha": 0.9, "beta": 0.1},
                **_B,
            ),
        ],
        align=False,
    ),
    _keras_entry(
        "Circle",
        _np_circle,
        [
            base(
                "basic",
                arrays(
                    y_true=const(np.array([0, 1, 0, 2, 1, 0, 3, 1])),
                    y_pred=_unit_rows((8, 5)),
                    **_W,
                ),
                {"gamma": 8.0},
                **_ALL,
            ),
        ],
        align=False,
    ),
    _keras_entry(
        "CTC",
        _np_ctc,
        [
            base(
                "basic",
                arrays(y_true=_ctc_labels, y_pred=normal((2, 6, 5)), sample_weight=weights(2)),
                **_ALL,
            )
        ],
        align=False,
    ),
)
