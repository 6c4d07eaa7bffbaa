"""Global means (issue 16): ``denominator=`` and :func:`lossbridge.mean_denominator`.

The identity every loss with a ``'mean'`` must satisfy: split a batch into shards ``s`` (axis 0
of every batched argument), sum their counts ``D = sum_s mean_denominator(loss, shard_s)``, and

    sum_s loss(shard_s, denominator=D) == loss(full batch)

in value and in gradient. One registry drives it: every ``'mean'`` case of every core entry of
:data:`lossbridge.conformance.registry.REGISTRY`, split into uneven shards (and, where the loss
ignores targets, with one shard whose targets are all ignored), on NumPy and on torch with
autograd, float64. The expected values are the loss's own full-batch mean, which the conformance
suite checks against torch and the float64 references; the counts themselves are checked against
float64 formulas written here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest

import lossbridge as lb
from lossbridge._reduction import COUNT, reduce
from lossbridge.conformance.registry import REGISTRY

# ------------------------------------------------------------------------------------------
# The tables: which arguments are batched, which losses have no shardable mean, and why
# ------------------------------------------------------------------------------------------

_XY = {"input": 0, "target": 0}
#: Each core loss with a shardable 'mean': its batched arguments and their batch axis. Other
#: arguments (class weights, class centres, linear weights, scales) are shared by every shard;
#: a listed argument whose size on that axis is not the batch's (a broadcast target row) is
#: shared too.
BATCHED: dict[str, dict[str, int]] = {
    "cross_entropy": _XY,
    "nll_loss": _XY,
    "binary_cross_entropy": {**_XY, "weight": 0},
    "binary_cross_entropy_with_logits": {**_XY, "weight": 0},
    "kl_div": _XY,
    "mse_loss": {**_XY, "weight": 0},
    "l1_loss": {**_XY, "weight": 0},
    "huber_loss": {**_XY, "weight": 0},
    "smooth_l1_loss": _XY,
    "poisson_nll_loss": _XY,
    "gaussian_nll_loss": {**_XY, "var": 0},
    "soft_margin_loss": _XY,
    "multilabel_soft_margin_loss": {**_XY, "weight": 0},
    "multilabel_margin_loss": _XY,
    "multi_margin_loss": _XY,
    "hinge_embedding_loss": _XY,
    "margin_ranking_loss": {"input1": 0, "input2": 0, "target": 0},
    "cosine_embedding_loss": {"input1": 0, "input2": 0, "target": 0},
    "triplet_margin_loss": {"anchor": 0, "positive": 0, "negative": 0},
    "triplet_margin_with_distance_loss": {"anchor": 0, "positive": 0, "negative": 0},
    # log_probs is (T, N, C): the batch is axis 1
    "ctc_loss": {"log_probs": 1, "targets": 0, "input_lengths": 0, "target_lengths": 0},
    "sigmoid_focal_loss": {"inputs": 0, "targets": 0},
    "generalized_box_iou_loss": {"boxes1": 0, "boxes2": 0},
    "distance_box_iou_loss": {"boxes1": 0, "boxes2": 0},
    "complete_box_iou_loss": {"boxes1": 0, "boxes2": 0},
    "box_iou_loss": {"boxes1": 0, "boxes2": 0},
    "efficient_box_iou_loss": {"boxes1": 0, "boxes2": 0},
    "scylla_box_iou_loss": {"boxes1": 0, "boxes2": 0},
    "rmse_loss": _XY,
    "log_cosh_loss": _XY,
    "quantile_loss": _XY,
    "mape_loss": _XY,
    "msle_loss": _XY,
    "softmax_focal_loss": _XY,
    "poly1_cross_entropy": _XY,
    "generalized_cross_entropy": _XY,
    "hinge_loss": _XY,
    "squared_hinge_loss": _XY,
    "categorical_hinge_loss": _XY,
    "dice_loss": _XY,
    "jaccard_loss": _XY,
    "tversky_loss": _XY,
    "focal_tversky_loss": _XY,
    "lovasz_hinge_loss": _XY,
    "lovasz_softmax_loss": _XY,
    "contrastive_loss": {"input1": 0, "input2": 0, "target": 0},
    "cosine_similarity_loss": _XY,
    "arcface_loss": _XY,
    "cosface_loss": _XY,
    "magface_loss": _XY,
    "linear_cross_entropy": _XY,
    "crps_ensemble_loss": _XY,
    "crps_normal_loss": {**_XY, "scale": 0},
    "crps_logistic_loss": {**_XY, "scale": 0},
    "tweedie_deviance_loss": {**_XY, "weight": 0},
    "poisson_deviance_loss": {**_XY, "weight": 0},
    "gamma_deviance_loss": {**_XY, "weight": 0},
    # the sampled classes and their expected counts are shared by the batch
    "sampled_softmax_loss": {"inputs": 0, "labels": 0, "true_expected_count": 0},
    "nce_loss": {"inputs": 0, "labels": 0, "true_expected_count": 0},
    "asymmetric_loss": _XY,
    "asymmetric_loss_single_label": _XY,
    "soft_target_cross_entropy": _XY,
    "smoothed_binary_cross_entropy": _XY,
    # (K B, C): the K views of a shard's images must travel together (see NOT_SPLIT)
    "jsd_cross_entropy": _XY,
    # dense detection: the per-element (per-row, per-box) weights travel with their shard
    "varifocal_loss": {**_XY, "label": 0, "weight": 0},
    "quality_focal_loss": {**_XY, "weight": 0},
    "distribution_focal_loss": {**_XY, "weight": 0},
    "probiou_loss": {**_XY, "weight": 0},
    # one loss per image: the images travel with their shard
    "ssim_loss": _XY,
    "ms_ssim_loss": _XY,
}

#: Core losses with no 'mean' reduction at all.
NO_MEAN = {
    "l1_regularization": "a penalty on parameters: a sum, no reduction",
    "l2_regularization": "a penalty on parameters: a sum, no reduction",
    "elastic_net_regularization": "a penalty on parameters: a sum, no reduction",
}

#: Core losses whose per-item terms depend on the whole batch (the other items are the
#: negatives): their shards need the cross-device form (``group=``), whose sum over the members
#: equals the single-device loss; HD's tests/test_contrastive*.py check it (issue 16 item 3).
WHOLE_BATCH = {
    name: "an anchor's term depends on the whole batch's negatives; tests/test_contrastive*.py "
    "check the cross-device form (group=)"
    for name in ("ntxent_loss", "circle_loss", "clip_loss", "siglip_loss", "supcon_loss")
}

#: Options under which a loss's 'mean' is not a sum divided by a count: a denominator is refused
#: (ValueError), checked in test_not_a_ratio_refuses_a_denominator.
NOT_A_RATIO: dict[str, tuple[Callable[[Mapping[str, Any]], bool], str]] = {
    "rmse_loss": (lambda kw: kw.get("axis") is None, "axis=None"),
    "lovasz_hinge_loss": (lambda kw: kw.get("per_image", True) is False, "per_image=False"),
    "lovasz_softmax_loss": (lambda kw: kw.get("per_image", False) is False, "per_image=False"),
    **{
        name: (lambda kw: kw.get("batch", False) is True, "batch=True")
        for name in ("dice_loss", "jaccard_loss", "tversky_loss", "focal_tversky_loss")
    },
}

#: Cases whose batched argument's axis 0 is not the loss's batch axis, with the reason.
NOT_SPLIT = {
    ("mse_loss", "broadcast_mean"): "input (5,) and target (5, 1) broadcast to a (5, 5) loss",
    ("rmse_loss", "broadcast_mean"): "axis=0: the per-sample RMSEs run along axis 1",
    ("crps_ensemble_loss", "fair_axis0_mean"): "member_axis=0: the forecasts run along axis 1",
    **{
        ("jsd_cross_entropy", label): "axis 0 stacks K views of B images: a shard of rows is "
        "not a shard of images (tests/test_timm.py splits the images)"
        for label in ("augmix_mean", "two_splits_mean", "no_smoothing_mean")
    },
}

#: Losses that ignore targets: (target argument, ignore value given the case's kwargs, or None
#: where the case ignores nothing, whether an ignored item leaves the count). Lovász's per-image
#: mean counts every image, those with no valid pixel included (with loss 0).
IGNORES: dict[str, tuple[str, Callable[[Mapping[str, Any]], int | None], bool]] = {
    **{
        name: ("target", lambda kw: kw.get("ignore_index", -100), True)
        for name in (
            "cross_entropy",
            "nll_loss",
            "softmax_focal_loss",
            "poly1_cross_entropy",
            "generalized_cross_entropy",
            "linear_cross_entropy",
        )
    },
    "lovasz_hinge_loss": ("target", lambda kw: kw.get("ignore_index"), False),
    "lovasz_softmax_loss": ("target", lambda kw: kw.get("ignore_index"), False),
}

#: Losses whose 1-D primary argument is one item (its classes or features), not a batch.
ONE_D_IS_ONE_ITEM = {
    "nll_loss",
    "cross_entropy",
    "softmax_focal_loss",
    "poly1_cross_entropy",
    "generalized_cross_entropy",
    "categorical_hinge_loss",
    "multi_margin_loss",
    "multilabel_margin_loss",
    "multilabel_soft_margin_loss",
    "arcface_loss",
    "cosface_loss",
    "magface_loss",
    "linear_cross_entropy",
    "cosine_embedding_loss",
    "triplet_margin_loss",
    "triplet_margin_with_distance_loss",
    "contrastive_loss",
    "soft_target_cross_entropy",
}

CORE = sorted(name for name in REGISTRY if "." not in name)


def test_every_core_loss_is_in_one_table() -> None:
    """A registry loss must be classified: batched arguments known, or a stated reason."""
    tables = (set(BATCHED), set(NO_MEAN), set(WHOLE_BATCH))
    for i, a in enumerate(tables):
        for b in tables[i + 1 :]:
            assert not a & b, sorted(a & b)
    missing = set(CORE) - set().union(*tables)
    assert not missing, f"registry losses in no table of tests/test_denominator.py: {missing}"
    stale = set().union(*tables) - set(CORE)
    assert not stale, f"tables name losses the registry does not have: {stale}"
    assert set(NOT_A_RATIO) <= set(BATCHED) and set(IGNORES) <= set(BATCHED)


@pytest.mark.parametrize("name", sorted(BATCHED))
def test_the_table_names_real_arguments(name: str) -> None:
    """Every batched argument is a parameter, and every loss with a mean takes a denominator."""
    import inspect

    params = inspect.signature(REGISTRY[name].fn).parameters
    assert set(BATCHED[name]) <= set(params), set(BATCHED[name]) - set(params)
    assert "denominator" in params
    assert params["denominator"].kind is inspect.Parameter.KEYWORD_ONLY


# ------------------------------------------------------------------------------------------
# The cases: every 'mean' case of the registry, split into uneven shards
# ------------------------------------------------------------------------------------------


def _mean_cases(name: str) -> list[Any]:
    batchmean = ("kl_div", "asymmetric_loss", "smoothed_binary_cross_entropy")
    means = ("mean", "batchmean") if name in batchmean else ("mean",)
    out = []
    for case in REGISTRY[name].cases:
        if case.kwargs.get("reduction") not in means or (name, case.label) in NOT_SPLIT:
            continue
        ratio = NOT_A_RATIO.get(name)
        if ratio is not None and ratio[0](case.kwargs):
            continue
        out.append(case)
    return out


def _batch_size(name: str, inputs: Mapping[str, np.ndarray]) -> int | None:
    """The case's batch size, or None where it has no batch to split (unbatched, 1-D CTC
    targets)."""
    primary, axis = next(iter(BATCHED[name].items()))
    x = inputs[primary]
    if x.ndim <= axis or (name == "ctc_loss" and inputs["targets"].ndim != 2):
        return None
    if name in ONE_D_IS_ONE_ITEM and x.ndim == 1:
        return None  # (C,), (D,) or (in_features,): one unbatched item
    return int(x.shape[axis])


def _cuts(n: int) -> list[tuple[int, int]]:
    """Uneven shards of ``range(n)``: sizes 1, about n/2 - 1 and the rest (n = 8: 1, 3, 4)."""
    bounds = sorted({0, 1, max(2, n // 2), n})
    return [(a, b) for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def _shard(name: str, inputs: Mapping[str, Any], n: int, lo: int, hi: int, take: Callable) -> dict:
    out = {}
    for k, v in inputs.items():
        axis = BATCHED[name].get(k)
        if axis is not None and len(v.shape) > axis and v.shape[axis] == n:
            out[k] = take(v, axis, lo, hi)
        else:
            out[k] = v
    return out


def _np_take(v: Any, axis: int, lo: int, hi: int) -> Any:
    index = [slice(None)] * v.ndim
    index[axis] = slice(lo, hi)
    return v[tuple(index)]


def _ignore_first_shard(name: str, case: Any, inputs: dict, n: int) -> dict | None:
    """The inputs with every target of the first shard ignored, or None (nothing to ignore)."""
    if name not in IGNORES:
        return None
    arg, value, _ = IGNORES[name]
    ignore = value(case.kwargs)
    target = inputs.get(arg)
    if ignore is None or target is None or target.dtype.kind not in "iu":
        return None
    if np.all(target == ignore):
        return None  # every target ignored already
    lo, hi = _cuts(n)[0]
    target = target.copy()
    target[lo:hi] = ignore
    return {**inputs, arg: target}


def _shard_params() -> list[Any]:
    params = []
    for name in sorted(BATCHED):
        for case in _mean_cases(name):
            inputs = case.inputs()
            n = _batch_size(name, inputs)
            if n is None or n < 2:
                continue  # unbatched or empty: nothing to split
            params.append(pytest.param(name, case.label, False, id=f"{name}-{case.label}"))
            if _ignore_first_shard(name, case, inputs, n) is not None:
                params.append(
                    pytest.param(name, case.label, True, id=f"{name}-{case.label}-ignored_shard")
                )
    return params


SHARD_PARAMS = _shard_params()
#: The worst relative error seen by the shard tests, per backend (read by the last test).
WORST: dict[str, float] = {}


def _rel(actual: Any, expected: Any) -> float:
    a, e = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if not np.array_equal(np.isnan(a), np.isnan(e)):
        return math.inf
    ok = ~np.isnan(e)
    if not ok.any():
        return 0.0
    scale = float(np.max(np.abs(e[ok])))
    return (
        float(np.max(np.abs(a[ok] - e[ok]))) / scale if scale > 0 else float(np.max(np.abs(a[ok])))
    )


def _check(label: str, actual: Any, expected: Any, backend: str) -> None:
    err = _rel(actual, expected)
    WORST[backend] = max(WORST.get(backend, 0.0), err)
    # 1e-12 relative to the largest entry (the sums over shards are reordered sums of the same
    # terms, a few ulp apart; the gradients divide the same numerators by the same count)
    assert err <= 1e-12, f"{label}: relative error {err:.3g}"


def _case_inputs(name: str, label: str, ignored: bool) -> tuple[Any, dict, int]:
    case = REGISTRY[name].case(label)
    inputs = case.inputs()
    n = _batch_size(name, inputs)
    assert n is not None
    if ignored:
        inputs = _ignore_first_shard(name, case, inputs, n)
    return case, inputs, n


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(("name", "label", "ignored"), SHARD_PARAMS)
def test_shards_add_up_to_the_full_mean_numpy(name: str, label: str, ignored: bool) -> None:
    """NumPy float64: the shards' losses with the summed count add up to the full mean."""
    case, inputs, n = _case_inputs(name, label, ignored)
    fn = REGISTRY[name].fn
    kwargs = dict(case.kwargs)
    with np.errstate(all="ignore"):
        full = fn(**inputs, **kwargs)
        shards = [_shard(name, inputs, n, lo, hi, _np_take) for lo, hi in _cuts(n)]
        counts = [lb.mean_denominator(fn, **s, **kwargs) for s in shards]
        total = sum(counts[1:], counts[0])
        parts = [fn(**s, **kwargs, denominator=total) for s in shards]
        # the full batch's own count is the sum of the shards'
        own = lb.mean_denominator(fn, **inputs, **kwargs)
    assert np.asarray(total).shape == () and np.asarray(total).dtype == np.float64
    _check(f"{name}[{label}] count", total, own, "numpy")
    _check(f"{name}[{label}]", sum(parts[1:], parts[0]), full, "numpy")
    if ignored:  # nothing to add; no count either, except in Lovász's per-image mean
        assert float(parts[0]) == 0.0
        assert float(counts[0]) == (0.0 if IGNORES[name][2] else _cuts(n)[0][1])


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(("name", "label", "ignored"), SHARD_PARAMS)
def test_shards_add_up_to_the_full_mean_torch(name: str, label: str, ignored: bool) -> None:
    """torch float64 with autograd: values and the gradients of every floating argument."""
    torch = pytest.importorskip("torch")
    entry = REGISTRY[name]
    case, inputs, n = _case_inputs(name, label, ignored)
    kwargs = dict(case.kwargs)
    grad_args = case.grad_args if case.grad_args is not None else entry.grad_args

    def leaves() -> dict:
        out = {}
        for k, v in inputs.items():
            t = torch.from_numpy(np.array(v))
            if k in grad_args and t.is_floating_point():
                t.requires_grad_(True)
            out[k] = t
        return out

    def take(v: Any, axis: int, lo: int, hi: int) -> Any:
        return v.narrow(axis, lo, hi - lo)

    full_in = leaves()
    full = entry.fn(**full_in, **kwargs)
    wrt = [k for k, v in full_in.items() if v.requires_grad]
    full_grads = torch.autograd.grad(full, [full_in[k] for k in wrt], allow_unused=True)

    part_in = leaves()
    shards = [_shard(name, part_in, n, lo, hi, take) for lo, hi in _cuts(n)]
    total = sum(lb.mean_denominator(entry.fn, **s, **kwargs) for s in shards)
    assert isinstance(total, torch.Tensor) and total.dtype == torch.float64 and total.ndim == 0
    summed = sum(entry.fn(**s, **kwargs, denominator=total) for s in shards)
    _check(f"{name}[{label}]", summed.detach().numpy(), full.detach().numpy(), "torch")
    if not bool(torch.isfinite(full)):
        return  # every target ignored (0 / 0): the gradient of NaN is not compared
    part_grads = torch.autograd.grad(summed, [part_in[k] for k in wrt], allow_unused=True)
    for k, g_part, g_full in zip(wrt, part_grads, full_grads, strict=True):
        if g_full is None:
            assert g_part is None or not bool(torch.any(g_part != 0)), k
            continue
        _check(f"{name}[{label}] d/d{k}", g_part.numpy(), g_full.numpy(), "torch")


# ------------------------------------------------------------------------------------------
# The counts, against float64 formulas written here
# ------------------------------------------------------------------------------------------

RNG = np.random.default_rng(16)
X = RNG.normal(size=(7, 4))
T = np.array([0, -100, 3, 2, -100, 1, 3])  # two ignored
W = np.array([0.5, 2.0, 1.25, 0.75])
VALID = T != -100
W_SUM = float(W[T[VALID]].sum())  # 0.5 + 0.75 + 2.0 + 0.75 + 0.75 = 4.75
SEG = RNG.normal(size=(3, 4, 2, 5))  # (N, C, H, W)
SEG_T = RNG.integers(0, 4, size=(3, 2, 5))
BOXES = np.array([[0.0, 0.0, 2.0, 2.0], [1.0, 1.0, 3.0, 4.0], [0.5, 0.0, 1.5, 2.0]])
CTC_LP = np.log(RNG.dirichlet(np.ones(5), size=(6, 3)))  # (T=6, N=3, C=5)


def _counts() -> list[Any]:
    p = RNG.dirichlet(np.ones(4), size=(3, 2)).transpose(0, 2, 1)  # (N=3, C=4, d=2)
    chunked = lb.LinearCrossEntropyOptions(batch_chunk_size=3)
    lin_w = RNG.normal(size=(4, 3))
    return [
        # (id, loss, args, kwargs, the float64 count)
        ("ce_weight_ignore", lb.cross_entropy, (X, T), {"weight": W}, W_SUM),
        ("ce_ignore", lb.cross_entropy, (X, T), {}, float(VALID.sum())),
        ("ce_smoothing", lb.cross_entropy, (X, T), {"weight": W, "label_smoothing": 0.2}, W_SUM),
        ("ce_probs_spatial", lb.cross_entropy, (RNG.normal(size=(3, 4, 2)), p), {}, 3.0 * 2),
        (
            "nll_ignore_1",
            lb.nll_loss,
            (X, np.where(VALID, T, 1)),
            {"weight": W, "ignore_index": 1},
            float(W[T[VALID & (T != 1)]].sum()),
        ),
        ("focal_ignore_alpha", lb.softmax_focal_loss, (X, T), {"alpha": W}, float(VALID.sum())),
        ("poly1_weight", lb.poly1_cross_entropy, (X, T), {"weight": W}, W_SUM),
        (
            "poly1_smoothing",
            lb.poly1_cross_entropy,
            (X, T),
            {"weight": W, "label_smoothing": 0.1},
            W_SUM,
        ),
        ("gce_ignore", lb.generalized_cross_entropy, (X, T), {}, float(VALID.sum())),
        ("linear_ce", lb.linear_cross_entropy, (X[:, :3], lin_w, T), {"weight": W}, W_SUM),
        (
            "linear_ce_chunked",
            lb.linear_cross_entropy,
            (X[:, :3], lin_w, T),
            {"weight": W, "options": chunked, "z_loss": 1e-3},
            W_SUM,
        ),
        (
            "ctc",
            lb.ctc_loss,
            (CTC_LP, np.array([[1, 2], [3, 3], [0, 0]]) + 1, [6, 5, 4], [2, 2, 0]),
            {},
            3.0,
        ),
        ("kl_batchmean", lb.kl_div, (np.log(p), p[::-1]), {"reduction": "batchmean"}, 3.0),
        ("kl_mean", lb.kl_div, (np.log(p), p[::-1]), {}, 3.0 * 4 * 2),
        ("dice_weight", lb.dice_loss, (SEG, SEG_T), {"weight": W}, 3 * float(W.sum())),
        ("tversky", lb.tversky_loss, (SEG, SEG_T), {}, 3.0 * 4),
        (
            "lovasz_softmax_per_image",
            lb.lovasz_softmax_loss,
            (SEG, SEG_T),
            {"per_image": True},
            3.0,
        ),
        ("mse_weight", lb.mse_loss, (X, X[::-1]), {"weight": np.abs(X)}, float(np.abs(X).sum())),
        ("huber_weight", lb.huber_loss, (X, X[::-1]), {"weight": np.abs(X)}, float(X.size)),
        (
            "bce_logits_pos_weight",
            lb.binary_cross_entropy_with_logits,
            (X, (X > 0) * 1.0),
            {"pos_weight": W, "weight": np.abs(X)},
            float(X.size),
        ),
        ("hinge_row", lb.hinge_loss, (X, np.array([1, -1, 1, 1])), {}, float(X.size)),
        ("multi_margin_weight", lb.multi_margin_loss, (X, np.abs(T) % 4), {"weight": W}, 7.0),
        ("multilabel_soft_margin", lb.multilabel_soft_margin_loss, (X, X > 0), {}, 7.0),
        ("rmse_rows", lb.rmse_loss, (X, X[::-1]), {"axis": -1}, 7.0),
        ("box_iou", lb.box_iou_loss, (BOXES, BOXES[::-1]), {}, 3.0),
        ("giou", lb.generalized_box_iou_loss, (BOXES, BOXES[::-1]), {}, 3.0),
        ("arcface", lb.arcface_loss, (X, np.abs(T) % 3), {"weight": RNG.normal(size=(3, 4))}, 7.0),
        ("gaussian_nll_row_var", lb.gaussian_nll_loss, (X, X[::-1], np.ones(7)), {}, float(X.size)),
        ("triplet", lb.triplet_margin_loss, (X, X[::-1], X[:, ::-1]), {}, 7.0),
    ]


COUNTS = _counts()


@pytest.mark.filterwarnings("ignore::UserWarning")
@pytest.mark.parametrize(
    ("fn", "args", "kwargs", "expected"), [c[1:] for c in COUNTS], ids=[c[0] for c in COUNTS]
)
def test_mean_denominator_is_the_count(fn: Any, args: tuple, kwargs: dict, expected: float) -> None:
    """NumPy and torch: the count of each loss's mean, a 0-d float64 array, from a formula."""
    out = lb.mean_denominator(fn, *args, **kwargs)
    assert isinstance(out, np.ndarray | np.floating) and np.asarray(out).shape == ()
    assert np.asarray(out).dtype == np.float64
    assert float(out) == pytest.approx(expected, rel=1e-15)
    torch = pytest.importorskip("torch")

    def to_torch(a: Any) -> Any:
        return torch.from_numpy(np.ascontiguousarray(a)) if isinstance(a, np.ndarray) else a

    targs = [to_torch(a) for a in args]
    tkw = {k: to_torch(v) for k, v in kwargs.items()}
    t_out = lb.mean_denominator(fn, *targs, **tkw)
    assert isinstance(t_out, torch.Tensor) and t_out.shape == () and t_out.dtype == torch.float64
    assert float(t_out) == pytest.approx(expected, rel=1e-15)


def _ce_formula(x: np.ndarray, t: np.ndarray, w: np.ndarray, d: float) -> tuple[float, np.ndarray]:
    """Weighted cross-entropy with ignored targets summed and divided by ``d``, and its gradient
    (float64, one row at a time)."""
    total, grad = 0.0, np.zeros_like(x)
    for n in range(x.shape[0]):
        if t[n] == -100:
            continue
        m = x[n].max()
        lse = m + math.log(sum(math.exp(v - m) for v in x[n]))
        total += w[t[n]] * (lse - x[n, t[n]])
        grad[n] = w[t[n]] * np.exp(x[n] - lse)
        grad[n, t[n]] -= w[t[n]]
    return total / d, grad / d


def test_jax_jit_traced_denominator() -> None:
    """Under jax.jit the denominator is a traced 0-d array; the shards' sum is the full mean."""
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    rtol = 1e-12 if dtype == jnp.float64 else 1e-5
    x, t, w = jnp.asarray(X, dtype), jnp.asarray(T), jnp.asarray(W, dtype)

    @jax.jit
    def count(x: Any, t: Any) -> Any:
        return lb.mean_denominator(lb.cross_entropy, x, t, weight=w)

    @jax.jit
    def part(x: Any, t: Any, d: Any) -> Any:
        return lb.cross_entropy(x, t, weight=w, denominator=d)

    shards = [(0, 2), (2, 3), (3, 7)]
    d = sum(count(x[a:b], t[a:b]) for a, b in shards)
    assert d.shape == () and d.dtype == dtype

    def total(x: Any) -> Any:
        return sum(part(x[a:b], t[a:b], d) for a, b in shards)

    value, grad = jax.value_and_grad(total)(x)
    want, want_grad = _ce_formula(X, T, W, W_SUM)
    assert float(d) == pytest.approx(W_SUM, rel=rtol)
    np.testing.assert_allclose(float(value), want, rtol=rtol)
    np.testing.assert_allclose(np.asarray(grad), want_grad, rtol=rtol, atol=rtol * 1e-2)


def test_tf_function_traced_denominator() -> None:
    """Inside tf.function the denominator is a symbolic 0-d tensor; values and gradients."""
    tf = pytest.importorskip("tensorflow")
    x, t, w = tf.constant(X), tf.constant(T), tf.constant(W)

    @tf.function
    def count(x: Any, t: Any) -> Any:
        return lb.mean_denominator(lb.cross_entropy, x, t, weight=w)

    @tf.function
    def part(x: Any, t: Any, d: Any) -> Any:
        return lb.cross_entropy(x, t, weight=w, denominator=d)

    shards = [(0, 1), (1, 5), (5, 7)]
    d = tf.add_n([count(x[a:b], t[a:b]) for a, b in shards])
    assert d.shape == () and d.dtype == tf.float64
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = tf.add_n([part(x[a:b], t[a:b], d) for a, b in shards])
    grad = tape.gradient(value, x)
    want, want_grad = _ce_formula(X, T, W, W_SUM)
    assert float(d) == pytest.approx(W_SUM, rel=1e-15)
    np.testing.assert_allclose(float(value), want, rtol=1e-12)
    np.testing.assert_allclose(grad.numpy(), want_grad, rtol=1e-12, atol=1e-14)


def test_tf_function_unknown_batch_size_count() -> None:
    """A count whose batch size is unknown while tf.function traces (a None dimension)."""
    tf = pytest.importorskip("tensorflow")

    @tf.function(input_signature=[tf.TensorSpec([None, 4], tf.float64)] * 2)
    def count(x: Any, y: Any) -> Any:
        return lb.mean_denominator(lb.mse_loss, x, y)

    assert float(count(tf.constant(X), tf.constant(X[::-1]))) == X.size


@pytest.mark.parametrize("framework", ["jax", "tensorflow"])
def test_chunked_linear_cross_entropy_shards(framework: str) -> None:
    """The chunked paths of JAX (custom_vjp) and TensorFlow: the shards' sum is the full mean,
    values and gradients (float64)."""
    rng = np.random.default_rng(5)
    x, lin_w = rng.normal(size=(7, 3)), rng.normal(size=(4, 3))
    kwargs = {"weight": W, "options": lb.LinearCrossEntropyOptions(batch_chunk_size=2)}
    shards = [(0, 1), (1, 4), (4, 7)]

    def total(x: Any) -> Any:
        d = sum(
            lb.mean_denominator(lb.linear_cross_entropy, x[a:b], lin_w, T[a:b], **kwargs)
            for a, b in shards
        )
        parts = [
            lb.linear_cross_entropy(x[a:b], lin_w, T[a:b], denominator=d, **kwargs)
            for a, b in shards
        ]
        return sum(parts[1:], parts[0])

    def full(x: Any) -> Any:
        return lb.linear_cross_entropy(x, lin_w, T, **kwargs)

    if framework == "jax":
        jax = pytest.importorskip("jax")
        if not jax.config.jax_enable_x64:
            pytest.skip("needs JAX float64 (tests/conftest.py enables it)")
        values = [jax.value_and_grad(f)(jax.numpy.asarray(x)) for f in (total, full)]
    else:
        tf = pytest.importorskip("tensorflow")
        values = []
        for f in (total, full):
            xt = tf.constant(x)
            with tf.GradientTape() as tape:
                tape.watch(xt)
                v = f(xt)
            values.append((v, tape.gradient(v, xt)))
    (v_parts, g_parts), (v_full, g_full) = values
    _check("linear_cross_entropy chunked", np.asarray(v_parts), np.asarray(v_full), framework)
    _check(
        "linear_cross_entropy chunked d/dinput", np.asarray(g_parts), np.asarray(g_full), framework
    )


def test_an_integer_or_float32_denominator_array_is_cast_to_the_loss_dtype() -> None:
    """A 0-d int64 or float32 array of the framework divides a float64 loss as its value."""
    torch = pytest.importorskip("torch")
    x, t = torch.from_numpy(X), torch.from_numpy(T)
    want, _ = _ce_formula(X, T, np.ones(4), 5.0)
    for d in (torch.tensor(5), torch.tensor(5.0, dtype=torch.float32), 5, np.float32(5.0)):
        out = lb.cross_entropy(x, t, denominator=d)
        assert out.dtype == torch.float64
        assert float(out) == pytest.approx(want, rel=1e-15)


@pytest.mark.parametrize("half", ["float16", "bfloat16"])
def test_half_precision(half: str) -> None:
    """Half inputs: the count is float32 (exact above 2048), the loss keeps the half dtype and
    equals the float32 computation rounded once."""
    torch = pytest.importorskip("torch")
    dtype = getattr(torch, half)
    n = 3001  # not a float16 number (its spacing is 2 above 2048)
    logits = torch.from_numpy(np.random.default_rng(3).normal(size=(n, 3)))
    target = torch.from_numpy(np.arange(n) % 3)
    target[:2] = -100
    d = lb.mean_denominator(lb.cross_entropy, logits.to(dtype), target)
    assert d.dtype == torch.float32 and float(d) == n - 2
    x16 = logits.to(dtype)
    out = lb.cross_entropy(x16, target, denominator=d * 2)
    assert out.dtype == dtype
    want = lb.cross_entropy(x16.float(), target, denominator=d * 2)
    # rounded once from float32: half a unit in the last place of the half dtype
    u = 2.0**-8 if half == "bfloat16" else 2.0**-11
    assert float(out) == pytest.approx(float(want), rel=u)
    # the float32 computation, against the float64 formula on the half inputs
    x64 = x16.double().numpy()
    formula, _ = _ce_formula(x64, target.numpy(), np.ones(3), 2.0 * (n - 2))
    assert float(want) == pytest.approx(formula, rel=1e-5)
    jax = pytest.importorskip("jax")
    dj = lb.mean_denominator(lb.cross_entropy, jax.numpy.asarray(x64, half), target.numpy())
    assert dj.dtype == jax.numpy.float32 and float(dj) == n - 2


def test_denominator_zero_is_a_division_by_zero() -> None:
    """``denominator=0``: inf (or NaN for a zero sum), as 0/0 in torch."""
    torch = pytest.importorskip("torch")
    out = lb.cross_entropy(torch.from_numpy(X), torch.from_numpy(T), denominator=0)
    assert float(out) == math.inf


# ------------------------------------------------------------------------------------------
# Errors
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["sum", "none"])
def test_denominator_needs_mean(reduction: str) -> None:
    msg = f"cross_entropy: denominator= applies to reduction='mean'; got reduction='{reduction}'"
    with pytest.raises(ValueError, match=re.escape(msg)):
        lb.cross_entropy(X, T, reduction=reduction, denominator=3.0)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "kl_div: denominator= applies to reduction='mean' or 'batchmean'; got reduction='sum'"
        ),
    ):
        lb.kl_div(X, np.abs(X), reduction="sum", denominator=3.0)
    with pytest.raises(
        ValueError,
        match=re.escape(
            f"mean_denominator: cross_entropy: reduction='{reduction}' has no denominator"
        ),
    ):
        lb.mean_denominator(lb.cross_entropy, X, T, reduction=reduction)


NON_RATIO = [
    (lb.rmse_loss, (X, X[::-1]), {}, "axis=None"),
    (lb.lovasz_hinge_loss, (X, (X > 0) * 1), {"per_image": False}, "per_image=False"),
    (lb.lovasz_softmax_loss, (SEG, SEG_T), {}, "per_image=False"),
    (lb.dice_loss, (SEG, SEG_T), {"batch": True}, "batch=True"),
    (lb.focal_tversky_loss, (SEG, SEG_T), {"batch": True}, "batch=True"),
]


@pytest.mark.parametrize(
    ("fn", "args", "kwargs", "why"), NON_RATIO, ids=[f"{c[0].__name__}-{c[3]}" for c in NON_RATIO]
)
def test_not_a_ratio_refuses_a_denominator(fn: Any, args: tuple, kwargs: dict, why: str) -> None:
    pattern = (
        rf"^{fn.__name__}: 'mean' is not a sum divided by a count \({re.escape(why)}.*\), "
        "so it takes no denominator$"
    )
    with pytest.raises(ValueError, match=pattern):
        fn(*args, **kwargs, denominator=4.0)
    with pytest.raises(ValueError, match=pattern):
        lb.mean_denominator(fn, *args, **kwargs)


def test_every_not_a_ratio_option_is_refused() -> None:
    """Each NOT_A_RATIO entry of the table above has a refusal test."""
    assert set(NOT_A_RATIO) <= {c[0].__name__ for c in NON_RATIO} | {"jaccard_loss", "tversky_loss"}
    for name in ("jaccard_loss", "tversky_loss"):
        with pytest.raises(ValueError, match="batch=True"):
            getattr(lb, name)(SEG, SEG_T, batch=True, denominator=1.0)


@pytest.mark.parametrize(
    ("value", "error", "message"),
    [
        (
            -1,
            ValueError,
            "denominator must be a finite number >= 0 (the count the 'mean' divides by); got -1.0",
        ),
        (
            math.nan,
            ValueError,
            "denominator must be a finite number >= 0 (the count the 'mean' divides by); got nan",
        ),
        (
            math.inf,
            ValueError,
            "denominator must be a finite number >= 0 (the count the 'mean' divides by); got inf",
        ),
        (
            np.float64(-2.0),
            ValueError,
            "denominator must be a finite number >= 0 (the count the 'mean' divides by); got -2.0",
        ),
        (
            np.ones(2),
            ValueError,
            "denominator must be a real number or a 0-d array; got an array of shape (2,)",
        ),
        (
            True,
            TypeError,
            "denominator must be a real number or a 0-d array (the count the "
            "'mean' divides by); got bool True",
        ),
        (
            "4",
            TypeError,
            "denominator must be a real number or a 0-d array (the count the "
            "'mean' divides by); got str '4'",
        ),
        (
            np.asarray(1 + 2j),
            TypeError,
            "denominator must have a real (integer or floating) dtype; got complex128",
        ),
    ],
)
def test_bad_denominators(value: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=re.escape(f"cross_entropy: {message}")):
        lb.cross_entropy(X, T, denominator=value)


def test_bad_denominator_arrays_of_a_framework() -> None:
    torch = pytest.importorskip("torch")
    x, t = torch.from_numpy(X), torch.from_numpy(T)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "mse_loss: denominator must be a real number or a 0-d array; got an array of shape (1,)"
        ),
    ):
        lb.mse_loss(x, x, denominator=torch.ones(1))
    with pytest.raises(
        TypeError,
        match=re.escape(
            "nll_loss: denominator must have a real (integer or floating) dtype; got torch.bool"
        ),
    ):
        lb.nll_loss(x, t, denominator=torch.tensor(True))


@pytest.mark.parametrize(
    "obj",
    [np.mean, lambda x: x, "cross_entropy", lb.available],
    ids=["np.mean", "lambda", "str", "available"],
)
def test_mean_denominator_of_something_else(obj: Any) -> None:
    with pytest.raises(
        TypeError,
        match=r"^mean_denominator: loss must be a lossbridge loss .*; "
        r"got ",
    ):
        lb.mean_denominator(obj, X, T)


def test_mean_denominator_misuse() -> None:
    with pytest.raises(ValueError, match="l2_regularization: it has no 'mean' reduction"):
        lb.mean_denominator(lb.l2_regularization, X)
    with pytest.raises(TypeError, match="pass no denominator="):
        lb.mean_denominator(lb.cross_entropy, X, T, denominator=2.0)
    with pytest.raises(TypeError, match="^cross_entropy: "):
        lb.mean_denominator(lb.cross_entropy, X, T, nonsense=1)


def test_mean_denominator_asks_a_dialect_object() -> None:
    """An object with ``_mean_denominator`` is asked for the count (the dialects' hook)."""

    class Loss:
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            raise AssertionError("not called")

        def _mean_denominator(self, *args: Any, **kwargs: Any) -> Any:
            return ("asked", args, kwargs)

    assert lb.mean_denominator(Loss(), 1, a=2) == ("asked", (1,), {"a": 2})


def test_mean_denominator_is_not_a_loss() -> None:
    """Exported, but neither listed nor found as a loss."""
    assert "mean_denominator" in lb.__all__
    assert "mean_denominator" not in lb.available()


def test_reduce_count_mode() -> None:
    """``reduce(..., override=COUNT)``: the own count (or the element count) as a 0-d array of
    the loss's dtype."""
    loss = np.ones((2, 3), np.float32)
    assert reduce(np, loss, "mean", override=COUNT) == 6.0
    assert reduce(np, loss, "mean", override=COUNT).dtype == np.float32
    assert reduce(np, loss, "mean", denominator=4, override=COUNT) == 4.0
    assert reduce(np, loss, "batchmean", override=COUNT) == 2.0
    assert reduce(np, loss, "mean", override=2.0) == 3.0


def test_zz_report_the_worst_shard_error() -> None:
    """Not a check of its own: prints the worst relative errors of the shard tests above (run
    with -s), for the documentation's closing note."""
    if WORST:
        print("\nworst shard-invariance relative error:", {k: f"{v:.3g}" for k, v in WORST.items()})
