"""Tests of ``lossbridge.tfa``, the TensorFlow Addons 0.23 dialect (the non-mining losses).

Expected values come from TF Addons 0.23 itself: its loss modules, vendored unchanged under
``tests/vendor/tfa/`` and executed on TensorFlow 2.21 with import shims only
(:func:`lossbridge.conformance.extra_tfa.tfa_module`), values and gradients (TensorFlow's
autodiff through TFA's code) in float64; from plain float64 formulas written here; and from
the numbers printed in TFA's own docstrings. The conformance matrix (``tfa.<ClassName>``)
covers every backend, dtype and compiled mode.

Tolerances: float64 comparisons with TFA use ``rtol=1e-12`` (a few roundings of sums of at
most 40 terms of size ~1); float32 ones ``rtol=1e-5`` (the same sums in float32, plus Keras 2's
``log(p + 1e-7)``, whose float32 rounding differs between orders of the same operations).
"""

from __future__ import annotations

import inspect
import json
import os
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from _helpers import assert_close, backend_grad, make, to_numpy

import lossbridge
import lossbridge.tfa as lt
from lossbridge.conformance.extra_tfa import tfa_available, tfa_module

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

R = np.random.default_rng(19)
N = 8

if tfa_available() is not None:  # pragma: no cover
    pytest.skip(tfa_available(), allow_module_level=True)
tf = pytest.importorskip("tensorflow")


def _boxes(n=N):
    lo = R.uniform(0.0, 4.0, (n, 2))
    lo2 = lo + R.uniform(-1.5, 1.5, (n, 2))
    return (
        np.concatenate([lo, lo + R.uniform(1.0, 4.0, (n, 2))], axis=1),
        np.concatenate([lo2, lo2 + R.uniform(1.0, 4.0, (n, 2))], axis=1),
    )


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


_BOX_T, _BOX_P = _boxes()
_BINARY = R.integers(0, 2, (N, 5)).astype(np.float64)
_ONE_HOT = np.eye(5)[R.integers(0, 5, N)]

#: (class, TFA module, how TFA computes the per-sample loss, y_true, y_pred, kwargs): the
#: kwargs are given to both as Python values, except ``tau``, given as an array of the inputs'
#: dtype (TFA rounds a Python tau to float32 first: test_tfa_rounds_python_hyperparameters).
CASES = {
    "ContrastiveLoss": (
        "losses.contrastive",
        lambda m, t, p, **k: m.contrastive_loss(t, p, **k),
        R.integers(0, 2, N),
        R.uniform(0.05, 2.0, N),
        {"margin": 1.25},
    ),
    "GIoULoss": (
        "losses.giou_loss",
        lambda m, t, p, **k: m.giou_loss(t, p, **k),
        _BOX_T,
        _BOX_P,
        {},
    ),
    "GIoULoss-iou": (
        "losses.giou_loss",
        lambda m, t, p, **k: m.giou_loss(t, p, **k),
        _BOX_T,
        _BOX_P,
        {"mode": "iou"},
    ),
    "PinballLoss": (
        "losses.quantiles",
        lambda m, t, p, **k: m.pinball_loss(t, p, **k),
        R.standard_normal((N, 5)),
        R.standard_normal((N, 5)),
        {"tau": np.array(0.3)},
    ),
    "SigmoidFocalCrossEntropy": (
        "losses.focal_loss",
        lambda m, t, p, **k: m.sigmoid_focal_crossentropy(t, p, **k),
        _BINARY,
        R.uniform(0.01, 0.99, (N, 5)),
        {"alpha": 0.25, "gamma": 2.0},
    ),
    "SigmoidFocalCrossEntropy-logits": (
        "losses.focal_loss",
        lambda m, t, p, **k: m.sigmoid_focal_crossentropy(t, p, **k),
        _BINARY,
        2 * R.standard_normal((N, 5)),
        {"from_logits": True, "alpha": 0.5, "gamma": 1.5},
    ),
    "SparsemaxLoss": (
        "losses.sparsemax_loss",
        lambda m, t, p: m.sparsemax_loss_from_logits(t, p),
        _ONE_HOT,
        1.5 * R.standard_normal((N, 5)),
        {},
    ),
    "WeightedKappaLoss": (
        "losses.kappa_loss",
        lambda m, t, p, **k: m.WeightedKappaLoss(**k).call(t, p),
        np.eye(4)[R.integers(0, 4, N)],
        _softmax(R.standard_normal((N, 4))),
        {"num_classes": 4},
    ),
    "WeightedKappaLoss-linear": (
        "losses.kappa_loss",
        lambda m, t, p, **k: m.WeightedKappaLoss(**k).call(t, p),
        np.eye(4)[R.integers(0, 4, N)],
        _softmax(R.standard_normal((N, 4))),
        {"num_classes": 4, "weightage": "linear", "epsilon": 1e-3},
    ),
}
FUNCTIONS = {
    "ContrastiveLoss": lt.contrastive_loss,
    "GIoULoss": lt.giou_loss,
    "PinballLoss": lt.pinball_loss,
    "SigmoidFocalCrossEntropy": lt.sigmoid_focal_crossentropy,
    "WeightedKappaLoss": lambda t, p, num_classes, **k: lt.weighted_kappa_loss(t, p, **k),
}


def _tfa(case, dtype, tensor_kwargs=True, tape_wrt=None):
    """TFA's per-sample loss (and, with ``tape_wrt``, its gradient of the sum w.r.t.
    ``y_pred``) on tensors of ``dtype``, with ``floatx()`` = ``dtype``."""
    module, call, yt, yp, kwargs = CASES[case]
    m = tfa_module(module, floatx=dtype)
    t = tf.constant(yt, dtype=dtype) if yt.dtype.kind == "f" else tf.constant(yt)
    p = tf.constant(yp, dtype=dtype)
    kw = {
        k: tf.constant(v, dtype=dtype) if isinstance(v, np.ndarray) and tensor_kwargs else v
        for k, v in kwargs.items()
    }
    with tf.GradientTape() as tape:
        tape.watch(p)
        out = call(m, t, p, **kw)
        total = tf.reduce_sum(out)
    grad = tape.gradient(total, p)
    return np.asarray(out, np.float64), np.asarray(grad, np.float64)


def _ours(case, backend, dtype, reduction="none"):
    _, _, yt, yp, kwargs = CASES[case]
    cls = getattr(lt, case.split("-")[0])
    kw = {k: make(backend, v, dtype) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    loss = cls(reduction=reduction, dtype=dtype, **kw)
    t = make(backend, yt, dtype if yt.dtype.kind == "f" else None)
    return loss, t, make(backend, yp, dtype)


# ------------------------------------------------------------------------------------------
# Against TF Addons 0.23 itself
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_classes_match_tfa_on_every_backend(backend, case, dtype):
    """Per-sample values (reduction 'none') equal TFA's on the same inputs and dtype."""
    if backend.name == "array_api_strict" and dtype != "float64":
        pytest.skip("one dtype suffices for array-api-strict")
    expected, _ = _tfa(case, dtype)
    loss, t, p = _ours(case, backend, dtype)
    assert_close(loss(t, p), expected, rtol=1e-12 if dtype == "float64" else 1e-5)


@pytest.mark.parametrize("case", sorted(CASES))
def test_gradients_match_tfa(ad_backend, case):
    """The gradient in ``y_pred`` equals TensorFlow's autodiff through TFA's code (float64)."""
    _, expected = _tfa(case, "float64")
    _, _, yt, yp, kwargs = CASES[case]
    cls = getattr(lt, case.split("-")[0])
    loss = cls(reduction="none", dtype="float64", **kwargs)
    grad = backend_grad(ad_backend, lambda t, p: loss(t, p), [yt, yp], wrt=1)
    assert_close(grad, expected, rtol=1e-10)


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_functions_match_tfa(name):
    _, _, yt, yp, kwargs = CASES[name]
    expected, _ = _tfa(name, "float64")
    kw = {
        k: tf.constant(v, tf.float64) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()
    }
    out = FUNCTIONS[name](tf.constant(yt), tf.constant(yp, tf.float64), **kw)
    assert out.dtype == tf.float64
    assert_close(out, expected, rtol=1e-12)


def test_sparsemax_and_sparsemax_loss_match_tfa(backend):
    m = tfa_module("activations.sparsemax", floatx="float64")
    ml = tfa_module("losses.sparsemax_loss", floatx="float64")
    z = 1.5 * R.standard_normal((6, 5))
    q = np.eye(5)[R.integers(0, 5, 6)]
    s = lt.sparsemax(make(backend, z, "float64"))
    assert_close(s, m.sparsemax(tf.constant(z)), rtol=1e-12)
    zt = np.moveaxis(z, 1, 0)  # a (5, 6) array, classes along axis 0
    assert_close(lt.sparsemax(make(backend, zt, "float64"), axis=0), m.sparsemax(zt, axis=0), 1e-12)
    out = lt.sparsemax_loss(make(backend, z, "float64"), s, make(backend, q, "float64"))
    assert_close(out, ml.sparsemax_loss(tf.constant(z), m.sparsemax(tf.constant(z)), q), 1e-12)


def test_tfa_rounds_python_hyperparameters():
    """TFA's ``tf.cast(tau, y_pred.dtype)`` makes a Python float a float32 tensor first: its
    float64 pinball loss with ``tau=0.1`` is the loss with float32(0.1). lossbridge keeps tau
    exact (the conformance oracle check is loosened for it: extra_tfa.EXCEPTIONS)."""
    yt, yp = R.standard_normal((N, 3)), R.standard_normal((N, 3))
    m = tfa_module("losses.quantiles", floatx="float64")
    theirs = np.asarray(m.pinball_loss(tf.constant(yt), tf.constant(yp), tau=0.1))
    d = yt - yp
    for tau, ours in ((0.1, lt.pinball_loss(yt, yp, tau=0.1)), (float(np.float32(0.1)), theirs)):
        np.testing.assert_allclose(ours, np.mean(np.maximum(tau * d, (tau - 1) * d), -1), 1e-14)
    assert np.max(np.abs(theirs - lt.pinball_loss(yt, yp, tau=0.1))) > 1e-10


# ------------------------------------------------------------------------------------------
# TFA's docstring numbers and hand computations
# ------------------------------------------------------------------------------------------


def test_tfa_docstring_examples():
    """The outputs printed in TFA 0.23's docstrings (float32)."""
    f32 = np.float32
    b1 = np.array([[4.0, 3.0, 7.0, 5.0], [5.0, 6.0, 10.0, 7.0]], f32)
    b2 = np.array([[3.0, 4.0, 6.0, 8.0], [14.0, 14.0, 15.0, 15.0]], f32)
    np.testing.assert_allclose(lt.GIoULoss()(b1, b2), 1.5041667, rtol=1e-7)
    focal = lt.SigmoidFocalCrossEntropy()(
        np.array([[1.0], [1.0], [0.0]], f32), np.array([[0.97], [0.91], [0.03]], f32)
    )
    np.testing.assert_allclose(focal, [6.8532745e-06, 1.9097870e-04, 2.0559824e-05], rtol=1e-6)
    yt = np.array([[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]])
    yp = np.array(
        [
            [0.1, 0.2, 0.6, 0.1],
            [0.1, 0.5, 0.3, 0.1],
            [0.8, 0.05, 0.05, 0.1],
            [0.01, 0.09, 0.1, 0.8],
        ],
        f32,
    )
    np.testing.assert_allclose(lt.WeightedKappaLoss(num_classes=4)(yt, yp), -1.1611925, rtol=1e-6)
    pin = lt.PinballLoss(tau=0.1)(np.array([0.0, 0.0, 1.0, 1.0], f32), np.array([1, 1, 1, 0], f32))
    np.testing.assert_allclose(pin, 0.475, rtol=1e-7)
    a = np.array([[1, 2], [3, 4], [5, 6]], np.float16)
    b = np.array([[5, 9], [3, 6], [1, 8]], np.float16)
    d = np.linalg.norm((a - b).astype(np.float32), axis=1).astype(np.float16)  # [8.06, 2, 4.473]
    out = lt.contrastive_loss(np.array([1, 0, 1]), d)
    assert out.dtype == np.float16
    np.testing.assert_allclose(out, [8.06**2, 0.0, 4.473**2], rtol=2e-3)


def test_hand_computed_values():
    # giou: boxes [0, 0, 2, 2] and [1, 1, 3, 3]: I = 1, U = 7, C = 9 -> 1 - (1/7 - 2/9)
    giou = lt.giou_loss(np.array([[0.0, 0.0, 2.0, 2.0]]), np.array([[1.0, 1.0, 3.0, 3.0]]))
    assert giou.shape == ()  # TFA squeezes (1,) to a scalar
    np.testing.assert_allclose(giou, 1 - (1 / 7 - 2 / 9), rtol=1e-15)
    # an inverted predicted box has area 0 (sides clamped): I = 0, U = 4, C = 2 * 3 -> 1 + 2/6
    inv = lt.giou_loss(np.array([0.0, 0.0, 2.0, 2.0]), np.array([3.0, 0.0, 1.0, 3.0]))
    np.testing.assert_allclose(inv, 1 + (6 - 4) / 6, rtol=1e-15)
    # two empty boxes: 0/0 is 0 (divide_no_nan) twice -> loss 1
    assert float(lt.giou_loss(np.zeros(4), np.zeros(4))) == 1.0
    # pinball with an array tau broadcast against the trailing axis
    tau = np.array([0.1, 0.9])
    np.testing.assert_allclose(
        lt.pinball_loss(np.zeros((1, 2)), np.ones((1, 2)), tau=tau), [(0.9 + 0.1) / 2]
    )
    # focal, alpha = 0 and gamma = 0: no factors, the sum of Keras 2's BCE over the last axis
    p = np.array([[0.2, 0.7]])
    out = lt.sigmoid_focal_crossentropy(np.array([[1.0, 0.0]]), p, alpha=0.0, gamma=0.0)
    np.testing.assert_allclose(out, [-np.log(0.2 + 1e-7) - np.log(0.3 + 1e-7)], rtol=1e-14)
    # sparsemax loss at a one-hot prediction that matches: s = q = e_0 -> 0.5 - z_0 + z_0 - 0.5
    z = np.array([[5.0, 0.0, -1.0]])
    np.testing.assert_allclose(lt.SparsemaxLoss(reduction="none")(np.eye(3)[[0]], z), [0.0])
    # kappa, perfect predictions: numerator 0 -> log(0 + eps)
    y = np.eye(3)[[0, 1, 2, 1]]
    np.testing.assert_allclose(lt.weighted_kappa_loss(y, y, epsilon=1e-4), np.log(1e-4))


def test_keras2_cross_entropy_is_kept_at_the_clip():
    """On probabilities TFA's focal loss uses Keras 2's BCE: clip, then log(p + 1e-7). At
    p = 1, y = 0 (float32): clip to float32(1 - 1e-7); TFA's tf.function graph computes
    1 - p + 1e-7 as float32(1 + 1e-7) - p = 2.38e-7 (eager order: 2.19e-7); Keras 3 (no +
    epsilon) gives -log(1.19e-7)."""
    p = np.array([[1.0]], np.float32)
    out = lt.sigmoid_focal_crossentropy(np.array([[0.0]], np.float32), p, alpha=0.0, gamma=0.0)
    clip = np.float32(1 - 1e-7)
    expected = -np.log(np.float32(1 + 1e-7) - clip)
    assert abs(expected - 15.2492) < 1e-4
    np.testing.assert_allclose(out, [expected], rtol=1e-6)
    m = tfa_module("losses.focal_loss")
    theirs = m.sigmoid_focal_crossentropy(
        tf.constant([[0.0]]), tf.constant(p), alpha=0.0, gamma=0.0
    )
    np.testing.assert_allclose(out, theirs, rtol=1e-6)


def test_core_conventions_differ_as_documented():
    """docs/tfa.md: the same formulas as the core's, with TFA's conventions."""
    # contrastive: distances instead of embeddings, no 1/2 (core eps=0: the plain distance)
    x1, x2 = R.standard_normal((N, 3)), R.standard_normal((N, 3))
    y = R.integers(0, 2, N)
    d = np.linalg.norm(x1 - x2, axis=1)
    core = lossbridge.contrastive_loss(x1, x2, y, eps=0.0, reduction="none")
    np.testing.assert_allclose(lt.contrastive_loss(y, d), 2 * core, rtol=1e-13)
    # giou: [y_min, x_min, y_max, x_max] is the core's (x1, y1, x2, y2) with both axes swapped
    # (the same area); the core adds eps = 1e-7 to the denominators
    core = lossbridge.generalized_box_iou_loss(_BOX_P, _BOX_T, eps=0.0)
    np.testing.assert_allclose(lt.giou_loss(_BOX_T, _BOX_P), core, rtol=1e-14)
    # focal from logits: the core's sigmoid_focal_loss summed over the last axis
    x = 2 * R.standard_normal((N, 5))
    core = lossbridge.sigmoid_focal_loss(x, _BINARY, alpha=0.3, gamma=2.0).sum(-1)
    np.testing.assert_allclose(
        lt.sigmoid_focal_crossentropy(_BINARY, x, alpha=0.3, from_logits=True), core, rtol=1e-14
    )


# ------------------------------------------------------------------------------------------
# Signatures, reductions, errors
# ------------------------------------------------------------------------------------------

_TFA_OBJECTS = {
    "ContrastiveLoss": ("losses.contrastive", "ContrastiveLoss"),
    "contrastive_loss": ("losses.contrastive", "contrastive_loss"),
    "GIoULoss": ("losses.giou_loss", "GIoULoss"),
    "giou_loss": ("losses.giou_loss", "giou_loss"),
    "PinballLoss": ("losses.quantiles", "PinballLoss"),
    "pinball_loss": ("losses.quantiles", "pinball_loss"),
    "SigmoidFocalCrossEntropy": ("losses.focal_loss", "SigmoidFocalCrossEntropy"),
    "sigmoid_focal_crossentropy": ("losses.focal_loss", "sigmoid_focal_crossentropy"),
    "SparsemaxLoss": ("losses.sparsemax_loss", "SparsemaxLoss"),
    "sparsemax_loss": ("losses.sparsemax_loss", "sparsemax_loss"),
    "sparsemax": ("activations.sparsemax", "sparsemax"),
    "WeightedKappaLoss": ("losses.kappa_loss", "WeightedKappaLoss"),
}


def _params(obj):
    fn = obj.__init__ if isinstance(obj, type) else obj
    fn = getattr(fn, "python_function", fn)  # a tf.function
    fn = inspect.unwrap(fn)
    return [
        (p.name, p.default)
        for p in inspect.signature(fn).parameters.values()
        if p.name != "self" and p.kind != p.KEYWORD_ONLY
    ]


@pytest.mark.parametrize("name", sorted(_TFA_OBJECTS))
def test_names_signatures_and_defaults_match_tfa(name):
    """Parameter names, order and defaults are TFA 0.23's (ours add a keyword-only dtype)."""
    module, attr = _TFA_OBJECTS[name]
    theirs = getattr(tfa_module(module), attr)
    assert _params(getattr(lt, name)) == _params(theirs)


def test_reductions_take_keras_2_and_keras_3_names():
    yt, yp = R.standard_normal((N, 5)), R.standard_normal((N, 5))
    per_sample = lt.PinballLoss(reduction="none")(yt, yp)
    for r, expected in (
        ("auto", per_sample.mean()),
        ("AUTO", per_sample.mean()),
        ("SUM_OVER_BATCH_SIZE", per_sample.mean()),
        ("sum", per_sample.sum()),
        ("mean", per_sample.mean()),
        (None, per_sample),
    ):
        np.testing.assert_allclose(lt.PinballLoss(reduction=r)(yt, yp), expected, rtol=1e-15)
    assert lt.GIoULoss().reduction == "sum_over_batch_size"  # TFA's default 'auto'
    assert lt.SigmoidFocalCrossEntropy().reduction == "none"  # TFA's default
    assert lt.WeightedKappaLoss(num_classes=3).reduction == "none"
    w = R.uniform(0.5, 2.0, N)
    np.testing.assert_allclose(
        lt.PinballLoss(reduction="sum")(yt, yp, sample_weight=w), (per_sample * w).sum(), 1e-14
    )
    with pytest.raises(ValueError, match=r"^PinballLoss: .*reduction='mean_over_all'.*'auto'"):
        lt.PinballLoss(reduction="mean_over_all")


@pytest.mark.parametrize(
    "make_bad, pattern",
    [
        (lambda: lt.GIoULoss(mode="diou"), r"^GIoULoss: .*mode='diou'.*'giou', 'iou'"),
        (lambda: lt.giou_loss(np.ones((2, 3)), np.ones((2, 3))), r"^giou_loss: .*\(\.\.\., 4\)"),
        (
            lambda: lt.SigmoidFocalCrossEntropy(gamma=-1.0),
            r"^SigmoidFocalCrossEntropy: gamma .*got -1",
        ),
        (lambda: lt.sigmoid_focal_crossentropy(np.ones(2), np.ones(2), from_logits=1), "bool"),
        (lambda: lt.SparsemaxLoss(from_logits=False), r"^SparsemaxLoss: from_logits must be True"),
        (lambda: lt.PinballLoss(tau=1.5), r"^PinballLoss: tau .*got 1.5"),
        (lambda: lt.ContrastiveLoss(margin="1"), r"^ContrastiveLoss: margin"),
        (lambda: lt.WeightedKappaLoss(num_classes=4, weightage="cubic"), r"weightage='cubic'"),
        (lambda: lt.WeightedKappaLoss(num_classes=2.0), r"^WeightedKappaLoss: num_classes"),
        (
            lambda: lt.WeightedKappaLoss(num_classes=3)(np.eye(4), np.eye(4)),
            r"^WeightedKappaLoss: y_pred has 4 classes .*num_classes=3",
        ),
        (
            lambda: lt.SparsemaxLoss()(np.ones((2, 3, 4)), np.ones((2, 3, 4))),
            r"^SparsemaxLoss: expected labels and logits .*\(batch, classes\)",
        ),
        (lambda: lt.sparsemax(np.ones(3), axis=1), r"^sparsemax: axis=1 is out of range"),
    ],
)
def test_bad_arguments_name_the_loss_and_argument(make_bad, pattern):
    with pytest.raises((ValueError, TypeError), match=pattern):
        make_bad()


def test_half_inputs():
    """A half input computes in float32 and rounds once: functions keep its dtype, classes
    compute in ``dtype``."""
    yt, yp = _BINARY[:2], R.uniform(0.05, 0.95, (2, 5))
    out = lt.sigmoid_focal_crossentropy(yt.astype(np.float16), yp.astype(np.float16))
    assert out.dtype == np.float16
    ref = lt.sigmoid_focal_crossentropy(yt, yp.astype(np.float16).astype(np.float32))
    np.testing.assert_array_equal(out, ref.astype(np.float16))
    loss = lt.GIoULoss(dtype="float16")(_BOX_T.astype(np.float16), _BOX_P.astype(np.float16))
    assert loss.dtype == np.float16
    assert lt.GIoULoss()(_BOX_T.astype(np.float16), _BOX_P.astype(np.float16)).dtype == np.float32


def test_denominator_and_mean_denominator():
    """Inherited from lossbridge.keras: sum(loss(shard, denominator=D)) is the whole batch's."""
    loss = lt.GIoULoss()
    whole = loss(_BOX_T, _BOX_P)
    d = lossbridge.mean_denominator(loss, _BOX_T, _BOX_P)
    assert float(d) == N
    halves = sum(loss(_BOX_T[s], _BOX_P[s], denominator=d) for s in (slice(0, 3), slice(3, N)))
    np.testing.assert_allclose(halves, whole, rtol=1e-14)


def test_config_round_trip_and_pickle():
    for loss in (
        lt.ContrastiveLoss(margin=2.0, reduction="sum", name="c"),
        lt.GIoULoss(mode="iou"),
        lt.PinballLoss(tau=0.2),
        lt.SigmoidFocalCrossEntropy(from_logits=True, alpha=0.5, gamma=1.0),
        lt.SparsemaxLoss(),
        lt.WeightedKappaLoss(num_classes=5, weightage="linear", epsilon=None),
    ):
        config = loss.get_config()
        assert type(loss).from_config(config).get_config() == config
        assert pickle.loads(pickle.dumps(loss)).get_config() == config
    assert lt.WeightedKappaLoss(num_classes=5, epsilon=None).get_config()["epsilon"] == 1e-7
    assert lt.SparsemaxLoss().get_config()["from_logits"] is True
    assert lossbridge.get("tfa.GIoULoss") is lt.GIoULoss
    assert "GIoULoss" in lossbridge.available("tfa") and "sparsemax" not in lossbridge.available(
        "tfa"
    )


def test_import_loads_no_framework():
    code = (
        "import sys, lossbridge.tfa\n"
        "bad = [m for m in ('torch', 'tensorflow', 'jax', 'keras', 'numpy') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ------------------------------------------------------------------------------------------
# Keras: a keras.losses.Loss, registered, compile + fit, save + load_model
# ------------------------------------------------------------------------------------------


def test_keras_registration_and_compile_fit():
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "tensorflow":  # pragma: no cover
        pytest.skip("Keras runs on another backend here")
    import lossbridge.keras as lk

    for name in ("ContrastiveLoss", "GIoULoss", "PinballLoss", "SigmoidFocalCrossEntropy"):
        cls = getattr(lt, name)
        obj = keras.saving.get_registered_object(f"lossbridge>tfa.{name}")
        assert obj is not None and issubclass(obj, cls) and issubclass(obj, keras.losses.Loss)
        assert isinstance(cls(), keras.losses.Loss)
        assert keras.saving.get_registered_name(type(cls())) == f"lossbridge>tfa.{name}"
    fn = keras.saving.get_registered_object("lossbridge>tfa.giou_loss")
    assert fn is lt.giou_loss
    # no collision with lossbridge.keras's registrations (compared by name: another test in the
    # same process may have re-imported lossbridge.keras, whose classes are then new objects)
    huber = keras.saving.get_registered_object("lossbridge>Huber").__mro__[1]
    assert (huber.__module__, huber.__qualname__) == (lk.Huber.__module__, "Huber")

    r = np.random.default_rng(0)
    x = r.standard_normal((16, 4)).astype("float32")
    y = r.standard_normal((16, 3)).astype("float32")
    kernel = r.standard_normal((4, 3)).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
    model.set_weights([kernel, np.zeros(3, "float32")])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss=lt.PinballLoss(tau=0.3))
    loss = model.fit(x, y, batch_size=16, epochs=1, verbose=0).history["loss"][0]
    d = y - x @ kernel
    np.testing.assert_allclose(loss, np.mean(np.maximum(0.3 * d, -0.7 * d)), rtol=1e-5)


SAVE = """
    import json, sys
    import numpy as np
    import keras
    import lossbridge.tfa as lt

    path = sys.argv[1]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 4)).astype("float32")
    y = (rng.uniform(size=(16, 3)) > 0.5).astype("float32")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="sigmoid")])
    model.compile(optimizer="sgd", loss=lt.SigmoidFocalCrossEntropy(alpha=0.4, reduction="sum"))
    model.fit(x, y, batch_size=16, epochs=1, verbose=0)
    before = model.evaluate(x, y, verbose=0)
    model.save(path + "/m.keras")
    np.savez(path + "/data.npz", x=x, y=y)
    saved = {"before": before, "config": model.loss.get_config()}
    json.dump(saved, open(path + "/saved.json", "w"))
"""

LOAD = """
    import json, sys
    import numpy as np

    path, order = sys.argv[1], sys.argv[2]
    if order == "lossbridge-first":
        import lossbridge.tfa as lt
        import keras
    else:
        import keras
        import lossbridge.tfa as lt
    saved = json.load(open(path + "/saved.json"))
    data = np.load(path + "/data.npz")
    model = keras.models.load_model(path + "/m.keras")
    assert isinstance(model.loss, lt.SigmoidFocalCrossEntropy), type(model.loss)
    assert model.loss.get_config() == saved["config"]
    after = model.evaluate(data["x"], data["y"], verbose=0)
    print(json.dumps({"before": saved["before"], "after": after}))
"""


@pytest.mark.parametrize("order", ["lossbridge-first", "keras-first"])
def test_save_and_load_in_a_fresh_process(order, tmp_path):
    """Saved in one process, loaded in another with no ``custom_objects``."""
    pytest.importorskip("keras")
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}

    def run(code, *args):
        done = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code), *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert done.returncode == 0, done.stderr[-4000:]
        return done.stdout

    run(SAVE, str(tmp_path))
    out = json.loads(run(LOAD, str(tmp_path), order).strip().splitlines()[-1])
    np.testing.assert_allclose(out["after"], out["before"], rtol=1e-5)


def test_float32_values_match_tfa_in_float32():
    """TFA in float32 against ours in float32 (a second dtype for the numbers of the matrix)."""
    expected, _ = _tfa("SigmoidFocalCrossEntropy", "float32")
    _, _, yt, yp, _ = CASES["SigmoidFocalCrossEntropy"]
    out = lt.sigmoid_focal_crossentropy(yt.astype(np.float32), yp.astype(np.float32))
    assert out.dtype == np.float32
    np.testing.assert_allclose(to_numpy(out), expected, rtol=1e-5)


def test_registration_with_a_query_for_keras_before_its_import():
    """``import lossbridge.tfa`` (which imports lossbridge.keras) before Keras, a
    ``find_spec('keras')`` query, then ``import keras``: both dialects are registered once
    Keras's import completes (the two import hooks chain; neither imports Keras itself)."""
    code = """
        import importlib.util, sys
        import lossbridge.tfa as lt
        assert "keras" not in sys.modules
        importlib.util.find_spec("keras")
        assert "keras" not in sys.modules
        import keras
        get = keras.saving.get_registered_object
        assert issubclass(get("lossbridge>tfa.GIoULoss"), lt.GIoULoss)
        assert get("lossbridge>tfa.pinball_loss") is lt.pinball_loss
        assert get("lossbridge>Huber") is not None
        assert isinstance(lt.PinballLoss(), keras.losses.Loss)
        print("ok")
    """
    env = {**os.environ, "KERAS_BACKEND": "tensorflow", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-4000:]
