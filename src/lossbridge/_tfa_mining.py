r"""TensorFlow Addons 0.23's online-mining metric-learning losses: the functional forms.

``tfa.losses.triplet_semihard_loss``, ``triplet_hard_loss``, ``lifted_struct_loss``,
``npairs_loss`` and ``npairs_multilabel_loss`` (``tensorflow_addons/losses/triplet.py``,
``lifted.py``, ``npairs.py`` and ``metric_learning.py``) with TFA's names, argument order
(labels first), defaults and numbers, on every backend. :mod:`lossbridge.tfa` exports them and
their classes.

The triplet and lifted losses mine the batch online: every anchor's positives and negatives are
the other rows of the batch with the same and a different label, and the hardest ones are
picked by TFA's masked maxima and minima over the (N, N) distance matrix,

.. math::

    \operatorname{maskedmax}_j(d_{ij}; m_{ij}) = \max_j \big((d_{ij} - \min_k d_{ik})\, m_{ij}
    \big) + \min_k d_{ik},

which is the largest selected entry, or the row's minimum when the row selects nothing. They
are written here as TFA writes them (the same shifts, the same clamps at zero), so that an
empty selection, a distance of exactly zero and the gradient there give TFA's numbers. Masks and
selections have static shapes (no data-dependent indexing): every loss runs under
``jax.jit``, ``tf.function`` and ``torch.compile``.

Half precision: TFA casts float16/bfloat16 embeddings to float32, computes there and casts the
loss back (``triplet.py``, ``lifted.py``); the house's half-precision rule does the same for
every loss here (:mod:`lossbridge._precision`), npairs included (TFA computes its label matrix
in the half dtype and its cross-entropy in float32).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lossbridge._inputs import arange_like, hyper_on
from lossbridge._precision import half_precision
from lossbridge._primitives import clamp_min0, log_softmax, max_split, maximum, softplus
from lossbridge._typing import ArrayLike, ArrayT
from lossbridge._validation import (
    check_array_like,
    check_floating,
    check_real_or_array,
    public_entry,
    shape_str,
)
from lossbridge.backends import asarray_on, get_namespace, stop_gradient

__all__ = [
    "lifted_struct_loss",
    "npairs_loss",
    "npairs_multilabel_loss",
    "triplet_hard_loss",
    "triplet_semihard_loss",
]

#: The named ``distance_metric`` values of TFA's triplet losses.
METRICS = ("L2", "squared-L2", "angular")

#: ``metric_learning.pairwise_distance``'s stand-in for a zero squared distance under the root.
_ZERO_SQUARED = 1e-16

#: ``tf.math.l2_normalize``'s epsilon (on the squared norm).
_NORMALIZE_EPS = 1e-12


# ------------------------------------------------------------------------------------------
# Inputs
# ------------------------------------------------------------------------------------------


def _label_vector(xp: Any, labels: Any, n: Any, name: str, loss: str, what: str) -> Any:
    """TFA's ``tf.reshape(labels, [lshape[0], 1])``: labels of shape (N,) or (N, 1), as (N,).

    Integer or floating (Keras 3 hands ``y_true`` over as float32) class ids, compared for
    equality only.
    """
    if not xp.isdtype(labels.dtype, ("integral", "real floating")):
        raise TypeError(
            f"{loss}: {name} must have an integer or real floating dtype ({what}); got "
            f"{labels.dtype}"
        )
    shape = tuple(labels.shape)
    if shape != (n,) and shape != (n, 1):
        raise ValueError(
            f"{loss}: {name} has shape {shape_str(labels.shape)}; expected ({n},) or ({n}, 1), "
            f"{what}"
        )
    return xp.reshape(labels, (-1,)) if labels.ndim == 2 else labels


def _margin(xp: Any, margin: Any, like: Any, loss: str) -> Any:
    """TFA's ``FloatTensorLike`` margin: a real number or a 0-d array."""
    value = check_real_or_array(margin, "margin", loss=loss, what="the margin", scalar=True)
    if isinstance(value, float):
        return value
    return xp.astype(hyper_on(xp, value, like, "margin", "y_pred", loss), like.dtype)


def check_soft(soft: Any, loss: str) -> None:
    if not isinstance(soft, bool):
        raise TypeError(f"{loss}: soft must be a bool (the soft-margin form); got {soft!r}")


def check_metric(distance_metric: Any, loss: str) -> None:
    if callable(distance_metric) or distance_metric in METRICS:
        return
    raise ValueError(
        f"{loss}: distance_metric must be one of {', '.join(map(repr, METRICS))} or a callable "
        f"returning the (N, N) distance matrix of the embeddings; got {distance_metric!r}"
    )


# ------------------------------------------------------------------------------------------
# metric_learning.py: pairwise distances
# ------------------------------------------------------------------------------------------


def _gram(xp: Any, a: Any, b: Any) -> Any:
    """``a @ b.T``."""
    return xp.matmul(a, xp.matrix_transpose(b))


def _eye(xp: Any, n: int, like: Any) -> Any:
    """The (n, n) identity in ``like``'s dtype and device."""
    i = arange_like(xp, n, like)
    return xp.astype(xp.expand_dims(i, axis=1) == xp.expand_dims(i, axis=0), like.dtype)


def pairwise_distance(xp: Any, feature: Any, squared: bool = False) -> Any:
    r"""TFA's ``metric_learning.pairwise_distance``: :math:`\lVert f_i - f_j \rVert_2` (N, N).

    :math:`\lVert f_i\rVert^2 + \lVert f_j\rVert^2 - 2 f_i \cdot f_j`, clamped at 0; where it is
    0 the root is taken of ``1e-16`` and the result multiplied by 0 (a zero distance, with a
    zero gradient); the diagonal is set to 0.
    """
    sq = xp.sum(feature * feature, axis=1)
    d2 = xp.expand_dims(sq, axis=1) + xp.expand_dims(sq, axis=0) - 2.0 * _gram(xp, feature, feature)
    d2 = clamp_min0(xp, d2)  # tf.math.maximum(d2, 0.0): the gradient passes at 0, as TF's
    zero = xp.astype(d2 <= 0.0, d2.dtype)
    d = d2 if squared else xp.sqrt(d2 + zero * _ZERO_SQUARED)
    d = d * (1.0 - zero)
    return d * (1.0 - _eye(xp, feature.shape[0], d))


def angular_distance(xp: Any, feature: Any) -> Any:
    r"""TFA's ``metric_learning.angular_distance``: :math:`\max(1 - \cos(f_i, f_j), 0)` (N, N),
    the rows normalised as ``tf.math.l2_normalize`` (squared norm at least ``1e-12``)."""
    norm2 = xp.sum(feature * feature, axis=1, keepdims=True)
    f = feature / xp.sqrt(maximum(xp, norm2, xp.full_like(norm2, _NORMALIZE_EPS)))
    return clamp_min0(xp, 1.0 - _gram(xp, f, f))


def _distances(xp: Any, embeddings: Any, distance_metric: Any, loss: str) -> Any:
    """The (N, N) distance matrix TFA's triplet losses take for ``distance_metric``."""
    if distance_metric == "L2":
        return pairwise_distance(xp, embeddings, squared=False)
    if distance_metric == "squared-L2":
        return pairwise_distance(xp, embeddings, squared=True)
    if distance_metric == "angular":
        return angular_distance(xp, embeddings)
    d = distance_metric(embeddings)
    n = embeddings.shape[0]
    if not hasattr(d, "shape") or tuple(d.shape) != (n, n):
        got = shape_str(d.shape) if hasattr(d, "shape") else type(d).__name__
        raise ValueError(
            f"{loss}: distance_metric returned {got}; expected an array of shape ({n}, {n}), "
            "the distances between the rows of y_pred"
        )
    return d


# ------------------------------------------------------------------------------------------
# triplet.py: masked maxima and minima
# ------------------------------------------------------------------------------------------


def _masked_maximum(xp: Any, data: Any, mask: Any) -> Any:
    """TFA's ``_masked_maximum`` along the last axis (kept): the largest entry where ``mask``
    is 1, or the minimum of ``data`` where it selects nothing. Ties split the gradient evenly
    (TensorFlow's ``reduce_max``). ``data`` broadcasts against ``mask``."""
    low = -max_split(xp, -data, axis=-1)
    return max_split(xp, (data - low) * mask, axis=-1) + low


def _masked_minimum(xp: Any, data: Any, mask: Any) -> Any:
    """TFA's ``_masked_minimum`` along the last axis (kept): the smallest selected entry, or
    the maximum of ``data`` where ``mask`` selects nothing."""
    high = max_split(xp, data, axis=-1)
    return -max_split(xp, -((data - high) * mask), axis=-1) + high


def _adjacency(xp: Any, labels: Any, like: Any) -> tuple[Any, Any]:
    """``(adjacency, positives)`` as ``like``'s dtype: same label (the diagonal included), and
    same label off the diagonal (TFA's ``mask_positives``)."""
    same = xp.astype(xp.expand_dims(labels, axis=1) == xp.expand_dims(labels, axis=0), like.dtype)
    return same, same - _eye(xp, labels.shape[0], like)


# ------------------------------------------------------------------------------------------
# The computations: ``impl(xp, y_true, y_pred, **hyperparameters) -> (loss, None)`` on arrays of
# one namespace, ``y_pred`` in the compute dtype (the lossbridge.tfa classes' ``_impl``)
# ------------------------------------------------------------------------------------------


def _embeddings(xp: Any, y_true: Any, y_pred: Any, loss: str, true: str, pred: str) -> Any:
    """Labels (N,) of ``y_true`` ((N,) or (N, 1)) against embeddings ``y_pred`` (N, D)."""
    if y_pred.ndim != 2:
        raise ValueError(f"{loss}: {pred} must have shape (N, D); got {shape_str(y_pred.shape)}")
    what = f"one class id per row of {pred}"
    return _label_vector(xp, y_true, y_pred.shape[0], true, loss, what)


def _similarities(xp: Any, y_pred: Any, loss: str) -> None:
    if y_pred.ndim != 2 or y_pred.shape[0] != y_pred.shape[1]:
        raise ValueError(
            f"{loss}: y_pred must have shape (N, N), the similarity matrix of a batch; got "
            f"{shape_str(y_pred.shape)}"
        )


def triplet_semihard_impl(
    xp: Any, y_true: Any, y_pred: Any, *, margin: Any = 1.0, distance_metric: Any = "L2"
) -> tuple[Any, None]:
    """:func:`triplet_semihard_loss` on prepared arrays."""
    loss = "triplet_semihard_loss"
    check_metric(distance_metric, loss)
    labels = _embeddings(xp, y_true, y_pred, loss, "y_true", "y_pred")
    margin = _margin(xp, margin, y_pred, loss)
    d = _distances(xp, y_pred, distance_metric, loss)  # (anchor a, other j)
    adjacency, positives = _adjacency(xp, labels, d)
    negatives = 1.0 - adjacency
    # farther[a, p, n]: n a negative of a, farther from a than p (TFA's tiled (N*N, N) mask)
    d_an = xp.expand_dims(d, axis=1)  # (a, 1, n)
    d_ap = xp.expand_dims(d, axis=2)  # (a, p, 1)
    farther = xp.expand_dims(negatives, axis=1) * xp.astype(d_an > d_ap, d.dtype)
    found = xp.sum(farther, axis=2) > 0.0  # TFA's mask_final
    # negatives_outside: the nearest negative beyond the positive (the semi-hard one)
    outside = xp.squeeze(_masked_minimum(xp, d_an, farther), axis=2)  # (a, p)
    # negatives_inside: the farthest negative, where none is beyond the positive
    inside = _masked_maximum(xp, d, negatives)  # (a, 1), the same for every p
    semi_hard = xp.where(found, outside, xp.broadcast_to(inside, outside.shape))
    loss_mat = margin + d - semi_hard
    return xp.sum(clamp_min0(xp, loss_mat * positives)) / xp.sum(positives), None


def triplet_hard_impl(
    xp: Any,
    y_true: Any,
    y_pred: Any,
    *,
    margin: Any = 1.0,
    soft: bool = False,
    distance_metric: Any = "L2",
) -> tuple[Any, None]:
    """:func:`triplet_hard_loss` on prepared arrays."""
    loss = "triplet_hard_loss"
    check_metric(distance_metric, loss)
    check_soft(soft, loss)
    labels = _embeddings(xp, y_true, y_pred, loss, "y_true", "y_pred")
    margin = _margin(xp, margin, y_pred, loss)
    d = _distances(xp, y_pred, distance_metric, loss)
    adjacency, positives = _adjacency(xp, labels, d)
    hard_negatives = _masked_minimum(xp, d, 1.0 - adjacency)  # the nearest negative
    hard_positives = _masked_maximum(xp, d, positives)  # the farthest positive
    gap = hard_positives - hard_negatives
    per_anchor = softplus(xp, gap) if soft else clamp_min0(xp, gap + margin)
    return xp.mean(per_anchor), None


def lifted_struct_impl(
    xp: Any, labels: Any, embeddings: Any, *, margin: Any = 1.0
) -> tuple[Any, None]:
    """:func:`lifted_struct_loss` on prepared arrays."""
    loss = "lifted_struct_loss"
    labels = _embeddings(xp, labels, embeddings, loss, "labels", "embeddings")
    margin = _margin(xp, margin, embeddings, loss)
    d = pairwise_distance(xp, embeddings)
    adjacency, positives = _adjacency(xp, labels, d)
    negatives = 1.0 - adjacency
    diff = margin - d
    m = _masked_maximum(xp, diff, negatives)  # (i, 1): the largest margin - d over i's negatives
    # TFA's max_elements M_ij = max(m_i, m_j): the log-sum-exp's shift, which the value does not
    # depend on; held constant, so that no 1 - 1 cancellation reaches the gradient
    top = stop_gradient(maximum(xp, m, xp.matrix_transpose(m)))
    # s[i, j] = sum over the negatives k of i of exp(diff_ik - M_ij); excluded entries are
    # zeroed before the exp, so that an overflow there (TFA: inf * 0 = NaN) cannot reach the sum
    neg3 = xp.expand_dims(negatives, axis=1)  # (i, 1, k)
    z = xp.expand_dims(diff, axis=1) - xp.expand_dims(top, axis=2)  # (i, j, k)
    s = xp.sum(xp.exp(xp.where(neg3 > 0.0, z, xp.zeros_like(z))) * neg3, axis=2)
    loss_mat = top + xp.log(s + xp.matrix_transpose(s)) + d
    hinge = clamp_min0(xp, loss_mat * positives)
    return 0.25 * xp.sum(hinge * hinge) / (xp.sum(positives) / 2.0), None


def _npairs_rows(xp: Any, y_pred: Any, y_true: Any) -> Any:
    """``softmax_cross_entropy_with_logits`` of each row of the similarity matrix against the
    row-normalised label matrix ``y_true`` (N, N), averaged over the rows."""
    target = y_true / xp.sum(y_true, axis=1, keepdims=True)
    return xp.mean(-xp.sum(target * log_softmax(xp, y_pred, axis=1), axis=1))


def npairs_impl(xp: Any, y_true: Any, y_pred: Any) -> tuple[Any, None]:
    """:func:`npairs_loss` on prepared arrays."""
    loss = "npairs_loss"
    _similarities(xp, y_pred, loss)
    labels = _label_vector(
        xp, y_true, y_pred.shape[0], "y_true", loss, "one class id per row of y_pred"
    )
    same = xp.expand_dims(labels, axis=1) == xp.expand_dims(labels, axis=0)
    return _npairs_rows(xp, y_pred, xp.astype(same, y_pred.dtype)), None


def npairs_multilabel_impl(xp: Any, y_true: Any, y_pred: Any) -> tuple[Any, None]:
    """:func:`npairs_multilabel_loss` on prepared arrays."""
    loss = "npairs_multilabel_loss"
    _similarities(xp, y_pred, loss)
    n = y_pred.shape[0]
    if y_true.ndim != 2 or y_true.shape[0] != n:
        raise ValueError(
            f"{loss}: y_true has shape {shape_str(y_true.shape)}; expected ({n}, C), a 0/1 "
            "indicator of each row's classes"
        )
    if not xp.isdtype(y_true.dtype, ("bool", "integral", "real floating")):
        raise TypeError(
            f"{loss}: y_true must be a 0/1 indicator (bool, integer or floating); got "
            f"{y_true.dtype}"
        )
    indicator = xp.astype(y_true, y_pred.dtype)
    shared = _gram(xp, indicator, indicator)  # |labels(i) & labels(j)|
    return _npairs_rows(xp, y_pred, shared), None


# ------------------------------------------------------------------------------------------
# Entries with the half-precision rule (the prediction first; labels keyword-only, so that
# they never promote the result's dtype)
# ------------------------------------------------------------------------------------------


def _prepared(y_pred: Any, y_true: Any, pred: str, true: str) -> tuple[Any, Any, Any]:
    """``(xp, y_pred, y_true)`` on ``y_pred``'s framework and device, ``y_pred`` floating."""
    check_array_like(y_pred, pred)
    check_array_like(y_true, true)
    xp, device = get_namespace(y_pred, y_true, names=(pred, true))
    y_pred = asarray_on(y_pred, xp, device)
    check_floating(xp, y_pred, pred)
    return xp, y_pred, asarray_on(y_true, xp, device)


@half_precision
def _triplet_semihard(y_pred: Any, *, y_true: Any, margin: Any, distance_metric: Any) -> Any:
    xp, y_pred, y_true = _prepared(y_pred, y_true, "y_pred", "y_true")
    return triplet_semihard_impl(
        xp, y_true, y_pred, margin=margin, distance_metric=distance_metric
    )[0]


@half_precision
def _triplet_hard(y_pred: Any, *, y_true: Any, margin: Any, soft: Any, distance_metric: Any) -> Any:
    xp, y_pred, y_true = _prepared(y_pred, y_true, "y_pred", "y_true")
    return triplet_hard_impl(
        xp, y_true, y_pred, margin=margin, soft=soft, distance_metric=distance_metric
    )[0]


@half_precision
def _lifted_struct(embeddings: Any, *, labels: Any, margin: Any) -> Any:
    xp, embeddings, labels = _prepared(embeddings, labels, "embeddings", "labels")
    return lifted_struct_impl(xp, labels, embeddings, margin=margin)[0]


@half_precision
def _npairs(y_pred: Any, *, y_true: Any) -> Any:
    xp, y_pred, y_true = _prepared(y_pred, y_true, "y_pred", "y_true")
    return npairs_impl(xp, y_true, y_pred)[0]


@half_precision
def _npairs_multilabel(y_pred: Any, *, y_true: Any) -> Any:
    xp, y_pred, y_true = _prepared(y_pred, y_true, "y_pred", "y_true")
    return npairs_multilabel_impl(xp, y_true, y_pred)[0]


# ------------------------------------------------------------------------------------------
# The public functions: TFA's signatures
# ------------------------------------------------------------------------------------------


def triplet_semihard_loss(
    y_true: ArrayLike,
    y_pred: ArrayT,
    margin: float | ArrayLike = 1.0,
    distance_metric: str | Callable[[Any], Any] = "L2",
) -> ArrayT:
    r"""Triplet loss with semi-hard negative mining (``tfa.losses.triplet_semihard_loss``).

    For each anchor :math:`a` and positive :math:`p` (same label, :math:`p \ne a`), the
    semi-hard negative is the nearest negative farther from the anchor than the positive,
    :math:`n^* = \arg\min \{ d_{an} : y_n \ne y_a,\ d_{an} > d_{ap} \}`, or the farthest
    negative when there is none; the loss is the mean over the positive pairs

    .. math::

        \ell = \frac{1}{|P|} \sum_{(a, p) \in P} \max(d_{ap} - d_{an^*} + m,\ 0).

    Parameters
    ----------
    y_true : array, shape (N,) or (N, 1)
        Class ids (integer, or floating as Keras 3 passes them).
    y_pred : array, shape (N, D)
        Embeddings (TFA expects them l2-normalised; nothing here requires it).
    margin : float or 0-d array, default 1.0
        :math:`m`.
    distance_metric : {'L2', 'squared-L2', 'angular'} or callable, default 'L2'
        The distances :math:`d`: :func:`pairwise_distance` (``'L2'``, squared for
        ``'squared-L2'``), :math:`1 - \cos` (``'angular'``), or ``distance_metric(y_pred)``,
        an (N, N) array (for half embeddings it receives them in float32, as in TFA).

    Returns
    -------
    array
        0-d, in ``y_pred``'s dtype. NaN (0 / 0) when no two rows share a label.

    Notes
    -----
    Mining, the zero-distance gradient and the empty selections follow TFA's code (module
    docstring). The mined negative of a pair is found by comparing distances: two negatives at
    exactly the same distance split the gradient between them (as TensorFlow's ``reduce_min``
    does).

    References
    ----------
    Schroff, Kalenichenko and Philbin, "FaceNet: A Unified Embedding for Face Recognition and
    Clustering", CVPR 2015, arXiv:1503.03832. TFA 0.23 ``tensorflow_addons/losses/triplet.py``.

    Examples
    --------
    TFA's docstring example: two rows of one class, the positive at distance
    :math:`\sqrt 2`, no negative (the farthest negative is then the row's minimum, 0):

    >>> import numpy as np
    >>> from lossbridge import tfa
    >>> y_true = np.array([0, 0])
    >>> y_pred = np.array([[0.0, 1.0], [1.0, 0.0]], dtype=np.float32)
    >>> loss = tfa.triplet_semihard_loss(y_true, y_pred)
    >>> print(round(float(loss), 5), round(np.sqrt(2) + 1.0, 5))
    2.41421 2.41421
    >>> float(tfa.triplet_semihard_loss(y_true, y_pred, distance_metric=lambda x: x @ x.T))
    1.0
    """
    out: ArrayT = _triplet_semihard(
        y_pred, y_true=y_true, margin=margin, distance_metric=distance_metric
    )
    return out


def triplet_hard_loss(
    y_true: ArrayLike,
    y_pred: ArrayT,
    margin: float | ArrayLike = 1.0,
    soft: bool = False,
    distance_metric: str | Callable[[Any], Any] = "L2",
) -> ArrayT:
    r"""Triplet loss with batch-hard mining (``tfa.losses.triplet_hard_loss``).

    For each anchor :math:`a`, the farthest positive and the nearest negative,

    .. math::

        \ell = \frac1N \sum_a \max\Big(\max_{p} d_{ap} - \min_{n} d_{an} + m,\ 0\Big)
        \quad\text{or, soft,}\quad \frac1N \sum_a \log\big(1 + e^{\max_p d_{ap} - \min_n
        d_{an}}\big),

    an anchor without positives taking its row's minimum distance (0 for ``'L2'``) as
    :math:`\max_p d_{ap}`, and one without negatives its row's maximum as :math:`\min_n
    d_{an}` (TFA's masked maxima and minima).

    Parameters
    ----------
    y_true : array, shape (N,) or (N, 1)
        Class ids.
    y_pred : array, shape (N, D)
        Embeddings.
    margin : float or 0-d array, default 1.0
        :math:`m` (unused when ``soft``).
    soft : bool, default False
        The soft-margin form :math:`\log(1 + e^x)` (computed as a stable softplus: TFA's
        ``log1p(exp(x))`` overflows to inf beyond :math:`x \approx 88` in float32).
    distance_metric : {'L2', 'squared-L2', 'angular'} or callable, default 'L2'
        As :func:`triplet_semihard_loss`.

    Returns
    -------
    array
        0-d, in ``y_pred``'s dtype.

    References
    ----------
    Hermans, Beyer and Leibe, "In Defense of the Triplet Loss for Person Re-Identification",
    arXiv:1703.07737. TFA 0.23 ``tensorflow_addons/losses/triplet.py``.

    Examples
    --------
    TFA's docstring example: one class of two rows at distance :math:`\sqrt 2`, no negative
    (the nearest "negative" is then the row's maximum, the positive itself):

    >>> import numpy as np
    >>> from lossbridge import tfa
    >>> y_true = np.array([0, 0])
    >>> y_pred = np.array([[0.0, 1.0], [1.0, 0.0]])
    >>> float(tfa.triplet_hard_loss(y_true, y_pred))
    1.0
    >>> float(tfa.triplet_hard_loss(y_true, y_pred, distance_metric=lambda x: x @ x.T))
    0.0
    """
    out: ArrayT = _triplet_hard(
        y_pred, y_true=y_true, margin=margin, soft=soft, distance_metric=distance_metric
    )
    return out


def lifted_struct_loss(
    labels: ArrayLike, embeddings: ArrayT, margin: float | ArrayLike = 1.0
) -> ArrayT:
    r"""Lifted structured loss (``tfa.losses.lifted_struct_loss``).

    With :math:`d` the L2 distances and :math:`N_i` the negatives of row :math:`i`, for each
    positive pair :math:`(i, j)` (both orders)

    .. math::

        J_{ij} = \log\Big(\sum_{k \in N_i} e^{m - d_{ik}} + \sum_{l \in N_j} e^{m - d_{jl}}
        \Big) + d_{ij}, \qquad
        \ell = \frac{1}{2 |P|} \sum_{(i, j) \in P} \max(J_{ij}, 0)^2,

    with :math:`|P|` the number of unordered positive pairs (TFA's ``0.25 * sum / (num_pairs /
    2)`` over both orders). The log-sum-exp is shifted by :math:`\max(\mu_i, \mu_j)`,
    :math:`\mu_i = \max_{k \in N_i} (m - d_{ik})`, as TFA and the authors' Caffe layer do.

    Parameters
    ----------
    labels : array, shape (N,) or (N, 1)
        Class ids.
    embeddings : array, shape (N, D)
        Embeddings (not l2-normalised, TFA says).
    margin : float or 0-d array, default 1.0
        :math:`m`.

    Returns
    -------
    array
        0-d, in ``embeddings``' dtype. NaN when no two rows share a label, or when no two rows
        differ.

    Notes
    -----
    TFA multiplies the whole (N, N, N) exponential by the negatives' mask, so an overflow of
    :math:`e^{m - d_{ik} - \max(\mu_i, \mu_j)}` at an excluded pair (float32 distances that
    differ by about 88) gives NaN there; here the excluded entries are zeroed before the
    exponential, which gives TFA's value wherever TFA's is finite.

    References
    ----------
    Oh Song, Xiang, Jegelka and Savarese, "Deep Metric Learning via Lifted Structured Feature
    Embedding", CVPR 2016, arXiv:1511.06452. TFA 0.23 ``tensorflow_addons/losses/lifted.py``.

    Examples
    --------
    Two classes of two rows on a line: each positive pair at distance 1, every negative at
    distance 2 or 3.

    >>> import numpy as np
    >>> from lossbridge import tfa
    >>> labels = np.array([0, 0, 1, 1])
    >>> embeddings = np.array([[0.0], [1.0], [3.0], [4.0]])
    >>> j = np.log(np.exp(1 - 3) + np.exp(1 - 4) + np.exp(1 - 2) + np.exp(1 - 3)) + 1
    >>> bool(np.isclose(tfa.lifted_struct_loss(labels, embeddings), j**2 / 2))
    True
    """
    out: ArrayT = _lifted_struct(embeddings, labels=labels, margin=margin)
    return out


def npairs_loss(y_true: ArrayLike, y_pred: ArrayT) -> ArrayT:
    r"""N-pairs loss (``tfa.losses.npairs_loss``).

    Each row of the similarity matrix :math:`S` (``y_pred``, logits) against the row of the
    label matrix normalised to sum to one, :math:`T_{ij} = [y_i = y_j] / \sum_k [y_i = y_k]`:

    .. math::

        \ell = -\frac1N \sum_i \sum_j T_{ij} \log \operatorname{softmax}(S_{i\cdot})_j.

    Parameters
    ----------
    y_true : array, shape (N,) or (N, 1)
        Class ids.
    y_pred : array, shape (N, N)
        Similarities between two embedding matrices, ``a @ b.T``.

    Returns
    -------
    array
        0-d, in ``y_pred``'s dtype.

    Notes
    -----
    TFA casts the labels to ``y_pred``'s dtype before comparing them (ids above 2048 merge in
    float16); they are compared as given here.

    References
    ----------
    Sohn, "Improved Deep Metric Learning with Multi-class N-pair Loss Objective", NeurIPS 2016.
    TFA 0.23 ``tensorflow_addons/losses/npairs.py``.

    Examples
    --------
    >>> import numpy as np
    >>> from lossbridge import tfa
    >>> s = np.array([[2.0, 0.0, 1.0], [0.5, 1.0, 0.0], [1.0, 0.0, 3.0]])
    >>> y = np.array([0, 1, 0])
    >>> logp = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
    >>> t = np.array([[0.5, 0, 0.5], [0, 1, 0], [0.5, 0, 0.5]])
    >>> bool(np.isclose(tfa.npairs_loss(y, s), -(t * logp).sum(axis=1).mean()))
    True
    """
    out: ArrayT = _npairs(y_pred, y_true=y_true)
    return out


def npairs_multilabel_loss(y_true: ArrayLike, y_pred: ArrayT) -> ArrayT:
    r"""N-pairs loss for multi-label data (``tfa.losses.npairs_multilabel_loss``).

    :func:`npairs_loss` with the label matrix :math:`T_{ij} \propto |L_i \cap L_j|`, the number
    of classes rows :math:`i` and :math:`j` share (``y_true @ y_true.T``), each row normalised
    to sum to one.

    Parameters
    ----------
    y_true : array, shape (N, C)
        0/1 indicator: ``y_true[i, c] = 1`` when row :math:`i` is in class :math:`c`. (TFA also
        takes a ``tf.SparseTensor``; pass ``tf.sparse.to_dense(y_true)``.)
    y_pred : array, shape (N, N)
        Similarities between two embedding matrices.

    Returns
    -------
    array
        0-d, in ``y_pred``'s dtype. NaN when a row of ``y_true`` is all zeros (0 / 0, as TFA).

    References
    ----------
    Sohn, NeurIPS 2016. TFA 0.23 ``tensorflow_addons/losses/npairs.py``.

    Examples
    --------
    With one class per row it is :func:`npairs_loss`:

    >>> import numpy as np
    >>> from lossbridge import tfa
    >>> s = np.array([[2.0, 0.0, 1.0], [0.5, 1.0, 0.0], [1.0, 0.0, 3.0]])
    >>> y = np.array([0, 1, 0])
    >>> bool(np.isclose(tfa.npairs_multilabel_loss(np.eye(2)[y], s), tfa.npairs_loss(y, s)))
    True
    """
    out: ArrayT = _npairs_multilabel(y_pred, y_true=y_true)
    return out


# public entries: errors read "<function>: ..." (lossbridge.tfa exports them as they are)
triplet_semihard_loss = public_entry(triplet_semihard_loss, "triplet_semihard_loss")
triplet_hard_loss = public_entry(triplet_hard_loss, "triplet_hard_loss")
lifted_struct_loss = public_entry(lifted_struct_loss, "lifted_struct_loss")
npairs_loss = public_entry(npairs_loss, "npairs_loss")
npairs_multilabel_loss = public_entry(npairs_multilabel_loss, "npairs_multilabel_loss")
