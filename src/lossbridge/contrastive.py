r"""Contrastive pretraining losses: CLIP, SigLIP and supervised contrastive (SupCon).

Every function takes arrays of any supported framework (NumPy, PyTorch, JAX, TensorFlow,
array-api-strict, ...) and returns an array of the features' framework, dtype and device.

* :func:`clip_loss`: the symmetric InfoNCE of CLIP, as open_clip's ``ClipLoss``.
* :func:`siglip_loss`: the pairwise sigmoid loss of SigLIP, as open_clip's ``SigLipLoss`` and
  big_vision.
* :func:`supcon_loss`: the supervised contrastive loss of Khosla et al. (2020), as
  pytorch-metric-learning's ``SupConLoss``.

**Across devices** (``group=``, a :mod:`lossbridge.distributed` group): each member passes its
local features; the loss compares them with the features of every member (gathered with
``group.all_gather``, whose gradient is exact, or, for SigLIP, passed around a ring with
``group.shift``) and returns the member's *share*: the numerator of its local rows divided by
the count of the whole group. The shares of the members add up to the loss of the
concatenated batch (the members' batches in rank order), values and gradients, so the training
step of each engine is the single-device one (``docs/scale.md``, "Losses across devices").
Every member must hold the same number of rows.
"""

from __future__ import annotations

from typing import Any

from lossbridge._groups import anchor_index, check_group, gather, global_count, world_size
from lossbridge._inputs import arange_like, hyper_on, promote_floats
from lossbridge._precision import half_precision
from lossbridge._primitives import log_sigmoid, logsumexp
from lossbridge._reduction import reduce
from lossbridge._typing import ArrayLike, ArrayT, Reduction
from lossbridge._validation import (
    check_array_like,
    check_denominator,
    check_floating,
    check_real,
    check_real_or_array,
    check_reduction,
    shape_str,
)
from lossbridge.backends import asarray_on, get_namespace
from lossbridge.embedding import (
    _batch_arrays,
    _count,
    _masked_logsumexp,
    _normalize_rows,
    _pair_masks,
)

__all__ = ["clip_loss", "siglip_loss", "supcon_loss"]


# ------------------------------------------------------------------------------------------
# Helpers
# ------------------------------------------------------------------------------------------


def _feature_pair(image_features: Any, text_features: Any, loss: str) -> tuple[Any, Any, Any]:
    """``(xp, image_features, text_features)``: two floating (N, D) arrays of one namespace."""
    check_array_like(image_features, "image_features")
    check_array_like(text_features, "text_features")
    xp, device = get_namespace(
        image_features, text_features, names=("image_features", "text_features")
    )
    image = asarray_on(image_features, xp, device)
    check_floating(xp, image, "image_features")
    text = asarray_on(text_features, xp, device, float_dtype=image.dtype)
    check_floating(xp, text, "text_features")
    shapes = (tuple(image.shape), tuple(text.shape))
    if image.ndim != 2 or shapes[0] != shapes[1]:
        raise ValueError(
            f"{loss}: image_features and text_features must both have shape (N, D), row i "
            f"of each being the i-th image-text pair; got {shape_str(image.shape)} and "
            f"{shape_str(text.shape)}"
        )
    return xp, image, text


def _scalar(xp: Any, value: Any, name: str, like: Any, loss: str, what: str) -> Any:
    """A learnable scalar (``logit_scale``, ``logit_bias``): a finite Python number (weak),
    or a 0-d array of the features' framework (traced and with a gradient)."""
    value = check_real_or_array(value, name, loss=loss, what=what, scalar=True)
    if isinstance(value, float):
        check_real(value, name, loss=loss, what=what, finite=True)
    return hyper_on(xp, value, like, name, "image_features", loss)


def _cross_entropy_rows(xp: Any, logits: Any, group: Any) -> Any:
    """Each row's cross-entropy with its pair as the label: ``logsumexp(z_i) - z_i,pair``,
    the pair of local row i being column ``rank * N + i`` (column i without a group)."""
    n, columns = logits.shape
    pair = xp.expand_dims(anchor_index(xp, n, group, logits), axis=1) == xp.expand_dims(
        arange_like(xp, columns, logits), axis=0
    )
    picked = xp.sum(xp.where(pair, logits, xp.zeros_like(logits)), axis=1)
    return logsumexp(xp, logits, axis=1) - picked


def _rows_count(n: Any, group: Any) -> Any:
    """The rows of the whole group (every member holds ``n``); None: the local mean."""
    return None if group is None else n * world_size(group)


# ------------------------------------------------------------------------------------------
# CLIP (open_clip's ClipLoss)
# ------------------------------------------------------------------------------------------


@half_precision
def clip_loss(
    image_features: ArrayT,
    text_features: ArrayLike,
    logit_scale: ArrayLike,
    *,
    reduction: Reduction = "mean",
    group: Any = None,
    denominator: Any = None,
) -> ArrayT:
    r"""CLIP's symmetric contrastive loss: image-to-text and text-to-image cross-entropies.

    Same as open_clip's ``ClipLoss`` (Radford et al. 2021). With :math:`s` the
    ``logit_scale``, :math:`x_i` the image and :math:`y_i` the text features of pair
    :math:`i`, and the logits :math:`z_{ij} = s \, x_i \cdot y_j` (image :math:`i`, text
    :math:`j`), each pair has the loss

    .. math::

        \ell_i = \tfrac12 \Big( \log \sum_j e^{z_{ij}} - z_{ii} \Big)
               + \tfrac12 \Big( \log \sum_j e^{z_{ji}} - z_{ii} \Big)

    and ``'mean'`` is :math:`\frac1N \sum_i \ell_i`, open_clip's
    ``(F.cross_entropy(logits_per_image, arange(N)) + F.cross_entropy(logits_per_text,
    arange(N))) / 2``.

    Parameters
    ----------
    image_features, text_features : array, shape (N, D)
        Row :math:`i` of each is the :math:`i`-th image-text pair. **Used as given**:
        open_clip's models L2-normalise the features before the loss (``normalize=True``);
        normalise them yourself if yours do not.
    logit_scale : float or 0-d array
        The multiplier :math:`s` of the similarities. **open_clip's models return
        ``logit_scale.exp()``** (the learnable parameter is the log of the scale, initialised
        at :math:`\log(1/0.07)`): pass that product, not the parameter. An array gets its
        gradient (a learnable temperature) and promotes with the features' dtype.
    reduction : {'mean', 'sum', 'none'}
    group : lossbridge.distributed group, optional
        Compute the member's share across devices (module docstring): the local rows against
        the features of every member, gathered with ``group.all_gather``. Every member holds
        ``N`` pairs; pair :math:`i` of member :math:`r` is row :math:`rN + i` of the
        concatenated batch.
    denominator : float or 0-d array, optional
        With ``'mean'``: divide the sum of :math:`\ell_i` by this instead of the number of
        pairs (of the whole group, with ``group``); see :func:`lossbridge.mean_denominator`.

    Returns
    -------
    array
        Scalar, or with ``reduction='none'`` the per-pair loss :math:`\ell_i`, shape (N,)
        (the average of the two directions, so its mean is open_clip's loss). With ``group``,
        ``'mean'`` is the member's share: :math:`\sum_{i \text{ local}} \ell_i` divided by the
        group's number of pairs; ``'sum'`` and ``'none'`` are over the local pairs.

    Notes
    -----
    Each direction is a row-wise log-sum-exp minus the pair's logit picked from the same row
    (stable for any scale, and exactly 0 for a batch of one pair).
    open_clip, in a world of several processes, gathers every member's features and (with
    ``local_loss=True, gather_with_grad=True``) computes exactly these local rows against all
    columns, with labels ``arange(N) + N * rank``, divided by the local ``N``; its DDP training
    averages the members' gradients. Here the share is divided by the group's count instead, so
    the shares add up to the full-batch loss (what to multiply under DDP:
    ``docs/scale.md``).

    References
    ----------
    Radford et al., "Learning Transferable Visual Models From Natural Language Supervision",
    ICML 2021, arXiv:2103.00020; open_clip, ``src/open_clip/loss.py``, ``ClipLoss``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> image = np.array([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]])
    >>> text = np.array([[0.8, 0.6], [0.6, 0.8], [-0.6, 0.8]])
    >>> z = 2.0 * image @ text.T
    >>> def ce(z):  # cross-entropy of each row with label arange(N)
    ...     return np.log(np.exp(z).sum(axis=1)) - np.diag(z)
    >>> loss = lb.clip_loss(image, text, 2.0)
    >>> bool(np.isclose(loss, (ce(z).mean() + ce(z.T).mean()) / 2))
    True
    """
    name = "clip_loss"
    xp, image, text = _feature_pair(image_features, text_features, name)
    check_reduction(reduction)
    check_group(group, name)
    denominator = check_denominator(denominator, reduction, loss=name)
    scale = _scalar(xp, logit_scale, "logit_scale", image, name, "the multiplier of the logits")
    image, text, scale = promote_floats(xp, image, text, scale)
    n = image.shape[0]
    count = _rows_count(n, group)
    if n == 0:  # an empty batch: no logit (a max over no entry would raise)
        empty = scale * xp.sum(image * text, axis=1)
        return reduce(xp, empty, reduction, denominator=count, override=denominator)
    per_image = scale * xp.matmul(image, xp.matrix_transpose(gather(group, text)))
    per_text = scale * xp.matmul(text, xp.matrix_transpose(gather(group, image)))
    image_to_text = _cross_entropy_rows(xp, per_image, group)
    text_to_image = _cross_entropy_rows(xp, per_text, group)
    loss = 0.5 * (image_to_text + text_to_image)
    return reduce(xp, loss, reduction, denominator=count, override=denominator)


# ------------------------------------------------------------------------------------------
# SigLIP (open_clip's SigLipLoss, big_vision's sigmoid loss)
# ------------------------------------------------------------------------------------------


def _sigmoid_rows(xp: Any, image: Any, text: Any, scale: Any, bias: Any, matched: bool) -> Any:
    r"""Per image row, :math:`-\sum_j \log \sigma(t_{ij} z_{ij})` over the columns of ``text``:
    :math:`t_{ij} = +1` on the diagonal of a ``matched`` block (the pairs), -1 elsewhere."""
    logits = scale * xp.matmul(image, xp.matrix_transpose(text)) + bias
    if matched:
        idx = arange_like(xp, image.shape[0], image)
        pairs = xp.expand_dims(idx, axis=1) == xp.expand_dims(idx, axis=0)
        logits = xp.where(pairs, logits, -logits)
    else:
        logits = -logits
    return -xp.sum(log_sigmoid(xp, logits), axis=1)


@half_precision
def siglip_loss(
    image_features: ArrayT,
    text_features: ArrayLike,
    logit_scale: ArrayLike,
    logit_bias: ArrayLike,
    *,
    reduction: Reduction = "mean",
    group: Any = None,
    denominator: Any = None,
) -> ArrayT:
    r"""SigLIP's pairwise sigmoid loss: every image-text pair is a binary classification.

    Same as open_clip's ``SigLipLoss`` and big_vision's sigmoid loss (Zhai et al. 2023). With
    the logits :math:`z_{ij} = s \, x_i \cdot y_j + b` (scale :math:`s`, bias :math:`b`) and
    the labels :math:`t_{ij} = +1` for :math:`i = j` (the pairs), :math:`-1` otherwise, image
    :math:`i` has the loss

    .. math::

        \ell_i = -\sum_j \log \sigma(t_{ij} z_{ij})

    and ``'mean'`` is :math:`\frac1N \sum_i \ell_i`: open_clip's ``-F.logsigmoid(labels *
    logits).sum() / N``, the sum over the :math:`N^2` pairs divided by the number of images
    (not by :math:`N^2`).

    Parameters
    ----------
    image_features, text_features : array, shape (N, D)
        Row :math:`i` of each is the :math:`i`-th image-text pair, used as given (open_clip's
        models L2-normalise them).
    logit_scale : float or 0-d array
        The multiplier :math:`s`: open_clip passes ``logit_scale.exp()`` of its parameter
        (initialised at :math:`\log 10`).
    logit_bias : float or 0-d array
        The bias :math:`b` (initialised at -10 in SigLIP). Arrays get their gradients.
    reduction : {'mean', 'sum', 'none'}
    group : lossbridge.distributed group, optional
        Compute the member's share across devices with big_vision's ring: the text features
        travel around the group (``group.shift``, ``world_size - 1`` steps, each member
        receiving its left neighbour's block), and each step adds the local images against
        one member's texts, all negatives. **No member ever holds more than an N x N block of
        logits** (the local batch against one member's), unlike a gather of every text.
    denominator : float or 0-d array, optional
        With ``'mean'``: divide the sum of :math:`\ell_i` by this instead of the number of
        images (of the whole group, with ``group``).

    Returns
    -------
    array
        Scalar, or with ``reduction='none'`` the per-image loss :math:`\ell_i`, shape (N,).
        With ``group``, ``'mean'`` is the member's share (its images' losses against every
        text of the group, divided by the group's number of images), ``'sum'`` and
        ``'none'`` are over the local images.

    Notes
    -----
    :math:`\log \sigma` is computed stably (:math:`\min(x, 0) - \log(1 + e^{-|x|})`).
    open_clip's distributed ``SigLipLoss`` runs the same ring (``neighbour_exchange_with_grad``,
    optionally in both directions) and returns, on each member, its local images' sum divided
    by the local :math:`N`; its DDP training averages the gradients. Here the share is divided
    by the group's count, so the shares add up to the full-batch loss.

    References
    ----------
    Zhai, Mustafa, Kolesnikov and Beyer, "Sigmoid Loss for Language Image Pre-Training",
    ICCV 2023, arXiv:2303.15343; open_clip, ``src/open_clip/loss.py``, ``SigLipLoss``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> image = np.array([[1.0, 0.0], [0.6, 0.8]])
    >>> text = np.array([[0.8, 0.6], [0.0, 1.0]])
    >>> z = 10.0 * image @ text.T - 5.0
    >>> t = 2 * np.eye(2) - 1
    >>> loss = lb.siglip_loss(image, text, 10.0, -5.0)
    >>> bool(np.isclose(loss, np.log1p(np.exp(-t * z)).sum() / 2))
    True
    """
    name = "siglip_loss"
    xp, image, text = _feature_pair(image_features, text_features, name)
    check_reduction(reduction)
    check_group(group, name)
    denominator = check_denominator(denominator, reduction, loss=name)
    scale = _scalar(xp, logit_scale, "logit_scale", image, name, "the multiplier of the logits")
    bias = _scalar(xp, logit_bias, "logit_bias", image, name, "the bias of the logits")
    image, text, scale, bias = promote_floats(xp, image, text, scale, bias)
    loss = _sigmoid_rows(xp, image, text, scale, bias, matched=True)
    received = text
    for _ in range(world_size(group) - 1):
        received = group.shift(received)  # the texts of member rank - k at step k
        loss = loss + _sigmoid_rows(xp, image, received, scale, bias, matched=False)
    count = _rows_count(image.shape[0], group)
    return reduce(xp, loss, reduction, denominator=count, override=denominator)


# ------------------------------------------------------------------------------------------
# Supervised contrastive loss (Khosla et al. 2020), pytorch-metric-learning's SupConLoss
# ------------------------------------------------------------------------------------------


@half_precision
def supcon_loss(
    features: ArrayT,
    labels: ArrayLike,
    *,
    temperature: float = 0.1,
    reduction: Reduction = "mean",
    group: Any = None,
    denominator: Any = None,
) -> ArrayT:
    r"""Supervised contrastive loss (SupCon) over a labelled batch.

    Khosla et al. (2020), :math:`\mathcal{L}^{sup}_{out}` (Eq. 2), as pytorch-metric-learning
    2.9's ``SupConLoss`` computes it. The features are L2-normalised, :math:`s_{ij} = \cos(x_i,
    x_j) / \tau`, and for anchor :math:`i` the positives :math:`P(i)` are the :math:`j \ne i`
    with :math:`y_j = y_i`, the candidates :math:`A(i)` every :math:`j \ne i`:

    .. math::

        \ell_i = -\frac{1}{|P(i)|} \sum_{p \in P(i)} \log
            \frac{e^{s_{ip}}}{\sum_{a \in A(i)} e^{s_{ia}}}
        = \log \sum_{a \in A(i)} e^{s_{ia}} - \frac{1}{|P(i)|} \sum_{p \in P(i)} s_{ip}

    ``'mean'`` averages :math:`\ell_i` over the anchors with at least one positive (and one
    negative; every anchor has one unless the whole batch is one class).

    Parameters
    ----------
    features : array, shape (N, D)
        Normalised inside (``x / max(||x||, 1e-12)``, pytorch-metric-learning's
        ``CosineSimilarity``). For several views of each sample, concatenate the views along
        the batch axis and repeat the labels (Khosla et al.'s "multiviewed batch").
    labels : integer array, shape (N,)
        Class ids.
    temperature : float, default 0.1
        :math:`\tau > 0` (pytorch-metric-learning's default; the paper uses 0.1 too).
    reduction : {'mean', 'sum', 'none'}
    group : lossbridge.distributed group, optional
        Compute the member's share across devices: the local anchors against the features and
        labels of every member (``group.all_gather``); the count is the group's number of
        anchors with a positive (``group.all_sum``). Labels are class ids shared by the whole
        group.
    denominator : float or 0-d array, optional
        With ``'mean'``: divide the sum of :math:`\ell_i` by this instead of the number of
        anchors with a positive.

    Returns
    -------
    array
        Scalar, or with ``reduction='none'`` the per-anchor loss :math:`\ell_i`, shape (N,),
        0 for an anchor without a positive (or without a negative).

    Notes
    -----
    **pytorch-metric-learning** computes the same :math:`\ell_i` (its log-sum-exp over the
    masked similarity matrix with the row maximum subtracted; it adds ``finfo.tiny`` to
    :math:`|P(i)|`, which changes nothing where :math:`|P(i)| \ge 1`) and reduces with
    ``AvgNonZeroReducer``: the mean of the :math:`\ell_i` that are > 0. That equals this
    ``'mean'`` as long as no anchor with a positive has :math:`\ell_i` rounding to exactly 0
    (possible in float32 for an anchor whose single positive outweighs every negative by
    :math:`e^{17}`). Without any positive pair in the batch (or any negative),
    pytorch-metric-learning returns 0; here ``'mean'`` is NaN (0 / 0), as for
    :func:`lossbridge.ntxent_loss` and :func:`lossbridge.circle_loss`.

    The loss is :math:`\mathcal{L}^{sup}_{out}`, the variant the paper recommends (the mean
    over positives outside the log), and the candidates :math:`A(i)` include the other
    positives, as in the authors' ``SupContrast`` code. :func:`lossbridge.ntxent_loss` is the
    variant whose denominator holds one positive at a time.

    References
    ----------
    Khosla, Teterwak, Wang, Sarna, Tian, Isola, Maschinot, Liu and Krishnan, "Supervised
    Contrastive Learning", NeurIPS 2020, arXiv:2004.11362; pytorch-metric-learning,
    ``losses/supcon_loss.py``.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-0.6, 0.8]])
    >>> y = np.array([0, 0, 1, 1])
    >>> s = x @ x.T / 0.5  # the rows are unit vectors already
    >>> def anchor(i):  # one positive each: log-sum-exp over j != i, minus s[i, positive]
    ...     others = [j for j in range(4) if j != i]
    ...     p = [j for j in others if y[j] == y[i]][0]
    ...     return np.log(np.exp(s[i, others]).sum()) - s[i, p]
    >>> loss = lb.supcon_loss(x, y, temperature=0.5)
    >>> bool(np.isclose(loss, np.mean([anchor(i) for i in range(4)])))
    True
    """
    name = "supcon_loss"
    temperature = check_real(
        temperature, "temperature", loss=name, finite=True, low=0.0, strict=True
    )
    xp, features, labels = _batch_arrays(features, labels, name, "features")
    check_reduction(reduction)
    check_group(group, name)
    denominator = check_denominator(denominator, reduction, loss=name)
    unit = _normalize_rows(xp, features)
    n = unit.shape[0]
    if n == 0:  # an empty batch: no anchor (a max over no entry would raise)
        empty = xp.sum(unit, axis=1)
        count = global_count(_count(xp, empty != 0, empty.dtype), group, reduction, denominator)
        return reduce(xp, empty, reduction, denominator=count, override=denominator)
    candidates, candidate_labels = gather(group, unit), gather(group, labels)
    s = xp.matmul(unit, xp.matrix_transpose(candidates)) / temperature
    positive, negative = _pair_masks(
        xp, labels, unit, candidate_labels, anchor_index(xp, n, group, unit)
    )
    lse, _ = _masked_logsumexp(xp, s, xp.logical_or(positive, negative))
    n_positive = xp.sum(xp.astype(positive, s.dtype), axis=1)
    has_positive = n_positive > 0
    mean_positive = xp.sum(xp.where(positive, s, xp.zeros_like(s)), axis=1) / xp.where(
        has_positive, n_positive, xp.ones_like(n_positive)
    )
    valid = xp.logical_and(has_positive, xp.any(negative, axis=1))
    per_anchor = xp.squeeze(lse, axis=1) - mean_positive
    loss = xp.where(valid, per_anchor, xp.zeros_like(per_anchor))
    count = global_count(_count(xp, valid, loss.dtype), group, reduction, denominator)
    return reduce(xp, loss, reduction, denominator=count, override=denominator)
