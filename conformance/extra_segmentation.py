"""Conformance entries for the segmentation losses beyond the frameworks.

``dice_loss``, ``jaccard_loss``, ``tversky_loss`` and ``focal_tversky_loss``
(:mod:`lossbridge.segmentation`). Each entry has five base cases on (2, 3, 4, 4) scores (or
(2, 4, 4, 3) channels-last): softmax with index targets (the compiled and placement case),
sigmoid with soft float targets and class weights, channels-last with ``batch=True``, and a class
absent from prediction and target (probabilities with ``activation=None``) with ``smooth=0`` and
``smooth > 0``.

The reference is a plain float64 loop over samples and classes, written from the papers'
definitions (Salehi et al. 2017's Tversky index, alpha on the false positives). The oracles,
each with its conventions converted in the oracle function:

* MONAI ``DiceLoss`` (``jaccard=True`` for Jaccard; our ``smooth=s`` is its
  ``smooth_nr = smooth_dr = 2s``, because it writes the index as ``(2 TP + s_nr) / (...)``; its
  own ``weight``) and ``TverskyLoss`` (``smooth_nr = smooth_dr = s``; raised to ``gamma`` for
  focal Tversky; class weights applied afterwards), both with ``reduction='none'``, reduced here
  as lossbridge reduces (the weighted ``'mean'`` divides by ``N * sum(w)``, MONAI's by ``N * C``).
  In half precision it runs on the case's half tensors: its softmax/sigmoid stays in half, but
  with index targets its one-hot is float32, so its sums (and result) are float32; with soft
  half targets it computes in half throughout.
* optax ``dice_loss`` (channels-last, one-hot targets, ``alpha``/``beta`` as ours, ``smooth`` as
  ours, ``axis`` = the spatial axes, plus the batch axis for ``batch=True``). It applies a
  sigmoid only to a single channel, so ``activation='sigmoid'`` is computed one channel per
  call; ``activation=None`` passes ``apply_softmax=False`` (probabilities summing to 1 only).
* Keras ``dice`` and ``tversky`` (float32 only: Keras adds ``epsilon() = 1e-7`` to the
  denominator, about 1e-9 relative on these cases, far below float32's bound but above
  float64's). Keras 3.15.1's ``tversky`` weights the false negatives with its ``alpha``
  (reference section 3.12), so it is called with ``alpha`` and ``beta`` swapped.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

import numpy as np

from lossbridge.conformance.cases import (
    AOT,
    Entry,
    Oracle,
    arrays,
    base,
    entry,
    normal,
    optax_unavailable,
    weights,
)
from lossbridge.conformance.drivers import get_driver
from lossbridge.conformance.references import reduce
from lossbridge.segmentation import dice_loss, focal_tversky_loss, jaccard_loss, tversky_loss

# ------------------------------------------------------------------------------------------
# Float64 NumPy references (loops over samples and classes, from the papers' definitions)
# ------------------------------------------------------------------------------------------


def _probabilities(x: np.ndarray, activation: str | None, axis: int) -> np.ndarray:
    if activation == "softmax":
        e = np.exp(x - np.max(x, axis=axis, keepdims=True))
        return e / np.sum(e, axis=axis, keepdims=True)
    if activation == "sigmoid":
        return 1.0 / (1.0 + np.exp(-x))
    return x


def tversky_reference(
    input: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None = None,
    *,
    alpha: float = 0.5,
    beta: float = 0.5,
    gamma: float = 1.0,
    activation: str | None = "softmax",
    smooth: float = 0.0,
    eps: float = 1e-7,
    channel_axis: int = 1,
    batch: bool = False,
    reduction: str = "mean",
) -> Any:
    """``(1 - T)^gamma`` of Salehi et al.'s Tversky index, per sample and class, in float64.

    For each sample n (or the whole batch) and class c: TP = sum p t, FP = sum p (1 - t),
    FN = sum (1 - p) t, D = TP + alpha FP + beta FN + smooth, loss = ((D - TP - smooth) / D)^gamma
    = (1 - (TP + smooth) / D)^gamma, with D floored at eps, and 0 where D = 0.
    """
    x = np.asarray(input, dtype=np.float64)
    ca = channel_axis % x.ndim
    n_classes = x.shape[ca]
    p = np.moveaxis(_probabilities(x, activation, ca), ca, 1)  # (N, C, ...)
    tgt = np.asarray(target)
    if tgt.dtype.kind in "iu":
        t = np.stack([(tgt == c).astype(np.float64) for c in range(n_classes)], axis=1)
    else:
        t = np.moveaxis(tgt.astype(np.float64), ca, 1)
    n_samples = p.shape[0]
    groups = [slice(None)] if batch else [slice(n, n + 1) for n in range(n_samples)]
    losses = np.zeros((len(groups), n_classes))
    for g, rows in enumerate(groups):
        for c in range(n_classes):
            pc = p[rows, c].ravel()
            tc = t[rows, c].ravel()
            tp = np.sum(pc * tc)
            fp = np.sum(pc * (1.0 - tc))
            fn = np.sum((1.0 - pc) * tc)
            den = tp + alpha * fp + beta * fn + smooth
            if den == 0.0:
                loss = 0.0  # a class absent from prediction and target
            else:
                loss = (alpha * fp + beta * fn) / max(den, eps)
            losses[g, c] = loss**gamma
    if batch:
        losses = losses[0]
    w = np.ones(n_classes) if weight is None else np.asarray(weight, dtype=np.float64)
    return _reduce_classes(losses * w, weight, reduction, batch)


def dice_reference(input, target, weight=None, **kwargs):
    """:func:`tversky_reference` with alpha = beta = 1/2."""
    return tversky_reference(input, target, weight, alpha=0.5, beta=0.5, **kwargs)


def jaccard_reference(input, target, weight=None, **kwargs):
    """:func:`tversky_reference` with alpha = beta = 1."""
    return tversky_reference(input, target, weight, alpha=1.0, beta=1.0, **kwargs)


def focal_tversky_reference(input, target, weight=None, *, gamma=0.75, **kwargs):
    """:func:`tversky_reference` with its default gamma 0.75."""
    return tversky_reference(input, target, weight, gamma=gamma, **kwargs)


# ------------------------------------------------------------------------------------------
# Oracles: MONAI, optax, Keras
# ------------------------------------------------------------------------------------------

#: alpha, beta, gamma of each loss (None: read from the case's keyword arguments).
_FIXED = {
    "dice": (0.5, 0.5, 1.0),
    "jaccard": (1.0, 1.0, 1.0),
    "tversky": (None, None, 1.0),
    "focal": (None, None, None),
}


def _params(kind: str, kwargs: Mapping[str, Any]) -> tuple[float, float, float]:
    a, b, g = _FIXED[kind]
    return (
        kwargs.get("alpha", 0.5) if a is None else a,
        kwargs.get("beta", 0.5) if b is None else b,
        kwargs.get("gamma", 0.75) if g is None else g,
    )


def _reduce_classes(weighted: np.ndarray, weight: Any, reduction: str, batch: bool) -> Any:
    """:func:`~lossbridge.conformance.references.reduce` of already weighted per-(sample,)
    class losses: the mean divides by the number of samples (1 with ``batch``) times the sum of
    the class weights."""
    n_classes = weighted.shape[-1]
    w = np.ones(n_classes) if weight is None else np.asarray(weight, dtype=np.float64)
    n = 1 if batch else weighted.shape[0]
    return reduce(weighted, reduction, denominator=n * np.sum(w))


def _channels(inputs: Mapping[str, np.ndarray], kwargs: Mapping[str, Any], dtype: str, at: int):
    """``(x, t, is_index)``: scores with channels moved to ``at`` and the target (a float target
    moved the same way; index targets unchanged)."""
    x = inputs["input"].astype(dtype)
    ca = kwargs.get("channel_axis", 1) % x.ndim
    tgt = inputs["target"]
    is_index = tgt.dtype.kind in "iu"
    x = np.moveaxis(x, ca, at)
    t = tgt if is_index else np.moveaxis(tgt.astype(dtype), ca, at)
    return np.ascontiguousarray(x), np.ascontiguousarray(t), is_index


def _monai(kind: str):
    def fn(inputs, kwargs, dtype):
        import torch
        from monai.losses import DiceLoss, TverskyLoss

        torch_ = get_driver("torch")  # bfloat16 reaches torch through float32 (exact)
        alpha, beta, gamma = _params(kind, kwargs)
        x, t, is_index = _channels(inputs, kwargs, dtype, 1)
        if is_index:
            t = t[:, None]  # MONAI's (N, 1, ...) label map, one-hot with to_onehot_y
        weight = inputs.get("weight")
        act = kwargs.get("activation", "softmax")
        s = kwargs.get("smooth", 0.0)
        common = dict(
            softmax=act == "softmax",
            sigmoid=act == "sigmoid",
            to_onehot_y=is_index,
            batch=kwargs.get("batch", False),
            reduction="none",
        )
        if kind in ("dice", "jaccard"):
            w = None if weight is None else torch_.from_numpy(weight, dtype)
            loss = DiceLoss(
                jaccard=kind == "jaccard", smooth_nr=2 * s, smooth_dr=2 * s, weight=w, **common
            )
        else:
            loss = TverskyLoss(alpha=alpha, beta=beta, smooth_nr=s, smooth_dr=s, **common)
        with torch.no_grad():
            out = torch_.to_numpy(loss(torch_.from_numpy(x), torch_.from_numpy(t)))
        out = out.astype(np.float64)
        n_classes = x.shape[1]
        out = out.reshape(n_classes) if kwargs.get("batch", False) else out.reshape(-1, n_classes)
        if kind not in ("dice", "jaccard"):
            out = out**gamma
            if weight is not None:
                out = out * weight
        return _reduce_classes(
            out, weight, kwargs.get("reduction", "mean"), kwargs.get("batch", False)
        )

    return fn


def _monai_unavailable(dtype: str) -> str | None:
    for mod in ("monai", "torch"):
        if importlib.util.find_spec(mod) is None:
            return f"{mod} is not installed"
    return None


def _optax(kind: str):
    def fn(inputs, kwargs, dtype):
        import jax.numpy as jnp
        import optax

        alpha, beta, gamma = _params(kind, kwargs)
        x, t, is_index = _channels(inputs, kwargs, dtype, -1)
        n_classes = x.shape[-1]
        if is_index:
            t = np.eye(n_classes, dtype=dtype)[t]  # one-hot, channels-last
        spatial = tuple(range(1, x.ndim - 1))
        axis = (0, *spatial) if kwargs.get("batch", False) else spatial
        weight = inputs.get("weight")
        # optax multiplies by class_weights before any power: focal weights come afterwards.
        pass_weight = weight is not None and kind != "focal"
        act = kwargs.get("activation", "softmax")

        def call(xs, ts, ws, apply):
            out = optax.losses.dice_loss(
                jnp.asarray(xs),
                jnp.asarray(ts),
                class_weights=None if ws is None else jnp.asarray(ws.astype(dtype)),
                smooth=kwargs.get("smooth", 0.0),
                alpha=alpha,
                beta=beta,
                apply_softmax=apply,
                reduction="none",
                axis=axis,
            )
            return np.asarray(out, dtype=np.float64)

        if act == "sigmoid":  # optax's sigmoid path is its single-channel case
            out = np.stack(
                [
                    call(
                        x[..., c : c + 1],
                        t[..., c : c + 1],
                        weight[c : c + 1] if pass_weight else None,
                        True,
                    )[..., 0]
                    for c in range(n_classes)
                ],
                axis=-1,
            )
        else:
            out = call(x, t, weight if pass_weight else None, act == "softmax")
        if kind == "focal":
            out = out**gamma
            if weight is not None:
                out = out * weight
        return _reduce_classes(
            out, weight, kwargs.get("reduction", "mean"), kwargs.get("batch", False)
        )

    return fn


def _keras(kind: str):
    def fn(inputs, kwargs, dtype):
        import keras

        alpha, beta, gamma = _params(kind, kwargs)
        x, t, is_index = _channels(inputs, kwargs, dtype, -1)
        n_classes = x.shape[-1]
        if is_index:
            t = np.eye(n_classes, dtype=dtype)[t]
        act = kwargs.get("activation", "softmax")
        if act == "softmax":
            p = keras.ops.softmax(keras.ops.convert_to_tensor(x), axis=-1)
        elif act == "sigmoid":
            p = keras.ops.sigmoid(keras.ops.convert_to_tensor(x))
        else:
            p = keras.ops.convert_to_tensor(x)
        spatial = tuple(range(1, x.ndim - 1))
        axis = (0, *spatial) if kwargs.get("batch", False) else spatial
        if kind == "dice":
            out = keras.losses.dice(t, p, axis=axis)
        else:  # Keras 3.15.1 puts its alpha on the false negatives: swap to convert
            out = keras.losses.tversky(t, p, alpha=beta, beta=alpha, axis=axis)
        out = np.asarray(keras.ops.convert_to_numpy(out), dtype=np.float64)
        weight = inputs.get("weight")
        if weight is not None:
            out = out * weight
        return _reduce_classes(
            out, weight, kwargs.get("reduction", "mean"), kwargs.get("batch", False)
        )

    return fn


def _keras_unavailable(dtype: str) -> str | None:
    if importlib.util.find_spec("keras") is None:
        return "keras is not installed"
    if dtype == "float64":
        return (
            "keras adds epsilon() = 1e-7 to the denominator (about 1e-9 relative here): below "
            "float32's bound, above float64's"
        )
    return None


_MONAI_DICE = Oracle("monai_dice_loss", "monai", _monai("dice"), _monai_unavailable)
_MONAI_JACCARD = Oracle("monai_jaccard_loss", "monai", _monai("jaccard"), _monai_unavailable)
_MONAI_TVERSKY = Oracle("monai_tversky_loss", "monai", _monai("tversky"), _monai_unavailable)
_MONAI_FOCAL = Oracle("monai_focal_tversky_loss", "monai", _monai("focal"), _monai_unavailable)
_OPTAX_DICE = Oracle("optax_dice_loss", "optax", _optax("dice"), optax_unavailable)
_OPTAX_JACCARD = Oracle("optax_jaccard_loss", "optax", _optax("jaccard"), optax_unavailable)
_OPTAX_TVERSKY = Oracle("optax_tversky_loss", "optax", _optax("tversky"), optax_unavailable)
_OPTAX_FOCAL = Oracle("optax_focal_tversky_loss", "optax", _optax("focal"), optax_unavailable)
_KERAS_DICE = Oracle("keras_dice", "keras", _keras("dice"), _keras_unavailable)
_KERAS_TVERSKY = Oracle("keras_tversky", "keras", _keras("tversky"), _keras_unavailable)

# ------------------------------------------------------------------------------------------
# Cases
# ------------------------------------------------------------------------------------------

_SHAPE = (2, 3, 4, 4)
_LAST = (2, 4, 4, 3)


def _index(shape, c=3):
    return lambda r: r.integers(0, c, shape)


def _absent(r: np.random.Generator) -> dict[str, np.ndarray]:
    """Probabilities (2, 3, 4, 4) whose class 2 is 0 everywhere, targets in {0, 1}: class 2 is
    absent from prediction and target in both samples. Classes 0 and 1 sum to 1 (optax's
    ``apply_softmax=False`` requires it)."""
    p0 = r.uniform(0.05, 0.95, (2, 4, 4))
    p = np.stack([p0, 1.0 - p0, np.zeros_like(p0)], axis=1)
    return {"input": p, "target": r.integers(0, 2, (2, 4, 4))}


_NO_SMOOTH_ABSENT = (
    "smooth = 0: an absent class is 0 / 0, NaN in this oracle (lossbridge defines it as 0)"
)
_KERAS_ABSENT = "keras gives an absent class loss 1 (0 / (0 + 1e-7)); lossbridge gives 0"
_KERAS_SMOOTH = "keras has no smoothing term"
_JUMP = (
    "a class absent from prediction and target with smooth = 0: the loss jumps from 0 to 1 as "
    "soon as it is predicted (within the eps floor), no central difference"
)


def _bases(
    extra: Mapping[str, Any],
    oracles: tuple[Oracle, ...],
    *,
    absent_smooth: Mapping[str, Any] | None = None,
    last: Mapping[str, Any] | None = None,
) -> list[dict]:
    names = {o.name for o in oracles}
    keras = {n for n in names if n.startswith("keras")}

    def only(reasons: Mapping[str, str]) -> dict[str, str]:
        return {k: v for k, v in reasons.items() if k in names or k.startswith("grad")}

    return [
        base(
            "softmax_index",
            arrays(input=normal(_SHAPE, 2.0), target=_index((2, 4, 4))),
            dict(extra),
            **AOT,
        ),
        base(
            "sigmoid_soft_weight",
            arrays(
                input=normal(_SHAPE, 2.0),
                target=lambda r: r.uniform(0.0, 1.0, _SHAPE),
                weight=weights(3),
            ),
            {**extra, "activation": "sigmoid"},
        ),
        base(
            "channels_last_batch",
            arrays(input=normal(_LAST, 2.0), target=_index((2, 4, 4))),
            {**extra, "channel_axis": -1, "batch": True, **(last or {})},
            reductions=("none", "mean"),
        ),
        base(
            "absent",
            _absent,
            {**extra, "activation": None},
            reductions=("none", "mean"),
            skip=only(
                {
                    **{n: _NO_SMOOTH_ABSENT for n in names - keras},
                    **{n: _KERAS_ABSENT for n in keras},
                    "grad_fd": _JUMP,
                }
            ),
        ),
        base(
            "absent_smooth",
            _absent,
            {**extra, "activation": None, "smooth": 0.5, **(absent_smooth or {})},
            reductions=("none", "sum"),
            skip=only({n: _KERAS_SMOOTH for n in keras}),
        ),
    ]


def _seg_entry(name, fn, reference, oracles, extra=None, **opts) -> Entry:
    return entry(
        name,
        _bases(extra or {}, oracles, **opts),
        fn=fn,
        reference=reference,
        oracle=None,
        grad_args=("input",),
        extra_oracles=oracles,
    )


_TV = {"alpha": 0.3, "beta": 0.7}

#: This family's registry entries.
ENTRIES: tuple[Entry, ...] = (
    _seg_entry("dice_loss", dice_loss, dice_reference, (_MONAI_DICE, _OPTAX_DICE, _KERAS_DICE)),
    _seg_entry("jaccard_loss", jaccard_loss, jaccard_reference, (_MONAI_JACCARD, _OPTAX_JACCARD)),
    _seg_entry(
        "tversky_loss",
        tversky_loss,
        tversky_reference,
        (_MONAI_TVERSKY, _OPTAX_TVERSKY, _KERAS_TVERSKY),
        _TV,
    ),
    _seg_entry(
        "focal_tversky_loss",
        focal_tversky_loss,
        focal_tversky_reference,
        (_MONAI_FOCAL, _OPTAX_FOCAL),
        _TV,
        # gamma = 2: the absent class's loss (alpha FP / (alpha FP + s))^2 is smooth at FP = 0
        # (the default 0.75 has an infinite one-sided derivative there)
        absent_smooth={"gamma": 2.0},
        last={"gamma": 1.5},
    ),
)
