"""No side effects (issue 8): inputs untouched, global framework state untouched, thread safety.

For every loss of the conformance registry (dialects aside) and every backend, the loss is called
on its first case: afterwards each input has the same values (NaN-equal, bit for bit), dtype,
shape and device, torch tensors the same ``requires_grad``, no ``.grad`` and an unchanged
version counter (which counts in-place writes, so even a write-and-restore is caught), also
after a backward pass; and the global state the frameworks expose is unchanged: JAX's
``jax_enable_x64``, TensorFlow's NumPy behaviour (``experimental_enable_numpy_behavior`` adds
NumPy methods to ``tf.Tensor``), torch's default dtype, grad mode and deterministic-algorithms
flag, NumPy's error state and the warnings filters.

A thread pool (8 threads) computing several losses concurrently, many times, on each backend
gives results bit-identical to serial calls.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pytest
from conftest import BACKENDS

from lossbridge.conformance.registry import REGISTRY

LOSSES = sorted(n for n in REGISTRY if "." not in n)


def _global_state() -> dict[str, Any]:
    """Every piece of process-wide framework state a loss could change."""
    state: dict[str, Any] = {
        "numpy.geterr": np.geterr(),
        "warnings.filters": list(warnings.filters),
    }
    mods = sys.modules
    if "torch" in mods:
        torch = mods["torch"]
        state["torch.default_dtype"] = torch.get_default_dtype()
        state["torch.grad_enabled"] = torch.is_grad_enabled()
        state["torch.deterministic"] = torch.are_deterministic_algorithms_enabled()
        state["torch.num_threads"] = torch.get_num_threads()
    if "jax" in mods:
        jax = mods["jax"]
        state["jax_enable_x64"] = bool(jax.config.jax_enable_x64)
        state["jax_default_matmul_precision"] = jax.config.jax_default_matmul_precision
    if "tensorflow" in mods:
        tf = mods["tensorflow"]
        # experimental_enable_numpy_behavior() adds NumPy methods (reshape, ravel, T, ...) to
        # tf.Tensor and switches dtype conversion; both are visible here.
        state["tf.numpy_methods"] = tuple(
            hasattr(tf.Tensor, m) for m in ("reshape", "ravel", "T", "astype", "clip")
        )
        state["tf.float64_allowed"] = _tf_flag("is_allow_float64")
        state["tf.prefer_float32"] = _tf_flag("is_prefer_float32")
        state["tf.run_eagerly"] = tf.config.functions_run_eagerly()
    return state


def _tf_flag(name: str) -> Any:
    try:
        from tensorflow.python.ops.numpy_ops import np_dtypes
    except ImportError:  # pragma: no cover - a TensorFlow without the module
        return None
    fn = getattr(np_dtypes, name, None)
    return fn() if fn is not None else None


def _snapshot(driver: Any, x: Any) -> dict[str, Any]:
    snap = {
        "values": driver.to_numpy(x).copy(),
        "dtype": driver.dtype_name(x),
        "shape": tuple(x.shape),
        "device": str(driver.device(x)),
    }
    if driver.name == "torch":
        snap.update(requires_grad=x.requires_grad, grad=x.grad, version=x._version)
    return snap


def _inputs(driver: Any, case: Any) -> dict[str, Any]:
    arrays = {}
    for k, v in case.inputs().items():
        a = driver.from_numpy(v.copy())
        if driver.name == "torch" and v.dtype.kind == "f":
            a = a.requires_grad_(True)
        arrays[k] = a
    return arrays


@pytest.mark.parametrize("backend_name", BACKENDS)
@pytest.mark.parametrize("loss", LOSSES)
def test_inputs_and_global_state_unchanged(loss, backend_name):
    from lossbridge.conformance.drivers import get_driver

    driver = get_driver(backend_name)
    entry = REGISTRY[loss]
    case = entry.cases[0]
    arrays = _inputs(driver, case)
    before = {k: _snapshot(driver, v) for k, v in arrays.items()}
    state = _global_state()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = entry.fn(**arrays, **case.kwargs)
    if driver.name == "torch":
        after_forward = {k: v._version for k, v in arrays.items()}
        assert after_forward == {k: b["version"] for k, b in before.items()}, "in-place write"
        if out.requires_grad:
            out.sum().backward()
    assert _global_state() == state
    for k, v in arrays.items():
        b, a = before[k], _snapshot(driver, v)
        np.testing.assert_array_equal(a["values"], b["values"], err_msg=f"{k} was modified")
        assert a["values"].tobytes() == b["values"].tobytes(), f"{k} was modified (bits)"
        for field in ("dtype", "shape", "device"):
            assert a[field] == b[field], f"{k}: {field} {b[field]} -> {a[field]}"
        if driver.name == "torch":
            assert a["requires_grad"] == b["requires_grad"], f"{k}: requires_grad changed"
            assert a["version"] == b["version"], f"{k} was written in place"


def test_the_state_check_can_fail():
    """The global-state snapshot sees a change (so the test above can fail)."""
    torch = pytest.importorskip("torch")
    state = _global_state()
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64 if old == torch.float32 else torch.float32)
    try:
        assert _global_state() != state
    finally:
        torch.set_default_dtype(old)
    with np.errstate(divide="ignore"):
        assert _global_state() != state


_FRESH = textwrap.dedent(
    """
    import numpy as np, torch, tensorflow as tf, jax
    import lossbridge as lb
    from tensorflow.python.ops.numpy_ops import np_dtypes

    def flags():
        return (jax.config.jax_enable_x64, hasattr(tf.Tensor, "reshape"),
                np_dtypes.is_allow_float64(), np_dtypes.is_prefer_float32(),
                torch.get_default_dtype())

    before = flags()
    x = np.random.default_rng(0).standard_normal((4, 3))
    y = np.array([0, 2, 1, 0])
    for arr in (jax.numpy.asarray, tf.constant, torch.from_numpy):
        lb.cross_entropy(arr(x), arr(y))
        lb.mse_loss(arr(x), arr(x * 0.5))
        lb.binary_cross_entropy_with_logits(arr(x), arr((x > 0).astype(x.dtype)))
    print(before == flags(), before[:2])
    """
)


def test_fresh_process_state_unchanged():
    """In a process where nothing set them, the losses leave JAX x64 off, TF's NumPy mode off."""
    for mod in ("torch", "tensorflow", "jax"):
        pytest.importorskip(mod)
    out = subprocess.run(
        [sys.executable, "-c", _FRESH], capture_output=True, text=True, timeout=300, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "True (False, False)", out.stdout


# ------------------------------------------------------------------------------------------
# Threads
# ------------------------------------------------------------------------------------------

_THREAD_LOSSES = (
    "cross_entropy",
    "mse_loss",
    "binary_cross_entropy_with_logits",
    "ctc_loss",
    "dice_loss",
    "lovasz_softmax_loss",
    "triplet_margin_loss",
    "ntxent_loss",
)


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_threads_give_serial_results(backend_name):
    """8 threads x 96 calls over 8 losses: every result equals the serial one, bit for bit."""
    from lossbridge.conformance.drivers import get_driver

    driver = get_driver(backend_name)
    jobs = []
    for name in _THREAD_LOSSES:
        entry = REGISTRY[name]
        case = entry.cases[0]
        arrays = {k: driver.from_numpy(v.copy()) for k, v in case.inputs().items()}
        jobs.append((name, entry.fn, arrays, dict(case.kwargs)))

    def run(job: tuple) -> np.ndarray:
        _, fn, arrays, kwargs = job
        return driver.to_numpy(fn(**arrays, **kwargs))

    # catch_warnings is not thread-safe: one context, in this thread, around the whole pool
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        serial = [run(j) for j in jobs]
        state = _global_state()
        order = [i % len(jobs) for i in range(96)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(lambda i: (i, run(jobs[i])), order))
        assert _global_state() == state
    for i, got in results:
        assert got.tobytes() == serial[i].tobytes(), f"{jobs[i][0]}: thread result differs"
