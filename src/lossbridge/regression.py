"""Regression and likelihood losses, matching ``torch.nn.functional`` (torch 2.13)."""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

from lossbridge._inputs import promote_floats, setup
from lossbridge._precision import half_precision
from lossbridge._primitives import abs0, abs_error, huber, softplus, squared_error
from lossbridge._reduction import COUNT, reduce
from lossbridge._typing import ArrayLike, ArrayT, Reduction
from lossbridge._validation import (
    _size,
    check_broadcastable,
    check_denominator,
    check_floating,
    check_range,
    check_real,
    check_reduction,
    check_result,
    no_denominator,
    shape_str,
    warn_if_broadcast,
    warn_if_broadcast_grows,
)
from lossbridge.backends import (
    eager_view,
    is_array,
    is_concrete,
    min_max,
    native_loss,
    stop_gradient,
)

__all__ = [
    "gaussian_nll_loss",
    "huber_loss",
    "l1_loss",
    "log_cosh_loss",
    "mape_loss",
    "mse_loss",
    "msle_loss",
    "poisson_nll_loss",
    "quantile_loss",
    "rmse_loss",
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
    denominator: Any = None,
) -> Any:
    """Shared body of mse/l1/huber/smooth_l1: broadcast, elementwise loss, optional weight.

    ``mean_over_weights``: weighted ``'mean'`` is ``sum(w l) / sum(w)`` (torch's mse_loss and
    l1_loss) rather than ``mean(w l)`` (torch's huber_loss).
    """
    xp, input, target, weight = setup(input, target=target, weight=weight)
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss=name)
    check_broadcastable(input, target, "input", "target")
    warn_if_broadcast(input, target, name)
    input, target, weight = promote_floats(xp, input, target, weight)
    if tuple(input.shape) != tuple(target.shape):
        input, target = xp.broadcast_arrays(input, target)
    loss = elementwise(xp, input, target)
    if weight is None:
        return reduce(xp, loss, reduction, override=over)
    if tuple(weight.shape) != tuple(input.shape):
        raise ValueError(
            f"{name}: weight has shape {shape_str(weight.shape)}; expected the input's shape "
            f"{shape_str(input.shape)}"
        )
    loss = loss * weight
    denom = xp.sum(weight) if (reduction == "mean" and mean_over_weights) else None
    return reduce(xp, loss, reduction, denominator=denom, override=over)


@half_precision
def mse_loss(
    input: ArrayT,
    target: ArrayLike,
    reduction: Reduction = "mean",
    weight: ArrayLike | None = None,
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Mean squared error, :math:`\ell = w (x - y)^2`.

    Same as ``torch.nn.functional.mse_loss`` (torch 2.13). A target of another shape is
    broadcast against ``input`` with a warning, as in torch.

    Parameters
    ----------
    input, target : array
    reduction : {'mean', 'sum', 'none'}
    weight : array, the shape of ``input``, optional
        With a weight, ``'mean'`` is :math:`\sum w \ell / \sum w`.
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements (of ``input`` broadcast with ``target``), or the sum of ``weight``. Pass
        the count summed over shards (:func:`lossbridge.mean_denominator`) and the shards' losses
        add up to the full batch's mean.

    Returns
    -------
    array

    References
    ----------
    PyTorch documentation, ``torch.nn.MSELoss``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> y = np.array([1.5, 2.0, 1.0])
    >>> bool(np.isclose(lb.mse_loss(x, y), ((x - y) ** 2).mean()))
    True
    """
    if denominator is None:
        out = native_loss("mse_loss", input, target, reduction, weight)
        if out is not None:
            return out
    return _pointwise(
        "mse_loss",
        input,
        target,
        reduction,
        weight,
        squared_error,
        mean_over_weights=True,
        denominator=denominator,
    )


@half_precision
def l1_loss(
    input: ArrayT,
    target: ArrayLike,
    reduction: Reduction = "mean",
    weight: ArrayLike | None = None,
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Mean absolute error, :math:`\ell = w |x - y|`.

    Same as ``torch.nn.functional.l1_loss`` (torch 2.13); the gradient at :math:`x = y` is 0 on
    every backend, as in torch.

    Parameters
    ----------
    input, target : array
    reduction : {'mean', 'sum', 'none'}
    weight : array, the shape of ``input``, optional
        With a weight, ``'mean'`` is :math:`\sum w \ell / \sum w`.
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements (of ``input`` broadcast with ``target``), or the sum of ``weight``. Pass
        the count summed over shards (:func:`lossbridge.mean_denominator`) and the shards' losses
        add up to the full batch's mean.

    Returns
    -------
    array

    References
    ----------
    PyTorch documentation, ``torch.nn.L1Loss``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> y = np.array([1.5, 2.0, 1.0])
    >>> bool(np.isclose(lb.l1_loss(x, y), np.abs(x - y).mean()))
    True
    """
    if denominator is None:
        out = native_loss("l1_loss", input, target, reduction, weight)
        if out is not None:
            return out
    return _pointwise(
        "l1_loss",
        input,
        target,
        reduction,
        weight,
        abs_error,
        mean_over_weights=True,
        denominator=denominator,
    )


@half_precision
def huber_loss(
    input: ArrayT,
    target: ArrayLike,
    reduction: Reduction = "mean",
    delta: float = 1.0,
    weight: ArrayLike | None = None,
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
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
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements (of ``input`` broadcast with ``target``; ``weight`` is not summed). Pass
        the count summed over shards (:func:`lossbridge.mean_denominator`) and the shards' losses
        add up to the full batch's mean.

    Returns
    -------
    array

    References
    ----------
    Huber, "Robust Estimation of a Location Parameter", Ann. Math. Statist. 1964;
    PyTorch documentation, ``torch.nn.HuberLoss``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([0.5, 3.0])
    >>> y = np.array([0.0, 0.0])  # quadratic 0.5 * 0.5**2, linear 1 * (3 - 0.5 * 1)
    >>> print(round(float(lb.huber_loss(x, y, delta=1.0)), 4))
    1.3125
    """
    delta = check_real(
        delta, "delta", loss="huber_loss", what="the threshold", low=0.0, strict=True
    )
    if denominator is None:
        out = native_loss("huber_loss", input, target, reduction, delta, weight)
        if out is not None:
            return out
    return _pointwise(
        "huber_loss",
        input,
        target,
        reduction,
        weight,
        lambda xp, a, b: huber(xp, a, b, delta),
        mean_over_weights=False,
        denominator=denominator,
    )


@half_precision
def smooth_l1_loss(
    input: ArrayT,
    target: ArrayLike,
    reduction: Reduction = "mean",
    beta: float = 1.0,
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
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
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements (of ``input`` broadcast with ``target``). Pass the count summed over
        shards (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full
        batch's mean.

    Returns
    -------
    array

    References
    ----------
    Girshick, "Fast R-CNN", ICCV 2015; PyTorch documentation, ``torch.nn.SmoothL1Loss``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([0.2, 3.0])
    >>> y = np.array([0.0, 0.0])  # 0.5 * 0.2**2 / 0.5 and 3 - 0.5 * 0.5
    >>> print(round(float(lb.smooth_l1_loss(x, y, beta=0.5)), 4))
    1.395
    """
    beta = check_real(beta, "beta", loss="smooth_l1_loss", what="the threshold", low=0.0)
    if denominator is None:
        out = native_loss("smooth_l1_loss", input, target, reduction, beta)
        if out is not None:
            return out
    if beta == 0:
        return _pointwise(
            "smooth_l1_loss",
            input,
            target,
            reduction,
            None,
            abs_error,
            mean_over_weights=False,
            denominator=denominator,
        )
    return _pointwise(
        "smooth_l1_loss",
        input,
        target,
        reduction,
        None,
        lambda xp, a, b: huber(xp, a, b, beta) / beta,
        mean_over_weights=False,
        denominator=denominator,
    )


@half_precision
def poisson_nll_loss(
    input: ArrayT,
    target: ArrayLike,
    log_input: bool = True,
    full: bool = False,
    eps: float = 1e-8,
    reduction: Reduction = "mean",
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
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
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements (of ``input`` broadcast with ``target``). Pass the count summed over
        shards (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full
        batch's mean.

    Returns
    -------
    array

    References
    ----------
    PyTorch documentation, ``torch.nn.PoissonNLLLoss``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> log_rate = np.array([0.0, 1.0, -1.0])
    >>> counts = np.array([1.0, 3.0, 0.0])
    >>> loss = lb.poisson_nll_loss(log_rate, counts)
    >>> bool(np.isclose(loss, (np.exp(log_rate) - counts * log_rate).mean()))
    True
    """
    eps = check_real(eps, "eps", loss="poisson_nll_loss", what="added to the rate in the log")
    xp, input, target = setup(input, target=target)
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss="poisson_nll_loss")
    check_broadcastable(input, target, "input", "target")
    warn_if_broadcast_grows(input, target, "poisson_nll_loss")
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
    return reduce(xp, loss, reduction, override=over)


@half_precision(autocast_keeps_half=("cpu",))
def gaussian_nll_loss(
    input: ArrayT,
    target: ArrayLike,
    var: ArrayLike,
    full: bool = False,
    eps: float = 1e-6,
    reduction: Reduction = "mean",
    *,
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
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
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements of the loss (``input``'s, broadcast with ``target`` and ``var``). Pass
        the count summed over shards (:func:`lossbridge.mean_denominator`) and the shards' losses
        add up to the full batch's mean.

    Returns
    -------
    array

    References
    ----------
    Nix and Weigend, "Estimating the mean and variance of the target probability
    distribution", ICNN 1994; PyTorch documentation, ``torch.nn.GaussianNLLLoss``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> mean, y, var = np.array([1.0, 2.0]), np.array([1.5, 1.0]), np.array([0.5, 2.0])
    >>> loss = lb.gaussian_nll_loss(mean, y, var)
    >>> bool(np.isclose(loss, (0.5 * (np.log(var) + (mean - y) ** 2 / var)).mean()))
    True
    """
    eps = check_real(eps, "eps", loss="gaussian_nll_loss", what="the floor of var")
    if isinstance(var, float) and var < 0:
        raise ValueError(f"gaussian_nll_loss: var must be non-negative; got {var!r}")
    xp, input, target, var = setup(input, target=target, var=var)
    check_broadcastable(input, target, "input", "target")
    warn_if_broadcast_grows(input, target, "gaussian_nll_loss")
    # min(var) alone (one pass, one host read): its range tells whether the clamp below acts.
    span = check_range(xp, var, "var", 0.0, math.inf, what="variances")
    if var.ndim == 0:  # a float (torch) or a 0-d array (an extension): one variance for all
        var = xp.ones_like(input) * var
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
    over = check_denominator(denominator, reduction, loss="gaussian_nll_loss")
    input, target, var = promote_floats(xp, input, target, var)
    # max(var, eps) in value, identity in gradient (torch clamps in place under no_grad);
    # skipped where the eager check read min(var) >= eps (a no-op then, values and gradients).
    if span is None or not span[0] >= eps:
        var = xp.where(var < eps, (var - stop_gradient(var)) + eps, var)
    diff = input - target
    loss = 0.5 * (xp.log(var) + diff * diff / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce(xp, loss, reduction, override=over)


# ------------------------------------------------------------------------------------------
# Regression losses beyond torch.nn.functional (issue 4): RMSE, log-cosh, quantile, MAPE, MSLE
# ------------------------------------------------------------------------------------------


def _broadcast_shape(a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[Any, ...] | None:
    """The broadcast shape of two known shapes (None if a dimension is unknown)."""
    if None in a or None in b:
        return None
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    return tuple(x if y == 1 else y for x, y in zip(a, b, strict=True))


def _pair(name: str, input: Any, target: Any, reduction: str) -> tuple[Any, Any, Any]:
    """Namespace, ``input`` and ``target`` validated, promoted and broadcast together.

    A target that broadcasts against the input is allowed (a row of targets, a scalar); where
    broadcasting makes the loss larger than the input (input ``(N,)`` with target ``(N, 1)``
    gives ``(N, N)``), an eager call warns, since that is rarely meant.
    """
    check_reduction(reduction)
    xp, input, target = setup(input, target=target)
    check_broadcastable(input, target, "input", "target")
    input, target = promote_floats(xp, input, target)
    in_shape, t_shape = tuple(input.shape), tuple(target.shape)
    if in_shape != t_shape:
        out = _broadcast_shape(in_shape, t_shape)
        if out is not None and out != in_shape and is_concrete(input):
            warnings.warn(
                f"{name}: target shape {shape_str(t_shape)} and input shape "
                f"{shape_str(in_shape)} broadcast to {shape_str(out)}, larger than the input; "
                "this is likely not what you want",
                UserWarning,
                stacklevel=3,
            )
        input, target = xp.broadcast_arrays(input, target)
    return xp, input, target


def _axes(axis: Any, ndim: int, loss: str) -> tuple[int, ...] | None:
    """``axis`` (None, an int or a tuple of ints) as a tuple of distinct non-negative axes."""
    if axis is None:
        return None
    items = axis if isinstance(axis, tuple) else (axis,)
    if not items:
        raise ValueError(f"{loss}: axis=() reduces nothing; expected None, an int or a tuple")
    out = []
    for a in items:
        if isinstance(a, bool) or not isinstance(a, numbers.Integral):
            raise TypeError(f"{loss}: axis must be None, an int or a tuple of ints; got {axis!r}")
        if not -ndim <= int(a) < ndim:
            raise ValueError(
                f"{loss}: axis {int(a)} is out of range for the {ndim}-d error (after "
                f"broadcasting input and target); expected values in [{-ndim}, {ndim - 1}]"
            )
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{loss}: axis {axis!r} repeats an axis; expected distinct axes")
    return tuple(out)


@half_precision
def rmse_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    axis: int | tuple[int, ...] | None = None,
    eps: float = 0.0,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Root mean squared error, :math:`r = \sqrt{\operatorname{mean}_{\text{axis}} (x - y)^2
    + \epsilon}`.

    With ``axis=None`` the mean runs over every element and the result is one 0-d value (the
    RMSE of the whole batch; ``reduction`` then has nothing left to reduce and only needs to be
    valid). With an int or a tuple of axes, the remaining axes index per-sample RMSEs (``axis=-1``
    on ``(N, D)``: one RMSE per row), which ``reduction`` reduces: ``'mean'`` is
    :math:`\frac1N \sum_n r_n`, not the overall RMSE.

    Parameters
    ----------
    input : array, shape (*)
        Predictions, floating.
    target : array, broadcastable with ``input``
    axis : None, int or tuple of int, default None
        Axes of the broadcast error to average before the square root.
    eps : float, default 0.0
        Non-negative, added under the root (a smooth RMSE for ``eps > 0``).
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of per-sample RMSEs (the elements left after ``axis``). With ``axis=None`` the one
        RMSE is the square root of a mean, not a mean: a denominator is refused (``ValueError``).
        Pass the count summed over shards (:func:`lossbridge.mean_denominator`) and the shards'
        losses add up to the full batch's mean.

    Returns
    -------
    array
        0-d for ``axis=None`` or a reduced ``reduction``; otherwise the error's shape without
        ``axis``.

    Notes
    -----
    Keras has RMSE only as a metric, ``keras.metrics.RootMeanSquaredError``:
    :math:`\sqrt{\operatorname{mean}(x - y)^2}` over every element, which is ``axis=None``,
    ``eps=0``. torch, optax and ``tf.nn`` have no RMSE.

    Gradient at zero error: where the mean square of a slice is exactly 0 and ``eps == 0``
    (every error in the slice is 0, or its squares underflow), :math:`\sqrt{\cdot}` has an
    infinite derivative and :math:`r` is not differentiable (its directional derivatives are
    :math:`\lVert v \rVert / \sqrt{n}`, a cone like :math:`|x|` at 0). The gradient returned
    there is 0 on every backend, the minimum-norm subgradient (``l1_loss`` makes the same choice
    with :math:`\operatorname{sign}(0) = 0`); ``torch.sqrt(F.mse_loss(x, y))`` gives NaN there
    (:math:`0 \cdot \infty`). Elsewhere the gradient w.r.t. ``input`` is
    :math:`(x - y) / (n r)`, finite. With ``eps > 0`` the loss is smooth everywhere.

    References
    ----------
    Hyndman and Koehler, "Another look at measures of forecast accuracy", International Journal
    of Forecasting 22(4), 2006; Keras documentation, ``keras.metrics.RootMeanSquaredError``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> y = np.array([[1.0, 3.0], [3.0, 2.0]])
    >>> bool(np.isclose(lb.rmse_loss(x, y), np.sqrt(((x - y) ** 2).mean())))
    True
    >>> np.allclose(lb.rmse_loss(x, y, axis=-1, reduction="none"), [np.sqrt(0.5), np.sqrt(2.0)])
    True
    """
    eps = check_real(
        eps, "eps", loss="rmse_loss", what="added under the root", finite=True, low=0.0
    )
    if axis is None:
        why = "axis=None: the square root of the mean over every element"
        no_denominator(denominator, loss="rmse_loss", why=why)
    over = check_denominator(denominator, reduction, loss="rmse_loss")
    xp, input, target = _pair("rmse_loss", input, target, reduction)
    axes = _axes(axis, input.ndim, "rmse_loss")
    d = input - target
    ms = xp.mean(d * d, axis=axes)
    if eps:
        ms = ms + eps
    # sqrt(ms) with the value 0 and the gradient 0 where ms == 0 (the double where keeps the
    # masked branch's gradient finite); NaN still propagates.
    zero = ms == 0
    r = xp.where(zero, xp.zeros_like(ms), xp.sqrt(xp.where(zero, xp.ones_like(ms), ms)))
    if axes is None:
        return r
    return reduce(xp, r, reduction, override=over)


@half_precision
def log_cosh_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Log-cosh loss, :math:`\ell = \log \cosh(x - y)`, elementwise.

    Computed without overflow or cancellation: with :math:`d = x - y`,

    .. math::

        \log \cosh d = \begin{cases}
        \operatorname{log1p}(2 \sinh^2(d / 2)) & |d| < 1 \\
        |d| + \operatorname{softplus}(-2 |d|) - \log 2 & \text{otherwise}
        \end{cases}

    (:math:`\cosh d - 1 = 2 \sinh^2(d/2)`). The second form is the one Keras and optax use
    everywhere; near 0 it loses all relative precision (at :math:`d = 10^{-4}` in float32 it
    gives 0 instead of 5e-9, the difference of numbers near :math:`\log 2`), the first keeps
    it. Both are exact where they are used, and the gradient
    is :math:`\tanh d` on every backend (0 at :math:`d = 0`).

    Parameters
    ----------
    input : array, shape (*)
        Predictions, floating.
    target : array, broadcastable with ``input``
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements (of ``input`` broadcast with ``target``). Pass the count summed over
        shards (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full
        batch's mean.

    Returns
    -------
    array
        The broadcast shape for ``'none'``, else 0-d.

    Notes
    -----
    optax's ``log_cosh(predictions, targets)`` is this loss with ``reduction='none'``.
    Keras's ``log_cosh(y_true, y_pred)`` (and ``LogCosh``) averages over the last axis first
    (per-sample values); its default ``'sum_over_batch_size'`` reduction equals ``'mean'`` here.
    Behaves like :math:`d^2 / 2` for small errors and like :math:`|d| - \log 2` for large ones.

    References
    ----------
    Saleh and Saleh, "Statistical Properties of the log-cosh Loss Function Used in Machine
    Learning", arXiv:2208.04564, 2022; Keras documentation, ``keras.losses.LogCosh``; optax
    documentation, ``optax.losses.log_cosh``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> y = np.array([1.5, 2.0, 1.0])
    >>> bool(np.isclose(lb.log_cosh_loss(x, y), np.log(np.cosh(x - y)).mean()))
    True
    """
    xp, input, target = _pair("log_cosh_loss", input, target, reduction)
    over = check_denominator(denominator, reduction, loss="log_cosh_loss")
    d = input - target
    a = abs0(xp, d)
    small = a < 1.0
    s = xp.sinh(0.5 * xp.where(small, d, xp.zeros_like(d)))
    near = xp.log1p(2.0 * (s * s))
    far = a + softplus(xp, -2.0 * a) - math.log(2.0)
    return reduce(xp, xp.where(small, near, far), reduction, override=over)


def _quantile_values(xp: Any, q: Any) -> None:
    """Raise ``ValueError`` if a concrete quantile array has a value outside (0, 1)."""
    view = eager_view(xp, q)
    if view is None or _size(q) == 0:
        return
    vxp, v = view
    lo, hi = min_max(vxp, v)  # one pass; a NaN fails both tests and the search below decides
    if lo > 0 and hi < 1:
        return
    bad = vxp.logical_not(vxp.logical_and(v > 0, v < 1))
    if bool(vxp.any(bad)):
        lo, hi = float(vxp.min(v)), float(vxp.max(v))
        raise ValueError(
            f"quantile_loss: quantile must have values in the open interval (0, 1); got "
            f"values in [{lo}, {hi}]"
        )


def _parse_quantile(quantile: Any) -> tuple[Any, bool]:
    """``(quantile, is_vector)``: Python numbers validated now, arrays left for later."""
    if is_array(quantile):
        ndim = len(tuple(quantile.shape))
        if ndim > 1:
            raise ValueError(
                f"quantile_loss: quantile has shape {shape_str(quantile.shape)}; expected a "
                "float, a 0-d array or a 1-D array of quantiles"
            )
        return quantile, ndim == 1
    vector = isinstance(quantile, (list, tuple))
    if vector and not quantile:
        raise ValueError("quantile_loss: quantile is empty; expected a float or 1-D values")
    qs = [
        check_real(q, "quantile", loss="quantile_loss", low=0.0, high=1.0, strict=True)
        for q in (quantile if vector else (quantile,))
    ]
    return (qs if vector else qs[0]), vector


def _tie_max(xp: Any, a: Any, b: Any) -> Any:
    """``maximum(a, b)`` with the gradient split 1/2 at ties on every backend (as torch)."""
    return xp.where(a > b, a, xp.where(b > a, b, 0.5 * (a + b)))


@half_precision
def quantile_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    quantile: ArrayLike = 0.5,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Quantile (pinball) loss, :math:`\ell = \max(q d, (q - 1) d)` with :math:`d = y - x`.

    Under-prediction (:math:`x < y`) costs :math:`q` per unit, over-prediction :math:`1 - q`;
    its minimiser is the :math:`q`-quantile of the target. ``quantile=0.5`` is half the L1 loss.

    Parameters
    ----------
    input : array
        Predictions, floating. With one quantile: any shape. With ``Q`` quantiles: shape
        ``(*, Q)``, prediction ``[..., k]`` for quantile ``k``.
    target : array
        With one quantile: broadcastable with ``input``. With ``Q`` quantiles: shape ``(*)``
        (the input's without its last axis) or ``(*, 1)``; every quantile's prediction is
        compared with the same target.
    quantile : float, sequence of floats or array, default 0.5
        In the open interval (0, 1). A float (or 0-d array) is one quantile; a list, tuple or
        1-D array holds ``Q`` quantiles, cast to the input's dtype (a parameter: it never
        changes the output's dtype). Python values are always checked; arrays where their
        values can be read (not while ``jax.jit``, ``tf.function`` or ``torch.compile``
        trace).
    reduction : {'mean', 'sum', 'none'}
        Over every element (all quantiles together).
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements (all quantiles together). Pass the count summed over shards
        (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full batch's
        mean.

    Returns
    -------
    array
        For ``'none'`` the broadcast shape (``(*, Q)`` with ``Q`` quantiles); else 0-d.

    Notes
    -----
    Gradient at :math:`d = 0` (the kink): split evenly between the two sides, so the gradient
    w.r.t. ``input`` is :math:`\tfrac12 - q` there, the midpoint of the one-sided slopes
    :math:`-q` and :math:`1 - q`, on every backend. That is what ``torch.maximum(q * d, (q - 1)
    * d)`` gives (pytorch-forecasting's ``QuantileLoss``), it equals the central finite
    difference, and for :math:`q = \tfrac12` it is 0, matching ``l1_loss``'s
    :math:`\operatorname{sign}(0) = 0`. TensorFlow Addons' ``pinball_loss`` used
    ``tf.maximum``, whose gradient at a tie goes to the first argument: :math:`-q` w.r.t. the
    prediction. Keras 3, torch and optax have no quantile loss (TF Addons, deprecated, had
    ``PinballLoss(tau=0.5)``, averaged over the last axis).

    References
    ----------
    Koenker and Bassett, "Regression Quantiles", Econometrica 46(1), 1978.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> y = np.array([1.5, 2.0, 1.0])
    >>> d = y - x  # under-predictions cost 0.9 per unit, over-predictions 0.1
    >>> bool(np.isclose(lb.quantile_loss(x, y, quantile=0.9), np.maximum(0.9 * d, -0.1 * d).mean()))
    True
    """
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss="quantile_loss")
    q, vector = _parse_quantile(quantile)
    if not vector:
        xp, input, target = _pair("quantile_loss", input, target, reduction)
        if is_array(q):
            q = setup(input, quantile=q)[2]
            check_floating(xp, q, "quantile")
            _quantile_values(xp, q)
            q = q if q.dtype == input.dtype else xp.astype(q, input.dtype)
        d = target - input
        return reduce(xp, _tie_max(xp, q * d, (q - 1.0) * d), reduction, override=over)

    xp, input, target, q = setup(input, target=target, quantile=q)
    check_floating(xp, q, "quantile")
    n_q = tuple(q.shape)[0]
    in_shape, t_shape = tuple(input.shape), tuple(target.shape)
    if not in_shape or (n_q is not None and in_shape[-1] is not None and in_shape[-1] != n_q):
        raise ValueError(
            f"quantile_loss: input has shape {shape_str(in_shape)}; with {n_q} quantiles "
            f"expected a last axis of size {n_q}, (*, {n_q})"
        )
    lead = in_shape[:-1]
    if t_shape == lead:
        target = xp.expand_dims(target, axis=-1)
    elif t_shape != (*lead, 1):
        raise ValueError(
            f"quantile_loss: target has shape {shape_str(t_shape)}; with input "
            f"{shape_str(in_shape)} ({n_q} quantiles on the last axis) expected "
            f"{shape_str(lead)} or {shape_str((*lead, 1))}"
        )
    _quantile_values(xp, q)
    input, target = promote_floats(xp, input, target)
    q = q if q.dtype == input.dtype else xp.astype(q, input.dtype)
    d = target - input
    return reduce(xp, _tie_max(xp, q * d, (q - 1.0) * d), reduction, override=over)


@half_precision
def mape_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    eps: float = 1e-7,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Mean absolute percentage error, :math:`\ell = 100 \, |y - x| / \max(|y|, \epsilon)`.

    Parameters
    ----------
    input : array, shape (*)
        Predictions, floating.
    target : array, broadcastable with ``input``
    eps : float, default 1e-7
        Positive; the denominator's floor, so a zero target gives :math:`100 |x| / \epsilon`
        (large, finite) rather than a division by zero.
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements (of ``input`` broadcast with ``target``). Pass the count summed over
        shards (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full
        batch's mean.

    Returns
    -------
    array
        The broadcast shape for ``'none'``, else 0-d.

    Notes
    -----
    Keras's ``mean_absolute_percentage_error`` (``MeanAbsolutePercentageError``) computes the
    same elementwise value with ``epsilon = 1e-7`` and averages over the last axis; its
    default reduction then equals ``'mean'`` here. A percentage: 100 means an error as large
    as the target. Gradients: 0 w.r.t. both arguments where :math:`x = y` (as ``l1_loss``); none
    flows through the denominator where :math:`|y| \le \epsilon`.

    References
    ----------
    de Myttenaere, Golden, Le Grand and Rossi, "Mean Absolute Percentage Error for regression
    models", Neurocomputing 192, 2016 (arXiv:1605.02541); Keras documentation,
    ``keras.losses.MeanAbsolutePercentageError``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([90.0, 2.5, 3.0])
    >>> y = np.array([100.0, 2.0, 3.0])  # 10 %, 25 % and 0 % off
    >>> bool(np.isclose(lb.mape_loss(x, y), (10 + 25 + 0) / 3))
    True
    """
    eps = check_real(
        eps, "eps", loss="mape_loss", what="floor of |target|", finite=True, low=0.0, strict=True
    )
    xp, input, target = _pair("mape_loss", input, target, reduction)
    over = check_denominator(denominator, reduction, loss="mape_loss")
    at = abs0(xp, target)
    denom = xp.where(at > eps, at, xp.full_like(at, eps))
    return reduce(xp, 100.0 * abs0(xp, target - input) / denom, reduction, override=over)


def _check_log1p_domain(xp: Any, x: Any, name: str) -> None:
    """Raise ``ValueError`` if a concrete ``x`` has a value <= -1 (NaN passes)."""
    view = eager_view(xp, x)
    if view is None:
        return
    vxp, v = view
    # One min (fast path); a NaN minimum hides the other values: then the elementwise search.
    low = float(vxp.min(v)) if _size(v) else 0.0
    if low > -1:
        return
    if bool(vxp.any(v <= -1)):
        raise ValueError(
            f"msle_loss: {name} must have values > -1 (log1p is -inf or NaN below); got a "
            f"minimum of {float(vxp.min(v))} (pass eps=1e-7 for Keras's clipping)"
        )


@half_precision
def msle_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    eps: float | None = None,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Mean squared logarithmic error, :math:`\ell = (\log(1 + x) - \log(1 + y))^2`.

    Parameters
    ----------
    input : array, shape (*)
        Predictions, floating, > -1.
    target : array, broadcastable with ``input``, > -1
    eps : float, optional
        None (default): the exact :math:`\operatorname{log1p}`; values <= -1 raise
        ``ValueError`` where they can be read (eager calls). A float > -1: Keras's convention,
        both arrays clipped below at ``eps`` first, :math:`\ell = (\log(1 + \max(x, \epsilon))
        - \log(1 + \max(y, \epsilon)))^2`; pass ``eps=1e-7`` for Keras's numbers. Below the
        clip the gradient is 0.
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements (of ``input`` broadcast with ``target``). Pass the count summed over
        shards (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full
        batch's mean.

    Returns
    -------
    array
        The broadcast shape for ``'none'``, else 0-d.

    Notes
    -----
    Keras's ``mean_squared_logarithmic_error`` clips both arrays at ``epsilon = 1e-7`` and
    averages over the last axis. On positive data the two conventions agree (within a rounding
    of :math:`\log(x + 1)` against :math:`\operatorname{log1p}(x)`); they differ where a value
    is below ``1e-7``: :math:`x = -0.5`, :math:`y = 0` gives :math:`\log^2 0.5 = 0.480453` here
    and 0 in Keras (both clipped to 1e-7); :math:`x = 0`, :math:`y = 1` gives
    :math:`\log^2 2 = 0.480453` here and :math:`(10^{-7} - \log 2)^2 = 0.480453` (1.4e-7
    smaller) in Keras; :math:`x = -1` is :math:`+\infty` here (an error if eager), Keras
    gives 0.480453 against :math:`y = 1`. The default does not clip: clipping hides negative
    predictions from the gradient.

    References
    ----------
    Keras documentation, ``keras.losses.MeanSquaredLogarithmicError``; Tofallis, "A better
    measure of relative prediction accuracy for model selection and model estimation", Journal
    of the Operational Research Society 66(8), 2015.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([1.0, 2.0, 3.0])
    >>> y = np.array([1.5, 2.0, 1.0])
    >>> bool(np.isclose(lb.msle_loss(x, y), ((np.log1p(x) - np.log1p(y)) ** 2).mean()))
    True
    """
    if eps is not None:
        what = "the floor of both arrays before log1p"
        eps = check_real(
            eps, "eps", loss="msle_loss", what=what, finite=True, low=-1.0, strict=True
        )
    xp, input, target = _pair("msle_loss", input, target, reduction)
    over = check_denominator(denominator, reduction, loss="msle_loss")
    if eps is not None:
        input = xp.where(input < eps, xp.full_like(input, eps), input)
        target = xp.where(target < eps, xp.full_like(target, eps), target)
    d = xp.log1p(input) - xp.log1p(target)
    out = reduce(xp, d * d, reduction, override=over)
    if eps is not None or over is COUNT:
        return out

    def diagnose() -> None:
        _check_log1p_domain(xp, input, "input")
        _check_log1p_domain(xp, target, "target")

    # Checked after the fact: a value <= -1 makes its log1p -inf or NaN and so its element of
    # the loss (and the mean or sum) inf or NaN; the domain is searched only then.
    return check_result(xp, out, diagnose, input, target)
