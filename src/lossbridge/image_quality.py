"""SSIM and MS-SSIM as losses, with the numbers of each library that ships them.

The structural similarity index (Wang et al. 2004) of two images is the mean of a map computed
from local means, variances and the covariance under a window :math:`w`:

.. math::

    \\mathrm{SSIM} = \\frac{(2 \\mu_x \\mu_y + C_1)(2 \\sigma_{xy} + C_2)}
    {(\\mu_x^2 + \\mu_y^2 + C_1)(\\sigma_x^2 + \\sigma_y^2 + C_2)},
    \\qquad C_1 = (K_1 L)^2,\\ C_2 = (K_2 L)^2,

with :math:`\\mu_x = w \\star x`, :math:`\\sigma_x^2 = w \\star x^2 - \\mu_x^2`,
:math:`\\sigma_{xy} = w \\star xy - \\mu_x \\mu_y` and :math:`L` the data range. The libraries
that compute it agree on this formula and differ in everything around it: the window (Gaussian
11 x 11 with :math:`\\sigma = 1.5`, torchmetrics' size derived from :math:`\\sigma`,
scikit-image's uniform 7 x 7), the border (valid correlation, or reflect padding that keeps the
image size), the covariance estimator (scikit-image's sample covariance), the form of the loss
(kornia's :math:`(1 - \\mathrm{SSIM}) / 2`), and for MS-SSIM the downsampling of odd sizes.
Each is a named ``convention`` here; every keyword overrides its convention.

PyTorch has no SSIM (pytorch/pytorch#6934, open since 2018); the filtering runs on
:func:`lossbridge._primitives.depthwise_conv2d`, the framework's own convolution kernel where
there is one. ``docs/image_quality.md`` gives each convention's numbers on one pair of images.
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass, replace
from typing import Any, Literal

from lossbridge._inputs import promote_floats, setup
from lossbridge._precision import half_precision
from lossbridge._primitives import clamp_min0, depthwise_conv2d
from lossbridge._reduction import reduce
from lossbridge._typing import ArrayLike, ArrayT, Reduction
from lossbridge._validation import (
    check_denominator,
    check_real,
    check_reduction,
    check_same_shape,
    shape_str,
)

__all__ = ["SSIM_CONVENTIONS", "ms_ssim_loss", "ssim_loss"]

Convention = Literal["pytorch_msssim", "tensorflow", "torchmetrics", "kornia", "skimage"]

#: Wang, Simoncelli and Bovik's five scale weights (pytorch-msssim, tf.image, torchmetrics).
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


@dataclass(frozen=True)
class _Convention:
    """What one library does; ``window_size=None`` derives it from ``sigma``."""

    window: str  # "gaussian" or "uniform"
    window_size: int | None
    sigma: float
    k1: float = 0.01
    k2: float = 0.03
    padding: str = "valid"  # or "reflect": torch's mode, the image size kept
    sample_covariance: bool = False  # variances times n / (n - 1), n = window_size**2
    clamp_variance: bool = False  # torchmetrics: max(variance, 0)
    eps: float = 0.0  # kornia: added to the SSIM map's denominator
    dssim: bool = False  # kornia: the loss is clamp((1 - SSIM) / 2, 0, 1)
    downsample: str | None = None  # MS-SSIM: "zero_front", "symmetric_end" or "floor"
    crop_cs: bool = False  # torchmetrics: MS-SSIM's contrast terms without the padded border
    image_means: bool = False  # torchmetrics: MS-SSIM's terms averaged over channels first


#: The conventions, by name (``ssim_loss(convention=...)``).
SSIM_CONVENTIONS: dict[str, _Convention] = {
    # pytorch_msssim/ssim.py 1.0: _fspecial_gauss_1d(11, 1.5), conv2d(..., padding=0) per axis;
    # ms_ssim: avg_pool2d(kernel_size=2, padding=[s % 2 for s in X.shape[2:]])
    "pytorch_msssim": _Convention("gaussian", 11, 1.5, downsample="zero_front"),
    # tf.image.ssim / ssim_multiscale (TF 2.21, image_ops_impl.py): _fspecial_gauss(11, 1.5),
    # depthwise_conv2d(..., padding='VALID'); SYMMETRIC pad of odd sizes, avg_pool 2x2 VALID
    "tensorflow": _Convention("gaussian", 11, 1.5, downsample="symmetric_end"),
    # torchmetrics 1.x functional/image/ssim.py: gauss_kernel_size = int(3.5 * s + 0.5) * 2 + 1,
    # F.pad(..., mode="reflect"), torch.clamp(sigma_sq, min=0.0); avg_pool2d((2, 2))
    "torchmetrics": _Convention(
        "gaussian",
        None,
        1.5,
        padding="reflect",
        clamp_variance=True,
        downsample="floor",
        crop_cs=True,
        image_means=True,
    ),
    # kornia 0.8-0.9 metrics/ssim.py and losses/ssim.py: get_gaussian_kernel1d(window_size, 1.5),
    # filter2d_separable (reflect), num / (den + eps), clamp((1 - ssim_map) / 2, 0, 1)
    "kornia": _Convention("gaussian", 11, 1.5, padding="reflect", eps=1e-12, dssim=True),
    # skimage.metrics.structural_similarity 0.2x: uniform_filter(size=7), cov_norm = NP / (NP - 1),
    # crop(S, (win_size - 1) // 2): the valid region
    "skimage": _Convention("uniform", 7, 1.5, sample_covariance=True),
}


def _resolve(
    loss: str,
    convention: Any,
    window: Any,
    window_size: Any,
    sigma: Any,
    k1: Any,
    k2: Any,
    *,
    sample_covariance: Any = None,
    multiscale: bool = False,
) -> _Convention:
    """The convention named, with the keywords given in place of its defaults (checked)."""
    conv = SSIM_CONVENTIONS.get(convention) if isinstance(convention, str) else None
    if conv is None:
        raise ValueError(
            f"{loss}: convention must be one of {', '.join(map(repr, SSIM_CONVENTIONS))}; "
            f"got {convention!r}"
        )
    if multiscale and conv.downsample is None:
        raise ValueError(
            f"{loss}: convention must be 'pytorch_msssim', 'tensorflow' or 'torchmetrics' (the "
            f"libraries with an MS-SSIM); got {convention!r} (kornia's MS_SSIMLoss is a "
            "different loss, Zhao et al.'s mix with L1; scikit-image has no MS-SSIM)"
        )
    changes: dict[str, Any] = {}
    if window is not None:
        if window not in ("gaussian", "uniform"):
            raise ValueError(f"{loss}: window must be 'gaussian' or 'uniform'; got {window!r}")
        changes["window"] = window
        if window == "gaussian" and convention == "skimage" and window_size is None:
            changes["window_size"] = None  # skimage's gaussian_weights: 11 taps from sigma
    if sigma is not None:
        changes["sigma"] = check_real(sigma, "sigma", loss=loss, low=0.0, strict=True, finite=True)
    if k1 is not None:
        changes["k1"] = check_real(k1, "k1", loss=loss, low=0.0, finite=True)
    if k2 is not None:
        changes["k2"] = check_real(k2, "k2", loss=loss, low=0.0, finite=True)
    if sample_covariance is not None:
        if not isinstance(sample_covariance, bool):
            raise TypeError(
                f"{loss}: sample_covariance must be True or False; got {sample_covariance!r}"
            )
        changes["sample_covariance"] = sample_covariance
    if window_size is not None:
        if isinstance(window_size, bool) or not isinstance(window_size, int) or window_size < 1:
            raise TypeError(
                f"{loss}: window_size must be a positive odd integer; got {window_size!r}"
            )
        if window_size % 2 == 0:
            raise ValueError(
                f"{loss}: window_size must be odd (the window's centre is a pixel); got "
                f"{window_size}"
            )
        changes["window_size"] = operator.index(window_size)
    conv = replace(conv, **changes) if changes else conv
    if conv.window_size is None:  # torchmetrics, skimage's gaussian_weights: 3.5 sigma each side
        if conv.window == "uniform":
            raise ValueError(f"{loss}: window='uniform' needs a window_size; got None")
        conv = replace(conv, window_size=2 * int(3.5 * conv.sigma + 0.5) + 1)
    return conv


def _window(conv: _Convention) -> tuple[float, ...]:
    """The 1-D window (the 2-D one is its outer product with itself), summing to 1."""
    n = conv.window_size
    assert n is not None
    if conv.window == "uniform":
        return (1.0 / n,) * n
    centre = (n - 1) / 2
    g = [math.exp(-((i - centre) ** 2) / (2.0 * conv.sigma**2)) for i in range(n)]
    total = math.fsum(g)
    return tuple(v / total for v in g)


def _reflect(xp: Any, x: Any, p: int, axis: int) -> Any:
    """torch's ``'reflect'`` padding by ``p`` along ``axis`` (-2 or -1): the edge not repeated."""
    if p == 0:
        return x
    n = x.shape[axis]

    def cut(a: int, b: int) -> Any:
        return x[..., a:b, :] if axis == -2 else x[..., a:b]

    before = xp.flip(cut(1, p + 1), axis=axis)
    after = xp.flip(cut(n - p - 1, n - 1), axis=axis)
    return xp.concat([before, x, after], axis=axis)


def _ssim_terms(xp: Any, x: Any, y: Any, conv: _Convention, data_range: float) -> tuple[Any, Any]:
    """``(ssim_map, cs_map)``, each ``(N, C, H', W')``: the SSIM map and its contrast-structure
    factor :math:`(2 \\sigma_{xy} + C_2) / (\\sigma_x^2 + \\sigma_y^2 + C_2)`."""
    win = _window(conv)
    if conv.padding == "reflect":
        p = len(win) // 2
        x = _reflect(xp, _reflect(xp, x, p, -2), p, -1)
        y = _reflect(xp, _reflect(xp, y, p, -2), p, -1)
    c = x.shape[1]
    # The moments through one convolution call, stacked along the channels: one depthwise
    # kernel over every image. The contrast term needs only var_x + var_y, so E[x^2 + y^2] is
    # one map (tf.image's reducer), unless the variances are clamped one by one (torchmetrics).
    if conv.clamp_variance:
        maps = [x, y, x * y, x * x, y * y]
    else:
        maps = [x, y, x * y, x * x + y * y]
    moments = depthwise_conv2d(xp, xp.concat(maps, axis=1), win)
    mu_x, mu_y, e_xy = (
        moments[:, :c, ...],
        moments[:, c : 2 * c, ...],
        moments[:, 2 * c : 3 * c, ...],
    )
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    cov = e_xy - mu_xy
    if conv.clamp_variance:  # torchmetrics: torch.clamp(sigma_sq, min=0.0), each variance
        var_x = clamp_min0(xp, moments[:, 3 * c : 4 * c, ...] - mu_xx)
        var_y = clamp_min0(xp, moments[:, 4 * c :, ...] - mu_yy)
        var_sum = var_x + var_y
    else:
        var_sum = moments[:, 3 * c :, ...] - (mu_xx + mu_yy)
    if conv.sample_covariance:
        m = float(conv.window_size or 1) ** 2
        norm = m / (m - 1.0)
        var_sum, cov = var_sum * norm, cov * norm
    c1 = (conv.k1 * data_range) ** 2
    c2 = (conv.k2 * data_range) ** 2
    lum_num, lum_den = 2.0 * mu_xy + c1, mu_xx + mu_yy + c1
    cs_num, cs_den = 2.0 * cov + c2, var_sum + c2
    cs = cs_num / cs_den
    if conv.eps:
        ssim_map = (lum_num * cs_num) / (lum_den * cs_den + conv.eps)
    else:
        ssim_map = (lum_num / lum_den) * cs
    return ssim_map, cs


def _spatial_mean(xp: Any, m: Any) -> Any:
    return xp.mean(m, axis=(-2, -1))


def _crop(m: Any, p: int) -> Any:
    return m[..., p : m.shape[-2] - p, p : m.shape[-1] - p]


def _downsample(xp: Any, x: Any, how: str) -> Any:
    """Halve ``(H, W)`` by 2 x 2 means, odd sizes handled as the convention's library does."""
    h, w = x.shape[-2], x.shape[-1]
    if how == "zero_front":  # avg_pool2d(padding=1) on odd sides: a zero row in front counted
        if h % 2:
            x = xp.concat([xp.zeros_like(x[..., :1, :]), x], axis=-2)
        if w % 2:
            x = xp.concat([xp.zeros_like(x[..., :1]), x], axis=-1)
    elif how == "symmetric_end":  # tf.pad(mode='SYMMETRIC') at the end: the last row repeated
        if h % 2:
            x = xp.concat([x, x[..., h - 1 :, :]], axis=-2)
        if w % 2:
            x = xp.concat([x, x[..., w - 1 :]], axis=-1)
    h2, w2 = x.shape[-2] // 2, x.shape[-1] // 2  # "floor": an odd last row dropped
    x = x[..., : 2 * h2, : 2 * w2]
    blocks = xp.reshape(x, (*x.shape[:-2], h2, 2, w2, 2))  # a free reshape: no strided copies
    return xp.mean(blocks, axis=(-3, -1))


def _half_size(n: int, how: str) -> int:
    return (n + n % 2) // 2 if how != "floor" else n // 2


def _prepare(
    loss: str,
    input: Any,
    target: Any,
    data_range: Any,
    channel_axis: Any,
    reduction: Any,
    denominator: Any,
) -> tuple[Any, Any, Any, float, str, Any]:
    reduction = check_reduction(reduction, ("none", "mean", "sum"))
    denominator = check_denominator(denominator, reduction, loss=loss)
    data_range = check_real(
        data_range,
        "data_range",
        loss=loss,
        low=0.0,
        strict=True,
        finite=True,
        what="the images' value range L: 1.0 for [0, 1], 255.0 for [0, 255]",
    )
    if channel_axis not in (1, -1, 3, -3):
        raise ValueError(
            f"{loss}: channel_axis must be 1 (N, C, H, W) or -1 (N, H, W, C); got {channel_axis!r}"
        )
    xp, input, target = setup(input, target=target)
    input, target = promote_floats(xp, input, target)
    if input.ndim != 4:
        layout = "(N, C, H, W)" if channel_axis in (1, -3) else "(N, H, W, C)"
        raise ValueError(
            f"{loss}: input must have shape {layout}, a batch of images; got shape "
            f"{shape_str(input.shape)}"
        )
    check_same_shape(input, target, "input", "target")
    if channel_axis in (-1, 3):
        input = xp.permute_dims(input, (0, 3, 1, 2))
        target = xp.permute_dims(target, (0, 3, 1, 2))
    return xp, input, target, data_range, reduction, denominator


def _check_size(loss: str, shape: tuple[Any, ...], conv: _Convention, what: str) -> None:
    h, w = shape[-2], shape[-1]
    k = conv.window_size
    assert k is not None
    if h is None or w is None:
        return
    small = (h <= k // 2 or w <= k // 2) if conv.padding == "reflect" else (h < k or w < k)
    if small:
        need = f"> {k // 2} (reflect padding)" if conv.padding == "reflect" else f">= {k}"
        raise ValueError(
            f"{loss}: {what} has height and width {h} x {w}; expected both {need} for the "
            f"{k} x {k} window"
        )


def _image_loss(xp: Any, ssim_map: Any, conv: _Convention) -> Any:
    """The loss of each image, ``(N,)``: ``1 - SSIM`` (mean over channels and pixels), or
    kornia's mean of ``clamp((1 - SSIM) / 2, 0, 1)`` over the map."""
    if conv.dssim:
        d = (1.0 - ssim_map) * 0.5
        d = xp.where(d < 0.0, xp.zeros_like(d), xp.where(d > 1.0, xp.ones_like(d), d))
        return xp.mean(d, axis=(1, 2, 3))
    return 1.0 - xp.mean(_spatial_mean(xp, ssim_map), axis=1)


@half_precision
def ssim_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    convention: Convention = "pytorch_msssim",
    data_range: float = 1.0,
    window: Literal["gaussian", "uniform"] | None = None,
    window_size: int | None = None,
    sigma: float | None = None,
    k1: float | None = None,
    k2: float | None = None,
    sample_covariance: bool | None = None,
    channel_axis: int = 1,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""SSIM loss, :math:`1 - \mathrm{SSIM}`, with a library's window, border and constants.

    Per image :math:`n`, channel :math:`c` and pixel :math:`p` of the SSIM map
    (:mod:`lossbridge.image_quality`'s formula),

    .. math::

        \ell_n = 1 - \frac{1}{C\, |P|} \sum_{c, p} \mathrm{SSIM}_{n c p}

    (kornia: :math:`\ell_n = \frac{1}{C |P|} \sum_{c, p} \mathrm{clip}((1 - \mathrm{SSIM}_{ncp})
    / 2, 0, 1)`). ``convention`` picks the library whose numbers are reproduced:

    ==================  =====================  =========  ====================================
    convention          window                 border     other
    ==================  =====================  =========  ====================================
    ``pytorch_msssim``  Gaussian 11, 1.5       valid      pytorch-msssim 1.0 ``ssim``
    ``tensorflow``      Gaussian 11, 1.5       valid      ``tf.image.ssim``
    ``torchmetrics``    Gaussian, size from    reflect    variances clamped at 0
                        sigma (11 for 1.5)
    ``kornia``          Gaussian 11, 1.5       reflect    ``(1 - SSIM) / 2``, eps 1e-12
    ``skimage``         uniform 7              valid      sample covariance (x 49/48)
    ==================  =====================  =========  ====================================

    Parameters
    ----------
    input, target : array, shape (N, C, H, W)
        Two batches of images (``(N, H, W, C)`` with ``channel_axis=-1``).
    convention : {'pytorch_msssim', 'tensorflow', 'torchmetrics', 'kornia', 'skimage'}
        The library to match; ``docs/image_quality.md`` has each one's number on one pair.
    data_range : float, default 1.0
        The images' value range :math:`L` (``C1 = (k1 L)^2``, ``C2 = (k2 L)^2``), for every
        convention: pytorch-msssim's own default is 255, torchmetrics' the data's range.
    window : {'gaussian', 'uniform'}, optional
        The window's shape (the convention's by default). With ``convention='skimage'``,
        ``'gaussian'`` is its ``gaussian_weights=True`` (11 taps for sigma 1.5 unless
        ``window_size`` is given, as in scikit-image).
    window_size : int, optional
        Odd number of taps per side (the convention's by default: 11, 7 for scikit-image's
        uniform window, ``2 int(3.5 sigma + 0.5) + 1`` for torchmetrics).
    sigma : float, optional
        The Gaussian's standard deviation in pixels (default 1.5).
    k1, k2 : float, optional
        The stabilising constants' factors (default 0.01 and 0.03).
    sample_covariance : bool, optional
        Multiply the variances and the covariance by :math:`m / (m - 1)`, :math:`m` the
        window's number of taps (scikit-image's ``use_sample_covariance``, its default; every
        other convention's is False). scikit-image's recipe for Wang et al.'s numbers is
        ``window='gaussian', sample_covariance=False``.
    channel_axis : {1, -1}, default 1
        Where the channels are: 1 for NCHW, -1 for NHWC (transposed to NCHW first).
    reduction : {'mean', 'sum', 'none'}, default 'mean'
        Over the images: ``'none'`` returns the ``(N,)`` per-image losses.
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed per-image losses by this instead of ``N``
        (:func:`lossbridge.mean_denominator`).

    Returns
    -------
    array
        0-d, or ``(N,)`` for ``'none'``.

    Notes
    -----
    Every convention computes the five local moments with one valid separable correlation
    (:func:`lossbridge._primitives.depthwise_conv2d`); torchmetrics and kornia pad the images by
    half the window first (torch's ``'reflect'``), so that their map keeps the image size and
    its border pixels count in the mean, which changes the value by a few percent on small
    images. scikit-image's default sample covariance multiplies the variances by
    :math:`m / (m - 1)`, :math:`m` the window's number of taps. Inputs in float16/bfloat16
    are computed in float32 (the libraries do the same or refuse them).

    References
    ----------
    Wang, Bovik, Sheikh and Simoncelli, "Image quality assessment: from error visibility to
    structural similarity", IEEE TIP 13(4), 2004. pytorch/pytorch#6934 (SSIM for torch).
    pytorch-msssim 1.0, ``tf.image.ssim`` (TensorFlow 2.21), torchmetrics 1.9, kornia 0.9,
    scikit-image 0.26 ``skimage.metrics.structural_similarity``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.linspace(0.0, 1.0, 2 * 7 * 7).reshape(1, 2, 7, 7)
    >>> y = x**2
    >>> # skimage: uniform 7 x 7 window on a 7 x 7 image, one window per channel
    >>> mx, my = x.mean(axis=(2, 3)), y.mean(axis=(2, 3))
    >>> vx, vy = x.var(axis=(2, 3), ddof=1), y.var(axis=(2, 3), ddof=1)
    >>> cxy = ((x - mx[..., None, None]) * (y - my[..., None, None])).sum(axis=(2, 3)) / 48
    >>> c1, c2 = 0.01**2, 0.03**2
    >>> s = (2 * mx * my + c1) * (2 * cxy + c2) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    >>> bool(np.isclose(lb.ssim_loss(x, y, convention="skimage"), 1 - s.mean()))
    True
    """
    loss = "ssim_loss"
    xp, input, target, data_range, how, denominator = _prepare(
        loss, input, target, data_range, channel_axis, reduction, denominator
    )
    conv = _resolve(
        loss, convention, window, window_size, sigma, k1, k2, sample_covariance=sample_covariance
    )
    _check_size(loss, tuple(input.shape), conv, "input")
    ssim_map, _ = _ssim_terms(xp, input, target, conv, data_range)
    return reduce(xp, _image_loss(xp, ssim_map, conv), how, override=denominator)


@half_precision
def ms_ssim_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    convention: Literal["pytorch_msssim", "tensorflow", "torchmetrics"] = "pytorch_msssim",
    data_range: float = 1.0,
    weights: tuple[float, ...] | list[float] | None = None,
    window: Literal["gaussian", "uniform"] | None = None,
    window_size: int | None = None,
    sigma: float | None = None,
    k1: float | None = None,
    k2: float | None = None,
    channel_axis: int = 1,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Multi-scale SSIM loss, :math:`1 - \mathrm{MS\text{-}SSIM}`, with a library's numbers.

    With :math:`cs_j` the mean contrast-structure factor and :math:`s_j` the mean SSIM of
    scale :math:`j` (the images halved :math:`j` times by 2 x 2 means), per image and channel,

    .. math::

        \mathrm{MS\text{-}SSIM} = \max(s_M, 0)^{w_M} \prod_{j=1}^{M-1} \max(cs_j, 0)^{w_j},
        \qquad \ell_n = 1 - \frac{1}{C} \sum_c \mathrm{MS\text{-}SSIM}_{nc}

    (:math:`M` = ``len(weights)``, default Wang et al.'s five weights). The conventions differ
    in the SSIM window and border (:func:`ssim_loss`) and in how a scale of odd size is halved:

    ==================  =================================================================
    convention          odd height or width at a scale
    ==================  =================================================================
    ``pytorch_msssim``  ``avg_pool2d(padding=1)``: a zero row in front, counted in the mean
    ``tensorflow``      ``tf.pad(mode='SYMMETRIC')``: the last row repeated at the end
    ``torchmetrics``    ``avg_pool2d``: the last row dropped; contrast terms without the
                        padded border, the last scale's SSIM with it; each scale's term
                        averaged over the channels before the power (the others take the
                        power per channel and average the products)
    ==================  =================================================================

    Parameters
    ----------
    input, target : array, shape (N, C, H, W)
        Two batches of images, large enough for the window at the smallest scale (e.g.
        ``> 160`` pixels a side for 11 taps and 5 scales with pytorch-msssim's own check; here
        the window must fit the last scale).
    convention : {'pytorch_msssim', 'tensorflow', 'torchmetrics'}
    data_range : float, default 1.0
        The images' value range :math:`L`.
    weights : sequence of float, optional
        The exponents :math:`w_j`, one per scale (pytorch-msssim's ``weights``, TensorFlow's
        ``power_factors``, torchmetrics' ``betas``).
    window, window_size, sigma, k1, k2, channel_axis
        As in :func:`ssim_loss`.
    reduction : {'mean', 'sum', 'none'}, default 'mean'
        Over the images: ``'none'`` returns the ``(N,)`` per-image losses.
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed per-image losses by this instead of ``N``.

    Returns
    -------
    array
        0-d, or ``(N,)`` for ``'none'``.

    Notes
    -----
    The rectifications :math:`\max(\cdot, 0)` are all three libraries' (torchmetrics'
    ``normalize='relu'``, its MS-SSIM default): without them a negative :math:`cs_j` to a
    fractional power is NaN. At :math:`cs_j = 0` the gradient of :math:`cs_j^{w_j}` is
    infinite, as in the libraries.

    References
    ----------
    Wang, Simoncelli and Bovik, "Multiscale structural similarity for image quality
    assessment", Asilomar 2003. pytorch-msssim 1.0 ``ms_ssim``, ``tf.image.ssim_multiscale``
    (TensorFlow 2.21), torchmetrics 1.9 ``multiscale_structural_similarity_index_measure``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.linspace(0.0, 1.0, 2 * 12 * 12).reshape(1, 2, 12, 12)
    >>> # one scale with weight 1 is SSIM itself
    >>> one = lb.ms_ssim_loss(x, x**2, weights=[1.0], window_size=3)
    >>> bool(np.isclose(one, lb.ssim_loss(x, x**2, window_size=3)))
    True
    """
    loss = "ms_ssim_loss"
    xp, input, target, data_range, how, denominator = _prepare(
        loss, input, target, data_range, channel_axis, reduction, denominator
    )
    conv = _resolve(loss, convention, window, window_size, sigma, k1, k2, multiscale=True)
    weights = _check_weights(loss, weights)
    assert conv.downsample is not None
    h, w = input.shape[-2], input.shape[-1]
    for _ in range(len(weights) - 1):
        if h is not None and w is not None:
            h, w = _half_size(h, conv.downsample), _half_size(w, conv.downsample)
    _check_size(
        loss, (h, w), conv, f"the scale {len(weights)} image (input {shape_str(input.shape)})"
    )
    pad = conv.window_size // 2 if conv.crop_cs else 0  # type: ignore[operator]
    x, y = input, target
    factors = []
    for j, wj in enumerate(weights):
        if j > 0:
            x, y = _downsample(xp, x, conv.downsample), _downsample(xp, y, conv.downsample)
        ssim_map, cs_map = _ssim_terms(xp, x, y, conv, data_range)
        last = j == len(weights) - 1
        term = _spatial_mean(xp, ssim_map if last else _crop(cs_map, pad))
        if conv.image_means:  # torchmetrics: one term per image, (N, 1)
            term = xp.mean(term, axis=1, keepdims=True)
        factors.append(_relu(xp, term) ** wj)
    ms = factors[0]
    for f in factors[1:]:
        ms = ms * f
    return reduce(xp, 1.0 - xp.mean(ms, axis=1), how, override=denominator)


def _relu(xp: Any, v: Any) -> Any:
    """``max(v, 0)``, NaN kept."""
    return xp.where(v < 0.0, xp.zeros_like(v), v)


def _check_weights(loss: str, weights: Any) -> tuple[float, ...]:
    if weights is None:
        return MS_SSIM_WEIGHTS
    if isinstance(weights, (str, bytes)) or not hasattr(weights, "__len__") or not len(weights):
        raise ValueError(
            f"{loss}: weights must be a non-empty sequence of numbers >= 0, one per scale; got "
            f"{weights!r}"
        )
    return tuple(
        check_real(v, f"weights[{i}]", loss=loss, low=0.0, finite=True)
        for i, v in enumerate(weights)
    )
