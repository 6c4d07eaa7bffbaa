"""Conformance entries for SSIM and MS-SSIM (lossbridge.image_quality).

Oracles: the libraries themselves, one check per library, each run on the cases of its own
convention (the others skip it): pytorch-msssim 1.0 (``ssim``, ``ms_ssim``), ``tf.image.ssim``
and ``tf.image.ssim_multiscale`` (TensorFlow computes them in float32 only: skipped in float64),
torchmetrics (``structural_similarity_index_measure``,
``multiscale_structural_similarity_index_measure``), kornia (``losses.ssim_loss``) and
scikit-image (``metrics.structural_similarity``, per image and channel). The reference is a
float64 NumPy transcription of the libraries' code, written without lossbridge's separable
filter: the window is the 2-D outer product and the correlation a sum over
``sliding_window_view``.

The inputs are images in [0, 1] barely larger than the window, so that the finite differences
stay cheap; MS-SSIM runs three scales with a small window (5 x 5 Gaussian, sigma 0.5 or 1.0) on
odd sizes, so that every convention's handling of odd sides is exercised.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import Mapping
from typing import Any

import numpy as np

from lossbridge.conformance.cases import AOT, Entry, Oracle, base, entry
from lossbridge.conformance.references import reduce
from lossbridge.conformance.tolerances import Loosened
from lossbridge.image_quality import ms_ssim_loss, ssim_loss

# ------------------------------------------------------------------------------------------
# Float64 transcription
# ------------------------------------------------------------------------------------------

_DEFAULTS = {  # convention: (window, window_size, padding)
    "pytorch_msssim": ("gaussian", 11, "valid"),
    "tensorflow": ("gaussian", 11, "valid"),
    "torchmetrics": ("gaussian", None, "reflect"),
    "kornia": ("gaussian", 11, "reflect"),
    "skimage": ("uniform", 7, "valid"),
}


def _size(convention, window, window_size, sigma):
    if window_size is not None:
        return window_size
    if convention == "skimage" and window == "uniform":
        return 7
    if convention in ("torchmetrics", "skimage"):  # int(3.5 * s + 0.5) * 2 + 1
        return int(3.5 * sigma + 0.5) * 2 + 1
    return 11


def _kernel(window, n, sigma):
    """The 2-D window: ``_fspecial_gauss_1d`` / ``_fspecial_gauss`` / ``_gaussian`` /
    ``get_gaussian_kernel1d`` (``exp(-d^2 / (2 sigma^2))`` normalised, centre ``(n - 1) / 2``)
    outer itself; ``uniform_filter(size=n)``: ``1 / n^2``."""
    if window == "uniform":
        return np.full((n, n), 1.0 / (n * n))
    d = np.arange(n) - (n - 1) / 2
    g = np.exp(-(d**2) / (2 * sigma**2))
    g = g / g.sum()
    return np.outer(g, g)


def _filter(x, k):
    """Valid 2-D correlation over the last two axes (every plane, one window)."""
    win = np.lib.stride_tricks.sliding_window_view(x, k.shape, axis=(-2, -1))
    return np.einsum("...ij,ij->...", win, k)


def _terms(x, y, convention, window, n, sigma, k1, k2, data_range, sample_covariance):
    k = _kernel(window, n, sigma)
    if _DEFAULTS[convention][2] == "reflect":  # F.pad(..., mode="reflect"); kornia's filter2d
        p = n // 2
        x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), mode="reflect")
        y = np.pad(y, ((0, 0), (0, 0), (p, p), (p, p)), mode="reflect")
    mu1, mu2 = _filter(x, k), _filter(y, k)  # mu1 = gaussian_filter(X, win)
    s11 = _filter(x * x, k) - mu1**2  # sigma1_sq = gaussian_filter(X * X, win) - mu1_sq
    s22 = _filter(y * y, k) - mu2**2
    s12 = _filter(x * y, k) - mu1 * mu2  # sigma12 = gaussian_filter(X * Y, win) - mu1_mu2
    if sample_covariance:  # skimage: cov_norm = NP / (NP - 1); vx = cov_norm * (uxx - ux * ux)
        norm = n * n / (n * n - 1.0)
        s11, s22, s12 = norm * s11, norm * s22, norm * s12
    if convention == "torchmetrics":  # torch.clamp(output_list[2] - mu_pred_sq, min=0.0)
        s11, s22 = np.maximum(s11, 0.0), np.maximum(s22, 0.0)
    c1, c2 = (k1 * data_range) ** 2, (k2 * data_range) ** 2
    cs = (2 * s12 + c2) / (s11 + s22 + c2)  # cs_map
    num = (2 * mu1 * mu2 + c1) * (2 * s12 + c2)
    den = (mu1**2 + mu2**2 + c1) * (s11 + s22 + c2)
    eps = 1e-12 if convention == "kornia" else 0.0  # kornia: num / (den + eps)
    return num / (den + eps), cs


def _layout(input, target, channel_axis):
    x = np.asarray(input, np.float64)
    y = np.asarray(target, np.float64)
    if channel_axis in (-1, 3):
        x, y = np.moveaxis(x, -1, 1), np.moveaxis(y, -1, 1)
    return x, y


def ref_ssim_loss(
    input,
    target,
    convention="pytorch_msssim",
    data_range=1.0,
    window=None,
    window_size=None,
    sigma=None,
    k1=None,
    k2=None,
    sample_covariance=None,
    channel_axis=1,
    reduction="mean",
):
    x, y = _layout(input, target, channel_axis)
    window = window or _DEFAULTS[convention][0]
    sigma = 1.5 if sigma is None else sigma
    n = _size(convention, window, window_size, sigma)
    if sample_covariance is None:
        sample_covariance = convention == "skimage"
    ssim_map, _ = _terms(
        x, y, convention, window, n, sigma, k1 or 0.01, k2 or 0.03, data_range, sample_covariance
    )
    if convention == "kornia":  # torch.clamp((1.0 - ssim_map) / 2, min=0, max=1)
        per_image = np.clip((1.0 - ssim_map) / 2, 0.0, 1.0).mean(axis=(1, 2, 3))
    else:  # ssim_per_channel = flatten(ssim_map, 2).mean(-1); mean over channels
        per_image = 1.0 - ssim_map.mean(axis=(2, 3)).mean(axis=1)
    return reduce(per_image, reduction)


def _down(x, convention):
    """One 2 x 2 mean-pooling, odd sides as each library pads them."""
    h, w = x.shape[-2:]
    if convention == "pytorch_msssim":  # avg_pool(X, kernel_size=2, padding=[s % 2 ...])
        x = np.pad(x, ((0, 0), (0, 0), (h % 2, h % 2), (w % 2, w % 2)))  # zeros, counted
    elif convention == "tensorflow":  # array_ops.pad(x, padding, mode='SYMMETRIC') at the end
        x = np.pad(x, ((0, 0), (0, 0), (0, h % 2), (0, w % 2)), mode="symmetric")
    h2, w2 = x.shape[-2] // 2, x.shape[-1] // 2  # avg_pool(..., padding='VALID'/0): floor
    x = x[..., : 2 * h2, : 2 * w2]
    return x.reshape(*x.shape[:-2], h2, 2, w2, 2).mean(axis=(-3, -1))


def ref_ms_ssim_loss(
    input,
    target,
    convention="pytorch_msssim",
    data_range=1.0,
    weights=None,
    window=None,
    window_size=None,
    sigma=None,
    k1=None,
    k2=None,
    channel_axis=1,
    reduction="mean",
):
    x, y = _layout(input, target, channel_axis)
    weights = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333) if weights is None else weights
    window = window or "gaussian"
    sigma = 1.5 if sigma is None else sigma
    n = _size(convention, window, window_size, sigma)
    per = []
    for j in range(len(weights)):
        if j:
            x, y = _down(x, convention), _down(y, convention)
        ssim_map, cs = _terms(
            x, y, convention, window, n, sigma, k1 or 0.01, k2 or 0.03, data_range, False
        )
        if convention == "torchmetrics" and j < len(weights) - 1:
            p = n // 2  # contrast_sensitivity[..., pad_h:-pad_h, pad_w:-pad_w]
            cs = cs[..., p:-p, p:-p]
        term = (ssim_map if j == len(weights) - 1 else cs).mean(axis=(2, 3))
        if convention == "torchmetrics":  # .reshape(B, -1).mean(-1): over channels too
            term = term.mean(axis=1, keepdims=True)
        per.append(np.maximum(term, 0.0))  # relu(cs); relu(ssim_per_channel)
    # torch.prod(mcs_and_ssim ** weights_tensor.view(-1, 1, 1), dim=0)
    ms = np.prod([p**w for p, w in zip(per, weights, strict=True)], axis=0)
    return reduce(1.0 - ms.mean(axis=1), reduction)


# ------------------------------------------------------------------------------------------
# The libraries as oracles
# ------------------------------------------------------------------------------------------


def _missing(*mods: str) -> Any:
    def unavailable(dtype: str) -> str | None:
        for mod in mods:
            if importlib.util.find_spec(mod) is None:
                return f"{mod} is not installed"
        return None

    return unavailable


def _torch_pair(inputs, kwargs, dtype):
    import torch

    work = torch.float64 if dtype == "float64" else torch.float32  # half: the float32 result
    x, y = (torch.tensor(np.asarray(inputs[k], np.float64), dtype=work) for k in _IT)
    if kwargs.get("channel_axis", 1) in (-1, 3):
        x, y = x.permute(0, 3, 1, 2), y.permute(0, 3, 1, 2)
    return torch, x, y


@contextlib.contextmanager
def _default_dtype(torch: Any, dtype: Any) -> Any:
    """torchmetrics builds ``betas`` with ``torch.tensor``: the default dtype (float32 would
    round the exponents in a float64 case)."""
    saved = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(saved)


def _finish(per_image: Any, kwargs: Mapping[str, Any]) -> np.ndarray:
    return reduce(np.asarray(per_image, np.float64), kwargs.get("reduction", "mean"))


def _sigma(kwargs):
    return 1.5 if kwargs.get("sigma") is None else kwargs["sigma"]


def _pms_win(torch, kwargs, x):
    """pytorch-msssim's ``_fspecial_gauss_1d(win_size, win_sigma)`` in the case's dtype (its
    own is float32, which would round a float64 case), repeated per channel as it does."""
    n = kwargs.get("window_size") or 11
    coords = torch.arange(n, dtype=x.dtype) - n // 2
    g = torch.exp(-(coords**2) / (2 * _sigma(kwargs) ** 2))
    g = (g / g.sum()).reshape(1, 1, 1, -1)
    return g.repeat(x.shape[1], 1, 1, 1)


def _k(kwargs):
    return (kwargs.get("k1") or 0.01, kwargs.get("k2") or 0.03)


def _pms_ssim(inputs, kwargs, dtype):
    import pytorch_msssim

    torch, x, y = _torch_pair(inputs, kwargs, dtype)
    with torch.no_grad():
        s = pytorch_msssim.ssim(
            x,
            y,
            data_range=kwargs.get("data_range", 1.0),
            size_average=False,
            win=_pms_win(torch, kwargs, x),
            K=_k(kwargs),
        )
    return _finish(1.0 - s.numpy(), kwargs)


def _pms_ms_ssim(inputs, kwargs, dtype):
    import pytorch_msssim

    torch, x, y = _torch_pair(inputs, kwargs, dtype)
    with torch.no_grad():
        s = pytorch_msssim.ms_ssim(
            x,
            y,
            data_range=kwargs.get("data_range", 1.0),
            size_average=False,
            win=_pms_win(torch, kwargs, x),
            K=_k(kwargs),
            weights=kwargs.get("weights"),
        )
    return _finish(1.0 - s.numpy(), kwargs)


def _tm_kernel_size(kwargs):
    return int(3.5 * _sigma(kwargs) + 0.5) * 2 + 1


def _tm_ssim(inputs, kwargs, dtype):
    from torchmetrics.functional.image import structural_similarity_index_measure as f

    torch, x, y = _torch_pair(inputs, kwargs, dtype)
    with torch.no_grad():
        s = f(
            x,
            y,
            sigma=_sigma(kwargs),
            kernel_size=_tm_kernel_size(kwargs),
            reduction="none",
            data_range=kwargs.get("data_range", 1.0),
            k1=_k(kwargs)[0],
            k2=_k(kwargs)[1],
        )
    return _finish(1.0 - s.numpy(), kwargs)


def _tm_ms_ssim(inputs, kwargs, dtype):
    from torchmetrics.functional.image import (
        multiscale_structural_similarity_index_measure as f,
    )

    torch, x, y = _torch_pair(inputs, kwargs, dtype)
    with torch.no_grad(), _default_dtype(torch, x.dtype):
        s = f(
            x,
            y,
            sigma=_sigma(kwargs),
            kernel_size=_tm_kernel_size(kwargs),
            reduction="none",
            data_range=kwargs.get("data_range", 1.0),
            k1=_k(kwargs)[0],
            k2=_k(kwargs)[1],
            betas=tuple(kwargs["weights"]),
        )
    return _finish(1.0 - s.numpy(), kwargs)


def _kornia_ssim(inputs, kwargs, dtype):
    import kornia

    torch, x, y = _torch_pair(inputs, kwargs, dtype)
    with torch.no_grad():
        m = kornia.losses.ssim_loss(
            x,
            y,
            kwargs.get("window_size") or 11,
            float(kwargs.get("data_range", 1.0)),
            reduction="none",
        )
    return _finish(m.mean(dim=(1, 2, 3)).numpy(), kwargs)


def _skimage_ssim(inputs, kwargs, dtype):
    from skimage.metrics import structural_similarity

    x, y = _layout(inputs["input"], inputs["target"], kwargs.get("channel_axis", 1))
    gaussian = kwargs.get("window") == "gaussian"
    opts = {"data_range": kwargs.get("data_range", 1.0), "gaussian_weights": gaussian}
    if kwargs.get("window_size") is not None:
        opts["win_size"] = kwargs["window_size"]
    if kwargs.get("sample_covariance") is not None:
        opts["use_sample_covariance"] = kwargs["sample_covariance"]
    per = [
        np.mean([structural_similarity(x[i, c], y[i, c], **opts) for c in range(x.shape[1])])
        for i in range(x.shape[0])
    ]
    return _finish(1.0 - np.array(per), kwargs)


def _tf_images(inputs, kwargs):
    import tensorflow as tf

    x, y = _layout(inputs["input"], inputs["target"], kwargs.get("channel_axis", 1))
    to = lambda a: tf.constant(np.moveaxis(a, 1, -1), tf.float32)  # noqa: E731 - NHWC
    return tf, to(x), to(y)


def _tf_ssim(inputs, kwargs, dtype):
    tf, x, y = _tf_images(inputs, kwargs)
    s = tf.image.ssim(
        x,
        y,
        max_val=kwargs.get("data_range", 1.0),
        filter_size=kwargs.get("window_size") or 11,
        filter_sigma=_sigma(kwargs),
        k1=_k(kwargs)[0],
        k2=_k(kwargs)[1],
    )
    return _finish(1.0 - s.numpy(), kwargs)


def _tf_ms_ssim(inputs, kwargs, dtype):
    tf, x, y = _tf_images(inputs, kwargs)
    s = tf.image.ssim_multiscale(
        x,
        y,
        max_val=kwargs.get("data_range", 1.0),
        power_factors=tuple(kwargs["weights"]),
        filter_size=kwargs.get("window_size") or 11,
        filter_sigma=_sigma(kwargs),
        k1=_k(kwargs)[0],
        k2=_k(kwargs)[1],
    )
    return _finish(1.0 - s.numpy(), kwargs)


_IT = ("input", "target")
_TF32 = "tf.image computes in float32 only (convert_image_dtype to float32)"

_SSIM_ORACLES = {
    "pytorch_msssim": Oracle(
        "pytorch_msssim_ssim", "pytorch-msssim", _pms_ssim, _missing("pytorch_msssim", "torch")
    ),
    "tensorflow": Oracle("tf_image_ssim", "tf.image", _tf_ssim, _missing("tensorflow")),
    "torchmetrics": Oracle(
        "torchmetrics_ssim", "torchmetrics", _tm_ssim, _missing("torchmetrics", "torch")
    ),
    "kornia": Oracle("kornia_ssim_loss", "kornia", _kornia_ssim, _missing("kornia", "torch")),
    "skimage": Oracle("skimage_ssim", "scikit-image", _skimage_ssim, _missing("skimage")),
}

_MS_ORACLES = {
    "pytorch_msssim": Oracle(
        "pytorch_msssim_ms_ssim",
        "pytorch-msssim",
        _pms_ms_ssim,
        _missing("pytorch_msssim", "torch"),
    ),
    "tensorflow": Oracle(
        "tf_image_ssim_multiscale", "tf.image", _tf_ms_ssim, _missing("tensorflow")
    ),
    "torchmetrics": Oracle(
        "torchmetrics_ms_ssim", "torchmetrics", _tm_ms_ssim, _missing("torchmetrics", "torch")
    ),
}


def _case(oracles, label, make, kwargs, **opts):
    """A base case run by its convention's oracle only (float32 and below for tf.image)."""
    conv = kwargs.get("convention", "pytorch_msssim")
    skip = {
        o.name: f"another library's convention ({conv!r})" for c, o in oracles.items() if c != conv
    }
    if conv == "tensorflow":
        skip[f"{oracles[conv].name}@float64"] = _TF32
    return base(label, make, kwargs, skip=skip, **opts)


# ------------------------------------------------------------------------------------------
# Inputs: images in [0, 1] and a distorted copy
# ------------------------------------------------------------------------------------------


def _images(shape, noise=0.15, nhwc=False):
    def make(r):
        x = r.uniform(0.05, 0.95, shape)
        y = np.clip(x + noise * r.standard_normal(shape), 0.0, 1.0)
        # smooth structure too: a ramp, so that the local variances are not all alike
        ramp = np.linspace(0.0, 0.3, shape[-1] if not nhwc else shape[-2])
        y = 0.8 * y + (ramp[:, None] if nhwc else ramp)
        return {"input": x, "target": y}

    return make


_R3 = ("none", "mean", "sum")
_SSIM_SHAPE = (2, 3, 13, 12)

_SSIM = entry(
    "ssim_loss",
    [
        _case(_SSIM_ORACLES, "pytorch_msssim", _images(_SSIM_SHAPE), {}, reductions=_R3, **AOT),
        _case(
            _SSIM_ORACLES,
            "tensorflow",
            _images(_SSIM_SHAPE),
            {"convention": "tensorflow"},
            reductions=("mean",),
        ),
        _case(
            _SSIM_ORACLES,
            "torchmetrics",
            _images((2, 2, 9, 10)),
            {"convention": "torchmetrics"},
            reductions=("mean", "none"),
        ),
        _case(
            _SSIM_ORACLES,
            "kornia",
            _images((2, 2, 9, 10)),
            {"convention": "kornia"},
            reductions=("mean", "sum"),
        ),
        _case(
            _SSIM_ORACLES,
            "skimage",
            _images((2, 3, 9, 8)),
            {"convention": "skimage"},
            reductions=("mean", "none"),
        ),
        _case(
            _SSIM_ORACLES,
            "skimage_gaussian",
            _images(_SSIM_SHAPE),
            {"convention": "skimage", "window": "gaussian", "sample_covariance": False},
            reductions=("mean",),
        ),
        _case(
            _SSIM_ORACLES,
            "range255",
            lambda r: {k: 255.0 * v for k, v in _images((1, 2, 12, 12))(r).items()},
            {"data_range": 255.0, "window_size": 7, "sigma": 1.0, "k2": 0.05},
            reductions=("mean",),
        ),
        _case(
            _SSIM_ORACLES,
            "nhwc",
            _images((2, 12, 11, 3), nhwc=True),
            {"channel_axis": -1, "convention": "tensorflow", "window_size": 7},
            reductions=("mean",),
        ),
        # at most FD_MAX_ELEMENTS inputs: the finite-difference check runs
        _case(
            _SSIM_ORACLES,
            "small_fd",
            _images((1, 2, 9, 8)),
            {"window_size": 5},
            reductions=("mean",),
        ),
    ],
    fn=ssim_loss,
    reference=ref_ssim_loss,
    oracle=None,
    extra_oracles=tuple(_SSIM_ORACLES.values()),
)

_W3 = (0.3, 0.4, 0.3)
_MS_SHAPE = (2, 2, 23, 21)  # odd sides at every scale: 23 -> 12 -> 6 or 11 -> 5

_MS_SSIM = entry(
    "ms_ssim_loss",
    [
        # pytorch-msssim asserts a side > (win_size - 1) * 2**4 whatever the number of scales:
        # 3 taps, sides 35 and 33 (35 -> 18 -> 9 with its zero row in front)
        _case(
            _MS_ORACLES,
            "pytorch_msssim",
            _images((1, 2, 35, 33)),
            {"weights": _W3, "window_size": 3, "sigma": 1.0},
            reductions=_R3,
            **AOT,
        ),
        _case(
            _MS_ORACLES,
            "tensorflow",
            _images(_MS_SHAPE),
            {"convention": "tensorflow", "weights": _W3, "window_size": 5, "sigma": 1.0},
            reductions=("mean", "none"),
        ),
        _case(
            _MS_ORACLES,
            "torchmetrics",
            _images((2, 2, 27, 25)),
            {"convention": "torchmetrics", "weights": _W3, "sigma": 0.5},
            reductions=("mean", "none"),
        ),
        _case(
            _MS_ORACLES,
            "small_fd",
            _images((1, 1, 14, 13)),
            {"convention": "tensorflow", "weights": _W3, "window_size": 3, "sigma": 1.0},
            reductions=("mean",),
        ),
    ],
    fn=ms_ssim_loss,
    reference=ref_ms_ssim_loss,
    oracle=None,
    extra_oracles=tuple(_MS_ORACLES.values()),
)

ENTRIES: tuple[Entry, ...] = (_SSIM, _MS_SSIM)

_CONDITIONING = (
    "the textbook moments every library computes: sigma^2 = E[x^2] - mu^2 cancels (E[x^2] is "
    "about 4 sigma^2 for images in [0, 1]) and 1 - SSIM cancels again (SSIM about 0.85): "
    "float32's rounding grows by about 20 in the loss, the conditioning of the formula, not of "
    "an implementation (the float32 oracles show the same)"
)

_MS_CONDITIONING = (
    "MS-SSIM's coarse scales are smooth (2 x 2 means of means), so their local variances are "
    "small against mu^2 and sigma^2 = E[x^2] - mu^2 cancels more than at full resolution; the "
    "cases' 3- and 5-tap windows (9 or 25 pixels per variance) add to it; the product of the "
    "scales' powers carries each one's relative error (measured: the float32 oracles tf.image "
    "and torchmetrics differ from the float64 reference by as much)"
)

EXCEPTIONS = (
    Loosened(
        loss="ssim_loss",
        case="*",
        check="*",
        dtype="float32",
        bound=4e-6,
        measured=2.5e-6,
        reason=_CONDITIONING,
    ),
    Loosened(
        loss="ms_ssim_loss",
        case="*",
        check="*",
        dtype="float32",
        bound=6e-5,
        measured=3.2e-5,
        reason=_MS_CONDITIONING,
    ),
    Loosened(
        loss="ms_ssim_loss",
        case="*",
        check="autocast_value",
        dtype="*",
        bound=2e-5,
        measured=5.4e-6,
        reason="computed in float32 under autocast: " + _MS_CONDITIONING,
    ),
)
