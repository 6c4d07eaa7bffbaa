"""Conformance entries of the ``lossbridge.nn`` dialect: one ``nn.<ClassName>`` per class.

Each entry's function builds the :mod:`lossbridge.nn` class from the case's keyword arguments
(and its ``weight``/``pos_weight`` arrays, given to the constructor as torch's are) and calls it
with the other arrays in ``forward``'s order. Its reference is the float64 NumPy reference of
the core function the class wraps (:mod:`lossbridge.conformance.references`: the semantics are
torch's), and its oracle (check ``torch_nn``) is the real ``torch.nn.<ClassName>`` module built
and called the same way, at the case's dtype (torch's losses run in float64).

A dialect is parameters and argument order over the core, whose own entries test the
numerics at length; so each class gets at most two base cases here, one compiled: a general
case with the class's parameters, and the edge case the porting issue names for it (every
target ignored with class weights and label smoothing, probabilities of exactly 0 and 1, 1-D
inputs, zero vectors, sample and class weights, infeasible CTC alignments, ...).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from lossbridge import nn as _nn
from lossbridge.conformance import references
from lossbridge.conformance.cases import (
    AOT,
    BOUNDARY,
    CTC_PADDED,
    CTC_SHORT,
    ELEMENTWISE,
    KINK,
    MLM_TARGET,
    NAN_MEAN,
    ODD_TARGETS,
    Entry,
    Oracle,
    arrays,
    as_log_probs,
    base,
    class_scores,
    cosine_distance,
    cosine_pairs,
    entry,
    fixed,
    gaussian_inputs,
    kl_inputs,
    large_logits,
    logits_targets,
    multi_margin_inputs,
    multilabel_margin_inputs,
    normal,
    pair,
    poisson_inputs,
    probs_targets,
    signs,
    tied_pair,
    torch_cosine_distance,
    triplets,
    weights,
    with_arrays,
)
from lossbridge.conformance.drivers import get_driver

#: Constructor arguments that are arrays (given to the torch module as tensors).
_ARRAY_CTOR = ("weight", "pos_weight")


def _split(cls_name: str, forward: tuple[str, ...], kw: Mapping[str, Any]) -> tuple[list, dict]:
    """``forward``'s arguments (in order) and the constructor's, from a case's arguments."""
    args = [kw[n] for n in forward]
    ctor = {k: v for k, v in kw.items() if k not in forward}
    return args, ctor


def _adapter(cls_name: str, forward: tuple[str, ...]) -> Callable[..., Any]:
    """``fn(**arrays, **kwargs)``: build ``lossbridge.nn.<cls_name>`` and call it."""
    cls = getattr(_nn, cls_name)

    def fn(**kw: Any) -> Any:
        args, ctor = _split(cls_name, forward, kw)
        return cls(**ctor)(*args)

    fn.__name__ = fn.__qualname__ = f"nn_{cls_name}"
    fn.__doc__ = f"``lossbridge.nn.{cls_name}(**constructor_args)(*{', '.join(forward)})``."
    fn.autograph_info__ = {}  # AutoGraph calls it as it is (see lossbridge.__init__)
    return fn


def _torch_unavailable(dtype: str) -> str | None:
    if importlib.util.find_spec("torch") is None:
        return "torch is not installed"
    return None


def _torch_oracle(cls_name: str, forward: tuple[str, ...]) -> Oracle:
    """Check ``torch_nn``: ``torch.nn.<cls_name>`` built and called like the adapter."""

    def fn(inputs: Mapping[str, np.ndarray], kwargs: Mapping[str, Any], dtype: str) -> Any:
        import torch

        torch_ = get_driver("torch")  # bfloat16 reaches torch through float32 (exact)
        kw: dict[str, Any] = {k: torch_.from_numpy(v, dtype) for k, v in inputs.items()}
        kw.update(kwargs)
        if kw.get("distance_function") is cosine_distance:
            kw["distance_function"] = torch_cosine_distance
        args, ctor = _split(cls_name, forward, kw)
        out = getattr(torch.nn, cls_name)(**ctor)(*args)
        return torch_.to_numpy(out).astype(np.float64)

    return Oracle("torch_nn", "nn", fn, _torch_unavailable)


def _nn_entry(
    cls_name: str,
    core: str,
    forward: tuple[str, ...],
    bases: list[dict],
    grad_args: tuple[str, ...] = ("input",),
) -> Entry:
    """The entry ``nn.<cls_name>``: adapter, the core's reference, the torch.nn oracle."""
    return entry(
        f"nn.{cls_name}",
        bases,
        fn=_adapter(cls_name, forward),
        reference=getattr(references, core),
        oracle=None,
        grad_args=grad_args,
        extra_oracles=(_torch_oracle(cls_name, forward),),
    )


#: The general case of each class: 'mean', compiled, the placement case. The reductions share
#: one code path in the core, whose own entries run all three everywhere; a class only passes
#: ``reduction`` on (its edge case often uses another one).
_MAIN = {"reductions": ("mean",), **AOT}
_IT = ("input", "target")
_PAIR_T = ("input1", "input2", "target")
_TRIPLET = ("anchor", "positive", "negative")


def _all_ignored_weighted(r: np.random.Generator) -> dict[str, np.ndarray]:
    """Logits (8, 5), every target -100, class weights."""
    return {
        "input": r.standard_normal((8, 5)),
        "target": np.full(8, -100),
        "weight": r.uniform(0.2, 2.0, 5),
    }


ENTRIES = (
    _nn_entry(
        "L1Loss",
        "l1_loss",
        _IT,
        [
            base("basic", pair((8, 5)), **_MAIN),
            base(
                "one_d_ties",
                fixed((5,), input=[0.5, -1.0, 2.0, 0.25, 3.0], target=[0.5, 1.0]),
                reductions=ELEMENTWISE,
            ),
        ],
    ),
    _nn_entry(
        "MSELoss",
        "mse_loss",
        _IT,
        [
            base("basic", pair((8, 5)), **_MAIN),
            base(
                "one_d_broadcast",
                arrays(input=normal((5,)), target=normal((5, 1))),
                reductions=("mean",),
            ),
        ],
    ),
    _nn_entry(
        "CrossEntropyLoss",
        "cross_entropy",
        _IT,
        [
            base(
                "weight_smoothing_ignore",
                class_scores((8, 5), 5, weight=True, ignore=2),
                {"label_smoothing": 0.1},
                **_MAIN,
            ),
            base(
                "all_ignored_weight_smoothing",
                _all_ignored_weighted,
                {"label_smoothing": 0.2},
                reductions=("mean",),
                skip={"grad_fd": NAN_MEAN},
            ),
        ],
    ),
    _nn_entry(
        "NLLLoss",
        "nll_loss",
        _IT,
        [
            base(
                "weight_ignore",
                as_log_probs(class_scores((8, 5), 5, weight=True, ignore=3)),
                **_MAIN,
            ),
            base(
                "all_ignored_weight",
                _all_ignored_weighted,
                reductions=("mean",),
                skip={"grad_fd": NAN_MEAN},
            ),
        ],
    ),
    _nn_entry(
        "BCELoss",
        "binary_cross_entropy",
        _IT,
        [
            base(
                "sample_weight", with_arrays(probs_targets((8, 5)), weight=weights((8, 5))), **_MAIN
            ),
            base(
                "exact_0_1_class_weight",
                with_arrays(
                    fixed(
                        input=[0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.3, 0.0, 1.0, 0.7, 0.5],
                        target=[0.0, 1.0, 1.0, 0.0, 0.5, 0.5, 0.2, 0.0, 1.0],
                    ),
                    weight=weights((5,)),
                ),
                reductions=ELEMENTWISE,
                skip={"grad_fd": BOUNDARY},
            ),
        ],
    ),
    _nn_entry(
        "BCEWithLogitsLoss",
        "binary_cross_entropy_with_logits",
        _IT,
        [
            base(
                "weight_pos_weight",
                with_arrays(
                    logits_targets((8, 5)),
                    weight=weights((8, 5)),
                    pos_weight=lambda r: r.uniform(0.5, 3.0, 5),
                ),
                **_MAIN,
            ),
            base("large_logits_pos_weight", large_logits, reductions=ELEMENTWISE),
        ],
    ),
    _nn_entry(
        "KLDivLoss",
        "kl_div",
        _IT,
        [
            base(
                "basic",
                kl_inputs((8, 5)),
                reductions=("batchmean",),
                compile=("batchmean",),
                placement="batchmean",
            ),
            base(
                "zeros_log_target",
                kl_inputs((8, 5), log_target=True),
                {"log_target": True},
                reductions=("sum",),
            ),
        ],
    ),
    _nn_entry(
        "HuberLoss",
        "huber_loss",
        _IT,
        [
            base("delta_half", pair((8, 5), scale=1.5), {"delta": 0.5}, **_MAIN),
            base("ties", tied_pair, {"delta": 0.7}, reductions=("mean",)),
        ],
    ),
    _nn_entry(
        "SmoothL1Loss",
        "smooth_l1_loss",
        _IT,
        [
            base("beta_2", pair((8, 5), scale=2.0), {"beta": 2.0}, **_MAIN),
            base("beta_0_ties", tied_pair, {"beta": 0.0}, reductions=("mean",)),
        ],
    ),
    _nn_entry(
        "PoissonNLLLoss",
        "poisson_nll_loss",
        _IT,
        [
            base("log_input", poisson_inputs(), **_MAIN),
            base(
                "full_rates_eps",
                poisson_inputs(log_input=False),
                {"log_input": False, "full": True, "eps": 1e-3},
                reductions=("mean",),
            ),
        ],
    ),
    _nn_entry(
        "GaussianNLLLoss",
        "gaussian_nll_loss",
        ("input", "target", "var"),
        [
            base("full_var_rows", gaussian_inputs((8, 5), var_shape=(8,)), {"full": True}, **_MAIN),
            base("var_float", pair((8, 5)), {"var": 0.5}, reductions=("sum",)),
        ],
        grad_args=("input", "var"),
    ),
    _nn_entry(
        "CTCLoss",
        "ctc_loss",
        ("log_probs", "targets", "input_lengths", "target_lengths"),
        [
            base("padded", CTC_PADDED, **_MAIN),
            base(
                "infeasible_zero_infinity",
                CTC_SHORT,
                {"zero_infinity": True},
                reductions=("mean",),
            ),
        ],
        grad_args=("log_probs",),
    ),
    _nn_entry(
        "MarginRankingLoss",
        "margin_ranking_loss",
        _PAIR_T,
        [
            base(
                "basic",
                arrays(input1=normal((8, 5)), input2=normal((8, 5)), target=signs((8, 5))),
                {"margin": 0.3},
                **_MAIN,
            ),
            base(
                "one_d",
                arrays(input1=normal((5,)), input2=normal((5,)), target=signs((5,))),
                {"margin": 0.5},
                reductions=("mean",),
            ),
        ],
        grad_args=("input1", "input2"),
    ),
    _nn_entry(
        "HingeEmbeddingLoss",
        "hinge_embedding_loss",
        _IT,
        [
            base(
                "basic",
                arrays(input=lambda r: r.uniform(0, 2, (8, 5)), target=signs((8, 5))),
                **_MAIN,
            ),
            base(
                "one_d_odd",
                arrays(input=normal((5,)), target=lambda r: np.resize(ODD_TARGETS, (5,))),
                {"margin": 0.5},
                reductions=("none",),
            ),
        ],
    ),
    _nn_entry(
        "MultiLabelMarginLoss",
        "multilabel_margin_loss",
        _IT,
        [
            base("basic", multilabel_margin_inputs((8, 5), MLM_TARGET), **_MAIN),
            base("one_d", multilabel_margin_inputs((5,), [3, 1, -1, 0, 2]), reductions=("mean",)),
        ],
    ),
    _nn_entry(
        "SoftMarginLoss",
        "soft_margin_loss",
        _IT,
        [
            base("basic", arrays(input=normal((8, 5), 2.0), target=signs((8, 5))), **_MAIN),
            base(
                "one_d",
                arrays(input=normal((5,), 2.0), target=signs((5,))),
                reductions=("mean",),
            ),
        ],
    ),
    _nn_entry(
        "MultiLabelSoftMarginLoss",
        "multilabel_soft_margin_loss",
        _IT,
        [
            base(
                "class_weight_soft",
                arrays(
                    input=normal((8, 5), 2.0),
                    target=lambda r: r.uniform(0, 1, (8, 5)),
                    weight=weights((5,)),
                ),
                **_MAIN,
            ),
            base(
                "one_d_large",
                fixed((5,), input=[1e4, -1e4, 3e4, -50.0, 0.5], target=[1.0, 0.0, 0.5, 1.0, 0.0]),
                reductions=ELEMENTWISE,
            ),
        ],
    ),
    _nn_entry(
        "CosineEmbeddingLoss",
        "cosine_embedding_loss",
        _PAIR_T,
        [
            base("basic", cosine_pairs(), {"margin": 0.2}, **_MAIN),
            base(
                "zero_vector_odd",
                cosine_pairs(zero_row=True, odd=True),
                {"margin": -0.5},
                reductions=ELEMENTWISE,
                skip={
                    "grad_fd": "a zero vector: cos(h e, v) = h v / sqrt(h^2 + 1e-12) |v| is far "
                    "from linear over the step h = 6e-6"
                },
            ),
        ],
        grad_args=("input1", "input2"),
    ),
    _nn_entry(
        "MultiMarginLoss",
        "multi_margin_loss",
        _IT,
        [
            base(
                "p2_class_weight",
                multi_margin_inputs((8, 5), weight=True),
                {"p": 2, "margin": 0.7},
                **_MAIN,
            ),
            base(
                "one_d_ties",
                multi_margin_inputs((5,), ties=True),
                reductions=("mean",),
                skip={"grad_fd": KINK},
            ),
        ],
    ),
    _nn_entry(
        "TripletMarginLoss",
        "triplet_margin_loss",
        _TRIPLET,
        [
            base("basic", triplets(), **_MAIN),
            base(
                "one_d_p1_swap",
                triplets((5,)),
                {"p": 1, "swap": True, "margin": 2.0},
                reductions=("mean",),
            ),
        ],
        grad_args=_TRIPLET,
    ),
    _nn_entry(
        "TripletMarginWithDistanceLoss",
        "triplet_margin_with_distance_loss",
        _TRIPLET,
        [
            base("default", triplets(), **_MAIN),
            base(
                "cosine_swap",
                triplets(),
                {"distance_function": cosine_distance, "swap": True, "margin": 0.5},
                reductions=("sum",),
            ),
        ],
        grad_args=_TRIPLET,
    ),
)
