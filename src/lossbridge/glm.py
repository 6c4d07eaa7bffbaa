"""Deviances of generalised linear models: Tweedie, Poisson and Gamma.

scikit-learn's ``mean_tweedie_deviance``, ``mean_poisson_deviance`` and ``mean_gamma_deviance``
(1.9) as losses on every backend: the same formulas, domains and errors, ``sample_weight`` as
``weight``, and the elementwise values and sums besides the mean. Arguments in the house order,
``(input, target)``: the predicted mean :math:`\\mu` first, scikit-learn's ``y_pred``.
"""

from __future__ import annotations

import math
from typing import Any

from lossbridge._inputs import promote_floats, setup
from lossbridge._precision import half_precision
from lossbridge._primitives import squared_error, xlogy
from lossbridge._reduction import reduce
from lossbridge._typing import ArrayLike, ArrayT, Reduction
from lossbridge._validation import (
    check_broadcastable,
    check_denominator,
    check_real,
    check_reduction,
    shape_str,
    warn_if_broadcast_grows,
)
from lossbridge.backends import eager_view, stop_gradient

__all__ = ["gamma_deviance_loss", "poisson_deviance_loss", "tweedie_deviance_loss"]


def _domain(p: float) -> tuple[str, str]:
    """scikit-learn's domain for ``power=p``: ``(what the target must be, distribution)``."""
    if p < 0:
        return "", "extreme stable"
    if p == 0:
        return "", "normal"
    if p < 2:
        return ">= 0", "Poisson" if p == 1 else "compound Poisson-Gamma"
    return "> 0", {2.0: "Gamma", 3.0: "inverse Gaussian"}.get(p, "positive stable")


def _minimum(xp: Any, x: Any) -> float | None:
    """The smallest value of a concrete, non-empty ``x`` as a float (NaN skipped), or None."""
    view = eager_view(xp, x)
    if view is None or math.prod(int(d) for d in x.shape) == 0:
        return None
    vxp, v = view
    v = stop_gradient(v)
    low = float(vxp.min(v))
    if low != low:  # a NaN minimum hides the other values
        low = float(vxp.min(vxp.where(vxp.isnan(v), vxp.full_like(v, math.inf), v)))
    return low


def _check_domain(xp: Any, input: Any, target: Any, p: float) -> None:
    """scikit-learn's checks: ``input > 0`` unless ``p == 0``; ``target`` as :func:`_domain`."""
    need, dist = _domain(p)
    if p == 0:
        return
    low = _minimum(xp, input)
    if low is not None and not low > 0:
        raise ValueError(
            f"with power={p} ({dist}) input (the predicted mean) must be > 0; got a minimum "
            f"of {low}"
        )
    if not need:
        return
    low = _minimum(xp, target)
    if low is not None and not (low >= 0 if need == ">= 0" else low > 0):
        raise ValueError(f"with power={p} ({dist}) target must be {need}; got a minimum of {low}")


def _unit_deviance(xp: Any, mu: Any, y: Any, p: float) -> Any:
    """scikit-learn's ``_mean_tweedie_deviance`` before its mean, branch by branch."""
    if p == 0:
        return squared_error(xp, y, mu)
    if p == 1:
        return 2.0 * (xlogy(xp, y, y / mu) - y + mu)
    if p == 2:
        return 2.0 * (xp.log(mu / y) + y / mu - 1.0)
    # p < 0 ('extreme stable'): y may be negative, max(y, 0)^(2 - p) in the first term
    y_plus = xp.where(y > 0, y, xp.zeros_like(y)) if p < 0 else y
    return 2.0 * (
        xp.pow(y_plus, 2.0 - p) / ((1.0 - p) * (2.0 - p))
        - y * xp.pow(mu, 1.0 - p) / (1.0 - p)
        + xp.pow(mu, 2.0 - p) / (2.0 - p)
    )


def _deviance(
    name: str,
    input: Any,
    target: Any,
    power: Any,
    weight: Any,
    reduction: str,
    denominator: Any,
) -> Any:
    """The body of the three losses."""
    p = check_real(power, "power", loss=name, what="the Tweedie power", finite=True)
    if 0 < p < 1:
        raise ValueError(
            f"power must be <= 0 or >= 1 (no Tweedie distribution has 0 < power < 1); got {p}"
        )
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss=name)
    xp, input, target, weight = setup(input, target=target, weight=weight)
    check_broadcastable(input, target, "input", "target")
    warn_if_broadcast_grows(input, target, name)
    input, target, weight = promote_floats(xp, input, target, weight)
    if tuple(input.shape) != tuple(target.shape):
        input, target = xp.broadcast_arrays(input, target)
    _check_domain(xp, input, target, p)
    loss = _unit_deviance(xp, input, target, p)
    if weight is None:
        return reduce(xp, loss, reduction, override=over)
    if tuple(weight.shape) != tuple(loss.shape):
        raise ValueError(
            f"weight has shape {shape_str(weight.shape)}; expected the loss's shape "
            f"{shape_str(loss.shape)} (input broadcast with target)"
        )
    loss = loss * weight
    return reduce(xp, loss, reduction, denominator=xp.sum(weight), override=over)


@half_precision
def tweedie_deviance_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    power: float = 0.0,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Tweedie deviance with power :math:`p`: scikit-learn's ``mean_tweedie_deviance`` (1.9).

    With :math:`\mu` the prediction (``input``) and :math:`y` the target:

    .. math::

        d_p(y, \mu) = \begin{cases}
        (y - \mu)^2 & p = 0 \\
        2 \left( y \log(y / \mu) - y + \mu \right) & p = 1 \\
        2 \left( \log(\mu / y) + y / \mu - 1 \right) & p = 2 \\
        2 \left( \dfrac{\max(y, 0)^{2-p}}{(1-p)(2-p)} - \dfrac{y \mu^{1-p}}{1-p}
        + \dfrac{\mu^{2-p}}{2-p} \right) & \text{otherwise}
        \end{cases}

    (:math:`y \log(y / \mu) = 0` at :math:`y = 0`; :math:`\max(y, 0)` matters only for
    :math:`p < 0`, where :math:`y` may be negative). With a weight, ``'mean'`` is
    :math:`\sum w d / \sum w`, scikit-learn's ``sample_weight``.

    Parameters
    ----------
    input : array
        The predicted means :math:`\mu`: > 0 unless ``power == 0``.
    target : array, broadcastable with ``input``
        The observations :math:`y`: any real for ``power <= 0``, >= 0 for
        ``1 <= power < 2``, > 0 for ``power >= 2``.
    power : float, default 0.0
        The Tweedie power :math:`p`, <= 0 or >= 1: 0 normal (the squared error), 1 Poisson,
        (1, 2) compound Poisson-Gamma, 2 Gamma, 3 inverse Gaussian. ``0 < power < 1`` raises
        ``ValueError``, as in scikit-learn.
    weight : array, the loss's shape, optional
        scikit-learn's ``sample_weight``: ``'mean'`` is :math:`\sum w d / \sum w`, ``'sum'``
        :math:`\sum w d`, ``'none'`` :math:`w d`.
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements (of ``input`` broadcast with ``target``), or the sum of ``weight``.
        Pass the count summed over shards (:func:`lossbridge.mean_denominator`) and the shards'
        losses add up to the full batch's mean.

    Returns
    -------
    array
        The broadcast shape for ``'none'``, else 0-d.

    Raises
    ------
    ValueError
        ``power`` in (0, 1) or not finite; ``input`` or ``target`` outside the power's domain
        (checked where the values can be read, as scikit-learn checks; inside ``jax.jit``,
        ``tf.function`` or ``torch.compile`` such values give NaN, inf, or a number without
        meaning).

    Notes
    -----
    scikit-learn takes ``(y_true, y_pred)``, 1-D, and returns a float; here the prediction
    comes first, any shape, and ``'none'``/``'sum'`` are there too. The branches are chosen by
    exact equality, as in scikit-learn: ``power=1.0000001`` takes the general formula. The
    formula is scikit-learn's, a difference of terms of size :math:`y^{2-p}`: where
    :math:`\mu \approx y` the deviance is small and its relative error is that of the terms,
    :math:`\epsilon \, y^{2-p} / d` (a float32 deviance of :math:`10^{-6} y^{2-p}` has about 10 %
    relative error; the mean's absolute error stays near float32's epsilon). The gradient w.r.t.
    ``input`` is :math:`2 \mu^{-p} (\mu - y)` for every :math:`p`. The Poisson deviance is
    twice ``poisson_nll_loss(input, target, log_input=False, eps=0)`` plus
    :math:`2 (y \log y - y)`, which does not depend on :math:`\mu`.

    References
    ----------
    Jørgensen, "The Theory of Dispersion Models", Chapman & Hall, 1997; scikit-learn
    documentation, ``sklearn.metrics.mean_tweedie_deviance``.

    Examples
    --------
    scikit-learn's example, ``mean_tweedie_deviance([2, 0, 1, 4], [0.5, 0.5, 2., 2.], power=1)``:

    >>> import numpy as np
    >>> import lossbridge as lb
    >>> y, mu = np.array([2.0, 0.0, 1.0, 4.0]), np.array([0.5, 0.5, 2.0, 2.0])
    >>> print(round(float(lb.tweedie_deviance_loss(mu, y, power=1)), 6))
    1.426015
    >>> p = 1.5
    >>> d = 2 * (y ** (2 - p) / ((1 - p) * (2 - p)) - y * mu ** (1 - p) / (1 - p)
    ...          + mu ** (2 - p) / (2 - p))
    >>> bool(np.isclose(lb.tweedie_deviance_loss(mu, y, power=p), d.mean()))
    True
    """
    return _deviance("tweedie_deviance_loss", input, target, power, weight, reduction, denominator)


@half_precision
def poisson_deviance_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Poisson deviance, :math:`d = 2 (y \log(y / \mu) - y + \mu)`: scikit-learn's
    ``mean_poisson_deviance`` (1.9).

    :func:`tweedie_deviance_loss` with ``power=1``; :math:`y \log(y / \mu) = 0` at
    :math:`y = 0`.

    Parameters
    ----------
    input : array
        The predicted rates :math:`\mu > 0`.
    target : array, broadcastable with ``input``
        The counts :math:`y \ge 0` (any non-negative reals).
    weight : array, the loss's shape, optional
        scikit-learn's ``sample_weight``: ``'mean'`` is :math:`\sum w d / \sum w`.
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements (of ``input`` broadcast with ``target``), or the sum of ``weight``.
        Pass the count summed over shards (:func:`lossbridge.mean_denominator`) and the shards'
        losses add up to the full batch's mean.

    Returns
    -------
    array
        The broadcast shape for ``'none'``, else 0-d.

    Notes
    -----
    ``ValueError`` for ``input <= 0`` or ``target < 0`` where the values can be read, with
    scikit-learn's domain. Up to the term :math:`2 (y \log y - y)`, which does not depend on
    :math:`\mu`, twice ``poisson_nll_loss(input, target, log_input=False, eps=0)``: the same
    gradient, times 2, and 0 at a perfect prediction.

    References
    ----------
    McCullagh and Nelder, "Generalized Linear Models", 2nd ed., Chapman & Hall, 1989;
    scikit-learn documentation, ``sklearn.metrics.mean_poisson_deviance``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> y, mu = np.array([2.0, 0.0, 1.0, 4.0]), np.array([0.5, 0.5, 2.0, 2.0])
    >>> d = 2 * (np.array([2 * np.log(4), 0.0, np.log(0.5), 4 * np.log(2)]) - y + mu)
    >>> bool(np.isclose(lb.poisson_deviance_loss(mu, y), d.mean()))
    True
    """
    return _deviance("poisson_deviance_loss", input, target, 1, weight, reduction, denominator)


@half_precision
def gamma_deviance_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    weight: ArrayLike | None = None,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Gamma deviance, :math:`d = 2 (\log(\mu / y) + y / \mu - 1)`: scikit-learn's
    ``mean_gamma_deviance`` (1.9).

    :func:`tweedie_deviance_loss` with ``power=2``. Invariant to a common scale of ``input`` and
    ``target``: it measures relative errors.

    Parameters
    ----------
    input : array
        The predicted means :math:`\mu > 0`.
    target : array, broadcastable with ``input``
        The observations :math:`y > 0`.
    weight : array, the loss's shape, optional
        scikit-learn's ``sample_weight``: ``'mean'`` is :math:`\sum w d / \sum w`.
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements (of ``input`` broadcast with ``target``), or the sum of ``weight``.
        Pass the count summed over shards (:func:`lossbridge.mean_denominator`) and the shards'
        losses add up to the full batch's mean.

    Returns
    -------
    array
        The broadcast shape for ``'none'``, else 0-d.

    Notes
    -----
    ``ValueError`` for ``input <= 0`` or ``target <= 0`` where the values can be read, with
    scikit-learn's domain.

    References
    ----------
    McCullagh and Nelder, "Generalized Linear Models", 2nd ed., Chapman & Hall, 1989;
    scikit-learn documentation, ``sklearn.metrics.mean_gamma_deviance``.

    Examples
    --------
    scikit-learn's example, ``mean_gamma_deviance([2, 0.5, 1, 4], [0.5, 0.5, 2., 2.])``:

    >>> import numpy as np
    >>> import lossbridge as lb
    >>> y, mu = np.array([2.0, 0.5, 1.0, 4.0]), np.array([0.5, 0.5, 2.0, 2.0])
    >>> print(round(float(lb.gamma_deviance_loss(mu, y)), 6))
    1.056853
    >>> bool(np.isclose(lb.gamma_deviance_loss(mu, y), (2 * (np.log(mu / y) + y / mu - 1)).mean()))
    True
    """
    return _deviance("gamma_deviance_loss", input, target, 2, weight, reduction, denominator)
