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

The 1e6-element regression/divergence cases (``mse_loss``, ``l1_loss``, ``huber_loss``,
``kl_div`` with ``reduction='batchmean'``, ``nll_loss``) use ``torch.nn.functional``'s loss of
the same name; for JAX optax's ``squared_error``, ``huber_loss`` and ``kl_divergence`` (row
sums, then the mean over rows) and plain ``jnp`` where optax has no such loss (L1, NLL); for
TensorFlow plain ``tf`` ops, no Keras (see ``_build_tensorflow``).

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
    "LOSS_KWARGS",
    "LOSS_SHAPES",
    "MODES",
    "SHAPES",
    "Case",
    "Pair",
    "all_cases",
    "build",
    "make_data",
]

LOSSES = (
    "cross_entropy",
    "binary_cross_entropy_with_logits",
    "mse_loss",
    "l1_loss",
    "huber_loss",
    "kl_div",
    "nll_loss",
)
SHAPES = ((8, 4), (4096, 1000), (1000, 1000))
#: The shapes each loss is benchmarked at: the classification losses at a tiny and a large
#: shape, the elementwise regression/divergence losses and ``nll_loss`` at 1e6 elements.
LOSS_SHAPES = {
    "cross_entropy": ((8, 4), (4096, 1000)),
    "binary_cross_entropy_with_logits": ((8, 4), (4096, 1000)),
    "mse_loss": ((1000, 1000),),
    "l1_loss": ((1000, 1000),),
    "huber_loss": ((1000, 1000),),
    "kl_div": ((1000, 1000),),
    "nll_loss": ((1000, 1000),),
}
#: Keyword arguments both sides get (``reduction='mean'`` is everyone's default).
LOSS_KWARGS: dict[str, dict[str, Any]] = {
    "huber_loss": {"delta": 1.0},
    "kl_div": {"reduction": "batchmean"},
}
FRAMEWORKS = ("numpy", "torch", "jax", "tensorflow")
MODES = {
    "numpy": ("eager",),
    "torch": ("eager", "compile"),
    "jax": ("jit",),
    "tensorflow": ("eager", "function"),
}
SHORT_LOSS = {
    "cross_entropy": "CE",
    "binary_cross_entropy_with_logits": "BCEwL",
    "mse_loss": "MSE",
    "l1_loss": "L1",
    "huber_loss": "Huber",
    "kl_div": "KLDiv",
    "nll_loss": "NLL",
}


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
                for shape in (s for s in shs if s in LOSS_SHAPES[loss]):
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
        Decides the inputs and targets: standard-normal logits and int64 class indices of shape
        ``(N,)`` for ``cross_entropy``; logits and float32 values in {0, 1} of the logits'
        shape for ``binary_cross_entropy_with_logits``; standard-normal inputs and targets for
        ``mse_loss``, ``l1_loss`` and ``huber_loss``; row-wise log-probabilities (log-softmax
        of standard normals) and a probability target (softmax of other standard normals) for
        ``kl_div``; row-wise log-probabilities and int64 class indices for ``nll_loss``.
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
    elif loss in ("mse_loss", "l1_loss", "huber_loss"):
        y = rng.standard_normal(shape, dtype=np.float32)
    elif loss == "kl_div":
        x = _log_softmax64(x).astype(np.float32)
        y = np.exp(_log_softmax64(rng.standard_normal(shape))).astype(np.float32)
    elif loss == "nll_loss":
        x = _log_softmax64(x).astype(np.float32)
        y = rng.integers(0, c, size=n, dtype=np.int64)
    else:
        raise ValueError(f"unknown loss {loss!r}; expected one of {LOSSES}")
    return x, y


def _log_softmax64(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.float64)
    m = np.max(x, axis=1, keepdims=True)
    return x - m - np.log(np.sum(np.exp(x - m), axis=1, keepdims=True))


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
    fn = getattr(lb, loss)
    kw = LOSS_KWARGS.get(loss)
    if not kw:
        return fn

    def ours(x: Any, y: Any) -> Any:
        return fn(x, y, **kw)

    return ours


# ------------------------------------------------------------------------------------------
# NumPy: no library loss exists; the reference is the plain formula.
# ------------------------------------------------------------------------------------------


def _np_cross_entropy(x: np.ndarray, y: np.ndarray) -> Any:
    m = np.max(x, axis=1, keepdims=True)
    lse = np.log(np.sum(np.exp(x - m), axis=1)) + m[:, 0]
    return np.mean(lse - np.take_along_axis(x, y[:, None], axis=1)[:, 0])


def _np_bce_with_logits(x: np.ndarray, t: np.ndarray) -> Any:
    return np.mean(np.maximum(x, 0) - x * t + np.log1p(np.exp(-np.abs(x))))


def _np_huber(x: np.ndarray, t: np.ndarray, delta: float = 1.0) -> Any:
    a = np.abs(x - t)
    q = np.minimum(a, delta)
    return np.mean(0.5 * q * q + delta * (a - q))


def _np_kl_div_batchmean(x: np.ndarray, t: np.ndarray) -> Any:
    # Targets are strictly positive here (a softmax), so t * log(t) needs no zero guard.
    return np.sum(t * (np.log(t) - x)) / x.shape[0]


def _np_nll(x: np.ndarray, y: np.ndarray) -> Any:
    return -np.mean(np.take_along_axis(x, y[:, None], axis=1))


_NP_NATIVES: dict[str, tuple[Callable[..., Any], str]] = {
    "cross_entropy": (_np_cross_entropy, "NumPy formula: max, exp, sum, log, take_along_axis"),
    "binary_cross_entropy_with_logits": (
        _np_bce_with_logits,
        "NumPy formula: max(x,0) - x*t + log1p(exp(-|x|))",
    ),
    "mse_loss": (lambda x, t: np.mean(np.square(x - t)), "NumPy formula: mean((x-t)**2)"),
    "l1_loss": (lambda x, t: np.mean(np.abs(x - t)), "NumPy formula: mean(|x-t|)"),
    "huber_loss": (_np_huber, "NumPy formula: q=min(|d|,1); mean(q*q/2 + (|d|-q))"),
    "kl_div": (_np_kl_div_batchmean, "NumPy formula: sum(t*(log t - x)) / N"),
    "nll_loss": (_np_nll, "NumPy formula: -mean(take_along_axis(x, y))"),
}


def _build_numpy(case: Case) -> Pair:
    if case.mode != "eager" or case.grad:
        raise ValueError(f"numpy has no {case.mode}/{case.pass_name} case")
    x, y = make_data(case.loss, case.shape)
    ours_fn = _ours(case.loss)
    native_fn, native_name = _NP_NATIVES[case.loss]
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
    kw = LOSS_KWARGS.get(case.loss)
    if kw:
        native_loss = native_fn

        def native_fn(x: Any, y: Any) -> Any:
            return native_loss(x, y, **kw)

        native_name += "(" + ", ".join(f"{k}={v!r}" for k, v in kw.items()) + ")"
    if case.mode == "compile":
        # Every native side is compiled through one shared wrapper code object, and Dynamo
        # allows 8 compilations per code object: raise the limit for a run of many cases.
        cfg = torch._dynamo.config
        for attr in ("recompile_limit", "cache_size_limit"):
            if hasattr(cfg, attr) and getattr(cfg, attr) < 64:
                setattr(cfg, attr, 64)
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
    import jax.numpy as jnp

    x_np, y_np = make_data(case.loss, case.shape)
    if y_np.dtype == np.int64:
        y_np = y_np.astype(np.int32)  # JAX's default integer (x64 off)
    natives: dict[str, tuple[Callable[..., Any], str]] = {
        "cross_entropy": (
            lambda x, y: optax.softmax_cross_entropy_with_integer_labels(x, y).mean(),
            "optax.softmax_cross_entropy_with_integer_labels(...).mean()",
        ),
        "binary_cross_entropy_with_logits": (
            lambda x, y: optax.sigmoid_binary_cross_entropy(x, y).mean(),
            "optax.sigmoid_binary_cross_entropy(...).mean()",
        ),
        "mse_loss": (
            lambda x, y: optax.squared_error(x, y).mean(),
            "optax.squared_error(...).mean()",
        ),
        # optax has no absolute-error loss: a plain jnp reference.
        "l1_loss": (lambda x, y: jnp.mean(jnp.abs(x - y)), "jnp.mean(jnp.abs(x - t)) (no optax)"),
        "huber_loss": (
            lambda x, y: optax.huber_loss(x, y, delta=1.0).mean(),
            "optax.huber_loss(..., delta=1.0).mean()",
        ),
        # Row-wise KL summed over classes, then the mean over rows = torch's 'batchmean'.
        "kl_div": (
            lambda x, y: optax.kl_divergence(x, y).mean(),
            "optax.kl_divergence(log_p, t).mean()",
        ),
        # optax has no NLL on log-probabilities: a plain jnp reference.
        "nll_loss": (
            lambda x, y: -jnp.mean(jnp.take_along_axis(x, y[:, None], axis=1)),
            "-jnp.mean(jnp.take_along_axis(x, y)) (no optax)",
        ),
    }
    native_fn, native_name = natives[case.loss]
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
    n = case.shape[0]

    def huber(x: Any, t: Any) -> Any:
        a = tf.abs(x - t)
        q = tf.minimum(a, 1.0)
        return tf.reduce_mean(0.5 * tf.square(q) + (a - q))

    natives: dict[str, tuple[Callable[..., Any], str]] = {
        "cross_entropy": (
            lambda x, y: tf.reduce_mean(
                tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x)
            ),
            "tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(...))",
        ),
        "binary_cross_entropy_with_logits": (
            lambda x, y: tf.reduce_mean(
                tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=x)
            ),
            "tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(...))",
        ),
        "mse_loss": (
            lambda x, t: tf.reduce_mean(tf.square(x - t)),
            "tf.reduce_mean(tf.square(x - t))",
        ),
        "l1_loss": (lambda x, t: tf.reduce_mean(tf.abs(x - t)), "tf.reduce_mean(tf.abs(x - t))"),
        "huber_loss": (huber, "q = tf.minimum(|x - t|, 1); tf.reduce_mean(q*q/2 + |x - t| - q)"),
        # What tf.keras.losses.KLDivergence computes (sum over classes, mean over rows), on a
        # log-probability input and without Keras' clipping of the probabilities.
        "kl_div": (
            lambda x, t: tf.reduce_sum(tf.math.xlogy(t, t) - t * x) / n,
            "tf.reduce_sum(tf.math.xlogy(t, t) - t * x) / N",
        ),
        "nll_loss": (
            lambda x, y: -tf.reduce_mean(tf.gather(x, y, axis=1, batch_dims=1)),
            "-tf.reduce_mean(tf.gather(x, y, axis=1, batch_dims=1))",
        ),
    }
    native_fn, native_name = natives[case.loss]
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
