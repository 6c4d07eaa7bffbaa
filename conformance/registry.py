"""The conformance registry: one :class:`Entry` per loss drives every check.

An entry names the loss, its lossbridge function, its oracle (the ``torch.nn.functional`` function
of the same name, called with the same arguments converted to torch), its float64 NumPy reference
(:mod:`lossbridge.conformance.references`), the arguments that get gradients, and its cases.

A :class:`Case` is a label, an input generator ``make(rng) -> {name: ndarray}`` (float64 data,
int64 class indices) run with a generator seeded from the loss name and the case's base label,
keyword arguments (the keyword grid: reductions, weights, ``ignore_index``, smoothing, ...), and
flags: which checks do not apply (with the reason, reported as "not run"), whether the compiled
modes run on it, and whether it is the loss's placement case (``tf.Variable`` input,
array-api-strict's second device, torch's ``meta`` device) and its ``torch.compile`` inductor
case. Edge cases (huge logits, probabilities of exactly 0 and 1, every target ignored, empty
batches, ...) are cases like any other.

Most base cases are expanded over every reduction by :func:`_cases`; an expanded case's label is
``<base>_<reduction>`` and its inputs do not depend on the reduction.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

import lossbridge
from lossbridge.conformance import references

__all__ = ["REGISTRY", "Case", "Entry", "get_case", "get_entry"]

Make = Callable[[np.random.Generator], dict[str, np.ndarray]]

#: Check groups a case may switch off (``Case.skip``), with what each covers.
SKIP_GROUPS = {
    "oracle": "forward values against torch.nn.functional",
    "grad": "every gradient check (eager and compiled)",
    "grad_oracle": "gradients against torch.nn.functional's autograd",
    "grad_fd": "gradients against central finite differences of the NumPy reference",
}


@dataclass(frozen=True)
class Case:
    """One input set and keyword set of a loss.

    Parameters
    ----------
    label : str
        Unique within the entry.
    make : callable
        ``make(rng) -> dict`` of NumPy arrays keyed by argument name (float64 data, int64 class
        indices). Called with :meth:`rng`, so the inputs are the same on every run.
    kwargs : mapping
        Non-array keyword arguments (``reduction``, ``ignore_index``, ``label_smoothing``, ...).
    seed : int
        Seed of the generator given to ``make``.
    grad_args : tuple of str, optional
        Arguments differentiated; ``None`` means the entry's.
    skip : mapping
        Check group (a key of :data:`SKIP_GROUPS`) -> why it does not apply to this case.
    compile : bool
        Run the compiled modes (``jax.jit``, ``tf.function``, ``torch.compile``) on this case.
    placement : bool
        Run the placement checks on this case (``tf.Variable`` input, non-default devices).
    inductor : bool
        Use ``torch.compile``'s inductor backend here instead of ``aot_eager``.
    """

    label: str
    make: Make = field(repr=False)
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    seed: int = 0
    grad_args: tuple[str, ...] | None = None
    skip: Mapping[str, str] = field(default_factory=dict)
    compile: bool = False
    placement: bool = False
    inductor: bool = False

    def __post_init__(self) -> None:
        unknown = set(self.skip) - set(SKIP_GROUPS)
        if unknown:
            raise ValueError(f"case {self.label!r}: unknown skip groups {sorted(unknown)}")
        object.__setattr__(self, "kwargs", MappingProxyType(dict(self.kwargs)))
        object.__setattr__(self, "skip", MappingProxyType(dict(self.skip)))

    def rng(self) -> np.random.Generator:
        """A fresh generator seeded with :attr:`seed`."""
        return np.random.default_rng(self.seed)

    def inputs(self) -> dict[str, np.ndarray]:
        """The case's array arguments (float64 data, int64 indices), the same on every call."""
        out = {}
        for k, v in self.make(self.rng()).items():
            a = np.asarray(v)
            if a.dtype.kind == "f":
                a = a.astype(np.float64)
            elif a.dtype.kind in "iu":
                a = a.astype(np.int64)
            out[k] = a
        return out

    def skipped(self, group: str) -> str | None:
        """Why ``group`` does not apply (``'grad'`` also covers its sub-groups), or None."""
        if group in self.skip:
            return self.skip[group]
        if group.startswith("grad") and "grad" in self.skip:
            return self.skip["grad"]
        return None


@dataclass(frozen=True, eq=False)
class Entry:
    """Everything the runner needs about one loss.

    Parameters
    ----------
    name : str
        The loss name (``lossbridge.<name>`` and ``torch.nn.functional.<name>``).
    fn : callable
        The function under test.
    reference : callable
        Float64 NumPy reference with the same signature.
    cases : tuple of Case
    oracle : str or None
        Attribute of ``torch.nn.functional`` used as the oracle; None for no oracle.
    grad_args : tuple of str
        Arguments differentiated by default (only those a case provides as arrays).
    """

    name: str
    fn: Callable[..., Any]
    reference: Callable[..., Any]
    cases: tuple[Case, ...]
    oracle: str | None = None
    grad_args: tuple[str, ...] = ("input",)

    def __post_init__(self) -> None:
        labels = [c.label for c in self.cases]
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            raise ValueError(f"entry {self.name!r}: duplicate case labels {dup}")

    def case(self, label: str) -> Case:
        """The case labelled ``label``."""
        for c in self.cases:
            if c.label == label:
                return c
        raise KeyError(f"{self.name} has no case {label!r}; cases: {[c.label for c in self.cases]}")

    def grad_args_of(self, case: Case, inputs: Mapping[str, np.ndarray]) -> tuple[str, ...]:
        """Floating array arguments of ``case`` that are differentiated."""
        names = case.grad_args if case.grad_args is not None else self.grad_args
        return tuple(n for n in names if n in inputs and inputs[n].dtype.kind == "f")

    def oracle_fn(self) -> Callable[..., Any] | None:
        """``torch.nn.functional.<oracle>`` (imports torch), or None if there is none."""
        if self.oracle is None:
            return None
        import torch.nn.functional as F  # noqa: N812

        return getattr(F, self.oracle)


REDUCTIONS = ("none", "mean", "sum")


def _seed(loss: str, label: str) -> int:
    return zlib.crc32(f"{loss}/{label}".encode())


def _cases(
    loss: str,
    label: str,
    make: Make,
    kwargs: Mapping[str, Any] | None = None,
    *,
    reductions: Iterable[str] = REDUCTIONS,
    compile: Iterable[str] = (),
    placement: str | None = None,
    inductor: str | None = None,
    skip: Mapping[str, str] | None = None,
    grad_args: tuple[str, ...] | None = None,
) -> list[Case]:
    """Expand one base case over ``reductions``; flags name the reductions they apply to."""
    compile = tuple(compile)
    return [
        Case(
            label=f"{label}_{r}",
            make=make,
            kwargs={**(kwargs or {}), "reduction": r},
            seed=_seed(loss, label),
            grad_args=grad_args,
            skip=dict(skip or {}),
            compile=r in compile,
            placement=r == placement,
            inductor=r == inductor,
        )
        for r in reductions
    ]


def _b(label: str, make: Make, kwargs: Mapping[str, Any] | None = None, **opts: Any) -> dict:
    """One base case: ``label``, ``make``, fixed keyword arguments and :func:`_cases` options."""
    return {"label": label, "make": make, "kwargs": kwargs, **opts}


def _entry(name: str, bases: list[dict], *, grad_args: tuple[str, ...] = ("input",)) -> Entry:
    cases = [c for base in bases for c in _cases(name, **base)]
    return Entry(
        name=name,
        fn=getattr(lossbridge, name),
        reference=getattr(references, name),
        cases=tuple(cases),
        oracle=name,
        grad_args=grad_args,
    )


# ------------------------------------------------------------------------------------------
# Input helpers (all float64 / int64, small shapes so finite differences stay cheap)
# ------------------------------------------------------------------------------------------


def _softmax(z: np.ndarray, axis: int) -> np.ndarray:
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(z: np.ndarray, axis: int) -> np.ndarray:
    m = z.max(axis=axis, keepdims=True)
    return z - m - np.log(np.exp(z - m).sum(axis=axis, keepdims=True))


def _class_weight(r: np.random.Generator, c: int) -> np.ndarray:
    return r.uniform(0.2, 2.0, c)


def _index(shape, c, scale=2.0, weight=False, ignore=0, ignore_value=-100, probs=False):
    """Logits of ``shape`` (class axis 1, or 0 for 1-D) with targets; a ``make`` function."""

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        x = scale * r.standard_normal(shape)
        ca = 0 if len(shape) == 1 else 1
        if probs:
            t = _softmax(r.standard_normal(shape), ca)
        else:
            tshape = () if len(shape) == 1 else (shape[0], *shape[2:])
            t = r.integers(0, c, tshape)
            if ignore:
                flat = t.reshape(-1)
                flat[r.choice(flat.size, size=ignore, replace=False)] = ignore_value
                t = flat.reshape(tshape)
        out = {"input": x, "target": t}
        if weight:
            out["weight"] = _class_weight(r, c)
        return out

    return make


def _pair(shape, scale=1.0):
    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        return {
            "input": scale * r.standard_normal(shape),
            "target": scale * r.standard_normal(shape),
        }

    return make


def _with(make: Make, **extra: Callable[[np.random.Generator], np.ndarray]) -> Make:
    """``make`` plus extra arrays drawn after its own (so its arrays do not change)."""

    def wrapped(r: np.random.Generator) -> dict[str, np.ndarray]:
        out = make(r)
        out.update({k: f(r) for k, f in extra.items()})
        return out

    return wrapped


def _fixed(shape: tuple[int, ...] = (8, 5), **arrays: Any) -> Make:
    """Given values, repeated cyclically to ``shape`` (shared shapes keep JAX's op cache warm)."""

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        return {k: np.resize(np.asarray(v, dtype=np.float64), shape) for k, v in arrays.items()}

    return make


def _all_ignored(r: np.random.Generator) -> dict[str, np.ndarray]:
    return {"input": r.standard_normal((8, 5)), "target": np.full(8, -100)}


_NAN_MEAN = "the loss is NaN (0 / 0): its finite difference is NaN, torch defines the gradient as 0"
_EVERY = {"compile": ("none", "mean"), "placement": "mean", "inductor": "mean"}

# ------------------------------------------------------------------------------------------
# cross_entropy
# ------------------------------------------------------------------------------------------

_CE = _entry(
    "cross_entropy",
    [
        _b("index", _index((8, 5), 5), **_EVERY),
        _b("ignore", _index((8, 5), 5, ignore=3)),
        _b("weight", _index((8, 5), 5, weight=True)),
        _b(
            "weight_custom_ignore",
            _index((8, 5), 5, weight=True, ignore=2, ignore_value=2),
            {"ignore_index": 2},
        ),
        _b("smoothing", _index((8, 5), 5), {"label_smoothing": 0.2}),
        _b(
            "smoothing_weight_ignore",
            _index((8, 5), 5, weight=True, ignore=2),
            {"label_smoothing": 0.1},
            compile=("mean",),
        ),
        _b(
            "nchw_weight_smoothing",
            _index((2, 4, 3, 3), 4, weight=True, ignore=3),
            {"label_smoothing": 0.05},
            compile=("none",),
        ),
        _b("one_d", _index((5,), 5)),
        _b("one_d_smoothing_weight", _index((5,), 5, weight=True), {"label_smoothing": 0.3}),
        _b("probs", _index((8, 5), 5, probs=True), compile=("mean",)),
        _b(
            "probs_smoothing_weight",
            _index((8, 5), 5, probs=True, weight=True),
            {"label_smoothing": 0.1},
        ),
        _b("probs_nchw_weight", _index((2, 4, 3, 3), 4, probs=True, weight=True)),
        _b("one_d_probs", _index((5,), 5, probs=True), {"label_smoothing": 0.2}),
        _b("large_logits", _index((8, 5), 5, scale=1e4, weight=True), {"label_smoothing": 0.1}),
        _b("large_logits_probs", _index((8, 5), 5, scale=1e4, probs=True)),
        _b("all_ignored", _all_ignored, reductions=("none", "sum")),
        _b("all_ignored", _all_ignored, reductions=("mean",), skip={"grad_fd": _NAN_MEAN}),
        _b(
            "all_ignored_smoothing",
            _all_ignored,
            {"label_smoothing": 0.1},
            reductions=("mean",),
            skip={"grad_fd": _NAN_MEAN},
        ),
        _b("empty", _index((0, 5), 5)),
        _b("empty_probs", _index((0, 5), 5, probs=True)),
    ],
)

# ------------------------------------------------------------------------------------------
# nll_loss
# ------------------------------------------------------------------------------------------


def _logp(make: Make) -> Make:
    """``make`` with its ``input`` turned into log-probabilities (class axis 1, or 0 for 1-D)."""

    def wrapped(r: np.random.Generator) -> dict[str, np.ndarray]:
        out = make(r)
        x = out["input"]
        if x.size:
            out["input"] = _log_softmax(x, 0 if x.ndim == 1 else 1)
        return out

    return wrapped


_NLL = _entry(
    "nll_loss",
    [
        _b("basic", _logp(_index((8, 5), 5)), **_EVERY),
        _b("weight_ignore", _logp(_index((8, 5), 5, weight=True, ignore=3))),
        _b(
            "custom_ignore", _logp(_index((8, 5), 5, ignore=2, ignore_value=1)), {"ignore_index": 1}
        ),
        _b("nchw_weight", _logp(_index((2, 4, 3, 3), 4, weight=True)), compile=("sum",)),
        _b("one_d", _logp(_index((5,), 5, weight=True))),
        _b("all_ignored", _all_ignored, reductions=("none", "sum")),
        _b("all_ignored", _all_ignored, reductions=("mean",), skip={"grad_fd": _NAN_MEAN}),
        _b("empty", _index((0, 5), 5)),
    ],
)

# ------------------------------------------------------------------------------------------
# binary_cross_entropy
# ------------------------------------------------------------------------------------------

_TORCH_BCE_BACKWARD = (
    "torch's hand-written backward (x - y) / max(x (1 - x), 1e-12) differs from the derivative "
    "of the clamped loss (which lossbridge returns) where x (1 - x) < 1e-12"
)
_BOUNDARY = "inputs on or within one step of the domain's boundary (0 or 1): no central difference"


def _probs(shape, lo=0.02, hi=0.98, hard=False):
    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        t = r.integers(0, 2, shape).astype(np.float64) if hard else r.uniform(0, 1, shape)
        return {"input": r.uniform(lo, hi, shape), "target": t}

    return make


_BCE = _entry(
    "binary_cross_entropy",
    [
        _b("soft", _probs((8, 5)), **_EVERY),
        _b("hard_targets", _probs((8, 5), hard=True)),
        _b("weight_row", _with(_probs((8, 5)), weight=lambda r: r.uniform(0.2, 2.0, 5))),
        _b(
            "weight_full_3d",
            _with(_probs((2, 3, 4)), weight=lambda r: r.uniform(0.2, 2.0, (2, 3, 4))),
            compile=("sum",),
        ),
        _b(
            "exact_0_1",
            _fixed(
                input=[0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.3, 0.0, 1.0, 0.7, 0.5],
                target=[0.0, 1.0, 1.0, 0.0, 0.5, 0.5, 0.2, 0.0, 1.0],
            ),
            skip={"grad_oracle": _TORCH_BCE_BACKWARD, "grad_fd": _BOUNDARY},
        ),
        _b(
            "tiny_probs",
            _fixed(
                input=[1e-30, 1e-45, 1e-9, 1.0 - 1e-9, 1.0 - 1e-6, 0.5],
                target=[1.0, 1.0, 0.5, 0.0, 0.25, 1.0],
            ),
            skip={"grad_oracle": _TORCH_BCE_BACKWARD, "grad_fd": _BOUNDARY},
        ),
        _b("empty", _probs((0, 5))),
    ],
)

# ------------------------------------------------------------------------------------------
# binary_cross_entropy_with_logits
# ------------------------------------------------------------------------------------------


def _logits_targets(shape, scale=2.0, hard=False):
    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        t = r.integers(0, 2, shape).astype(np.float64) if hard else r.uniform(0, 1, shape)
        return {"input": scale * r.standard_normal(shape), "target": t}

    return make


def _large_logits(r: np.random.Generator) -> dict[str, np.ndarray]:
    x = np.array([[1e4, -1e4, 1e4, -1e4, 3e4], [-2e4, 1e4, -1e4, 0.5, -3e4]])
    t = np.array([[1.0, 0.0, 0.0, 1.0, 0.5], [0.5, 1.0, 0.25, 1.0, 0.0]])
    return {"input": x, "target": t, "pos_weight": np.array([0.5, 1.0, 2.0, 3.0, 1.5])}


_BCEL = _entry(
    "binary_cross_entropy_with_logits",
    [
        _b("basic", _logits_targets((8, 5)), **_EVERY),
        _b("weight", _with(_logits_targets((8, 5)), weight=lambda r: r.uniform(0.2, 2.0, (8, 5)))),
        _b(
            "pos_weight",
            _with(_logits_targets((8, 5), hard=True), pos_weight=lambda r: r.uniform(0.5, 3.0, 5)),
            compile=("sum",),
        ),
        _b(
            "weight_pos_weight_3d",
            _with(
                _logits_targets((2, 3, 4)),
                weight=lambda r: r.uniform(0.2, 2.0, (3, 1)),
                pos_weight=lambda r: r.uniform(0.5, 3.0, 4),
            ),
        ),
        _b("large_logits", _large_logits),
        _b("empty", _logits_targets((0, 5))),
    ],
)

# ------------------------------------------------------------------------------------------
# kl_div
# ------------------------------------------------------------------------------------------

_KL_REDUCTIONS = ("none", "batchmean", "mean", "sum")


def _kl(shape, zeros=0, log_target=False):
    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        x = _log_softmax(r.standard_normal(shape), -1)
        t = _softmax(r.standard_normal(shape), -1)
        if zeros:
            flat = t.reshape(-1)
            flat[r.choice(flat.size, size=zeros, replace=False)] = 0.0
            t = flat.reshape(shape)
        return {"input": x, "target": np.log(t) if log_target else t}

    return make


_KL = _entry(
    "kl_div",
    [
        _b(
            "basic",
            _kl((8, 5)),
            reductions=_KL_REDUCTIONS,
            compile=("none", "batchmean"),
            placement="batchmean",
            inductor="batchmean",
        ),
        _b("zeros_target", _kl((8, 5), zeros=6), reductions=_KL_REDUCTIONS),
        _b(
            "log_target",
            _kl((8, 5), log_target=True),
            {"log_target": True},
            reductions=_KL_REDUCTIONS,
            compile=("sum",),
        ),
        _b("3d", _kl((2, 3, 4)), reductions=_KL_REDUCTIONS),
    ],
)

# ------------------------------------------------------------------------------------------
# mse_loss, l1_loss, huber_loss, smooth_l1_loss
# ------------------------------------------------------------------------------------------


def _weights(shape):
    return lambda r: r.uniform(0.2, 2.0, shape)


def _broadcast(r: np.random.Generator) -> dict[str, np.ndarray]:
    return {"input": r.standard_normal(5), "target": r.standard_normal((5, 1))}


def _ties(r: np.random.Generator) -> dict[str, np.ndarray]:
    x = r.standard_normal((8, 5))
    y = r.standard_normal((8, 5))
    y[::2] = x[::2]  # exact ties: the gradient of |x - y| is 0 there, as in torch
    return {"input": x, "target": y}


_MSE = _entry(
    "mse_loss",
    [
        _b("basic", _pair((8, 5)), **_EVERY),
        _b("weight", _with(_pair((8, 5)), weight=_weights((8, 5)))),
        _b("3d", _pair((2, 3, 4))),
        _b("broadcast", _broadcast, compile=("sum",)),
        _b("empty", _pair((0, 5))),
    ],
)

_L1 = _entry(
    "l1_loss",
    [
        _b("basic", _pair((8, 5)), **_EVERY),
        _b("ties", _ties),
        _b("weight_3d", _with(_pair((2, 3, 4)), weight=_weights((2, 3, 4))), compile=("sum",)),
        _b("empty", _pair((0, 5))),
    ],
)

_HUBER = _entry(
    "huber_loss",
    [
        _b("basic", _pair((8, 5), scale=1.5), **_EVERY),
        _b("delta_2", _pair((8, 5), scale=2.0), {"delta": 2.0}),
        _b(
            "delta_half_weight",
            _with(_pair((2, 3, 4)), weight=_weights((2, 3, 4))),
            {"delta": 0.5},
            compile=("sum",),
        ),
        _b("ties", _ties, {"delta": 0.7}),
    ],
)

_SMOOTH_L1 = _entry(
    "smooth_l1_loss",
    [
        _b("basic", _pair((8, 5), scale=1.5), **_EVERY),
        _b("beta_2", _pair((8, 5), scale=2.0), {"beta": 2.0}),
        _b("beta_small", _pair((2, 3, 4)), {"beta": 0.25}, compile=("sum",)),
        _b("beta_0", _pair((8, 5)), {"beta": 0.0}),
        _b("beta_0_ties", _ties, {"beta": 0.0}),
    ],
)

# ------------------------------------------------------------------------------------------
# poisson_nll_loss, gaussian_nll_loss
# ------------------------------------------------------------------------------------------


def _poisson(log_input=True, counts=None, zero_rate=False):
    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        shape = (8, 5)
        t = r.poisson(3.0, shape).astype(np.float64) if counts is None else np.asarray(counts)
        shape = t.shape
        x = 0.5 * r.standard_normal(shape) if log_input else r.uniform(0.1, 5.0, shape)
        if zero_rate:
            x.reshape(-1)[::3] = 0.0
        return {"input": x, "target": t}

    return make


_COUNTS = np.resize([0.0, 1.0, 2.0, 5.0, 50.0, 1000.0, 0.0, 1.0, 3.0, 1e5, 7.0], (8, 5))

_POISSON = _entry(
    "poisson_nll_loss",
    [
        _b("log_input", _poisson(), **_EVERY),
        _b("rates", _poisson(log_input=False), {"log_input": False}),
        _b("full", _poisson(counts=_COUNTS), {"full": True}, compile=("sum",)),
        _b(
            "full_rates_eps",
            _poisson(log_input=False, counts=_COUNTS),
            {"log_input": False, "full": True, "eps": 1e-3},
        ),
        _b(
            "rate_zero",
            _poisson(log_input=False, zero_rate=True),
            {"log_input": False},
            skip={"grad_fd": "rates of exactly 0: the central difference leaves the domain"},
        ),
    ],
)

_VAR_CLAMP = (
    "variances below eps: the reference's derivative in var is 0 there, while torch (and "
    "lossbridge) pass the gradient straight through the clamp"
)


def _gauss(shape, var_shape=None, var_values=None):
    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        out = _pair(shape)(r)
        if var_values is not None:
            out["var"] = np.resize(np.asarray(var_values, dtype=np.float64), shape)
        else:
            out["var"] = r.uniform(0.1, 2.0, shape if var_shape is None else var_shape)
        return out

    return make


_GAUSS = _entry(
    "gaussian_nll_loss",
    [
        _b("basic", _gauss((8, 5)), **_EVERY),
        _b("full", _gauss((8, 5)), {"full": True}),
        _b("var_rows", _gauss((8, 5), var_shape=(8,)), compile=("sum",)),
        _b("var_column", _gauss((8, 5), var_shape=(8, 1))),
        _b(
            "var_below_eps",
            _gauss((8, 5), var_values=[0.0, 1e-8, 1e-7, 5e-7, 2e-6, 0.5]),
            skip={"grad_fd": _VAR_CLAMP},
        ),
        _b("var_float", _pair((8, 5)), {"var": 0.5}, grad_args=("input",)),
    ],
    grad_args=("input", "var"),
)

#: Every loss's entry, by name.
REGISTRY: dict[str, Entry] = {
    e.name: e
    for e in (_CE, _NLL, _BCE, _BCEL, _KL, _MSE, _L1, _HUBER, _SMOOTH_L1, _POISSON, _GAUSS)
}


def get_entry(name: str, registry: Mapping[str, Entry] | None = None) -> Entry:
    """The entry of loss ``name`` (``ValueError`` naming the known losses if there is none)."""
    reg = REGISTRY if registry is None else registry
    try:
        return reg[name]
    except KeyError:
        raise ValueError(f"unknown loss {name!r}; expected one of {sorted(reg)}") from None


def get_case(loss: str, label: str, registry: Mapping[str, Entry] | None = None) -> Case:
    """The case ``label`` of loss ``loss``."""
    return get_entry(loss, registry).case(label)
