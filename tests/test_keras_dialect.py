"""Tests of ``lossbridge.keras``, the Keras 3 dialect.

Expected values come from real Keras 3.15.1 on its TensorFlow backend (called with ``dtype`` set
to the inputs' dtype, since Keras's classes otherwise cast to float32), from plain float64 NumPy
formulas written here, and from hand computations (arithmetic in comments). Keras's Tversky is
called with alpha and beta swapped: Keras 3.15.1's code weights false negatives with alpha,
contrary to its docstring, which lossbridge follows (fixed upstream in keras-team/keras PR
#23333).
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import pickle
import subprocess
import sys

import numpy as np
import pytest
from _helpers import (
    assert_close,
    assert_result,
    backend_array,
    backend_grad,
    make,
    np_dtype,
    to_numpy,
)

import lossbridge.keras as lk
from lossbridge.conformance.precision_table import round_to, ulps

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
keras = pytest.importorskip("keras")
if keras.backend.backend() != "tensorflow":  # pragma: no cover
    pytest.skip("these tests compare with Keras's TensorFlow backend", allow_module_level=True)

R = np.random.default_rng(7)


def _onehot(n, c):
    return np.eye(c)[R.integers(0, c, n)]


def _bits(shape):
    return R.integers(0, 2, shape).astype(np.float64)


# One input set per class: (y_true, y_pred, class kwargs, reduction), the five reductions cycled.
_P = R.uniform(0.02, 0.98, (6, 4))
_N = R.standard_normal((6, 4))
_LABELS = np.array([0, 2, 1, -1, 3, 2])
CASES = {
    "MeanSquaredError": (R.standard_normal((6, 4)), _N, {}, "sum_over_batch_size"),
    "MeanAbsoluteError": (R.standard_normal((6, 4)), _N, {}, "sum"),
    "MeanAbsolutePercentageError": (R.standard_normal((6, 4)), _N, {}, "mean"),
    "MeanSquaredLogarithmicError": (R.uniform(0, 2, (6, 4)), _P, {}, "mean_with_sample_weight"),
    "CosineSimilarity": (R.standard_normal((6, 4)), _N, {"axis": -1}, None),
    "Huber": (2 * R.standard_normal((6, 4)), _N, {"delta": 0.7}, "sum_over_batch_size"),
    "LogCosh": (R.standard_normal((6, 4)), _N, {}, "sum"),
    "Hinge": (_bits((6, 4)), _N, {}, "mean"),
    "SquaredHinge": (_bits((6, 4)) * 2 - 1, _N, {}, "mean_with_sample_weight"),
    "CategoricalHinge": (_onehot(6, 4), _N, {}, None),
    "KLDivergence": (R.dirichlet(np.ones(4), 6), R.dirichlet(np.ones(4), 6), {}, "sum"),
    "Poisson": (R.poisson(2.0, (6, 4)).astype(float), _P * 3, {}, "mean"),
    "BinaryCrossentropy": (_bits((6, 4)), _P, {"label_smoothing": 0.1}, "sum_over_batch_size"),
    "BinaryFocalCrossentropy": (
        _bits((6, 4)),
        3 * _N,
        {"apply_class_balancing": True, "from_logits": True, "gamma": 1.5},
        "mean_with_sample_weight",
    ),
    "CategoricalCrossentropy": (_onehot(6, 4), _P, {}, None),
    "CategoricalFocalCrossentropy": (_onehot(6, 4), _N, {"from_logits": True}, "sum"),
    "SparseCategoricalCrossentropy": (
        _LABELS,
        _N,
        {"from_logits": True, "ignore_class": -1},
        "sum_over_batch_size",
    ),
    "CategoricalGeneralizedCrossEntropy": (
        np.array([0, 2, 1, 1, 3, 2]),
        R.dirichlet(np.ones(4), 6),
        {"q": 0.3},
        "mean",
    ),
    "Dice": (_bits((6, 4)), _P, {"axis": -1}, "mean_with_sample_weight"),
    "Tversky": (_bits((6, 4)), _P, {"alpha": 0.8, "beta": 0.2, "axis": -1}, None),
    "Circle": (
        np.array([0, 1, 0, 1, 2, 2]),
        _N / np.linalg.norm(_N, axis=1, keepdims=True),
        {"gamma": 10.0},
        "sum_over_batch_size",
    ),
    "CTC": (np.array([[1, 2, 0], [3, 3, 1]]), R.standard_normal((2, 5, 4)), {}, "sum"),
}
WEIGHTS = R.uniform(0.2, 2.0, 6)


def _keras_value(name, y_true, y_pred, kwargs, reduction, sample_weight, dtype):
    kw = dict(kwargs)
    if name == "Tversky":  # Keras 3.15.1 weights false negatives with alpha (PR #23333)
        kw["alpha"], kw["beta"] = kw["beta"], kw["alpha"]
    cast = {
        k: (v.astype(dtype) if v.dtype.kind == "f" else v)
        for k, v in (("t", y_true), ("p", y_pred))
    }
    loss = getattr(keras.losses, name)(reduction=reduction, dtype=dtype, **kw)
    sw = None if sample_weight is None else sample_weight.astype(dtype)
    return np.asarray(loss(cast["t"], cast["p"], sample_weight=sw), dtype=np.float64)


def test_names_signatures_and_defaults_match_keras():
    """Names, order, defaults and kinds (positional or keyword-only) of every parameter."""
    public = {n for n in dir(keras.losses) if not n.startswith("_")}
    assert public <= set(dir(lk)), sorted(public - set(dir(lk)))
    for name in public - {"Loss", "get", "serialize", "deserialize"}:
        theirs = getattr(keras.losses, name)
        ours = getattr(lk, name)
        sig_t = inspect.signature(theirs.__init__ if inspect.isclass(theirs) else theirs)
        sig_o = inspect.signature(ours.__init__ if inspect.isclass(ours) else ours)
        t = [(p.name, p.default, p.kind) for p in sig_t.parameters.values() if p.name != "self"]
        o = [(p.name, p.default, p.kind) for p in sig_o.parameters.values() if p.name != "self"]
        assert o == t, name
    assert inspect.signature(lk.Loss.__init__).parameters.keys() == {
        "self",
        "name",
        "reduction",
        "dtype",
    }


@pytest.mark.parametrize("name", sorted(CASES))
def test_classes_match_keras_on_every_backend(backend, name):
    """Each class, one reduction each (all five across the classes), with sample weights,
    against ``keras.losses.<name>(dtype=...)`` on Keras's TF backend."""
    y_true, y_pred, kwargs, reduction = CASES[name]
    dtype = "float32" if name == "CTC" else "float64"  # Keras computes CTC in float32
    sw = None if name == "Dice" else WEIGHTS[: len(y_pred)]
    expected = _keras_value(name, y_true, y_pred, kwargs, reduction, sw, dtype)
    loss = getattr(lk, name)(reduction=reduction, **kwargs)
    out = loss(make(backend, y_true, dtype), make(backend, y_pred, dtype), sample_weight=sw)
    assert_result(out, backend, dtype, expected.shape)
    assert_close(out, expected, rtol=2e-6 if dtype == "float32" else 1e-10)


@pytest.mark.parametrize(
    "name",
    [
        "mean_squared_error",
        "mean_absolute_percentage_error",
        "huber",
        "kl_divergence",
        "hinge",
        "categorical_crossentropy",
        "binary_focal_crossentropy",
        "sparse_categorical_crossentropy",
        "dice",
        "tversky",
    ],
)
def test_functions_match_keras(name):
    cls = {
        "mean_squared_error": "MeanSquaredError",
        "mean_absolute_percentage_error": "MeanAbsolutePercentageError",
        "huber": "Huber",
        "kl_divergence": "KLDivergence",
        "hinge": "Hinge",
        "categorical_crossentropy": "CategoricalCrossentropy",
        "binary_focal_crossentropy": "BinaryFocalCrossentropy",
        "sparse_categorical_crossentropy": "SparseCategoricalCrossentropy",
        "dice": "Dice",
        "tversky": "Tversky",
    }[name]
    y_true, y_pred, kwargs, _ = CASES[cls]
    if name == "sparse_categorical_crossentropy":
        y_true = np.abs(y_true)
        kwargs = {"from_logits": True}
    kw = dict(kwargs)
    if name == "tversky":
        kw["alpha"], kw["beta"] = kw["beta"], kw["alpha"]
    expected = getattr(keras.losses, name)(y_true, y_pred, **kw)
    assert_close(getattr(lk, name)(y_true, y_pred, **kwargs), np.asarray(expected), rtol=1e-10)


def test_reductions_and_sample_weights_by_hand():
    # Reference section 3.3/3.4: squared errors [[.25, 0, 4], [1, 1, 0]], row means 1.41667 and
    # 0.66667; sum_over_batch_size = 2.08333 / 2; sum = 2.08333; weights [1, 3]:
    # (1.41667 + 3 * 0.66667) / 2 = 1.70833, / (1 + 3) = 0.85417.
    y = np.array([[0.0, 1, 2], [1, 1, 1]])
    p = np.array([[0.5, 1, 4], [0, 2, 1]])
    assert_close(lk.MeanSquaredError()(y, p), 1.0416666667, 1e-9)
    assert_close(lk.MeanSquaredError(reduction="mean")(y, p), 1.0416666667, 1e-9)
    assert_close(lk.MeanSquaredError(reduction="sum")(y, p), 2.0833333333, 1e-9)
    assert_close(lk.MeanSquaredError(reduction=None)(y, p), [1.4166666667, 0.6666666667], 1e-9)
    assert_close(lk.MeanSquaredError(reduction="none")(y, p), [1.4166666667, 0.6666666667], 1e-9)
    assert_close(lk.MeanSquaredError()(y, p, sample_weight=[1, 3]), 1.7083333333, 1e-9)
    mws = lk.MeanSquaredError(reduction="mean_with_sample_weight")
    assert_close(mws(y, p, sample_weight=[1, 3]), 0.8541666667, 1e-9)
    assert_close(mws(y, p), 1.0416666667, 1e-9)  # no weights: the element count
    assert_close(lk.MeanSquaredError()(y, p, sample_weight=[[1], [3]]), 1.7083333333, 1e-9)


def test_edge_cases_by_hand():
    # BCE float32 asymmetric clip (reference section 3.1): -log(1e-7) = 16.118,
    # -log(1 - float32(1 - 1e-7)) = -log(1.19e-7) = 15.942, -log(.3) = 1.204.
    y = np.array([1.0, 0, 1, 1])
    p = np.array([0.0, 1, 1e-9, 0.3])
    bce = lk.BinaryCrossentropy(reduction=None)
    out = to_numpy(lk.binary_crossentropy(y[:, None].astype("f4"), p[:, None].astype("f4")))
    np.testing.assert_allclose(out, [16.118095, 15.942385, 16.118095, 1.2039728], rtol=1e-6)
    assert_close(
        lk.binary_crossentropy(y[:, None], p[:, None]),
        [16.118095651, 16.118095551, 16.118095651, 1.203972804],
        1e-8,
    )
    # 1-D inputs: the only axis is the feature axis -> one number, returned unreduced.
    assert to_numpy(bce(y, p)).shape == ()
    # (N,) against (N, 1): aligned, not broadcast to (N, N): |[1,2,3] - [1,2,4]| squared mean 1/3.
    assert_close(
        lk.MeanSquaredError()(np.array([1.0, 2, 3]), np.array([[1.0], [2], [4]])), 1 / 3, 1e-12
    )
    # Hinge (section 3.9): scores [.3, -.5, 2], labels [0, 1, 1] -> [-1, 1, 1]:
    # (1.3 + 1.5 + 0) / 3 = 0.9333; mixed labels [0, 1, .5]: (1 + 1.5 + 0) / 3 = 0.8333.
    s = np.array([0.3, -0.5, 2.0])
    assert_close(lk.hinge(np.array([0.0, 1, 1]), s), 0.9333333333, 1e-9)
    assert_close(lk.hinge(np.array([0.0, 1, 0.5]), s), 0.8333333333, 1e-9)
    # Tversky, TP = 1, FP = 2, FN = 0, alpha = .9 (false positives): 1 - 1 / (1 + 1.8) = 0.642857.
    t = np.array([1.0, 0, 0])
    assert_close(lk.tversky(t, np.ones(3), alpha=0.9, beta=0.1), 1 - 1 / (2.8 + 1e-7), 1e-12)
    # Dice, p = [.9, .8, .2, .1], t = [1, 1, 0, 0]: 1 - 3.4 / (2 + 2 + 1e-7) = 0.1500000212.
    assert_close(
        lk.dice(np.array([1.0, 1, 0, 0]), np.array([0.9, 0.8, 0.2, 0.1])), 0.15000002125, 1e-9
    )
    # Every target ignored: Keras's masked mean divides 0 by 0 valid items -> 0.0 (torch: NaN).
    out = lk.SparseCategoricalCrossentropy(ignore_class=-1)(
        np.full(3, -1), R.uniform(0.1, 1, (3, 4))
    )
    assert float(to_numpy(out)) == 0.0
    # Zero vector: Keras's normalisation caps 1/|x| at 1e7, so the loss is -0.0 (optax: NaN).
    out = lk.cosine_similarity(np.zeros(2), np.array([1.0, 1.0]))
    assert float(to_numpy(out)) == 0.0
    assert_close(lk.cosine_similarity(np.array([1.0, 0]), np.array([1.0, 1])), -0.7071067812, 1e-9)
    # KL (section 3.5) and the empty batch: Keras returns the empty per-sample array unreduced.
    assert to_numpy(lk.MeanSquaredError()(np.zeros((0, 3)), np.zeros((0, 3)))).shape == (0,)


def test_binary_focal_from_logits_follows_tensorflow_backend():
    # Section 3.14: logits [100, -100, 20, .5], y [0, 1, 0, 1]: TF [100, 100, 20, 0.0676]. With
    # (1 - p_t)^2 = 1 for the first three (p_t ~ 0), and the last: p = sigmoid(.5) = .622459,
    # (1 - .622459)^2 * softplus(-.5) = .142537 * .474077 = .0675735.
    z = np.array([[100.0], [-100.0], [20.0], [0.5]])
    y = np.array([[0.0], [1.0], [0.0], [1.0]])
    out = lk.BinaryFocalCrossentropy(from_logits=True, reduction=None)(y, z)
    assert_close(out, [100.0, 100.0, 20.0, 0.0675735], 1e-5)
    expected = keras.losses.BinaryFocalCrossentropy(
        from_logits=True, reduction=None, dtype="float64"
    )(y, z)
    assert_close(out, np.asarray(expected), 1e-10)


def test_categorical_focal_plain_formula():
    """-alpha (1 - p)^gamma y log p with p renormalised and clipped, written in NumPy."""
    y = _onehot(5, 3)
    q = R.uniform(0.0, 1.0, (5, 3))
    q[0] = [0.0, 1.0, 0.0]
    p = np.clip(q / q.sum(-1, keepdims=True), 1e-7, 1 - 1e-7)
    expected = np.sum(-0.4 * (1 - p) ** 3.0 * y * np.log(p), axis=-1)
    out = lk.categorical_focal_crossentropy(y, q, alpha=0.4, gamma=3.0)
    assert_close(out, expected, 1e-12)


# issue 18 item 5: Keras 3.15.1 smooths with s / y_true.shape[-1] whatever ``axis`` is (fixed
# after 3.15.1, keras PR 23437); the dialect gives 3.15.1's numbers. Own generator: R's stream
# feeds the module's other inputs.
_R5 = np.random.default_rng(23437)
_AX1_TRUE = np.moveaxis(_R5.dirichlet(np.ones(3), (2, 4)), -1, 1)  # (2, 3, 4), classes on axis 1
_AX1_PRED = np.moveaxis(_R5.dirichlet(np.ones(3), (2, 4)), -1, 1)


@pytest.mark.parametrize("from_logits", [False, True])
def test_label_smoothing_on_axis_1_follows_keras_3_15_1(backend, from_logits):
    t, p = _AX1_TRUE, np.log(_AX1_PRED) if from_logits else _AX1_PRED
    kw = dict(from_logits=from_logits, label_smoothing=0.2, axis=1)
    expected = np.asarray(keras.losses.categorical_crossentropy(t, p, **kw))
    q = _AX1_PRED / _AX1_PRED.sum(1, keepdims=True)
    smoothed = lambda c: -np.sum((t * 0.8 + 0.2 / c) * np.log(q), axis=1)  # noqa: E731
    np.testing.assert_allclose(expected, smoothed(4), rtol=1e-10)  # 3.15.1: C = shape[-1]
    assert not np.allclose(expected, smoothed(3), rtol=1e-3)  # the fix: C = shape[axis]
    tb, pb = make(backend, t, "float64"), make(backend, p, "float64")
    assert_close(lk.categorical_crossentropy(tb, pb, **kw), expected, 1e-10)
    cls = keras.losses.CategoricalCrossentropy(dtype="float64", **kw)(t, p)
    assert_close(lk.CategoricalCrossentropy(**kw)(tb, pb), np.asarray(cls), 1e-10)
    focal = keras.losses.categorical_focal_crossentropy(t, p, **kw)
    assert_close(lk.categorical_focal_crossentropy(tb, pb, **kw), np.asarray(focal), 1e-10)
    focal_cls = keras.losses.CategoricalFocalCrossentropy(dtype="float64", **kw)(t, p)
    assert_close(lk.CategoricalFocalCrossentropy(**kw)(tb, pb), np.asarray(focal_cls), 1e-10)


def test_log_cosh_float64_subtracts_keras_float32_log2(backend):
    """issue 18 item 6: Keras's log_cosh subtracts log 2 computed in float32 (1.9e-9 above log 2
    at float64); the dialect gives Keras's float64 numbers. Keras's own formula,
    x + softplus(-2x) - c, loses a few ulps of log 2 to cancellation: 1e-12 relative holds for
    losses above 1e-3, and the 1.9e-9 shift would fail it."""
    t = np.random.default_rng(6).standard_normal((6, 4))
    p = t + np.random.default_rng(66).uniform(0.2, 3.0, (6, 4))
    expected = np.asarray(keras.losses.log_cosh(t, p))
    assert expected.dtype == np.float64 and expected.min() > 1e-3
    out = lk.log_cosh(make(backend, t, "float64"), make(backend, p, "float64"))
    assert_close(out, expected, 1e-12)


def test_gradient_against_finite_difference(ad_backend):
    y = _bits((4, 3))
    p = R.uniform(0.1, 0.9, (4, 3))

    def f(t, x):
        return lk.BinaryCrossentropy(label_smoothing=0.2)(t, x, sample_weight=np.arange(1.0, 5.0))

    grad = backend_grad(ad_backend, f, [y, p], 1)
    ys = y * 0.8 + 0.1

    def ref(x):  # float64 NumPy formula of the same loss
        per = -np.mean(ys * np.log(x) + (1 - ys) * np.log(1 - x), axis=-1)
        return np.sum(per * np.arange(1.0, 5.0)) / 4

    fd = np.zeros_like(p)
    for i in np.ndindex(p.shape):
        e = np.zeros_like(p)
        e[i] = 1e-6
        fd[i] = (ref(p + e) - ref(p - e)) / 2e-6
    np.testing.assert_allclose(grad, fd, rtol=1e-6)


def test_hinge_label_conversion_under_jit():
    jax = pytest.importorskip("jax")
    s = np.array([0.3, -0.5, 2.0])
    f = jax.jit(lambda y, x: lk.hinge(y, x))
    assert_close(f(np.array([0.0, 1, 1]), s), 0.9333333333, 1e-9)
    assert_close(f(np.array([0.0, 1, 0.5]), s), 0.8333333333, 1e-9)


def test_dtype_rule():
    y = np.array([[0.0, 1.0]])
    p = np.array([[1e-9, 1.0]])
    out = lk.MeanSquaredError()(y, p)
    assert out.dtype == np.float64 and float(out) == pytest.approx(5e-19, rel=1e-9)
    assert lk.MeanSquaredError(dtype="float32")(y, p).dtype == np.float32
    assert lk.MeanSquaredError()(y.astype("f4"), p.astype("f4")).dtype == np.float32


def test_bad_arguments_name_the_argument():
    with pytest.raises(ValueError, match="reduction"):
        lk.MeanSquaredError(reduction="batchmean")
    with pytest.raises(ValueError, match="dtype"):
        lk.Huber(dtype="int32")
    with pytest.raises(TypeError, match="from_logits"):
        lk.BinaryCrossentropy(from_logits="yes")
    with pytest.raises(ValueError, match="axis"):
        lk.categorical_crossentropy(np.eye(2), np.eye(2), axis=True)
    with pytest.raises(ValueError, match="q must be in"):
        lk.CategoricalGeneralizedCrossEntropy(q=1.5)
    with pytest.raises(TypeError, match="ignore_class"):
        lk.SparseCategoricalCrossentropy(ignore_class=0.5)
    with pytest.raises(ValueError, match="y_true"):
        lk.binary_crossentropy(np.ones((2, 3)), np.ones((2, 4)) / 2)
    with pytest.raises(ValueError, match="sample_weight"):
        lk.MeanSquaredError()(np.ones((4, 3)), np.ones((4, 3)), sample_weight=np.ones(5))
    with pytest.raises(ValueError, match="y_true"):
        lk.ctc(np.ones((2, 3, 1), dtype=int), np.ones((2, 4, 3)))
    with pytest.raises(TypeError, match="unexpected keyword"):
        lk.Dice(alpha=1.0)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), np.float32("nan")])
def test_non_finite_hyperparameters_are_refused(bad):
    """A nan or infinite number hyperparameter is a ValueError naming the loss and the argument
    (Keras computes with it and returns nan); an array one is the caller's to check."""
    y, p = _bits((4, 3)), R.uniform(0.05, 0.95, (4, 3))
    with pytest.raises(ValueError, match=r"^huber: delta must be finite; got"):
        lk.huber(y, p, delta=bad)
    with pytest.raises(ValueError, match=r"^Huber: delta must be finite; got"):
        lk.Huber(delta=bad)
    with pytest.raises(ValueError, match=r"^BinaryCrossentropy: label_smoothing must be finite"):
        lk.BinaryCrossentropy(label_smoothing=bad)
    with pytest.raises(ValueError, match=r"^categorical_crossentropy: label_smoothing must be fin"):
        lk.categorical_crossentropy(np.eye(3), np.eye(3) * 0.8 + 0.1, label_smoothing=bad)
    with pytest.raises(ValueError, match=r"^Tversky: beta must be finite"):
        lk.Tversky(beta=bad)
    with pytest.raises(ValueError, match=r"^CategoricalGeneralizedCrossEntropy: q must be in"):
        lk.CategoricalGeneralizedCrossEntropy(q=bad)


def test_classes_document_the_shared_parameters():
    """Each class's docstring has its own parameters, then the ``reduction``, ``name`` and
    ``dtype`` text every class shares (one constant in the module) and the Returns section."""
    for name in CASES:
        doc = inspect.getdoc(getattr(lk, name))
        params = doc[doc.index("Parameters\n") : doc.index("Examples\n")]
        assert "reduction : {'sum_over_batch_size', 'sum', 'mean'" in params, name
        assert "\nname : str" in params and "\ndtype : str, keras.DTypePolicy" in params, name
        assert "Returns\n-------" in params, name
        assert "As every Keras loss" not in doc, name
        own = [p.name for p in inspect.signature(getattr(lk, name)).parameters.values()]
        for p in own:
            assert f"\n{p} : " in params, (name, p)


def test_config_round_trip_get_and_pickle():
    for name in sorted(CASES):
        loss = getattr(lk, name)(reduction="sum", name="x", **CASES[name][2])
        config = loss.get_config()
        again = type(loss).from_config(config)
        assert again.get_config() == config
        assert lk.deserialize(lk.serialize(loss)).get_config() == config
        assert pickle.loads(pickle.dumps(loss)).get_config() == config
        # Keras's own config is a subset (Keras drops CosineSimilarity's and the sparse CCE's
        # axis; lossbridge keeps them so the round trip is exact).
        keras_config = getattr(keras.losses, name)(
            reduction="sum", name="x", **CASES[name][2]
        ).get_config()
        assert {k: v for k, v in keras_config.items() if k != "dtype"}.items() <= config.items()
    assert lk.get("mse") is lk.mean_squared_error
    assert isinstance(lk.get("CategoricalCrossentropy"), lk.CategoricalCrossentropy)
    assert lk.get({"class_name": "Huber", "config": {"delta": 2.0}}).delta == 2.0
    with pytest.raises(ValueError, match="identifier"):
        lk.get("no_such_loss")


def test_import_loads_no_framework():
    code = (
        "import sys, lossbridge.keras\n"
        "bad = [m for m in ('torch', 'tensorflow', 'jax', 'keras', 'numpy') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_model_compile_matches_keras_classes():
    """``model.compile(loss=ours)`` trains with the same loss values as Keras's own class, with
    and without sample weights (Keras calls our instance, a ``keras.losses.Loss``, directly)."""
    assert isinstance(lk.MeanSquaredError(), keras.losses.Loss)
    r = np.random.default_rng(0)
    x = r.standard_normal((16, 4)).astype("float32")
    y = np.eye(3)[r.integers(0, 3, 16)].astype("float32")
    w = r.uniform(0.2, 2.0, 16).astype("float32")

    def fit(loss, sample_weight, activation):
        keras.utils.set_random_seed(0)
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation=activation)])
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
        hist = model.fit(
            x, y, sample_weight=sample_weight, batch_size=8, epochs=2, verbose=0, shuffle=False
        )
        return hist.history["loss"]

    for sample_weight in (None, w):
        theirs = fit(keras.losses.CategoricalCrossentropy(from_logits=True), sample_weight, None)
        ours = fit(lk.CategoricalCrossentropy(from_logits=True), sample_weight, None)
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)
        theirs = fit(keras.losses.MeanSquaredError(reduction="sum"), sample_weight, "sigmoid")
        ours = fit(lk.MeanSquaredError(reduction="sum"), sample_weight, "sigmoid")
        np.testing.assert_allclose(ours, theirs, rtol=1e-6)


# ------------------------------------------------------------------------------------------
# Precision: Keras's dtype semantics (Loss.dtype, floatx, policies) and half compute dtypes
# ------------------------------------------------------------------------------------------
#
# Expected dtypes are Keras's own (``keras.losses.<Class>(dtype=...)`` called on the same
# NumPy arrays). Expected values: Keras in float64 on the inputs rounded to the compute dtype
# (``dtype='float64'`` on float64 copies of the rounded numbers). Rule for half results: ours
# no further from that float64 value than Keras's own half result, or within 1 ulp (ours
# computes in float32 and rounds once, so about 0.5 ulp; Keras computes every step in half).
# float32 results: within max(Keras's distance, 8 ulp): a log-softmax and a mean of 16 rows,
# about ten float32 roundings.

HALF_BACKENDS = [b for b in ("numpy", "torch", "jax", "tensorflow") if importlib.util.find_spec(b)]
_NH, _CH = 16, 10
_RH = np.random.default_rng(3)
_PH = _RH.uniform(0.05, 0.95, (_NH, _CH))
HALF_CASES = {
    "SparseCategoricalCrossentropy": (
        _RH.integers(0, _CH, _NH),
        2 * _RH.standard_normal((_NH, _CH)),
        {"from_logits": True},
    ),
    "CategoricalCrossentropy": (
        np.eye(_CH)[_RH.integers(0, _CH, _NH)],
        _RH.dirichlet(np.ones(_CH), _NH),
        {"label_smoothing": 0.1},
    ),
    "BinaryCrossentropy": (_RH.integers(0, 2, (_NH, _CH)).astype(float), _PH, {}),
    "MeanSquaredError": (_RH.standard_normal((_NH, _CH)), _RH.standard_normal((_NH, _CH)), {}),
    "MeanAbsoluteError": (_RH.standard_normal((_NH, _CH)), _RH.standard_normal((_NH, _CH)), {}),
    "Huber": (2 * _RH.standard_normal((_NH, _CH)), _RH.standard_normal((_NH, _CH)), {}),
    "KLDivergence": (_RH.dirichlet(np.ones(_CH), _NH), _RH.dirichlet(np.ones(_CH), _NH), {}),
    "Poisson": (_RH.poisson(2.0, (_NH, _CH)).astype(float), 3 * _PH, {}),
    "LogCosh": (_RH.standard_normal((_NH, _CH)), _RH.standard_normal((_NH, _CH)), {}),
    "BinaryFocalCrossentropy": (_RH.integers(0, 2, (_NH, _CH)).astype(float), _PH, {}),
    "CategoricalFocalCrossentropy": (
        np.eye(_CH)[_RH.integers(0, _CH, _NH)],
        _RH.dirichlet(np.ones(_CH), _NH),
        {},
    ),
    "Dice": (_RH.integers(0, 2, (_NH, _CH)).astype(float), _PH, {}),
}
# (input dtype, class dtype argument, compute dtype)
HALF_MODES = [
    ("float16", None, "float32"),
    ("bfloat16", None, "float32"),
    ("float32", "bfloat16", "bfloat16"),
    ("float16", "mixed_float16", "float16"),
]


def _name(x):
    d = x.dtype
    return (getattr(d, "name", None) or str(d)).replace("torch.", "")


def _f64(x):
    if type(x).__module__.startswith("torch"):
        return x.detach().float().numpy().astype(np.float64)
    if type(x).__module__.startswith("tensorflow"):
        import tensorflow as tf

        return tf.cast(x, tf.float64).numpy()
    return np.asarray(x).astype(np.float64)


def _ulps_bound(dtype):
    return 1.0 if dtype in ("float16", "bfloat16") else 8.0


@pytest.mark.parametrize("mode", HALF_MODES, ids=lambda m: f"{m[0]}-{m[1]}")
@pytest.mark.parametrize("name", sorted(HALF_CASES))
def test_half_dtype_and_value_against_keras(name, mode):
    """Keras's result dtype for half inputs and half compute dtypes, on every backend; the value
    no further from float64 than Keras's own (or within 1 ulp; float32: 8 ulp)."""
    in_dt, dtype, compute = mode
    y_true, y_pred, kw = HALF_CASES[name]
    weights = np.linspace(0.3, 1.7, _NH)
    yt = round_to(round_to(y_true, in_dt), compute) if y_true.dtype.kind == "f" else y_true
    yp = round_to(round_to(y_pred, in_dt), compute)
    w = round_to(weights, compute)
    want = _f64(getattr(keras.losses, name)(dtype="float64", **kw)(yt, yp, sample_weight=w))
    k_true = (
        y_true.astype(np.float32).astype(np_dtype(in_dt)) if y_true.dtype.kind == "f" else y_true
    )
    k_pred = y_pred.astype(np.float32).astype(np_dtype(in_dt))
    theirs = getattr(keras.losses, name)(dtype=dtype, **kw)(
        k_true, k_pred, sample_weight=weights.astype(np.float32)
    )
    assert _name(theirs) == compute
    bound = max(ulps(_f64(theirs), want, compute), _ulps_bound(compute))
    loss = getattr(lk, name)(dtype=dtype, **kw)
    assert loss.dtype == compute == theirs.dtype.name
    for backend in HALF_BACKENDS:
        out = loss(
            backend_array(backend, y_true, in_dt),
            backend_array(backend, y_pred, in_dt),
            sample_weight=backend_array(backend, weights, "float32"),
        )
        assert _name(out) == compute, backend
        err = ulps(_f64(out), want, compute)
        assert err <= bound, f"{backend}: {err:.3g} ulp of {compute} from float64 (bound {bound})"


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize(
    "fn, make_args",
    [
        ("mean_squared_error", lambda: (_RH.standard_normal((6, 5)), _RH.standard_normal((6, 5)))),
        ("binary_crossentropy", lambda: (_RH.integers(0, 2, (6, 5)) * 1.0, _PH[:6, :5])),
        ("categorical_crossentropy", lambda: (np.eye(5)[[0, 3, 1, 4, 2, 2]], _PH[:6, :5])),
        ("huber", lambda: (2 * _RH.standard_normal((6, 5)), _RH.standard_normal((6, 5)))),
        ("kl_divergence", lambda: (_RH.dirichlet(np.ones(5), 6), _RH.dirichlet(np.ones(5), 6))),
    ],
)
def test_half_functions_keep_the_input_dtype(fn, make_args, dtype):
    """Keras's functions keep y_pred's dtype: half in, the same half out (per sample), each
    value no further from float64 than Keras's or within 1 ulp."""
    y_true, y_pred = make_args()
    yt, yp = round_to(y_true, dtype), round_to(y_pred, dtype)
    want = _f64(getattr(keras.losses, fn)(yt, yp))
    theirs = getattr(keras.losses, fn)(
        y_true.astype(np.float32).astype(np_dtype(dtype)),
        y_pred.astype(np.float32).astype(np_dtype(dtype)),
    )
    assert _name(theirs) == dtype
    bound = max(ulps(_f64(theirs), want, dtype), 1.0)
    for backend in HALF_BACKENDS:
        out = getattr(lk, fn)(
            backend_array(backend, y_true, dtype), backend_array(backend, y_pred, dtype)
        )
        assert _name(out) == dtype, backend
        assert ulps(_f64(out), want, dtype) <= bound, backend


def test_issue_example_sparse_cce_float16_logits_give_float32():
    """Issue 14: float16 logits give Keras's float32 loss (it returned float16 before)."""
    logits = np.array(
        [[2.5, -1.0, 0.3, 4.1], [0.1, 4.0, -2.0, 1.7], [-3.2, 0.7, 2.2, -0.4]], np.float16
    )
    labels = np.array([3, 0, 1])
    theirs = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(labels, logits)
    assert theirs.dtype.name == "float32"
    for backend in HALF_BACKENDS:
        out = lk.SparseCategoricalCrossentropy(from_logits=True)(
            backend_array(backend, labels, None), backend_array(backend, logits, "float16")
        )
        assert _name(out) == "float32"
        assert_close(out, _f64(theirs), rtol=2e-6)


def test_dtype_arguments_and_policies():
    """``dtype`` as Keras reads it: names, mixed policy names, DTypePolicy objects, dtype
    objects; ``Loss.dtype`` is the compute dtype's name; bfloat16 on NumPy is ml_dtypes'."""
    import ml_dtypes

    y, p = np.array([1.0, 0.0, 2.0], "f4"), np.array([0.3, 0.2, 1.1], "f4")
    for arg, compute in [
        (None, "float32"),
        ("float32", "float32"),
        ("float64", "float64"),
        ("bfloat16", "bfloat16"),
        ("float16", "float16"),
        ("mixed_float16", "float16"),
        ("mixed_bfloat16", "bfloat16"),
        (keras.DTypePolicy("mixed_bfloat16"), "bfloat16"),
        (keras.DTypePolicy("float16"), "float16"),
        (np.float16, "float16"),
        (ml_dtypes.bfloat16, "bfloat16"),
    ]:
        ours = lk.MeanSquaredError(dtype=arg)
        theirs = keras.losses.MeanSquaredError(dtype=arg) if not isinstance(arg, type) else None
        assert ours.dtype == compute
        if theirs is not None:
            assert theirs.dtype == compute
        out = ours(y, p)
        assert np.asarray(out).dtype == np_dtype(compute), arg
        want = np.mean((round_to(y, compute) - round_to(p, compute)) ** 2)
        assert ulps(_f64(out), want, compute) <= 1.0, arg
        if theirs is not None:
            assert theirs(y, p).dtype.name == compute
    # float64 predictions stay float64 with dtype=None (the one departure from Keras's floatx)
    y, p = y.astype("f8"), p.astype("f8")
    assert lk.MeanSquaredError()(y, p).dtype == np.float64
    assert keras.losses.MeanSquaredError()(y, p).dtype.name == "float32"
    assert lk.MeanSquaredError()(y.astype("f2"), p.astype("f2")).dtype == np.float32
    assert lk.MeanSquaredError()(list(y), list(p)).dtype == np.float32
    with pytest.raises(ValueError, match="dtype"):
        lk.MeanSquaredError(dtype="int8_from_float32")
    strict = pytest.importorskip("array_api_strict")
    with pytest.raises(TypeError, match="bfloat16"):
        lk.MeanSquaredError(dtype="bfloat16")(strict.asarray(y), strict.asarray(p))


def test_floatx_is_read_at_construction():
    """``keras.config.floatx()`` decides ``dtype=None`` when the loss is made (as Keras's
    ``Loss.__init__``); float64 predictions keep float64."""
    y, p = np.array([1.0, 0.0, 2.0], "f4"), np.array([0.3, 0.2, 1.1], "f4")
    old = keras.config.floatx()
    try:
        keras.config.set_floatx("float16")
        ours, theirs = lk.MeanSquaredError(), keras.losses.MeanSquaredError()
    finally:
        keras.config.set_floatx(old)
    assert ours.dtype == theirs.dtype == "float16"
    out = ours(y, p)
    assert out.dtype == np.float16 and theirs(y, p).dtype.name == "float16"
    want = np.mean((round_to(y, "float16") - round_to(p, "float16")) ** 2)
    assert ulps(_f64(out), want, "float16") <= 1.0
    assert ours(y.astype("f8"), p.astype("f8")).dtype == np.float64
    assert lk.MeanSquaredError().dtype == "float32"


def test_floatx_without_keras_is_float32():
    code = (
        "import sys, numpy as np, lossbridge.keras as lk\n"
        "loss = lk.SparseCategoricalCrossentropy(from_logits=True)\n"
        "out = loss(np.array([1]), np.array([[0.5, 1.5]], np.float16))\n"
        "assert loss.dtype == 'float32' and out.dtype == np.float32, (loss.dtype, out.dtype)\n"
        "assert 'keras' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_dtype_config_round_trip():
    """The dtype (or policy) name is in the config and comes back, also through pickle."""
    for arg, name in [
        ("bfloat16", "bfloat16"),
        ("mixed_float16", "mixed_float16"),
        (keras.DTypePolicy("mixed_bfloat16"), "mixed_bfloat16"),
    ]:
        loss = lk.CategoricalCrossentropy(from_logits=True, dtype=arg)
        config = loss.get_config()
        assert config["dtype"] == name
        for again in (
            lk.CategoricalCrossentropy.from_config(config),
            lk.deserialize(lk.serialize(loss)),
            pickle.loads(pickle.dumps(loss)),
        ):
            assert again.dtype == loss.dtype and again.get_config() == config
    assert "dtype" not in lk.Huber().get_config()


def test_half_clip_bounds_are_keras_half_bounds():
    """Keras clips at 1e-7 and 1 - 1e-7 held in the compute dtype: 1 - 1e-7 is 1.0 in both half
    dtypes, 1e-7 is 2**-23 (float16, subnormal) and 1.0012e-7 (bfloat16). Keras then takes
    log(0) at p = 1: its BCE is inf (y = 0) and NaN (y = 1); here the core's log clamp at -100
    gives 100 and 0. Expected values: float64 formulas on the half bounds, rounded."""
    y = np.array([0.0, 1.0, 0.0, 1.0])[:, None]
    p = np.array([0.0, 1.0, 1.0, 0.0])[:, None]
    for dtype in ("float16", "bfloat16"):
        lo = float(round_to(1e-7, dtype))
        assert float(round_to(1.0 - 1e-7, dtype)) == 1.0
        want = round_to([-np.log1p(-lo), 0.0, 100.0, -np.log(lo)], dtype)
        theirs = _f64(
            keras.losses.binary_crossentropy(y.astype(np_dtype(dtype)), p.astype(np_dtype(dtype)))
        )
        assert np.isnan(theirs[1]) and theirs[2] == np.inf
        assert theirs[3] == want[3]  # -log(1e-7 in the half dtype), as here
        for backend in HALF_BACKENDS:
            out = lk.binary_crossentropy(
                backend_array(backend, y, dtype), backend_array(backend, p, dtype)
            )
            assert _name(out) == dtype
            np.testing.assert_array_equal(_f64(out), want)
    # KL divergence of one-hot rows in float16: Keras's t / p overflows (1 / 2**-23 in half)
    t, q = np.array([[1.0, 0.0, 0.0]]), np.array([[0.0, 1.0, 0.0]])
    assert _f64(keras.losses.KLDivergence(dtype="float16")(t, q)) == np.inf
    want = round_to(-np.log(round_to(1e-7, "float16")), "float16")  # 15.945
    for backend in HALF_BACKENDS:
        out = lk.KLDivergence(dtype="float16")(
            backend_array(backend, t, "float32"), backend_array(backend, q, "float32")
        )
        assert _name(out) == "float16" and _f64(out) == want


def test_user_loss_sees_the_half_compute_dtype():
    """A subclass's ``call`` (and a wrapped function) gets arrays in the compute dtype, as in
    Keras; the reduction runs in float32 and the result is rounded once."""
    torch = pytest.importorskip("torch")
    seen = []

    class Mine(lk.Loss):
        def call(self, y_true, y_pred):
            seen.append((y_true.dtype, y_pred.dtype))
            return (y_true - y_pred) ** 2

    y, p = torch.tensor([[1.0, 0.0, 2.0]]), torch.tensor([[0.3, 0.2, 1.1]])
    out = Mine(dtype="mixed_bfloat16")(y, p)
    assert seen == [(torch.bfloat16, torch.bfloat16)] and out.dtype == torch.bfloat16
    yb, pb = round_to(y.numpy(), "bfloat16"), round_to(p.numpy(), "bfloat16")
    assert ulps(_f64(out), np.mean((yb - pb) ** 2), "bfloat16") <= 1.0
    wrapped = lk.LossFunctionWrapper(lk.mean_squared_error, dtype="float16")
    assert wrapped(y, p).dtype == torch.float16


# ------------------------------------------------------------------------------------------
# Tensor hyperparameters (issue 18, item 4): where Keras uses them as tensors
# ------------------------------------------------------------------------------------------
#
# Keras converts ``huber``'s delta with ``ops.convert_to_tensor(delta, dtype=y_pred.dtype)``
# and uses the focal alpha/gamma, tversky's alpha/beta, circle's gamma/margin and the
# generalized cross-entropy's q in tensor arithmetic: a 0-d tensor there works in Keras, so it
# does here (traced values included). Expected values: Keras 3.15.1 itself, called with the
# same tensor hyperparameters (TensorFlow backend, float64 inputs and tensors).

_RT = np.random.default_rng(418)
_TE = _RT.standard_normal((6, 3))
_TE /= np.linalg.norm(_TE, axis=1, keepdims=True)
# (id, function, y_true, y_pred, hyperparameters (tensors in the test), other kwargs)
TENSOR_CASES = [
    (
        "huber",
        "huber",
        _RT.standard_normal((4, 3)),
        2 * _RT.standard_normal((4, 3)),
        {"delta": 0.7},
        {},
    ),
    (
        "binary_focal",
        "binary_focal_crossentropy",
        _bits((4, 3)),
        _RT.uniform(0.05, 0.95, (4, 3)),
        {"alpha": 0.3, "gamma": 1.5},
        {"apply_class_balancing": True},
    ),
    (
        "binary_focal_logits",
        "binary_focal_crossentropy",
        _bits((4, 3)),
        2 * _RT.standard_normal((4, 3)),
        {"alpha": 0.3, "gamma": 1.5},
        {"apply_class_balancing": True, "from_logits": True},
    ),
    (
        "categorical_focal",
        "categorical_focal_crossentropy",
        _onehot(4, 3),
        _RT.standard_normal((4, 3)),
        {"alpha": 0.3, "gamma": 1.5},
        {"from_logits": True},
    ),
    (
        "tversky",
        "tversky",
        _bits((4, 3)),
        _RT.uniform(0.05, 0.95, (4, 3)),
        {"alpha": 0.8, "beta": 0.3},
        {"axis": -1},
    ),
    ("circle", "circle", np.array([0, 1, 0, 1, 2, 2]), _TE, {"gamma": 20.0, "margin": 0.3}, {}),
    (
        "gce",
        "categorical_generalized_cross_entropy",
        np.array([0, 2, 1, 1]),
        _RT.dirichlet(np.ones(3), 4),
        {"q": 0.4},
        {},
    ),
]
TENSOR_IDS = [c[0] for c in TENSOR_CASES]


def _keras_hyper(name, y_true, y_pred, hypers, kwargs):
    import tensorflow as tf

    kw = {k: tf.constant(v, tf.float64) for k, v in hypers.items()}
    if name == "tversky":  # Keras 3.15.1 weights false negatives with alpha (PR #23333)
        kw["alpha"], kw["beta"] = kw["beta"], kw["alpha"]
    return np.asarray(getattr(keras.losses, name)(y_true, y_pred, **kw, **kwargs), np.float64)


@pytest.mark.parametrize("case", TENSOR_CASES, ids=TENSOR_IDS)
def test_tensor_hyperparameters_match_keras(backend, case):
    """0-d arrays of each backend (NumPy 0-d arrays for NumPy) give Keras's numbers with the
    same tensors, float64 staying float64 (all raised TypeError)."""
    _, name, y_true, y_pred, hypers, kwargs = case
    expected = _keras_hyper(name, y_true, y_pred, hypers, kwargs)
    conv = {k: make(backend, np.float64(v), "float64") for k, v in hypers.items()}
    out = getattr(lk, name)(
        make(backend, y_true, None if y_true.dtype.kind == "i" else "float64"),
        make(backend, y_pred, "float64"),
        **conv,
        **kwargs,
    )
    assert_result(out, backend, "float64", expected.shape)
    assert_close(out, expected, rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("case", TENSOR_CASES, ids=TENSOR_IDS)
def test_traced_hyperparameters_match_keras(case):
    """``jax.jit`` with the hyperparameters as arguments, ``tf.function`` with symbolic tensors
    and the classes given ``tf.Variable`` hyperparameters give Keras's numbers."""
    jax = pytest.importorskip("jax")
    tf = pytest.importorskip("tensorflow")
    _, name, y_true, y_pred, hypers, kwargs = case
    expected = _keras_hyper(name, y_true, y_pred, hypers, kwargs)
    fn = getattr(lk, name)
    jitted = jax.jit(lambda t, p, h: fn(t, p, **h, **kwargs))(y_true, y_pred, hypers)
    assert_close(jitted, expected, rtol=1e-10, atol=1e-13)
    traced = tf.function(lambda t, p, h: fn(t, p, **h, **kwargs))
    got = traced(
        tf.constant(y_true),
        tf.constant(y_pred),
        {k: tf.constant(v, tf.float64) for k, v in hypers.items()},
    )
    assert_close(got, expected, rtol=1e-10, atol=1e-13)


def test_tensor_hyperparameter_gradients_match_keras():
    """``GradientTape`` w.r.t. a ``tf.Variable`` delta (and a focal gamma) equals Keras's own
    gradient on the same tape; ``jax.grad`` and torch autograd give the same number."""
    tf = pytest.importorskip("tensorflow")
    jax = pytest.importorskip("jax")
    torch = pytest.importorskip("torch")
    for label in ("huber", "binary_focal_logits", "categorical_focal", "tversky", "gce"):
        _, name, y_true, y_pred, hypers, kwargs = TENSOR_CASES[TENSOR_IDS.index(label)]
        key = next(iter(hypers))
        rest = {k: v for k, v in hypers.items() if k != key}
        if name == "tversky":
            rest = {"beta": hypers["beta"]}

        def keras_loss(
            h, key=key, name=name, rest=rest, kwargs=kwargs, y_true=y_true, y_pred=y_pred
        ):
            kw = {key: h, **rest}
            if name == "tversky":
                kw = {"alpha": kw["beta"], "beta": kw["alpha"]}
            return tf.reduce_sum(getattr(keras.losses, name)(y_true, y_pred, **kw, **kwargs))

        var = tf.Variable(hypers[key], dtype=tf.float64)
        with tf.GradientTape() as tape:
            theirs = keras_loss(var)
        expected = float(tape.gradient(theirs, var))
        assert np.isfinite(expected) and expected != 0.0
        fn = getattr(lk, name)
        var = tf.Variable(hypers[key], dtype=tf.float64)
        tt, tp = tf.constant(y_true), tf.constant(y_pred)
        with tf.GradientTape() as tape:
            ours = tf.reduce_sum(fn(tt, tp, **{key: var}, **rest, **kwargs))
        np.testing.assert_allclose(float(tape.gradient(ours, var)), expected, rtol=1e-9)
        assert_close(ours, float(theirs), rtol=1e-10)
        jt, jp = jax.numpy.asarray(y_true), jax.numpy.asarray(y_pred)

        def summed(h, fn=fn, jt=jt, jp=jp, key=key, rest=rest, kwargs=kwargs):
            return fn(jt, jp, **{key: h}, **rest, **kwargs).sum()

        g = jax.grad(summed)(jax.numpy.float64(hypers[key]))
        np.testing.assert_allclose(float(g), expected, rtol=1e-9)
        h = torch.tensor(hypers[key], dtype=torch.float64, requires_grad=True)
        tt, tp = torch.from_numpy(y_true), torch.from_numpy(y_pred)
        fn(tt, tp, **{key: h}, **rest, **kwargs).sum().backward()
        np.testing.assert_allclose(float(h.grad), expected, rtol=1e-9)


def test_tensor_hyperparameters_in_classes_and_compute_dtype():
    """The classes take them too (Keras's classes pass them to the function); an array is
    converted to the compute dtype as Keras's ``convert_to_tensor(delta, dtype=y_pred.dtype)``:
    a float64 tensor delta with float32 inputs gives float32, and float16 inputs give float16."""
    tf = pytest.importorskip("tensorflow")
    _, _, y_true, y_pred, hypers, _ = TENSOR_CASES[0]
    delta = tf.Variable(hypers["delta"], dtype=tf.float64)
    want = keras.losses.Huber(delta=delta, dtype="float32")(y_true, y_pred)
    got = lk.Huber(delta=delta)(tf.constant(y_true, tf.float32), tf.constant(y_pred, tf.float32))
    assert got.dtype == tf.float32 and want.dtype == tf.float32
    assert_close(got, float(want), rtol=2e-6)
    for dtype in ("float16", "bfloat16"):
        theirs = keras.losses.huber(
            tf.constant(y_true, dtype), tf.constant(y_pred, dtype), delta=delta
        )
        ours = lk.huber(tf.constant(y_true, dtype), tf.constant(y_pred, dtype), delta=delta)
        assert ours.dtype == theirs.dtype == getattr(tf, dtype)
        # ours computes in float32 and rounds once; Keras computes in the half dtype
        np.testing.assert_allclose(_f64(ours), _f64(theirs), rtol=2e-2)
    q = tf.constant(0.4, tf.float64)
    _, _, yt, yp, _, _ = TENSOR_CASES[TENSOR_IDS.index("gce")]
    want = keras.losses.CategoricalGeneralizedCrossEntropy(q=q, dtype="float64")(yt, yp)
    got = lk.CategoricalGeneralizedCrossEntropy(q=q)(tf.constant(yt), tf.constant(yp))
    assert_close(got, float(want), rtol=1e-10)


def test_tensor_hyperparameter_errors():
    tf = pytest.importorskip("tensorflow")
    y, p = _bits((4, 3)), _RT.uniform(0.05, 0.95, (4, 3))
    with pytest.raises(TypeError, match="huber: delta must be a real number or a 0-d array"):
        lk.huber(y, p, delta="1")
    with pytest.raises(TypeError, match="Huber: delta must be a real number or a 0-d array"):
        lk.Huber(delta=None)
    with pytest.raises(ValueError, match=r"huber: delta .* 0-d array; got an array of shape"):
        lk.huber(y, p, delta=np.ones(3))
    with pytest.raises(TypeError, match="tversky: alpha .* dtype bool"):
        lk.tversky(y, p, alpha=np.array(True))
    # Keras branches on label_smoothing (``if label_smoothing:``): it stays a number
    with pytest.raises(TypeError, match="label_smoothing must be a real number"):
        lk.binary_crossentropy(y, p, label_smoothing=tf.constant(0.1))
    # q in (0, 1): checked on a concrete value, not inside a trace
    yt, yp = np.array([0, 2, 1, 1]), _RT.dirichlet(np.ones(3), 4)
    with pytest.raises(ValueError, match=r"q must be in \(0, 1\); got 1.5"):
        lk.categorical_generalized_cross_entropy(yt, yp, q=tf.constant(1.5))
    with pytest.raises(ValueError, match=r"q must be in \(0, 1\)"):
        lk.CategoricalGeneralizedCrossEntropy(q=tf.Variable(0.0))
    yt, yp = tf.constant(yt), tf.constant(yp)
    f = tf.function(lambda q: lk.categorical_generalized_cross_entropy(yt, yp, q=q))
    assert np.all(np.isfinite(f(tf.constant(1.5, tf.float64)).numpy()))
