"""Global means in the dialects (issue 16): ``denominator=`` and ``lossbridge.mean_denominator``.

For each dialect a batch is cut into uneven shards (one of a single item, one whose targets are
all ignored or masked), the shards' counts are summed into ``D`` and each shard's loss is taken
with ``denominator=D``: the shards' losses (and gradients) must add up to the full batch's mean.
Expected values come from the frameworks' own losses in float64: ``torch.nn``'s modules for
``lossbridge.nn``, Keras 3's ``keras.losses`` classes (TensorFlow backend, with
``tf.GradientTape`` for gradients) for ``lossbridge.keras``, optax with ``jnp.mean(..., where=)``
(``jax.grad`` for gradients) for ``lossbridge.optax``. The counts are checked against float64
formulas written here (class weights of the kept targets, element counts, Keras's masked counts
and weight sums, optax's valid rows).

Tolerance: float64 sums of at most a few hundred terms of size O(1), rtol 1e-12 (the shards'
sums are the full sum's terms regrouped: a few ulp of the sum).
"""

from __future__ import annotations

import functools
import math
import os
import warnings

import numpy as np
import pytest
from _helpers import backend_array, to_numpy

import lossbridge
import lossbridge.keras as lk
import lossbridge.nn as lnn
from lossbridge import optax as lbx

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")

RTOL = 1e-12
BACKENDS = ("numpy", "torch", "jax")
R = np.random.default_rng(20261207)

count = lossbridge.mean_denominator

# ------------------------------------------------------------------------------------------
# Shared: shards, conversion
# ------------------------------------------------------------------------------------------

N, C = 9, 5
#: Uneven shards of the batch of 9: 3 items, 1 item (all its targets ignored where the loss
#: ignores any), 5 items.
SHARDS = (slice(0, 3), slice(3, 4), slice(4, 9))


def _shard(args, s, axes):
    """Each array of ``args`` sliced to shard ``s`` along its batch axis (``axes``)."""
    out = []
    for a, ax in zip(args, axes, strict=True):
        if ax is None:
            out.append(a)
        else:
            index = (slice(None),) * ax + (s,)
            out.append(a[index])
    return out


def _arrays(backend, args):
    return [backend_array(backend, a, "float64") if isinstance(a, np.ndarray) else a for a in args]


def _close(got, expected, rtol=RTOL):
    got, expected = np.asarray(to_numpy(got), np.float64), np.asarray(expected, np.float64)
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-300)
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol * scale)


# ------------------------------------------------------------------------------------------
# lossbridge.nn against torch.nn
# ------------------------------------------------------------------------------------------

X = R.standard_normal((N, C))
Y = R.standard_normal((N, C))
W = R.uniform(0.2, 2.0, C)
PROBS = R.uniform(0.02, 0.98, (N, C))
SOFT = R.uniform(0.0, 1.0, (N, C))
SIGNS = R.choice([-1.0, 1.0], size=(N, C))
ROW_SIGNS = R.choice([-1.0, 1.0], size=N)
LABELS = np.array([0, 4, 2, -100, 1, 3, -100, 2, 0])  # shard 1 (item 3) wholly ignored
LOGP = X - np.log(np.exp(X).sum(axis=1, keepdims=True))
T_PROBS = np.exp(Y) / np.exp(Y).sum(axis=1, keepdims=True)
MLM = np.array([[2, 0, -1, 3, 1]] * 4 + [[4, -1, 0, 0, 0]] * 5)
_E = np.exp(R.standard_normal((6, N, 4)))
CTC_LP = np.log(_E / _E.sum(axis=-1, keepdims=True))  # (T, N, C)
CTC_TARGETS = R.integers(1, 4, (N, 3))
CTC_IN = np.array([6, 5, 4, 6, 6, 5, 4, 6, 5])
CTC_TL = np.array([3, 2, 1, 3, 2, 1, 2, 3, 1])

_KEPT = LABELS != -100
_ROWS = N


def _size(*a):
    return float(np.size(a[0]))


def _rows(*a):
    return float(np.shape(a[0])[0])


def _class_weights(_x, y):
    y = np.asarray(y)
    return float(W[y[y != -100]].sum())


#: Per class: constructor arguments, forward arguments, batch axes and the count of the mean
#: as a float64 formula of the shard's forward arguments.
NN_SPECS = {
    "L1Loss": ({}, (X, Y), (0, 0), _size),
    "MSELoss": ({}, (X, Y), (0, 0), _size),
    "HuberLoss": ({"delta": 0.6}, (2 * X, Y), (0, 0), _size),
    "SmoothL1Loss": ({"beta": 0.4}, (2 * X, Y), (0, 0), _size),
    "PoissonNLLLoss": (
        {"log_input": False, "full": True},
        (PROBS * 4, np.round(SOFT * 6)),
        (0, 0),
        _size,
    ),
    "GaussianNLLLoss": ({"full": True, "eps": 1e-3}, (X, Y, PROBS), (0, 0, 0), _size),
    "NLLLoss": ({"weight": W}, (LOGP, LABELS), (0, 0), _class_weights),
    "CrossEntropyLoss": (
        {"weight": W, "label_smoothing": 0.15},
        (X, LABELS),
        (0, 0),
        _class_weights,
    ),
    "KLDivLoss": ({"reduction": "batchmean"}, (LOGP, T_PROBS), (0, 0), _rows),
    "BCELoss": ({"weight": W}, (PROBS, SOFT), (0, 0), _size),
    "BCEWithLogitsLoss": (
        {"weight": W, "pos_weight": W[::-1].copy()},
        (3 * X, SOFT),
        (0, 0),
        _size,
    ),
    "MarginRankingLoss": ({"margin": 0.25}, (X, Y, SIGNS), (0, 0, 0), _size),
    "HingeEmbeddingLoss": ({"margin": 0.7}, (np.abs(X), SIGNS), (0, 0), _size),
    "MultiLabelMarginLoss": ({}, (X, MLM), (0, 0), _rows),
    "SoftMarginLoss": ({}, (X, SIGNS), (0, 0), _size),
    "MultiLabelSoftMarginLoss": ({"weight": W}, (X, (SOFT > 0.5) * 1.0), (0, 0), _rows),
    "CosineEmbeddingLoss": ({"margin": 0.1}, (X, Y, ROW_SIGNS), (0, 0, 0), _rows),
    "MultiMarginLoss": (
        {"p": 2, "margin": 0.8, "weight": W},
        (X, np.abs(LABELS) % C),
        (0, 0),
        _rows,
    ),
    "TripletMarginLoss": ({"margin": 0.5, "p": 1.0, "swap": True}, (X, Y, PROBS), (0, 0, 0), _rows),
    "TripletMarginWithDistanceLoss": (
        {"margin": 2.0, "swap": True},
        (X, Y, PROBS),
        (0, 0, 0),
        _rows,
    ),
    "CTCLoss": (
        {"blank": 0},
        (CTC_LP, CTC_TARGETS, CTC_IN, CTC_TL),
        (1, 0, 0, 0),
        lambda lp, *_: float(np.shape(lp)[1]),
    ),
}
NN_NAMES = [n for n in lnn.__all__ if n not in ("NLLLoss2d", "LinearCrossEntropyLoss")]


def _torch64(a):
    a = np.asarray(a)
    return torch.from_numpy(a.astype(np.float64) if a.dtype.kind == "f" else a)


def _torch_module(name, ctor):
    kw = {k: _torch64(v) if isinstance(v, np.ndarray) else v for k, v in ctor.items()}
    return getattr(torch.nn, name)(**kw)


def test_nn_specs_cover_every_class():
    assert sorted(NN_SPECS) == sorted(NN_NAMES)


@pytest.mark.parametrize("name", NN_NAMES)
def test_nn_mean_denominator_is_the_formula(name):
    """The count of each shard (NumPy) against the float64 formula; the total is the full
    batch's count."""
    ctor, args, axes, formula = NN_SPECS[name]
    loss = getattr(lnn, name)(**ctor)
    for s in (*SHARDS, slice(0, N)):
        part = _shard(args, s, axes)
        got = count(loss, *part)
        assert np.shape(got) == ()
        assert float(got) == formula(*part), s


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", NN_NAMES)
def test_nn_shards_add_up_to_torch_full_batch(backend, name):
    """sum over shards of ``criterion(shard, denominator=D)`` equals ``torch.nn``'s module on
    the whole batch (float64), with D the sum of the shards' counts (arrays of the backend)."""
    ctor, args, axes, _ = NN_SPECS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        expected = _torch_module(name, ctor)(*map(_torch64, args)).detach().numpy()
        loss = getattr(lnn, name)(**ctor)
        arrays = _arrays(backend, args)
        parts = [_shard(arrays, s, axes) for s in SHARDS]
        d = sum(count(loss, *p) for p in parts[1:]) + count(loss, *parts[0])
        assert type(d).__module__.split(".")[0] == type(arrays[0]).__module__.split(".")[0]
        got = sum(loss(*p, denominator=d) for p in parts)
    _close(got, expected)


@pytest.mark.parametrize("name", NN_NAMES)
def test_nn_gradients_add_up_to_torch_full_batch(name):
    """The gradient w.r.t. the input of the shards' sum (torch autograd and ``jax.grad``)
    equals ``torch.nn``'s gradient of the full batch's mean. CTC: w.r.t. the logits under a
    log-softmax (torch's CTC backward assumes normalised log-probabilities)."""
    ctor, args, axes, _ = NN_SPECS[name]
    loss = getattr(lnn, name)(**ctor)
    ctc = name == "CTCLoss"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        x = _torch64(args[0]).requires_grad_(True)
        first = torch.log_softmax(x, -1) if ctc else x
        _torch_module(name, ctor)(first, *map(_torch64, args[1:])).backward()
        expected = x.grad.numpy()

        t_args = _arrays("torch", args)
        t_x = t_args[0].clone().requires_grad_(True)
        first = torch.log_softmax(t_x, -1) if ctc else t_x
        d = sum(count(loss, *_shard(t_args, s, axes)) for s in SHARDS)
        total = sum(loss(*_shard([first, *t_args[1:]], s, axes), denominator=d) for s in SHARDS)
        total.backward()
        _close(t_x.grad, expected)

        j_args = _arrays("jax", args)
        d = sum(count(loss, *_shard(j_args, s, axes)) for s in SHARDS)

        def f(xj):
            xj = jax.nn.log_softmax(xj, -1) if ctc else xj
            return sum(loss(*_shard([xj, *j_args[1:]], s, axes), denominator=d) for s in SHARDS)

        _close(jax.grad(f)(j_args[0]), expected)


def test_nn_kl_div_mean_counts_elements_and_batchmean_rows():
    loss = lnn.KLDivLoss()  # torch's default 'mean': over elements
    assert float(count(loss, LOGP[:4], T_PROBS[:4])) == 4 * C
    expected = torch.nn.KLDivLoss()(_torch64(LOGP), _torch64(T_PROBS)).numpy()
    d = float(count(loss, LOGP[:4], T_PROBS[:4])) + float(count(loss, LOGP[4:], T_PROBS[4:]))
    got = loss(LOGP[:4], T_PROBS[:4], denominator=d) + loss(LOGP[4:], T_PROBS[4:], denominator=d)
    _close(got, expected)


def test_nn_linear_cross_entropy_shards():
    """``LinearCrossEntropyLoss`` (its own layer's parameters passed per call): the class
    weights of the kept targets, and the shards against torch's ``cross_entropy`` of the
    logits."""
    feats = R.standard_normal((N, 4))
    lw, lb = R.standard_normal((C, 4)), R.standard_normal(C)
    loss = lnn.LinearCrossEntropyLoss(4, C, bias=True, weight=W, ignore_index=-100)
    kw = {"linear_weight": lw, "linear_bias": lb}
    expected = torch.nn.functional.cross_entropy(
        _torch64(feats @ lw.T + lb), _torch64(LABELS), weight=_torch64(W)
    ).numpy()
    counts = [count(loss, feats[s], LABELS[s], **kw) for s in SHARDS]
    assert [float(c) for c in counts] == [_class_weights(None, LABELS[s]) for s in SHARDS]
    d = sum(counts)
    _close(sum(loss(feats[s], LABELS[s], denominator=d, **kw) for s in SHARDS), expected)


def test_nn_every_target_ignored_counts_zero_and_adds_nothing():
    loss = lnn.CrossEntropyLoss(weight=W)
    assert float(count(loss, X[3:4], LABELS[3:4])) == 0.0
    assert float(loss(X[3:4], LABELS[3:4], denominator=2.5)) == 0.0


def test_nn_denominator_errors_name_the_class():
    with pytest.raises(ValueError, match=r"^CrossEntropyLoss: denominator= applies to reduction="):
        lnn.CrossEntropyLoss(reduction="sum")(X, LABELS, denominator=3.0)
    with pytest.raises(ValueError, match=r"^MSELoss: mean_denominator needs a criterion with"):
        count(lnn.MSELoss(reduction="none"), X, Y)
    with pytest.raises(
        ValueError, match=r"^KLDivLoss: .*'mean' or 'batchmean'.*got reduction='sum'"
    ):
        count(lnn.KLDivLoss(reduction="sum"), LOGP, T_PROBS)
    with pytest.raises(TypeError, match=r"^L1Loss: mean_denominator takes no denominator="):
        count(lnn.L1Loss(), X, Y, denominator=2.0)
    with pytest.raises(ValueError, match=r"^L1Loss: denominator must be a finite number >= 0"):
        lnn.L1Loss()(X, Y, denominator=-1.0)
    with pytest.raises(ValueError, match=r"^L1Loss: denominator must be .* 0-d array; got"):
        lnn.L1Loss()(X, Y, denominator=np.ones(2))


def test_nn_module_compiles_once_with_a_tensor_denominator():
    """``torch.compile(fullgraph=True)`` of a call with ``denominator=`` (a tensor): one graph,
    no recompilation for another denominator value, the uncompiled values."""
    from torch._dynamo.testing import CompileCounter

    loss = lnn.CrossEntropyLoss(weight=_torch64(W), label_smoothing=0.1)
    x, y = _torch64(X), _torch64(LABELS)
    counter = CompileCounter()

    @torch.compile(backend=counter, fullgraph=True)
    def step(x, y, d):
        return loss(x, y, denominator=d)

    for d in (7.5, 11.0):
        dt = torch.tensor(d, dtype=torch.float64)
        _close(step(x, y, dt), loss(x, y, denominator=dt))
    _close(step(x, y, torch.tensor(2.0, dtype=torch.float64)) * 2.0, loss(x, y, denominator=1.0))
    assert counter.frame_count == 1


def test_nn_module_under_torch_func():
    """``torch.func.grad`` and ``functional_call`` pass the keyword through; the gradient is
    torch's of the full batch's mean."""
    loss = lnn.NLLLoss(weight=_torch64(W))
    x, y = _torch64(LOGP), _torch64(LABELS)
    d = sum(count(loss, x[s], y[s]) for s in SHARDS)

    def f(x):
        return sum(
            torch.func.functional_call(loss, {}, (x[s], y[s]), {"denominator": d}) for s in SHARDS
        )

    xr = x.clone().requires_grad_(True)
    torch.nn.NLLLoss(weight=_torch64(W))(xr, y).backward()
    _close(torch.func.grad(f)(x), xr.grad)
    assert loss.state_dict().keys() == {"weight"}


# ------------------------------------------------------------------------------------------
# lossbridge.keras against keras.losses (TensorFlow backend)
# ------------------------------------------------------------------------------------------

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

NK = 9
_KP = R.uniform(0.02, 0.98, (NK, 4))
_KN = R.standard_normal((NK, 4))
_KBITS = R.integers(0, 2, (NK, 4)).astype(np.float64)
_KONE = np.eye(4)[R.integers(0, 4, NK)]
_KLABELS = np.array([0, 2, 1, -1, 3, 2, -1, 1, 0])  # shard 1 (item 3) wholly masked
KW = R.uniform(0.2, 2.0, NK)

#: Per class: (y_true, y_pred, class kwargs). Circle is left out: its per-sample losses pair
#: each item with the others of its batch, so a shard's values are not the batch's.
KERAS_SPECS = {
    "MeanSquaredError": (R.standard_normal((NK, 4)), _KN, {}),
    "MeanAbsoluteError": (R.standard_normal((NK, 4)), _KN, {}),
    "MeanAbsolutePercentageError": (R.standard_normal((NK, 4)), _KN, {}),
    "MeanSquaredLogarithmicError": (R.uniform(0, 2, (NK, 4)), _KP, {}),
    "CosineSimilarity": (R.standard_normal((NK, 4)), _KN, {"axis": -1}),
    "Huber": (2 * R.standard_normal((NK, 4)), _KN, {"delta": 0.7}),
    "LogCosh": (R.standard_normal((NK, 4)), _KN, {}),
    "Hinge": (_KBITS, _KN, {}),
    "SquaredHinge": (_KBITS * 2 - 1, _KN, {}),
    "CategoricalHinge": (_KONE, _KN, {}),
    "KLDivergence": (R.dirichlet(np.ones(4), NK), R.dirichlet(np.ones(4), NK), {}),
    "Poisson": (R.poisson(2.0, (NK, 4)).astype(float), _KP * 3, {}),
    "BinaryCrossentropy": (_KBITS, _KP, {"label_smoothing": 0.1}),
    "BinaryFocalCrossentropy": (
        _KBITS,
        3 * _KN,
        {"apply_class_balancing": True, "from_logits": True, "gamma": 1.5},
    ),
    "CategoricalCrossentropy": (_KONE, _KP, {}),
    "CategoricalFocalCrossentropy": (_KONE, _KN, {"from_logits": True}),
    "SparseCategoricalCrossentropy": (_KLABELS, _KN, {"from_logits": True, "ignore_class": -1}),
    "CategoricalGeneralizedCrossEntropy": (
        R.integers(0, 4, NK),
        R.dirichlet(np.ones(4), NK),
        {"q": 0.3},
    ),
    "Dice": (_KBITS, _KP, {"axis": -1}),
    "Tversky": (_KBITS, _KP, {"alpha": 0.8, "beta": 0.2, "axis": -1}),
    "CTC": (R.integers(1, 4, (NK, 3)), R.standard_normal((NK, 5, 4)), {}),
}
KERAS_NAMES = sorted(KERAS_SPECS)
#: Against Keras: float64 formulas written differently (Keras's clip and log order) agree to
#: 1e-10 (tests/test_keras_dialect.py); Keras computes CTC in float32 (TF's ctc_loss).
KERAS_RTOL = {False: 1e-10, True: 2e-6}
KERAS_MEANS = ("sum_over_batch_size", "mean", "mean_with_sample_weight")


def _keras_kwargs(name, kw):
    kw = dict(kw)
    if name == "Tversky":  # Keras 3.15.1 weights false negatives with alpha (PR #23333)
        kw["alpha"], kw["beta"] = kw["beta"], kw["alpha"]
    return kw


def _keras_tensors(y_true, y_pred, sample_weight):
    yt = tf.constant(y_true.astype(np.float64) if y_true.dtype.kind == "f" else y_true)
    sw = None if sample_weight is None else tf.constant(sample_weight)
    return yt, tf.constant(y_pred), sw


@functools.cache
def _keras_full(name, reduction, weighted):
    """Keras's own loss of the whole batch and its gradient w.r.t. ``y_pred`` (float64)."""
    y_true, y_pred, kw = KERAS_SPECS[name]
    loss = getattr(keras.losses, name)(
        reduction=reduction, dtype="float64", **_keras_kwargs(name, kw)
    )
    yt, yp, sw = _keras_tensors(y_true, y_pred, KW if weighted else None)
    with tf.GradientTape() as tape:
        tape.watch(yp)
        out = loss(yt, yp, sample_weight=sw)
    return out.numpy(), tape.gradient(out, yp).numpy()


def _keras_count(name, reduction, y_true, weights):
    """Keras's divisor, float64: the per-sample count (the unmasked labels under
    ``ignore_class``) or the sum of the sample weights (times the mask)."""
    valid = y_true != -1 if name == "SparseCategoricalCrossentropy" else np.ones(len(y_true), bool)
    if reduction == "mean_with_sample_weight":
        return float(np.sum((weights if weights is not None else 1.0) * valid))
    return float(np.sum(valid))


def test_keras_specs_cover_every_class_but_circle():
    assert sorted(KERAS_SPECS) == sorted(
        n
        for n in lk.__all__
        if n[0].isupper() and n not in ("Loss", "LossFunctionWrapper", "Circle")
    )


@pytest.mark.parametrize("weighted", [True, False])
@pytest.mark.parametrize("reduction", KERAS_MEANS)
@pytest.mark.parametrize("name", KERAS_NAMES)
def test_keras_mean_denominator_is_kerass_divisor(name, reduction, weighted):
    y_true, y_pred, kw = KERAS_SPECS[name]
    loss = getattr(lk, name)(reduction=reduction, **kw)
    for s in (*SHARDS, slice(0, NK)):
        sw = KW[s] if weighted else None
        got = count(loss, y_true[s], y_pred[s], sw)
        assert np.shape(got) == ()
        assert math.isclose(float(got), _keras_count(name, reduction, y_true[s], sw), rel_tol=1e-15)


#: JAX runs three of the classes (each new shape compiles its eager ops).
_KERAS_JAX = ("MeanSquaredError", "SparseCategoricalCrossentropy", "CTC")


@pytest.mark.parametrize("reduction", KERAS_MEANS)
@pytest.mark.parametrize(
    ("name", "backend"),
    [(n, b) for n in KERAS_NAMES for b in BACKENDS if b != "jax" or n in _KERAS_JAX],
)
def test_keras_shards_add_up_to_keras_full_batch(backend, name, reduction):
    """``sum_s loss(shard_s, denominator=D)`` equals Keras's ``keras.losses.<name>`` on the
    whole batch with sample weights (float64), and the class's own full-batch loss."""
    y_true, y_pred, kw = KERAS_SPECS[name]
    expected, _ = _keras_full(name, reduction, True)
    loss = getattr(lk, name)(reduction=reduction, **kw)
    yt, yp, sw = _arrays(backend, [y_true, y_pred, KW])
    d = sum(count(loss, yt[s], yp[s], sw[s]) for s in SHARDS)
    got = sum(loss(yt[s], yp[s], sw[s], denominator=d) for s in SHARDS)
    _close(got, expected, rtol=KERAS_RTOL[name == "CTC"])
    _close(got, to_numpy(loss(yt, yp, sw)))  # the identity itself, to rounding


@pytest.mark.parametrize("reduction", ["sum_over_batch_size", "mean_with_sample_weight"])
@pytest.mark.parametrize("name", KERAS_NAMES)
def test_keras_gradients_add_up_to_kerass(name, reduction):
    """torch autograd of the shards' sum against ``tf.GradientTape`` of Keras's full loss."""
    y_true, y_pred, kw = KERAS_SPECS[name]
    _, expected = _keras_full(name, reduction, True)
    loss = getattr(lk, name)(reduction=reduction, **kw)
    yt, yp, sw = _arrays("torch", [y_true, y_pred, KW])
    yp = yp.clone().requires_grad_(True)
    d = sum(count(loss, yt[s], yp[s].detach(), sw[s]) for s in SHARDS)
    sum(loss(yt[s], yp[s], sw[s], denominator=d) for s in SHARDS).backward()
    _close(yp.grad, expected, rtol=KERAS_RTOL[name == "CTC"])
    full = yp.detach().clone().requires_grad_(True)
    loss(yt, full, sw).backward()
    _close(yp.grad, full.grad)  # the identity itself, to rounding


def test_keras_unweighted_and_python_number_denominator():
    y_true, y_pred, kw = KERAS_SPECS["SparseCategoricalCrossentropy"]
    expected, _ = _keras_full("SparseCategoricalCrossentropy", "sum_over_batch_size", False)
    loss = lk.SparseCategoricalCrossentropy(**kw)
    d = float(sum(count(loss, y_true[s], y_pred[s]) for s in SHARDS))
    assert d == float(np.sum(y_true != -1))
    _close(sum(loss(y_true[s], y_pred[s], denominator=d) for s in SHARDS), expected)


def test_keras_masked_shard_counts_zero_and_zero_denominator_gives_zero():
    """A shard whose labels are all ``ignore_class`` counts 0 and adds 0; a zero denominator
    gives 0 as Keras's ``divide_no_nan`` (Keras's own loss of that shard is 0 too)."""
    y_true, y_pred, kw = KERAS_SPECS["SparseCategoricalCrossentropy"]
    loss = lk.SparseCategoricalCrossentropy(**kw)
    s = SHARDS[1]
    assert float(count(loss, y_true[s], y_pred[s])) == 0.0
    assert float(loss(y_true[s], y_pred[s], denominator=4.0)) == 0.0
    assert float(loss(y_true[s], y_pred[s], denominator=0.0)) == 0.0
    theirs = keras.losses.SparseCategoricalCrossentropy(dtype="float64", **kw)
    assert float(theirs(y_true[s], y_pred[s])) == 0.0
    t = backend_array("torch", y_pred[s], "float64")
    assert float(loss(y_true[s], t, denominator=torch.tensor(0.0, dtype=torch.float64))) == 0.0


def test_keras_half_inputs_count_in_float32():
    y_true, y_pred, _ = KERAS_SPECS["MeanSquaredError"]
    got = count(lk.MeanSquaredError(dtype="float16"), y_true, y_pred)
    assert got.dtype == np.float32 and float(got) == NK
    got = count(lk.MeanSquaredError(), y_true, backend_array("torch", y_pred, "bfloat16"))
    assert got.dtype == torch.float32 and float(got) == NK


def test_keras_scalar_per_sample_loss_counts_one():
    """A 1-D pair gives a 0-d per-sample loss, which Keras returns undivided: it counts 1."""
    t, p = np.array([0.0, 1.0, 2.0]), np.array([0.5, 1.0, 1.0])
    loss = lk.MeanSquaredError()
    assert float(count(loss, t, p)) == 1.0
    expected = keras.losses.MeanSquaredError(dtype="float64")(np.stack([t, t]), np.stack([p, p]))
    d = count(loss, t, p) + count(loss, t, p)
    _close(loss(t, p, denominator=d) * 2, expected.numpy())


def test_keras_real_keras_loss_subclass_and_compile_still_work():
    """An instance is a ``keras.losses.Loss``; ``mean_denominator`` and ``denominator=`` work on
    it; ``model.compile``/``fit`` use the default (no denominator)."""
    loss = lk.MeanSquaredError()
    assert isinstance(loss, keras.losses.Loss)
    y_true, y_pred, _ = KERAS_SPECS["MeanSquaredError"]
    assert float(count(loss, tf.constant(y_true), tf.constant(y_pred))) == NK
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(4)])
    model.compile(optimizer="sgd", loss=loss)
    history = model.fit(y_pred.astype("float32"), y_true.astype("float32"), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])


def test_keras_denominator_errors_name_the_class():
    y_true, y_pred, _ = KERAS_SPECS["MeanSquaredError"]
    with pytest.raises(ValueError, match=r"^MeanSquaredError: denominator= applies to reduction="):
        lk.MeanSquaredError(reduction="sum")(y_true, y_pred, denominator=2.0)
    with pytest.raises(ValueError, match=r"^MeanSquaredError: .*got reduction=None"):
        lk.MeanSquaredError(reduction=None)(y_true, y_pred, denominator=2.0)
    with pytest.raises(ValueError, match=r"^Huber: mean_denominator needs a reduction that divid"):
        count(lk.Huber(reduction="sum"), y_true, y_pred)
    with pytest.raises(ValueError, match=r"^LogCosh: denominator must be a finite number >= 0"):
        lk.LogCosh()(y_true, y_pred, denominator=math.inf)
    with pytest.raises(TypeError, match=r"^LogCosh: denominator must be a real number"):
        lk.LogCosh()(y_true, y_pred, denominator="9")


# ------------------------------------------------------------------------------------------
# lossbridge.optax against optax (jnp.mean(..., where=))
# ------------------------------------------------------------------------------------------

optax = pytest.importorskip("optax")

_OX = R.standard_normal((N, C))
_OLAB = R.integers(0, C, N)
_OPROBS = np.exp(R.standard_normal((N, C)))
_OPROBS /= _OPROBS.sum(-1, keepdims=True)
_OQ = np.exp(R.standard_normal((N, C)))
_OQ /= _OQ.sum(-1, keepdims=True)
#: A per-example mask, shard 1 (item 3) masked.
ROW_MASK = np.array([True, True, False, False, True, True, False, True, True])
#: A per-class mask: rows 3 and 6 have no class left (optax gives them 0), the others some.
CLASS_MASK = R.random((N, C)) > 0.3
CLASS_MASK[:, 0] = True
CLASS_MASK[3] = False
CLASS_MASK[6] = False
_RELEVANCE = (R.random((N, C)) > 0.6) * 1.0

#: Per function: positional arguments, ``where`` and the rows a mean averages (True: counted).
OPTAX_SPECS = {
    "softmax_cross_entropy_with_integer_labels/rows": (
        "softmax_cross_entropy_with_integer_labels",
        (_OX, _OLAB),
        ROW_MASK,
        ROW_MASK,
    ),
    "softmax_cross_entropy_with_integer_labels/classes": (
        "softmax_cross_entropy_with_integer_labels",
        (_OX, _OLAB),
        CLASS_MASK,
        CLASS_MASK.any(-1),
    ),
    "softmax_cross_entropy/classes": (
        "softmax_cross_entropy",
        (_OX, _OPROBS),
        CLASS_MASK,
        CLASS_MASK.any(-1),
    ),
    "poly_loss_cross_entropy/classes": (
        "poly_loss_cross_entropy",
        (_OX, _OPROBS),
        CLASS_MASK,
        CLASS_MASK.any(-1),
    ),
    "kl_divergence/classes": (
        "kl_divergence",
        (np.log(_OQ), _OPROBS),
        CLASS_MASK,
        CLASS_MASK.any(-1),
    ),
    "kl_divergence_with_log_targets/classes": (
        "kl_divergence_with_log_targets",
        (np.log(_OQ), np.log(_OPROBS)),
        CLASS_MASK,
        CLASS_MASK.any(-1),
    ),
    "convex_kl_divergence/classes": (
        "convex_kl_divergence",
        (np.log(_OQ), _OPROBS),
        CLASS_MASK,
        CLASS_MASK.any(-1),
    ),
    "sigmoid_binary_cross_entropy": (
        "sigmoid_binary_cross_entropy",
        (_OX, (SOFT > 0.5) * 1.0),
        None,
        np.ones((N, C), bool),
    ),
    "huber_loss": ("huber_loss", (_OX, Y), None, np.ones((N, C), bool)),
}


def _optax_full(fn, args, where, rows):
    """optax's loss of the whole batch, reduced as its users do: ``jnp.mean(l, where=rows)``."""
    arrays = [jnp.asarray(a) for a in args]
    kw = {} if where is None else {"where": jnp.asarray(where)}

    def mean(x):
        return jnp.mean(getattr(optax.losses, fn)(x, *arrays[1:], **kw), where=jnp.asarray(rows))

    return np.asarray(mean(arrays[0])), np.asarray(jax.grad(mean)(arrays[0]))


@pytest.mark.filterwarnings("ignore:The function convex_kl_divergence is deprecated")
@pytest.mark.parametrize("case", sorted(OPTAX_SPECS))
def test_optax_mean_denominator_counts_the_valid_rows(case):
    fn, args, where, rows = OPTAX_SPECS[case]
    for s in (*SHARDS, slice(0, N)):
        kw = {} if where is None else {"where": where[s]}
        got = count(getattr(lbx, fn), *(a[s] for a in args), **kw)
        assert np.shape(got) == () and float(got) == float(np.sum(rows[s])), s


@pytest.mark.filterwarnings("ignore:The function convex_kl_divergence is deprecated")
@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", sorted(OPTAX_SPECS))
def test_optax_shard_sums_over_the_global_count_are_optaxs_mean(backend, case):
    """``sum_s fn(shard_s).sum() / D`` equals optax's ``jnp.mean(fn(batch), where=rows)``;
    the gradient (torch autograd, ``jax.grad``) too."""
    fn, args, where, rows = OPTAX_SPECS[case]
    expected, expected_grad = _optax_full(fn, args, where, rows)
    ours = getattr(lbx, fn)
    arrays = _arrays(backend, [*args, where])
    *arrays, w = arrays
    if where is not None:
        w = backend_array(backend, where)

    def shard_kw(s):
        return {} if where is None else {"where": w[s]}

    d = sum(count(ours, *(a[s] for a in arrays), **shard_kw(s)) for s in SHARDS)

    def total(x):
        return sum(ours(x[s], *(a[s] for a in arrays[1:]), **shard_kw(s)).sum() / d for s in SHARDS)

    _close(total(arrays[0]), expected)
    if backend == "torch":
        x = arrays[0].clone().requires_grad_(True)
        total(x).backward()
        _close(x.grad, expected_grad)
    elif backend == "jax":
        _close(jax.grad(total)(arrays[0]), expected_grad)


def test_optax_ranking_counts_the_lists_its_mean_averages():
    """``ranking_softmax_loss``: the lists with a valid item; the per-list sums over the global
    count equal optax's default (mean) reduction of the whole batch."""
    where = CLASS_MASK
    expected = optax.losses.ranking_softmax_loss(
        jnp.asarray(_OX), jnp.asarray(_RELEVANCE), where=jnp.asarray(where)
    )
    counts = [
        count(lbx.ranking_softmax_loss, _OX[s], _RELEVANCE[s], where=where[s]) for s in SHARDS
    ]
    assert [float(c) for c in counts] == [float(where[s].any(-1).sum()) for s in SHARDS]
    d = sum(counts)
    got = sum(
        lbx.ranking_softmax_loss(_OX[s], _RELEVANCE[s], where=where[s], reduce_fn=None).sum() / d
        for s in SHARDS
    )
    _close(got, np.asarray(expected))


def test_optax_half_inputs_count_in_float32():
    x = backend_array("jax", _OX, "bfloat16")
    got = count(lbx.softmax_cross_entropy_with_integer_labels, x, _OLAB, where=ROW_MASK)
    assert got.dtype == jnp.float32 and float(got) == ROW_MASK.sum()


def test_optax_errors():
    with pytest.raises(ValueError, match=r"^ntxent: it returns a mean over its batch"):
        count(lbx.ntxent, _OX, _OLAB)
    with pytest.raises(TypeError, match=r"^huber_loss: mean_denominator takes no denominator="):
        count(lbx.huber_loss, _OX, Y, denominator=3.0)
    with pytest.raises(TypeError, match=r"^kl_divergence: .*argument"):
        count(lbx.kl_divergence, _OX, _OX, wher=ROW_MASK)
    with pytest.raises(TypeError, match=r"^mean_denominator: loss must be a lossbridge loss"):
        count(lbx.smooth_labels, _OPROBS, 0.1)


# ------------------------------------------------------------------------------------------
# Traced denominators
# ------------------------------------------------------------------------------------------


def test_traced_denominators_under_jax_jit():
    """``jax.jit`` with the counts and the denominator traced: ``lossbridge.nn`` against
    torch's full batch, ``lossbridge.keras`` against Keras's."""
    ce = lnn.CrossEntropyLoss(weight=W, label_smoothing=0.15)
    xs, ys = jnp.asarray(X), jnp.asarray(LABELS)

    @jax.jit
    def nn_total(x):
        d = sum(count(ce, x[s], ys[s]) for s in SHARDS)
        return sum(ce(x[s], ys[s], denominator=d) for s in SHARDS)

    ctor, args, _, _ = NN_SPECS["CrossEntropyLoss"]
    expected = _torch_module("CrossEntropyLoss", ctor)(*map(_torch64, args)).numpy()
    _close(nn_total(xs), expected)

    y_true, y_pred, kw = KERAS_SPECS["SparseCategoricalCrossentropy"]
    loss = lk.SparseCategoricalCrossentropy(**kw)
    yt, sw = jnp.asarray(y_true), jnp.asarray(KW)

    @jax.jit
    def keras_total(p):
        d = sum(count(loss, yt[s], p[s], sw[s]) for s in SHARDS)
        return sum(loss(yt[s], p[s], sw[s], denominator=d) for s in SHARDS)

    expected, _ = _keras_full("SparseCategoricalCrossentropy", "sum_over_batch_size", True)
    _close(keras_total(jnp.asarray(y_pred)), expected, rtol=KERAS_RTOL[False])
