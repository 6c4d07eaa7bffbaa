"""``lossbridge.tfa``'s online-mining losses against TF Addons 0.23 itself.

The registry (``conformance/extra_tfa_mining.py``) checks the classes' values and gradients on
every backend and dtype against float64 NumPy references and TF Addons' values. This file runs
TF Addons 0.23's own functions (the vendored ``tests/vendor/tfa/losses/triplet.py``,
``lifted.py``, ``npairs.py`` and ``metric_learning.py``, executed on TensorFlow 2.21 by
``lossbridge.conformance.extra_tfa.tfa_module``) and compares with them, in float32 (TFA has no
float64 triplet or lifted loss: it multiplies float32 masks with the distances) and float16:

* values and gradients with respect to the embeddings (``tf.GradientTape`` over TFA's code) of
  the functional forms on NumPy, torch, JAX and TensorFlow, for every ``distance_metric``,
  ``soft``, margins and label shapes;
* the numerics the brief names: duplicated embeddings (a zero distance off the diagonal: TFA's
  ``1e-16`` under the root and its zero gradient), empty selections (a class of one row, a
  batch of one class, a batch of distinct labels), float16/bfloat16 computed in float32 and
  rounded once, float labels (Keras 3 hands ``y_true`` over as float32);
* the classes: TFA's constructor parameters and defaults (read from TFA's own classes),
  ``get_config``/``from_config``, calls equal to the functions;
* jax.jit, tf.function and torch.compile of the functions; the errors.

Tolerances: float32 sums of at most a few hundred terms of size O(1) through a square root:
rtol 2e-6 on values, 2e-5 on gradients (TFA's float32 Gram-matrix distances against the same
formula on another framework's kernels: a few ulps of the largest squared norm, divided by the
distance). Half results: within one ulp of TFA's half result, both being float32 computations
rounded once.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
from _helpers import backend_array, dtype_name, to_numpy

from lossbridge import tfa

tf = pytest.importorskip("tensorflow")
torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

from lossbridge.conformance import extra_tfa_mining as ref  # noqa: E402
from lossbridge.conformance.extra_tfa import tfa_available, tfa_module  # noqa: E402

if tfa_available() is not None:  # pragma: no cover - a source checkout has tests/vendor
    pytest.skip(tfa_available(), allow_module_level=True)

BACKENDS = ("numpy", "torch", "jax", "tensorflow")
AUTODIFF = ("torch", "jax", "tensorflow")
R = np.random.default_rng(20261207)
E = R.standard_normal((8, 4))
Y = np.array([0, 1, 0, 2, 1, 0, 2, 1])
Y_SINGLETON = np.array([0, 1, 0, 2, 1, 0, 1, 1])  # class 2 has one row: no positive
S = 2.0 * R.standard_normal((8, 8))
ML = np.array(
    [[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1], [1, 0, 0], [0, 1, 1], [1, 0, 0], [0, 1, 0]]
)
VALUE_RTOL, GRAD_RTOL = 2e-6, 2e-5


def triplet():
    return tfa_module("losses.triplet")


def _dot(x):
    """TFA's docstring callable (``tf.linalg.matmul(x, x, transpose_b=True)``), any backend."""
    return ref.dot_distance(x)


# ------------------------------------------------------------------------------------------
# TF Addons and lossbridge, values and gradients
# ------------------------------------------------------------------------------------------


def tfa_value_and_grad(fn, y_true, y_pred, dtype="float32", **kwargs):
    """TFA's ``fn(y_true, y_pred, **kwargs)`` and its gradient w.r.t. ``y_pred`` (TF)."""
    x = tf.constant(np.asarray(y_pred, np.float32 if dtype != "float64" else np.float64))
    x = tf.cast(x, dtype)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = fn(tf.constant(y_true), x, **kwargs)
    g = tape.gradient(out, x)
    return np.float64(tf.cast(out, tf.float64)), to_numpy(tf.cast(g, tf.float64))


def ours_value_and_grad(backend, fn, y_true, y_pred, dtype="float32", **kwargs):
    """lossbridge's ``fn`` on ``backend`` and its gradient w.r.t. ``y_pred`` (None: NumPy)."""
    x = backend_array(backend, y_pred, dtype)
    t = backend_array(backend, y_true)
    if backend == "numpy":
        return np.float64(fn(t, x, **kwargs)), None
    if backend == "torch":
        x = x.clone().requires_grad_(True)
        out = fn(t, x, **kwargs)
        out.backward()
        return np.float64(out.detach().double()), to_numpy(x.grad.double())
    if backend == "jax":
        out, g = jax.value_and_grad(lambda v: fn(t, v, **kwargs))(x)
        return np.float64(out), to_numpy(g)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = fn(t, x, **kwargs)
    return np.float64(tf.cast(out, tf.float64)), to_numpy(tf.cast(tape.gradient(out, x), "float64"))


def _close(got, expected, rtol):
    got, expected = np.asarray(got, np.float64), np.asarray(expected, np.float64)
    scale = float(np.max(np.abs(expected))) if expected.size else 0.0
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * max(scale, 1e-30))


TRIPLET_CASES = [
    ("semihard", {}),
    ("semihard", {"margin": 0.3, "distance_metric": "squared-L2"}),
    ("semihard", {"distance_metric": "angular", "margin": 0.2}),
    ("semihard", {"distance_metric": _dot}),
    ("hard", {}),
    ("hard", {"soft": True}),
    ("hard", {"distance_metric": "angular", "margin": 0.5}),
    ("hard", {"distance_metric": "squared-L2", "soft": True}),
    ("hard", {"distance_metric": _dot, "margin": 2.0}),
]


def _pair(kind):
    """(lossbridge function, TFA function) of a triplet kind."""
    if kind == "semihard":
        return tfa.triplet_semihard_loss, triplet().triplet_semihard_loss
    return tfa.triplet_hard_loss, triplet().triplet_hard_loss


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(
    ("kind", "kwargs"), TRIPLET_CASES, ids=[f"{k}-{i}" for i, (k, _) in enumerate(TRIPLET_CASES)]
)
@pytest.mark.parametrize("labels", [Y, Y_SINGLETON], ids=["three_classes", "singleton"])
def test_triplet_matches_tfa(backend, kind, kwargs, labels):
    ours, theirs = _pair(kind)
    expected, expected_grad = tfa_value_and_grad(theirs, labels, E, **kwargs)
    got, grad = ours_value_and_grad(backend, ours, labels, E, **kwargs)
    _close(got, expected, VALUE_RTOL)
    if grad is not None:
        _close(grad, expected_grad, GRAD_RTOL)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("margin", [1.0, 0.4])
def test_lifted_matches_tfa(backend, margin):
    lifted = tfa_module("losses.lifted").lifted_struct_loss
    expected, expected_grad = tfa_value_and_grad(lifted, Y_SINGLETON, E, margin=margin)
    got, grad = ours_value_and_grad(backend, tfa.lifted_struct_loss, Y_SINGLETON, E, margin=margin)
    _close(got, expected, VALUE_RTOL)
    if grad is not None:
        _close(grad, expected_grad, GRAD_RTOL)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_npairs_match_tfa(backend, dtype):
    """TF Addons' npairs losses do run in float64: both dtypes (float64 rtol 1e-12)."""
    npairs = tfa_module("losses.npairs")
    rtol = (VALUE_RTOL, GRAD_RTOL) if dtype == "float32" else (1e-12, 1e-12)
    for ours, theirs, labels in (
        (tfa.npairs_loss, npairs.npairs_loss, Y),
        (tfa.npairs_multilabel_loss, npairs.npairs_multilabel_loss, ML),
    ):
        expected, expected_grad = tfa_value_and_grad(theirs, labels, S, dtype)
        got, grad = ours_value_and_grad(backend, ours, labels, S, dtype)
        _close(got, expected, rtol[0])
        if grad is not None:
            _close(grad, expected_grad, rtol[1])


def test_the_registry_cases_exercise_the_fallbacks():
    """Semi-hard's fallback (no negative beyond the positive) and an anchor without positives
    occur in the registry's inputs, so the matrix checks them on every backend."""
    entry = {e.name: e for e in ref.ENTRIES}
    fallbacks = 0
    for case in entry["tfa.TripletSemiHardLoss"].cases:
        inputs = case.inputs()
        y = inputs["y_true"].reshape(-1)
        d = ref.distances(inputs["y_pred"], case.kwargs.get("distance_metric", "L2"))
        for a in range(8):
            negatives = [d[a, k] for k in range(8) if y[k] != y[a]]
            for p in range(8):
                if p != a and y[p] == y[a] and not any(v > d[a, p] for v in negatives):
                    fallbacks += 1
    assert fallbacks > 0
    lonely = [
        c.label
        for c in entry["tfa.TripletHardLoss"].cases
        if min(np.unique(c.inputs()["y_true"], return_counts=True)[1]) == 1
    ]
    assert lonely


# ------------------------------------------------------------------------------------------
# Numerics: zero distances, empty selections, half precision, labels
# ------------------------------------------------------------------------------------------


def _exact_rows() -> np.ndarray:
    """(8, 4) multiples of 1/4 in [-4, 4], rows 6 and 7 repeating rows 0 and 1: every squared
    distance (TFA's ``|a|^2 + |b|^2 - 2 a.b``) is exact in float32, so the repeated rows are at
    distance exactly 0 on every framework. Apart from the ties the repeated rows make (an
    anchor is as far from row 0 as from row 6: TensorFlow's ``reduce_min`` and lossbridge both
    split the gradient evenly between them), the distances of a row are distinct."""
    r = np.random.default_rng(7)
    while True:
        e = r.integers(-16, 17, (6, 4)) / 4.0
        e = np.concatenate([e, e[:2]])
        d = ref.distances(e, "squared-L2")
        rows = [sorted(set(np.round(d[i], 9))) for i in range(8)]
        if all(len(v) == 6 for v in rows):
            return e


DUPLICATES = _exact_rows()  # rows 6, 7 repeat rows 0, 1: zero distances
Y_DUP = np.array([0, 1, 2, 0, 1, 2, 0, 1])  # ... between positives (0, 6) and (1, 7)


@pytest.mark.parametrize("backend", AUTODIFF)
@pytest.mark.parametrize("kind", ["semihard", "hard", "lifted"])
def test_zero_distance_gradient_is_tfas(backend, kind):
    """Two equal rows: TFA's squared distance clamps at 0, takes the root of 1e-16 there and
    multiplies by 0, a finite (zero) gradient through that distance; ours matches TFA's."""
    if kind == "lifted":
        ours, theirs = tfa.lifted_struct_loss, tfa_module("losses.lifted").lifted_struct_loss
    else:
        ours, theirs = _pair(kind)
    expected, expected_grad = tfa_value_and_grad(theirs, Y_DUP, DUPLICATES)
    got, grad = ours_value_and_grad(backend, ours, Y_DUP, DUPLICATES)
    assert np.all(np.isfinite(grad))
    _close(got, expected, VALUE_RTOL)
    _close(grad, expected_grad, GRAD_RTOL)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # NumPy's 0 / 0 and log(0): TFA's NaN
@pytest.mark.parametrize(
    "labels",
    [np.zeros(8, np.int64), np.arange(8)],
    ids=["one_class_no_negatives", "distinct_no_positives"],
)
@pytest.mark.parametrize("kind", ["semihard", "hard", "lifted"])
def test_empty_selections_are_tfas(labels, kind):
    """No negative at all, or no positive at all: TFA's masked maxima/minima of nothing (the
    row's minimum/maximum) and 0 / 0 = NaN where it divides by no positive pair."""
    if kind == "lifted":
        ours, theirs = tfa.lifted_struct_loss, tfa_module("losses.lifted").lifted_struct_loss
    else:
        ours, theirs = _pair(kind)
    expected, _ = tfa_value_and_grad(theirs, labels, E)
    for backend in BACKENDS:
        got, _ = ours_value_and_grad(backend, ours, labels, E)
        if math.isnan(expected):
            assert math.isnan(got), backend
        else:
            _close(got, expected, VALUE_RTOL)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("kind", ["semihard", "hard", "lifted", "npairs"])
def test_half_precision_is_tfas(dtype, backend, kind):
    """TFA casts half embeddings to float32, computes and casts the loss back: the same
    dtype and the same half number (both round a float32 value once; a loss computed in the
    half dtype itself is several ulps off)."""
    if backend == "numpy" and dtype == "bfloat16":
        pytest.skip("NumPy has no bfloat16")
    if kind == "lifted":
        ours, theirs = tfa.lifted_struct_loss, tfa_module("losses.lifted").lifted_struct_loss
    elif kind == "npairs":
        ours, theirs = tfa.npairs_loss, tfa_module("losses.npairs").npairs_loss
    else:
        ours, theirs = _pair(kind)
    x = S if kind == "npairs" else E
    expected, _ = tfa_value_and_grad(theirs, Y, x, dtype)
    out = ours(backend_array(backend, Y), backend_array(backend, x, dtype))
    assert dtype_name(out) == dtype
    got = float(out.float()) if backend == "torch" else float(np.float64(_f32(out)))
    assert got == expected


def _f32(out):
    return tf.cast(out, tf.float32).numpy() if hasattr(out, "numpy") else np.float32(out)


@pytest.mark.parametrize("backend", BACKENDS)
def test_labels_column_and_float(backend):
    """(N, 1) labels, as TFA reshapes them, and float labels, as Keras 3 passes y_true."""
    expected, _ = tfa_value_and_grad(triplet().triplet_semihard_loss, Y, E)
    x = backend_array(backend, E, "float32")
    for labels in (Y.reshape(-1, 1), Y.astype(np.float32)):
        got = tfa.triplet_semihard_loss(backend_array(backend, labels, "float32"), x)
        _close(float(to_numpy(got)), expected, VALUE_RTOL)


def test_lifted_overflow_outside_the_negatives_stays_finite():
    """Documented difference: where ``exp`` of an excluded pair overflows in float32 (a spread
    of about 88 between distances), TFA's sum multiplies inf by 0 and gives NaN; here the
    excluded entries are zeroed first, and the loss is the float64 reference's."""
    e = np.array([[0.0, 0.0], [0.5, 0.0], [120.0, 0.0], [120.5, 0.0]], np.float32)
    labels = np.array([0, 0, 1, 1])
    theirs, _ = tfa_value_and_grad(tfa_module("losses.lifted").lifted_struct_loss, labels, e)
    assert math.isnan(theirs)
    got = float(tfa.lifted_struct_loss(labels, e))
    _close(got, ref.np_lifted_struct(labels, e.astype(np.float64)), 1e-6)


def test_soft_triplet_beyond_float32_exp_stays_finite():
    """Documented difference: TFA's soft margin ``log1p(exp(x))`` is inf in float32 for a gap
    of 99; the stable softplus gives the float64 reference's value."""
    e = np.array([[0.0], [100.0], [1.0], [2.0]], np.float32)
    labels = np.array([0, 0, 1, 1])
    theirs, _ = tfa_value_and_grad(triplet().triplet_hard_loss, labels, e, soft=True)
    assert math.isinf(theirs)
    got = float(tfa.triplet_hard_loss(labels, e, soft=True))
    _close(got, ref.np_triplet_hard(labels, e.astype(np.float64), soft=True), 1e-6)


def test_npairs_labels_are_compared_as_given():
    """Documented difference: TFA casts the labels to y_pred's dtype, so in float16 the ids
    3000 and 3001 are one class (3001 rounds to 3000); here they stay two."""
    labels = np.array([3000, 3001, 5, 5, 7, 7, 3000, 3001])
    s = S.astype(np.float16)
    theirs, _ = tfa_value_and_grad(tfa_module("losses.npairs").npairs_loss, labels, S, "float16")
    merged = ref.np_npairs(np.where(labels == 3001, 3000, labels), s.astype(np.float64))
    ulp = 2.0 ** (math.floor(math.log2(merged)) - 10)  # float16's, at the loss
    assert abs(theirs - merged) <= 4 * ulp
    got = float(np.float64(tfa.npairs_loss(labels, s)))
    expected = ref.np_npairs(labels, s.astype(np.float64))
    assert abs(got - expected) <= ulp
    assert abs(expected - merged) > 16 * ulp


# ------------------------------------------------------------------------------------------
# Classes
# ------------------------------------------------------------------------------------------


CLASSES = {
    "TripletSemiHardLoss": ("losses.triplet", tfa.triplet_semihard_loss, {"margin": 0.5}),
    "TripletHardLoss": ("losses.triplet", tfa.triplet_hard_loss, {"soft": True}),
    "LiftedStructLoss": ("losses.lifted", tfa.lifted_struct_loss, {"margin": 0.7}),
    "NpairsLoss": ("losses.npairs", tfa.npairs_loss, {}),
    "NpairsMultilabelLoss": ("losses.npairs", tfa.npairs_multilabel_loss, {}),
}


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_class_parameters_are_tfas(name):
    """TFA's constructor parameters, in TFA's order and with TFA's defaults (read from TFA's
    own class), before our keyword-only ``reduction`` and ``dtype``; the functions' too."""
    module, fn, _ = CLASSES[name]
    theirs = inspect.signature(getattr(tfa_module(module), name).__init__).parameters
    ours = inspect.signature(getattr(tfa, name).__init__).parameters
    positional = [
        (p.name, p.default)
        for p in ours.values()
        if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self"
    ]
    expected = [
        (p.name, p.default)
        for p in theirs.values()
        if p.kind is p.POSITIONAL_OR_KEYWORD and p.name != "self"
    ]
    assert positional == expected
    assert [p.name for p in ours.values() if p.kind is p.KEYWORD_ONLY] == ["reduction", "dtype"]
    fn_theirs = inspect.signature(getattr(tfa_module(module), fn.__name__)).parameters
    fn_ours = inspect.signature(fn).parameters
    assert [(p.name, p.default) for p in fn_ours.values()] == [
        (p.name, p.default) for p in fn_theirs.values()
    ]


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_class_is_the_function_and_round_trips(name):
    _, fn, kwargs = CLASSES[name]
    cls = getattr(tfa, name)
    loss = cls(**kwargs)
    y = ML if name == "NpairsMultilabelLoss" else Y
    x = S if name.startswith("Npairs") else E
    expected = float(fn(y, x, **kwargs))
    _close(float(loss(y, x)), expected, 1e-12)
    config = loss.get_config()
    assert config["reduction"] == "none"
    for k, v in kwargs.items():
        assert config[k] == v
    again = cls.from_config(config)
    _close(float(again(y, x)), expected, 1e-12)
    # TFA's Reduction.NONE: a sample weight multiplies the one loss of the batch
    w = np.linspace(0.5, 2.0, 8)
    _close(to_numpy(loss(y, x, sample_weight=w)), expected * w, 1e-12)


def test_class_names_are_tfas():
    assert tfa.NpairsLoss().name == "npairs_loss"
    assert tfa.NpairsMultilabelLoss().name == "npairs_multilabel_loss"
    assert tfa.TripletSemiHardLoss(name="t").name == "t"


@pytest.mark.parametrize("as_class", [False, True], ids=["function", "class"])
def test_keras_model_evaluates_the_loss(as_class):
    """``model.compile(loss=...)`` as TFA's users wrote it (Keras 3, TensorFlow backend: the
    labels arrive as float32): ``evaluate`` gives the loss of the model's embeddings."""
    keras = pytest.importorskip("keras")
    if keras.backend.backend() != "tensorflow":
        pytest.skip("Keras runs on another backend here")
    x = R.standard_normal((16, 5)).astype(np.float32)
    y = np.tile(np.arange(4), 4)
    model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(4)])
    loss = tfa.TripletSemiHardLoss(margin=0.5) if as_class else tfa.triplet_semihard_loss
    model.compile(loss=loss)
    got = model.evaluate(x, y, batch_size=16, verbose=0)
    emb = np.asarray(model(x), np.float64)
    _close(got, ref.np_triplet_semihard(y, emb, margin=0.5 if as_class else 1.0), 1e-5)


# ------------------------------------------------------------------------------------------
# Compiled
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fn", "kwargs"),
    [
        (tfa.triplet_semihard_loss, {"distance_metric": "angular"}),
        (tfa.triplet_hard_loss, {"soft": True}),
        (tfa.lifted_struct_loss, {}),
    ],
    ids=["semihard", "hard", "lifted"],
)
def test_compiled_functions(fn, kwargs):
    expected = float(fn(Y, E.astype(np.float32), **kwargs))
    x = jnp.asarray(E, jnp.float32)
    got = jax.jit(lambda v: fn(jnp.asarray(Y), v, **kwargs))(x)
    _close(float(got), expected, VALUE_RTOL)
    tf_fn = tf.function(lambda v: fn(tf.constant(Y), v, **kwargs))
    _close(float(tf_fn(tf.constant(E, tf.float32))), expected, VALUE_RTOL)
    compiled = torch.compile(lambda v: fn(torch.as_tensor(Y), v, **kwargs), backend="aot_eager")
    _close(float(compiled(torch.as_tensor(E, dtype=torch.float32))), expected, VALUE_RTOL)


# ------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: tfa.triplet_semihard_loss(Y, E, distance_metric="cosine"),
            ValueError,
            r"^triplet_semihard_loss: distance_metric must be one of 'L2', 'squared-L2', "
            r"'angular' or a callable.*got 'cosine'",
        ),
        (
            lambda: tfa.triplet_hard_loss(Y, E, soft=1),
            TypeError,
            r"^triplet_hard_loss: soft must be a bool.*got 1",
        ),
        (
            lambda: tfa.triplet_hard_loss(Y[:5], E),
            ValueError,
            r"^triplet_hard_loss: y_true has shape \(5,\); expected \(8,\) or \(8, 1\)",
        ),
        (
            lambda: tfa.triplet_semihard_loss(Y, E[0]),
            ValueError,
            r"^triplet_semihard_loss: y_pred must have shape \(N, D\); got \(4,\)",
        ),
        (
            lambda: tfa.triplet_semihard_loss(Y, E, distance_metric=lambda x: x),
            ValueError,
            r"^triplet_semihard_loss: distance_metric returned \(8, 4\); expected an array of "
            r"shape \(8, 8\)",
        ),
        (
            lambda: tfa.lifted_struct_loss(Y, E, margin="1"),
            TypeError,
            r"^lifted_struct_loss: margin must be a real number or a 0-d array",
        ),
        (
            lambda: tfa.lifted_struct_loss(Y.astype(complex), E),
            TypeError,
            r"^lifted_struct_loss: labels must have an integer or real floating dtype",
        ),
        (
            lambda: tfa.npairs_loss(Y, E),
            ValueError,
            r"^npairs_loss: y_pred must have shape \(N, N\)",
        ),
        (
            lambda: tfa.npairs_multilabel_loss(Y, S),
            ValueError,
            r"^npairs_multilabel_loss: y_true has shape \(8,\); expected \(8, C\)",
        ),
        (
            lambda: tfa.TripletHardLoss(soft="yes"),
            TypeError,
            r"^TripletHardLoss: soft must be a bool",
        ),
        (
            lambda: tfa.TripletSemiHardLoss(distance_metric="l2"),
            ValueError,
            r"^TripletSemiHardLoss: distance_metric must be one of",
        ),
        (
            lambda: tfa.LiftedStructLoss(margin=[1.0]),
            TypeError,
            r"^LiftedStructLoss: margin must be a real number or a 0-d array",
        ),
    ],
)
def test_errors_name_the_loss_and_argument(call, error, match):
    with pytest.raises(error, match=match):
        call()
