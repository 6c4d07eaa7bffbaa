"""The bad-input matrix: every loss, every category of bad input, every backend.

Each loss of the conformance registry (the dialects, whose names hold a ``.``, excepted) is
called with its first case's inputs made wrong in one way at a time. A bad call must raise a
``ValueError`` or ``TypeError`` from lossbridge itself (the innermost traceback frame is in
lossbridge, not deep inside a framework) whose message starts with the loss's name
(``"<loss>: "``) and names the argument, what it got and what was expected. Where torch itself
warns and broadcasts (``mse_loss`` with an ``(N,)`` input and an ``(N, 1)`` target), lossbridge
does the same: the expected outcome is that ``UserWarning``.

``tests/test_validation_matrix.py`` runs the matrix; ``python tests/_validation_table.py``
prints it as the Markdown table of ``docs/reliability.md``.
"""

from __future__ import annotations

import os
import sys
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Category -> what it tries (the legend of the table).
CATEGORIES = {
    "reduction": "an unknown reduction ('avg')",
    "int_input": "integer predictions (the primary array as int64)",
    "bool_input": "bool predictions",
    "complex": "a complex array in place of each floating argument",
    "float_index": "float targets where integer indices (or lengths) are expected",
    "bool_index": "bool targets where integer indices are expected",
    "index_range": "a class index out of range (C, or beyond the padding/ignore value)",
    "labels": "labels outside the set the loss requires ({-1, 1}, {0, 1})",
    "probs": "probabilities outside [0, 1] where the loss needs them",
    "negative": "negative lengths (ctc_loss)",
    "shape": "each other array with a shape that does not match (or broadcast to) the primary's",
    "n1": "an (N,) prediction against an (N, 1) target (torch warns and broadcasts)",
    "rank": "the primary array with the wrong number of dimensions",
    "non_array": "a str in place of each array argument",
}


@dataclass(frozen=True)
class Spec:
    """What the bad inputs of one loss are.

    index : {arg: bad value}
        Integer arguments whose values are checked, with a value out of range.
    labels / probs : {arg: bad value}
        Arguments restricted to a label set / to [0, 1], with a value outside.
    negative : tuple of str
        Length arguments (a negative value is refused).
    n1 : 'error', 'warn' or None
        The ``(N,)`` against ``(N, 1)`` outcome (None: no such pair of arguments).
    n1_args : (str, str)
        The prediction and target of the n1 case.
    rank : tuple of int or None
        The primary's bad shape (None: any rank is valid, e.g. elementwise losses).
    shape : {arg: bad shape}
        Overrides for the generic ``shape`` category (the last axis grown by one).
    skip : {category or 'category:arg': reason}
    aliases : {arg: name in the message}
    extra : ((category, arg, keyword arguments, bad value), ...)
        Further cases under other keyword arguments (``activation=None`` makes ``input``
        probabilities): the first element of ``arg`` is set to the bad value.
    """

    index: dict[str, Any] = field(default_factory=dict)
    labels: dict[str, Any] = field(default_factory=dict)
    probs: dict[str, Any] = field(default_factory=dict)
    negative: tuple[str, ...] = ()
    n1: str | None = None
    n1_args: tuple[str, str] = ("input", "target")
    rank: tuple[int, ...] | None = None
    shape: dict[str, tuple[int, ...]] = field(default_factory=dict)
    skip: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    extra: tuple[tuple[str, str, dict[str, Any], Any], ...] = ()


_ELEMENTWISE_TORCH = Spec(n1="warn")
_ELEMENTWISE = Spec(n1="warn")
_CLASS_INDEX = Spec(index={"target": 5}, rank=(2, 5, 1, 1, 1))
_INT_BOXES = "torchvision upcasts integer boxes to float32 (_upcast_non_float); so does lossbridge"
_BOXES = Spec(rank=(8,), shape={"boxes2": (8, 5)}, skip={"int_input": _INT_BOXES})
_SEG = Spec(
    index={"target": 3},
    rank=(2, 3, 4, 4, 1, 1),
    extra=(("probs", "input", {"activation": None}, 1.5),),
)
_REG = Spec(
    aliases={"p0": "params[0]", "p1": "params[1]", "p2": "params[2]"},
    skip={"shape": "parameters of any shapes are the point: one penalty over a list of them"},
)
_TARGET_RANGE = "target is any real number in torch (a soft label)"
#: labels (6, 1) -> (6, 2) is num_true = 2 (valid): the bad labels shape is another batch
_SAMPLED = Spec(index={"labels": 12, "sampled": -1}, rank=(6, 4, 1), shape={"labels": (7, 1)})

#: One spec per loss (the registry's name).
SPECS: dict[str, Spec] = {
    "cross_entropy": _CLASS_INDEX,
    "linear_cross_entropy": Spec(index={"target": 5}, rank=(2, 8, 4)),
    "nll_loss": _CLASS_INDEX,
    "binary_cross_entropy": Spec(probs={"input": 1.5, "target": -0.5}, n1="error"),
    "binary_cross_entropy_with_logits": Spec(n1="error"),
    "kl_div": Spec(n1="warn"),
    "mse_loss": _ELEMENTWISE_TORCH,
    "l1_loss": _ELEMENTWISE_TORCH,
    "huber_loss": _ELEMENTWISE_TORCH,
    "smooth_l1_loss": _ELEMENTWISE_TORCH,
    "poisson_nll_loss": _ELEMENTWISE_TORCH,
    "gaussian_nll_loss": Spec(n1="warn"),
    "soft_margin_loss": Spec(n1="error"),
    "multilabel_soft_margin_loss": Spec(n1="error"),
    "multilabel_margin_loss": Spec(index={"target": 5}, rank=(2, 8, 5)),
    "multi_margin_loss": Spec(index={"target": 5}, rank=(2, 8, 5)),
    "hinge_embedding_loss": Spec(n1="warn"),
    "margin_ranking_loss": Spec(n1="error", n1_args=("input1", "target")),
    "cosine_embedding_loss": Spec(rank=(2, 8, 5)),
    "triplet_margin_loss": Spec(rank=(2, 8, 5)),
    "triplet_margin_with_distance_loss": Spec(rank=(2, 8, 5)),
    "ctc_loss": Spec(
        index={"targets": 4},
        negative=("input_lengths", "target_lengths"),
        rank=(6, 3, 4, 1),
        shape={"targets": (4, 3), "input_lengths": (4,), "target_lengths": (4,)},
    ),
    "sigmoid_focal_loss": Spec(n1="error", n1_args=("inputs", "targets")),
    "generalized_box_iou_loss": _BOXES,
    "distance_box_iou_loss": _BOXES,
    "complete_box_iou_loss": _BOXES,
    "rmse_loss": _ELEMENTWISE,
    "log_cosh_loss": _ELEMENTWISE,
    "quantile_loss": _ELEMENTWISE,
    "mape_loss": _ELEMENTWISE,
    "msle_loss": _ELEMENTWISE,
    "l1_regularization": _REG,
    "l2_regularization": _REG,
    "elastic_net_regularization": _REG,
    "softmax_focal_loss": _CLASS_INDEX,
    "poly1_cross_entropy": _CLASS_INDEX,
    "generalized_cross_entropy": _CLASS_INDEX,
    "hinge_loss": Spec(labels={"target": 0.5}, n1="warn"),
    "squared_hinge_loss": Spec(labels={"target": 0.5}, n1="warn"),
    "categorical_hinge_loss": _CLASS_INDEX,
    "dice_loss": _SEG,
    "jaccard_loss": _SEG,
    "tversky_loss": _SEG,
    "focal_tversky_loss": _SEG,
    "lovasz_hinge_loss": Spec(
        labels={"target": 2},
        rank=(2, 4, 4, 1),
        skip={
            "float_index": "binary labels may be integer, bool or floating (0.0 / 1.0)",
            "bool_index": "binary labels may be integer, bool or floating (0.0 / 1.0)",
        },
    ),
    "lovasz_softmax_loss": Spec(
        index={"target": 3},
        rank=(2, 3, 4, 4, 1, 1),
        extra=(("probs", "input", {"from_logits": False}, 1.5),),
    ),
    "box_iou_loss": _BOXES,
    "efficient_box_iou_loss": _BOXES,
    "scylla_box_iou_loss": _BOXES,
    "contrastive_loss": Spec(labels={"target": 0.5}, rank=(2, 8, 5)),
    "ntxent_loss": Spec(rank=(2, 8, 5)),
    "circle_loss": Spec(rank=(2, 8, 5)),
    "clip_loss": Spec(rank=(2, 8, 5)),
    "siglip_loss": Spec(rank=(2, 8, 5)),
    "supcon_loss": Spec(rank=(2, 8, 5)),
    "cosine_similarity_loss": Spec(n1="warn"),
    "arcface_loss": Spec(index={"target": 4}, rank=(2, 8, 5)),
    "cosface_loss": Spec(index={"target": 4}, rank=(2, 8, 5)),
    "magface_loss": Spec(index={"target": 4}, rank=(2, 8, 5)),
    "crps_ensemble_loss": Spec(rank=(2, 8, 6)),
    "crps_normal_loss": Spec(n1="warn"),
    "crps_logistic_loss": Spec(n1="warn"),
    "tweedie_deviance_loss": Spec(n1="warn"),
    "poisson_deviance_loss": Spec(n1="warn"),
    "gamma_deviance_loss": Spec(n1="warn"),
    "sampled_softmax_loss": _SAMPLED,
    "nce_loss": _SAMPLED,
    "asymmetric_loss": Spec(rank=(8,), n1="error"),
    "asymmetric_loss_single_label": Spec(index={"target": 5}, rank=(8,)),
    "soft_target_cross_entropy": Spec(n1="error"),
    "smoothed_binary_cross_entropy": Spec(index={"target": 5}, rank=(8,)),
    "jsd_cross_entropy": Spec(index={"target": 5}, rank=(12,)),
    "varifocal_loss": Spec(n1="error"),
    "quality_focal_loss": Spec(rank=(8,), n1="error"),
    "distribution_focal_loss": Spec(rank=()),
    "probiou_loss": Spec(rank=(8,), n1="error"),
    "ssim_loss": Spec(rank=(2, 3, 13), n1="error"),
    "ms_ssim_loss": Spec(rank=(1, 2, 35), n1="error"),
}


@dataclass(frozen=True)
class BadCase:
    """One bad call: its category, the argument made bad and the arrays/kwargs to pass."""

    loss: str
    category: str
    arg: str
    arrays: dict[str, Any]
    kwargs: dict[str, Any]
    expect: str  # 'error' or 'warn'
    names: tuple[str, ...]  # one of these must appear in the message
    got: tuple[str, ...] = ()  # text showing the bad value (besides "got", "has shape", ...)

    @property
    def id(self) -> str:
        return f"{self.loss}-{self.category}-{self.arg}"


def _good(loss: str) -> tuple[Any, dict[str, np.ndarray], dict[str, Any]]:
    from lossbridge.conformance.registry import REGISTRY

    entry = REGISTRY[loss]
    case = entry.cases[0]
    return entry, case.inputs(), dict(case.kwargs)


def _primary(entry: Any, arrays: dict[str, np.ndarray]) -> str:
    return entry.primary if entry.primary in arrays else next(iter(arrays))


def bad_cases(loss: str) -> list[BadCase]:
    """Every bad call of ``loss`` (NumPy arrays, converted per backend by the caller)."""
    import inspect

    entry, arrays, kwargs = _good(loss)
    spec = SPECS[loss]
    primary = _primary(entry, arrays)
    alias = spec.aliases
    out: list[BadCase] = []

    def add(category: str, arg: str, expect: str = "error", names: tuple[str, ...] = (), **ch):
        if category in spec.skip or f"{category}:{arg}" in spec.skip:
            return
        new_arrays = dict(arrays)
        new_kwargs = dict(kwargs)
        for k, v in ch.items():
            if k in arrays:
                new_arrays[k] = v
            else:
                new_kwargs[k] = v
        nm = tuple(alias.get(n, n) for n in (names or (arg,)))
        got = tuple(repr(v) for k, v in ch.items() if k == "reduction")
        out.append(BadCase(loss, category, arg, new_arrays, new_kwargs, expect, nm, got))

    params = inspect.signature(entry.fn).parameters
    if "reduction" in params:
        add("reduction", "reduction", reduction="avg")
    x = arrays[primary]
    add("int_input", primary, **{primary: np.round(x).astype(np.int64)})
    add("bool_input", primary, **{primary: x > 0})
    for name, a in arrays.items():
        if a.dtype.kind == "f":
            add("complex", name, **{name: a.astype(np.complex128)})
        else:
            add("float_index", name, **{name: a.astype(np.float64)})
            if name not in spec.negative:
                add("bool_index", name, **{name: a != 0})
        add("non_array", name, **{name: "abc"})
    for kind, table in (("index_range", spec.index), ("labels", spec.labels)):
        for name, bad in table.items():
            a = arrays[name].copy()
            a.reshape(-1)[0] = bad
            add(kind, name, **{name: a})
    for name, bad in spec.probs.items():
        a = arrays[name].copy()
        a.reshape(-1)[0] = bad
        add("probs", name, **{name: a})
    for category, name, kw, bad in spec.extra:
        a = arrays[name].copy()
        a.reshape(-1)[0] = bad
        add(category, name, **{name: a}, **kw)
    for name in spec.negative:
        a = arrays[name].copy()
        a.reshape(-1)[0] = -1
        add("negative", name, **{name: a})
    for name, a in arrays.items():
        if name == primary or a.ndim == 0:
            continue
        shape = spec.shape.get(name)
        if shape is None:
            shape = (*a.shape[:-1], a.shape[-1] + 1)
        bad = np.resize(a, shape)
        add("shape", name, names=(name, primary), **{name: bad})
    if spec.n1 is not None:
        p, t = spec.n1_args
        xp_, tp_ = arrays[p], arrays[t]
        add(
            "n1",
            t,
            expect=spec.n1,
            names=(p, t),
            **{p: xp_[:, 0], t: tp_[:, :1]},
            **{k: v[:, 0] for k, v in arrays.items() if k not in (p, t) and v.ndim == 2},
        )
    if spec.rank is not None:
        add("rank", primary, names=(primary, *arrays), **{primary: np.resize(x, spec.rank)})
    return out


def all_bad_cases() -> list[BadCase]:
    return [c for loss in SPECS for c in bad_cases(loss)]


# ------------------------------------------------------------------------------------------
# Running one case
# ------------------------------------------------------------------------------------------

_ROOTS: tuple[str, ...] = ()


def _roots() -> tuple[str, ...]:
    global _ROOTS
    if not _ROOTS:
        import lossbridge
        import lossbridge.backends

        _ROOTS = (
            os.path.dirname(lossbridge.__file__) + os.sep,
            os.path.dirname(lossbridge.backends.__file__) + os.sep,
        )
    return _ROOTS


def convert(driver: Any, value: Any) -> Any:
    """A NumPy array as ``driver``'s array (complex and bool included); others as they are."""
    if not isinstance(value, np.ndarray):
        return value
    return driver.from_numpy(value.copy())


@dataclass
class Outcome:
    ok: bool
    detail: str


def run_case(case: BadCase, driver: Any) -> Outcome:
    """Call the loss with ``case`` on ``driver``'s backend and judge the outcome."""
    from lossbridge.conformance.registry import REGISTRY

    fn = REGISTRY[case.loss].fn
    arrays = {k: convert(driver, v) for k, v in case.arrays.items()}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fn(**arrays, **case.kwargs)
        except (ValueError, TypeError) as e:
            if case.expect != "error":
                return Outcome(False, f"expected a warning, raised {type(e).__name__}: {e}")
            return _judge_error(case, e)
        except Exception as e:  # noqa: BLE001 - reported as a failure
            return Outcome(False, f"raised {type(e).__name__} (not ValueError/TypeError): {e}")
    if case.expect == "warn":
        msgs = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
        for m in msgs:
            if any(n in m for n in case.names) and "shape" in m:
                return Outcome(True, f"UserWarning: {m}")
        return Outcome(False, f"no UserWarning naming {case.names}; got {msgs}")
    return Outcome(False, "no error raised")


def _judge_error(case: BadCase, e: BaseException) -> Outcome:
    msg = str(e)
    tb = traceback.extract_tb(e.__traceback__)
    last = tb[-1].filename if tb else ""
    if not last.startswith(_roots()):
        return Outcome(False, f"raised from {last}:{tb[-1].lineno}, not lossbridge: {msg}")
    problems = []
    if not msg.startswith(f"{case.loss}: "):  # issue 18: every error starts with the loss's name
        problems.append(f"does not start with '{case.loss}: '")
    if not any(n in msg for n in case.names):
        problems.append(f"names none of {case.names}")
    got = ("got", "has shape", " is a ", "holds", *case.got)
    if not any(w in msg for w in got):
        problems.append("does not say what it got")
    if not any(w in msg for w in ("expect", "must", "Supported")):
        problems.append("does not say what was expected")
    if problems:
        return Outcome(False, f"{type(e).__name__} message {', '.join(problems)}: {msg}")
    return Outcome(True, f"{type(e).__name__}: {msg}")


# ------------------------------------------------------------------------------------------
# The table
# ------------------------------------------------------------------------------------------


def _drivers() -> list[Any]:
    from lossbridge.conformance.drivers import available_drivers

    return available_drivers()


def run_matrix() -> Iterator[tuple[BadCase, str, Outcome]]:
    drivers = _drivers()
    for case in all_bad_cases():
        for d in drivers:
            yield case, d.name, run_case(case, d)


def markdown(results: list[tuple[BadCase, str, Outcome]]) -> str:
    """Per loss: the categories tried and, per backend, clear errors / bad inputs tried."""
    backends: list[str] = []
    by_loss: dict[str, dict[str, list[bool]]] = {}
    cats: dict[str, set[str]] = {}
    for case, b, o in results:
        if b not in backends:
            backends.append(b)
        by_loss.setdefault(case.loss, {}).setdefault(b, []).append(o.ok)
        cats.setdefault(case.loss, set()).add(case.category)
    head = "| loss | categories | " + " | ".join(backends) + " |"
    lines = [head, "|---|---|" + "---|" * len(backends)]
    order = list(CATEGORIES)
    for loss, per in by_loss.items():
        cs = ", ".join(c for c in order if c in cats[loss])
        cells = [f"{sum(per[b])}/{len(per[b])}" for b in backends]
        lines.append(f"| `{loss}` | {cs} | " + " | ".join(cells) + " |")
    total = {b: [ok for per in by_loss.values() for ok in per[b]] for b in backends}
    lines.append(
        "| **all** | | " + " | ".join(f"**{sum(v)}/{len(v)}**" for v in total.values()) + " |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:  # as the tests do: torch before tensorflow, JAX float64 on
        import torch  # noqa: F401
    except ImportError:  # pragma: no cover
        pass
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
    except ImportError:  # pragma: no cover
        pass
    only = [a for a in argv if not a.startswith("-")]
    backends = [a.split("=", 1)[1] for a in argv if a.startswith("--backend=")]
    results = []
    for case in all_bad_cases():
        if only and case.loss not in only:
            continue
        for d in _drivers():
            if backends and d.name not in backends:
                continue
            o = run_case(case, d)
            results.append((case, d.name, o))
            if not o.ok and "--failures" in argv:
                print(f"FAIL {case.id} [{d.name}]: {o.detail}")
    if "--failures" not in argv:
        print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.path.insert(0, os.path.dirname(__file__))
    raise SystemExit(main())
