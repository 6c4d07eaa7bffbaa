"""The benchmark cases: one loss, shape, framework, mode and pass each, ours against native.

A case is built lazily (:func:`build`): the framework is imported, the data made and, for the
compiled modes, the functions wrapped, only when the case runs, so a case whose framework or
namespace is missing fails alone. Building returns a :class:`Pair` of zero-argument callables;
each call runs one loss evaluation (and its gradient for ``fwd+bwd``) to completion:

* torch: CPU kernels are synchronous, so returning is completing;
* JAX: ``jax.block_until_ready`` on every output;
* TensorFlow: eager and ``tf.function`` calls are synchronous by default
  (``tf.config.experimental.get_synchronous_execution()``); ``.numpy()`` is called on the loss
  as well, on both sides.

Natives
-------
=============== ========================================== ======================================
framework/mode  cross_entropy (index targets)              binary_cross_entropy_with_logits
=============== ========================================== ======================================
numpy/eager     hand-written NumPy formula (no library)    hand-written NumPy formula
torch/eager     ``F.cross_entropy``                        ``F.binary_cross_entropy_with_logits``
torch/compile   ``torch.compile`` of the above             ``torch.compile`` of the above
jax/jit         optax ``softmax_cross_entropy_with_        optax ``sigmoid_binary_cross_entropy``
                integer_labels(...).mean()``               ``(...).mean()``
tensorflow/*    ``tf.reduce_mean(tf.nn.sparse_softmax_     ``tf.reduce_mean(tf.nn.sigmoid_cross_
                cross_entropy_with_logits(...))``          entropy_with_logits(...))``
=============== ========================================== ======================================

Compiled modes compile ours and native the same way: ``torch.compile(fn, fullgraph=True,
dynamic=False)``, ``jax.jit`` (``jax.jit(jax.value_and_grad(fn))`` for the gradient),
``tf.function`` (the ``tf.GradientTape`` inside the function for the gradient). Gradients are
taken with respect to the logits only: ``torch.autograd.grad`` (no ``.grad`` accumulation),
``jax.value_and_grad``, ``GradientTape.gradient``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

import lossbridge as lb

__all__ = [
    "FRAMEWORKS",
    "LOSSES",
    "MODES",
    "SHAPES",
    "Case",
    "Pair",
    "all_cases",
    "build",
    "make_data",
]

LOSSES = ("cross_entropy", "binary_cross_entropy_with_logits")
SHAPES = ((8, 4), (4096, 1000))
FRAMEWORKS = ("numpy", "torch", "jax", "tensorflow")
MODES = {
    "numpy": ("eager",),
    "torch": ("eager", "compile"),
    "jax": ("jit",),
    "tensorflow": ("eager", "function"),
}
SHORT_LOSS = {"cross_entropy": "CE", "binary_cross_entropy_with_logits": "BCEwL"}


@dataclass(frozen=True)
class Case:
    """One row of the table.

    Attributes
    ----------
    loss : str
        ``'cross_entropy'`` or ``'binary_cross_entropy_with_logits'``.
    shape : tuple of int
        Logits shape ``(N, C)``; targets are ``(N,)`` class indices or ``(N, C)`` floats.
    framework : str
        ``'numpy'``, ``'torch'``, ``'jax'`` or ``'tensorflow'``.
    mode : str
        ``'eager'``, ``'compile'`` (torch), ``'jit'`` (JAX) or ``'function'`` (TensorFlow).
    grad : bool
        False times the forward pass, True forward and backward (gradient of the logits).
    """

    loss: str
    shape: tuple[int, int]
    framework: str
    mode: str
    grad: bool

    @property
    def pass_name(self) -> str:
        """``'fwd'`` or ``'fwd+bwd'``."""
        return "fwd+bwd" if self.grad else "fwd"

    @property
    def shape_name(self) -> str:
        """The shape as ``'8x4'``."""
        return "x".join(str(d) for d in self.shape)

    @property
    def name(self) -> str:
        """A one-line identifier, e.g. ``'CE 8x4 torch/eager fwd'``."""
        return (
            f"{SHORT_LOSS[self.loss]} {self.shape_name} {self.framework}/{self.mode} "
            f"{self.pass_name}"
        )


@dataclass
class Pair:
    """Both sides of a case, ready to call.

    Attributes
    ----------
    ours, native : callable
        Zero-argument callables; each runs one evaluation to completion and returns its outputs
        (the loss, or ``(loss, grad)``).
    native_name : str
        What the native side is, for the JSON record.
    outputs : callable
        Turns a side's return value into a list of NumPy arrays, for the agreement check.
    """

    ours: Callable[[], Any]
    native: Callable[[], Any]
    native_name: str
    outputs: Callable[[Any], list[np.ndarray]]


def all_cases(
    frameworks: Iterable[str] | None = None,
    losses: Iterable[str] | None = None,
    shapes: Iterable[tuple[int, int]] | None = None,
    modes: Iterable[str] | None = None,
    grads: Sequence[bool] = (False, True),
) -> list[Case]:
    """Every case, grouped by framework and mode (so compilation work runs together).

    Parameters
    ----------
    frameworks, losses, shapes, modes : iterable, optional
        Keep only these (default: all).
    grads : sequence of bool
        Which passes: ``False`` forward, ``True`` forward and backward. NumPy has no autodiff,
        so its cases are forward only.

    Returns
    -------
    list of Case
    """
    fws = [f for f in FRAMEWORKS if frameworks is None or f in set(frameworks)]
    ls = [x for x in LOSSES if losses is None or x in set(losses)]
    shs = [s for s in SHAPES if shapes is None or s in {tuple(t) for t in shapes}]
    out = []
    for fw in fws:
        for mode in MODES[fw]:
            if modes is not None and mode not in set(modes):
                continue
            for loss in ls:
                for shape in shs:
                    for grad in grads:
                        if grad and fw == "numpy":
                            continue
                        out.append(Case(loss, shape, fw, mode, grad))
    return out


def make_data(loss: str, shape: tuple[int, int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Float32 standard-normal logits and targets, the same for every framework.

    Parameters
    ----------
    loss : str
        Decides the targets: int64 class indices of shape ``(N,)`` for ``cross_entropy``,
        float32 values in {0, 1} of the logits' shape for ``binary_cross_entropy_with_logits``.
    shape : tuple of int
        ``(N, C)``.
    seed : int

    Returns
    -------
    logits, targets : numpy.ndarray
    """
    rng = np.random.default_rng(seed)
    n, c = shape
    x = rng.standard_normal(shape, dtype=np.float32)
    if loss == "cross_entropy":
        y = rng.integers(0, c, size=n, dtype=np.int64)
    elif loss == "binary_cross_entropy_with_logits":
        y = rng.integers(0, 2, size=shape).astype(np.float32)
    else:
        raise ValueError(f"unknown loss {loss!r}; expected one of {LOSSES}")
    return x, y


def build(case: Case) -> Pair:
    """Import the framework, make the data and return both sides of ``case``.

    Parameters
    ----------
    case : Case

    Returns
    -------
    Pair

    Raises
    ------
    Exception
        Whatever the framework raises (missing module, failed compilation at first call is
        raised later, by the first call); the harness records it against the row.
    """
    builders = {
        "numpy": _build_numpy,
        "torch": _build_torch,
        "jax": _build_jax,
        "tensorflow": _build_tensorflow,
    }
    return builders[case.framework](case)


def _ours(loss: str) -> Callable[..., Any]:
    return getattr(lb, loss)


# ------------------------------------------------------------------------------------------
# NumPy: no library loss exists; the reference is the plain formula.
# ------------------------------------------------------------------------------------------


def _np_cross_entropy(x: np.ndarray, y: np.ndarray) -> Any:
    m = np.max(x, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(x - m), axis=1)) + m[:, 0]
    return np.mean(lse - np.take_along_axis(x, y[:, None], axis=1)[:, 0])


def _np_bce_with_logits(x: np.ndarray, t: np.ndarray) -> Any:
    return np.mean(np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x))))


def _build_numpy(case: Case) -> Pair:
    if case.mode != "eager" or case.grad:
        raise ValueError(f"numpy has no {case.mode}/{case.pass_name} case")
    x, y = make_data(case.loss, case.shape)
    ours_fn = _ours(case.loss)
    native_fn, native_name = {
        "cross_entropy": (_np_cross_entropy, "NumPy formula: max, exp, sum, log, take_along_axis"),
        "binary_cross_entropy_with_logits": (
            _np_bce_with_logits,
            "NumPy formula: max(x,0) - x*t + log1p(exp(-|x|))",
        ),
    }[case.loss]
    return Pair(
        ours=lambda: ours_fn(x, y),
        native=lambda: native_fn(x, y),
        native_name=native_name,
        outputs=lambda out: [np.asarray(out)],
    )


# ------------------------------------------------------------------------------------------
# torch: eager and torch.compile
# ------------------------------------------------------------------------------------------


def _build_torch(case: Case) -> Pair:
    import torch

    x_np, y_np = make_data(case.loss, case.shape)
    x = torch.from_numpy(x_np)
    y = torch.from_numpy(y_np)
    ours_fn = _ours(case.loss)
    native_fn = getattr(torch.nn.functional, case.loss)
    native_name = f"torch.nn.functional.{case.loss}"
    if case.mode == "compile":
        # One wrapper per case; dynamic=False specialises on the shape as a fixed-shape training
        # step would. Compilation happens on the first call (timed by the harness as setup).
        ours_fn = torch.compile(ours_fn, fullgraph=True, dynamic=False)
        native_fn = torch.compile(native_fn, fullgraph=True, dynamic=False)
        native_name = f"torch.compile({native_name}, fullgraph=True)"
    elif case.mode != "eager":
        raise ValueError(f"torch has no mode {case.mode!r}")

    if not case.grad:

        def side(fn: Callable[..., Any]) -> Callable[[], Any]:
            return lambda: fn(x, y)

    else:
        xr = x.clone().requires_grad_(True)

        def side(fn: Callable[..., Any]) -> Callable[[], Any]:
            def run() -> Any:
                loss = fn(xr, y)
                (g,) = torch.autograd.grad(loss, xr)
                return loss, g

            return run

    def outputs(out: Any) -> list[np.ndarray]:
        outs = out if isinstance(out, tuple) else (out,)
        return [t.detach().numpy() for t in outs]

    return Pair(side(ours_fn), side(native_fn), native_name, outputs)


# ------------------------------------------------------------------------------------------
# JAX: jax.jit against optax
# ------------------------------------------------------------------------------------------


def _build_jax(case: Case) -> Pair:
    import jax
    import optax

    if case.mode != "jit":
        raise ValueError(f"jax has no mode {case.mode!r}")
    x_np, y_np = make_data(case.loss, case.shape)
    if case.loss == "cross_entropy":
        y_np = y_np.astype(np.int32)  # JAX's default integer (x64 off)

        def native_fn(x: Any, y: Any) -> Any:
            return optax.softmax_cross_entropy_with_integer_labels(x, y).mean()

        native_name = "optax.softmax_cross_entropy_with_integer_labels(...).mean()"
    else:

        def native_fn(x: Any, y: Any) -> Any:
            return optax.sigmoid_binary_cross_entropy(x, y).mean()

        native_name = "optax.sigmoid_binary_cross_entropy(...).mean()"
    x = jax.device_put(x_np)
    y = jax.device_put(y_np)
    ours_fn = _ours(case.loss)

    def side(fn: Callable[..., Any]) -> Callable[[], Any]:
        f = jax.jit(jax.value_and_grad(fn)) if case.grad else jax.jit(fn)
        return lambda: jax.block_until_ready(f(x, y))

    def outputs(out: Any) -> list[np.ndarray]:
        return [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(out)]

    return Pair(side(ours_fn), side(native_fn), f"jax.jit({native_name})", outputs)


# ------------------------------------------------------------------------------------------
# TensorFlow: eager and tf.function
# ------------------------------------------------------------------------------------------


def _build_tensorflow(case: Case) -> Pair:
    import tensorflow as tf

    x_np, y_np = make_data(case.loss, case.shape)
    x = tf.constant(x_np)
    y = tf.constant(y_np)
    if case.loss == "cross_entropy":

        def native_fn(x: Any, y: Any) -> Any:
            per_item = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x)
            return tf.reduce_mean(per_item)

        native_name = "tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(...))"
    else:

        def native_fn(x: Any, y: Any) -> Any:
            return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=x))

        native_name = "tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(...))"
    ours_fn = _ours(case.loss)
    if case.mode not in ("eager", "function"):
        raise ValueError(f"tensorflow has no mode {case.mode!r}")

    def side(fn: Callable[..., Any]) -> Callable[[], Any]:
        if case.grad:

            def step(x: Any, y: Any) -> Any:
                with tf.GradientTape() as tape:
                    tape.watch(x)
                    loss = fn(x, y)
                return loss, tape.gradient(loss, x)

        else:

            def step(x: Any, y: Any) -> Any:
                return fn(x, y)

        if case.mode == "function":
            step = tf.function(step)

        def run() -> Any:
            out = step(x, y)
            (out[0] if case.grad else out).numpy()
            return out

        return run

    def outputs(out: Any) -> list[np.ndarray]:
        outs = out if isinstance(out, tuple) else (out,)
        return [np.asarray(t) for t in outs]

    name = native_name if case.mode == "eager" else f"tf.function({native_name})"
    return Pair(side(ours_fn), side(native_fn), name, outputs)
