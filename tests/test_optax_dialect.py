"""Tests of ``lossbridge.optax``: every loss against real optax 0.2.8, on every backend.

Expected values come from optax itself (run through JAX at float64: same names and arguments,
no convention to convert), from float64 NumPy formulas written here, and from hand arithmetic
on tiny inputs. Gradients are compared with ``jax.grad`` of optax. The registry's ``optax.*``
entries (``conformance/extra_optax.py``) check one or two cases of each loss on every backend
and dtype (values against optax, gradients against finite differences); the cases here are the
other options, masks, ties and edges, the half-precision rule and array hyperparameters.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import warnings

import numpy as np
import pytest

from lossbridge import optax as lbx
from lossbridge.conformance.precision_table import round_to, ulps
from tests._helpers import (
    assert_close,
    backend_array,
    backend_grad,
    dtype_name,
    make,
    to_numpy,
)

optax = pytest.importorskip("optax")
jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

R = np.random.default_rng(20261123)


def _n(*shape, scale=1.0):
    return scale * R.standard_normal(shape)


def _probs(*shape):
    e = np.exp(R.standard_normal(shape))
    return e / e.sum(-1, keepdims=True)


def _onehot(labels, k):
    return np.eye(k)[labels]


def _mask(*shape, full_row=None, empty_row=None):
    m = R.random(shape) > 0.3
    if empty_row is not None:
        m[empty_row] = False
    return m


_L85 = R.integers(0, 5, 8)
_CTC_LABELS = np.array([[1, 2, 2], [3, 1, 0]])

# (id, function name, arrays, keyword arguments, argument differentiated or None)
CASES = [
    ("sce", "softmax_cross_entropy", dict(logits=_n(8, 5), labels=_probs(8, 5)), {}, "logits"),
    (
        "sce_axis0_where",
        "softmax_cross_entropy",
        dict(logits=_n(5, 8), labels=_probs(8, 5).T, where=_mask(5, 8, empty_row=(slice(None), 2))),
        {"axis": 0},
        "logits",
    ),
    (
        "sce_where_without_axis",
        "softmax_cross_entropy",
        dict(logits=_n(8, 5), labels=_probs(8, 5), where=_mask(8)),
        {},
        "logits",
    ),
    (
        "sce_int",
        "softmax_cross_entropy_with_integer_labels",
        dict(logits=_n(8, 5), labels=_L85),
        {},
        "logits",
    ),
    (
        "sce_int_where",
        "softmax_cross_entropy_with_integer_labels",
        dict(logits=_n(8, 5), labels=_L85, where=_mask(8, 5, empty_row=3)),
        {},
        "logits",
    ),
    (
        "sce_int_axis1",
        "softmax_cross_entropy_with_integer_labels",
        dict(logits=_n(2, 5, 3), labels=R.integers(0, 5, (2, 3))),
        {"axis": 1},
        "logits",
    ),
    (
        "sce_int_tuple_axis",
        "softmax_cross_entropy_with_integer_labels",
        dict(logits=_n(2, 3, 4), labels=R.integers(0, 12, 3), where=_mask(2, 3, 4)),
        {"axis": (0, 2)},
        "logits",
    ),
    (
        "sce_int_odd_labels",  # -1 counts from the end; -100 and 5 give NaN
        "softmax_cross_entropy_with_integer_labels",
        dict(logits=_n(4, 5), labels=np.array([-1, -100, 5, 2])),
        {},
        None,
    ),
    (
        "safe_sce",
        "safe_softmax_cross_entropy",
        dict(
            logits=np.array([[0.0, -np.inf, 1.0], [1.0, 2.0, 3.0]]),
            labels=np.array([[0.5, 0.0, 0.5], [0.2, 0.3, 0.5]]),
        ),
        {},
        "logits",
    ),
    (
        "sbce",
        "sigmoid_binary_cross_entropy",
        dict(logits=_n(8, 5, scale=3.0), labels=R.integers(0, 2, (8, 5)).astype(float)),
        {},
        "logits",
    ),
    (
        "sbce_extreme",
        "sigmoid_binary_cross_entropy",
        dict(logits=np.array([100.0, -100.0, 20.0, 0.5, 0.0]), labels=np.array([0, 1, 0, 1, 1.0])),
        {},
        "logits",
    ),
    (
        "focal",
        "sigmoid_focal_loss",
        dict(logits=_n(8, 5, scale=3.0), labels=R.integers(0, 2, (8, 5)).astype(float)),
        {},
        "logits",
    ),
    (
        "focal_alpha",
        "sigmoid_focal_loss",
        dict(
            logits=np.array([2.0, -1.0, 0.5, -3.0, 40.0, -40.0]),
            labels=np.array([1, 0, 0, 1, 0, 1.0]),
        ),
        {"alpha": 0.25, "gamma": 1.5},
        "logits",
    ),
    (
        "poly",
        "poly_loss_cross_entropy",
        dict(logits=_n(8, 5), labels=_onehot(_L85, 5)),
        {},
        "logits",
    ),
    (
        "poly_where_axis",
        "poly_loss_cross_entropy",
        dict(logits=_n(5, 8), labels=_probs(8, 5).T, where=_mask(5, 8)),
        {"axis": 0, "epsilon": 1.0},
        "logits",
    ),
    (
        "kl",
        "kl_divergence",
        dict(log_predictions=np.log(_probs(8, 5)), targets=_probs(8, 5) * (R.random((8, 5)) > 0.2)),
        {},
        "log_predictions",
    ),
    (
        "kl_where_none_axis",
        "kl_divergence",
        dict(log_predictions=np.log(_probs(8, 5)), targets=_probs(8, 5), where=_mask(8, 5)),
        {"axis": None},
        "log_predictions",
    ),
    (
        "kl_log_targets",
        "kl_divergence_with_log_targets",
        dict(
            log_predictions=np.log(_probs(8, 5)),
            log_targets=np.log(_probs(8, 5)),
            where=_mask(8, 5),
        ),
        {"axis": 0},
        "log_predictions",
    ),
    (
        "gkl",
        "generalized_kl_divergence",
        dict(log_predictions=_n(8, 5), targets=R.random((8, 5)) * 2),
        {},
        "log_predictions",
    ),
    ("se", "squared_error", dict(predictions=_n(8, 5), targets=_n(8, 5)), {}, "predictions"),
    ("se_none", "squared_error", dict(predictions=_n(8)), {}, "predictions"),
    ("l2", "l2_loss", dict(predictions=_n(8, 5), targets=_n(8, 5)), {}, "predictions"),
    (
        "huber",
        "huber_loss",
        dict(predictions=_n(8, 5, scale=2.0), targets=_n(8, 5)),
        {"delta": 1.5},
        "predictions",
    ),
    (
        "log_cosh",
        "log_cosh",
        dict(predictions=_n(8, 5, scale=3.0), targets=_n(8, 5)),
        {},
        "predictions",
    ),
    ("cos", "cosine_similarity", dict(predictions=_n(8, 5), targets=_n(8, 5)), {}, "predictions"),
    (
        "cos_where_eps",
        "cosine_similarity",
        dict(predictions=_n(8, 5), targets=_n(8, 5), where=_mask(8, 5)),
        {"epsilon": 0.5, "axis": -1},
        "predictions",
    ),
    (
        "cos_zero_vector",  # epsilon 0: NaN, as optax
        "cosine_distance",
        dict(predictions=np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 2.0]]), targets=_n(2, 3)),
        {},
        None,
    ),
    (
        "cos_dist_axis0",
        "cosine_distance",
        dict(predictions=_n(5, 8), targets=_n(5, 8)),
        {"axis": 0, "epsilon": 1e-8},
        "predictions",
    ),
    (
        "hinge",
        "hinge_loss",
        dict(predictor_outputs=_n(8, 5), targets=R.choice([-1.0, 1.0], (8, 5))),
        {},
        "predictor_outputs",
    ),
    (
        "hinge_01_labels",
        "hinge_loss",
        dict(predictor_outputs=np.array([0.3, -0.5, 2.0]), targets=np.array([0.0, 1.0, 1.0])),
        {},
        "predictor_outputs",
    ),
    (
        "perceptron",
        "perceptron_loss",
        dict(predictor_outputs=_n(8, 5), targets=R.choice([-1.0, 1.0], (8, 5))),
        {},
        "predictor_outputs",
    ),
    ("mc_hinge", "multiclass_hinge_loss", dict(scores=_n(8, 5), labels=_L85), {}, "scores"),
    (
        "mc_hinge_ties",
        "multiclass_hinge_loss",
        dict(
            scores=np.array([[2.0, 1.0, 1.0], [1.0, 2.0, 0.5], [0.0, 0.0, 0.0]]),
            labels=np.array([0, 0, 7]),
        ),
        {},
        "scores",
    ),
    (
        "mc_perceptron",
        "multiclass_perceptron_loss",
        dict(scores=_n(8, 5), labels=_L85),
        {},
        "scores",
    ),
    (
        "sparsemax",
        "sparsemax_loss",
        dict(logits=_n(8, 5, scale=2.0), labels=R.integers(0, 2, (8, 5)).astype(float)),
        {},
        "logits",
    ),
    (
        "mc_sparsemax",
        "multiclass_sparsemax_loss",
        dict(scores=_n(8, 5, scale=2.0), labels=_L85),
        {},
        "scores",
    ),
    (
        "ranking",
        "ranking_softmax_loss",
        dict(logits=_n(8, 5), labels=R.integers(0, 3, (8, 5)).astype(float)),
        {},
        "logits",
    ),
    (
        "ranking_where_weights_none",
        "ranking_softmax_loss",
        dict(
            logits=_n(8, 5),
            labels=R.integers(0, 3, (8, 5)).astype(float),
            where=_mask(8, 5, empty_row=2),
            weights=R.random((8, 5)),
        ),
        {"reduce_fn": None},
        "logits",
    ),
    (
        "ranking_where_mean",
        "ranking_softmax_loss",
        dict(
            logits=_n(8, 5),
            labels=R.integers(0, 3, (8, 5)).astype(float),
            where=_mask(8, 5, empty_row=2),
        ),
        {},
        "logits",
    ),
    (
        "ctc",
        "ctc_loss",
        dict(
            logits=_n(2, 6, 4),
            logit_paddings=np.array([[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1.0]]),
            labels=_CTC_LABELS,
            label_paddings=np.array([[0, 0, 0], [0, 0, 1.0]]),
        ),
        {},
        "logits",
    ),
    (
        "ctc_infeasible_blank2",
        "ctc_loss",
        dict(
            logits=_n(2, 6, 4),
            logit_paddings=np.array([[0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 1, 1.0]]),
            labels=_CTC_LABELS,
            label_paddings=np.array([[0, 0, 0], [0, 0, 1.0]]),
        ),
        {"blank_id": 2, "log_epsilon": -1e4},
        "logits",
    ),
    (
        "ctc_forward",
        "ctc_loss_with_forward_probs",
        dict(
            logits=_n(2, 6, 4),
            logit_paddings=np.array([[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1.0]]),
            labels=_CTC_LABELS,
            label_paddings=np.array([[0, 0, 0], [0, 0, 1.0]]),
        ),
        {},
        None,
    ),
    (
        "triplet",
        "triplet_margin_loss",
        dict(anchors=_n(8, 5), positives=_n(8, 5), negatives=_n(8, 5)),
        {},
        "anchors",
    ),
    (
        "triplet_deg3_axis0",
        "triplet_margin_loss",
        dict(anchors=_n(5, 8), positives=_n(5, 8), negatives=_n(5, 8)),
        {"axis": 0, "norm_degree": 3, "margin": 4.0, "eps": 1e-3},
        None,
    ),
    (
        "ntxent",
        "ntxent",
        dict(embeddings=_n(8, 5), labels=np.array([0, 1, 0, 1, 2, 2, 3, 0])),
        {"temperature": 0.5},
        "embeddings",
    ),
    (
        "dice",
        "dice_loss",
        dict(predictions=_n(2, 3, 4, 3), targets=_onehot(R.integers(0, 3, (2, 3, 4)), 3)),
        {},
        "predictions",
    ),
    (
        "dice_weights_none_ignore",
        "dice_loss",
        dict(
            predictions=_n(2, 3, 4, 3),
            targets=_onehot(R.integers(0, 3, (2, 3, 4)), 3),
            class_weights=np.array([0.5, 1.0, 2.0]),
        ),
        {"reduction": "none", "ignore_background": True, "alpha": 0.7, "beta": 0.3, "smooth": 0.1},
        "predictions",
    ),
    (
        "dice_axis_probs",
        "dice_loss",
        dict(predictions=_probs(2, 6, 3), targets=_onehot(R.integers(0, 3, (2, 6)), 3)),
        {"apply_softmax": False, "axis": (0, 1), "reduction": "sum"},
        "predictions",
    ),
    (
        "binary_dice",
        "binary_dice_loss",
        dict(predictions=_n(2, 3, 4), targets=R.integers(0, 2, (2, 3, 4)).astype(float)),
        {"smooth": 0.5},
        "predictions",
    ),
    (
        "generalized_dice",
        "multiclass_generalized_dice_loss",
        dict(predictions=_n(2, 3, 4, 3), targets=_onehot(R.integers(0, 3, (2, 3, 4)), 3)),
        {"ignore_background": True},
        "predictions",
    ),
]

_OPTAX_CACHE: dict = {}


def _optax_value(name, arrays, kwargs):
    key = (name, id(arrays))
    if key not in _OPTAX_CACHE:
        _OPTAX_CACHE[key] = _optax_run(name, arrays, kwargs)
    return _OPTAX_CACHE[key]


def _optax_run(name, arrays, kwargs):
    fn = getattr(optax.losses, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        out = fn(**{k: jnp.asarray(v) for k, v in arrays.items()}, **kwargs)
    if isinstance(out, tuple):
        return tuple(np.asarray(o, dtype=np.float64) for o in out)
    return np.asarray(out, dtype=np.float64)


def _call(backend, name, arrays, kwargs, dtype="float64"):
    conv = {k: make(backend, v, dtype) for k, v in arrays.items()}
    return getattr(lbx, name)(**conv, **kwargs)


#: Cases whose function, options and input kinds a registry case ``optax.<name>`` takes too
#: (conformance/extra_optax.py: every backend and dtype against optax, gradients against finite
#: differences): only the others are run here.
_IN_REGISTRY = {
    "sce",
    "sce_int",
    "sbce",
    "focal_alpha",
    "poly",
    "se",
    "se_none",
    "l2",
    "huber",
    "log_cosh",
    "cos",
    "cos_dist_axis0",
    "hinge",
    "hinge_01_labels",
    "perceptron",
    "mc_hinge",
    "mc_hinge_ties",
    "mc_perceptron",
    "sparsemax",
    "mc_sparsemax",
    "ranking_where_weights_none",
    "ctc",
    "ctc_infeasible_blank2",
    "ctc_forward",
    "triplet",
    "triplet_deg3_axis0",
    "ntxent",
    "dice_weights_none_ignore",
    "binary_dice",
    "generalized_dice",
}
_VALUE_CASES = [c for c in CASES if c[0] not in _IN_REGISTRY]


@pytest.mark.parametrize("case", _VALUE_CASES, ids=[c[0] for c in _VALUE_CASES])
def test_matches_optax(backend, case):
    """Every backend's float64 output equals optax's (NaN where optax gives NaN)."""
    _, name, arrays, kwargs, _ = case
    expected = _optax_value(name, arrays, kwargs)
    out = _call(backend, name, arrays, kwargs)
    if isinstance(expected, tuple):
        assert len(out) == len(expected)
        for o, e in zip(out, expected, strict=True):
            assert_close(o, e, rtol=1e-12, atol=1e-12)
        return
    assert dtype_name(out) == "float64"
    assert_close(out, expected, rtol=1e-12, atol=1e-13)


# The gradient cases: every function once, on its masked / tied / saturated variant where it has
# one (the plain variants add JAX and TensorFlow eager time, not coverage).
_PLAIN = {
    "sce",
    "sce_int",
    "sbce",
    "focal",
    "poly",
    "kl",
    "l2",
    "cos",
    "hinge",
    "mc_hinge",
    "ranking",
    "dice",
}
#: The registry's grad_fd check covers the smooth ones of _IN_REGISTRY; its tie and kink cases
#: skip that check, so those stay here (hinge_01_labels, mc_hinge_ties, mc_perceptron).
_SMOOTH_IN_REGISTRY = _IN_REGISTRY - {"hinge_01_labels", "mc_hinge_ties", "mc_perceptron"}
_GRAD_CASES = [c for c in CASES if c[4] is not None and c[0] not in _PLAIN | _SMOOTH_IN_REGISTRY]
_GRAD_CACHE: dict = {}


def _optax_grad(case):
    """``jax.jit(jax.grad)`` of optax's summed output w.r.t. the case's prediction, once."""
    label, name, arrays, kwargs, wrt = case
    if label not in _GRAD_CACHE:
        fn = getattr(optax.losses, name)
        const = {k: jnp.asarray(v) for k, v in arrays.items() if k != wrt}

        def f(x):
            return jnp.sum(fn(**const, **{wrt: x}, **kwargs))

        x = jnp.asarray(arrays[wrt])
        try:
            _GRAD_CACHE[label] = np.asarray(jax.jit(jax.grad(f))(x))
        except jax.errors.TracerBoolConversionError:
            # optax's dice_loss(apply_softmax=False) reads values (its sum-to-1 check): eager only
            _GRAD_CACHE[label] = np.asarray(jax.grad(f)(x))
    return _GRAD_CACHE[label]


@pytest.mark.parametrize("case", _GRAD_CASES, ids=[c[0] for c in _GRAD_CASES])
def test_gradient_matches_jax_grad_of_optax(ad_backend, case):
    """Gradient of the summed output w.r.t. the prediction equals ``jax.grad`` of optax's
    (tie-splitting included: hinge kinks, tied maxima, the masked rows)."""
    _, name, arrays, kwargs, wrt = case
    expected = _optax_grad(case)
    names = list(arrays)

    def ours(*args):
        return getattr(lbx, name)(**dict(zip(names, args, strict=True)), **kwargs)

    got = backend_grad(ad_backend, ours, [arrays[k] for k in names], names.index(wrt))
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


# issue 18 item 3: the row (finite logits, zero labels: d/dy = -log softmax, not 0), the
# "safe" row (-inf logit with label 0: value finite, d/dy +inf there), a finite row, and a row
# whose -inf logit has a non-zero label (value inf, d/dx finite, d/dy +inf).
SAFE_X = np.array([[10.0, 1.0, -2.0], [0.0, -np.inf, 1.0], [1.0, 2.0, 3.0], [0.0, -np.inf, 1.0]])
SAFE_Y = np.array([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5], [0.2, 0.3, 0.5], [0.5, 0.5, 0.0]])


def test_safe_softmax_cross_entropy_gradients(ad_backend):
    """Value and both gradients equal optax's (its custom JVP), ``jax.grad`` w.r.t. each."""
    fn = optax.losses.safe_softmax_cross_entropy
    x, y = jnp.asarray(SAFE_X), jnp.asarray(SAFE_Y)
    value = np.asarray(fn(x, y))
    grads = [np.asarray(jax.grad(lambda *a: jnp.sum(fn(*a)), argnums=i)(x, y)) for i in (0, 1)]
    # -log softmax of the row ([1.3e-4, 9.00013, 12.00013]); +inf at the -inf logits
    row = SAFE_X[0]
    np.testing.assert_allclose(grads[1][0], np.log(np.exp(row).sum()) - row, rtol=1e-12)
    assert np.isposinf(grads[1][[1, 3], 1]).all() and np.isposinf(value[3])
    f = lbx.safe_softmax_cross_entropy
    assert_close(f(make(ad_backend, SAFE_X), make(ad_backend, SAFE_Y)), value, 1e-12)
    for i in (0, 1):
        got = backend_grad(ad_backend, f, [SAFE_X, SAFE_Y], i)
        # a few ulps of log-softmax's conditioning (|x| <= 10): 1e-12 relative is ample
        np.testing.assert_allclose(got, grads[i], rtol=1e-12, atol=1e-14)


def test_safe_softmax_cross_entropy_gradients_jit():
    def grads(fn):
        g = jax.jit(jax.grad(lambda a, b: jnp.sum(fn(a, b)), argnums=(0, 1)))
        return [np.asarray(v) for v in g(jnp.asarray(SAFE_X), jnp.asarray(SAFE_Y))]

    expected = grads(optax.losses.safe_softmax_cross_entropy)
    for got, want in zip(grads(lbx.safe_softmax_cross_entropy), expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-14)


# ------------------------------------------------------------------------------------------
# Hand values and float64 formulas (independent of optax)
# ------------------------------------------------------------------------------------------


def test_hand_values(backend):
    """Small inputs computed by hand (reference sections 3.5, 3.6, 3.8, 3.9, 3.11, 3.12)."""
    f = lambda a: make(backend, np.asarray(a, dtype=np.float64))  # noqa: E731
    # hinge, labels used as given: max(0, 1 - [0, -0.5, 2]) = [1, 1.5, 0]
    assert_close(lbx.hinge_loss(f([0.3, -0.5, 2.0]), f([0.0, 1.0, 1.0])), [1.0, 1.5, 0.0], 1e-12)
    # Crammer-Singer: max(0, 1 + max(2, 0.5) - 1) = 2
    assert_close(lbx.multiclass_hinge_loss(f([[1.0, 2.0, 0.5]]), np.array([0])), [2.0], 1e-12)
    # Huber delta 1 on errors [0.5, 1.5, 3]: 0.125, 1.5 - 0.5, 3 - 0.5
    assert_close(lbx.huber_loss(f([0.5, 1.5, 3.0])), [0.125, 1.0, 2.5], 1e-12)
    # cos([1, 0], [1, 1]) = 1 / sqrt 2
    assert_close(lbx.cosine_similarity(f([1.0, 0.0]), f([1.0, 1.0])), 2**-0.5, 1e-12)
    assert_close(lbx.cosine_distance(f([1.0, 0.0]), f([1.0, 1.0])), 1 - 2**-0.5, 1e-12)
    # KL(p || q): .5 log(.5/.4) * 2 = 0.223144; .1 log(1/3) + .2 log(2/3) + .7 log(7/4) = 0.200777
    p = np.array([[0.5, 0.5, 0.0], [0.1, 0.2, 0.7]])
    q = np.array([[0.4, 0.4, 0.2], [0.3, 0.3, 0.4]])
    kl = [np.log(1.25), 0.1 * np.log(1 / 3) + 0.2 * np.log(2 / 3) + 0.7 * np.log(7 / 4)]
    assert_close(lbx.kl_divergence(f(np.log(q)), f(p)), kl, 1e-12)  # 0.223144, 0.200777
    # focal, alpha None: BCE(2, 1) * sigmoid(-2)^2 = 0.126928 * 0.014209 = 0.001804 ...
    z, y = np.array([2.0, -1.0, 0.5, -3.0]), np.array([1.0, 0.0, 0.0, 1.0])
    sig = 1 / (1 + np.exp(-z))
    p_t = np.where(y == 1, sig, 1 - sig)
    expected = -np.log(p_t) * (1 - p_t) ** 2  # [0.001804, 0.022658, 0.377412, 2.76628]
    assert_close(lbx.sigmoid_focal_loss(f(z), f(y)), expected, 1e-12)
    # binary Dice on probabilities [.9, .8, .2, .1] (as logits), targets [1, 1, 0, 0]:
    # I = 1.7, sum p = 2, sum t = 2: 1 - (1.7 + 1) / (1.7 + .15 + .15 + 1) = 0.1; smooth 0: 0.15
    pr = np.array([0.9, 0.8, 0.2, 0.1])
    logit = f(np.log(pr / (1 - pr))[None])
    t = f([[1.0, 1.0, 0.0, 0.0]])
    assert_close(lbx.binary_dice_loss(logit, t), [0.1], 1e-12)
    assert_close(lbx.binary_dice_loss(logit, t, smooth=0.0), [0.15], 1e-12)


def test_formulas_float64():
    """Plain float64 formulas for the composed losses (optax's definitions)."""
    x = _n(8, 5)
    y = _probs(8, 5)
    lsm = x - np.log(np.exp(x).sum(-1, keepdims=True))
    ce = -(y * lsm).sum(-1)
    assert_close(lbx.softmax_cross_entropy(x, y), ce, 1e-12)
    p = np.exp(lsm)
    assert_close(lbx.poly_loss_cross_entropy(x, y), ce + 2.0 * (y * (1 - p)).sum(-1), 1e-12)
    a, b, c = _n(8, 5), _n(8, 5), _n(8, 5)
    d = lambda u, v: np.sqrt(((u - v) ** 2).sum(-1) + 1e-6)  # noqa: E731
    assert_close(lbx.triplet_margin_loss(a, b, c), np.maximum(d(a, b) - d(a, c) + 1.0, 0.0), 1e-12)
    z = np.array([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 3.0])
    labels = np.zeros_like(z)  # z used as it is: 0, 0, 1/16, 1/4, 9/16, 1, 3
    assert_close(lbx.sparsemax_loss(z, labels), [0, 0, 1 / 16, 1 / 4, 9 / 16, 1, 3], 1e-12)
    # sparsemax of [2, 1, -1]: support {0, 1}, tau = (3 - 1) / 2 = 1, p = [1, 0, 0];
    # label 1: s' = [1, 0, -2]: 1 * 1 + 0.5 (1 - 1) = 1
    assert_close(
        lbx.multiclass_sparsemax_loss(np.array([[2.0, 1.0, -1.0]]), np.array([1])), [1.0], 1e-12
    )


def test_smooth_labels_against_optax(backend):
    """smooth_labels on every backend: default axis, tuple axis, where, the binary quirk."""
    y = _onehot(_L85, 5)
    w = _mask(8, 5, empty_row=1)
    for kwargs, args in [
        ({}, dict(labels=y)),
        ({"axis": (0, 1)}, dict(labels=y)),
        ({}, dict(labels=y, where=w)),  # a fully masked row divides by 0: inf, as optax
    ]:
        expected = np.asarray(
            optax.losses.smooth_labels(
                **{k: jnp.asarray(v) for k, v in args.items()}, alpha=0.1, **kwargs
            )
        )
        conv = {k: make(backend, v) for k, v in args.items()}
        assert_close(lbx.smooth_labels(**conv, alpha=0.1, **kwargs), expected, 1e-12)
    # (N, 1) binary targets divide by K = 1: [1, 0] -> [1.0, 0.2] (reference section 3.10)
    out = lbx.smooth_labels(make(backend, np.array([[1.0], [0.0]])), 0.2)
    assert_close(out, [[1.0], [0.2]], 1e-12)


def test_fenchel_young_against_optax(backend):
    """make_fenchel_young_loss with an array-API log-sum-exp equals optax's with jax's."""
    from lossbridge.backends import get_namespace

    def lse(s):
        xp, _ = get_namespace(s)
        m = xp.max(s, axis=-1, keepdims=True)
        return xp.squeeze(m, axis=-1) + xp.log(xp.sum(xp.exp(s - m), axis=-1))

    s, t = _n(8, 5), _probs(8, 5)
    expected = optax.losses.make_fenchel_young_loss(jax.scipy.special.logsumexp)(
        jnp.asarray(s), jnp.asarray(t)
    )
    out = lbx.make_fenchel_young_loss(lse)(make(backend, s), make(backend, t))
    assert_close(out, np.asarray(expected), 1e-12)
    with pytest.raises(ValueError, match="max_fun"):
        lbx.make_fenchel_young_loss(lambda s: s)(make(backend, s), make(backend, t))
    with pytest.raises(TypeError, match="max_fun"):
        lbx.make_fenchel_young_loss(3.0)


def test_ranking_docstring_examples_and_reduce_fn(backend):
    """optax's docstring values (1.408, 0.497), ``jnp.mean`` on a non-JAX backend, a callable."""
    f = lambda a: make(backend, np.asarray(a, dtype=np.float64))  # noqa: E731
    out = lbx.ranking_softmax_loss(f([2.0, 1.0, 3.0]), f([1.0, 0.0, 0.0]))
    assert abs(float(to_numpy(out)) - 1.408) < 5e-4
    scores = f([[2.0, 1.0, 0.0], [1.0, 0.5, 1.5]])
    labels = f([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    where = np.array([[True, True, False], [True, True, True]])
    out = lbx.ranking_softmax_loss(scores, labels, where=where, reduce_fn=jnp.mean)
    assert abs(float(to_numpy(out)) - 0.497) < 5e-4
    total = lbx.ranking_softmax_loss(scores, labels, where=where, reduce_fn=np.sum)
    per = lbx.ranking_softmax_loss(scores, labels, where=where, reduce_fn=None)
    assert_close(total, to_numpy(per).sum(), 1e-12)
    seen = {}

    def custom(a, where=None):
        seen["where"] = where
        return a[0]

    out = lbx.ranking_softmax_loss(scores, labels, reduce_fn=custom)
    assert seen["where"] is None
    # list 0 unmasked: -log softmax([2, 1, 0])_0 = log(1 + e^-1 + e^-2) = 0.407606
    assert_close(out, np.log(1 + np.exp(-1) + np.exp(-2)), 1e-12)
    # every list masked: optax's _safe_reduce turns the NaN mean into 0
    out = lbx.ranking_softmax_loss(scores, labels, where=np.zeros((2, 3), dtype=bool))
    assert_close(out, 0.0, 0)


def test_ctc_reference_values(backend):
    """Reference section 3.13: the example's per-sequence losses (torch = TF = optax), built
    from log-probabilities, and the infeasible alignment's ~1e5."""
    rng = np.random.default_rng(313)  # its own draws: the module's R depends on test order
    e = np.exp(rng.standard_normal((2, 6, 4)))
    lp = np.log(e / e.sum(-1, keepdims=True))
    labels = np.array([[1, 2, 2], [3, 1, 0]])
    lpad = np.array([[0, 0, 0], [0, 0, 1.0]])
    fpad = np.array([[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1.0]])
    torch = pytest.importorskip("torch")
    expected = torch.nn.functional.ctc_loss(
        torch.tensor(lp).permute(1, 0, 2),
        torch.tensor(labels),
        torch.tensor([6, 5]),
        torch.tensor([3, 2]),
        reduction="none",
    ).numpy()
    out = lbx.ctc_loss(make(backend, lp), fpad, labels, lpad)
    assert_close(out, expected, 1e-10)
    # two frames cannot emit 1, 2, 2 (needs 4): optax's log_epsilon gives about 1e5, not inf;
    # the exact value (a logsumexp of paths through log_epsilon, which may sit just below 1e5)
    # comes from optax itself, in float32 (rtol 1e-5: a few float32 roundings per frame)
    short = np.array([[0, 0, 1, 1, 1, 1], [0, 0, 0, 0, 0, 1.0]])
    out = to_numpy(lbx.ctc_loss(make(backend, lp), short, labels, lpad))
    assert np.all(np.isfinite(out)) and abs(out[0] - 1e5) < 50
    optax = pytest.importorskip("optax")
    jnp = pytest.importorskip("jax.numpy")
    f32 = np.float32
    ref = np.asarray(
        optax.ctc_loss(
            jnp.asarray(lp, f32),
            jnp.asarray(short, f32),
            jnp.asarray(labels),
            jnp.asarray(lpad, f32),
        )
    )
    assert_close(out, ref, 1e-5)


# ------------------------------------------------------------------------------------------
# Errors, warnings, imports
# ------------------------------------------------------------------------------------------


def test_errors_name_the_argument():
    x = _n(3)
    with pytest.raises(ValueError, match=r"targets has shape \(3, 1\).*Shape mismatch"):
        lbx.squared_error(x, x[:, None])
    with pytest.raises(ValueError, match="targets"):
        lbx.l2_loss(x, x[:2])
    with pytest.raises(ValueError, match="targets"):
        lbx.perceptron_loss(x, x[:, None])
    with pytest.raises(TypeError, match="labels must have an integer dtype"):
        lbx.softmax_cross_entropy_with_integer_labels(_n(8, 5), _L85.astype(float))
    with pytest.raises(ValueError, match="labels has shape"):
        lbx.softmax_cross_entropy_with_integer_labels(_n(8, 5), _L85[:4])
    with pytest.raises(ValueError, match="axis"):
        lbx.softmax_cross_entropy_with_integer_labels(_n(8, 5), _L85, axis=None)
    with pytest.raises(ValueError, match="axis=2 is out of bounds"):
        lbx.softmax_cross_entropy(_n(8, 5), _probs(8, 5), axis=2)
    with pytest.raises(TypeError, match="labels must have a real floating dtype"):
        lbx.poly_loss_cross_entropy(_n(8, 5), np.eye(5, dtype=np.int64)[_L85])
    with pytest.raises(TypeError, match="logits must have a real floating dtype"):
        lbx.sigmoid_binary_cross_entropy(np.arange(3), np.ones(3))
    with pytest.raises(ValueError, match="labels has shape"):
        lbx.multiclass_hinge_loss(_n(8, 5), _L85[:, None])
    with pytest.raises(ValueError, match="labels holds values outside"):
        lbx.multiclass_sparsemax_loss(_n(8, 5), _L85 + 5)
    ctc = dict(logit_paddings=np.zeros((2, 6)), labels=_CTC_LABELS, label_paddings=np.zeros((2, 3)))
    with pytest.raises(ValueError, match="logits has shape .*rank 3"):
        lbx.ctc_loss(_n(6, 4), **ctc)
    with pytest.raises(ValueError, match="label_paddings"):
        lbx.ctc_loss(_n(2, 6, 4), **{**ctc, "label_paddings": np.zeros((2, 2))})
    with pytest.raises(ValueError, match="logit_paddings"):
        lbx.ctc_loss(_n(2, 6, 4), **{**ctc, "logit_paddings": np.zeros((2, 5))})
    with pytest.raises(ValueError, match="blank_id=4"):
        lbx.ctc_loss(_n(2, 6, 4), **ctc, blank_id=4)
    # optax's own test matches "valid probability distributions" (_segmentation_test.py)
    with pytest.raises(ValueError, match="predictions must be valid probability distributions"):
        lbx.dice_loss(_n(2, 4, 3), np.eye(3)[R.integers(0, 3, (2, 4))], apply_softmax=False)
    with pytest.raises(ValueError, match="predictions must be valid probability distributions"):
        lbx.binary_dice_loss(R.random((2, 4)), np.ones((2, 4)), apply_sigmoid=False)
    with pytest.raises(ValueError, match="class_weights has shape"):
        lbx.dice_loss(
            _n(2, 4, 3), np.eye(3)[R.integers(0, 3, (2, 4))], class_weights=np.ones((1, 3))
        )
    with pytest.raises(ValueError, match="reduction='max'"):
        lbx.dice_loss(_n(2, 4, 3), np.eye(3)[R.integers(0, 3, (2, 4))], reduction="max")
    with pytest.raises(TypeError, match="delta must be a real number"):
        lbx.huber_loss(x, delta="1")
    with pytest.raises(TypeError, match="reduce_fn"):
        lbx.ranking_softmax_loss(_n(2, 3), np.ones((2, 3)), reduce_fn="mean")


def test_convex_kl_divergence_warns_like_optax():
    lp, t = np.log(_probs(4, 3)), _probs(4, 3)
    with pytest.warns(DeprecationWarning) as ours:
        out = lbx.convex_kl_divergence(lp, t)
    with pytest.warns(DeprecationWarning) as theirs:
        expected = optax.losses.convex_kl_divergence(jnp.asarray(lp), jnp.asarray(t))
    assert str(ours[0].message) == str(theirs[0].message)
    assert_close(out, np.asarray(expected), 1e-12)


def test_import_loads_no_framework():
    code = (
        "import sys; import lossbridge.optax; "
        "print([m for m in ('numpy', 'torch', 'tensorflow', 'jax', 'optax') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


# ------------------------------------------------------------------------------------------
# Half precision: optax's dtypes, values no further from float64 than optax's own
# ------------------------------------------------------------------------------------------
#
# optax computes every step in the input's half dtype; lossbridge computes in float32 and
# rounds once. Expected: optax's result dtype on the same half inputs, and the float64 value of
# optax on the inputs rounded to the half dtype (x64 is on in this process); ours within
# max(optax's own distance, 1 ulp). Four losses give float32 in optax (JAX's default float
# dtype enters through one_hot and the CTC recursion; float64 when x64 is on, as here):
# ``test_half_float32_losses_match_optax_without_x64`` checks optax's float32 in a process
# without x64.

_HB = [b for b in ("numpy", "torch", "jax", "tensorflow") if importlib.util.find_spec(b)]
_RH = np.random.default_rng(5)
_NH, _CH = 8, 6


def _hprobs():
    return _RH.dirichlet(np.ones(_CH), _NH)


def _h(*shape, scale=1.0):
    return scale * _RH.standard_normal(shape)


def _hbits(*shape):
    return _RH.integers(0, 2, shape).astype(float)


HALF_CASES = {
    "sigmoid_binary_cross_entropy": ((_h(_NH, _CH, scale=2), _hbits(_NH, _CH)), {}),
    "softmax_cross_entropy": ((_h(_NH, _CH, scale=2), _hprobs()), {}),
    "softmax_cross_entropy_with_integer_labels": (
        (_h(_NH, _CH, scale=2), _RH.integers(0, _CH, _NH)),
        {},
    ),
    "safe_softmax_cross_entropy": ((_h(_NH, _CH, scale=2), _hprobs()), {}),
    "poly_loss_cross_entropy": (
        (_h(_NH, _CH, scale=2), np.eye(_CH)[_RH.integers(0, _CH, _NH)]),
        {},
    ),
    "sigmoid_focal_loss": ((_h(_NH, _CH, scale=2), _hbits(_NH, _CH)), {"alpha": 0.25}),
    "kl_divergence": ((np.log(_hprobs()), _hprobs()), {}),
    "kl_divergence_with_log_targets": ((np.log(_hprobs()), np.log(_hprobs())), {}),
    "generalized_kl_divergence": ((np.log(_hprobs()), _hprobs()), {}),
    "squared_error": ((_h(_NH, _CH), _h(_NH, _CH)), {}),
    "l2_loss": ((_h(_NH, _CH), _h(_NH, _CH)), {}),
    "huber_loss": ((_h(_NH, _CH, scale=2), _h(_NH, _CH)), {}),
    "log_cosh": ((_h(_NH, _CH, scale=2), _h(_NH, _CH)), {}),
    "cosine_similarity": ((_h(_NH, _CH), _h(_NH, _CH)), {}),
    "cosine_distance": ((_h(_NH, _CH), _h(_NH, _CH)), {}),
    "hinge_loss": ((_h(_NH), np.sign(_h(_NH))), {}),
    "perceptron_loss": ((_h(_NH), np.sign(_h(_NH))), {}),
    "multiclass_hinge_loss": ((_h(_NH, _CH), _RH.integers(0, _CH, _NH)), {}),
    "multiclass_perceptron_loss": ((_h(_NH, _CH), _RH.integers(0, _CH, _NH)), {}),
    "sparsemax_loss": ((_h(_NH), _hbits(_NH)), {}),
    "multiclass_sparsemax_loss": ((_h(_NH, _CH), _RH.integers(0, _CH, _NH)), {}),
    "ntxent": ((_h(_NH, 4), np.repeat(np.arange(_NH // 2), 2)), {}),
    "triplet_margin_loss": ((_h(_NH, 4), _h(_NH, 4), _h(_NH, 4)), {}),
    "dice_loss": ((_h(_NH, _CH), np.eye(_CH)[_RH.integers(0, _CH, _NH)]), {}),
    "binary_dice_loss": ((_h(_NH, 1), _hbits(_NH, 1)), {}),
    "multiclass_generalized_dice_loss": (
        (_h(_NH, _CH), np.eye(_CH)[_RH.integers(0, _CH, _NH)]),
        {},
    ),
    "ranking_softmax_loss": ((_h(_NH, _CH), _hbits(_NH, _CH)), {}),
    "smooth_labels": ((0.9 * np.eye(_CH)[_RH.integers(0, _CH, _NH)] + 0.01,), {"alpha": 0.1}),
    "ctc_loss": (
        (
            _h(2, 12, 5),
            np.zeros((2, 12)),
            np.array([[1, 2, 3, 0], [2, 2, 4, 1]]),
            np.array([[0.0, 0, 0, 1], [0, 0, 0, 0]]),
        ),
        {},
    ),
}
#: optax returns JAX's default float dtype for these on half inputs (float32 without x64).
FLOAT32_RESULT = {
    "multiclass_hinge_loss",
    "multiclass_perceptron_loss",
    "multiclass_sparsemax_loss",
    "ctc_loss",
}


def _h64(x):
    mod = type(x).__module__
    if mod.startswith("torch"):
        return x.detach().float().numpy().astype(np.float64)
    if mod.startswith("tensorflow"):
        import tensorflow as tf

        return tf.cast(x, tf.float64).numpy()
    return np.asarray(x).astype(np.float64)


def test_half_cases_cover_every_loss():
    covered = set(HALF_CASES) | {
        "convex_kl_divergence",  # deprecated alias of generalized_kl_divergence
        "ctc_loss_with_forward_probs",  # ctc_loss's recursion (test_half_float32_losses...)
        "make_fenchel_young_loss",  # test_every_loss_goes_through_the_half_rule
    }
    assert covered == set(lbx.__all__)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", sorted(HALF_CASES))
def test_half_dtype_and_value_against_optax(name, dtype):
    args, kw = HALF_CASES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = _h64(
            getattr(optax.losses, name)(*[jnp.asarray(round_to(a, dtype)) for a in args], **kw)
        )
        theirs = getattr(optax.losses, name)(*[backend_array("jax", a, dtype) for a in args], **kw)
    expected_dtype = "float32" if name in FLOAT32_RESULT else dtype
    assert dtype_name(theirs) == ("float64" if name in FLOAT32_RESULT else dtype)
    bound = max(ulps(_h64(theirs), want, dtype), 1.0)
    for backend in _HB:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = getattr(lbx, name)(*[backend_array(backend, a, dtype) for a in args], **kw)
        assert dtype_name(out) == expected_dtype, backend
        err = ulps(_h64(out), want, dtype)
        assert err <= bound, f"{backend}: {err:.3g} ulp of {dtype} (optax: {bound:.3g})"


def test_half_float32_losses_match_optax_without_x64():
    """Without x64 (JAX's default), optax returns float32 for these four on half inputs; so do
    we (and for ctc_loss_with_forward_probs, all three outputs)."""
    code = (
        "import numpy as np, jax.numpy as jnp, optax\n"
        "from lossbridge import optax as lbx\n"
        "s = jnp.asarray(np.linspace(-1, 1, 20).reshape(4, 5), jnp.bfloat16)\n"
        "y = jnp.asarray([0, 1, 2, 3])\n"
        "for n in ('multiclass_hinge_loss', 'multiclass_perceptron_loss',\n"
        "          'multiclass_sparsemax_loss'):\n"
        "    for x in (s, s.astype(jnp.float16)):\n"
        "        a, b = getattr(optax.losses, n)(x, y), getattr(lbx, n)(x, y)\n"
        "        assert a.dtype == b.dtype == jnp.float32, (n, a.dtype, b.dtype)\n"
        "lg = jnp.asarray(np.linspace(-2, 2, 60).reshape(2, 6, 5), jnp.float16)\n"
        "args = (lg, jnp.zeros((2, 6), jnp.float16), jnp.asarray([[1, 2], [2, 3]]),\n"
        "        jnp.zeros((2, 2), jnp.float16))\n"
        "for n in ('ctc_loss', 'ctc_loss_with_forward_probs'):\n"
        "    a, b = getattr(optax.losses, n)(*args), getattr(lbx, n)(*args)\n"
        "    a, b = (a if isinstance(a, tuple) else (a,)), (b if isinstance(b, tuple) else (b,))\n"
        "    assert [x.dtype for x in a] == [x.dtype for x in b] == [jnp.float32] * len(a), n\n"
    )
    subprocess.run([sys.executable, "-W", "ignore", "-c", code], check=True)


def test_every_loss_goes_through_the_half_rule():
    """Every function computes half inputs in float32 (the precision wrapper), including the
    function ``make_fenchel_young_loss`` returns: a bfloat16 call is within 1 ulp of float64."""
    for name in lbx.__all__:
        if name != "make_fenchel_young_loss":
            assert hasattr(getattr(lbx, name), "__lossbridge_precision__"), name
    fy = lbx.make_fenchel_young_loss(lambda s: jnp.log(jnp.sum(jnp.exp(s), axis=-1)))
    assert hasattr(fy, "__lossbridge_precision__")
    s, t = _h(4, 5, scale=2), np.eye(5)[[0, 3, 1, 4]]
    sb = round_to(s, "bfloat16")
    want = np.log(np.exp(sb).sum(-1)) - (t * sb).sum(-1)
    out = fy(backend_array("jax", s, "bfloat16"), backend_array("jax", t, "bfloat16"))
    assert dtype_name(out) == "bfloat16" and ulps(_h64(out), want, "bfloat16") <= 1.0


def test_half_constants_do_not_overflow():
    """optax's 1 / (freq**2 + 1e-7) in float16 overflows to inf (a class absent from the
    batch) and its loss is NaN; computed in float32 it is finite and within 1 ulp."""
    x = _h(6, 3)
    t = np.eye(3)[[0, 1, 0, 1, 0, 1]]  # class 2 absent
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = optax.losses.multiclass_generalized_dice_loss(
            backend_array("jax", x, "float16"), backend_array("jax", t, "float16")
        )
        want = _h64(
            optax.losses.multiclass_generalized_dice_loss(jnp.asarray(round_to(x, "float16")), t)
        )
    assert not np.isfinite(_h64(theirs))
    for backend in _HB:
        out = lbx.multiclass_generalized_dice_loss(
            backend_array(backend, x, "float16"), backend_array(backend, t, "float16")
        )
        assert dtype_name(out) == "float16" and ulps(_h64(out), want, "float16") <= 1.0


# ------------------------------------------------------------------------------------------
# Array hyperparameters (issue 18, item 4): optax types them ArrayLike
# ------------------------------------------------------------------------------------------
#
# Every hyperparameter optax takes as ``jax.typing.ArrayLike`` and uses arithmetically is
# accepted as a Python number or an array of the call's framework, traced values included
# (``jax.jit`` arguments, ``jax.grad`` tracers, ``tf.function`` tensors, ``tf.Variable``,
# ``torch.compile``). Expected values and gradients: optax's own function and ``jax.grad``
# of it, at float64 (x64 is on in the test process).

_RA = np.random.default_rng(18)
_TRIPLET = dict(anchors=_RA.standard_normal((5, 3)), positives=_RA.standard_normal((5, 3)))
_TRIPLET["negatives"] = _RA.standard_normal((5, 3))
_SEG = dict(
    predictions=_RA.standard_normal((2, 3, 3)), targets=np.eye(3)[_RA.integers(0, 3, (2, 3))]
)
_CTC_ARGS = dict(
    logits=_RA.standard_normal((2, 6, 4)),
    logit_paddings=np.array([[0.0] * 6, [0.0] * 5 + [1.0]]),
    labels=np.array([[1, 2, 2], [3, 1, 0]]),
    label_paddings=np.array([[0.0, 0, 0], [0, 0, 1]]),
)
# (id, function, arrays, hyperparameter, its value, other keyword arguments)
HYPER_CASES = [
    (
        "huber_delta",
        "huber_loss",
        dict(predictions=2 * _RA.standard_normal((4, 3)), targets=_RA.standard_normal((4, 3))),
        "delta",
        0.7,
        {},
    ),
    (
        "focal_alpha",
        "sigmoid_focal_loss",
        dict(
            logits=2 * _RA.standard_normal((4, 3)), labels=_RA.integers(0, 2, (4, 3)).astype(float)
        ),
        "alpha",
        0.3,
        {},
    ),
    (
        "focal_gamma",
        "sigmoid_focal_loss",
        dict(
            logits=2 * _RA.standard_normal((4, 3)), labels=_RA.integers(0, 2, (4, 3)).astype(float)
        ),
        "gamma",
        1.5,
        {"alpha": 0.25},
    ),
    (
        "poly_epsilon",
        "poly_loss_cross_entropy",
        dict(logits=_RA.standard_normal((4, 5)), labels=np.eye(5)[[0, 3, 1, 4]]),
        "epsilon",
        1.5,
        {},
    ),
    # rows not summing to 1: the summed output depends on alpha
    (
        "smooth_labels_alpha",
        "smooth_labels",
        dict(labels=0.9 * np.eye(4)[[0, 3, 1]]),
        "alpha",
        0.2,
        {},
    ),
    ("ctc_log_epsilon", "ctc_loss", _CTC_ARGS, "log_epsilon", -8.0, {}),
    (
        "ntxent_temperature",
        "ntxent",
        dict(embeddings=_RA.standard_normal((6, 3)), labels=np.array([0, 0, 1, 1, 2, 2])),
        "temperature",
        0.3,
        {},
    ),
    ("triplet_margin", "triplet_margin_loss", _TRIPLET, "margin", 0.8, {}),
    ("triplet_eps", "triplet_margin_loss", _TRIPLET, "eps", 1e-2, {}),
    (
        "triplet_norm_degree",  # even: the power sum stays positive (optax takes no abs)
        "triplet_margin_loss",
        _TRIPLET,
        "norm_degree",
        4.0,
        {},
    ),
    ("dice_smooth", "dice_loss", _SEG, "smooth", 0.5, {}),
    ("dice_alpha", "dice_loss", _SEG, "alpha", 0.3, {}),
    ("dice_beta", "dice_loss", _SEG, "beta", 0.7, {}),
    (
        "binary_dice_smooth",
        "binary_dice_loss",
        dict(predictions=_RA.standard_normal((2, 4)), targets=_RA.integers(0, 2, (2, 4)) * 1.0),
        "smooth",
        0.5,
        {},
    ),
    ("generalized_dice_smooth", "multiclass_generalized_dice_loss", _SEG, "smooth", 0.5, {}),
    (
        "cosine_epsilon",
        "cosine_similarity",
        dict(predictions=0.3 * _RA.standard_normal((4, 3)), targets=_RA.standard_normal((4, 3))),
        "epsilon",
        0.5,
        {},
    ),
    (
        "cosine_distance_epsilon",
        "cosine_distance",
        dict(predictions=0.3 * _RA.standard_normal((4, 3)), targets=_RA.standard_normal((4, 3))),
        "epsilon",
        0.5,
        {},
    ),
]
HYPER_IDS = [c[0] for c in HYPER_CASES]


def _optax_with(name, arrays, kwargs, hyper, value):
    """optax's value, float64, with the hyperparameter as a jnp float64 0-d array."""
    fn = getattr(optax.losses, name)
    out = fn(**{k: jnp.asarray(v) for k, v in arrays.items()}, **kwargs, **{hyper: value})
    return np.asarray(out, dtype=np.float64)


def _optax_hyper_grad(name, arrays, kwargs, hyper, value):
    """``jax.grad`` of optax's summed output w.r.t. the hyperparameter."""
    fn = getattr(optax.losses, name)
    conv = {k: jnp.asarray(v) for k, v in arrays.items()}
    return float(
        jax.grad(lambda h: jnp.sum(fn(**conv, **kwargs, **{hyper: h})))(jnp.float64(value))
    )


@pytest.mark.parametrize("case", HYPER_CASES, ids=HYPER_IDS)
def test_array_hyperparameter_jit_and_eager_against_optax(case):
    """``jax.jit(f)(..., hyper=v)`` (the hyperparameter traced), ``jax.jit`` of a 0-d array
    argument and an eager 0-d ``jnp`` array give optax's values (all raised TypeError)."""
    _, name, arrays, hyper, value, kwargs = case
    expected = _optax_with(name, arrays, kwargs, hyper, jnp.float64(value))
    conv = {k: jnp.asarray(v) for k, v in arrays.items()}
    fn = getattr(lbx, name)
    jitted = jax.jit(lambda a, h: fn(**a, **kwargs, **{hyper: h}))(conv, jnp.float64(value))
    assert_close(jitted, expected, rtol=1e-12, atol=1e-12)
    as_kwarg = jax.jit(fn)(**conv, **kwargs, **{hyper: value})  # the call
    assert_close(as_kwarg, expected, rtol=1e-12, atol=1e-12)
    eager = fn(**conv, **kwargs, **{hyper: jnp.asarray(value)})
    assert dtype_name(eager) == "float64"
    assert_close(eager, expected, rtol=1e-12, atol=1e-12)


_HYPER_GRAD = [c for c in HYPER_CASES if c[3] != "norm_degree"]  # d/dn of d**n: log of d < 0


@pytest.mark.parametrize("case", _HYPER_GRAD, ids=[c[0] for c in _HYPER_GRAD])
def test_array_hyperparameter_gradients_against_optax(case):
    """The gradient w.r.t. the hyperparameter, through ``jax.grad``, torch autograd (a tensor
    that requires grad) and a TensorFlow ``GradientTape`` (a ``tf.Variable``), equals
    ``jax.grad`` of optax's; the values equal optax's."""
    _, name, arrays, hyper, value, kwargs = case
    expected = _optax_hyper_grad(name, arrays, kwargs, hyper, value)
    value_expected = _optax_with(name, arrays, kwargs, hyper, jnp.float64(value))
    assert np.isfinite(expected) and expected != 0.0
    fn = getattr(lbx, name)
    tol = dict(rtol=1e-10, atol=1e-12)

    conv = {k: jnp.asarray(v) for k, v in arrays.items()}
    g = jax.grad(lambda h: jnp.sum(fn(**conv, **kwargs, **{hyper: h})))(jnp.float64(value))
    np.testing.assert_allclose(float(g), expected, **tol)

    torch = pytest.importorskip("torch")
    conv = {k: torch.from_numpy(np.asarray(v)) for k, v in arrays.items()}
    h = torch.tensor(value, dtype=torch.float64, requires_grad=True)
    out = fn(**conv, **kwargs, **{hyper: h})
    assert_close(out, value_expected, rtol=1e-12, atol=1e-12)
    out.sum().backward()
    np.testing.assert_allclose(float(h.grad), expected, **tol)

    tf = pytest.importorskip("tensorflow")
    conv = {k: tf.constant(v) for k, v in arrays.items()}
    var = tf.Variable(value, dtype=tf.float64)
    with tf.GradientTape() as tape:
        out = fn(**conv, **kwargs, **{hyper: var})
        total = tf.reduce_sum(out)
    assert_close(out, value_expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(float(tape.gradient(total, var)), expected, **tol)


@pytest.mark.parametrize("case", HYPER_CASES, ids=HYPER_IDS)
def test_array_hyperparameter_on_every_backend(backend, case):
    """A 0-d array of the call's own framework (a NumPy 0-d array for NumPy) gives optax's
    numbers, float64 stays float64."""
    _, name, arrays, hyper, value, kwargs = case
    expected = _optax_with(name, arrays, kwargs, hyper, jnp.float64(value))
    conv = {k: make(backend, v, "float64") for k, v in arrays.items()}
    h = make(backend, np.float64(value), "float64")
    out = getattr(lbx, name)(**conv, **kwargs, **{hyper: h})
    assert dtype_name(out) == "float64"
    assert_close(out, expected, rtol=1e-12, atol=1e-12)


def test_traced_hyperparameters_tf_function_and_torch_compile():
    """A symbolic ``tf.function`` tensor and a ``torch.compile(fullgraph=True)`` tensor
    hyperparameter (its value checks skipped inside the trace) give optax's numbers."""
    _, name, arrays, hyper, value, kwargs = HYPER_CASES[HYPER_IDS.index("ntxent_temperature")]
    expected = _optax_with(name, arrays, kwargs, hyper, jnp.float64(value))
    tf = pytest.importorskip("tensorflow")
    torch = pytest.importorskip("torch")
    emb, lab = arrays["embeddings"], arrays["labels"]
    f = tf.function(lambda e, t: lbx.ntxent(e, lab, temperature=t))
    assert_close(f(tf.constant(emb), tf.constant(value, tf.float64)), expected, rtol=1e-12)
    _, _, harr, _, hval, _ = HYPER_CASES[0]
    want = _optax_with("huber_loss", harr, {}, "delta", jnp.float64(hval))
    g = tf.function(lambda p, t, d: lbx.huber_loss(p, t, delta=d))
    got = g(
        tf.constant(harr["predictions"]),
        tf.constant(harr["targets"]),
        tf.constant(hval, tf.float64),
    )
    assert_close(got, want, rtol=1e-12)
    c = torch.compile(
        lambda e, t: lbx.ntxent(e, torch.from_numpy(lab), t), fullgraph=True, backend="aot_eager"
    )
    got = c(torch.from_numpy(emb), torch.tensor(value, dtype=torch.float64))
    assert_close(got, expected, rtol=1e-12)


_DX, _DT = _RA.standard_normal((4, 3)), _RA.standard_normal((4, 3))


def _dtype_case(backend, dtype, hyper_dtype):
    """``(ours, optax's)`` huber_loss on ``dtype`` inputs, ``delta`` 0.7 as a Python float
    (``hyper_dtype`` None) or a 0-d array of ``hyper_dtype``."""
    args = [backend_array(backend, a, dtype) for a in (_DX, _DT)]
    delta = 0.7 if hyper_dtype is None else backend_array(backend, np.float64(0.7), hyper_dtype)
    return lbx.huber_loss(*args, delta=delta), optax.losses.huber_loss(
        *[backend_array("jax", a, dtype) for a in (_DX, _DT)],
        delta=0.7 if hyper_dtype is None else backend_array("jax", np.float64(0.7), hyper_dtype),
    )


@pytest.mark.parametrize(
    "dtype, hyper_dtype",
    [
        ("float32", "float32"),  # float32 stays float32
        ("float32", None),  # a Python float is weak
        ("bfloat16", None),
        ("bfloat16", "bfloat16"),
        ("bfloat16", "float32"),  # an array promotes: float32, as optax
        ("float16", "float32"),
    ],
)
def test_array_hyperparameter_result_dtype_follows_optax(dtype, hyper_dtype):
    """The result dtype is optax's: an array hyperparameter promotes like an array (JAX's
    rule, on every backend), a Python float does not. Half inputs still compute in float32:
    the value is the float64 value on the same (rounded) inputs and delta, rounded once (1 ulp
    of a half result; a float32 result after five float32 operations, 4 ulp)."""
    d = 0.7 if hyper_dtype is None else float(round_to(0.7, hyper_dtype))
    e = np.abs(round_to(_DX, dtype) - round_to(_DT, dtype))
    q = np.minimum(e, d)
    want = 0.5 * q * q + d * (e - q)
    for backend in _HB:
        ours, theirs = _dtype_case(backend, dtype, hyper_dtype)
        out_dtype = dtype_name(theirs)
        assert dtype_name(ours) == out_dtype, backend
        assert ulps(_h64(ours), want, out_dtype) <= (4.0 if out_dtype == "float32" else 1.0)
    for name in ("huber_loss", "sigmoid_focal_loss", "dice_loss", "cosine_similarity"):
        args, _ = HALF_CASES[name]
        key = {
            "huber_loss": "delta",
            "sigmoid_focal_loss": "gamma",
            "dice_loss": "smooth",
            "cosine_similarity": "epsilon",
        }[name]
        if hyper_dtype is None:
            continue
        h = backend_array("jax", np.float64(0.5), hyper_dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = getattr(optax.losses, name)(
                *[backend_array("jax", a, dtype) for a in args], **{key: h}
            )
            for backend in _HB:
                ours = getattr(lbx, name)(
                    *[backend_array(backend, a, dtype) for a in args],
                    **{key: backend_array(backend, np.float64(0.5), hyper_dtype)},
                )
                assert dtype_name(ours) == dtype_name(theirs), (name, backend)


def test_array_hyperparameter_errors_name_the_loss_and_argument():
    x, t = _n(4, 3), _n(4, 3)
    with pytest.raises(TypeError, match="huber_loss: delta must be a real number or an array"):
        lbx.huber_loss(x, t, delta="1")
    with pytest.raises(TypeError, match="huber_loss: delta must be a real number"):
        lbx.huber_loss(x, t, delta=None)
    with pytest.raises(TypeError, match="huber_loss: delta must be a real number"):
        lbx.huber_loss(x, t, delta=True)
    with pytest.raises(TypeError, match="huber_loss: delta .* dtype bool"):
        lbx.huber_loss(x, t, delta=np.array(True))
    with pytest.raises(TypeError, match="huber_loss: delta .* dtype complex128"):
        lbx.huber_loss(x, t, delta=np.array(1 + 1j))
    with pytest.raises(TypeError, match="ntxent: temperature must be a real number"):
        lbx.ntxent(_n(4, 3), np.array([0, 0, 1, 1]), temperature="0.1")
    with pytest.raises(TypeError, match="smooth_labels: alpha must be a real number"):
        lbx.smooth_labels(np.eye(3), [0.1])
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="huber_loss: delta is a torch array but predictions"):
        lbx.huber_loss(jnp.asarray(x), jnp.asarray(t), delta=torch.tensor(1.0))
    with pytest.raises(ValueError, match="ctc_loss: log_epsilon must be a real number or a 0-d"):
        lbx.ctc_loss(**_CTC_ARGS, log_epsilon=np.full(2, -1e5))
    with pytest.raises(ValueError, match="triplet_margin_loss: norm_degree .* 0-d"):
        lbx.triplet_margin_loss(**_TRIPLET, norm_degree=np.array([2.0, 2.0]))
    with pytest.raises(ValueError, match=r"huber_loss: delta has shape \(2,\) but predictions"):
        lbx.huber_loss(x, t, delta=np.ones(2))
    # value checks: concrete values only (optax checks none; lossbridge's ntxent needs > 0)
    emb, lab = _n(4, 3), np.array([0, 0, 1, 1])
    for bad in (0.0, -0.5):
        with pytest.raises(ValueError, match="ntxent: temperature must be"):
            lbx.ntxent(emb, lab, temperature=bad)
        with pytest.raises(ValueError, match="ntxent: temperature must be finite and > 0"):
            lbx.ntxent(jnp.asarray(emb), jnp.asarray(lab), temperature=jnp.asarray(bad))
    traced = jax.jit(lambda t: lbx.ntxent(jnp.asarray(emb), jnp.asarray(lab), temperature=t))
    assert np.isfinite(float(traced(jnp.asarray(-0.5))))  # no value is read inside jit
    # a broadcastable array is accepted where optax broadcasts it (one delta per column)
    per_col = np.array([0.5, 1.0, 2.0])
    want = optax.losses.huber_loss(jnp.asarray(x), jnp.asarray(t), delta=jnp.asarray(per_col))
    assert_close(lbx.huber_loss(x, t, delta=per_col), np.asarray(want), rtol=1e-12)
