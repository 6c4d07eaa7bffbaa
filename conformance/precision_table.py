"""Half-precision accuracy: lossbridge against each framework's own loss, in ulps from float64.

``python -m lossbridge.conformance.precision_table [--markdown FILE] [--framework NAME]
[--dtype DTYPE] [--autocast]`` (the tables of ``docs/precision.md``).

For every core loss with a native counterpart (``torch.nn.functional`` through the conformance
registry's torch oracles; ``optax.losses``; ``keras.losses`` functions; ``tf.nn``) and each half
dtype (float16, bfloat16), the inputs are drawn in float64 with a fixed seed, rounded to the
dtype, and both losses are evaluated on the rounded inputs in that dtype (a scalar loss and its
gradient). The reference is the framework's own loss in float64 on the same rounded inputs
(its gradient by the framework's autodiff, or by central differences where that backward is
not the loss's derivative: :attr:`Counterpart.fd_grad`). lossbridge's float64 value and gradient
are checked against it too: a disagreement is reported in the row's note, as it would mean the
two sides do not compute the same function. Each row gives the output dtypes, the
value's error and the worst gradient element's error in ulps of the dtype (:func:`ulps`: an
element's error over its own ulp, with a floor of ``2**-6`` ulp of the largest element, as
``docs/precision.md`` rule 1 states), or "not implemented" where the framework's loss raises.
``--autocast`` adds the torch CPU autocast table (:func:`autocast_rows`): the dtype F and ours
return under ``torch.autocast('cpu', dtype)`` and each one's distance from float64.

This is an application: like ``python -m lossbridge.conformance`` it enables ``jax_enable_x64``
in its own process (the float64 references of optax), through the CLI's set-up.
"""

from __future__ import annotations

import argparse
import math
import sys
import warnings
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "FRAMEWORKS",
    "GRAD_FLOOR",
    "HALF",
    "AutocastRow",
    "Counterpart",
    "Row",
    "autocast_markdown",
    "autocast_rows",
    "counterparts",
    "main",
    "markdown",
    "measure",
    "round_to",
    "summary",
    "ulp",
    "ulps",
]

HALF = ("float16", "bfloat16")
#: The tables, in order: the framework whose own losses are the counterparts.
FRAMEWORKS = ("torch", "optax", "keras", "tensorflow")
#: Rule 1's floor: an element's error is counted in ulps of the larger of its own magnitude and
#: ``GRAD_FLOOR`` times the largest element's (tiny elements are not held to their own ulp).
GRAD_FLOOR = 2.0**-6
#: float64 agreement of lossbridge and the counterpart (relative) below which they are taken to
#: compute the same function; above it the row says by how much (in ulps of the dtype).
SAME_FUNCTION = 1e-9


# ------------------------------------------------------------------------------------------
# ulps
# ------------------------------------------------------------------------------------------


def _dtype(name: str) -> np.dtype:
    if name == "bfloat16":
        import ml_dtypes

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def _finfo(name: str) -> Any:
    import ml_dtypes

    return ml_dtypes.finfo(_dtype(name))


def round_to(a: Any, dtype: str) -> np.ndarray:
    """Floating ``a`` rounded to ``dtype`` and widened back to float64; integers unchanged."""
    a = np.asarray(a)
    if a.dtype.kind != "f":
        return a
    with np.errstate(over="ignore"):
        return a.astype(_dtype(dtype)).astype(np.float64)


def ulp(x: Any, dtype: str) -> np.ndarray:
    """The spacing of ``dtype`` at ``|x|`` (elementwise, float64): ``2**(e - p)`` for
    ``2**e <= |x| < 2**(e + 1)`` and ``p`` the mantissa bits, at least the smallest subnormal."""
    info = _finfo(dtype)
    x = np.abs(np.asarray(x, dtype=np.float64))
    _, e = np.frexp(np.maximum(x, float(info.tiny)))
    return np.ldexp(1.0, e - 1 - int(info.nmant))


def ulps(got: Any, want: Any, dtype: str, floor: float = GRAD_FLOOR) -> float:
    """Worst elementwise error of ``got`` against ``want`` in ulps of ``dtype``.

    Element ``i`` counts ``|got_i - want_i| / max(ulp(want_i), floor * ulp(max_j |want_j|))``.
    Equal values (NaN with NaN, infinities of one sign) count 0; a non-finite value on one side
    only, or different shapes, count ``inf``. A ``want`` beyond the dtype's range is taken as
    its correctly rounded value (``inf``: float16 holds nothing above 65504).

    Parameters
    ----------
    got, want : array_like
        Compared in float64 (``want`` is the float64 reference).
    dtype : str
        ``'float16'``, ``'bfloat16'``, ``'float32'``.
    floor : float
        Fraction of the largest element's ulp below which no element's ulp is taken.

    Returns
    -------
    float
    """
    a = np.asarray(got, dtype=np.float64)
    b = np.asarray(want, dtype=np.float64)
    b = np.where(np.abs(b) > float(_finfo(dtype).max), round_to(b, dtype), b)
    if a.shape != b.shape:
        return math.inf
    if a.size == 0:
        return 0.0
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    if np.any(~same & ~(np.isfinite(a) & np.isfinite(b))):
        return math.inf
    finite = np.abs(b[np.isfinite(b)])
    top = float(finite.max()) if finite.size else 0.0
    unit = np.maximum(ulp(b, dtype), floor * ulp(top, dtype))
    with np.errstate(invalid="ignore"):
        err = np.where(same, 0.0, np.abs(a - b) / unit)
    return float(err.max())


# ------------------------------------------------------------------------------------------
# Frameworks: arrays, a value and its gradient
# ------------------------------------------------------------------------------------------


def _dtype_name(dtype: Any) -> str:
    name = getattr(dtype, "name", None) or str(dtype)
    return name.replace("torch.", "")


def _torch_run(fn, arrays, gargs, dtype):
    import torch

    ts = {}
    for k, v in arrays.items():
        if v.dtype.kind == "f":
            t = torch.from_numpy(v.astype(np.float32))
            t = t.to(getattr(torch, dtype)) if dtype != "float64" else torch.from_numpy(v.copy())
            ts[k] = t.requires_grad_(k in gargs)
        else:
            ts[k] = torch.from_numpy(v.copy())
    out = fn(**ts)
    leaves = [ts[g] for g in gargs]
    grads = (
        torch.autograd.grad(out, leaves, grad_outputs=torch.ones_like(out), allow_unused=True)
        if leaves
        else []
    )
    grads = [torch.zeros_like(x) if gx is None else gx for x, gx in zip(leaves, grads, strict=True)]
    return (
        out.detach().double().numpy(),
        _dtype_name(out.dtype),
        {g: gx.double().numpy() for g, gx in zip(gargs, grads, strict=True)},
    )


def _jax_run(fn, arrays, gargs, dtype):
    import jax
    import jax.numpy as jnp

    js = {
        k: (
            jnp.asarray(v.astype(np.float32 if dtype != "float64" else np.float64)).astype(dtype)
            if v.dtype.kind == "f"
            else jnp.asarray(v)
        )
        for k, v in arrays.items()
    }

    def f(*gvals):
        return fn(**{**js, **dict(zip(gargs, gvals, strict=True))})

    out, vjp = jax.vjp(f, *[js[g] for g in gargs])
    grads = vjp(jnp.ones_like(out))
    return (
        np.asarray(out.astype(jnp.float64)),
        _dtype_name(out.dtype),
        {g: np.asarray(gx.astype(jnp.float64)) for g, gx in zip(gargs, grads, strict=True)},
    )


def _tf_run(fn, arrays, gargs, dtype):
    import tensorflow as tf

    ts = {
        k: (
            tf.cast(tf.constant(v.astype(np.float32 if dtype != "float64" else np.float64)), dtype)
            if v.dtype.kind == "f"
            else tf.constant(v)
        )
        for k, v in arrays.items()
    }
    with tf.GradientTape() as tape:
        for g in gargs:
            tape.watch(ts[g])
        out = fn(**ts)
    srcs = [ts[g] for g in gargs]
    grads = tape.gradient(out, srcs, output_gradients=tf.ones_like(out))
    grads = [tf.zeros_like(x) if gx is None else gx for x, gx in zip(srcs, grads, strict=True)]
    return (
        tf.cast(out, tf.float64).numpy(),
        _dtype_name(out.dtype),
        {
            g: tf.cast(tf.convert_to_tensor(gx), tf.float64).numpy()  # IndexedSlices too
            for g, gx in zip(gargs, grads, strict=True)
        },
    )


def _keras_run(fn, arrays, gargs, dtype):
    import keras

    return _RUN[
        {"tensorflow": "tensorflow", "jax": "optax", "torch": "torch"}[keras.backend.backend()]
    ](fn, arrays, gargs, dtype)


_RUN = {"torch": _torch_run, "optax": _jax_run, "tensorflow": _tf_run, "keras": _keras_run}


# ------------------------------------------------------------------------------------------
# Counterparts
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counterpart:
    """A lossbridge loss and a framework's own loss that compute the same function.

    Parameters
    ----------
    framework : str
        One of :data:`FRAMEWORKS` (the table it belongs to).
    loss : str
        The lossbridge loss (with the arguments that make it match, in ``call``).
    native : str
        The framework's function, as the table names it.
    make : callable
        ``make(rng) -> {name: ndarray}``: float64 data, int64 indices.
    ours, theirs : callable
        ``f(**arrays) -> array``: the loss on the framework's arrays (the same names).
    grad_args : tuple of str
        The differentiated arguments.
    fd_grad : bool
        Take the gradient reference from central differences of ``theirs`` in float64 rather
        than from its autodiff: for a framework whose backward is not the derivative of its
        loss on the rounded inputs (torch's CTC backward assumes normalised ``log_probs``,
        which half-rounded ones are not).
    call : str
        How the two are called (for the table).
    """

    framework: str
    loss: str
    native: str
    make: Callable[[np.random.Generator], dict[str, np.ndarray]] = field(repr=False)
    ours: Callable[..., Any] = field(repr=False)
    theirs: Callable[..., Any] = field(repr=False)
    grad_args: tuple[str, ...] = ("input",)
    fd_grad: bool = False
    call: str = ""

    def inputs(self) -> dict[str, np.ndarray]:
        """The float64 inputs, the same on every call."""
        seed = zlib.crc32(f"{self.framework}/{self.loss}/{self.native}/{self.call}".encode())
        return dict(self.make(np.random.default_rng(seed)))


def _lb(name: str, **kw: Any) -> Callable[..., Any]:
    def ours(**arrays: Any) -> Any:
        import lossbridge

        return getattr(lossbridge, name)(**arrays, **kw)

    return ours


# Inputs (shapes of the registry's default cases: a batch of 8, 5 classes).


def _logits_index(r):
    return {"input": 2.0 * r.standard_normal((8, 5)), "target": r.integers(0, 5, 8)}


def _logits_probs(r):
    # Multiples of 1/8 summing to 1 exactly in every dtype: TensorFlow's fused kernel (also
    # under Keras) back-propagates softmax - target, the gradient only where rows sum to 1.
    t = r.multinomial(8, np.full(5, 0.2), 8) / 8.0
    return {"input": 2.0 * r.standard_normal((8, 5)), "target": t}


def _logits_binary(r):
    return {"input": 2.0 * r.standard_normal((8, 5)), "target": r.uniform(0, 1, (8, 5))}


def _logits_binary_pos_weight(r):
    return {**_logits_binary(r), "pos_weight": r.uniform(0.5, 3.0, 5)}


def _logits_hard(r):
    return {"input": 2.0 * r.standard_normal((8, 5)), "target": r.integers(0, 2, (8, 5)) * 1.0}


def _probs_soft(r):
    return {"input": r.uniform(0.02, 0.98, (8, 5)), "target": r.uniform(0, 1, (8, 5))}


def _pair(r):
    return {"input": r.standard_normal((8, 5)), "target": r.standard_normal((8, 5))}


def _pair_positive(r):
    return {"input": r.uniform(0.5, 3.0, (8, 5)), "target": r.uniform(0.5, 3.0, (8, 5))}


def _poisson_log(r):
    return {"input": 0.5 * r.standard_normal((8, 5)), "target": r.poisson(2.0, (8, 5)) * 1.0}


def _poisson_rate(r):
    return {"input": r.uniform(0.5, 3.0, (8, 5)), "target": r.poisson(2.0, (8, 5)) * 1.0}


def _signed(r):
    return {"input": r.standard_normal((8, 5)), "target": r.choice([-1.0, 1.0], (8, 5))}


def _log_probs_probs(r):
    z = r.standard_normal((8, 5))
    e = np.exp(z - z.max(1, keepdims=True))
    d = {"input": 2.0 * r.standard_normal((8, 5)), "target": e / e.sum(1, keepdims=True)}
    z = d["input"]
    m = z.max(1, keepdims=True)
    return {"input": z - m - np.log(np.exp(z - m).sum(1, keepdims=True)), "target": d["target"]}


def _log_probs_log_probs(r):
    d = _log_probs_probs(r)
    return {"input": d["input"], "target": np.log(d["target"])}


# torch: the registry's torch oracles.


def _default_case(entry: Any) -> Any:
    first = entry.cases[0].label.rsplit("_", 1)[0]
    for c in entry.cases:
        if c.label == f"{first}_mean":
            return c
    return entry.cases[0]


def _torch_counterparts() -> list[Counterpart]:
    from lossbridge.conformance.registry import REGISTRY

    out = []
    for entry in REGISTRY.values():
        if entry.oracle is None or "." in entry.name:
            continue
        case = _default_case(entry)
        kwargs = dict(case.kwargs)
        oracle_kwargs = {**kwargs, **case.oracle_kwargs}
        inputs = case.inputs()

        def theirs(_e=entry, _kw=oracle_kwargs, **arrays):
            return _e.oracle_fn()(**arrays, **_kw)

        def ours(_e=entry, _kw=kwargs, **arrays):
            return _e.fn(**arrays, **_kw)

        out.append(
            Counterpart(
                "torch",
                entry.name,
                f"F.{entry.oracle}",
                lambda r, _i=inputs: _i,
                ours,
                theirs,
                entry.grad_args_of(case, inputs),
                entry.oracle_grad_projection is not None,
                f"case {case.label}",
            )
        )
    return out


# optax


def _optax(loss, native, make, *, ours=None, onehot=False, call="", **kw) -> Counterpart:
    """``jnp.mean(optax.losses.<native>(input, target, **kw))`` (``onehot``: index targets as
    one-hot rows of the input's dtype) against ``lossbridge.<loss>``."""

    def theirs(input, target):
        import jax
        import jax.numpy as jnp
        import optax

        if onehot:
            target = jax.nn.one_hot(target, input.shape[-1], dtype=input.dtype)
        return jnp.mean(getattr(optax.losses, native)(input, target, **kw))

    return Counterpart("optax", loss, native, make, ours or _lb(loss), theirs, call=call)


def _optax_counterparts() -> list[Counterpart]:
    def focal(input, target):
        return _lb("sigmoid_focal_loss", reduction="mean")(inputs=input, targets=target)

    integer_labels = "softmax_cross_entropy_with_integer_labels"
    return [
        _optax("cross_entropy", integer_labels, _logits_index),
        _optax("cross_entropy", "softmax_cross_entropy", _logits_probs, call="probability targets"),
        _optax("binary_cross_entropy_with_logits", "sigmoid_binary_cross_entropy", _logits_binary),
        _optax(
            "sigmoid_focal_loss",
            "sigmoid_focal_loss",
            _logits_hard,
            ours=focal,
            alpha=0.25,
            call="alpha 0.25, gamma 2",
        ),
        _optax(
            "kl_div",
            "kl_divergence",
            _log_probs_probs,
            ours=_lb("kl_div", reduction="batchmean"),
            call="batchmean",
        ),
        _optax(
            "kl_div",
            "kl_divergence_with_log_targets",
            _log_probs_log_probs,
            ours=_lb("kl_div", reduction="batchmean", log_target=True),
            call="batchmean",
        ),
        _optax("mse_loss", "squared_error", _pair),
        _optax("cosine_similarity_loss", "cosine_distance", _pair, epsilon=1e-16),
        _optax("huber_loss", "huber_loss", _pair, delta=1.0),
        _optax("log_cosh_loss", "log_cosh", _pair),
        _optax("hinge_loss", "hinge_loss", _signed),
        _optax("categorical_hinge_loss", "multiclass_hinge_loss", _logits_index),
        _optax(
            "poly1_cross_entropy",
            "poly_loss_cross_entropy",
            _logits_index,
            onehot=True,
            epsilon=1.0,
        ),
    ]


# Keras (keras.losses functions, y_true first; run on Keras's backend)


def _keras(
    loss, native, make, *, ours=None, elementwise=True, onehot=False, call="", **kw
) -> Counterpart:
    """``keras.ops.mean(keras.losses.<native>(target, input, **kw))`` against
    ``lossbridge.<loss>``. Keras averages over the last axis: ``elementwise`` gives both a
    trailing axis of 1, so Keras's loss is the elementwise one; ``onehot`` turns index targets
    into one-hot rows of the input's dtype."""

    def theirs(input, target):
        import keras

        ops = keras.ops
        if onehot:
            target = ops.one_hot(target, input.shape[-1], dtype=input.dtype)
        if elementwise:
            input, target = ops.expand_dims(input, -1), ops.expand_dims(target, -1)
        return ops.mean(getattr(keras.losses, native)(target, input, **kw))

    return Counterpart("keras", loss, native, make, ours or _lb(loss), theirs, call=call)


def _keras_counterparts() -> list[Counterpart]:
    ce = {"elementwise": False, "from_logits": True}
    smooth = _lb("cross_entropy", label_smoothing=0.1)
    rate = _lb("poisson_nll_loss", log_input=False, eps=1e-7)

    def binary_focal(input, target):  # alpha < 0: no class balancing (Keras's default)
        return _lb("sigmoid_focal_loss", alpha=-1, reduction="mean")(inputs=input, targets=target)

    return [
        _keras(
            "cross_entropy", "sparse_categorical_crossentropy", _logits_index,
            call="from_logits", **ce,
        ),
        _keras(
            "cross_entropy", "categorical_crossentropy", _logits_probs, ours=smooth,
            label_smoothing=0.1, call="from_logits, label_smoothing 0.1", **ce,
        ),
        _keras(
            "binary_cross_entropy_with_logits", "binary_crossentropy", _logits_binary,
            from_logits=True, call="from_logits",
        ),
        _keras("binary_cross_entropy", "binary_crossentropy", _probs_soft, call="probabilities"),
        _keras("mse_loss", "mean_squared_error", _pair),
        _keras("l1_loss", "mean_absolute_error", _pair),
        _keras("huber_loss", "huber", _pair, delta=1.0),
        _keras("log_cosh_loss", "log_cosh", _pair),
        _keras(
            "poisson_nll_loss", "poisson", _poisson_rate, ours=rate,
            call="log_input=False, eps 1e-7",
        ),
        _keras("hinge_loss", "hinge", _signed),
        _keras("squared_hinge_loss", "squared_hinge", _signed),
        _keras(
            "categorical_hinge_loss", "categorical_hinge", _logits_index, elementwise=False,
            onehot=True,
        ),
        _keras(
            "softmax_focal_loss", "categorical_focal_crossentropy", _logits_index,
            ours=_lb("softmax_focal_loss", alpha=0.25), elementwise=False, onehot=True,
            from_logits=True, alpha=0.25, call="from_logits, alpha 0.25",
        ),
        _keras(
            "sigmoid_focal_loss", "binary_focal_crossentropy", _logits_hard, ours=binary_focal,
            from_logits=True, call="from_logits, gamma 2",
        ),
        _keras("mape_loss", "mean_absolute_percentage_error", _pair_positive),
        _keras("msle_loss", "mean_squared_logarithmic_error", _pair_positive),
    ]  # fmt: skip


# TensorFlow (tf.nn)


def _tf(loss, native, make, call_native, *, ours=None, call="") -> Counterpart:
    """``tf.reduce_mean(call_native(tf.nn, **arrays))`` against ``lossbridge.<loss>``."""

    def theirs(**arrays):
        import tensorflow as tf

        return tf.reduce_mean(call_native(tf.nn, **arrays))

    return Counterpart(
        "tensorflow", loss, f"tf.nn.{native}", make, ours or _lb(loss), theirs, call=call
    )


def _tf_counterparts() -> list[Counterpart]:
    def l2(input):
        return _lb("l2_regularization", scale=0.5)(params=input)

    return [
        _tf(
            "cross_entropy", "sparse_softmax_cross_entropy_with_logits", _logits_index,
            lambda nn, input, target: nn.sparse_softmax_cross_entropy_with_logits(
                labels=target, logits=input
            ),
        ),
        _tf(
            "cross_entropy", "softmax_cross_entropy_with_logits", _logits_probs,
            lambda nn, input, target: nn.softmax_cross_entropy_with_logits(
                labels=target, logits=input
            ),
            call="probability targets",
        ),
        _tf(
            "binary_cross_entropy_with_logits", "sigmoid_cross_entropy_with_logits",
            _logits_binary,
            lambda nn, input, target: nn.sigmoid_cross_entropy_with_logits(
                labels=target, logits=input
            ),
        ),
        _tf(
            "binary_cross_entropy_with_logits", "weighted_cross_entropy_with_logits",
            _logits_binary_pos_weight,
            lambda nn, input, target, pos_weight: nn.weighted_cross_entropy_with_logits(
                target, input, pos_weight
            ),
            call="pos_weight",
        ),
        _tf(
            "poisson_nll_loss", "log_poisson_loss", _poisson_log,
            lambda nn, input, target: nn.log_poisson_loss(target, input), call="log_input",
        ),
        _tf(
            "l2_regularization", "l2_loss", lambda r: {"input": r.standard_normal((8, 5))},
            lambda nn, input: nn.l2_loss(input), ours=l2, call="scale 0.5",
        ),
    ]  # fmt: skip


def counterparts(frameworks: Iterable[str] = FRAMEWORKS) -> list[Counterpart]:
    """The counterparts of the selected tables, in table order."""
    build = {
        "torch": _torch_counterparts,
        "optax": _optax_counterparts,
        "keras": _keras_counterparts,
        "tensorflow": _tf_counterparts,
    }
    return [c for fw in frameworks for c in build[fw]()]


# ------------------------------------------------------------------------------------------
# Measurement
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    """One counterpart at one half dtype.

    ``*_value`` / ``*_grad`` are ulps of :attr:`dtype` from the float64 reference (``None``
    where that side did not run); ``theirs_error`` is the first line of what the framework's loss
    raised ("not implemented" in the table); ``note`` says where the float64 functions differ.
    """

    framework: str
    loss: str
    native: str
    call: str
    dtype: str
    ours_dtype: str | None
    theirs_dtype: str | None
    ours_value: float | None
    theirs_value: float | None
    ours_grad: float | None
    theirs_grad: float | None
    theirs_error: str = ""
    ours_error: str = ""
    note: str = ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0] if text else ''}".strip()


def _quiet_run(run, fn, arrays, gargs, dtype):
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return run(fn, arrays, gargs, dtype)


def _grad_ulps(got, want, dtype) -> float:
    return max((ulps(got[k], want[k], dtype) for k in want), default=0.0)


def _central_difference(run, fn, rounded, gargs, h: float = 1e-6) -> dict[str, np.ndarray]:
    """d sum(fn) / d arg by central differences in float64 (error ~1e-10 relative)."""

    def total(arrays):
        return float(np.sum(_quiet_run(run, fn, arrays, (), "float64")[0]))

    grads = {}
    for g in gargs:
        x = rounded[g]
        d = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            step = h * max(1.0, abs(float(x[i])))
            hi, lo = x.copy(), x.copy()
            hi[i] += step
            lo[i] -= step
            d[i] = (total({**rounded, g: hi}) - total({**rounded, g: lo})) / (2 * step)
        grads[g] = d
    return grads


def measure(c: Counterpart, dtype: str) -> Row:
    """Ours and theirs at ``dtype`` on the rounded inputs, against theirs in float64."""
    run = _RUN[c.framework]
    rounded = {k: round_to(v, dtype) for k, v in c.inputs().items()}
    gargs = tuple(g for g in c.grad_args if g in rounded and rounded[g].dtype.kind == "f")

    ref, _, ref_g = _quiet_run(run, c.theirs, rounded, gargs, "float64")
    if c.fd_grad:
        ref_g = _central_difference(run, c.theirs, rounded, gargs)
    mine64, _, mine64_g = _quiet_run(run, c.ours, rounded, gargs, "float64")
    scale = max(float(np.max(np.abs(ref))), np.finfo(np.float64).tiny)
    rel = float(np.max(np.abs(mine64 - ref))) / scale
    note = ""
    notes = []
    if not rel <= SAME_FUNCTION:
        notes.append(f"float64 values differ by {ulps(mine64, ref, dtype):.2g} ulp")
    for k in ref_g:
        gscale = max(float(np.max(np.abs(ref_g[k]), initial=0.0)), np.finfo(np.float64).tiny)
        if not float(np.max(np.abs(mine64_g[k] - ref_g[k]), initial=0.0)) / gscale <= SAME_FUNCTION:
            notes.append(f"float64 d/d{k} differ by {ulps(mine64_g[k], ref_g[k], dtype):.2g} ulp")
    note = "; ".join(notes)
    sides: dict[str, Any] = {}
    for side, fn in (("ours", c.ours), ("theirs", c.theirs)):
        try:
            out, odt, g = _quiet_run(run, fn, rounded, gargs, dtype)
            sides[side] = (odt, ulps(out, ref, dtype), _grad_ulps(g, ref_g, dtype), "")
        except Exception as exc:  # noqa: BLE001 - a side that raises is reported
            sides[side] = (None, None, None, _first_line(exc))
    o, t = sides["ours"], sides["theirs"]
    return Row(
        c.framework, c.loss, c.native, c.call, dtype,
        o[0], t[0], o[1], t[1], o[2] if gargs else None, t[2] if gargs else None,
        t[3], o[3], note,
    )  # fmt: skip


@dataclass(frozen=True)
class AutocastRow:
    """One torch loss under ``torch.autocast('cpu', dtype)``.

    ``targets`` is the dtype of the floating inputs other than the predictions (``'float32'``,
    or the half dtype); ``*_dtype`` what F and ours return (None where it raises: ``error``);
    ``*_error`` the relative distance of each value from F in float64 on the same inputs.
    """

    loss: str
    dtype: str
    targets: str
    theirs_dtype: str | None
    ours_dtype: str | None
    theirs_error: float | None
    ours_error: float | None
    error: str = ""


def _rel(a: Any, b: np.ndarray) -> float:
    a = a.detach().double().numpy()
    scale = max(float(np.max(np.abs(b), initial=0.0)), np.finfo(np.float64).tiny)
    return float(np.max(np.abs(a - b), initial=0.0)) / scale


def autocast_rows(dtypes: Sequence[str] = HALF) -> list[AutocastRow]:
    """Every torch counterpart under CPU autocast, with the predictions (the gradient arguments)
    in the half dtype as an autocast layer returns them and every other floating input float32,
    then with every floating input in the half dtype."""
    import torch

    rows = []
    for c in _torch_counterparts():
        for dt in dtypes:
            rounded = {k: round_to(v, dt) for k, v in c.inputs().items()}
            ref = c.theirs(**{k: torch.from_numpy(v) for k, v in rounded.items()})
            ref = ref.detach().numpy()
            for targets in ("float32", dt):
                ts = {
                    k: torch.from_numpy(v.astype(np.float32)).to(
                        getattr(torch, dt if k in c.grad_args else targets)
                    )
                    if v.dtype.kind == "f"
                    else torch.from_numpy(v)
                    for k, v in rounded.items()
                }
                got = {}
                for side, fn in (("theirs", c.theirs), ("ours", c.ours)):
                    try:
                        with torch.autocast("cpu", dtype=getattr(torch, dt)):
                            with warnings.catch_warnings():
                                warnings.simplefilter("ignore")
                                got[side] = fn(**ts)
                    except Exception as exc:  # noqa: BLE001 - reported
                        got[side] = exc
                t, o = got["theirs"], got["ours"]
                fails = [x for x in (t, o) if isinstance(x, Exception)]
                rows.append(
                    AutocastRow(
                        c.loss, dt, targets,
                        None if isinstance(t, Exception) else _dtype_name(t.dtype),
                        None if isinstance(o, Exception) else _dtype_name(o.dtype),
                        None if isinstance(t, Exception) else _rel(t, ref),
                        None if isinstance(o, Exception) else _rel(o, ref),
                        _first_line(fails[0]) if fails else "",
                    )
                )  # fmt: skip
    return rows


def autocast_markdown(rows: Sequence[AutocastRow]) -> str:
    """The autocast rows as a Markdown table: dtypes F / ours, relative errors F / ours."""
    lines = [
        "| loss | autocast | other inputs | F returns | ours returns | F rel. error "
        "| ours rel. error |",
        "|---|---|---|---|---|--:|--:|",
    ]

    def e(x: float | None) -> str:
        return "-" if x is None else f"{x:.2g}"

    for r in rows:
        lines.append(
            f"| {r.loss} | {r.dtype} | {r.targets} | {r.theirs_dtype or 'raises'} "
            f"| {r.ours_dtype or 'raises'} | {e(r.theirs_error)} | {e(r.ours_error)} |"
            + (f" `{r.error[:60]}`" if r.error else "")
        )
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------
# Markdown
# ------------------------------------------------------------------------------------------

_TITLES = {
    "torch": "PyTorch (`torch.nn.functional`, the conformance registry's oracles)",
    "optax": "JAX (`optax.losses`)",
    "keras": "Keras (`keras.losses` functions)",
    "tensorflow": "TensorFlow (`tf.nn`)",
}


def _u(x: float | None) -> str:
    if x is None:
        return "-"
    if math.isinf(x):
        return "inf"
    return f"{x:.2f}"


def markdown(rows: Sequence[Row]) -> str:
    """The tables, one per framework, and a summary of the worst ulps."""
    lines = []
    for fw in FRAMEWORKS:
        mine = [r for r in rows if r.framework == fw]
        if not mine:
            continue
        lines += [
            f"### {_TITLES[fw]}",
            "",
            "| loss | theirs | dtype | ours: dtype | value ulp | grad ulp "
            "| theirs: dtype | value ulp | grad ulp | note |",
            "|---|---|---|---|--:|--:|---|--:|--:|---|",
        ]
        for r in mine:
            native = f"`{r.native}`" + (f" ({r.call})" if r.call else "")
            if r.theirs_error:
                theirs = f"not implemented: `{r.theirs_error[:70]}` | - | -"
            else:
                theirs = f"{r.theirs_dtype} | {_u(r.theirs_value)} | {_u(r.theirs_grad)}"
            ours = (
                f"raises: `{r.ours_error[:70]}` | - | -"
                if r.ours_error
                else f"{r.ours_dtype} | {_u(r.ours_value)} | {_u(r.ours_grad)}"
            )
            lines.append(f"| {r.loss} | {native} | {r.dtype} | {ours} | {theirs} | {r.note} |")
        lines.append("")
    lines += ["### Worst ulps per table", "", summary(rows), ""]
    return "\n".join(lines)


def _worst(vals: Iterable[float | None]) -> float | None:
    vals = [v for v in vals if v is not None]
    return max(vals) if vals else None


def summary(rows: Sequence[Row]) -> str:
    """Per framework and dtype: the worst value and gradient ulps, ours and theirs."""
    lines = [
        "| framework | dtype | rows | ours: worst value ulp | worst grad ulp "
        "| theirs: worst value ulp | worst grad ulp | theirs not implemented |",
        "|---|---|--:|--:|--:|--:|--:|--:|",
    ]
    for fw in FRAMEWORKS:
        for dt in HALF:
            sel = [r for r in rows if r.framework == fw and r.dtype == dt]
            if not sel:
                continue
            lines.append(
                f"| {fw} | {dt} | {len(sel)} | {_u(_worst(r.ours_value for r in sel))} "
                f"| {_u(_worst(r.ours_grad for r in sel))} "
                f"| {_u(_worst(r.theirs_value for r in sel))} "
                f"| {_u(_worst(r.theirs_grad for r in sel))} "
                f"| {sum(bool(r.theirs_error) for r in sel)} |"
            )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure the tables and print them (``--markdown FILE`` also writes them)."""
    p = argparse.ArgumentParser(prog="python -m lossbridge.conformance.precision_table")
    p.add_argument("--markdown", metavar="FILE", help="write the tables as Markdown")
    p.add_argument("--framework", action="append", choices=FRAMEWORKS, help="(repeatable)")
    p.add_argument("--dtype", action="append", choices=HALF, help="(repeatable)")
    p.add_argument(
        "--autocast", action="store_true", help="also the torch CPU autocast dtype table"
    )
    args = p.parse_args(argv)
    from lossbridge.conformance.__main__ import set_up_frameworks

    set_up_frameworks(None)
    rows = [
        measure(c, dt)
        for c in counterparts(args.framework or FRAMEWORKS)
        for dt in (args.dtype or HALF)
    ]
    text = markdown(rows)
    if args.autocast:
        text += "\n### torch CPU autocast\n\n" + autocast_markdown(
            autocast_rows(args.dtype or HALF)
        )
    if args.markdown:
        with open(args.markdown, "w", encoding="utf-8") as f:
            f.write(text + "\n")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
