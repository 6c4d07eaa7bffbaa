"""Numerically stable building blocks, written once against the array API.

Each is written so that its value and its gradient are the same on every backend. That rules out
``maximum``/``minimum``/``abs`` at ties (frameworks split or pick the gradient differently at
``x == 0``) and ``where`` over a branch that overflows (its gradient is ``0 * inf = nan``); the
forms below use ``where`` on branches that are finite everywhere.
"""

from __future__ import annotations

from typing import Any

from lossbridge.backends import stop_gradient


def neg_abs(xp: Any, x: Any) -> Any:
    """``-|x|`` with the gradient ``-1`` at ``x == 0`` on every backend."""
    return xp.where(x >= 0, -x, x)


def log_sigmoid(xp: Any, x: Any) -> Any:
    r"""Stable :math:`\log \sigma(x) = \min(x, 0) - \log(1 + e^{-|x|})`.

    Exact for large ``|x|`` (no overflow), gradient :math:`1 - \sigma(x)` everywhere.
    """
    return xp.where(x >= 0, xp.zeros_like(x), x) - xp.log1p(xp.exp(neg_abs(xp, x)))


def softplus(xp: Any, x: Any) -> Any:
    r"""Stable :math:`\log(1 + e^{x}) = \max(x, 0) + \log(1 + e^{-|x|})`."""
    return xp.where(x >= 0, x, xp.zeros_like(x)) + xp.log1p(xp.exp(neg_abs(xp, x)))


def xlogy(xp: Any, x: Any, y: Any) -> Any:
    r""":math:`x \log y` with the value 0 where ``x == 0`` (NaN in ``y`` still propagates).

    Matches ``torch.xlogy`` / ``scipy.special.xlogy``, gradients included where torch's are
    finite (``d/dx = log y``, also at ``x == 0``; ``d/dy = x / y``); the gradient is finite
    where ``x == 0``.
    """
    # Only where x == 0 and log(y) is not finite (y <= 0 or y == inf) would x * log(y) be nan:
    # y = 1 there gives the value 0 and zero gradients. Elsewhere x * log(y) is exact (0 at
    # x == 0) and a NaN y stays NaN.
    fix = xp.logical_and(x == 0, xp.logical_or(y <= 0, xp.isinf(y)))
    return x * xp.log(xp.where(fix, xp.ones_like(y), y))


def max_shift(xp: Any, x: Any, axis: int) -> Any:
    """The max along ``axis`` (kept), gradient stopped, 0 where it is not finite."""
    m = stop_gradient(xp.max(x, axis=axis, keepdims=True))
    return xp.where(xp.isfinite(m), m, xp.zeros_like(m))


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
    shifted = x - max_shift(xp, x, axis)
    return shifted, xp.log(xp.sum(xp.exp(shifted), axis=axis, keepdims=True))


def logsumexp(xp: Any, x: Any, axis: int, keepdims: bool = False) -> Any:
    r"""Stable :math:`\log \sum_i e^{x_i}` along ``axis``."""
    m = max_shift(xp, x, axis)
    out = xp.log(xp.sum(xp.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else xp.squeeze(out, axis=axis)


def log_softmax(xp: Any, x: Any, axis: int) -> Any:
    r"""Stable :math:`x_i - \log \sum_j e^{x_j}` along ``axis``."""
    shifted, log_sum = shifted_logits(xp, x, axis)
    return shifted - log_sum


def abs0(xp: Any, x: Any) -> Any:
    """``|x|`` whose gradient is ``sign(x)``, 0 at ``x == 0``, on every backend.

    ``xp.abs`` alone has gradient 1 at 0 in JAX but 0 in torch and TensorFlow; ``x * sign(x)``
    has torch's gradient everywhere (``sign`` has zero gradient).
    """
    return x * xp.sign(x)


def clamp_min0(xp: Any, z: Any) -> Any:
    """torch's ``clamp_min(z, 0)``: gradient 1 at ``z == 0``; NaN kept (with gradient 0)."""
    zeros = xp.zeros_like(z)
    return xp.where(z >= 0, z, xp.where(z < 0, zeros, stop_gradient(z)))


def minimum(xp: Any, a: Any, b: Any) -> Any:
    """torch's ``minimum(a, b)``: exact value, NaN propagated, gradient split 1/2 at ties.

    ``xp.minimum`` gives a tie's whole gradient to one side in TensorFlow.
    """
    return xp.where(a < b, a, xp.where(b < a, b, (a + b) * 0.5))


def maximum(xp: Any, a: Any, b: Any) -> Any:
    """torch's ``maximum(a, b)``: exact value, NaN propagated, gradient split 1/2 at ties."""
    return xp.where(a > b, a, xp.where(b > a, b, (a + b) * 0.5))
