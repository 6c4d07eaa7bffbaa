r"""Additive angular and cosine margin softmax losses for face recognition.

``arcface_loss`` (additive angular margin, InsightFace), ``cosface_loss`` (large margin cosine)
and ``magface_loss`` (magnitude-aware angular margin), written once against the array API.

Each turns the cosine :math:`\cos\theta_{n,j}` between sample ``n`` and class ``j`` into
logits, moves the target class's logit by a margin, scales by ``scale`` and takes the
cross-entropy over classes with :func:`lossbridge.classification.cross_entropy`, so the softmax
part is the library's one stable implementation (max shift with its gradient stopped, label
logit taken from the original logits).

The cosines come from embeddings ``input`` (N, D) and class weights ``weight`` (C, D), both
L2-normalised as ``torch.nn.functional.normalize`` does (``x / max(||x||, 1e-12)``), or, for
ArcFace and CosFace without ``weight``, are the ``input`` itself. They are clamped to
[-1, 1] (rounding can push a normalised dot product past 1) with the gradient passed at the
boundary, as ``torch.clamp`` does.
"""

from __future__ import annotations

import math
from typing import Any

from lossbridge._inputs import promote_floats, setup
from lossbridge._precision import half_precision
from lossbridge._primitives import clamp
from lossbridge._reduction import reduce
from lossbridge._typing import ArrayLike, ArrayT, Reduction
from lossbridge._validation import (
    check_class_indices,
    check_denominator,
    check_floating,
    check_integer,
    check_range,
    check_real,
    check_reduction,
    shape_str,
)
from lossbridge.backends import get_namespace, take_along_axis
from lossbridge.classification import cross_entropy

__all__ = ["arcface_loss", "cosface_loss", "magface_loss"]

#: ``torch.nn.functional.normalize``'s default eps.
_NORMALIZE_EPS = 1e-12
#: How far outside [-1, 1] given cosine logits may lie (about one float16 ulp at 1; rounding of
#: a cosine computed in low precision). They are clamped to [-1, 1].
_COSINE_SLACK = 1e-3


# ------------------------------------------------------------------------------------------
# Argument checks
# ------------------------------------------------------------------------------------------


def _angle_margin(value: Any, name: str, loss: str) -> float:
    """An angular margin in radians, in ``[0, pi)`` (pytorch-metric-learning takes degrees)."""
    what = "an angle in radians in [0, pi); for degrees, pass math.radians(...)"
    value = check_real(value, name, loss=loss, what=what, low=0.0)
    if not value < math.pi:
        raise ValueError(f"{loss}: {name} must be < pi ({what}); got {value!r}")
    return value


def _flag(value: Any, name: str, loss: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{loss}: {name} must be True or False; got {value!r}")
    return value


# ------------------------------------------------------------------------------------------
# Shared computation
# ------------------------------------------------------------------------------------------


def _safe_norm(xp: Any, x: Any) -> Any:
    """L2 norm over the last axis (kept), gradient 0 (torch's) instead of NaN at 0."""
    s = xp.sum(x * x, axis=-1, keepdims=True)
    pos = s > 0
    return xp.where(pos, xp.sqrt(xp.where(pos, s, xp.ones_like(s))), xp.zeros_like(s))


def _normalize(xp: Any, x: Any) -> Any:
    """``torch.nn.functional.normalize(x, dim=-1)``: ``x / clamp_min(||x||, 1e-12)``."""
    n = _safe_norm(xp, x)
    return x / xp.where(n >= _NORMALIZE_EPS, n, xp.full_like(n, _NORMALIZE_EPS))


def _cosines(input: Any, target: Any, weight: Any, loss: str) -> tuple[Any, Any, Any, Any, Any]:
    """Validated ``(xp, cos (N, C) clamped to [-1, 1], target, input, weight)``."""
    xp, input, target, weight = setup(input, target=target, weight=weight)
    if input.ndim != 2:
        expected = "embeddings (N, D)" if weight is not None else "cosine logits (N, C)"
        raise ValueError(f"{loss}: input has shape {shape_str(input.shape)}; expected {expected}")
    if weight is not None:
        check_floating(xp, weight, "weight")
        if weight.ndim != 2 or weight.shape[1] != input.shape[1]:
            raise ValueError(
                f"{loss}: weight has shape {shape_str(weight.shape)} but input has shape "
                f"{shape_str(input.shape)}; expected class weights of shape "
                f"(C, {input.shape[1]}), one row per class in the embeddings' dimension"
            )
        input, weight = promote_floats(xp, input, weight)
        n_classes = weight.shape[0]
    else:
        n_classes = input.shape[1]
    n = input.shape[0]
    if target.ndim != 1 or (n is not None and target.shape[0] is not None and target.shape[0] != n):
        raise ValueError(
            f"{loss}: target has shape {shape_str(target.shape)} but input has shape "
            f"{shape_str(input.shape)}; expected class indices of shape ({n},)"
        )
    check_integer(xp, target, "target", f"class indices for {loss}")
    check_class_indices(xp, target, n_classes, None)
    if weight is None:
        check_range(
            xp,
            input,
            "input",
            -1.0 - _COSINE_SLACK,
            1.0 + _COSINE_SLACK,
            what=f"cosine similarities (up to {_COSINE_SLACK} outside [-1, 1] is clamped)",
        )
        cos = input
    else:
        cos = xp.matmul(_normalize(xp, input), xp.matrix_transpose(_normalize(xp, weight)))
    return xp, clamp(xp, cos, -1.0, 1.0), target, input, weight


def _target_column(xp: Any, cos: Any, target: Any) -> Any:
    """``cos[n, target[n]]``, shape (N,)."""
    return xp.squeeze(take_along_axis(xp, cos, xp.expand_dims(target, axis=1), 1), axis=1)


def _with_target(xp: Any, cos: Any, target: Any, value: Any) -> Any:
    """``cos`` with ``cos[n, target[n]]`` replaced by ``value[n]`` (gradients to both)."""
    _, device = get_namespace(cos)
    n_classes = cos.shape[1]
    if device is None:
        classes = xp.arange(n_classes, dtype=target.dtype)
    else:
        classes = xp.arange(n_classes, dtype=target.dtype, device=device)
    mask = xp.expand_dims(target, axis=1) == xp.expand_dims(classes, axis=0)
    return xp.where(mask, xp.expand_dims(value, axis=1), cos)


def _sine(xp: Any, c: Any) -> Any:
    r""":math:`\sqrt{1 - c^2}` for :math:`c \in [-1, 1]`, gradient 0 (not inf) at :math:`\pm 1`."""
    s2 = 1.0 - c * c
    pos = s2 > 0
    return xp.where(pos, xp.sqrt(xp.where(pos, s2, xp.ones_like(s2))), xp.zeros_like(s2))


def _angular_target(xp: Any, c: Any, cos_m: Any, sin_m: Any, mm: Any, easy_margin: bool) -> Any:
    r"""InsightFace's target logit :math:`\cos(\theta + m)` with its guard.

    ``easy_margin``: :math:`\cos(\theta + m)` where :math:`\cos\theta > 0`, else
    :math:`\cos\theta`. Otherwise :math:`\cos(\theta + m)` where
    :math:`\cos\theta > \cos(\pi - m) = -\cos m` (that is :math:`\theta + m < \pi`), else
    :math:`\cos\theta - m \sin m` (``mm``).
    """
    phi = c * cos_m - _sine(xp, c) * sin_m
    if easy_margin:
        return xp.where(c > 0, phi, c)
    return xp.where(c > -cos_m, phi, c - mm)


# ------------------------------------------------------------------------------------------
# Losses
# ------------------------------------------------------------------------------------------


@half_precision
def arcface_loss(
    input: ArrayT,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    *,
    scale: float = 64.0,
    margin: float = 0.5,
    easy_margin: bool = False,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""ArcFace: softmax cross-entropy with an additive angular margin on the target class.

    With :math:`\cos\theta_{n,j}` the cosine between sample :math:`n` and class :math:`j`,
    :math:`s` = ``scale`` and :math:`m` = ``margin`` (radians):

    .. math::

        \ell_n = -\log \frac{e^{s\,\psi(\theta_{n,y_n})}}
                 {e^{s\,\psi(\theta_{n,y_n})} + \sum_{j \ne y_n} e^{s \cos\theta_{n,j}}},
        \qquad
        \psi(\theta) = \begin{cases}
            \cos(\theta + m) & \theta + m < \pi \\
            \cos\theta - m \sin m & \text{otherwise}
        \end{cases}

    where :math:`\cos(\theta + m) = \cos\theta\cos m - \sin\theta\sin m` with
    :math:`\sin\theta = \sqrt{1 - \cos^2\theta}` (InsightFace's ``arcface_torch`` ``ArcFace``;
    the second branch keeps the target logit decreasing in :math:`\theta` past
    :math:`\pi - m`). With ``easy_margin=True``:
    :math:`\psi = \cos(\theta + m)` where :math:`\cos\theta > 0`, else :math:`\cos\theta`.

    Parameters
    ----------
    input : array, shape (N, D) or (N, C)
        Embeddings (N, D) when ``weight`` is given; otherwise cosine logits (N, C) in
        [-1, 1] (values up to 1e-3 outside, rounding, are clamped; further out is an error
        on concrete arrays).
    target : integer array, shape (N,)
        Class indices in [0, C).
    weight : array, shape (C, D), optional
        Class centres; rows and embeddings are L2-normalised
        (:math:`x / \max(\lVert x \rVert, 10^{-12})`, ``torch.nn.functional.normalize``) and
        :math:`\cos\theta = \hat x \hat W^\top`.
    scale : float, default 64.0
        :math:`s > 0`, the radius of the hypersphere the logits live on.
    margin : float, default 0.5
        :math:`m \in [0, \pi)`, in radians.
    easy_margin : bool, default False
    reduction : {'mean', 'sum', 'none'}
        As ``torch.nn.functional.cross_entropy``: ``'mean'`` over the N samples (NaN for an
        empty batch).
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of samples N. Pass the count summed over shards (:func:`lossbridge.mean_denominator`)
        and the shards' losses add up to the full batch's mean.

    Returns
    -------
    array
        Scalar, or the per-sample loss (N,) with ``reduction='none'``.

    Notes
    -----
    Follows InsightFace (``recognition/arcface_torch/losses.py``, ``ArcFace``, and the
    widely copied ``ArcMarginProduct``): threshold :math:`\cos(\pi - m)`, fallback
    :math:`\cos\theta - \sin(\pi - m)\,m`. The fallback is not continuous at
    :math:`\theta = \pi - m` (:math:`-1` against :math:`-\cos m - m\sin m`, -1.117 for
    :math:`m = 0.5`), as in InsightFace. pytorch-metric-learning's ``ArcFaceLoss`` (2.9) uses
    the same fallback (as ``angle <= pi - m``), but takes the margin in **degrees** (default
    28.6, about 0.5 rad), stores its weight as (D, C) (this ``weight`` transposed) and computes
    :math:`\theta = \arccos` of the clamped cosine; its numbers equal these for
    ``margin=np.degrees(m)``. InsightFace's ``ArcFace`` defaults are :math:`s = 64`,
    :math:`m = 0.5`.

    At :math:`\cos\theta = \pm 1` the derivative of :math:`\sin\theta` is infinite
    (InsightFace's gradient is inf at +1 and NaN at -1); here that term's gradient is 0, so
    the gradient stays finite.

    References
    ----------
    Deng, Guo, Xue and Zafeiriou, "ArcFace: Additive Angular Margin Loss for Deep Face
    Recognition", CVPR 2019, arXiv:1801.07698.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> cos = np.array([[0.6, 0.8]])  # cosine logits of one sample, two classes
    >>> loss = lb.arcface_loss(cos, np.array([0]), scale=2.0, margin=0.5)
    >>> t = 2.0 * np.cos(np.arccos(0.6) + 0.5)  # the target logit s cos(theta + m)
    >>> bool(np.isclose(loss, np.log(np.exp(t) + np.exp(2.0 * 0.8)) - t))
    True
    """
    loss = "arcface_loss"
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss="arcface_loss")
    scale = check_real(scale, "scale", loss=loss, finite=True, low=0.0, strict=True)
    margin = _angle_margin(margin, "margin", loss)
    easy_margin = _flag(easy_margin, "easy_margin", loss)
    xp, cos, target, _, _ = _cosines(input, target, weight, loss)
    c = _target_column(xp, cos, target)
    cos_m, sin_m = math.cos(margin), math.sin(margin)
    psi = _angular_target(xp, c, cos_m, sin_m, math.sin(math.pi - margin) * margin, easy_margin)
    logits = scale * _with_target(xp, cos, target, psi)
    return cross_entropy(logits, target, reduction=reduction, denominator=over)


@half_precision
def cosface_loss(
    input: ArrayT,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    *,
    scale: float = 64.0,
    margin: float = 0.35,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""CosFace (large margin cosine loss): softmax cross-entropy on :math:`s(\cos\theta - m)`.

    .. math::

        \ell_n = -\log \frac{e^{s(\cos\theta_{n,y_n} - m)}}
                 {e^{s(\cos\theta_{n,y_n} - m)} + \sum_{j \ne y_n} e^{s \cos\theta_{n,j}}}

    Parameters
    ----------
    input : array, shape (N, D) or (N, C)
        Embeddings (N, D) when ``weight`` is given; otherwise cosine logits (N, C) in
        [-1, 1] (values up to 1e-3 outside are clamped; further out is an error on concrete
        arrays).
    target : integer array, shape (N,)
        Class indices in [0, C).
    weight : array, shape (C, D), optional
        Class centres; rows and embeddings are L2-normalised as in :func:`arcface_loss`.
    scale : float, default 64.0
        :math:`s > 0`.
    margin : float, default 0.35
        :math:`m`, a cosine margin (any finite real; the paper uses 0.35).
    reduction : {'mean', 'sum', 'none'}
        As ``torch.nn.functional.cross_entropy``.
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of samples N. Pass the count summed over shards (:func:`lossbridge.mean_denominator`)
        and the shards' losses add up to the full batch's mean.

    Returns
    -------
    array
        Scalar, or the per-sample loss (N,) with ``reduction='none'``.

    Notes
    -----
    The defaults (:math:`s = 64`, :math:`m = 0.35`) are the paper's and
    pytorch-metric-learning's ``CosFaceLoss`` (2.9), which takes embeddings and a (D, C)
    weight (this ``weight`` transposed) and gives the same numbers. InsightFace's
    ``arcface_torch`` ``CosFace`` defaults to :math:`m = 0.4`.

    References
    ----------
    Wang, Wang, Zhou, Ji, Gong, Zhou, Li and Liu, "CosFace: Large Margin Cosine Loss for Deep
    Face Recognition", CVPR 2018, arXiv:1801.09414.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> cos = np.array([[0.6, 0.8]])  # cosine logits of one sample, two classes
    >>> loss = lb.cosface_loss(cos, np.array([0]), scale=2.0, margin=0.35)
    >>> t = 2.0 * (0.6 - 0.35)  # the target logit s (cos(theta) - m)
    >>> bool(np.isclose(loss, np.log(np.exp(t) + np.exp(2.0 * 0.8)) - t))
    True
    """
    loss = "cosface_loss"
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss="cosface_loss")
    scale = check_real(scale, "scale", loss=loss, finite=True, low=0.0, strict=True)
    margin = check_real(margin, "margin", loss=loss, finite=True)
    xp, cos, target, _, _ = _cosines(input, target, weight, loss)
    c = _target_column(xp, cos, target)
    logits = scale * _with_target(xp, cos, target, c - margin)
    return cross_entropy(logits, target, reduction=reduction, denominator=over)


@half_precision
def magface_loss(
    input: ArrayT,
    target: ArrayLike,
    weight: ArrayLike,
    *,
    scale: float = 64.0,
    lower_magnitude: float = 10.0,
    upper_magnitude: float = 110.0,
    lower_margin: float = 0.45,
    upper_margin: float = 0.8,
    lambda_g: float = 35.0,
    easy_margin: bool = True,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""MagFace: ArcFace with a margin that grows with the feature magnitude, plus a regulariser.

    With :math:`a_n = \mathrm{clamp}(\lVert x_n \rVert, l_a, u_a)` the clamped magnitude of
    embedding :math:`x_n`, the adaptive margin

    .. math::

        m(a) = \frac{u_m - l_m}{u_a - l_a} (a - l_a) + l_m,

    the ArcFace logits of :func:`arcface_loss` with margin :math:`m(a_n)` for sample :math:`n`,
    and the magnitude regulariser :math:`g(a) = 1/a + a/u_a^2`:

    .. math::

        \ell_n = \mathrm{CE}_n + \lambda_g\, g(a_n),
        \qquad
        \text{mean} = \frac{1}{N}\sum_n \ell_n = \mathrm{mean}_n\,\mathrm{CE}_n
                      + \lambda_g\, \mathrm{mean}_n\, g(a_n)

    The target logit is :math:`\cos(\theta + m(a))` where :math:`\cos\theta > 0`, else
    :math:`\cos\theta` (``easy_margin=True``, MagFace's default), or with
    ``easy_margin=False`` :math:`\cos(\theta + m(a))` where :math:`\theta + m(a) < \pi`, else
    :math:`\cos\theta - m(a)\sin m(a)`.

    Parameters
    ----------
    input : array, shape (N, D)
        Embeddings, not normalised: their norms are the magnitudes.
    target : integer array, shape (N,)
        Class indices in [0, C).
    weight : array, shape (C, D)
        Class centres (normalised per row). Required.
    scale : float, default 64.0
        :math:`s > 0`.
    lower_magnitude, upper_magnitude : float, default 10.0, 110.0
        :math:`0 < l_a < u_a`, the magnitude range.
    lower_margin, upper_margin : float, default 0.45, 0.8
        :math:`l_m, u_m \in [0, \pi)`, the margins (radians) at :math:`l_a` and :math:`u_a`.
    lambda_g : float, default 35.0
        :math:`\lambda_g`, the weight of :math:`g`.
    easy_margin : bool, default True
    reduction : {'mean', 'sum', 'none'}
        ``'none'`` gives :math:`\mathrm{CE}_n + \lambda_g g(a_n)` per sample, ``'sum'`` their
        sum, ``'mean'`` their mean (NaN for an empty batch).
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of samples N. Pass the count summed over shards (:func:`lossbridge.mean_denominator`)
        and the shards' losses add up to the full batch's mean.

    Returns
    -------
    array
        Scalar, or the per-sample loss (N,) with ``reduction='none'``.

    Notes
    -----
    Follows the reference implementation, ``IrvingMeng/MagFace`` ``models/magface.py``
    (``MagLinear``, ``MagLoss``, ``SoftmaxBuilder._margin``) and ``run/trainer.py``
    (``loss = loss_id + lambda_g * loss_g`` with ``loss_g = mean(x_norm / u_a**2 + 1 / x_norm)``
    and ``loss_id`` the mean cross-entropy). The defaults are that repository's training
    script (``run/run.sh``: ``l_a=10, u_a=110, l_margin=0.45, u_margin=0.8, lambda_g=35``,
    ``--arc-scale 64``); ``trainer.py``'s own argparse default is ``lambda_g=20``. The
    gradient flows through the magnitude into both the margin and :math:`g` (nothing is
    detached there), and is 0 w.r.t. the magnitude where it is clamped (``torch.clamp``).
    The magnitude is :math:`\lVert x \rVert` (``torch.norm``, no eps) and the cosine uses
    ``F.normalize`` (eps :math:`10^{-12}`); the cosines are clamped to [-1, 1], as there. A
    zero embedding has magnitude clamped to :math:`l_a` and cosine 0 with every class.
    MagFace's threshold and fallback are written :math:`\cos(\pi - m)` and
    :math:`\sin(\pi - m)\,m`; here :math:`-\cos m` and :math:`m \sin m` (equal). Not in
    pytorch-metric-learning.

    References
    ----------
    Meng, Zhao, Huang and Hu, "MagFace: A Universal Representation for Face Recognition and
    Quality Assessment", CVPR 2021, arXiv:2103.06627.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([[12.0, 16.0]])  # magnitude 20, cosines 0.6 and 0.8 with w's rows
    >>> w = np.array([[1.0, 0.0], [0.0, 1.0]])
    >>> loss = lb.magface_loss(x, np.array([0]), w, scale=2.0)
    >>> m = (0.8 - 0.45) / (110 - 10) * (20 - 10) + 0.45  # the margin at magnitude 20
    >>> t = 2.0 * np.cos(np.arccos(0.6) + m)
    >>> ce = np.log(np.exp(t) + np.exp(2.0 * 0.8)) - t
    >>> bool(np.isclose(loss, ce + 35.0 * (1 / 20 + 20 / 110**2)))
    True
    """
    loss = "magface_loss"
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss="magface_loss")
    if weight is None:
        raise TypeError(
            f"{loss}: weight (class centres of shape (C, D)) is required: the margin depends "
            "on the embeddings' magnitudes, so input must be unnormalised embeddings"
        )
    scale = check_real(scale, "scale", loss=loss, finite=True, low=0.0, strict=True)
    l_a = check_real(
        lower_magnitude, "lower_magnitude", loss=loss, finite=True, low=0.0, strict=True
    )
    u_a = check_real(upper_magnitude, "upper_magnitude", loss=loss, finite=True)
    if not u_a > l_a:
        raise ValueError(
            f"{loss}: upper_magnitude must be greater than lower_magnitude; got "
            f"upper_magnitude={upper_magnitude!r}, lower_magnitude={lower_magnitude!r}"
        )
    l_m = _angle_margin(lower_margin, "lower_margin", loss)
    u_m = _angle_margin(upper_margin, "upper_margin", loss)
    lambda_g = check_real(lambda_g, "lambda_g", loss=loss, finite=True)
    easy_margin = _flag(easy_margin, "easy_margin", loss)
    xp, cos, target, input, _ = _cosines(input, target, weight, loss)
    a = clamp(xp, xp.squeeze(_safe_norm(xp, input), axis=1), l_a, u_a)
    m = (u_m - l_m) / (u_a - l_a) * (a - l_a) + l_m
    cos_m, sin_m = xp.cos(m), xp.sin(m)
    c = _target_column(xp, cos, target)
    psi = _angular_target(xp, c, cos_m, sin_m, m * sin_m, easy_margin)
    logits = scale * _with_target(xp, cos, target, psi)
    ce = cross_entropy(logits, target, reduction="none")
    g = 1.0 / a + a / (u_a * u_a)
    return reduce(xp, ce + lambda_g * g, reduction, override=over)
