"""Issue 18, item 7: one shape for every lossbridge error.

Every ``ValueError``/``TypeError`` lossbridge raises reads ``"<public name>: <message>"``, the
name being the entry the user called (the outermost one): a core or dialect function's name, a
dialect class's name (``lossbridge._validation``, module docstring). Where the imitated
framework's message is what users' own tests match, ours keeps its key phrase (Keras's "must have
the same shape", optax's "valid probability distributions"), checked against the framework's own
error on the same input. ``nll_loss`` given one-hot targets says what to pass instead, and a
hyperparameter of the wrong type never leaks Python's own comparison error.

Each public entry is walked with at least one invalid input: the core losses with every bad input
of the validation matrix (``tests/_validation_table.py``, NumPy arrays), the dialects with a str
in place of the prediction, a wrong-shaped second array and, where there is one, an unknown
``reduction``.
"""

from __future__ import annotations

import importlib.util
import inspect
import numbers
import warnings

import numpy as np
import pytest
from _validation_table import SPECS, bad_cases
from conftest import BACKENDS

import lossbridge
import lossbridge.keras as lk
import lossbridge.nn as lnn
import lossbridge.optax as lo
from lossbridge.conformance.drivers import get_driver
from lossbridge.conformance.registry import REGISTRY

_ERRORS = (ValueError, TypeError)


def _message(call) -> str:
    """The message of the ValueError/TypeError ``call()`` raises (warnings silenced)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(_ERRORS) as info:
            call()
    return str(info.value)


def _named(call, name: str) -> str:
    msg = _message(call)
    assert msg.startswith(f"{name}: "), msg
    rest = msg[len(name) + 2 :]
    head = rest.partition(": ")[0]
    assert head not in _ALL_NAMES, f"named twice: {msg}"  # the outermost name, once
    return msg


def _grow(a: np.ndarray) -> np.ndarray:
    """``a`` with its last axis one longer: a shape that neither matches nor broadcasts."""
    return np.resize(a, (*a.shape[:-1], a.shape[-1] + 1))


def _inputs(name: str) -> tuple[dict[str, np.ndarray], dict]:
    case = REGISTRY[name].cases[0]
    return case.inputs(), dict(case.kwargs)


_ALL_NAMES = (
    set(lossbridge.__all__)
    | set(lk.__all__)
    | set(lo.__all__)
    | set(lnn.__all__)
    | {"fenchel_young_loss"}
)

# ------------------------------------------------------------------------------------------
# The core: every loss, every bad input of the matrix; pairwise_distance (a helper)
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("loss", sorted(SPECS))
def test_core_errors_start_with_the_loss_name(loss):
    fn = REGISTRY[loss].fn  # the regularizations' entries call lossbridge.<loss> on 3 arrays
    cases = [c for c in bad_cases(loss) if c.expect == "error"]
    assert {c.category for c in cases} >= {"complex", "non_array"}
    for case in cases:
        _named(lambda c=case: fn(**c.arrays, **c.kwargs), loss)


def test_every_core_loss_is_walked():
    rest = {"pairwise_distance", "LinearCrossEntropyOptions", "mean_denominator"}
    assert set(lossbridge.__all__) == set(SPECS) | rest
    assert {"reduction", "shape"} <= {c.category for c in bad_cases("mse_loss")}


def test_linear_cross_entropy_options_and_module_errors_name_them():
    x, w, y = np.ones((2, 4)), np.ones((3, 4)), np.zeros(2, dtype=np.int64)
    opts = lossbridge.LinearCrossEntropyOptions
    _named(lambda: opts(batch_chunk_size=-1), "LinearCrossEntropyOptions")
    _named(lambda: opts(chunking_method="x"), "LinearCrossEntropyOptions")
    chunked = opts(batch_chunk_size=1)
    _named(
        lambda: lossbridge.linear_cross_entropy(x, w, y, options=chunked, reduction="x"),
        "linear_cross_entropy",
    )
    _named(lambda: lnn.LinearCrossEntropyLoss(4, 3, reduction="avg"), "LinearCrossEntropyLoss")
    _named(lambda: lnn.LinearCrossEntropyLoss(5, 3)(x, y), "LinearCrossEntropyLoss")


def test_pairwise_distance_errors_name_it():
    x = np.ones((4, 3))
    _named(lambda: lossbridge.pairwise_distance("abc", x), "pairwise_distance")
    _named(lambda: lossbridge.pairwise_distance(x, np.ones((4, 5))), "pairwise_distance")
    _named(lambda: lossbridge.pairwise_distance(x, x, p="a"), "pairwise_distance")


# ------------------------------------------------------------------------------------------
# The dialects
# ------------------------------------------------------------------------------------------

_KERAS_CLASSES = sorted(n[len("keras.") :] for n in REGISTRY if n.startswith("keras."))
_NN_CLASSES = sorted(n[len("nn.") :] for n in REGISTRY if n.startswith("nn."))
_OPTAX = sorted(n[len("optax.") :] for n in REGISTRY if n.startswith("optax."))
#: Labels of any length fit a CTC target (padded): a longer y_true/targets is valid input.
_SHAPE_VALID = {"CTC", "ctc", "CTCLoss"}


def test_every_dialect_entry_is_walked():
    """Each dialect object is in the walk below (or checked by name in its own test)."""
    functions = {getattr(lk, c)().fn.__name__ for c in _KERAS_CLASSES}
    keras_rest = {"Loss", "LossFunctionWrapper", "get", "serialize", "deserialize"}
    assert set(lk.__all__) == set(_KERAS_CLASSES) | functions | keras_rest
    assert set(lo.__all__) == set(_OPTAX) | {"make_fenchel_young_loss", "smooth_labels"}
    # LinearCrossEntropyLoss owns its layer (no registry entry): walked by name above
    assert set(lnn.__all__) == set(_NN_CLASSES) | {"NLLLoss2d", "LinearCrossEntropyLoss"}


def _keras_call(cls_name: str, ctor: dict, arrays: dict):
    return lambda: getattr(lk, cls_name)(**ctor)(arrays["y_true"], arrays["y_pred"])


@pytest.mark.parametrize("cls_name", _KERAS_CLASSES)
def test_keras_class_and_function_errors_name_them(cls_name):
    arrays, kwargs = _inputs(f"keras.{cls_name}")
    arrays.pop("sample_weight", None)
    ctor = {k: v for k, v in kwargs.items() if k != "reduction"}
    cls = getattr(lk, cls_name)
    msg = _named(lambda: cls(reduction="avg"), cls_name)
    assert "Invalid value for argument" in msg  # Keras's phrase (keras/src/losses/loss.py)
    _named(_keras_call(cls_name, ctor, {**arrays, "y_pred": "abc"}), cls_name)
    _named(_keras_call(cls_name, ctor, {**arrays, "y_true": "abc"}), cls_name)
    fn = cls().fn
    _named(lambda: fn(arrays["y_true"], "abc"), fn.__name__)
    if cls_name not in _SHAPE_VALID:
        bad = {**arrays, "y_true": _grow(arrays["y_true"])}
        _named(_keras_call(cls_name, ctor, bad), cls_name)
        _named(lambda: fn(bad["y_true"], bad["y_pred"]), fn.__name__)


def test_keras_base_classes_and_helpers_name_themselves():
    _named(lambda: lk.Loss(reduction="avg"), "Loss")
    _named(lambda: lk.LossFunctionWrapper(3), "LossFunctionWrapper")
    wrapper = lk.LossFunctionWrapper(lk.mean_squared_error)
    # the outermost entry wins: the class the user called, not the function it wraps
    _named(lambda: wrapper(np.ones((2, 3)), np.ones((2, 4))), "LossFunctionWrapper")
    _named(lambda: lk.get("typo"), "get")
    _named(lambda: lk.deserialize("typo"), "deserialize")
    _named(lambda: lk.serialize(3), "serialize")


@pytest.mark.parametrize("name", _OPTAX)
def test_optax_errors_name_the_function(name):
    arrays, kwargs = _inputs(f"optax.{name}")
    fn = getattr(lo, name)
    first, *others = arrays
    _named(lambda: fn(**{**arrays, first: "abc"}, **kwargs), name)
    for other in others:
        bad = {**arrays, other: _grow(arrays[other])}
        _named(lambda b=bad: fn(**b, **kwargs), name)


def test_optax_fenchel_young_and_smooth_labels_name_themselves():
    _named(lambda: lo.make_fenchel_young_loss(3), "make_fenchel_young_loss")
    loss = lo.make_fenchel_young_loss(lambda s: s.max(axis=-1))
    _named(lambda: loss("abc", np.ones(3)), "fenchel_young_loss")
    _named(lambda: lo.smooth_labels(np.ones((2, 3)), "a"), "smooth_labels")


@pytest.mark.parametrize("cls_name", _NN_CLASSES)
def test_nn_class_errors_name_the_class(cls_name):
    entry = REGISTRY[f"nn.{cls_name}"]
    arrays, kwargs = _inputs(f"nn.{cls_name}")
    _named(lambda: getattr(lnn, cls_name)(reduction="avg"), cls_name)
    primary = entry.primary
    _named(lambda: entry.fn(**{**arrays, primary: "abc"}, **kwargs), cls_name)
    if cls_name in _SHAPE_VALID:
        return
    for other in arrays:
        if other != primary:
            bad = {**arrays, other: _grow(arrays[other])}
            _named(lambda b=bad: entry.fn(**b, **kwargs), cls_name)


def test_nn_errors_name_the_subclass_and_forward():
    x = np.zeros((2, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        _named(lambda: lnn.NLLLoss2d(reduction="avg"), "NLLLoss2d")
    loss = lnn.MSELoss()
    _named(lambda: loss.forward(x, np.zeros((2, 4))), "MSELoss")  # forward called directly
    _named(lambda: loss(x), "MSELoss")  # Python's own missing-argument error, named too


# ------------------------------------------------------------------------------------------
# What is not renamed, and what renaming keeps
# ------------------------------------------------------------------------------------------


def test_callback_errors_pass_unchanged():
    """A user's distance function raising: its error is the user's, not lossbridge's."""

    def distance(a, b):
        raise ValueError("my distance failed")

    x = np.ones((4, 3))
    msg = _message(
        lambda: lossbridge.triplet_margin_with_distance_loss(x, x, x, distance_function=distance)
    )
    assert msg == "my distance failed"


def test_renaming_keeps_the_exception_and_its_traceback():
    import traceback

    with pytest.raises(ValueError) as info:
        lossbridge.mse_loss(np.zeros((2, 3)), np.zeros((2, 4)))
    e = info.value
    assert type(e) is ValueError and len(e.args) == 1
    last = traceback.extract_tb(e.__traceback__)[-1]
    assert last.filename.endswith("_validation.py")  # raised where the check is, kept


@pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")
def test_errors_raised_while_tracing_are_named():
    import jax
    import jax.numpy as jnp

    with pytest.raises(ValueError, match=r"^mse_loss: target has shape \(2, 4\)"):
        jax.jit(lambda a: lossbridge.mse_loss(a, jnp.zeros((2, 4))))(jnp.zeros((2, 3)))
    with pytest.raises(ValueError, match="^mean_squared_error: y_true and y_pred must have"):
        jax.jit(lambda a: lk.mean_squared_error(jnp.zeros((2, 4)), a))(jnp.zeros((2, 3)))


@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch is not installed")
def test_dialect_entries_compile_with_fullgraph():
    """The entries' ``try``/``except`` traces: ``torch.compile(fullgraph=True)`` of a Keras
    function, a Keras class and a ``lossbridge.nn`` class, against the eager values."""
    import torch

    y = torch.rand(4, 3, dtype=torch.float64)
    x = torch.randn(4, 3, dtype=torch.float64)
    for f in (
        lambda a: lk.mean_squared_error(y, a),
        lambda a: lk.MeanSquaredError()(y, a),
        lambda a: lnn.MSELoss()(a, y),
    ):
        compiled = torch.compile(f, fullgraph=True, backend="aot_eager")
        torch.testing.assert_close(compiled(x), f(x), rtol=0, atol=0)


# ------------------------------------------------------------------------------------------
# The frameworks' key phrases, on the frameworks' own failing inputs
# ------------------------------------------------------------------------------------------

# keras/src/losses/losses_test.py, test_shape_mismatch (BinaryCrossentropy, CategoricalCrossentropy)
_KERAS_TRUE = np.array([[0], [1], [2]])
_KERAS_PRED = np.array([[0.9, 0.05, 0.05], [0.5, 0.89, 0.6], [0.05, 0.01, 0.94]])


def _keras():
    return pytest.importorskip("keras")


# (Keras 3.15.1's CategoricalFocalCrossentropy broadcasts these shapes instead of raising.)
@pytest.mark.parametrize(
    "name", ["BinaryCrossentropy", "CategoricalCrossentropy", "BinaryFocalCrossentropy"]
)
def test_keras_shape_mismatch_keeps_keras_phrase(name):
    keras = _keras()
    phrase = "must have the same shape"
    with pytest.raises(ValueError, match=phrase):  # Keras's own error
        getattr(keras.losses, name)()(_KERAS_TRUE, _KERAS_PRED)
    msg = _named(lambda: getattr(lk, name)()(_KERAS_TRUE, _KERAS_PRED), name)
    assert phrase in msg and "(3, 1)" in msg and "(3, 3)" in msg
    fn = getattr(lk, name)().fn
    assert phrase in _named(lambda: fn(_KERAS_TRUE, _KERAS_PRED), fn.__name__)


def test_keras_sparse_shape_mismatch_keeps_keras_phrase():
    keras = _keras()
    phrase = "must have the same shape up until the last dimension"
    y_true, y_pred = np.zeros((5,)), np.full((4, 3), 1 / 3)
    with pytest.raises(ValueError, match=phrase):
        keras.losses.sparse_categorical_crossentropy(y_true, y_pred)
    name = "SparseCategoricalCrossentropy"
    msg = _named(lambda: lk.SparseCategoricalCrossentropy()(y_true, y_pred), name)
    assert phrase in msg and "(4,)" in msg  # and the shape y_true needs


def test_keras_reduction_keeps_keras_phrase():
    keras = _keras()
    with pytest.raises(ValueError, match="Invalid value for argument"):
        keras.losses.Hinge(reduction="abc")
    assert "Invalid value for argument" in _named(lambda: lk.Hinge(reduction="abc"), "Hinge")


def test_optax_probability_check_keeps_optax_phrase():
    """optax's own test matches "valid probability distributions" (_segmentation_test.py)."""
    optax = pytest.importorskip("optax")
    jnp = pytest.importorskip("jax.numpy")
    phrase = "valid probability distributions"
    probs = np.full((2, 4, 3), 0.5)  # rows summing to 1.5
    targets = np.eye(3)[np.array([[0, 1, 2, 0], [1, 2, 0, 1]])]
    with pytest.raises(ValueError, match=phrase):
        optax.losses.dice_loss(jnp.asarray(probs), jnp.asarray(targets), apply_softmax=False)
    assert phrase in _named(lambda: lo.dice_loss(probs, targets, apply_softmax=False), "dice_loss")


# ------------------------------------------------------------------------------------------
# nll_loss with one-hot targets; hyperparameters of the wrong type
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize("integer", [False, True], ids=["float", "int"])
def test_nll_loss_one_hot_says_argmax_or_cross_entropy(backend_name, integer):
    d = get_driver(backend_name)
    one_hot = np.eye(3)[[0, 2]]
    target = d.from_numpy(one_hot.astype(np.int64) if integer else one_hot)
    msg = _named(lambda: lossbridge.nll_loss(d.from_numpy(np.zeros((2, 3))), target), "nll_loss")
    assert "target.argmax(1)" in msg and "cross_entropy" in msg and "(2,)" in msg


def test_nll_loss_advice_is_right():
    """What the message says to do gives the loss of the one-hot target."""
    r = np.random.default_rng(0)
    z = r.normal(size=(4, 3))
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    one_hot = np.eye(3)[[0, 2, 1, 1]]
    want = -(one_hot * logp).sum(1).mean()  # the float64 formula
    np.testing.assert_allclose(lossbridge.nll_loss(logp, one_hot.argmax(1)), want, rtol=1e-14)
    np.testing.assert_allclose(lossbridge.cross_entropy(logp, one_hot), want, rtol=1e-14)


def test_huber_delta_of_the_wrong_type():
    x = np.zeros(3)
    msg = _named(lambda: lossbridge.huber_loss(x, x, delta="a"), "huber_loss")
    assert "delta must be a real number" in msg and "got 'a'" in msg
    with pytest.raises(TypeError, match="^HuberLoss: delta"):
        lnn.HuberLoss(delta="a")


def _numeric_hyperparameters():
    """(loss, parameter) for every keyword of a core loss whose default is a number."""
    out = []
    for name in sorted(SPECS):
        fn = getattr(lossbridge, name)
        arrays, _ = _inputs(name)
        for p, par in inspect.signature(fn).parameters.items():
            d = par.default
            if p not in arrays and isinstance(d, numbers.Real) and not isinstance(d, bool):
                out.append(pytest.param(name, p, id=f"{name}-{p}"))
    return out


@pytest.mark.parametrize(("loss", "param"), _numeric_hyperparameters())
def test_hyperparameters_of_the_wrong_type(loss, param):
    """A str hyperparameter: an error naming the loss and the argument, never Python's own
    "'>' not supported" or NumPy's ufunc error from deep inside the loss."""
    arrays, kwargs = _inputs(loss)
    fn = REGISTRY[loss].fn  # the regularizations' registry entries take three arrays
    msg = _named(lambda: fn(**arrays, **{**kwargs, param: "a"}), loss)
    assert param in msg and "'a'" in msg
    assert "not supported between" not in msg and "ufunc" not in msg
