"""The contrastive pretraining losses on one device: numbers, gradients, errors, denominators.

Expected values come from the libraries the losses follow, never from lossbridge:

* ``clip_loss`` / ``siglip_loss``: open_clip's ``ClipLoss`` / ``SigLipLoss`` (open_clip is not
  installable here), their forward lines transcribed in torch float64 (``F.cross_entropy``,
  ``F.logsigmoid``), with torch's autograd for the gradients with respect to the features, the
  scale and the bias; and float64 NumPy formulas written here;
* ``supcon_loss``: pytorch-metric-learning 2.9's ``SupConLoss`` (values, per-anchor losses
  through ``DoNothingReducer``, and autograd gradients through it);
* the ``denominator=`` of these losses and of ``ntxent_loss`` / ``circle_loss``: the sum of the
  per-item losses (``reduction='sum'``) over the given count, and the count by hand.

Across devices (``group=``): ``tests/test_contrastive_distributed.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import lossbridge
from lossbridge import clip_loss, siglip_loss, supcon_loss

torch = pytest.importorskip("torch")
F = torch.nn.functional

RTOL = 1e-12


def _close(got, expected, rtol=RTOL, what=""):
    """Norm-wise: within ``rtol`` of the largest element of ``expected``."""
    got = np.asarray(got.detach() if hasattr(got, "detach") else got, np.float64)
    expected = np.asarray(
        expected.detach() if hasattr(expected, "detach") else expected, np.float64
    )
    assert got.shape == expected.shape, (what, got.shape, expected.shape)
    scale = max(float(np.max(np.abs(expected), initial=0.0)), 1e-300)
    error = float(np.max(np.abs(got - expected), initial=0.0)) / scale
    assert error <= rtol, f"{what}: relative error {error:.3g}\n{got}\n{expected}"


def _pairs(n=6, d=4, seed=0, unit=True):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d))
    y = x + 0.8 * rng.standard_normal((n, d))
    if unit:
        x, y = (a / np.linalg.norm(a, axis=1, keepdims=True) for a in (x, y))
    return x, y


# ------------------------------------------------------------------------------------------
# open_clip's lines in torch (src/open_clip/loss.py), world size 1
# ------------------------------------------------------------------------------------------


def open_clip_clip(image_features, text_features, logit_scale, reduction="mean"):
    logits_per_image = logit_scale * image_features @ text_features.T
    logits_per_text = logit_scale * text_features @ image_features.T
    labels = torch.arange(logits_per_image.shape[0], dtype=torch.long)
    return (
        F.cross_entropy(logits_per_image, labels, reduction=reduction)
        + F.cross_entropy(logits_per_text, labels, reduction=reduction)
    ) / 2


def open_clip_siglip(image_features, text_features, logit_scale, logit_bias):
    n = image_features.shape[0]
    labels = -torch.ones((n, n), dtype=image_features.dtype)
    labels = 2 * torch.eye(n, dtype=image_features.dtype) + labels
    logits = logit_scale * image_features @ text_features.T
    logits = logits + logit_bias
    return -F.logsigmoid(labels * logits).sum() / image_features.shape[0]


def _leaves(*arrays):
    return [torch.tensor(np.asarray(a, np.float64), requires_grad=True) for a in arrays]


# ------------------------------------------------------------------------------------------
# CLIP
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("scale", "unit"), [(1 / 0.07, True), (2.5, False), (0.3, True)])
def test_clip_matches_open_clip_values_and_gradients(scale, unit):
    x, y = _pairs(unit=unit, seed=int(scale * 10))
    ours = _leaves(x, y, scale)
    theirs = _leaves(x, y, scale)
    loss = clip_loss(*ours)
    expected = open_clip_clip(*theirs)
    _close(loss, expected, what="value")
    for a, b, name in zip(
        torch.autograd.grad(loss, ours),
        torch.autograd.grad(expected, theirs),
        ("image", "text", "scale"),
        strict=True,
    ):
        _close(a, b, what=f"d/d{name}")


def test_clip_none_is_the_pairs_average_of_both_directions():
    x, y = _pairs(n=5, seed=3)
    per_pair = clip_loss(x, y, 4.0, reduction="none")
    expected = open_clip_clip(*_leaves(x, y), 4.0, reduction="none")
    _close(per_pair, expected)
    _close(clip_loss(x, y, 4.0, reduction="sum"), expected.sum())
    # float64 NumPy: row i's two cross-entropies, halved
    z = 4.0 * x @ y.T
    rows = np.log(np.exp(z).sum(axis=1)) - np.diag(z)
    columns = np.log(np.exp(z).sum(axis=0)) - np.diag(z)
    _close(per_pair, (rows + columns) / 2)


def test_clip_one_pair_is_zero_and_large_scale_is_finite():
    x, y = _pairs(n=1)
    assert float(clip_loss(x, y, 10.0)) == 0.0
    x, y = _pairs(n=4, seed=5)
    big = clip_loss(x, y, 1e4)  # logits up to 1e4: log-sum-exp, no overflow
    z = 1e4 * x @ y.T
    m = z.max(axis=1, keepdims=True)
    rows = (m[:, 0] + np.log(np.exp(z - m).sum(axis=1))) - np.diag(z)
    mc = z.max(axis=0, keepdims=True)
    columns = (mc[0] + np.log(np.exp(z - mc).sum(axis=0))) - np.diag(z)
    _close(big, np.mean((rows + columns) / 2), rtol=1e-10)


# ------------------------------------------------------------------------------------------
# SigLIP
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("scale", "bias"), [(10.0, -10.0), (3.0, 0.5), (0.5, 2.0)])
def test_siglip_matches_open_clip_values_and_gradients(scale, bias):
    x, y = _pairs(n=7, seed=int(scale))
    ours = _leaves(x, y, scale, bias)
    theirs = _leaves(x, y, scale, bias)
    loss = siglip_loss(*ours)
    expected = open_clip_siglip(*theirs)
    _close(loss, expected, what="value")
    for a, b, name in zip(
        torch.autograd.grad(loss, ours),
        torch.autograd.grad(expected, theirs),
        ("image", "text", "scale", "bias"),
        strict=True,
    ):
        _close(a, b, what=f"d/d{name}")


def test_siglip_none_is_each_images_row_sum():
    x, y = _pairs(n=4, seed=9)
    z = 3.0 * x @ y.T - 1.0
    t = 2 * np.eye(4) - 1
    rows = np.log1p(np.exp(-t * z)).sum(axis=1)  # -log sigmoid(t z) = log(1 + e^{-t z})
    _close(siglip_loss(x, y, 3.0, -1.0, reduction="none"), rows)
    _close(siglip_loss(x, y, 3.0, -1.0, reduction="sum"), rows.sum())
    _close(siglip_loss(x, y, 3.0, -1.0), rows.sum() / 4)  # / n images, not n^2


def test_siglip_extreme_logits_are_finite():
    x, y = _pairs(n=3, seed=2)
    loss = siglip_loss(x, y, 1e4, -1e4)  # log sigmoid of -2e4: stable form, no overflow
    z = 1e4 * x @ y.T - 1e4
    t = 2 * np.eye(3) - 1
    u = -t * z
    expected = (np.maximum(u, 0) + np.log1p(np.exp(-np.abs(u)))).sum() / 3
    _close(loss, expected, rtol=1e-10)


# ------------------------------------------------------------------------------------------
# SupCon: pytorch-metric-learning's SupConLoss
# ------------------------------------------------------------------------------------------

LABELINGS = {
    "groups": [0, 0, 1, 1, 1, 2, 2, 2],
    "lone_anchors": [0, 0, 1, 1, 1, 2, 3, 4],
    "two_views": [0, 1, 2, 3, 0, 1, 2, 3],
}


@pytest.mark.parametrize("labels", sorted(LABELINGS))
@pytest.mark.parametrize("temperature", [0.1, 0.5])
def test_supcon_matches_pytorch_metric_learning(labels, temperature):
    from pytorch_metric_learning.losses import SupConLoss
    from pytorch_metric_learning.reducers import DoNothingReducer

    rng = np.random.default_rng(len(labels) + int(temperature * 10))
    x = rng.standard_normal((8, 5))
    y = torch.tensor(LABELINGS[labels])
    ours, theirs = _leaves(x), _leaves(x)
    loss = supcon_loss(ours[0], y, temperature=temperature)
    expected = SupConLoss(temperature=temperature)(theirs[0], y)
    _close(loss, expected, what="mean")
    _close(torch.autograd.grad(loss, ours)[0], torch.autograd.grad(expected, theirs)[0])
    per_anchor = SupConLoss(temperature=temperature, reducer=DoNothingReducer())(
        torch.tensor(x), y
    )["loss"]["losses"]
    _close(supcon_loss(x, y.numpy(), temperature=temperature, reduction="none"), per_anchor)


def test_supcon_formula_by_hand():
    """Khosla et al. Eq. 2 in float64 NumPy: -mean over positives of log softmax over j != i."""
    rng = np.random.default_rng(11)
    x = rng.standard_normal((6, 3))
    y = np.array([0, 0, 0, 1, 1, 2])  # anchor 5 has no positive: excluded
    u = x / np.linalg.norm(x, axis=1, keepdims=True)
    s = u @ u.T / 0.2
    losses = []
    for i in range(5):
        others = [j for j in range(6) if j != i]
        log_denominator = np.log(np.exp(s[i, others]).sum())
        positives = [j for j in others if y[j] == y[i]]
        losses.append(-np.mean([s[i, p] - log_denominator for p in positives]))
    _close(supcon_loss(x, y, temperature=0.2), np.mean(losses))
    none = supcon_loss(x, y, temperature=0.2, reduction="none")
    _close(none, [*losses, 0.0])
    assert float(lossbridge.mean_denominator(supcon_loss, x, y, temperature=0.2)) == 5.0


def test_supcon_without_positive_or_negative():
    x = np.random.default_rng(1).standard_normal((4, 3))
    assert math.isnan(float(supcon_loss(x, np.arange(4))))  # no positive: 0 / 0
    assert float(supcon_loss(x, np.arange(4), reduction="sum")) == 0.0
    assert math.isnan(float(supcon_loss(x, np.zeros(4, dtype=np.int64))))  # one class
    empty = supcon_loss(np.zeros((0, 3)), np.zeros(0, dtype=np.int64), reduction="sum")
    assert float(empty) == 0.0


# ------------------------------------------------------------------------------------------
# Half precision, learnable scale and bias on every autodiff framework
# ------------------------------------------------------------------------------------------


def test_half_inputs_compute_in_float32_and_return_half():
    x, y = _pairs(n=5, seed=4)
    for dtype in (torch.float16, torch.bfloat16):
        xh, yh = torch.tensor(x, dtype=dtype), torch.tensor(y, dtype=dtype)
        out = siglip_loss(xh, yh, 10.0, -10.0)
        assert out.dtype == dtype
        want = open_clip_siglip(xh.double(), yh.double(), 10.0, -10.0)
        _close(out.double(), want, rtol=float(torch.finfo(dtype).eps))
        count = lossbridge.mean_denominator(clip_loss, xh, yh, 3.0)
        assert count.dtype == torch.float32 and float(count) == 5.0


def test_scale_and_bias_gradients_under_jax_jit():
    jax = pytest.importorskip("jax")
    jnp = jax.numpy
    x, y = (a.astype(np.float32) for a in _pairs(n=5, seed=6))

    def loss(scale, bias):
        return siglip_loss(jnp.asarray(x), jnp.asarray(y), scale, bias)

    g_scale, g_bias = jax.jit(jax.grad(loss, argnums=(0, 1)))(jnp.float32(3.0), jnp.float32(-1.0))
    ours = _leaves(x.astype(np.float64), y.astype(np.float64), 3.0, -1.0)
    expected = torch.autograd.grad(open_clip_siglip(*ours), ours[2:])
    _close(g_scale, expected[0], rtol=1e-5)
    _close(g_bias, expected[1], rtol=1e-5)


# ------------------------------------------------------------------------------------------
# denominator= and mean_denominator
# ------------------------------------------------------------------------------------------


def _batch_losses():
    x, y = _pairs(n=6, seed=8)
    rng = np.random.default_rng(12)
    e = rng.standard_normal((8, 4))
    labels = np.array([0, 0, 1, 1, 1, 2, 3, 3])
    return {
        # loss, args, kwargs, the count by hand
        "clip_loss": (clip_loss, (x, y, 2.0), {}, 6),
        "siglip_loss": (siglip_loss, (x, y, 2.0, -1.0), {}, 6),
        "supcon_loss": (supcon_loss, (e, labels), {"temperature": 0.3}, 7),
        # positive pairs: 2 + 6 + 2 ordered pairs
        "ntxent_loss": (lossbridge.ntxent_loss, (e, labels), {"temperature": 0.3}, 10),
        # anchors with a positive and a negative: all but the lone label 2
        "circle_loss": (lossbridge.circle_loss, (e, labels), {"gamma": 4.0, "margin": 0.4}, 7),
    }


@pytest.mark.parametrize("name", sorted(_batch_losses()))
def test_denominator_divides_the_sum(name):
    fn, args, kwargs, count = _batch_losses()[name]
    total = float(fn(*args, reduction="sum", **kwargs))
    assert float(lossbridge.mean_denominator(fn, *args, **kwargs)) == count
    _close(fn(*args, **kwargs), total / count)
    _close(fn(*args, denominator=3.5, **kwargs), total / 3.5)
    t_args = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    d = torch.tensor(2.0, dtype=torch.float32)  # a 0-d array of another float dtype
    out = fn(*t_args, denominator=d, **kwargs)
    assert out.dtype == torch.float64
    _close(out, total / 2.0)
    with pytest.raises(ValueError, match=rf"^{name}: denominator= applies to reduction='mean'"):
        fn(*args, reduction="sum", denominator=2.0, **kwargs)
    with pytest.raises(ValueError, match=rf"^{name}: denominator must be a finite number >= 0"):
        fn(*args, denominator=-1.0, **kwargs)


# ------------------------------------------------------------------------------------------
# Errors name the loss, the argument, what it got and what was expected
# ------------------------------------------------------------------------------------------


def test_errors():
    x, y = _pairs(n=4)
    with pytest.raises(
        ValueError,
        match=r"^clip_loss: image_features and text_features must "
        r"both have shape \(N, D\).*got \(4, 4\) and \(3, 4\)",
    ):
        clip_loss(x, y[:3], 1.0)
    with pytest.raises(ValueError, match=r"^siglip_loss: .*got \(4, 4\) and \(4, 3\)"):
        siglip_loss(x, y[:, :3], 1.0, 0.0)
    with pytest.raises(
        ValueError,
        match=r"^clip_loss: logit_scale must be a real number or a "
        r"0-d array .*got an array of shape \(1,\)",
    ):
        clip_loss(x, y, np.array([1.0]))
    with pytest.raises(ValueError, match=r"^siglip_loss: logit_bias must be finite"):
        siglip_loss(x, y, 1.0, math.inf)
    with pytest.raises(TypeError, match=r"^clip_loss: logit_scale must be a real number"):
        clip_loss(x, y, "1.0")
    with pytest.raises(
        TypeError,
        match=r"^siglip_loss: logit_scale is a jax array but "
        r"image_features is a torch array",
    ):
        pytest.importorskip("jax")
        import jax.numpy as jnp

        siglip_loss(torch.tensor(x), torch.tensor(y), jnp.float32(1.0), 0.0)
    with pytest.raises(TypeError, match=r"^supcon_loss: features must have a real floating"):
        supcon_loss(np.ones((3, 2), dtype=np.int64), np.arange(3))
    with pytest.raises(
        ValueError,
        match=r"^supcon_loss: labels has shape \(2,\); expected "
        r"\(3,\), one label per row of features",
    ):
        supcon_loss(np.ones((3, 2)), np.arange(2))
    with pytest.raises(ValueError, match=r"^supcon_loss: temperature must be > 0"):
        supcon_loss(np.ones((3, 2)), np.arange(3), temperature=0.0)
    for fn, args in (
        (clip_loss, (x, y, 1.0)),
        (siglip_loss, (x, y, 1.0, 0.0)),
        (supcon_loss, (x, np.arange(4))),
        (lossbridge.ntxent_loss, (x, np.arange(4))),
        (lossbridge.circle_loss, (x, np.arange(4))),
    ):
        name = fn.__name__
        with pytest.raises(
            TypeError,
            match=rf"^{name}: group must be a lossbridge.distributed "
            r"group .*got int 2 \(no world_size, rank, all_gather",
        ):
            fn(*args, group=2)
