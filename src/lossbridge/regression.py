"""Regression and likelihood losses, matching ``torch.nn.functional`` (torch 2.13)."""

from __future__ import annotations

import math
from typing import Any

from lossbridge._inputs import promote_floats, setup
from lossbridge._primitives import abs0
from lossbridge._reduction import reduce
from lossbridge._validation import (
    check_broadcastable,
    check_range,
    check_reduction,
    shape_str,
    warn_if_broadcast,
)
from lossbridge.backends import stop_gradient

__all__ = [
    "gaussian_nll_loss",
    "huber_loss",
    "l1_loss",
    "mse_loss",
    "poisson_nll_loss",
    "smooth_l1_loss",
]


def _pointwise(
    name: str,
    input: Any,
    target: Any,
    reduction: str,
    weight: Any,
    elementwise: Any,
    *,
    mean_over_weights: bool,
) -> Any:
    """Shared body of mse/l1/huber/smooth_l1: broadcast, elementwise loss, optional weight.

    ``mean_over_weights``: weighted ``'mean'`` is ``sum(w l) / sum(w)`` (torch's mse_loss and
    l1_loss) rather than ``mean(w l)`` (torch's huber_loss).
    """
    xp, input, target, weight = setup(input, target=target, weight=weight)
    check_reduction(reduction)
    check_broadcastable(input, target, "input", "target")
    warn_if_broadcast(input, target, name)
    input, target, weight = promote_floats(xp, input, target, weight)
    if tuple(input.shape) != tuple(target.shape):
        input, target = xp.broadcast_arrays(input, target)
    loss = elementwise(xp, input - target)
    if weight is None:
        return reduce(xp, loss, reduction)
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError(
            f"{name}: weight has shape {shape_str(weight.shape)}; expected the input's shape "
            f"{shape_str(input.shape)}"
        )
    loss = loss * weight
    denom = xp.sum(weight) if (reduction == "mean" and mean_over_weights) else None
    return reduce(xp, loss, reduction, denominator=denom)


def mse_loss(input: Any, target: Any, reduction: str = "mean", weight: Any = None) -> Any:
    r"""Mean squared error, :math:`\ell = w (x - y)^2`.

    Same as ``torch.nn.functional.mse_loss`` (torch 2.13). A target of another shape is
    broadcast against ``input`` with a warning, as in torch.

    Parameters
    ----------
    input, target : array
    reduction : {'mean', 'sum', 'none'}
    weight : array, the shape of ``input``, optional
        With a weight, ``'mean'`` is :math:`\sum w \ell / \sum w`.

    Returns
    -------
    array

    References
    ----------
    PyTorch documentation, ``torch.nn.MSELoss``.
    """
    return _pointwise(
        "mse_loss", input, target, reduction, weight, lambda xp, d: d * d, mean_over_weights=True
    )


def l1_loss(input: Any, target: Any, reduction: str = "mean", weight: Any = None) -> Any:
    r"""Mean absolute error, :math:`\ell = w |x - y|`.

    Same as ``torch.nn.functional.l1_loss`` (torch 2.13); the gradient at :math:`x = y` is 0 on
    every backend, as in torch.

    Parameters
    ----------
    input, target : array
    reduction : {'mean', 'sum', 'none'}
    weight : array, the shape of ``input``, optional
        With a weight, ``'mean'`` is :math:`\sum w \ell / \sum w`.

    Returns
    -------
    array

    References
    ----------
    PyTorch documentation, ``torch.nn.L1Loss``.
    """
    return _pointwise("l1_loss", input, target, reduction, weight, abs0, mean_over_weights=True)


def _huber(xp: Any, d: Any, delta: float) -> Any:
    a = abs0(xp, d)
    return xp.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))


def huber_loss(
    input: Any, target: Any, reduction: str = "mean", delta: float = 1.0, weight: Any = None
) -> Any:
    r"""Huber loss: quadratic near zero, linear beyond ``delta``.

    Same as ``torch.nn.functional.huber_loss`` (torch 2.13):

    .. math::

        \ell = w \cdot \begin{cases} \tfrac12 (x - y)^2 & |x - y| < \delta \\
        \delta (|x - y| - \tfrac12 \delta) & \text{otherwise} \end{cases}

    Parameters
    ----------
    input, target : array
    reduction : {'mean', 'sum', 'none'}
    delta : float, default 1.0
        Must be positive.
    weight : array, the shape of ``input``, optional
        With a weight, ``'mean'`` is :math:`\operatorname{mean}(w \ell)` (torch's huber_loss
        divides by the element count, unlike its mse_loss and l1_loss).

    Returns
    -------
    array

    References
    ----------
    Huber, "Robust Estimation of a Location Parameter", Ann. Math. Statist. 1964;
    PyTorch documentation, ``torch.nn.HuberLoss``.
    """
    if not delta > 0:
        raise ValueError(f"huber_loss: delta must be positive; got {delta!r}")
    return _pointwise(
        "huber_loss",
        input,
        target,
        reduction,
        weight,
        lambda xp, d: _huber(xp, d, delta),
        mean_over_weights=False,
    )


def smooth_l1_loss(
    input: Any, target: Any, reduction: str = "mean", beta: float = 1.0
) -> Any:
    r"""Smooth L1 loss: Huber divided by ``beta``.

    Same as ``torch.nn.functional.smooth_l1_loss`` (torch 2.13):

    .. math::

        \ell = \begin{cases} \tfrac12 (x - y)^2 / \beta & |x - y| < \beta \\
        |x - y| - \tfrac12 \beta & \text{otherwise} \end{cases}

    ``beta=0`` is the L1 loss.

    Parameters
    ----------
    input, target : array
    reduction : {'mean', 'sum', 'none'}
    beta : float, default 1.0
        Must be non-negative.

    Returns
    -------
    array

    References
    ----------
    Girshick, "Fast R-CNN", ICCV 2015; PyTorch documentation, ``torch.nn.SmoothL1Loss``.
    """
    if not beta >= 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative; got {beta!r}")
    if beta == 0:
        return _pointwise(
            "smooth_l1_loss", input, target, reduction, None, abs0, mean_over_weights=False
        )
    return _pointwise(
        "smooth_l1_loss",
        input,
        target,
        reduction,
        None,
        lambda xp, d: _huber(xp, d, beta) / beta,
        mean_over_weights=False,
    )


def poisson_nll_loss(
    input: Any,
    target: Any,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    reduction: str = "mean",
) -> Any:
    r"""Negative log-likelihood of a Poisson target.

    Same as ``torch.nn.functional.poisson_nll_loss`` (torch 2.13):

    .. math::

        \ell = e^{x} - y x \quad (\texttt{log\_input}), \qquad
        \ell = x - y \log(x + \epsilon) \quad (\text{otherwise})

    With ``full``, Stirling's approximation of :math:`\log y!`,
    :math:`y \log y - y + \tfrac12 \log(2 \pi y)`, is added where :math:`y > 1`.

    Parameters
    ----------
    input : array
        Log-rates (``log_input=True``) or rates.
    target : array, broadcastable with ``input``
        Counts.
    log_input : bool, default True
    full : bool, default False
    eps : float, default 1e-8
    reduction : {'mean', 'sum', 'none'}

    Returns
    -------
    array

    References
    ----------
    PyTorch documentation, ``torch.nn.PoissonNLLLoss``.
    """
    xp, input, target = setup(input, target=target)
    check_reduction(reduction)
    check_broadcastable(input, target, "input", "target")
    input, target = promote_floats(xp, input, target)
    if log_input:
        loss = xp.exp(input) - target * input
    else:
        loss = input - target * xp.log(input + eps)
    if full:
        keep = xp.logical_not(target <= 1)  # NaN targets keep their NaN, as in torch
        t = xp.where(keep, target, xp.ones_like(target))
        stirling = t * xp.log(t) - t + 0.5 * xp.log(2.0 * math.pi * t)
        loss = loss + xp.where(keep, stirling, xp.zeros_like(stirling))
    return reduce(xp, loss, reduction)


def gaussian_nll_loss(
    input: Any,
    target: Any,
    var: Any,
    full: bool = False,
    eps: float = 1e-6,
    reduction: str = "mean",
) -> Any:
    r"""Negative log-likelihood of a Gaussian target with predicted mean and variance.

    Same as ``torch.nn.functional.gaussian_nll_loss`` (torch 2.13):

    .. math::

        \ell = \tfrac12 \left( \log \max(\sigma^2, \epsilon)
        + \frac{(x - y)^2}{\max(\sigma^2, \epsilon)} \right)
        \; [+ \tfrac12 \log 2\pi \text{ if full}]

    The clamp at ``eps`` is invisible to autodiff (torch clamps under ``no_grad``): the
    gradient with respect to ``var`` is taken at the clamped value and passed straight through.

    Parameters
    ----------
    input : array, shape (N, *) or (*)
        Predicted means.
    target : array, the shape of ``input`` (or broadcastable)
    var : array or float
        Predicted variances, non-negative: the shape of ``input``, or with one dimension of
        size 1 where ``input``'s differs, or ``input.shape[:-1]`` (homoscedastic over the
        last axis), or a float.
    full : bool, default False
    eps : float, default 1e-6
    reduction : {'mean', 'sum', 'none'}

    Returns
    -------
    array

    References
    ----------
    Nix and Weigend, "Estimating the mean and variance of the target probability
    distribution", ICNN 1994; PyTorch documentation, ``torch.nn.GaussianNLLLoss``.
    """
    if isinstance(var, float) and var < 0:
        raise ValueError(f"gaussian_nll_loss: var must be non-negative; got {var!r}")
    xp, input, target, var = setup(input, target=target, var=var)
    check_broadcastable(input, target, "input", "target")
    if var.ndim == 0:  # a float (torch) or a 0-d array (an extension): one variance for all
        var = xp.ones_like(input) * var
    check_range(xp, var, "var", 0.0, math.inf, what="variances")
    in_shape, var_shape = tuple(input.shape), tuple(var.shape)
    if var_shape != in_shape:
        if in_shape[:-1] == var_shape:
            var = xp.expand_dims(var, axis=-1)
        elif not (
            len(in_shape) == len(var_shape)
            and sum(v for i, v in zip(in_shape, var_shape, strict=True) if i != v) == 1
        ):
            raise ValueError(
                f"gaussian_nll_loss: var has shape {shape_str(var_shape)}, which does not fit "
                f"input {shape_str(in_shape)}; expected {shape_str(in_shape)}, "
                f"{shape_str(in_shape[:-1])}, or the input's shape with one dimension of size 1"
            )
    check_reduction(reduction)
    input, target, var = promote_floats(xp, input, target, var)
    # max(var, eps) in value, identity in gradient (torch clamps in place under no_grad).
    var = xp.where(var < eps, (var - stop_gradient(var)) + eps, var)
    diff = input - target
    loss = 0.5 * (xp.log(var) + diff * diff / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce(xp, loss, reduction)
