"""Conformance entries for the angular losses beyond the frameworks.

``arcface_loss``, ``cosface_loss`` and ``magface_loss``. Their references below are float64
NumPy transcriptions, sample by sample, of InsightFace's ``arcface_torch`` ``ArcFace`` /
``CosFace`` (``recognition/arcface_torch/losses.py``) and of ``IrvingMeng/MagFace``
(``models/magface.py`` ``MagLinear`` and ``MagLoss``, ``run/trainer.py``'s
``loss_id + lambda_g * loss_g``). ArcFace and CosFace are also checked against
pytorch-metric-learning's ``ArcFaceLoss`` / ``CosFaceLoss`` (margin in degrees for ArcFace,
weight stored transposed, (D, C)).

Scale: most cases use ``scale=8`` (or 4): the logits are ``scale``
times the cosines, and at the papers' ``scale=64`` most softmax probabilities saturate at 0 or
1, which leaves the gradient checks little to see in the non-target classes. Each loss also has
a ``defaults`` case at ``scale=64``. There a cosine's float32 rounding error (a few 1e-8) is
multiplied by 64 in the logits, so the float32 bounds could in principle be approached (the
norm-wise gradient error is at most about ``scale * p (1 - p) * delta_cos``); measured on these
cases (all backends, float32): values 9.9e-8, gradients across backends 2.8e-7, against finite
differences 3.8e-7, against pytorch-metric-learning 8.6e-8, all within the standard bounds, so
no bound is loosened.
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np

from lossbridge.angular_margin import arcface_loss, cosface_loss, magface_loss
from lossbridge.conformance.cases import AOT, NAN_MEAN, Entry, Oracle, arrays, base, entry, normal
from lossbridge.conformance.drivers import get_driver
from lossbridge.conformance.references import reduce

__all__ = [
    "ENTRIES",
    "ref_arcface_loss",
    "ref_cosface_loss",
    "ref_magface_loss",
]

# ------------------------------------------------------------------------------------------
# Float64 NumPy references (InsightFace / MagFace, sample by sample)
# ------------------------------------------------------------------------------------------


def _unit(v: np.ndarray) -> np.ndarray:
    """``F.normalize`` of one vector: ``v / max(||v||, 1e-12)``."""
    return v / max(math.sqrt(float(np.dot(v, v))), 1e-12)


def _cos_row(input: np.ndarray, weight: np.ndarray | None, n: int) -> np.ndarray:
    """Cosines of sample ``n`` with every class, clamped to [-1, 1]."""
    if weight is None:
        row = np.array(input[n], dtype=np.float64)
    else:
        x = _unit(np.asarray(input[n], dtype=np.float64))
        row = np.array([np.dot(x, _unit(np.asarray(w, dtype=np.float64))) for w in weight])
    return np.clip(row, -1.0, 1.0)


def _ce(z: np.ndarray, y: int) -> float:
    """``-log softmax(z)[y]``."""
    top = float(np.max(z))
    return top + math.log(float(np.sum(np.exp(z - top)))) - float(z[y])


def _insightface_arc(c: float, m: float, easy_margin: bool) -> float:
    """InsightFace's target logit: cos(theta + m) with its easy/threshold fallback."""
    sin_theta = math.sqrt(max(1.0 - c * c, 0.0))
    cos_theta_m = c * math.cos(m) - sin_theta * math.sin(m)
    if easy_margin:
        return cos_theta_m if c > 0 else c
    th = math.cos(math.pi - m)
    mm = math.sin(math.pi - m) * m
    return cos_theta_m if c > th else c - mm


def ref_arcface_loss(
    input, target, weight=None, *, scale=64.0, margin=0.5, easy_margin=False, reduction="mean"
):
    """Float64 ArcFace: InsightFace's ``ArcFace`` logits, then the cross-entropy per sample."""
    out = []
    for n, y in enumerate(np.asarray(target)):
        z = _cos_row(input, weight, n)
        z[y] = _insightface_arc(float(z[y]), margin, easy_margin)
        out.append(_ce(scale * z, int(y)))
    return reduce(np.asarray(out, dtype=np.float64), reduction)


def ref_cosface_loss(input, target, weight=None, *, scale=64.0, margin=0.35, reduction="mean"):
    """Float64 CosFace: ``s (cos - m [j == y])``, then the cross-entropy per sample."""
    out = []
    for n, y in enumerate(np.asarray(target)):
        z = _cos_row(input, weight, n)
        z[y] -= margin
        out.append(_ce(scale * z, int(y)))
    return reduce(np.asarray(out, dtype=np.float64), reduction)


def ref_magface_loss(
    input,
    target,
    weight,
    *,
    scale=64.0,
    lower_magnitude=10.0,
    upper_magnitude=110.0,
    lower_margin=0.45,
    upper_margin=0.8,
    lambda_g=35.0,
    easy_margin=True,
    reduction="mean",
):
    """Float64 MagFace: ``MagLinear`` logits, ``MagLoss`` CE and g, ``CE + lambda_g g``."""
    l_a, u_a, l_m, u_m = lower_magnitude, upper_magnitude, lower_margin, upper_margin
    out = []
    for n, y in enumerate(np.asarray(target)):
        x = np.asarray(input[n], dtype=np.float64)
        a = min(max(math.sqrt(float(np.dot(x, x))), l_a), u_a)  # x_norm.clamp(l_a, u_a)
        m = (u_m - l_m) / (u_a - l_a) * (a - l_a) + l_m  # SoftmaxBuilder._margin
        z = _cos_row(input, weight, n)
        c = float(z[y])
        cos_theta_m = c * math.cos(m) - math.sqrt(1.0 - c * c) * math.sin(m)
        if easy_margin:
            z[y] = cos_theta_m if c > 0 else c
        else:
            z[y] = cos_theta_m if c > math.cos(math.pi - m) else c - math.sin(math.pi - m) * m
        g = 1.0 / (u_a**2) * a + 1.0 / a  # MagLoss.calc_loss_G, per sample
        out.append(_ce(scale * z, int(y)) + lambda_g * g)
    return reduce(np.asarray(out, dtype=np.float64), reduction)


# ------------------------------------------------------------------------------------------
# pytorch-metric-learning oracles (ArcFaceLoss, CosFaceLoss)
# ------------------------------------------------------------------------------------------


def _pml_unavailable(dtype: str) -> str | None:
    if importlib.util.find_spec("pytorch_metric_learning") is None:
        return "pytorch-metric-learning is not installed"
    return None


def _pml(cls_name: str, margin_kwarg):
    def fn(inputs, kwargs, dtype):
        import torch
        from pytorch_metric_learning import losses, reducers

        torch_ = get_driver("torch")  # bfloat16 reaches torch through float32 (exact)
        x = torch_.from_numpy(inputs["input"], dtype)
        w = inputs["weight"]
        n_classes, dim = w.shape
        reduction = kwargs.get("reduction", "mean")
        reducer = {
            "mean": reducers.MeanReducer(),
            "sum": reducers.SumReducer(),
            "none": reducers.DoNothingReducer(),
        }[reduction]
        loss = getattr(losses, cls_name)(
            num_classes=n_classes,
            embedding_size=dim,
            scale=kwargs.get("scale", 64.0),
            reducer=reducer,
            **margin_kwarg(kwargs),
        )
        with torch.no_grad():
            loss.W.data = torch_.from_numpy(w.T, dtype)  # PML stores W as (D, C)
            out = loss(x, torch_.from_numpy(inputs["target"]))
        if reduction == "none":
            out = out["loss"]["losses"]
        return torch_.to_numpy(out).astype(np.float64)

    return fn


#: ``ArcFaceLoss`` takes the margin in degrees (it converts with ``np.radians``).
PML_ARCFACE = Oracle(
    "pml_arcface_loss",
    "pml",
    _pml("ArcFaceLoss", lambda kw: {"margin": float(np.degrees(kw.get("margin", 0.5)))}),
    _pml_unavailable,
)
PML_COSFACE = Oracle(
    "pml_cosface_loss",
    "pml",
    _pml("CosFaceLoss", lambda kw: {"margin": kw.get("margin", 0.35)}),
    _pml_unavailable,
)

# ------------------------------------------------------------------------------------------
# Inputs: 8 samples, D = 5, C = 4
# ------------------------------------------------------------------------------------------

_N, _D, _C = 8, 5, 4


def _labels(r: np.random.Generator) -> np.ndarray:
    return r.permutation(np.arange(_N) % _C)  # every class present


def _embeddings(scale: float = 1.0):
    return arrays(input=normal((_N, _D), scale), target=_labels, weight=normal((_C, _D)))


def _cosine_logits(r: np.random.Generator) -> dict[str, np.ndarray]:
    """Cosine logits in (-0.95, 0.95), targets' cosines spread over both signs."""
    return {"input": r.uniform(-0.95, 0.95, (_N, _C)), "target": _labels(r)}


def _opposed(flip_rows: int = 4, noise: float = 0.25, magnitudes=None):
    """Embeddings the first ``flip_rows`` of which point away from their class centre.

    Their target cosines lie near -0.97 (so theta + m > pi for margins above about 0.25),
    the others' near +0.97; ``magnitudes`` sets the embeddings' norms.
    """

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        w = r.standard_normal((_C, _D))
        y = _labels(r)
        units = w / np.linalg.norm(w, axis=1, keepdims=True)
        sign = np.where(np.arange(_N) < flip_rows, -1.0, 1.0)[:, None]
        x = sign * units[y] + noise * r.standard_normal((_N, _D))
        if magnitudes is not None:
            x = np.asarray(magnitudes)[:, None] * x / np.linalg.norm(x, axis=1, keepdims=True)
        return {"input": x, "target": y, "weight": w}

    return make


# Norms below l_a = 10 and above u_a = 110 (clamped: no gradient through the magnitude), and
# between; none within 1e-3 of a bound (a finite difference there would straddle the clamp).
_MAGNITUDES = [4.0, 12.5, 30.0, 57.0, 81.0, 104.0, 131.0, 9.0]


def _magface_inputs(r: np.random.Generator) -> dict[str, np.ndarray]:
    x = r.standard_normal((_N, _D))
    x *= np.asarray(_MAGNITUDES)[:, None] / np.linalg.norm(x, axis=1, keepdims=True)
    return {"input": x, "target": _labels(r), "weight": r.standard_normal((_C, _D))}


_PML_NO_WEIGHT = (
    "pytorch-metric-learning's losses take embeddings and their own weight, not cosines"
)
_PML_NO_EASY = "pytorch-metric-learning's ArcFaceLoss has no easy_margin"
_SMALL = {"scale": 8.0}
_EMPTY = arrays(
    input=normal((0, _D)), target=lambda r: np.zeros(0, np.int64), weight=normal((_C, _D))
)

_ARCFACE = entry(
    "arcface_loss",
    [
        base("embeddings", _embeddings(), {**_SMALL, "margin": 0.5}, **AOT),
        base(
            "cosine_logits",
            _cosine_logits,
            {**_SMALL, "margin": 0.4},
            skip={"pml_arcface_loss": _PML_NO_WEIGHT},
        ),
        # theta + m > pi for the first four samples: InsightFace's cos(theta) - m sin(m)
        base("fallback", _opposed(), {**_SMALL, "margin": 0.8}, reductions=("none", "mean")),
        base(
            "easy_margin",
            _opposed(noise=1.0),
            {**_SMALL, "margin": 0.6, "easy_margin": True},
            reductions=("none", "sum"),
            skip={"pml_arcface_loss": _PML_NO_EASY},
        ),
        base("defaults", _embeddings(), reductions=("none", "mean")),
        base("empty", _EMPTY, _SMALL, reductions=("none", "sum")),
        base("empty", _EMPTY, _SMALL, reductions=("mean",), skip={"grad_fd": NAN_MEAN}),
    ],
    grad_args=("input", "weight"),
    fn=arcface_loss,
    reference=ref_arcface_loss,
    oracle=None,
    extra_oracles=(PML_ARCFACE,),
)

_COSFACE = entry(
    "cosface_loss",
    [
        base("embeddings", _embeddings(), {**_SMALL, "margin": 0.35}, **AOT),
        base(
            "cosine_logits",
            _cosine_logits,
            {"scale": 4.0, "margin": 0.2},
            skip={"pml_cosface_loss": _PML_NO_WEIGHT},
        ),
        base("defaults", _embeddings(), reductions=("none", "mean")),
    ],
    grad_args=("input", "weight"),
    fn=cosface_loss,
    reference=ref_cosface_loss,
    oracle=None,
    extra_oracles=(PML_COSFACE,),
)

_MAGFACE = entry(
    "magface_loss",
    [
        base("magnitudes", _magface_inputs, _SMALL, **AOT),
        # easy_margin=False with theta + m(a) > pi for the first four samples
        base(
            "fallback",
            _opposed(magnitudes=_MAGNITUDES),
            {**_SMALL, "easy_margin": False},
            reductions=("none", "sum"),
        ),
        base(
            "easy_opposed",
            _opposed(magnitudes=_MAGNITUDES[::-1]),
            {"scale": 4.0, "lambda_g": 10.0, "lower_margin": 0.2, "upper_margin": 1.0},
            reductions=("none",),
        ),
        base("defaults", _magface_inputs, reductions=("none", "mean")),
    ],
    grad_args=("input", "weight"),
    fn=magface_loss,
    reference=ref_magface_loss,
    oracle=None,
)

#: This family's registry entries.
ENTRIES: tuple[Entry, ...] = (_ARCFACE, _COSFACE, _MAGFACE)
