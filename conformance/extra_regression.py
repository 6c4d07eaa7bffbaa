"""Conformance entries for the regression losses beyond the frameworks.

``rmse_loss``, ``log_cosh_loss``, ``quantile_loss``, ``mape_loss`` and ``msle_loss``: none is in
``torch.nn.functional``. Their references are the float64 NumPy formulas below, written from the
definitions (not from lossbridge's code); their oracles are Keras's (``log_cosh``,
``mean_absolute_percentage_error``, ``mean_squared_logarithmic_error``,
``metrics.RootMeanSquaredError``) and optax's ``log_cosh``. Keras's losses average over the last
axis; its oracles here call them on arrays given a trailing axis of size 1, which makes that
mean the identity and returns the elementwise loss, then reduce as the case says. The pinball
loss has no installed implementation (TensorFlow Addons is gone): its reference is its formula.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Mapping

import numpy as np

from lossbridge.conformance.cases import (
    AOT,
    ELEMENTWISE,
    Entry,
    Oracle,
    arrays,
    base,
    const,
    entry,
    fixed,
    normal,
    optax_unavailable,
    pair,
    tied_pair,
)
from lossbridge.conformance.references import reduce
from lossbridge.regression import (
    log_cosh_loss,
    mape_loss,
    msle_loss,
    quantile_loss,
    rmse_loss,
)

# ------------------------------------------------------------------------------------------
# Float64 NumPy references, from the definitions
# ------------------------------------------------------------------------------------------


def ref_rmse_loss(input, target, axis=None, eps=0.0, reduction="mean"):
    """sqrt(mean((x - y)^2) + eps), over every element or per slice along ``axis``."""
    sq = (np.asarray(input) - np.asarray(target)) ** 2
    if axis is None:
        return np.sqrt(np.mean(sq) + eps)
    return reduce(np.sqrt(np.mean(sq, axis=axis) + eps), reduction)


def ref_log_cosh_loss(input, target, reduction="mean"):
    """log cosh d = log(1 + (cosh a - 1)), cosh a - 1 = expm1(a)^2 / (2 e^a), a = |d|."""
    a = np.abs(np.asarray(input) - np.asarray(target))
    with np.errstate(over="ignore", invalid="ignore"):
        moderate = np.log1p(np.expm1(a) ** 2 / (2.0 * np.exp(a)))
    # beyond a = 300: log cosh a = a - log 2 + log(1 + e^{-2a}), the last term below 1e-260
    loss = np.where(a < 300.0, moderate, a - math.log(2.0))
    return reduce(loss, reduction)


def ref_quantile_loss(input, target, quantile=0.5, reduction="mean"):
    """max(q d, (q - 1) d), d = y - x; Q quantiles: y gets a trailing axis if it lacks one."""
    x, y = np.asarray(input), np.asarray(target)
    q = np.asarray(quantile, dtype=np.float64)
    if q.ndim == 1 and y.shape == x.shape[:-1]:
        y = y[..., None]
    d = y - x
    return reduce(np.maximum(q * d, (q - 1.0) * d), reduction)


def ref_mape_loss(input, target, eps=1e-7, reduction="mean"):
    """100 |y - x| / max(|y|, eps)."""
    x, y = np.asarray(input), np.asarray(target)
    return reduce(100.0 * np.abs(y - x) / np.maximum(np.abs(y), eps), reduction)


def ref_msle_loss(input, target, eps=None, reduction="mean"):
    """(log(1 + x) - log(1 + y))^2, both clipped below at ``eps`` first when it is given."""
    x, y = np.asarray(input), np.asarray(target)
    if eps is not None:
        x, y = np.maximum(x, eps), np.maximum(y, eps)
    return reduce((np.log1p(x) - np.log1p(y)) ** 2, reduction)


# ------------------------------------------------------------------------------------------
# Oracles: Keras (elementwise through a trailing axis of size 1) and optax
# ------------------------------------------------------------------------------------------


def _keras_unavailable(dtype: str) -> str | None:
    if importlib.util.find_spec("keras") is None:
        return "keras is not installed"
    return None


def _keras_log_cosh_unavailable(dtype: str) -> str | None:
    if dtype == "float64":
        return (
            "keras 3.15's log_cosh computes log 2 as ops.log(2.0) in float32 and casts it: "
            "float64 results are off by 1e-9 relative"
        )
    return _keras_unavailable(dtype)


def _cast_pair(inputs: Mapping[str, np.ndarray], dtype: str) -> tuple[np.ndarray, np.ndarray]:
    x, y = np.broadcast_arrays(inputs["input"].astype(dtype), inputs["target"].astype(dtype))
    return np.ascontiguousarray(x), np.ascontiguousarray(y)


def _keras_elementwise(name: str):
    def fn(inputs, kwargs, dtype):
        import keras

        x, y = _cast_pair(inputs, dtype)
        out = getattr(keras.losses, name)(y[..., None], x[..., None])  # (y_true, y_pred)
        return reduce(np.asarray(out, dtype=np.float64), kwargs.get("reduction", "mean"))

    return fn


def _keras_rmse(inputs, kwargs, dtype):
    """``keras.metrics.RootMeanSquaredError`` over the whole error, or per slice."""
    import keras

    x, y = _cast_pair(inputs, dtype)

    def one(pred: np.ndarray, true: np.ndarray) -> float:
        m = keras.metrics.RootMeanSquaredError(dtype=dtype)
        m.update_state(true.reshape(-1), pred.reshape(-1))
        # a 0-d bfloat16 tensor has no NumPy view: through float64 (exact)
        return float(keras.ops.convert_to_numpy(keras.ops.cast(m.result(), "float64")))

    axis = kwargs.get("axis")
    if axis is None:
        return np.asarray(one(x, y))
    axes = tuple(a % x.ndim for a in (axis if isinstance(axis, tuple) else (axis,)))
    keep = [a for a in range(x.ndim) if a not in axes]
    xs = np.transpose(x, keep + list(axes)).reshape(-1, math.prod(x.shape[a] for a in axes))
    ys = np.transpose(y, keep + list(axes)).reshape(xs.shape)
    per = np.array([one(a, b) for a, b in zip(xs, ys, strict=True)])
    return reduce(per.reshape([x.shape[a] for a in keep]), kwargs.get("reduction", "mean"))


def _optax_log_cosh(inputs, kwargs, dtype):
    import jax.numpy as jnp
    import optax

    x, y = _cast_pair(inputs, dtype)
    out = optax.losses.log_cosh(jnp.asarray(x), jnp.asarray(y))
    return reduce(np.asarray(out, dtype=np.float64), kwargs.get("reduction", "mean"))


KERAS_RMSE = Oracle("keras_rmse", "keras", _keras_rmse, _keras_unavailable)
KERAS_LOG_COSH = Oracle(
    "keras_log_cosh", "keras", _keras_elementwise("log_cosh"), _keras_log_cosh_unavailable
)
OPTAX_LOG_COSH = Oracle("optax_log_cosh", "optax", _optax_log_cosh, optax_unavailable)
KERAS_MAPE = Oracle(
    "keras_mape",
    "keras",
    _keras_elementwise("mean_absolute_percentage_error"),
    _keras_unavailable,
)
KERAS_MSLE = Oracle(
    "keras_msle",
    "keras",
    _keras_elementwise("mean_squared_logarithmic_error"),
    _keras_unavailable,
)

# ------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------


def _row_target(shape=(8, 5), scale=1.0):
    """Input ``shape``, target one row ``shape[-1:]`` broadcast over the leading axes."""
    return arrays(input=normal(shape, scale), target=normal(shape[-1:], scale))


def _zero_rows(r: np.random.Generator) -> dict[str, np.ndarray]:
    x = r.standard_normal((8, 5))
    y = r.standard_normal((8, 5))
    y[::3] = x[::3]  # rows 0, 3, 6: every error exactly 0, so that row's RMSE is 0
    return {"input": x, "target": y}


def _away_from_zero(shape):
    """Targets with |y| in [0.5, 2] and either sign (percentage errors of moderate size)."""
    return lambda r: r.choice([-1.0, 1.0], size=shape) * r.uniform(0.5, 2.0, shape)


def _positive(shape, hi=5.0):
    return lambda r: r.uniform(0.05, hi, shape)


_NO_EPS_IN_KERAS = "Keras's RootMeanSquaredError has no eps under the root"
_CLAMP = (
    "targets of exactly 0 and 1e-9: |y| < eps = 1e-7, and the central step (6e-6) crosses the "
    "denominator's floor max(|y|, eps) at |y| = eps"
)
_MAPE_TIE = (
    "y == x: |y - x| is a kink; its central difference in y also moves the denominator |y|, "
    "an O(h) = 6e-6 relative error against the (exact) subgradient 0"
)
_MSLE_CLIP = (
    "values of exactly 0 under Keras's clip max(x, 1e-7): the central step (6e-6) crosses the "
    "clip, a kink"
)
_KERAS_CLIPS = (
    "Keras clips both arrays at 1e-7 before the log; this case has values below it, where the "
    "exact log1p (the default) differs"
)

# ------------------------------------------------------------------------------------------
# Entries
# ------------------------------------------------------------------------------------------

_RMSE = entry(
    "rmse_loss",
    [
        base("basic", pair((8, 5)), reductions=("mean",), **AOT),
        base("rows", pair((8, 5)), {"axis": -1}),
        base("zero_rows", _zero_rows, {"axis": 1}, reductions=("none", "mean")),
        base(
            "eps_4d",
            pair((2, 3, 4, 4)),
            {"axis": (2, 3), "eps": 1e-3},
            reductions=("none", "sum"),
            skip={"keras_rmse": _NO_EPS_IN_KERAS},
        ),
        base("broadcast", _row_target(), {"axis": 0}, reductions=("mean",)),
    ],
    fn=rmse_loss,
    reference=ref_rmse_loss,
    oracle=None,
    grad_args=("input", "target"),
    extra_oracles=(KERAS_RMSE,),
)

_LOG_COSH = entry(
    "log_cosh_loss",
    [
        base("basic", pair((8, 5), scale=1.5), **AOT),
        base(
            "large_and_tiny",
            fixed(
                input=[1e4, -1e4, 30.0, -30.0, 1e-4, -1e-4, 0.0, 1.0, -1.0, 0.999, 400.0],
                target=[0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 2.5, -0.5],
            ),
            reductions=ELEMENTWISE,
        ),
        base("broadcast", _row_target(scale=2.0), reductions=("sum",)),
        base("3d", pair((2, 3, 4), scale=3.0), reductions=("mean",)),
    ],
    fn=log_cosh_loss,
    reference=ref_log_cosh_loss,
    oracle=None,
    grad_args=("input", "target"),
    extra_oracles=(OPTAX_LOG_COSH, KERAS_LOG_COSH),
)


def _quantiles(shape=(8, 3), trailing=False):
    """Input ``shape`` (one prediction per quantile on the last axis) and one target per row."""
    tshape = (*shape[:-1], 1) if trailing else shape[:-1]
    return arrays(input=normal(shape), target=normal(tshape))


def _quantile_ties(r: np.random.Generator) -> dict[str, np.ndarray]:
    x = np.round(2.0 * r.standard_normal((8, 3))) / 2.0
    y = x[:, 1].copy()  # the median prediction equals the target: ties (d == 0) in column 1
    y[::2] = x[::2, 0]  # and in column 0 on even rows
    return {"input": x, "target": y}


_QUANTILE = entry(
    "quantile_loss",
    [
        base("basic", pair((8, 5)), {"quantile": 0.3}),
        base("ties", tied_pair, {"quantile": 0.8}, reductions=("mean",)),
        base("vector", _quantiles(), {"quantile": [0.1, 0.5, 0.9]}, **AOT),
        base(
            "vector_trailing_ties",
            _quantile_ties,
            {"quantile": (0.25, 0.5, 0.95)},
            reductions=("none",),
        ),
        base(
            "vector_array_4d",
            _quantiles((2, 3, 4, 2), trailing=True),
            {"quantile": np.array([0.05, 0.7])},
            reductions=("sum",),
        ),
    ],
    fn=quantile_loss,
    reference=ref_quantile_loss,
    oracle=None,
    grad_args=("input", "target"),
)


def _mape_ties(r: np.random.Generator) -> dict[str, np.ndarray]:
    y = _away_from_zero((8, 5))(r)
    x = y + np.where(np.arange(5) % 2 == 1, 0.0, 0.3)  # columns 1 and 3: x == y exactly
    return {"input": x, "target": y}


_MAPE = entry(
    "mape_loss",
    [
        base("basic", arrays(input=normal((8, 5)), target=_away_from_zero((8, 5))), **AOT),
        base(
            "zero_targets",
            fixed(
                input=[0.5, -1.0, 2.0, 1e-9, 0.0, 3.0, -0.25],
                target=[0.0, 0.0, 1e-9, 0.0, 0.0, 1.5, -1e-9, 2.0, -0.5],
            ),
            reductions=ELEMENTWISE,
            skip={"grad_fd": _CLAMP},
        ),
        base(
            "ties",
            _mape_ties,
            reductions=("mean",),
            skip={"grad_fd": _MAPE_TIE},
        ),
        base(
            "broadcast_eps",
            arrays(input=normal((8, 5)), target=const([0.1, -0.3, 0.0, 1.5, -2.0])),
            {"eps": 0.5},
            reductions=("sum",),
            skip={"keras_mape": "Keras's epsilon is fixed at 1e-7; this case has eps = 0.5"},
        ),
    ],
    fn=mape_loss,
    reference=ref_mape_loss,
    oracle=None,
    grad_args=("input", "target"),
    extra_oracles=(KERAS_MAPE,),
)

_MSLE = entry(
    "msle_loss",
    [
        base("basic", arrays(input=_positive((8, 5)), target=_positive((8, 5))), **AOT),
        base(
            "near_minus_one_large",
            # -0.95, not closer to -1: the central difference's truncation error grows like
            # (h / (1 + x))^2, 1.3e-5 relative at x = -0.999 (the unit tests take x = -0.999)
            fixed(
                input=[-0.95, -0.5, 0.0, 1e4, 3.0, -0.9, 2.5],
                target=[0.0, 1e4, -0.9, 0.5, 7.0, -0.25, 1.0, 0.0, 1e3],
            ),
            reductions=ELEMENTWISE,
            skip={"keras_msle": _KERAS_CLIPS},
        ),
        base(
            "keras_clip",
            fixed(
                input=[0.0, -0.5, 2.0, -3.0, 0.25, 4.0, 1e-9],
                target=[1.0, 0.0, -2.0, 0.5, 0.0, 3.0, 2.0, -1.0, 6.0],
            ),
            {"eps": 1e-7},
            reductions=("mean",),
            skip={"grad_fd": _MSLE_CLIP},
        ),
        base(
            "broadcast",
            arrays(input=_positive((8, 5), 20.0), target=_positive((5,), 20.0)),
            reductions=("sum",),
        ),
    ],
    fn=msle_loss,
    reference=ref_msle_loss,
    oracle=None,
    grad_args=("input", "target"),
    extra_oracles=(KERAS_MSLE,),
)

#: This family's registry entries.
ENTRIES: tuple[Entry, ...] = (_RMSE, _LOG_COSH, _QUANTILE, _MAPE, _MSLE)
