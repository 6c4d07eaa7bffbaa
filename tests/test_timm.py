"""timm's classification losses: what the conformance registry does not check.

The registry (``conformance/extra_timm.py``) checks values and gradients on every backend and
dtype against float64 NumPy transcriptions of timm 1.0's source. timm itself does not import
here (its torchvision dependency fails), so this file runs timm's own ``forward`` code, copied
line for line from ``timm/loss/*.py`` (timm 1.0.31) into torch modules below, in float64 with
torch's autograd: values and gradients (``disable_torch_grad_focal_loss`` included), timm
1.0.3's summed ASL, the two label-smoothing conventions against Keras's own
``binary_crossentropy``, soft targets against torch's ``cross_entropy``, the AugMix loss over
shards of images, and bad input. Expected values come from that timm code, torch, Keras and
hand formulas; never from lossbridge.
"""

from __future__ import annotations

import numpy as np
import pytest

import lossbridge as lb

torch = pytest.importorskip("torch")
F = torch.nn.functional

RNG = np.random.default_rng(1903)
X = 2.5 * RNG.normal(size=(6, 5))
Y_MULTI = RNG.integers(0, 2, size=(6, 5)).astype(np.float64)
Y_SOFT = RNG.uniform(size=(6, 5))
Y_INDEX = RNG.integers(0, 5, size=6)
W = RNG.uniform(0.2, 2.0, size=5)
PW = RNG.uniform(0.5, 3.0, size=5)
F64 = 1e-12  # float64 relative error of a few dozen well-conditioned operations

# ------------------------------------------------------------------------------------------
# timm 1.0.31's forward code, verbatim but for `self.` -> arguments (timm/loss/*.py)
# ------------------------------------------------------------------------------------------


def timm_asl_multilabel(
    x,
    y,
    gamma_neg=4,
    gamma_pos=1,
    clip=0.05,
    eps=1e-8,
    disable_torch_grad_focal_loss=False,
    smoothing=0.0,
    reduction="batchmean",
    weight=None,
    pos_weight=None,
):
    # (timm casts to float32 here, x = x.float(): float64 is kept for the oracle)
    if smoothing:
        y = y * (1.0 - smoothing) + 0.5 * smoothing
    x_sigmoid = torch.sigmoid(x)
    xs_pos = x_sigmoid
    xs_neg = 1 - x_sigmoid
    if clip is not None and clip > 0:
        xs_neg = (xs_neg + clip).clamp(max=1)
    los_pos = y * torch.log(xs_pos.clamp(min=eps))
    if pos_weight is not None:
        los_pos = los_pos * pos_weight
    los_neg = (1 - y) * torch.log(xs_neg.clamp(min=eps))
    loss = los_pos + los_neg
    if gamma_neg > 0 or gamma_pos > 0:
        with torch.set_grad_enabled(torch.is_grad_enabled() and not disable_torch_grad_focal_loss):
            pt0 = xs_pos * y
            pt1 = xs_neg * (1 - y)  # pt = p if t > 0 else 1-p
            pt = pt0 + pt1
            one_sided_gamma = gamma_pos * y + gamma_neg * (1 - y)
            one_sided_w = torch.pow(1 - pt, one_sided_gamma)
        loss *= one_sided_w
    loss = -loss
    if weight is not None:
        loss = loss * weight
    if reduction == "batchmean":
        return loss.sum() / x.shape[0]
    if reduction == "sum":
        return loss.sum()
    if reduction == "mean":
        return loss.mean()
    return loss


def timm_asl_single_label(inputs, target, gamma_pos=1, gamma_neg=4, eps=0.1, reduction="mean"):
    num_classes = inputs.size()[-1]
    log_preds = torch.nn.LogSoftmax(dim=-1)(inputs)
    targets_classes = torch.zeros_like(inputs).scatter_(1, target.long().unsqueeze(1), 1)
    targets = targets_classes
    anti_targets = 1 - targets
    xs_pos = torch.exp(log_preds)
    xs_neg = 1 - xs_pos
    xs_pos = xs_pos * targets
    xs_neg = xs_neg * anti_targets
    asymmetric_w = torch.pow(
        1 - xs_pos - xs_neg,
        gamma_pos * targets + gamma_neg * anti_targets,
    )
    log_preds = log_preds * asymmetric_w
    if eps > 0:  # label smoothing
        targets_classes = targets_classes.mul(1 - eps).add(eps / num_classes)
    loss = -targets_classes.mul(log_preds)
    loss = loss.sum(dim=-1)
    if reduction == "mean":
        loss = loss.mean()
    return loss


def timm_soft_target_ce(x, target):
    loss = torch.sum(-target * F.log_softmax(x, dim=-1), dim=-1)
    return loss.mean()


def timm_bce(
    x,
    target,
    smoothing=0.1,
    target_threshold=None,
    weight=None,
    reduction="mean",
    sum_classes=False,
    pos_weight=None,
    smooth_dense=False,
):
    reduction = "none" if sum_classes else reduction
    batch_size = x.shape[0]
    assert batch_size == target.shape[0]
    if target.shape != x.shape:
        num_classes = x.shape[-1]
        off_value = smoothing / num_classes
        on_value = 1.0 - smoothing + off_value
        target = target.long().view(-1, 1)
        target = torch.full(
            (batch_size, num_classes), off_value, device=x.device, dtype=x.dtype
        ).scatter_(1, target, on_value)
    elif smooth_dense and smoothing:
        target = target * (1.0 - smoothing) + 0.5 * smoothing
    if target_threshold is not None:
        target = target.gt(target_threshold).to(dtype=target.dtype)
    loss = F.binary_cross_entropy_with_logits(
        x, target, weight, pos_weight=pos_weight, reduction=reduction
    )
    if sum_classes:
        loss = loss.sum(-1).mean()
    return loss


def timm_label_smoothing_ce(x, target, smoothing=0.1):
    confidence = 1.0 - smoothing
    logprobs = F.log_softmax(x, dim=-1)
    nll_loss = -logprobs.gather(dim=-1, index=target.unsqueeze(1))
    nll_loss = nll_loss.squeeze(1)
    smooth_loss = -logprobs.mean(dim=-1)
    loss = confidence * nll_loss + smoothing * smooth_loss
    return loss.mean()


def timm_jsd(output, target, num_splits=3, alpha=12, smoothing=0.1):
    if smoothing is not None and smoothing > 0:
        cross_entropy_loss = lambda a, b: timm_label_smoothing_ce(a, b, smoothing)  # noqa: E731
    else:
        cross_entropy_loss = torch.nn.CrossEntropyLoss()
    split_size = output.shape[0] // num_splits
    assert split_size * num_splits == output.shape[0]
    logits_split = torch.split(output, split_size)
    loss = cross_entropy_loss(logits_split[0], target[:split_size])
    probs = [F.softmax(logits, dim=1) for logits in logits_split]
    logp_mixture = torch.clamp(torch.stack(probs).mean(axis=0), 1e-7, 1).log()
    loss += (
        alpha
        * sum([F.kl_div(logp_mixture, p_split, reduction="batchmean") for p_split in probs])
        / len(probs)
    )
    return loss


# ------------------------------------------------------------------------------------------
# Values and gradients against timm's code (torch float64 autograd)
# ------------------------------------------------------------------------------------------


def _t(a, grad=False):
    return torch.tensor(
        a, dtype=torch.float64 if np.asarray(a).dtype.kind == "f" else None, requires_grad=grad
    )


def _value_and_grad(fn, x):
    xt = _t(x, grad=True)
    out = fn(xt)
    out.sum().backward()
    return out.detach().numpy(), xt.grad.numpy()


def _assert_matches_timm(ours, theirs, x):
    got_v, got_g = _value_and_grad(ours, x)
    want_v, want_g = _value_and_grad(theirs, x)
    np.testing.assert_allclose(got_v, want_v, rtol=F64, atol=0)
    np.testing.assert_allclose(got_g, want_g, rtol=1e-11, atol=1e-14)


ASL_OPTIONS = [
    ({}, {"reduction": "sum"}),
    ({"reduction": "batchmean"}, {}),  # timm 1.0.31's default
    ({"reduction": "mean"}, {"reduction": "mean"}),
    ({"reduction": "none"}, {"reduction": "none"}),
    ({"clip": None, "reduction": "mean"}, {"clip": None, "reduction": "mean"}),
    ({"gamma_neg": 2.0, "gamma_pos": 0.0}, {"gamma_neg": 2, "gamma_pos": 0, "reduction": "sum"}),
    ({"detach_focal_weight": True}, {"disable_torch_grad_focal_loss": True, "reduction": "sum"}),
    ({"label_smoothing": 0.2}, {"smoothing": 0.2, "reduction": "sum"}),
]


@pytest.mark.parametrize(("ours", "theirs"), ASL_OPTIONS)
@pytest.mark.parametrize("target", ["multi_hot", "soft"])
def test_asymmetric_loss_is_timms(ours, theirs, target):
    y = Y_MULTI if target == "multi_hot" else Y_SOFT
    _assert_matches_timm(
        lambda x: lb.asymmetric_loss(x, _t(y), **ours),
        lambda x: timm_asl_multilabel(x, _t(y), **theirs),
        X,
    )


def test_asymmetric_loss_weights_are_timms():
    _assert_matches_timm(
        lambda x: lb.asymmetric_loss(x, _t(Y_MULTI), weight=_t(W), pos_weight=_t(PW)),
        lambda x: timm_asl_multilabel(
            x, _t(Y_MULTI), weight=_t(W), pos_weight=_t(PW), reduction="sum"
        ),
        X,
    )
    _assert_matches_timm(
        lambda x: lb.asymmetric_loss(x, _t(Y_MULTI), pos_weight=2.0, reduction="batchmean"),
        lambda x: timm_asl_multilabel(x, _t(Y_MULTI), pos_weight=torch.tensor(2.0)),
        X,
    )


def test_detached_focal_weight_changes_the_gradient_not_the_value():
    """The detached factor is held constant: the gradient differs from the attached one."""
    on_v, on_g = _value_and_grad(lambda x: lb.asymmetric_loss(x, _t(Y_MULTI)), X)
    off_v, off_g = _value_and_grad(
        lambda x: lb.asymmetric_loss(x, _t(Y_MULTI), detach_focal_weight=True), X
    )
    np.testing.assert_allclose(on_v, off_v, rtol=F64)
    assert np.max(np.abs(on_g - off_g)) > 1e-3


def test_asymmetric_loss_follows_the_exact_formula_where_timms_float32_clamps():
    """timm's float32 ``1 - sigmoid(17)`` is 0, clamped to eps = 1e-8: log gives -18.42; the
    exact 1 - sigmoid(17) = 4.1e-8 is above eps, log -17.00000004 (clip=0, gamma=0)."""
    x = np.array([[17.0]], np.float32)
    y = np.array([[0.0]], np.float32)
    kw = {"clip": None, "gamma_neg": 0.0, "gamma_pos": 0.0}
    timm32 = float(
        timm_asl_multilabel(
            torch.tensor(x), torch.tensor(y), clip=None, gamma_neg=0, gamma_pos=0, reduction="sum"
        )
    )
    assert timm32 == pytest.approx(-np.log(1e-8), rel=1e-6)  # 18.42
    exact = float(np.logaddexp(0.0, 17.0))  # -log(1 - sigmoid(17)) = softplus(17)
    assert float(lb.asymmetric_loss(x, y, **kw)) == pytest.approx(exact, rel=1e-6)


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        ({}, {}),
        ({"label_smoothing": 0.0}, {"eps": 0.0}),
        (
            {"gamma_pos": 0.0, "gamma_neg": 2.0, "label_smoothing": 0.3},
            {"gamma_pos": 0, "gamma_neg": 2, "eps": 0.3},
        ),
        ({"reduction": "none"}, {"reduction": "none"}),
    ],
)
def test_asymmetric_loss_single_label_is_timms(ours, theirs):
    _assert_matches_timm(
        lambda x: lb.asymmetric_loss_single_label(x, _t(Y_INDEX), **ours),
        lambda x: timm_asl_single_label(x, _t(Y_INDEX), **theirs),
        X,
    )


def test_soft_target_cross_entropy_is_timms_and_torchs():
    t = np.exp(RNG.normal(size=(6, 5)))
    t /= t.sum(1, keepdims=True)
    _assert_matches_timm(
        lambda x: lb.soft_target_cross_entropy(x, _t(t)),
        lambda x: timm_soft_target_ce(x, _t(t)),
        X,
    )
    # on (N, C), torch's cross_entropy with probability targets is the same loss
    want = F.cross_entropy(_t(X), _t(t)).item()
    assert float(lb.soft_target_cross_entropy(X, t)) == pytest.approx(want, rel=F64)


def test_soft_target_cross_entropy_takes_the_classes_last():
    """(N, H, C): timm's dim=-1; torch's cross_entropy would read axis 1 as the classes."""
    x = RNG.normal(size=(2, 3, 4))
    t = np.exp(RNG.normal(size=(2, 3, 4)))
    t /= t.sum(-1, keepdims=True)
    want = timm_soft_target_ce(_t(x), _t(t)).item()
    assert float(lb.soft_target_cross_entropy(x, t)) == pytest.approx(want, rel=F64)
    assert float(lb.cross_entropy(x, t)) != pytest.approx(want, rel=1e-3)


@pytest.mark.parametrize(
    ("ours", "theirs", "target"),
    [
        ({}, {}, "index"),
        ({"label_smoothing": 0.0}, {"smoothing": 0.0}, "index"),
        ({"reduction": "batchmean"}, {"sum_classes": True}, "index"),
        (
            {"reduction": "sum", "label_smoothing": 0.3},
            {"reduction": "sum", "smoothing": 0.3},
            "index",
        ),
        ({"target_threshold": 0.2}, {"target_threshold": 0.2}, "index"),
        ({}, {}, "soft"),
        ({"smooth_dense": True}, {"smooth_dense": True}, "multi_hot"),
        ({"target_threshold": 0.5}, {"target_threshold": 0.5}, "soft"),
        ({"reduction": "none"}, {"reduction": "none"}, "multi_hot"),
    ],
)
def test_smoothed_binary_cross_entropy_is_timms(ours, theirs, target):
    y = {"index": Y_INDEX, "soft": Y_SOFT, "multi_hot": Y_MULTI}[target]
    _assert_matches_timm(
        lambda x: lb.smoothed_binary_cross_entropy(x, _t(y), **ours),
        lambda x: timm_bce(x, _t(y), **theirs),
        X,
    )


def test_smoothed_binary_cross_entropy_weights_are_timms():
    _assert_matches_timm(
        lambda x: lb.smoothed_binary_cross_entropy(x, _t(Y_INDEX), weight=_t(W), pos_weight=_t(PW)),
        lambda x: timm_bce(x, _t(Y_INDEX), weight=_t(W), pos_weight=_t(PW)),
        X,
    )


def test_the_two_smoothing_conventions():
    """timm: off = s / C, on = 1 - s + s / C (0.0001 and 0.9001 for C = 1000, s = 0.1); Keras
    (and ``smooth_dense``): off = s / 2, on = 1 - s / 2 (0.05 and 0.95)."""
    c, s = 1000, 0.1
    x = np.zeros((1, c))  # log sigmoid(0) = -log 2: the BCE is linear in the target there...
    x[0, 0] = 3.0  # ...except at the label, which reads the "on" value
    y = np.array([0])
    off, on = s / c, 1 - s + s / c
    assert (off, on) == pytest.approx((0.0001, 0.9001))
    bce = np.logaddexp(0, x[0]) - np.r_[on, np.full(c - 1, off)] * x[0]
    assert float(lb.smoothed_binary_cross_entropy(x, y, label_smoothing=s)) == pytest.approx(
        bce.mean(), rel=1e-13
    )
    # Keras's own binary_crossentropy with label_smoothing is smooth_dense on one-hot rows
    keras = pytest.importorskip("keras")
    hot = np.eye(c)[y]
    want = float(
        keras.ops.convert_to_numpy(
            keras.losses.binary_crossentropy(hot, x, from_logits=True, label_smoothing=s)
        )[0]
    )
    got = float(lb.smoothed_binary_cross_entropy(x, hot, label_smoothing=s, smooth_dense=True))
    assert got == pytest.approx(want, rel=1e-6)  # Keras computes in float32
    keras_rows = np.r_[1 - s / 2, np.full(c - 1, s / 2)]
    assert (keras_rows[0], keras_rows[1]) == pytest.approx((0.95, 0.05))
    assert got == pytest.approx(np.mean(np.logaddexp(0, x[0]) - keras_rows * x[0]), rel=1e-13)


@pytest.mark.parametrize(
    ("ours", "theirs", "k"),
    [
        ({}, {}, 3),
        ({"label_smoothing": 0.0}, {"smoothing": 0.0}, 3),
        ({"num_splits": 2, "alpha": 4.0}, {"num_splits": 2, "alpha": 4.0}, 2),
    ],
)
def test_jsd_cross_entropy_is_timms(ours, theirs, k):
    x = 2.0 * RNG.normal(size=(4 * k, 5))
    y = _t(RNG.integers(0, 5, size=4 * k))
    _assert_matches_timm(
        lambda x: lb.jsd_cross_entropy(x, y, **ours),
        lambda x: timm_jsd(x, y, **theirs),
        x,
    )
    # the clean view's targets alone give the same
    np.testing.assert_allclose(
        float(lb.jsd_cross_entropy(x, y[:4].numpy(), **ours)),
        float(lb.jsd_cross_entropy(x, y.numpy(), **ours)),
        rtol=0,
    )


def test_jsd_cross_entropy_mixture_clamp():
    """Views that disagree completely: the mixture of a class is < 1e-7 nowhere, but a view's
    probability is; with logits +-40 timm's clamp at 1e-7 is reached and both agree."""
    x = np.array([[40.0, -40.0, 0.0], [-40.0, 40.0, 0.0], [-40.0, -40.0, 40.0]])
    _assert_matches_timm(
        lambda x: lb.jsd_cross_entropy(x, np.array([0])),
        lambda x: timm_jsd(x, torch.tensor([0])),
        x,
    )


def test_jsd_cross_entropy_over_shards_of_images():
    """Shards of images, each with its K views, divided by the total count: the full mean."""
    k, b, c = 3, 7, 4
    views = RNG.normal(size=(k, b, c))
    y = RNG.integers(0, c, size=b)
    full = float(lb.jsd_cross_entropy(views.reshape(k * b, c), y, num_splits=k))
    cuts = [(0, 1), (1, 4), (4, 7)]
    d = sum(
        float(lb.mean_denominator(lb.jsd_cross_entropy, views[:, lo:hi].reshape(-1, c), y[lo:hi]))
        for lo, hi in cuts
    )
    assert d == b
    parts = [
        float(lb.jsd_cross_entropy(views[:, lo:hi].reshape(-1, c), y[lo:hi], denominator=d))
        for lo, hi in cuts
    ]
    assert sum(parts) == pytest.approx(full, rel=1e-14)


def test_batchmean_denominator_is_the_batch():
    assert float(lb.mean_denominator(lb.asymmetric_loss, X, Y_MULTI, reduction="batchmean")) == 6
    assert float(lb.mean_denominator(lb.asymmetric_loss, X, Y_MULTI, reduction="mean")) == 30
    assert float(lb.mean_denominator(lb.smoothed_binary_cross_entropy, X, Y_INDEX)) == 30


# ------------------------------------------------------------------------------------------
# Bad input
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (
            lambda: lb.asymmetric_loss(X, Y_MULTI, label_smoothing=1.0),
            ValueError,
            r"asymmetric_loss: label_smoothing must be in \[0, 1\)",
        ),
        (
            lambda: lb.asymmetric_loss(X, Y_MULTI, clip=-0.1),
            ValueError,
            "asymmetric_loss: clip must be in",
        ),
        (
            lambda: lb.asymmetric_loss(X, Y_MULTI, gamma_neg=-1),
            ValueError,
            "asymmetric_loss: gamma_neg must be >= 0",
        ),
        (
            lambda: lb.asymmetric_loss(X, Y_MULTI[:, :4]),
            ValueError,
            r"asymmetric_loss: target has shape \(6, 4\); expected the input's shape \(6, 5\)",
        ),
        (
            lambda: lb.asymmetric_loss(X, Y_MULTI, weight=np.ones(4)),
            ValueError,
            r"asymmetric_loss: weight has shape \(4,\)",
        ),
        (
            lambda: lb.asymmetric_loss(X, Y_MULTI, detach_focal_weight=1),
            TypeError,
            "detach_focal_weight must be a bool",
        ),
        (
            lambda: lb.asymmetric_loss(X, Y_MULTI, reduction="sum", denominator=3.0),
            ValueError,
            "asymmetric_loss: denominator= applies to",
        ),
        (
            lambda: lb.asymmetric_loss_single_label(X, Y_INDEX, reduction="batchmean"),
            ValueError,
            "reduction='batchmean' is not a valid reduction",
        ),
        (
            lambda: lb.asymmetric_loss_single_label(X, Y_INDEX[:5]),
            ValueError,
            r"asymmetric_loss_single_label: target has shape \(5,\); expected class indices",
        ),
        (
            lambda: lb.soft_target_cross_entropy(X, Y_INDEX),
            ValueError,
            "soft_target_cross_entropy: target has shape",
        ),
        (
            lambda: lb.smoothed_binary_cross_entropy(X[0], Y_INDEX[:1]),
            ValueError,
            r"smoothed_binary_cross_entropy: input must have shape \(N, C\)",
        ),
        (
            lambda: lb.smoothed_binary_cross_entropy(X, Y_INDEX + 5),
            ValueError,
            "smoothed_binary_cross_entropy: target holds class index",
        ),
        (
            lambda: lb.jsd_cross_entropy(X, Y_INDEX[:2], num_splits=4),
            ValueError,
            "jsd_cross_entropy: input has 6 rows, which num_splits=4 does not divide",
        ),
        (
            lambda: lb.jsd_cross_entropy(X, Y_INDEX[:3], num_splits=3),
            ValueError,
            r"jsd_cross_entropy: target has shape \(3,\); expected class indices of shape \(2,\)",
        ),
        (
            lambda: lb.jsd_cross_entropy(X, Y_INDEX[:2], num_splits=0),
            ValueError,
            "num_splits must be >= 1",
        ),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
