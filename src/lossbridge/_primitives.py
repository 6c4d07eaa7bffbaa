"""Numerically stable building blocks, written once against the array API.

Each is written so that its value and its gradient are the same on every backend. That rules out
``maximum``/``minimum``/``abs`` at ties (frameworks split or pick the gradient differently at
``x == 0``) and ``where`` over a branch that overflows (its gradient is ``0 * inf = nan``); the
forms below use ``where`` on branches that are finite everywhere.

Fused kernels: where a framework has one native kernel with the same value and gradient
convention (``F.log_softmax``, ``F.logsigmoid``, ``F.huber_loss``, ``tf.nn.log_softmax``,
``tf.math.squared_difference``, ...), :func:`lossbridge.backends.fused` returns it and
the primitive calls it instead of the generic form (see ``docs/performance.md`` for what each
saves). The generic form stays the definition: NumPy, array-api-strict, dask and every other
namespace compute it, and the conformance suite checks that the two agree, gradients included.
"""

from __future__ import annotations

from typing import Any

from lossbridge.backends import fused, stop_gradient, take_along_axis


def neg_abs(xp: Any, x: Any) -> Any:
    """``-|x|`` with the gradient ``-1`` at ``x == 0`` on every backend."""
    return xp.where(x >= 0, -x, x)


def log_sigmoid(xp: Any, x: Any) -> Any:
    r"""Stable :math:`\log \sigma(x) = \min(x, 0) - \log(1 + e^{-|x|})`.

    Exact for large ``|x|`` (no overflow), gradient :math:`1 - \sigma(x)` everywhere.
    """
    fast = fused(xp, "log_sigmoid")
    if fast is not None:
        return fast(x)
    return xp.where(x >= 0, xp.zeros_like(x), x) - xp.log1p(xp.exp(neg_abs(xp, x)))


def softplus(xp: Any, x: Any) -> Any:
    r"""Stable :math:`\log(1 + e^{x}) = \max(x, 0) + \log(1 + e^{-|x|})`."""
    fast = fused(xp, "softplus")
    if fast is not None:
        return fast(x)
    return xp.where(x >= 0, x, xp.zeros_like(x)) + xp.log1p(xp.exp(neg_abs(xp, x)))


def xlogy(xp: Any, x: Any, y: Any) -> Any:
    r""":math:`x \log y` with the value 0 where ``x == 0`` (NaN in ``y`` still propagates).

    Matches ``torch.xlogy`` / ``scipy.special.xlogy``, gradients included where torch's are
    finite (``d/dx = log y``, also at ``x == 0``; ``d/dy = x / y``); the gradient is finite
    where ``x == 0``. No framework kernel has this convention, so every backend computes
    the guarded form: ``torch.special.xlogy`` has a NaN ``d/dy`` at ``x = y = 0``, and
    TensorFlow's ``tf.math.xlogy`` gives 0 for ``xlogy(0, nan)`` and ``d/dx = 0`` at ``x == 0``.
    """
    # Only where x == 0 and log(y) is not finite (y <= 0 or y == inf) would x * log(y) be nan:
    # y = 1 there gives the value 0 and zero gradients. Elsewhere x * log(y) is exact (0 at
    # x == 0) and a NaN y stays NaN.
    fix = xp.logical_and(x == 0, xp.logical_or(y <= 0, xp.isinf(y)))
    return x * xp.log(xp.where(fix, xp.ones_like(y), y))


def xlogx(xp: Any, x: Any) -> Any:
    r""":math:`x \log x` with 0 at ``x == 0``: :func:`xlogy` of ``(x, x)``, values and gradients.

    TensorFlow's ``tf.math.xlogy(x, x)`` has exactly this convention when both arguments are
    one array (value and gradient 0 at 0, ``log x + 1`` elsewhere, NaN and inf kept; its
    ``xlogy(0, nan) = 0`` cannot arise), so it runs as that one kernel there; torch's kernel has
    a NaN gradient at 0 and every other backend takes the guarded form.
    """
    fast = fused(xp, "xlogx")
    if fast is not None:
        return fast(x)
    return xlogy(xp, x, x)


def max_shift(xp: Any, x: Any, axis: int) -> Any:
    """The max along ``axis`` (kept), gradient stopped, 0 where it is not finite."""
    m = stop_gradient(xp.max(x, axis=axis, keepdims=True))
    return xp.where(xp.isfinite(m), m, xp.zeros_like(m))


def softmax_shift(xp: Any, x: Any, axis: int) -> Any:
    """:func:`max_shift` for (log-)softmax: the max kept where it is ``+inf``.

    A row holding ``+inf`` then gives NaN (``inf - inf``), as torch's ``log_softmax`` and
    ``cross_entropy`` do, where shifting by 0 would give ``+inf`` or ``-inf``; rows whose max is
    ``-inf`` (or NaN) are shifted by 0 as in :func:`max_shift`.
    """
    m = stop_gradient(xp.max(x, axis=axis, keepdims=True))
    return xp.where(m > -xp.inf, m, xp.zeros_like(m))


def shifted_logits(xp: Any, x: Any, axis: int) -> tuple[Any, Any]:
    """``(x - m, log(sum(exp(x - m))))`` along ``axis`` with ``m`` the max, gradient stopped.

    ``m`` is a constant for autodiff (``logsumexp`` does not depend on it), which halves the
    backward cost: without it, XLA differentiates through the max. Rows whose max is not finite
    are shifted by 0, so a row of ``-inf`` gives ``-inf`` like ``torch.logsumexp``.

    Returns
    -------
    shifted : array
        ``x - m``, the shape of ``x``.
    log_sum : array
        ``log(sum(exp(x - m), axis, keepdims=True))``, so ``logsumexp(x) = log_sum + m`` and
        ``log_softmax(x) = shifted - log_sum``.
    """
    shifted = x - softmax_shift(xp, x, axis)
    return shifted, xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


def logsumexp(xp: Any, x: Any, axis: int, keepdims: bool = False) -> Any:
    r"""Stable :math:`\log \sum_i e^{x_i}` along ``axis``."""
    fast = fused(xp, "logsumexp")
    if fast is not None:
        return fast(x, axis, keepdims)
    m = max_shift(xp, x, axis)
    out = xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else xp.squeeze(out, axis=axis)


def log_softmax(xp: Any, x: Any, axis: int) -> Any:
    r"""Stable :math:`x_i - \log \sum_j e^{x_j}` along ``axis``."""
    fast = fused(xp, "log_softmax")
    if fast is not None:
        return fast(x, axis)
    shifted, log_sum = shifted_logits(xp, x, axis)
    return shifted - log_sum


def abs0(xp: Any, x: Any) -> Any:
    """``|x|`` whose gradient is ``sign(x)``, 0 at ``x == 0``, on every backend.

    ``xp.abs`` alone has gradient 1 at 0 in JAX but 0 in torch and TensorFlow; ``x * sign(x)``
    has torch's gradient everywhere (``sign`` has zero gradient). torch's and TensorFlow's
    native ``abs`` already have that gradient, JAX gets a ``custom_jvp`` (:func:`fused`).
    """
    fast = fused(xp, "abs0")
    if fast is not None:
        return fast(x)
    return x * xp.sign(x)


def neg_picked(xp: Any, x: Any, target: Any, axis: int) -> Any:
    """``-x`` at the index ``target`` along ``axis`` (removed): the NLL of in-range classes.

    ``axis`` is the class axis (1, or 0 for 1-D ``x``); ``target`` has ``x``'s shape without it.
    """
    fast = fused(xp, "neg_picked")
    if fast is not None:
        return fast(x, target, axis)
    idx = xp.expand_dims(target, axis=axis)
    return -xp.squeeze(take_along_axis(xp, x, idx, axis), axis=axis)


def squared_error(xp: Any, a: Any, b: Any) -> Any:
    """``(a - b)**2`` elementwise (same shapes)."""
    fast = fused(xp, "squared_error")
    if fast is not None:
        return fast(a, b)
    d = a - b
    return d * d


def abs_error(xp: Any, a: Any, b: Any) -> Any:
    """``|a - b|`` elementwise (same shapes), gradient ``sign(a - b)``: 0 at ``a == b``."""
    fast = fused(xp, "abs_error")
    if fast is not None:
        return fast(a, b)
    return abs0(xp, a - b)


def huber(xp: Any, a: Any, b: Any, delta: float) -> Any:
    r"""Elementwise Huber of :math:`d = a - b`: :math:`d^2/2` if :math:`|d| < \delta`, else
    :math:`\delta (|d| - \delta/2)` (same shapes).

    Written :math:`q (|d| - q/2)` with :math:`q = \min(|d|, \delta)`: no ``where`` (slow in
    torch), and the tie :math:`|d| = \delta` is harmless, because both branches' derivatives
    agree there (the total derivative does not depend on how ``clip`` splits it).
    """
    fast = fused(xp, "huber")
    if fast is not None:
        return fast(a, b, delta)
    a = abs0(xp, a - b)
    q = xp.clip(a, None, delta)
    return q * (a - 0.5 * q)


def bce_with_logits(xp: Any, x: Any, t: Any, pos_weight: Any = None) -> Any:
    r"""Elementwise :math:`(1 - t) x - (1 + (p - 1) t) \log\sigma(x)`, stable for any ``x``."""
    fast = fused(xp, "bce_with_logits")
    if fast is not None:
        return fast(x, t, pos_weight)
    ls = log_sigmoid(xp, x)
    if pos_weight is None:
        return (1.0 - t) * x - ls
    return (1.0 - t) * x - ((pos_weight - 1.0) * t + 1.0) * ls


def max_split(xp: Any, x: Any, axis: int) -> Any:
    """The max along ``axis`` (kept), its gradient split evenly between tied maxima.

    torch's ``amax``, JAX's ``max`` and TensorFlow's ``reduce_max`` gradients; written out so
    that every backend (and every compiler) gives the same. ``-inf`` entries carry no gradient.
    """
    m = stop_gradient(xp.max(x, axis=axis, keepdims=True))
    hit = x == m
    count = xp.sum(xp.astype(hit, x.dtype), axis=axis, keepdims=True)
    m_finite = xp.where(xp.isfinite(m), m, xp.zeros_like(m))
    gap = xp.where(hit, x - m_finite, xp.zeros_like(x))
    # m + mean(x - m) over the maxima: exactly m in value; with m = -inf (all -inf) stays -inf
    return xp.where(xp.isfinite(m), m_finite + xp.sum(gap, axis=axis, keepdims=True) / count, m)


def clamp_min0(xp: Any, z: Any) -> Any:
    """torch's ``clamp_min(z, 0)``: gradient 1 at ``z == 0``; NaN kept (with gradient 0)."""
    zeros = xp.zeros_like(z)
    return xp.where(z >= 0, z, xp.where(z < 0, zeros, stop_gradient(z)))


def clamp(xp: Any, x: Any, low: float, high: float) -> Any:
    """torch's ``clamp(x, low, high)``: gradient 1 inside and at the bounds, 0 outside; NaN
    stays NaN."""
    x = xp.where(x < low, xp.full_like(x, low), x)
    return xp.where(x > high, xp.full_like(x, high), x)


def minimum(xp: Any, a: Any, b: Any) -> Any:
    """torch's ``minimum(a, b)``: exact value, NaN propagated, gradient split 1/2 at ties.

    ``xp.minimum`` gives a tie's whole gradient to one side in TensorFlow.
    """
    return xp.where(a < b, a, xp.where(b < a, b, (a + b) * 0.5))


def maximum(xp: Any, a: Any, b: Any) -> Any:
    """torch's ``maximum(a, b)``: exact value, NaN propagated, gradient split 1/2 at ties."""
    return xp.where(a > b, a, xp.where(b > a, b, (a + b) * 0.5))


def depthwise_conv2d(
    xp: Any, x: Any, rows: tuple[float, ...], cols: tuple[float, ...] | None = None
) -> Any:
    r"""Valid 2-D correlation of every ``(H, W)`` plane of ``x`` with one separable window.

    ``x`` has shape ``(..., H, W)`` (NCHW images: every channel of every image is filtered with
    the same window, a depthwise convolution whose channel multiplier is 1); the window is the
    outer product of ``rows`` (``kh`` weights, along ``H``) and ``cols`` (``kw`` weights, along
    ``W``; ``rows`` again when None). The result has shape ``(..., H - kh + 1, W - kw + 1)``:

    .. math::

        y_{ij} = \sum_{a < k_h} \sum_{b < k_w} r_a c_b\, x_{i + a,\, j + b}

    (correlation, as ``F.conv2d`` computes; for the symmetric windows of SSIM the same as a
    convolution). The weights are Python floats: a constant of the computation, with no
    gradient; the gradient with respect to ``x`` is the transposed correlation.

    The generic form is the definition: the two one-dimensional passes, each a sum of ``k``
    shifted slices, :math:`O(k_h + k_w)` operations per output instead of :math:`k_h k_w`.
    :func:`lossbridge.backends.fused` gives the framework's convolution kernel, the same two
    passes, depthwise over the axis before ``H`` (``groups=C``): ``F.conv2d`` on torch
    (channels-last on the CPU), ``tf.nn.depthwise_conv2d`` on TensorFlow,
    ``jax.lax.conv_general_dilated`` on JAX's GPUs and TPUs (on its CPU the generic form, which
    XLA fuses, is the faster; ``docs/image_quality.md`` has the numbers).
    """
    cols = rows if cols is None else cols
    fast = fused(xp, "depthwise_conv2d")
    if fast is not None:
        out = fast(x, rows, cols)
        if out is not None:  # None: the generic form is the fast one there (JAX on the CPU)
            return out
    return _correlate_valid(xp, _correlate_valid(xp, x, rows, -2), cols, -1)


def _correlate_valid(xp: Any, x: Any, weights: tuple[float, ...], axis: int) -> Any:
    """``sum_a w_a x[..., a : a + n_out, ...]`` along ``axis`` (-2 or -1): one valid pass."""
    n_out = x.shape[axis] - len(weights) + 1
    out = None
    for a, w in enumerate(weights):
        piece = x[..., a : a + n_out, :] if axis == -2 else x[..., a : a + n_out]
        term = piece * w
        out = term if out is None else out + term
    return out
