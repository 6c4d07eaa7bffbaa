"""Classification losses: what the conformance registry does not check.

Values and input gradients of ``cross_entropy``, ``nll_loss``, ``binary_cross_entropy``,
``binary_cross_entropy_with_logits`` and ``kl_div`` against torch and their float64 references,
for every option the registry's cases take, on every backend and dtype, are the registry's
(``conformance/registry.py``). Here: option combinations it has no case for (checked on the
inputs rounded to the dtype against a float64 formula, itself checked against torch), hand
computations, ``ignore_index`` with probability targets, every target ignored, identities
between forms, target gradients, gradient dtypes and a kink.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _helpers import (
    DTYPES,
    RTOL,
    assert_close,
    assert_result,
    backend_grad,
    dtype_grid,
    ignore_fp_warnings,
    make,
    rounded,
    to_numpy,
    torch_f,
    torch_grad,
)

import lossbridge as lb
from lossbridge.conformance.references import reduce

REDUCTIONS = ("none", "mean", "sum")
LN2 = math.log(2.0)

# ------------------------------------------------------------------------------------------
# Plain float64 NumPy formulas
# ------------------------------------------------------------------------------------------


def np_log_softmax(x, axis):
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def class_axis(x):
    return 0 if x.ndim == 1 else 1


def np_nll(logp, y, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """torch's NLL/CE on index targets, item by item; smoothing adds (eps/C) sum_c -w_c logp_c.

    'mean' divides both terms by the summed weight of the non-ignored targets.
    """
    ca = class_axis(logp)
    n_classes = logp.shape[ca]
    rows = np.moveaxis(logp, ca, -1).reshape(-1, n_classes)
    w = np.ones(n_classes) if weight is None else weight
    eps = label_smoothing
    losses, wsum = [], 0.0
    for row, t in zip(rows, np.reshape(y, -1), strict=True):
        if t == ignore_index:
            losses.append(0.0)
            continue
        nll = -w[t] * row[t]
        smooth = -np.sum(w * row)
        losses.append((1 - eps) * nll + eps / n_classes * smooth)
        wsum += w[t]
    return reduce(np.reshape(losses, np.shape(y)), reduction, denominator=wsum)


def np_ce_index(x, y, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    return np_nll(
        np_log_softmax(x, class_axis(x)), y, weight, ignore_index, reduction, label_smoothing
    )


def np_ce_probs(x, t, weight=None, reduction="mean", label_smoothing=0.0):
    """-sum_c w_c t'_c log p_c with t' = (1 - eps) t + eps / C; 'mean' divides by the items."""
    ca = class_axis(x)
    n_classes = x.shape[ca]
    t = (1 - label_smoothing) * t + label_smoothing / n_classes
    shape = [1] * x.ndim
    shape[ca] = n_classes
    w = np.ones(shape) if weight is None else np.reshape(weight, shape)
    loss = -np.sum(np_log_softmax(x, ca) * t * w, axis=ca)
    return reduce(loss, reduction)


def np_bce_logits(x, y, weight=None, reduction="mean", pos_weight=None):
    log_sig = -np.logaddexp(0.0, -x)  # log sigma(x)
    log_1msig = -np.logaddexp(0.0, x)  # log(1 - sigma(x))
    pw = 1.0 if pos_weight is None else pos_weight
    loss = -(pw * y * log_sig + (1 - y) * log_1msig)
    return reduce(loss if weight is None else loss * weight, reduction)


# ------------------------------------------------------------------------------------------
# Data
# ------------------------------------------------------------------------------------------

RNG = np.random.default_rng(2024)
# Few distinct shapes: JAX compiles every eager op once per (shape, dtype), so the tests share
# (4, 3), (3,) and (2, 3, 1, 2) wherever they can ((2, 3, 1, 2) flattens to (4, 3) items).
SHAPES = {"NC": (4, 3), "C": (3,), "NCHW": (2, 3, 1, 2)}
CLASS_WEIGHT = np.array([1.0, 3.0, 0.5])


def logits_for(shape_key):
    return np.random.default_rng(len(shape_key)).normal(scale=2.0, size=SHAPES[shape_key])


def labels_for(x, ignore):
    """Class indices for ``x``; ``ignore`` None (none ignored), 'default' (-100) or an int."""
    ca = class_axis(x)
    n_classes = x.shape[ca]
    shape = () if x.ndim == 1 else (x.shape[0], *x.shape[2:])
    y = np.random.default_rng(n_classes).integers(0, n_classes, size=shape)
    if ignore == "default" and y.ndim:
        y.reshape(-1)[::3] = -100
    return np.asarray(y)


def probs_for(x):
    ca = class_axis(x)
    return np.exp(np_log_softmax(np.random.default_rng(5).normal(size=x.shape), ca))


def on(backend, dtype, *arrays):
    return [None if a is None else make(backend, a, dtype) for a in arrays]


def check(out, expected, torch_expected, dtype, backend=None):
    """Formula vs torch (float64), then ours vs the formula."""
    np.testing.assert_allclose(torch_expected, expected, rtol=1e-12, atol=1e-14)
    if backend is not None:
        assert_result(out, backend, dtype, np.shape(expected))
    assert_close(out, expected, RTOL[dtype], atol=RTOL[dtype])


# ------------------------------------------------------------------------------------------
# cross_entropy, nll_loss: index targets
# ------------------------------------------------------------------------------------------

INDEX_OPTIONS = [
    (shape, weighted, ignore, eps)
    for shape in SHAPES
    for weighted in (False, True)
    for ignore in (None, "default", 1)
    for eps in (0.0, 0.2)
    if not (shape == "C" and ignore == "default")
]


def _float32_index(shape, weighted, ignore, eps):
    """float32: each shape with every option on."""
    return weighted


# The registry's cross_entropy cases take every index-target option but one combination: a
# non-default ignore_index together with label smoothing. Only that is checked here.
CUSTOM_IGNORE_SMOOTHING = [o for o in INDEX_OPTIONS if o[2] == 1 and o[3] > 0]


def _index_case(shape, weighted, ignore, dtype):
    x = rounded(logits_for(shape), dtype)
    y = labels_for(x, ignore)
    w = rounded(CLASS_WEIGHT, dtype) if weighted else None
    ignore_index = ignore if isinstance(ignore, int) else -100
    return x, y, w, ignore_index


@pytest.mark.parametrize(
    ("dtype", "shape", "weighted", "ignore", "eps"),
    dtype_grid(CUSTOM_IGNORE_SMOOTHING, _float32_index),
)
def test_cross_entropy_index_custom_ignore_smoothing(backend, dtype, shape, weighted, ignore, eps):
    x, y, w, ignore_index = _index_case(shape, weighted, ignore, dtype)
    xb, yb, wb = on(backend, dtype, x, y, w)
    for reduction in REDUCTIONS:
        kw = dict(weight=w, ignore_index=ignore_index, reduction=reduction, label_smoothing=eps)
        out = lb.cross_entropy(xb, yb, **{**kw, "weight": wb})
        check(out, np_ce_index(x, y, **kw), torch_f("cross_entropy", x, y, **kw), dtype, backend)


# ------------------------------------------------------------------------------------------
# cross_entropy: probability targets
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_smoothing_on_probabilities_equals_ce_on_smoothed_targets(backend, reduction):
    """CE(x, p, ls=e) == CE(x, (1 - e) p + e / C) (C = 3 here)."""
    x = logits_for("NC")
    p = probs_for(x)
    eps = 0.25
    xb, pb, sb = on(backend, "float64", x, p, (1 - eps) * p + eps / 3)
    smoothed = lb.cross_entropy(xb, pb, reduction=reduction, label_smoothing=eps)
    assert_close(smoothed, to_numpy(lb.cross_entropy(xb, sb, reduction=reduction)), 1e-12)


# ------------------------------------------------------------------------------------------
# cross_entropy: hand computations
# ------------------------------------------------------------------------------------------

# Rows are log-probabilities, so softmax gives them back: each label's probability is 1/2
# except the last row, whose label 2 has probability 1/4.
HAND_LOGITS = np.log(
    np.array([[0.5, 0.25, 0.25], [0.25, 0.5, 0.25], [0.25, 0.25, 0.5], [0.5, 0.25, 0.25]])
)
HAND_LABELS = np.array([0, 1, 2, 2])
HAND_WEIGHT = CLASS_WEIGHT  # [1, 3, 0.5]


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_hand_weighted(backend, dtype):
    """w = [1, 3, 0.5], y = [0, 1, 2, 2]: losses w_y (-log p_y) = [ln2, 3 ln2, 0.5 ln2, 0.5 ln4].

    sum = (1 + 3 + 0.5 + 1) ln2 = 5.5 ln2; 'mean' divides by sum w_y = 1 + 3 + 0.5 + 0.5 = 5:
    1.1 ln2 (Keras' divide-by-N would give 5.5 ln2 / 4).
    """
    xb, yb, wb = on(backend, dtype, HAND_LOGITS, HAND_LABELS, HAND_WEIGHT)
    tol = RTOL[dtype]
    assert_close(lb.cross_entropy(xb, yb, weight=wb), 1.1 * LN2, tol)
    assert_close(lb.cross_entropy(xb, yb, weight=wb, reduction="sum"), 5.5 * LN2, tol)
    none = lb.cross_entropy(xb, yb, weight=wb, reduction="none")
    assert_close(none, [LN2, 3 * LN2, 0.5 * LN2, LN2], tol)
    # unweighted: (3 ln2 + ln4) / 4 = 1.25 ln2
    assert_close(lb.cross_entropy(xb, yb), 1.25 * LN2, tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_hand_ignore_index(backend, dtype):
    """Ignoring item 1 and 3: mean over the two others, (ln2 + ln2) / 2 = ln2; weighted:
    (1 ln2 + 0.5 ln2) / (1 + 0.5) = ln2. Ignored items are 0 in 'none'."""
    y = np.array([0, -100, 2, -100])
    xb, yb, wb = on(backend, dtype, HAND_LOGITS, y, HAND_WEIGHT)
    tol = RTOL[dtype]
    assert_close(lb.cross_entropy(xb, yb), LN2, tol)
    assert_close(lb.cross_entropy(xb, yb, weight=wb), LN2, tol)
    assert_close(lb.cross_entropy(xb, yb, reduction="none"), [LN2, 0.0, LN2, 0.0], tol)
    # ignore_index=2 ignores the valid class 2: items 0 and 1 remain, both ln2
    y2 = make(backend, HAND_LABELS)
    assert_close(lb.cross_entropy(xb, y2, ignore_index=2, reduction="sum"), 2 * LN2, tol)


def _torch_refuses(ignore_index):
    """Whether torch 2.13's F.cross_entropy refuses ``ignore_index`` with probability targets."""
    torch = pytest.importorskip("torch")
    x = torch.zeros(2, 3, dtype=torch.float64)
    try:
        torch.nn.functional.cross_entropy(x, x.softmax(1), ignore_index=ignore_index)
    except RuntimeError as e:
        assert "ignore_index is not supported for floating point target" in str(e)
        return True
    return False


@pytest.mark.parametrize("ignore_index", [-100, -1, -101, 0, 1, 7])
def test_cross_entropy_ignore_index_with_probabilities(backend, ignore_index):
    """issue 18 item 2: torch refuses ``ignore_index >= 0`` with probability targets (its check
    is ``ignore_index < 0``; the default -100 and other negative values are accepted and change
    nothing). Which values raise is asked of torch itself."""
    x = logits_for("NC")
    t = probs_for(x)
    xb, tb = on(backend, "float64", x, t)
    if _torch_refuses(ignore_index):
        msg = "ignore_index is not supported for floating point target"
        for loss in ("cross_entropy", "softmax_focal_loss", "poly1_cross_entropy"):
            with pytest.raises(ValueError, match=msg) as info:
                getattr(lb, loss)(xb, tb, ignore_index=ignore_index)
            text = str(info.value)
            assert text.startswith(f"{loss}:") and f"ignore_index={ignore_index}" in text
    else:
        out = lb.cross_entropy(xb, tb, ignore_index=ignore_index)
        expected = torch_f("cross_entropy", x, t, ignore_index=ignore_index)
        check(out, np_ce_probs(x, t, reduction="mean"), expected, "float64", backend)


@ignore_fp_warnings
@pytest.mark.parametrize("eps", [0.0, 0.1])
@pytest.mark.parametrize("weighted", [False, True])
def test_cross_entropy_all_ignored(backend, eps, weighted):
    """torch: every target ignored gives NaN for 'mean' (0/0), 0 for 'sum', zeros for 'none'."""
    xb, yb, wb = on(backend, "float64", HAND_LOGITS, np.full(4, -100), HAND_WEIGHT)
    kw = dict(weight=wb if weighted else None, label_smoothing=eps)
    assert np.isnan(to_numpy(lb.cross_entropy(xb, yb, **kw)))
    assert to_numpy(lb.cross_entropy(xb, yb, reduction="sum", **kw)) == 0.0
    assert_close(lb.cross_entropy(xb, yb, reduction="none", **kw), np.zeros(4), 0.0)
    assert np.isnan(to_numpy(lb.nll_loss(xb, yb, weight=kw["weight"])))


@pytest.mark.parametrize("dtype", DTYPES)
def test_label_smoothing_hand(backend, dtype):
    """Four equal items, p = [1/4, 1/2, 1/4], y = 1, e = 0.3, C = 3.

    Unweighted: (1 - e)(-ln p_1) + (e/C) sum_c -ln p_c = 0.7 ln2 + 0.1 (2 + 1 + 2) ln2 = 1.2 ln2.
    Weighted, w = [1, 3, 0.5] (torch's formula): nll = 3 ln2, smooth = (1*2 + 3*1 + 0.5*2) ln2
    = 6 ln2, per item 0.7 * 3 ln2 + 0.1 * 6 ln2 = 2.7 ln2, 'sum' 4 * 2.7 ln2, 'mean' divides by
    sum w_y = 4 * 3: 0.9 ln2. Weighted CE on the smoothed target t' = [0.1, 0.8, 0.1] instead
    gives per item (0.1*1*2 + 0.8*3*1 + 0.1*0.5*2) ln2 = 2.7 ln2, 'mean' over N: 2.7 ln2, not
    0.9 ln2 (pytorch/pytorch#104776).
    """
    x = np.log(np.tile([0.25, 0.5, 0.25], (4, 1)))
    t = np.tile([0.1, 0.8, 0.1], (4, 1))
    xb, yb, wb, tb = on(backend, dtype, x, np.full(4, 1), HAND_WEIGHT, t)
    tol = RTOL[dtype]
    assert_close(lb.cross_entropy(xb, yb, label_smoothing=0.3), 1.2 * LN2, tol)
    assert_close(lb.cross_entropy(xb, yb, weight=wb, label_smoothing=0.3), 0.9 * LN2, tol)
    kw = dict(weight=wb, label_smoothing=0.3, reduction="sum")
    assert_close(lb.cross_entropy(xb, yb, **kw), 4 * 2.7 * LN2, tol)
    assert_close(lb.cross_entropy(xb, tb, weight=wb), 2.7 * LN2, tol)
    # a uniform row has loss ln C whatever the smoothing
    u = make(backend, np.zeros((4, 3)), dtype)
    assert_close(lb.cross_entropy(u, yb, label_smoothing=0.7), math.log(3), tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_large_logits_exact(backend, dtype):
    """Logits ~1e4: [1e4, 1e4 - 2, -1e4], label 1: log(1 + e^-2 + e^-2e4) + 2 = 2 + log1p(e^-2)."""
    x = np.tile([1e4, 1e4 - 2.0, -1e4], (4, 1))
    xb, yb = on(backend, dtype, x, np.full(4, 1))
    expected = 2.0 + math.log1p(math.exp(-2.0))
    assert_close(lb.cross_entropy(xb, yb), expected, RTOL[dtype])


def test_cross_entropy_nchw_matches_permuted_nc(backend):
    """(N, C, H, W) equals (N*H*W, C) after moving the class axis last."""
    x = logits_for("NCHW")
    y = labels_for(x, "default")
    flat_x = np.moveaxis(x, 1, -1).reshape(-1, x.shape[1])
    xb, yb, fxb, fyb = on(backend, "float64", x, y, flat_x, y.reshape(-1))
    for reduction in ("mean", "sum"):
        assert_close(
            lb.cross_entropy(xb, yb, reduction=reduction),
            to_numpy(lb.cross_entropy(fxb, fyb, reduction=reduction)),
            1e-12,
        )
    none = lb.cross_entropy(xb, yb, reduction="none")
    assert tuple(none.shape) == y.shape


# ------------------------------------------------------------------------------------------
# binary_cross_entropy, binary_cross_entropy_with_logits
# ------------------------------------------------------------------------------------------

BX = np.random.default_rng(11).normal(scale=3.0, size=(4, 3))
BY = np.random.default_rng(12).uniform(size=(4, 3))
BY[0] = [0.0, 1.0, 1.0]  # hard labels too
BW = {
    None: None,
    "elementwise": np.random.default_rng(13).uniform(0.5, 2.0, size=(4, 3)),
    "per_class": np.array([1.0, 2.0, 0.5]),  # broadcast along the last axis
}
POS_WEIGHTS = {None: None, "per_class": np.array([3.0, 0.5, 2.0]), "scalar": np.array(2.5)}


@pytest.mark.parametrize(
    ("dtype", "weight", "pos_weight"),
    # a 0-d pos_weight; the registry's cases take none, a per-class one and one with weight
    dtype_grid([(w, "scalar") for w in BW], lambda w, p: w is None),
)
def test_binary_cross_entropy_with_logits_scalar_pos_weight(backend, dtype, weight, pos_weight):
    x, y = rounded(BX, dtype), rounded(BY, dtype)
    w = None if BW[weight] is None else rounded(BW[weight], dtype)
    pw = POS_WEIGHTS[pos_weight]
    xb, yb, wb, pwb = on(backend, dtype, x, y, w, pw)
    for reduction in REDUCTIONS:
        kw = dict(weight=w, reduction=reduction, pos_weight=pw)
        out = lb.binary_cross_entropy_with_logits(xb, yb, **{**kw, "weight": wb, "pos_weight": pwb})
        expected = np_bce_logits(x, y, **kw)
        torch_expected = torch_f("binary_cross_entropy_with_logits", x, y, **kw)
        check(out, expected, torch_expected, dtype, backend)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_hand_clamp(backend, dtype):
    """p = [0, 1, 1e-9, 0.3], y = [1, 0, 1, 1]: -max(log 0, -100) = 100, -max(log(1 - 1), -100)
    = 100, -log 1e-9 = 9 ln 10 = 20.723 (no clamp), -log 0.3 = 1.204."""
    p = np.array([0.0, 1.0, 1e-9, 0.3])
    pb, yb = on(backend, dtype, p, np.array([1.0, 0.0, 1.0, 1.0]))
    p32 = rounded(p, dtype)  # 1e-9 and 0.3 as the dtype holds them
    expected = [100.0, 100.0, -math.log(p32[2]), -math.log(p32[3])]
    assert expected[2] == pytest.approx(9 * math.log(10), rel=1e-7)
    assert_close(lb.binary_cross_entropy(pb, yb, reduction="none"), expected, RTOL[dtype])
    assert_close(lb.binary_cross_entropy(pb, yb), sum(expected) / 4, RTOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_with_logits_hand(backend, dtype):
    """z = [100, -100, 20, 0], y = [0, 1, 0, 1]: softplus(100) = 100, softplus(100) = 100,
    softplus(20) = 20 + log1p(e^-20), -log sigma(0) = ln2. With pos_weight 3 on z = 0, y = 1:
    3 ln2."""
    zb, yb = on(backend, dtype, np.array([100.0, -100.0, 20.0, 0.0]), np.array([0.0, 1, 0, 1]))
    expected = [100.0, 100.0, 20.0 + math.log1p(math.exp(-20.0)), LN2]
    out = lb.binary_cross_entropy_with_logits(zb, yb, reduction="none")
    assert_close(out, expected, RTOL[dtype])
    pw = make(backend, np.array(3.0), dtype)
    out = lb.binary_cross_entropy_with_logits(zb, yb, reduction="none", pos_weight=pw)
    assert_close(out, [100.0, 300.0, expected[2], 3 * LN2], RTOL[dtype])


# ------------------------------------------------------------------------------------------
# kl_div
# ------------------------------------------------------------------------------------------

# The two rows of reference section 3.5, twice (so the (4, 3) shape is shared).
KP = np.tile([[0.5, 0.5, 0.0], [0.1, 0.2, 0.7]], (2, 1))
KQ = np.tile([[0.4, 0.4, 0.2], [0.3, 0.3, 0.4]], (2, 1))


@pytest.mark.parametrize("dtype", DTYPES)
def test_kl_div_hand(backend, dtype):
    """Row KL: 2 * 0.5 ln(0.5/0.4) = ln 1.25 = 0.223144 and 0.1 ln(1/3) + 0.2 ln(2/3) + 0.7 ln(7/4)
    = 0.200777; sum 0.423921; 'mean' / 6 elements = 0.070653; 'batchmean' / 2 rows = 0.211960.
    The two rows appear twice here: sums double, means stay."""
    rows = [math.log(1.25), 0.1 * math.log(1 / 3) + 0.2 * math.log(2 / 3) + 0.7 * math.log(7 / 4)]
    assert rows[0] == pytest.approx(0.223144, abs=1e-6) and rows[1] == pytest.approx(0.200777, 1e-5)
    qb, pb = on(backend, dtype, np.log(KQ), KP)
    tol = RTOL[dtype] * 5
    assert_close(lb.kl_div(qb, pb, reduction="batchmean"), sum(rows) / 2, tol)
    assert_close(lb.kl_div(qb, pb, reduction="mean"), sum(rows) / 6, tol)
    assert_close(lb.kl_div(qb, pb, reduction="sum"), 2 * sum(rows), tol)
    none = to_numpy(lb.kl_div(qb, pb, reduction="none"))
    np.testing.assert_allclose(none.sum(axis=-1), rows * 2, rtol=tol)
    assert none[0, 2] == 0.0  # 0 log 0 - 0 log 0.2 = 0
    # log_target with log p gives the same numbers (exp(log 0) = 0 times -inf - x is nan in
    # torch, so only the strictly positive row is compared)
    lq1, lp1 = on(backend, dtype, np.log(KQ[1::2]), np.log(KP[1::2]))
    assert_close(lb.kl_div(lq1, lp1, reduction="sum", log_target=True), 2 * rows[1], tol)


# ------------------------------------------------------------------------------------------
# Empty batches
# ------------------------------------------------------------------------------------------


@ignore_fp_warnings
def test_kl_div_empty_batch(backend):
    """'mean' and 'batchmean' NaN (0 / 0, as torch), 'sum' 0, 'none' empty. (The other losses'
    empty batches are the registry's "empty" cases.)"""
    xb, yb = on(backend, "float32", np.zeros((0, 3)), np.zeros((0, 3)))
    assert np.isnan(to_numpy(lb.kl_div(xb, yb)))
    assert np.isnan(to_numpy(lb.kl_div(xb, yb, reduction="batchmean")))
    assert to_numpy(lb.kl_div(xb, yb, reduction="sum")) == 0.0
    assert_result(lb.kl_div(xb, yb, reduction="none"), backend, "float32", (0, 3))


# ------------------------------------------------------------------------------------------
# Gradients the registry does not take (targets'), gradient dtypes, a kink
# ------------------------------------------------------------------------------------------

GRAD_CASES = {
    "bce_logits": (
        "binary_cross_entropy_with_logits",
        lambda: [BX, BY],
        dict(weight=BW["elementwise"], pos_weight=POS_WEIGHTS["per_class"]),
    ),
    "kl": ("kl_div", lambda: [np.log(KQ), KP], dict(reduction="batchmean")),
    "kl_log_target": (
        "kl_div",
        lambda: [np.log(KQ), np.log(KP[:, ::-1] + 0.1)],
        dict(reduction="sum", log_target=True),
    ),
}


@pytest.mark.parametrize("case", ["bce_logits", "kl", "kl_log_target"])
def test_target_gradient_matches_torch(ad_backend, case):
    name, make_args, kwargs = GRAD_CASES[case]
    args = make_args()
    fn = getattr(lb, name)

    def loss(*arrays):
        kw = {
            k: (make(ad_backend, v, "float64") if isinstance(v, np.ndarray) else v)
            for k, v in kwargs.items()
        }
        return fn(*arrays, **kw)

    grad = backend_grad(ad_backend, loss, args, 1)
    expected = torch_grad(name, args, 1, **kwargs)
    finite = np.isfinite(expected)  # torch: d/dp [p log p] at p = 0 is nan
    np.testing.assert_allclose(grad[finite], expected[finite], rtol=1e-10, atol=1e-14)
    assert np.all(np.isfinite(grad))


@pytest.mark.parametrize("dtype", DTYPES)
def test_float32_gradient_dtype(ad_backend, dtype):
    x = logits_for("NC")
    y = labels_for(x, None)
    grad = backend_grad(ad_backend, lb.cross_entropy, [x, y], 0, dtype)
    assert grad.dtype == np.dtype(dtype)
    expected = torch_grad("cross_entropy", [rounded(x, dtype), y], 0)
    np.testing.assert_allclose(grad, expected, rtol=RTOL[dtype] * 10, atol=RTOL[dtype])


def test_bce_with_logits_pos_weight_gradient_at_zero_logit(ad_backend) -> None:
    """At logit 0 the gradient is ``w t (sigma(0) - 1) + (1 - t) sigma(0)`` on every backend.

    d/dx [(1 - t) x + (1 + (w - 1) t) softplus(-x)] = (1 - t) - (1 + (w - 1) t) sigma(-x);
    at x = 0, sigma(0) = 1/2: t = 0 gives 1 - 1/2 = 0.5, t = 1 with w = 3 gives -3/2. TF's
    ``weighted_cross_entropy_with_logits`` gave 1.0 for t = 0 (found by the property suite).
    """
    from _helpers import backend_grad

    x = np.zeros((1, 2))
    t = np.array([[0.0, 1.0]])
    w = np.array([0.0, 3.0])
    grad = backend_grad(
        ad_backend,
        lambda a, b, c: lb.binary_cross_entropy_with_logits(a, b, pos_weight=c, reduction="none"),
        [x, t, w],
        0,
    )
    np.testing.assert_allclose(grad, [[0.5, -1.5]], rtol=1e-12)
