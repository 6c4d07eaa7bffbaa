"""Conformance entries for probabilistic forecasting (CRPS) and GLM deviances.

``crps_ensemble_loss``, ``crps_normal_loss`` and ``crps_logistic_loss`` (lossbridge.forecasting)
have scoringrules 0.10 as oracle (``crps_ensemble``, ``crps_normal``, ``crps_logistic``, its
NumPy backend; its torch backend for bfloat16, which NumPy lacks). ``tweedie_deviance_loss``,
``poisson_deviance_loss`` and ``gamma_deviance_loss`` (lossbridge.glm) have scikit-learn 1.9's
``mean_tweedie_deviance``, ``mean_poisson_deviance`` and ``mean_gamma_deviance``: they return the
mean (weighted by ``sample_weight``), so the oracle's ``'mean'`` is theirs, its ``'sum'`` their
mean times the count (or the weight sum), and its ``'none'`` their value on each element alone
(a one-element mean is that element's deviance).

The references are float64 NumPy formulas written from the definitions, not from lossbridge's
code: the ensemble CRPS from its energy form (Gneiting and Raftery 2007), which ``'qd'`` equals
and ``'pwm'`` equals in its fair version (Zamo and Naveau 2018), so the two sorted estimators are
checked against a formula that does not sort; the closed forms with ``math.erf`` and NumPy's
``logaddexp``; the deviances from the unit deviances of Jørgensen (1997).
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Mapping
from typing import Any

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
    weights,
)
from lossbridge.conformance.drivers import get_driver
from lossbridge.conformance.references import reduce
from lossbridge.forecasting import crps_ensemble_loss, crps_logistic_loss, crps_normal_loss
from lossbridge.glm import gamma_deviance_loss, poisson_deviance_loss, tweedie_deviance_loss

# ------------------------------------------------------------------------------------------
# Float64 NumPy references, from the definitions
# ------------------------------------------------------------------------------------------


def ref_crps_ensemble_loss(input, target, member_axis=-1, estimator="qd", reduction="mean"):
    """E|X - y| - E|X - X'| / 2 over the ensemble (M^2 pairs; fair: M (M - 1)); akr: a cycle."""
    x = np.moveaxis(np.asarray(input, dtype=np.float64), member_axis, -1)
    y = np.asarray(target, dtype=np.float64)[..., None]
    m = x.shape[-1]
    e1 = np.mean(np.abs(x - y), axis=-1)
    if estimator in ("akr", "akr_circperm"):
        shift = 1 if estimator == "akr" else m // 2
        return reduce(
            e1 - 0.5 * np.mean(np.abs(x - np.roll(x, shift, axis=-1)), axis=-1), reduction
        )
    pairs = np.sum(np.abs(x[..., :, None] - x[..., None, :]), axis=(-2, -1))
    n = m * m if estimator in ("qd", "nrg") else m * (m - 1)
    return reduce(e1 - 0.5 * pairs / n, reduction)


_erf = np.vectorize(math.erf, otypes=[np.float64])


def ref_crps_normal_loss(input, target, scale, reduction="mean"):
    """sigma (w erf(w / sqrt 2) + 2 phi(w) - 1 / sqrt(pi)), w = (y - mu) / sigma."""
    mu, y, s = (np.asarray(a, dtype=np.float64) for a in (input, target, scale))
    w = (y - mu) / s
    phi = np.exp(-0.5 * w * w) / math.sqrt(2.0 * math.pi)
    return reduce(
        s * (w * _erf(w / math.sqrt(2.0)) + 2.0 * phi - 1.0 / math.sqrt(math.pi)), reduction
    )


def ref_crps_logistic_loss(input, target, scale, reduction="mean"):
    """sigma (w - 2 log sigmoid(w) - 1), -log sigmoid(w) = log(1 + e^{-w})."""
    mu, y, s = (np.asarray(a, dtype=np.float64) for a in (input, target, scale))
    w = (y - mu) / s
    return reduce(s * (w + 2.0 * np.logaddexp(0.0, -w) - 1.0), reduction)


def _unit_deviance(mu, y, p):
    """Jørgensen's unit deviance d_p(y, mu) of the Tweedie family (y log y = 0 at y = 0)."""
    if p == 0:
        return (y - mu) ** 2
    if p == 1:
        ylogy = np.where(y > 0, y * np.log(np.where(y > 0, y, 1.0) / mu), 0.0)
        return 2.0 * (ylogy - y + mu)
    if p == 2:
        return 2.0 * (np.log(mu / y) + y / mu - 1.0)
    yp = np.maximum(y, 0.0)
    return 2.0 * (
        yp ** (2 - p) / ((1 - p) * (2 - p)) - y * mu ** (1 - p) / (1 - p) + mu ** (2 - p) / (2 - p)
    )


def ref_tweedie_deviance_loss(input, target, power=0.0, weight=None, reduction="mean"):
    """The unit deviance, weighted; 'mean' = sum(w d) / sum(w)."""
    mu, y = np.broadcast_arrays(np.asarray(input, np.float64), np.asarray(target, np.float64))
    d = _unit_deviance(mu, y, power)
    if weight is None:
        return reduce(d, reduction)
    w = np.asarray(weight, np.float64)
    return reduce(w * d, reduction, denominator=w.sum())


def ref_poisson_deviance_loss(input, target, weight=None, reduction="mean"):
    return ref_tweedie_deviance_loss(input, target, 1, weight, reduction)


def ref_gamma_deviance_loss(input, target, weight=None, reduction="mean"):
    return ref_tweedie_deviance_loss(input, target, 2, weight, reduction)


# ------------------------------------------------------------------------------------------
# Oracles: scoringrules and scikit-learn
# ------------------------------------------------------------------------------------------


def _sr_unavailable(dtype: str) -> str | None:
    if importlib.util.find_spec("scoringrules") is None:
        return "scoringrules is not installed"
    if dtype == "bfloat16" and importlib.util.find_spec("torch") is None:
        return "NumPy has no bfloat16 and torch (scoringrules' bfloat16 backend) is not installed"
    return None


def _sr_arrays(arrays: list[np.ndarray], dtype: str) -> tuple[list[Any], str]:
    """The arrays on scoringrules' NumPy backend in ``dtype``, or torch's for bfloat16."""
    if dtype == "bfloat16":
        torch_ = get_driver("torch")  # bfloat16 reaches torch through float32 (exact)
        return [torch_.from_numpy(a, dtype) for a in arrays], "torch"
    return [np.asarray(a).astype(dtype) for a in arrays], "numpy"


def _f64(out: Any) -> np.ndarray:
    if type(out).__module__.startswith("torch"):
        return out.detach().float().double().numpy()
    return np.asarray(out, dtype=np.float64)


def _sr_crps_ensemble(inputs, kwargs, dtype):
    import scoringrules as sr

    (x, y), backend = _sr_arrays([inputs["input"], inputs["target"]], dtype)
    out = sr.crps_ensemble(
        y,
        x,
        m_axis=kwargs.get("member_axis", -1),
        estimator=kwargs.get("estimator", "qd"),
        backend=backend,
    )
    return reduce(_f64(out), kwargs.get("reduction", "mean"))


def _sr_closed(name: str):
    def fn(inputs, kwargs, dtype):
        import scoringrules as sr

        scale = inputs["scale"] if "scale" in inputs else np.asarray(kwargs["scale"])
        x, y, s = np.broadcast_arrays(inputs["input"], inputs["target"], scale)
        (x, y, s), backend = _sr_arrays([np.ascontiguousarray(a) for a in (x, y, s)], dtype)
        out = getattr(sr, name)(y, x, s, backend=backend)  # (obs, mu, sigma)
        return reduce(_f64(out), kwargs.get("reduction", "mean"))

    return fn


SR_CRPS_ENSEMBLE = Oracle("sr_crps_ensemble", "scoringrules", _sr_crps_ensemble, _sr_unavailable)
SR_CRPS_NORMAL = Oracle(
    "sr_crps_normal", "scoringrules", _sr_closed("crps_normal"), _sr_unavailable
)
SR_CRPS_LOGISTIC = Oracle(
    "sr_crps_logistic", "scoringrules", _sr_closed("crps_logistic"), _sr_unavailable
)


def _sklearn_unavailable(dtype: str) -> str | None:
    if importlib.util.find_spec("sklearn") is None:
        return "scikit-learn is not installed"
    if dtype == "bfloat16":
        return (
            "NumPy has no bfloat16, and scikit-learn's array-API dispatch (torch bfloat16) needs "
            "SCIPY_ARRAY_API=1 before scipy is imported, a switch of the whole process"
        )
    return None


def _sklearn(power: float | None):
    """scikit-learn's ``mean_tweedie_deviance`` (``power=None``: the case's ``power``)."""

    def fn(inputs: Mapping[str, np.ndarray], kwargs: Mapping[str, Any], dtype: str):
        from sklearn.metrics import mean_tweedie_deviance

        p = kwargs.get("power", 0.0) if power is None else power
        mu, y = np.broadcast_arrays(inputs["input"], inputs["target"])
        mu, y = mu.astype(dtype).reshape(-1), y.astype(dtype).reshape(-1)
        w = inputs.get("weight")
        w = None if w is None else w.astype(dtype).reshape(-1)
        reduction = kwargs.get("reduction", "mean")
        if reduction == "none":
            one = [
                mean_tweedie_deviance(y[i : i + 1], mu[i : i + 1], power=p) for i in range(y.size)
            ]
            out = np.asarray(one) * (1.0 if w is None else w.astype(np.float64))
            return out.reshape(np.broadcast_shapes(inputs["input"].shape, inputs["target"].shape))
        mean = mean_tweedie_deviance(y, mu, sample_weight=w, power=p)
        if reduction == "mean":
            return np.asarray(mean, dtype=np.float64)
        total = y.size if w is None else float(np.sum(w.astype(np.float64)))
        return np.asarray(mean * total, dtype=np.float64)

    return fn


SKLEARN_TWEEDIE = Oracle("sklearn_tweedie", "scikit-learn", _sklearn(None), _sklearn_unavailable)
SKLEARN_POISSON = Oracle("sklearn_poisson", "scikit-learn", _sklearn(1.0), _sklearn_unavailable)
SKLEARN_GAMMA = Oracle("sklearn_gamma", "scikit-learn", _sklearn(2.0), _sklearn_unavailable)

# ------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------


def _ensemble(shape=(8, 6), axis=-1, scale=1.0):
    """Ensembles of ``shape`` (members on ``axis``) and observations near them."""

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        x = scale * r.standard_normal(shape)
        lead = tuple(d for i, d in enumerate(shape) if i != axis % len(shape))
        return {"input": x, "target": scale * 1.2 * r.standard_normal(lead)}

    return make


def _ensemble_ties(r: np.random.Generator) -> dict[str, np.ndarray]:
    x = np.round(2.0 * r.standard_normal((8, 6))) / 2.0  # members on a 0.5 grid: equal pairs
    y = x[:, 2].copy()  # every observation equals one member: a kink of |x - y|
    return {"input": x, "target": y}


def _scales(shape):
    return lambda r: r.uniform(0.2, 2.0, shape)


def _location_scale(shape=(8, 5), scale_shape=None):
    return arrays(
        input=normal(shape),
        target=normal(shape, 2.0),
        scale=_scales(shape if scale_shape is None else scale_shape),
    )


# Standardised errors w = (y - mu) / sigma across every interval of Cody's erf (|w| / sqrt 2 in
# [0, 0.47], (0.47, 4] and beyond 4) and 0, with scales from 0.05 to 3.
_NORMAL_TAILS = fixed(
    input=[0.0, 1.0, -2.0, 0.5, 0.0, 3.0, -1.0, 0.25, 10.0],
    target=[0.1, 1.2, -0.5, -4.0, 12.0, 3.0, 7.0, -0.3, 11.0, 0.0, -9.0],
    scale=[1.0, 0.3, 2.0, 0.5, 1.5, 0.05, 3.0],
)

# |w| up to 800: scoringrules' log(1 / (1 + exp(-w))) overflows below w = -709 (float64).
_LOGISTIC_FAR = fixed(
    input=[0.0, 0.0, 5.0, -3.0, 1.0, 0.0, 2.0],
    target=[800.0, -800.0, 5.0, 40.0, -60.0, 1e-3, 2.5, -1.0, 0.0],
    scale=[1.0, 2.0, 0.5, 1.5, 0.25],
)


def _means(lo=0.2, hi=4.0, shape=(8, 5)):
    return lambda r: r.uniform(lo, hi, shape)


def _counts(shape=(8, 5), lam=2.0):
    return lambda r: r.poisson(lam, shape).astype(np.float64)


def _positive(shape=(8, 5)):
    return lambda r: r.gamma(2.0, 1.0, shape) + 0.05


_COUNT_ZEROS = (
    "counts of 0: the deviance's derivative in the target, log(y / mu) or y^(1 - p), is "
    "-inf there (the target is data)"
)

# ------------------------------------------------------------------------------------------
# Entries
# ------------------------------------------------------------------------------------------

_CRPS_ENSEMBLE = entry(
    "crps_ensemble_loss",
    [
        base("basic", _ensemble(), **AOT),
        base("pwm", _ensemble(), {"estimator": "pwm"}),
        base("nrg_3d", _ensemble((2, 4, 5)), {"estimator": "nrg"}, reductions=("mean",)),
        base("fair_axis0", _ensemble((5, 8), axis=0), {"estimator": "fair", "member_axis": 0}),
        base(
            "qd_axis1",
            _ensemble((4, 7, 3), axis=1, scale=3.0),
            {"member_axis": 1},
            reductions=("sum",),
        ),
        base("akr", _ensemble(), {"estimator": "akr"}, reductions=("mean",)),
        base("akr_circperm", _ensemble((8, 7)), {"estimator": "akr_circperm"}),
        base(
            "two_members",
            _ensemble((8, 2)),
            {"estimator": "pwm"},
            reductions=("none",),
        ),
        base(
            "nrg_ties",
            _ensemble_ties,
            {"estimator": "nrg"},
            reductions=("mean",),
            skip={"grad_fd": "members equal to each other and to the observation: kinks of |d|"},
        ),
    ],
    fn=crps_ensemble_loss,
    reference=ref_crps_ensemble_loss,
    oracle=None,
    grad_args=("input", "target"),
    extra_oracles=(SR_CRPS_ENSEMBLE,),
)

_CRPS_NORMAL = entry(
    "crps_normal_loss",
    [
        base("basic", _location_scale(), **AOT),
        base("tails", _NORMAL_TAILS, reductions=ELEMENTWISE),
        base("row_scale", _location_scale(scale_shape=(5,)), reductions=("sum",)),
        base(
            "float_scale",
            arrays(input=normal((8, 5)), target=normal((8, 5), 0.5)),
            {"scale": 0.7},
            reductions=("mean",),
        ),
    ],
    fn=crps_normal_loss,
    reference=ref_crps_normal_loss,
    oracle=None,
    grad_args=("input", "target", "scale"),
    extra_oracles=(SR_CRPS_NORMAL,),
)

_CRPS_LOGISTIC = entry(
    "crps_logistic_loss",
    [
        base("basic", _location_scale(), **AOT),
        base(
            "far",
            _LOGISTIC_FAR,
            reductions=ELEMENTWISE,
            skip={
                "sr_crps_logistic": (
                    "w = -800: scoringrules' log(1 / (1 + exp(-w))) overflows to -inf (the loss "
                    "to inf); the stable form gives 799 sigma"
                )
            },
        ),
        base("row_scale", _location_scale(scale_shape=(5,)), reductions=("sum", "mean")),
    ],
    fn=crps_logistic_loss,
    reference=ref_crps_logistic_loss,
    oracle=None,
    grad_args=("input", "target", "scale"),
    extra_oracles=(SR_CRPS_LOGISTIC,),
)

_TWEEDIE = entry(
    "tweedie_deviance_loss",
    [
        base("normal", arrays(input=normal((8, 5)), target=normal((8, 5))), {"power": 0.0}),
        base(
            "poisson",
            arrays(input=_means(), target=_counts()),
            {"power": 1.0},
            grad_args=("input",),
        ),
        base(
            "compound",
            arrays(input=_means(), target=_counts(), weight=weights((8, 5))),
            {"power": 1.5},
            grad_args=("input",),
            **AOT,
        ),
        base("gamma", arrays(input=_means(), target=_positive()), {"power": 2.0}),
        base(
            "inverse_gaussian",
            arrays(input=_means(0.5), target=_positive(), weight=weights((8, 5))),
            {"power": 3.0},
            reductions=("mean", "none"),
        ),
        base(
            "positive_stable",
            arrays(input=_means(0.5), target=_positive()),
            {"power": 2.5},
            reductions=("sum",),
        ),
        base(
            "extreme_stable",
            arrays(input=_means(0.5, 2.0), target=normal((8, 5))),
            {"power": -1.0},
            reductions=("mean",),
        ),
        base(
            "near_one",
            arrays(input=_means(), target=_counts(lam=3.0)),
            {"power": 1.2},
            grad_args=("input",),
            reductions=("none",),
        ),
    ],
    fn=tweedie_deviance_loss,
    reference=ref_tweedie_deviance_loss,
    oracle=None,
    grad_args=("input", "target"),
    extra_oracles=(SKLEARN_TWEEDIE,),
)

_POISSON = entry(
    "poisson_deviance_loss",
    [
        base("basic", arrays(input=_means(), target=_counts()), grad_args=("input",), **AOT),
        base(
            "weighted",
            arrays(input=_means(0.05, 8.0), target=_counts(lam=4.0), weight=weights((8, 5))),
            grad_args=("input",),
        ),
        base(
            "row_target",
            arrays(input=_means(), target=const([0.5, 1.0, 2.0, 4.0, 8.0])),
            reductions=("mean",),
        ),
    ],
    fn=poisson_deviance_loss,
    reference=ref_poisson_deviance_loss,
    oracle=None,
    grad_args=("input", "target"),
    extra_oracles=(SKLEARN_POISSON,),
)

_GAMMA = entry(
    "gamma_deviance_loss",
    [
        base("basic", arrays(input=_means(), target=_positive()), **AOT),
        base(
            "weighted",
            arrays(input=_means(0.1, 10.0), target=_positive(), weight=weights((8, 5))),
        ),
    ],
    fn=gamma_deviance_loss,
    reference=ref_gamma_deviance_loss,
    oracle=None,
    grad_args=("input", "target"),
    extra_oracles=(SKLEARN_GAMMA,),
)

#: This family's registry entries.
ENTRIES: tuple[Entry, ...] = (
    _CRPS_ENSEMBLE,
    _CRPS_NORMAL,
    _CRPS_LOGISTIC,
    _TWEEDIE,
    _POISSON,
    _GAMMA,
)
