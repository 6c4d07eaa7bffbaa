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

Besides ``torch.nn.functional``, an entry may name further oracles (:class:`Oracle`: another
library's implementation, NumPy in and NumPy out, e.g. ``tf.nn.ctc_loss`` and optax's
``ctc_loss`` for ``ctc_loss``), each reported as a check named after it. The four torchvision
losses have no torch oracle (torchvision is not installed); their reference is a transcription of
torchvision's source.
"""

from __future__ import annotations

import functools
import importlib.util
import math
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

import lossbridge
from lossbridge.backends import get_namespace
from lossbridge.conformance import references
from lossbridge.conformance import tolerances as _tolerances
from lossbridge.ctc import ctc_loss

__all__ = ["ORACLES", "REGISTRY", "Case", "Entry", "Oracle", "get_case", "get_entry"]

Make = Callable[[np.random.Generator], dict[str, np.ndarray]]

#: Check groups a case may switch off (``Case.skip``), with what each covers.
SKIP_GROUPS = {
    "oracle": "forward values against torch.nn.functional",
    "grad": "every gradient check (eager and compiled)",
    "grad_oracle": "gradients against torch.nn.functional's autograd",
    "grad_fd": "gradients against central finite differences of the NumPy reference",
    "grad_ref": "half gradients against the float64 gradient on the same rounded inputs",
    "all": "every check (with a dtype only: 'all@float16')",
}


@dataclass(frozen=True)
class Oracle:
    """An oracle besides ``torch.nn.functional``: another library's implementation of a loss.

    Its check, named :attr:`name`, compares every backend's output with it (values only), like
    the torch oracle; a case switches it off with ``skip={name: reason}``.

    Parameters
    ----------
    name : str
        The check's name (``'tf_ctc_loss'``, ...): a key of
        :data:`lossbridge.conformance.tolerances.KINDS`.
    label : str
        Short name for the matrix.
    fn : callable
        ``fn(inputs, kwargs, dtype) -> ndarray``: the case's arrays (float64 data, int64
        indices, cast to ``dtype`` by ``fn``) and keyword arguments to the loss the backends
        compute (reduced as the case says), as float64 NumPy. Imports its framework.
    unavailable : callable
        ``unavailable(dtype) -> str | None``: why the oracle cannot run at ``dtype`` (not
        installed, no float64), or None. Imports nothing when the framework is missing.
    """

    name: str
    label: str
    fn: Callable[[Mapping[str, np.ndarray], Mapping[str, Any], str], np.ndarray] = field(repr=False)
    unavailable: Callable[[str], str | None] = field(repr=False)

    def __post_init__(self) -> None:
        # An oracle's check is a forward-value check: it takes the dtype's value bound.
        _tolerances.KINDS.setdefault(self.name, "value")


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
        Check group (a key of :data:`SKIP_GROUPS`, or the name of one of the entry's
        :attr:`Entry.extra_oracles`) -> why it does not apply to this case. A key
        ``'<group>@<dtype>'`` applies at that dtype only (``'all@float16'``: the whole case is
        not run in float16, e.g. inputs beyond 65504).
    compile : bool
        Run the compiled modes (``jax.jit``, ``tf.function``, ``torch.compile``) on this case.
    placement : bool
        Run the placement checks on this case (``tf.Variable`` input, non-default devices).
    inductor : bool
        Use ``torch.compile``'s inductor backend here instead of ``aot_eager``.
    oracle_kwargs : mapping
        Keyword arguments that replace :attr:`kwargs` entries for the torch oracle only: a
        callable argument (``distance_function``) gets its torch equivalent there.
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
    oracle_kwargs: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kwargs", MappingProxyType(dict(self.kwargs)))
        object.__setattr__(self, "skip", MappingProxyType(dict(self.skip)))
        object.__setattr__(self, "oracle_kwargs", MappingProxyType(dict(self.oracle_kwargs)))

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

    def skipped(self, group: str, dtype: str | None = None) -> str | None:
        """Why ``group`` does not apply (``'grad'`` also covers its sub-groups), or None.

        With ``dtype``, the keys ``'<group>@<dtype>'`` (and ``'grad@<dtype>'``,
        ``'all@<dtype>'``) count too.
        """
        keys = [group] + (["grad"] if group.startswith("grad") else [])
        if dtype is not None:
            keys = [f"{k}@{dtype}" for k in keys] + [f"all@{dtype}"] + keys
        for key in keys:
            if key in self.skip:
                return self.skip[key]
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
        Arguments differentiated by default (only those a case provides as arrays). The first
        is the loss's primary array: the one whose type, dtype and device the output must have,
        and the one the placement checks put on a ``tf.Variable``.
    extra_oracles : tuple of Oracle
        Oracles besides torch's, each a check of its own.
    fd_reference : callable, optional
        For a loss whose gradient is by design not the derivative of its value: the function
        whose finite difference the gradient must match, ``fd_reference(at, **arrays,
        **kwargs)`` with ``at`` the unperturbed (rounded) inputs (``complete_box_iou_loss``:
        alpha held at its value there, as torchvision's ``no_grad`` holds it).
    oracle_grad_projection : callable, optional
        ``projection(inputs, grads) -> grads`` applied to both sides of the ``grad_oracle``
        check, for an oracle whose gradient differs from the exact one by a known component
        (``ctc_loss``: torch's backward adds ``exp(log_probs)``, see :func:`_ctc_projection`).
        ``inputs`` are the rounded inputs.
    output_dtype : callable, optional
        ``output_dtype(dtype) -> str``: the dtype the loss returns for floating inputs of
        ``dtype``, where that is by design not ``dtype`` (a Keras class computes in its
        ``Loss.dtype``, float32 by default, for half inputs); None: the input dtype (the type
        check of every other entry).
    """

    name: str
    fn: Callable[..., Any]
    reference: Callable[..., Any]
    cases: tuple[Case, ...]
    oracle: str | None = None
    grad_args: tuple[str, ...] = ("input",)
    extra_oracles: tuple[Oracle, ...] = ()
    fd_reference: Callable[..., Any] | None = None
    oracle_grad_projection: Callable[..., Any] | None = None
    output_dtype: Callable[[str], str] | None = None

    def result_dtype(self, dtype: str) -> str:
        """The dtype the loss must return for a case run at ``dtype``."""
        return dtype if self.output_dtype is None else self.output_dtype(dtype)

    def __post_init__(self) -> None:
        labels = [c.label for c in self.cases]
        dup = sorted({x for x in labels if labels.count(x) > 1})
        if dup:
            raise ValueError(f"entry {self.name!r}: duplicate case labels {dup}")
        known = set(SKIP_GROUPS) | {o.name for o in self.extra_oracles}
        for c in self.cases:
            unknown = {k.partition("@")[0] for k in c.skip} - known
            if unknown:
                raise ValueError(
                    f"entry {self.name!r}, case {c.label!r}: unknown skip groups "
                    f"{sorted(unknown)}; expected some of {sorted(known)}"
                )

    @property
    def primary(self) -> str:
        """The primary array argument (the first of :attr:`grad_args`)."""
        return self.grad_args[0]

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
    oracle_kwargs: Mapping[str, Any] | None = None,
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
            # ``is not None``: Keras's reduction ``None`` must not match an unset flag
            placement=placement is not None and r == placement,
            inductor=inductor is not None and r == inductor,
            oracle_kwargs=dict(oracle_kwargs or {}),
        )
        for r in reductions
    ]


def _b(label: str, make: Make, kwargs: Mapping[str, Any] | None = None, **opts: Any) -> dict:
    """One base case: ``label``, ``make``, fixed keyword arguments and :func:`_cases` options."""
    return {"label": label, "make": make, "kwargs": kwargs, **opts}


def _entry(
    name: str,
    bases: list[dict],
    *,
    grad_args: tuple[str, ...] = ("input",),
    fn: Callable[..., Any] | None = None,
    reference: Callable[..., Any] | None = None,
    oracle: str | None = "",
    **options: Any,
) -> Entry:
    """An entry; the oracle is ``torch.nn.functional.<name>`` unless ``oracle`` says otherwise.

    ``fn`` defaults to ``lossbridge.<name>``, ``reference`` to ``references.<name>``.
    """
    cases = [c for base in bases for c in _cases(name, **base)]
    return Entry(
        name=name,
        fn=getattr(lossbridge, name) if fn is None else fn,
        reference=getattr(references, name) if reference is None else reference,
        cases=tuple(cases),
        oracle=name if oracle == "" else oracle,
        grad_args=grad_args,
        **options,
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

# ------------------------------------------------------------------------------------------
# Oracles besides torch.nn.functional: tf.nn.ctc_loss, optax's ctc_loss and sigmoid_focal_loss
# ------------------------------------------------------------------------------------------


def _ctc_padded(inputs: Mapping[str, np.ndarray]) -> tuple[np.ndarray, ...]:
    """``(log_probs (T, N, C), labels (N, S >= 1), input_lengths, target_lengths, unbatched)``
    from a case's inputs, concatenated or unbatched targets made padded (padding: label 0)."""
    lp = inputs["log_probs"]
    t = inputs["targets"]
    il = inputs["input_lengths"].reshape(-1)
    tl = inputs["target_lengths"].reshape(-1)
    unbatched = lp.ndim == 2
    if unbatched:
        lp, t = lp[:, None, :], t[None]
    labels = np.zeros((len(tl), max(1, int(tl.max(initial=0)))), dtype=np.int64)
    start = 0
    for i, n in enumerate(tl):
        row = t[start : start + n] if t.ndim == 1 else t[i, :n]
        labels[i, :n] = row
        start += n
    return lp, labels, il, tl, unbatched


def _ctc_reduce(per_sequence, tl, kwargs, unbatched):
    """Per-sequence losses reduced as torch's ``ctc_loss`` reduces them."""
    loss = np.asarray(per_sequence, dtype=np.float64)
    if kwargs.get("zero_infinity", False):
        loss = np.where(np.isinf(loss), 0.0, loss)
    reduction = kwargs.get("reduction", "mean")
    if reduction == "mean":
        return np.mean(loss / np.maximum(tl, 1))
    if reduction == "sum":
        return np.sum(loss)
    return loss[0] if unbatched else loss


def _tf_ctc(inputs, kwargs, dtype):
    import tensorflow as tf

    lp, labels, il, tl, unbatched = _ctc_padded(inputs)
    out = tf.nn.ctc_loss(
        labels=tf.constant(labels, tf.int32),
        logits=tf.constant(lp.astype(dtype)),
        label_length=tf.constant(tl, tf.int32),
        logit_length=tf.constant(il, tf.int32),
        logits_time_major=True,
        blank_index=kwargs.get("blank", 0),
    )
    return _ctc_reduce(out.numpy(), tl, kwargs, unbatched)


def _tf_ctc_unavailable(dtype: str) -> str | None:
    if importlib.util.find_spec("tensorflow") is None:
        return "tensorflow is not installed"
    if dtype == "float64":
        return (
            "tf.nn.ctc_loss fails on float64 (tensorflow 2.21: ctc_ops._ilabel_to_state "
            "multiplies the float64 log-probabilities by a float32 one-hot)"
        )
    return None


@functools.cache
def _optax_ctc_jit() -> Callable[..., Any]:
    """``jax.jit(optax.ctc_loss)``: eager, its ``lax.scan`` is compiled again on every call
    (0.4 s each); jitted, once per shape and dtype."""
    import jax
    import optax

    return jax.jit(optax.ctc_loss, static_argnames=("blank_id",))


def _optax_ctc(inputs, kwargs, dtype):
    import jax.numpy as jnp

    lp, labels, il, tl, unbatched = _ctc_padded(inputs)
    n_frames, n_labels = lp.shape[0], labels.shape[1]
    out = _optax_ctc_jit()(
        jnp.asarray(np.moveaxis(lp, 1, 0).astype(dtype)),
        jnp.asarray((np.arange(n_frames)[None] >= il[:, None]).astype(dtype)),
        jnp.asarray(labels.astype(np.int32)),
        jnp.asarray((np.arange(n_labels)[None] >= tl[:, None]).astype(dtype)),
        blank_id=kwargs.get("blank", 0),
    )
    return _ctc_reduce(np.asarray(out), tl, kwargs, unbatched)


def _optax_unavailable(dtype: str) -> str | None:
    if importlib.util.find_spec("optax") is None or importlib.util.find_spec("jax") is None:
        return "optax is not installed"
    if dtype == "float64":
        import jax

        if not jax.config.jax_enable_x64:
            return "jax_enable_x64 is off: optax would compute in float32"
    return None


def _optax_focal(inputs, kwargs, dtype):
    import jax.numpy as jnp
    import optax

    alpha = kwargs.get("alpha", 0.25)
    out = optax.sigmoid_focal_loss(
        jnp.asarray(inputs["inputs"].astype(dtype)),
        jnp.asarray(inputs["targets"].astype(dtype)),
        alpha=None if alpha < 0 else alpha,
        gamma=kwargs.get("gamma", 2),
    )
    loss = np.asarray(out, dtype=np.float64)
    reduction = kwargs.get("reduction", "none")
    if reduction == "mean":
        return np.mean(loss) if loss.size else np.float64("nan")
    return np.sum(loss) if reduction == "sum" else loss


#: Every oracle besides torch's, by check name.
ORACLES: dict[str, Oracle] = {
    o.name: o
    for o in (
        Oracle("tf_ctc_loss", "tf", _tf_ctc, _tf_ctc_unavailable),
        Oracle("optax_ctc_loss", "optax", _optax_ctc, _optax_unavailable),
        Oracle("optax_sigmoid_focal_loss", "optax", _optax_focal, _optax_unavailable),
    )
}


# ------------------------------------------------------------------------------------------
# Margin, ranking and embedding losses
# ------------------------------------------------------------------------------------------

#: One compiled case per loss (aot_eager), also the placement case: the compiled modes cost
#: 1.5-3 s per case and backend, and the reductions share one code path (_reduction.reduce).
_AOT = {"compile": ("mean",), "placement": "mean"}
#: Large-magnitude cases run unreduced: a reduced loss of size 1e4 leaves its finite difference
#: in a small element's direction only about 1e-7 of relative precision (cancellation).
_ELEMENTWISE = ("none",)
_KINK = (
    "a hinge exactly at its kink (z = 0): the central difference averages the one-sided "
    "slopes, torch's gradient (which lossbridge follows) takes one side"
)
_UNINIT = (
    "torch returns uninitialised memory for an empty batch's 'mean' and 'sum' (lossbridge: "
    "NaN and 0)"
)


def _signs(shape):
    return lambda r: r.choice([-1.0, 1.0], size=shape)


def _normal(shape, scale=1.0):
    return lambda r: scale * r.standard_normal(shape)


def _arrays(**draws: Callable[[np.random.Generator], np.ndarray]) -> Make:
    """Arrays drawn in the order given."""

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        return {k: f(r) for k, f in draws.items()}

    return make


def _const(value: Any) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda r: np.asarray(value)


_ODD = [0.0, 0.5, 2.0, -2.0, 1.0, -1.0, 3.0]  # targets other than +-1, cycled

_SOFT_MARGIN = _entry(
    "soft_margin_loss",
    [
        _b("basic", _arrays(input=_normal((8, 5), 2.0), target=_signs((8, 5))), **_AOT),
        _b("target_row", _arrays(input=_normal((8, 5), 2.0), target=_signs((5,)))),
        _b("real_targets", _pair((8, 5), scale=1.5)),
        _b(
            "large",
            _fixed(
                input=[-100.0, 100.0, -89.0, 20.0, 1e4, -1e4, 0.5],
                target=[1.0, 1.0, 1.0, -1.0, 1.0, -1.0, -1.0, 1.0, 1.0],
            ),
            skip={
                "oracle": "torch computes log1p(exp(-y x)): inf in float32 where -y x > 88.7 "
                "(lossbridge returns the exact value, as torch does in float64)"
            },
            reductions=_ELEMENTWISE,
        ),
        _b("empty", _pair((0, 5))),
    ],
)


def _binary(shape):
    return lambda r: r.integers(0, 2, shape).astype(np.float64)


_MLSM = _entry(
    "multilabel_soft_margin_loss",
    [
        _b("basic", _arrays(input=_normal((8, 5), 2.0), target=_binary((8, 5))), **_AOT),
        _b(
            "weight_row_soft",
            _arrays(
                input=_normal((8, 5), 2.0),
                target=lambda r: r.uniform(0, 1, (8, 5)),
                weight=_weights((5,)),
            ),
        ),
        _b(
            "weight_full_3d",
            _arrays(
                input=_normal((2, 3, 4)), target=_binary((2, 3, 4)), weight=_weights((2, 3, 4))
            ),
        ),
        _b(
            "one_d_large",
            _fixed((5,), input=[1e4, -1e4, 3e4, -50.0, 0.5], target=[1.0, 0.0, 0.5, 1.0, 0.0]),
            reductions=_ELEMENTWISE,
        ),
        _b("empty", _arrays(input=_normal((0, 5)), target=_binary((0, 5)))),
    ],
    grad_args=("input", "weight"),
)

# Rows: labels {2, 0} then junk after the -1; no labels; every class; a label listed twice; ...
_MLM_TARGET = np.array(
    [
        [2, 0, -1, 3, 1],
        [-1, 1, 2, 0, 0],
        [0, 1, 2, 3, 4],
        [1, 1, -1, -1, -1],
        [4, -1, -1, -1, -1],
        [3, 2, 1, -1, 0],
        [0, -1, 2, 2, 2],
        [2, 4, -1, -1, -1],
    ]
)


def _mlm(shape, target, ties=False):
    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        x = r.standard_normal(shape)
        if ties:  # 1 - x[j] + x[k] == 0 exactly for the label j and another class k
            x = np.round(2 * x) / 2
            x.reshape(-1, shape[-1])[:, :2] = [1.5, 0.5]
        return {"input": x, "target": np.asarray(target)}

    return make


_MLM = _entry(
    "multilabel_margin_loss",
    [
        _b("basic", _mlm((8, 5), _MLM_TARGET), **_AOT),
        _b("one_d", _mlm((5,), [3, 1, -1, 0, 2])),
        _b(
            "ties",
            _mlm((8, 5), np.resize([[0, 3, -1, 1, 1]], (8, 5)), ties=True),
            skip={"grad_fd": _KINK},
        ),
        _b("empty", _mlm((0, 5), np.zeros((0, 5), dtype=np.int64)), reductions=("none",)),
        _b(
            "empty",
            _mlm((0, 5), np.zeros((0, 5), dtype=np.int64)),
            reductions=("mean", "sum"),
            skip={"oracle": _UNINIT},
        ),
    ],
)


def _mm(shape, c=5, ties=False, weight=False):
    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        x = r.standard_normal(shape)
        t = r.integers(0, c, shape[:-1])
        if ties:  # margin - x[y] + x[i] == 0 exactly (margin 1): x[y] = 1.5, x[i] = 0.5
            x = np.round(2 * x) / 2
            t = np.ones(shape[:-1], dtype=np.int64)
            x.reshape(-1, c)[:, :2] = [0.5, 1.5]
        out = {"input": x, "target": t}
        if weight:
            out["weight"] = _class_weight(r, c)
        return out

    return make


_MM = _entry(
    "multi_margin_loss",
    [
        _b("basic", _mm((8, 5)), **_AOT),
        _b("p2_weight", _mm((8, 5), weight=True), {"p": 2, "margin": 0.7}),
        _b(
            "weight_grad",
            _mm((8, 5), weight=True),
            {"margin": -0.3},
            grad_args=("input", "weight"),
            skip={"grad_oracle": "torch's multi_margin_loss is not differentiable w.r.t. weight"},
        ),
        _b("one_d", _mm((5,)), {"p": 2}),
        _b("ties", _mm((8, 5), ties=True), skip={"grad_fd": _KINK}),
        _b("empty", _mm((0, 5)), reductions=("none",)),
        _b("empty", _mm((0, 5)), reductions=("mean", "sum"), skip={"oracle": _UNINIT}),
    ],
)

_HINGE = _entry(
    "hinge_embedding_loss",
    [
        _b(
            "basic",
            _arrays(input=lambda r: r.uniform(0, 2, (8, 5)), target=_signs((8, 5))),
            **_AOT,
        ),
        _b(
            "odd_targets",
            _arrays(input=_normal((8, 5)), target=lambda r: np.resize(_ODD, (8, 5))),
            {"margin": 0.5},
        ),
        _b(
            "target_row",
            _arrays(input=lambda r: r.uniform(0, 3, (8, 5)), target=_signs((5,))),
            {"margin": 2.0},
        ),
        _b(
            "ties",
            _fixed(input=[0.5, 1.0, 0.5, 0.25, 2.0, 0.5, 0.75], target=[-1.0, 1.0, -1.0]),
            {"margin": 0.5},
            skip={"grad_fd": _KINK},
        ),
        _b("empty", _pair((0, 5))),
    ],
)

_RANKING = _entry(
    "margin_ranking_loss",
    [
        _b(
            "basic",
            _arrays(input1=_normal((8, 5)), input2=_normal((8, 5)), target=_signs((8, 5))),
            **_AOT,
        ),
        _b(
            "one_d",
            _arrays(input1=_normal((5,)), input2=_normal((5,)), target=_signs((5,))),
            {"margin": 0.5},
        ),
        _b(
            "broadcast_odd",
            _arrays(
                input1=_normal((8, 5)),
                input2=_normal((1, 5)),
                target=lambda r: np.resize(_ODD, (8, 1)),
            ),
            {"margin": -0.2},
        ),
        _b(
            "ties",
            _fixed(input1=[1.5, 0.25, 1.0, -0.5], input2=[1.0, 0.75, 0.5, 0.0], target=[1.0, -1.0]),
            {"margin": 0.5},
            skip={"grad_fd": _KINK},
        ),
        _b(
            "empty",
            _arrays(input1=_normal((0, 5)), input2=_normal((0, 5)), target=_signs((0, 5))),
        ),
    ],
    grad_args=("input1", "input2"),
)


def _cos_pairs(n=8, rows2=None, zero_row=False, odd=False):
    """input1 (n, 5) (or (5,) for ``n=None``), input2 with ``rows2`` rows (default n), targets."""

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        lead = () if n is None else (n,)
        x1 = r.standard_normal((*lead, 5))
        x2 = r.standard_normal((*(lead if rows2 is None else (rows2,)), 5))
        y = r.choice([-1.0, 1.0], size=lead)
        if zero_row:
            x1[1] = 0.0
        if odd:
            y = np.resize(_ODD, y.shape)
        return {"input1": x1, "input2": x2, "target": y}

    return make


_COSINE = _entry(
    "cosine_embedding_loss",
    [
        _b("basic", _cos_pairs(), **_AOT),
        _b(
            "zero_vector_odd",
            _cos_pairs(zero_row=True, odd=True),
            {"margin": -0.5},
            skip={
                "grad_fd": "a zero vector: cos(h e, v) = h v / sqrt(h^2 + 1e-12) |v| is far from "
                "linear over the step h = 6e-6"
            },
        ),
        _b("broadcast", _cos_pairs(rows2=1), {"margin": 0.3}),
        _b("one_d", _cos_pairs(n=None), {"margin": -0.9}),
        _b("empty", _cos_pairs(n=0)),
    ],
    grad_args=("input1", "input2"),
)


def _triplets(shape=(8, 5), scale=1.0):
    return _arrays(
        anchor=_normal(shape, scale), positive=_normal(shape, scale), negative=_normal(shape, scale)
    )


_TRIPLET = _entry(
    "triplet_margin_loss",
    [
        _b("basic", _triplets(), compile=("mean",), placement="mean", inductor="mean"),
        _b("p1_swap", _triplets(), {"p": 1, "swap": True}),
        _b("p3_eps0", _triplets(), {"p": 3, "eps": 0.0, "margin": 0.5}),
        _b("pinf_swap", _triplets(), {"p": math.inf, "swap": True}),
        _b("one_d", _triplets((5,)), {"margin": 2.0}),
        _b("empty", _triplets((0, 5))),
    ],
    grad_args=("anchor", "positive", "negative"),
)


def _cosine_distance(u: Any, v: Any) -> Any:
    """``1 - cos(u, v)`` over the last axis, written once against the array API.

    It takes the namespace of its arguments (lossbridge's dispatch, which also knows
    TensorFlow), so the same callable runs on every backend's arrays and on the reference's
    NumPy arrays.
    """
    xp, _ = get_namespace(u, v)
    dot = xp.sum(u * v, axis=-1)
    return 1.0 - dot / xp.sqrt(xp.sum(u * u, axis=-1) * xp.sum(v * v, axis=-1))


def _torch_cosine_distance(u: Any, v: Any) -> Any:
    """:func:`_cosine_distance` for the torch oracle, with ``torch.nn.functional``'s cosine."""
    import torch.nn.functional as F  # noqa: N812

    return 1.0 - F.cosine_similarity(u, v, dim=-1, eps=1e-30)


_COSINE_DISTANCE = {"distance_function": _cosine_distance}
_TORCH_COSINE = {"distance_function": _torch_cosine_distance}

_TRIPLET_DISTANCE = _entry(
    "triplet_margin_with_distance_loss",
    [
        _b("default", _triplets(), **_AOT),
        _b("default_swap", _triplets(), {"swap": True, "margin": 2.0}),
        _b(
            "cosine_swap",
            _triplets(),
            {**_COSINE_DISTANCE, "swap": True, "margin": 0.5},
            oracle_kwargs=_TORCH_COSINE,
            compile=("sum",),
        ),
        _b("cosine_one_d", _triplets((5,)), _COSINE_DISTANCE, oracle_kwargs=_TORCH_COSINE),
        _b("empty", _triplets((0, 5))),
    ],
    grad_args=("anchor", "positive", "negative"),
)

# ------------------------------------------------------------------------------------------
# ctc_loss: torch's oracle, plus tf.nn.ctc_loss and optax's ctc_loss
# ------------------------------------------------------------------------------------------


def _ctc_projection(inputs: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray]) -> dict:
    r"""Gradients w.r.t. ``log_probs`` through ``log_softmax``: ``g - p * sum_k g_k`` per frame.

    torch's hand-written CTC backward returns :math:`e^{y} - \gamma` (it assumes ``log_probs``
    is a ``log_softmax`` output), the exact derivative is :math:`-\gamma` (lossbridge, the
    finite difference); they differ by :math:`p = e^{y}` per frame, the one direction this
    projection (the Jacobian of ``log_softmax``, transposed, at normalised ``log_probs``)
    removes. Both then give :math:`p - \gamma`, the gradient w.r.t. the logits.
    """
    p = np.exp(inputs["log_probs"])
    g = grads["log_probs"]
    return {"log_probs": g - p * np.sum(g, axis=-1, keepdims=True)}


def _ctc(targets, input_lengths, target_lengths, frames=6, batch=3, classes=4) -> Make:
    """Log-softmax of random logits, (T, N, C) (or (T, C) for ``batch=None``), and the labels."""

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        shape = (frames, classes) if batch is None else (frames, batch, classes)
        return {
            "log_probs": _log_softmax(1.5 * r.standard_normal(shape), -1),
            "targets": np.asarray(targets),
            "input_lengths": np.asarray(input_lengths),
            "target_lengths": np.asarray(target_lengths),
        }

    return make


# Every batched case has T = 6 frames, N = 3 sequences, C = 4 classes, and its longest input and
# target are 6 and 3 long (lossbridge trims to those, and eager JAX compiles per shape).
# Labels [1, 2, 1] (a repeat), [3, 3] (equal labels back to back: a blank between them), [2];
# lengths vary within the batch; the padding is junk.
_CTC_PADDED = _ctc([[1, 2, 1], [3, 3, 0], [2, 2, 3]], [6, 5, 4], [3, 2, 1])
_INF_LOSS = "an infeasible sequence's loss is inf"
_CTC_INFEASIBLE = {
    "grad_oracle": "torch's gradient of an infinite loss is NaN (lossbridge: 0)",
    "grad_fd": f"{_INF_LOSS}: its finite difference is NaN (inf - inf)",
    "tf_ctc_loss": "tf.nn.ctc_loss gives a large finite value (about 707) for an infeasible "
    "sequence, not inf",
    "optax_ctc_loss": "optax's ctc_loss gives about 1e5 (-log_epsilon) for an infeasible "
    "sequence, not inf",
}
# Too few frames: [1, 1] needs 3 (a blank between the equal labels), [2, 3, 1] fits in 3.
_CTC_SHORT = _ctc([[1, 1, 0], [2, 3, 1], [3, 0, 0]], [2, 3, 6], [2, 3, 1])

_CTC = _entry(
    "ctc_loss",
    [
        _b("padded", _CTC_PADDED, compile=("mean",), placement="mean", inductor="mean"),
        # Concatenated targets, blank 3: [0, 2, 0] in 6 frames, an empty target in 4 frames and
        # another in no frame at all (loss 0)
        _b(
            "concatenated_empty_blank_3",
            _ctc([0, 2, 0], [6, 4, 0], [3, 0, 0]),
            {"blank": 3},
            reductions=("none", "mean"),
        ),
        _b("infeasible", _CTC_SHORT, skip=_CTC_INFEASIBLE, reductions=("none",)),
        _b(
            "infeasible_zero_infinity",
            _CTC_SHORT,
            {"zero_infinity": True},
            skip={k: v for k, v in _CTC_INFEASIBLE.items() if k.endswith("ctc_loss")},
            reductions=("mean",),
        ),
        _b("unbatched", _ctc([1, 1, 2], 6, 3, batch=None), reductions=("none",)),
    ],
    grad_args=("log_probs",),
    fn=ctc_loss,
    extra_oracles=(ORACLES["tf_ctc_loss"], ORACLES["optax_ctc_loss"]),
    oracle_grad_projection=_ctc_projection,
)

# ------------------------------------------------------------------------------------------
# torchvision.ops: sigmoid_focal_loss and the box losses (no torch oracle)
# ------------------------------------------------------------------------------------------

_FOCAL = _entry(
    "sigmoid_focal_loss",
    [
        _b("basic", _arrays(inputs=_normal((8, 5), 2.0), targets=_binary((8, 5))), **_AOT),
        _b(
            "no_alpha_soft",
            _arrays(inputs=_normal((8, 5), 2.0), targets=lambda r: r.uniform(0, 1, (8, 5))),
            {"alpha": -1, "gamma": 1.5},
        ),
        _b(
            "gamma_0",
            _arrays(inputs=_normal((8, 5), 2.0), targets=_binary((8, 5))),
            {"alpha": 0.5, "gamma": 0},
        ),
        _b(
            "large_logits",
            _fixed(
                inputs=[30.0, -30.0, 100.0, -100.0, 1e4, -1e4, 0.5],
                targets=[0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 0.0, 0.0],
            ),
            reductions=_ELEMENTWISE,
        ),
        _b("empty", _arrays(inputs=_normal((0, 5)), targets=_binary((0, 5)))),
    ],
    grad_args=("inputs",),
    oracle=None,
    extra_oracles=(ORACLES["optax_sigmoid_focal_loss"],),
)


def _boxes(n=8):
    """Valid random boxes (x1 < x2, y1 < y2), shape (n, 4), two sets that mostly overlap."""

    def one(r: np.random.Generator) -> np.ndarray:
        xy = r.uniform(0.0, 2.0, (n, 2))
        wh = r.uniform(0.5, 2.5, (n, 2))
        return np.concatenate([xy, xy + wh], axis=1)

    return _arrays(boxes1=one, boxes2=one)


# Identical, nested, disjoint, touching (zero-width overlap), sharing corners (ties in every
# max/min), a zero-height and a zero-width box, and a generic overlap.
_PAIRS = _arrays(
    boxes1=_const(
        [
            [0.5, 1.0, 2.0, 3.0],
            [0.0, 0.0, 4.0, 4.0],
            [0.0, 0.0, 1.0, 1.0],
            [0.0, 0.0, 1.0, 1.0],
            [0.0, 0.0, 2.0, 1.0],
            [0.5, 1.5, 2.5, 1.5],
            [1.0, 0.5, 1.0, 3.0],
            [0.3, 0.8, 2.9, 3.1],
        ]
    ),
    boxes2=_const(
        [
            [0.5, 1.0, 2.0, 3.0],
            [1.0, 0.5, 3.0, 3.5],
            [2.0, 0.5, 3.0, 2.0],
            [1.0, 0.0, 2.0, 1.0],
            [0.0, 0.0, 1.0, 2.0],
            [1.0, 1.0, 2.0, 2.0],
            [0.0, 1.0, 2.0, 2.0],
            [1.1, 0.2, 3.3, 2.5],
        ]
    ),
)
_BOX_KINKS = (
    "ties in torchvision's max/min (identical boxes, shared corners) and touching or "
    "zero-area boxes (the intersection's mask) are kinks: no central difference"
)


def _box_entry(name: str, **options: Any) -> Entry:
    return _entry(
        name,
        [
            _b("basic", _boxes(), **_AOT),
            _b("pairs", _PAIRS, skip={"grad_fd": _BOX_KINKS}),
            _b("empty", _boxes(0)),
        ],
        grad_args=("boxes1", "boxes2"),
        oracle=None,
        **options,
    )


_GIOU = _box_entry("generalized_box_iou_loss")
_DIOU = _box_entry("distance_box_iou_loss")
_CIOU = _box_entry(
    "complete_box_iou_loss", fd_reference=references.complete_box_iou_loss_frozen_alpha
)

#: Every loss's entry, by name.
REGISTRY: dict[str, Entry] = {
    e.name: e
    for e in (
        _CE,
        _NLL,
        _BCE,
        _BCEL,
        _KL,
        _MSE,
        _L1,
        _HUBER,
        _SMOOTH_L1,
        _POISSON,
        _GAUSS,
        _SOFT_MARGIN,
        _MLSM,
        _MLM,
        _MM,
        _HINGE,
        _RANKING,
        _COSINE,
        _TRIPLET,
        _TRIPLET_DISTANCE,
        _CTC,
        _FOCAL,
        _GIOU,
        _DIOU,
        _CIOU,
    )
}

# The losses beyond the frameworks (issue 4) live in one module per family; each defines
# ``ENTRIES`` with the helpers above, so it is imported only now that they exist, and may define
# ``EXCEPTIONS`` (:class:`~lossbridge.conformance.tolerances.Loosened` bounds, each with its
# measured error and reason), added to :data:`~lossbridge.conformance.tolerances.EXCEPTIONS`.
from lossbridge.conformance import (  # noqa: E402
    extra_angular,
    extra_boxes,
    extra_classification,
    extra_embedding,
    extra_keras,
    extra_linear_ce,
    extra_lovasz,
    extra_nn,
    extra_optax,
    extra_regression,
    extra_regularization,
    extra_segmentation,
)

#: The registry's families beyond the frameworks, by module.
EXTRA_MODULES = (
    extra_regression,
    extra_regularization,
    extra_classification,
    extra_segmentation,
    extra_lovasz,
    extra_boxes,
    extra_embedding,
    extra_angular,
    extra_linear_ce,
)
#: The porting dialects (``lossbridge.keras``, ``lossbridge.optax``, ``lossbridge.nn``): entries
#: named ``keras.<Name>``, ``optax.<name>``, ``nn.<Name>``, each checked against its framework.
DIALECT_MODULES = (extra_keras, extra_optax, extra_nn)
for _module in EXTRA_MODULES + DIALECT_MODULES:
    for _e in _module.ENTRIES:
        if _e.name in REGISTRY:
            raise ValueError(f"{_module.__name__} registers {_e.name!r} twice")
        REGISTRY[_e.name] = _e
    _tolerances.EXCEPTIONS += tuple(getattr(_module, "EXCEPTIONS", ()))


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
