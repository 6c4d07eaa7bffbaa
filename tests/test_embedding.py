"""Metric-learning losses: what the conformance registry does not check.

Values of every case on every backend and dtype against the float64 references and the oracles
(pytorch-metric-learning's per-pair ``ContrastiveLoss``, optax's ``ntxent`` and
``cosine_distance``, Keras's ``Circle`` and ``cosine_similarity``, torch's
``F.cosine_similarity``), and the gradients against finite differences, are the registry's
(``conformance/extra_embedding.py``). Here: hand computations, vectorised float64 formulas from
the papers, the libraries' own conventions (PML's reducers and pair mining, PML's ``NTXentLoss``
and ``CircleLoss`` with their gradients, torch's gradient through the norm clamp), edge cases,
dtype rules and bad input. Nothing here calls lossbridge to get an expected value.
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
    ignore_fp_warnings,
    make,
    rounded,
    to_numpy,
)

from lossbridge.conformance.references import reduce
from lossbridge.embedding import (
    circle_loss,
    contrastive_loss,
    cosine_similarity_loss,
    ntxent_loss,
)

# ------------------------------------------------------------------------------------------
# Data: (8, 5) like the conformance cases (JAX compiles each eager op once per shape)
# ------------------------------------------------------------------------------------------

RNG = np.random.default_rng(2024)
X1 = 0.4 * RNG.standard_normal((8, 5))
X2 = 0.4 * RNG.standard_normal((8, 5))
PAIR_Y = np.array([1, 0, 1, 0, 0, 1, 0, 0])
EMB = RNG.standard_normal((8, 5))
GROUPS = np.array([0, 0, 1, 1, 1, 2, 2, 2])  # two or three members per class
LONE = np.array([0, 0, 1, 1, 1, 2, 2, 3])  # anchor 7 has no positive
DISTINCT = np.arange(8)

# ------------------------------------------------------------------------------------------
# Plain float64 formulas (vectorised; the conformance references are loops)
# ------------------------------------------------------------------------------------------


def np_contrastive(x1, x2, y, margin=1.0, eps=1e-6, reduction="mean"):
    d = np.linalg.norm(x1 - x2 + eps, axis=-1)
    loss = np.where(np.asarray(y) == 1, 0.5 * d**2, 0.5 * np.maximum(margin - d, 0.0) ** 2)
    return reduce(loss, reduction)


def np_masks(labels):
    same = labels[:, None] == labels[None, :]
    return same & ~np.eye(len(labels), dtype=bool), ~same


def np_ntxent(x, labels, temperature=0.07, reduction="mean"):
    norm = np.maximum(np.linalg.norm(x, axis=1, keepdims=True), math.sqrt(np.finfo(float).eps))
    u = x / norm
    s = u @ u.T / temperature
    pos, neg = np_masks(labels)
    neg_sum = (np.exp(s) * neg).sum(axis=1, keepdims=True)
    loss = np.where(pos, np.log(np.exp(s) + neg_sum) - s, 0.0)
    return reduce(loss, reduction, denominator=pos.sum())


def np_masked_lse(z, mask):
    with np.errstate(divide="ignore"):
        return np.logaddexp.reduce(np.where(mask, z, -np.inf), axis=1)


def np_circle(x, labels, margin=0.25, gamma=256.0, reduction="mean"):
    u = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    s = u @ u.T
    pos, neg = np_masks(labels)
    lp = -gamma * np.maximum(1 + margin - s, 0) * (s - (1 - margin))
    ln = gamma * np.maximum(s + margin, 0) * (s - margin)
    valid = pos.any(axis=1) & neg.any(axis=1)
    loss = np.where(valid, np.logaddexp(0.0, np_masked_lse(lp, pos) + np_masked_lse(ln, neg)), 0)
    return reduce(loss, reduction, denominator=valid.sum())


def np_cosine(x, y, axis=-1, eps=1e-8, reduction="mean"):
    x, y = np.broadcast_arrays(x, y)
    nx = np.maximum(np.linalg.norm(x, axis=axis, keepdims=True), eps)
    ny = np.maximum(np.linalg.norm(y, axis=axis, keepdims=True), eps)
    return reduce(1.0 - np.sum(x / nx * (y / ny), axis=axis), reduction)


def on(backend, dtype, *arrays):
    return [make(backend, a, dtype) for a in arrays]


def normalized(x):
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


# ------------------------------------------------------------------------------------------
# Hand computations from the papers' definitions
# ------------------------------------------------------------------------------------------


def test_contrastive_hand():
    # x1 = (0, 0), x2 = (3, 4), eps = 0: D = 5.
    # similar (y = 1): D^2 / 2 = 12.5; dissimilar, margin 6: (6 - 5)^2 / 2 = 0.5;
    # dissimilar, margin 1: max(0, 1 - 5) = 0.
    x1, x2 = np.zeros((3, 2)), np.array([[3.0, 4.0]] * 3)
    out = contrastive_loss(x1, x2, np.array([1, 0, 0]), margin=6.0, eps=0.0, reduction="none")
    np.testing.assert_allclose(out, [12.5, 0.5, 0.5], rtol=1e-15)
    out = contrastive_loss(x1, x2, np.array([1, 0, 0]), margin=1.0, eps=0.0, reduction="none")
    np.testing.assert_allclose(out, [12.5, 0.0, 0.0], rtol=1e-15)
    # Hadsell et al.'s labels are the other way round: Y = 0 similar -> pass 1 - Y.
    paper_y = np.array([0, 1, 1])
    out = contrastive_loss(x1, x2, 1 - paper_y, margin=6.0, eps=0.0, reduction="sum")
    np.testing.assert_allclose(out, 13.5, rtol=1e-15)


def test_contrastive_eps_is_pairwise_distance_eps():
    # eps = 1e-6 is added to each difference: x1 = x2 gives D = sqrt(2) 1e-6 for D = 2,
    # so a similar pair costs D^2 / 2 = 1e-12.
    x = np.array([0.3, -0.7])
    np.testing.assert_allclose(contrastive_loss(x, x, 1), 1e-12, rtol=1e-9)
    assert contrastive_loss(x, x, 1, eps=0.0) == 0.0


def test_ntxent_hand():
    # e0 = e1 = (1, 0) (label 0), e2 = e3 = (0, 1) (label 1), tau = 1:
    # s(0, 1) = 1, s(0, 2) = s(0, 3) = 0, so for the pair (0, 1)
    # l = -log(e / (e + 1 + 1)) = log(1 + 2 / e) = 0.551444713932...; all four pairs alike.
    x = np.array([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    labels = np.array([0, 0, 1, 1])
    expected = math.log(1 + 2 / math.e)
    np.testing.assert_allclose(ntxent_loss(x, labels, temperature=1.0), expected, rtol=1e-15)
    out = ntxent_loss(x, labels, temperature=1.0, reduction="none")
    want = np.array([[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1], [0, 0, 1, 0]]) * expected
    np.testing.assert_allclose(out, want, rtol=1e-15)
    np.testing.assert_allclose(
        ntxent_loss(x, labels, temperature=1.0, reduction="sum"), 4 * expected, rtol=1e-15
    )


def test_circle_hand():
    # e0 = e1 = (1, 0) (label 0), e2 = e3 = (0, 1) (label 1), m = 0.25, gamma = 1.
    # Anchor 0: s_p = 1 (one positive), s_n = 0 (two negatives).
    # alpha_p = [1.25 - 1]_+ = 0.25, logit_p = -0.25 (1 - 0.75) = -0.0625
    # alpha_n = [0 + 0.25]_+ = 0.25, logit_n = 0.25 (0 - 0.25) = -0.0625 (twice)
    # L = softplus(-0.0625 + log(2 e^-0.0625)) = log(1 + 2 e^-0.125) = 1.017034...
    x = np.array([[2.0, 0.0], [1.0, 0.0], [0.0, 3.0], [0.0, 0.5]])  # normalised inside
    labels = np.array([0, 0, 1, 1])
    expected = math.log(1 + 2 * math.exp(-0.125))
    out = circle_loss(x, labels, margin=0.25, gamma=1.0, reduction="none")
    np.testing.assert_allclose(out, [expected] * 4, rtol=1e-15)


def test_cosine_hand():
    # reference section 3.8: a = (1, 0), b = (1, 1): 1 - 1/sqrt(2) = 0.29289...; a zero
    # vector: cos = 0 (torch's clamp), loss 1; opposite vectors: 2.
    x = np.array([[1.0, 0.0], [0.0, 0.0], [1.0, 2.0]])
    y = np.array([[1.0, 1.0], [1.0, 1.0], [-2.0, -4.0]])
    out = cosine_similarity_loss(x, y, reduction="none")
    np.testing.assert_allclose(out, [1 - 1 / math.sqrt(2), 1.0, 2.0], rtol=1e-15)


# ------------------------------------------------------------------------------------------
# Beyond the registry's cases (every reduction and option on every backend and dtype): a 1-D
# cosine pair, host labels with float32 embeddings
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_cosine_one_d_pair(backend, dtype):
    """A 1-D pair gives a 0-d result."""
    x, y = rounded(X1, dtype), rounded(X2, dtype)
    x0, y0 = on(backend, dtype, x[0], y[0])
    out = cosine_similarity_loss(x0, y0, reduction="none")
    assert_result(out, backend, dtype, ())
    assert_close(out, np_cosine(x[0], y[0], reduction="none"), RTOL[dtype])


def test_float32_embeddings_with_host_labels_stay_float32(backend):
    (xb,) = on(backend, "float32", EMB)
    assert_result(ntxent_loss(xb, GROUPS), backend, "float32", ())
    assert_result(circle_loss(xb, GROUPS, reduction="none"), backend, "float32", (8,))
    # a float64 NumPy target does not promote another framework's float32 input (two NumPy
    # arrays promote, as two torch tensors do)
    want = "float64" if backend.name == "numpy" else "float32"
    assert_result(cosine_similarity_loss(xb, X2), backend, want, ())
    assert_result(
        contrastive_loss(xb, X2.astype(np.float32), PAIR_Y.astype(float)), backend, "float32", ()
    )


# ------------------------------------------------------------------------------------------
# Other libraries, conventions converted
# ------------------------------------------------------------------------------------------


def test_contrastive_reproduces_pml():
    """pytorch-metric-learning ``ContrastiveLoss()`` (pos_margin=0, neg_margin=1) from ours.

    PML normalises the embeddings, forms every ordered pair of the batch (positives: same
    label, i != j; negatives: different labels), takes D (positive) and [1 - D]_+ (negative)
    without squares or 1/2, and adds the mean of the non-zero positive losses to the mean of
    the non-zero negative losses (AvgNonZeroReducer). Our per-pair loss (eps = 0) is half the
    square of PML's, so PML's per-pair loss is sqrt(2 l).
    """
    torch = pytest.importorskip("torch")
    losses = pytest.importorskip("pytorch_metric_learning.losses")
    x = 0.3 * EMB  # small norms do not matter: both normalise
    u = normalized(x)
    a, b = np.nonzero(~np.eye(8, dtype=bool))
    similar = (GROUPS[a] == GROUPS[b]).astype(int)
    ours = contrastive_loss(u[a], u[b], similar, margin=1.0, eps=0.0, reduction="none")
    per_pair = np.sqrt(2 * ours)
    pos, neg = per_pair[similar == 1], per_pair[similar == 0]
    assert (neg == 0).any() and (neg > 0).any()  # some negatives are past the margin
    from_ours = pos[pos > 0].mean() + neg[neg > 0].mean()
    pml = losses.ContrastiveLoss()(torch.tensor(x), torch.tensor(GROUPS)).item()
    np.testing.assert_allclose(from_ours, pml, rtol=1e-12)


def test_ntxent_matches_optax_and_pml():
    """'mean' is optax's ``ntxent`` and PML's ``NTXentLoss`` (both: mean over positive pairs);
    PML's 'pos_pair' losses are our 'none' entries at the positive pairs."""
    torch = pytest.importorskip("torch")
    losses = pytest.importorskip("pytorch_metric_learning.losses")
    reducers = pytest.importorskip("pytorch_metric_learning.reducers")
    optax = pytest.importorskip("optax")
    import jax.numpy as jnp

    for labels, tau in ((GROUPS, 0.07), (LONE, 0.07), (LONE, 0.5)):
        ours = ntxent_loss(EMB, labels, temperature=tau)
        opt = float(optax.ntxent(jnp.asarray(EMB), jnp.asarray(labels), temperature=tau))
        pml = losses.NTXentLoss(tau)(torch.tensor(EMB), torch.tensor(labels)).item()
        np.testing.assert_allclose(ours, opt, rtol=1e-13)
        np.testing.assert_allclose(ours, pml, rtol=1e-13)
        np.testing.assert_allclose(ours, np_ntxent(EMB, labels, tau), rtol=1e-13)
    fn = losses.NTXentLoss(0.07, reducer=reducers.DoNothingReducer())
    out = fn(torch.tensor(EMB), torch.tensor(GROUPS))["loss"]
    a, p = out["indices"]
    none = ntxent_loss(EMB, GROUPS, reduction="none")
    np.testing.assert_allclose(none[a.numpy(), p.numpy()], out["losses"].numpy(), rtol=1e-12)


def test_ntxent_simclr_two_views():
    """SimCLR (Chen et al. 2020, Alg. 1): z = [z1; z2], l(i, j) = -log(exp(s_ij / tau) /
    sum_{k != i} exp(s_ik / tau)) for the 2N pairs (i, i + N) and (i + N, i), averaged."""
    z1, z2 = EMB[:4], 0.5 * EMB[4:] + 0.3
    z = np.concatenate([z1, z2])
    labels = np.concatenate([np.arange(4), np.arange(4)])
    tau = 0.1
    u = normalized(z)
    s = u @ u.T / tau
    total = 0.0
    for i in range(8):
        j = (i + 4) % 8
        others = [s[i, k] for k in range(8) if k != i]
        total += np.logaddexp.reduce(others) - s[i, j]
    np.testing.assert_allclose(ntxent_loss(z, labels, temperature=tau), total / 8, rtol=1e-13)


def test_circle_matches_pml_and_keras():
    """'mean' is PML's ``CircleLoss(m, gamma)`` (AvgNonZeroReducer) and Keras's ``Circle``
    (masked mean over loss > 0) on L2-normalised embeddings (Keras does not normalise)."""
    torch = pytest.importorskip("torch")
    losses = pytest.importorskip("pytorch_metric_learning.losses")
    keras = pytest.importorskip("keras")
    for labels in (GROUPS, LONE):
        for m, g in ((0.4, 80.0), (0.25, 256.0)):
            ours = circle_loss(EMB, labels, margin=m, gamma=g)
            pml = losses.CircleLoss(m=m, gamma=g)(torch.tensor(EMB), torch.tensor(labels))
            np.testing.assert_allclose(ours, pml.item(), rtol=1e-13)
            fn = keras.losses.Circle(gamma=g, margin=m, dtype="float64")
            kout = keras.ops.convert_to_numpy(fn(labels.astype(np.int32), normalized(EMB)))
            np.testing.assert_allclose(ours, kout, rtol=1e-12)
            np.testing.assert_allclose(ours, np_circle(EMB, labels, m, g), rtol=1e-13)
    # Keras on raw embeddings is another loss (reference section 3.16: 486.0 vs 109.8254)
    raw = keras.ops.convert_to_numpy(keras.losses.Circle(dtype="float64")(GROUPS, 3 * EMB))
    assert abs(raw - circle_loss(3 * EMB, GROUPS, margin=0.4, gamma=80.0)) > 1.0


def test_circle_gradient_matches_pml(ad_backend):
    """PML detaches alpha_p, alpha_n as the paper does: torch autograd of its CircleLoss."""
    torch = pytest.importorskip("torch")
    losses = pytest.importorskip("pytorch_metric_learning.losses")
    x = torch.tensor(EMB, requires_grad=True)
    losses.CircleLoss(m=0.4, gamma=80.0)(x, torch.tensor(LONE)).backward()
    grad = backend_grad(
        ad_backend, lambda e, y: circle_loss(e, y, margin=0.4, gamma=80.0), [EMB, LONE], 0
    )
    np.testing.assert_allclose(grad, x.grad.numpy(), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("eps", [1e-8, 0.5])
def test_cosine_gradient_matches_torch(ad_backend, eps):
    """torch clamps the norms under no_grad: with eps = 0.5 some norms are clamped, and the
    gradient is still that of the norm; row 1 is a zero vector (norm gradient 0)."""
    torch = pytest.importorskip("torch")
    import torch.nn.functional as F

    x, y = 0.2 * X1, X2.copy()
    x[1] = 0.0
    assert (np.linalg.norm(x, axis=1) < 0.5).any()
    for wrt in (0, 1):
        tx = [torch.tensor(a, requires_grad=True) for a in (x, y)]
        (1 - F.cosine_similarity(*tx, dim=-1, eps=eps)).sum().backward()
        grad = backend_grad(
            ad_backend,
            lambda a, b: cosine_similarity_loss(a, b, eps=eps, reduction="sum"),
            [x, y],
            wrt,
        )
        np.testing.assert_allclose(grad, tx[wrt].grad.numpy(), rtol=1e-10, atol=1e-14)


def test_contrastive_gradient_zero_at_equal_embeddings(ad_backend):
    """eps = 0 and x1 == x2: D = 0 has no derivative; its gradient is 0 (torch's norm), so the
    dissimilar pair's gradient is 0 and every backend agrees (no NaN)."""
    x = X1[:2].copy()
    grad = backend_grad(
        ad_backend, lambda a, b: contrastive_loss(a, b, np.array([0, 1]), eps=0.0), [x, x], 0
    )
    np.testing.assert_array_equal(grad, np.zeros_like(x))


# ------------------------------------------------------------------------------------------
# Edge cases
# ------------------------------------------------------------------------------------------


def test_anchor_without_positive_and_without_negative():
    """Anchor 7 (LONE) has no positive: ntxent has no pair for it, circle gives it 0 and leaves
    it out of the mean. A single class (no negatives): ntxent pairs cost 0, circle has no
    valid anchor (mean NaN)."""
    none = circle_loss(EMB, LONE, reduction="none")
    assert none[7] == 0.0 and (none[:7] > 0).all()
    np.testing.assert_allclose(circle_loss(EMB, LONE), none[:7].mean(), rtol=1e-14)
    nt = ntxent_loss(EMB, LONE, reduction="none")
    assert not nt[7].any() and not nt[:, 7].any()
    one_class = np.zeros(8, dtype=np.int64)
    np.testing.assert_array_equal(ntxent_loss(EMB, one_class, reduction="none"), 0.0)
    assert ntxent_loss(EMB, one_class) == 0.0  # 56 pairs of loss 0
    with np.errstate(invalid="ignore"):
        assert np.isnan(circle_loss(EMB, one_class))


@ignore_fp_warnings
def test_no_positive_pair_mean_is_nan(backend):
    """All labels distinct: 0 / 0 (optax's ntxent gives NaN too; PML returns 0)."""
    xb, yb = on(backend, "float64", EMB, DISTINCT)
    assert np.isnan(to_numpy(ntxent_loss(xb, yb)))
    assert np.isnan(to_numpy(circle_loss(xb, yb)))
    assert to_numpy(ntxent_loss(xb, yb, reduction="sum")) == 0.0
    assert_result(circle_loss(xb, yb, reduction="none"), backend, "float64", (8,))


@ignore_fp_warnings
def test_empty_batch(backend):
    xb, yb, tb = on(backend, "float32", np.zeros((0, 5)), np.zeros(0, np.int64), np.zeros(0))
    for fn in (ntxent_loss, circle_loss):
        assert np.isnan(to_numpy(fn(xb, yb)))
        assert to_numpy(fn(xb, yb, reduction="sum")) == 0.0
    assert_result(ntxent_loss(xb, yb, reduction="none"), backend, "float32", (0, 0))
    assert_result(circle_loss(xb, yb, reduction="none"), backend, "float32", (0,))
    assert_result(contrastive_loss(xb, xb, tb, reduction="none"), backend, "float32", (0,))
    assert_result(cosine_similarity_loss(xb, xb, reduction="none"), backend, "float32", (0,))
    assert np.isnan(to_numpy(cosine_similarity_loss(xb, xb)))


def test_identical_and_zero_embeddings_are_finite(ad_backend):
    """Identical rows (cos = 1) and a zero row (cos = 0 with everything): finite values and
    gradients on every loss."""
    x = EMB.copy()
    x[1] = x[0]
    x[4] = 0.0
    for fn in (
        lambda e, y: ntxent_loss(e, y),
        lambda e, y: circle_loss(e, y),
        lambda e, y: cosine_similarity_loss(e, e),  # identical rows and a zero row
    ):
        grad = backend_grad(ad_backend, fn, [x, GROUPS], 0)
        assert np.isfinite(grad).all()
    np.testing.assert_allclose(ntxent_loss(x, GROUPS), np_ntxent(x, GROUPS), rtol=1e-13)
    np.testing.assert_allclose(circle_loss(x, GROUPS), np_circle(x, GROUPS), rtol=1e-13)


def test_compiled_jax():
    jax = pytest.importorskip("jax")
    import jax.numpy as jnp

    x, y = jnp.asarray(EMB), jnp.asarray(LONE)
    for fn in (ntxent_loss, circle_loss):
        np.testing.assert_allclose(jax.jit(fn)(x, y), fn(EMB, LONE), rtol=1e-12)
    # target values cannot be checked while tracing: no error, as documented
    out = jax.jit(contrastive_loss)(jnp.asarray(X1), jnp.asarray(X2), jnp.asarray(PAIR_Y))
    np.testing.assert_allclose(out, np_contrastive(X1, X2, PAIR_Y), rtol=1e-12)


# ------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------

BAD = [
    (
        contrastive_loss,
        (X1, X2, np.array([1, 0, 2, 0, 0, 1, 0, 0])),
        {},
        ValueError,
        r"target must hold 1 \(similar pair\) or 0.*2\.0",
    ),
    (contrastive_loss, (X1, X2, np.full(8, -1.0)), {}, ValueError, r"target.*-1\.0"),
    (contrastive_loss, (X1, X2, np.ones(7)), {}, ValueError, r"target has shape \(7,\)"),
    (contrastive_loss, (X1, X2, np.ones((8, 1))), {}, ValueError, "target must be 0-d or 1-D"),
    (contrastive_loss, (X1[0], X2, np.ones(8)), {}, ValueError, r"input1 \(5,\)"),
    (contrastive_loss, (X1.astype(int), X2, PAIR_Y), {}, TypeError, "input1 must have a real"),
    (contrastive_loss, (X1, X2, PAIR_Y), {"margin": -1.0}, ValueError, "margin must be >= 0"),
    (contrastive_loss, (X1, X2, PAIR_Y), {"margin": "1"}, TypeError, "margin must be a real"),
    (contrastive_loss, (X1, X2, PAIR_Y), {"reduction": "avg"}, ValueError, "reduction='avg'"),
    (ntxent_loss, (EMB[0], GROUPS[:1]), {}, ValueError, r"embeddings must have shape \(N, D\)"),
    (ntxent_loss, (EMB, GROUPS.astype(float)), {}, TypeError, "labels must have an integer"),
    (ntxent_loss, (EMB, GROUPS[:7]), {}, ValueError, r"labels has shape \(7,\); expected \(8,\)"),
    (ntxent_loss, (EMB, GROUPS), {"temperature": 0.0}, ValueError, "temperature must be > 0"),
    (ntxent_loss, (EMB.astype(int), GROUPS), {}, TypeError, "embeddings must have a real"),
    (circle_loss, (EMB, GROUPS[:, None]), {}, ValueError, r"labels has shape \(8, 1\)"),
    (circle_loss, (EMB, GROUPS), {"gamma": -1.0}, ValueError, "gamma must be > 0"),
    (circle_loss, (EMB, GROUPS), {"margin": math.nan}, ValueError, "margin must be finite"),
    (cosine_similarity_loss, (X1, X2), {"axis": 2}, ValueError, "axis=2 is out of range"),
    (cosine_similarity_loss, (X1, X2), {"axis": 1.0}, TypeError, "axis must be an int"),
    (cosine_similarity_loss, (X1, X2[:, :3]), {}, ValueError, r"target has shape \(8, 3\)"),
    (cosine_similarity_loss, (X1, X2), {"eps": -1e-8}, ValueError, "eps must be >= 0"),
    (cosine_similarity_loss, (X1, X2.astype(int)), {}, TypeError, "target must have a real"),
]


@pytest.mark.parametrize(("fn", "args", "kwargs", "exc", "match"), BAD)
def test_bad_input(fn, args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fn(*args, **kwargs)


def test_bad_target_on_torch_names_the_argument():
    torch = pytest.importorskip("torch")
    with pytest.raises(ValueError, match="target must hold"):
        contrastive_loss(torch.tensor(X1), torch.tensor(X2), torch.full((8,), 0.5))
    with pytest.raises(TypeError, match=r"labels is a torch array.*embeddings is a numpy"):
        ntxent_loss(EMB, torch.tensor(GROUPS))
