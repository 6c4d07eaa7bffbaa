"""Conformance entries for the regularization losses beyond the frameworks.

``l1_regularization``, ``l2_regularization`` and ``elastic_net_regularization`` take a list of
parameter arrays; the registry calls ``fn(**arrays, **kwargs)``, so each entry's function is a
wrapper here taking three arrays ``p0``, ``p1``, ``p2`` of different shapes and passing them as
a list. They have no ``reduction``, so their cases are :class:`Case` objects built directly.
Oracles: Keras's ``regularizers.L1``, ``L2`` and ``L1L2`` (summed over the arrays) and, for the
L2 penalty, ``tf.nn.l2_loss`` (which halves the sum of squares: times ``2 * scale``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

import numpy as np

from lossbridge.conformance.cases import Case, Entry, Oracle, case_seed
from lossbridge.regularization import (
    elastic_net_regularization,
    l1_regularization,
    l2_regularization,
)

# ------------------------------------------------------------------------------------------
# The registry's calling convention: three named arrays, passed on as a list
# ------------------------------------------------------------------------------------------


def l1_regularization_of_three(p0: Any, p1: Any, p2: Any, **kwargs: Any) -> Any:
    """``l1_regularization([p0, p1, p2], **kwargs)``."""
    return l1_regularization([p0, p1, p2], **kwargs)


def l2_regularization_of_three(p0: Any, p1: Any, p2: Any, **kwargs: Any) -> Any:
    """``l2_regularization([p0, p1, p2], **kwargs)``."""
    return l2_regularization([p0, p1, p2], **kwargs)


def elastic_net_regularization_of_three(p0: Any, p1: Any, p2: Any, **kwargs: Any) -> Any:
    """``elastic_net_regularization([p0, p1, p2], **kwargs)``."""
    return elastic_net_regularization([p0, p1, p2], **kwargs)


# ------------------------------------------------------------------------------------------
# Float64 NumPy references (Keras's definitions: sums, no 1/2)
# ------------------------------------------------------------------------------------------


def ref_l1(p0, p1, p2, scale=0.01):
    """scale * sum_i sum |w_i|."""
    return scale * sum(float(np.sum(np.abs(w))) for w in (p0, p1, p2))


def ref_l2(p0, p1, p2, scale=0.01):
    """scale * sum_i sum w_i^2."""
    return scale * sum(float(np.sum(np.asarray(w) ** 2)) for w in (p0, p1, p2))


def ref_elastic_net(p0, p1, p2, l1=0.01, l2=0.01):
    """l1 * sum |w| + l2 * sum w^2 over the three arrays."""
    ws = (p0, p1, p2)
    return l1 * sum(float(np.sum(np.abs(w))) for w in ws) + l2 * sum(
        float(np.sum(np.asarray(w) ** 2)) for w in ws
    )


# ------------------------------------------------------------------------------------------
# Oracles
# ------------------------------------------------------------------------------------------


def _keras_unavailable(dtype: str) -> str | None:
    if importlib.util.find_spec("keras") is None:
        return "keras is not installed"
    return None


def _tf_unavailable(dtype: str) -> str | None:
    if importlib.util.find_spec("tensorflow") is None:
        return "tensorflow is not installed"
    return None


def _params(inputs: Mapping[str, np.ndarray], dtype: str) -> list[np.ndarray]:
    return [inputs[k].astype(dtype) for k in ("p0", "p1", "p2")]


def _keras_regularizer(kind: str):
    """Keras's regulariser ``kind`` with the case's coefficients, summed over the arrays.

    Keras 3.15 casts a coefficient to the array's dtype through float32 (``ops.cast(self.l1,
    x.dtype)`` converts the Python float at floatx first): a float64 penalty with ``l1=0.01``
    is off by 2.2e-8 relative. In float64 the oracle therefore calls Keras with coefficients
    1.0 (exact in float32) and multiplies by the case's coefficient in float64; in float32 it
    calls Keras with the case's coefficients as they are.
    """

    def fn(inputs, kwargs, dtype):
        import keras

        if kind == "L1L2":  # Keras's L1L2 defaults are 0.0: pass lossbridge's 0.01 explicitly
            coef = {"l1": kwargs.get("l1", 0.01), "l2": kwargs.get("l2", 0.01)}
        else:
            coef = {kind.lower(): kwargs.get("scale", 0.01)}
        if dtype == "float32":
            parts = [(coef, 1.0)]
        else:
            parts = [({k: 1.0 if k == n else 0.0 for k in coef}, coef[n]) for n in coef]
        total = 0.0
        for keras_coef, factor in parts:
            reg = getattr(keras.regularizers, kind)(**keras_coef)
            for w in _params(inputs, dtype):
                out = reg(keras.ops.convert_to_tensor(w))
                # a 0-d bfloat16 tensor has no NumPy view: through float64 (exact)
                total += factor * float(keras.ops.convert_to_numpy(keras.ops.cast(out, "float64")))
        return np.asarray(total)

    return fn


def _tf_l2_loss(inputs, kwargs, dtype):
    """``2 * scale * sum_i tf.nn.l2_loss(w_i)``: tf.nn.l2_loss is sum(w^2) / 2."""
    import tensorflow as tf

    total = sum(float(tf.nn.l2_loss(tf.constant(w)).numpy()) for w in _params(inputs, dtype))
    return np.asarray(2.0 * kwargs.get("scale", 0.01) * total)


KERAS_L1 = Oracle("keras_l1", "keras", _keras_regularizer("L1"), _keras_unavailable)
KERAS_L2 = Oracle("keras_l2", "keras", _keras_regularizer("L2"), _keras_unavailable)
KERAS_L1L2 = Oracle("keras_l1l2", "keras", _keras_regularizer("L1L2"), _keras_unavailable)
TF_L2_LOSS = Oracle("tf_l2_loss", "tf", _tf_l2_loss, _tf_unavailable)

# ------------------------------------------------------------------------------------------
# Cases: three arrays of different shapes
# ------------------------------------------------------------------------------------------


def _three(shapes=((8, 5), (5,), (2, 3, 4)), scale=1.0, zeros=False):
    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        out = {f"p{i}": scale * r.standard_normal(s) for i, s in enumerate(shapes)}
        if zeros:  # exact zeros: |w| at its kink, gradient 0 (sign(0) = 0) on every backend
            out["p0"][::2] = 0.0
            out["p1"][1] = 0.0
        return out

    return make


def _cases(loss: str, extra_kwargs: Mapping[str, Any]) -> tuple[Case, ...]:
    """basic (compiled, placement), zeros and an empty array, large values with ``extra``."""
    bases = [
        ("basic", _three(), {}, {"compile": True, "placement": True}),
        # p2 has no element: it adds 0. The central difference of |w| at w = 0 is 0, the
        # gradient every backend returns, so the finite-difference check runs here.
        ("zeros_empty", _three(((8, 5), (5,), (0, 4)), zeros=True), {}, {}),
        ("large_scaled", _three(scale=1e3), dict(extra_kwargs), {}),
    ]
    return tuple(
        Case(label=label, make=make, kwargs=kwargs, seed=case_seed(loss, label), **flags)
        for label, make, kwargs, flags in bases
    )


_GRAD = ("p0", "p1", "p2")

_L1 = Entry(
    name="l1_regularization",
    fn=l1_regularization_of_three,
    reference=ref_l1,
    cases=_cases("l1_regularization", {"scale": 1.5}),
    oracle=None,
    grad_args=_GRAD,
    extra_oracles=(KERAS_L1,),
)

_L2 = Entry(
    name="l2_regularization",
    fn=l2_regularization_of_three,
    reference=ref_l2,
    cases=_cases("l2_regularization", {"scale": 0.25}),
    oracle=None,
    grad_args=_GRAD,
    extra_oracles=(KERAS_L2, TF_L2_LOSS),
)

_ELASTIC = Entry(
    name="elastic_net_regularization",
    fn=elastic_net_regularization_of_three,
    reference=ref_elastic_net,
    cases=_cases("elastic_net_regularization", {"l1": 0.3, "l2": 0.05}),
    oracle=None,
    grad_args=_GRAD,
    extra_oracles=(KERAS_L1L2,),
)

#: This family's registry entries.
ENTRIES: tuple[Entry, ...] = (_L1, _L2, _ELASTIC)
