"""L1, L2 and elastic-net regularisers vs plain float64 sums, hand values, Keras and tf.nn.

Expected values: float64 NumPy sums written here, reference section 3.17's numbers re-derived by
hand, ``keras.regularizers.L1``/``L2``/``L1L2`` (summed over the arrays) and ``tf.nn.l2_loss``
(which halves the sum of squares: times 2 * scale). Nothing calls lossbridge for an expected
value.
"""

from __future__ import annotations

import numpy as np
import pytest
from _helpers import DTYPES, RTOL, assert_close, assert_result, make, rounded, to_numpy

from lossbridge.regularization import (
    elastic_net_regularization,
    l1_regularization,
    l2_regularization,
)

RNG = np.random.default_rng(17)
PARAMS = [RNG.normal(size=(4, 3)), RNG.normal(size=3), RNG.normal(size=(2, 2, 3))]
PARAMS[0][1] = 0.0  # exact zeros: the kink of |w|
W = np.array([[1.0, -2.0], [0.5, 0.0]])  # reference section 3.17


def np_l1(ws, scale=0.01):
    return scale * sum(np.abs(w).sum() for w in ws)


def np_l2(ws, scale=0.01):
    return scale * sum((w**2).sum() for w in ws)


def np_elastic(ws, l1=0.01, l2=0.01):
    return l1 * sum(np.abs(w).sum() for w in ws) + l2 * sum((w**2).sum() for w in ws)


FUNCS = {
    "l1": (l1_regularization, np_l1, [{}, {"scale": 0.3}]),
    "l2": (l2_regularization, np_l2, [{}, {"scale": 0.3}]),
    "elastic": (elastic_net_regularization, np_elastic, [{}, {"l1": 0.2, "l2": 0.05}]),
}
CASES = [(n, i) for n, (_, _, opts) in FUNCS.items() for i in range(len(opts))]


def on(backend, dtype, arrays):
    return [make(backend, a, dtype) for a in arrays]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("name", "opt"), CASES)
def test_values_every_backend(backend, dtype, name, opt):
    """A list of three arrays of different shapes: 0-d result, the parameters' dtype."""
    fn, ref, options = FUNCS[name]
    kw = options[opt]
    ws = [rounded(w, dtype) for w in PARAMS]
    out = fn(on(backend, dtype, ws), **kw)
    assert_result(out, backend, dtype, ())
    assert_close(out, ref(ws, **kw), RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_reference_numbers(backend, dtype):
    """w = [[1, -2], [0.5, 0]]: sum |w| = 3.5, sum w^2 = 1 + 4 + 0.25 = 5.25.

    L1(0.1) = 0.35, L2(0.1) = 0.525 (Keras: no 1/2), L1L2(0.1, 0.1) = 0.875; tf.nn.l2_loss(w) =
    5.25 / 2 = 2.625 = 0.525 / (2 * 0.1). Defaults 0.01: 0.035, 0.0525, 0.0875.
    """
    (wb,) = on(backend, dtype, [W])
    tol = RTOL[dtype]
    assert_close(l1_regularization(wb, scale=0.1), 0.35, tol)
    assert_close(l2_regularization(wb, scale=0.1), 0.525, tol)
    assert_close(elastic_net_regularization(wb, l1=0.1, l2=0.1), 0.875, tol)
    assert_close(l1_regularization(wb), 0.035, tol)
    assert_close(l2_regularization(wb), 0.0525, tol)
    assert_close(elastic_net_regularization(wb), 0.0875, tol)
    assert_close(elastic_net_regularization(wb, l1=0.0, l2=0.1), 0.525, tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_matches_keras(dtype):
    """keras.regularizers.L1 / L2 / L1L2 applied to each array, summed. Keras casts its
    coefficient to the array's dtype through float32, so float64 uses coefficients exact in
    float32 (0.5, 0.25)."""
    keras = pytest.importorskip("keras")
    ws = [w.astype(dtype) for w in PARAMS]
    scale = 0.1 if dtype == "float32" else 0.5  # 0.5 is exact in float32

    def keras_sum(reg):
        return sum(float(np.asarray(reg(keras.ops.convert_to_tensor(w)))) for w in ws)

    tol = RTOL[dtype]
    assert_close(l1_regularization(ws, scale=scale), keras_sum(keras.regularizers.L1(scale)), tol)
    assert_close(l2_regularization(ws, scale=scale), keras_sum(keras.regularizers.L2(scale)), tol)
    out = elastic_net_regularization(ws, l1=scale, l2=0.25)
    assert_close(out, keras_sum(keras.regularizers.L1L2(l1=scale, l2=0.25)), tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_l2_matches_tf_l2_loss_times_two_scale(dtype):
    """tf.nn.l2_loss(w) = sum(w^2) / 2: l2_regularization(ws, scale) = 2 scale sum l2_loss."""
    tf = pytest.importorskip("tensorflow")
    ws = [tf.constant(w.astype(dtype)) for w in PARAMS]
    expected = 2 * 0.3 * sum(float(tf.nn.l2_loss(w).numpy()) for w in ws)
    out = l2_regularization(ws, scale=0.3)
    assert isinstance(out, tf.Tensor)
    assert_close(out, expected, RTOL[dtype])


def test_containers(backend):
    """One array, a list, a tuple and a dict's values give the same penalty."""
    ws = on(backend, "float64", PARAMS)
    expected = np_elastic(PARAMS, 0.2, 0.1)
    for params in (ws, tuple(ws), {"w": ws[0], "b": ws[1], "k": ws[2]}):
        assert_close(elastic_net_regularization(params, l1=0.2, l2=0.1), expected, 1e-12)
    assert_close(l2_regularization(ws[0], scale=2.0), np_l2(PARAMS[:1], 2.0), 1e-12)


def test_mixed_float_dtypes_promote(backend):
    """float32 with float64: the float64 result of the float32 values (array API promotion)."""
    w32 = rounded(PARAMS[0], "float32")
    params = [make(backend, PARAMS[0], "float32"), make(backend, PARAMS[1], "float64")]
    out = l2_regularization(params, scale=0.3)
    assert_result(out, backend, "float64", ())
    assert_close(out, np_l2([w32, PARAMS[1]], 0.3), 1e-12)


def test_empty_array_counts_zero(backend):
    ws = on(backend, "float64", [np.zeros((0, 3)), PARAMS[1]])
    assert_close(l1_regularization(ws), np_l1(PARAMS[1:2]), 1e-12)
    (empty,) = on(backend, "float32", [np.zeros((0, 3))])
    out = l2_regularization(empty)
    assert_result(out, backend, "float32", ())
    assert to_numpy(out) == 0.0


# ------------------------------------------------------------------------------------------
# Gradients flow to every parameter
# ------------------------------------------------------------------------------------------


def _expected_grads(name, ws):
    if name == "l1":
        return [0.3 * np.sign(w) for w in ws]  # sign(0) = 0 at the exact zeros
    if name == "l2":
        return [0.3 * 2 * w for w in ws]
    return [0.2 * np.sign(w) + 0.05 * 2 * w for w in ws]


KW = {"l1": {"scale": 0.3}, "l2": {"scale": 0.3}, "elastic": {"l1": 0.2, "l2": 0.05}}


def _grads(backend, fn, ws, kw):
    arrays = on(backend, "float64", ws)
    if backend.name == "torch":
        arrays = [a.clone().requires_grad_(True) for a in arrays]
        fn(arrays, **kw).backward()
        return [to_numpy(a.grad) for a in arrays]
    if backend.name == "jax":
        import jax

        return [np.asarray(g) for g in jax.grad(lambda ps: fn(ps, **kw))(arrays)]
    import tensorflow as tf

    variables = [tf.Variable(a) for a in arrays]  # tf.Variable parameters, as in Keras
    with tf.GradientTape() as tape:
        out = fn(variables, **kw)
    return [to_numpy(g) for g in tape.gradient(out, variables)]


@pytest.mark.parametrize("name", list(FUNCS))
def test_gradients(ad_backend, name):
    fn = FUNCS[name][0]
    grads = _grads(ad_backend, fn, PARAMS, KW[name])
    for g, e in zip(grads, _expected_grads(name, PARAMS), strict=True):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=0)


def test_jit():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    ws = [jnp.asarray(w) for w in PARAMS]
    out = jax.jit(lambda ps: elastic_net_regularization(ps, l1=0.2, l2=0.05))(ws)
    assert_close(out, np_elastic([np.asarray(w) for w in ws], 0.2, 0.05), 2e-6)


# ------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------


def test_empty_params():
    for params in ([], (), {}):
        with pytest.raises(ValueError, match="l1_regularization: params is empty"):
            l1_regularization(params)


def test_mixed_frameworks_name_the_position():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match=r"params\[1\] is a numpy array .* params\[0\] is a torch"):
        l2_regularization([torch.ones(2), np.ones(2), torch.ones(3)])
    with pytest.raises(TypeError, match=r"params\['b'\] is a torch array"):
        l2_regularization({"a": np.ones(2), "b": torch.ones(2)})


def test_not_arrays():
    with pytest.raises(TypeError, match=r"params\[1\] is a builtins.list; expected an array"):
        l1_regularization([np.ones(2), [1.0, 2.0]])
    with pytest.raises(TypeError, match="params is a builtins.float; expected an array"):
        l1_regularization(1.5)


def test_integer_param():
    with pytest.raises(TypeError, match=r"params\[1\] must have a real floating dtype; got int64"):
        elastic_net_regularization([np.ones(2), np.ones(2, dtype=np.int64)])


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda: l1_regularization(W, scale=-0.1), ValueError, "scale must be >= 0"),
        (lambda: l2_regularization(W, scale=float("inf")), ValueError, "scale must be finite"),
        (lambda: l2_regularization(W, scale=True), TypeError, "scale must be a real number"),
        (lambda: elastic_net_regularization(W, l1=-1.0), ValueError, "l1 must be"),
        (lambda: elastic_net_regularization(W, l2="0.1"), TypeError, "l2 must be a real"),
    ],
)
def test_bad_coefficients(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_two_devices():
    strict = pytest.importorskip("array_api_strict")
    a = strict.asarray(W)
    b = strict.asarray(W, device=strict.Device("device1"))
    with pytest.raises(ValueError, match=r"params\[1\] is on device .* params\[0\] is on device"):
        l1_regularization([a, b])
