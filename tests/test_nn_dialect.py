"""``lossbridge.nn``: the torch.nn-style classes against torch's own modules.

Expected values come from the real ``torch.nn.<ClassName>`` module in float64, built with the
same constructor arguments (weights as torch tensors) and called with the same inputs (as torch
tensors); one test also checks torch's cross-entropy formula with class weights, label
smoothing and ignored targets as a plain NumPy formula written here. Constructor signatures,
defaults, attribute names and ``repr`` are compared with torch's by introspection.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import math
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from _helpers import RTOL, assert_close, assert_result, backend_grad, make, to_numpy

import lossbridge.nn as lnn
from lossbridge.conformance.precision_table import ulps

torch = pytest.importorskip("torch")

# LinearCrossEntropyLoss owns a linear layer (constructor arguments in_features, num_classes):
# tests/test_linear_ce.py checks it against torch's module
NAMES = [n for n in lnn.__all__ if n not in ("NLLLoss2d", "LinearCrossEntropyLoss")]

_R = np.random.default_rng(20261123)
X = _R.standard_normal((8, 5))
Y = _R.standard_normal((8, 5))
LABELS = np.array([0, 4, 2, -100, 1, 3, -100, 2])
CLASS_W = _R.uniform(0.2, 2.0, 5)
PROBS = _R.uniform(0.02, 0.98, (8, 5))
SOFT = _R.uniform(0.0, 1.0, (8, 5))
SIGNS = _R.choice([-1.0, 1.0], size=(8, 5))
ROW_SIGNS = _R.choice([-1.0, 1.0], size=8)
LOGP = X - np.log(np.exp(X).sum(axis=1, keepdims=True))
T_PROBS = np.exp(Y) / np.exp(Y).sum(axis=1, keepdims=True)
MLM_TARGET = np.array([[2, 0, -1, 3, 1]] * 4 + [[4, -1, 0, 0, 0]] * 4)
CTC_LP = np.log(
    (e := np.exp(_R.standard_normal((6, 3, 4)))) / e.sum(axis=-1, keepdims=True)
)  # (T, N, C)

#: Per class: constructor arguments (arrays as NumPy) and forward arguments (NumPy, in order).
SPECS = {
    "L1Loss": ({}, (X, Y)),
    "MSELoss": ({"reduction": "sum"}, (X, Y)),
    "CrossEntropyLoss": (
        {"weight": CLASS_W, "ignore_index": -100, "label_smoothing": 0.15},
        (X, LABELS),
    ),
    "NLLLoss": ({"weight": CLASS_W, "reduction": "mean"}, (LOGP, LABELS)),
    "PoissonNLLLoss": ({"log_input": False, "full": True}, (PROBS * 4, np.round(SOFT * 6))),
    "GaussianNLLLoss": ({"full": True, "eps": 1e-3}, (X, Y, PROBS)),
    "KLDivLoss": ({"reduction": "batchmean"}, (LOGP, T_PROBS)),
    "BCELoss": ({"weight": CLASS_W}, (PROBS, SOFT)),
    "BCEWithLogitsLoss": ({"weight": PROBS, "pos_weight": CLASS_W}, (3 * X, SOFT)),
    "MarginRankingLoss": ({"margin": 0.25}, (X, Y, SIGNS)),
    "HingeEmbeddingLoss": ({"margin": 0.7, "reduction": "none"}, (np.abs(X), SIGNS)),
    "MultiLabelMarginLoss": ({}, (X, MLM_TARGET)),
    "HuberLoss": ({"delta": 0.6}, (2 * X, Y)),
    "SmoothL1Loss": ({"beta": 0.4}, (2 * X, Y)),
    "SoftMarginLoss": ({"reduction": "sum"}, (X, SIGNS)),
    "MultiLabelSoftMarginLoss": ({"weight": CLASS_W}, (X, (SOFT > 0.5) * 1.0)),
    "CosineEmbeddingLoss": ({"margin": 0.1}, (X, Y, ROW_SIGNS)),
    "MultiMarginLoss": ({"p": 2, "margin": 0.8, "weight": CLASS_W}, (X, np.abs(LABELS) % 5)),
    "TripletMarginLoss": ({"margin": 0.5, "p": 1.0, "swap": True}, (X, Y, PROBS)),
    "TripletMarginWithDistanceLoss": ({"margin": 2.0, "swap": True}, (X, Y, PROBS)),
    "CTCLoss": (
        {"blank": 0, "reduction": "mean"},
        (
            CTC_LP,
            np.array([[1, 2, 1], [3, 3, 0], [2, 0, 0]]),
            np.array([6, 5, 4]),
            np.array([3, 2, 1]),
        ),
    ),
}


def _torch(a):
    a = np.asarray(a)
    return torch.from_numpy(a.astype(np.float64) if a.dtype.kind == "f" else a)


def torch_module_value(name, ctor, args):
    """``torch.nn.<name>(**ctor)(*args)`` in float64 (NumPy in, NumPy out)."""
    kw = {k: _torch(v) if isinstance(v, np.ndarray) else v for k, v in ctor.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return getattr(torch.nn, name)(**kw)(*map(_torch, args)).detach().numpy()


def test_specs_cover_every_class():
    assert sorted(SPECS) == sorted(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_class_matches_torch_module(backend, name):
    """Every class on every backend (float64) equals ``torch.nn.<name>`` in float64."""
    ctor, args = SPECS[name]
    expected = torch_module_value(name, ctor, args)
    arrays = [make(backend, a, "float64") for a in args]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch-like broadcast/kl_div warnings
        out = getattr(lnn, name)(**ctor)(*arrays)
    assert_result(out, backend, "float64", expected.shape)
    assert_close(out, expected, rtol=RTOL["float64"])


@pytest.mark.parametrize("name", ["CrossEntropyLoss", "BCEWithLogitsLoss", "MultiMarginLoss"])
def test_float32_matches_torch_and_keeps_dtype(backend, name):
    """float32 input with float64 NumPy weights: the weights take the input's dtype."""
    ctor, args = SPECS[name]
    r32 = [a.astype(np.float32).astype(np.float64) if a.dtype.kind == "f" else a for a in args]
    ctor32 = {
        k: v.astype(np.float32).astype(np.float64) if isinstance(v, np.ndarray) else v
        for k, v in ctor.items()
    }
    expected = torch_module_value(name, ctor32, r32)
    out = getattr(lnn, name)(**ctor)(*[make(backend, a, "float32") for a in args])
    assert_result(out, backend, "float32", expected.shape)
    assert_close(out, expected, rtol=RTOL["float32"])


@pytest.mark.parametrize("name", ["CrossEntropyLoss", "BCEWithLogitsLoss", "TripletMarginLoss"])
def test_gradient_matches_torch_autograd(ad_backend, name):
    """Gradient w.r.t. the first input through each autodiff backend vs torch.nn's autograd."""
    ctor, args = SPECS[name]
    x = _torch(args[0]).requires_grad_(True)
    kw = {k: _torch(v) if isinstance(v, np.ndarray) else v for k, v in ctor.items()}
    getattr(torch.nn, name)(**kw)(x, *map(_torch, args[1:])).sum().backward()
    loss = getattr(lnn, name)(**ctor)
    got = backend_grad(ad_backend, lambda *a: loss(*a), list(args), 0)
    np.testing.assert_allclose(got, x.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_cross_entropy_weight_smoothing_ignore_formula():
    """torch's formula, written in NumPy: (1 - e) weighted NLL + e/C * sum_c w_c (-log p_c),
    both over sum of w_{y_n} for the kept items (pytorch/pytorch#104776)."""
    eps, c = 0.15, 5
    logp = X - np.log(np.exp(X).sum(axis=1, keepdims=True))
    keep = LABELS != -100
    y = LABELS[keep]
    nll = -(CLASS_W[y] * logp[keep, y]).sum()
    smooth = -(logp[keep] * CLASS_W).sum()
    expected = ((1 - eps) * nll + eps / c * smooth) / CLASS_W[y].sum()
    out = lnn.CrossEntropyLoss(weight=list(CLASS_W), label_smoothing=eps)(X, LABELS)
    assert math.isclose(float(out), expected, rel_tol=1e-12)


def test_hand_computed_bce_at_0_and_1():
    """Probabilities exactly 0 and 1: torch clamps each log at -100, so a wrong certain
    prediction costs 100 and a right one 0. mean([0, 100, 100, 0]) = 50; with weight 0.5 per
    element: 25."""
    x = np.array([0.0, 0.0, 1.0, 1.0])
    y = np.array([0.0, 1.0, 0.0, 1.0])
    assert float(lnn.BCELoss()(x, y)) == 50.0
    assert float(lnn.BCELoss(weight=np.full(4, 0.5))(x, y)) == 25.0


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_every_target_ignored_is_nan_mean_and_zero_sum():
    """All targets ignored: 'mean' is 0/0 = NaN, 'sum' is 0, as torch (with weights too)."""
    t = np.full(8, -100)
    assert math.isnan(float(lnn.CrossEntropyLoss(weight=CLASS_W, label_smoothing=0.1)(X, t)))
    assert float(lnn.NLLLoss(weight=CLASS_W, reduction="sum")(LOGP, t)) == 0.0
    assert math.isnan(float(torch.nn.CrossEntropyLoss(label_smoothing=0.1)(_torch(X), _torch(t))))


# ------------------------------------------------------------------------------------------
# Constructors, attributes, legacy arguments, repr
# ------------------------------------------------------------------------------------------


def _params(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()][
        1:
    ]  # without self


@pytest.mark.parametrize("name", [*NAMES, "NLLLoss2d"])
def test_signatures_defaults_and_attributes_equal_torch(name):
    ours, theirs = getattr(lnn, name), getattr(torch.nn, name)
    assert _params(ours.__init__) == _params(theirs.__init__)
    fwd = [p.name for p in inspect.signature(ours.forward).parameters.values()]
    # lossbridge's one extension: a keyword-only denominator= (issue 16, global means), last
    assert fwd[-1] == "denominator"
    assert (
        inspect.signature(ours.forward).parameters["denominator"].kind
        is inspect.Parameter.KEYWORD_ONLY
    )
    assert fwd[:-1] == [p.name for p in inspect.signature(theirs.forward).parameters.values()]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # NLLLoss2d
        a, b = ours(), theirs()
    for pname, *_ in _params(ours.__init__):
        if pname in ("size_average", "reduce", "distance_function"):
            continue
        assert getattr(a, pname) == getattr(b, pname), pname
    if name == "TripletMarginWithDistanceLoss":
        assert a.distance_function is lnn.pairwise_distance
    else:
        assert repr(a) == repr(b)


@pytest.mark.parametrize(
    ("size_average", "reduce"),
    [(None, False), (False, None), (True, None), (None, True), (False, True), (True, False)],
)
def test_legacy_size_average_reduce_map_and_warn_like_torch(size_average, reduce):
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        ours = lnn.CrossEntropyLoss(size_average=size_average, reduce=reduce)
        theirs = torch.nn.CrossEntropyLoss(size_average=size_average, reduce=reduce)
        ours_l1 = lnn.L1Loss(size_average=size_average, reduce=reduce)
    assert ours.reduction == theirs.reduction == ours_l1.reduction
    assert [str(w.message) for w in got[:2]] == [str(got[1].message)] * 2
    assert got[0].category is UserWarning
    assert got[0].filename == got[2].filename == __file__  # points at the caller
    out = ours(X, LABELS)
    assert_close(
        out,
        torch_module_value("CrossEntropyLoss", {"reduction": ours.reduction}, (X, LABELS)),
        rtol=1e-12,
    )


def test_elementwise_mean_and_nllloss2d_warn_like_torch():
    with pytest.warns(UserWarning, match="elementwise_mean"):
        assert lnn.MSELoss(reduction="elementwise_mean").reduction == "mean"
    with pytest.warns(FutureWarning, match="NLLLoss2d` has been deprecated"):
        loss = lnn.NLLLoss2d(weight=CLASS_W)
    logp = np.moveaxis(LOGP.reshape(2, 4, 5), 2, 1)  # (2, 5, 4): class axis 1
    t = np.abs(LABELS.reshape(2, 4)) % 5
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        expected = torch_module_value("NLLLoss2d", {"weight": CLASS_W}, (logp, t))
    assert_close(loss(logp, t), expected, rtol=1e-12)


def test_extra_repr_overrides_like_torch():
    class Mine(lnn.L1Loss):
        def extra_repr(self):
            return f"reduction={self.reduction!r}"

    assert repr(Mine(reduction="sum")) == "Mine(reduction='sum')"


@pytest.mark.parametrize(
    ("make_loss", "exc", "words"),
    [
        (lambda: lnn.L1Loss(reduction="avg"), ValueError, ["reduction='avg'", "'mean'"]),
        (lambda: lnn.KLDivLoss(reduction="batch"), ValueError, ["reduction", "'batchmean'"]),
        (lambda: lnn.CrossEntropyLoss(label_smoothing=1.5), ValueError, ["label_smoothing", "1.5"]),
        (lambda: lnn.CrossEntropyLoss(label_smoothing="0.1"), TypeError, ["label_smoothing"]),
        (lambda: lnn.NLLLoss(ignore_index=1.5), TypeError, ["ignore_index", "1.5"]),
        (lambda: lnn.MultiMarginLoss(p=3), ValueError, ["p must be 1 or 2", "3"]),
        (lambda: lnn.MultiMarginLoss(weight=np.ones((2, 5))), ValueError, ["weight", "(2, 5)"]),
        (lambda: lnn.TripletMarginLoss(margin=0.0), ValueError, ["margin", "0.0"]),
        (lambda: lnn.TripletMarginWithDistanceLoss(margin=-1), ValueError, ["margin", "-1"]),
        (
            lambda: lnn.TripletMarginWithDistanceLoss(distance_function="l2"),
            TypeError,
            ["distance_function", "'l2'"],
        ),
        (lambda: lnn.HuberLoss(delta=0.0), ValueError, ["delta", "0.0"]),
        (lambda: lnn.SmoothL1Loss(beta=-1.0), ValueError, ["beta", "-1.0"]),
        (lambda: lnn.CTCLoss(blank=None), TypeError, ["blank", "None"]),
        (lambda: lnn.GaussianNLLLoss(eps="small"), TypeError, ["eps", "'small'"]),
    ],
)
def test_constructor_errors_name_the_argument(make_loss, exc, words):
    with pytest.raises(exc) as info:
        make_loss()
    for w in words:
        assert w in str(info.value)


class _MyRanking(lnn.MarginRankingLoss):
    """A user's subclass: its errors name it."""


@pytest.mark.parametrize(
    ("make_loss", "exc", "message"),
    [
        (lambda: lnn.HuberLoss(delta=0.0), ValueError, "HuberLoss: delta must be > 0; got 0.0"),
        (
            lambda: lnn.CrossEntropyLoss(label_smoothing=1.5),
            ValueError,
            "CrossEntropyLoss: label_smoothing must be in [0, 1]; got 1.5",
        ),
        (
            lambda: lnn.SmoothL1Loss(beta=float("nan")),
            ValueError,
            "SmoothL1Loss: beta must be >= 0; got nan",
        ),
        (
            lambda: lnn.TripletMarginWithDistanceLoss(margin=-1),
            ValueError,
            "TripletMarginWithDistanceLoss: margin must be > 0; got -1",
        ),
        (
            lambda: lnn.LinearCrossEntropyLoss(2, 3, z_loss="x"),
            TypeError,
            "LinearCrossEntropyLoss: z_loss must be a real number; got 'x'",
        ),
        (
            lambda: _MyRanking(margin=None),
            TypeError,
            "_MyRanking: margin must be a real number; got None",
        ),
        (
            lambda: lnn.NLLLoss(ignore_index=1.5),
            TypeError,
            "NLLLoss: ignore_index must be an int; got 1.5",
        ),
        (
            lambda: lnn.TripletMarginLoss(swap="yes"),
            TypeError,
            "TripletMarginLoss: swap must be a bool; got 'yes'",
        ),
    ],
)
def test_constructor_errors_start_with_the_class_once(make_loss, exc, message):
    """The checks name the loss as lossbridge.get does ("nn.HuberLoss"); the public entry
    replaces that name with the object's class, which then stands once."""
    with pytest.raises(exc) as info:
        make_loss()
    assert str(info.value) == message


def test_cross_entropy_ignore_index_with_probabilities():
    """issue 18 item 2: torch.nn.CrossEntropyLoss(ignore_index=1) refuses probability targets;
    the default (-100) takes them."""
    phrase = "ignore_index is not supported for floating point target"
    with pytest.raises(RuntimeError, match=phrase):
        torch.nn.CrossEntropyLoss(ignore_index=1)(_torch(X), _torch(T_PROBS))
    with pytest.raises(ValueError, match=phrase) as info:
        lnn.CrossEntropyLoss(ignore_index=1)(X, T_PROBS)
    # the outermost public entry names the error (issue 18 item 7): the class, not the core loss
    assert str(info.value).startswith("CrossEntropyLoss: ") and "ignore_index=1" in str(info.value)
    expected = torch.nn.CrossEntropyLoss()(_torch(X), _torch(T_PROBS)).numpy()
    assert_close(lnn.CrossEntropyLoss()(X, T_PROBS), expected, RTOL["float64"])


def test_call_errors_come_from_the_core():
    with pytest.raises(ValueError, match="target"):
        lnn.CrossEntropyLoss()(X, np.array([0, 7, 1, 2, 3, 4, 0, 1]))
    with pytest.raises(TypeError, match="input must have a real floating dtype"):
        lnn.MSELoss()(np.arange(4), np.ones(4))


# ------------------------------------------------------------------------------------------
# Weights of any framework, converted to the input's namespace, dtype and device
# ------------------------------------------------------------------------------------------


def _weight_as(kind):
    if kind == "list":
        return list(CLASS_W)
    if kind == "numpy32":
        return CLASS_W.astype(np.float32)
    if kind == "torch32":
        return torch.tensor(CLASS_W, dtype=torch.float32)
    if kind == "tensorflow":
        tf = pytest.importorskip("tensorflow")
        return tf.constant(CLASS_W)
    if kind == "jax":
        jnp = pytest.importorskip("jax.numpy")
        return jnp.asarray(CLASS_W)
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["list", "numpy32", "torch32", "tensorflow", "jax"])
def test_weight_of_any_framework_on_any_backend(backend, kind):
    """A weight given as a list, NumPy, torch, TF or JAX array works on every backend's input;
    it takes the input's dtype (a float32 weight on float64 input is widened)."""
    weight = _weight_as(kind)
    w64 = np.asarray(to_numpy(weight) if not isinstance(weight, list) else weight, np.float64)
    expected = torch_module_value(
        "CrossEntropyLoss", {"weight": w64, "label_smoothing": 0.1}, (X, LABELS)
    )
    loss = lnn.CrossEntropyLoss(weight=weight, label_smoothing=0.1)
    out = loss(make(backend, X, "float64"), make(backend, LABELS))
    assert_result(out, backend, "float64", ())
    assert_close(out, expected, rtol=1e-12)
    assert loss.weight is weight  # kept as given


def test_weight_moves_to_the_input_device():
    """array-api-strict: a weight on the default device follows input on ``device1``; torch:
    a CPU weight follows ``meta`` input (shape, dtype and device only)."""
    strict = pytest.importorskip("array_api_strict")
    dev = strict.Device("device1")
    t = np.abs(LABELS) % 5
    loss = lnn.NLLLoss(weight=strict.asarray(CLASS_W))
    out = loss(strict.asarray(LOGP, device=dev), strict.asarray(t, device=dev))
    assert out.device == dev
    expected = torch_module_value("NLLLoss", {"weight": CLASS_W}, (LOGP, t))
    assert_close(out, expected, rtol=1e-12)
    out = lnn.CrossEntropyLoss(weight=torch.tensor(CLASS_W))(
        torch.tensor(X, device="meta"), torch.tensor(np.abs(LABELS) % 5, device="meta")
    )
    assert out.device.type == "meta" and out.dtype == torch.float64


def test_weight_inside_jax_jit_and_tf_function():
    """Weights given at construction become constants of the traced function."""
    jax = pytest.importorskip("jax")
    tf = pytest.importorskip("tensorflow")
    expected = torch_module_value("CrossEntropyLoss", {"weight": CLASS_W}, (X, LABELS))
    loss = lnn.CrossEntropyLoss(weight=torch.tensor(CLASS_W))
    out = jax.jit(lambda x, t: loss(x, t))(jax.numpy.asarray(X), jax.numpy.asarray(LABELS))
    assert_close(out, expected, rtol=1e-12)
    out = tf.function(lambda x, t: loss(x, t))(tf.constant(X), tf.constant(LABELS))
    assert_close(out, expected, rtol=1e-12)


# ------------------------------------------------------------------------------------------
# Import
# ------------------------------------------------------------------------------------------


def run_python(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON object as its last line."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_import_lossbridge_nn_loads_no_framework():
    frameworks = [
        m
        for m in ("torch", "tensorflow", "jax", "keras", "optax", "array_api_strict")
        if importlib.util.find_spec(m) is not None
    ]
    res = run_python(
        f"""
        import json, sys
        import lossbridge.nn
        from lossbridge.nn import CrossEntropyLoss
        loaded = [m for m in {frameworks!r} if m in sys.modules]
        import numpy as np
        v = CrossEntropyLoss(weight=[1.0, 2.0, 3.0])(np.array([[1.0, 2.0, 3.0]]), np.array([2]))
        print(json.dumps({{"loaded": loaded, "after": [m for m in {frameworks!r}
                                                       if m in sys.modules], "v": float(v)}}))
        """
    )
    assert res["loaded"] == [] and res["after"] == []
    # one item, weight 3 on class 2: 3 * (log(e^1 + e^2 + e^3) - 3) / 3
    assert math.isclose(res["v"], math.log(math.exp(-2) + math.exp(-1) + 1), rel_tol=1e-12)


# ------------------------------------------------------------------------------------------
# Half precision and torch.autocast: what torch.nn's module gives
# ------------------------------------------------------------------------------------------
#
# Expected: the dtype torch.nn.<name> returns on the same tensors (half inputs outside
# autocast; CPU autocast with half predictions and float32 targets/weights), and torch.nn's
# value in float64 on the same (rounded) numbers. Ours no further from that float64 value than
# torch's own result, with a floor of 1 ulp (half results) or 8 ulp (float32 results: a few
# dozen float32 roundings in a reduction over 40 elements).

#: Classes whose float arguments are all model outputs (embeddings, scores): half under
#: autocast; elsewhere only the first argument (the prediction) is.
_ALL_OUTPUTS = {
    "MarginRankingLoss",
    "CosineEmbeddingLoss",
    "TripletMarginLoss",
    "TripletMarginWithDistanceLoss",
}


def _t(a, dtype):
    a = np.asarray(a)
    if a.dtype.kind != "f":
        return torch.from_numpy(a)
    return torch.from_numpy(a.astype(np.float32)).to(dtype)


def _tname(dtype):
    return str(dtype).removeprefix("torch.")


def _module(name, ctor, wdtype):
    kw = {k: _t(v, wdtype) if isinstance(v, np.ndarray) else v for k, v in ctor.items()}
    return getattr(torch.nn, name)(**kw)


def _rounded_f64(args_t):
    return [a.double() if a.is_floating_point() else a for a in args_t]


def _bound(theirs, want, dtype):
    floor = 1.0 if dtype in ("float16", "bfloat16") else 8.0
    return max(ulps(theirs, want, dtype), floor)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", NAMES)
def test_half_inputs_match_torch_module(name, dtype):
    """Half tensors (and half weights) outside autocast: torch's result dtype, the value no
    further from float64 than torch's half result (or 1 ulp). Where torch has no CPU half
    kernel (CTC, multi-margin, multilabel-margin raise NotImplementedError), the core rule:
    the input's half dtype, within 1 ulp."""
    ctor, args = SPECS[name]
    hd = getattr(torch, dtype)
    args_t = [_t(a, hd) for a in args]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = _module(name, ctor, torch.float64)(*_rounded_f64(args_t)).detach().numpy()
        try:
            theirs = _module(name, ctor, hd)(*args_t)
        except NotImplementedError:
            assert name in ("CTCLoss", "MultiMarginLoss", "MultiLabelMarginLoss")
            theirs = None
        out = getattr(lnn, name)(
            **{k: _t(v, hd) if isinstance(v, np.ndarray) else v for k, v in ctor.items()}
        )(*args_t)
    if theirs is None:
        assert out.dtype == hd
        bound = 1.0
    else:
        assert out.dtype == theirs.dtype
        bound = _bound(theirs.detach().double().numpy(), want, _tname(theirs.dtype))
    assert ulps(out.detach().double().numpy(), want, _tname(out.dtype)) <= bound


@pytest.mark.parametrize("cast", ["bfloat16", "float16"])
@pytest.mark.parametrize("name", NAMES)
def test_cpu_autocast_matches_torch_module(name, cast):
    """Under ``torch.autocast('cpu')`` with half predictions (as an autocast matmul makes them)
    and float32 targets and weights: torch.nn's result dtype (float32, or the half dtype for the
    losses torch keeps in half on the CPU), the value no further from float64 than torch's."""
    ctor, args = SPECS[name]
    hd = getattr(torch, cast)
    args_t = [
        _t(a, hd if (i == 0 or name in _ALL_OUTPUTS) else torch.float32) for i, a in enumerate(args)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = _module(name, ctor, torch.float64)(*_rounded_f64(args_t)).detach().numpy()
        with torch.autocast("cpu", dtype=hd):
            theirs = _module(name, ctor, torch.float32)(*args_t)
            out = getattr(lnn, name)(**ctor)(*args_t)
    assert out.dtype == theirs.dtype
    rdt = _tname(theirs.dtype)
    bound = _bound(theirs.detach().double().numpy(), want, rdt)
    assert ulps(out.detach().double().numpy(), want, rdt) <= bound


@pytest.mark.parametrize("name", ["CrossEntropyLoss", "BCEWithLogitsLoss", "MultiMarginLoss"])
def test_numpy_bfloat16_input_with_weights(name):
    """NumPy bfloat16 (ml_dtypes) input with float64 NumPy weights: the weights take the input's
    dtype (NumPy's isdtype does not know bfloat16), the result is bfloat16 within 1 ulp of
    torch.nn's float64 value on the rounded inputs and weights."""
    import ml_dtypes

    ctor, args = SPECS[name]
    bf = np.dtype(ml_dtypes.bfloat16)
    r_args = [a.astype(bf).astype(np.float64) if a.dtype.kind == "f" else a for a in args]
    r_ctor = {
        k: v.astype(bf).astype(np.float64) if isinstance(v, np.ndarray) else v
        for k, v in ctor.items()
    }
    want = torch_module_value(name, r_ctor, r_args)
    out = getattr(lnn, name)(**ctor)(*[a.astype(bf) if a.dtype.kind == "f" else a for a in args])
    assert out.dtype == bf
    assert ulps(np.asarray(out, np.float64), want, "bfloat16") <= 1.0
