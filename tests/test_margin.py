"""Margin, ranking and embedding losses: what the conformance registry does not check.

Every reduction's value and the input gradients of the registry's cases, against torch on every
backend and dtype, are the registry's (``conformance/registry.py``). Here: options and ties it
has no case for, ``pairwise_distance``, hand computations, torch's float32 overflow, dtype and
device rules, NaN propagation, one compiled function of every loss, and errors.

Expected values come from torch's own ops on the very numbers each backend is given (inputs are
rounded to the dtype under test first), from float64 arithmetic written in the tests, or from
hand computations in comments; never from lossbridge. Gradients are compared with torch's,
including at the ties of max(0, .), where torch uses two different rules (clamp_min: the
gradient passes at 0; the C++ kernels of multi_margin/multilabel_margin: it does not).
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
    make,
    rounded,
    torch_f,
    torch_grad,
)

from lossbridge import margin as lm
from lossbridge.backends import get_namespace
from lossbridge.conformance.drivers import available_drivers, get_driver

REDUCTIONS = ("none", "mean", "sum")

# ------------------------------------------------------------------------------------------
# Data: (4, 3) and (3,) wherever possible (JAX compiles each eager op per shape and dtype; the
# other loss tests use these shapes too)
# ------------------------------------------------------------------------------------------

RNG = np.random.default_rng(31)
X = RNG.normal(scale=1.5, size=(4, 3))
X2 = RNG.normal(scale=1.5, size=(4, 3))
X3 = RNG.normal(scale=1.5, size=(4, 3))
XZ = X.copy()
XZ[1] = 0.0  # a zero vector (cosine: cos = 0 through torch's 1e-12)
PM = np.array([[1.0, -1.0, 1.0], [-1.0, -1.0, 1.0], [1.0, 1.0, -1.0], [-1.0, 1.0, 1.0]])
# targets outside {-1, 1}: hinge_embedding adds both terms, cosine gives 0
ODD = np.array([[0.0, 0.5, 2.0], [-2.0, 1.0, -1.0], [3.0, -0.5, 1.0], [-1.0, 0.0, 1.0]])
Y4 = np.array([1.0, -1.0, 1.0, -1.0])
T01 = (RNG.uniform(size=(4, 3)) > 0.5).astype(np.float64)
TSOFT = RNG.uniform(size=(4, 3))
W3 = np.array([0.5, 2.0, 1.5])
W43 = RNG.uniform(0.5, 2.0, size=(4, 3))
# class-index targets padded with -1: labels {2, 0}; no labels; all labels; a duplicate label
MLT = np.array([[2, 0, -1], [-1, 1, 2], [0, 1, 2], [1, 1, -1]])
MT = np.array([0, 2, 1, 1])


def cosine_distance(u, v):
    """1 - cos(u, v) over the last axis, written once against the array API (any backend)."""
    xp, _ = get_namespace(u)
    dot = xp.sum(u * v, axis=-1)
    return 1.0 - dot / (xp.sqrt(xp.sum(u * u, axis=-1)) * xp.sqrt(xp.sum(v * v, axis=-1)))


def l1_distance(u, v):
    """sum |u - v|, as d * sign(d): torch's gradient 0 at d = 0 (jax's abs has 1 there)."""
    xp, _ = get_namespace(u)
    d = u - v
    return xp.sum(d * xp.sign(d), axis=-1)


# id -> (torch.nn.functional name, positional args, keyword args)
CASES = {
    "soft_margin": ("soft_margin_loss", (X, PM), {}),
    "soft_margin_bcast": ("soft_margin_loss", (X, PM[0]), {}),
    "soft_margin_odd": ("soft_margin_loss", (X, ODD), {}),
    "mlsm": ("multilabel_soft_margin_loss", (X, T01), {}),
    "mlsm_w": ("multilabel_soft_margin_loss", (X, T01), {"weight": W3}),
    "mlsm_w_elem": ("multilabel_soft_margin_loss", (X, TSOFT), {"weight": W43}),
    "mlsm_1d": ("multilabel_soft_margin_loss", (X[0], T01[0]), {}),
    "mlm": ("multilabel_margin_loss", (X, MLT), {}),
    "mlm_1d": ("multilabel_margin_loss", (X[0], MLT[0]), {}),
    "mm": ("multi_margin_loss", (X, MT), {}),
    "mm_w": ("multi_margin_loss", (X, MT), {"weight": W3}),
    "mm_p2_w": ("multi_margin_loss", (X, MT), {"p": 2, "margin": 0.7, "weight": W3}),
    "mm_neg_margin": ("multi_margin_loss", (X, MT), {"margin": -0.3}),
    "mm_1d": ("multi_margin_loss", (X[0], np.array(2)), {}),
    "mm_1d_t1": ("multi_margin_loss", (X[0], np.array([2])), {"p": 2}),
    "hinge": ("hinge_embedding_loss", (X, PM), {}),
    "hinge_odd": ("hinge_embedding_loss", (X, ODD), {"margin": 0.5}),
    "hinge_bcast": ("hinge_embedding_loss", (X[:1], Y4[:, None]), {"margin": 2.0}),
    "ranking": ("margin_ranking_loss", (X[:, 0], X2[:, 0], Y4), {}),
    "ranking_m": ("margin_ranking_loss", (X, X2, PM), {"margin": 0.5}),
    "ranking_odd": ("margin_ranking_loss", (X, X2, ODD), {"margin": -0.2}),
    "ranking_bcast": ("margin_ranking_loss", (X, X2[:1], PM[:, :1]), {"margin": 0.3}),
    "cosine": ("cosine_embedding_loss", (X, X2, Y4), {}),
    "cosine_m": ("cosine_embedding_loss", (X, X2, Y4), {"margin": 0.3}),
    "cosine_zero": ("cosine_embedding_loss", (XZ, X2, -Y4), {"margin": -0.5}),
    "cosine_odd": ("cosine_embedding_loss", (X, X2, ODD[:, 0]), {}),
    "cosine_bcast": ("cosine_embedding_loss", (X, X2[:1], Y4[:1]), {"margin": -0.1}),
    "cosine_1d": ("cosine_embedding_loss", (X[0], X2[0], np.array(-1.0)), {"margin": -0.9}),
    "triplet": ("triplet_margin_loss", (X, X2, X3), {}),
    "triplet_p1_swap": ("triplet_margin_loss", (X, X2, X3), {"p": 1, "swap": True}),
    "triplet_p3": ("triplet_margin_loss", (X, X2, X3), {"p": 3, "margin": 0.5}),
    "triplet_p05": ("triplet_margin_loss", (X, X2, X3), {"p": 0.5, "eps": 0.0, "margin": 2.0}),
    "triplet_inf_swap": ("triplet_margin_loss", (X, X2, X3), {"p": math.inf, "swap": True}),
    "triplet_eps": ("triplet_margin_loss", (X, X2, X3), {"eps": 0.1, "margin": 3.0}),
    "triplet_1d": ("triplet_margin_loss", (X[0], X2[0], X3[0]), {"margin": 2.0}),
    "twd": ("triplet_margin_with_distance_loss", (X, X2, X3), {}),
    "twd_swap": ("triplet_margin_with_distance_loss", (X, X2, X3), {"swap": True, "margin": 2.0}),
    "twd_cosine": (
        "triplet_margin_with_distance_loss",
        (X, X2, X3),
        {"distance_function": cosine_distance, "margin": 0.5, "swap": True},
    ),
    "twd_l1": (
        "triplet_margin_with_distance_loss",
        (X, X2, X3),
        {"distance_function": l1_distance, "margin": 1.5},
    ),
}
# float32 error relative to the float64 value of the same (rounded) inputs: measured within
# 2e-6 (RTOL) on every backend; twice that leaves room for other CPUs' summation orders
TOL = {"float32": 4e-6, "float64": 1e-12}


def _rounded_all(values, dtype):
    return [rounded(v, dtype) if isinstance(v, np.ndarray) else v for v in values]


def _on_backend(backend, dtype, values):
    return [make(backend, v, dtype) if isinstance(v, np.ndarray) else v for v in values]


def _kw(kwargs, fn):
    return dict(zip(kwargs, fn(list(kwargs.values())), strict=True))


# The registry's cases (conformance/registry.py) take every other entry of CASES (the same
# options, broadcasts, odd targets, 1-D inputs); these are the ones it has no case for.
VALUE_CASES = ["mm_1d_t1", "hinge_bcast", "cosine_bcast", "triplet_p05"]


@pytest.mark.parametrize(("dtype", "case"), dtype_grid([(c,) for c in VALUE_CASES], lambda c: True))
def test_values_match_torch(backend, dtype, case):
    name, args, kwargs = CASES[case]
    args = _rounded_all(args, dtype)
    kwargs = _kw(kwargs, lambda v: _rounded_all(v, dtype))
    b_args = _on_backend(backend, dtype, args)
    b_kwargs = _kw(kwargs, lambda v: _on_backend(backend, dtype, v))
    fn = getattr(lm, name)
    for reduction in REDUCTIONS:
        expected = torch_f(name, *args, reduction=reduction, **kwargs)
        out = fn(*b_args, reduction=reduction, **b_kwargs)
        assert_result(out, backend, dtype, expected.shape)
        assert_close(out, expected, TOL[dtype], atol=TOL[dtype])


PAIRWISE = [  # (p, eps, keepdim, shapes)
    (2.0, 1e-6, False, "NC"),
    (1.0, 1e-6, True, "NC"),
    (3.0, 0.0, False, "NC"),
    (0.5, 1e-6, False, "NC"),
    (1.5, 1e-6, True, "C"),
    (math.inf, 1e-6, False, "NC"),
    (math.inf, 0.0, True, "C"),
    (2.0, 1e-6, False, "bcast"),
    (2.0, 0.5, True, "0d"),
]
PAIR_SHAPES = {
    "NC": lambda: (X, X2),
    "C": lambda: (X[0], X2[0]),
    "bcast": lambda: (X, X2[1]),
    "0d": lambda: (np.array(1.5), np.array(-0.25)),
}


@pytest.mark.parametrize(
    ("dtype", "p", "eps", "keepdim", "shapes"),
    dtype_grid(PAIRWISE, lambda p, eps, keepdim, shapes: shapes == "NC"),
)
def test_pairwise_distance_matches_torch(backend, dtype, p, eps, keepdim, shapes):
    x1, x2 = (rounded(a, dtype) for a in PAIR_SHAPES[shapes]())
    expected = torch_f("pairwise_distance", x1, x2, p=p, eps=eps, keepdim=keepdim)
    out = lm.pairwise_distance(
        *_on_backend(backend, dtype, [x1, x2]), p=p, eps=eps, keepdim=keepdim
    )
    assert_result(out, backend, dtype, expected.shape)
    assert_close(out, expected, TOL[dtype], atol=TOL[dtype])


# ------------------------------------------------------------------------------------------
# Hand computations
# ------------------------------------------------------------------------------------------


# Hand computations and other fixed-value checks run on the backends without per-shape eager
# compilation (each uses new shapes); test_values_match_torch covers every backend.
CHEAP = [d.name for d in available_drivers() if d.name not in ("jax", "tensorflow")]


@pytest.fixture(params=CHEAP)
def cheap_backend(request):
    return get_driver(request.param)


@pytest.mark.parametrize("dtype", DTYPES)
def test_hand_values(cheap_backend, dtype):
    backend = cheap_backend
    tol = RTOL[dtype] * 4

    def arr(*a):
        return _on_backend(backend, dtype, [np.asarray(v, dtype=np.float64) for v in a])

    # hinge_embedding, reference 3.9: s = [0.3, -0.5, 2], y = [-1, 1, 1]: [1 - 0.3, -0.5, 2].
    # Targets outside {-1, 1} get both terms: y = 0: max(0, 1 - 0.3) + 0.3 = 1;
    # y = 0.5: max(0, 1 + 0.5) - 0.5 = 1; y = 2: max(0, 1 - 2) + 2 = 2.
    s, y, odd = arr([0.3, -0.5, 2.0], [-1.0, 1.0, 1.0], [0.0, 0.5, 2.0])
    assert_close(lm.hinge_embedding_loss(s, y, reduction="none"), [0.7, -0.5, 2.0], tol)
    assert_close(lm.hinge_embedding_loss(s, odd, reduction="none"), [1.0, 1.0, 2.0], tol)
    assert_close(lm.hinge_embedding_loss(s, y), (0.7 - 0.5 + 2.0) / 3, tol)

    # multi_margin, reference 3.9: scores [1, 2, 0.5], y = 0: hinges max(0, 1 - 1 + 2) = 2 and
    # max(0, 1 - 1 + 0.5) = 0.5; p = 1: 2.5 / 3; p = 2: (4 + 0.25) / 3; weight[0] = 2: 5 / 3.
    (scores,) = arr([1.0, 2.0, 0.5])
    y0 = make(backend, np.array(0))
    assert_close(lm.multi_margin_loss(scores, y0), 2.5 / 3, tol)
    assert_close(lm.multi_margin_loss(scores, y0, p=2), 4.25 / 3, tol)
    (w,) = arr([2.0, 7.0, 7.0])
    assert_close(lm.multi_margin_loss(scores, y0, weight=w, reduction="sum"), 5.0 / 3, tol)

    # multilabel_margin, torch's doc example: x = [0.1, 0.2, 0.4, 0.8], labels {3, 0} (then -1,
    # the 1 after it ignored): [(1 - (0.1 - 0.2)) + (1 - (0.1 - 0.4)) + (1 - (0.8 - 0.2))
    # + (1 - (0.8 - 0.4))] / 4 = (1.1 + 1.3 + 0.4 + 0.6) / 4 = 0.85
    (xm,) = arr([[0.1, 0.2, 0.4, 0.8]])
    tm = make(backend, np.array([[3, 0, -1, 1]]))
    assert_close(lm.multilabel_margin_loss(xm, tm, reduction="none"), [0.85], tol)
    # no labels (-1 first) and every class a label: nothing to compare, loss 0
    t_none = make(backend, np.array([[-1, 0, 1, 2]]))
    t_all = make(backend, np.array([[3, 2, 1, 0]]))
    assert_close(lm.multilabel_margin_loss(xm, t_none, reduction="none"), [0.0], tol)
    assert_close(lm.multilabel_margin_loss(xm, t_all, reduction="none"), [0.0], tol)
    # label 3 listed twice, then 0: (1.1 + 1.3 + 2 * (0.4 + 0.6)) / 4 = 1.1
    t_dup = make(backend, np.array([[3, 3, 0, -1]]))
    assert_close(lm.multilabel_margin_loss(xm, t_dup, reduction="none"), [1.1], tol)

    # cosine_embedding, reference 3.8: a = [1, 0], b = [1, 1]: cos = 1 / sqrt(2);
    # y = 1: 1 - 0.70711 = 0.29289; y = -1: 0.70711. Zero vector: cos = 0 (torch's 1e-12):
    # y = 1 gives 1, y = -1 gives max(0, 0 - 0) = 0.
    a, b, z = arr([[1.0, 0.0], [0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]], [1.0, 1.0])
    c = 1 / math.sqrt(2)
    assert_close(lm.cosine_embedding_loss(a, b, z, reduction="none"), [1 - c, 1.0], tol)
    assert_close(lm.cosine_embedding_loss(a, b, -z, reduction="none"), [c, 0.0], tol)
    assert_close(
        lm.cosine_embedding_loss(a, b, -z, margin=0.5, reduction="none"), [c - 0.5, 0.0], tol
    )

    # margin_ranking: x1 = [1, 2, 3], x2 = [2, 2, 1], y = [1, -1, 1], margin 0.5:
    # max(0, -(1 - 2) + 0.5) = 1.5, max(0, (2 - 2) + 0.5) = 0.5, max(0, -(3 - 1) + 0.5) = 0
    x1, x2, yr = arr([1.0, 2.0, 3.0], [2.0, 2.0, 1.0], [1.0, -1.0, 1.0])
    assert_close(
        lm.margin_ranking_loss(x1, x2, yr, margin=0.5, reduction="none"), [1.5, 0.5, 0.0], tol
    )

    # triplet, eps = 0, margin 1: a = (0, 0), p = (3, 4), n = (3, 5): d(a,p) = 5,
    # d(a,n) = sqrt(34) = 5.83095, d(p,n) = 1. No swap: 1 + 5 - 5.83095 = 0.16905;
    # swap: 1 + 5 - min(5.83095, 1) = 5. p = 1: 1 + 7 - 8 = 0; p = inf: 1 + 4 - 5 = 0.
    ta, tp, tn = arr([[0.0, 0.0]], [[3.0, 4.0]], [[3.0, 5.0]])
    kw = dict(eps=0.0, reduction="none")
    assert_close(lm.triplet_margin_loss(ta, tp, tn, **kw), [6 - math.sqrt(34)], tol)
    assert_close(lm.triplet_margin_loss(ta, tp, tn, swap=True, **kw), [5.0], tol)
    assert_close(lm.triplet_margin_loss(ta, tp, tn, p=1, **kw), [0.0], tol)
    assert_close(lm.triplet_margin_loss(ta, tp, tn, p=math.inf, **kw), [0.0], tol)
    # pairwise_distance adds eps to the difference: |(0 - 3 + 0.5, 0 - 4 + 0.5)| = |(-2.5,
    # -3.5)| = sqrt(18.5); p = inf: 3.5; p = 1: 6.
    assert_close(lm.pairwise_distance(ta, tp, eps=0.5), [math.sqrt(18.5)], tol)
    assert_close(lm.pairwise_distance(ta, tp, p=math.inf, eps=0.5, keepdim=True), [[3.5]], tol)
    assert_close(lm.pairwise_distance(ta, tp, p=1, eps=0.5), [6.0], tol)
    # an infinite entry: every norm is inf (the max-norm must not compute inf - inf)
    big, zero = arr([[np.inf, 1.0, -2.0]], [[0.0, 0.0, 0.0]])
    for p in (1, 2, 3, math.inf):
        assert_close(lm.pairwise_distance(big, zero, p=p), [np.inf], tol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_soft_margin_is_exact_where_torch_float32_overflows(backend, dtype):
    """-y x = 100: log(1 + e^100) = 100 + log1p(e^-100) = 100 (float64 torch agrees).

    torch float32 computes log1p(exp(100)) = inf (gradient NaN); we return 100, gradient -1.
    Also: y x = 100 gives log1p(e^-100) = 3.72e-44 (a float32 subnormal: 1.4e-45 steps).
    """
    torch = pytest.importorskip("torch")

    x = np.array([-100.0, 100.0, 0.0])
    y = np.array([1.0, 1.0, -1.0])
    t32 = torch.nn.functional.soft_margin_loss(
        torch.tensor(x, dtype=torch.float32),
        torch.tensor(y, dtype=torch.float32),
        reduction="none",
    )
    assert math.isinf(float(t32[0]))  # the documented torch float32 overflow
    out = lm.soft_margin_loss(*_on_backend(backend, dtype, [x, y]), reduction="none")
    # float32 e^-100 is subnormal: a few 1.4e-45 steps apart in torch, 0 in XLA (flushed)
    atol = 4e-44 if dtype == "float32" else 0.0
    assert_close(out, [100.0, math.exp(-100.0), math.log(2.0)], RTOL[dtype], atol)
    assert_close(out, torch_f("soft_margin_loss", x, y, reduction="none"), RTOL[dtype], atol)


def test_zero_d_and_single_class_inputs(cheap_backend):
    """torch reads a 0-d input as one item with one class: no other class, loss 0."""
    backend = cheap_backend
    x = make(backend, np.array(0.7), "float64")
    for target in (np.array(0), np.array([0])):
        t = make(backend, target)
        assert_close(lm.multi_margin_loss(x, t, reduction="none"), np.zeros(target.shape), 0)
        assert_close(lm.multilabel_margin_loss(x, t, reduction="none"), 0.0, 0)
    # pairwise_distance of 0-d arrays: |1.5 - (-0.25) + 1e-6| = 1.750001, 0-d even with keepdim
    a, b = (make(backend, np.array(v), "float64") for v in (1.5, -0.25))
    assert_close(lm.pairwise_distance(a, b, keepdim=True), 1.75 + 1e-6, 1e-12)


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("soft_margin_loss", (X, PM)),  # torch: the input's dtype (target cast)
        ("hinge_embedding_loss", (X, PM)),  # the target is only compared with +-1
        ("multilabel_soft_margin_loss", (X, T01)),  # promoted
        ("margin_ranking_loss", (X, X2, PM)),  # promoted
        ("cosine_embedding_loss", (X, X2, Y4)),  # the target is only compared
        ("triplet_margin_loss", (X, X2, X3)),  # promoted
    ],
)
def test_mixed_dtypes_follow_torch(cheap_backend, name, args):
    """float32 first input, float64 others (arrays, not host data): torch's result dtype."""
    torch = pytest.importorskip("torch")

    t_args = [
        torch.tensor(a, dtype=torch.float32 if i == 0 else torch.float64)
        for i, a in enumerate(args)
    ]
    expected = getattr(torch.nn.functional, name)(*t_args, reduction="none")
    b_args = [
        make(cheap_backend, a, "float32" if i == 0 else "float64") for i, a in enumerate(args)
    ]
    out = getattr(lm, name)(*b_args, reduction="none")
    assert_result(
        out, cheap_backend, str(expected.dtype).removeprefix("torch."), tuple(expected.shape)
    )
    assert_close(out, expected.numpy(), 1e-6, atol=1e-7)


def test_multilabel_margin_padding_ends_the_list(cheap_backend):
    """Whatever follows the first -1 is ignored (only its range is checked, as in torch)."""
    backend = cheap_backend
    x = np.array([[0.1, 0.2, 0.4, 0.8]] * 3)
    t = np.array([[3, 0, -1, 1], [3, 0, -1, 2], [3, 0, -1, -1]])
    out = lm.multilabel_margin_loss(make(backend, x, "float64"), make(backend, t), reduction="none")
    assert_close(out, [0.85, 0.85, 0.85], 1e-12)


def test_other_devices(backend):
    """Arrays created inside a loss (arange) land on the input's device."""
    for label, device, readable in backend.extra_devices():
        x = backend.from_numpy(X, "float64", device=device)
        mlt = backend.from_numpy(MLT, device=device)
        mt = backend.from_numpy(MT, device=device)
        for out, name, args in [
            (
                lm.multilabel_margin_loss(x, mlt, reduction="none"),
                "multilabel_margin_loss",
                (X, MLT),
            ),
            (lm.multi_margin_loss(x, mt, reduction="none"), "multi_margin_loss", (X, MT)),
        ]:
            assert backend.device(out) == backend.device(x), label
            if readable:
                assert_close(out, torch_f(name, *args, reduction="none"), 1e-12)


# ------------------------------------------------------------------------------------------
# Gradients vs torch's, at ties the registry has no case for
# ------------------------------------------------------------------------------------------

# cos - margin == 0 for y == -1 in rows 0 and 1 (orthogonal: cos = 0, margin 0)
COS_TIE_1 = np.array([[1.0, 0.0, 0.0], [0.0, 2.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])
COS_TIE_2 = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 3.0], [1.0, 2.0, 0.0], [1.0, 1.0, 1.0]])
COS_TIE_Y = np.array([-1.0, -1.0, -1.0, 1.0])
# eps = 0, margin 1: row 0 has 1 + d(a, p) - d(a, n) = 1 + 0 - 1 = 0 (and a zero difference
# a - p, where the norm's gradient is 0); row 1 has d(a, n) = d(p, n) = 1 (swap tie)
TRI_A = np.array([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [1.0, 2.0, 0.5], [0.0, 1.0, 0.0]])
TRI_P = np.array([[0.0, 0.0, 0.0], [2.0, 0.0, 0.0], [0.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
TRI_N = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 0.0], [1.0, 1.5, 0.0], [2.0, 2.0, 2.0]])
# pairwise distance: ties of the max (p = inf) and zero differences (p = 0.5, eps = 0)
PD_1 = np.array([[1.0, -1.0, 1.0], [0.0, 0.0, 0.0], [2.0, 0.0, -2.0], [1.0, 2.0, 3.0]])
PD_2 = np.zeros((4, 3))

# The registry's grad_oracle check takes the gradients of each loss's array arguments at ordinary
# points and at its ties (cases "ties", "real_targets", "zero_vector_odd", "p2_weight", ...).
# Here: a target's gradient, and ties it has no case for (cosine at cos = margin, triplet
# distances with zero differences, max-norm ties and swap ties).
GRAD_CASES = {
    "mlsm_target": ("multilabel_soft_margin_loss", [X, TSOFT], {"weight": W43}, (1,)),
    "cosine_tie": ("cosine_embedding_loss", [COS_TIE_1, COS_TIE_2, COS_TIE_Y], {}, (0, 1)),
    "triplet_tie": (
        "triplet_margin_loss",
        [TRI_A, TRI_P, TRI_N],
        {"eps": 0.0, "swap": True, "margin": 1.0},
        (0, 1, 2),
    ),
    "triplet_inf_tie": (
        "triplet_margin_loss",
        [PD_1, PD_2, X3],
        {"p": math.inf, "eps": 0.0, "margin": 5.0},
        (0,),
    ),
    "triplet_p05_zero": (
        "triplet_margin_loss",
        [PD_1, PD_2, X3],
        {"p": 0.5, "eps": 0.0, "margin": 9.0},
        (0,),
    ),
    "twd_tie": (
        "triplet_margin_with_distance_loss",
        [TRI_A, TRI_P, TRI_N],
        {"distance_function": l1_distance, "swap": True},
        (0, 1, 2),
    ),
}
GRAD_PARAMS = [(case, wrt) for case, (_, _, _, wrts) in GRAD_CASES.items() for wrt in wrts]


@pytest.mark.parametrize(("case", "wrt"), GRAD_PARAMS)
def test_gradient_matches_torch(ad_backend, case, wrt):
    name, args, kwargs, _ = GRAD_CASES[case]
    fn = getattr(lm, name)

    def loss(*arrays):
        kw = _kw(kwargs, lambda v: _on_backend(ad_backend, "float64", v))
        return fn(*arrays, **kw)

    grad = backend_grad(ad_backend, loss, args, wrt)
    expected = torch_grad(name, args, wrt, **kwargs)
    np.testing.assert_allclose(grad, expected, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("dtype", DTYPES)
def test_float32_gradient_dtype(ad_backend, dtype):
    args = [rounded(a, dtype) for a in (X, X2, X3)]
    grad = backend_grad(ad_backend, lm.triplet_margin_loss, args, 0, dtype)
    assert grad.dtype == np.dtype(dtype)
    expected = torch_grad("triplet_margin_loss", args, 0)
    np.testing.assert_allclose(grad, expected, rtol=TOL[dtype], atol=TOL[dtype])


def test_clamp_min_keeps_nan_like_torch(backend):
    """clamp_min(NaN, 0) is NaN in torch (hinge_embedding); the C++ kernel of multi_margin
    skips a NaN z (NaN > 0 is false): scores [nan, 1, 2], y = 1: z = 1 - 1 + 2 = 2 for class 2,
    NaN for class 0: 2 / 3 (torch: 0.6667)."""
    x = np.array([np.nan, 1.0, 2.0])
    xb = make(backend, x, "float64")
    for y in (1.0, -1.0, 0.0):  # both terms of hinge_embedding see the NaN
        yb = make(backend, np.array([y, -1.0, 0.0]))
        out = lm.hinge_embedding_loss(xb, yb, reduction="none")
        assert_close(out, [np.nan, 0.0, 2.0], 1e-12)  # y = 0 at x = 2: max(0, 1 - 2) + 2
    assert_close(lm.multi_margin_loss(xb, make(backend, np.array(1))), 2.0 / 3, 1e-12)
    assert_close(
        lm.multi_margin_loss(xb, make(backend, np.array(1))),
        torch_f("multi_margin_loss", x, np.array(1)),
        1e-12,
    )


# ------------------------------------------------------------------------------------------
# Compiled: jax.jit, tf.function(jit_compile=True), torch.compile(fullgraph=True)
# ------------------------------------------------------------------------------------------

COMPILED = [
    "soft_margin",
    "mlsm_w",
    "mlm",
    "mm_p2_w",
    "hinge_odd",
    "ranking_m",
    "cosine_zero",
    "triplet_inf_swap",
    "twd_cosine",
]


def _compile(framework, fn):
    if framework == "jax":
        import jax

        return jax.jit(fn)
    if framework == "tensorflow":
        import tensorflow as tf

        # autograph=False: AutoGraph would convert every lossbridge function it reaches
        # (seconds per loss, nothing to convert); test_tf_function_autograph keeps one with it.
        return tf.function(fn, jit_compile=True, autograph=False)
    torch = pytest.importorskip("torch")

    torch._dynamo.reset()  # a fresh cache: no recompile limit from earlier tests
    return torch.compile(fn, backend="eager", fullgraph=True)


@pytest.mark.parametrize("framework", ["jax", "tensorflow", "torch"])
def test_compiled(framework):
    """Every loss (and pairwise_distance) in one compiled function: one trace per framework.

    A graph break fails torch.compile(fullgraph=True); a Python branch on array values fails
    jax.jit and tf.function's XLA compilation.
    """
    driver = get_driver(framework)
    if not driver.available():
        pytest.skip(f"{framework} is not installed")
    cases = [CASES[c] for c in COMPILED] + [("pairwise_distance", (X, X2), {"p": 0.5})]
    cases = [
        (n, a, {**k, "reduction": "none"} if n != "pairwise_distance" else k) for n, a, k in cases
    ]
    flat = [v for _, args, _ in cases for v in _on_backend(driver, "float64", args)]
    kws = [_kw(k, lambda v: _on_backend(driver, "float64", v)) for _, _, k in cases]

    def all_losses(*arrays):
        outs, i = [], 0
        for (name, args, _), kw in zip(cases, kws, strict=True):
            outs.append(getattr(lm, name)(*arrays[i : i + len(args)], **kw))
            i += len(args)
        return tuple(outs)

    outs = _compile(framework, all_losses)(*flat)
    for (name, args, kwargs), out in zip(cases, outs, strict=True):
        assert_close(out, torch_f(name, *args, **kwargs), 1e-12, atol=1e-14)


def test_tf_function_autograph():
    """The default tf.function (AutoGraph on) with XLA, on one loss."""
    tf = pytest.importorskip("tensorflow")
    fn = tf.function(
        lambda a, b, y: lm.hinge_embedding_loss(a, y) + lm.soft_margin_loss(b, y), jit_compile=True
    )
    out = fn(tf.constant(X), tf.constant(X2), tf.constant(ODD))
    expected = torch_f("hinge_embedding_loss", X, ODD) + torch_f("soft_margin_loss", X2, ODD)
    assert_close(out, expected, 1e-12)


def test_jax_jit_gradient():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    def f(a, p, n):
        return lm.triplet_margin_loss(a, p, n, swap=True, margin=2.0)

    grad = jax.jit(jax.grad(f, argnums=(0, 1, 2)))(*(jnp.asarray(v) for v in (X, X2, X3)))
    for i, g in enumerate(grad):
        expected = torch_grad("triplet_margin_loss", [X, X2, X3], i, swap=True, margin=2.0)
        np.testing.assert_allclose(np.asarray(g), expected, rtol=1e-10, atol=1e-14)


# ------------------------------------------------------------------------------------------
# Errors: the argument, what it got and what was expected
# ------------------------------------------------------------------------------------------

I43 = np.zeros((4, 3), np.int64)


def _error_cases():
    x, x2, x3 = X, X2, X3
    return [
        # reductions
        (lambda: lm.soft_margin_loss(x, PM, reduction="avg"), ValueError, "reduction='avg'"),
        (
            lambda: lm.triplet_margin_with_distance_loss(x, x2, x3, reduction="x"),
            ValueError,
            "reduction='x'",
        ),
        (lambda: lm.multi_margin_loss(x, MT, reduction=None), ValueError, "reduction=None"),
        # integer inputs
        (lambda: lm.soft_margin_loss(I43, PM), TypeError, r"\binput\b.*floating.*int64"),
        (lambda: lm.margin_ranking_loss(I43, x, PM), TypeError, r"\binput1\b.*floating"),
        (lambda: lm.cosine_embedding_loss(I43, x, Y4), TypeError, r"\binput1\b.*floating"),
        (lambda: lm.triplet_margin_loss(I43, x, x), TypeError, r"\banchor\b.*floating"),
        (lambda: lm.pairwise_distance(I43, x), TypeError, r"\bx1\b.*floating"),
        (lambda: lm.multilabel_margin_loss(I43, MLT), TypeError, r"\binput\b.*floating"),
        # targets: dtype, values
        (lambda: lm.multi_margin_loss(x, MT.astype(float)), TypeError, r"target.*integer"),
        (lambda: lm.multilabel_margin_loss(x, MLT.astype(float)), TypeError, "target.*integer"),
        (lambda: lm.hinge_embedding_loss(x, PM > 0), TypeError, r"target.*bool"),
        (
            lambda: lm.multi_margin_loss(x, np.array([0, 3, 1, 1])),
            ValueError,
            r"target.*index 3.*3 classes",
        ),
        (lambda: lm.multi_margin_loss(x, np.array([0, -1, 1, 1])), ValueError, "index -1"),
        (
            lambda: lm.multilabel_margin_loss(x, np.array([[0, -2, 1]] * 4)),
            ValueError,
            r"target.*\[-1, 2\].*-2",
        ),
        (
            lambda: lm.multilabel_margin_loss(x, np.array([[0, -1, 3]] * 4)),
            ValueError,
            r"target.*\[-1, 2\]",
        ),
        # shapes
        (lambda: lm.soft_margin_loss(x[0], PM), ValueError, r"target.*\(4, 3\).*input.*\(3,\)"),
        (lambda: lm.soft_margin_loss(x, PM[:, :2]), ValueError, r"\(4, 2\).*\(4, 3\)"),
        (lambda: lm.multilabel_soft_margin_loss(np.array(1.0), np.array(1.0)), ValueError, "0-d"),
        (
            lambda: lm.multilabel_soft_margin_loss(x, T01, weight=np.ones(2)),
            ValueError,
            r"weight.*\(2,\)",
        ),
        (
            lambda: lm.multilabel_margin_loss(x, MLT[:, :2]),
            ValueError,
            r"target.*\(4, 2\).*input.*\(4, 3\).*\(4, 3\)",
        ),
        (
            lambda: lm.multilabel_margin_loss(np.zeros((2, 3, 4)), np.zeros((2, 3, 4), int)),
            ValueError,
            r"input.*\(C,\) or \(N, C\).*\(2, 3, 4\)",
        ),
        (
            lambda: lm.multilabel_margin_loss(np.zeros((2, 0)), np.zeros((2, 0), int)),
            ValueError,
            r"C > 0.*\(2, 0\)",
        ),
        (lambda: lm.multi_margin_loss(x, MT[:3]), ValueError, r"target.*\(3,\).*\(4,\)"),
        (lambda: lm.multi_margin_loss(x, MT[:, None]), ValueError, r"target.*\(4, 1\)"),
        (
            lambda: lm.multi_margin_loss(x, MT, weight=np.ones((1, 3))),
            ValueError,
            r"weight.*\(1, 3\).*\(3,\)",
        ),
        (
            lambda: lm.multi_margin_loss(x, MT, weight=np.ones(2)),
            ValueError,
            r"weight.*\(2,\).*\(3,\)",
        ),
        (
            lambda: lm.multi_margin_loss(x, MT, weight=np.ones(3, int)),
            TypeError,
            r"weight.*floating",
        ),
        (lambda: lm.hinge_embedding_loss(x, PM[:2]), ValueError, r"target.*\(2, 3\)"),
        (
            lambda: lm.margin_ranking_loss(x, x2[0], PM),
            ValueError,
            r"same number of dimensions.*input2 \(3,\)",
        ),
        (lambda: lm.margin_ranking_loss(x, x2[:2], PM), ValueError, r"input2.*\(2, 3\)"),
        (lambda: lm.cosine_embedding_loss(x, x2, PM), ValueError, r"target.*0-d or 1-D.*\(4, 3\)"),
        (
            lambda: lm.cosine_embedding_loss(x[0], x2[0], Y4),
            ValueError,
            r"1-D target expects 2-D inputs.*input1 \(3,\)",
        ),
        (
            lambda: lm.cosine_embedding_loss(x, x2, np.array(1.0)),
            ValueError,
            r"0-D target expects 1-D inputs",
        ),
        (lambda: lm.cosine_embedding_loss(x, x2, Y4[:3]), ValueError, r"target.*\(3,\)"),
        (
            lambda: lm.triplet_margin_loss(x, x2[0], x3),
            ValueError,
            r"anchor, positive, negative.*same number of dimensions.*positive \(3,\)",
        ),
        (
            lambda: lm.triplet_margin_with_distance_loss(x, x2, x3[:, 0]),
            ValueError,
            r"same number of dimensions.*negative \(4,\)",
        ),
        (lambda: lm.pairwise_distance(x, x2[:, :2]), ValueError, r"x2.*\(4, 2\).*x1.*\(4, 3\)"),
        # p, margin, distance_function
        (lambda: lm.multi_margin_loss(x, MT, p=3), ValueError, r"p must be 1 or 2.*3"),
        (
            lambda: lm.triplet_margin_loss(x, x2, x3, margin=0.0),
            ValueError,
            r"triplet_margin_loss: margin must be > 0; got 0\.0",
        ),
        (lambda: lm.triplet_margin_loss(x, x2, x3, margin=math.nan), ValueError, "nan"),
        (
            lambda: lm.triplet_margin_with_distance_loss(x, x2, x3, margin=-1),
            ValueError,
            r"margin.*-1",
        ),
        (
            lambda: lm.triplet_margin_loss(x, x2, x3, p=0),
            ValueError,
            r"triplet_margin_loss: p must be > 0 \(the norm's degree, math.inf .*; got 0",
        ),
        (lambda: lm.pairwise_distance(x, x2, p=-1.0), ValueError, r"\bp\b.*-1\.0"),
        (lambda: lm.pairwise_distance(x, x2, p="2"), TypeError, r"\bp\b.*'2'"),
        (lambda: lm.hinge_embedding_loss(x, PM, margin="1"), TypeError, r"margin.*'1'"),
        (
            lambda: lm.triplet_margin_with_distance_loss(x, x2, x3, distance_function=2),
            TypeError,
            r"distance_function.*callable.*int",
        ),
    ]


ERROR_CASES = _error_cases()


@pytest.mark.parametrize(("i"), range(len(ERROR_CASES)))
def test_errors(i):
    fn, exc, match = ERROR_CASES[i]
    with pytest.raises(exc, match=match):
        fn()


def test_errors_on_torch():
    """The same checks with torch tensors (shapes and dtypes are read, not values)."""
    torch = pytest.importorskip("torch")
    x = torch.tensor(X)
    with pytest.raises(ValueError, match="index 3"):
        lm.multi_margin_loss(x, torch.tensor([0, 3, 1, 1]))
    with pytest.raises(ValueError, match=r"target.*\[-1, 2\]"):
        lm.multilabel_margin_loss(x, torch.tensor([[0, -1, 5]] * 4))
    jnp = pytest.importorskip("jax.numpy")
    with pytest.raises(TypeError, match=r"negative is a jax array.*anchor is a torch array"):
        lm.triplet_margin_loss(x, x, jnp.asarray(X))
