r"""Probabilistic forecasting: the continuous ranked probability score (CRPS) as a loss.

The CRPS of a predictive distribution :math:`F` at an observation :math:`y` is

.. math::

    \operatorname{CRPS}(F, y) = \int (F(z) - \mathbf 1\{y \le z\})^2 \, dz
    = \mathbb E |X - y| - \tfrac12 \mathbb E |X - X'|, \qquad X, X' \sim F
    \text{ independent}:

the mean absolute error of a probabilistic forecast, in the observation's units, minimised in
expectation by the true distribution (a strictly proper scoring rule). The numbers are
scoringrules' (0.10): :func:`crps_ensemble_loss` is its ``crps_ensemble`` (its estimators,
``m_axis`` as ``member_axis``), :func:`crps_normal_loss` and :func:`crps_logistic_loss` its
``crps_normal`` and ``crps_logistic`` closed forms, differentiable in the location and scale
(fitting them is minimum-CRPS estimation, Gneiting et al. 2005).
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from lossbridge._inputs import arange_like, promote_floats, setup
from lossbridge._precision import half_precision
from lossbridge._primitives import abs0, softplus
from lossbridge._reduction import reduce
from lossbridge._typing import ArrayLike, ArrayT, Reduction
from lossbridge._validation import (
    check_broadcastable,
    check_denominator,
    check_reduction,
    shape_str,
    warn_if_broadcast_grows,
)
from lossbridge.backends import eager_view, stop_gradient

__all__ = ["crps_ensemble_loss", "crps_logistic_loss", "crps_normal_loss"]

#: The ensemble estimators of :func:`crps_ensemble_loss`, as scoringrules 0.10 names them.
ESTIMATORS = ("qd", "pwm", "nrg", "fair", "akr", "akr_circperm")

# ------------------------------------------------------------------------------------------
# The error function, written once against the array API (the standard has no erf)
# ------------------------------------------------------------------------------------------

# W. J. Cody, "Rational Chebyshev approximations for the error function", Math. Comp. 23
# (1969), 631-637; the coefficients of Netlib's specfun CALERF. erf on [0, 0.46875] (A/B),
# erfc on (0.46875, 4] (C/D) and on (4, inf) (P/Q); relative error below 1e-16 in float64.
_A = (3.16112374387056560e00, 1.13864154151050156e02, 3.77485237685302021e02,
      3.20937758913846947e03, 1.85777706184603153e-1)  # fmt: skip
_B = (2.36012909523441209e01, 2.44024637934444173e02, 1.28261652607737228e03,
      2.84423683343917062e03)  # fmt: skip
_C = (5.64188496988670089e-1, 8.88314979438837594e00, 6.61191906371416295e01,
      2.98635138197400131e02, 8.81952221241769090e02, 1.71204761263407058e03,
      2.05107837782607147e03, 1.23033935479799725e03, 2.15311535474403846e-8)  # fmt: skip
_D = (1.57449261107098347e01, 1.17693950891312499e02, 5.37181101862009858e02,
      1.62138957456669019e03, 3.29079923573345963e03, 4.36261909014324716e03,
      3.43936767414372164e03, 1.23033935480374942e03)  # fmt: skip
_P = (3.05326634961232344e-1, 3.60344899949804439e-1, 1.25781726111229246e-1,
      1.60837851487422766e-2, 6.58749161529837803e-4, 1.63153871373020978e-2)  # fmt: skip
_Q = (2.56852019228982242e00, 1.87295284992346725e00, 5.27905102951428412e-1,
      6.05183413124413191e-2, 2.33520497626869185e-3)  # fmt: skip
_SQRPI = 5.6418958354775628695e-1  # 1 / sqrt(pi)


def _ratio(t: Any, num: tuple[float, ...], den: tuple[float, ...]) -> Any:
    """Cody's rational function of ``t``: ``num[-1]`` leads, ``num[-2]``/``den[-1]`` close."""
    n, d = num[-1] * t, t
    for a, b in zip(num[:-2], den[:-1], strict=True):
        n, d = (n + a) * t, (d + b) * t
    return (n + num[-2]) / (d + den[-1])


def _exp_neg_square(xp: Any, y: Any) -> Any:
    """:math:`e^{-y^2}` without the rounding of :math:`y^2`: ``y`` split at a multiple of 1/16."""
    head = xp.trunc(stop_gradient(y) * 16.0) / 16.0  # a constant: the gradient is 2 y e^{-y^2}
    return xp.exp(-head * head) * xp.exp(-(y - head) * (y + head))


def erf(xp: Any, x: Any) -> Any:
    r""":math:`\operatorname{erf}(x)`, Cody's rational approximations (differentiable).

    Each branch gets inputs inside its own interval (the others' are replaced by a point of
    it), so no branch makes a NaN or an infinite gradient where it is not selected.
    """
    y = xp.abs(x)
    small = y <= 0.46875
    x1 = xp.where(small, x, xp.zeros_like(x))
    near = x1 * _ratio(x1 * x1, _A, _B)
    mid = y <= 4.0
    y2 = xp.where(small, xp.full_like(y, 0.5), xp.where(mid, y, xp.full_like(y, 4.0)))
    # beyond 30, erfc underflows to 0 in every dtype: the tail's input stops there (erf(inf) = 1)
    y3 = xp.where(mid, xp.full_like(y, 5.0), xp.where(y > 30.0, xp.full_like(y, 30.0), y))
    t3 = 1.0 / (y3 * y3)
    tail = (_SQRPI - t3 * _ratio(t3, _P, _Q)) / y3
    erfc = xp.where(mid, _ratio(y2, _C, _D), tail) * _exp_neg_square(xp, xp.where(mid, y2, y3))
    return xp.where(small, near, xp.sign(x) * (1.0 - erfc))


# ------------------------------------------------------------------------------------------
# Checks
# ------------------------------------------------------------------------------------------


def _check_positive(xp: Any, x: Any, name: str, what: str) -> None:
    """``ValueError`` if a concrete ``x`` has a value <= 0 (NaN passes)."""
    view = eager_view(xp, x)
    if view is None or math.prod(int(d) for d in x.shape) == 0:
        return
    vxp, v = view
    low = float(vxp.min(stop_gradient(v)))
    if low > 0:
        return
    if low != low:  # a NaN minimum hides the other values: search them
        bad = v <= 0
        if not bool(vxp.any(bad)):
            return
        low = float(vxp.min(vxp.where(bad, v, vxp.zeros_like(v))))
    raise ValueError(f"{name} must be > 0 ({what}); got a minimum of {low}")


def _member_axis(axis: Any, ndim: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"member_axis must be an int (the ensemble's axis); got {axis!r}")
    if not -ndim <= int(axis) < ndim:
        raise ValueError(
            f"member_axis {int(axis)} is out of range for the {ndim}-d input; expected an int "
            f"in [{-ndim}, {ndim - 1}]"
        )
    return int(axis) % ndim


# ------------------------------------------------------------------------------------------
# Ensembles
# ------------------------------------------------------------------------------------------


def _mean_abs_error(xp: Any, x: Any, y: Any) -> Any:
    """:math:`\\frac1M \\sum_i |x_i - y|` over the last axis."""
    return xp.mean(abs0(xp, x - y[..., None]), axis=-1)


def _crps_sorted(xp: Any, x: Any, y: Any, estimator: str) -> Any:
    """``'qd'`` and ``'pwm'``: ``x`` sorted along its last axis (``M`` members)."""
    m = x.shape[-1]
    i = arange_like(xp, m, x, dtype=x.dtype)  # 0, 1, ..., M - 1
    if estimator == "pwm":
        beta0 = xp.mean(x, axis=-1)
        beta1 = xp.sum(x * i, axis=-1) / (m * (m - 1.0))
        return _mean_abs_error(xp, x, y) + beta0 - 2.0 * beta1
    alpha = i + 0.5  # scoringrules' alpha = i - 1/2 for members i = 1..M
    d = y[..., None] - x
    per = xp.where(d >= 0, alpha * d, (alpha - m) * d)  # (x <= y): alpha d; else (M - alpha)(-d)
    return 2.0 * xp.sum(per, axis=-1) / (m * m)


def _crps_members(xp: Any, x: Any, y: Any, estimator: str) -> Any:
    """The CRPS of ensembles ``x`` (members on the last axis) at observations ``y``."""
    m = x.shape[-1]
    if estimator in ("qd", "pwm"):
        return _crps_sorted(xp, xp.sort(x, axis=-1), y, estimator)
    e1 = _mean_abs_error(xp, x, y)
    if estimator in ("nrg", "fair"):
        pairs = xp.sum(abs0(xp, x[..., :, None] - x[..., None, :]), axis=(-2, -1))
        return e1 - 0.5 * pairs / (m * m if estimator == "nrg" else m * (m - 1.0))
    shift = 1 if estimator == "akr" else m // 2
    return e1 - 0.5 * xp.mean(abs0(xp, x - xp.roll(x, shift, axis=-1)), axis=-1)


@half_precision
def crps_ensemble_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    member_axis: int = -1,
    estimator: str = "qd",
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""CRPS of an ensemble forecast: scoringrules' ``crps_ensemble`` (0.10) as a loss.

    For an ensemble :math:`x_1, \dots, x_M` and an observation :math:`y`, with
    :math:`x_{(1)} \le \dots \le x_{(M)}` the sorted members:

    .. math::

        \text{nrg:}\quad \frac1M \sum_i |x_i - y| - \frac{1}{2M^2} \sum_{i,j} |x_i - x_j|,
        \qquad
        \text{fair:}\quad \frac1M \sum_i |x_i - y| - \frac{1}{2M(M-1)} \sum_{i,j} |x_i - x_j|

    .. math::

        \text{qd:}\quad \frac{2}{M^2} \sum_i \begin{cases} \alpha_i (y - x_{(i)}) &
        x_{(i)} \le y \\ (M - \alpha_i)(x_{(i)} - y) & \text{otherwise} \end{cases},
        \ \alpha_i = i - \tfrac12, \qquad
        \text{pwm:}\quad \frac1M \sum_i |x_i - y| + \beta_0 - 2 \beta_1,

    with :math:`\beta_0 = \frac1M \sum_i x_{(i)}`,
    :math:`\beta_1 = \frac{1}{M(M-1)} \sum_i (i - 1) x_{(i)}`; ``'akr'`` replaces the pair sum
    by :math:`\frac1M \sum_i |x_i - x_{i-1}|` (members in the order given, cyclically) and
    ``'akr_circperm'`` by :math:`\frac1M \sum_i |x_i - x_{i - \lfloor M/2 \rfloor}|`. ``'qd'``
    equals ``'nrg'`` (the CRPS of the ensemble's empirical distribution) and ``'pwm'`` equals
    ``'fair'`` (unbiased for the CRPS of the distribution the members are drawn from), in
    :math:`O(M \log M)` instead of :math:`O(M^2)` time and memory.

    Parameters
    ----------
    input : array, shape (*, M, *)
        The ensembles, members on ``member_axis``.
    target : array, shape (*, *)
        The observations: ``input``'s shape without ``member_axis``.
    member_axis : int, default -1
        The members' axis (scoringrules' ``m_axis``).
    estimator : {'qd', 'pwm', 'nrg', 'fair', 'akr', 'akr_circperm'}, default 'qd'
        scoringrules 0.10's default is ``'qd'`` (its earlier releases defaulted to ``'pwm'``,
        the fair value: pass it for their numbers). ``'fair'`` and ``'pwm'`` need
        ``M >= 2``.
    reduction : {'mean', 'sum', 'none'}
        Over the forecasts (``target``'s elements).
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of forecasts (``target``'s elements). Pass the count summed over shards
        (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full batch's
        mean.

    Returns
    -------
    array
        ``target``'s shape for ``'none'``, else 0-d.

    Notes
    -----
    Gradients: w.r.t. each member and the observation, through the sort for ``'qd'`` and
    ``'pwm'`` (each member gets the weight of its rank). :math:`|d|` has the gradient 0 at
    :math:`d = 0`, as ``torch.abs``; where two members are equal, ``'qd'`` and ``'pwm'`` give
    them the weights of their two ranks in the order the framework's sort puts them (the loss
    is not differentiable there; any such split is a subgradient). scoringrules' weighted
    ensembles (``ens_w``), ``'int'`` estimator and ``sorted_ensemble`` flag are not here.

    References
    ----------
    Gneiting and Raftery, "Strictly Proper Scoring Rules, Prediction, and Estimation", JASA
    102(477), 2007; Zamo and Naveau, "Estimation of the Continuous Ranked Probability Score
    with Limited Information and Applications to Ensemble Weather Forecasts", Math. Geosci. 50,
    2018; scoringrules documentation, ``scoringrules.crps_ensemble``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> ens = np.array([[0.0, 1.0, 3.0], [2.0, 2.5, 1.5]])
    >>> obs = np.array([1.5, 2.0])
    >>> e1 = np.abs(ens - obs[:, None]).mean(-1)
    >>> e2 = np.abs(ens[:, :, None] - ens[:, None, :]).sum((-2, -1))
    >>> bool(np.allclose(lb.crps_ensemble_loss(ens, obs, reduction="none"), e1 - e2 / 18))
    True
    >>> bool(np.allclose(lb.crps_ensemble_loss(ens, obs, estimator="fair", reduction="none"),
    ...                  e1 - e2 / 12))
    True
    """
    check_reduction(reduction)
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}; got {estimator!r}")
    over = check_denominator(denominator, reduction, loss="crps_ensemble_loss")
    xp, input, target = setup(input, target=target)
    if input.ndim == 0:
        raise ValueError("input is 0-d; expected the ensembles, shape (*, M, *)")
    axis = _member_axis(member_axis, input.ndim)
    in_shape, t_shape = tuple(input.shape), tuple(target.shape)
    lead = in_shape[:axis] + in_shape[axis + 1 :]
    if t_shape != lead:
        raise ValueError(
            f"target has shape {shape_str(t_shape)}; expected input's shape "
            f"{shape_str(in_shape)} without member_axis={member_axis}, {shape_str(lead)}"
        )
    m = in_shape[axis]
    if m == 0 or (m == 1 and estimator in ("fair", "pwm")):
        need = 2 if m else 1
        raise ValueError(
            f"input has {m} member(s) on member_axis={member_axis}; estimator={estimator!r} "
            f"needs at least {need}"
        )
    input, target = promote_floats(xp, input, target)
    if axis != input.ndim - 1:
        input = xp.moveaxis(input, axis, -1)
    return reduce(xp, _crps_members(xp, input, target, estimator), reduction, override=over)


# ------------------------------------------------------------------------------------------
# Parametric predictive distributions
# ------------------------------------------------------------------------------------------


def _location_scale(
    name: str, input: Any, target: Any, scale: Any, reduction: str, denominator: Any
) -> tuple[Any, Any, Any, Any, Any]:
    """``(xp, d, omega, scale, override)``: the error ``y - mu`` and ``(y - mu) / sigma``."""
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss=name)
    if isinstance(scale, numbers.Real) and not isinstance(scale, bool) and not float(scale) > 0:
        raise ValueError(f"scale must be > 0 (the predictive scale); got {scale!r}")
    xp, input, target, scale = setup(input, target=target, scale=scale)
    check_broadcastable(input, target, "input", "target")
    check_broadcastable(input, scale, "input", "scale")
    warn_if_broadcast_grows(input, target, name)
    _check_positive(xp, scale, "scale", "the predictive scale")
    input, target, scale = promote_floats(xp, input, target, scale)
    d = target - input
    return xp, d, d / scale, scale, over


@half_precision
def crps_normal_loss(
    input: ArrayT,
    target: ArrayLike,
    scale: ArrayLike,
    *,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""CRPS of a normal predictive distribution :math:`\mathcal N(\mu, \sigma^2)`.

    scoringrules' ``crps_normal(obs, mu, sigma)`` (0.10), the closed form of Gneiting et al.
    (2005): with :math:`\omega = (y - \mu) / \sigma`,

    .. math::

        \ell = \sigma \left( \omega \operatorname{erf}(\omega / \sqrt2) + 2 \varphi(\omega)
        - \frac{1}{\sqrt\pi} \right)
        = \sigma \left( \omega (2 \Phi(\omega) - 1) + 2 \varphi(\omega)
        - \frac{1}{\sqrt\pi} \right).

    Its gradients are :math:`\partial \ell / \partial \mu = 1 - 2 \Phi(\omega)` and
    :math:`\partial \ell / \partial \sigma = 2 \varphi(\omega) - 1 / \sqrt\pi`.

    Parameters
    ----------
    input : array
        The predictive means :math:`\mu`.
    target : array, broadcastable with ``input``
        The observations :math:`y`.
    scale : array or float, broadcastable with ``input``
        The predictive standard deviations :math:`\sigma > 0` (``ValueError`` for a value
        <= 0 where the values can be read; NaN inside a trace).
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements (of ``input``, ``target`` and ``scale`` broadcast together). Pass the
        count summed over shards (:func:`lossbridge.mean_denominator`) and the shards' losses
        add up to the full batch's mean.

    Returns
    -------
    array
        The broadcast shape for ``'none'``, else 0-d.

    Notes
    -----
    The array API has no :math:`\operatorname{erf}`: it is computed with Cody's rational
    approximations (1969; Netlib's CALERF, relative error below :math:`10^{-16}`), on every
    backend, differentiably. The loss is computed as :math:`|y - \mu| \operatorname{erf}(|\omega|
    / \sqrt2) + \sigma (2 \varphi(\omega) - 1 / \sqrt\pi)`, the same value, whose chain rule
    in :math:`\sigma` has no two terms of size :math:`|\omega|` that cancel (the first form's
    has; in :func:`crps_logistic_loss` it put TensorFlow's float32 eager and XLA gradients 23
    ulp apart). At :math:`\omega = 0` the loss is :math:`\sigma (\sqrt2 - 1) / \sqrt\pi`,
    its minimum over :math:`\mu`; it grows like :math:`|y - \mu|` far out. The negative
    log-likelihood of the same distribution is :func:`lossbridge.gaussian_nll_loss` (with
    ``var`` :math:`= \sigma^2`), which punishes a too-small :math:`\sigma` far more.

    References
    ----------
    Gneiting, Raftery, Westveld and Goldman, "Calibrated Probabilistic Forecasting Using
    Ensemble Model Output Statistics and Minimum CRPS Estimation", Mon. Wea. Rev. 133, 2005;
    scoringrules documentation, ``scoringrules.crps_normal``.

    Examples
    --------
    >>> import math
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> mu, y, sigma = np.array([0.1, 1.0]), np.array([0.0, 2.5]), np.array([0.4, 2.0])
    >>> w = (y - mu) / sigma
    >>> phi = np.exp(-w**2 / 2) / math.sqrt(2 * math.pi)
    >>> erf = np.array([math.erf(v / math.sqrt(2)) for v in w])
    >>> expected = sigma * (w * erf + 2 * phi - 1 / math.sqrt(math.pi))
    >>> bool(np.allclose(lb.crps_normal_loss(mu, y, sigma, reduction="none"), expected))
    True
    >>> print(round(float(lb.crps_normal_loss(mu, y, sigma, reduction="none")[0]), 8))
    0.10339993
    """
    xp, d, w, sigma, over = _location_scale(
        "crps_normal_loss", input, target, scale, reduction, denominator
    )
    # sigma w erf(w / sqrt 2) as |d| erf(|w| / sqrt 2): its chain rule in sigma has no terms of
    # size |w| that cancel (d sigma = 2 phi(w) - 1 / sqrt(pi) for every w)
    pdf2 = math.sqrt(2.0 / math.pi) * xp.exp(-0.5 * (w * w))  # 2 phi(w)
    a = abs0(xp, d)
    loss = a * erf(xp, abs0(xp, w) * math.sqrt(0.5)) + sigma * (pdf2 - 1.0 / math.sqrt(math.pi))
    return reduce(xp, loss, reduction, override=over)


@half_precision
def crps_logistic_loss(
    input: ArrayT,
    target: ArrayLike,
    scale: ArrayLike,
    *,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""CRPS of a logistic predictive distribution with location :math:`\mu`, scale :math:`\sigma`.

    scoringrules' ``crps_logistic(obs, mu, sigma)`` (0.10), the closed form of Jordan, Krüger
    and Lerch (2019): with :math:`\omega = (y - \mu) / \sigma` and :math:`F` the standard
    logistic CDF (the sigmoid),

    .. math::

        \ell = \sigma \left( \omega - 2 \log F(\omega) - 1 \right)
        = |y - \mu| + \sigma \left( 2 \operatorname{softplus}(-|\omega|) - 1 \right),

    the second form (:math:`\omega - 2 \log F(\omega)` is even in :math:`\omega`) exact for
    large :math:`|\omega|`, where scoringrules' ``log(1 / (1 + exp(-w)))`` overflows: the loss
    is :math:`+\infty` there below :math:`\omega \approx -710` in float64 and :math:`-89` in
    float32.
    :math:`\partial \ell / \partial \mu = 2 F(\omega) - 1`.

    Parameters
    ----------
    input : array
        The predictive locations :math:`\mu` (means).
    target : array, broadcastable with ``input``
        The observations :math:`y`.
    scale : array or float, broadcastable with ``input``
        The predictive scales :math:`\sigma > 0` (the standard deviation is
        :math:`\sigma \pi / \sqrt3`; ``ValueError`` for a value <= 0 where the values can be
        read; NaN inside a trace).
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of elements (of ``input``, ``target`` and ``scale`` broadcast together). Pass the
        count summed over shards (:func:`lossbridge.mean_denominator`) and the shards' losses
        add up to the full batch's mean.

    Returns
    -------
    array
        The broadcast shape for ``'none'``, else 0-d.

    References
    ----------
    Jordan, Krüger and Lerch, "Evaluating Probabilistic Forecasts with scoringRules", Journal
    of Statistical Software 90(12), 2019; scoringrules documentation,
    ``scoringrules.crps_logistic``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> mu, y, sigma = np.array([0.4, -1.0]), np.array([0.0, 2.0]), np.array([0.1, 1.5])
    >>> w = (y - mu) / sigma
    >>> expected = sigma * (w - 2 * np.log(1 / (1 + np.exp(-w))) - 1)
    >>> bool(np.allclose(lb.crps_logistic_loss(mu, y, sigma, reduction="none"), expected))
    True
    >>> print(round(float(lb.crps_logistic_loss(mu, y, sigma, reduction="none")[0]), 8))
    0.30362999
    """
    xp, d, w, sigma, over = _location_scale(
        "crps_logistic_loss", input, target, scale, reduction, denominator
    )
    # w - 2 log F(w) = |w| + 2 softplus(-|w|) (even in w): sigma times it is |d| plus a term
    # whose chain rule in sigma has no terms of size |w| that cancel
    a = abs0(xp, d)
    loss = a + sigma * (2.0 * softplus(xp, -abs0(xp, w)) - 1.0)
    return reduce(xp, loss, reduction, override=over)
