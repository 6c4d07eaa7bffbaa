r"""Sampled softmax and noise-contrastive estimation: TensorFlow's ``tf.nn.sampled_softmax_loss``
and ``tf.nn.nce_loss`` (2.21) on every backend.

Both score each example against its ``num_true`` target classes and a set of sampled classes,
shared by the batch, instead of every class. TensorFlow draws the sampled classes inside the
op unless ``sampled_values`` is given; here the caller always passes them (TensorFlow's
``sampled_values = (sampled, true_expected_count, sampled_expected_count)`` tuple, or the three
arrays by name), so the loss is deterministic, differentiable and the same on every backend.
torch has no such op (pytorch issues #38185 and #58351).

Both go through :func:`_sampled_logits`, a transcription of TensorFlow's
``nn_impl._compute_sampled_logits``.
"""

from __future__ import annotations

from typing import Any

from lossbridge._inputs import arange_like, promote_floats
from lossbridge._precision import half_precision
from lossbridge._primitives import logsumexp, softplus
from lossbridge._reduction import reduce
from lossbridge._typing import ArrayLike, ArrayT, Reduction
from lossbridge._validation import (
    check_array_like,
    check_class_indices,
    check_denominator,
    check_floating,
    check_int,
    check_integer,
    check_real_dtype,
    check_reduction,
    shape_str,
)
from lossbridge.backends import asarray_on, get_namespace, stop_gradient

__all__ = ["nce_loss", "sampled_softmax_loss"]

#: What TensorFlow's ``compute_accidental_hits`` adds to an accidental hit's logit: the largest
#: float32, negated (``-FLT_MAX``), in float64 too (TensorFlow casts the float32 weight).
FLT_MAX = 3.4028234663852886e38


def _sampled_values(
    name: str, sampled_values: Any, sampled: Any, true_expected: Any, sampled_expected: Any
) -> tuple[Any, Any, Any]:
    """The three arrays, from TensorFlow's tuple or from the keywords (not both)."""
    named = (sampled, true_expected, sampled_expected)
    if sampled_values is None:
        if any(v is None for v in named):
            raise TypeError(
                "pass the sampled classes: sampled_values=(sampled, true_expected_count, "
                "sampled_expected_count) as TensorFlow takes them, or the three keywords "
                "sampled=, true_expected_count=, sampled_expected_count=; lossbridge draws no "
                "classes itself"
            )
        return named
    if any(v is not None for v in named):
        raise TypeError(
            "pass the sampled classes once: sampled_values=(...) or the keywords sampled=, "
            "true_expected_count=, sampled_expected_count=, not both"
        )
    if not isinstance(sampled_values, (tuple, list)) or len(sampled_values) != 3:
        got = (
            f"a {type(sampled_values).__name__} of length {len(sampled_values)}"
            if isinstance(sampled_values, (tuple, list))
            else f"{type(sampled_values).__name__} {sampled_values!r:.40}"
        )
        raise TypeError(
            "sampled_values must be a tuple (sampled, true_expected_count, "
            f"sampled_expected_count), as a TensorFlow candidate sampler returns; got {got}"
        )
    return tuple(sampled_values)


def _sampled_logits(
    name: str,
    weights: Any,
    biases: Any,
    labels: Any,
    inputs: Any,
    sampled_values: Any,
    sampled: Any,
    true_expected_count: Any,
    sampled_expected_count: Any,
    num_true: Any,
    remove_accidental_hits: bool,
    subtract_log_q: bool,
) -> tuple[Any, Any, Any, int]:
    """TensorFlow's ``_compute_sampled_logits``: ``(xp, true_logits, sampled_logits, num_true)``.

    ``true_logits`` is ``(batch, num_true)``, ``sampled_logits`` ``(batch, num_sampled)``.
    """
    sampled, true_q, sampled_q = _sampled_values(
        name, sampled_values, sampled, true_expected_count, sampled_expected_count
    )
    for flag, what in ((remove_accidental_hits, "remove_accidental_hits"),
                       (subtract_log_q, "subtract_log_q")):  # fmt: skip
        if not isinstance(flag, bool):
            raise TypeError(f"{what} must be a bool; got {flag!r}")
    others = {
        "weights": weights,
        "biases": biases,
        "labels": labels,
        "sampled": sampled,
        "true_expected_count": true_q,
        "sampled_expected_count": sampled_q,
    }
    # lossbridge._inputs.setup with TensorFlow's argument name ``inputs`` in its messages
    check_array_like(inputs, "inputs")
    for key, value in others.items():
        check_array_like(value, key)
    xp, device = get_namespace(inputs, *others.values(), names=("inputs", *others))
    inputs = asarray_on(inputs, xp, device)
    check_floating(xp, inputs, "inputs")
    for key, value in others.items():
        others[key] = asarray_on(value, xp, device, float_dtype=inputs.dtype)
        check_real_dtype(xp, others[key], key)
    weights, biases, labels, sampled, true_q, sampled_q = others.values()
    check_integer(xp, labels, "labels", "class indices, shape (batch, num_true)")
    check_integer(xp, sampled, "sampled", "class indices, shape (num_sampled,)")
    if inputs.ndim != 2:
        raise ValueError(f"inputs must have shape (batch, dim); got {shape_str(inputs.shape)}")
    if weights.ndim != 2 or weights.shape[1] != inputs.shape[1]:
        raise ValueError(
            f"weights must have shape (num_classes, dim) with dim = {inputs.shape[1]} "
            f"(inputs' last axis); got {shape_str(weights.shape)}"
        )
    n_classes = weights.shape[0]
    if tuple(biases.shape) != (n_classes,):
        raise ValueError(
            f"biases must have shape (num_classes,) = ({n_classes},); got {shape_str(biases.shape)}"
        )
    if labels.ndim != 2 or labels.shape[0] != inputs.shape[0] or labels.shape[1] == 0:
        raise ValueError(
            f"labels must have shape (batch, num_true) with batch = {inputs.shape[0]} and "
            f"num_true >= 1; got "
            f"{shape_str(labels.shape)}"
        )
    nt = labels.shape[1]
    if num_true is not None and check_int(num_true, "num_true") != nt:
        raise ValueError(
            f"num_true={num_true} but labels has shape {shape_str(labels.shape)} "
            f"(num_true = labels.shape[1] = {nt})"
        )
    if sampled.ndim != 1:
        raise ValueError(f"sampled must have shape (num_sampled,); got {shape_str(sampled.shape)}")
    if tuple(sampled_q.shape) != tuple(sampled.shape):
        raise ValueError(
            f"sampled_expected_count must have sampled's shape {shape_str(sampled.shape)}; got "
            f"{shape_str(sampled_q.shape)}"
        )
    qs = tuple(true_q.shape)
    tail = tuple(labels.shape)[2 - len(qs) :] if len(qs) <= 2 else ()
    if len(qs) > 2 or any(q not in (1, n) for q, n in zip(qs, tail, strict=True)):
        raise ValueError(
            "true_expected_count must broadcast to labels' shape (batch, num_true) = "
            f"{shape_str(labels.shape)}; got {shape_str(true_q.shape)}"
        )
    check_class_indices(xp, labels, n_classes, None, name="labels")
    check_class_indices(xp, sampled, n_classes, None, name="sampled")

    inputs, weights, biases = promote_floats(xp, inputs, weights, biases)
    # TensorFlow stops the gradient of the sampled values and casts the lookups to inputs' dtype
    true_q = stop_gradient(xp.astype(true_q, inputs.dtype))
    sampled_q = stop_gradient(xp.astype(sampled_q, inputs.dtype))
    labels_flat = xp.reshape(labels, (-1,))
    true_w = xp.reshape(xp.take(weights, labels_flat, axis=0), (-1, nt, weights.shape[1]))
    true_b = xp.reshape(xp.take(biases, labels_flat, axis=0), (-1, nt))
    # (batch, num_true): each example's dot product with its own target rows
    true_logits = xp.sum(xp.expand_dims(inputs, axis=1) * true_w, axis=2) + true_b
    # (batch, num_sampled): every example against the shared sampled rows
    sampled_logits = inputs @ xp.matrix_transpose(xp.take(weights, sampled, axis=0))
    sampled_logits = sampled_logits + xp.take(biases, sampled, axis=0)
    if remove_accidental_hits:
        # a sampled class equal to one of the example's targets: -FLT_MAX added to its logit
        sampled = xp.astype(sampled, labels.dtype)
        hits = xp.any(xp.expand_dims(labels, axis=2) == sampled, axis=1)
        # TensorFlow's kernel maps each sampled class to its LAST position (it presupposes
        # unique samples): a class sampled twice has only its last copy removed
        s = sampled.shape[0]
        order = arange_like(xp, s, sampled)
        later_copy = xp.logical_and(
            xp.expand_dims(sampled, axis=1) == sampled,
            xp.expand_dims(order, axis=1) < order,
        )
        hits = xp.logical_and(hits, xp.logical_not(xp.any(later_copy, axis=1)))
        sampled_logits = sampled_logits - xp.astype(hits, sampled_logits.dtype) * FLT_MAX
    if subtract_log_q:
        true_logits = true_logits - xp.log(true_q)
        sampled_logits = sampled_logits - xp.log(sampled_q)
    return xp, true_logits, sampled_logits, nt


_SHARED_DOC = r"""
    Parameters
    ----------
    weights : array, shape (num_classes, dim)
        The class embeddings (TensorFlow's ``weights``).
    biases : array, shape (num_classes,)
        The class biases.
    labels : integer array, shape (batch, num_true)
        The target classes of each example, in ``[0, num_classes)``.
    inputs : array, shape (batch, dim)
        The activations :math:`h` of the examples. The result has its dtype (after promotion
        with ``weights`` and ``biases``).
    sampled_values : tuple of 3 arrays, optional
        TensorFlow's ``(sampled_candidates, true_expected_count, sampled_expected_count)``, as a
        ``tf.random.*_candidate_sampler`` returns them: the sampled classes, integers of shape
        ``(num_sampled,)``; the expected counts :math:`Q` of the targets, broadcastable to
        ``(batch, num_true)``; those of the sampled classes, shape ``(num_sampled,)``. No
        gradient flows into them. Or pass the three by name instead:
    sampled, true_expected_count, sampled_expected_count : arrays, optional
        The same three arrays, as keywords (not together with ``sampled_values``).
    num_true : int, optional
        TensorFlow's ``num_true``; checked against ``labels.shape[1]``, which it defaults to.
    remove_accidental_hits : bool
        Add :math:`-\mathrm{FLT\_MAX}` (float32's largest value, negated, in every dtype, as
        TensorFlow adds it) to the logit of a sampled class equal to one of the example's
        targets, so that it takes no part (value and gradient 0).
    subtract_log_q : bool, default True
        Subtract :math:`\log Q` from every logit (TensorFlow's public functions always do;
        ``False`` is its private option for negative sampling, word2vec's).
    reduction : {'mean', 'sum', 'none'}
        ``'none'``: TensorFlow's per-example losses, shape ``(batch,)``; ``'mean'`` their mean
        (``tf.reduce_mean`` of TensorFlow's result), ``'sum'`` their sum.
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, the
        batch size. Pass the count summed over shards (:func:`lossbridge.mean_denominator`) and
        the shards' losses add up to the full batch's mean.

    Returns
    -------
    array
        Shape ``(batch,)`` for ``'none'``, else 0-d.

    Raises
    ------
    TypeError
        No sampled classes, or both forms; ``labels`` or ``sampled`` not integers.
    ValueError
        Shapes that do not fit; a class index outside ``[0, num_classes)`` (checked where the
        values can be read; TensorFlow's lookup raises there too).
"""


def _with_shared(doc: str) -> str:
    return doc.replace("    {shared}\n", _SHARED_DOC.lstrip("\n"))


@half_precision
def sampled_softmax_loss(
    weights: ArrayLike,
    biases: ArrayLike,
    labels: ArrayLike,
    inputs: ArrayT,
    sampled_values: tuple[ArrayLike, ArrayLike, ArrayLike] | None = None,
    *,
    sampled: ArrayLike | None = None,
    true_expected_count: ArrayLike | None = None,
    sampled_expected_count: ArrayLike | None = None,
    num_true: int | None = None,
    remove_accidental_hits: bool = True,
    subtract_log_q: bool = True,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Sampled softmax: ``tf.nn.sampled_softmax_loss`` (TensorFlow 2.21) with the sampled
    classes passed in.

    For an example with activations :math:`h`, targets :math:`t_1, \dots, t_T` (``num_true``
    = :math:`T`) and the batch's sampled classes :math:`s_1, \dots, s_S`, the logits are
    :math:`z_c = h \cdot w_c + b_c - \log Q_c` (:math:`Q` the expected counts; accidental hits
    get :math:`-\mathrm{FLT\_MAX}` added) and the loss is the softmax cross-entropy over the
    :math:`T + S` logits with the target probability :math:`1/T` on each target:

    .. math::

        \ell = \log \Big( \sum_{j=1}^{T} e^{z_{t_j}} + \sum_{k=1}^{S} e^{z_{s_k}} \Big)
               - \frac{1}{T} \sum_{j=1}^{T} z_{t_j}

    {shared}
    Notes
    -----
    TensorFlow's signature is ``(weights, biases, labels, inputs, num_sampled, num_classes,
    num_true=1, sampled_values=None, remove_accidental_hits=True, seed=None)``: here
    ``num_sampled`` and ``num_classes`` come from ``sampled`` and ``weights``, and the sampled
    values are required (draw them with TensorFlow's samplers, or any sampler whose expected
    counts you know). TensorFlow returns the ``'none'`` result; ``'mean'`` is the default here,
    as for every lossbridge loss. A list of partitioned ``weights`` is not supported.

    References
    ----------
    Jean et al., "On Using Very Large Target Vocabulary for Neural Machine Translation",
    ACL 2015; TensorFlow, ``tensorflow/python/ops/nn_impl.py`` (``sampled_softmax_loss``,
    ``_compute_sampled_logits``); "Candidate Sampling Algorithms Reference" (TensorFlow).

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> r = np.random.default_rng(0)
    >>> w, b, h = r.standard_normal((6, 3)), r.standard_normal(6), r.standard_normal((4, 3))
    >>> labels = np.array([[0], [2], [5], [1]])
    >>> sampled, q_true, q_s = np.array([1, 3, 4]), np.full((4, 1), 0.5), np.full(3, 0.5)
    >>> out = lb.sampled_softmax_loss(w, b, labels, h, (sampled, q_true, q_s), reduction="none")

    The formula in NumPy (the fourth example's target, 1, is also sampled: an accidental hit,
    left out):

    >>> z_t = np.sum(h * w[labels[:, 0]], axis=1) + b[labels[:, 0]] - np.log(0.5)
    >>> z_s = h @ w[sampled].T + b[sampled] - np.log(0.5)
    >>> z_s[3, 0] = -np.inf
    >>> ref = np.log(np.exp(z_t) + np.exp(z_s).sum(axis=1)) - z_t
    >>> bool(np.allclose(out, ref, rtol=1e-14))
    True
    """
    name = "sampled_softmax_loss"
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss=name)
    xp, true_logits, sampled_logits, nt = _sampled_logits(
        name, weights, biases, labels, inputs, sampled_values, sampled, true_expected_count,
        sampled_expected_count, num_true, remove_accidental_hits, subtract_log_q,
    )  # fmt: skip
    logits = xp.concat([true_logits, sampled_logits], axis=1)
    loss = logsumexp(xp, logits, axis=1) - xp.sum(true_logits, axis=1) / nt
    return reduce(xp, loss, reduction, override=over)


@half_precision
def nce_loss(
    weights: ArrayLike,
    biases: ArrayLike,
    labels: ArrayLike,
    inputs: ArrayT,
    sampled_values: tuple[ArrayLike, ArrayLike, ArrayLike] | None = None,
    *,
    sampled: ArrayLike | None = None,
    true_expected_count: ArrayLike | None = None,
    sampled_expected_count: ArrayLike | None = None,
    num_true: int | None = None,
    remove_accidental_hits: bool = False,
    subtract_log_q: bool = True,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Noise-contrastive estimation: ``tf.nn.nce_loss`` (TensorFlow 2.21) with the sampled
    classes passed in.

    The logits :math:`z` are those of :func:`sampled_softmax_loss`; each is scored by a
    sigmoid cross-entropy, the targets with the label :math:`1/T` (``num_true`` = :math:`T`)
    and the sampled classes with 0, summed over the :math:`T + S` columns:

    .. math::

        \ell = \sum_{j=1}^{T} \Big( \log(1 + e^{z_{t_j}}) - \frac{z_{t_j}}{T} \Big)
               + \sum_{k=1}^{S} \log(1 + e^{z_{s_k}})

    (for :math:`T = 1`, :math:`-\log \sigma(z_t) - \sum_k \log(1 - \sigma(z_{s_k}))`).

    {shared}
    Notes
    -----
    TensorFlow's ``remove_accidental_hits`` defaults to False here ("sampled logistic" when
    True). Its signature is ``(weights, biases, labels, inputs, num_sampled, num_classes,
    num_true=1, sampled_values=None, remove_accidental_hits=False)``: ``num_sampled`` and
    ``num_classes`` come from ``sampled`` and ``weights`` here, and the sampled values are
    required. TensorFlow returns the ``'none'`` result; ``'mean'`` is the default here.

    References
    ----------
    Gutmann and Hyvärinen, "Noise-contrastive estimation: A new estimation principle for
    unnormalized statistical models", AISTATS 2010; TensorFlow,
    ``tensorflow/python/ops/nn_impl.py`` (``nce_loss``, ``_compute_sampled_logits``).

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> r = np.random.default_rng(0)
    >>> w, b, h = r.standard_normal((6, 3)), r.standard_normal(6), r.standard_normal((4, 3))
    >>> labels = np.array([[0], [2], [5], [1]])
    >>> sampled, q_true, q_s = np.array([1, 3, 4]), np.full((4, 1), 0.5), np.full(3, 0.25)
    >>> out = lb.nce_loss(w, b, labels, h, (sampled, q_true, q_s), reduction="none")
    >>> z_t = np.sum(h * w[labels[:, 0]], axis=1) + b[labels[:, 0]] - np.log(0.5)
    >>> z_s = h @ w[sampled].T + b[sampled] - np.log(0.25)
    >>> ref = np.log1p(np.exp(-z_t)) + np.log1p(np.exp(z_s)).sum(axis=1)
    >>> bool(np.allclose(out, ref, rtol=1e-14))
    True
    """
    name = "nce_loss"
    check_reduction(reduction)
    over = check_denominator(denominator, reduction, loss=name)
    xp, true_logits, sampled_logits, nt = _sampled_logits(
        name, weights, biases, labels, inputs, sampled_values, sampled, true_expected_count,
        sampled_expected_count, num_true, remove_accidental_hits, subtract_log_q,
    )  # fmt: skip
    true_part = xp.sum(softplus(xp, true_logits) - true_logits / nt, axis=1)
    loss = true_part + xp.sum(softplus(xp, sampled_logits), axis=1)
    return reduce(xp, loss, reduction, override=over)


sampled_softmax_loss.__doc__ = _with_shared(sampled_softmax_loss.__doc__ or "")
nce_loss.__doc__ = _with_shared(nce_loss.__doc__ or "")
