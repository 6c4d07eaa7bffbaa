"""``lossbridge.monai``: MONAI's Dice-family classes against MONAI 1.6 itself.

Expected values come from the real ``monai.losses.<ClassName>`` in float64 (torch tensors),
built with the same constructor arguments, or, where MONAI computes in float32 whatever the
input (``FocalLoss``, ``GeneralizedDiceLoss``'s weights), from MONAI's own functions run in
float64 (``monai.losses.focal_loss.sigmoid_focal_loss``) or from a plain float64 NumPy formula
written here. The registry (``conformance/extra_monai.py``) covers every backend, dtype and
compiled mode; here: the option grid against MONAI, signatures, shapes, the errors, the
denominators of issue 16, and what the registry cannot express.
"""

from __future__ import annotations

import inspect
import itertools
import json
import os
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import lossbridge
import lossbridge.monai as lm

torch = pytest.importorskip("torch")
monai_losses = pytest.importorskip("monai.losses")

_R = np.random.default_rng(20261207)
B, C, H, W = 3, 4, 5, 6
X = _R.standard_normal((B, C, H, W)) * 2.0
LABELS = _R.integers(0, C, (B, 1, H, W))
ONE_HOT = np.moveaxis(np.eye(C)[LABELS[:, 0]], -1, 1)
SOFT = _R.uniform(0.0, 1.0, (B, C, H, W))
CLASS_W = _R.uniform(0.2, 2.0, C)

#: float64 agreement bound: a handful of roundings of sums of 30 terms
RTOL = 1e-12


def _t(a):
    return None if a is None else torch.tensor(np.asarray(a))


class _GeneralizedDice64(monai_losses.GeneralizedDiceLoss):
    """MONAI's GeneralizedDiceLoss with its one float32 step undone: ``forward`` calls
    ``self.w_func(ground_o.float())``, so the weights 1/v and 1/v^2 are rounded to float32
    (the volumes v of hard targets are integers, exact in float32); here ``w_func`` runs in
    float64 on them."""

    def w_func(self, grnd):
        return super().w_func(grnd.double())


def _monai(name, kw, x, t):
    kw = {k: (_t(v) if k == "weight" and v is not None else v) for k, v in kw.items()}
    if kw.get("to_onehot_y") and kw.get("squared_pred") and name == "DiceLoss":
        # MONAI's one_hot is float32 (dtype=torch.float) and its squared_pred takes the 2-norm
        # of the target (a square root, then squared): float32 rounding in a float64 loss.
        # Give it the float64 one-hot instead.
        t = np.moveaxis(np.eye(np.shape(x)[1])[np.asarray(t)[:, 0]], -1, 1)
        kw["to_onehot_y"] = False
    cls = _GeneralizedDice64 if name == "GeneralizedDice64" else getattr(monai_losses, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls(**kw)(_t(x), _t(t)).detach().numpy()


def _ours(name, kw, x, t):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(getattr(lm, name)(**kw)(x, t))


def _target(kw):
    if kw.get("to_onehot_y"):
        return LABELS
    return SOFT if kw.get("soft_label") else ONE_HOT


def _close(got, expected, rtol=RTOL):
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=rtol)


# ------------------------------------------------------------------------------------------
# Signatures and lookup
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", lm.__all__)
def test_signature_is_monais(name):
    """Names, order and defaults of MONAI's constructor."""
    theirs = inspect.signature(getattr(monai_losses, name).__init__).parameters
    ours = inspect.signature(getattr(lm, name).__init__).parameters
    expected = [(n, p.default) for n, p in theirs.items()]
    got = [(n, p.default) for n, p in ours.items()]
    # MONAI's enum defaults (LossReduction.MEAN, Weight.SQUARE) are their string values here
    expected = [(n, getattr(d, "value", d)) for n, d in expected]
    assert got == expected


def test_lookup_and_lazy_import():
    assert lossbridge.available("monai") == tuple(sorted(lm.__all__))
    assert lossbridge.get("monai.DiceLoss") is lm.DiceLoss
    code = """
        import json, sys
        import lossbridge as lb
        names = lb.available("monai")
        lb.get("monai.TverskyLoss")
        print(json.dumps({"names": list(names), "loaded": [m for m in
              ("torch", "tensorflow", "jax", "monai", "numpy") if m in sys.modules]}))
    """
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["names"] == sorted(lm.__all__)
    assert out["loaded"] == []


# ------------------------------------------------------------------------------------------
# The option grid against MONAI (float64)
# ------------------------------------------------------------------------------------------

_ACTS = [
    {"softmax": True},
    {"sigmoid": True},
    {"other_act": torch.tanh},  # torch tensors in, as MONAI calls it
    {},
]


def _grid(extra):
    for act, onehot, background, batch, reduction, extra_kw in itertools.product(
        _ACTS, (True, False), (True, False), (False, True), ("mean", "sum", "none"), extra
    ):
        yield {
            **act,
            "to_onehot_y": onehot,
            "include_background": background,
            "batch": batch,
            "reduction": reduction,
            **extra_kw,
        }


def _kw_id(kw):
    """A test id that is the same in every process (a function by its name, not its address)."""
    return ",".join(f"{k}={getattr(v, '__name__', v)}" for k, v in kw.items())


def _input_for(kw):
    x = X if kw.get("softmax") or kw.get("sigmoid") or kw.get("other_act") else SOFT
    return torch.tensor(x) if kw.get("other_act") is not None else x


_DICE_EXTRA = [
    {},
    {"squared_pred": True, "smooth_nr": 0.0, "smooth_dr": 1e-6},
    {"jaccard": True, "weight": 0.5},
    {"soft_label": True, "weight": list(CLASS_W[:3]), "include_background": False},
    {"jaccard": True, "squared_pred": True, "soft_label": True},
]


def _valid(kw):
    w = kw.get("weight")
    return not (isinstance(w, list) and kw.get("include_background", True))


@pytest.mark.parametrize("kw", [k for k in _grid(_DICE_EXTRA) if _valid(k)], ids=_kw_id)
def test_dice_grid(kw):
    x, t = _input_for(kw), _target(kw)
    _close(_ours("DiceLoss", kw, x, t), _monai("DiceLoss", kw, x, t))


_TV_EXTRA = [{"alpha": 0.3, "beta": 0.7}, {"alpha": 0.9, "beta": 0.1, "soft_label": True}]


@pytest.mark.parametrize("kw", list(_grid(_TV_EXTRA)), ids=_kw_id)
def test_tversky_grid(kw):
    x, t = _input_for(kw), _target(kw)
    _close(_ours("TverskyLoss", kw, x, t), _monai("TverskyLoss", kw, x, t))


#: MONAI computes the generalised Dice weights in float32 (``w_func(ground_o.float())``): on
#: these 30-pixel volumes 1/v and 1/v^2 are rounded to 2^-24 relative, and its float64 loss
#: moves by that times the loss's sensitivity to the weights: below 2e-7 relative for the
#: softmax case below (measured 1e-9 to 5e-10); up to 4e-7 with ``other_act=torch.tanh``, whose
#: negative "probabilities" make the weighted sums cancel. The grid therefore runs against
#: MONAI's class with that one cast undone (:class:`_GeneralizedDice64`), at float64's bound.
_GDL_RTOL = 2e-7


@pytest.mark.parametrize(
    "kw",
    list(
        _grid(
            [{"w_type": "square"}, {"w_type": "simple"}, {"w_type": "uniform", "soft_label": True}]
        )
    ),
    ids=_kw_id,
)
def test_generalized_dice_grid(kw):
    x, t = _input_for(kw), _target(kw)
    _close(_ours("GeneralizedDiceLoss", kw, x, t), _monai("GeneralizedDice64", kw, x, t))


def test_generalized_dice_exact_float64_and_absent_class():
    """The float64 formula (NumPy, written here) with a class absent from one sample: its
    infinite weight becomes the largest weight of that sample."""
    labels = LABELS.copy()
    labels[0][labels[0] == 2] = 1  # class 2 absent from sample 0
    p = np.exp(X) / np.exp(X).sum(axis=1, keepdims=True)
    t = np.moveaxis(np.eye(C)[labels[:, 0]], -1, 1)
    volume = t.sum((2, 3))
    with np.errstate(divide="ignore"):
        w = 1.0 / volume**2
    finite = np.where(np.isinf(w), 0.0, w)
    w = np.where(np.isinf(w), finite.max(axis=1, keepdims=True), w)
    tp, pg = (p * t).sum((2, 3)), (p + t).sum((2, 3))
    expected = 1 - (2 * (w * tp).sum(1) + 1e-5) / ((w * pg).sum(1) + 1e-5)
    got = lm.GeneralizedDiceLoss(softmax=True, to_onehot_y=True, reduction="none")(X, labels)
    assert got.shape == (B, 1, 1, 1)
    _close(got[:, 0, 0, 0], expected)
    monai = _monai(
        "GeneralizedDiceLoss",
        {"softmax": True, "to_onehot_y": True, "reduction": "none"},
        X,
        labels,
    )
    _close(got, monai, _GDL_RTOL)


_CE_EXTRA = [
    {"lambda_ce": 0.7, "label_smoothing": 0.1},
    {"weight": CLASS_W, "lambda_dice": 0.3},
    {"weight": CLASS_W, "label_smoothing": 0.2, "jaccard": True, "squared_pred": True},
]


@pytest.mark.parametrize(
    "kw",
    [k for k in _grid(_CE_EXTRA) if k["reduction"] != "none" and k.get("other_act") is None],
    ids=_kw_id,
)
def test_dice_ce_grid(kw):
    """Class indices (to_onehot_y) and one-hot probabilities; the weight also the Dice one's,
    without the background's entry when include_background=False."""
    x, t = X, _target(kw)
    # MONAI's float32 one-hot under squared_pred (see _monai): float32 rounding of the
    # target's 2-norm, 2^-24 relative, in a Dice term of order 1
    rtol = 1e-7 if kw["to_onehot_y"] and kw.get("squared_pred") else RTOL
    _close(_ours("DiceCELoss", kw, x, t), _monai("DiceCELoss", kw, x, t), rtol)


def test_dice_ce_soft_probabilities_and_one_channel():
    """A probability target (torch's soft-target CE) and a single channel (BCE with logits,
    ``weight`` as ``pos_weight``)."""
    probs = np.exp(SOFT) / np.exp(SOFT).sum(axis=1, keepdims=True)
    kw = {"softmax": True, "weight": CLASS_W, "label_smoothing": 0.1}
    _close(_ours("DiceCELoss", kw, X, probs), _monai("DiceCELoss", kw, X, probs))
    x1, t1 = X[:, :1], (SOFT[:, :1] > 0.5).astype(np.float64)
    for kw in ({"sigmoid": True, "weight": [2.5]}, {"sigmoid": True, "reduction": "sum"}):
        _close(_ours("DiceCELoss", kw, x1, t1), _monai("DiceCELoss", kw, x1, t1))


def _monai_dice_focal_float64(kw, x, t):
    """MONAI's DiceFocalLoss with its focal term in float64: DiceLoss as MONAI builds it, plus
    ``monai.losses.focal_loss.sigmoid_focal_loss`` in float64 weighted and reduced as
    ``FocalLoss.forward`` does (``loss * cw.view(...)``; ``'sum'``: the spatial mean summed)."""
    from monai.losses.focal_loss import sigmoid_focal_loss

    x, t = _t(x), _t(t)
    n = x.shape[1]
    if kw.get("to_onehot_y"):
        t = torch.moveaxis(torch.nn.functional.one_hot(t[:, 0].long(), n), -1, 1).double()
    focal_only = ("gamma", "alpha", "lambda_focal", "lambda_dice")
    dice_kw = {k: v for k, v in kw.items() if k not in focal_only}
    dice = _monai("DiceLoss", {**dice_kw, "to_onehot_y": False}, x.numpy(), t.numpy())
    xf, tf_ = (x, t) if kw.get("include_background", True) else (x[:, 1:], t[:, 1:])
    loss = sigmoid_focal_loss(xf, tf_, kw.get("gamma", 2.0), kw.get("alpha"))
    if kw.get("weight") is not None:
        cw = torch.as_tensor(np.asarray(kw["weight"]), dtype=loss.dtype)
        loss = loss * (cw if cw.ndim == 0 else cw.view([1, -1] + [1] * (loss.ndim - 2)))
    r = kw.get("reduction", "mean")
    if r == "sum":
        loss = loss.mean(dim=list(range(2, loss.ndim))).sum()
    elif r == "mean":
        loss = loss.mean()
    return kw.get("lambda_dice", 1.0) * dice + kw.get("lambda_focal", 1.0) * loss.numpy()


_FOCAL_EXTRA = [
    {"gamma": 1.5, "alpha": 0.25, "lambda_focal": 0.7},
    {"weight": 0.5, "jaccard": True, "gamma": 0.0},
    {"weight": list(CLASS_W[1:]), "include_background": False, "squared_pred": True},
]


@pytest.mark.parametrize(
    "kw",
    [k for k in _grid(_FOCAL_EXTRA) if _valid(k) and k.get("other_act") is None],
    ids=_kw_id,
)
def test_dice_focal_grid(kw):
    """Against MONAI's own functions in float64; and MONAI's class itself, whose float32 focal
    term bounds the agreement by float32 rounding of losses of order 1 (2e-6)."""
    x, t = X, _target(kw)
    got = _ours("DiceFocalLoss", kw, x, t)
    _close(got, _monai_dice_focal_float64(kw, x, t))
    _close(got, _monai("DiceFocalLoss", kw, x, t), 2e-6)


_SENTINEL = np.where(_R.uniform(size=LABELS.shape) < 0.3, 255, LABELS)
_MINUS_ONE = np.where(LABELS == 3, -1, LABELS)
_UNLABELLED = ONE_HOT * (_R.uniform(size=LABELS.shape) > 0.3)  # some pixels with no class


@pytest.mark.parametrize("name", ["DiceLoss", "TverskyLoss"])
@pytest.mark.parametrize(
    ("target", "kw"),
    [
        (_SENTINEL, {"to_onehot_y": True, "ignore_index": 255}),
        (_MINUS_ONE, {"to_onehot_y": True, "ignore_index": -1, "include_background": False}),
        (LABELS, {"to_onehot_y": True, "ignore_index": 2}),
        (ONE_HOT, {"ignore_index": 1, "include_background": False}),
        (_UNLABELLED, {"ignore_index": -1}),
        (_UNLABELLED, {"ignore_index": 7, "soft_label": True}),
    ],
    ids=[
        "sentinel_255",
        "minus_one_no_background",
        "class_2",
        "one_hot_class_1",
        "one_hot_none",
        "one_hot_sentinel_soft",
    ],
)
@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("batch", [False, True])
def test_ignore_index(name, target, kw, reduction, batch):
    """MONAI's three masks: label maps, a one-hot class, one-hot pixels with no class."""
    kw = {**kw, "softmax": True, "reduction": reduction, "batch": batch}
    _close(_ours(name, kw, X, target), _monai(name, kw, X, target))


def test_other_act_on_each_backend():
    """``other_act`` gets the caller's framework array: that framework's own tanh works."""
    expected = _monai("DiceLoss", {"other_act": torch.tanh}, X, ONE_HOT)
    jnp = pytest.importorskip("jax.numpy")
    tf = pytest.importorskip("tensorflow")
    for act, conv in ((np.tanh, np.asarray), (jnp.tanh, jnp.asarray), (tf.math.tanh, tf.constant)):
        got = lm.DiceLoss(other_act=act)(conv(X), conv(ONE_HOT))
        _close(np.asarray(got), expected)


# ------------------------------------------------------------------------------------------
# Edge semantics
# ------------------------------------------------------------------------------------------


def test_absent_class_without_smoothing_is_nan_as_in_monai():
    p = SOFT.copy()
    p[:, 2] = 0.0
    t = ONE_HOT.copy()
    t[:, 2] = 0.0
    kw = {"smooth_nr": 0.0, "smooth_dr": 0.0, "reduction": "none"}
    got, theirs = _ours("DiceLoss", kw, p, t), _monai("DiceLoss", kw, p, t)
    assert np.isnan(got[:, 2]).all() and np.isnan(theirs[:, 2]).all()
    _close(got[:, :2], theirs[:, :2])


def test_single_channel_warnings_and_ignored_weight():
    """One channel: MONAI's warnings, and the class weight ignored (MONAI's ``num_of_classes
    != 1``)."""
    x, t = X[:, :1], ONE_HOT[:, :1]
    for kw, what in (
        ({"softmax": True}, "softmax=True"),
        ({"to_onehot_y": True}, "to_onehot_y=True"),
        ({"include_background": False}, "include_background=False"),
    ):
        with pytest.warns(UserWarning, match=rf"single channel prediction, `{what}` ignored"):
            lm.DiceLoss(**kw)(x, t)
    p = SOFT[:, :1]
    _close(_ours("DiceLoss", {"weight": 3.0}, p, t), _ours("DiceLoss", {}, p, t))


def test_none_shapes():
    x = X[..., None]  # (B, C, H, W, 1): three spatial axes
    t = ONE_HOT[..., None]
    assert lm.DiceLoss(reduction="none")(x, t).shape == (B, C, 1, 1, 1)
    assert lm.DiceLoss(reduction="none", batch=True)(x, t).shape == (C, 1, 1, 1)
    assert lm.TverskyLoss(reduction="none")(x, t).shape == (B, C)
    assert lm.GeneralizedDiceLoss(reduction="none")(x, t).shape == (B, 1, 1, 1, 1)
    assert lm.GeneralizedDiceLoss(reduction="none", batch=True)(x, t).shape == (1, 1, 1, 1)
    assert lm.DiceFocalLoss(reduction="none")(x, t).shape == x.shape


def test_half_input_keeps_its_dtype():
    out = lm.DiceLoss(softmax=True, to_onehot_y=True)(torch.tensor(X).half(), torch.tensor(LABELS))
    assert out.dtype == torch.float16
    expected = _monai("DiceLoss", {"softmax": True, "to_onehot_y": True}, X, LABELS)
    # float16 inputs rounded (|x| < 8: 2^-8 relative) then computed in float32
    assert abs(float(out) - float(expected)) < 5e-3


# ------------------------------------------------------------------------------------------
# Issue 16: denominators
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "kw", "count"),
    [
        ("DiceLoss", {"softmax": True, "to_onehot_y": True, "weight": list(CLASS_W)}, B * C),
        ("DiceLoss", {"sigmoid": True, "include_background": False}, B * (C - 1)),
        ("TverskyLoss", {"softmax": True, "to_onehot_y": True, "alpha": 0.3}, B * C),
        ("GeneralizedDiceLoss", {"softmax": True, "to_onehot_y": True}, B),
    ],
)
def test_shards_recombine_to_the_full_batch(name, kw, count):
    """Uneven shards (1 and 2 samples), each divided by the summed count, add up to the full
    batch's mean, values and gradients, within 1e-12."""
    loss = getattr(lm, name)(**kw)
    t = LABELS if kw.get("to_onehot_y") else ONE_HOT
    shards = [slice(0, 1), slice(1, B)]
    total = sum(lossbridge.mean_denominator(loss, X[s], t[s]) for s in shards)
    assert float(total) == count
    x = torch.tensor(X, requires_grad=True)
    full = loss(x, torch.tensor(t))
    (g_full,) = torch.autograd.grad(full, x)
    parts = sum(loss(x[s], torch.tensor(t[s]), denominator=total) for s in shards)
    (g_parts,) = torch.autograd.grad(parts, x)
    np.testing.assert_allclose(float(parts.detach()), float(full.detach()), rtol=1e-12)
    np.testing.assert_allclose(g_parts.numpy(), g_full.numpy(), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("loss", "why"),
    [
        (lm.DiceLoss(batch=True), "batch=True"),
        (lm.TverskyLoss(batch=True), "batch=True"),
        (lm.GeneralizedDiceLoss(batch=True), "batch=True"),
        (lm.DiceCELoss(), "cross-entropy mean"),
        (lm.DiceFocalLoss(), "focal mean"),
    ],
)
def test_denominator_refused_where_the_mean_is_not_a_ratio(loss, why):
    name = type(loss).__name__
    with pytest.raises(
        ValueError, match=rf"^{name}: 'mean' is not a sum divided by a count .*{why}"
    ):
        loss(SOFT, ONE_HOT, denominator=4.0)
    with pytest.raises(ValueError, match=rf"^{name}: 'mean' is not a sum divided by a count"):
        lossbridge.mean_denominator(loss, SOFT, ONE_HOT)


def test_denominator_needs_mean():
    with pytest.raises(ValueError, match=r"^DiceLoss: denominator= applies to reduction='mean'"):
        lm.DiceLoss(reduction="sum")(SOFT, ONE_HOT, denominator=4.0)
    with pytest.raises(ValueError, match=r"^DiceLoss: mean_denominator needs reduction='mean'"):
        lossbridge.mean_denominator(lm.DiceLoss(reduction="none"), SOFT, ONE_HOT)


# ------------------------------------------------------------------------------------------
# Errors: the class, the argument, what it got and what was expected
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("build", "error", "message"),
    [
        (lambda: lm.DiceLoss(sigmoid=True, softmax=True), ValueError, "more than one of sigmoid"),
        (lambda: lm.DiceLoss(other_act=3), TypeError, "other_act must be None or a callable"),
        (lambda: lm.DiceLoss(reduction="batchmean"), ValueError, "reduction='batchmean'"),
        (lambda: lm.DiceLoss(weight=[1.0, -1.0]), ValueError, "weight must be >= 0"),
        (lambda: lm.DiceLoss(smooth_nr=float("nan")), ValueError, "smooth_nr"),
        (lambda: lm.DiceLoss(batch=1), TypeError, "batch must be a bool"),
        (lambda: lm.DiceLoss(ignore_index=1.5), TypeError, "ignore_index must be None or an int"),
        (lambda: lm.GeneralizedDiceLoss(w_type="cubic"), ValueError, "w_type='cubic'"),
        (lambda: lm.DiceCELoss(reduction="none"), ValueError, "reduction='none'"),
        (lambda: lm.DiceCELoss(lambda_ce=-1.0), ValueError, "lambda_ce"),
        (lambda: lm.DiceCELoss(label_smoothing=1.5), ValueError, "label_smoothing"),
        (lambda: lm.DiceFocalLoss(alpha=2.0), ValueError, "alpha"),
    ],
)
def test_constructor_errors(build, error, message):
    with pytest.raises(error, match=message) as info:
        build()
    assert str(info.value).split(":")[0] in lm.__all__


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: lm.DiceLoss()(SOFT, LABELS), r"target has shape \(3, 1, 5, 6\) but the input"),
        (lambda: lm.DiceLoss(to_onehot_y=True)(SOFT, ONE_HOT), r"expected class indices of shape"),
        (lambda: lm.DiceLoss(to_onehot_y=True)(SOFT, LABELS + 1), r"class index 4, out of range"),
        (lambda: lm.DiceLoss()(SOFT[:, :, 0, 0], ONE_HOT[:, :, 0, 0]), r"at least one spatial"),
        (lambda: lm.DiceLoss(weight=[1.0, 2.0])(SOFT, ONE_HOT), r"weight has shape \(2,\)"),
        (lambda: lm.DiceCELoss()(X, LABELS[:, 0]), r"target has 3 dimensions"),
        (lambda: lm.DiceFocalLoss()(X, ONE_HOT[:, :2]), r"target has 2 channels"),
        (
            lambda: lm.DiceFocalLoss(weight=[1.0])(X[:, :1], ONE_HOT[:, :1]),
            r"per-class weight is not supported for single-channel",
        ),
    ],
)
def test_call_errors(call, message):
    with pytest.raises(ValueError, match=message) as info:
        call()
    assert str(info.value).split(":")[0] in lm.__all__
