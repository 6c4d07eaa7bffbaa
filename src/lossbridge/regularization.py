"""Weight regularisers: L1, L2 and elastic-net penalties over a set of parameter arrays.

Keras's conventions (``keras.regularizers.L1``, ``L2``, ``L1L2``): sums, not means, and no
factor 1/2 on the squares. Each takes one array, a list or tuple of arrays, or a dict of arrays
(its values), all of one framework and on one device, and returns a 0-d array of that
framework on that device, differentiable with respect to every parameter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, overload

from lossbridge._inputs import promote_floats
from lossbridge._precision import half_precision
from lossbridge._primitives import abs0
from lossbridge._typing import ArrayT
from lossbridge._validation import check_floating, check_real
from lossbridge.backends import asarray_on, framework_name, get_namespace

__all__ = ["elastic_net_regularization", "l1_regularization", "l2_regularization"]


def _coefficient(value: Any, name: str, fn: str) -> float:
    """A penalty coefficient: a finite real number >= 0 (Keras's ``validate_float_arg``)."""
    return check_real(value, name, loss=fn, what="the penalty's coefficient", finite=True, low=0.0)


def _type_name(x: Any) -> str:
    cls = type(x)
    return f"{cls.__module__}.{cls.__qualname__}"


def _params(params: Any, fn: str) -> tuple[Any, list[Any]]:
    """Namespace and the parameters as arrays of one framework, device and float dtype."""
    if isinstance(params, dict):
        items = list(params.values())
        labels = [f"params[{k!r}]" for k in params]
    elif isinstance(params, (list, tuple)):
        items = list(params)
        labels = [f"params[{i}]" for i in range(len(items))]
    elif framework_name(params) is not None:
        items, labels = [params], ["params"]
    else:
        raise TypeError(
            f"{fn}: params is a {_type_name(params)}; expected an array, or a list, tuple or "
            "dict of arrays"
        )
    if not items:
        raise ValueError(f"{fn}: params is empty; expected at least one array")
    frameworks = [framework_name(a) for a in items]
    for label, item, fw in zip(labels, items, frameworks, strict=True):
        if fw is None:
            raise TypeError(
                f"{fn}: {label} is a {_type_name(item)}; expected an array (NumPy, torch, "
                "JAX, TensorFlow, ...)"
            )
        if fw != frameworks[0]:
            raise TypeError(
                f"{fn}: {label} is a {fw} array ({_type_name(item)}) but {labels[0]} is a "
                f"{frameworks[0]} array ({_type_name(items[0])}); pass parameters of one "
                "framework"
            )
    xp, device = get_namespace(*items, names=tuple(labels))
    arrays = [asarray_on(a, xp, device) for a in items]
    for label, a in zip(labels, arrays, strict=True):
        check_floating(xp, a, label)
    return xp, promote_floats(xp, *arrays)


def _total(xp: Any, arrays: list[Any], term: Any) -> Any:
    out = xp.sum(term(arrays[0]))
    for a in arrays[1:]:
        out = out + xp.sum(term(a))
    return out


@overload
def l1_regularization(
    params: Sequence[ArrayT] | Mapping[str, ArrayT], *, scale: float = ...
) -> ArrayT: ...
@overload
def l1_regularization(params: ArrayT, *, scale: float = ...) -> ArrayT: ...


@half_precision
def l1_regularization(params: Any, *, scale: float = 0.01) -> Any:
    r"""L1 penalty, :math:`\lambda \sum_i \sum_j |w_{ij}|` over every parameter array.

    Parameters
    ----------
    params : array, or list, tuple or dict of arrays
        The parameters :math:`w_i`, any shapes (empty ones count 0), real floating dtypes, one
        framework and one device. Mixed float32 and float64 promote to float64, as the array
        API promotes (the float32 arrays are cast before summing).
    scale : float, default 0.01
        :math:`\lambda`, finite and >= 0.

    Returns
    -------
    array
        0-d, of the parameters' framework, promoted dtype and device.

    Raises
    ------
    ValueError
        ``params`` is empty.
    TypeError
        An item is not an array, is not floating, or belongs to another framework than the
        first (the message names its position).

    Notes
    -----
    Keras's ``keras.regularizers.L1(l1=0.01)`` on each array, summed:
    :math:`\lambda \sum |w|`. On :math:`w = [[1, -2], [0.5, 0]]`, ``scale=0.1`` gives 0.35. The
    gradient at :math:`w = 0` is 0 on every backend (:math:`\operatorname{sign}(0) = 0`, as
    torch and TensorFlow; JAX's ``abs`` alone gives 1).

    References
    ----------
    Tibshirani, "Regression Shrinkage and Selection via the Lasso", Journal of the Royal
    Statistical Society B 58(1), 1996; Keras documentation, ``keras.regularizers.L1``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> params = [np.array([[1.0, -2.0]]), np.array([0.5])]
    >>> bool(np.isclose(lb.l1_regularization(params, scale=0.1), 0.1 * (1 + 2 + 0.5)))
    True
    """
    scale = _coefficient(scale, "scale", "l1_regularization")
    xp, arrays = _params(params, "l1_regularization")
    return scale * _total(xp, arrays, lambda w: abs0(xp, w))


@overload
def l2_regularization(
    params: Sequence[ArrayT] | Mapping[str, ArrayT], *, scale: float = ...
) -> ArrayT: ...
@overload
def l2_regularization(params: ArrayT, *, scale: float = ...) -> ArrayT: ...


@half_precision
def l2_regularization(params: Any, *, scale: float = 0.01) -> Any:
    r"""L2 penalty, :math:`\lambda \sum_i \sum_j w_{ij}^2` over every parameter array.

    Parameters
    ----------
    params : array, or list, tuple or dict of arrays
        As in :func:`l1_regularization`.
    scale : float, default 0.01
        :math:`\lambda`, finite and >= 0.

    Returns
    -------
    array
        0-d, of the parameters' framework, promoted dtype and device.

    Raises
    ------
    ValueError
        ``params`` is empty.
    TypeError
        As in :func:`l1_regularization`.

    Notes
    -----
    Keras's convention, ``keras.regularizers.L2(l2=0.01)``: :math:`\lambda \sum w^2`, no
    factor 1/2. ``tf.nn.l2_loss(w)`` and optax's ``l2_loss`` (summed) halve it,
    :math:`\sum w^2 / 2`: on :math:`w = [[1, -2], [0.5, 0]]`, ``l2_regularization(w,
    scale=0.1)`` and Keras's ``L2(0.1)`` give 0.525 while ``tf.nn.l2_loss(w)`` gives 2.625
    (:math:`= 0.525 / (2 \cdot 0.1)`). For weight decay written as
    :math:`\tfrac{\lambda}{2} \lVert w \rVert^2`, pass ``scale`` :math:`= \lambda / 2`.

    References
    ----------
    Hoerl and Kennard, "Ridge Regression: Biased Estimation for Nonorthogonal Problems",
    Technometrics 12(1), 1970; Keras documentation, ``keras.regularizers.L2``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> params = [np.array([[1.0, -2.0]]), np.array([0.5])]
    >>> bool(np.isclose(lb.l2_regularization(params, scale=0.1), 0.1 * (1 + 4 + 0.25)))
    True
    """
    scale = _coefficient(scale, "scale", "l2_regularization")
    xp, arrays = _params(params, "l2_regularization")
    return scale * _total(xp, arrays, lambda w: w * w)


@overload
def elastic_net_regularization(
    params: Sequence[ArrayT] | Mapping[str, ArrayT], *, l1: float = ..., l2: float = ...
) -> ArrayT: ...
@overload
def elastic_net_regularization(params: ArrayT, *, l1: float = ..., l2: float = ...) -> ArrayT: ...


@half_precision
def elastic_net_regularization(params: Any, *, l1: float = 0.01, l2: float = 0.01) -> Any:
    r"""Elastic-net penalty, :math:`\lambda_1 \sum |w| + \lambda_2 \sum w^2` over every array.

    Parameters
    ----------
    params : array, or list, tuple or dict of arrays
        As in :func:`l1_regularization`.
    l1, l2 : float, default 0.01
        :math:`\lambda_1` and :math:`\lambda_2`, finite and >= 0.

    Returns
    -------
    array
        0-d, of the parameters' framework, promoted dtype and device.

    Raises
    ------
    ValueError
        ``params`` is empty.
    TypeError
        As in :func:`l1_regularization`.

    Notes
    -----
    Keras's ``keras.regularizers.L1L2(l1, l2)`` (no 1/2 on the squares); its defaults are
    ``l1=0.0, l2=0.0``, these are 0.01 each (Keras 2's ``l1_l2()`` defaults). On
    :math:`w = [[1, -2], [0.5, 0]]`, ``l1=l2=0.1`` gives :math:`0.35 + 0.525 = 0.875`. The
    gradient of :math:`|w|` at 0 is 0, as in :func:`l1_regularization`.

    References
    ----------
    Zou and Hastie, "Regularization and variable selection via the elastic net", Journal of
    the Royal Statistical Society B 67(2), 2005; Keras documentation,
    ``keras.regularizers.L1L2``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> params = [np.array([[1.0, -2.0]]), np.array([0.5])]
    >>> penalty = lb.elastic_net_regularization(params, l1=0.1, l2=0.01)
    >>> bool(np.isclose(penalty, 0.1 * (1 + 2 + 0.5) + 0.01 * (1 + 4 + 0.25)))
    True
    """
    l1 = _coefficient(l1, "l1", "elastic_net_regularization")
    l2 = _coefficient(l2, "l2", "elastic_net_regularization")
    xp, arrays = _params(params, "elastic_net_regularization")
    return l1 * _total(xp, arrays, lambda w: abs0(xp, w)) + l2 * _total(xp, arrays, lambda w: w * w)
