r"""Pair- and batch-based metric-learning losses.

Every function takes arrays of any supported framework (NumPy, PyTorch, JAX, TensorFlow,
array-api-strict, ...) and returns an array of the embeddings' framework, dtype and device.

* :func:`contrastive_loss`: the pair loss of Hadsell, Chopra and LeCun (2006) on explicit
  pairs, with a 0/1 similarity target.
* :func:`ntxent_loss`: NT-Xent / InfoNCE over a batch with group labels, as ``optax.ntxent``.
* :func:`circle_loss`: the pair-based Circle loss of Sun et al. (2020) over a batch with class
  labels, as pytorch-metric-learning's ``CircleLoss`` and Keras's ``Circle``.
* :func:`cosine_similarity_loss`: :math:`1 - \cos(x, y)` along an axis, with
  ``torch.nn.functional.cosine_similarity``'s eps.

The batch losses build the (N, N) similarity matrix and boolean masks of static shape (no
data-dependent indexing), so they run under ``jax.jit``, ``tf.function`` and
``torch.compile``. Log-sum-exps over masked entries use ``-inf`` for the excluded entries and
replace the rows that have no entry at all by zeros before the reduction (their result is
masked afterwards), so values and gradients stay finite.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

from lossbridge._groups import anchor_index, check_group, gather, global_count
from lossbridge._inputs import arange_like, hyper_on, promote_floats, setup
from lossbridge._precision import half_precision
from lossbridge._primitives import clamp_min0, logsumexp, softplus
from lossbridge._reduction import reduce
from lossbridge._typing import ArrayLike, ArrayT, Reduction
from lossbridge._validation import (
    _size,
    check_array_like,
    check_broadcastable,
    check_concrete_values,
    check_denominator,
    check_floating,
    check_integer,
    check_real,
    check_reduction,
    holds_only,
    shape_str,
    warn_if_broadcast_grows,
)
from lossbridge.backends import asarray_on, eager_view, get_namespace, stop_gradient
from lossbridge.margin import _check_pair_shapes, _safe_root, _setup

__all__ = [
    "circle_loss",
    "contrastive_loss",
    "cosine_similarity_loss",
    "ntxent_loss",
]

# torch.nn.functional.normalize's default eps (pytorch-metric-learning's CosineSimilarity
# normalises with it): a norm below it is replaced by it.
_NORMALIZE_EPS = 1e-12


# ------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------


def _broadcast_shape(a: tuple[Any, ...], b: tuple[Any, ...]) -> tuple[Any, ...]:
    """The broadcast of two shapes already checked to broadcast (None: unknown)."""
    a, b = tuple(a), tuple(b)
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + a, (1,) * (n - len(b)) + b
    return tuple(y if x == 1 else x for x, y in zip(a, b, strict=True))


def _check_target_shape(pairs: tuple[Any, ...], target: Any) -> None:
    """Raise ``ValueError`` unless ``target`` broadcasts with the pairs' shape ``pairs``."""
    dims = zip(reversed(pairs), reversed(tuple(target.shape)), strict=False)
    if any(p is not None and t is not None and p != t and 1 not in (p, t) for p, t in dims):
        raise ValueError(
            f"target has shape {shape_str(target.shape)} but the pairs of input1 and input2 "
            f"have shape {shape_str(pairs)}; expected the same shape (or shapes that broadcast "
            "together)"
        )


def _batch_arrays(
    embeddings: Any, labels: Any, loss: str, name: str = "embeddings"
) -> tuple[Any, Any, Any]:
    """``(xp, embeddings (N, D) floating, labels (N,) integer)`` with the shape checks;
    ``name``: the embeddings' argument name in the messages (``supcon_loss``: features)."""
    check_array_like(embeddings, name)
    check_array_like(labels, "labels")
    xp, device = get_namespace(embeddings, labels, names=(name, "labels"))
    embeddings = asarray_on(embeddings, xp, device)
    check_floating(xp, embeddings, name)
    labels = asarray_on(labels, xp, device)
    check_integer(xp, labels, "labels", f"one class or group id per row of {name}")
    if embeddings.ndim != 2:
        raise ValueError(
            f"{loss}: {name} must have shape (N, D); got {shape_str(embeddings.shape)}"
        )
    n = embeddings.shape[0]
    if labels.ndim != 1 or (n is not None and labels.shape[0] is not None and labels.shape[0] != n):
        raise ValueError(
            f"{loss}: labels has shape {shape_str(labels.shape)}; expected ({n},), one label "
            f"per row of {name} {shape_str(embeddings.shape)}"
        )
    return xp, embeddings, labels


def _pair_masks(
    xp: Any, labels: Any, like: Any, candidates: Any = None, rows: Any = None
) -> tuple[Any, Any]:
    """``(positive, negative)`` (N, M) boolean masks of the anchors (``labels``, (N,)) against
    the candidates (``candidates``, (M,); default the anchors): same label except the anchor
    itself, and different label. ``rows``: the anchors' indices among the candidates (default
    ``arange(N)``; a member's rows in the gathered batch across devices)."""
    candidates = labels if candidates is None else candidates
    same = xp.expand_dims(labels, axis=1) == xp.expand_dims(candidates, axis=0)
    rows = arange_like(xp, labels.shape[0], like) if rows is None else rows
    columns = arange_like(xp, candidates.shape[0], like, dtype=rows.dtype)
    itself = xp.expand_dims(rows, axis=1) == xp.expand_dims(columns, axis=0)
    return xp.logical_and(same, xp.logical_not(itself)), xp.logical_not(same)


def _masked_logsumexp(xp: Any, z: Any, mask: Any) -> tuple[Any, Any]:
    """Row-wise log-sum-exp of ``z`` over ``mask``, and whether each row has an entry (N, 1).

    A row without any entry gets the log-sum-exp of zeros (finite, with finite gradients);
    the caller masks it out with the returned flag.
    """
    has = xp.any(mask, axis=1, keepdims=True)
    excluded = xp.where(has, xp.full_like(z, -math.inf), xp.zeros_like(z))
    return logsumexp(xp, xp.where(mask, z, excluded), axis=1, keepdims=True), has


def _count(xp: Any, mask: Any, dtype: Any) -> Any:
    return xp.sum(xp.astype(mask, dtype))


# ------------------------------------------------------------------------------------------
# Contrastive loss (Hadsell et al. 2006)
# ------------------------------------------------------------------------------------------


def _check_binary_target(xp: Any, target: Any, loss: str) -> None:
    if not xp.isdtype(target.dtype, ("bool", "integral", "real floating")):
        raise TypeError(
            f"{loss}: target must have a bool, integer or real floating dtype (1 for similar "
            f"pairs, 0 for dissimilar ones); got {target.dtype}"
        )
    if xp.isdtype(target.dtype, "bool"):
        return
    view = eager_view(xp, target)
    if view is None or _size(target) == 0:
        return
    vx, t = view
    if holds_only(vx, t, 0, 1):
        return
    bad = vx.logical_not(vx.logical_or(t == 0, t == 1))
    if bool(vx.any(bad)):
        got = vx.where(bad, t, vx.zeros_like(t))
        first = float(vx.max(got)) if bool(vx.any(got > 0)) else float(vx.min(got))
        if first == 0.0:  # a NaN target
            first = math.nan
        raise ValueError(
            f"{loss}: target must hold 1 (similar pair) or 0 (dissimilar pair); got the value "
            f"{first!r} (note: Hadsell et al. use Y = 0 for similar pairs, the opposite)"
        )


@half_precision
def contrastive_loss(
    input1: ArrayT,
    input2: ArrayLike,
    target: ArrayLike,
    *,
    margin: float = 1.0,
    eps: float = 1e-6,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Contrastive pair loss: pull similar pairs together, push dissimilar ones past a margin.

    The loss of Hadsell, Chopra and LeCun (2006), with a target of 1 for similar pairs:

    .. math::

        D = \lVert x_1 - x_2 + \epsilon \rVert_2, \qquad
        \ell = y \, \tfrac{1}{2} D^2 + (1 - y) \, \tfrac{1}{2} \max(0, \text{margin} - D)^2

    :math:`D` is :func:`lossbridge.pairwise_distance` (``torch.nn.functional.pairwise_distance``,
    which adds ``eps`` to the difference); ``eps=0`` gives the plain Euclidean distance.

    Parameters
    ----------
    input1, input2 : array, shape (N, D) or (D,)
        The two embeddings of each pair (shapes broadcast; both 2-D with a 1-D target, both
        1-D with a 0-d target).
    target : array, shape (N,) or ()
        **1 (or True) for a similar pair, 0 (or False) for a dissimilar one.** Bool, integer or
        floating; other values raise ``ValueError`` (checked where the values can be read,
        not while tracing).
    margin : float, default 1.0
        :math:`m \ge 0`: dissimilar pairs farther apart than this cost nothing.
    eps : float, default 1e-6
        Added to each difference before the norm, as ``pairwise_distance`` does.
    reduction : {'mean', 'sum', 'none'}
        ``'mean'`` averages over the pairs.
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of pairs. Pass the count summed over shards (:func:`lossbridge.mean_denominator`)
        and the shards' losses add up to the full batch's mean.

    Returns
    -------
    array
        Scalar, or with ``reduction='none'`` the per-pair loss, shape (N,) or ().

    Notes
    -----
    **Label convention.** Hadsell et al. write :math:`Y = 0` for similar and :math:`Y = 1` for
    dissimilar pairs, :math:`L = (1 - Y) \frac12 D^2 + Y \frac12 \max(0, m - D)^2`. Here (as in
    pytorch-metric-learning, where pairs come from equal labels) the target is 1 for similar
    pairs: pass ``1 - Y`` to use the paper's labels.

    **pytorch-metric-learning's** ``ContrastiveLoss(pos_margin=0, neg_margin=1)`` is a
    different loss on the same pairs: it takes :math:`D` and :math:`\max(0, m - D)` without
    squares or the 1/2, L2-normalises the embeddings first (its default ``LpDistance``), uses
    no ``eps`` (``torch.cdist``) and forms every pair of a labelled batch; its reducer
    (``AvgNonZeroReducer``) averages the non-zero positive-pair losses and the non-zero
    negative-pair losses separately and adds the two means. Per pair, its loss is
    :math:`\sqrt{2 \ell}` of this one (with ``eps=0`` on normalised embeddings).

    The squared hinge has a continuous derivative, 0 at :math:`D = m`; at :math:`D = 0` (a
    pair of equal embeddings with ``eps=0``) the gradient of :math:`D` is 0, as in torch.

    References
    ----------
    Hadsell, Chopra and LeCun, "Dimensionality Reduction by Learning an Invariant Mapping",
    CVPR 2006.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x1 = np.array([[0.0, 0.0], [1.0, 1.0]])
    >>> x2 = np.array([[3.0, 4.0], [1.0, 1.5]])  # distances 5 and 0.5
    >>> y = np.array([1, 0])  # a similar pair, a dissimilar one
    >>> loss = lb.contrastive_loss(x1, x2, y, margin=1.0, eps=0.0)
    >>> bool(np.isclose(loss, (0.5 * 5**2 + 0.5 * (1.0 - 0.5) ** 2) / 2))
    True
    """
    loss_name = "contrastive_loss"
    margin = check_real(margin, "margin", loss=loss_name, finite=True, low=0.0)
    eps = check_real(eps, "eps", loss=loss_name, finite=True)
    xp, _, input1, input2, target = _setup(("input1", "input2", "target"), input1, input2, target)
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss=loss_name)
    _check_pair_shapes(input1, input2, target, loss_name, "one 0/1 per pair")
    _check_target_shape(_broadcast_shape(input1.shape[:-1], input2.shape[:-1]), target)
    _check_binary_target(xp, target, loss_name)
    input1, input2 = promote_floats(xp, input1, input2)
    d = input1 - input2 + eps
    squared = xp.sum(d * d, axis=-1)
    distance = _safe_root(xp, squared, 2.0)
    hinge = clamp_min0(xp, margin - distance)
    similar = target if xp.isdtype(target.dtype, "bool") else target == 1
    loss = xp.where(similar, 0.5 * squared, 0.5 * (hinge * hinge))
    return reduce(xp, loss, reduction, override=over)


# ------------------------------------------------------------------------------------------
# NT-Xent (SimCLR / InfoNCE), optax's ntxent
# ------------------------------------------------------------------------------------------


@half_precision
def ntxent_loss(
    embeddings: ArrayT,
    labels: ArrayLike,
    *,
    temperature: float = 0.07,
    reduction: Reduction = "mean",
    group: Any = None,
    denominator: Any = None,
) -> ArrayT:
    r"""NT-Xent (normalised temperature-scaled cross-entropy) over a labelled batch.

    Same as ``optax.ntxent`` (optax 0.2.8) and pytorch-metric-learning's ``NTXentLoss``. With
    :math:`s_{ij} = \cos(x_i, x_j) / \tau`, every pair :math:`(i, j)`, :math:`i \ne j`, with
    equal labels is a positive pair, every pair with different labels a negative one of
    anchor :math:`i`, and each positive pair has the loss

    .. math::

        \ell_{ij} = -\log \frac{e^{s_{ij}}}{e^{s_{ij}} + \sum_{k:\, y_k \ne y_i} e^{s_{ik}}}
        = \operatorname{softplus}\Big(\log \sum_{k:\, y_k \ne y_i} e^{s_{ik}} - s_{ij}\Big)

    (the other positives of anchor :math:`i` are not in the denominator). ``'mean'`` averages
    :math:`\ell_{ij}` over all positive pairs, as optax and pytorch-metric-learning do.

    **SimCLR usage (two views).** With projections ``z1`` and ``z2`` of shape (N, D) of two
    augmentations of the same N images, ``ntxent_loss(concat([z1, z2]), concat([arange(N),
    arange(N)]))`` is the SimCLR loss of Chen et al.: each of the 2N views has exactly one
    positive (its other view) and 2N - 2 negatives, and the mean runs over the 2N ordered
    pairs.

    Parameters
    ----------
    embeddings : array, shape (N, D)
        Not necessarily normalised: the cosine similarity normalises them, as optax does, with
        each norm clamped below at :math:`\sqrt{\epsilon}`, :math:`\epsilon` the machine
        epsilon of the dtype (optax's ``epsilon=finfo(dtype).eps`` on the squared norm), so a
        zero embedding has similarity 0 with every other.
    labels : integer array, shape (N,)
        Group ids: embeddings with equal labels form positive pairs.
    temperature : float, default 0.07
        :math:`\tau > 0`.
    reduction : {'mean', 'sum', 'none'}
    group : lossbridge.distributed group, optional
        Compute the member's share across devices (:mod:`lossbridge.contrastive`): the local
        anchors against the embeddings and labels of every member (``group.all_gather``,
        exact gradients); ``'mean'`` divides by the group's number of positive pairs
        (``group.all_sum``). The shares add up to this loss on the **concatenated batch**,
        the members' batches in rank order. Labels must be ids of the whole group: for
        SimCLR, member :math:`r` with items :math:`rN, \dots, rN + N - 1` passes
        ``concat([z1, z2])`` of its own items with the labels ``concat([ids, ids])``, ``ids
        = r * N + arange(N)`` (local ``arange(N)`` on every member would make the items of
        different members positives of each other). The concatenated batch then holds both
        views of every item, in another order than ``concat([z1, z2])`` of the whole batch,
        which the loss does not depend on: the shares add up to the SimCLR loss of all
        :math:`2 N W` views.
    denominator : float or 0-d array, optional
        With ``'mean'``: divide the sum of :math:`\ell_{ij}` by this instead of the number of
        positive pairs (see :func:`lossbridge.mean_denominator`).

    Returns
    -------
    array
        Scalar; with ``reduction='none'`` the (N, N) matrix of :math:`\ell_{ij}`, 0 where
        :math:`(i, j)` is not a positive pair (with ``group``: (N, W N), the local anchors
        against the gathered batch). ``'sum'`` is its sum, ``'mean'`` its sum divided by the
        number of positive pairs (so not ``mean`` of the matrix).

    Notes
    -----
    A batch without any positive pair has ``'mean'`` NaN (0 / 0, as optax; pytorch-metric-
    learning returns 0). An anchor without negatives (its class fills the batch) gives its
    positive pairs the loss 0, still counted in the mean (both libraries do the same).
    pytorch-metric-learning normalises with ``torch.nn.functional.normalize`` (norms clamped
    at 1e-12) and adds ``finfo.tiny`` inside the log: the values differ only for embeddings
    of norm below :math:`\sqrt{\epsilon}`. Reference section 3.16 of the project: optax and
    pytorch-metric-learning both give 8.625684901 on one batch.

    References
    ----------
    Chen, Kornblith, Norouzi and Hinton, "A Simple Framework for Contrastive Learning of
    Visual Representations", ICML 2020, arXiv:2002.05709; van den Oord, Li and Vinyals,
    "Representation Learning with Contrastive Predictive Coding", arXiv:1807.03748, 2018;
    Sohn, "Improved Deep Metric Learning with Multi-class N-pair Loss Objective", NeurIPS
    2016.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> e = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]])
    >>> labels = np.array([0, 0, 1, 1])
    >>> print(round(float(lb.ntxent_loss(e, labels, temperature=0.5)), 4))  # optax.ntxent
    0.4302
    """
    loss_name = "ntxent_loss"
    temperature = check_real(temperature, "temperature", loss=loss_name)
    return _ntxent(embeddings, labels, temperature, reduction, loss_name, group, denominator)


def _ntxent(
    embeddings: Any,
    labels: Any,
    temperature: Any,
    reduction: str,
    loss_name: str,
    group: Any = None,
    denominator: Any = None,
) -> Any:
    """:func:`ntxent_loss` after its temperature's type check.

    ``temperature`` is a float, or an array (``lossbridge.optax.ntxent``: optax takes an
    ``ArrayLike``, a learned temperature): it goes onto the embeddings' namespace and device,
    must be finite and > 0 where its value is concrete (nothing is read inside a trace), and
    promotes with the similarities like an array.
    """
    if isinstance(temperature, float):
        check_real(temperature, "temperature", loss=loss_name, finite=True, low=0.0, strict=True)
    xp, embeddings, labels = _batch_arrays(embeddings, labels, loss_name)
    check_reduction(reduction)
    check_group(group, loss_name)
    denominator = check_denominator(denominator, reduction, loss=loss_name)
    x = embeddings
    temperature = hyper_on(xp, temperature, x, "temperature", "embeddings", loss_name)
    if not isinstance(temperature, float):
        check_concrete_values(
            xp,
            temperature,
            "temperature",
            loss=loss_name,
            valid=lambda vxp, v: vxp.logical_and(vxp.isfinite(v), v > 0),
            expected="finite and > 0",
        )
    # optax: cosine_similarity(..., epsilon=finfo(dtype).eps), which clips the squared norms
    eps = float(xp.finfo(x.dtype).eps)
    squared = xp.sum(x * x, axis=1, keepdims=True)
    unit = x / xp.sqrt(xp.where(squared > eps, squared, xp.full_like(squared, eps)))
    n = x.shape[0]
    candidates = unit if n == 0 else gather(group, unit)
    cosines = xp.matmul(unit, xp.matrix_transpose(candidates))
    if not isinstance(temperature, float):
        check_broadcastable(cosines, temperature, "the similarities", f"{loss_name}: temperature")
    cosines, temperature = promote_floats(xp, cosines, temperature)
    logits = cosines / temperature
    if n == 0:  # an empty batch: no pair (a max over no entry would raise)
        count = global_count(_count(xp, logits != 0, logits.dtype), group, reduction, denominator)
        return reduce(xp, logits, reduction, denominator=count, override=denominator)
    positive, negative = _pair_masks(
        xp, labels, x, gather(group, labels), anchor_index(xp, n, group, x)
    )
    lse_neg, has_neg = _masked_logsumexp(xp, logits, negative)
    per_pair = softplus(xp, lse_neg - logits)
    loss = xp.where(xp.logical_and(positive, has_neg), per_pair, xp.zeros_like(per_pair))
    if reduction == "mean":
        count = global_count(_count(xp, positive, loss.dtype), group, reduction, denominator)
        return reduce(xp, loss, reduction, denominator=count, override=denominator)
    return reduce(xp, loss, reduction)


# ------------------------------------------------------------------------------------------
# Circle loss (Sun et al. 2020)
# ------------------------------------------------------------------------------------------


def _normalize_rows(xp: Any, x: Any) -> Any:
    """``torch.nn.functional.normalize(x, dim=1)``: ``x / max(||x||, 1e-12)``."""
    norm = _safe_root(xp, xp.sum(x * x, axis=1, keepdims=True), 2.0)
    return x / xp.where(norm > _NORMALIZE_EPS, norm, xp.full_like(norm, _NORMALIZE_EPS))


@half_precision
def circle_loss(
    embeddings: ArrayT,
    labels: ArrayLike,
    *,
    margin: float = 0.25,
    gamma: float = 256.0,
    reduction: Reduction = "mean",
    group: Any = None,
    denominator: Any = None,
) -> ArrayT:
    r"""Circle loss (pair-based form, cosine similarity) over a labelled batch.

    Sun et al. (2020), Eq. 4 with the self-paced weights of Eq. 5-6. The embeddings are
    L2-normalised, :math:`s_{ij}` is the cosine similarity, and for each anchor :math:`i`
    the positives are :math:`j \ne i` with :math:`y_j = y_i`, the negatives :math:`y_j \ne
    y_i`. With :math:`O_p = 1 + m`, :math:`O_n = -m`, :math:`\Delta_p = 1 - m`,
    :math:`\Delta_n = m`,

    .. math::

        \alpha_p = [O_p - s_p]_+, \qquad \alpha_n = [s_n - O_n]_+ \quad
        \text{(no gradient)}

    .. math::

        \ell_i = \operatorname{softplus}\Big( \log \sum_{n} e^{\gamma \alpha_n (s_n -
        \Delta_n)} + \log \sum_{p} e^{-\gamma \alpha_p (s_p - \Delta_p)} \Big)

    Parameters
    ----------
    embeddings : array, shape (N, D)
        Normalised inside (``x / max(||x||, 1e-12)``, as ``torch.nn.functional.normalize``
        and pytorch-metric-learning's ``CosineSimilarity``).
    labels : integer array, shape (N,)
        Class ids.
    margin : float, default 0.25
        The relaxation :math:`m`.
    gamma : float, default 256.0
        The scale :math:`\gamma > 0`.
    reduction : {'mean', 'sum', 'none'}
        ``'mean'`` averages :math:`\ell_i` over the anchors that have at least one positive
        and one negative.
    group : lossbridge.distributed group, optional
        Compute the member's share across devices (:mod:`lossbridge.contrastive`): the local
        anchors against the embeddings and labels of every member (``group.all_gather``,
        exact gradients); ``'mean'`` divides by the group's number of anchors with a
        positive and a negative (``group.all_sum``). The shares add up to this loss on the
        concatenated batch (the members' batches in rank order; labels are class ids of the
        whole group).
    denominator : float or 0-d array, optional
        With ``'mean'``: divide the sum of :math:`\ell_i` by this instead of the number of
        anchors with a positive and a negative (see :func:`lossbridge.mean_denominator`).

    Returns
    -------
    array
        Scalar, or with ``reduction='none'`` the per-anchor loss, shape (N,), 0 for an anchor
        without a positive or without a negative.

    Notes
    -----
    **Defaults.** The paper's face-recognition setting (:math:`m = 0.25`, :math:`\gamma =
    256`; it uses :math:`\gamma = 128` for re-identification and :math:`m = 0.4`,
    :math:`\gamma = 80` for fine-grained retrieval). pytorch-metric-learning's
    ``CircleLoss`` and Keras's ``Circle`` default to ``m=0.4, gamma=80``: pass those to
    reproduce them.

    **'mean' equals both** pytorch-metric-learning's ``CircleLoss`` (``AvgNonZeroReducer``:
    the mean of the non-zero per-anchor losses; anchors without a positive or a negative are
    set to 0) and Keras's ``Circle`` (the mean over the entries its mask ``loss > 0`` keeps)
    as long as no per-anchor loss underflows to exactly 0, which needs
    :math:`2 \gamma m^2 \gtrsim 100` (float32; the argument of the softplus is at least
    :math:`-2 \gamma m^2` for normalised embeddings), e.g. not at the defaults (-32).
    Reference section 3.16: Keras gives 109.8254 on L2-normalised embeddings, equal to
    pytorch-metric-learning. Keras does **not** normalise (feed it unit vectors; on raw
    embeddings it gives another value, 486.0 there) and does not stop the gradient through
    :math:`\alpha_p, \alpha_n`, so its gradient differs from the paper's, pytorch-metric-
    learning's and this one's. With no valid anchor at all, ``'mean'`` is NaN (0 / 0);
    both libraries return 0.

    References
    ----------
    Sun, Cheng, Zhang, Zhang, Zheng, Wang and Wei, "Circle Loss: A Unified Perspective of
    Pair Similarity Optimization", CVPR 2020, arXiv:2002.10857.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> e = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]])
    >>> labels = np.array([0, 0, 1, 1])
    >>> print(round(float(lb.circle_loss(e, labels, margin=0.4, gamma=8.0)), 4))  # keras Circle
    0.749
    """
    loss_name = "circle_loss"
    margin = check_real(margin, "margin", loss=loss_name, finite=True)
    gamma = check_real(gamma, "gamma", loss=loss_name, finite=True, low=0.0, strict=True)
    xp, embeddings, labels = _batch_arrays(embeddings, labels, loss_name)
    check_reduction(reduction)
    check_group(group, loss_name)
    denominator = check_denominator(denominator, reduction, loss=loss_name)
    unit = _normalize_rows(xp, embeddings)
    n = unit.shape[0]
    if n == 0:  # an empty batch: no anchor (a max over no entry would raise)
        empty = xp.sum(xp.matmul(unit, xp.matrix_transpose(unit)), axis=1)
        count = global_count(_count(xp, empty != 0, empty.dtype), group, reduction, denominator)
        return reduce(xp, empty, reduction, denominator=count, override=denominator)
    s = xp.matmul(unit, xp.matrix_transpose(gather(group, unit)))
    positive, negative = _pair_masks(
        xp, labels, s, gather(group, labels), anchor_index(xp, n, group, s)
    )
    fixed = stop_gradient(s)
    zeros = xp.zeros_like(s)
    alpha_p = xp.where(1.0 + margin - fixed > 0, 1.0 + margin - fixed, zeros)
    alpha_n = xp.where(fixed + margin > 0, fixed + margin, zeros)
    logit_p = -gamma * alpha_p * (s - (1.0 - margin))
    logit_n = gamma * alpha_n * (s - margin)
    lse_p, has_p = _masked_logsumexp(xp, logit_p, positive)
    lse_n, has_n = _masked_logsumexp(xp, logit_n, negative)
    valid = xp.squeeze(xp.logical_and(has_p, has_n), axis=1)
    per_anchor = softplus(xp, xp.squeeze(lse_p + lse_n, axis=1))
    loss = xp.where(valid, per_anchor, xp.zeros_like(per_anchor))
    if reduction == "mean":
        count = global_count(_count(xp, valid, loss.dtype), group, reduction, denominator)
        return reduce(xp, loss, reduction, denominator=count, override=denominator)
    return reduce(xp, loss, reduction)


# ------------------------------------------------------------------------------------------
# Cosine similarity loss
# ------------------------------------------------------------------------------------------


def _clamped_norm(xp: Any, x: Any, axis: int, eps: float) -> Any:
    """torch's ``linalg_vector_norm(x).clamp_min_(eps)`` under ``no_grad``: the value is
    ``max(||x||, eps)``, the gradient that of ``||x||`` (0 at ``x = 0``)."""
    norm = _safe_root(xp, xp.sum(x * x, axis=axis, keepdims=True), 2.0)
    small = eps + (norm - stop_gradient(norm))  # the value eps, the gradient of the norm
    return xp.where(norm >= eps, norm, small)


@half_precision
def cosine_similarity_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    axis: int = -1,
    eps: float = 1e-8,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Cosine distance :math:`1 - \cos(x, y)` along ``axis``.

    With ``torch.nn.functional.cosine_similarity``'s formula (torch 2.13), each norm clamped
    separately:

    .. math::

        \ell = 1 - \sum_d \frac{x_d}{\max(\lVert x \rVert_2, \epsilon)}
        \frac{y_d}{\max(\lVert y \rVert_2, \epsilon)}

    i.e. ``1 - F.cosine_similarity(input, target, dim=axis, eps=eps)``, optax's
    ``cosine_distance`` and torch's ``cosine_embedding_loss`` with target 1 (which clamps
    differently, see Notes).

    Parameters
    ----------
    input : array, shape (..., D, ...)
        Predictions.
    target : array, broadcastable with ``input``
        Target vectors.
    axis : int, default -1
        The vector axis of the broadcast shape (reduced).
    eps : float, default 1e-8
        Lower bound of each norm (torch's default); ``eps >= 0``.
    reduction : {'mean', 'sum', 'none'}
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        number of vectors (elements of the broadcast shape without ``axis``). Pass the count
        summed over shards (:func:`lossbridge.mean_denominator`) and the shards' losses add up
        to the full batch's mean.

    Returns
    -------
    array
        Scalar, or with ``reduction='none'`` the broadcast shape without ``axis``.

    Notes
    -----
    **Sign and offset** (reference section 3.8, :math:`a = [1, 0]`, :math:`b = [1, 1]`):
    this loss gives 0.2929 like optax's ``cosine_distance`` and torch's
    ``cosine_embedding_loss`` (target 1); Keras's ``cosine_similarity`` loss is
    :math:`-\cos` (-0.7071, the same gradient, offset by 1) and optax's
    ``cosine_similarity`` is :math:`+\cos` (0.7071, not a loss).

    **Zero vectors**: the clamp gives :math:`\cos = 0`, loss 1, as torch (and Keras, whose
    normalisation gives -0). optax's default ``epsilon=0`` gives NaN; optax's ``epsilon``
    clamps the *squared* norm, so ``epsilon=eps**2`` reproduces this loss.
    ``cosine_embedding_loss`` adds 1e-12 to each squared norm instead.

    **Gradient**: torch clamps the norms in place under ``no_grad``, so its gradient is that
    of :math:`\lVert x \rVert` even where the clamp is active; this one is the same (it
    differs from the derivative of the value only for :math:`0 < \lVert x \rVert <
    \epsilon`; at a zero vector the norm's gradient is 0, as in torch).

    References
    ----------
    PyTorch documentation, ``torch.nn.functional.cosine_similarity``; optax documentation,
    ``optax.losses.cosine_distance``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> a = np.array([1.0, 0.0])
    >>> b = np.array([1.0, 1.0])  # 45 degrees apart
    >>> bool(np.isclose(lb.cosine_similarity_loss(a, b), 1 - np.cos(np.pi / 4)))
    True
    """
    loss_name = "cosine_similarity_loss"
    eps = check_real(eps, "eps", loss=loss_name, finite=True, low=0.0)
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
        raise TypeError(f"{loss_name}: axis must be an int; got {axis!r}")
    xp, input, target = setup(input, target=target)
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss=loss_name)
    check_floating(xp, target, "target")
    check_broadcastable(input, target, "input", "target")
    warn_if_broadcast_grows(input, target, loss_name)
    ndim = max(input.ndim, target.ndim)
    if not -ndim <= axis < ndim:
        raise ValueError(
            f"{loss_name}: axis={axis} is out of range for the broadcast shape of input "
            f"{shape_str(input.shape)} and target {shape_str(target.shape)} ({ndim} dimensions)"
        )
    axis = int(axis) % ndim
    x, y = promote_floats(xp, input, target)
    if tuple(x.shape) != tuple(y.shape):  # torch broadcasts before the norms
        x, y = xp.broadcast_arrays(x, y)
    ux = x / _clamped_norm(xp, x, axis, eps)
    uy = y / _clamped_norm(xp, y, axis, eps)
    loss = 1.0 - xp.sum(ux * uy, axis=axis)
    return reduce(xp, loss, reduction, override=over)
