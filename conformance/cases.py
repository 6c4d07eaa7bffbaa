"""The vocabulary the conformance entries are written in: cases, entries and their inputs.

:mod:`lossbridge.conformance.registry` and the family modules (``extra_*.py``) build every entry
from these names: :class:`Case`, :class:`Entry` and :class:`Oracle`; :func:`base` (one base
case) and :func:`entry` (an entry from base cases, each expanded over the reductions by
:func:`expand`, its generator seeded by :func:`case_seed`); the input builders (``make(rng) ->
{name: ndarray}`` functions such as :func:`pair` and :func:`class_scores`, and the draws
:func:`arrays` combines: :func:`normal`, :func:`signs`, :func:`const`, ...); and the flags and
skip reasons several entries share (:data:`AOT`, :data:`NAN_MEAN`, ...).

Everything here is NumPy: no framework is imported at module level.
"""

from __future__ import annotations

import importlib.util
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
from lossbridge.conformance.references import log_softmax, softmax

# ------------------------------------------------------------------------------------------
# What a case and an entry are
# ------------------------------------------------------------------------------------------


#: An input builder: ``make(rng) -> {argument name: ndarray}``.
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

    def inputs(self, rng: np.random.Generator | None = None) -> dict[str, np.ndarray]:
        """The case's array arguments (float64 data, int64 indices), drawn from ``rng``:
        by default the case's own seed, the same on every call."""
        out = {}
        for k, v in self.make(self.rng() if rng is None else rng).items():
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
        (``ctc_loss``: torch's backward adds ``exp(log_probs)``, see ``registry._ctc_projection``).
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


# ------------------------------------------------------------------------------------------
# Building an entry: base cases, expanded over the reductions
# ------------------------------------------------------------------------------------------


#: The reductions a base case is expanded over unless it names its own.
REDUCTIONS = ("none", "mean", "sum")


def case_seed(loss: str, label: str) -> int:
    """The seed of a case's generator: a CRC-32 of ``'<loss>/<base label>'``."""
    return zlib.crc32(f"{loss}/{label}".encode())


def expand(
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
            seed=case_seed(loss, label),
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


def base(label: str, make: Make, kwargs: Mapping[str, Any] | None = None, **opts: Any) -> dict:
    """One base case: ``label``, ``make``, fixed keyword arguments and :func:`expand` options."""
    return {"label": label, "make": make, "kwargs": kwargs, **opts}


def entry(
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
    cases = [c for b in bases for c in expand(name, **b)]
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
# Flags and skip reasons shared by entries
# ------------------------------------------------------------------------------------------


#: One compiled case per loss (aot_eager), also the placement case: the compiled modes cost
#: 1.5-3 s per case and backend, and the reductions share one code path (_reduction.reduce).
AOT = {"compile": ("mean",), "placement": "mean"}


#: Large-magnitude cases run unreduced: a reduced loss of size 1e4 leaves its finite difference
#: in a small element's direction only about 1e-7 of relative precision (cancellation).
ELEMENTWISE = ("none",)


#: A mean of nothing (every target ignored, no positive pair, ...): ``grad_fd`` cannot run.
NAN_MEAN = "the loss is NaN (0 / 0): its finite difference is NaN, torch defines the gradient as 0"


#: A hinge at its kink: ``grad_fd`` cannot run.
KINK = (
    "a hinge exactly at its kink (z = 0): the central difference averages the one-sided "
    "slopes, torch's gradient (which lossbridge follows) takes one side"
)


#: Inputs at the edge of the domain: ``grad_fd`` cannot run.
BOUNDARY = "inputs on or within one step of the domain's boundary (0 or 1): no central difference"


# ------------------------------------------------------------------------------------------
# Input builders: ``make(rng)`` functions and the draws they combine (float64 / int64, small
# shapes, so finite differences stay cheap)
# ------------------------------------------------------------------------------------------


def arrays(**draws: Callable[[np.random.Generator], np.ndarray]) -> Make:
    """Arrays drawn in the order given."""

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        return {k: f(r) for k, f in draws.items()}

    return make


def const(value: Any) -> Callable[[np.random.Generator], np.ndarray]:
    """A draw that is always ``value`` (it takes nothing from the generator)."""
    return lambda r: np.asarray(value)


def normal(shape, scale=1.0):
    """A draw of ``scale`` times standard normal values of ``shape``."""
    return lambda r: scale * r.standard_normal(shape)


def signs(shape):
    """A draw of -1.0 and 1.0 values of ``shape``."""
    return lambda r: r.choice([-1.0, 1.0], size=shape)


def binary(shape):
    """A draw of 0.0 and 1.0 values of ``shape``."""
    return lambda r: r.integers(0, 2, shape).astype(np.float64)


def weights(shape):
    """A draw of weights of ``shape``, uniform in [0.2, 2)."""
    return lambda r: r.uniform(0.2, 2.0, shape)


def with_arrays(make: Make, **extra: Callable[[np.random.Generator], np.ndarray]) -> Make:
    """``make`` plus extra arrays drawn after its own (so its arrays do not change)."""

    def wrapped(r: np.random.Generator) -> dict[str, np.ndarray]:
        out = make(r)
        out.update({k: f(r) for k, f in extra.items()})
        return out

    return wrapped


def fixed(shape: tuple[int, ...] = (8, 5), **values: Any) -> Make:
    """Given values, repeated cyclically to ``shape`` (shared shapes keep JAX's op cache warm)."""

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        return {k: np.resize(np.asarray(v, dtype=np.float64), shape) for k, v in values.items()}

    return make


def pair(shape, scale=1.0):
    """``input`` and ``target`` of ``shape``, ``scale`` times standard normal."""

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        return {
            "input": scale * r.standard_normal(shape),
            "target": scale * r.standard_normal(shape),
        }

    return make


def tied_pair(r: np.random.Generator) -> dict[str, np.ndarray]:
    """A (8, 5) :func:`pair` whose even rows are equal (``input == target``)."""
    x = r.standard_normal((8, 5))
    y = r.standard_normal((8, 5))
    y[::2] = x[::2]  # exact ties: the gradient of |x - y| is 0 there, as in torch
    return {"input": x, "target": y}


# ------------------------------------------------------------------------------------------
# Class scores and targets
# ------------------------------------------------------------------------------------------


def class_weight(r: np.random.Generator, c: int) -> np.ndarray:
    """``c`` class weights, uniform in [0.2, 2)."""
    return r.uniform(0.2, 2.0, c)


def class_scores(shape, c, scale=2.0, weight=False, ignore=0, ignore_value=-100, probs=False):
    """Logits of ``shape`` (class axis 1, or 0 for 1-D) with targets; a ``make`` function."""

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        x = scale * r.standard_normal(shape)
        ca = 0 if len(shape) == 1 else 1
        if probs:
            t = softmax(r.standard_normal(shape), ca)
        else:
            tshape = () if len(shape) == 1 else (shape[0], *shape[2:])
            t = r.integers(0, c, tshape)
            if ignore:
                flat = t.reshape(-1)
                flat[r.choice(flat.size, size=ignore, replace=False)] = ignore_value
                t = flat.reshape(tshape)
        out = {"input": x, "target": t}
        if weight:
            out["weight"] = class_weight(r, c)
        return out

    return make


def as_log_probs(make: Make) -> Make:
    """``make`` with its ``input`` turned into log-probabilities (class axis 1, or 0 for 1-D)."""

    def wrapped(r: np.random.Generator) -> dict[str, np.ndarray]:
        out = make(r)
        x = out["input"]
        if x.size:
            out["input"] = log_softmax(x, 0 if x.ndim == 1 else 1)
        return out

    return wrapped


def all_ignored(r: np.random.Generator) -> dict[str, np.ndarray]:
    """(8, 5) logits whose 8 targets are all ``-100`` (torch's default ``ignore_index``)."""
    return {"input": r.standard_normal((8, 5)), "target": np.full(8, -100)}


# ------------------------------------------------------------------------------------------
# Inputs of the torch families, shared with the nn dialect
# ------------------------------------------------------------------------------------------


def probs_targets(shape, lo=0.02, hi=0.98, hard=False):
    """Probabilities in [lo, hi) and targets in [0, 1) (0 or 1 with ``hard``): BCE inputs."""

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        t = r.integers(0, 2, shape).astype(np.float64) if hard else r.uniform(0, 1, shape)
        return {"input": r.uniform(lo, hi, shape), "target": t}

    return make


def logits_targets(shape, scale=2.0, hard=False):
    """Logits and targets in [0, 1) (0 or 1 with ``hard``): BCE-with-logits inputs."""

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        t = r.integers(0, 2, shape).astype(np.float64) if hard else r.uniform(0, 1, shape)
        return {"input": scale * r.standard_normal(shape), "target": t}

    return make


def large_logits(r: np.random.Generator) -> dict[str, np.ndarray]:
    """Fixed logits of magnitude 1e4 to 3e4, with targets and a ``pos_weight``."""
    x = np.array([[1e4, -1e4, 1e4, -1e4, 3e4], [-2e4, 1e4, -1e4, 0.5, -3e4]])
    t = np.array([[1.0, 0.0, 0.0, 1.0, 0.5], [0.5, 1.0, 0.25, 1.0, 0.0]])
    return {"input": x, "target": t, "pos_weight": np.array([0.5, 1.0, 2.0, 3.0, 1.5])}


def kl_inputs(shape, zeros=0, log_target=False):
    """Log-probabilities and target probabilities (``zeros`` of them 0; logs with
    ``log_target``) along the last axis: ``kl_div`` inputs."""

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        x = log_softmax(r.standard_normal(shape), -1)
        t = softmax(r.standard_normal(shape), -1)
        if zeros:
            flat = t.reshape(-1)
            flat[r.choice(flat.size, size=zeros, replace=False)] = 0.0
            t = flat.reshape(shape)
        return {"input": x, "target": np.log(t) if log_target else t}

    return make


def poisson_inputs(log_input=True, counts=None, zero_rate=False):
    """Log-rates (or rates) and Poisson counts (or the given ``counts``); every third rate 0
    with ``zero_rate``: ``poisson_nll_loss`` inputs."""

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        shape = (8, 5)
        t = r.poisson(3.0, shape).astype(np.float64) if counts is None else np.asarray(counts)
        shape = t.shape
        x = 0.5 * r.standard_normal(shape) if log_input else r.uniform(0.1, 5.0, shape)
        if zero_rate:
            x.reshape(-1)[::3] = 0.0
        return {"input": x, "target": t}

    return make


def gaussian_inputs(shape, var_shape=None, var_values=None):
    """A :func:`pair` and a ``var`` of ``var_shape`` (or the given values, cycled):
    ``gaussian_nll_loss`` inputs."""

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        out = pair(shape)(r)
        if var_values is not None:
            out["var"] = np.resize(np.asarray(var_values, dtype=np.float64), shape)
        else:
            out["var"] = r.uniform(0.1, 2.0, shape if var_shape is None else var_shape)
        return out

    return make


#: Targets other than +-1 (cycled), which the margin losses treat in their own ways.
ODD_TARGETS = [0.0, 0.5, 2.0, -2.0, 1.0, -1.0, 3.0]


#: ``multilabel_margin_loss`` targets. Rows: labels {2, 0} then junk after the -1; no labels;
#: every class; a label listed twice; ...
MLM_TARGET = np.array(
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


def multilabel_margin_inputs(shape, target, ties=False):
    """Scores of ``shape`` and the given ``target`` (hinges exactly at 0 with ``ties``)."""

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        x = r.standard_normal(shape)
        if ties:  # 1 - x[j] + x[k] == 0 exactly for the label j and another class k
            x = np.round(2 * x) / 2
            x.reshape(-1, shape[-1])[:, :2] = [1.5, 0.5]
        return {"input": x, "target": np.asarray(target)}

    return make


def multi_margin_inputs(shape, c=5, ties=False, weight=False):
    """Scores, class indices (hinges exactly at 0 with ``ties``) and optionally class weights."""

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        x = r.standard_normal(shape)
        t = r.integers(0, c, shape[:-1])
        if ties:  # margin - x[y] + x[i] == 0 exactly (margin 1): x[y] = 1.5, x[i] = 0.5
            x = np.round(2 * x) / 2
            t = np.ones(shape[:-1], dtype=np.int64)
            x.reshape(-1, c)[:, :2] = [0.5, 1.5]
        out = {"input": x, "target": t}
        if weight:
            out["weight"] = class_weight(r, c)
        return out

    return make


def cosine_pairs(n=8, rows2=None, zero_row=False, odd=False):
    """input1 (n, 5) (or (5,) for ``n=None``), input2 with ``rows2`` rows (default n), targets."""

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        lead = () if n is None else (n,)
        x1 = r.standard_normal((*lead, 5))
        x2 = r.standard_normal((*(lead if rows2 is None else (rows2,)), 5))
        y = r.choice([-1.0, 1.0], size=lead)
        if zero_row:
            x1[1] = 0.0
        if odd:
            y = np.resize(ODD_TARGETS, y.shape)
        return {"input1": x1, "input2": x2, "target": y}

    return make


def triplets(shape=(8, 5), scale=1.0):
    """``anchor``, ``positive`` and ``negative``, ``scale`` times standard normal."""
    return arrays(
        anchor=normal(shape, scale), positive=normal(shape, scale), negative=normal(shape, scale)
    )


def cosine_distance(u: Any, v: Any) -> Any:
    """``1 - cos(u, v)`` over the last axis, written once against the array API.

    It takes the namespace of its arguments (lossbridge's dispatch, which also knows
    TensorFlow), so the same callable runs on every backend's arrays and on the reference's
    NumPy arrays.
    """
    xp, _ = get_namespace(u, v)
    dot = xp.sum(u * v, axis=-1)
    return 1.0 - dot / xp.sqrt(xp.sum(u * u, axis=-1) * xp.sum(v * v, axis=-1))


def torch_cosine_distance(u: Any, v: Any) -> Any:
    """:func:`cosine_distance` for the torch oracle, with ``torch.nn.functional``'s cosine."""
    import torch.nn.functional as F  # noqa: N812

    return 1.0 - F.cosine_similarity(u, v, dim=-1, eps=1e-30)


def ctc_inputs(targets, input_lengths, target_lengths, frames=6, batch=3, classes=4) -> Make:
    """Log-softmax of random logits, (T, N, C) (or (T, C) for ``batch=None``), and the labels."""

    def make(r: np.random.Generator) -> dict[str, np.ndarray]:
        shape = (frames, classes) if batch is None else (frames, batch, classes)
        return {
            "log_probs": log_softmax(1.5 * r.standard_normal(shape), -1),
            "targets": np.asarray(targets),
            "input_lengths": np.asarray(input_lengths),
            "target_lengths": np.asarray(target_lengths),
        }

    return make


# Every batched case has T = 6 frames, N = 3 sequences, C = 4 classes, and its longest input and
# target are 6 and 3 long (lossbridge trims to those, and eager JAX compiles per shape).
# Labels [1, 2, 1] (a repeat), [3, 3] (equal labels back to back: a blank between them), [2];
# lengths vary within the batch; the padding is junk.
CTC_PADDED = ctc_inputs([[1, 2, 1], [3, 3, 0], [2, 2, 3]], [6, 5, 4], [3, 2, 1])


# Too few frames: [1, 1] needs 3 (a blank between the equal labels), [2, 3, 1] fits in 3.
CTC_SHORT = ctc_inputs([[1, 1, 0], [2, 3, 1], [3, 0, 0]], [2, 3, 6], [2, 3, 1])


def boxes(n=8):
    """Valid random boxes (x1 < x2, y1 < y2), shape (n, 4), two sets that mostly overlap."""

    def one(r: np.random.Generator) -> np.ndarray:
        xy = r.uniform(0.0, 2.0, (n, 2))
        wh = r.uniform(0.5, 2.5, (n, 2))
        return np.concatenate([xy, xy + wh], axis=1)

    return arrays(boxes1=one, boxes2=one)


# Identical, nested, disjoint, touching (zero-width overlap), sharing corners (ties in every
# max/min), a zero-height and a zero-width box, and a generic overlap.
BOX_PAIRS = arrays(
    boxes1=const(
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
    boxes2=const(
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


# ------------------------------------------------------------------------------------------
# Oracles' availability
# ------------------------------------------------------------------------------------------


def optax_unavailable(dtype: str) -> str | None:
    """Why an optax oracle cannot run at ``dtype`` (not installed, JAX without x64), or None."""
    if importlib.util.find_spec("optax") is None or importlib.util.find_spec("jax") is None:
        return "optax is not installed"
    if dtype == "float64":
        import jax

        if not jax.config.jax_enable_x64:
            return "jax_enable_x64 is off: optax would compute in float32"
    return None
