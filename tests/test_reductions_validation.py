"""Reductions, and the input checks with their messages (eager), silent while tracing."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from _helpers import RTOL, assert_close, ignore_fp_warnings, make, to_numpy, torch_f

import lossbridge as lb
from lossbridge._reduction import reduce
from lossbridge._validation import check_real
from lossbridge.backends import get_namespace

RNG = np.random.default_rng(7)
LOGITS = RNG.normal(size=(4, 3))
LABELS = np.array([0, 2, 1, 2])
PROBS = np.array([0.1, 0.6, 0.9, 0.35])
BINARY = np.array([0.0, 1.0, 1.0, 0.0])
VALUES = RNG.normal(size=4)
VALUES2 = RNG.normal(size=4)


def _softmax(x):
    e = np.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@dataclass
class Case:
    """A loss with valid NumPy arguments, which positional argument is the target."""

    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    reductions: tuple[str, ...] = ("none", "mean", "sum")


CASES = {
    "cross_entropy": Case(lb.cross_entropy, (LOGITS, LABELS)),
    "cross_entropy_probs": Case(lb.cross_entropy, (LOGITS, _softmax(2 * LOGITS))),
    "nll_loss": Case(lb.nll_loss, (np.log(_softmax(LOGITS)), LABELS)),
    "binary_cross_entropy": Case(lb.binary_cross_entropy, (PROBS, BINARY)),
    "binary_cross_entropy_with_logits": Case(lb.binary_cross_entropy_with_logits, (VALUES, BINARY)),
    "kl_div": Case(
        lb.kl_div,
        (np.log(_softmax(LOGITS)), _softmax(2 * LOGITS)),
        reductions=("none", "mean", "sum", "batchmean"),
    ),
    "mse_loss": Case(lb.mse_loss, (VALUES, VALUES2)),
    "l1_loss": Case(lb.l1_loss, (VALUES, VALUES2)),
    "huber_loss": Case(lb.huber_loss, (VALUES, VALUES2)),
    "smooth_l1_loss": Case(lb.smooth_l1_loss, (VALUES, VALUES2)),
    "poisson_nll_loss": Case(lb.poisson_nll_loss, (VALUES, np.array([0.0, 1.0, 3.0, 2.0]))),
    "gaussian_nll_loss": Case(lb.gaussian_nll_loss, (VALUES, VALUES2, np.exp(VALUES2))),
}
NAMES = list(CASES)


def torch_name(name: str) -> str:
    return "cross_entropy" if name == "cross_entropy_probs" else name


def on(backend, arrays, dtype="float64"):
    return [make(backend, a, dtype) for a in arrays]


# ------------------------------------------------------------------------------------------
# Reductions
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_every_reduction_matches_torch(backend, name):
    case = CASES[name]
    for reduction in case.reductions:
        out = case.fn(*on(backend, case.args), reduction=reduction)
        expected = torch_f(torch_name(name), *case.args, reduction=reduction)
        assert_close(out, expected, RTOL["float64"])


@pytest.mark.parametrize("name", NAMES)
def test_sum_and_mean_are_reductions_of_none(name):
    """Plain NumPy: 'sum' = sum(none), 'mean' = sum(none) / (number of items)."""
    case = CASES[name]
    none = np.asarray(case.fn(*case.args, reduction="none"))
    total = np.asarray(case.fn(*case.args, reduction="sum"))
    mean = np.asarray(case.fn(*case.args, reduction="mean"))
    np.testing.assert_allclose(total, none.sum(), rtol=1e-14)
    np.testing.assert_allclose(mean, none.sum() / none.size, rtol=1e-14)


def test_kl_div_batchmean_divides_by_batch():
    case = CASES["kl_div"]
    none = np.asarray(lb.kl_div(*case.args, reduction="none"))
    out = lb.kl_div(*case.args, reduction="batchmean")
    np.testing.assert_allclose(out, none.sum() / case.args[0].shape[0], rtol=1e-14)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_reduce_helper(backend, dtype):
    loss = np.array([[1.0, 2.0, 3.5], [0.25, -1.0, 4.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    xb = make(backend, loss, dtype)
    xp, _ = get_namespace(xb)
    assert_close(reduce(xp, xb, "none"), loss, 0.0)
    # sum = 1 + 2 + 3.5 + 0.25 - 1 + 4 = 9.75; mean = 9.75 / 12; batchmean = 9.75 / 4 rows
    assert_close(reduce(xp, xb, "sum"), 9.75, RTOL[dtype])
    assert_close(reduce(xp, xb, "mean"), 9.75 / 12, RTOL[dtype])
    assert_close(reduce(xp, xb, "mean", denominator=5), 9.75 / 5, RTOL[dtype])
    assert_close(reduce(xp, xb, "batchmean"), 9.75 / 4, RTOL[dtype])
    assert_close(reduce(xp, xb, "batchmean", denominator=3), 9.75 / 3, RTOL[dtype])


@ignore_fp_warnings
def test_reduce_empty(backend):
    xb = make(backend, np.zeros((0,)), "float64")
    xp, _ = get_namespace(xb)
    assert np.isnan(to_numpy(reduce(xp, xb, "mean")))
    assert to_numpy(reduce(xp, xb, "sum")) == 0.0


# ------------------------------------------------------------------------------------------
# Invalid reductions
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("bad", ["avg", "MEAN", "batchmean", None, ""])
def test_invalid_reduction(name, bad):
    case = CASES[name]
    if bad in case.reductions:
        case.fn(*case.args, reduction=bad)  # 'batchmean' is valid for kl_div only
        assert name == "kl_div"
        return
    with pytest.raises(ValueError) as info:
        case.fn(*case.args, reduction=bad)
    msg = str(info.value)
    assert "reduction" in msg and repr(bad) in msg, msg
    for allowed in case.reductions:
        assert repr(allowed) in msg, msg
    if bad != "batchmean":
        assert ("'batchmean'" in msg) == (name == "kl_div"), msg


def test_invalid_reduction_on_backend(backend):
    x = make(backend, LOGITS)
    with pytest.raises(ValueError, match="reduction='avg'"):
        lb.cross_entropy(x, make(backend, LABELS), reduction="avg")


# ------------------------------------------------------------------------------------------
# dtypes
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("int_dtype", ["int64", "int32", "bool"])
def test_non_floating_input_raises(backend, name, int_dtype):
    case = CASES[name]
    args = on(backend, case.args)
    args[0] = make(backend, np.ones(case.args[0].shape, dtype=int_dtype))
    with pytest.raises(TypeError, match=r"\binput\b.*floating"):
        case.fn(*args)


@pytest.mark.parametrize("fn", [lb.cross_entropy, lb.nll_loss])
def test_float_index_target_raises(backend, fn):
    x = make(backend, LOGITS)
    with pytest.raises(TypeError, match=r"\btarget\b.*integer"):
        fn(x, make(backend, LABELS.astype(np.float64)))


def test_integer_probability_shaped_target_raises(backend):
    x = make(backend, LOGITS)
    with pytest.raises(TypeError, match=r"target.*floating"):
        lb.cross_entropy(x, make(backend, np.ones((4, 3), dtype=np.int64)))


def test_integer_class_weight_raises(backend):
    x = make(backend, LOGITS)
    with pytest.raises(TypeError, match=r"\bweight\b.*floating"):
        lb.cross_entropy(x, make(backend, LABELS), weight=make(backend, np.ones(3, int)))


# ------------------------------------------------------------------------------------------
# Shapes
# ------------------------------------------------------------------------------------------

SHAPE_CASES = [
    (lb.cross_entropy, (4, 3), np.zeros(5, np.int64), "(5,)", "(4, 3)"),
    (lb.cross_entropy, (4, 3), np.zeros((4, 2)), "(4, 2)", "(4, 3)"),  # probabilities
    (lb.cross_entropy, (4, 3, 2), np.zeros((4, 3), np.int64), "(4, 3)", "(4, 3, 2)"),
    (lb.cross_entropy, (3,), np.zeros(1, np.int64), "(1,)", "(3,)"),
    (lb.nll_loss, (4, 3), np.zeros((4, 1), np.int64), "(4, 1)", "(4, 3)"),
    (lb.binary_cross_entropy, (4,), np.zeros(3), "(3,)", "(4,)"),
    (lb.binary_cross_entropy_with_logits, (4,), np.zeros((4, 1)), "(4, 1)", "(4,)"),
    (lb.mse_loss, (4,), np.zeros(3), "(3,)", "(4,)"),
    (lb.l1_loss, (2, 4), np.zeros((2, 3)), "(2, 3)", "(2, 4)"),
    (lb.huber_loss, (4,), np.zeros(3), "(3,)", "(4,)"),
    (lb.smooth_l1_loss, (4,), np.zeros(3), "(3,)", "(4,)"),
    (lb.poisson_nll_loss, (4,), np.zeros(3), "(3,)", "(4,)"),
    (lb.kl_div, (2, 4), np.zeros((2, 3)), "(2, 3)", "(2, 4)"),
]


@pytest.mark.parametrize(
    ("fn", "in_shape", "target", "t_str", "in_str"),
    SHAPE_CASES,
    ids=[f"{c[0].__name__}-{c[3]}" for c in SHAPE_CASES],
)
def test_wrong_target_shape_raises(backend, fn, in_shape, target, t_str, in_str):
    x = make(backend, np.full(in_shape, 0.5))
    with pytest.raises(ValueError) as info:
        fn(x, make(backend, target))
    msg = str(info.value)
    assert t_str in msg and in_str in msg and "target" in msg, msg


def test_gaussian_wrong_shapes_raise(backend):
    x = make(backend, np.zeros((3, 2)))
    with pytest.raises(ValueError, match=re.escape("(3, 3)")):
        lb.gaussian_nll_loss(x, x, make(backend, np.ones((3, 3))))
    with pytest.raises(ValueError, match=r"target.*\(3, 3\)"):
        lb.gaussian_nll_loss(x, make(backend, np.zeros((3, 3))), 1.0)
    # torch: a 1-D input with var (N, 1) is "of incorrect size" (one more dimension, not one less)
    v = make(backend, np.zeros(3))
    with pytest.raises(ValueError, match=re.escape("(3, 1)")):
        lb.gaussian_nll_loss(v, v, make(backend, np.ones((3, 1))))


@pytest.mark.parametrize(
    ("fn", "weight"),
    [
        (lb.cross_entropy, np.ones(4)),
        (lb.cross_entropy, np.ones((1, 3))),
        (lb.nll_loss, np.ones(2)),
    ],
)
def test_class_weight_wrong_shape(backend, fn, weight):
    x = make(backend, LOGITS)
    with pytest.raises(ValueError) as info:
        fn(x, make(backend, LABELS), weight=make(backend, weight))
    msg = str(info.value)
    assert "weight" in msg and str(weight.shape) in msg and "(3,)" in msg, msg


@pytest.mark.parametrize("fn", [lb.mse_loss, lb.l1_loss, lb.huber_loss])
def test_elementwise_weight_wrong_shape(backend, fn):
    x = make(backend, VALUES)
    with pytest.raises(ValueError, match=r"weight.*\(3,\).*\(4,\)"):
        fn(x, make(backend, VALUES2), weight=make(backend, np.ones(3)))


def test_zero_dim_input_for_class_losses(backend):
    x = make(backend, np.array(1.0))
    for fn in (lb.cross_entropy, lb.nll_loss):
        with pytest.raises(ValueError, match="0-d"):
            fn(x, make(backend, np.array(0)))


# ------------------------------------------------------------------------------------------
# Values (concrete arrays only)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fn", [lb.cross_entropy, lb.nll_loss])
@pytest.mark.parametrize("bad", [3, -1, 7])
def test_class_index_out_of_range(backend, fn, bad):
    labels = LABELS.copy()
    labels[1] = bad
    with pytest.raises(ValueError) as info:
        fn(make(backend, LOGITS), make(backend, labels))
    msg = str(info.value)
    assert f"index {bad}" in msg and "3 classes" in msg, msg


@pytest.mark.parametrize("ignore_index", [-100, -1, 3, 250])
def test_ignore_index_values_are_not_out_of_range(backend, ignore_index):
    labels = LABELS.copy()
    labels[[0, 3]] = ignore_index
    for fn in (lb.cross_entropy, lb.nll_loss):
        out = fn(make(backend, LOGITS), make(backend, labels), ignore_index=ignore_index)
        expected = torch_f(fn.__name__, LOGITS, labels, ignore_index=ignore_index)
        assert_close(out, expected, RTOL["float64"])


def test_ignore_index_does_not_excuse_other_indices(backend):
    labels = np.array([0, -100, 5, 1])
    with pytest.raises(ValueError, match="index 5"):
        lb.cross_entropy(make(backend, LOGITS), make(backend, labels))


@pytest.mark.parametrize(
    ("p", "y", "name"),
    [
        (np.array([0.5, 1.5]), np.array([0.0, 1.0]), "input"),
        (np.array([0.5, -1e-3]), np.array([0.0, 1.0]), "input"),
        (np.array([0.5, 0.5]), np.array([0.0, 2.0]), "target"),
        (np.array([0.5, 0.5]), np.array([-0.5, 1.0]), "target"),
    ],
)
def test_bce_out_of_range(backend, p, y, name):
    with pytest.raises(ValueError, match=rf"{name}.*\[0.0, 1.0\]"):
        lb.binary_cross_entropy(make(backend, p), make(backend, y))


def test_bce_nan_passes_the_check(backend):
    """NaN is not out of range: it propagates to the loss, as in torch."""
    out = lb.binary_cross_entropy(
        make(backend, np.array([np.nan, 0.5])),
        make(backend, np.array([1.0, 1.0])),
        reduction="none",
    )
    res = to_numpy(out)
    assert np.isnan(res[0]) and res[1] == pytest.approx(np.log(2))


def test_gaussian_negative_var_raises(backend):
    x = make(backend, np.zeros(3))
    with pytest.raises(ValueError, match="var"):
        lb.gaussian_nll_loss(x, x, make(backend, np.array([1.0, -0.5, 1.0])))
    with pytest.raises(ValueError, match="var"):
        lb.gaussian_nll_loss(x, x, -1.0)


@pytest.mark.parametrize("eps", [-0.1, 1.5])
def test_label_smoothing_out_of_range(backend, eps):
    with pytest.raises(ValueError, match=rf"label_smoothing.*{eps}"):
        lb.cross_entropy(make(backend, LOGITS), make(backend, LABELS), label_smoothing=eps)


def test_delta_and_beta_must_be_valid():
    with pytest.raises(ValueError, match="delta"):
        lb.huber_loss(VALUES, VALUES2, delta=0.0)
    with pytest.raises(ValueError, match="beta"):
        lb.smooth_l1_loss(VALUES, VALUES2, beta=-1.0)


@pytest.mark.parametrize(
    ("value", "kwargs", "exc", "message"),
    [
        # the type: any real number (NumPy scalars too) but a bool; `what` in parentheses
        ("1", {"what": "w"}, TypeError, "f: d must be a real number (w); got '1'"),
        (True, {}, TypeError, "f: d must be a real number; got True"),
        (None, {}, TypeError, "f: d must be a real number; got None"),
        (np.array([0.5]), {}, TypeError, "f: d must be a real number; got array([0.5])"),
        (np.inf, {"finite": True}, ValueError, "f: d must be finite; got inf"),
        (np.nan, {"finite": True}, ValueError, "f: d must be finite; got nan"),
        # the range: inclusive unless strict; nan is outside every range
        (-0.5, {"low": 0.0}, ValueError, "f: d must be >= 0; got -0.5"),
        (0.0, {"low": 0.0, "strict": True}, ValueError, "f: d must be > 0; got 0.0"),
        (1.5, {"high": 1.0}, ValueError, "f: d must be <= 1; got 1.5"),
        (1, {"high": 1.0, "strict": True}, ValueError, "f: d must be < 1; got 1"),
        (1.5, {"low": 0.0, "high": 1.0}, ValueError, "f: d must be in [0, 1]; got 1.5"),
        (0.0, {"low": 0, "high": 1, "strict": True}, ValueError, "f: d must be in (0, 1); got 0.0"),
        (np.nan, {"low": -1.0, "what": "w"}, ValueError, "f: d must be >= -1 (w); got nan"),
        (np.nan, {"high": 1.0}, ValueError, "f: d must be <= 1; got nan"),
    ],
)
def test_check_real_messages(value, kwargs, exc, message):
    """The one real-number check: the loss first, then the argument, the bound and the value."""
    with pytest.raises(exc) as err:
        check_real(value, "d", loss="f", **kwargs)
    assert str(err.value) == message


@pytest.mark.parametrize(
    ("value", "kwargs"),
    [
        (2, {}),
        (np.float32(0.25), {"low": 0.0, "high": 1.0, "strict": True}),
        (np.int64(1), {"low": 1.0, "high": 1.0}),
        (-np.inf, {"high": 0.0}),  # not finite=True: an infinite bound passes the range
        (np.nan, {}),  # no range, not finite=True: nan passes
    ],
)
def test_check_real_accepts(value, kwargs):
    out = check_real(value, "d", loss="f", **kwargs)
    assert type(out) is float
    assert out == float(value) or (np.isnan(out) and np.isnan(value))


# ------------------------------------------------------------------------------------------
# Value checks never run while tracing
# ------------------------------------------------------------------------------------------

# Invalid values that every backend op still computes (NaN, or a clamped value): only our
# checks could raise on them.
TRACED_INVALID = [
    ("bce_input", lambda x, y, v: lb.binary_cross_entropy(x * 0 + 1.5, y)),
    ("bce_target", lambda x, y, v: lb.binary_cross_entropy(x * 0 + 0.5, y * 0 + 2.0)),
    ("gaussian_var", lambda x, y, v: lb.gaussian_nll_loss(x, y, v * 0 - 1.0)),
]


@pytest.mark.parametrize(("label", "fn"), TRACED_INVALID, ids=[c[0] for c in TRACED_INVALID])
def test_value_checks_skip_under_jax_jit(label, fn):
    jax = pytest.importorskip("jax")
    args = [jax.numpy.asarray(a) for a in (VALUES, BINARY, np.ones(4))]
    jax.jit(fn)(*args)  # no ValueError
    with pytest.raises(ValueError):
        fn(*args)  # eagerly, the same call is refused


@pytest.mark.parametrize(("label", "fn"), TRACED_INVALID, ids=[c[0] for c in TRACED_INVALID])
def test_value_checks_skip_under_tf_function(label, fn):
    tf = pytest.importorskip("tensorflow")
    args = [tf.constant(a) for a in (VALUES, BINARY, np.ones(4))]
    tf.function(fn)(*args)  # no ValueError
    with pytest.raises(ValueError):
        fn(*args)


def test_class_index_check_skips_under_jax_jit():
    jax = pytest.importorskip("jax")
    labels = LABELS.copy()
    labels[0] = 9
    f = jax.jit(lambda x, t: lb.cross_entropy(x, t, reduction="none"))
    f(jax.numpy.asarray(LOGITS), jax.numpy.asarray(labels))  # no ValueError


# The losses that read values eagerly (class indices, probability and variance ranges).
CHECKED = ["cross_entropy", "nll_loss", "binary_cross_entropy", "gaussian_nll_loss"]


@pytest.mark.parametrize("name", CHECKED)
def test_valid_calls_under_jax_jit(name):
    """Tracing does not break the losses: jit values equal torch's."""
    jax = pytest.importorskip("jax")
    case = CASES[name]
    f = jax.jit(lambda *a: case.fn(*a, reduction="sum"))
    out = f(*[jax.numpy.asarray(a) for a in case.args])
    assert_close(out, torch_f(torch_name(name), *case.args, reduction="sum"), RTOL["float64"])


@pytest.mark.parametrize("name", CHECKED)
def test_valid_calls_under_tf_function(name):
    tf = pytest.importorskip("tensorflow")
    case = CASES[name]
    f = tf.function(lambda *a: case.fn(*a, reduction="mean"))
    out = f(*[tf.constant(a) for a in case.args])
    assert_close(out, torch_f(torch_name(name), *case.args, reduction="mean"), RTOL["float64"])
