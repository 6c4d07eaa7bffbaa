r"""Lovász extension losses: the Lovász hinge and the Lovász-Softmax loss.

Berman, Rannen Triki and Blaschko's convex surrogates of the Jaccard (intersection-over-union)
loss, written once against the array API. Both evaluate the Lovász extension of the Jaccard set
loss at a vector of per-pixel errors :math:`m \ge 0`: with the pixels sorted by decreasing
error, :math:`m_{\pi_1} \ge \dots \ge m_{\pi_P}`, and :math:`\Delta_J(S_k)` the Jaccard loss of
mispredicting the first :math:`k` of them,

.. math::

    \bar\Delta_J(m) = \sum_{k=1}^{P} m_{\pi_k}\,\bigl(\Delta_J(S_k) - \Delta_J(S_{k-1})\bigr),
    \qquad
    \Delta_J(S_k) = 1 - \frac{|F| - |F \cap S_k|}{|F| + |S_k \setminus F|},

where :math:`F` is the set of foreground pixels. The differences
:math:`g_k = \Delta_J(S_k) - \Delta_J(S_{k-1})` are the reference implementation's
``lovasz_grad`` (Alg. 1 of the paper).

Static shapes throughout
------------------------
The reference (bermanmaxim/LovaszSoftmax, ``pytorch/lovasz_losses.py``) removes ignored pixels
by boolean indexing and loops over images and classes in Python, keeping only the classes
present. Here every image and class is computed at once on ``(B, C, P)`` arrays, so the losses
trace under ``jax.jit``, ``tf.function`` (with or without XLA) and
``torch.compile(fullgraph=True)``:

* ignored pixels get the sort key :math:`+\infty` (so they sort after every valid pixel) and the
  error 0, so they add nothing, and no gradient reaches them;
* the classes averaged over are a weight per image and class (1 for a class present in the
  image's valid pixels, 0 otherwise) rather than a Python list;
* the order is a stable ascending ``argsort`` of the negated errors, so tied errors keep their
  pixel order, the same on every backend (the value does not depend on the order of ties, but
  the gradient does); the errors are gathered with ``take_along_axis`` and the gradient flows
  through that permutation.

The sum is evaluated in its Abel-summed form
:math:`\sum_k \Delta_J(S_k)\,(m_{\pi_k} - m_{\pi_{k+1}})` (with :math:`m_{\pi_{P+1}} = 0`):
every term is non-negative, so float32 keeps full relative precision (the direct form subtracts
neighbouring Jaccard values and loses up to :math:`P` ulp); its gradient with respect to
:math:`m_{\pi_k}` is still :math:`g_k`. :math:`\Delta_J(S_k) = k / (|F| + |S_k \setminus F|)`
is a ratio of exact integer counts and carries no gradient (``stop_gradient``).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Literal

from lossbridge._inputs import arange_on
from lossbridge._precision import half_precision
from lossbridge._primitives import abs0, log_softmax
from lossbridge._reduction import reduce
from lossbridge._typing import ArrayLike, ArrayT, Reduction
from lossbridge._validation import (
    check_array_like,
    check_class_indices,
    check_denominator,
    check_floating,
    check_integer,
    check_range,
    check_reduction,
    holds_only,
    no_denominator,
    shape_str,
)
from lossbridge.backends import (
    asarray_on,
    eager_view,
    get_namespace,
    stop_gradient,
    take_along_axis,
)

__all__ = ["lovasz_hinge_loss", "lovasz_softmax_loss"]


# ------------------------------------------------------------------------------------------
# Shared helpers
# ------------------------------------------------------------------------------------------


def _setup(input: Any, target: Any) -> tuple[Any, Any, Any, Any]:
    """``(xp, device, input, target)``: one namespace and device, ``input`` floating."""
    check_array_like(input, "input")
    check_array_like(target, "target")
    xp, device = get_namespace(input, target, names=("input", "target"))
    input = asarray_on(input, xp, device)
    check_floating(xp, input, "input")
    target = asarray_on(target, xp, device, float_dtype=input.dtype)
    return xp, device, input, target


def _check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool; got {value!r}")
    return value


def _check_ignore_index(ignore_index: Any) -> int | None:
    if ignore_index is None:
        return None
    if isinstance(ignore_index, bool) or not isinstance(ignore_index, numbers.Integral):
        raise TypeError(
            f"ignore_index must be an int (the label of pixels to leave out) or None; "
            f"got {ignore_index!r}"
        )
    return int(ignore_index)


def _static_prod(dims: Any) -> int | None:
    n = 1
    for d in dims:
        if d is None:
            return None
        n *= int(d)
    return n


def _flatten(xp: Any, x: Any, lead: tuple[int, ...], per_image: bool) -> Any:
    """``x`` of shape ``(N, *lead, d...)`` as ``(N, *lead, P)``, or ``(1, *lead, N P)``.

    The pixel order is row-major over ``(N, d...)``, the order of the reference's ``view(-1)``.
    """
    k = len(lead)
    if not per_image and k:
        # (N, *lead, d...) -> (*lead, N, d...): the batch joins the pixels of each lead index.
        x = xp.permute_dims(x, (*range(1, k + 1), 0, *range(k + 1, x.ndim)))
        x = xp.reshape(x, (*lead, -1))
        return xp.expand_dims(x, axis=0)
    if not per_image:
        return xp.reshape(x, (1, -1))
    p = _static_prod(x.shape[k + 1 :])
    if p is None:  # a spatial size unknown while tracing: the batch size must then be known
        return xp.reshape(x, (x.shape[0], *lead, -1))
    if p == 0:
        return xp.reshape(x, (x.shape[0], *lead, 0))
    return xp.reshape(x, (-1, *lead, p))


def _lovasz_extension(xp: Any, errors: Any, fg: Any, valid: Any) -> Any:
    r"""The Lovász extension of the Jaccard loss at ``errors``, along the last axis.

    Parameters
    ----------
    errors : array (..., P)
        Per-pixel errors; any real value (the hinge takes :math:`\max(e, 0)` after sorting,
        which keeps the order).
    fg : array (..., P), the dtype of ``errors``
        1 for a valid foreground pixel, 0 otherwise (ignored pixels are 0).
    valid : array (..., P) of bool, broadcastable, or None
        False for ignored pixels.

    Returns
    -------
    array (...,)
        :math:`\sum_k J_k (e_{\pi_k} - e_{\pi_{k+1}})`, with :math:`e_{\pi_{P+1}} = 0`.
    """
    if valid is not None:
        key = xp.where(valid, -errors, xp.full_like(errors, math.inf))
        errors = xp.where(valid, errors, xp.zeros_like(errors))
    else:
        key = -errors
    # Stable ascending sort of -e: decreasing errors, ties in pixel order, ignored pixels last.
    order = xp.argsort(stop_gradient(key), axis=-1, stable=True)
    e_sorted = take_along_axis(xp, errors, order, -1)
    # relu, gradient 0 at 0; NaN kept, as torch's relu keeps it
    e_sorted = xp.where(
        e_sorted > 0, e_sorted, xp.where(xp.isnan(e_sorted), e_sorted, xp.zeros_like(e_sorted))
    )
    fg_sorted = take_along_axis(xp, fg, order, -1)
    # J_k = 1 - |F \ S_k| / |F u S_k| = (|F n S_k| + |S_k \ F|) / (|F| + |S_k \ F|).
    # Ignored pixels sit after every valid one; there they count as background, which changes
    # J only where the error is 0 and its increment e_k - e_{k+1} is 0. The denominator is >= 1
    # from the first pixel on (|F| >= 1, or the first pixel is not in F), so no 0 / 0.
    n_fg = xp.sum(fg_sorted, axis=-1, keepdims=True)
    cum_fg = xp.cumulative_sum(fg_sorted, axis=-1)
    cum_bg = xp.cumulative_sum(1.0 - fg_sorted, axis=-1)
    jaccard = stop_gradient((cum_fg + cum_bg) / (n_fg + cum_bg))
    if e_sorted.shape[-1] == 0:
        return xp.sum(e_sorted, axis=-1)
    tail = xp.zeros_like(e_sorted[..., :1])
    steps = e_sorted - xp.concat((e_sorted[..., 1:], tail), axis=-1)
    return xp.sum(jaccard * steps, axis=-1)


def _reduce_images(xp: Any, loss: Any, reduction: str, over: Any) -> Any:
    """Per-image losses (N,) reduced; ``'mean'`` of no image is 0, as the reference's ``mean``.

    ``over``: the user's denominator (its count: N, 0 for no image), see ``reduce``."""
    if reduction != "mean" or over is not None:
        return reduce(xp, loss, reduction, override=over)
    n = loss.shape[0]
    if n is None:
        count = xp.sum(xp.ones_like(loss))
        return xp.sum(loss) / xp.where(count > 0, count, xp.ones_like(count))
    return reduce(xp, loss, reduction, denominator=max(int(n), 1))


def _check_denominator(denominator: Any, reduction: str, per_image: bool, loss: str) -> Any:
    """``denominator=`` checked: per-image means only (one batch-wide loss is no ratio)."""
    if not per_image:
        why = "per_image=False: one Lovász extension over all the batch's pixels, not a sum of "
        no_denominator(denominator, loss=loss, why=why + "per-item terms")
    return check_denominator(denominator, reduction, loss=loss)


def _check_binary_target(xp: Any, target: Any, ignore_index: int | None) -> None:
    """Raise ``ValueError`` if a concrete ``target`` holds values other than 0, 1, ignore."""
    view = eager_view(xp, target)
    if view is None or _static_prod(target.shape) in (0, None):
        return
    vx, t = view
    if not vx.isdtype(t.dtype, "bool") and holds_only(vx, t, 0, 1):
        return  # one min/max pair (integers) or one multiply and min/max (floats)
    bad = vx.logical_and(t != 0, t != 1)
    if ignore_index is not None:
        bad = vx.logical_and(bad, t != ignore_index)
    if bool(vx.any(bad)):
        i = int(vx.argmax(vx.reshape(vx.astype(bad, vx.int8), (-1,))))
        value = float(vx.reshape(t, (-1,))[i])
        extra = f" or ignore_index={ignore_index}" if ignore_index is not None else ""
        raise ValueError(
            f"target must hold binary labels 0 or 1{extra}; got the value {value:g} "
            f"(at flat index {i})"
        )


# ------------------------------------------------------------------------------------------
# Lovász hinge (binary)
# ------------------------------------------------------------------------------------------


@half_precision
def lovasz_hinge_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    per_image: bool = True,
    ignore_index: int | None = None,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Binary Lovász hinge loss: a convex surrogate of the Jaccard loss of a binary mask.

    With signs :math:`s_i = 2 y_i - 1` and hinge errors :math:`e_i = 1 - x_i s_i`, sorted so
    that :math:`e_{\pi_1} \ge \dots \ge e_{\pi_P}`:

    .. math::

        \ell = \sum_{k=1}^{P} \max(e_{\pi_k}, 0)\, g_k,
        \qquad
        g_k = J_k - J_{k-1},\quad
        J_k = 1 - \frac{|F| - \sum_{j \le k} y_{\pi_j}}{|F| + \sum_{j \le k} (1 - y_{\pi_j})},
        \quad J_0 = 0,

    the Lovász extension of the Jaccard loss at the errors :math:`\max(e, 0)`
    (:math:`F`: the foreground pixels, :math:`|F| = \sum_i y_i`). :math:`g` depends on the
    labels' order only and carries no gradient.

    Parameters
    ----------
    input : array, shape (N, d1, ..., dK), K >= 1, or (N, 1, d1, ..., dK)
        Logits, floating (one binary mask per image, e.g. (N, H, W)).
    target : array, the shape of ``input``, or (N, d1, ..., dK) for input (N, 1, d1, ..., dK)
        Binary labels, 0 (background) or 1 (foreground), or ``ignore_index``; integer, bool or
        floating. The values are checked where the array is concrete (not while tracing).
    per_image : bool, default True
        True: one loss per image (the Lovász extension over that image's pixels); False: one
        loss over all the batch's pixels together.
    ignore_index : int, optional
        Pixels whose target equals it are left out (they neither count in the Jaccard index nor
        receive gradient). An image whose pixels are all ignored has loss 0.
    reduction : {'mean', 'sum', 'none'}, default 'mean'
        With ``per_image=True``: ``'none'`` returns the (N,) per-image losses, ``'mean'`` their
        mean over all N images (0 for N = 0), ``'sum'`` their sum. With ``per_image=False``
        there is one loss, returned as a 0-d array by every reduction.
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, with
        ``per_image=True``, the number of images N (all of them, those with no valid pixel
        included). With ``per_image=False`` the one loss over the batch's pixels is not a mean of
        per-item terms: a denominator is refused (``ValueError``). Pass the count summed over shards
        (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full batch's
        mean.

    Returns
    -------
    array
        0-d, or (N,) for ``per_image=True, reduction='none'``. The dtype and device of
        ``input``.

    Notes
    -----
    Follows the reference implementation (bermanmaxim/LovaszSoftmax ``lovasz_hinge``) value for
    value: defaults ``per_image=True`` as there, per-image losses averaged over every image
    (images with no valid pixel contributing 0, the reference's ``logits.sum() * 0``).
    segmentation_models_pytorch's ``LovaszLoss(mode='binary')`` (or ``'multilabel'``) is the same
    function with ``per_image=False`` by default; it accepts (N, 1, H, W) logits with (N, H, W)
    or (N, 1, H, W) targets, as this function does (a (N, C, H, W) multilabel input is one mask
    of C H W pixels per image).

    Ignored pixels are masked, not removed (static shapes, see the module notes), with the same
    values and gradients as the reference's boolean indexing. Tied errors are ordered by pixel
    index (a stable sort); the value does not depend on that order, the (sub)gradient does, and
    is then the same on every backend. The gradient of :math:`\max(e, 0)` at :math:`e = 0` is 0,
    as torch's ``relu``.

    References
    ----------
    M. Berman, A. Rannen Triki, M. B. Blaschko, "The Lovász-Softmax loss: A tractable surrogate
    for the optimization of the intersection-over-union measure in neural networks", CVPR 2018,
    arXiv:1705.08790. Reference code: github.com/bermanmaxim/LovaszSoftmax.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> x = np.array([[1.5, 0.5, -1.0]])  # logits of one image of 3 pixels
    >>> y = np.array([[1, 0, 0]])
    >>> # hinge errors 1 - x (2y - 1) = [-0.5, 1.5, 0]; the largest, 1.5 (a background
    >>> # pixel), takes the first Jaccard step 1 - 1 / 2 = 0.5, the others are clipped to 0
    >>> bool(np.isclose(lb.lovasz_hinge_loss(x, y), 1.5 * 0.5))
    True
    """
    xp, _, input, target = _setup(input, target)
    check_reduction(reduction)
    per_image = _check_flag(per_image, "per_image")
    over = _check_denominator(denominator, reduction, per_image, "lovasz_hinge_loss")
    ignore_index = _check_ignore_index(ignore_index)
    if input.ndim < 2:
        raise ValueError(
            f"input has shape {shape_str(input.shape)}; expected (N, d1, ..., dK) with K >= 1: "
            "a batch of logit maps (reshape a flat vector to (1, P))"
        )
    if tuple(target.shape) != tuple(input.shape):
        squeezable = (
            input.shape[1] == 1
            and target.ndim == input.ndim - 1
            and tuple(target.shape) == (input.shape[0], *input.shape[2:])
        )
        if not squeezable:
            raise ValueError(
                f"target has shape {shape_str(target.shape)} but input has shape "
                f"{shape_str(input.shape)}; expected the input's shape (or (N, d1, ..., dK) "
                "for input (N, 1, d1, ..., dK))"
            )
        input = xp.reshape(input, tuple(-1 if d is None else d for d in target.shape))
    if xp.isdtype(target.dtype, "bool"):
        target = xp.astype(target, xp.int8)
    elif not xp.isdtype(target.dtype, ("integral", "real floating")):
        raise TypeError(f"target must have an integer, bool or floating dtype; got {target.dtype}")
    _check_binary_target(xp, target, ignore_index)

    x = _flatten(xp, input, (), per_image)
    t = _flatten(xp, target, (), per_image)
    valid = None if ignore_index is None else t != ignore_index
    positive = t == 1
    if valid is not None:
        positive = xp.logical_and(positive, valid)
    fg = xp.astype(positive, x.dtype)
    errors = 1.0 - x * (2.0 * fg - 1.0)  # 1 - x for foreground, 1 + x for background
    loss = _lovasz_extension(xp, errors, fg, valid)
    if not per_image:
        return xp.reshape(loss, ())
    return _reduce_images(xp, loss, reduction, over)


# ------------------------------------------------------------------------------------------
# Lovász-Softmax (multiclass)
# ------------------------------------------------------------------------------------------


def _class_weights(xp: Any, device: Any, classes: Any, n_classes: int, dtype: Any) -> Any:
    """None for ``'all'``/``'present'``; for a list, how often each class is listed, (C,)."""
    if isinstance(classes, str):
        if classes not in ("all", "present"):
            raise ValueError(
                f"classes={classes!r} is not valid; expected 'present', 'all' or a sequence of "
                "class indices"
            )
        return None
    if isinstance(classes, (list, tuple)):
        ids = list(classes)
        if not ids:
            raise ValueError(
                "classes is an empty sequence; expected 'present', 'all' or at least one class "
                "index"
            )
        counts = [0.0] * n_classes
        for c in ids:
            if isinstance(c, bool) or not isinstance(c, numbers.Integral):
                raise TypeError(f"classes must hold int class indices; got {c!r} in {classes!r}")
            if not 0 <= int(c) < n_classes:
                raise ValueError(
                    f"classes holds class index {int(c)}, out of range for {n_classes} classes; "
                    f"expected values in [0, {n_classes - 1}]"
                )
            counts[int(c)] += 1.0
        if device is None:
            return xp.asarray(counts, dtype=dtype)
        return xp.asarray(counts, dtype=dtype, device=device)
    raise TypeError(
        f"classes must be 'present', 'all' or a list/tuple of class indices; got {classes!r}"
    )


@half_precision
def lovasz_softmax_loss(
    input: ArrayT,
    target: ArrayLike,
    *,
    classes: Literal["all", "present"] | list[int] | tuple[int, ...] = "present",
    per_image: bool = False,
    ignore_index: int | None = None,
    from_logits: bool = True,
    channel_axis: int = 1,
    reduction: Reduction = "mean",
    denominator: ArrayLike | float | None = None,
) -> ArrayT:
    r"""Multiclass Lovász-Softmax loss: a convex surrogate of the mean Jaccard loss over classes.

    With class probabilities :math:`p_{i,c}` (the softmax of the logits over the channel axis
    when ``from_logits=True``) and, per class :math:`c`, the foreground indicator
    :math:`f_i = [y_i = c]` and errors :math:`m_i = |f_i - p_{i,c}|`, sorted so that
    :math:`m_{\pi_1} \ge \dots \ge m_{\pi_P}`:

    .. math::

        \ell_c = \sum_{k=1}^{P} m_{\pi_k}\, g_k,
        \qquad
        g_k = J_k - J_{k-1},\quad
        J_k = 1 - \frac{|F_c| - \sum_{j \le k} f_{\pi_j}}{|F_c| + \sum_{j \le k} (1 - f_{\pi_j})},
        \qquad
        \ell = \frac{1}{|K|} \sum_{c \in K} \ell_c,

    the Lovász extension of class :math:`c`'s Jaccard loss at the errors, averaged over the
    classes :math:`K` that ``classes`` selects.

    Parameters
    ----------
    input : array, shape (N, C, d1, ..., dK), K >= 0, C >= 2
        Logits (``from_logits=True``) or class probabilities, channels at ``channel_axis``.
    target : array of int, shape (N, d1, ..., dK)
        Class indices in [0, C), or ``ignore_index``; checked where the array is concrete.
    classes : 'present', 'all' or sequence of int, default 'present'
        The classes averaged over: those present among the (image's, with ``per_image``) valid
        target pixels; all C; or the listed class indices (a class listed twice counts twice,
        an absent one counts with loss :math:`\max_i p_{i,c}`).
    per_image : bool, default False
        True: one loss per image; False: one loss over all the batch's pixels together.
    ignore_index : int, optional
        Pixels whose target equals it are left out (no error, no gradient, not counted in any
        class's Jaccard index nor in 'present').
    from_logits : bool, default True
        True: ``input`` holds logits and the softmax over the channel axis is taken (computed as
        ``exp(log_softmax)``, stable for any logits); False: ``input`` holds probabilities in
        [0, 1] (checked where the array is concrete), used as they are.
    channel_axis : int, default 1
        The channel axis of ``input``: 1 (channels-first) or -1 (channels-last, input
        (N, d1, ..., dK, C)); any axis but the batch axis 0.
    reduction : {'mean', 'sum', 'none'}, default 'mean'
        With ``per_image=True``: ``'none'`` returns the (N,) per-image losses, ``'mean'`` their
        mean over all N images (0 for N = 0), ``'sum'`` their sum. With ``per_image=False``
        there is one loss, returned as a 0-d array by every reduction.
    denominator : float or 0-d array, optional
        For ``'mean'`` only: divide the summed loss by this instead of the mean's own count, with
        ``per_image=True``, the number of images N (all of them, those with no valid pixel
        included). With ``per_image=False`` the one loss over the batch's pixels is not a mean of
        per-item terms: a denominator is refused (``ValueError``). Pass the count summed over shards
        (:func:`lossbridge.mean_denominator`) and the shards' losses add up to the full batch's
        mean.

    Returns
    -------
    array
        0-d, or (N,) for ``per_image=True, reduction='none'``. The dtype and device of
        ``input``.

    Notes
    -----
    The reference ``lovasz_softmax(probas, labels, classes='present', per_image=False,
    ignore=None)`` (bermanmaxim/LovaszSoftmax) takes **probabilities**:
    ``from_logits=False`` gives its numbers. segmentation_models_pytorch's
    ``LovaszLoss(mode='multiclass', per_image=False, ignore_index=None, from_logits=True)``
    applies ``softmax(dim=1)`` to its input in every case (its ``from_logits`` is accepted and
    unused): ``from_logits=True`` (the default here) gives its numbers.

    Edge cases, where the reference is degenerate: with 'present' and no class present (every
    pixel of the image, or of the batch, ignored) the loss is 0, the value of the reference's
    ``mean`` of an empty list (its ``lovasz_softmax_flat`` returns an empty array when no pixel is
    left; here that image's loss is 0 with zero gradient). An empty ``classes`` list is refused
    (the reference returns 0). The reference's single-channel (sigmoid) path is not provided
    (with ``classes='present'`` or ``'all'`` it raises there): use :func:`lovasz_hinge_loss`
    for binary masks. Ties are ordered by pixel index, as in :func:`lovasz_hinge_loss`; the
    gradient of :math:`|f - p|` at :math:`f = p` is 0, as torch's ``abs``.

    References
    ----------
    M. Berman, A. Rannen Triki, M. B. Blaschko, "The Lovász-Softmax loss: A tractable surrogate
    for the optimization of the intersection-over-union measure in neural networks", CVPR 2018,
    arXiv:1705.08790. Reference code: github.com/bermanmaxim/LovaszSoftmax.

    Examples
    --------
    >>> import numpy as np
    >>> import lossbridge as lb
    >>> p = np.array([[[0.8, 0.4, 0.1], [0.2, 0.6, 0.9]]])  # (N=1, C=2, 3 pixels)
    >>> y = np.array([[0, 0, 1]])
    >>> print(round(float(lb.lovasz_softmax_loss(p, y, from_logits=False)), 4))
    0.3833
    """
    xp, device, input, target = _setup(input, target)
    check_reduction(reduction)
    per_image = _check_flag(per_image, "per_image")
    over = _check_denominator(denominator, reduction, per_image, "lovasz_softmax_loss")
    from_logits = _check_flag(from_logits, "from_logits")
    ignore_index = _check_ignore_index(ignore_index)
    if input.ndim < 2:
        raise ValueError(
            f"input has shape {shape_str(input.shape)}; expected (N, C, d1, ..., dK): a batch "
            "with a channel axis"
        )
    if isinstance(channel_axis, bool) or not isinstance(channel_axis, numbers.Integral):
        raise TypeError(f"channel_axis must be an int; got {channel_axis!r}")
    ca = int(channel_axis)
    if not -input.ndim <= ca < input.ndim or ca % input.ndim == 0:
        raise ValueError(
            f"channel_axis={channel_axis} is not a channel axis of input with shape "
            f"{shape_str(input.shape)}; expected an axis in [1, {input.ndim - 1}] (or its "
            "negative, e.g. -1 for channels-last); axis 0 is the batch"
        )
    ca %= input.ndim
    n_classes = input.shape[ca]
    if n_classes is not None and n_classes < 2:
        raise ValueError(
            f"input has {n_classes} channel(s) on axis {ca} (shape {shape_str(input.shape)}); "
            "expected C >= 2 classes (for a binary mask use lovasz_hinge_loss)"
        )
    expected = tuple(d for i, d in enumerate(input.shape) if i != ca)
    if tuple(target.shape) != expected:
        raise ValueError(
            f"target has shape {shape_str(target.shape)} but input has shape "
            f"{shape_str(input.shape)} (channels on axis {ca}); expected class indices of "
            f"shape {shape_str(expected)}"
        )
    check_integer(xp, target, "target", "class indices for lovasz_softmax_loss")
    check_class_indices(xp, target, n_classes, ignore_index)
    weights = _class_weights(xp, device, classes, n_classes, input.dtype)
    if from_logits:
        probs = xp.exp(log_softmax(xp, input, ca))
    else:
        check_range(xp, input, "input", 0.0, 1.0, what="probabilities (from_logits=False)")
        probs = input
    if ca != 1:
        probs = xp.moveaxis(probs, ca, 1)

    p = _flatten(xp, probs, (n_classes,), per_image)  # (B, C, P)
    t = xp.expand_dims(_flatten(xp, target, (), per_image), axis=1)  # (B, 1, P)
    ids = xp.reshape(arange_on(xp, n_classes, t.dtype, device), (1, n_classes, 1))
    valid = None if ignore_index is None else t != ignore_index
    member = t == ids  # (B, C, P)
    if valid is not None:
        member = xp.logical_and(member, valid)
    fg = xp.astype(member, p.dtype)
    errors = abs0(xp, fg - p)
    per_class = _lovasz_extension(xp, errors, fg, valid)  # (B, C)
    if weights is None and classes == "all":
        loss = xp.mean(per_class, axis=-1)
    else:
        if weights is None:  # 'present': the classes with a valid pixel in the image / batch
            w = xp.astype(xp.any(member, axis=-1), p.dtype)
        else:
            w = xp.reshape(weights, (1, n_classes))
        total = xp.sum(w, axis=-1)
        loss = xp.sum(w * per_class, axis=-1) / xp.where(total > 0, total, xp.ones_like(total))
    if not per_image:
        return xp.reshape(loss, ())
    return _reduce_images(xp, loss, reduction, over)
