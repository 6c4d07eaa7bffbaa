"""Hypothesis strategies over the conformance registry's cases, with extreme values injected.

The property suite (``tests/test_properties.py``) reuses each registry entry's cases for what the
loss takes: argument names, shapes, dtypes and the kind of each array. Hypothesis then chooses,
per example: the base case, the reduction (among those the entry's cases use), the dtype, a seed
for the case's generator (new values, same shapes, so JAX's per-shape compile cache stays warm),
a scale for unconstrained real data, and up to three extreme values injected into each floating
argument from a pool that depends on its kind.

Argument kinds
--------------
A floating argument's kind is inferred from the case's own values (over several seeds), unless
:data:`KIND_OVERRIDES` names it:

========== ============================ ==============================================
kind       inferred from                values injected
========== ============================ ==============================================
``sign``   only -1 and 1                -1, 1
``binary`` only 0 and 1                 0, 1
``prob``   within [0, 1]                0, 1, smallest subnormal, a subnormal, tiny
``logprob`` all <= 0                    0, -BIG, -subnormal
``nonneg`` all >= 0                     0, subnormal, BIG
``positive`` only by override (> 0)     1e-3, 1, BIG (no 0: a scale or a GLM mean)
``classweight`` a 1-D ``weight`` or     1e-3, 1, BIG (no 0: a zero weight on every
           ``alpha`` beside class          class present makes a weighted mean 0 / 0)
           indices
``unit``   within [-1, 1]               -1, 0, 1, +-subnormal
``real``   anything else                0, +-subnormal, +-BIG
========== ============================ ==============================================

Integer arrays (class indices, lengths) are never changed. ``BIG`` is the near-overflow logit of
the dtype: 80 for float32 (``exp(80)`` = 5.5e34, ``exp(89)`` overflows) and 700 for float64
(``exp(700)`` = 1.0e304, ``exp(710)`` overflows).

Finiteness rule
---------------
Every pool holds only values inside the domain of its kind, so the mathematical loss stays
finite wherever it was finite before the injection: a loss is required to be finite on the
injected inputs exactly when the NumPy result on the same example *without* injections (same dtype)
is finite (the cases whose definition is NaN or infinite -- every target ignored with
``'mean'``, an empty batch with ``'mean'``, an infeasible CTC alignment -- keep their NaN or
inf, and then only the pattern has to agree across backends). Two pool rules keep injections
inside the domain where the math is defined: an array keeps at least one of its own values (an
all-zero weight vector makes a weighted mean 0 / 0), and class weights get no zero (a zero
weight on every class present does the same). Gradients follow the same rule (finite where the
loss value and the uninjected gradient are), except for the losses in
:data:`NONFINITE_GRAD_OK` (none at present).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from hypothesis import strategies as st

from lossbridge.conformance import REGISTRY, Case, Entry

#: Near-overflow logits per dtype.
BIG = {"float32": 80.0, "float64": 700.0}

#: (loss, argument) -> kind, or (loss, base label, argument) -> kind: where inference from the
#: values would give a pool outside the argument's domain (or a narrower one than it allows).
KIND_OVERRIDES: dict[tuple[str, ...], str] = {
    # log1p(x) needs x > -1 (values <= -1 raise without ``eps``): no -BIG.
    ("msle_loss", "input"): "nonneg",
    ("msle_loss", "target"): "nonneg",
    # keras_clip clips at eps first: any real is in the domain.
    ("msle_loss", "keras_clip", "input"): "real",
    ("msle_loss", "keras_clip", "target"): "real",
    # cosine similarities fed as logits ('cosine_logits'): within [-1, 1] by definition.
    ("arcface_loss", "cosine_logits", "input"): "unit",
    ("cosface_loss", "cosine_logits", "input"): "unit",
    # the quantile levels: (0, 1), not injected (kwargs, not arrays) -- listed for clarity.
    # hinge targets in {-1, 1} or {0, 1} are labels: keep them labels.
    ("hinge_embedding_loss", "odd_targets", "target"): "keep",
    ("margin_ranking_loss", "broadcast_odd", "target"): "keep",
    ("cosine_embedding_loss", "zero_vector_odd", "target"): "keep",
    # log_target=True: the target is a log-probability.
    ("kl_div", "log_target", "target"): "logprob",
    # var must be >= 0 (negative raises); inferred nonneg already, explicit for clarity.
    ("gaussian_nll_loss", "var"): "nonneg",
    # scales and GLM means must be > 0 (0 raises, as in scoringrules' and scikit-learn's
    # domains), and so must the Gamma and positive-stable targets (power >= 2)
    ("crps_normal_loss", "scale"): "positive",
    ("crps_logistic_loss", "scale"): "positive",
    ("tweedie_deviance_loss", "input"): "positive",
    ("poisson_deviance_loss", "input"): "positive",
    ("gamma_deviance_loss", "input"): "positive",
    ("gamma_deviance_loss", "target"): "positive",
    ("poisson_deviance_loss", "row_target", "target"): "positive",
    **{
        ("tweedie_deviance_loss", label, "target"): "positive"
        for label in ("gamma", "inverse_gaussian", "positive_stable")
    },
    # the expected counts of the sampled losses are num_sampled x a probability: > 0 (TF takes
    # their log; 0 gives -log 0 = inf in the logits, in TensorFlow as here)
    **{
        (loss, count): "positive"
        for loss in ("sampled_softmax_loss", "nce_loss")
        for count in ("true_expected_count", "sampled_expected_count")
    },
    # soft targets of the segmentation losses and BCE: probabilities.
    ("binary_cross_entropy", "input"): "prob",
    ("binary_cross_entropy", "target"): "prob",
    # box coordinates: degenerate and far boxes, never sign-flipped beyond the case's range.
    # (inferred nonneg or real from the case; both pools keep the IoU losses finite via eps.)
    # rotated boxes (x, y, w, h, r): a zero or negative width or height is no box (CIoU's
    # w / h is 0 / 0 there): positive values only
    ("probiou_loss", "input"): "positive",
    ("probiou_loss", "target"): "positive",
    # distances in bins, in [0, B - 1] (outside is refused unless clamp=True): kept
    ("distribution_focal_loss", "target"): "keep",
}

#: Losses whose gradient may legitimately be non-finite where the value is finite (the
#: derivative of the math is infinite there); their gradients must still agree across backends.
NONFINITE_GRAD_OK: dict[str, str] = {}

#: Kinds whose arrays are left exactly as the case makes them.
UNTOUCHED = frozenset({"keep", "index"})


def subnormals(dtype: str) -> tuple[float, ...]:
    """Two subnormals of ``dtype``: the smallest, and one just below the smallest normal."""
    fi = np.finfo(np.dtype(dtype))
    smallest = float(fi.smallest_subnormal)
    return (smallest, float(fi.tiny) / 3.0)


def pool(kind: str, dtype: str, subnormal: bool = True) -> tuple[float, ...]:
    """The extreme values injected into an argument of ``kind`` at ``dtype``.

    ``subnormal=False`` drops the subnormals (the gradient examples: see
    :func:`examples`).
    """
    values = _pool(kind, dtype)
    if subnormal:
        return values
    tiny = float(np.finfo(np.dtype(dtype)).tiny)
    return tuple(v for v in values if v == 0.0 or abs(v) >= tiny)


def _pool(kind: str, dtype: str) -> tuple[float, ...]:
    big = BIG[dtype]
    sub = subnormals(dtype)
    tiny = float(np.finfo(np.dtype(dtype)).tiny)
    if kind == "classweight":
        return (1e-3, 1.0, big)
    if kind == "sign":
        return (-1.0, 1.0)
    if kind == "binary":
        return (0.0, 1.0)
    if kind == "prob":
        return (0.0, 1.0, *sub, tiny)
    if kind == "logprob":
        return (0.0, -big, -sub[0])
    if kind == "nonneg":
        return (0.0, *sub, big)
    if kind == "positive":
        return (1e-3, 1.0, big)
    if kind == "unit":
        return (-1.0, 0.0, 1.0, sub[0], -sub[1])
    if kind == "real":
        return (0.0, sub[0], -sub[1], big, -big)
    return ()


def infer_kind(values: list[np.ndarray]) -> str:
    """The kind of one argument from its values over a few seeds (see the module docstring)."""
    a = np.concatenate([np.ravel(v) for v in values])
    if a.dtype.kind in "iub":
        return "index"
    if a.size == 0:
        return "real"
    uniq = set(np.unique(a).tolist())
    if uniq <= {-1.0, 1.0}:
        return "sign"
    if uniq <= {0.0, 1.0}:
        return "binary"
    lo, hi = float(a.min()), float(a.max())
    if lo >= 0.0 and hi <= 1.0:
        return "prob"
    if hi <= 0.0:
        return "logprob"
    if lo >= 0.0:
        return "nonneg"
    if lo >= -1.0 and hi <= 1.0:
        return "unit"
    return "real"


def base_label(case: Case) -> str:
    """The label of ``case`` without its reduction suffix."""
    r = case.kwargs.get("reduction")
    if r is not None and case.label.endswith(f"_{r}"):
        return case.label[: -len(r) - 1]
    return case.label


@dataclass(frozen=True)
class Base:
    """One base case of an entry: its reductions and the kind of each array argument."""

    label: str
    cases: dict[str | None, Case]  # reduction -> case
    kinds: dict[str, str]
    shapes: dict[str, tuple[int, ...]]


def bases_of(entry: Entry) -> list[Base]:
    """An entry's base cases, with argument kinds inferred (or overridden)."""
    grouped: dict[str, dict[str | None, Case]] = {}
    for c in entry.cases:
        grouped.setdefault(base_label(c), {})[c.kwargs.get("reduction")] = c
    out = []
    for label, cases in grouped.items():
        first = next(iter(cases.values()))
        draws = [first.make(np.random.default_rng(s)) for s in (first.seed, 1, 2, 3)]
        kinds, shapes = {}, {}
        has_index = any(np.asarray(v).dtype.kind in "iu" for v in draws[0].values())
        for name in draws[0]:
            vals = [np.asarray(d[name]) for d in draws]
            kind = infer_kind(vals)
            if name in ("weight", "alpha") and vals[0].ndim == 1 and has_index:
                kind = "classweight"
            kind = KIND_OVERRIDES.get((entry.name, name), kind)
            kind = KIND_OVERRIDES.get((entry.name, label, name), kind)
            kinds[name] = kind
            shapes[name] = vals[0].shape
        out.append(Base(label, cases, kinds, shapes))
    return out


class Example:
    """One drawn example: the case, dtype, its inputs and what was injected where.

    A plain class with a one-line ``repr`` (hypothesis prints dataclasses field by field,
    arrays included).
    """

    def __init__(self, entry, base, case, dtype, seed, scale, inputs, baseline, injected):
        self.entry: Entry = entry
        self.base: Base = base
        self.case: Case = case
        self.dtype: str = dtype
        self.seed: int = seed
        self.scale: float = scale
        #: with injections (float64 holding dtype-representable values)
        self.inputs: dict[str, np.ndarray] = inputs
        #: the same example without injections
        self.baseline: dict[str, np.ndarray] = baseline
        self.injected: dict[str, list[tuple[tuple[int, ...], float]]] = injected

    def __repr__(self) -> str:
        return f"Example({self.describe()})"

    def describe(self) -> str:
        """A one-line description for failure messages (enough to rebuild the inputs)."""
        inj = {k: [(i, v) for i, v in lst] for k, lst in self.injected.items() if lst}
        return (
            f"{self.entry.name} case={self.case.label} dtype={self.dtype} seed={self.seed} "
            f"scale={self.scale} kinds={self.base.kinds} injected={inj}"
        )


def _make(case: Case, seed: int) -> dict[str, np.ndarray]:
    return case.inputs(np.random.default_rng(seed))


SCALES = (1.0, 0.01, 16.0)


@st.composite
def examples(
    draw: Any, entry: Entry, bases: list[Base], inject: bool = True, subnormal: bool = True
) -> Example:
    """One :class:`Example` of ``entry``: case, reduction, dtype, seed, scale, injections.

    ``subnormal=False`` injects no subnormals. The gradient examples use it: CPU XLA (JAX) and
    TensorFlow flush subnormal inputs to zero (NumPy and torch keep them), so a subnormal next
    to a zero is an exact tie -- a kink, where the gradient is a convention -- on two backends
    and not on the others: the backends would differentiate different inputs.
    """
    base = draw(st.sampled_from(bases))
    reduction = draw(st.sampled_from(list(base.cases)))
    case = base.cases[reduction]
    dtype = draw(st.sampled_from(("float32", "float64")))
    seed = draw(st.sampled_from((case.seed, 0, 1, 2, 3, 4, 5, 6, 7)))
    scale = draw(st.sampled_from(SCALES))
    raw = _make(case, seed)
    baseline: dict[str, np.ndarray] = {}
    for name, a in raw.items():
        if a.dtype.kind == "f" and base.kinds[name] == "real":
            a = a * scale
        # round to the dtype so every backend and the baseline see the same numbers
        baseline[name] = a.astype(dtype).astype(np.float64) if a.dtype.kind == "f" else a
    inputs = {k: v.copy() for k, v in baseline.items()}
    injected: dict[str, list[tuple[tuple[int, ...], float]]] = {}
    if inject:
        for name, a in inputs.items():
            values = pool(base.kinds[name], dtype, subnormal)
            if a.dtype.kind != "f" or a.size < 2 or not values:
                continue
            # 1 to 3 spots (at least one: the conformance suite covers uninjected inputs), and
            # at most size - 1 spots: one element keeps its case value, so a weight vector is
            # never all zero (a weighted mean over zero total weight is 0 / 0 by definition)
            n = draw(st.integers(1, min(3, a.size - 1)), label=f"n_{name}")
            spots = []
            for _ in range(n):
                flat = draw(st.integers(0, a.size - 1), label=f"at_{name}")
                v = draw(st.sampled_from(values), label=f"v_{name}")
                idx = tuple(int(i) for i in np.unravel_index(flat, a.shape))
                a[idx] = v
                spots.append((idx, v))
            # re-round: the pools hold dtype-representable values, but say so explicitly
            inputs[name] = a.astype(dtype).astype(np.float64)
            injected[name] = spots
    return Example(entry, base, case, dtype, seed, scale, inputs, baseline, injected)


def property_entries() -> dict[str, Entry]:
    """The registry's losses (dialect entries, whose names hold a '.', are left out)."""
    return {name: e for name, e in REGISTRY.items() if "." not in name}


def kwargs_of(case: Case) -> Mapping[str, Any]:
    """The case's keyword arguments."""
    return dict(case.kwargs)
