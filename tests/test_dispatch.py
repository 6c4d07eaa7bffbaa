"""Dispatch: namespaces, the prediction's rule, framework and device errors, the extension."""

from __future__ import annotations

import importlib
import warnings

import array_api_compat
import numpy as np
import pytest
from _helpers import RTOL, assert_close, assert_result, backend_grad, dtype_name, make, to_numpy

import lossbridge as lb
from lossbridge.backends import (
    framework_name,
    get_namespace,
    is_concrete,
    stop_gradient,
    take_along_axis,
)

torch = pytest.importorskip("torch")
jax = pytest.importorskip("jax")
jnp = pytest.importorskip("jax.numpy")
strict = pytest.importorskip("array_api_strict")


def expected_namespace(name: str):
    return {
        "numpy": lambda: array_api_compat.numpy,
        "torch": lambda: array_api_compat.torch,
        "jax": lambda: jnp,
        "tensorflow": lambda: importlib.import_module("lossbridge.backends.tensorflow"),
        "array_api_strict": lambda: strict,
    }[name]()


# ------------------------------------------------------------------------------------------
# Namespaces
# ------------------------------------------------------------------------------------------


def test_get_namespace_per_backend(backend):
    x = make(backend, np.ones((2, 3)), "float32")
    xp, _ = get_namespace(x)
    assert xp is expected_namespace(backend.name)
    assert framework_name(x) == backend.name


def test_host_data_only_computes_with_numpy():
    xp, _ = get_namespace([1.0, 2.0], 3.0, None)
    assert xp is array_api_compat.numpy
    # (1 - 0)^2 + (2 - 0)^2 = 5, mean 2.5
    assert lb.mse_loss([1.0, 2.0], [0.0, 0.0]) == pytest.approx(2.5)


def test_result_has_backend_type_dtype(backend):
    for dtype in ("float32", "float64"):
        x = make(backend, np.tile([0.5, -1.0, 2.0], (4, 1)), dtype)
        y = make(backend, np.array([1, 0, 2, 1]))
        out = lb.cross_entropy(x, y, reduction="none")
        assert_result(out, backend, dtype, (4,))


# ------------------------------------------------------------------------------------------
# The prediction decides
# ------------------------------------------------------------------------------------------

X = np.array([0.5, 1.5, 3.0])
Y = np.array([0.0, 1.0, 1.0])
# mse: ((0.5)^2 + (0.5)^2 + 2^2) / 3 = 4.5 / 3 = 1.5
MSE_XY = 1.5


@pytest.mark.parametrize(
    "target",
    [Y.tolist(), Y, Y.astype(np.float32)],
    ids=["list", "numpy64", "numpy32"],
)
def test_torch_prediction_converts_host_targets(target):
    x = torch.tensor(X, dtype=torch.float32)
    out = lb.mse_loss(x, target)
    assert isinstance(out, torch.Tensor)
    assert out.dtype == torch.float32  # a NumPy float64 target does not promote the prediction
    assert out.item() == pytest.approx(MSE_XY, rel=1e-7)


def test_torch_prediction_with_python_scalar_target():
    x = torch.tensor(X, dtype=torch.float32)
    with pytest.warns(UserWarning, match="broadcast"):
        out = lb.mse_loss(x, 1.0)
    # ((-0.5)^2 + 0.5^2 + 2^2) / 3 = 1.5
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    assert out.item() == pytest.approx(1.5, rel=1e-7)
    # A Python scalar pos_weight: (1 - y) x - (1 + (p - 1) y) log sigmoid(x) with x = 0, y = 1,
    # p = 3 gives 3 log 2.
    out = lb.binary_cross_entropy_with_logits(torch.zeros(1), torch.ones(1), pos_weight=3.0)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32
    assert out.item() == pytest.approx(3 * np.log(2), rel=1e-7)


@pytest.mark.parametrize("make_target", [lambda: [0.1, 0.2], lambda: 0.1], ids=["list", "float"])
def test_host_floats_keep_float64_precision(make_target):
    """Python floats are float64: a float64 prediction gets them unrounded (not via float32)."""
    x = torch.zeros(2, dtype=torch.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a scalar target broadcasts
        out = lb.l1_loss(x, make_target(), reduction="none")
    assert out.dtype == torch.float64
    expected = np.abs(np.broadcast_to(np.asarray(make_target()), (2,)))
    np.testing.assert_array_equal(out.numpy(), expected)  # exact, no float32 rounding
    # a Python float variance likewise (gaussian_nll_loss's torch signature takes a float)
    var = lb.gaussian_nll_loss(x, x, 0.1, reduction="none")
    np.testing.assert_array_equal(var.numpy(), [0.5 * np.log(0.1)] * 2)


def test_torch_index_target_from_list():
    x = torch.tensor([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    out = lb.cross_entropy(x, [2, 0], reduction="none")
    expected = torch.nn.functional.cross_entropy(x, torch.tensor([2, 0]), reduction="none")
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float64
    assert_close(out, expected.numpy(), RTOL["float64"])


def test_jax_prediction_with_numpy_weight():
    logits = np.array([[1.0, 2.0, 0.5], [0.1, -1.0, 2.0]])
    labels = np.array([1, 2])
    w = np.array([1.0, 3.0, 0.5])
    out = lb.cross_entropy(jnp.asarray(logits, dtype=jnp.float32), jnp.asarray(labels), weight=w)
    assert isinstance(out, jax.Array) and out.dtype == jnp.float32
    expected = torch.nn.functional.cross_entropy(
        torch.tensor(logits), torch.tensor(labels), weight=torch.tensor(w)
    )
    assert_close(out, expected.numpy(), RTOL["float32"])


def test_numpy_target_keeps_strict_float32():
    x = strict.asarray(X, dtype=strict.float32)
    out = lb.l1_loss(x, Y)
    assert out.dtype == strict.float32
    # (0.5 + 0.5 + 2) / 3 = 1
    assert_close(out, 1.0, RTOL["float32"])


# ------------------------------------------------------------------------------------------
# Errors: two frameworks, two devices
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make_input", "make_target", "names"),
    [
        (lambda: torch.zeros(3), lambda: jnp.zeros(3), ("torch", "jax")),
        (lambda: np.zeros(3), lambda: torch.zeros(3), ("numpy", "torch")),
        (lambda: jnp.zeros(3), lambda: strict.zeros(3), ("jax", "array_api_strict")),
    ],
    ids=["torch-jax", "numpy-torch", "jax-strict"],
)
def test_two_frameworks_raise_type_error(make_input, make_target, names):
    with pytest.raises(TypeError) as info:
        lb.mse_loss(make_input(), make_target())
    msg = str(info.value)
    for word in (*names, "input", "target"):
        assert word in msg, (word, msg)


def test_two_frameworks_in_weight_name_the_weight():
    x = torch.zeros(2, 3)
    with pytest.raises(TypeError) as info:
        lb.cross_entropy(x, torch.tensor([0, 1]), weight=jnp.ones(3))
    msg = str(info.value)
    for word in ("torch", "jax", "input", "weight"):
        assert word in msg, (word, msg)


def test_tensorflow_and_torch_raise_type_error():
    tf = pytest.importorskip("tensorflow")
    with pytest.raises(TypeError) as info:
        lb.l1_loss(tf.zeros(3), torch.zeros(3))
    msg = str(info.value)
    for word in ("tensorflow", "torch", "input", "target"):
        assert word in msg, (word, msg)


def test_strict_two_devices_raise_value_error():
    x = strict.asarray([0.5, 1.0], device=strict.Device("CPU_DEVICE"))
    y = strict.asarray([0.0, 1.0], device=strict.Device("device1"))
    with pytest.raises(ValueError) as info:
        lb.mse_loss(x, y)
    msg = str(info.value)
    for word in ("CPU_DEVICE", "device1", "input", "target"):
        assert word in msg, (word, msg)


def test_torch_two_devices_raise_value_error():
    x = torch.zeros(2, 3)
    with pytest.raises(ValueError) as info:
        lb.cross_entropy(x, torch.zeros(2, dtype=torch.int64, device="meta"))
    msg = str(info.value)
    for word in ("cpu", "meta", "input", "target"):
        assert word in msg, (word, msg)


# ------------------------------------------------------------------------------------------
# Devices are kept
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loss", "args"),
    [
        (lb.mse_loss, (X, Y)),
        (lb.cross_entropy, (np.array([[1.0, 2.0, 3.0], [1.0, 0.0, -1.0]]), np.array([2, 0]))),
        (lb.binary_cross_entropy, (np.array([0.2, 0.9]), np.array([0.0, 1.0]))),
        (lb.gaussian_nll_loss, (X, Y, np.ones(3))),
    ],
    ids=["mse", "ce", "bce", "gaussian"],
)
def test_strict_second_device_is_kept(loss, args):
    dev = strict.Device("device1")
    arrays = [strict.asarray(a, device=dev) for a in args]
    out = loss(*arrays)
    assert out.device == dev
    # host data converted onto the prediction's device
    out2 = loss(arrays[0], *args[1:])
    assert out2.device == dev
    assert_close(out2, to_numpy(out), 0.0)


@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_torch_meta_input_gives_meta_result(reduction):
    x = torch.empty(4, 5, 6, device="meta")
    y = torch.empty(4, 6, dtype=torch.int64, device="meta")
    out = lb.cross_entropy(x, y, reduction=reduction, label_smoothing=0.1)
    assert out.device.type == "meta"
    assert tuple(out.shape) == ((4, 6) if reduction == "none" else ())
    assert out.dtype == torch.float32
    out = lb.binary_cross_entropy(torch.empty(3, device="meta"), torch.empty(3, device="meta"))
    assert out.device.type == "meta" and tuple(out.shape) == ()


def test_tf_variable_inputs_give_tensor():
    tf = pytest.importorskip("tensorflow")
    x = tf.Variable(np.array([[1.0, 2.0, 3.0], [0.5, 0.0, -1.0]], np.float32))
    out = lb.cross_entropy(x, tf.Variable(np.array([2, 0])), reduction="none")
    assert isinstance(out, tf.Tensor) and not isinstance(out, tf.Variable)
    assert dtype_name(out) == "float32"
    expected = torch.nn.functional.cross_entropy(
        torch.tensor(x.numpy(), dtype=torch.float64), torch.tensor([2, 0]), reduction="none"
    )
    assert_close(out, expected.numpy(), RTOL["float32"])
    out = lb.mse_loss(x, tf.Variable(np.zeros((2, 3), np.float32)))
    assert isinstance(out, tf.Tensor)
    # (1 + 4 + 9 + 0.25 + 0 + 1) / 6
    assert_close(out, 15.25 / 6, RTOL["float32"])


# ------------------------------------------------------------------------------------------
# Extension: stop_gradient, take_along_axis, is_concrete
# ------------------------------------------------------------------------------------------


def test_stop_gradient(ad_backend):
    """d/dx [stop_gradient(x) * x] = x (not 2x)."""
    x = np.array([1.0, -2.0, 3.0])
    grad = backend_grad(ad_backend, lambda a: stop_gradient(a) * a, [x], 0)
    np.testing.assert_array_equal(grad, x)


def test_stop_gradient_identity_without_autodiff(backend):
    x = make(backend, np.array([1.0, 2.0]), "float64")
    out = stop_gradient(x)
    assert isinstance(out, backend.array_type())
    np.testing.assert_array_equal(to_numpy(out), [1.0, 2.0])


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_take_along_axis_matches_numpy(backend, axis):
    rng = np.random.default_rng(axis)
    x = rng.normal(size=(3, 4, 5))
    idx_shape = list(x.shape)
    idx_shape[axis] = 2
    idx = rng.integers(0, x.shape[axis], size=idx_shape)
    xp, _ = get_namespace(make(backend, x))
    out = take_along_axis(xp, make(backend, x), make(backend, idx), axis)
    np.testing.assert_array_equal(to_numpy(out), np.take_along_axis(x, idx, axis=axis))
    gathered = torch.gather(torch.from_numpy(x), axis, torch.from_numpy(idx))
    np.testing.assert_array_equal(to_numpy(out), gathered.numpy())


def test_take_along_axis_int32_indices_on_torch():
    x = torch.arange(6.0).reshape(2, 3)
    idx = torch.tensor([[2], [0]], dtype=torch.int32)
    out = take_along_axis(array_api_compat.torch, x, idx, 1)
    # row 0 picks x[0, 2] = 2, row 1 picks x[1, 0] = 3
    assert out.tolist() == [[2.0], [3.0]]


def _branch(x):
    """x + 1 when values can be read, x - 1 while tracing (Python control flow)."""
    return x + 1 if is_concrete(x) else x - 1


def test_is_concrete_eager(backend):
    assert is_concrete(make(backend, np.zeros(2)))


def test_is_concrete_jax_jit():
    assert float(jax.jit(_branch)(jnp.zeros(()))) == -1.0
    assert float(_branch(jnp.zeros(()))) == 1.0


def test_is_concrete_tf_function():
    tf = pytest.importorskip("tensorflow")
    assert float(tf.function(_branch)(tf.zeros(()))) == -1.0
    assert float(_branch(tf.zeros(()))) == 1.0


def test_is_concrete_torch_compile():
    compiled = torch.compile(_branch, backend="eager", fullgraph=True)
    assert compiled(torch.zeros(())).item() == -1.0
    assert _branch(torch.zeros(())).item() == 1.0
    assert not is_concrete(torch.zeros(2, device="meta"))


def test_is_concrete_host_data_is_false():
    assert not is_concrete([1.0, 2.0])
    assert not is_concrete(None)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_tf_function_with_captured_constant_target(jit_compile):
    # An eager tensor captured by tf.function is concrete, but ops on it are symbolic there:
    # the value checks must skip instead of reading it (OperatorNotAllowedInGraphError).
    tf = pytest.importorskip("tensorflow")
    import torch
    import torch.nn.functional as F  # noqa: N812

    x = np.random.default_rng(0).normal(size=(6, 4))
    t = np.arange(6) % 4
    X, T = tf.constant(x), tf.constant(t)
    got = tf.function(lambda: lb.cross_entropy(X, T), jit_compile=jit_compile)()
    want = F.cross_entropy(torch.tensor(x), torch.tensor(t))
    assert_close(got.numpy(), want.numpy(), 1e-12)


def test_losses_are_autograph_artifacts():
    # AutoGraph calls functions carrying autograph_info__ unconverted; converting the losses
    # cost seconds on the first tf.function trace and converts nothing.
    for name in lb.__all__:
        assert hasattr(getattr(lb, name), "autograph_info__"), name


# ------------------------------------------------------------------------------------------
# fused: native kernels per namespace; min_max
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "has"),
    [
        ("numpy", ()),
        ("array_api_strict", ()),
        ("torch", ("log_softmax", "log_sigmoid", "huber", "bce_with_logits", "neg_picked")),
        ("jax", ("abs0", "abs_error")),
        ("tensorflow", ("log_softmax", "log_sigmoid", "squared_error", "bce_with_logits")),
    ],
)
def test_fused_per_namespace(name, has):
    """Which namespaces get native kernels; NumPy and array-api-strict keep the generic forms."""
    from lossbridge.backends import fused

    if name == "tensorflow":
        tf = pytest.importorskip("tensorflow")
        a = tf.constant([1.0])
    else:
        a = {
            "numpy": lambda: np.asarray([1.0]),
            "array_api_strict": lambda: strict.asarray([1.0]),
            "torch": lambda: torch.tensor([1.0]),
            "jax": lambda: jnp.asarray([1.0]),
        }[name]()
    xp, _ = get_namespace(a)
    for prim in has:
        assert callable(fused(xp, prim)), prim
    if not has:  # generic forms everywhere
        for prim in ("log_softmax", "abs0", "huber", "min_max", "neg_picked"):
            assert fused(xp, prim) is None, prim
    # no framework's xlogy has lossbridge's gradient convention (see _primitives.xlogy)
    assert fused(xp, "xlogy") is None
    assert fused(xp, "no_such_primitive") is None


def test_min_max_one_reduction_per_backend(backend):
    """(min, max) as Python numbers: [3, -2, 7, 0] gives (-2, 7); floats give floats."""
    from lossbridge.backends import min_max

    x = make(backend, np.array([3, -2, 7, 0]))
    xp, _ = get_namespace(x)
    lo, hi = min_max(xp, x)
    assert (lo, hi) == (-2, 7) and int(lo) == lo
    xf = make(backend, np.array([0.5, -1.5]), "float64")
    assert min_max(xp, xf) == (-1.5, 0.5)


def test_torch_min_max_reads_the_host_once():
    """One aminmax and two scalar reads of its (CPU) results: no elementwise op."""
    from torch.utils._python_dispatch import TorchDispatchMode

    from lossbridge.backends import min_max

    ops = []

    class Rec(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            ops.append(func.__name__.split(".")[0])
            return func(*args, **(kwargs or {}))

    x = torch.tensor([4, 1, 9])
    xp, _ = get_namespace(x)
    with Rec():
        assert min_max(xp, x) == (1, 9)
    assert ops == ["aminmax", "_local_scalar_dense", "_local_scalar_dense"]


def test_fused_dispatch_traces_in_torch_compile():
    """fused() inside torch.compile(fullgraph=True): no graph break, torch's kernel used."""
    x = torch.randn(4, 3)
    t = torch.tensor([0, 2, 1, 1])
    f = torch.compile(lambda x, t: lb.cross_entropy(x, t), fullgraph=True, backend="eager")
    assert_close(f(x, t), torch.nn.functional.cross_entropy(x, t), 1e-6)
